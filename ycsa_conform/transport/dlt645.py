"""DL/T 645-2007 meters on a serial line: the frame codec, the link and the device.

A frame (the address and every data field low byte first):

    FE FE FE FE  68  A0 .. A5  68  C  L  D0 .. D(L-1)  CS  16
    wake-up      start address start control length   data + 0x33 each  checksum  end

    address   12 nameplate digits as 6 BCD bytes, reversed: 123456789012 -> 12 90 78 56 34 12
    control   bit 7 set in answers, bit 6 set in error answers, bit 5 set when follow-up frames
              come; bits 0-4 the function (0x11 read data). 0x11 asks, 0x91 answers (0xB1 with
              follow-up frames), 0xD1 refuses with one error byte
    data      a read carries the data identifier DI0 DI1 DI2 DI3; its answer carries the DI and
              then the value, BCD, low byte first; in signed formats the top bit of the most
              significant byte is the sign
    checksum  the sum, modulo 256, of every byte from the first 68 up to the checksum

The codec is pure and shared with the simulated meter (`bench.meter645`), so the bench and the
client agree on every frame by construction; `Dlt645Link` only moves bytes, and `Dlt645Device`
decodes them, so a replayed recording runs the checksum and BCD checks again.

Why not the `dlt645` package (PyPI, 3.2.0)? It is a 24,000-line client/server framework that
needs loguru and configures logging globally, ships no py.typed, and its stream parser skips a
frame with a bad checksum with a log warning, so a garbled answer would look like silence
(an error reason "timeout" instead of "checksum"). Its BCD decoder turns nibbles A-F into wrong
digits instead of refusing them. The part we need is a page of code, written here.
"""

from __future__ import annotations

import math
import termios
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pint

from ycsa_conform.devicemap import DeviceMap, Dlt645Point
from ycsa_conform.errors import (
    DecodeError,
    DeviceError,
    DeviceException,
    DeviceRefused,
    DeviceTimeout,
)
from ycsa_conform.units import format_quantity, ureg

from . import DeviceBase, Explain, Link, LinkOptions, Reading, Request, Response
from .address import DeviceAddress
from .serial import BusPort, SharedPort, line_time, read_exactly, share_port

__all__ = [
    "ERROR_BITS",
    "READ",
    "WILDCARD_ADDRESS",
    "Dlt645Device",
    "Dlt645Link",
    "Frame",
    "Timed",
    "decode_reply",
    "decode_value",
    "encode_error_reply",
    "encode_frame",
    "encode_reply",
    "encode_value",
    "error_text",
    "parse_frame",
    "read_request",
    "take_frame",
]

# "Ask whichever meter is on the line" (2007: 通配地址). A meter answers it with its own
# address; 999999999999 is the broadcast address of time setting, which no meter answers.
WILDCARD_ADDRESS = "AAAAAAAAAAAA"
READ = 0x11  # the read-data function code
PREAMBLE = b"\xfe\xfe\xfe\xfe"
START = 0x68
END = 0x16
OFFSET = 0x33  # added to every data byte on the wire, so data never looks like FE or 68
_ANSWER = 0x80
_ERROR = 0x40
_FOLLOW_UP = 0x20
_FUNCTION = 0x1F
_MINIMUM = 12  # bytes in a frame without data, from the first 68 to the 16
_NO_DATA = 0x02  # the error bit that means: this meter has no such DI

