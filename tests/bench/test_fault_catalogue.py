"""The bench's fault catalogue (benches/faults.yaml): its data, its loader, and what each fault
really breaks when the smart-pole profile runs against a bench with that fault alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from ycsa_conform.bench import FAULTS, Bench
from ycsa_conform.bench.fault import Fault, builtin_faults, load_faults
from ycsa_conform.errors import InputError
from ycsa_conform.profile import Profile, load_profile
from ycsa_conform.result import Verdict
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import load_site


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile("smart-pole")


def verdicts(profile: Profile, bench: Bench) -> dict[str, Verdict]:
    """Every requirement of the profile against the running bench: id -> verdict."""
    site = load_site(bench.site_path, text=bench.site_text)
    run = AcceptanceRun(profiles=[profile], site=site)
    try:
        return {case.requirement.id: run.decide(case).verdict for case in run.cases()}
    finally:
        run.close()


# -- the catalogue as data --------------------------------------------------------------------


def test_the_catalogue_names_real_requirements_and_says_what_goes_wrong(profile: Profile) -> None:
    ids = {r.id for r in profile.requirements}
    assert len(FAULTS) >= 15
    for name, fault in FAULTS.items():
        assert fault.name == name
        assert fault.breaks, name
        assert set(fault.breaks) <= ids, f"{name}: {set(fault.breaks) - ids} not in the profile"
        assert fault.verdict in (Verdict.FAIL, Verdict.ERROR), name
        assert fault.description.strip(), name
        assert fault.overrides, name


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


def test_an_unknown_verdict_lists_the_two_allowed(tmp_path: Path) -> None:
    line = _problem(tmp_path, GOOD.replace("verdict: fail", "verdict: failed"))

    assert line == (
        f"{tmp_path / 'faults.yaml'}:5: $.faults.low-power-factor.verdict: "
        '"failed" is not allowed (did you mean \'fail\'?); use one of: "fail", "error"'
    )


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


@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_alone_breaks_exactly_what_it_names(profile: Profile, name: str) -> None:
    fault = FAULTS[name]
    with Bench.start(faults=[name]) as bench:
        decided = verdicts(profile, bench)

    broken = {k: v for k, v in decided.items() if v is not Verdict.PASS}
    assert set(broken) == set(fault.breaks)
    assert set(broken.values()) == {fault.verdict}
