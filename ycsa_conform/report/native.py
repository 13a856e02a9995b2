"""The native acceptance report: report.json, checked against its schema, and report.html."""

# The Chinese texts use full-width Chinese punctuation on purpose.

from __future__ import annotations

import contextlib
import functools
import json
import os
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape as html_escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ycsa_conform.errors import YcsaError
from ycsa_conform.report.html import environment as html_environment
from ycsa_conform.report.html import html_context
from ycsa_conform.report.journal import run_as_dict
from ycsa_conform.report.scope import Scope, coverage, scope_summary
from ycsa_conform.result import Incident, Result, RunInfo, Verdict
from ycsa_conform.source import compile_fast, is_valid_fast

__all__ = [
    "REPORT_SCHEMA",
    "Conclusion",
    "ReportError",
    "ReportPaths",
    "build_report",
    "conclude",
    "fallback_html",
    "render_html",
    "subsystems",
    "summarize",
    "timestamp",
    "undecided",
    "untested_cause",
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
    """What `write_reports` wrote, and what went wrong while writing it (the report names the
    same incidents, and its conclusion counts them)."""

    json: Path
    html: Path
    conclusion: Conclusion | None = None
    incidents: tuple[Incident, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Conclusion:
    """The overall statement of a report. `status` is one of:

    - `conforms`: every mandatory requirement was decided and none failed;
    - `pending`: the same, with evidence still to come for requirements that are not mandatory;
    - `incomplete`: nothing failed, but a mandatory requirement was not decided (not tested,
      pending evidence) or the session had an incident: not accepted;
    - `fails`: a requirement failed or could not be decided (error), or strict acceptance
      fails what is pending or not tested;
    - `empty`: nothing was tested;
    - `partial`: the run decided only part of what the profiles hold for the site (requirements
      deselected, a run stopped, interrupted or killed) and nothing it decided failed: no
      conclusion on the whole. A failure in part of the site still fails it.
    """

    status: str
    en: str
    zh: str

    @property
    def conforms(self) -> bool:
        return self.status in ("conforms", "pending")

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "conforms": self.conforms, "en": self.en, "zh": self.zh}


def summarize(results: Iterable[Result]) -> dict[str, int]:
    """Counts per verdict, plus `total` and `untested` (of the not applicable results, those
    that apply but were not tested), in the key order of report.json."""
    counts = {"total": 0} | {v.value: 0 for v in Verdict} | {"untested": 0}
    for result in results:
        counts["total"] += 1
        counts[result.verdict.value] += 1
        counts["untested"] += result.untested
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


# Why a requirement was not tested, for the one-line conclusion (each result's own reason says
# it in full). The actuate and message checks that may not command a field device say how to
# allow it; every other untested result is one whose assumed state did not hold.
_UNTESTED_CAUSES = (
    ("--allow-actuation", "actuation not allowed", "未允许操作设备"),
    ("", "assumed state not held", "前提状态不成立"),
)
# At most this many REQ[TARGET] per cause in the conclusion; the terminal and the report list all.
_NAMED = 5


def untested_cause(result: Result) -> tuple[str, str]:
    """(English, Chinese) short cause of an untested result."""
    for marker, en, zh in _UNTESTED_CAUSES:
        if marker in result.reason:
            return en, zh
    raise AssertionError("unreachable: the last cause matches every reason")  # pragma: no cover


def undecided(results: Iterable[Result]) -> list[Result]:
    """Mandatory requirements that were neither decided nor failed: not tested, or pending
    evidence. Each keeps a run from concluding that it conforms."""
    return [
        r
        for r in results
        if r.level == "mandatory" and (r.untested or r.verdict is Verdict.PENDING)
    ]


def conclude(
    results: Sequence[Result],
    *,
    strict_acceptance: bool = False,
    incidents: Sequence[Incident] = (),
    scope: Mapping[str, Any] | None = None,
) -> Conclusion:
    """What a run's results mean for acceptance.

    A failure or an error fails the run. A run that decided part of the site only (`scope`,
    see `scope.scope_summary`, is partial) concludes nothing on the whole. A mandatory
    requirement not tested or pending evidence leaves it incomplete (not accepted), as does
    an incident of the session; under strict acceptance pending and untested mandatory
    requirements fail it.
    """
    whole = _conclude_whole(results, strict_acceptance=strict_acceptance, incidents=incidents)
    if scope is None or not scope.get("partial"):
        return whole
    decided, total = int(scope["decided"]), int(scope["requirements"])
    part_en = f"{decided} of {total} requirement{'s' if total != 1 else ''} run"
    part_zh = f"{total} 项中检验了 {decided} 项"
    if whole.status == "fails":
        # What failed fails the site whatever was not run; the sentence still says how much ran.
        return Conclusion(
            status="fails",
            en=f"{whole.en} (partial: {part_en})",
            zh=f"{whole.zh}（部分检验：{part_zh}）",
        )
    if whole.status == "incomplete":  # "Not accepted: …", said of the part that was run
        rest_en, rest_zh = f"; {whole.en[:1].lower()}{whole.en[1:]}", f"；{whole.zh}"
    else:
        rest_en = rest_zh = ""
    return Conclusion(
        status="partial",
        en=f"Partial: {part_en}; no conclusion on the whole{rest_en}",
        zh=f"部分检验：{part_zh}，不对整体下结论{rest_zh}",
    )


def _conclude_whole(
    results: Sequence[Result],
    *,
    strict_acceptance: bool,
    incidents: Sequence[Incident],
) -> Conclusion:
    """The conclusion of `conclude` as if `results` were everything the site holds."""
    summary = summarize(results)
    fail, error, pending = summary["fail"], summary["error"], summary["pending"]
    untested = [r for r in results if r.untested]
    mandatory_untested = [r for r in untested if r.level == "mandatory"]
    mandatory_pending = [
        r for r in results if r.level == "mandatory" and r.verdict is Verdict.PENDING
    ]
    incident_phrase = (len(incidents), "session incident(s)", "项运行异常")
    if fail or error or (strict_acceptance and (pending or mandatory_untested)):
        why = [(fail, "failed", "项不合格"), (error, "undecided (error)", "项错误")]
        if strict_acceptance:
            why.append((pending, "pending under strict acceptance", "项待补证据（严格验收）"))
            why.append(
                (
                    len(mandatory_untested),
                    "mandatory not tested under strict acceptance",
                    "项强制条款未检验（严格验收）",
                )
            )
        why.append(incident_phrase)
        en, zh = _count_phrases(why, ", ")
        return Conclusion(status="fails", en=f"Does not conform: {en}", zh=f"不符合：{zh}")
    if mandatory_untested or mandatory_pending or incidents:
        parts_en: list[str] = []
        parts_zh: list[str] = []
        if mandatory_untested:
            named_en, named_zh = _named_by_cause(mandatory_untested)
            n = len(mandatory_untested)
            parts_en.append(
                f"{n} mandatory requirement{'s' if n > 1 else ''} not tested ({named_en})"
            )
            parts_zh.append(f"{n} 项强制条款未检验（{named_zh}）")
        if mandatory_pending:
            named = _names(mandatory_pending)
            n = len(mandatory_pending)
            parts_en.append(
                f"{n} mandatory requirement{'s' if n > 1 else ''} pending evidence ({named})"
            )
            parts_zh.append(f"{n} 项强制条款待补证据（{named}）")
        if incidents:
            stages = ", ".join(dict.fromkeys(i.stage for i in incidents))
            parts_en.append(f"{len(incidents)} session incident(s) ({stages})")
            parts_zh.append(f"{len(incidents)} 项运行异常（{stages}）")
        return Conclusion(
            status="incomplete",
            en="Not accepted: " + "; ".join(parts_en),
            zh="未验收：" + "；".join(parts_zh),
        )
    if summary["pass"] + summary["marginal"] + pending == 0:
        if summary["total"]:
            return Conclusion(status="empty", en="Nothing applicable was tested", zh="无适用检验项")
        return Conclusion(status="empty", en="Nothing was tested", zh="没有检验结果")
    en, zh = _count_phrases(
        [
            (pending, "pending", "项待补证据"),
            (summary["marginal"], "marginal", "项临界"),
            (len(untested), "not tested (not mandatory)", "项非强制条款未检验"),
        ],
        " and ",
    )
    return Conclusion(
        status="pending" if pending else "conforms",
        en=f"Conforms, with {en}" if en else "Conforms",
        zh=f"符合（{zh}）" if zh else "符合",
    )


def _names(results: Sequence[Result]) -> str:
    """'SP-PWR-009[P001], SP-LUM-010[P001], … 3 more'."""
    names = [f"{r.requirement}[{r.target}]" for r in results]
    shown = ", ".join(names[:_NAMED])
    return f"{shown}, … {len(names) - _NAMED} more" if len(names) > _NAMED else shown


def _named_by_cause(results: Sequence[Result]) -> tuple[str, str]:
    """('actuation not allowed: SP-PWR-009[P001], …', '未允许操作设备：SP-PWR-009[P001]，…')."""
    by_cause: dict[tuple[str, str], list[Result]] = {}
    for result in results:
        by_cause.setdefault(untested_cause(result), []).append(result)
    en = "; ".join(f"{cause_en}: {_names(rs)}" for (cause_en, _), rs in by_cause.items())
    zh = "；".join(f"{cause_zh}：{_names(rs)}" for (_, cause_zh), rs in by_cause.items())
    return en, zh


def _count_phrases(counts: list[tuple[int, str, str]], en_sep: str) -> tuple[str, str]:
    """("2 failed, 1 undecided (error)", "2 项不合格，1 项错误") for the non-zero counts."""
    en = en_sep.join(f"{n} {what}" for n, what, _ in counts if n)
    zh = "，".join(f"{n} {what}" for n, _, what in counts if n)
    return en, zh


# report.json's keys in the order a reader meets them; sections are left out when they failed.
_KEY_ORDER = (
    "schema",
    "tool",
    "profiles",
    "site",
    "operator",
    "started",
    "finished",
    "conclusion",
    "scope",
    "summary",
    "incidents",
    "strict_acceptance",
    "allow_actuation",
    "parameters",
    "resolved_parameters",
    "devices",
    "inputs",
    "bench_faults",
    "results",
    "coverage",
    "subsystems",
    "traffic",
)
# Sections a report is complete without: one that fails is left out and named as an incident.
_OPTIONAL = frozenset(_KEY_ORDER) - {
    "schema",
    "tool",
    "profiles",
    "site",
    "started",
    "finished",
    "summary",
    "results",
}


def build_report(
    run: RunInfo,
    results: Sequence[Result],
    finished: str,
    *,
    traffic: Mapping[str, Any] | None = None,
    incidents: Sequence[Incident] = (),
    scope: Scope | None = None,
) -> dict[str, Any]:
    """The content of report.json, validated against the shipped schema.

    With `scope` (what the profiles hold for the site, and what was selected), the report says
    how much of it was decided (`scope`, `coverage`) and a partial run concludes nothing on
    the whole. A section that cannot be built, or that breaks the schema, is left out and named in
    `incidents`, as is a result that breaks it; the conclusion counts those incidents. Only a
    part no report can be without (the run's identity, the summary) raises ReportError.
    """
    ordered = sorted(results, key=lambda r: (r.profile, r.target, r.requirement))
    found: list[Incident] = []

    def section(name: str, build: Callable[[], Any]) -> None:
        try:
            report[name] = build()
        except Exception as exc:  # a report is still written: see the docstring
            found.append(Incident.from_exception("report.json", exc, where=f"$.{name}"))

    report: dict[str, Any] = {"schema": REPORT_SCHEMA, **run_as_dict(run), "finished": finished}
    report["summary"] = summarize(ordered)
    rows: list[dict[str, Any]] = []
    for result in ordered:
        try:
            rows.append(result.as_dict())
        except Exception as exc:  # the same: the result is named, the others are written
            found.append(Incident.from_exception("report.json", exc, where=_named(result)))
    report["results"] = rows
    section("subsystems", lambda: subsystems(ordered))
    section("devices", lambda: _devices(run, ordered))
    if traffic is not None:
        section("traffic", lambda: json.loads(json.dumps(dict(traffic))))
    if scope is not None:
        section("scope", lambda: scope_summary(scope, ordered))
        section("coverage", lambda: coverage(scope, ordered))
    found += _drop_invalid(report)
    all_incidents = [*incidents, *found]
    report["incidents"] = [i.as_dict() for i in all_incidents]
    conclusion = conclude(
        ordered,
        strict_acceptance=run.strict_acceptance,
        incidents=all_incidents,
        scope=report.get("scope"),
    )
    report["conclusion"] = conclusion.as_dict()
    _validate({**report, "results": []})  # the results were checked (and not changed) above
    return {key: report[key] for key in _KEY_ORDER if key in report}


def _named(result: Result) -> str:
    return f"{result.profile}::{result.requirement}[{result.target}]"


def _devices(run: RunInfo, results: Sequence[Result]) -> list[dict[str, Any]]:
    """The site's devices, each with `answered`: whether a result holds a value read from it
    (so it answered at the address and as the identity the site gives)."""
    heard = {
        (r.target, m.source.device)
        for r in results
        for m in r.measurements
        if m.source is not None and m.value is not None
    }
    return [d.as_dict() | {"answered": (d.target, d.role) in heard} for d in run.devices]


def _drop_invalid(report: dict[str, Any]) -> list[Incident]:
    """Leave out the optional sections and the results that break the schema, each named as
    an incident; raise ReportError when a part no report can be without breaks it."""
    errors = _schema_errors(report)
    if not errors:
        return []
    found: list[Incident] = []
    bad_results: set[int] = set()
    bad_sections: dict[str, str] = {}
    required: list[str] = []
    for error in errors:
        path = list(error.absolute_path)
        head = str(path[0]) if path else ""
        message = f"{error.json_path}: {error.message}"
        if head == "results" and len(path) > 1 and isinstance(path[1], int):
            if path[1] not in bad_results:
                bad_results.add(path[1])
                row = report["results"][path[1]]
                where = f"{row.get('profile')}::{row.get('requirement')}[{row.get('target')}]"
                found.append(
                    Incident(stage="report.json", cause=f"result left out: {message}", where=where)
                )
        elif head in _OPTIONAL:
            bad_sections.setdefault(head, message)
        else:
            required.append(message)
    if required:
        raise ReportError(_schema_message(required))
    for name, message in bad_sections.items():
        del report[name]
        found.append(
            Incident(stage="report.json", cause=f"section left out: {message}", where=f"$.{name}")
        )
    report["results"] = [r for i, r in enumerate(report["results"]) if i not in bad_results]
    return found


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
    incidents: Sequence[Incident] = (),
    scope: Scope | None = None,
    lang: str = "both",
) -> ReportPaths:
    """Write report.json and report.html into `report_dir`, each replaced atomically.

    Whatever the content, both are written: a report that breaks its schema where no section
    can be left out is written as it is, and an HTML template that fails gives a plain page
    with the conclusion, the incidents and every result. Each such failure is an incident
    (in both files and in the returned paths). Only a failure to write the files raises.
    """
    if finished is None:
        finished = timestamp()
    found: list[Incident] = []
    try:
        report = build_report(
            run, results, finished, traffic=traffic, incidents=incidents, scope=scope
        )
    except Exception as exc:  # ReportError, or a bug: write what can be written
        found.append(Incident.from_exception("report.json", exc))
        report = _unvalidated_report(run, results, finished, [*incidents, *found], scope)
    try:
        html = render_html(report, lang=lang, base=report_dir)
    except Exception as exc:  # the template failed: a plain page says what the report says
        found.append(Incident.from_exception("report.html", exc, where="templates/report.html.j2"))
        _add_incidents(report, run, results, found[-1:])
        html = fallback_html(report)
    report_dir.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(json=report_dir / "report.json", html=report_dir / "report.html")
    _write_atomic(paths.json, json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")
    _write_atomic(paths.html, html)
    return ReportPaths(
        json=paths.json,
        html=paths.html,
        conclusion=Conclusion(**{k: report["conclusion"][k] for k in ("status", "en", "zh")}),
        # The incidents found here, after those the caller gave.
        incidents=tuple(Incident.from_dict(i) for i in report["incidents"][len(incidents) :]),
    )


def _unvalidated_report(
    run: RunInfo,
    results: Sequence[Result],
    finished: str,
    incidents: Sequence[Incident],
    scope: Scope | None = None,
) -> dict[str, Any]:
    """The report when build_report failed: the run, the summary, every result that can be
    written, the incidents and the conclusion, not checked against the schema."""
    report: dict[str, Any] = {"schema": REPORT_SCHEMA}
    try:
        report |= run_as_dict(run)
    except Exception:  # the bare identity of the run, then; the incident says why
        report |= {"tool": {"name": "ycsa-conform", "version": run.tool_version}}
    report["finished"] = finished
    report["summary"] = summarize(results)
    rows = []
    for result in sorted(results, key=lambda r: (r.profile, r.target, r.requirement)):
        with contextlib.suppress(Exception):  # counted in the summary, named nowhere else
            rows.append(result.as_dict())
    report["results"] = rows
    if scope is not None:
        # A partial run must not read as conforming, even in a report that could not be built.
        with contextlib.suppress(Exception):
            report["scope"] = scope_summary(scope, results)
    report["incidents"] = []
    _add_incidents(report, run, results, incidents)
    return {key: report[key] for key in _KEY_ORDER if key in report}


def _add_incidents(
    report: dict[str, Any],
    run: RunInfo,
    results: Sequence[Result],
    incidents: Sequence[Incident],
) -> None:
    """Append `incidents` to the report's and conclude again."""
    report["incidents"] = [*report.get("incidents", []), *(i.as_dict() for i in incidents)]
    every = [Incident.from_dict(i) for i in report["incidents"]]
    report["conclusion"] = conclude(
        results, strict_acceptance=run.strict_acceptance, incidents=every, scope=report.get("scope")
    ).as_dict()


def render_html(report: dict[str, Any], *, lang: str = "both", base: Path | None = None) -> str:
    """report.html from a report built by `build_report`: one file, no scripts, no downloads.

    `lang` is `both` (English with Chinese beside it), `zh` or `en`; `base` is the folder the
    file goes to, so that links to the run's other files (a recording) are relative to it.
    """
    env = html_environment()
    env.filters["value"] = _format_value
    return env.get_template("report.html.j2").render(
        report=report,
        conclusion=_conclusion_of(report),
        versions=_versions(report["profiles"]),
        parameters=_parameter_rows(report),
        **html_context(report, lang=lang, base=base),
    )


def _conclusion_of(report: dict[str, Any]) -> Conclusion:
    """The report's own conclusion; concluded from its rows for a report that has none."""
    stated = report.get("conclusion")
    if stated:
        return Conclusion(status=stated["status"], en=stated["en"], zh=stated["zh"])
    return conclude(
        [Result.from_dict(r) for r in report["results"]],
        strict_acceptance=report.get("strict_acceptance", False),
        incidents=[Incident.from_dict(i) for i in report.get("incidents", [])],
        scope=report.get("scope"),
    )


def _parameter_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Resolved parameters for the HTML: those set by a layer first, then the defaults; the
    targets shown only when a row does not hold for every target."""
    every = {r["target"] for r in report.get("results", [])} | {
        t for p in report.get("resolved_parameters", []) for t in p["targets"]
    }
    rows = [
        {**p, "for": "" if set(p["targets"]) >= every else ", ".join(p["targets"])}
        for p in report.get("resolved_parameters", [])
    ]
    return sorted(rows, key=lambda p: (p["layer"] == "default", p["profile"], p["name"]))


def fallback_html(report: dict[str, Any]) -> str:
    """A plain report.html, built without the template (when the template fails): the run,
    the conclusion, the incidents and every result, each value escaped."""

    def text(value: object) -> str:
        return html_escape(str(value), quote=True)

    conclusion = report.get("conclusion") or {}
    site = report.get("site") or {}
    lines = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Acceptance report 验收报告 — {text(site.get('id', ''))}</title></head><body>",
        "<h1>Acceptance report 验收报告</h1>",
        "<p><strong>This is the plain form of the report: its template failed (see the "
        "incidents). report.json beside this file holds the same data.</strong></p>",
        f"<p>Site {text(site.get('id', ''))} ({text(site.get('kind', ''))}) · "
        f"started {text(report.get('started', ''))} · finished {text(report.get('finished', ''))}"
        "</p>",
        f'<p class="conclusion">{text(conclusion.get("en", ""))} / '
        f"{text(conclusion.get('zh', ''))}</p>",
        "<h2>Incidents 运行异常</h2><ul>",
        *(
            f"<li>{text(i['stage'])}: {text(i['cause'])}"
            + (f" ({text(i['where'])})" if i.get("where") else "")
            + "</li>"
            for i in report.get("incidents", [])
        ),
        "</ul>",
        "<h2>Results 检验结果</h2><table border=1>",
        "<tr><th>Requirement</th><th>Target</th><th>Level</th><th>Verdict</th><th>Reason</th></tr>",
        *(
            f"<tr><td>{text(r['requirement'])}</td><td>{text(r['target'])}</td>"
            f"<td>{text(r['level'])}</td><td>{text(r['verdict'])}"
            + (" (not tested)" if r.get("untested") else "")
            + f"</td><td>{text(r['reason'])}</td></tr>"
            for r in report.get("results", [])
        ),
        "</table></body></html>",
    ]
    return "\n".join(lines) + "\n"


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


def _schema_errors(report: dict[str, Any]) -> list[Any]:
    """Every way `report` breaks the schema, in path order; [] when it matches.

    A report of a district holds 70,000 results: jsonschema takes about half a millisecond for
    each, the compiled validator (`source.compile_fast`) a fifteenth of that. It answers
    whether the report matches; only when it does not, jsonschema lists every error."""
    fast, full = _validators()
    if is_valid_fast(fast, report):
        return []
    return sorted(full.iter_errors(report), key=lambda e: list(map(str, e.absolute_path)))


@functools.cache
def _validators() -> tuple[Callable[[Any], Any] | None, Draft202012Validator]:
    schema = json.loads((files("ycsa_conform") / _SCHEMA_FILE).read_text(encoding="utf-8"))
    full = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return compile_fast(schema), full


def _schema_message(lines: Sequence[str]) -> str:
    shown = "\n".join(f"  {line}" for line in lines[:20])
    return (
        f"report.json does not match ycsa_conform/{_SCHEMA_FILE}:\n{shown}\n"
        "This is a bug in ycsa-conform or in a check it runs: please report it with the "
        "run's journal, from which the report can be rebuilt."
    )


def _validate(report: dict[str, Any]) -> None:
    errors = _schema_errors(report)
    if errors:
        raise ReportError(_schema_message([f"{e.json_path}: {e.message}" for e in errors]))


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
