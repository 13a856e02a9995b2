"""Road luminance from a photometric file: CIE 140 / EN 13201-3 grid, observer, L, U0, UL, TI,
SR, EIR, for one-sided, opposite, staggered and twin-central layouts; vertical and
semi-cylindrical illuminance for pedestrian classes. Worked example: docs/engineering/luminance.md.

Road coordinates as in `photometry`: x along the road (0 at a pole of the first row), y across
(0 at the near kerb, the carriageway ends at y = W), z up. Luminance at a road point P seen by an
observer O (eye 1.5 m above the road)::

    L(P) = MF · Σ_luminaires I(C, γ) · r(β, tan γ) / h²

γ is the angle at the luminaire between its downward vertical and P (tan γ = horizontal distance
/ h), β the angle at P between the vertical plane through O and P and the vertical plane through
the luminaire and P (0° when the luminaire stands beyond P as the observer looks), and r the
reduced luminance coefficient of the road surface (CIE r-tables store 10⁴·r).

Road surfaces. The CIE r-tables (R1–R4, C1–C2; CIE 144, earlier CIE 30.2, used by EN 13201-3 and
referred to by CJJ 45) are 20 β × 29 tan γ values each. They are not transcribed here: they were
not available to us and 580 numbers from memory would not be trustworthy. What is built in:

- Q0 of each class (M, from memory): R1 0.10, R2 0.07, R3 0.07, R4 0.08, C1 0.10, C2 0.07.
- A diffuse (Lambertian) stand-in r = Q0 · cos³γ (tag I): the luminance a perfectly matt surface
  of the class's Q0 would have. It has no specular peak, so on real asphalt (R3) it is kind to
  U0/UL in dry weather and unkind to L_av under the luminaires' far-forward light; use it only
  until the table is supplied.
- `read_r_table`: a site's own table file (design.road_surface_table, CSV: header of β degrees,
  then rows of tan γ followed by 10⁴·r), judged with the tag the site gives it.
"""

from __future__ import annotations

import bisect
import csv
import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ycsa_conform.errors import InputError, Problem

from .lighting import IlluminanceGrid
from .photometry import Photometry, _csv_text, _luminaire_angles

__all__ = [
    "EYE_HEIGHT",
    "OBSERVER_DISTANCE",
    "Q0",
    "Layout",
    "Luminaire",
    "LuminanceResult",
    "PedestrianResult",
    "RTable",
    "RoadGeometry",
    "SurfaceClass",
    "diffuse_r_table",
    "edge_illuminance_ratio",
    "horizontal_illuminance",
    "layout_grid",
    "luminaires",
    "luminance_grid_positions",
    "luminance_result",
    "pedestrian_illuminance",
    "read_r_table",
    "road_luminance",
    "surround_ratio",
    "threshold_increment",
    "veiling_luminance",
]

EYE_HEIGHT = 1.5  # m, CIE 140 / EN 13201-3 (M)
OBSERVER_DISTANCE = 60.0  # m before the field, CIE 140 / EN 13201-3 (M)


class SurfaceClass(StrEnum):
    """CIE road surface classes (R: the R-system, C: the C-system)."""

    R1 = "R1"
    R2 = "R2"
    R3 = "R3"
    R4 = "R4"
    C1 = "C1"
    C2 = "C2"


