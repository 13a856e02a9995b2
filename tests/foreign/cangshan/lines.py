"""RS-485 lines: a socat pseudo-terminal pair per line, the device at one end, the tester at
the other (pymodbus opens serial ports by path, so both ends need one: os.openpty is not
enough, docs/dependencies.md §2)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

__all__ = ["Line"]


class Line:
    """`device` and `tester` are the two ends' paths while the line is up."""

    def __init__(self, directory: Path, name: str) -> None:
        self.device = str(directory / f"{name}-device")
        self.tester = str(directory / f"{name}-tester")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Line:
        self._process = subprocess.Popen(
            [
                "socat",
                f"pty,raw,echo=0,link={self.device}",
                f"pty,raw,echo=0,link={self.tester}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not (Path(self.device).exists() and Path(self.tester).exists()):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"socat did not make the pty pair {self.device}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=5)
