"""Device maps for DL/T 645 meters and MQTT devices: what they hold and how bad ones are told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ycsa_conform.devicemap import Dlt645Point, MqttPoint, load_devicemap
from ycsa_conform.errors import InputError
from ycsa_conform.units import ureg

DLT = "devicemap: acme/ddsu\nversion: 1\nprotocol: dlt645\npoints:\n"
MQTT = "devicemap: acme/gw\nversion: 1\nprotocol: mqtt\n"


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as excinfo:
        load_devicemap(path)
    return [str(p) for p in excinfo.value.problems]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_dlt645_point_knows_its_identifier_and_bcd_layout(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        DLT + "  supply_current: {di: '02020100', format: XXX.XXX, signed: true, unit: A}\n",
    )
    point = load_devicemap(path).points["supply_current"]
    assert isinstance(point, Dlt645Point)
    assert (point.di, point.digits, point.decimals, point.length) == (0x02020100, 6, 3, 3)
    assert point.signed
    assert point.unit == ureg.ampere


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ("{di: '0201010', format: XXX.X, unit: V}", "$.points.supply_voltage.di: "),
        ("{di: '02010100', format: 999.9, unit: V}", "$.points.supply_voltage.format: "),
        ("{di: '02010100', format: XXX.X, unit: A}", "unit 'A' has the wrong dimension"),
        ("{address: 3, type: uint16, unit: V}", "$.points.supply_voltage: "),
    ],
)
def test_bad_dlt645_points_are_named_with_the_fix(tmp_path: Path, point: str, message: str) -> None:
    path = write(tmp_path, DLT + f"  supply_voltage: {point}\n")
    found = problems(path)
    assert any(message in p for p in found), found


def mqtt_map(tmp_path: Path, body: str, schema: object = None) -> Path:
    if schema is not None:
        (tmp_path / "telemetry.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    return write(tmp_path, MQTT + body)


TOPICS = "topics:\n  telemetry: {topic: telemetry, schema: telemetry.schema.json}\n"


def test_an_mqtt_point_is_a_pointer_into_a_topic_with_a_schema(tmp_path: Path) -> None:
    path = mqtt_map(
        tmp_path,
        TOPICS + "points:\n  supply_voltage: {topic: telemetry, pointer: /power/v, unit: V}\n",
        schema={"type": "object"},
    )
    devicemap = load_devicemap(path)
    point = devicemap.points["supply_voltage"]
    assert isinstance(point, MqttPoint)
    assert (point.topic, point.pointer, point.unit) == ("telemetry", "/power/v", ureg.volt)
    assert devicemap.topics["telemetry"].schema == {"type": "object"}


def test_mqtt_maps_name_unknown_topics_and_broken_schemas(tmp_path: Path) -> None:
    path = mqtt_map(
        tmp_path,
        TOPICS + "points:\n  supply_voltage: {topic: telemetri, pointer: /v, unit: V}\n",
        schema={"type": "nonsense"},
    )
    found = problems(path)
    assert any("telemetry.schema.json is not a valid JSON Schema" in p for p in found), found
    assert any(
        "$.points.supply_voltage.topic: unknown topic 'telemetri'; did you mean 'telemetry'?" in p
        for p in found
    ), found


def test_a_command_needs_a_commands_section(tmp_path: Path) -> None:
    path = mqtt_map(
        tmp_path,
        TOPICS + "points:\n  target_light_command: {topic: telemetry, pointer: /d, unit: '%', "
        "writable: '0 % .. 100 %', command: /dimming}\n",
        schema={"type": "object"},
    )
    [problem] = problems(path)
    assert "$.points.target_light_command.command: a command needs a 'commands:" in problem


def test_a_missing_schema_file_is_named(tmp_path: Path) -> None:
    path = mqtt_map(
        tmp_path, TOPICS + "points:\n  pm10: {topic: telemetry, pointer: /pm10, unit: ug/m^3}\n"
    )
    [problem] = problems(path)
    assert "telemetry.schema.json not found; give a path relative to map.yaml" in problem
    assert ":5: $.topics.telemetry.schema" in problem


# -- ranges on every protocol -----------------------------------------------------------------


def test_a_dlt645_point_declares_its_range(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        DLT + "  supply_voltage: {di: '02010100', format: XXX.X, unit: V, range: '0 V .. 300 V'}\n",
    )
    point = load_devicemap(path).points["supply_voltage"]

    assert point.plausible is not None
    assert point.plausible.text == "0 V .. 300 V"
    assert point.location == "DI 02010100"


def test_an_mqtt_point_declares_its_range_in_any_unit_of_its_dimension(tmp_path: Path) -> None:
    path = mqtt_map(
        tmp_path,
        TOPICS + "points:\n  active_power: "
        "{topic: telemetry, pointer: /p, unit: kW, range: '0 W .. 300 W'}\n",
        schema={"type": "object"},
    )
    point = load_devicemap(path).points["active_power"]

    assert point.plausible is not None
    assert point.plausible.resolve({}).upper == 300 * ureg.watt
    assert point.location == "/p of topic 'telemetry'"


def test_an_mqtt_flag_has_no_range(tmp_path: Path) -> None:
    path = mqtt_map(
        tmp_path,
        TOPICS + "points:\n  lamp_on: {topic: telemetry, pointer: /on, range: '0 .. 1'}\n",
        schema={"type": "object"},
    )

    assert problems(path) == [
        f"{path}:7: $.points.lamp_on.range: lamp_on is an on/off point, which has no range; "
        "remove it"
    ]


def test_a_dlt645_range_in_the_wrong_dimension_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        DLT + "  frequency: {di: '02800002', format: XX.XX, unit: Hz, range: '45 V .. 55 V'}\n",
    )

    assert problems(path) == [
        f"{path}:5: $.points.frequency.range: range '45 V .. 55 V' is not in the point's unit Hz; "
        "write it in Hz"
    ]