# Average luminance coefficient Q0 (cd·m⁻²·lx⁻¹) of the CIE standard surfaces (M, from memory;
# CIE 144 / CIE 30.2). R3 is the class usually assumed for dry asphalt in CJJ 45 designs (M).
Q0: dict[SurfaceClass, float] = {
    SurfaceClass.R1: 0.10,
    SurfaceClass.R2: 0.07,
    SurfaceClass.R3: 0.07,
    SurfaceClass.R4: 0.08,
    SurfaceClass.C1: 0.10,
    SurfaceClass.C2: 0.07,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RTable:
    """Reduced luminance coefficients: `r[k][j]` · 10⁻⁴ sr⁻¹ at tan γ `tan_gamma[k]`, β `beta[j]`.

    Bilinear in β and tan γ (our choice; CIE 140 interpolates quadratically), 0 beyond the last
    tan γ (the CIE tables end at 12), β folded into 0..180° (the tables are symmetric).
    """

    name: str
    confidence: str
    beta: tuple[float, ...]
    tan_gamma: tuple[float, ...]
    r: tuple[tuple[float, ...], ...]
    q0: float

    def value(self, beta: float, tan_gamma: float) -> float:
        b = abs(beta) % 360.0
        b = 360.0 - b if b > 180.0 else b
        if tan_gamma > self.tan_gamma[-1] or tan_gamma < 0:
            return 0.0
        row = _interpolate_rows(self.tan_gamma, self.r, tan_gamma)
        if len(self.beta) == 1:
            return row[0] * 1e-4
        return _lerp(self.beta, row, b) * 1e-4

    def scaled(self, q0: float) -> RTable:
        """The same shape with every r multiplied by q0 / Q0 (a site's measured Q0)."""
        if q0 <= 0:
            raise ValueError(f"q0 {q0:g} must be above zero")
        f = q0 / self.q0
        return RTable(
            name=f"{self.name} scaled to Q0 {q0:g}",
            confidence=self.confidence,
            beta=self.beta,
            tan_gamma=self.tan_gamma,
            r=tuple(tuple(v * f for v in row) for row in self.r),
            q0=q0,
        )


def _lerp(xs: Sequence[float], ys: Sequence[float], at: float) -> float:
    if len(xs) == 1:
        return ys[0]
    k = min(max(bisect.bisect_right(xs, at) - 1, 0), len(xs) - 2)
    t = (at - xs[k]) / (xs[k + 1] - xs[k])
    t = min(max(t, 0.0), 1.0)
    return ys[k] + t * (ys[k + 1] - ys[k])


def _interpolate_rows(
    xs: Sequence[float], rows: Sequence[Sequence[float]], at: float
) -> tuple[float, ...]:
    if len(xs) == 1:
        return tuple(rows[0])
    k = min(max(bisect.bisect_right(xs, at) - 1, 0), len(xs) - 2)
    t = min(max((at - xs[k]) / (xs[k + 1] - xs[k]), 0.0), 1.0)
    return tuple(a + t * (b - a) for a, b in zip(rows[k], rows[k + 1], strict=True))


# tan γ grid of the CIE tables (M): 0 to 12, finer near the luminaire.
_CIE_TAN_GAMMA = (
    *(k * 0.25 for k in range(17)),  # 0, 0.25 .. 4
    4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0,
    10.5, 11.0, 11.5, 12.0,
)  # fmt: skip


def diffuse_r_table(surface: SurfaceClass | str, *, q0: float | None = None) -> RTable:
    """The Lambertian stand-in r = Q0·cos³γ for a class (tag I; see the module docstring).

    A matt surface of reflectance ρ has luminance ρE/π, E = I·cos³γ/h², so r = (ρ/π)·cos³γ, and
    its Q0 (the solid-angle average of q = ρ/π) is ρ/π.
    """
    cls = SurfaceClass(surface)
    value = Q0[cls] if q0 is None else q0
    if value <= 0:
        raise ValueError(f"q0 {value:g} must be above zero")
    rows = tuple((1e4 * value / (1 + t * t) ** 1.5,) for t in _CIE_TAN_GAMMA)
    return RTable(
        name=f"diffuse stand-in for {cls} (r = Q0·cos³γ, Q0 {value:g})",
        confidence="I",
        beta=(0.0,),
        tan_gamma=_CIE_TAN_GAMMA,
        r=rows,
        q0=value,
    )


# Bounds of a real r-table (our choice): the CIE tables end at tan γ 12 and their largest
# 10⁴·r is below 10⁴ (a wet, specular surface's peak); beyond these a column is misplaced.
_TAN_GAMMA_MAX = 100.0
_R_MAX = 100_000.0


def read_r_table(path: Path | str, *, confidence: str, q0: float) -> RTable:
    """A site's r-table: CSV, header `tanγ\\β` then β in degrees; rows tan γ then 10⁴·r."""
    path = Path(path)

    def fail(line: int | None, message: str) -> InputError:
        return InputError([Problem(file=str(path), line=line, path="", message=message)])

    text = _csv_text(path)
    rows = [
        (n, cells)
        for n, cells in enumerate(csv.reader(text.splitlines()), start=1)
        if cells and any(c.strip() for c in cells) and not cells[0].lstrip().startswith("#")
    ]
    if len(rows) < 2:
        raise fail(1, "no table — write a header 'tanγ\\β,0,2,5,…' then rows 'tanγ,10⁴·r,…'")

    def num(line: int, cell: str, high: float, what: str) -> float:
        try:
            value = float(cell)
        except ValueError:
            raise fail(line, f"{cell.strip()!r} is not a number — write plain numbers") from None
        if not 0 <= value <= high:  # also NaN and infinity
            raise fail(line, f"{what} {cell.strip()!r} must be a number within 0 .. {high:g}")
        return value

    head_line, head = rows[0]
    beta = tuple(num(head_line, c, 180.0, "β") for c in head[1:])
    tans: list[float] = []
    table: list[tuple[float, ...]] = []
    for line, cells in rows[1:]:
        if len(cells) != len(beta) + 1:
            raise fail(
                line,
                f"{len(cells) - 1} values for {len(beta)} β columns — one 10⁴·r per β",
            )
        t = num(line, cells[0], _TAN_GAMMA_MAX, "tan γ")
        if tans and t <= tans[-1]:
            raise fail(line, f"tan γ {t:g} does not increase after {tans[-1]:g} — sort the rows")
        tans.append(t)
        table.append(tuple(num(line, c, _R_MAX, "10⁴·r") for c in cells[1:]))
    if any(b2 <= b1 for b1, b2 in itertools.pairwise(beta)):
        raise fail(head_line, "β must increase along the header")
    return RTable(
        name=path.name,
        confidence=confidence,
        beta=beta,
        tan_gamma=tuple(tans),
        r=tuple(table),
        q0=q0,
    )


class Layout(StrEnum):
    """Where the poles stand (CIE 115 / EN 13201 vocabulary)."""

    ONE_SIDED = "one-sided"  # one row at the near kerb
    OPPOSITE = "opposite"  # rows at both kerbs, poles face to face
    STAGGERED = "staggered"  # rows at both kerbs, the far row half a spacing along
    TWIN_CENTRAL = "twin-central"  # one row in the central reserve, two arms


@dataclass(frozen=True, slots=True, kw_only=True)
class RoadGeometry:
    """The carriageway and how its luminaires stand. Lengths in metres, tilt in degrees."""

    width: float
    lanes: int
    spacing: float
    mounting_height: float
    overhang: float  # from the pole toward the carriageway
    tilt: float = 0.0
    layout: Layout = Layout.ONE_SIDED
    # twin-central: the pole stands this far beyond the far kerb (half the central reserve)
    median_offset: float = 0.0
    maintenance_factor: float = 1.0
    # width of the unobstructed strip (footway, verge) beyond each kerb, if narrower than 5 m
    surround_strip: float | None = None

    def __post_init__(self) -> None:
        if self.width <= 0 or self.spacing <= 0 or self.mounting_height <= EYE_HEIGHT:
            raise ValueError(
                "road width and spacing must be above zero and the mounting height above the "
                f"{EYE_HEIGHT} m eye height"
            )
        if self.lanes < 1:
            raise ValueError(f"lanes {self.lanes} must be at least 1")
        if not 0 < self.maintenance_factor <= 1:
            raise ValueError(f"maintenance factor {self.maintenance_factor} must be in (0, 1]")

    @property
    def lane_width(self) -> float:
        return self.width / self.lanes


@dataclass(frozen=True, slots=True, kw_only=True)
class Luminaire:
    """One luminaire: its centre and whether it faces −y (the far row, a median arm)."""

    x: float
    y: float
    z: float
    reversed: bool  # turned 180° about the vertical: its C 90° points toward −y


# Our choice, as in `photometry`: luminaires within this many mounting heights of the field
# either way, and up to 500 m ahead of an observer for TI (CIE 140, M).
_REACH_IN_HEIGHTS = 5.0
_GLARE_REACH = 500.0


def luminaires(geometry: RoadGeometry, x_from: float, x_to: float) -> list[Luminaire]:
    """Every luminaire of the layout with x in [x_from, x_to]."""
    g = geometry
    s, h = g.spacing, g.mounting_height
    found: list[Luminaire] = []

    def row(y: float, shift: float, rev: bool) -> None:
        first = math.floor((x_from - shift) / s)
        last = math.ceil((x_to - shift) / s)
        for k in range(first, last + 1):
            x = k * s + shift
            if x_from <= x <= x_to:
                found.append(Luminaire(x=x, y=y, z=h, reversed=rev))

    if g.layout is Layout.TWIN_CENTRAL:
        pole = g.width + g.median_offset
        row(pole - g.overhang, 0.0, True)
        row(pole + g.overhang, 0.0, False)  # the arm over the other carriageway
    else:
        row(g.overhang, 0.0, False)
        if g.layout is Layout.OPPOSITE:
            row(g.width - g.overhang, 0.0, True)
        elif g.layout is Layout.STAGGERED:
            row(g.width - g.overhang, s / 2, True)
    return found


def _in_reach(geometry: RoadGeometry, xs: Sequence[float]) -> list[Luminaire]:
    """The luminaires within 5 mounting heights of the points, the range rounded out to whole
    spacings as `photometry.predicted_grid` does (so a one-sided layout gives its numbers)."""
    s, reach = geometry.spacing, _REACH_IN_HEIGHTS * geometry.mounting_height
    first = math.floor((min(xs) - reach) / s) * s
    last = math.ceil((max(xs) + reach) / s) * s
    return luminaires(geometry, first, last)


def _angles(lum: Luminaire, px: float, py: float, pz: float, tilt: float) -> tuple[float, float]:
    dx, dy, dz = px - lum.x, py - lum.y, pz - lum.z
    if lum.reversed:
        dx, dy = -dx, -dy
    t = math.radians(tilt)
    return _luminaire_angles(dx, dy, dz, math.cos(t), math.sin(t))


def luminance_grid_positions(geometry: RoadGeometry) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """CIE 140 / EN 13201-3 field (M): one span; N = 10 for S ≤ 30 m, else the smallest N with
    D ≤ 3 m, points at the middle of each part; 3 points across each lane at the sixths."""
    s = geometry.spacing
    n = 10 if s <= 30 else math.ceil(s / 3)
    x = tuple((i + 0.5) * s / n for i in range(n))
    w = geometry.lane_width
    y = tuple(k * w + (j + 0.5) * w / 3 for k in range(geometry.lanes) for j in range(3))
    return x, y


def road_luminance(
    photometry: Photometry,
    geometry: RoadGeometry,
    table: RTable,
    *,
    observer: tuple[float, float],
    x: Sequence[float],
    y: Sequence[float],
) -> tuple[tuple[float, ...], ...]:
    """Maintained luminance (cd/m²) at (x[i], y[j]) seen from `observer` (x, y; eye 1.5 m):
    rows by y, as `IlluminanceGrid.lux`."""
    g = geometry
    lums = _in_reach(g, x)
    ox, oy = observer
    rows: list[tuple[float, ...]] = []
    for py in y:
        row: list[float] = []
        for px in x:
            total = 0.0
            vx, vy = px - ox, py - oy
            for lum in lums:
                lx, ly = lum.x - px, lum.y - py
                horizontal = math.hypot(lx, ly)
                c, gamma = _angles(lum, px, py, 0.0, g.tilt)
                beta = _plane_angle(vx, vy, lx, ly) if horizontal > 0 else 0.0
                r = table.value(beta, horizontal / lum.z)
                total += photometry.intensity(c, gamma) * r / (lum.z * lum.z)
            row.append(total * g.maintenance_factor)
        rows.append(tuple(row))
    return tuple(rows)


def _plane_angle(ax: float, ay: float, bx: float, by: float) -> float:
    """Angle in degrees between two horizontal directions, 0..180."""
    na, nb = math.hypot(ax, ay), math.hypot(bx, by)
    if na == 0 or nb == 0:
        return 0.0
    cos = (ax * bx + ay * by) / (na * nb)
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))


