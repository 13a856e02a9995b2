"""One district report from the report folders of several runs (`ycsa-conform report merge`).

A district is accepted road by road, or split into site files run on several machines at once.
Each run writes its journal (`journal.jsonl`: the run, then each result as it was decided); the
merge reads them, holds them to one another and writes one `report.json` and `report.html`:

- the runs must use the same profiles (id, version and sha256): a verdict judged against
  another version of a requirement is not the same verdict;
- a requirement judged on one target in two runs is refused, naming both folders (run it once,
  or leave one folder out);
- the merged run is "field" if any run was, starts with the first run and ends with the last;
  parameters, devices, bench faults and incidents are those of every run, each still naming
  its targets;
- its scope is every requirement × target any run planned: a district whose roads were not all
  run (or a run that was itself partial) is partial, and concludes nothing on the whole.

A folder is a run's own folder (`runs/TIME/`) or a `--report-dir`, meaning its latest run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ycsa_conform.errors import InputError, Problem
from ycsa_conform.result import Incident, Result, RunInfo

from .folder import run_folder
from .journal import JOURNAL_NAME, JournalContent, load_journal, run_from_dict
from .native import ReportPaths, write_reports
from .scope import merge_scopes

__all__ = ["merge_reports"]


def _problem(where: Path, message: str) -> Problem:
    return Problem(file=str(where), line=None, path="", message=message)


def merge_reports(
    folders: Sequence[Path], out: Path, *, site_id: str | None = None, title: str | None = None
) -> ReportPaths:
    """Merge the journals of `folders` into report.json and report.html in `out`."""
    runs: list[tuple[Path, RunInfo, list[Result], list[Incident]]] = []
    journals: list[JournalContent] = []
    problems: list[Problem] = []
    for given in folders:
        try:
            folder = run_folder(given)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        journal = load_journal(folder / JOURNAL_NAME)
        journals.append(journal)
        runs.append(
            (folder, run_from_dict(journal.run), list(journal.results), list(journal.incidents))
        )
    if problems:
        raise InputError(problems)
    if not runs:
        raise InputError([_problem(out, "nothing to merge; give the report folders of runs")])

    first_folder, first, _, _ = runs[0]
    profiles = {(p.id, p.version, p.sha256) for p in first.profiles}
    decided: dict[tuple[str, str, str], Path] = {}
    for folder, run, results, _ in runs:
        theirs = {(p.id, p.version, p.sha256) for p in run.profiles}
        if theirs != profiles:
            shown = ", ".join(f"{i} {v}" for i, v, _ in sorted(theirs))
            mine = ", ".join(f"{i} {v}" for i, v, _ in sorted(profiles))
            problems.append(
                _problem(
                    folder,
                    f"ran profiles {shown}, {first_folder} ran {mine} (or other files of the "
                    "same versions); merge runs of the same profiles",
                )
            )
        for result in results:
            key = (result.profile, result.requirement, result.target)
            if key in decided:
                problems.append(
                    _problem(
                        folder,
                        f"{result.requirement} on {result.target} was also decided in "
                        f"{decided[key]}; leave one of the two folders out",
                    )
                )
            decided.setdefault(key, folder)
    if problems:
        raise InputError(problems)

    ids = list(dict.fromkeys(run.site_id for _, run, _, _ in runs))
    merged = replace(
        first,
        site_id=site_id or "+".join(ids),
        site_title=title or "; ".join(dict.fromkeys(run.site_title for _, run, _, _ in runs)),
        site_kind="field" if any(run.site_kind == "field" for _, run, _, _ in runs) else "bench",
        started=min(run.started for _, run, _, _ in runs),
        parameters={k: v for _, run, _, _ in runs for k, v in run.parameters.items()},
        bench_faults=tuple(dict.fromkeys(f for _, run, _, _ in runs for f in run.bench_faults)),
        strict_acceptance=any(run.strict_acceptance for _, run, _, _ in runs),
        allow_actuation=any(run.allow_actuation for _, run, _, _ in runs),
        resolved_parameters=tuple(p for _, run, _, _ in runs for p in run.resolved_parameters),
        devices=tuple(d for _, run, _, _ in runs for d in run.devices),
    )
    results = [r for _, _, rs, _ in runs for r in rs]
    incidents = [i for _, _, _, found in runs for i in found]
    finished = max(
        (
            j.finished or _finished(folder)
            for j, (folder, _, _, _) in zip(journals, runs, strict=True)
        ),
        default="",
    )
    scopes = [j.scope() for j in journals]
    # A run of an earlier version wrote no plan: then what the district holds is not known.
    scope = merge_scopes([s for s in scopes if s is not None]) if None not in scopes else None
    return write_reports(
        out, merged, results, finished=finished or None, incidents=incidents, scope=scope
    )


def _finished(folder: Path) -> str:
    """When the run of `folder` ended: its report.json's `finished`, else "" (a run cut short
    has only its journal)."""
    try:
        data = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(data.get("finished", ""))
