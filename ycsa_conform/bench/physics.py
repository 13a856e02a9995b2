"""The simulated pole's physics: pure functions of the settings, the time and the command.

The scene is a clear evening in Kunming (1,890 m, mild, dry season) after the street lamps
switched on: a 120 W LED luminaire with a networked controller, a single-phase meter on the
lamp's circuit, an environment sensor and a tilt sensor on the pole.

Magnitudes are plain floats in the canonical unit of each point (`point.POINTS`: V, A, W, %,
Hz, kWh, h, s, lx, degC, µg/m^3, m/s, deg, mm/s); the bench converts them to each device map's
unit. Noise is deterministic (sines with phases derived from a seed) and small: every default
value stays well inside the smart-pole profile's limits, so no verdict depends on when a test
runs.

The day: the scene's local solar time is `time_of_day` (20:30 by default, well after dusk)
plus `time_scale` scene hours per host hour since the start. The default scale is 0: the
evening stands still, so a bench left running overnight keeps its lamp on and every verdict
stays what it was at the start; 1 runs the day at the host's pace, 3600 an hour a second.
Daylight follows a half sine from sunrise (07:00) to sunset (19:00) peaking at 80 klx, over a
night floor of about 6 lx (urban sky glow and the neighbouring lamps).

The lamp: the controller closes its relay (`lamp_on`) either by hand (a switch command, which
also leaves automatic mode) or, in automatic mode, by its photocell: on while the ambient
illuminance is below its switch-on threshold (`photocell_threshold` at start, a holding
register the controller lets one write). Real photocells add hysteresis and a switching
delay; the bench leaves both out, since its day curve crosses the threshold once at dusk and
once at dawn and its 1 % illuminance noise cannot make it chatter there for long. Off, or with a
failed driver, the luminaire gives no light and draws only the controller's standby power.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "EQUIPMENT",
    "EV_CHARGER_STATES",
    "LAMP_POINTS",
    "POE_PORTS",
    "PoleSettings",
    "accumulate_energy",
    "ambient_illuminance",
    "environment_readings",
    "equipment_readings",
    "lamp_power",
    "lamp_power_factor",
    "lamp_readings",
    "lamp_switched_on",
    "light_level",
    "meter_readings",
    "output_level",
    "supply_drift",
    "tilt_alarm",
    "tilt_readings",
    "wobble",
]

Readings = Mapping[str, float | bool | str]

SUNRISE = 7.0  # h, local solar time; Kunming's day is close to 12 h all year
SUNSET = 19.0  # h
DAYLIGHT_PEAK = 80_000.0  # lx, clear-sky noon on the Yunnan plateau
NIGHT_FLOOR = 6.0  # lx, sky glow and the neighbouring lamps, at the pole-top sensor

# PoE switch in the pole cabinet: port -> (what is plugged in, W drawn when it is online).
POE_PORTS = (
    ("camera", 11.5),  # PTZ camera with IR illuminators, 802.3at
    ("wifi", 7.8),  # public Wi-Fi access point
    ("speaker", 4.2),  # public-address speaker, idle
    ("spare", 0.0),
)
EQUIPMENT = ("camera", "small_cell", "led_screen", "ev_charger")
EV_CHARGER_STATES = ("available", "charging", "faulted", "offline")


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
    slow_delay: float = 2.5  # s; the bench site's reads wait 1 s, twice
    # Modbus units that answer every request with exception `exception_code` (4: device failure).
    exception_roles: frozenset[str] = field(default_factory=frozenset)
    exception_code: int = 4
    # Modbus units whose firmware drops a read asking more than the protocol's limit (125
    # registers, 2000 bits) without an answer (its receive buffer overruns), where Modbus asks
    # exception 03: what the `fuzz` check finds.
    overrun_roles: frozenset[str] = field(default_factory=frozenset)
    # Modbus units whose firmware sends 32-bit values low word first, whatever their map says.
    word_swapped_roles: frozenset[str] = field(default_factory=frozenset)
    # The day and the photocell (see the module docstring).
    time_of_day: float = 20.5  # h, local solar time when the bench starts
    time_scale: float = 0.0  # scene hours per host hour; 0 freezes the scene at time_of_day
    # lx; in automatic mode the lamp is on below this. 20 lx: CJJ 45 6.2 for a secondary
    # arterial (the bench's Kunming main road, CJJ 45 level II).
    photocell_threshold: float = 20.0
    auto_mode: bool = True  # the controller starts in automatic (photocell) mode
    driver_failure: bool = False  # the LED driver is dead: no light, the controller says so
    noise_level: float = 52.0  # dB(A) at the pole, evening traffic (a plain number, see POINTS)
    vibration_velocity: float = 0.6  # mm/s RMS at the pole top, light breeze
    # What the pole's door, water and call-button sensors say; the gateway raises events.
    door_open: bool = False
    water_immersion: bool = False
    emergency_call: bool = False
    # deg of resultant inclination that raises a tilt alarm (a register of the tilt sensor).
    # Well above the 3 ‰ (0.17°) acceptance limit: the alarm is for a pole being knocked or
    # undermined, not for a slight lean, which SP-LOAD-012 judges (I).
    tilt_alarm_threshold: float = 1.0
    # Mounted equipment as the gateway reports it (PREFIX/equipment).
    camera_online: bool = True
    small_cell_online: bool = True
    led_screen_online: bool = True
    ev_charger_state: str = "available"  # available, charging, faulted or offline
    # s between a command reaching the gateway and its acknowledgement (the field bus round
    # trip to the controller); the command takes effect just before the acknowledgement.
    command_latency: float = 0.05
    # The gateway carries commands out but never acknowledges them.
    commands_unacknowledged: bool = False
    # The gateway's equipment status stopped being refreshed this many s before the bench
    # started: one retained message with that old time stamp, and no more.
    equipment_stale_for: float | None = None
    # The gateway's connection is cut every this many s (the broker sees it drop, publishes
    # the last will "offline"); it reconnects about 0.1 s later, on a persistent session.
    connection_drop_period: float | None = None
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


def ambient_illuminance(settings: PoleSettings, t: float) -> float:
    """Ambient illuminance (lx) at `t` s after start: the day curve, plus a little noise."""
    hour = (settings.time_of_day + settings.time_scale * t / 3600.0) % 24.0
    daylight = 0.0
    if SUNRISE < hour < SUNSET:
        daylight = DAYLIGHT_PEAK * math.sin(math.pi * (hour - SUNRISE) / (SUNSET - SUNRISE))
    # ±0.8 lx at night as before; by day passing clouds, ±1 % of the daylight.
    amplitude = 0.8 + 0.01 * daylight
    return (
        NIGHT_FLOOR
        + daylight
        + wobble(f"{settings.seed}/illuminance", t, amplitude=amplitude, period=240.0)
    )


def lamp_switched_on(
    settings: PoleSettings,
    t: float,
    *,
    auto: bool,
    manual_on: bool,
    threshold: float | None = None,
) -> bool:
    """Whether the controller's relay is closed: the photocell decides in automatic mode,
    below `threshold` lx (the settings' photocell_threshold unless the register was written)."""
    if auto:
        limit = settings.photocell_threshold if threshold is None else threshold
        return ambient_illuminance(settings, t) < limit
    return manual_on


def output_level(target: float, on: bool, settings: PoleSettings) -> float:
    """The light output (%): the driver's level when switched on, none when off or failed."""
    if not on or settings.driver_failure:
        return 0.0
    return light_level(target, settings)


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
    "driver_failure",
    "lamp_on",
    "auto_mode",
    "switch_on_illuminance",
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
    on: bool = True,
    auto: bool = True,
    switch_ons: int | None = None,
    threshold: float | None = None,
) -> dict[str, float | bool]:
    """What the lamp controller reports at `t` s after start (`epoch`: host UTC seconds)."""
    level = output_level(target, on, settings)
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
        "switch_on_counter": float(
            settings.switch_on_counter if switch_ons is None else switch_ons
        ),
        # The controller sees a lamp that should be lit and draws no load current.
        "lamp_failure": on and settings.driver_failure,
        "driver_failure": settings.driver_failure,
        "lamp_on": on,
        "auto_mode": auto,
        "switch_on_illuminance": settings.photocell_threshold if threshold is None else threshold,
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
        "ambient_illuminance": ambient_illuminance(settings, t),
        "air_temperature": around("temperature", 14.5, 0.3, 1800.0),
        "relative_humidity": around("humidity", 72.0, 1.5, 900.0),
        "pm2_5": around("pm2_5", 22.0, 2.0, 300.0),
        "pm10": around("pm10", 41.0, 3.0, 300.0),
        "wind_speed": around("wind", 2.1, 0.4, 45.0),
        "noise_level": around("noise", settings.noise_level, 3.0, 20.0),  # dB(A)
    }


