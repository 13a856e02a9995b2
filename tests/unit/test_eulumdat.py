"""EULUMDAT (.ldt) files: the same Photometry as the IES reader, symmetries unfolded, errors.

The .ldt fixture describes the IES fixture's luminaire (stored as Isym 3, C90..C270, in cd/klm
of a 10 000 lm lamp set); the small files here are written by the tests field by field after
the public EULUMDAT layout, not by the module under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ycsa_conform.engineering.photometry import read_ies, read_ldt, read_photometry
from ycsa_conform.errors import InputError
from ycsa_conform.resources import data_dir

IES = data_dir("fixtures") / "photometry" / "synthetic-led-road-120w.ies"
LDT = data_dir("fixtures") / "photometry" / "synthetic-led-road-120w.ldt"


def test_the_ldt_fixture_gives_the_ies_fixture_s_intensities_everywhere() -> None:
    ies, ldt = read_ies(IES), read_ldt(LDT)

    # on the file grid and between its angles, all the way round (C 90..270 unfolded)
    for c in [*range(0, 360, 15), 7.5, 100.0, 200.0, 301.0, 359.0]:
        for gamma in [*range(0, 95, 5), 2.5, 47.0, 88.0]:
            assert ldt.intensity(c, gamma) == pytest.approx(ies.intensity(c, gamma), abs=1e-6)
    assert ldt.input_power.to("W").magnitude == pytest.approx(120)


def test_read_photometry_chooses_the_reader_by_the_file_s_extension() -> None:
    assert read_photometry(LDT).keywords["FORMAT"] == "EULUMDAT"
    assert "FORMAT" not in read_photometry(IES).keywords


def _ldt(
    tmp_path: Path,
    *,
    isym: int,
    mc: int,
    gammas: list[float],
    planes: list[list[float]],
    flux: float = 1000.0,
    factor: float = 1.0,
) -> Path:
    dc = 360 / mc
    lines = ["maker", "1", str(isym), str(mc), f"{dc:g}", str(len(gammas)), "45", "report"]
    lines += ["name", "number", "file.ldt", "date", "100", "50", "20", "100", "50", "0"]
    lines += ["0", "0", "0", "100", "90", f"{factor:g}", "0", "1"]
    lines += ["1", "LED", f"{flux:g}", "4000", "70", "50"]  # one lamp set
    lines += ["0.5"] * 10  # direct ratios
    lines += [f"{k * dc:g}" for k in range(mc)]
    lines += [f"{g:g}" for g in gammas]
    lines += [f"{v:g}" for plane in planes for v in plane]
    path = tmp_path / "small.ldt"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


def test_isym_1_is_the_same_in_every_c_plane(tmp_path: Path) -> None:
    path = _ldt(tmp_path, isym=1, mc=4, gammas=[0, 45, 90], planes=[[300, 200, 0]], flux=2000)

    found = read_ldt(path)

    # cd/klm × 2000 lm / 1000
    assert [found.intensity(c, 45) for c in (0, 77, 200)] == pytest.approx([400, 400, 400])
    assert found.intensity(0, 22.5) == pytest.approx(500)  # halfway between 600 and 400


def test_isym_4_mirrors_the_quadrant_into_the_other_three(tmp_path: Path) -> None:
    # Mc = 4 (C 0, 90, 180, 270); stored: C0 and C90
    path = _ldt(tmp_path, isym=4, mc=4, gammas=[0, 90], planes=[[100, 10], [100, 30]])

    found = read_ldt(path)

    assert found.intensity(180, 90) == pytest.approx(10)  # C180 mirrors C0
    assert found.intensity(270, 90) == pytest.approx(30)  # C270 mirrors C90
    assert found.intensity(315, 90) == pytest.approx(20)  # mirrors C45, halfway


def test_isym_2_keeps_the_two_sides_of_the_c90_plane_apart(tmp_path: Path) -> None:
    # stored C0, C90, C180: street side (C90) and house side (C270 = C90 mirrored)
    path = _ldt(tmp_path, isym=2, mc=4, gammas=[0, 90], planes=[[1, 10], [1, 20], [1, 40]])

    found = read_ldt(path)

    assert (found.intensity(0, 90), found.intensity(180, 90)) == pytest.approx((10, 40))
    assert found.intensity(270, 90) == pytest.approx(20)


def test_isym_0_closes_the_circle_between_the_last_plane_and_c0(tmp_path: Path) -> None:
    planes = [[0, 10], [0, 20], [0, 30], [0, 40]]  # C 0, 90, 180, 270
    path = _ldt(tmp_path, isym=0, mc=4, gammas=[0, 90], planes=planes, factor=2)

    found = read_ldt(path)

    assert found.intensity(315, 90) == pytest.approx(2 * 25)  # between C270 (40) and C0 (10)


def test_a_symmetry_indicator_out_of_range_names_file_line_and_fix(tmp_path: Path) -> None:
    path = _ldt(tmp_path, isym=5, mc=4, gammas=[0], planes=[[1]])

    with pytest.raises(InputError) as caught:
        read_ldt(path)

    assert str(caught.value).startswith(f"{path}:3: symmetry indicator 5 is not 0..4 — use 0")


def test_a_cut_short_table_says_which_value_is_missing(tmp_path: Path) -> None:
    path = _ldt(tmp_path, isym=1, mc=4, gammas=[0, 45, 90], planes=[[300, 200]])

    with pytest.raises(InputError, match=r"ends before line \d+ \(intensity at C 0° γ 90°\)"):
        read_ldt(path)


def test_extra_values_after_the_table_are_refused(tmp_path: Path) -> None:
    path = _ldt(tmp_path, isym=1, mc=4, gammas=[0, 90], planes=[[3, 2, 1]])

    with pytest.raises(InputError, match=r"small.ldt:\d+: unexpected '1' after the intensity"):
        read_ldt(path)


def test_a_word_where_a_number_belongs_is_named_with_its_line(tmp_path: Path) -> None:
    path = _ldt(tmp_path, isym=1, mc=4, gammas=[0], planes=[[1]])
    lines = path.read_text(encoding="latin-1").splitlines()
    lines[5] = "many"  # Ng, line 6
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")

    with pytest.raises(InputError, match=r"small.ldt:6: the number of γ angles Ng 'many' is not"):
        read_ldt(path)
