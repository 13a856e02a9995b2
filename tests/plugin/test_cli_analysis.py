"""The report and the calculator commands agree: `compute` requirements read the same analysis
(ycsa_conform/analysis.py) that `ycsa-conform loads` and `ycsa-conform lighting` print."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.resources import data_dir

SITE = data_dir("fixtures") / "sites" / "kunming-main-road.yaml"

HEAD = """\
profile: analysis-test
version: "0.1.0"
title: {en: Analysis, zh: 分析}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  city: {type: text, default: Kunming, title: {en: City, zh: 城市}}
  return_period: {type: quantity, unit: year, default: 50 year, title: {en: R, zh: R}}
  max_top_deflection_ratio: {type: number, default: 0.013333, title: {en: D, zh: D}}
  prediction_tolerance: {type: quantity, unit: percent, default: 20 %, title: {en: T, zh: T}}
  # The fixture site still sets it (the old SP-LOAD-001 limit); no formula reads it.
  basic_wind_pressure: {type: quantity, unit: kN/m^2, default: 0.30 kN/m^2, title: {en: W, zh: W}}
requirements:
"""
REQUIREMENT = """\
  - id: {id}
    title: {{en: {id}, zh: {id}}}
    area: general
    level: mandatory
    refs: [{{source: practice, confidence: I}}]
    check: {check}
