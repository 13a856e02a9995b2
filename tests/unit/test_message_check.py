"""The `message` check kind as a profile states it: what loads, and one pinned line per mistake.

Running the checks against live MQTT traffic is in tests/bench/test_mqtt.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.checks.base import CheckContext
from ycsa_conform.checks.message import (
    DEFAULT_RETAINED_WINDOW,
    Expect,
    MessageCheck,
    Trigger,
    _Observed,
)
from ycsa_conform.errors import InputError
from ycsa_conform.limit import ParamRef, parse_limit
from ycsa_conform.profile import load_profile
from ycsa_conform.result import Source, Verdict
from ycsa_conform.site import Target
from ycsa_conform.transport import Reading
from ycsa_conform.transport.mqtt import Message, Observation
from ycsa_conform.units import ureg

PROFILE = """\
profile: mqtt-test
version: "0.1.0"
title: {en: MQTT test, zh: MQTT 测试}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  max_gap: {type: quantity, unit: s, default: "2 s", title: {en: Largest gap, zh: 最大间隔}}
  site_name: {type: text, default: "P", title: {en: Site, zh: 站点}}
requirements:
  - id: SP-DAT-901
    title: {en: Heartbeat, zh: 心跳}
    area: data-interface
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: CHECK
"""
LINE = PROFILE.splitlines().index("    check: CHECK") + 1
WHERE = "$.requirements[0].check"


def write(tmp_path: Path, check: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE.replace("CHECK", check), encoding="utf-8")
    return path


def loaded(tmp_path: Path, check: str) -> MessageCheck:
    [requirement] = load_profile(write(tmp_path, check)).requirements
    assert isinstance(requirement.check, MessageCheck)
    return requirement.check


def problems(tmp_path: Path, check: str) -> list[str]:
    path = write(tmp_path, check)
    with pytest.raises(InputError) as caught:
        load_profile(path)
    prefix = f"{path}:{LINE}: "
    lines = [str(p) for p in caught.value.problems]
    assert all(line.startswith(prefix) for line in lines), lines
    return [line.removeprefix(prefix) for line in lines]


def test_an_interval_check_loads_with_its_window_and_limit(tmp_path: Path) -> None:
    check = loaded(
        tmp_path,
        "{kind: message, device: gateway, topic: heartbeat, expect: interval, window: 5 s, "
        'limit: "<= $max_gap"}',
    )
    assert (check.kind, check.device, check.topic) == ("message", "gateway", "heartbeat")
    assert check.expect is Expect.INTERVAL
    assert check.window == 5.0
    assert check.limit is not None
    assert check.limit.text == "<= $max_gap"
    assert check.needs() == ("gateway",)


def test_a_window_in_milliseconds_is_converted_to_seconds(tmp_path: Path) -> None:
    check = loaded(
        tmp_path,
        '{kind: message, device: gw, topic: hb, expect: count, window: 1500 ms, limit: ">= 3"}',
    )
    assert check.window == 1.5


def test_the_window_may_be_a_duration_parameter(tmp_path: Path) -> None:
    check = loaded(
        tmp_path,
        "{kind: message, device: gw, topic: hb, expect: valid, window: $max_gap}",
    )
    assert check.window == ParamRef("max_gap")


def test_retained_listens_two_seconds_unless_told(tmp_path: Path) -> None:
    check = loaded(tmp_path, "{kind: message, device: gw, topic: status, expect: retained}")
    assert check.window == DEFAULT_RETAINED_WINDOW == 2.0
    assert check.limit is None


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            "{kind: message, device: gw, topic: hb, expect: intervals, window: 5 s}",
            f"{WHERE}.expect: \"intervals\" is not allowed (did you mean 'interval'?); use one "
            'of: "arrives", "count", "interval", "absent", "retained", "valid", "age", "sequence"',
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: interval, window: 5 s}",
            f"{WHERE}: 'expect: interval' needs a limit; add one like 'limit: \"<= 2 s\"'",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: count, limit: '>= 4'}",
            f"{WHERE}: 'expect: count' needs a window, how long to listen; add one like "
            "'window: 5 s'",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: absent, window: 5 s, limit: '<= 1'}",
            f"{WHERE}.limit: 'expect: absent' takes no limit (it passes or fails as it is); "
            "remove the limit",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: interval, window: 5 s, limit: '>= 4'}",
            f"{WHERE}.limit: '4' in '>= 4' has the wrong dimension for a time in seconds, "
            "which is in s; give the limit in s",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: count, window: 5 s, limit: '>= 4 s'}",
            f"{WHERE}.limit: '4 s' in '>= 4 s' has the wrong dimension for a number of "
            "messages, which is a plain number; drop the unit",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: arrives, window: 5 s, "
            "limit: '<= $site_name'}",
            f"{WHERE}.limit: parameter $site_name is text or true/false and cannot bound a "
            "value; use a quantity or number parameter",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: valid, window: '5'}",
            f"{WHERE}.window: '5' is not a duration; give how long to listen, like '5 s'",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: valid, window: 5 m}",
            f"{WHERE}.window: '5 m' is not a duration; give how long to listen, like '5 s'",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: valid, window: 0 s}",
            f"{WHERE}.window: 0 s is too short; give more than 0 s",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: valid, window: five seconds}",
            f"{WHERE}.window: 'five seconds' is not a duration; give how long to listen, "
            "like '5 s'",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: valid, window: $max_wait}",
            f"{WHERE}.window: unknown parameter $max_wait; declare it under 'parameters' "
            "(known: $max_gap, $site_name)",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: valid, window: $site_name}",
            f"{WHERE}.window: parameter $site_name is not a duration; give the window in "
            "seconds, like '5 s', or name a quantity parameter with 'unit: s'",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: valid, window: 5 s, point: x}",
            f"{WHERE}.point: unknown key 'point'; allowed keys here: device, expect, kind, "
            "limit, match, sequence, timestamp, topic, trigger, window",
        ),
        (
            "{kind: message, device: gw, topic: equipment, expect: age, limit: '<= 90 s'}",
            f"{WHERE}.timestamp: 'expect: age' needs 'timestamp', the JSON pointer to the "
            "payload's time stamp (like '/ts'), and only it takes one",
        ),
        (
            "{kind: message, device: gw, topic: hb, expect: valid, window: 5 s, timestamp: /ts}",
            f"{WHERE}.timestamp: 'expect: age' needs 'timestamp', the JSON pointer to the "
            "payload's time stamp (like '/ts'), and only it takes one",
        ),
        (
            "{kind: message, device: gw, topic: status, expect: absent, window: 5 s, "
            "match: {state: offline}}",
            f'{WHERE}.match: "state" is not in the expected form; write each key as a '
            "JSON pointer, like '/type'",
        ),
        (
            "{kind: message, device: gw, topic: events, expect: count, window: 5 s, "
            "limit: '>= 1', trigger: {device: tilt, set: {tilt_alarm_threshold: 0.01 deg}}}",
            f"{WHERE}.trigger: a trigger times a message: use it with 'expect: arrives'",
        ),
        (
            "{kind: message, device: gw, topic: events, expect: arrives, window: 5 s, "
            "limit: '<= 2 s', trigger: {device: tilt, set: {tilt_alarm_threshold: 0.01 V}}}",
            f"{WHERE}.trigger.set.tilt_alarm_threshold: '0.01 V' has the wrong dimension for "
            "tilt_alarm_threshold; give it in deg",
        ),
    ],
)
def test_a_broken_message_check_is_one_pinned_problem(
    tmp_path: Path, check: str, message: str
) -> None:
    assert problems(tmp_path, check) == [message]


def test_age_match_and_trigger_load_as_written(tmp_path: Path) -> None:
    age = loaded(
        tmp_path,
        "{kind: message, device: gw, topic: equipment, expect: age, timestamp: /ts, "
        "limit: '<= $max_gap'}",
    )
    assert (age.expect, age.timestamp, age.window) == (Expect.AGE, "/ts", DEFAULT_RETAINED_WINDOW)

    event = loaded(
        tmp_path,
        "{kind: message, device: gw, topic: events, expect: arrives, window: 5 s, "
        "limit: '<= 2 s', match: {/type: tilt_alarm, /active: true}, "
        "trigger: {device: tilt, set: {tilt_alarm_threshold: 0.01 deg}, "
        "clears: {/type: tilt_alarm, /active: false}}}",
    )
    assert dict(event.match) == {"/type": "tilt_alarm", "/active": True}
    assert event.trigger is not None
    assert event.needs() == ("gw", "tilt")
    ((point, value),) = event.trigger.set
    assert (point, f"{value:~P}") == ("tilt_alarm_threshold", "0.01 deg")
    assert dict(event.trigger.clears or {}) == {"/type": "tilt_alarm", "/active": False}


# -- expect: sequence (message completeness), judged on observations built here --------------

TOPIC = "ycsa/community/C001/intrusion/heartbeat"
CHECK = "{kind: message, device: intrusion, topic: heartbeat, expect: sequence, window: 4 s, "


def judged(*payloads: Any) -> tuple[Verdict, str, Any]:
    check = MessageCheck(
        device="intrusion",
        topic="heartbeat",
        expect=Expect.SEQUENCE,
        window=4.0,
        limit=None,
        sequence="/seq",
    )
    messages = tuple(
        Message(
            topic=TOPIC,
            payload=json.dumps(p),
            retained=False,
            qos=0,
            at=100.0 + i,
            data=p,
            problem=None,
        )
        for i, p in enumerate(payloads)
    )
    obs = Observation(
        key="heartbeat", topic=TOPIC, schema=None, messages=messages, started=99.5, ended=104.0
    )
    run = _Observed(obs, Source(device="intrusion", scheme="mqtt"), 4.0, None)
    outcome = check._sequence(run)
    (measurement,) = outcome.measurements
    return outcome.verdict, outcome.reason, measurement.value


def test_consecutive_counters_lose_nothing() -> None:
    verdict, reason, lost = judged({"seq": 7}, {"seq": 8}, {"seq": 9})

    assert (verdict, lost) == (Verdict.PASS, 0)
    assert reason == f"{TOPIC}: no message lost in 3 message(s), /seq 7..9"


def test_a_gap_is_the_number_of_messages_lost_and_says_where() -> None:
    verdict, reason, lost = judged({"seq": 7}, {"seq": 8}, {"seq": 11}, {"seq": 12}, {"seq": 14})

    assert (verdict, lost) == (Verdict.FAIL, 3)
    assert reason.startswith(f"{TOPIC}: 3 message(s) lost (first gap after 8) in 5 message(s)")


def test_a_restart_and_a_repeat_are_reported_but_are_no_loss() -> None:
    verdict, reason, lost = judged({"seq": 41}, {"seq": 41}, {"seq": 0}, {"seq": 1})

    assert (verdict, lost) == (Verdict.PASS, 0)
    assert reason.endswith("; 1 restart(s) of the counter, 1 repeat(s)")


def test_a_message_without_its_counter_fails() -> None:
    verdict, reason, _ = judged({"seq": 1}, {"ts": 5}, {"seq": 2}, {"seq": "3"})

    assert verdict is Verdict.FAIL
    assert "2 message(s) without a counter at /seq" in reason


def test_fewer_than_two_counters_cannot_show_completeness() -> None:
    verdict, reason, lost = judged({"seq": 1})

    assert (verdict, lost) == (Verdict.FAIL, None)
    assert "completeness needs at least two, so lengthen the window" in reason


def test_a_sequence_check_loads_with_its_pointer(tmp_path: Path) -> None:
    check = loaded(tmp_path, CHECK + "sequence: /seq}")

    assert (check.expect, check.sequence, check.limit) == (Expect.SEQUENCE, "/seq", None)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (CHECK + "}", "$.requirements[0].check.sequence: 'expect: sequence' needs 'sequence'"),
        (
            CHECK.replace("sequence,", "count,") + 'limit: ">= 1", sequence: /seq}',
            "$.requirements[0].check.sequence: 'expect: sequence' needs 'sequence'",
        ),
        (CHECK + 'sequence: /seq, limit: "<= 1"}', "$.requirements[0].check.limit: "),
    ],
)
def test_sequence_and_only_sequence_takes_a_counter_pointer(
    tmp_path: Path, check: str, message: str
) -> None:
    (line,) = problems(tmp_path, check)

    assert line.startswith(message), line


# -- durations and time stamps that cannot be judged -------------------------------------------

NOW = 1_796_300_000.0  # s since 1970: 2026-12-03


def observed(
    expect: Expect,
    *payloads: Any,
    at: float = NOW,
    since: float | None = None,
    time_unit: str = "s",
    limit: str = "<= 300 s",
) -> tuple[MessageCheck, _Observed]:
    check = MessageCheck(
        device="gateway",
        topic="equipment",
        expect=expect,
        window=2.0,
        limit=parse_limit(limit),
        timestamp="/ts" if expect is Expect.AGE else None,
    )
    messages = tuple(
        Message(
            topic="ycsa/bench/P001/equipment",
            payload=json.dumps(p),
            retained=True,
            qos=1,
            at=at,
            data=p,
            problem=None,
            key="equipment",
        )
        for p in payloads
    )
    obs = Observation(
        key="equipment",
        topic="ycsa/bench/P001/equipment",
        schema=None,
        messages=messages,
        started=at - 0.01,
        ended=at + 0.01,
        time_unit=time_unit,
    )
    assert check.limit is not None
    source = Source(
        device="gateway", scheme="mqtt", address="mqtt://127.0.0.1:1883/ycsa/bench/P001"
    )
    return check, _Observed(obs, source, 2.0, check.limit.resolve({}), since=since)


def test_an_arrival_before_its_trigger_is_never_judged() -> None:
    # A replay that timed the trigger by its own clock: 8.079 s after the recorded arrival.
    check, run = observed(
        Expect.ARRIVES, {"type": "tilt_alarm"}, since=NOW + 8.079, limit="<= 0.1 s"
    )

    outcome = check._arrives(run)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        "cannot be decided: ycsa/bench/P001/equipment: negative delivery time -8.079 s: the "
        "trigger's write and the arrival come from different clocks (a replay of a recording "
        "made before trigger times were recorded?); record the run again"
    )
    (measured,) = outcome.measurements
    assert (measured.value, measured.verdict) == (-8.079, Verdict.ERROR)


@pytest.mark.parametrize(
    ("stamp", "unit", "reason"),
    [
        (
            1_796_300_000_000,
            "s",
            "time stamp 1796300000000 at /ts looks like milliseconds, the device map declares "
            "seconds (topics.equipment.time_unit); declare time_unit: ms",
        ),
        (
            1_796_299_990_000_000,
            "ms",
            "time stamp 1796299990000000 at /ts looks like microseconds, the device map declares "
            "milliseconds (topics.equipment.time_unit); declare time_unit: us",
        ),
        (
            1_796_299_990,
            "ms",
            "time stamp 1796299990 at /ts looks like seconds, the device map declares "
            "milliseconds (topics.equipment.time_unit); declare time_unit: s",
        ),
        (
            NOW + 3 * 3600,
            "s",
            "time stamp 1796310800.0 at /ts is 3 h ahead of this host's clock at its arrival (at "
            "most 10 s allowed): the device's clock or this host's is wrong (a time zone?); set "
            "both by NTP",
        ),
        (
            86_400,
            "s",
            "time stamp 86400 at /ts is before 2000-01-01 read as seconds "
            "(topics.equipment.time_unit), and in every other unit: the device's clock looks "
            "unset; set it by NTP",
        ),
    ],
)
def test_a_time_stamp_that_cannot_be_believed_is_never_an_age(
    stamp: float, unit: str, reason: str
) -> None:
    check, run = observed(Expect.AGE, {"ts": stamp}, time_unit=unit)

    outcome = check._age(run)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == f"cannot be decided: ycsa/bench/P001/equipment: {reason}"
    (measured,) = outcome.measurements
    assert measured.value is None


def test_a_stamp_in_the_declared_unit_gives_its_age() -> None:
    check, run = observed(Expect.AGE, {"ts": (NOW - 42) * 1000}, time_unit="ms")

    outcome = check._age(run)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    (measured,) = outcome.measurements
    assert measured.value == 42.0


def test_a_stamp_a_little_ahead_is_age_zero_and_says_so() -> None:
    check, run = observed(Expect.AGE, {"ts": NOW + 1.5})

    outcome = check._age(run)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    (measured,) = outcome.measurements
    assert measured.value == 0.0
    assert outcome.reason.endswith(
        "(retained message, time stamp at /ts; its clock 1.500 s ahead of this host's, within "
        "the 10 s allowed: age taken as 0 s)"
    )


def test_a_trigger_without_actuation_is_not_applicable_and_untested() -> None:
    check = MessageCheck(
        device="gateway",
        topic="events",
        expect=Expect.ARRIVES,
        window=1.0,
        limit=parse_limit("<= 1 s"),
        trigger=Trigger(device="tilt", set=(("tilt_alarm_threshold", 0.01),), clears=None),
    )
    target = Target(
        id="P001",
        kind="pole",
        title={"en": "P001"},
        parameters={},
        design={},
        equipment=(),
        devices={},
        origin="test",
    )
    ctx = CheckContext(target=target, parameters={}, device=lambda role: _NoDevice())

    outcome = check.run(ctx)

    assert (outcome.verdict, outcome.untested) == (Verdict.NOT_APPLICABLE, True)
    assert "run with --allow-actuation to let it command tilt" in outcome.reason


class _NoDevice:
    """Stands where a device would be: a check that may not actuate never touches it."""

    source = Source(device="gateway", scheme="mqtt")

    def observe(self, *args: Any, **kwargs: Any) -> Observation:
        raise AssertionError("observed although actuation is not allowed")


class _QuickTilt:
    """A tilt sensor whose gateway publishes the alarm while the threshold write is still in
    its call: the event arrives before the write returns (a fast device, a busy host)."""

    source = Source(device="tilt", scheme="memory")

    def __init__(self) -> None:
        self.threshold = ureg.Quantity(1.0, "deg")
        self.events: list[float] = []

    def read_fresh(self, points: Any) -> dict[str, Reading]:
        return {p: Reading(p, self.threshold, time.time(), self.source) for p in points}

    read_many = read_fresh

    def write(self, point: str, value: Any) -> None:
        self.threshold = value
        self.events.append(time.time())  # the gateway's message arrives now
        time.sleep(0.01)  # the rest of the write's round trip


class _Gateway:
    source = Source(device="gateway", scheme="mqtt")

    def __init__(self, tilt: _QuickTilt) -> None:
        self.tilt = tilt

    def observe(self, key: str, *, window: float, act: Any = None, **_: Any) -> Observation:
        started = time.time()
        act()
        payload = {"type": "tilt_alarm", "active": True}
        messages = tuple(
            Message(
                topic="p/events",
                payload=json.dumps(payload),
                retained=False,
                qos=1,
                at=at,
                data=payload,
                problem=None,
                key=key,
            )
            for at in self.tilt.events[-1:]
        )
        return Observation(
            key=key,
            topic="p/events",
            schema=None,
            messages=messages,
            started=started,
            ended=time.time(),
            heard=messages,
        )


def test_an_event_raised_before_its_write_returns_is_timed_from_the_write_s_start() -> None:
    tilt = _QuickTilt()
    gateway = _Gateway(tilt)
    check = MessageCheck(
        device="gateway",
        topic="events",
        expect=Expect.ARRIVES,
        window=1.0,
        limit=parse_limit("<= 1 s"),
        match={"/type": "tilt_alarm"},
        trigger=Trigger(
            device="tilt", set=(("tilt_alarm_threshold", ureg.Quantity(0.01, "deg")),), clears=None
        ),
    )
    devices = {"gateway": gateway, "tilt": tilt}
    ctx = CheckContext(
        target=Target(
            id="P001",
            kind="pole",
            title={},
            parameters={},
            design={},
            equipment=(),
            devices={},
            origin="test",
        ),
        parameters={},
        device=lambda role: devices[role],
        actuation_allowed=True,
    )

    outcome = check.run(ctx)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    (delivery,) = [m for m in outcome.measurements if m.unit == "s"]
    assert isinstance(delivery.value, float)
    assert delivery.value >= 0
    assert tilt.threshold == ureg.Quantity(1.0, "deg")  # put back
