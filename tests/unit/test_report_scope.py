"""Scope, coverage and the `partial` conclusion; the plan, resume and end lines of the journal;
the report folder (a folder per run, `latest`, `LATEST`, the top-level copies)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_report_journal import RUN  # the same run, the same helpers as their tests
from test_report_native import assert_valid, result

from ycsa_conform.errors import InputError
from ycsa_conform.report.folder import latest_run, new_run, point_latest, publish, run_folder
from ycsa_conform.report.journal import Journal, load_journal
from ycsa_conform.report.native import build_report, conclude, write_reports
from ycsa_conform.report.rebuild import rebuild_report
from ycsa_conform.report.scope import (
    CUT_SHORT,
    UNDECIDED,
    Planned,
    Scope,
    coverage,
    merge_scopes,
    scope_summary,
)
from ycsa_conform.result import Incident, Verdict


def planned(requirement: str, target: str = "P001", reason: str = "") -> Planned:
    return Planned(
        profile="smart-pole",
        requirement=requirement,
        target=target,
        title={"en": f"Title of {requirement}", "zh": f"{requirement} 的名称"},
        area="power",
        level="mandatory",
        reason=reason,
    )


KEYWORD = "deselected with -k 'SP-PWR-001'"
PLAN = (
    planned("SP-PWR-001"),
    planned("SP-PWR-002", reason=KEYWORD),
    planned("SP-PWR-003", reason=KEYWORD),
)


def test_a_run_that_decided_everything_planned_is_not_partial() -> None:
    scope = Scope(planned=(planned("SP-PWR-001"),))
    results = [result("SP-PWR-001")]

    summary = scope_summary(scope, results)

    assert summary == {"requirements": 1, "decided": 1, "partial": False, "why": []}
    assert conclude(results, scope=summary).status == "conforms"


def test_a_partial_run_never_concludes_conforms() -> None:
    scope = Scope(planned=PLAN)
    results = [result("SP-PWR-001")]

    summary = scope_summary(scope, results)
    conclusion = conclude(results, scope=summary)

    assert summary == {"requirements": 3, "decided": 1, "partial": True, "why": [KEYWORD]}
    assert (conclusion.status, conclusion.conforms) == ("partial", False)
    assert conclusion.en == "Partial: 1 of 3 requirements run; no conclusion on the whole"
    assert conclusion.zh == "部分检验：3 项中检验了 1 项，不对整体下结论"


def test_a_failure_in_a_partial_run_still_fails_and_says_how_much_ran() -> None:
    results = [result("SP-PWR-001", Verdict.FAIL)]

    conclusion = conclude(results, scope=scope_summary(Scope(planned=PLAN), results))

    assert conclusion.status == "fails"
    assert conclusion.en == "Does not conform: 1 failed (partial: 1 of 3 requirements run)"


def test_an_incident_in_a_partial_run_is_named_after_the_partial() -> None:
    results = [result("SP-PWR-001")]
    incident = Incident(stage="traffic accounting", cause="ValueError: x")

    conclusion = conclude(
        results, incidents=[incident], scope=scope_summary(Scope(planned=PLAN), results)
    )

    assert conclusion.status == "partial"
    assert conclusion.en == (
        "Partial: 1 of 3 requirements run; no conclusion on the whole; "
        "not accepted: 1 session incident(s) (traffic accounting)"
    )


def test_coverage_lists_every_planned_pair_in_profile_order_with_its_state() -> None:
    scope = Scope(planned=(*PLAN, planned("SP-PWR-004")), stopped="not run: interrupted (Ctrl-C)")

    rows = coverage(scope, [result("SP-PWR-001", Verdict.MARGINAL, reason="close")])

    assert [(r["requirement"], r["state"], r["reason"]) for r in rows] == [
        ("SP-PWR-001", "marginal", "close"),
        ("SP-PWR-002", "not_run", KEYWORD),
        ("SP-PWR-003", "not_run", KEYWORD),
        ("SP-PWR-004", "not_run", "not run: interrupted (Ctrl-C)"),
    ]
    assert list(rows[0]) == [
        "profile", "requirement", "target", "title", "area", "level", "state", "reason"
    ]  # fmt: skip


def test_a_selected_pair_left_undecided_says_whether_the_run_was_cut_short() -> None:
    pair = planned("SP-PWR-001")

    assert Scope(planned=(pair,), ended=False).not_run_reason(pair) == CUT_SHORT
    assert Scope(planned=(pair,), ended=True).not_run_reason(pair) == UNDECIDED


def test_report_json_with_a_scope_matches_the_schema_and_one_without_still_does(
    tmp_path: Path,
) -> None:
    results = [result("SP-PWR-001")]

    with_scope = build_report(RUN, results, RUN.started, scope=Scope(planned=PLAN))
    without = build_report(RUN, results, RUN.started)

    assert_valid(with_scope)
    assert_valid(without)
    assert list(with_scope)[: list(with_scope).index("summary") + 1][-3:] == [
        "conclusion",
        "scope",
        "summary",
    ]
    assert with_scope["conclusion"]["status"] == "partial"
    assert len(with_scope["coverage"]) == 3
    assert "scope" not in without
    assert without["conclusion"]["status"] == "conforms"


def test_merged_scopes_hold_every_pair_any_run_planned() -> None:
    road_1 = Scope(planned=(planned("SP-PWR-001"), planned("SP-PWR-002", reason=KEYWORD)))
    road_2 = Scope(planned=(planned("SP-PWR-001", "P002"),), ended=False)

    merged = merge_scopes([road_1, road_2])
    summary = scope_summary(merged, [result("SP-PWR-001"), result("SP-PWR-001", target="P002")])

    assert [(p.requirement, p.target) for p in merged.planned] == [
        ("SP-PWR-001", "P001"),
        ("SP-PWR-002", "P001"),
        ("SP-PWR-001", "P002"),
    ]
    assert summary == {"requirements": 3, "decided": 2, "partial": True, "why": [KEYWORD]}


# -- the journal --------------------------------------------------------------------------------


def test_the_plan_resume_and_end_lines_read_back_as_the_scope(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN) as journal:
        journal.plan(PLAN)
        journal.write(result("SP-PWR-001"))
    # The run was killed while it wrote a line: the resumed session cuts that line off.
    with path.open("a", encoding="utf-8") as file:
        file.write('{"type":"result","requirement":"SP-PW')
    with Journal.resume(path, started="2025-06-01T10:00:00+08:00", reused=1) as journal:
        journal.plan(PLAN)
        journal.end(finished="2025-06-01T10:05:00+08:00", stopped="", traffic={"devices": []})

    content = load_journal(path)

    assert [s.resumed for s in content.sessions] == [False, True]
    assert [r.requirement for r in content.results] == ["SP-PWR-001"]
    assert content.finished == "2025-06-01T10:05:00+08:00"
    assert content.traffic == {"devices": []}
    scope = content.scope()
    assert scope is not None
    assert scope.planned == PLAN
    assert scope_summary(scope, content.results) == {
        "requirements": 3,
        "decided": 1,
        "partial": True,
        "why": [
            KEYWORD,
            "resumed 2025-06-01T10:00:00+08:00: 1 result(s) kept from the journal, "
            "the rest run then",
        ],
    }


def test_a_journal_cut_short_has_no_finish_and_its_undecided_pairs_say_so(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN) as journal:
        journal.plan((planned("SP-PWR-001"), planned("SP-PWR-002")))
        journal.write(result("SP-PWR-001"))

    content = load_journal(path)
    scope = content.scope()

    assert content.finished is None
    assert scope is not None
    assert scope_summary(scope, content.results)["why"] == [CUT_SHORT]


def test_a_journal_without_a_plan_has_no_scope(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN) as journal:
        journal.write(result("SP-PWR-001"))

    assert load_journal(path).scope() is None


def test_an_unknown_line_kind_names_the_kinds_a_journal_holds(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN):
        pass
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps({"type": "comment"}) + "\n")

    with pytest.raises(InputError, match=r"journal\.jsonl:2: \$\.type: 'comment' is not 'result'"):
        load_journal(path)


# -- the report folder --------------------------------------------------------------------------


def test_each_run_gets_a_folder_of_its_own_even_in_the_same_second(tmp_path: Path) -> None:
    now = datetime(2026, 12, 4, 10, 31, 7, tzinfo=UTC)

    first, second = new_run(tmp_path, now=now), new_run(tmp_path, now=now)

    assert first == tmp_path / "runs" / "2026-12-04T10-31-07Z"
    assert second == tmp_path / "runs" / "2026-12-04T10-31-07Z-2"


def test_latest_names_the_last_run_as_a_link_and_as_text(tmp_path: Path) -> None:
    run = new_run(tmp_path)
    Journal.open(run / "journal.jsonl", RUN).close()

    point_latest(tmp_path, run)

    assert (tmp_path / "LATEST").read_text() == f"runs/{run.name}\n"
    assert (tmp_path / "latest").resolve() == run.resolve()
    assert latest_run(tmp_path) == run
    assert run_folder(tmp_path) == run
    assert run_folder(run) == run


def test_where_symlinks_fail_latest_is_the_text_file_and_no_stale_link_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = new_run(tmp_path), new_run(tmp_path)
    for run in (old, new):
        Journal.open(run / "journal.jsonl", RUN).close()
    point_latest(tmp_path, old)

    def no_symlinks(self: Path, target: str, target_is_directory: bool = False) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(Path, "symlink_to", no_symlinks)
    point_latest(tmp_path, new)

    assert not (tmp_path / "latest").exists()
    assert not (tmp_path / "latest").is_symlink()
    assert latest_run(tmp_path) == new


def test_a_folder_written_before_runs_had_folders_is_its_own_run(tmp_path: Path) -> None:
    Journal.open(tmp_path / "journal.jsonl", RUN).close()

    assert latest_run(tmp_path) == tmp_path


def test_only_the_latest_runs_report_is_copied_to_the_top(tmp_path: Path) -> None:
    old, new = new_run(tmp_path), new_run(tmp_path)
    for run in (old, new):
        Journal.open(run / "journal.jsonl", RUN).close()
        write_reports(run, RUN, [result("SP-PWR-001")], finished=RUN.started)
    point_latest(tmp_path, new)

    publish(tmp_path, old)
    assert not (tmp_path / "report.json").exists()
    publish(tmp_path, new)
    assert (tmp_path / "report.json").read_bytes() == (new / "report.json").read_bytes()
    assert (tmp_path / "report.html").read_bytes() == (new / "report.html").read_bytes()


def test_render_rebuilds_a_finished_run_as_it_was_written(tmp_path: Path) -> None:
    run = new_run(tmp_path)
    point_latest(tmp_path, run)
    results = [result("SP-PWR-001")]
    with Journal.open(run / "journal.jsonl", RUN) as journal:
        journal.plan(PLAN)
        for r in results:
            journal.write(r)
        journal.end(finished="2025-06-01T09:05:00+08:00", stopped="", traffic=None)
    written = write_reports(
        run, RUN, results, finished="2025-06-01T09:05:00+08:00", scope=Scope(planned=PLAN)
    )
    first = written.json.read_bytes()
    written.json.unlink()

    rebuilt = rebuild_report(run)  # the run's own folder: the top-level copies follow too

    assert (rebuilt.folder, rebuilt.cut_short) == (run, False)
    assert (run / "report.json").read_bytes() == first
    assert (tmp_path / "report.json").read_bytes() == first
