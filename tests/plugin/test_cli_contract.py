"""The vendor contract on the command line: `validate` holds a site to the profiles, `profile
show --json` says what each requirement asks, `points` lists roles and points (docs/points.md
is its output)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from ycsa_conform.resources import data_dir

MAPS = data_dir("benches") / "devicemaps"
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _cli(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.run(sys.executable, "-m", "ycsa_conform", *args)


def _site(pytester: pytest.Pytester, *, lamp_points: tuple[str, ...] = (), extra: str = "") -> Path:
    """The example field site's first pole, its lamp map without `lamp_points`."""
    shutil.copytree(data_dir("fixtures"), pytester.path / "fixtures")
    shutil.copytree(MAPS, pytester.path / "benches" / "devicemaps")
    lamp = yaml.safe_load((MAPS / "lamp-controller.yaml").read_text(encoding="utf-8"))
    for point in lamp_points:
        del lamp["points"][point]
    edited = pytester.path / "benches" / "devicemaps" / "lamp.yaml"
    edited.write_text(yaml.safe_dump(lamp), encoding="utf-8")
    text = (data_dir("fixtures") / "sites" / "kunming-main-road.yaml").read_text(encoding="utf-8")
    text = text.split("\n  - id: P002")[0] + "\n"
    text = text.replace("devicemaps/lamp-controller.yaml", "devicemaps/lamp.yaml")
    text = text.replace("    devices:\n", "    devices:\n" + extra, 1)
    path = pytester.path / "fixtures" / "sites" / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    [line] = [n for n, text in enumerate(lines, start=1) if needle in text]
    return line


def test_validate_names_each_requirement_a_map_cannot_serve_at_the_device_line(
    pytester: pytest.Pytester,
) -> None:
    site = _site(pytester, lamp_points=("lamp_on",))
    line = _line(site, "devicemaps/lamp.yaml")

    result = _cli(pytester, "validate", "--profile", "smart-pole", str(site))

    assert result.ret == 1
    result.stdout.fnmatch_lines([f"{site}: 3 error(s), 0 warning(s) (against smart-pole *)"])
    result.stderr.fnmatch_lines(
        [
            f"{site}:{line}: $.targets[[]0[]].devices.lamp: SP-PWR-009 cannot be decided: "
            "device map 'ycsa-bench/lamp-controller' (*/benches/devicemaps/lamp.yaml) of lamp on "
            "P001 has no "
            "point 'lamp_on', which SP-PWR-009 writes; map it (a coil, or a register with on/off "
            "values) or leave SP-PWR-009 out with -k 'not SP-PWR-009'",
            f"{site}:{line}: $.targets[[]0[]].devices.lamp: SP-LUM-010 cannot be decided: *",
            f"{site}:{line}: $.targets[[]0[]].devices.lamp: SP-LUM-011 cannot be decided: *",
        ]
    )
    assert len(result.stderr.lines) == 3


def test_validate_without_profile_holds_a_pole_site_to_the_built_in_pole_profiles(
    pytester: pytest.Pytester,
) -> None:
    site = _site(pytester, lamp_points=("lamp_on",))

    result = _cli(pytester, "validate", str(site))

    assert result.ret == 1
    # smart-community extends smart-pole for poles: each gap is said once.
    result.stdout.fnmatch_lines(
        [f"{site}: 3 error(s), 0 warning(s) (against smart-community *, smart-pole *)"]
    )


def test_validate_warns_of_a_device_role_no_profile_uses_and_exits_0(
    pytester: pytest.Pytester,
) -> None:
    camera = (
        '      camera: {uri: "modbus-tcp://192.0.2.11:502?unit=9", '
        "map: ../../benches/devicemaps/tilt-sensor.yaml}\n"
    )
    site = _site(pytester, extra=camera)

    result = _cli(pytester, "validate", "--profile", "smart-pole", str(site))

    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines([f"{site}: ok, 1 warning(s) (against smart-pole *)"])
    result.stderr.fnmatch_lines(
        [
            f"{site}:{_line(site, 'camera:')}: $.targets[[]0[]].devices.camera: warning: no "
            "requirement of smart-pole for a pole uses a device 'camera'; the profiles know: "
            "environment, gateway, lamp, meter, tilt"
        ]
    )


