"""Deciding a run's cases concurrently: the run waits for every window at the same time.

Most of an acceptance run is waiting - an MQTT window listening for a heartbeat, a sampled
window, a settle time after a command, a device timeout - not computing. As a SCADA master
polls many devices at once, the executor decides the selected cases on a pool of threads while
pytest reports each item, in its own order, as its result arrives:

- a target's cases that only observe it (reads, windows, probes) run at the same time;
- the cases that may change a target's state (a write, a state it sets, a trigger's stimulus, a
  command) or stress it (a fuzz check's malformed requests) run after them, one at a time: no
  actuation overlaps another check's window on the same pole and no reading sees a state
  another check set;
- targets are taken in the order of their first case, at most `open_targets` at a time and
  at most `per_bus` (8) on one serial bus (the poles of other buses go first); when a
  target's last case is decided its devices are closed (`AcceptanceRun.release`), so a district
  of a thousand poles holds the connections of a few poles at once, not of all of them;
- the targets of a district are spread over its serial buses: the next target opened is the
  first waiting one on the least busy bus;
- while the machine is busy (`pace.Pace`: this process late, or no idle core share left) no
  further target is opened, so that an observation judged against time is not made late by the
  run itself - or, on a bench, by its simulated devices' share of the cores;
- an observation that did not pass although this process stalled while it was decided
  (`pace`: a full pass of the cycle collector, no core free) is decided once more, since its
  devices were observed late by us, not necessarily slow; the result says so. Never a case
  that writes (a second try would take the state the first left for the one to restore), and
  not while recording: a replay must meet the traffic of one decision;
- a case that frees a target (an actuation) goes before observations of targets not begun;
- one transaction at a time per device and per serial bus is the transports' own rule (their
  locks); an MQTT device serves overlapping windows on connections of their own.

Cases may be added while the executor runs (`add`): a pytest-xdist worker is handed its items a
batch at a time. The device traffic of each case is attributed to it in a recording and answered
for it in a replay (`transport.recording.deciding`), whatever else runs at the same time.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

from .pace import Pace
from .result import Result, Verdict
from .run import AcceptanceRun, Case
from .transport.recording import deciding

__all__ = ["BENCH_FLEET_CONCURRENCY", "DEFAULT_CONCURRENCY", "Executor", "changes_state"]

# Cases in progress at once. Each may hold a broker connection for its window; 16 keeps a
# pole's windows overlapping without a flood of connections to a field broker.
DEFAULT_CONCURRENCY = 16
# On a bench fleet the broker is our own: more at once, so that a district's windows overlap.
BENCH_FLEET_CONCURRENCY = 64

# Targets open at once by default, whatever the concurrency: each holds its devices' connections,
# and pymodbus, paho and pyserial wait with select(), which cannot watch descriptors past 1,023.
MAX_OPEN_TARGETS = 64

# Targets open at once on one serial bus: the others use the bus while one waits
# out a window elsewhere (an MQTT heartbeat); half a bus of 16 poles keeps it busy.
_PER_BUS = 8

# Verdicts that a late observation could have caused.
_DISTURBABLE = (Verdict.FAIL, Verdict.MARGINAL, Verdict.ERROR)

# Priorities in the queue: a case that frees its target soonest goes first.
_ACTUATION, _OBSERVATION = 0, 1


def changes_state(run: AcceptanceRun, case: Case) -> bool:
    """True when deciding `case` may write to a device of its target (a command, a trigger's
    stimulus, a side effect put back, or a state it sets when it does not hold) or sends it
    malformed requests (`fuzz`): it must run alone there. Without actuation nothing is written
    (such checks only read whether their state holds; a fuzz check does not run)."""
    if not run.actuation_allowed:
        return False
    uses = case.requirement.check.uses()
    return any(use.writes or use.commands or use.establishes or use.disturbs for use in uses)


@dataclass
class _Target:
    """A target's cases not yet finished: observers together, then actuators one by one."""

    id: str
    buses: frozenset[str] = frozenset()  # the serial buses its devices are on
    observers: list[tuple[Case, str]] = field(default_factory=list)
    actuators: list[tuple[Case, str]] = field(default_factory=list)
    running: int = 0  # cases submitted and not finished
    actuating: bool = False
    opened: bool = False
    releasing: bool = False


