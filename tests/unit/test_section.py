"""Pole sections: round and regular polygonal tubes given across flats.

The expected values are not taken from the closed forms in `section.py`: the polygons are built
here as vertex lists and integrated with the shoelace (Green's theorem) formulas, and the worked
example of docs/engineering/polygonal.md is recomputed step by step from GB 50009's formulas
written out in this file. Each number printed in that document appears here as a literal.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pint
import pytest

from ycsa_conform.engineering import pole, section, wind
from ycsa_conform.units import Quantity

# --- an independent section calculator: vertices and Green's theorem -------------------------


def _polygon(sides: int, across_flats: float, rotation: float = 0.0) -> list[tuple[float, float]]:
    """Vertices of a regular polygon with a flat facing +x when rotation = 0."""
    corner = across_flats / 2 / math.cos(math.pi / sides)
    return [
        (
            corner * math.cos(math.pi / sides + 2 * math.pi * k / sides + rotation),
            corner * math.sin(math.pi / sides + 2 * math.pi * k / sides + rotation),
        )
        for k in range(sides)
    ]


def _green(vertices: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """Area, Ixx, Iyy, Ixy about the origin of a counter-clockwise polygon."""
    a = ixx = iyy = ixy = 0.0
    for (x0, y0), (x1, y1) in zip(vertices, vertices[1:] + vertices[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        a += cross / 2
        ixx += cross * (y0 * y0 + y0 * y1 + y1 * y1) / 12
        iyy += cross * (x0 * x0 + x0 * x1 + x1 * x1) / 12
        ixy += cross * (x0 * y1 + 2 * x0 * y0 + 2 * x1 * y1 + x1 * y0) / 24
    return a, ixx, iyy, ixy


def _hollow(sides: int, f: float, t: float, rotation: float = 0.0) -> tuple[float, float, float]:
    """Area, Ixx, Iyy of the outer polygon less the inner one (flats offset by t)."""
    outer = _green(_polygon(sides, f, rotation))
    inner = _green(_polygon(sides, f - 2 * t, rotation))
    return outer[0] - inner[0], outer[1] - inner[1], outer[2] - inner[2]


def mm(x: float) -> pint.Quantity[Any]:
    return Quantity(x, "mm")


@pytest.mark.parametrize("sides", [8, 12, 16])
def test_polygon_area_and_second_moment_match_the_vertex_integration(sides: int) -> None:
    s = section.polygonal_tube(sides, mm(200), mm(5))
    area, ixx, iyy = _hollow(sides, 0.200, 0.005)

    assert s.area.to("m^2").magnitude == pytest.approx(area, rel=1e-12)
    assert s.second_moment.to("m^4").magnitude == pytest.approx(ixx, rel=1e-12)
    assert ixx == pytest.approx(iyy, rel=1e-12)


@pytest.mark.parametrize("rotation", [0.0, 0.1, math.pi / 8, 1.0])
def test_second_moment_of_an_octagon_is_the_same_about_every_axis(rotation: float) -> None:
    _, ixx, iyy = _hollow(8, 0.200, 0.005, rotation)
    *_, ixy = _green(_polygon(8, 0.200, rotation))

    assert ixx == pytest.approx(iyy, rel=1e-12)
    assert ixy == pytest.approx(0.0, abs=1e-15)
    assert ixx == pytest.approx(section.polygonal_tube(8, mm(200), mm(5)).second_moment.m, rel=1e-9)


def test_section_modulus_is_at_the_corner_fibre() -> None:
    s = section.polygonal_tube(8, mm(200), mm(5))
    farthest = max(math.hypot(x, y) for x, y in _polygon(8, 0.200))

    assert s.extreme_fibre.to("m").magnitude == pytest.approx(farthest, rel=1e-12)
    assert s.modulus.to("m^3").magnitude == pytest.approx(
        s.second_moment.to("m^4").magnitude / farthest, rel=1e-12
    )
    # Across corners is the widest the wind sees (EN 1991-1-4 Table 7.11's b).
    assert s.wind_width.to("mm").magnitude == pytest.approx(2000 * farthest, rel=1e-12)
    assert s.across_corners.to("mm").magnitude == pytest.approx(2000 * farthest, rel=1e-12)


def test_flat_width_is_the_outside_face_between_corners() -> None:
    vertices = _polygon(8, 0.200)
    (x0, y0), (x1, y1) = vertices[0], vertices[1]

    s = section.polygonal_tube(8, mm(200), mm(5))

    assert s.flat_width is not None
    assert s.flat_width.to("m").magnitude == pytest.approx(math.hypot(x1 - x0, y1 - y0), rel=1e-12)


@pytest.mark.parametrize("sides", [8, 16, 32, 64, 256])
def test_many_sided_polygon_approaches_the_round_tube(sides: int) -> None:
    # A polygon lies between its inscribed circle (D = across flats) and its circumscribed one,
    # and both close on it as n grows. The round tube is written out here.
    def tube(d: float, t: float) -> tuple[float, float]:
        return math.pi / 4 * (d**2 - (d - 2 * t) ** 2), math.pi / 64 * (d**4 - (d - 2 * t) ** 4)

    s = section.polygonal_tube(sides, mm(200), mm(5))
    area, second = s.area.to("m^2").magnitude, s.second_moment.to("m^4").magnitude
    inscribed = tube(0.200, 0.005)
    # The same wall t normal to the faces: the circumscribed tube has a thicker wall t/cos θ.
    c = math.cos(math.pi / sides)
    circumscribed = tube(0.200 / c, 0.005 / c)

    assert inscribed[0] < area < circumscribed[0]
    assert inscribed[1] < second < circumscribed[1]
    # The gap shrinks like 1/n²: for 64 sides I is within 0.2 % of the round tube.
    gap = (math.tan(math.pi / sides) * sides / math.pi) - 1
    assert area / inscribed[0] - 1 == pytest.approx(gap, rel=1e-9)
    if sides >= 64:
        assert second / inscribed[1] == pytest.approx(1, abs=2e-3)
        assert s.modulus.m == pytest.approx(inscribed[1] / 0.1, rel=2e-3)


def test_a_round_tube_keeps_its_formula() -> None:
    s = section.circular_tube(mm(219), mm(5))

    assert s.area.to("mm^2").magnitude == pytest.approx(math.pi / 4 * (219**2 - 209**2))
    assert s.modulus.to("cm^3").magnitude == pytest.approx(175.8, abs=0.05)  # wind.md
    assert s.flat_width is None
    assert s.wind_width.to("mm").magnitude == pytest.approx(219)


def _shaft(**changes: Any) -> pole.PoleShaft:
    fields: dict[str, Any] = {
        "height": Quantity(10, "m"),
        "base_diameter": mm(200),
        "top_diameter": mm(100),
        "wall_thickness": mm(5),
        "steel_grade": pole.SteelGrade.Q355,
        "shape": wind.SectionShape.POLYGONAL,
        "sides": 8,
    }
    return pole.PoleShaft(**(fields | changes))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sides": 6}, "polygonal shaft with sides 6: give design.sides 8, 12 or 16"),
        ({"sides": None}, "polygonal shaft with no number of sides: give design.sides"),
        (
            {"shape": wind.SectionShape.CIRCULAR},
            "sides 8 given for a circular shaft: set section_shape: polygonal or remove sides",
        ),
        ({"wall_thickness": mm(60)}, "below half the top size across flats 100 mm"),
    ],
)
def test_shaft_refuses_a_section_it_cannot_compute(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _shaft(**changes)


def test_the_polygonal_error_says_across_flats() -> None:
    with pytest.raises(ValueError, match="base_diameter and top_diameter measured across flats"):
        _shaft(sides=10)


# --- docs/engineering/polygonal.md, recomputed ----------------------------------------------

# Inputs of the worked example.
H, F_BASE, F_TOP, T = 10.0, 0.200, 0.100, 0.005
N_SIDES, SEGMENTS = 8, 10
W0, MU_Z, MU_S = 0.35, 0.65, 1.45  # kN/m²; terrain C below 15 m (Table 8.2.1); EN octagon (U)
F1 = 1.72  # Hz
E, RHO, G = 206e9, 7850.0, 9.80665
EQUIPMENT = [("luminaire", 10.0, 0.25, 10.0), ("5G small cell", 25.0, 0.25, 8.0)]
EQUIPMENT += [("camera", 5.0, 0.05, 6.0)]  # name, kg, m², m; μs 1.3


def _beta_z(z: float) -> float:
    # GB 50009-2012 8.4 for terrain C, written out: k = 0.404, a1 = 0.292, I10 = 0.23,
    # kw = 0.54, ξ1 = 0.01, g = 2.5, φ1 = (6ξ² − 4ξ³ + ξ⁴)/3.
    x1 = 30 * F1 / math.sqrt(0.54 * W0)
    r2 = math.pi / 0.06 * x1**2 / (1 + x1**2) ** (4 / 3)
    rho_z = 10 * math.sqrt(H + 60 * math.exp(-H / 60) - 60) / H
    xi = z / H
    phi = (6 * xi**2 - 4 * xi**3 + xi**4) / 3
    b_z = 0.404 * H**0.292 * rho_z * phi / MU_Z
    return 1 + 2 * 2.5 * 0.23 * b_z * math.sqrt(1 + r2)


def _by_hand() -> dict[str, Any]:
    dz = H / SEGMENTS
    zs = [(i + 0.5) * dz for i in range(SEGMENTS)]
    sizes = [F_BASE + (F_TOP - F_BASE) * z / H for z in zs]
    props = [_hollow(N_SIDES, f, T) for f in sizes]
    widths = [f / math.cos(math.pi / N_SIDES) for f in sizes]
    forces = [_beta_z(z) * MU_S * MU_Z * W0 * b * dz for z, b in zip(zs, widths, strict=True)]
    loads = list(zip(zs, forces, strict=True))
    equipment = []
    for _, _, area, z in EQUIPMENT:
        equipment.append((z, _beta_z(z) * 1.3 * MU_Z * W0 * area))
    loads += equipment
    shear = sum(f for _, f in loads)
    moment = sum(f * z for z, f in loads)
    steel = sum(RHO * a * dz for a, _, _ in props)
    axial = (steel + sum(kg for _, kg, _, _ in EQUIPMENT)) * G / 1000
    base_area, base_i, _ = _hollow(N_SIDES, F_BASE, T)
    corner = F_BASE / 2 / math.cos(math.pi / N_SIDES)
    base_w = base_i / corner
    stress = (1.3 * axial * 1e3 / base_area + 1.5 * moment * 1e3 / base_w) / 1e6
    # Unit-load method with the midpoint rule: δ = Σ M(z_i)·(H − z_i)·Δz/(E·I_i).
    deflection = sum(
        sum(f * 1e3 * (z - zi) for z, f in loads if z > zi) * (H - zi) * dz / (E * p[1])
        for zi, p in zip(zs, props, strict=True)
    )
    flat = F_BASE * math.tan(math.pi / N_SIDES)
    theta = math.pi / N_SIDES
    x1 = 30 * F1 / math.sqrt(0.54 * W0)
    r2 = math.pi / 0.06 * x1**2 / (1 + x1**2) ** (4 / 3)

    def round_tube(d: float) -> tuple[float, float, float]:
        area = math.pi / 4 * (d**2 - (d - 2 * T) ** 2)
        second = math.pi / 64 * (d**4 - (d - 2 * T) ** 4)
        return area, second, second / (d / 2)

    flats, corners = round_tube(F_BASE), round_tube(F_BASE / math.cos(theta))
    # Rounded corners, inner radius 2t: the centre line loses 2(r + t/2)(tanθ − θ) per corner.
    per_corner = 2 * (2 * T + T / 2) * (math.tan(theta) - theta)
    centre_line = N_SIDES * 2 * (F_BASE / 2 - T / 2) * math.tan(theta)
    shaft_moment = sum(f * z for z, f in zip(zs, forces, strict=True))
    return {
        "n tan": N_SIDES * math.tan(theta),
        "I factor": N_SIDES * math.tan(theta) * (3 + math.tan(theta) ** 2) / 12,
        "base area mm2": base_area * 1e6,
        "base I cm4": base_i * 1e8,
        "corner mm": corner * 1e3,
        "base W cm3": base_w * 1e6,
        "flat-fibre W cm3": base_i / (F_BASE / 2) * 1e6,
        "corner/flat W": 1 / math.cos(theta),
        "kg per m at base": RHO * base_area,
        "mean area mm2": _hollow(N_SIDES, (F_BASE + F_TOP) / 2, T)[0] * 1e6,
        "steel kg": steel,
        "round A mm2": flats[0] * 1e6,
        "round I cm4": flats[1] * 1e8,
        "round W cm3": flats[2] * 1e6,
        "across corners mm": F_BASE / math.cos(theta) * 1e3,
        "corners A mm2": corners[0] * 1e6,
        "corners I cm4": corners[1] * 1e8,
        "corners W cm3": corners[2] * 1e6,
        "area ratio": base_area / flats[0],
        "I ratio": base_i / flats[1],
        "corners overstate": corners[1] / base_i,
        "rounded per corner mm": per_corner * 1e3,
        "rounded loss mm": N_SIDES * per_corner * 1e3,
        "centre line mm": centre_line * 1e3,
        "rounded loss %": N_SIDES * per_corner / centre_line * 100,
        "x1": x1,
        "R2": r2,
        "sqrt(1+R2)": math.sqrt(1 + r2),
        "rho_z": 10 * math.sqrt(H + 60 * math.exp(-H / 60) - 60) / H,
        "k H^a1": 0.404 * H**0.292,
        "beta top": _beta_z(H),
        "beta top segment": _beta_z(9.5),
        "top segment pressure": _beta_z(9.5) * MU_S * MU_Z * W0,
        "top segment width mm": widths[-1] * 1e3,
        "top segment force kN": forces[-1],
        "segment forces kN": forces,
        "segment I cm4": [p[1] * 1e8 for p in props],
        "shaft shear kN": sum(forces),
        "shaft moment kNm": shaft_moment,
        "equipment moment kNm": moment - shaft_moment,
        "luminaire force kN": equipment[0][1],
        "shear kN": shear,
        "moment kNm": moment,
        "axial kN": axial,
        "axial stress": 1.3 * axial * 1e3 / base_area / 1e6,
        "bending stress": 1.5 * moment * 1e3 / base_w / 1e6,
        "stress": stress,
        "stress utilisation": stress / 305,
        "deflection mm": deflection * 1e3,
        "deflection utilisation": deflection / (H / 75),
        "flat mm": flat * 1e3,
        "b/t": flat / T,
        "b/t limit": 45 * math.sqrt(235 / 355),
        "b/t utilisation": flat / T / (45 * math.sqrt(235 / 355)),
    }


# The numbers docs/engineering/polygonal.md prints outside its tables, to the digits printed.
PRINTED = {
    "n tan": (3.313708, 5e-7),
    "I factor": (0.875806, 5e-7),
    "base area mm2": (3230.9, 0.05),
    "base I cm4": (1624.6, 0.05),
    "corner mm": (108.24, 0.005),
    "base W cm3": (150.09, 0.005),
    "flat-fibre W cm3": (162.46, 0.005),
    "corner/flat W": (1.082, 5e-4),
    "kg per m at base": (25.36, 0.005),
    "mean area mm2": (2402.4, 0.05),
    "steel kg": (188.59, 0.005),
    "round A mm2": (3063.1, 0.05),
    "round I cm4": (1456.9, 0.05),
    "round W cm3": (145.69, 0.005),
    "across corners mm": (216.48, 0.005),
    "corners A mm2": (3321.9, 0.05),
    "corners I cm4": (1858.1, 0.05),
    "corners W cm3": (171.67, 0.005),
    "area ratio": (1.0548, 5e-5),
    "I ratio": (1.1151, 5e-5),
    "corners overstate": (1.1438, 5e-5),
    "rounded per corner mm": (0.538, 5e-4),
    "rounded loss mm": (4.30, 0.005),
    "centre line mm": (646.2, 0.05),
    "rounded loss %": (0.7, 0.05),
    "x1": (118.69, 0.005),
    "R2": (2.1678, 5e-5),
    "sqrt(1+R2)": (1.7798, 5e-5),
    "rho_z": (0.8882, 5e-5),
    "k H^a1": (0.7914, 5e-5),
    "beta top": (3.2134, 5e-5),
    "beta top segment": (3.0658, 5e-5),
    "top segment pressure": (1.0113, 5e-5),
    "top segment width mm": (113.65, 0.005),
    "top segment force kN": (0.1149, 5e-5),
    "shaft shear kN": (0.9394, 5e-5),
    "shaft moment kNm": (5.1638, 5e-5),
    "equipment moment kNm": (4.1102, 5e-5),
    "luminaire force kN": (0.2376, 5e-5),
    "shear kN": (1.4014, 5e-5),
    "moment kNm": (9.2740, 5e-5),
    "axial kN": (2.2417, 5e-5),
    "axial stress": (0.90, 0.005),
    "bending stress": (92.68, 0.005),
    "stress": (93.59, 0.005),
    "stress utilisation": (0.31, 0.005),
    "deflection mm": (121.0, 0.05),
    "deflection utilisation": (0.91, 0.005),
    "flat mm": (82.84, 0.005),
    "b/t": (16.57, 0.005),
    "b/t limit": (36.61, 0.005),
    "b/t utilisation": (0.45, 0.005),
}


@pytest.mark.parametrize("key", sorted(PRINTED))
def test_each_printed_number_of_the_worked_example_is_recomputed(key: str) -> None:
    value, tolerance = PRINTED[key]

    assert _by_hand()[key] == pytest.approx(value, abs=tolerance)


def _octagonal_pole() -> pole.PoleLoads:
    attachments = [
        pole.Attachment(
            name=name,
            mass=Quantity(kg, "kg"),
            area=Quantity(area, "m^2"),
            height=Quantity(z, "m"),
            shape_coefficient=1.3,
        )
        for name, kg, area, z in EQUIPMENT
    ]
    return pole.analyse_pole(
        _shaft(),
        attachments,
        terrain="C",
        w0=Quantity(W0, "kN/m^2"),
        first_frequency=Quantity(F1, "Hz"),
        air_density=wind.air_density(Quantity(1891, "m")),
    )


def test_the_calculator_gives_the_worked_example() -> None:
    hand = _by_hand()
    loads = _octagonal_pole()

    base = loads.base_section
    assert base.area.to("mm^2").magnitude == pytest.approx(hand["base area mm2"], rel=1e-9)
    assert base.modulus.to("cm^3").magnitude == pytest.approx(hand["base W cm3"], rel=1e-9)
    assert [s.force.to("kN").magnitude for s in loads.segments] == pytest.approx(
        hand["segment forces kN"], rel=1e-9
    )
    assert [s.second_moment.to("cm^4").magnitude for s in loads.segments] == pytest.approx(
        hand["segment I cm4"], rel=1e-9
    )
    assert loads.segments[-1].width.to("mm").magnitude == pytest.approx(
        hand["top segment width mm"], rel=1e-9
    )
    assert all(s.mu_s == MU_S for s in loads.segments)
    assert loads.base_shear.to("kN").magnitude == pytest.approx(hand["shear kN"], rel=1e-9)
    assert loads.base_moment.to("kN*m").magnitude == pytest.approx(hand["moment kNm"], rel=1e-9)
    assert loads.base_axial.to("kN").magnitude == pytest.approx(hand["axial kN"], rel=1e-9)
    assert loads.base_stress.to("N/mm^2").magnitude == pytest.approx(hand["stress"], rel=1e-9)
    assert loads.top_deflection.to("mm").magnitude == pytest.approx(hand["deflection mm"], rel=1e-9)
    checks = {c.name: c for c in loads.checks}
    assert set(checks) == {
        "base stress",
        "top deflection",
        "base b/t",
        "vortex v_cr",
        "top deflection, P-Δ",  # the whole pole's, docs/engineering/pole.md
    }
    assert checks["base b/t"].value.magnitude == pytest.approx(hand["b/t"], rel=1e-12)
    assert checks["base b/t"].limit.magnitude == pytest.approx(hand["b/t limit"], rel=1e-12)
    assert checks["base b/t"].verdict is pole.Verdict.PASS
    assert checks["vortex v_cr"].verdict is pole.Verdict.NOT_APPLICABLE


def test_a_flat_width_limit_can_be_given() -> None:
    # 16.57 ≤ 20·εk = 16.27 fails: the keyword reaches the check.
    loads = pole.analyse_pole(
        _shaft(),
        [],
        terrain="C",
        w0=Quantity(W0, "kN/m^2"),
        first_frequency=Quantity(F1, "Hz"),
        flat_width_limit_factor=20,
    )
    check = next(c for c in loads.checks if c.name == "base b/t")

    assert check.limit.magnitude == pytest.approx(20 * math.sqrt(235 / 355))
    assert check.verdict is pole.Verdict.FAIL


DOC = Path(__file__).parents[2] / "docs" / "engineering" / "polygonal.md"


def _decimals(tolerance: float) -> int:
    return round(-math.log10(2 * tolerance))


@pytest.mark.parametrize("key", sorted(PRINTED))
def test_each_recomputed_number_is_printed_in_the_document(key: str) -> None:
    value, tolerance = PRINTED[key]

    assert f"{value:.{_decimals(tolerance)}f}" in DOC.read_text(encoding="utf-8")


def _rows(first_cell: str) -> list[list[str]]:
    """Cells of the document's table rows whose first cell matches the pattern."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.strip().startswith("|") and re.fullmatch(first_cell, cells[0]):
            rows.append(cells)
    return rows


