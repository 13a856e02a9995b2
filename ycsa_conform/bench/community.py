"""The simulated smart community: its subsystems as they report to the community platform.

The scene is a residential community in Kunming on a mild evening: access-controlled doors,
video surveillance with a network recorder, a car park with barriers, perimeter intrusion
zones and fire detection, elevators, EV charging points, an environment station and path
lighting. Each subsystem is one device (a `model`) publishing JSON telemetry over MQTT through
the bench's `SimGateway`, like the pole gateway does; the platform reads it with the same
device maps (benches/devicemaps/community-*.yaml).

Events (a credential presented at a door, a plate at a barrier, an alarm) are not published on
topics of their own: each subsystem's telemetry carries its latest event, with the event's
time and the latency measured for it, so a reader sees them through the ordinary point reads.
One event happens every `event_period` s; latencies vary a little from event to event.

Every device of a subsystem also has an identity (`inventory`): the video subsystem's cameras
are CAM-001..CAM-048 and its recorder NVR-01, and so on (`DEVICE_CLASSES`). Each subsystem's
gateway publishes one retained status per device, `{"id", "type", "ts", "online"}` on
PREFIX/devices/ID; a device in `silent_devices` publishes nothing at all.

Magnitudes are plain floats in the canonical unit of each point (`point.POINTS`); noise is
deterministic (`physics.wobble`, phases from the seed). Every default stays inside the limits
of docs/sources.md (SC rows) with a margin, so no verdict depends on when a test runs.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import physics
from .physics import PoleSettings

__all__ = [
    "DEVICE_CLASSES",
    "MODELS",
    "Community",
    "CommunitySettings",
    "DeviceStatus",
    "inventory",
]

# The simulation models a bench definition with `simulation: community` may name.
MODELS = (
    "access-control",
    "video-surveillance",
    "parking",
    "intrusion-alarm",
    "fire-alarm",
    "elevator",
    "community-environment",
    "ev-charging",
    "community-lighting",
)

Readings = dict[str, float | bool | str]  # as `physics` gives them


@dataclass(frozen=True, slots=True, kw_only=True)
class CommunitySettings:
    """What the simulated community is like. Faults (`bench.fault`) replace some of these."""

    # Access control. SC-005: credential to unlock ≤ 2 s (GB 50396, U; a profile parameter).
    doors_total: int = 36
    doors_offline: int = 0
    unlock_latency: float = 0.6  # s, credential presented to door unlocked
    # Video. SC-003: footage kept ≥ 30 days (GB 50348-2018 / GB 55029-2022, U).
    cameras_total: int = 48
    cameras_offline: int = 0
    recorder_retention: float = 32.0  # d, age of the oldest playable footage
    # Parking.
    parking_spaces: int = 320
    parking_occupied: int = 187  # around which occupancy drifts
    barriers_total: int = 4
    barrier_latency: float = 0.9  # s, plate recognised to barrier open
    # Alarms. SC-004: intrusion alarm shown ≤ 2 s on dedicated or LAN links (GB 50394, U).
    # The fire alarm panel reports over the same LAN, so it shares the delay.
    intrusion_zones: int = 12
    alarm_delay: float = 0.8  # s, alarm triggered to shown on the platform
    fire_detectors: int = 260
    fire_detectors_fault: int = 0
    fire_alarm: bool = False
    # Elevators.
    elevators_total: int = 8
    elevators_out_of_service: int = 0
    elevator_fault: bool = False
    # EV charging. SC-007: AC chargers with a Type A/B RCD of 30 mA, 7 kW single-phase typical
    # (GB/T 18487.1, M).
    chargers_total: int = 24
    chargers_without_rcd: int = 0
    charger_rcd_current: float = 30.0  # mA
    charger_power: float = 7000.0  # W
    # Path lighting. SC-006: CJJ 45 pedestrian classes 3-4, E_av 5-7.5 lx (U / M); the
    # luminaires give 7 lx on the paths at full output, inside the band either way it is read.
    path_illuminance: float = 7.0  # lx at 100 % output
    lighting_power: float = 36.0  # W of one path luminaire at 100 % output
    path_luminaires: int = 40
    event_period: float = 10.0  # s between simulated events of each subsystem
    # Fault switches the bench's gateways read (`fault.configure_gateway`), as on the pole.
    silent_roles: frozenset[str] = field(default_factory=frozenset)  # heartbeats stop
    malformed_roles: frozenset[str] = field(default_factory=frozenset)  # JSON cut in half
    schema_violation: bool = False  # telemetry breaks its JSON Schema
    # Device ids (CAM-017, DOOR-007) that never publish a status: a dead camera, a controller
    # whose network card failed. The subsystem's counts say offline separately (a fault sets both).
    silent_devices: frozenset[str] = field(
        default_factory=frozenset,
        metadata={"wanted": "a list of device ids", "example": "[CAM-017]"},
    )
    seed: str = "kunming"


def latest_event(settings: CommunitySettings, *, epoch: float, name: str) -> tuple[float, int]:
    """The time (s since 1970 UTC) and number of the latest event of subsystem `name`."""
    period = settings.event_period
    offset = physics.wobble(f"{settings.seed}/{name}/offset", 0.0, amplitude=0.4, period=1.0)
    shift = (0.5 + offset) * period  # subsystems' events do not all fall on the same second
    number = math.floor((epoch - shift) / period)
    return number * period + shift, number


def event_latency(settings: CommunitySettings, base: float, *, name: str, number: int) -> float:
    """The latency of event `number`: `base` ± 10 %, different for every event."""
    return base * (
        1.0 + physics.wobble(f"{settings.seed}/{name}", number, amplitude=0.1, period=7.3)
    )


def access_readings(settings: CommunitySettings, *, epoch: float) -> Readings:
    when, number = latest_event(settings, epoch=epoch, name="door")
    return {
        "doors_total": float(settings.doors_total),
        "doors_online": float(settings.doors_total - settings.doors_offline),
        "door_unlock_latency": event_latency(
            settings, settings.unlock_latency, name="door", number=number
        ),
        "door_event_time": when,
    }


def video_readings(settings: CommunitySettings) -> Readings:
    return {
        "cameras_total": float(settings.cameras_total),
        "cameras_online": float(settings.cameras_total - settings.cameras_offline),
        "recorder_retention": settings.recorder_retention,
        "recorder_recording": True,
    }


def parking_readings(settings: CommunitySettings, *, t: float, epoch: float) -> Readings:
    drift = physics.wobble(f"{settings.seed}/parking", t, amplitude=6.0, period=600.0)
    occupied = min(settings.parking_spaces, max(0, round(settings.parking_occupied + drift)))
    when, number = latest_event(settings, epoch=epoch, name="barrier")
    return {
        "parking_spaces": float(settings.parking_spaces),
        "parking_occupied": float(occupied),
        "barrier_open_latency": event_latency(
            settings, settings.barrier_latency, name="barrier", number=number
        ),
        "barrier_event_time": when,
    }


def alarm_delivery(settings: CommunitySettings, *, epoch: float, name: str) -> Readings:
    when, number = latest_event(settings, epoch=epoch, name=name)
    return {
        "alarm_delivery_delay": event_latency(
            settings, settings.alarm_delay, name=name, number=number
        ),
        "alarm_event_time": when,
    }


def intrusion_readings(settings: CommunitySettings, *, epoch: float) -> Readings:
    return {
        "intrusion_zones_total": float(settings.intrusion_zones),
        "intrusion_zones_armed": float(settings.intrusion_zones),
        **alarm_delivery(settings, epoch=epoch, name="intrusion"),
    }


def fire_readings(settings: CommunitySettings, *, epoch: float) -> Readings:
    return {
        "fire_detectors_total": float(settings.fire_detectors),
        "fire_detectors_fault": float(settings.fire_detectors_fault),
        "fire_alarm_active": settings.fire_alarm,
        **alarm_delivery(settings, epoch=epoch, name="fire"),
    }


def elevator_readings(settings: CommunitySettings) -> Readings:
    return {
        "elevators_total": float(settings.elevators_total),
        "elevators_in_service": float(settings.elevators_total - settings.elevators_out_of_service),
        "elevator_fault": settings.elevator_fault,
    }


def charging_readings(settings: CommunitySettings, *, t: float) -> Readings:
    drift = physics.wobble(f"{settings.seed}/charging", t, amplitude=2.0, period=900.0)
    in_use = min(settings.chargers_total, max(0, round(9 + drift)))  # an evening's plug-ins
    return {
        "chargers_total": float(settings.chargers_total),
        "chargers_in_use": float(in_use),
        "chargers_without_rcd": float(settings.chargers_without_rcd),
        "charger_rcd_fitted": settings.chargers_without_rcd == 0,
        "charger_rcd_rated_current": settings.charger_rcd_current,
        "charger_rated_power": settings.charger_power,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStatus:
    """One device of a subsystem as its retained status reports it."""

    id: str
    type: str  # the device class: camera, door, ...
    online: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceClass:
    """A class of device of a subsystem and how its ids are formed."""

    name: str  # as the status's "type" reports it
    prefix: str  # CAM -> CAM-001
    digits: int  # zero-padded width of the number
    total: str  # the CommunitySettings field that counts them ("" for exactly one)
    offline: str = ""  # the CommunitySettings field that counts those offline

    def ids(self, settings: CommunitySettings) -> list[str]:
        count = int(getattr(settings, self.total)) if self.total else 1
        return [f"{self.prefix}-{n:0{self.digits}d}" for n in range(1, count + 1)]


# The devices of each simulation model, in the order their statuses are published.
DEVICE_CLASSES: dict[str, tuple[DeviceClass, ...]] = {
    "access-control": (
        DeviceClass(
            name="door", prefix="DOOR", digits=3, total="doors_total", offline="doors_offline"
        ),
    ),
    "video-surveillance": (
        DeviceClass(
            name="camera", prefix="CAM", digits=3, total="cameras_total", offline="cameras_offline"
        ),
        DeviceClass(name="recorder", prefix="NVR", digits=2, total=""),
    ),
    "parking": (DeviceClass(name="barrier", prefix="BAR", digits=2, total="barriers_total"),),
    "intrusion-alarm": (
        DeviceClass(name="zone", prefix="ZONE", digits=2, total="intrusion_zones"),
    ),
    "fire-alarm": (DeviceClass(name="panel", prefix="FACP", digits=2, total=""),),
    "elevator": (DeviceClass(name="elevator", prefix="ELV", digits=2, total="elevators_total"),),
    "community-environment": (DeviceClass(name="station", prefix="ENV", digits=2, total=""),),
    "ev-charging": (DeviceClass(name="charger", prefix="EVC", digits=2, total="chargers_total"),),
    "community-lighting": (
        DeviceClass(name="luminaire", prefix="LUM", digits=3, total="path_luminaires"),
    ),
}


def inventory(settings: CommunitySettings, model: str) -> tuple[DeviceStatus, ...]:
    """The devices of `model` that publish a status, silent ones left out.

    A class's offline count covers its silent devices first (a dead camera is one of the
    cameras counted offline), then the highest-numbered of the others report offline.
    """
    if model not in DEVICE_CLASSES:
        raise ValueError(f"unknown simulation model {model!r}; known: {', '.join(MODELS)}")
    statuses: list[DeviceStatus] = []
    for kind in DEVICE_CLASSES[model]:
        ids = kind.ids(settings)
        offline_count = int(getattr(settings, kind.offline)) if kind.offline else 0
        speaking = [i for i in ids if i not in settings.silent_devices]
        silent_count = len(ids) - len(speaking)
        offline_count = max(0, offline_count - silent_count)
        offline = set(speaking[len(speaking) - offline_count :]) if offline_count else set()
        statuses.extend(
            DeviceStatus(id=i, type=kind.name, online=i not in offline) for i in speaking
        )
    return tuple(statuses)


def _lamp_settings(settings: CommunitySettings) -> PoleSettings:
    """The pole's lamp physics, fitted with a path luminaire."""
    return PoleSettings(rated_power=settings.lighting_power, seed=f"{settings.seed}/lighting")


