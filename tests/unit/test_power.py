"""engineering/power.py against hand-worked cases and the symmetrical-component definition."""

from __future__ import annotations

import cmath
import csv
import math
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ycsa_conform.engineering.power import (
    HARMONIC_LIMITS_380V,
    SUPPLY_VOLTAGE_DEVIATION,
    UNBALANCE_LIMIT,
    UNBALANCE_SHORT_TERM_LIMIT,
    Conductor,
    Supply,
    conductor_resistance,
    feeder_end_drop_closed_form,
    feeder_voltage_drop,
    interval_coverage,
    load_current,
    period_share,
    probability_value_95,
    total_harmonic_distortion,
    uniform_feeder,
    voltage_deviation,
    voltage_drop,
    voltage_unbalance,
)
from ycsa_conform.resources import data_dir
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


# -- share of 10-min values over the period (GB/T 12325; docs/engineering/power.md) -----------

WORKED_RECORD = data_dir("fixtures") / "records" / "worked-example-single-phase-voltage.csv"
TEN_MINUTES = timedelta(minutes=10)


def _worked_values() -> list[tuple[str, float]]:
    """The worked example's (time, U1N) rows, read with the csv module alone."""
    with WORKED_RECORD.open(encoding="utf-8") as file:
        rows = [r for r in csv.reader(file) if r and not r[0].startswith("#")]
    assert rows[0] == ["time", "U1N (V)"]
    return [(t, float(u)) for t, u in rows[1:]]


def test_the_worked_example_day_has_139_of_144_values_in_the_band() -> None:
    values = [u for _, u in _worked_values()]
    inside = [198.0 <= u <= 235.4 for u in values]  # 220 V +7 % / -10 %

    share = period_share(inside, required=144)

    assert (share.within, share.values, share.complete) == (139, 144, True)
    assert share.share == pytest.approx(100 * 139 / 144)  # 96.53 %, at least 95 %
    assert share.share == pytest.approx(96.527_777, abs=1e-5)
    assert (min(values), max(values)) == (196.2, 227.0)  # the doc's lowest and highest


def test_a_record_short_of_the_period_gives_the_share_between_bounds() -> None:
    # 109 values, all within: over the 144 of the day the share is 109/144 .. 144/144
    share = period_share([True] * 109, required=144)

    assert not share.complete
    assert share.bounds == pytest.approx((100 * 109 / 144, 100.0))
    # 100 values with 13 outside: at most (87 + 44)/144 = 90.97 % whatever was missed
    assert period_share([True] * 87 + [False] * 13, required=144).bounds[1] == pytest.approx(
        100 * 131 / 144
    )


def test_coverage_of_one_day_stamped_at_the_interval_ends() -> None:
    stamps = [datetime(2026, 11, 20) + TEN_MINUTES * i for i in range(1, 145)]

    coverage = interval_coverage(stamps, TEN_MINUTES)

    assert (coverage.start, coverage.end) == (datetime(2026, 11, 20), datetime(2026, 11, 21))
    assert (coverage.values, coverage.gaps, coverage.missing) == (144, (), 0)
    assert coverage.span == timedelta(days=1)


def test_a_gap_is_counted_in_missing_intervals() -> None:
    stamps = [datetime(2026, 11, 20) + TEN_MINUTES * i for i in range(1, 145) if not 50 <= i < 56]

    coverage = interval_coverage(stamps, TEN_MINUTES)

    assert coverage.values == 138
    assert coverage.missing == 6
    assert len(coverage.gaps) == 1


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([0, 10, 10], "does not come after"),
        ([0, 10, 5], "does not come after"),
        ([0, 10, 25], "not a whole number of 0:10:00 intervals"),
        ([0, 1, 2], "not a whole number"),
    ],
)
def test_stamps_out_of_order_or_off_the_interval_are_refused(
    steps: list[int], message: str
) -> None:
    stamps = [datetime(2026, 11, 20) + timedelta(minutes=m) for m in steps]

    with pytest.raises(ValueError, match=message):
        interval_coverage(stamps, TEN_MINUTES)


