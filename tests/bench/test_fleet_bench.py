"""A fleet bench (poles > 1) as a district system reaches it, through the site it writes.

Per road bus of 16 poles the lamp controllers are units 1..16 behind one serial server (RTU
frames over TCP) and the meters share one DL/T 645 line behind another; each pole keeps its own
Modbus TCP port and its own gateway prefix; every server runs on one event loop. One 20-pole
fleet (two buses) with a fault is shared by the module; life-cycle tests start their own.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ycsa_conform.bench import BUS_POLES, MAX_POLES, Bench
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import DeviceException, DeviceTimeout
from ycsa_conform.site import load_site
from ycsa_conform.transport import Device, LinkOptions, open_device
from ycsa_conform.transport.mqtt import make_client, unique_client_id
from ycsa_conform.units import ureg

POLES = 20  # two buses: P001..P016 and P017..P020
FAULT = "tilt-device-failure"  # every pole's tilt sensor answers exception 4
TIMEOUT = 2.0  # s; generous: the tests judge answers, not speed, on a loaded machine

Opener = Callable[[str, str], Device]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Bench]:
    with Bench.start("smart-pole", poles=POLES, faults=[FAULT]) as bench:
        yield bench


def _targets(bench: Bench) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(bench.site_text)
    return {str(t["id"]): t for t in document["targets"]}


@pytest.fixture
def open_role(fleet: Bench) -> Iterator[Opener]:
    """open(pole, role) -> that pole's device, opened from the site, closed after the test."""
    targets = _targets(fleet)
    opened: list[Device] = []

    def open_it(pole: str, role: str, *, uri: str | None = None) -> Device:
        entry = targets[pole]["devices"][role]
        devicemap = load_devicemap(fleet.site_path.parent / entry["map"])
        device = open_device(role, uri or entry["uri"], devicemap, LinkOptions(timeout=TIMEOUT))
        opened.append(device)
        return device

    yield open_it
    for device in opened:
        device.close()


def _magnitude(device: Device, point: str, unit: str) -> float:
    value = device.read(point).value
    assert not isinstance(value, bool)
    return float(value.to(unit).magnitude)


# -- the site --------------------------------------------------------------------------------


def test_the_site_loads_and_points_serial_devices_at_their_roads_serial_servers(
    fleet: Bench, tmp_path: Path
) -> None:
    site = load_site(fleet.write_site(tmp_path / "site.yaml"))
    assert [t.id for t in site.targets] == [f"P{k:03d}" for k in range(1, POLES + 1)]
    targets = _targets(fleet)
    first, second = fleet.poles[0], fleet.poles[BUS_POLES]
    assert targets["P002"]["devices"]["lamp"]["uri"] == (
        f"modbus-rtu-tcp://{first['modbus_rtu']}?unit=2"
    )
    assert targets["P018"]["devices"]["lamp"]["uri"] == (
        f"modbus-rtu-tcp://{second['modbus_rtu']}?unit=2"
    )
    assert first["modbus_rtu"] != second["modbus_rtu"]
    assert targets["P018"]["devices"]["meter"]["uri"] == (
        f"dlt645-tcp://{second['dlt645']}?address=202611250018"
    )
    # Each pole keeps its own Modbus TCP port, as each pole's gateway has its own address.
    assert len({p["modbus_tcp"] for p in fleet.poles}) == POLES
    assert (
        targets["P018"]["devices"]["tilt"]["uri"]
        == f"modbus-tcp://{fleet.poles[17]['modbus_tcp']}?unit=4"
    )
    # The template, a user-facing example, is untouched.
    assert "{modbus_rtu}" in fleet.site_path.read_text(encoding="utf-8")


# -- lamp controllers on their RS-485 buses -----------------------------------------------------


