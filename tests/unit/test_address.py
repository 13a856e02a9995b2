"""Device URIs of the serial and MQTT transports, and secrets named by reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ycsa_conform.errors import DeviceError
from ycsa_conform.transport import parse_device_uri
from ycsa_conform.transport.secret import Secret, parse_secret


def test_modbus_rtu_uri_gives_the_serial_line_and_unit() -> None:
    address = parse_device_uri("modbus-rtu:///dev/ttyUSB0?baud=19200&parity=e&stopbits=1&unit=7")
    assert (address.path, address.baud, address.parity, address.stopbits, address.unit) == (
        "/dev/ttyUSB0",
        19200,
        "E",
        1,
        7,
    )
    assert address.bytesize == 8
    assert address.protocol == "modbus"
    assert parse_device_uri(str(address)) == address


def test_dlt645_uri_defaults_to_2400_8e1() -> None:
    address = parse_device_uri("dlt645:///dev/ttyUSB1?address=123456789012")
    assert (address.baud, address.parity, address.stopbits) == (2400, "E", 1)
    assert address.meter_address == "123456789012"
    assert address.protocol == "dlt645"


def test_a_serial_server_uri_names_its_bus_by_host_and_port() -> None:
    address = parse_device_uri("modbus-rtu-tcp://10.0.0.7:4001?unit=5")
    assert (address.host, address.port, address.unit, address.protocol) == (
        "10.0.0.7",
        4001,
        5,
        "modbus",
    )
    assert address.bus == "10.0.0.7:4001"
    assert parse_device_uri("modbus-rtu:///dev/ttyUSB0?unit=1").bus == "/dev/ttyUSB0"
    assert parse_device_uri("modbus-tcp://10.0.0.5?unit=1").bus is None  # a device of its own
    assert parse_device_uri(str(address)) == address


def test_mqtt_uris_give_host_port_and_prefix() -> None:
    plain = parse_device_uri("mqtt://10.0.0.9/city/pole/P001")
    assert (plain.host, plain.port, plain.prefix) == ("10.0.0.9", 1883, "city/pole/P001")
    tls = parse_device_uri("mqtts://broker.example/city/pole/P001/")
    assert (tls.port, tls.prefix, tls.protocol) == (8883, "city/pole/P001", "mqtt")
    assert str(tls) == "mqtts://broker.example:8883/city/pole/P001"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("modbus-rtu://dev/ttyUSB0?unit=1", "a serial port is a path, not a host; write three"),
        ("modbus-rtu:///dev/ttyUSB0", "has no unit id; add '&unit=1'"),
        ("modbus-rtu:///dev/ttyUSB0?unit=1&baud=9601", "baud '9601' is not a serial rate"),
        ("modbus-rtu:///dev/ttyUSB0?unit=1&parity=X", "parity 'X': use N, E or O"),
        ("modbus-rtu:///dev/ttyUSB0?unit=1&stopbits=3", "stopbits '3': use 1 or 2"),
        ("modbus-rtu:///?unit=1", "names no serial port"),
        ("modbus-rtu:///dev/ttyUSB0?unit=1&adress=3", "unknown parameter 'adress'"),
        ("dlt645:///dev/ttyUSB1", "meter address '' must be the 12 digits"),
        ("dlt645:///dev/ttyUSB1?address=12345", "meter address '12345' must be the 12 digits"),
        ("dlt645:///dev/ttyUSB1?address=123456789012&unit=1", "unknown parameter 'unit'"),
        ("modbus-rtu-tcp://10.0.0.7?unit=1", "has no port; give the serial server's TCP port"),
        ("modbus-rtu-tcp://10.0.0.7:4001", "has no unit id; add '?unit=1'"),
        ("modbus-rtu-tcp://10.0.0.7:x?unit=1", "port 'x' is not a number; give 1..65535"),
        ("mqtt://broker.example", "has no topic prefix"),
        ("mqtt://broker.example/city/+/P001", "may not hold the wildcards"),
        ("mqtt://user:s3cret@broker.example/x", "never put credentials in the URI"),
        ("mqtt://broker.example:99999/x", "port 99999 is out of range"),
        ("mqttt://broker.example/x", "unknown scheme 'mqttt'; did you mean 'mqtt"),
    ],
)
def test_bad_uris_say_what_is_wrong_and_the_fix(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        parse_device_uri(uri)
    assert "s3cret" not in str(info.value)


def test_secrets_are_references_never_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YCSA_TEST_PASSWORD", "hunter2")
    (tmp_path / "pw.txt").write_text("from-file\n", encoding="utf-8")
    env = parse_secret("env:YCSA_TEST_PASSWORD", base=tmp_path)
    file = parse_secret("file:pw.txt", base=tmp_path)
    assert env.reveal() == "hunter2"
    assert file.reveal() == "from-file"
    assert "hunter2" not in repr(env) + str(env)
    assert str(env) == "env:YCSA_TEST_PASSWORD"
    with pytest.raises(ValueError, match="never inline"):
        parse_secret("hunter2", base=tmp_path)


def test_a_missing_secret_is_a_device_error_naming_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("YCSA_NOT_SET", raising=False)
    with pytest.raises(DeviceError, match="YCSA_NOT_SET is not set; export it"):
        Secret("env", "YCSA_NOT_SET").reveal()
    with pytest.raises(DeviceError, match="cannot read secret file /nonexistent"):
        Secret("file", "/nonexistent/pw").reveal()


@pytest.mark.parametrize(
    ("uri", "shown", "message"),
    [
        (
            "mqtt://Alice-Q7:Pw-Q7x@broker.example/x",
            "'mqtt://***@broker.example/x'",
            "never put credentials in the URI",
        ),
        ("mqtt://Alice-Q7@broker.example/x", "'mqtt://***@broker.example/x'", "credentials"),
        (
            "modbus-tcp://Alice-Q7:Pw-Q7x@10.0.0.5?unit=1",
            "'modbus-tcp://***@10.0.0.5?unit=1'",
            "has no login",
        ),
        (
            "mqtt://broker.example/x?password=Pw-Q7x",
            "'mqtt://broker.example/x?password=***'",
            "never put credentials in the URI",
        ),
        (
            "mqtts://broker.example/x?client_id=a&Token=Pw-Q7x",
            "Token=***",
            "never put credentials in the URI",
        ),
        # A later mistake still quotes the URI masked.
        (
            "modbus-tcp://Alice-Q7:Pw-Q7x@10.0.0.5:99999?unit=1",
            "modbus-tcp://***@10.0.0.5",
            "port 99999",
        ),
    ],
)
def test_a_rejected_uri_never_echoes_its_user_part_or_a_password(
    uri: str, shown: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        parse_device_uri(uri)
    text = str(info.value)
    assert shown in text
    assert message in text
    assert "Pw-Q7x" not in text
    assert "Alice-Q7" not in text


def test_a_revealed_secret_is_masked_wherever_it_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pickle

    from ycsa_conform.transport.secret import Masked

    monkeypatch.setenv("YCSA_TEST_PASSWORD", "Pw-Q7x")
    value = Secret("env", "YCSA_TEST_PASSWORD").reveal()
    assert isinstance(value, Masked)
    shown = [repr(value), str(value), f"{value}", f"{value!r}", "%s" % value, repr([value])]  # noqa: UP031 (the %-operator is a path of its own)
    shown.append(pickle.loads(pickle.dumps(value)))
    assert all("Pw-Q7x" not in text for text in shown), shown
    # What the library gets: the value itself.
    assert value.encode("utf-8") == b"Pw-Q7x"
    assert value.plain() == "Pw-Q7x"
    assert type(value.plain()) is str


def test_a_secret_file_open_to_others_is_reported_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "pw.txt"
    path.write_text("Pw-Q7x\n", encoding="utf-8")
    path.chmod(0o644)
    secret = parse_secret("file:pw.txt", base=tmp_path)
    exposure = secret.exposure()
    assert exposure is not None
    assert f"secret file {path} is open to others than its owner (mode 0644)" in exposure
    assert f"chmod 600 {path}" in exposure
    path.chmod(0o600)
    assert secret.exposure() is None
    assert Secret("env", "YCSA_TEST_PASSWORD").exposure() is None


def test_a_secret_file_that_is_not_text_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "pw.bin"
    path.write_bytes(b"Pw-Q7x\xff\xfe")
    with pytest.raises(DeviceError) as info:
        Secret("file", str(path)).reveal()
    assert "is not UTF-8 text" in str(info.value)
    assert "Pw-Q7x" not in str(info.value)
