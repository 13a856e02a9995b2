"""Road-lighting calculations, CJJ 45-2015, and the GB/T 5700 field grid.

Every limit here is copied from docs/sources.md §3 with its confidence tag
(S = secondary source read, U = unverified, M = mapped from another standard, R = read in the
standard itself). Reading files (grid CSV, IES photometry) lives in `photometry`.

Road coordinates, used by the grid and by the predicted illuminance:
x along the road in metres, 0 at the first pole of the span; y across the road in metres, 0 at
the kerb on the pole side, growing toward the far kerb. Heights are above the road surface.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pint

from ycsa_conform.result import Verdict
from ycsa_conform.units import Quantity

__all__ = [
    "CJJ45_TABLE_3_3_1",
    "CJJ45_TABLE_7_1_2",
    "CUTOFF_LIMITS",
    "CutOffClass",
    "Grade",
    "GridCheck",
    "GridMethod",
    "GridStats",
    "IlluminanceGrid",
    "RoadClass",
    "RoadLightingClass",
    "cutoff_class",
    "evaluate_grid",
    "field_grid_positions",
    "judge_grid",
    "lighting_power_density",
    "power_density_limit",
    "road_lighting_class",
]

TABLE_3_3_1 = "CJJ 45-2015 Table 3.3.1"
TABLE_7_1_2 = "CJJ 45-2015 Table 7.1.2"


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


class RoadClass(StrEnum):
    """CJJ 45-2015 motor-vehicle road levels: I expressway/arterial, II secondary, III branch."""

    I = "I"  # noqa: E741 - the standard's own name for the level
    II = "II"
    III = "III"


class Grade(StrEnum):
    """Low or high grade of a level; high for heavy traffic or high speed (standards.md §3.1)."""

    LOW = "low"
    HIGH = "high"


@dataclass(frozen=True, slots=True, kw_only=True)
class RoadLightingClass:
    """One cell of CJJ 45-2015 Table 3.3.1 (maintained values); None where the table has '—'."""

    road_class: RoadClass
    grade: Grade
    average_luminance: pint.Quantity[Any]
    overall_uniformity: float  # U0
    longitudinal_uniformity: float | None  # UL
    average_illuminance: pint.Quantity[Any]
    illuminance_uniformity: float  # UE
    threshold_increment_max: pint.Quantity[Any]  # TI, percent
    surround_ratio_min: float | None  # SR
    source: str = TABLE_3_3_1
    confidence: str = "S"


def _row(
    road_class: RoadClass,
    grade: Grade,
    l_av: float,
    u0: float,
    ul: float | None,
    e_av: float,
    ue: float,
    ti: float,
    sr: float | None,
) -> RoadLightingClass:
    return RoadLightingClass(
        road_class=road_class,
        grade=grade,
        average_luminance=Quantity(l_av, "cd/m^2"),
        overall_uniformity=u0,
        longitudinal_uniformity=ul,
        average_illuminance=Quantity(e_av, "lx"),
        illuminance_uniformity=ue,
        threshold_increment_max=Quantity(ti, "percent"),
        surround_ratio_min=sr,
    )


_I, _II, _III = RoadClass.I, RoadClass.II, RoadClass.III
_LO, _HI = Grade.LOW, Grade.HIGH
# standards.md §3.1, Table 3.3.1 (S, from a reproduction of the 2015 table); maintained values.
#   level, grade, L_av cd/m², U0, UL, E_av lx, UE, TI max %, SR min
CJJ45_TABLE_3_3_1: dict[tuple[RoadClass, Grade], RoadLightingClass] = {
    (_I, _LO): _row(_I, _LO, 1.50, 0.4, 0.7, 20, 0.4, 10, 0.5),  # (S)
    (_I, _HI): _row(_I, _HI, 2.00, 0.4, 0.7, 30, 0.4, 10, 0.5),  # (S)
    (_II, _LO): _row(_II, _LO, 1.00, 0.4, 0.5, 15, 0.4, 10, 0.5),  # (S)
    (_II, _HI): _row(_II, _HI, 1.50, 0.4, 0.5, 20, 0.4, 10, 0.5),  # (S)
    (_III, _LO): _row(_III, _LO, 0.50, 0.4, None, 8, 0.3, 15, None),  # (S) UL, SR: "—"
    (_III, _HI): _row(_III, _HI, 0.75, 0.4, None, 10, 0.3, 15, None),  # (S) UL, SR: "—"
}

# standards.md §3.1, Table 7.1.2 (U; check before use). Level → (lane split, {design E_av lx:
# (limit W/m² with ≥ split lanes, limit with < split lanes)}).
CJJ45_TABLE_7_1_2: dict[RoadClass, tuple[int, dict[float, tuple[float, float]]]] = {
    RoadClass.I: (6, {30: (1.00, 1.20), 20: (0.70, 0.85)}),  # (U)
    RoadClass.II: (4, {20: (0.80, 0.90), 15: (0.60, 0.70)}),  # (U)
    RoadClass.III: (2, {10: (0.50, 0.60), 8: (0.40, 0.45)}),  # (U)
}


def road_lighting_class(road_class: RoadClass | str, grade: Grade | str) -> RoadLightingClass:
    """The Table 3.3.1 row for a level and grade ('II', 'high')."""
    try:
        key = (RoadClass(road_class), Grade(grade))
    except ValueError:
        raise ValueError(
            f"road class {road_class!r} grade {grade!r} is not in {TABLE_3_3_1}; "
            "use class I, II or III and grade low or high"
        ) from None
    return CJJ45_TABLE_3_3_1[key]


def power_density_limit(
    road_class: RoadClass | str, design_illuminance: pint.Quantity[Any], *, lanes: int
) -> pint.Quantity[Any]:
    """The Table 7.1.2 LPD limit (confidence U) for a level, design E_av and lane count."""
    split, limits = CJJ45_TABLE_7_1_2[RoadClass(road_class)]
    lux = float(design_illuminance.to("lx").magnitude)
    match = next((row for e, row in limits.items() if math.isclose(e, lux)), None)
    if match is None:
        known = " or ".join(f"{e:g} lx" for e in limits)
        raise ValueError(
            f"{TABLE_7_1_2} has no row for class {RoadClass(road_class)} at {lux:g} lx; use {known}"
        )
    if lanes < 1:
        raise ValueError(f"lanes={lanes} must be at least 1")
    return Quantity(match[0] if lanes >= split else match[1], "W/m^2")


class GridMethod(StrEnum):
    """GB/T 5700 field-grid averaging (standards.md §3.2, S/M)."""

    CENTRE = "centre"  # points at cell centres: E_av = ΣE / (MN)
    CORNERS = "corners"  # points at cell corners: corners ×1, edges ×2, interior ×4, / (4MN)


@dataclass(frozen=True, slots=True, kw_only=True)
class IlluminanceGrid:
    """Horizontal illuminance at road points: `lux[j][i]` is at (x[i], y[j]), road coordinates."""

    x: tuple[float, ...]  # metres along the road
    y: tuple[float, ...]  # metres across the road
    lux: tuple[tuple[float, ...], ...]

    def __post_init__(self) -> None:
        if not self.x or not self.y:
            raise ValueError("a grid needs at least one x and one y position")
        if len(self.lux) != len(self.y) or any(len(row) != len(self.x) for row in self.lux):
            raise ValueError(
                f"grid values must be {len(self.y)} rows of {len(self.x)}, one per position"
            )
        _check_sorted("x", self.x)
        _check_sorted("y", self.y)

    @property
    def points(self) -> int:
        return len(self.x) * len(self.y)


@dataclass(frozen=True, slots=True, kw_only=True)
class GridStats:
    """Eav, Emin, Emax and UE = Emin/Eav of one grid by one method."""

    method: GridMethod
    points: int
    average: pint.Quantity[Any]
    minimum: pint.Quantity[Any]
    maximum: pint.Quantity[Any]
    uniformity: float


def evaluate_grid(grid: IlluminanceGrid, method: GridMethod | str) -> GridStats:
    """Average by the centre-point or four-corner method (standards.md §3.2, S/M)."""
    method = GridMethod(method)
    values = [v for row in grid.lux for v in row]
    if method is GridMethod.CENTRE:
        average = sum(values) / len(values)
    else:
        n_x, n_y = len(grid.x), len(grid.y)
        if n_x < 2 or n_y < 2:
            raise ValueError(
                f"the four-corner method needs at least 2 × 2 points (cell corners); "
                f"this grid has {n_x} × {n_y}; use the centre-point method"
            )
        weighted = 0.0
        for j, row in enumerate(grid.lux):
            for i, value in enumerate(row):
                # a point on a grid edge in x (or y) is shared by one cell that way, else two
                weight = (1 if i in (0, n_x - 1) else 2) * (1 if j in (0, n_y - 1) else 2)
                weighted += weight * value
        average = weighted / (4 * (n_x - 1) * (n_y - 1))
    minimum = min(values)
    return GridStats(
        method=method,
        points=len(values),
        average=Quantity(average, "lx"),
        minimum=Quantity(minimum, "lx"),
        maximum=Quantity(max(values), "lx"),
        uniformity=minimum / average if average > 0 else 0.0,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class GridCheck:
    """One comparison of a grid figure with its Table 3.3.1 limit."""

    name: str
    value: pint.Quantity[Any]
    limit: pint.Quantity[Any]  # a minimum
    verdict: Verdict
    source: str
    confidence: str


def judge_grid(stats: GridStats, limits: RoadLightingClass) -> list[GridCheck]:
    """Eav ≥ E_av and UE ≥ UE of the class; both PASS or FAIL, nothing marginal."""

    def check(name: str, value: pint.Quantity[Any], limit: pint.Quantity[Any]) -> GridCheck:
        verdict = Verdict.PASS if value.to(limit.units) >= limit else Verdict.FAIL
        return GridCheck(
            name=name,
            value=value,
            limit=limit,
            verdict=verdict,
            source=limits.source,
            confidence=limits.confidence,
        )

    return [
        check("Eav", stats.average, limits.average_illuminance),
        check("UE", Quantity(stats.uniformity, ""), Quantity(limits.illuminance_uniformity, "")),
    ]


def field_grid_positions(
    span: pint.Quantity[Any], road_width: pint.Quantity[Any], *, lanes: int, method: GridMethod
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """GB/T 5700 grid (standards.md §3.2, S/M): x, y positions in metres for one span.

    Along: 10 equal parts for spans ≤ 50 m, else the fewest parts of ≤ 5 m; across: 3 per lane.
    Centre-point: the cells' centres; four-corner: the cells' corners.
    """
    s = float(span.to("m").magnitude)
    w = float(road_width.to("m").magnitude)
    if s <= 0 or w <= 0 or lanes < 1:
        raise ValueError("span and road width must be above zero and lanes at least 1")
    along = 10 if s <= 50 else math.ceil(s / 5)
    across = 3 * lanes

    def cut(length: float, parts: int) -> tuple[float, ...]:
        step = length / parts
        if GridMethod(method) is GridMethod.CENTRE:
            return tuple((k + 0.5) * step for k in range(parts))
        return tuple(k * step for k in range(parts + 1))

    return cut(s, along), cut(w, across)


def _check_sorted(name: str, values: Sequence[float]) -> None:
    if any(b <= a for a, b in itertools.pairwise(values)):
        raise ValueError(f"{name} positions must increase strictly")


class CutOffClass(StrEnum):
    """CJJ 45 luminaire classes by their light toward the horizon (standards.md §3.1, S)."""

    CUT_OFF = "cut-off"
    SEMI_CUT_OFF = "semi-cut-off"
    NON_CUT_OFF = "non-cut-off"


# standards.md §3.1 cut-off definitions (S): class → (≤ cd/klm at 80°, ≤ cd/klm at 90°);
# both classes also ≤ 1000 cd at 90°.
CUTOFF_LIMITS: dict[CutOffClass, tuple[float, float]] = {
    CutOffClass.CUT_OFF: (30.0, 10.0),  # (S)
    CutOffClass.SEMI_CUT_OFF: (100.0, 50.0),  # (S)
}
CUTOFF_MAX_INTENSITY_90 = Quantity(1000, "cd")  # (S)


def cutoff_class(
    at_80: pint.Quantity[Any], at_90: pint.Quantity[Any], at_90_absolute: pint.Quantity[Any]
) -> CutOffClass:
    """The tightest CJJ 45 class whose limits the intensities meet (cd/klm at 80° and 90°)."""
    i80 = float(at_80.to("cd/klm").magnitude)
    i90 = float(at_90.to("cd/klm").magnitude)
    if at_90_absolute <= CUTOFF_MAX_INTENSITY_90:
        for kind, (max_80, max_90) in CUTOFF_LIMITS.items():
            if i80 <= max_80 and i90 <= max_90:
                return kind
    return CutOffClass.NON_CUT_OFF
