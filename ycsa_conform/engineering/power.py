"""Power-quality figures for the supply of a pole: voltage deviation, unbalance, THD, 95 % values,
the share of 10-min values within a band over a period, and the voltage drop along the feeder.

Every limit here is copied from docs/sources.md §2 with its confidence tag
(M = from memory, believed correct). The functions are pure: quantities or floats in, a
quantity or float out; judging against a limit is the check kinds' business.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import pint

from ycsa_conform.units import Quantity

__all__ = [
    "CABLE_REACTANCE",
    "HARMONIC_LIMITS_380V",
    "OPERATING_TEMPERATURE",
    "RESISTIVITY_20C",
    "SUPPLY_VOLTAGE_DEVIATION",
    "TEMPERATURE_COEFFICIENT",
    "UNBALANCE_LIMIT",
    "UNBALANCE_SHORT_TERM_LIMIT",
    "Conductor",
    "Coverage",
    "HarmonicLimits",
    "PeriodShare",
    "Supply",
    "conductor_resistance",
    "feeder_end_drop_closed_form",
    "feeder_voltage_drop",
    "interval_coverage",
    "load_current",
    "period_share",
    "probability_value_95",
    "total_harmonic_distortion",
    "uniform_feeder",
    "voltage_deviation",
    "voltage_drop",
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


# -- compliance as a share of the period (GB/T 12325) ----------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Coverage:
    """Which aggregation intervals a record of time-stamped values covers.

    `start` is the beginning of the first interval (a 10-min value is stamped at its end, as
    IEC 61000-4-30 class A recorders export it), `end` the end of the last; `gaps` lists each
    run of missing intervals as (end of the value before it, stamp of the value after it).
    """

    start: datetime
    end: datetime
    interval: timedelta
    values: int
    gaps: tuple[tuple[datetime, datetime], ...]

    @property
    def missing(self) -> int:
        """Intervals between the first and the last value that have no value."""
        return sum(round((after - before) / self.interval) - 1 for before, after in self.gaps)

    @property
    def span(self) -> timedelta:
        return self.end - self.start


def interval_coverage(times: Sequence[datetime], interval: timedelta) -> Coverage:
    """The coverage of values stamped `times`, one per `interval`.

    Stamps must rise and lie on whole intervals from the first; a step of two intervals or
    more is a gap. A step shorter than the interval, or not a whole number of intervals, means
    the export is not one value per interval (1-min values, two exports joined) and raises
    ValueError naming the place: such a record is not judged as a share of 10-min values.
    """
    if interval <= timedelta(0):
        raise ValueError(f"interval {interval} must be above zero")
    if not times:
        raise ValueError("no values: a record needs at least one time-stamped value")
    gaps: list[tuple[datetime, datetime]] = []
    for i, (before, after) in enumerate(itertools.pairwise(times), start=1):
        step = after - before
        if step <= timedelta(0):
            raise ValueError(
                f"value {i + 1} ({after}) does not come after value {i} ({before}); "
                "sort the record by time and remove repeated rows"
            )
        if step % interval != timedelta(0):
            raise ValueError(
                f"values {i} and {i + 1} ({before}, {after}) are {step} apart, not a whole "
                f"number of {interval} intervals; export one aggregated value per interval"
            )
        if step > interval:
            gaps.append((before, after))
    return Coverage(
        start=times[0] - interval,
        end=times[-1],
        interval=interval,
        values=len(times),
        gaps=tuple(gaps),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodShare:
    """The share of values within a band over an assessment period (GB/T 12325, U).

    `required` is the number of intervals the period holds (144 ten-minute values a day). A
    record with fewer values cannot show the share over the period: `bounds` gives the share
    the period would have if every missing value had been outside (low) or inside (high).
    """

    within: int
    values: int
    required: int

    @property
    def share(self) -> float:
        """Share of the record's values within the band, in %."""
        return 100.0 * self.within / self.values

    @property
    def complete(self) -> bool:
        return self.values >= self.required

    @property
    def bounds(self) -> tuple[float, float]:
        """(lowest, highest) share over the period, in %, whatever the missing values were."""
        total = max(self.values, self.required)
        missing = total - self.values
        return 100.0 * self.within / total, 100.0 * (self.within + missing) / total


def period_share(inside: Sequence[bool], *, required: int) -> PeriodShare:
    """Count the values within the band (`inside`, one flag per value) against the period."""
    if not inside:
        raise ValueError("the share needs at least one value")
    if required < 1:
        raise ValueError(f"the period must hold at least one interval, not {required}")
    return PeriodShare(within=sum(inside), values=len(inside), required=required)


# -- voltage drop along the supply cable ------------------------------------------------------


class Conductor(StrEnum):
    COPPER = "Cu"
    ALUMINIUM = "Al"


# Resistivity at 20 °C in Ω·mm²/m and its temperature coefficient per K: annealed copper
# 1/58 = 0.017241 (IEC 60028, M), hard-drawn aluminium 0.028264 (IEC 60889, M); α20 0.00393 and
# 0.00403 /K (M). GB/T 3956 gives maximum conductor resistances per size (not transcribed here):
# they are within a few % of ρ/S for the common sizes, stranding included (U).
RESISTIVITY_20C: dict[Conductor, float] = {
    Conductor.COPPER: 0.017241,
    Conductor.ALUMINIUM: 0.028264,
}
TEMPERATURE_COEFFICIENT: dict[Conductor, float] = {
    Conductor.COPPER: 0.00393,
    Conductor.ALUMINIUM: 0.00403,
}
# Conductor temperature the drop is computed at: 70 °C, the limit of PVC insulation (M); XLPE
# runs to 90 °C. A design at the operating temperature is the conservative (higher R) choice.
OPERATING_TEMPERATURE = Quantity(70.0, "degC")
# Reactance of low-voltage multi-core cable, ≈ 0.08 Ω/km (typical practice, I): it adds
# little at cos φ ≥ 0.9 on small sections, where R dominates.
CABLE_REACTANCE = Quantity(0.08, "ohm/km")


