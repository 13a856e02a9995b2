"""judge(): one value against one resolved limit gives a verdict and the reason in words."""

from __future__ import annotations

from typing import Any

import pint
import pytest

from ycsa_conform.evaluation import judge
from ycsa_conform.limit import ResolvedLimit, parse_limit
from ycsa_conform.result import Verdict
from ycsa_conform.units import parse_quantity

Q = parse_quantity


def limit(text: str) -> ResolvedLimit:
    return parse_limit(text).resolve({})


@pytest.mark.parametrize(
    ("value", "text", "verdict", "reason"),
    [
        (Q("0.82"), ">= 0.9", Verdict.FAIL, "0.82 is below 0.9"),
        (Q("0.95"), ">= 0.9", Verdict.PASS, "0.95 meets >= 0.9"),
        (Q("0.9"), ">= 0.9", Verdict.PASS, "0.9 meets >= 0.9"),
        (Q("3 V"), "> 3 V", Verdict.FAIL, "3 V is not above 3 V"),
        (Q("3 V"), "< 3 V", Verdict.FAIL, "3 V is not below 3 V"),
        (Q("190 V"), "198 V .. 235.4 V", Verdict.FAIL, "190 V is below 198 V"),
        (Q("236 V"), "198 V .. 235.4 V", Verdict.FAIL, "236 V is above 235.4 V"),
        (Q("235.4 V"), "198 V .. 235.4 V", Verdict.PASS, "235.4 V meets 198 V .. 235.4 V"),
        (Q("49.9 Hz"), "== 50 Hz ± 0.2 Hz", Verdict.PASS, "49.9 Hz meets 49.8 Hz .. 50.2 Hz"),
        (Q("50.3 Hz"), "== 50 Hz ± 0.2 Hz", Verdict.FAIL, "50.3 Hz is above 50.2 Hz"),
        (Q("236 V"), "== 220 V ± 7 %", Verdict.FAIL, "236 V is above 235.4 V"),
        (Q("4 %"), "<= 5 %", Verdict.PASS, "4 % meets <= 5 %"),
        (Q("4 ‰"), "-3 ‰ .. 3 ‰", Verdict.FAIL, "4 ‰ is above 3 ‰"),
    ],
)
def test_verdicts_and_reasons(
    value: pint.Quantity[Any], text: str, verdict: Verdict, reason: str
) -> None:
    judgement = judge(value, limit(text))

    assert (judgement.verdict, judgement.text) == (verdict, reason)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("199 V", "199 V passes, but is within 2 V of the lower limit 198 V"),
        ("234 V", "234 V passes, but is within 2 V of the upper limit 235.4 V"),
        ("198 V", "198 V passes, but is within 2 V of the lower limit 198 V"),
    ],
)
def test_a_value_close_to_either_bound_is_marginal(value: str, reason: str) -> None:
    judgement = judge(Q(value), limit("198 V .. 235.4 V marginal 2 V"))

    assert (judgement.verdict, judgement.text) == (Verdict.MARGINAL, reason)


def test_a_value_exactly_one_band_from_the_bound_passes() -> None:
    judgement = judge(Q("200 V"), limit("198 V .. 235.4 V marginal 2 V"))

    assert (judgement.verdict, judgement.text) == (
        Verdict.PASS,
        "200 V meets 198 V .. 235.4 V (marginal within 2 V)",
    )


def test_a_marginal_band_on_a_one_sided_limit() -> None:
    judgement = judge(Q("0.91"), limit(">= 0.90 marginal 0.02"))

    assert (judgement.verdict, judgement.text) == (
        Verdict.MARGINAL,
        "0.91 passes, but is within 0.02 of the lower limit 0.9",
    )


def test_a_value_outside_the_limit_fails_even_with_a_band() -> None:
    assert judge(Q("0.87"), limit(">= 0.90 marginal 0.02")).verdict is Verdict.FAIL


def test_a_bare_band_is_in_the_unit_of_the_value() -> None:
    judgement = judge(Q("4.9 %"), limit("<= 5 % marginal 0.5"))

    assert judgement.verdict is Verdict.MARGINAL


def test_a_marginal_band_on_a_temperature_range() -> None:
    assert judge(Q("20 degC"), limit("0 degC .. 40 degC marginal 2 degC")).verdict is Verdict.PASS


@pytest.mark.parametrize(
    ("value", "verdict", "reason"),
    [
        ("0.2 kV", Verdict.PASS, "200 V meets 198 V .. 235.4 V"),
        ("0.25 kV", Verdict.FAIL, "250 V is above 235.4 V"),
        ("190000 mV", Verdict.FAIL, "190 V is below 198 V"),
    ],
)
def test_the_value_is_converted_to_the_unit_of_the_limit(
    value: str, verdict: Verdict, reason: str
) -> None:
    judgement = judge(Q(value), limit("198 V .. 235.4 V"))

    assert (judgement.verdict, judgement.text) == (verdict, reason)


def test_a_fraction_is_judged_against_a_percent_limit() -> None:
    judgement = judge(Q("0.06"), limit("<= 5 %"))

    assert (judgement.verdict, judgement.text) == (Verdict.FAIL, "6 % is above 5 %")


def test_an_angle_is_judged_as_a_slope_in_permille() -> None:
    # For small angles the slope in ‰ equals the angle in mrad: 0.2° = 3.491 mrad.
    judgement = judge(Q("0.2 deg"), limit("-3 ‰ .. 3 ‰"))

    assert (judgement.verdict, judgement.text) == (Verdict.FAIL, "3.491 ‰ is above 3 ‰")


