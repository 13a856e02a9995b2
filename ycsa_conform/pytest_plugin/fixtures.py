"""Fixtures for users' own tests: the site, a device by target and role, the bench.

    def test_lamp_reports_energy(ycsa_device):
        lamp = ycsa_device("P001", "lamp")
        assert lamp.read("active_energy").value.m >= 0

They need a run (`--profile`); without one they skip with the fix in the reason.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ycsa_conform.site import Site
from ycsa_conform.transport import Device

from .state import STATE, State

__all__ = ["ycsa_bench", "ycsa_device", "ycsa_site", "ycsa_state"]


@pytest.fixture(scope="session")
def ycsa_state(pytestconfig: pytest.Config) -> State:
    state = pytestconfig.stash.get(STATE, None)
    if state is None:
        pytest.skip(
            "no ycsa-conform run configured (use --profile NAME, e.g. --profile smart-pole)"
        )
    return state


@pytest.fixture(scope="session")
def ycsa_site(ycsa_state: State) -> Site:
    return ycsa_state.site


@pytest.fixture(scope="session")
def ycsa_device(ycsa_state: State) -> Callable[[str, str], Device]:
    """A function (target id, device role) → the open device, shared with the profile items."""

    def device(target_id: str, role: str) -> Device:
        targets = {t.id: t for t in ycsa_state.site.targets}
        if target_id not in targets:
            raise LookupError(f"no target {target_id!r}; the site has {', '.join(targets)}")
        target = targets[target_id]
        if role not in target.devices:
            raise LookupError(
                f"target {target_id} has no device {role!r}; it has {', '.join(target.devices)}"
            )
        return ycsa_state.run.device(target, role)

    return device


@pytest.fixture(scope="session")
def ycsa_bench(ycsa_state: State) -> object:
    if ycsa_state.bench is None:
        pytest.skip("this run uses a site file, not the built-in bench (drop --site)")
    return ycsa_state.bench