def test_a_lamp_on_the_second_bus_is_its_own_poles(fleet: Bench, open_role: Opener) -> None:
    # P018 is unit 2 on bus 2; P002 is unit 2 on bus 1 and P017 unit 1 on bus 2.
    lamp, same_unit, same_bus = (open_role(p, "lamp") for p in ("P018", "P002", "P017"))
    assert _magnitude(lamp, "supply_voltage", "V") > 200
    try:
        lamp.write("target_light_command", ureg.Quantity(30, "%"))
        assert _magnitude(lamp, "target_light_command", "%") == 30
        assert fleet.fleet[17].target == 30.0
        for other in (same_unit, same_bus):
            assert _magnitude(other, "target_light_command", "%") == 100
        assert fleet.fleet[1].target == fleet.fleet[16].target == 100.0
    finally:
        lamp.write("target_light_command", ureg.Quantity(100, "%"))


def test_a_unit_nobody_has_on_a_bus_is_silent(fleet: Bench, open_role: Opener) -> None:
    # Bus 2 has four poles (units 1..4): unit 5 is no one, and a bus stays silent for it.
    uri = f"modbus-rtu-tcp://{fleet.poles[BUS_POLES]['modbus_rtu']}?unit=5"
    ghost = open_role("P017", "lamp", uri=uri)
    with pytest.raises(DeviceTimeout):
        ghost.read("supply_voltage")


# -- meters on their DL/T 645 lines ------------------------------------------------------------


@pytest.mark.parametrize("pole", ["P001", "P016", "P017", "P020"])
def test_a_meter_on_each_line_answers_to_its_address(pole: str, open_role: Opener) -> None:
    assert 200 < _magnitude(open_role(pole, "meter"), "supply_voltage", "V") < 240


def test_a_line_has_only_its_own_meters(fleet: Bench, open_role: Opener) -> None:
    # P017's meter is on the second line: the first line's serial server does not reach it.
    wrong_line = f"dlt645-tcp://{fleet.poles[0]['dlt645']}?address=202611250017"
    with pytest.raises(DeviceTimeout):
        open_role("P017", "meter", uri=wrong_line).read("supply_voltage")


# -- gateways ---------------------------------------------------------------------------------


def test_the_gateway_of_a_pole_is_commanded_on_its_own_prefix(
    fleet: Bench, open_role: Opener
) -> None:
    assert fleet.poles[12]["prefix"] == "ycsa/bench/P013"
    gateway = open_role("P013", "gateway")
    try:
        gateway.write("target_light_command", ureg.Quantity(40, "%"))
        assert fleet.fleet[12].target == 40.0
        assert fleet.fleet[13].target == 100.0
        # The gateway publishes fresh telemetry before it acknowledges.
        assert _magnitude(gateway, "actual_light_state", "%") == 40
    finally:
        gateway.write("target_light_command", ureg.Quantity(100, "%"))


def test_every_gateway_publishes_its_heartbeat_on_its_own_prefix(fleet: Bench) -> None:
    host, port = fleet.endpoints["mqtt"].split(":")
    seen: set[str] = set()
    client = make_client(unique_client_id("ycsa-test-fleet"))
    client.on_message = lambda c, u, m: seen.add(m.topic)
    client.connect(host, int(port))
    client.subscribe("ycsa/bench/+/heartbeat")
    client.loop_start()
    try:
        expected = {f"{p['prefix']}/heartbeat" for p in fleet.poles}
        deadline = time.monotonic() + 30  # heartbeats come every second; this is slack
        while seen != expected and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        client.loop_stop()
        client.disconnect()
    assert seen == expected


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pole", ["P001", "P016", "P017", "P020"])
def test_a_fault_given_at_start_reaches_every_pole(
    fleet: Bench, pole: str, open_role: Opener
) -> None:
    assert fleet.faults == (FAULT,)
    with pytest.raises(DeviceException, match=r"exception 4"):
        open_role(pole, "tilt").read("tilt_x")
    assert _magnitude(open_role(pole, "environment"), "wind_speed", "m/s") > 0
    assert all("tilt" in p.settings.exception_roles for p in fleet.fleet)


# -- life cycle -------------------------------------------------------------------------------


