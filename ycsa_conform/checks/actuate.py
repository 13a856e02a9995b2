"""`actuate`: command a device, observe the effect, and put the device back as it was.

check:
  kind: actuate
  device: lamp                                    # a device role of the target
  set: {target_light_command: 50 %}               # writable points and the values to write
  observe: {point: actual_light_state, limit: "45 % .. 55 %"}
  settle: 0.5 s                                   # optional: wait before observing (default 1 s)

The check reads the prior value of every point it sets, writes the new values, waits `settle`,
reads the observed point and judges it, and always writes the prior values back, even when a
write or the observation fails (a failed restore is an error naming the point). Reads after a
write are fresh: the run's polled device drops its poll on every write. The device map decides
which points are writable and inside which range (transport refuses anything else).

It commands devices only on a bench site or with --allow-actuation; on field devices without
it the verdict is not applicable, with the option in the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pint

from ycsa_conform.devicemap import unknown_point_message
from ycsa_conform.errors import DeviceError
from ycsa_conform.limit import Limit
from ycsa_conform.point import POINTS
from ycsa_conform.result import Verdict
from ycsa_conform.transport import Device
from ycsa_conform.units import UnitError, format_quantity, parse_quantity, parse_unit, ureg

from .base import CheckContext, Outcome, ParseContext, decide_value

__all__ = ["DEFAULT_SETTLE", "ActuateCheck", "parse"]

DEFAULT_SETTLE = 1.0  # s; a lamp driver ramps to a new dimming level within about a second

Value = pint.Quantity[Any] | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ActuateCheck:
    device: str
    set: tuple[tuple[str, Value], ...]
    observe: str
    limit: Limit
    settle: float  # s

    @property
    def kind(self) -> str:
        return "actuate"

    def needs(self) -> tuple[str, ...]:
        return (self.device,)

    def run(self, ctx: CheckContext) -> Outcome:
        if not ctx.actuation_allowed:
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason="actuation is not allowed on field devices; "
                f"run with --allow-actuation to let it command {self.device}",
            )
        limit = self.limit.resolve(ctx.parameters)
        device = ctx.device(self.device)
        prior: dict[str, Value] = {}
        for point, _ in self.set:
            value = device.read(point).value
            if isinstance(value, str):
                raise DeviceError(
                    f"{self.device} {point} reads {value!r}, which cannot be written back; "
                    "check the device map's type for it"
                )
            prior[point] = value
        try:
            try:
                for point, value in self.set:
                    device.write(point, value)
                ctx.sleep(self.settle)
                reading = device.read(self.observe)
            finally:
                restored = self._restore(device, prior)
        except ValueError as exc:
            # The device map refused the value (not writable, or outside its declared range)
            # before anything was sent.
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        decided = decide_value(self.observe, reading.value, limit, reading.source)
        commanded = ", ".join(f"{p} {_show(v)}" for p, v in self.set)
        return Outcome(
            verdict=decided.measurement.verdict,
            reason=f"set {commanded}, after {self.settle:g} s {decided.text}; restored {restored}",
            measurements=(decided.measurement,),
        )

    def _restore(self, device: Device, prior: Mapping[str, Value]) -> str:
        failed: list[str] = []
        for point, value in reversed(list(prior.items())):
            try:
                device.write(point, value)
            except (DeviceError, ValueError) as exc:
                failed.append(f"{point} to {_show(value)} ({exc})")
        if failed:
            # Raised from `finally`, so it also replaces an error of the body: the device left
            # commanded is what the operator must hear first.
            raise DeviceError(
                f"{self.device} could not be restored: {'; '.join(failed)}; "
                "set it back by hand before leaving the site"
            )
        return ", ".join(f"{p} to {_show(v)}" for p, v in prior.items())


def _show(value: Any) -> str:
    return format_quantity(value) if isinstance(value, pint.Quantity) else str(value).lower()


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> ActuateCheck | None:
    ok = True
    values: list[tuple[str, Value]] = []
    for point, text in raw["set"].items():
        value = _value(point, text, ctx)
        if value is None:
            ok = False
        else:
            values.append((point, value))
    observe = raw["observe"]["point"]
    limit = None
    if observe not in POINTS:
        ctx.problems.append(
            ctx.doc.problem((*ctx.where, "observe", "point"), unknown_point_message(observe))
        )
        ok = False
    else:
        unit_text = POINTS[observe].unit
        unit = None if unit_text in ("text", "flag") else parse_unit(unit_text)
        sub = ParseContext(doc=ctx.doc, where=(*ctx.where, "observe"), parameters=ctx.parameters)
        limit = sub.limit(raw["observe"]["limit"], unit=unit, subject=observe)
        ctx.problems.extend(sub.problems)
    settle = _settle(raw, ctx)
    if not ok or limit is None or settle is None:
        return None
    return ActuateCheck(
        device=raw["device"], set=tuple(values), observe=observe, limit=limit, settle=settle
    )


def _value(point: str, text: Any, ctx: ParseContext) -> Value | None:
    where = (*ctx.where, "set", point)
    if point not in POINTS:
        ctx.problems.append(ctx.doc.problem(where, unknown_point_message(point)))
        return None
    unit = POINTS[point].unit
    if unit == "flag":
        if isinstance(text, bool):
            return text
        ctx.problems.append(ctx.doc.problem(where, f"{point} is on/off; write true or false"))
        return None
    if unit == "text" or isinstance(text, bool):
        ctx.problems.append(
            ctx.doc.problem(
                where, f"{point} cannot be written with {text!r}; give a value in {unit}"
            )
        )
        return None
    try:
        value = parse_quantity(text)
    except UnitError as exc:
        ctx.problems.append(ctx.doc.problem(where, f"{exc}; write it like '50 {unit}'"))
        return None
    if not value.is_compatible_with(parse_unit(unit)):
        ctx.problems.append(
            ctx.doc.problem(
                where, f"{text!r} has the wrong dimension for {point}; give it in {unit}"
            )
        )
        return None
    return value


def _settle(raw: Mapping[str, Any], ctx: ParseContext) -> float | None:
    if "settle" not in raw:
        return DEFAULT_SETTLE
    try:
        q = parse_quantity(raw["settle"])
    except UnitError:
        q = None
    if q is None or q.units == ureg.dimensionless or not q.is_compatible_with(ureg.second):
        ctx.problem("settle", f"{raw['settle']!r} is not a duration; write it like '0.5 s'")
        return None
    seconds = float(q.to(ureg.second).magnitude)
    if seconds < 0:
        ctx.problem("settle", f"{raw['settle']!r} is negative; give 0 s or more")
        return None
    return seconds