@pytest.mark.parametrize(
    ("value", "verdict", "reason"),
    [
        ("A", Verdict.PASS, "'A' is one of [A, B]"),
        ("C", Verdict.FAIL, "'C' is not one of [A, B]"),
    ],
)
def test_one_of_text(value: str, verdict: Verdict, reason: str) -> None:
    judgement = judge(value, limit("in [A, B]"))

    assert (judgement.verdict, judgement.text) == (verdict, reason)


@pytest.mark.parametrize(
    ("value", "verdict", "reason"),
    [
        ("2 V", Verdict.PASS, "2 V is one of [1 V, 2 V]"),
        ("2000 mV", Verdict.PASS, "2000 mV is one of [1 V, 2 V]"),
        ("3 V", Verdict.FAIL, "3 V is not one of [1 V, 2 V]"),
        ("2 s", Verdict.FAIL, "2 s is not one of [1 V, 2 V]"),
    ],
)
def test_one_of_quantities_compares_in_the_unit_of_each_option(
    value: str, verdict: Verdict, reason: str
) -> None:
    judgement = judge(Q(value), limit("in [1 V, 2 V]"))

    assert (judgement.verdict, judgement.text) == (verdict, reason)


def test_a_quantity_does_not_match_a_text_option() -> None:
    assert judge(Q("2"), limit("in [A, B]")).verdict is Verdict.FAIL


def test_an_incompatible_dimension_is_an_error_not_a_failure() -> None:
    judgement = judge(Q("5 lx"), limit("198 V .. 235.4 V"))

    assert (judgement.verdict, judgement.text) == (
        Verdict.ERROR,
        "5 lx cannot be compared with 198 V (different dimensions)",
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "'abc' is not a number, so it cannot meet '>= 0.9'"),
        (True, "True is not a number, so it cannot meet '>= 0.9'"),
    ],
)
def test_text_or_a_flag_against_a_numeric_limit_is_an_error(value: str | bool, reason: str) -> None:
    judgement = judge(value, limit(">= 0.9"))

    assert (judgement.verdict, judgement.text) == (Verdict.ERROR, reason)


@pytest.mark.parametrize(
    ("value", "reason"),
    [(Q("5 lx"), "5 lx (read)"), ("x", "'x' (read)"), (True, "True (read)")],
)
def test_without_a_limit_a_readable_value_passes(
    value: pint.Quantity[Any] | str, reason: str
) -> None:
    judgement = judge(value, None)

    assert (judgement.verdict, judgement.text) == (Verdict.PASS, reason)


def test_a_limit_without_bounds_passes_a_readable_value() -> None:
    empty = ResolvedLimit(
        text="",
        lower=None,
        lower_inclusive=True,
        upper=None,
        upper_inclusive=True,
        one_of=None,
        marginal=None,
    )

    assert judge(Q("230 V"), empty).text == "230 V (read)"


# -- values that are not numbers are never judged --------------------------------------------


@pytest.mark.parametrize(
    ("magnitude", "text", "reason"),
    [
        (
            float("nan"),
            ">= 0.9",
            "value is not a number (nan), so it is not judged against >= 0.9; check the device "
            "map's type, word order and scale for it",
        ),
        (
            float("nan"),
            "<= 0.5",
            "value is not a number (nan), so it is not judged against <= 0.5; check the device "
            "map's type, word order and scale for it",
        ),
        (
            float("inf"),
            ">= 0.9",
            "value is not a finite number (inf), so it is not judged against >= 0.9; check the "
            "device map's type, word order and scale for it",
        ),
        (
            float("-inf"),
            "<= 0.5",
            "value is not a finite number (-inf), so it is not judged against <= 0.5; check the "
            "device map's type, word order and scale for it",
        ),
        (float("nan"), "in [0.5, 0.9]", "value is not a number (nan), so it is not judged"),
    ],
)
def test_a_value_that_is_not_a_finite_number_is_an_error_never_a_pass(
    magnitude: float, text: str, reason: str
) -> None:
    # Every comparison with NaN is false: "NaN below 0.9" is false, so NaN would meet ">= 0.9".
    judgement = judge(Q("1") * magnitude, limit(text))

    assert judgement.verdict is Verdict.ERROR
    assert judgement.text.startswith(reason)


def test_a_value_that_is_not_a_number_is_not_readable_either() -> None:
    judgement = judge(Q("1 W") * float("nan"), None)

    assert judgement.verdict is Verdict.ERROR
    assert judgement.text == (
        "value is not a number (nan), so it is not judged; check the device map's type, word "
        "order and scale for it"
    )


def test_a_limit_whose_parameter_is_not_a_number_judges_nothing() -> None:
    nan_limit = parse_limit("<= $standby").resolve({"standby": Q("1 W") * float("nan")})

    judgement = judge(Q("0.3 W"), nan_limit)

    assert judgement.verdict is Verdict.ERROR
    assert "'<= $standby' resolves to a bound that is not a number" in judgement.text


def test_a_value_that_is_not_a_number_is_reported_without_a_value() -> None:
    from ycsa_conform.checks.base import decide_value

    decided = decide_value("power_factor", Q("1") * float("nan"), limit(">= 0.9"), None)

    assert decided.measurement.verdict is Verdict.ERROR
    assert decided.measurement.value is None  # NaN is not a JSON number
    assert decided.text.startswith("power_factor: value is not a number (nan)")
