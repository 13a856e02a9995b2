"""The pole's Modbus devices on pymodbus 3.16's server API (SimDevice, action hooks).

CS-LC300 lamp controller, unit 17, Modbus RTU on the pole's RS-485 bus (a pty here), 19200 8N1.
One register space (shared block): function 04 and 03 read the same registers.

    input registers (read-only)                      holding registers
    0x1000 voltage        uint16  0.1 V              0x2000 dimming   uint16 0..100 %
    0x1001 current        uint16  1 mA               0x2001 relay     uint16 0 open, 1 closed
    0x1002 active power   float32 CDAB  W            0x2002 mode      uint16 1 manual, 2 photocell
    0x1004 power factor   float32 CDAB               0x2003 switch-on uint16 1 lx
    0x1006 energy         uint32  CDAB  1 Wh
    0x1008 lamp hours     uint32  CDAB  0.1 h
    0x100A clock          uint32  CDAB  s since 1970 (UTC)
    0x100C light output   uint16  0.1 %
    0x100D status word    bit 0 lamp failure, bit 1 driver failure, bit 2 relay closed,
                          bit 3 photocell mode
    0x100E switch-ons     uint16

Every 32-bit value of this firmware is sent low word first (CDAB, "word-swapped"). A write
outside a register's values is refused with exception 03; writing the relay leaves photocell
mode (mode 1), writing mode 2 hands the relay back to the photocell.

CS-TS2 tilt sensor, unit 21, and CS-EV6 environment sensor, unit 22: Modbus TCP behind the pole
gateway (a loopback port here).

    tilt (unit 21)                                   environment (unit 22), input registers
    0x0000 tilt x       int16  0.01 mrad  (input)    0x0000 illuminance  float32 ABCD lx
    0x0001 tilt y       int16  0.01 mrad  (input)    0x0002 temperature  int16  0.1 degC
    0x0002 vibration    uint16 0.1 mm/s   (input)    0x0003 humidity     uint16 0.1 %
    0x0010 alarm level  uint16 0.01 mrad  (holding)  0x0004 PM2.5, 0x0005 PM10  uint16 µg/m³
                                                     0x0006 wind speed   uint16 0.01 m/s
                                                     0x0007 noise        uint16 0.1 dB(A)

pymodbus 3.16 answers a request for a unit id it does not serve with exception 04 (a KeyError
inside SimCore, docs/dependencies.md §2); a device on an RS-485 bus stays silent instead,
so the RTU server drops every frame it would send for another unit (`_own_unit_only`). And its
RTU framer cannot tell how long a request of a function it does not know is, so it never
answers one; the CS-LC300 refuses function 25 (the one its manual lists as unimplemented, and
the map's `probes: illegal_function`) with exception 01, through a PDU of its own (`_Refused`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from cangshan.physics import Pole, Reading

__all__ = ["ENVIRONMENT_UNIT", "LAMP_UNIT", "TILT_UNIT", "ModbusSide"]

LAMP_UNIT = 17
TILT_UNIT = 21
ENVIRONMENT_UNIT = 22

LAMP_INPUT = 0x1000
LAMP_HOLDING = 0x2000
TILT_INPUT = 0x0000
TILT_HOLDING = 0x0010
ENV_INPUT = 0x0000

# The simulated devices log nothing: the tests judge what crosses the wire.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

Action = Callable[[int, int, int, int, list[int], Any], Awaitable[ExcCodes | None]]


def _words(fmt: str, value: float | int, *, swapped: bool) -> list[int]:
    """The two registers of a 32-bit value, ABCD (high word first) or CDAB (low word first)."""
    data = struct.pack(f">{fmt}", value)
    high, low = int.from_bytes(data[0:2], "big"), int.from_bytes(data[2:4], "big")
    return [low, high] if swapped else [high, low]


def _float32(value: float, *, swapped: bool) -> list[int]:
    return _words("f", value, swapped=swapped)


def _uint32(value: int, *, swapped: bool) -> list[int]:
    return _words("I", value & 0xFFFFFFFF, swapped=swapped)


def _int16(value: int) -> int:
    return value & 0xFFFF


def lamp_registers(r: Reading) -> tuple[list[int], list[int]]:
    """(input registers from 0x1000, holding registers from 0x2000) of the controller."""
    s = r.settings
    pf = math.nan if s.pf_nan else r.lamp_pf
    status = (
        (1 if s.lamp_failure else 0)
        | (2 if s.driver_failure else 0)
        | (4 if r.relay_closed else 0)
        | (8 if s.auto else 0)
    )
    inputs = [
        round(s.controller_voltage * 10),
        round(r.lamp_current * 1000),
        *_float32(r.lamp_power, swapped=True),
        *_float32(pf, swapped=True),
        *_uint32(s.energy_wh, swapped=True),
        *_uint32(s.hours_tenths, swapped=True),
        *_uint32(int(r.clock), swapped=True),
        round(r.light * 10),
        status,
        s.switch_ons,
    ]
    holding = [s.level, 1 if r.relay_closed else 0, 2 if s.auto else 1, s.switch_on_lux]
    return inputs, holding


def tilt_registers(r: Reading) -> tuple[list[int], list[int]]:
    s = r.settings
    inputs = [
        _int16(round(s.tilt_x * 100)),
        _int16(round(s.tilt_y * 100)),
        round(s.vibration * 10),
    ]
    return inputs, [round(s.tilt_threshold * 100)]


def environment_registers(r: Reading) -> list[int]:
    s = r.settings
    return [
        *_float32(s.illuminance, swapped=False),
        _int16(round(s.temperature * 10)),
        round(s.humidity * 10),
        s.pm2_5,
        s.pm10,
        round(s.wind_speed * 100),
        round(s.noise * 10),
    ]


class _Refused(ModbusPDU):
    """Function 25, which the firmware does not implement: exception 01 (illegal function)."""

    function_code = 25
    rtu_frame_size = 4  # unit, function, CRC: the request carries no data

    def encode(self) -> bytes:
        return b""

    def decode(self, data: bytes) -> None:
        pass

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION)


def _place(registers: list[int], start: int, at: int, values: list[int]) -> None:
    registers[at - start : at - start + len(values)] = values


class ModbusSide:
    """The three Modbus devices, served from one asyncio loop in a thread of their own."""

    def __init__(self, pole: Pole, *, rtu_port: str) -> None:
        self.pole = pole
        self.rtu_port = rtu_port
        self.tcp_port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._servers: list[Any] = []

    # -- the controllers' firmware ------------------------------------------------------------

    async def _lamp(
        self,
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if values is not None and function_code in (6, 16):
            for offset, value in enumerate(values):
                refused = self._lamp_write(address + offset, int(value))
                if refused is not None:
                    return refused
        inputs, holding = lamp_registers(self.pole.read())
        _place(registers, start, LAMP_INPUT, inputs)
        _place(registers, start, LAMP_HOLDING, holding)
        return None

    def _lamp_write(self, address: int, value: int) -> ExcCodes | None:
        if address == LAMP_HOLDING and 0 <= value <= 100:
            self.pole.set(level=value)
        elif address == LAMP_HOLDING + 1 and value in (0, 1):
            self.pole.write_relay(value == 1)
        elif address == LAMP_HOLDING + 2 and value in (1, 2):
            self.pole.write_mode(value == 2)
        elif address == LAMP_HOLDING + 3 and 1 <= value <= 200:
            self.pole.set(switch_on_lux=value)
        else:
            return ExcCodes.ILLEGAL_VALUE
        return None

    async def _tilt(
        self,
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if values is not None and function_code in (6, 16):
            for offset, value in enumerate(values):
                if address + offset != TILT_HOLDING or not 10 <= int(value) <= 5000:
                    return ExcCodes.ILLEGAL_VALUE
                self.pole.set(tilt_threshold=int(value) / 100)
        inputs, holding = tilt_registers(self.pole.read())
        _place(registers, start, TILT_INPUT, inputs)
        _place(registers, start, TILT_HOLDING, holding)
        return None

    async def _environment(
        self,
        function_code: int,
        start: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        _place(registers, start, ENV_INPUT, environment_registers(self.pole.read()))
        return None

    # -- servers ------------------------------------------------------------------------------

    def _devices(self) -> tuple[SimDevice, list[SimDevice]]:
        reading = self.pole.read()
        inputs, holding = lamp_registers(reading)
        lamp = SimDevice(
            id=LAMP_UNIT,
            simdata=[
                SimData(LAMP_INPUT, values=inputs, datatype=DataType.REGISTERS, readonly=True),
                SimData(LAMP_HOLDING, values=holding, datatype=DataType.REGISTERS),
            ],
            action=self._lamp,
        )
        tilt_in, tilt_hold = tilt_registers(reading)
        tilt = SimDevice(
            id=TILT_UNIT,
            simdata=[
                SimData(TILT_INPUT, values=tilt_in, datatype=DataType.REGISTERS, readonly=True),
                SimData(TILT_HOLDING, values=tilt_hold, datatype=DataType.REGISTERS),
            ],
            action=self._tilt,
        )
        environment = SimDevice(
            id=ENVIRONMENT_UNIT,
            simdata=[
                SimData(
                    ENV_INPUT,
                    values=environment_registers(reading),
                    datatype=DataType.REGISTERS,
                    readonly=True,
                )
            ],
            action=self._environment,
        )
        return lamp, [tilt, environment]

    async def _start(self) -> None:
        lamp, behind_gateway = self._devices()
        rtu = ModbusSerialServer(
            lamp,
            framer=FramerType.RTU,
            port=self.rtu_port,
            baudrate=19200,
            trace_packet=_own_unit_only,
            custom_pdu=[_Refused],
        )
        await rtu.serve_forever(background=True)
        tcp = ModbusTcpServer(behind_gateway, address=("127.0.0.1", 0))
        await tcp.serve_forever(background=True)
        listening: Any = tcp.transport  # an asyncio Server: the port bound to 0
        self.tcp_port = listening.sockets[0].getsockname()[1]
        self._servers = [rtu, tcp]

    async def _stop(self) -> None:
        for server in self._servers:
            await server.shutdown()

    def start(self) -> ModbusSide:
        self._thread.start()
        future: Future[None] = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(timeout=10)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


def _own_unit_only(sending: bool, packet: bytes) -> bytes:
    """Drop what the RTU server would send for a unit other than the lamp's: real silence."""
    if sending and packet and packet[0] != LAMP_UNIT:
        return b""
    return packet
