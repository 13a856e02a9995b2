"""The built-in bench, end to end: every simulated device read through its real transport.

The lamp controller answers Modbus RTU on a pseudo-terminal, the meter DL/T 645-2007 on another,
the environment and tilt sensors Modbus TCP on a loopback port; the gateway's MQTT side has its
own tests (test_mqtt.py)."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ycsa_conform.bench import FAULTS, Bench, list_benches
from ycsa_conform.devicemap import ByteOrder, DeviceMap, load_devicemap
from ycsa_conform.errors import DeviceException, DeviceRefused, DeviceTimeout, InputError
from ycsa_conform.limit import parse_limit
from ycsa_conform.transport import Device, LinkOptions, open_device
from ycsa_conform.transport.modbus import ModbusDevice
from ycsa_conform.units import ureg

TIMEOUT = 0.3  # s; the bench answers in well under a millisecond

Opener = Callable[[str], Device]


def site_devices(bench: Bench) -> dict[str, dict[str, Any]]:
    site = yaml.safe_load(bench.site_text)
    devices: dict[str, dict[str, Any]] = site["targets"][0]["devices"]
    return devices


def devicemap(bench: Bench, role: str) -> DeviceMap:
    return load_devicemap(bench.site_path.parent / site_devices(bench)[role]["map"])


@pytest.fixture
def opener() -> Iterator[Callable[[Bench], Opener]]:
    """open(bench)(role) -> a device, closed at the end of the test."""
    opened: list[Device] = []

    def for_bench(bench: Bench) -> Opener:
        def open_role(role: str) -> Device:
            entry = site_devices(bench)[role]
            device = open_device(
                role, entry["uri"], devicemap(bench, role), LinkOptions(timeout=TIMEOUT)
            )
            opened.append(device)
            return device

        return open_role

    yield for_bench
    for device in opened:
        device.close()


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    with Bench.start("smart-pole") as running:
        yield running


@pytest.fixture
def open_role(bench: Bench, opener: Callable[[Bench], Opener]) -> Opener:
    return opener(bench)


# Plausible ranges, in the canonical unit of each point.
PLAUSIBLE: dict[str, dict[str, tuple[str, float, float]]] = {
    "lamp": {
        "supply_voltage": ("V", 226.5, 229.5),
        "supply_current": ("A", 0.5, 0.6),
        "active_power": ("W", 119.0, 121.5),
        "power_factor": ("", 0.955, 0.965),
        "target_light_command": ("%", 100, 100),
        "actual_light_state": ("%", 100, 100),
        "active_energy": ("kWh", 1523.0, 1524.0),
        "operating_hours": ("h", 8741.0, 8742.0),
        "switch_on_counter": ("", 1187, 1187),
        "switch_on_illuminance": ("lx", 20, 20),
        "device_clock": ("s", 1.7e9, 4.2e9),
    },
    "meter": {
        "supply_voltage": ("V", 227.5, 230.5),
        "supply_current": ("A", 0.5, 0.6),
        "active_power": ("W", 119.0, 121.5),
        "power_factor": ("", 0.955, 0.965),
        "frequency": ("Hz", 49.98, 50.02),
        "active_energy": ("kWh", 1529.5, 1530.5),
    },
    "environment": {
        "ambient_illuminance": ("lx", 4.5, 7.5),
        "air_temperature": ("degC", 13.5, 15.5),
        "relative_humidity": ("%", 69.0, 75.0),
        "pm2_5": ("µg/m^3", 19, 25),
        "pm10": ("µg/m^3", 37, 45),
        "wind_speed": ("m/s", 1.5, 2.7),
        "noise_level": ("", 48.0, 56.0),
    },
    "tilt": {
        "tilt_x": ("deg", 0.029, 0.051),
        "tilt_y": ("deg", 0.039, 0.061),
        "vibration_velocity": ("mm/s", 0.4, 0.8),
        "tilt_alarm_threshold": ("deg", 1.0, 1.0),
    },
}
# Flags, with the value each device starts with.
FLAGS: dict[str, dict[str, bool]] = {
    "lamp": {"lamp_failure": False, "driver_failure": False, "lamp_on": True, "auto_mode": True},
}


@pytest.mark.parametrize("role", list(PLAUSIBLE))
def test_every_point_of_every_device_reads_plausibly(
    bench: Bench, open_role: Opener, role: str
) -> None:
    device = open_role(role)
    points = devicemap(bench, role).points
    expected = PLAUSIBLE[role]
    flags = FLAGS.get(role, {})
    assert set(points) - set(flags) == set(expected)
    for name, (unit, low, high) in expected.items():
        value = device.read(name).value
        assert not isinstance(value, bool)
        magnitude = value.to(unit or "dimensionless").magnitude
        assert low <= magnitude <= high, f"{role}.{name} = {value}"
    for name, flag in flags.items():
        assert device.read(name).value is flag, f"{role}.{name}"


def test_the_lamp_clock_is_host_utc(open_role: Opener) -> None:
    before = int(time.time())
    clock = open_role("lamp").read("device_clock").value
    after = int(time.time())
    assert not isinstance(clock, bool)
    assert before <= clock.to("s").magnitude <= after


def test_meter_reports_power_in_kw_as_its_map_says(open_role: Opener) -> None:
    power = open_role("meter").read("active_power").value
    assert not isinstance(power, bool)
    assert power.units == ureg.kilowatt
    assert power.to("W").magnitude == pytest.approx(120.4, abs=0.5)


def test_counters_never_go_backwards(open_role: Opener) -> None:
    lamp = open_role("lamp")
    first = [lamp.read("active_energy").value, lamp.read("operating_hours").value]
    second = [lamp.read("active_energy").value, lamp.read("operating_hours").value]
    assert all(b >= a for a, b in zip(first, second, strict=True))


def test_dimming_to_50_percent_moves_power_and_power_factor(open_role: Opener) -> None:
    lamp, meter = open_role("lamp"), open_role("meter")
    try:
        lamp.write("target_light_command", ureg.Quantity(50, "%"))
        assert lamp.read("target_light_command").value == ureg.Quantity(50, "%")
        assert lamp.read("actual_light_state").value == ureg.Quantity(50, "%")
        assert lamp.read("active_power").value.to("W").magnitude == pytest.approx(60.4, abs=0.1)  # type: ignore[union-attr]
        assert meter.read("active_power").value.to("W").magnitude == pytest.approx(60.4, abs=0.5)  # type: ignore[union-attr]
        pf = lamp.read("power_factor").value.magnitude  # type: ignore[union-attr]
        assert 0.8 < pf < 0.9
        assert meter.read("power_factor").value.magnitude == pytest.approx(pf)  # type: ignore[union-attr]
    finally:
        lamp.write("target_light_command", ureg.Quantity(100, "%"))
    assert lamp.read("active_power").value.to("W").magnitude == pytest.approx(120.4, abs=0.1)  # type: ignore[union-attr]
    assert lamp.read("power_factor").value.magnitude == pytest.approx(0.96)  # type: ignore[union-attr]


def test_writes_outside_the_declared_range_are_refused_before_sending(open_role: Opener) -> None:
    lamp = open_role("lamp")
    with pytest.raises(ValueError, match=r"outside the writable range '0 % \.\. 100 %'"):
        lamp.write("target_light_command", ureg.Quantity(120, "%"))
    with pytest.raises(ValueError, match="does not declare it writable"):
        open_role("tilt").write("tilt_x", ureg.Quantity(0, "deg"))
    with pytest.raises(ValueError, match="not in a unit compatible"):
        lamp.write("target_light_command", ureg.Quantity(5, "V"))
    with pytest.raises(ValueError, match="give a quantity with a unit"):
        lamp.write("target_light_command", 50)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="has no point 'tilt_x'"):
        lamp.read("tilt_x")
    # A plain ratio is converted: 1 (dimensionless) is 100 %.
    lamp.write("target_light_command", ureg.Quantity(1.0, "dimensionless"))


def _with_point(dm: DeviceMap, name: str, **changes: Any) -> DeviceMap:
    points = dict(dm.points)
    points[name] = dataclasses.replace(points[name], **changes)
    return dataclasses.replace(dm, points=points)


def _open(bench: Bench, role: str, dm: DeviceMap) -> ModbusDevice:
    uri = site_devices(bench)[role]["uri"]
    device = open_device(role, uri, dm, LinkOptions(timeout=TIMEOUT))
    assert isinstance(device, ModbusDevice)
    return device


def _lamp_with(bench: Bench, dm: DeviceMap) -> contextlib.closing[ModbusDevice]:
    return contextlib.closing(_open(bench, "lamp", dm))


def test_the_device_itself_refuses_out_of_range_values_with_code_3(bench: Bench) -> None:
    # A device map that (wrongly) allows 150 % gets past the client check; the lamp says no.
    dm = _with_point(
        devicemap(bench, "lamp"), "target_light_command", writable=parse_limit("0 % .. 200 %")
    )
    with (
        _lamp_with(bench, dm) as lamp,
        pytest.raises(DeviceException, match="illegal data value") as info,
    ):
        lamp.write("target_light_command", ureg.Quantity(150, "%"))
    assert info.value.code == 3
    assert "writing holding registers 0..0" in str(info.value)


def test_reading_outside_the_register_blocks_is_illegal_address(bench: Bench) -> None:
    dm = _with_point(devicemap(bench, "lamp"), "supply_voltage", address=300)
    with _lamp_with(bench, dm) as lamp, pytest.raises(DeviceException) as info:
        lamp.read("supply_voltage")
    assert info.value.code == 2
    message = str(info.value)
    assert "exception 2 (illegal data address)" in message
    assert "lamp at modbus-rtu:///" in message
    assert "reading input registers 300..300" in message
    assert "[points: supply_voltage]" in message


def test_writing_a_read_only_register_is_illegal_address(bench: Bench) -> None:
    dm = _with_point(devicemap(bench, "tilt"), "tilt_x", writable=parse_limit("-1 deg .. 1 deg"))
    with contextlib.closing(_open(bench, "tilt", dm)) as tilt:
        with pytest.raises(DeviceException) as info:
            tilt.write("tilt_x", ureg.Quantity(0, "deg"))
        assert info.value.code == 2
        assert 0.029 <= tilt.read("tilt_x").value.to("deg").magnitude <= 0.051  # type: ignore[union-attr]


def test_input_registers_are_never_written(open_role: Opener) -> None:
    with pytest.raises(ValueError, match="in input register 0, and Modbus writes only coils"):
        open_role("lamp").write("supply_voltage", ureg.Quantity(230, "V"))


def test_an_unknown_unit_answers_like_a_gateway_with_code_11(bench: Bench) -> None:
    uri = f"modbus-tcp://{bench.endpoints['modbus_tcp']}?unit=9"
    ghost = open_device("ghost", uri, devicemap(bench, "tilt"), LinkOptions(timeout=TIMEOUT))
    with (
        contextlib.closing(ghost),
        pytest.raises(DeviceException, match="gateway target device failed") as info,
    ):
        ghost.read("tilt_x")
    assert info.value.code == 11


def test_source_names_the_device_and_its_address(bench: Bench, open_role: Opener) -> None:
    reading = open_role("meter").read("frequency")
    assert reading.source.device == "meter"
    assert reading.source.scheme == "dlt645"
    assert reading.source.address == (
        f"dlt645://{bench.endpoints['dlt645']}?baud=2400&parity=E&stopbits=1&bytesize=8"
        "&address=202611250001"
    )
    assert open_role("tilt").read("tilt_x").source.address == (
        f"modbus-tcp://{bench.endpoints['modbus_tcp']}?unit=4"
    )


# -- faults -----------------------------------------------------------------------------------


def _magnitude(device: Device, point: str, unit: str) -> float:
    value = device.read(point).value
    assert not isinstance(value, bool)
    return float(value.to(unit).magnitude)


FAULT_EFFECTS: dict[str, Callable[[Opener], None]] = {
    "low-power-factor": lambda d: (
        _check(_magnitude(d("lamp"), "power_factor", "") == pytest.approx(0.82)),
        _check(_magnitude(d("meter"), "power_factor", "") == pytest.approx(0.82)),
    ),
    "overvoltage": lambda d: (
        _check(243 <= _magnitude(d("lamp"), "supply_voltage", "V") <= 245),
        _check(245 <= _magnitude(d("meter"), "supply_voltage", "V") <= 247),
    ),
    "undervoltage": lambda d: (
        _check(189 <= _magnitude(d("lamp"), "supply_voltage", "V") <= 191),
        _check(191 <= _magnitude(d("meter"), "supply_voltage", "V") <= 193),
    ),
    "frequency-deviation": lambda d: _check(
        50.58 <= _magnitude(d("meter"), "frequency", "Hz") <= 50.62
    ),
    "pole-tilt": lambda d: _check(0.44 <= _magnitude(d("tilt"), "tilt_x", "deg") <= 0.46),
    "clock-drift": lambda d: _check(_lags(_magnitude(d("lamp"), "device_clock", "s"), 85, 95)),
    "dimming-not-honoured": lambda d: _dimming_stuck(d("lamp")),
    "high-standby-power": lambda d: _standby(d("lamp"), 1.2),
    "lamp-failure": lambda d: _failed_driver(d("lamp")),
    "environment-word-order": lambda d: _check(
        _magnitude(d("environment"), "ambient_illuminance", "lx") > 150_000
    ),
    "fragile-lamp": lambda d: _drops_long_reads(d("lamp")),
}


def _crc16(frame: bytes) -> bytes:
    """Modbus RTU CRC-16 (poly 0xA001, init 0xFFFF), low byte first; written here, not taken
    from pymodbus, so the test does not share the bench's code."""
    crc = 0xFFFF
    for byte in frame:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


