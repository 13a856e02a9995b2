"""A community target's subsystems: their devices join the target's, their inventory expands,
and every mistake is one line at its place."""

from __future__ import annotations

from pathlib import Path

import pytest

from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import InputError
from ycsa_conform.site import Site, load_site

VIDEO_MAP = """\
devicemap: test/community-video
version: 1
protocol: mqtt
topics:
  status: {topic: status, schema: status.schema.json}
  inventory: {topic: devices/+, schema: status.schema.json}
points:
  device_clock: {topic: status, pointer: /ts, unit: s}
"""
SCHEMA = '{"type": "object", "required": ["id"]}'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "video.yaml").write_text(VIDEO_MAP, encoding="utf-8")
    (tmp_path / "status.schema.json").write_text(SCHEMA, encoding="utf-8")
    return tmp_path


def site_text(body: str, *, kind: str = "community") -> str:
    return f"site: demo-community\nkind: field\ntargets:\n  - id: C001\n    kind: {kind}\n" + body


def load(folder: Path, body: str, *, kind: str = "community") -> Site:
    path = folder / "site.yaml"
    path.write_text(site_text(body, kind=kind), encoding="utf-8")
    return load_site(path)


def problems(folder: Path, body: str, *, kind: str = "community") -> list[str]:
    with pytest.raises(InputError) as caught:
        load(folder, body, kind=kind)
    return [str(p) for p in caught.value.problems]


VIDEO = (
    "    subsystems:\n"
    "      video:\n"
    "        devices:\n"
    "          video: {uri: 'mqtt://127.0.0.1:1883/c/C001/video', map: video.yaml}\n"
)


def test_subsystem_devices_join_the_target_and_their_inventory_expands(folder: Path) -> None:
    body = (
        "    devices:\n"
        "      gateway: {uri: 'mqtt://127.0.0.1:1883/c/C001/gw', map: video.yaml}\n"
        "    subsystems:\n"
        "      video:\n"
        "        title: {en: Video surveillance, zh: 视频监控}\n"
        "        devices:\n"
        "          video: {uri: 'mqtt://127.0.0.1:1883/c/C001/video', map: video.yaml, "
        "timeout: 2 s}\n"
        "        inventory:\n"
        "          camera: CAM-008..CAM-011\n"
        "          recorder: [NVR-01]\n"
        "      access:\n"
        "        inventory: {door: [DOOR-1, DOOR-2]}\n"
    )

    [target] = load(folder, body).targets

    assert set(target.devices) == {"gateway", "video"}
    assert target.devices["video"].timeout == 2.0
    assert target.devices["video"].devicemap.topics["inventory"].wildcard
    assert target.subsystem_of("video") == "video"
    assert target.subsystem_of("gateway") is None
    video = target.subsystems["video"]
    assert video.title == {"en": "Video surveillance", "zh": "视频监控"}
    assert video.roles == ("video",)
    assert dict(video.inventory) == {
        "camera": ("CAM-008", "CAM-009", "CAM-010", "CAM-011"),
        "recorder": ("NVR-01",),
    }
    assert video.origin == f"{folder / 'site.yaml'}:9: $.targets[0].subsystems.video"
    access = target.subsystems["access"]
    assert (access.roles, access.title) == ((), {"en": "access"})
    assert dict(access.inventory) == {"door": ("DOOR-1", "DOOR-2")}


def test_a_target_without_subsystems_has_none(folder: Path) -> None:
    [target] = load(folder, "").targets
    assert dict(target.subsystems) == {}


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (
            "CAM-001..CAM-48",
            "'CAM-001..CAM-48' is not a range: the widths differ (3 and 2 digits); write it "
            "like 'CAM-001..CAM-048' (same prefix, same zero-padded width, first <= last)",
        ),
        (
            "CAM-048..CAM-001",
            "'CAM-048..CAM-001' is not a range: the first id comes after the last; write it "
            "like 'CAM-001..CAM-048' (same prefix, same zero-padded width, first <= last)",
        ),
        (
            "CAM-001..DOOR-009",
            "'CAM-001..DOOR-009' is not a range: the prefixes differ ('CAM-' and 'DOOR-'); "
            "write it like 'CAM-001..CAM-009' (same prefix, same zero-padded width, "
            "first <= last)",
        ),
        (
            "CAM-0000001..CAM-9999999",
            "'CAM-0000001..CAM-9999999' is not a range: it spans more than 100000 ids, more "
            "than any subsystem has; write it like 'CAM-0000001..CAM-0000048' (same prefix, "
            "same zero-padded width, first <= last)",
        ),
        (
            "CAM-A..CAM-B",
            "'CAM-A..CAM-B' is not a range of numbered ids; write it like 'CAM-001..CAM-048' "
            "(same prefix, same zero-padded width, first <= last), or list the ids",
        ),
    ],
)
def test_a_bad_range_is_named_with_a_good_one(folder: Path, ids: str, message: str) -> None:
    body = VIDEO + f"        inventory:\n          camera: {ids}\n"
    assert problems(folder, body) == [
        f"{folder / 'site.yaml'}:11: $.targets[0].subsystems.video.inventory.camera: {message}"
    ]


