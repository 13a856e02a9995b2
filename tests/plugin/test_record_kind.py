"""Instrument records through pytester: a failing record fails naming its row, a broken one
is an error naming FILE:LINE, and the built-in bench carries every record the profile needs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ycsa_conform.resources import data_dir

BENCH_RECORDS = data_dir("benches") / "records"

PROFILE = """\
profile: records-test
version: "0.1.0"
title: {en: Records, zh: 记录}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  earth_max: {type: quantity, unit: ohm, default: 4 ohm, title: {en: Earth, zh: 接地}}
  # The built-in bench's site sets these three.
  heartbeat_interval_max: {type: quantity, unit: s, default: 60 s, title: {en: H, zh: H}}
  heartbeat_window: {type: quantity, unit: s, default: 130 s, title: {en: W, zh: W}}
  telemetry_window: {type: quantity, unit: s, default: 5 s, title: {en: T, zh: T}}
requirements:
  - id: SP-PWR-910
    title: {en: Earth resistance, zh: 接地电阻}
    area: power
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: record
      record: earth_resistance
      judge:
        - {column: resistance, aggregate: each, limit: "<= $earth_max"}
  - id: SP-PWR-911
    title: {en: Unbalance, zh: 不平衡}
    area: power
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: record
      record: power_quality
      judge:
        - {derive: voltage_unbalance, from: [U12, U23, U31], aggregate: p95, limit: "<= 2 %"}
"""


def write_profile(pytester: pytest.Pytester) -> str:
    path = pytester.path / "records.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    return str(path)


def write_site(pytester: pytest.Pytester, earth: str) -> str:
    (pytester.path / "earth.csv").write_text(earth, encoding="utf-8")
    path = pytester.path / "site.yaml"
    path.write_text(
        f"""\
site: records-site
kind: field
targets:
  - id: P001
    kind: pole
    records:
      earth_resistance: earth.csv
      power_quality: "{BENCH_RECORDS / "power-quality.csv"}"
""",
        encoding="utf-8",
    )
    return str(path)


def results(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    return {r["requirement"]: r for r in report["results"]}


def test_a_failing_row_fails_the_requirement_and_is_named(pytester: pytest.Pytester) -> None:
    site = write_site(
        pytester,
        "# instrument: Fluke 1625-2\n# serial: 3921007\npoint,resistance (Ω)\nE1,1.8\nE2,6.3\n",
    )

    result = pytester.runpytest("--profile", write_profile(pytester), "--site", site)

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*SP-PWR-910*resistance [[]E2[]]: 6.3 Ω is above 4 Ω (line 5)*"])
    found = results(pytester)
    earth = found["SP-PWR-910"]
    assert earth["verdict"] == "fail"
    e1, e2 = earth["measurements"]
    assert (e2["name"], e2["value"], e2["unit"], e2["limit"], e2["verdict"]) == (
        "resistance [E2]",
        6.3,
        "Ω",
        "<= 4 Ω",
        "fail",
    )
    assert e1["verdict"] == "pass"
    assert e2["source"] == {
        "device": "record earth_resistance: Fluke 1625-2 s/n 3921007",
        "scheme": "file",
        "address": f"{pytester.path / 'earth.csv'}:5",
    }
    assert found["SP-PWR-911"]["verdict"] == "pass"


def test_a_parameter_from_the_command_line_moves_the_limit(pytester: pytest.Pytester) -> None:
    site = write_site(pytester, "point,resistance (Ω)\nE1,1.8\nE2,6.3\n")

    result = pytester.runpytest(
        "--profile", write_profile(pytester), "--site", site, "--param", "earth_max=10 ohm"
    )

    result.assert_outcomes(passed=2)


def test_a_cell_that_is_no_number_is_an_error_naming_file_and_line(
    pytester: pytest.Pytester,
) -> None:
    site = write_site(pytester, "point,resistance (Ω)\nE1,1.8\nE2,n/a\n")

    result = pytester.runpytest("--profile", write_profile(pytester), "--site", site)

    result.assert_outcomes(passed=1, errors=1)
    earth = results(pytester)["SP-PWR-910"]
    assert earth["verdict"] == "error"
    assert earth["reason"].startswith(
        f"SP-PWR-910 cannot be decided: {pytester.path / 'earth.csv'}:3: column 'resistance' "
        "is 'n/a', not a number; write the reading as a plain number in Ω, like '1.5'"
    )


def test_every_bench_pole_of_a_fleet_finds_the_records(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", write_profile(pytester), "--bench-poles", "2")

    result.assert_outcomes(passed=4)
    found = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())["results"]
    assert sorted((r["requirement"], r["target"]) for r in found) == [
        ("SP-PWR-910", "P001"),
        ("SP-PWR-910", "P002"),
        ("SP-PWR-911", "P001"),
        ("SP-PWR-911", "P002"),
    ]
