"""A device map that lacks what a requirement uses, through the plugin: the report is written,
exactly those requirements are errors with the reason, and `-m decidable` leaves them out.

The lamp is at a local port nobody listens on: a requirement that runs says "cannot connect",
one decided from the map's gap never opens the device.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ycsa_conform.resources import data_dir

MAPS = data_dir("benches") / "devicemaps"

PROFILE = """\
profile: contract-run
version: "0.1.0"
title: {en: Contract, zh: 契约}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
requirements:
  - id: CR-GEN-001
    title: {en: Supply voltage readable, zh: 电压}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: {kind: measure, device: lamp, point: supply_voltage, limit: "198 V .. 242 V"}
  - id: CR-GEN-002
    title: {en: Dimming honoured while on, zh: 调光}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: measure
      device: lamp
      point: actual_light_state
      relative_to: target_light_command
      limit: "-5 % .. 5 %"
      unless: [{point: lamp_on, equals: false}]
  - id: CR-GEN-003
    title: {en: Standby power, zh: 待机功率}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: actuate
      device: lamp
      set: {lamp_on: false}
      restore: [auto_mode]
      settle: 0 s
      observe: {point: active_power, limit: "<= 0.5 W"}
  - id: CR-GEN-004
    title: {en: Meter voltage, zh: 电表电压}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: {kind: measure, device: meter, point: supply_voltage, limit: "198 V .. 242 V"}
  - id: CR-GEN-005
    title: {en: IP rating, zh: 防护等级}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: {kind: evidence, item: ip_rating_certificate}
"""


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def profile(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "contract-run.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


@pytest.fixture
def site(pytester: pytest.Pytester, closed_port: int) -> Path:
    """A field site whose one device, the lamp, has a dimming-only map: no relay (lamp_on)."""
    lamp = yaml.safe_load((MAPS / "lamp-controller.yaml").read_text(encoding="utf-8"))
    del lamp["points"]["lamp_on"]
    (pytester.path / "maps").mkdir()
    (pytester.path / "maps" / "lamp.yaml").write_text(yaml.safe_dump(lamp), encoding="utf-8")
    path = pytester.path / "site.yaml"
    path.write_text(
        "site: dimming-only\n"
        "kind: field\n"
        "targets:\n"
        "  - id: P001\n"
        "    kind: pole\n"
        "    devices:\n"
        f'      lamp: {{uri: "modbus-tcp://127.0.0.1:{closed_port}?unit=1", map: maps/lamp.yaml,'
        " timeout: 0.2 s}\n",
        encoding="utf-8",
    )
    return path


def results(folder: Path) -> dict[str, dict[str, Any]]:
    report = json.loads((folder / "ycsa-report" / "report.json").read_text(encoding="utf-8"))
    return {r["requirement"]: r for r in report["results"]}


def test_a_map_without_a_point_the_run_polls_still_gives_the_report(
    pytester: pytest.Pytester, profile: Path, site: Path
) -> None:
    # CR-GEN-002 reads lamp_on with its points; planned for the lamp's poll, it once made the
    # session's traffic accounting raise ValueError: no report.json, no report.html.
    result = pytester.runpytest("--profile", str(profile), "--site", str(site), "-k", "not 005")

    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "internal error" not in output
    assert (pytester.path / "ycsa-report" / "report.html").is_file()
    found = results(pytester.path)
    assert {r: found[r]["verdict"] for r in found} == {
        "CR-GEN-001": "error",  # runs: the lamp does not answer
        "CR-GEN-002": "error",  # the map has no relay state to tell "off"
        "CR-GEN-003": "error",  # the map has no relay to switch off
        "CR-GEN-004": "error",  # the site has no meter
    }
    assert "cannot connect to lamp" in found["CR-GEN-001"]["reason"]
    assert found["CR-GEN-002"]["reason"].startswith(
        "CR-GEN-002 cannot be decided: device map 'ycsa-bench/lamp-controller' (maps/lamp.yaml) "
        "of lamp on P001 has no point 'lamp_on', which CR-GEN-002 reads; map it (a coil, a "
        "discrete input, or a register with on/off values) or leave CR-GEN-002 out with "
        "-k 'not CR-GEN-002'"
    )
    result.stdout.fnmatch_lines(["CR-GEN-003 cannot be decided: device map *no point 'lamp_on'*"])


def test_decidable_selects_the_requirements_the_sites_devices_can_decide(
    pytester: pytest.Pytester, profile: Path, site: Path
) -> None:
    result = pytester.runpytest(
        "--profile", str(profile), "--site", str(site), "-m", "decidable", "--collect-only", "-q"
    )

    collected = [line for line in result.stdout.lines if "::" in line]
    # the lamp's requirement whose points the map has, and the one needing no device; not
    # those of the missing relay nor of the missing meter
    assert collected == [
        "contract-run::CR-GEN-001[P001]",
        "contract-run::CR-GEN-005[P001]",
    ]


def test_decidable_on_the_built_in_profile_leaves_out_what_the_site_lacks(
    pytester: pytest.Pytester, site: Path
) -> None:
    result = pytester.runpytest(
        "--profile", "smart-pole", "--site", str(site), "-m", "decidable", "--collect-only", "-q"
    )

    collected = result.stdout.str()
    assert "::SP-PWR-003[P001]" in collected  # the lamp's supply voltage
    assert "::SP-LOAD-001[P001]" in collected  # design data
    assert "::SP-PWR-001[P001]" not in collected  # the meter's
    assert "::SP-DATA-007[P001]" not in collected  # the gateway's
