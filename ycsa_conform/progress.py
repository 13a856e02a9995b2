"""What a run is waiting for now, for the live progress line of a long run.

Most of an acceptance run is waiting: an MQTT window listening for heartbeats (130 s on a field
site), a status-age window (1,200 s), a sampled window, a settle after a command. The places
that wait say so here (`waiting`), under the case being decided (`deciding`, set by
`AcceptanceRun.decide` on the thread that decides it), and the pytest plugin shows the longest
of them while pytest's main loop waits for a result (pytest_plugin/progress.py).

Nothing here prints or depends on pytest; a wait registers and unregisters itself even when
what it wraps raises.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["WAITS", "Wait", "Waits", "deciding"]

_case: ContextVar[str] = ContextVar("ycsa_progress_case", default="")


@contextmanager
def deciding(label: str) -> Iterator[None]:
    """Waits started inside belong to the case `label` (like 'SP-DATA-008[P001]')."""
    token = _case.set(label)
    try:
        yield
    finally:
        _case.reset(token)


@dataclass(frozen=True, slots=True)
class Wait:
    case: str  # 'SP-DATA-008[P001]', or '' outside a case
    what: str  # 'gateway heartbeat messages'
    started: float  # time.monotonic()
    seconds: float

    def left(self, now: float) -> float:
        return max(0.0, self.started + self.seconds - now)

    def describe(self, now: float) -> str:
        where = f"{self.case} " if self.case else ""
        return f"{where}{self.what}, {_duration(self.left(now))} of {_duration(self.seconds)} left"


class Waits:
    """The waits under way, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._waits: dict[int, Wait] = {}

    @contextmanager
    def waiting(self, what: str, seconds: float) -> Iterator[None]:
        key = next(self._ids)
        wait = Wait(_case.get(), what, time.monotonic(), max(0.0, seconds))
        with self._lock:
            self._waits[key] = wait
        try:
            yield
        finally:
            with self._lock:
                self._waits.pop(key, None)

    def now(self) -> list[Wait]:
        """The waits under way, the one with most time left first."""
        with self._lock:
            waits = list(self._waits.values())
        at = time.monotonic()
        return sorted(waits, key=lambda w: -w.left(at))


WAITS = Waits()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
