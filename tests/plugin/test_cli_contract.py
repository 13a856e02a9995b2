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

from ycsa_conform.contract import gaps
from ycsa_conform.profile import load_profile
from ycsa_conform.resources import data_dir
from ycsa_conform.site import load_site

MAPS = data_dir("benches") / "devicemaps"
DOCS = Path(__file__).resolve().parents[2] / "docs"

# Requirements of our own, so that exact lines do not follow the built-in profiles' wording.
PROFILE = """\
profile: contract-cli
version: "0.1.0"
title: {en: Contract, zh: 契约}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  standby_max: {type: quantity, unit: W, default: 0.5 W, title: {en: S, zh: S}}
  settle: {type: quantity, unit: s, default: 5 s, title: {en: S, zh: S}}
  city: {type: text, default: Kunming, title: {en: C, zh: C}}  # the example site sets it
requirements:
  - id: CC-GEN-001
    title: {en: Dimming honoured while on, zh: 调光}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: measure
      device: lamp
      point: actual_light_state
      relative_to: target_light_command
      limit: "-5 % .. 5 %"
      unless: [{point: lamp_on, equals: false}]
  - id: CC-GEN-002
    title: {en: Standby power, zh: 待机功率}
    area: power
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: actuate
      device: lamp
      set: {lamp_on: false}
      restore: [auto_mode]
      settle: $settle
      observe: {point: active_power, limit: "<= $standby_max"}
  - id: CC-GEN-003
    title: {en: Meter voltage, zh: 电表电压}
    area: power
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: {kind: measure, device: meter, point: supply_voltage, limit: "198 V .. 242 V"}
"""


def _profile(pytester: pytest.Pytester) -> Path:
    path = pytester.path / "contract-cli.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    return path


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
    lamp = _line(site, "devicemaps/lamp.yaml")
    profile = _profile(pytester)

    result = _cli(pytester, "validate", "--profile", str(profile), str(site))

    assert result.ret == 1
    result.stdout.fnmatch_lines([f"{site}: 2 error(s), 3 warning(s) (against contract-cli 0.1.0)"])
    result.stderr.fnmatch_lines(
        [
            f"{site}:{lamp}: $.targets[[]0[]].devices.lamp: CC-GEN-001 cannot be decided: device "
            "map 'ycsa-bench/lamp-controller' (*/benches/devicemaps/lamp.yaml) of lamp on P001 "
            "has no point 'lamp_on', which CC-GEN-001 reads; map it (a coil, a discrete input, "
            "or a register with on/off values) or leave CC-GEN-001 out with -k 'not CC-GEN-001'",
            f"{site}:{lamp}: $.targets[[]0[]].devices.lamp: CC-GEN-002 cannot be decided: device "
            "map 'ycsa-bench/lamp-controller' (*/benches/devicemaps/lamp.yaml) of lamp on P001 "
            "has no point 'lamp_on', which CC-GEN-002 writes; map it (a coil, or a register with "
            "on/off values) or leave CC-GEN-002 out with -k 'not CC-GEN-002'",
            # the devices this profile does not use
            f"{site}:*: $.targets[[]0[]].devices.tilt: warning: no requirement of contract-cli "
            "for a pole uses a device 'tilt'; the profiles know: lamp, meter",
            f"{site}:*: $.targets[[]0[]].devices.environment: warning: *",
            f"{site}:*: $.targets[[]0[]].devices.gateway: warning: *",
        ]
    )
    assert len(result.stderr.lines) == 5


def test_validate_reports_a_device_a_requirement_needs_and_the_site_lacks(
    pytester: pytest.Pytester,
) -> None:
    site = _site(pytester)
    text = site.read_text(encoding="utf-8")
    [meter] = [line for line in text.splitlines(keepends=True) if line.startswith("      meter:")]
    site.write_text(text.replace(meter, ""), encoding="utf-8")
    profile = _profile(pytester)

    result = _cli(pytester, "validate", "--profile", str(profile), str(site))

    assert result.ret == 1
    result.stderr.fnmatch_lines(
        [
            f"{site}:{_line(site, '- id: P001')}: $.targets[[]0[]]: CC-GEN-003 cannot be decided: "
            "target P001 declares no 'meter' device; add it under devices at *"
        ]
    )


