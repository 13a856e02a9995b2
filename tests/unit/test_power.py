"""engineering/power.py against hand-worked cases and the symmetrical-component definition."""

from __future__ import annotations

import cmath
import math

import pytest

from ycsa_conform.engineering.power import (
    HARMONIC_LIMITS_380V,
    SUPPLY_VOLTAGE_DEVIATION,
    UNBALANCE_LIMIT,
    UNBALANCE_SHORT_TERM_LIMIT,
    probability_value_95,
    total_harmonic_distortion,
    voltage_deviation,
    voltage_unbalance,
)
from ycsa_conform.units import Quantity

# -- voltage deviation (GB/T 12325-2008) -----------------------------------------------------


@pytest.mark.parametrize(
    ("measured", "nominal", "percent"),
    [
        ("406.6 V", "380 V", 7.0),
        ("353.4 V", "380 V", -7.0),
        ("235.4 V", "220 V", 7.0),
        ("198 V", "220 V", -10.0),
        ("0.4 kV", "380 V", 5.263157894736842),
    ],
)
def test_voltage_deviation_is_percent_of_nominal(
    measured: str, nominal: str, percent: float
) -> None:
    deviation = voltage_deviation(Quantity(measured), Quantity(nominal))
    assert str(deviation.units) == "percent"
    assert deviation.magnitude == pytest.approx(percent)


def test_voltage_deviation_refuses_a_zero_nominal() -> None:
    with pytest.raises(ValueError, match="must be above zero"):
        voltage_deviation(Quantity("230 V"), Quantity("0 V"))


def test_supply_voltage_limits_are_those_of_the_reference() -> None:
    assert SUPPLY_VOLTAGE_DEVIATION[220.0] == (-10.0, 7.0)
    assert SUPPLY_VOLTAGE_DEVIATION[380.0] == (-7.0, 7.0)


# -- unbalance (GB/T 15543, IEC 61000-4-30 magnitude formula) ---------------------------------


def test_unbalance_of_a_balanced_supply_is_zero() -> None:
    u = Quantity("380 V")
    assert voltage_unbalance(u, u, u).magnitude == pytest.approx(0.0, abs=1e-6)


def test_unbalance_matches_the_hand_worked_case() -> None:
    # U12 = 400 V, U23 = U31 = 380 V:
    #   ΣU²  = 160000 + 2·144400             = 448800
    #   ΣU⁴  = 2.56e10 + 2·2.085136e10        = 6.730272e10
    #   β    = 6.730272e10 / 448800²         = 0.3341388
    #   √(3 − 6β) = √0.9951671               = 0.9975806
    #   u2   = √(0.0024194 / 1.9975806)·100 % = 3.480 %
    # (the NEMA shortcut, largest deviation from the mean ÷ the mean, gives 3.45 %)
    u2 = voltage_unbalance(Quantity("400 V"), Quantity("380 V"), Quantity("380 V"))
    assert u2.magnitude == pytest.approx(3.480, abs=5e-4)
    assert str(u2.units) == "percent"


def _line_to_line_from_phases(
    phases: tuple[complex, complex, complex],
) -> tuple[complex, complex, complex]:
    va, vb, vc = phases
    return va - vb, vb - vc, vc - va


@pytest.mark.parametrize(
    "phases",
    [
        # magnitude V, angle degrees per phase: an unbalanced load and a phase-angle error
        ((230, 0), (220, -118), (225, 121)),
        ((240, 0), (205, -125), (231, 118)),
        ((220, 0), (220, -120), (220, 120)),
    ],
)
def test_unbalance_equals_the_symmetrical_component_ratio(
    phases: tuple[tuple[float, float], ...],
) -> None:
    va, vb, vc = (cmath.rect(m, math.radians(deg)) for m, deg in phases)
    v12, v23, v31 = _line_to_line_from_phases((va, vb, vc))
    a = cmath.rect(1, math.radians(120))
    positive = (v12 + a * v23 + a * a * v31) / 3
    negative = (v12 + a * a * v23 + a * v31) / 3
    exact = 100 * abs(negative) / abs(positive)

    u2 = voltage_unbalance(
        Quantity(abs(v12), "V"), Quantity(abs(v23), "V"), Quantity(abs(v31), "V")
    )

    assert u2.magnitude == pytest.approx(exact, abs=1e-6)


def test_unbalance_accepts_kilovolts() -> None:
    volts = voltage_unbalance(Quantity("400 V"), Quantity("380 V"), Quantity("380 V"))
    kilovolts = voltage_unbalance(Quantity("0.4 kV"), Quantity("0.38 kV"), Quantity("0.38 kV"))
    assert kilovolts.magnitude == pytest.approx(volts.magnitude)


def test_unbalance_refuses_voltages_that_cannot_close_a_triangle() -> None:
    with pytest.raises(ValueError, match="cannot close a triangle"):
        voltage_unbalance(Quantity("380 V"), Quantity("100 V"), Quantity("100 V"))


def test_unbalance_limits_are_those_of_the_reference() -> None:
    assert (UNBALANCE_LIMIT.magnitude, UNBALANCE_SHORT_TERM_LIMIT.magnitude) == (2.0, 4.0)


# -- THD (GB/T 14549) ------------------------------------------------------------------------


def test_thd_from_harmonics_in_volts() -> None:
    # √(6² + 8²) / 220 = 10 / 220 = 4.545 %
    thd = total_harmonic_distortion([Quantity("6 V"), Quantity("8 V")], Quantity("220 V"))
    assert thd.magnitude == pytest.approx(100 * 10 / 220)


def test_thd_from_harmonics_in_percent_of_the_fundamental() -> None:
    # √(3² + 4²) = 5 %: exactly at the 0.38 kV limit
    thd = total_harmonic_distortion([Quantity("3 %"), Quantity("4 %")], Quantity("100 %"))
    assert thd.magnitude == pytest.approx(5.0)
    assert thd <= HARMONIC_LIMITS_380V.thd


def test_thd_of_no_harmonics_is_zero_and_a_zero_fundamental_is_refused() -> None:
    assert total_harmonic_distortion([], Quantity("230 V")).magnitude == 0.0
    with pytest.raises(ValueError, match="fundamental"):
        total_harmonic_distortion([Quantity("1 V")], Quantity("0 V"))


def test_harmonic_limits_are_those_of_the_reference() -> None:
    limits = HARMONIC_LIMITS_380V
    assert (limits.thd.magnitude, limits.odd.magnitude, limits.even.magnitude) == (5, 4, 2)


# -- 95 % probability value ------------------------------------------------------------------


def test_95_percent_value_of_one_day_discards_the_seven_largest() -> None:
    values = [float(v) for v in range(1, 145)]  # 144 ten-minute values 1 … 144
    # ⌊0.05·144⌋ = 7 largest discarded (138 … 144): the 95 % value is 137
    assert probability_value_95(values) == 137.0


def test_95_percent_value_does_not_depend_on_order() -> None:
    values = [float((7 * k) % 144) for k in range(144)]
    assert probability_value_95(values) == probability_value_95(sorted(values))


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, 1.0), (19, 19.0), (20, 19.0), (39, 38.0), (40, 38.0), (100, 95.0)],
)
def test_95_percent_value_is_the_nearest_rank_percentile(count: int, expected: float) -> None:
    values = [float(v) for v in range(1, count + 1)]
    assert probability_value_95(values) == expected
    assert expected == math.ceil(0.95 * count)  # nearest rank: the ⌈0.95·n⌉-th smallest


def test_95_percent_value_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        probability_value_95([])
    with pytest.raises(ValueError, match="finite"):
        probability_value_95([1.0, math.nan])
