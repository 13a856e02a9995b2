"""The smart-community bench as a whole community: the community C001 with its subsystems, one
smart pole P001 inside it on the same broker, the per-device status topics, and faults of
either bench. A real broker and real Modbus TCP; statuses read by a plain MQTT subscriber."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ycsa_conform.bench import Bench
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.evidence import load_evidence
from ycsa_conform.site import load_site
from ycsa_conform.transport import LinkOptions, open_device
from ycsa_conform.transport.mqtt import MqttDevice, make_client, unique_client_id

BENCHES = Path(__file__).parents[2] / "benches"


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    with Bench.start("smart-community") as running:
        yield running


def statuses(bench: Bench, role: str, *, settle: float = 1.0) -> dict[str, dict[str, Any]]:
    """The statuses below the community's `role` prefix, by device id, as first received."""
    host, port = bench.community_endpoints["mqtt"].split(":")
    seen: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    subscribed = threading.Event()

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        # The first message per device: the retained one (a refresh may follow, not retained,
        # as the broker forwards it live to a subscriber that is already there).
        with lock:
            seen.setdefault(
                msg.topic.rsplit("/", 1)[1], {"retain": msg.retain, **json.loads(msg.payload)}
            )

    client = make_client(unique_client_id("test-inventory"))
    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(host, int(port))
    client.loop_start()
    try:
        client.subscribe(f"ycsa/community/C001/{role}/devices/+", 1)
        assert subscribed.wait(5), "no subscription"
        time.sleep(settle)  # retained messages arrive at once; give them time to all come in
    finally:
        client.disconnect()
        client.loop_stop()
    with lock:
        return dict(seen)


def read(bench: Bench, target: str, role: str, point: str) -> Any:
    """`point` of the device `role` of `target`, read through ycsa_conform's transport."""
    site = load_site(bench.site_path, text=bench.site_text)
    [spec] = [t.devices[role] for t in site.targets if t.id == target]
    device = open_device(role, spec.uri, spec.devicemap, LinkOptions(timeout=2))
    try:
        return device.read(point).value
    finally:
        device.close()


# -- one community with one pole inside ------------------------------------------------------


def test_the_site_has_the_community_and_the_pole_inside_it(bench: Bench) -> None:
    site = load_site(bench.site_path, text=bench.site_text)

    assert [(t.id, t.kind) for t in site.targets] == [("C001", "community"), ("P001", "pole")]
    community, pole = site.targets
    assert set(community.subsystems) == set(community.devices)
    assert community.subsystems["video"].inventory["recorder"] == ("NVR-01",)
    assert len(community.subsystems["video"].inventory["camera"]) == 48
    assert "window_illuminance" in community.records
    assert {"lamp", "meter", "gateway"} <= set(pole.devices)
    assert bench.poles[0]["pole"] == "P001"
    assert bench.community_endpoints["pole"] == "C001"


def test_the_community_and_the_pole_share_one_broker(bench: Bench) -> None:
    site = load_site(bench.site_path, text=bench.site_text)
    community, pole = site.targets
    uris = [d.uri for d in community.devices.values()] + [pole.devices["gateway"].uri]

    assert {uri.split("/")[2] for uri in uris} == {bench.endpoints["mqtt"]}
    assert bench.community_endpoints["mqtt"] == bench.endpoints["mqtt"]


def test_the_pole_inside_answers_over_modbus_tcp(bench: Bench) -> None:
    temperature = read(bench, "P001", "environment", "air_temperature")

    assert bench.endpoints["modbus_tcp"].startswith("127.0.0.1:")
    assert -10 < temperature.to("degC").magnitude < 40


def test_the_parameters_are_the_poles_updated_by_the_communitys(bench: Bench) -> None:
    pole = yaml.safe_load((BENCHES / "smart-pole.site.yaml").read_text(encoding="utf-8"))
    own = yaml.safe_load((BENCHES / "smart-community.site.yaml").read_text(encoding="utf-8"))
    site = load_site(bench.site_path, text=bench.site_text)

    assert set(site.parameters) == set(pole["parameters"]) | set(own["parameters"])
    for name, value in own["parameters"].items():
        assert site.parameters[name].value == value, name


def test_one_evidence_file_merges_both_benches_and_goes_with_the_bench() -> None:
    with Bench.start("smart-community") as running:
        site = load_site(running.site_path, text=running.site_text)
        assert site.evidence is not None
        evidence = load_evidence(site.evidence)
        path = site.evidence
        entries = list(evidence.entries.values())
        items = {(e.item, e.target) for e in entries}
        assert ("platform_link_tls", "C001") in items
        assert ("luminaire_nameplate", "P001") in items
        assert all(f.is_absolute() and f.is_file() for e in entries for f in e.files)

    assert not path.exists()


def test_the_written_site_works_from_anywhere(bench: Bench, tmp_path: Path) -> None:
    site = load_site(bench.write_site(tmp_path / "site.yaml"))

    assert [t.id for t in site.targets] == ["C001", "P001"]
    assert site.targets[0].devices["video"].devicemap.path.is_absolute()


def test_a_fleet_of_communities_is_refused() -> None:
    with pytest.raises(
        ValueError,
        match="the smart-community bench simulates one community; --bench-poles applies to "
        "the smart-pole bench",
    ):
        Bench.start("smart-community", poles=2)


# -- per-device statuses --------------------------------------------------------------------


