"""Cross-sections of a pole shaft as the shop drawing gives them: round tubes and regular
polygonal tubes (8, 12 or 16 sides) measured **across flats**.

A polygonal tube is taken as the solid regular polygon of outside across-flats F less the
similar polygon of across-flats F − 2t (the wall is t thick normal to every face, the corners
are sharp). With n sides, θ = π/n and apothem a = F/2 (I: plane geometry, exact for that
shape; derivation in docs/engineering/polygonal.md):

- area            A = n·tanθ·(a_o² − a_i²)
- second moment   I = n·tanθ·(3 + tan²θ)/12·(a_o⁴ − a_i⁴), the same about every centroidal
                  axis (a regular polygon with n ≥ 3 has isotropic I)
- section modulus W = I/c with c = a_o/cosθ, the **corner** fibre: the fibre farthest from the
                  neutral axis when the wind bends the pole across corners, the worst direction.
                  Across flats c = a_o and W would be 1/cosθ larger (8 % for an octagon).
- wind width      b = F/cosθ, across corners: EN 1991-1-4:2005 Table 7.11 refers c_f,0 to "b =
                  diameter of circumscribed circumference" (Figure 7.26) (S: read in a
                  transcription of the table, not in the standard itself)
- flat width      F·tanθ, the outside face between the sharp corners: the widest reading of
                  the flat, with no credit for the bend radius, so on the safe side for b/t.

Press-braked poles have rounded corners and hold a little less steel than the sharp figure
(docs/engineering/polygonal.md puts a number on it); the sharp figure is what the drawing's F
and t define, and is what this module computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pint

from ycsa_conform.units import Quantity, format_quantity

from .wind import SectionShape

__all__ = ["POLYGON_SIDES", "Section", "circular_tube", "polygonal_tube", "tube"]

# The sides a shaft may have: 8, 12 and 16 are what Chinese smart-pole makers roll (issue 15),
# and the shape coefficient and flat-width rule used for them (wind.py, pole.py) are stated for
# those counts only. `polygonal_tube` itself takes any n ≥ 3.
POLYGON_SIDES = (8, 12, 16)


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    shape: SectionShape
    sides: int | None  # None for a round tube
    size: pint.Quantity[Any]  # outside diameter, or across flats for a polygon
    wall_thickness: pint.Quantity[Any]
    area: pint.Quantity[Any]
    second_moment: pint.Quantity[Any]  # the same about every centroidal axis
    extreme_fibre: pint.Quantity[Any]  # c: radius, or the corner's distance for a polygon
    modulus: pint.Quantity[Any]  # W = I/c
    wind_width: pint.Quantity[Any]  # width the force coefficient refers to
    flat_width: pint.Quantity[Any] | None  # outside face between corners; None for a round tube

    @property
    def across_corners(self) -> pint.Quantity[Any]:
        """2·c: the diameter for a round tube, the circumscribed diameter for a polygon."""
        d: pint.Quantity[Any] = (2 * self.extreme_fibre).to(self.size.units)
        return d


def _check_wall(size: pint.Quantity[Any], t: pint.Quantity[Any], what: str) -> tuple[float, float]:
    d, w = float(size.to("m").magnitude), float(t.to("m").magnitude)
    if not 0 < 2 * w < d:
        raise ValueError(
            f"wall thickness {format_quantity(t)} must be above 0 and below half the {what} "
            f"{format_quantity(size)}"
        )
    return d, w


def circular_tube(diameter: pint.Quantity[Any], wall_thickness: pint.Quantity[Any]) -> Section:
    """Round tube: A = π(D² − d²)/4, I = π(D⁴ − d⁴)/64, W = I/(D/2)."""
    d, t = _check_wall(diameter, wall_thickness, "diameter")
    inner = d - 2 * t
    area = math.pi / 4 * (d * d - inner * inner)
    second = math.pi / 64 * (d**4 - inner**4)
    return Section(
        shape=SectionShape.CIRCULAR,
        sides=None,
        size=diameter,
        wall_thickness=wall_thickness,
        area=Quantity(area, "m^2"),
        second_moment=Quantity(second, "m^4"),
        extreme_fibre=Quantity(d / 2, "m"),
        modulus=Quantity(second / (d / 2), "m^3"),
        wind_width=Quantity(d, "m"),
        flat_width=None,
    )


def polygonal_tube(
    sides: int, across_flats: pint.Quantity[Any], wall_thickness: pint.Quantity[Any]
) -> Section:
    """Regular polygonal tube of `sides` faces, outside `across_flats`, wall t normal to faces."""
    if sides < 3:
        raise ValueError(f"a polygon has at least 3 sides, not {sides}")
    f, t = _check_wall(across_flats, wall_thickness, "across-flats size")
    theta = math.pi / sides
    tan = math.tan(theta)
    outer, inner = f / 2, f / 2 - t  # apothems
    area = sides * tan * (outer**2 - inner**2)
    second = sides * tan * (3 + tan * tan) / 12 * (outer**4 - inner**4)
    corner = outer / math.cos(theta)
    return Section(
        shape=SectionShape.POLYGONAL,
        sides=sides,
        size=across_flats,
        wall_thickness=wall_thickness,
        area=Quantity(area, "m^2"),
        second_moment=Quantity(second, "m^4"),
        extreme_fibre=Quantity(corner, "m"),
        modulus=Quantity(second / corner, "m^3"),
        wind_width=Quantity(2 * corner, "m"),
        flat_width=Quantity(f * tan, "m"),
    )


def tube(
    shape: SectionShape,
    *,
    size: pint.Quantity[Any],
    wall_thickness: pint.Quantity[Any],
    sides: int | None = None,
) -> Section:
    """The section of a shaft: `size` is the diameter, or across flats when polygonal."""
    if SectionShape(shape) is SectionShape.CIRCULAR:
        return circular_tube(size, wall_thickness)
    if sides is None:
        raise ValueError(
            "a polygonal section needs its number of sides; give design.sides: 8, 12 or 16"
        )
    return polygonal_tube(sides, size, wall_thickness)
