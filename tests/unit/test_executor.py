"""The executor's scheduling rules, on cases whose decisions are functions of our own.

The run and its cases are stand-ins (the executor reads only the target's id, the check's
`uses()`, `actuation_allowed` and `decide`): what is tested is who may run at the same time as
whom, judged by barriers and by the order of entries and exits, never by elapsed time.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

import pytest

from ycsa_conform.checks.base import Use
from ycsa_conform.executor import Executor
from ycsa_conform.result import Verdict
from ycsa_conform.run import AcceptanceRun, Case

WAIT = 10.0  # s: a barrier that is never reached fails the test; it never decides a pass


class Run:
    """Decides each case by calling its `body`, logging entries and exits in order."""

    def __init__(self, *, actuation_allowed: bool = True) -> None:
        self.actuation_allowed = actuation_allowed
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def release(self, target: str) -> None:
        with self._lock:
            self.log.append(("release", target))

    def decide(self, case: Any, *, nodeid: str) -> str:
        with self._lock:
            self.log.append(("enter", nodeid))
        try:
            case.body()
            return f"decided {nodeid}"
        finally:
            with self._lock:
                self.log.append(("exit", nodeid))


def case(
    target: str,
    *,
    writes: bool = False,
    body: Callable[[], None] = lambda: None,
    bus: str | None = None,
) -> Any:
    use = Use(role="lamp", reads=("lamp_on",), writes=("lamp_on",) if writes else ())
    check = SimpleNamespace(uses=lambda: (use,))
    lamp = SimpleNamespace(address=SimpleNamespace(bus=bus))
    return SimpleNamespace(
        target=SimpleNamespace(id=target, devices={"lamp": lamp}),
        requirement=SimpleNamespace(check=check),
        body=body,
    )


def executor(
    run: Run,
    cases: dict[str, Any],
    concurrency: int = 8,
    open_targets: int | None = None,
    per_bus: int = 8,
    pace: Any = None,
    retry: bool = True,
) -> Executor:
    pairs = [(cast(Case, c), nodeid) for nodeid, c in cases.items()]
    return Executor(
        cast(AcceptanceRun, run),
        pairs,
        concurrency=concurrency,
        open_targets=open_targets,
        per_bus=per_bus,
        pace=pace,
        retry=retry,
    )


def overlapping(run: Run, nodeid: str) -> set[str]:
    """The cases that entered or left while `nodeid` ran."""
    names = [name for _, name in run.log]
    first, last = names.index(nodeid), len(names) - 1 - names[::-1].index(nodeid)
    return set(names[first + 1 : last]) - {nodeid}


def test_observers_of_one_target_run_at_the_same_time() -> None:
    together = threading.Barrier(3, timeout=WAIT)
    run = Run()
    cases = {f"obs{n}": case("P001", body=together.wait) for n in range(3)}
    ex = executor(run, cases)
    ex.start()
    try:
        assert [ex.result(n) for n in cases] == [f"decided {n}" for n in cases]
    finally:
        ex.close()


def test_a_case_that_writes_runs_alone_on_its_target() -> None:
    run = Run()
    gate = threading.Event()
    cases = {
        "obs1": case("P001", body=lambda: gate.wait(WAIT)),
        "act1": case("P001", writes=True),
        "obs2": case("P001", body=gate.set),
        "act2": case("P001", writes=True),
        "obs3": case("P001"),
    }
    ex = executor(run, cases)
    ex.start()
    try:
        for nodeid in cases:
            ex.result(nodeid)
    finally:
        ex.close()

    assert overlapping(run, "act1") == set()
    assert overlapping(run, "act2") == set()
    # The observers ran together (obs1 waited for obs2), before the actuations.
    assert "obs2" in overlapping(run, "obs1")
    entered = [name for event, name in run.log if event == "enter"]
    assert entered.index("act1") > max(entered.index(f"obs{n}") for n in (1, 2, 3))


def test_cases_that_write_on_different_targets_run_at_the_same_time() -> None:
    together = threading.Barrier(2, timeout=WAIT)
    run = Run()
    cases = {t: case(t, writes=True, body=together.wait) for t in ("P001", "P002")}
    ex = executor(run, cases)
    ex.start()
    try:
        assert ex.result("P001") == "decided P001"
        assert ex.result("P002") == "decided P002"
    finally:
        ex.close()


def test_without_actuation_a_writing_check_only_observes() -> None:
    # It reads whether its state holds and writes nothing, so it need not run alone.
    together = threading.Barrier(2, timeout=WAIT)
    run = Run(actuation_allowed=False)
    cases = {
        "act": case("P001", writes=True, body=together.wait),
        "obs": case("P001", body=together.wait),
    }
    ex = executor(run, cases)
    ex.start()
    try:
        assert ex.result("act") == "decided act"
        assert ex.result("obs") == "decided obs"
    finally:
        ex.close()


def test_what_a_decision_raised_is_raised_to_its_item() -> None:
    def broken() -> None:
        raise ZeroDivisionError("injected")

    run = Run()
    ex = executor(run, {"bad": case("P001", body=broken), "good": case("P001")})
    ex.start()
    try:
        with pytest.raises(ZeroDivisionError, match="injected"):
            ex.result("bad")
        assert ex.result("good") == "decided good"
    finally:
        ex.close()


def test_close_cancels_the_cases_not_started_and_waits_for_the_one_under_way() -> None:
    started, release = threading.Event(), threading.Event()

    def first() -> None:
        started.set()
        release.wait(WAIT)

    run = Run()
    cases = {"first": case("P001", body=first), **{f"later{n}": case("P001") for n in range(3)}}
    ex = executor(run, cases, concurrency=1)
    ex.start()
    assert started.wait(WAIT)
    ex.cancel()
    release.set()
    ex.close()

    # Finished, none of the others, and the target not released (run.close() closes it).
    assert run.log == [("enter", "first"), ("exit", "first")]
    assert ex.result("first") == "decided first"


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="concurrency 0 must be 1 or more"):
        executor(Run(), {}, concurrency=0)


def test_targets_are_taken_a_few_at_a_time_and_released_after_their_last_case() -> None:
    # A district's devices are not all open at once: with one target open at a time, no case
    # of P002 starts before P001's devices are released.
    run = Run()
    cases = {
        f"{kind}{n}[{t}]": case(t, writes=kind == "act")
        for n in range(3)
        for t in ("P001", "P002", "P003")
        for kind in ("obs", "act")
    }
    ex = executor(run, cases, concurrency=4, open_targets=1)
    ex.start()
    try:
        assert [ex.result(n) for n in cases] == [f"decided {n}" for n in cases]
    finally:
        ex.close()

    releases = [i for i, (event, _) in enumerate(run.log) if event == "release"]
    assert [run.log[i][1] for i in releases] == ["P001", "P002", "P003"]
    for target, released in zip(("P001", "P002", "P003"), releases, strict=True):
        mine = [i for i, (event, name) in enumerate(run.log) if name.endswith(f"[{target}]")]
        assert max(mine) < released  # released after its last case
        others = [i for i, (_, name) in enumerate(run.log) if name.endswith("]") and i > released]
        assert all(not run.log[i][1].endswith(f"[{target}]") for i in others)


def test_an_actuation_that_frees_a_target_goes_before_a_target_not_begun() -> None:
    run = Run()
    cases = {
        "obs[P001]": case("P001"),
        "act[P001]": case("P001", writes=True),
        "obs[P002]": case("P002"),
    }
    ex = executor(run, cases, concurrency=1, open_targets=2)
    ex.start()
    try:
        for nodeid in cases:
            ex.result(nodeid)
    finally:
        ex.close()

    entered = [name for event, name in run.log if event == "enter"]
    assert entered == ["obs[P001]", "act[P001]", "obs[P002]"]


def test_cases_added_later_are_decided_and_a_released_target_is_opened_again() -> None:
    # A pytest-xdist worker is handed its items a batch at a time.
    run = Run()
    ex = executor(run, {"a[P001]": case("P001")}, concurrency=2)
    ex.start()
    try:
        assert ex.result("a[P001]") == "decided a[P001]"
        ex.wait()
        more = {"b[P001]": case("P001"), "c[P002]": case("P002", writes=True)}
        ex.add([(cast(Case, c), nodeid) for nodeid, c in more.items()])
        assert ex.result("b[P001]") == "decided b[P001]"
        assert ex.result("c[P002]") == "decided c[P002]"
    finally:
        ex.close()

    assert "b[P001]" in ex
    assert "c[P002]" in ex
    enters = [name for event, name in run.log if event == "enter"]
    assert enters.count("b[P001]") == 1  # decided once


def test_a_failure_to_close_a_target_is_reported_at_close() -> None:
    class Failing(Run):
        def release(self, target: str) -> None:
            raise OSError(f"socket of {target} already closed")

    run = Failing()
    ex = executor(run, {"a": case("P001"), "b": case("P002")})
    ex.start()
    assert ex.result("a") == "decided a"
    assert ex.result("b") == "decided b"
    with pytest.raises(RuntimeError, match="closing the devices of P001: socket of P001"):
        ex.close()


def test_targets_are_spread_over_the_serial_buses() -> None:
    # A bus takes one transaction at a time: the next target opened is on the least busy bus
    # (P004 on bus B before P002 on bus A), and with two targets of bus A open (per_bus=2) the
    # third waits.
    run = Run()
    buses = {"P001": "A", "P002": "A", "P003": "A", "P004": "B"}
    cases = {f"obs[{t}]": case(t, bus=bus) for t, bus in buses.items()}
    ex = executor(run, cases, concurrency=1, open_targets=3, per_bus=2)
    ex.start()
    try:
        for nodeid in cases:
            ex.result(nodeid)
    finally:
        ex.close()

    entered = [name for event, name in run.log if event == "enter"]
    assert entered == ["obs[P001]", "obs[P004]", "obs[P002]", "obs[P003]"]


class Pace:
    """A stand-in for pace.Pace whose busy() and stalls the test sets."""

    stall = 0.2
    late_limit = 0.05

    def __init__(self, stalled: float = 0.0, lagged: float = 0.0) -> None:
        self.is_busy = True
        self.closed = False
        self.longest = stalled
        self.lag = lagged

    def busy(self) -> bool:
        return self.is_busy

    def stalled(self, since: float, until: float) -> float:
        return self.longest

    def lagged(self, since: float, until: float) -> float:
        return self.lag

    def close(self) -> None:
        self.closed = True


def test_while_the_machine_is_busy_no_further_target_opens() -> None:
    # Held back while busy (one target open), P002 opens once the machine has room again,
    # while P001 is still being decided: the executor does not wait for a target to end.
    run = Run()
    pace = Pace()
    opened_second = threading.Event()
    seen: list[int] = []

    def first() -> None:
        seen.append(ex.most_open)  # P002 held back: one target open
        pace.is_busy = False
        seen.append(opened_second.wait(WAIT))

    cases = {
        "obs[P001]": case("P001", body=first),
        "obs[P002]": case("P002", body=opened_second.set),
    }
    ex = executor(run, cases, concurrency=2, pace=pace, retry=False)
    ex.start()
    try:
        assert [ex.result(n) for n in cases] == [f"decided {n}" for n in cases]
    finally:
        ex.close()
    assert seen == [1, True]
    assert ex.most_open == 2
    assert pace.closed


@dataclasses.dataclass(frozen=True)
class Decided:
    verdict: Verdict
    reason: str


class Judging(Run):
    """A run whose decisions find `verdicts` in turn."""

    def __init__(self, verdicts: list[Verdict]) -> None:
        super().__init__()
        self.verdicts = iter(verdicts)

    def decide(self, case: Any, *, nodeid: str) -> Any:
        super().decide(case, nodeid=nodeid)
        return Decided(next(self.verdicts), f"{nodeid} judged")


def decide_one(
    verdicts: list[Verdict], pace: Pace, *, writes: bool = False, retry: bool = True
) -> tuple[Any, list[str], list[str]]:
    """One observation of P001 decided with `pace` (not busy): its result, the decisions
    entered and the executor's `decided_again`."""
    run = Judging(verdicts)
    pace.is_busy = False
    ex = executor(
        run, {"obs[P001]": case("P001", writes=writes)}, concurrency=1, pace=pace, retry=retry
    )
    try:
        result = cast(Any, ex.result("obs[P001]"))
    finally:
        ex.close()
    return result, [name for event, name in run.log if event == "enter"], ex.decided_again


