"""The bench's Modbus servers: the only server-side pymodbus user.

A `ModbusBench` runs one pymodbus server in a thread of its own with its own event loop (or,
in a fleet, on the fleet's one shared loop, bench/loop.py) and serves every simulated unit of
one transport: a `ModbusTcpServer` on 127.0.0.1, port 0, like a
pole gateway in front of an RS-485 bus, or a `ModbusSerialServer` (RTU) on the bench end of a
pseudo-terminal pair, like the RS-485 bus itself.

Devices are `pymodbus.simulator.SimDevice`s (the datastore classes are deprecated) with one
`SimData` per device-map point, so an address outside the map answers exception 2.

Values are computed when a request arrives: the SimDevice `action=` hook asks the `Pole` for
the device's readings and encodes them into the live registers with the same codec and device
map the clients use. Writes are checked against the map's writable range and passed to the pole.

pymodbus 3.16.1 behaviour this module relies on or works around:
- the action is awaited after the address checks and before a write is stored; it receives the
  whole block (`registers`, modified in place) and the block's start address; for coils and
  discrete inputs the block is packed 16 bits per register and `count` counts registers;
- a function code pymodbus does not know (it knows the public assigned ones: 1-8, 11, 12,
  15-17, 20-24, 43) is not answered with exception 01 as Modbus requires: the RTU framer cannot
  find the frame's length and stays silent, the TCP server answers function 0x80 (exception
  for function 0). Every other code 1..127 is therefore registered (`custom_pdu=`) with a
  request class that answers 0x80 | code, exception 01, from the addressed unit, and gets the
  same silence (RTU) or 0x0B (TCP) as any request for a unit nobody simulates;
- a request for an unknown unit id makes SimCore raise KeyError (logged with a traceback,
  answered with exception 4), so a catch-all device with id 0 takes it; SimCore builds a list
  entry per register of a device (about 1 MB for all 65536, too much for a thousand servers),
  so the catch-all has one register and the trace hook rewrites whatever it answers: 0x0B
  from the addressed unit, as a real TCP-to-RS-485 gateway does when the unit is silent, or
  silence on RTU framing, as on a real bus;
- Read Device Identification (43/14) answers pymodbus's one server-wide identity, empty unless
  set; a unit answers its own instead: the objects of its device map's
  `signature.identification` (VendorName, ProductCode) and the map's version as
  MajorMinorRevision, or exception 01 when its map names none (a device without 43/14). The
  request class replaces pymodbus's for function 43 (`custom_pdu=`: its MEI sub-table would
  otherwise pick pymodbus's class again), and any other MEI type gets exception 01;
- the server's `trace_packet` hook may change the bytes it sends: the bad-CRC fault uses it;
- registers in gaps of up to MAX_FILL between points exist (value 0), as on real devices, so
  that coalesced reads bridging them succeed; larger gaps answer exception 2;
- `readonly=True` is enforced for registers but not for bits, so the action refuses bit writes;
- each request runs in a task of its own, so a silent device (an action that sleeps) holds up
  only its own request; the sleeping tasks are cancelled when the bench stops (on a shared
  loop, only this server's).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import itertools
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import pint
from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.datastore import ModbusServerContext
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse, ModbusPDU
from pymodbus.pdu.mei_message import ReadDeviceInformationResponse
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType as SimType
from pymodbus.simulator import SimData, SimDevice

from ycsa_conform.devicemap import DataType, ModbusPoint, Table
from ycsa_conform.point import POINTS
from ycsa_conform.transport.modbus import (
    MAX_BITS,
    MAX_REGISTERS,
    crc16,
    decode,
    encode,
    rtu_frame_size,
)
from ycsa_conform.transport.writable import within
from ycsa_conform.units import parse_unit, ureg

from .definition import SimulatedDevice
from .loop import SharedLoop, cancel_others
from .pole import Pole

__all__ = ["MAX_FILL", "ModbusBench"]

MAX_FILL = 8  # registers: gaps up to this size between points are implemented (value 0)

_SILENCE = 3600.0  # s a silent device waits before it would answer: longer than any timeout
_START_TIMEOUT = 10.0  # s
_FUNCTION_TABLES = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE_INPUT,
    4: Table.INPUT,
    3: Table.HOLDING,
    6: Table.HOLDING,
    16: Table.HOLDING,
    22: Table.HOLDING,
    23: Table.HOLDING,
}
_TABLE_ORDER = (Table.COIL, Table.DISCRETE_INPUT, Table.HOLDING, Table.INPUT)  # SimDevice's tuple
_BIT_TABLES = (Table.COIL, Table.DISCRETE_INPUT)
_WRITE_CODES = frozenset({5, 6, 15, 16})  # the writes pymodbus hands to the action


class _Unit:
    """One simulated Modbus unit: its registers and the action that keeps them current."""

    def __init__(
        self, device: SimulatedDevice, pole: Pole, sleep: Callable[[float], Awaitable[None]]
    ) -> None:
        self.device = device
        self.pole = pole
        self._sleep = sleep  # the server's: its stop cancels the sleepers
        points = [device.devicemap.modbus_point(name) for name in device.devicemap.points]
        self.tables = {t: [p for p in points if p.table is t] for t in Table}
        # Canonical unit of each point (what the pole computes in) -> the map's unit.
        self._canonical: dict[str, pint.Unit] = {
            p.name: parse_unit(POINTS[p.name].unit)
            for p in points
            if POINTS[p.name].unit not in ("flag", "text")
        }

    def sim_device(self) -> SimDevice:
        values = self._encoded()
        blocks: list[list[SimData]] = []
        for table in _TABLE_ORDER:
            block = [
                SimData(
                    p.address,
                    values=values[p.name],
                    datatype=SimType.BITS if table in _BIT_TABLES else SimType.REGISTERS,
                    readonly=p.writable is None,
                )
                for p in self.tables[table]
            ]
            if table not in _BIT_TABLES:
                block += _fillers(self.tables[table])
            # SimDevice needs every table to hold something; the action refuses these bits,
            # and an INVALID register answers exception 2 on its own.
            if not block:
                block = [
                    SimData(0, values=[False] * 16, datatype=SimType.BITS)
                    if table in _BIT_TABLES
                    else SimData(0, datatype=SimType.INVALID)
                ]
            blocks.append(block)
        return SimDevice(
            id=self.device.unit,
            simdata=(blocks[0], blocks[1], blocks[2], blocks[3]),
            action=self.action,
        )

    def _encoded(self) -> dict[str, list[int] | list[bool]]:
        readings = self.pole.readings(self.device.model)
        # The word-order fault: firmware that sends 32-bit values low word first while the
        # device map (rightly, for other firmware) says high word first.
        swapped = self.device.role in self.pole.settings.word_swapped_roles
        encoded: dict[str, list[int] | list[bool]] = {}
        for name in self.device.devicemap.points:
            point = self.device.devicemap.modbus_point(name)
            value = readings[name]
            if isinstance(value, str):  # pragma: no cover - text points live on the gateway
                raise TypeError(f"{name} is text ({value!r}); Modbus maps hold numbers and bits")
            if not isinstance(value, bool) and name in self._canonical:
                value = float(ureg.Quantity(value, self._canonical[name]).to(point.unit).magnitude)
            words = encode(point, value)
            if swapped and point.type.registers == 2:
                words = words[::-1]
            encoded[name] = words
        return encoded

    async def action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        settings = self.pole.settings
        if function_code in _WRITE_CODES and values:
            # pymodbus calls the action twice for a write: to store (with the values), then to
            # read back for the answer (without); only the first is the write.
            self.pole.write_received(self.device.role)
        if self.device.role in settings.silent_roles:
            await self._sleep(_SILENCE)
            return ExcCodes.DEVICE_BUSY
        if self.device.role in settings.slow_roles:
            await self._sleep(settings.slow_delay)  # then answers as usual, too late
        if self.device.role in settings.exception_roles:
            return ExcCodes(settings.exception_code)
        table = _FUNCTION_TABLES.get(function_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        points = self.tables[table]
        if table in _BIT_TABLES and address not in {p.address for p in points}:
            return ExcCodes.ILLEGAL_ADDRESS
        if values:
            return self._write(table, address, values)
        self._refresh(table, start_address, registers)
        return None

    def _refresh(self, table: Table, start_address: int, registers: list[int]) -> None:
        encoded = self._encoded()
        for point in self.tables[table]:
            if table in _BIT_TABLES:
                # Packed bits: register k holds bits 16*(start + k) .. +15, bit 0 lowest.
                index, bit = divmod(point.address - start_address * 16, 16)
                if encoded[point.name][0]:
                    registers[index] |= 1 << bit
                else:
                    registers[index] &= ~(1 << bit)
            else:
                offset = point.address - start_address
                words = [int(w) for w in encoded[point.name]]
                registers[offset : offset + len(words)] = words

    def _write(self, table: Table, address: int, values: list[int] | list[bool]) -> ExcCodes | None:
        """Accept a write only if it covers whole writable points, each inside its range."""
        end = address + len(values)
        accepted: list[tuple[ModbusPoint, float | bool]] = []
        for point in self.tables[table]:
            width = 1 if point.type is DataType.BOOL else point.type.registers
            if point.address + width <= address or point.address >= end:
                continue
            if point.writable is None:
                return ExcCodes.ILLEGAL_ADDRESS
            if point.address < address or point.address + width > end:
                return ExcCodes.ILLEGAL_VALUE  # half of a 32-bit value
            part = values[point.address - address : point.address - address + width]
            value = decode(point, list(part))
            if not isinstance(value, bool) and not within(
                point.writable.resolve({}), ureg.Quantity(value, point.unit)
            ):
                return ExcCodes.ILLEGAL_VALUE
            accepted.append((point, value))
        for point, value in accepted:
            self.pole.command(point.name, value)
        return None


def _fillers(points: Sequence[ModbusPoint]) -> list[SimData]:
    """Zero registers in the small gaps between `points` (a real device implements those)."""
    fillers = []
    ordered = sorted(points, key=lambda p: p.address)
    for before, after in itertools.pairwise(ordered):
        end = before.address + before.type.registers
        if 0 < after.address - end <= MAX_FILL:
            fillers.append(
                SimData(end, count=after.address - end, values=0, datatype=SimType.REGISTERS)
            )
    return fillers


# Answers a request with a function code no unit implements: (unit id, code) -> the answer.
Refusal = Callable[[int, int], Awaitable[ModbusPDU]]
# Where a server's context (the SimCore pymodbus hands a request) keeps the server's Refusal:
# the request classes are built once and shared by every server (a class per code and server
# cost 340 kB per server, too much for a fleet's thousand).
_REFUSAL = "_ycsa_refusal"


@functools.cache
def _unsupported_requests() -> list[type[ModbusPDU]]:
    """A request class for each function code 1..127 pymodbus does not know (see above)."""
    known = set(DecodePDU.pdu_table)
    return [_unsupported_request(code) for code in range(1, 128) if code not in known]


def _unsupported_request(code: int) -> type[ModbusPDU]:
    class Unsupported(ModbusPDU):
        function_code = code

        def decode(self, data: bytes) -> None:
            self.payload = bytes(data)

        @classmethod
        def calculateRtuFrameSize(cls, data: bytes) -> int:  # pymodbus's name
            # The frame says nothing of its length; a device goes by the 3.5-character silence
            # after it, pymodbus by where the CRC fits.
            return rtu_frame_size(data)

        async def datastore_update(self, context: ModbusServerContext, device_id: int) -> ModbusPDU:
            refuse: Refusal = getattr(context, _REFUSAL)
            return await refuse(device_id, self.function_code)

    Unsupported.__name__ = Unsupported.__qualname__ = f"Unsupported{code}"
    return Unsupported


# Where a server's context keeps the server's answer to 43/14: (unit id, read code, object id)
# -> the answer (see _Identification).
_IDENTIFY = "_ycsa_identify"
Identify = Callable[[int, int, int], Awaitable[ModbusPDU]]


class _Identification(ModbusPDU):
    """Function 43 (encapsulated interface transport) as a bench unit answers it: MEI type 14,
    Read Device Identification, from the unit's own identity; any other MEI type exception 01."""

    function_code = 0x2B
    sub_function_code = -1  # no sub-table lookup: this class handles every MEI type itself

    def decode(self, data: bytes) -> None:
        self.payload = bytes(data)

    @classmethod
    def calculateRtuFrameSize(cls, data: bytes) -> int:  # pymodbus's name
        return rtu_frame_size(data)

    async def datastore_update(self, context: ModbusServerContext, device_id: int) -> ModbusPDU:
        if len(self.payload) != 3 or self.payload[0] != 0x0E:
            mei = self.payload[0] if self.payload else None
            if mei is not None and mei != 0x0E:
                return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION, device_id)
            return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_VALUE, device_id)
        identify: Identify = getattr(context, _IDENTIFY)
        return await identify(device_id, self.payload[1], self.payload[2])


