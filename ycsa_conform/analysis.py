"""A target's design data turned into engineering inputs and results, in one place.

`structure(target)` builds the pole shaft and its attachments from `design` and runs
`engineering.pole.analyse_pole` and `equipment_budget`; `lighting(target)` builds the road
layout from the photometric file and predicts the GB/T 5700 field grid. The `compute` formulas
and the `ycsa-conform loads` / `ycsa-conform lighting` commands both call these, so a report and
the command line show the same numbers by construction.

Both are memoised on the design data itself (not on the target object), so the many
requirements that read one pole compute it once, and two poles with the same design share it.
The cache holds results of pure functions only; it carries no state between runs.

Errors: `MissingDesignData` (a key the calculation needs is absent) and its subclass
`UnusableDesignData` (the values contradict each other or a table); both name the target,
the key and the fix.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pint

from .design import DESIGN_KEYS
from .engineering import base, fatigue, foundation, pole, seismic, wind
from .engineering import lighting as lighting_tables
from .engineering import luminance as luminance_tables
from .engineering.actions import Limit
from .engineering.lighting import GridMethod, GridStats, IlluminanceGrid, RoadLightingClass
from .engineering.photometry import (
    GlareIntensities,
    Photometry,
    RoadLayout,
    glare_intensities,
    read_grid_csv,
    read_photometry,
    upward_light_ratio,
)
from .errors import InputError
from .site import Target
from .units import Quantity

__all__ = [
    "LIGHTING_KEYS",
    "STRUCTURE_KEYS",
    "Budget",
    "LightingDesign",
    "LuminanceDesign",
    "MissingDesignData",
    "PhotometricFigures",
    "Structure",
    "UnusableDesignData",
    "equipment_budget",
    "lighting",
    "luminance",
    "measured_grid",
    "photometric_figures",
    "predicted_at",
    "structure",
]


class MissingDesignData(LookupError):
    """The site does not declare a design value the calculation needs."""


class UnusableDesignData(MissingDesignData):
    """The site's design values cannot be calculated with (a wall thicker than the tube...)."""


# Design keys each calculation cannot do without, with an example value for the fix.
STRUCTURE_KEYS = {
    "height": "10 m",
    "terrain_category": "C",
    "basic_wind_pressure": "0.30 kN/m^2",
    "base_diameter": "219 mm",
    "top_diameter": "114 mm",
    "wall_thickness": "5 mm",
    "steel_grade": "Q355",
}
LIGHTING_KEYS = {
    "road_class": "II",
    "lighting_grade": "high",
    "photometric_file": "photometry/luminaire.ies",
    "pole_spacing": "35 m",
    "road_width": "15 m",
    "lanes": "4",
    "mounting_height": "10 m",
    "overhang": "1.5 m",
    "luminaire_tilt": "5 deg",
    "maintenance_factor": "0.70",
}


def require(target: Target, keys: dict[str, str]) -> None:
    """MissingDesignData naming every absent key of `keys` at once, with an example value."""
    missing = [k for k in keys if k not in target.design]
    if not missing:
        return
    listed = ", ".join(f"design.{k} ({DESIGN_KEYS[k].description})" for k in missing)
    examples = ", ".join(f"'{k}: {keys[k]}'" for k in missing)
    raise MissingDesignData(
        f"target {target.id} declares no {listed}; add {examples} to its design block at "
        f"{target.origin}"
    )


def _q(target: Target, key: str) -> pint.Quantity[Any]:
    value = target.design[key]
    assert isinstance(value, pint.Quantity), key  # the site loader parsed it by DESIGN_KEYS
    return value


def _optional_q(target: Target, key: str) -> pint.Quantity[Any] | None:
    return _q(target, key) if key in target.design else None


@dataclass(frozen=True, slots=True)
class _Inputs:
    """A target, hashed and compared by the design data the calculation reads."""

    key: tuple[object, ...]
    target: Target = field(compare=False, hash=False)


