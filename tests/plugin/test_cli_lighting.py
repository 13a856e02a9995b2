"""`ycsa-conform lighting`: a measured grid against CJJ 45-2015, optionally an IES prediction."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ycsa_conform.resources import data_dir

GRID = data_dir("fixtures") / "records" / "kunming-main-road-lighting-grid.csv"
IES = data_dir("fixtures") / "photometry" / "synthetic-led-road-120w.ies"
LAYOUT = ("--spacing", "35m", "--height", "10m", "--overhang", "1.5m", "--tilt", "5deg")


def _cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "ycsa_conform", "lighting", *args)


def test_lighting_prints_the_grid_figures_and_the_verdict_with_limits(
    pytester: pytest.Pytester,
) -> None:
    result = _cli(pytester, str(GRID), "--road-class", "II", "--grade", "high")

    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "*kunming-main-road-lighting-grid.csv: 120 points, centre-point method (GB/T 5700)",
            "measured   Eav 20.7 lx  Emin 8.3 lx  Emax 45.2 lx  UE 0.40",
            "CJJ 45-2015 Table 3.3.1, class II high grade:",
            "  Eav   20.7 lx >= 20 lx [S]  pass",
            "  UE       0.40 >= 0.4 [S]  pass",
            "verdict: pass",
        ]
    )


def test_lighting_with_ies_adds_the_predicted_grid(pytester: pytest.Pytester) -> None:
    result = _cli(
        pytester,
        str(GRID),
        "--road-class",
        "II",
        "--grade",
        "high",
        "--method",
        "corners",
        "--ies",
        str(IES),
        *LAYOUT,
        "--road-width",
        "15m",
    )

    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "*120 points, four-corner method (GB/T 5700)",
            "measured   Eav 20.2 lx *",
            "predicted  Eav 19.* lx * (synthetic-led-road-120w.ies, 35 m spacing, 10 m high, *",
        ]
    )


def test_lighting_json_has_checks_with_limit_and_confidence(pytester: pytest.Pytester) -> None:
    result = _cli(
        pytester,
        str(GRID),
        "--road-class",
        "I",
        "--grade",
        "high",
        "--json",
        "--ies",
        str(IES),
        *LAYOUT,
        "--road-width",
        "15m",
    )

    assert result.ret == 0, result.stderr.str()
    data = json.loads(result.stdout.str())
    assert data["measured"]["points"] == 120
    assert data["measured"]["average_lx"] == pytest.approx(20.734, abs=0.001)
    assert data["checks"][0] == {
        "name": "Eav",
        "value": pytest.approx(20.734, abs=0.001),
        "limit": 30.0,
        "unit": "lx",
        "verdict": "fail",
        "source": "CJJ 45-2015 Table 3.3.1",
        "confidence": "S",
    }
    assert data["verdict"] == "fail"
    assert 19 < data["predicted"]["average_lx"] < 21


def test_lighting_bad_csv_exits_4_with_one_line_naming_file_and_line(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    bad = tmp_path / "grid.csv"
    bad.write_text("y\\x (m),1.75,5.25\n0.625,20.5\n", encoding="utf-8")

    result = _cli(pytester, str(bad), "--road-class", "II", "--grade", "high")

    assert result.ret == 4
    assert result.stderr.lines == [
        f"{bad}:2: row has 1 lux readings, the header has 2 x positions; "
        "give one reading per x position"
    ]


def test_lighting_ies_without_a_layout_option_says_which_is_missing(
    pytester: pytest.Pytester,
) -> None:
    result = _cli(
        pytester, str(GRID), "--road-class", "II", "--grade", "high", "--ies", str(IES), *LAYOUT
    )

    assert result.ret == 4
    result.stderr.fnmatch_lines(["ycsa-conform lighting: --ies needs --road-width, like 35m"])


@pytest.mark.parametrize("tilt", ["5m", "0.1", "5"])
def test_lighting_rejects_a_tilt_that_is_not_an_angle(pytester: pytest.Pytester, tilt: str) -> None:
    # A bare number is refused too: pint reads it as radians ('0.1' would be a 5.7° tilt
    # judged as if given, '5' a 286° one refused as implausible with a confusing range).
    result = _cli(
        pytester,
        str(GRID),
        "--road-class",
        "II",
        "--grade",
        "high",
        "--ies",
        str(IES),
        *LAYOUT[:-1],
        tilt,
        "--road-width",
        "15m",
    )

    assert result.ret == 4
    result.stderr.fnmatch_lines([f"*--tilt '{tilt}' is not an angle; write it like 5deg"])


LDT = data_dir("fixtures") / "photometry" / "synthetic-led-road-120w.ldt"


def test_lighting_json_gives_the_luminance_grid_point_by_point_from_an_ldt_file(
    pytester: pytest.Pytester,
) -> None:
    result = _cli(
        pytester,
        str(GRID),
        "--road-class",
        "II",
        "--grade",
        "high",
        "--ies",
        str(LDT),
        *LAYOUT,
        "--road-width",
        "15m",
        "--layout",
        "staggered",
        "--lanes",
        "4",
        "--json",
    )

    assert result.ret == 0, result.stderr.str()
    data = json.loads(result.stdout.str())
    luminance = data["luminance"]
    grid = luminance["grid"]
    assert (len(grid["x_m"]), len(grid["y_m"])) == (12, 12)  # 35 m: N = 12; 3 per lane
    assert [o["y_m"] for o in grid["observers"]] == [1.875, 5.625, 9.375, 13.125]
    values = [v for row in grid["observers"][0]["cd_m2"] for v in row]
    assert luminance["minimum_cd_m2"] <= min(values)
    assert luminance["surface"] == {
        "table": "diffuse stand-in for R3 (r = Q0·cos³γ, Q0 0.07)",
        "confidence": "I",
    }
    assert {c["name"] for c in luminance["checks"]} == {"L_av", "U0", "UL", "TI", "SR"}
    predicted = data["predicted"]["grid"]
    assert len(predicted["lux"]) == len(predicted["y_m"])  # the illuminance points as well
    assert "staggered" in data["predicted"]["layout"]


def test_lighting_site_json_has_the_luminance_and_the_predicted_points(
    pytester: pytest.Pytester,
) -> None:
    result = _cli(pytester, "--bench", "smart-pole", "--json")

    assert result.ret == 0, result.stderr.str()
    pole = json.loads(result.stdout.str())["poles"][0]
    assert all(c["verdict"] == "pass" for c in pole["luminance"]["checks"])
    assert len(pole["predicted"]["grid"]["lux"]) == 12  # rows by y: 4 lanes × 3


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--spacing", "0m", "--spacing '0m' is not a plausible spacing (within 1 .. 200 m)"),
        (
            "--spacing",
            "1e300m",
            "--spacing '1e300m' is not a plausible spacing (within 1 .. 200 m)",
        ),
        ("--tilt", "95deg", "--tilt '95deg' is not a plausible tilt (within -45 .. 45 °)"),
        ("--maintenance-factor", "nan", "--maintenance-factor nan must lie above 0 and at most 1"),
    ],
)
def test_a_layout_number_no_road_has_is_a_usage_error(
    pytester: pytest.Pytester, option: str, value: str, message: str
) -> None:
    # 0 m divided by zero and 1e300 m overflowed inside the calculation (a traceback before).
    args = dict(zip(LAYOUT[::2], LAYOUT[1::2], strict=True))
    args["--road-width"] = "15m"
    args[option] = value
    flat = [part for pair in args.items() for part in pair]

    result = _cli(
        pytester, str(GRID), "--road-class", "II", "--grade", "high", "--ies", str(IES), *flat
    )

    assert result.ret == 4
    assert result.stderr.lines == [f"ycsa-conform lighting: {message}"]
