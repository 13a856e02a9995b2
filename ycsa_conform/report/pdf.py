"""The acceptance report as PDF (`ycsa-conform report pdf DIR`), drawn with reportlab.

Why reportlab: it installs from PyPI alone (pure Python wheels), and its built-in CID font
STSong-Light writes Chinese without a font file (the reader's PDF viewer supplies the glyphs
from its Adobe-GB1 set). WeasyPrint renders report.html itself but needs pango from the
system; xhtml2pdf needs a TrueType CJK font file to show Chinese; fpdf2 the same. So the PDF
is built from report.json with the same sections, labels and order as report.html (through
report/html.py), not from the HTML. reportlab is imported here only: install `ycsa-conform[pdf]`.

What it holds: cover (site, profiles with versions and hashes, tool, dates, operator,
parameters with origin, the conclusion), summary by area and target, coverage matrix, punch
list with how to resolve, every result with each measurement (value, limit, verdict, source)
in profile order, sign-off. Tables repeat their header row on each page; each page says
"page N / M". Plots are not drawn (report.html has them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from ycsa_conform.errors import YcsaError
from ycsa_conform.report.html import html_context, plain

__all__ = ["PdfUnavailable", "render_pdf"]

_FONT = "STSong-Light"
# Characters STSong-Light (Adobe-GB1) has no glyph for, and what it shows instead: the
# middle dot of kN·m and the bullets as the CJK middle dot, superscripts spelled out, the
# micro sign as the Greek mu, the minus sign as a hyphen.
_GLYPHS = str.maketrans(
    {
        "·": "・",
        "•": "・",
        "∙": "・",
        "⋅": "・",
        "²": "^2",
        "³": "^3",
        "µ": "μ",
        "−": "-",
        "✓": "√",
        "∆": "Δ",
    }
)


class PdfUnavailable(YcsaError, ImportError):
    """reportlab is not installed."""


def render_pdf(report: dict[str, Any], path: Path, *, lang: str = "both") -> Path:
    """Write the report as PDF to `path` (A4 portrait) and return it."""
    try:
        from reportlab.lib import colors
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.styles import ParagraphStyle
        from reportlab.lib.units import mm
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfgen.canvas import Canvas
        from reportlab.platypus import (
            PageBreak,
            Paragraph,
            SimpleDocTemplate,
            Spacer,
            Table,
            TableStyle,
        )
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise PdfUnavailable("PDF output needs reportlab: pip install 'ycsa-conform[pdf]'") from exc

    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    context = html_context(report, lang=lang, base=path.parent)

    def L(en: str, zh: str) -> str:  # a label, as the tables below read it
        return plain(lang, en, zh)

    body = ParagraphStyle("body", fontName=_FONT, fontSize=8, leading=10)
    small = ParagraphStyle("small", parent=body, fontSize=7, leading=8.6)
    head = ParagraphStyle("head", parent=body, fontSize=7.5, leading=9)
    h1 = ParagraphStyle("h1", parent=body, fontSize=18, leading=22, spaceAfter=6)
    h2 = ParagraphStyle("h2", parent=body, fontSize=12.5, leading=16, spaceBefore=8, spaceAfter=4)
    verdict_colour = {
        "pass": colors.HexColor("#1a7f37"),
        "marginal": colors.HexColor("#9a6700"),
        "fail": colors.HexColor("#cf222e"),
        "error": colors.HexColor("#8250df"),
        "pending": colors.HexColor("#0969da"),
    }

    def p(text: object, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text).translate(_GLYPHS)).replace("\n", "<br/>"), style)

    def verdict(v: str, untested: bool = False) -> Paragraph:
        en, zh = context["verdict_labels"].get("untested" if untested else v, (v, v))
        colour = verdict_colour.get(v, colors.HexColor("#57606a"))
        text = escape(L(en, zh).translate(_GLYPHS))
        return Paragraph(f'<font color="{colour.hexval()}">{text}</font>', small)

    width = A4[0] - 24 * mm

    def table(header: Sequence[str], rows: list[list[Any]], widths: Sequence[float]) -> Table:
        cells = [[p(h, head) for h in header], *rows]
        t = Table(cells, colWidths=[w * width for w in widths], repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f6f8fa")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 3),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ]
            )
        )
        return t

    site = report.get("site", {})
    conclusion = report.get("conclusion") or {}
    story: list[Any] = [
        p(L("Acceptance report", "验收报告"), h1),
        p(f"{site.get('id', '')} — {site.get('title', '')}", h2),
        p(plain(lang, conclusion.get("en", ""), conclusion.get("zh", "")), h2),
    ]
    profiles = "\n".join(
        f"{pr['id']} {pr['version']} sha256 {pr['sha256']}" for pr in report.get("profiles", [])
    )
    meta = [
        (L("Site", "现场"), f"{site.get('id', '')} ({site.get('kind', '')})"),
        (L("Profiles", "检验规范"), profiles),
        (L("Tool", "检验工具"), f"{report['tool']['name']} {report['tool']['version']}"),
        (L("Started", "开始时间"), report.get("started", "")),
        (L("Finished", "结束时间"), report.get("finished", "")),
        (L("Operator", "检验人员"), context["operator"] or "—"),
        (L("Bench faults", "注入故障"), ", ".join(report.get("bench_faults", [])) or "—"),
    ]
    story.append(
        table(
            [L("Item", "项目"), L("Value", "内容")],
            [[p(k), p(v, small)] for k, v in meta],
            (0.25, 0.75),
        )
    )
    set_parameters = [
        r for r in report.get("resolved_parameters", []) if r.get("layer") != "default"
    ]
    if set_parameters:
        story.append(p(L("Parameters", "参数"), h2))
        story.append(
            table(
                [L("Parameter", "参数"), L("Value", "取值"), L("Origin", "来源")],
                [
                    [p(r["name"], small), p(r["value"], small), p(r.get("origin") or "—", small)]
                    for r in set_parameters
                ],
                (0.28, 0.14, 0.58),
            )
        )

    story += [PageBreak(), p("1 " + L("Summary", "汇总"), h2)]
    verdicts = ["pass", "marginal", "fail", "error", "not_applicable", "pending"]
    count_header = [L("Total", "合计")] + [L(*context["verdict_labels"][v]) for v in verdicts]
    for title, rows, area in (
        (L("Area", "专业"), context["areas"], True),
        (L("Target", "检验对象"), context["target_counts"], False),
    ):
        labelled = [
            [
                p(
                    L(*context["area_labels"][name])
                    if area and name in context["area_labels"]
                    else name,
                    small,
                ),
                *(p(counts[k], small) for k in ["total", *verdicts]),
            ]
            for name, counts in rows
        ]
        story.append(table([title, *count_header], labelled, (0.23, *([0.11] * 7))))

    coverage = context["coverage"]
    story.append(p("2 " + L("Coverage matrix", "覆盖矩阵"), h2))
    marks = context["verdict_marks"]
    story.append(
        p(
            "P "
            + L("pass", "合格")
            + " · M "
            + L("marginal", "临界")
            + " · F "
            + L("fail", "不合格")
            + " · E "
            + L("error", "错误")
            + " · - "
            + L("not applicable", "不适用")
            + " · … "
            + L("pending", "待补证据")
            + " · U "
            + L("not tested", "未检验"),
            small,
        )
    )
    if coverage["wide"] or not coverage["targets"]:
        cov_rows = [
            [
                p(i["requirement"], small),
                p(_title(i["title"], lang), small),
                p(
                    ", ".join(
                        f"{L(*context['verdict_labels'].get(s, (s, s)))} {n}"
                        for s, n in i["counts"].items()
                    ),
                    small,
                ),
            ]
            for i in coverage["requirements"]
        ]
        story.append(
            table(
                [L("Requirement", "条款"), L("Title", "名称"), L("States", "状态")],
                cov_rows,
                (0.16, 0.5, 0.34),
            )
        )
    else:
        n = len(coverage["targets"])
        share = min(0.07, 0.5 / n)
        cov_rows = [
            [
                p(i["requirement"], small),
                p(_title(i["title"], lang), small),
                *(verdict_mark(s, marks, small, verdict_colour) for s in i["cells"]),
            ]
            for i in coverage["requirements"]
        ]
        story.append(
            table(
                [L("Requirement", "条款"), L("Title", "名称"), *coverage["targets"]],
                cov_rows,
                (0.16, 1 - 0.16 - share * n, *([share] * n)),
            )
        )

    story += [PageBreak(), p("3 " + L("Punch list: what must be fixed", "整改清单"), h2)]
    if context["punch"]:
        punch_rows = [
            [
                p(k, small),
                p(f"{r['requirement']} · {r['target']}\n{_title(r.get('title', {}), lang)}", small),
                verdict(r["verdict"], bool(r.get("untested"))),
                p(r["reason"], small),
                p(L(*r["resolve"]), small),
            ]
            for k, r in enumerate(context["punch"], start=1)
        ]
        story.append(
            table(
                [
                    "#",
                    L("Requirement · target", "条款 · 对象"),
                    L("Verdict", "判定"),
                    L("Finding", "问题"),
                    L("How to resolve", "整改措施"),
                ],
                punch_rows,
                (0.04, 0.18, 0.1, 0.34, 0.34),
            )
        )
    else:
        story.append(p(L("Nothing to fix.", "无需整改。")))

    story += [PageBreak(), p("4 " + L("Results", "检验结果"), h2)]
    result_rows: list[list[Any]] = []
    for r in context["rows"]:
        measurements = r.get("measurements") or [None]
        for k, m in enumerate(measurements):
            first = k == 0
            source = m.get("source") if m else None
            result_rows.append(
                [
                    p(
                        f"{r['requirement']}\n{_title(r.get('title', {}), lang)}" if first else "",
                        small,
                    ),
                    p(r["target"] if first else "", small),
                    verdict(r["verdict"], bool(r.get("untested"))) if first else p(""),
                    p(m["name"] if m else r["reason"], small),
                    p(f"{_value(m.get('value'))} {m.get('unit', '')}" if m else "—", small),
                    p(m.get("limit") or "—" if m else "—", small),
                    p(
                        f"{source['device']} · {source['scheme']} {source.get('address', '')}"
                        if source
                        else "—",
                        small,
                    ),
                ]
            )
    story.append(
        table(
            [
                L("Requirement", "条款"),
                L("Target", "对象"),
                L("Verdict", "判定"),
                L("Measured", "测量项"),
                L("Value", "测量值"),
                L("Limit", "限值"),
                L("Source", "来源"),
            ],
            result_rows,
            (0.17, 0.07, 0.1, 0.24, 0.12, 0.14, 0.16),
        )
    )

    story += [PageBreak(), p("5 " + L("Sign-off", "签字确认"), h2), Spacer(1, 4)]
    sign_rows = [
        [p(L(en, zh)), p(context["operator"] if k == 0 else ""), p(""), p(""), p("")]
        for k, (en, zh) in enumerate(context["signers"])
    ]
    signoff = table(
        [
            L("Role", "职责"),
            L("Name", "姓名"),
            L("Organisation", "单位"),
            L("Signature", "签字"),
            L("Date", "日期"),
        ],
        sign_rows,
        (0.28, 0.17, 0.2, 0.2, 0.15),
    )
    signoff.setStyle(
        TableStyle(
            [
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                ("TOPPADDING", (0, 1), (-1, -1), 14),
                ("BOTTOMPADDING", (0, 1), (-1, -1), 14),
            ]
        )
    )
    story.append(signoff)

    footer = f"{site.get('id', '')} · {L('Acceptance report', '验收报告')}".translate(_GLYPHS)

    class NumberedCanvas(Canvas):  # type: ignore[misc] # reportlab has no type hints
        """Holds each page until the end, so each can say "page N / M"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont(_FONT, 7)
                self.setFillColor(colors.HexColor("#57606a"))
                self.drawString(12 * mm, 8 * mm, footer)
                self.drawRightString(
                    A4[0] - 12 * mm, 8 * mm, f"{L('page', '第')} {self._pageNumber} / {total}"
                )
                super().showPage()
            super().save()

    path.parent.mkdir(parents=True, exist_ok=True)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=f"{L('Acceptance report', '验收报告')} {site.get('id', '')}",
        author=context["operator"] or "ycsa-conform",
    )
    doc.build(story, canvasmaker=NumberedCanvas)
    return path


def verdict_mark(state: str, marks: dict[str, str], style: Any, colours: dict[str, Any]) -> Any:
    """A coverage cell: the verdict's letter (STSong-Light has no check mark glyph)."""
    from reportlab.platypus import Paragraph

    letters = {
        "pass": "P",
        "marginal": "M",
        "fail": "F",
        "error": "E",
        "not_applicable": "-",
        "pending": "…",
        "not_run": "·",
        "untested": "U",
    }
    colour = colours.get(state)
    text = escape(letters.get(state, marks.get(state, "")))
    if colour is None:
        return Paragraph(text, style)
    return Paragraph(f'<font color="{colour.hexval()}"><b>{text}</b></font>', style)


def _title(title: dict[str, str], lang: str) -> str:
    en, zh = title.get("en", ""), title.get("zh", "")
    if lang == "en" or not zh:
        return en
    if lang == "zh" or not en:
        return zh
    return f"{en} {zh}"


def _value(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