"""
CHECKS = {
    "AT-LOAD-001": '{kind: compute, formula: basic_wind_pressure_coverage, limit: ">= 1"}',
    "AT-LOAD-003": '{kind: compute, formula: attachment_wind_moment_utilisation, limit: "<= 1"}',
    "AT-LOAD-004": '{kind: compute, formula: wind_vibration_factor_coverage, limit: ">= 1"}',
    "AT-LOAD-005": ('{kind: compute, formula: vortex_shedding, limit: "in [clear, mitigated]"}'),
    "AT-LOAD-006": '{kind: compute, formula: base_stress_utilisation, limit: "<= 1"}',
    "AT-LOAD-007": '{kind: compute, formula: local_buckling_utilisation, limit: "<= 1"}',
    "AT-LOAD-008": (
        '{kind: compute, formula: top_deflection_ratio, limit: "<= $max_top_deflection_ratio"}'
    ),
    "AT-LOAD-009": '{kind: compute, formula: equipment_mass_utilisation, limit: "<= 1"}',
    "AT-LOAD-013": '{kind: compute, formula: seismic_stress_utilisation, limit: "<= 1"}',
    "AT-LOAD-016": '{kind: compute, formula: steel_stress_utilisation, limit: "<= 1"}',
    "AT-LOAD-014": '{kind: compute, formula: base_moment_utilisation, limit: "<= 1"}',
    "AT-LOAD-015": '{kind: compute, formula: equipment_area_utilisation, limit: "<= 1"}',
    "AT-LUM-002": (
        "{kind: record, record: lighting_grid, road_class: II, grade: high, quantities: [Eav]}"
    ),
    "AT-LUM-003": (
        "{kind: record, record: lighting_grid, road_class: II, grade: high, quantities: [UE]}"
    ),
    "AT-LUM-015": '{kind: compute, formula: predicted_illuminance_class_ratio, limit: ">= 1"}',
    "AT-LUM-016": (
        "{kind: compute, formula: measured_to_predicted_illuminance, "
        'limit: "== 1 ± $prediction_tolerance"}'
    ),
}


def _profile(pytester: pytest.Pytester) -> str:
    body = "".join(REQUIREMENT.format(id=i, check=c) for i, c in CHECKS.items())
    path = pytester.path / "analysis.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return str(path)


def _cli(pytester: pytest.Pytester, *args: str, status: int = 0) -> Any:
    result = pytester.run(sys.executable, "-m", "ycsa_conform", *args)
    assert result.ret == status, result.stderr.str()
    return json.loads(result.stdout.str())


def _report(pytester: pytest.Pytester) -> dict[tuple[str, str], dict[str, Any]]:
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    return {(r["requirement"], r["target"]): r for r in report["results"]}


def _value(result: dict[str, Any], name: str | None = None) -> Any:
    """The measurement `name`, or the deciding (last) one."""
    measurements = result["measurements"]
    if name is None:
        return measurements[-1]["value"]
    (found,) = [m["value"] for m in measurements if m["name"] == name]
    return found


def test_report_values_equal_the_loads_and_lighting_commands(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--profile", _profile(pytester), "--site", str(SITE), "-p", "no:randomly")
    results = _report(pytester)
    loads = _cli(pytester, "loads", str(SITE), "--json", status=1)  # AT-LOAD-005 fails
    lighting = _cli(pytester, "lighting", "--site", str(SITE), "--json")

    for pole, light in zip(loads["poles"], lighting["poles"], strict=True):
        target = pole["pole"]

        def report(requirement: str, name: str | None = None, target: str = target) -> Any:
            return _value(results[(requirement, target)], name)

        checks = {c["name"]: c for c in pole["checks"]}
        utilisation = {name: c["utilisation"] for name, c in checks.items()}
        assert report("AT-LOAD-006") == pytest.approx(utilisation["base stress"], rel=1e-12)
        assert report("AT-LOAD-007") == pytest.approx(utilisation["base D/t"], rel=1e-12)
        assert report("AT-LOAD-003") == pytest.approx(utilisation["attachment moment"], rel=1e-12)
        assert report("AT-LOAD-009") == pytest.approx(utilisation["equipment mass"], rel=1e-12)
        assert report("AT-LOAD-015") == pytest.approx(utilisation["equipment μs·A"], rel=1e-12)
        # SP-LOAD-008 judges the whole pole's G + W deflection (θB·θv, P-Δ), shows the first.
        second = pole["top_deflection_second_order"]
        assert second["unit"] == "mm"
        height = pole["shaft"]["height"]["value"]
        assert report("AT-LOAD-008") == pytest.approx(second["value"] / 1000 / height, rel=1e-12)
        assert report("AT-LOAD-008", "top deflection, first order") == pytest.approx(
            pole["top_deflection"]["value"], rel=1e-12
        )
        # The whole pole: the worst section × combination, and the worst seismic one.
        stresses = [c["utilisation"] for c in pole["section_checks"]]
        assert report("AT-LOAD-016") == pytest.approx(max(stresses), rel=1e-12)
        seismic = [c["utilisation"] for c in pole["section_checks"] if "E" in c["combination"]]
        assert seismic
        assert report("AT-LOAD-013") == pytest.approx(max(seismic), rel=1e-12)
        # design.rated_base_moment 10 kN·m, design_wind_vibration_factor 3.2 (fixture)
        assert pole["base_moment"]["unit"] == "kN·m"
        assert report("AT-LOAD-014") == pytest.approx(pole["base_moment"]["value"] / 10)
        assert report("AT-LOAD-004") == pytest.approx(3.2 / pole["top_wind_vibration_factor"])
        assert report("AT-LOAD-005", "critical wind speed v_cr") == pytest.approx(
            pole["critical_wind_speed"]["value"], rel=1e-12
        )
        # The fixture declares no mitigation: the realistic pole is exposed, and fails.
        assert results[("AT-LOAD-005", target)]["verdict"] == "fail"
        assert report("AT-LOAD-005") == "exposed"
        assert checks["vortex v_cr"]["verdict"] == "fail"

        # Lighting: the record requirements (Eav, UE) and the predictions.
        assert light["pole"] == target
        assert report("AT-LUM-002") == pytest.approx(light["measured"]["average_lx"], abs=5e-4)
        assert report("AT-LUM-003") == pytest.approx(light["measured"]["uniformity"], abs=5e-5)
        predicted = light["predicted"]
        assert report("AT-LUM-015", "predicted Eav") == pytest.approx(
            predicted["average_lx"], abs=5e-4
        )
        assert report("AT-LUM-015", "predicted UE") == pytest.approx(
            predicted["uniformity"], abs=5e-5
        )
        assert report("AT-LUM-016") == pytest.approx(light["measured_to_predicted"], abs=5e-5)
    assert results[("AT-LOAD-001", "P001")]["verdict"] == "pass"
    assert "(Kunming, R = 50 years" in results[("AT-LOAD-001", "P001")]["reason"]
    # The fixture's 120 W luminaire: 14.1 lx maintained < 20 lx of class II high.
    assert results[("AT-LUM-015", "P001")]["verdict"] == "fail"
    assert results[("AT-LUM-016", "P001")]["verdict"] == "pass"


def test_an_unknown_city_is_an_error_with_a_suggestion(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--profile",
        _profile(pytester),
        "--site",
        str(SITE),
        "--param",
        "city=Kunmin",
        "-k",
        "AT-LOAD-001 and P001",
    )

    result.stdout.fnmatch_lines(
        [
            "*cannot be decided: parameter city: city 'Kunmin' is not in the transcribed Yunnan "
            "part of GB 50009-2012 Table E.5; did you mean 'kunming'?*"
        ]
    )
    assert _report(pytester)[("AT-LOAD-001", "P001")]["verdict"] == "error"


def test_loads_without_a_site_analyses_the_built_in_bench(pytester: pytest.Pytester) -> None:
    data = _cli(pytester, "loads", "--json")

    (only,) = data["poles"]
    assert data["site"] == "bench-smart-pole"
    assert only["pole"] == "P001"
    # The bench declares a damper: v_cr is below the limit, the row says mitigated and the pole
    # passes (GB 50009 8.5.3).
    assert {c["name"]: c["verdict"] for c in only["checks"]}["vortex v_cr"] == "mitigated"
    assert only["vortex_mitigation"] == "damper"
    assert only["passed"] is True


def test_loads_json_gives_every_section_and_combination(pytester: pytest.Pytester) -> None:
    data = _cli(pytester, "loads", "--json")

    (only,) = data["poles"]
    where = {(c["name"], c["combination"]) for c in only["section_checks"]}
    combinations = ["1.0×(1.3G + 1.5W)", "1.0×(1.0G + 1.5W)", "1.2G + 1.3E + 0.2×1.4W"]
    for name in ("stress, base", "stress, section change 5 m", "stress, door 0.5 m"):
        for combination in combinations:
            assert (name, combination) in where
    for check in only["section_checks"]:
        assert set(check) >= {"name", "height", "combination", "value", "limit", "utilisation"}
        assert set(check) >= {"verdict", "basis"}
        assert check["verdict"] == "pass"
    actions = {a["combination"]: a for a in only["base_actions"]}
    assert set(actions) == {*combinations, "G + W", "G + E"}
    assert actions["G + W"]["limit"] == "characteristic"
    assert actions["1.0×(1.3G + 1.5W)"]["moment"]["unit"] == "kN·m"
    assert only["brackets"][0]["name"] == "luminaire"
    # Below the shaft: the bench declares its base plate, bolts and pad (checked per ultimate
    # and characteristic combination); fatigue has no combination.
    ultimate = {a for a, v in actions.items() if v["limit"] == "ultimate"}
    for slot, under in (
        ("base_plate", ultimate),
        ("anchor_bolts", ultimate),
        ("foundation", {"G + W", "G + E"}),
    ):
        assert {c["combination"] for c in only[slot]} == under, slot
        assert all(c["verdict"] == "pass" for c in only[slot]), slot
    assert only["recommended_failed"] == []  # fatigue (SP-LOAD-017) is said apart
    assert {c["name"] for c in only["fatigue"]} == {
        "base weld fatigue (gust)",
        "anchor bolt fatigue (gust)",
        "base weld fatigue (vortex)",
        "anchor bolt fatigue (vortex)",
    }


def test_loads_deflection_limit_follows_the_option(pytester: pytest.Pytester) -> None:
    # H/200 fails the bench pole's deflection: the pole fails, and `loads` exits 1.
    data = _cli(pytester, "loads", "--json", "--max-top-deflection-ratio", "0.005", status=1)

    deflection = {c["name"]: c for c in data["poles"][0]["checks"]}["top deflection"]
    assert deflection["limit"] == {"value": pytest.approx(50.0), "unit": "mm"}
    assert deflection["verdict"] == "fail"


def test_loads_of_an_unknown_bench_suggests_the_name(pytester: pytest.Pytester) -> None:
    result = pytester.run(sys.executable, "-m", "ycsa_conform", "loads", "--bench", "smart-pol")

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["ycsa-conform loads: --bench: unknown bench 'smart-pol'; did you mean 'smart-pole'?*"]
    )


def test_loads_of_the_community_bench_analyses_the_pole_it_includes(
    pytester: pytest.Pytester,
) -> None:
    # The community bench's site template is not a site on its own (its pole comes from the
    # smart-pole bench): loads builds the site the running bench would give. Its one pole is
    # the smart-pole bench's, so every number equals that bench's; the community is no pole.
    community = _cli(pytester, "loads", "--bench", "smart-community", "--json")
    pole = _cli(pytester, "loads", "--bench", "smart-pole", "--json")

    assert [p["pole"] for p in community["poles"]] == ["P001"]
    assert community["poles"][0]["base_moment"] == pole["poles"][0]["base_moment"]
    assert community["poles"][0]["passed"] is True

    command = ("loads", "--bench", "smart-community", "--pole", "C001")
    result = pytester.run(sys.executable, "-m", "ycsa_conform", *command)
    assert result.ret == 4
    assert "C001 is a community target" in result.stderr.str()


@pytest.mark.parametrize("command", ["loads", "lighting"])
def test_loads_and_lighting_take_a_site_both_ways(pytester: pytest.Pytester, command: str) -> None:
    status = 1 if command == "loads" else 0  # the fixture's P002 fails a structural check
    positional = _cli(pytester, command, str(SITE), "--json", status=status)
    option = _cli(pytester, command, "--site", str(SITE), "--json", status=status)

    assert positional == option
    assert [p["pole"] for p in option["poles"]] == ["P001", "P002"]
    both = pytester.run(
        sys.executable, "-m", "ycsa_conform", command, str(SITE), "--site", str(SITE)
    )
    assert both.ret == 4
    assert "give SITE or --site SITE, not both" in both.stderr.str()


def test_lighting_of_the_bench_gives_its_photometric_figures(pytester: pytest.Pytester) -> None:
    data = _cli(pytester, "lighting", "--json")

    (only,) = data["poles"]
    assert only["cutoff"]["class"] == "semi-cut-off"
    assert only["cutoff"]["at_80_cd_per_klm"] <= 100
    assert only["predicted"]["average_lx"] >= 20
    assert [c["verdict"] for c in only["predicted"]["checks"]] == ["pass", "pass"]
    assert only["upward_light_ratio_percent"] < 15


def test_the_lighting_doc_shows_what_the_command_prints(pytester: pytest.Pytester) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "engineering" / "lighting.md"
    block = re.search(
        r"```text\n\$ ycsa-conform lighting --site (\S+) --pole P001\n(.*?)```",
        doc.read_text(encoding="utf-8"),
        re.S,
    )
    assert block is not None, "docs/engineering/lighting.md lost its site example"

    result = pytester.run(
        sys.executable, "-m", "ycsa_conform", "lighting", "--site", str(SITE), "--pole", "P001"
    )

    assert result.ret == 0, result.stderr.str()
    assert result.stdout.lines == block.group(2).splitlines()


@pytest.mark.parametrize("command", ["loads", "lighting"])
def test_a_pole_the_site_lacks_is_named_with_the_ones_it_has(
    pytester: pytest.Pytester, command: str
) -> None:
    result = pytester.run(sys.executable, "-m", "ycsa_conform", command, "--pole", "P999")

    assert result.ret == 4
    assert result.stdout.str() == ""
    assert (
        result.stderr.str()
        .strip()
        .endswith("smart-pole.site.yaml: no target 'P999' to analyse; the site has P001")
    )
