"""A run's report.json and report.html rebuilt from its journal alone
(`ycsa-conform report render DIR`): after a run was killed before it wrote them, or to write
them again with this version of the tool.

The journal holds everything the report says: the run, every result, the incidents, the plan
(what the profiles hold for the site and what was selected), how each session ended and its
device traffic. A run cut short (no `end` line) is reported as such: its undecided
requirements are "not run: the run was cut short", and `finished` is when its journal was
last written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .folder import RUNS, publish, run_folder
from .journal import JOURNAL_NAME, load_journal, run_from_dict
from .native import ReportPaths, write_reports

__all__ = ["Rebuilt", "rebuild_report"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rebuilt:
    folder: Path  # the run folder written
    paths: ReportPaths
    cut_short: bool  # the journal ends before the run did


def rebuild_report(path: Path) -> Rebuilt:
    """Rebuild the report of the run at `path` (a run folder, or a --report-dir for its latest
    run) from its journal; a --report-dir's top-level copies follow when it is the latest."""
    folder = run_folder(path)
    journal = load_journal(folder / JOURNAL_NAME)
    finished = journal.finished
    if finished is None:
        written = (folder / JOURNAL_NAME).stat().st_mtime
        finished = datetime.fromtimestamp(written).astimezone().isoformat(timespec="seconds")
    paths = write_reports(
        folder,
        run_from_dict(journal.run),
        journal.results,
        finished=finished,
        traffic=journal.traffic,
        incidents=journal.incidents,
        scope=journal.scope(),
    )
    # The top-level copies of its --report-dir follow, if this is its latest run.
    report_dir = folder.parent.parent if folder.parent.name == RUNS else None
    if report_dir is not None:
        publish(report_dir, folder)
    return Rebuilt(folder=folder, paths=paths, cut_short=journal.finished is None)
