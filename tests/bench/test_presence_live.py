"""Presence before absence, lost contact, negative durations and time stamps for the MQTT
checks, on a real broker (mosquitto and the embedded one): a quiet window passes only for a
device shown to be there; a device that vanishes during a window is an error, not a failure; a
duration that comes out negative is never judged; a time stamp is read in its declared unit.

The checks are the built-in smart-pole profile's own (SP-DATA-008, -017, -018, -019), with
short windows (docs/observations.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ycsa_conform.bench import Bench
from ycsa_conform.bench.broker import Broker, start_broker
from ycsa_conform.bench.gateway import SimGateway, equipment_payload, nominal_values
from ycsa_conform.checks.base import CheckContext, Outcome
from ycsa_conform.checks.message import MessageCheck
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import LostContact
from ycsa_conform.profile import load_profile
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Result, Verdict
from ycsa_conform.run import AcceptanceRun, DeviceOpener
from ycsa_conform.site import DeviceSpec, Site, Target, load_site
from ycsa_conform.transport import (
    Device,
    LinkOptions,
    open_device,
    open_link,
    parse_device_uri,
)
from ycsa_conform.transport.mqtt import MqttDevice, MqttLink
from ycsa_conform.transport.recording import Recorder, Replay
from ycsa_conform.units import ureg

GATEWAY_MAP = load_devicemap(data_dir("benches") / "devicemaps" / "gateway.yaml")
PROFILE = load_profile("smart-pole")
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
PERIOD = 0.1  # s between telemetry messages
HEARTBEAT = 0.2  # s between heartbeats


def requirement_check(requirement: str) -> MessageCheck:
    (check,) = (r.check for r in PROFILE.requirements if r.id == requirement)
    assert isinstance(check, MessageCheck)
    return check


SESSION = requirement_check("SP-DATA-018")  # no offline status in $session_window
HEARTBEAT_INTERVAL = requirement_check("SP-DATA-008")  # largest gap <= $heartbeat_interval_max


@pytest.fixture(scope="module", params=["mosquitto", "embedded"])
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Broker]:
    # Both brokers: each must publish a will, and hand it to a subscriber as a live message.
    kind: str = request.param
    if kind == "mosquitto":
        request.getfixturevalue("mosquitto_required")
    with start_broker(kind=kind, directory=tmp_path_factory.mktemp(kind)) as running:
        yield running


@pytest.fixture
def prefix() -> str:
    """A prefix of the test's own: no retained message of another test is below it."""
    return f"test/{uuid.uuid4().hex[:8]}/pole"


GatewayFactory = Callable[..., SimGateway]


@pytest.fixture
def start_gateway(broker: Broker) -> Iterator[GatewayFactory]:
    started: list[SimGateway] = []

    def start(prefix: str, **faults: Any) -> SimGateway:
        """A gateway below `prefix`, with fault switches set before it starts."""
        gateway = SimGateway(
            broker.host,
            broker.port,
            prefix=prefix,
            values=nominal_values,
            on_command=lambda command: "ok",
            period=PERIOD,
            heartbeat=HEARTBEAT,
        )
        for name, value in faults.items():
            setattr(gateway, name, value)
        started.append(gateway.start())
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def open_gateway() -> Iterator[Callable[[str], MqttDevice]]:
    opened: list[MqttDevice] = []

    def open_uri(uri: str) -> MqttDevice:
        device = open_device("gateway", uri, GATEWAY_MAP, LinkOptions(timeout=1.0))
        assert isinstance(device, MqttDevice)
        opened.append(device)
        return device

    yield open_uri
    for device in opened:
        device.close()


def decide(check: MessageCheck, device: MqttDevice, **parameters: str) -> Outcome:
    ctx = CheckContext(
        target=TARGET,
        parameters={k: ureg.Quantity(v) for k, v in parameters.items()},
        device=lambda role: device,
    )
    return check.run(ctx)


def vanish(gateway: SimGateway, broker: Broker, prefix: str) -> None:
    """Kill `gateway` and wait until the broker has published its will (its offline status,
    retained): by then the broker has read everything the gateway sent before it died, so no
    message of it can still arrive live in a window opened afterwards. (Without the wait, a
    telemetry message in flight on a loaded machine landed in the next window: "present".)"""
    gateway.vanish()
    offline = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        with contextlib.suppress(ValueError):
            if json.loads(message.payload).get("state") == "offline":
                offline.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wait-{uuid.uuid4().hex[:8]}")
    client.on_message = on_message
    client.on_connect = lambda c, userdata, flags, code, properties: c.subscribe(
        f"{prefix}/status", qos=1
    )
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        assert offline.wait(30), f"the broker never published the will of the gateway at {prefix}"
    finally:
        client.disconnect()
        client.loop_stop()


