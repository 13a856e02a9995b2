"""The Modbus register codec and device URIs: pure, no sockets."""

from __future__ import annotations

import itertools
import math
import re
import struct

import pytest

from ycsa_conform.devicemap import ORDERS as SPELLINGS
from ycsa_conform.devicemap import ByteOrder, DataType, ModbusPoint, Table
from ycsa_conform.errors import DecodeError, ImplausibleValue
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
    name: str = "supply_voltage",
    bit: int | None = None,
    on: int | None = None,
    off: int | None = None,
) -> ModbusPoint:
    return ModbusPoint(
        name=name,
        table=table,
        address=100,
        type=type_,
        byte_order=byte_order,
        word_order=word_order,
        scale=scale,
        offset=offset,
        unit=ureg.volt if name == "supply_voltage" else ureg.dimensionless,
        writable=None,
        bit=bit,
        on=on,
        off=off,
    )


# Values at and near each type's ends, and ordinary ones.
VALUES: dict[DataType, list[float]] = {
    DataType.INT16: [-32768, -1, 0, 1, 1234, 32767],
    DataType.UINT16: [0, 1, 0x1234, 65535],
    DataType.INT32: [-(2**31), -70000, -1, 0, 70000, 2**31 - 1],
    DataType.UINT32: [0, 1, 0x12345678, 2**32 - 1],
    DataType.FLOAT32: [0.0, -1.5, 230.5, 3.4e38, 1.17549435e-38, 0.96],
    DataType.INT64: [-(2**63), -(2**40), -1, 0, 123456789012, 2**53],
    DataType.UINT64: [0, 1, 123456789012, 2**53],
    DataType.FLOAT64: [0.0, -1.5, 230.5, 1.7e308, 2.2250738585072014e-308, 0.1],
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


def _by_hand(data: bytes, order: str) -> list[int]:
    """The registers `data` (big-endian bytes A B C D ...) occupy in `order`, worked out
    without the codec: split into words, swap the bytes of each (BADC, DCBA), reverse the
    words (CDAB, DCBA)."""
    byte_order, word_order = SPELLINGS[order]
    words = [data[i : i + 2] for i in range(0, len(data), 2)]
    if byte_order is ByteOrder.LITTLE:
        words = [w[::-1] for w in words]
    if word_order is ByteOrder.LITTLE:
        words.reverse()
    return [int.from_bytes(w, "big") for w in words]


def test_orders_are_the_pairs_of_byte_and_word_order() -> None:
    assert SPELLINGS == {
        "ABCD": (ByteOrder.BIG, ByteOrder.BIG),
        "CDAB": (ByteOrder.BIG, ByteOrder.LITTLE),
        "BADC": (ByteOrder.LITTLE, ByteOrder.BIG),
        "DCBA": (ByteOrder.LITTLE, ByteOrder.LITTLE),
    }
    for order, (byte_order, word_order) in SPELLINGS.items():
        assert point(DataType.FLOAT32, byte_order=byte_order, word_order=word_order).order == order


# 230.5 as float64 is 0x406CD00000000000; 123456789012 as uint64 is 0x0000001CBE991A14.
@pytest.mark.parametrize(
    ("order", "float64", "uint64"),
    [
        ("ABCD", [0x406C, 0xD000, 0x0000, 0x0000], [0x0000, 0x001C, 0xBE99, 0x1A14]),
        ("CDAB", [0x0000, 0x0000, 0xD000, 0x406C], [0x1A14, 0xBE99, 0x001C, 0x0000]),
        ("BADC", [0x6C40, 0x00D0, 0x0000, 0x0000], [0x0000, 0x1C00, 0x99BE, 0x141A]),
        ("DCBA", [0x0000, 0x0000, 0x00D0, 0x6C40], [0x141A, 0x99BE, 0x1C00, 0x0000]),
    ],
)
def test_64_bit_values_take_four_registers_in_each_order(
    order: str, float64: list[int], uint64: list[int]
) -> None:
    byte_order, word_order = SPELLINGS[order]
    double = point(DataType.FLOAT64, byte_order=byte_order, word_order=word_order)
    counter = point(DataType.UINT64, byte_order=byte_order, word_order=word_order)

    assert float64 == _by_hand(struct.pack(">d", 230.5), order)
    assert uint64 == _by_hand(struct.pack(">Q", 123456789012), order)
    assert encode(double, 230.5) == float64
    assert decode(double, float64) == 230.5
    assert encode(counter, 123456789012) == uint64
    assert decode(counter, uint64) == 123456789012


def test_int64_is_twos_complement_over_four_registers() -> None:
    assert encode(point(DataType.INT64), -2) == [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE]
    cdab = point(DataType.INT64, word_order=ByteOrder.LITTLE)
    assert decode(cdab, [0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF]) == -2


def test_a_64_bit_value_keeps_fifteen_significant_digits() -> None:
    energy = point(DataType.UINT64, scale=0.001)  # Wh counted, kWh read
    assert decode(energy, _by_hand(struct.pack(">Q", 123456789012345), "ABCD")) == (
        123456789012.345
    )


def test_a_64_bit_value_needs_four_registers() -> None:
    with pytest.raises(
        DecodeError, match=r"float64 needs 4 register\(s\) at holding register 100, "
    ):
        decode(point(DataType.FLOAT64), [0x406C, 0xD000])


def test_a_float_too_big_for_float32_is_refused_with_the_type() -> None:
    with pytest.raises(ValueError, match="supply_voltage: 1e\\+39 does not fit a float32"):
        encode(point(DataType.FLOAT32), 1e39)


# -- on/off points ----------------------------------------------------------------------------


def relay(type_: DataType = DataType.UINT16, **kw: object) -> ModbusPoint:
    return point(type_, name="lamp_on", **kw)  # type: ignore[arg-type]


def test_a_flag_in_a_register_reads_nonzero_as_on_and_writes_1_and_0() -> None:
    p = relay()
    assert [decode(p, [r]) for r in (0, 1, 2, 0xFFFF)] == [False, True, True, True]
    assert encode(p, True) == [1]
    assert encode(p, False) == [0]
    assert decode(relay(DataType.INT16), [0xFFFF]) is True  # -1


def test_a_flag_with_declared_on_and_off_values_reads_and_writes_them() -> None:
    p = relay(on=0xFF00, off=0x0000)
    assert decode(p, [0xFF00]) is True
    assert decode(p, [0x0000]) is False
    assert encode(p, True) == [0xFF00]
    assert encode(p, False) == [0]
    signed = relay(DataType.INT16, on=-1, off=1)
    assert decode(signed, [0xFFFF]) is True
    assert encode(signed, False) == [1]


def test_a_flag_register_holding_neither_declared_value_is_implausible() -> None:
    with pytest.raises(ImplausibleValue) as info:
        decode(relay(on=0xFF00, off=0), [0x0001])
    assert str(info.value) == (
        "lamp_on: holding register 100 holds 1 (0x0001), neither the declared on value 65280 "
        "nor the off value 0; check the point's address and its on:/off: values in the "
        "device map"
    )


def test_a_bit_of_a_status_word_reads_that_bit() -> None:
    word = 0b1000_0000_0000_0101  # bits 0, 2 and 15 set
    assert [decode(relay(bit=b), [word]) for b in (0, 1, 2, 15)] == [True, False, True, True]
    # Byte-swapped registers (BADC): bit 0 is in the second byte on the wire.
    swapped = relay(bit=0, byte_order=ByteOrder.LITTLE)
    assert decode(swapped, [0x0100]) is True
    assert decode(swapped, [0x0001]) is False


def test_a_status_word_bit_is_written_over_the_current_register() -> None:
    p = relay(bit=2)
    assert encode(p, True, current=0b1000_0000_0000_0001) == [0b1000_0000_0000_0101]
    assert encode(p, False, current=0xFFFF) == [0xFFFB]
    assert encode(relay(bit=0, byte_order=ByteOrder.LITTLE), True, current=0x0000) == [0x0100]
    with pytest.raises(ValueError, match=r"bit 2 of a register: writing it needs the register's "):
        encode(p, True)


def test_a_flag_takes_true_or_false_in_every_form() -> None:
    for form in (relay(), relay(on=1, off=0), relay(bit=3)):
        with pytest.raises(ValueError, match="lamp_on is a flag; give True or False, not 1"):
            encode(form, 1, current=0)


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
def test_non_finite_float32_is_an_implausible_value(registers: list[int]) -> None:
    with pytest.raises(ImplausibleValue, match=r"0x7FC0|0x7F80|0xFF80") as info:
        decode(point(DataType.FLOAT32), registers)
    assert "as float32 (order ABCD: big-endian bytes, big-endian words)" in str(info.value)
    assert str(info.value).endswith(
        "the device reports no valid value, or the device map's byte/word order is wrong"
    )


def test_a_float64_nan_is_an_implausible_value() -> None:
    with pytest.raises(ImplausibleValue, match="registers 0x7FF8 0x0000 0x0000 0x0000 at "):
        decode(point(DataType.FLOAT64), [0x7FF8, 0, 0, 0])


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
