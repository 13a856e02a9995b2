"""The logical points: what a profile may ask for, whatever the device calls it.

A device map binds these names to registers (or topics, or DL/T 645 identifiers); a profile
names them in its checks. The canonical unit fixes the dimension: a limit or a device map that
gives a supply voltage in lux is rejected when the file is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["POINTS", "ROLES", "PointSpec", "RoleSpec"]

# What each canonical unit measures, as the points catalogue (`ycsa-conform points`) says it.
_DIMENSIONS = {
    "V": "voltage",
    "A": "current",
    "mA": "current",
    "W": "power",
    "": "plain number",
    "Hz": "frequency",
    "kWh": "energy",
    "h": "duration",
    "d": "duration",
    "s": "time",
    "%": "ratio",
    "lx": "illuminance",
    "degC": "temperature",
    "µg/m^3": "mass concentration",
    "m/s": "speed",
    "mm/s": "speed",
    "deg": "angle",
    "flag": "on/off",
    "text": "text",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PointSpec:
    name: str
    unit: str  # canonical unit; "" is dimensionless, "text" a string, "flag" a boolean
    description: str

    @property
    def dimension(self) -> str:
        """What the unit measures: 'voltage', 'on/off', 'plain number'..."""
        return _DIMENSIONS[self.unit]


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleSpec:
    """A device role: the name a site gives a device under `devices:` and profiles check."""

    name: str
    description: str


def _catalogue(*specs: tuple[str, str, str]) -> MappingProxyType[str, PointSpec]:
    return MappingProxyType({n: PointSpec(name=n, unit=u, description=d) for n, u, d in specs})


# Names follow the TALQ LampMonitor / LampActuator vocabulary where one exists
# (docs/sources.md SP-DATA-011, R), in snake_case.
POINTS = _catalogue(
    # electrical (lamp controller, meter)
    ("supply_voltage", "V", "RMS supply voltage"),
    ("supply_current", "A", "RMS supply current"),
    ("active_power", "W", "active power"),
    ("power_factor", "", "power factor (0-1)"),
    ("frequency", "Hz", "supply frequency"),
    ("active_energy", "kWh", "total active energy"),
    ("operating_hours", "h", "lamp operating hours"),
    ("switch_on_counter", "", "number of switch-ons"),
    # lighting (lamp controller)
    ("target_light_command", "%", "commanded dimming level"),
    ("actual_light_state", "%", "dimming level the driver reports"),
    ("lamp_failure", "flag", "lamp failure flag"),
    ("device_clock", "s", "device clock as seconds since 1970-01-01 UTC"),
    # environment sensor
    ("ambient_illuminance", "lx", "ambient illuminance"),
    ("air_temperature", "degC", "air temperature"),
    ("relative_humidity", "%", "relative humidity"),
    ("pm2_5", "µg/m^3", "PM2.5 mass concentration"),
    ("pm10", "µg/m^3", "PM10 mass concentration"),
    ("wind_speed", "m/s", "wind speed"),
    # tilt sensor
    ("tilt_x", "deg", "inclination about x"),
    ("tilt_y", "deg", "inclination about y"),
    ("vibration_velocity", "mm/s", "RMS vibration velocity of the pole"),
    ("tilt_alarm", "flag", "inclination beyond the tilt alarm threshold"),
    ("tilt_alarm_threshold", "deg", "resultant inclination that raises a tilt alarm"),
    # lamp controller switching
    ("lamp_on", "flag", "lamp switched on (controller relay closed)"),
    ("auto_mode", "flag", "automatic (photocell) switching enabled"),
    ("switch_on_illuminance", "lx", "ambient illuminance below which the photocell switches on"),
    ("driver_failure", "flag", "LED driver failure flag"),
    # environment sensor: pint's dB is logarithmic (52 dB would convert to 158,489 as a plain
    # ratio), so the sound level is a plain number whose unit is implied: dB(A).
    ("noise_level", "", "A-weighted sound level in dB(A)"),
    # pole cabinet sensors (gateway)
    ("door_open", "flag", "pole door open"),
    ("water_immersion", "flag", "water in the pole base"),
    ("emergency_call", "flag", "emergency call button pressed"),
    # mounted equipment (gateway)
    ("camera_online", "flag", "camera online"),
    ("small_cell_online", "flag", "5G small cell online"),
    ("led_screen_online", "flag", "LED screen online"),
    ("ev_charger_online", "flag", "EV charger online"),
    ("ev_charger_state", "text", "EV charger state: available, charging, faulted or offline"),
    ("poe_power", "W", "total power delivered over the PoE ports"),
    # smart community subsystems (bench/community.py)
    # access control: doors, and the latest credential-to-unlock event
    ("doors_total", "", "access-controlled doors"),
    ("doors_online", "", "access-controlled doors reporting to the platform"),
    ("door_unlock_latency", "s", "credential presented to door unlocked, latest door event"),
    ("door_event_time", "s", "time of the latest door event, s since 1970-01-01 UTC"),
    # video surveillance: cameras and the recorder
    ("cameras_total", "", "cameras installed"),
    ("cameras_online", "", "cameras streaming to the recorder"),
    ("recorder_retention", "d", "age of the oldest footage the recorder can play back"),
    ("recorder_recording", "flag", "the recorder is recording"),
    # parking: spaces and the latest barrier event
    ("parking_spaces", "", "parking spaces"),
    ("parking_occupied", "", "parking spaces occupied"),
    ("barrier_open_latency", "s", "plate recognised to barrier open, latest barrier event"),
    ("barrier_event_time", "s", "time of the latest barrier event, s since 1970-01-01 UTC"),
    # intrusion and fire alarms: the latest alarm's trigger-to-platform delay
    ("intrusion_zones_total", "", "perimeter intrusion zones"),
    ("intrusion_zones_armed", "", "perimeter intrusion zones armed"),
    ("alarm_delivery_delay", "s", "alarm triggered to shown on the platform, latest alarm"),
    ("alarm_event_time", "s", "time of the latest alarm, s since 1970-01-01 UTC"),
    ("fire_detectors_total", "", "smoke and heat detectors"),
    ("fire_detectors_fault", "", "smoke and heat detectors reporting a fault"),
    ("fire_alarm_active", "flag", "a fire or smoke alarm is active"),
    # elevators
    ("elevators_total", "", "elevators"),
    ("elevators_in_service", "", "elevators in normal service"),
    ("elevator_fault", "flag", "an elevator reports a fault"),
    # EV charging
    ("chargers_total", "", "EV charging points"),
    ("chargers_in_use", "", "EV charging points charging a vehicle"),
    ("chargers_without_rcd", "", "EV charging points without a Type A or B RCD"),
    ("charger_rcd_fitted", "flag", "every EV charging point has a Type A or B RCD"),
    ("charger_rcd_rated_current", "mA", "rated residual operating current of the chargers' RCDs"),
    ("charger_rated_power", "W", "rated power of one EV charging point"),
    # community lighting (with the lamp points above)
    ("path_illuminance", "lx", "average maintained illuminance on community paths"),
)


# The device roles the built-in profiles check. A site names its devices by these roles; a
# device map says how the vendor's device exposes the points its role is read for.
ROLES = MappingProxyType(
    {
        r.name: r
        for r in (
            # smart pole
            RoleSpec(
                name="lamp",
                description="single-lamp controller: relay, dimming, photocell mode, the "
                "luminaire's own electrical readings and failure flags",
            ),
            RoleSpec(
                name="meter",
                description="the pole's energy meter: supply voltage, current, power, "
                "frequency, energy (DL/T 645 or Modbus)",
            ),
            RoleSpec(name="tilt", description="the pole's inclination and vibration sensor"),
            RoleSpec(
                name="environment",
                description="environment sensor or monitoring station: ambient illuminance, "
                "air temperature, humidity, particulates, wind, noise",
            ),
            RoleSpec(
                name="gateway",
                description="the pole's gateway to the platform (MQTT): telemetry, heartbeat, "
                "status, equipment, events, acknowledged commands",
            ),
            # smart community subsystems
            RoleSpec(name="access", description="access control: doors and unlock events"),
            RoleSpec(name="video", description="video surveillance: cameras and the recorder"),
            RoleSpec(name="parking", description="parking management: spaces and barriers"),
            RoleSpec(name="intrusion", description="perimeter intrusion alarm: zones and alarms"),
            RoleSpec(name="fire", description="fire alarm control panel: detectors and alarms"),
            RoleSpec(name="elevator", description="elevator monitoring"),
            RoleSpec(name="charging", description="EV charging points and their protection"),
            RoleSpec(name="lighting", description="community path lighting controller"),
        )
    }
)
