"""The design data a site declares for a target (the pole's drawings and certificates).

Compute checks read these keys; the site loader checks each value has the right dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["DESIGN_KEYS", "EQUIPMENT_FIELDS", "DesignKey"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignKey:
    name: str
    unit: str  # a unit; "" dimensionless; "text" free text (or one of `values`)
    description: str
    values: tuple[str, ...] = ()


def _keys(*keys: DesignKey) -> MappingProxyType[str, DesignKey]:
    return MappingProxyType({k.name: k for k in keys})


DESIGN_KEYS = _keys(
    DesignKey(name="height", unit="m", description="pole height above ground"),
    DesignKey(
        name="terrain_category",
        unit="text",
        description="GB 50009-2012 8.2.1 terrain roughness category",
        values=("A", "B", "C", "D"),
    ),
    DesignKey(
        name="basic_wind_pressure",
        unit="kN/m^2",
        description="basic wind pressure w0 the structure was designed for",
    ),
    DesignKey(
        name="road_class",
        unit="text",
        description="CJJ 45-2015 lighting level of the road",
        values=("I", "II", "III"),
    ),
    DesignKey(
        name="lighting_grade",
        unit="text",
        description="CJJ 45-2015 grade within the level",
        values=("low", "high"),
    ),
    DesignKey(name="luminaire_power", unit="W", description="system power of one luminaire"),
    DesignKey(name="luminaires_per_pole", unit="", description="number of luminaires on a pole"),
    DesignKey(name="pole_spacing", unit="m", description="distance between poles on one side"),
    DesignKey(name="road_width", unit="m", description="lit carriageway width per pole row"),
    DesignKey(name="luminaire_cct", unit="K", description="correlated colour temperature"),
    DesignKey(name="luminaire_ra", unit="", description="general colour rendering index Ra"),
    DesignKey(
        name="rated_equipment_mass",
        unit="kg",
        description="mounted-equipment mass the pole's design certificate allows",
    ),
    DesignKey(
        name="rated_attachment_moment",
        unit="kN*m",
        description="base moment from wind on mounted equipment the certificate allows",
    ),
    DesignKey(
        name="rated_equipment_area",
        unit="m^2",
        description="Σ shape coefficient × projected area of mounted equipment the certificate "
        "allows",
    ),
    DesignKey(
        name="base_diameter", unit="mm", description="outside diameter of the shaft at the base"
    ),
    DesignKey(
        name="top_diameter", unit="mm", description="outside diameter of the shaft at the top"
    ),
    DesignKey(name="wall_thickness", unit="mm", description="wall thickness of the shaft tube"),
    DesignKey(
        name="steel_grade",
        unit="text",
        description="steel of the shaft (GB/T 700 Q235, GB/T 1591 Q355)",
        values=("Q235", "Q355"),
    ),
    DesignKey(
        name="section_shape",
        unit="text",
        description="cross-section of the shaft (circular if not given)",
        values=("circular", "polygonal"),
    ),
    DesignKey(
        name="first_frequency",
        unit="Hz",
        description="first natural frequency of the pole (modal calculation or pluck test); "
        "estimated from the geometry if not given",
    ),
    DesignKey(
        name="site_altitude",
        unit="m",
        description="altitude of the site, for the air density in the vortex check",
    ),
)

# Each entry of `design.equipment`: a mounted device with its mass, projected area and height.
EQUIPMENT_FIELDS = MappingProxyType(
    {
        "mass": "kg",
        "area": "m^2",
        "height": "m",
        "shape_coefficient": "",
    }
)
