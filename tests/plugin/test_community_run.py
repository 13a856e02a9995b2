"""`pytest --profile smart-community` through pytester against the real smart-community bench
(a community's subsystems over MQTT plus one smart pole inside it), alone and with the
smart-pole profile in the same run."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

import jsonschema
import pytest

from ycsa_conform.profile.loader import load_profile

COMMUNITY = load_profile("smart-community")
POLE = load_profile("smart-pole")
OWN = [r for r in COMMUNITY.requirements if r.profile == "smart-community"]
INHERITED = [r for r in COMMUNITY.requirements if r.profile == "smart-pole"]


def _report(pytester: pytest.Pytester) -> dict[str, Any]:
    path = pytester.path / "ycsa-report" / "report.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _schema() -> dict[str, Any]:
    text = (resources.files("ycsa_conform") / "schemas" / "report.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_the_profile_has_thirty_requirements_of_its_own_and_reuses_the_pole_profile() -> None:
    assert len(OWN) >= 30
    assert all(r.id.startswith("SC-") for r in OWN)
    # The pole requirements are the smart-pole profile's own, not copies: same ids, same file.
    assert [r.id for r in INHERITED] == [r.id for r in POLE.requirements]
    assert {r.path for r in INHERITED} == {POLE.path}
    assert {r.target_kinds for r in INHERITED} == {("pole",)}


def test_the_community_bench_decides_every_requirement_and_groups_by_subsystem(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest("--profile", "smart-community", "-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    report = _report(pytester)
    jsonschema.validate(report, _schema())
    summary = report["summary"]
    assert summary["pending"] == summary["error"] == summary["fail"] == 0
    assert summary["total"] == len(OWN) + len(INHERITED)
    community = [r for r in report["results"] if r["target"] == "C001"]
    assert len(community) == len(OWN) >= 30
    assert {r["verdict"] for r in community} == {"pass"}
    # Inherited requirements ran on the pole, under this profile, saying where they come from.
    pole = [r for r in report["results"] if r["target"] == "P001"]
    assert {(r["profile"], r["source_profile"]) for r in pole} == {
        ("smart-community", "smart-pole")
    }
    assert {r["source_profile"] for r in community} == {"smart-community"}
    # Grouped by subsystem: every community result belongs to exactly one group.
    groups = {g["subsystem"]: g for g in report["subsystems"] if g["target"] == "C001"}
    assert {"access", "video", "intrusion", "fire", "parking", "elevator", "charging"} <= set(
        groups
    )
    assert sum(g["summary"]["total"] for g in groups.values()) == len(community)
    grouped = Counter(i for g in groups.values() for i in g["requirements"])
    assert grouped == Counter(r["requirement"] for r in community)
    assert groups["video"]["summary"]["pass"] == groups["video"]["summary"]["total"] >= 4


def test_a_community_fault_fails_only_what_it_documents(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--profile", "smart-community", "--bench-fault", "recorder-7-days", "-k", "SC-VID or SC-ACC"
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAILED smart-community::SC-VID-001[[]C001[]]*"])
    verdicts = {r["requirement"]: r["verdict"] for r in _report(pytester)["results"]}
    assert verdicts.pop("SC-VID-001") == "fail"
    assert set(verdicts.values()) == {"pass"}


def test_both_profiles_in_one_run_keep_their_ids_apart(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--profile",
        "smart-community",
        "--profile",
        "smart-pole",
        "-k",
        "SC-VID or SP-PWR-008 or SP-LUM-013",
        "--collect-only",
        "-q",
    )

    assert result.ret == pytest.ExitCode.OK
    ids = [line for line in result.stdout.lines if "::" in line]
    assert len(ids) == len(set(ids))
    assert "smart-pole::SP-PWR-008[P001]" in ids
    assert "smart-community::SP-PWR-008[P001]" in ids
    assert "smart-community::SC-VID-001[C001]" in ids
    # The smart-pole profile has no requirement for the community itself.
    assert not [i for i in ids if i.startswith("smart-pole::") and "[C001]" in i]


def test_both_profiles_judge_the_pole_each_with_its_own_parameters(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest(
        "--profile", "smart-community", "--profile", "smart-pole", "-k", "SP-LUM-013 or SP-LUM-007"
    )

    assert result.ret == pytest.ExitCode.OK
    limits = {
        (r["profile"], r["requirement"]): r["measurements"][0]["limit"]
        for r in _report(pytester)["results"]
    }
    # The community's overlays: CIE 150 zone E2 (5 %) for its poles, the road default E3 (15 %);
    # Ra 80 for community areas, 70 for roads (the community bench's pole has an Ra 80 luminaire).
    assert limits["smart-community", "SP-LUM-013"].endswith(" 5 %"), limits
    assert limits["smart-pole", "SP-LUM-013"].endswith(" 15 %"), limits
    assert limits["smart-community", "SP-LUM-007"].endswith(" 80"), limits
    assert limits["smart-pole", "SP-LUM-007"].endswith(" 70"), limits


def test_a_user_overlay_extends_the_built_in_profile(pytester: pytest.Pytester) -> None:
    overlay = pytester.path / "kunming-branch-roads.yaml"
    overlay.write_text(
        "profile: kunming-branch-roads\n"
        'version: "0.1.0"\n'
        "title: {en: Kunming branch roads, zh: 昆明支路}\n"
        "status: draft\n"
        "targets: [pole]\n"
        "extends:\n"
        "  - profile: smart-pole\n"
        "    exclude: [SP-LUM-015]\n"
        "    parameters: {min_ra: 80}\n",
        encoding="utf-8",
    )
    result = pytester.runpytest("--profile", str(overlay), "-k", "SP-LUM-007 or SP-LUM-015")

    # The bench luminaire's Ra 70 is below the overlay's stricter 80 (smart-pole asks 70).
    result.assert_outcomes(failed=1)
    (row,) = _report(pytester)["results"]
    assert (row["requirement"], row["profile"], row["source_profile"]) == (
        "SP-LUM-007",
        "kunming-branch-roads",
        "smart-pole",
    )


def test_an_undeclared_device_reporting_is_flagged_not_failed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--profile", "smart-community", "--bench-fault", "undeclared-charger", "-k", "SC-EVC-005"
    )

    assert result.ret == pytest.ExitCode.OK
    (row,) = _report(pytester)["results"]
    assert row["verdict"] == "marginal"
    assert "EVC-25" in row["reason"]
    undeclared = next(m for m in row["measurements"] if m["name"] == "undeclared")
    assert undeclared["value"] == 1


def test_a_community_recording_replays_with_its_evidence(pytester: pytest.Pytester) -> None:
    # The bench's merged evidence file goes with the bench; the recording keeps a copy.
    selection = ("-k", "SC-VID or SC-ACC or SC-SEC")
    recorded = pytester.runpytest(
        "--profile",
        "smart-community",
        "--bench-fault",
        "camera-offline",
        "--record",
        "rec",
        *selection,
    )
    first = {r["requirement"]: r["verdict"] for r in _report(pytester)["results"]}

    replayed = pytester.runpytest("--profile", "smart-community", "--replay", "rec", *selection)

    assert recorded.ret == replayed.ret == pytest.ExitCode.TESTS_FAILED
    assert {r["requirement"]: r["verdict"] for r in _report(pytester)["results"]} == first
    assert {k for k, v in first.items() if v != "pass"} == {"SC-VID-003", "SC-VID-004"}
    assert first["SC-SEC-001"] == "pass"  # evidence, read from the recording's copy
