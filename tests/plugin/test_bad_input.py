"""Bad user files stop the run with one `FILE:LINE: $.path: message` line each, no traceback."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from ycsa_conform.resources import data_dir

PROFILE = (data_dir("profiles") / "smart-pole.yaml").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _run_with_profile(pytester: pytest.Pytester, text: str) -> pytest.RunResult:
    path = pytester.path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    return pytester.runpytest("--profile", str(path))


def _assert_clean_stop(result: pytest.RunResult) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_unit_of_wrong_dimension(pytester: pytest.Pytester) -> None:
    text = PROFILE.replace('limit: "198 V .. 231 V"', 'limit: "198 lx .. 231 lx"')
    line = _line_of(text, '"198 lx .. 231 lx"')

    result = _run_with_profile(pytester, text)

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(
        [
            f"ERROR: *bad.yaml:{line}: $.requirements[[]*[]].check.limit: '198 lx' in "
            "'198 lx .. 231 lx' has the wrong dimension for supply_voltage, which is in V; "
            "give the limit in V"
        ]
    )


def test_unknown_key(pytester: pytest.Pytester) -> None:
    text = PROFILE.replace("status: draft\n", "status: draft\nstatuss: released\n")
    line = _line_of(text, "statuss:")

    result = _run_with_profile(pytester, text)

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(
        [f"ERROR: *bad.yaml:{line}: $.statuss: unknown key 'statuss'; did you mean 'status'? *"]
    )


def test_broken_yaml(pytester: pytest.Pytester) -> None:
    text = PROFILE.replace("targets: [pole]", "targets: [pole")

    result = _run_with_profile(pytester, text)

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(["ERROR: *bad.yaml:*: $: broken YAML: *"])


def test_missing_profile_names_the_built_in_ones(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", "smart-poles")

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(
        [
            "ERROR: smart-poles: $: no such profile; did you mean 'smart-pole'? "
            "built-in profiles are smart-community, smart-pole*"
        ]
    )


def test_bad_site_uri_names_file_line_and_fix(pytester: pytest.Pytester) -> None:
    maps = data_dir("benches") / "devicemaps"
    site = pytester.path / "site.yaml"
    site.write_text(
        "site: demo\n"
        "kind: field\n"
        "targets:\n"
        "  - id: P001\n"
        "    kind: pole\n"
        "    devices:\n"
        "      lamp:\n"
        "        uri: modbus-tcp://10.0.0.21\n"
        f"        map: {maps / 'lamp-controller.yaml'}\n",
        encoding="utf-8",
    )

    result = pytester.runpytest("--profile", "smart-pole", "--site", str(site))

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(
        ["ERROR: *site.yaml:8: $.targets[[]0[]].devices.lamp.uri: *has no unit id; add '?unit=1'*"]
    )


def test_unknown_param_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", "smart-pole", "--param", "road_clas=II")

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(["ERROR: --param road_clas=II: unknown parameter 'road_clas'*"])


def test_param_of_wrong_dimension(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--profile", "smart-pole", "--param", "lighting_power_density_max=0.65 m"
    )

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(["ERROR: --param lighting_power_density_max=0.65 m: *W/m²*"])


def test_param_changes_the_verdict(pytester: pytest.Pytester) -> None:
    # Dali's 50-year w0 is 0.65 kN/m² (GB 50009-2012 Table E.5); the bench pole is designed
    # for 0.35.
    result = pytester.runpytest("--profile", "smart-pole", "--param", "city=Dali", "-k", "LOAD-001")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*design w0 0.35 kN/m² ÷ required w0 0.65 kN/m² (Dali*"])


def test_validate_cli_reports_every_bad_file(pytester: pytest.Pytester, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROFILE.replace("level: mandatory", "level: must", 1), encoding="utf-8")
    good = data_dir("profiles") / "smart-pole.yaml"

    result = pytester.run(sys.executable, "-m", "ycsa_conform", "validate", str(good), str(bad))

    assert result.ret == 4
    result.stdout.fnmatch_lines([f"{good}: ok"])
    result.stderr.fnmatch_lines(
        ['*bad.yaml:*: $.requirements[[]0[]].level: "must" is not allowed*']
    )


@pytest.mark.parametrize(
    ("param", "problem"),
    [
        ("min_ra=true", "'true' is not a finite number; write a plain number, like '0.9'"),
        ("min_ra=nan", "'nan' is not a finite number; write a plain number, like '0.9'"),
        ("min_ra=1e400", "'1e400' is not a finite number; write a plain number, like '0.9'"),
        ("heartbeat_window=1e400 s", "'1e400 s' is not a finite number*"),
    ],
)
def test_a_non_finite_param_is_refused(pytester: pytest.Pytester, param: str, problem: str) -> None:
    # 'true' for a number parameter used to become NaN, and NaN meets every limit.
    result = pytester.runpytest("--profile", "smart-pole", "--param", param)

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines([f"ERROR: --param {param}: {problem}"])


def test_an_impossible_date_in_a_site_is_a_usage_error(pytester: pytest.Pytester) -> None:
    # An unquoted date with month 13 crashed pytest (INTERNALERROR) when the site was loaded.
    site = pytester.path / "site.yaml"
    site.write_text("site: demo\nkind: field\nissued: 2026-13-01\ntargets: []\n")

    result = pytester.runpytest("--profile", "smart-pole", "--site", str(site))

    _assert_clean_stop(result)
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(["ERROR: *site.yaml:3: $.issued: '2026-13-01' is not a real date*"])


def test_a_param_outside_its_plausible_range_stops_the_run(pytester: pytest.Pytester) -> None:
    # 1e12 s overflowed the window arithmetic; 0 s where a window is needed divided by zero.
    result = pytester.runpytest("--profile", "smart-pole", "--param", "voltage_window=1e12 s")

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(
        [
            "ERROR: --param voltage_window=1e12 s: '1e12 s' lies outside the plausible range "
            "0.1 s .. 86400 s of voltage_window; give a value within it"
        ]
    )


@pytest.mark.parametrize("option", ["--report-dir", "--record"])
def test_a_folder_option_naming_a_file_stops_the_run_before_it_starts(
    pytester: pytest.Pytester, option: str
) -> None:
    pytester.makefile(".txt", taken="a file\n")

    result = pytester.runpytest("--profile", "smart-pole", option, "taken.txt")

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(
        [f"ERROR: {option} taken.txt: taken.txt is a file, not a folder; name a folder*"]
    )


def test_a_damaged_recording_stops_the_replay_at_its_line(pytester: pytest.Pytester) -> None:
    folder = pytester.path / "recorded"
    shutil.copytree(Path(__file__).parents[1] / "unit" / "data" / "recording", folder)
    with (folder / "traffic.jsonl").open("a", encoding="utf-8") as traffic:
        traffic.write('{"target": "P001", "device": "lamp", "direction": "rx", "response": 7}\n')
    lines = (folder / "traffic.jsonl").read_text(encoding="utf-8").count("\n")

    result = pytester.runpytest("--profile", "smart-pole", "--replay", str(folder))

    _assert_clean_stop(result)
    result.stderr.fnmatch_lines(
        [
            f"ERROR: {folder}/traffic.jsonl:{lines}: 'response' is not an object; the "
            "recording is damaged; record the run again with --record"
        ]
    )


def test_an_unexpected_exception_while_loading_is_one_line_without_its_text(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bug cannot be had on purpose: this stands one in where the session loads its files.
    # Its text holds what a bug's message might (a value read from a file): it is not shown.
    from ycsa_conform.pytest_plugin import collection

    def broken(config: pytest.Config) -> object:
        raise TypeError("token=s3cr3t-value")

    monkeypatch.setattr(collection, "build_state", broken)

    result = pytester.runpytest("--profile", "smart-pole", "--param", "city=Dali")

    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output
    assert "s3cr3t" not in output
    result.stderr.fnmatch_lines(
        [
            "Exit: ycsa-conform: internal error (TypeError at *.py:*) while loading "
            "the profiles, the site and its files with --profile smart-pole, --param city=Dali; "
            "this is a bug in ycsa-conform, not in the input: report it with the command line "
            "and the files"
        ]
    )
