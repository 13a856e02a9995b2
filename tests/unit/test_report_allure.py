"""Allure annotations, checked in the result files allure-pytest really writes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester"]

TEST_FILE = """
import pytest

from ycsa_conform.report.allure import annotate, attach_text
from ycsa_conform.result import Measurement, Result, Source, Verdict


def result(level):
    # The recommended one stands for a requirement inherited through `extends`, in a subsystem;
    # the optional one for a requirement that applies but was not tested.
    inherited = level == "recommended"
    untested = level == "optional"
    return Result(
        requirement="SP-PWR-001",
        profile="smart-community" if inherited else "smart-pole",
        source_profile="smart-pole",
        subsystem="lighting" if inherited else None,
        target="P001",
        area="power",
        level=level,
        title={"en": "Supply voltage", "zh": "供电电压"},
        verdict=Verdict.NOT_APPLICABLE if untested else Verdict.FAIL,
        untested=untested,
        reason="253.1 V is above 242 V",
        measurements=(
            Measurement(
                name="supply_voltage",
                value=253.1,
                unit="V",
                limit="198 V .. 242 V",
                verdict=Verdict.FAIL,
                source=Source(device="meter", scheme="modbus-tcp", address="40001"),
            ),
        ),
        refs=(
            {"source": "GB/T 12325-2008", "clause": "4.3", "url": "https://example.org/gbt12325"},
            {"source": "GB 50009-2012", "clause": None},
        ),
    )


@pytest.mark.parametrize("level", ["mandatory", "recommended", "optional"])
def test_annotated(level):
    annotate(result(level), profile_title="Smart lamp pole 智慧灯杆")
    attach_text("traffic", "TX 01 03 00 00 00 02")
