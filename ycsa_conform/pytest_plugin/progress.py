"""The live progress line: while pytest waits for a result, what the run waits for.

A field site's heartbeat window is 130 s and its status-age window 1,200 s; a district decides
for hours. Without this, one dot stood for all of it. While the main thread waits for an item's
result (`Executor.result`'s tick), a line through pytest's terminal reporter says which window,
sample or settle has the most time left, on which requirement and target, how many more are
open, and how many cases and targets are decided:

    ycsa-conform: waiting for SP-DATA-008[P001] gateway heartbeat messages, 1 min 44 s of
    2 min 10 s left; 3 more open; 41 of 79 decided

A line comes once the wait is `FIRST` s old, then every `EVERY` s (`EVERY_LOG` s when the
output is not a terminal, so that a CI log stays short). Quiet with -q. Lines, not an in-place
rewrite: pytest's own progress dots share the line, and a CI log keeps every line anyway.
Under pytest-xdist the workers decide and their terminals are not shown: no line there (the
controller's `-v` lines still show each result as it comes).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from ycsa_conform.executor import Executor
from ycsa_conform.progress import WAITS

if TYPE_CHECKING:
    from _pytest.capture import CaptureManager

__all__ = ["LiveProgress"]

FIRST = 5.0
EVERY = 10.0
EVERY_LOG = 30.0


class LiveProgress:
    def __init__(self, config: pytest.Config, executor: Executor) -> None:
        self.executor = executor
        self.reporter: pytest.TerminalReporter | None = config.pluginmanager.get_plugin(
            "terminalreporter"
        )
        self.capture: CaptureManager | None = config.pluginmanager.get_plugin("capturemanager")
        self.every = EVERY if self.reporter is not None and self.reporter.isatty else EVERY_LOG
        self._since: float | None = None
        self._last = 0.0

    @classmethod
    def enabled(cls, config: pytest.Config) -> bool:
        return config.get_verbosity() >= 0 and not hasattr(config, "workerinput")

    def begin(self) -> None:
        """The main thread starts waiting for an item's result."""
        self._since = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if self.reporter is None or self._since is None or now - self._since < FIRST:
            return
        if now - self._last < self.every:
            return
        waits = WAITS.now()
        if not waits:
            return
        self._last = now
        decided, known, targets_done, targets = self.executor.counts
        line = f"ycsa-conform: waiting for {waits[0].describe(now)}"
        if len(waits) > 1:
            line += f"; {len(waits) - 1} more open"
        line += f"; {decided} of {known} decided"
        if targets > 1:
            line += f", {targets_done} of {targets} targets done"
        # The main thread is inside the item's setup, where pytest captures fd 1: the line
        # goes out with capturing suspended, as pytest's own live logging does.
        capture = self.capture
        if capture is None:
            self.reporter.write_line(line)
            return
        with capture.global_and_fixture_disabled():
            self.reporter.write_line(line)
