"""Wind loads on poles and mounted equipment, GB 50009-2012 chapter 8.

Tables 8.2.1 (μz) and 8.6.1 (βgz) are transcribed in ../shared/reference/standards.md §1.1
(confidence R). Between listed heights we interpolate linearly; below the first listed height
the 5 m value applies (8.2.1 note).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

import pint

from ycsa_conform.units import Quantity

__all__ = [
    "MIN_BASIC_WIND_PRESSURE",
    "TERRAINS",
    "attachment_wind_pressure",
    "gust_factor_attachment",
    "height_coefficient",
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
