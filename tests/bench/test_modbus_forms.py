"""Device-map forms against a real pymodbus server over TCP: on/off points mapped every way a
vendor maps them read and write as bools, status-word bits are written read-modify-write, the
map's write function code goes on the wire, 64-bit values decode, and a value read in the wrong
word order (or NaN) is an implausible-value error, never a pass."""

from __future__ import annotations

import asyncio
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from ycsa_conform.checks import CheckContext
from ycsa_conform.checks.base import Outcome
from ycsa_conform.devicemap import DeviceMap, load_devicemap
from ycsa_conform.errors import DeviceError, ImplausibleValue
from ycsa_conform.profile import load_profile
from ycsa_conform.result import Verdict
from ycsa_conform.site import DeviceSpec, Target
from ycsa_conform.transport import LinkOptions, Reading, open_device, parse_device_uri
from ycsa_conform.transport.poll import PolledDevice
from ycsa_conform.units import ureg

TIMEOUT = 1.0  # s
HOLDING, INPUT = 3, 4  # read function codes: the action hook names a table by them

# Input registers as a controller sends them: active power 120.0 W as float32 word-swapped
# (CDAB: 0x42F00000 -> 0x0000 0x42F0), a NaN supply voltage (0x7FC00000), the frequency
# 50.02 Hz as float64 CDAB, and the energy 123456789012 Wh as uint64 ABCD.
F64 = struct.pack(">d", 50.02)
U64 = struct.pack(">Q", 123456789012)
INPUTS = (
    [0x0000, 0x42F0, 0x7FC0, 0x0000]
    + [int.from_bytes(F64[i : i + 2], "big") for i in (6, 4, 2, 0)]
    + [int.from_bytes(U64[i : i + 2], "big") for i in (0, 2, 4, 6)]
)


