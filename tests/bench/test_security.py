"""Reaching devices safely, on real brokers: no login over plain MQTT unless allowed, TLS
verification on unless turned off, secrets that MQTT cannot carry refused without being quoted;
and a bench that listens on the loopback interface only."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ycsa_conform.bench import Bench
from ycsa_conform.bench.broker import Broker, start_broker
from ycsa_conform.bench.gateway import nominal_values, telemetry_payload
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import DeviceRefused
from ycsa_conform.resources import data_dir
from ycsa_conform.transport import LinkOptions, Secret, open_device, parse_device_uri
from ycsa_conform.transport.mqtt import MqttDevice, MqttLink
from ycsa_conform.units import ureg

GATEWAY_MAP = load_devicemap(data_dir("benches") / "devicemaps" / "gateway.yaml")
USER, PASSWORD = "Usr-Hn52", "Pw-Kd83-seed"
LOGIN = {"username": Secret("env", "YCSA_SEC_USER"), "password": Secret("env", "YCSA_SEC_PW")}


@pytest.fixture(scope="module")
def plain_broker(
    tmp_path_factory: pytest.TempPathFactory, mosquitto_required: None
) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("plain")
    with start_broker(kind="mosquitto", directory=directory, users={USER: PASSWORD}) as broker:
        yield broker


@pytest.fixture(scope="module")
def tls_broker(
    tmp_path_factory: pytest.TempPathFactory, mosquitto_required: None
) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("tls")
    with start_broker(
        kind="mosquitto", directory=directory, tls=True, users={USER: PASSWORD}
    ) as broker:
        yield broker


@pytest.fixture(autouse=True)
def login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YCSA_SEC_USER", USER)
    monkeypatch.setenv("YCSA_SEC_PW", PASSWORD)


def _telemetry_on(broker: Broker, **options: object) -> str:
    """A prefix with retained telemetry on `broker`, published with the login."""
    prefix = f"test/{uuid.uuid4().hex[:8]}/pole"
    link = MqttLink(
        "publisher",
        parse_device_uri(broker.url(prefix)),
        LinkOptions(**LOGIN, **options),  # type: ignore[arg-type]
    )
    try:
        payload = json.dumps(telemetry_payload(GATEWAY_MAP, nominal_values()))
        link.transact(
            {
                "op": "publish",
                "topic": f"{prefix}/telemetry",
                "payload": payload,
                "qos": 1,
                "retain": True,
            }
        )
    finally:
        link.close()
    return prefix


def _gateway(uri: str, **options: object) -> MqttDevice:
    device = open_device("gateway", uri, GATEWAY_MAP, LinkOptions(timeout=0.5, **options))  # type: ignore[arg-type]
    assert isinstance(device, MqttDevice)
    return device


def test_a_login_over_plain_mqtt_is_refused_before_connecting_unless_allowed(
    plain_broker: Broker,
) -> None:
    prefix = _telemetry_on(plain_broker, allow_plain_credentials=True)
    refused = _gateway(plain_broker.url(prefix), **LOGIN)
    try:
        with pytest.raises(DeviceRefused) as caught:
            refused.read("supply_voltage")
        message = str(caught.value)
        assert "the login would cross the network unencrypted over mqtt://" in message
        assert "set 'allow_plain_credentials: true' on the device" in message
        assert refused._link.connections == 0
        assert PASSWORD not in message
    finally:
        refused.close()
    allowed = _gateway(plain_broker.url(prefix), allow_plain_credentials=True, **LOGIN)
    try:
        assert allowed.read("supply_voltage").value == ureg.Quantity(230.1, "V")
    finally:
        allowed.close()


def test_tls_verification_refuses_an_unknown_ca_unless_turned_off(tls_broker: Broker) -> None:
    assert tls_broker.ca_path is not None
    prefix = _telemetry_on(tls_broker, ca=tls_broker.ca_path)
    # No 'ca:': the bench's own CA is not among the system's, so verification refuses it.
    verified = _gateway(tls_broker.url(prefix), **LOGIN)
    try:
        with pytest.raises(DeviceRefused, match="does not verify against the system's CA"):
            verified.read("supply_voltage")
    finally:
        verified.close()
    unverified = _gateway(tls_broker.url(prefix), tls_verify=False, **LOGIN)
    try:
        assert unverified.read("supply_voltage").value == ureg.Quantity(230.1, "V")
    finally:
        unverified.close()


def test_a_secret_mqtt_cannot_carry_is_refused_without_quoting_it(
    tls_broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An environment variable holding bytes that are not UTF-8 (surrogate-escaped by Python).
    monkeypatch.setenv("YCSA_SEC_PW", "Pw-Kd83-seed\udcff")
    device = _gateway(tls_broker.url("test/pole"), ca=tls_broker.ca_path, **LOGIN)
    try:
        with pytest.raises(DeviceRefused) as caught:
            device.read("supply_voltage")
    finally:
        device.close()
    message = str(caught.value)
    assert "the value of env:YCSA_SEC_PW is not valid UTF-8 text" in message
    assert "Pw-Kd83" not in message


# -- the bench listens on loopback only ---------------------------------------------------------


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = {pid}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _listening(pids: set[int]) -> list[str]:
    """The local addresses ('HEXIP:HEXPORT' as /proc/net/tcp* write them) of the TCP sockets
    the processes `pids` listen on."""
    inodes = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1])
    return found


def _loopback(local: str) -> bool:
    address = local.split(":")[0]
    if len(address) == 8:  # IPv4, little-endian: 127.x.x.x ends in 7F
        return address.upper().endswith("7F")
    return address == "00000000000000000000000001000000"  # ::1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
@pytest.mark.parametrize("name", ["smart-pole", "smart-community"])
def test_the_bench_listens_on_loopback_only(name: str) -> None:
    with Bench.start(name):
        listening = _listening(_descendants(os.getpid()))
    # The bench's Modbus TCP server, serial servers and broker at least.
    assert len(listening) >= 2, listening
    assert [local for local in listening if not _loopback(local)] == []


def test_client_ids_differ_between_processes_even_with_the_same_pid() -> None:
    # Two CI containers on one city broker may both run as pid 7: the tag tells them apart.
    # Two interpreters here stand for them (their pids differ too; the tag is checked alone).
    import subprocess

    code = "from ycsa_conform.transport.mqtt import unique_client_id; print(unique_client_id())"
    tags = set()
    for _ in range(2):
        shown = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        prefix, pid, number, tag = shown.rsplit("-", 3)
        assert (prefix, number) == ("ycsa-conform", "1")
        assert pid.isdigit()
        assert len(tag) == 6
        tags.add(tag)
    assert len(tags) == 2
