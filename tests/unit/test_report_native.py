"""report.json and report.html: schema-valid, counted from the results, atomic, readable."""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jsonschema import Draft202012Validator

from ycsa_conform.report import native
from ycsa_conform.report.native import (
    ReportError,
    build_report,
    conclude,
    summarize,
    write_reports,
)
from ycsa_conform.result import (
    Incident,
    Measurement,
    ProfileInfo,
    Result,
    RunInfo,
    Source,
    Verdict,
)

FINISHED = "2025-06-01T10:30:00+08:00"
RUN = RunInfo(
    tool_version="0.1.0",
    profiles=(
        ProfileInfo(
            id="smart-pole",
            version="1.0.0",
            sha256="ab" * 32,
            title={"en": "Smart lamp pole", "zh": "智慧灯杆"},
            path="profiles/smart-pole.yaml",
        ),
    ),
    site_id="kunming-demo",
    site_kind="field",
    site_title="昆明示范路段",
    started="2025-06-01T09:00:00+08:00",
    parameters={"road_class": "II", "w0": "0.3 kN/m²"},
    bench_faults=("meter-timeout",),
)
GBT_12325 = {
    "source": "GB/T 12325-2008",
    "clause": "4.3",
    "confidence": "M",
    "association_clause": None,
    "note": "supply voltage deviation",
}


def result(
    requirement: str,
    verdict: Verdict = Verdict.PASS,
    *,
    target: str = "P001",
    profile: str = "smart-pole",
    reason: str = "within limits",
    area: str = "power",
    level: str = "mandatory",
    refs: tuple[dict[str, Any], ...] = (GBT_12325,),
    untested: bool = False,
) -> Result:
    return Result(
        requirement=requirement,
        profile=profile,
        target=target,
        area=area,
        level=level,
        title={"en": f"Title of {requirement}", "zh": f"{requirement} 的名称"},
        verdict=verdict,
        reason=reason,
        measurements=(
            Measurement(
                name="supply_voltage",
                value=229.87,
                unit="V",
                limit="198 V .. 242 V",
                verdict=verdict,
                source=Source(device="meter", scheme="modbus-tcp", address="40001"),
            ),
        ),
        refs=refs,
        check="measure",
        untested=untested,
    )


ACTUATION = "actuation is not allowed on field devices; run with --allow-actuation"


def untested(requirement: str, *, level: str = "mandatory", reason: str = ACTUATION) -> Result:
    """A requirement that applies but was not tested (here: actuation not allowed)."""
    return result(requirement, Verdict.NOT_APPLICABLE, level=level, reason=reason, untested=True)


