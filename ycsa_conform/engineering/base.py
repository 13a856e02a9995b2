"""The base of a pole: base plate and anchor bolts under the design actions at the base.

Model (docs/engineering/base.md works one pole through by hand):

- **Bolt forces: elastic bolt group about its centre.** The plate sits on levelling nuts (the
  double-nut detail of lamp poles, no grout in bearing), so every bolt takes tension or
  compression and the group acts like a ring of area n·A about the pole's axis. With n equal
  bolts on a circle of diameter D_b, Σy² = n·D_b²/8 for any wind direction, and the worst
  direction puts a bolt on the bending axis (y = D_b/2):
  N_i = 4·M·cosφ_i/(n·D_b) − N/n, tension positive (I: the elastic bolt-group rule of AASHTO LTS
  practice for double-nut base plates, remembered (U)). A rotation about a compression edge
  (grouted plate bearing on concrete) gives less bolt tension for the same M, so the centre
  rule is the safe one of the two (docs/engineering/base.md).
- **Shear**: V/n on every bolt, through the threaded part (I: holes fit, friction under the
  plate and shear keys ignored, on the safe side).
- **Tension with shear**: √((N_t/N_t^b)² + (N_v/N_v^b)²) ≤ 1, the GB 50017-2017 rule for
  ordinary bolts and anchor bolts under shear and tension (M; clause not cited).
- **Plate bending: cantilever per bolt.** The largest bolt force F (tension or compression)
  acts at e = (D_b − D)/2 from the shaft's face (D the diameter, across flats for a polygon:
  the longer lever), spread over b_eff = min(π·D_b/n, 2·e) (the bolt spacing, or a 45° spread
  from the bolt to the face); σ = 6·F·e/(b_eff·t²) ≤ f of the plate (I: common practice for
  unstiffened base plates; stiffeners, a yield-line model or a ring model give other figures).

- **Weld of the shaft to the plate** (when its leg h_f is given): a fillet all round the
  shaft's foot taken as a thin ring of diameter D (across flats for a polygon: its inscribed
  circle, less weld than the polygon has) and throat 0.7·h_f: σ_f = N/A_w + M/W_w normal to the
  weld, τ_f = 2V/A_w (the peak shear of a thin ring), √((σ_f/β_f)² + τ_f²) ≤ f_f^w (GB 50017-2017
  fillet-weld rule, M; the ring model I).

Strengths are GB 50017-2017 design values (M, from memory: verify before relying on them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.units import Quantity, format_quantity

from .actions import Actions, Limit
from .design_data import declared, quantity, whole_number
from .pole import Check, SteelGrade, Verdict, ratio_check
from .section import Section

__all__ = [
    "ANCHOR_STRENGTHS",
    "COARSE_PITCH",
    "OPTIONAL_KEYS",
    "REQUIRED_KEYS",
    "AnchorBolts",
    "AnchorGrade",
    "BaseConnection",
    "BasePlate",
    "PlateShape",
    "base_weld_check",
    "bolt_forces",
    "check_base",
    "from_design",
    "plate_design_strength",
    "stress_area",
]


class AnchorGrade(StrEnum):
    Q235 = "Q235"  # anchor rod of Q235 steel
    Q355 = "Q355"  # anchor rod of Q355 (Q345 in GB 50017-2017's table)
    BOLT_4_6 = "4.6"  # property class 4.6 bolt (grade C)
    BOLT_8_8 = "8.8"  # property class 8.8 bolt


@dataclass(frozen=True, slots=True, kw_only=True)
class _BoltStrength:
    tension: pint.Quantity[Any]  # design tensile strength over the stress area
    shear: pint.Quantity[Any]  # design shear strength
    basis: str


# GB 50017-2017 has a tensile design strength f_t^a for anchor bolts (Q235 140, Q345 180
# N/mm²; M) and no shear strength for them: anchor bolts are meant to carry shear through
# friction or a shear key. A lamp pole on levelling nuts has neither, so the bolts take the
# shear; their shear strength is taken in the ratio f_v/f_t = 140/170 of grade-C 4.6 bolts in
# the same table (I: by analogy, no normative source; override with `shear_strength`).
_ANCHOR_SHEAR_RATIO = 140 / 170
ANCHOR_STRENGTHS = MappingProxyType(
    {
        AnchorGrade.Q235: _BoltStrength(
            tension=Quantity(140, "N/mm^2"),
            shear=Quantity(140 * _ANCHOR_SHEAR_RATIO, "N/mm^2"),
            basis="anchor bolt Q235: f_t^a = 140 N/mm², GB 50017-2017 (M); f_v = 140/170·f_t^a (I)",
        ),
        AnchorGrade.Q355: _BoltStrength(
            tension=Quantity(180, "N/mm^2"),
            shear=Quantity(180 * _ANCHOR_SHEAR_RATIO, "N/mm^2"),
            basis="anchor bolt Q355 (Q345 row): f_t^a = 180 N/mm², GB 50017-2017 (M); "
            "f_v = 140/170·f_t^a (I)",
        ),
        AnchorGrade.BOLT_4_6: _BoltStrength(
            tension=Quantity(170, "N/mm^2"),
            shear=Quantity(140, "N/mm^2"),
            basis="grade C bolt 4.6: f_t^b = 170, f_v^b = 140 N/mm², GB 50017-2017 (M)",
        ),
        AnchorGrade.BOLT_8_8: _BoltStrength(
            tension=Quantity(400, "N/mm^2"),
            shear=Quantity(320, "N/mm^2"),
            basis="grade A/B bolt 8.8: f_t^b = 400, f_v^b = 320 N/mm², GB 50017-2017 (M)",
        ),
    }
)

# ISO 261 coarse pitches (M), nominal diameter in mm → pitch in mm.
COARSE_PITCH = MappingProxyType(
    {
        12: 1.75, 16: 2.0, 20: 2.5, 22: 2.5, 24: 3.0, 27: 3.0, 30: 3.5, 33: 3.5, 36: 4.0,
        39: 4.0, 42: 4.5, 45: 4.5, 48: 5.0, 52: 5.0, 56: 5.5, 60: 5.5, 64: 6.0,
    }
)  # fmt: skip

# Plate design strength f by thickness band (upper bound of t in mm → f), GB 50017-2017 (M);
# Q355 takes the Q345 row of the 2017 table. Plates above 100 mm are not transcribed.
_PLATE_STRENGTH: Mapping[SteelGrade, tuple[tuple[float, float], ...]] = MappingProxyType(
    {
        SteelGrade.Q235: ((16, 215), (40, 205), (60, 200), (100, 190)),
        SteelGrade.Q355: ((16, 305), (40, 295), (63, 290), (80, 280), (100, 270)),
    }
)


def _fmt(value: pint.Quantity[Any]) -> str:
    return format_quantity(value)


def _mm(value: pint.Quantity[Any]) -> float:
    return float(value.to("mm").magnitude)


def stress_area(
    diameter: pint.Quantity[Any], pitch: pint.Quantity[Any] | None = None
) -> pint.Quantity[Any]:
    """Tensile stress area of a thread, A_s = π/4·(d − 0.9382·p)² (ISO 898-1, M).

    Without a pitch the ISO 261 coarse pitch of the nominal size is used (M20: 245 mm²,
    M24: 353 mm², M30: 561 mm², M36: 817 mm²).
    """
    d = _mm(diameter)
    if pitch is None:
        if d not in COARSE_PITCH:
            sizes = ", ".join(f"M{k}" for k in COARSE_PITCH)
            raise ValueError(
                f"no coarse pitch known for a {_fmt(diameter)} bolt (known: {sizes}); "
                "give the pitch"
            )
        p = COARSE_PITCH[int(d)]
    else:
        p = _mm(pitch)
    if not 0 < p < d / 2:
        raise ValueError(f"thread pitch {p:g} mm does not fit a {d:g} mm bolt")
    return Quantity(math.pi / 4 * (d - 0.9382 * p) ** 2, "mm^2")


def plate_design_strength(grade: SteelGrade, thickness: pint.Quantity[Any]) -> pint.Quantity[Any]:
    """f of a plate of `grade` and `thickness`, GB 50017-2017 thickness bands (M)."""
    t = _mm(thickness)
    for upper, f in _PLATE_STRENGTH[SteelGrade(grade)]:
        if t <= upper:
            return Quantity(f, "N/mm^2")
    raise ValueError(
        f"plate thickness {_fmt(thickness)} is above 100 mm: the design strength of "
        f"{grade} for it is not transcribed"
    )


# Fillet welds, GB 50017-2017 (M): f_f^w of the matching electrode (E43 for Q235, E50 for
# Q355: I, the usual match) and the factor β_f = 1.22 on stress normal to the weld's length
# under static load.
_FILLET_STRENGTH: Mapping[SteelGrade, tuple[str, float]] = MappingProxyType(
    {SteelGrade.Q235: ("E43", 160.0), SteelGrade.Q355: ("E50", 200.0)}
)
_FRONT_FILLET_FACTOR = 1.22


class PlateShape(StrEnum):
    SQUARE = "square"
    CIRCULAR = "circular"


@dataclass(frozen=True, slots=True, kw_only=True)
class BasePlate:
    thickness: pint.Quantity[Any]
    width: pint.Quantity[Any]  # side of a square plate, diameter of a round one
    steel_grade: SteelGrade
    shape: PlateShape = PlateShape.SQUARE

    def __post_init__(self) -> None:
        if _mm(self.thickness) <= 0:
            raise ValueError(f"base plate thickness {_fmt(self.thickness)} must be above 0")
        if _mm(self.width) <= 0:
            raise ValueError(f"base plate width {_fmt(self.width)} must be above 0")
        plate_design_strength(self.steel_grade, self.thickness)  # refuses > 100 mm


@dataclass(frozen=True, slots=True, kw_only=True)
class AnchorBolts:
    count: int
    diameter: pint.Quantity[Any]  # nominal thread diameter
    circle_diameter: pint.Quantity[Any]  # bolt circle D_b
    grade: AnchorGrade
    pitch: pint.Quantity[Any] | None = None  # coarse pitch of the size when None

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 4:
            raise ValueError(
                f"anchor bolt count {self.count!r} must be a whole number of at least 4: the "
                "elastic bolt-group rule (Σy² = n·D_b²/8) needs bolts all round the circle"
            )
        if _mm(self.diameter) <= 0:
            raise ValueError(f"anchor bolt diameter {_fmt(self.diameter)} must be above 0")
        if _mm(self.circle_diameter) <= _mm(self.diameter):
            raise ValueError(
                f"bolt circle diameter {_fmt(self.circle_diameter)} must exceed the bolt "
                f"diameter {_fmt(self.diameter)}"
            )
        AnchorGrade(self.grade)
        stress_area(self.diameter, self.pitch)  # refuses an unknown size without a pitch

    @property
    def stress_area(self) -> pint.Quantity[Any]:
        return stress_area(self.diameter, self.pitch)

    @property
    def spacing(self) -> pint.Quantity[Any]:
        """Arc length between bolts on the circle, π·D_b/n."""
        s: pint.Quantity[Any] = (math.pi * self.circle_diameter / self.count).to("mm")
        return s


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseConnection:
    plate: BasePlate
    bolts: AnchorBolts
    weld_size: pint.Quantity[Any] | None = None  # leg h_f of the fillet weld shaft-to-plate

    def __post_init__(self) -> None:
        if self.weld_size is not None and _mm(self.weld_size) <= 0:
            raise ValueError(f"base weld size {_fmt(self.weld_size)} must be above 0")
        if _mm(self.bolts.circle_diameter) + _mm(self.bolts.diameter) > _mm(self.plate.width):
            raise ValueError(
                f"bolt circle {_fmt(self.bolts.circle_diameter)} with "
                f"{_fmt(self.bolts.diameter)} bolts does not fit on a "
                f"{_fmt(self.plate.width)} plate: the holes would cut the edge; give a wider "
                "plate or a smaller bolt circle"
            )


def bolt_forces(actions: Actions, bolts: AnchorBolts) -> tuple[pint.Quantity[Any], ...]:
    """Axial force in each bolt, tension positive; bolt i at φ_i = 2πi/n from the tension side.

    N_i = 4·M·cosφ_i/(n·D_b) − N/n (elastic bolt group about the centre; module docstring).
    """
    n = bolts.count
    m = float(actions.moment.to("N*m").magnitude)
    axial = float(actions.axial.to("N").magnitude)
    db = float(bolts.circle_diameter.to("m").magnitude)
    return tuple(
        Quantity(4 * m * math.cos(2 * math.pi * i / n) / (n * db) - axial / n, "N").to("kN")
        for i in range(n)
    )


def _largest(values: Sequence[pint.Quantity[Any]]) -> pint.Quantity[Any]:
    best = values[0]
    for v in values[1:]:
        if v > best:
            best = v
    return best


def _smallest(values: Sequence[pint.Quantity[Any]]) -> pint.Quantity[Any]:
    best = values[0]
    for v in values[1:]:
        if v < best:
            best = v
    return best


def check_base(
    actions: Actions,
    connection: BaseConnection,
    shaft: Section,
    *,
    shear_strength: pint.Quantity[Any] | None = None,
) -> tuple[Check, ...]:
    """Anchor bolt tension, shear, tension with shear, base plate bending; the weld if sized.

    `actions` are the factored (ultimate) actions at the base; `shaft` is the base section
    (pole.PoleLoads.base_section). When `actions.dead_axial` is given, the bolt tension is
    relieved by the dead load alone (γG = 1.0 where the permanent load is favourable,
    GB 55001-2021, M), not by a factored 1.3·G.
    """
    if Limit(actions.limit) is not Limit.ULTIMATE:
        raise ValueError(
            f"base plate and anchor bolts are checked with ultimate actions, not "
            f"{actions.limit} ones ({actions.combination})"
        )
    plate, bolts = connection.plate, connection.bolts
    if _mm(shaft.size) >= _mm(bolts.circle_diameter):
        raise ValueError(
            f"bolt circle {_fmt(bolts.circle_diameter)} is inside the shaft "
            f"({_fmt(shaft.size)}): this module checks bolts outside the tube"
        )
    strength = ANCHOR_STRENGTHS[AnchorGrade(bolts.grade)]
    f_v = strength.shear if shear_strength is None else shear_strength
    n = bolts.count
    area = bolts.stress_area
    relieving = actions.axial
    if actions.dead_axial is not None:
        relieving = min(actions.axial.to("kN"), actions.dead_axial.to("kN"))
    relieved = Actions(
        combination=actions.combination,
        limit=actions.limit,
        axial=relieving,
        shear=actions.shear,
        moment=actions.moment,
    )
    zero = Quantity(0, "kN")
    tension = _largest((*bolt_forces(relieved, bolts), zero))
    compression = Quantity(
        -_smallest((*bolt_forces(actions, bolts), zero)).to("kN").magnitude, "kN"
    )
    shear = (actions.shear / n).to("kN")
    t_cap = (area * strength.tension).to("kN")
    v_cap = (area * f_v).to("kN")
    group = f"n = {n}, D_b = {_fmt(bolts.circle_diameter)}"
    checks = [
        ratio_check(
            "anchor bolt tension",
            tension,
            t_cap,
            f"N_t = 4M/(n·D_b) − N/n ({group}; elastic bolt group about the centre, I) ≤ "
            f"A_s·f_t, A_s = {_fmt(area.to('mm^2'))} (ISO 898-1, M); {strength.basis}",
        ),
        ratio_check(
            "anchor bolt shear",
            shear,
            v_cap,
            f"N_v = V/n ≤ A_s·f_v (I: shear on the thread, no friction); {strength.basis}",
        ),
    ]
    combined = math.hypot(
        float((tension / t_cap).to("").magnitude), float((shear / v_cap).to("").magnitude)
    )
    checks.append(
        Check(
            name="anchor bolt tension + shear",
            value=Quantity(combined, ""),
            limit=Quantity(1, ""),
            utilisation=combined,
            verdict=Verdict.PASS if combined <= 1 else Verdict.FAIL,
            basis="√((N_t/N_t^b)² + (N_v/N_v^b)²) ≤ 1, GB 50017-2017 bolts in shear and "
            "tension (M)",
        )
    )
    lever = ((bolts.circle_diameter - shaft.size) / 2).to("mm")
    width = min(bolts.spacing, 2 * lever).to("mm")
    force = _largest((tension, compression))
    stress = (6 * force * lever / (width * plate.thickness**2)).to("N/mm^2")
    f = plate_design_strength(plate.steel_grade, plate.thickness)
    checks.append(
        ratio_check(
            "base plate bending",
            stress,
            f,
            f"σ = 6·F·e/(b_eff·t²), F = largest bolt force {_fmt(force)}, e = (D_b − D)/2 = "
            f"{_fmt(lever)}, b_eff = min(π·D_b/n, 2e) = {_fmt(width)} (I: cantilever per "
            f"bolt) ≤ f of {plate.steel_grade} at t = {_fmt(plate.thickness)}, "
            "GB 50017-2017 (M)",
        )
    )
    if connection.weld_size is not None:
        checks.append(base_weld_check(actions, shaft, connection.weld_size, plate.steel_grade))
    return tuple(checks)


def base_weld_check(
    actions: Actions,
    shaft: Section,
    weld_size: pint.Quantity[Any],
    steel_grade: SteelGrade,
) -> Check:
    """Static strength of the fillet weld all round the shaft's foot (module docstring)."""
    d = _mm(shaft.size)
    throat = 0.7 * _mm(weld_size)
    area = math.pi * d * throat  # thin ring on the shaft's outside
    modulus = math.pi * d * d * throat / 4
    sigma = (
        abs(float(actions.axial.to("N").magnitude)) / area
        + abs(float(actions.moment.to("N*mm").magnitude)) / modulus
    )
    tau = 2 * abs(float(actions.shear.to("N").magnitude)) / area
    stress = math.hypot(sigma / _FRONT_FILLET_FACTOR, tau)
    electrode, strength = _FILLET_STRENGTH[SteelGrade(steel_grade)]
    return ratio_check(
        "base weld",
        Quantity(stress, "N/mm^2"),
        Quantity(strength, "N/mm^2"),
        f"√((σ_f/β_f)² + τ_f²), σ_f = N/A_w + M/W_w, τ_f = 2V/A_w, A_w = π·D·0.7h_f, "
        f"W_w = π·D²·0.7h_f/4 (I: thin ring at D = {_fmt(shaft.size)}, h_f = "
        f"{_fmt(weld_size)}), β_f = 1.22 ≤ f_f^w = {strength:g} N/mm² ({electrode}), "
        "GB 50017-2017 (M)",
    )


