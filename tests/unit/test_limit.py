"""The limit grammar: every form it reads, every mistake it names, and how it resolves."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ycsa_conform.evaluation import judge
from ycsa_conform.limit import LimitError, ParamRef, ResolvedLimit, parse_limit
from ycsa_conform.result import Verdict
from ycsa_conform.units import Quantity, ureg


def described(text: str | float) -> str:
    return parse_limit(text).resolve({}).describe()


@pytest.mark.parametrize(
    ("text", "description"),
    [
        (">= 0.9", ">= 0.9"),
        ("> 3 V", "> 3 V"),
        ("<= 5 %", "<= 5 %"),
        ("< 3 V", "< 3 V"),
        ("≥ 1 m", ">= 1 m"),
        ("≤ 1 m", "<= 1 m"),
        ("198 V .. 235.4 V", "198 V .. 235.4 V"),
        ("-3 ‰ .. 3 ‰", "-3 ‰ .. 3 ‰"),
        ("== 5 V", "5 V .. 5 V"),
        ("== 50 Hz ± 0.2 Hz", "49.8 Hz .. 50.2 Hz"),
        ("== 50 Hz +- 0.2 Hz", "49.8 Hz .. 50.2 Hz"),
        ("== 220 V ± 7 %", "204.6 V .. 235.4 V"),
        ("in [A, B]", "in [A, B]"),
        ("in ['A', \"B\"]", "in [A, B]"),
        (">= 0.90 marginal 0.02", ">= 0.9 (marginal within 0.02)"),
        ("198 V .. 235.4 V marginal 2 V", "198 V .. 235.4 V (marginal within 2 V)"),
    ],
)
def test_each_form_of_the_grammar_resolves_to_its_bounds(text: str, description: str) -> None:
    assert described(text) == description


def test_a_strict_operator_gives_an_exclusive_bound() -> None:
    lower = parse_limit("> 3 V").resolve({})
    upper = parse_limit("< 3 V").resolve({})

    assert (lower.lower, lower.lower_inclusive) == (Quantity(3.0, "V"), False)
    assert (upper.upper, upper.upper_inclusive) == (Quantity(3.0, "V"), False)


def test_a_relative_tolerance_is_a_percentage_of_the_nominal() -> None:
    limit = parse_limit("== 220 V ± 7 %").resolve({})

    assert limit.lower is not None
    assert limit.upper is not None
    assert limit.lower.to("V").magnitude == pytest.approx(204.6)
    assert limit.upper.to("V").magnitude == pytest.approx(235.4)


@pytest.mark.parametrize(("number", "description"), [(0.9, "0.9 .. 0.9"), (5, "5 .. 5")])
def test_a_bare_number_means_equals(number: float, description: str) -> None:
    assert parse_limit(number).text == f"== {number}"
    assert described(number) == description


def test_a_list_keeps_text_items_as_text_and_reads_quantities() -> None:
    limit = parse_limit("in [1 V, 2 V, B]")

    assert limit.one_of == (Quantity(1.0, "V"), Quantity(2.0, "V"), "B")


def test_a_list_item_that_only_looks_like_a_number_stays_text() -> None:
    assert parse_limit("in [1x, 2 frobs]").one_of == ("1x", "2 frobs")


def test_parameters_names_every_reference() -> None:
    limit = parse_limit("$low .. $high marginal $band")

    assert limit.parameters() == {"low", "high", "band"}


def test_a_parameter_reference_prints_with_its_dollar() -> None:
    assert str(ParamRef("road_class")) == "$road_class"


def test_quantities_leave_out_a_relative_tolerance() -> None:
    assert parse_limit("== 220 V ± 7 %").quantities() == [Quantity(220.0, "V")]


def test_quantities_list_nominal_tolerance_and_band() -> None:
    limit = parse_limit("== 50 Hz ± 0.2 Hz marginal 0.1 Hz")

    assert limit.quantities() == [
        Quantity(50.0, "Hz"),
        Quantity(0.2, "Hz"),
        Quantity(0.1, "Hz"),
    ]


def test_resolve_fills_in_quantity_parameters() -> None:
    limit = parse_limit("$low .. $high").resolve(
        {"low": Quantity(198.0, "V"), "high": Quantity(235.4, "V")}
    )

    assert limit.describe() == "198 V .. 235.4 V"


def test_resolve_reads_a_number_parameter_as_dimensionless() -> None:
    limit = parse_limit(">= $min_ra").resolve({"min_ra": 70})

    assert limit.lower == Quantity(70.0, ureg.dimensionless)


def test_resolve_applies_a_relative_tolerance_given_by_parameter() -> None:
    limit = parse_limit("== $nominal ± $band").resolve(
        {"nominal": Quantity(50.0, "Hz"), "band": Quantity(1.0, "percent")}
    )

    assert limit.describe() == "49.5 Hz .. 50.5 Hz"


def test_resolve_rejects_a_text_parameter() -> None:
    with pytest.raises(LimitError) as excinfo:
        parse_limit(">= $road_class").resolve({"road_class": "II"})

    assert str(excinfo.value) == "parameter $road_class = 'II' is not a quantity"


def test_resolve_raises_key_error_for_a_parameter_it_is_not_given() -> None:
    with pytest.raises(KeyError, match="min_ra"):
        parse_limit(">= $min_ra").resolve({})


def test_a_resolved_limit_without_bounds_describes_itself_as_readable() -> None:
    limit = ResolvedLimit(
        text="",
        lower=None,
        lower_inclusive=True,
        upper=None,
        upper_inclusive=True,
        one_of=None,
        marginal=None,
    )

    assert limit.describe() == "readable"


def test_limit_error_is_a_value_error() -> None:
    assert issubclass(LimitError, ValueError)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the limit is empty; write it like '>= 0.9' or '198 V .. 235.4 V'"),
        ("   ", "the limit is empty; write it like '>= 0.9' or '198 V .. 235.4 V'"),
        (True, "True is not a limit; write it like '>= 0.9' or '198 V .. 235.4 V'"),
        (
            "0.9",
            "'0.9' is not a limit; start with >=, >, <=, <, == or 'in [..]', "
            "or give a range 'LOW .. HIGH'",
        ),
        (
            "about 5 V",
            "'about 5 V' is not a limit; start with >=, >, <=, <, == or 'in [..]', "
            "or give a range 'LOW .. HIGH'",
        ),
        (
            ">= 0.9 marginal",
            "'>= 0.9 marginal': 'marginal' needs a band after it, like 'marginal 0.02'",
        ),
        (
            ">= 0.9 marginal 1 marginal 2",
            "'>= 0.9 marginal 1 marginal 2' says 'marginal' twice; give one band",
        ),
        ("in [A, , B]", "'in [A, , B]': an item of the list is empty; write 'in [A, B]'"),
        (
            "in [A, B] marginal 1",
            "'in [A, B] marginal 1': a list of allowed values has no marginal band",
        ),
        (" .. 5 V", "' .. 5 V': a range needs both ends, like '198 V .. 235.4 V'"),
        ("5 V ..", "'5 V ..': a range needs both ends, like '198 V .. 235.4 V'"),
        (
            "235.4 V .. 198 V",
            "'235.4 V .. 198 V': the lower end is above the upper end; write '198 V .. 235.4 V'",
        ),
        ("5 V .. 3 s", "'5 V .. 3 s': the two ends have different dimensions"),
        (
            "$1abc .. 3",
            "'$1abc' in '$1abc .. 3' is not a parameter name; write '$road_class'",
        ),
        (
            ">= $road-class",
            "'$road-class' in '>= $road-class' is not a parameter name; write '$road_class'",
        ),
        (
            ">= 20 lx ± 2",
            "'>= 20 lx ± 2': '20 lx ± 2' is not a quantity; write a number and a unit, "
            "like '230 V'",
        ),
        (
            "== 50 Hz ± ",
            "'== 50 Hz ± ': '' is not a quantity; write a number and a unit, like '230 V'",
        ),
        (">= abc", "'>= abc': 'abc' does not start with a number; write it like '230 V'"),
        (">= 5 frobs", "'>= 5 frobs': 'frobs' is not a unit we know"),
    ],
)
def test_bad_limits_are_rejected_with_the_fix(text: str | bool, message: str) -> None:
    with pytest.raises(LimitError) as excinfo:
        parse_limit(text)

    assert str(excinfo.value) == message


def test_a_negative_tolerance_is_rejected() -> None:
    with pytest.raises(LimitError):
        parse_limit("== 50 Hz ± -0.2 Hz")


def test_a_tolerance_on_a_temperature_resolves_to_a_range() -> None:
    assert described("== 20 degC ± 2 degC") == "18 °C .. 22 °C"


def test_a_unit_with_a_dangling_operator_is_a_limit_error() -> None:
    with pytest.raises(LimitError) as excinfo:
        parse_limit(">= 5 kN/m^")

    assert str(excinfo.value) == "'>= 5 kN/m^': 'kN/m^' is not a unit we know"


# Finite, moderate magnitudes: a range in volts as a profile would write it.
magnitudes = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(a=magnitudes, b=magnitudes)
def test_a_written_range_resolves_to_exactly_its_two_ends(a: float, b: float) -> None:
    low, high = min(a, b), max(a, b)

    limit = parse_limit(f"{low!r} V .. {high!r} V").resolve({})

    assert limit.lower == Quantity(low, "V")
    assert limit.upper == Quantity(high, "V")


@given(a=magnitudes, b=magnitudes, data=st.data())
def test_values_inside_a_range_pass_and_outside_fail(
    a: float, b: float, data: st.DataObject
) -> None:
    low, high = min(a, b), max(a, b)
    limit = parse_limit(f"{low!r} V .. {high!r} V").resolve({})
    inside = data.draw(st.floats(min_value=low, max_value=high))
    beyond = data.draw(st.floats(min_value=1e-3, max_value=1e3))

    assert judge(Quantity(inside, "V"), limit).verdict is Verdict.PASS
    assert judge(Quantity(high + beyond, "V"), limit).verdict is Verdict.FAIL
    assert judge(Quantity(low - beyond, "V"), limit).verdict is Verdict.FAIL


@given(a=magnitudes, b=magnitudes)
def test_a_range_written_backwards_is_always_rejected(a: float, b: float) -> None:
    assume(a != b)
    high, low = max(a, b), min(a, b)

    with pytest.raises(LimitError, match="the lower end is above the upper end"):
        parse_limit(f"{high!r} V .. {low!r} V")
