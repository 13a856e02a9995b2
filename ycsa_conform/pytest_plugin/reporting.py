"""Results as they arrive: the journal, then report.json / report.html and a terminal summary.

Results travel in `report.user_properties`, so the same code collects them in a plain run and
in a pytest-xdist controller. Workers write nothing (they hand back their device traffic).

Each run has its own folder (`report.folder`), made with the first result or incident: `--co`
and a run that decides nothing leave the last report as it was. The report states its scope:
every requirement × target the profiles hold for the site, those this run selected (after
-k, -m, --lf, node ids) and, for the rest, why they were not run; a partial run concludes
nothing on the whole. `--resume` continues the latest run's folder and journal.

Nothing escapes these hooks: whatever a device, a map or a check does, each stage (the
journal, collection, traffic accounting, the reports) is guarded; what fails is an incident,
kept in `State.incidents`, written to the journal and both reports, said on the terminal, and
the exit status is not 0. A run with an incident is not accepted.

Allure and JUnit get what CI views show: with ``--alluredir`` each requirement item's title,
description and real timing are set in its teardown (`pytest_runtest_teardown`), and the
controller writes ``environment.properties`` and ``categories.json``; with ``--junitxml`` a
test case is named with its requirement's title, and the file stays xunit2-valid (see
`Reporter.junit`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from _pytest.junitxml import LogXML, xml_key

from ycsa_conform.report import Journal, summarize, write_reports
from ycsa_conform.report.folder import new_run, point_latest, publish
from ycsa_conform.report.journal import JOURNAL_NAME, resume_note, run_from_dict
from ycsa_conform.report.native import (
    Conclusion,
    ReportPaths,
    conclude,
    timestamp,
    untested_cause,
)
from ycsa_conform.report.scope import Planned, Scope, scope_summary
from ycsa_conform.result import Incident, Result, RunInfo, Verdict
from ycsa_conform.site import security_notes

from .collection import INCIDENT_PROPERTY, RESULT_PROPERTY, RequirementItem
from .distribution import WORKER_TRAFFIC, sum_traffic
from .state import STATE, Key, State, is_worker

__all__ = ["Reporter", "pytest_configure", "pytest_runtest_teardown"]

_OUR_PROPERTIES = (RESULT_PROPERTY, INCIDENT_PROPERTY)


T = TypeVar("T")


class Reporter:
    """Registered per run when profiles are given; owns the journal and the final reports."""

    def __init__(self, config: pytest.Config, state: State) -> None:
        self.config = config
        self.state = state
        self.journal: Journal | None = None
        self.journal_failed = False  # opening it failed once: not tried again
        self.run_dir: Path | None = None  # this run's folder, once made (or the resumed one's)
        self.paths: ReportPaths | None = None
        self.devices: list[dict[str, object]] = []
        # `--co` lists the items and writes nothing: the last run's reports stay as they are.
        self.collect_only = bool(config.getoption("collectonly", False))
        # The node ids selected to run, once collection (or, under xdist, a worker's) is done.
        self.selected: set[str] | None = None
        self._planned: list[Planned] | None = None
        self.worker_traffic: list[dict[str, Any]] = []
        self.scope: Scope | None = None
        self.decided_nothing = False
        # --resume: the run continued, its results (kept, never decided again) and incidents.
        resumed = state.resumed
        self.prior: dict[Key, Result] = dict(state.reused)
        self.prior_incidents = list(resumed.journal.incidents) if resumed else []
        self.run_info: RunInfo = run_from_dict(resumed.journal.run) if resumed else state.info

    # -- incidents ----------------------------------------------------------------------------

    def incident(self, incident: Incident) -> None:
        self.state.incidents.append(incident)
        journal = self._journal()
        if journal is not None and not journal.closed:
            try:
                journal.incident(incident)
            except Exception:  # losing the journal loses no incident: the reports hold them
                self.journal = None
                self.journal_failed = True

    def _journal(self) -> Journal | None:
        """The journal, opened (with this run's folder) when the run first has something to
        record; None when it cannot be (an incident says why)."""
        if self.journal is not None or self.journal_failed or self.collect_only:
            return self.journal
        self.journal_failed = True  # an incident while opening must not open it again
        self.journal = self.guarded("journal", self._open_journal, where=str(self._where()))
        self.journal_failed = self.journal is None
        return self.journal

    def _where(self) -> Path:
        return (self.run_dir or self.state.report_dir) / JOURNAL_NAME

    def _open_journal(self) -> Journal:
        resumed = self.state.resumed
        if resumed is not None:
            self.run_dir = resumed.folder
            journal = Journal.resume(
                resumed.journal.path, started=self.state.info.started, reused=len(self.prior)
            )
        else:
            self.run_dir = new_run(self.state.report_dir)
            point_latest(self.state.report_dir, self.run_dir)
            journal = Journal.open(self.run_dir / JOURNAL_NAME, self.state.info)
        planned = self.planned()
        if planned is not None:
            journal.plan(planned)
        return journal

    # -- scope --------------------------------------------------------------------------------

    def planned(self) -> list[Planned] | None:
        """Every requirement × target the profiles hold for the site, in profile order, each
        with the reason it was not selected; None before the selection is known, or when the
        cases cannot be listed (an incident: a report without a scope is not partial, but the
        incident keeps it from being accepted)."""
        if self.selected is None or self._planned is not None:
            return self._planned
        try:
            self._planned = self._plan(self.selected)
        except Exception as exc:
            self.selected = None  # the scope is not known; and no second try from incident()
            incident = Incident.from_exception("collection", exc, where="scope")
            if all(i.cause != incident.cause for i in self.state.incidents):
                self.incident(incident)  # (a failed collection has said it already)
        return self._planned

    def _plan(self, selected: set[str]) -> list[Planned]:
        reason = _not_selected_reason(self.config)
        return [
            Planned(
                profile=case.profile.id,
                requirement=case.requirement.id,
                target=case.target.id,
                title=dict(case.requirement.title),
                area=case.requirement.area.value,
                level=case.requirement.level.value,
                reason="" if f"{case.profile.id}::{case.name}" in selected else reason,
            )
            for case in self.state.run.cases()
        ]

    def _selection_known(self, nodeids: set[str]) -> None:
        if self.selected is not None:
            return
        self.selected = nodeids
        if self.journal is not None:  # opened by an incident, or resumed
            planned = self.planned()
            if planned is not None:
                self.guarded("journal", partial(self.journal.plan, planned))
        elif self.state.resumed is not None:
            self._journal()

    def guarded(self, stage: str, step: Callable[[], T], *, where: str = "") -> T | None:
        """`step()`, or None after recording what it raised as an incident of `stage`."""
        try:
            return step()
        except Exception as exc:
            self.incident(Incident.from_exception(stage, exc, where=where))
            return None

    # -- hooks --------------------------------------------------------------------------------

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not self.collect_only and not self.config.getoption("numprocesses", None):
            self._selection_known({item.nodeid for item in session.items})

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Every worker collects and selects the same items; the first to finish says which.
        self._selection_known(set(ids))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        traffic = getattr(node, "workeroutput", {}).get(WORKER_TRAFFIC)
        if not isinstance(traffic, dict):
            return
        if "incident" in traffic:
            self.incident(Incident.from_dict(traffic["incident"]))
        else:
            self.worker_traffic.append(traffic)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.incident(Incident(stage="collection", cause=_cause(report), where=report.nodeid))

    def pytest_internalerror(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        self.incident(Incident.from_exception("session", excinfo.value))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self._collect(report)
        # After collecting, as `junit` may take our properties off the report; tryfirst,
        # so that it comes before the JUnit writer reads the report.
        xml = self.config.stash.get(xml_key, None)
        if xml is not None:
            self.guarded("junit", partial(self.junit, xml, report), where=report.nodeid)

    def _collect(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if not isinstance(value, dict):
                continue
            if name == INCIDENT_PROPERTY:
                self.guarded("check", partial(self._incident_from, value), where=report.nodeid)
            elif name == RESULT_PROPERTY:
                result = self.guarded("results", partial(Result.from_dict, value))
                if result is None:
                    continue
                if (result.profile, result.requirement, result.target) in self.prior:
                    continue  # --resume: journalled and counted already
                self.state.results.append(result)
                journal = self._journal()
                if journal is not None:
                    self.guarded("journal", partial(journal.write, result))

    @staticmethod
    def junit(xml: LogXML, report: pytest.TestReport) -> None:
        """A requirement's test case is named `SP-PWR-008[P001] Luminaire power factor at full
        output`; its result, which travels as a user property, is written as JSON, and only
        where the family allows properties in a test case: xunit2 (pytest's default, the
        Jenkins junit-10.xsd) does not, so there the suite's `ycsa_run` property holds the run
        and report.json every result."""
        ours = [(n, v) for n, v in report.user_properties if n in _OUR_PROPERTIES]
        if not ours:
            return
        if report.when == "setup":
            result = next(
                (v for n, v in ours if n == RESULT_PROPERTY and isinstance(v, dict)), None
            )
            title = (result or {}).get("title", {}).get("en") or (result or {}).get(
                "title", {}
            ).get("zh")
            if title:
                name = report.nodeid.rsplit("::", 1)[-1]
                xml.node_reporter(report).add_attribute("name", f"{name} {title}")
        elif report.when == "teardown":
            # A new list: the item's own stays as it is for the other readers.
            others = [(n, v) for n, v in report.user_properties if n not in _OUR_PROPERTIES]
            if xml.family == "xunit2":
                report.user_properties = others
            else:
                encoded = [(n, json.dumps(v, ensure_ascii=False)) for n, v in ours]
                report.user_properties = [*others, *encoded]

    def _incident_from(self, data: dict[str, Any]) -> None:
        self.incident(Incident.from_dict(data))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # tryfirst: the exit status is settled here, before other plugins read it.
        if self.collect_only:
            return
        if not self.state.results and not self.state.incidents and self.state.resumed is None:
            # Nothing decided (all deselected, or stopped before the first result): the last
            # run's report stays as it was, and no run folder is made.
            self.decided_nothing = True
            return
        traffic: dict[str, Any] | None
        if self.config.getoption("numprocesses", None):
            # Under xdist the devices were read in the workers, which handed their traffic back.
            traffic = sum_traffic(self.worker_traffic) if self.worker_traffic else None
        else:
            traffic = self.guarded("traffic accounting", self.state.traffic)
        devices = traffic.get("devices") if traffic else None
        self.devices = devices if isinstance(devices, list) else []
        finished = timestamp()
        stopped = _stopped(session)
        planned = self.planned()
        if planned is not None:
            self.scope = Scope(
                planned=tuple(planned), stopped=stopped, ended=True, notes=self._notes()
            )
        journal = self._journal()
        if journal is not None:
            self.guarded(
                "journal", partial(journal.end, finished=finished, stopped=stopped, traffic=traffic)
            )
        run_dir = self.run_dir or self.state.report_dir
        self.paths = self.guarded(
            "report writing",
            lambda: write_reports(
                run_dir,
                self.run_info,
                [*self.prior.values(), *self.state.results],
                finished=finished,
                traffic=traffic,
                incidents=(*self.prior_incidents, *self.state.incidents),
                scope=self.scope,
                lang=self.config.getoption("ycsa_report_lang"),
            ),
            where=str(run_dir),
        )
        if self.paths is not None:
            for incident in self.paths.incidents:
                self.incident(incident)
            if self.run_dir is not None:
                self.guarded(
                    "report writing",
                    partial(
                        publish,
                        self.state.report_dir,
                        self.run_dir,
                        lang=self.config.getoption("ycsa_report_lang"),
                    ),
                    where=str(self.state.report_dir),
                )
        self.guarded("allure", self._allure_files)
        xml = self.config.stash.get(xml_key, None)
        if xml is not None:
            self.guarded("junit", partial(self._junit_run, xml))
        if self.journal is not None:
            self.guarded("journal", self.journal.close)
        if self.state.incidents and session.exitstatus in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
            pytest.ExitCode.NO_TESTS_COLLECTED,
        ):
            # The tool itself failed somewhere: say so in the exit status, whatever the tests.
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def _conclusion(self) -> Conclusion:
        """The report's conclusion, or (no report written) one drawn the same way."""
        if self.paths is not None and self.paths.conclusion is not None:
            return self.paths.conclusion
        results = [*self.prior.values(), *self.state.results]
        return conclude(
            results,
            strict_acceptance=self.state.strict,
            incidents=self.state.incidents,
            scope=scope_summary(self.scope, results) if self.scope is not None else None,
        )

    def _allure_files(self) -> None:
        """environment.properties and categories.json, for the Allure report's panels."""
        from ycsa_conform.report import allure

        directory = allure.alluredir(self.config)
        if directory is None:
            return
        conclusion = self._conclusion()
        extra = [("conclusion", f"{conclusion.status}: {conclusion.en}")]
        if self.paths is not None:
            extra.append(("report", str(self.paths.json.resolve())))
        if self.state.recorder is not None:
            extra.append(("recorded", str(self.state.recorder.directory.resolve())))
        if self.state.replay is not None:
            extra.append(("replayed", str(self.state.replay.directory.resolve())))
        allure.write_environment(directory, self.state.info, extra=extra)
        allure.write_categories(directory)
        info = self.state.info
        allure.write_allurerc(
            directory, name=f"{info.site_title or info.site_id} — acceptance / 验收"
        )

    def _junit_run(self, xml: LogXML) -> None:
        """The suite's `ycsa_run` property: the run, its conclusion and summary, as JSON."""
        info, conclusion = self.state.info, self._conclusion()
        run = {
            "tool": {"name": "ycsa-conform", "version": info.tool_version},
            "profiles": [
                {"id": p.id, "version": p.version, "sha256": p.sha256} for p in info.profiles
            ],
            "site": {"id": info.site_id, "kind": info.site_kind},
            "conclusion": {"status": conclusion.status, "en": conclusion.en, "zh": conclusion.zh},
            "summary": summarize(self.state.results),
            "report": str(self.paths.json.resolve()) if self.paths is not None else None,
        }
        xml.add_global_property("ycsa_run", json.dumps(run, ensure_ascii=False))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tr = terminalreporter
        tr.section("ycsa-conform acceptance")
        if self.collect_only:
            tr.write_line("collect only: no report written (the last one is left as it was)")
            return
        if self.decided_nothing:
            tr.write_line("nothing decided: no report written (the last one is left as it was)")
            return
        results = [*self.prior.values(), *self.state.results]
        if self.prior:
            tr.write_line(
                f"RESUMED {self.run_dir}: {len(self.prior)} result(s) kept from its journal "
                "(the devices were not asked again), "
                f"{len(self.state.results)} decided now",
                bold=True,
            )
        scope = scope_summary(self.scope, results) if self.scope is not None else None
        if self.scope is not None and scope is not None and scope["partial"]:
            decided = {(r.profile, r.requirement, r.target) for r in results}
            not_run = Counter(
                self.scope.not_run_reason(p) for p in self.scope.planned if p.key not in decided
            )
            tr.write_line(
                f"PARTIAL: {scope['decided']} of {scope['requirements']} requirement(s) decided; "
                f"{scope['requirements'] - scope['decided']} not run:",
                yellow=True,
                bold=True,
            )
            for why, count in not_run.items():
                tr.write_line(f"  {count} {why}", yellow=True)
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
        untested = [r for r in results if r.untested]
        if untested:
            mandatory = sum(r.level == "mandatory" for r in untested)
            tr.write_line(
                f"NOT TESTED: {len(untested)} requirement(s) apply but were not tested, "
                f"{mandatory} of them mandatory (--strict-acceptance makes those fail):",
                yellow=True,
                bold=True,
            )
            for r in untested:
                cause = untested_cause(r)[0]
                tr.write_line(
                    f"  {r.requirement}[{r.target}] ({r.level}, {cause}) {r.reason}", yellow=True
                )
        marginal = [r for r in results if r.verdict is Verdict.MARGINAL]
        for r in marginal:
            tr.write_line(f"MARGINAL {r.requirement}[{r.target}] {r.reason}", yellow=True)
        if self.state.incidents:
            tr.write_line(
                f"INCIDENTS: {len(self.state.incidents)} stage(s) of the session failed; the "
                "reports are written without what failed, and the run is not accepted:",
                red=True,
                bold=True,
            )
            for incident in self.state.incidents:
                where = f" ({incident.where})" if incident.where else ""
                tr.write_line(f"  {incident.stage}: {incident.cause}{where}", red=True)
        summary = summarize(results)
        counts = ", ".join(
            f"{v} {k}" for k, v in summary.items() if k not in ("total", "untested") and v
        )
        if summary["untested"]:
            counts += f" ({summary['untested']} of them not tested)"
        conclusion = self._conclusion()
        tr.write_line(f"{summary['total']} results: {counts or 'none'}")
        tr.write_line(
            f"{conclusion.en} / {conclusion.zh}",
            green=conclusion.conforms,
            red=not conclusion.conforms,
            bold=True,
        )
        if self.devices:
            tr.write_line(_traffic_line(self.devices, replayed=self.state.replay is not None))
        if self.state.recorder is not None:
            tr.write_line(f"recording: {self.state.recorder.path}")
        if self.paths is not None:
            # Absolute: the run may have been started in a temporary folder (the README's
            # main job) or another one than the engineer's shell is in now.
            tr.write_line(f"report: {self.paths.json.resolve()}")
            tr.write_line(f"        {self.paths.html.resolve()}")
        else:
            tr.write_line(
                f"report: NOT written to {self.run_dir or self.state.report_dir} (see the "
                f"incidents above); the journal {self._where()} holds the results",
                red=True,
            )

    def _notes(self) -> tuple[str, ...]:
        """How devices were reached where a reader must know it (TLS verification off, a login
        over plain MQTT, a secret file open to others); then one note per session that resumed
        the run, this one last (as the journal says)."""
        security = () if self.state.replay is not None else security_notes(self.state.site)
        resumed = self.state.resumed
        if resumed is None:
            return security
        earlier = [resume_note(s.started, s.reused) for s in resumed.journal.sessions if s.resumed]
        return (*security, *earlier, resume_note(self.state.info.started, len(self.prior)))


def _not_selected_reason(config: pytest.Config) -> str:
    """Why the run did not select a requirement item, from the options that select."""
    given = []
    keyword = config.getoption("keyword", "")
    if keyword:
        given.append(f"-k {keyword!r}")
    markexpr = config.getoption("markexpr", "")
    if markexpr:
        given.append(f"-m {markexpr!r}")
    if config.getoption("deselect", None):
        given.append("--deselect")
    if config.getoption("lf", False):
        given.append("--lf (not among the last run's failures)")
    if config.getoption("stepwise", False):
        given.append("--stepwise")
    # (Test paths and node ids on the command line do not select requirement items: they are
    # made from the profiles whatever the paths, and `PROFILE::REQ[TARGET]` is no file.)
    return f"deselected with {', '.join(given)}" if given else "not selected"


def _stopped(session: pytest.Session) -> str:
    """Why selected items may have been left undecided, "" when the session ran them all."""
    if session.shouldfail:
        return f"not run: the session stopped early ({session.shouldfail}; -x / --maxfail)"
    if session.shouldstop:
        return f"not run: the session stopped early ({session.shouldstop})"
    if session.exitstatus == pytest.ExitCode.INTERRUPTED:
        return "not run: interrupted (Ctrl-C)"
    return ""


def _traffic_line(devices: list[dict[str, object]], *, replayed: bool) -> str:
    observed = sum(int(str(d["observations"])) for d in devices)
    probes = sum(int(str(d.get("probes", 0))) for d in devices)
    sent = sum(int(str(d["transactions"])) for d in devices) - observed - probes
    asked = sum(int(str(d["point_reads"])) for d in devices)
    least = sum(int(str(d["minimum"])) for d in devices)
    return (
        f"device traffic: {sent} requests for {asked} point reads "
        f"(coalesced minimum {least}), {probes} protocol probe(s), "
        f"{observed} MQTT observation(s)" + (" - replayed, no device contacted" if replayed else "")
    )


def _cause(report: pytest.CollectReport) -> str:
    """The one line that says why a collector failed: its crash message, else its last line."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return " ".join(str(crash.message).split())
    lines = [line.strip() for line in report.longreprtext.splitlines() if line.strip()]
    return lines[-1] if lines else "collection failed"


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Allure's title, description and timing of a requirement item (in every process: under
    pytest-xdist the workers write the Allure results)."""
    if not isinstance(item, RequirementItem) or item.result is None:
        return
    from ycsa_conform.report.allure import alluredir, finish

    if alluredir(item.config) is None:
        return
    title = item.case.profile.title
    profile_title = " / ".join(t for t in (title.get("en"), title.get("zh")) if t)
    finish(item.config, item.result, profile_title=profile_title or item.case.profile.id)


def pytest_configure(config: pytest.Config) -> None:
    # Runs after collection.pytest_configure (registered first), which builds the state.
    state = config.stash.get(STATE, None)
    if state is None or is_worker(config):
        return
    config.pluginmanager.register(Reporter(config, state), "ycsa_conform.reporter")
