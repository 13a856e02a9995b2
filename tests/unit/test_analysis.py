"""The shared analysis: a site target's design data to the pole and lighting calculations."""

from __future__ import annotations

from pathlib import Path

import pytest

from ycsa_conform import analysis
from ycsa_conform.errors import InputError
from ycsa_conform.resources import data_dir
from ycsa_conform.site import Target, load_site

SITE = data_dir("fixtures") / "sites" / "kunming-main-road.yaml"


def _fixture(tmp_path: Path, *, add: str = "", drop: tuple[str, ...] = ()) -> list[Target]:
    """The fixture site with design lines added or dropped (paths kept relative to it)."""
    lines = SITE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [line for line in lines if not any(line.strip().startswith(k) for k in drop)]
    text = "".join(lines).replace("    design: &design\n", "    design: &design\n" + add)
    return list(load_site(SITE, text=text).targets)


def test_the_fixture_pole_with_the_worked_example_frequency_gives_its_numbers(
    tmp_path: Path,
) -> None:
    # docs/engineering/wind.md works P001 by hand with f1 = 1.85 Hz; the shared analysis reads
    # the same design block, so it must land on the same numbers.
    p001, _ = _fixture(tmp_path, add="      first_frequency: 1.85 Hz\n")

    result = analysis.structure(p001)

    loads = result.loads
    assert not loads.frequency_estimated
    assert loads.base_moment.to("kN*m").magnitude == pytest.approx(7.9510, abs=1e-4)
    assert loads.base_stress.to("N/mm^2").magnitude == pytest.approx(68.74, abs=0.01)
    assert loads.top_deflection.to("mm").magnitude == pytest.approx(87.91, abs=0.01)
    assert result.top_wind_vibration_factor == pytest.approx(3.1772, abs=1e-4)


def test_the_analysis_is_computed_once_per_design() -> None:
    p001, p002 = load_site(SITE).targets

    first = analysis.structure(p001)

    assert analysis.structure(p001) is first
    assert analysis.structure(p002) is first  # the same design block (a YAML anchor)
    assert analysis.structure(p001, deflection_limit_ratio=1 / 40) is not first
    assert analysis.lighting(p001) is analysis.lighting(p002)


def test_missing_structure_keys_are_named_together_with_examples(tmp_path: Path) -> None:
    p001, _ = _fixture(tmp_path, drop=("base_diameter:", "steel_grade:"))

    with pytest.raises(analysis.MissingDesignData) as caught:
        analysis.structure(p001)

    message = str(caught.value)
    assert message.startswith(
        "target P001 declares no design.base_diameter (outside diameter of the shaft at the "
        "base; across flats for a polygonal shaft), design.steel_grade (steel of the shaft"
    )
    assert "add 'base_diameter: 219 mm', 'steel_grade: Q355' to its design block at " in message
    assert "kunming-main-road.yaml:" in message


def test_contradicting_design_values_are_unusable_not_a_crash(tmp_path: Path) -> None:
    text_site = SITE.read_text(encoding="utf-8").replace(
        "top_diameter: 114 mm", "top_diameter: 300 mm"
    )
    p001 = load_site(SITE, text=text_site).targets[0]

    with pytest.raises(
        analysis.UnusableDesignData,
        match=r"top diameter 300 mm must be above 0 and at most the base diameter 219 mm",
    ):
        analysis.structure(p001)


def test_a_polygonal_pole_is_read_across_flats_with_its_sides(tmp_path: Path) -> None:
    p001, _ = _fixture(
        tmp_path,
        add="      section_shape: polygonal\n      sides: 12\n      first_frequency: 1.85 Hz\n",
    )

    result = analysis.structure(p001)

    assert result.shaft.sides == 12
    base = result.loads.base_section
    # Ø219 read across flats of a dodecagon: A = 12·tan15°·(109.5² − 104.5²) mm².
    tan15 = 2 - 3**0.5
    assert base.area.to("mm^2").magnitude == pytest.approx(12 * tan15 * (109.5**2 - 104.5**2))
    assert result.check("base b/t").verdict.value == "pass"
    assert result.loads.segments[0].width > result.loads.segments[0].diameter


