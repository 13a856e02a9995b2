"""`measure`: read points from a device and compare them with a limit.

check:
  kind: measure
  device: lamp                     # a device role of the target
  point: power_factor              # or points: [supply_voltage, supply_current]
  relative_to: target_light_command   # optional: judge point - other point ('host_clock')
  limit: ">= 0.90 marginal 0.02"   # optional: without it, the points must be readable;
                                   # true or false for an on/off point (lamp_failure: false)
  window: $voltage_window          # optional, with samples: fresh reads spread evenly over
  samples: 5                       # the window (first at its start, last at its end), each
                                   # judged; the worst decides, min/max/mean are reported
  unless:                          # optional: not applicable while any of these holds, read
    - {point: lamp_on, equals: false}            # with the points (a lamp switched off is
    - {point: target_light_command, equals: 0 %} # rightly dark); untested, see checks/state.py
  requires:                        # optional: the state the value is judged in, read fresh with
    lamp_on: true                  # the points; set (and put back) when it does not hold and
    target_light_command: 100 %    # actuation is allowed, else not applicable and untested
    actual_light_state: ">= 95 %"  # (checks/state.py); a limit is verified, never set
  restore: [auto_mode]             # with requires: side effects of its writes, put back too
  settle: $dimming_settle          # with requires: wait after setting the state (default 1 s)
  resultant: true                  # optional, with two angle points (points: [tilt_x, tilt_y]):
                                   # also judge the resultant inclination (see below)
  optional: [lamp_on]              # optional: points a device may lack. Without a point it
                                   # judges, the requirement is not applicable; a state point
                                   # (requires, restore, unless) is then left out (state.py)

Samples of a window are never served from the run's poll: each is read from the device when it
is due, so the window sees how the value moves, not one poll repeated.

The resultant of two inclinations: a dual-axis tilt sensor reports the angles θx, θy of the
pole's axis projected on its two vertical planes, so the axis runs along (tan θx, tan θy, 1)
and its slope from the vertical, the horizontal offset per unit of height, is
s = √(tan²θx + tan²θy), the inclination atan(s). A limit in an angle unit (deg, rad) judges the
angles, one in a plain unit (‰, %) the slopes tan θx, tan θy and s. 2.6 ‰ on each axis is a
3.68 ‰ lean (docs/preconditions.md works it through).
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pint

from ycsa_conform.devicemap import unknown_point_message
from ycsa_conform.errors import DeviceError, DeviceTimeout
from ycsa_conform.limit import Limit, ParamRef, ResolvedLimit
from ycsa_conform.point import POINTS
from ycsa_conform.progress import WAITS
from ycsa_conform.result import Measurement, Series, Verdict, worst
from ycsa_conform.transport import Device, Reading, ReadsFresh
from ycsa_conform.units import (
    Quantity,
    UnitError,
    format_quantity,
    format_unit,
    parse_quantity,
    parse_unit,
    ureg,
)

from .base import CheckContext, Decided, Outcome, ParseContext, Use, combine, decide_value
from .state import DEFAULT_SETTLE, Assumed, Requires, equal, judge_in_state, show, unmapped

__all__ = [
    "HOST_CLOCK",
    "RESULTANT",
    "Condition",
    "MeasureCheck",
    "parse",
    "parse_conditions",
    "parse_duration",
    "parse_optional",
    "parse_requires",
    "parse_value",
    "read_fresh",
    "resolve_duration",
]

HOST_CLOCK = "host_clock"
MAX_SAMPLES = 1000
RESULTANT = "resultant"  # the name a resultant inclination is judged under, with its points

Value = pint.Quantity[Any] | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """`point` reads `equals`: the requirement does not apply while it holds."""

    point: str
    equals: Value

    def holds(self, value: object) -> bool:
        return equal(value, self.equals)

    def describe(self) -> str:
        return f"{self.point} is {show(self.equals)}"


def unless_holds(
    unless: Sequence[Condition], readings: Mapping[str, Reading], *, role: str, what: str
) -> Outcome | None:
    """`not_applicable` when one of `unless` holds in `readings`: `what` cannot be judged now.

    A point's state is transient (a lamp off by day): the requirement applies to the target
    and was not tested (checks/state.py), so the outcome is marked untested.
    """
    for condition in unless:
        if condition.holds(readings[condition.point].value):
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason=f"not applicable: {condition.describe()} ({role}), so {what} cannot "
                "be judged now; run it with the condition cleared",
                untested=True,
            )
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasureCheck:
    device: str
    points: tuple[str, ...]
    relative_to: str | None
    limit: Limit | None
    expected: bool | None = None  # the on/off value a flag point must read (limit: true/false)
    window: float | ParamRef | None = None  # s; with `samples`
    samples: int = 1
    unless: tuple[Condition, ...] = ()
    requires: Requires | None = None  # the state the points are judged in (checks/state.py)
    resultant: bool = False  # two angle points: their resultant inclination is judged too
    optional: tuple[str, ...] = ()  # points a device may lack (not applicable without them)

    @property
    def kind(self) -> str:
        return "measure"

    def needs(self) -> tuple[str, ...]:
        return (self.device,)

    def uses(self) -> tuple[Use, ...]:
        establishes = self.requires.writes() if self.requires is not None else ()
        when_mapped = self._when_mapped()
        return (
            Use(
                role=self.device,
                reads=tuple(p for p in self.reads()[self.device] if p not in when_mapped),
                optional=tuple(p for p in self.optional if p not in when_mapped),
                when_mapped=when_mapped,
                establishes=establishes,
            ),
        )

    def _when_mapped(self) -> tuple[str, ...]:
        """Optional points of states only (`unless`, `requires`, `restore`), not judged: used
        when the map has them. An optional point judged makes the requirement not applicable
        without it (`Use.optional`)."""
        judged = {*self.points, self.relative_to}
        return tuple(p for p in self.optional if p not in judged)

    def reads(self) -> dict[str, tuple[str, ...]]:
        """The points the check reads, by device role (a run polls them together)."""
        extra = (self.relative_to,) if self.relative_to not in (None, HOST_CLOCK) else ()
        conditions = tuple(c.point for c in self.unless)
        state = self.requires.reads() if self.requires is not None else ()
        return {self.device: tuple(dict.fromkeys((*self.points, *extra, *conditions, *state)))}

    def run(self, ctx: CheckContext) -> Outcome:
        device = ctx.device(self.device)
        limit = self.limit.resolve(ctx.parameters) if self.limit else None
        # Optional states on points this device does not have are not assumed (a dimming-only
        # controller has no relay to be off).
        absent = unmapped(device, self._when_mapped())
        unless = tuple(c for c in self.unless if c.point not in absent)
        requires = self.requires.without(absent) if self.requires is not None else None
        wanted = tuple(p for p in self.reads()[self.device] if p not in absent)
        window = 0.0
        if self.window is not None:
            seconds = resolve_duration(self.window, ctx, what="window")
            if isinstance(seconds, str):
                return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {seconds}")
            window = seconds
        settle = 0.0
        if requires is not None:
            seconds = resolve_duration(requires.settle, ctx, what="settle", zero=True)
            if isinstance(seconds, str):
                return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {seconds}")
            settle = seconds
        # A state is read with the points it qualifies, in one fresh read: a poll may be older
        # than the state it would be judged in.
        # A clock is compared with the host's at its message's arrival: a live message, not
        # the retained one (read_fresh waits for one), whose arrival is not when it was sent.
        fresh = self.window is not None or requires is not None or self.relative_to == HOST_CLOCK
        readings = read_fresh(device, wanted) if fresh else _read(device, wanted)

        def judged(now: Mapping[str, Reading]) -> Outcome:
            inapplicable = unless_holds(unless, now, role=self.device, what=", ".join(self.points))
            if inapplicable is not None:
                return inapplicable
            return self._judge(ctx, device, wanted, now, limit, window, requires)

        if requires is None:
            return judged(readings)
        # `unless` first: a requirement that does not apply now is not worth a write.
        inapplicable = unless_holds(unless, readings, role=self.device, what=", ".join(self.points))
        if inapplicable is not None:
            return inapplicable
        return judge_in_state(
            requires,
            ctx=ctx,
            device=device,
            role=self.device,
            readings=readings,
            read=lambda: read_fresh(device, wanted),
            settle=settle,
            body=judged,
        )

    def _judge(
        self,
        ctx: CheckContext,
        device: Device,
        wanted: Sequence[str],
        readings: Mapping[str, Reading],
        limit: ResolvedLimit | None,
        window: float,
        requires: Requires | None,
    ) -> Outcome:
        if self.window is None:
            return combine([self._decide(p, readings, limit) for p in self._judged()])
        # The first sample is the read above, at the window's start; the rest follow evenly.
        rounds = [readings]
        started = time.monotonic()
        with WAITS.waiting(f"{self.device} sampled {self.samples} times", window):
            for k in range(1, self.samples):
                due = started + window * k / (self.samples - 1)
                ctx.sleep(max(0.0, due - time.monotonic()))
                rounds.append(read_fresh(device, wanted))
        if requires is not None:
            for k, later in enumerate(rounds[1:], 2):
                unheld = requires.unheld(later, ctx.parameters, self.device)
                if unheld:
                    now = ", ".join(s.shown(later[s.point]) for s in unheld)
                    return Outcome(
                        verdict=Verdict.NOT_APPLICABLE,
                        reason="not applicable: judged only with "
                        f"{requires.describe(ctx.parameters)}, and the state changed "
                        f"during the window: sample {k} of {len(rounds)} reads {now}; run it "
                        "when the state holds",
                        untested=True,
                    )
        return self._sampled(rounds, limit, window)

    def _judged(self) -> tuple[str, ...]:
        """The names judged: each point, and the resultant of two inclinations."""
        return (*self.points, RESULTANT) if self.resultant else self.points

    def _decide(
        self, point: str, readings: Mapping[str, Reading], limit: ResolvedLimit | None
    ) -> Decided:
        if self.expected is not None:
            return _decide_flag(point, readings[point], self.expected)
        name, value = self._value(point, readings, limit)
        source = readings[self.points[0] if point == RESULTANT else point].source
        return decide_value(name, value, limit, source)

    def _value(
        self, point: str, readings: Mapping[str, Reading], limit: ResolvedLimit | None
    ) -> tuple[str, pint.Quantity[Any] | str | bool]:
        if self.resultant:
            return self._inclination(point, readings, limit)
        reading = readings[point]
        value = reading.value
        reference: pint.Quantity[Any] | None = None
        if self.relative_to == HOST_CLOCK:
            if reading.retained:
                # Its age would count as the clock's offset (and a clock ahead by as much
                # would pass): only a message sent now shows the device's clock.
                raise DeviceTimeout(
                    f"{self.device} sent no live message with {point} in time, only the one "
                    "the broker retained, which arrived when asked for, not when it was sent: "
                    "its clock cannot be compared with the host's; give the device a longer "
                    "timeout than its reporting interval"
                )
            # The host clock when the answer arrived, so replay judges the recorded moment.
            reference = Quantity(reading.at, "s")
        elif self.relative_to is not None:
            ref = readings[self.relative_to]
            if not isinstance(ref.value, pint.Quantity):
                raise TypeError(f"{self.relative_to} is not a number")
            reference = ref.value
        if reference is not None and isinstance(value, pint.Quantity):
            return f"{point} - {self.relative_to}", value - reference.to(value.units)
        return point, value

    def _inclination(
        self, name: str, readings: Mapping[str, Reading], limit: ResolvedLimit | None
    ) -> tuple[str, pint.Quantity[Any]]:
        """An axis, or the resultant, as an angle or as a slope, as the limit is written."""
        angles: list[pint.Quantity[Any]] = []
        for point in self.points:
            value = readings[point].value
            if not isinstance(value, pint.Quantity):
                raise DeviceError(f"{self.device} {point} reads {value!r}, not an angle")
            angles.append(value)
        slopes = [math.tan(float(a.to(ureg.radian).magnitude)) for a in angles]
        as_angle = _is_angle(limit)
        if name == RESULTANT:
            label = f"{RESULTANT} of {', '.join(self.points)}"
            slope = math.hypot(*slopes)
            if as_angle:
                return label, ureg.Quantity(math.degrees(math.atan(slope)), ureg.degree)
            return label, ureg.Quantity(slope, ureg.dimensionless)
        k = self.points.index(name)
        if as_angle:
            return name, angles[k]
        return name, ureg.Quantity(slopes[k], ureg.dimensionless)

    def _sampled(
        self, rounds: Sequence[Mapping[str, Reading]], limit: ResolvedLimit | None, window: float
    ) -> Outcome:
        measurements: list[Measurement] = []
        texts: list[tuple[Verdict, str]] = []
        kept: list[Series] = []
        n = len(rounds)
        for point in self._judged():
            values = [self._value(point, r, limit) for r in rounds]
            name = values[0][0]
            source = rounds[0][self.points[0] if point == RESULTANT else point].source
            decided = [decide_value(name, v, limit, source) for _, v in values]
            verdict = worst([d.measurement.verdict for d in decided])
            deciding = next(d for d in decided if d.measurement.verdict == verdict)
            quantities = [v for _, v in values if isinstance(v, pint.Quantity)]
            if len(quantities) != n:
                raise DeviceError(f"{self.device} {point} did not read as a number in every sample")
            unit = quantities[0].units
            numbers = [float(q.to(unit).magnitude) for q in quantities]
            read = rounds[0][self.points[0] if point == RESULTANT else point].at
            kept.append(
                Series(
                    kind="samples",
                    name=name,
                    unit=format_unit(unit),
                    x_unit="s",
                    x=tuple(
                        r[self.points[0] if point == RESULTANT else point].at - read for r in rounds
                    ),
                    y=tuple(numbers),
                    lower=_in_unit(limit.lower if limit else None, unit),
                    upper=_in_unit(limit.upper if limit else None, unit),
                    limit=limit.describe() if limit else "",
                )
            )
            summary = {"min": min(numbers), "max": max(numbers), "mean": statistics.fmean(numbers)}
            for key, number in summary.items():
                shown = decide_value(
                    f"{name} {key} of {n} samples", ureg.Quantity(number, unit), limit, source
                )
                measurements.append(shown.measurement)
            stats = ", ".join(
                f"{k} {format_quantity(ureg.Quantity(v, unit))}" for k, v in summary.items()
            )
            failing = sum(d.measurement.verdict == verdict for d in decided)
            which = (
                f"all {n} samples {verdict.value}"
                if verdict is Verdict.PASS
                else f"{failing} of {n} samples {verdict.value}, the first: {deciding.text}"
            )
            texts.append(
                (verdict, f"{name} sampled {n} times over {window:g} s ({stats}); {which}")
            )
        overall = worst([v for v, _ in texts])
        return Outcome(
            verdict=overall,
            reason="; ".join(t for v, t in texts if v == overall),
            measurements=tuple(measurements),
            series=tuple(kept),
        )


def _in_unit(bound: pint.Quantity[Any] | None, unit: Any) -> float | None:
    """A limit's bound as a number in the samples' unit, for the plot's band."""
    if bound is None:
        return None
    try:
        return float(bound.to(unit).magnitude)
    except pint.DimensionalityError:
        return None


