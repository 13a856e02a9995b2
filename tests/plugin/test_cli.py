"""The `ycsa-conform` command (run as `python -m ycsa_conform`)."""

from __future__ import annotations

import json
import sys

import pytest

from ycsa_conform.resources import data_dir


def _cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "ycsa_conform", *args)


def test_every_shipped_file_validates(pytester: pytest.Pytester) -> None:
    files = [
        *data_dir("profiles").glob("*.yaml"),
        *(data_dir("benches") / "devicemaps").glob("*.yaml"),
        *data_dir("fixtures").rglob("*.yaml"),
    ]

    result = _cli(pytester, "validate", *map(str, files))

    assert result.ret == 0, result.stderr.str()
    assert result.stdout.str().count(": ok") == len(files) >= 6


def test_profile_show_json_lists_requirements_with_refs(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "profile", "show", "smart-pole", "--json")

    data = json.loads(result.stdout.str())
    requirement = next(r for r in data["requirements"] if r["id"] == "SP-PWR-001")
    assert requirement["area"] == "power"
    assert requirement["check"] == "measure"
    assert requirement["refs"][0]["source"] == "GB/T 12325-2008"
    assert requirement["refs"][0]["association_clause"] is None
    assert {r["area"] for r in data["requirements"]} >= {
        "mounting-load",
        "power",
        "lighting",
        "data-interface",
    }


def test_profiles_lists_the_built_in_profile(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "profiles")

    result.stdout.fnmatch_lines(["smart-pole *requirements*智慧灯杆*"])


def test_bench_faults_json_names_the_requirements_they_break(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "bench", "faults", "--json")

    faults = {f["name"]: f for f in json.loads(result.stdout.str())}
    assert faults["low-power-factor"]["breaks"] == ["SP-PWR-008"]
    assert faults["low-power-factor"]["verdict"] == "fail"
    assert faults["meter-timeout"]["verdict"] == "error"
    assert len(faults) >= 17


def test_bench_faults_lists_one_line_per_fault_with_its_verdict(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "bench", "faults")

    result.stdout.fnmatch_lines(
        [
            "smart-pole *low-power-factor * fail  SP-PWR-008: the LED driver's power factor *",
            "smart-pole *tilt-device-failure * error SP-LOAD-012: the tilt sensor * failure",
            "smart-community *recorder-7-days * fail  SC-003: the video recorder keeps only 7 *",
        ]
    )


def test_bench_faults_of_one_bench_as_json(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "bench", "faults", "--bench", "smart-community", "--json")

    rows = json.loads(result.stdout.str())
    assert {r["bench"] for r in rows} == {"smart-community"}
    assert {"alarms-delayed", "recorder-7-days"} <= {r["name"] for r in rows}


def test_validate_of_a_file_that_is_none_of_the_kinds(pytester: pytest.Pytester) -> None:
    other = pytester.makefile(".yaml", other="hello: world\n")

    result = _cli(pytester, "validate", str(other))

    assert result.ret == 1
    result.stderr.fnmatch_lines(["*other.yaml:1: $: not a profile, site or device map*"])
