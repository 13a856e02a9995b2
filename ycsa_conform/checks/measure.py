"""`measure`: read points from a device and compare them with a limit.

check:
  kind: measure
  device: lamp                     # a device role of the target
  point: power_factor              # or points: [supply_voltage, supply_current]
  relative_to: target_light_command   # optional: judge point - other point ('host_clock')
  limit: ">= 0.90 marginal 0.02"   # optional: without it, the points must be readable
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
from ycsa_conform.transport import Reading
from ycsa_conform.units import Quantity, parse_unit, ureg

from .base import CheckContext, Outcome, ParseContext, combine, decide_value

__all__ = ["HOST_CLOCK", "MeasureCheck", "parse"]

HOST_CLOCK = "host_clock"


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasureCheck:
    device: str
    points: tuple[str, ...]
    relative_to: str | None
    limit: Limit | None

    @property
    def kind(self) -> str:
        return "measure"

    def needs(self) -> tuple[str, ...]:
        return (self.device,)

    def reads(self) -> dict[str, tuple[str, ...]]:
        """The points the check reads, by device role (a run polls them together)."""
        extra = (self.relative_to,) if self.relative_to not in (None, HOST_CLOCK) else ()
        return {self.device: (*self.points, *extra)}

    def run(self, ctx: CheckContext) -> Outcome:
        device = ctx.device(self.device)
        limit = self.limit.resolve(ctx.parameters) if self.limit else None
        wanted = self.reads()[self.device]
        readings = device.read_many(wanted)
        for result in readings.values():
            if isinstance(result, DeviceError):
                raise result
        decided = []
        for point in self.points:
            reading = readings[point]
            assert isinstance(reading, Reading)  # errors were raised above
            value = reading.value
            name = point
            reference: pint.Quantity[Any] | None = None
            if self.relative_to == HOST_CLOCK:
                # The host clock when the answer arrived, so replay judges the recorded moment.
                reference = Quantity(reading.at, "s")
            elif self.relative_to is not None:
                ref = readings[self.relative_to]
                assert isinstance(ref, Reading)
                if not isinstance(ref.value, pint.Quantity):
                    raise TypeError(f"{self.relative_to} is not a number")
                reference = ref.value
            if reference is not None and isinstance(value, pint.Quantity):
                value = value - reference.to(value.units)
                name = f"{point} - {self.relative_to}"
            decided.append(decide_value(name, value, limit, reading.source))
        return combine(decided)


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
    units = {parse_unit(POINTS[p].unit) for p in points if POINTS[p].unit not in ("text", "flag")}
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
    if "limit" in raw:
        if len(units) > 1:
            ctx.problem(
                "points",
                "one limit cannot apply to points of different dimensions; split the check",
            )
            return None
        limit = ctx.limit(raw["limit"], unit=next(iter(units), None), subject=", ".join(points))
        if limit is None:
            return None
    return MeasureCheck(device=raw["device"], points=points, relative_to=relative_to, limit=limit)
