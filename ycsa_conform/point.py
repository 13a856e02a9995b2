"""The logical points: what a profile may ask for, whatever the device calls it.

A device map binds these names to registers (or topics, or DL/T 645 identifiers); a profile
names them in its checks. The canonical unit fixes the dimension: a limit or a device map that
gives a supply voltage in lux is rejected when the file is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["POINTS", "PointSpec"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PointSpec:
    name: str
    unit: str  # canonical unit; "" is dimensionless, "text" a string, "flag" a boolean
    description: str


def _catalogue(*specs: tuple[str, str, str]) -> MappingProxyType[str, PointSpec]:
    return MappingProxyType({n: PointSpec(name=n, unit=u, description=d) for n, u, d in specs})


# Names follow the TALQ LampMonitor / LampActuator vocabulary where one exists
# (reference/standards.md SP-DATA-011, R), in snake_case.
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
)
