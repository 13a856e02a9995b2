"""Road-lighting calculations, CJJ 45-2015."""

from __future__ import annotations

from typing import Any

import pint

__all__ = ["lighting_power_density"]


def lighting_power_density(
    luminaire_power: pint.Quantity[Any],
    luminaires_per_pole: float,
    pole_spacing: pint.Quantity[Any],
    road_width: pint.Quantity[Any],
) -> pint.Quantity[Any]:
    """LPD = system power per span ÷ lit area of the span (CJJ 45-2015 7.1.2, one row of poles)."""
    area = pole_spacing * road_width
    if area.magnitude <= 0:
        raise ValueError("pole spacing and road width must be above zero")
    density: pint.Quantity[Any] = (luminaire_power * luminaires_per_pole / area).to("W/m^2")
    return density
