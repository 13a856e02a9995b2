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


# -- word order spellings, 64-bit types, write function codes --------------------------------


@pytest.mark.parametrize(
    ("order", "byte_order", "word_order"),
    [
        ("ABCD", ByteOrder.BIG, ByteOrder.BIG),
        ("CDAB", ByteOrder.BIG, ByteOrder.LITTLE),
        ("BADC", ByteOrder.LITTLE, ByteOrder.BIG),
        ("DCBA", ByteOrder.LITTLE, ByteOrder.LITTLE),
    ],
)
def test_order_is_the_combined_spelling_of_byte_and_word_order(
    tmp_path: Path, order: str, byte_order: ByteOrder, word_order: ByteOrder
) -> None:
    path = write(
        tmp_path, f"  active_power: {{address: 0, type: float32, unit: W, order: {order}}}\n"
    )
    point = load_devicemap(path).modbus_point("active_power")

    assert (point.byte_order, point.word_order, point.order) == (byte_order, word_order, order)


def test_a_points_own_order_overrides_the_defaults_order(tmp_path: Path) -> None:
    head = HEAD + "defaults: {order: CDAB}\n"
    points = (
        "  active_power: {address: 0, type: float32, unit: W}\n"
        "  active_energy: {address: 2, type: uint64, unit: kWh, word_order: big}\n"
        "  supply_voltage: {address: 6, type: float64, unit: V, order: DCBA}\n"
    )
    devicemap = load_devicemap(write(tmp_path, points, head=head))

    assert devicemap.modbus_point("active_power").order == "CDAB"
    assert devicemap.modbus_point("active_energy").order == "ABCD"
    assert devicemap.modbus_point("supply_voltage").order == "DCBA"
    assert devicemap.modbus_point("supply_voltage").type.registers == 4
    assert devicemap.modbus_point("active_energy").location == "holding registers 2..5"


def test_order_and_word_order_on_one_point_is_a_problem(tmp_path: Path) -> None:
    point = "  active_power: {address: 0, type: float32, unit: W, order: CDAB, word_order: big}\n"
    path = write(tmp_path, point)

    assert problems(path) == [
        f"{path}:5: $.points.active_power.order: give either 'order: CDAB' or word_order, not "
        "both (order CDAB is byte_order big, word_order little)"
    ]


def test_an_unknown_order_spelling_lists_the_four(tmp_path: Path) -> None:
    path = write(tmp_path, "  active_power: {address: 0, type: float32, unit: W, order: BACD}\n")

    assert problems(path) == [
        f'{path}:5: $.points.active_power.order: "BACD" is not allowed (did you mean '
        '\'BADC\'?); use one of: "ABCD", "CDAB", "BADC", "DCBA"'
    ]


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (
            "{table: input, address: 0, type: uint16, write_function: 6}",
            "write_function: an input register cannot be written over Modbus; only coils "
            "(5, 15) and holding registers (6, 16) can",
        ),
        (
            "{table: holding, address: 0, type: float32, write_function: 6}",
            "write_function: function 6 writes one register and a float32 spans 2; give 16",
        ),
        (
            "{table: holding, address: 0, type: uint16, write_function: 5}",
            "write_function: function 5 does not write a holding register; give 6 or 16",
        ),
    ],
)
def test_a_write_function_that_cannot_write_the_point_is_named(
    tmp_path: Path, point: str, message: str
) -> None:
    path = write(tmp_path, f"  target_light_command: {point}\n".replace("}", ", unit: '%'}"))

    assert problems(path) == [f"{path}:5: $.points.target_light_command.{message}"]


def test_a_write_function_is_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "  target_light_command: {address: 0, type: uint16, unit: '%', write_function: 16}\n",
    )

    assert load_devicemap(path).modbus_point("target_light_command").write_function == 16


# -- on/off points ----------------------------------------------------------------------------


