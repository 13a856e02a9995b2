"""`actuate`: command a device, observe the effect, and put the device back as it was.

check:
  kind: actuate
  device: lamp                                    # a device role of the target
  set: {target_light_command: 50 %}               # writable points and the values to write
  restore: [auto_mode]                            # optional: points the writes change as a side
                                                  # effect (a lamp_on write clears auto_mode)
  observe: {point: actual_light_state, limit: "45 % .. 55 %"}   # or a list of observations
  settle: 0.5 s                                   # optional: wait before observing (default 1 s)
  unless: {point: lamp_on, equals: false}         # optional, as for measure: not applicable
  requires: {lamp_on: true, target_light_command: 100 %}   # optional: the state the command
                                                  # starts from, as for measure (checks/state.py)
  optional: [lamp_on]                             # optional: points a device may lack

An observation judges a point read after settling, or its ratio to the value it had before the
writes (`ratio_to_prior: true`, a plain-number limit like "0.40 .. 0.65"), or the command's
round trip (`point: command_round_trip`, a time limit; MQTT devices, whose commands are
acknowledged): the command waits for its acknowledgement up to the limit's upper bound, and a
command not acknowledged by then fails, since the device did not do what was asked in time -
unless the device has gone since an earlier window of the run heard it (its status offline
now: checks/presence.py `gone_now`), which is an error: the command went to nobody.

The check reads the prior value of every point it sets or restores fresh from the device (never
from the run's poll, which may be up to max_age old), writes the new values, waits `settle`,
reads the observed points and judges them, and always writes the prior values back, the set
points in reverse order and then the `restore` points, even when a write or the observation
fails (a failed restore is an error naming the point). The device map decides which points are
writable and inside which range (transport refuses anything else).

With `requires`, the state is read fresh first and set when it does not hold (a dimming step
judged as a ratio of the power before it must start from full output), with the same `settle`;
its writes are put back after the command's, and `restore` serves both.

It commands devices only on a bench site or with --allow-actuation; on field devices without
it the verdict is not applicable and untested, with the option in the reason. A command round
trip that comes out negative or not a number is an error, never judged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pint

from ycsa_conform.devicemap import unknown_point_message
from ycsa_conform.errors import DeviceError, DeviceTimeout
from ycsa_conform.limit import Limit, ParamRef, ResolvedLimit
from ycsa_conform.point import POINTS
from ycsa_conform.progress import WAITS
from ycsa_conform.result import Measurement, Series, Source, Verdict, worst
from ycsa_conform.transport import Commands, Device
from ycsa_conform.units import parse_unit, ureg

from .base import CheckContext, Decided, Outcome, ParseContext, Use, decide_value
from .measure import (
    Condition,
    parse_conditions,
    parse_duration,
    parse_optional,
    parse_requires,
    parse_restore,
    parse_value,
    read_fresh,
    resolve_duration,
    unless_holds,
)
from .presence import gone_now
from .state import (
    DEFAULT_SETTLE,
    Requires,
    announce,
    judge_in_state,
    put_back,
    show,
    unmapped,
)

_EFFECT = "the effect of the command"  # what an `unless` that holds keeps from being judged

__all__ = ["DEFAULT_SETTLE", "ROUND_TRIP", "ActuateCheck", "Observe", "parse"]

ROUND_TRIP = "command_round_trip"  # observed: command sent to acknowledgement received

Value = pint.Quantity[Any] | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Observe:
    point: str  # a point, or ROUND_TRIP
    limit: Limit
    ratio_to_prior: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ActuateCheck:
    device: str
    set: tuple[tuple[str, Value], ...]
    observe: tuple[Observe, ...]
    settle: float | ParamRef  # s, or a profile parameter holding a duration
    restore: tuple[str, ...] = ()
    unless: tuple[Condition, ...] = ()
    # The state the command starts from, set before it and put back after (checks/state.py);
    # its writes share `restore` and `settle` with the command's.
    requires: Requires | None = None
    optional: tuple[str, ...] = ()  # points a device may lack (not applicable without them)

    @property
    def kind(self) -> str:
        return "actuate"

    def needs(self) -> tuple[str, ...]:
        return (self.device,)

    def uses(self) -> tuple[Use, ...]:
        observed = tuple(o.point for o in self.observe if o.point != ROUND_TRIP)
        written = tuple(dict.fromkeys((*(p for p, _ in self.set), *self.restore)))
        conditions = tuple(c.point for c in self.unless)
        state = self.requires.reads() if self.requires is not None else ()
        reads = tuple(dict.fromkeys((*written, *observed, *conditions, *state)))
        when_mapped = self._when_mapped()
        return (
            Use(
                role=self.device,
                reads=tuple(p for p in reads if p not in when_mapped),
                # A side effect put back where mapped (`restore: [auto_mode]`) is written
                # all the same there: a map that has it read-only cannot decide the check.
                writes=written,
                commands=self._round_trip is not None,
                optional=tuple(p for p in self.optional if p not in when_mapped),
                when_mapped=when_mapped,
                establishes=self.requires.writes() if self.requires is not None else (),
            ),
        )

    def _when_mapped(self) -> tuple[str, ...]:
        """Optional points of states and side effects (`unless`, `requires`, `restore`), used
        when the map has them; an optional point commanded or observed makes the requirement
        not applicable without it (`Use.optional`)."""
        acted = {*(p for p, _ in self.set), *(o.point for o in self.observe)}
        return tuple(p for p in self.optional if p not in acted)

    @property
    def _round_trip(self) -> Observe | None:
        return next((o for o in self.observe if o.point == ROUND_TRIP), None)

    def run(self, ctx: CheckContext) -> Outcome:
        if not ctx.actuation_allowed:
            # The requirement applies and was not tested: a run must not conclude "Conforms".
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason="actuation is not allowed on field devices; "
                f"run with --allow-actuation to let it command {self.device}",
                untested=True,
            )
        limits = {o.point: o.limit.resolve(ctx.parameters) for o in self.observe}
        settle = resolve_duration(self.settle, ctx, what="settle", zero=True)
        if isinstance(settle, str):
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {settle}")
        device = ctx.device(self.device)
        # Optional states and side effects on points this device does not have are not
        # assumed (a dimming-only controller has no relay, nor a photocell mode of one).
        absent = unmapped(device, self._when_mapped())
        unless = tuple(c for c in self.unless if c.point not in absent)
        restore = tuple(p for p in self.restore if p not in absent)
        requires = self.requires.without(absent) if self.requires is not None else None
        if requires is None:
            return self._actuate(ctx, device, limits, settle, unless, restore)
        # The state the command starts from (full output before a dimming step): set first, put
        # back last, around the command's own writes and their restore (checks/state.py).
        wanted = list(dict.fromkeys([*requires.reads(), *(c.point for c in unless)]))
        readings = read_fresh(device, wanted)
        inapplicable = unless_holds(unless, readings, role=self.device, what=_EFFECT)
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
            body=lambda _: self._actuate(ctx, device, limits, settle, unless, restore),
        )

    def _actuate(
        self,
        ctx: CheckContext,
        device: Device,
        limits: Mapping[str, ResolvedLimit],
        settle: float,
        unless: Sequence[Condition],
        restore: Sequence[str],
    ) -> Outcome:
        ratios = [o.point for o in self.observe if o.ratio_to_prior]
        wanted = list(dict.fromkeys([p for p, _ in self.set] + [*restore, *ratios]))
        wanted += [c.point for c in unless if c.point not in wanted]
        before = read_fresh(device, wanted)
        inapplicable = unless_holds(unless, before, role=self.device, what=_EFFECT)
        if inapplicable is not None:
            return inapplicable
        prior: dict[str, Value] = {}
        for point in dict.fromkeys([p for p, _ in self.set] + list(restore)):
            value = before[point].value
            if isinstance(value, str):
                raise DeviceError(
                    f"{self.device} {point} reads {value!r}, which cannot be written back; "
                    "check the device map's type for it"
                )
            prior[point] = value
        round_trip = self._round_trip
        timeout = _round_trip_timeout(limits[ROUND_TRIP]) if round_trip is not None else None
        decided: list[Decided] = []
        unacknowledged: str | None = None
        announce(device, prior, [p for p in restore if p not in dict(self.set)])
        try:
            try:
                for point, value in self.set:
                    if timeout is None:
                        device.write(point, value)
                        continue
                    try:
                        seconds = _command(device, point, value, timeout)
                    except DeviceTimeout as exc:
                        unacknowledged = str(exc)
                        break
                    decided.append(
                        _decide_round_trip(
                            f"{point} {ROUND_TRIP}", seconds, limits[ROUND_TRIP], device.source
                        )
                    )
                if unacknowledged is None:
                    with WAITS.waiting(f"{self.device} settling after the command", settle):
                        ctx.sleep(settle)
                    decided += self._observe(device, before, limits)
            finally:
                restored = self._restore(
                    device, prior, restore, timeout, unacknowledged is not None
                )
        except ValueError as exc:
            # The device map refused the value (not writable, or outside its declared range)
            # before anything was sent.
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        commanded = ", ".join(f"{p} {show(v)}" for p, v in self.set)
        if unacknowledged is not None:
            assert timeout is not None
            gone = gone_now(device)
            if gone is not None:
                # Not an unresponsive device: one that went away (killed, unplugged) since an
                # earlier window heard it. What went away cannot be judged.
                return Outcome(
                    verdict=Verdict.ERROR,
                    reason=f"cannot be decided: set {commanded}: not acknowledged within "
                    f"{timeout:g} s, and {gone}; restored {restored}",
                )
            measurement = Measurement(
                name=ROUND_TRIP,
                value=None,
                unit="s",
                limit=limits[ROUND_TRIP].describe(),
                verdict=Verdict.FAIL,
                source=device.source,
            )
            return Outcome(
                verdict=Verdict.FAIL,
                reason=f"set {commanded}: not acknowledged within {timeout:g} s "
                f"({unacknowledged}); restored {restored}",
                measurements=(measurement,),
            )
        verdict = worst([d.measurement.verdict for d in decided])
        texts = "; ".join(d.text for d in decided if d.measurement.verdict == verdict)
        undecided = "cannot be decided: " if verdict is Verdict.ERROR else ""
        return Outcome(
            verdict=verdict,
            reason=f"{undecided}set {commanded}, after {settle:g} s {texts}; restored {restored}",
            measurements=tuple(d.measurement for d in decided),
            series=self._curve(prior, decided, limits),
        )

    def _curve(
        self,
        prior: Mapping[str, Value],
        decided: Sequence[Decided],
        limits: Mapping[str, ResolvedLimit],
    ) -> tuple[Series, ...]:
        """A dimming step as points of its curve, for the report's plot: the commanded level
        (before, after) against each observation in percent (the level read after, or a ratio
        to before as 100 % → ratio)."""
        if len(self.set) != 1:
            return ()
        point, value = self.set[0]
        old = prior.get(point)
        percent = ureg.percent
        if not (
            isinstance(value, pint.Quantity)
            and isinstance(old, pint.Quantity)
            and value.is_compatible_with(percent)
            and old.is_compatible_with(percent)
        ):
            return ()
        x0, x1 = float(old.to(percent).magnitude), float(value.to(percent).magnitude)
        curves: list[Series] = []
        judged = {
            o.point: next((d for d in decided if d.measurement.name.startswith(o.point)), None)
            for o in self.observe
            if o.point != ROUND_TRIP
        }
        for point_observed, d in judged.items():
            if d is None:
                continue
            m, limit = d.measurement, limits.get(point_observed)
            if not isinstance(m.value, float | int) or isinstance(m.value, bool):
                continue
            scale = 100.0 if m.unit == "" else 1.0 if m.unit == "%" else None
            if scale is None:
                continue
            ratio = scale == 100.0
            curves.append(
                Series(
                    kind="steps",
                    name=m.name,
                    unit="%",
                    x_unit="%",
                    x=(x0, x1) if ratio else (x1,),
                    y=(100.0, m.value * scale) if ratio else (float(m.value),),
                    lower=_scaled(limit.lower if limit else None, scale),
                    upper=_scaled(limit.upper if limit else None, scale),
                    limit=m.limit,
                )
            )
        return tuple(curves)

    def _observe(
        self, device: Device, before: Mapping[str, Any], limits: Mapping[str, ResolvedLimit]
    ) -> list[Decided]:
        points = [o.point for o in self.observe if o.point != ROUND_TRIP]
        if not points:
            return []
        after = read_fresh(device, points)
        decided = []
        for o in self.observe:
            if o.point == ROUND_TRIP:
                continue
            reading = after[o.point]
            value: Any = reading.value
            name = o.point
            if o.ratio_to_prior:
                old = before[o.point].value
                if not (isinstance(old, pint.Quantity) and isinstance(value, pint.Quantity)):
                    raise DeviceError(
                        f"{self.device} {o.point} is not a number, so it has no ratio"
                    )
                if old.magnitude == 0:
                    raise DeviceError(
                        f"{self.device} {o.point} read 0 before the command, so the ratio to "
                        "it is undefined; start from a state where it is not 0"
                    )
                value = (value / old).to(ureg.dimensionless)
                name = f"{o.point} after / before ({show(old)} before)"
            decided.append(decide_value(name, value, limits[o.point], reading.source))
        return decided

    def _restore(
        self,
        device: Device,
        prior: Mapping[str, Value],
        restore: Sequence[str],
        timeout: float | None,
        unacknowledged: bool,
    ) -> str:
        order = [p for p, _ in reversed(self.set) if p in prior]
        order += [p for p in restore if p not in order]

        def write(point: str, value: Value) -> None:
            if timeout is None or not unacknowledged:
                device.write(point, value)
                return
            # The device acknowledged nothing: send it, then see it took effect.
            try:
                _command(device, point, value, timeout)
            except DeviceTimeout:
                back = read_fresh(device, [point])[point].value
                if back != value:
                    raise DeviceError(f"not acknowledged, and {point} reads {show(back)}") from None

        # Called from `finally`: a failure to put back replaces any error of the body, since the
        # device left commanded is what the operator must hear first.
        return put_back(self.device, order, prior, write)


def _decide_round_trip(
    name: str, seconds: float, limit: ResolvedLimit, source: Source | None
) -> Decided:
    """A round trip judged against its limit; one that came out negative (an acknowledgement
    timed before its command: clocks that disagree, or a replayed recording) or not a number
    is never judged, since it would pass any upper limit."""
    if math.isfinite(seconds) and seconds >= 0:
        return decide_value(name, ureg.Quantity(round(seconds, 3), ureg.second), limit, source)
    measurement = Measurement(
        name=name,
        value=round(seconds, 3) if math.isfinite(seconds) else None,
        unit="s",
        limit=limit.describe(),
        verdict=Verdict.ERROR,
        source=source,
    )
    what = "negative" if math.isfinite(seconds) else "not a number"
    return Decided(
        measurement,
        f"{name}: {what} ({seconds:.3f} s), so it is not judged against {limit.describe()}: "
        "the acknowledgement is timed before its command was sent (a clock that jumped, or a "
        "replay of a recording without the command's time); run it again live",
    )


def _command(device: Device, point: str, value: Value, timeout: float) -> float:
    """The round trip of an acknowledged command, in seconds."""
    if not isinstance(device, Commands):
        raise DeviceError(
            f"{device.name} speaks {device.source.scheme}, which has no acknowledged commands; "
            "a command round trip needs an MQTT device (mqtt:// or mqtts://)"
        )
    return device.command(point, value, timeout=timeout)


def _round_trip_timeout(limit: ResolvedLimit) -> float:
    """How long a command waits for its acknowledgement: the limit's upper bound."""
    if limit.upper is None:
        raise DeviceError(f"{ROUND_TRIP} needs an upper limit like '<= 5 s', not {limit.text!r}")
    return float(limit.upper.to(ureg.second).magnitude)


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> ActuateCheck | None:
    ok = True
    values: list[tuple[str, Value]] = []
    for point, text in raw["set"].items():
        value = parse_value(point, text, ctx, ("set", point))
        if value is None:
            ok = False
        else:
            values.append((point, value))
    restore = parse_restore(raw, ctx)
    items = raw["observe"]
    many = isinstance(items, list)
    observes: list[Observe] = []
    for k, item in enumerate(items if many else [items]):
        where = (*ctx.where, "observe", *((k,) if many else ()))
        observe = _observation(item, ctx, where)
        if observe is None:
            ok = False
        else:
            observes.append(observe)
    if sum(o.point == ROUND_TRIP for o in observes) > 1:
        ctx.problems.append(ctx.doc.problem((*ctx.where, "observe"), f"observe {ROUND_TRIP} once"))
        ok = False
    settle = (
        parse_duration(raw["settle"], ctx, "settle", zero=True, example="0.5 s")
        if "settle" in raw
        else None
    )
    if "settle" in raw and settle is None:
        ok = False
    unless = parse_conditions(raw.get("unless", ()), ctx)
    # `restore` and `settle` are the command's, and serve the writes of `requires` too.
    requires = parse_requires({"kind": "actuate", **raw_requires(raw)}, ctx)
    if not ok or restore is None or unless is None or requires is False:
        return None
    settled = DEFAULT_SETTLE if settle is None else settle
    if requires is not None:
        requires = dataclasses.replace(requires, restore=restore, settle=settled)
    used = (*(p for p, _ in values), *restore, *(o.point for o in observes))
    used += tuple(c.point for c in unless) + (requires.reads() if requires else ())
    optional = parse_optional(raw, ctx, used)
    if optional is None:
        return None
    return ActuateCheck(
        device=raw["device"],
        set=tuple(values),
        observe=tuple(observes),
        settle=settled,
        restore=restore,
        unless=unless,
        requires=requires,
        optional=optional,
    )


