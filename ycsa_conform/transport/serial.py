"""Serial ports: the pyserial adapter, the only module outside pymodbus that imports `serial`.

Ports are opened with `exclusive=True` (an advisory flock), as pymodbus does: two processes
talking on one RS-485 bus at once garble each other's frames, so the second one should fail at
open with a message that names the first.

Line settings are applied once, at open, and never changed afterwards: a Linux pty (6.x) drops
PARENB silently when a port is opened with parity E or O, and then refuses with EINVAL any
tcsetattr that asks for it again, which pyserial does whenever `.timeout` is assigned. So
deadlines are kept with select() on the port's descriptor (POSIX only), not with `.timeout`.
"""

from __future__ import annotations

import errno
import os
import select
import time
from pathlib import Path

import serial

from ycsa_conform.errors import DeviceRefused

from .address import DeviceAddress

__all__ = ["Port", "open_port", "read_exactly"]

Port = serial.Serial

_STOPBITS = {1: serial.STOPBITS_ONE, 2: serial.STOPBITS_TWO}
_IN_USE = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY)


def open_port(address: DeviceAddress, *, timeout: float | None) -> Port:
    """Open `address.path` with the URI's line settings; DeviceRefused says why it cannot be.

    `timeout` is pyserial's for plain `read()` (None: block until `cancel_read()`).
    """
    try:
        return serial.serial_for_url(
            address.path,
            baudrate=address.baud,
            parity=address.parity,
            stopbits=_STOPBITS[address.stopbits],
            bytesize=address.bytesize,
            timeout=timeout,
            exclusive=True,
        )
    except (serial.SerialException, OSError) as exc:
        raise DeviceRefused(_refusal(address, exc)) from None


def read_exactly(port: Port, count: int, deadline: float) -> bytes:
    """Up to `count` bytes, fewer only when the monotonic `deadline` passes first."""
    data = bytearray()
    while len(data) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([port.fileno()], [], [], remaining)
        if not ready:
            break
        # At least one byte is waiting, so this read returns at once; a port that reports
        # readiness but has no data (unplugged) makes pyserial raise SerialException.
        data += port.read(max(1, min(port.in_waiting, count - len(data))))
    return bytes(data)


def _refusal(address: DeviceAddress, exc: BaseException) -> str:
    path = address.path
    where = f"cannot open {path} for {address}"
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT or not os.path.exists(path):
        return (
            f"{where}: {path} does not exist; check the adapter is plugged in and the path "
            "in the site file"
        )
    if code in _IN_USE:
        return (
            f"{where}: {path} is in use by another process ({_holder(path)}); close it or run "
            "without -n (parallel workers cannot share a serial port)"
        )
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"{where}: permission denied; add your user to the dialout group "
            "(sudo usermod -aG dialout $USER, then log in again)"
        )
    if "configure" in str(exc):
        # pyserial's message when tcgetattr fails: the path exists but is no terminal.
        return f"{where}: {path} is not a serial port ({exc}); give the adapter's tty path"
    return f"{where}: {exc}"


def _holder(path: str) -> str:
    """Who holds the flock on `path`, from /proc/locks (Linux); a plain reason elsewhere."""
    try:
        status = os.stat(path)
        locks = Path("/proc/locks").read_text(encoding="ascii")
    except OSError:
        return "it holds an exclusive lock"
    # /proc/locks: "1: FLOCK  ADVISORY  WRITE 4242 00:19:5 0 EOF" (pid, major:minor:inode).
    device = f"{os.major(status.st_dev):02x}:{os.minor(status.st_dev):02x}:{status.st_ino}"
    for line in locks.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
            pid = fields[4]
            try:
                command = Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()
            except OSError:
                return f"pid {pid}"
            own = ", this process" if pid == str(os.getpid()) else ""
            return f"pid {pid} {command}{own}"
    return "it holds an exclusive lock"
