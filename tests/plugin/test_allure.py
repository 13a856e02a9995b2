"""With --alluredir, a real bench run writes Allure results a handover can use: titles and
bilingual descriptions, the observation's own duration, labels, links, measurement and traffic
attachments, environment.properties and categories.json (real allure-pytest, no mock)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

SELECT = "SP-PWR-008 or SP-LUM-007 or SP-DATA-018 or SP-DATA-020 or SP-LOAD-001"
FAULT = ["--bench-fault", "low-power-factor"]


def _results(directory: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in directory.glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        labels = {label["name"]: label["value"] for label in data["labels"]}
        found[labels["story"]] = {**data, "label_map": labels}
    return found


def _report(pytester: pytest.Pytester) -> dict[str, dict[str, Any]]:
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text("utf-8"))
    return {r["requirement"]: r for r in report["results"]}


def _attachment(directory: Path, result: dict[str, Any], name: str) -> str:
    found = [a for a in result.get("attachments", []) if a["name"] == name]
    assert found, f"no attachment {name!r} in {[a['name'] for a in result['attachments']]}"
    return (directory / found[0]["source"]).read_text(encoding="utf-8")


@pytest.fixture
def bench_run(pytester: pytest.Pytester) -> tuple[Path, dict[str, dict[str, Any]]]:
    out = pytester.path / "allure-results"
    pytester.runpytest(
        "--profile", "smart-pole", *FAULT, "-k", SELECT, "--alluredir", str(out), "--record", "rec"
    )
    return out, _results(out)


def test_titles_and_bilingual_descriptions_reach_the_results(
    pytester: pytest.Pytester, bench_run: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    _, results = bench_run
    assert set(results) == {"SP-PWR-008", "SP-LUM-007", "SP-DATA-018", "SP-DATA-020", "SP-LOAD-001"}
    failed = results["SP-PWR-008"]
    assert failed["name"] == "SP-PWR-008 Luminaire power factor at full output / 灯具满功率功率因数"
    for story, result in results.items():
        assert result["name"].startswith(f"{story} "), result["name"]
        description = result["description"]
        assert "Verdict / 判定" in description, story
        assert _report(pytester)[story]["reason"] in description
        assert "Target / 对象 | P001" in description
    assert "fail / 不合格" in failed["description"]
    assert "mandatory / 强制" in failed["description"]


def test_each_result_lasts_as_long_as_its_observation(
    pytester: pytest.Pytester, bench_run: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    # The executor decides ahead of the items: allure-pytest's own start/stop would frame the
    # item's runtest (0 ms). Each must be the decision's own duration, rounded outwards.
    _, results = bench_run
    decided = _report(pytester)
    for story, result in results.items():
        took = result["stop"] - result["start"]
        assert took > 0, story
        assert decided[story]["duration"] * 1000 <= took <= decided[story]["duration"] * 1000 + 2


def test_the_failure_message_is_the_reason(
    pytester: pytest.Pytester, bench_run: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    _, results = bench_run
    failed = results["SP-PWR-008"]
    assert failed["status"] == "failed"
    assert failed["statusDetails"]["message"] == _report(pytester)["SP-PWR-008"]["reason"]
    assert "0.82 is below 0.9" in failed["statusDetails"]["message"]
    assert "power_factor = 0.82" in failed["statusDetails"]["trace"]


def test_labels_parameters_and_links(
    bench_run: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    _, results = bench_run
    labels = results["SP-PWR-008"]["label_map"]
    assert labels["epic"] == "smart-pole"
    assert labels["feature"] == "power"
    assert labels["severity"] == "critical"
    assert labels["target"] == "P001"
    assert labels["verdict"] == "fail"
    assert results["SP-LUM-007"]["label_map"]["severity"] == "normal"  # recommended
    assert results["SP-PWR-008"]["parameters"] == [{"name": "target", "value": "'P001'"}]
    # Every reference with a URL (from the profile's `sources`) is a link.
    assert [(x["name"], x["url"]) for x in results["SP-DATA-018"]["links"]] == [
        ("OASIS MQTT 3.1.1", "https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/mqtt-v3.1.1.html")
    ]
    assert [x["url"] for x in results["SP-DATA-020"]["links"]] == [
        "https://www.modbus.org/specs.php"
    ]
    assert not results["SP-LOAD-001"].get("links")  # GB 50009 has no public URL


def test_measurements_and_recorded_traffic_are_attached(
    bench_run: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    out, results = bench_run
    failed = results["SP-PWR-008"]
    rows = json.loads(_attachment(out, failed, "measurements"))
    assert rows[0]["name"] == "power_factor"
    assert rows[0]["value"] == 0.82
    table = _attachment(out, failed, "measurement table / 测量值")
    assert '<tr class="fail"><td>power_factor</td><td>0.82</td>' in table
    traffic = [json.loads(line) for line in _attachment(out, failed, "device traffic").splitlines()]
    assert {line["direction"] for line in traffic} == {"tx", "rx"}
    assert {line["device"] for line in traffic} >= {"lamp"}


def test_a_replayed_run_attaches_the_traffic_it_was_answered(
    pytester: pytest.Pytester, bench_run: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    replayed = pytester.path / "allure-replayed"
    pytester.runpytest(
        "--profile", "smart-pole", "-k", SELECT, "--alluredir", str(replayed), "--replay", "rec"
    )
    results = _results(replayed)
    failed = results["SP-PWR-008"]
    assert failed["status"] == "failed"  # the recorded fault, replayed
    lines = _attachment(replayed, failed, "device traffic (replayed)").splitlines()
    traffic = [json.loads(line) for line in lines]
    assert traffic
    assert all(line["replayed"] for line in traffic)
    answers = [line for line in traffic if line["direction"] == "rx"]
    assert answers
    assert all("response" in line or "error" in line for line in answers)


def test_environment_and_categories_are_written(
    bench_run: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    out, results = bench_run
    environment = dict(
        line.split("=", 1)
        for line in (out / "environment.properties").read_text("latin-1").splitlines()
    )
    assert environment["profile.smart-pole"].startswith("0.")
    assert environment["bench_faults"] == "low-power-factor"
    assert environment["site"].startswith("bench-smart-pole (bench)")
    assert environment["conclusion"].startswith("fails:")
    categories = json.loads((out / "categories.json").read_text("utf-8"))
    message = results["SP-PWR-008"]["statusDetails"]["message"]
    matched = [
        c["name"]
        for c in categories
        if "failed" in c["matchedStatuses"]
        and re.fullmatch(c.get("messageRegex", r"[\s\S]*"), message)
    ]
    assert matched == ["Does not conform / 不合格"]


def test_each_pole_of_a_fleet_has_its_own_history(pytester: pytest.Pytester) -> None:
    # allure-pytest builds a custom item's history id from its node id without "[P001]": the
    # target parameter keeps the poles apart, or Allure would show P002 as a retry of P001.
    out = pytester.path / "allure-results"
    pytester.runpytest(
        "--profile",
        "smart-pole",
        "--bench-poles",
        "2",
        "-k",
        "SP-LOAD-001",
        "--alluredir",
        str(out),
    )
    results = [json.loads(p.read_text("utf-8")) for p in out.glob("*-result.json")]
    assert len(results) == 2
    assert len({r["historyId"] for r in results}) == 2
