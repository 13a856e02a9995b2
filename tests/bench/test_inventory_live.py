"""The `inventory` check on a real broker: devices publish retained statuses on
PREFIX/devices/<id>, a community site declares them in a subsystem's inventory, and the check
runs through `AcceptanceRun` as a profile run does."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.bench.broker import Broker, start_broker
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.profile import load_profile
from ycsa_conform.result import Result, Verdict
from ycsa_conform.run import AcceptanceRun, DeviceOpener, open_live
from ycsa_conform.site import DeviceSpec, Target, load_site
from ycsa_conform.transport import Device, LinkOptions, parse_device_uri
from ycsa_conform.transport.mqtt import (
    MqttDevice,
    MqttLink,
    PahoClient,
    make_client,
    unique_client_id,
)
from ycsa_conform.transport.recording import Recorder, Replay

VIDEO_MAP = """\
devicemap: test/community-video
version: 1
protocol: mqtt
topics:
  status: {topic: status, schema: status.schema.json}
  inventory: {topic: devices/+, schema: status.schema.json, qos: 1}
points:
  device_clock: {topic: status, pointer: /ts, unit: s}
"""
STATUS_SCHEMA = {
    "type": "object",
    "required": ["id", "type", "ts", "online"],
    "properties": {
        "id": {"type": "string"},
        "type": {"type": "string"},
        "ts": {"type": "number"},
        "online": {"type": "boolean"},
    },
}
SITE = """\
site: inventory-bench
kind: bench
targets:
  - id: C001
    kind: community
    subsystems:
      video:
        title: {{en: Video surveillance, zh: 视频监控}}
        devices:
          video: {{uri: "{uri}", map: video.yaml, timeout: 2 s}}
        inventory:
          camera: CAM-001..CAM-003
          recorder: [NVR-01]
"""
PROFILE = """\
profile: inventory-live
version: "0.1.0"
title: {en: Inventory, zh: 清单}
status: draft
targets: [community]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  inventory_window: {type: quantity, unit: s, default: 0.5 s, title: {en: W, zh: W}}
  inventory_max_age: {type: quantity, unit: s, default: 120 s, title: {en: A, zh: A}}
requirements:
  - id: SC-VID-001
    title: {en: Every declared video device reports, zh: 视频设备均上报}
    area: data-interface
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: inventory
      device: video
      topic: inventory
      id: /id
      timestamp: /ts
      max_age: $inventory_max_age
      window: $inventory_window
"""
DECLARED = {"CAM-001": "camera", "CAM-002": "camera", "CAM-003": "camera", "NVR-01": "recorder"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory, mosquitto_required: None) -> Iterator[Broker]:
    with start_broker(kind="mosquitto", directory=tmp_path_factory.mktemp("mosquitto")) as running:
        yield running


@pytest.fixture
def publisher(broker: Broker) -> Iterator[PahoClient]:
    client = make_client(unique_client_id("inventory-test"))
    client.connect(broker.host, broker.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


@pytest.fixture
def prefix() -> str:
    """A prefix of the test's own, so retained statuses of other tests do not leak in."""
    return f"test/community/{uuid.uuid4().hex[:8]}/video"


def publish_statuses(
    client: PahoClient, prefix: str, ids: dict[str, str], *, ts: float | None = None
) -> None:
    for device_id, kind in ids.items():
        payload = {"id": device_id, "type": kind, "ts": ts or time.time(), "online": True}
        info = client.publish(
            f"{prefix}/devices/{device_id}", json.dumps(payload), qos=1, retain=True
        )
        info.wait_for_publish(5.0)
        assert info.is_published()


def decide(
    tmp_path: Path,
    broker: Broker,
    prefix: str,
    *,
    traffic: list[dict[str, object]] | None = None,
    opener: DeviceOpener = open_live,
    window: str = "0.5 s",
) -> Result:
    (tmp_path / "video.yaml").write_text(VIDEO_MAP, encoding="utf-8")
    (tmp_path / "status.schema.json").write_text(json.dumps(STATUS_SCHEMA), encoding="utf-8")
    site_path = tmp_path / "site.yaml"
    site_path.write_text(SITE.format(uri=broker.url(prefix)), encoding="utf-8")
    profile_path = tmp_path / "profile.yaml"
    profile_path.write_text(
        PROFILE.replace("default: 0.5 s", f"default: {window}"), encoding="utf-8"
    )
    run = AcceptanceRun(
        profiles=[load_profile(profile_path)], site=load_site(site_path), opener=opener
    )
    try:
        (case,) = run.cases()
        result = run.decide(case)
        if traffic is not None:
            traffic.extend(run.traffic())
        return result
    finally:
        run.close()


def said(reason: str) -> str:
    """A result's reason: the requirement, the check's reason, the requirement's sources."""
    return f"SC-VID-001 {reason} (practice, I)"


