"""Plots for report.html, drawn as inline SVG by hand.

Why not matplotlib or plotly: the report is one file with no scripts that a browser prints and
the PDF renderer reads, and the main job installs from pip alone. matplotlib is 30 MB with
numpy, and its SVG embeds glyphs as paths (no Chinese text search); a JavaScript chart library
breaks "no scripts". Four small functions over the `series` a result keeps do the job: each
returns one `<svg>` element with a viewBox, so it scales to the page width and prints sharp.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["Label", "plot", "svg_file"]

# label(en, zh) -> the text in the report's language(s)
Label = Callable[[str, str], str]

_W, _H = 640, 220  # viewBox; the SVG is drawn at 100 % of its column, at most 640 px wide
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 56, 16, 22, 40
_BAND = "#dafbe1"  # the limit band (what conforms)
_LINE = "#0969da"
_FAIL = "#cf222e"
_MUTED = "#57606a"


def plot(series: Mapping[str, Any], label: Label) -> str:
    """The SVG for one series of a result (report.json `results[].series[]`); "" when its
    kind has no plot or it holds no points."""
    kind = series.get("kind")
    if kind == "samples" and series.get("y"):
        return _samples(series, label)
    if kind == "arrivals":
        return _arrivals(series, label)
    if kind == "grid" and series.get("y") and series.get("columns"):
        return _grid(series, label)
    if kind == "pole" and series.get("y") and series.get("end"):
        return _pole(series, label)
    if kind == "steps" and series.get("y"):
        return _steps(series, label)
    return ""


def svg_file(series: Mapping[str, Any], label: Label) -> str:
    """The same drawing as a standalone .svg file (inline SVG in HTML needs no namespace; a
    file does)."""
    drawing = plot(series, label)
    if not drawing:
        return ""
    return drawing.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)


def _num(value: float) -> str:
    return f"{value:.4g}"


def _svg(body: Sequence[str], title: str, height: int = _H) -> str:
    return (
        f'<svg class="plot" viewBox="0 0 {_W} {height}" '
        f'role="img" aria-label="{escape(title)}" font-family="inherit" font-size="11">'
        f"<title>{escape(title)}</title>" + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = "#1f2328") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'
    )


def _scale(lo: float, hi: float, a: float, b: float) -> Callable[[float], float]:
    if hi == lo:
        hi, lo = hi + 1, lo - 1
    return lambda v: a + (v - lo) * (b - a) / (hi - lo)


def _axes(
    x0: float, x1: float, y0: float, y1: float, xl: str, yl: str, height: int = _H
) -> list[str]:
    """Frame, four ticks on each axis, and the axis titles."""
    left, right, top, bottom = _PAD_L, _W - _PAD_R, _PAD_T, height - _PAD_B
    sx, sy = _scale(x0, x1, left, right), _scale(y0, y1, bottom, top)
    out = [
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        f'fill="none" stroke="{_MUTED}" stroke-width="0.8"/>'
    ]
    for k in range(5):
        xv, yv = x0 + (x1 - x0) * k / 4, y0 + (y1 - y0) * k / 4
        out.append(_text(sx(xv), bottom + 14, _num(xv), anchor="middle", fill=_MUTED))
        out.append(_text(left - 4, sy(yv) + 4, _num(yv), anchor="end", fill=_MUTED))
    out.append(_text((left + right) / 2, height - 6, xl, anchor="middle", fill=_MUTED))
    out.append(_text(4, top - 8, yl, fill=_MUTED))
    return out


def _samples(s: Mapping[str, Any], label: Label) -> str:
    """y over time with the limit band shaded; points outside the band in red."""
    xs = [float(v) for v in s.get("x") or range(len(s["y"]))]
    ys = [float(v) for v in s["y"]]
    lower, upper, unit = s.get("lower"), s.get("upper"), s.get("unit", "")
    bounds = [v for v in (lower, upper) if v is not None]
    lo, hi = min([*ys, *bounds]), max([*ys, *bounds])
    margin = (hi - lo) * 0.1 or abs(hi) * 0.05 or 1.0
    y0, y1 = lo - margin, hi + margin
    x0, x1 = min(xs), max(xs)
    title = f"{s['name']}: {label('samples over the window', '采样窗口内的数值')}"
    body = _axes(x0, x1, y0, y1, label("time (s)", "时间（秒）"), f"{s['name']} ({unit})")
    left, right, top, bottom = _PAD_L, _W - _PAD_R, _PAD_T, _H - _PAD_B
    sx, sy = _scale(x0, x1, left + 8, right - 8), _scale(y0, y1, bottom, top)
    band_top = sy(upper) if upper is not None else top
    band_bottom = sy(lower) if lower is not None else bottom
    body.insert(
        0,
        f'<rect class="band" x="{left}" y="{band_top:.1f}" width="{right - left}" '
        f'height="{max(0.0, band_bottom - band_top):.1f}" fill="{_BAND}"/>',
    )
    for bound, word in ((upper, label("max", "上限")), (lower, label("min", "下限"))):
        if bound is not None:
            y = sy(bound)
            body.append(
                f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{_FAIL}" '
                'stroke-dasharray="4 3" stroke-width="1"/>'
            )
            body.append(_text(right - 4, y - 3, f"{word} {_num(bound)} {unit}", anchor="end"))
    points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
    body.append(f'<polyline points="{points}" fill="none" stroke="{_LINE}" stroke-width="1.5"/>')
    for x, y in zip(xs, ys, strict=True):
        out = (lower is not None and y < lower) or (upper is not None and y > upper)
        body.append(
            f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{_FAIL if out else _LINE}"/>'
        )
    return _svg(body, title)


def _arrivals(s: Mapping[str, Any], label: Label) -> str:
    """Message arrivals on a timeline from the window's start to its end; the largest gap is
    marked, red when it exceeds the gap allowed."""
    xs = sorted(float(v) for v in s.get("x", ()))
    start, end = float(s.get("start") or 0.0), float(s.get("end") or (xs[-1] if xs else 1.0))
    allowed = s.get("upper")
    height = 130
    left, right, mid = _PAD_L, _W - _PAD_R, 58
    sx = _scale(start, end, left, right)
    title = f"{s['name']}: {label('message arrivals', '消息到达时间')}"
    body = [
        f'<line x1="{left}" x2="{right}" y1="{mid}" y2="{mid}" stroke="{_MUTED}"/>',
        _text(left, 16, s["name"], fill=_MUTED),
    ]
    times = [start, *xs, end]
    gaps = [(b - a, a, b) for a, b in itertools.pairwise(times)]
    widest, a, b = max(gaps) if gaps else (0.0, start, end)
    too_long = allowed is not None and widest > allowed
    colour = _FAIL if too_long else "#9a6700"
    body.append(
        f'<rect x="{sx(a):.1f}" y="{mid - 10}" width="{max(1.0, sx(b) - sx(a)):.1f}" height="20" '
        f'fill="{colour}" fill-opacity="0.15"/>'
    )
    gap_text = label("largest gap", "最大间隔") + f" {widest:.3g} s"
    if allowed is not None:
        gap_text += " / " + label("allowed", "允许") + f" {_num(allowed)} s"
    body.append(_text((sx(a) + sx(b)) / 2, mid - 16, gap_text, anchor="middle", fill=colour))
    for x in xs:
        body.append(
            f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{mid - 12}" y2="{mid + 12}" '
            f'stroke="{_LINE}" stroke-width="2"/>'
        )
    for x, word in ((start, label("window start", "窗口开始")), (end, label("end", "结束"))):
        body.append(
            f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{mid - 18}" y2="{mid + 18}" '
            f'stroke="{_MUTED}" stroke-dasharray="2 2"/>'
        )
        body.append(_text(sx(x), mid + 32, f"{word} {x:.3g} s", anchor="middle", fill=_MUTED))
    count = label(f"{len(xs)} message(s)", f"{len(xs)} 条消息")
    body.append(_text(right, 16, count, anchor="end", fill=_MUTED))
    if not xs:
        body.append(
            _text((left + right) / 2, mid + 4, label("no message", "无消息"), anchor="middle")
        )
    return _svg(body, title, height)


def _colour(fraction: float) -> str:
    """Dark blue (dim) to yellow (bright), readable in greyscale print."""
    f = min(1.0, max(0.0, fraction))
    r, g, b = int(30 + 225 * f), int(40 + 190 * f), int(110 - 60 * f)
    return f"rgb({r},{g},{b})"


def _grid(s: Mapping[str, Any], label: Label) -> str:
    """Illuminance at each grid point as a heat map; points below the class's average
    illuminance (the limit) outlined in red, with a colour scale that marks the limit."""
    cols = int(s["columns"])
    values = [float(v) for v in s["y"]]
    rows = [values[i : i + cols] for i in range(0, len(values), cols)]
    lo, hi = min(values), max(values)
    limit = s.get("lower")
    unit = s.get("unit", "lx")
    cell_w = min(40.0, (_W - 150) / cols)
    cell_h = min(28.0, 150 / max(1, len(rows)))
    height = int(_PAD_T + cell_h * len(rows) + 56)
    left, top = 40.0, float(_PAD_T)
    luminance = unit.startswith("cd")
    what = (
        label("luminance at grid points", "测点亮度")
        if luminance
        else label("illuminance at grid points", "测点照度")
    )
    body = [_text(left, 14, what + f" ({unit.replace('^2', '²')})")]
    for j, row in enumerate(rows):
        for i, v in enumerate(row):
            x, y = left + i * cell_w, top + j * cell_h
            below = limit is not None and v < limit
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell_w:.1f}" height="{cell_h:.1f}" '
                f'fill="{_colour((v - lo) / ((hi - lo) or 1))}"'
                + (f' stroke="{_FAIL}" stroke-width="1.5"' if below else ' stroke="#fff"')
                + "/>"
            )
            if cell_w >= 26:
                shade = "#fff" if (v - lo) / ((hi - lo) or 1) < 0.55 else "#1f2328"
                body.append(
                    _text(
                        x + cell_w / 2, y + cell_h / 2 + 4, f"{v:.3g}", anchor="middle", fill=shade
                    )
                )
    bottom = top + cell_h * len(rows)
    xs = s.get("x") or []
    if xs:
        body.append(
            _text(left, bottom + 14, f"x {_num(xs[0])} … {_num(xs[-1])} {s.get('x_unit', '')}")
        )
    # colour scale with the limit marked
    sl, sr, sy = left + 140, left + 140 + 260, bottom + 24
    for k in range(26):
        body.append(
            f'<rect x="{sl + k * 10:.1f}" y="{sy}" width="10" height="10" '
            f'fill="{_colour(k / 25)}"/>'
        )
    body.append(_text(sl - 4, sy + 9, _num(lo), anchor="end"))
    body.append(_text(sr + 4, sy + 9, f"{_num(hi)} {unit}"))
    if limit is not None:
        mx = _scale(lo, hi, sl, sr)(min(max(limit, lo), hi))
        body.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{sy - 4}" y2="{sy + 14}" stroke="{_FAIL}" '
            'stroke-width="2"/>'
        )
        body.append(
            _text(
                mx,
                sy + 26,
                (
                    label("class limit L_av", "等级限值 L_av")
                    if luminance
                    else label("class limit Eav", "等级限值 Eav")
                )
                + f" {_num(limit)} {unit.replace('^2', '²')}",
                anchor="middle",
                fill=_FAIL,
            )
        )
    average = sum(values) / len(values)
    body.append(
        _text(
            _W - 8,
            14,
            label("mean", "平均")
            + f" {average:.3g} · min {lo:.3g} · {'U0' if luminance else 'UE'} {lo / average:.3g}",
            anchor="end",
            fill=_MUTED,
        )
    )
    title = f"{s['name']}: " + (
        label("luminance grid", "亮度网格") if luminance else label("illuminance grid", "照度网格")
    )
    return _svg(body, title, height + 14)


def _steps(s: Mapping[str, Any], label: Label) -> str:
    """Commanded level (x) against the measured response (y): the dimming curve, with the
    ideal line y = x and the tolerance band around it when given."""
    xs = [float(v) for v in s.get("x", ())]
    ys = [float(v) for v in s["y"]]
    x_unit, unit = s.get("x_unit", "%"), s.get("unit", "%")
    hi = max([100.0, *xs, *ys])
    body = _axes(
        0,
        hi,
        0,
        hi,
        label("commanded", "指令") + f" ({x_unit})",
        label("measured", "实测") + f" ({unit})",
    )
    left, right, top, bottom = _PAD_L, _W - _PAD_R, _PAD_T, _H - _PAD_B
    sx, sy = _scale(0, hi, left, right), _scale(0, hi, bottom, top)
    body.append(
        f'<line x1="{sx(0):.1f}" y1="{sy(0):.1f}" x2="{sx(hi):.1f}" y2="{sy(hi):.1f}" '
        f'stroke="{_MUTED}" stroke-dasharray="4 3"/>'
    )
    lower, upper = s.get("lower"), s.get("upper")
    if xs and (lower is not None or upper is not None):
        # the band the last (commanded) step must land in
        top_y, bottom_y = sy(upper if upper is not None else hi), sy(lower or 0.0)
        body.append(
            f'<rect class="band" x="{sx(xs[-1]) - 7:.1f}" y="{top_y:.1f}" width="14" '
            f'height="{max(1.0, bottom_y - top_y):.1f}" fill="{_BAND}" stroke="{_FAIL}" '
            'stroke-dasharray="3 2"/>'
        )
        band = " .. ".join(_num(v) for v in (lower, upper) if v is not None)
        body.append(
            _text(
                sx(xs[-1]) - 12,
                top_y + 10,
                f"{label('limit', '限值')} {band} {unit}",
                anchor="end",
                fill=_FAIL,
            )
        )
    points = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=False))
    body.append(f'<polyline points="{points}" fill="none" stroke="{_LINE}" stroke-width="1.5"/>')
    for x, y in zip(xs, ys, strict=False):
        body.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{_LINE}"/>')
        near_right = sx(x) > right - 70
        body.append(
            _text(
                sx(x) - 6 if near_right else sx(x) + 6,
                sy(y) + 14 if near_right else sy(y) - 6,
                f"{_num(x)} → {_num(y)}",
                anchor="end" if near_right else "start",
            )
        )
    body.append(_text(_W - _PAD_R, _PAD_T - 8, s["name"], anchor="end", fill=_MUTED))
    title = f"{s['name']}: " + label("dimming curve", "调光曲线")
    return _svg(body, title)


def _pole(s: Mapping[str, Any], label: Label) -> str:
    """The pole in elevation: the shaft tapering to its top, each segment's wind force and
    each attachment's as arrows in proportion, the base shear and moment, the utilisation."""
    height = float(s["end"])
    n = int(s.get("columns", 0))
    zs, forces = [float(v) for v in s["x"]], [float(v) for v in s["y"]]
    names = list(s.get("labels") or [""] * len(zs))
    h_px, top = 250, 40
    base_y = top + h_px
    sy = _scale(0.0, height, base_y, top)
    pole_x = 150.0
    longest = max(forces) or 1.0
    sx = _scale(0.0, longest, 0.0, 160.0)
    body = [
        _text(8, 14, label("wind load on the pole", "灯杆风荷载") + f" ({s.get('unit', 'kN')})"),
        # the shaft, wider at the base
        f'<polygon points="{pole_x - 7},{base_y} {pole_x + 7},{base_y} {pole_x + 3},{top} '
        f'{pole_x - 3},{top}" fill="#d0d7de" stroke="{_MUTED}"/>',
        f'<line x1="{pole_x - 40}" x2="{pole_x + 40}" y1="{base_y}" y2="{base_y}" '
        f'stroke="#1f2328" stroke-width="3"/>',
        _text(pole_x - 14, top - 6, f"{_num(height)} m", anchor="end", fill=_MUTED),
    ]
    last_label = -100.0  # attachment labels keep 13 px apart, top down
    order = sorted(range(len(zs)), key=lambda k: -zs[k])
    for k in order:
        z, f = zs[k], forces[k]
        y = sy(z)
        attachment = k >= n
        colour = _FAIL if attachment else _LINE
        start = pole_x + (10 if attachment else 5)
        end = start + max(4.0, sx(f))
        body.append(
            f'<line x1="{start:.1f}" x2="{end:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="{2.2 if attachment else 1.2}"/>'
            f'<polygon points="{end:.1f},{y - 3:.1f} {end + 6:.1f},{y:.1f} {end:.1f},{y + 3:.1f}" '
            f'fill="{colour}"/>'
        )
        if attachment:
            body.append(
                f'<rect x="{pole_x - 16}" y="{y - 6:.1f}" width="12" height="12" fill="{colour}" '
                'fill-opacity="0.3"/>'
            )
            name = names[k] if k < len(names) else ""
            text_y = max(y + 4, last_label + 13)
            last_label = text_y
            body.append(
                _text(end + 10, text_y, f"{name} {_num(f)} kN @ {_num(z)} m".strip(), fill=colour)
            )
    shear, moment, utilisation = s.get("lower"), s.get("upper"), s.get("limit", "")
    facts = []
    if shear is not None:
        facts.append(label("base shear", "底部剪力") + f" V = {_num(shear)} kN")
    if moment is not None:
        facts.append(label("base moment", "底部弯矩") + f" M = {_num(moment)} kN·m")
    if utilisation:
        facts.append(label("base stress utilisation", "杆底应力比") + f" {utilisation}")
    for k, fact in enumerate(facts):
        body.append(_text(_W - 8, 40 + 18 * k, fact, anchor="end"))
    body.append(
        _text(
            _W - 8,
            base_y,
            label("blue: shaft segments · red: attachments", "蓝：杆身分段 · 红：挂载设备"),
            anchor="end",
            fill=_MUTED,
        )
    )
    return _svg(body, label("wind load on the pole", "灯杆风荷载"), base_y + 16)
