"""States a requirement assumes (`requires:` on `measure` and `actuate` checks): established or
verified before anything is judged, never judged in the wrong state.

    requires:                              # the state the requirement is judged in
      lamp_on: true                        # a value: the point must read it; set when it does not
      target_light_command: 100 %
      actual_light_state: ">= 95 %"        # a limit: verified only (it follows from the commands)
      # {limit: "> 0 %", set: 100 %}       # a limit verified, and this value set when it fails
      # door_event_time: {age: "<= 1 h"}  # the age of a time stamp, verified only
    restore: [auto_mode]                   # side effects of those writes, put back as well
    settle: $dimming_settle                # wait after setting the state (default 1 s)

The procedure (`judge_in_state`), decided for issue 12 ("a power factor at full output judged
with the lamp switched off"):

1. The state's points are read fresh from the device (never from the run's poll), with the
   points to judge, in one read.
2. Every state holds: the check judges those readings. Nothing is written.
3. A state does not hold and nothing the check may set would change it (a light output that
   does not follow its command): `not_applicable`, untested, with the reading. The requirement
   was not tested; it is not a failure of what it judges (SP-LUM-011 judges the dimming).
4. It does not hold and actuation is not allowed (a field site without --allow-actuation):
   `not_applicable`, untested, the reason naming --allow-actuation and what it would set.
5. Otherwise the values to set are written in the order given (their prior values, and those of
   `restore`, are from the fresh read of step 1), the check waits `settle`, reads everything
   fresh again and verifies every state: one that still does not hold is step 3's verdict
   ("after setting …"). Then the check judges, and the written points are put back in reverse
   order and then the `restore` points, even when a write, a read or the judgement failed. A
   restore that fails is an error naming each point, raised over any other outcome: a device
   left commanded is what the operator must hear first. A write the device map refuses (a
   read-only relay, a value outside its writable range) is sent nowhere: the state cannot be
   set, as without --allow-actuation, so the verdict is step 4's with the refusal as reason.

A point the profile marks `optional` that only carries a state (in `requires`, `restore` or
`unless`) is used when the device's map has it and left out when not: a dimming-only
controller has no relay (`lamp_on`) to be off, and is lit when commanded above 0 %. Such points
are `Use.when_mapped`, never a gap; the points set are `Use.establishes`, never a gap when
mapped read-only (step 5).

`unless` is the older, narrower form (not applicable while a point reads a value). A state
named there is as transient as one named here (a lamp off in daytime, a dimming command of
0 %), so its `not_applicable` is untested too: a mandatory requirement not judged was not tested.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pint

from ycsa_conform.errors import DeviceError
from ycsa_conform.evaluation import judge
from ycsa_conform.limit import Limit, ParamRef
from ycsa_conform.progress import WAITS
from ycsa_conform.result import Verdict
from ycsa_conform.transport import Device, Mapped, Reading
from ycsa_conform.transport.poll import PolledDevice
from ycsa_conform.units import format_quantity, ureg

from .base import CheckContext, Outcome

__all__ = [
    "DEFAULT_SETTLE",
    "Assumed",
    "Requires",
    "announce",
    "equal",
    "judge_in_state",
    "show",
    "unmapped",
]

DEFAULT_SETTLE = 1.0  # s; a lamp driver ramps to a new dimming level within about a second

Value = pint.Quantity[Any] | bool


def show(value: Any) -> str:
    return format_quantity(value) if isinstance(value, pint.Quantity) else str(value).lower()


def equal(value: object, expected: Value) -> bool:
    """`value` reads `expected`: the same on/off state, or the same quantity. Quantities compare
    within a part in 10⁹, so that a scaled register (1000 × 0.1 %) equals 100 %."""
    if isinstance(expected, bool) or isinstance(value, bool | str):
        return value is expected
    if not isinstance(value, pint.Quantity) or not value.is_compatible_with(expected):
        return False
    got = float(value.to(expected.units).magnitude)
    want = float(expected.magnitude)
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9)


@dataclass(frozen=True, slots=True, kw_only=True)
class Assumed:
    """One state: `point` reads `equals`, or lies within `limit`; `set_to` is written to
    establish it (None: verified only)."""

    point: str
    equals: Value | None = None
    limit: Limit | None = None
    set_to: Value | None = None
    # With `limit`: the limit bounds the age of a time stamp (the host's clock when it was
    # read, minus the stamp), as "the latest event happened during the acceptance".
    age: bool = False

    def holds(self, reading: Reading, parameters: Mapping[str, Any], role: str) -> bool:
        """Whether the reading is in this state; a value that cannot be judged raises."""
        if self.limit is None:
            assert self.equals is not None
            return equal(reading.value, self.equals)
        judgement = judge(self._value(reading, role), self.limit.resolve(parameters))
        if judgement.verdict is Verdict.ERROR:
            raise DeviceError(f"{role} {self.point} cannot show the state: {judgement.text}")
        return judgement.verdict in (Verdict.PASS, Verdict.MARGINAL)

    def _value(self, reading: Reading, role: str) -> Any:
        if not self.age:
            return reading.value
        if not isinstance(reading.value, pint.Quantity):
            raise DeviceError(f"{role} {self.point} reads {reading.value!r}, not a time stamp")
        stamp = float(reading.value.to(ureg.second).magnitude)
        return ureg.Quantity(reading.at - stamp, ureg.second)

    def describe(self, parameters: Mapping[str, Any]) -> str:
        if self.limit is None:
            assert self.equals is not None
            return f"{self.point} {show(self.equals)}"
        age = "the age of " if self.age else ""
        return f"{age}{self.point} {self.limit.resolve(parameters).describe()}"

    def shown(self, reading: Reading) -> str:
        """The reading as the state's reason gives it ("door_event_time 3 h old")."""
        if self.age and isinstance(reading.value, pint.Quantity):
            old = self._value(reading, "")
            return f"{self.point} {format_quantity(old.to(_age_unit(old)))} old"
        return f"{self.point} {show(reading.value)}"


