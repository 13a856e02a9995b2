"""Modbus RTU over a real pseudo-terminal pair: pymodbus's serial server and client, our codec,
coalescing and error mapping. Both pty methods (socat, pure-Python bridge) carry the bus."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from ycsa_conform.bench.definition import bench_path, load_bench
from ycsa_conform.bench.modbus import ModbusBench
from ycsa_conform.bench.physics import PoleSettings
from ycsa_conform.bench.pole import Pole
from ycsa_conform.bench.pty import PtyPair
from ycsa_conform.devicemap import DeviceMap
from ycsa_conform.errors import DecodeError, DeviceError, DeviceException, DeviceTimeout
from ycsa_conform.transport import LinkOptions, Reading, open_device
from ycsa_conform.transport.modbus import ModbusDevice
from ycsa_conform.units import ureg

TIMEOUT = 0.3


@pytest.fixture(scope="module")
def definition():  # type: ignore[no-untyped-def]
    return load_bench(bench_path("smart-pole"))


def lamp_map(definition) -> DeviceMap:  # type: ignore[no-untyped-def]
    [lamp] = [d for d in definition.devices if d.role == "lamp"]
    devicemap: DeviceMap = lamp.devicemap
    return devicemap


class Bus:
    """An RTU bus: the bench's serial server on one end of a pty pair, clients on the other."""

    def __init__(self, definition, settings: PoleSettings, method: str) -> None:  # type: ignore[no-untyped-def]
        self.pole = Pole(settings)
        self.pair = PtyPair.open(prefer=method)  # type: ignore[arg-type]
        self.server = ModbusBench(
            definition.devices, self.pole, transport="modbus-rtu", serial_path=self.pair.bench_path
        )
        self.server.start()
        self.map = lamp_map(definition)

    def device(self, unit: int = 1, **options: object) -> ModbusDevice:
        uri = f"modbus-rtu://{self.pair.device_path}?baud=9600&unit={unit}"
        device = open_device("lamp", uri, self.map, LinkOptions(timeout=TIMEOUT, **options))  # type: ignore[arg-type]
        assert isinstance(device, ModbusDevice)
        return device

    def close(self) -> None:
        self.server.stop()
        self.pair.close()


@pytest.fixture(params=["socat", "python"])
def bus(request: pytest.FixtureRequest, definition) -> Iterator[Bus]:  # type: ignore[no-untyped-def]
    if request.param == "socat":
        import shutil

        if shutil.which("socat") is None:
            pytest.skip("socat is not installed; install it with 'apt-get install -y socat'")
    made = Bus(definition, PoleSettings(), request.param)
    yield made
    made.close()


def test_lamp_points_read_over_rtu_in_one_coalesced_request(bus: Bus) -> None:
    lamp = bus.device()
    points = ["supply_voltage", "supply_current", "active_power", "power_factor", "device_clock"]
    try:
        readings = lamp.read_many(points)
    finally:
        lamp.close()
    assert all(isinstance(r, Reading) for r in readings.values()), readings
    voltage = readings["supply_voltage"]
    assert isinstance(voltage, Reading)
    assert 198 <= voltage.value.to("V").magnitude <= 235.4  # type: ignore[union-attr]
    assert voltage.source.scheme == "modbus-rtu"
    # Input registers 0..11 in one request: the protocol minimum.
    assert lamp.transactions == 1 == lamp.minimum_transactions(points)


def test_a_field_uri_with_even_parity_reads_over_a_pty(bus: Bus) -> None:
    # Field buses often run 8E1; a pty keeps no parity (Linux refuses the setting with
    # EINVAL), so the client opens it 8N1 and the site file need not change for a bench.
    uri = f"modbus-rtu://{bus.pair.device_path}?baud=9600&parity=E&stopbits=1&unit=1"
    lamp = open_device("lamp", uri, bus.map, LinkOptions(timeout=TIMEOUT))
    try:
        voltage = lamp.read("supply_voltage")
    finally:
        lamp.close()
    assert 198 <= voltage.value.to("V").magnitude <= 235.4  # type: ignore[union-attr]
    assert "parity=E" in voltage.source.address


def test_points_in_different_tables_need_one_request_per_table(bus: Bus) -> None:
    lamp = bus.device()
    points = ["supply_voltage", "lamp_failure", "target_light_command"]
    try:
        readings = lamp.read_many(points)
    finally:
        lamp.close()
    assert readings["lamp_failure"].value is False  # type: ignore[union-attr]
    assert readings["target_light_command"].value == ureg.Quantity(100, "%")  # type: ignore[union-attr]
    assert lamp.transactions == 3


def test_a_write_goes_over_the_bus_and_changes_what_the_lamp_reports(bus: Bus) -> None:
    lamp = bus.device()
    try:
        lamp.write("target_light_command", ureg.Quantity(40, "%"))
        assert lamp.read("actual_light_state").value == ureg.Quantity(40, "%")
    finally:
        lamp.close()


def test_a_foreign_unit_gets_silence_on_a_bus_not_an_exception(bus: Bus) -> None:
    ghost = bus.device(unit=9)
    try:
        with pytest.raises(
            DeviceTimeout, match=r"no answer from lamp at modbus-rtu:///.*within 0\.3 s"
        ):
            ghost.read("supply_voltage")
    finally:
        ghost.close()