def _inputs(target: Target, *extra: object) -> _Inputs:
    design = tuple(sorted((k, str(v)) for k, v in target.design.items()))
    shop = (tuple(map(repr, target.equipment)), tuple(map(repr, target.shaft_segments)))
    return _Inputs(key=(design, *shop, *extra), target=target)


# --- structure ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Structure:
    shaft: pole.PoleShaft
    attachments: tuple[pole.Attachment, ...]
    loads: pole.PoleLoads
    budget: tuple[pole.Check, ...]  # the equipment rows the design has ratings for
    top_wind_vibration_factor: float  # βz at the top, 8.4, with the analysis' f1
    # Below the shaft (engineering/base.py, foundation.py, fatigue.py): None where the design
    # declares none of it. Base plate and bolts per ultimate combination, the foundation per
    # characteristic one; fatigue takes its defaults when nothing is declared.
    base_connection: tuple[pole.Check, ...] | None = None
    foundation: tuple[pole.Check, ...] | None = None
    fatigue: tuple[pole.Check, ...] = ()

    def check(self, name: str) -> pole.Check:
        """A check of `analyse_pole` or `equipment_budget` by name ('base stress'...)."""
        for c in (*self.loads.checks, *self.budget):
            if c.name == name:
                return c
        raise KeyError(name)


def _attachments(target: Target) -> tuple[pole.Attachment, ...]:
    return tuple(
        pole.Attachment(
            name=e.name,
            mass=e.mass,
            area=e.area,
            height=e.height,
            # Without a declared μs every attachment kind takes 1.3 (I).
            shape_coefficient=wind.attachment_shape_coefficient(
                wind.AttachmentKind.BOX, declared=e.shape_coefficient
            ),
            arm=e.arm,
        )
        for e in target.equipment
    )


