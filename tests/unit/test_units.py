"""Quantities as users write them: pint reads plain quantities only, in one registry."""

from __future__ import annotations

import re
from typing import Any

import pint
import pytest

from ycsa_conform.profile import load_profile
from ycsa_conform.units import (
    Quantity,
    UnitError,
    format_quantity,
    format_unit,
    parse_quantity,
    parse_unit,
    ureg,
)


def test_lux_is_read_as_illuminance() -> None:
    q = parse_quantity("20 lx")

    assert q.magnitude == 20.0
    assert q.units == ureg.lux


def test_kilonewton_per_square_metre_converts_to_pascal() -> None:
    assert parse_quantity("0.30 kN/m^2").to("Pa").magnitude == pytest.approx(300.0)


@pytest.mark.parametrize(
    ("text", "fraction"),
    [("85 %", 0.85), ("3 ‰", 0.003), ("-3 ‰", -0.003)],
)
def test_percent_and_permille_are_dimensionless_fractions(text: str, fraction: float) -> None:
    assert parse_quantity(text).to("dimensionless").magnitude == pytest.approx(fraction)


@pytest.mark.parametrize("text", ["5 var", "5 VAr"])
def test_var_is_defined_with_the_dimension_of_watt(text: str) -> None:
    assert parse_quantity(text).to("W").magnitude == pytest.approx(5.0)


def test_kilovar_takes_the_si_prefix() -> None:
    assert parse_quantity("2 kvar").to("var").magnitude == pytest.approx(2000.0)


@pytest.mark.parametrize(("raw", "magnitude"), [("230", 230.0), (230, 230.0), (0.5, 0.5)])
def test_a_bare_number_is_dimensionless(raw: str | float, magnitude: float) -> None:
    q = parse_quantity(raw)

    assert q.units == ureg.dimensionless
    assert q.magnitude == magnitude


@pytest.mark.parametrize(("text", "value"), [("1e3 V", 1000.0), (".5 V", 0.5), ("-2 m", -2.0)])
def test_exponents_leading_dots_and_signs_are_read(text: str, value: float) -> None:
    assert parse_quantity(text).magnitude == value


def test_a_tolerance_inside_a_quantity_is_rejected_not_read_as_a_sum() -> None:
    # pint alone reads "20 lx ± 2" as 40 lx; the limit grammar owns "±".
    with pytest.raises(UnitError) as excinfo:
        parse_quantity("20 lx ± 2")

    assert str(excinfo.value) == (
        "'20 lx ± 2' is not a quantity; write a number and a unit, like '230 V'"
    )


@pytest.mark.parametrize("text", [">= 20 lx", "<= 5", "2 == 3", "< 1 V", "5 V, 6 V"])
def test_operators_are_rejected(text: str) -> None:
    with pytest.raises(UnitError) as excinfo:
        parse_quantity(text)

    assert str(excinfo.value) == (
        f"{text!r} is not a quantity; write a number and a unit, like '230 V'"
    )


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_is_not_a_quantity(text: str) -> None:
    with pytest.raises(UnitError, match="is not a quantity; write a number and a unit"):
        parse_quantity(text)


@pytest.mark.parametrize("text", ["V", "abc", "nan", "inf V"])
def test_text_without_a_leading_number_is_rejected(text: str) -> None:
    with pytest.raises(UnitError) as excinfo:
        parse_quantity(text)

    assert str(excinfo.value) == (f"{text!r} does not start with a number; write it like '230 V'")


def test_an_unknown_unit_is_named() -> None:
    with pytest.raises(UnitError) as excinfo:
        parse_quantity("5 frobs")

    assert str(excinfo.value) == "'frobs' is not a unit we know"


def test_an_overflowing_number_is_not_finite() -> None:
    with pytest.raises(UnitError) as excinfo:
        parse_quantity("1e400 V")

    assert str(excinfo.value) == "'1e400 V' is not a finite number"


@pytest.mark.parametrize("raw", [True, False])
def test_a_boolean_is_not_a_quantity(raw: bool) -> None:
    with pytest.raises(UnitError) as excinfo:
        parse_quantity(raw)

    assert str(excinfo.value) == f"{raw!r} is not a quantity"


def test_unit_error_is_a_value_error() -> None:
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize("text", ["", "1", "  "])
def test_an_empty_unit_or_one_is_dimensionless(text: str) -> None:
    assert parse_unit(text) == ureg.dimensionless


@pytest.mark.parametrize(
    ("text", "same_as"),
    [("V", "volt"), ("kN/m^2", "kilonewton / meter ** 2"), ("%", "percent"), ("‰", "permille")],
)
def test_parse_unit_reads_unit_names(text: str, same_as: str) -> None:
    assert parse_unit(text) == ureg.Unit(same_as)


@pytest.mark.parametrize("text", ["frob", "V (rms)", "2 V"])
def test_parse_unit_rejects_what_is_not_a_unit(text: str) -> None:
    with pytest.raises(UnitError) as excinfo:
        parse_unit(text)

    assert str(excinfo.value) == f"{text!r} is not a unit we know"


@pytest.mark.parametrize("text", ["kN/m^", "kN/(m^2", "V)", "V/"])
def test_parse_unit_rejects_malformed_unit_expressions(text: str) -> None:
    # pint raises AssertionError or tokenize.TokenError for these; a typo must not be a traceback.
    with pytest.raises(UnitError) as excinfo:
        parse_unit(text)

    assert str(excinfo.value) == f"{text!r} is not a unit we know"


def test_parse_quantity_rejects_a_unit_with_a_dangling_operator() -> None:
    with pytest.raises(UnitError) as excinfo:
        parse_quantity("0.35 kN/m^")

    assert str(excinfo.value) == "'kN/m^' is not a unit we know"


@pytest.mark.parametrize(
    ("quantity", "text"),
    [
        (Quantity(230.123456, "V"), "230.1 V"),
        (Quantity(0.82, ""), "0.82"),
        (Quantity(12.0, "percent"), "12 %"),
        (Quantity(3.0, "permille"), "3 ‰"),
        (Quantity(0.3, "kN/m^2"), "0.3 kN/m²"),
        (Quantity(8.0, "kN*m"), "8 kN·m"),
        (Quantity(20.0, "degC"), "20 °C"),
        (Quantity(1234567.0, "lx"), "1.235e+06 lx"),
        (Quantity(12, "V"), "12 V"),
    ],
)
def test_format_quantity_is_short_and_stable(quantity: pint.Quantity[Any], text: str) -> None:
    assert format_quantity(quantity) == text


def test_format_quantity_takes_more_digits_on_request() -> None:
    assert format_quantity(Quantity(230.123456, "V"), digits=6) == "230.123 V"


def test_a_year_is_written_year_not_pints_annum() -> None:
    assert format_unit(parse_unit("year")) == "year"
    assert format_quantity(parse_quantity("50 year")) == "50 year"
    assert format_unit(parse_unit("A")) == "A"  # ampere keeps its symbol


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("50", "'50' has no unit; write it like '50 year'"),
        ("0.65 V", "'0.65 V' is not a quantity in year"),
    ],
)
def test_a_parameter_in_years_says_so_when_given_wrong(raw: str, message: str) -> None:
    parameter = load_profile("smart-pole").parameters["return_period"]

    with pytest.raises(ValueError, match=re.escape(message)):
        parameter.coerce(raw)
