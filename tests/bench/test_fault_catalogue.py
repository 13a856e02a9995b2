"""The bench's fault catalogue (benches/faults.yaml): its data, its loader, and what each fault
really breaks when the smart-pole profile runs against a bench with that fault alone, and each
smart-community fault when the smart-community profile runs against the community bench.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from ycsa_conform.bench import FAULTS, Bench
from ycsa_conform.bench.community import CommunitySettings
from ycsa_conform.bench.fault import (
    Fault,
    apply_faults,
    bench_faults,
    builtin_faults,
    load_faults,
    resolve_faults,
)
from ycsa_conform.errors import InputError
from ycsa_conform.executor import DEFAULT_CONCURRENCY, Executor
from ycsa_conform.pace import Pace
from ycsa_conform.profile import Profile, load_profile
from ycsa_conform.report.native import build_report, timestamp
from ycsa_conform.result import Result, RunInfo, Verdict
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import load_site

POLE_FAULTS = list(FAULTS)  # FAULTS: the smart-pole bench's faults
COMMUNITY_FAULTS = list(bench_faults("smart-community"))


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile("smart-pole")


@pytest.fixture(scope="module")
def community_profile() -> Profile:
    return load_profile("smart-community")


# A hang guard, not a speed limit: a run of the bench with any one fault must end within it
# (a healthy bench run takes well under a minute; a fault's timeouts add a few seconds each).
RUN_BOUND = 300.0  # s


def results(profile: Profile, bench: Bench, *, target: str | None = None) -> dict[str, Result]:
    """Every requirement of the profile against the running bench (or its `target` only):
    id -> result, decided as a real run decides them (the executor, concurrently), ending
    within RUN_BOUND, and written into a report (report.json's content, validated against its
    schema) that holds every one of them, with no incident.

    The run reads the bench site's own (stand-in) evidence file, as every run does.
    """
    site = load_site(bench.site_path, text=bench.site_text)
    run = AcceptanceRun(profiles=[profile], site=site)
    began = time.monotonic()
    # With the load gauge a run has (the plugin's): a case that did not pass while this
    # process stalled is decided again, as in a run.
    pace = Pace()
    try:
        cases = [(c, c.requirement.id) for c in run.cases() if target in (None, c.target.id)]
        executor = Executor(run, cases, concurrency=DEFAULT_CONCURRENCY, pace=pace)
        executor.start()
        decided = {nodeid: executor.result(nodeid) for _, nodeid in cases}
    finally:
        run.close()
        pace.close()
    took = time.monotonic() - began
    assert took < RUN_BOUND, f"the run took {took:.0f} s, over its {RUN_BOUND:g} s bound"
    info = RunInfo(
        tool_version="test",
        profiles=(),
        site_id=site.id,
        site_kind=site.kind,
        site_title=site.id,
        started=timestamp(),
    )
    report = build_report(info, list(decided.values()), timestamp())
    assert report["incidents"] == []
    assert {r["requirement"] for r in report["results"]} == set(decided)
    assert report["summary"]["total"] == len(decided)
    return decided


def verdicts(profile: Profile, bench: Bench, *, target: str | None = None) -> dict[str, Verdict]:
    """id -> verdict of `results`."""
    return {k: r.verdict for k, r in results(profile, bench, target=target).items()}


def assert_breaks_exactly(fault: Fault, decided: dict[str, Result]) -> None:
    """What the fault documents, no more, no less: `breaks` with its verdict, `errors` as
    errors, `untested` not applicable and untested; everything else passes."""
    untested = {k for k, r in decided.items() if r.untested}
    broken = {
        k: r.verdict for k, r in decided.items() if r.verdict is not Verdict.PASS and not r.untested
    }
    assert {k for k, v in broken.items() if v is fault.verdict} == set(fault.breaks)
    assert {k for k, v in broken.items() if v is not fault.verdict} == set(fault.errors)
    assert set(broken.values()) <= {fault.verdict, Verdict.ERROR}
    assert untested == set(fault.untested)
    assert {decided[k].verdict for k in untested} <= {Verdict.NOT_APPLICABLE}


# -- the catalogue as data --------------------------------------------------------------------


def test_the_catalogue_names_real_requirements_and_says_what_goes_wrong(profile: Profile) -> None:
    ids = {r.id for r in profile.requirements}
    assert len(POLE_FAULTS) >= 15
    for name in POLE_FAULTS:
        fault = FAULTS[name]
        assert fault.name == name
        assert fault.breaks, name
        assert set(fault.breaks) <= ids, f"{name}: {set(fault.breaks) - ids} not in the profile"
        assert set(fault.errors) <= ids, f"{name}: {set(fault.errors) - ids} not in the profile"
        assert not set(fault.errors) & set(fault.breaks), name
        assert set(fault.untested) <= ids, name
        assert not set(fault.untested) & (set(fault.breaks) | set(fault.errors)), name
        assert fault.verdict in (Verdict.FAIL, Verdict.ERROR), name
        assert fault.description.strip(), name
        assert fault.overrides, name


def test_community_faults_name_community_requirements_and_set_community_settings(
    community_profile: Profile,
) -> None:
    fields = {f.name for f in dataclasses.fields(CommunitySettings)}
    own = {r.id for r in community_profile.requirements if r.profile == "smart-community"}
    assert len(COMMUNITY_FAULTS) >= 4
    for name in COMMUNITY_FAULTS:
        fault = bench_faults("smart-community")[name]
        assert fault.breaks, name
        assert set(fault.breaks) <= own, f"{name}: {set(fault.breaks) - own} not in the profile"
        assert set(fault.overrides) <= fields, name
        assert fault.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.MARGINAL), name
        assert fault.description.strip(), name
        assert fault.description_zh, name


def test_role_lists_become_sets_and_numbers_floats() -> None:
    assert FAULTS["meter-timeout"].overrides == {"silent_roles": frozenset({"meter"})}
    assert FAULTS["tilt-device-failure"].overrides["exception_code"] == 4
    assert isinstance(FAULTS["frequency-deviation"].overrides["frequency"], float)
    assert FAULTS["tilt-device-failure"].description_zh


def test_the_built_in_catalogue_is_read_once() -> None:
    assert builtin_faults() is builtin_faults()


# -- bad catalogue files ----------------------------------------------------------------------

GOOD = """\
faults:
  low-power-factor:
    description: {en: "PF 0.82 at full output"}
    breaks: [SP-PWR-008]
    verdict: fail
    set: {full_power_factor: 0.82}
