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
dynamics, e.g. Clough & Penzien, *Dynamics of Structures*, ch. 8). Rayleigh's quotient with
an assumed shape is an **upper bound** on the true f1: for these poles it runs about 1 % high
(issue 15; docs/engineering/wind.md), which puts βz about as much low and v_cr as much high;
give the design's modal f1 or a pluck test's (`first_frequency`) when the margin is thin.

The whole pole (issue 15; docs/engineering/pole.md). The shaft may be several tapered segments
(`ShaftSegment`) with a door opening (`DoorOpening`); the stations are split again at every
section change and at the door's bottom, and each combination is checked at the base, at every
section change (the weaker side) and at the door's cut section (`section.cut_section`):

- γ0·(1.3G + 1.5W) and γ0·(1.0G + 1.5W), GB 55001-2021 (M), γ0 the importance factor (1.0 for
  safety class 2, 1.1 for class 1, GB 55001 / GB 50068, M); G + W characteristic (deflection,
  foundation); where the site declares a seismic intensity, 1.2G + 1.3E + 0.2×1.4W against
  f/γRE and G + E (GB 50011 5.4.1, 5.4.2, M; the first-mode forces in `seismic.py`, with the
  Rayleigh deflection shape as the mode shape, I).
- W takes βz with the taper correction θB·θv of GB 50009 8.4.6 (Table 8.4.6 from memory, U) or
  without it, whichever is larger at the height (`TaperRule.ENVELOPE`); both are reported.
- P-Δ (I): the amplification of an iterative P-Δ summed as a geometric series, the B2 form of
  AISC 360 Appendix 8 / Chen & Lui applied section by section: ΔM₁(z) = Σ P_i·(y_i − y(z)) over
  the factored weights above z with the first-order deflections y of the combination's lateral
  loads, η(z) = 1/(1 − ΔM₁(z)/M₁(z)), M(z) = η·M₁.
- Attachments' brackets with their own gust factor βgz (eq. 8.1.1-2, R): F_d = γ0·γQ·βgz·μs·μz·
  w0·A, while the base actions keep βz for the main structure.
- `PoleLoads.base_actions`: one `actions.Actions` per combination at the base, for the base
  plate, anchor bolts, foundation and fatigue checks.

docs/engineering/wind.md works the Kunming fixture pole through by hand (first order),
docs/engineering/polygonal.md an octagonal pole and docs/engineering/pole.md the whole pole.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.units import Quantity, format_quantity

from . import section, seismic, wind
from .actions import Actions, Limit
from .section import POLYGON_SIDES, CutSection, Section
from .wind import MIN_BASIC_WIND_PRESSURE, SectionShape

