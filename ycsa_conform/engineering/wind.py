"""Wind loads on poles and mounted equipment, GB 50009-2012 chapter 8.

Tables 8.2.1 (μz) and 8.6.1 (βgz) are transcribed in docs/sources.md §1.1
(confidence R). Between listed heights we interpolate linearly; below the first listed height
the 5 m value applies (8.2.1 note). Every other constant carries its confidence tag (R/S/M/U/I,
standards.md's scale) in the comment beside it. The structural check of a whole pole built on
these coefficients is in `pole.py`; docs/engineering/wind.md works one pole through by hand.
"""

from __future__ import annotations

import difflib
import math
from bisect import bisect_right
from collections.abc import Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.units import Quantity

__all__ = [
    "ATTACHMENT_SHAPE_COEFFICIENTS",
    "MIN_BASIC_WIND_PRESSURE",
    "POLYGONAL_SHAPE_COEFFICIENT",
    "STROUHAL_CIRCULAR",
    "TERRAINS",
    "YUNNAN_WIND_PRESSURES",
    "AttachmentKind",
    "SectionShape",
    "Surface",
    "air_density",
    "attachment_shape_coefficient",
    "attachment_wind_pressure",
    "basic_wind_pressure",
    "circular_shape_coefficient",
    "critical_wind_speed",
    "gust_factor_attachment",
    "height_coefficient",
    "mode_shape",
    "reynolds_number",
    "shaft_shape_coefficient",
    "taper_factors",
    "top_wind_speed",
    "wind_vibration_factor",
]

TERRAINS = ("A", "B", "C", "D")

# GB 50009-2012 8.1.2: w0 shall not be taken below 0.30 kN/m² (R).
MIN_BASIC_WIND_PRESSURE = Quantity(0.30, "kN/m^2")

_MU_Z_HEIGHTS = (5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0)
_MU_Z = {  # Table 8.2.1 (R)
    "A": (1.09, 1.28, 1.42, 1.52, 1.67, 1.79, 1.89),
    "B": (1.00, 1.00, 1.13, 1.23, 1.39, 1.52, 1.62),
    "C": (0.65, 0.65, 0.65, 0.74, 0.88, 1.00, 1.10),
    "D": (0.51, 0.51, 0.51, 0.51, 0.51, 0.60, 0.69),
}
_BETA_GZ_HEIGHTS = (5.0, 10.0, 15.0, 20.0, 30.0)
_BETA_GZ = {  # Table 8.6.1 (R)
    "A": (1.65, 1.60, 1.57, 1.55, 1.53),
    "B": (1.70, 1.70, 1.66, 1.63, 1.59),
    "C": (2.05, 2.05, 2.05, 1.99, 1.90),
    "D": (2.40, 2.40, 2.40, 2.40, 2.40),
}


