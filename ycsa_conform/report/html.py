"""report.html for a city to sign: cover, summary, coverage matrix, punch list, detail in profile
order, evidence and records, sign-off; in Chinese, English or both; plots as inline SVG.

Everything here works on the report.json dict (so a report can be rendered again from its
JSON, `ycsa-conform report pdf DIR` included). Keys a newer report has (`scope`, `coverage`)
are used when present; without them the same sections are built from `results`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from ycsa_conform.report.plots import plot
from ycsa_conform.result import Verdict

__all__ = ["AREA_LABELS", "LANGUAGES", "VERDICT_LABELS", "html_context", "resolve_text"]

LANGUAGES = ("both", "zh", "en")

VERDICT_LABELS = {
    Verdict.PASS.value: ("Pass", "合格"),
    Verdict.MARGINAL.value: ("Marginal", "临界"),
    Verdict.FAIL.value: ("Fail", "不合格"),
    Verdict.ERROR.value: ("Error", "错误"),
    Verdict.NOT_APPLICABLE.value: ("Not applicable", "不适用"),
    Verdict.PENDING.value: ("Pending", "待补证据"),
    "not_run": ("Not run", "未运行"),
    "untested": ("Not tested", "未检验"),
}
# One-letter marks for the coverage matrix, the same in both languages.
VERDICT_MARKS = {
    "pass": "✓",
    "marginal": "≈",
    "fail": "✗",
    "error": "!",
    "not_applicable": "–",
    "pending": "…",
    "not_run": "·",
    "untested": "○",
}
LEVEL_LABELS = {
    "mandatory": ("Mandatory", "强制"),
    "recommended": ("Recommended", "推荐"),
    "optional": ("Optional", "可选"),
}
AREA_LABELS = {
    "mounting-load": ("Mounting load", "挂载与荷载"),
    "power": ("Power supply", "供配电"),
    "lighting": ("Lighting", "照明"),
    "data-interface": ("Data interfaces", "数据接口"),
    "general": ("General", "通用"),
}
STATUS_LABELS = {
    "conforms": ("Conforms", "符合"),
    "pending": ("Conforms, evidence pending", "符合（待补证据）"),
    "incomplete": ("Not accepted: incomplete", "未验收：不完整"),
    "partial": ("Partial run", "部分检验"),
    "fails": ("Does not conform", "不符合"),
    "empty": ("Nothing tested", "无检验结果"),
}
LAYER_LABELS = {
    "default": ("profile default", "规范默认值"),
    "site": ("site file", "现场文件"),
    "target": ("target", "检验对象"),
    "--param": ("command line", "命令行"),
}
# Who signs a handover (GB 50300-style acceptance: the four parties), in signing order.
SIGNERS = (
    ("Acceptance engineer (tester)", "验收检测人员"),
    ("Installer / contractor", "施工单位"),
    ("Supervising engineer", "监理单位"),
    ("Owner / city department", "建设单位（主管部门）"),
)
# Verdicts the punch list holds, worst first; untested results join them.
_PUNCH = ("fail", "error", "pending")
# More targets than this: the coverage matrix counts verdicts per requirement instead.
_MATRIX_TARGETS = 12


def labeller(lang: str) -> Any:
    """t(en, zh): the text in the report's language; both: English, then Chinese in grey."""
    if lang not in LANGUAGES:
        raise ValueError(f"report language {lang!r} is not one of {', '.join(LANGUAGES)}")

    def t(en: str, zh: str, *, inline: bool = True) -> Markup:
        if lang == "en":
            return escape(en)
        if lang == "zh":
            return escape(zh)
        sep = Markup(" ") if inline else Markup("<br>")
        return (
            escape(en)
            + sep
            + Markup('<span class="zh" lang="zh-CN">')
            + escape(zh)
            + Markup("</span>")
        )

    return t


