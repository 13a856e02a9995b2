"""Secrets named by reference (`env:NAME` or `file:PATH`), read only when a link connects.

Site files never hold a password inline, so site files, reports and recordings can be shared
without leaking one; `repr()` and `str()` show the reference, never the value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ycsa_conform.errors import DeviceError

__all__ = ["Secret", "parse_secret"]


@dataclass(frozen=True, slots=True)
class Secret:
    kind: str  # "env" or "file"
    name: str  # variable name, or absolute file path

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    def reveal(self) -> str:
        """The secret's value; DeviceError (the link cannot connect) when it is missing."""
        if self.kind == "env":
            value = os.environ.get(self.name)
            if value is None:
                raise DeviceError(
                    f"environment variable {self.name} is not set; export it before the run "
                    f"(the site file refers to it as 'env:{self.name}')"
                )
            return value
        try:
            return Path(self.name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise DeviceError(f"cannot read secret file {self.name}: {exc.strerror}") from None


def parse_secret(text: str, *, base: Path) -> Secret:
    """'env:MQTT_PASSWORD' or 'file:secrets/mqtt.txt' (relative to `base`); ValueError else."""
    kind, sep, name = text.partition(":")
    if not sep or kind not in ("env", "file") or not name.strip():
        raise ValueError(
            "write secrets as a reference, 'env:VARIABLE' or 'file:PATH', never inline; "
            "the value is read when the device is contacted and never written to reports"
        )
    if kind == "env":
        return Secret("env", name.strip())
    return Secret("file", str((base / name.strip()).resolve()))
