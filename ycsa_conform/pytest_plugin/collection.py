"""Profiles become pytest items: one per requirement × target, id `PROFILE::REQ[TARGET]`."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from _pytest._code.code import ReprFileLocation, TerminalRepr
from _pytest._io import TerminalWriter

from ycsa_conform.executor import BENCH_FLEET_CONCURRENCY, DEFAULT_CONCURRENCY, Executor
from ycsa_conform.pace import Pace
from ycsa_conform.result import Incident, Result, Verdict
from ycsa_conform.run import AcceptanceRun, Case
from ycsa_conform.site import security_notes
from ycsa_conform.transport.recording import deciding

from . import distribution
from .boundary import guarded
from .options import PROFILE_TAKEN
from .progress import LiveProgress
from .state import STATE, State, build_state, is_worker

__all__ = ["ProfileCollector", "RequirementItem"]

RESULT_PROPERTY = "ycsa_result"
PROGRESS = pytest.StashKey[LiveProgress]()
# An Incident.as_dict() of a check that raised (reporting.Reporter collects it).
INCIDENT_PROPERTY = "ycsa_incident"


class RequirementFailed(AssertionError):
    """The requirement is not met (verdict fail). An AssertionError, so that Allure and other
    reporters count it as a failed test, not a broken one."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.reason)
        self.result = result


