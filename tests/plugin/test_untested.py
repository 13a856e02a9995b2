"""Untested is not conforming, and the report holds what the verdicts depended on.

A field site (kind: field) that points at a running built-in bench stands for a pole on a
street: without --allow-actuation the requirements that command a device are not tested, and
the run must not conclude "Conforms".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ycsa_conform.bench import Bench
from ycsa_conform.profile import builtin_profiles, load_profile

# What a field run cannot test without --allow-actuation: standby power, dimming response,
# command round trip, event delivery (its trigger commands the tilt sensor).
ACTUATED = {"SP-PWR-009", "SP-LUM-010", "SP-DATA-009", "SP-DATA-019"}
# The fuzz requirements (recommended): malformed requests only on a bench or with actuation.
FUZZED = {"SP-DATA-024", "SP-DATA-025", "SP-DATA-026"}
SELECT_ACTUATED = " or ".join([*sorted(ACTUATED), "SP-PWR-001"])

# The built-in profile's size: a requirement added to it changes these runs' counts.
SMART_POLE = len(load_profile(builtin_profiles()["smart-pole"]).requirements)


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    running = Bench.start("smart-pole")
    try:
        yield running
    finally:
        running.stop()


def field_site(bench: Bench, folder: Path, **target_parameters: str) -> Path:
    """The bench's site, as a field site: actuation is no longer the tool's to decide."""
    document = yaml.safe_load(bench.write_site(folder / "bench-site.yaml").read_text())
    document["kind"] = "field"
    if target_parameters:
        document["targets"][0]["parameters"] = target_parameters
    site = folder / "field-site.yaml"
    site.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return site


def report(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    return data


def test_a_field_run_without_actuation_is_not_accepted_and_says_what_was_not_tested(
    pytester: pytest.Pytester, bench: Bench
) -> None:
    site = field_site(bench, pytester.path)

    result = pytester.runpytest("--profile", "smart-pole", "--site", str(site))

    # Nothing failed: pytest's exit status is 0, but the conclusion is not "Conforms".
    assert result.ret == pytest.ExitCode.OK
    data = report(pytester)
    untested = {r["requirement"] for r in data["results"] if r["untested"]}
    assert untested == ACTUATED | FUZZED
    assert data["summary"]["untested"] == 7
    assert data["conclusion"]["status"] == "incomplete"
    assert data["conclusion"]["conforms"] is False
    assert data["conclusion"]["en"].startswith(
        "Not accepted: 4 mandatory requirements not tested (actuation not allowed: "
    )
    assert data["allow_actuation"] is False
    out = result.stdout.str()
    assert "Conforms" not in out
    assert "符合 " not in out
    result.stdout.fnmatch_lines(
        [
            "NOT TESTED: 7 requirement(s) apply but were not tested, 4 of them mandatory*",
            "  SP-PWR-009[[]P001[]] (mandatory, actuation not allowed) *--allow-actuation*",
            "Not accepted: 4 mandatory requirements not tested (actuation not allowed: *) / "
            "未验收：4 项强制条款未检验（未允许操作设备：*",
        ]
    )
    html = (pytester.path / "ycsa-report" / "report.html").read_text(encoding="utf-8")
    top = html.split('<section id="detail"', 1)[0]
    assert "Not accepted: 4 mandatory requirements not tested" in top
    # the punch list, before the detail, names each with what to do
    punch = top.split('<section id="punch"', 1)[1]
    assert all(requirement in punch for requirement in ACTUATED)
    assert punch.count("Not tested") >= len(ACTUATED)
    assert "--allow-actuation" in punch


def test_strict_acceptance_fails_what_was_not_tested(
    pytester: pytest.Pytester, bench: Bench
) -> None:
    site = field_site(bench, pytester.path)

    result = pytester.runpytest(
        "--profile", "smart-pole", "--site", str(site), "-k", SELECT_ACTUATED, "--strict-acceptance"
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=4)
    assert report(pytester)["conclusion"]["en"] == (
        "Does not conform: 4 mandatory not tested under strict acceptance "
        f"(partial: 5 of {SMART_POLE} requirements run)"
    )


def test_the_same_field_site_has_nothing_untested_when_actuation_is_allowed(
    pytester: pytest.Pytester, bench: Bench
) -> None:
    site = field_site(bench, pytester.path)

    result = pytester.runpytest(
        "--profile", "smart-pole", "--site", str(site), "-k", SELECT_ACTUATED, "--allow-actuation"
    )

    result.assert_outcomes(passed=5)
    # Five requirements of seventy were selected: no conclusion on the whole, and nothing
    # of those five is left untested.
    result.stdout.fnmatch_lines(
        [f"Partial: 5 of {SMART_POLE} requirements run; no conclusion on the whole / *"]
    )
    data = report(pytester)
    assert (data["summary"]["untested"], data["allow_actuation"]) == (0, True)
    assert data["conclusion"]["status"] == "partial"


def test_the_report_holds_every_parameter_with_the_layer_it_came_from(
    pytester: pytest.Pytester, bench: Bench
) -> None:
    site = field_site(bench, pytester.path, voltage_window="0.3 s")

    pytester.runpytest(
        "--profile", "smart-pole", "--site", str(site), "-k", "SP-PWR-001",
        "--param", "telemetry_window=2 s",
    )  # fmt: skip

    rows = {p["name"]: p for p in report(pytester)["resolved_parameters"]}
    # The site file's `parameters:` (missing from report.json before: only --param was there).
    assert rows["heartbeat_window"]["value"] == "4 s"
    assert rows["heartbeat_window"]["layer"] == "site"
    assert rows["heartbeat_window"]["origin"].startswith(f"{site}:")
    assert rows["heartbeat_window"]["origin"].endswith("$.parameters.heartbeat_window")
    # The target's own parameters override the site's, --param overrides both.
    assert (rows["voltage_window"]["value"], rows["voltage_window"]["layer"]) == ("0.3 s", "target")
    assert rows["telemetry_window"]["layer"] == "--param"
    assert rows["telemetry_window"]["origin"] == "--param telemetry_window=2 s"
    assert rows["telemetry_window"]["value"] == "2 s"
    defaults = [p for p in rows.values() if p["layer"] == "default"]
    assert defaults
    assert all(p["origin"] == "" and p["targets"] == ["P001"] for p in defaults)
    html = (pytester.path / "ycsa-report" / "report.html").read_text(encoding="utf-8")
    cover = html.split('id="cover"', 1)[1].split("</section>", 1)[0]
    assert "<code>heartbeat_window</code></td><td>4 s</td><td>site file" in cover
    assert f"{site}:" in cover  # where it was set


def test_the_report_names_each_device_its_identity_and_its_map(
    pytester: pytest.Pytester, bench: Bench
) -> None:
    site = field_site(bench, pytester.path)

    pytester.runpytest("--profile", "smart-pole", "--site", str(site), "-k", "SP-PWR-001")

    devices = {d["role"]: d for d in report(pytester)["devices"]}
    assert set(devices) == {"lamp", "meter", "environment", "tilt", "gateway"}
    for device in devices.values():
        path = Path(device["map"]["path"])
        assert device["map"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert device["target"] == "P001"
    assert devices["lamp"]["map"]["id"] == "ycsa-bench/lamp-controller"
    assert devices["lamp"]["identity"] == {"unit": 1}
    assert devices["meter"]["identity"] == {"meter_address": bench.poles[0]["meter_address"]}
    assert devices["gateway"]["identity"]["prefix"] == bench.poles[0]["prefix"]
    # SP-PWR-001 reads the meter only: it answered, the others were not asked.
    assert {role for role, d in devices.items() if d["answered"]} == {"meter"}


def test_collect_only_leaves_the_last_report_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.runpytest("--profile", "smart-pole", "-k", "SP-LOAD-001", "-p", "no:cacheprovider")
    folder = pytester.path / "ycsa-report"
    before = {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert any(p.name == "journal.jsonl" for p in before)

    listed = pytester.runpytest("--profile", "smart-pole", "--co", "-q")

    listed.stdout.fnmatch_lines(["collect only: no report written*"])
    assert {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} == before
