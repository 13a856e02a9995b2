"""Nothing escapes the session hooks: whatever fails, report.json, report.html and the journal
are written, name the stage and the cause, and the exit status is not 0.

Each test injects an exception at one stage of a real run on the built-in bench through a
conftest.py in the pytester folder. The injection is a mock of a failure we cannot cause
otherwise: the stages are guarded precisely so that no device, map or check we know of makes
them raise (a map lacking a polled point used to break the traffic accounting; the map/profile
contract now turns that into the requirement's error, see test_contract_run.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.profile import builtin_profiles, load_profile

SELECTION = ["-k", "SP-PWR-001 or SP-LOAD-001", "-p", "no:cacheprovider"]

# The built-in profile's size: a requirement added to it changes these runs' counts.
SMART_POLE = len(load_profile(builtin_profiles()["smart-pole"]).requirements)


def inject(pytester: pytest.Pytester, target: str, attribute: str, error: str) -> None:
    """A conftest that replaces `target.attribute` (an import path and a name) by a function
    raising `error` for this run only."""
    module, _, name = target.rpartition(".")
    pytester.makeconftest(
        f"""
        import pytest
        from {module} import {name} as target

        def fail(*args, **kwargs):
            raise {error}

        def pytest_configure(config):
            patch = pytest.MonkeyPatch()
            patch.setattr(target, {attribute!r}, fail)
            config.add_cleanup(patch.undo)
        """
    )


def reports(pytester: pytest.Pytester) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """report.json, report.html and the journal's lines: all three must exist."""
    folder = pytester.path / "ycsa-report"
    report: dict[str, Any] = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    html = (folder / "report.html").read_text(encoding="utf-8")
    journal = [
        json.loads(line) for line in (folder / "latest" / "journal.jsonl").read_text().splitlines()
    ]
    return report, html, journal


def test_a_failing_collection_still_writes_the_reports_with_the_cause(
    pytester: pytest.Pytester,
) -> None:
    # The run's cases are listed while pytest collects; the failure replaces that listing.
    pytester.makeconftest(
        """
        from ycsa_conform.pytest_plugin.state import STATE

        def pytest_collection(session):
            def cases():
                raise RuntimeError("injected: cannot list the cases")

            session.config.stash[STATE].run.cases = cases
        """
    )

    result = pytester.runpytest("--profile", "smart-pole", *SELECTION)

    assert result.ret == pytest.ExitCode.INTERRUPTED
    report, html, journal = reports(pytester)
    (incident,) = report["incidents"]
    assert incident == {
        "stage": "collection",
        "cause": "RuntimeError: injected: cannot list the cases",
        "where": "smart-pole",
    }
    assert report["conclusion"]["status"] == "incomplete"
    assert report["results"] == []
    assert "injected: cannot list the cases" in html
    assert {"type": "incident", **incident} in journal
    assert journal[-1]["type"] == "end"
    result.stdout.fnmatch_lines(
        [
            "INCIDENTS: 1 stage(s) of the session failed*",
            "  collection: RuntimeError: injected: cannot list the cases (smart-pole)",
            "Not accepted: 1 session incident(s) (collection) / 未验收：*",
        ]
    )


def test_a_check_that_raises_is_an_error_and_an_incident(pytester: pytest.Pytester) -> None:
    inject(
        pytester,
        "ycsa_conform.checks.measure.MeasureCheck",
        "run",
        'KeyError("injected")',
    )

    result = pytester.runpytest("--profile", "smart-pole", *SELECTION)

    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.assert_outcomes(passed=1, errors=1)
    report, html, journal = reports(pytester)
    verdicts = {r["requirement"]: (r["verdict"], r["reason"]) for r in report["results"]}
    assert verdicts["SP-LOAD-001"][0] == "pass"
    assert verdicts["SP-PWR-001"][0] == "error"
    assert "internal error KeyError: 'injected'" in verdicts["SP-PWR-001"][1]
    (incident,) = report["incidents"]
    assert incident == {
        "stage": "check",
        "cause": "KeyError: 'injected'",
        "where": "smart-pole::SP-PWR-001[P001]",
    }
    assert report["conclusion"]["status"] == "fails"
    assert "KeyError: &#39;injected&#39;" in html
    assert {"type": "incident", **incident} in journal


