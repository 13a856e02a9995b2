"""Session state, kept in `config.stash`: the loaded profiles, the site, the bench, the run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ycsa_conform import __version__
from ycsa_conform.errors import InputError
from ycsa_conform.profile import Profile, load_profile
from ycsa_conform.report.native import timestamp
from ycsa_conform.result import ProfileInfo, Result, RunInfo
from ycsa_conform.run import AcceptanceRun, parse_param_option
from ycsa_conform.site import Setting, Site, load_site

if TYPE_CHECKING:
    from ycsa_conform.bench import Bench

__all__ = ["STATE", "State", "build_state", "is_worker"]


@dataclass(slots=True)
class State:
    profiles: tuple[Profile, ...]
    site: Site
    run: AcceptanceRun
    info: RunInfo
    bench: Bench | None
    report_dir: Path
    strict: bool
    results: list[Result] = field(default_factory=list)

    def close(self) -> None:
        self.run.close()
        if self.bench is not None:
            self.bench.stop()


STATE = pytest.StashKey[State]()


def is_worker(config: pytest.Config) -> bool:
    """True in a pytest-xdist worker (the controller writes the reports)."""
    return hasattr(config, "workerinput")


def build_state(config: pytest.Config) -> State:
    """Load and validate every user file, start the bench if no site is given.

    Any bad file raises pytest.UsageError carrying the one-line `FILE:LINE: $.path:` errors.
    """
    names: list[str] = config.getoption("ycsa_profiles") or []
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
        site_path = config.getoption("ycsa_site")
        faults: list[str] = config.getoption("ycsa_bench_faults")
        bench = None
        if site_path:
            if faults:
                raise pytest.UsageError(
                    "--bench-fault applies to the built-in bench; drop --site to use it"
                )
            site = load_site(site_path)
        else:
            from ycsa_conform.bench import (
                Bench,  # the bench (and pymodbus's server) only when needed
            )

            try:
                bench = Bench.start("smart-pole", faults=faults)
            except ValueError as exc:
                raise pytest.UsageError(f"--bench-fault: {exc}") from None
            try:
                site = load_site(bench.site_path, text=bench.site_text)
            except BaseException:
                bench.stop()
                raise
        run = AcceptanceRun(profiles=profiles, site=site, overrides=overrides)
    except InputError as exc:
        raise pytest.UsageError(str(exc)) from None
    info = RunInfo(
        tool_version=__version__,
        profiles=tuple(
            ProfileInfo(
                id=p.id, version=p.version, sha256=p.sha256, title=dict(p.title), path=str(p.path)
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
    )
    return State(
        profiles=profiles,
        site=site,
        run=run,
        info=info,
        bench=bench,
        report_dir=Path(config.getoption("ycsa_report_dir")),
        strict=bool(config.getoption("ycsa_strict")),
    )
