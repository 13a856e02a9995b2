"""Meters behind a serial server (`dlt645-tcp`): one DL/T 645 line reached over TCP.

The bench's serial server passes bytes between a TCP port and one end of a pty; simulated
meters answer on the other end, as meters answer on the RS-485 line behind a field server.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from ycsa_conform.bench.meter645 import SimMeter645
from ycsa_conform.bench.pty import PtyPair
from ycsa_conform.bench.serial_server import SerialServer
from ycsa_conform.checks import CheckContext
from ycsa_conform.checks.protocol import ProbeKind, ProtocolCheck
from ycsa_conform.devicemap import DeviceMap, load_devicemap
from ycsa_conform.errors import DeviceError, DeviceRefused, DeviceTimeout
from ycsa_conform.limit import parse_limit
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Verdict
from ycsa_conform.site import DeviceSpec, Target
from ycsa_conform.transport import LinkOptions, open_device, parse_device_uri

MAP = data_dir("benches") / "devicemaps" / "meter-dlt645.yaml"
VOLTS = {"202611250001": 229.0, "202611250002": 231.5}


@pytest.fixture
def line() -> Iterator[tuple[str, DeviceMap, dict[str, SimMeter645]]]:
    devicemap = load_devicemap(MAP)
    with PtyPair.open(prefer="python") as pair:
        meters = {
            a: SimMeter645(pair.bench_path, address=a, devicemap=devicemap, values=lambda _, v=v: v)
            for a, v in VOLTS.items()
        }
        for meter in meters.values():
            meter.start()
        with SerialServer(pair.device_path) as server:
            yield server.endpoint, devicemap, meters
        for meter in meters.values():
            meter.stop()


def test_two_meters_behind_one_serial_server_answer_each_for_itself(
    line: tuple[str, DeviceMap, dict[str, SimMeter645]],
) -> None:
    endpoint, devicemap, meters = line
    devices = {
        a: open_device("meter", f"dlt645-tcp://{endpoint}?address={a}", devicemap, LinkOptions())
        for a in VOLTS
    }
    read: dict[str, list[float]] = {a: [] for a in VOLTS}

    def poll(address: str) -> None:
        for _ in range(5):
            value = devices[address].read("supply_voltage").value
            read[address].append(float(value.to("V").magnitude))  # type: ignore[union-attr]

    threads = [threading.Thread(target=poll, args=(a,)) for a in VOLTS]
    try:
        # Both at once: the server's TCP connection is one line, one request at a time.
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        for device in devices.values():
            device.close()

    assert read == {a: [v] * 5 for a, v in VOLTS.items()}
    assert [m.requests for m in meters.values()] == [5, 5]
    assert devices["202611250001"].source.scheme == "dlt645-tcp"


def test_a_meter_not_on_the_line_is_silence(
    line: tuple[str, DeviceMap, dict[str, SimMeter645]],
) -> None:
    endpoint, devicemap, _ = line
    ghost = open_device(
        "meter",
        f"dlt645-tcp://{endpoint}?address=202611250009",
        devicemap,
        LinkOptions(timeout=0.3),
    )
    try:
        with pytest.raises(DeviceTimeout, match=r"no answer from meter at dlt645-tcp://.*0\.3 s"):
            ghost.read("supply_voltage")
    finally:
        ghost.close()


def test_no_serial_server_at_the_address_is_refused_saying_so() -> None:
    devicemap = load_devicemap(MAP)
    meter = open_device(
        "meter",
        "dlt645-tcp://127.0.0.1:9?address=202611250001",
        devicemap,
        LinkOptions(timeout=0.3),
    )
    try:
        with pytest.raises(DeviceRefused, match=r"cannot connect to the serial server at 127"):
            meter.read("supply_voltage")
    finally:
        meter.close()


def test_a_serial_server_that_drops_the_connection_is_a_device_error_saying_so() -> None:
    # A server of our own that accepts and hangs up (a server restarting, another master
    # taking the port): the read fails naming the server, not as silence after the timeout.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def hang_up() -> None:
        connection, _ = listener.accept()
        connection.recv(64)  # the request
        connection.close()

    server = threading.Thread(target=hang_up)
    server.start()
    meter = open_device(
        "meter",
        f"dlt645-tcp://127.0.0.1:{port}?address=202611250001",
        load_devicemap(MAP),
        LinkOptions(timeout=5.0),
    )
    try:
        with pytest.raises(DeviceError, match=r"serial server closed the connection; check the se"):
            meter.read("supply_voltage")
    finally:
        meter.close()
        server.join(10)
        listener.close()


def test_the_response_delay_behind_a_serial_server_is_untested_not_judged(
    line: tuple[str, DeviceMap, dict[str, SimMeter645]],
) -> None:
    # The server's buffering would count as the meter's delay: a slow server could fail a
    # good meter, and nothing here tells the two apart.
    endpoint, devicemap, meters = line
    uri = f"dlt645-tcp://{endpoint}?address=202611250001"
    spec = DeviceSpec(
        role="meter",
        uri=uri,
        address=parse_device_uri(uri),
        devicemap=devicemap,
        options=LinkOptions(),
        max_age=10.0,
        origin="test",
    )
    where = Target(
        id="T1",
        kind="pole",
        title={},
        parameters={},
        design={},
        equipment=(),
        devices={"meter": spec},
        origin="test",
    )
    check = ProtocolCheck(
        device="meter", probe=ProbeKind.RESPONSE_TIME, limit=parse_limit("20 ms .. 500 ms")
    )

    outcome = check.run(CheckContext(target=where, parameters={}, device=lambda role: None))

    assert (outcome.verdict, outcome.untested) == (Verdict.NOT_APPLICABLE, True)
    assert "reached through a serial server" in outcome.reason
    assert meters["202611250001"].requests == 0
