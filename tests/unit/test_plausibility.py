"""Plausibility before judgement: the one rule every reading passes (transport.poll), pure.

A reading outside its point's declared `range`, nonzero yet finer than any instrument resolves,
or not finite, becomes ImplausibleValue with a message naming the value, the rule, the map and
what to check; everything else passes unchanged."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ycsa_conform.devicemap import DeviceMap, load_devicemap
from ycsa_conform.errors import DeviceTimeout, ImplausibleValue
from ycsa_conform.limit import parse_limit
from ycsa_conform.result import Source
from ycsa_conform.transport import Reading
from ycsa_conform.transport.poll import RESOLUTION, implausibility, plausible
from ycsa_conform.units import ureg

SOURCE = Source(device="lamp", scheme="modbus-tcp", address="modbus-tcp://10.0.0.5:502?unit=1")

LAMP = """\
devicemap: acme/lc-200
version: 1
protocol: modbus
defaults: {table: input}
points:
  active_power: {address: 2, type: float32, unit: W, range: "0 W .. 300 W"}
  supply_voltage: {address: 0, type: uint16, scale: 0.1, unit: V, range: "0 V .. 300 V"}
  air_temperature: {address: 5, type: int16, scale: 0.1, unit: degC, range: "-40 degC .. 80 degC"}
  power_factor: {address: 4, type: uint16, scale: 0.001, unit: "", range: "0 .. 1"}
  frequency: {address: 6, type: uint16, scale: 0.01, unit: Hz}
  active_energy:
    {address: 8, type: uint32, scale: 0.001, unit: kWh, range: "0 kWh .. 4294967.295 kWh"}
  lamp_on: {table: coil, address: 0, type: bool}
"""
METER = """\
devicemap: acme/ddsu
version: 1
protocol: dlt645
points:
  active_power: {di: "02030000", format: XX.XXXX, signed: true, unit: kW, range: "-25 kW .. 25 kW"}
"""
GATEWAY = """\
devicemap: acme/gw
version: 1
protocol: mqtt
topics:
  telemetry: {topic: telemetry}
points:
  device_clock: {topic: telemetry, pointer: /ts, unit: s, range: "0 s .. 4102444800 s"}
