"""Node ids and failure headers as the engineer reads them, whatever folders the files are in.

pytest picks its rootdir and ini file before plugins load, so `--site /elsewhere/site.yaml`
once passed for a test path: ids read `../../smart-pole::SP-LOAD-001[P001]`, the current
folder's pytest.ini was ignored and the cache went to a common ancestor. These tests run
pytest as a user does (a subprocess in a folder that is not an ancestor of the site).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Two poles without design data or devices: SP-LOAD-001 is undecided on both, with no device
# contacted.
SITE = """\
site: elsewhere
kind: field
targets:
  - {id: P001, kind: pole, devices: {}}
  - {id: P002, kind: pole, devices: {}}
"""


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    site = tmp_path / "elsewhere" / "deep" / "site.yaml"
    site.parent.mkdir(parents=True)
    site.write_text(SITE, encoding="utf-8")
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    return work, site


def _pytest(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "--profile", "smart-pole"]
    return subprocess.run(
        [*command, *args, "-k", "SP-LOAD-001"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("spelling", ["separate", "equals"])
def test_ids_never_climb_out_of_the_folder_and_headers_name_the_target(
    folders: tuple[Path, Path], spelling: str
) -> None:
    work, site = folders
    given = ["--site", str(site)] if spelling == "separate" else [f"--site={site}"]
    result = _pytest(work, *given, "-v")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "../" not in result.stdout
    assert f"rootdir: {work}" in result.stdout
    for pole in ("P001", "P002"):
        # The short summary line carries the reason after the id.
        summary = f"ERROR smart-pole::SP-LOAD-001[{pole}] - SP-LOAD-001 cannot be decided: target"
        assert summary in result.stdout
        assert f"smart-pole::SP-LOAD-001[{pole}] ERROR" in result.stdout
    # The cache (--lf) is the current folder's, not an ancestor shared with the site's.
    assert (work / ".pytest_cache").is_dir()
    assert not (work.parent.parent / ".pytest_cache").exists()
    # The same requirement undecided on two poles: two sections a reader can tell apart, each
    # naming requirement, target and profile.
    headers = [line for line in result.stdout.splitlines() if "ERROR at setup of" in line]
    title = "Design basic wind pressure covers the site"
    assert len(headers) == 2, result.stdout
    for pole, header in zip(("P001", "P002"), sorted(headers), strict=True):
        assert f"SP-LOAD-001 [{pole}] {title} (smart-pole)" in header


def test_the_current_folders_pytest_ini_is_honoured(folders: tuple[Path, Path]) -> None:
    work, site = folders
    (work / "pytest.ini").write_text("[pytest]\naddopts = --junitxml=from-ini.xml\n")

    result = _pytest(work, "--site", str(site))

    assert result.returncode == 1, result.stdout + result.stderr
    assert "configfile: pytest.ini" in result.stdout
    assert (work / "from-ini.xml").is_file()