# Read 126 input registers from unit 1: one past Modbus's 125, so exception 03 is owed.
TOO_LONG_READ = bytes((1, 4, 0, 0, 0, 126))
TOO_LONG_READ += _crc16(TOO_LONG_READ)


def _drops_long_reads(lamp: Device) -> None:
    # The fragile firmware says nothing at all, and still answers a normal read after.
    _, answer = getattr(lamp, "send_frame")(TOO_LONG_READ)  # noqa: B009 - not on Device
    assert answer == b""
    assert _magnitude(lamp, "supply_voltage", "V") > 200


def test_a_healthy_lamp_answers_a_too_long_read_with_exception_03(
    opener: Callable[[Bench], Opener],
) -> None:
    with Bench.start(faults=[]) as healthy:
        _, answer = getattr(opener(healthy)("lamp"), "send_frame")(TOO_LONG_READ)  # noqa: B009
    assert answer == bytes((1, 0x84, 3)) + _crc16(bytes((1, 0x84, 3)))


def _check(condition: bool) -> None:
    assert condition


def _lags(clock: float, low: float, high: float) -> bool:
    return low <= time.time() - clock <= high


def _standby(lamp: Device, watts: float) -> None:
    lamp.write("lamp_on", False)
    assert _magnitude(lamp, "active_power", "W") == pytest.approx(watts)


