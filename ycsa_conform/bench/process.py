"""A bench served by a child process (`ycsa-conform bench NAME`), for fleets.

A 50-pole bench holds about 800 descriptors (sockets, ptys, pyserial's abort pipes). In the
process that also opens the clients, serial descriptors then pass FD_SETSIZE (1024), and
pyserial's select() fails on them. So a fleet runs in its own process, exactly as a vendor runs
the standalone bench, and the run reads the site file it writes.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from .lifeline import die_with_parent

__all__ = ["RemoteBench"]

_READY_TIMEOUT = 600.0  # s: a 1,000-pole bench connects 1,000 gateways to its broker
_STOP_TIMEOUT = 15.0  # s


class RemoteBench:
    """The same face as `Bench` where a run needs it: name, faults, poles, endpoints, site."""

    def __init__(self, process: subprocess.Popen[str], ready: dict[str, Any], folder: Any):
        self._process = process
        self._folder = folder
        self.name: str = ready["bench"]
        self.faults: tuple[str, ...] = tuple(ready["faults"])
        self.poles: list[dict[str, str]] = ready["poles"]
        self.endpoints: dict[str, str] = ready["endpoints"]
        self.site_path = Path(ready["site"])
        self.site_text = self.site_path.read_text(encoding="utf-8")

    @classmethod
    def start(cls, name: str, *, faults: Sequence[str] = (), poles: int = 1) -> RemoteBench:
        from .fault import resolve_faults

        resolve_faults(faults)  # an unknown fault is refused here, before a process starts
        folder = tempfile.TemporaryDirectory(prefix="ycsa-fleet-")
        command = [sys.executable, "-m", "ycsa_conform", "bench", name, "--poles", str(poles)]
        command += [arg for fault in faults for arg in ("--fault", fault)]
        command += ["--site-file", str(Path(folder.name) / "site.yaml")]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent(),  # runs only prctl and getppid
        )
        line = _first_line(process)
        if not line:
            error = process.stderr.read() if process.stderr else ""
            process.kill()
            process.wait(_STOP_TIMEOUT)
            folder.cleanup()
            last = (
                error.strip().splitlines()[-1]
                if error.strip()
                else "the bench process said nothing"
            )
            raise ValueError(last.removeprefix("ycsa-conform bench: "))
        return cls(process, json.loads(line), folder)

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(_STOP_TIMEOUT)
        self._folder.cleanup()

    def __enter__(self) -> RemoteBench:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _first_line(process: subprocess.Popen[str]) -> str:
    """The ready line, or "" when the process ends or stays silent past the timeout."""
    result: list[str] = []
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(_READY_TIMEOUT)
    return result[0] if result else ""