def test_every_camera_and_the_recorder_publish_a_retained_status(bench: Bench) -> None:
    seen = statuses(bench, "video")

    assert len(seen) == 49
    assert set(seen) == {f"CAM-{n:03d}" for n in range(1, 49)} | {"NVR-01"}
    assert seen["NVR-01"]["type"] == "recorder"
    assert all(s["retain"] and s["online"] is True for s in seen.values())
    assert all(s["type"] == "camera" for i, s in seen.items() if i.startswith("CAM-"))


@pytest.mark.parametrize(
    ("role", "count", "first", "kind"),
    [
        ("access", 36, "DOOR-001", "door"),
        ("parking", 4, "BAR-01", "barrier"),
        ("intrusion", 12, "ZONE-01", "zone"),
        ("fire", 1, "FACP-01", "panel"),
        ("elevator", 8, "ELV-01", "elevator"),
        ("environment", 1, "ENV-01", "station"),
        ("charging", 24, "EVC-01", "charger"),
        ("lighting", 40, "LUM-001", "luminaire"),
    ],
)
def test_every_subsystem_publishes_its_devices(
    bench: Bench, role: str, count: int, first: str, kind: str
) -> None:
    seen = statuses(bench, role, settle=0.5)

    assert len(seen) == count
    assert seen[first]["type"] == kind


def test_every_status_meets_the_schema_its_device_map_names(bench: Bench) -> None:
    import jsonschema

    devicemap = load_devicemap(BENCHES / "devicemaps" / "community-video.yaml")
    topic = devicemap.topics["inventory"]
    assert topic.topic == "devices/+"
    assert topic.schema is not None
    for status in statuses(bench, "video").values():
        status.pop("retain")
        jsonschema.validate(status, dict(topic.schema))


def test_statuses_are_refreshed_every_two_seconds(bench: Bench) -> None:
    first = statuses(bench, "fire", settle=0.2)["FACP-01"]["ts"]
    time.sleep(2.2)
    again = statuses(bench, "fire", settle=0.2)["FACP-01"]["ts"]

    assert 1.5 < again - first < 4.5


def test_the_pole_gateway_publishes_no_device_statuses(bench: Bench) -> None:
    host, port = bench.endpoints["mqtt"].split(":")
    prefix = bench.poles[0]["prefix"]
    seen: list[str] = []
    subscribed = threading.Event()
    client = make_client(unique_client_id("test-pole-topics"))
    client.on_message = lambda c, u, msg: seen.append(msg.topic)
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect(host, int(port))
    client.loop_start()
    try:
        client.subscribe(f"{prefix}/#", 1)
        assert subscribed.wait(5)
        time.sleep(1.0)
    finally:
        client.disconnect()
        client.loop_stop()

    assert f"{prefix}/telemetry" in seen
    assert not [t for t in seen if "/devices/" in t]


# -- faults of either bench ----------------------------------------------------------------


def test_a_dead_camera_publishes_nothing_and_is_counted_offline() -> None:
    with Bench.start("smart-community", faults=["camera-offline"]) as running:
        seen = statuses(running, "video")
        online = read(running, "C001", "video", "cameras_online")

    assert "CAM-017" not in seen
    assert len(seen) == 48
    assert all(s["online"] for s in seen.values())
    assert online.magnitude == 47


def test_a_silent_door_controller_is_absent_and_counted_offline() -> None:
    with Bench.start("smart-community", faults=["door-controller-silent"]) as running:
        seen = statuses(running, "access")
        online = read(running, "C001", "access", "doors_online")

    assert "DOOR-007" not in seen
    assert len(seen) == 35
    assert online.magnitude == 35


def test_offline_devices_that_still_speak_say_so() -> None:
    with Bench.start("smart-community", faults=["camera-offline"]) as running:
        assert running.community is not None
        settings = running.community.settings
        assert settings.silent_devices == frozenset({"CAM-017"})
    from ycsa_conform.bench.community import CommunitySettings, inventory

    doors = inventory(CommunitySettings(doors_offline=2), "access-control")
    assert [d.id for d in doors if not d.online] == ["DOOR-035", "DOOR-036"]


def test_a_pole_fault_reaches_the_pole_inside_the_community() -> None:
    with Bench.start("smart-community", faults=["low-power-factor"]) as running:
        assert running.pole.settings.full_power_factor == pytest.approx(0.82)
        power_factor = read(running, "P001", "meter", "power_factor")
        seen = statuses(running, "video", settle=0.5)

    assert float(power_factor.magnitude) <= 0.821  # the healthy pole's full-output PF is 0.96
    assert len(seen) == 49  # the community is untouched


def test_faults_of_both_benches_go_each_to_its_own() -> None:
    with Bench.start("smart-community", faults=["low-power-factor", "camera-offline"]) as running:
        assert running.faults == ("low-power-factor", "camera-offline")
        assert running.pole.settings.full_power_factor < 0.9
        assert running.community is not None
        assert running.community.settings.cameras_offline == 1
        assert "CAM-017" not in statuses(running, "video", settle=0.5)


def test_an_unknown_fault_still_gets_a_did_you_mean() -> None:
    with pytest.raises(
        ValueError, match="unknown bench fault 'camera-ofline'; did you mean 'camera-offline'"
    ):
        Bench.start("smart-community", faults=["camera-ofline"])


def test_the_reading_device_is_an_mqtt_device(bench: Bench) -> None:
    site = load_site(bench.site_path, text=bench.site_text)
    spec = site.targets[0].devices["video"]
    device = open_device("video", spec.uri, spec.devicemap, LinkOptions(timeout=2))
    try:
        assert isinstance(device, MqttDevice)
    finally:
        device.close()