def _failed_driver(lamp: Device) -> None:
    assert lamp.read("lamp_failure").value is True
    assert _magnitude(lamp, "actual_light_state", "%") == 0
    assert _magnitude(lamp, "active_power", "W") == pytest.approx(0.4)


def _dimming_stuck(lamp: Device) -> None:
    assert lamp.read("actual_light_state").value == ureg.Quantity(60, "%")
    lamp.write("target_light_command", ureg.Quantity(20, "%"))
    assert lamp.read("actual_light_state").value == ureg.Quantity(60, "%")
    assert _magnitude(lamp, "active_power", "W") == pytest.approx(72.4, abs=0.1)


# Protocol faults (silence, garbled frames, bad payloads) are tested by the verdicts they cause
# (tests/plugin/test_main_job.py) and by each transport's own tests.
PROTOCOL_FAULTS = {
    "meter-timeout",
    "slow-meter",
    "meter-bad-checksum",
    "lamp-silent",
    "lamp-bad-crc",
    "tilt-device-failure",
    "telemetry-schema-violation",
    "telemetry-malformed-json",
    "heartbeat-stops",
    # MQTT session faults: tests/bench/test_live_checks.py runs the checks they break.
    "command-never-acknowledged",
    "stale-retained-message",
    "broker-drops-connection",
}


