"""`ycsa-conform scan` against real devices: the standalone bench (`ycsa-conform bench
smart-pole` in a process of its own: Modbus TCP units behind its gateway port, the lamp
controller on Modbus RTU over its pty, the DL/T 645 meter on its pty, the MQTT gateway on its
broker), and a foreign-layout device of another vendor, a pymodbus server in this test that does
not implement Read Device Identification, answers garbage for one unit and records every
function code it receives. The scan's fragment, pasted into a site file, is validated and run."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymodbus.constants import ExcCodes
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from ycsa_conform.scan import fragment, parse_hosts, parse_units
from ycsa_conform.site import load_site

BENCH_MAPS = Path(__file__).parents[2] / "benches" / "devicemaps"
FOREIGN_MAPS = Path(__file__).parents[1] / "foreign" / "maps"


def _scan(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "scan", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def bench(
    tmp_path_factory: pytest.TempPathFactory, serve_bench: Callable[..., Iterator[dict[str, Any]]]
) -> Iterator[dict[str, Any]]:
    yield from serve_bench(tmp_path_factory.mktemp("scan-bench"))


@pytest.fixture(scope="module")
def scanned(bench: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One scan of every stage of the bench, as JSON; the fragment written with --out."""
    folder = tmp_path_factory.mktemp("scan")
    endpoints = bench["endpoints"]
    host, port = endpoints["modbus_tcp"].split(":")
    result = _scan(
        "--rtu",
        endpoints["modbus_rtu"],
        "--units",
        "1-5",
        "--tcp",
        host,
        "--port",
        port,
        "--dlt645",
        endpoints["dlt645"],
        "--mqtt",
        f"mqtt://{endpoints['mqtt']}",
        "--prefix",
        "ycsa/bench",
        "--listen",
        "4",
        # Long enough for a loaded machine: a present unit must not pass for a silent one.
        "--timeout",
        "1",
        "--json",
        "--out",
        str(folder / "fragment.yaml"),
    )
    data: dict[str, Any] = json.loads(result.stdout or "{}")
    data["returncode"] = result.returncode
    data["stderr"] = result.stderr
    data["folder"] = folder
    return data


def test_the_scan_finds_and_identifies_every_bench_device(
    bench: dict[str, Any], scanned: dict[str, Any]
) -> None:
    assert scanned["returncode"] == 0, scanned
    assert scanned["problems"] == []
    by_role = {f["role"]: f for f in scanned["found"]}
    assert sorted(by_role) == ["environment", "gateway", "lamp", "meter", "tilt"]
    assert all(f["status"] == "identified" for f in scanned["found"])
    endpoints = bench["endpoints"]
    assert by_role["lamp"]["uri"].startswith(f"modbus-rtu://{endpoints['modbus_rtu']}?")
    assert by_role["lamp"]["uri"].endswith("&unit=1")
    assert by_role["environment"]["uri"] == f"modbus-tcp://{endpoints['modbus_tcp']}?unit=3"
    assert by_role["tilt"]["uri"] == f"modbus-tcp://{endpoints['modbus_tcp']}?unit=4"
    assert by_role["meter"]["uri"].endswith("address=202611250001")
    assert by_role["gateway"]["uri"] == f"mqtt://{endpoints['mqtt']}/ycsa/bench/P001"
    maps = {role: Path(f["map"]).name for role, f in by_role.items()}
    assert maps == {
        "lamp": "lamp-controller.yaml",
        "environment": "environment-sensor.yaml",
        "tilt": "tilt-sensor.yaml",
        "meter": "meter-dlt645.yaml",
        "gateway": "gateway.yaml",
    }
    # The bench's Modbus units answer Read Device Identification with their maps' objects.
    assert by_role["lamp"]["identification"] == {
        "0": "ycsa-conform bench",
        "1": "SLC-120",
        "2": "1",
    }
    assert by_role["tilt"]["how"].startswith("43/14 answers")
    assert by_role["meter"]["how"].startswith("signature of ycsa-bench/meter-dlt645")


