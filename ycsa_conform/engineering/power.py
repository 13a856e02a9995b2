"""Power-quality figures for the supply of a pole: voltage deviation, unbalance, THD, 95 % values.

Every limit here is copied from ../shared/reference/standards.md §2 with its confidence tag
(M = from memory, believed correct). The functions are pure: quantities or floats in, a
quantity or float out; judging against a limit is the check kinds' business.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pint

from ycsa_conform.units import Quantity

__all__ = [
    "HARMONIC_LIMITS_380V",
    "SUPPLY_VOLTAGE_DEVIATION",
    "UNBALANCE_LIMIT",
    "UNBALANCE_SHORT_TERM_LIMIT",
    "HarmonicLimits",
    "probability_value_95",
    "total_harmonic_distortion",
    "voltage_deviation",
    "voltage_unbalance",
]

# GB/T 12325-2008 (M): allowed supply-voltage deviation, (lowest, highest) in % of nominal.
SUPPLY_VOLTAGE_DEVIATION: dict[float, tuple[float, float]] = {
    220.0: (-10.0, 7.0),  # single-phase 220 V: +7 % / -10 % (M)
    380.0: (-7.0, 7.0),  # three-phase 380 V: ±7 % (M)
}


@dataclass(frozen=True, slots=True, kw_only=True)
class HarmonicLimits:
    """Voltage harmonic limits of one supply level, in % of the fundamental."""

    thd: pint.Quantity[Any]
    odd: pint.Quantity[Any]
    even: pint.Quantity[Any]
    source: str = "GB/T 14549"
    confidence: str = "M"


# GB/T 14549 (M), 0.38 kV: THDu ≤ 5 %, each odd harmonic ≤ 4 %, each even ≤ 2 %.
HARMONIC_LIMITS_380V = HarmonicLimits(
    thd=Quantity(5.0, "percent"), odd=Quantity(4.0, "percent"), even=Quantity(2.0, "percent")
)
# GB/T 15543 (M): negative-sequence unbalance ≤ 2 % (95 % value), short-term ≤ 4 %.
UNBALANCE_LIMIT = Quantity(2.0, "percent")
UNBALANCE_SHORT_TERM_LIMIT = Quantity(4.0, "percent")


def voltage_deviation(
    measured: pint.Quantity[Any], nominal: pint.Quantity[Any]
) -> pint.Quantity[Any]:
    """δU = (U − U_N) / U_N in % (GB/T 12325-2008, M); limits in SUPPLY_VOLTAGE_DEVIATION."""
    if nominal.magnitude <= 0:
        raise ValueError(f"nominal voltage {nominal} must be above zero")
    deviation: pint.Quantity[Any] = ((measured - nominal) / nominal).to("percent")
    return deviation


def voltage_unbalance(
    u12: pint.Quantity[Any], u23: pint.Quantity[Any], u31: pint.Quantity[Any]
) -> pint.Quantity[Any]:
    """Negative-sequence unbalance u2 = U2/U1 in % from the three line-to-line magnitudes.

    The magnitude-only formula of IEC 61000-4-30 class A analysers and GB/T 15543 (M)::

        β  = (U12⁴ + U23⁴ + U31⁴) / (U12² + U23² + U31²)²
        u2 = √[(1 − √(3 − 6β)) / (1 + √(3 − 6β))] × 100 %

    Line-to-line phasors always close a triangle (no zero sequence), so three magnitudes fix
    U2/U1 exactly: this equals the symmetrical-component ratio, not an approximation. Phase-to-
    neutral magnitudes would not do (their zero sequence is unknown from magnitudes).
    """
    volts = [float(u.to("V").magnitude) for u in (u12, u23, u31)]
    if any(v <= 0 or not math.isfinite(v) for v in volts):
        raise ValueError(f"line-to-line voltages must be finite and above zero, not {volts}")
    a, b, c = sorted(volts)
    if a + b < c:
        raise ValueError(
            f"line-to-line voltages {volts} V cannot close a triangle (the largest exceeds "
            "the sum of the others); check the analyser's wiring and channels"
        )
    squares = sum(v * v for v in volts)
    beta = sum(v**4 for v in volts) / (squares * squares)
    root = math.sqrt(max(0.0, 3.0 - 6.0 * beta))  # 3 − 6β ∈ [0, 1]; clamp rounding below 0
    return Quantity(100.0 * math.sqrt((1.0 - root) / (1.0 + root)), "percent")


def total_harmonic_distortion(
    harmonics: Sequence[pint.Quantity[Any]], fundamental: pint.Quantity[Any]
) -> pint.Quantity[Any]:
    """THD = √(Σ U_h²) / U_1 in %, over the harmonic magnitudes given (GB/T 14549, M).

    Give the harmonics h = 2 … H in volts with the fundamental in volts, or in % of the
    fundamental with `fundamental` = 100 %. GB/T 14549 sums to the 25th harmonic (M); fewer
    orders give a lower THD, so say which orders a record holds.
    """
    if fundamental.magnitude <= 0:
        raise ValueError(f"fundamental {fundamental} must be above zero")
    total = sum(float((h / fundamental).to("").magnitude) ** 2 for h in harmonics)
    return Quantity(100.0 * math.sqrt(total), "percent")


def probability_value_95(values: Sequence[float]) -> float:
    """The 95 % probability value of a set of 10-min values (GB/T 14549, GB/T 15543; M).

    Method of the standards: sort the values from largest down, discard the largest 5 %
    (⌊0.05·n⌋ values) and take the largest that remains. This is the nearest-rank 95th
    percentile, the ⌈0.95·n⌉-th smallest value, with no interpolation: for one day of 144
    ten-minute values it is the 137th smallest (the 7 largest are discarded). With fewer than
    20 values nothing is discarded and the result is the maximum.
    """
    if not values:
        raise ValueError("the 95 % value needs at least one value")
    if any(not math.isfinite(v) for v in values):
        raise ValueError("the 95 % value needs finite values")
    ordered = sorted(values)
    discarded = len(ordered) * 5 // 100  # ⌊0.05·n⌋ in integers, free of float rounding
    return ordered[len(ordered) - 1 - discarded]