# -- voltage drop along the supply cable (docs/engineering/power.md) -------------------------


def test_copper_and_aluminium_resistance_at_70_degrees() -> None:
    # ρ20·(1 + α·(70 − 20)) / S, by hand
    assert conductor_resistance("Cu", Quantity(10, "mm^2")).to("ohm/km").magnitude == (
        pytest.approx(0.017241 * (1 + 0.00393 * 50) / 10 * 1000)
    )
    assert conductor_resistance(Conductor.ALUMINIUM, Quantity(25, "mm^2")).to(
        "ohm/km"
    ).magnitude == pytest.approx(0.028264 * (1 + 0.00403 * 50) / 25 * 1000)
    cold = conductor_resistance("Cu", Quantity(1, "mm^2"), temperature=Quantity(20, "degC"))
    assert cold.to("ohm/m").magnitude == pytest.approx(0.017241)


def test_the_worked_feeder_of_eight_single_phase_poles() -> None:
    # docs/engineering/power.md: Cu 10 mm², first pole 30 m from the cabinet, then every 35 m,
    # 250 W per pole at cos φ 0.95, X 0.08 Ω/km, 70 °C. Hand: R = 2.0629 Ω/km, I = 1.1962 A,
    # Σ L_i = 8·30 + 35·(0+1+…+7) = 1220 m, ΔU = 2·I·1.220 km·(R·0.95 + X·0.3122) = 5.793 V.
    r = 0.017241 * (1 + 0.00393 * 50) / 10 * 1000
    i = 250 / (220 * 0.95)
    sin_phi = math.sqrt(1 - 0.95**2)
    by_hand = 2 * i * 1.220 * (r * 0.95 + 0.08 * sin_phi)
    assert by_hand == pytest.approx(5.7927, abs=1e-4)
    assert 100 * (220 - by_hand) / 220 == pytest.approx(97.367, abs=1e-3)

    resistance = conductor_resistance("Cu", Quantity(10, "mm^2"))
    current = load_current(Quantity(250, "W"), Quantity(220, "V"), 0.95, "single-phase")
    loads = uniform_feeder(8, Quantity(30, "m"), Quantity(35, "m"), current)
    drop = feeder_voltage_drop(loads, resistance, Quantity(0.08, "ohm/km"), 0.95, "single-phase")

    assert current.to("A").magnitude == pytest.approx(i)
    assert [length.to("m").magnitude for _, length in loads] == [30 + 35 * k for k in range(8)]
    assert drop.to("V").magnitude == pytest.approx(by_hand)


def test_the_feeder_drop_section_by_section_equals_the_moment_sum() -> None:
    # Each 35 m section carries the current of every pole beyond it: Σ k·(n−j)·I·l_j·z
    resistance = conductor_resistance("Cu", Quantity(10, "mm^2"))
    z = resistance.to("ohm/km").magnitude * 0.95 + 0.08 * math.sqrt(1 - 0.95**2)
    i = 250 / (220 * 0.95)
    sections = [0.030] + [0.035] * 7
    by_section = sum(2 * (8 - j) * i * length * z for j, length in enumerate(sections))

    closed = feeder_end_drop_closed_form(
        8,
        Quantity(30, "m"),
        Quantity(35, "m"),
        Quantity(i, "A"),
        resistance,
        Quantity(0.08, "ohm/km"),
        0.95,
        Supply.SINGLE_PHASE,
    )

    assert closed.to("V").magnitude == pytest.approx(by_section)


