"""The documented Allure command (docs/allure.md) renders a real run's allure-results into one
HTML file with no analytics script, and the page holds what the results hold.

Needs the Allure 3 CLI (npm package `allure`): `npm install -g allure@3.18.0`, or set
YCSA_ALLURE to its `allure` executable (for example node_modules/.bin/allure).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest


def _allure3() -> str:
    given = os.environ.get("YCSA_ALLURE") or shutil.which("allure")
    reason = (
        "the Allure 3 CLI is not installed; install it with 'npm install -g allure@3.18.0' "
        "or set YCSA_ALLURE to its allure executable"
    )
    if given:
        try:
            version = subprocess.run(
                [given, "--version"], capture_output=True, text=True, timeout=60, check=False
            ).stdout.strip()
        except OSError:
            version = ""
        if version.startswith("3."):
            return given
        reason = f"{given} is not Allure 3 (--version says {version!r}); {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def _embedded(page: str) -> dict[str, Any]:
    """The report data a single-file Allure page carries: d("name", "base64") calls."""
    found = re.findall(r'd\("([^"]+)","([^"]*)"\)', page)
    return {
        name: json.loads(base64.b64decode(data))
        for name, data in found
        if name.endswith(".json") and not name.startswith("data/attachments/")
    }


def test_one_html_file_without_analytics_holds_the_run(pytester: pytest.Pytester) -> None:
    allure = _allure3()
    results = pytester.path / "allure-results"
    pytester.runpytest(
        "--profile",
        "smart-pole",
        "--bench-fault",
        "low-power-factor",
        "-k",
        "SP-PWR-008 or SP-DATA-018",
        "--alluredir",
        str(results),
    )
    # The command of docs/allure.md.
    subprocess.run(
        [
            allure,
            "generate",
            "--config",
            str(results / "allurerc.json"),
            "-o",
            "report",
            str(results),
        ],
        cwd=pytester.path,
        env={**os.environ, "ALLURE_NO_ANALYTICS": "true"},
        check=True,
        capture_output=True,
        timeout=300,
    )
    page = (pytester.path / "report" / "index.html").read_text(encoding="utf-8")
    assert "googletagmanager" not in page
    assert "gtag(" not in page
    # Self-contained: nothing loaded from elsewhere.
    assert not re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', page)

    data = _embedded(page)
    cases = {c["name"]: c for k, c in data.items() if k.startswith("data/test-cases/")}
    failed = cases["SP-PWR-008 Luminaire power factor at full output / 灯具满功率功率因数"]
    assert failed["status"] == "failed"
    assert failed["statusMessage"].startswith("SP-PWR-008 power_factor: 0.82 is below 0.9")
    assert "Verdict / 判定 | fail / 不合格" in failed["description"]
    assert failed["time"]["duration"] > 0
    assert [a["name"] for a in failed["testStage"]["attachments"]] == [
        "measurements",
        "measurement table / 测量值",
    ]
    mqtt = cases["SP-DATA-018 Gateway stays connected / 网关保持在线"]
    assert [link["url"] for link in mqtt["links"]] == [
        "https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/mqtt-v3.1.1.html"
    ]
    environment = {e["name"]: e["values"] for e in data["widgets/environment.json"]}
    assert environment["bench_faults"] == ["low-power-factor"]
    categories = [c["name"] for c in data["widgets/categories.json"]["items"]]
    assert categories == ["Does not conform / 不合格"]