def _matches(printed: str, value: float) -> bool:
    decimals = len(printed.partition(".")[2])
    return abs(float(printed) - value) <= 0.5 * 10**-decimals + 1e-12


def test_the_segment_table_is_recomputed() -> None:
    rows = _rows(r"\d+–\d+")
    assert len(rows) == SEGMENTS
    hand = _by_hand()
    for i, (_, z, flats, width, area, second, beta, w_k, force) in enumerate(rows):
        zi = (i + 0.5) * H / SEGMENTS
        f = F_BASE + (F_TOP - F_BASE) * zi / H
        a, ixx, _ = _hollow(N_SIDES, f, T)
        expected = [
            (z, zi),
            (flats, f * 1e3),
            (width, f / math.cos(math.pi / N_SIDES) * 1e3),
            (area, a * 1e6),
            (second, ixx * 1e8),
            (beta, _beta_z(zi)),
            (w_k, _beta_z(zi) * MU_S * MU_Z * W0),
            (force, hand["segment forces kN"][i]),
        ]
        assert all(_matches(p, v) for p, v in expected), (rows[i], expected)


def test_the_attachment_table_is_recomputed() -> None:
    rows = _rows("|".join(re.escape(name) for name, *_ in EQUIPMENT))
    assert [r[0] for r in rows] == [name for name, *_ in EQUIPMENT]
    for (_, z, area, beta, w_k, force, moment), (_, _, a, height) in zip(
        rows, EQUIPMENT, strict=True
    ):
        pressure = _beta_z(height) * 1.3 * MU_Z * W0
        expected = [(z, height), (area, a), (beta, _beta_z(height)), (w_k, pressure)]
        expected += [(force, pressure * a), (moment, pressure * a * height)]
        assert all(_matches(p, v) for p, v in expected), expected


