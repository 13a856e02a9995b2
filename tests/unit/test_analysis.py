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
