"""The evidence, record and actuate check kinds, through pytester: small profiles of their own
against the built-in bench or a site file written for the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.resources import data_dir

ROOT = Path(__file__).resolve().parents[2]
GRID = ROOT / "fixtures" / "records" / "kunming-main-road-lighting-grid.csv"
LAMP_MAP = data_dir("benches") / "devicemaps" / "lamp-controller.yaml"

HEAD = """\
profile: kinds-test
version: "0.1.0"
title: {en: Check kinds, zh: 检查类型}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  road_class: {type: text, values: [I, II, III], default: II, title: {en: Class, zh: 等级}}
  # The built-in bench's site sets these three.
  heartbeat_interval_max: {type: quantity, unit: s, default: 60 s, title: {en: H, zh: H}}
  heartbeat_window: {type: quantity, unit: s, default: 130 s, title: {en: W, zh: W}}
  telemetry_window: {type: quantity, unit: s, default: 5 s, title: {en: T, zh: T}}
requirements:
"""
REQUIREMENT = """\
  - id: {id}
    title: {{en: {id}, zh: {id}}}
    area: general
    level: mandatory
    refs: [{{source: practice, confidence: I}}]
    check: {check}
"""
IP_RATING = '{kind: evidence, item: ip_rating_certificate, expect: "IP65 or better"}'
GRID_CHECK = "{kind: record, record: lighting_grid, road_class: $road_class, grade: high}"
DIM = (
    "{kind: actuate, device: lamp, set: {target_light_command: 50 %}, "
    'observe: {point: actual_light_state, limit: "45 % .. 55 %"}, settle: 0.2 s}'
)


def profile(pytester: pytest.Pytester, *checks: str) -> str:
    body = "".join(
        REQUIREMENT.format(id=f"KT-GEN-{i:03d}", check=check) for i, check in enumerate(checks, 1)
    )
    path = pytester.path / "kinds.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return str(path)


def site(pytester: pytest.Pytester, *, kind: str = "field", records: str = "") -> str:
    text = f"""\
site: kinds-site
kind: {kind}
targets:
  - id: P001
    kind: pole
    {records}
    devices:
      lamp: {{uri: "modbus-tcp://127.0.0.1:9?unit=1", map: "{LAMP_MAP}", timeout: 0.2 s}}