def _interpolate(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    if x <= xs[0]:
        return ys[0]
    if x > xs[-1]:
        # Above the transcribed part of the table: do not extrapolate silently.
        raise ValueError(f"height {x} m is above {xs[-1]} m, beyond the transcribed table")
    i = min(bisect_right(xs, x), len(xs) - 1)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _terrain(terrain: str) -> str:
    if terrain not in TERRAINS:
        raise ValueError(f"terrain category {terrain!r} is not one of A, B, C, D")
    return terrain


def height_coefficient(z: pint.Quantity[Any], terrain: str) -> float:
    """μz, GB 50009-2012 Table 8.2.1."""
    return _interpolate(float(z.to("m").magnitude), _MU_Z_HEIGHTS, _MU_Z[_terrain(terrain)])


def gust_factor_attachment(z: pint.Quantity[Any], terrain: str) -> float:
    """βgz for cladding and attachments, GB 50009-2012 Table 8.6.1."""
    x = float(z.to("m").magnitude)
    return _interpolate(x, _BETA_GZ_HEIGHTS, _BETA_GZ[_terrain(terrain)])


def attachment_wind_pressure(
    z: pint.Quantity[Any], terrain: str, w0: pint.Quantity[Any], shape_coefficient: float
) -> pint.Quantity[Any]:
    """wk = βgz·μsl·μz·w0 (eq. 8.1.1-2), with w0 floored at 0.30 kN/m² (8.1.2)."""
    w0 = max(w0.to("kN/m^2"), MIN_BASIC_WIND_PRESSURE)
    factor = gust_factor_attachment(z, terrain) * shape_coefficient * height_coefficient(z, terrain)
    pressure: pint.Quantity[Any] = (factor * w0).to("kN/m^2")
    return pressure


# --- basic wind pressure by city --------------------------------------------------------------

# GB 50009-2012 Table E.5, Yunnan: w0 in kN/m² for R = 10 / 50 / 100 years (R, transcription in
# standards.md §1.2). Pingbian is left out: its transcription (0.20/0.40/0.35) is not monotonic
# and must be checked against the official text first (standards.md §6 item 5).
YUNNAN_WIND_PRESSURES: MappingProxyType[str, tuple[float, float, float]] = MappingProxyType(
    {
        "kunming": (0.20, 0.30, 0.35),  # R
        "dali": (0.45, 0.65, 0.75),  # R
        "lijiang": (0.25, 0.30, 0.35),  # R
        "zhaotong": (0.25, 0.35, 0.40),  # R
        "qujing": (0.25, 0.30, 0.35),  # R (station Zhanyi)
        "yuxi": (0.20, 0.30, 0.35),  # R
        "chuxiong": (0.20, 0.35, 0.40),  # R
        "mengzi": (0.25, 0.35, 0.45),  # R
        "jinghong": (0.20, 0.40, 0.45),  # R
        "simao": (0.25, 0.45, 0.50),  # R (Pu'er)
        "yiliang": (0.25, 0.45, 0.55),  # R
        "jiangcheng": (0.20, 0.40, 0.50),  # R
        "mengding": (0.25, 0.40, 0.45),  # R
        "baoshan": (0.20, 0.30, 0.35),  # R
        "lincang": (0.20, 0.30, 0.35),  # R
        "wenshan": (0.20, 0.30, 0.35),  # R
        "ruili": (0.20, 0.30, 0.35),  # R
        "zhongdian": (0.20, 0.30, 0.35),  # R (Shangri-La)
        "huaping": (0.30, 0.40, 0.45),  # R
        "deqin": (0.25, 0.35, 0.40),  # R
        "huize": (0.25, 0.35, 0.40),  # R
    }
)
_CITY_ALIASES = {"zhanyi": "qujing", "pu'er": "simao", "puer": "simao", "shangri-la": "zhongdian"}


def basic_wind_pressure(
    city: str, return_period: pint.Quantity[Any] | None = None, *, floor: bool = True
) -> pint.Quantity[Any]:
    """w0 of a Yunnan city (Table E.5) for a return period R (default 50 years).

    R = 10, 50 and 100 years are read from the table; any other R uses E.3.4:
    x_R = x10 + (x100 − x10)·(ln R / ln 10 − 1). With `floor` the result is not taken below
    0.30 kN/m² (8.1.2).
    """
    key = _CITY_ALIASES.get(city.strip().lower(), city.strip().lower())
    if key not in YUNNAN_WIND_PRESSURES:
        close = difflib.get_close_matches(key, [*YUNNAN_WIND_PRESSURES, *_CITY_ALIASES], n=1)
        did_you_mean = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"city {city!r} is not in the transcribed Yunnan part of GB 50009-2012 Table E.5; "
            f"{did_you_mean}use one of {', '.join(YUNNAN_WIND_PRESSURES)} or give w0 directly"
        )
    w10, w50, w100 = YUNNAN_WIND_PRESSURES[key]
    years = 50.0 if return_period is None else float(return_period.to("year").magnitude)
    if years <= 1:
        raise ValueError(f"return period {years} years must be above 1 year")
    table = {10.0: w10, 50.0: w50, 100.0: w100}
    value = table.get(years, w10 + (w100 - w10) * (math.log(years) / math.log(10) - 1))
    w0 = Quantity(value, "kN/m^2")
    return max(w0, MIN_BASIC_WIND_PRESSURE) if floor else w0


