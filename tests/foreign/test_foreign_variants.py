"""The foreign pole broken in each way issue 12 names, and the verdicts worked out by hand for
each (tests/foreign/README.md, "Broken variants"). Each run is restricted with -k to the
requirements its defect concerns; those requirements, and only those, are in its report.

These are the issue's acceptance tests: written before the fixes, they fail until the part
they need has landed (the README's table says which part each one needs).
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cangshan.physics import Pole
from cangshan.pole import Endpoints
from foreign_runs import FOLDER, MAPS, Run, copy_maps, edit_map, run_profile, write_site

from conftest import Broker
from ycsa_conform.profile import load_profile


@dataclass(frozen=True, slots=True)
class Want:
    """The verdict a requirement must get, a pattern its reason must match, and (when given)
    whether it must be marked untested."""

    verdict: str
    reason: str | None = None
    untested: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    name: str
    expected: Mapping[str, Want]
    settings: Mapping[str, Any] = field(default_factory=dict)  # the pole, broken
    maps: Callable[[Path], None] | None = None  # edits a copy of the vendor maps
    prefix: str | None = None  # the gateway prefix the site names
    actuation: bool = True
    restored: Mapping[str, Any] = field(default_factory=dict)  # the pole's settings after


def _point(name: str, point: str, **changes: Any) -> Callable[[Path], None]:
    def edit(maps: Path) -> None:
        def change(data: dict[str, Any]) -> None:
            data["points"][point].update(changes)

        edit_map(maps, name, change)

    return edit


def _bare_relay(maps: Path) -> None:
    """The relay as a plain uint16 register, as `validate` suggests: nonzero is on."""

    def change(data: dict[str, Any]) -> None:
        for key in ("on", "off"):
            data["points"]["lamp_on"].pop(key)

    edit_map(maps, "cs-lc300.yaml", change)


def _stamps_declared_in_seconds(maps: Path) -> None:
    def change(data: dict[str, Any]) -> None:
        data["topics"]["equipment"]["time_unit"] = "s"

    edit_map(maps, "cs-gw10.yaml", change)


IMPLAUSIBLE = r"(?i)implausible"
NOT_A_NUMBER = r"(?i)\bnan\b|not (a )?finite"
OFF = r"lamp_on is false"

VARIANTS = (
    # Map says ABCD, the controller sends CDAB. Standby 0.32 W = 0x3EA3D70A is sent D70A 3EA3,
    # read ABCD as 0xD70A3EA3 = -1.52e14 W; full output 150.32 W = 0x431651EC read as
    # 0x51EC4316 = 1.27e11 W: both outside '0 W .. 300 W', never judged.
    Variant(
        name="word-order-map-ABCD-device-CDAB",
        maps=_point("cs-lc300.yaml", "active_power", order="ABCD"),
        expected={
            "SP-PWR-009": Want("error", IMPLAUSIBLE),
            "SP-LUM-010": Want("error", IMPLAUSIBLE),
            "SP-DATA-011": Want("error", IMPLAUSIBLE),
            "SP-DATA-023": Want("fail", r"CDAB"),
        },
        restored={"relay": True, "auto": True, "level": 100},
    ),
    # The same swap at a standby of 0.35 W = 0x3EB33333: read ABCD, 0x33333EB3 = 4.17e-8 W,
    # inside '0 W .. 300 W'. A range that says what the controller can draw (at least 0.1 W:
    # its radio and metering never stop) catches it.
    Variant(
        name="word-order-swap-caught-by-a-physical-range",
        settings={"standby_power": 0.35},
        maps=_point("cs-lc300.yaml", "active_power", order="ABCD", range="0.1 W .. 300 W"),
        expected={"SP-PWR-009": Want("error", IMPLAUSIBLE)},
    ),
    # The power factor register holds 0x7FC00000 (NaN): never 'meets >= 0.9'.
    Variant(
        name="nan-power-factor",
        settings={"pf_nan": True},
        expected={
            "SP-PWR-008": Want("error", NOT_A_NUMBER),
            "SP-DATA-011": Want("error", NOT_A_NUMBER),
        },
    ),
    # Nothing ever publishes below this prefix: no offline message is not a pass.
    Variant(
        name="gateway-never-connected",
        prefix=f"city/lamps/CS-X{uuid.uuid4().hex[:6]}",
        expected={
            "SP-DATA-018": Want("fail", r"(?i)never heard"),
            "SP-DATA-008": Want("fail", r"(?i)no message|never heard"),
            "SP-DATA-017": Want("fail", r"(?i)no message|never heard"),
        },
    ),
    # The gateway stamps in ms (1.8e12), the map declares s: an age of about -1.8e12 s.
    Variant(
        name="ms-time-stamps-declared-as-seconds",
        maps=_stamps_declared_in_seconds,
        expected={"SP-DATA-017": Want("error", r"(?i)\bms\b|milli")},
    ),
    # Lamp switched off by hand (manual mode, relay open): its PF register reads 1.000.
    Variant(
        name="lamp-off-without-actuation",
        settings={"auto": False, "relay": False},
        actuation=False,
        expected={
            "SP-PWR-008": Want("not_applicable", None, untested=True),
            "SP-LUM-010": Want("not_applicable", None, untested=True),
            "SP-LUM-011": Want("not_applicable", OFF),
        },
    ),
    # With actuation the power factor is judged at full output (0.986), then the lamp is put
    # back off.
    Variant(
        name="lamp-off-with-actuation",
        settings={"auto": False, "relay": False},
        expected={
            "SP-PWR-008": Want("pass", r"0\.986"),
            "SP-LUM-010": Want("not_applicable", OFF),
            "SP-LUM-011": Want("not_applicable", OFF),
        },
        restored={"relay": False, "auto": False, "level": 100},
    ),
    # The relay as a bare uint16 register: lamp_on false is written as 0, true as 1.
    Variant(
        name="relay-as-bare-uint16-register",
        maps=_bare_relay,
        expected={
            "SP-PWR-009": Want("pass", r"0\.32 W"),
            "SP-LUM-010": Want("pass"),
            "SP-LUM-011": Want("pass"),
        },
        restored={"relay": True, "auto": True, "level": 100},
    ),
    # ... and its 0 read as 'lamp_on is false' by the unless conditions.
    Variant(
        name="relay-as-bare-uint16-register-lamp-off",
        maps=_bare_relay,
        settings={"auto": False, "relay": False},
        expected={
            "SP-LUM-010": Want("not_applicable", OFF),
            "SP-LUM-011": Want("not_applicable", OFF),
        },
        restored={"relay": False, "auto": False},
    ),
    # 2.6 ‰ on each axis passes per axis; the resultant √(2 × 2.6²) = 3.677 ‰ exceeds 3 ‰.
    Variant(
        name="tilt-2.6-permille-each-axis",
        settings={"tilt_x": 2.6, "tilt_y": 2.6},
        expected={"SP-LOAD-012": Want("fail", r"resultant.*3\.6[78]")},
    ),
)


def check(run: Run, expected: Mapping[str, Want]) -> None:
    """Every requirement of the run has the wanted verdict (and only those ran)."""
    wrong = []
    for requirement, want in expected.items():
        got = run.results.get(requirement)
        if got is None:
            wrong.append(f"{requirement}: not in the report")
            continue
        if got["verdict"] != want.verdict:
            wrong.append(f"{requirement}: {got['verdict']}, want {want.verdict}: {got['reason']}")
        elif want.reason is not None and not re.search(want.reason, got["reason"]):
            wrong.append(f"{requirement}: reason does not match {want.reason!r}: {got['reason']}")
        elif want.untested is not None and bool(got.get("untested")) != want.untested:
            wrong.append(f"{requirement}: untested is {got.get('untested')}, want {want.untested}")
    assert not wrong, "\n".join(wrong)
    assert set(run.results) == set(expected)
    assert (run.report_dir / "report.html").exists()


def select(requirements: Mapping[str, Any]) -> list[str]:
    return ["-k", " or ".join(requirements)]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_broken_variant_gets_the_verdicts_worked_out_by_hand(
    variant: Variant, pytester: pytest.Pytester, endpoints: Endpoints, pole: Pole
) -> None:
    pole.set(**variant.settings)
    maps = MAPS
    if variant.maps is not None:
        maps = copy_maps(pytester.path)
        variant.maps(maps)
    site = write_site(pytester.path, endpoints, maps=maps, prefix=variant.prefix)
    args = select(variant.expected) + (["--allow-actuation"] if variant.actuation else [])
    run = run_profile(pytester, site, *args)
    check(run, variant.expected)
    settings = pole.settings
    assert {k: getattr(settings, k) for k in variant.restored} == dict(variant.restored)


# -- a gateway that dies during the window --------------------------------------------------


GATEWAY = (sys.executable, "-m", "cangshan.gateway")


def test_gateway_killed_mid_window_is_lost_contact_not_a_failure(
    pytester: pytest.Pytester, endpoints: Endpoints, foreign_broker: Broker
) -> None:
    prefix = f"city/lamps/CS-K{uuid.uuid4().hex[:6]}"
    gateway = subprocess.Popen(
        [*GATEWAY, foreign_broker.host, str(foreign_broker.port), prefix],
        cwd=FOLDER,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert gateway.stdout is not None
        assert gateway.stdout.readline().strip() == "connected"

        def kill_once_listened_to() -> None:
            # The run has subscribed to the status topic: the window is open.
            foreign_broker.wait_for_subscription(f"{prefix}/state")
            gateway.kill()

        killer = threading.Thread(target=kill_once_listened_to, daemon=True)
        killer.start()
        site = write_site(
            pytester.path, endpoints, prefix=prefix, parameters={"session_window": "6 s"}
        )
        run = run_profile(pytester, site, "-k", "SP-DATA-018")
        killer.join(timeout=60)
    finally:
        gateway.kill()
        gateway.wait(timeout=10)
    check(run, {"SP-DATA-018": Want("error", r"(?i)lost contact")})


# -- untested is not conforming ---------------------------------------------------------------

ACTUATED = ("SP-PWR-009", "SP-LUM-010", "SP-DATA-009", "SP-DATA-019")
WITHOUT_ACTUATION = {"SP-PWR-003": Want("pass")} | {
    r: Want("not_applicable", r"--allow-actuation", untested=True) for r in ACTUATED
}


def test_a_field_run_without_actuation_does_not_conclude_conforms(
    pytester: pytest.Pytester, endpoints: Endpoints, pole: Pole
) -> None:
    pole.set(standby_power=0.8)  # out of limit, and never switched off to be seen
    site = write_site(pytester.path, endpoints)
    run = run_profile(pytester, site, *select(WITHOUT_ACTUATION))
    check(run, WITHOUT_ACTUATION)
    conclusion = run.report["conclusion"]
    assert conclusion["status"] == "incomplete", conclusion
    assert not conclusion["conforms"]
    assert all(r in conclusion["en"] for r in ACTUATED), conclusion["en"]
    assert not any(line.startswith("Conforms") for line in run.output.splitlines()), run.output


def test_strict_acceptance_fails_a_run_with_mandatory_requirements_untested(
    pytester: pytest.Pytester, endpoints: Endpoints, pole: Pole
) -> None:
    site = write_site(pytester.path, endpoints)
    run = run_profile(pytester, site, "--strict-acceptance", *select(WITHOUT_ACTUATION))
    check(run, WITHOUT_ACTUATION)
    assert run.ret == 1
    assert run.report["conclusion"]["status"] == "fails"


# -- a map without lamp_on ----------------------------------------------------------------------

PROFILE = load_profile("smart-pole")
# Worked out by hand from the profile text: SP-PWR-009 switches lamp_on, SP-LUM-010 and
# SP-LUM-011 are not applicable 'unless lamp_on is false'. SP-PWR-008 may read it too, once it
# checks its 'full output' state.
USES_LAMP_ON = {"SP-PWR-009", "SP-LUM-010", "SP-LUM-011"}
MAY_USE_LAMP_ON = {"SP-PWR-008"}


def _lamp_requirements() -> dict[str, tuple[bool, bool]]:
    """Requirement -> (its check uses lamp_on, the profile marks lamp_on optional there)."""
    found: dict[str, tuple[bool, bool]] = {}
    for requirement in PROFILE.requirements:
        for use in requirement.check.uses():
            if use.role == "lamp":
                uses = "lamp_on" in (*use.reads, *use.writes)
                optional = "lamp_on" in use.optional
                before = found.get(requirement.id, (False, False))
                found[requirement.id] = (before[0] or uses, before[1] or optional)
    return found


def _without_lamp_on(maps: Path) -> None:
    edit_map(maps, "cs-lc300.yaml", lambda data: data["points"].pop("lamp_on"))


def test_a_map_without_lamp_on_errs_exactly_where_it_is_used(
    pytester: pytest.Pytester, endpoints: Endpoints, pole: Pole
) -> None:
    lamp = _lamp_requirements()
    using = {r for r, (uses, _) in lamp.items() if uses}
    assert USES_LAMP_ON <= using <= USES_LAMP_ON | MAY_USE_LAMP_ON, using
    expected = {
        r: (Want("not_applicable" if optional else "error", r"lamp_on") if uses else Want("pass"))
        for r, (uses, optional) in lamp.items()
    }
    maps = copy_maps(pytester.path)
    _without_lamp_on(maps)
    site = write_site(pytester.path, endpoints, maps=maps)
    run = run_profile(pytester, site, "--allow-actuation", *select(expected))
    check(run, expected)
    for requirement in using:
        reason = run.results[requirement]["reason"]
        assert "cs-lc300" in reason, reason
        assert "lamp" in reason, reason


def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ycsa_conform", "validate", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_validate_reports_the_missing_lamp_on_before_the_run(
    tmp_path: Path, endpoints: Endpoints
) -> None:
    maps = copy_maps(tmp_path)
    _without_lamp_on(maps)
    site = write_site(tmp_path, endpoints, maps=maps)
    done = _validate("--profile", "smart-pole", str(site))
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    lines = [line for line in output.splitlines() if "lamp_on" in line]
    for requirement in USES_LAMP_ON:
        assert any(requirement in line for line in lines), output


def test_validate_accepts_the_vendor_site(tmp_path: Path, endpoints: Endpoints) -> None:
    """Two flags in one status word are bits of one register, not overlapping spans."""
    site = write_site(tmp_path, endpoints)
    done = _validate("--profile", "smart-pole", str(site))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "overlap" not in output, output