def test_the_fragment_pasted_into_a_site_validates_and_runs(scanned: dict[str, Any]) -> None:
    folder: Path = scanned["folder"]
    text = (folder / "fragment.yaml").read_text()
    assert text == scanned["fragment"]
    site = folder / "scanned.site.yaml"
    site.write_text("site: scanned-pole\nkind: field\n" + text)
    validated = subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "validate", "--profile", "smart-pole", str(site)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr
    devices = load_site(site).targets[0].devices
    assert sorted(devices) == ["environment", "gateway", "lamp", "meter", "tilt"]
    # One requirement per device: lamp flag, meter frequency, tilt, environment, gateway schema.
    chosen = "SP-LUM-014 or SP-PWR-004 or SP-LOAD-012 or SP-DATA-015 or SP-DATA-007"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--profile",
            "smart-pole",
            "--site",
            str(site),
            "-k",
            chosen,
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--report-dir",
            str(folder / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=folder,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "5 passed" in run.stdout


def test_progress_goes_to_stderr_one_line_per_stage_and_json_is_quiet(
    bench: dict[str, Any], scanned: dict[str, Any]
) -> None:
    assert scanned["stderr"] == ""
    host, port = bench["endpoints"]["modbus_tcp"].split(":")
    result = _scan("--tcp", host, "--port", port, "--units", "2-4", "--timeout", "1")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("scan: ")]
    assert any("3 unit(s) asked, 2 answered, 0 garbage" in line for line in lines), lines
    assert all(line.endswith("s left)") for line in lines), lines
    assert result.stdout.startswith("# ycsa-conform scan")
    assert "targets:" in result.stdout


def test_the_time_limit_cuts_a_bus_scan_short_and_says_what_was_not_asked(
    bench: dict[str, Any],
) -> None:
    started = time.monotonic()
    result = _scan(
        "--rtu",
        bench["endpoints"]["modbus_rtu"],
        "--units",
        "2-247",  # all silent on the bench: every one costs the timeout
        "--timeout",
        "0.3",
        "--time-limit",
        "1.5",
        "--json",
    )
    # "does not hang": 246 silent units at 0.3 s would take 74 s.
    assert time.monotonic() - started < 40
    data = json.loads(result.stdout)
    assert result.returncode == 1
    assert any("time limit: units" in p and "not asked" in p for p in data["problems"])
    assert data["found"] == []


def test_a_lamp_controller_answering_with_bad_crcs_is_garbage_not_a_device(
    tmp_path: Path, serve_bench: Callable[..., Iterator[dict[str, Any]]]
) -> None:
    for ready in serve_bench(tmp_path, "--fault", "lamp-bad-crc"):
        result = _scan(
            "--rtu", ready["endpoints"]["modbus_rtu"], "--units", "1-2", "--timeout", "1", "--json"
        )
    data = json.loads(result.stdout)
    [found] = data["found"]
    assert found["status"] == "garbage"
    assert found["uri"].endswith("&unit=1")
    assert "bad CRC" in found["how"]
    assert found["map"] is None
    assert result.returncode == 1
    site = tmp_path / "site.yaml"
    site.write_text("site: crc\nkind: field\n" + data["fragment"])
    assert load_site(site).targets[0].devices == {}


def test_a_meter_answering_with_bad_checksums_is_garbage_not_a_meter(
    tmp_path: Path, serve_bench: Callable[..., Iterator[dict[str, Any]]]
) -> None:
    for ready in serve_bench(tmp_path, "--fault", "meter-bad-checksum"):
        result = _scan("--dlt645", ready["endpoints"]["dlt645"], "--json")
    data = json.loads(result.stdout)
    [found] = data["found"]
    assert found["status"] == "garbage"
    assert "no DL/T 645 answer frame" in found["how"]
    assert found["map"] is None
    assert result.returncode == 1


# -- a device of another vendor: no 43/14, its own layout ----------------------------------


class _NoIdentification(ModbusPDU):
    """Function 43 of a firmware without Read Device Identification: exception 01."""

    function_code = 0x2B
    sub_function_code = -1

    def decode(self, data: bytes) -> None:
        self.payload = bytes(data)

    async def datastore_update(self, context: Any, device_id: int) -> ModbusPDU:
        return ExceptionResponse(self.function_code, ExcCodes.ILLEGAL_FUNCTION, device_id)


