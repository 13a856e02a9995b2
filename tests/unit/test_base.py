"""Base plate and anchor bolts: the worked example of docs/engineering/base.md, recomputed.

The expected values are written out here from the hand formulas (bolt forces from explicit bolt
coordinates, not from the closed form the module uses), and each number the document prints is
looked up in it, so a changed document or a changed module both fail here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pint
import pytest
import yaml

from ycsa_conform.design import DESIGN_KEYS
from ycsa_conform.engineering import base, fatigue, foundation, pole, section, wind
from ycsa_conform.engineering.actions import Actions, Limit
from ycsa_conform.engineering.pole import SteelGrade, Verdict
from ycsa_conform.units import Quantity, parse_quantity

DOC = (Path(__file__).parents[2] / "docs" / "engineering" / "base.md").read_text(encoding="utf-8")

# --- the example pole, by hand ------------------------------------------------------------------
AREA = math.pi / 4 * (0.200**2 - 0.190**2)  # m²
N_G = (7850 * AREA * 8 + 15) * 9.80665 / 1000  # kN
V_K = 0.80 * 0.200 * 8 + 0.80 * 0.3  # kN
M_K = 0.80 * 0.200 * 8 * 4 + 0.80 * 0.3 * 8  # kN·m


def q(value: float, unit: str) -> pint.Quantity[Any]:
    return Quantity(value, unit)


def ultimate(*, dead: bool = True, axial: float | None = None) -> Actions:
    return Actions(
        combination="1.3G + 1.5W",
        limit=Limit.ULTIMATE,
        axial=q(1.3 * N_G if axial is None else axial, "kN"),
        shear=q(1.5 * V_K, "kN"),
        moment=q(1.5 * M_K, "kN*m"),
        dead_axial=q(N_G, "kN") if dead else None,
    )


def example() -> base.BaseConnection:
    return base.BaseConnection(
        plate=base.BasePlate(
            thickness=q(25, "mm"), width=q(360, "mm"), steel_grade=SteelGrade.Q235
        ),
        bolts=base.AnchorBolts(
            count=4, diameter=q(24, "mm"), circle_diameter=q(300, "mm"), grade=base.AnchorGrade.Q235
        ),
    )


SHAFT = section.circular_tube(q(200, "mm"), q(5, "mm"))


def by_name(checks: tuple[Any, ...]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_the_example_base_actions_are_those_printed() -> None:
    assert f"**N_G = 207.36 × 9.80665 = {N_G:.3f} kN**" in DOC
    assert f"**V_k = {V_K:.2f} kN, M_k = 1.28 × 4 + 0.24 × 8 = {M_K:.2f} kN·m.**" in DOC
    row = f"| 1.3G + 1.5W | ultimate | {1.3 * N_G:.3f} | {1.5 * V_K:.2f} | {1.5 * M_K:.2f} |"
    assert row in DOC


@pytest.mark.parametrize(("size", "expected"), [(20, 244.8), (24, 352.5), (30, 560.6), (36, 816.7)])
def test_stress_area_matches_the_iso_table(size: int, expected: float) -> None:
    # ISO 898-1 tables: M20 245, M24 353, M30 561, M36 817 mm² (rounded).
    assert base.stress_area(q(size, "mm")).to("mm^2").magnitude == pytest.approx(expected, abs=0.1)


def test_bolt_forces_from_explicit_coordinates() -> None:
    """Σ F_i = −N and Σ F_i·y_i = M with y_i read off the bolts' positions; one side pulls."""
    actions = ultimate(dead=False)
    forces = [f.to("kN").magnitude for f in base.bolt_forces(actions, example().bolts)]
    r = 0.150
    ys = [r * math.cos(2 * math.pi * i / 4) for i in range(4)]  # bolt 0 on the tension side
    # The elastic group: F_i = −N/n + M·y_i/Σy², Σy² summed here, not n·D_b²/8.
    sum_y2 = sum(y * y for y in ys)
    expected = [-1.3 * N_G / 4 + 1.5 * M_K * y / sum_y2 for y in ys]
    assert forces == pytest.approx(expected, abs=1e-9)
    assert sum(forces) == pytest.approx(-1.3 * N_G)
    assert sum(f * y for f, y in zip(forces, ys, strict=True)) == pytest.approx(1.5 * M_K)
    assert forces[0] > 0 > forces[2]  # tension on one side only
    assert forces[1] == pytest.approx(forces[3]) == pytest.approx(-0.661, abs=5e-4)
    assert "bolt 0 (φ = 0°) 35.20 − 2.644/4 = 34.54 kN" in DOC
    assert f"{forces[0]:.2f}" == "34.54"
    assert f"{forces[2]:.2f}" == "-35.86"


