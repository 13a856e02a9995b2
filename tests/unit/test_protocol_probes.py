"""The `protocol` check kind without a device: parsing, the probes' defaults, device-map keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from ycsa_conform.checks.base import Use
from ycsa_conform.checks.protocol import (
    ANY_DEVICE,
    DEFAULT_MARGIN,
    ProbeKind,
    ProtocolCheck,
    foreign_unit_id,
    illegal_address,
)
from ycsa_conform.devicemap import Table, load_devicemap
from ycsa_conform.errors import InputError
from ycsa_conform.profile import load_profile
from ycsa_conform.resources import data_dir
from ycsa_conform.units import Quantity

MAPS = data_dir("benches") / "devicemaps"
PROFILE = (data_dir("profiles") / "smart-pole.yaml").read_text(encoding="utf-8")
HEAD = "devicemap: acme/env-1\nversion: 1\nprotocol: modbus\n"


def profile_with(tmp_path: Path, check: str) -> Path:
    """The built-in profile with one protocol requirement appended; `check` is its YAML body."""
    body = "\n".join(f"      {line}" for line in check.strip().splitlines())
    text = PROFILE.rstrip("\n") + (
        "\n\n  - id: SP-TEST-001\n"
        "    title: {en: probe, zh: 探测}\n"
        "    area: data-interface\n"
        "    level: mandatory\n"
        "    refs:\n"
        "      - {source: practice, clause: null, confidence: I, association_clause: null}\n"
        "    check:\n"
        "      kind: protocol\n"
        f"{body}\n"
    )
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as excinfo:
        load_profile(path)
    return [str(p) for p in excinfo.value.problems]


def test_a_response_time_probe_parses_with_its_limit_and_count(tmp_path: Path) -> None:
    path = profile_with(
        tmp_path, "device: meter\nprobe: response_time\nlimit: '20 ms .. 500 ms'\ncount: 5"
    )

    check = load_profile(path).requirements[-1].check

    assert isinstance(check, ProtocolCheck)
    assert (check.device, check.probe, check.count) == ("meter", ProbeKind.RESPONSE_TIME, 5)
    assert check.limit is not None
    assert check.limit.resolve({}).upper == Quantity(500, "ms")
    assert check.needs() == ("meter",)


def test_a_limit_on_a_refusal_probe_is_a_problem_saying_to_drop_it(tmp_path: Path) -> None:
    path = profile_with(tmp_path, "device: lamp\nprobe: illegal_address\nlimit: '<= 1 s'")

    [problem] = problems(path)

    assert problem.startswith(f"{path}:")
    assert problem.endswith(
        ".check.limit: 'limit' applies to the response_time probe only; the illegal_address "
        "probe is decided by what the device answers, so drop it"
    )


def test_response_time_without_a_limit_says_what_to_add(tmp_path: Path) -> None:
    [problem] = problems(profile_with(tmp_path, "device: meter\nprobe: response_time"))

    assert problem.endswith("add limit: '20 ms .. 500 ms'")


def test_a_response_time_limit_in_volts_is_the_wrong_dimension(tmp_path: Path) -> None:
    path = profile_with(tmp_path, "device: meter\nprobe: response_time\nlimit: '<= 5 V'")

    [problem] = problems(path)

    assert "has the wrong dimension for response delay" in problem


def test_an_unknown_probe_is_rejected_by_the_schema_with_the_list(tmp_path: Path) -> None:
    [problem] = problems(profile_with(tmp_path, "device: lamp\nprobe: crc_errors"))

    assert ".check.probe:" in problem
    assert '"illegal_address", "illegal_function", "foreign_unit", "word_order"' in problem


# -- defaults ---------------------------------------------------------------------------------


def test_the_default_illegal_address_is_past_the_table_with_the_most_points() -> None:
    lamp = load_devicemap(MAPS / "lamp-controller.yaml")  # input registers 0..12

    assert illegal_address(lamp) == (Table.INPUT, 12 + DEFAULT_MARGIN)


def test_a_declared_illegal_address_wins() -> None:
    environment = load_devicemap(MAPS / "environment-sensor.yaml")

    assert illegal_address(environment) == (Table.INPUT, 0x0FFF)


def test_a_bare_illegal_address_takes_the_maps_default_table(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(
        HEAD + "defaults: {table: holding}\nprobes: {illegal_address: 0x0100, "
        "illegal_function: 66}\npoints:\n  tilt_x: {address: 0, type: int16, unit: deg}\n",
        encoding="utf-8",
    )

    devicemap = load_devicemap(path)

    assert illegal_address(devicemap) == (Table.HOLDING, 256)
    assert devicemap.probes.illegal_function == 66


@pytest.mark.parametrize(
    ("used", "foreign"), [({1}, 247), ({1, 3, 4, 247}, 246), ({247, 246, 245}, 244)]
)
def test_the_foreign_unit_is_the_highest_id_nobody_uses(used: set[int], foreign: int) -> None:
    assert foreign_unit_id(used) == foreign


# -- device maps ------------------------------------------------------------------------------


def test_a_range_is_parsed_as_the_points_plausible_values() -> None:
    environment = load_devicemap(MAPS / "environment-sensor.yaml")
    point = environment.modbus_point("ambient_illuminance")

    assert point.plausible is not None
    assert point.plausible.resolve({}).upper == Quantity(200000, "lx")
    assert environment.modbus_point("pm10").plausible is not None


@pytest.mark.parametrize(
    ("range_", "message"),
    [
        ("0 V .. 10 V", "range '0 V .. 10 V' is not in the point's unit lx; write it in lx"),
        (
            "0 lx .. $max_lux",
            "'0 lx .. $max_lux' is not a range of values; write it like 'LOW .. HIGH' with units",
        ),
    ],
)
def test_a_bad_range_names_the_point_and_the_fix(tmp_path: Path, range_: str, message: str) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(
        HEAD + "points:\n"
        f"  ambient_illuminance: {{address: 5, type: uint32, unit: lx, range: '{range_}'}}\n",
        encoding="utf-8",
    )

    with pytest.raises(InputError) as excinfo:
        load_devicemap(path)

    assert [str(p) for p in excinfo.value.problems] == [
        f"{path}:5: $.points.ambient_illuminance.range: {message}"
    ]


def test_probes_belong_to_modbus_maps_only(tmp_path: Path) -> None:
    path = tmp_path / "meter.yaml"
    path.write_text(
        "devicemap: acme/m-1\nversion: 1\nprotocol: dlt645\nprobes: {illegal_function: 25}\n"
        "points:\n  supply_voltage: {di: '02010100', format: XXX.X, unit: V}\n",
        encoding="utf-8",
    )

    with pytest.raises(InputError) as excinfo:
        load_devicemap(path)

    [problem] = [str(p) for p in excinfo.value.problems]
    assert problem.startswith(f"{path}:4: $.probes: ")
    assert problem.endswith("remove 'probes' from this dlt645 map")


# -- device: any ------------------------------------------------------------------------------


def test_word_order_on_any_device_needs_and_uses_no_particular_role(tmp_path: Path) -> None:
    check = (
        load_profile(profile_with(tmp_path, "device: any\nprobe: word_order"))
        .requirements[-1]
        .check
    )

    assert isinstance(check, ProtocolCheck)
    assert check.device == ANY_DEVICE
    assert check.needs() == ()
    assert check.uses() == ()


def test_a_named_probe_uses_its_roles_map_without_naming_points(tmp_path: Path) -> None:
    check = (
        load_profile(profile_with(tmp_path, "device: lamp\nprobe: foreign_unit"))
        .requirements[-1]
        .check
    )

    assert check.uses() == (Use(role="lamp"),)


def test_any_device_is_for_the_word_order_probe_only(tmp_path: Path) -> None:
    path = profile_with(tmp_path, "device: any\nprobe: illegal_address")

    [problem] = problems(path)

    assert problem.endswith(
        ".check.device: 'device: any' (every Modbus device of the target) is for the word_order "
        "probe; the illegal_address probe asks one device, so name its role, like 'device: lamp'"
    )


def test_smart_pole_probes_the_word_order_of_every_modbus_device() -> None:
    [requirement] = [
        r
        for r in load_profile(data_dir("profiles") / "smart-pole.yaml").requirements
        if r.id == "SP-DATA-023"
    ]

    assert requirement.check == ProtocolCheck(device=ANY_DEVICE, probe=ProbeKind.WORD_ORDER)