# --- design data ----------------------------------------------------------------------------

# The keys of a site's design block that declare a base connection, all needed together.
REQUIRED_KEYS = (
    "base_plate_thickness",
    "base_plate_width",
    "anchor_bolt_count",
    "anchor_bolt_diameter",
    "anchor_bolt_circle_diameter",
    "anchor_bolt_grade",
)
OPTIONAL_KEYS = ("base_plate_shape", "base_plate_grade", "base_weld_size")


def from_design(design: Mapping[str, object]) -> BaseConnection | None:
    """The base connection a site's design block declares; None when it declares none of it.

    The plate's steel is `base_plate_grade`, else the shaft's `steel_grade`.
    """
    if not declared(design, REQUIRED_KEYS, OPTIONAL_KEYS, "a base plate and anchor bolts"):
        return None
    grade = design.get("base_plate_grade", design.get("steel_grade"))
    if grade is None:
        raise ValueError(
            "the design declares a base plate but not its steel; give base_plate_grade "
            "(Q235 or Q355) or steel_grade"
        )
    plate = BasePlate(
        thickness=quantity(design, "base_plate_thickness"),
        width=quantity(design, "base_plate_width"),
        steel_grade=SteelGrade(str(grade)),
        shape=PlateShape(str(design.get("base_plate_shape", PlateShape.SQUARE))),
    )
    bolts = AnchorBolts(
        count=whole_number(design, "anchor_bolt_count"),
        diameter=quantity(design, "anchor_bolt_diameter"),
        circle_diameter=quantity(design, "anchor_bolt_circle_diameter"),
        grade=AnchorGrade(str(design["anchor_bolt_grade"])),
    )
    weld = quantity(design, "base_weld_size") if "base_weld_size" in design else None
    return BaseConnection(plate=plate, bolts=bolts, weld_size=weld)