# The error byte of an error answer (DL/T 645-2007, table "error information word").
ERROR_BITS = {
    0: "other error",
    1: "no requested data",
    2: "password error or unauthorised",
    3: "communication rate cannot be changed",
    4: "annual time zone count exceeded",
    5: "daily time period count exceeded",
    6: "tariff count exceeded",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """A parsed frame: the meter address as printed, the control byte, the data without 0x33."""

    address: str
    control: int
    data: bytes


def _hex(data: bytes) -> str:
    return data.hex(" ").upper()


def encode_address(address: str) -> bytes:
    """12 nameplate digits (or the wildcard) as the 6 address bytes, low byte first."""
    if not (len(address) == 12 and (address.isdigit() or address.upper() == WILDCARD_ADDRESS)):
        raise ValueError(
            f"meter address {address!r} must be the 12 digits on the nameplate, like "
            f"'123456789012', or {WILDCARD_ADDRESS}"
        )
    return bytes.fromhex(address)[::-1]


def encode_frame(address: str, control: int, data: bytes, *, preamble: bytes = PREAMBLE) -> bytes:
    """A whole frame; `data` is given without the 0x33 offset."""
    if len(data) > 255:
        raise ValueError(f"{len(data)} data bytes do not fit one frame; the length byte holds 255")
    body = bytes([START, *encode_address(address), START, control, len(data)])
    body += bytes((b + OFFSET) & 0xFF for b in data)
    return preamble + body + bytes([sum(body) & 0xFF, END])


def read_request(address: str, di: int) -> bytes:
    """The request that reads the data identifier `di` (0x02010100) from the meter `address`."""
    return encode_frame(address, READ, di.to_bytes(4, "little"))


def encode_reply(address: str, di: int, data: bytes, *, follow_up: bool = False) -> bytes:
    """A meter's answer to a read: the DI, then the value bytes (see `encode_value`)."""
    control = _ANSWER | READ | (_FOLLOW_UP if follow_up else 0)
    return encode_frame(address, control, di.to_bytes(4, "little") + data)


def encode_error_reply(address: str, error: int) -> bytes:
    """A meter's refusal of a read, with the error byte (`ERROR_BITS`)."""
    if not 0 <= error <= 0xFF:
        raise ValueError(f"error byte {error!r} must be 0..255 (bits: {ERROR_BITS})")
    return encode_frame(address, _ANSWER | _ERROR | READ, bytes([error]))


def error_text(error: int) -> str:
    """'no requested data', or the set bits' meanings joined: 'other error, tariff count …'."""
    names = [ERROR_BITS.get(bit, f"reserved bit {bit}") for bit in range(8) if error >> bit & 1]
    return ", ".join(names) or "no error bit set"


def parse_frame(raw: bytes) -> Frame:
    """One whole frame. Bytes before the first 68 (the FE wake-up preamble, or a glitch byte
    of a transceiver turning around) are skipped; anything else wrong is a DecodeError."""
    start = raw.find(START)
    if start < 0:
        raise DecodeError(f"no 0x68 start byte in {len(raw)} bytes: {_hex(raw) or 'nothing'}")
    body = raw[start:]
    if len(body) < _MINIMUM:
        raise DecodeError(
            f"frame cut short: {len(body)} bytes from the 0x68 start byte ({_hex(body)}), "
            f"a frame has at least {_MINIMUM}"
        )
    if body[7] != START:
        raise DecodeError(
            f"byte 7 after the start is 0x{body[7]:02X}, not the second 0x68: not a "
            "DL/T 645 frame (another protocol on the line, or a wrong baud rate?)"
        )
    length = body[9]
    if len(body) < _MINIMUM + length:
        raise DecodeError(
            f"frame says {length} data bytes but carries {len(body) - _MINIMUM}: cut short"
        )
    if len(body) > _MINIMUM + length:
        raise DecodeError(
            f"{len(body) - _MINIMUM - length} bytes after the frame of {length} data bytes: "
            f"{_hex(body[_MINIMUM + length :])}"
        )
    if body[-1] != END:
        raise DecodeError(
            f"no 0x16 end byte: 0x{body[-1]:02X} where the frame of {length} data bytes ends"
        )
    checksum = sum(body[:-2]) & 0xFF
    if checksum != body[-2]:
        raise DecodeError(
            f"checksum 0x{checksum:02X}, frame says 0x{body[-2]:02X}: garbled frame (noise on "
            "the line, or a wrong baud rate or parity)"
        )
    return Frame(
        address=body[1:7][::-1].hex().upper(),
        control=body[8],
        data=bytes((b - OFFSET) & 0xFF for b in body[10 : 10 + length]),
    )


def take_frame(buffer: bytearray) -> bytes | None:
    """Remove and return the first whole, intact frame in a received byte stream.

    What comes before it (preambles, noise, frames with a bad checksum or end byte, which a
    meter ignores) is dropped; an incomplete frame stays in `buffer` for more bytes.
    """
    while True:
        start = buffer.find(START)
        if start < 0:
            buffer.clear()
            return None
        del buffer[:start]
        if len(buffer) < 10:
            return None
        if buffer[7] != START:
            del buffer[:1]
            continue
        size = _MINIMUM + buffer[9]
        if len(buffer) < size:
            return None
        frame = bytes(buffer[:size])
        if frame[-1] == END and sum(frame[:-2]) & 0xFF == frame[-2]:
            del buffer[:size]
            return frame
        del buffer[:1]


def decode_reply(frame: Frame, *, address: str, di: int) -> bytes:
    """The value bytes of the answer to reading `di` from `address`.

    DeviceException when the meter refused (its error byte is `.code`), DecodeError when the
    frame is no answer to that request.
    """
    control = frame.control
    if not control & _ANSWER:
        raise DecodeError(
            f"control 0x{control:02X} is a request, not an answer (is the adapter echoing what "
            "it sends?)"
        )
    if control & _FUNCTION != READ:
        raise DecodeError(
            f"control 0x{control:02X} answers function 0x{control & _FUNCTION:02X}, not a read "
            f"(0x{READ:02X})"
        )
    if address.upper() != WILDCARD_ADDRESS and frame.address != address:
        raise DecodeError(
            f"the answer comes from meter address {frame.address}, not {address}: another meter "
            "on the bus answered, or the address in the site file is not the meter's"
        )
    if control & _ERROR:
        if len(frame.data) != 1:
            raise DecodeError(
                f"error answer with {len(frame.data)} data bytes ({_hex(frame.data)}); "
                "it should carry one error byte"
            )
        code = frame.data[0]
        raise DeviceException(
            f"the meter answered with error 0x{code:02X} ({error_text(code)})", code=code
        )
    if len(frame.data) < 4:
        raise DecodeError(
            f"answer with {len(frame.data)} data bytes, fewer than the 4 of a data identifier"
        )
    answered = int.from_bytes(frame.data[:4], "little")
    if answered != di:
        raise DecodeError(f"the answer is for DI {answered:08X}, not the requested {di:08X}")
    return frame.data[4:]


def decode_value(point: Dlt645Point, data: bytes) -> float:
    """The value, in the point's unit, of its BCD data bytes (low byte first)."""
    if len(data) != point.length:
        raise DecodeError(
            f"{point.name}: DI {point.di:08X} in format {point.format} has {point.length} data "
            f"bytes, the meter sent {len(data)} ({_hex(data) or 'none'}); check the format in "
            "the device map"
        )
    digits = bytearray(data[::-1])
    negative = False
    if point.signed and digits:
        negative = bool(digits[0] & 0x80)
        digits[0] &= 0x7F
    text = digits.hex()
    if not text.isdigit():
        raise DecodeError(
            f"{point.name}: data {_hex(data)} (low byte first) are not BCD digits; the meter "
            f"reports no valid value for DI {point.di:08X}"
            + ("" if point.signed else ", or the point is signed and the device map says not")
        )
    # Integer over a power of ten is correctly rounded: 2298 / 10 is exactly the float 229.8.
    scale: int = 10**point.decimals
    value = int(text) / scale
    return -value if negative and value else value


def encode_value(point: Dlt645Point, value: float) -> bytes:
    """The BCD data bytes (low byte first) that carry `value`, given in the point's unit."""
    if isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{point.name}: {value!r} is not a number a meter can send")
    if value < 0 and not point.signed:
        raise ValueError(
            f"{point.name}: {value:g} is negative, but DI {point.di:08X} is unsigned; "
            "mark the point 'signed: true' in the device map"
        )
    scaled = round(abs(value) * 10**point.decimals)
    digits = bytearray.fromhex(f"{scaled:0{point.length * 2}d}"[-point.length * 2 :])
    if scaled >= 10**point.digits or (point.signed and digits[0] & 0x80):
        raise ValueError(
            f"{point.name}: {value:g} does not fit format {point.format}"
            + (" with a sign bit" if point.signed else "")
        )
    if value < 0 and scaled:
        digits[0] |= 0x80
    return bytes(digits[::-1])


class Dlt645Link:
    """The serial line to one meter: writes a request frame, reads one answer frame by length.

    The port opens on first use and stays open; `close()` releases it. Answers are not checked
    here (the device decodes them), so a recording holds the bytes as they arrived.

    Request:   {"op": "read", "di": "02010100", "frame": hex}  (other keys are carried along)

    Response:  {"frame": hex, "at": host time, "delay": s, "host": s}

    Request:   {"op": "frame", "tx": hex}  (sent as it is: the fuzz check's broken frames)
    Response:  {"tx": hex, "rx": hex, "at": host time}  ("rx" empty for silence, or the bytes
               of an answer cut short)

    `delay` is the meter's response delay as the host sees it: from the moment the request's
    last byte has left the host's serial driver (tcdrain) to the moment the answer's first byte
    (the FE preamble) has been read. It includes the first byte's own transmission (4.6 ms at
    2400 bit/s 8E1) and, on a USB adapter, its latency timer (commonly 1-16 ms), so it errs
    long; on the bench's pty both are nil. `host` is how much longer than the line needs the
    host took to send the request (`serial.line_time`): a thread that waits for the processor
    after its write stamps the send late, so the delay may be up to `host` longer than said.
    """

    def __init__(self, name: str, address: DeviceAddress, options: LinkOptions) -> None:
        if address.protocol != "dlt645":
            raise ValueError(f"{name}: {address} is not a dlt645 address")
        if not options.timeout > 0:
            raise ValueError(f"{name}: timeout={options.timeout!r} must be more than 0 s")
        if options.retries < 0:
            raise ValueError(f"{name}: retries={options.retries!r} must be 0 or more")
        self.name = name
        self.address = address
        self.options = options
        self._lock = threading.Lock()
        self._port: SharedPort | None = None
        # DI -> (when (time.time()) a request for it last went unanswered within the timeout,
        # how many such answers may still come): late, each would pass for the answer to a
        # later request for the same DI (a DL/T 645 answer names the DI, not the request). An
        # answer that arrives between requests is one of them come; an answer naming another
        # DI, to a request for that DI, shows that every earlier request has had its answer or
        # never will (a meter answers in order): see `_settle` and `_in_step`.
        self._unanswered: dict[str, tuple[float, int]] = {}

    @property
    def scheme(self) -> str:
        return self.address.scheme

    def __repr__(self) -> str:
        return f"<Dlt645Link {self.name} {self.address}>"

    def transact(self, request: Request, *, explain: Explain | None = None) -> Response:
        if request.get("op") == "frame":
            return self._raw(request)
        frame, doing = self._frame(request)
        where = f"{self.name} at {self.address}"
        timeout = self.options.timeout
        with self._lock:
            shared = self._port or self._share()
            with shared.lock:  # the bus: no other device's request until this one is answered
                port = shared.port
                for _ in range(self.options.retries + 1):
                    try:
                        # A late answer to an earlier request must not pass for this one: what
                        # waits is set aside (a late answer in it is one less to come).
                        self._settle(port.read(port.in_waiting) if port.in_waiting else b"")
                        port.reset_input_buffer()
                        start = time.monotonic()
                        port.write(frame)
                        port.flush()  # tcdrain: the request has left the host
                        sent = time.monotonic()
                        received, complete, first = _receive(port, frame, sent + timeout)
                        di = str(request["di"])
                        unanswered, waiting = self._unanswered.get(di, (None, 0))
                        if not complete:
                            self._unanswered[di] = (time.time(), waiting + 1)
                        elif unanswered is None:  # an answer that can only be this request's
                            self._in_step(di, received)
                    # serial.SerialException is an OSError; termios.error (tcdrain, tcflush on a
                    # line whose other end is gone: EIO) is not.
                    except (OSError, termios.error) as exc:
                        self._drop(broken=True)
                        check = (
                            "the adapter is still plugged in"
                            if self.address.serial
                            else "the serial server is still reachable"
                        )
                        raise DeviceError(
                            f"{where}: the serial port failed while {doing}: {exc}; check {check}"
                        ) from None
                    if complete:
                        delay = round(first - sent, 6)
                        # Time the host took to send beyond the line's own: a thread kept
                        # waiting after the write (a busy machine) stamps `sent` late, and
                        # the true delay may be up to this much longer than `delay`.
                        host = sent - start - line_time(self.address, len(frame))
                        response: dict[str, Any] = {
                            "frame": _hex(received),
                            "at": time.time(),
                            "delay": delay,
                            "host": round(max(host, 0.0), 6),
                        }
                        if unanswered is not None:
                            response["unanswered"] = unanswered
                        return response
                    if received:
                        raise DeviceTimeout(
                            f"incomplete answer from {where} within {timeout:g} s ({doing}): "
                            f"{len(received)} bytes ({_hex(received)}); the meter stopped "
                            "mid-frame: check the wiring, baud rate and parity"
                        )
            tries = f" ({self.options.retries + 1} tries)" if self.options.retries else ""
            raise DeviceTimeout(f"no answer from {where} within {timeout:g} s{tries} ({doing})")

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _settle(self, waiting: bytes) -> None:
        """The answers among `waiting` bytes (set aside before a request) are late answers
        come: one less of each DI's still to come."""
        buffer = bytearray(waiting)
        while (raw := take_frame(buffer)) is not None:
            di = _answered_di(raw, self.address.meter_address)
            if di is not None and di in self._unanswered:
                at, still = self._unanswered.pop(di)
                if still > 1:
                    self._unanswered[di] = (at, still - 1)

    def _in_step(self, di: str, received: bytes) -> None:
        """`received` answered a request for `di`. If it names `di`, every request before it
        has had its answer or never will (a meter answers in order), except the ones for `di`
        itself, which this answer may be: the other DIs' late answers are settled."""
        if _answered_di(received, self.address.meter_address) != di:
            return
        for other in [d for d in self._unanswered if d != di]:
            del self._unanswered[other]

    def _raw(self, request: Request) -> Response:
        """Send `request["tx"]` as it is (the `fuzz` check's malformed frames) and return the
        bytes of the answer within the timeout, whole or not, also none: {"rx": hex, "at"}."""
        frame = bytes.fromhex(str(request["tx"]))
        where = f"{self.name} at {self.address}"
        with self._lock:
            shared = self._port or self._share()
            with shared.lock:
                port = shared.port
                try:
                    port.reset_input_buffer()
                    port.write(frame)
                    port.flush()
                    sent = time.monotonic()
                    received, _, _ = _receive(port, frame, sent + self.options.timeout)
                except (OSError, termios.error) as exc:
                    self._drop(broken=True)
                    raise DeviceError(
                        f"{where}: the serial port failed while sending a raw frame: {exc}"
                    ) from None
        return {"tx": _hex(frame), "rx": _hex(received), "at": time.time()}

    def _frame(self, request: Request) -> tuple[bytes, str]:
        try:
            if request["op"] != "read":
                raise ValueError(f"op {request['op']!r}")
            return bytes.fromhex(request["frame"]), f"reading DI {request['di']}"
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{self.name}: {dict(request)!r} is not a DL/T 645 request ({exc}); "
                "give {'op': 'read', 'di': '02010100', 'frame': '<hex>'}"
            ) from None

    def _share(self) -> SharedPort:
        self._port = share_port(self.address, timeout=self.options.timeout)
        return self._port

    def _drop(self, *, broken: bool = False) -> None:
        if self._port is not None:
            self._port.release(broken=broken)
            self._port = None


