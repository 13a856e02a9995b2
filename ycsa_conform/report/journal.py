"""The crash-safe journal: one JSON line per result, on disk before the next test starts.

The first line describes the run (``{"type": "run", ...}``), every further line is one of

- ``{"type": "result", ...Result.as_dict()}``: a decided requirement on a target;
- ``{"type": "incident", "stage": ..., "cause": ..., "where": ...}``: the session itself failed;
- ``{"type": "plan", "cases": [...], "not_selected": [...]}``: every requirement × target the
  profiles hold for the site, and those the session did not select with the reason (written
  once the selection is known);
- ``{"type": "resume", "started": ..., "reused": N}``: a later session (`--resume`) continues
  the run, keeping the N results above it;
- ``{"type": "end", "finished": ..., "stopped": ..., "traffic": ...}``: the session ended
  (`stopped` says why selected requirements may be left undecided: interrupted, -x).

A journal without an ``end`` after its last session was cut short (killed). Each line is
written in one call, flushed and fsynced, so a crash or a kill loses at most the line being
written at that moment. Versions before 0.7 wrote run, result and incident lines only, and
cannot read the other kinds.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
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

from .scope import Planned, Scope

__all__ = [
    "JOURNAL_FORMAT",
    "JOURNAL_NAME",
    "Journal",
    "JournalContent",
    "Session",
    "load_journal",
    "read_journal",
    "resume_note",
    "run_as_dict",
    "run_from_dict",
]

JOURNAL_FORMAT = "ycsa-conform/journal/v1"
JOURNAL_NAME = "journal.jsonl"  # in a run's report folder


def run_as_dict(run: RunInfo) -> dict[str, Any]:
    """The run as report.json describes it (without `finished`, `summary` and `results`)."""
    return (
        {
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
        }
        | ({"operator": run.operator} if run.operator else {})
        | ({"inputs": [dict(i) for i in run.inputs]} if run.inputs else {})
    )


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
        operator=str(data.get("operator", "")),
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

    @classmethod
    def resume(cls, path: Path, *, started: str, reused: int) -> Journal:
        """Continue the journal at `path` (`--resume`): a last line cut short by a crash is
        cut off first (it was never recorded as done), then a `resume` line is written."""
        with path.open("rb+") as file:
            data = file.read()
            end = data.rfind(b"\n") + 1
            if end < len(data):
                file.truncate(end)
        journal = cls(path, path.open("a", encoding="utf-8", newline="\n"))
        journal._append({"type": "resume", "started": started, "reused": reused})
        return journal

    def write(self, result: Result) -> None:
        self._append({"type": "result", **result.as_dict()})

    def incident(self, incident: Incident) -> None:
        self._append({"type": "incident", **incident.as_dict()})

    def plan(self, planned: Sequence[Planned]) -> None:
        """Every requirement × target of the run, and the reasons of those not selected."""
        cases: list[dict[str, Any]] = []
        not_selected: dict[str, list[list[str]]] = {}
        for p in planned:
            if not cases or (cases[-1]["profile"], cases[-1]["requirement"]) != p.key[:2]:
                cases.append(
                    {
                        "profile": p.profile,
                        "requirement": p.requirement,
                        "title": dict(p.title),
                        "area": p.area,
                        "level": p.level,
                        "targets": [],
                    }
                )
            cases[-1]["targets"].append(p.target)
            if p.reason:
                not_selected.setdefault(p.reason, []).append(list(p.key))
        self._append(
            {
                "type": "plan",
                "cases": cases,
                "not_selected": [{"reason": r, "pairs": keys} for r, keys in not_selected.items()],
            }
        )

    def end(self, *, finished: str, stopped: str, traffic: dict[str, Any] | None) -> None:
        """The session ended; `stopped` says why selected pairs may be undecided ("" if none)."""
        self._append({"type": "end", "finished": finished, "stopped": stopped, "traffic": traffic})

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


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """One pytest session of a run: the first, or one that resumed it. `plan` is None when the
    session wrote none (a journal of an earlier version); `ended` is its `end` line, None
    when the session was cut short."""

    started: str
    resumed: bool = False
    reused: int = 0
    plan: tuple[Planned, ...] | None = None
    ended: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalContent:
    """A journal read back: the run line (without "type"), the results (one per requirement
    and target, the last one written), the incidents and the sessions, in the order written."""

    path: Path
    run: dict[str, Any]
    results: tuple[Result, ...]
    incidents: tuple[Incident, ...]
    sessions: tuple[Session, ...]

    @property
    def finished(self) -> str | None:
        """When the last session ended; None when it was cut short."""
        last = self.sessions[-1].ended
        return str(last["finished"]) if last else None

    @property
    def traffic(self) -> dict[str, Any] | None:
        """The device traffic of the last session, if it ended and counted it."""
        last = self.sessions[-1].ended
        traffic = last.get("traffic") if last else None
        return traffic if isinstance(traffic, dict) else None

    def scope(self) -> Scope | None:
        """What the run covers: the plan of the last session that wrote one (None for a journal
        without a plan), why its undecided pairs were not decided, and each resume."""
        plans = [s.plan for s in self.sessions if s.plan is not None]
        if not plans:
            return None
        last = self.sessions[-1]
        return Scope(
            planned=plans[-1],
            stopped=str(last.ended.get("stopped", "")) if last.ended else "",
            ended=last.ended is not None,
            notes=tuple(resume_note(s.started, s.reused) for s in self.sessions if s.resumed),
        )


def resume_note(started: str, reused: int) -> str:
    """What a report's scope says of a session that resumed the run."""
    return f"resumed {started}: {reused} result(s) kept from the journal, the rest run then"


