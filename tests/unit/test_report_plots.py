"""The SVG plots of report.html, and the series results keep for them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from ycsa_conform.report.plots import plot, svg_file
from ycsa_conform.result import MAX_SERIES_POINTS, Result, Series, Verdict


def label(en: str, zh: str) -> str:
    return en


def _svg(series: Series | dict[str, Any]) -> ET.Element:
    data = series.as_dict() if isinstance(series, Series) else series
    text = plot(data, label)
    assert text.startswith("<svg")
    return ET.fromstring(text)  # well-formed: a browser and a PDF renderer both read it


def _fills(svg: ET.Element, tag: str) -> list[str]:
    return [e.get("fill", "") for e in svg.iter(tag)]


def test_samples_outside_the_band_are_red_and_the_band_is_the_limit() -> None:
    series = Series(
        kind="samples", name="supply_voltage", unit="V", x_unit="s",
        x=(0.0, 0.1, 0.2, 0.3), y=(228.0, 229.0, 236.0, 197.0), lower=198.0, upper=235.4,
    )  # fmt: skip
    svg = _svg(series)
    assert _fills(svg, "circle") == ["#0969da", "#0969da", "#cf222e", "#cf222e"]
    band = next(e for e in svg.iter("rect") if e.get("class") == "band")
    lines = [float(e.get("y1", "0")) for e in svg.iter("line")]
    # the band spans exactly from the upper to the lower limit line
    assert float(band.get("y", "0")) == pytest.approx(min(lines), abs=0.1)
    assert float(band.get("y", "0")) + float(band.get("height", "0")) == pytest.approx(
        max(lines), abs=0.1
    )
    texts = " ".join(e.text or "" for e in svg.iter("text"))
    assert "max 235.4 V" in texts
    assert "min 198 V" in texts


def test_a_gap_longer_than_allowed_is_marked_red() -> None:
    ok = Series(kind="arrivals", name="hb", x=(1.0, 2.0, 3.0), start=0.0, end=4.0, upper=2.0)
    late = Series(kind="arrivals", name="hb", x=(1.0,), start=0.0, end=4.0, upper=2.0)
    assert "#cf222e" not in plot(ok.as_dict(), label)
    text = plot(late.as_dict(), label)
    assert "#cf222e" in text
    assert "largest gap 3 s / allowed 2 s" in text


def test_a_silent_window_is_drawn_as_one_gap_with_no_message() -> None:
    silent = Series(kind="arrivals", name="hb", x=(), start=0.0, end=4.0, upper=2.0)
    text = plot(silent.as_dict(), label)
    assert "no message" in text
    assert "largest gap 4 s" in text


def test_the_grid_has_a_cell_per_point_and_outlines_those_below_the_limit() -> None:
    values = (30.0, 25.0, 10.0, 40.0, 19.0, 22.0)
    svg = _svg(Series(kind="grid", name="g", unit="lx", y=values, columns=3, lower=20.0))
    cells = [e for e in svg.iter("rect") if e.get("stroke") in ("#fff", "#cf222e")]
    assert len(cells) == len(values)
    assert [c.get("stroke") for c in cells].count("#cf222e") == 2  # 10 lx and 19 lx
    assert "class limit Eav 20 lx" in " ".join(e.text or "" for e in svg.iter("text"))


def test_dimming_steps_show_the_band_of_the_commanded_step() -> None:
    steps = Series(kind="steps", name="active_power after / before", unit="%", x_unit="%",
                   x=(100.0, 50.0), y=(100.0, 50.2), lower=40.0, upper=65.0)  # fmt: skip
    text = plot(steps.as_dict(), label)
    assert "limit 40 .. 65 %" in text
    assert "50 → 50.2" in text


def test_the_pole_diagram_draws_each_attachment_and_the_base_actions() -> None:
    pole = Series(kind="pole", name="wind load", unit="kN", x_unit="m",
                  x=(1.0, 3.0, 5.0, 9.5, 4.0), y=(0.1, 0.1, 0.1, 0.24, 0.42), columns=3,
                  labels=("", "", "", "luminaire", "LED screen"), start=0.0, end=10.0,
                  lower=1.56, upper=9.5, limit="0.269")  # fmt: skip
    svg = _svg(pole)
    texts = " ".join(e.text or "" for e in svg.iter("text"))
    assert "luminaire 0.24 kN @ 9.5 m" in texts
    assert "LED screen 0.42 kN @ 4 m" in texts
    assert "V = 1.56 kN" in texts
    assert "M = 9.5 kN·m" in texts
    assert "base stress utilisation 0.269" in texts
    arrows = [e for e in svg.iter("line") if e.get("stroke") in ("#0969da", "#cf222e")]
    assert len(arrows) == 5


def test_a_standalone_svg_file_names_its_namespace() -> None:
    series = Series(kind="samples", name="v", y=(1.0, 2.0)).as_dict()
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg_file(series, label)
    assert "xmlns" not in plot(series, label)  # inline in report.html: no web address


def test_text_in_a_plot_is_escaped() -> None:
    text = plot(Series(kind="samples", name="<b>&", y=(1.0, 2.0)).as_dict(), label)
    assert "<b>" not in text
    assert "&lt;b&gt;&amp;" in text


@pytest.mark.parametrize(
    "series",
    [
        {"kind": "samples", "name": "x", "x": [], "y": []},
        {"kind": "grid", "name": "x", "x": [], "y": [1.0], "columns": 0},
        {"kind": "photo", "name": "x", "x": [], "y": [1.0]},
    ],
)
def test_nothing_to_draw_gives_no_plot(series: dict[str, Any]) -> None:
    assert plot(series, label) == ""


def test_a_series_is_bounded_and_survives_the_journal() -> None:
    long = Series(kind="samples", name="v", x=tuple(map(float, range(1000))), y=(1.0,) * 1000)
    assert len(long.x) == len(long.y) == MAX_SERIES_POINTS
    result = Result(
        requirement="SP-PWR-001", profile="smart-pole", target="P001", area="power",
        level="mandatory", title={"en": "t"}, verdict=Verdict.PASS, reason="ok",
        series=(Series(kind="arrivals", name="hb", x=(1.0,), start=0.0, end=2.5, upper=2.0),),
    )  # fmt: skip
    data = result.as_dict()
    assert data["series"] == [
        {"kind": "arrivals", "name": "hb", "unit": "", "x": [1.0], "y": [],
         "upper": 2.0, "start": 0.0, "end": 2.5}
    ]  # fmt: skip
    assert Result.from_dict(data) == result
    assert "series" not in Result.from_dict({**data, "series": []}).as_dict()


def test_svg_numbers_are_short() -> None:
    text = plot(Series(kind="samples", name="v", y=(1 / 3, 2 / 3)).as_dict(), label)
    assert not re.search(r"\d\.\d{5,}", text)


def test_a_luminance_grid_is_titled_and_limited_as_luminance() -> None:
    values = (1.2, 2.0, 3.1, 1.4, 2.2, 2.9)
    series = Series(kind="grid", name="p", unit="cd/m^2", y=values, columns=3, lower=1.5)

    text = " ".join("".join(e.itertext()) for e in _svg(series).iter())

    assert "luminance at grid points (cd/m²)" in text
    assert "class limit L_av 1.5 cd/m²" in text
    assert "U0 " in text
    assert "illuminance" not in text
    outlined = [e for e in _svg(series).iter("rect") if e.get("stroke") == "#cf222e"]
    assert len(outlined) == 2  # 1.2 and 1.4 are below 1.5