def _answered_di(raw: bytes, address: str) -> str | None:
    """The DI (08X) a whole frame from meter `address` answers, or None: another meter's, not
    an answer, a refusal (which names no DI) or not a frame."""
    try:
        frame = parse_frame(raw)
    except DecodeError:
        return None
    if (
        frame.address != address
        or not frame.control & _ANSWER
        or frame.control & _ERROR
        or len(frame.data) < 4
    ):
        return None
    return f"{int.from_bytes(frame.data[:4], 'little'):08X}"


def _clock(at: float) -> str:
    """A host time (time.time()) as HH:MM:SS.sss, local time."""
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{round(at * 1000) % 1000:03d}"


def _receive(port: BusPort, request: bytes, deadline: float) -> tuple[bytes, bool, float]:
    """The bytes of one answer frame, preamble included, whether the frame is whole, and when
    (time.monotonic()) its first byte had been read.

    A whole frame from another address than the one asked is set aside and the wait goes on:
    it is a late answer to an earlier request that timed out (the bus stays busy with it), or
    another meter's. Only when nothing else comes by the deadline is it returned, so that the
    caller can say which meter answered instead."""
    start_at = request.find(START)
    asked = request[start_at + 1 : start_at + 7]
    foreign: tuple[bytes, bool, float] | None = None
    skipped = 0  # whole frames passed over: an echo, another meter's
    received = bytearray()
    first = deadline

    def give_up() -> tuple[bytes, bool, float]:
        if not received and foreign is not None:
            return foreign
        return bytes(received), False, first

    while True:
        if skipped and time.monotonic() > deadline:
            return give_up()  # past the deadline the frame under way is finished, no more
        noise = 0
        while True:  # wake-up preamble (and any noise) up to the start byte
            byte = read_exactly(port, 1, deadline)
            if byte and not received:
                first = time.monotonic()
            received += byte
            if not byte:
                return give_up()
            if byte[0] == START:
                break
            noise += 1
            if noise > _MAX_NOISE:  # a line that streams garbage never ends a read
                return give_up()
        start = len(received) - 1
        header = read_exactly(port, 9, deadline)  # address, 68, control, length
        received += header
        if len(header) < 9:
            return give_up()
        tail = read_exactly(port, header[8] + 2, deadline)  # data, checksum, 16
        received += tail
        if len(tail) < header[8] + 2:
            return give_up()
        if received[start:] == request[start_at:]:
            # RS-485 adapters without automatic echo suppression hand back what was sent.
            received.clear()
            skipped += 1
            continue
        if not _addressed(asked, received[start + 1 : start + 7]):
            foreign = foreign or (bytes(received), True, first)
            received.clear()
            skipped += 1
            continue
        return bytes(received), True, first


