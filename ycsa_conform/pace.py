"""Whether the machine running the checks has room to begin more of them now.

A check that judges time - a heartbeat gap, an alarm cleared within 1 s, a device's
turnaround - judges what this process observed. When the process cannot run its threads on
time (its interpreter lock contended by too many windows, or every core of the machine busy,
with the bench's simulated devices as well) the observation itself runs late, and a healthy
device would be judged slow. The executor therefore opens further targets only while
`Pace.busy()` is False; targets already open go on, so the run slows down rather than its
verdicts going wrong.

The same thread notes the stalls: times this process ran nothing for `stall` s or more (a
full pass of the cycle collector stops every thread; so does a machine with no core free).
An observation that overlapped one judged its device by when this process got round to it;
the executor decides an observation again when a stall overlapped it and it did not pass.
It keeps each sample's lateness too: a run whose threads all wait their turn for the
interpreter lock or a core (a burst of windows opening, a loaded CI machine) may never stop
for 0.2 s at once, yet a reply that crosses four threads of a bench simulated in this process
(its serial line, its timer, the reader) arrives half a second late. So an observation that did
not pass is decided again also when the samples taken while it ran woke `late_limit` or more
late on average (`lagged`).

Two gauges, sampled by a thread of its own every `period` s:
- this process's lateness: how much later than asked a `period` s sleep wakes (smoothed);
- the machine's idle share of all its cores (`/proc/stat`, Linux; elsewhere not gauged).
  In a container given fewer cores than its host, `/proc/stat` counts the host's: only the
  lateness gauge then applies.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

__all__ = ["Pace"]

_PROC_STAT = Path("/proc/stat")


class Pace:
    """Gauges of the load while a run decides its cases; `busy()` says whether to wait
    before opening another target. `close()` stops the sampling thread."""

    def __init__(
        self,
        *,
        late_limit: float = 0.05,
        idle_floor: float = 0.1,
        period: float = 0.1,
        stall: float = 0.2,
    ) -> None:
        self.late_limit = late_limit  # s a `period` sleep may wake late (smoothed)
        self.idle_floor = idle_floor  # share of all cores that must stay idle
        self.period = period
        self.lateness = 0.0  # s, smoothed
        self.idle: float | None = None  # share of the cores idle over the last second
        self.stall = stall
        # (from, until) in time.monotonic() of the latest stalls
        self.stalls: deque[tuple[float, float]] = deque(maxlen=1000)
        # (woke, late) of the latest samples: an hour of them
        self.samples: deque[tuple[float, float]] = deque(maxlen=36_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="ycsa-pace", daemon=True)
        self._thread.start()

    def busy(self) -> bool:
        """True when this process runs late or the machine has no idle core share to spare."""
        return self.lateness > self.late_limit or (
            self.idle is not None and self.idle < self.idle_floor
        )

    def stalled(self, since: float, until: float) -> float:
        """The longest stall (s) that overlapped `since`..`until` (time.monotonic()); 0 if
        none did."""
        return max(
            (end - start for start, end in list(self.stalls) if start < until and end > since),
            default=0.0,
        )

    def lagged(self, since: float, until: float) -> float:
        """How late (s) the samples taken within `since`..`until` (time.monotonic()) woke, on
        average; 0 if none was taken."""
        late = [late for woke, late in list(self.samples) if since <= woke <= until]
        return sum(late) / len(late) if late else 0.0

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        last = _cpu_times()
        checked = time.monotonic()
        while True:
            asked = time.monotonic()
            if self._stop.wait(self.period):
                return
            woke = time.monotonic()
            late = max(0.0, woke - asked - self.period)
            if late >= self.stall:
                self.stalls.append((woke - late, woke))
            self.samples.append((woke, late))
            self.lateness += (late - self.lateness) * 0.3  # a few samples: not one hiccup
            if time.monotonic() - checked >= 1.0:
                now = _cpu_times()
                if last is not None and now is not None and now[1] > last[1]:
                    self.idle = (now[0] - last[0]) / (now[1] - last[1])
                last, checked = now, time.monotonic()


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies of all cores since boot, or None where /proc/stat is missing."""
    try:
        with _PROC_STAT.open() as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice (guest counted in user)
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return idle, sum(values[:8])
