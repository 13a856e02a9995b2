"""Road lighting: CJJ 45-2015 class values, GB/T 5700 grid averaging, IES photometry.

Class values are copied by hand from docs/sources.md §3.1 (Table 3.3.1, confidence S;
Table 7.1.2, confidence U), not imported from the module under test. The worked example is the
CSV block in docs/engineering/lighting.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ycsa_conform.engineering.lighting import (
    CutOffClass,
    GridMethod,
    IlluminanceGrid,
    cutoff_class,
    evaluate_grid,
    field_grid_positions,
    judge_grid,
    lighting_power_density,
    power_density_limit,
    road_lighting_class,
)
from ycsa_conform.engineering.photometry import (
    Photometry,
    RoadLayout,
    glare_intensities,
    predicted_grid,
    read_grid_csv,
    read_ies,
    upward_light_ratio,
)
from ycsa_conform.errors import InputError
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Verdict
from ycsa_conform.units import Quantity

DOC = Path(__file__).resolve().parents[2] / "docs" / "engineering" / "lighting.md"
IES = data_dir("fixtures") / "photometry" / "synthetic-led-road-120w.ies"
GRID = data_dir("fixtures") / "records" / "kunming-main-road-lighting-grid.csv"


# --- CJJ 45-2015 Table 3.3.1 (S) and Table 7.1.2 (U) -------------------------------------


@pytest.mark.parametrize(
    ("level", "grade", "l_av", "ul", "e_av", "ue", "ti", "sr"),
    [
        ("I", "low", 1.50, 0.7, 20, 0.4, 10, 0.5),
        ("I", "high", 2.00, 0.7, 30, 0.4, 10, 0.5),
        ("II", "low", 1.00, 0.5, 15, 0.4, 10, 0.5),
        ("II", "high", 1.50, 0.5, 20, 0.4, 10, 0.5),
        ("III", "low", 0.50, None, 8, 0.3, 15, None),
        ("III", "high", 0.75, None, 10, 0.3, 15, None),
    ],
)
def test_road_class_has_the_table_3_3_1_values(
    level: str,
    grade: str,
    l_av: float,
    ul: float | None,
    e_av: float,
    ue: float,
    ti: float,
    sr: float | None,
) -> None:
    row = road_lighting_class(level, grade)

    assert row.average_luminance == Quantity(l_av, "cd/m^2")
    assert row.overall_uniformity == 0.4
    assert row.longitudinal_uniformity == ul
    assert row.average_illuminance == Quantity(e_av, "lx")
    assert row.illuminance_uniformity == ue
    assert row.threshold_increment_max == Quantity(ti, "percent")
    assert row.surround_ratio_min == sr
    assert (row.source, row.confidence) == ("CJJ 45-2015 Table 3.3.1", "S")


def test_unknown_road_class_names_the_choices() -> None:
    with pytest.raises(ValueError, match="use class I, II or III and grade low or high"):
        road_lighting_class("IV", "high")


@pytest.mark.parametrize(
    ("level", "lux", "lanes", "limit"),
    [
        ("I", 30, 6, 1.00),
        ("I", 20, 4, 0.85),
        ("II", 20, 4, 0.80),
        ("II", 15, 2, 0.70),
        ("III", 10, 2, 0.50),
        ("III", 8, 1, 0.45),
    ],
)
def test_power_density_limit_is_table_7_1_2(
    level: str, lux: float, lanes: int, limit: float
) -> None:
    value = power_density_limit(level, Quantity(lux, "lx"), lanes=lanes)

    assert value.to("W/m^2").magnitude == pytest.approx(limit)


def test_power_density_limit_for_a_design_value_not_in_the_table_says_which_are() -> None:
    with pytest.raises(ValueError, match="use 20 lx or 15 lx"):
        power_density_limit("II", Quantity(10, "lx"), lanes=4)


def test_lighting_power_density_keeps_its_behaviour() -> None:
    lpd = lighting_power_density(Quantity(120, "W"), 1, Quantity(35, "m"), Quantity(15, "m"))

    assert lpd.to("W/m^2").magnitude == pytest.approx(120 / 525)


# --- GB/T 5700 grid, the worked example --------------------------------------------------


@pytest.fixture
def worked_example(tmp_path: Path) -> IlluminanceGrid:
    block = re.search(r"```csv\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block is not None, "docs/engineering/lighting.md lost its ```csv worked example"
    path = tmp_path / "worked.csv"
    path.write_text(block.group(1), encoding="utf-8")
    return read_grid_csv(path)


def test_four_corner_method_matches_the_worked_example(worked_example: IlluminanceGrid) -> None:
    stats = evaluate_grid(worked_example, GridMethod.CORNERS)

    assert stats.average.to("lx").magnitude == pytest.approx(300 / 16)  # 18.75
    assert stats.minimum.magnitude == 8
    assert stats.maximum.magnitude == 30
    assert stats.uniformity == pytest.approx(8 / 18.75)  # 0.4267


def test_centre_point_method_matches_the_worked_example(worked_example: IlluminanceGrid) -> None:
    stats = evaluate_grid(worked_example, "centre")

    assert stats.average.magnitude == pytest.approx(176 / 9)  # 19.56
    assert stats.uniformity == pytest.approx(8 / (176 / 9))  # 0.4091
    assert stats.points == 9


def test_worked_example_fails_class_ii_high_on_average_only(
    worked_example: IlluminanceGrid,
) -> None:
    checks = judge_grid(evaluate_grid(worked_example, "corners"), road_lighting_class("II", "high"))

    assert [(c.name, c.verdict, c.limit.magnitude, c.confidence) for c in checks] == [
        ("Eav", Verdict.FAIL, 20, "S"),
        ("UE", Verdict.PASS, 0.4, "S"),
    ]


def test_doc_states_the_numbers_the_tests_check() -> None:
    text = DOC.read_text(encoding="utf-8")

    for number in ("18.75 lx", "0.4267", "19.56 lx", "0.4091"):
        assert number in text


def test_four_corner_method_needs_two_points_each_way() -> None:
    grid = IlluminanceGrid(x=(1.0, 2.0), y=(0.5,), lux=((10.0, 12.0),))

    with pytest.raises(ValueError, match="use the centre-point method"):
        evaluate_grid(grid, "corners")


@pytest.mark.parametrize(
    ("method", "x", "y"),
    [
        (GridMethod.CENTRE, (1.75, 33.25), (0.625, 14.375)),
        (GridMethod.CORNERS, (0.0, 35.0), (0.0, 15.0)),
    ],
)
def test_field_grid_has_ten_parts_along_and_three_per_lane(
    method: GridMethod, x: tuple[float, float], y: tuple[float, float]
) -> None:
    xs, ys = field_grid_positions(Quantity(35, "m"), Quantity(15, "m"), lanes=4, method=method)

    extra = 1 if method is GridMethod.CORNERS else 0
    assert (len(xs), len(ys)) == (10 + extra, 12 + extra)
    assert (xs[0], xs[-1]) == pytest.approx(x)
    assert (ys[0], ys[-1]) == pytest.approx(y)


def test_field_grid_over_50_m_uses_cells_of_at_most_5_m() -> None:
    xs, _ = field_grid_positions(Quantity(52, "m"), Quantity(7, "m"), lanes=2, method="corners")

    assert len(xs) - 1 == 11


# --- grid CSV errors: one line, file:line, the fix ---------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "no grid in the file; the first row must be a label, then the x positions"),
        ("y\\x,1,abc\n", 1, "column 3 header 'abc' is not a number"),
        ("y\\x,2,1\n", 1, "x position 1 m does not increase after 2 m"),
        ("# note\ny\\x,1,2\n0,5,6\n1,5\n", 4, "row has 1 lux readings, the header has 2 x"),
        ("y\\x,1,2\n0,5,six\n", 2, "column 3 reading 'six' is not a lux value; write a number"),
        ("y\\x,1,2\n0,5,-1\n", 2, "column 3 reading '-1' is not a lux value"),
        ("y\\x,1,2\nedge,5,6\n", 2, "y position 'edge' is not a number"),
        ("y\\x,1,2\n1,5,6\n0,5,6\n", 3, "y position 0 m does not increase after 1 m"),
        ("y\\x,1,2\n", 1, "the grid has no rows of readings"),
    ],
)
def test_bad_grid_csv_names_file_line_and_fix(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "grid.csv"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(InputError) as info:
        read_grid_csv(path)

    assert str(info.value).startswith(f"{path}:{line}: {message}")
    assert "\n" not in str(info.value)


def test_kunming_fixture_is_a_centre_point_grid_of_the_span() -> None:
    grid = read_grid_csv(GRID)

    assert (len(grid.x), len(grid.y)) == (10, 12)
    stats = evaluate_grid(grid, "centre")
    assert 19 < stats.average.magnitude < 23
    checks = judge_grid(stats, road_lighting_class("II", "high"))
    assert {c.verdict for c in checks} == {Verdict.PASS}


# --- IES LM-63 --------------------------------------------------------------------------


def test_ies_fixture_reads_as_a_120_w_absolute_type_c_file() -> None:
    ies = read_ies(IES)

    assert ies.keywords["TEST"].startswith("SYNTHETIC")
    assert ies.input_power == Quantity(120, "W")
    assert ies.lumens_per_lamp == -1
    assert (len(ies.vertical_angles), len(ies.horizontal_angles)) == (19, 25)
    assert ies.intensity(0, 0) == pytest.approx(ies.candela[0][0])
    assert ies.intensity(90, 95) == 0.0  # nothing above the horizon
    assert ies.luminous_flux().to("lm").magnitude == pytest.approx(16000, rel=0.02)


def test_ies_intensity_interpolates_between_table_angles() -> None:
    ies = read_ies(IES)

    between = ies.intensity(7.5, 62.5)
    corners = [ies.intensity(c, g) for c in (0, 15) for g in (60, 65)]
    assert min(corners) <= between <= max(corners)
    assert between == pytest.approx(sum(corners) / 4)


def test_ies_symmetry_about_the_90_270_plane_folds_c_angles() -> None:
    table = ((1.0, 1.0), (2.0, 2.0), (3.0, 3.0))
    ies = Photometry(
        path="x.ies",
        keywords={},
        lamps=1,
        lumens_per_lamp=-1,
        input_power=Quantity(1, "W"),
        vertical_angles=(0.0, 90.0),
        horizontal_angles=(90.0, 180.0, 270.0),
        candela=table,
    )

    assert ies.intensity(0, 10) == 2.0  # C 0 is the mirror of C 180
    assert ies.intensity(45, 10) == pytest.approx(1.5)  # mirror of C 135
    assert ies.intensity(315, 10) == pytest.approx(2.5)  # mirror of C 225


_GOOD_HEAD = "IESNA:LM-63-2002\n[TEST] t\nTILT=NONE\n1 -1 1 2 1 1 2 0 0 0\n1 1 100\n0 90\n0\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("EULUMDAT\n", 1, "not an IES LM-63 file: the first line must be 'IESNA:LM-63-2002'"),
        ("IESNA:LM-63-2002\nTILT=INCLUDE\n", 2, "'TILT=INCLUDE' is not supported; export"),
        ("IESNA:LM-63-2002\n[TEST] t\n", 2, "no TILT= line"),
        (_GOOD_HEAD + "100\n", 8, "the file ends before candela value 2 at horizontal angle 0°"),
        (_GOOD_HEAD + "100 x\n", 8, "candela value 2 at horizontal angle 0° 'x' is not a number"),
        (_GOOD_HEAD + "100 50 7\n", 8, "unexpected '7' after the candela table"),
        (_GOOD_HEAD.replace("1 1 2 0", "1 2 2 0"), 4, "photometric type 2 is not read"),
        (_GOOD_HEAD.replace("0 90\n", "90 0\n") + "1 1\n", 6, "vertical angle 0° does not"),
    ],
)
def test_malformed_ies_names_file_line_and_fix(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.ies"
    path.write_text(text, encoding="latin-1")

    with pytest.raises(InputError) as info:
        read_ies(path)

    assert str(info.value).startswith(f"{path}:{line}: {message}")


# --- predicted grid -----------------------------------------------------------------------


def _layout(height: float = 10, tilt: float = 0, overhang: float = 1.5) -> RoadLayout:
    return RoadLayout(
        spacing=Quantity(35, "m"),
        mounting_height=Quantity(height, "m"),
        overhang=Quantity(overhang, "m"),
        tilt=Quantity(tilt, "degree"),
    )


def test_predicted_grid_is_symmetric_about_mid_span() -> None:
    xs, ys = field_grid_positions(Quantity(35, "m"), Quantity(15, "m"), lanes=4, method="centre")

    grid = predicted_grid(read_ies(IES), _layout(tilt=5), xs, ys)

    for row in grid.lux:
        assert row == pytest.approx(tuple(reversed(row)), rel=1e-9)


def test_predicted_peak_is_under_the_luminaire_for_a_downlight() -> None:
    # A rotationally symmetric, uniform 1000 cd source: E = I h / d³, highest at the nadir.
    downlight = Photometry(
        path="lambert.ies",
        keywords={},
        lamps=1,
        lumens_per_lamp=-1,
        input_power=Quantity(1, "W"),
        vertical_angles=(0.0, 90.0),
        horizontal_angles=(0.0,),
        candela=((1000.0, 1000.0),),
    )
    xs = tuple(float(v) for v in range(-10, 11))
    ys = tuple(float(v) for v in range(-6, 10))

    grid = predicted_grid(downlight, _layout(overhang=1.0), xs, ys)

    j, i = max(
        ((j, i) for j in range(len(ys)) for i in range(len(xs))), key=lambda p: grid.lux[p[0]][p[1]]
    )
    assert (xs[i], ys[j]) == (0.0, 1.0)
    # E = I h / d³ summed over the poles within reach (k = -2..2 at 35 m)
    expected = sum(1000 * 10 / ((k * 35) ** 2 + 10**2) ** 1.5 for k in range(-2, 3))
    assert grid.lux[j][i] == pytest.approx(expected)


def test_predicted_illuminance_scales_with_the_inverse_square_of_height() -> None:
    ies = read_ies(IES)
    # Points straight below at twice the height: same direction (nadir), so E ∝ 1/h².
    spot = (0.0,), (1.5,)
    near = predicted_grid(ies, _layout(height=10), *spot).lux[0][0]
    alone_near = ies.intensity(0, 0) / 10**2
    alone_far = ies.intensity(0, 0) / 20**2

    assert alone_near / alone_far == pytest.approx(4)
    # the pole's own luminaire gives most of the light at its foot
    assert near == pytest.approx(alone_near, rel=0.35)
    assert near > alone_near


def test_predicted_grid_scales_exactly_as_inverse_square_for_a_point_source() -> None:
    flat = Photometry(
        path="flat.ies",
        keywords={},
        lamps=1,
        lumens_per_lamp=-1,
        input_power=Quantity(1, "W"),
        vertical_angles=(0.0, 90.0),
        horizontal_angles=(0.0,),
        candela=((500.0, 500.0),),
    )
    layout = RoadLayout(
        spacing=Quantity(1000, "m"),  # one luminaire within reach
        mounting_height=Quantity(8, "m"),
        overhang=Quantity(0, "m"),
        tilt=Quantity(0, "degree"),
    )
    doubled = RoadLayout(
        spacing=Quantity(1000, "m"),
        mounting_height=Quantity(16, "m"),
        overhang=Quantity(0, "m"),
        tilt=Quantity(0, "degree"),
    )

    low = predicted_grid(flat, layout, (0.0, 6.0), (0.0,)).lux[0]
    high = predicted_grid(flat, doubled, (0.0, 12.0), (0.0,)).lux[0]

    assert low[0] == pytest.approx(500 / 64, rel=1e-4)  # poles 1000 m off add ~1e-6
    assert high[0] == pytest.approx(low[0] / 4, rel=1e-4)
    assert high[1] == pytest.approx(low[1] / 4, rel=1e-4)  # same angle, twice the distance


def test_predicted_kunming_grid_is_close_to_the_measured_one() -> None:
    measured = read_grid_csv(GRID)

    layout = _layout(tilt=5)
    predicted = evaluate_grid(
        predicted_grid(read_ies(IES), layout, measured.x, measured.y), "centre"
    )

    assert predicted.average.magnitude == pytest.approx(
        evaluate_grid(measured, "centre").average.magnitude, rel=0.1
    )
    assert predicted.uniformity >= 0.4


# --- glare and upward light from the photometry (docs/engineering/lighting.md) -------------


def _symmetric(intensities: dict[float, float], *, lumens: float = -1) -> Photometry:
    """A rotationally symmetric luminaire with the given γ → cd table."""
    return Photometry(
        path="sym.ies",
        keywords={},
        lamps=1,
        lumens_per_lamp=lumens,
        input_power=Quantity(1, "W"),
        vertical_angles=tuple(intensities),
        horizontal_angles=(0.0,),
        candela=(tuple(intensities.values()),),
    )


@pytest.mark.parametrize(
    ("i80", "i90", "i90_cd", "expected"),
    [
        (30, 10, 1000, CutOffClass.CUT_OFF),  # CJJ 45 limits are inclusive
        (31, 10, 100, CutOffClass.SEMI_CUT_OFF),
        (100, 50, 1000, CutOffClass.SEMI_CUT_OFF),
        (100, 51, 100, CutOffClass.NON_CUT_OFF),
        (20, 5, 1001, CutOffClass.NON_CUT_OFF),  # > 1000 cd at 90° rules out both classes
    ],
)
def test_cutoff_class_follows_the_cjj_45_definitions(
    i80: float, i90: float, i90_cd: float, expected: CutOffClass
) -> None:
    value = cutoff_class(Quantity(i80, "cd/klm"), Quantity(i90, "cd/klm"), Quantity(i90_cd, "cd"))

    assert value is expected


def test_glare_intensities_are_per_1000_lamp_lumens_for_relative_photometry() -> None:
    # 2 × 5000 lm lamps would be 10 klm; this file has one 8000 lm lamp: 8 klm.
    ies = _symmetric({0: 1000, 80: 400, 90: 80, 180: 0}, lumens=8000)

    glare = glare_intensities(ies)

    assert glare.at_80.to("cd/klm").magnitude == pytest.approx(50.0)
    assert glare.at_90.to("cd/klm").magnitude == pytest.approx(10.0)
    assert glare.at_90_absolute.to("cd").magnitude == pytest.approx(80.0)


def test_the_fixture_luminaire_is_not_cut_off() -> None:
    # Its 2063 cd at γ = 80° in the C 0° plane (and more in other planes) over 16.1 klm.
    ies = read_ies(IES)
    glare = glare_intensities(ies)

    assert glare.at_80.to("cd/klm").magnitude > 128
    assert cutoff_class(glare.at_80, glare.at_90, glare.at_90_absolute) is (CutOffClass.NON_CUT_OFF)


def test_upward_light_ratio_of_a_uniform_sphere_is_one_half() -> None:
    sphere = _symmetric({0: 100, 180: 100})

    assert upward_light_ratio(sphere) == pytest.approx(0.5, abs=1e-3)


def test_upward_light_ratio_of_a_tilted_hemisphere_is_the_lune() -> None:
    # Constant intensity over the lower hemisphere only, tilted by t: the part raised above the
    # horizon is a lune of solid angle 2t out of 2π, so ULR = t/π (t = 5°: 0.02778).
    hemisphere = _symmetric({0: 100, 90: 100})

    assert upward_light_ratio(hemisphere) == pytest.approx(0.0, abs=1e-9)
    tilted = upward_light_ratio(hemisphere, tilt=Quantity(5, "degree"))
    assert tilted == pytest.approx(5 / 180, abs=5e-4)
