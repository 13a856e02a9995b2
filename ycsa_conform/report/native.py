"""The native acceptance report: report.json, checked against its schema, and report.html."""

# The Chinese texts use full-width Chinese punctuation on purpose.

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from jsonschema import Draft202012Validator

from ycsa_conform.errors import YcsaError
from ycsa_conform.report.journal import run_as_dict
from ycsa_conform.result import Result, RunInfo, Verdict

__all__ = [
    "REPORT_SCHEMA",
    "Conclusion",
    "ReportError",
    "ReportPaths",
    "build_report",
    "conclude",
    "render_html",
    "subsystems",
    "summarize",
    "timestamp",
    "write_reports",
]

REPORT_SCHEMA = "ycsa-conform/report/v1"
_SCHEMA_FILE = "schemas/report.schema.json"

_VERDICT_LABELS = {
    Verdict.PASS: ("Pass", "合格"),
    Verdict.MARGINAL: ("Marginal", "临界"),
    Verdict.FAIL: ("Fail", "不合格"),
    Verdict.ERROR: ("Error", "错误"),
    Verdict.NOT_APPLICABLE: ("Not applicable", "不适用"),
    Verdict.PENDING: ("Pending", "待补证据"),
}
_LEVEL_LABELS = {"mandatory": "强制", "recommended": "推荐", "optional": "可选"}
# Rows with these verdicts are listed, in this order, under "Needs attention".
_ATTENTION = (Verdict.FAIL, Verdict.ERROR, Verdict.PENDING)


class ReportError(YcsaError, RuntimeError):
    """The report we built does not match its own schema: a bug in ycsa-conform, not user input."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportPaths:
    json: Path
    html: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Conclusion:
    """The overall statement of a report. `status` is one of conforms, pending, fails, empty."""

    status: str
    en: str
    zh: str

    @property
    def conforms(self) -> bool:
        return self.status in ("conforms", "pending")


def summarize(results: Iterable[Result]) -> dict[str, int]:
    """Counts per verdict, plus `total`, in the key order of report.json."""
    counts = {"total": 0} | {v.value: 0 for v in Verdict}
    for result in results:
        counts["total"] += 1
        counts[result.verdict.value] += 1
    return counts


def subsystems(results: Iterable[Result]) -> list[dict[str, Any]]:
    """Results that have a subsystem, one group per (target, subsystem) in first-seen order."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        if result.subsystem is not None:
            groups.setdefault((result.target, result.subsystem), []).append(result)
    return [
        {
            "target": target,
            "subsystem": subsystem,
            "summary": summarize(members),
            "requirements": [r.requirement for r in members],
        }
        for (target, subsystem), members in groups.items()
    ]


def conclude(summary: dict[str, int], *, strict_acceptance: bool = False) -> Conclusion:
    """What a summary means for acceptance. Pending fails only under strict acceptance."""
    fail, error, pending = summary["fail"], summary["error"], summary["pending"]
    if fail or error or (pending and strict_acceptance):
        why = [(fail, "failed", "项不合格"), (error, "undecided (error)", "项错误")]
        if strict_acceptance:
            why.append((pending, "pending under strict acceptance", "项待补证据（严格验收）"))
        en, zh = _count_phrases(why, ", ")
        return Conclusion(status="fails", en=f"Does not conform: {en}", zh=f"不符合：{zh}")
    if summary["pass"] + summary["marginal"] + pending == 0:
        if summary["total"]:
            return Conclusion(status="empty", en="Nothing applicable was tested", zh="无适用检验项")
        return Conclusion(status="empty", en="Nothing was tested", zh="没有检验结果")
    en, zh = _count_phrases(
        [(pending, "pending", "项待补证据"), (summary["marginal"], "marginal", "项临界")], " and "
    )
    return Conclusion(
        status="pending" if pending else "conforms",
        en=f"Conforms, with {en}" if en else "Conforms",
        zh=f"符合（{zh}）" if zh else "符合",
    )


def _count_phrases(counts: list[tuple[int, str, str]], en_sep: str) -> tuple[str, str]:
    """("2 failed, 1 undecided (error)", "2 项不合格，1 项错误") for the non-zero counts."""
    en = en_sep.join(f"{n} {what}" for n, what, _ in counts if n)
    zh = "，".join(f"{n} {what}" for n, _, what in counts if n)
    return en, zh