def schema() -> dict[str, Any]:
    text = (files("ycsa_conform") / "schemas" / "report.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def assert_valid(report: dict[str, Any]) -> None:
    validator = Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert [e.message for e in validator.iter_errors(report)] == []


def test_the_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_report_json_carries_the_contract_keys_and_matches_the_schema(tmp_path: Path) -> None:
    paths = write_reports(tmp_path, RUN, [result("SP-PWR-001")], finished=FINISHED)
    report = json.loads(paths.json.read_text(encoding="utf-8"))
    assert_valid(report)
    assert report["schema"] == "ycsa-conform/report/v1"
    assert report["tool"] == {"name": "ycsa-conform", "version": "0.1.0"}
    assert report["profiles"][0].items() >= {"id": "smart-pole", "sha256": "ab" * 32}.items()
    assert report["site"] == {"id": "kunming-demo", "kind": "field", "title": "昆明示范路段"}
    assert (report["started"], report["finished"]) == (RUN.started, FINISHED)
    (only,) = report["results"]
    assert set(only) >= {
        "requirement",
        "profile",
        "target",
        "area",
        "level",
        "verdict",
        "reason",
        "measurements",
        "refs",
    }
    # A profile's own requirement, in no subsystem: nothing to group.
    assert (only["source_profile"], only["subsystem"]) == ("smart-pole", None)
    assert report["subsystems"] == []
    measured = {"name": "supply_voltage", "value": 229.87, "unit": "V", "limit": "198 V .. 242 V"}
    assert only["measurements"][0].items() >= measured.items()


def test_summary_is_counted_from_the_results() -> None:
    verdicts = [Verdict.PASS] * 3 + [Verdict.FAIL, Verdict.PENDING, Verdict.PENDING]
    verdicts += [Verdict.NOT_APPLICABLE, Verdict.ERROR, Verdict.MARGINAL]
    results = [result(f"SP-X-{i:03}", v) for i, v in enumerate(verdicts)]
    report = build_report(RUN, results, FINISHED)
    assert report["summary"] == {
        "total": 9,
        "pass": 3,
        "marginal": 1,
        "fail": 1,
        "error": 1,
        "not_applicable": 1,
        "pending": 2,
        "untested": 0,
    }
    assert summarize([]) == dict.fromkeys(report["summary"], 0)


def test_summary_counts_untested_among_the_not_applicable() -> None:
    results = [result("R-1"), untested("R-2"), result("R-3", Verdict.NOT_APPLICABLE)]
    summary = build_report(RUN, results, FINISHED)["summary"]
    assert (summary["not_applicable"], summary["untested"]) == (2, 1)


def test_results_are_sorted_by_profile_target_and_requirement() -> None:
    results = [
        result("SP-PWR-002", target="P002"),
        result("SC-NET-001", profile="smart-community", target="P001"),
        result("SP-PWR-002", target="P001"),
        result("SP-PWR-001", target="P002"),
    ]
    order = [
        (r["profile"], r["target"], r["requirement"])
        for r in build_report(RUN, results, FINISHED)["results"]
    ]
    assert order == [
        ("smart-community", "P001", "SC-NET-001"),
        ("smart-pole", "P001", "SP-PWR-002"),
        ("smart-pole", "P002", "SP-PWR-001"),
        ("smart-pole", "P002", "SP-PWR-002"),
    ]


def test_the_default_finished_time_is_a_timestamp_with_offset(tmp_path: Path) -> None:
    paths = write_reports(tmp_path, RUN, [])
    report = json.loads(paths.json.read_text(encoding="utf-8"))
    assert_valid(report)
    assert report["finished"][-6] in "+-" or report["finished"].endswith("Z")


def test_a_result_that_breaks_the_schema_is_left_out_and_named(tmp_path: Path) -> None:
    bad = result("SP-PWR-001", level="must")
    paths = write_reports(tmp_path / "out", RUN, [bad, result("SP-PWR-002")], finished=FINISHED)
    report = json.loads(paths.json.read_text(encoding="utf-8"))
    assert_valid(report)
    assert [r["requirement"] for r in report["results"]] == ["SP-PWR-002"]
    assert report["summary"]["total"] == 2  # the summary still counts it
    (incident,) = report["incidents"]
    assert incident["stage"] == "report.json"
    assert incident["where"] == "smart-pole::SP-PWR-001[P001]"
    assert "$.results[0].level: 'must' is not one of" in incident["cause"]
    assert report["conclusion"]["status"] == "incomplete"
    assert paths.incidents == (Incident.from_dict(incident),)
    assert "result left out" in paths.html.read_text(encoding="utf-8")


def test_a_section_that_breaks_the_schema_is_left_out(tmp_path: Path) -> None:
    traffic = {"devices": [{"target": "P001"}]}  # a device row without its counts
    report = build_report(RUN, [result("SP-PWR-001")], FINISHED, traffic=traffic)
    assert "traffic" not in report
    (incident,) = report["incidents"]
    assert (incident["stage"], incident["where"]) == ("report.json", "$.traffic")
    assert "section left out: $.traffic.devices[0]" in incident["cause"]


def test_a_report_whose_run_breaks_the_schema_is_a_bug_yet_written(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"\$\.finished") as info:
        build_report(RUN, [result("SP-PWR-001")], "yesterday")
    assert "this is a bug" in str(info.value).lower()
    paths = write_reports(tmp_path, RUN, [result("SP-PWR-001")], finished="yesterday")
    report = json.loads(paths.json.read_text(encoding="utf-8"))
    (incident,) = report["incidents"]
    assert incident["stage"] == "report.json"
    assert incident["cause"].startswith("ReportError: report.json does not match")
    assert report["results"][0]["requirement"] == "SP-PWR-001"
    assert report["conclusion"]["status"] == "incomplete"


def test_a_failing_template_gives_a_plain_page_with_the_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A mock of a template bug, which we cannot cause otherwise.
    def broken(report: dict[str, Any], **options: Any) -> str:
        raise jinja2.UndefinedError("'dict object' has no attribute 'nonsense'")

    monkeypatch.setattr(native, "render_html", broken)
    paths = write_reports(
        tmp_path, RUN, [result("SP-PWR-001", reason="<b>ok</b>")], finished=FINISHED
    )
    html = paths.html.read_text(encoding="utf-8")
    assert "UndefinedError: &#x27;dict object&#x27; has no attribute &#x27;nonsense&#x27;" in html
    assert "&lt;b&gt;ok&lt;/b&gt;" in html
    assert "Not accepted: 1 session incident(s) (report.html)" in html
    report = json.loads(paths.json.read_text(encoding="utf-8"))
    assert_valid(report)
    assert [i["stage"] for i in report["incidents"]] == ["report.html"]
    assert paths.conclusion is not None
    assert paths.conclusion.status == "incomplete"


def test_a_bad_timestamp_is_caught_by_the_schema() -> None:
    with pytest.raises(ReportError, match=r"\$\.finished"):
        build_report(RUN, [], "yesterday")


@pytest.mark.parametrize(
    ("verdicts", "strict", "status", "en"),
    [
        ([Verdict.PASS, Verdict.NOT_APPLICABLE], False, "conforms", "Conforms"),
        ([Verdict.PASS, Verdict.MARGINAL], False, "conforms", "Conforms, with 1 marginal"),
        ([Verdict.PASS, Verdict.PENDING], True, "fails", "Does not conform: 1 pending"),
        (
            [Verdict.FAIL, Verdict.ERROR, Verdict.PENDING],
            False,
            "fails",
            "Does not conform: 1 failed, 1 undecided (error)",
        ),
        ([Verdict.NOT_APPLICABLE], False, "empty", "Nothing applicable was tested"),
        ([], False, "empty", "Nothing was tested"),
    ],
)
def test_conclusion(verdicts: list[Verdict], strict: bool, status: str, en: str) -> None:
    conclusion = conclude(
        [result(f"R-{i}", v) for i, v in enumerate(verdicts)], strict_acceptance=strict
    )
    assert conclusion.status == status
    assert conclusion.en.startswith(en)
    assert conclusion.conforms == (status in ("conforms", "pending"))


def test_pending_evidence_for_a_recommended_requirement_still_conforms() -> None:
    results = [
        result("R-1"),
        *(result(f"R-{i}", Verdict.PENDING, level="recommended") for i in (2, 3)),
    ]
    conclusion = conclude(results)
    assert (conclusion.status, conclusion.en) == ("pending", "Conforms, with 2 pending")
    assert conclusion.conforms


def test_a_mandatory_requirement_pending_evidence_is_not_accepted() -> None:
    conclusion = conclude([result("R-1"), result("R-2", Verdict.PENDING)])
    assert conclusion.status == "incomplete"
    assert not conclusion.conforms
    assert conclusion.en == "Not accepted: 1 mandatory requirement pending evidence (R-2[P001])"
    assert conclusion.zh == "未验收：1 项强制条款待补证据（R-2[P001]）"


def test_untested_mandatory_requirements_are_not_accepted_and_say_why() -> None:
    # Four requirements a field run without --allow-actuation cannot test, and one whose
    # assumed state (the lamp on) did not hold.
    results = [
        result("SP-PWR-001"),
        *(untested(r) for r in ("SP-PWR-009", "SP-LUM-010", "SP-DATA-009", "SP-DATA-019")),
        untested("SP-PWR-008", reason="not applicable: the lamp is off; it assumes full output"),
    ]
    conclusion = conclude(results)
    assert conclusion.status == "incomplete"
    assert not conclusion.conforms
    assert conclusion.en == (
        "Not accepted: 5 mandatory requirements not tested (actuation not allowed: "
        "SP-PWR-009[P001], SP-LUM-010[P001], SP-DATA-009[P001], SP-DATA-019[P001]; "
        "assumed state not held: SP-PWR-008[P001])"
    )
    assert conclusion.zh.startswith("未验收：5 项强制条款未检验（未允许操作设备：SP-PWR-009[P001]")
    assert "Conforms" not in conclusion.en
    assert "符合" not in conclusion.zh


def test_strict_acceptance_fails_untested_mandatory_requirements() -> None:
    conclusion = conclude([result("R-1"), untested("R-2")], strict_acceptance=True)
    assert conclusion.status == "fails"
    assert conclusion.en == "Does not conform: 1 mandatory not tested under strict acceptance"


def test_the_conclusion_names_a_few_untested_requirements_and_counts_the_rest() -> None:
    results = [untested("SP-PWR-009", level="mandatory") for _ in range(8)]
    results = [
        Result.from_dict(r.as_dict() | {"target": f"P{i:03d}"}) for i, r in enumerate(results, 1)
    ]
    conclusion = conclude([result("R-1"), *results])
    assert conclusion.en.endswith("SP-PWR-009[P005], … 3 more)")


def test_untested_requirements_that_are_not_mandatory_do_not_stop_acceptance() -> None:
    conclusion = conclude([result("R-1"), untested("R-2", level="recommended")])
    assert conclusion.status == "conforms"
    assert conclusion.en == "Conforms, with 1 not tested (not mandatory)"


def test_a_session_incident_is_not_accepted_whatever_the_results() -> None:
    incident = Incident(stage="traffic accounting", cause="ValueError: no point 'lamp_on'")
    conclusion = conclude([result("R-1")], incidents=[incident])
    assert conclusion.status == "incomplete"
    assert conclusion.en == "Not accepted: 1 session incident(s) (traffic accounting)"
    failed = conclude([result("R-1", Verdict.FAIL)], incidents=[incident])
    assert failed.en == "Does not conform: 1 failed, 1 session incident(s)"


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    write_reports(tmp_path, RUN, [result("SP-PWR-001")], finished=FINISHED)
    paths = write_reports(tmp_path, RUN, [result("SP-PWR-002")], finished=FINISHED)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]
    assert "SP-PWR-002" in paths.json.read_text(encoding="utf-8")
    assert "SP-PWR-001" not in paths.html.read_text(encoding="utf-8")


