"""The foundation of a pole: a pad (spread footing) or a short bored pile, under the site's soil.

Characteristic actions at the top of the foundation (ground level): N (compression positive),
its permanent part N_G (`Actions.dead_axial`), V and M. docs/engineering/base.md works a pad and
a pile through by hand.

**Pad** b × l, underside at depth d below ground; the wind is taken along the shorter side b
(the worst direction for overturning; a diagonal wind raises a square pad's corner pressure,
which is not computed here):
- foundation and soil on it G = γ_G·b·l·d with γ_G = 20 kN/m³, the mean unit weight of concrete
  and backfill GB 50007-2011 uses for this (M); moment at the underside M_f = M + V·d;
- bearing (GB 50007-2011, M): p_k = (N + G)/(b·l) ≤ f_a; with e = M_f/(N + G),
  p_max = (N + G)/(b·l)·(1 + 6e/b) when e ≤ b/6, else the base lifts and
  p_max = 2(N + G)/(3·l·a) with a = b/2 − e (contact over 3a); p_max ≤ 1.2·f_a. f_a is the
  site's bearing capacity after the depth and width corrections (the site declares it);
- overturning about the toe: K = (N_G + G)·(b/2)/M_f ≥ 1.5 (I: typical, standards.md
  SP-LOAD-010); only the permanent load stabilises, passive earth on the sides is ignored;
- sliding: K = μ·(N_G + G)/V ≥ 1.5 (I: SP-LOAD-010), μ the base friction coefficient, 0.30 if
  the site gives none (U: low end of GB 50007's base-friction table for firm cohesive soils).

**Bored pile**, short and rigid, free head (Broms 1964, remembered; M): lateral load V at height
e = M/V above ground, pile diameter D, embedded length L.
- cohesionless soil: passive resistance 3·K_p·γ·z·D, K_p = (1 + sinφ)/(1 − sinφ); moments about
  the toe give H_u = 0.5·γ·D·L³·K_p/(e + L);
- cohesive soil: no resistance over the top 1.5·D, then 9·c_u·D; with f = H_u/(9·c_u·D) and
  L' = L − 1.5·D, f² + (4e + 6D + 2L')·f − L'² = 0 and H_u = 9·c_u·D·f;
- V·K ≤ H_u with K = 1.5 as for the pad (I). γ is the effective unit weight (buoyant below the
  water table). The short-pile mode presumes the pile's own bending strength exceeds the
  maximum moment, and the pile's vertical bearing is not checked here: both are for the
  foundation design.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pint

from ycsa_conform.units import Quantity, format_quantity

from .actions import Actions, Limit
from .design_data import declared, number, quantity, text
from .pole import Check, Verdict, ratio_check

__all__ = [
    "DEFAULT_BASE_FRICTION",
    "FILL_UNIT_WEIGHT",
    "MIN_SAFETY_FACTOR",
    "BoredPile",
    "FoundationDesign",
    "FoundationType",
    "PadFoundation",
    "PadPressure",
    "Soil",
    "SoilType",
    "broms_lateral_capacity",
    "check_foundation",
    "check_pad",
    "check_pile",
    "from_design",
    "pad_pressure",
]

FILL_UNIT_WEIGHT = Quantity(20, "kN/m^3")  # γ_G, foundation with soil on it, GB 50007 (M)
MIN_SAFETY_FACTOR = 1.5  # overturning and sliding, typical (I, SP-LOAD-010)
DEFAULT_BASE_FRICTION = 0.30  # μ, low end for firm cohesive soils, GB 50007 table (U)
BEARING_EDGE_FACTOR = 1.2  # p_max ≤ 1.2·f_a, GB 50007-2011 (M)


def _fmt(value: pint.Quantity[Any]) -> str:
    return format_quantity(value)


def _si(value: pint.Quantity[Any], unit: str) -> float:
    return float(value.to(unit).magnitude)


def _positive(value: pint.Quantity[Any], what: str) -> None:
    if value.magnitude <= 0:
        raise ValueError(f"{what} {_fmt(value)} must be above 0")


class SoilType(StrEnum):
    COHESIONLESS = "cohesionless"  # sand, gravel: friction angle φ
    COHESIVE = "cohesive"  # clay: undrained shear strength c_u


@dataclass(frozen=True, slots=True, kw_only=True)
class Soil:
    unit_weight: pint.Quantity[Any]  # γ, effective (buoyant below the water table)
    bearing_capacity: pint.Quantity[Any] | None = None  # f_a, corrected, for a pad
    type: SoilType | None = None  # needed for a pile
    friction_angle: pint.Quantity[Any] | None = None  # φ, cohesionless
    undrained_shear_strength: pint.Quantity[Any] | None = None  # c_u, cohesive
    base_friction: float = DEFAULT_BASE_FRICTION  # μ under a pad

    def __post_init__(self) -> None:
        _positive(self.unit_weight, "soil unit weight")
        if self.bearing_capacity is not None:
            _positive(self.bearing_capacity, "soil bearing capacity f_a")
        if self.friction_angle is not None and not 0 < _si(self.friction_angle, "degree") < 50:
            raise ValueError(
                f"soil friction angle {_fmt(self.friction_angle)} must be between 0 and 50°"
            )
        if self.undrained_shear_strength is not None:
            _positive(self.undrained_shear_strength, "undrained shear strength c_u")
        if not 0 < self.base_friction <= 1:
            raise ValueError(f"base friction coefficient {self.base_friction:g} must be in (0, 1]")


@dataclass(frozen=True, slots=True, kw_only=True)
class PadFoundation:
    width: pint.Quantity[Any]  # one side
    length: pint.Quantity[Any]  # the other; the checks bend the pad along the shorter
    depth: pint.Quantity[Any]  # d, ground to underside
    fill_unit_weight: pint.Quantity[Any] = FILL_UNIT_WEIGHT

    def __post_init__(self) -> None:
        _positive(self.width, "pad width")
        _positive(self.length, "pad length")
        _positive(self.depth, "pad depth")
        _positive(self.fill_unit_weight, "pad fill unit weight")

    @property
    def shorter_side(self) -> pint.Quantity[Any]:
        """b, the side the wind bends the pad along in the checks."""
        side: pint.Quantity[Any] = min(self.width.to("m"), self.length.to("m"))
        return side


@dataclass(frozen=True, slots=True, kw_only=True)
class BoredPile:
    diameter: pint.Quantity[Any]
    length: pint.Quantity[Any]  # embedded length below ground

    def __post_init__(self) -> None:
        _positive(self.diameter, "pile diameter")
        _positive(self.length, "pile length")
        if self.length <= 1.5 * self.diameter:
            raise ValueError(
                f"pile length {_fmt(self.length)} must exceed 1.5 × its diameter "
                f"{_fmt(self.diameter)}: a shorter one is a pad, not a pile"
            )


class FoundationType(StrEnum):
    PAD = "pad"
    PILE = "pile"


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundationDesign:
    foundation: PadFoundation | BoredPile
    soil: Soil


@dataclass(frozen=True, slots=True, kw_only=True)
class PadPressure:
    weight: pint.Quantity[Any]  # G
    moment: pint.Quantity[Any]  # M_f at the underside
    eccentricity: pint.Quantity[Any]  # e = M_f/(N + G)
    mean: pint.Quantity[Any]  # p_k
    maximum: pint.Quantity[Any] | None  # p_max; None when e ≥ b/2 (no contact left)
    lifts: bool  # e > b/6: part of the base is not in contact


def _require_characteristic(actions: Actions, what: str) -> None:
    if Limit(actions.limit) is not Limit.CHARACTERISTIC:
        raise ValueError(
            f"{what} is checked with characteristic actions, not {actions.limit} ones "
            f"({actions.combination})"
        )


def pad_pressure(actions: Actions, pad: PadFoundation) -> PadPressure:
    """Bearing pressure under the pad, GB 50007-2011 eccentric-load formulas (M)."""
    b, ell = sorted((_si(pad.width, "m"), _si(pad.length, "m")))
    d = _si(pad.depth, "m")
    weight = _si(pad.fill_unit_weight, "kN/m^3") * b * ell * d
    n = _si(actions.axial, "kN") + weight
    if n <= 0:
        raise ValueError(
            f"net uplift on the pad (N + G = {n:.3g} kN): a pad cannot hold a pole in tension"
        )
    m = abs(_si(actions.moment, "kN*m")) + abs(_si(actions.shear, "kN")) * d
    e = m / n
    mean = n / (b * ell)
    if e <= b / 6:
        p_max: float | None = mean * (1 + 6 * e / b)
    elif e < b / 2:
        p_max = 2 * n / (3 * ell * (b / 2 - e))
    else:
        p_max = None
    return PadPressure(
        weight=Quantity(weight, "kN"),
        moment=Quantity(m, "kN*m"),
        eccentricity=Quantity(e, "m"),
        mean=Quantity(mean, "kPa"),
        maximum=None if p_max is None else Quantity(p_max, "kPa"),
        lifts=e > b / 6,
    )


def _factor_check(name: str, factor: float, required: float, basis: str) -> Check:
    """A safety factor K against its minimum: utilisation = required / K."""
    utilisation = 0.0 if math.isinf(factor) else required / factor
    return Check(
        name=name,
        value=Quantity(factor, ""),
        limit=Quantity(required, ""),
        utilisation=utilisation,
        verdict=Verdict.PASS if factor >= required else Verdict.FAIL,
        basis=basis,
    )


def check_pad(
    actions: Actions,
    pad: PadFoundation,
    soil: Soil,
    *,
    overturning_factor: float = MIN_SAFETY_FACTOR,
    sliding_factor: float = MIN_SAFETY_FACTOR,
) -> tuple[Check, ...]:
    """Mean and edge bearing pressure, overturning and sliding of a pad (module docstring)."""
    _require_characteristic(actions, "a pad foundation")
    if soil.bearing_capacity is None:
        raise ValueError(
            "a pad foundation needs the soil's bearing capacity; give soil_bearing_capacity"
        )
    fa = soil.bearing_capacity.to("kPa")
    pressure = pad_pressure(actions, pad)
    checks = [
        ratio_check(
            "foundation mean bearing pressure",
            pressure.mean,
            fa,
            f"p_k = (N + G)/(b·l) ≤ f_a, G = γ_G·b·l·d, γ_G = {_fmt(pad.fill_unit_weight)}, "
            "GB 50007-2011 (M)",
        )
    ]
    edge_limit = (BEARING_EDGE_FACTOR * fa).to("kPa")
    e_rule = (
        f"e = {_fmt(pressure.eccentricity.to('mm'))} > b/6: base lifts, "
        "p_max = 2(N + G)/(3·l·a), a = b/2 − e"
        if pressure.lifts
        else "p_max = (N + G)/(b·l)·(1 + 6e/b), e ≤ b/6"
    )
    if pressure.maximum is None:
        checks.append(
            Check(
                name="foundation edge bearing pressure",
                value=pressure.eccentricity.to("mm"),
                limit=(pad.shorter_side / 2).to("mm"),
                utilisation=None,
                verdict=Verdict.FAIL,
                basis="e = M_f/(N + G) ≥ b/2: the resultant is outside the pad, no bearing "
                "is left (the pad overturns)",
            )
        )
    else:
        checks.append(
            ratio_check(
                "foundation edge bearing pressure",
                pressure.maximum,
                edge_limit,
                f"{e_rule}; M_f = M + V·d; p_max ≤ 1.2·f_a, GB 50007-2011 (M)",
            )
        )
    dead = actions.axial if actions.dead_axial is None else actions.dead_axial
    stabilising = (dead.to("kN") + pressure.weight) * pad.shorter_side.to("m") / 2
    overturning = pressure.moment
    factor = (
        math.inf
        if overturning.magnitude == 0
        else float((stabilising / overturning).to("").magnitude)
    )
    checks.append(
        _factor_check(
            "foundation overturning",
            factor,
            overturning_factor,
            f"K = (N_G + G)·(b/2)/(M + V·d) ≥ {overturning_factor:g}, dead load only, about "
            "the toe (I, SP-LOAD-010)",
        )
    )
    shear = abs(_si(actions.shear, "kN"))
    resisting = soil.base_friction * (_si(dead, "kN") + _si(pressure.weight, "kN"))
    checks.append(
        _factor_check(
            "foundation sliding",
            math.inf if shear == 0 else resisting / shear,
            sliding_factor,
            f"K = μ·(N_G + G)/V ≥ {sliding_factor:g}, μ = {soil.base_friction:g} "
            f"(I, SP-LOAD-010; μ default {DEFAULT_BASE_FRICTION:g} U)",
        )
    )
    return tuple(checks)


def broms_lateral_capacity(
    pile: BoredPile, soil: Soil, *, eccentricity: pint.Quantity[Any]
) -> pint.Quantity[Any]:
    """H_u of a short free-head pile, load at `eccentricity` above ground (Broms 1964, M)."""
    d, ell, e = _si(pile.diameter, "m"), _si(pile.length, "m"), _si(eccentricity, "m")
    if soil.type is None:
        raise ValueError("a pile's lateral capacity needs soil_type: cohesionless or cohesive")
    if SoilType(soil.type) is SoilType.COHESIONLESS:
        if soil.friction_angle is None:
            raise ValueError("a pile in cohesionless soil needs soil_friction_angle")
        s = math.sin(math.radians(_si(soil.friction_angle, "degree")))
        kp = (1 + s) / (1 - s)
        gamma = _si(soil.unit_weight, "kN/m^3")
        return Quantity(0.5 * gamma * d * ell**3 * kp / (e + ell), "kN")
    if soil.undrained_shear_strength is None:
        raise ValueError("a pile in cohesive soil needs soil_undrained_shear_strength")
    cu = _si(soil.undrained_shear_strength, "kPa")
    rest = ell - 1.5 * d
    b = 4 * e + 6 * d + 2 * rest
    f = (-b + math.sqrt(b * b + 4 * rest * rest)) / 2
    return Quantity(9 * cu * d * f, "kN")


def check_pile(
    actions: Actions,
    pile: BoredPile,
    soil: Soil,
    *,
    safety_factor: float = MIN_SAFETY_FACTOR,
) -> tuple[Check, ...]:
    """Lateral capacity of a short bored pile by Broms' method against K·V (module docstring)."""
    _require_characteristic(actions, "a pile foundation")
    shear = abs(actions.shear.to("kN"))
    if shear.magnitude <= 0:
        raise ValueError(
            f"the pile check needs a lateral load; the actions ({actions.combination}) have "
            "no shear"
        )
    eccentricity = (abs(actions.moment) / shear).to("m")
    capacity = broms_lateral_capacity(pile, soil, eccentricity=eccentricity)
    soil_rule = (
        "H_u = 0.5·γ·D·L³·K_p/(e + L), K_p = (1 + sinφ)/(1 − sinφ)"
        if soil.type is not None and SoilType(soil.type) is SoilType.COHESIONLESS
        else "H_u = 9·c_u·D·f, f² + (4e + 6D + 2(L − 1.5D))·f − (L − 1.5D)² = 0"
    )
    return (
        ratio_check(
            "pile lateral capacity",
            (safety_factor * shear).to("kN"),
            capacity,
            f"K·V ≤ H_u, K = {safety_factor:g} (I, SP-LOAD-010), e = M/V = "
            f"{_fmt(eccentricity)}; {soil_rule}: short free-head pile, Broms 1964 (M)",
        ),
    )