def _age_unit(age: pint.Quantity[Any]) -> str:
    seconds = abs(float(age.to(ureg.second).magnitude))
    return "d" if seconds >= 2 * 86400 else "h" if seconds >= 2 * 3600 else "s"


@dataclass(frozen=True, slots=True, kw_only=True)
class Requires:
    states: tuple[Assumed, ...]
    restore: tuple[str, ...] = ()
    settle: float | ParamRef = DEFAULT_SETTLE

    def reads(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*(s.point for s in self.states), *self.restore)))

    def writes(self) -> tuple[str, ...]:
        """Points written when the state must be set: those with a value to set, and the
        side effects put back afterwards."""
        settable = (s.point for s in self.states if s.set_to is not None)
        return tuple(dict.fromkeys((*settable, *self.restore)))

    def describe(self, parameters: Mapping[str, Any]) -> str:
        return ", ".join(s.describe(parameters) for s in self.states)

    def unheld(
        self, readings: Mapping[str, Reading], parameters: Mapping[str, Any], role: str
    ) -> list[Assumed]:
        return [s for s in self.states if not s.holds(readings[s.point], parameters, role)]

    def without(self, absent: Collection[str]) -> Requires | None:
        """The states on points a device has (`absent`: optional points its map lacks); None
        when none is left."""
        states = tuple(s for s in self.states if s.point not in absent)
        if not states:
            return None
        return replace(
            self, states=states, restore=tuple(p for p in self.restore if p not in absent)
        )


def unmapped(device: Device, points: Iterable[str]) -> frozenset[str]:
    """Of `points`, those the device's map lacks: optional states (a relay on a dimming-only
    controller) the check then does without. A device with no map to consult lacks none."""
    # Every transport's device and the run's PolledDevice carry their map (`DeviceBase`).
    devicemap = device.devicemap if isinstance(device, Mapped) else None
    if devicemap is None:
        return frozenset()
    return frozenset(p for p in points if p not in devicemap.points)


def _readings_text(unheld: Sequence[Assumed], readings: Mapping[str, Reading]) -> str:
    return ", ".join(s.shown(readings[s.point]) for s in unheld)