def _budget_rows(
    target: Target, attachments: tuple[pole.Attachment, ...]
) -> tuple[pole.Check, ...]:
    rated_moment = _optional_q(target, "rated_attachment_moment")
    if rated_moment is not None:
        require(target, {k: STRUCTURE_KEYS[k] for k in ("terrain_category", "basic_wind_pressure")})
    return pole.equipment_budget(
        attachments,
        terrain=str(target.design.get("terrain_category", "B")),  # only read with a moment rating
        w0=_optional_q(target, "basic_wind_pressure") or wind.MIN_BASIC_WIND_PRESSURE,
        rated_mass=_optional_q(target, "rated_equipment_mass"),
        rated_moment=rated_moment,
        rated_area=_optional_q(target, "rated_equipment_area"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    rows: tuple[pole.Check, ...]  # one per rating the design declares

    def check(self, name: str) -> pole.Check:
        """A row by name: 'equipment mass', 'attachment moment', 'equipment μs·A'."""
        for c in self.rows:
            if c.name == name:
                return c
        raise KeyError(name)


def equipment_budget(target: Target) -> Budget:
    """The mounted equipment against the certificate's ratings (SP-LOAD-009, I).

    Needs no shaft data; the attachment moment needs terrain and w0. `structure` carries the
    same rows.
    """
    return _budget(_inputs(target))


@functools.lru_cache(maxsize=64)
def _budget(inputs: _Inputs) -> Budget:
    target = inputs.target
    try:
        return Budget(rows=_budget_rows(target, _attachments(target)))
    except ValueError as exc:
        raise UnusableDesignData(
            f"target {target.id}: {exc}; correct the design block at {target.origin}"
        ) from None


def structure(
    target: Target,
    *,
    deflection_limit_ratio: float = pole.DEFLECTION_LIMIT_RATIO,
    min_safety_factor: float = foundation.MIN_SAFETY_FACTOR,
) -> Structure:
    """Wind loads, structural checks, the equipment budget and the checks below the shaft.

    `min_safety_factor` is the foundation's least overturning and sliding safety factor.
    """
    require(target, STRUCTURE_KEYS)
    return _structure(_inputs(target, deflection_limit_ratio, min_safety_factor))


def _number(target: Target, key: str) -> float | None:
    value = target.design.get(key)
    if value is None:
        return None
    assert isinstance(value, float), key  # the loader gives numbers for unit ""
    return value


def _door(target: Target) -> pole.DoorOpening | None:
    keys = ("door_bottom", "door_height", "door_width")
    given = [k for k in keys if k in target.design]
    if not given:
        return None
    require(target, {"door_bottom": "0.5 m", "door_height": "0.6 m", "door_width": "150 mm"})
    return pole.DoorOpening(
        bottom=_q(target, "door_bottom"),
        height=_q(target, "door_height"),
        width=_q(target, "door_width"),
    )


def _seismic(target: Target) -> seismic.Seismic | None:
    """The site's seismic input, or None where the design declares no intensity."""
    design = target.design
    if "seismic_intensity" not in design:
        return None
    intensity = str(design["seismic_intensity"])
    require(
        target,
        {"design_ground_acceleration": "0.20"}
        | ({} if "characteristic_period" in design else {"site_class": "II"})
        | ({} if "characteristic_period" in design else {"seismic_design_group": "3"}),
    )
    g = _number(target, "design_ground_acceleration")
    assert g is not None
    acceleration = Quantity(g, "gravity")
    declared_alpha = _number(target, "seismic_alpha_max")
    alpha = (
        declared_alpha if declared_alpha is not None else seismic.alpha_max(intensity, acceleration)
    )
    period = _optional_q(target, "characteristic_period")
    if period is None:
        group = _number(target, "seismic_design_group")
        assert group is not None
        site_class = str(design["site_class"])
        period = seismic.characteristic_period(site_class, int(group))
        tg = f"Tg by site class {site_class}, group {int(group)} (GB 50011 Table 5.1.4-2, M)"
    else:
        tg = "Tg as declared (design.characteristic_period)"
    alpha_basis = (
        "α_max as declared (design.seismic_alpha_max)"
        if declared_alpha is not None
        else f"α_max of intensity {intensity}, {g:g} g, frequent earthquake (GB 50011 Table "
        "5.1.4-1, M)"
    )
    damping = _number(target, "seismic_damping_ratio")
    return seismic.Seismic(
        intensity=intensity,
        acceleration=acceleration,
        alpha_max=alpha,
        characteristic_period=period,
        damping_ratio=damping if damping is not None else seismic.POLE_DAMPING_RATIO,
        basis=f"{alpha_basis}; {tg}; ζ "
        + ("as declared" if damping is not None else "0.02 (U, tower practice)"),
    )


@functools.lru_cache(maxsize=64)
def _structure(inputs: _Inputs) -> Structure:
    target = inputs.target
    deflection_limit_ratio, min_safety_factor = inputs.key[-2:]
    assert isinstance(deflection_limit_ratio, float), deflection_limit_ratio
    assert isinstance(min_safety_factor, float), min_safety_factor
    design = target.design
    attachments = _attachments(target)
    terrain, w0 = str(design["terrain_category"]), _q(target, "basic_wind_pressure")
    altitude = _optional_q(target, "site_altitude")
    sides = design.get("sides")  # the loader gives a number; the schema allows 8, 12, 16
    try:
        shaft = pole.PoleShaft(
            height=_q(target, "height"),
            base_diameter=_q(target, "base_diameter"),
            top_diameter=_q(target, "top_diameter"),
            wall_thickness=_q(target, "wall_thickness"),
            steel_grade=pole.SteelGrade(str(design["steel_grade"])),
            shape=wind.SectionShape(str(design.get("section_shape", "circular"))),
            sides=int(sides) if isinstance(sides, float) else None,
            segments=tuple(
                pole.ShaftSegment(
                    bottom=g.bottom,
                    base_diameter=g.base_diameter,
                    top_diameter=g.top_diameter,
                    wall_thickness=g.wall_thickness,
                )
                for g in target.shaft_segments
            ),
            door=_door(target),
        )
        importance = _number(target, "importance_factor")
        loads = pole.analyse_pole(
            shaft,
            attachments,
            terrain=terrain,
            w0=w0,
            first_frequency=_optional_q(target, "first_frequency"),
            air_density=wind.air_density(altitude) if altitude is not None else None,
            deflection_limit_ratio=deflection_limit_ratio,
            importance_factor=importance if importance is not None else pole.IMPORTANCE_FACTOR,
            seismic_input=_seismic(target),
        )
        budget = _budget_rows(target, attachments)
        below = _below_the_shaft(target, loads, min_safety_factor)
        beta_top = wind.wind_vibration_factor(
            shaft.height,
            height=shaft.height,
            terrain=terrain,
            w0=w0,
            first_frequency=loads.first_frequency,
        )
    except ValueError as exc:
        raise UnusableDesignData(
            f"target {target.id}: {exc}; correct the design block at {target.origin}"
        ) from None
    return Structure(
        shaft=shaft,
        attachments=attachments,
        loads=loads,
        budget=budget,
        top_wind_vibration_factor=beta_top,
        base_connection=below[0],
        foundation=below[1],
        fatigue=below[2],
    )


def _below_the_shaft(
    target: Target, loads: pole.PoleLoads, min_safety_factor: float
) -> tuple[tuple[pole.Check, ...] | None, tuple[pole.Check, ...] | None, tuple[pole.Check, ...]]:
    """Base plate and anchor bolts, foundation and fatigue under the pole's base actions.

    Each row carries the combination it was checked under. The seismic combinations are
    judged against f itself, without GB 50011's γRE = 0.75 relief (on the safe side).
    """
    design: Mapping[str, object] = target.design
    connection = base.from_design(design)
    base_rows: tuple[pole.Check, ...] | None = None
    if connection is not None:
        base_rows = tuple(
            dataclasses.replace(c, combination=a.combination)
            for a in loads.base_actions
            if a.limit is Limit.ULTIMATE
            for c in base.check_base(a, connection, loads.base_section)
        )
    found = foundation.from_design(design)
    foundation_rows: tuple[pole.Check, ...] | None = None
    if found is not None:
        foundation_rows = tuple(
            dataclasses.replace(c, combination=a.combination)
            for a in loads.base_actions
            if a.limit is Limit.CHARACTERISTIC
            for c in foundation.check_foundation(a, found, safety_factor=min_safety_factor)
        )
    declared = fatigue.from_design(design)
    fatigue_rows = fatigue.check_fatigue(
        loads,
        declared if declared is not None else fatigue.FatigueDesign(),
        connection.bolts if connection is not None else None,
    )
    return base_rows, foundation_rows, fatigue_rows


# --- lighting -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LightingDesign:
    """The declared road, luminaire and layout, and the predicted GB/T 5700 field grid."""

    photometry: Photometry
    layout: RoadLayout  # with the design's maintenance factor
    geometry: luminance_tables.RoadGeometry  # the same, with the arrangement of the poles
    road_width: pint.Quantity[Any]
    lanes: int
    limits: RoadLightingClass
    field_grid: IlluminanceGrid  # maintained (× maintenance factor), centre-point positions
    maintained: GridStats  # what CJJ 45 Table 3.3.1 is judged against

    @property
    def description(self) -> str:
        layout = self.layout
        one_sided = self.geometry.layout is luminance_tables.Layout.ONE_SIDED
        arrangement = "" if one_sided else f"{self.geometry.layout.value}, "
        return (
            f"{Path(self.photometry.path).name}, {arrangement}"
            f"{layout.spacing.to('m').magnitude:g} m spacing, "
            f"{layout.mounting_height.to('m').magnitude:g} m high, "
            f"{layout.overhang.to('m').magnitude:g} m overhang, "
            f"{layout.tilt.to('degree').magnitude:g}° tilt, MF {layout.maintenance_factor:g}"
        )


def _photometry(target: Target) -> Photometry:
    path = str(target.design["photometric_file"])
    try:
        return read_photometry(path)
    except InputError as exc:
        raise UnusableDesignData(
            f"target {target.id}: design.photometric_file: {exc}; fix the file or the path at "
            f"{target.origin}"
        ) from None


def lighting(target: Target) -> LightingDesign:
    """The lighting design of a target and its predicted maintained field grid."""
    require(target, LIGHTING_KEYS)
    return _lighting(_inputs(target, _mtime(target)))


def _mtime(target: Target) -> float:
    path = Path(str(target.design.get("photometric_file", "")))
    return path.stat().st_mtime if path.is_file() else 0.0


@functools.lru_cache(maxsize=32)
def _lighting(inputs: _Inputs) -> LightingDesign:
    target = inputs.target
    design = target.design
    lanes = design["lanes"]
    assert isinstance(lanes, float)
    try:
        limits = lighting_tables.road_lighting_class(
            str(design["road_class"]), str(design["lighting_grade"])
        )
        maintenance = design["maintenance_factor"]
        assert isinstance(maintenance, float)
        layout = RoadLayout(
            spacing=_q(target, "pole_spacing"),
            mounting_height=_q(target, "mounting_height"),
            overhang=_q(target, "overhang"),
            tilt=_q(target, "luminaire_tilt"),
            maintenance_factor=maintenance,
        )
        if lanes != int(lanes) or lanes < 1:
            raise ValueError(f"lanes {lanes:g} must be a whole number of at least 1")
        geometry = luminance_tables.RoadGeometry(
            width=float(_q(target, "road_width").to("m").magnitude),
            lanes=int(lanes),
            spacing=float(layout.spacing.to("m").magnitude),
            mounting_height=float(layout.mounting_height.to("m").magnitude),
            overhang=float(layout.overhang.to("m").magnitude),
            tilt=float(layout.tilt.to("degree").magnitude),
            layout=luminance_tables.Layout(str(design.get("lighting_layout", "one-sided"))),
            median_offset=float(
                _q(target, "median_offset").to("m").magnitude if "median_offset" in design else 0.0
            ),
            maintenance_factor=maintenance,
        )
        x, y = lighting_tables.field_grid_positions(
            layout.spacing, _q(target, "road_width"), lanes=int(lanes), method=GridMethod.CENTRE
        )
    except ValueError as exc:
        raise UnusableDesignData(
            f"target {target.id}: {exc}; correct the design block at {target.origin}"
        ) from None
    photometry = _photometry(target)
    grid = luminance_tables.layout_grid(photometry, geometry, x, y)
    return LightingDesign(
        photometry=photometry,
        layout=layout,
        geometry=geometry,
        road_width=_q(target, "road_width"),
        lanes=int(lanes),
        limits=limits,
        field_grid=grid,
        maintained=lighting_tables.evaluate_grid(grid, GridMethod.CENTRE),
    )


def predicted_at(design: LightingDesign, grid: IlluminanceGrid, method: GridMethod) -> GridStats:
    """The initial (new-installation, maintenance factor 1) prediction at a grid's points.

    A survey at acceptance measures new luminaires, so it is compared with the initial value;
    the maintained prediction is that times the maintenance factor.
    """
    span = float(design.layout.spacing.to("m").magnitude)
    width = float(design.road_width.to("m").magnitude)
    if min(grid.y) < 0 or max(grid.y) > width or min(grid.x) < 0 or max(grid.x) > span:
        raise ValueError(
            f"the measured grid reaches beyond the span (0..{span:g} m along) or the road "
            f"(0..{width:g} m across); check design.pole_spacing and design.road_width"
        )
    return lighting_tables.evaluate_grid(
        luminance_tables.layout_grid(
            design.photometry, design.geometry, grid.x, grid.y, initial=True
        ),
        method,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LuminanceDesign:
    """The luminance quantities of the design (CIE 140 method) and the pedestrian figures."""

    lighting: LightingDesign
    table: luminance_tables.RTable
    result: luminance_tables.LuminanceResult
    pedestrian: luminance_tables.PedestrianResult

    @property
    def surface(self) -> str:
        return f"{self.table.name} [{self.table.confidence}]"


def luminance(target: Target) -> LuminanceDesign:
    """L_av, U0, UL, TI, SR, EIR of the target's lighting design on its road surface."""
    require(target, LIGHTING_KEYS)
    table = str(target.design.get("road_surface_table", ""))
    mtime = Path(table).stat().st_mtime if table and Path(table).is_file() else 0.0
    return _luminance(_inputs(target, _mtime(target), mtime))


@functools.lru_cache(maxsize=32)
def _luminance(inputs: _Inputs) -> LuminanceDesign:
    target = inputs.target
    design = target.design
    base = lighting(target)
    surface = str(design.get("road_surface_class", "R3"))
    q0 = design.get("road_surface_q0")
    q0_value = float(q0) if isinstance(q0, float) else None
    try:
        if "road_surface_table" in design:
            table = luminance_tables.read_r_table(
                str(design["road_surface_table"]),
                confidence=str(design.get("road_surface_table_confidence", "U")),
                q0=luminance_tables.Q0[luminance_tables.SurfaceClass(surface)],
            )
            if q0_value is not None:
                table = table.scaled(q0_value)
        else:
            table = luminance_tables.diffuse_r_table(surface, q0=q0_value)
    except InputError as exc:
        raise UnusableDesignData(
            f"target {target.id}: design.road_surface_table: {exc}; fix the file or the path "
            f"at {target.origin}"
        ) from None
    geometry = base.geometry
    if "surround_strip_width" in design:
        strip = float(_q(target, "surround_strip_width").to("m").magnitude)
        geometry = dataclasses.replace(geometry, surround_strip=strip)
    try:
        result = luminance_tables.luminance_result(base.photometry, geometry, table)
        pedestrian = luminance_tables.pedestrian_illuminance(base.photometry, geometry)
    except ValueError as exc:
        raise UnusableDesignData(
            f"target {target.id}: {exc}; correct the design block at {target.origin}"
        ) from None
    return LuminanceDesign(lighting=base, table=table, result=result, pedestrian=pedestrian)


def measured_grid(target: Target, record: str = "lighting_grid") -> IlluminanceGrid:
    """The target's measured grid record; MissingDesignData without it."""
    path = target.records.get(record)
    if path is None:
        raise MissingDesignData(
            f"target {target.id} has no record {record!r} (a measured GB/T 5700 grid); add "
            f"'records: {{{record}: FILE}}' to it at {target.origin}"
        )
    try:
        return read_grid_csv(path)
    except InputError as exc:
        raise UnusableDesignData(str(exc)) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotometricFigures:
    """What the IES file says about glare and upward light."""

    glare: GlareIntensities  # in the file's own attitude (the CJJ 45 definition)
    cutoff: lighting_tables.CutOffClass
    upward_light_ratio: float  # as installed, with the tilt (CIE 150)


def photometric_figures(target: Target) -> PhotometricFigures:
    """Cut-off class and upward light ratio of the target's luminaire."""
    require(target, {"photometric_file": LIGHTING_KEYS["photometric_file"]})
    return _figures(_inputs(target, _mtime(target)))


@functools.lru_cache(maxsize=32)
def _figures(inputs: _Inputs) -> PhotometricFigures:
    target = inputs.target
    photometry = _photometry(target)
    tilt = _optional_q(target, "luminaire_tilt")
    try:
        glare = glare_intensities(photometry)
        ulr = upward_light_ratio(photometry, tilt=tilt)
    except ValueError as exc:
        raise UnusableDesignData(f"target {target.id}: {exc}") from None
    return PhotometricFigures(
        glare=glare,
        cutoff=lighting_tables.cutoff_class(glare.at_80, glare.at_90, glare.at_90_absolute),
        upward_light_ratio=ulr,
    )
