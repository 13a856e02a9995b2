"""Device abilities (transport.abilities): which transport has which, and a PolledDevice has
exactly the abilities of the device it wraps, passing them through unpolled.

The transports' devices are the real ones, over a link that answers from a script (no wire)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pint
import pytest

from ycsa_conform.checks.actuate import parse as parse_actuate
from ycsa_conform.checks.base import CheckContext, ParseContext
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import DeviceError
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Source
from ycsa_conform.site import Target
from ycsa_conform.source import Document
from ycsa_conform.transport import (
    Commands,
    Device,
    Explain,
    Mapped,
    Observes,
    Probes,
    Reading,
    ReadsFresh,
    Request,
    Response,
    TimesReads,
    open_device,
)
from ycsa_conform.transport.poll import PolledDevice
from ycsa_conform.units import ureg

MAPS = data_dir("benches") / "devicemaps"
ABILITIES = (ReadsFresh, Observes, Commands, Probes, TimesReads, Mapped)


class ScriptedLink:
    """A link that records each request and answers with the next scripted response."""

    def __init__(self, scheme: str, *responses: Response) -> None:
        self._scheme = scheme
        self.requests: list[Request] = []
        self.responses = list(responses)

    @property
    def scheme(self) -> str:
        return self._scheme

    def transact(self, request: Request, *, explain: Explain | None = None, **_: Any) -> Response:
        self.requests.append(request)
        return self.responses.pop(0)

    def close(self) -> None:
        pass


def device(uri: str, map_name: str, *responses: Response) -> tuple[Device, ScriptedLink]:
    link = ScriptedLink(uri.split(":")[0], *responses)
    devicemap = load_devicemap(MAPS / map_name)
    return open_device("dev", uri, devicemap, link=link), link


GATEWAY = ("mqtt://localhost/P001", "gateway.yaml")
LAMP = ("modbus-tcp://10.0.0.5:502?unit=1", "lamp-controller.yaml")
METER = ("dlt645:///dev/ttyUSB1?address=000000000001", "meter-dlt645.yaml")
TRANSPORTS = [
    pytest.param(GATEWAY, {ReadsFresh, Observes, Commands, Mapped}, id="mqtt"),
    pytest.param(LAMP, {Probes, Mapped}, id="modbus"),
    pytest.param(METER, {TimesReads, Mapped}, id="dlt645"),
]


def abilities(thing: object) -> set[type]:
    return {a for a in ABILITIES if isinstance(thing, a)}


@pytest.mark.parametrize(("where", "expected"), TRANSPORTS)
def test_each_transport_s_device_has_its_protocol_s_abilities(
    where: tuple[str, str], expected: set[type]
) -> None:
    assert abilities(device(*where)[0]) == expected


@pytest.mark.parametrize(("where", "expected"), TRANSPORTS)
def test_a_polled_device_has_exactly_the_abilities_of_the_device_it_wraps(
    where: tuple[str, str], expected: set[type]
) -> None:
    polled = PolledDevice(device(*where)[0], (), max_age=1.0)

    # Every polled device reads past its poll: a device without read_fresh by read_many.
    assert abilities(polled) == expected | {ReadsFresh}
    assert isinstance(polled, PolledDevice)


def test_an_observation_passes_through_unpolled_and_is_counted_apart() -> None:
    gateway, link = device(*GATEWAY, {"messages": [], "started": 1.0, "ended": 3.0})
    polled = PolledDevice(gateway, (), max_age=1.0)
    assert isinstance(polled, Observes)

    observation = polled.observe("heartbeat", window=2.0, stop="each")

    assert observation.messages == ()
    assert (observation.started, observation.ended) == (1.0, 3.0)
    assert (link.requests[0]["op"], link.requests[0]["stop"]) == ("collect", "each")
    assert (polled.observations, polled.requested) == (1, 0)
    assert polled.transactions == 1


def test_a_probe_passes_through_and_is_counted_as_the_device_s() -> None:
    lamp, link = device(*LAMP, {"raw": {"tx": "", "rx": ""}, "at": 1.0})
    polled = PolledDevice(lamp, (), max_age=1.0)
    assert isinstance(polled, Probes)

    probe = polled.probe(4, address=9, count=2)

    assert probe.silent
    assert (link.requests[0]["function"], link.requests[0]["address"]) == (4, 9)
    assert (polled.probes, polled.requested) == (1, 0)


def test_a_device_without_probes_has_sent_none() -> None:
    assert PolledDevice(device(*GATEWAY)[0], (), max_age=1.0).probes == 0


def test_the_polled_device_takes_the_wrapped_device_s_map_for_plausibility() -> None:
    lamp, _ = device(*LAMP)
    own = lamp.devicemap if isinstance(lamp, Mapped) else None

    assert PolledDevice(lamp, (), max_age=1.0).devicemap is own
    assert PolledDevice(Memory(), (), max_age=1.0).devicemap is None


class Memory:
    """A device in memory with no ability but reading and writing."""

    name = "lamp"
    source = Source(device="lamp", scheme="memory")
    transactions = 0

    def __init__(self) -> None:
        self.values: dict[str, Any] = {"target_light_command": ureg.Quantity(100, "%")}
        self.reads = 0

    def read(self, point: str) -> Reading:
        raise NotImplementedError

    def read_many(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        self.reads += 1
        return {p: Reading(p, self.values[p], 1.0, self.source) for p in points}

    def minimum_transactions(self, points: Sequence[str]) -> int:
        return 1

    def write(self, point: str, value: pint.Quantity[Any] | bool) -> None:
        self.values[point] = value

    def close(self) -> None:
        pass


class Commanding(Memory):
    """A device whose writes are acknowledged commands with a round trip."""

    def command(self, point: str, value: pint.Quantity[Any] | bool, *, timeout: float) -> float:
        self.write(point, value)
        return 0.25


def test_a_command_passes_through_and_drops_the_poll() -> None:
    inner = Commanding()
    polled = PolledDevice(inner, ["target_light_command"], max_age=60.0)
    assert isinstance(polled, Commands)
    assert not isinstance(polled, Observes)
    polled.read("target_light_command")

    seconds = polled.command("target_light_command", ureg.Quantity(30, "%"), timeout=1.0)
    after = polled.read("target_light_command")

    assert seconds == 0.25
    assert after.value == ureg.Quantity(30, "%")
    assert inner.reads == 2  # polled again after the command


def test_a_read_fresh_of_a_device_without_one_is_a_read_past_the_poll() -> None:
    inner = Memory()
    polled = PolledDevice(inner, ["target_light_command"], max_age=60.0)
    polled.read("target_light_command")

    polled.read_fresh(["target_light_command"])

    assert inner.reads == 2
    assert not isinstance(polled, Commands | Observes | Probes | TimesReads)


def test_polled_devices_of_the_same_abilities_share_a_class() -> None:
    first = PolledDevice(device(*GATEWAY)[0], (), max_age=1.0)
    second = PolledDevice(device(*GATEWAY)[0], (), max_age=1.0)

    assert type(first) is type(second)
    assert type(PolledDevice(Memory(), (), max_age=1.0)) is PolledDevice


def test_a_command_round_trip_on_a_device_without_acknowledged_commands_says_what_it_needs() -> (
    None
):
    ctx = ParseContext(
        doc=Document(path=Path("p.yaml"), data={}, lines={}, text=""),
        where=("check",),
        parameters={},
    )
    raw = {
        "kind": "actuate",
        "device": "lamp",
        "set": {"target_light_command": "50 %"},
        "settle": "0 s",
        "observe": {"point": "command_round_trip", "limit": "<= 1 s"},
    }
    check = parse_actuate(raw, ctx)
    assert check is not None, [str(p) for p in ctx.problems]
    lamp = Memory()
    polled = PolledDevice(lamp, (), max_age=1.0)
    target = Target(
        id="P001",
        kind="pole",
        title={},
        parameters={},
        design={},
        equipment=(),
        devices={},
        origin="site.yaml:1",
    )
    run = CheckContext(
        target=target, parameters={}, device=lambda role: polled, actuation_allowed=True
    )

    with pytest.raises(DeviceError) as raised:
        check.run(run)

    assert str(raised.value) == (
        "lamp speaks memory, which has no acknowledged commands; a command round trip needs "
        "an MQTT device (mqtt:// or mqtts://)"
    )
    assert lamp.values["target_light_command"] == ureg.Quantity(100, "%")  # put back
