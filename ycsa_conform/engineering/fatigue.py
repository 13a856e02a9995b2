"""Fatigue of the base weld and the anchor bolts under wind: a recommended check.

GB 50009 and GB 50017 give no wind-fatigue load for lamp poles; this follows AASHTO LTS
(Standard Specifications for Structural Supports for Highway Signs, Luminaires and Traffic
Signals, 2001 / LTS-6 2013), remembered, not read: each value carries its tag
(docs/engineering/fatigue.md works one pole through by hand). Infinite life: the stress range
of each load must stay below the detail's constant-amplitude fatigue threshold (CAFT).

- **Natural wind gust**: P_NW = 250 Pa·C_d·I_F (5.2 psf, for a yearly mean wind of 5 m/s; M),
  on every shaft segment (b·Δz) and attachment (A) of `pole.PoleLoads`, C_d taken as their μs
  (I: GB 50009's shape coefficient stands for AASHTO's drag coefficient).
- **Vortex shedding** (round shafts, when GB 50009 8.5.3's sub-critical condition holds: Re <
  3×10⁵ and v_cr < v_H, R): V_c = f1·D/S_t with AASHTO's S_t = 0.18 (M), i.e. the pole
  module's v_cr (S_t = 0.2) × 0.2/0.18; P_VS = k·V_c²·C_d·I_F/(2β), k = 0.00118 psf/mph²
  = 0.2827 Pa·s²/m² (U: the US-unit coefficient as remembered; verify, the SI edition is not
  transcribed), β the damping ratio, 0.005 when not known (U); applied across the wind on
  the whole shaft (I: on the safe side; AASHTO may limit the loaded length).
- Stress ranges: weld Δσ = ΔM/W (W at the base, pole.PoleLoads.base_section);
  anchor bolt Δσ = 4·ΔM/(n·D_b)/A_s (elastic bolt group as in base.py).
- Thresholds: AASHTO CAFT by detail category (ksi → MPa; A 24, B 16, B' 12, C 10, C' 12,
  D 7, E 4.5, E' 2.6: M; ET 1.2: U). Anchor bolts in tension: D (M). A fillet-welded socket
  joint of shaft to base plate: E' (U: LTS-6 grades it by the plate's thickness and the
  detail; ask the maker). Or an EN 1993-1-9 category written "EN 71": Δσ_D = 0.737·Δσ_C, the
  constant-amplitude limit at 5×10⁶ cycles (M); no γ_Mf and no bolt size factor applied.
- I_F, the fatigue importance factor, 1.0 for category I (M); AASHTO lowers it for less
  critical supports (values not transcribed: a parameter).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.units import Quantity, format_quantity

from .base import AnchorBolts
from .design_data import number, text
from .pole import Check, PoleLoads, Verdict
from .wind import SectionShape

__all__ = [
    "AASHTO_THRESHOLDS",
    "DESIGN_KEYS",
    "GUST_PRESSURE",
    "VORTEX_COEFFICIENT",
    "FatigueDesign",
    "StressRanges",
    "check_fatigue",
    "fatigue_threshold",
    "from_design",
    "stress_ranges",
]

GUST_PRESSURE = Quantity(250, "Pa")  # AASHTO natural wind gust, 5.2 psf (M)
VORTEX_COEFFICIENT = Quantity(0.00118 * 47.880259 / 0.44704**2, "Pa*s^2/m^2")  # (U)
AASHTO_STROUHAL = 0.18  # (M)
_GB_STROUHAL = 0.2  # GB 50009 8.5.3 (R), what PoleLoads.critical_wind_speed uses
_SUBCRITICAL_REYNOLDS = 3e5  # GB 50009 8.5.3 (R)
_KSI = 6.894757  # MPa per ksi
_EN_LIMIT_RATIO = 0.737  # Δσ_D/Δσ_C = (2/5)^(1/3), EN 1993-1-9 (M)

AASHTO_THRESHOLDS = MappingProxyType(
    {
        "A": (24.0, "M"),
        "B": (16.0, "M"),
        "B'": (12.0, "M"),
        "C": (10.0, "M"),
        "C'": (12.0, "M"),
        "D": (7.0, "M"),
        "E": (4.5, "M"),
        "E'": (2.6, "M"),
        "ET": (1.2, "U"),
    }
)  # CAFT in ksi, with the confidence tag of each
_EN_CATEGORY = re.compile(r"^EN\s*(\d+(?:\.\d+)?)$", re.IGNORECASE)


def fatigue_threshold(category: str) -> tuple[pint.Quantity[Any], str]:
    """Constant-amplitude threshold of a detail category, and where it comes from.

    An AASHTO category letter ("E'", "D") or an EN 1993-1-9 category as "EN 71".
    """
    key = category.strip().replace("’", "'")
    if key.upper() in AASHTO_THRESHOLDS:
        ksi, tag = AASHTO_THRESHOLDS[key.upper()]
        value = Quantity(ksi * _KSI, "N/mm^2")
        return value, f"AASHTO LTS CAFT of category {key.upper()}, {ksi:g} ksi ({tag})"
    match = _EN_CATEGORY.match(key)
    if match:
        c = float(match.group(1))
        return (
            Quantity(_EN_LIMIT_RATIO * c, "N/mm^2"),
            f"EN 1993-1-9 category {c:g}: Δσ_D = 0.737·Δσ_C (M)",
        )
    raise ValueError(
        f"fatigue detail category {category!r} is not known: give an AASHTO category "
        f"({', '.join(AASHTO_THRESHOLDS)}) or an EN 1993-1-9 one as 'EN 71'"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FatigueDesign:
    weld_category: str = "E'"  # shaft-to-base-plate socket weld (U)
    bolt_category: str = "D"  # anchor bolts in tension (M)
    importance_factor: float = 1.0  # I_F, category I (M)
    damping_ratio: float = 0.005  # β for the vortex pressure (U)
    gust_pressure: pint.Quantity[Any] = GUST_PRESSURE

    def __post_init__(self) -> None:
        fatigue_threshold(self.weld_category)
        fatigue_threshold(self.bolt_category)
        if not 0 < self.importance_factor <= 1:
            raise ValueError(
                f"fatigue importance factor {self.importance_factor:g} must be in (0, 1]: "
                "1.0 is AASHTO category I"
            )
        if not 0 < self.damping_ratio < 0.2:
            raise ValueError(
                f"damping ratio {self.damping_ratio:g} must be in (0, 0.2): a steel pole "
                "alone has about 0.005, a tuned damper a few per cent"
            )
        if self.gust_pressure.to("Pa").magnitude <= 0:
            raise ValueError(f"gust pressure {format_quantity(self.gust_pressure)} must be > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class StressRanges:
    moment: pint.Quantity[Any]  # ΔM at the base
    weld: pint.Quantity[Any]  # ΔM/W
    bolt: pint.Quantity[Any] | None  # 4ΔM/(n·D_b)/A_s


def _ranges(
    moment: pint.Quantity[Any], loads: PoleLoads, bolts: AnchorBolts | None
) -> StressRanges:
    weld = (moment / loads.base_section.modulus).to("N/mm^2")
    bolt = None
    if bolts is not None:
        force = 4 * moment / (bolts.count * bolts.circle_diameter)
        bolt = (force / bolts.stress_area).to("N/mm^2")
    return StressRanges(moment=moment.to("kN*m"), weld=weld, bolt=bolt)


def stress_ranges(
    loads: PoleLoads, design: FatigueDesign, bolts: AnchorBolts | None = None
) -> tuple[StressRanges, StressRanges | None]:
    """Gust and (where relevant) vortex stress ranges at the base; vortex None if not relevant."""
    i_f = design.importance_factor
    p_nw = design.gust_pressure.to("Pa") * i_f
    gust = sum(
        ((p_nw * s.mu_s * s.width * (s.top - s.bottom) * s.z).to("kN*m") for s in loads.segments),
        Quantity(0, "kN*m"),
    )
    gust = gust + sum(
        ((p_nw * a.mu_s * a.area * a.z).to("kN*m") for a in loads.attachments),
        Quantity(0, "kN*m"),
    )
    vortex = None
    if _vortex_relevant(loads):
        v_c = loads.critical_wind_speed * _GB_STROUHAL / AASHTO_STROUHAL
        p_vs = (VORTEX_COEFFICIENT * v_c**2 * i_f / (2 * design.damping_ratio)).to("Pa")
        moment = sum(
            (
                (p_vs * s.mu_s * s.width * (s.top - s.bottom) * s.z).to("kN*m")
                for s in loads.segments
            ),
            Quantity(0, "kN*m"),
        )
        vortex = _ranges(moment, loads, bolts)
    return _ranges(gust, loads, bolts), vortex


def _vortex_relevant(loads: PoleLoads) -> bool:
    return (
        loads.base_section.shape is SectionShape.CIRCULAR
        and loads.reynolds < _SUBCRITICAL_REYNOLDS
        and loads.critical_wind_speed < loads.top_wind_speed
    )


def _check(name: str, value: pint.Quantity[Any], category: str, how: str) -> Check:
    limit, source = fatigue_threshold(category)
    ratio = float((value / limit).to("").magnitude)
    return Check(
        name=name,
        value=value,
        limit=limit,
        utilisation=ratio,
        verdict=Verdict.PASS if ratio <= 1 else Verdict.FAIL,
        basis=f"{how} ≤ {source}; infinite life, recommended",
    )


def check_fatigue(
    loads: PoleLoads, design: FatigueDesign, bolts: AnchorBolts | None = None
) -> tuple[Check, ...]:
    """Base weld (and anchor bolt, when given) stress ranges against their thresholds."""
    gust, vortex = stress_ranges(loads, design, bolts)
    gust_rule = f"P_NW = {format_quantity(design.gust_pressure)}·C_d·I_F (M), I_F = "
    gust_rule += f"{design.importance_factor:g}, ΔM = {format_quantity(gust.moment)}"
    checks = [
        _check("base weld fatigue (gust)", gust.weld, design.weld_category, gust_rule + ", ΔM/W")
    ]
    if gust.bolt is not None:
        checks.append(
            _check(
                "anchor bolt fatigue (gust)",
                gust.bolt,
                design.bolt_category,
                gust_rule + ", 4ΔM/(n·D_b)/A_s",
            )
        )
    if vortex is None:
        reason = (
            "vortex shedding: GB 50009 8.5.3's sub-critical condition (round section, "
            "Re < 3×10⁵, v_cr < v_H) does not hold "
            f"(v_cr {format_quantity(loads.critical_wind_speed)}, "
            f"v_H {format_quantity(loads.top_wind_speed)}, Re {loads.reynolds:.3g}"
            + (
                ""
                if loads.base_section.shape is SectionShape.CIRCULAR
                else "; a polygonal shaft: check by hand"
            )
            + ")"
        )
        names = ["base weld fatigue (vortex)"]
        if bolts is not None:
            names.append("anchor bolt fatigue (vortex)")
        checks.extend(
            Check(
                name=name,
                value=Quantity(0, "N/mm^2"),
                limit=fatigue_threshold(category)[0],
                utilisation=None,
                verdict=Verdict.NOT_APPLICABLE,
                basis=reason,
            )
            for name, category in zip(
                names, (design.weld_category, design.bolt_category), strict=False
            )
        )
        return tuple(checks)
    vortex_rule = (
        "P_VS = k·V_c²·C_d·I_F/(2β), k = 0.00118 psf/mph² (U), V_c = f1·D/0.18 (M), "
        f"β = {design.damping_ratio:g}, whole shaft (I), ΔM = {format_quantity(vortex.moment)}"
    )
    checks.append(
        _check(
            "base weld fatigue (vortex)", vortex.weld, design.weld_category, vortex_rule + ", ΔM/W"
        )
    )
    if vortex.bolt is not None:
        checks.append(
            _check(
                "anchor bolt fatigue (vortex)",
                vortex.bolt,
                design.bolt_category,
                vortex_rule + ", 4ΔM/(n·D_b)/A_s",
            )
        )
    return tuple(checks)


# --- design data ----------------------------------------------------------------------------

DESIGN_KEYS = (
    "weld_detail_category",
    "anchor_bolt_detail_category",
    "fatigue_importance_factor",
    "fatigue_damping_ratio",
)


def from_design(design: Mapping[str, object]) -> FatigueDesign | None:
    """The fatigue data a site declares, or None (then `FatigueDesign()` gives the defaults)."""
    if not any(k in design for k in DESIGN_KEYS):
        return None
    defaults = FatigueDesign()
    return FatigueDesign(
        weld_category=(
            text(design, "weld_detail_category")
            if "weld_detail_category" in design
            else defaults.weld_category
        ),
        bolt_category=(
            text(design, "anchor_bolt_detail_category")
            if "anchor_bolt_detail_category" in design
            else defaults.bolt_category
        ),
        importance_factor=(
            number(design, "fatigue_importance_factor")
            if "fatigue_importance_factor" in design
            else defaults.importance_factor
        ),
        damping_ratio=(
            number(design, "fatigue_damping_ratio")
            if "fatigue_damping_ratio" in design
            else defaults.damping_ratio
        ),
    )
