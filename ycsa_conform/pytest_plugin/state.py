"""Session state, kept in `config.stash`: the loaded profiles, the site, the bench, the run."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from ycsa_conform import __version__
from ycsa_conform.actuation import RestoreJournal, put_back_journal
from ycsa_conform.errors import InputError
from ycsa_conform.evidence import load_evidence
from ycsa_conform.profile import Profile, load_profile
from ycsa_conform.report.folder import latest_run
from ycsa_conform.report.journal import JOURNAL_NAME, JournalContent, load_journal, run_as_dict
from ycsa_conform.report.native import timestamp
from ycsa_conform.result import Incident, ProfileInfo, Result, RunInfo
from ycsa_conform.run import AcceptanceRun, DeviceOpener, open_live, parse_param_option
from ycsa_conform.site import DeviceSpec, Setting, Site, Target, load_site
from ycsa_conform.transport import Device, open_device, open_link
from ycsa_conform.transport.recording import Recorder, Replay

if TYPE_CHECKING:
    from ycsa_conform.bench import Bench
    from ycsa_conform.bench.process import RemoteBench
    from ycsa_conform.executor import Executor

__all__ = [
    "RESUMED_JOURNAL",
    "SHARED_BENCH",
    "STATE",
    "Resumed",
    "State",
    "bench_for",
    "build_state",
    "is_worker",
]

# The key of `workerinput` under which a pytest-xdist controller hands its workers the bench it
# started (the site file's path and text): one bench for the session, not one per process.
SHARED_BENCH = "ycsa_bench_site"
# ... and the journal of the run it resumes (`--resume`), whose results the workers reuse.
RESUMED_JOURNAL = "ycsa_resumed_journal"

Key = tuple[str, str, str]  # (profile, requirement, target)


@dataclass(frozen=True, slots=True)
class Resumed:
    """The run `--resume` continues: its folder and its journal as read at the start."""

    folder: Path
    journal: JournalContent

    @property
    def results(self) -> dict[Key, Result]:
        return {(r.profile, r.requirement, r.target): r for r in self.journal.results}


@dataclass(slots=True)
class State:
    profiles: tuple[Profile, ...]
    site: Site
    run: AcceptanceRun
    info: RunInfo
    bench: Bench | RemoteBench | None
    report_dir: Path
    strict: bool
    recorder: Recorder | None = None
    replay: Replay | None = None
    executor: Executor | None = None  # deciding the selected items, once they are known
    resumed: Resumed | None = None  # --resume: the run continued, whose results are reused
    # The results reused from the resumed run's journal (never decided again), by key.
    reused: dict[Key, Result] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    # What went wrong in the session itself (reporting.Reporter records them).
    incidents: list[Incident] = field(default_factory=list)

    def close(self) -> None:
        """Close the devices, the recording and the bench, each even if another fails.

        This runs at pytest's cleanup, after the reports are written: a failure here can no
        longer reach them, so it is said on stderr and the other parts are still closed.
        """
        parts: list[tuple[str, Callable[[], None]]] = []
        if self.executor is not None:
            parts.append(("requirements under way", self.executor.close))
        parts.append(("devices", self.run.close))
        if self.recorder is not None:
            parts.append(("recording", self.recorder.close))
        if self.bench is not None:
            parts.append(("bench", self.bench.stop))
        for name, close in parts:
            try:
                close()
            except Exception as exc:
                incident = Incident.from_exception(f"closing the {name}", exc)
                sys.stderr.write(f"ycsa-conform: {incident.stage}: {incident.cause}\n")

    def traffic(self) -> dict[str, object]:
        return {
            "recorded": str(self.recorder.directory) if self.recorder else None,
            "replayed": str(self.replay.directory) if self.replay else None,
            "devices": self.run.traffic(),
        }


STATE = pytest.StashKey[State]()


def is_worker(config: pytest.Config) -> bool:
    """True in a pytest-xdist worker (the controller writes the reports)."""
    return hasattr(config, "workerinput")


def say(config: pytest.Config, line: str) -> None:
    """A progress line on the terminal at configure time (a fleet bench takes minutes to
    start); none with -q, none without pytest's terminal reporter."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or config.get_verbosity() < 0:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        reporter.write_line(f"ycsa-conform: {line}")
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(f"ycsa-conform: {line}")


