"""A connected pair of serial pseudo-terminals: a null-modem cable with a path at each end.

    with PtyPair.open() as pty:
        pty.device_path   # what a client opens, as it would open /dev/ttyUSB0
        pty.bench_path    # what the simulated device opens

Two ways to build one, with the same behaviour seen from either end:

    socat    `socat pty,raw,echo=0,link=DIR/ttyA pty,raw,echo=0,link=DIR/ttyB`: stable link
             names in DIR; a separate process, killed on close and at exit
    python   two `os.openpty()` pairs and a daemon thread copying bytes between the masters;
             needs nothing installed (the paths are /dev/pts/N)

Both ends stay usable when a client closes and reopens its end (socat 1.7.4 keeps its ptys; the
python bridge holds the slave ends open, because reading a master whose slave has no open file
fails with EIO). Neither end emulates baud rate or parity: bytes arrive at once.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import tempfile
import threading
import time
import tty
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from .lifeline import die_with_parent

__all__ = ["PtyPair"]

Method = Literal["socat", "python"]

_SOCAT_START_TIMEOUT = 5.0  # s for socat to create both links
_BRIDGE_CHUNK = 4096
# Bytes held for an end that nobody reads; beyond this the bridge stops reading the other end,
# so the writer blocks as on a line with flow control instead of bytes being lost.
_BRIDGE_BACKLOG = 65536


class PtyPair:
    """Build with `PtyPair.open()`; `close()` may be called any number of times."""

    def __init__(
        self,
        *,
        device_path: str,
        bench_path: str,
        method: Method,
        closer: Callable[..., None],
        args: tuple[object, ...],
    ) -> None:
        self.device_path = device_path
        self.bench_path = bench_path
        self.method: Method = method
        # Runs at close(), when the pair is garbage-collected, or at interpreter exit, whichever
        # comes first: no socat outlives the session. `closer` must not refer to the pair.
        self._finalizer = weakref.finalize(self, closer, *args)

    @classmethod
    def open(cls, directory: Path | None = None, *, prefer: Method | None = None) -> PtyPair:
        """A new pair: socat when installed (links ttyA, ttyB in `directory`), else python.

        `prefer` forces one method; `directory` is used by socat only (default: a new temporary
        directory, removed on close).
        """
        if prefer not in (None, "socat", "python"):
            raise ValueError(f"prefer={prefer!r}: use 'socat', 'python' or None (socat if found)")
        socat = shutil.which("socat")
        if prefer == "socat" and socat is None:
            raise FileNotFoundError(
                "prefer='socat' but socat is not on PATH; install it (apt install socat) or "
                "use prefer='python'"
            )
        if socat is not None and prefer != "python":
            return cls._open_socat(socat, directory)
        return cls._open_python()

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = " closed" if self.closed else ""
        return f"<PtyPair {self.method} {self.device_path} <-> {self.bench_path}{state}>"

    # -- socat ----------------------------------------------------------------------------

    @classmethod
    def _open_socat(cls, socat: str, directory: Path | None) -> PtyPair:
        made = directory is None
        folder = Path(tempfile.mkdtemp(prefix="ycsa-pty-")) if directory is None else directory
        links = (folder / "ttyA", folder / "ttyB")
        for link in links:
            # A link left by a socat that was killed with SIGKILL would look ready at once.
            if link.is_symlink():
                link.unlink()
            elif link.exists():
                raise FileExistsError(
                    f"{link} exists and is not a pty link; remove it or give another directory"
                )
        # socat's log goes to a file, not a pipe: a pipe nobody reads would block socat once
        # full, and the log is needed only to explain a failed start.
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _stop_socat
        try:
            process = subprocess.Popen(
                [
                    socat,
                    "-d",
                    "-d",
                    f"pty,raw,echo=0,link={links[0]}",
                    f"pty,raw,echo=0,link={links[1]}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                preexec_fn=die_with_parent(),  # runs only prctl and getppid
            )
        except BaseException:
            log.close()
            if made:
                shutil.rmtree(folder, ignore_errors=True)
            raise
        try:
            deadline = time.monotonic() + _SOCAT_START_TIMEOUT
            while not all(link.is_symlink() for link in links):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise OSError(_socat_failure(process, log, links, folder))
                time.sleep(0.01)
        except BaseException:
            _stop_socat(process, log, links, folder if made else None)
            raise
        return cls(
            device_path=str(links[0]),
            bench_path=str(links[1]),
            method="socat",
            closer=_stop_socat,
            args=(process, log, links, folder if made else None),
        )

    # -- python ---------------------------------------------------------------------------

    @classmethod
    def _open_python(cls) -> PtyPair:
        bridge = _Bridge()
        return cls(
            device_path=os.ttyname(bridge.slaves[0]),
            bench_path=os.ttyname(bridge.slaves[1]),
            method="python",
            closer=bridge.close,
            args=(),
        )


def _socat_failure(
    process: subprocess.Popen[bytes], log: IO[bytes], links: tuple[Path, ...], folder: Path
) -> str:
    """Why socat did not start, from its exit status and its log."""
    status = process.poll()
    _terminate(process)
    log.seek(0)
    said = " ".join(log.read().decode(errors="replace").split()) or "no output"
    state = (
        f"exited with status {status}"
        if status is not None
        else f"did not create {links[0]} and {links[1]} within {_SOCAT_START_TIMEOUT:g} s"
    )
    return (
        f"socat {state} ({said}); check that {folder} is writable, or use "
        "PtyPair.open(prefer='python')"
    )


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop_socat(
    process: subprocess.Popen[bytes],
    log: IO[bytes],
    links: tuple[Path, ...],
    folder: Path | None,
) -> None:
    """Terminate socat (then kill it), and remove what it left behind."""
    _terminate(process)
    # socat removes its links on SIGTERM, not when killed.
    for link in links:
        if link.is_symlink():
            link.unlink(missing_ok=True)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    log.close()


class _Bridge:
    """Two pty pairs whose masters a daemon thread joins. Holds no reference to its PtyPair,
    so that the pair's finalizer can run while the thread is alive."""

    def __init__(self) -> None:
        master_a, slave_a = os.openpty()
        master_b, slave_b = os.openpty()
        self.masters = (master_a, master_b)
        self.slaves = (slave_a, slave_b)
        for slave in self.slaves:
            # raw: no line editing, no CR/LF translation, no signals; setraw also clears ECHO,
            # which would otherwise send every request straight back to its writer.
            tty.setraw(slave)
        for master in self.masters:
            os.set_blocking(master, False)
        self._stop_read, self._stop_write = os.pipe()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._shuttle, name="pty-bridge", daemon=True)
        self._thread.start()

    def _shuttle(self) -> None:
        peer = {self.masters[0]: self.masters[1], self.masters[1]: self.masters[0]}
        pending = {master: bytearray() for master in self.masters}  # waiting to be written to it
        while True:
            readers = [self._stop_read]
            readers += [m for m in self.masters if len(pending[peer[m]]) < _BRIDGE_BACKLOG]
            writers = [m for m in self.masters if pending[m]]
            # poll(), not select(): a fleet bench holds more than FD_SETSIZE (1024) descriptors.
            poller = select.poll()
            for fd in readers:
                poller.register(fd, select.POLLIN | (select.POLLOUT if fd in writers else 0))
            for fd in writers:
                if fd not in readers:
                    poller.register(fd, select.POLLOUT)
            events = poller.poll()
            ready_read = [fd for fd, e in events if e & (select.POLLIN | select.POLLHUP)]
            ready_write = [fd for fd, e in events if e & select.POLLOUT]
            if self._stop_read in ready_read:
                return
            for master in ready_read:
                try:
                    pending[peer[master]] += os.read(master, _BRIDGE_CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    # EIO means no slave file is open; the bridge holds both, so this is a pty
                    # torn down under us. Stop rather than spin on it.
                    return
            for master in ready_write:
                try:
                    written = os.write(master, pending[master])
                except BlockingIOError:
                    continue
                except OSError:
                    return
                del pending[master][:written]

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        os.write(self._stop_write, b"x")
        self._thread.join(timeout=2.0)
        for fd in (*self.masters, *self.slaves, self._stop_read, self._stop_write):
            with contextlib.suppress(OSError):
                os.close(fd)
