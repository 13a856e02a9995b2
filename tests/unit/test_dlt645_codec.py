"""The DL/T 645-2007 frame and BCD codec: pure, no ports."""

from __future__ import annotations

import pytest

from ycsa_conform.devicemap import Dlt645Point
from ycsa_conform.errors import DecodeError, DeviceException
from ycsa_conform.transport.dlt645 import (
    ERROR_BITS,
    WILDCARD_ADDRESS,
    Frame,
    decode_reply,
    decode_value,
    encode_error_reply,
    encode_frame,
    encode_reply,
    encode_value,
    error_text,
    parse_frame,
    read_request,
    take_frame,
)
from ycsa_conform.units import ureg

ADDRESS = "123456789012"
VOLTAGE = 0x02010100

# Reading DI 02010100 (phase A voltage) from meter 123456789012, by hand:
#   address   12 34 56 78 90 12 -> reversed                   12 90 78 56 34 12
#   DI        02 01 01 00 -> DI0 first 00 01 01 02 -> +0x33     33 34 34 35
#   checksum  68 + (12+90+78+56+34+12) + 68 + 11 + 04 + (33+34+34+35)
#             = 104 + 438 + 104 + 17 + 4 + 208 = 875 = 3 * 256 + 107  ->  0x6B
REQUEST = bytes.fromhex("FEFEFEFE 68 129078563412 68 11 04 33343435 6B 16")

# The meter's answer, 229.8 V in XXX.X: 2298 -> BCD 22 98 -> low byte first 98 22.
#   data      33 34 34 35 (DI) CB 55 (98 22 + 0x33), length 6, control 91
#   checksum  104 + 438 + 104 + 0x91 (145) + 6 + 208 + 0xCB (203) + 0x55 (85) = 1293
#             = 5 * 256 + 13  ->  0x0D
REPLY = bytes.fromhex("FEFEFEFE 68 129078563412 68 91 06 33343435 CB55 0D 16")


def point(
    fmt: str, *, signed: bool = False, name: str = "supply_voltage", di: int = VOLTAGE
) -> Dlt645Point:
    return Dlt645Point(name=name, di=di, format=fmt, signed=signed, unit=ureg.volt)


# -- frames -------------------------------------------------------------------------------


def test_read_request_is_the_frame_computed_by_hand() -> None:
    assert read_request(ADDRESS, VOLTAGE) == REQUEST


def test_reply_is_the_frame_computed_by_hand() -> None:
    assert encode_reply(ADDRESS, VOLTAGE, bytes([0x98, 0x22])) == REPLY


def test_wildcard_address_is_six_aa_bytes() -> None:
    assert read_request(WILDCARD_ADDRESS, VOLTAGE)[5:11] == b"\xaa" * 6


@pytest.mark.parametrize("address", ["12345678901", "1234567890123", "12345678901X", "aaaa"])
def test_an_address_must_be_twelve_digits(address: str) -> None:
    with pytest.raises(ValueError, match="12 digits on the nameplate"):
        read_request(address, VOLTAGE)


def test_data_bytes_carry_the_0x33_offset_modulo_256() -> None:
    frame = encode_frame(ADDRESS, 0x91, bytes([0x00, 0xCD, 0xFF]), preamble=b"")
    assert frame[10:13] == bytes([0x33, 0x00, 0x32])
    assert parse_frame(frame).data == bytes([0x00, 0xCD, 0xFF])


def test_checksum_is_the_sum_from_the_first_68_not_the_preamble() -> None:
    bare = encode_frame(ADDRESS, 0x11, b"\x01\x02", preamble=b"")
    assert bare[-2] == sum(bare[:-2]) % 256
    assert encode_frame(ADDRESS, 0x11, b"\x01\x02")[-2] == bare[-2]


def test_parse_frame_reads_address_control_and_data() -> None:
    assert parse_frame(REPLY) == Frame(
        address=ADDRESS, control=0x91, data=bytes.fromhex("00010102 9822")
    )