def test_the_profile_formulas_read_the_polygonal_checks(tmp_path: Path) -> None:
    from ycsa_conform.checks.base import CheckContext
    from ycsa_conform.checks.compute import FORMULAS

    p001, _ = _fixture(tmp_path, add="      section_shape: polygonal\n      sides: 8\n")
    ctx = CheckContext(target=p001, parameters={}, device=lambda role: None)
    result = analysis.structure(p001)

    (buckling,) = FORMULAS["local_buckling_utilisation"].compute(ctx, None)
    (stress,) = FORMULAS["base_stress_utilisation"].compute(ctx, None)

    assert buckling.name.startswith("base b/t ")
    assert "flat b/t ≤ 45·εk" in buckling.name
    assert buckling.value == result.check("base b/t").utilisation
    assert stress.value == result.check("base stress").utilisation
    assert "W at the corner fibre" in stress.name


def test_a_polygonal_pole_without_sides_is_unusable(tmp_path: Path) -> None:
    p001, _ = _fixture(tmp_path, add="      section_shape: polygonal\n")

    with pytest.raises(
        analysis.UnusableDesignData,
        match=r"target P001: a polygonal shaft with no number of sides: give design.sides 8, 12 "
        r"or 16 .* measured across flats; correct the design block at .*kunming-main-road.yaml",
    ):
        analysis.structure(p001)


def test_sides_other_than_8_12_16_are_refused_by_the_schema(tmp_path: Path) -> None:
    text = SITE.read_text(encoding="utf-8").replace(
        "    design: &design\n",
        "    design: &design\n      section_shape: polygonal\n      sides: 6\n",
    )

    with pytest.raises(InputError, match=r"design.sides: 6 is not allowed.*use one of: 8, 12, 16"):
        load_site(SITE, text=text)


def test_the_equipment_budget_needs_no_shaft_data(tmp_path: Path) -> None:
    p001, _ = _fixture(tmp_path, drop=("base_diameter:", "wall_thickness:"))

    budget = analysis.equipment_budget(p001)

    assert budget.check("equipment mass").utilisation == pytest.approx(40 / 150)
    # Σ μs·A = 1.3 × (0.25 + 0.25 + 0.05) = 0.715 m² against 1.0 m²
    assert budget.check("equipment μs·A").utilisation == pytest.approx(0.715)


def test_the_fixture_lighting_prediction_is_maintained(tmp_path: Path) -> None:
    p001, _ = _fixture(tmp_path)

    design = analysis.lighting(p001)

    # The 120 W synthetic file predicts 20.14 lx initially on this grid (tests/unit/
    # test_lighting.py); the design's maintenance factor 0.70 makes it 14.10 lx.
    assert design.layout.maintenance_factor == 0.70
    assert design.maintained.average.to("lx").magnitude == pytest.approx(0.70 * 20.1417, abs=1e-3)
    assert design.maintained.points == 120


def test_a_missing_photometric_file_is_named_at_its_line() -> None:
    text = SITE.read_text(encoding="utf-8").replace("synthetic-led-road-120w.ies", "missing.ies", 1)

    with pytest.raises(InputError) as caught:
        load_site(SITE, text=text)

    # P001 and P002 share the design block (a YAML anchor): both are named.
    problem, _ = caught.value.problems
    assert str(problem).endswith(
        "$.targets[0].design.photometric_file: photometric_file "
        "'../photometry/missing.ies' not found (looked at "
        f"{SITE.parent.parent / 'photometry' / 'missing.ies'}); "
        "give the path relative to this site file"
    )
    assert problem.line is not None


def test_equipment_poe_types_are_read() -> None:
    p001 = load_site(SITE).targets[0]

    assert [(e.name, e.poe) for e in p001.equipment] == [
        ("luminaire", None),
        ("5G small cell", "bt-type3"),
        ("camera", "at"),
    ]


# --- the whole pole from the site's design keys (issue 15; docs/engineering/pole.md) ---------

SEGMENTS_AND_DOOR = (
    "      shaft_segments:\n"
    "        - {bottom: 0 m, base_diameter: 219 mm, top_diameter: 168 mm, wall_thickness: 5 mm}\n"
    "        - {bottom: 5 m, base_diameter: 165 mm, top_diameter: 114 mm, wall_thickness: 4 mm}\n"
    "      door_bottom: 0.5 m\n      door_height: 0.5 m\n      door_width: 100 mm\n"
    "      importance_factor: 1.1\n"
)


