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

__all__ = [
    "POLYGON_SIDES",
    "CutSection",
    "Section",
    "circular_tube",
    "cut_section",
    "polygonal_tube",
    "tube",
]

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


# --- a door opening cut through the wall ----------------------------------------------------
#
# The opening faces +y and removes the wall where |x| ≤ b/2 and y > 0: its jambs are cut
# parallel to the door's centre line, as a plasma-cut door is (I). On a polygon the door is
# centred on a face. Any frame welded round the opening is not counted (on the safe side, I):
# a design that relies on one must show it by its own calculation. The corners' stress
# concentration is not in this check (fatigue and detailing are).


@dataclass(frozen=True, slots=True, kw_only=True)
class CutSection:
    full: Section
    opening_width: pint.Quantity[Any]  # b, the chord across the jambs
    removed_area: pint.Quantity[Any]
    area: pint.Quantity[Any]  # net A
    centroid_shift: pint.Quantity[Any]  # the centroid moves this far away from the opening
    second_moment_x: pint.Quantity[Any]  # about the axis parallel to the door face
    second_moment_y: pint.Quantity[Any]  # about the door's centre line
    modulus: pint.Quantity[Any]  # least over bending directions: M/σ_max
    jamb_fibre: pint.Quantity[Any]  # y of the outer surface at the jamb, from the tube's axis