def build_state(config: pytest.Config) -> State:
    """Load and validate every user file, start the bench if no site is given.

    Any bad file raises pytest.UsageError carrying the one-line `FILE:LINE: $.path:` errors.
    """
    names: list[str] = config.getoption("ycsa_profiles") or []
    for option, dest in (("--report-dir", "ycsa_report_dir"), ("--record", "ycsa_record")):
        if config.getoption(dest):
            _folder_option(option, Path(config.getoption(dest)))
    bench: Bench | RemoteBench | None = None  # stopped again if a later file is bad
    try:
        profiles = tuple(load_profile(n) for n in dict.fromkeys(names))
        ids = [p.id for p in profiles]
        if len(set(ids)) != len(ids):
            raise pytest.UsageError(f"two profiles have the same id ({', '.join(ids)})")
        overrides: dict[str, Setting] = {}
        for text in config.getoption("ycsa_params"):
            try:
                key, setting = parse_param_option(text)
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None
            overrides[key] = setting
        evidence_path = config.getoption("ycsa_evidence")
        # Read before the bench starts, so a bad evidence file leaves nothing running.
        evidence = load_evidence(evidence_path) if evidence_path else None
        site_path = config.getoption("ycsa_site")
        faults: list[str] = config.getoption("ycsa_bench_faults")
        poles: int = config.getoption("ycsa_bench_poles")
        record_dir, replay_dir = config.getoption("ycsa_record"), config.getoption("ycsa_replay")
        if record_dir and replay_dir:
            raise pytest.UsageError("--record and --replay exclude each other; choose one")
        if poles != 1 and (site_path or replay_dir):
            raise pytest.UsageError(
                "--bench-poles applies to the built-in bench; drop --site / --replay to use it"
            )
        replay = None
        if replay_dir:
            if faults:
                raise pytest.UsageError(
                    "--bench-fault needs the bench, and --replay runs without it; drop one"
                )
            try:
                replay = Replay(Path(replay_dir))
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None
            site = _recorded_site(replay, site_path)
        elif SHARED_BENCH in getattr(config, "workerinput", {}):
            shared = config.workerinput[SHARED_BENCH]  # type: ignore[attr-defined]
            site = load_site(Path(shared["path"]), text=shared["text"])
        elif site_path:
            if faults:
                raise pytest.UsageError(
                    "--bench-fault applies to the built-in bench; drop --site to use it"
                )
            site = load_site(site_path)
        else:
            from ycsa_conform.bench import (
                MAX_POLES,
                Bench,  # the bench (and pymodbus's server) only when needed
            )

            if not 1 <= poles <= MAX_POLES:
                raise pytest.UsageError(
                    f"--bench-poles {poles}: a bench simulates 1 to {MAX_POLES} poles"
                )
            name = bench_for(profiles)
            from ycsa_conform.bench.fault import resolve_faults

            try:
                resolve_faults(faults)  # an unknown fault is the option's mistake, said so
            except ValueError as exc:
                raise pytest.UsageError(f"--bench-fault: {exc}") from None
            try:
                if poles > 1:
                    if name != "smart-pole":
                        raise pytest.UsageError(
                            f"--bench-poles simulates a fleet of poles; the {name} bench "
                            "simulates one community (with its pole): drop --bench-poles"
                        )
                    # A fleet is served by a child process (see bench.process).
                    from ycsa_conform.bench.process import RemoteBench

                    began = time.monotonic()
                    say(config, f"starting the {name} bench: {poles} poles …")
                    bench = RemoteBench.start(name, faults=faults, poles=poles)
                    say(
                        config,
                        f"bench of {poles} poles started in {time.monotonic() - began:.0f} s",
                    )
                else:
                    bench = Bench.start(name, faults=faults)
            except ValueError as exc:
                raise pytest.UsageError(f"the {name} bench did not start: {exc}") from None
            running = bench
            try:
                site = load_site(running.site_path, text=running.site_text)
            except BaseException:
                running.stop()
                raise
        recorder = None
        opener: DeviceOpener = open_live
        if replay is not None:
            opener = _replaying(replay)
        elif record_dir:
            worker = getattr(config, "workerinput", {}).get("workerid")
            recorder = Recorder(Path(record_dir), worker=worker)
            recorder.write_manifest(_manifest(profiles, site, bench, recorder.directory))
            opener = _recording(recorder)
        journal = None
        if replay is None and site.kind != "bench":
            folder = Path(config.getoption("ycsa_report_dir"))
            journal = RestoreJournal(folder, site=str(site.path.resolve()))
            if not is_worker(config) and not config.getoption("ycsa_dry_run", False):
                # A run killed with SIGKILL left points changed: put them back first.
                put_back_journal(folder, site, only_site=journal.site)
        run = AcceptanceRun(
            profiles=profiles,
            site=site,
            overrides=overrides,
            opener=opener,
            on_read=recorder.polled if recorder else None,
            evidence=evidence,
            allow_actuation=bool(config.getoption("ycsa_allow_actuation")),
            restore_journal=journal,
        )
    except InputError as exc:
        if bench is not None:
            bench.stop()
        raise pytest.UsageError(str(exc)) from None
    info = RunInfo(
        tool_version=__version__,
        profiles=tuple(
            ProfileInfo(
                id=p.id,
                version=p.version,
                sha256=p.sha256,
                title=dict(p.title),
                path=str(p.path),
                extends=tuple(
                    {"id": e.id, "version": e.version, "sha256": e.sha256} for e in p.extends
                ),
            )
            for p in profiles
        ),
        site_id=site.id,
        site_kind=site.kind,
        site_title=site.title.get("en", site.id),
        started=timestamp(),
        parameters={k: str(s.value) for k, s in overrides.items()},
        bench_faults=tuple(faults),
        strict_acceptance=bool(config.getoption("ycsa_strict")),
        allow_actuation=bool(config.getoption("ycsa_allow_actuation")),
        resolved_parameters=tuple(run.resolved_parameters()),
        devices=tuple(run.devices()),
        operator=config.getoption("ycsa_operator") or "",
        site_path=str(site.path.resolve()),
        inputs=_inputs(site, run),
    )
    report_dir = Path(config.getoption("ycsa_report_dir"))
    try:
        resumed = _resumed(config, info, report_dir)
    except BaseException:
        if bench is not None:
            bench.stop()
        raise
    return State(
        profiles=profiles,
        site=site,
        run=run,
        info=info,
        bench=bench,
        report_dir=report_dir,
        strict=bool(config.getoption("ycsa_strict")),
        recorder=recorder,
        replay=replay,
        resumed=resumed,
        reused=resumed.results if resumed else {},
    )


