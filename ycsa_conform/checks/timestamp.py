"""A payload's own time stamp, read in the unit its device map declares, and checked for sanity.

The `age` expectation of the message check and the inventory check's `max_age` subtract a
payload's time stamp from its arrival (host clock). A stamp is used only when it is a time
this host can believe, in the unit the map declares (`topics.KEY.time_unit`: s, ms or us
since 1970-01-01 UTC, default s):

    later than 2000-01-01 and at most `tolerance` ahead of its arrival here

Otherwise the stamp is refused with the reason, never turned into an age:

    wrong unit   1796300000000 read as seconds is 57 000 years ahead, read as milliseconds it
                 is now: "looks like milliseconds, the device map declares seconds"
    future       further ahead of the arrival than the tolerance: the device's clock or this
                 host's is wrong (or set to another time zone)
    unset        before 2000 in every unit: the device's clock was never set

A stamp ahead of its arrival by no more than the tolerance is a fresh message from a clock a
little ahead: its age counts as 0 s, and the reason says by how much the clock was ahead. A
negative age is never judged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_CLOCK_TOLERANCE",
    "EARLIEST",
    "UNIT_NAMES",
    "Stamp",
    "read_stamp",
    "stamp_number",
]

# s: how far a payload's clock may run ahead of this host's. Three times the ±3 s a lamp
# controller's clock may be off (SP-DATA-010, S) and room for this host's own NTP error: a
# time zone mistake (hours) or a unit mistake is caught, an ordinary clock is not.
DEFAULT_CLOCK_TOLERANCE = 10.0
EARLIEST = 946_684_800.0  # 2000-01-01T00:00:00Z: no device of this kind stamps anything earlier
_PER_SECOND: Mapping[str, float] = {"s": 1.0, "ms": 1e3, "us": 1e6}
UNIT_NAMES: Mapping[str, str] = {"s": "seconds", "ms": "milliseconds", "us": "microseconds"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Stamp:
    """A usable time stamp: when the payload says it was made, and its age at arrival."""

    seconds: float  # since 1970-01-01 UTC
    age: float  # s, arrival minus the stamp, never negative
    ahead: float  # s the stamp was ahead of its arrival (within the tolerance), else 0


def read_stamp(
    raw: float,
    *,
    arrival: float,
    unit: str,
    pointer: str,
    topic_key: str,
    tolerance: float = DEFAULT_CLOCK_TOLERANCE,
    device_map: Path | None = None,
) -> Stamp | str:
    """The stamp `raw` (in `unit`) of a payload that arrived at `arrival` (host time, s), or
    why it cannot be used: one line naming the value, the rule and the fix."""
    shown = json.dumps(raw)
    if not math.isfinite(raw):
        return f"time stamp {shown} at {pointer} is not a finite number"
    declared = raw / _PER_SECOND[unit]
    if _believable(declared, arrival, tolerance):
        ahead = max(0.0, declared - arrival)
        return Stamp(seconds=declared, age=max(0.0, arrival - declared), ahead=ahead)
    where = f"topics.{topic_key}.time_unit"
    if device_map is not None:
        where = f"{device_map.name}: {where}"
    for other, per_second in _PER_SECOND.items():
        if other != unit and _believable(raw / per_second, arrival, tolerance):
            return (
                f"time stamp {shown} at {pointer} looks like {UNIT_NAMES[other]}, the device "
                f"map declares {UNIT_NAMES[unit]} ({where}); declare time_unit: {other}"
            )
    if declared > arrival:
        return (
            f"time stamp {shown} at {pointer} is {_duration(declared - arrival)} ahead of this "
            f"host's clock at its arrival (at most {tolerance:g} s allowed): the device's clock "
            "or this host's is wrong (a time zone?); set both by NTP"
        )
    return (
        f"time stamp {shown} at {pointer} is before 2000-01-01 read as {UNIT_NAMES[unit]} "
        f"({where}), and in every other unit: the device's clock looks unset; set it by NTP"
    )


def _believable(seconds: float, arrival: float, tolerance: float) -> bool:
    return EARLIEST <= seconds <= arrival + tolerance


def _duration(seconds: float) -> str:
    """A large time difference in words a reader can weigh: 3.5 h, 57000 years."""
    for size, name in ((365.25 * 86400, "years"), (86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.3g} {name}"
    return f"{seconds:.1f} s"


def stamp_number(value: Any) -> float | None:
    """A JSON value taken as a time stamp: the number itself, or None (a text, a flag, null)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
