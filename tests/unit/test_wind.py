"""Wind on poles and mounted equipment, checked against GB 50009-2012 as transcribed.

The expected values are copied by hand from docs/sources.md §1.1 (Tables 8.2.1 and
8.6.1, confidence R), not imported from the module under test.
"""

from __future__ import annotations

import math
from typing import Any

import pint
import pytest

from ycsa_conform.engineering import pole, wind
from ycsa_conform.engineering.wind import (
    attachment_wind_pressure,
    gust_factor_attachment,
    height_coefficient,
)
from ycsa_conform.units import Quantity


def m(z: float) -> pint.Quantity[Any]:
    return Quantity(z, "m")


@pytest.mark.parametrize(
    ("terrain", "z", "mu_z"),
    [
        ("A", 5, 1.09),
        ("A", 10, 1.28),
        ("A", 50, 1.89),
        ("B", 10, 1.00),
        ("B", 15, 1.13),
        ("B", 30, 1.39),
        ("C", 10, 0.65),
        ("C", 20, 0.74),
        ("C", 40, 1.00),
        ("D", 30, 0.51),
        ("D", 50, 0.69),
    ],
)
def test_height_coefficient_at_table_heights_is_the_table_value(
    terrain: str, z: float, mu_z: float
) -> None:
    assert height_coefficient(m(z), terrain) == pytest.approx(mu_z)


@pytest.mark.parametrize(
    ("terrain", "z", "beta_gz"),
    [
        ("A", 5, 1.65),
        ("A", 30, 1.53),
        ("B", 10, 1.70),
        ("B", 20, 1.63),
        ("C", 15, 2.05),
        ("C", 20, 1.99),
        ("C", 30, 1.90),
        ("D", 10, 2.40),
    ],
)
def test_gust_factor_at_table_heights_is_the_table_value(
    terrain: str, z: float, beta_gz: float
) -> None:
    assert gust_factor_attachment(m(z), terrain) == pytest.approx(beta_gz)


@pytest.mark.parametrize(
    ("terrain", "z", "mu_z"),
    [
        ("B", 12.5, 1.065),  # halfway between 1.00 (10 m) and 1.13 (15 m)
        ("A", 7.5, 1.185),  # halfway between 1.09 (5 m) and 1.28 (10 m)
        ("C", 25, 0.81),  # halfway between 0.74 (20 m) and 0.88 (30 m)
    ],
)
def test_height_coefficient_is_interpolated_between_heights(
    terrain: str, z: float, mu_z: float
) -> None:
    assert height_coefficient(m(z), terrain) == pytest.approx(mu_z)


def test_gust_factor_is_interpolated_between_heights() -> None:
    # C: 2.05 at 15 m, 1.99 at 20 m.
    assert gust_factor_attachment(m(17.5), "C") == pytest.approx(2.02)


@pytest.mark.parametrize("z", [0.5, 3.0, 4.99])
def test_below_five_metres_the_five_metre_value_applies(z: float) -> None:
    assert height_coefficient(m(z), "A") == pytest.approx(1.09)
    assert gust_factor_attachment(m(z), "A") == pytest.approx(1.65)


def test_heights_in_other_units_are_converted() -> None:
    assert height_coefficient(Quantity(1250, "cm"), "B") == pytest.approx(1.065)


def test_height_coefficient_above_the_table_raises() -> None:
    with pytest.raises(ValueError, match=r"height 51\.0 m is above 50\.0 m, beyond the"):
        height_coefficient(m(51), "A")


def test_gust_factor_above_its_table_raises() -> None:
    # Table 8.6.1 is transcribed up to 30 m only, although 8.2.1 goes to 50 m.
    with pytest.raises(ValueError, match=r"height 31\.0 m is above 30\.0 m"):
        gust_factor_attachment(m(31), "B")


@pytest.mark.parametrize("terrain", ["E", "c", ""])
def test_an_unknown_terrain_category_is_rejected(terrain: str) -> None:
    with pytest.raises(ValueError, match=f"terrain category {terrain!r} is not one of A, B, C, D"):
        height_coefficient(m(10), terrain)


def test_attachment_wind_pressure_worked_example() -> None:
    # Terrain C, z = 8 m, μs = 1.3, w0 = 0.30 kN/m²:
    # βgz = 2.05 (C is constant up to 15 m), μz = 0.65 (C is constant up to 15 m)
    # wk = βgz·μs·μz·w0 = 2.05 × 1.3 × 0.65 × 0.30 = 0.519675 ≈ 0.5197 kN/m².
    w_k = attachment_wind_pressure(m(8), "C", Quantity(0.30, "kN/m^2"), 1.3)

    assert w_k.to("kN/m^2").magnitude == pytest.approx(0.519675)


