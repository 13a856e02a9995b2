"""A simulated DL/T 645-2007 meter on the bench end of a serial line (see `bench.pty`).

    meter = SimMeter645(pty.bench_path, address="123456789012", devicemap=dlt645_map,
                        values=lambda point: 229.8)
    meter.start()
    meter.garble = True      # fault switches take effect with the next request
    meter.delay = 1.5        # answers 1.5 s after each request (a slow meter)
    meter.stop()

A meter answers `turnaround` (50 ms) after a request, as real meters take a few tens of
milliseconds (DL/T 645-2007 timing, docs/sources.md SP-DATA-006: 20-500 ms, tag U);
`delay`, when longer, is a slow meter's lateness instead. An answer still waiting when another
frame arrives on the line is dropped (a half-duplex RS-485 device does not talk over the bus):
so a slow meter's late answer never passes for the answer to a later request, on the bench.

It answers reads of the DIs in its device map, as a real meter does: to its own address or the
wildcard AAAAAAAAAAAA, with its own address, after an FE FE FE FE wake-up preamble; a DI it does
not have gets the error answer "no requested data". Requests for other addresses, and frames
with a bad checksum, get silence, as on an RS-485 bus. Frames and values come from the client's
codec (`transport.dlt645`), so the two agree by construction.

Several meters may share one line, like meters on one RS-485 bus: the first to start opens the
bench end and the last to stop closes it. A tty has one reader in practice (each byte goes to
whichever reader asks first), so the meters on a line share one reader thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import ClassVar

from ycsa_conform.devicemap import DeviceMap, Dlt645Point
from ycsa_conform.transport.address import parse_device_uri
from ycsa_conform.transport.dlt645 import (
    READ,
    WILDCARD_ADDRESS,
    encode_error_reply,
    encode_reply,
    encode_value,
    parse_frame,
    take_frame,
)
from ycsa_conform.transport.serial import Port, open_port

from .loop import SharedLoop

__all__ = ["TURNAROUND", "MeterLineServer", "SimMeter645", "replies"]

NO_REQUESTED_DATA = 0x02
TURNAROUND = 0.05  # s; inside DL/T 645's 20-500 ms response delay (tag U)
OTHER_ERROR = 0x01
_READ_CONTROLS = frozenset({0x11, 0x12, 0x13})  # read data, read follow-up, read address


class SimMeter645:
    """One simulated meter. Its fault switches (`silent`, `garble`, `error_code`, `delay`) may
    be changed while it runs."""

    def __init__(
        self,
        path: str,
        *,
        address: str,
        devicemap: DeviceMap,
        values: Callable[[str], float],
    ) -> None:
        if not (len(address) == 12 and address.isdigit()):
            raise ValueError(
                f"a simulated meter needs a 12-digit address like '123456789012', not {address!r}"
            )
        if devicemap.protocol != "dlt645":
            raise ValueError(
                f"device map {devicemap.id!r} ({devicemap.path}) is for {devicemap.protocol}; "
                "a simulated DL/T 645 meter needs a dlt645 map"
            )
        self.path = path
        self.address = address
        self.devicemap = devicemap
        self.values = values
        self.silent = False  # no answer at all
        self.garble = False  # answers with a wrong checksum
        self.error_code: int | None = None  # answers every read with this error byte
        self.turnaround = TURNAROUND  # s between a request and its answer, normally
        self.delay = 0.0  # s, a slow meter's: when longer than `turnaround` it replaces it
        self.requests = 0  # read requests addressed to this meter
        self.on_write: Callable[[], None] | None = None  # told of each write frame to it
        # Failures of `values` or of encoding, answered with error "other error" on the wire;
        # kept here so a test can show why.
        self.failures: list[Exception] = []
        self._points: dict[int, Dlt645Point] = {}
        for point in devicemap.points.values():
            if isinstance(point, Dlt645Point):
                self._points.setdefault(point.di, point)
        self._line: _Line | None = None

    def start(self) -> None:
        if self._line is None:
            self._line = _Line.join(self.path, self)

    def stop(self) -> None:
        """Stop answering; may be called any number of times."""
        if self._line is not None:
            self._line.leave(self)
            self._line = None

    def __enter__(self) -> SimMeter645:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SimMeter645 {self.address} on {self.path}>"

    def answer(self, frame: bytes) -> bytes | None:
        """The bytes this meter sends for a received frame (None: it stays silent)."""
        request = parse_frame(frame)  # the line passes intact frames only
        if request.address not in (self.address, WILDCARD_ADDRESS):
            return None
        if request.control not in _READ_CONTROLS and self.on_write is not None:
            self.on_write()  # a write, a time setting, a freeze...: counted, never answered
        if request.control != READ:
            return None
        self.requests += 1
        if self.silent:
            return None
        if self.error_code is not None:
            reply = encode_error_reply(self.address, self.error_code)
        elif len(request.data) != 4:
            reply = encode_error_reply(self.address, OTHER_ERROR)
        else:
            reply = self._reading(int.from_bytes(request.data, "little"))
        if self.garble:
            reply = reply[:-2] + bytes([(reply[-2] + 1) & 0xFF]) + reply[-1:]
        return reply

    def _reading(self, di: int) -> bytes:
        point = self._points.get(di)
        if point is None:
            return encode_error_reply(self.address, NO_REQUESTED_DATA)
        try:
            data = encode_value(point, self.values(point.name))
        except Exception as exc:  # a simulation bug becomes a meter fault, and is kept
            self.failures.append(exc)
            return encode_error_reply(self.address, OTHER_ERROR)
        return encode_reply(self.address, di, data)


class _Line:
    """The bench end of one serial line and the meters on it, with one reader thread."""

    # Lines by real path, so that a pty's link and its /dev/pts name are the same line.
    _open: ClassVar[dict[str, _Line]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, path: str, key: str) -> None:
        self.path = path
        self.key = key
        # Line settings do not matter on a pty; on a real adapter they are the DL/T 645 default
        # (2400 baud 8E1). The address parameter is only there to make the URI valid.
        address = parse_device_uri(f"dlt645://{path}?address={WILDCARD_ADDRESS}")
        # timeout=None: read() blocks until a byte comes or leave() calls cancel_read().
        self.port: Port = open_port(address, timeout=None)
        self.meters: list[SimMeter645] = []
        self._closing = False
        # A slow meter's answer leaves from a timer, so the reader goes on serving the other
        # meters on the line (the master has timed out and moved on; only the slow one is late).
        self._timers: list[threading.Timer] = []
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"meter645 {path}", daemon=True)

    @classmethod
    def join(cls, path: str, meter: SimMeter645) -> _Line:
        key = os.path.realpath(path)
        with cls._registry_lock:
            line = cls._open.get(key)
            if line is None:
                line = cls(path, key)
                cls._open[key] = line
                line.meters.append(meter)
                line._thread.start()
            else:
                line.meters = [*line.meters, meter]
            return line

    def leave(self, meter: SimMeter645) -> None:
        with self._registry_lock:
            self.meters = [m for m in self.meters if m is not meter]
            if self.meters:
                return
            del self._open[self.key]
            self._closing = True
        self.port.cancel_read()
        self._thread.join(timeout=2.0)
        for timer in self._timers:
            timer.cancel()
        with self._write_lock:  # a late answer being written finishes before the port closes
            self.port.close()

    def _serve(self) -> None:
        buffer = bytearray()
        try:
            while not self._closing:
                buffer += self.port.read(1)
                buffer += self.port.read(self.port.in_waiting)
                while (frame := take_frame(buffer)) is not None:
                    # The bus is not quiet any more: an answer still waiting is dropped, as a
                    # half-duplex RS-485 device does not talk over another frame.
                    for timer in self._timers:
                        timer.cancel()
                    for reply, delay in self._replies(frame):
                        if delay > 0:
                            self._later(delay, reply)
                        else:
                            self._write(reply)
        except OSError:  # the pty went away under us (closed before the meters stopped)
            return

    def _write(self, reply: bytes) -> None:
        with self._write_lock:
            if not self._closing:
                self.port.write(reply)

    def _later(self, delay: float, reply: bytes) -> None:
        def send() -> None:
            with contextlib.suppress(OSError):  # the pty closed while the answer waited
                self._write(reply)

        self._timers = [t for t in self._timers if t.is_alive()]
        timer = threading.Timer(delay, send)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _replies(self, frame: bytes) -> list[tuple[bytes, float]]:
        # `meters` is replaced, never changed in place, so this reads a stable list.
        return [] if self._closing else replies(self.meters, frame)


def replies(meters: Sequence[SimMeter645], frame: bytes) -> list[tuple[bytes, float]]:
    """Each meter's answer to `frame` and when it leaves (s after the request)."""
    answers = []
    for meter in meters:
        try:
            reply = meter.answer(frame)
        except Exception as exc:  # keep serving the other meters, and keep the reason
            meter.failures.append(exc)
            continue
        if reply is not None:
            answers.append((reply, max(meter.turnaround, meter.delay)))
    return answers