@pytest.mark.parametrize("count", [6, 8, 12])
def test_the_worst_wind_direction_puts_a_bolt_on_the_axis(count: int) -> None:
    """Σy² is n·D_b²/8 in every direction; the tension is largest with a bolt at y = D_b/2."""
    bolts = base.AnchorBolts(
        count=count, diameter=q(24, "mm"), circle_diameter=q(400, "mm"), grade="Q355"
    )
    forces = [f.magnitude for f in base.bolt_forces(ultimate(dead=False), bolts)]
    for turn in (0.1, 0.25, 0.5):  # wind turned by a fraction of the bolt spacing
        angles = [2 * math.pi * (i + turn) / count for i in range(count)]
        ys = [0.2 * math.cos(a) for a in angles]
        sum_y2 = sum(y * y for y in ys)
        assert sum_y2 == pytest.approx(count * 0.4**2 / 8)
        turned = max(-1.3 * N_G / count + 1.5 * M_K * y / sum_y2 for y in ys)
        assert turned <= max(forces) + 1e-12


def test_the_worked_example_bolts_and_plate() -> None:
    checks = by_name(base.check_base(ultimate(), example(), SHAFT))
    a_s = math.pi / 4 * (24 - 0.9382 * 3) ** 2
    tension = 4 * 1.5 * M_K / (4 * 0.300) - N_G / 4  # relieved by the dead load alone
    t_cap = a_s * 140 / 1000
    shear = 1.5 * V_K / 4
    v_cap = a_s * 140 * 140 / 170 / 1000
    compression = 4 * 1.5 * M_K / (4 * 0.300) + 1.3 * N_G / 4
    sigma = 6 * compression * 1000 * 50 / (min(math.pi * 300 / 4, 100) * 25**2)

    t = checks["anchor bolt tension"]
    assert t.value.to("kN").magnitude == pytest.approx(tension)
    assert t.limit.to("kN").magnitude == pytest.approx(t_cap)
    assert t.utilisation == pytest.approx(tension / t_cap)
    v = checks["anchor bolt shear"]
    assert v.value.to("kN").magnitude == pytest.approx(shear)
    assert v.utilisation == pytest.approx(shear / v_cap)
    both = checks["anchor bolt tension + shear"]
    assert both.utilisation == pytest.approx(math.hypot(tension / t_cap, shear / v_cap))
    plate = checks["base plate bending"]
    assert plate.value.to("N/mm^2").magnitude == pytest.approx(sigma)
    assert plate.limit.to("N/mm^2").magnitude == 205
    assert all(c.verdict is Verdict.PASS for c in checks.values())

    printed = [
        f"**{a_s:.1f} mm²**",
        f"tension N_t = 35.20 − 2.034/4 = **{tension:.2f} kN** ≤ N_t^b = 352.5 × 140 = "
        f"{t_cap:.2f} kN → **{tension / t_cap:.3f}**",
        f"shear N_v = 2.28/4 = **{shear:.2f} kN** ≤ N_v^b = 352.5 × 115.29 = {v_cap:.2f} kN → "
        f"**{shear / v_cap:.3f}**",
        f"= **{math.hypot(tension / t_cap, shear / v_cap):.4f}**",
        f"**{sigma:.1f} N/mm²** ≤ f = 205 N/mm² (Q235, 16 < t ≤ 40) →\n**{sigma / 205:.3f}**",
    ]
    for text in printed:
        assert text in DOC, text


def test_the_worked_example_weld() -> None:
    welded = base.BaseConnection(plate=example().plate, bolts=example().bolts, weld_size=q(8, "mm"))
    weld = by_name(base.check_base(ultimate(), welded, SHAFT))["base weld"]
    throat = 0.7 * 8
    # The ring's A and W from its inner and outer radius, not the thin-ring formulas.
    outer, inner = 100 + throat / 2, 100 - throat / 2
    area = math.pi * (outer**2 - inner**2)
    modulus = math.pi / 4 * (outer**4 - inner**4) / 100  # I/r at the mid-throat radius
    sigma = 1.3 * N_G * 1000 / area + 1.5 * M_K * 1e6 / modulus
    tau = 2 * 1.5 * V_K * 1000 / area
    stress = math.hypot(sigma / 1.22, tau)
    # The thin ring differs from the thick one by (h_e/D)² terms: 0.1 % here.
    assert weld.value.to("N/mm^2").magnitude == pytest.approx(stress, rel=2e-3)
    assert weld.limit.to("N/mm^2").magnitude == 160
    assert weld.verdict is Verdict.PASS
    value = weld.value.to("N/mm^2").magnitude
    assert f"= **{value:.2f} N/mm²** ≤ 160 →\n**{value / 160:.3f}**" in DOC
    without = by_name(base.check_base(ultimate(), example(), SHAFT))
    assert "base weld" not in without  # no weld size, no row


