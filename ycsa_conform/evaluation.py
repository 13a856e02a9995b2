"""Pure evaluation: a value against a resolved limit gives a verdict and a reason. No I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pint

from .limit import ResolvedLimit
from .result import Verdict
from .units import format_quantity

__all__ = ["Judgement", "judge"]

Value = pint.Quantity[Any] | str | bool


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    text: str  # "0.82 is below 0.9"


def judge(value: Value, limit: ResolvedLimit | None) -> Judgement:
    """Decide one value. Without a limit, a value that could be read passes ('readable').

    A number that is not finite (NaN, ±inf) is never judged, with or without a limit: every
    comparison with NaN is false, so "NaN below 0.9" is false and NaN would pass ">= 0.9".
    """
    shown = _show(value)
    if isinstance(value, pint.Quantity) and not math.isfinite(float(value.magnitude)):
        return Judgement(Verdict.ERROR, _not_finite(value, limit))
    if limit is None or (limit.one_of is None and limit.lower is None and limit.upper is None):
        return Judgement(Verdict.PASS, f"{shown} (read)")
    for bound in (limit.lower, limit.upper, limit.marginal):
        if bound is not None and math.isnan(float(bound.magnitude)):
            return Judgement(
                Verdict.ERROR,
                f"the limit {limit.text!r} resolves to a bound that is not a number; "
                "give its parameter a number",
            )
    if limit.one_of is not None:
        return _judge_one_of(value, limit)
    if not isinstance(value, pint.Quantity):
        return Judgement(
            Verdict.ERROR, f"{shown} is not a number, so it cannot meet {limit.text!r}"
        )
    reference = limit.lower if limit.lower is not None else limit.upper
    assert reference is not None
    if not value.is_compatible_with(reference):
        return Judgement(
            Verdict.ERROR,
            f"{shown} cannot be compared with {format_quantity(reference)} (different dimensions)",
        )
    value = value.to(reference.units)
    shown = format_quantity(value)
    if limit.lower is not None:
        low = limit.lower
        below = value < low if limit.lower_inclusive else value <= low
        if below:
            word = "below" if limit.lower_inclusive else "not above"
            return Judgement(Verdict.FAIL, f"{shown} is {word} {format_quantity(low)}")
    if limit.upper is not None:
        high = limit.upper.to(value.units)
        above = value > high if limit.upper_inclusive else value >= high
        if above:
            word = "above" if limit.upper_inclusive else "not below"
            return Judgement(Verdict.FAIL, f"{shown} is {word} {format_quantity(high)}")
    if limit.marginal is not None:
        band = limit.marginal
        width = _band_width(band, value)
        for bound, side in ((limit.lower, "lower"), (limit.upper, "upper")):
            if bound is not None and abs(value.magnitude - bound.to(value.units).magnitude) < width:
                return Judgement(
                    Verdict.MARGINAL,
                    f"{shown} passes, but is within {format_quantity(band)} of the {side} "
                    f"limit {format_quantity(bound)}",
                )
    return Judgement(Verdict.PASS, f"{shown} meets {limit.describe()}")


def _not_finite(value: pint.Quantity[Any], limit: ResolvedLimit | None) -> str:
    magnitude = float(value.magnitude)
    what = "a number" if math.isnan(magnitude) else "a finite number"
    against = "" if limit is None else f" against {limit.describe()}"
    return (
        f"value is not {what} ({magnitude}), so it is not judged{against}; check the device "
        "map's type, word order and scale for it"
    )


def _judge_one_of(value: Value, limit: ResolvedLimit) -> Judgement:
    assert limit.one_of is not None
    allowed = ", ".join(o if isinstance(o, str) else format_quantity(o) for o in limit.one_of)
    for option in limit.one_of:
        if isinstance(option, str) and not isinstance(value, pint.Quantity):
            if str(value) == option:
                return Judgement(Verdict.PASS, f"{_show(value)} is one of [{allowed}]")
        elif (
            isinstance(option, pint.Quantity)
            and isinstance(value, pint.Quantity)
            and value.is_compatible_with(option)
            and value.to(option.units) == option
        ):
            return Judgement(Verdict.PASS, f"{_show(value)} is one of [{allowed}]")
    return Judgement(Verdict.FAIL, f"{_show(value)} is not one of [{allowed}]")


def _is_bare(q: pint.Quantity[Any]) -> bool:
    return bool(q.dimensionless) and q.units == q._REGISTRY.dimensionless


def _band_width(band: pint.Quantity[Any], value: pint.Quantity[Any]) -> float:
    """The band as a difference, in the value's unit. A bare number ('marginal 0.02') is in the
    value's unit; a band in the value's own unit is taken as is, which also keeps offset units
    right ('marginal 2 degC' is a 2 K difference, not 275.15 K)."""
    if _is_bare(band) or band.units == value.units:
        return float(band.magnitude)
    if band.units == band._REGISTRY.degC or band.units == band._REGISTRY.degF:
        delta = band._REGISTRY.Quantity(band.magnitude, f"delta_{band.units}")
        return float(delta.to(f"delta_{value.units}").magnitude)
    return float(band.to(value.units).magnitude)


def _show(value: Value) -> str:
    if isinstance(value, pint.Quantity):
        return format_quantity(value)
    return repr(value) if isinstance(value, str) else str(value)
