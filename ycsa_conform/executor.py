"""Deciding a run's cases concurrently: the run waits for every window at the same time.

Most of an acceptance run is waiting - an MQTT window listening for a heartbeat, a sampled
window, a settle time after a command, a device timeout - not computing. As a SCADA master
polls many devices at once, the executor decides the selected cases on a pool of threads while
pytest reports each item, in its own order, as its result arrives:

- cases that only observe a target (reads, windows, probes) run at the same time;
- a case that may change a target's state (a write, a state it sets, a trigger's stimulus, a
  command) runs alone on that target: it waits for the observations under way there to end,
  and those queued after it wait for it, so no actuation overlaps another check's window
  on the same pole and no reading sees a state another check set;
- one transaction at a time per device and per serial bus is the transports' own rule (their
  locks); an MQTT device serves overlapping windows on connections of their own.

The device traffic of each case is attributed to it in a recording and answered for it in a
replay (`transport.recording.deciding`), whatever else runs at the same time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from .result import Result
from .run import AcceptanceRun, Case
from .transport.recording import deciding

__all__ = ["DEFAULT_CONCURRENCY", "Executor", "changes_state"]

# Cases in progress at once. Each may hold a broker connection for its window; 16 keeps a
# pole's windows overlapping without a flood of connections to a field broker.
DEFAULT_CONCURRENCY = 16


def changes_state(run: AcceptanceRun, case: Case) -> bool:
    """True when deciding `case` may write to a device of its target (a command, a trigger's
    stimulus, a side effect put back, or a state it sets when it does not hold): it must run
    alone there. Without actuation nothing is written (such checks only read whether their
    state holds)."""
    if not run.actuation_allowed:
        return False
    uses = case.requirement.check.uses()
    return any(use.writes or use.commands or use.establishes for use in uses)


class _TargetLock:
    """Many observers or one actuator, first come first served: an actuator waiting keeps
    later observers waiting too, so it is not starved and the order of cases holds."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._observers = 0
        self._actuating = False
        self._queue: list[tuple[object, bool]] = []  # (ticket, exclusive), in arrival order

    @contextmanager
    def hold(self, *, exclusive: bool) -> Iterator[None]:
        ticket = object()
        with self._changed:
            self._queue.append((ticket, exclusive))
            while not self._may_enter(ticket, exclusive):
                self._changed.wait()
            self._queue.remove((ticket, exclusive))
            if exclusive:
                self._actuating = True
            else:
                self._observers += 1
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                if exclusive:
                    self._actuating = False
                else:
                    self._observers -= 1
                self._changed.notify_all()

    def _may_enter(self, ticket: object, exclusive: bool) -> bool:
        if self._actuating:
            return False
        if exclusive:
            return self._queue[0][0] is ticket and self._observers == 0
        # An observer passes everyone but an actuator queued before it.
        for queued, queued_exclusive in self._queue:
            if queued is ticket:
                return True
            if queued_exclusive:
                return False
        return True


class Executor:
    """Decides `cases` (with their pytest node ids) on `concurrency` threads; `result` waits
    for one. Started once the items to run are known, so deselected cases cost no I/O."""

    def __init__(
        self, run: AcceptanceRun, cases: Sequence[tuple[Case, str]], *, concurrency: int
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency {concurrency} must be 1 or more")
        self.run = run
        self._cases = list(cases)
        self._nodeids = {nodeid for _, nodeid in self._cases}
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="ycsa-decide")
        self._locks: dict[str, _TargetLock] = {}
        self._futures: dict[str, Future[Result]] = {}
        self.started = False

    def start(self) -> None:
        """Observers first, all at once, then the cases that change state, one at a time on
        each target: a target then takes its longest window plus its actuations, rather than
        every actuation waiting for the windows before it and holding up those after it."""
        self.started = True
        exclusive = {nodeid: changes_state(self.run, case) for case, nodeid in self._cases}
        for case, nodeid in sorted(self._cases, key=lambda c: exclusive[c[1]]):
            lock = self._locks.setdefault(case.target.id, _TargetLock())
            self._futures[nodeid] = self._pool.submit(
                self._decide, case, nodeid, lock, exclusive[nodeid]
            )

    def _decide(self, case: Case, nodeid: str, lock: _TargetLock, exclusive: bool) -> Result:
        with lock.hold(exclusive=exclusive), deciding(nodeid):
            return self.run.decide(case, nodeid=nodeid)

    def __contains__(self, nodeid: str) -> bool:
        return nodeid in self._nodeids

    def wait(self) -> None:
        """Wait until every case started has been decided (or has raised)."""
        for future in list(self._futures.values()):
            if not future.cancelled():
                future.exception()

    def result(self, nodeid: str) -> Result:
        """The case's result once decided; what deciding it raised, raised again. The first
        call starts the executor."""
        if not self.started:
            self.start()
        return self._futures[nodeid].result()

    def cancel(self) -> None:
        """Cancel the cases not yet started (a run stopped by -x or Ctrl-C); those under way go
        on. Returns at once."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Cancel the cases not yet started and wait for those under way: a case in progress
        may have a device to put back."""
        self.cancel()
        self._pool.shutdown(wait=True)