def judge_in_state(
    requires: Requires,
    *,
    ctx: CheckContext,
    device: Device,
    role: str,
    readings: Mapping[str, Reading],
    read: Callable[[], Mapping[str, Reading]],
    settle: float,
    body: Callable[[Mapping[str, Reading]], Outcome],
) -> Outcome:
    """Judge `body` in the state `requires` names (see the module's docstring).

    `readings` is the first fresh read, with every point of `requires.reads()`; `read` reads
    them all fresh again after the state is set; `settle` is `requires.settle` in seconds.
    """
    parameters = ctx.parameters
    assumed = requires.describe(parameters)
    unheld = requires.unheld(readings, parameters, role)
    if not unheld:
        return body(readings)
    now = _readings_text(unheld, readings)
    settable = [s for s in unheld if s.set_to is not None]
    if not settable:
        return Outcome(
            verdict=Verdict.NOT_APPLICABLE,
            reason=f"not applicable: judged only with {assumed}, and {role} reads {now}, "
            "a state the check verifies but does not set; run it when the state holds",
            untested=True,
        )
    commanded = ", ".join(f"{s.point} {show(s.set_to)}" for s in settable)
    if not ctx.actuation_allowed:
        return Outcome(
            verdict=Verdict.NOT_APPLICABLE,
            reason=f"not applicable: judged only with {assumed}, and {role} reads {now}; "
            f"run with --allow-actuation to let it set {commanded} (and restore it "
            "afterwards), or run it when the state holds",
            untested=True,
        )
    prior: dict[str, Value] = {}
    for point in dict.fromkeys((*(s.point for s in settable), *requires.restore)):
        value = readings[point].value
        if isinstance(value, str):
            raise DeviceError(
                f"{role} {point} reads {value!r}, which cannot be written back; check the "
                "device map's type for it"
            )
        prior[point] = value
    written: list[str] = []
    announce(device, prior, [p for p in requires.restore if p not in {s.point for s in settable}])
    try:
        try:
            for state in settable:
                assert state.set_to is not None
                written.append(state.point)
                try:
                    device.write(state.point, state.set_to)
                except ValueError:
                    written.pop()  # the map refused it: nothing was sent
                    raise
            with WAITS.waiting(f"{role} settling in the state the requirement assumes", settle):
                ctx.sleep(settle)
            after = read()
            still = requires.unheld(after, parameters, role)
            if still:
                outcome = Outcome(
                    verdict=Verdict.NOT_APPLICABLE,
                    reason=f"not applicable: judged only with {assumed}; after setting "
                    f"{commanded} and {settle:g} s, {role} reads {_readings_text(still, after)}, "
                    "so the state could not be established",
                    untested=True,
                )
            else:
                outcome = body(after)
        finally:
            restored = _restore(device, role, prior, written, requires.restore)
    except ValueError as exc:
        # The device map refused a value (read-only, or outside its declared range) before it
        # was sent: the device cannot be put in the state, as without --allow-actuation.
        return Outcome(
            verdict=Verdict.NOT_APPLICABLE,
            reason=f"not applicable: judged only with {assumed}, and {role} reads {now}; the "
            f"state cannot be set ({exc}); run it when the state holds",
            untested=True,
        )
    return replace(
        outcome,
        reason=f"set {commanded} (the state it is judged in; {role} read {now}), after "
        f"{settle:g} s {outcome.reason}; restored {restored}",
    )


def announce(
    device: Device, prior: Mapping[str, Value], side_effects: Collection[str] = ()
) -> None:
    """Tell the run's device the prior values of the points about to change, `side_effects`
    included, so that its restore journal holds them before the first write (a kill during
    the settle must leave auto_mode in the journal, not only lamp_on)."""
    if isinstance(device, PolledDevice):
        device.expect_writes(prior, side_effects)


def _restore(
    device: Device,
    role: str,
    prior: Mapping[str, Value],
    written: Sequence[str],
    side_effects: Sequence[str],
) -> str:
    """Put back the written points (last first), then their side effects; "nothing" when
    nothing was written."""
    if not written:
        return "nothing (nothing was written)"
    order = [*reversed(written), *(p for p in side_effects if p not in written)]
    return put_back(role, order, prior, device.write)


def put_back(
    role: str,
    order: Sequence[str],
    prior: Mapping[str, Value],
    write: Callable[[str, Value], object],
) -> str:
    """Write each point of `order` back to its `prior` value with `write`, every one even when
    an earlier one fails; what was put back, or a DeviceError naming each point that was not
    (the operator must set it back by hand)."""
    failed: list[str] = []
    for point in order:
        try:
            write(point, prior[point])
        except (DeviceError, ValueError) as exc:
            failed.append(f"{point} to {show(prior[point])} ({exc})")
    if failed:
        raise DeviceError(
            f"{role} could not be restored: {'; '.join(failed)}; set it back by hand before "
            "leaving the site"
        )
    return ", ".join(f"{p} to {show(prior[p])}" for p in order)
