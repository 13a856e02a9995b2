"""MQTT end to end: a real broker (mosquitto and the embedded one), the simulated gateway,
read and commanded through `MqttDevice`, and the `message` check kind on live traffic."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pint
import pytest

from ycsa_conform.bench.broker import (
    Broker,
    make_certificates,
    start_broker,
)
from ycsa_conform.bench.gateway import SimGateway, nominal_values, telemetry_payload
from ycsa_conform.checks.base import CheckContext, ParameterInfo, ParseContext
from ycsa_conform.checks.message import MessageCheck
from ycsa_conform.checks.message import parse as parse_message_check
from ycsa_conform.checks.presence import presence_of
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import DecodeError, DeviceError, DeviceRefused, DeviceTimeout
from ycsa_conform.point import POINTS
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Verdict
from ycsa_conform.site import Target
from ycsa_conform.source import read_document
from ycsa_conform.transport import LinkOptions, Secret, open_device, parse_device_uri
from ycsa_conform.transport.mqtt import MqttDevice, MqttLink, make_client, unique_client_id
from ycsa_conform.units import parse_unit, ureg

GATEWAY_MAP = load_devicemap(data_dir("benches") / "devicemaps" / "gateway.yaml")
TIMEOUT = 0.5  # s; a retained message arrives within milliseconds of subscribing
PERIOD = 0.1  # s between telemetry messages
HEARTBEAT = 0.2  # s between heartbeats
KINDS = ["mosquitto", "embedded"]


@pytest.fixture(scope="module", params=KINDS)
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Broker]:
    kind: str = request.param
    if kind == "mosquitto":
        request.getfixturevalue("mosquitto_required")
    with start_broker(kind=kind, directory=tmp_path_factory.mktemp(kind)) as running:
        yield running


@pytest.fixture
def embedded_broker(tmp_path: Path) -> Iterator[Broker]:
    with start_broker(kind="embedded", directory=tmp_path) as running:
        yield running


class Pole:
    """The gateway's world: dimming level set by commands, and whether commands are refused."""

    def __init__(self) -> None:
        self.dimming = 80.0
        self.refuse = False

    def values(self) -> dict[str, float | bool]:
        return nominal_values(dimming=self.dimming)

    def command(self, command: Any) -> str:
        level = command.get("dimming")
        if self.refuse or not isinstance(level, int | float) or not 0 <= level <= 100:
            return "rejected"
        self.dimming = float(level)
        return "ok"


GatewayFactory = Callable[[Broker], tuple[SimGateway, Pole]]


@pytest.fixture
def start_gateway() -> Iterator[GatewayFactory]:
    """start(broker) -> a running gateway on a prefix of its own, stopped after the test."""
    started: list[SimGateway] = []

    def start(on: Broker) -> tuple[SimGateway, Pole]:
        pole = Pole()
        gateway = SimGateway(
            on.host,
            on.port,
            prefix=f"test/{uuid.uuid4().hex[:8]}/pole",
            values=pole.values,
            on_command=pole.command,
            period=PERIOD,
            heartbeat=HEARTBEAT,
        )
        started.append(gateway.start())
        return gateway, pole

    yield start
    for gateway in started:
        gateway.stop()


DeviceFactory = Callable[..., MqttDevice]


@pytest.fixture
def open_gateway() -> Iterator[DeviceFactory]:
    """open(uri, **link options) -> an MqttDevice for the gateway map, closed after the test."""
    opened: list[MqttDevice] = []

    def open_uri(uri: str, **options: Any) -> MqttDevice:
        device = open_device(
            "gateway",
            uri,
            GATEWAY_MAP,
            LinkOptions(timeout=options.pop("timeout", TIMEOUT), **options),
        )
        assert isinstance(device, MqttDevice)
        opened.append(device)
        return device

    yield open_uri
    for device in opened:
        device.close()


# -- reading ------------------------------------------------------------------------------------


