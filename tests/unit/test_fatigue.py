"""Fatigue of the base weld and anchor bolts: docs/engineering/fatigue.md's example recomputed.

The pole's loads are built here by hand (two 4 m segments and a luminaire), not by
`analyse_pole`, so the example's inputs are exactly those printed; the stress ranges are then
written out from the document's formulas and unit conversions (psf, mph, ksi) done here.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pint
import pytest

from ycsa_conform.engineering import base, fatigue, section
from ycsa_conform.engineering.pole import AttachmentLoad, PoleLoads, SegmentLoad, Verdict
from ycsa_conform.units import Quantity

DOC = (Path(__file__).parents[2] / "docs" / "engineering" / "fatigue.md").read_text(
    encoding="utf-8"
)
PA_PER_PSF = 47.880259
MPS_PER_MPH = 0.44704
MPA_PER_KSI = 6.894757


def q(value: float, unit: str) -> pint.Quantity[Any]:
    return Quantity(value, unit)


def segment(bottom: float, top: float) -> SegmentLoad:
    z = (bottom + top) / 2
    return SegmentLoad(
        bottom=q(bottom, "m"),
        top=q(top, "m"),
        z=q(z, "m"),
        diameter=q(200, "mm"),
        width=q(200, "mm"),
        mu_z=0.65,
        mu_s=0.6,
        beta_z=1.0,
        pressure=q(0, "kN/m^2"),  # not used by the fatigue check
        force=q(0, "kN"),
        second_moment=q(0, "cm^4"),
        mass=q(0, "kg"),
    )


def loads(
    *, shape_section: section.Section | None = None, v_cr: float = 2.0, v_h: float = 20.0
) -> PoleLoads:
    tube = shape_section or section.circular_tube(q(200, "mm"), q(5, "mm"))
    return PoleLoads(
        w0=q(0.35, "kN/m^2"),
        terrain="C",
        first_frequency=q(2.0, "Hz"),
        frequency_estimated=False,
        segments=(segment(0, 4), segment(4, 8)),
        attachments=(
            AttachmentLoad(
                name="luminaire",
                z=q(8, "m"),
                area=q(0.3, "m^2"),
                mu_z=0.65,
                mu_s=1.3,
                beta_z=1.0,
                pressure=q(0, "kN/m^2"),
                force=q(0, "kN"),
                moment=q(0, "kN*m"),
            ),
        ),
        base_shear=q(0, "kN"),
        base_moment=q(0, "kN*m"),
        base_axial=q(0, "kN"),
        base_section=tube,
        base_stress=q(0, "N/mm^2"),
        top_deflection=q(0, "mm"),
        critical_wind_speed=q(v_cr, "m/s"),
        top_wind_speed=q(v_h, "m/s"),
        reynolds=69000 * v_cr * 0.200,
        checks=(),
    )


BOLTS = base.AnchorBolts(
    count=4, diameter=q(24, "mm"), circle_diameter=q(300, "mm"), grade=base.AnchorGrade.Q235
)
W = math.pi * (0.200**4 - 0.190**4) / (32 * 0.200)  # m³
A_S = math.pi / 4 * (24 - 0.9382 * 3) ** 2  # mm²
E_PRIME = 2.6 * MPA_PER_KSI
D_CAT = 7.0 * MPA_PER_KSI


def by_name(checks: tuple[Any, ...]) -> dict[str, Any]:
    return {c.name: c for c in checks}


def test_the_worked_example_gust() -> None:
    checks = by_name(fatigue.check_fatigue(loads(), fatigue.FatigueDesign(), BOLTS))
    moment = 250 * 0.6 * 0.200 * 4 * (2 + 6) + 250 * 1.3 * 0.3 * 8  # N·m
    weld = moment / W / 1e6
    bolt = 4 * moment / (4 * 0.300) / A_S
    assert checks["base weld fatigue (gust)"].value.to("N/mm^2").magnitude == pytest.approx(weld)
    assert checks["base weld fatigue (gust)"].limit.to("N/mm^2").magnitude == pytest.approx(E_PRIME)
    assert checks["anchor bolt fatigue (gust)"].value.to("N/mm^2").magnitude == pytest.approx(bolt)
    assert checks["anchor bolt fatigue (gust)"].utilisation == pytest.approx(bolt / D_CAT)
    for text in (
        f"W = π·(0.200⁴ − 0.190⁴)/(32 × 0.200) = **{W * 1e6:.2f} cm³**",
        f"97.5 × 8 = **{moment / 1000:.3f} kN·m**",
        f"= **{weld:.2f} N/mm²** ≤ E' 2.6 ksi = {E_PRIME:.2f} N/mm² → **{weld / E_PRIME:.3f}**",
        f"Δσ = 5800/352.5 = **{bolt:.2f} N/mm²** ≤ D 7 ksi =\n  {D_CAT:.2f} N/mm² → "
        f"**{bolt / D_CAT:.3f}**",
    ):
        assert text in DOC, text


def test_the_worked_example_vortex() -> None:
    checks = by_name(fatigue.check_fatigue(loads(), fatigue.FatigueDesign(), BOLTS))
    k = 0.00118 * PA_PER_PSF / MPS_PER_MPH**2  # psf/mph² → Pa·s²/m²
    v_c = 0.200 * 2.0 / 0.18
    p_vs = k * v_c**2 * 1.0 / (2 * 0.005)
    moment = p_vs * 0.6 * 0.200 * 4 * (2 + 6)  # N·m, shaft only
    weld = moment / W / 1e6
    bolt = 4 * moment / (4 * 0.300) / A_S
    vortex_weld = checks["base weld fatigue (vortex)"]
    assert vortex_weld.value.to("N/mm^2").magnitude == pytest.approx(weld)
    assert vortex_weld.utilisation == pytest.approx(weld / E_PRIME)
    assert checks["anchor bolt fatigue (vortex)"].value.to("N/mm^2").magnitude == pytest.approx(
        bolt
    )
    for text in (
        f"k = 0.00118 psf/(mph)² = {k:.4f} Pa·s²/m²",
        f"V_c = 2.0 × 0.2/0.18 = {v_c:.3f} m/s",
        f"= **{p_vs:.1f} Pa**",
        f"ΔM = 67.0 × (2 + 6) = **{moment / 1000:.3f} kN·m**",
        f"Weld: Δσ = **{weld:.2f} N/mm²** → {weld / E_PRIME:.3f}",
        f"= **{bolt:.2f} N/mm²** →\n  {bolt / D_CAT:.3f}",
    ):
        assert text in DOC, text


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"v_cr": 25.0}, "v_cr above v_H"),
        ({"v_cr": 2.0, "v_h": 1.5}, "v_H below v_cr"),
        ({"shape_section": section.polygonal_tube(8, q(200, "mm"), q(5, "mm"))}, "polygonal"),
    ],
)
def test_vortex_is_not_applicable_outside_the_sub_critical_condition(
    kwargs: dict[str, Any], why: str
) -> None:
    checks = by_name(fatigue.check_fatigue(loads(**kwargs), fatigue.FatigueDesign(), BOLTS))
    for name in ("base weld fatigue (vortex)", "anchor bolt fatigue (vortex)"):
        assert checks[name].verdict is Verdict.NOT_APPLICABLE, why
        assert checks[name].utilisation is None
    assert checks["base weld fatigue (gust)"].verdict is not Verdict.NOT_APPLICABLE
    if "shape_section" in kwargs:
        assert "polygonal shaft: check by hand" in checks["base weld fatigue (vortex)"].basis


def test_high_reynolds_number_is_not_sub_critical() -> None:
    high = dataclasses.replace(loads(), reynolds=3e5)
    vortex = by_name(fatigue.check_fatigue(high, fatigue.FatigueDesign()))
    assert vortex["base weld fatigue (vortex)"].verdict is Verdict.NOT_APPLICABLE
    assert "anchor bolt fatigue (gust)" not in vortex  # no bolts given, no bolt rows


def test_damping_and_importance_scale_the_ranges() -> None:
    plain = fatigue.stress_ranges(loads(), fatigue.FatigueDesign())
    damped = fatigue.stress_ranges(loads(), fatigue.FatigueDesign(damping_ratio=0.02))
    lesser = fatigue.stress_ranges(loads(), fatigue.FatigueDesign(importance_factor=0.5))
    assert plain[1] is not None
    assert damped[1] is not None
    assert lesser[1] is not None
    assert (damped[1].weld / plain[1].weld).to("").magnitude == pytest.approx(0.25)
    assert damped[0].weld == plain[0].weld  # damping does not touch the gust
    assert (lesser[0].weld / plain[0].weld).to("").magnitude == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("category", "mpa"),
    [("E'", 2.6 * MPA_PER_KSI), ("E’", 2.6 * MPA_PER_KSI), ("d", 7 * MPA_PER_KSI),
     ("C'", 12 * MPA_PER_KSI), ("EN 71", 0.737 * 71), ("en50", 0.737 * 50)],
)  # fmt: skip
def test_thresholds_by_category(category: str, mpa: float) -> None:
    value, _ = fatigue.fatigue_threshold(category)
    assert value.to("N/mm^2").magnitude == pytest.approx(mpa)


def test_invalid_fatigue_data_is_refused() -> None:
    with pytest.raises(ValueError, match="'F' is not known: give an AASHTO category"):
        fatigue.FatigueDesign(weld_category="F")
    with pytest.raises(ValueError, match=r"1\.0 is AASHTO category I"):
        fatigue.FatigueDesign(importance_factor=1.2)
    with pytest.raises(ValueError, match="damping ratio 0 must be in"):
        fatigue.FatigueDesign(damping_ratio=0)


def test_from_design() -> None:
    assert fatigue.from_design({"height": q(10, "m")}) is None
    design = fatigue.from_design({"weld_detail_category": "E", "fatigue_damping_ratio": 0.02})
    assert design == fatigue.FatigueDesign(weld_category="E", damping_ratio=0.02)
    with pytest.raises(ValueError, match="is not known"):
        fatigue.from_design({"anchor_bolt_detail_category": "Z"})