def test_a_thinner_plate_fails_as_the_document_says() -> None:
    thin = base.BaseConnection(
        plate=base.BasePlate(
            thickness=q(20, "mm"), width=q(360, "mm"), steel_grade=SteelGrade.Q235
        ),
        bolts=example().bolts,
    )
    plate = by_name(base.check_base(ultimate(), thin, SHAFT))["base plate bending"]
    assert plate.verdict is Verdict.FAIL
    assert f"{plate.value.to('N/mm^2').magnitude:.1f} N/mm²" == "269.0 N/mm²"
    assert "(At 20 mm the plate would fail: 269.0 N/mm².)" in DOC


def test_dead_load_relieves_the_bolts_not_the_factored_load() -> None:
    with_dead = by_name(base.check_base(ultimate(), example(), SHAFT))["anchor bolt tension"]
    without = by_name(base.check_base(ultimate(dead=False), example(), SHAFT))
    difference = with_dead.value - without["anchor bolt tension"].value
    assert difference.to("kN").magnitude == pytest.approx(0.3 * N_G / 4)


def test_no_bolt_in_tension_under_a_heavy_pole() -> None:
    heavy = ultimate(dead=False, axial=500)
    assert max(f.magnitude for f in base.bolt_forces(heavy, example().bolts)) < 0
    tension = by_name(base.check_base(heavy, example(), SHAFT))["anchor bolt tension"]
    assert tension.value.magnitude == 0
    assert tension.utilisation == 0
    assert tension.verdict is Verdict.PASS


def test_bolt_grades_change_the_capacity() -> None:
    def capacity(grade: str) -> float:
        bolts = base.AnchorBolts(
            count=4,
            diameter=q(24, "mm"),
            circle_diameter=q(300, "mm"),
            grade=base.AnchorGrade(grade),
        )
        conn = base.BaseConnection(plate=example().plate, bolts=bolts)
        limit = by_name(base.check_base(ultimate(), conn, SHAFT))["anchor bolt tension"].limit
        return float(limit.to("kN").magnitude)

    a_s = math.pi / 4 * (24 - 0.9382 * 3) ** 2 / 1000
    assert capacity("Q235") == pytest.approx(a_s * 140)
    assert capacity("Q355") == pytest.approx(a_s * 180)
    assert capacity("4.6") == pytest.approx(a_s * 170)
    assert capacity("8.8") == pytest.approx(a_s * 400)


@pytest.mark.parametrize(
    ("grade", "thickness", "f"),
    [("Q235", 16, 215), ("Q235", 25, 205), ("Q235", 50, 200), ("Q355", 16, 305), ("Q355", 30, 295),
     ("Q355", 63, 290), ("Q355", 70, 280)],
)  # fmt: skip
def test_plate_strength_by_thickness_band(grade: str, thickness: float, f: float) -> None:
    value = base.plate_design_strength(SteelGrade(grade), q(thickness, "mm"))
    assert value.to("N/mm^2").magnitude == f


def test_characteristic_actions_are_refused() -> None:
    actions = Actions(
        combination="G + W",
        limit=Limit.CHARACTERISTIC,
        axial=q(N_G, "kN"),
        shear=q(V_K, "kN"),
        moment=q(M_K, "kN*m"),
    )
    with pytest.raises(ValueError, match="ultimate actions, not characteristic"):
        base.check_base(actions, example(), SHAFT)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 3}, "at least 4"),
        ({"count": 4.0}, "whole number"),
        ({"diameter": q(25, "mm")}, "no coarse pitch known for a 25 mm bolt"),
        ({"circle_diameter": q(20, "mm")}, "must exceed the bolt diameter"),
        ({"grade": "10.9"}, "'10.9' is not a valid AnchorGrade"),
    ],
)
def test_invalid_bolts_are_refused(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "count": 4,
        "diameter": q(24, "mm"),
        "circle_diameter": q(300, "mm"),
        "grade": "Q235",
    }
    with pytest.raises(ValueError, match=message):
        base.AnchorBolts(**{**args, **kwargs})


def test_a_bolt_circle_that_does_not_fit_is_refused() -> None:
    with pytest.raises(ValueError, match=r"300 mm with 24 mm bolts does not fit on a 320 mm plate"):
        base.BaseConnection(
            plate=base.BasePlate(thickness=q(25, "mm"), width=q(320, "mm"), steel_grade="Q235"),
            bolts=example().bolts,
        )
    with pytest.raises(ValueError, match="inside the shaft"):
        base.check_base(ultimate(), example(), section.circular_tube(q(320, "mm"), q(6, "mm")))
    with pytest.raises(ValueError, match="above 100 mm"):
        base.BasePlate(thickness=q(120, "mm"), width=q(500, "mm"), steel_grade=SteelGrade.Q235)