def build_report(
    run: RunInfo,
    results: Sequence[Result],
    finished: str,
    *,
    traffic: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of report.json, validated against the shipped schema (ReportError if not)."""
    ordered = sorted(results, key=lambda r: (r.profile, r.target, r.requirement))
    report: dict[str, Any] = {"schema": REPORT_SCHEMA, **run_as_dict(run)}
    report["finished"] = finished
    report["summary"] = summarize(ordered)
    report["results"] = [r.as_dict() for r in ordered]
    report["subsystems"] = subsystems(ordered)
    if traffic is not None:
        report["traffic"] = dict(traffic)
    _validate(report)
    return report


def timestamp() -> str:
    """Now, as reports write times: ISO 8601 to the second, with the local UTC offset."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def write_reports(
    report_dir: Path,
    run: RunInfo,
    results: Sequence[Result],
    *,
    finished: str | None = None,
    traffic: Mapping[str, Any] | None = None,
) -> ReportPaths:
    """Write report.json and report.html into `report_dir`, each replaced atomically."""
    if finished is None:
        finished = timestamp()
    report = build_report(run, results, finished, traffic=traffic)
    html = render_html(report)  # render before writing, so a template error writes nothing
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(json=report_dir / "report.json", html=report_dir / "report.html")
    _write_atomic(paths.json, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    _write_atomic(paths.html, html)
    return paths


def render_html(report: dict[str, Any]) -> str:
    """report.html from a report built by `build_report`: one file, no scripts, no downloads."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ycsa_conform.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["value"] = _format_value
    # Copies with an anchor for the "Needs attention" links; `report` itself stays as written.
    results = [{**r, "anchor": f"r{i}"} for i, r in enumerate(report["results"], start=1)]
    summary = report["summary"]
    return env.get_template("report.html.j2").render(
        report=report,
        conclusion=conclude(summary, strict_acceptance=report.get("strict_acceptance", False)),
        verdicts=[(v.value, *_VERDICT_LABELS[v]) for v in Verdict],
        levels=_LEVEL_LABELS,
        attention=sorted(
            (r for r in results if r["verdict"] in _ATTENTION),
            key=lambda r: _ATTENTION.index(r["verdict"]),
        ),
        areas=_breakdown(results, "area"),
        targets=_breakdown(results, "target"),
        by_target=[(target, _by_subsystem(rows)) for target, rows in _group(results, "target")],
        several_profiles=len({r["profile"] for r in results}) > 1,
        versions=_versions(report["profiles"]),
    )


def _by_subsystem(
    rows: list[dict[str, Any]],
) -> list[tuple[str | None, dict[str, int], list[dict[str, Any]]]]:
    """A target's results by subsystem, in first-seen order; those without one under None."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row.get("subsystem"), []).append(row)
    return [(name, _counts(members), members) for name, members in groups.items()]


def _versions(profiles: list[dict[str, Any]]) -> dict[str, str]:
    """Profile id → version, for the profiles run and every profile they extend."""
    versions = {e["id"]: e["version"] for p in profiles for e in p.get("extends", ())}
    return versions | {p["id"]: p["version"] for p in profiles}


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"total": 0} | {v.value: 0 for v in Verdict}
    for row in rows:
        counts["total"] += 1
        counts[row["verdict"]] += 1
    return counts


def _breakdown(results: list[dict[str, Any]], key: str) -> list[tuple[str, dict[str, int]]]:
    return [(name, _counts(rows)) for name, rows in _group(results, key)]


def _group(results: list[dict[str, Any]], key: str) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(result[key], []).append(result)
    return sorted(groups.items())


def _format_value(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.10g}"  # enough digits for any instrument, none of the float noise
    return str(value)


def _validate(report: dict[str, Any]) -> None:
    schema = json.loads((files("ycsa_conform") / _SCHEMA_FILE).read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n".join(f"  {e.json_path}: {e.message}" for e in errors[:20])
        raise ReportError(
            f"report.json does not match ycsa_conform/{_SCHEMA_FILE}; nothing was written:\n"
            f"{lines}\n"
            "This is a bug in ycsa-conform or in a check it runs: please report it with the "
            "run's journal, from which the report can be rebuilt."
        )


def _write_atomic(path: Path, text: str) -> None:
    # Write beside the target and rename over it: a reader sees the old file or the new one,
    # never half of one, and a crash leaves at most a hidden temporary file.
    # (Not tempfile.mkstemp: its files are mode 0600, and a handover report is for reading.)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with tmp.open("x", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