def test_validate_without_profile_holds_a_pole_site_to_the_built_in_pole_profiles(
    pytester: pytest.Pytester,
) -> None:
    site = _site(pytester, lamp_points=("supply_voltage",))
    profile = load_profile("smart-pole")
    expected = {requirement for _, requirement, _ in gaps([profile], load_site(site))}

    result = _cli(pytester, "validate", str(site))

    assert result.ret == 1
    assert expected
    # smart-community extends smart-pole for poles: each of their shared gaps is said once.
    against = "(against smart-community *, smart-pole *)"
    result.stdout.fnmatch_lines([f"{site}: {len(expected)} error(s), 0 warning(s) {against}"])
    said = {line.split(": ")[2].split()[0] for line in result.stderr.lines}
    assert said == expected


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

    assert result.ret == 4
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
    result = _cli(pytester, "profile", "show", str(_profile(pytester)), "--json")

    data = json.loads(result.stdout.str())
    assert data["resolved_with"] == "defaults"
    requirement = next(r for r in data["requirements"] if r["id"] == "CC-GEN-002")
    assert requirement["refs"] == [
        {"source": "practice", "clause": None, "confidence": "I", "association_clause": None}
    ]  # the existing fields stay
    assert requirement["devices"] == ["lamp"]
    assert requirement["uses"] == [
        {
            "role": "lamp",
            "reads": ["lamp_on", "auto_mode", "active_power"],
            "writes": ["lamp_on", "auto_mode"],
            "optional": [],
            "when_mapped": [],
            "establishes": [],
            "topics": [],
            "commands": False,
        }
    ]
    assert requirement["requires"] is None
    assert requirement["limit"] == {
        "at": "observe[0].limit",
        "text": "<= $standby_max",
        "resolved": "<= 0.5 W",
    }
    assert requirement["windows"] == {"settle": {"written": "$settle", "resolved": "5 s"}}
    assert requirement["options"]["restore"] == ["auto_mode"]


def test_profile_show_of_a_built_in_profile_has_the_contract_of_every_requirement(
    pytester: pytest.Pytester,
) -> None:
    result = _cli(pytester, "profile", "show", "smart-pole", "--json")

    data = json.loads(result.stdout.str())
    fields = {"devices", "uses", "when", "limit", "limits", "windows", "options"}
    assert all(fields <= set(r) for r in data["requirements"])
    voltage = next(r for r in data["requirements"] if r["id"] == "SP-PWR-001")
    assert voltage["devices"] == ["meter"]
    assert voltage["limit"]["resolved"].startswith("198 V .. ")
    # what each requirement asks of a map, and the state it is judged in, by structure: a
    # point only used when mapped, or written only to set a state, is said as such
    uses = [use for r in data["requirements"] for use in r["uses"]]
    assert all(
        {"reads", "writes", "optional", "when_mapped", "establishes"} <= set(use) for use in uses
    )
    for r in data["requirements"]:
        requires = r["options"].get("requires")
        if requires is None:
            assert r["requires"] is None
            continue
        states = [s["point"] for s in r["requires"]["states"]]
        assert states == [s["point"] for s in requires["states"]], r["id"]
        [use] = r["uses"]
        for state in r["requires"]["states"]:
            # read to verify it (unless optional and unmapped), set only when it says so
            assert state["point"] in use["reads"] + use["when_mapped"], (r["id"], state)
            assert (state["set"] is not None) == (state["point"] in use["establishes"])
        assert set(r["requires"]["restore"]) <= set(use["establishes"])
    assert any(r["requires"] for r in data["requirements"])
    assert any(use["when_mapped"] for use in uses)


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
    assert "standby_power_max" in data["parameters"]
    standby = [
        limit
        for r in data["requirements"]
        for limit in r["limits"]
        if "$standby_power_max" in limit["text"]
    ]
    assert standby
    assert all("1 W" in limit["resolved"] for limit in standby)


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
    # every requirement using a point, whatever it does with it, is listed under its role
    profile = json.loads(_cli(pytester, "profile", "show", "smart-pole", "--json").stdout.str())
    for requirement in profile["requirements"]:
        for use in requirement["uses"]:
            for how in ("reads", "writes", "optional", "when_mapped", "establishes"):
                for point in use[how]:
                    used = points[point]["used_by"][use["role"]]
                    listed = [i for kind in used.values() for i in kind]
                    assert requirement["id"] in listed, (point, how, requirement["id"])
                    if how in ("optional", "when_mapped", "establishes"):
                        assert requirement["id"] in used[how]


def test_docs_points_md_is_the_output_of_points_markdown(pytester: pytest.Pytester) -> None:
    result = _cli(pytester, "points", "--markdown")

    assert result.ret == 0
    committed = (DOCS / "points.md").read_text(encoding="utf-8").splitlines()
    assert committed == result.stdout.lines, (
        "docs/points.md is out of date: ycsa-conform points --markdown > docs/points.md"
    )