def check_foundation(
    actions: Actions,
    design: FoundationDesign,
    *,
    safety_factor: float = MIN_SAFETY_FACTOR,
) -> tuple[Check, ...]:
    """The pad or pile checks for `design`, with one minimum safety factor for all."""
    if isinstance(design.foundation, PadFoundation):
        return check_pad(
            actions,
            design.foundation,
            design.soil,
            overturning_factor=safety_factor,
            sliding_factor=safety_factor,
        )
    return check_pile(actions, design.foundation, design.soil, safety_factor=safety_factor)


# --- design data ----------------------------------------------------------------------------

PAD_KEYS = ("foundation_width", "foundation_depth", "soil_bearing_capacity", "soil_unit_weight")
PILE_KEYS = ("pile_diameter", "pile_length", "soil_type", "soil_unit_weight")
OPTIONAL_KEYS = (
    "foundation_length",
    "soil_friction_angle",
    "soil_undrained_shear_strength",
    "soil_base_friction",
)


def _soil(design: Mapping[str, object]) -> Soil:
    def maybe(key: str) -> pint.Quantity[Any] | None:
        return quantity(design, key) if key in design else None

    return Soil(
        unit_weight=quantity(design, "soil_unit_weight"),
        bearing_capacity=maybe("soil_bearing_capacity"),
        type=SoilType(text(design, "soil_type")) if "soil_type" in design else None,
        friction_angle=maybe("soil_friction_angle"),
        undrained_shear_strength=maybe("soil_undrained_shear_strength"),
        base_friction=(
            number(design, "soil_base_friction")
            if "soil_base_friction" in design
            else DEFAULT_BASE_FRICTION
        ),
    )


