"""Serial ports: the pyserial adapter, the only module outside pymodbus that imports `serial`.

Ports are opened with `exclusive=True` (an advisory flock), as pymodbus does: two processes
talking on one RS-485 bus at once garble each other's frames, so the second one should fail at
open with a message that names the first. Inside one process, the devices on one bus (several
meters on one adapter) share the open port through `share_port`, one request at a time.

A pty (the bench's serial lines) has no parity and no character size: Linux drops PARENB and CS7
from its settings, and a tcsetattr() that then changes nothing else fails with EINVAL (seen on
6.18). pyserial calls tcsetattr() at open and again whenever `.timeout` is assigned, so on a pty
ports are opened 8N1, and deadlines are kept with poll() on the descriptor (POSIX only), never
by assigning `.timeout`.

A serial server's bus (`dlt645-tcp`) is its TCP connection (`ServerPort`), not pyserial's
socket:// port: that one sleeps 0.3 s in every close() and waits with select(), which fails past
descriptor 1023 - a district run closes a line per pole and holds many descriptors.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import socket
import struct
import termios
import threading
import time
from pathlib import Path

import serial

from ycsa_conform.errors import DeviceRefused

from .address import DeviceAddress

__all__ = [
    "BusPort",
    "Port",
    "ServerPort",
    "SharedPort",
    "bus_identity",
    "line_time",
    "open_bus",
    "open_port",
    "read_exactly",
    "share_port",
]

Port = serial.Serial

_STOPBITS = {1: serial.STOPBITS_ONE, 2: serial.STOPBITS_TWO}
_PTY_MAJORS = range(136, 144)  # Linux Unix98 pty slaves, /dev/pts/N
_IN_USE = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EBUSY)


def open_port(address: DeviceAddress, *, timeout: float | None) -> Port:
    """Open the serial port `address.path` with the URI's line settings; DeviceRefused says why
    it cannot be.

    `timeout` is pyserial's for plain `read()` (None: block until `cancel_read()`).
    """
    parity, bytesize = line_settings(address)
    try:
        return serial.serial_for_url(
            address.path,
            baudrate=address.baud,
            parity=parity,
            stopbits=_STOPBITS[address.stopbits],
            bytesize=bytesize,
            timeout=timeout,
            exclusive=True,
        )
    except (serial.SerialException, OSError) as exc:
        raise DeviceRefused(_refusal(address, exc)) from None


class ServerPort:
    """A serial server's bus as a port: its TCP connection, in the server's raw TCP mode (the
    server keeps the line settings). It has what the transports use of a pyserial port:
    `write`, `flush`, `read`, `in_waiting`, `reset_input_buffer`, `fileno`, `close`."""

    def __init__(self, address: DeviceAddress, *, timeout: float | None) -> None:
        host, _, port = (address.bus or "").rpartition(":")
        self.name = f"tcp:{address.bus}"
        try:
            self._socket = socket.create_connection((host, int(port)), timeout=timeout or 5.0)
        except (OSError, ValueError) as exc:
            raise DeviceRefused(
                f"cannot connect to the serial server at {address.bus} for {address}: {exc}; "
                "check its address and port, and that it is in TCP server mode"
            ) from None
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def fileno(self) -> int:
        return self._socket.fileno()

    def write(self, data: bytes) -> int:
        self._socket.sendall(data)
        return len(data)

    def flush(self) -> None:
        """Nothing to wait for: the bytes are the kernel's once written."""

    @property
    def in_waiting(self) -> int:
        waiting = fcntl.ioctl(self._socket.fileno(), termios.FIONREAD, b"\0\0\0\0")
        count: int = struct.unpack("i", waiting)[0]
        return count

    def read(self, count: int) -> bytes:
        """Up to `count` bytes waiting (call when poll() says readable); the server closing
        the connection raises."""
        data = self._socket.recv(count)
        if not data:
            raise ConnectionError("the serial server closed the connection")
        return data

    def reset_input_buffer(self) -> None:
        """Drop what the server sent and nobody read (a late answer)."""
        poller = select.poll()
        poller.register(self._socket.fileno(), select.POLLIN)
        while poller.poll(0):
            self.read(4096)

    def close(self) -> None:
        self._socket.close()


BusPort = Port | ServerPort


def open_bus(address: DeviceAddress, *, timeout: float | None) -> BusPort:
    """The bus of `address`: its serial port, or its serial server's TCP connection."""
    if address.serial:
        return open_port(address, timeout=timeout)
    return ServerPort(address, timeout=timeout)