def test_every_value_fault_has_an_effect_test() -> None:
    assert set(FAULT_EFFECTS) | PROTOCOL_FAULTS == set(FAULTS)


@pytest.mark.parametrize("fault", list(FAULT_EFFECTS))
def test_each_fault_changes_what_it_should(fault: str, opener: Callable[[Bench], Opener]) -> None:
    with Bench.start(faults=[fault]) as faulty:
        assert faulty.faults == (fault,)
        FAULT_EFFECTS[fault](opener(faulty))


def test_meter_timeout_silences_the_meter_only(opener: Callable[[Bench], Opener]) -> None:
    with Bench.start(faults=["meter-timeout"]) as faulty:
        devices = opener(faulty)
        meter, lamp = devices("meter"), devices("lamp")
        with pytest.raises(DeviceTimeout) as info:
            meter.read("supply_voltage")
        message = str(info.value)
        assert f"no answer from meter at dlt645://{faulty.endpoints['dlt645']}" in message
        assert "within 0.3 s" in message
        assert "reading DI 02010100" in message
        # Other devices answer...
        assert _magnitude(lamp, "supply_voltage", "V") > 200
        # ...and the meter stays silent on the next try.
        with pytest.raises(DeviceTimeout):
            meter.read("frequency")
        assert _magnitude(devices("tilt"), "tilt_x", "deg") < 0.1