def _is_angle(limit: ResolvedLimit | None) -> bool:
    """Whether a limit is written in an angle unit (deg, rad), not as a slope (‰, %)."""
    if limit is None:
        return True
    reference = limit.lower if limit.lower is not None else limit.upper
    if reference is None:
        return True
    return bool(ureg.get_root_units(reference.units)[1] == ureg.radian)


def _decide_flag(point: str, reading: Reading, expected: bool) -> Decided:
    value = reading.value
    shown = str(value).lower()
    want = str(expected).lower()
    if not isinstance(value, bool):
        verdict, text = Verdict.ERROR, f"{value!r} is not true/false, so it cannot be {want}"
    elif value is expected:
        verdict, text = Verdict.PASS, f"{shown}, as required"
    else:
        verdict, text = Verdict.FAIL, f"{shown}, where it must be {want}"
    measurement = Measurement(
        name=point,
        value=value if isinstance(value, bool | str) else None,
        unit="",
        limit=f"== {want}",
        verdict=verdict,
        source=reading.source,
    )
    return Decided(measurement, f"{point}: {text}")


def _read(device: Device, points: Sequence[str]) -> dict[str, Reading]:
    return _raise_errors(device.read_many(points))


def read_fresh(device: Device, points: Sequence[str]) -> dict[str, Reading]:
    """`points` read from the device now (not from the run's poll); device errors raise."""
    fresh = device.read_fresh if isinstance(device, ReadsFresh) else device.read_many
    return _raise_errors(fresh(points))