def _folder_option(option: str, folder: Path) -> None:
    """Refuse a folder option naming a file, or a folder under a file, before anything runs:
    the reports (or the recording) could not be written at the end of the run."""
    for at in (folder, *folder.parents):
        if at.exists():
            if not at.is_dir():
                raise pytest.UsageError(
                    f"{option} {folder}: {at} is a file, not a folder; name a folder, new or "
                    "existing"
                )
            return


# What a resumed run must share with the run it continues: a verdict reused from the journal
# was judged with these, and the report states them once for all its results.
_SAME_FOR_RESUME = (
    ("profiles", "profiles"),
    ("site", "site"),
    ("parameters", "--param options"),
    ("bench_faults", "--bench-fault options"),
    ("strict_acceptance", "--strict-acceptance"),
    ("allow_actuation", "--allow-actuation"),
    # A limit edited in the site file, or a device map changed, would judge the rest by other
    # rules than the results kept. Addresses may differ (a bench's ports are new each time).
    ("resolved_parameters", "parameter values (site file or profile defaults)"),
    ("devices", "device maps"),
)


def _resumed(config: pytest.Config, info: RunInfo, report_dir: Path) -> Resumed | None:
    """The run `--resume` continues (the latest in --report-dir), held to this one's options."""
    shared = getattr(config, "workerinput", {}).get(RESUMED_JOURNAL)
    if shared:  # a pytest-xdist worker: the controller checked it
        path = Path(shared)
        return Resumed(folder=path.parent, journal=load_journal(path))
    if not config.getoption("ycsa_resume"):
        return None
    folder = latest_run(report_dir)
    if folder is None:
        raise pytest.UsageError(
            f"--resume: {report_dir} holds no run to resume (no LATEST, no {JOURNAL_NAME}); "
            "run without --resume, or give the --report-dir of the interrupted run"
        )
    journal = load_journal(folder / JOURNAL_NAME)
    theirs, mine = journal.run, run_as_dict(info)
    for key, what in _SAME_FOR_RESUME:
        if _comparable(key, theirs.get(key)) != _comparable(key, mine.get(key)):
            raise pytest.UsageError(
                f"--resume: the run in {folder} ran with other {what} "
                f"({_comparable(key, theirs.get(key))}, here {_comparable(key, mine.get(key))}); "
                "resume with the same options, or start a new run without --resume"
            )
    return Resumed(folder=folder, journal=journal)