def test_a_failed_write_keeps_the_old_report_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_reports(tmp_path, RUN, [result("SP-PWR-001")], finished=FINISHED)
    before = paths.json.read_bytes()

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_reports(tmp_path, RUN, [result("SP-PWR-002")], finished=FINISHED)
    assert paths.json.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_report_json_keeps_chinese_readable(tmp_path: Path) -> None:
    paths = write_reports(tmp_path, RUN, [result("SP-PWR-001")], finished=FINISHED)
    assert "昆明示范路段" in paths.json.read_text(encoding="utf-8")


class TestHtml:
    @pytest.fixture
    def html(self, tmp_path: Path) -> str:
        results = [
            result("SP-PWR-001", reason='<script>alert("x")</script> & 电压'),
            result("SP-LGT-001", Verdict.PENDING, area="lighting", reason="照度记录未提供"),
            result("SP-PWR-002", Verdict.FAIL, target="P002", reason="253.1 V > 242 V"),
            result(
                "SP-MNT-001",
                Verdict.ERROR,
                area="mounting",
                level="optional",
                refs=({"source": "GB 50009-2012", "clause": None, "confidence": "H"},),
            ),
        ]
        paths = write_reports(tmp_path, RUN, results, finished=FINISHED)
        return paths.html.read_text(encoding="utf-8")

    def test_reason_text_is_escaped(self, html: str) -> None:
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; 电压" in html
        assert "<script" not in html

    def test_is_self_contained(self, html: str) -> None:
        for fetch in ("<link", "src=", "@import", "url("):
            assert fetch not in html

    def test_shows_both_languages_and_the_header(self, html: str) -> None:
        for text in (
            "Title of SP-PWR-001",
            "SP-PWR-001 的名称",
            "昆明示范路段",
            "kunming-demo",
            "field",
            "smart-pole",
            "1.0.0",
            "sha256 abababababab",
            "road_class",
            "meter-timeout",
            RUN.started,
            FINISHED,
        ):
            assert text in html, text

    def test_states_the_conclusion_and_counts(self, html: str) -> None:
        assert "Does not conform: 1 failed, 1 undecided (error)" in html
        cover = html.split('id="cover"', 1)[1].split("</section>", 1)[0]
        assert "<strong>4</strong>" in cover
        assert 'Fail <span class="zh" lang="zh-CN">不合格</span></span> 1' in cover
        assert 'Pending <span class="zh" lang="zh-CN">待补证据</span></span> 1' in cover

    def test_lists_failures_and_errors_before_pending(self, html: str) -> None:
        punch = html.split('id="punch"', 1)[1].split("</section>", 1)[0]
        order = [punch.index(req) for req in ("SP-PWR-002", "SP-MNT-001", "SP-LGT-001")]
        assert order == sorted(order)
        assert "SP-PWR-001" not in punch

    def test_has_no_subsystem_headings_or_origins_without_them(self, html: str) -> None:
        assert 'class="subsystem"' not in html
        detail = html.split('id="detail"', 1)[1].split("</section>", 1)[0]
        assert "来自" not in detail

    def test_has_a_table_per_target_and_breakdowns(self, html: str) -> None:
        assert "检验对象</span> P001</h3>" in html
        assert "检验对象</span> P002</h3>" in html
        assert "By area" in html
        assert "<td>mounting</td>" in html  # an area without a label is shown as it is

    def test_shows_measurements_with_limit_and_source(self, html: str) -> None:
        assert "<strong>229.87</strong> V" in html
        assert "<td>198 V .. 242 V</td>" in html
        assert "meter · modbus-tcp" in html

    def test_shows_references_with_the_empty_association_slot(self, html: str) -> None:
        assert "GB/T 12325-2008" in html
        assert "§4.3" in html
        assert '<span class="tag" title="confidence">M</span>' in html
        assert 'association clause <span class="zh" lang="zh-CN">协会条款</span>: —' in html
        assert "GB 50009-2012" in html  # clause unknown: shown as a dash, never invented

    def test_is_printable(self, html: str) -> None:
        assert "@media print" in html


def test_html_with_no_results_says_nothing_was_tested(tmp_path: Path) -> None:
    paths = write_reports(tmp_path, RUN, [], finished=FINISHED)
    html = paths.html.read_text(encoding="utf-8")
    assert "Nothing was tested" in html
    assert "No results were recorded" in html
    assert json.loads(paths.json.read_text(encoding="utf-8"))["summary"]["total"] == 0


def test_only_http_reference_urls_become_links(tmp_path: Path) -> None:
    refs = (
        {"source": "CJJ 45-2015", "clause": "3.5.2", "url": "https://example.org/cjj45"},
        {"source": "Evil", "clause": None, "url": "javascript:alert(1)"},
    )
    paths = write_reports(tmp_path, RUN, [result("SP-LGT-002", refs=refs)], finished=FINISHED)
    html = paths.html.read_text(encoding="utf-8")
    assert '<a href="https://example.org/cjj45">CJJ 45-2015</a>' in html
    assert "javascript:" not in html
