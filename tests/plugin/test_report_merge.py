"""`ycsa-conform report merge`: one district report from the report folders of several runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ycsa_conform.cli import main
from ycsa_conform.profile import builtin_profiles, load_profile

# The built-in profile's size: a requirement added to it changes these runs' counts.
SMART_POLE = len(load_profile(builtin_profiles()["smart-pole"]).requirements)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two runs of the bench, as two roads of a district would be: other requirements each."""
    base = tmp_path_factory.mktemp("runs")
    folders = (base / "road-1", base / "road-2")
    for folder, selection in zip(folders, ("SP-PWR-001 or SP-LUM-001", "SP-PWR-004"), strict=True):
        code = pytest.main(
            [
                "--profile",
                "smart-pole",
                "-k",
                selection,
                "--report-dir",
                str(folder),
                "-q",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                str(base),
            ]
        )
        assert code == pytest.ExitCode.OK
    return folders


def test_runs_merge_into_one_report(
    two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "district"

    code = main(["report", "merge", *map(str, two_runs), "--out", str(out), "--site-id", "D1"])

    # Both "roads" are the bench's one pole, three of its seventy requirements run: the district
    # is partial, and not accepted (exit 1).
    assert code == 1
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert sorted(r["requirement"] for r in report["results"]) == [
        "SP-LUM-001",
        "SP-PWR-001",
        "SP-PWR-004",
    ]
    assert report["summary"]["pass"] == 3
    assert report["site"]["id"] == "D1"
    assert (out / "report.html").is_file()
    assert report["scope"]["requirements"] == SMART_POLE
    assert report["scope"]["decided"] == 3
    assert report["scope"]["partial"] is True
    assert report["scope"]["why"] == ["deselected with -k 'SP-PWR-001 or SP-LUM-001'"]
    assert report["conclusion"]["status"] == "partial"
    assert capsys.readouterr().out.splitlines()[0] == "3 results from 2 runs: 3 pass"


def test_a_requirement_decided_twice_is_refused_naming_both_folders(
    two_runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    road = two_runs[0]

    code = main(["report", "merge", str(road), str(road), "--out", str(tmp_path / "d")])

    assert code == 4  # a usage error: the folders given, not a result
    err = capsys.readouterr().err
    run = road / (road / "LATEST").read_text().strip()  # a --report-dir means its latest run
    assert f"SP-PWR-001 on P001 was also decided in {run}; leave one of the two folders out" in err
    assert not (tmp_path / "d").exists()


def test_a_folder_without_a_journal_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "merge", str(tmp_path), "--out", str(tmp_path / "d")])

    assert code == 4  # a usage error
    assert (
        "has no journal.jsonl and no LATEST; give the --report-dir of a run, or one of its runs/"
        in capsys.readouterr().err
    )
