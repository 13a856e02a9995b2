"""The probe codec: CRC, RTU frame sizes and what `parse_answer` makes of the bytes a probe got."""

from __future__ import annotations

import pytest

from ycsa_conform.errors import DecodeError
from ycsa_conform.transport.modbus import MAX_ADU, crc16, parse_answer, rtu_frame_size


def rtu(frame: str) -> bytes:
    body = bytes.fromhex(frame)
    return body + crc16(body)


# Frames seen on the bench's RTU bus (unit 1): the CRC goes low byte first.
@pytest.mark.parametrize(
    ("body", "crc"),
    [
        ("01 04 00 00 00 01", "31 ca"),  # read input register 0
        ("01 84 02", "c2 c1"),  # exception 02 to function 04
        ("01 19", "c1 ea"),  # unassigned function 25, no data
        ("01 99 01", "8b 90"),  # exception 01 to function 25
    ],
)
def test_crc16_matches_frames_from_the_wire(body: str, crc: str) -> None:
    assert crc16(bytes.fromhex(body)) == bytes.fromhex(crc)


def test_rtu_frame_size_finds_where_the_crc_fits() -> None:
    frame = rtu("01 19")
    assert rtu_frame_size(frame + b"\x00\x01") == 4
    assert rtu_frame_size(frame[:-1]) == 0  # not whole yet: wait for more bytes


def test_rtu_frame_size_gives_up_on_garbage_at_the_largest_frame() -> None:
    garbage = bytes(range(256))[:MAX_ADU]
    assert rtu_frame_size(garbage[:100]) == 0
    assert rtu_frame_size(garbage) == MAX_ADU


def test_an_rtu_exception_answer_is_parsed() -> None:
    answer = parse_answer(rtu("01 84 02"), tcp=False)

    assert (answer.unit, answer.function, answer.exception) == (1, 0x84, 2)
    assert answer.describe() == "exception 02 (illegal data address) from unit 1, function 0x84"


def test_an_rtu_read_answer_is_parsed_by_its_byte_count() -> None:
    answer = parse_answer(rtu("07 03 02 08 e2") + b"\xff", tcp=False)  # a stray byte after it

    assert (answer.unit, answer.function, answer.exception) == (7, 3, None)
    assert answer.data == bytes.fromhex("02 08 e2")
    assert answer.describe() == "a normal answer from unit 7, function 0x03, 3 data bytes"


def test_an_answer_to_an_unknown_function_is_framed_by_its_crc() -> None:
    answer = parse_answer(rtu("01 19 aa bb"), tcp=False)

    assert (answer.function, answer.exception, answer.data) == (0x19, None, b"\xaa\xbb")


@pytest.mark.parametrize(
    "received",
    [
        rtu("01 84 02")[:-1] + b"\x00",  # bad CRC
        rtu("01 03 04 00 01")[:-2],  # cut short
        b"\x01\x84",  # too short to be anything
    ],
)
def test_broken_rtu_bytes_are_a_decode_error_showing_them(received: bytes) -> None:
    with pytest.raises(DecodeError, match=received[:2].hex(" ")):
        parse_answer(received, tcp=False)


def test_a_tcp_exception_answer_is_parsed_from_its_mbap_header() -> None:
    answer = parse_answer(bytes.fromhex("00 02 00 00 00 03 03 99 01"), tcp=True)

    assert (answer.unit, answer.function, answer.exception) == (3, 0x99, 1)


def test_pymodbus_exception_for_function_zero_is_parsed_as_sent() -> None:
    # pymodbus 3.16's TCP server answers an unknown function with 0x80: the parser keeps it, so
    # the check can say the function byte is wrong.
    answer = parse_answer(bytes.fromhex("00 05 00 00 00 03 03 80 01"), tcp=True)

    assert (answer.function, answer.exception) == (0x80, 1)


@pytest.mark.parametrize(
    ("received", "message"),
    [
        ("00 01 00 07 00 03 03 84 02", "protocol id 7"),
        ("00 01 00 00 00 09 03 84 02", "MBAP length 9"),
        ("00 01 00 00 00", "5 bytes"),
    ],
)
def test_broken_tcp_answers_are_decode_errors(received: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        parse_answer(bytes.fromhex(received), tcp=True)