# Bytes before a frame's start byte that a read passes over: a wake-up preamble is 4 (FE), line
# noise a few more; past this the line is streaming garbage.
_MAX_NOISE = 256


def _addressed(asked: bytes, answered: bytes | bytearray) -> bool:
    """Whether an answer's address field is one the request asked (AA bytes are wildcards)."""
    return all(a == 0xAA or a == b for a, b in zip(asked, answered, strict=True))


# A timed read whose request the host sent more than TIMING_SLACK late is taken again, up to
# TIMING_ATTEMPTS reads in all (Dlt645Device.timed_reads).
TIMING_SLACK = 0.002  # s
TIMING_ATTEMPTS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Timed:
    """One timed read: the meter's response delay and the answer it gave."""

    di: int
    delay: float  # s, see Dlt645Link
    frame: str  # the answer as received, hex
    refused: str | None  # the meter's error answer, when it refused the read
    # s the true delay may exceed `delay` by: the host's own lateness in sending (Dlt645Link);
    # 0 for a recording made before it was kept.
    uncertainty: float = 0.0


class Dlt645Device(DeviceBase):
    """A DL/T 645-2007 meter, read by logical point name; one request per data identifier."""

    def __init__(
        self,
        name: str,
        address: DeviceAddress,
        devicemap: DeviceMap,
        link: Link,
        options: LinkOptions,
    ) -> None:
        if address.protocol != "dlt645":
            raise ValueError(f"{name}: {address} is not a dlt645 address")
        if devicemap.protocol != "dlt645":
            raise ValueError(
                f"{name}: device map {devicemap.id!r} ({devicemap.path}) is for "
                f"{devicemap.protocol}, not dlt645"
            )
        super().__init__(name, address, devicemap, link, options)
        self._lock = threading.Lock()

    def read_many(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        specs = [self._point(p) for p in points]  # an unknown point is a ValueError, up front
        by_di: dict[int, list[Dlt645Point]] = {}
        for spec in specs:
            group = by_di.setdefault(spec.di, [])
            if spec not in group:
                group.append(spec)
        results: dict[str, Reading | DeviceError] = {}
        silence: DeviceTimeout | None = None
        for di, group in by_di.items():
            if silence is not None:
                # A meter that ignored one read ignores the next: real meters answer an
                # identifier they lack with an error reply (0xD1), so silence means the meter
                # (or the line) is gone, and asking again would cost a timeout per identifier.
                for spec in group:
                    results[spec.name] = DeviceTimeout(
                        f"{spec.name}: DI {di:08X} not asked, the meter was silent earlier in "
                        f"this poll - {silence}"
                    )
                continue
            try:
                response = self._fetch(di, group)
            except DeviceError as exc:
                results.update(dict.fromkeys((s.name for s in group), exc))
                if isinstance(exc, DeviceTimeout) and "no answer from" in str(exc):
                    silence = exc
                continue
            for spec in group:
                try:
                    results[spec.name] = self._decode(spec, response)
                except DeviceError as exc:
                    results[spec.name] = exc
        return {p: results[p] for p in points}

    def minimum_transactions(self, points: Sequence[str]) -> int:
        return len({self._point(p).di for p in points})

    def write(self, point: str, value: pint.Quantity[Any] | bool) -> None:
        raise ValueError(
            f"{self.name} at {self.address}: refusing to write {point}: DL/T 645 meters are "
            "read here, not written (a write needs the meter's password and a programming "
            "key press); check writable points on a Modbus or MQTT device"
        )

    def send_frame(self, frame: bytes) -> tuple[bytes, bytes]:
        """Send `frame` as it is and return it with what came back (b"": silence); counted as
        a probe. For the `fuzz` check: checksums, lengths and identifiers a meter must refuse."""
        request = {"op": "frame", "tx": _hex(frame)}
        self._transactions += 1
        self.probes += 1
        response = self._link.transact(request)
        try:
            return frame, bytes.fromhex(str(response["rx"]))
        except (KeyError, TypeError, ValueError):
            raise DecodeError(
                f"{self.name} at {self.address}: the raw-frame response {dict(response)!r} has "
                "no 'rx' hex; record it again"
            ) from None

    def timed_reads(self, count: int, *, point: str | None = None) -> list[Timed]:
        """Read `point` (default: the device map's first) `count` times, each timed; counted
        as probes. An error answer is timed like any answer; silence, a broken frame or an
        answer from another meter raise DeviceError."""
        if count < 1:
            raise ValueError(f"count={count} must be at least 1")
        name = point or next(iter(self.devicemap.points))
        spec = self._point(name)
        where = f"{self.name} at {self.address} (DI {spec.di:08X})"
        timed: list[Timed] = []
        stepped = False  # a read of another DI was tried to bring the line in step (once)
        stuck: str | None = None  # why that read did not
        for _ in range(count):
            # A read the host sent late is taken again (up to TIMING_ATTEMPTS in all) and the
            # best-timed one kept: a busy machine, not the meter, must not decide a delay.
            best: tuple[bytes, float, float] | None = None
            attempts = 0
            while attempts < TIMING_ATTEMPTS:
                attempts += 1
                response = self._timing_read(spec.di)
                try:
                    raw, delay = bytes.fromhex(response["frame"]), float(response["delay"])
                    host = float(response.get("host", 0.0))
                except (KeyError, TypeError, ValueError):
                    raise DecodeError(
                        f"{where}: the response {dict(response)!r} has no 'frame' hex and "
                        "'delay' time (a recording made before response times were kept?); "
                        "record it again"
                    ) from None
                unanswered = response.get("unanswered")
                if unanswered is not None:
                    # Never a delay timed on an answer that may be another request's. (A read
                    # of the DI timed out, perhaps long ago in the run on a stall or a noisy
                    # line.) An answer naming another DI to a read of it shows the line in
                    # step: every earlier answer has come or never will; then time again.
                    if not stepped:
                        stepped = True
                        stuck = self._step(spec)
                        if stuck is None:
                            attempts -= 1
                            continue
                    raise DeviceError(
                        f"{where}: cannot be timed: a read of the same DI at "
                        f"{_clock(float(unanswered))} got no answer within the link's timeout, "
                        "and its answer, coming late, would pass for this read's; the meter "
                        f"answers late or not at all{stuck or ''}"
                    )
                if best is None or host < best[2]:
                    best = (raw, delay, host)
                if host <= TIMING_SLACK:
                    break
            assert best is not None
            raw, delay, host = best
            refused: str | None = None
            try:
                decode_reply(parse_frame(raw), address=self.address.meter_address, di=spec.di)
            except DeviceException as exc:
                refused = str(exc)
            except DecodeError as exc:
                raise DecodeError(f"{where}: {exc}") from None
            timed.append(
                Timed(di=spec.di, delay=delay, frame=_hex(raw), refused=refused, uncertainty=host)
            )
        return timed

    def _step(self, timed: Dlt645Point) -> str | None:
        """Read a DI other than `timed`'s, to show the line in step (Dlt645Link._in_step): None
        when it answered with that DI, else why not (said after the timed read's error)."""
        other = next(
            (
                p
                for p in self.devicemap.points.values()
                if isinstance(p, Dlt645Point) and p.di != timed.di
            ),
            None,
        )
        if other is None:
            return " (the device map has no other DI to bring the line in step with)"
        try:
            response = self._timing_read(other.di)
            if response.get("unanswered") is not None:
                return f" (and DI {other.di:08X}, read to bring the line in step, is in doubt too)"
            frame = parse_frame(bytes.fromhex(str(response["frame"])))
            decode_reply(frame, address=self.address.meter_address, di=other.di)
        except (DeviceError, KeyError, TypeError, ValueError) as exc:
            return f" (a read of DI {other.di:08X} to bring the line in step got: {exc})"
        return None

    def _timing_read(self, di: int) -> Response:
        """One read of `di` for the response-time probe, counted as a probe."""
        request = {
            "op": "read",
            "di": f"{di:08X}",
            "frame": _hex(read_request(self.address.meter_address, di)),
            "probe": "response_time",
        }
        with self._lock:
            self._transactions += 1
            self.probes += 1
        return self._link.transact(request)

    # -- internals ------------------------------------------------------------------------

    def _point(self, name: str) -> Dlt645Point:
        try:
            spec = self.devicemap.point(name)
        except ValueError as exc:
            raise ValueError(f"{self.name} at {self.address}: {exc}") from None
        if not isinstance(spec, Dlt645Point):  # pragma: no cover - loaders keep one protocol
            raise TypeError(f"{name} in {self.devicemap.path} is not a DL/T 645 point")
        return spec

    def _fetch(self, di: int, group: Sequence[Dlt645Point]) -> Response:
        request = {
            "op": "read",
            "di": f"{di:08X}",
            "frame": _hex(read_request(self.address.meter_address, di)),
        }

        def explain(response: Response) -> dict[str, str]:
            shown: dict[str, str] = {}
            for spec in group:
                try:
                    reading = self._decode(spec, response)
                except Exception as exc:  # an explanation never fails the read it explains
                    shown[spec.name] = f"undecodable: {exc}"
                else:
                    value = reading.value
                    shown[spec.name] = (
                        format_quantity(value, digits=spec.digits)
                        if isinstance(value, pint.Quantity)
                        else str(value)
                    )
            return shown

        with self._lock:
            self._transactions += 1
        try:
            response: Response = self._link.transact(request, explain=explain)
        except DeviceError as exc:
            raise _for_points(exc, group) from None
        return response

    def _decode(self, spec: Dlt645Point, response: Response) -> Reading:
        where = f"{spec.name}: {self.name} at {self.address} (DI {spec.di:08X})"
        try:
            raw = bytes.fromhex(response["frame"])
            at = float(response["at"])
        except (KeyError, TypeError, ValueError):
            raise DecodeError(
                f"{where}: the response {dict(response)!r} has no 'frame' hex and 'at' time; "
                "record it again"
            ) from None
        try:
            frame = parse_frame(raw)
            data = decode_reply(frame, address=self.address.meter_address, di=spec.di)
            value = decode_value(spec, data)
        except DeviceException as exc:
            fix = (
                f"; the meter has no DI {spec.di:08X}: check the point in {self.devicemap.path}"
                if exc.code & _NO_DATA
                else ""
            )
            raise DeviceException(f"{where}: {exc}{fix}", code=exc.code) from None
        except DecodeError as exc:
            raise DecodeError(f"{where}: {exc}") from None
        return Reading(
            point=spec.name,
            value=ureg.Quantity(value, spec.unit),
            at=at,
            source=self.source,
        )


def _for_points(exc: DeviceError, group: Sequence[Dlt645Point]) -> DeviceError:
    """The same error, its message starting with the points that could not be read."""
    message = f"{', '.join(s.name for s in group)}: {exc}"
    if isinstance(exc, DeviceException):
        return DeviceException(message, code=exc.code)
    if isinstance(exc, DeviceTimeout | DeviceRefused | DecodeError):
        return type(exc)(message)
    return DeviceError(message)