def test_the_bench_feeder_three_phase() -> None:
    # benches/smart-pole.site.yaml: Cu 16 mm², 12 poles, 40 m then 35 m, 600 W at cos φ 0.9.
    r = 0.017241 * (1 + 0.00393 * 50) / 16 * 1000
    i = 600 / (math.sqrt(3) * 380 * 0.9)
    moment = (12 * 40 + 35 * 66) / 1000
    by_hand = math.sqrt(3) * i * moment * (r * 0.9 + 0.08 * math.sqrt(1 - 0.81))

    current = load_current(Quantity(600, "W"), Quantity(380, "V"), 0.9, "three-phase")
    loads = uniform_feeder(12, Quantity(40, "m"), Quantity(35, "m"), current)
    drop = feeder_voltage_drop(
        loads,
        conductor_resistance("Cu", Quantity(16, "mm^2")),
        Quantity(0.08, "ohm/km"),
        0.9,
        "three-phase",
    )

    assert drop.to("V").magnitude == pytest.approx(by_hand)
    assert by_hand == pytest.approx(5.850, abs=1e-3)  # 98.46 % of 380 V at the far pole


def test_three_phase_drop_is_half_of_root_three_of_single_phase_for_the_same_current() -> None:
    args = (
        Quantity(10, "A"),
        Quantity(100, "m"),
        Quantity(1, "ohm/km"),
        Quantity(0, "ohm/km"),
        1.0,
    )
    single = voltage_drop(*args, "single-phase")
    three = voltage_drop(*args, "three-phase")

    assert single.to("V").magnitude == pytest.approx(2.0)  # 2·10 A·0.1 km·1 Ω/km
    assert three.to("V").magnitude == pytest.approx(math.sqrt(3))


@pytest.mark.parametrize("power_factor", [0.0, -0.5, 1.2])
def test_a_power_factor_outside_0_to_1_is_refused(power_factor: float) -> None:
    with pytest.raises(ValueError, match="power factor"):
        load_current(Quantity(100, "W"), Quantity(220, "V"), power_factor, "single-phase")


def test_a_zero_cross_section_or_an_empty_feeder_is_refused() -> None:
    with pytest.raises(ValueError, match="cross-section"):
        conductor_resistance("Cu", Quantity(0, "mm^2"))
    with pytest.raises(ValueError, match="at least one"):
        feeder_voltage_drop([], Quantity(1, "ohm/km"), Quantity(0, "ohm/km"), 1.0, "three-phase")


def _sp_pwr_019(site: str) -> tuple[str, str, list[tuple[str, object]]]:
    from ycsa_conform.profile import load_profile
    from ycsa_conform.run import AcceptanceRun
    from ycsa_conform.site import load_site

    run = AcceptanceRun(profiles=[load_profile("smart-pole")], site=load_site(site))
    case = next(c for c in run.cases() if c.requirement.id == "SP-PWR-019")
    result = run.decide(case)
    return result.verdict.value, result.reason, [(m.name, m.value) for m in result.measurements]


def test_sp_pwr_019_on_the_kunming_site_is_the_worked_feeder() -> None:
    verdict, _, measurements = _sp_pwr_019(
        str(data_dir("fixtures") / "sites" / "kunming-main-road.yaml")
    )

    assert verdict == "pass"
    (_, drop), (name, terminal) = measurements
    assert drop == pytest.approx(5.7927, abs=1e-4)
    assert terminal == pytest.approx(100 * (220 - 5.792727) / 220, abs=1e-4)  # 97.37 %
    assert "8 poles, 275 m of single-phase Cu 10 mm² cable" in name


def test_sp_pwr_019_without_the_cable_data_is_an_error_naming_the_key(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(data_dir("fixtures"), fixtures)
    shutil.copytree(data_dir("benches") / "devicemaps", tmp_path / "benches" / "devicemaps")
    site = fixtures / "sites" / "kunming-main-road.yaml"
    site.write_text(
        site.read_text(encoding="utf-8").replace("      supply_system: single-phase\n", ""),
        encoding="utf-8",
    )

    verdict, reason, _ = _sp_pwr_019(str(site))

    assert verdict == "error"
    assert "declares no design.supply_system" in reason
