"""Several poles behind one serial server: one RS-485 bus reached over TCP (`modbus-rtu-tcp`).

District systems reach the lamp controllers of a road through serial servers: each passes RTU
frames between a TCP port and its bus, and the bus carries the controllers of several poles,
each with its own unit id. The bench's Modbus server plays that server here (RTU framing over
TCP, silence for a unit that is not on the bus); the site file is what a user writes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest

from ycsa_conform.bench.definition import bench_path, load_bench
from ycsa_conform.bench.modbus import ModbusBench
from ycsa_conform.bench.physics import PoleSettings
from ycsa_conform.bench.pole import Pole
from ycsa_conform.resources import data_dir

UNITS = {"P001": 1, "P002": 2, "P003": 5}
MAP = data_dir("benches") / "devicemaps" / "lamp-controller.yaml"

PROFILE = """\
profile: serial-server
version: "0.1.0"
title: {en: Serial server, zh: 串口服务器}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
requirements:
  - id: SS-PWR-001
    title: {en: Supply voltage, zh: 电压}
    area: power
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: {kind: measure, device: lamp, point: supply_voltage, limit: "198 V .. 242 V"}
  - id: SS-PWR-002
    title: {en: Power factor, zh: 功率因数}
    area: power
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: {kind: measure, device: lamp, point: power_factor, limit: ">= 0.9"}
"""


@pytest.fixture
def serial_server() -> Iterator[str]:
    [lamp] = [d for d in load_bench(bench_path("smart-pole")).devices if d.role == "lamp"]
    units = [dataclasses.replace(lamp, transport="modbus-rtu-tcp", unit=u) for u in UNITS.values()]
    server = ModbusBench(units, Pole(PoleSettings()), transport="modbus-rtu-tcp")
    yield server.start()
    server.stop()


def site(endpoint: str) -> str:
    targets = "".join(
        f"""
  - id: {pole}
    kind: pole
    title: {{en: {pole}, zh: {pole}}}
    devices:
      lamp: {{uri: "modbus-rtu-tcp://{endpoint}?unit={unit}", map: {MAP}, timeout: 1 s}}
"""
        for pole, unit in UNITS.items()
    )
    return f"""\
site: road-behind-a-serial-server
kind: field
title: {{en: Road 7, zh: 七号路}}
targets:{targets}"""


def test_poles_behind_one_serial_server_are_read_in_one_run(
    pytester: pytest.Pytester, serial_server: str
) -> None:
    pytester.makefile(".yaml", profile=PROFILE, site=site(serial_server))

    result = pytester.runpytest("--profile", "profile.yaml", "--site", "site.yaml")

    result.assert_outcomes(passed=2 * len(UNITS))
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    read = {
        (r["target"], m["source"]["address"]) for r in report["results"] for m in r["measurements"]
    }
    assert read == {
        (pole, f"modbus-rtu-tcp://{serial_server}?unit={unit}") for pole, unit in UNITS.items()
    }


def test_a_unit_that_is_not_on_the_bus_is_silence_not_an_answer(
    pytester: pytest.Pytester, serial_server: str
) -> None:
    pytester.makefile(
        ".yaml", profile=PROFILE, site=site(serial_server).replace("unit=5", "unit=9")
    )

    result = pytester.runpytest("--profile", "profile.yaml", "--site", "site.yaml")

    result.assert_outcomes(passed=2 * (len(UNITS) - 1), errors=2)
    result.stdout.fnmatch_lines(["*no answer from lamp at modbus-rtu-tcp://*unit=9*within 1 s*"])
