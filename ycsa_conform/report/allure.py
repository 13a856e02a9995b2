"""Allure results for a run. The only module that imports allure.

Without ``--alluredir`` allure-pytest registers no listener and every ``allure.dynamic`` call
is a no-op hook call, so `annotate` and `finish` may be called for every result
unconditionally.

An item is annotated in two steps, because of when allure-pytest writes what:

- `annotate` (in the item's setup, as soon as the result is known): labels, the target as a
  parameter, links, attachments (measurements as JSON and as a table, device traffic);
- `finish` (in its teardown): the title and the description, the observation's own start and
  stop, and the status message. allure-pytest sets the test's name and description from the
  item *after* setup (its ``pytest_runtest_setup`` wrapper), and start/stop around ``runtest``;
  our checks are decided by the executor before or while items report, so what it measured
  would be lost or show 0 ms.

`write_environment` and `write_categories` fill the Allure report's "Environment" and
"Categories" panels (``environment.properties``, ``categories.json`` in the alluredir);
`write_allurerc` writes the Allure 3 configuration that renders one HTML file without an
analytics script, and `strip_analytics` takes that script out of a page rendered otherwise.
"""

# allure-python ships py.typed but leaves allure.dynamic unannotated; this adapter is where that
# stops mattering, so the check is off here and nowhere else.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import html
import json
import math
import platform
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import allure
import pytest

from ycsa_conform.result import Result, RunInfo, Verdict

__all__ = [
    "CATEGORIES",
    "alluredir",
    "annotate",
    "attach_text",
    "attach_traffic",
    "description",
    "finish",
    "status_message",
    "strip_analytics",
    "title",
    "write_allurerc",
    "write_categories",
    "write_environment",
]

_SEVERITY = {
    "mandatory": allure.severity_level.CRITICAL,
    "recommended": allure.severity_level.NORMAL,
    "optional": allure.severity_level.MINOR,
}
_VERDICT = {
    Verdict.PASS: "pass / 合格",
    Verdict.MARGINAL: "marginal / 临界",
    Verdict.FAIL: "fail / 不合格",
    Verdict.ERROR: "error, could not be decided / 无法判定",
    Verdict.NOT_APPLICABLE: "not applicable / 不适用",
    Verdict.PENDING: "pending evidence / 待补证据",
}
_LEVEL = {
    "mandatory": "mandatory / 强制",
    "recommended": "recommended / 推荐",
    "optional": "optional / 可选",
}

# The status message starts with these words for the two kinds of skipped (or, under
# --strict-acceptance, failed) results that are not simply "not applicable"; categories.json
# sorts on them.
NOT_TESTED = "NOT TESTED"
PENDING = "PENDING"

# Allure 2 full-matches messageRegex (Java `matches`), Allure 3 searches it: anchored patterns
# ending in [\s\S]* mean the same to both. A result goes to the first category that matches.
CATEGORIES: tuple[dict[str, Any], ...] = (
    {
        "name": "Not tested (applies, could not be tested) / 未检验",
        "matchedStatuses": ["skipped", "failed"],
        "messageRegex": rf"^{NOT_TESTED}[\s\S]*",
    },
    {
        "name": "Pending evidence / 待补证据",
        "matchedStatuses": ["skipped", "failed"],
        "messageRegex": rf"^{PENDING}[\s\S]*",
    },
    {
        "name": "Does not conform / 不合格",
        "matchedStatuses": ["failed"],
        "messageRegex": rf"^(?!{NOT_TESTED}|{PENDING})[\s\S]*",
    },
    {
        "name": "Could not be decided (device, map or tool) / 无法判定",
        "matchedStatuses": ["broken"],
    },
    {
        "name": "Not applicable / 不适用",
        "matchedStatuses": ["skipped"],
        "messageRegex": rf"^(?!{NOT_TESTED}|{PENDING})[\s\S]*",
    },
)


def title(result: Result) -> str:
    """`SP-PWR-001 Supply voltage / 供电电压`: the id, then the title in English and Chinese."""
    text = " / ".join(t for t in (result.title.get("en"), result.title.get("zh")) if t)
    return f"{result.requirement} {text}" if text else result.requirement


def status_message(result: Result) -> str:
    """The one line Allure shows for a result that did not pass (categories.json sorts on it)."""
    if result.untested:
        return f"{NOT_TESTED} {result.reason}"
    if result.verdict is Verdict.PENDING:
        return f"{PENDING} {result.reason}"
    return result.reason