def test_every_point_is_read_from_one_telemetry_message_with_its_unit(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, _ = start_gateway(broker)
    device = open_gateway(broker.url(gateway.prefix))
    before = time.time()
    readings = device.read_many(list(GATEWAY_MAP.points))
    errors = {n: r for n, r in readings.items() if isinstance(r, DeviceError)}
    assert not errors
    values = {n: r.value for n, r in readings.items() if not isinstance(r, DeviceError)}
    assert values["supply_voltage"] == ureg.Quantity(230.1, "V")
    assert values["air_temperature"] == ureg.Quantity(21.4, "degC")
    assert values["pm2_5"] == ureg.Quantity(18, "µg/m^3")
    assert values["actual_light_state"] == ureg.Quantity(80, "percent")
    assert values["active_energy"] == ureg.Quantity(1234.567, "kWh")  # 1234567 Wh × 0.001
    assert values["lamp_failure"] is False
    nominal = nominal_values()
    for name, value in values.items():  # the gateway built its payload from the same map
        if isinstance(value, pint.Quantity) and name != "device_clock":
            canonical = value.to(parse_unit(POINTS[name].unit)).magnitude
            assert canonical == pytest.approx(nominal[name], abs=1e-9), name
    clock = values["device_clock"]
    assert isinstance(clock, pint.Quantity)
    assert abs(clock.to("s").magnitude - before) < 5
    assert device.transactions == 1 == device.minimum_transactions(list(GATEWAY_MAP.points))
    reading = readings["supply_voltage"]
    assert not isinstance(reading, DeviceError)
    assert before <= reading.at <= time.time()
    assert reading.source.scheme == "mqtt"
    assert reading.source.address == broker.url(gateway.prefix)


def test_a_read_of_retained_telemetry_does_not_wait_for_the_window(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, _ = start_gateway(broker)
    device = open_gateway(broker.url(gateway.prefix), timeout=2.0)
    device.read("supply_voltage")  # connects
    started = time.perf_counter()
    device.read("supply_voltage")
    assert time.perf_counter() - started < 1.0


def test_a_topic_nobody_publishes_on_is_a_timeout_naming_topic_and_window(
    broker: Broker, open_gateway: DeviceFactory
) -> None:
    device = open_gateway(broker.url("test/nobody/home"), timeout=0.3)
    with pytest.raises(
        DeviceTimeout,
        match=r"no message from gateway .* on test/nobody/home/telemetry within 0\.3 s "
        r"\[points: supply_voltage\]",
    ):
        device.read("supply_voltage")


def test_malformed_json_is_a_decode_error(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, _ = start_gateway(broker)
    gateway.malformed_json = True
    gateway.publish_telemetry()
    device = open_gateway(broker.url(gateway.prefix))
    readings = device.read_many(["supply_voltage", "air_temperature"])
    for result in readings.values():
        assert isinstance(result, DecodeError)
        assert f"payload on {gateway.prefix}/telemetry is not JSON" in str(result)
    assert device.transactions == 1


def test_a_schema_violation_names_the_schema_and_the_place(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, _ = start_gateway(broker)
    gateway.schema_violation = True
    gateway.publish_telemetry()
    device = open_gateway(broker.url(gateway.prefix))
    with pytest.raises(DecodeError) as caught:
        device.read("air_temperature")
    message = str(caught.value)
    assert f"payload on {gateway.prefix}/telemetry breaks its schema" in message
    assert (
        "gateway-telemetry.schema.json at $.power.voltage: '230.1 V' is not of type 'number'"
        in message
    )


# -- commands -----------------------------------------------------------------------------------


def test_a_command_is_acknowledged_and_takes_effect(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, pole = start_gateway(broker)
    device = open_gateway(broker.url(gateway.prefix))
    device.write("target_light_command", ureg.Quantity(40, "percent"))
    assert pole.dimming == 40.0
    (command,) = gateway.commands
    assert command["dimming"] == 40  # a whole number goes out as an integer
    assert isinstance(command["id"], str)
    gateway.publish_telemetry()
    assert device.read("actual_light_state").value == ureg.Quantity(40, "percent")


def test_a_refused_command_names_the_status(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, pole = start_gateway(broker)
    pole.refuse = True
    device = open_gateway(broker.url(gateway.prefix))
    with pytest.raises(
        DeviceError,
        match=r"target_light_command = 40 % was refused: .* status 'rejected' at /status "
        r"\(accepted: 'ok'\)",
    ):
        device.write("target_light_command", ureg.Quantity(40, "percent"))


def test_a_command_without_acknowledgement_times_out(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, pole = start_gateway(broker)
    gateway.ack_commands = False
    device = open_gateway(broker.url(gateway.prefix), timeout=0.3)
    with pytest.raises(
        DeviceTimeout,
        match=rf"no acknowledgement from gateway on {gateway.prefix}/cmd/ack within 0\.3 s "
        r"for command id \w+",
    ):
        device.write("target_light_command", ureg.Quantity(10, "percent"))
    assert pole.dimming == 10.0  # taken, just not acknowledged


def test_an_acknowledgement_of_another_command_is_not_taken_for_ours(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, _ = start_gateway(broker)
    gateway.ack_commands = False
    other = MqttLink("other", parse_device_uri(broker.url(gateway.prefix)), LinkOptions())
    try:  # retained, so the broker hands it over the moment the device subscribes to acks
        ack = json.dumps({"id": "another-client-7", "status": "ok"})
        other.transact(
            {"op": "publish", "topic": f"{gateway.prefix}/cmd/ack", "payload": ack, "retain": True}
        )
    finally:
        other.close()
    device = open_gateway(broker.url(gateway.prefix), timeout=0.3)
    with pytest.raises(DeviceTimeout, match="no acknowledgement"):
        device.write("target_light_command", ureg.Quantity(10, "percent"))


@pytest.mark.parametrize(
    ("point", "value", "message"),
    [
        (
            "target_light_command",
            ureg.Quantity(120, "percent"),
            "target_light_command = 120 %: outside the writable range '0 % .. 100 %'",
        ),
        ("target_light_command", 50, "give a quantity with a unit, like '50 %'"),
        ("target_light_command", ureg.Quantity(5, "V"), "5 V is not in a unit compatible with %"),
        ("supply_voltage", ureg.Quantity(230, "V"), "does not declare it writable"),
    ],
)
def test_a_write_outside_the_map_is_refused_before_anything_is_sent(
    embedded_broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: DeviceFactory,
    point: str,
    value: Any,
    message: str,
) -> None:
    gateway, _ = start_gateway(embedded_broker)
    device = open_gateway(embedded_broker.url(gateway.prefix))
    with pytest.raises(ValueError, match="refusing to write") as caught:
        device.write(point, value)
    assert message in str(caught.value)
    assert device.transactions == 0
    assert gateway.commands == []


# -- connecting ---------------------------------------------------------------------------------


def test_a_refused_connection_names_host_and_port(open_gateway: DeviceFactory) -> None:
    device = open_gateway("mqtt://127.0.0.1:1/test/pole")
    with pytest.raises(DeviceRefused, match=r"127\.0\.0\.1:1 refused the connection"):
        device.read("supply_voltage")


def test_client_ids_are_unique_within_a_process() -> None:
    first, second = unique_client_id("site-a"), unique_client_id("site-a")
    assert first != second
    assert first.startswith(f"site-a-{os.getpid()}-")


def test_two_devices_with_the_same_client_id_prefix_do_not_kick_each_other(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, _ = start_gateway(broker)
    uri = broker.url(gateway.prefix) + "?client_id=bench"
    one, two = open_gateway(uri), open_gateway(uri)
    for _ in range(2):
        one.read("supply_voltage")
        two.read("supply_voltage")
    link = one._link
    assert isinstance(link, MqttLink)
    assert link.connections == 1  # reads one after another reuse one connection
    (session,) = link._idle
    assert session.lost is None  # never disconnected by the broker


def test_a_closed_device_leaves_no_socket_of_its_broker_connections_open(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    # paho closes its wake-up socket pair only when the client is garbage-collected; a
    # district's run held hundreds of them, and select() failed past descriptor 1,023.
    gateway, _ = start_gateway(broker)
    device = open_gateway(broker.url(gateway.prefix))
    device.read("supply_voltage")
    link = device._link
    assert isinstance(link, MqttLink)
    (session,) = link._idle
    pair = (session.client._sockpairR, session.client._sockpairW)
    assert all(s is not None and s.fileno() >= 0 for s in pair)
    device.close()
    assert link.connections == 0
    assert all(s is None or s.fileno() == -1 for s in pair)  # closed, not left to the GC


def test_a_connection_the_broker_closed_while_idle_does_not_fail_the_next_window(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    gateway, _ = start_gateway(broker)
    device = open_gateway(broker.url(gateway.prefix))
    device.read("supply_voltage")
    link = device._link
    assert isinstance(link, MqttLink)
    (idle,) = link._idle
    # Another client takes the idle connection's client id: the broker closes ours.
    client_id = idle.client._client_id.decode()
    intruder = make_client(client_id, reconnect=False)
    intruder.connect(broker.host, broker.port)
    intruder.loop_start()
    try:
        # Closed while idle: wait until our side knows (the broker takes the intruder's
        # CONNECT when it gets to it; on a busy machine that can be after the next window
        # subscribed, which is a connection lost mid-window, another test's case).
        deadline = time.monotonic() + 10
        while idle.lost is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert idle.lost is not None, "the broker did not close the idle connection"
        reading = device.read_fresh(["supply_voltage"])["supply_voltage"]
        assert not isinstance(reading, DeviceError), reading
        assert reading.value.magnitude > 0
    finally:
        intruder.disconnect()
        intruder.loop_stop()
    assert all(session.lost is None for session in link._idle)


def test_overlapping_windows_on_one_link_listen_at_the_same_time(broker: Broker) -> None:
    # Two checks' windows on one gateway: each collect has a connection of its own, so both
    # hear a message sent once both are listening. One transaction at a time would end the
    # first window (10 s, its message never comes) before the second could subscribe.
    topic = f"test/{uuid.uuid4().hex[:8]}/event"
    link = MqttLink("gateway", parse_device_uri(broker.url("test")), LinkOptions(timeout=5.0))
    listening = threading.Barrier(3, timeout=10.0)
    heard: dict[int, list[str]] = {}

    def collect(n: int) -> None:
        response = link.transact(
            {"op": "collect", "topics": [topic], "window": 10.0, "stop": "each"},
            act=lambda: listening.wait(),
        )
        heard[n] = [m["payload"] for m in response["messages"]]

    threads = [threading.Thread(target=collect, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    try:
        listening.wait()  # both subscriptions confirmed
        link.transact({"op": "publish", "topic": topic, "payload": "once", "qos": 1})
    finally:
        for thread in threads:
            thread.join(timeout=15.0)
        link.close()

    assert heard == {1: ["once"], 2: ["once"]}
    assert link.connections == 0  # closed, the ones in use too once their windows ended


# The retained copies that windows judging live traffic ("live", "never") still rely on. One
# broker connection shared by such windows could not give them these: the broker resends retained
# messages only on a SUBSCRIBE, to the whole connection, so a window joining a subscription held
# by another gets none, and one window's SUBSCRIBE would hand the others stale copies.


def _quiet_gateway(on: Broker) -> SimGateway:
    """A gateway that publishes its retained telemetry and status once, then nothing live for
    a minute (longer than any window here)."""
    return SimGateway(
        on.host,
        on.port,
        prefix=f"test/{uuid.uuid4().hex[:8]}/pole",
        values=Pole().values,
        on_command=Pole().command,
        period=60.0,
        heartbeat=60.0,
    ).start()


def test_a_fresh_read_without_a_live_message_in_time_takes_the_retained_one(
    broker: Broker, open_gateway: DeviceFactory
) -> None:
    gateway = _quiet_gateway(broker)
    try:
        device = open_gateway(broker.url(gateway.prefix))
        reading = device.read_fresh(["supply_voltage"])["supply_voltage"]
    finally:
        gateway.stop()
    assert not isinstance(reading, DeviceError), reading
    assert reading.value == ureg.Quantity(230.1, ureg.volt)  # nominal_values()


def test_a_quiet_window_hears_the_retained_status_as_evidence_the_device_is_there(
    broker: Broker, open_gateway: DeviceFactory
) -> None:
    gateway = _quiet_gateway(broker)
    try:
        device = open_gateway(broker.url(gateway.prefix))
        # long enough for a loaded broker to send the retained status: the window runs to its end
        obs = device.observe("events", window=2.0, stop="never", witnesses=True)
    finally:
        gateway.stop()
    assert obs.messages == ()
    assert any(m.retained and m.key == "status" for m in obs.heard), obs.heard
    presence = presence_of(obs, device.source, window=2.0)
    assert presence.live == ()
    assert presence.present


def test_a_window_opens_no_later_than_the_first_message_heard_in_it(
    broker: Broker, open_gateway: DeviceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The thread that subscribed is kept from running for 0.2 s after the SUBACK (a busy
    # machine, made here by a sleep): the retained status arrives and is stamped meanwhile.
    # The window must not open after it, or a gap from the opening comes out negative.
    subscribe = MqttLink._subscribe

    def late(self: MqttLink, *args: Any, **kwargs: Any) -> None:
        subscribe(self, *args, **kwargs)
        time.sleep(0.2)

    monkeypatch.setattr(MqttLink, "_subscribe", late)
    gateway = _quiet_gateway(broker)
    try:
        device = open_gateway(broker.url(gateway.prefix))
        obs = device.observe("events", window=1.0, stop="never", witnesses=True)
    finally:
        gateway.stop()
    (status,) = [m for m in obs.heard if m.key == "status"]
    assert status.retained
    assert obs.started <= status.at


def test_a_retained_check_with_a_match_listens_to_the_end_and_judges_the_retained_copy(
    broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> None:
    # With a match the first message may not count, so the window is "never", not "each".
    gateway, _ = start_gateway(broker)
    device = open_gateway(broker.url(gateway.prefix))
    check = message_check(
        "{device: gateway, topic: status, expect: retained, window: 0.5 s, match: {/state: online}}"
    )
    verdict, reason, _ = run(check, device)
    assert verdict is Verdict.PASS, reason
    assert "a retained message is present" in reason


def test_the_embedded_broker_refuses_tls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="install mosquitto for tls=True"):
        start_broker(kind="embedded", directory=tmp_path, tls=True)


def test_the_embedded_broker_in_a_process_of_its_own_serves_and_ends_with_close(
    tmp_path: Path, open_gateway: DeviceFactory
) -> None:
    # A fleet's embedded broker runs in a child process (it would take the simulated devices'
    # share of the interpreter lock): a retained message is read through it, and close() ends
    # the process, so nothing listens on its port any more.
    running = start_broker(kind="embedded", directory=tmp_path, own_process=True)
    try:
        assert running.kind == "embedded"
        prefix = f"test/{uuid.uuid4().hex[:8]}/pole"
        _publish_retained_telemetry(running, prefix, LinkOptions())
        device = open_gateway(running.url(prefix))
        assert device.read("supply_voltage").value == ureg.Quantity(230.1, "V")
    finally:
        running.close()
    assert not running.running
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((running.host, running.port), timeout=2.0).close()


@pytest.mark.parametrize("subscribed", ["{prefix}/telemetry", "{prefix}/+", "{prefix}/#"])
def test_a_retained_message_reaches_a_later_subscriber_by_exact_and_wildcard_filters(
    embedded_broker: Broker, subscribed: str
) -> None:
    # The embedded broker looks an exact filter's retained message up instead of trying all of
    # them (bench.broker._Broker): both ways must still deliver it, and only where it matches.
    prefix = f"test/{uuid.uuid4().hex[:8]}/pole"
    _publish_retained_telemetry(embedded_broker, prefix, LinkOptions())
    link = MqttLink("reader", parse_device_uri(embedded_broker.url(prefix)), LinkOptions())
    try:
        heard = link.transact(
            {"op": "collect", "topics": [subscribed.format(prefix=prefix)], "window": 2.0}
        )
        elsewhere = link.transact(
            {"op": "collect", "topics": [f"{prefix}/other"], "window": 0.3, "stop": "never"}
        )
    finally:
        link.close()
    assert [(m["topic"], m["retained"]) for m in heard["messages"]] == [
        (f"{prefix}/telemetry", True)
    ]
    assert elsewhere["messages"] == []


def test_an_unknown_broker_kind_lists_the_kinds(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="use one of auto, mosquitto, embedded"):
        start_broker(kind="hivemq", directory=tmp_path)


# -- TLS and login (mosquitto) ------------------------------------------------------------------

PASSWORD = "s3cret-Pa55"


@pytest.fixture(scope="module")
def tls_broker(
    tmp_path_factory: pytest.TempPathFactory, mosquitto_required: None
) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("tls")
    with start_broker(
        kind="mosquitto", directory=directory, tls=True, users={"tester": PASSWORD}
    ) as running:
        yield running


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("YCSA_TEST_MQTT_USER", "tester")
    monkeypatch.setenv("YCSA_TEST_MQTT_PASSWORD", PASSWORD)
    monkeypatch.setenv("YCSA_TEST_MQTT_WRONG", "not-the-password")
    return {
        "username": Secret("env", "YCSA_TEST_MQTT_USER"),
        "password": Secret("env", "YCSA_TEST_MQTT_PASSWORD"),
    }


def _publish_retained_telemetry(broker: Broker, prefix: str, options: LinkOptions) -> None:
    link = MqttLink("publisher", parse_device_uri(broker.url(prefix)), options)
    try:
        body = telemetry_payload(GATEWAY_MAP, nominal_values())
        link.transact(
            {
                "op": "publish",
                "topic": f"{prefix}/telemetry",
                "payload": json.dumps(body),
                "qos": 1,
                "retain": True,
            }
        )
    finally:
        link.close()


def test_tls_and_password_from_the_environment_read_the_device(
    tls_broker: Broker, credentials: dict[str, Any], open_gateway: DeviceFactory
) -> None:
    assert tls_broker.ca_path is not None
    prefix = f"test/{uuid.uuid4().hex[:8]}/pole"
    _publish_retained_telemetry(
        tls_broker, prefix, LinkOptions(ca=tls_broker.ca_path, **credentials)
    )
    device = open_gateway(tls_broker.url(prefix), ca=tls_broker.ca_path, **credentials)
    assert device.source.scheme == "mqtts"
    assert device.read("supply_voltage").value == ureg.Quantity(230.1, "V")


def test_a_wrong_password_is_not_authorized_and_never_shown(
    tls_broker: Broker, credentials: dict[str, Any], open_gateway: DeviceFactory
) -> None:
    device = open_gateway(
        tls_broker.url("test/pole"),
        ca=tls_broker.ca_path,
        username=credentials["username"],
        password=Secret("env", "YCSA_TEST_MQTT_WRONG"),
    )
    with pytest.raises(DeviceRefused) as caught:
        device.read("supply_voltage")
    message = str(caught.value)
    assert "Not authorized: check the username/password references in the site file" in message
    shown = " ".join([message, repr(caught.value), str(device), repr(device), repr(device._link)])
    assert "not-the-password" not in shown
    assert PASSWORD not in shown


def test_no_login_on_a_broker_that_wants_one_says_how_to_give_it(
    tls_broker: Broker, open_gateway: DeviceFactory
) -> None:
    device = open_gateway(tls_broker.url("test/pole"), ca=tls_broker.ca_path)
    with pytest.raises(DeviceRefused, match="the broker wants a login; give 'username: env:NAME'"):
        device.read("supply_voltage")


def test_a_wrong_ca_names_the_ca_file(
    tls_broker: Broker, credentials: dict[str, Any], open_gateway: DeviceFactory, tmp_path: Path
) -> None:
    other = make_certificates(tmp_path, name="other")
    device = open_gateway(tls_broker.url("test/pole"), ca=other.ca, **credentials)
    with pytest.raises(DeviceRefused) as caught:
        device.read("supply_voltage")
    message = str(caught.value)
    assert f"does not verify against CA file {other.ca}" in message
    assert "give the CA that signed the broker's certificate as 'ca:'" in message
    assert PASSWORD not in message


def test_plain_mqtt_to_a_tls_port_says_to_use_mqtts(
    tls_broker: Broker, open_gateway: DeviceFactory
) -> None:
    device = open_gateway(f"mqtt://127.0.0.1:{tls_broker.port}/test/pole", timeout=0.3)
    with pytest.raises(DeviceRefused, match="if that port speaks TLS, use mqtts://"):
        device.read("supply_voltage")


def test_a_secret_reference_shows_in_repr_but_not_its_value(credentials: dict[str, Any]) -> None:
    options = LinkOptions(**credentials)
    link = MqttLink("gateway", parse_device_uri("mqtts://localhost:8883/test/pole"), options)
    shown = f"{link!r} {options!r} {options.password}"
    assert PASSWORD not in shown
    assert "env:YCSA_TEST_MQTT_PASSWORD" in shown


# -- the message check kind on live traffic (embedded broker) -----------------------------------

TARGET = Target(
    id="P001",
    kind="pole",
    title={"en": "P001"},
    parameters={},
    design={},
    equipment=(),
    devices={},
    origin="test",
)


WINDOWS = {
    "heartbeat_window": ParameterInfo(name="heartbeat_window", unit=ureg.second),
    "heartbeat_interval_max": ParameterInfo(name="heartbeat_interval_max", unit=ureg.second),
}


def message_check(text: str) -> MessageCheck:
    doc = read_document("profile.yaml", text=text)
    ctx = ParseContext(doc=doc, where=(), parameters=WINDOWS)
    check = parse_message_check(doc.data, ctx)
    assert not ctx.problems, ctx.problems
    assert isinstance(check, MessageCheck)
    return check


def run(
    check: MessageCheck, device: Any, parameters: dict[str, Any] | None = None
) -> tuple[Verdict, str, Any]:
    ctx = CheckContext(target=TARGET, parameters=parameters or {}, device=lambda role: device)
    outcome = check.run(ctx)
    return outcome.verdict, outcome.reason, outcome.measurements


@pytest.fixture
def live(
    embedded_broker: Broker, start_gateway: GatewayFactory, open_gateway: DeviceFactory
) -> tuple[SimGateway, MqttDevice]:
    gateway, _ = start_gateway(embedded_broker)
    return gateway, open_gateway(embedded_broker.url(gateway.prefix))


def test_a_steady_heartbeat_meets_its_interval(live: tuple[SimGateway, MqttDevice]) -> None:
    _, device = live
    check = message_check(
        "{device: gateway, topic: heartbeat, expect: interval, window: 1 s, limit: '<= 0.5 s'}"
    )
    verdict, reason, (measurement,) = run(check, device)
    assert verdict is Verdict.PASS, reason
    assert measurement.unit == "s"
    assert 0.1 < measurement.value <= 0.5
    assert measurement.source == device.source


def test_window_and_limit_come_from_the_profile_parameters(
    live: tuple[SimGateway, MqttDevice],
) -> None:
    _, device = live
    check = message_check(
        "{device: gateway, topic: heartbeat, expect: interval, window: $heartbeat_window, "
        "limit: '<= $heartbeat_interval_max'}"
    )
    parameters = {
        "heartbeat_window": ureg.Quantity(800, "ms"),
        "heartbeat_interval_max": ureg.Quantity(0.5, "s"),
    }
    started = time.perf_counter()
    verdict, reason, (measurement,) = run(check, device, parameters)
    assert 0.8 <= time.perf_counter() - started < 1.5
    assert verdict is Verdict.PASS, reason
    assert measurement.limit == "<= 0.5 s"
    parameters["heartbeat_window"] = ureg.Quantity(0, "s")
    verdict, reason, _ = run(check, device, parameters)
    assert verdict is Verdict.ERROR
    assert reason == (
        "cannot be decided: window $heartbeat_window = 0 s is too short; set it to more than 0 s"
    )


def test_a_stopped_heartbeat_fails_its_interval(live: tuple[SimGateway, MqttDevice]) -> None:
    gateway, device = live
    gateway.heartbeat_stopped = True
    time.sleep(HEARTBEAT)  # let a heartbeat already under way arrive and go
    check = message_check(
        "{device: gateway, topic: heartbeat, expect: interval, window: 0.6 s, limit: '<= 0.5 s'}"
    )
    verdict, reason, (measurement,) = run(check, device)
    assert verdict is Verdict.FAIL
    assert reason == f"{gateway.prefix}/heartbeat: no message within 0.6 s"
    assert measurement.value is None


def test_a_heartbeat_that_stops_halfway_fails_on_the_gap_to_the_end_of_the_window(
    live: tuple[SimGateway, MqttDevice],
) -> None:
    gateway, device = live
    threading.Timer(0.3, lambda: setattr(gateway, "heartbeat_stopped", True)).start()
    check = message_check(
        "{device: gateway, topic: heartbeat, expect: interval, window: 1.2 s, limit: '<= 0.5 s'}"
    )
    verdict, reason, (measurement,) = run(check, device)
    assert verdict is Verdict.FAIL, reason
    assert measurement.value > 0.5
    assert "largest gap between messages" in reason


def test_arrives_and_count(live: tuple[SimGateway, MqttDevice]) -> None:
    _, device = live
    arrives = message_check(
        "{device: gateway, topic: heartbeat, expect: arrives, window: 1 s, limit: '<= 0.5 s'}"
    )
    verdict, reason, _ = run(arrives, device)
    assert verdict is Verdict.PASS, reason
    count = message_check(
        "{device: gateway, topic: heartbeat, expect: count, window: 1 s, limit: '>= 3'}"
    )
    verdict, reason, (measurement,) = run(count, device)
    assert verdict is Verdict.PASS, reason
    assert measurement.value >= 3


def test_absent_passes_on_a_quiet_topic_and_fails_naming_the_first_message(
    live: tuple[SimGateway, MqttDevice],
) -> None:
    gateway, device = live
    quiet = message_check("{device: gateway, topic: ack, expect: absent, window: 0.3 s}")
    verdict, reason, _ = run(quiet, device)
    assert verdict is Verdict.PASS, reason
    noisy = message_check("{device: gateway, topic: heartbeat, expect: absent, window: 1 s}")
    verdict, reason, (measurement,) = run(noisy, device)
    assert verdict is Verdict.FAIL
    assert reason.startswith(f"{gateway.prefix}/heartbeat: a message arrived after ")
    assert 'where none may arrive within 1 s: \'{"ts": ' in reason
    assert measurement.value == 1


def test_retained_status_is_present_and_a_live_heartbeat_is_not_retained(
    live: tuple[SimGateway, MqttDevice],
) -> None:
    _, device = live
    status = message_check("{device: gateway, topic: status, expect: retained}")
    verdict, reason, _ = run(status, device)
    assert verdict is Verdict.PASS, reason
    assert '"state": "online"' in reason
    heartbeat = message_check("{device: gateway, topic: heartbeat, expect: retained, window: 1 s}")
    verdict, reason, _ = run(heartbeat, device)
    assert verdict is Verdict.FAIL
    assert "the first message after subscribing was live, not retained" in reason


def test_valid_passes_on_good_telemetry_and_fails_on_a_schema_violation(
    live: tuple[SimGateway, MqttDevice],
) -> None:
    gateway, device = live
    check = message_check("{device: gateway, topic: telemetry, expect: valid, window: 0.5 s}")
    verdict, reason, _ = run(check, device)
    assert verdict is Verdict.PASS, reason
    assert "meet its schema gateway-telemetry.schema.json" in reason
    gateway.schema_violation = True
    gateway.publish_telemetry()
    verdict, reason, (measurement,) = run(check, device)
    assert verdict is Verdict.FAIL
    assert "break its schema gateway-telemetry.schema.json" in reason
    assert "at $.power.voltage: '230.1 V' is not of type 'number'" in reason
    assert measurement.value >= 1


def test_a_message_check_on_a_modbus_device_is_a_device_error() -> None:
    lamp_map = load_devicemap(data_dir("benches") / "devicemaps" / "lamp-controller.yaml")
    lamp = open_device("lamp", "modbus-tcp://127.0.0.1:1?unit=1", lamp_map)
    check = message_check("{device: lamp, topic: heartbeat, expect: retained}")
    with pytest.raises(
        DeviceError, match="lamp speaks modbus-tcp; message checks need an MQTT device"
    ):
        run(check, lamp)


def test_an_unknown_topic_cannot_be_decided(live: tuple[SimGateway, MqttDevice]) -> None:
    _, device = live
    check = message_check("{device: gateway, topic: alarms, expect: retained}")
    verdict, reason, _ = run(check, device)
    assert verdict is Verdict.ERROR
    assert (
        "has no topic 'alarms'; it declares: telemetry, heartbeat, status, equipment, events, "
        "cmd, ack" in reason
    )


@pytest.mark.parametrize("on_hub", [False, True], ids=["own-thread", "hub"])
def test_the_gateway_reports_an_event_as_the_pole_changes_not_at_its_next_look(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, on_hub: bool
) -> None:
    # A district's bench ran late enough that an alarm cleared by the check's write was seen
    # only at the gateway's next look (every 0.5 s) plus that lateness, past the 1 s limit.
    # Field gateways report an alarm as it happens; so does the bench's, on every change of
    # the pole. Its periodic look is put out of reach here: only the change can publish.
    import ycsa_conform.bench.gateway as gateway_module
    from ycsa_conform.bench.hub import GatewayHub
    from ycsa_conform.bench.loop import SharedLoop
    from ycsa_conform.bench.physics import PoleSettings
    from ycsa_conform.bench.pole import Pole as BenchPole

    monkeypatch.setattr(gateway_module, "_EVENT_PERIOD", 3600.0)
    pole = BenchPole(PoleSettings())
    shared = SharedLoop() if on_hub else None
    hub = GatewayHub(shared) if shared is not None else None
    gateway = SimGateway(
        broker.host,
        broker.port,
        prefix=f"test/{uuid.uuid4().hex[:8]}/pole",
        values=lambda: pole.readings("pole-gateway"),
        on_command=lambda command: "ok",
        pole=pole,
        period=3600.0,
        hub=hub,
    )
    heard: list[dict[str, Any]] = []
    listener = make_client(unique_client_id("test-events"), reconnect=False)
    listener.on_message = lambda c, u, m: heard.append(json.loads(m.payload))
    listener.connect(broker.host, broker.port)
    listener.loop_start()
    try:
        subscribed = threading.Event()
        listener.on_subscribe = lambda *args: subscribed.set()
        listener.subscribe(gateway.topic("events"), 1)
        assert subscribed.wait(TIMEOUT * 10)
        gateway.start()
        try:
            for threshold, active in ((0.01, True), (1.0, False)):
                pole.command("tilt_alarm_threshold", threshold)
                deadline = time.monotonic() + 10  # generous: only the change can publish it
                while not any(e.get("active") is active for e in heard):
                    assert time.monotonic() < deadline, f"no tilt_alarm active={active}: {heard}"
                    time.sleep(0.01)
            assert [(e["type"], e["active"]) for e in heard] == [
                ("tilt_alarm", True),
                ("tilt_alarm", False),
            ]
        finally:
            gateway.stop()
    finally:
        listener.disconnect()
        listener.loop_stop()
        if hub is not None and shared is not None:
            hub.stop()
            shared.stop()


def test_a_clock_is_never_judged_on_the_retained_message(
    broker: Broker, open_gateway: DeviceFactory
) -> None:
    # The gateway published its telemetry once (retained) and is quiet since: that message's
    # arrival is when it was asked for, not when it was sent, so its age would count as the
    # clock's offset, and a clock ahead by as much would pass. Only a live message will do.
    from ycsa_conform.checks.measure import parse as parse_measure

    gateway = _quiet_gateway(broker)
    try:
        time.sleep(1.5)  # the retained telemetry is 1.5 s old: within ±3 s, so it would pass
        device = open_gateway(broker.url(gateway.prefix), timeout=0.5)
        doc = read_document(
            "profile.yaml",
            text="kind: measure\ndevice: gateway\npoint: device_clock\n"
            "relative_to: host_clock\nlimit: '-3 s .. 3 s'\n",
        )
        ctx = ParseContext(doc=doc, where=(), parameters=WINDOWS)
        check = parse_measure(doc.data, ctx)
        assert check is not None
        assert not ctx.problems, ctx.problems
        with pytest.raises(DeviceTimeout, match="only the one the broker retained"):
            check.run(CheckContext(target=TARGET, parameters={}, device=lambda role: device))
    finally:
        gateway.stop()