class SharedPort:
    """An open port and the lock that gives one device at a time the bus (hold it from a
    request to its answer). Get one with `share_port`; `release()` when done."""

    def __init__(self, key: str, settings: tuple[int, str, int, int], port: BusPort) -> None:
        self.key = key
        self.settings = settings
        self.port = port
        self.lock = threading.Lock()
        self.users = 0

    def release(self, *, broken: bool = False) -> None:
        """Done with the port; `broken=True` closes it for every user (the next share reopens)."""
        with _SHARED_LOCK:
            self.users -= 1
            if not (broken or self.users <= 0):
                return
            if _SHARED.get(self.key) is self:
                del _SHARED[self.key]
        # Closed outside the lock: closing a port may take a while (pyserial drains a serial
        # line), and the other buses' devices open and close theirs meanwhile. An unplugged
        # adapter fails on close too; there is nothing left to release then.
        with contextlib.suppress(OSError):
            self.port.close()


# Ports open in this process, by real path: the flock of an exclusive open is per open file, so
# a second open of the same bus in this process would be refused as if another process held it.
_SHARED: dict[str, SharedPort] = {}
_SHARED_LOCK = threading.Lock()


def bus_identity(address: DeviceAddress) -> tuple[str, tuple[int, str, int, int]]:
    """The key of the bus `address` is on, and the line settings every device on it must
    share: a port by its real path (a pty's link and its /dev/pts name are one bus), a serial
    server by HOST:PORT (its line settings are its own configuration)."""
    if address.serial:
        key = os.path.realpath(address.path)
        return key, (address.baud, address.parity, address.stopbits, address.bytesize)
    return f"tcp:{address.bus}", (0, "", 0, 0)


def share_port(address: DeviceAddress, *, timeout: float | None) -> SharedPort:
    """The port of `address`, opened by the first device on the bus and shared with the rest."""
    key, settings = bus_identity(address)
    with _SHARED_LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            shared = SharedPort(key, settings, open_bus(address, timeout=timeout))
            _SHARED[key] = shared
        elif shared.settings != settings:
            baud, parity, stopbits, bytesize = shared.settings
            raise DeviceRefused(
                f"cannot open {address.path} for {address}: another device on this bus has it "
                f"open at baud={baud}&parity={parity}&stopbits={stopbits}&bytesize={bytesize}; "
                "devices on one bus need the same line settings in their URIs"
            )
        shared.users += 1
        return shared


def read_exactly(port: BusPort, count: int, deadline: float) -> bytes:
    """Up to `count` bytes, fewer only when the monotonic `deadline` passes first.

    Bytes already waiting are taken even past the deadline: a thread that was not scheduled
    for a while (a busy machine, the cycle collector) wakes after it with the whole answer in
    the buffer, and must not call that answer incomplete."""
    data = bytearray()
    while len(data) < count:
        remaining = max(0.0, deadline - time.monotonic())  # 0: only what is already there
        # poll(), not select(): with many devices open, descriptors pass FD_SETSIZE (1024).
        poller = select.poll()
        poller.register(port.fileno(), select.POLLIN)
        ready = poller.poll(remaining * 1000)
        if not ready:
            break
        # At least one byte is waiting, so this read returns at once; a port that reports
        # readiness but has no data (unplugged) makes pyserial raise SerialException.
        data += port.read(max(1, min(port.in_waiting, count - len(data))))
    return bytes(data)


def line_settings(address: DeviceAddress) -> tuple[str, int]:
    """The parity and character size to open `address` with: the URI's, or 8N on a pty,
    which cannot keep any other (see the module's docstring)."""
    if _is_pty(address.path):
        return serial.PARITY_NONE, serial.EIGHTBITS
    return address.parity, address.bytesize


def line_time(address: DeviceAddress, nbytes: int) -> float:
    """Seconds `nbytes` take on the line at the URI's settings, where the host's write waits
    for them (a real serial port's tcdrain); 0 on a pseudo-terminal, whose bytes do not wait
    for the baud rate, and on a serial server, whose write returns once the bytes are sent
    over TCP."""
    if not address.serial or _is_pty(address.path):
        return 0.0
    parity = 0 if address.parity == "N" else 1
    bits = 1 + address.bytesize + parity + address.stopbits  # start, data, parity, stop
    return nbytes * bits / address.baud


def _is_pty(path: str) -> bool:
    try:
        device = os.stat(path).st_rdev
    except OSError:
        return False  # open() says why
    return os.major(device) in _PTY_MAJORS


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
        holder = _holder(path)
        if holder.endswith(", this process"):
            return (
                f"{where}: {path} is already open in this process ({holder}), by the bench or "
                "by a device of another protocol on the same path; give it a port of its own"
            )
        return (
            f"{where}: {path} is in use by another process ({holder}); close it or run "
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