def _raise_errors(readings: Mapping[str, Reading | DeviceError]) -> dict[str, Reading]:
    out: dict[str, Reading] = {}
    for name, result in readings.items():
        if isinstance(result, DeviceError):
            raise result
        out[name] = result
    return out


def resolve_duration(
    value: float | ParamRef, ctx: CheckContext, *, what: str, zero: bool = False
) -> float | str:
    """Seconds, or why the parameter holding them cannot be used."""
    if not isinstance(value, ParamRef):
        return value
    given = ctx.parameters[value.name]
    if not isinstance(given, pint.Quantity) or not given.is_compatible_with(ureg.second):
        return f"{what} ${value.name} = {given!r} is not a duration; set it like '5 s'"
    seconds = float(given.to(ureg.second).magnitude)
    if seconds < 0 or (seconds == 0 and not zero):
        return (
            f"{what} ${value.name} = {format_quantity(given)} is too short; set it to more than 0 s"
        )
    return seconds


def parse_duration(
    raw: Any, ctx: ParseContext, key: str, *, zero: bool = False, example: str = "5 s"
) -> float | ParamRef | None:
    """A duration in the profile ('5 s', or a quantity parameter in seconds like '$window')."""
    if isinstance(raw, str) and raw.strip().startswith("$"):
        name = raw.strip()[1:]
        info = ctx.parameter(key, name)
        if info is None:
            return None
        if info.unit is None or not (1 * info.unit).is_compatible_with(ureg.second):
            ctx.problem(
                key,
                f"parameter ${name} is not a duration; give the {key} in seconds, like '5 s', or "
                "name a quantity parameter with 'unit: s'",
            )
            return None
        return ParamRef(name)
    try:
        q = parse_quantity(raw)
    except UnitError:
        q = None
    if q is None or q.units == ureg.dimensionless or not q.is_compatible_with(ureg.second):
        ctx.problem(key, f"{raw!r} is not a duration; write it like '{example}'")
        return None
    seconds = float(q.to(ureg.second).magnitude)
    if seconds < 0 or (seconds == 0 and not zero):
        ctx.problem(key, f"{raw!r} is too short; give {'0 s or more' if zero else 'more than 0 s'}")
        return None
    return seconds