@pytest.mark.parametrize(
    ("first", "stalled", "retry", "writes", "decisions"),
    [
        (Verdict.FAIL, 0.5, True, False, 2),  # observed late by us: decided again
        (Verdict.ERROR, 0.5, True, False, 2),
        (Verdict.PASS, 0.5, True, False, 1),  # a pass stands: a stall never makes it better
        (Verdict.FAIL, 0.1, True, False, 1),  # no stall worth the name: the fail stands
        (Verdict.FAIL, 0.5, False, False, 1),  # recording: one decision per case
        # a write is never tried twice: the second would restore what the first left
        (Verdict.ERROR, 0.5, True, True, 1),
    ],
)
def test_an_observation_that_did_not_pass_while_the_run_stalled_is_decided_again(
    first: Verdict, stalled: float, retry: bool, writes: bool, decisions: int
) -> None:
    result, entered, again = decide_one(
        [first, Verdict.PASS], Pace(stalled), writes=writes, retry=retry
    )

    assert entered == ["obs[P001]"] * decisions
    if decisions == 2:
        assert result.verdict is Verdict.PASS
        assert result.reason == (
            f"obs[P001] judged [decided again: this run stalled 0.5 s while first deciding it, "
            f"which found {first.value}]"
        )
        assert again == ["obs[P001]"]
    else:
        assert result.verdict is first
        assert again == []