__all__ = [
    "DEFLECTION_LIMIT_RATIO",
    "FLAT_WIDTH_LIMIT_FACTOR",
    "GAMMA_G",
    "GAMMA_Q",
    "IMPORTANCE_FACTOR",
    "STEEL_DENSITY",
    "STEEL_GRADES",
    "VORTEX_MIN_CRITICAL_SPEED",
    "Attachment",
    "AttachmentLoad",
    "Bracket",
    "Check",
    "DoorOpening",
    "PoleLoads",
    "PoleShaft",
    "SectionForces",
    "SegmentLoad",
    "SeismicAction",
    "ShaftSegment",
    "SteelGrade",
    "TaperRule",
    "Verdict",
    "analyse_pole",
    "equipment_budget",
    "local_buckling_check_name",
    "ratio_check",
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


IMPORTANCE_FACTOR = 1.0  # γ0, safety class 2 (GB 55001-2021 / GB 50068, M); class 1 takes 1.1
GAMMA_G_FAVOURABLE = 1.0  # γG where dead load helps (uplift, overturning), GB 55001-2021 (M)


class TaperRule(StrEnum):
    """How the whole-pole checks take θB·θv of GB 50009 8.4.6 (U) into βz."""

    OFF = "off"  # βz without the correction
    ON = "on"  # βz·(θB·θv in Bz)
    ENVELOPE = "envelope"  # the larger of the two at each height (the default: θv is U)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShaftSegment:
    """One tapered (or straight) length of the shaft as the shop drawing gives it."""

    bottom: pint.Quantity[Any]  # height of its lower end; the first segment starts at 0
    base_diameter: pint.Quantity[Any]  # across flats for a polygon
    top_diameter: pint.Quantity[Any]
    wall_thickness: pint.Quantity[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class DoorOpening:
    """The hand-hole or door cut through the wall: chord width b across its jambs."""

    bottom: pint.Quantity[Any]
    height: pint.Quantity[Any]
    width: pint.Quantity[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class PoleShaft:
    height: pint.Quantity[Any]
    base_diameter: pint.Quantity[Any]
    top_diameter: pint.Quantity[Any]
    wall_thickness: pint.Quantity[Any]
    steel_grade: SteelGrade
    shape: SectionShape = SectionShape.CIRCULAR
    sides: int | None = None  # 8, 12 or 16 when polygonal; diameters are then across flats
    # The drawing's segments, bottom up; empty: one segment base_diameter → top_diameter. When
    # given, base_diameter, top_diameter and wall_thickness must be the first segment's base, the
    # last one's top and the first one's wall.
    segments: tuple[ShaftSegment, ...] = ()
    door: DoorOpening | None = None

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
        if not self.segments and not 0 < 2 * t < top:
            raise ValueError(
                f"wall thickness {_fmt(self.wall_thickness)} must be above 0 and below half "
                f"the top {self._size_name} {_fmt(self.top_diameter)}"
            )
        if self.segments:
            self._check_segments()
        if self.door is not None:
            d = self.door
            if not 0 <= d.bottom.to("m").magnitude < (d.bottom + d.height).to("m").magnitude < h:
                raise ValueError(
                    f"door from {_fmt(d.bottom)} rising {_fmt(d.height)} must lie on the pole "
                    f"(0 to {_fmt(self.height)}) with a height above 0"
                )

    def _check_segments(self) -> None:
        first, last = self.segments[0], self.segments[-1]
        bottoms = [float(g.bottom.to("m").magnitude) for g in self.segments]
        h = float(self.height.to("m").magnitude)
        if bottoms[0] != 0 or any(b1 <= b0 for b0, b1 in itertools.pairwise(bottoms)):
            raise ValueError(
                "shaft segments must start at 0 m and rise: their bottoms are "
                + ", ".join(f"{b:g} m" for b in bottoms)
            )
        if bottoms[-1] >= h:
            raise ValueError(
                f"the last shaft segment starts at {bottoms[-1]:g} m, not below the pole height "
                f"{_fmt(self.height)}"
            )
        agree = (
            (first.base_diameter, self.base_diameter, "base_diameter", "first segment's base"),
            (last.top_diameter, self.top_diameter, "top_diameter", "last segment's top"),
            (first.wall_thickness, self.wall_thickness, "wall_thickness", "first segment's wall"),
        )
        for segment_value, shaft_value, key, what in agree:
            if abs(float((segment_value - shaft_value).to("mm").magnitude)) > 1e-6:
                raise ValueError(
                    f"design.{key} {_fmt(shaft_value)} differs from the {what} "
                    f"{_fmt(segment_value)}: make the drawing's figures agree"
                )
        for i, g in enumerate(self.segments):
            gb, gt = g.base_diameter.to("mm").magnitude, g.top_diameter.to("mm").magnitude
            gw = g.wall_thickness.to("mm").magnitude
            if not 0 < gt <= gb or not 0 < 2 * gw < gt:
                raise ValueError(
                    f"shaft segment {i + 1}: top {_fmt(g.top_diameter)} must be above 0 and at "
                    f"most its base {_fmt(g.base_diameter)}, and its wall "
                    f"{_fmt(g.wall_thickness)} below half its top"
                )

    @property
    def _size_name(self) -> str:
        circular = SectionShape(self.shape) is SectionShape.CIRCULAR
        return "diameter" if circular else "size across flats"

    @property
    def pieces(self) -> tuple[ShaftSegment, ...]:
        """The segments, or the one segment base → top of a plain tapered shaft."""
        if self.segments:
            return self.segments
        return (
            ShaftSegment(
                bottom=Quantity(0, "m"),
                base_diameter=self.base_diameter,
                top_diameter=self.top_diameter,
                wall_thickness=self.wall_thickness,
            ),
        )

    @property
    def section_changes(self) -> tuple[pint.Quantity[Any], ...]:
        """Heights where one segment meets the next."""
        return tuple(g.bottom.to("m") for g in self.pieces[1:])

    def _piece(self, z: pint.Quantity[Any], *, below: bool = False) -> tuple[int, float]:
        """Index of the segment at z (the upper one at a joint unless `below`), its ratio."""
        pieces = self.pieces
        zm = float(z.to("m").magnitude)
        tops = [float(g.bottom.to("m").magnitude) for g in pieces[1:]]
        tops.append(float(self.height.to("m").magnitude))
        i = 0
        while i < len(pieces) - 1 and (zm > tops[i] or (zm == tops[i] and not below)):
            i += 1
        bottom = float(pieces[i].bottom.to("m").magnitude)
        return i, (zm - bottom) / (tops[i] - bottom)

    def diameter_at(self, z: pint.Quantity[Any], *, below: bool = False) -> pint.Quantity[Any]:
        """Outside diameter (across flats for a polygon) at height z, linear taper."""
        i, ratio = self._piece(z, below=below)
        g = self.pieces[i]
        d: pint.Quantity[Any] = (g.base_diameter + (g.top_diameter - g.base_diameter) * ratio).to(
            "mm"
        )
        return d

    def wall_at(self, z: pint.Quantity[Any], *, below: bool = False) -> pint.Quantity[Any]:
        return self.pieces[self._piece(z, below=below)[0]].wall_thickness

    def section_at(self, z: pint.Quantity[Any], *, below: bool = False) -> Section:
        """The cross-section at height z: area, I, W at the extreme fibre, wind width."""
        return section.tube(
            self.shape,
            size=self.diameter_at(z, below=below),
            wall_thickness=self.wall_at(z, below=below),
            sides=self.sides,
        )

    def door_section(self) -> CutSection | None:
        """The section through the door at its bottom, where the moment is largest."""
        if self.door is None:
            return None
        return section.cut_section(self.section_at(self.door.bottom), self.door.width)


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
    # Bracket arm: from the shaft's face to the device's centre. Not declared: √A/2, a square
    # device of that area fixed flat against the face (I).
    arm: pint.Quantity[Any] | None = None


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
    theta: float = 1.0  # θB·θv of 8.4.6 at mid-height (U)
    beta_z_tapered: float = 1.0  # βz with θB·θv in Bz
    design_force: pint.Quantity[Any] | None = None  # force of the whole-pole checks (TaperRule)


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
    beta_z_tapered: float = 1.0
    design_force: pint.Quantity[Any] | None = None  # force of the whole-pole checks (TaperRule)


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    name: str
    value: pint.Quantity[Any]
    limit: pint.Quantity[Any]
    utilisation: float | None  # demand ÷ capacity; None when not applicable
    verdict: Verdict
    basis: str  # the rule and where it comes from, with its confidence tag
    height: pint.Quantity[Any] | None = None  # the section checked, for whole-pole checks
    combination: str | None = None  # the load combination, for whole-pole checks


def ratio_check(
    name: str, value: pint.Quantity[Any], limit: pint.Quantity[Any], basis: str
) -> Check:
    """Demand `value` against capacity `limit`: utilisation value/limit, pass at most 1 (a NaN
    ratio fails)."""
    ratio = float((value / limit).to("").magnitude)
    return Check(
        name=name,
        value=value,
        limit=limit.to(value.units),
        utilisation=ratio,
        verdict=Verdict.PASS if ratio <= 1 else Verdict.FAIL,
        basis=basis,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SectionForces:
    """Design actions and stress at one checked section for one combination."""

    location: str  # "base", "section change", "door"
    z: pint.Quantity[Any]
    combination: str
    limit_state: Limit
    axial: pint.Quantity[Any]  # N, compression positive
    shear: pint.Quantity[Any]
    first_order_moment: pint.Quantity[Any]
    amplification: float  # η = 1/(1 − ΔM₁/M₁), P-Δ (I)
    moment: pint.Quantity[Any]  # η·M₁
    area: pint.Quantity[Any]
    modulus: pint.Quantity[Any]
    stress: pint.Quantity[Any]  # N/A + M/W (ultimate); 0 for a characteristic combination
    strength: pint.Quantity[Any]  # f, or f/γRE in a seismic combination
    side: str = ""  # at a section change: which side's section governs


@dataclass(frozen=True, slots=True, kw_only=True)
class Bracket:
    """The connection of one attachment, designed with its own gust factor βgz (8.1.1-2)."""

    name: str
    z: pint.Quantity[Any]
    beta_gz: float
    mu_z: float
    mu_s: float
    pressure: pint.Quantity[Any]  # w_k = βgz·μs·μz·w0
    force: pint.Quantity[Any]  # characteristic, w_k·A
    design_force: pint.Quantity[Any]  # γ0·γQ·w_k·A, horizontal
    design_weight: pint.Quantity[Any]  # γ0·γG·m·g, vertical
    arm: pint.Quantity[Any]
    arm_declared: bool
    design_moment: pint.Quantity[Any]  # √(F_d² + V_d²)·e at the shaft's face
    main_structure_force: pint.Quantity[Any]  # βz·μs·μz·w0·A, what the base actions carry


@dataclass(frozen=True, slots=True, kw_only=True)
class SeismicAction:
    """First-mode horizontal seismic action (GB 50011 5.2.2, M) on the pole's masses."""

    intensity: str
    acceleration: pint.Quantity[Any]
    alpha_max: float
    characteristic_period: pint.Quantity[Any]
    damping_ratio: float
    period: pint.Quantity[Any]  # T1 = 1/f1
    alpha: float  # α1
    participation: float  # γ1
    base_shear: pint.Quantity[Any]  # characteristic F_Ek
    base_moment: pint.Quantity[Any]
    plateau_base_shear: pint.Quantity[Any]  # if T1 were on the plateau (Tg ≥ T1): sensitivity
    basis: str


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
    # The whole pole (issue 15): defaults keep a first-order caller's construction valid.
    importance_factor: float = IMPORTANCE_FACTOR
    taper_rule: TaperRule = TaperRule.ENVELOPE
    taper_ratio: float = 1.0  # B(H)/B(0)
    theta_v: float = 1.0
    base_moment_tapered: pint.Quantity[Any] | None = None  # characteristic, βz with θB·θv
    base_moment_design: pint.Quantity[Any] | None = None  # characteristic, per taper_rule
    door_section: CutSection | None = None
    seismic: SeismicAction | None = None
    section_forces: tuple[SectionForces, ...] = ()
    section_checks: tuple[Check, ...] = ()  # stress at every section, every combination
    base_actions: tuple[Actions, ...] = ()  # per combination, at the base, with P-Δ
    brackets: tuple[Bracket, ...] = ()
    top_deflection_second_order: pint.Quantity[Any] | None = None  # G + W, with P-Δ

    @property
    def passed(self) -> bool:
        return all(c.verdict is not Verdict.FAIL for c in (*self.checks, *self.section_checks))

    def worst_section_check(self) -> Check | None:
        """The stress check with the highest utilisation over sections and combinations."""
        rated = [c for c in self.section_checks if c.utilisation is not None]
        return max(rated, key=lambda c: c.utilisation or 0.0, default=None)


def _deflections(
    points: Sequence[float],
    loads: Sequence[tuple[float, float]],
    stations: Sequence[float],
    stiffness: Sequence[float],
    lengths: Sequence[float],
) -> list[float]:
    """y at `points` of a cantilever with lateral point `loads` (z, F): unit-load, midpoint rule."""
    moments = [sum(f * (z - zi) for z, f in loads if z > zi) for zi in stations]
    return [
        sum(
            m * max(p - zi, 0.0) * dz / ei
            for m, zi, ei, dz in zip(moments, stations, stiffness, lengths, strict=True)
        )
        for p in points
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Combination:
    name: str
    limit: Limit
    gamma_g: float
    lateral: tuple[tuple[float, float], ...]  # (z m, F N), factored
    strength: pint.Quantity[Any] | None  # None: characteristic, no stress check
    basis: str


def _fmt_m(z: float) -> str:
    return f"{z:g} m"


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
    importance_factor: float = IMPORTANCE_FACTOR,
    seismic_input: seismic.Seismic | None = None,
    taper_rule: TaperRule = TaperRule.ENVELOPE,
) -> PoleLoads:
    """Wind loads, base actions, top deflection and the strength, deflection and vortex checks.

    The first-order fields (segments' βz, base_shear, base_moment, base_stress, top_deflection
    and `checks`) are those of docs/engineering/wind.md: 1.3G + 1.5W at the base, γ0 = 1, no
    θB·θv, no P-Δ. The whole-pole fields (section_forces, section_checks, base_actions,
    brackets, seismic) add the combinations, γ0, θB·θv, P-Δ, section changes and the door.
    """
    # Sea-level air, 1.25 kg/m³ (E.2.4-3 at altitude 0); pass `wind.air_density(altitude)`.
    density = air_density if air_density is not None else Quantity(1.25, "kg/m^3")
    if segments < 1:
        raise ValueError(f"segments={segments} must be at least 1")
    if not 0 < importance_factor <= 2:
        raise ValueError(f"importance factor γ0 {importance_factor:g} must be above 0 (about 1)")
    strength = STEEL_GRADES[SteelGrade(shaft.steel_grade)]
    thickest = max((g.wall_thickness for g in shaft.pieces), key=lambda t: t.to("mm").magnitude)
    if thickest > strength.max_thickness:
        raise ValueError(
            f"wall thickness {_fmt(thickest)} is above "
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
    e = float(STEEL_MODULUS.to("Pa").magnitude)
    rho_s = float(STEEL_DENSITY.to("kg/m^3").magnitude)

    # Equal lengths, split again at each section change and at the door's bottom, so that
    # every checked section is a station boundary and each station lies in one segment.
    cuts = [float(z.to("m").magnitude) for z in shaft.section_changes]
    if shaft.door is not None:
        cuts.append(float(shaft.door.bottom.to("m").magnitude))
    bounds = sorted(
        {round(i * h / segments, 9) for i in range(segments + 1)}
        | {round(c, 9) for c in cuts if 0 < c < h}
    )
    lengths = [b1 - b0 for b0, b1 in itertools.pairwise(bounds)]
    stations = [(b0 + b1) / 2 for b0, b1 in itertools.pairwise(bounds)]
    sections = [shaft.section_at(Quantity(z, "m")) for z in stations]
    diameters = [float(s.size.to("m").magnitude) for s in sections]
    widths = [float(s.wind_width.to("m").magnitude) for s in sections]
    stiffness = [e * float(s.second_moment.to("m^4").magnitude) for s in sections]
    masses = [
        rho_s * float(s.area.to("m^2").magnitude) * dz
        for s, dz in zip(sections, lengths, strict=True)
    ]

    # Own weight and equipment weight applied sideways: Rayleigh's shape, also the seismic
    # mode shape X (GB 50011 5.2.2 asks for the first mode; this is its Rayleigh estimate, I).
    weights = [(z, m * GRAVITY) for z, m in zip(stations, masses, strict=True)]
    weights += [
        (float(a.height.to("m").magnitude), float(a.mass.to("kg").magnitude) * GRAVITY)
        for a in attachments
    ]
    shape = _deflections([z for z, _ in weights], weights, stations, stiffness, lengths)
    estimated = first_frequency is None
    if first_frequency is None:
        num = sum(f * y for (_, f), y in zip(weights, shape, strict=True))
        den = sum(f / GRAVITY * y * y for (_, f), y in zip(weights, shape, strict=True))
        first_frequency = Quantity(math.sqrt(num / den) / (2 * math.pi), "Hz")
    f1 = first_frequency.to("Hz")

    def beta(z: float, theta: tuple[float, float] = (1.0, 1.0)) -> float:
        return wind.wind_vibration_factor(
            Quantity(z, "m"),
            height=shaft.height,
            terrain=terrain,
            w0=w,
            first_frequency=f1,
            theta_b=theta[0],
            theta_v=theta[1],
        )

    base_width = shaft.section_at(Quantity(0, "m")).wind_width
    top_width = shaft.section_at(shaft.height, below=True).wind_width

    def thetas(z: float) -> tuple[float, float]:
        width = shaft.section_at(Quantity(min(z, h), "m"), below=z >= h).wind_width
        return wind.taper_factors(width, base_width=base_width, top_width=top_width)

    def design_beta(plain: float, tapered: float) -> float:
        rule = TaperRule(taper_rule)
        if rule is TaperRule.OFF:
            return plain
        return tapered if rule is TaperRule.ON else max(plain, tapered)

    theta_v = wind.taper_factors(top_width, base_width=base_width, top_width=top_width)[1]

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
        theta = thetas(z)
        b_t = beta(z, theta)
        w_k = (b * mu_s * mu_z * w).to("kN/m^2")
        force = (w_k * Quantity(b_w * lengths[i], "m^2")).to("kN")
        segment_loads.append(
            SegmentLoad(
                bottom=Quantity(bounds[i], "m"),
                top=Quantity(bounds[i + 1], "m"),
                z=Quantity(z, "m"),
                diameter=Quantity(d * 1000, "mm"),
                width=Quantity(b_w * 1000, "mm"),
                mu_z=mu_z,
                mu_s=mu_s,
                beta_z=b,
                pressure=w_k,
                force=force,
                second_moment=sections[i].second_moment.to("cm^4"),
                mass=Quantity(masses[i], "kg"),
                theta=theta[0] * theta[1],
                beta_z_tapered=b_t,
                design_force=force * design_beta(b, b_t) / b,
            )
        )
    attachment_loads = []
    for a in attachments:
        z = float(a.height.to("m").magnitude)
        mu_z = wind.height_coefficient(a.height, terrain)
        b = beta(z)
        b_t = beta(z, thetas(z))
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
                beta_z_tapered=b_t,
                design_force=force * design_beta(b, b_t) / b,
            )
        )

    lateral = [
        (float(s.z.to("m").magnitude), float(s.force.to("N").magnitude)) for s in segment_loads
    ]
    lateral += [(float(a.z.magnitude), float(a.force.to("N").magnitude)) for a in attachment_loads]
    shear = Quantity(sum(f for _, f in lateral), "N").to("kN")
    moment = Quantity(sum(f * z for z, f in lateral), "N*m").to("kN*m")
    (top,) = _deflections([h], lateral, stations, stiffness, lengths)
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
    # Local buckling at the bottom of every upper segment (its largest D/t or b/t).
    for z_c in shaft.section_changes:
        upper = shaft.section_at(z_c)
        t_c = upper.wall_thickness
        if upper.flat_width is None:
            ratio_c = float((upper.size / t_c).to("").magnitude)
            limit_c, what = _LOCAL_BUCKLING_FACTOR * eps_k2, "D/t"
        else:
            ratio_c = float((upper.flat_width / t_c).to("").magnitude)
            limit_c, what = flat_width_limit_factor * math.sqrt(eps_k2), "b/t"
        checks.append(
            Check(
                name=f"{what} at {_fmt_m(float(z_c.magnitude))}",
                value=Quantity(ratio_c, ""),
                limit=Quantity(limit_c, ""),
                utilisation=ratio_c / limit_c,
                verdict=Verdict.PASS if ratio_c <= limit_c else Verdict.FAIL,
                basis=rule,
                height=z_c,
            )
        )

    whole = _whole_pole(
        shaft,
        attachments,
        stations=stations,
        lengths=lengths,
        stiffness=stiffness,
        masses=masses,
        segment_loads=segment_loads,
        attachment_loads=attachment_loads,
        shape=shape,
        first_frequency=f1,
        importance_factor=importance_factor,
        seismic_input=seismic_input,
        strength=strength.design_strength,
        deflection_limit=deflection_limit,
    )
    checks.append(whole.deflection)
    moment_tapered = sum(
        (g.force * g.beta_z_tapered / g.beta_z * g.z for g in segment_loads),
        Quantity(0, "kN*m"),
    ) + sum(
        (a.force * a.beta_z_tapered / a.beta_z * a.z for a in attachment_loads), Quantity(0, "kN*m")
    )
    moment_design = sum(
        (g.design_force * g.z for g in segment_loads if g.design_force is not None),
        Quantity(0, "kN*m"),
    ) + sum(
        (a.design_force * a.z for a in attachment_loads if a.design_force is not None),
        Quantity(0, "kN*m"),
    )

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
        importance_factor=importance_factor,
        taper_rule=TaperRule(taper_rule),
        taper_ratio=float((top_width / base_width).to("").magnitude),
        theta_v=theta_v,
        base_moment_tapered=moment_tapered.to("kN*m"),
        base_moment_design=moment_design.to("kN*m"),
        door_section=shaft.door_section(),
        seismic=whole.seismic,
        section_forces=whole.forces,
        section_checks=whole.checks,
        base_actions=whole.base_actions,
        brackets=_brackets(
            attachments, attachment_loads, terrain=terrain, w0=w, gamma0=importance_factor
        ),
        top_deflection_second_order=whole.top_deflection,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Whole:
    forces: tuple[SectionForces, ...]
    checks: tuple[Check, ...]
    base_actions: tuple[Actions, ...]
    seismic: SeismicAction | None
    top_deflection: pint.Quantity[Any]
    deflection: Check


def _seismic_action(
    sei: seismic.Seismic,
    weights: Sequence[tuple[float, float]],
    shape: Sequence[float],
    first_frequency: pint.Quantity[Any],
) -> tuple[SeismicAction, list[tuple[float, float]]]:
    period = (1 / first_frequency).to("s")
    kw = {
        "alpha_max": sei.alpha_max,
        "characteristic_period": sei.characteristic_period,
        "damping_ratio": sei.damping_ratio,
    }
    alpha = seismic.response_coefficient(period, **kw)  # type: ignore[arg-type]
    plateau = seismic.response_coefficient(sei.characteristic_period, **kw)  # type: ignore[arg-type]
    top = max(shape)
    shape = [x / top for x in shape]  # X normalised to 1 at its largest (the top)
    sum_xg = sum(g * x for (_, g), x in zip(weights, shape, strict=True))
    sum_x2g = sum(g * x * x for (_, g), x in zip(weights, shape, strict=True))
    gamma1 = sum_xg / sum_x2g
    forces = [(z, alpha * gamma1 * x * g) for (z, g), x in zip(weights, shape, strict=True)]
    action = SeismicAction(
        intensity=sei.intensity,
        acceleration=sei.acceleration,
        alpha_max=sei.alpha_max,
        characteristic_period=sei.characteristic_period,
        damping_ratio=sei.damping_ratio,
        period=period,
        alpha=alpha,
        participation=gamma1,
        base_shear=Quantity(sum(f for _, f in forces), "N").to("kN"),
        base_moment=Quantity(sum(f * z for z, f in forces), "N*m").to("kN*m"),
        plateau_base_shear=Quantity(plateau * gamma1 * sum_xg, "N").to("kN"),
        basis=sei.basis,
    )
    return action, forces


def _whole_pole(
    shaft: PoleShaft,
    attachments: Sequence[Attachment],
    *,
    stations: Sequence[float],
    lengths: Sequence[float],
    stiffness: Sequence[float],
    masses: Sequence[float],
    segment_loads: Sequence[SegmentLoad],
    attachment_loads: Sequence[AttachmentLoad],
    shape: Sequence[float],
    first_frequency: pint.Quantity[Any],
    importance_factor: float,
    seismic_input: seismic.Seismic | None,
    strength: pint.Quantity[Any],
    deflection_limit: pint.Quantity[Any],
) -> _Whole:
    """Every combination at the base, every section change and the door, with P-Δ."""
    g0 = importance_factor
    g0_text = f"{g0:.1f}" if round(g0, 1) == g0 else f"{g0:g}"
    dead = [(z, m * GRAVITY) for z, m in zip(stations, masses, strict=True)]
    dead += [
        (float(a.height.to("m").magnitude), float(a.mass.to("kg").magnitude) * GRAVITY)
        for a in attachments
    ]
    wind_k = [
        (float(g.z.to("m").magnitude), float(g.design_force.to("N").magnitude))
        for g in segment_loads
        if g.design_force is not None
    ] + [
        (float(a.z.to("m").magnitude), float(a.design_force.to("N").magnitude))
        for a in attachment_loads
        if a.design_force is not None
    ]
    wind_basis = "W with βz per the taper rule (GB 50009 8.1.1-1, 8.4, 8.4.6)"
    combos = [
        _Combination(
            name=f"{g0_text}×(1.3G + 1.5W)",
            limit=Limit.ULTIMATE,
            gamma_g=g0 * GAMMA_G,
            lateral=tuple((z, g0 * GAMMA_Q * f) for z, f in wind_k),
            strength=strength,
            basis=f"γ0·(γG·G + γQ·W), GB 55001-2021 (M); {wind_basis}",
        ),
        _Combination(
            name=f"{g0_text}×(1.0G + 1.5W)",
            limit=Limit.ULTIMATE,
            gamma_g=g0 * GAMMA_G_FAVOURABLE,
            lateral=tuple((z, g0 * GAMMA_Q * f) for z, f in wind_k),
            strength=strength,
            basis=f"dead load favourable, γG = 1.0, GB 55001-2021 (M); {wind_basis}",
        ),
        _Combination(
            name="G + W",
            limit=Limit.CHARACTERISTIC,
            gamma_g=1.0,
            lateral=tuple(wind_k),
            strength=None,
            basis=f"characteristic, deflection and foundation; {wind_basis}",
        ),
    ]
    action = None
    if seismic_input is not None:
        action, quake = _seismic_action(seismic_input, dead, shape, first_frequency)
        psi_w = seismic.PSI_W * seismic.GAMMA_W_SEISMIC
        combos.append(
            _Combination(
                name=f"1.2G + 1.3E + {seismic.PSI_W:g}×{seismic.GAMMA_W_SEISMIC:g}W",
                limit=Limit.ULTIMATE,
                gamma_g=seismic.GAMMA_G_SEISMIC,
                lateral=tuple((z, seismic.GAMMA_EH * f) for z, f in quake)
                + tuple((z, psi_w * f) for z, f in wind_k),
                strength=strength / seismic.GAMMA_RE_STEEL,
                basis="γG·G + γEh·E + ψw·γw·W, f/γRE with γRE = 0.75, GB 50011 5.4.1, 5.4.2 (M); "
                "no γ0 in the seismic combination (M)",
            )
        )
        combos.append(
            _Combination(
                name="G + E",
                limit=Limit.CHARACTERISTIC,
                gamma_g=1.0,
                lateral=tuple(quake),
                strength=None,
                basis="characteristic seismic action, for the foundation (I)",
            )
        )

    locations: list[tuple[str, float, list[tuple[str, float, float]]]] = []

    def props(sec: Section) -> tuple[float, float]:
        return float(sec.area.to("m^2").magnitude), float(sec.modulus.to("m^3").magnitude)

    base = shaft.section_at(Quantity(0, "m"))
    locations.append(("base", 0.0, [("", *props(base))]))
    for z_c in shaft.section_changes:
        below = shaft.section_at(z_c, below=True)
        above = shaft.section_at(z_c)
        locations.append(
            (
                "section change",
                float(z_c.to("m").magnitude),
                [("below", *props(below)), ("above", *props(above))],
            )
        )
    door = shaft.door_section()
    if door is not None and shaft.door is not None:
        locations.append(
            (
                "door",
                float(shaft.door.bottom.to("m").magnitude),
                [
                    (
                        "cut section",
                        float(door.area.to("m^2").magnitude),
                        float(door.modulus.to("m^3").magnitude),
                    )
                ],
            )
        )
    locations.sort(key=lambda loc: loc[1])

    forces: list[SectionForces] = []
    checks: list[Check] = []
    base_actions: list[Actions] = []
    top_second: pint.Quantity[Any] = Quantity(0.0, "mm")
    dead_base = sum(p for _, p in dead)
    h = float(shaft.height.to("m").magnitude)
    for combo in combos:
        heights = sorted({z for z, _ in dead} | {z for z, _ in combo.lateral})
        points = [*heights, *(loc[1] for loc in locations), h]
        ys = dict(
            zip(
                points,
                _deflections(points, combo.lateral, stations, stiffness, lengths),
                strict=True,
            )
        )
        for name, z, sides in locations:
            above_dead = [(zi, p) for zi, p in dead if zi >= z]
            n = combo.gamma_g * sum(p for _, p in above_dead)
            v = sum(f for zi, f in combo.lateral if zi >= z)
            m1 = sum(f * (zi - z) for zi, f in combo.lateral if zi > z)
            dm1 = sum(combo.gamma_g * p * (ys[zi] - ys[z]) for zi, p in above_dead if zi > z)
            if m1 > 0 and dm1 >= m1:
                raise ValueError(
                    f"{name} at {z:g} m under {combo.name}: the P-Δ moment {dm1:.4g} N·m reaches "
                    f"the first-order moment {m1:.4g} N·m; the pole is unstable"
                )
            amp = 1 / (1 - dm1 / m1) if m1 > 0 else 1.0
            m2 = amp * m1
            governing: tuple[str, float, float, float] | None = None
            for side, area, modulus in sides:
                sigma = n / area + m2 / modulus
                if governing is None or sigma > governing[3]:
                    governing = (side, area, modulus, sigma)
            assert governing is not None
            side, area, modulus, sigma = governing
            ultimate = combo.strength is not None
            stress = Quantity(sigma if ultimate else 0.0, "Pa").to("N/mm^2")
            record = SectionForces(
                location=name,
                z=Quantity(z, "m"),
                combination=combo.name,
                limit_state=combo.limit,
                axial=Quantity(n, "N").to("kN"),
                shear=Quantity(v, "N").to("kN"),
                first_order_moment=Quantity(m1, "N*m").to("kN*m"),
                amplification=amp,
                moment=Quantity(m2, "N*m").to("kN*m"),
                area=Quantity(area, "m^2").to("mm^2"),
                modulus=Quantity(modulus, "m^3").to("cm^3"),
                stress=stress,
                strength=(combo.strength if combo.strength is not None else strength).to("N/mm^2"),
                side=side,
            )
            forces.append(record)
            if combo.strength is not None:
                limit = combo.strength.to("N/mm^2")
                ratio = float((stress / limit).to("").magnitude)
                where = name if name == "base" else f"{name} {_fmt_m(z)}"
                checks.append(
                    Check(
                        name=f"stress, {where}",
                        value=stress,
                        limit=limit,
                        utilisation=ratio,
                        verdict=Verdict.PASS if ratio <= 1 else Verdict.FAIL,
                        basis=f"N/A + M/W{f' ({side})' if side else ''}, M = {amp:.4f}·M₁ "
                        f"(P-Δ, I); {combo.basis}; f of {shaft.steel_grade}, GB 50017-2017 (M)",
                        height=Quantity(z, "m"),
                        combination=combo.name,
                    )
                )
            if z == 0:
                base_actions.append(
                    Actions(
                        combination=combo.name,
                        limit=combo.limit,
                        axial=record.axial,
                        shear=record.shear,
                        moment=record.moment,
                        dead_axial=Quantity(dead_base, "N").to("kN"),
                    )
                )
                if combo.name == "G + W":
                    top_second = Quantity(ys[h] * amp, "m").to("mm")
    deflection = Check(
        name="top deflection, P-Δ",
        value=top_second,
        limit=deflection_limit,
        utilisation=float((top_second / deflection_limit).to("").magnitude),
        verdict=Verdict.PASS if top_second <= deflection_limit else Verdict.FAIL,
        basis="G + W with βz per the taper rule, first-order y × the base's P-Δ η (I); "
        "limit as SP-LOAD-008 (U)",
        height=shaft.height,
        combination="G + W",
    )
    return _Whole(
        forces=tuple(forces),
        checks=tuple(checks),
        deflection=deflection,
        base_actions=tuple(base_actions),
        seismic=action,
        top_deflection=top_second,
    )


def _brackets(
    attachments: Sequence[Attachment],
    loads: Sequence[AttachmentLoad],
    *,
    terrain: str,
    w0: pint.Quantity[Any],
    gamma0: float,
) -> tuple[Bracket, ...]:
    """Each attachment's connection with βgz (eq. 8.1.1-2), γ0·γQ and γ0·γG (M)."""
    rows = []
    for a, load in zip(attachments, loads, strict=True):
        beta_gz = wind.gust_factor_attachment(a.height, terrain)
        mu_z = wind.height_coefficient(a.height, terrain)
        pressure = wind.attachment_wind_pressure(a.height, terrain, w0, a.shape_coefficient)
        force = (pressure * a.area).to("kN")
        design_force = (gamma0 * GAMMA_Q * force).to("kN")
        design_weight = (gamma0 * GAMMA_G * a.mass * Quantity(GRAVITY, "m/s^2")).to("kN")
        arm = a.arm if a.arm is not None else (a.area**0.5 / 2).to("m")
        resultant = (design_force**2 + design_weight**2) ** 0.5
        rows.append(
            Bracket(
                name=a.name,
                z=a.height.to("m"),
                beta_gz=beta_gz,
                mu_z=mu_z,
                mu_s=a.shape_coefficient,
                pressure=pressure,
                force=force,
                design_force=design_force,
                design_weight=design_weight,
                arm=arm.to("m"),
                arm_declared=a.arm is not None,
                design_moment=(resultant * arm).to("kN*m"),
                main_structure_force=load.force,
            )
        )
    return tuple(rows)


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
        rows.append(ratio_check(name, value, limit, basis))

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