def test_attachment_wind_pressure_floors_w0_at_030_kn_per_m2() -> None:
    # GB 50009-2012 8.1.2: w0 is never taken below 0.30 kN/m².
    low = attachment_wind_pressure(m(8), "C", Quantity(0.20, "kN/m^2"), 1.3)
    floor = attachment_wind_pressure(m(8), "C", Quantity(0.30, "kN/m^2"), 1.3)

    assert low.to("kN/m^2").magnitude == pytest.approx(floor.to("kN/m^2").magnitude)


def test_attachment_wind_pressure_above_the_floor_scales_with_w0() -> None:
    # Dali, w0 = 0.65 kN/m²: 2.05 × 1.3 × 0.65 × 0.65 = 1.1259625 kN/m².
    w_k = attachment_wind_pressure(m(8), "C", Quantity(650, "Pa"), 1.3)

    assert w_k.to("kN/m^2").magnitude == pytest.approx(1.1259625)


def test_attachment_wind_pressure_is_in_kilonewton_per_square_metre() -> None:
    w_k = attachment_wind_pressure(m(10), "B", Quantity(0.30, "kN/m^2"), 1.0)

    assert f"{w_k.units:~P}" == "kN/m²"
    # B at 10 m: 1.70 × 1.0 × 1.00 × 0.30 = 0.51 kN/m².
    assert w_k.magnitude == pytest.approx(0.51)


# --- the whole pole: docs/engineering/wind.md works this example by hand ----------------------


def _kunming_pole() -> pole.PoleLoads:
    shaft = pole.PoleShaft(
        height=m(10),
        base_diameter=Quantity(219, "mm"),
        top_diameter=Quantity(114, "mm"),
        wall_thickness=Quantity(5, "mm"),
        steel_grade=pole.SteelGrade.Q355,
    )
    equipment = [
        ("luminaire", 10, 0.25, 10),
        ("5G small cell", 25, 0.25, 8),
        ("camera", 5, 0.05, 6),
    ]
    attachments = [
        pole.Attachment(
            name=name,
            mass=Quantity(kg, "kg"),
            area=Quantity(area, "m^2"),
            height=m(z),
            shape_coefficient=1.3,
        )
        for name, kg, area, z in equipment
    ]
    return pole.analyse_pole(
        shaft,
        attachments,
        terrain="C",
        w0=Quantity(0.35, "kN/m^2"),
        first_frequency=Quantity(1.85, "Hz"),
        air_density=wind.air_density(m(1891)),
    )


def test_wind_vibration_factor_at_the_top_is_the_worked_example() -> None:
    # x1 = 30·1.85/√(0.54·0.35) = 127.66; R² = π/0.06·x1²/(1+x1²)^(4/3) = 2.0650;
    # Bz = 0.404·10^0.292·0.8882·1/0.65 = 1.0814; βz = 1 + 2·2.5·0.23·1.0814·√3.0650 = 3.1772.
    beta = wind.wind_vibration_factor(
        m(10),
        height=m(10),
        terrain="C",
        w0=Quantity(0.35, "kN/m^2"),
        first_frequency=Quantity(1.85, "Hz"),
    )

    assert beta == pytest.approx(3.1772, abs=1e-4)


def test_wind_vibration_factor_is_one_at_the_base() -> None:
    # φ1(0) = 0, so Bz = 0.
    beta = wind.wind_vibration_factor(
        m(0.001),
        height=m(10),
        terrain="B",
        w0=Quantity(0.3, "kN/m^2"),
        first_frequency=Quantity(2, "Hz"),
    )

    assert beta == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    ("x", "mu_s"),
    [
        (0.0, 1.2),  # μz·w0·d² ≤ 0.002, H/d ≥ 25
        (1.0, 0.6),  # ≥ 0.015, smooth, H/d ≥ 25
        (0.0032352, 1.14299),  # the worked example's top segment
    ],
)
def test_circular_shape_coefficient_interpolates_on_mu_z_w0_d2(x: float, mu_s: float) -> None:
    # d = 0.11925 m, μz = 0.65: x = μz·w0·d² fixes w0.
    d = 0.11925
    w0 = x / (0.65 * d * d) if x else 1e-9
    value = wind.circular_shape_coefficient(
        diameter=m(d), height=m(30 * d), mu_z=0.65, w0=Quantity(w0, "kN/m^2")
    )

    assert value == pytest.approx(mu_s, abs=1e-4)