def test_an_unimplemented_register_is_exception_2_for_that_point_only(bus: Bus, definition) -> None:  # type: ignore[no-untyped-def]
    # A map that claims a register the lamp does not have, next to ones it has.
    base = bus.map.modbus_point("supply_voltage")
    ghost = dataclasses.replace(base, name="frequency", address=60)
    points = {**bus.map.points, "frequency": ghost}
    wrong = dataclasses.replace(bus.map, points=points)
    uri = f"modbus-rtu://{bus.pair.device_path}?baud=9600&unit=1"
    lamp = open_device("lamp", uri, wrong, LinkOptions(timeout=TIMEOUT, max_gap=100))
    try:
        readings = lamp.read_many(["supply_voltage", "frequency"])
    finally:
        lamp.close()
    error = readings["frequency"]
    assert isinstance(error, DeviceException)
    assert error.code == 2
    assert "exception 2 (illegal data address)" in str(error)
    assert "[points: frequency]" in str(error)
    # The coalesced block was refused; each point was then asked alone.
    assert isinstance(readings["supply_voltage"], Reading)
    assert lamp.transactions == 3


def test_a_bad_crc_is_a_garbled_frame_not_silence(definition) -> None:  # type: ignore[no-untyped-def]
    made = Bus(definition, PoleSettings(garbled_frames=True), "python")
    lamp = made.device()
    try:
        with pytest.raises(
            DecodeError, match=r"garbled answer \(bad CRC or framing\), received 01 04"
        ):
            lamp.read("supply_voltage")
    finally:
        lamp.close()
        made.close()


def test_a_silent_lamp_is_a_timeout_naming_the_registers(definition) -> None:  # type: ignore[no-untyped-def]
    made = Bus(definition, PoleSettings(silent_roles=frozenset({"lamp"})), "python")
    lamp = made.device(retries=1)
    try:
        with pytest.raises(DeviceTimeout) as info:
            lamp.read("power_factor")
    finally:
        lamp.close()
        made.close()
    message = str(info.value)
    assert "reading input registers 4..4" in message
    assert "(2 tries)" in message
    assert "[points: power_factor]" in message


def test_a_missing_serial_port_is_refused_with_the_path() -> None:
    from ycsa_conform.devicemap import load_devicemap
    from ycsa_conform.resources import data_dir

    dm = load_devicemap(data_dir("benches") / "devicemaps" / "lamp-controller.yaml")
    lamp = open_device("lamp", "modbus-rtu:///dev/ttyUSB99?unit=1", dm, LinkOptions(timeout=0.2))
    with pytest.raises(DeviceError, match=r"cannot open /dev/ttyUSB99 for modbus-rtu:///dev/ttyU"):
        lamp.read("supply_voltage")


# -- several units on one bus -----------------------------------------------------------------


@pytest.fixture
def shared_bus(definition) -> Iterator[tuple[PtyPair, DeviceMap, DeviceMap]]:  # type: ignore[no-untyped-def]
    # The lamp controller (unit 1) and the environment sensor (unit 3) on one RS-485 bus, as
    # a field pole wires them; the bench's Modbus server answers both units on it.
    devices = [
        dataclasses.replace(d, transport="modbus-rtu")
        for d in definition.devices
        if d.role in ("lamp", "environment")
    ]
    pair = PtyPair.open(prefer="python")
    server = ModbusBench(
        devices, Pole(PoleSettings()), transport="modbus-rtu", serial_path=pair.bench_path
    )
    server.start()
    maps = {d.role: d.devicemap for d in devices}
    yield pair, maps["lamp"], maps["environment"]
    server.stop()
    pair.close()


def units(
    bus: tuple[PtyPair, DeviceMap, DeviceMap], *, environment_baud: int = 9600
) -> tuple[ModbusDevice, ModbusDevice]:
    """The lamp (unit 1) and the environment sensor (unit 3), each opened by its own URI."""
    pair, lamp_map, environment_map = bus
    opened = []
    for role, devicemap, unit, baud in (
        ("lamp", lamp_map, 1, 9600),
        ("environment", environment_map, 3, environment_baud),
    ):
        uri = f"modbus-rtu://{pair.device_path}?baud={baud}&unit={unit}"
        device = open_device(role, uri, devicemap, LinkOptions(timeout=TIMEOUT))
        assert isinstance(device, ModbusDevice)
        opened.append(device)
    return opened[0], opened[1]


def test_two_units_on_one_bus_are_read_in_one_run(
    shared_bus: tuple[PtyPair, DeviceMap, DeviceMap],
) -> None:
    import threading

    lamp, environment = units(shared_bus)
    readings: dict[str, list[object]] = {"lamp": [], "environment": []}

    def poll(device: object, role: str, point: str) -> None:
        for _ in range(10):
            readings[role].append(device.read(point).value)  # type: ignore[attr-defined]

    try:
        # Both at once from two threads, as a concurrent run reads them: the bus takes one
        # request at a time, and each answer reaches the unit that asked.
        threads = [
            threading.Thread(target=poll, args=(lamp, "lamp", "supply_voltage")),
            threading.Thread(target=poll, args=(environment, "environment", "relative_humidity")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        lamp.close()
        environment.close()

    assert len(readings["lamp"]) == len(readings["environment"]) == 10
    assert all(v.to("V").magnitude > 150 for v in readings["lamp"])  # type: ignore[attr-defined]
    assert all(0 <= v.to("%").magnitude <= 100 for v in readings["environment"])  # type: ignore[attr-defined]
    assert lamp.transactions == environment.transactions == 10


def test_units_of_one_bus_with_other_line_settings_are_refused(
    shared_bus: tuple[PtyPair, DeviceMap, DeviceMap],
) -> None:
    lamp, environment = units(shared_bus, environment_baud=19200)
    try:
        lamp.read("supply_voltage")
        with pytest.raises(DeviceError, match=r"asks for 19200 baud 8N1, but another unit on "):
            environment.read("relative_humidity")
    finally:
        lamp.close()
        environment.close()