class Executor:
    """Decides `cases` (with their pytest node ids) on `concurrency` threads; `result` waits
    for one. Started once the items to run are known, so deselected cases cost no I/O.

    `open_targets` bounds the targets being decided at once (default: `concurrency`, at most
    `MAX_OPEN_TARGETS`); with `pace`, a further target opens only while it is not busy (and
    at least one target is always open)."""

    def __init__(
        self,
        run: AcceptanceRun,
        cases: Sequence[tuple[Case, str]],
        *,
        concurrency: int,
        open_targets: int | None = None,
        per_bus: int = _PER_BUS,
        pace: Pace | None = None,
        retry: bool = True,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency {concurrency} must be 1 or more")
        self.run = run
        self.concurrency = concurrency
        self.open_targets = max(1, open_targets or min(concurrency, MAX_OPEN_TARGETS))
        self.per_bus = per_bus
        self.pace = pace
        self.retry = retry
        self.decided_again: list[str] = []  # node ids decided twice for a stall
        self.most_open = 0  # targets open at once, at most
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Result]] = {}  # until result() hands it over
        self._known: set[str] = set()
        self._targets: dict[str, _Target] = {}  # waiting or open, in order of arrival
        self._open = 0
        self._on_bus: dict[str, int] = {}  # serial bus -> its targets open
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], None] | None]] = (
            queue.PriorityQueue()
        )
        self._order = itertools.count()
        self._threads: list[threading.Thread] = []
        self._cancelled = False
        self._release_failures: list[str] = []
        self._stopping = threading.Event()
        self.started = False
        self.decided = 0  # cases decided (or raised) so far
        self.targets_done = 0  # targets whose every case known is decided
        self._target_ids: set[str] = set()
        self.add(cases)

    def add(self, cases: Sequence[tuple[Case, str]]) -> None:
        """More cases to decide (those already known are ignored); they start when their
        target's turn comes."""
        with self._lock:
            for case, nodeid in cases:
                if nodeid in self._known:
                    continue
                self._known.add(nodeid)
                self._futures[nodeid] = Future()
                target = self._targets.get(case.target.id)
                if target is None:
                    if case.target.id in self._target_ids:  # done, and given more cases
                        self.targets_done -= 1
                    self._target_ids.add(case.target.id)
                    buses = (spec.address.bus for spec in case.target.devices.values())
                    target = _Target(case.target.id, frozenset(b for b in buses if b))
                    self._targets[target.id] = target
                if changes_state(self.run, case):
                    target.actuators.append((case, nodeid))
                else:
                    target.observers.append((case, nodeid))
            if self.started and not self._cancelled:
                for target in self._targets.values():
                    if target.opened:
                        self._advance(target)  # an open target takes its new cases now
                self._open_targets()

    def start(self) -> None:
        """Start the threads and the first targets."""
        with self._lock:
            if self.started:
                return
            self.started = True
            for n in range(self.concurrency):
                thread = threading.Thread(target=self._work, name=f"ycsa-decide-{n}", daemon=True)
                thread.start()
                self._threads.append(thread)
            if self.pace is not None:  # targets held back while busy open when it passes
                thread = threading.Thread(target=self._reopen, name="ycsa-open", daemon=True)
                thread.start()
                self._threads.append(thread)
            self._open_targets()

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """(cases decided, cases known, targets done, targets known), for progress."""
        with self._lock:
            return self.decided, len(self._known), self.targets_done, len(self._target_ids)

    def __contains__(self, nodeid: str) -> bool:
        return nodeid in self._known

    def result(
        self, nodeid: str, *, tick: Callable[[], None] | None = None, every: float = 1.0
    ) -> Result:
        """The case's result once decided; what deciding it raised, raised again. The first
        call starts the executor. Asked once per case: the result is handed over, and the
        executor keeps nothing of it (a district has 70,000). While it waits, `tick` is
        called every `every` s (the live progress line), on the calling thread."""
        if not self.started:
            self.start()
        future = self._futures[nodeid]
        try:
            while tick is not None:
                try:
                    return future.result(timeout=every)
                except FutureTimeout:
                    tick()
            return future.result()
        finally:
            with self._lock:
                self._futures.pop(nodeid, None)

    def wait(self) -> None:
        """Wait until every case known has been decided (or has raised, or was cancelled)."""
        for future in list(self._futures.values()):
            if not future.cancelled():
                future.exception()

    def cancel(self) -> None:
        """Cancel the cases not yet started (a run stopped by -x or Ctrl-C); those under way go
        on. Returns at once."""
        with self._lock:
            self._cancelled = True
            for future in self._futures.values():
                future.cancel()  # only those not running: the rest finish
            for _ in self._threads:
                self._queue.put((-1, next(self._order), None))  # before anything queued
            self._stopping.set()

    def close(self) -> None:
        """Cancel the cases not yet started and wait for those under way: a case in progress
        may have a device to put back."""
        self.cancel()
        for thread in self._threads:
            thread.join()
        if self.pace is not None:
            self.pace.close()
        failures, self._release_failures = self._release_failures, []
        if failures:
            raise RuntimeError("; ".join(failures))

    # -- scheduling (under self._lock) ---------------------------------------------------------

    def _open_targets(self) -> None:
        """Open waiting targets while fewer than `open_targets` are open and the machine is
        not busy: each time the first waiting target on the least busy serial bus. A bus
        carrying `per_bus` open targets takes no more (a bus takes one transaction at a time),
        unless nothing at all is open."""
        while self._open < self.open_targets and not self._cancelled:
            if self._open > 0 and self.pace is not None and self.pace.busy():
                return
            chosen, load = None, 0
            for target in self._targets.values():
                if target.opened:
                    continue
                busiest = max((self._on_bus.get(bus, 0) for bus in target.buses), default=0)
                if chosen is None or busiest < load:
                    chosen, load = target, busiest
                    if busiest == 0:
                        break
            if chosen is None or (load >= self.per_bus and self._open > 0):
                return
            chosen.opened = True
            self._open += 1
            self.most_open = max(self.most_open, self._open)
            for bus in chosen.buses:
                self._on_bus[bus] = self._on_bus.get(bus, 0) + 1
            self._advance(chosen)

    def _advance(self, target: _Target) -> bool:
        """Submit what may run next on an open target; True when nothing is left to run."""
        if target.actuating or target.releasing:
            return False
        if target.observers:
            cases, target.observers = target.observers, []
            for case, nodeid in cases:
                self._submit(target, case, nodeid, _OBSERVATION)
            return False
        if target.running:
            return False
        if target.actuators:
            case, nodeid = target.actuators.pop(0)
            target.actuating = True
            self._submit(target, case, nodeid, _ACTUATION)
            return False
        return True

    def _submit(self, target: _Target, case: Case, nodeid: str, priority: int) -> None:
        target.running += 1
        job = functools.partial(self._decide, target, case, nodeid)
        self._queue.put((priority, next(self._order), job))

    # -- the threads ---------------------------------------------------------------------------

    def _reopen(self) -> None:
        """Open the targets held back while the machine was busy, once it is not."""
        while not self._stopping.wait(0.25):
            with self._lock:
                self._open_targets()

    def _work(self) -> None:
        while True:
            _, _, job = self._queue.get()
            if job is None:
                return
            job()

    def _decide(self, target: _Target, case: Case, nodeid: str) -> None:
        future = self._futures.get(nodeid)  # None: cancelled and handed over already
        try:
            if future is not None and future.set_running_or_notify_cancel():
                try:
                    with deciding(nodeid):
                        future.set_result(self._decided(case, nodeid))
                except BaseException as exc:  # raised again to the item by result()
                    future.set_exception(exc)
        finally:
            self._finished(target)

    def _decided(self, case: Case, nodeid: str) -> Result:
        """The case's result; an observation is decided once more if it did not pass and this
        process stalled meanwhile (see the module's docstring)."""
        began = time.monotonic()
        result = self.run.decide(case, nodeid=nodeid)
        if not self.retry or self.pace is None or result.verdict not in _DISTURBABLE:
            return result
        if changes_state(self.run, case):
            return result
        ended = time.monotonic()
        stall = self.pace.stalled(began, ended)
        lag = self.pace.lagged(began, ended)
        if stall >= self.pace.stall:
            why = f"this run stalled {stall:.1f} s"
        elif lag >= self.pace.late_limit:
            why = f"this run's threads woke {lag * 1000:.0f} ms late on average"
        else:
            return result
        with self._lock:
            self.decided_again.append(nodeid)
        again = self.run.decide(case, nodeid=nodeid)
        note = (
            f" [decided again: {why} while first deciding it, which found {result.verdict.value}]"
        )
        return dataclasses.replace(again, reason=again.reason + note)

    def _finished(self, target: _Target) -> None:
        """After a case of `target`: the next ones, or the target's devices closed and the
        next target opened."""
        with self._lock:
            self.decided += 1
            target.running -= 1
            target.actuating = False
            if self._cancelled or not self._advance(target):
                return
            target.releasing = True
        try:
            self.run.release(target.id)
        except Exception as exc:  # nothing decided depends on it; close() reports it
            self._release_failures.append(f"closing the devices of {target.id}: {exc}")
        with self._lock:
            target.releasing = False
            if self._cancelled or not self._advance(target):
                return  # cases added meanwhile: they run first
            del self._targets[target.id]
            self.targets_done += 1
            self._open -= 1
            for bus in target.buses:
                self._on_bus[bus] -= 1
            self._open_targets()
