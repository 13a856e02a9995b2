"""report.html and report.pdf as handed over: real bench runs (a clean one and one with faults),
then what a city department reads: order, punch list, plots, languages, sign-off, the PDF's
columns on every page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pypdf
import pytest

from ycsa_conform.cli import main
from ycsa_conform.profile.loader import load_profile
from ycsa_conform.report.native import render_html

FAULTS = ("undervoltage", "heartbeat-stops", "lamp-failure")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _run(folder: Path, *args: str) -> Path:
    """A real `pytest --profile smart-pole` on the built-in bench, in its own process (a
    pytester run is per test; these reports are read by several)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "--profile", "smart-pole", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        check=False,
        timeout=600,
    )  # fmt: skip
    return folder / "ycsa-report"


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    faults = [arg for fault in FAULTS for arg in ("--bench-fault", fault)]
    return _run(
        tmp_path_factory.mktemp("fault"), *faults, "--record", "rec", "--operator", "张工 Zhang"
    )


@pytest.fixture(scope="module")
def fault_report(fault_run: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((fault_run / "report.json").read_text(encoding="utf-8"))
    return report


@pytest.fixture(scope="module")
def html(fault_run: Path) -> str:
    return (fault_run / "report.html").read_text(encoding="utf-8")


def _section(html: str, name: str) -> str:
    return html.split(f'<section id="{name}"', 1)[1].split("</section>", 1)[0]


def _block(html: str, requirement: str) -> str:
    """The detail block of one requirement."""
    detail = _section(html, "detail")
    start = detail.index(f'<span class="id">{requirement}</span>')
    return detail[start : detail.find('<div class="req ', start)]


def test_requirements_are_in_profile_order_not_alphabetical(html: str) -> None:
    profile_order = [r.id for r in load_profile("smart-pole").requirements]
    shown = re.findall(r'<span class="id">([A-Z]+-[A-Z]+-\d+)</span>', _section(html, "detail"))
    assert shown == [r for r in profile_order if r in shown]
    assert shown != sorted(shown)  # the profile starts with SP-LOAD, not SP-DATA


def test_the_punch_list_says_how_to_resolve_each_failure(html: str) -> None:
    punch = _section(html, "punch")
    for requirement in ("SP-PWR-001", "SP-LUM-014", "SP-DATA-008"):
        assert requirement in punch
    assert "SP-PWR-009" not in punch  # passed
    row = punch[punch.index("SP-PWR-001") :].split("</tr>", 1)[0]
    # derived from the failed measurement: its value and its limit
    assert "198 V .. 235.4 V" in row
    assert "整改安装或设备" in row


def test_the_voltage_plot_shows_the_samples_against_the_limit_band(html: str) -> None:
    block = _block(html, "SP-PWR-001")
    svg = block[block.index("<svg") : block.index("</svg>")]
    assert 'class="band"' in svg
    assert "235.4 V" in svg
    assert "198 V" in svg
    assert svg.count("<circle") == 5  # the five samples


def test_heartbeat_timeline_grid_and_dimming_plots_are_drawn(html: str) -> None:
    assert "<svg" in _block(html, "SP-DATA-008")
    assert "no message" in _block(html, "SP-DATA-008")
    grid = _block(html, "SP-LUM-002")
    assert "class limit Eav" in grid
    assert "20 lx" in grid
    assert "dimming curve" in _block(html, "SP-LUM-010")
    pole = _block(html, "SP-LOAD-006")
    assert "wind load on the pole" in pole
    assert "base moment" in pole


def test_is_one_file_with_no_script_and_no_fetch(html: str) -> None:
    assert "<script" not in html
    for fetch in ("<link", "src=", "@import", "url(", "<iframe", "<object"):
        assert fetch not in html
    # the only web addresses are references the reader may follow
    assert len(re.findall(r"https?://", html)) == len(re.findall(r'<a href="https?://', html))


def test_operator_is_on_the_cover_and_the_first_signature_line(html: str) -> None:
    assert "张工 Zhang" in _section(html, "cover")
    signoff = _section(html, "signoff")
    assert signoff.count('class="line"') == 4 * 4
    assert "张工 Zhang" in signoff


def test_the_recording_link_is_relative_to_the_report_folder(html: str, fault_run: Path) -> None:
    link = re.search(r'<a href="([^"]+)">\1</a>', _section(html, "inputs"))
    assert link is not None
    assert link.group(1) == "../rec"
    assert (fault_run / link.group(1)).resolve() == (fault_run.parent / "rec").resolve()


def test_chinese_only_and_english_only(fault_report: dict[str, Any]) -> None:
    zh = render_html(fault_report, lang="zh")
    en = render_html(fault_report, lang="en")
    for label_zh, label_en in (("整改清单", "Punch list"), ("签字确认", "Sign-off")):
        assert label_zh in zh
        assert label_en not in zh
        assert label_en in en
        assert label_zh not in en
    assert "供配电" in zh  # area names
    # the Chinese summary of a failure, from its measurements
    assert re.search(
        r"不满足：supply_voltage [^<]*（限值 198 V \.\. 235\.4 V", _block(zh, "SP-PWR-001")
    )
    assert 'class="gloss"' not in en
    assert CJK.search(en.replace("张工", "")) is None
    assert 'lang="zh-CN"' in zh


def test_report_pdf_holds_every_column_on_each_page(fault_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    assert main(["report", "pdf", str(fault_run), "--out", str(out)]) == 0

    pages = [re.sub(r"\s+", "", page.extract_text()) for page in pypdf.PdfReader(out).pages]
    assert len(pages) > 3
    assert "验收报告" in pages[0]
    assert "张工Zhang" in pages[0]
    assert all(f"/{len(pages)}" in page for page in pages)  # page N / M on every page
    columns = ["Requirement/条款", "Target/对象", "Verdict/判定", "Measured/测量项",
               "Value/测量值", "Limit/限值", "Source/来源"]  # fmt: skip
    first = next(i for i, page in enumerate(pages) if "4Results/检验结果" in page)
    last = next(i for i, page in enumerate(pages) if "5Sign-off/签字确认" in page)
    assert last - first > 1  # the results run over several pages
    for page in pages[first:last]:
        for column in columns:
            assert column in page
    results = "".join(pages[first:last])
    assert "191.4V" in results  # the measured value of the failure …
    assert "198V..235.4V" in results  # … and its limit


def test_a_clean_run_has_nothing_to_fix(tmp_path: Path) -> None:
    html = (_run(tmp_path, "--report-lang", "en") / "report.html").read_text(encoding="utf-8")
    assert "Nothing to fix" in _section(html, "punch")
    assert "Conforms" in _section(html, "cover")
    assert CJK.search(html) is None
