"""The Modbus register codec and device URIs: pure, no sockets."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from ycsa_conform.devicemap import ByteOrder, DataType, ModbusPoint, Table
from ycsa_conform.errors import DecodeError
from ycsa_conform.transport import DeviceAddress, parse_device_uri
from ycsa_conform.transport.modbus import decode, encode
from ycsa_conform.units import ureg

ORDERS = list(itertools.product(ByteOrder, ByteOrder))


def point(
    type_: DataType,
    *,
    byte_order: ByteOrder = ByteOrder.BIG,
    word_order: ByteOrder = ByteOrder.BIG,
    scale: float = 1.0,
    offset: float = 0.0,
    table: Table = Table.HOLDING,
) -> ModbusPoint:
    return ModbusPoint(
        name="supply_voltage",
        table=table,
        address=100,
        type=type_,
        byte_order=byte_order,
        word_order=word_order,
        scale=scale,
        offset=offset,
        unit=ureg.volt,
        writable=None,
    )


# Values at and near each type's ends, and ordinary ones.
VALUES = {
    DataType.INT16: [-32768, -1, 0, 1, 1234, 32767],
    DataType.UINT16: [0, 1, 0x1234, 65535],
    DataType.INT32: [-(2**31), -70000, -1, 0, 70000, 2**31 - 1],
    DataType.UINT32: [0, 1, 0x12345678, 2**32 - 1],
    DataType.FLOAT32: [0.0, -1.5, 230.5, 3.4e38, 1.17549435e-38, 0.96],
}


@pytest.mark.parametrize(("byte_order", "word_order"), ORDERS)
@pytest.mark.parametrize("type_", list(VALUES))
def test_every_type_and_order_round_trips(
    type_: DataType, byte_order: ByteOrder, word_order: ByteOrder
) -> None:
    p = point(type_, byte_order=byte_order, word_order=word_order)
    for value in VALUES[type_]:
        registers = encode(p, value)
        assert len(registers) == type_.registers
        assert all(0 <= int(r) <= 0xFFFF for r in registers)
        assert decode(p, registers) == pytest.approx(value, rel=1e-7)


def test_bool_round_trips_as_one_bit() -> None:
    p = point(DataType.BOOL, table=Table.COIL)
    assert encode(p, True) == [True]
    assert decode(p, [True, False, False]) is True
    assert decode(p, encode(p, False)) is False


# 230.5 as float32 is 0x43668000: bytes A B C D = 43 66 80 00.
@pytest.mark.parametrize(
    ("byte_order", "word_order", "registers"),
    [
        (ByteOrder.BIG, ByteOrder.BIG, [0x4366, 0x8000]),  # ABCD
        (ByteOrder.BIG, ByteOrder.LITTLE, [0x8000, 0x4366]),  # CDAB, "word-swapped"
        (ByteOrder.LITTLE, ByteOrder.BIG, [0x6643, 0x0080]),  # BADC
        (ByteOrder.LITTLE, ByteOrder.LITTLE, [0x0080, 0x6643]),  # DCBA
    ],
)
def test_known_float32_registers_decode_in_each_order(
    byte_order: ByteOrder, word_order: ByteOrder, registers: list[int]
) -> None:
    p = point(DataType.FLOAT32, byte_order=byte_order, word_order=word_order)
    assert decode(p, registers) == 230.5
    assert encode(p, 230.5) == registers


def test_word_swapped_meter_pair_reads_as_the_meter_means_it() -> None:
    # 229.87 V from a meter that sends the low word first (CDAB).
    p = point(DataType.FLOAT32, word_order=ByteOrder.LITTLE)
    assert decode(p, [0xDEB8, 0x4365]) == 229.87
    # Read with the wrong word order, the same registers are nonsense (about -6.6e18).
    assert decode(point(DataType.FLOAT32), [0xDEB8, 0x4365]) < -1e18


def test_float32_decodes_to_the_shortest_decimal() -> None:
    p = point(DataType.FLOAT32)
    assert decode(p, encode(p, 120.4)) == 120.4


def test_scale_and_offset_apply_both_ways() -> None:
    pf = point(DataType.UINT16, scale=0.001)
    assert encode(pf, 0.96) == [960]
    assert decode(pf, [960]) == 0.96
    frequency = point(DataType.UINT16, scale=0.01)
    assert decode(frequency, [5001]) == 50.01
    temperature = point(DataType.INT16, scale=0.1, offset=-40.0)
    assert encode(temperature, 14.5) == [545]
    assert decode(temperature, [545]) == 14.5


def test_signed_values_use_twos_complement() -> None:
    assert encode(point(DataType.INT16), -2) == [0xFFFE]
    assert encode(point(DataType.INT32), -2) == [0xFFFF, 0xFFFE]
    assert decode(point(DataType.INT32, word_order=ByteOrder.LITTLE), [0xFFFE, 0xFFFF]) == -2


@pytest.mark.parametrize(
    "registers", [[0x7FC0, 0x0000], [0x7F80, 0x0000], [0xFF80, 0x0000]], ids=["nan", "inf", "-inf"]
)
def test_non_finite_float32_is_a_decode_error(registers: list[int]) -> None:
    with pytest.raises(DecodeError, match=r"0x7FC0|0x7F80|0xFF80") as info:
        decode(point(DataType.FLOAT32), registers)
    assert "byte/word order" in str(info.value)


def test_wrong_register_count_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="needs 2 register"):
        decode(point(DataType.UINT32), [1])


def test_encode_refuses_what_the_type_cannot_hold() -> None:
    with pytest.raises(ValueError, match=r"does not fit a uint16 with scale 0.1 .* 0 \.\. 6553\.5"):
        encode(point(DataType.UINT16, scale=0.1), 7000.0)
    with pytest.raises(ValueError, match="does not fit a int16"):
        encode(point(DataType.INT16), -40000)
    with pytest.raises(ValueError, match="give a number"):
        encode(point(DataType.UINT16), True)
    with pytest.raises(ValueError, match="give True or False"):
        encode(point(DataType.BOOL, table=Table.COIL), 1.0)
    with pytest.raises(ValueError, match="cannot be sent"):
        encode(point(DataType.FLOAT32), math.nan)


# -- device URIs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "host", "port", "unit", "canonical"),
    [
        ("modbus-tcp://10.0.0.5?unit=1", "10.0.0.5", 502, 1, "modbus-tcp://10.0.0.5:502?unit=1"),
        ("modbus-tcp://10.0.0.5:1502?unit=247", "10.0.0.5", 1502, 247, None),
        ("MODBUS-TCP://gw.pole-7.local:502/?unit=03", "gw.pole-7.local", 502, 3, None),
        (
            "modbus-tcp://[fe80::1]:5020?unit=2",
            "fe80::1",
            5020,
            2,
            "modbus-tcp://[fe80::1]:5020?unit=2",
        ),
    ],
)
def test_good_modbus_tcp_uris_parse(
    uri: str, host: str, port: int, unit: int, canonical: str | None
) -> None:
    address = parse_device_uri(uri)
    assert isinstance(address, DeviceAddress)
    assert (address.scheme, address.host, address.port, address.unit) == (
        "modbus-tcp",
        host,
        port,
        unit,
    )
    if canonical is not None:
        assert str(address) == canonical
    assert parse_device_uri(str(address)) == address


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("modbus-tcp://10.0.0.5", "'modbus-tcp://10.0.0.5' has no unit id; add '?unit=1'"),
        ("modbus-tcp://10.0.0.5?unit=0", "unit 0 is the broadcast address"),
        ("modbus-tcp://10.0.0.5?unit=248", "unit 248 is out of range; use 1..247"),
        ("modbus-tcp://10.0.0.5?unit=one", "unit 'one' is not a whole number; use 1..247"),
        ("modbus-tcp://10.0.0.5:0?unit=1", "port 0 is out of range; use 1..65535"),
        ("modbus-tcp://10.0.0.5:70000?unit=1", "port 70000 is out of range"),
        ("modbus-tcp://10.0.0.5:http?unit=1", "port 'http' is not a number"),
        ("modbus-tcp://?unit=1", "has no host"),
        ("modbus-tcp://10.0.0.5?unti=1", "unknown parameter 'unti'; did you mean 'unit'?"),
        ("modbus-tcp://10.0.0.5/meter?unit=1", "takes no path '/meter'"),
        ("10.0.0.5:502", "has no scheme; write it like 'modbus-tcp://"),
        ("modbus-tpc://10.0.0.5?unit=1", "unknown scheme 'modbus-tpc'; did you mean 'modbus-tcp'?"),
        ("http://10.0.0.5?unit=1", "supported: modbus-tcp"),
    ],
)
def test_bad_uris_say_what_is_wrong_and_the_fix(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_device_uri(uri)


def test_credentials_never_appear_in_messages() -> None:
    with pytest.raises(ValueError, match="has no login") as info:
        parse_device_uri("modbus-tcp://admin:hunter2@10.0.0.5?unit=1")
    assert "hunter2" not in str(info.value)
