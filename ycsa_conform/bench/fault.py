"""Faults the built-in bench can inject (`--bench-fault NAME`), and what each should break.

A fault is data: it replaces some of the pole's `PoleSettings`. `breaks` lists the requirement
ids a correct profile run must then report as failing (or, for a silent device, as errors).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .physics import PoleSettings

__all__ = [
    "FAULTS",
    "Fault",
    "apply_faults",
    "configure_gateway",
    "configure_meter",
    "resolve_faults",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    name: str
    description: str
    breaks: tuple[str, ...]
    overrides: Mapping[str, Any] = field(hash=False)  # PoleSettings field -> value


def _catalogue(*faults: Fault) -> MappingProxyType[str, Fault]:
    return MappingProxyType({f.name: f for f in faults})


# The lamp controller's requirements: every one reads it over Modbus RTU.
_LAMP = ("SP-PWR-003", "SP-PWR-008", "SP-LUM-011", "SP-DATA-010", "SP-DATA-011")
_METER = ("SP-PWR-001", "SP-PWR-004", "SP-PWR-017", "SP-DATA-005")

FAULTS = _catalogue(
    Fault(
        name="low-power-factor",
        description="the LED driver's power factor is 0.82 at full output",
        breaks=("SP-PWR-008",),
        overrides={"full_power_factor": 0.82},
    ),
    Fault(
        name="overvoltage",
        description="the supply is high: about 246 V at the meter and 244 V at the lamp",
        breaks=("SP-PWR-001", "SP-PWR-003"),
        overrides={"meter_voltage": 246.0, "lamp_voltage": 244.0},
    ),
    Fault(
        name="meter-timeout",
        description="the energy meter never answers in time (other devices still do)",
        breaks=_METER,
        overrides={"silent_roles": frozenset({"meter"})},
    ),
    Fault(
        name="meter-bad-checksum",
        description="the DL/T 645 meter answers every read with a wrong checksum",
        breaks=_METER,
        overrides={"malformed_roles": frozenset({"meter"})},
    ),
    Fault(
        name="lamp-bad-crc",
        description="the lamp controller's Modbus RTU answers leave with a bad CRC",
        breaks=_LAMP,
        overrides={"garbled_frames": True},
    ),
    Fault(
        name="telemetry-schema-violation",
        description="the gateway's telemetry breaks its JSON Schema (a number sent as text)",
        breaks=("SP-DATA-007",),
        overrides={"schema_violation": True},
    ),
    Fault(
        name="heartbeat-stops",
        description="the gateway stops sending heartbeats (telemetry goes on)",
        breaks=("SP-DATA-008",),
        overrides={"silent_roles": frozenset({"gateway"})},
    ),
    Fault(
        name="pole-tilt",
        description="the pole leans 0.45 deg about x (about 7.9 per mille)",
        breaks=("SP-LOAD-012",),
        overrides={"tilt_x": 0.45},
    ),
    Fault(
        name="clock-drift",
        description="the lamp controller's clock is 90 s behind UTC",
        breaks=("SP-DATA-010",),
        overrides={"clock_offset": -90.0},
    ),
    Fault(
        name="dimming-not-honoured",
        description="the lamp stays at 60 % output whatever dimming level is commanded; "
        "at 60 % the driver's power factor (0.96 × (1 − 0.4 × 0.4²) ≈ 0.898) misses SP-PWR-008",
        breaks=("SP-LUM-011", "SP-PWR-008"),
        overrides={"stuck_light_level": 60.0},
    ),
)


def resolve_faults(names: Iterable[str]) -> tuple[Fault, ...]:
    """The faults named, in order, without repeats; ValueError names the unknown one and the fix."""
    faults: list[Fault] = []
    for name in names:
        fault = FAULTS.get(name)
        if fault is None:
            close = difflib.get_close_matches(name, list(FAULTS), n=1, cutoff=0.5)
            did_you_mean = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"unknown bench fault {name!r}; {did_you_mean}known faults: {', '.join(FAULTS)}"
            )
        if fault not in faults:
            faults.append(fault)
    return tuple(faults)


def apply_faults(settings: PoleSettings, faults: Iterable[Fault]) -> PoleSettings:
    """The settings with every fault's overrides applied."""
    for fault in faults:
        settings = dataclasses.replace(settings, **fault.overrides)
    return settings


def configure_meter(meter: Any, role: str, settings: PoleSettings) -> None:
    """Set a simulated DL/T 645 meter's fault switches from the pole's settings."""
    meter.silent = role in settings.silent_roles
    meter.garble = role in settings.malformed_roles


def configure_gateway(gateway: Any, role: str, settings: PoleSettings) -> None:
    """Set a simulated gateway's fault switches from the pole's settings."""
    gateway.heartbeat_stopped = role in settings.silent_roles
    gateway.malformed_json = role in settings.malformed_roles
    gateway.schema_violation = settings.schema_violation
