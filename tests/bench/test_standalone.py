"""`ycsa-conform bench smart-pole` as a vendor uses it: a separate process, reached with plain
tools (a bare pymodbus client, raw DL/T 645 bytes over its serial server, an MQTT subscriber),
then stopped with SIGTERM leaving no mosquitto behind. Two poles are a fleet: the lamp
controllers on one RS-485 bus and the meters on one DL/T 645 line, each behind a serial server
(RTU frames and 645 frames over TCP)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import procs
import pytest
from pymodbus import FramerType
from pymodbus.client import ModbusTcpClient

from ycsa_conform.profile.loader import load_profile


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("standalone")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ycsa_conform",
            "bench",
            "smart-pole",
            "--poles",
            "2",
            "--site-file",
            str(folder / "site.yaml"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "no output"
    ready: dict[str, Any] = json.loads(line)
    ready["process"] = process
    yield ready
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_the_ready_line_names_every_endpoint_and_a_site_file(served: dict[str, Any]) -> None:
    assert served["bench"] == "smart-pole"
    assert [p["pole"] for p in served["poles"]] == ["P001", "P002"]
    assert set(served["endpoints"]) == {"modbus_tcp", "modbus_rtu", "dlt645", "mqtt"}
    assert Path(served["site"]).is_file()
    assert served["poles"][0]["modbus_tcp"] != served["poles"][1]["modbus_tcp"]
    assert served["poles"][1]["meter_address"] == "202611250002"


def test_a_bare_pymodbus_client_reads_the_tcp_and_rtu_devices(served: dict[str, Any]) -> None:
    host, port = served["endpoints"]["modbus_tcp"].split(":")
    tcp = ModbusTcpClient(host, port=int(port), timeout=1, retries=0)
    assert tcp.connect()  # type: ignore[no-untyped-call]
    tilt = tcp.read_holding_registers(0, count=2, device_id=4)
    tcp.close()  # type: ignore[no-untyped-call]
    assert not tilt.isError()
    # The second pole's lamp controller: unit 2 on the bus behind the serial server.
    host, port = served["poles"][1]["modbus_rtu"].split(":")
    rtu = ModbusTcpClient(host, port=int(port), framer=FramerType.RTU, timeout=1, retries=0)
    assert rtu.connect()  # type: ignore[no-untyped-call]
    lamp = rtu.read_input_registers(0, count=1, device_id=2)
    rtu.close()  # type: ignore[no-untyped-call]
    assert not lamp.isError()
    assert 1980 <= lamp.registers[0] <= 2354  # supply voltage in 0.1 V


def _bcd(data: bytes) -> str:
    return "".join(f"{b:02X}" for b in reversed(data))


def test_raw_dlt645_bytes_read_the_meter_through_its_serial_server(served: dict[str, Any]) -> None:
    # Read DI 02 01 01 00 (phase A voltage) from meter 202611250001, built by hand:
    # 68 A0..A5 68 11 04 DI0+33 DI1+33 DI2+33 DI3+33 CS 16, address low byte first.
    address = bytes.fromhex("202611250001")[::-1]
    body = b"\x68" + address + b"\x68\x11\x04" + bytes([0x33, 0x34, 0x34, 0x35])
    frame = b"\xfe\xfe\xfe\xfe" + body + bytes([sum(body) % 256]) + b"\x16"
    host, port = served["endpoints"]["dlt645"].split(":")
    with socket.create_connection((host, int(port)), timeout=2) as line:
        line.sendall(frame)
        reply = b""
        deadline = time.monotonic() + 3
        while not reply.endswith(b"\x16") or len(reply) < 18:
            reply += line.recv(64)
            assert time.monotonic() < deadline, reply.hex(" ")
    reply = reply.lstrip(b"\xfe")
    assert reply[0] == 0x68
    assert reply[8] == 0x91  # a normal read reply
    data = bytes(b - 0x33 for b in reply[10 : 10 + reply[9]])
    assert data[:4] == bytes([0x00, 0x01, 0x01, 0x02])  # the DI, low byte first
    volts = int(_bcd(data[4:6])) / 10
    assert 198 <= volts <= 235.4


def test_an_mqtt_subscriber_gets_the_gateway_telemetry(served: dict[str, Any]) -> None:
    host, port = served["endpoints"]["mqtt"].split(":")
    topic = f"{served['poles'][1]['prefix']}/telemetry"
    if shutil.which("mosquitto_sub"):
        out = subprocess.run(
            ["mosquitto_sub", "-h", host, "-p", port, "-t", topic, "-C", "1", "-W", "5"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    else:  # mosquitto_sub comes with mosquitto (apt-get install -y mosquitto-clients)
        from ycsa_conform.transport.mqtt import make_client

        received: list[str] = []
        client = make_client("ycsa-test-standalone")
        client.on_message = lambda c, u, m: received.append(m.payload.decode())
        client.connect(host, int(port))
        client.subscribe(topic)
        client.loop_start()
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        client.loop_stop()
        client.disconnect()
        out = received[0]
    telemetry = json.loads(out)
    assert 198 <= telemetry["power"]["voltage"] <= 235.4


def test_pytest_passes_against_the_printed_site_file(served: dict[str, Any]) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--profile",
            "smart-pole",
            "--site",
            served["site"],
            "-q",
            "-p",
            "no:cacheprovider",
            "--report-dir",
            str(Path(served["site"]).parent / "r"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(served["site"]).parent,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    # Two poles, every requirement of the profile for each; the meter's response delay cannot
    # be timed through a serial server (its buffering would count), so SP-DATA-006 does not
    # apply to a fleet's meters.
    every = 2 * len(load_profile("smart-pole").requirements)
    assert f"{every - 2} passed, 2 skipped" in result.stdout


def test_sigterm_stops_it_cleanly_with_no_children_left(served: dict[str, Any]) -> None:
    process: subprocess.Popen[str] = served["process"]
    children = procs.children(process.pid)
    process.send_signal(signal.SIGTERM)
    assert process.wait(15) == 0
    assert process.stderr is not None
    assert "bench stopped" in process.stderr.read()
    time.sleep(0.2)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    zombies = [p for p in alive if "Z" in Path(f"/proc/{p}/stat").read_text().split()[2]]
    assert alive == zombies, f"left running: {alive}"
    assert not Path(served["site"]).exists() or os.path.getsize(served["site"]) > 0