def raw_requires(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {"requires": raw["requires"]} if "requires" in raw else {}


def _observation(
    item: Mapping[str, Any], ctx: ParseContext, where: tuple[str | int, ...]
) -> Observe | None:
    point = item["point"]
    ratio = bool(item.get("ratio_to_prior", False))
    sub = ParseContext(doc=ctx.doc, where=where, parameters=ctx.parameters)
    if point == ROUND_TRIP:
        unit: Any = ureg.second
    elif point not in POINTS:
        ctx.problems.append(
            ctx.doc.problem((*where, "point"), f"{unknown_point_message(point)}, or {ROUND_TRIP}")
        )
        return None
    else:
        unit_text = POINTS[point].unit
        unit = None if unit_text in ("text", "flag") else parse_unit(unit_text)
        if ratio:
            if unit is None:
                ctx.problems.append(
                    ctx.doc.problem(
                        (*where, "ratio_to_prior"), f"{point} is not a number; it has no ratio"
                    )
                )
                return None
            unit = ureg.dimensionless
    limit = sub.limit(item["limit"], unit=unit, subject=point)
    ctx.problems.extend(sub.problems)
    if limit is None:
        return None
    if point == ROUND_TRIP and limit.upper is None:
        ctx.problems.append(
            ctx.doc.problem(
                (*where, "limit"),
                f"{limit.text!r} has no upper bound; a round trip is limited like '<= 5 s'",
            )
        )
        return None
    return Observe(point=point, limit=limit, ratio_to_prior=ratio)


def _scaled(bound: pint.Quantity[Any] | None, scale: float) -> float | None:
    """A limit's bound in percent: a plain ratio times 100, a percentage as it is."""
    if bound is None:
        return None
    if bound.is_compatible_with(ureg.percent):
        return (
            float(bound.to(ureg.percent).magnitude)
            if scale == 1.0
            else (float(bound.to(ureg.dimensionless).magnitude) * 100.0)
        )
    return None