class Supply(StrEnum):
    SINGLE_PHASE = "single-phase"  # line and neutral: the current goes out and back, k = 2
    THREE_PHASE = "three-phase"  # balanced: drop of the line-to-line voltage, k = √3


def conductor_resistance(
    material: Conductor | str,
    cross_section: pint.Quantity[Any],
    *,
    temperature: pint.Quantity[Any] = OPERATING_TEMPERATURE,
) -> pint.Quantity[Any]:
    """R per length of one conductor = ρ20·(1 + α20·(θ − 20 °C)) / S, in Ω/km."""
    conductor = Conductor(material)
    area = float(cross_section.to("mm^2").magnitude)
    if not area > 0:
        raise ValueError(f"cross-section {cross_section} must be above zero")
    theta = float(temperature.to("degC").magnitude)
    rho = RESISTIVITY_20C[conductor] * (1.0 + TEMPERATURE_COEFFICIENT[conductor] * (theta - 20.0))
    return Quantity(rho / area * 1000.0, "ohm/km")  # Ω·mm²/m ÷ mm² = Ω/m


def _k(supply: Supply | str) -> float:
    return 2.0 if Supply(supply) is Supply.SINGLE_PHASE else math.sqrt(3.0)


def load_current(
    power: pint.Quantity[Any],
    voltage: pint.Quantity[Any],
    power_factor: float,
    supply: Supply | str,
) -> pint.Quantity[Any]:
    """I = P/(U·cos φ) single-phase (U line to neutral), P/(√3·U·cos φ) three-phase (U line
    to line)."""
    if not 0 < power_factor <= 1:
        raise ValueError(f"power factor {power_factor} must be above 0 and at most 1")
    phases = 1.0 if Supply(supply) is Supply.SINGLE_PHASE else math.sqrt(3.0)
    current: pint.Quantity[Any] = (power / (phases * voltage * power_factor)).to("A")
    return current


def voltage_drop(
    current: pint.Quantity[Any],
    length: pint.Quantity[Any],
    resistance: pint.Quantity[Any],
    reactance: pint.Quantity[Any],
    power_factor: float,
    supply: Supply | str,
) -> pint.Quantity[Any]:
    """ΔU = k·I·L·(R·cos φ + X·sin φ), k = 2 single-phase, √3 three-phase (line to line).

    The usual approximation of the design manuals (M): the drop in phase with the voltage,
    valid while ΔU is a small part of U. R and X per length of one conductor.
    """
    if not 0 < power_factor <= 1:
        raise ValueError(f"power factor {power_factor} must be above 0 and at most 1")
    sin_phi = math.sqrt(1.0 - power_factor * power_factor)
    per_length = resistance * power_factor + reactance * sin_phi
    drop: pint.Quantity[Any] = (_k(supply) * current * length * per_length).to("V")
    return drop


def feeder_voltage_drop(
    loads: Sequence[tuple[pint.Quantity[Any], pint.Quantity[Any]]],
    resistance: pint.Quantity[Any],
    reactance: pint.Quantity[Any],
    power_factor: float,
    supply: Supply | str,
) -> pint.Quantity[Any]:
    """Drop at the far end of a feeder with loads along it: (current, cable length from the
    cabinet) per pole. Each cable section carries the current of every pole beyond it, so the
    drop at the last pole is Σ k·I_i·L_i·(R cos φ + X sin φ) over the poles (the moment method:
    one uniform cable, one power factor)."""
    if not loads:
        raise ValueError("a feeder needs at least one load")
    total: pint.Quantity[Any] = Quantity(0.0, "V")
    for current, length in loads:
        total = total + voltage_drop(current, length, resistance, reactance, power_factor, supply)
    return total


def uniform_feeder(
    poles: int,
    first: pint.Quantity[Any],
    spacing: pint.Quantity[Any],
    current: pint.Quantity[Any],
) -> list[tuple[pint.Quantity[Any], pint.Quantity[Any]]]:
    """(current, cable length from the cabinet) of `poles` equal loads, the first at `first`
    and the others every `spacing` after it: the loads of feeder_voltage_drop."""
    if poles < 1:
        raise ValueError(f"a feeder needs at least one pole, not {poles}")
    return [(current, first + i * spacing) for i in range(poles)]


def feeder_end_drop_closed_form(
    poles: int,
    first: pint.Quantity[Any],
    spacing: pint.Quantity[Any],
    current: pint.Quantity[Any],
    resistance: pint.Quantity[Any],
    reactance: pint.Quantity[Any],
    power_factor: float,
    supply: Supply | str,
) -> pint.Quantity[Any]:
    """The same drop for n equal loads in closed form: k·I·(n·L1 + s·n(n−1)/2)·(R cos φ + X sin φ);
    the sum of the moments I·L_i. A check on feeder_voltage_drop, and the hand formula of
    docs/engineering/power.md."""
    if poles < 1:
        raise ValueError(f"a feeder needs at least one pole, not {poles}")
    moment_length = poles * first + spacing * (poles * (poles - 1) / 2)
    return voltage_drop(current, moment_length, resistance, reactance, power_factor, supply)
