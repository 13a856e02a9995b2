"""The report folder: one folder per run, so that no run overwrites another's report.

    ycsa-report/                       --report-dir
      runs/2026-12-04T10-31-07Z/       a run: journal.jsonl, report.json, report.html
      runs/2026-12-04T11-02-44Z/
      latest -> runs/2026-12-04T11-02-44Z   the last run begun (a relative symlink)
      LATEST                           the same, as a line of text (always written: where
                                       symlinks cannot be made, it is the only pointer)
      report.json, report.html         copies of the latest run's report, where earlier versions
                                       wrote them (`ycsa-report/report.json` keeps working)

A run's folder is made, and `latest` pointed at it, when the run has something to record (its
first result or incident): `--co` and runs that decide nothing leave everything as it was.
Folder names are UTC times; two runs begun in the same second get `-2`, `-3`, ….
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

from ycsa_conform.errors import InputError, Problem

from .journal import JOURNAL_NAME

__all__ = [
    "LATEST_FILE",
    "LATEST_LINK",
    "RUNS",
    "latest_run",
    "new_run",
    "point_latest",
    "publish",
    "run_folder",
]

RUNS = "runs"
LATEST_LINK = "latest"
LATEST_FILE = "LATEST"
PUBLISHED = ("report.json", "report.html")


def new_run(report_dir: Path, *, now: datetime | None = None) -> Path:
    """Make a new, empty run folder under `report_dir/runs/` and return it."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    runs = report_dir / RUNS
    runs.mkdir(parents=True, exist_ok=True)
    for n in range(1, 1000):
        folder = runs / (stamp if n == 1 else f"{stamp}-{n}")
        try:
            folder.mkdir()  # exclusive: a run begun at the same second takes the next name
        except FileExistsError:
            continue
        return folder
    raise FileExistsError(f"{runs}: 999 runs began in the second {stamp}; wait a second")


def point_latest(report_dir: Path, run: Path) -> None:
    """Point `latest` (symlink) and `LATEST` (text) at `run`, each replaced atomically."""
    relative = run.relative_to(report_dir).as_posix()
    _write_atomic(report_dir / LATEST_FILE, relative + "\n")
    link = report_dir / LATEST_LINK
    tmp = report_dir / f".{LATEST_LINK}.{uuid.uuid4().hex[:12]}"
    try:
        tmp.symlink_to(relative, target_is_directory=True)
        os.replace(tmp, link)
    except OSError:
        # No symlinks here (a FAT stick, Windows without the privilege): LATEST says it, and a
        # link left by an earlier run must not name another run.
        with contextlib.suppress(OSError):
            tmp.unlink()
        if link.is_symlink():
            with contextlib.suppress(OSError):
                link.unlink()


def latest_run(report_dir: Path) -> Path | None:
    """The folder of the latest run in `report_dir`: the one `LATEST` names, else the `latest`
    symlink's, else `report_dir` itself when it holds a journal (a folder written before runs
    had folders of their own); None when there is no run."""
    named = report_dir / LATEST_FILE
    with contextlib.suppress(OSError, ValueError):
        text = named.read_text(encoding="utf-8").strip()
        if text and (report_dir / text / JOURNAL_NAME).is_file():
            return report_dir / text
    link = report_dir / LATEST_LINK
    if (link / JOURNAL_NAME).is_file():
        return link.resolve()
    if (report_dir / JOURNAL_NAME).is_file():
        return report_dir
    return None


def run_folder(path: Path) -> Path:
    """The run folder a user means by `path`: a run's own folder, or a --report-dir (its
    latest run). InputError when it is neither."""
    if (path / JOURNAL_NAME).is_file():
        return path
    latest = latest_run(path)
    if latest is None:
        raise InputError(
            [
                Problem(
                    file=str(path),
                    line=None,
                    path="",
                    message=f"has no {JOURNAL_NAME} and no {LATEST_FILE}; give the --report-dir "
                    f"of a run, or one of its {RUNS}/ folders",
                )
            ]
        )
    return latest


def publish(report_dir: Path, run: Path, *, lang: str = "both") -> None:
    """Copy the report of `run` to the top of `report_dir` when `run` is its latest run.

    report.html is rendered again for its new place (in `lang`), so that its links to files
    beside the report folder (the recording) stay right; a copy when that fails."""
    latest = latest_run(report_dir)
    if latest is None or latest.resolve() != run.resolve() or run.resolve() == report_dir.resolve():
        return
    for name in PUBLISHED:
        if (run / name).is_file():
            tmp = report_dir / f".{name}.{uuid.uuid4().hex[:12]}.tmp"
            try:
                html = _html_for(report_dir, run, lang) if name == "report.html" else None
                if html is None:
                    shutil.copyfile(run / name, tmp)
                else:
                    tmp.write_text(html, encoding="utf-8")
                os.replace(tmp, report_dir / name)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise


def _html_for(report_dir: Path, run: Path, lang: str) -> str | None:
    from .native import render_html

    try:
        report = json.loads((run / "report.json").read_text(encoding="utf-8"))
        return render_html(report, lang=lang, base=report_dir)
    except Exception:  # the run's own report.html is copied as it is
        return None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
