"""SIGTERM and SIGHUP end a run as Ctrl-C does.

Python turns only SIGINT into KeyboardInterrupt; SIGTERM (a CI timeout, `kill`, systemd) and
SIGHUP (the operator's SSH session to the site laptop drops) would end the process at once,
leaving a lamp switched off mid-check and no report. Here both raise KeyboardInterrupt in the
main thread, so every check's `finally` puts its device back (checks/state.py, actuate.py), the
restore journal gets its `done` lines (ycsa_conform.actuation) and pytest writes the partial
report it writes for Ctrl-C.

Only the first such signal interrupts: a second one, sent while the run restores its devices
and writes its report, is ignored, since cutting a restore short is what the handler is for.
SIGKILL cannot be caught; the restore journal covers it.

Checks run on the executor's threads, not the main one: on any of these interrupts (and on
Ctrl-C) the run is told (`AcceptanceRun.interrupt`), so a check waiting out a settle (120 s
for a slow driver) stops waiting, is not judged, and puts its device back at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import pytest

from .state import STATE

_PREVIOUS = pytest.StashKey[dict[int, Any]]()
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Interrupts(config), "ycsa_conform.interrupts")
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread (pytester in-process)
    stopping = False

    def interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        name = signal.Signals(signum).name
        sys.stderr.write(f"\nycsa-conform: {name}: stopping as for Ctrl-C (restoring devices)\n")
        raise KeyboardInterrupt(name)

    previous = {}
    for signum in _SIGNALS:
        previous[signum] = signal.signal(signum, interrupt)
    config.stash[_PREVIOUS] = previous


class _Interrupts:
    """Before pytest ends an interrupted session: the checks under way stop waiting out their
    settles and put their devices back now (the executor waits for them; ycsa_conform.run)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        state = self.config.stash.get(STATE, None)
        if state is not None:
            state.run.interrupt()


def pytest_unconfigure(config: pytest.Config) -> None:
    for signum, handler in config.stash.get(_PREVIOUS, {}).items():
        signal.signal(signum, handler)
