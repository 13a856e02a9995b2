"""With --alluredir, profile items carry Allure labels (real allure-pytest, no mock)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def _results(directory: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for path in directory.glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        labels = {label["name"]: label["value"] for label in data["labels"]}
        found[labels["story"]] = {**data, "label_map": labels}
    return found


def test_profile_items_are_labelled_for_allure(pytester: pytest.Pytester) -> None:
    out = pytester.path / "allure-results"
    pytester.runpytest(
        "--profile",
        "smart-pole",
        "--bench-fault",
        "low-power-factor",
        "-k",
        "SP-PWR-008 or SP-LUM-007",
        "--alluredir",
        str(out),
    )

    results = _results(out)
    assert set(results) == {"SP-PWR-008", "SP-LUM-007"}
    failed = results["SP-PWR-008"]
    labels = failed["label_map"]
    assert labels["epic"] == "smart-pole"
    assert labels["feature"] == "power"
    assert labels["severity"] == "critical"
    assert results["SP-LUM-007"]["label_map"]["severity"] == "normal"  # recommended
    assert failed["status"] == "failed"
    assert "0.82 is below 0.9" in failed["statusDetails"]["message"]
    attachments = [a["name"] for a in failed.get("attachments", [])]
    assert "measurements" in attachments