def test_the_deflection_table_is_recomputed() -> None:
    rows = _rows(r"\d+\.5")
    assert len(rows) == SEGMENTS
    hand = _by_hand()
    loads = [((i + 0.5) * H / SEGMENTS, f) for i, f in enumerate(hand["segment forces kN"])]
    loads += [(z, _beta_z(z) * 1.3 * MU_Z * W0 * a) for _, _, a, z in EQUIPMENT]
    total = 0.0
    for (z, moment, second, arm, term), i_cm4 in zip(rows, hand["segment I cm4"], strict=True):
        zi = float(z)
        m = sum(f * (zl - zi) for zl, f in loads if zl > zi)
        contribution = m * 1e3 * (H - zi) * (H / SEGMENTS) / (E * i_cm4 * 1e-8) * 1e3
        total += contribution
        expected = [(moment, m), (second, i_cm4), (arm, H - zi), (term, contribution)]
        assert all(_matches(p, v) for p, v in expected), expected
    assert total == pytest.approx(hand["deflection mm"], rel=1e-12)


def test_loads_prints_a_polygonal_pole_across_flats_with_the_wind_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ycsa_conform.cli import main
    from ycsa_conform.resources import data_dir

    # The fixture site beside links to what it names relative to itself.
    fixtures = data_dir("fixtures")
    (tmp_path / "sites").mkdir()
    for entry in [*fixtures.iterdir(), *(fixtures / "sites").iterdir()]:
        link = tmp_path / entry.relative_to(fixtures)
        if entry.name != "sites" and not link.exists():
            link.symlink_to(entry)
    text = (fixtures / "sites" / "kunming-main-road.yaml").read_text(encoding="utf-8")
    text = text.replace("../../benches/", f"{fixtures.parent / 'benches'}/")
    text = text.replace("base_diameter: 219 mm", "base_diameter: 200 mm")
    text = text.replace("top_diameter: 114 mm", "top_diameter: 100 mm")
    text = text.replace(
        "    design: &design\n",
        "    design: &design\n      section_shape: polygonal\n      sides: 8\n",
    )
    site = tmp_path / "sites" / "octagonal.yaml"
    site.write_text(text, encoding="utf-8")

    assert main(["loads", str(site), "--pole", "P001"]) == 0

    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("P001: 10 m Q355 8-sided tube 200→100×5.0 mm across flats, terrain C")
    assert out[1].split()[:5] == ["segment", "(m)", "z", "(m)", "b"]
    assert out[11].split()[2] == "113.7"  # top segment: b = 105 mm across flats / cos 22.5°
    assert any(line.split()[:2] == ["base", "b/t"] and "pass" in line for line in out)