def horizontal_illuminance(
    photometry: Photometry,
    geometry: RoadGeometry,
    px: float,
    py: float,
    *,
    initial: bool = False,
    lums: Sequence[Luminaire] | None = None,
) -> float:
    """Horizontal illuminance (lx) at a road point, maintained unless `initial`; from `lums`
    if given, else the luminaires in reach of the point."""
    total = 0.0
    for lum in _in_reach(geometry, [px]) if lums is None else lums:
        d2 = (px - lum.x) ** 2 + (py - lum.y) ** 2 + lum.z**2
        c, gamma = _angles(lum, px, py, 0.0, geometry.tilt)
        total += photometry.intensity(c, gamma) * (lum.z / math.sqrt(d2)) / d2
    return total * (1.0 if initial else geometry.maintenance_factor)


def layout_grid(
    photometry: Photometry,
    geometry: RoadGeometry,
    x: Sequence[float],
    y: Sequence[float],
    *,
    initial: bool = False,
) -> IlluminanceGrid:
    """Horizontal illuminance at (x[i], y[j]) for any layout (one-sided: as `predicted_grid`)."""
    lums = _in_reach(geometry, x)
    rows = tuple(
        tuple(
            horizontal_illuminance(photometry, geometry, px, py, initial=initial, lums=lums)
            for px in x
        )
        for py in y
    )
    return IlluminanceGrid(x=tuple(x), y=tuple(y), lux=rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class LuminanceResult:
    """L_av, U0 (worst observer), UL (worst lane centre line), TI (worst lane), SR, EIR."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    # per observer lane: the grid that observer sees (rows by y)
    grids: tuple[tuple[tuple[float, ...], ...], ...]
    observers: tuple[tuple[float, float], ...]
    average: float
    minimum: float
    overall_uniformity: float
    longitudinal_uniformity: float
    threshold_increment: float  # percent
    surround_ratio: float
    edge_illuminance_ratio: float
    table: RTable


def luminance_result(
    photometry: Photometry, geometry: RoadGeometry, table: RTable
) -> LuminanceResult:
    """Every luminance quantity of the road class: CIE 140 / EN 13201-3 method (M).

    Each lane's centre is an observer position in turn (60 m before the field, 1.5 m eye
    height); L_av and U0 are the lowest over the observers, UL the lowest over the lane centre
    lines (each seen by the observer in its own lane), TI the highest over the lanes.
    """
    x, y = luminance_grid_positions(geometry)
    w = geometry.lane_width
    observers = tuple((-OBSERVER_DISTANCE, (k + 0.5) * w) for k in range(geometry.lanes))
    grids = tuple(
        road_luminance(photometry, geometry, table, observer=o, x=x, y=y) for o in observers
    )
    averages: list[float] = []
    uniformities: list[float] = []
    longitudinal: list[float] = []
    minimum = math.inf
    for lane, grid in enumerate(grids):
        values = [v for row in grid for v in row]
        av = sum(values) / len(values)
        averages.append(av)
        uniformities.append(min(values) / av if av > 0 else 0.0)
        minimum = min(minimum, min(values))
        centre = grid[3 * lane + 1]  # the middle of the lane's three rows: its centre line
        longitudinal.append(min(centre) / max(centre) if max(centre) > 0 else 0.0)
    average = min(averages)
    ti = max(
        threshold_increment(photometry, geometry, table, lane=k) for k in range(geometry.lanes)
    )
    return LuminanceResult(
        x=x,
        y=y,
        grids=grids,
        observers=observers,
        average=average,
        minimum=minimum,
        overall_uniformity=min(uniformities),
        longitudinal_uniformity=min(longitudinal),
        threshold_increment=ti,
        surround_ratio=surround_ratio(photometry, geometry),
        edge_illuminance_ratio=edge_illuminance_ratio(photometry, geometry),
        table=table,
    )


def veiling_luminance(
    photometry: Photometry, geometry: RoadGeometry, eye: tuple[float, float]
) -> float:
    """Lv = 10 · Σ E_eye / θ² (θ in degrees, 1.5°..60°), initial flux (CIE 140, M).

    Line of sight 1° below the horizontal along +x; luminaires ahead up to 500 m and not above
    20° over the horizontal (the car roof screens them, CIE 140, M).
    """
    ex, ey = eye
    ez = EYE_HEIGHT
    sight = (math.cos(math.radians(1.0)), 0.0, -math.sin(math.radians(1.0)))
    total = 0.0
    for lum in luminaires(geometry, ex, ex + _GLARE_REACH):
        dx, dy, dz = lum.x - ex, lum.y - ey, lum.z - ez
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        horizontal = math.hypot(dx, dy)
        if horizontal <= 0 or math.degrees(math.atan2(dz, horizontal)) > 20.0:
            continue
        cos_theta = (dx * sight[0] + dy * sight[1] + dz * sight[2]) / d
        theta = math.degrees(math.acos(max(-1.0, min(1.0, cos_theta))))
        if not 1.5 <= theta <= 60.0:
            continue
        # intensity from the luminaire toward the eye, and the illuminance on the eye's plane
        # normal to the line of sight
        c, gamma = _angles(lum, ex, ey, ez, geometry.tilt)
        e_eye = photometry.intensity(c, gamma) * cos_theta / (d * d)
        total += e_eye / (theta * theta)
    return 10.0 * total


def threshold_increment(
    photometry: Photometry, geometry: RoadGeometry, table: RTable, *, lane: int
) -> float:
    """TI (%) for an observer in a lane's centre (CIE 140 / EN 13201-3, M).

    TI = 65·Lv / L_av^0.8 (L_av ≤ 5 cd/m²), else 95·Lv / L_av^1.05, both with initial values
    (maintenance factor 1). The observer moves over one span in the grid's steps, starting
    where the first luminaire ahead reaches the 20° screening angle; the highest TI counts.
    """
    initial = dataclasses.replace(geometry, maintenance_factor=1.0)
    x, y = luminance_grid_positions(initial)
    ey = (lane + 0.5) * geometry.lane_width
    grid = road_luminance(photometry, initial, table, observer=(-OBSERVER_DISTANCE, ey), x=x, y=y)
    values = [v for row in grid for v in row]
    l_av = sum(values) / len(values)
    if l_av <= 0:
        return math.inf
    start = -(geometry.mounting_height - EYE_HEIGHT) / math.tan(math.radians(20.0))
    step = geometry.spacing / len(x)
    worst = 0.0
    for k in range(len(x)):
        lv = veiling_luminance(photometry, initial, (start + k * step, ey))
        ti = 65.0 * lv / l_av**0.8 if l_av <= 5 else 95.0 * lv / l_av**1.05
        worst = max(worst, ti)
    return worst


def _strip_average(photometry: Photometry, geometry: RoadGeometry, y0: float, y1: float) -> float:
    x, _ = luminance_grid_positions(geometry)
    ys = [y0 + (j + 0.5) * (y1 - y0) / 3 for j in range(3)]
    values = [v for row in layout_grid(photometry, geometry, x, ys).lux for v in row]
    return sum(values) / len(values)


def _edge_ratio(photometry: Photometry, geometry: RoadGeometry, strip: float) -> float:
    w = geometry.width
    near = _strip_average(photometry, geometry, -strip, 0.0) / _strip_average(
        photometry, geometry, 0.0, strip
    )
    far = _strip_average(photometry, geometry, w, w + strip) / _strip_average(
        photometry, geometry, w - strip, w
    )
    return min(near, far)


def surround_ratio(photometry: Photometry, geometry: RoadGeometry) -> float:
    """SR (CIE 115 / CIE 140, M): average horizontal illuminance on a strip just outside each
    kerb ÷ on the strip of the same width just inside it; strips 5 m wide or half the
    carriageway or the unobstructed strip beyond the kerb (`surround_strip`) if narrower; the
    lower of the two kerbs. A twin-central road's median side is judged like the other kerb
    (our choice)."""
    return _edge_ratio(photometry, geometry, _strip(geometry, geometry.width / 2))


def _strip(geometry: RoadGeometry, limit: float) -> float:
    widths = [5.0, limit]
    if geometry.surround_strip is not None:
        widths.append(geometry.surround_strip)
    return min(widths)


def edge_illuminance_ratio(photometry: Photometry, geometry: RoadGeometry) -> float:
    """EIR (EN 13201-2:2015 / -3:2015, U): as SR with strips one lane wide (at most 5 m, and
    at most the unobstructed strip, our choice)."""
    return _edge_ratio(photometry, geometry, _strip(geometry, geometry.lane_width))


@dataclass(frozen=True, slots=True, kw_only=True)
class PedestrianResult:
    """Lowest vertical and semi-cylindrical illuminance at 1.5 m over the grid, both ways along
    the road, and the horizontal average and minimum on the road (all maintained)."""

    horizontal_average: float
    horizontal_minimum: float
    vertical_minimum: float
    semicylindrical_minimum: float


def pedestrian_illuminance(photometry: Photometry, geometry: RoadGeometry) -> PedestrianResult:
    """E_v and E_sc at 1.5 m (EN 13201-3 / CIE 115, M), faces looking ±x along the road.

    E_v = Σ I·sin ε·cos φ / d² (light reaching the face's front only), E_sc = Σ I·(1 + cos φ)·
    sin ε / (π d²), ε the angle of the light from the vertical, φ the horizontal angle between
    the face's normal and the direction back toward the luminaire.
    """
    x, y = luminance_grid_positions(geometry)
    h_values = [v for row in layout_grid(photometry, geometry, x, y).lux for v in row]
    lums = _in_reach(geometry, x)
    ev_min = esc_min = math.inf
    for px in x:
        for py in y:
            for facing in (1.0, -1.0):
                ev = esc = 0.0
                for lum in lums:
                    dx, dy, dz = lum.x - px, lum.y - py, lum.z - EYE_HEIGHT
                    d = math.sqrt(dx * dx + dy * dy + dz * dz)
                    horizontal = math.hypot(dx, dy)
                    if horizontal == 0:
                        continue
                    c, gamma = _angles(lum, px, py, EYE_HEIGHT, geometry.tilt)
                    i = photometry.intensity(c, gamma)
                    sin_e = horizontal / d
                    cos_phi = facing * dx / horizontal
                    ev += i * sin_e * max(cos_phi, 0.0) / (d * d)
                    esc += i * (1 + cos_phi) * sin_e / (math.pi * d * d)
                mf = geometry.maintenance_factor
                ev_min = min(ev_min, ev * mf)
                esc_min = min(esc_min, esc * mf)
    return PedestrianResult(
        horizontal_average=sum(h_values) / len(h_values),
        horizontal_minimum=min(h_values),
        vertical_minimum=ev_min,
        semicylindrical_minimum=esc_min,
    )