class ForeignGateway:
    """A TCP gateway in front of a Cangshan CS-TS2 tilt sensor (tests/foreign/maps/cs-ts2.yaml:
    input registers in hundredths of a mrad) as unit 21, and a broken unit 9 whose answers
    carry a wrong MBAP protocol id. Records every function code it is sent."""

    def __init__(self, *, every_unit: bool = False) -> None:
        # every_unit: a plain Modbus TCP tilt sensor that answers any unit id (pymodbus's
        # device id 0 takes every request).
        self.every_unit = every_unit
        self.functions: list[int] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: ModbusTcpServer | None = None

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            if len(data) > 7:
                self.functions.append(data[7])
            return data
        if not self.every_unit and len(data) > 7 and data[6] == 9:
            return data[:2] + b"\x12\x34" + data[4:]  # not protocol 0: not Modbus
        return data

    async def _start(self) -> int:
        tilt = SimDevice(
            id=0 if self.every_unit else 21,
            simdata=[
                # tilt_x 0.85 mrad, tilt_y -0.4 mrad, vibration 0.7 mm/s
                SimData(0, values=[85, 0x10000 - 40, 7], datatype=DataType.REGISTERS),
                SimData(0x10, values=[500], datatype=DataType.REGISTERS),
            ],
        )
        broken = SimDevice(id=9, simdata=[SimData(0, values=[1], datatype=DataType.REGISTERS)])
        server = ModbusTcpServer(
            [tilt] if self.every_unit else [tilt, broken],
            address=("127.0.0.1", 0),
            trace_packet=self._trace,
            custom_pdu=[_NoIdentification],
        )
        await server.serve_forever(background=True)
        self._server = server
        listening: Any = server.transport
        return int(listening.sockets[0].getsockname()[1])

    def start(self) -> ForeignGateway:
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._server is not None:
            server = self._server
            asyncio.run_coroutine_threadsafe(server.shutdown(), self._loop).result(10)  # type: ignore[no-untyped-call]
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def foreign() -> Iterator[ForeignGateway]:
    gateway = ForeignGateway().start()
    yield gateway
    gateway.stop()


def _vendor_maps(folder: Path) -> Path:
    """The vendor's CS-TS2 map with a signature added, as the vendor would ship it."""
    folder.mkdir()
    text = (FOREIGN_MAPS / "cs-ts2.yaml").read_text()
    text = text.replace("../../../ycsa_conform", str(Path(__file__).parents[2] / "ycsa_conform"))
    text += (
        "signature:\n"
        "  role: tilt\n"
        "  points:\n"
        '    tilt_x: "-100 mrad .. 100 mrad"\n'
        '    tilt_y: "-100 mrad .. 100 mrad"\n'
        '    tilt_alarm_threshold: "0.1 mrad .. 50 mrad"\n'
    )
    (folder / "cs-ts2.yaml").write_text(text)
    return folder


def test_a_foreign_device_without_43_is_identified_by_its_signature_and_garbage_is_garbage(
    foreign: ForeignGateway, tmp_path: Path
) -> None:
    maps = _vendor_maps(tmp_path / "maps")
    result = _scan(
        "--tcp",
        "127.0.0.1",
        "--port",
        str(foreign.port),
        "--units",
        "1-30",
        "--timeout",
        "1",
        "--maps",
        str(maps),
        "--json",
        "--out",
        str(tmp_path / "fragment.yaml"),
    )
    data = json.loads(result.stdout)
    by_status: dict[str, list[dict[str, Any]]] = {}
    for found in data["found"]:
        by_status.setdefault(found["status"], []).append(found)
    [tilt] = by_status["identified"]
    assert tilt["uri"] == f"modbus-tcp://127.0.0.1:{foreign.port}?unit=21"
    assert tilt["devicemap"] == "cangshan/cs-ts2"
    assert tilt["role"] == "tilt"
    assert "does not implement Read Device Identification (43/14: exception 01)" in tilt["how"]
    assert "tilt_x 0.85 mrad" in tilt["how"]
    # The bench's own tilt map reads these registers too, but not inside its signature.
    [garbage] = by_status["garbage"]
    assert garbage["uri"].endswith("?unit=9")
    assert "MBAP protocol id" in garbage["how"]
    assert garbage["role"] is None
    assert garbage["map"] is None
    assert result.returncode == 1  # garbage on the line needs a look
    # Read-only: reads (01-04) and Read Device Identification (43) only, never a write.
    assert set(foreign.functions) <= {1, 2, 3, 4, 43}, foreign.functions
    assert 43 in foreign.functions
    # The fragment names the tilt sensor and leaves garbage as a comment; it validates.
    site = tmp_path / "site.yaml"
    site.write_text("site: foreign\nkind: field\n" + (tmp_path / "fragment.yaml").read_text())
    target = load_site(site).targets[0]
    assert list(target.devices) == ["tilt"]
    assert "# GARBAGE at" in site.read_text()


def test_a_device_no_map_fits_gets_a_commented_entry_and_the_fragment_still_validates(
    foreign: ForeignGateway, tmp_path: Path
) -> None:
    # Without the vendor's map, unit 21 answers but nothing identifies it.
    result = _scan(
        "--tcp",
        "127.0.0.1",
        "--port",
        str(foreign.port),
        "--units",
        "21",
        "--timeout",
        "1",
        "--json",
    )
    data = json.loads(result.stdout)
    [found] = data["found"]
    assert found["status"] == "unidentified"
    assert found["role"] is None
    assert found["map"] is None
    assert "no known device map's signature fits" in found["how"]
    assert result.returncode == 1
    site = tmp_path / "site.yaml"
    site.write_text("site: foreign\nkind: field\n" + data["fragment"])
    assert "FOUND, NOT IDENTIFIED" in data["fragment"]
    assert "# Choose its device map and the role" in data["fragment"]
    assert load_site(site).targets[0].devices == {}


