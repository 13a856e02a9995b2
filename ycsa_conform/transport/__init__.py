"""Transports: the real protocol stacks, behind one small `Device` interface.

Checks read and write logical points (see `point.POINTS`) by name; a device map says where each
point lives. Every failure to talk to a device is a `errors.DeviceError` naming the device, its
address and the point.
"""

from __future__ import annotations

from typing import Any, Protocol

import pint

from ycsa_conform.devicemap import DeviceMap
from ycsa_conform.result import Source

from .address import SUPPORTED_SCHEMES, DeviceAddress, parse_device_uri

__all__ = ["SUPPORTED_SCHEMES", "Device", "DeviceAddress", "open_device", "parse_device_uri"]


class Device(Protocol):
    """A device reached over a real protocol, read and written by logical point name."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> Source: ...

    def read(self, point: str) -> pint.Quantity[Any] | bool: ...

    def write(self, point: str, value: pint.Quantity[Any] | bool) -> None: ...

    def close(self) -> None: ...


def open_device(
    name: str, uri: str, devicemap: DeviceMap, *, timeout: float, retries: int
) -> Device:
    """A device for `uri` (not yet connected: transports connect on first use)."""
    address = parse_device_uri(uri)
    if address.scheme == "modbus-tcp":
        # Imported here so that pymodbus loads only when a Modbus device is used.
        from .modbus import ModbusTcpDevice

        return ModbusTcpDevice(name, address, devicemap, timeout=timeout, retries=retries)
    raise ValueError(f"{name}: {address} is not supported yet in this version")  # pragma: no cover
