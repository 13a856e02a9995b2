"""A composed profile on a site with a pole and a community: inherited requirements go to the
pole, the community's own to the community, and report.json groups results by subsystem."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ycsa_conform.profile import Profile, load_profile
from ycsa_conform.report.native import build_report, render_html
from ycsa_conform.result import ProfileInfo, Result, RunInfo, Verdict
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import Site, load_site

PROFILE_HEAD = """\
profile: {id}
version: "{version}"
title: {{en: {id}, zh: {id}}}
status: draft
targets: [{targets}]
sources:
  - id: GB 1
    title: {{en: A standard, zh: 标准}}
requirements:
"""


def evidence(rid: str, *, subsystem: str | None = None) -> str:
    extra = f"    subsystem: {subsystem}\n" if subsystem else ""
    return (
        f"  - id: {rid}\n"
        f"    title: {{en: {rid}, zh: {rid}}}\n"
        "    area: general\n"
        "    level: mandatory\n"
        "    refs: [{source: GB 1, confidence: R}]\n"
        f"{extra}"
        f"    check: {{kind: evidence, item: {rid.lower().replace('-', '_')}, expect: a paper}}\n"
    )


# The subsystem of this one comes from the site: the device it reads belongs to `video`.
CLOCK = """\
  - id: CI-VID-002
    title: {en: Camera clock, zh: 摄像机时钟}
    area: data-interface
    level: mandatory
    refs: [{source: GB 1, confidence: R}]
    check: {kind: measure, device: video, points: [device_clock], limit: ">= 0 s"}
"""

POLE = (
    PROFILE_HEAD.format(id="pole", version="0.3.0", targets="pole")
    + evidence("PO-LUM-001")
    + evidence("PO-PWR-001")
)
CITY = (
    PROFILE_HEAD.format(id="city", version="1.0.0", targets="community").replace(
        "sources:", "extends:\n  - profile: pole.yaml\n    targets: [pole]\nsources:"
    )
    + evidence("CI-VID-001", subsystem="video")
    + CLOCK
    + evidence("CI-SEC-001", subsystem="security")
    + evidence("CI-GEN-001")
)

VIDEO_MAP = """\
devicemap: test/community-video
version: 1
protocol: mqtt
topics:
  status: {topic: status, schema: status.schema.json}
points:
  device_clock: {topic: status, pointer: /ts, unit: s}
"""

SITE = """\
site: demo
kind: field
targets:
  - id: P001
    kind: pole
  - id: C001
    kind: community
    subsystems:
      video:
        devices:
          video: {uri: 'mqtt://127.0.0.1:1/c/C001/video', map: video.yaml}
"""


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    (tmp_path / "pole.yaml").write_text(POLE, encoding="utf-8")
    (tmp_path / "city.yaml").write_text(CITY, encoding="utf-8")
    return load_profile(tmp_path / "city.yaml")


@pytest.fixture
def site(tmp_path: Path) -> Site:
    (tmp_path / "video.yaml").write_text(VIDEO_MAP, encoding="utf-8")
    (tmp_path / "status.schema.json").write_text('{"type": "object"}', encoding="utf-8")
    (tmp_path / "site.yaml").write_text(SITE, encoding="utf-8")
    return load_site(tmp_path / "site.yaml")


@pytest.fixture
def run(profile: Profile, site: Site) -> AcceptanceRun:
    return AcceptanceRun(profiles=[profile], site=site)


def results(run: AcceptanceRun) -> list[Result]:
    """Every case decided without touching a device: the measure check is recorded as crashed,
    which still goes through the one place results are made."""
    decided = []
    for case in run.cases():
        if case.requirement.check.needs():
            decided.append(run.crashed(case, RuntimeError("not run in this test")))
        else:
            decided.append(run.decide(case))
    return decided


def test_inherited_requirements_go_to_the_pole_and_own_ones_to_the_community(
    run: AcceptanceRun,
) -> None:
    cases = [(c.requirement.id, c.target.id) for c in run.cases()]

    assert cases == [
        ("PO-LUM-001", "P001"),
        ("PO-PWR-001", "P001"),
        ("CI-VID-001", "C001"),
        ("CI-VID-002", "C001"),
        ("CI-SEC-001", "C001"),
        ("CI-GEN-001", "C001"),
    ]


def test_a_result_names_its_defining_profile_and_its_subsystem(run: AcceptanceRun) -> None:
    by_id = {r.requirement: r for r in results(run)}

    assert {r.profile for r in by_id.values()} == {"city"}
    assert by_id["PO-LUM-001"].source_profile == "pole"
    assert by_id["CI-VID-001"].source_profile == "city"
    assert [by_id[i].subsystem for i in ("PO-LUM-001", "CI-VID-001", "CI-VID-002")] == [
        None,
        "video",
        "video",  # from the site: the `video` device belongs to the video subsystem
    ]
    assert (by_id["CI-SEC-001"].subsystem, by_id["CI-GEN-001"].subsystem) == ("security", None)
    round_trip = Result.from_dict(by_id["PO-LUM-001"].as_dict())
    assert (round_trip.source_profile, round_trip.subsystem) == ("pole", None)


def schema() -> dict[str, Any]:
    text = (files("ycsa_conform") / "schemas" / "report.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def run_info(profile: Profile) -> RunInfo:
    return RunInfo(
        tool_version="0.1.0",
        profiles=(
            ProfileInfo(
                id=profile.id,
                version=profile.version,
                sha256=profile.sha256,
                title=dict(profile.title),
                path=str(profile.path),
                extends=tuple(
                    {"id": e.id, "version": e.version, "sha256": e.sha256} for e in profile.extends
                ),
            ),
        ),
        site_id="demo",
        site_kind="field",
        site_title="",
        started="2026-11-25T09:00:00+08:00",
    )


def test_report_json_groups_results_by_target_and_subsystem(
    run: AcceptanceRun, profile: Profile
) -> None:
    report = build_report(run_info(profile), results(run), "2026-11-25T09:01:00+08:00")

    validator = Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(report)] == []
    assert report["profiles"][0]["extends"] == [
        {"id": "pole", "version": "0.3.0", "sha256": profile.extends[0].sha256}
    ]
    assert {(r["requirement"], r["source_profile"]) for r in report["results"]} >= {
        ("PO-LUM-001", "pole"),
        ("CI-GEN-001", "city"),
    }
    groups = [(g["target"], g["subsystem"], g["requirements"]) for g in report["subsystems"]]
    # Results are ordered by profile, target and requirement id; groups in first-seen order.
    assert groups == [
        ("C001", "security", ["CI-SEC-001"]),
        ("C001", "video", ["CI-VID-001", "CI-VID-002"]),
    ]
    video = report["subsystems"][1]["summary"]
    assert video["total"] == 2
    assert video["error"] == 1  # the crashed measure check
    assert video["total"] == sum(video[v.value] for v in Verdict)


def test_report_html_heads_each_subsystem_and_names_the_defining_profile(
    run: AcceptanceRun, profile: Profile
) -> None:
    report = build_report(run_info(profile), results(run), "2026-11-25T09:01:00+08:00")

    html = render_html(report)

    assert html.count('<h3 class="subsystem">') == 2
    assert 'Subsystem <span class="zh" lang="zh-CN">子系统</span> video' in html
    # the two inherited requirements
    assert html.count("来自</span> pole 0.3.0") == 2
    assert 'extends <span class="zh" lang="zh-CN">继承</span> pole 0.3.0' in html