# --- shape coefficient μs ---------------------------------------------------------------------


class SectionShape(StrEnum):
    CIRCULAR = "circular"
    POLYGONAL = "polygonal"  # regular, 8, 12 or 16 sides, sized across flats (section.py)


class Surface(StrEnum):
    """Surface roughness Δ of a circular section (Table 8.3.1 item 37)."""

    SMOOTH = "smooth"  # galvanized or painted steel tube
    ROUGH_002 = "0.02d"  # Δ ≈ 0.02·d
    ROUGH_008 = "0.08d"  # Δ ≈ 0.08·d


# Table 8.3.1 item 37 as in standards.md §1.1 (M): μs at H/d = 1, 7, ≥ 25.
_CIRCULAR_H_OVER_D = (1.0, 7.0, 25.0)
_CIRCULAR_HIGH = {  # μz·w0·d² ≥ 0.015 (M)
    Surface.SMOOTH: (0.5, 0.5, 0.6),
    Surface.ROUGH_002: (0.7, 0.8, 0.9),
    Surface.ROUGH_008: (0.8, 1.0, 1.2),
}
_CIRCULAR_LOW = (0.7, 0.8, 1.2)  # μz·w0·d² ≤ 0.002, any surface (M)
_CIRCULAR_X_LOW, _CIRCULAR_X_HIGH = 0.002, 0.015  # interpolate between these (M)

# Polygonal sections are not covered by GB 50009; EN 1991-1-4 Table 7.11 gives c_f ≈ 1.3–1.45
# for an octagon (U, standards.md §1.1). standards.md has no 12- or 16-sided value; a
# transcription of Table 7.11 read for issue 15 (S) gives dodecagon 1.30/1.10 (0.90 smooth and
# rounded) and 16–18 sides 0.70 or "as a circular cylinder", none above the octagon's 1.45. So
# 1.45 is the default for 8, 12 and 16 sides, applied to the across-corners width b, the
# table's "diameter of circumscribed circumference" (S; section.py); the end-effect factor ψλ
# (≤ 1) is not applied. Pass the Table 7.11 value for the pole's n, Re and corner radius, or
# the maker's wind-tunnel value, when there is one.
POLYGONAL_SHAPE_COEFFICIENT = 1.45


def _clamped(x: float, xs: Sequence[float], ys: Sequence[float]) -> float:
    if x >= xs[-1]:
        return ys[-1]
    return _interpolate(x, xs, ys)


def circular_shape_coefficient(
    *,
    diameter: pint.Quantity[Any],
    height: pint.Quantity[Any],
    mu_z: float,
    w0: pint.Quantity[Any],
    surface: Surface = Surface.SMOOTH,
) -> float:
    """μs of a circular section, GB 50009-2012 Table 8.3.1 item 37 (M).

    `height` is the structure's height H (for H/d), `mu_z` the height coefficient where the
    section is, w0 in kN/m² and d in m for the parameter μz·w0·d². Linear between 0.002 and
    0.015 and between H/d = 1, 7 and 25; outside, the end values.
    """
    d = float(diameter.to("m").magnitude)
    ratio = float(height.to("m").magnitude) / d
    high = _clamped(ratio, _CIRCULAR_H_OVER_D, _CIRCULAR_HIGH[Surface(surface)])
    low = _clamped(ratio, _CIRCULAR_H_OVER_D, _CIRCULAR_LOW)
    x = mu_z * float(w0.to("kN/m^2").magnitude) * d * d
    if x >= _CIRCULAR_X_HIGH:
        return high
    if x <= _CIRCULAR_X_LOW:
        return low
    return low + (high - low) * (x - _CIRCULAR_X_LOW) / (_CIRCULAR_X_HIGH - _CIRCULAR_X_LOW)


def shaft_shape_coefficient(
    shape: SectionShape,
    *,
    diameter: pint.Quantity[Any],
    height: pint.Quantity[Any],
    mu_z: float,
    w0: pint.Quantity[Any],
    surface: Surface = Surface.SMOOTH,
    polygonal: float = POLYGONAL_SHAPE_COEFFICIENT,
) -> float:
    """μs of the pole shaft: Table 8.3.1 item 37 if circular, else `polygonal` (U, EN 1991-1-4)."""
    if SectionShape(shape) is SectionShape.POLYGONAL:
        return polygonal
    return circular_shape_coefficient(
        diameter=diameter, height=height, mu_z=mu_z, w0=w0, surface=surface
    )


