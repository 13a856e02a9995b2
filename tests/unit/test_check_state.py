"""checks/state.py and the `requires` of measure and actuate: the procedure that establishes a
state a requirement assumes, on a small in-memory device whose writes can be refused or fail.
What the real bench does with it is in tests/bench/test_preconditions.py; here are the paths
the bench cannot take on demand (a restore that fails, a write refused by the map, a state
that changes during a window, a round trip timed negative)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pint
import pytest

from ycsa_conform.checks.actuate import ActuateCheck
from ycsa_conform.checks.actuate import parse as parse_actuate
from ycsa_conform.checks.base import CheckContext, ParameterInfo, ParseContext
from ycsa_conform.checks.measure import MeasureCheck
from ycsa_conform.checks.measure import parse as parse_measure
from ycsa_conform.errors import DeviceError, DeviceTimeout
from ycsa_conform.result import Source, Verdict
from ycsa_conform.site import Target
from ycsa_conform.source import Document
from ycsa_conform.transport import Reading
from ycsa_conform.units import parse_quantity, ureg

Q = parse_quantity


class Lamp:
    """A lamp controller in memory: points and values; writes logged, refused (ValueError, as
    a device map refuses) or failing (DeviceError, as a device that stops answering)."""

    name = "lamp"
    source = Source(device="lamp", scheme="memory")
    transactions = 0

    def __init__(self, **values: Any) -> None:
        self.values: dict[str, Any] = {
            "lamp_on": True,
            "auto_mode": True,
            "target_light_command": Q("100 %"),
            "actual_light_state": Q("100 %"),
            "power_factor": Q("0.96"),
            **values,
        }
        self.log: list[tuple[str, Any]] = []
        self.refuse: set[str] = set()
        self.fail_on_restore: set[str] = set()
        self.stuck: pint.Quantity[Any] | None = None
        self.reads: list[Sequence[str]] = []
        self.on_read: Callable[[int], None] | None = None
        self.now = 1_750_000_000.0  # the host's clock when each answer arrives

    def read_many(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        self.reads.append(tuple(points))
        if self.on_read is not None:
            self.on_read(len(self.reads))
        return {p: Reading(p, self.values[p], self.now, self.source) for p in points}

    read_fresh = read_many

    def read(self, point: str) -> Reading:
        result = self.read_many([point])[point]
        assert isinstance(result, Reading)
        return result

    def minimum_transactions(self, points: Sequence[str]) -> int:
        return 1

    def write(self, point: str, value: pint.Quantity[Any] | bool) -> None:
        if point in self.refuse:
            raise ValueError(f"lamp: refusing to write {point}: read-only in the map")
        if point in self.fail_on_restore and any(p == point for p, _ in self.log):
            raise DeviceError(f"lamp: no answer writing {point}")
        self.log.append((point, value))
        self.values[point] = value
        if point == "lamp_on":
            self.values["auto_mode"] = False  # switching by hand leaves automatic mode
        if point in ("lamp_on", "target_light_command"):
            lit = self.values["lamp_on"]
            level = self.stuck if self.stuck is not None else self.values["target_light_command"]
            self.values["actual_light_state"] = level if lit else Q("0 %")

    def close(self) -> None:
        pass


def parsed(raw: Mapping[str, Any]) -> Any:
    ctx = ParseContext(
        doc=Document(path=Path("p.yaml"), data={}, lines={}, text=""),
        where=("check",),
        parameters={"settle": ParameterInfo(name="settle", unit=ureg.second)},
    )
    check = (parse_measure if raw["kind"] == "measure" else parse_actuate)(raw, ctx)
    assert not ctx.problems, [str(p) for p in ctx.problems]
    return check


def context(lamp: Lamp, *, allowed: bool = True) -> tuple[CheckContext, list[float]]:
    slept: list[float] = []
    ctx = CheckContext(
        target=Target(
            id="P001",
            kind="pole",
            title={},
            parameters={},
            design={},
            equipment=(),
            devices={},
            origin="site.yaml:1",
        ),
        parameters={"settle": Q("0.5 s")},
        device=lambda role: lamp,  # a Device in all but name
        actuation_allowed=allowed,
        sleep=slept.append,
    )
    return ctx, slept


FULL_OUTPUT: dict[str, Any] = {
    "kind": "measure",
    "device": "lamp",
    "point": "power_factor",
    "limit": ">= 0.9",
    "requires": {
        "lamp_on": True,
        "target_light_command": "100 %",
        "actual_light_state": ">= 95 %",
    },
    "restore": ["auto_mode"],
    "settle": "$settle",
}


def test_a_state_that_holds_is_judged_as_found_without_a_write() -> None:
    lamp = Lamp()
    check: MeasureCheck = parsed(FULL_OUTPUT)
    ctx, slept = context(lamp)

    outcome = check.run(ctx)

    assert outcome.verdict is Verdict.PASS
    assert outcome.reason == "power_factor: 0.96 meets >= 0.9"
    assert (lamp.log, slept) == ([], [])
    # One fresh read of the points with their state, never the poll.
    assert lamp.reads == [
        ("power_factor", "lamp_on", "target_light_command", "actual_light_state", "auto_mode")
    ]


def test_the_state_is_set_in_order_settled_judged_and_put_back_in_reverse() -> None:
    lamp = Lamp(
        lamp_on=False, target_light_command=Q("40 %"), actual_light_state=Q("0 %")
    )  # off by day, its schedule at 40 %
    check: MeasureCheck = parsed(FULL_OUTPUT)
    ctx, slept = context(lamp)

    outcome = check.run(ctx)

    assert outcome.verdict is Verdict.PASS
    assert slept == [0.5]
    assert lamp.log == [
        ("lamp_on", True),
        ("target_light_command", Q("100 %")),
        ("target_light_command", Q("40 %")),
        ("lamp_on", False),
        ("auto_mode", True),
    ]
    assert outcome.reason == (
        "set lamp_on true, target_light_command 100 % (the state it is judged in; lamp read "
        "lamp_on false, target_light_command 40 %, actual_light_state 0 %), after 0.5 s "
        "power_factor: 0.96 meets >= 0.9; restored target_light_command to 40 %, lamp_on to "
        "false, auto_mode to true"
    )


def test_without_actuation_the_state_is_read_never_written_and_the_result_untested() -> None:
    lamp = Lamp(target_light_command=Q("60 %"), actual_light_state=Q("60 %"))
    check: MeasureCheck = parsed(FULL_OUTPUT)
    ctx, _ = context(lamp, allowed=False)

    outcome = check.run(ctx)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.untested
    assert lamp.log == []
    assert outcome.reason == (
        "not applicable: judged only with lamp_on true, target_light_command 100 %, "
        "actual_light_state >= 95 %, and lamp reads target_light_command 60 %, "
        "actual_light_state 60 %; run with --allow-actuation to let it set "
        "target_light_command 100 % (and restore it afterwards), or run it when the state holds"
    )


def test_a_state_not_reached_after_setting_it_is_untested_and_still_put_back() -> None:
    lamp = Lamp(target_light_command=Q("60 %"), actual_light_state=Q("60 %"))
    lamp.stuck = Q("60 %")  # a driver that ignores its dimming command
    check: MeasureCheck = parsed(FULL_OUTPUT)
    ctx, _ = context(lamp)

    outcome = check.run(ctx)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.untested
    assert outcome.measurements == ()
    assert "after setting target_light_command 100 % and 0.5 s, lamp reads actual_light_state " in (
        outcome.reason
    )
    assert "so the state could not be established" in outcome.reason
    assert lamp.values["target_light_command"] == Q("60 %")


def test_a_write_the_map_refuses_leaves_the_requirement_untested_not_an_error() -> None:
    lamp = Lamp(lamp_on=False, actual_light_state=Q("0 %"))
    lamp.refuse.add("lamp_on")
    check: MeasureCheck = parsed(FULL_OUTPUT)
    ctx, _ = context(lamp)

    outcome = check.run(ctx)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.untested
    assert "the state cannot be set (lamp: refusing to write lamp_on: read-only in the map)" in (
        outcome.reason
    )
    assert lamp.log == []  # nothing sent, nothing to put back


def test_a_restore_that_fails_is_an_error_naming_the_point() -> None:
    lamp = Lamp(lamp_on=False, target_light_command=Q("40 %"), actual_light_state=Q("0 %"))
    lamp.fail_on_restore.add("target_light_command")
    check: MeasureCheck = parsed(FULL_OUTPUT)
    ctx, _ = context(lamp)

    with pytest.raises(DeviceError) as failed:
        check.run(ctx)

    assert str(failed.value) == (
        "lamp could not be restored: target_light_command to 40 % (lamp: no answer writing "
        "target_light_command); set it back by hand before leaving the site"
    )
    # The other points were still put back.
    assert lamp.log[-2:] == [("lamp_on", False), ("auto_mode", True)]


def test_a_judgement_that_raises_still_puts_the_state_back() -> None:
    lamp = Lamp(lamp_on=False, actual_light_state=Q("0 %"))
    check: MeasureCheck = parsed(FULL_OUTPUT)
    ctx, _ = context(lamp)
    original = lamp.read_many

    def broken(points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        if lamp.log:  # after the state was set
            raise DeviceError("lamp: no answer")
        return original(points)

    lamp.read_many = broken  # type: ignore[method-assign]
    lamp.read_fresh = broken  # type: ignore[method-assign]

    with pytest.raises(DeviceError, match="lamp: no answer"):
        check.run(ctx)

    assert lamp.log[-2:] == [("lamp_on", False), ("auto_mode", True)]


def test_a_state_that_changes_during_a_window_is_untested() -> None:
    lamp = Lamp()
    raw = {**FULL_OUTPUT, "window": "1 s", "samples": 3}
    check: MeasureCheck = parsed(raw)
    ctx, _ = context(lamp)

    def dusk_to_dawn(n: int) -> None:
        if n == 3:  # the photocell switches the lamp off before the third sample
            lamp.values.update(lamp_on=False, actual_light_state=Q("0 %"))

    lamp.on_read = dusk_to_dawn

    outcome = check.run(ctx)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.untested
    assert "the state changed during the window: sample 3 of 3 reads lamp_on false, " in (
        outcome.reason
    )


def test_a_limit_state_with_a_value_to_set_is_set_only_when_it_fails() -> None:
    raw = {
        "kind": "measure",
        "device": "lamp",
        "point": "actual_light_state",
        "relative_to": "target_light_command",
        "limit": "-5 % .. 5 %",
        "requires": {"target_light_command": {"limit": "> 0 %", "set": "100 %"}},
        "settle": "0 s",
    }
    check: MeasureCheck = parsed(raw)
    dimmed = Lamp(target_light_command=Q("30 %"), actual_light_state=Q("30 %"))
    dark = Lamp(target_light_command=Q("0 %"), actual_light_state=Q("0 %"))

    as_found = check.run(context(dimmed)[0])
    lit = check.run(context(dark)[0])

    assert as_found.verdict is Verdict.PASS
    assert dimmed.log == []
    assert lit.verdict is Verdict.PASS
    assert dark.log == [("target_light_command", Q("100 %")), ("target_light_command", Q("0 %"))]


def test_an_optional_state_point_the_map_lacks_is_not_assumed() -> None:
    from ycsa_conform.devicemap import load_devicemap
    from ycsa_conform.resources import data_dir

    lamp = Lamp(target_light_command=Q("60 %"), actual_light_state=Q("60 %"))
    # A dimming-only controller: the bench lamp's map without its relay and photocell mode.
    devicemap = load_devicemap(data_dir("benches") / "devicemaps" / "lamp-controller.yaml")
    points = {k: v for k, v in devicemap.points.items() if k not in ("lamp_on", "auto_mode")}
    lamp.devicemap = dataclasses.replace(devicemap, points=points)  # type: ignore[attr-defined]
    check: MeasureCheck = parsed({**FULL_OUTPUT, "optional": ["lamp_on", "auto_mode"]})
    ctx, _ = context(lamp)

    outcome = check.run(ctx)

    assert outcome.verdict is Verdict.PASS
    assert lamp.log == [("target_light_command", Q("100 %")), ("target_light_command", Q("60 %"))]
    assert "lamp_on" not in {p for read in lamp.reads for p in read}
    (use,) = check.uses()
    assert use.when_mapped == ("lamp_on", "auto_mode")
    assert "lamp_on" not in use.reads
    assert use.optional == ()
    assert use.establishes == ("lamp_on", "target_light_command", "auto_mode")


@pytest.mark.parametrize(
    ("age", "verdict", "shown"),
    [(600.0, Verdict.PASS, ""), (3 * 86400.0, Verdict.NOT_APPLICABLE, "door_event_time 3 d old")],
)
def test_a_latency_of_an_event_long_ago_is_not_judged(
    age: float, verdict: Verdict, shown: str
) -> None:
    # "Door unlocks promptly": the platform's timing of its latest event, which says nothing
    # of the system accepted today if that event was days ago.
    raw = {
        "kind": "measure",
        "device": "access",
        "point": "door_unlock_latency",
        "limit": "<= 2 s",
        "requires": {"door_event_time": {"age": "<= 1 h"}},
    }
    check: MeasureCheck = parsed(raw)
    access = Lamp(door_unlock_latency=Q("1.2 s"))
    access.values["door_event_time"] = Q(f"{access.now - age} s")
    ctx, _ = context(access)

    outcome = check.run(ctx)

    assert outcome.verdict is verdict, outcome.reason
    assert access.log == []
    if verdict is Verdict.NOT_APPLICABLE:
        assert outcome.untested
        assert outcome.reason == (
            f"not applicable: judged only with the age of door_event_time <= 1 h, and access "
            f"reads {shown}, a state the check verifies but does not set; run it when the "
            "state holds"
        )


# -- actuate ------------------------------------------------------------------------------------

DIMMING: dict[str, Any] = {
    "kind": "actuate",
    "device": "lamp",
    "requires": {"lamp_on": True, "target_light_command": "100 %"},
    "restore": ["auto_mode"],
    "set": {"target_light_command": "50 %"},
    "settle": "0 s",
    "observe": {"point": "actual_light_state", "limit": "45 % .. 55 %"},
}


def test_actuate_starts_from_the_state_it_requires_and_unwinds_both_layers() -> None:
    lamp = Lamp(target_light_command=Q("70 %"), actual_light_state=Q("70 %"))
    check: ActuateCheck = parsed(DIMMING)

    outcome = check.run(context(lamp)[0])

    assert outcome.verdict is Verdict.PASS, outcome.reason
    assert lamp.log == [
        ("target_light_command", Q("100 %")),  # the state
        ("target_light_command", Q("50 %")),  # the command
        ("target_light_command", Q("100 %")),  # the command's restore
        ("auto_mode", True),
        ("target_light_command", Q("70 %")),  # the state's restore
        ("auto_mode", True),
    ]


def test_actuate_without_actuation_is_untested() -> None:
    check: ActuateCheck = parsed(DIMMING)

    outcome = check.run(context(Lamp(), allowed=False)[0])

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.untested
    assert "run with --allow-actuation to let it command lamp" in outcome.reason


class Gateway(Lamp):
    """A device whose acknowledged commands report a round trip (an MQTT gateway's)."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def command(self, point: str, value: Any, *, timeout: float) -> float:
        self.write(point, value)
        return self.seconds


@pytest.mark.parametrize(
    ("seconds", "shown"), [(-8.079, "negative (-8.079 s)"), (float("nan"), "not a number (nan s)")]
)
def test_a_round_trip_timed_negative_or_not_a_number_is_never_judged(
    seconds: float, shown: str
) -> None:
    # "-8.079 s meets <= 0.1 s": a negative duration passes any upper limit.
    raw = {
        "kind": "actuate",
        "device": "gateway",
        "set": {"target_light_command": "50 %"},
        "settle": "0 s",
        "observe": {"point": "command_round_trip", "limit": "<= 0.1 s"},
    }
    check: ActuateCheck = parsed(raw)
    gateway = Gateway(seconds)

    outcome = check.run(context(gateway)[0])

    assert outcome.verdict is Verdict.ERROR
    (measured,) = outcome.measurements
    assert measured.verdict is Verdict.ERROR
    assert outcome.reason.startswith(
        "cannot be decided: set target_light_command 50 %, after 0 s target_light_command "
        f"command_round_trip: {shown}, so it is not judged against <= 0.1 s: the "
        "acknowledgement is timed before its command was sent"
    )
    assert gateway.values["target_light_command"] == Q("100 %")  # restored


def test_an_actuate_restore_that_fails_names_the_point_and_still_puts_back_the_rest() -> None:
    lamp = Lamp()
    lamp.fail_on_restore.add("target_light_command")
    raw = {
        "kind": "actuate",
        "device": "lamp",
        "set": {"target_light_command": "50 %"},
        "restore": ["auto_mode"],
        "settle": "0 s",
        "observe": {"point": "actual_light_state", "limit": "45 % .. 55 %"},
    }
    check: ActuateCheck = parsed(raw)

    with pytest.raises(DeviceError) as failed:
        check.run(context(lamp)[0])

    assert str(failed.value) == (
        "lamp could not be restored: target_light_command to 100 % (lamp: no answer writing "
        "target_light_command); set it back by hand before leaving the site"
    )
    assert lamp.log == [("target_light_command", Q("50 %")), ("auto_mode", True)]


class DeafGateway(Lamp):
    """A gateway that never acknowledges a command; after the first it also ignores them."""

    def __init__(self, *, obeys: int) -> None:
        super().__init__()
        self.obeys = obeys

    def command(self, point: str, value: Any, *, timeout: float) -> float:
        if self.obeys > 0:
            self.obeys -= 1
            self.write(point, value)
        raise DeviceTimeout(f"gateway: no acknowledgement of {point} within {timeout:g} s")


ROUND_TRIP: dict[str, Any] = {
    "kind": "actuate",
    "device": "gateway",
    "set": {"target_light_command": "50 %"},
    "settle": "0 s",
    "observe": {"point": "command_round_trip", "limit": "<= 0.1 s"},
}


def test_an_unacknowledged_command_is_put_back_and_read_to_see_it_took() -> None:
    check: ActuateCheck = parsed(ROUND_TRIP)
    gateway = DeafGateway(obeys=2)

    outcome = check.run(context(gateway)[0])

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert "restored target_light_command to 100 %" in outcome.reason
    assert gateway.values["target_light_command"] == Q("100 %")


def test_an_unacknowledged_put_back_that_did_not_take_names_what_the_point_reads() -> None:
    check: ActuateCheck = parsed(ROUND_TRIP)
    gateway = DeafGateway(obeys=1)

    with pytest.raises(DeviceError) as failed:
        check.run(context(gateway)[0])

    assert str(failed.value) == (
        "gateway could not be restored: target_light_command to 100 % (not acknowledged, "
        "and target_light_command reads 50 %); set it back by hand before leaving the site"
    )
