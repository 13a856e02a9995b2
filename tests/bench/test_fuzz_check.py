"""The `fuzz` check kind against real servers: the bench's Modbus units (RTU over a pty, TCP)
and its DL/T 645 meter survive their own fuzzing, and a deliberately fragile Modbus TCP device
(an independently written asyncio server, below) fails with a shrunk example."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from ycsa_conform.bench import Bench
from ycsa_conform.bench.broker import Broker, start_broker
from ycsa_conform.bench.gateway import SimGateway, nominal_values
from ycsa_conform.checks import CheckContext
from ycsa_conform.checks.base import Outcome
from ycsa_conform.checks.fuzz import FuzzCheck
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import DeviceError
from ycsa_conform.result import Verdict
from ycsa_conform.site import DeviceSpec, Target, load_site
from ycsa_conform.transport import Device, LinkOptions, open_device, open_link, parse_device_uri
from ycsa_conform.transport.recording import Recorder

MAPS = Path(__file__).parents[2] / "benches" / "devicemaps"


def spec(role: str, uri: str, timeout: float = 0.5) -> DeviceSpec:
    return DeviceSpec(
        role=role,
        uri=uri,
        address=parse_device_uri(uri),
        devicemap=load_devicemap(MAPS / "environment-sensor.yaml"),
        options=LinkOptions(timeout=timeout),
        max_age=10.0,
        origin="test",
    )


def target(*specs: DeviceSpec) -> Target:
    return Target(
        id="T1",
        kind="pole",
        title=MappingProxyType({"en": "test"}),
        parameters=MappingProxyType({}),
        design=MappingProxyType({}),
        equipment=(),
        devices=MappingProxyType({s.role: s for s in specs}),
        origin="test",
    )


def decide(
    check: FuzzCheck, where: Target, *, allowed: bool = True, recorder: Recorder | None = None
) -> tuple[Outcome, int]:
    """Run `check` as a run does; the outcome and the requests the device was sent."""
    opened: dict[str, Device] = {}

    def device(role: str) -> Device:
        if role not in opened:
            s = where.devices[role]
            link = open_link(role, s.address, s.options)
            if recorder is not None:
                link = recorder.wrap(link, target=where.id, device=role)
            opened[role] = open_device(role, s.uri, s.devicemap, s.options, link=link)
        return opened[role]

    ctx = CheckContext(target=where, parameters={}, device=device, actuation_allowed=allowed)
    try:
        outcome = check.run(ctx)
    except DeviceError as exc:
        outcome = Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
    finally:
        for d in opened.values():
            d.close()
    return outcome, sum(d.transactions for d in opened.values())


# -- a fragile device -------------------------------------------------------------------------


class FragileDevice:
    """A Modbus TCP unit written from the application protocol, not from pymodbus: input and
    holding registers 0..99 (zero), exceptions 01, 02 and 03 where the protocol asks them, and
    one bug: the count of a read is compared with 125 as a signed 16-bit number, so a count of
    32768 or more passes as negative, overruns the answer buffer, and the firmware drops the
    connection and ignores everything for `deaf` s (a watchdog reset). The boundary cases the
    check tries first (counts 0 and 126) it refuses properly: only the search finds the bug."""

    def __init__(self, *, unit: int = 3, deaf: float = 0.3) -> None:
        self.unit = unit
        self.deaf = deaf
        self.port = 0
        self.crashes = 0
        self._deaf_until = 0.0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> FragileDevice:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
        self.port = future.result(timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _open(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def answer(self, unit: int, pdu: bytes) -> bytes | None:
        """The response PDU; None: the firmware crashed."""
        function = pdu[0]
        if function not in (3, 4):
            return bytes([function | 0x80, 1])
        if len(pdu) != 5:
            return bytes([function | 0x80, 3])
        address, count = int.from_bytes(pdu[1:3], "big"), int.from_bytes(pdu[3:5], "big")
        if count >= 0x8000:
            return None  # the bug: int16 count "< 0" passed the "> 125" check, and overran
        if count < 1 or count > 125:
            return bytes([function | 0x80, 3])
        if address + count > 100:
            return bytes([function | 0x80, 2])
        return bytes([function, 2 * count]) + bytes(2 * count)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                header = await reader.readexactly(7)
                length = int.from_bytes(header[4:6], "big")
                pdu = await reader.readexactly(length - 1)
                if time.monotonic() < self._deaf_until:
                    continue
                answer = self.answer(header[6], pdu)
                if answer is None:
                    self.crashes += 1
                    self._deaf_until = time.monotonic() + self.deaf
                    break
                mbap = header[:4] + (len(answer) + 1).to_bytes(2, "big") + header[6:7]
                writer.write(mbap + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def test_a_fragile_device_fails_with_the_shrunk_request_that_breaks_it(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    with FragileDevice() as fragile:
        where = target(spec("environment", f"modbus-tcp://127.0.0.1:{fragile.port}?unit=3"))
        check = FuzzCheck(device="environment", examples=200, time=20.0, length=4)

        outcome, sent = decide(check, where, recorder=recorder)
    recorder.close()

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert fragile.crashes >= 1
    # Shrunk to the one request that breaks it: function 04 (the map's input registers) asking
    # 32768 registers, the least that breaks it; what it got, and what it should have got.
    assert "a read (function 04) of 32768 from address 0: sent " in outcome.reason, outcome.reason
    assert "to 1 request(s)" in outcome.reason
    assert "no answer" in outcome.reason
    steps = [m for m in outcome.measurements if "fuzz request" in m.name]
    assert len(steps) == 1
    assert steps[0].limit.startswith("exception 03 (illegal data value)")
    assert steps[0].verdict is Verdict.FAIL
    assert "received nothing" in str(steps[0].value)
    assert sent > 2
    # The recording holds every frame, the shrunk one too: read of 0x8000 input registers.
    frames = [
        json.loads(line)["request"]["tx"]
        for line in (tmp_path / "rec" / "traffic.jsonl").read_text().splitlines()
        if '"direction": "tx"' in line
    ]
    assert len(frames) == sent
    assert any(f.endswith("0304" + "0000" + "8000") for f in frames), frames[-5:]


def test_a_conforming_device_written_the_same_way_passes() -> None:
    with FragileDevice() as device:
        device.answer = _fixed(device.answer)  # type: ignore[method-assign]
        where = target(spec("environment", f"modbus-tcp://127.0.0.1:{device.port}?unit=3"))

        outcome, _ = decide(FuzzCheck(device="environment", examples=40, time=10.0), where)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    assert "refused every malformed request" in outcome.reason


def _fixed(answer: object) -> object:
    def fixed(unit: int, pdu: bytes) -> bytes | None:
        if pdu[0] in (3, 4) and len(pdu) == 5 and int.from_bytes(pdu[3:5], "big") >= 0x8000:
            return bytes([pdu[0] | 0x80, 3])
        return answer(unit, pdu)  # type: ignore[operator]

    return fixed


def test_without_actuation_a_field_device_is_not_fuzzed() -> None:
    where = target(spec("environment", "modbus-tcp://127.0.0.1:9?unit=3"))

    outcome, sent = decide(FuzzCheck(device="environment"), where, allowed=False)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.untested
    assert "--allow-actuation" in outcome.reason
    assert sent == 0


# -- the bench survives its own fuzzing -------------------------------------------------------


@pytest.fixture(scope="module")
def bench_target() -> Iterator[Target]:
    with Bench.start() as bench:
        site = load_site(bench.site_path, text=bench.site_text)
        yield site.targets[0]


@pytest.mark.parametrize("device", ["lamp", "environment", "meter", "gateway"])
def test_the_bench_survives_its_own_fuzzing(bench_target: Target, device: str) -> None:
    outcome, sent = decide(FuzzCheck(device=device, examples=60, time=8.0), bench_target)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    assert sent > 5


# -- MQTT commands ------------------------------------------------------------------------------


class LaxGateway(SimGateway):
    """A gateway whose firmware takes a dimming level in any form float() reads ("50", true)
    and never checks its range: it acknowledges what it should refuse."""

    def _carry_out(self, command: Mapping[str, Any]) -> dict[str, Any]:
        try:
            level = float(command["dimming"])
        except (KeyError, TypeError, ValueError):
            return {"id": command.get("id"), "status": "rejected"}
        self.level = level
        return {"id": command.get("id"), "status": "ok"}


def gateway_target(broker: Broker, gateway: SimGateway) -> Target:
    uri = broker.url(gateway.prefix)
    return target(
        DeviceSpec(
            role="gateway",
            uri=uri,
            address=parse_device_uri(uri),
            devicemap=load_devicemap(MAPS / "gateway.yaml"),
            options=LinkOptions(timeout=1.0),
            max_age=10.0,
            origin="test",
        )
    )


@pytest.mark.parametrize(("lax", "verdict"), [(False, Verdict.PASS), (True, Verdict.FAIL)])
def test_a_gateway_must_refuse_malformed_commands(
    tmp_path: Path, lax: bool, verdict: Verdict
) -> None:
    kind = SimGateway if not lax else LaxGateway
    with start_broker(kind="embedded", directory=tmp_path) as broker:
        gateway = kind(
            broker.host,
            broker.port,
            prefix=f"test/{uuid.uuid4().hex[:8]}/pole",
            values=nominal_values,
            on_command=lambda command: "ok",
            devicemap=load_devicemap(MAPS / "gateway.yaml"),
            period=0.2,
        )
        gateway.start()
        try:
            outcome, sent = decide(
                FuzzCheck(device="gateway", examples=30, time=8.0), gateway_target(broker, gateway)
            )
        finally:
            gateway.stop()

    assert outcome.verdict is verdict, outcome.reason
    assert sent > 2
    if lax:
        # The first boundary: a level sent as text, acknowledged "ok".
        assert "accepted it (status 'ok')" in outcome.reason
        assert 'a command whose value is "50" (the wrong type)' in outcome.reason, outcome.reason
        assert "1 request(s)" in outcome.reason
    else:
        assert "refused every malformed request" in outcome.reason