def _bench_threads() -> Counter[str]:
    prefixes = ("ycsa-bench", "ycsa-embedded-broker", "sim-gateway", "paho", "meter")
    return Counter(t.name for t in threading.enumerate() if t.name.startswith(prefixes))


def _descriptors() -> set[tuple[str, str]]:
    """This process's open descriptors as (number, what it is). Other tests' leftovers may close
    while this test runs (their collector or threads), so a leak is a descriptor that was not open
    before, never a change in the count."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        # The listing's own descriptor, or one closed meanwhile, is gone by the readlink.
        with contextlib.suppress(FileNotFoundError):
            found.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
    return found


def _broker_processes() -> set[int]:
    """Children of this process running the embedded broker (a fleet's runs in its own); other
    tests' benches may hold some, so compare with the set before."""
    found = set()
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rpartition(")")[2].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, ValueError):
            continue  # not a process, or gone meanwhile
        if parent == os.getpid() and b"ycsa_conform.bench.broker" in command:
            found.add(int(entry))
    return found


@pytest.mark.parametrize("broker", ["mosquitto", "embedded"])
def test_a_fleet_runs_on_one_thread_and_stop_leaves_nothing(broker: str) -> None:
    if broker == "mosquitto":
        from ycsa_conform.bench.broker import mosquitto_missing_reason

        if (reason := mosquitto_missing_reason()) is not None:
            pytest.skip(reason)
    # Sockets other tests left to the cycle collector close now, not during this test's count.
    gc.collect()
    threads, descriptors, brokers = _bench_threads(), _descriptors(), _broker_processes()
    bench = Bench.start("smart-pole", poles=BUS_POLES + 1, broker=broker)
    try:
        # One loop thread for every server and gateway; a fleet's embedded broker is a process
        # of its own (it would take the loop's share of the interpreter lock).
        assert _bench_threads() - threads == Counter(["ycsa-bench-loop"])
        assert len(_broker_processes() - brokers) == (broker == "embedded")
    finally:
        bench.stop()
    bench.stop()  # idempotent
    gc.collect()
    assert _bench_threads() == threads
    assert _broker_processes() == brokers
    assert _descriptors() - descriptors == set(), "descriptors the bench left open"


def test_a_fleet_is_at_most_max_poles() -> None:
    assert MAX_POLES == 1000
    with pytest.raises(ValueError, match=r"poles=1001: a bench simulates 1 to 1000 poles"):
        Bench.start("smart-pole", poles=MAX_POLES + 1)


def test_a_fleet_on_the_embedded_broker_spreads_its_gateways_over_several_brokers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # amqtt carrying 1,000 gateways fell seconds behind: a fleet on it gets one broker process
    # per _EMBEDDED_GATEWAYS poles (here 16, so 17 poles take two), whole buses to each, and
    # every pole's site entry names its own broker, which serves its gateway.
    import ycsa_conform.bench as bench_module

    monkeypatch.setattr(bench_module, "_EMBEDDED_GATEWAYS", BUS_POLES)
    brokers = _broker_processes()
    with Bench.start("smart-pole", poles=BUS_POLES + 1, broker="embedded") as bench:
        assert len(_broker_processes() - brokers) == 2
        targets = _targets(bench)
        uris = {
            pole: targets[pole]["devices"]["gateway"]["uri"] for pole in ("P001", "P016", "P017")
        }
        assert uris["P001"].split("/")[2] == uris["P016"].split("/")[2]
        assert uris["P001"].split("/")[2] != uris["P017"].split("/")[2]
        for pole in ("P001", "P017"):
            entry = targets[pole]["devices"]["gateway"]
            devicemap = load_devicemap(bench.site_path.parent / entry["map"])
            gateway = open_device("gateway", entry["uri"], devicemap, LinkOptions(timeout=5.0))
            try:
                assert gateway.read("supply_voltage").value.to("V").magnitude > 200  # type: ignore[union-attr]
            finally:
                gateway.close()
    assert _broker_processes() == brokers
