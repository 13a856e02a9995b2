"""--junitxml for CI views: test cases named with the requirement's title, JSON where there are
properties, and a file valid against the xunit2 schema (pytest's default family)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

xmlschema = pytest.importorskip("xmlschema", reason="pip install -e '.[test]' installs xmlschema")

XUNIT2 = Path(__file__).parent / "data" / "xunit2.xsd"
RUN = [
    "--profile",
    "smart-pole",
    "--bench-fault",
    "low-power-factor",
    "--bench-fault",
    "tilt-device-failure",
    "-k",
    "SP-PWR-008 or SP-LOAD-012 or SP-LOAD-001",
]


def _cases(path: Path) -> dict[str, ET.Element]:
    return {case.get("name", ""): case for case in ET.parse(path).iter("testcase")}


def test_cases_carry_the_title_and_the_file_is_xunit2_valid(pytester: pytest.Pytester) -> None:
    out = pytester.path / "junit.xml"
    pytester.runpytest(*RUN, "--junitxml", str(out)).assert_outcomes(passed=1, failed=1, errors=1)
    schema = xmlschema.XMLSchema(XUNIT2)
    problems = [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(out))]
    assert problems == []
    cases = _cases(out)
    assert set(cases) == {
        "SP-PWR-008[P001] Luminaire power factor at full output",
        "SP-LOAD-001[P001] Design basic wind pressure covers the site",
        "SP-LOAD-012[P001] Installed pole is vertical",
    }
    failed = cases["SP-PWR-008[P001] Luminaire power factor at full output"]
    assert failed.get("classname") == "smart-pole"
    failure = failed.find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("SP-PWR-008 power_factor: 0.82 is below 0.9")
    assert cases["SP-LOAD-012[P001] Installed pole is vertical"].find("error") is not None
    # xunit2 has no properties in a test case: the suite holds the run, as JSON.
    properties = {
        p.get("name"): p.get("value", "") for p in ET.parse(out).getroot().iter("property")
    }
    assert set(properties) == {"ycsa_run"}
    run = json.loads(properties["ycsa_run"])
    assert run["summary"]["fail"] == 1
    assert run["summary"]["error"] == 1
    assert run["conclusion"]["status"] == "fails"
    assert run["profiles"][0]["id"] == "smart-pole"


def test_with_xunit1_each_case_holds_its_result_as_json(pytester: pytest.Pytester) -> None:
    out = pytester.path / "junit.xml"
    pytester.runpytest(*RUN, "--junitxml", str(out), "-o", "junit_family=xunit1")
    failed = _cases(out)["SP-PWR-008[P001] Luminaire power factor at full output"]
    properties = {p.get("name"): p.get("value", "") for p in failed.iter("property")}
    result = json.loads(properties["ycsa_result"])
    assert result["verdict"] == "fail"
    assert result["measurements"][0]["name"] == "power_factor"
    assert result["title"]["zh"] == "灯具满功率功率因数"


def test_the_reports_still_hold_every_result(pytester: pytest.Pytester) -> None:
    # Our results travel as user properties; taking them off the JUnit report must not take
    # them from the journal and report.json.
    pytester.runpytest(*RUN, "--junitxml", str(pytester.path / "junit.xml"))
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text("utf-8"))
    assert sorted(r["requirement"] for r in report["results"]) == [
        "SP-LOAD-001",
        "SP-LOAD-012",
        "SP-PWR-008",
    ]
