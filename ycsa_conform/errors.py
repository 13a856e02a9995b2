"""The exception tree of ycsa-conform.

YcsaError                        root of everything we raise on purpose
├── InputError (ValueError)      a user file (profile, site, device map) is wrong;
│                                carries one `Problem` per mistake, each FILE:LINE: $.path: text
└── DeviceError (OSError)        a device could not be read or written; becomes verdict `error`
    ├── DeviceTimeout            no answer within the timeout
    ├── DeviceRefused            the connection could not be made
    ├── DeviceException          the device answered with a protocol exception (Modbus code)
    ├── DecodeError              the device answered, but the data cannot be decoded
    │   └── ImplausibleValue     decoded, but outside the range the device map declares, or
    │                            not finite: a wrong word order, scale or type, never judged
    └── LostContact              the device was heard, then went silent or dropped its
                                 connection during an observation window
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DecodeError",
    "DeviceError",
    "DeviceException",
    "DeviceRefused",
    "DeviceTimeout",
    "ImplausibleValue",
    "InputError",
    "LostContact",
    "Problem",
    "RunInterrupted",
    "YcsaError",
]


class YcsaError(Exception):
    """Root of the exceptions ycsa-conform raises on purpose."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One mistake in a user file: where it is, what is wrong and how to fix it."""

    file: Path | str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else f"{self.file}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InputError(YcsaError, ValueError):
    """A user-written file is invalid. `str()` gives one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("InputError needs at least one problem")
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DeviceError(YcsaError, OSError):
    """A device could not be read or written. The message names the device and the cause."""


class RunInterrupted(DeviceError):
    """The run was interrupted (Ctrl-C, SIGTERM, SIGHUP) while a check waited; the check puts
    back what it changed and is not judged."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


class DeviceRefused(DeviceError):
    """The connection to the device could not be opened."""


class DeviceException(DeviceError):
    """The device answered with a protocol exception (for Modbus: an exception code)."""

    def __init__(self, message: str, *, code: int) -> None:
        super().__init__(message)
        self.code = code


class DecodeError(DeviceError):
    """The device answered but its data could not be turned into a value."""


class ImplausibleValue(DecodeError):
    """The device answered with a value it cannot physically have: outside the `range` its
    device map declares, or not a finite number. Never judged against a limit."""


class LostContact(DeviceError):
    """The device was present, then disappeared (connection dropped, process gone) during a
    window: the window cannot be judged, which is not the same as non-conformance."""