def later(seconds: float, action: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
    return timer


# -- presence before absence -------------------------------------------------------------------


def test_the_session_check_fails_on_a_gateway_that_was_never_connected(
    broker: Broker, open_gateway: Callable[[str], MqttDevice], prefix: str
) -> None:
    # Nobody publishes below this prefix: no offline status either, and that is no pass.
    uri = broker.url(prefix)

    outcome = decide(SESSION, open_gateway(uri), session_window="1 s")

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert outcome.reason == (
        f"never heard from gateway at {uri} during the 1 s window: no message on any of its "
        "topics and no retained status; is it connected and is the prefix right?"
    )


@pytest.mark.parametrize("check", [SESSION, HEARTBEAT_INTERVAL], ids=["session", "heartbeat"])
def test_a_gateway_publishing_below_another_prefix_is_never_heard_from(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
    check: MessageCheck,
) -> None:
    start_gateway(prefix)
    uri = broker.url(prefix + "-typo")

    outcome = decide(
        check,
        open_gateway(uri),
        session_window="0.5 s",
        heartbeat_window="0.5 s",
        heartbeat_interval_max="0.4 s",
    )

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert outcome.reason.startswith(f"never heard from gateway at {uri} during the 0.5 s window")
    (measured,) = outcome.measurements
    assert measured.value is None


def test_the_session_check_passes_on_a_gateway_that_stays_connected(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    start_gateway(prefix)

    outcome = decide(SESSION, open_gateway(broker.url(prefix)), session_window="0.5 s")

    assert outcome.verdict is Verdict.PASS, outcome.reason
    assert outcome.reason == f"{prefix}/status: no message in 0.5 s, as required"


# -- lost contact ------------------------------------------------------------------------------


def test_a_gateway_killed_during_the_heartbeat_window_is_lost_contact_not_a_failure(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    gateway = start_gateway(prefix)
    uri = broker.url(prefix)
    device = open_gateway(uri)
    device.read("supply_voltage")  # connected: the window opens at once
    later(0.3, gateway.vanish)

    with pytest.raises(LostContact) as caught:
        decide(HEARTBEAT_INTERVAL, device, heartbeat_window="2 s", heartbeat_interval_max="0.5 s")

    message = str(caught.value)
    assert message.startswith(f"lost contact with gateway at {uri}: last message at ")
    assert ', then its offline status {"state": "offline"} arrived at ' in message
    assert message.endswith("; the window cannot be judged")


def test_a_gateway_killed_during_the_session_window_fails_the_session_check(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    # SP-DATA-018 watches for exactly this: the broker publishing the gateway's will.
    gateway = start_gateway(prefix)
    device = open_gateway(broker.url(prefix))
    device.read("supply_voltage")  # connected: the window opens at once
    later(0.3, gateway.vanish)

    outcome = decide(SESSION, device, session_window="2 s")

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert outcome.reason.startswith(f"{prefix}/status: a message arrived after ")
    assert outcome.reason.endswith('where none may arrive within 2 s: \'{"state": "offline"}\'')


def test_a_gateway_that_hangs_during_the_heartbeat_window_is_lost_contact(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    # Stuck firmware keeps its connection (no will), but its telemetry stops with the heartbeat.
    gateway = start_gateway(prefix)
    uri = broker.url(prefix)
    device = open_gateway(uri)
    device.read("supply_voltage")  # connected: the window opens at once
    later(0.3, lambda: setattr(gateway, "hung", True))

    with pytest.raises(LostContact) as caught:
        decide(HEARTBEAT_INTERVAL, device, heartbeat_window="1.5 s", heartbeat_interval_max="0.5 s")

    message = str(caught.value)
    assert message.startswith(f"lost contact with gateway at {uri}: last message at ")
    assert ", then nothing on any of its topics for " in message
    assert message.endswith(
        "to the end of the 1.5 s window; the window cannot be judged: is it still powered and "
        "connected?"
    )


def test_a_heartbeat_that_stops_while_telemetry_goes_on_still_fails(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    gateway = start_gateway(prefix)
    device = open_gateway(broker.url(prefix))
    device.read("supply_voltage")  # connected: the window opens at once
    later(0.3, lambda: setattr(gateway, "heartbeat_stopped", True))

    outcome = decide(
        HEARTBEAT_INTERVAL, device, heartbeat_window="1.5 s", heartbeat_interval_max="0.5 s"
    )

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert f"{prefix}/heartbeat largest gap between messages: " in outcome.reason


def test_a_gateway_whose_connection_drops_and_comes_back_is_judged_not_lost(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    # The bench fault broker-drops-connection: the will, then "online" again 0.1 s later.
    gateway = start_gateway(prefix, drop_period=0.4)
    device = open_gateway(broker.url(prefix))

    heartbeat = decide(
        HEARTBEAT_INTERVAL, device, heartbeat_window="1.5 s", heartbeat_interval_max="0.5 s"
    )
    session = decide(SESSION, device, session_window="1.5 s")

    assert gateway.drops >= 1
    assert heartbeat.verdict is Verdict.PASS, heartbeat.reason
    assert session.verdict is Verdict.FAIL, session.reason
    assert '{"state": "offline"}' in session.reason


def test_our_connection_to_the_broker_closing_during_the_window_is_lost_contact(
    tmp_path: Path, open_gateway: Callable[[str], MqttDevice], prefix: str
) -> None:
    with start_broker(kind="auto", directory=tmp_path) as own:
        gateway = SimGateway(
            own.host,
            own.port,
            prefix=prefix,
            values=nominal_values,
            on_command=lambda command: "ok",
            period=PERIOD,
            heartbeat=HEARTBEAT,
        ).start()
        try:
            device = open_gateway(own.url(prefix))
            device.read("supply_voltage")  # connected: the window opens at once
            later(0.3, own.close)
            with pytest.raises(LostContact) as caught:
                decide(SESSION, device, session_window="1.5 s")
        finally:
            gateway.vanish()

    message = str(caught.value)
    assert message.startswith(
        f"lost contact with the broker of gateway at {own.url(prefix)}: our connection closed"
    )
    assert f"into the 1.5 s window on {prefix}/status; the window cannot be judged" in message


# -- negative durations ------------------------------------------------------------------------


def _event_delivery(site: Site, opener: DeviceOpener) -> Result:
    """SP-DATA-019 (a tilt alarm raised by a write, timed to its event) on the bench site."""
    run = AcceptanceRun(profiles=[PROFILE], site=site, opener=opener)
    try:
        (case,) = (c for c in run.cases() if c.requirement.id == "SP-DATA-019")
        return run.decide(case)
    finally:
        run.close()


def test_a_replayed_event_is_timed_from_the_recorded_trigger(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "recording")

    def recording(target: Target, spec: DeviceSpec) -> Device:
        link = recorder.wrap(
            open_link(spec.role, spec.address, spec.options), target=target.id, device=spec.role
        )
        return open_device(spec.role, spec.uri, spec.devicemap, spec.options, link=link)

    with Bench.start() as bench:
        site = load_site(bench.site_path, text=bench.site_text)
        live = _event_delivery(site, recording)
    recorder.write_manifest({"run": "test"})
    recorder.close()
    replay = Replay(tmp_path / "recording")

    def replaying(target: Target, spec: DeviceSpec) -> Device:
        link = replay.link(target=target.id, device=spec.role, scheme=spec.address.scheme)
        return open_device(spec.role, spec.uri, spec.devicemap, spec.options, link=link)

    replayed = _event_delivery(site, replaying)

    assert live.verdict is Verdict.PASS, live.reason
    assert replayed.verdict is live.verdict, replayed.reason
    # The same delivery times, not the time since the recording was made (once -8.079 s).
    assert [m.value for m in replayed.measurements] == [m.value for m in live.measurements]
    assert all(isinstance(m.value, float) and m.value > 0 for m in live.measurements)


# -- time stamps -------------------------------------------------------------------------------

EQUIPMENT_AGE = requirement_check("SP-DATA-017")  # retained equipment status no older than


def _publish_equipment(broker: Broker, prefix: str, stamp: float) -> None:
    """A retained equipment status time-stamped `stamp`, held by the broker on return."""
    topic = f"{prefix}/equipment"
    publisher = MqttLink("publisher", parse_device_uri(broker.url(prefix)), LinkOptions())
    try:
        body = {**equipment_payload(GATEWAY_MAP, nominal_values()), "ts": stamp}
        publisher.transact(
            {"op": "publish", "topic": topic, "payload": json.dumps(body), "qos": 1, "retain": True}
        )
        # A broker may acknowledge a publication before it stores it as retained (amqtt, the
        # embedded broker before 0.7, did): wait until it holds it.
        for _ in range(20):
            held = publisher.transact(
                {"op": "collect", "topics": [topic], "window": 0.25, "stop": "each", "qos": 1}
            )
            if held["messages"]:
                return
        pytest.fail(f"the broker never held the retained message on {topic}")
    finally:
        publisher.close()


def test_an_equipment_status_stamped_in_milliseconds_is_judged_only_when_declared(
    broker: Broker, open_gateway: Callable[[str], MqttDevice], prefix: str
) -> None:
    _publish_equipment(broker, prefix, round(time.time() * 1000))
    topic = GATEWAY_MAP.topics["equipment"]
    in_ms = dataclasses.replace(
        GATEWAY_MAP,
        topics={**GATEWAY_MAP.topics, "equipment": dataclasses.replace(topic, time_unit="ms")},
    )
    declared_ms = open_device("gateway", broker.url(prefix), in_ms, LinkOptions(timeout=1.0))
    assert isinstance(declared_ms, MqttDevice)

    try:
        as_seconds = decide(
            EQUIPMENT_AGE, open_gateway(broker.url(prefix)), equipment_status_max_age="5 s"
        )
        as_declared = decide(EQUIPMENT_AGE, declared_ms, equipment_status_max_age="5 s")
    finally:
        declared_ms.close()

    # Read as seconds the age was once -1.8e12 s, and it "met <= 5 s".
    assert as_seconds.verdict is Verdict.ERROR, as_seconds.reason
    assert "at /ts looks like milliseconds, the device map declares seconds (gateway.yaml: " in (
        as_seconds.reason
    )
    assert as_seconds.reason.endswith("topics.equipment.time_unit); declare time_unit: ms")
    assert as_declared.verdict is Verdict.PASS, as_declared.reason
    (age,) = as_declared.measurements
    assert isinstance(age.value, float)
    assert 0 <= age.value <= 5


def test_a_gateway_gone_before_the_window_but_heard_earlier_in_the_run_is_lost_contact(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    # Killed between two windows of one run (a bench or a gateway dying mid-run): the second
    # window hears nothing, as a gateway never there would; the first heard it, so this is
    # lost contact (error), not "never heard from" (fail).
    gateway = start_gateway(prefix)
    uri = broker.url(prefix)
    device = open_gateway(uri)
    device.read_fresh(["supply_voltage"])  # a live telemetry message: it was there
    vanish(gateway, broker, prefix)

    with pytest.raises(LostContact) as caught:
        decide(HEARTBEAT_INTERVAL, device, heartbeat_window="0.5 s", heartbeat_interval_max="0.4 s")

    message = str(caught.value)
    assert message.startswith(f"lost contact with gateway at {uri}: heard at ")
    assert f"earlier in this run (on {prefix}/telemetry), then nothing live" in message
    assert 'its retained status says offline ({"state": "offline"})' in message


def test_a_gateway_heard_only_by_retained_messages_before_is_still_never_heard(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    # Retained telemetry may be years old: it is not "heard earlier in this run".
    gateway = start_gateway(prefix)
    device = open_gateway(broker.url(prefix))
    vanish(gateway, broker, prefix)
    device.read("supply_voltage")  # answered from the retained telemetry only

    outcome = decide(
        HEARTBEAT_INTERVAL, device, heartbeat_window="0.5 s", heartbeat_interval_max="0.4 s"
    )

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert outcome.reason.startswith("never heard from gateway at ")


def test_a_command_to_a_gateway_gone_since_an_earlier_window_is_an_error_not_a_failure(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    # SP-DATA-009 (command round trip): a gateway that never acknowledges fails it; one that
    # was heard live earlier in the run and has gone since (its will says offline) cannot be
    # judged: the command went to nobody.
    (requirement,) = (r for r in PROFILE.requirements if r.id == "SP-DATA-009")
    gateway = start_gateway(prefix)
    device = open_gateway(broker.url(prefix))
    device.read_fresh(["supply_voltage"])  # heard live
    vanish(gateway, broker, prefix)
    ctx = CheckContext(
        target=TARGET,
        parameters={"command_round_trip_max": ureg.Quantity("1 s")},
        device=lambda role: device,
        actuation_allowed=True,
    )

    outcome = requirement.check.run(ctx)

    assert outcome.verdict is Verdict.ERROR, outcome.reason
    assert outcome.reason.startswith("cannot be decided: set target_light_command 50 %: not ")
    assert "earlier in this run" in outcome.reason
    assert 'its retained status says offline ({"state": "offline"})' in outcome.reason


def test_a_command_a_present_gateway_never_acknowledges_still_fails(
    broker: Broker,
    start_gateway: GatewayFactory,
    open_gateway: Callable[[str], MqttDevice],
    prefix: str,
) -> None:
    (requirement,) = (r for r in PROFILE.requirements if r.id == "SP-DATA-009")
    start_gateway(prefix, ack_commands=False)
    device = open_gateway(broker.url(prefix))
    device.read_fresh(["supply_voltage"])
    ctx = CheckContext(
        target=TARGET,
        parameters={"command_round_trip_max": ureg.Quantity("1 s")},
        device=lambda role: device,
        actuation_allowed=True,
    )

    outcome = requirement.check.run(ctx)

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert "not acknowledged within" in outcome.reason
