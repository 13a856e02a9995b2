"""AcceptanceRun: the built-in profile against a site whose devices do not answer.

The network devices point at a local TCP port that is bound but not listening, so every
connection is really refused by the kernel, and the serial ones at a port that does not exist:
no mock, no server, and no waiting for a timeout.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ycsa_conform.errors import InputError
from ycsa_conform.profile import Profile, load_profile
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Verdict
from ycsa_conform.run import AcceptanceRun, Case, parse_param_option
from ycsa_conform.site import Setting, Site, load_site
from ycsa_conform.units import Quantity

BENCH = data_dir("benches")

# write_site(*(old, new)) -> the path of the site file, with each text replaced.
WriteSite = Callable[..., Path]


@pytest.fixture(scope="module")
def profile() -> Profile:
    return load_profile("smart-pole")


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nobody listens on for the duration of the test (held, so nobody can take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def write_site(tmp_path: Path, closed_port: int) -> WriteSite:
    """Write the bench site's design data with devices at the closed port; returns the path."""
    # Everything the site file names by a relative path: device maps, photometry, records and
    # the stand-in evidence.
    for folder in ("devicemaps", "photometry", "records", "evidence"):
        shutil.copytree(BENCH / folder, tmp_path / folder)

    def write(*changes: tuple[str, str]) -> Path:
        text = (BENCH / "smart-pole.site.yaml").read_text(encoding="utf-8")
        text = text.replace("{modbus_tcp}", f"127.0.0.1:{closed_port}")
        text = text.replace("{mqtt}", f"127.0.0.1:{closed_port}")
        text = text.replace("{modbus_rtu}", "/nonexistent/ttyRS485-0")
        text = text.replace("{dlt645}", "/nonexistent/ttyRS485-1")
        text = text.replace("{meter_address}", "202611250001")
        text = text.replace("{prefix}", "ycsa/bench/P001")
        text = text.replace(", timeout: 2 s", "")
        text = text.replace(", map: ", ", timeout: 0.2 s, map: ")
        for old, new in changes:
            assert text.count(old) == 1, f"{old!r} is not unique in the bench site"
            text = text.replace(old, new)
        path = tmp_path / "site.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def site(write_site: WriteSite) -> Site:
    return load_site(write_site())


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    [line] = [n for n, text in enumerate(lines, start=1) if needle in text]
    return line


def decide(run: AcceptanceRun, requirement_id: str) -> tuple[Verdict, str]:
    [case] = [c for c in run.cases() if c.requirement.id == requirement_id]
    result = run.decide(case)
    return result.verdict, result.reason


def cases_of_kind(run: AcceptanceRun, kind: str) -> list[Case]:
    return [c for c in run.cases() if c.requirement.check.kind == kind]


def test_there_is_one_case_per_requirement_and_pole(profile: Profile, site: Site) -> None:
    run = AcceptanceRun(profiles=[profile], site=site)

    assert [c.name for c in run.cases()] == [f"{r.id}[P001]" for r in profile.requirements]


def test_a_profiles_own_results_name_it_as_their_source_and_no_subsystem(
    profile: Profile, site: Site
) -> None:
    run = AcceptanceRun(profiles=[profile], site=site)

    result = run.crashed(next(run.cases()), RuntimeError("boom"))

    assert (result.profile, result.source_profile, result.subsystem) == (
        "smart-pole",
        "smart-pole",
        None,
    )


def test_a_target_of_another_kind_gets_no_cases(profile: Profile, write_site: WriteSite) -> None:
    site = load_site(write_site(("    kind: pole\n", "    kind: community\n")))

    assert list(AcceptanceRun(profiles=[profile], site=site).cases()) == []


def test_compute_requirements_pass_from_design_data_alone(profile: Profile, site: Site) -> None:
    run = AcceptanceRun(profiles=[profile], site=site)

    verdicts = {c.name: run.decide(c).verdict for c in cases_of_kind(run, "compute")}

    assert verdicts
    assert set(verdicts.values()) == {Verdict.PASS}