@pytest.mark.parametrize("before", [b"", b"\xfe", b"\xfe\xfe\xfe\xfe", b"\x00\xfe\xfe"])
def test_parse_frame_skips_the_preamble_and_a_glitch_byte(before: bytes) -> None:
    assert parse_frame(before + REPLY[4:]).address == ADDRESS


def _with(frame: bytes, index: int, value: int) -> bytes:
    changed = bytearray(frame)
    changed[index] = value
    return bytes(changed)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xfe\xfe\xfe", "no 0x68 start byte in 3 bytes: FE FE FE"),
        (REPLY[:12], "frame cut short: 8 bytes from the 0x68 start byte"),
        (_with(REPLY, 11, 0x00), "byte 7 after the start is 0x00, not the second 0x68"),
        (REPLY[:-3], "frame says 6 data bytes but carries 3: cut short"),
        (REPLY + b"\x00\x16", "2 bytes after the frame of 6 data bytes: 00 16"),
        (_with(REPLY, len(REPLY) - 1, 0x17), "no 0x16 end byte: 0x17 where the frame"),
        (_with(REPLY, len(REPLY) - 2, 0x0E), "checksum 0x0D, frame says 0x0E: garbled frame"),
        (_with(REPLY, 18, 0xCC), "checksum 0x0E, frame says 0x0D: garbled frame"),
    ],
    ids=["no-start", "short", "second-68", "truncated", "trailing", "end-byte", "cs", "data"],
)
def test_parse_frame_names_what_is_wrong(raw: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        parse_frame(raw)
    assert reason in str(info.value)


# -- answers ------------------------------------------------------------------------------


def test_decode_reply_returns_the_value_bytes() -> None:
    assert decode_reply(parse_frame(REPLY), address=ADDRESS, di=VOLTAGE) == b"\x98\x22"


def test_a_reply_with_follow_up_frames_carries_the_same_data() -> None:
    reply = encode_reply(ADDRESS, VOLTAGE, b"\x98\x22", follow_up=True)
    frame = parse_frame(reply)
    assert frame.control == 0xB1
    assert decode_reply(frame, address=ADDRESS, di=VOLTAGE) == b"\x98\x22"


def test_a_wildcard_request_accepts_the_meters_own_address() -> None:
    assert decode_reply(parse_frame(REPLY), address=WILDCARD_ADDRESS, di=VOLTAGE) == b"\x98\x22"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (parse_frame(REQUEST), "control 0x11 is a request, not an answer"),
        (
            parse_frame(encode_frame(ADDRESS, 0x93, b"")),
            "control 0x93 answers function 0x13, not a read (0x11)",
        ),
        (
            parse_frame(encode_reply("000000000001", VOLTAGE, b"\x98\x22")),
            "the answer comes from meter address 000000000001, not 123456789012",
        ),
        (
            parse_frame(encode_reply(ADDRESS, 0x02020100, b"\x98\x22")),
            "the answer is for DI 02020100, not the requested 02010100",
        ),
        (
            parse_frame(encode_frame(ADDRESS, 0x91, b"\x00\x01")),
            "answer with 2 data bytes, fewer than the 4 of a data identifier",
        ),
        (
            parse_frame(encode_frame(ADDRESS, 0xD1, b"\x02\x00")),
            "error answer with 2 data bytes",
        ),
    ],
    ids=["echo", "function", "address", "di", "short-data", "long-error"],
)
def test_decode_reply_refuses_frames_that_do_not_answer_the_request(
    frame: Frame, reason: str
) -> None:
    with pytest.raises(DecodeError) as info:
        decode_reply(frame, address=ADDRESS, di=VOLTAGE)
    assert reason in str(info.value)


def test_an_error_answer_is_a_device_exception_with_the_error_byte() -> None:
    reply = encode_error_reply(ADDRESS, 0x02)
    # control D1, one data byte 02 + 0x33; checksum 104 + 438 + 104 + 209 + 1 + 53 = 909 -> 0x8D
    assert reply == bytes.fromhex("FEFEFEFE 68 129078563412 68 D1 01 35 8D 16")
    with pytest.raises(DeviceException) as info:
        decode_reply(parse_frame(reply), address=ADDRESS, di=VOLTAGE)
    assert info.value.code == 0x02
    assert str(info.value) == "the meter answered with error 0x02 (no requested data)"