def test_failing_traffic_accounting_leaves_out_the_traffic_only(
    pytester: pytest.Pytester,
) -> None:
    # The shape of the crash that used to lose the report: the coalescing count of a device
    # whose map lacks a point the run polls.
    inject(
        pytester,
        "ycsa_conform.run.AcceptanceRun",
        "traffic",
        "ValueError(\"device map 'acme/lc' has no point 'lamp_on'\")",
    )

    result = pytester.runpytest("--profile", "smart-pole", *SELECTION)

    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.assert_outcomes(passed=2)
    report, html, _ = reports(pytester)
    assert "traffic" not in report
    assert report["summary"]["pass"] == 2
    assert report["incidents"] == [
        {
            "stage": "traffic accounting",
            "cause": "ValueError: device map 'acme/lc' has no point 'lamp_on'",
            "where": "",
        }
    ]
    assert report["conclusion"]["en"] == (
        f"Partial: 2 of {SMART_POLE} requirements run; no conclusion on the whole; "
        "not accepted: 1 session incident(s) (traffic accounting)"
    )
    assert "traffic accounting" in html
    result.stdout.fnmatch_lines(
        ["  traffic accounting: ValueError: device map 'acme/lc' has no point 'lamp_on'"]
    )
    assert "Conforms" not in result.stdout.str()


def test_a_failing_html_template_gives_a_plain_report_html(pytester: pytest.Pytester) -> None:
    inject(
        pytester,
        "ycsa_conform.report.native",
        "render_html",
        'TypeError("injected: template failed")',
    )

    result = pytester.runpytest("--profile", "smart-pole", *SELECTION)

    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    report, html, journal = reports(pytester)
    assert report["summary"]["pass"] == 2
    incident = {
        "stage": "report.html",
        "cause": "TypeError: injected: template failed",
        "where": "templates/report.html.j2",
    }
    assert report["incidents"] == [incident]
    assert "plain form of the report" in html
    assert "TypeError: injected: template failed" in html
    assert "SP-PWR-001" in html
    assert journal[-1] == {"type": "incident", **incident}


def test_a_failing_report_section_is_left_out_of_report_json(pytester: pytest.Pytester) -> None:
    inject(
        pytester,
        "ycsa_conform.report.native",
        "subsystems",
        'ZeroDivisionError("injected")',
    )

    result = pytester.runpytest("--profile", "smart-pole", *SELECTION)

    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    report, html, _ = reports(pytester)
    assert "subsystems" not in report
    assert report["incidents"] == [
        {"stage": "report.json", "cause": "ZeroDivisionError: injected", "where": "$.subsystems"}
    ]
    assert "ZeroDivisionError: injected" in html


def test_a_failing_journal_loses_no_result(pytester: pytest.Pytester) -> None:
    inject(
        pytester,
        "ycsa_conform.report.journal.Journal",
        "write",
        'OSError(28, "No space left on device")',
    )

    result = pytester.runpytest("--profile", "smart-pole", *SELECTION)

    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    report, _, _ = reports(pytester)
    assert report["summary"]["pass"] == 2
    assert [i["stage"] for i in report["incidents"]] == ["journal", "journal"]
    assert report["incidents"][0]["cause"] == "OSError: [Errno 28] No space left on device"


def test_a_report_folder_that_cannot_be_written_is_said_on_the_terminal(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    # A folder option naming a file is refused before the run (test_bad_input); here the file
    # takes the folder's place once the run has started, as another program could.
    blocked = tmp_path / "a-file"
    pytester.makeconftest(
        f"""
        def pytest_collection_finish(session):
            open({str(blocked)!r}, "w").write("not a folder")
        """
    )

    result = pytester.runpytest(
        "--profile", "smart-pole", *SELECTION, "--report-dir", str(blocked / "reports")
    )

    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(
        [
            "  journal: *Error: *",
            "  report writing: *Error: *",
            f"report: NOT written to {blocked / 'reports'} (see the incidents above)*",
        ]
    )