class MeterLineServer:
    """A DL/T 645 line of several meters behind a serial server, as a distribution cabinet's
    meters are reached from a district system: `dlt645-tcp://HOST:PORT?address=…`.

    The meters are not started (they join no pty line): this server hands them the frames
    and sends each answer its meter's turnaround (or delay) later. It runs on a fleet's shared
    loop (bench/loop.py): no thread of its own."""

    def __init__(
        self, meters: Sequence[SimMeter645], *, loop: SharedLoop, host: str = "127.0.0.1"
    ) -> None:
        self.meters = list(meters)
        self._shared = loop
        self._host = host
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._later: set[asyncio.TimerHandle] = set()
        self.endpoint = ""

    def start(self) -> str:
        if self._server is None:
            self.endpoint = self._shared.run(self._open())
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None and self._shared.running:
            self._shared.run(self._close())

    def __repr__(self) -> str:
        return f"<MeterLineServer {len(self.meters)} meter(s) on {self.endpoint or '-'}>"

    async def _open(self) -> str:
        self._server = await asyncio.start_server(self._relay, self._host, 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"{self._host}:{port}"

    async def _close(self) -> None:
        server, self._server = self._server, None
        for handle in self._later:
            handle.cancel()
        self._later.clear()
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        if server is not None:
            await server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        self._writers.add(writer)
        buffer = bytearray()
        try:
            while data := await reader.read(4096):
                buffer += data
                while (frame := take_frame(buffer)) is not None:
                    for reply, delay in replies(self.meters, frame):
                        self._send_later(loop, delay, writer, reply)
        except ConnectionError:
            pass  # the client went
        finally:
            self._writers.discard(writer)
            writer.close()

    def _send_later(
        self,
        loop: asyncio.AbstractEventLoop,
        delay: float,
        writer: asyncio.StreamWriter,
        reply: bytes,
    ) -> None:
        def send() -> None:
            self._later.discard(handle)
            if not writer.is_closing():
                writer.write(reply)

        handle = loop.call_later(delay, send)
        self._later.add(handle)
