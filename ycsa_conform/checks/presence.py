"""What a window of MQTT traffic says about the device itself: there, never heard, or lost.

A check that passes on silence ("no offline status", "no message lost", "every declared device
reported") proves nothing about a device that was never there. So a `message` or `inventory`
check listens to all of the device's topics during its window (`observe(witnesses=True)`) and
decides, before judging, which of these holds:

    present      it was heard: a live message on any of its topics during the window, or a
                 retained status that is not its offline status (the broker holds the last
                 status the device left; a live session would have replaced an offline one)
    never heard  neither: no live message, no retained status (or only an offline one). A
                 quiet window then proves nothing: the verdict is `fail`, "never heard from",
                 since the device is not doing what the platform needs; never `pass`
    gone         not present in the window, but an earlier window of this run heard it live:
                 it went away before this window opened (a gateway killed or powered off
                 mid-run). `error` (LostContact), "lost contact with …, heard at … earlier in
                 this run", never the `fail` of never heard: what went away cannot be judged
    lost         it was there and went away during the window: its offline status (the will
                 the broker publishes when its session drops, or the one it sends going away)
                 arrived live and nothing followed it for the rest of the window, at least
                 RECONNECT_GRACE (a device back sooner, as a client whose NAT mapping expired
                 reconnects, had a blip, not a loss; one whose status came too near the end
                 of the window to tell is judged on the whole window); or it fell
                 silent on every topic for longer than the check allows after it had been
                 talking on others. What the window did not see cannot be judged: `error`
                 (LostContact), "lost contact with …", unless the part of the window before the
                 loss already showed non-conformance (a message that must not come, a gap over
                 the limit, a lost message, a bad payload): that stays `fail`

Our own connection to the broker closing during a window is `error` too (LostContact raised by
the transport), and a broker that cannot be reached at all is `error` (DeviceRefused).

The offline status is the profiles' convention (SP-DATA-018, SC-DAT-004): the device map's topic
`status` carries `{"state": "offline"}` as the device's last will, and any other state while it
is connected. A check whose own subject is that status (SP-DATA-018: `absent` on `status`
matching `/state: offline`) judges it: there an offline status arriving is the failure, not lost
contact. A device map without a `status` topic is judged on its live messages alone.

The bench has the faults to show each case: a gateway never started or below another prefix
(never heard), `SimGateway.vanish()` (killed: the broker publishes its will), `hung` (it stops
publishing and keeps its connection), `broker-drops-connection` (the will, then back in 0.1 s:
present, and SP-DATA-018 fails), a broker stopped during the window (our connection lost).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ycsa_conform.result import Source

if TYPE_CHECKING:
    # Types only: importing the transport would load paho for every profile.
    from ycsa_conform.transport.mqtt import Message, Observation

__all__ = [
    "OFFLINE",
    "RECONNECT_GRACE",
    "STATUS_TOPIC",
    "Presence",
    "clock_time",
    "gone_now",
    "is_offline",
    "presence_of",
]

STATUS_TOPIC = "status"  # the device map's topic key of the device's online/offline status
OFFLINE = "offline"  # the value at /state of its offline status, its last will
# s: how long a device must stay away after its offline status to count as lost. The bench
# gateway reconnects in about 0.1 s; a field client whose connection a NAT dropped, in a second.
RECONNECT_GRACE = 1.0


def is_offline(message: Message) -> bool:
    """The message is the device's offline status on its status topic (its will)."""
    data = message.data
    return (
        message.key == STATUS_TOPIC and isinstance(data, Mapping) and data.get("state") == OFFLINE
    )