def test_a_compute_reason_gives_the_value_the_limit_and_the_reference(
    profile: Profile, site: Site
) -> None:
    run = AcceptanceRun(profiles=[profile], site=site)

    assert decide(run, "SP-LOAD-001") == (
        Verdict.PASS,
        "SP-LOAD-001 design w0 0.35 kN/m² ÷ required w0 0.3 kN/m² (Kunming, R = 50 years, "
        "GB 50009-2012 Table E.5, not below 0.30 kN/m² by 8.1.2): 1.167 meets >= 1 "
        "(GB 50009-2012 8.1.2, Table E.5, R)",
    )


def test_measure_requirements_are_errors_naming_the_device_that_refused(
    profile: Profile, site: Site, closed_port: int
) -> None:
    run = AcceptanceRun(profiles=[profile], site=site)
    try:
        results = [(c, run.decide(c)) for c in cases_of_kind(run, "measure")]
    finally:
        run.close()

    assert results
    for case, result in results:
        [role] = case.requirement.check.needs()
        assert result.verdict is Verdict.ERROR, case.name
        address = str(site.targets[0].devices[role].address)
        if address.startswith("modbus-tcp"):
            assert f"cannot be decided: cannot connect to {role} at {address}" in result.reason
        else:
            assert "cannot open /nonexistent/ttyRS485-" in result.reason
            assert "does not exist; check the adapter is plugged in" in result.reason


def test_an_unknown_site_parameter_is_one_problem_naming_the_file_and_line(
    profile: Profile,
    write_site: WriteSite,
) -> None:
    # A field site: a bench tunes parameters the run's profiles may not declare and is not
    # held to them.
    path = write_site(
        ("\nkind: bench\n", "\nkind: field\n"),
        ("\nparameters:\n", "\nparameters:\n  road_clas: II\n"),
    )
    line = line_of(path, "road_clas: II")

    with pytest.raises(InputError) as excinfo:
        AcceptanceRun(profiles=[profile], site=load_site(path))

    [problem] = excinfo.value.problems
    assert str(problem) == (
        f"{path}:{line}: $.parameters.road_clas: unknown parameter 'road_clas'; the profiles "
        f"in this run declare: {', '.join(sorted(profile.parameters))}"
    )


def test_a_bench_site_parameter_no_profile_declares_is_ignored(
    profile: Profile,
    write_site: WriteSite,
) -> None:
    path = write_site(("\nparameters:\n", "\nparameters:\n  road_clas: II\n"))

    run = AcceptanceRun(profiles=[profile], site=load_site(path))

    assert "road_clas" not in run.parameters(profile, run.site.targets[0])


def test_a_param_override_to_a_windier_city_fails_sp_load_001(profile: Profile, site: Site) -> None:
    overrides = dict([parse_param_option("city=Dali")])
    run = AcceptanceRun(profiles=[profile], site=site, overrides=overrides)

    assert decide(run, "SP-LOAD-001") == (
        Verdict.FAIL,
        "SP-LOAD-001 design w0 0.35 kN/m² ÷ required w0 0.65 kN/m² (Dali, R = 50 years, "
        "GB 50009-2012 Table E.5, not below 0.30 kN/m² by 8.1.2): 0.5385 is below 1 "
        "(GB 50009-2012 8.1.2, Table E.5, R)",
    )


def test_a_param_override_of_the_wrong_dimension_is_an_input_error(
    profile: Profile, site: Site
) -> None:
    overrides = dict([parse_param_option("lighting_power_density_max=0.65 V")])

    with pytest.raises(InputError) as excinfo:
        AcceptanceRun(profiles=[profile], site=site, overrides=overrides)

    assert str(excinfo.value) == (
        "--param lighting_power_density_max=0.65 V: '0.65 V' is not a quantity in W/m²"
    )


def test_a_target_parameter_of_the_wrong_dimension_names_its_line(
    profile: Profile,
    write_site: WriteSite,
) -> None:
    setting = "    parameters: {lighting_power_density_max: 0.65 V}\n"
    path = write_site(("    kind: pole\n", "    kind: pole\n" + setting))
    line = line_of(path, "parameters: {lighting_power_density_max: 0.65 V}")

    with pytest.raises(InputError) as excinfo:
        AcceptanceRun(profiles=[profile], site=load_site(path))

    assert str(excinfo.value) == (
        f"{path}:{line}: $.targets[0].parameters.lighting_power_density_max: "
        "'0.65 V' is not a quantity in W/m²"
    )