def parse_value(
    point: str, text: Any, ctx: ParseContext, where: tuple[str | int, ...]
) -> Value | None:
    """A value for `point` written in a profile: true/false for on/off points, else a quantity."""
    full = (*ctx.where, *where)
    if point not in POINTS:
        ctx.problems.append(ctx.doc.problem(full, unknown_point_message(point)))
        return None
    unit = POINTS[point].unit
    if unit == "flag":
        if isinstance(text, bool):
            return text
        ctx.problems.append(ctx.doc.problem(full, f"{point} is on/off; write true or false"))
        return None
    if unit == "text" or isinstance(text, bool):
        ctx.problems.append(
            ctx.doc.problem(full, f"{point} cannot take {text!r}; give a value in {unit}")
        )
        return None
    try:
        value = parse_quantity(text)
    except UnitError as exc:
        ctx.problems.append(ctx.doc.problem(full, f"{exc}; write it like '50 {unit}'"))
        return None
    if not value.is_compatible_with(parse_unit(unit)):
        ctx.problems.append(
            ctx.doc.problem(
                full, f"{text!r} has the wrong dimension for {point}; give it in {unit}"
            )
        )
        return None
    return value


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> MeasureCheck | None:
    points = tuple(raw["points"]) if "points" in raw else (raw["point"],)
    key = "points" if "points" in raw else "point"
    ok = True
    for name in points:
        if name not in POINTS:
            ctx.problem(key, unknown_point_message(name))
            ok = False
    if not ok:
        return None
    kinds = {POINTS[p].unit for p in points}
    units = {parse_unit(u) for u in kinds if u not in ("text", "flag")}
    relative_to = raw.get("relative_to")
    if relative_to is not None:
        if relative_to == HOST_CLOCK:
            ref_unit = ureg.second
        elif relative_to in POINTS:
            ref_unit = parse_unit(POINTS[relative_to].unit)
        else:
            ctx.problem("relative_to", f"{unknown_point_message(relative_to)}, or {HOST_CLOCK}")
            return None
        for unit in units:
            if not (1 * unit).is_compatible_with(1 * ref_unit):
                ctx.problem(
                    "relative_to",
                    f"{relative_to} is in {ref_unit:~P} and cannot be subtracted from a "
                    f"point in {unit:~P}; name a point of the same dimension",
                )
                return None
    limit = None
    expected: bool | None = None
    if isinstance(raw.get("limit"), bool):
        if kinds != {"flag"}:
            ctx.problem(
                "limit",
                f"true/false fits on/off points only, and {', '.join(points)} "
                f"{'is' if len(points) == 1 else 'are'} not all on/off; give a limit like '>= 0.9'",
            )
            return None
        expected = bool(raw["limit"])
    elif "limit" in raw:
        if "flag" in kinds:
            ctx.problem(
                "limit",
                f"{raw['limit']!r} cannot bound an on/off point; write 'limit: true' or "
                "'limit: false'",
            )
            return None
        if len(units) > 1:
            ctx.problem(
                "points",
                "one limit cannot apply to points of different dimensions; split the check",
            )
            return None
        limit = ctx.limit(raw["limit"], unit=next(iter(units), None), subject=", ".join(points))
        if limit is None:
            return None
    window: float | ParamRef | None = None
    samples = 1
    if ("window" in raw) != ("samples" in raw):
        ctx.problem(
            "window" if "window" in raw else "samples",
            "a sampled window needs both 'window' and 'samples', like 'window: 10 s' and "
            "'samples: 5'",
        )
        return None
    if "window" in raw:
        window = parse_duration(raw["window"], ctx, "window")
        samples = raw["samples"]
        if window is None:
            return None
        if (
            isinstance(samples, bool)
            or not isinstance(samples, int)
            or not 2 <= samples <= MAX_SAMPLES
        ):
            ctx.problem(
                "samples",
                f"{samples!r} is not a number of samples from 2 to {MAX_SAMPLES}; "
                "give a whole number like 5",
            )
            return None
        if kinds & {"text", "flag"} or relative_to == HOST_CLOCK:
            ctx.problem(
                "window",
                "only number points can be sampled over a window; drop 'window' and "
                "'samples' or split the check",
            )
            return None
    resultant = bool(raw.get("resultant", False))
    if resultant and (len(points) != 2 or kinds != {"deg"} or relative_to is not None):
        ctx.problem(
            "resultant",
            "a resultant inclination needs two angle points and no relative_to, like "
            f"'points: [tilt_x, tilt_y]'; {', '.join(points)} "
            f"{'is' if len(points) == 1 else 'are'} not",
        )
        return None
    unless = parse_conditions(raw.get("unless", ()), ctx)
    requires = parse_requires(raw, ctx)
    if unless is None or requires is False:
        return None
    used = (*points, *((relative_to,) if relative_to not in (None, HOST_CLOCK) else ()))
    used += tuple(c.point for c in unless) + (requires.reads() if requires else ())
    optional = parse_optional(raw, ctx, used)
    if optional is None:
        return None
    return MeasureCheck(
        device=raw["device"],
        points=points,
        relative_to=relative_to,
        limit=limit,
        expected=expected,
        window=window,
        samples=samples,
        unless=unless,
        requires=requires,
        resultant=resultant,
        optional=optional,
    )