def description(result: Result, *, profile_title: str) -> str:
    """Markdown, bilingual: what was decided, on what, by which references."""
    refs = "; ".join(_cite(ref) for ref in result.refs) or "—"
    rows = [
        ("Verdict / 判定", _VERDICT.get(result.verdict, result.verdict.value)),
        ("Reason / 理由", result.reason),
        ("Profile / 规范", f"{profile_title} ({result.profile})"),
        ("Target / 对象", result.target),
        ("Level / 等级", _LEVEL.get(result.level, result.level)),
        ("Area / 领域", result.area),
        ("Check / 检验方式", result.check or "—"),
        ("References / 依据", refs),
    ]
    if result.subsystem:
        rows.insert(4, ("Subsystem / 子系统", result.subsystem))
    if result.source_profile and result.source_profile != result.profile:
        rows.append(("Defined in / 条款来源", result.source_profile))
    if result.untested:
        rows.insert(
            1, ("Not tested / 未检验", "applies to the target, but was not tested / 适用但未检验")
        )
    heading = " — ".join(t for t in (result.title.get("zh"), result.title.get("en")) if t)
    table = "\n".join(f"| {name} | {_cell(value)} |" for name, value in rows)
    return f"**{result.requirement}** {heading}\n\n| | |\n|---|---|\n{table}\n"


def annotate(result: Result, *, profile_title: str) -> None:
    """Label the running test with `result`: epic = profile, feature = area, story = requirement;
    attach its measurements. Call in setup, as soon as the result is known."""
    dynamic = allure.dynamic
    dynamic.epic(result.profile)
    dynamic.feature(result.area)
    dynamic.story(result.requirement)
    dynamic.severity(_SEVERITY.get(result.level, allure.severity_level.NORMAL))
    dynamic.label("profile", result.profile)
    dynamic.label("target", result.target)
    dynamic.label("verdict", result.verdict.value)
    # The target is a parameter so that Allure keeps P001 and P002 apart: allure-pytest makes
    # the history id of a non-Python item from its node id without the "[P001]" part.
    dynamic.parameter("target", result.target)
    if result.untested:
        # Allure shows a skipped test; the tag says it applies and still has to be tested.
        dynamic.tag("not tested")
    if result.subsystem:
        dynamic.sub_suite(result.subsystem)
        dynamic.label("subsystem", result.subsystem)
        dynamic.tag(f"subsystem:{result.subsystem}")
    if result.source_profile and result.source_profile != result.profile:
        dynamic.tag(f"from:{result.source_profile}")
    for ref in result.refs:
        if ref.get("url"):
            name = " ".join(str(part) for part in (ref.get("source"), ref.get("clause")) if part)
            dynamic.link(ref["url"], name=name or ref["url"])
    if result.measurements:
        rows = [m.as_dict() for m in result.measurements]
        allure.attach(
            json.dumps(rows, ensure_ascii=False, indent=2),
            name="measurements",
            attachment_type=allure.attachment_type.JSON,
        )
        allure.attach(
            measurement_table(rows),
            name="measurement table / 测量值",
            attachment_type=allure.attachment_type.HTML,
        )
    # The title and description are set here too, for a test of your own that annotates
    # itself from its call phase (after allure-pytest named it); `finish` sets them again.
    dynamic.title(title(result))
    dynamic.description(description(result, profile_title=profile_title))


def finish(config: pytest.Config, result: Result, *, profile_title: str) -> None:
    """Title, description, real start/stop and status message of the running test. Call in the
    item's teardown, after allure-pytest has set its own."""
    allure.dynamic.title(title(result))
    allure.dynamic.description(description(result, profile_title=profile_title))
    test = _running_test(config)
    if test is None:
        return
    if result.started > 0:
        # Rounded outwards to whole milliseconds, so a decision that took time never shows 0.
        test.start = math.floor(result.started * 1000)
        test.stop = max(math.ceil((result.started + result.duration) * 1000), test.start + 1)
    details = getattr(test, "statusDetails", None)
    if details is not None and result.verdict is not Verdict.PASS:
        # allure-pytest writes the exception as `module.Class: message`; the reason is what a
        # reader (and categories.json) wants.
        details.message = status_message(result)


