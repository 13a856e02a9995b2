"""The smart-community bench end to end: a real broker, one simulated subsystem per device map,
read through `MqttDevice` with the bench's own site, and what each community fault changes."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema
import pytest

from ycsa_conform.bench import Bench
from ycsa_conform.bench.community import MODELS, Community, CommunitySettings
from ycsa_conform.bench.fault import bench_faults, configure_gateway
from ycsa_conform.point import POINTS
from ycsa_conform.site import Site, load_site
from ycsa_conform.transport import LinkOptions, open_device
from ycsa_conform.transport.mqtt import MqttDevice
from ycsa_conform.units import parse_unit, ureg

ROLES = (
    "access",
    "video",
    "parking",
    "intrusion",
    "fire",
    "elevator",
    "environment",
    "charging",
    "lighting",
)
COMMUNITY_FAULTS = list(bench_faults("smart-community"))

# What a healthy community reports, in each point's canonical unit: (lowest, highest) plausible.
NOW = time.time()
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "device_clock": (NOW - 60, NOW + 3600),
    "doors_total": (1, 500),
    "doors_online": (1, 500),
    "door_unlock_latency": (0.05, 2.0),  # SC-005: ≤ 2 s (U)
    "door_event_time": (NOW - 60, NOW + 3600),
    "cameras_total": (1, 1000),
    "cameras_online": (1, 1000),
    "recorder_retention": (30, 365),  # SC-003: ≥ 30 days (U)
    "parking_spaces": (1, 5000),
    "parking_occupied": (0, 5000),
    "barrier_open_latency": (0.05, 5.0),
    "barrier_event_time": (NOW - 60, NOW + 3600),
    "intrusion_zones_total": (1, 200),
    "intrusion_zones_armed": (0, 200),
    "alarm_delivery_delay": (0.05, 2.0),  # SC-004: ≤ 2 s on a LAN (U)
    "alarm_event_time": (NOW - 60, NOW + 3600),
    "fire_detectors_total": (1, 10000),
    "fire_detectors_fault": (0, 0),
    "elevators_total": (1, 100),
    "elevators_in_service": (1, 100),
    "ambient_illuminance": (0, 150_000),
    "air_temperature": (-1, 28),  # SC-009: Kunming design temperatures −1/28 °C (R)
    "relative_humidity": (0, 100),
    "pm2_5": (0, 75),
    "pm10": (0, 150),
    "wind_speed": (0, 20),
    "chargers_total": (1, 1000),
    "chargers_in_use": (0, 1000),
    "chargers_without_rcd": (0, 0),
    "charger_rcd_rated_current": (30, 30),  # SC-007: 30 mA Type A/B RCD (M)
    "charger_rated_power": (3500, 22000),  # SC-007: 7 kW single-phase typical (M)
    "actual_light_state": (0, 100),
    "target_light_command": (0, 100),
    "supply_voltage": (198, 242),
    "active_power": (0, 200),
    "path_illuminance": (5, 7.5),  # SC-006: E_av 5-7.5 lx (U / M)
}
HEALTHY_FLAGS = {
    "recorder_recording": True,
    "fire_alarm_active": False,
    "elevator_fault": False,
    "charger_rcd_fitted": True,
    "lamp_failure": False,
}


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    with Bench.start("smart-community") as running:
        yield running


@contextlib.contextmanager
def open_devices(bench: Bench) -> Iterator[dict[str, MqttDevice]]:
    site: Site = load_site(bench.site_path, text=bench.site_text)
    [target] = [t for t in site.targets if t.kind == "community"]
    devices: dict[str, MqttDevice] = {}
    try:
        for role, spec in target.devices.items():
            device = open_device(role, spec.uri, spec.devicemap, LinkOptions(timeout=2))
            assert isinstance(device, MqttDevice)
            devices[role] = device
        yield devices
    finally:
        for device in devices.values():
            device.close()


@contextlib.contextmanager
def community(*faults: str) -> Iterator[dict[str, MqttDevice]]:
    """A bench of its own (with `faults`) and its devices, opened from its site."""
    with Bench.start("smart-community", faults=faults) as bench, open_devices(bench) as devices:
        yield devices


@pytest.fixture(scope="module")
def devices(bench: Bench) -> Iterator[dict[str, MqttDevice]]:
    with open_devices(bench) as opened:
        yield opened


def canonical(value: Any, point: str) -> float | bool:
    """A reading's value in its point's canonical unit (flags as they are)."""
    if isinstance(value, bool):
        return value
    return float(value.to(parse_unit(POINTS[point].unit)).magnitude)


def read_all(device: MqttDevice) -> dict[str, float | bool]:
    results = device.read_many(list(device.devicemap.points))
    values: dict[str, float | bool] = {}
    for point, result in results.items():
        if isinstance(result, Exception):
            raise result
        values[point] = canonical(result.value, point)
    return values


# -- the healthy community --------------------------------------------------------------------


def test_the_site_has_one_community_target_with_a_device_per_subsystem(bench: Bench) -> None:
    site = load_site(bench.site_path, text=bench.site_text)
    [target] = [t for t in site.targets if t.kind == "community"]
    assert target.id == "C001"
    assert tuple(target.devices) == ROLES
    assert tuple(target.subsystems) == ROLES  # one subsystem per role, named like it
    assert len(bench.definition.devices) == len(MODELS)
    assert {d.model for d in bench.definition.devices} == set(MODELS)


@pytest.mark.parametrize("role", ROLES)
def test_every_point_of_every_subsystem_reads_plausibly(
    devices: dict[str, MqttDevice], role: str
) -> None:
    values = read_all(devices[role])

    assert set(values) == set(devices[role].devicemap.points)
    for point, value in values.items():
        if point in HEALTHY_FLAGS:
            assert value is HEALTHY_FLAGS[point], point
        else:
            low, high = PLAUSIBLE[point]
            assert low <= value <= high, f"{role}.{point} = {value}, not in {low}..{high}"


def test_counts_add_up(devices: dict[str, MqttDevice]) -> None:
    access = read_all(devices["access"])
    video = read_all(devices["video"])
    parking = read_all(devices["parking"])
    charging = read_all(devices["charging"])

    assert access["doors_online"] == access["doors_total"]
    assert video["cameras_online"] == video["cameras_total"]
    assert parking["parking_occupied"] <= parking["parking_spaces"]
    assert charging["chargers_in_use"] <= charging["chargers_total"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("topic", ["telemetry", "heartbeat", "status"])
def test_every_payload_meets_its_schema(
    devices: dict[str, MqttDevice], role: str, topic: str
) -> None:
    observed = devices[role].observe(topic, window=2.0, stop="each")

    # stop="each" ends the window at the first message; a loaded machine may hand over a
    # second that came with it (telemetry every 0.5 s). Every one must meet the schema.
    assert observed.messages
    assert observed.schema is not None
    schema = json.loads(observed.schema.read_text(encoding="utf-8"))
    for message in observed.messages:
        assert message.problem is None, message.payload
        jsonschema.validate(message.data, schema)


def test_path_lighting_follows_the_dimming_command() -> None:
    with community() as devices:  # a bench of its own: the command changes its state
        lighting = devices["lighting"]
        full = read_all(lighting)["path_illuminance"]
        lighting.write("target_light_command", ureg.Quantity(40, parse_unit("%")))
        deadline = time.monotonic() + 3
        while (now := read_all(lighting))["actual_light_state"] != 40:
            assert time.monotonic() < deadline, now
            time.sleep(0.1)

    assert now["path_illuminance"] == pytest.approx(full * 0.4)


def test_the_community_has_its_own_topics(bench: Bench) -> None:
    site = load_site(bench.site_path, text=bench.site_text)
    [target] = [t for t in site.targets if t.kind == "community"]

    assert target.devices["video"].uri.endswith("/ycsa/community/C001/video")


# -- faults -----------------------------------------------------------------------------------

Check = Callable[[Mapping[str, float | bool]], bool]
# What each community fault shows in the telemetry, read through MqttDevice.
EFFECTS: dict[str, tuple[str, Check]] = {
    "alarms-delayed": ("intrusion", lambda v: v["alarm_delivery_delay"] > 2.0),
    "slow-unlock": ("access", lambda v: v["door_unlock_latency"] > 2.0),
    "recorder-7-days": ("video", lambda v: v["recorder_retention"] == pytest.approx(7.0)),
    "charger-no-rcd": (
        "charging",
        lambda v: v["charger_rcd_fitted"] is False and v["chargers_without_rcd"] == 4,
    ),
    "path-lighting-dim": ("lighting", lambda v: v["path_illuminance"] < 5.0),
    "camera-offline": ("video", lambda v: v["cameras_online"] == 47),
    "door-controller-silent": ("access", lambda v: v["doors_online"] == 35),
    "elevator-out-of-service": ("elevator", lambda v: v["elevators_in_service"] == 7),
    "undeclared-charger": ("charging", lambda v: v["chargers_total"] == 25),
}


def test_every_community_fault_has_an_effect_to_check() -> None:
    assert len(COMMUNITY_FAULTS) >= 4
    assert set(EFFECTS) == set(COMMUNITY_FAULTS)


@pytest.mark.parametrize("name", COMMUNITY_FAULTS)
def test_each_community_fault_shows_in_the_telemetry(
    devices: dict[str, MqttDevice], name: str
) -> None:
    role, effect = EFFECTS[name]
    assert not effect(read_all(devices[role])), "the healthy bench already shows it"

    with community(name) as faulty:
        assert effect(read_all(faulty[role]))


def test_the_alarm_delay_reaches_the_fire_panel_too() -> None:
    with community("alarms-delayed") as devices:
        assert read_all(devices["fire"])["alarm_delivery_delay"] > 2.0


def test_a_community_fault_is_refused_by_the_pole_bench_before_anything_starts() -> None:
    # (The community bench takes pole faults: they go to the pole inside it.)
    with pytest.raises(
        ValueError, match="fault 'recorder-7-days' is for the smart-community bench"
    ) as info:
        Bench.start("smart-pole", faults=["recorder-7-days"])
    assert "faults of the smart-pole bench: low-power-factor" in str(info.value)


@pytest.mark.parametrize(
    ("settings", "switches"),
    [
        (CommunitySettings(silent_roles=frozenset({"video"})), (True, False, False)),
        (CommunitySettings(malformed_roles=frozenset({"video"})), (False, True, False)),
        (CommunitySettings(schema_violation=True), (False, False, True)),
    ],
)
def test_the_gateway_fault_switches_work_for_community_devices(
    settings: CommunitySettings, switches: tuple[bool, bool, bool]
) -> None:
    class Switches:
        heartbeat_stopped = malformed_json = schema_violation = False

    gateway = Switches()
    configure_gateway(gateway, "video", settings)

    assert (gateway.heartbeat_stopped, gateway.malformed_json, gateway.schema_violation) == switches


# -- the simulation ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self, now: float = 1.8e9) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_simulation_is_deterministic_for_a_seed() -> None:
    def community(seed: str) -> Community:
        return Community(
            CommunitySettings(seed=seed), clock=FakeClock(), monotonic=FakeClock(100.0)
        )

    one, again, other = community("kunming-P001"), community("kunming-P001"), community("x")

    for model in MODELS:
        assert one.readings(model) == again.readings(model), model
    assert one.readings("access-control") != other.readings("access-control")


def test_events_carry_their_time_and_a_latency_that_varies_from_event_to_event() -> None:
    clock = FakeClock()
    community = Community(CommunitySettings(), clock=clock)
    latencies = set()
    for k in range(20):
        clock.now = 1.8e9 + 10.0 * k
        readings = community.readings("access-control")
        assert clock.now - 10.0 < float(readings["door_event_time"]) <= clock.now
        latencies.add(round(float(readings["door_unlock_latency"]), 6))

    assert len(latencies) > 10
    assert all(0.5 <= v <= 0.7 for v in latencies)  # 0.6 s ± 10 %


def test_an_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown simulation model 'pole-gateway'; known: "):
        Community(CommunitySettings()).readings("pole-gateway")


# -- the command line -------------------------------------------------------------------------


def test_the_cli_serves_the_community_bench() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "bench", "smart-community", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