"""


def load(tmp_path: Path, text: str) -> DeviceMap:
    path = tmp_path / "maps" / "lamp.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return load_devicemap(path)


def reading(point: str, value: object) -> Reading:
    return Reading(point, value, 1.0, SOURCE)  # type: ignore[arg-type]


def test_a_word_swapped_power_of_1e_23_w_is_implausible_though_inside_0_to_300_w(
    tmp_path: Path,
) -> None:
    lamp = load(tmp_path, LAMP)

    result = plausible(
        reading("active_power", ureg.Quantity(1.02e-23, "W")), device="lamp", devicemap=lamp
    )

    assert isinstance(result, ImplausibleValue)
    assert str(result) == (
        "lamp active_power: implausible value 1.02e-23 W from input registers 2..3 of device "
        f"map 'acme/lc-200' ({lamp.path}): nonzero yet under 1e-09 of the span of its declared "
        "range 0 W .. 300 W (3e-07 W), finer than any instrument resolves; check word_order / "
        "byte_order / scale / type"
    )


def test_a_value_outside_the_declared_range_is_implausible(tmp_path: Path) -> None:
    lamp = load(tmp_path, LAMP)

    result = plausible(
        reading("active_power", ureg.Quantity(-1.076e8, "W")), device="lamp", devicemap=lamp
    )

    assert isinstance(result, ImplausibleValue)
    assert str(result) == (
        "lamp active_power: implausible value -1.076e+08 W from input registers 2..3 of "
        f"device map 'acme/lc-200' ({lamp.path}): outside its declared range 0 W .. 300 W; "
        "check word_order / byte_order / scale / type"
    )


def test_a_single_register_point_names_what_a_16_bit_value_can_get_wrong(tmp_path: Path) -> None:
    lamp = load(tmp_path, LAMP)

    result = plausible(
        reading("supply_voltage", ureg.Quantity(2301.0, "V")), device="lamp", devicemap=lamp
    )

    assert str(result).endswith("check byte_order / scale / offset / type / address")
    assert ": outside its declared range 0 V .. 300 V; check" in str(result)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_is_implausible_even_without_a_range(
    tmp_path: Path, value: float
) -> None:
    lamp = load(tmp_path, LAMP)

    result = plausible(
        reading("frequency", ureg.Quantity(value, "Hz")), device="lamp", devicemap=lamp
    )

    assert isinstance(result, ImplausibleValue)
    assert str(result) == (
        f"lamp frequency: implausible value {value} Hz from input register 6 of device map "
        f"'acme/lc-200' ({lamp.path}): not a finite number; check byte_order / scale / offset / "
        "type / address"
    )


def test_a_nan_power_factor_never_meets_a_lower_limit(tmp_path: Path) -> None:
    lamp = load(tmp_path, LAMP)

    result = plausible(
        reading("power_factor", ureg.Quantity(math.nan, "")), device="lamp", devicemap=lamp
    )

    assert isinstance(result, ImplausibleValue)
    assert "implausible value nan from input register 4 of device map" in str(result)
    assert str(result).split(": ")[2].startswith("not a finite number;")


@pytest.mark.parametrize(
    ("point", "value"),
    [
        ("active_power", ureg.Quantity(0.0, "W")),  # zero is a reading, not a resolution
        ("active_power", ureg.Quantity(0.4, "W")),
        ("active_power", ureg.Quantity(300.0, "W")),  # the ends belong to the range
        ("active_power", ureg.Quantity(0.2, "kW")),  # compared in any unit of the dimension
        ("air_temperature", ureg.Quantity(-39.9, "degC")),
        ("power_factor", ureg.Quantity(1.0, "")),
        ("frequency", ureg.Quantity(1e9, "Hz")),  # no range declared: only finiteness
    ],
)
def test_plausible_values_pass_unchanged(tmp_path: Path, point: str, value: object) -> None:
    lamp = load(tmp_path, LAMP)
    given = reading(point, value)

    assert plausible(given, device="lamp", devicemap=lamp) is given


def test_flags_texts_and_errors_pass_unchanged(tmp_path: Path) -> None:
    lamp = load(tmp_path, LAMP)
    flag, text = reading("lamp_on", False), reading("ev_charger_state", "charging")
    error = DeviceTimeout("no answer")

    assert plausible(flag, device="lamp", devicemap=lamp) is flag
    assert plausible(text, device="lamp", devicemap=lamp) is text
    assert plausible(error, device="lamp", devicemap=lamp) is error


def test_dlt645_and_mqtt_points_name_their_own_suspects(tmp_path: Path) -> None:
    meter = load(tmp_path, METER)
    gateway = load(tmp_path, GATEWAY)

    power = plausible(
        reading("active_power", ureg.Quantity(99.9, "kW")), device="meter", devicemap=meter
    )
    clock = plausible(
        reading("device_clock", ureg.Quantity(1.7e12, "s")), device="gateway", devicemap=gateway
    )

    assert str(power).startswith(
        "meter active_power: implausible value 99.9 kW from DI 02030000 of device map "
        f"'acme/ddsu' ({meter.path}): outside its declared range -25 kW .. 25 kW"
    )
    assert str(power).endswith("; check the point's di / format / signed / unit")
    # A time stamp in milliseconds read as seconds.
    assert str(clock).startswith(
        "gateway device_clock: implausible value 1.7e+12 s from /ts of topic 'telemetry' of "
        f"device map 'acme/gw' ({gateway.path}): outside its declared range 0 s .. 4102444800 s"
    )
    assert str(clock).endswith("; check the point's pointer / scale / unit")


def test_without_a_device_map_only_finiteness_is_checked() -> None:
    given = reading("active_power", ureg.Quantity(1e-30, "W"))

    assert plausible(given, device="lamp", devicemap=None) is given
    nan = plausible(
        reading("active_power", ureg.Quantity(math.nan, "W")), device="lamp", devicemap=None
    )
    assert str(nan) == (
        "lamp active_power: implausible value nan W: not a finite number; check the device "
        "map's point"
    )


def test_the_resolution_rule_scales_with_the_span() -> None:
    span = parse_limit("0 lx .. 200000 lx")  # finest plausible nonzero: 2e-4 lx

    assert RESOLUTION == 1e-9
    assert implausibility(span, ureg.Quantity(1e-4, "lx")) is not None
    assert implausibility(span, ureg.Quantity(3e-4, "lx")) is None
    assert implausibility(span, ureg.Quantity(-1e-4, "lx")) == (
        "outside its declared range 0 lx .. 200000 lx"
    )
    assert implausibility(None, ureg.Quantity(1e-30, "lx")) is None


def test_one_count_of_an_integer_register_is_a_reading_however_wide_the_range(
    tmp_path: Path,
) -> None:
    # 1e-9 of 0 .. 4294967.295 kWh is 4.3 Wh; the register counts whole Wh from 0.
    lamp = load(tmp_path, LAMP)
    first = reading("active_energy", ureg.Quantity(0.001, "kWh"))

    assert plausible(first, device="lamp", devicemap=lamp) is first


def test_the_floor_is_capped_by_the_quantum_in_the_values_unit() -> None:
    span = parse_limit("0 kWh .. 4294967.295 kWh")

    assert implausibility(span, ureg.Quantity(0.001, "kWh"), quantum=0.001) is None
    assert implausibility(span, ureg.Quantity(0.001, "kWh")) is not None  # a float has none
    assert implausibility(span, ureg.Quantity(1e-12, "kWh"), quantum=0.001) is not None
