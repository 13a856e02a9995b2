"""The crash-safe journal: one JSON line per result, on disk before the next test starts.

The first line describes the run (``{"type": "run", ...}``), every further line is one result
(``{"type": "result", ...Result.as_dict()}``) or one incident of the session itself
(``{"type": "incident", "stage": ..., "cause": ..., "where": ...}``). Each line is written in
one call, flushed and fsynced, so a crash or a kill loses at most the line being written at
that moment.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from ycsa_conform.errors import InputError, Problem
from ycsa_conform.result import (
    DeviceInfo,
    Incident,
    ProfileInfo,
    ResolvedParameter,
    Result,
    RunInfo,
)

__all__ = [
    "JOURNAL_FORMAT",
    "JOURNAL_NAME",
    "Journal",
    "read_journal",
    "run_as_dict",
    "run_from_dict",
]

JOURNAL_FORMAT = "ycsa-conform/journal/v1"
JOURNAL_NAME = "journal.jsonl"  # in a run's report folder


def run_as_dict(run: RunInfo) -> dict[str, Any]:
    """The run as report.json describes it (without `finished`, `summary` and `results`)."""
    return {
        "tool": {"name": "ycsa-conform", "version": run.tool_version},
        "profiles": [p.as_dict() for p in run.profiles],
        "site": {"id": run.site_id, "kind": run.site_kind, "title": run.site_title}
        | ({"path": run.site_path} if run.site_path else {}),
        "started": run.started,
        "parameters": dict(run.parameters),
        "resolved_parameters": [p.as_dict() for p in run.resolved_parameters],
        "devices": [d.as_dict() for d in run.devices],
        "bench_faults": list(run.bench_faults),
        "strict_acceptance": run.strict_acceptance,
        "allow_actuation": run.allow_actuation,
    } | ({"inputs": [dict(i) for i in run.inputs]} if run.inputs else {})


def run_from_dict(data: dict[str, Any]) -> RunInfo:
    """Rebuild a RunInfo from `run_as_dict` output (for example the run line of a journal)."""
    site = data["site"]
    return RunInfo(
        tool_version=data["tool"]["version"],
        profiles=tuple(
            ProfileInfo(
                id=p["id"],
                version=p["version"],
                sha256=p["sha256"],
                title=dict(p.get("title", {})),
                path=p.get("path", ""),
                extends=tuple(dict(e) for e in p.get("extends", ())),
            )
            for p in data["profiles"]
        ),
        site_id=site["id"],
        site_kind=site["kind"],
        site_title=site.get("title", ""),
        started=data["started"],
        parameters=dict(data.get("parameters", {})),
        bench_faults=tuple(data.get("bench_faults", ())),
        strict_acceptance=bool(data.get("strict_acceptance", False)),
        allow_actuation=bool(data.get("allow_actuation", False)),
        resolved_parameters=tuple(
            ResolvedParameter.from_dict(p) for p in data.get("resolved_parameters", ())
        ),
        devices=tuple(DeviceInfo.from_dict(d) for d in data.get("devices", ())),
        site_path=site.get("path", ""),
        inputs=tuple(dict(i) for i in data.get("inputs", ())),
    )


class Journal:
    """An open journal file. Make one with `Journal.open`; use it as a context manager."""

    __slots__ = ("_file", "path")

    def __init__(self, path: Path, file: IO[str]) -> None:
        self.path = path
        self._file: IO[str] | None = file

    @classmethod
    def open(cls, path: Path, run: RunInfo) -> Journal:
        """Start a new journal at `path` (replacing any old one) and write the run line."""
        path.parent.mkdir(parents=True, exist_ok=True)
        journal = cls(path, path.open("w", encoding="utf-8", newline="\n"))
        journal._append({"type": "run", "format": JOURNAL_FORMAT, **run_as_dict(run)})
        return journal

    def write(self, result: Result) -> None:
        self._append({"type": "result", **result.as_dict()})

    def incident(self, incident: Incident) -> None:
        self._append({"type": "incident", **incident.as_dict()})

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def closed(self) -> bool:
        return self._file is None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _append(self, record: dict[str, Any]) -> None:
        if self._file is None:
            raise ValueError(f"journal {self.path} is closed; open a new one with Journal.open")
        # One write per line, then flush and fsync: the line is on disk before we return.
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())


def read_journal(path: Path) -> tuple[dict[str, Any], list[Result]]:
    """The run line (without its "type") and every result of the journal at `path`; the
    incidents of the session, if any, are in the run's "incidents" (a list of dicts).

    A last line without its newline that is not valid JSON is a write cut short by a crash: it is
    skipped. Nothing is lost by that, because `Journal.write` returns only after its line is on
    disk, so that result was never recorded as done. A damaged line anywhere else raises
    InputError naming the line.
    """
    lines = path.read_text(encoding="utf-8").split("\n")
    # After a final "\n", split() leaves "", which is not a line; anything else there is a line
    # whose newline was never written.
    unterminated = lines.pop()

    records: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            records.append((number, _parse(path, number, line)))
    if unterminated.strip():
        with contextlib.suppress(InputError):  # cut short by a crash, see the docstring
            records.append((len(lines) + 1, _parse(path, len(lines) + 1, unterminated)))

    if not records or records[0][1].get("type") != "run":
        raise _damaged(
            path,
            1,
            "$.type",
            'the first line is not a {"type": "run"} record, so this is not a ycsa-conform '
            "journal or it was cut short before the run started; run the tests again",
        )
    run = {k: v for k, v in records[0][1].items() if k != "type"}
    results: list[Result] = []
    incidents: list[dict[str, Any]] = []
    for number, record in records[1:]:
        if record.get("type") == "incident":
            try:
                incidents.append(Incident.from_dict(record).as_dict())
            except KeyError as exc:
                raise _damaged(
                    path, number, "$", f"an incident without {exc}; the journal was edited"
                ) from exc
            continue
        if record.get("type") != "result":
            raise _damaged(
                path,
                number,
                "$.type",
                f"{record.get('type')!r} is not 'result' or 'incident'; only the "
                "first line of a journal is a run record",
            )
        try:
            results.append(Result.from_dict(record))
        except (KeyError, ValueError, TypeError) as exc:
            raise _damaged(
                path,
                number,
                "$",
                f"not a complete result ({type(exc).__name__}: {exc}); "
                "the journal was edited or damaged",
            ) from exc
    if incidents:
        run["incidents"] = incidents
    return run, results


def _parse(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _damaged(
            path,
            number,
            "$",
            f"not JSON ({exc.msg} at column {exc.colno}); only the last line "
            "of a journal may be cut short by a crash, so this one was edited or damaged",
        ) from exc
    if not isinstance(record, dict):
        raise _damaged(
            path, number, "$", f"a journal line is a JSON object, not {type(record).__name__}"
        )
    return record


def _damaged(path: Path, line: int, where: str, message: str) -> InputError:
    return InputError([Problem(file=path, line=line, path=where, message=message)])