"""


def _load(tmp_path: Path, text: str) -> dict[str, Fault]:
    path = tmp_path / "faults.yaml"
    path.write_text(text, encoding="utf-8")
    return dict(load_faults(path))


def _problem(tmp_path: Path, text: str) -> str:
    with pytest.raises(InputError) as info:
        _load(tmp_path, text)
    (line,) = str(info.value).splitlines()
    return line


def test_a_good_file_loads(tmp_path: Path) -> None:
    (fault,) = _load(tmp_path, GOOD).values()
    assert fault.verdict is Verdict.FAIL
    assert fault.overrides == {"full_power_factor": 0.82}
    assert fault.description_zh is None


def test_an_unknown_setting_suggests_the_field(tmp_path: Path) -> None:
    line = _problem(tmp_path, GOOD.replace("full_power_factor:", "full_power_factr:"))

    assert line.startswith(
        f"{tmp_path / 'faults.yaml'}:6: $.faults.low-power-factor.set.full_power_factr: "
        "unknown setting 'full_power_factr'; did you mean 'full_power_factor'? "
        "a fault sets fields of PoleSettings (ycsa_conform/bench/physics.py): rated_power, "
    )


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "{full_power_factor: '0.82'}",
            '"0.82" does not fit full_power_factor (PoleSettings.full_power_factor: float); '
            "give a number, like 0.96",
        ),
        (
            "{silent_roles: meter}",
            '"meter" does not fit silent_roles (PoleSettings.silent_roles: frozenset[str]); '
            "give a list of device roles, like [meter]",
        ),
        (
            "{exception_code: 4.5}",
            "4.5 does not fit exception_code (PoleSettings.exception_code: int); "
            "give a whole number, like 4",
        ),
        (
            "{garbled_frames: 1}",
            "1 does not fit garbled_frames (PoleSettings.garbled_frames: bool); "
            "give true or false, like false",
        ),
        (
            "{stuck_light_level: dim}",
            '"dim" does not fit stuck_light_level (PoleSettings.stuck_light_level: float | None); '
            "give a number or null",
        ),
    ],
)
def test_a_value_of_the_wrong_type_names_the_field_type_and_an_example(
    tmp_path: Path, setting: str, message: str
) -> None:
    line = _problem(tmp_path, GOOD.replace("{full_power_factor: 0.82}", setting))

    assert line == f"{tmp_path / 'faults.yaml'}:6: $.faults.low-power-factor.set" + (
        f".{setting[1:].split(':')[0]}: {message}"
    )


def test_a_community_fault_is_checked_against_the_community_settings(tmp_path: Path) -> None:
    text = GOOD.replace("    breaks:", "    bench: smart-community\n    breaks:")
    line = _problem(tmp_path, text.replace("{full_power_factor: 0.82}", "{recorder_retension: 7}"))

    assert line.startswith(
        f"{tmp_path / 'faults.yaml'}:7: $.faults.low-power-factor.set.recorder_retension: "
        "unknown setting 'recorder_retension'; did you mean 'recorder_retention'? "
        "a fault sets fields of CommunitySettings (ycsa_conform/bench/community.py): "
    )
    (fault,) = _load(
        tmp_path, text.replace("{full_power_factor: 0.82}", "{cameras_offline: 5}")
    ).values()
    assert (fault.bench, fault.overrides) == ("smart-community", {"cameras_offline": 5})


def test_an_unknown_bench_lists_the_two_allowed(tmp_path: Path) -> None:
    line = _problem(tmp_path, GOOD.replace("    breaks:", "    bench: smart-city\n    breaks:"))

    assert line.startswith(f"{tmp_path / 'faults.yaml'}:4: $.faults.low-power-factor.bench: ")
    assert '"smart-pole", "smart-community"' in line


def test_an_unknown_verdict_lists_the_three_allowed(tmp_path: Path) -> None:
    line = _problem(tmp_path, GOOD.replace("verdict: fail", "verdict: failed"))

    assert line == (
        f"{tmp_path / 'faults.yaml'}:5: $.faults.low-power-factor.verdict: "
        '"failed" is not allowed (did you mean \'fail\'?); use one of: "fail", "error", "marginal"'
    )


def test_errors_belong_to_a_failing_fault_only(tmp_path: Path) -> None:
    text = GOOD.replace("verdict: fail", "errors: [SP-DATA-009]\n    verdict: error")
    line = _problem(tmp_path, text)

    assert line.startswith(f"{tmp_path / 'faults.yaml'}:5: $.faults.low-power-factor.errors: ")
    assert "with 'verdict: error' put those ids under 'breaks'" in line
    (fault,) = _load(
        tmp_path,
        GOOD.replace("verdict: fail", "errors: [SP-DATA-9]\n    verdict: fail").replace(
            "SP-DATA-9", "SP-DATA-009"
        ),
    ).values()
    assert fault.errors == ("SP-DATA-009",)


def test_a_fault_lists_what_it_leaves_untested(tmp_path: Path) -> None:
    (fault,) = _load(
        tmp_path, GOOD.replace("verdict: fail", "untested: [SP-PWR-009]\n    verdict: fail")
    ).values()

    assert fault.untested == ("SP-PWR-009",)
    assert FAULTS["dimming-not-honoured"].untested == ("SP-PWR-008",)


def test_a_fault_without_breaks_is_refused(tmp_path: Path) -> None:
    line = _problem(tmp_path, GOOD.replace("[SP-PWR-008]", "[]"))

    assert line.startswith(f"{tmp_path / 'faults.yaml'}:4: $.faults.low-power-factor.breaks: ")
    assert "a fault that breaks nothing does not belong here" in line


# -- the enumeration: each fault alone against the profile ------------------------------------


def test_the_healthy_bench_passes_every_requirement(profile: Profile) -> None:
    with Bench.start(faults=[]) as bench:
        decided = verdicts(profile, bench)

    assert len(decided) == len(profile.requirements)
    assert {k for k, v in decided.items() if v is not Verdict.PASS} == set()


@pytest.mark.parametrize("name", POLE_FAULTS)
def test_each_fault_alone_breaks_exactly_what_it_names(profile: Profile, name: str) -> None:
    fault = FAULTS[name]
    with Bench.start(faults=[name]) as bench:
        decided = results(profile, bench)

    assert_breaks_exactly(fault, decided)


def test_faults_that_silence_different_devices_add_up() -> None:
    from ycsa_conform.bench.physics import PoleSettings

    settings = apply_faults(PoleSettings(), resolve_faults(["meter-timeout", "lamp-silent"]))

    assert settings.silent_roles == frozenset({"meter", "lamp"})


# -- smart-community faults against the profile (their effect on the telemetry is in
# tests/bench/test_community.py) -------------------------------------------------------------


def test_the_healthy_community_passes_every_community_requirement(
    community_profile: Profile,
) -> None:
    with Bench.start("smart-community") as bench:
        decided = verdicts(community_profile, bench, target="C001")

    own = [r for r in community_profile.requirements if r.profile == "smart-community"]
    assert len(decided) == len(own)
    assert {k for k, v in decided.items() if v is not Verdict.PASS} == set()


@pytest.mark.parametrize("name", COMMUNITY_FAULTS)
def test_each_community_fault_alone_breaks_exactly_what_it_names(
    community_profile: Profile, name: str
) -> None:
    # Community faults change the community's settings only; the pole inside the community is
    # the smart-pole bench's, whose faults are enumerated above. So the community is judged.
    fault = bench_faults("smart-community")[name]
    with Bench.start("smart-community", faults=[name]) as bench:
        decided = results(community_profile, bench, target="C001")

    assert_breaks_exactly(fault, decided)