def test_segments_door_and_importance_factor_reach_the_analysis(tmp_path: Path) -> None:
    p001, _ = _fixture(tmp_path, add=SEGMENTS_AND_DOOR)

    loads = analysis.structure(p001).loads

    assert [float(z.magnitude) for z in analysis.structure(p001).shaft.section_changes] == [5.0]
    assert loads.door_section is not None
    where = {(c.name, c.combination) for c in loads.section_checks}
    assert ("stress, door 0.5 m", "1.1×(1.3G + 1.5W)") in where
    assert ("stress, section change 5 m", "1.1×(1.3G + 1.5W)") in where
    # The fixture declares Kunming's intensity: the seismic combination is there too.
    assert ("stress, base", "1.2G + 1.3E + 0.2×1.4W") in where
    assert loads.seismic is not None
    assert loads.seismic.alpha_max == 0.16
    assert loads.seismic.characteristic_period.to("s").magnitude == pytest.approx(0.45)


def test_a_seismic_intensity_without_site_class_names_the_keys(tmp_path: Path) -> None:
    p001, _ = _fixture(tmp_path, drop=("site_class:", "seismic_design_group:"))

    with pytest.raises(analysis.MissingDesignData) as caught:
        analysis.structure(p001)

    message = str(caught.value)
    assert "design.site_class" in message
    assert "design.seismic_design_group" in message
    assert "'site_class: II', 'seismic_design_group: 3'" in message


def test_a_declared_characteristic_period_replaces_the_table(tmp_path: Path) -> None:
    p001, _ = _fixture(
        tmp_path,
        drop=("site_class:", "seismic_design_group:"),
        add="      characteristic_period: 0.65 s\n",
    )

    quake = analysis.structure(p001).loads.seismic

    assert quake is not None
    assert quake.characteristic_period.to("s").magnitude == 0.65
    assert "Tg as declared" in quake.basis


def test_segments_that_disagree_with_the_summary_are_unusable(tmp_path: Path) -> None:
    p001, _ = _fixture(
        tmp_path, add=SEGMENTS_AND_DOOR.replace("base_diameter: 219", "base_diameter: 230")
    )

    with pytest.raises(analysis.UnusableDesignData, match=r"design\.base_diameter 219 mm differs"):
        analysis.structure(p001)


# --- below the shaft: the whole pole's base actions feed base plate, foundation, fatigue -----

_UNDERSIZED_BASE = (
    "      base_plate_thickness: 20 mm\n"
    "      base_plate_width: 400 mm\n"
    "      anchor_bolt_count: 4\n"
    "      anchor_bolt_diameter: 12 mm\n"
    "      anchor_bolt_circle_diameter: 300 mm\n"
    "      anchor_bolt_grade: Q235\n"
)


def test_anchor_bolts_take_the_whole_poles_factored_moment_less_the_dead_load(
    tmp_path: Path,
) -> None:
    from ycsa_conform.checks.base import CheckContext
    from ycsa_conform.checks.compute import FORMULAS
    from ycsa_conform.engineering.pole import Verdict

    p001, _ = _fixture(tmp_path, add=_UNDERSIZED_BASE)
    s = analysis.structure(p001)
    assert s.base_connection is not None
    wind = next(a for a in s.loads.base_actions if a.combination.endswith("(1.3G + 1.5W)"))
    tension = next(
        c
        for c in s.base_connection
        if c.name == "anchor bolt tension" and c.combination == wind.combination
    )
    # By hand: 4 bolts on a 300 mm circle, elastic about the centre, N_t = 4M/(n·D) − N_G/n
    # with the dead load unfactored; M12 holds A_s = 84.3 mm² (ISO 898-1) at 140 N/mm².
    assert wind.dead_axial is not None
    moment = wind.moment.to("kN*m").magnitude
    expected = 4 * moment / (4 * 0.300) - wind.dead_axial.to("kN").magnitude / 4
    assert tension.value.to("kN").magnitude == pytest.approx(expected, rel=1e-9)
    assert tension.limit.to("kN").magnitude == pytest.approx(84.3 * 140 / 1000, rel=2e-3)
    assert tension.verdict is Verdict.FAIL
    ctx = CheckContext(target=p001, parameters={}, device=lambda role: None)
    *shown, worst = FORMULAS["base_connection_utilisation"].compute(ctx, None)
    assert worst.decides
    assert worst.value > 1
    assert "anchor bolt" in worst.name
    assert len(shown) == len(s.base_connection)


