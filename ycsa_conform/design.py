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
    unit: str  # a unit; "" dimensionless; "text" free text (or one of `values`); "file" a path
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
        name="base_diameter",
        unit="mm",
        description="outside diameter of the shaft at the base; across flats for a polygonal shaft",
    ),
    DesignKey(
        name="top_diameter",
        unit="mm",
        description="outside diameter of the shaft at the top; across flats for a polygonal shaft",
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
        description="cross-section of the shaft (circular if not given); polygonal needs sides, "
        "and its diameters are then measured across flats",
        values=("circular", "polygonal"),
    ),
    DesignKey(
        name="sides",
        unit="",
        description="number of sides of a polygonal shaft: 8, 12 or 16 (regular polygon, "
        "diameters across flats)",
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
        description="altitude of the site, for the air density in the vortex check and the "
        "equipment's altitude rating",
    ),
    DesignKey(
        name="design_wind_vibration_factor",
        unit="",
        description="wind-vibration factor βz the design certificate used at the top of the pole "
        "(GB 50009-2012 8.4)",
    ),
    DesignKey(
        name="vortex_mitigation",
        unit="text",
        description="what the pole has against vortex-induced vibration (GB 50009-2012 8.5.3): "
        "none, a tuned damper or helical strakes",
        values=("none", "damper", "strakes"),
    ),
    DesignKey(
        name="rated_base_moment",
        unit="kN*m",
        description="design base bending moment of the pole's certificate (wind on shaft and "
        "equipment)",
    ),
    DesignKey(
        name="overturning_safety_factor",
        unit="",
        description="foundation overturning safety factor from the foundation design",
    ),
    DesignKey(
        name="poe_budget",
        unit="W",
        description="PoE power the pole's switch can supply in total (its PSE budget)",
    ),
    DesignKey(
        name="rated_altitude",
        unit="m",
        description="highest altitude the pole's electrical equipment is rated for "
        "(IEC 60664-1: 2000 m unless the maker rates it higher)",
    ),
    DesignKey(
        name="lanes",
        unit="",
        description="number of traffic lanes of the lit carriageway (GB/T 5700 grid: 3 points "
        "per lane)",
    ),
    DesignKey(
        name="photometric_file",
        unit="file",
        description="the luminaire's IES LM-63 photometric file, relative to the site file",
    ),
    DesignKey(
        name="mounting_height",
        unit="m",
        description="height of the luminaire above the road surface",
    ),
    DesignKey(
        name="overhang",
        unit="m",
        description="horizontal distance from the kerb to the luminaire, toward the road",
    ),
    DesignKey(
        name="luminaire_tilt",
        unit="degree",
        description="upward tilt of the luminaire toward the road (an upcast arm)",
    ),
    DesignKey(
        name="maintenance_factor",
        unit="",
        description="maintenance factor of the lighting design (CJJ 45: 0.70 above IP54, "
        "0.65 at IP54 or below)",
    ),
    DesignKey(
        name="threshold_increment",
        unit="percent",
        description="threshold increment TI of the lighting design report",
    ),
    DesignKey(
        name="surround_ratio",
        unit="",
        description="surround ratio SR of the lighting design report",
    ),
    # luminance (issue 15)
    DesignKey(
        name="lighting_layout",
        unit="text",
        description="arrangement of the poles: one row at the near kerb (one-sided), both kerbs "
        "face to face (opposite) or half a spacing apart (staggered), or a row in the central "
        "reserve with two arms (twin-central); one-sided if not given",
        values=("one-sided", "opposite", "staggered", "twin-central"),
    ),
    DesignKey(
        name="road_surface_class",
        unit="text",
        description="CIE road surface class for luminance (R1-R4, C1-C2); R3 if not given",
        values=("R1", "R2", "R3", "R4", "C1", "C2"),
    ),
    DesignKey(
        name="road_surface_q0",
        unit="",
        description="average luminance coefficient Q0 of the road surface (cd/m² per lx) when "
        "measured; the class's Q0 otherwise",
    ),
    DesignKey(
        name="road_surface_table",
        unit="file",
        description="the road surface's r-table (CSV: header of β in degrees, rows of tan γ "
        "then 10⁴·r), relative to the site file; a diffuse stand-in (tag I) if not given",
    ),
    DesignKey(
        name="road_surface_table_confidence",
        unit="text",
        description="confidence tag of road_surface_table (R read in the standard, S, M, U, I)",
        values=("R", "S", "M", "U", "I"),
    ),
    DesignKey(
        name="median_offset",
        unit="m",
        description="twin-central: distance from the far kerb to the pole (half the central "
        "reserve)",
    ),
    DesignKey(
        name="surround_strip_width",
        unit="m",
        description="width of the unobstructed strip (footway, verge) beyond each kerb; the "
        "SR strips are 5 m, half the carriageway or this, whichever is least",
    ),
)

# Each entry of `design.equipment`: a mounted device with its mass, projected area and height.
EQUIPMENT_FIELDS = MappingProxyType(
    {
        "mass": "kg",
        "area": "m^2",
        "height": "m",
        "shape_coefficient": "",
        "poe": "text",  # IEEE 802.3 PoE type of a PoE-powered device: af, at, bt-type3, bt-type4
    }
)