class _ResyncingRtuFramer(FramerRTU):
    """pymodbus's RTU framer, resynchronising as a device does after a broken frame.

    A device finds frames by the 3.5-character silence between them, so a cut frame, a frame
    with a bad CRC or an oversized one is dropped and the next request is heard. pymodbus 3.16
    keeps a cut frame's bytes and then drops them together with the next request (its CRC
    check spans both), so every request after a broken frame would go unanswered. This framer
    looks for the first whole frame with a valid CRC at every offset of what it holds, and
    consumes everything up to its end; bytes that never start a valid frame wait for one."""

    def decode(self, data: bytes) -> tuple[int, int, int, bytes]:
        for start in range(len(data)):
            used, device_id, tid, pdu = super().decode(data[start:])
            if pdu:
                return start + used, device_id, tid, pdu
        return 0, 0, 0, self.EMPTY


async def _gateway_no_response(*_: Any) -> ExcCodes:
    return ExcCodes.GATEWAY_NO_RESPONSE


# Transports whose frames are RTU (CRC, unit id first): a bus, reached directly or through a
# serial server.
_RTU_FRAMING = ("modbus-rtu", "modbus-rtu-tcp")


class ModbusBench:
    """A bench's Modbus server: `start()` returns once it serves; `stop()` is idempotent.

    transport "modbus-tcp" listens on `host`, port 0; "modbus-rtu" serves on `serial_path`;
    "modbus-rtu-tcp" listens on `host`, port 0, with RTU frames, as a serial server passes
    them to and from the units of its RS-485 bus (silence for a unit that is not there).
    With `loop` the server runs on that shared loop instead of a thread of its own.
    """

    def __init__(
        self,
        devices: Sequence[SimulatedDevice],
        pole: Pole,
        *,
        transport: str = "modbus-tcp",
        host: str = "127.0.0.1",
        serial_path: str = "",
        others: Sequence[tuple[SimulatedDevice, Pole]] = (),
        loop: SharedLoop | None = None,
    ) -> None:
        """The units of `devices` (of `pole`) on `transport`; `others` adds units of other
        poles, as a road's RS-485 bus serves the lamp controllers of several poles (their
        unit ids must differ). Faults are each unit's own pole's."""
        pairs = [(d, pole) for d in devices] + list(others)
        self._units = [_Unit(d, p, self._sleep) for d, p in pairs if d.transport == transport]
        ids = [u.device.unit for u in self._units]
        if len(set(ids)) != len(ids):
            raise ValueError(f"unit ids {ids} repeat: each unit on one server needs its own")
        self._by_id = {u.device.unit: u for u in self._units}
        self.transport = transport
        self.pole = pole
        self._host = host
        self._serial_path = serial_path
        self._shared = loop
        self.endpoint = ""  # "HOST:PORT" or the serial path, once started
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._sleepers: set[asyncio.Task[Any]] = set()
        # The function code of the request each answer is for (RTU: by unit; TCP: by unit and
        # transaction id) and the first 5 bytes of its PDU, for _decoding_refusal.
        self._asked: dict[bytes, bytes] = {}

    def start(self) -> str:
        if self._thread is not None or self._server is not None:
            return self.endpoint
        if self._shared is not None:
            port = self._shared.run(self._open(), timeout=_START_TIMEOUT)
        else:
            port = self._start_thread()
        on_port = self.transport == "modbus-rtu"
        self.endpoint = self._serial_path if on_port else f"{self._host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        if self._shared is not None:
            if self._server is not None and self._shared.running:
                self._shared.run(self._close(), timeout=_START_TIMEOUT)
            return
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._request_stop()
        thread.join(_START_TIMEOUT)

    async def _sleep(self, seconds: float) -> None:
        """Sleep in a request's task, which stop() cancels."""
        task = asyncio.current_task()
        assert task is not None
        self._sleepers.add(task)
        try:
            await asyncio.sleep(seconds)
        finally:
            self._sleepers.discard(task)

    async def _refuse(self, unit: int, function: int) -> ModbusPDU:
        """The answer to a function code nobody implements: exception 01 from a simulated unit
        (after its faults: a silent unit stays silent), else what a missing unit gets (the
        trace hook makes that silence on RTU framing)."""
        simulated = self._by_id.get(unit)
        if simulated is not None:
            code = await simulated.action(function, 0, 0, 0, [], None)
            return ExceptionResponse(function, int(code or ExcCodes.ILLEGAL_FUNCTION), unit)
        return ExceptionResponse(function, ExcCodes.GATEWAY_NO_RESPONSE, unit)

    async def _identify(self, unit: int, read_code: int, object_id: int) -> ModbusPDU:
        """A unit's answer to Read Device Identification: the basic objects (read codes 1-3:
        stream from `object_id`; 4: that one object) its device map's signature names, else
        exception 01 (it does not implement 43/14)."""
        function = _Identification.function_code
        simulated = self._by_id.get(unit)
        if simulated is None:
            return ExceptionResponse(function, ExcCodes.GATEWAY_NO_RESPONSE, unit)
        # Its faults first (a silent unit sleeps, a refusing one refuses); the action answers
        # ILLEGAL_FUNCTION for a function with no table, which is not a fault.
        code = await simulated.action(function, 0, 0, 0, [], None)
        if code is not None and code != ExcCodes.ILLEGAL_FUNCTION:
            return ExceptionResponse(function, int(code), unit)
        devicemap = simulated.device.devicemap
        signature = devicemap.signature
        if signature is None or not signature.identification:
            return ExceptionResponse(function, ExcCodes.ILLEGAL_FUNCTION, unit)
        objects = {k: v.encode("latin-1", "replace") for k, v in signature.identification.items()}
        objects.setdefault(2, devicemap.version.encode("latin-1", "replace"))
        if not 1 <= read_code <= 4:
            return ExceptionResponse(function, ExcCodes.ILLEGAL_VALUE, unit)
        if read_code == 4:
            if object_id not in objects:
                return ExceptionResponse(function, ExcCodes.ILLEGAL_ADDRESS, unit)
            chosen = {object_id: objects[object_id]}
        else:
            # An object id past the basic ones restarts the stream at 0 (Modbus V1.1b3, 6.21).
            start = object_id if object_id in objects else 0
            chosen = {k: v for k, v in sorted(objects.items()) if k >= start}
        return ReadDeviceInformationResponse(read_code=read_code, information=chosen, dev_id=unit)

    def _trace(self, sending: bool, data: bytes) -> bytes:
        serial = self.transport in _RTU_FRAMING
        unit = data[0] if serial and data else data[6] if len(data) > 6 else -1
        if not sending:
            if len(data) > (1 if serial else 7):
                start = 1 if serial else 7
                self._asked[self._exchange(data, serial)] = data[start : start + 5]
            return data
        data = self._decoding_refusal(data, serial)
        addressed = self._by_id.get(unit)
        if addressed is None:
            # A unit nobody simulates (the catch-all answered): silence on a bus, 0x0B (gateway
            # target failed to respond) from a TCP gateway, whatever the catch-all said.
            if serial or len(data) < 8:
                return b""
            return data[:4] + b"\x00\x03" + bytes([unit, data[7] | 0x80, 0x0B])
        settings = addressed.pole.settings
        # A silent device sends nothing, whatever it was asked: pymodbus answers an address
        # outside the map (exception 02) before the action could keep quiet.
        if addressed.device.role in settings.silent_roles:
            return b""
        # The bad-CRC fault: the answer leaves with its last CRC byte inverted.
        if serial and settings.garbled_frames and data:
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    @staticmethod
    def _exchange(data: bytes, serial: bool) -> bytes:
        return data[:1] if serial else data[:2] + data[6:7]

    def _decoding_refusal(self, data: bytes, serial: bool) -> bytes:
        """pymodbus 3.16 answers a request of a known function that it cannot decode (a read
        of 0 registers, or of more than 125) with function byte 0x80, exception 01: an
        exception for function 0. Modbus asks exception 03 (illegal data value: the quantity,
        or the structure of the rest of the request, is wrong) for the function asked, which
        the fuzz check holds the bench to."""
        pdu = data[1:-2] if serial else data[7:]
        if pdu != b"\x80\x01":
            return data
        asked = self._asked.pop(self._exchange(data, serial), None)
        if not asked or asked[0] & 0x80:
            return data
        function = asked[0]
        unit = self._by_id.get(data[0] if serial else data[6])
        if unit is not None and unit.device.role in unit.pole.settings.overrun_roles:
            count = int.from_bytes(asked[3:5], "big") if len(asked) == 5 else 0
            if count > (MAX_BITS if function in (1, 2) else MAX_REGISTERS):
                return b""  # the fragile firmware: an overrun, and no answer
        refused = bytes([function | 0x80, 3])
        if serial:
            body = data[:1] + refused
            return body + crc16(body)
        return data[:7] + refused

    # -- a thread of its own ---------------------------------------------------------------------

    def _start_thread(self) -> int:
        started: concurrent.futures.Future[int] = concurrent.futures.Future()
        thread = threading.Thread(
            target=self._run, args=(started,), name=f"ycsa-bench-{self.transport}", daemon=True
        )
        thread.start()
        try:
            port = started.result(timeout=_START_TIMEOUT)
        except BaseException:
            self._request_stop()
            thread.join(_START_TIMEOUT)
            raise
        self._thread = thread
        return port

    def _request_stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            # The loop may have ended on its own (a failed start): nothing left to stop then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)

    def _run(self, started: concurrent.futures.Future[int]) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve(loop, started))
        except BaseException as exc:  # the future reports start-up failures to start()
            if not started.done():
                started.set_exception(exc)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(
        self, loop: asyncio.AbstractEventLoop, started: concurrent.futures.Future[int]
    ) -> None:
        port = await self._open()
        self._stop = asyncio.Event()
        self._loop = loop
        started.set_result(port)
        try:
            await self._stop.wait()
        finally:
            await self._close()
            await cancel_others()  # its own loop: every task left is this server's

    # -- on the running loop (its own or the shared one) -----------------------------------------

    async def _open(self) -> int:
        """Build the server and start it listening; its port (0 on a serial port)."""
        devices = [unit.sim_device() for unit in self._units]
        serial = self.transport in _RTU_FRAMING
        # Unit 0 catches every unit id nobody simulates (see the module docstring).
        devices.append(
            SimDevice(
                id=0,
                simdata=[SimData(0, values=0, datatype=SimType.REGISTERS)],
                action=_gateway_no_response,
            )
        )
        # Servers must be built inside the running loop (they call get_running_loop()).
        server: ModbusTcpServer | ModbusSerialServer
        on_port = self.transport == "modbus-rtu"
        if on_port:
            server = ModbusSerialServer(
                devices,
                framer=FramerType.RTU,
                port=self._serial_path,
                baudrate=9600,
                trace_packet=self._trace,
                custom_pdu=[*_unsupported_requests(), _Identification],
            )
        else:
            server = ModbusTcpServer(
                devices,
                framer=FramerType.RTU if serial else FramerType.SOCKET,
                address=(self._host, 0),
                trace_packet=self._trace,
                custom_pdu=[*_unsupported_requests(), _Identification],
            )
        setattr(server.context, _REFUSAL, self._refuse)  # see _unsupported_requests
        setattr(server.context, _IDENTIFY, self._identify)  # see _Identification
        if serial:
            server.framer = _ResyncingRtuFramer  # the class each connection's framer is made of
        await server.serve_forever(background=True)
        self._server = server
        if on_port:
            return 0
        listener = cast(asyncio.Server, server.transport)
        return int(listener.sockets[0].getsockname()[1])

    async def _close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()  # type: ignore[no-untyped-call]  # untyped in pymodbus 3.16
        sleepers = list(self._sleepers)
        for task in sleepers:
            task.cancel()
        await asyncio.gather(*sleepers, return_exceptions=True)
        for _ in range(3):  # the closed transports release their sockets
            await asyncio.sleep(0)