def tilt_readings(
    settings: PoleSettings, *, t: float, threshold: float | None = None
) -> dict[str, float | bool]:
    """The pole's inclination, with a little sway in the wind (deg), its vibration, and the
    alarm threshold (the settings' unless the register was written)."""
    return {
        "tilt_alarm_threshold": settings.tilt_alarm_threshold if threshold is None else threshold,
        "tilt_x": settings.tilt_x
        + wobble(f"{settings.seed}/tilt_x", t, amplitude=0.01, period=7.0),
        "tilt_y": settings.tilt_y
        + wobble(f"{settings.seed}/tilt_y", t, amplitude=0.01, period=9.0),
        "vibration_velocity": settings.vibration_velocity
        + wobble(f"{settings.seed}/vibration", t, amplitude=0.15, period=5.0),
    }


def tilt_alarm(
    settings: PoleSettings, tilt_x: float, tilt_y: float, threshold: float | None = None
) -> bool:
    """A tilt alarm: the resultant inclination beyond the alarm threshold."""
    limit = settings.tilt_alarm_threshold if threshold is None else threshold
    return math.hypot(tilt_x, tilt_y) > limit


def equipment_readings(settings: PoleSettings, *, t: float) -> dict[str, float | bool | str]:
    """Mounted equipment: online flags, the EV charger's state and each PoE port's draw (W).

    Flat keys, as every reading: `poe_port_N_power` for port N (1-based, see POE_PORTS) and
    `poe_power` their total. A port whose device is offline draws nothing.
    """
    if settings.ev_charger_state not in EV_CHARGER_STATES:
        raise ValueError(
            f"ev_charger_state={settings.ev_charger_state!r}; use one of "
            f"{', '.join(EV_CHARGER_STATES)}"
        )
    online = {"camera": settings.camera_online, "wifi": True, "speaker": True, "spare": False}
    readings: dict[str, float | bool | str] = {
        "camera_online": settings.camera_online,
        "small_cell_online": settings.small_cell_online,
        "led_screen_online": settings.led_screen_online,
        "ev_charger_online": settings.ev_charger_state != "offline",
        "ev_charger_state": settings.ev_charger_state,
    }
    total = 0.0
    for number, (device, watts) in enumerate(POE_PORTS, start=1):
        power = 0.0
        if online[device] and watts > 0:
            power = watts + wobble(f"{settings.seed}/poe{number}", t, amplitude=0.3, period=30.0)
        readings[f"poe_port_{number}_power"] = power
        total += power
    readings["poe_power"] = total
    return readings