def plain(lang: str, en: str, zh: str) -> str:
    """The same as `labeller` for plain text (SVG titles, the PDF)."""
    return en if lang == "en" else zh if lang == "zh" else f"{en} / {zh}"


def resolve_text(row: Mapping[str, Any]) -> tuple[str, str]:
    """How to resolve a punch-list row, (English, Chinese), derived from its verdict, the
    measurements that failed (name, value, limit) and its reason."""
    verdict, reason = row["verdict"], row.get("reason", "")
    if row.get("untested"):
        if "--allow-actuation" in reason:
            return (
                "Re-run with --allow-actuation, with someone at the pole: the check must "
                "command the device (the prior state is restored).",
                "现场有人值守时加 --allow-actuation 重新检验：该项须操作设备（之后恢复原状态）。",
            )
        return (
            "Bring the device into the state the requirement assumes (see the reason) and re-run.",
            "使设备处于本条款要求的前提状态（见说明）后重新检验。",
        )
    if verdict == "pending":
        return (
            "Supply the evidence (who, when, which document) in the --evidence file and re-run.",
            "在 --evidence 文件中补充证据（人员、日期、文件）后重新检验。",
        )
    if verdict == "error":
        return (
            "The value could not be read or judged: check the device's wiring, address and "
            "device map against the reason, then re-run.",
            "未能读取或判定：按说明检查设备接线、地址与点表后重新检验。",
        )
    failed = [m for m in row.get("measurements", []) if m.get("verdict") in ("fail", "marginal")]
    # One line per limit: a sampled value's min, max and mean share theirs.
    limits = [m.get("limit") or m["name"] for m in failed]
    failed = [m for i, m in enumerate(failed) if limits[i] not in limits[:i]]
    if failed:
        en, zh = [], []
        for m in failed[:4]:
            value = f"{_short(m.get('value'))} {m.get('unit', '')}".strip()
            now_en = f" (now {value})" if m.get("value") is not None else ""
            now_zh = f"（现为 {value}）" if m.get("value") is not None else ""
            if str(m.get("limit", "")).startswith("=="):
                wanted = str(m["limit"])[2:].strip()
                en.append(f"make {m['name']} {wanted}{now_en}")
                zh.append(f"使 {m['name']} 为 {wanted}{now_zh}")
                continue
            en.append(f"bring {m['name']}{now_en} within {m.get('limit') or 'its limit'}")
            zh.append(f"使 {m['name']}{now_zh}满足 {m.get('limit') or '限值'}")
        more = len(failed) - 4
        if more > 0:
            en.append(f"and {more} more")
            zh.append(f"另 {more} 项")
        return (
            "Correct the installation or device so as to " + "; ".join(en) + ", then re-run.",
            "整改安装或设备：" + "；".join(zh) + "，然后重新检验。",
        )
    return (
        "Correct what the reason names, then re-run.",
        "按说明整改后重新检验。",
    )


def gloss_zh(row: Mapping[str, Any]) -> str:
    """A Chinese sentence for a result, built from its verdict and measurements (the reason
    itself is the check's English): what failed with its value and limit, or why nothing was
    decided."""
    verdict = row["verdict"]
    measurements = row.get("measurements", [])
    if row.get("untested"):
        cause = (
            "未允许操作设备（--allow-actuation）"
            if "--allow-actuation" in row.get("reason", "")
            else "条款要求的前提状态不成立"
        )
        return f"适用但未检验：{cause}。"
    if verdict == "not_applicable":
        return "不适用（原因见说明）。"
    if verdict == "pending":
        return "待补证据：尚未提交本条款所需的证据。"
    if verdict == "error":
        return "无法判定：设备未应答、应答无效或数值不可信（详见说明）。"
    failing = [m for m in measurements if m.get("verdict") in ("fail", "marginal")]
    if failing:
        word = "不满足" if verdict == "fail" else "临界"
        parts = [
            f"{m['name']} 实测 {_short(m.get('value'))} {m.get('unit', '')}".rstrip()
            + f"（限值 {m.get('limit') or '—'}）"
            for m in failing[:3]
        ]
        more = f"等 {len(failing)} 项" if len(failing) > 3 else ""
        return f"{word}：" + "；".join(parts) + more + "。"
    if measurements:
        return f"全部 {len(measurements)} 项测量满足限值。"
    return "合格。" if verdict == "pass" else ""