@pytest.mark.parametrize(
    ("lagged", "decisions"),
    [
        (0.12, 2),  # its threads waited their turn all along (no single stall): decided again
        (0.01, 1),  # a machine with room: the fail stands
    ],
)
def test_an_observation_that_failed_while_the_runs_threads_ran_late_is_decided_again(
    lagged: float, decisions: int
) -> None:
    result, entered, again = decide_one([Verdict.FAIL, Verdict.PASS], Pace(lagged=lagged))

    assert entered == ["obs[P001]"] * decisions
    assert again == ["obs[P001]"] * (decisions - 1)
    if decisions == 2:
        assert result.reason == (
            "obs[P001] judged [decided again: this run's threads woke 120 ms late on average "
            "while first deciding it, which found fail]"
        )
    else:
        assert result.verdict is Verdict.FAIL


def test_the_pace_gauges_how_late_its_samples_woke_while_the_interpreter_was_held() -> None:
    # The real gauge (not the stand-in): a thread holding the interpreter lock in pure Python
    # (sys.setswitchinterval raised, so it is not made to let go) keeps the sampler from waking
    # on time. Judged on what the sampler recorded, not on how long anything took.
    import sys
    import time

    from ycsa_conform.pace import Pace as RealPace

    pace = RealPace(period=0.01)
    interval = sys.getswitchinterval()
    try:
        time.sleep(0.1)  # a few samples on a free interpreter first
        sys.setswitchinterval(0.3)
        began = time.monotonic()
        while time.monotonic() - began < 1.0:
            pass  # holds the lock for up to 0.3 s at a time
        held = (began, time.monotonic())
    finally:
        sys.setswitchinterval(interval)
        pace.close()
    assert pace.lagged(*held) >= 0.05, list(pace.samples)[-20:]
    assert pace.lagged(held[1] + 10, held[1] + 20) == 0.0  # no samples there: nothing said