def _comparable(key: str, value: object) -> object:
    if key == "profiles" and isinstance(value, list):
        return [f"{p['id']} {p['version']} sha256 {p['sha256'][:12]}" for p in value]
    if key == "site" and isinstance(value, dict):
        return f"site {value.get('id')} ({value.get('kind')})"
    if key == "resolved_parameters" and isinstance(value, list):
        return sorted(
            f"{p.get('profile')}:{p.get('name')}={p.get('value')} for {p.get('targets')}"
            for p in value
        )
    if key == "devices" and isinstance(value, list):
        maps = (
            (d.get("target"), d.get("role"), (d.get("map") or {}).get("sha256", "")) for d in value
        )
        return sorted(f"{target}/{role} map sha256 {sha[:12]}" for target, role, sha in maps)
    return value


def _inputs(site: Site, run: AcceptanceRun) -> tuple[dict[str, str], ...]:
    """The files besides profiles, site and maps that the verdicts read (report.json `inputs`)."""
    found: list[dict[str, str]] = []
    for target in site.targets:
        found.extend(
            {"kind": "record", "path": str(path), "target": target.id}
            for path in target.records.values()
        )
    evidence = run.evidence
    if evidence is not None:
        found.append({"kind": "evidence", "path": str(evidence.path.resolve()), "target": ""})
        for entry in evidence.entries.values():
            found.extend(
                {"kind": "evidence-file", "path": str(path), "target": entry.target or ""}
                for path in entry.files
            )
    unique = {(i["kind"], i["path"], i["target"]): i for i in found}
    return tuple(unique.values())


def bench_for(profiles: tuple[Profile, ...]) -> str:
    """The built-in bench a run without --site checks: the smart-community bench (a community
    with a smart pole inside) when a profile has requirements for a community, else the
    smart-pole bench."""
    kinds = {kind for p in profiles for kind in p.target_kinds}
    return "smart-community" if "community" in kinds else "smart-pole"


def _manifest(
    profiles: tuple[Profile, ...],
    site: Site,
    bench: Bench | RemoteBench | None,
    directory: Path,
) -> dict[str, object]:
    text = bench.site_text if bench is not None else site.path.read_text(encoding="utf-8")
    if bench is not None and site.evidence is not None:
        # A bench's evidence may live only as long as the bench (the community bench merges
        # its own and its pole's into a temporary file): the recording keeps a copy, so that
        # --replay finds it.
        kept = directory / "evidence.yaml"
        _copy_evidence(site.evidence, kept)
        document = yaml.safe_load(text)
        document["evidence"] = str(kept.resolve())
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    return {
        "tool": {"name": "ycsa-conform", "version": __version__},
        "recorded": timestamp(),
        "profiles": [{"id": p.id, "version": p.version, "sha256": p.sha256} for p in profiles],
        "site": {"id": site.id, "kind": site.kind, "path": str(site.path.resolve()), "text": text},
        "bench": {"name": bench.name, "faults": list(bench.faults)} if bench else None,
    }


def _copy_evidence(source: Path, copy: Path) -> None:
    """Copy an evidence file elsewhere, the files it cites made absolute so they still resolve."""
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    for entry in document.get("evidence", []):
        if "files" in entry:
            entry["files"] = [str((source.parent / f).resolve()) for f in entry["files"]]
    copy.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _recorded_site(replay: Replay, site_path: str | None) -> Site:
    """The site a recording was made on: --site if given, else the recorded document."""
    if site_path:
        return load_site(site_path)
    recorded = replay.manifest.get("site") or {}
    path = Path(str(recorded.get("path", "")))
    text = str(recorded.get("text"))
    if path.is_file():
        return load_site(path, text=text)
    try:
        # A site whose device maps are absolute paths (a fleet's) stands on its recorded text.
        return load_site(replay.directory / "site.yaml", text=text)
    except InputError:
        raise pytest.UsageError(
            f"--replay {replay.directory}: the recording was made with the site file {path}, "
            "which is not on this machine; give it (and its device maps) with --site FILE"
        ) from None


def _recording(recorder: Recorder) -> DeviceOpener:
    def opener(target: Target, spec: DeviceSpec) -> Device:
        link = open_link(spec.role, spec.address, spec.options)
        wrapped = recorder.wrap(link, target=target.id, device=spec.role)
        return open_device(spec.role, spec.uri, spec.devicemap, spec.options, link=wrapped)

    return opener


def _replaying(replay: Replay) -> DeviceOpener:
    def opener(target: Target, spec: DeviceSpec) -> Device:
        link = replay.link(target=target.id, device=spec.role, scheme=spec.address.scheme)
        return open_device(spec.role, spec.uri, spec.devicemap, spec.options, link=link)

    return opener