"""
    path = pytester.path / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def evidence(pytester: pytest.Pytester, entries: str) -> str:
    (pytester.path / "certificate.pdf").write_bytes(b"%PDF-1.4 placeholder")
    path = pytester.path / "evidence.yaml"
    path.write_text(f"evidence:\n{entries}", encoding="utf-8")
    return str(path)


def results(pytester: pytest.Pytester) -> list[dict[str, Any]]:
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    found: list[dict[str, Any]] = report["results"]
    return found


# -- evidence ------------------------------------------------------------------------------


def test_evidence_without_file_is_pending_and_listed(pytester: pytest.Pytester) -> None:
    # A field site without evidence: the bench site brings its own evidence file.
    result = pytester.runpytest(
        "--profile", profile(pytester, IP_RATING), "--site", site(pytester), "-rs"
    )

    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "*PENDING: 1 requirement(s) wait for evidence (--strict-acceptance makes them fail):",
            "  KT-GEN-001[[]P001[]] KT-GEN-001 waiting for evidence 'ip_rating_certificate' "
            "for P001; supply it with --evidence FILE*",
        ]
    )
    (only,) = results(pytester)
    assert only["verdict"] == "pending"


def test_strict_acceptance_turns_pending_into_failure(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--profile", profile(pytester, IP_RATING), "--site", site(pytester), "--strict-acceptance"
    )

    result.assert_outcomes(failed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_site_wide_evidence_passes_and_names_who_when_what(pytester: pytest.Pytester) -> None:
    path = evidence(
        pytester,
        "  - {item: ip_rating_certificate, verdict: pass, value: IP66, by: Li Wei,\n"
        "     date: 2026-11-20, files: [certificate.pdf]}\n",
    )

    result = pytester.runpytest("--profile", profile(pytester, IP_RATING), "--evidence", path)

    result.assert_outcomes(passed=1)
    (only,) = results(pytester)
    assert only["verdict"] == "pass"
    assert (
        "evidence 'ip_rating_certificate' for the whole site: IP66 (expected IP65 or better): "
        "pass, by Li Wei on 2026-11-20, files: certificate.pdf" in only["reason"]
    )
    assert only["measurements"][0]["value"] == "IP66"


def test_target_evidence_fail_is_a_failure(pytester: pytest.Pytester) -> None:
    path = evidence(
        pytester,
        "  - {item: ip_rating_certificate, verdict: pass, by: A, date: 2026-11-20,\n"
        "     files: [certificate.pdf]}\n"
        "  - {item: ip_rating_certificate, target: P001, verdict: fail, value: IP54, by: B,\n"
        "     date: 2026-11-21, files: [certificate.pdf], note: gasket missing}\n",
    )

    result = pytester.runpytest("--profile", profile(pytester, IP_RATING), "--evidence", path)

    result.assert_outcomes(failed=1)
    (only,) = results(pytester)
    assert "for P001: IP54 (expected IP65 or better): fail, by B on 2026-11-21" in only["reason"]
    assert "note: gasket missing" in only["reason"]


def test_evidence_file_with_missing_document_stops_the_run(pytester: pytest.Pytester) -> None:
    path = evidence(
        pytester,
        "  - item: ip_rating_certificate\n"
        "    verdict: pass\n"
        "    by: A\n"
        "    date: 2026-11-20\n"
        "    files: [certificate.pdf, photo.jpg]\n",
    )

    result = pytester.runpytest("--profile", profile(pytester, IP_RATING), "--evidence", path)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: *evidence.yaml:6: $.evidence[[]0[]].files[[]1[]]: 'photo.jpg' not found "
            "(looked at *photo.jpg); give the path relative to this evidence file"
        ]
    )
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_evidence_for_a_target_the_site_lacks_stops_the_run(pytester: pytest.Pytester) -> None:
    path = evidence(
        pytester,
        "  - {item: ip_rating_certificate, target: P009, verdict: pass, by: A,\n"
        "     date: 2026-11-20, files: [certificate.pdf]}\n",
    )

    result = pytester.runpytest("--profile", profile(pytester, IP_RATING), "--evidence", path)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: *evidence.yaml:2: $.evidence[[]0[]].target: target 'P009' is not in the "
            "site; use one of: P001, or leave 'target' out for every target"
        ]
    )


# -- record --------------------------------------------------------------------------------


def test_record_grid_passes_class_ii_high(pytester: pytest.Pytester) -> None:
    path = site(pytester, records=f'records: {{lighting_grid: "{GRID}"}}')

    result = pytester.runpytest("--profile", profile(pytester, GRID_CHECK), "--site", path)

    result.assert_outcomes(passed=1)
    (only,) = results(pytester)
    eav, ue = only["measurements"]
    assert (eav["name"], eav["unit"], eav["limit"], eav["verdict"]) == (
        "Eav",
        "lx",
        ">= 20 lx",
        "pass",
    )
    assert eav["value"] >= 20
    assert (ue["name"], ue["limit"], ue["verdict"]) == ("UE", ">= 0.4", "pass")
    assert "CJJ 45-2015 Table 3.3.1 class II high grade" in only["reason"]


def test_record_grid_fails_class_i_high(pytester: pytest.Pytester) -> None:
    path = site(pytester, records=f'records: {{lighting_grid: "{GRID}"}}')

    result = pytester.runpytest(
        "--profile", profile(pytester, GRID_CHECK), "--site", path, "--param", "road_class=I"
    )

    result.assert_outcomes(failed=1)
    (only,) = results(pytester)
    assert only["measurements"][0]["limit"] == ">= 30 lx"
    assert only["measurements"][0]["verdict"] == "fail"


def test_record_missing_on_target_is_an_error_naming_the_key(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--profile", profile(pytester, GRID_CHECK), "--site", site(pytester)
    )

    result.assert_outcomes(errors=1)
    (only,) = results(pytester)
    assert only["verdict"] == "error"
    assert (
        "target P001 has no record 'lighting_grid'; add 'records: {lighting_grid: FILE}'"
        in (only["reason"])
    )


def test_malformed_record_is_an_error_with_its_cause(pytester: pytest.Pytester) -> None:
    bad = pytester.path / "grid.csv"
    bad.write_text("y,0,5\n1,20,lots\n", encoding="utf-8")
    path = site(pytester, records="records: {lighting_grid: grid.csv}")

    result = pytester.runpytest("--profile", profile(pytester, GRID_CHECK), "--site", path)

    result.assert_outcomes(errors=1)
    (only,) = results(pytester)
    assert only["verdict"] == "error"
    assert f"{bad}:2: column 3 reading 'lots' is not a lux value" in only["reason"]


def test_site_record_that_does_not_exist_stops_the_run(pytester: pytest.Pytester) -> None:
    path = site(pytester, records="records: {lighting_grid: nowhere.csv}")

    result = pytester.runpytest("--profile", profile(pytester, GRID_CHECK), "--site", path)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: *site.yaml:6: $.targets[[]0[]].records.lighting_grid: record 'nowhere.csv' "
            "not found (looked at *nowhere.csv); give the path relative to this site file"
        ]
    )


# -- actuate -------------------------------------------------------------------------------


def test_actuate_on_bench_dims_judges_fresh_and_restores(pytester: pytest.Pytester) -> None:
    # The first requirement polls the lamp (actual_light_state included) at full output. The
    # actuate check's observation must not be served from that poll: a write drops it.
    before = '{kind: measure, device: lamp, point: actual_light_state, limit: ">= 90 %"}'
    after = '{kind: measure, device: lamp, point: target_light_command, limit: "== 100 %"}'

    result = pytester.runpytest("--profile", profile(pytester, before, DIM, after))

    result.assert_outcomes(passed=3)
    _, dimmed, restored = results(pytester)
    (observed,) = dimmed["measurements"]
    assert observed["name"] == "actual_light_state"
    assert 45 <= observed["value"] <= 55
    assert "set target_light_command 50 %, after 0.2 s actual_light_state" in dimmed["reason"]
    assert "restored target_light_command to 100 %" in dimmed["reason"]
    assert restored["measurements"][0]["value"] == 100


def test_actuate_leaves_the_lamp_as_found_for_user_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_after="""
        def test_lamp_back_at_full_output(ycsa_device):
            lamp = ycsa_device("P001", "lamp")
            assert lamp.read("target_light_command").value.m == 100
        """
    )
    # Profile items are collected after the user's tests; run this one last.
    pytester.makeconftest(
        """
        def pytest_collection_modifyitems(items):
            items.sort(key=lambda item: item.name == "test_lamp_back_at_full_output")
        """
    )

    result = pytester.runpytest("--profile", profile(pytester, DIM), "test_after.py", "-v")

    result.stdout.fnmatch_lines(["*KT-GEN-001*PASSED*", "*test_lamp_back_at_full_output PASSED*"])
    result.assert_outcomes(passed=2)


def test_actuate_outside_the_writable_range_is_an_error(pytester: pytest.Pytester) -> None:
    over = DIM.replace("50 %", "150 %")
    after = '{kind: measure, device: lamp, point: target_light_command, limit: "== 100 %"}'

    result = pytester.runpytest("--profile", profile(pytester, over, after))

    result.assert_outcomes(passed=1, errors=1)
    refused, untouched = results(pytester)
    assert refused["verdict"] == "error"
    assert (
        "refusing to write target_light_command = 150 %: outside the writable range"
        in (refused["reason"])
    )
    assert "Traceback" not in refused["reason"]
    assert untouched["verdict"] == "pass"


def test_actuate_on_field_site_needs_allow_actuation(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--profile", profile(pytester, DIM), "--site", site(pytester), "-rs"
    )

    result.assert_outcomes(skipped=1)
    (only,) = results(pytester)
    assert only["verdict"] == "not_applicable"
    assert (
        "actuation is not allowed on field devices; run with --allow-actuation to let it "
        "command lamp" in only["reason"]
    )


def test_allow_actuation_commands_field_devices(pytester: pytest.Pytester) -> None:
    # Nothing answers at this address: the check tried to command it, so it is an error.
    result = pytester.runpytest(
        "--profile", profile(pytester, DIM), "--site", site(pytester), "--allow-actuation"
    )

    result.assert_outcomes(errors=1)
    (only,) = results(pytester)
    assert only["verdict"] == "error"


def test_actuate_profile_mistakes_are_pinned(pytester: pytest.Pytester) -> None:
    check = (
        "{kind: actuate, device: lamp, set: {target_light_command: 50 V}, "
        'observe: {point: actual_light_stat, limit: "45 % .. 55 %"}, settle: soon}'
    )
    path = profile(pytester, check)

    result = pytester.runpytest("--profile", path)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    line = Path(path).read_text(encoding="utf-8").splitlines().index(f"    check: {check}") + 1
    where = f"kinds.yaml:{line}: $.requirements[[]0[]].check"
    result.stderr.fnmatch_lines(
        [
            f"*{where}.set.target_light_command: '50 V' has the wrong dimension for "
            "target_light_command; give it in %",
            f"*{where}.observe.point: unknown point 'actual_light_stat'; "
            "did you mean 'actual_light_state'?*",
            f"*{where}.settle: 'soon' is not a duration; write it like '0.5 s'",
        ]
    )


# -- states a requirement assumes (requires), resultant, optional points ----------------------

FULL_OUTPUT_PF = (
    "{kind: measure, device: lamp, point: power_factor, limit: '>= 0.9', "
    "requires: {target_light_command: 100 %, actual_light_state: '>= 95 %'}, settle: 0.1 s}"
)


def test_requires_sets_the_state_judges_in_it_and_restores(pytester: pytest.Pytester) -> None:
    # A user test dims the lamp to 60 % first (user tests run before the profile's items); the
    # power factor "at full output" is judged at 100 % and the 60 % put back.
    pytester.makepyfile(
        test_dim="""
        from ycsa_conform.units import ureg

        def test_dim_the_lamp(ycsa_device):
            ycsa_device("P001", "lamp").write("target_light_command", ureg.Quantity(60, "%"))
        """
    )
    after = '{kind: measure, device: lamp, point: target_light_command, limit: "== 60 %"}'

    result = pytester.runpytest(
        "--profile", profile(pytester, FULL_OUTPUT_PF, after), "test_dim.py"
    )

    result.assert_outcomes(passed=3)
    judged, restored = results(pytester)
    assert judged["verdict"] == "pass"
    assert 0.95 <= judged["measurements"][0]["value"] <= 0.97
    assert judged["reason"].startswith(
        "KT-GEN-001 set target_light_command 100 % (the state it is judged in; lamp read "
        "target_light_command 60 %, actual_light_state 60 %), after 0.1 s power_factor: "
    )
    assert "; restored target_light_command to 60 %" in judged["reason"]
    assert restored["verdict"] == "pass"


def test_state_and_resultant_keys_mistakes_are_one_pinned_line_each(
    pytester: pytest.Pytester,
) -> None:
    checks = [
        "{kind: measure, device: lamp, point: power_factor, requires: {lamp_onn: true}}",
        "{kind: measure, device: lamp, point: power_factor, requires: {lamp_on: '>= 1'}}",
        "{kind: measure, device: lamp, point: power_factor, "
        "requires: {target_light_command: 100 V}}",
        "{kind: measure, device: lamp, point: power_factor, "
        "requires: {actual_light_state: '>= 95 V'}}",
        "{kind: measure, device: lamp, point: power_factor, restore: [auto_mode]}",
        "{kind: measure, device: lamp, point: power_factor, requires: {lamp_on: true}, "
        "settle: soon}",
        "{kind: measure, device: tilt, point: tilt_x, resultant: true}",
        "{kind: measure, device: lamp, point: power_factor, optional: [lamp_on]}",
        "{kind: actuate, device: lamp, set: {target_light_command: 50 %}, "
        "requires: {target_light_command: {limit: '> 0 %', set: 100 V}}, "
        "observe: {point: actual_light_state, limit: '45 % .. 55 %'}}",
        "{kind: measure, device: lamp, point: power_factor, "
        "requires: {actual_light_state: {age: '<= 1 h'}}}",
    ]
    path = profile(pytester, *checks)

    result = pytester.runpytest("--profile", path)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = Path(path).read_text(encoding="utf-8").splitlines()
    lines = [text.index(f"    check: {check}") + 1 for check in checks]
    where = [f"kinds.yaml:{n}: $.requirements[[]{k}[]].check" for k, n in enumerate(lines)]
    result.stderr.fnmatch_lines(
        [
            f"*{where[0]}.requires.lamp_onn: unknown point 'lamp_onn'; did you mean 'lamp_on'?*",
            f"*{where[1]}.requires.lamp_on: lamp_on is on/off; write true or false",
            f"*{where[2]}.requires.target_light_command: '100 V' has the wrong dimension for "
            "target_light_command; give it in %",
            f"*{where[3]}.requires.actual_light_state: '95 V' in '>= 95 V' has the wrong "
            "dimension for actual_light_state, which is in %; give the limit in %",
            f"*{where[4]}.restore: 'restore' belongs to the writes that establish 'requires'; "
            "give 'requires' or drop 'restore'",
            f"*{where[5]}.settle: 'soon' is not a duration; write it like '2 s'",
            f"*{where[6]}.resultant: a resultant inclination needs two angle points and no "
            "relative_to, like 'points: [[]tilt_x, tilt_y]'; tilt_x is not",
            f"*{where[7]}.optional[[]0[]]: 'lamp_on' is not a point this check uses; name one "
            "of power_factor",
            f"*{where[8]}.requires.target_light_command.set: '100 V' has the wrong dimension "
            "for target_light_command; give it in %",
            f"*{where[9]}.requires.actual_light_state.age: an age bounds a time stamp alone, "
            "like {age: '<= 1 h'}; actual_light_state is not a time stamp",
        ]
    )
    assert "Traceback" not in result.stderr.str()