def _short(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def requirement_order(report: Mapping[str, Any]) -> dict[tuple[str, str], int]:
    """(profile, requirement) -> its place: the `coverage` rows' order when the report has
    them; else the order of the requirements in each profile's YAML (loaded from its path, or
    the built-in profile of its id); else the report's own order."""
    order: dict[tuple[str, str], int] = {}
    coverage = report.get("coverage")
    if coverage:
        for row in coverage:
            profile = row.get("profile") or _only_profile(report)
            order.setdefault((profile, row["requirement"]), len(order))
        return order
    for p in report.get("profiles", []):
        for requirement in _profile_requirements(p):
            order.setdefault((p["id"], requirement), len(order))
    for r in report.get("results", []):
        order.setdefault((r["profile"], r["requirement"]), len(order))
    return order


def _only_profile(report: Mapping[str, Any]) -> str:
    profiles = report.get("profiles") or [{"id": ""}]
    return str(profiles[0]["id"])


def _profile_requirements(profile: Mapping[str, Any]) -> list[str]:
    """Requirement ids in the profile's own order; [] when it cannot be loaded here."""
    from ycsa_conform.profile import load_profile  # lazy: the checks load with it

    for name in (profile.get("path"), profile.get("id")):
        if not name:
            continue
        if name == profile.get("path") and not Path(str(name)).is_file():
            continue
        try:
            loaded = load_profile(str(name))
        except Exception:  # a report renders without its profile; the report's order is kept
            continue
        if loaded.version == profile.get("version", loaded.version):
            return [r.id for r in loaded.requirements]
    return []


def html_context(
    report: Mapping[str, Any], *, lang: str = "both", base: Path | None = None
) -> dict[str, Any]:
    """Everything report.html.j2 needs beyond the report itself."""
    t = labeller(lang)
    order = requirement_order(report)
    results = [{**r, "anchor": f"r{i}"} for i, r in enumerate(report["results"], start=1)]
    targets = list(dict.fromkeys(r["target"] for r in results))
    by_place = sorted(
        results,
        key=lambda r: (
            targets.index(r["target"]),
            order.get((r["profile"], r["requirement"]), len(order)),
        ),
    )
    drawn: set[tuple[str, str, str]] = set()
    for row in by_place:
        row["plots"] = []
        for series in row.get("series", []):
            # One record judged by two requirements (Eav, UE) is drawn once per target.
            key = (row["target"], series.get("kind", ""), series.get("name", ""))
            if series.get("kind") == "grid" and key in drawn:
                continue
            drawn.add(key)
            svg = plot(series, lambda en, zh: plain(lang, en, zh))
            if svg:
                row["plots"].append(Markup(svg))  # plots.py escapes every value it writes
        row["resolve"] = resolve_text(row)
        # Chinese only: every result; both: where it says more than the badge (not a pass).
        wanted = lang == "zh" or (lang == "both" and row["verdict"] != "pass")
        row["gloss"] = gloss_zh(row) if wanted else ""
    punch = sorted(
        (r for r in by_place if r["verdict"] in _PUNCH or r.get("untested")),
        key=lambda r: (
            _PUNCH.index(r["verdict"]) if r["verdict"] in _PUNCH else len(_PUNCH),
            r["level"] != "mandatory",
            order.get((r["profile"], r["requirement"]), len(order)),
            targets.index(r["target"]),
        ),
    )
    return {
        "t": t,
        "lang": lang,
        "html_lang": {"en": "en", "zh": "zh-CN"}.get(lang, "zh-CN"),
        "verdict_labels": VERDICT_LABELS,
        "verdict_marks": VERDICT_MARKS,
        "level_labels": LEVEL_LABELS,
        "area_labels": AREA_LABELS,
        "status_labels": STATUS_LABELS,
        "layer_labels": LAYER_LABELS,
        "signers": SIGNERS,
        "rows": by_place,
        "punch": punch,
        "by_target": _by_target(by_place),
        "coverage": _coverage(report, by_place, targets, order),
        "areas": sorted(
            _breakdown(by_place, "area"),
            key=lambda a: (
                list(AREA_LABELS).index(a[0]) if a[0] in AREA_LABELS else len(AREA_LABELS)
            ),
        ),
        "subsystem_counts": _subsystem_counts(by_place),
        "target_counts": _breakdown(by_place, "target"),
        "evidence": [r for r in by_place if r.get("check") in ("evidence", "record")],
        "recording": _relative(report.get("traffic", {}).get("recorded"), base),
        "several_profiles": len({r["profile"] for r in results}) > 1,
        "operator": report.get("operator") or "",
        "scope": report.get("scope"),
    }


def _relative(path: str | None, base: Path | None) -> str | None:
    """A recording folder as a link from report.html's folder (the path is as the run gave
    it: relative to the directory pytest ran in, which is the current one when writing)."""
    if not path:
        return None
    if base is None:
        return Path(path).as_posix()
    return Path(os.path.relpath(Path(path).resolve(), base.resolve())).as_posix()


def _counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"total": 0} | {v.value: 0 for v in Verdict}
    for row in rows:
        counts["total"] += 1
        counts[row["verdict"]] += 1
    return counts


