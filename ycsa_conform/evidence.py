"""Evidence: operator-provided proof (certificates, photos, nameplates) for `evidence` checks.

An evidence file (`--evidence PATH`, format in schemas/evidence.schema.json) lists entries; each
gives the verdict an operator reached on one item, for one target or, without `target`, for
every target of the site. A target's own entry wins over a site-wide one. The files an entry
cites are paths relative to the evidence file and must exist.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import InputError, Problem
from .source import Document, JsonPath, load_document, render_path

__all__ = ["Evidence", "EvidenceFile", "EvidenceVerdict", "load_evidence"]

# How alike an unknown item must be to an asked one to be taken for its misspelling (difflib's
# ratio; a dropped or doubled letter in 'ip_rating_certificate' gives 0.97, another item of the
# profiles, like 'charger_ip_rating', less than 0.7).
_TYPO = 0.8


class EvidenceVerdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """One entry: what an operator concluded about `item`, from which files, when, and who."""

    item: str
    target: str | None  # None: site-wide
    verdict: EvidenceVerdict
    by: str
    date: datetime.date
    files: tuple[Path, ...]  # resolved; `cited` keeps them as written
    cited: tuple[str, ...]
    value: str | None
    note: str | None
    file: Path  # the evidence file
    line: int | None
    target_line: int | None
    where: str  # "$.evidence[3]"

    @property
    def origin(self) -> str:
        return f"{self.file}:{self.line}: {self.where}"


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceFile:
    path: Path
    site: str | None  # the site id the evidence was gathered on, when the file says
    site_line: int | None
    entries: Mapping[tuple[str, str | None], Evidence]

    def find(self, item: str, target: str) -> Evidence | None:
        """The target's own entry for `item`, else the site-wide one, else None."""
        return self.entries.get((item, target)) or self.entries.get((item, None))

    def mismatches(
        self, site: str, targets: Iterable[str], items: Iterable[str] = ()
    ) -> list[Problem]:
        """Where the file disagrees with the run: another site id, a target the site does not
        have, or an item the run's profiles do not ask for that is close to one they do (a
        typo would otherwise leave a check pending and the entry silently unused). An item
        close to none may be another profile's and is left alone."""
        problems = []
        asked = sorted(set(items))
        for e in self.entries.values():
            if e.item in asked:
                continue
            close = difflib.get_close_matches(e.item, asked, n=1, cutoff=_TYPO)
            if close:
                problems.append(
                    Problem(
                        file=e.file,
                        line=e.line,
                        path=f"{e.where}.item",
                        message=f"no requirement of the run asks for evidence {e.item!r}; "
                        f"did you mean {close[0]!r}? Correct the item's name",
                    )
                )
        if self.site is not None and self.site != site:
            problems.append(
                Problem(
                    file=self.path,
                    line=self.site_line,
                    path="$.site",
                    message=f"the evidence is for site {self.site!r}, this run checks {site!r}; "
                    "give the evidence file of this site",
                )
            )
        known = sorted(set(targets))
        problems += [
            Problem(
                file=e.file,
                line=e.target_line,
                path=f"{e.where}.target",
                message=f"target {e.target!r} is not in the site; "
                f"use one of: {', '.join(known)}, or leave 'target' out for every target",
            )
            for e in self.entries.values()
            if e.target is not None and e.target not in known
        ]
        return problems


def load_evidence(path: Path | str) -> EvidenceFile:
    """Load and check an evidence file; InputError lists every problem, one line each."""
    doc = load_document(path, schema="evidence")
    problems: list[Problem] = []
    entries: dict[tuple[str, str | None], Evidence] = {}
    first: dict[tuple[str, str | None], int] = {}
    for index, raw in enumerate(doc.data["evidence"]):
        entry = _entry(doc, ("evidence", index), raw, problems)
        key = (raw["item"], raw.get("target"))
        if key in first:
            whom = f"target {key[1]}" if key[1] else "the whole site"
            problems.append(
                doc.problem(
                    ("evidence", index, "item"),
                    f"evidence {key[0]!r} for {whom} is already given at "
                    f"evidence[{first[key]}]; keep one entry per item and target",
                )
            )
            continue
        first[key] = index
        if entry is not None:
            entries[key] = entry
    if problems:
        raise InputError(problems)
    return EvidenceFile(
        path=doc.path,
        site=doc.data.get("site"),
        site_line=doc.line(("site",)),
        entries=MappingProxyType(entries),
    )


def _entry(
    doc: Document, where: JsonPath, raw: Mapping[str, Any], problems: list[Problem]
) -> Evidence | None:
    ok = True
    date = _date(raw["date"])
    if date is None:
        problems.append(
            doc.problem(
                (*where, "date"),
                f"{raw['date']!r} is not a date; write it as YYYY-MM-DD, like 2026-11-20",
            )
        )
        ok = False
    files = []
    for i, name in enumerate(raw["files"]):
        file = (doc.path.parent / name).resolve()
        if not file.is_file():
            problems.append(
                doc.problem(
                    (*where, "files", i),
                    f"{name!r} not found (looked at {file}); "
                    "give the path relative to this evidence file",
                )
            )
            ok = False
        files.append(file)
    if not ok or date is None:
        return None
    value = raw.get("value")
    return Evidence(
        item=raw["item"],
        target=raw.get("target"),
        verdict=EvidenceVerdict(raw["verdict"]),
        by=raw["by"],
        date=date,
        files=tuple(files),
        cited=tuple(raw["files"]),
        value=None if value is None else str(value),
        note=raw.get("note"),
        file=doc.path,
        line=doc.line(where),
        target_line=doc.line((*where, "target")),
        where=render_path(where),
    )


def _date(value: Any) -> datetime.date | None:
    # YAML reads an unquoted 2026-11-20 as a date already; a quoted one arrives as text.
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
