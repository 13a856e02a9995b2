"""Device URIs: where a device is and how to reach it.

    modbus-tcp://HOST[:PORT]?unit=N        port defaults to 502, unit is 1..247

Later versions add modbus-rtu, dlt645 and mqtt; their schemes are recognised already so that a
site file written for them gets "not supported yet" rather than "unknown scheme".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

__all__ = ["SUPPORTED_SCHEMES", "DeviceAddress", "parse_device_uri"]

SUPPORTED_SCHEMES = ("modbus-tcp",)
_PLANNED_SCHEMES = ("modbus-rtu", "dlt645", "mqtt", "mqtts")
_PARAMETERS = {"modbus-tcp": ("unit",)}
_DEFAULT_PORT = {"modbus-tcp": 502}
# Userinfo and these query parameters never appear in reports or messages.
_SECRET_PARAMETERS = frozenset({"password", "token", "secret", "key"})
_EXAMPLE = {"modbus-tcp": "modbus-tcp://10.0.0.5:502?unit=1"}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceAddress:
    """A parsed device URI. `params` holds the query parameters as text."""

    scheme: str
    host: str
    port: int | None
    path: str = ""
    params: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def unit(self) -> int:
        """The Modbus unit id (device id); parse_device_uri has checked it is there and valid."""
        return int(self.params["unit"])

    def __str__(self) -> str:
        """The URI in canonical form, without credentials: safe for reports and messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = f"{host}:{self.port}" if self.port is not None else host
        query = "&".join(f"{k}={v}" for k, v in self.params.items() if k not in _SECRET_PARAMETERS)
        return f"{self.scheme}://{netloc}{self.path}" + (f"?{query}" if query else "")


def parse_device_uri(text: str) -> DeviceAddress:
    """Read a device URI; a ValueError says what is wrong and how to write it instead."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not a device URI; write it like {_EXAMPLE['modbus-tcp']!r}")
    # Messages quote the URI; a password in it is masked first.
    text = re.sub(r"(//[^/@:]*):[^/@]*@", r"\1:***@", text.strip())
    if "://" not in text:
        raise ValueError(f"{text!r} has no scheme; write it like {_EXAMPLE['modbus-tcp']!r}")
    scheme = text.split("://", 1)[0].lower()
    if scheme in _PLANNED_SCHEMES:
        raise ValueError(
            f"{text!r}: scheme {scheme!r} is not supported yet in this version; "
            f"supported: {', '.join(SUPPORTED_SCHEMES)}"
        )
    if scheme not in SUPPORTED_SCHEMES:
        known = SUPPORTED_SCHEMES + _PLANNED_SCHEMES
        close = difflib.get_close_matches(scheme, known, n=1)
        did_you_mean = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"{text!r}: unknown scheme {scheme!r}; {did_you_mean}supported: "
            f"{', '.join(SUPPORTED_SCHEMES)} (not yet: {', '.join(_PLANNED_SCHEMES)})"
        )
    return _parse_modbus_tcp(text, scheme)


def _parse_modbus_tcp(text: str, scheme: str) -> DeviceAddress:
    parts = urlsplit(text)
    example = _EXAMPLE[scheme]
    if parts.fragment:
        raise ValueError(f"{text!r}: remove '#{parts.fragment}'; a device URI has no fragment")
    if parts.path not in ("", "/"):
        raise ValueError(
            f"{text!r}: {scheme} takes no path {parts.path!r}; write it like {example!r}"
        )
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{text!r} has no host; write it like {example!r}")
    port = _port(text, parts.netloc, _DEFAULT_PORT[scheme])
    params = _params(text, parts.query, scheme)
    if parts.username is not None:
        raise ValueError(f"{text!r}: {scheme} has no login; remove the part before '@'")
    if "unit" not in params:
        raise ValueError(f"{text!r} has no unit id; add '?unit=1'")
    params["unit"] = str(_check_unit(text, params["unit"]))
    return DeviceAddress(scheme=scheme, host=host, port=port, path="", params=params)


def _port(text: str, netloc: str, default: int) -> int:
    hostport = netloc.rsplit("@", 1)[-1]
    match = re.search(r":([^:\]]*)$", hostport)
    if match is None:
        return default
    port_text = match.group(1)
    if not port_text.isdigit():
        raise ValueError(
            f"{text!r}: port {port_text!r} is not a number; give 1..65535, or leave it out "
            f"for the default {default}"
        )
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise ValueError(
            f"{text!r}: port {port} is out of range; use 1..65535 (the default is {default})"
        )
    return port


def _params(text: str, query: str, scheme: str) -> dict[str, str]:
    allowed = _PARAMETERS[scheme]
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            did_you_mean = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"{text!r}: unknown parameter {key!r}; {did_you_mean}"
                f"{scheme} takes: {', '.join(allowed)}"
            )
        if key in params:
            raise ValueError(f"{text!r}: {key!r} is given twice; keep one")
        params[key] = value
    return params


def _check_unit(text: str, unit: str) -> int:
    if not unit.strip().isdigit():
        raise ValueError(f"{text!r}: unit {unit!r} is not a whole number; use 1..247")
    number = int(unit)
    if number == 0:
        raise ValueError(
            f"{text!r}: unit 0 is the broadcast address and gets no answer; use 1..247"
        )
    if not 1 <= number <= 247:
        raise ValueError(f"{text!r}: unit {number} is out of range; use 1..247")
    return number