def test_without_base_or_foundation_data_the_declared_factor_decides_and_bolts_are_an_error(
    tmp_path: Path,
) -> None:
    from ycsa_conform.checks.base import CheckContext
    from ycsa_conform.checks.compute import FORMULAS

    p001, _ = _fixture(tmp_path)
    s = analysis.structure(p001)
    assert s.base_connection is None
    assert s.foundation is None
    # Fatigue takes its defaults (weld E′, bolts D): the rows are there with a verdict.
    assert {c.name for c in s.fatigue} >= {"base weld fatigue (gust)"}
    ctx = CheckContext(target=p001, parameters={}, device=lambda role: None)
    with pytest.raises(analysis.MissingDesignData, match="anchor_bolt_count"):
        FORMULAS["base_connection_utilisation"].compute(ctx, None)
    (declared,) = FORMULAS["foundation_utilisation"].compute(ctx, None)
    assert declared.value == pytest.approx(1.5 / 1.8)  # the fixture declares 1.8
    assert "no foundation and soil data" in declared.name


def test_a_pad_too_small_fails_overturning_with_the_profiles_safety_factor(
    tmp_path: Path,
) -> None:
    from ycsa_conform.checks.base import CheckContext
    from ycsa_conform.checks.compute import FORMULAS

    pad = (
        "      foundation_type: pad\n"
        "      foundation_width: 0.8 m\n"
        "      foundation_depth: 1.0 m\n"
        "      soil_bearing_capacity: 150 kPa\n"
        "      soil_unit_weight: 18 kN/m^3\n"
    )
    p001, _ = _fixture(tmp_path, add=pad)
    s = analysis.structure(p001, min_safety_factor=1.5)
    assert s.foundation is not None
    gw = next(a for a in s.loads.base_actions if a.combination == "G + W")
    overturning = next(
        c for c in s.foundation if c.name == "foundation overturning" and c.combination == "G + W"
    )
    # By hand, about the toe: K = (N_G + 20 kN/m³·b²·d)·(b/2) / (M + V·d).
    assert gw.dead_axial is not None
    n = gw.dead_axial.to("kN").magnitude + 20 * 0.8 * 0.8 * 1.0
    k = n * 0.4 / (gw.moment.to("kN*m").magnitude + gw.shear.to("kN").magnitude * 1.0)
    assert overturning.value.to("").magnitude == pytest.approx(k, rel=1e-6)
    assert k < 1.5
    ctx = CheckContext(target=p001, parameters={}, device=lambda role: None)
    *_, worst = FORMULAS["foundation_utilisation"].compute(ctx, None)
    assert worst.value > 1
    # A stricter profile parameter reaches the recomputed factor.
    strict = CheckContext(
        target=p001, parameters={"min_overturning_safety_factor": 2.0}, device=lambda role: None
    )
    *_, stricter = FORMULAS["foundation_utilisation"].compute(strict, None)
    assert stricter.value > worst.value


def test_a_site_r_table_is_read_with_its_tag_and_scaled_by_a_measured_q0(
    tmp_path: Path,
) -> None:
    # a flat table (10⁴·r = 700 at every β and tan γ, not a CIE table) and the same with a
    # measured Q0 twice the class's 0.07: L doubles, and the tag the site gives is kept
    table = tmp_path / "flat.csv"
    table.write_text("tanγ\\β,0,180\n0,700,700\n12,700,700\n", encoding="utf-8")
    add = f"      road_surface_table: {table}\n      road_surface_table_confidence: S\n"
    plain, _ = _fixture(tmp_path, add=add)
    doubled, _ = _fixture(tmp_path, add=add + "      road_surface_q0: 0.14\n")

    first, second = analysis.luminance(plain), analysis.luminance(doubled)

    assert first.surface == "flat.csv [S]"
    assert second.result.average == pytest.approx(2 * first.result.average)
    assert second.result.overall_uniformity == pytest.approx(first.result.overall_uniformity)


def test_a_layout_the_site_declares_changes_the_predicted_illuminance(tmp_path: Path) -> None:
    one_sided, _ = _fixture(tmp_path)
    opposite, _ = _fixture(tmp_path, add="      lighting_layout: opposite\n")

    single = analysis.lighting(one_sided).maintained.average
    double = analysis.lighting(opposite).maintained.average

    # the fixture luminaire is symmetric front and back: the far row mirrors the near one
    assert double.to("lx").magnitude == pytest.approx(2 * single.to("lx").magnitude, rel=1e-9)
