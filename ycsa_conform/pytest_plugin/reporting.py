"""Results as they arrive: the journal, then report.json / report.html and a terminal summary.

Results travel in `report.user_properties`, so the same code collects them in a plain run and
in a pytest-xdist controller. Workers write nothing.
"""

from __future__ import annotations

import pytest

from ycsa_conform.report import Journal, conclude, summarize, write_reports
from ycsa_conform.result import Result, Verdict

from .collection import RESULT_PROPERTY
from .state import STATE, State, is_worker

__all__ = ["Reporter", "pytest_configure"]

JOURNAL_NAME = "journal.jsonl"


class Reporter:
    """Registered per run when profiles are given; owns the journal and the final reports."""

    def __init__(self, config: pytest.Config, state: State) -> None:
        self.config = config
        self.state = state
        self.journal: Journal | None = None
        self.paths: tuple[str, str] | None = None

    def pytest_sessionstart(self) -> None:
        self.journal = Journal.open(self.state.report_dir / JOURNAL_NAME, self.state.info)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "teardown":
            return
        for name, value in report.user_properties:
            if name == RESULT_PROPERTY and isinstance(value, dict):
                result = Result.from_dict(value)
                self.state.results.append(result)
                if self.journal is not None:
                    self.journal.write(result)

    def pytest_sessionfinish(self) -> None:
        if self.journal is not None:
            self.journal.close()
        # Under xdist the devices were read in the workers, so the controller has no traffic.
        traffic = None if self.config.getoption("numprocesses", None) else self.state.traffic()
        paths = write_reports(
            self.state.report_dir, self.state.info, self.state.results, traffic=traffic
        )
        self.paths = (str(paths.json), str(paths.html))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tr = terminalreporter
        results = self.state.results
        summary = summarize(results)
        tr.section("ycsa-conform acceptance")
        pending = [r for r in results if r.verdict is Verdict.PENDING]
        if pending:
            tr.write_line(
                f"PENDING: {len(pending)} requirement(s) wait for evidence "
                "(--strict-acceptance makes them fail):",
                yellow=True,
                bold=True,
            )
            for r in pending:
                tr.write_line(f"  {r.requirement}[{r.target}] {r.reason}", yellow=True)
        marginal = [r for r in results if r.verdict is Verdict.MARGINAL]
        for r in marginal:
            tr.write_line(f"MARGINAL {r.requirement}[{r.target}] {r.reason}", yellow=True)
        counts = ", ".join(f"{v} {k}" for k, v in summary.items() if k != "total" and v)
        conclusion = conclude(summary, strict_acceptance=self.state.strict)
        tr.write_line(f"{summary['total']} results: {counts or 'none'}")
        tr.write_line(
            f"{conclusion.en} / {conclusion.zh}",
            green=conclusion.conforms,
            red=not conclusion.conforms,
            bold=True,
        )
        devices = self.state.run.traffic()
        if devices:
            observed = sum(int(str(d["observations"])) for d in devices)
            probes = sum(int(str(d.get("probes", 0))) for d in devices)
            sent = sum(int(str(d["transactions"])) for d in devices) - observed - probes
            asked = sum(int(str(d["point_reads"])) for d in devices)
            least = sum(int(str(d["minimum"])) for d in devices)
            tr.write_line(
                f"device traffic: {sent} requests for {asked} point reads "
                f"(coalesced minimum {least}), {probes} protocol probe(s), "
                f"{observed} MQTT observation(s)"
                + (" - replayed, no device contacted" if self.state.replay else "")
            )
        if self.state.recorder is not None:
            tr.write_line(f"recording: {self.state.recorder.path}")
        if self.paths:
            tr.write_line(f"report: {self.paths[0]}")
            tr.write_line(f"        {self.paths[1]}")


def pytest_configure(config: pytest.Config) -> None:
    # Runs after collection.pytest_configure (registered first), which builds the state.
    state = config.stash.get(STATE, None)
    if state is None or is_worker(config):
        return
    config.pluginmanager.register(Reporter(config, state), "ycsa_conform.reporter")
