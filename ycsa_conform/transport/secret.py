"""Secrets named by reference (`env:NAME` or `file:PATH`), read only when a link connects.

Site files never hold a password inline, so site files, reports and recordings can be shared
without leaking one; `repr()` and `str()` of a `Secret` show the reference, never the value.

A revealed value is a `Masked` string: a `str` to the library that sends it (paho encodes it to
bytes), `'***'` to everything that shows it — `repr`, `str`, f-strings and `%s`, and so the
locals pytest prints with `-l`, the tracebacks in JUnit and Allure, and log records. Code that
really needs the plain text (none today) calls `Masked.plain()`; nothing may write that down.

A secret file readable by others than its owner is not refused (a bench or a CI runner may
share one on purpose) but reported: `Secret.exposure()` says so, and the run states it in its
report header and its report.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ycsa_conform.errors import DeviceError

__all__ = ["MASK", "Masked", "Secret", "parse_secret"]

MASK = "***"


class Masked(str):
    """A revealed secret that never shows itself. Concatenation or `"".join` give a plain str
    holding the value: never build messages from a Masked value, only pass it to the library."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __reduce__(self) -> Any:
        # Pickled (pytest-xdist sends reports between processes): the mask, not the value.
        return (str, (MASK,))

    def plain(self) -> str:
        """The value as a plain str, for a library that demands exactly `str`."""
        return str.__str__(self)


@dataclass(frozen=True, slots=True)
class Secret:
    kind: str  # "env" or "file"
    name: str  # variable name, or absolute file path

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    def reveal(self) -> Masked:
        """The secret's value; DeviceError (the link cannot connect) when it is missing."""
        if self.kind == "env":
            value = os.environ.get(self.name)
            if value is None:
                raise DeviceError(
                    f"environment variable {self.name} is not set; export it before the run "
                    f"(the site file refers to it as 'env:{self.name}')"
                )
            return Masked(value)
        try:
            return Masked(Path(self.name).read_text(encoding="utf-8").strip())
        except UnicodeDecodeError:
            # The error's own text quotes bytes of the file: never shown.
            raise DeviceError(
                f"secret file {self.name} is not UTF-8 text; write the secret as one line of text"
            ) from None
        except OSError as exc:
            raise DeviceError(f"cannot read secret file {self.name}: {exc.strerror}") from None

    def exposure(self) -> str | None:
        """For a secret file that others than its owner may read or write: what to report
        (and the fix); None otherwise, and for an environment variable."""
        if self.kind != "file":
            return None
        try:
            mode = stat.S_IMODE(os.stat(self.name).st_mode)
        except OSError:
            return None  # reported when the link reads it
        if not mode & 0o077:
            return None
        return (
            f"secret file {self.name} is open to others than its owner (mode {mode:04o}); "
            f"make it private with 'chmod 600 {self.name}'"
        )


def parse_secret(text: str, *, base: Path) -> Secret:
    """'env:MQTT_PASSWORD' or 'file:secrets/mqtt.txt' (relative to `base`); ValueError else.

    The ValueError never quotes `text`: text that is not a reference may be the secret itself."""
    kind, sep, name = text.partition(":")
    if not sep or kind not in ("env", "file") or not name.strip():
        raise ValueError(
            "write secrets as a reference, 'env:VARIABLE' or 'file:PATH', never inline; "
            "the value is read when the device is contacted and never written to reports"
        )
    if kind == "env":
        return Secret("env", name.strip())
    return Secret("file", str((base / name.strip()).resolve()))
