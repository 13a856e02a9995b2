"""Transports: the real protocol stacks, behind one small `Device` interface.

Checks read and write logical points (see `point.POINTS`) by name; a device map says where each
point lives. Every failure to talk to a device is a `errors.DeviceError` naming the device, its
address and the point.

Each transport has two layers:

    Device   points → requests, responses → values (codec, coalescing, schema validation)
    Link     the wire: one JSON-able request in, one JSON-able response out (or a DeviceError)

The seam between them is where `--record` taps the traffic and where `--replay` answers from a
recording instead of a device (`transport.recording`), so replay runs the same codecs, checksums
and schema checks as a live run.

What a device can do beyond `Device` (observe messages, acknowledged commands, protocol probes)
are its abilities, typed protocols in `transport.abilities`: a check asks
`isinstance(device, Observes)` rather than looking for a method by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pint

from ycsa_conform.devicemap import DeviceMap
from ycsa_conform.errors import DeviceError
from ycsa_conform.result import Source

from .abilities import (
    Commands,
    Mapped,
    Observes,
    Probes,
    ReadsFresh,
    SendsFrames,
    SendsRaw,
    TimesReads,
)
from .address import SUPPORTED_SCHEMES, DeviceAddress, parse_device_uri
from .secret import Secret

__all__ = [
    "SUPPORTED_SCHEMES",
    "Commands",
    "Device",
    "DeviceAddress",
    "DeviceBase",
    "Explain",
    "Link",
    "LinkOptions",
    "Mapped",
    "Observes",
    "Probes",
    "Reading",
    "ReadsFresh",
    "Request",
    "Response",
    "Secret",
    "SendsFrames",
    "SendsRaw",
    "TimesReads",
    "Value",
    "open_device",
    "open_link",
    "parse_device_uri",
]

Value = pint.Quantity[Any] | bool | str
# A request or response on a link: JSON-able (str, int, float, bool, None, lists, dicts).
Request = Mapping[str, Any]
Response = Mapping[str, Any]
# Turns a response into decoded point values as text ({"supply_voltage": "230.1 V"}) for the
# recording; it must not raise.
Explain = Callable[[Response], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Reading:
    """A value read from a device, and when (host clock, seconds since the epoch) it arrived.

    `retained`: the value came in a message the broker kept (MQTT), so it arrived when it was
    asked for, not when the device sent it."""

    point: str
    value: Value
    at: float
    source: Source
    retained: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkOptions:
    """How to reach a device, as the site file tunes it. Secrets are references, not values."""

    timeout: float = 1.0  # seconds to wait for one answer (MQTT: for one message)
    retries: int = 0  # requests repeated after a timeout
    max_gap: int = 8  # Modbus: unused registers a coalesced read may bridge
    username: Secret | None = None
    password: Secret | None = None
    ca: Path | None = None  # TLS: CA certificate file
    cert: Path | None = None  # TLS: client certificate file
    key: Path | None = None  # TLS: client key file
    # TLS: check the broker's certificate and host name. Off only when the site file says so
    # (`tls: {verify: false}`), and the run's report then says it was off.
    tls_verify: bool = True
    # MQTT: a login may go over plain mqtt:// only when the site file says so
    # (`allow_plain_credentials: true`), and the run's report then says it did.
    allow_plain_credentials: bool = False


class Link(Protocol):
    """The wire to one device. Connects on first use; `transact` raises DeviceError."""

    @property
    def scheme(self) -> str: ...

    def transact(self, request: Request, *, explain: Explain | None = None) -> Response: ...

    def close(self) -> None: ...


class Device(Protocol):
    """A device reached over a real protocol, read and written by logical point name."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> Source: ...

    @property
    def transactions(self) -> int:
        """Requests sent on the wire so far."""
        ...

    def read(self, point: str) -> Reading: ...

    def read_many(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        """Several points in as few requests as the protocol allows; a failure per point."""
        ...

    def minimum_transactions(self, points: Sequence[str]) -> int:
        """The fewest requests that can read `points` (the coalescing target)."""
        ...

    def write(self, point: str, value: pint.Quantity[Any] | bool) -> None: ...

    def close(self) -> None: ...


class DeviceBase:
    """What the transports' devices share: identity, link, request count, `read` by `read_many`.

    A subclass implements `read_many`, `minimum_transactions` and `write`, and counts every
    request it sends in `_transactions` (and the protocol probes among them in `probes`).
    """

    def __init__(
        self,
        name: str,
        address: DeviceAddress,
        devicemap: DeviceMap,
        link: Link,
        options: LinkOptions | None = None,
    ) -> None:
        self.name = name
        self.address = address
        self.devicemap = devicemap
        self.options = options or LinkOptions()
        self._link = link
        self._transactions = 0
        # Of those, the requests protocol probes sent (the `protocol` check kind): extra
        # traffic on top of the coalesced point reads, counted apart in a run's traffic.
        self.probes = 0

    @property
    def source(self) -> Source:
        return Source(device=self.name, scheme=self.address.scheme, address=str(self.address))

    @property
    def transactions(self) -> int:
        return self._transactions

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.address}>"

    def close(self) -> None:
        self._link.close()

    def read(self, point: str) -> Reading:
        """The point's value, as `read_many` gives it; its DeviceError is raised."""
        result = self.read_many([point])[point]
        if isinstance(result, DeviceError):
            raise result
        return result

    def read_many(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        raise NotImplementedError  # pragma: no cover - every transport defines it


def open_link(name: str, address: DeviceAddress, options: LinkOptions) -> Link:
    """The live link for `address` (not yet connected)."""
    # Imported here so that each protocol stack loads only when a device uses it.
    if address.protocol == "modbus":
        from .modbus import ModbusLink

        return ModbusLink(name, address, options)
    if address.protocol == "dlt645":
        from .dlt645 import Dlt645Link

        return Dlt645Link(name, address, options)
    if address.scheme in ("mqtt", "mqtts"):
        from .mqtt import MqttLink

        return MqttLink(name, address, options)
    raise ValueError(f"{name}: {address} has no transport")  # pragma: no cover - parser guards


def open_device(
    name: str,
    uri: str,
    devicemap: DeviceMap,
    options: LinkOptions | None = None,
    *,
    link: Link | None = None,
) -> Device:
    """A device for `uri` over `link` (default: the live link; connects on first use)."""
    address = parse_device_uri(uri)
    options = options or LinkOptions()
    protocol = address.protocol
    if devicemap.protocol != protocol:
        raise ValueError(
            f"{name}: device map {devicemap.id!r} ({devicemap.path}) is for "
            f"{devicemap.protocol}, but {address} speaks {protocol}; give a {protocol} device map"
        )
    link = link or open_link(name, address, options)
    if protocol == "modbus":
        from .modbus import ModbusDevice

        return ModbusDevice(name, address, devicemap, link, options)
    if protocol == "dlt645":
        from .dlt645 import Dlt645Device

        return Dlt645Device(name, address, devicemap, link, options)
    from .mqtt import MqttDevice

    return MqttDevice(name, address, devicemap, link, options)