def test_validate_checks_param_options_against_the_profiles(pytester: pytest.Pytester) -> None:
    site = _site(pytester)

    result = _cli(pytester, "validate", "--param", "road_clas=II", str(site))

    assert result.ret == 1
    result.stderr.fnmatch_lines(["--param road_clas=II: unknown parameter 'road_clas'; *"])


def test_validate_reports_overlapping_registers_of_a_map(pytester: pytest.Pytester) -> None:
    lamp = yaml.safe_load((MAPS / "lamp-controller.yaml").read_text(encoding="utf-8"))
    lamp["points"]["power_factor"]["address"] = 3  # inside active_power's float32 at 2..3
    path = pytester.path / "lamp.yaml"
    path.write_text(yaml.safe_dump(lamp, sort_keys=False), encoding="utf-8")

    result = _cli(pytester, "validate", str(path))

    assert result.ret == 1
    result.stderr.fnmatch_lines(
        [
            f"{path}:*: $.points.power_factor: power_factor (address 3) overlaps active_power "
            "(addresses 2..3) in the input table; *"
        ]
    )


def test_profile_show_json_gives_what_each_requirement_asks_of_a_site(
    pytester: pytest.Pytester,
) -> None:
    result = _cli(pytester, "profile", "show", "smart-pole", "--json")

    data = json.loads(result.stdout.str())
    assert data["resolved_with"] == "defaults"
    requirement = next(r for r in data["requirements"] if r["id"] == "SP-PWR-009")
    assert requirement["refs"]  # the existing fields stay
    assert requirement["devices"] == ["lamp"]
    [use] = requirement["uses"]
    assert (use["role"], use["writes"]) == ("lamp", ["lamp_on", "auto_mode"])
    assert requirement["limit"]["text"] == "<= $standby_power_max"
    assert requirement["limit"]["resolved"] == "<= 0.5 W"
    assert requirement["windows"]["settle"] == {"written": "$standby_settle", "resolved": "5 s"}
    assert requirement["options"]["restore"] == ["auto_mode"]


def test_profile_show_resolves_with_a_sites_parameters_and_param_options(
    pytester: pytest.Pytester,
) -> None:
    site = _site(pytester)
    text = site.read_text(encoding="utf-8")
    site.write_text(text.replace("  city: Kunming", "  city: Kunming\n  voltage_window: 30 s"))

    result = _cli(
        pytester, "profile", "show", "smart-pole", "--json", "--site", str(site),
        "--param", "standby_power_max=1 W",
    )  # fmt: skip

    assert result.ret == 0, result.stderr.str()
    data = json.loads(result.stdout.str())
    assert data["resolved_with"] == f"{site}, target P001, --param standby_power_max=1 W"
    requirements = {r["id"]: r for r in data["requirements"]}
    assert requirements["SP-PWR-001"]["windows"]["window"]["resolved"] == "30 s"
    assert requirements["SP-PWR-009"]["limit"]["resolved"] == "<= 1 W"


def test_points_lists_roles_and_points_with_the_requirements_using_them(
    pytester: pytest.Pytester,
) -> None:
    result = _cli(pytester, "points", "--json")

    data = json.loads(result.stdout.str())
    roles = {r["role"]: r for r in data["roles"]}
    assert {"lamp", "meter", "tilt", "environment", "gateway", "access", "lighting"} <= set(roles)
    assert roles["gateway"]["topics"][:2] == ["telemetry", "heartbeat"]
    assert roles["gateway"]["commands"] == ["SP-DATA-009"]
    points = {p["point"]: p for p in data["points"]}
    assert points["supply_voltage"]["unit"] == "V"
    assert points["supply_voltage"]["dimension"] == "voltage"
    assert "SP-PWR-001" in points["supply_voltage"]["used_by"]["meter"]["reads"]


def test_docs_points_md_is_the_output_of_points_markdown(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "points", "--markdown")

    assert result.ret == 0
    committed = (DOCS / "points.md").read_text(encoding="utf-8").splitlines()
    assert committed == result.stdout.lines, (
        "docs/points.md is out of date: ycsa-conform points --markdown > docs/points.md"
    )
