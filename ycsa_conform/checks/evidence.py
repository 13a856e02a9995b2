"""`evidence`: a requirement decided by operator-provided proof (certificate, photo, nameplate).

check:
  kind: evidence
  item: ip_rating_certificate      # the item an entry of the evidence file names
  expect: "IP65 or better"         # optional: what the evidence must show, for the reader

Without an entry for the item (the target's own, else a site-wide one) the verdict is
`pending`: listed in the summary, and a failure with --strict-acceptance. With one, the verdict
is the operator's, and the reason says who decided it, when, and from which files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ycsa_conform.result import Measurement, Verdict

from .base import CheckContext, Outcome, ParseContext, Use

__all__ = ["EvidenceCheck", "parse"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceCheck:
    item: str
    expect: str | None

    @property
    def kind(self) -> str:
        return "evidence"

    def needs(self) -> tuple[str, ...]:
        return ()

    def uses(self) -> tuple[Use, ...]:
        return ()

    def run(self, ctx: CheckContext) -> Outcome:
        target = ctx.target.id
        found = ctx.evidence.find(self.item, target) if ctx.evidence is not None else None
        if found is None:
            fix = (
                "supply it with --evidence FILE"
                if ctx.evidence is None
                else f"add an entry for it to {ctx.evidence.path}"
            )
            return Outcome(
                verdict=Verdict.PENDING,
                reason=f"waiting for evidence {self.item!r} for {target}; {fix}",
            )
        verdict = Verdict(found.verdict.value)
        shows = f"{found.value}" if found.value is not None else found.verdict.value
        expected = f" (expected {self.expect})" if self.expect else ""
        scope = target if found.target is not None else "the whole site"
        note = f"; note: {found.note}" if found.note else ""
        reason = (
            f"evidence {self.item!r} for {scope}: {shows}{expected}: {verdict.value}, "
            f"by {found.by} on {found.date.isoformat()}, files: {', '.join(found.cited)}{note}"
        )
        measurement = Measurement(
            name=self.item,
            value=found.value if found.value is not None else found.verdict.value,
            unit="",
            limit=self.expect or "operator's verdict",
            verdict=verdict,
        )
        return Outcome(verdict=verdict, reason=reason, measurements=(measurement,))


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> EvidenceCheck:
    return EvidenceCheck(item=raw["item"], expect=raw.get("expect"))
