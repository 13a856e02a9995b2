"""A Modbus TCP device whose connection breaks under a request, on real loopback sockets: a
reset (RST, as a gateway rebooting or a bench killed mid-run gives) is the device's error with
its cause, never a raw ConnectionResetError that the run reports as a failure of the tool; on a
connection that had served earlier requests, the read is asked once more on a new connection.

The device is a hand-written socket server (not pymodbus's), so that it can reset a connection
at the byte it chooses: `script` says, per accepted connection, how many requests it answers
before it resets the connection."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import DeviceError
from ycsa_conform.transport import Device, LinkOptions, open_device
from ycsa_conform.units import ureg

Opener = Callable[[list[int]], tuple["ResettingDevice", Device]]
REGISTER = 2305  # what the device holds at every address (230.5 V at scale 0.1)


class ResettingDevice:
    """Unit 1 on loopback: connection n answers `script[n]` read requests (function 03) with
    REGISTER in every register, then resets (SO_LINGER 0: an RST, not a FIN) on the next."""

    def __init__(self, script: list[int]) -> None:
        self.script = script
        self.accepted = 0
        self.requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            answers = self.script[min(self.accepted, len(self.script) - 1)]
            self.accepted += 1
            with conn:
                self._talk(conn, answers)

    def _talk(self, conn: socket.socket, answers: int) -> None:
        while True:
            request = conn.recv(260)
            if not request:
                return
            self.requests += 1
            if answers == 0:
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return  # closing with linger 0 sends RST
            answers -= 1
            transaction, _, _, unit, function, _, count = struct.unpack(">HHHBBHH", request[:12])
            assert function == 3, request.hex()
            data = struct.pack(f">{count}H", *([REGISTER] * count))
            pdu = bytes([function, len(data)]) + data
            conn.sendall(struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu)

    def stop(self) -> None:
        self._listener.close()


@pytest.fixture
def open_meter(tmp_path: Path) -> Iterator[Opener]:
    made: list[tuple[ResettingDevice, Device]] = []
    path = tmp_path / "meter.yaml"
    path.write_text(
        "devicemap: acme/meter\nversion: 1\nprotocol: modbus\ndefaults: {table: holding}\n"
        "points:\n  supply_voltage: {address: 0, type: uint16, scale: 0.1, unit: V}\n",
        encoding="utf-8",
    )
    devicemap = load_devicemap(path)

    def start(script: list[int]) -> tuple[ResettingDevice, Device]:
        server = ResettingDevice(script)
        uri = f"modbus-tcp://127.0.0.1:{server.port}?unit=1"
        device = open_device("meter", uri, devicemap, LinkOptions(timeout=2.0, retries=0))
        made.append((server, device))
        return server, device

    yield start
    for server, device in made:
        device.close()
        server.stop()


def volts(device: Device) -> float:
    value = device.read("supply_voltage").value
    assert isinstance(value, ureg.Quantity), value
    return float(value.to("V").magnitude)


def test_a_reset_on_a_new_connection_is_the_devices_error_with_its_cause(
    open_meter: Opener,
) -> None:
    server, device = open_meter([0])
    with pytest.raises(DeviceError) as caught:
        device.read("supply_voltage")
    message = str(caught.value)
    assert type(caught.value) is DeviceError  # not a ConnectionResetError let through
    assert f"127.0.0.1:{server.port}" in message, message
    assert "the connection failed during the request (Connection reset by peer)" in message
    assert server.accepted == 1  # a fresh connection is not tried again


def test_a_reset_on_a_reused_connection_is_asked_once_more_on_a_new_one(
    open_meter: Opener,
) -> None:
    server, device = open_meter([1, 1])  # answers once, resets the second request; answers again
    assert volts(device) == pytest.approx(230.5)
    assert volts(device) == pytest.approx(230.5)
    assert (server.accepted, server.requests) == (2, 3)