def test_an_id_declared_twice_names_its_first_place(folder: Path) -> None:
    body = (
        VIDEO + "        inventory:\n"
        "          camera: CAM-001..CAM-010\n"
        "          spare: [NVR-01, CAM-004]\n"
        "      access:\n"
        "        inventory:\n"
        "          camera: CAM-009..CAM-012\n"
    )
    site = folder / "site.yaml"
    assert problems(folder, body) == [
        f"{site}:12: $.targets[0].subsystems.video.inventory.spare[1]: device id 'CAM-004' is "
        "already declared at $.targets[0].subsystems.video.inventory.camera (line 11); "
        "declare each device once",
        f"{site}:15: $.targets[0].subsystems.access.inventory.camera: device id 'CAM-009' (and "
        "1 more of these ids) is already declared at "
        "$.targets[0].subsystems.video.inventory.camera (line 11); declare each device once",
    ]


def test_a_role_used_twice_names_both_places(folder: Path) -> None:
    body = (
        "    devices:\n"
        "      video: {uri: 'mqtt://127.0.0.1:1883/c/C001/gw', map: video.yaml}\n"
        + VIDEO
        + "      parking:\n"
        "        devices:\n"
        "          video: {uri: 'mqtt://127.0.0.1:1883/c/C001/park', map: video.yaml}\n"
    )
    site = folder / "site.yaml"
    assert problems(folder, body) == [
        f"{site}:11: $.targets[0].subsystems.video.devices.video: device role 'video' is "
        "already used at $.targets[0].devices.video (line 7); give each device of the target "
        "its own role",
        f"{site}:14: $.targets[0].subsystems.parking.devices.video: device role 'video' is "
        "already used at $.targets[0].devices.video (line 7); give each device of the target "
        "its own role",
    ]


def test_a_role_in_two_subsystems_names_the_first(folder: Path) -> None:
    body = (
        VIDEO + "      parking:\n"
        "        devices:\n"
        "          video: {uri: 'mqtt://127.0.0.1:1883/c/C001/park', map: video.yaml}\n"
    )
    assert problems(folder, body) == [
        f"{folder / 'site.yaml'}:12: $.targets[0].subsystems.parking.devices.video: device role "
        "'video' is already used at $.targets[0].subsystems.video.devices.video (line 9); give "
        "each device of the target its own role"
    ]


def test_subsystems_on_a_pole_are_refused(folder: Path) -> None:
    assert problems(folder, VIDEO, kind="pole") == [
        f"{folder / 'site.yaml'}:6: $.targets[0].subsystems: a pole target has no subsystems: "
        "subsystems belong to community targets; use kind: community"
    ]


def test_the_schema_refuses_an_inventory_that_is_neither_range_nor_list(folder: Path) -> None:
    body = VIDEO + "        inventory:\n          camera: CAM-001\n"
    [line] = problems(folder, body)
    assert line.startswith(
        f"{folder / 'site.yaml'}:11: $.targets[0].subsystems.video.inventory.camera: "
        '"CAM-001" is not in the expected form; give a range of ids like'
    ), line


# -- wildcard topics in device maps ----------------------------------------------------------


def test_a_wildcard_topic_loads_and_says_so(folder: Path) -> None:
    devicemap = load_devicemap(folder / "video.yaml")
    assert devicemap.topics["inventory"].topic == "devices/+"
    assert devicemap.topics["inventory"].wildcard
    assert not devicemap.topics["status"].wildcard


def map_problems(folder: Path, text: str) -> list[str]:
    path = folder / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_devicemap(path)
    return [str(p).removeprefix(f"{path}:") for p in caught.value.problems]


def test_a_point_cannot_read_a_wildcard_topic(folder: Path) -> None:
    text = VIDEO_MAP.replace("{topic: status, pointer", "{topic: inventory, pointer")
    assert map_problems(folder, text) == [
        "8: $.points.device_clock.topic: point device_clock reads topic 'inventory' "
        "(devices/+), which has a wildcard; a point reads one topic, so give it a topic without "
        "'+' (wildcard topics are for observing, like the inventory check)"
    ]


def test_commands_cannot_use_a_wildcard_topic(folder: Path) -> None:
    text = VIDEO_MAP.replace("points:", "commands: {topic: status, ack: inventory}\npoints:")
    assert map_problems(folder, text) == [
        "7: $.commands.ack: topic 'inventory' (devices/+) has a wildcard; commands (of points: "
        "none) go to and are acknowledged on one topic, so name a topic without '+'"
    ]


@pytest.mark.parametrize("topic", ["devices/#", "devices/+/status", "devices+"])
def test_other_wildcards_are_refused(folder: Path, topic: str) -> None:
    text = VIDEO_MAP.replace("devices/+", topic)
    assert map_problems(folder, text) == [
        f'6: $.topics.inventory.topic: "{topic}" is not in the expected form; give the topic '
        "below the URI's prefix, like 'telemetry'; only a last level may be the wildcard '+' "
        "(like 'devices/+', one topic per device), never '#'"
    ]