def _shoelace(points: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """A, ∫y dA, ∫y² dA, ∫x² dA of a simple polygon (counter-clockwise)."""
    a = sy = iyy = ixx = 0.0
    n = len(points)
    for i in range(n):
        x0, y0 = points[i]
        x1, y1 = points[(i + 1) % n]
        cross = x0 * y1 - x1 * y0
        a += cross / 2
        sy += cross * (y0 + y1) / 6
        iyy += cross * (y0 * y0 + y0 * y1 + y1 * y1) / 12
        ixx += cross * (x0 * x0 + x0 * x1 + x1 * x1) / 12
    return a, sy, iyy, ixx


def _clip(points: list[tuple[float, float]], keep: Any) -> list[tuple[float, float]]:
    """Sutherland–Hodgman: the part of a convex polygon where keep(p) = (inside, crossing)."""
    out: list[tuple[float, float]] = []
    n = len(points)
    for i in range(n):
        p, q = points[i], points[(i + 1) % n]
        pin, qin = keep(p) >= 0, keep(q) >= 0
        if pin:
            out.append(p)
        if pin != qin:
            fp, fq = keep(p), keep(q)
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _polygon_vertices(sides: int, apothem: float) -> list[tuple[float, float]]:
    """Regular polygon with a face normal to +y, counter-clockwise."""
    theta = math.pi / sides
    r = apothem / math.cos(theta)
    return [
        (
            r * math.cos(math.pi / 2 + theta + 2 * theta * k),
            r * math.sin(math.pi / 2 + theta + 2 * theta * k),
        )
        for k in range(sides)
    ]


def _strip(points: list[tuple[float, float]], s: float) -> list[tuple[float, float]]:
    pts = _clip(points, lambda p: s - p[0])
    pts = _clip(pts, lambda p: p[0] + s)
    return _clip(pts, lambda p: p[1])


def cut_section(full: Section, opening_width: pint.Quantity[Any]) -> CutSection:
    """The section through a door opening of chord width b (see the notes above)."""
    b = float(opening_width.to("m").magnitude)
    t = float(full.wall_thickness.to("m").magnitude)
    s = b / 2
    if full.sides is None:
        big = float(full.size.to("m").magnitude) / 2
        small = big - t
        if not 0 < s < small:
            raise ValueError(
                f"door width {format_quantity(opening_width)} must be above 0 and below the "
                f"inside diameter {format_quantity(Quantity(2 * small, 'm').to('mm'))}"
            )

        def area(r: float) -> float:
            return s * math.sqrt(r * r - s * s) + r * r * math.asin(s / r)

        def ixx(r: float) -> float:  # ∫y² dA
            root = math.sqrt(r * r - s * s)
            return (
                2 / 3 * (s * (5 * r * r - 2 * s * s) * root / 8 + 3 * r**4 / 8 * math.asin(s / r))
            )

        def iyy(r: float) -> float:  # ∫x² dA
            root = math.sqrt(r * r - s * s)
            return 2 * (s * (2 * s * s - r * r) * root / 8 + r**4 / 8 * math.asin(s / r))

        cut_a = area(big) - area(small)
        cut_sy = (big * big - small * small) * s
        cut_iyy, cut_ixx = ixx(big) - ixx(small), iyy(big) - iyy(small)
        jamb = math.sqrt(big * big - s * s)
        # The outer fibre left standing: the circle outside the opening, every half degree.
        fibres = [
            (big * math.cos(math.radians(k / 2)), big * math.sin(math.radians(k / 2)))
            for k in range(720)
        ]
        fibres = [p for p in fibres if abs(p[0]) > s or p[1] <= 0] + [(s, jamb), (-s, jamb)]
    else:
        n = full.sides
        outer_apothem = float(full.size.to("m").magnitude) / 2
        inner_apothem = outer_apothem - t
        if not 0 < b < 2 * inner_apothem:
            raise ValueError(
                f"door width {format_quantity(opening_width)} must be above 0 and below the "
                "inside size across flats "
                f"{format_quantity(Quantity(2 * inner_apothem, 'm').to('mm'))}"
            )
        outer, inner = _polygon_vertices(n, outer_apothem), _polygon_vertices(n, inner_apothem)
        a_o, sy_o, iyy_o, ixx_o = _shoelace(_strip(outer, s))
        a_i, sy_i, iyy_i, ixx_i = _shoelace(_strip(inner, s))
        cut_a, cut_sy, cut_iyy, cut_ixx = a_o - a_i, sy_o - sy_i, iyy_o - iyy_i, ixx_o - ixx_i
        # y of the outer surface at x = s: the highest clipped point at the jamb.
        jamb = max(y for x, y in _strip(outer, s) if abs(x - s) < 1e-12)
        fibres = [p for p in outer if abs(p[0]) > s or p[1] <= 0] + [(s, jamb), (-s, jamb)]
    full_a = float(full.area.to("m^2").magnitude)
    full_i = float(full.second_moment.to("m^4").magnitude)
    net_a = full_a - cut_a
    shift = cut_sy / net_a  # the centroid moves to y = −shift
    i_x = full_i - cut_iyy - net_a * shift * shift
    i_y = full_i - cut_ixx
    # x and y are principal axes (the cut is symmetric about y). A moment M whose vector makes
    # φ with the x axis stresses a fibre σ = M·(cosφ·ŷ/I_x − sinφ·x/I_y), ŷ = y + shift; the
    # wind may blow from anywhere, so W = 1 / max over φ (every half degree) and fibres.
    worst = 0.0
    for k in range(720):
        phi = math.radians(k / 2)
        cx, sy_ = math.cos(phi) / i_x, math.sin(phi) / i_y
        worst = max(worst, max(abs(cx * (y + shift) - sy_ * x) for x, y in fibres))
    modulus = 1 / worst
    return CutSection(
        full=full,
        opening_width=opening_width,
        removed_area=Quantity(cut_a, "m^2").to("mm^2"),
        area=Quantity(net_a, "m^2").to("mm^2"),
        centroid_shift=Quantity(shift, "m").to("mm"),
        second_moment_x=Quantity(i_x, "m^4").to("cm^4"),
        second_moment_y=Quantity(i_y, "m^4").to("cm^4"),
        modulus=Quantity(modulus, "m^3").to("cm^3"),
        jamb_fibre=Quantity(jamb, "m").to("mm"),
    )