def load_journal(path: Path) -> JournalContent:
    """Everything the journal at `path` holds. A last line cut short by a crash is skipped
    (see `read_journal`); a damaged line anywhere else raises InputError naming the line."""
    records = _records(path)
    run = {k: v for k, v in records[0][1].items() if k != "type"}
    results: dict[tuple[str, str, str], Result] = {}
    incidents: list[Incident] = []
    sessions = [Session(started=str(run.get("started", "")))]
    for number, record in records[1:]:
        kind = record.get("type")
        if kind not in ("result", "incident", "plan", "resume", "end"):
            raise _damaged(
                path,
                number,
                "$.type",
                f"{kind!r} is not 'result', 'incident', 'plan', 'resume' or 'end'; only the "
                "first line of a journal is a run record",
            )
        try:
            if kind == "result":
                result = Result.from_dict(record)
                results[(result.profile, result.requirement, result.target)] = result
            elif kind == "incident":
                incidents.append(Incident.from_dict(record))
            elif kind == "plan":
                sessions[-1] = replace(sessions[-1], plan=_plan(record))
            elif kind == "end":
                sessions[-1] = replace(sessions[-1], ended=record)
            else:
                sessions.append(
                    Session(started=record["started"], resumed=True, reused=int(record["reused"]))
                )
        except (KeyError, ValueError, TypeError) as exc:
            raise _damaged(
                path,
                number,
                "$",
                f"not a complete {kind} ({type(exc).__name__}: {exc}); "
                "the journal was edited or damaged",
            ) from exc
    return JournalContent(
        path=path,
        run=run,
        results=tuple(results.values()),
        incidents=tuple(incidents),
        sessions=tuple(sessions),
    )


def _plan(record: dict[str, Any]) -> tuple[Planned, ...]:
    reasons = {
        tuple(pair): group["reason"] for group in record["not_selected"] for pair in group["pairs"]
    }
    return tuple(
        Planned(
            profile=case["profile"],
            requirement=case["requirement"],
            target=target,
            title=dict(case.get("title", {})),
            area=case.get("area", ""),
            level=case.get("level", ""),
            reason=reasons.get((case["profile"], case["requirement"], target), ""),
        )
        for case in record["cases"]
        for target in case["targets"]
    )


def read_journal(path: Path) -> tuple[dict[str, Any], list[Result]]:
    """The run line (without its "type") and every result of the journal at `path`; the
    incidents of the session, if any, are in the run's "incidents" (a list of dicts).

    A last line without its newline that is not valid JSON is a write cut short by a crash: it is
    skipped. Nothing is lost by that, because `Journal.write` returns only after its line is on
    disk, so that result was never recorded as done. A damaged line anywhere else raises
    InputError naming the line.
    """
    content = load_journal(path)
    run = dict(content.run)
    if content.incidents:
        run["incidents"] = [i.as_dict() for i in content.incidents]
    return run, list(content.results)


def _records(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The journal's lines, parsed and numbered; the first is the run line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    # After a final "\n", split() leaves "", which is not a line; anything else there is a line
    # whose newline was never written.
    unterminated = lines.pop()

    records: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            records.append((number, _parse(path, number, line)))
    if unterminated.strip():
        with contextlib.suppress(InputError):  # cut short by a crash, see read_journal
            records.append((len(lines) + 1, _parse(path, len(lines) + 1, unterminated)))

    if not records or records[0][1].get("type") != "run":
        raise _damaged(
            path,
            1,
            "$.type",
            'the first line is not a {"type": "run"} record, so this is not a ycsa-conform '
            "journal or it was cut short before the run started; run the tests again",
        )
    return records


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
