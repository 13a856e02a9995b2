"""What a report covers: every requirement × target the profiles hold for the site, and for
each one whether this report decides it or why not.

A run that deselected requirements (`-k`, `-m`, `--lf`, node ids), stopped early (`-x`), was
interrupted or killed decides part of the site only. Its report says "partial: N of M" and
never concludes that the site conforms; `coverage` lists the pairs not run with the reason.

The plan is written to the journal (a `plan` line), so `ycsa-conform report render` and
`report merge` rebuild the same scope from journals alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ycsa_conform.result import Result

__all__ = [
    "CUT_SHORT",
    "NOT_RUN",
    "UNDECIDED",
    "Planned",
    "Scope",
    "coverage",
    "merge_scopes",
    "scope_summary",
]

# The state of a pair that this report does not decide (the others are verdicts).
NOT_RUN = "not_run"
# The reason of a pair that was selected but never decided, when the run did not say why
# (its journal ends before the run did: the process was killed, or the machine stopped).
CUT_SHORT = "not run: the run was cut short (its journal ends before the run did: killed?)"
# ... and when the run ended without saying why (a pytest-xdist worker that crashed).
UNDECIDED = "not run: selected, but the session ended without deciding it"


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One requirement × target the profiles hold for the site. `reason` says why the run
    would not decide it ("" when it was selected to run)."""

    profile: str
    requirement: str
    target: str
    title: dict[str, str]
    area: str
    level: str
    reason: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.profile, self.requirement, self.target)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "requirement": self.requirement,
            "target": self.target,
            "title": dict(self.title),
            "area": self.area,
            "level": self.level,
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Planned:
        return cls(
            profile=data["profile"],
            requirement=data["requirement"],
            target=data["target"],
            title=dict(data.get("title", {})),
            area=data.get("area", ""),
            level=data.get("level", ""),
            reason=data.get("reason", ""),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """The plan of a run (in profile order) and what happened to it.

    `stopped` is why the selected pairs without a result were not decided (interrupted, -x);
    `ended` is False for a run cut short (killed); `notes` are further facts a reader of the
    scope needs (a resumed run)."""

    planned: tuple[Planned, ...]
    stopped: str = ""
    ended: bool = True
    notes: tuple[str, ...] = ()

    def not_run_reason(self, planned: Planned) -> str:
        return planned.reason or self.stopped or (UNDECIDED if self.ended else CUT_SHORT)


def _decided(results: Iterable[Result]) -> dict[tuple[str, str, str], Result]:
    return {(r.profile, r.requirement, r.target): r for r in results}


def coverage(scope: Scope, results: Iterable[Result]) -> list[dict[str, Any]]:
    """One row per planned pair, in profile order: its verdict as `state` (and the result's
    reason), or `not_run` with the reason it was not run."""
    decided = _decided(results)
    rows = []
    for planned in scope.planned:
        result = decided.get(planned.key)
        row = planned.as_dict()
        del row["reason"]  # after the state, as the reader asks
        if result is None:
            row |= {"state": NOT_RUN, "reason": scope.not_run_reason(planned)}
        else:
            row |= {"state": result.verdict.value, "reason": result.reason}
        rows.append(row)
    return rows


def scope_summary(scope: Scope, results: Iterable[Result]) -> dict[str, Any]:
    """`{"requirements": M, "decided": N, "partial": N < M, "why": [...]}`: M counts the
    requirement × target pairs planned, N those with a result; `why` says, once each, why pairs
    were not run, then the notes."""
    decided = _decided(results)
    why: dict[str, None] = {}
    count = 0
    for planned in scope.planned:
        if planned.key in decided:
            count += 1
        else:
            why.setdefault(scope.not_run_reason(planned), None)
    for note in scope.notes:
        why.setdefault(note, None)
    total = len(scope.planned)
    return {"requirements": total, "decided": count, "partial": count < total, "why": list(why)}


def merge_scopes(scopes: Sequence[Scope]) -> Scope:
    """One scope for the runs of a district (`report merge`): every pair any run planned, in
    first-seen order; a pair one run did not select takes the reason of the run that planned
    it first (a pair decided in any run is decided in the merged report)."""
    planned: dict[tuple[str, str, str], Planned] = {}
    notes: dict[str, None] = {}
    for scope in scopes:
        for p in scope.planned:
            reason = scope.not_run_reason(p)
            if p.key not in planned or (planned[p.key].reason and not p.reason):
                planned[p.key] = Planned(
                    profile=p.profile,
                    requirement=p.requirement,
                    target=p.target,
                    title=p.title,
                    area=p.area,
                    level=p.level,
                    reason=reason,
                )
        for note in scope.notes:
            notes.setdefault(note, None)
    return Scope(planned=tuple(planned.values()), notes=tuple(notes))
