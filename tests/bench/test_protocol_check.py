"""The `protocol` check kind against real servers: the bench (pymodbus over a pty for RTU and
over TCP, the DL/T 645 meter over a pty) passes every probe, and servers that do not conform
(pymodbus as it comes, with a device that answers what it should refuse; a meter too fast or
too slow) fail them."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import pytest
from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from ycsa_conform.bench import Bench
from ycsa_conform.bench.meter645 import SimMeter645
from ycsa_conform.bench.pty import PtyPair
from ycsa_conform.checks import CheckContext
from ycsa_conform.checks.base import Outcome
from ycsa_conform.checks.protocol import ProbeKind, ProtocolCheck
from ycsa_conform.devicemap import DeviceMap, load_devicemap
from ycsa_conform.errors import DeviceError
from ycsa_conform.limit import parse_limit
from ycsa_conform.result import Verdict
from ycsa_conform.site import DeviceSpec, Target, load_site
from ycsa_conform.transport import Device, LinkOptions, open_device, parse_device_uri
from ycsa_conform.transport.dlt645 import TIMING_ATTEMPTS
from ycsa_conform.units import ureg

MAPS = Path(__file__).parents[2] / "benches" / "devicemaps"
TIMEOUT = 0.5  # s
METER = "123456789012"


def spec(role: str, uri: str, devicemap: DeviceMap, timeout: float = TIMEOUT) -> DeviceSpec:
    return DeviceSpec(
        role=role,
        uri=uri,
        address=parse_device_uri(uri),
        devicemap=devicemap,
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


def decide(check: ProtocolCheck, where: Target) -> tuple[Outcome, dict[str, Device]]:
    """Run `check` as a run does (a DeviceError is an error); the devices it opened, closed."""
    opened: dict[str, Device] = {}

    def device(role: str) -> Device:
        if role not in opened:
            s = where.devices[role]
            opened[role] = open_device(role, s.uri, s.devicemap, s.options)
        return opened[role]

    ctx = CheckContext(target=where, parameters={}, device=device)
    try:
        outcome = check.run(ctx)
    except DeviceError as exc:
        outcome = Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
    finally:
        for d in opened.values():
            d.close()
    return outcome, opened


def probe(device: str, kind: ProbeKind) -> ProtocolCheck:
    return ProtocolCheck(device=device, probe=kind)


# -- the bench conforms ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_target() -> Iterator[Target]:
    with Bench.start() as bench:
        site = load_site(bench.site_path, text=bench.site_text)
        yield site.targets[0]


@pytest.mark.parametrize("device", ["lamp", "environment"])  # RTU over a pty, TCP
@pytest.mark.parametrize("kind", [ProbeKind.ILLEGAL_ADDRESS, ProbeKind.ILLEGAL_FUNCTION])
def test_the_bench_refuses_what_it_lacks_with_the_right_exception(
    bench_target: Target, device: str, kind: ProbeKind
) -> None:
    outcome, opened = decide(probe(device, kind), bench_target)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    code = "02 (illegal data address)" if kind is ProbeKind.ILLEGAL_ADDRESS else "01"
    assert f"got exception {code}" in outcome.reason
    [measurement] = outcome.measurements
    assert "sent " in str(measurement.value)
    assert "received " in str(measurement.value)
    # One request, counted as a transaction and as a probe.
    assert opened[device].transactions == 1
    assert getattr(opened[device], "probes") == 1  # noqa: B009  # DeviceBase, not Device


def test_the_bench_lamp_is_silent_to_a_foreign_unit_id(bench_target: Target) -> None:
    outcome, opened = decide(probe("lamp", ProbeKind.FOREIGN_UNIT), bench_target)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    assert "addressed to unit 247 (no device of P001) got no answer within 1 s" in outcome.reason
    assert opened["lamp"].transactions == 2  # the lamp's own read first, then unit 247


def test_foreign_unit_is_not_applicable_over_modbus_tcp(bench_target: Target) -> None:
    outcome, opened = decide(probe("environment", ProbeKind.FOREIGN_UNIT), bench_target)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert "gateway answers for every unit id" in outcome.reason
    assert opened["environment"].transactions == 0


def test_the_bench_environment_sensor_sends_its_declared_word_order(
    bench_target: Target,
) -> None:
    outcome, _ = decide(probe("environment", ProbeKind.WORD_ORDER), bench_target)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    assert "environment ambient_illuminance: registers 0x0000 0x00" in outcome.reason
    assert "read ABCD (high word first) give" in outcome.reason
    [measurement] = outcome.measurements
    assert measurement.name == "environment ambient_illuminance (ABCD, as declared)"
    assert measurement.unit == "lx"
    assert measurement.limit == "0 lx .. 200000 lx"


def test_a_probe_for_another_protocol_is_not_applicable(bench_target: Target) -> None:
    outcome, _ = decide(probe("meter", ProbeKind.ILLEGAL_ADDRESS), bench_target)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert "meter speaks dlt645; the illegal_address probe is for modbus-rtu" in outcome.reason


def test_word_order_without_32_bit_points_is_not_applicable(bench_target: Target) -> None:
    outcome, _ = decide(probe("tilt", ProbeKind.WORD_ORDER), bench_target)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.reason == (
        "not applicable: device map 'ycsa-bench/tilt-sensor' has no 32- or 64-bit point"
    )


def test_the_word_order_fault_fails_naming_the_order_the_device_sends() -> None:
    with Bench.start(faults=["environment-word-order"]) as bench:
        site = load_site(bench.site_path, text=bench.site_text)
        outcome, _ = decide(probe("environment", ProbeKind.WORD_ORDER), site.targets[0])

    assert outcome.verdict is Verdict.FAIL
    assert "read ABCD (high word first) give" in outcome.reason
    assert "outside '0 lx .. 200000 lx', while CDAB gives a plausible" in outcome.reason
    assert "the device sends the low word first; set word_order: little" in outcome.reason


def test_word_order_on_any_device_probes_every_modbus_device_and_names_the_idle_ones(
    bench_target: Target,
) -> None:
    outcome, opened = decide(ProtocolCheck(device="any", probe=ProbeKind.WORD_ORDER), bench_target)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    assert outcome.reason.endswith(
        "(probed: lamp, environment; nothing to probe: tilt (device map "
        "'ycsa-bench/tilt-sensor' has no 32- or 64-bit point))"
    )
    names = [m.name for m in outcome.measurements]
    assert "lamp active_power (ABCD, as declared)" in names
    assert "environment ambient_illuminance (ABCD, as declared)" in names
    # The tilt sensor is judged from its map alone; the meter speaks DL/T 645.
    assert set(opened) == {"lamp", "environment"}


def test_word_order_on_any_device_fails_naming_the_device_that_sends_the_other_order() -> None:
    with Bench.start(faults=["environment-word-order"]) as bench:
        site = load_site(bench.site_path, text=bench.site_text)
        check = ProtocolCheck(device="any", probe=ProbeKind.WORD_ORDER)
        outcome, _ = decide(check, site.targets[0])

    assert outcome.verdict is Verdict.FAIL
    assert outcome.reason.startswith("environment ambient_illuminance: registers 0x00")
    assert "lamp" not in outcome.reason.split(" (probed:")[0]
    verdicts: dict[str, set[Verdict]] = {}
    for m in outcome.measurements:
        verdicts.setdefault(m.name.split()[0], set()).add(m.verdict)
    assert verdicts == {"lamp": {Verdict.PASS}, "environment": {Verdict.FAIL}}


# -- a Modbus server that does not conform ----------------------------------------------------


class Sloppy:
    """pymodbus's server as it comes (no answer to unknown function codes on RTU, function 0x80
    on TCP), with unit `unit` answering exception 04 past register 200 and a catch-all device
    that answers every other unit id."""

    def __init__(self, *, unit: int, serial_path: str | None = None) -> None:
        self.unit = unit
        self.serial_path = serial_path
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the sloppy server did not start"

    async def _serve(self) -> None:
        async def fail_past_200(function_code: int, start: int, address: int, *_: Any) -> Any:
            return ExcCodes.DEVICE_FAILURE if address >= 200 else None

        registers = [SimData(0, count=65536, values=0, datatype=SimType.REGISTERS)]
        devices = [
            SimDevice(id=self.unit, simdata=registers, action=fail_past_200),
            SimDevice(id=0, simdata=registers),
        ]
        server: ModbusSerialServer | ModbusTcpServer
        if self.serial_path:
            server = ModbusSerialServer(
                devices, framer=FramerType.RTU, port=self.serial_path, baudrate=9600
            )
        else:
            server = ModbusTcpServer(devices, address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        if not self.serial_path:
            self.port = cast(asyncio.Server, server.transport).sockets[0].getsockname()[1]
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await server.shutdown()  # type: ignore[no-untyped-call]  # untyped in pymodbus 3.16

    def stop(self) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture(scope="module")
def sloppy_rtu() -> Iterator[Target]:
    with PtyPair.open() as pair:
        server = Sloppy(unit=1, serial_path=pair.bench_path)
        uri = f"modbus-rtu://{pair.device_path}?baud=9600&unit=1"
        yield target(spec("lamp", uri, load_devicemap(MAPS / "lamp-controller.yaml")))
        server.stop()


@pytest.fixture(scope="module")
def sloppy_tcp() -> Iterator[Target]:
    server = Sloppy(unit=3)
    uri = f"modbus-tcp://127.0.0.1:{server.port}?unit=3"
    yield target(spec("environment", uri, load_devicemap(MAPS / "environment-sensor.yaml")))
    server.stop()


def test_exception_04_for_a_missing_register_fails_naming_it(sloppy_rtu: Target) -> None:
    outcome, _ = decide(probe("lamp", ProbeKind.ILLEGAL_ADDRESS), sloppy_rtu)

    assert outcome.verdict is Verdict.FAIL
    assert "got exception 04 (device failure) from unit 1, function 0x84, not exception 02" in (
        outcome.reason
    )
    assert "received 01 84 04" in outcome.reason


def test_silence_to_an_unknown_function_fails_when_the_device_answers_reads(
    sloppy_rtu: Target,
) -> None:
    outcome, opened = decide(probe("lamp", ProbeKind.ILLEGAL_FUNCTION), sloppy_rtu)

    assert outcome.verdict is Verdict.FAIL
    assert "function code 25 (0x19) got no answer within 0.5 s, while a read of supply_voltage" in (
        outcome.reason
    )
    # The probe; a read that pymodbus drops with the frame it could not parse; a read answered.
    assert opened["lamp"].transactions == 3


def test_an_answer_to_a_foreign_unit_fails(sloppy_rtu: Target) -> None:
    outcome, _ = decide(probe("lamp", ProbeKind.FOREIGN_UNIT), sloppy_rtu)

    assert outcome.verdict is Verdict.FAIL
    assert (
        "addressed to unit 247 (no device of T1) was answered: a normal answer from unit 247"
        in (outcome.reason)
    )


def test_exception_01_with_function_byte_0x80_fails_on_tcp(sloppy_tcp: Target) -> None:
    outcome, _ = decide(probe("environment", ProbeKind.ILLEGAL_FUNCTION), sloppy_tcp)

    assert outcome.verdict is Verdict.FAIL
    assert "got exception 01, but with function byte 0x80 instead of 0x99" in outcome.reason


def test_a_normal_answer_for_a_missing_register_fails_with_the_fix(tmp_path: Path) -> None:
    # The sloppy device has every register below 200: a map naming one of them as illegal.
    text = (MAPS / "environment-sensor.yaml").read_text(encoding="utf-8")
    path = tmp_path / "environment-sensor.yaml"
    path.write_text(text.replace("address: 0x0FFF", "address: 0x0010"), encoding="utf-8")
    server = Sloppy(unit=3)
    try:
        uri = f"modbus-tcp://127.0.0.1:{server.port}?unit=3"
        where = target(spec("environment", uri, load_devicemap(path)))
        outcome, _ = decide(probe("environment", ProbeKind.ILLEGAL_ADDRESS), where)
    finally:
        server.stop()

    assert outcome.verdict is Verdict.FAIL
    assert "got a normal answer from unit 3, function 0x04, 3 data bytes, not exception 02" in (
        outcome.reason
    )
    assert f"name one it lacks as probes.illegal_address in {path}" in outcome.reason


def test_a_silent_device_cannot_be_decided(tmp_path: Path) -> None:
    with PtyPair.open() as pair:  # nobody on the bench end
        uri = f"modbus-rtu://{pair.device_path}?baud=9600&unit=1"
        where = target(spec("lamp", uri, load_devicemap(MAPS / "lamp-controller.yaml"), 0.2))
        outcome, _ = decide(probe("lamp", ProbeKind.FOREIGN_UNIT), where)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason.startswith("cannot be decided: a read of supply_voltage got silence")


# -- DL/T 645 response time -------------------------------------------------------------------


@pytest.fixture
def meter_line() -> Iterator[tuple[PtyPair, DeviceMap]]:
    with PtyPair.open() as pair:
        yield pair, load_devicemap(MAPS / "meter-dlt645.yaml")


def response_time(
    pair: PtyPair, devicemap: DeviceMap, *, timeout: float, limit: str = "20 ms .. 500 ms"
) -> Outcome:
    uri = f"dlt645://{pair.device_path}?address={METER}"
    check = ProtocolCheck(
        device="meter",
        probe=ProbeKind.RESPONSE_TIME,
        limit=parse_limit(limit),
        count=2,
    )
    outcome, _ = decide(check, target(spec("meter", uri, devicemap, timeout)))
    return outcome


# Each case holds under load: the meter's turnaround and delay are lower bounds on what is
# measured (a busy machine only adds), and every answer arrives within the 3 s timeout, so
# a lower limit of 3 s is missed by any answer however slow the machine is.
@pytest.mark.parametrize(
    ("turnaround", "delay", "limit", "verdict", "text"),
    [
        (None, 0.0, "20 ms .. 2 s", Verdict.PASS, "meets 20 ms .. 2 s"),  # default 50 ms
        (0.0, 0.0, "3 s .. 5 s", Verdict.FAIL, "is below 3 s"),
        (None, 0.7, "20 ms .. 500 ms", Verdict.FAIL, "is above 500 ms"),
    ],
)
def test_the_meter_response_delay_is_judged_against_the_limit(
    meter_line: tuple[PtyPair, DeviceMap],
    turnaround: float | None,
    delay: float,
    limit: str,
    verdict: Verdict,
    text: str,
) -> None:
    pair, devicemap = meter_line
    with SimMeter645(
        pair.bench_path, address=METER, devicemap=devicemap, values=lambda _: 230.0
    ) as meter:
        if turnaround is not None:
            meter.turnaround = turnaround
        meter.delay = delay
        outcome = response_time(pair, devicemap, timeout=3.0, limit=limit)

    assert outcome.verdict is verdict, outcome.reason
    assert text in outcome.reason
    assert [m.name for m in outcome.measurements] == [
        "response delay, read 1 of DI 02010100",
        "response delay, read 2 of DI 02010100",
    ]
    # each delay is a time in the limit's terms (ms or s), and a meter that answers is never
    # measured at a negative or zero delay
    delays = [ureg.Quantity(m.value, m.unit).to("ms").magnitude for m in outcome.measurements]
    assert all(0 < d < 3000 for d in delays), delays
    # Two timed reads; a read the busy host sent late is taken again (at most 3 in all).
    assert 2 <= meter.requests <= 2 * TIMING_ATTEMPTS


def _late_sends(
    monkeypatch: pytest.MonkeyPatch, pair: PtyPair, late: int, by: float = 0.04
) -> list[int]:
    """The host's side of the pty waits `by` seconds after its first `late` requests have
    left, as a thread does that the machine keeps from running (a busy machine cannot be had
    on demand, so the wait is made here; the line, the meter and the timing are real)."""
    import serial

    original = serial.Serial.flush
    sent = [0]

    def flush(port: serial.Serial) -> None:
        original(port)
        if port.port == pair.device_path:
            sent[0] += 1
            if sent[0] <= late:
                time.sleep(by)

    monkeypatch.setattr(serial.Serial, "flush", flush)
    return sent


def test_a_request_the_host_sent_late_is_timed_again_not_called_a_fast_meter(
    meter_line: tuple[PtyPair, DeviceMap], monkeypatch: pytest.MonkeyPatch
) -> None:
    pair, devicemap = meter_line
    sent = _late_sends(monkeypatch, pair, late=1)
    with SimMeter645(
        pair.bench_path, address=METER, devicemap=devicemap, values=lambda _: 230.0
    ) as meter:
        # The meter answers 50 ms after the request; the first send is stamped 40 ms late,
        # which made it look like a 10 ms answer, below DL/T 645's 20 ms.
        outcome = response_time(pair, devicemap, timeout=3.0)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    assert sent[0] >= 3  # the late read, its retake, the second read
    assert meter.requests == sent[0]


def test_a_host_late_on_every_try_leaves_the_delay_undecided(
    meter_line: tuple[PtyPair, DeviceMap], monkeypatch: pytest.MonkeyPatch
) -> None:
    pair, devicemap = meter_line
    _late_sends(monkeypatch, pair, late=100)
    with SimMeter645(pair.bench_path, address=METER, devicemap=devicemap, values=lambda _: 230.0):
        outcome = response_time(pair, devicemap, timeout=3.0)

    # 50 ms answers stamped 40 ms late: "10 ms" could be anything up to 50 ms; the 20 ms limit
    # cuts that range, so neither the meter's failure nor a pass.
    assert outcome.verdict is Verdict.ERROR, outcome.reason
    assert "too busy to send the request on time" in outcome.reason


def test_a_meter_that_answers_at_once_fails_even_when_the_host_was_late(
    meter_line: tuple[PtyPair, DeviceMap], monkeypatch: pytest.MonkeyPatch
) -> None:
    pair, devicemap = meter_line
    _late_sends(monkeypatch, pair, late=100, by=0.005)
    with SimMeter645(
        pair.bench_path, address=METER, devicemap=devicemap, values=lambda _: 230.0
    ) as meter:
        meter.turnaround = 0.0
        # Even the longest the delay can be (measured + the host's 5 ms lateness) is below
        # a 3 s limit: the meter fails, whatever the host did.
        outcome = response_time(pair, devicemap, timeout=3.0, limit="3 s .. 5 s")

    assert outcome.verdict is Verdict.FAIL, outcome.reason


def test_a_silent_meter_has_no_response_time(meter_line: tuple[PtyPair, DeviceMap]) -> None:
    pair, devicemap = meter_line
    with SimMeter645(
        pair.bench_path, address=METER, devicemap=devicemap, values=lambda _: 230.0
    ) as meter:
        meter.silent = True
        outcome = response_time(pair, devicemap, timeout=0.3)

    assert outcome.verdict is Verdict.ERROR
    assert "no answer from meter" in outcome.reason


def test_word_order_on_a_silent_device_is_one_error_naming_it(tmp_path: Path) -> None:
    with PtyPair.open() as pair:  # nobody on the bench end
        uri = f"modbus-rtu://{pair.device_path}?baud=9600&unit=1"
        where = target(spec("lamp", uri, load_devicemap(MAPS / "lamp-controller.yaml"), 0.2))
        outcome, _ = decide(ProtocolCheck(device="any", probe=ProbeKind.WORD_ORDER), where)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason.startswith("cannot be decided: no answer from lamp at modbus-rtu://")
    assert outcome.reason.count("cannot be decided") == 1
    assert outcome.reason.endswith("(probed: lamp)")
    assert all(m.verdict is Verdict.ERROR for m in outcome.measurements)


def test_word_order_on_a_target_without_modbus_devices_is_not_applicable(
    meter_line: tuple[PtyPair, DeviceMap],
) -> None:
    pair, devicemap = meter_line
    where = target(spec("meter", f"dlt645://{pair.device_path}?address={METER}", devicemap))
    outcome, opened = decide(ProtocolCheck(device="any", probe=ProbeKind.WORD_ORDER), where)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.reason == "not applicable: target T1 has no Modbus device"
    assert opened == {}


def test_word_order_where_no_modbus_device_has_a_wide_point_is_not_applicable(
    tmp_path: Path,
) -> None:
    uri = "modbus-tcp://127.0.0.1:1?unit=4"  # never contacted: decided from the map
    where = target(spec("tilt", uri, load_devicemap(MAPS / "tilt-sensor.yaml")))
    outcome, opened = decide(ProtocolCheck(device="any", probe=ProbeKind.WORD_ORDER), where)

    assert outcome.verdict is Verdict.NOT_APPLICABLE
    assert outcome.reason == (
        "not applicable: no Modbus device of T1 has a 32- or 64-bit point: tilt (device map "
        "'ycsa-bench/tilt-sensor' has no 32- or 64-bit point)"
    )
    assert opened == {}


def test_a_wide_point_without_a_range_cannot_be_decided_naming_the_fix(tmp_path: Path) -> None:
    text = (MAPS / "environment-sensor.yaml").read_text(encoding="utf-8")
    path = tmp_path / "environment-sensor.yaml"
    path.write_text(text.replace(', range: "0 lx .. 200000 lx"', ""), encoding="utf-8")
    where = target(spec("environment", "modbus-tcp://127.0.0.1:1?unit=3", load_devicemap(path)))

    outcome, _ = decide(ProtocolCheck(device="any", probe=ProbeKind.WORD_ORDER), where)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        "cannot be decided: none of the 32- or 64-bit points of environment's map "
        f"{path} (ambient_illuminance) declares the values it can plausibly take; add range: "
        "'LOW .. HIGH' to them (probed: environment)"
    )


def test_the_line_time_a_host_waits_for_is_nil_on_a_pty_and_the_baud_rates_on_a_port(
    meter_line: tuple[PtyPair, DeviceMap],
) -> None:
    from ycsa_conform.transport.serial import line_time

    pair, _ = meter_line
    on_pty = parse_device_uri(f"dlt645://{pair.device_path}?baud=2400&address={METER}")
    assert line_time(on_pty, 16) == 0.0  # a pty's bytes do not wait for the baud rate
    # /dev/null stands for a real port here: a character device that is not a pty.
    port = parse_device_uri(f"dlt645:///dev/null?baud=2400&address={METER}")
    assert line_time(port, 16) == pytest.approx(16 * 11 / 2400)  # 8E1: 11 bits a byte
    server = parse_device_uri(f"dlt645-tcp://127.0.0.1:4001?address={METER}")
    assert line_time(server, 16) == 0.0