class Server:
    """Unit 1 on a pymodbus TCP server: 16 coils, 16 discrete inputs (the first set), 16
    holding and 16 input registers. It records every request's function code, address and
    values, and `poke` sets holding registers as the device would before its next answer."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[tuple[int, int, list[int]]] = []
        self.pokes: dict[int, int] = {}
        self.holding: list[int] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the test server did not start"

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> None:
        self.requests.append((function_code, address, [int(v) for v in values or []]))
        if function_code in (3, 6, 16):
            self.holding = registers  # the live block: pymodbus writes into it after this
            for where, value in self.pokes.items():
                registers[where - start_address] = value
            self.pokes.clear()

    async def _serve(self) -> None:
        device = SimDevice(
            id=1,
            simdata=(
                [SimData(0, values=[False] * 16, datatype=SimType.BITS)],
                [SimData(0, values=[True] + [False] * 15, datatype=SimType.BITS)],
                [SimData(0, values=[0] * 16, datatype=SimType.REGISTERS)],
                [SimData(0, values=INPUTS, datatype=SimType.REGISTERS)],
            ),
            action=self._action,
        )
        server = ModbusTcpServer([device], address=("127.0.0.1", 0))
        await server.serve_forever(background=True)
        self.port = cast(asyncio.Server, server.transport).sockets[0].getsockname()[1]
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        await server.shutdown()  # type: ignore[no-untyped-call]  # untyped in pymodbus 3.16

    def writes(self) -> list[tuple[int, int, list[int]]]:
        # pymodbus calls the action again without values to build a write's answer.
        return [r for r in self.requests if r[0] in (5, 6, 15, 16) and r[2]]

    def stop(self) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


@pytest.fixture
def server() -> Iterator[Server]:
    made = Server()
    yield made
    made.stop()


def devicemap(tmp_path: Path, points: str, *, name: str = "lamp.yaml") -> DeviceMap:
    path = tmp_path / name
    path.write_text(
        f"devicemap: acme/{path.stem}\nversion: 1\nprotocol: modbus\n"
        "defaults: {table: holding}\npoints:\n" + points,
        encoding="utf-8",
    )
    return load_devicemap(path)


def polled(server: Server, dm: DeviceMap) -> PolledDevice:
    """The device as every check gets it: through the poll, where plausibility is enforced."""
    uri = f"modbus-tcp://127.0.0.1:{server.port}?unit=1"
    return PolledDevice(open_device("lamp", uri, dm, LinkOptions(timeout=TIMEOUT)), (), max_age=0)


def value(device: PolledDevice, point: str) -> object:
    return device.read(point).value


# -- on/off points in every form --------------------------------------------------------------

FORMS = {
    "coil": "  lamp_on: {table: coil, address: 0, type: bool, writable: '0 .. 1'}\n",
    "uint16": "  lamp_on: {address: 0, type: uint16, writable: '0 .. 1'}\n",
    "on/off values": (
        "  lamp_on: {address: 1, type: uint16, on: 0xFF00, off: 0, writable: '0 .. 1'}\n"
    ),
    "status bit": "  lamp_on: {address: 2, type: uint16, bit: 2, writable: '0 .. 1'}\n",
}


@pytest.mark.parametrize("form", list(FORMS))
def test_a_relay_reads_and_writes_as_a_bool_whichever_way_it_is_mapped(
    server: Server, tmp_path: Path, form: str
) -> None:
    device = polled(server, devicemap(tmp_path, FORMS[form]))
    try:
        assert value(device, "lamp_on") is False
        device.write("lamp_on", True)
        assert value(device, "lamp_on") is True
        device.write("lamp_on", False)
        assert value(device, "lamp_on") is False
    finally:
        device.close()


def test_a_uint16_relay_gets_1_and_0(server: Server, tmp_path: Path) -> None:
    device = polled(server, devicemap(tmp_path, FORMS["uint16"]))
    try:
        device.write("lamp_on", True)
        device.write("lamp_on", False)
    finally:
        device.close()

    assert server.writes() == [(6, 0, [1]), (6, 0, [0])]


def test_a_relay_with_declared_values_gets_them_and_reads_others_as_implausible(
    server: Server, tmp_path: Path
) -> None:
    device = polled(server, devicemap(tmp_path, FORMS["on/off values"]))
    try:
        device.write("lamp_on", True)
        assert server.writes() == [(6, 1, [0xFF00])]
        assert value(device, "lamp_on") is True
        server.pokes[1] = 0x0001  # neither 0xFF00 nor 0
        result = device.read_many(["lamp_on"])["lamp_on"]
    finally:
        device.close()

    assert isinstance(result, ImplausibleValue)
    assert str(result) == (
        f"lamp at modbus-tcp://127.0.0.1:{server.port}?unit=1: lamp_on: holding register 1 "
        "holds 1 (0x0001), neither the declared on value 65280 nor the off value 0; check the "
        "point's address and its on:/off: values in the device map"
    )


def test_a_status_word_bit_is_written_read_modify_write_keeping_the_other_bits(
    server: Server, tmp_path: Path
) -> None:
    points = (
        FORMS["status bit"]
        + "  lamp_failure: {address: 2, type: bool, bit: 0}\n"
        + "  driver_failure: {address: 2, type: uint16, bit: 15}\n"
    )
    device = polled(server, devicemap(tmp_path, points))
    server.pokes[2] = 0x8001  # bits 15 and 0: driver and lamp failure
    try:
        readings = device.read_many(["lamp_on", "lamp_failure", "driver_failure"])
        assert {n: r.value for n, r in readings.items() if isinstance(r, Reading)} == {
            "lamp_on": False,
            "lamp_failure": True,
            "driver_failure": True,
        }
        device.write("lamp_on", True)
        assert server.holding[2] == 0x8005
        device.write("lamp_on", False)
        assert server.holding[2] == 0x8001
    finally:
        device.close()

    # Each write: a read of register 2, then the whole register written back.
    exchanges = [r for r in server.requests if r[1] == 2 and (r[0] == 3 or r[2])]
    assert exchanges[-4:] == [
        (3, 2, []),
        (6, 2, [0x8005]),
        (3, 2, []),
        (6, 2, [0x8001]),
    ]


def test_a_read_only_status_bit_is_refused_before_anything_is_sent(
    server: Server, tmp_path: Path
) -> None:
    device = polled(server, devicemap(tmp_path, "  lamp_on: {address: 2, type: uint16, bit: 2}\n"))
    try:
        with pytest.raises(ValueError, match="refusing to write lamp_on: the device map ") as info:
            device.write("lamp_on", True)
    finally:
        device.close()

    assert "does not declare it writable (add 'writable: LOW .. HIGH'" in str(info.value)
    assert server.writes() == []


def test_the_maps_write_function_goes_on_the_wire(server: Server, tmp_path: Path) -> None:
    points = (
        "  lamp_on: {address: 3, type: uint16, writable: '0 .. 1', write_function: 16}\n"
        "  target_light_command: {address: 4, type: uint16, unit: '%', writable: '0 % .. 100 %', "
        "write_function: 16}\n"
        "  auto_mode: {table: coil, address: 1, type: bool, writable: '0 .. 1', "
        "write_function: 15}\n"
    )
    device = polled(server, devicemap(tmp_path, points))
    try:
        device.write("lamp_on", True)
        device.write("target_light_command", ureg.Quantity(40, "%"))
        device.write("auto_mode", True)
        assert value(device, "target_light_command") == ureg.Quantity(40, "%")
        assert value(device, "auto_mode") is True
    finally:
        device.close()

    assert server.writes() == [(16, 3, [1]), (16, 4, [40]), (15, 1, [1])]


# -- the checks see bools -------------------------------------------------------------------

PROFILE = """\
profile: forms
version: "0.1.0"
title: {{en: forms, zh: forms}}
status: draft
targets: [pole]
sources:
  - id: GB 1
    title: {{en: A standard, zh: 标准}}
