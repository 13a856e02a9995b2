"""The `fuzz` check kind as a profile writes it, and the frames it builds (no device here: the
check against real servers is tests/bench/test_fuzz_check.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ycsa_conform.checks.fuzz import UNASSIGNED, FuzzCheck
from ycsa_conform.errors import InputError
from ycsa_conform.profile import load_profile
from ycsa_conform.resources import data_dir

PROFILE = (data_dir("profiles") / "smart-pole.yaml").read_text(encoding="utf-8")


def profile_with(tmp_path: Path, check: str) -> Path:
    body = "\n".join(f"      {line}" for line in check.strip().splitlines())
    text = PROFILE.rstrip("\n") + (
        "\n\n  - id: SP-TEST-001\n"
        "    title: {en: fuzz, zh: 模糊}\n"
        "    area: data-interface\n"
        "    level: recommended\n"
        "    refs:\n"
        "      - {source: practice, clause: null, confidence: I, association_clause: null}\n"
        "    check:\n"
        "      kind: fuzz\n"
        f"{body}\n"
    )
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> str:
    with pytest.raises(InputError) as excinfo:
        load_profile(path)
    return "\n".join(str(p) for p in excinfo.value.problems)


def test_a_fuzz_check_parses_with_its_budget(tmp_path: Path) -> None:
    path = profile_with(tmp_path, "device: lamp\nexamples: 40\ntime: 2 min\nlength: 6")

    check = load_profile(path).requirements[-1].check

    assert check == FuzzCheck(device="lamp", examples=40, time=120.0, length=6)
    assert check.needs() == ("lamp",)


def test_the_budget_may_name_parameters(tmp_path: Path) -> None:
    path = profile_with(tmp_path, "device: lamp\nexamples: $fuzz_examples\ntime: $fuzz_time")

    check = load_profile(path).requirements[-1].check

    assert check == FuzzCheck(device="lamp", examples="$fuzz_examples", time="$fuzz_time")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("device: lamp\ntime: 3 V", "'3 V' is not a duration; give one like '3 s'"),
        ("device: lamp\ntime: 0 s", "'0 s' leaves no time to search; give one like '3 s'"),
        ("device: lamp\ntime: $fuzz_examples", "parameter $fuzz_examples is not a duration"),
        ("device: lamp\nexamples: $fuzz_time", "parameter $fuzz_time is not a number"),
        ("device: lamp\nexamples: $nothing", "unknown parameter $nothing"),
        ("device: lamp\nexamples: 0", "examples"),
        ("device: lamp\nlength: 40", "length"),
    ],
)
def test_a_bad_budget_is_a_located_problem_with_the_fix(
    tmp_path: Path, body: str, message: str
) -> None:
    found = problems(profile_with(tmp_path, body))

    assert message in found
    assert "profile.yaml:" in found


def test_unassigned_function_codes_leave_out_every_assigned_reserved_and_user_code() -> None:
    assert 25 in UNASSIGNED  # the protocol check's default illegal function
    for taken in (1, 3, 4, 6, 8, 16, 17, 22, 23, 43, 9, 90, 125, 65, 72, 100, 110):
        assert taken not in UNASSIGNED
    assert all(1 <= code <= 127 for code in UNASSIGNED)


def test_smart_pole_fuzzes_the_lamp_the_meter_and_the_gateway_as_recommended() -> None:
    profile = load_profile(data_dir("profiles") / "smart-pole.yaml")
    fuzzed = {
        r.id: r.check.device  # type: ignore[attr-defined]
        for r in profile.requirements
        if r.check.kind == "fuzz"
    }

    assert fuzzed == {"SP-DATA-024": "lamp", "SP-DATA-025": "meter", "SP-DATA-026": "gateway"}
    assert {r.level for r in profile.requirements if r.check.kind == "fuzz"} == {"recommended"}