def test_a_tcp_device_that_ignores_the_unit_id_is_one_device_not_one_per_unit(
    tmp_path: Path,
) -> None:
    maps = _vendor_maps(tmp_path / "maps")
    gateway = ForeignGateway(every_unit=True).start()
    try:
        result = _scan(
            "--tcp",
            "127.0.0.1",
            "--port",
            str(gateway.port),
            "--units",
            "1-12",
            "--timeout",
            "1",
            "--maps",
            str(maps),
            "--json",
        )
    finally:
        gateway.stop()
    data = json.loads(result.stdout)
    [found] = data["found"]
    assert found["status"] == "identified"
    assert found["uri"].endswith("?unit=1")
    assert any("ignores the unit id" in p for p in data["problems"]), data["problems"]
    assert result.returncode == 1


# -- units: arguments and the fragment ------------------------------------------------------


def test_unit_and_host_ranges_parse_and_refuse_what_is_wrong() -> None:
    assert parse_units("1-3,7") == [1, 2, 3, 7]
    assert parse_hosts("10.0.0.5-7") == ["10.0.0.5", "10.0.0.6", "10.0.0.7"]
    assert parse_hosts("10.0.0.0/30") == ["10.0.0.1", "10.0.0.2"]
    for bad in ("0-5", "5-1", "248", "x"):
        with pytest.raises(ValueError, match="--units"):
            parse_units(bad)
    with pytest.raises(ValueError, match="at most 1024"):
        parse_hosts("10.0.0.0/16")


def test_nothing_to_scan_is_a_usage_error() -> None:
    result = _scan()
    assert result.returncode == 4
    assert "nothing to scan" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_empty_scan_gives_a_fragment_that_validates(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("site: empty\nkind: field\n" + fragment([]))
    assert load_site(site).targets[0].devices == {}
    assert BENCH_MAPS.is_dir()


def test_a_signature_that_names_no_point_or_a_wrong_unit_is_one_line_each(tmp_path: Path) -> None:
    text = (BENCH_MAPS / "tilt-sensor.yaml").read_text()
    text = text.replace('    tilt_x: "-10 deg .. 10 deg"', '    tilt_z: "-10 deg .. 10 deg"')
    text = text.replace('    tilt_y: "-10 deg .. 10 deg"', '    tilt_y: "0 V .. 1 V"')
    text = text.replace('"0.001 deg .. 5 deg"\n', '">= 1 deg"\n')
    bad = tmp_path / "tilt.yaml"
    bad.write_text(text)
    result = subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "validate", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 4
    lines = result.stderr.splitlines()
    assert any("$.signature.points.tilt_z: unknown point 'tilt_z'" in line for line in lines)
    assert any(
        "$.signature.points.tilt_y: range '0 V .. 1 V' is not in the point's unit deg" in line
        for line in lines
    )
    assert any(
        "$.signature.points.tilt_alarm_threshold: '>= 1 deg' is not a range" in line
        for line in lines
    )
    assert all(line.startswith(f"{bad}:") for line in lines), lines
    assert "Traceback" not in result.stderr


def test_mqtt_publishers_whose_payloads_fail_the_schemas_are_not_identified() -> None:
    # Pure: the grouping of messages heard on a broker (no broker needed for this part).
    from ycsa_conform.devicemap import load_devicemap
    from ycsa_conform.scan import publishers

    gateway = load_devicemap(BENCH_MAPS / "gateway.yaml")
    messages = [
        {"topic": "city/P7/heartbeat", "payload": json.dumps({"nonsense": True})},
        {"topic": "city/P7/status", "payload": "not json"},
        {"topic": "city/cam/frames", "payload": "{}"},
    ]
    found = {f.uri: f for f in publishers(messages, "city", [gateway], "mqtt://broker:1883")}
    p7 = found["mqtt://broker:1883/city/P7"]
    assert p7.status == "unidentified"
    assert "payloads fail their schemas" in p7.how
    assert p7.candidates == ("ycsa-bench/pole-gateway",)
    camera = found["mqtt://broker:1883/city/cam"]
    assert camera.status == "unidentified"
    assert "topics no known device map names" in camera.how
    assert all(f.map is None for f in found.values())