@pytest.mark.parametrize(
    ("surface", "h_over_d", "mu_s"),
    [
        (wind.Surface.SMOOTH, 7, 0.5),
        (wind.Surface.ROUGH_002, 1, 0.7),
        (wind.Surface.ROUGH_008, 25, 1.2),
        (wind.Surface.ROUGH_008, 16, 1.1),  # halfway between 1.0 (7) and 1.2 (25)
    ],
)
def test_circular_shape_coefficient_table_rows(
    surface: wind.Surface, h_over_d: float, mu_s: float
) -> None:
    value = wind.circular_shape_coefficient(
        diameter=m(1), height=m(h_over_d), mu_z=1.0, w0=Quantity(0.3, "kN/m^2"), surface=surface
    )

    assert value == pytest.approx(mu_s)


def test_polygonal_shaft_takes_the_en_1991_default() -> None:
    value = wind.shaft_shape_coefficient(
        wind.SectionShape.POLYGONAL,
        diameter=m(0.2),
        height=m(10),
        mu_z=0.65,
        w0=Quantity(0.3, "kN/m^2"),
    )

    assert value == 1.45


def test_attachment_shape_coefficient_default_and_declared() -> None:
    assert wind.attachment_shape_coefficient("sign") == 1.3
    assert wind.attachment_shape_coefficient("camera", declared=0.9) == 0.9


@pytest.mark.parametrize(
    ("city", "years", "w0"),
    [
        ("Kunming", 50, 0.30),
        ("Dali", 50, 0.65),
        ("dali", 100, 0.75),
        ("Pu'er", 50, 0.45),
        ("Kunming", 10, 0.30),  # 0.20 floored at 0.30
        # E.3.4: Dali at 30 years = 0.45 + 0.30·(ln30/ln10 − 1) = 0.59314
        ("Dali", 30, 0.59314),
    ],
)
def test_basic_wind_pressure_by_city(city: str, years: float, w0: float) -> None:
    value = wind.basic_wind_pressure(city, Quantity(years, "year"))

    assert value.to("kN/m^2").magnitude == pytest.approx(w0, abs=1e-5)


def test_basic_wind_pressure_without_floor_and_unknown_city() -> None:
    assert wind.basic_wind_pressure("Kunming", Quantity(10, "year"), floor=False).magnitude == 0.20
    with pytest.raises(ValueError, match="city 'Pingbian' is not in the transcribed Yunnan"):
        wind.basic_wind_pressure("Pingbian")


def test_a_misspelt_city_gets_a_suggestion() -> None:
    with pytest.raises(ValueError, match=r"city 'Kunmin' .* Table E.5; did you mean 'kunming'\?"):
        wind.basic_wind_pressure("Kunmin")


def test_vortex_formulas() -> None:
    # D at 2/3·H = 149 mm, T1 = 1/1.85 s: v_cr = 0.149·1.85/0.2 = 1.37825 m/s.
    v_cr = wind.critical_wind_speed(Quantity(149, "mm"), Quantity(1 / 1.85, "s"))

    assert v_cr.to("m/s").magnitude == pytest.approx(1.37825)
    assert wind.reynolds_number(v_cr, Quantity(149, "mm")) == pytest.approx(14169.79, abs=0.01)
    # ρ at 1891 m = 1.25·e^−0.1891 = 1.03463; v_H = √(2000·0.65·0.35/1.03463) = 20.971 m/s.
    v_h = wind.top_wind_speed(0.65, Quantity(0.35, "kN/m^2"), wind.air_density(m(1891)))
    assert v_h.to("m/s").magnitude == pytest.approx(20.971, abs=1e-3)


