"""pytest-xdist: one bench for the session, and each target's requirements on one worker.

The controller starts the bench (or none, for a field site) and hands its site to every worker
(`SHARED_BENCH`), so `-n 4` runs against one bench rather than five. Its scheduler sends all
requirements of a target - and of targets that share a serial bus - to the same worker: two
processes would otherwise fight over one serial port, and an actuation in one could overlap a
window on the same pole in another. Tests that are not requirements keep xdist's grouping by
module (`--dist loadscope`). The devices are read in the workers, so each worker counts its
device traffic and hands it back (`WORKER_TRAFFIC` in `workeroutput`); the controller's report
sums them. The hooks are optional: without pytest-xdist they never run.
"""

from __future__ import annotations

from typing import Any

import pytest

from ycsa_conform.result import Incident
from ycsa_conform.run import AcceptanceRun

from .state import RESUMED_JOURNAL, SHARED_BENCH, STATE, is_worker

__all__ = [
    "WORKER_TRAFFIC",
    "bus_groups",
    "handed",
    "on_bench_fleet",
    "pytest_configure_node",
    "pytest_sessionfinish",
    "pytest_xdist_make_scheduler",
    "sum_traffic",
    "target_of",
]

# The key of `workeroutput` under which a worker hands back its device traffic (State.traffic),
# or {"incident": ...} when it could not be counted.
WORKER_TRAFFIC = "ycsa_traffic"


def bus_groups(run: AcceptanceRun) -> dict[str, str]:
    """Target id → its group: the first target (in site order) of those that share a serial
    bus with it (a port, or a serial server), directly or through others; a target on no
    shared bus is its own group."""
    group = {t.id: t.id for t in run.site.targets}

    def root(target: str) -> str:
        while group[target] != target:
            target = group[target]
        return target

    first_on: dict[str, str] = {}
    for target in run.site.targets:
        for spec in target.devices.values():
            bus = spec.address.bus
            if bus is not None:
                if bus in first_on:
                    group[root(target.id)] = root(first_on[bus])
                else:
                    first_on[bus] = target.id
    return {t: root(t) for t in group}


def target_of(nodeid: str, profiles: set[str]) -> str | None:
    """'smart-pole::SP-PWR-001[P001]' → 'P001' (an item of one of `profiles`); None for a test
    that is not a requirement."""
    head, sep, rest = nodeid.rpartition("[")
    if not sep or not rest.endswith("]") or head.split("::", 1)[0] not in profiles:
        return None
    return rest[:-1]


def handed(config: pytest.Config) -> list[int]:
    """In a pytest-xdist worker: the indices (in `session.items`) of the items the controller
    has handed it and it has not yet begun, so that their windows can start together. The
    scheduler below never takes them back (it does not steal)."""
    for plugin in config.pluginmanager.get_plugins():
        queue = getattr(plugin, "torun", None)  # xdist's WorkerInteractor
        if queue is not None and hasattr(queue, "lock"):
            with queue.lock() as indices:
                return [i for i in indices if isinstance(i, int)]
    return []


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller: hand each worker the bench this process started, and the journal of the
    run it resumes."""
    state = node.config.stash.get(STATE, None)
    if state is None:
        return
    if state.resumed is not None:
        node.workerinput[RESUMED_JOURNAL] = str(state.resumed.journal.path)
    if state.bench is None:
        return
    node.workerinput[SHARED_BENCH] = {
        "path": str(state.bench.site_path),
        "text": state.bench.site_text,
        "poles": len(state.bench.poles),
    }


def on_bench_fleet(config: pytest.Config) -> bool:
    """True when this run decides a bench fleet: its own, or the one a controller started."""
    state = config.stash.get(STATE, None)
    if state is not None and state.bench is not None:
        return len(state.bench.poles) > 1
    shared = getattr(config, "workerinput", {}).get(SHARED_BENCH, {})
    return int(shared.get("poles", 1)) > 1


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Controller: schedule by target (or shared bus), whatever --dist was asked for."""
    state = config.stash.get(STATE, None)
    if state is None:
        return None
    from xdist.scheduler import LoadScopeScheduling

    groups = bus_groups(state.run)
    profiles = {p.id for p in state.profiles}

    class TargetScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
        def _split_scope(self, nodeid: str) -> str:
            target = target_of(nodeid, profiles)
            if target is None or target not in groups:
                return str(super()._split_scope(nodeid))
            return f"ycsa-target {groups[target]}"

    return TargetScheduling(config, log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Worker: hand the controller this worker's device traffic. (collection's wrapper of this
    hook has closed the requirements under way before, so the devices are at rest.)"""
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None or not is_worker(config) or config.option.collectonly:
        return
    try:
        traffic: dict[str, Any] = state.traffic()
    except Exception as exc:  # the controller records it as its incident
        traffic = {"incident": Incident.from_exception("traffic accounting", exc).as_dict()}
    config.workeroutput[WORKER_TRAFFIC] = traffic  # type: ignore[attr-defined]  # xdist's


_COUNTED = ("point_reads", "observations", "probes", "transactions", "minimum")


def sum_traffic(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The traffic of a session from its workers': their devices, a device that two workers
    used (a target's requirements are on one worker, but a retried batch may move) summed."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for part in parts:
        for row in part.get("devices") or []:
            key = (str(row["target"]), str(row["device"]))
            if key in rows:
                kept = rows[key]
                for name in _COUNTED:
                    if name in row:
                        kept[name] = int(kept.get(name, 0)) + int(row[name])
            else:
                rows[key] = dict(row)
    first = parts[0] if parts else {}
    return {
        "recorded": first.get("recorded"),
        "replayed": first.get("replayed"),
        "devices": list(rows.values()),
    }