_LIMIT_TEXT = re.compile(r"^\s*(>=|<=|==|>|<|≥|≤|in\s*\[)|\.\.")


def parse_requires(raw: Mapping[str, Any], ctx: ParseContext) -> Requires | Literal[False] | None:
    """The check's `requires` (with `restore` and `settle` on a measure check; an actuate check
    has its own, shared with `set`): None when absent, False when it has problems."""
    measure = raw.get("kind", "measure") == "measure"
    if "requires" not in raw:
        for key in ("restore", "settle") if measure else ():
            if key in raw:
                ctx.problem(
                    key,
                    f"'{key}' belongs to the writes that establish 'requires'; give 'requires' "
                    f"or drop '{key}'",
                )
                return False
        return None
    states: list[Assumed] = []
    ok = True
    for point, given in raw["requires"].items():
        state = _assumed(str(point), given, ctx)
        if state is None:
            ok = False
        else:
            states.append(state)
    restore = parse_restore(raw, ctx)
    settle: float | ParamRef | None = DEFAULT_SETTLE
    if "settle" in raw:
        settle = parse_duration(raw["settle"], ctx, "settle", zero=True, example="2 s")
    if not ok or restore is None or settle is None:
        return False
    return Requires(states=tuple(states), restore=restore, settle=settle)