class RequirementUndecided(Exception):
    """The requirement could not be decided (verdict error): raised in setup, so pytest reports
    an ERROR and Allure a broken test."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.reason)
        self.result = result


class ResultRepr(TerminalRepr):
    """A failed requirement as the user wants to read it: the reason, then the measurements."""

    def __init__(self, result: Result, where: tuple[str, int]) -> None:
        self.result = result
        # What pytest's short summary shows after the node id (and --tb=line): the reason.
        self.reprcrash = ReprFileLocation(where[0], where[1], result.reason)

    def toterminal(self, tw: TerminalWriter) -> None:
        tw.line(self.result.reason, red=True, bold=True)
        for m in self.result.measurements:
            source = f"  [{m.source.device} via {m.source.scheme}]" if m.source else ""
            value = f"{m.value} {m.unit}".strip()
            tw.line(f"  {m.verdict.value:<8} {m.name} = {value}   limit {m.limit}{source}")


class RequirementItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.result: Result | None = None
        self.add_marker("ycsa")
        self.add_marker(case.requirement.level.value)
        self.add_marker(case.requirement.area.value.replace("-", "_"))
        if decidable(self.config.stash[STATE].run, case):
            self.add_marker("decidable")

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.case.profile.id, self.case.requirement.id, self.case.target.id)

    def setup(self) -> None:
        # The check runs in setup so that "could not decide" is reported by pytest as an ERROR,
        # distinct from a FAIL: pytest reports exceptions raised in setup as errors.
        state = self.config.stash[STATE]
        try:
            # --resume: a result decided before the interruption is reported as journalled;
            # its devices are not asked again.
            result = state.reused.get(self.key) or self._decide(state)
        except Exception as exc:
            # A bug, not a device problem: keep the result (verdict error), show the traceback.
            result = state.run.crashed(self.case, exc, nodeid=self.nodeid)
            self.result = result
            self.user_properties.append((RESULT_PROPERTY, result.as_dict()))
            incident = Incident.from_exception("check", exc, where=self.nodeid)
            self.user_properties.append((INCIDENT_PROPERTY, incident.as_dict()))
            raise
        self.result = result
        self.user_properties.append((RESULT_PROPERTY, result.as_dict()))
        from ycsa_conform.report.allure import annotate, attach_traffic

        annotate(result, profile_title=self.case.profile.title.get("en", self.case.profile.id))
        if state.recorder is not None:
            attach_traffic(state.recorder.lines_for(self.nodeid))
        elif state.replay is not None:
            attach_traffic(state.replay.lines_for(self.nodeid), replayed=True)
        if result.verdict is Verdict.ERROR:
            raise RequirementUndecided(result)
        # Strict acceptance fails a mandatory requirement that applies but was not tested.
        strict_untested = state.strict and result.untested and result.level == "mandatory"
        if result.verdict is Verdict.NOT_APPLICABLE and not strict_untested:
            pytest.skip(result.reason)
        if result.verdict is Verdict.PENDING and not state.strict:
            pytest.skip(f"PENDING {result.reason}")

    def _decide(self, state: State) -> Result:
        executor = state.executor
        if executor is not None and is_worker(self.config) and self.nodeid not in executor:
            # A worker's executor takes the items as the controller hands them over: this
            # one and those queued behind it, once per batch.
            handed = [self.session.items[i] for i in distribution.handed(self.config)]
            batch = [
                i
                for i in (self, *handed)
                if isinstance(i, RequirementItem) and i.key not in state.reused
            ]
            executor.add([(i.case, i.nodeid) for i in batch])
        if state.executor is not None and self.nodeid in state.executor:
            live = self.config.stash.get(PROGRESS, None)
            if live is None:
                return state.executor.result(self.nodeid)
            live.begin()
            return state.executor.result(self.nodeid, tick=live.tick)
        with deciding(self.nodeid):
            return state.run.decide(self.case, nodeid=self.nodeid)

    def runtest(self) -> None:
        assert self.result is not None
        if self.result.verdict in (Verdict.FAIL, Verdict.PENDING) or self.result.untested:
            raise RequirementFailed(self.result)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, RequirementFailed | RequirementUndecided):
            return ResultRepr(excinfo.value.result, self._where)
        return super().repr_failure(excinfo)

    def _repr_failure_py(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> TerminalRepr:
        # pytest renders setup errors through this private method, not repr_failure; an
        # undecided requirement is a reason, not a traceback.
        if isinstance(excinfo.value, RequirementUndecided):
            return ResultRepr(excinfo.value.result, self._where)
        return super()._repr_failure_py(excinfo, style)

    @property
    def _where(self) -> tuple[str, int]:
        return str(self.case.requirement.path), self.case.requirement.line

    def reportinfo(self) -> tuple[Any, int | None, str]:
        requirement = self.case.requirement
        title = requirement.title.get("en", "")
        # pytest heads a failure's section with this: the same requirement fails on several
        # targets of a road, and a run may hold several profiles, so it names all three.
        head = f"{requirement.id} [{self.case.target.id}] {title} ({self.case.profile.id})"
        # The file that defines the requirement: a base's, for one inherited through `extends`.
        return requirement.path, requirement.line - 1, head


class ProfileCollector(pytest.Collector):
    def __init__(self, *, state: State, profile_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.profile_id = profile_id

    def collect(self) -> Iterator[RequirementItem]:
        for case in self.state.run.cases():
            if case.profile.id == self.profile_id:
                # An explicit nodeid, so pytest parses "[P001]" as the parameter part, as it
                # does for the ids it stores for --lf; built from `name` it would not match.
                yield RequirementItem.from_parent(
                    self, name=case.name, nodeid=f"{self.nodeid}::{case.name}", case=case
                )


MARKERS = {
    "ycsa": "a ycsa-conform requirement item",
    "mandatory": "a mandatory requirement",
    "recommended": "a recommended requirement",
    "optional": "an optional requirement",
    "mounting_load": "a requirement of the mounting-load area",
    "power": "a requirement of the power area",
    "lighting": "a requirement of the lighting area",
    "data_interface": "a requirement of the data-interface area",
    "general": "a general requirement (inventory, documents)",
    "decidable": "the site's devices can decide it: the target has every device role its "
    "check uses, and their maps every point, topic and command it asks for (docs/contract.md)",
}


def decidable(run: AcceptanceRun, case: Case) -> bool:
    """True when nothing the site's devices lack keeps `case` from being decided."""
    roles = all(role in case.target.devices for role in case.requirement.check.needs())
    return roles and (case.profile.id, case.requirement.id, case.target.id) not in run.gaps


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    if not config.getoption("ycsa_profiles"):
        return
    concurrency = config.getoption("ycsa_concurrency")
    if concurrency is not None and concurrency < 1:
        raise pytest.UsageError(
            f"--concurrency {concurrency}: give 1 or more (1 decides one requirement at a time)"
        )
    with guarded(config, "loading the profiles, the site and its files"):
        state = build_state(config)
    config.stash[STATE] = state
    config.add_cleanup(state.close)
    if config.args_source is not pytest.Config.ArgsSource.ARGS:
        # `pytest --profile X` runs the profile only; unrelated tests of the current directory
        # (or of `testpaths`) are collected only when paths are given explicitly.
        config.args[:] = []


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    if config.stash.get(PROFILE_TAKEN, False):
        lines.append(
            "ycsa-conform: --profile belongs to another plugin here (pytest-profiling?); "
            "use --ycsa-profile NAME"
        )
    state = config.stash.get(STATE, None)
    if state is not None:
        profiles = ", ".join(f"{p.id} {p.version}" for p in state.profiles)
        where = f"{state.bench.name} bench {state.bench.endpoints}" if state.bench else ""
        where = where or str(state.site.path)
        if state.bench is not None and len(state.bench.poles) > 1:
            where = f"bench of {len(state.bench.poles)} poles, P001 at {state.bench.endpoints}"
        if state.replay is not None:
            where = f"replayed from {state.replay.directory}, no devices contacted"
        lines.append(
            f"ycsa-conform: profiles {profiles}; site {state.site.id} ({state.site.kind}, {where})"
        )
        if state.info.bench_faults:
            lines.append(f"ycsa-conform: bench faults {', '.join(state.info.bench_faults)}")
        if state.recorder is not None:
            lines.append(f"ycsa-conform: recording device traffic to {state.recorder.path}")
        if state.replay is None:
            lines.extend(f"ycsa-conform: security: {note}" for note in security_notes(state.site))
    return lines


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    # tryfirst: our items must be in the list before -k / -m deselection and --lf filtering.
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    for profile in state.profiles:
        collector = ProfileCollector.from_parent(
            session, name=profile.id, nodeid=profile.id, state=state, profile_id=profile.id
        )
        items.extend(i for i in session.genitems(collector) if isinstance(i, pytest.Item))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Plan to decide the items that will run (after -k, -m and --lf have chosen them) at the
    same time, so that their observation windows overlap; each item waits for its own result.
    The executor starts with the first requirement item, so tests of your own that run before
    the profile's items (a `ycsa_device` that sets a state) have done so."""
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None or config.option.collectonly:
        return
    given = config.getoption("ycsa_concurrency")
    # The bench's broker is our own: a fleet may hold more sessions than a field broker.
    fleet = distribution.on_bench_fleet(config)
    default = BENCH_FLEET_CONCURRENCY if fleet else DEFAULT_CONCURRENCY
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if given is None and workers > 1:  # the bench's share is the whole session's, not each's
        default = max(DEFAULT_CONCURRENCY, default // workers)
    concurrency = default if given is None else given
    if concurrency == 1:
        return
    # A pytest-xdist worker is handed its items a batch at a time: its executor starts empty
    # and takes each batch as its first item comes (RequirementItem.setup).
    worker = is_worker(config)
    cases = [
        (i.case, i.nodeid)
        for i in session.items
        if isinstance(i, RequirementItem) and i.key not in state.reused
    ]
    if cases:
        # The items, profiles and site live as long as the session: a full pass of the cycle
        # collector over them stops every thread - and every observation window - for a time
        # that grows with the run (0.4 s at 14,000 items). Frozen, they are never scanned.
        gc.freeze()
        state.executor = Executor(
            state.run,
            [] if worker else cases,
            concurrency=concurrency,
            pace=Pace(),
            retry=state.recorder is None,
        )
        if LiveProgress.enabled(config):
            config.stash[PROGRESS] = LiveProgress(config, state.executor)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test of your own that comes between requirement items waits until the requirements
    under way are decided: it never runs during their windows or actuations."""
    state = item.config.stash.get(STATE, None)
    if state is None or isinstance(item, RequirementItem):
        return
    if state.executor is not None and state.executor.started:
        state.executor.wait()


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> object:
    """Before the reports are written: the requirements still under way (a run stopped by -x
    or Ctrl-C) end and put back what they changed, the rest are cancelled, so the traffic
    accounting sees devices at rest."""
    state = session.config.stash.get(STATE, None)
    if state is not None and state.executor is not None:
        state.executor.close()
    return (yield)