def test_a_slow_meter_answers_late_but_answers() -> None:
    with Bench.start(faults=["slow-meter"]) as faulty:
        entry = site_devices(faulty)["meter"]
        dm = devicemap(faulty, "meter")
        patient = open_device("meter", entry["uri"], dm, LinkOptions(timeout=5.0))
        hasty = open_device("meter", entry["uri"], dm, LinkOptions(timeout=1.0, retries=1))
        with contextlib.closing(patient), contextlib.closing(hasty):
            started = time.monotonic()
            assert 227 <= _magnitude(patient, "supply_voltage", "V") <= 231
            # Not before the fault's delay (no upper bound: a busy machine only adds to it).
            assert time.monotonic() - started >= 2.5
            # The bench site's 1 s, asked twice, is not enough.
            with pytest.raises(
                DeviceTimeout, match=r"no answer from meter .* within 1 s \(2 tries\)"
            ):
                hasty.read("frequency")


def test_a_failed_device_answers_modbus_exception_4(opener: Callable[[Bench], Opener]) -> None:
    with Bench.start(faults=["tilt-device-failure"]) as faulty:
        devices = opener(faulty)
        with pytest.raises(DeviceException, match=r"exception 4 \(device failure\)") as info:
            devices("tilt").read("tilt_x")
        assert info.value.code == 4
        # The environment sensor behind the same gateway port still answers.
        assert _magnitude(devices("environment"), "wind_speed", "m/s") > 0


def test_word_swapped_firmware_reads_right_with_a_little_endian_word_map() -> None:
    with Bench.start(faults=["environment-word-order"]) as faulty:
        dm = devicemap(faulty, "environment")
        fixed = _with_point(dm, "ambient_illuminance", word_order=ByteOrder.LITTLE)
        with contextlib.closing(_open(faulty, "environment", fixed)) as environment:
            assert 4.5 <= _magnitude(environment, "ambient_illuminance", "lx") <= 7.5
            # 16-bit values have no word order: unchanged.
            assert 13.5 <= _magnitude(environment, "air_temperature", "degC") <= 15.5


# -- life cycle -------------------------------------------------------------------------------