class AttachmentKind(StrEnum):
    BOX = "box"
    LUMINAIRE = "luminaire"
    CAMERA = "camera"
    ANTENNA = "antenna"
    SIGN = "sign"


# μs of mounted equipment without a manufacturer's EPA. Boxes, luminaires and cameras: 1.3
# (I, standards.md §1.1). standards.md gives no value for antennas or signs; 1.3 is the member
# value of Table 8.3.1 item 32 (M) carried over (I). A manufacturer's EPA·cd overrides all.
ATTACHMENT_SHAPE_COEFFICIENTS: MappingProxyType[AttachmentKind, float] = MappingProxyType(
    {
        AttachmentKind.BOX: 1.3,  # I
        AttachmentKind.LUMINAIRE: 1.3,  # I
        AttachmentKind.CAMERA: 1.3,  # I
        AttachmentKind.ANTENNA: 1.3,  # I
        AttachmentKind.SIGN: 1.3,  # I
    }
)


def attachment_shape_coefficient(
    kind: AttachmentKind | str, *, declared: float | None = None
) -> float:
    """μs of an attachment: the declared (manufacturer) value if given, else the default (I)."""
    if declared is not None:
        if declared <= 0:
            raise ValueError(f"shape coefficient {declared} must be above 0")
        return declared
    return ATTACHMENT_SHAPE_COEFFICIENTS[AttachmentKind(kind)]


# --- wind-vibration factor βz (8.4) -----------------------------------------------------------

_PEAK_FACTOR = 2.5  # g (R)
_TURBULENCE_10 = {"A": 0.12, "B": 0.14, "C": 0.23, "D": 0.39}  # I10 (R)
_K_W = {"A": 1.28, "B": 1.0, "C": 0.54, "D": 0.26}  # k_w (R)
_K_HIGH_RISING = {"A": 1.276, "B": 0.910, "C": 0.404, "D": 0.155}  # k, high-rising (R)
_A1_HIGH_RISING = {"A": 0.186, "B": 0.218, "C": 0.292, "D": 0.376}  # a1, high-rising (R)
STEEL_DAMPING_RATIO = 0.01  # ξ1 for steel structures (R)
_X1_MIN = 5.0  # "x1 > 5" in 8.4.4, read as a lower bound on x1 (I)


def mode_shape(z_ratio: float) -> float:
    """φ1(z/H) of a cantilever, [6ξ² − 4ξ³ + ξ⁴]/3 (GB 50009 Appendix G; U, formula from memory).

    It is the static deflection line of a uniformly loaded prismatic cantilever, 1 at the top.
    """
    x = min(max(z_ratio, 0.0), 1.0)
    return (6 * x**2 - 4 * x**3 + x**4) / 3


def wind_vibration_factor(
    z: pint.Quantity[Any],
    *,
    height: pint.Quantity[Any],
    terrain: str,
    w0: pint.Quantity[Any],
    first_frequency: pint.Quantity[Any],
    damping_ratio: float = STEEL_DAMPING_RATIO,
    theta_b: float = 1.0,
    theta_v: float = 1.0,
) -> float:
    """βz = 1 + 2·g·I10·Bz·√(1+R²) at height z of a high-rising structure (8.4, R).

    R = √[π/(6ξ1)·x1²/(1+x1²)^(4/3)], x1 = 30·f1/√(kw·w0) (not below 5);
    Bz = k·H^a1·ρx·ρz·φ1(z)/μz·θB·θV with ρx = 1 (narrow), ρz = 10·√(H + 60e^(−H/60) − 60)/H.
    θB and θV of tapered structures (8.4.6) default to 1; `taper_factors` gives them from the
    Table 8.4.6 transcription (U). Their product is below 1 near the top of a taper and above 1
    lower down, so leaving them out is not always on the safe side.
    """
    t = _terrain(terrain)
    h = float(height.to("m").magnitude)
    w = float(max(w0.to("kN/m^2"), MIN_BASIC_WIND_PRESSURE).magnitude)
    f1 = float(first_frequency.to("Hz").magnitude)
    x1 = max(30 * f1 / math.sqrt(_K_W[t] * w), _X1_MIN)
    r = math.sqrt(math.pi / (6 * damping_ratio) * x1**2 / (1 + x1**2) ** (4 / 3))
    rho_z = 10 * math.sqrt(h + 60 * math.exp(-h / 60) - 60) / h
    mu_z = height_coefficient(z, t)
    phi = mode_shape(float(z.to("m").magnitude) / h)
    b_z = (
        _K_HIGH_RISING[t] * math.pow(h, _A1_HIGH_RISING[t]) * rho_z * phi / mu_z * theta_b * theta_v
    )
    return 1 + 2 * _PEAK_FACTOR * _TURBULENCE_10[t] * b_z * math.sqrt(1 + r * r)