def test_every_declared_device_reporting_passes(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    publish_statuses(publisher, prefix, DECLARED)
    traffic: list[dict[str, object]] = []

    result = decide(tmp_path, broker, prefix, traffic=traffic)

    assert result.verdict is Verdict.PASS, result.reason
    assert result.reason == said(
        f"all 4 declared devices reported on {prefix}/devices/+ within 0.5 s"
    )
    measured = {m.name: m.value for m in result.measurements}
    assert measured == {"declared": 4, "reported": 4, "missing": 0, "undeclared": 0}
    # One subscription window, counted as an observation like a message check's.
    [row] = traffic
    assert (row["device"], row["observations"], row["transactions"]) == ("video", 1, 1)


def test_a_declared_device_that_never_reports_fails_naming_it(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    publish_statuses(publisher, prefix, {k: v for k, v in DECLARED.items() if k != "CAM-002"})

    result = decide(tmp_path, broker, prefix)

    assert result.verdict is Verdict.FAIL
    assert result.reason == said("1 of 4 declared devices never reported: CAM-002")


def test_an_undeclared_device_that_reports_is_marginal(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    publish_statuses(publisher, prefix, {**DECLARED, "CAM-004": "camera"})

    result = decide(tmp_path, broker, prefix)

    assert result.verdict is Verdict.MARGINAL
    assert result.reason == said(
        "flagged: 1 device reports that the site does not declare: CAM-004; declare it or remove it"
    )


def test_a_stale_retained_status_counts_as_missing(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    publish_statuses(publisher, prefix, {k: v for k, v in DECLARED.items() if k != "NVR-01"})
    publish_statuses(publisher, prefix, {"NVR-01": "recorder"}, ts=time.time() - 3600)

    result = decide(tmp_path, broker, prefix)

    assert result.verdict is Verdict.FAIL
    assert result.reason == said(
        "1 of 4 declared devices never reported: NVR-01; 1 stale report(s) (time stamp older "
        "than 120 s) not counted: NVR-01"
    )


def test_a_gateway_never_heard_from_fails_saying_so(
    tmp_path: Path, broker: Broker, prefix: str
) -> None:
    result = decide(tmp_path, broker, prefix)

    assert result.verdict is Verdict.FAIL
    assert result.reason == said(
        f"never heard from video at {broker.url(prefix)} during the 0.5 s window: no message on "
        "any of its topics and no retained status; is it connected and is the prefix right?"
    )


def test_a_gateway_that_is_online_and_reports_nothing_fails_naming_the_topic(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    publisher.publish(
        f"{prefix}/status", json.dumps({"state": "online"}), qos=1, retain=True
    ).wait_for_publish(5.0)

    result = decide(tmp_path, broker, prefix)

    assert result.verdict is Verdict.FAIL
    assert result.reason == said(f"nothing reported on {prefix}/devices/+ within 0.5 s")


def test_only_stale_reports_of_a_silent_gateway_are_never_heard_from(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    # Retained statuses left an hour ago by a gateway no longer there.
    publish_statuses(publisher, prefix, DECLARED, ts=time.time() - 3600)

    result = decide(tmp_path, broker, prefix)

    assert result.verdict is Verdict.FAIL
    assert result.reason == said(
        f"never heard from video at {broker.url(prefix)} during the 0.5 s window: no live "
        "message on any of its topics (only 4 retained message(s), which may be old) and no "
        "retained status; is it connected and is the prefix right? (4 of 4 declared devices "
        "never reported: CAM-001, CAM-002, CAM-003, NVR-01; 4 stale report(s) (time stamp "
        "older than 120 s) not counted: CAM-001, CAM-002, CAM-003, NVR-01)"
    )


def test_reports_stamped_in_milliseconds_where_seconds_are_declared_are_not_judged(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    # Read as seconds these are 57 000 years ahead: once "fresh", and the check passed.
    publish_statuses(publisher, prefix, DECLARED, ts=round(time.time() * 1000))

    result = decide(tmp_path, broker, prefix)

    assert result.verdict is Verdict.ERROR, result.reason
    assert result.reason.startswith(
        "SC-VID-001 cannot be decided: 4 declared devices reported only with time stamps that "
        "cannot be believed (CAM-001, CAM-002, CAM-003, NVR-01), so whether they are fresh is "
        "unknown; "
    )
    assert (
        "at /ts looks like milliseconds, the device map declares seconds (video.yaml: "
        "topics.inventory.time_unit); declare time_unit: ms" in result.reason
    )


def test_a_gateway_that_goes_away_before_every_device_reported_is_lost_contact(
    tmp_path: Path, broker: Broker, prefix: str
) -> None:
    # Its will (retained offline status) comes from the broker when its connection dies.
    gateway = make_client(unique_client_id("inventory-gateway"))
    gateway.will_set(f"{prefix}/status", json.dumps({"state": "offline"}), qos=1, retain=True)
    gateway.connect(broker.host, broker.port)
    gateway.loop_start()
    online = json.dumps({"state": "online"})
    gateway.publish(f"{prefix}/status", online, qos=1, retain=True).wait_for_publish(5.0)

    def opener(target: Target, spec: DeviceSpec) -> Device:
        # The gateway dies 0.2 s into the observation window, whenever that starts.
        return _DiesWhenObserved(open_live(target, spec), lambda: _die(gateway))

    try:
        publish_statuses(gateway, prefix, {k: v for k, v in DECLARED.items() if k != "NVR-01"})
        result = decide(tmp_path, broker, prefix, opener=opener, window="2 s")
    finally:
        gateway.loop_stop()

    assert result.verdict is Verdict.ERROR, result.reason
    assert result.reason.startswith(
        f"SC-VID-001 cannot be decided: lost contact with video at {broker.url(prefix)}: "
    )
    assert 'its offline status {"state": "offline"} arrived at ' in result.reason


class _DiesWhenObserved:
    """A device whose gateway dies 0.2 s after an observation of it starts."""

    def __init__(self, device: Device, die: Callable[[], None]) -> None:
        self._device = device
        self._die = die

    def observe(self, *args: Any, **kwargs: Any) -> Any:
        timer = threading.Timer(0.2, self._die)
        timer.start()
        try:
            return self._device.observe(*args, **kwargs)  # type: ignore[attr-defined]
        finally:
            timer.join()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._device, name)


def _die(client: PahoClient) -> None:
    """The client's process killed: its connection closes without a DISCONNECT (and paho's
    network thread, stopped at once, does not reconnect)."""
    sock = client.socket()
    if isinstance(sock, socket.socket):
        sock.shutdown(socket.SHUT_RDWR)
    client.loop_stop()


def test_an_observation_of_a_wildcard_topic_is_recorded_and_replayed(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    publish_statuses(publisher, prefix, {"CAM-001": "camera", "NVR-01": "recorder"})
    publisher.publish(
        f"{prefix}/status", json.dumps({"ts": 1}), qos=1, retain=True
    ).wait_for_publish(5.0)
    (tmp_path / "video.yaml").write_text(VIDEO_MAP, encoding="utf-8")
    (tmp_path / "status.schema.json").write_text(json.dumps(STATUS_SCHEMA), encoding="utf-8")
    devicemap = load_devicemap(tmp_path / "video.yaml")
    address = parse_device_uri(broker.url(prefix))
    options = LinkOptions(timeout=2.0)
    recorder = Recorder(tmp_path / "recording")
    live = MqttDevice(
        "video",
        address,
        devicemap,
        recorder.wrap(MqttLink("video", address, options), target="C001", device="video"),
        options,
    )
    try:
        observed = live.observe("inventory", window=0.5)
    finally:
        live.close()
        recorder.write_manifest({"run": "test"})
        recorder.close()
    replayed = MqttDevice(
        "video",
        address,
        devicemap,
        Replay(tmp_path / "recording").link(target="C001", device="video", scheme="mqtt"),
        options,
    ).observe("inventory", window=0.5)

    for obs in (observed, replayed):
        # Each message keeps its own topic; the status topic beside them is not matched.
        topics = sorted(m.topic for m in obs.messages)
        assert topics == [f"{prefix}/devices/CAM-001", f"{prefix}/devices/NVR-01"]
        assert obs.topic == f"{prefix}/devices/+"
        assert all(m.problem is None and m.retained for m in obs.messages)
    assert [m.data for m in replayed.messages] == [m.data for m in observed.messages]


def test_messages_on_a_wildcard_topic_meet_its_schema(
    tmp_path: Path, broker: Broker, publisher: PahoClient, prefix: str
) -> None:
    publisher.publish(
        f"{prefix}/devices/CAM-001", json.dumps({"id": "CAM-001"}), qos=1, retain=True
    ).wait_for_publish(5.0)
    (tmp_path / "video.yaml").write_text(VIDEO_MAP, encoding="utf-8")
    (tmp_path / "status.schema.json").write_text(json.dumps(STATUS_SCHEMA), encoding="utf-8")
    address = parse_device_uri(broker.url(prefix))
    options = LinkOptions(timeout=2.0)
    device = MqttDevice(
        "video",
        address,
        load_devicemap(tmp_path / "video.yaml"),
        MqttLink("video", address, options),
        options,
    )
    try:
        [message] = device.observe("inventory", window=0.3).messages
    finally:
        device.close()

    assert message.problem is not None
    assert message.problem.startswith(
        f"payload on {prefix}/devices/CAM-001 breaks its schema {tmp_path / 'status.schema.json'} "
        "at $: 'type' is a required property"
    )
