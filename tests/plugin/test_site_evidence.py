"""A site file may name its own evidence file (`evidence:`); --evidence replaces it. The built-in
bench carries one, so evidence requirements are decided on the bench too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.errors import InputError
from ycsa_conform.resources import data_dir
from ycsa_conform.site import load_site

LAMP_MAP = data_dir("benches") / "devicemaps" / "lamp-controller.yaml"

PROFILE = """\
profile: evidence-test
version: "0.1.0"
title: {en: Evidence, zh: 证据}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
requirements:
  - id: ET-GEN-001
    title: {en: IP rating, zh: 防护等级}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: {kind: evidence, item: ip_rating_certificate, expect: IP65 or better}
"""

ENTRY = """\
evidence:
  - {{item: ip_rating_certificate, verdict: {verdict}, value: {value}, by: {by},
     date: 2026-11-20, files: [certificate.pdf]}}
"""


def write_site(folder: Path, evidence: str | None) -> Path:
    line = f"evidence: {evidence}\n" if evidence is not None else ""
    path = folder / "site.yaml"
    path.write_text(
        "site: evidence-site\nkind: field\n"
        + line
        + "targets:\n  - id: P001\n    kind: pole\n    devices:\n"
        + f'      lamp: {{uri: "modbus-tcp://127.0.0.1:9?unit=1", map: "{LAMP_MAP}"}}\n',
        encoding="utf-8",
    )
    return path


def write_evidence(folder: Path, name: str, *, verdict: str, value: str, by: str) -> Path:
    (folder / "certificate.pdf").write_bytes(b"%PDF-1.4 placeholder")
    path = folder / name
    path.write_text(ENTRY.format(verdict=verdict, value=value, by=by), encoding="utf-8")
    return path


def results(folder: Path) -> list[dict[str, Any]]:
    report = json.loads((folder / "ycsa-report" / "report.json").read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = report["results"]
    return found


def test_the_site_evidence_file_decides_evidence_checks(pytester: pytest.Pytester) -> None:
    write_evidence(pytester.path, "site-evidence.yaml", verdict="pass", value="IP66", by="Li Wei")
    site = write_site(pytester.path, "site-evidence.yaml")
    (pytester.path / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    result = pytester.runpytest("--profile", "profile.yaml", "--site", str(site))
    result.assert_outcomes(passed=1)
    [found] = results(pytester.path)
    assert found["verdict"] == "pass"
    assert "IP66" in found["reason"]
    assert "by Li Wei" in found["reason"]


def test_evidence_option_replaces_the_site_evidence(pytester: pytest.Pytester) -> None:
    write_evidence(pytester.path, "site-evidence.yaml", verdict="pass", value="IP66", by="Li Wei")
    write_evidence(pytester.path, "recheck.yaml", verdict="fail", value="IP44", by="Zhang Min")
    site = write_site(pytester.path, "site-evidence.yaml")
    (pytester.path / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    result = pytester.runpytest(
        "--profile", "profile.yaml", "--site", str(site), "--evidence", "recheck.yaml"
    )
    result.assert_outcomes(failed=1)
    [found] = results(pytester.path)
    assert found["verdict"] == "fail"
    assert "IP44" in found["reason"]
    assert "by Zhang Min" in found["reason"]


def test_a_missing_site_evidence_file_is_named_with_its_line(tmp_path: Path) -> None:
    site = write_site(tmp_path, "nowhere.yaml")
    with pytest.raises(InputError) as excinfo:
        load_site(site)
    [problem] = [str(p) for p in excinfo.value.problems]
    assert problem.startswith(f"{site}:3: $.evidence: evidence file 'nowhere.yaml' not found")
    assert "relative to this site file" in problem


def test_a_bad_site_evidence_file_stops_the_run_without_traceback(
    pytester: pytest.Pytester,
) -> None:
    bad = pytester.path / "site-evidence.yaml"
    bad.write_text("evidence:\n  - {item: ip_rating_certificate, verdict: maybe}\n")
    site = write_site(pytester.path, "site-evidence.yaml")
    (pytester.path / "profile.yaml").write_text(PROFILE, encoding="utf-8")
    result = pytester.runpytest("--profile", "profile.yaml", "--site", str(site))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{bad}:2: $.evidence[[]0[]].verdict: *maybe* is not allowed*"])
    assert "Traceback" not in result.stderr.str()


def test_a_written_bench_site_names_the_bench_evidence_by_absolute_path(tmp_path: Path) -> None:
    from ycsa_conform.bench import Bench

    bench = Bench.start("smart-pole")
    try:
        written = bench.write_site(tmp_path / "bench-site.yaml")
        site = load_site(written)
    finally:
        bench.stop()
    assert site.evidence == data_dir("benches") / "evidence" / "smart-pole.evidence.yaml"
