"""The main job, `pytest --profile smart-pole`, run through pytester against the real bench."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ycsa_conform.profile.loader import load_profile

# Every requirement of the built-in profile is one item per bench pole.
N = len(load_profile("smart-pole").requirements)

AREAS = {"mounting-load", "power", "lighting", "data-interface", "general"}


def _report(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    return data


def _schema() -> dict[str, Any]:
    text = (resources.files("ycsa_conform") / "schemas" / "report.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_main_job_conforms_and_writes_valid_reports(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", "smart-pole", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=N)
    assert result.ret == pytest.ExitCode.OK
    # The report's place is printed whole: the README's main job runs in a temporary folder.
    result.stdout.fnmatch_lines(["*Conforms*", f"report: {pytester.path}/ycsa-report/*report.json"])
    report = _report(pytester)
    jsonschema.validate(report, _schema())
    assert report["site"]["kind"] == "bench"
    assert report["summary"]["total"] >= 12
    assert report["summary"]["fail"] == report["summary"]["error"] == 0
    assert {r["area"] for r in report["results"]} == AREAS
    assert report["profiles"][0]["id"] == "smart-pole"
    html = (pytester.path / "ycsa-report" / "report.html").read_text(encoding="utf-8")
    assert "SP-PWR-008" in html
    assert "灯具满功率功率因数" in html


def test_every_measure_result_names_its_source_device(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--profile", "smart-pole", "-k", "SP-PWR-008")

    (result,) = _report(pytester)["results"]
    (measurement,) = result["measurements"]
    assert measurement["name"] == "power_factor"
    assert measurement["source"]["device"] == "lamp"
    assert measurement["source"]["scheme"] == "modbus-rtu"
    assert 0.9 <= measurement["value"] <= 1.0


def test_a_run_stopped_at_the_first_failure_reports_what_was_decided(
    pytester: pytest.Pytester,
) -> None:
    # -x stops pytest while requirements after the failure are still being decided: they end
    # (putting back what they changed) or are cancelled, and the report holds what ran.
    result = pytester.runpytest(
        "--profile", "smart-pole", "--bench-fault", "low-power-factor", "-x", "-p", "no:randomly"
    )

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = _report(pytester)
    verdicts = {r["requirement"]: r["verdict"] for r in report["results"]}
    assert verdicts.pop("SP-PWR-008") == "fail"
    assert set(verdicts.values()) <= {"pass"}
    assert len(report["results"]) < N
    assert report["incidents"] == []
    assert "Traceback" not in result.stdout.str()


def test_low_power_factor_fault_fails_only_that_requirement(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", "smart-pole", "--bench-fault", "low-power-factor")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=N - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED smart-pole::SP-PWR-008[[]P001[]]*",
        ]
    )
    result.stdout.fnmatch_lines(["SP-PWR-008 power_factor: 0.82 is below 0.9 (*"])
    assert "Traceback" not in result.stdout.str()
    verdicts = {r["requirement"]: r["verdict"] for r in _report(pytester)["results"]}
    assert verdicts.pop("SP-PWR-008") == "fail"
    assert set(verdicts.values()) == {"pass"}


# Every fault is run against the profile in tests/bench/test_fault_catalogue.py; here a few go
# through the plugin end to end: a value out of limits on two devices, a device that answers
# with a Modbus exception (error), a gateway payload that is not JSON (fail).
@pytest.mark.parametrize(
    "fault", ["overvoltage", "tilt-device-failure", "telemetry-malformed-json"]
)
def test_each_bench_fault_breaks_what_it_names(pytester: pytest.Pytester, fault: str) -> None:
    from ycsa_conform.bench import FAULTS

    result = pytester.runpytest("--profile", "smart-pole", "--bench-fault", fault)

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    verdicts = {r["requirement"]: r["verdict"] for r in _report(pytester)["results"]}
    # `breaks` take the fault's verdict; a failing fault's `errors` are left undecidable.
    broken = {k for k, v in verdicts.items() if v != "pass"}
    assert broken == set(FAULTS[fault].breaks) | set(FAULTS[fault].errors)
    assert {verdicts[k] for k in FAULTS[fault].breaks} == {FAULTS[fault].verdict.value}
    assert {verdicts[k] for k in FAULTS[fault].errors} <= {"error"}
    outcome = "failed" if FAULTS[fault].verdict == "fail" else "errors"
    counts = {outcome: len(FAULTS[fault].breaks)}
    counts["errors"] = counts.get("errors", 0) + len(FAULTS[fault].errors)
    result.assert_outcomes(passed=len(verdicts) - len(broken), **counts)


def test_device_silence_is_an_error_with_the_cause(pytester: pytest.Pytester) -> None:
    from ycsa_conform.bench import FAULTS

    result = pytester.runpytest("--profile", "smart-pole", "--bench-fault", "meter-timeout")

    silenced = len(FAULTS["meter-timeout"].breaks)
    result.assert_outcomes(passed=N - silenced, errors=silenced)
    result.stdout.fnmatch_lines(
        [
            "*SP-PWR-001 cannot be decided: supply_voltage: no answer from meter at dlt645://*",
            "*SP-PWR-004 cannot be decided: frequency: DI 02800002 not asked, the meter was "
            "silent earlier in this poll - supply_voltage: no answer from meter at *",
        ]
    )


def test_unknown_fault_is_a_usage_error_listing_the_catalogue(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--profile", "smart-pole", "--bench-fault", "low-power")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --bench-fault: *low-power*low-power-factor*"])


def test_ids_select_by_requirement_and_target(pytester: pytest.Pytester) -> None:
    by_requirement = pytester.runpytest("--profile", "smart-pole", "-k", "SP-PWR-001")
    by_requirement.assert_outcomes(passed=1)
    by_target = pytester.runpytest("--profile", "smart-pole", "-k", "P001", "--co", "-q")
    by_target.stdout.fnmatch_lines(["smart-pole::SP-LOAD-001[[]P001[]]", f"*{N} tests collected*"])
    by_marker = pytester.runpytest("--profile", "smart-pole", "-m", "power and mandatory")
    power_mandatory = [
        r
        for r in load_profile("smart-pole").requirements
        if r.area == "power" and r.level == "mandatory"
    ]
    assert len(power_mandatory) >= 8
    by_marker.assert_outcomes(passed=len(power_mandatory))


def test_last_failed_reruns_only_the_failed_requirement(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--profile", "smart-pole", "--bench-fault", "pole-tilt")

    rerun = pytester.runpytest("--profile", "smart-pole", "--lf")

    rerun.assert_outcomes(passed=1, deselected=N - 1)


def test_profile_run_does_not_collect_unrelated_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_unrelated="def test_unrelated():\n    assert False\n")

    alone = pytester.runpytest("--profile", "smart-pole")
    alone.assert_outcomes(passed=N)
    with_path = pytester.runpytest("--profile", "smart-pole", "test_unrelated.py")
    with_path.assert_outcomes(passed=N, failed=1)


def test_user_tests_use_the_device_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_own="""
        def test_lamp_power_factor_is_read_over_modbus(ycsa_device, ycsa_site):
            lamp = ycsa_device("P001", "lamp")
            assert lamp.source.scheme == "modbus-rtu"
            assert 0.9 < lamp.read("power_factor").value.m <= 1.0
            assert ycsa_site.kind == "bench"
        """
    )

    result = pytester.runpytest("--profile", "smart-pole", "test_own.py", "-k", "own")

    result.assert_outcomes(passed=1, deselected=N)


def test_alias_option_runs_the_profile(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--ycsa-profile", "smart-pole", "-k", "SP-LUM")
    lighting = [r for r in load_profile("smart-pole").requirements if "SP-LUM" in r.id]
    assert len(lighting) >= 5
    result.assert_outcomes(passed=len(lighting))


def test_other_plugin_owning_profile_option_is_reported_and_alias_works(
    pytester: pytest.Pytester,
) -> None:
    # The stand-in for pytest-profiling (not installed here): a conftest that claims --profile.
    pytester.makeconftest(
        """
        def pytest_addoption(parser):
            parser.addoption("--profile", action="store_true", help="profiling")
        """
    )

    result = pytester.runpytest("--ycsa-profile", "smart-pole", "-k", "SP-LUM-001")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*--profile belongs to another plugin*use --ycsa-profile*"])


def test_xdist_workers_report_to_one_report(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--profile", "smart-pole", "-n", "2", "--record", "rec")

    result.assert_outcomes(passed=N)
    report = _report(pytester)
    assert report["summary"]["pass"] == N
    # One bench, the controller's: the workers measured the devices the report lists (a bench
    # of their own would have other ports and ptys).
    measured = {
        m["source"]["address"].split("?")[0]  # scheme, host:port or port path
        for r in report["results"]
        for m in r["measurements"]
        if m["source"] and "://" in m["source"]["address"]
    }
    assert len(measured) >= 4
    assert measured <= {d["address"].split("?")[0] for d in report["devices"]}
    # The pole's requirements all went to one worker: one traffic file has every exchange.
    busy = [
        f.name
        for f in sorted((pytester.path / "rec").glob("traffic-gw*.jsonl"))
        if f.stat().st_size
    ]
    assert len(busy) == 1, busy


def test_report_dir_option(pytester: pytest.Pytester, tmp_path: Path) -> None:
    target = tmp_path / "out"
    pytester.runpytest("--profile", "smart-pole", "-k", "SP-LUM-001", "--report-dir", str(target))

    # The run has its own folder, named in LATEST (and by the `latest` link); its report is
    # also copied to the top of the folder, where earlier versions wrote it.
    run = target / (target / "LATEST").read_text().strip()
    assert run.parent == target / "runs"
    assert (target / "latest").resolve() == run.resolve()
    assert (target / "report.json").read_bytes() == (run / "report.json").read_bytes()
    assert json.loads((target / "report.json").read_text())["summary"]["total"] == 1
    lines = [json.loads(line) for line in (run / "journal.jsonl").read_text().splitlines()]
    assert [line["type"] for line in lines] == ["run", "plan", "result", "end"]
    assert lines[2]["requirement"] == "SP-LUM-001"


def test_main_job_needs_nothing_outside_pip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With neither mosquitto nor socat on PATH the bench falls back to the embedded broker
    # (bench/mqtt_server.py) and the pure-Python pty bridge, and the profile still reads all
    # four schemes.
    monkeypatch.setenv("PATH", str(pytester.path / "empty-bin"))

    result = pytester.runpytest("--profile", "smart-pole")

    result.assert_outcomes(passed=N)
    report = _report(pytester)
    schemes = {
        m["source"]["scheme"] for r in report["results"] for m in r["measurements"] if m["source"]
    }
    # Besides the four device schemes, records and evidence are read from files.
    assert schemes - {"file"} == {"modbus-tcp", "modbus-rtu", "dlt645", "mqtt"}
    result.stdout.fnmatch_lines(["*'modbus_rtu': '/dev/pts/*"])  # the bridge's ptys, not socat's
    # Sampled windows and actuations poll afresh, so requests may exceed the coalesced minimum
    # (one poll of each device's planned reads) but never fall short of it; the summary line
    # counts what the report holds.
    traffic = report["traffic"]["devices"]
    sent = [d["transactions"] - d["observations"] - d["probes"] for d in traffic]
    assert all(n >= d["minimum"] for n, d in zip(sent, traffic, strict=True))
    probes = sum(d["probes"] for d in traffic)
    observed = sum(d["observations"] for d in traffic)
    asked = sum(d["point_reads"] for d in traffic)
    least = sum(d["minimum"] for d in traffic)
    result.stdout.fnmatch_lines(
        [
            f"device traffic: {sum(sent)} requests for {asked} point reads "
            f"(coalesced minimum {least}), {probes} protocol probe(s), "
            f"{observed} MQTT observation(s)"
        ]
    )


def test_a_fleet_bench_gives_one_result_per_requirement_per_pole(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest(
        "--profile", "smart-pole", "--bench-poles", "3", "-k", "not DATA-008"
    )

    # A fleet's meters are reached through serial servers: the meter's own response delay
    # (SP-DATA-006) cannot be timed there, so it is not applicable, untested, on each pole.
    result.assert_outcomes(passed=3 * (N - 2), skipped=3, deselected=3)
    report = _report(pytester)
    untested = {r["target"] for r in report["results"] if r["requirement"] == "SP-DATA-006"}
    assert untested == {"P001", "P002", "P003"}
    by_pole: dict[str, set[str]] = {}
    for r in report["results"]:
        by_pole.setdefault(r["target"], set()).add(r["requirement"])
    assert sorted(by_pole) == ["P001", "P002", "P003"]
    assert len({frozenset(ids) for ids in by_pole.values()}) == 1  # the same requirements each
    sources = {
        r["target"]: m["source"]["address"]
        for r in report["results"]
        if r["requirement"] == "SP-DATA-005"
        for m in r["measurements"][:1]
    }
    assert len(set(sources.values())) == 3  # each pole's own meter address
    result.stdout.fnmatch_lines(["*bench of 3 poles*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bench-poles", "0"], "--bench-poles 0: a bench simulates 1 to 1000 poles"),
        (["--bench-poles", "2", "--bench-fault", "pole_tilt"], "did you mean 'pole-tilt'"),
        (["--bench-poles", "2", "--site", "x.yaml"], "--bench-poles applies to the built-in"),
        (["--concurrency", "0"], "--concurrency 0: give 1 or more"),
    ],
)
def test_bad_fleet_options_are_usage_errors(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    result = pytester.runpytest("--profile", "smart-pole", *args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
