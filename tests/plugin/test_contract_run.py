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


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


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
    pytester: pytest.Pytester, site: Path
) -> None:
    # SP-LUM-011 reads lamp_on with its points; planned for the lamp's poll, it once made the
    # session's traffic accounting raise ValueError: no report.json, no report.html.
    result = pytester.runpytest(
        "--profile", "smart-pole", "--site", str(site), "-k", "PWR-003 or LUM-011 or PWR-009"
    )

    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "internal error" not in output
    assert (pytester.path / "ycsa-report" / "report.html").is_file()
    found = results(pytester.path)
    assert {r: found[r]["verdict"] for r in found} == {
        "SP-PWR-003": "error",  # runs: the lamp does not answer
        "SP-PWR-009": "error",  # the map has no relay to switch off
        "SP-LUM-011": "error",  # the map has no relay state to tell "off"
    }
    assert "cannot connect to lamp" in found["SP-PWR-003"]["reason"]
    assert found["SP-LUM-011"]["reason"].startswith(
        "SP-LUM-011 cannot be decided: device map 'ycsa-bench/lamp-controller' (maps/lamp.yaml) "
        "of lamp on P001 has no point 'lamp_on', which SP-LUM-011 reads; map it (a coil, a "
        "discrete input, or a register with on/off values) or leave SP-LUM-011 out with "
        "-k 'not SP-LUM-011'"
    )
    result.stdout.fnmatch_lines(
        ["SP-PWR-009 cannot be decided: device map *has no point 'lamp_on'*"]
    )


def test_decidable_selects_the_requirements_the_sites_devices_can_decide(
    pytester: pytest.Pytester, site: Path
) -> None:
    result = pytester.runpytest(
        "--profile", "smart-pole", "--site", str(site), "-m", "decidable", "--collect-only", "-q"
    )

    collected = result.stdout.str()
    # the lamp's own requirements whose points the map has...
    for requirement in ("SP-PWR-003", "SP-PWR-008", "SP-LUM-014", "SP-DATA-011"):
        assert f"::{requirement}[P001]" in collected
    # ...and those needing no device; not those of the missing relay nor of absent devices
    assert "::SP-LOAD-001[P001]" in collected
    for requirement in ("SP-PWR-009", "SP-LUM-010", "SP-LUM-011", "SP-PWR-001", "SP-DATA-007"):
        assert f"::{requirement}[P001]" not in collected
