"""What a window of messages says of the device itself (checks/presence.py), and how the
`message` check turns it into verdicts, on observations built here. The same on a real broker,
with devices that vanish, hang or were never there: tests/bench/test_presence_live.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ycsa_conform.checks.message import Expect, MessageCheck, _Observed
from ycsa_conform.checks.presence import clock_time, presence_of
from ycsa_conform.errors import LostContact
from ycsa_conform.limit import parse_limit
from ycsa_conform.result import Source, Verdict
from ycsa_conform.transport.mqtt import Message, Observation

PREFIX = "ycsa/bench/P001"
SOURCE = Source(device="gateway", scheme="mqtt", address=f"mqtt://127.0.0.1:1883/{PREFIX}")
T0 = 1_796_300_000.0
ONLINE = {"state": "online"}
OFFLINE = {"state": "offline"}


def said(key: str, payload: Any, at: float, *, retained: bool = False) -> Message:
    return Message(
        topic=f"{PREFIX}/{key}",
        payload=json.dumps(payload),
        retained=retained,
        qos=1,
        at=T0 + at,
        data=payload,
        problem=None,
        key=key,
    )


def observation(key: str, *messages: Message, window: float = 2.0) -> Observation:
    return Observation(
        key=key,
        topic=f"{PREFIX}/{key}",
        schema=None,
        messages=tuple(m for m in messages if m.key == key),
        heard=tuple(m for m in messages if m.key != key),
        started=T0,
        ended=T0 + window,
    )


def test_a_retained_online_status_is_presence() -> None:
    presence = presence_of(
        observation("alarms", said("status", ONLINE, 0.01, retained=True)), SOURCE, window=2.0
    )
    assert presence.present


@pytest.mark.parametrize(
    ("messages", "what"),
    [
        ((), "no message on any of its topics and no retained status"),
        (
            (said("telemetry", {"ts": 1}, 0.01, retained=True),),
            "no live message on any of its topics (only 1 retained message(s), which may be old) "
            "and no retained status",
        ),
        (
            (said("status", OFFLINE, 0.01, retained=True),),
            'no message on any of its topics and its retained status says offline ({"state": '
            '"offline"}, its last will)',
        ),
    ],
)
def test_without_a_live_message_or_an_online_status_it_was_never_heard(
    messages: tuple[Message, ...], what: str
) -> None:
    presence = presence_of(observation("alarms", *messages), SOURCE, window=2.0)

    assert not presence.present
    assert presence.never_heard() == (
        f"never heard from gateway at {SOURCE.address} during the 2 s window: {what}; is it "
        "connected and is the prefix right?"
    )


def test_an_offline_status_followed_by_nothing_is_lost_contact() -> None:
    presence = presence_of(
        observation("heartbeat", said("heartbeat", {}, 0.2), said("status", OFFLINE, 0.5)),
        SOURCE,
        window=2.0,
    )

    assert presence.lost_at == T0 + 0.5
    assert presence.lost() == (
        f"lost contact with gateway at {SOURCE.address}: last message at "
        f'{clock_time(T0 + 0.2)}, then its offline status {{"state": "offline"}} arrived '
        f"at {clock_time(T0 + 0.5)} (0.5 s into the 2 s window) and nothing followed for 1.5 s; "
        "the window cannot be judged"
    )


def test_an_offline_status_the_device_comes_back_from_is_no_loss() -> None:
    presence = presence_of(
        observation(
            "heartbeat",
            said("status", OFFLINE, 0.5),
            said("status", ONLINE, 0.6),
            said("heartbeat", {}, 0.8),
        ),
        SOURCE,
        window=2.0,
    )

    assert presence.present
    assert presence.lost_at is None


def test_silence_on_every_topic_is_loss_only_for_a_device_that_talked_on_others() -> None:
    talking = observation("heartbeat", said("heartbeat", {}, 0.1), said("telemetry", {}, 0.2))
    heartbeat_only = observation("heartbeat", said("heartbeat", {}, 0.1))

    silent = presence_of(talking, SOURCE, window=2.0).fell_silent(0.5)

    assert silent is not None
    assert f"(on {PREFIX}/telemetry), then nothing on any of its topics for 1.8 s" in silent
    assert presence_of(talking, SOURCE, window=2.0).fell_silent(2.0) is None
    assert presence_of(heartbeat_only, SOURCE, window=2.0).fell_silent(0.5) is None


# -- the message check's verdicts on them ------------------------------------------------------


def judge(expect: Expect, obs: Observation, *, limit: str | None = None, **options: Any) -> Any:
    check = MessageCheck(
        device="gateway",
        topic=obs.key,
        expect=expect,
        window=2.0,
        limit=parse_limit(limit) if limit else None,
        **options,
    )
    resolved = check.limit.resolve({}) if check.limit is not None else None
    return check._judge(_Observed(obs, SOURCE, 2.0, resolved, check.match))


def test_a_forbidden_message_before_the_loss_still_fails() -> None:
    obs = observation(
        "alarms",
        said("telemetry", {}, 0.1),
        said("alarms", {"type": "tilt"}, 0.3),
        said("status", OFFLINE, 0.5),
    )

    outcome = judge(Expect.ABSENT, obs)

    assert outcome.verdict is Verdict.FAIL
    assert "; then lost contact with gateway at " in outcome.reason


def test_a_quiet_window_cut_by_a_loss_is_an_error() -> None:
    obs = observation("alarms", said("telemetry", {}, 0.1), said("status", OFFLINE, 0.5))

    with pytest.raises(LostContact, match=r"its offline status .* nothing followed for 1\.5 s"):
        judge(Expect.ABSENT, obs)


def test_the_session_check_judges_the_offline_status_it_watches_for() -> None:
    obs = observation("status", said("telemetry", {}, 0.1), said("status", OFFLINE, 0.5))

    outcome = judge(Expect.ABSENT, obs, match={"/state": "offline"})

    assert outcome.verdict is Verdict.FAIL
    assert outcome.reason.startswith(f"{PREFIX}/status: a message arrived after 0.500 s")


def test_a_count_cut_short_is_an_error_even_below_its_limit() -> None:
    obs = observation("heartbeat", said("heartbeat", {}, 0.1), said("status", OFFLINE, 0.5))

    with pytest.raises(LostContact):
        judge(Expect.COUNT, obs, limit=">= 4")


def test_a_clock_time_rounds_to_the_millisecond() -> None:
    assert clock_time(T0 + 0.9996).endswith(":21.000")
    assert clock_time(T0 + 0.2).endswith(":20.200")