def test_on_off_points_load_in_every_form(tmp_path: Path) -> None:
    points = (
        "  lamp_on: {address: 0, type: uint16, writable: '0 .. 1'}\n"
        "  auto_mode: {address: 1, type: uint16, on: 0xFF00, off: 0}\n"
        "  lamp_failure: {address: 2, type: uint16, bit: 0}\n"
        "  driver_failure: {address: 2, type: bool, bit: 15}\n"
        "  door_open: {table: discrete_input, address: 0, type: bool}\n"
    )
    devicemap = load_devicemap(write(tmp_path, points))
    lamp_on = devicemap.modbus_point("lamp_on")
    auto = devicemap.modbus_point("auto_mode")
    failure = devicemap.modbus_point("lamp_failure")
    driver = devicemap.modbus_point("driver_failure")

    assert lamp_on.flag
    assert (lamp_on.on, lamp_on.off, lamp_on.bit) == (None, None, None)
    assert (auto.on, auto.off) == (0xFF00, 0)
    assert (failure.bit, failure.location) == (0, "bit 0 of holding register 2")
    # 'type: bool' with a bit is a bit of a 16-bit register.
    assert (driver.type, driver.bit) == (DataType.UINT16, 15)
    assert devicemap.modbus_point("door_open").table is Table.DISCRETE_INPUT


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (
            "lamp_on: {address: 0, type: uint16, on: 1}",
            "lamp_on.on: declare both 'on:' and 'off:' (add 'off:'), so that any other value "
            "reads as implausible; without them nonzero is on",
        ),
        (
            "lamp_on: {address: 0, type: uint16, on: 1, off: 1}",
            "lamp_on.off: on and off are both 1; give the two different values",
        ),
        (
            "lamp_on: {address: 0, type: int16, on: 65280, off: 0}",
            "lamp_on.on: 65280 does not fit a int16; give -32768..32767",
        ),
        (
            "lamp_on: {address: 0, type: uint16, bit: 3, on: 1, off: 0}",
            "lamp_on.bit: a bit is on when set; give either 'bit:' or 'on:'/'off:', not both",
        ),
        (
            "lamp_on: {table: coil, address: 0, type: bool, bit: 3}",
            "lamp_on.bit: a coil is already one bit; remove 'bit'",
        ),
        (
            "lamp_on: {address: 0, type: float32}",
            "lamp_on.type: lamp_on is an on/off point: map it to a coil or discrete input "
            "(type 'bool'), a 16-bit register (type 'uint16' or 'int16', with 'on:'/'off:' "
            "values if not 1/0), or 'bit: N' of one; not float32",
        ),
        (
            "lamp_on: {address: 0, type: uint16, scale: 0.1}",
            "lamp_on.scale: lamp_on is an on/off point, read as on or off; remove 'scale'",
        ),
        (
            "lamp_on: {address: 0, type: uint16, range: '0 .. 1'}",
            "lamp_on.range: lamp_on is an on/off point, which has no range; remove it; for a "
            "register declare its 'on:' and 'off:' values instead",
        ),
        (
            "supply_voltage: {address: 0, type: uint16, unit: V, bit: 3}",
            "supply_voltage.bit: 'bit' is for on/off points (like lamp_on); supply_voltage is "
            "a number",
        ),
        (
            "supply_voltage: {table: coil, address: 0, type: bool, unit: V}",
            "supply_voltage.type: supply_voltage is a number (V), a coil holds one bit; map it "
            "to a holding or input register with a number type such as 'uint16'",
        ),
    ],
)
def test_a_bad_on_off_point_names_the_rule_and_the_fix(
    tmp_path: Path, point: str, message: str
) -> None:
    path = write(tmp_path, f"  {point}\n")

    assert problems(path) == [f"{path}:5: $.points.{message}"]


def test_a_bit_must_be_0_to_15(tmp_path: Path) -> None:
    path = write(tmp_path, "  lamp_on: {address: 0, type: uint16, bit: 16}\n")

    [problem] = problems(path)
    assert problem.startswith(f"{path}:5: $.points.lamp_on.bit: 16 is out of range")
    assert problem.endswith(
        "give the bit number 0..15 of the status word, 0 being the least significant"
    )


# -- ranges -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["<= 300 W", "0 W .. 300 W marginal 1 W", "in [0 W, 1 W]"])
def test_a_range_needs_both_ends_and_nothing_else(tmp_path: Path, text: str) -> None:
    path = write(
        tmp_path, f"  active_power: {{address: 0, type: float32, unit: W, range: '{text}'}}\n"
    )

    assert problems(path) == [
        f"{path}:5: $.points.active_power.range: {text!r} is not a range of values; write it "
        "like 'LOW .. HIGH' with units"
    ]


@pytest.mark.parametrize("path", BENCH_MAPS, ids=lambda p: p.stem)
def test_every_numeric_point_of_the_bench_maps_declares_a_range(path: Path) -> None:
    devicemap = load_devicemap(path)
    numbers = [n for n in devicemap.points if POINTS[n].unit not in ("flag", "text")]

    assert [n for n in numbers if devicemap.points[n].plausible is None] == []