requirements:
  - id: FO-001
    title: {{en: check, zh: check}}
    area: power
    level: mandatory
    refs: [{{source: GB 1, confidence: R}}]
    check: {check}
"""


def decide(tmp_path: Path, server: Server, dm: DeviceMap, check: str) -> Outcome:
    """Run one measure check the way a run does: through the poll, a DeviceError an error."""
    (tmp_path / "profile.yaml").write_text(PROFILE.format(check=check), encoding="utf-8")
    requirement = load_profile(tmp_path / "profile.yaml").requirements[0]
    uri = f"modbus-tcp://127.0.0.1:{server.port}?unit=1"
    spec = DeviceSpec(
        role="lamp",
        uri=uri,
        address=parse_device_uri(uri),
        devicemap=dm,
        options=LinkOptions(timeout=TIMEOUT),
        max_age=10.0,
        origin="test",
    )
    target = Target(
        id="T1",
        kind="pole",
        title=MappingProxyType({"en": "test"}),
        parameters=MappingProxyType({}),
        design=MappingProxyType({}),
        equipment=(),
        devices=MappingProxyType({"lamp": spec}),
        origin="test",
    )
    device = polled(server, dm)
    ctx = CheckContext(target=target, parameters={}, device=lambda role: device)
    try:
        return requirement.check.run(ctx)
    except DeviceError as exc:
        return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
    finally:
        device.close()


POWER = (
    "  active_power: {table: input, address: 0, type: float32, unit: W, range: '0 W .. 300 W'}\n"
)


def test_unless_lamp_off_matches_a_uint16_relay_reading_0(server: Server, tmp_path: Path) -> None:
    dm = devicemap(tmp_path, FORMS["uint16"] + POWER.replace("float32", "float32, order: CDAB"))
    check = (
        "{kind: measure, device: lamp, points: [active_power], limit: '>= 100 W', "
        "unless: [{point: lamp_on, equals: false}]}"
    )

    outcome = decide(tmp_path, server, dm, check)

    assert outcome.verdict is Verdict.NOT_APPLICABLE, outcome.reason
    assert outcome.reason.startswith("not applicable: lamp_on is false (lamp)")


def test_a_float_read_in_the_wrong_word_order_is_an_error_not_a_pass(
    server: Server, tmp_path: Path
) -> None:
    # 120.0 W sent CDAB, mapped ABCD: 0x000042F0 is 2.4e-41 W, which "meets <= 0.5 W".
    dm = devicemap(tmp_path, POWER)
    check = "{kind: measure, device: lamp, points: [active_power], limit: '<= 0.5 W'}"

    outcome = decide(tmp_path, server, dm, check)

    assert outcome.verdict is Verdict.ERROR, outcome.reason
    assert outcome.reason == (
        "cannot be decided: lamp active_power: implausible value 2.40127e-41 W from input "
        f"registers 0..1 of device map 'acme/lamp' ({dm.path}): nonzero yet under 1e-09 of the "
        "span of its declared range 0 W .. 300 W (3e-07 W), finer than any instrument "
        "resolves; check word_order / byte_order / scale / type"
    )


def test_the_same_registers_read_right_with_the_declared_word_swap(
    server: Server, tmp_path: Path
) -> None:
    dm = devicemap(tmp_path, POWER.replace("float32", "float32, order: CDAB"))
    check = "{kind: measure, device: lamp, points: [active_power], limit: '<= 0.5 W'}"

    outcome = decide(tmp_path, server, dm, check)

    assert outcome.verdict is Verdict.FAIL, outcome.reason
    assert outcome.measurements[0].value == 120.0


def test_a_nan_is_an_error_not_a_value(server: Server, tmp_path: Path) -> None:
    dm = devicemap(
        tmp_path, "  power_factor: {table: input, address: 2, type: float32, unit: ''}\n"
    )
    check = "{kind: measure, device: lamp, points: [power_factor], limit: '>= 0.9'}"

    outcome = decide(tmp_path, server, dm, check)

    assert outcome.verdict is Verdict.ERROR
    assert "power_factor: registers 0x7FC0 0x0000 at input register 2 hold nan as float32" in (
        outcome.reason
    )


def test_64_bit_values_read_over_the_wire(server: Server, tmp_path: Path) -> None:
    points = (
        "  frequency: {table: input, address: 4, type: float64, order: CDAB, unit: Hz, "
        "range: '40 Hz .. 70 Hz'}\n"
        "  active_energy: {table: input, address: 8, type: uint64, scale: 0.001, unit: kWh, "
        "range: '0 kWh .. 1000000000 kWh'}\n"
    )
    device = polled(server, devicemap(tmp_path, points))
    try:
        readings: dict[str, Any] = device.read_many(["frequency", "active_energy"])
    finally:
        device.close()

    assert readings["frequency"].value == ureg.Quantity(50.02, "Hz")
    assert readings["active_energy"].value == ureg.Quantity(123456789.012, "kWh")
    assert device.transactions == 1  # input registers 4..11 in one request
