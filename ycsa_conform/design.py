"""The design data a site declares for a target (the pole's drawings and certificates).

Compute checks read these keys; the site loader checks each value has the right dimension.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["DESIGN_KEYS", "EQUIPMENT_DOMAINS", "EQUIPMENT_FIELDS", "DesignKey"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DesignKey:
    name: str
    # a unit; "" dimensionless; "text" free text (or one of `values`); "file" a path; "list" a
    # list of entries the site loader parses itself (shaft_segments)
    unit: str
    description: str
    values: tuple[str, ...] = ()
    # The values that can be physically true, (low, high) inclusive in `unit`: a value outside
    # is a typo or a wrong unit (a negative mass, a 0 m pole spacing that divides by zero), refused
    # where the site is loaded. Broad on purpose: the bounds catch nonsense, not bad designs.
    domain: tuple[float, float] | None = None


def _keys(*keys: DesignKey) -> MappingProxyType[str, DesignKey]:
    return MappingProxyType({k.name: k for k in keys})


DESIGN_KEYS = _keys(
    DesignKey(
        name="height",
        unit="m",
        # street poles 3-15 m, high masts to about 40 m
        domain=(1, 100),
        description="pole height above ground",
    ),
    DesignKey(
        name="terrain_category",
        unit="text",
        description="GB 50009-2012 8.2.1 terrain roughness category",
        values=("A", "B", "C", "D"),
    ),
    DesignKey(
        name="basic_wind_pressure",
        unit="kN/m^2",
        # GB 50009 Table E.5 lists 0.1-1.9 kN/m2 for 50 years
        domain=(0.05, 5),
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
    DesignKey(
        name="luminaire_power",
        unit="W",
        # an LED street luminaire draws 10-400 W, a high-mast flood a few kW
        domain=(1, 10000),
        description="system power of one luminaire",
    ),
    DesignKey(
        name="luminaires_per_pole",
        # a pole carries one luminaire or a few
        domain=(1, 20),
        unit="",
        description="number of luminaires on a pole",
    ),
    DesignKey(
        name="pole_spacing",
        unit="m",
        # zero would divide the lit area by zero; street spacings are 15-60 m
        domain=(1, 500),
        description="distance between poles on one side",
    ),
    DesignKey(
        name="road_width",
        unit="m",
        # one lane is about 3 m; no carriageway is wider than a few hundred metres
        domain=(1, 200),
        description="lit carriageway width per pole row",
    ),
    DesignKey(
        name="luminaire_cct",
        unit="K",
        # candlelight is about 1800 K, a blue sky about 15000 K
        domain=(1000, 20000),
        description="correlated colour temperature",
    ),
    DesignKey(
        name="luminaire_ra",
        # Ra is at most 100 by definition
        domain=(0, 100),
        unit="",
        description="general colour rendering index Ra",
    ),
    DesignKey(
        name="rated_equipment_mass",
        unit="kg",
        # a mass cannot be negative; a pole carries at most a few hundred kg
        domain=(0, 10000),
        description="mounted-equipment mass the pole's design certificate allows",
    ),
    DesignKey(
        name="rated_attachment_moment",
        unit="kN*m",
        # a rated capacity cannot be negative
        domain=(0, 10000),
        description="base moment from wind on mounted equipment the certificate allows",
    ),
    DesignKey(
        name="rated_equipment_area",
        unit="m^2",
        # an area cannot be negative; a pole carries a few m2 of equipment
        domain=(0, 100),
        description="Σ shape coefficient × projected area of mounted equipment the certificate "
        "allows",
    ),
    DesignKey(
        name="base_diameter",
        unit="mm",
        # a shaft is tens to hundreds of mm across
        domain=(20, 5000),
        description="outside diameter of the shaft at the base; across flats for a polygonal shaft",
    ),
    DesignKey(
        name="top_diameter",
        unit="mm",
        # a shaft is tens to hundreds of mm across
        domain=(20, 5000),
        description="outside diameter of the shaft at the top; across flats for a polygonal shaft",
    ),
    DesignKey(
        name="wall_thickness",
        unit="mm",
        # zero would be no tube; poles use 2-20 mm
        domain=(0.5, 200),
        description="wall thickness of the shaft tube",
    ),
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
        # a polygon; 8, 12 and 16 are checked where the shaft is built
        domain=(3, 64),
        description="number of sides of a polygonal shaft: 8, 12 or 16 (regular polygon, "
        "diameters across flats)",
    ),
    DesignKey(
        name="first_frequency",
        unit="Hz",
        # zero would divide by zero; poles sway at 0.5-10 Hz
        domain=(0.01, 1000),
        description="first natural frequency of the pole (modal calculation or pluck test); "
        "estimated from the geometry if not given",
    ),
    DesignKey(
        name="site_altitude",
        unit="m",
        # the Dead Sea shore is at -430 m, Everest at 8849 m
        domain=(-500, 9000),
        description="altitude of the site, for the air density in the vortex check and the "
        "equipment's altitude rating",
    ),
    DesignKey(
        name="design_wind_vibration_factor",
        unit="",
        # βz = 1 + 2·g·I10·Bz·√(1+R²) is at least 1
        domain=(1, 10),
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
        # a rated capacity cannot be negative
        domain=(0, 100000),
        description="design base bending moment of the pole's certificate (wind on shaft and "
        "equipment)",
    ),
    DesignKey(
        name="overturning_safety_factor",
        unit="",
        # a factor, not a design judgement: nonsense only
        domain=(0.01, 1000),
        description="foundation overturning safety factor from the foundation design",
    ),
    # whole pole (issue 15)
    DesignKey(
        name="shaft_segments",
        unit="list",
        description="the shaft's segments bottom up as the shop drawing gives them: bottom "
        "(height of the segment's lower end, 0 m for the first), base_diameter, top_diameter "
        "(across flats for a polygonal shaft) and wall_thickness",
    ),
    DesignKey(
        name="door_bottom",
        unit="m",
        # a height above ground, on the pole
        domain=(0, 20),
        description="height of the bottom of the door opening above the base plate",
    ),
    DesignKey(
        name="door_height",
        unit="m",
        # zero would be no door opening
        domain=(0.01, 10),
        description="clear height of the door opening",
    ),
    DesignKey(
        name="door_width",
        unit="mm",
        # zero would be no door opening
        domain=(10, 5000),
        description="width of the door opening, the chord across its jambs (no credit is "
        "taken for a frame round it)",
    ),
    DesignKey(
        name="importance_factor",
        unit="",
        # γ0 is 0.9-1.1 in GB 55001 practice (M); broad bounds
        domain=(0.5, 2),
        description="structural importance factor γ0 (GB 55001-2021: 1.1 safety class 1, 1.0 "
        "class 2, 0.9 class 3); 1.0 if not given",
    ),
    DesignKey(
        name="seismic_intensity",
        unit="text",
        description="seismic fortification intensity of the site (GB 50011 Appendix A; Kunming 8)",
        values=("6", "7", "8", "9"),
    ),
    DesignKey(
        name="design_ground_acceleration",
        unit="",
        # in g: 0.05-0.40 g in GB 50011 (M)
        domain=(0, 2),
        description="design basic ground acceleration in g (GB 50011 Appendix A; Kunming 0.20)",
    ),
    DesignKey(
        name="site_class",
        unit="text",
        description="site class of GB 50011 4.1.6 from the geotechnical report",
        values=("I0", "I1", "II", "III", "IV"),
    ),
    DesignKey(
        name="seismic_design_group",
        unit="",
        # GB 50011 has groups 1, 2 and 3
        domain=(1, 3),
        description="design earthquake group 1, 2 or 3 (GB 50011 Appendix A)",
    ),
    DesignKey(
        name="characteristic_period",
        unit="s",
        # GB 50011 Table 5.1.4-2 gives 0.20-0.90 s
        domain=(0.01, 20),
        description="characteristic period Tg, instead of GB 50011 Table 5.1.4-2 by site class "
        "and group",
    ),
    DesignKey(
        name="seismic_alpha_max",
        unit="",
        # α_max of GB 50011 reaches 1.40 for rare earthquakes (M)
        domain=(0, 2),
        description="α_max of the frequent earthquake, instead of GB 50011 Table 5.1.4-1 by "
        "intensity",
    ),
    DesignKey(
        name="seismic_damping_ratio",
        unit="",
        # a damping ratio; steel poles about 0.01-0.02
        domain=(0.001, 0.5),
        description="damping ratio of the pole for the seismic spectrum (0.02 if not given)",
    ),
    DesignKey(
        name="poe_budget",
        unit="W",
        # a power budget cannot be negative
        domain=(0, 100000),
        description="PoE power the pole's switch can supply in total (its PSE budget)",
    ),
    # base plate, anchor bolts, foundation, fatigue (issue 15)
    DesignKey(
        name="base_plate_thickness",
        unit="mm",
        # zero would be no plate; plates are 10-60 mm
        domain=(1, 500),
        description="thickness of the base plate",
    ),
    DesignKey(
        name="base_plate_width",
        unit="mm",
        # zero would be no plate
        domain=(10, 10000),
        description="side of a square base plate, or diameter of a round one",
    ),
    DesignKey(
        name="base_plate_shape",
        unit="text",
        description="outline of the base plate (square if not given)",
        values=("square", "circular"),
    ),
    DesignKey(
        name="base_plate_grade",
        unit="text",
        description="steel of the base plate (the shaft's steel_grade if not given)",
        values=("Q235", "Q355"),
    ),
    DesignKey(
        name="base_weld_size",
        unit="mm",
        # zero would be no weld
        domain=(0.5, 200),
        description="leg h_f of the fillet weld joining the shaft to the base plate",
    ),
    DesignKey(
        name="anchor_bolt_count",
        unit="",
        # bolts on one circle
        domain=(3, 64),
        description="number of anchor bolts, evenly spaced on one circle (at least 4)",
    ),
    DesignKey(
        name="anchor_bolt_diameter",
        unit="mm",
        # zero would be no bolt; bolts are M16-M64
        domain=(1, 500),
        description="nominal thread diameter of the anchor bolts (M24 is 24 mm; coarse pitch)",
    ),
    DesignKey(
        name="anchor_bolt_circle_diameter",
        unit="mm",
        # zero would put every bolt on the axis
        domain=(10, 10000),
        description="diameter of the circle through the anchor bolts' centres",
    ),
    DesignKey(
        name="anchor_bolt_grade",
        unit="text",
        description="anchor rod steel (Q235, Q355) or bolt property class (4.6, 8.8)",
        values=("Q235", "Q355", "4.6", "8.8"),
    ),
    DesignKey(
        name="foundation_type",
        unit="text",
        description="pad (spread footing) or pile (a short bored pile)",
        values=("pad", "pile"),
    ),
    DesignKey(
        name="foundation_width",
        unit="m",
        # zero would be no foundation
        domain=(0.05, 50),
        description="pad width (the checks bend the pad along its shorter side)",
    ),
    DesignKey(
        name="foundation_length",
        unit="m",
        # zero would be no foundation
        domain=(0.05, 50),
        description="pad length (the width if not given: a square pad)",
    ),
    DesignKey(
        name="foundation_depth",
        unit="m",
        # zero would be no foundation
        domain=(0.05, 50),
        description="depth of the pad's underside below ground",
    ),
    DesignKey(
        name="pile_diameter",
        unit="m",
        # zero would be no pile
        domain=(0.05, 10),
        description="diameter of the bored pile",
    ),
    DesignKey(
        name="pile_length",
        unit="m",
        # zero would be no pile
        domain=(0.1, 200),
        description="embedded length of the bored pile",
    ),
    DesignKey(
        name="soil_type",
        unit="text",
        description="soil around a pile: cohesionless (sand, gravel; give the friction angle) "
        "or cohesive (clay; give the undrained shear strength)",
        values=("cohesionless", "cohesive"),
    ),
    DesignKey(
        name="soil_bearing_capacity",
        unit="kPa",
        # soft clay about 50 kPa, rock a few MPa
        domain=(1, 10000),
        description="corrected characteristic bearing capacity f_a under the pad "
        "(GB 50007, from the geotechnical report)",
    ),
    DesignKey(
        name="soil_unit_weight",
        unit="kN/m^3",
        # soils weigh 14-22 kN/m3
        domain=(1, 50),
        description="effective unit weight of the soil (buoyant below the water table)",
    ),
    DesignKey(
        name="soil_friction_angle",
        unit="degree",
        # an angle of internal friction lies between 0 and 90 degrees
        domain=(0, 90),
        description="internal friction angle of a cohesionless soil",
    ),
    DesignKey(
        name="soil_undrained_shear_strength",
        unit="kPa",
        # a strength cannot be negative
        domain=(0, 10000),
        description="undrained shear strength c_u of a cohesive soil",
    ),
    DesignKey(
        name="soil_base_friction",
        unit="",
        # a friction coefficient; 0.2-0.6 for concrete on soil
        domain=(0, 1.5),
        description="friction coefficient between the pad and the soil (0.30 if not given)",
    ),
    DesignKey(
        name="weld_detail_category",
        unit="text",
        description="fatigue detail category of the shaft-to-base-plate weld: AASHTO (E') or "
        "EN 1993-1-9 written 'EN 71'",
    ),
    DesignKey(
        name="anchor_bolt_detail_category",
        unit="text",
        description="fatigue detail category of the anchor bolts: AASHTO (D) or 'EN 50'",
    ),
    DesignKey(
        name="fatigue_importance_factor",
        unit="",
        # AASHTO I_F is at most 1 (M); broad bounds
        domain=(0, 2),
        description="AASHTO fatigue importance factor I_F (1.0 for category I)",
    ),
    DesignKey(
        name="fatigue_damping_ratio",
        unit="",
        # a damping ratio
        domain=(0.0001, 0.5),
        description="damping ratio of the pole for the vortex-shedding pressure (0.005 bare; "
        "more with a damper)",
    ),
    DesignKey(
        name="rated_altitude",
        unit="m",
        # equipment is rated for 1000-5000 m
        domain=(0, 9000),
        description="highest altitude the pole's electrical equipment is rated for "
        "(IEC 60664-1: 2000 m unless the maker rates it higher)",
    ),
    # supply cable (issue 15)
    DesignKey(
        name="supply_system",
        unit="text",
        description="how the feeder cable supplies the poles: single-phase (220 V line to "
        "neutral) or three-phase (380 V line to line, balanced)",
        values=("single-phase", "three-phase"),
    ),
    DesignKey(
        name="cable_material",
        unit="text",
        description="conductor of the feeder cable: Cu (copper) or Al (aluminium)",
        values=("Cu", "Al"),
    ),
    DesignKey(
        name="cable_cross_section",
        unit="mm^2",
        # zero would divide by zero; feeders are 2.5-240 mm2
        domain=(0.1, 2000),
        description="cross-section of one phase conductor of the feeder cable",
    ),
    DesignKey(
        name="cable_length",
        unit="m",
        # zero or negative lengths have no voltage drop to judge
        domain=(0.1, 100000),
        description="cable length from the cabinet to the first pole of the feeder",
    ),
    DesignKey(
        name="feeder_poles",
        unit="",
        # poles on one feeder
        domain=(1, 1000),
        description="number of poles on the feeder, this one included, spaced by pole_spacing "
        "after the first (1 if not given)",
    ),
    DesignKey(
        name="pole_load",
        unit="W",
        # a load cannot be negative
        domain=(0, 100000),
        description="electrical load of one pole on the feeder (luminaires and equipment); "
        "luminaire_power × luminaires_per_pole if not given",
    ),
    DesignKey(
        name="load_power_factor",
        unit="",
        # cos φ lies in (0, 1]
        domain=(0.01, 1),
        description="power factor of a pole's load, cos φ (0.9 if not given)",
    ),
    DesignKey(
        name="cable_reactance",
        unit="ohm/km",
        # a reactance per km cannot be negative; cables have about 0.08 ohm/km
        domain=(0, 10),
        description="reactance of one conductor of the feeder cable (0.08 Ω/km if not given)",
    ),
    DesignKey(
        name="lanes",
        unit="",
        # lanes of one carriageway
        domain=(1, 20),
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
        # zero would put the luminaire on the road
        domain=(0.5, 100),
        description="height of the luminaire above the road surface",
    ),
    DesignKey(
        name="overhang",
        unit="m",
        # negative is a setback behind the kerb
        domain=(-50, 50),
        description="horizontal distance from the kerb to the luminaire, toward the road",
    ),
    DesignKey(
        name="luminaire_tilt",
        unit="degree",
        # a tilt beyond vertical makes no sense
        domain=(-90, 90),
        description="upward tilt of the luminaire toward the road (an upcast arm)",
    ),
    DesignKey(
        name="maintenance_factor",
        unit="",
        # a maintained share of the initial output
        domain=(0.1, 1),
        description="maintenance factor of the lighting design (CJJ 45: 0.70 above IP54, "
        "0.65 at IP54 or below)",
    ),
    DesignKey(
        name="threshold_increment",
        unit="percent",
        # a TI is a percentage of the luminance difference
        domain=(0, 100),
        description="threshold increment TI of the lighting design report",
    ),
    DesignKey(
        name="surround_ratio",
        unit="",
        # SR of a design report; near 0.5-1
        domain=(0, 10),
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
        # Q0 of road surfaces is about 0.05-0.15 cd/m²/lx
        domain=(0.01, 1),
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
        # metres to the central reserve
        domain=(0, 100),
        description="twin-central: distance from the far kerb to the pole (half the central "
        "reserve)",
    ),
    DesignKey(
        name="surround_strip_width",
        unit="m",
        # metres of footway or verge
        domain=(0, 100),
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
        "arm": "m",  # bracket arm from the shaft's face to the device's centre
    }
)

# As DesignKey.domain, for a mounted device's fields: no negative masses, areas or heights; a
# pole carries devices of at most a few hundred kg at at most its own height.
EQUIPMENT_DOMAINS: MappingProxyType[str, tuple[float, float]] = MappingProxyType(
    {"mass": (0, 10_000), "area": (0, 100), "height": (0, 100), "arm": (0, 50)}
)
