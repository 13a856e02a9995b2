"""Device maps: the bench maps load; a wrong map names the point, the rule and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from ycsa_conform.devicemap import (
    ByteOrder,
    DataType,
    Table,
    check_point_unit,
    load_devicemap,
    unknown_point_message,
)
from ycsa_conform.errors import InputError
from ycsa_conform.point import POINTS
from ycsa_conform.resources import data_dir
from ycsa_conform.units import Quantity, parse_unit, ureg

BENCH_MAPS = sorted((data_dir("benches") / "devicemaps").glob("*.yaml"))
HEAD = "devicemap: acme/lc-200\nversion: 1\nprotocol: modbus\n"


def write(tmp_path: Path, points: str, head: str = HEAD) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(head + "points:\n" + points, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as excinfo:
        load_devicemap(path)
    return [str(p) for p in excinfo.value.problems]


def test_the_bench_maps_are_found() -> None:
    assert {p.stem for p in BENCH_MAPS} >= {
        "environment-sensor",
        "lamp-controller",
        "meter-dlt645",
        "gateway",
        "tilt-sensor",
    }


@pytest.mark.parametrize("path", BENCH_MAPS, ids=lambda p: p.stem)
def test_each_bench_map_loads_with_known_points(path: Path) -> None:
    devicemap = load_devicemap(path)

    assert devicemap.protocol in ("modbus", "dlt645", "mqtt")
    assert devicemap.points
    assert set(devicemap.points) <= set(POINTS)


def test_map_defaults_apply_to_points_that_do_not_override_them() -> None:
    meter = load_devicemap(data_dir("fixtures") / "devicemaps" / "meter-modbus.yaml")
    voltage = meter.points["supply_voltage"]

    # The meter sends float32 word-swapped (CDAB) from its holding registers.
    assert (voltage.table, voltage.type) == (Table.HOLDING, DataType.FLOAT32)
    assert (voltage.byte_order, voltage.word_order) == (ByteOrder.BIG, ByteOrder.LITTLE)
    assert voltage.unit == ureg.volt


def test_a_point_overrides_the_default_table() -> None:
    lamp = load_devicemap(data_dir("benches") / "devicemaps" / "lamp-controller.yaml")

    assert lamp.points["supply_voltage"].table is Table.INPUT
    assert lamp.points["lamp_failure"].table is Table.DISCRETE_INPUT
    assert lamp.points["target_light_command"].table is Table.HOLDING


def test_a_writable_range_is_parsed_as_a_limit() -> None:
    lamp = load_devicemap(data_dir("benches") / "devicemaps" / "lamp-controller.yaml")
    writable = lamp.points["target_light_command"].writable

    assert writable is not None
    assert writable.resolve({}).describe() == "0 % .. 100 %"


def test_scale_and_offset_default_to_identity(tmp_path: Path) -> None:
    path = write(tmp_path, "  frequency: {address: 3, type: uint16, unit: Hz}\n")
    point = load_devicemap(path).points["frequency"]

    assert (point.scale, point.offset, point.table) == (1.0, 0.0, Table.HOLDING)


def test_an_unknown_point_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "  supply_voltag: {address: 0, type: uint16, unit: V}\n")

    assert problems(path) == [
        f"{path}:5: $.points.supply_voltag: unknown point 'supply_voltag'; did you mean "
        "'supply_voltage'? known points: " + ", ".join(POINTS)
    ]


def test_a_unit_of_the_wrong_dimension_names_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path, "  supply_voltage: {address: 0, type: uint16, unit: lx}\n")

    assert problems(path) == [
        f"{path}:5: $.points.supply_voltage.unit: unit 'lx' has the wrong dimension for "
        "supply_voltage (RMS supply voltage); use 'V'"
    ]


def test_a_unit_on_a_plain_number_point_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "  power_factor: {address: 0, type: uint16, unit: V}\n")

    assert problems(path) == [
        f"{path}:5: $.points.power_factor.unit: unit 'V' has the wrong dimension for "
        "power_factor (power factor (0-1)); use 'a plain number'"
    ]


def test_an_unknown_unit_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "  supply_voltage: {address: 0, type: uint16, unit: volts rms}\n")

    assert problems(path) == [
        f"{path}:5: $.points.supply_voltage.unit: 'volts rms' is not a unit we know; "
        "write it like 'V' or 'kWh'"
    ]


def test_a_bool_in_the_holding_table_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "  lamp_failure: {table: holding, address: 0, type: bool}\n")

    assert problems(path) == [
        f"{path}:5: $.points.lamp_failure.type: 'bool' is the type of a coil or discrete "
        "input, not of a holding register; set table to 'coil' or 'discrete_input', or for an "
        "on/off register give type 'uint16' (on when nonzero, or declare its 'on:' and 'off:' "
        "values), or add 'bit: N' for bit N of a status word"
    ]


def test_a_register_type_in_a_bit_table_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "  lamp_failure: {table: coil, address: 0, type: uint16}\n")

    assert problems(path) == [
        f"{path}:5: $.points.lamp_failure.type: a coil holds bits; set type to 'bool'"
    ]


def test_a_bool_takes_its_bit_table_from_the_defaults(tmp_path: Path) -> None:
    head = HEAD + "defaults: {table: discrete_input}\n"
    path = write(tmp_path, "  lamp_failure: {address: 0, type: bool}\n", head=head)

    assert load_devicemap(path).points["lamp_failure"].table is Table.DISCRETE_INPUT


def test_a_writable_range_in_the_wrong_unit_is_rejected(tmp_path: Path) -> None:
    point = (
        "  target_light_command: {address: 0, type: uint16, unit: '%', writable: '0 V .. 10 V'}\n"
    )
    path = write(tmp_path, point)

    assert problems(path) == [
        f"{path}:5: $.points.target_light_command.writable: range '0 V .. 10 V' is not in "
        "the point's unit %; write it in %"
    ]


def test_a_writable_range_that_is_not_a_limit_is_rejected(tmp_path: Path) -> None:
    point = "  target_light_command: {address: 0, type: uint16, unit: '%', writable: '0 % ..'}\n"
    path = write(tmp_path, point)

    assert problems(path) == [
        f"{path}:5: $.points.target_light_command.writable: '0 % ..': a range needs both "
        "ends, like '198 V .. 235.4 V'"
    ]


def test_every_problem_of_a_map_is_reported(tmp_path: Path) -> None:
    points = (
        "  supply_voltage: {address: 0, type: uint16, unit: lx}\n"
        "  lamp_failure: {table: holding, address: 1, type: bool}\n"
        "  pm25: {address: 2, type: uint16}\n"
    )
    path = write(tmp_path, points)

    assert [p.split(": ")[1] for p in problems(path)] == [
        "$.points.supply_voltage.unit",
        "$.points.lamp_failure.type",
        "$.points.pm25",
    ]


def test_a_schema_problem_stops_before_the_points_are_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "  supply_voltage: {address: -1, type: uint16, unit: V}\n")

    assert problems(path) == [
        f"{path}:5: $.points.supply_voltage.address: -1 is out of range: -1 is less than the "
        "minimum of 0; give the 0-based protocol address (register 40001 is holding address 0)"
    ]


@pytest.mark.parametrize(
    ("point", "unit"),
    [("supply_voltage", "mV"), ("active_power", "kW"), ("lamp_failure", ""), ("tilt_x", "rad")],
)
def test_check_point_unit_accepts_units_of_the_points_dimension(point: str, unit: str) -> None:
    assert check_point_unit(point, parse_unit(unit)) is None


def test_check_point_unit_says_dimensionless_for_a_missing_unit() -> None:
    assert check_point_unit("supply_voltage", parse_unit("")) == (
        "unit 'dimensionless' has the wrong dimension for supply_voltage (RMS supply voltage); "
        "use 'V'"
    )


def test_unknown_point_message_without_a_close_match() -> None:
    assert unknown_point_message("zzz").startswith("unknown point 'zzz'; known points: ")


def test_map_points_keep_their_units_as_quantities_would() -> None:
    meter = load_devicemap(data_dir("fixtures") / "devicemaps" / "meter-modbus.yaml")

    assert Quantity(1.0, meter.points["active_power"].unit).to("W").magnitude == 1000.0
