"""Horizontal seismic action on a pole, GB 50011-2010 (2016 edition), frequent earthquake.

None of GB 50011 is transcribed in docs/sources.md beyond Kunming's intensity
(SP-LOAD-013: intensity 8, 0.20 g, U). The tables and the spectrum below are from memory and
carry their tags (M: believed correct; U: verify); the design data can override α_max and Tg.

- α_max for the frequent earthquake (多遇地震), GB 50011 Table 5.1.4-1 (M):
  intensity 6 (0.05 g) 0.04; 7 (0.10 g) 0.08; 7 (0.15 g) 0.12; 8 (0.20 g) 0.16;
  8 (0.30 g) 0.24; 9 (0.40 g) 0.32.
- Tg by site class and design group, Table 5.1.4-2 (M), in seconds:

  | group | I0   | I1   | II   | III  | IV   |
  |-------|------|------|------|------|------|
  | 1     | 0.20 | 0.25 | 0.35 | 0.45 | 0.65 |
  | 2     | 0.25 | 0.30 | 0.40 | 0.55 | 0.75 |
  | 3     | 0.30 | 0.35 | 0.45 | 0.65 | 0.90 |

- Design response spectrum, 5.1.5 (M), damping ratio ζ:
  γ = 0.9 + (0.05 − ζ)/(0.3 + 6ζ); η1 = 0.02 + (0.05 − ζ)/(4 + 32ζ) ≥ 0;
  η2 = 1 + (0.05 − ζ)/(0.08 + 1.6ζ) ≥ 0.55;
  α = [0.45 + 10(η2 − 0.45)T]·α_max for T < 0.1 s; η2·α_max up to Tg;
  (Tg/T)^γ·η2·α_max up to 5Tg; [η2·0.2^γ − η1(T − 5Tg)]·α_max up to 6 s.
- First-mode forces, 5.2.2 (M): F_i = α1·γ1·X_i·G_i, γ1 = ΣX_i·G_i / ΣX_i²·G_i, with X the
  mode shape (pole.py takes the Rayleigh deflection shape under sideways self-weight).
- Combination, 5.4.1 (M): 1.2·G + 1.3·E_h, plus ψw·γw·W = 0.2 × 1.4 × W for structures where
  wind governs (a lamp pole); member strength with γRE = 0.75 (Table 5.4.2, steel members, M).
  GB 55002-2021 raised the factors to 1.3 / 1.4 / 1.5 (U); the constants here are the
  GB 50011 ones and are keywords of `pole.analyse_pole`'s seismic input.

Kunming's design group and site class are not in standards.md: the design states them; Kunming
city districts are remembered as group 3 (U).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.units import Quantity

__all__ = [
    "ALPHA_MAX_FREQUENT",
    "CHARACTERISTIC_PERIODS",
    "SITE_CLASSES",
    "Seismic",
    "alpha_max",
    "characteristic_period",
    "response_coefficient",
]

# (intensity, design ground acceleration in g) → α_max, frequent earthquake (M).
ALPHA_MAX_FREQUENT: MappingProxyType[tuple[str, float], float] = MappingProxyType(
    {
        ("6", 0.05): 0.04,
        ("7", 0.10): 0.08,
        ("7", 0.15): 0.12,
        ("8", 0.20): 0.16,
        ("8", 0.30): 0.24,
        ("9", 0.40): 0.32,
    }
)
SITE_CLASSES = ("I0", "I1", "II", "III", "IV")
CHARACTERISTIC_PERIODS: MappingProxyType[int, tuple[float, ...]] = MappingProxyType(
    {
        1: (0.20, 0.25, 0.35, 0.45, 0.65),  # M
        2: (0.25, 0.30, 0.40, 0.55, 0.75),  # M
        3: (0.30, 0.35, 0.45, 0.65, 0.90),  # M
    }
)
GAMMA_G_SEISMIC = 1.2  # GB 50011 5.4.1 (M)
GAMMA_EH = 1.3  # GB 50011 5.4.1 (M)
PSI_W = 0.2  # wind combination coefficient where wind governs, 5.4.1 (M)
GAMMA_W_SEISMIC = 1.4  # 5.4.1 (M)
GAMMA_RE_STEEL = 0.75  # Table 5.4.2, steel members, strength (M)
# Damping ratio of a welded steel pole: 0.02, tower practice (U); GB 50011 8.2.2 takes 0.04
# for steel buildings up to 50 m (M). Lower damping gives the larger spectrum: a keyword.
POLE_DAMPING_RATIO = 0.02


def alpha_max(intensity: str, acceleration: pint.Quantity[Any]) -> float:
    """α_max of the frequent earthquake for an intensity and design ground acceleration (M)."""
    g = round(float(acceleration.to("gravity").magnitude), 2)
    try:
        return ALPHA_MAX_FREQUENT[(str(intensity), g)]
    except KeyError:
        known = ", ".join(f"{i} ({a:g} g)" for i, a in ALPHA_MAX_FREQUENT)
        raise ValueError(
            f"seismic intensity {intensity} with {g:g} g is not one of {known} "
            "(GB 50011 Table 5.1.4-1); give design.seismic_alpha_max"
        ) from None


def characteristic_period(site_class: str, group: int) -> pint.Quantity[Any]:
    """Tg of GB 50011 Table 5.1.4-2 (M) for a site class and design earthquake group."""
    if site_class not in SITE_CLASSES or group not in CHARACTERISTIC_PERIODS:
        raise ValueError(
            f"site class {site_class!r} group {group} is not in GB 50011 Table 5.1.4-2: "
            f"site class one of {', '.join(SITE_CLASSES)}, group 1, 2 or 3"
        )
    return Quantity(CHARACTERISTIC_PERIODS[group][SITE_CLASSES.index(site_class)], "s")


def response_coefficient(
    period: pint.Quantity[Any],
    *,
    alpha_max: float,
    characteristic_period: pint.Quantity[Any],
    damping_ratio: float = POLE_DAMPING_RATIO,
) -> float:
    """α of the GB 50011 5.1.5 design spectrum at period T (M)."""
    t = float(period.to("s").magnitude)
    tg = float(characteristic_period.to("s").magnitude)
    z = damping_ratio
    gamma = 0.9 + (0.05 - z) / (0.3 + 6 * z)
    eta1 = max(0.02 + (0.05 - z) / (4 + 32 * z), 0.0)
    eta2 = max(1 + (0.05 - z) / (0.08 + 1.6 * z), 0.55)
    if t > 6:
        raise ValueError(f"period {t:.3g} s is beyond the 6 s of the GB 50011 spectrum")
    if t < 0.1:
        return (0.45 + 10 * (eta2 - 0.45) * t) * alpha_max
    if t <= tg:
        return eta2 * alpha_max
    if t <= 5 * tg:
        return math.pow(tg / t, gamma) * eta2 * alpha_max
    return (eta2 * math.pow(0.2, gamma) - eta1 * (t - 5 * tg)) * alpha_max


@dataclass(frozen=True, slots=True, kw_only=True)
class Seismic:
    """The site's seismic input: intensity, α_max (frequent) and Tg."""

    intensity: str  # "6", "7", "8", "9"
    acceleration: pint.Quantity[Any]  # design basic ground acceleration, in g
    alpha_max: float
    characteristic_period: pint.Quantity[Any]  # Tg
    damping_ratio: float = POLE_DAMPING_RATIO
    basis: str = ""  # where Tg and α_max came from, with tags