def _assumed(point: str, given: Any, ctx: ParseContext) -> Assumed | None:
    """One entry of `requires`: a value (set when it does not hold), a limit (verified only),
    or {limit: ..., set: ...} (verified, and set to the value when it fails)."""
    where: tuple[str | int, ...] = ("requires", point)
    if point not in POINTS:
        ctx.problems.append(ctx.doc.problem((*ctx.where, *where), unknown_point_message(point)))
        return None
    if isinstance(given, Mapping) and "age" in given:
        if POINTS[point].unit != "s" or "limit" in given or "set" in given:
            ctx.problems.append(
                ctx.doc.problem(
                    (*ctx.where, *where, "age"),
                    f"an age bounds a time stamp alone, like {{age: '<= 1 h'}}; {point} "
                    + ("is not a time stamp" if POINTS[point].unit != "s" else "takes no more"),
                )
            )
            return None
        limit = _state_limit(point, given["age"], ctx, (*where, "age"))
        return None if limit is None else Assumed(point=point, limit=limit, age=True)
    if isinstance(given, Mapping):
        if "limit" not in given:
            ctx.problems.append(
                ctx.doc.problem(
                    (*ctx.where, *where),
                    f"give the state of {point} as a value, a limit, or {{limit: ..., set: ...}}",
                )
            )
            return None
        limit = _state_limit(point, given["limit"], ctx, (*where, "limit"))
        set_to = None
        if "set" in given:
            set_to = parse_value(point, given["set"], ctx, (*where, "set"))
            if set_to is None:
                return None
        if limit is None:
            return None
        return Assumed(point=point, limit=limit, set_to=set_to)
    if isinstance(given, str) and _LIMIT_TEXT.search(given):
        limit = _state_limit(point, given, ctx, where)
        return None if limit is None else Assumed(point=point, limit=limit)
    value = parse_value(point, given, ctx, where)
    return None if value is None else Assumed(point=point, equals=value, set_to=value)


