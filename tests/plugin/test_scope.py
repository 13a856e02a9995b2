"""Scope is part of the verdict: a run that decides part of the site says "partial: N of M" on
the terminal, in report.json and in report.html, never "Conforms"; each run keeps its own
folder; `--co` and runs that decide nothing leave the last report as it was; pytest-xdist
workers hand back their device traffic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPORT_DIR = "ycsa-report"


def latest(pytester: pytest.Pytester) -> Path:
    folder = pytester.path / REPORT_DIR
    return folder / (folder / "LATEST").read_text(encoding="utf-8").strip()


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def files_of(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_lf_after_a_fault_run_is_partial_everywhere_and_never_conforms(
    pytester: pytest.Pytester,
) -> None:
    # (Not SP-DATA-006: it judges the meter's response delay, which a loaded machine can make
    # fail too, and this test needs the one failure the fault makes.)
    faulty = pytester.runpytest(
        "--profile", "smart-pole", "--bench-fault", "pole-tilt", "-k", "not SP-DATA-006"
    )
    assert faulty.ret == pytest.ExitCode.TESTS_FAILED
    first = latest(pytester)
    first_files = files_of(first)

    # The installer fixed the pole: the one failure passes now, the 72 others are not run.
    rerun = pytester.runpytest("--profile", "smart-pole", "--lf")

    assert rerun.ret == pytest.ExitCode.OK  # pytest's rule: what was selected passed
    rerun.stdout.fnmatch_lines(
        [
            "PARTIAL: 1 of 73 requirement(s) decided; 72 not run:",
            "  72 deselected with --lf (not among the last run's failures)",
            "1 results: 1 pass",
            "Partial: 1 of 73 requirements run; no conclusion on the whole"
            " / 部分检验：73 项中检验了 1 项，不对整体下结论",
        ]
    )
    assert "Conforms" not in rerun.stdout.str()
    second = latest(pytester)
    assert second != first
    report = load(second / "report.json")
    assert report["conclusion"]["status"] == "partial"
    assert report["conclusion"]["conforms"] is False
    assert report["scope"] == {
        "requirements": 73,
        "decided": 1,
        "partial": True,
        "why": ["deselected with --lf (not among the last run's failures)"],
    }
    coverage = report["coverage"]
    assert len(coverage) == 73
    assert [row["requirement"] for row in coverage[:2]] == ["SP-LOAD-001", "SP-LOAD-002"]
    run = [row for row in coverage if row["state"] != "not_run"]
    assert [(row["requirement"], row["target"], row["state"]) for row in run] == [
        ("SP-LOAD-012", "P001", "pass")
    ]
    assert {row["reason"] for row in coverage if row["state"] == "not_run"} == {
        "deselected with --lf (not among the last run's failures)"
    }
    html = (second / "report.html").read_text(encoding="utf-8")
    assert "Partial: 1 of 73 requirements run; no conclusion on the whole" in html
    assert "Conforms" not in html
    # The top-level copy is the latest report; the fault run's folder is as it was.
    assert (pytester.path / REPORT_DIR / "report.json").read_bytes() == (
        second / "report.json"
    ).read_bytes()
    assert files_of(first) == first_files
    assert load(first / "report.json")["conclusion"]["status"] == "fails"


def test_a_run_that_decides_nothing_leaves_the_last_report_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.runpytest("--profile", "smart-pole", "-k", "SP-LOAD-001", "-p", "no:cacheprovider")
    folder = pytester.path / REPORT_DIR
    before = files_of(folder)

    nothing = pytester.runpytest(
        "--profile", "smart-pole", "-k", "no-such-requirement", "-p", "no:cacheprovider"
    )

    assert nothing.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    nothing.stdout.fnmatch_lines(["nothing decided: no report written (the last one *)"])
    assert files_of(folder) == before
    assert len(list((folder / "runs").iterdir())) == 1


def test_a_stopped_run_says_which_requirements_it_did_not_run_and_why(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest(
        "--profile", "smart-pole", "--bench-fault", "pole-tilt", "-x", "--concurrency", "1",
        "-p", "no:cacheprovider",
    )  # fmt: skip

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = load(latest(pytester) / "report.json")
    scope = report["scope"]
    # SP-LOAD-012 is the twelfth requirement: -x stops there.
    assert (scope["requirements"], scope["decided"], scope["partial"]) == (73, 12, True)
    (why,) = scope["why"]
    assert why.startswith("not run: the session stopped early (stopping after 1 failures")
    assert report["conclusion"]["status"] == "fails"
    assert (
        report["conclusion"]["en"]
        == "Does not conform: 1 failed (partial: 12 of 73 requirements run)"
    )


def test_xdist_workers_hand_back_their_device_traffic(pytester: pytest.Pytester) -> None:
    # Every kind of device, without the one requirement a loaded machine can fail (SP-DATA-006
    # judges the meter's response delay).
    selection = "(SP-PWR or SP-DATA-00) and not SP-DATA-006"
    serial = pytester.runpytest_subprocess(
        "--profile", "smart-pole", "-k", selection, "-p", "no:cacheprovider"
    )
    assert serial.ret == pytest.ExitCode.OK
    alone = load(latest(pytester) / "report.json")["traffic"]["devices"]

    spread = pytester.runpytest_subprocess(
        "--profile", "smart-pole", "-k", selection, "-n", "2",
        "-p", "no:cacheprovider",
    )  # fmt: skip

    assert spread.ret == pytest.ExitCode.OK
    report = load(latest(pytester) / "report.json")
    devices = report["traffic"]["devices"]  # was left out: the controller reads no device

    def asked(rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
        return {(r["target"], r["device"]): r["point_reads"] for r in rows}

    assert asked(devices) == asked(alone)
    assert sum(asked(devices).values()) > 0
    spread.stdout.fnmatch_lines(["device traffic: * requests for * point reads *"])