def _bench_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ycsa-bench")]


def test_benches_get_their_own_ports_and_stop_cleanly_twice(
    opener: Callable[[Bench], Opener],
) -> None:
    before = len(_bench_threads())
    first = Bench.start()
    second = Bench.start()
    try:
        for key in ("modbus_tcp", "modbus_rtu", "dlt645", "mqtt"):
            assert first.endpoints[key] != second.endpoints[key]
            assert first.endpoints[key] in first.site_text
            assert "{" + key + "}" not in first.site_text
        assert _magnitude(opener(second)("tilt"), "tilt_y", "deg") > 0
    finally:
        first.stop()
        second.stop()
    first.stop()
    second.stop()
    assert len(_bench_threads()) == before
    # Nothing listens on the old port any more, and the old serial line is gone.
    with pytest.raises(
        DeviceRefused, match=r"cannot connect to tilt at modbus-tcp://127\.0\.0\.1:"
    ):
        opener(first)("tilt").read("tilt_x")
    with pytest.raises(DeviceRefused):
        opener(first)("lamp").read("supply_voltage")


def test_unknown_faults_are_refused_before_anything_starts() -> None:
    before = len(_bench_threads())
    with pytest.raises(ValueError, match="did you mean 'pole-tilt'") as info:
        Bench.start(faults=["pole_tilt"])
    assert "known faults: low-power-factor, overvoltage" in str(info.value)
    assert len(_bench_threads()) == before


def test_unknown_bench_names_list_the_built_in_ones() -> None:
    assert "smart-pole" in list_benches()
    with pytest.raises(ValueError, match="unknown bench 'smart-pol'; did you mean 'smart-pole'"):
        Bench.start("smart-pol")


def test_site_template_is_next_to_the_bench_and_names_every_device(bench: Bench) -> None:
    assert bench.site_path.name == "smart-pole.site.yaml"
    site = yaml.safe_load(bench.site_text)
    assert site["kind"] == "bench"
    devices = site_devices(bench)
    assert {role: d["uri"].split(":", 1)[0] for role, d in devices.items()} == {
        "lamp": "modbus-rtu",
        "meter": "dlt645",
        "environment": "modbus-tcp",
        "tilt": "modbus-tcp",
        "gateway": "mqtt",
    }
    for entry in devices.values():
        assert Path(bench.site_path.parent / entry["map"]).is_file()


def test_bench_device_maps_load_cleanly(bench: Bench) -> None:
    for device in bench.definition.devices:
        assert device.devicemap.points
        try:
            load_devicemap(device.devicemap.path)
        except InputError as exc:  # pragma: no cover - shows the problems if a map breaks
            pytest.fail(str(exc))


def test_a_connection_closed_while_idle_is_reopened_transparently(bench: Bench) -> None:
    with contextlib.closing(_open(bench, "tilt", devicemap(bench, "tilt"))) as tilt:
        assert _magnitude(tilt, "tilt_x", "deg") > 0
        # What a gateway does to an idle connection: the socket is gone under the client.
        client = tilt._link._client
        assert client is not None
        assert client.socket is not None
        client.socket.close()
        assert _magnitude(tilt, "tilt_x", "deg") > 0


def test_site_text_loads_as_a_site_pointing_at_the_running_bench(bench: Bench) -> None:
    from ycsa_conform.site import load_site

    site = load_site(bench.site_path, text=bench.site_text)
    assert site.kind == "bench"
    (pole,) = site.targets
    port = int(bench.endpoints["modbus_tcp"].rsplit(":", 1)[1])
    devices = pole.devices
    assert (devices["tilt"].address.port, devices["tilt"].address.unit) == (port, 4)
    assert (devices["environment"].address.port, devices["environment"].address.unit) == (port, 3)
    assert devices["lamp"].address.path == bench.endpoints["modbus_rtu"]
    assert devices["meter"].address.path == bench.endpoints["dlt645"]
    assert devices["gateway"].address.port == int(bench.endpoints["mqtt"].rsplit(":", 1)[1])
