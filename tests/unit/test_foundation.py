"""Pad and pile foundations: docs/engineering/base.md's example recomputed, and the edge cases.

The pad's pressures are checked against a direct integration of the linear pressure block over
the contact length; Broms' capacities against the equilibrium of the pile written out here (sum
of moments about the toe in sand, the two expressions for the maximum moment in clay).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pint
import pytest

from ycsa_conform.engineering import base, fatigue, foundation
from ycsa_conform.engineering.actions import Actions, Limit
from ycsa_conform.engineering.pole import Verdict
from ycsa_conform.site import load_site
from ycsa_conform.units import Quantity

DOC = (Path(__file__).parents[2] / "docs" / "engineering" / "base.md").read_text(encoding="utf-8")

AREA = math.pi / 4 * (0.200**2 - 0.190**2)
N_G = (7850 * AREA * 8 + 15) * 9.80665 / 1000  # kN, the example pole
V_K, M_K = 1.52, 7.04  # kN, kN·m


def q(value: float, unit: str) -> pint.Quantity[Any]:
    return Quantity(value, unit)


def characteristic(*, axial: float = N_G, shear: float = V_K, moment: float = M_K) -> Actions:
    return Actions(
        combination="G + W",
        limit=Limit.CHARACTERISTIC,
        axial=q(axial, "kN"),
        shear=q(shear, "kN"),
        moment=q(moment, "kN*m"),
        dead_axial=q(axial, "kN"),
    )


def pad(depth: float = 1.5, width: float = 1.0) -> foundation.PadFoundation:
    return foundation.PadFoundation(width=q(width, "m"), length=q(width, "m"), depth=q(depth, "m"))


SOIL = foundation.Soil(unit_weight=q(18, "kN/m^3"), bearing_capacity=q(120, "kPa"))


def by_name(checks: tuple[Any, ...]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def _resultant(p_edge: float, contact: float, length: float) -> tuple[float, float]:
    """Force and its distance from the loaded edge of a triangular/trapezoid-free block:
    a linear pressure from p_edge to 0 over `contact`, integrated in 10 000 strips."""
    steps = 10_000
    dx = contact / steps
    force = moment = 0.0
    for i in range(steps):
        x = (i + 0.5) * dx
        p = p_edge * (1 - x / contact)
        force += p * dx * length
        moment += p * dx * length * x
    return force, moment / force


def test_the_worked_example_pad() -> None:
    checks = by_name(foundation.check_pad(characteristic(), pad(), SOIL))
    g = 20 * 1.0 * 1.0 * 1.5
    n = N_G + g
    m_f = M_K + V_K * 1.5
    e = m_f / n
    assert e > 1.0 / 6  # the base lifts
    a = 0.5 - e
    p_max = 2 * n / (3 * 1.0 * a)
    # Independent: the triangle of length 3a with p_max at the edge carries N + G at e from
    # the centre, i.e. a from the edge.
    force, lever = _resultant(p_max, 3 * a, 1.0)
    assert force == pytest.approx(n, rel=1e-6)
    assert lever == pytest.approx(a, rel=1e-6)

    mean = checks["foundation mean bearing pressure"]
    assert mean.value.to("kPa").magnitude == pytest.approx(n / 1.0)
    edge = checks["foundation edge bearing pressure"]
    assert edge.value.to("kPa").magnitude == pytest.approx(p_max)
    assert edge.limit.to("kPa").magnitude == pytest.approx(144)
    overturning = checks["foundation overturning"]
    assert overturning.value.magnitude == pytest.approx(n * 0.5 / m_f)
    assert overturning.utilisation == pytest.approx(1.5 / (n * 0.5 / m_f))
    sliding = checks["foundation sliding"]
    assert sliding.value.magnitude == pytest.approx(0.30 * n / V_K)
    assert all(c.verdict is Verdict.PASS for c in checks.values())

    printed = [
        f"N + G = {n:.2f} kN; p_k = **{n:.2f} kPa** ≤ 120 → {n / 120:.3f}",
        f"M_f = 7.04 + 1.52 × 1.5 = **{m_f:.2f} kN·m**; e = 9.32/32.03 = **{e:.3f} m**",
        f"a = 0.5 − 0.291 = {a:.3f} m, contact {3 * a:.3f} m",
        f"= **{p_max:.1f} kPa** ≤ 1.2 × 120 = 144 → **{p_max / 144:.3f}**",
        f"K = (2.034 + 30.0) × 0.5/9.32 = **{n * 0.5 / m_f:.3f}** ≥ 1.5 → "
        f"{1.5 / (n * 0.5 / m_f):.3f}",
        f"K = 0.30 × 32.03/1.52 = **{0.30 * n / V_K:.2f}** ≥ 1.5 → {1.5 / (0.30 * n / V_K):.3f}",
    ]
    for text in printed:
        assert text in DOC, text


def test_a_shallower_pad_overturns_as_the_document_says() -> None:
    checks = by_name(foundation.check_pad(characteristic(), pad(depth=1.2), SOIL))
    k = (N_G + 24.0) * 0.5 / (M_K + V_K * 1.2)
    assert checks["foundation overturning"].value.magnitude == pytest.approx(k)
    assert checks["foundation overturning"].verdict is Verdict.FAIL
    assert f"(At 1.2 m deep,\n  K = {k:.3f}: fails.)" in DOC


def test_full_contact_when_e_is_within_the_middle_third() -> None:
    actions = characteristic(axial=100, shear=0, moment=10)
    pressure = foundation.pad_pressure(actions, pad())
    n = 100 + 30.0
    e = 10 / n
    assert e <= 1 / 6
    assert not pressure.lifts
    assert pressure.maximum is not None
    # N/A + M/W with W = b²·l/6, written the other way round from the module's (1 + 6e/b).
    assert pressure.maximum.to("kPa").magnitude == pytest.approx(n / 1.0 + 10 / (1.0 / 6))


def test_the_resultant_outside_the_pad_fails_without_a_utilisation() -> None:
    actions = characteristic(axial=1, shear=1, moment=40)
    edge = by_name(foundation.check_pad(actions, pad(), SOIL))["foundation edge bearing pressure"]
    assert edge.verdict is Verdict.FAIL
    assert edge.utilisation is None
    assert "outside the pad" in edge.basis


def test_net_uplift_and_wrong_limit_are_refused() -> None:
    with pytest.raises(ValueError, match="net uplift on the pad"):
        foundation.pad_pressure(characteristic(axial=-100), pad())
    ultimate = Actions(
        combination="1.3G + 1.5W",
        limit=Limit.ULTIMATE,
        axial=q(2, "kN"),
        shear=q(2, "kN"),
        moment=q(10, "kN*m"),
    )
    with pytest.raises(ValueError, match="characteristic actions, not ultimate"):
        foundation.check_pad(ultimate, pad(), SOIL)


def test_broms_in_sand_balances_moments_about_the_toe() -> None:
    pile = foundation.BoredPile(diameter=q(0.6, "m"), length=q(2.0, "m"))
    sand = foundation.Soil(
        unit_weight=q(18, "kN/m^3"),
        type=foundation.SoilType.COHESIONLESS,
        friction_angle=q(30, "degree"),
    )
    (check,) = foundation.check_pile(characteristic(), pile, sand)
    h_u = check.limit.to("kN").magnitude
    e = M_K / V_K
    kp = (1 + math.sin(math.radians(30))) / (1 - math.sin(math.radians(30)))
    assert kp == pytest.approx(3.0)
    # Σ moments about the toe: H·(e + L) = ∫ 3·Kp·γ·z·D·(L − z) dz, integrated in strips.
    steps, length = 10_000, 2.0
    dz = length / steps
    resisting = sum(
        3 * kp * 18 * ((i + 0.5) * dz) * 0.6 * (length - (i + 0.5) * dz) * dz for i in range(steps)
    )
    assert h_u * (e + length) == pytest.approx(resisting, rel=1e-6)
    assert check.value.to("kN").magnitude == pytest.approx(1.5 * V_K)
    assert (
        f"129.6/6.632 = **{h_u:.2f} kN**; K·V = 1.5 × 1.52 = 2.28 kN → **{1.5 * V_K / h_u:.3f}**"
        in DOC
    )


def test_broms_in_clay_gives_the_same_maximum_moment_both_ways() -> None:
    pile = foundation.BoredPile(diameter=q(0.6, "m"), length=q(2.0, "m"))
    clay = foundation.Soil(
        unit_weight=q(18, "kN/m^3"), type="cohesive", undrained_shear_strength=q(50, "kPa")
    )
    (check,) = foundation.check_pile(characteristic(), pile, clay)
    h_u = check.limit.to("kN").magnitude
    d, e = 0.6, M_K / V_K
    f = h_u / (9 * 50 * d)
    g = 2.0 - 1.5 * d - f
    # Broms: M_max = H(e + 1.5D + f/2) from above, = 2.25·D·g²·c_u from the soil below.
    assert h_u * (e + 1.5 * d + f / 2) == pytest.approx(2.25 * d * g * g * 50)
    assert (
        f"= **{f:.4f} m**; H_u = 9 × 50 × 0.6 × {f:.4f} =\n"
        f"  **{h_u:.2f} kN** → **{1.5 * V_K / h_u:.3f}**" in DOC
    )


def test_a_pile_needs_its_soil_data() -> None:
    pile = foundation.BoredPile(diameter=q(0.6, "m"), length=q(2.0, "m"))
    with pytest.raises(ValueError, match="needs soil_type"):
        foundation.check_pile(characteristic(), pile, foundation.Soil(unit_weight=q(18, "kN/m^3")))
    with pytest.raises(ValueError, match="needs soil_undrained_shear_strength"):
        foundation.check_pile(
            characteristic(), pile, foundation.Soil(unit_weight=q(18, "kN/m^3"), type="cohesive")
        )
    with pytest.raises(ValueError, match="no shear"):
        foundation.check_pile(characteristic(shear=0), pile, SOIL)
    with pytest.raises(ValueError, match=r"must exceed 1\.5 × its diameter"):
        foundation.BoredPile(diameter=q(1.0, "m"), length=q(1.2, "m"))
    with pytest.raises(ValueError, match="must be between 0 and 50°"):
        foundation.Soil(unit_weight=q(18, "kN/m^3"), friction_angle=q(60, "degree"))


def test_from_design() -> None:
    assert foundation.from_design({"height": q(10, "m")}) is None
    design: dict[str, object] = {
        "foundation_type": "pad",
        "foundation_width": q(1.0, "m"),
        "foundation_depth": q(1.5, "m"),
        "soil_bearing_capacity": q(120, "kPa"),
        "soil_unit_weight": q(18, "kN/m^3"),
    }
    built = foundation.from_design(design)
    assert built is not None
    assert built.foundation == pad()
    assert built.soil == SOIL
    with pytest.raises(ValueError, match="lacks soil_bearing_capacity"):
        foundation.from_design({k: v for k, v in design.items() if k != "soil_bearing_capacity"})
    with pytest.raises(ValueError, match="no foundation_type"):
        foundation.from_design({k: v for k, v in design.items() if k != "foundation_type"})
    pile = {
        "foundation_type": "pile",
        "pile_diameter": q(0.6, "m"),
        "pile_length": q(2.0, "m"),
        "soil_type": "cohesionless",
        "soil_unit_weight": q(18, "kN/m^3"),
    }
    with pytest.raises(ValueError, match="needs soil_friction_angle"):
        foundation.from_design(pile)
    built = foundation.from_design({**pile, "soil_friction_angle": q(30, "degree")})
    assert built is not None
    assert isinstance(built.foundation, foundation.BoredPile)


def test_a_rectangular_pad_is_bent_along_its_shorter_side() -> None:
    long_way = foundation.PadFoundation(width=q(2.0, "m"), length=q(1.0, "m"), depth=q(1.5, "m"))
    short_way = foundation.PadFoundation(width=q(1.0, "m"), length=q(2.0, "m"), depth=q(1.5, "m"))
    a = by_name(foundation.check_pad(characteristic(), long_way, SOIL))
    b = by_name(foundation.check_pad(characteristic(), short_way, SOIL))
    n = N_G + 20 * 2.0 * 1.5
    m_f = M_K + V_K * 1.5
    for checks in (a, b):
        # b = 1.0 m: K = (N_G + G)·0.5/M_f, not ·1.0.
        assert checks["foundation overturning"].value.magnitude == pytest.approx(n * 0.5 / m_f)


def test_a_site_file_declares_the_base_and_the_foundation(tmp_path: Path) -> None:
    """The keys pass the site schema and loader and come out as the modules read them."""
    site = tmp_path / "site.yaml"
    site.write_text(
        "site: s\nkind: field\ntargets:\n  - id: P1\n    kind: pole\n    design:\n"
        "      steel_grade: Q235\n      base_plate_thickness: 25 mm\n"
        "      base_plate_width: 360 mm\n      anchor_bolt_count: 4\n"
        "      anchor_bolt_diameter: 24 mm\n      anchor_bolt_circle_diameter: 300 mm\n"
        "      anchor_bolt_grade: 8.8\n      foundation_type: pile\n"
        "      pile_diameter: 0.6 m\n      pile_length: 2 m\n      soil_type: cohesive\n"
        "      soil_unit_weight: 18 kN/m^3\n      soil_undrained_shear_strength: 50 kPa\n"
        "      weld_detail_category: EN 71\n",
        encoding="utf-8",
    )
    (target,) = load_site(site).targets
    connection = base.from_design(target.design)
    assert connection is not None
    assert connection.bolts.grade is base.AnchorGrade.BOLT_8_8  # YAML's 8.8 is a number
    built = foundation.from_design(target.design)
    assert built is not None
    assert built.foundation == foundation.BoredPile(diameter=q(0.6, "m"), length=q(2, "m"))
    assert built.soil.undrained_shear_strength == q(50, "kPa")
    assert fatigue.from_design(target.design) == fatigue.FatigueDesign(weld_category="EN 71")
