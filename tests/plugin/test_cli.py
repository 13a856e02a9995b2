"""The `ycsa-conform` command (run as `python -m ycsa_conform`)."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ycsa_conform.resources import data_dir

SITE = data_dir("fixtures") / "sites" / "kunming-main-road.yaml"


def _cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "ycsa_conform", *args)


def test_every_shipped_file_validates(pytester: pytest.Pytester) -> None:
    files = [
        *data_dir("profiles").glob("*.yaml"),
        *(data_dir("benches") / "devicemaps").glob("*.yaml"),
        *data_dir("fixtures").rglob("*.yaml"),
    ]

    result = _cli(pytester, "validate", *map(str, files))

    assert result.ret == 0, result.stderr.str()
    assert result.stdout.str().count(": ok") == len(files) >= 6


def test_a_site_naming_its_evidence_file_validates_as_a_site(pytester: pytest.Pytester) -> None:
    # A copy of the fixture site beside the fixture evidence, naming it: both files have a
    # 'site:' key and an 'evidence:' key, and each is validated as what it is.
    fixtures = pytester.path / "fixtures"
    shutil.copytree(data_dir("fixtures"), fixtures)
    shutil.copytree(data_dir("benches") / "devicemaps", pytester.path / "benches" / "devicemaps")
    site = fixtures / "sites" / "kunming-main-road.yaml"
    site.write_text(
        "evidence: ../evidence/example.yaml\n" + site.read_text(encoding="utf-8"), encoding="utf-8"
    )
    # The example evidence is the bench's; a site's validation holds it to the site, as a run.
    evidence = fixtures / "evidence" / "example.yaml"
    text = evidence.read_text(encoding="utf-8")
    evidence.write_text(text.replace("site: bench-smart-pole", "site: kunming-main-road-demo"))

    result = _cli(pytester, "validate", str(site), str(evidence))

    assert result.ret == 0, result.stderr.str()
    assert result.stdout.str().count(": ok") == 2


def test_a_site_naming_another_sites_evidence_fails_validation_as_its_run_would(
    pytester: pytest.Pytester,
) -> None:
    fixtures = pytester.path / "fixtures"
    shutil.copytree(data_dir("fixtures"), fixtures)
    shutil.copytree(data_dir("benches") / "devicemaps", pytester.path / "benches" / "devicemaps")
    site = fixtures / "sites" / "kunming-main-road.yaml"
    site.write_text(
        "evidence: ../evidence/example.yaml\n" + site.read_text(encoding="utf-8"), encoding="utf-8"
    )

    result = _cli(pytester, "validate", str(site))

    assert result.ret == 1
    result.stderr.fnmatch_lines(
        ["*example.yaml:4: $.site: the evidence is for site 'bench-smart-pole', this run checks "
         "'kunming-main-road-demo'; give the evidence file of this site"]
    )  # fmt: skip


def test_profile_show_json_lists_requirements_with_refs(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "profile", "show", "smart-pole", "--json")

    data = json.loads(result.stdout.str())
    requirement = next(r for r in data["requirements"] if r["id"] == "SP-PWR-001")
    assert requirement["area"] == "power"
    assert requirement["check"] == "record"  # its 10-min record, else a measure check
    assert requirement["refs"][0]["source"] == "GB/T 12325-2008"
    assert requirement["refs"][0]["association_clause"] is None
    assert {r["area"] for r in data["requirements"]} >= {
        "mounting-load",
        "power",
        "lighting",
        "data-interface",
    }


def test_profiles_lists_the_built_in_profile(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "profiles")

    result.stdout.fnmatch_lines(["smart-pole *requirements*智慧灯杆*"])


def test_bench_faults_json_names_the_requirements_they_break(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "bench", "faults", "--json")

    faults = {f["name"]: f for f in json.loads(result.stdout.str())}
    assert faults["low-power-factor"]["breaks"] == ["SP-PWR-008"]
    assert faults["low-power-factor"]["verdict"] == "fail"
    assert faults["meter-timeout"]["verdict"] == "error"
    assert faults["dimming-not-honoured"]["untested"] == ["SP-PWR-008"]
    assert faults["low-power-factor"]["untested"] == []
    assert len(faults) >= 17


def test_bench_faults_lists_one_line_per_fault_with_its_verdict(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "bench", "faults")

    result.stdout.fnmatch_lines(
        [
            "smart-pole *low-power-factor * fail * SP-PWR-008: the LED driver's power factor *",
            "smart-pole *dimming-not-honoured * fail * (and untested: SP-PWR-008): the lamp *",
            "smart-pole *telemetry-schema-violation * SP-DATA-007 "
            "(and error: SP-DATA-009, SP-DATA-026): *",
            "smart-pole *tilt-device-failure * error * SP-LOAD-012, SP-DATA-019: the tilt sensor *",
            "smart-community *recorder-7-days * fail * SC-VID-001: the video recorder keeps *",
            "smart-community *undeclared-charger * marginal SC-EVC-005: a 25th charging point*",
        ]
    )


def test_a_reader_that_stops_early_gets_no_traceback(pytester: pytest.Pytester) -> None:
    # `ycsa-conform points | head -1`, made certain: a real pipe whose reader has already left.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        run = subprocess.run(
            [sys.executable, "-m", "ycsa_conform", "points"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            cwd=pytester.path,
        )
    finally:
        os.close(write_end)

    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "BrokenPipeError" not in run.stderr


def test_bench_faults_of_one_bench_as_json(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "bench", "faults", "--bench", "smart-community", "--json")

    rows = json.loads(result.stdout.str())
    assert {r["bench"] for r in rows} == {"smart-community"}
    assert {"alarms-delayed", "recorder-7-days"} <= {r["name"] for r in rows}
    assert all(r["errors"] == [] for r in rows)


def test_validate_of_a_file_that_is_none_of_the_kinds(pytester: pytest.Pytester) -> None:
    other = pytester.makefile(".yaml", other="hello: world\n")

    result = _cli(pytester, "validate", str(other))

    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["*other.yaml:1: $: not a profile, site, device map, evidence file, bench definition*"]
    )


def test_loads_prints_each_pole_with_its_checks(pytester: pytest.Pytester) -> None:
    site = data_dir("fixtures") / "sites" / "kunming-main-road.yaml"

    result = _cli(pytester, "loads", str(site), "--pole", "P001")

    assert result.ret == 1, result.stderr.str()  # P001 fails (vortex): exit 1, like a run
    result.stdout.fnmatch_lines(
        [
            "P001: 10 m Q355 circular tube Ø219→114×5.0 mm, terrain C, w0 0.35 kN/m², *",
            "*9.0–10.0 *",
            "  luminaire *10.00 *0.250 *1.300*",
            "  base shear * kN, base moment * kN·m, dead load * kN, top deflection * mm (first *",
            "  base stress *N/mm²*305 N/mm²*pass*",
            "  vortex v_cr *m/s*fail*8.5.3*",
            "  equipment mass *40 kg*150 kg*0.27*pass*",
            "  seismic: intensity 8 (0.2 g), α_max 0.16, Tg 0.45 s, *",
            "  base * 0.00  1.0×(1.3G + 1.5W) * pass",
            "  base * 0.00  1.2G + 1.3E + 0.2×1.4W * pass",
            "  luminaire * 10.00  2.05 *",
            "  1.0×(1.3G + 1.5W) * ultimate",
            "  P001: FAIL; recommended, not met: base weld fatigue (gust)",
        ]
    )
    assert "P002" not in result.stdout.str()


def test_loads_of_a_pole_whose_vortex_is_mitigated_agrees_row_and_summary(
    pytester: pytest.Pytester,
) -> None:
    # The bench declares a damper: the vortex row and the pole's summary say the same thing.
    result = _cli(pytester, "loads")

    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "  vortex v_cr *m/s*mitigated*8.5.3*",
            "  P001: pass (vortex: damper declared against v_cr *; check its test report)",
        ]
    )
    assert "  vortex v_cr" in result.stdout.str()
    assert not [line for line in result.stdout.lines if "vortex v_cr" in line and " fail " in line]


def test_loads_says_rayleigh_is_an_upper_bound(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "loads")

    result.stdout.fnmatch_lines(["P001: * (estimated, Rayleigh: an upper bound, ~1 % high), *"])


def test_loads_into_a_reader_that_stops_early_gets_no_traceback(
    pytester: pytest.Pytester,
) -> None:
    # `ycsa-conform loads SITE | head`, made certain: a real pipe whose reader has already left.
    site = data_dir("fixtures") / "sites" / "kunming-main-road.yaml"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        run = subprocess.run(
            [sys.executable, "-m", "ycsa_conform", "loads", str(site)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            cwd=pytester.path,
        )
    finally:
        os.close(write_end)

    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "BrokenPipeError" not in run.stderr


def test_loads_json_gives_the_same_numbers(pytester: pytest.Pytester) -> None:
    site = data_dir("fixtures") / "sites" / "kunming-main-road.yaml"

    result = _cli(pytester, "loads", str(site), "--json")

    data = json.loads(result.stdout.str())
    assert [p["pole"] for p in data["poles"]] == ["P001", "P002"]
    p001 = data["poles"][0]
    assert len(p001["segments"]) == 10
    assert p001["base_moment"]["unit"] == "kN·m"
    assert p001["base_moment"]["value"] > 0
    assert {c["name"]: c["verdict"] for c in p001["checks"]}["base stress"] == "pass"


def _tall_site(pytester: pytest.Pytester, height: str, luminaire: str) -> str:
    text = (data_dir("fixtures") / "sites" / "kunming-main-road.yaml").read_text(encoding="utf-8")
    devices = text.split("targets:")[0]
    site = pytester.makefile(
        ".yaml",
        site=devices + "targets:\n  - id: P009\n    kind: pole\n    design:\n"
        f"      height: {height}\n"
        "      terrain_category: C\n      basic_wind_pressure: 0.30 kN/m^2\n"
        "      base_diameter: 219 mm\n      top_diameter: 114 mm\n      wall_thickness: 5 mm\n"
        "      steel_grade: Q355\n      rated_equipment_mass: 150 kg\n"
        "      rated_attachment_moment: 8 kN*m\n      rated_equipment_area: 1 m^2\n"
        "      equipment:\n"
        f"        - {{name: luminaire, mass: 10 kg, area: 0.25 m^2, height: {luminaire}}}\n",
    )
    return str(site)


@pytest.mark.parametrize(
    ("height", "luminaire", "at", "path", "message"),
    [
        (
            "35 m",
            "34 m",
            "height: 34 m}",
            "$.targets[[]0[]].design.equipment[[]0[]].height",
            "height of 'luminaire' 34 m is above 30.0 m, where GB 50009-2012 Table 8.6.1 "
            "(βgz for attachments) stops as transcribed *",
        ),
        (
            "55 m",
            "20 m",
            "height: 55 m",
            "$.targets[[]0[]].design.height",
            "pole height 55 m is above 50.0 m, where GB 50009-2012 Table 8.2.1 (μz) stops *",
        ),
    ],
)
def test_validate_refuses_a_pole_that_loads_refuses_at_the_line_of_the_height(
    pytester: pytest.Pytester, height: str, luminaire: str, at: str, path: str, message: str
) -> None:
    site = _tall_site(pytester, height, luminaire)
    lines = Path(site).read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if text.rstrip().endswith(at))

    validated = _cli(pytester, "validate", site)
    loads = _cli(pytester, "loads", site)

    assert (validated.ret, loads.ret) == (4, 1)
    validated.stderr.fnmatch_lines([f"*site.yaml:{line}: {path}: {message}"])
    assert len(validated.stderr.lines) == 1
    loads.stderr.fnmatch_lines(["target P009: height * is above *, beyond the transcribed table*"])


def test_validate_accepts_a_pole_within_the_tables(pytester: pytest.Pytester) -> None:
    # 35 m with the luminaire at 30 m: loads computes it (the tables reach), so validate agrees
    site = _tall_site(pytester, "35 m", "30 m")

    assert _cli(pytester, "loads", site).ret in (0, 1)  # a verdict, not a refusal
    assert "beyond the transcribed table" not in _cli(pytester, "loads", site).stderr.str()
    assert "above" not in _cli(pytester, "validate", site).stderr.str()


def test_loads_names_the_missing_design_key_and_the_fix(pytester: pytest.Pytester) -> None:
    text = (data_dir("fixtures") / "sites" / "kunming-main-road.yaml").read_text(encoding="utf-8")
    devices = text.split("targets:")[0]
    site = pytester.makefile(
        ".yaml",
        site=devices + "targets:\n  - id: P009\n    kind: pole\n    design:\n      height: 10 m\n"
        "      terrain_category: C\n      basic_wind_pressure: 0.30 kN/m^2\n"
        "      top_diameter: 114 mm\n      wall_thickness: 5 mm\n      steel_grade: Q355\n",
    )

    result = _cli(pytester, "loads", str(site))

    assert result.ret == 1
    result.stderr.fnmatch_lines(
        [
            "target P009 declares no design.base_diameter (outside diameter *); "
            "add 'base_diameter: 219 mm' to its design block at *site.yaml:*: $.targets[[]0[]]"
        ]
    )
    assert len(result.stderr.lines) == 1


def test_validate_refuses_a_pole_loads_cannot_compute(pytester: pytest.Pytester) -> None:
    # A 20 mm wall of Q355 is past the 16 mm the design strength is transcribed for: `loads`
    # refuses the pole, and `validate` says so before a run (issue 15). (Heights beyond the
    # wind tables are refused where they are loaded, at the value's own line.)
    fixtures = pytester.path / "fixtures"
    shutil.copytree(data_dir("fixtures"), fixtures)
    shutil.copytree(data_dir("benches") / "devicemaps", pytester.path / "benches" / "devicemaps")
    site = fixtures / "sites" / "kunming-main-road.yaml"
    text = site.read_text(encoding="utf-8")
    assert "      wall_thickness: 5 mm\n" in text
    site.write_text(text.replace("      wall_thickness: 5 mm\n", "      wall_thickness: 20 mm\n"))

    checked = _cli(pytester, "validate", str(site))
    refused = _cli(pytester, "loads", str(site), "--pole", "P001")

    assert checked.ret == 1
    checked.stderr.fnmatch_lines(
        ["*kunming-main-road.yaml:16: $.targets[[]0]: target P001: wall thickness 20 mm is above*"]
    )
    assert refused.ret == 1
    refused.stderr.fnmatch_lines(["target P001: wall thickness 20 mm is above 16 mm*"])


def test_a_usage_mistake_of_any_kind_exits_4(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # argparse's own mistakes exit 2 elsewhere; here as pytest's usage error, like the rest.
    grid = tmp_path / "grid.csv"
    grid.write_bytes(b"y\\x (m),1.75\n0.625,caf\xe9\n")

    wrong_choice = _cli(pytester, "lighting", "--road-class", "IV", "--grade", "high")
    unreadable = _cli(pytester, "lighting", str(grid), "--road-class", "II", "--grade", "high")
    unknown_pole = _cli(pytester, "loads", "--pole", "P999")
    bad_param = _cli(pytester, "validate", "--param", "min_ra", str(SITE))

    assert [r.ret for r in (wrong_choice, unreadable, unknown_pole, bad_param)] == [4, 4, 4, 4]
    assert unreadable.stderr.lines == [
        f"{grid}:2: byte 0xe9 is not UTF-8 text (a binary file, "
        "or saved in another encoding such as GBK or Latin-1?); save the file as UTF-8"
    ]
    bad_param.stderr.fnmatch_lines(["ycsa-conform validate: --param 'min_ra': write it as KEY=*"])


def test_an_unexpected_exception_is_one_line_naming_the_verb_and_its_files(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bug cannot be had on purpose: this stands one in for the `loads` verb. Its text holds
    # what a bug's message might (a value read from a file): it is not shown.
    from ycsa_conform import cli

    def broken(args: object) -> int:
        raise KeyError("password=s3cr3t")

    monkeypatch.setattr(cli, "_cmd_loads", broken)

    status = cli.main(["loads", str(SITE)])

    captured = capsys.readouterr()
    assert status == cli.INTERNAL == 3
    assert captured.out == ""
    assert "s3cr3t" not in captured.err
    assert "Traceback" not in captured.err
    (line,) = captured.err.splitlines()
    assert fnmatch.fnmatch(
        line,
        f"ycsa-conform loads: internal error (KeyError at cli.py:*) with {SITE}; this is a bug "
        "in ycsa-conform, not in the input: report it with the command line and the files",
    )


def test_restore_of_a_journal_from_two_sites_asks_which_and_changes_nothing(
    tmp_path: Path,
) -> None:
    # Two field runs of different sites shared a report folder: restore cannot guess whose
    # devices to write to; it is a usage error (4, as every verb's), and the journal stays.
    lines = [
        {"op": "pending", "site": str(tmp_path / f"{name}.yaml"), "target": target}
        | {"role": "lamp", "point": "lamp_on", "prior": True}
        for name, target in (("north", "N01"), ("south", "S01"))
    ]
    journal = tmp_path / "restore.jsonl"
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    before = journal.read_bytes()

    result = subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "restore", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 4, result.stderr
    assert "points of 2 sites are pending" in result.stderr
    assert "give the one to restore with --site" in result.stderr
    assert journal.read_bytes() == before
