"""Wind on a whole pole: segment and attachment forces, base actions, deflection, checks.

The shaft is a tapered steel tube, round or a regular 8-, 12- or 16-sided polygon given across
flats (`section.py`), fixed at the base. It is split into `segments` equal lengths; each
carries w_k = βz·μs·μz·w0 (GB 50009-2012 eq. 8.1.1-1) on its projected area b·Δz at its
mid-height, b the diameter or, for a polygon, the across-corners width. Attachments load the
pole with the same βz (they are loads on the main structure); the equipment *budget* keeps
eq. 8.1.1-2 with βgz, as the profile's compute check does. Area, I and W come from the section
at each height, so dead load, deflection, frequency and stress all see the polygon.

Deflections use the unit-load method with the midpoint rule over the same segments,
y(z) = Σ M_i·max(z − z_i, 0)·Δz/(E·I_i), so an engineer can follow them in a table (I: the
quadrature is ours; with 10 segments it is within a few per cent of the exact integral). When
the design gives no first frequency, Rayleigh's method estimates it from the deflection under
the pole's own weight applied sideways, f1 = (1/2π)·√(g·Σm·y / Σm·y²) (I: textbook structural
dynamics, e.g. Clough & Penzien, *Dynamics of Structures*, ch. 8).

docs/engineering/wind.md works the Kunming fixture pole through by hand, and
docs/engineering/polygonal.md an octagonal pole.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.units import Quantity, format_quantity

from . import section, wind
from .section import POLYGON_SIDES, Section
from .wind import MIN_BASIC_WIND_PRESSURE, SectionShape

__all__ = [
    "DEFLECTION_LIMIT_RATIO",
    "FLAT_WIDTH_LIMIT_FACTOR",
    "GAMMA_G",
    "GAMMA_Q",
    "STEEL_DENSITY",
    "STEEL_GRADES",
    "VORTEX_MIN_CRITICAL_SPEED",
    "Attachment",
    "AttachmentLoad",
    "Check",
    "PoleLoads",
    "PoleShaft",
    "SegmentLoad",
    "SteelGrade",
    "Verdict",
    "analyse_pole",
    "equipment_budget",
    "local_buckling_check_name",
]

GRAVITY = 9.80665  # m/s², standard gravity
STEEL_DENSITY = Quantity(7850, "kg/m^3")  # carbon steel, typical (I)
STEEL_MODULUS = Quantity(206, "GPa")  # E, GB 50017-2017 (M, standards.md SP-LOAD-006)
GAMMA_G = 1.3  # permanent-load factor, GB 55001-2021 (M)
GAMMA_Q = 1.5  # variable-load (wind) factor, GB 55001-2021 (M)
# Top deflection under characteristic wind: H/75 suggested (U, GB 50135 tower practice,
# standards.md SP-LOAD-008); the rule is still open (standards.md §6 item 4), so it is a keyword.
DEFLECTION_LIMIT_RATIO = 1 / 75
VORTEX_MIN_CRITICAL_SPEED = Quantity(15, "m/s")  # v_cr ≥ 15 m/s, GB 50009 8.5.3 (R)
_SUBCRITICAL_REYNOLDS = 3e5  # 8.5.3 (R)
_DIAMETER_HEIGHT_FOR_VORTEX = 2 / 3  # tapered: D at 2/3·H, 8.5.3 note (M)


def _fmt(value: pint.Quantity[Any]) -> str:
    return format_quantity(value)


class SteelGrade(StrEnum):
    Q235 = "Q235"  # GB/T 700 carbon structural steel (M)
    Q355 = "Q355"  # GB/T 1591 low-alloy high-strength steel (M)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Strength:
    yield_strength: pint.Quantity[Any]  # f_y
    design_strength: pint.Quantity[Any]  # f, for t ≤ 16 mm
    max_thickness: pint.Quantity[Any]


STEEL_GRADES = MappingProxyType(
    {
        # f_y from the grade names (GB/T 700, GB/T 1591; M); f from GB 50017-2017 (M,
        # standards.md SP-LOAD-006), for walls up to 16 mm: thicker walls are not transcribed.
        SteelGrade.Q235: _Strength(
            yield_strength=Quantity(235, "N/mm^2"),
            design_strength=Quantity(215, "N/mm^2"),
            max_thickness=Quantity(16, "mm"),
        ),
        SteelGrade.Q355: _Strength(
            yield_strength=Quantity(355, "N/mm^2"),
            design_strength=Quantity(305, "N/mm^2"),
            max_thickness=Quantity(16, "mm"),
        ),
    }
)
# Tube local buckling: D/t ≤ 100·εk², εk = √(235/f_y) (GB 50017 Table 3.5.1, S4 class; U).
_LOCAL_BUCKLING_FACTOR = 100
# Flat faces of a polygonal tube: b/t ≤ 45·εk. standards.md has no row for it; 45·εk is the S4
# limit of a box section's wall between webs (b0/t) for compression-bending members in
# GB 50017-2017 Table 3.5.1, from memory (U) — the same table and class as the tube rule above,
# S4 because the stress check uses the elastic W. A face of a polygon is restrained by its
# neighbours at an obtuse angle, less stiffly than a box flange by its webs, and ASCE 48 is
# remembered (U) as stricter for 12 and 16 sides; so this is a keyword: verify before relying.
FLAT_WIDTH_LIMIT_FACTOR = 45.0


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True, slots=True, kw_only=True)
class PoleShaft:
    height: pint.Quantity[Any]
    base_diameter: pint.Quantity[Any]
    top_diameter: pint.Quantity[Any]
    wall_thickness: pint.Quantity[Any]
    steel_grade: SteelGrade
    shape: SectionShape = SectionShape.CIRCULAR
    sides: int | None = None  # 8, 12 or 16 when polygonal; diameters are then across flats

    def __post_init__(self) -> None:
        h, t = self.height.to("m").magnitude, self.wall_thickness.to("mm").magnitude
        base, top = self.base_diameter.to("mm").magnitude, self.top_diameter.to("mm").magnitude
        if h <= 0:
            raise ValueError(f"pole height {_fmt(self.height)} must be above 0")
        if SectionShape(self.shape) is SectionShape.POLYGONAL:
            if self.sides not in POLYGON_SIDES:
                given = "no number of sides" if self.sides is None else f"sides {self.sides}"
                raise ValueError(
                    f"a polygonal shaft with {given}: give design.sides 8, 12 or 16 (the shape "
                    "coefficient and flat-width rule are stated for those), with base_diameter "
                    "and top_diameter measured across flats"
                )
        elif self.sides is not None:
            raise ValueError(
                f"sides {self.sides} given for a circular shaft: set section_shape: polygonal "
                "or remove sides"
            )
        if not 0 < top <= base:
            raise ValueError(
                f"top {self._size_name} {_fmt(self.top_diameter)} must be above 0 and at most "
                f"the base {self._size_name} {_fmt(self.base_diameter)}"
            )
        if not 0 < 2 * t < top:
            raise ValueError(
                f"wall thickness {_fmt(self.wall_thickness)} must be above 0 and below half "
                f"the top {self._size_name} {_fmt(self.top_diameter)}"
            )

    @property
    def _size_name(self) -> str:
        circular = SectionShape(self.shape) is SectionShape.CIRCULAR
        return "diameter" if circular else "size across flats"

    def diameter_at(self, z: pint.Quantity[Any]) -> pint.Quantity[Any]:
        """Outside diameter (across flats for a polygon) at height z, linear taper."""
        ratio = float((z / self.height).to("").magnitude)
        d: pint.Quantity[Any] = (
            self.base_diameter + (self.top_diameter - self.base_diameter) * ratio
        ).to("mm")
        return d

    def section_at(self, z: pint.Quantity[Any]) -> Section:
        """The cross-section at height z: area, I, W at the extreme fibre, wind width."""
        return section.tube(
            self.shape,
            size=self.diameter_at(z),
            wall_thickness=self.wall_thickness,
            sides=self.sides,
        )


def local_buckling_check_name(shaft: PoleShaft) -> str:
    """'base D/t' for a round shaft, 'base b/t' (flat width) for a polygonal one."""
    return "base D/t" if SectionShape(shaft.shape) is SectionShape.CIRCULAR else "base b/t"


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    name: str
    mass: pint.Quantity[Any]
    area: pint.Quantity[Any]  # projected area facing the wind
    height: pint.Quantity[Any]  # centre of pressure above ground
    shape_coefficient: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentLoad:
    bottom: pint.Quantity[Any]
    top: pint.Quantity[Any]
    z: pint.Quantity[Any]  # mid-height, where the force acts
    diameter: pint.Quantity[Any]  # at mid-height; across flats for a polygon
    width: pint.Quantity[Any]  # wind width b: the diameter, or across corners for a polygon
    mu_z: float
    mu_s: float
    beta_z: float
    pressure: pint.Quantity[Any]  # w_k
    force: pint.Quantity[Any]
    second_moment: pint.Quantity[Any]  # I at mid-height
    mass: pint.Quantity[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentLoad:
    name: str
    z: pint.Quantity[Any]
    area: pint.Quantity[Any]
    mu_z: float
    mu_s: float
    beta_z: float
    pressure: pint.Quantity[Any]
    force: pint.Quantity[Any]
    moment: pint.Quantity[Any]  # about the base


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    name: str
    value: pint.Quantity[Any]
    limit: pint.Quantity[Any]
    utilisation: float | None  # demand ÷ capacity; None when not applicable
    verdict: Verdict
    basis: str  # the rule and where it comes from, with its confidence tag


@dataclass(frozen=True, slots=True, kw_only=True)
class PoleLoads:
    w0: pint.Quantity[Any]  # after the 0.30 kN/m² floor
    terrain: str
    first_frequency: pint.Quantity[Any]
    frequency_estimated: bool
    segments: tuple[SegmentLoad, ...]
    attachments: tuple[AttachmentLoad, ...]
    base_shear: pint.Quantity[Any]
    base_moment: pint.Quantity[Any]
    base_axial: pint.Quantity[Any]  # characteristic dead weight of pole and equipment
    base_section: Section  # A and W of the stress check
    base_stress: pint.Quantity[Any]  # γG·N/A + γQ·M/W
    top_deflection: pint.Quantity[Any]
    critical_wind_speed: pint.Quantity[Any]
    top_wind_speed: pint.Quantity[Any]
    reynolds: float
    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        return all(c.verdict is not Verdict.FAIL for c in self.checks)


def _deflections(
    points: Sequence[float],
    loads: Sequence[tuple[float, float]],
    stations: Sequence[float],
    stiffness: Sequence[float],
    dz: float,
) -> list[float]:
    """y at `points` of a cantilever with lateral point `loads` (z, F): unit-load, midpoint rule."""
    moments = [sum(f * (z - zi) for z, f in loads if z > zi) for zi in stations]
    return [
        sum(
            m * max(p - zi, 0.0) * dz / ei
            for m, zi, ei in zip(moments, stations, stiffness, strict=True)
        )
        for p in points
    ]


def analyse_pole(
    shaft: PoleShaft,
    attachments: Sequence[Attachment],
    *,
    terrain: str,
    w0: pint.Quantity[Any],
    first_frequency: pint.Quantity[Any] | None = None,
    segments: int = 10,
    air_density: pint.Quantity[Any] | None = None,
    surface: wind.Surface = wind.Surface.SMOOTH,
    polygonal_shape_coefficient: float = wind.POLYGONAL_SHAPE_COEFFICIENT,
    deflection_limit_ratio: float = DEFLECTION_LIMIT_RATIO,
    flat_width_limit_factor: float = FLAT_WIDTH_LIMIT_FACTOR,
) -> PoleLoads:
    """Wind loads, base actions, top deflection and the strength, deflection and vortex checks."""
    # Sea-level air, 1.25 kg/m³ (E.2.4-3 at altitude 0); pass `wind.air_density(altitude)`.
    density = air_density if air_density is not None else Quantity(1.25, "kg/m^3")
    if segments < 1:
        raise ValueError(f"segments={segments} must be at least 1")
    strength = STEEL_GRADES[SteelGrade(shaft.steel_grade)]
    if shaft.wall_thickness > strength.max_thickness:
        raise ValueError(
            f"wall thickness {_fmt(shaft.wall_thickness)} is above "
            f"{_fmt(strength.max_thickness)}: the design strength of {shaft.steel_grade} for "
            "thicker walls is not transcribed"
        )
    for a in attachments:
        if not 0 <= float(a.height.to("m").magnitude) <= float(shaft.height.to("m").magnitude):
            raise ValueError(
                f"attachment {a.name!r} at {_fmt(a.height)} is not on the pole "
                f"(0 to {_fmt(shaft.height)})"
            )
    w = max(w0.to("kN/m^2"), MIN_BASIC_WIND_PRESSURE)
    h = float(shaft.height.to("m").magnitude)
    dz = h / segments
    e = float(STEEL_MODULUS.to("Pa").magnitude)
    rho_s = float(STEEL_DENSITY.to("kg/m^3").magnitude)

    stations = [(i + 0.5) * dz for i in range(segments)]
    sections = [shaft.section_at(Quantity(z, "m")) for z in stations]
    diameters = [float(s.size.to("m").magnitude) for s in sections]
    widths = [float(s.wind_width.to("m").magnitude) for s in sections]
    stiffness = [e * float(s.second_moment.to("m^4").magnitude) for s in sections]
    masses = [rho_s * float(s.area.to("m^2").magnitude) * dz for s in sections]

    estimated = first_frequency is None
    if first_frequency is None:
        # Rayleigh: own weight and equipment weight applied sideways give the mode's shape.
        weights = [(z, m * GRAVITY) for z, m in zip(stations, masses, strict=True)]
        weights += [
            (float(a.height.to("m").magnitude), float(a.mass.to("kg").magnitude) * GRAVITY)
            for a in attachments
        ]
        ys = _deflections([z for z, _ in weights], weights, stations, stiffness, dz)
        num = sum(f * y for (_, f), y in zip(weights, ys, strict=True))
        den = sum(f / GRAVITY * y * y for (_, f), y in zip(weights, ys, strict=True))
        first_frequency = Quantity(math.sqrt(num / den) / (2 * math.pi), "Hz")
    f1 = first_frequency.to("Hz")

    def beta(z: float) -> float:
        return wind.wind_vibration_factor(
            Quantity(z, "m"), height=shaft.height, terrain=terrain, w0=w, first_frequency=f1
        )

    mean_d = Quantity((shaft.base_diameter + shaft.top_diameter).to("m").magnitude / 2, "m")
    segment_loads = []
    for i, (z, d, b_w) in enumerate(zip(stations, diameters, widths, strict=True)):
        mu_z = wind.height_coefficient(Quantity(z, "m"), terrain)
        # H/d of the whole shaft with its mean diameter; μz·w0·d² with the local diameter.
        mu_s = wind.shaft_shape_coefficient(
            shaft.shape,
            diameter=Quantity(d, "m"),
            height=shaft.height * (Quantity(d, "m") / mean_d).to("").magnitude,
            mu_z=mu_z,
            w0=w,
            surface=surface,
            polygonal=polygonal_shape_coefficient,
        )
        b = beta(z)
        w_k = (b * mu_s * mu_z * w).to("kN/m^2")
        segment_loads.append(
            SegmentLoad(
                bottom=Quantity(i * dz, "m"),
                top=Quantity((i + 1) * dz, "m"),
                z=Quantity(z, "m"),
                diameter=Quantity(d * 1000, "mm"),
                width=Quantity(b_w * 1000, "mm"),
                mu_z=mu_z,
                mu_s=mu_s,
                beta_z=b,
                pressure=w_k,
                force=(w_k * Quantity(b_w * dz, "m^2")).to("kN"),
                second_moment=sections[i].second_moment.to("cm^4"),
                mass=Quantity(masses[i], "kg"),
            )
        )
    attachment_loads = []
    for a in attachments:
        z = float(a.height.to("m").magnitude)
        mu_z = wind.height_coefficient(a.height, terrain)
        b = beta(z)
        w_k = (b * a.shape_coefficient * mu_z * w).to("kN/m^2")
        force = (w_k * a.area).to("kN")
        attachment_loads.append(
            AttachmentLoad(
                name=a.name,
                z=a.height.to("m"),
                area=a.area.to("m^2"),
                mu_z=mu_z,
                mu_s=a.shape_coefficient,
                beta_z=b,
                pressure=w_k,
                force=force,
                moment=(force * a.height).to("kN*m"),
            )
        )

    lateral = [
        (float(s.z.to("m").magnitude), float(s.force.to("N").magnitude)) for s in segment_loads
    ]
    lateral += [(float(a.z.magnitude), float(a.force.to("N").magnitude)) for a in attachment_loads]
    shear = Quantity(sum(f for _, f in lateral), "N").to("kN")
    moment = Quantity(sum(f * z for z, f in lateral), "N*m").to("kN*m")
    (top,) = _deflections([h], lateral, stations, stiffness, dz)
    deflection = Quantity(top, "m").to("mm")
    axial = Quantity(
        (sum(masses) + sum(float(a.mass.to("kg").magnitude) for a in attachments)) * GRAVITY, "N"
    ).to("kN")

    base = shaft.section_at(Quantity(0, "m"))
    stress = (GAMMA_G * axial / base.area + GAMMA_Q * moment / base.modulus).to("N/mm^2")

    checks = [
        Check(
            name="base stress",
            value=stress,
            limit=strength.design_strength,
            utilisation=float((stress / strength.design_strength).to("").magnitude),
            verdict=Verdict.PASS if stress <= strength.design_strength else Verdict.FAIL,
            basis=f"γG·N/A + γQ·M/W ≤ f of {shaft.steel_grade}, GB 50017-2017 (M)"
            + ("" if base.sides is None else "; W at the corner fibre"),
        )
    ]
    deflection_limit = (shaft.height * deflection_limit_ratio).to("mm")
    checks.append(
        Check(
            name="top deflection",
            value=deflection,
            limit=deflection_limit,
            utilisation=float((deflection / deflection_limit).to("").magnitude),
            verdict=Verdict.PASS if deflection <= deflection_limit else Verdict.FAIL,
            basis=f"characteristic wind, H/{1 / deflection_limit_ratio:.0f} (U, SP-LOAD-008)",
        )
    )
    eps_k2 = float((Quantity(235, "N/mm^2") / strength.yield_strength).to("").magnitude)
    if base.flat_width is None:
        slenderness = float((shaft.base_diameter / shaft.wall_thickness).to("").magnitude)
        slenderness_limit = _LOCAL_BUCKLING_FACTOR * eps_k2
        rule = "D/t ≤ 100·εk², GB 50017 Table 3.5.1 (U)"
    else:
        slenderness = float((base.flat_width / shaft.wall_thickness).to("").magnitude)
        slenderness_limit = flat_width_limit_factor * math.sqrt(eps_k2)
        rule = (
            f"flat b/t ≤ {flat_width_limit_factor:g}·εk, b = F·tan(180°/{base.sides}) between "
            "the outer corners; GB 50017-2017 Table 3.5.1 box wall b0/t, S4 (U, not in "
            "standards.md)"
        )
    checks.append(
        Check(
            name=local_buckling_check_name(shaft),
            value=Quantity(slenderness, ""),
            limit=Quantity(slenderness_limit, ""),
            utilisation=slenderness / slenderness_limit,
            verdict=Verdict.PASS if slenderness <= slenderness_limit else Verdict.FAIL,
            basis=rule,
        )
    )

    # The vortex figures use the wind width; 8.5.3 covers round sections only (below).
    vortex_d = shaft.section_at(shaft.height * _DIAMETER_HEIGHT_FOR_VORTEX).wind_width.to("m")
    v_cr = wind.critical_wind_speed(vortex_d, (1 / f1).to("s"))
    v_h = wind.top_wind_speed(wind.height_coefficient(shaft.height, terrain), w, density)
    reynolds = wind.reynolds_number(v_cr, vortex_d)
    required = min(VORTEX_MIN_CRITICAL_SPEED, v_h)
    if shaft.shape is not SectionShape.CIRCULAR or reynolds >= _SUBCRITICAL_REYNOLDS:
        vortex = Check(
            name="vortex v_cr",
            value=v_cr,
            limit=required,
            utilisation=None,
            verdict=Verdict.NOT_APPLICABLE,
            basis="sub-critical check covers circular sections with Re < 3×10⁵ only; "
            "check 8.5.3 by hand",
        )
    else:
        vortex = Check(
            name="vortex v_cr",
            value=v_cr,
            limit=required,
            utilisation=float((required / v_cr).to("").magnitude),
            verdict=Verdict.PASS if v_cr >= required else Verdict.FAIL,
            basis="v_cr = D/(T1·St) ≥ min(15 m/s, v_H), else damping or detailing, "
            "GB 50009 8.5.3 (R)",
        )
    checks.append(vortex)

    return PoleLoads(
        w0=w,
        terrain=terrain,
        first_frequency=f1,
        frequency_estimated=estimated,
        segments=tuple(segment_loads),
        attachments=tuple(attachment_loads),
        base_shear=shear,
        base_moment=moment,
        base_axial=axial,
        base_section=base,
        base_stress=stress,
        top_deflection=deflection,
        critical_wind_speed=v_cr,
        top_wind_speed=v_h,
        reynolds=reynolds,
        checks=tuple(checks),
    )


def equipment_budget(
    attachments: Sequence[Attachment],
    *,
    terrain: str,
    w0: pint.Quantity[Any],
    rated_mass: pint.Quantity[Any] | None = None,
    rated_moment: pint.Quantity[Any] | None = None,
    rated_area: pint.Quantity[Any] | None = None,
) -> tuple[Check, ...]:
    """Mounted equipment against the certificate: Σmass, Σ wind moment (eq. 8.1.1-2, βgz), Σμs·A.

    A rating the design does not declare gives no row. (I: budget rule, SP-LOAD-009.)
    """
    rows: list[Check] = []

    def row(name: str, value: pint.Quantity[Any], limit: pint.Quantity[Any], basis: str) -> None:
        ratio = float((value / limit).to("").magnitude)
        rows.append(
            Check(
                name=name,
                value=value,
                limit=limit.to(value.units),
                utilisation=ratio,
                verdict=Verdict.PASS if ratio <= 1 else Verdict.FAIL,
                basis=basis,
            )
        )

    if rated_mass is not None:
        total = sum((a.mass.to("kg") for a in attachments), start=Quantity(0, "kg"))
        row("equipment mass", total, rated_mass, "Σ mass ≤ rated (I, SP-LOAD-009)")
    if rated_moment is not None:
        moment = Quantity(0, "kN*m")
        for a in attachments:
            w_k = wind.attachment_wind_pressure(a.height, terrain, w0, a.shape_coefficient)
            moment = moment + (w_k * a.area * a.height).to("kN*m")
        row(
            "attachment moment",
            moment,
            rated_moment,
            "Σ βgz·μs·μz·w0·A·z ≤ rated, GB 50009 8.1.1-2 (R) (I, SP-LOAD-009)",
        )
    if rated_area is not None:
        area = sum(
            (a.shape_coefficient * a.area.to("m^2") for a in attachments), Quantity(0, "m^2")
        )
        row("equipment μs·A", area, rated_area, "Σ μs·A ≤ rated (I, SP-LOAD-009)")
    return tuple(rows)