def test_an_unknown_param_override_is_an_input_error(profile: Profile, site: Site) -> None:
    overrides = dict([parse_param_option("road_clas=II")])

    with pytest.raises(InputError, match="--param road_clas=II: unknown parameter 'road_clas'"):
        AcceptanceRun(profiles=[profile], site=site, overrides=overrides)


def test_parameters_layer_default_site_target_then_param(
    profile: Profile,
    write_site: WriteSite,
) -> None:
    path = write_site(
        ("\nparameters:\n", "\nparameters:\n  max_cct: 4500 K\n  min_ra: 75\n"),
        ("    kind: pole\n", "    kind: pole\n    parameters: {min_ra: 80}\n"),
    )
    site = load_site(path)
    overrides = {"max_cct": Setting(value="4000 K", origin="--param max_cct=4000 K")}

    run = AcceptanceRun(profiles=[profile], site=site, overrides=overrides)
    values = run.parameters(profile, site.targets[0])

    assert values["max_cct"] == Quantity(4000.0, "K")
    assert values["min_ra"] == 80.0
    assert values["lighting_power_density_max"] == Quantity(0.8, "W/m^2")


@pytest.mark.parametrize(
    ("option", "name", "value"),
    [
        ("road_class=II", "road_class", "II"),
        (" return_period = 100 year ", "return_period", "100 year"),
        ("note=a=b", "note", "a=b"),
    ],
)
def test_parse_param_option_splits_at_the_first_equals(option: str, name: str, value: str) -> None:
    assert parse_param_option(option) == (name, Setting(value=value, origin=f"--param {option}"))


@pytest.mark.parametrize("option", ["road_class", "=II", " =II"])
def test_parse_param_option_needs_key_and_value(option: str) -> None:
    with pytest.raises(ValueError, match="write it as KEY=VALUE") as excinfo:
        parse_param_option(option)

    assert str(excinfo.value) == (
        f"--param {option!r}: write it as KEY=VALUE, like --param road_class=II"
    )


def test_a_target_without_the_device_a_check_needs_is_an_error(
    profile: Profile,
    write_site: WriteSite,
) -> None:
    path = write_site()
    text = path.read_text(encoding="utf-8")
    [meter_line] = [line for line in text.splitlines(keepends=True) if "meter: {uri:" in line]
    path.write_text(text.replace(meter_line, ""), encoding="utf-8")
    site = load_site(path)
    run = AcceptanceRun(profiles=[profile], site=site)

    verdict, reason = decide(run, "SP-PWR-001")

    assert verdict is Verdict.ERROR
    assert reason.startswith(
        "SP-PWR-001 cannot be decided: target P001 declares no 'meter' device; "
        f"add it under devices at {site.targets[0].origin}"
    )


def test_a_crashed_check_is_an_error_never_a_pass(profile: Profile, site: Site) -> None:
    run = AcceptanceRun(profiles=[profile], site=site)
    case = next(run.cases())

    result = run.crashed(case, RuntimeError("boom"))

    assert result.verdict is Verdict.ERROR
    assert result.reason.startswith(
        f"{case.requirement.id} cannot be decided: internal error RuntimeError: boom"
    )


def test_a_requirement_whose_condition_does_not_hold_is_not_applicable(
    tmp_path: Path,
    site: Site,
) -> None:
    text = (data_dir("profiles") / "smart-pole.yaml").read_text(encoding="utf-8")
    title = "    title: {en: Road lighting level declared, zh: 已声明道路照明等级}\n"
    variant = tmp_path / "profile.yaml"
    variant.write_text(text.replace(title, title + "    when: [{device: camera}]\n"), "utf-8")
    run = AcceptanceRun(profiles=[load_profile(variant)], site=site)

    verdict, reason = decide(run, "SP-LUM-001")

    assert verdict is Verdict.NOT_APPLICABLE
    assert reason.startswith("SP-LUM-001 not applicable: target P001 has no 'camera' device")
