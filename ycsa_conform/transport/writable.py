"""Writable ranges: the one rule every transport applies before it sends a value to a device.

A device map declares `writable: LOW .. HIGH` on a point; a write outside it, in a unit of the
wrong dimension, or without a unit where the unit matters, is refused before anything is sent.
No protocol stack is imported here, so MQTT-only runs do not load pymodbus.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pint

from ycsa_conform.limit import Limit, ResolvedLimit
from ycsa_conform.units import format_quantity, format_unit, ureg

__all__ = ["checked_magnitude", "within"]


def within(limit: ResolvedLimit, value: pint.Quantity[Any]) -> bool:
    """True when `value` lies inside the range `limit` (a point's writable range)."""
    if limit.lower is not None and not (
        value >= limit.lower if limit.lower_inclusive else value > limit.lower
    ):
        return False
    return limit.upper is None or (
        value <= limit.upper if limit.upper_inclusive else value < limit.upper
    )


def checked_magnitude(
    what: str,
    unit: pint.Unit,
    writable: Limit,
    value: pint.Quantity[Any] | bool,
    path: Path,
) -> float:
    """The magnitude of `value` in `unit`, refused (ValueError starting `what`) outside `writable`.

    `path` is the device map that declares the range, named in the refusal.
    """
    if isinstance(value, bool):
        raise ValueError(f"{what}: it is a number; give a quantity, not {value!r}")
    if isinstance(value, pint.Quantity):
        quantity = value
    elif unit == ureg.dimensionless:
        quantity = ureg.Quantity(float(value), ureg.dimensionless)
    else:
        # A bare 50 for a '%' point would be read as 5000 %: insist on the unit.
        raise ValueError(f"{what}: give a quantity with a unit, like '{value} {format_unit(unit)}'")
    try:
        magnitude = float(quantity.to(unit).magnitude)
    except pint.DimensionalityError:
        raise ValueError(
            f"{what}: {format_quantity(quantity)} is not in a unit compatible with "
            f"{format_unit(unit)}"
        ) from None
    if not math.isfinite(magnitude):
        raise ValueError(f"{what}: {format_quantity(quantity)} cannot be sent to a device")
    try:
        limit = writable.resolve({})
    except KeyError as exc:
        raise ValueError(f"{what}: its writable range names parameter {exc}") from None
    given = ureg.Quantity(magnitude, unit)
    if not within(limit, given):
        raise ValueError(
            f"{what} = {format_quantity(given)}: outside the writable range "
            f"{writable.text!r} declared in {path}"
        )
    return magnitude