class Community:
    """The community's state: the path-lighting dimming command; the rest is computed on read.

    The bench's gateways publish from threads of their own, so every access takes the lock.
    """

    def __init__(
        self,
        settings: CommunitySettings,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._monotonic = monotonic
        self._started = monotonic()
        self.target = 100.0  # % dimming of the path lighting; it starts at full output
        self._lock = threading.Lock()

    def command(self, point: str, value: float | bool) -> None:
        """A write the platform made and the device accepted."""
        if point == "target_light_command":
            with self._lock:
                self.target = min(100.0, max(0.0, float(value)))

    def readings(self, model: str) -> Readings:
        """The values a device of `model` reports now, in canonical units."""
        with self._lock:
            return self._readings(model)

    def inventory(self, model: str) -> tuple[DeviceStatus, ...]:
        """The devices of `model` that publish a status (see `inventory`)."""
        return inventory(self.settings, model)

    def _readings(self, model: str) -> Readings:
        s = self.settings
        t = self._monotonic() - self._started
        epoch = self._clock()
        clock: Readings = {"device_clock": float(math.floor(epoch))}
        if model == "access-control":
            return {**clock, **access_readings(s, epoch=epoch)}
        if model == "video-surveillance":
            return {**clock, **video_readings(s)}
        if model == "parking":
            return {**clock, **parking_readings(s, t=t, epoch=epoch)}
        if model == "intrusion-alarm":
            return {**clock, **intrusion_readings(s, epoch=epoch)}
        if model == "fire-alarm":
            return {**clock, **fire_readings(s, epoch=epoch)}
        if model == "elevator":
            return {**clock, **elevator_readings(s)}
        if model == "community-environment":
            return {**clock, **physics.environment_readings(_lamp_settings(s), t=t)}
        if model == "ev-charging":
            return {**clock, **charging_readings(s, t=t)}
        if model == "community-lighting":
            lamp_settings = _lamp_settings(s)
            level = physics.light_level(self.target, lamp_settings)
            lamp = physics.lamp_readings(
                lamp_settings, t=t, epoch=epoch, target=self.target, energy=0.0, hours=0.0
            )
            return {
                **clock,
                **{k: lamp[k] for k in _LIGHTING_POINTS},
                "path_illuminance": s.path_illuminance * level / 100.0,
            }
        raise ValueError(f"unknown simulation model {model!r}; known: {', '.join(MODELS)}")


_LIGHTING_POINTS = (
    "target_light_command",
    "actual_light_state",
    "lamp_failure",
    "supply_voltage",
    "active_power",
)
