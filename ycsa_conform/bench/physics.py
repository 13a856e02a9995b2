"""The simulated pole's physics: pure functions of the settings, the time and the command.

The scene is a clear evening in Kunming (1,890 m, mild, dry season) after the street lamps
switched on: a 120 W LED luminaire with a networked controller, a single-phase meter on the
lamp's circuit, an environment sensor and a tilt sensor on the pole.

Magnitudes are plain floats in the canonical unit of each point (`point.POINTS`: V, A, W, %,
Hz, kWh, h, s, lx, degC, µg/m^3, m/s, deg); the bench converts them to each device map's unit.
Noise is deterministic (sines with phases derived from a seed) and small: every default value
stays well inside the smart-pole profile's limits, so no verdict depends on when a test runs.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "LAMP_POINTS",
    "PoleSettings",
    "accumulate_energy",
    "environment_readings",
    "lamp_power",
    "lamp_power_factor",
    "lamp_readings",
    "light_level",
    "meter_readings",
    "supply_drift",
    "tilt_readings",
    "wobble",
]

Readings = Mapping[str, float | bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class PoleSettings:
    """What the simulated pole is like. Faults (`bench.fault`) replace some of these."""

    rated_power: float = 120.0  # W drawn at 100 % light output
    standby_power: float = 0.4  # W drawn at 0 % (controller and driver in standby)
    full_power_factor: float = 0.96  # at 100 % output; LED drivers lose PF at light load
    lamp_voltage: float = 228.0  # V at the luminaire terminals (nominal 220 V supply)
    meter_voltage: float = 229.0  # V at the meter, upstream of the cable to the luminaire
    frequency: float = 50.0  # Hz
    clock_offset: float = 0.0  # s, lamp controller clock minus host UTC
    stuck_light_level: float | None = None  # %, a driver that ignores the dimming command
    tilt_x: float = 0.04  # deg
    tilt_y: float = 0.05  # deg
    initial_lamp_energy: float = 1523.47  # kWh counted by the lamp controller when started
    initial_meter_energy: float = 1529.8  # kWh counted by the meter (installed a day earlier)
    initial_operating_hours: float = 8741.2  # h
    switch_on_counter: int = 1187
    silent_roles: frozenset[str] = field(default_factory=frozenset)  # devices that never answer
    garbled_frames: bool = False  # Modbus answers leave with a bad CRC (RTU) / garbled bytes
    malformed_roles: frozenset[str] = field(default_factory=frozenset)  # checksum / JSON broken
    schema_violation: bool = False  # the gateway's telemetry breaks its JSON Schema
    # Devices that answer, but only `slow_delay` s after each request (Modbus units and
    # DL/T 645 meters; the gateway publishes on its own schedule, so it has no "late").
    slow_roles: frozenset[str] = field(default_factory=frozenset)
    slow_delay: float = 1.5  # s; the bench site's timeout is 1 s
    # Modbus units that answer every request with exception `exception_code` (4: device failure).
    exception_roles: frozenset[str] = field(default_factory=frozenset)
    exception_code: int = 4
    # Modbus units whose firmware sends 32-bit values low word first, whatever their map says.
    word_swapped_roles: frozenset[str] = field(default_factory=frozenset)
    seed: str = "kunming"


def wobble(seed: str, t: float, *, amplitude: float, period: float) -> float:
    """Smooth, deterministic noise within ±amplitude: two sines with seed-derived phases."""
    phase = zlib.crc32(seed.encode()) / 2**32 * 2 * math.pi
    slow = math.sin(2 * math.pi * t / period + phase)
    fast = math.sin(2 * math.pi * t / (period * 0.37) + 3 * phase)
    return amplitude * (0.7 * slow + 0.3 * fast)


def supply_drift(settings: PoleSettings, t: float) -> float:
    """The slow drift of the feeder voltage (V), the same at the meter and at the lamp."""
    return wobble(f"{settings.seed}/supply", t, amplitude=0.9, period=600.0)


def light_level(target: float, settings: PoleSettings) -> float:
    """The light output (%) the driver actually gives for a dimming target (%)."""
    if settings.stuck_light_level is not None:
        return settings.stuck_light_level
    return min(100.0, max(0.0, target))


def lamp_power(level: float, settings: PoleSettings) -> float:
    """Active power (W): LED drivers draw close to linearly with output, plus standby."""
    return settings.standby_power + settings.rated_power * level / 100.0


def lamp_power_factor(level: float, settings: PoleSettings) -> float:
    """Power factor: best at full load, falling quadratically as the driver is dimmed."""
    light_load = 1.0 - level / 100.0
    return settings.full_power_factor * (1.0 - 0.4 * light_load**2)


def accumulate_energy(energy: float, power: float, seconds: float) -> float:
    """Energy (kWh) after drawing `power` (W) for `seconds`."""
    return energy + power * seconds / 3.6e6


LAMP_POINTS = (
    "supply_voltage",
    "supply_current",
    "active_power",
    "power_factor",
    "target_light_command",
    "actual_light_state",
    "active_energy",
    "operating_hours",
    "switch_on_counter",
    "lamp_failure",
    "device_clock",
)


def lamp_readings(
    settings: PoleSettings,
    *,
    t: float,
    epoch: float,
    target: float,
    energy: float,
    hours: float,
) -> dict[str, float | bool]:
    """What the lamp controller reports at `t` s after start (`epoch`: host UTC seconds)."""
    level = light_level(target, settings)
    power = lamp_power(level, settings)
    pf = lamp_power_factor(level, settings)
    voltage = settings.lamp_voltage + supply_drift(settings, t)
    return {
        "supply_voltage": voltage,
        "supply_current": power / (voltage * pf),
        "active_power": power,
        "power_factor": pf,
        "target_light_command": target,
        "actual_light_state": level,
        "active_energy": energy,
        "operating_hours": hours,
        "switch_on_counter": float(settings.switch_on_counter),
        "lamp_failure": False,
        "device_clock": math.floor(epoch + settings.clock_offset),
    }


def meter_readings(
    settings: PoleSettings, *, t: float, level: float, energy: float
) -> dict[str, float | bool]:
    """What the meter on the lamp's circuit reports: the lamp's load, measured upstream."""
    # Class 1 meter: its own reading error is a small fraction of a per cent.
    error = 1.0 + wobble(f"{settings.seed}/meter", t, amplitude=0.002, period=45.0)
    power = lamp_power(level, settings) * error
    pf = lamp_power_factor(level, settings)
    voltage = settings.meter_voltage + supply_drift(settings, t)
    return {
        "supply_voltage": voltage,
        "supply_current": power / (voltage * pf),
        "active_power": power,
        "power_factor": pf,
        "frequency": settings.frequency
        + wobble(f"{settings.seed}/frequency", t, amplitude=0.015, period=97.0),
        "active_energy": energy,
    }


def environment_readings(settings: PoleSettings, *, t: float) -> dict[str, float | bool]:
    """A clear Kunming evening: mild, fairly humid, light breeze, moderate particulates."""

    def around(name: str, centre: float, amplitude: float, period: float) -> float:
        return centre + wobble(f"{settings.seed}/{name}", t, amplitude=amplitude, period=period)

    return {
        "ambient_illuminance": around("illuminance", 6.0, 0.8, 240.0),  # lx, after dusk
        "air_temperature": around("temperature", 14.5, 0.3, 1800.0),
        "relative_humidity": around("humidity", 72.0, 1.5, 900.0),
        "pm2_5": around("pm2_5", 22.0, 2.0, 300.0),
        "pm10": around("pm10", 41.0, 3.0, 300.0),
        "wind_speed": around("wind", 2.1, 0.4, 45.0),
    }


def tilt_readings(settings: PoleSettings, *, t: float) -> dict[str, float | bool]:
    """The pole's inclination, with a little sway in the wind (deg)."""
    return {
        "tilt_x": settings.tilt_x
        + wobble(f"{settings.seed}/tilt_x", t, amplitude=0.01, period=7.0),
        "tilt_y": settings.tilt_y
        + wobble(f"{settings.seed}/tilt_y", t, amplitude=0.01, period=9.0),
    }