def clock_time(at: float) -> str:
    """A host time as HH:MM:SS.sss (local time of this host)."""
    milliseconds = round(at * 1000)
    seconds = time.strftime("%H:%M:%S", time.localtime(milliseconds // 1000))
    return f"{seconds}.{milliseconds % 1000:03d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Presence:
    """The device's messages of one window, as evidence of it being there."""

    device: str  # "gateway at mqtt://127.0.0.1:1883/ycsa/bench/P001"
    topic: str  # the key of the topic the check observes
    window: float  # s
    started: float
    ended: float
    live: tuple[Message, ...]  # live messages on any topic, its offline status excepted
    status: Message | None  # the retained status the broker sent on subscribing
    offline: Message | None  # its offline status, arrived live with nothing live after it
    retained: int  # retained messages on its other topics (which may be old)
    earlier: Message | None = None  # its last live message heard before this window, if any

    @property
    def present(self) -> bool:
        return bool(self.live) or (self.status is not None and not is_offline(self.status))

    @property
    def lost_at(self) -> float | None:
        """When contact was lost (its offline status arrived), else None."""
        return self.offline.at if self.offline is not None else None

    def never_heard(self) -> str:
        """Why the device counts as never heard from (use when not `present`)."""
        said = (
            f"no live message on any of its topics (only {self.retained} retained message(s), "
            "which may be old)"
            if self.retained
            else "no message on any of its topics"
        )
        status = (
            f"its retained status says offline ({_excerpt(self.status.payload)}, its last will)"
            if self.status is not None and is_offline(self.status)
            else "no retained status"
        )
        return (
            f"never heard from {self.device} during the {self.window:g} s window: {said} and "
            f"{status}; is it connected and is the prefix right?"
        )

    def gone(self) -> str | None:
        """Why a device not `present` in this window counts as lost, not never heard: an
        earlier window of this run heard it live. It was there and went away before this
        window opened (killed, powered off, its link down), so the window cannot be judged.
        None when it is present or was never heard in this run."""
        earlier = self.earlier
        if self.present or earlier is None:
            return None
        status = (
            f", and its retained status says offline ({_excerpt(self.status.payload)})"
            if self.status is not None and is_offline(self.status)
            else ""
        )
        return (
            f"lost contact with {self.device}: heard at {clock_time(earlier.at)} earlier in "
            f"this run (on {earlier.topic}), then nothing live on any of its topics during "
            f"this {self.window:g} s window{status}; the window cannot be judged: is it still "
            "powered and connected?"
        )

    def lost(self) -> str | None:
        """Why contact was lost by its offline status arriving, or None."""
        offline = self.offline
        if offline is None:
            return None
        before = [m for m in self.live if m.at <= offline.at]
        last = f"last message at {clock_time(before[-1].at)}, then " if before else ""
        return (
            f"lost contact with {self.device}: {last}its offline status "
            f"{_excerpt(offline.payload)} arrived at {clock_time(offline.at)} "
            f"({offline.at - self.started:.1f} s into the {self.window:g} s window) and "
            f"nothing followed for {self.ended - offline.at:.1f} s; the window cannot be judged"
        )

    def fell_silent(self, allowance: float) -> str | None:
        """Why contact was lost by silence, or None: the device had been talking on a topic
        besides the observed one, then said nothing on any topic for more than `allowance` s
        to the end of the window. (A device whose only traffic is the observed topic is judged
        on it: its silence is what the check is for.)"""
        if not any(m.key != self.topic for m in self.live):
            return None
        last = self.live[-1]
        silence = self.ended - last.at
        if silence <= allowance:
            return None
        return (
            f"lost contact with {self.device}: last message at {clock_time(last.at)} (on "
            f"{last.topic}), then nothing on any of its topics for {silence:.1f} s to the end "
            f"of the {self.window:g} s window; the window cannot be judged: is it still "
            "powered and connected?"
        )


def presence_of(obs: Observation, source: Source, *, window: float) -> Presence:
    """What `obs` (observed with witnesses) shows of the device at `source`."""
    every = sorted((*obs.messages, *obs.heard), key=lambda m: m.at)
    live = tuple(m for m in every if not m.retained and not is_offline(m))
    status = next((m for m in every if m.retained and m.key == STATUS_TOPIC), None)
    offline = next((m for m in reversed(every) if not m.retained and is_offline(m)), None)
    if offline is not None and any(m.at > offline.at for m in live):
        offline = None  # it came back
    elif offline is not None and obs.ended - offline.at < RECONNECT_GRACE:
        offline = None  # too near the end of the window to tell a loss from a blip
    retained = sum(1 for m in every if m.retained and m.key != STATUS_TOPIC)
    earlier = [m for m in obs.earlier if m.at < obs.started and not is_offline(m)]
    return Presence(
        device=f"{source.device} at {source.address}" if source.address else source.device,
        topic=obs.key,
        window=window,
        started=obs.started,
        ended=obs.ended,
        live=live,
        status=status,
        offline=offline,
        retained=retained,
        earlier=max(earlier, key=lambda m: m.at) if earlier else None,
    )


def gone_now(device: object, *, window: float = 0.5) -> str | None:
    """Why an MQTT `device` that did not answer counts as gone rather than unresponsive: an
    earlier window of this run heard it live, and a short look at its topics now (its status
    retained on subscribing) finds it not present. None for a device that is there, was never
    heard in this run, has no status topic, or cannot be observed."""
    from ycsa_conform.errors import DeviceError
    from ycsa_conform.transport import Mapped, Observes

    if not isinstance(device, Observes) or not isinstance(device, Mapped):
        return None
    if device.devicemap is None or STATUS_TOPIC not in device.devicemap.topics:
        return None
    try:
        obs = device.observe(STATUS_TOPIC, window=window, stop="never", witnesses=True)
    except (DeviceError, ValueError):
        return None
    return presence_of(obs, device.source, window=window).gone()


def _excerpt(payload: str) -> str:
    text = payload if len(payload) <= 60 else payload[:57] + "..."
    try:
        return json.dumps(json.loads(text), ensure_ascii=False)
    except ValueError:
        return repr(text)