def test_from_design_declared_whole_in_part_or_not_at_all() -> None:
    assert base.from_design({"height": q(10, "m")}) is None
    design: dict[str, object] = {
        "base_plate_thickness": q(25, "mm"),
        "base_plate_width": q(360, "mm"),
        "anchor_bolt_count": 4.0,  # the site loader gives numbers as floats
        "anchor_bolt_diameter": q(24, "mm"),
        "anchor_bolt_circle_diameter": q(300, "mm"),
        "anchor_bolt_grade": "Q235",
        "steel_grade": "Q235",
    }
    assert base.from_design(design) == example()
    partial = {
        k: v for k, v in design.items() if k not in ("anchor_bolt_count", "anchor_bolt_grade")
    }
    with pytest.raises(ValueError, match="lacks anchor_bolt_count, anchor_bolt_grade; give all of"):
        base.from_design(partial)
    no_steel = {k: v for k, v in design.items() if k != "steel_grade"}
    with pytest.raises(ValueError, match="give base_plate_grade"):
        base.from_design(no_steel)


def test_the_bench_pole_passes_at_its_base() -> None:
    """benches/smart-pole.site.yaml declares a base, a pad and fatigue data that all pass."""
    bench = Path(__file__).parents[2] / "benches" / "smart-pole.site.yaml"
    raw = yaml.safe_load(bench.read_text(encoding="utf-8"))["targets"][0]["design"]
    design: dict[str, object] = {}
    for key, value in raw.items():
        if key == "equipment":
            continue
        unit = DESIGN_KEYS[key].unit
        design[key] = (
            str(value)
            if unit in ("text", "file")
            else float(value)
            if unit == ""
            else parse_quantity(str(value))
        )
    shaft = pole.PoleShaft(
        height=q(10, "m"),
        base_diameter=q(219, "mm"),
        top_diameter=q(114, "mm"),
        wall_thickness=q(5, "mm"),
        steel_grade=SteelGrade.Q355,
    )
    attachments = [
        pole.Attachment(
            name=e["name"],
            mass=parse_quantity(e["mass"]),
            area=parse_quantity(e["area"]),
            height=parse_quantity(e["height"]),
            shape_coefficient=1.3,
        )
        for e in raw["equipment"]
    ]
    loads = pole.analyse_pole(
        shaft,
        attachments,
        terrain=str(design["terrain_category"]),
        w0=parse_quantity(str(raw["basic_wind_pressure"])),
        air_density=wind.air_density(q(1891, "m")),
    )
    n_g = loads.base_axial
    factored = Actions(
        combination="1.3G + 1.5W",
        limit=Limit.ULTIMATE,
        axial=1.3 * n_g,
        shear=1.5 * loads.base_shear,
        moment=1.5 * loads.base_moment,
        dead_axial=n_g,
    )
    unfactored = Actions(
        combination="G + W",
        limit=Limit.CHARACTERISTIC,
        axial=n_g,
        shear=loads.base_shear,
        moment=loads.base_moment,
        dead_axial=n_g,
    )
    connection = base.from_design(design)
    ground = foundation.from_design(design)
    fatigue_data = fatigue.from_design(design)
    assert connection is not None
    assert ground is not None
    assert fatigue_data is not None
    checks = (
        *base.check_base(factored, connection, loads.base_section),
        *foundation.check_foundation(unfactored, ground),
        *fatigue.check_fatigue(loads, fatigue_data, connection.bolts),
    )
    assert len(checks) == 13
    assert [c.name for c in checks if c.verdict is not Verdict.PASS] == []


def test_the_weld_in_pure_shear_takes_the_thin_ring_peak() -> None:
    shear_only = Actions(
        combination="V",
        limit=Limit.ULTIMATE,
        axial=q(0, "kN"),
        shear=q(100, "kN"),
        moment=q(0, "kN*m"),
    )
    weld = base.base_weld_check(shear_only, SHAFT, q(8, "mm"), SteelGrade.Q355)
    # τ_max = 2V/A of a thin ring (the centroidal Q·V/(I·2t) of a tube: V·(2r²t)/(πr³t·2t)).
    assert weld.value.to("N/mm^2").magnitude == pytest.approx(2 * 100e3 / (math.pi * 200 * 5.6))
    assert weld.limit.to("N/mm^2").magnitude == 200  # E50 with Q355