def _state_limit(
    point: str, text: Any, ctx: ParseContext, where: tuple[str | int, ...]
) -> Limit | None:
    unit = POINTS[point].unit
    full = (*ctx.where, *where)
    if unit in ("flag", "text"):
        what = "on/off; write true or false" if unit == "flag" else "text and has no limit"
        ctx.problems.append(ctx.doc.problem(full, f"{point} is {what}"))
        return None
    sub = ParseContext(doc=ctx.doc, where=full, parameters=ctx.parameters)
    limit = sub.limit(text, unit=parse_unit(unit), subject=point)
    # ParseContext.limit names the problem at '<where>.limit'; name the entry itself.
    ctx.problems.extend(ctx.doc.problem(full, p.message) for p in sub.problems)
    return limit


def parse_optional(
    raw: Mapping[str, Any], ctx: ParseContext, used: Sequence[str]
) -> tuple[str, ...] | None:
    """The check's `optional` points: each one the check uses."""
    optional = tuple(str(p) for p in raw.get("optional", ()))
    for k, point in enumerate(optional):
        if point not in used:
            ctx.problems.append(
                ctx.doc.problem(
                    (*ctx.where, "optional", k),
                    f"{point!r} is not a point this check uses; name one of "
                    f"{', '.join(dict.fromkeys(used))}",
                )
            )
            return None
    return optional


def parse_conditions(raw: Any, ctx: ParseContext) -> tuple[Condition, ...] | None:
    items = [raw] if isinstance(raw, Mapping) else list(raw)
    conditions: list[Condition] = []
    ok = True
    for k, item in enumerate(items):
        where: tuple[str | int, ...] = (
            ("unless", k) if not isinstance(raw, Mapping) else ("unless",)
        )
        value = parse_value(str(item["point"]), item["equals"], ctx, (*where, "equals"))
        if value is None:
            ok = False
            continue
        conditions.append(Condition(point=str(item["point"]), equals=value))
    return tuple(conditions) if ok else None


def parse_restore(raw: Mapping[str, Any], ctx: ParseContext) -> tuple[str, ...] | None:
    """The `restore:` list of catalogue points (side effects put back after a write), or None
    with a problem per unknown point."""
    restore = tuple(str(p) for p in raw.get("restore", ()))
    unknown = [k for k, point in enumerate(restore) if point not in POINTS]
    for k in unknown:
        ctx.problems.append(
            ctx.doc.problem((*ctx.where, "restore", k), unknown_point_message(restore[k]))
        )
    return None if unknown else restore