"""


def run_with_alluredir(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    pytester.makepyfile(test_annotated=TEST_FILE)
    out = pytester.path / "allure-results"
    pytester.runpytest("--alluredir", str(out), "-p", "no:cacheprovider").assert_outcomes(passed=3)
    results = [json.loads(p.read_text(encoding="utf-8")) for p in out.glob("*-result.json")]
    return {r["parameters"][0]["value"].strip("'"): r | {"dir": out} for r in results}


def labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def test_labels_follow_profile_area_requirement_and_level(pytester: pytest.Pytester) -> None:
    by_level = run_with_alluredir(pytester)
    mandatory = by_level["mandatory"]
    assert labels(mandatory, "epic") == ["smart-pole"]
    assert labels(mandatory, "feature") == ["power"]
    assert labels(mandatory, "story") == ["SP-PWR-001"]
    assert labels(mandatory, "profile") == ["smart-pole"]
    assert labels(mandatory, "target") == ["P001"]
    assert labels(mandatory, "verdict") == ["fail"]
    assert mandatory["name"] == "SP-PWR-001 Supply voltage / 供电电压"
    assert "253.1 V is above 242 V" in mandatory["description"]
    assert "Smart lamp pole 智慧灯杆" in mandatory["description"]
    severities = {level: labels(r, "severity") for level, r in by_level.items()}
    assert severities == {
        "mandatory": ["critical"],
        "recommended": ["normal"],
        "optional": ["minor"],
    }


def test_subsystem_and_defining_profile_become_sub_suite_and_tags(
    pytester: pytest.Pytester,
) -> None:
    by_level = run_with_alluredir(pytester)
    inherited, own = by_level["recommended"], by_level["mandatory"]
    assert labels(inherited, "epic") == ["smart-community"]
    assert labels(inherited, "subSuite") == ["lighting"]
    assert labels(inherited, "subsystem") == ["lighting"]
    assert set(labels(inherited, "tag")) >= {"from:smart-pole", "subsystem:lighting"}
    assert labels(own, "subSuite") == labels(own, "subsystem") == []
    assert not [t for t in labels(own, "tag") if t.startswith(("from:", "subsystem:"))]


def test_references_with_a_url_become_links(pytester: pytest.Pytester) -> None:
    links = run_with_alluredir(pytester)["mandatory"]["links"]
    assert [(link["name"], link["url"]) for link in links] == [
        ("GB/T 12325-2008 4.3", "https://example.org/gbt12325")
    ]


def test_measurements_and_text_are_attached(pytester: pytest.Pytester) -> None:
    result = run_with_alluredir(pytester)["mandatory"]
    attachments = {a["name"]: a for a in result["attachments"]}
    assert attachments["measurements"]["type"] == "application/json"
    body = json.loads((result["dir"] / attachments["measurements"]["source"]).read_text("utf-8"))
    assert body[0]["name"] == "supply_voltage"
    assert body[0]["value"] == 253.1
    assert body[0]["source"]["device"] == "meter"
    traffic = result["dir"] / attachments["traffic"]["source"]
    assert traffic.read_text(encoding="utf-8") == "TX 01 03 00 00 00 02"


def test_without_alluredir_annotating_is_a_harmless_no_op(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_annotated=TEST_FILE)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=3)
    assert not list(Path(pytester.path).rglob("*-result.json"))


def test_a_requirement_not_tested_is_tagged_so(pytester: pytest.Pytester) -> None:
    by_level = run_with_alluredir(pytester)
    assert "not tested" in labels(by_level["optional"], "tag")
    assert labels(by_level["optional"], "verdict") == ["not_applicable"]
    assert "not tested" not in labels(by_level["mandatory"], "tag")


def _categorised(status: str, message: str) -> list[str]:
    from ycsa_conform.report.allure import CATEGORIES

    return [
        c["name"]
        for c in CATEGORIES
        if status in c["matchedStatuses"]
        and re.fullmatch(c.get("messageRegex", r"[\s\S]*"), message)
    ]


@pytest.mark.parametrize(
    ("verdict", "untested", "status", "category"),
    [
        ("fail", False, "failed", "Does not conform / 不合格"),
        ("error", False, "broken", "Could not be decided (device, map or tool) / 无法判定"),
        ("not_applicable", False, "skipped", "Not applicable / 不适用"),
        ("not_applicable", True, "skipped", "Not tested (applies, could not be tested) / 未检验"),
        ("not_applicable", True, "failed", "Not tested (applies, could not be tested) / 未检验"),
        ("pending", False, "skipped", "Pending evidence / 待补证据"),
        ("pending", False, "failed", "Pending evidence / 待补证据"),
    ],
)
def test_each_kind_of_result_falls_in_one_category(
    verdict: str, untested: bool, status: str, category: str
) -> None:
    # `status` as allure-pytest sets it (failed under --strict-acceptance for the last ones).
    from ycsa_conform.report.allure import status_message
    from ycsa_conform.result import Result, Verdict

    result = Result(
        requirement="SP-PWR-009",
        profile="smart-pole",
        target="P001",
        area="power",
        level="mandatory",
        title={"en": "Dimming", "zh": "调光"},
        verdict=Verdict(verdict),
        untested=untested,
        reason="SP-PWR-009 actuation is not allowed on field devices (practice, I)",
    )
    assert _categorised(status, status_message(result)) == [category]


def test_analytics_scripts_are_stripped_from_an_allure_page(tmp_path: Path) -> None:
    from ycsa_conform.report.allure import strip_analytics

    page = tmp_path / "index.html"
    page.write_text(
        '<html><head><script src="data:text/javascript;base64,AAA="></script>\n'
        '    <script async src="https://www.googletagmanager.com/gtag/js?id=G-X"></script>\n'
        "    <script>\n      window.dataLayer = window.dataLayer || [];\n"
        "      function gtag(){dataLayer.push(arguments);}\n      gtag('js', new Date());\n"
        "    </script>\n    <script>window.allureReportDataReady = false;</script></head></html>",
        encoding="utf-8",
    )
    assert strip_analytics(page) == 1
    text = page.read_text(encoding="utf-8")
    assert "googletagmanager" not in text
    assert "gtag" not in text
    assert "data:text/javascript;base64,AAA=" in text
    assert "window.allureReportDataReady = false;" in text
    assert strip_analytics(page) == 0