@pytest.mark.parametrize(("bit", "meaning"), sorted(ERROR_BITS.items()))
def test_each_error_bit_is_named(bit: int, meaning: str) -> None:
    assert error_text(1 << bit) == meaning


def test_several_error_bits_are_all_named() -> None:
    assert error_text(0x05) == "other error, password error or unauthorised"
    assert error_text(0x80) == "reserved bit 7"
    assert error_text(0x00) == "no error bit set"


# -- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "signed", "data", "value"),
    [
        ("XXX.X", False, "9822", 229.8),
        ("XXX.XXX", True, "450580", -0.545),
        ("XXX.XXX", True, "450500", 0.545),
        ("XX.XXXX", True, "041201", 1.1204),
        ("X.XXX", True, "6009", 0.96),
        ("X.XXX", True, "6089", -0.96),
        ("XX.XX", False, "0150", 50.01),
        ("XXXXXX.XX", False, "27301500", 1530.27),
        ("XXXXXX.XX", False, "00000000", 0.0),
        ("XXX.XXX", True, "000080", 0.0),
    ],
)
def test_bcd_values_low_byte_first_with_sign_bit(
    fmt: str, signed: bool, data: str, value: float
) -> None:
    spec = point(fmt, signed=signed)
    decoded = decode_value(spec, bytes.fromhex(data))
    assert decoded == value
    assert str(decoded) == str(value)  # no binary noise: 229.8, not 229.79999999999998
    if data != "000080":  # a negative zero is written as a plain zero
        assert encode_value(spec, value) == bytes.fromhex(data)


def test_non_bcd_nibbles_are_refused() -> None:
    with pytest.raises(DecodeError, match=r"data 9A 22 \(low byte first\) are not BCD digits"):
        decode_value(point("XXX.X"), bytes.fromhex("9A22"))


def test_a_set_sign_bit_on_an_unsigned_point_hints_at_the_map() -> None:
    # -20.545 sent as signed: A0 05 45, read as unsigned. (A sign bit on a digit below 2 makes
    # an 8 or a 9: valid BCD, and wrong by 800 or 900; only the map can say.)
    with pytest.raises(DecodeError, match="the point is signed and the device map says not"):
        decode_value(point("XXX.XXX"), bytes.fromhex("4505A0"))


def test_the_data_length_must_match_the_format() -> None:
    with pytest.raises(DecodeError, match=r"XXX\.X has 2 data bytes, the meter sent 3"):
        decode_value(point("XXX.X"), bytes.fromhex("982200"))


@pytest.mark.parametrize(
    ("fmt", "signed", "value", "reason"),
    [
        ("XXX.X", False, 1000.0, "1000 does not fit format XXX.X"),
        ("XX.XXXX", True, 80.0, "80 does not fit format XX.XXXX with a sign bit"),
        ("XXX.X", False, -1.0, "-1 is negative, but DI 02010100 is unsigned"),
        ("XXX.X", False, float("nan"), "nan is not a number"),
    ],
)
def test_encode_value_refuses_what_the_format_cannot_carry(
    fmt: str, signed: bool, value: float, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        encode_value(point(fmt, signed=signed), value)


# -- streams ------------------------------------------------------------------------------


def test_take_frame_skips_noise_and_damaged_frames() -> None:
    damaged = _with(REQUEST, len(REQUEST) - 2, 0x00)
    buffer = bytearray(b"\x00\x68\xff" + damaged + REPLY + b"\xfe\xfe" + REQUEST[:9])
    assert take_frame(buffer) == REPLY[4:]
    assert take_frame(buffer) is None
    assert buffer == REQUEST[4:9]  # kept: the start of a frame still arriving
    buffer += REQUEST[9:]
    assert take_frame(buffer) == REQUEST[4:]
    assert buffer == b""