def from_design(design: Mapping[str, object]) -> FoundationDesign | None:
    """The foundation a site's design block declares (`foundation_type: pad | pile`), or None."""
    every = (*PAD_KEYS, *PILE_KEYS, *OPTIONAL_KEYS)
    if "foundation_type" not in design:
        given = [k for k in every if k in design]
        if given:
            raise ValueError(
                f"the design gives foundation data ({', '.join(given)}) but no "
                "foundation_type; give foundation_type: pad or pile"
            )
        return None
    kind = FoundationType(text(design, "foundation_type"))
    if kind is FoundationType.PAD:
        declared(design, (*PAD_KEYS, "foundation_type"), (), "a pad foundation")
        width = quantity(design, "foundation_width")
        pad = PadFoundation(
            width=width,
            length=(
                quantity(design, "foundation_length") if "foundation_length" in design else width
            ),
            depth=quantity(design, "foundation_depth"),
        )
        return FoundationDesign(foundation=pad, soil=_soil(design))
    declared(design, (*PILE_KEYS, "foundation_type"), (), "a pile foundation")
    pile = BoredPile(
        diameter=quantity(design, "pile_diameter"), length=quantity(design, "pile_length")
    )
    soil = _soil(design)
    needed = (
        "soil_friction_angle"
        if soil.type is SoilType.COHESIONLESS
        else "soil_undrained_shear_strength"
    )
    if needed not in design:
        raise ValueError(f"a pile in {soil.type} soil needs {needed}")
    return FoundationDesign(foundation=pile, soil=soil)
