"""Wind on poles and mounted equipment, checked against GB 50009-2012 as transcribed.

The expected values are copied by hand from reference/standards.md §1.1 (Tables 8.2.1 and
8.6.1, confidence R), not imported from the module under test.
"""

from __future__ import annotations

from typing import Any

import pint
import pytest

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
