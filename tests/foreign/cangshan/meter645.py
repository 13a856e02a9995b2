"""Xishan DDZY-88 single-phase meter: DL/T 645-2007 on its own RS-485 line (a pty here).

Frames (DL/T 645-2007 §4), written here from the standard, not from ycsa_conform's codec:

    [FE ...] 68 A0 A1 A2 A3 A4 A5 68 C L DATA CS 16

A0..A5 the 12-digit address in BCD, lowest two digits first; C the control code (0x11 read,
0x91 normal answer, 0xD1 error answer); L the data length; every DATA byte is sent plus 0x33
(mod 256); CS the sum mod 256 of every byte from the first 68 to the last DATA byte. A read
carries the 4-byte data identifier DI0 first; the answer repeats it and adds the value, BCD,
low byte first, the top bit of the highest byte a sign where the item is signed.

This meter's own ways, all inside the standard: it answers 120 ms after a request (the standard
allows 20..500 ms); it prefixes every answer with two FE wake-up bytes; it answers the wildcard
address AAAAAAAAAAAA with its own address; and a data identifier it does not keep gets an error
answer with error byte 0x02 (no requested data). It stays silent on a frame whose checksum is
wrong or that is addressed to another meter.
"""

from __future__ import annotations

import threading
import time

import serial

from cangshan.physics import Pole, Reading

__all__ = ["ADDRESS", "DATA_ITEMS", "Meter", "bcd", "frame"]

ADDRESS = "310520260117"
WILDCARD = "AAAAAAAAAAAA"
ANSWER_DELAY = 0.120  # s
PREAMBLE = b"\xfe\xfe"


def _voltage(r: Reading) -> float:
    return r.settings.meter_voltage


def _current(r: Reading) -> float:
    return r.meter_current


def _power_kw(r: Reading) -> float:
    return r.meter_power / 1000


def _power_factor(r: Reading) -> float:
    return r.meter_pf


def _frequency(r: Reading) -> float:
    return r.settings.frequency


def _energy(r: Reading) -> float:
    return r.settings.meter_energy


# DI -> (digits, decimals, signed, value): DL/T 645-2007 Annex A formats.
DATA_ITEMS = {
    0x02010100: (4, 1, False, _voltage),  # phase A voltage XXX.X V
    0x02020100: (6, 3, True, _current),  # phase A current XXX.XXX A
    0x02030000: (6, 4, True, _power_kw),  # total active power XX.XXXX kW
    0x02060000: (4, 3, True, _power_factor),  # total power factor X.XXX
    0x02800002: (4, 2, False, _frequency),  # grid frequency XX.XX Hz
    0x00010000: (8, 2, False, _energy),  # forward active energy total XXXXXX.XX kWh
}


def bcd(value: float, digits: int, decimals: int, *, signed: bool) -> bytes:
    """`value` as packed BCD, low byte first; a signed item's sign is the top bit."""
    scaled = round(abs(value) * 10**decimals)
    text = f"{scaled:0{digits}d}"
    if len(text) > digits:
        raise ValueError(f"{value} does not fit {digits} digits")
    data = bytearray(int(text[k : k + 2], 16) for k in range(0, digits, 2))
    if signed and value < 0:
        data[0] |= 0x80
    return bytes(reversed(data))


def _address_bytes(address: str) -> bytes:
    return bytes(int(address[k : k + 2], 16) for k in range(10, -1, -2))


def frame(address: str, control: int, data: bytes) -> bytes:
    """A whole frame with the +0x33 data, checksum and end byte (without preamble)."""
    body = (
        b"\x68"
        + _address_bytes(address)
        + b"\x68"
        + bytes([control, len(data)])
        + bytes((b + 0x33) & 0xFF for b in data)
    )
    return body + bytes([sum(body) & 0xFF, 0x16])


class Meter:
    """Answers reads on `port` (the meter's end of a pty pair) from a thread of its own."""

    def __init__(self, pole: Pole, *, port: str, address: str = ADDRESS) -> None:
        self.pole = pole
        self.address = address
        # 2400 8E1 on the wire; a pty has no parity (Linux refuses PARENB there), so 8N1.
        self._serial = serial.Serial(port, baudrate=2400, timeout=0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.requests = 0

    def start(self) -> Meter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._serial.close()

    def _serve(self) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            try:
                chunk = self._serial.read(64)
            except (OSError, serial.SerialException):
                return
            buffer += chunk
            while True:
                request = _take_frame(buffer)
                if request is None:
                    break
                answer = self._answer(request)
                if answer is not None:
                    time.sleep(ANSWER_DELAY)
                    self._serial.write(PREAMBLE + answer)
                    self._serial.flush()

    def _answer(self, request: bytes) -> bytes | None:
        address = "".join(f"{b:02X}" for b in reversed(request[1:7]))
        if address not in (self.address, WILDCARD):
            return None
        control, length = request[8], request[9]
        data = bytes((b - 0x33) & 0xFF for b in request[10 : 10 + length])
        if control != 0x11 or length != 4:
            return frame(self.address, 0xD1, b"\x04")  # 0x04: password error / unauthorised
        self.requests += 1
        di = int.from_bytes(data, "little")
        item = DATA_ITEMS.get(di)
        if item is None:
            return frame(self.address, 0xD1, b"\x02")  # no requested data
        digits, decimals, signed, value = item
        payload = bcd(value(self.pole.read()), digits, decimals, signed=signed)
        return frame(self.address, 0x91, data + payload)


def _take_frame(buffer: bytearray) -> bytes | None:
    """The first well-formed frame in `buffer` (removed with what precedes it), else None.

    Bytes before a start byte are wake-up bytes or noise and are dropped; a frame whose
    checksum or end byte is wrong is dropped too (the meter does not answer it)."""
    while buffer:
        start = buffer.find(0x68)
        if start < 0:
            buffer.clear()
            return None
        del buffer[:start]
        if len(buffer) < 10:
            return None
        if buffer[7] != 0x68:
            del buffer[0]
            continue
        total = 12 + buffer[9]
        if len(buffer) < total:
            return None
        candidate = bytes(buffer[:total])
        if candidate[-1] != 0x16 or sum(candidate[:-2]) & 0xFF != candidate[-2]:
            del buffer[0]
            continue
        del buffer[:total]
        return candidate
    return None
