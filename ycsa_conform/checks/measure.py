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
    - {point: target_light_command, equals: 0 %} # rightly dark)

Samples of a window are never served from the run's poll: each is read from the device when it
is due, so the window sees how the value moves, not one poll repeated.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pint

from ycsa_conform.devicemap import unknown_point_message
from ycsa_conform.errors import DeviceError
from ycsa_conform.limit import Limit, ParamRef
from ycsa_conform.point import POINTS
from ycsa_conform.result import Measurement, Verdict, worst
from ycsa_conform.transport import Device, Reading
from ycsa_conform.units import (
    Quantity,
    UnitError,
    format_quantity,
    parse_quantity,
    parse_unit,
    ureg,
)

from .base import CheckContext, Decided, Outcome, ParseContext, Use, combine, decide_value

__all__ = [
    "HOST_CLOCK",
    "Condition",
    "MeasureCheck",
    "parse",
    "parse_conditions",
    "parse_duration",
    "parse_value",
    "read_fresh",
    "resolve_duration",
]

HOST_CLOCK = "host_clock"
MAX_SAMPLES = 1000

Value = pint.Quantity[Any] | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """`point` reads `equals`: the requirement does not apply while it holds."""

    point: str
    equals: Value

    def holds(self, value: object) -> bool:
        if isinstance(self.equals, bool) or isinstance(value, bool | str):
            return value is self.equals
        assert isinstance(value, pint.Quantity)
        return bool(
            value.is_compatible_with(self.equals) and value.to(self.equals.units) == self.equals
        )

    def describe(self) -> str:
        return f"{self.point} is {_show(self.equals)}"


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

    @property
    def kind(self) -> str:
        return "measure"

    def needs(self) -> tuple[str, ...]:
        return (self.device,)

    def uses(self) -> tuple[Use, ...]:
        return (Use(role=self.device, reads=self.reads()[self.device]),)

    def reads(self) -> dict[str, tuple[str, ...]]:
        """The points the check reads, by device role (a run polls them together)."""
        extra = (self.relative_to,) if self.relative_to not in (None, HOST_CLOCK) else ()
        conditions = tuple(c.point for c in self.unless)
        return {self.device: tuple(dict.fromkeys((*self.points, *extra, *conditions)))}

    def run(self, ctx: CheckContext) -> Outcome:
        device = ctx.device(self.device)
        limit = self.limit.resolve(ctx.parameters) if self.limit else None
        wanted = self.reads()[self.device]
        window = 0.0
        if self.window is not None:
            seconds = resolve_duration(self.window, ctx, what="window")
            if isinstance(seconds, str):
                return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {seconds}")
            window = seconds
        sampled = self.window is not None
        readings = read_fresh(device, wanted) if sampled else _read(device, wanted)
        for condition in self.unless:
            reading = readings[condition.point]
            if condition.holds(reading.value):
                return Outcome(
                    verdict=Verdict.NOT_APPLICABLE,
                    reason=f"not applicable: {condition.describe()} ({self.device}), so "
                    f"{', '.join(self.points)} cannot be judged now; run it with the "
                    "condition cleared",
                )
        if not sampled:
            return combine([self._decide(p, readings, limit) for p in self.points])
        # The first sample is the read above, at the window's start; the rest follow evenly.
        rounds = [readings]
        started = time.monotonic()
        for k in range(1, self.samples):
            due = started + window * k / (self.samples - 1)
            ctx.sleep(max(0.0, due - time.monotonic()))
            rounds.append(read_fresh(device, wanted))
        return self._sampled(rounds, limit, window)

    def _decide(self, point: str, readings: Mapping[str, Reading], limit: Any) -> Decided:
        if self.expected is not None:
            return _decide_flag(point, readings[point], self.expected)
        name, value = self._value(point, readings)
        return decide_value(name, value, limit, readings[point].source)

    def _value(
        self, point: str, readings: Mapping[str, Reading]
    ) -> tuple[str, pint.Quantity[Any] | str | bool]:
        reading = readings[point]
        value = reading.value
        reference: pint.Quantity[Any] | None = None
        if self.relative_to == HOST_CLOCK:
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

    def _sampled(
        self, rounds: Sequence[Mapping[str, Reading]], limit: Any, window: float
    ) -> Outcome:
        measurements: list[Measurement] = []
        texts: list[tuple[Verdict, str]] = []
        n = len(rounds)
        for point in self.points:
            values = [self._value(point, r) for r in rounds]
            name = values[0][0]
            source = rounds[0][point].source
            decided = [decide_value(name, v, limit, source) for _, v in values]
            verdict = worst([d.measurement.verdict for d in decided])
            deciding = next(d for d in decided if d.measurement.verdict == verdict)
            quantities = [v for _, v in values if isinstance(v, pint.Quantity)]
            if len(quantities) != n:
                raise DeviceError(f"{self.device} {point} did not read as a number in every sample")
            unit = quantities[0].units
            numbers = [float(q.to(unit).magnitude) for q in quantities]
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
        )


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
    fresh = getattr(device, "read_fresh", None)
    return _raise_errors(fresh(points) if fresh is not None else device.read_many(points))


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


def _show(value: Any) -> str:
    return format_quantity(value) if isinstance(value, pint.Quantity) else str(value).lower()


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
    unless = parse_conditions(raw.get("unless", ()), ctx)
    if unless is None:
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
    )


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
