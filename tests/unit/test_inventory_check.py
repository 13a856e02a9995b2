"""The `inventory` check kind: what loads, one pinned line per mistake, and how reports are
judged against a subsystem's inventory.

Running it against a real broker is in tests/bench/test_inventory_live.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from ycsa_conform.checks.base import CheckContext
from ycsa_conform.checks.inventory import (
    DEFAULT_MAX_AGE,
    InventoryCheck,
    judge_inventory,
    read_reports,
)
from ycsa_conform.errors import InputError
from ycsa_conform.limit import ParamRef
from ycsa_conform.profile import load_profile
from ycsa_conform.result import Verdict
from ycsa_conform.site import Subsystem, Target
from ycsa_conform.transport.mqtt import Message

PROFILE = """\
profile: inventory-test
version: "0.1.0"
title: {en: Inventory test, zh: 清单测试}
status: draft
targets: [community]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  inventory_window: {type: quantity, unit: s, default: "2 s", title: {en: Window, zh: 窗口}}
  inventory_max_age: {type: quantity, unit: s, default: "120 s", title: {en: Age, zh: 时效}}
  site_name: {type: text, default: "C", title: {en: Site, zh: 站点}}
requirements:
  - id: SC-VID-901
    title: {en: Cameras report, zh: 摄像机上报}
    area: data-interface
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: CHECK
"""
LINE = PROFILE.splitlines().index("    check: CHECK") + 1
WHERE = "$.requirements[0].check"
BASE = "kind: inventory, device: video, topic: inventory, id: /id"


def write(tmp_path: Path, check: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE.replace("CHECK", "{" + check + "}"), encoding="utf-8")
    return path


def loaded(tmp_path: Path, check: str) -> InventoryCheck:
    [requirement] = load_profile(write(tmp_path, check)).requirements
    assert isinstance(requirement.check, InventoryCheck)
    return requirement.check


def problems(tmp_path: Path, check: str) -> list[str]:
    path = write(tmp_path, check)
    with pytest.raises(InputError) as caught:
        load_profile(path)
    prefix = f"{path}:{LINE}: "
    lines = [str(p) for p in caught.value.problems]
    assert all(line.startswith(prefix) for line in lines), lines
    return [line.removeprefix(prefix) for line in lines]


def test_an_inventory_check_loads_with_its_parameters(tmp_path: Path) -> None:
    check = loaded(
        tmp_path,
        f"{BASE}, timestamp: /ts, max_age: $inventory_max_age, classes: [camera], "
        "window: $inventory_window",
    )
    assert (check.kind, check.device, check.topic, check.id) == (
        "inventory",
        "video",
        "inventory",
        "/id",
    )
    assert check.window == ParamRef("inventory_window")
    assert check.max_age == ParamRef("inventory_max_age")
    assert (check.timestamp, check.classes) == ("/ts", ("camera",))
    assert check.needs() == ("video",)


def test_durations_are_seconds_and_max_age_has_a_default(tmp_path: Path) -> None:
    check = loaded(tmp_path, f"{BASE}, window: 1500 ms")
    assert (check.window, check.max_age, check.timestamp, check.classes) == (
        1.5,
        DEFAULT_MAX_AGE,
        None,
        (),
    )


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            "kind: inventory, device: video, topic: inventory, window: 2 s",
            f"{WHERE}: 'id' is required here; add it",
        ),
        (
            f"{BASE}, window: 2 s, id_pointer: /id",
            f"{WHERE}.id_pointer: unknown key 'id_pointer'; allowed keys here: classes, device, "
            "id, kind, max_age, timestamp, topic, window",
        ),
        (
            f"{BASE}, window: 2 m",
            f"{WHERE}.window: '2 m' is not a duration; write it like '5 s'",
        ),
        (
            f"{BASE}, window: 0 s",
            f"{WHERE}.window: '0 s' is too short; give more than 0 s",
        ),
        (
            f"{BASE}, window: $inventory_windw",
            f"{WHERE}.window: unknown parameter $inventory_windw; declare it under 'parameters' "
            "(known: $inventory_window, $inventory_max_age, $site_name)",
        ),
        (
            f"{BASE}, window: $site_name",
            f"{WHERE}.window: parameter $site_name is not a duration; give the window in seconds, "
            "like '5 s', or name a quantity parameter with 'unit: s'",
        ),
        (
            f"{BASE}, window: 2 s, max_age: 60 s",
            f"{WHERE}.max_age: max_age needs 'timestamp', the JSON pointer to the payload's time "
            "stamp (like '/ts'), to know how old a report is; add it or remove max_age",
        ),
        (
            f"{BASE}, window: 2 s, timestamp: /ts, max_age: soon",
            f"{WHERE}.max_age: 'soon' is not a duration; write it like '120 s'",
        ),
        (
            f"{BASE}, window: 2 s, classes: [camera, camera]",
            f"{WHERE}.classes: camera named twice; name each class once",
        ),
        (
            "kind: inventory, device: video, topic: inventory, id: id, window: 2 s",
            f'{WHERE}.id: "id" is not in the expected form; give the JSON pointer to the '
            "reporting device's id in the payload, like '/id'",
        ),
    ],
)
def test_each_mistake_is_one_line_at_its_place(tmp_path: Path, check: str, message: str) -> None:
    assert problems(tmp_path, check) == [message]


# -- judging ---------------------------------------------------------------------------------

NOW = 1_764_000_000.0


def message(payload: Any, *, at: float = NOW, topic: str | None = None) -> Message:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    device = payload.get("id", "x") if isinstance(payload, dict) else "x"
    return Message(
        topic=topic or f"c/C001/video/devices/{device}",
        payload=text,
        retained=True,
        qos=1,
        at=at,
        data=data,
        problem=None if data is not None else "payload on c/x is not JSON",
    )


CAMERAS = {f"CAM-00{n}": "camera" for n in range(1, 5)}
KNOWN = frozenset([*CAMERAS, "NVR-01"])


def judged(*messages: Message, timestamp: str | None = None, max_age: float = 60.0) -> Any:
    reports = read_reports(messages, id_pointer="/id", timestamp=timestamp, max_age=max_age)
    return judge_inventory(
        reports,
        declared=CAMERAS,
        known=KNOWN,
        topic="c/C001/video/devices/+",
        window=2.0,
        max_age=max_age if timestamp else None,
    )


def values(outcome: Any) -> dict[str, Any]:
    return {m.name: (m.value, m.limit, m.verdict) for m in outcome.measurements}


def test_every_declared_device_reporting_passes() -> None:
    outcome = judged(*(message({"id": i}) for i in [*CAMERAS, "NVR-01"]))
    assert outcome.verdict is Verdict.PASS
    assert outcome.reason == "all 4 declared cameras reported on c/C001/video/devices/+ within 2 s"
    assert values(outcome) == {
        "declared": (4, "site inventory (camera)", Verdict.PASS),
        "reported": (4, "= 4", Verdict.PASS),
        "missing": (0, "= 0", Verdict.PASS),
        "undeclared": (0, "= 0", Verdict.PASS),
    }


def test_a_declared_device_never_reporting_fails_naming_it() -> None:
    outcome = judged(message({"id": "CAM-001"}), message({"id": "CAM-003"}))
    assert outcome.verdict is Verdict.FAIL
    assert outcome.reason == "2 of 4 declared cameras never reported: CAM-002, CAM-004"
    assert values(outcome)["missing"] == (2, "= 0", Verdict.FAIL)


def test_more_than_ten_missing_ids_are_counted_not_listed() -> None:
    declared = {f"CAM-{n:03d}": "camera" for n in range(1, 49)}
    reports = read_reports(
        [message({"id": "CAM-001"})], id_pointer="/id", timestamp=None, max_age=1
    )
    outcome = judge_inventory(
        reports, declared=declared, known=frozenset(declared), topic="t/+", window=2.0
    )
    assert outcome.reason == (
        "47 of 48 declared cameras never reported: CAM-002, CAM-003, CAM-004, CAM-005, CAM-006, "
        "CAM-007, CAM-008, CAM-009, CAM-010, CAM-011 and 37 more"
    )


def test_an_undeclared_device_reporting_is_marginal() -> None:
    outcome = judged(*(message({"id": i}) for i in [*CAMERAS, "CAM-049"]))
    assert outcome.verdict is Verdict.MARGINAL
    assert outcome.reason == (
        "flagged: 1 device reports that the site does not declare: CAM-049; declare it or remove it"
    )
    assert values(outcome)["undeclared"] == (1, "= 0", Verdict.MARGINAL)


def test_nothing_at_all_fails_saying_so() -> None:
    outcome = judged()
    assert outcome.verdict is Verdict.FAIL
    assert outcome.reason == "nothing reported on c/C001/video/devices/+ within 2 s"


def test_unreadable_payloads_are_counted_and_named_not_fatal() -> None:
    outcome = judged(
        *(message({"id": i}) for i in CAMERAS), message("not json"), message({"name": "CAM-9"})
    )
    assert outcome.verdict is Verdict.PASS
    assert outcome.reason.endswith(
        "; 2 unreadable message(s) not counted, the first: payload on c/x is not JSON"
    )
    assert values(outcome)["unreadable"] == (2, "not counted", Verdict.PASS)


def test_a_stale_report_does_not_count() -> None:
    fresh = [message({"id": i, "ts": NOW - 5}) for i in ["CAM-001", "CAM-002", "CAM-003"]]
    old = message({"id": "CAM-004", "ts": NOW - 3600})
    outcome = judged(*fresh, old, timestamp="/ts", max_age=60.0)
    assert outcome.verdict is Verdict.FAIL
    assert outcome.reason == (
        "1 of 4 declared cameras never reported: CAM-004; 1 stale report(s) (time stamp older "
        "than 60 s) not counted: CAM-004"
    )


def test_a_stale_retained_report_followed_by_a_live_one_counts() -> None:
    fresh = [message({"id": i, "ts": NOW}) for i in CAMERAS]
    outcome = judged(message({"id": "CAM-004", "ts": 0}), *fresh, timestamp="/ts")
    assert outcome.verdict is Verdict.PASS
    assert "stale" not in values(outcome)


# -- run: where the declared devices come from -----------------------------------------------


def target(subsystems: dict[str, Subsystem]) -> Target:
    return Target(
        id="C001",
        kind="community",
        title={"en": "C001"},
        parameters={},
        design={},
        equipment=(),
        devices={},
        origin="site.yaml:4: $.targets[0]",
        subsystems=MappingProxyType(subsystems),
    )


def run(check: InventoryCheck, subsystems: dict[str, Subsystem]) -> Any:
    def no_device(role: str) -> Any:
        raise AssertionError(f"{role} must not be opened")

    return check.run(CheckContext(target=target(subsystems), parameters={}, device=no_device))


CHECK = InventoryCheck(device="video", topic="inventory", id="/id", window=1.0)


def video(inventory: dict[str, tuple[str, ...]]) -> Subsystem:
    return Subsystem(
        name="video",
        title={"en": "video"},
        roles=("video",),
        inventory=MappingProxyType(inventory),
        origin="site.yaml:6: $.targets[0].subsystems.video",
    )


def test_a_device_outside_every_subsystem_cannot_be_decided() -> None:
    outcome = run(CHECK, {})
    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        "cannot be decided: video is not a device of a subsystem of C001; in the site file "
        "(site.yaml:4: $.targets[0]) put it under 'subsystems: NAME: devices:' and list the "
        "subsystem's devices under its 'inventory:'"
    )


def test_a_subsystem_without_inventory_cannot_be_decided() -> None:
    outcome = run(CHECK, {"video": video({})})
    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        "cannot be decided: subsystem video of C001 declares no devices; add 'inventory:' to it "
        "in the site file (site.yaml:6: $.targets[0].subsystems.video), like "
        "{camera: 'CAM-001..CAM-048'}"
    )


def test_an_unknown_class_cannot_be_decided() -> None:
    check = InventoryCheck(
        device="video", topic="inventory", id="/id", window=1.0, classes=("cam",)
    )
    outcome = run(check, {"video": video({"camera": ("CAM-1",)})})
    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        "cannot be decided: subsystem video of C001 has no inventory class 'cam' "
        "(site.yaml:6: $.targets[0].subsystems.video); it declares: camera"
    )


# -- time stamps in their declared unit, and those that cannot be believed ---------------------


def reports_in(unit: str, *messages: Message) -> Any:
    reports = read_reports(
        messages, id_pointer="/id", timestamp="/ts", max_age=60.0, time_unit=unit
    )
    return judge_inventory(
        reports,
        declared=CAMERAS,
        known=KNOWN,
        topic="c/C001/video/devices/+",
        window=2.0,
        max_age=60.0,
    )


def test_stamps_in_the_declared_milliseconds_are_judged_by_their_age() -> None:
    fresh = [message({"id": i, "ts": (NOW - 5) * 1000}) for i in ["CAM-001", "CAM-002", "CAM-003"]]
    old = message({"id": "CAM-004", "ts": (NOW - 3600) * 1000})

    outcome = reports_in("ms", *fresh, old)

    assert outcome.verdict is Verdict.FAIL
    assert outcome.reason.startswith("1 of 4 declared cameras never reported: CAM-004; ")


def test_stamps_in_milliseconds_read_as_seconds_are_not_counted_and_not_judged() -> None:
    # Read as seconds, 57 000 years ahead: once an age of -1.8e12 s, "fresh", and a pass.
    outcome = reports_in("s", *(message({"id": i, "ts": NOW * 1000}) for i in CAMERAS))

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason.startswith(
        "cannot be decided: 4 declared cameras reported only with time stamps that cannot be "
        "believed (CAM-001, CAM-002, CAM-003, CAM-004), so whether they are fresh is unknown; "
    )
    assert (
        "time stamp 1764000000000.0 at /ts looks like milliseconds, the device map declares "
        "seconds (topics.inventory.time_unit); declare time_unit: ms" in outcome.reason
    )
    assert values(outcome)["unbelievable time stamps"] == (4, "not counted", Verdict.PASS)


def test_one_unbelievable_stamp_beside_fresh_reports_of_every_device_is_only_noted() -> None:
    fresh = [message({"id": i, "ts": NOW}) for i in CAMERAS]
    ahead = message({"id": "CAM-001", "ts": NOW + 7200})

    outcome = reports_in("s", ahead, *fresh)

    assert outcome.verdict is Verdict.PASS
    assert "unbelievable time stamps" not in values(outcome)
