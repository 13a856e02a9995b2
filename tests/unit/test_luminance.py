"""Road luminance: the worked example of docs/engineering/luminance.md recomputed by hand, and
physics the calculation must respect whatever the numbers (mirror symmetry, linearity in flux,
staggered against opposite rows).

Hand values use the IES fixture's table directly (read off the file's text here, not through
the module under test) and the formulas written out in each test.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest

from ycsa_conform.engineering import luminance as lum
from ycsa_conform.engineering.photometry import Photometry, read_ies, read_ldt
from ycsa_conform.resources import data_dir

DOC = Path(__file__).resolve().parents[2] / "docs" / "engineering" / "luminance.md"
IES = data_dir("fixtures") / "photometry" / "synthetic-led-road-120w.ies"
LDT = data_dir("fixtures") / "photometry" / "synthetic-led-road-120w.ldt"

# from the IES file's text: C0 row and C90 row, γ = 0, 5, .., 90
C0 = [4094.1, 4059.3, 3961.2, 3820.4, 3673.2, 3573.4, 3588.2, 3785.1, 4207, 4842.5]
C0 += [5603.3, 6328.1, 6820.6, 6913.8, 6533, 5725.5, 2062.9, 386.3, 0]
C90_AT_45 = 5429.7

# the worked example: one luminaire at (0, 1.5) m, 10 m high, no tilt, MF 1; a spacing long
# enough that no neighbour reaches the points
EXAMPLE = lum.RoadGeometry(width=13, lanes=4, spacing=200, mounting_height=10, overhang=1.5)


@pytest.fixture(scope="module")
def ies() -> Photometry:
    return read_ies(IES)


def _doc_number(label: str) -> float:
    match = re.search(rf"{re.escape(label)}\s*=\s*([0-9.]+)", DOC.read_text(encoding="utf-8"))
    assert match, f"{label} not in {DOC.name}"
    return float(match.group(1))


# --- the worked example ----------------------------------------------------------------------


def test_the_diffuse_stand_in_is_q0_cos_cubed_gamma() -> None:
    table = lum.diffuse_r_table("R3")

    assert table.confidence == "I"
    assert table.value(0, 0.0) == pytest.approx(0.07)
    assert table.value(123, 1.0) == pytest.approx(0.07 / 2**1.5)  # cos 45° cubed, any β
    assert table.value(0, 12.5) == 0.0  # beyond the CIE tables' last tan γ


def test_q0_of_the_classes_keep_their_memory_tag_values() -> None:
    # CIE 144 / 30.2 (M): R1 0.10, R2 0.07, R3 0.07, R4 0.08, C1 0.10, C2 0.07
    assert {str(k): v for k, v in lum.Q0.items()} == {
        "R1": 0.10,
        "R2": 0.07,
        "R3": 0.07,
        "R4": 0.08,
        "C1": 0.10,
        "C2": 0.07,
    }


def test_worked_example_points_match_the_hand_calculation(ies: Photometry) -> None:
    r3 = lum.diffuse_r_table("R3")
    h = 10.0
    # P1 under the luminaire: γ 0, I 4094.1 cd, r = Q0
    p1 = C0[0] * 0.07 / h**2
    # P2 10 m along: tan γ 1, γ 45°, C 0°; r = 0.07·cos³45°
    r45 = 0.07 * math.cos(math.radians(45)) ** 3
    p2 = C0[9] * r45 / h**2
    # P3 10 m across toward the far kerb: C 90°, γ 45°
    p3 = C90_AT_45 * r45 / h**2

    grid = lum.road_luminance(ies, EXAMPLE, r3, observer=(-60, 1.5), x=[0, 10], y=[1.5, 11.5])

    assert grid[0][0] == pytest.approx(p1, rel=1e-9)
    assert grid[0][1] == pytest.approx(p2, rel=1e-9)
    assert grid[1][0] == pytest.approx(p3, rel=1e-9)
    assert _doc_number("L(P1)") == pytest.approx(p1, abs=5e-4)
    assert _doc_number("L(P2)") == pytest.approx(p2, abs=5e-4)
    assert _doc_number("L(P3)") == pytest.approx(p3, abs=5e-4)


def test_opposite_row_adds_the_facing_luminaire_at_p3(ies: Photometry) -> None:
    opposite = dataclasses.replace(EXAMPLE, layout=lum.Layout.OPPOSITE)
    r3 = lum.diffuse_r_table("R3")
    # the far luminaire stands at y = 13 - 1.5 = 11.5, right above P3
    hand = (C90_AT_45 * 0.07 * math.cos(math.radians(45)) ** 3 + C0[0] * 0.07) / 100

    grid = lum.road_luminance(ies, opposite, r3, observer=(-60, 1.5), x=[0], y=[11.5])

    assert grid[0][0] == pytest.approx(hand, rel=1e-9)
    assert _doc_number("L(P3, opposite)") == pytest.approx(hand, abs=5e-4)


def _beta_table(tmp_path: Path) -> lum.RTable:
    # not a CIE table: r twice as high with the luminaire beyond the point (β 0) as behind it
    path = tmp_path / "r.csv"
    path.write_text("tanγ\\β,0,180\n0,700,700\n1,400,200\n2,100,50\n", encoding="utf-8")
    return lum.read_r_table(path, confidence="I", q0=0.07)


def test_beta_is_zero_with_the_luminaire_beyond_the_point(ies: Photometry, tmp_path: Path) -> None:
    table = _beta_table(tmp_path)
    # observer at x = -60 looking along +x: the point at x = -10 has the luminaire (x = 0)
    # beyond it (β 0), the point at x = 10 behind it (β 180)
    grid = lum.road_luminance(ies, EXAMPLE, table, observer=(-60, 1.5), x=[-10, 10], y=[1.5])

    # I(C 180, 45°) = I(C 0, 45°) in this file, so only r differs: 400 against 200 (× 10⁻⁴)
    assert grid[0][0] == pytest.approx(C0[9] * 0.04 / 100, rel=1e-9)
    assert grid[0][1] == pytest.approx(C0[9] * 0.02 / 100, rel=1e-9)


def test_a_measured_q0_scales_the_table(tmp_path: Path) -> None:
    table = _beta_table(tmp_path).scaled(0.105)

    assert table.value(0, 1.0) == pytest.approx(0.04 * 1.5)


def test_veiling_luminance_of_one_luminaire_matches_the_hand_calculation(
    ies: Photometry,
) -> None:
    one = dataclasses.replace(EXAMPLE, spacing=1000)  # the next luminaire is beyond 500 m
    # eye at (-30, 1.5, 1.5), luminaire at (0, 1.5, 10)
    dx, dz = 30.0, 8.5
    d = math.hypot(dx, dz)
    cos_theta = (dx * math.cos(math.radians(1)) - dz * math.sin(math.radians(1))) / d
    theta = math.degrees(math.acos(cos_theta))
    gamma = math.degrees(math.atan2(dx, dz))  # toward the eye, C 180 = C 0 here
    intensity = C0[14] + (gamma - 70) / 5 * (C0[15] - C0[14])
    lv = 10 * intensity * cos_theta / d**2 / theta**2

    assert lum.veiling_luminance(ies, one, (-30, 1.5)) == pytest.approx(lv, rel=1e-9)
    assert _doc_number("so Lv") == pytest.approx(lv, abs=5e-4)
    assert _doc_number("TI at L_av 1 cd/m²") == pytest.approx(65 * lv, abs=0.05)


def test_a_luminaire_above_the_roof_screening_angle_gives_no_glare(ies: Photometry) -> None:
    one = dataclasses.replace(EXAMPLE, spacing=1000)

    # 8.5 m up over 20 m: 23° above the horizontal, screened by the car roof
    assert lum.veiling_luminance(ies, one, (-20, 1.5)) == 0.0
    assert lum.veiling_luminance(ies, one, (-25, 1.5)) > 0.0  # 18.8°: seen


# --- the aggregates from the grids -----------------------------------------------------------


BENCH = lum.RoadGeometry(
    width=15, lanes=4, spacing=35, mounting_height=10, overhang=1.5, maintenance_factor=0.7
)


def test_u0_and_ul_follow_from_the_observers_grids(ies: Photometry) -> None:
    result = lum.luminance_result(ies, BENCH, lum.diffuse_r_table("R3"))

    averages, u0s, uls = [], [], []
    for lane, grid in enumerate(result.grids):
        values = [v for row in grid for v in row]
        averages.append(sum(values) / len(values))
        u0s.append(min(values) / averages[-1])
        centre = grid[3 * lane + 1]  # rows 3k, 3k+1, 3k+2 are lane k; the middle is its centre
        uls.append(min(centre) / max(centre))
    assert len(result.x) == 12  # 35 m: N = ceil(35 / 3), D ≤ 3 m
    assert len(result.y) == 12  # 3 per lane
    assert result.average == pytest.approx(min(averages))
    assert result.overall_uniformity == pytest.approx(min(u0s))
    assert result.longitudinal_uniformity == pytest.approx(min(uls))


# --- physics ---------------------------------------------------------------------------------


def _doubled(photometry: Photometry) -> Photometry:
    return dataclasses.replace(
        photometry, candela=tuple(tuple(2 * v for v in row) for row in photometry.candela)
    )


def test_doubling_the_flux_doubles_l_keeps_u0_and_raises_ti_by_two_to_the_0_2(
    ies: Photometry,
) -> None:
    table = lum.diffuse_r_table("R3")
    once = lum.luminance_result(ies, BENCH, table)
    twice = lum.luminance_result(_doubled(ies), BENCH, table)

    assert twice.average == pytest.approx(2 * once.average)
    assert twice.overall_uniformity == pytest.approx(once.overall_uniformity)
    # TI = 65·Lv/L^0.8: Lv and L both double
    assert twice.threshold_increment == pytest.approx(once.threshold_increment * 2**0.2)
    assert twice.surround_ratio == pytest.approx(once.surround_ratio)


def test_opposite_rows_on_a_symmetric_road_give_a_mirrored_grid(
    ies: Photometry, tmp_path: Path
) -> None:
    # the fixture is symmetric about its C90-C270 plane (front and back of the pole alike),
    # the condition for the far row, turned round, to mirror the near row
    opposite = dataclasses.replace(BENCH, layout=lum.Layout.OPPOSITE)
    x, y = lum.luminance_grid_positions(opposite)
    lux = lum.layout_grid(ies, opposite, x, y).lux
    for j in range(len(y)):
        assert lux[j] == pytest.approx(lux[len(y) - 1 - j])
    # luminance: the observer in the first lane sees the mirror of what the last lane's sees
    # (with a β-dependent table, so the observer's position matters)
    result = lum.luminance_result(ies, opposite, _beta_table(tmp_path))
    first, last = result.grids[0], result.grids[-1]
    for j in range(len(y)):
        assert first[j] == pytest.approx(last[len(y) - 1 - j])


def test_staggered_and_opposite_rows_light_the_span_equally_on_average(
    ies: Photometry,
) -> None:
    # N = 12 points over a 35 m span: the far row's half-spacing shift is 6 whole steps of a
    # periodic field, so the span average is the same; the minimum is not
    opposite = dataclasses.replace(BENCH, layout=lum.Layout.OPPOSITE)
    staggered = dataclasses.replace(BENCH, layout=lum.Layout.STAGGERED)
    one_sided = BENCH
    x, y = lum.luminance_grid_positions(BENCH)

    def average(geometry: lum.RoadGeometry) -> float:
        values = [v for row in lum.layout_grid(ies, geometry, x, y).lux for v in row]
        return sum(values) / len(values)

    # (to 0.1 %: luminaires beyond 5 mounting heights are left out, whole spacings at a time,
    # so the two rows' cut-offs differ slightly)
    assert average(staggered) == pytest.approx(average(opposite), rel=1e-3)
    # the opposite row adds what the mirrored near row gives
    assert average(opposite) == pytest.approx(2 * average(one_sided), rel=1e-9)
    # but the staggered field is not the opposite one: its far row really is shifted
    stag = lum.layout_grid(ies, staggered, x, y).lux
    oppo = lum.layout_grid(ies, opposite, x, y).lux
    assert (
        max(
            abs(a - b)
            for r1, r2 in zip(stag, oppo, strict=True)
            for a, b in zip(r1, r2, strict=True)
        )
        > 1.0
    )


def test_a_narrow_unobstructed_strip_narrows_the_surround_strips(ies: Photometry) -> None:
    full = lum.surround_ratio(ies, BENCH)
    narrow = dataclasses.replace(BENCH, surround_strip=2.0)

    # strips of 2 m on both sides of the kerb: the hand ratio of the strip averages
    x, _ = lum.luminance_grid_positions(BENCH)

    def strip(y0: float, y1: float) -> float:
        ys = [y0 + (k + 0.5) * (y1 - y0) / 3 for k in range(3)]
        values = [v for row in lum.layout_grid(ies, narrow, x, ys).lux for v in row]
        return sum(values) / len(values)

    near = strip(-2, 0) / strip(0, 2)
    far = strip(15, 17) / strip(13, 15)
    assert lum.surround_ratio(ies, narrow) == pytest.approx(min(near, far))
    assert lum.surround_ratio(ies, narrow) > full  # nearer the kerb, less fall-off


def test_twin_central_arms_face_their_own_carriageways(ies: Photometry) -> None:
    twin = dataclasses.replace(BENCH, layout=lum.Layout.TWIN_CENTRAL, median_offset=1.0)

    found = lum.luminaires(twin, 0, 0)

    assert sorted((f.y, f.reversed) for f in found) == [(14.5, True), (17.5, False)]
    # the carriageway's far side (near the median) is the brighter one
    assert lum.horizontal_illuminance(ies, twin, 0, 14) > lum.horizontal_illuminance(
        ies, twin, 0, 1
    )


def test_the_ldt_fixture_gives_the_same_luminance_as_the_ies_fixture(ies: Photometry) -> None:
    table = lum.diffuse_r_table("R3")
    a = lum.luminance_result(ies, BENCH, table)
    b = lum.luminance_result(read_ldt(LDT), BENCH, table)

    assert (b.average, b.threshold_increment) == pytest.approx((a.average, a.threshold_increment))


def test_vertical_and_semicylindrical_illuminance_of_one_point_by_hand(
    ies: Photometry,
) -> None:
    # a one-lane road, 200 m spacing: luminaires at x = -200, 0, 200 and 400 m are counted
    # (5 mounting heights either side of the span, rounded out to whole spacings); points at
    # 1.5 m, faces looking +x and -x
    one = lum.RoadGeometry(width=3, lanes=1, spacing=200, mounting_height=10, overhang=1.5)
    x, y = lum.luminance_grid_positions(one)
    result = lum.pedestrian_illuminance(ies, one)

    ev_min = esc_min = math.inf
    for px in x:
        for py in y:
            for facing in (1, -1):
                ev = esc = 0.0
                for pole in (-200.0, 0.0, 200.0, 400.0):
                    dx, dy, dz = pole - px, 1.5 - py, 8.5
                    d = math.sqrt(dx * dx + dy * dy + dz * dz)
                    horizontal = math.hypot(dx, dy)
                    c = math.degrees(math.atan2(-dy, -dx))  # luminaire toward the point
                    gamma = math.degrees(math.atan2(horizontal, dz))
                    i = ies.intensity(c, gamma)
                    sin_e = horizontal / d
                    cos_phi = facing * dx / horizontal
                    ev += i * sin_e * max(cos_phi, 0) / d**2
                    esc += i * (1 + cos_phi) * sin_e / (math.pi * d**2)
                ev_min, esc_min = min(ev_min, ev), min(esc_min, esc)
    assert result.vertical_minimum == pytest.approx(ev_min)
    assert result.semicylindrical_minimum == pytest.approx(esc_min)


def test_ti_uses_initial_values_so_the_maintenance_factor_does_not_change_it(
    ies: Photometry,
) -> None:
    table = lum.diffuse_r_table("R3")
    new = dataclasses.replace(BENCH, maintenance_factor=1.0)

    maintained = lum.threshold_increment(ies, BENCH, table, lane=0)
    initial = lum.threshold_increment(ies, new, table, lane=0)

    assert maintained == pytest.approx(initial)
    # while L_av is maintained: 0.7 of the new installation's
    assert lum.luminance_result(ies, BENCH, table).average == pytest.approx(
        0.7 * lum.luminance_result(ies, new, table).average
    )