def test_the_worked_example_pole() -> None:
    loads = _kunming_pole()

    top = loads.segments[-1]
    assert top.diameter.to("mm").magnitude == pytest.approx(119.25)
    assert top.mu_s == pytest.approx(1.1430, abs=1e-4)
    assert top.beta_z == pytest.approx(3.0320, abs=1e-4)
    assert top.force.to("kN").magnitude == pytest.approx(0.0940, abs=1e-4)
    luminaire = loads.attachments[0]
    assert luminaire.pressure.to("kN/m^2").magnitude == pytest.approx(0.9396, abs=1e-4)
    assert loads.base_shear.to("kN").magnitude == pytest.approx(1.1265, abs=1e-4)
    assert loads.base_moment.to("kN*m").magnitude == pytest.approx(7.9510, abs=1e-4)
    assert loads.base_axial.to("kN").magnitude == pytest.approx(2.3452, abs=1e-4)
    assert loads.base_stress.to("N/mm^2").magnitude == pytest.approx(68.74, abs=0.01)
    assert loads.top_deflection.to("mm").magnitude == pytest.approx(87.91, abs=0.01)
    verdicts = {c.name: c.verdict for c in loads.checks}
    assert verdicts == {
        "base stress": pole.Verdict.PASS,
        "top deflection": pole.Verdict.PASS,
        "base D/t": pole.Verdict.PASS,
        "vortex v_cr": pole.Verdict.FAIL,
        # The whole pole's deflection under G + W with θB·θv and P-Δ (docs/engineering/pole.md).
        "top deflection, P-Δ": pole.Verdict.PASS,
    }


def test_a_uniform_tube_deflects_like_the_closed_form() -> None:
    # Prismatic cantilever, one tip load P: δ = P·H³/(3EI). The midpoint rule with 200
    # segments comes within 0.01 %.
    shaft = pole.PoleShaft(
        height=m(10),
        base_diameter=Quantity(200, "mm"),
        top_diameter=Quantity(200, "mm"),
        wall_thickness=Quantity(5, "mm"),
        steel_grade=pole.SteelGrade.Q235,
    )
    tip = pole.Attachment(
        name="tip",
        mass=Quantity(0, "kg"),
        area=Quantity(1, "m^2"),
        height=m(10),
        shape_coefficient=1.0,
    )
    loads = pole.analyse_pole(
        shaft,
        [tip],
        terrain="B",
        w0=Quantity(0.3, "kN/m^2"),
        first_frequency=Quantity(2, "Hz"),
        segments=200,
    )
    shaft_only = pole.analyse_pole(
        shaft,
        [],
        terrain="B",
        w0=Quantity(0.3, "kN/m^2"),
        first_frequency=Quantity(2, "Hz"),
        segments=200,
    )
    p = loads.attachments[0].force.to("N").magnitude
    i = math.pi / 64 * (0.2**4 - 0.19**4)
    expected = p * 10**3 / (3 * 206e9 * i)
    delta = (loads.top_deflection - shaft_only.top_deflection).to("m").magnitude

    assert delta == pytest.approx(expected, rel=1e-4)


def test_estimated_frequency_of_the_fixture_pole() -> None:
    shaft = pole.PoleShaft(
        height=m(10),
        base_diameter=Quantity(219, "mm"),
        top_diameter=Quantity(114, "mm"),
        wall_thickness=Quantity(5, "mm"),
        steel_grade=pole.SteelGrade.Q355,
    )
    loads = pole.analyse_pole(shaft, [], terrain="C", w0=Quantity(0.35, "kN/m^2"))

    assert loads.frequency_estimated
    # Bare tapered tube: a few hertz, above the fully equipped pole's 1.85 Hz.
    assert 2.0 < loads.first_frequency.to("Hz").magnitude < 6.0


def test_equipment_budget_rows() -> None:
    attachments = [
        pole.Attachment(
            name="camera",
            mass=Quantity(5, "kg"),
            area=Quantity(0.05, "m^2"),
            height=m(8),
            shape_coefficient=1.3,
        )
    ]
    rows = pole.equipment_budget(
        attachments,
        terrain="C",
        w0=Quantity(0.30, "kN/m^2"),
        rated_mass=Quantity(4, "kg"),
        rated_moment=Quantity(1, "kN*m"),
    )

    assert [(r.name, r.verdict) for r in rows] == [
        ("equipment mass", pole.Verdict.FAIL),
        ("attachment moment", pole.Verdict.PASS),
    ]
    # 0.519675 kN/m² (test above) × 0.05 m² × 8 m = 0.20787 kN·m.
    assert rows[1].value.to("kN*m").magnitude == pytest.approx(0.20787)


def test_a_wall_thicker_than_transcribed_is_refused() -> None:
    shaft = pole.PoleShaft(
        height=m(10),
        base_diameter=Quantity(400, "mm"),
        top_diameter=Quantity(200, "mm"),
        wall_thickness=Quantity(20, "mm"),
        steel_grade=pole.SteelGrade.Q355,
    )
    with pytest.raises(ValueError, match="design strength of Q355 for thicker walls"):
        pole.analyse_pole(shaft, [], terrain="C", w0=Quantity(0.3, "kN/m^2"))