def measurement_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The measurements as a small self-contained HTML table (Allure shows it in a frame)."""
    head = (
        "measurement / 测量项",
        "value / 值",
        "unit / 单位",
        "limit / 限值",
        "verdict / 判定",
        "source / 来源",
    )
    body = []
    for m in rows:
        source = m.get("source") or {}
        where = " ".join(str(source.get(k, "")) for k in ("device", "scheme", "address")).strip()
        cells = (
            m.get("name"),
            m.get("value"),
            m.get("unit"),
            m.get("limit"),
            m.get("verdict"),
            where,
        )
        verdict = str(m.get("verdict", ""))
        body.append(
            f'<tr class="{html.escape(verdict)}">'
            + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in cells)
            + "</tr>"
        )
    return (
        '<!doctype html><meta charset="utf-8"><style>'
        "table{border-collapse:collapse;font:13px sans-serif}"
        "td,th{border:1px solid #bbb;padding:3px 6px;text-align:left}"
        "tr.fail td,tr.error td{background:#fde2e2}tr.marginal td{background:#fff4d6}"
        "</style><table><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + "</tr>"
        + "".join(body)
        + "</table>"
    )


def attach_text(name: str, text: str) -> None:
    allure.attach(text, name=name, attachment_type=allure.attachment_type.TEXT)


def attach_traffic(lines: Sequence[Mapping[str, Any]], *, replayed: bool = False) -> None:
    """The device exchanges a requirement caused or used (`--record`), or was answered from a
    recording (`--replay`), as JSON lines."""
    if lines:
        text = "\n".join(json.dumps(line, ensure_ascii=False, default=str) for line in lines)
        name = "device traffic (replayed)" if replayed else "device traffic"
        allure.attach(text, name=name, attachment_type=allure.attachment_type.JSON)


def alluredir(config: pytest.Config) -> Path | None:
    """The `--alluredir` of this run, or None."""
    given = getattr(config.option, "allure_report_dir", None)
    return Path(given) if given else None


def write_allurerc(directory: Path, *, name: str) -> Path:
    """``allurerc.json`` for Allure 3: one self-contained HTML file, with no analytics script
    when run with ``ALLURE_NO_ANALYTICS=true`` (docs/allure.md). Its ``allure2`` plugin is the
    one that honours that variable; ``awesome`` (the default), ``classic`` and ``dashboard``
    always embed Google Analytics (allure 3.18.0)."""
    config = {
        "name": name,
        "plugins": {"allure2": {"options": {"singleFile": True, "reportName": name}}},
    }
    path = directory / "allurerc.json"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def write_categories(directory: Path) -> Path:
    path = directory / "categories.json"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(list(CATEGORIES), ensure_ascii=False, indent=2) + "\n", "utf-8")
    return path


def write_environment(
    directory: Path, run: RunInfo, *, extra: Iterable[tuple[str, str]] = ()
) -> Path:
    """``environment.properties``: what the verdicts depended on, one key a line."""
    pairs: list[tuple[str, str]] = [
        ("ycsa-conform", run.tool_version),
        *((f"profile.{p.id}", f"{p.version} sha256:{p.sha256}") for p in run.profiles),
        ("site", f"{run.site_id} ({run.site_kind}) {run.site_title}".strip()),
        ("started", run.started),
        ("allow_actuation", str(run.allow_actuation).lower()),
        ("strict_acceptance", str(run.strict_acceptance).lower()),
    ]
    if run.bench_faults:
        pairs.append(("bench_faults", ", ".join(run.bench_faults)))
    pairs.extend((f"param.{k}", v) for k, v in sorted(run.parameters.items()))
    # A district has thousands of devices: one line per kind of device, with how many.
    kinds = Counter(f"{d.role} {d.scheme} {d.map.id} {d.map.version}".strip() for d in run.devices)
    pairs.extend(
        (f"devices.{i}", f"{n} x {kind}") for i, (kind, n) in enumerate(sorted(kinds.items()), 1)
    )
    pairs.extend(extra)
    pairs.extend(
        [
            ("python", platform.python_version()),
            ("pytest", pytest.__version__),
            ("allure-pytest", _version("allure-pytest")),
        ]
    )
    path = directory / "environment.properties"
    directory.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{_property_key(k)}={_property_value(v)}\n" for k, v in pairs)
    path.write_text(text, encoding="utf-8")
    return path


# Allure's HTML templates load Google Analytics (Allure 2 CLI, and the awesome, classic and
# dashboard plugins of Allure 3 unconditionally): the loader tag, then the inline gtag() setup.
_ANALYTICS = re.compile(
    r"<script[^>]*googletagmanager\.com[^>]*>\s*</script>\s*"
    r"(?:<script[^>]*>(?:(?!</script>)[\s\S])*?\bgtag\((?:(?!</script>)[\s\S])*</script>)?",
    re.IGNORECASE,
)


def strip_analytics(report: Path) -> int:
    """Remove the analytics scripts from an Allure HTML file, in place; how many were removed.
    (`ALLURE_NO_ANALYTICS=true` with Allure 3's `allure2` plugin writes none: docs/allure.md.)"""
    text = report.read_text(encoding="utf-8")
    stripped, count = _ANALYTICS.subn("", text)
    if count:
        report.write_text(stripped, encoding="utf-8")
    return count


def _running_test(config: pytest.Config) -> Any:
    """allure-pytest's result of the test under way, or None (no --alluredir, or a version
    whose listener we do not know: the titles and labels still reach it, the timing not)."""
    listener = config.pluginmanager.getplugin("allure_listener")
    reporter = getattr(listener, "allure_logger", None)
    get_test = getattr(reporter, "get_test", None)
    test = get_test(None) if callable(get_test) else None
    return test if hasattr(test, "start") and hasattr(test, "stop") else None


def _cite(ref: Mapping[str, Any]) -> str:
    text = " ".join(str(ref[k]) for k in ("source", "clause") if ref.get(k))
    if ref.get("confidence"):
        text += f" ({ref['confidence']})"
    if ref.get("url"):
        text = f"[{text}]({ref['url']})"
    return text


def _cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def _property_key(key: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in key)


def _property_value(value: str) -> str:
    # Java .properties files are ISO 8859-1 with \uXXXX escapes: Allure 2 reads them so.
    text = " ".join(str(value).split()).replace("\\", "\\\\")
    units = text.encode("utf-16-be")
    escaped = []
    for i in range(0, len(units), 2):
        code = int.from_bytes(units[i : i + 2], "big")
        escaped.append(chr(code) if 0x20 <= code < 0x7F else f"\\u{code:04x}")
    return "".join(escaped)