def _breakdown(rows: Sequence[Mapping[str, Any]], key: str) -> list[tuple[str, dict[str, int]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(row[key]), []).append(row)
    return [(name, _counts(members)) for name, members in groups.items()]


def _subsystem_counts(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, dict[str, int]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("subsystem"):
            groups.setdefault(f"{row['target']} · {row['subsystem']}", []).append(row)
    return [(name, _counts(members)) for name, members in groups.items()]


def _by_target(
    rows: Sequence[dict[str, Any]],
) -> list[tuple[str, list[tuple[str | None, list[dict[str, Any]]]]]]:
    targets: dict[str, dict[str | None, list[dict[str, Any]]]] = {}
    for row in rows:
        targets.setdefault(row["target"], {}).setdefault(row.get("subsystem"), []).append(row)
    return [(target, list(groups.items())) for target, groups in targets.items()]


def _coverage(
    report: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    targets: list[str],
    order: Mapping[tuple[str, str], int],
) -> dict[str, Any]:
    """The matrix: one row per requirement (profile order), a state per target. From the
    report's `coverage` when present (it also names requirements that did not run)."""
    cells: dict[tuple[str, str], str] = {}
    info: dict[str, dict[str, Any]] = {}
    source = report.get("coverage") or [
        {**r, "state": "untested" if r.get("untested") else r["verdict"]} for r in rows
    ]
    for row in source:
        requirement = row["requirement"]
        info.setdefault(
            requirement,
            {
                "requirement": requirement,
                "title": row.get("title") or {},
                "area": row.get("area", ""),
                "level": row.get("level", ""),
                "profile": row.get("profile") or _only_profile(report),
            },
        )
        cells[(requirement, row["target"])] = row["state"]
        if row["target"] not in targets:
            targets = [*targets, row["target"]]
    requirements = sorted(
        info.values(), key=lambda i: order.get((i["profile"], i["requirement"]), len(order))
    )
    for item in requirements:
        states = [cells.get((item["requirement"], t), "") for t in targets]
        item["cells"] = states
        item["counts"] = {s: states.count(s) for s in dict.fromkeys(states) if s}
    return {
        "targets": targets,
        "wide": len(targets) > _MATRIX_TARGETS,
        "requirements": requirements,
    }


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("ycsa_conform.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