# θv of GB 50009-2012 Table 8.4.6 against B(H)/B(0), the top width over the base width, for
# structures whose width varies (nearly) linearly with height (U: from memory; standards.md only
# says "tapered poles also take θ_B and θ_V"). Linear between the listed ratios; 5.60 at and
# below 0.1. θB = B(z)/B(0) (8.4.6, M). Because θv is uncertain, pole.py prints βz with and
# without the correction and its checks take the larger at each height (the sensitivity).
_THETA_V_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_THETA_V = (5.60, 3.30, 2.53, 2.08, 1.75, 1.50, 1.32, 1.20, 1.10, 1.00)


def taper_factors(
    width: pint.Quantity[Any], *, base_width: pint.Quantity[Any], top_width: pint.Quantity[Any]
) -> tuple[float, float]:
    """(θB, θv) of GB 50009-2012 8.4.6 at a height where the windward width is `width` (U)."""
    ratio = float((top_width / base_width).to("").magnitude)
    if not 0 < ratio <= 1:
        raise ValueError(f"top width ÷ base width {ratio:.3g} must be above 0 and at most 1")
    theta_v = (
        _THETA_V[0]
        if ratio <= _THETA_V_RATIOS[0]
        else _interpolate(ratio, _THETA_V_RATIOS, _THETA_V)
    )
    return float((width / base_width).to("").magnitude), theta_v


# --- vortex shedding (8.5.3) ------------------------------------------------------------------

STROUHAL_CIRCULAR = 0.2  # St of circular sections (R)


def air_density(altitude: pint.Quantity[Any]) -> pint.Quantity[Any]:
    """ρ ≈ 1.25·e^(−0.0001·z) kg/m³ at altitude z in m (E.2.4-3)."""
    rho: pint.Quantity[Any] = Quantity(
        1.25 * math.exp(-0.0001 * float(altitude.to("m").magnitude)), "kg/m^3"
    )
    return rho


def critical_wind_speed(
    diameter: pint.Quantity[Any], period: pint.Quantity[Any], strouhal: float = STROUHAL_CIRCULAR
) -> pint.Quantity[Any]:
    """v_cr = D/(T1·St) (8.5.3)."""
    v: pint.Quantity[Any] = (diameter / (period * strouhal)).to("m/s")
    return v


def reynolds_number(speed: pint.Quantity[Any], diameter: pint.Quantity[Any]) -> float:
    """Re = 69000·v·D, v in m/s and D in m (8.5.3)."""
    return 69000 * float(speed.to("m/s").magnitude) * float(diameter.to("m").magnitude)


def top_wind_speed(
    mu_h: float, w0: pint.Quantity[Any], density: pint.Quantity[Any]
) -> pint.Quantity[Any]:
    """v_H = √(2000·μH·w0/ρ), w0 in kN/m², ρ in kg/m³ (8.5.3)."""
    w = float(w0.to("kN/m^2").magnitude)
    rho = float(density.to("kg/m^3").magnitude)
    return Quantity(math.sqrt(2000 * mu_h * w / rho), "m/s")
