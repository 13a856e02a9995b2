"""Presence before absence, lost contact and negative durations for the `message` check, on a
real broker: a quiet window passes only for a device shown to be there; a device that vanishes
during a window is an error, not a failure; a duration that comes out negative is never judged.

The requirements come from the built-in smart-pole profile (SP-DATA-008, SP-DATA-018), so the
tests hold the profile's own check blocks, with short windows."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ycsa_conform.bench.broker import Broker, mosquitto_missing_reason, start_broker
from ycsa_conform.bench.gateway import SimGateway, nominal_values
from ycsa_conform.checks.base import CheckContext, Outcome
from ycsa_conform.checks.message import MessageCheck
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.profile import load_profile
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Verdict
from ycsa_conform.site import Target
from ycsa_conform.transport import LinkOptions, open_device
from ycsa_conform.transport.mqtt import MqttDevice
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


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    kind = "mosquitto" if mosquitto_missing_reason() is None else "embedded"
    if kind == "embedded" and os.environ.get("CI") == "true":
        pytest.fail(str(mosquitto_missing_reason()))  # CI installs mosquitto
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

    def start(prefix: str, **options: Any) -> SimGateway:
        gateway = SimGateway(
            broker.host,
            broker.port,
            prefix=prefix,
            values=nominal_values,
            on_command=lambda command: "ok",
            period=PERIOD,
            heartbeat=HEARTBEAT,
            **options,
        )
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
