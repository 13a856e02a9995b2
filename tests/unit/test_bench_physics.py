"""The bench's physics and fault catalogue: pure functions, checked against the profile limits."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest

from ycsa_conform.bench import FAULTS
from ycsa_conform.bench.fault import apply_faults, resolve_faults
from ycsa_conform.bench.physics import (
    PoleSettings,
    accumulate_energy,
    environment_readings,
    lamp_power,
    lamp_power_factor,
    lamp_readings,
    light_level,
    meter_readings,
    tilt_readings,
    wobble,
)
from ycsa_conform.bench.pole import Pole

DEFAULT = PoleSettings()
# A day of bench time, sampled at awkward steps, is enough to see every sine's extremes.
TIMES = [i * 37.3 for i in range(2400)]


def lamp_at(t: float, settings: PoleSettings = DEFAULT, target: float = 100.0) -> dict:
    return lamp_readings(settings, t=t, epoch=1.8e9 + t, target=target, energy=1.0, hours=2.0)


def test_wobble_is_deterministic_and_bounded() -> None:
    values = [wobble("seed", t, amplitude=0.5, period=60.0) for t in TIMES]
    assert values == [wobble("seed", t, amplitude=0.5, period=60.0) for t in TIMES]
    assert max(abs(v) for v in values) <= 0.5
    assert max(values) - min(values) > 0.5  # it does move
    assert wobble("other", 10.0, amplitude=0.5, period=60.0) != wobble(
        "seed", 10.0, amplitude=0.5, period=60.0
    )


def test_light_level_follows_the_target_within_0_to_100() -> None:
    assert light_level(50.0, DEFAULT) == 50.0
    assert light_level(130.0, DEFAULT) == 100.0
    assert light_level(-5.0, DEFAULT) == 0.0
    stuck = dataclasses.replace(DEFAULT, stuck_light_level=60.0)
    assert light_level(10.0, stuck) == light_level(100.0, stuck) == 60.0


def test_power_is_rated_times_level_plus_standby() -> None:
    assert lamp_power(100.0, DEFAULT) == pytest.approx(120.4)
    assert lamp_power(50.0, DEFAULT) == pytest.approx(60.4)
    assert lamp_power(0.0, DEFAULT) == pytest.approx(0.4)  # SP-PWR-009: standby <= 0.5 W


def test_power_factor_is_best_at_full_output_and_falls_when_dimmed() -> None:
    levels = [100.0, 80.0, 50.0, 20.0, 0.0]
    pfs = [lamp_power_factor(level, DEFAULT) for level in levels]
    assert pfs[0] == pytest.approx(0.96)
    assert pfs == sorted(pfs, reverse=True)
    assert pfs[2] < 0.9


def test_current_is_power_over_voltage_times_power_factor() -> None:
    r = lamp_at(123.0)
    assert r["supply_current"] == pytest.approx(
        r["active_power"] / (r["supply_voltage"] * r["power_factor"])
    )
    assert r["supply_current"] == pytest.approx(0.55, abs=0.01)


def test_default_pole_stays_inside_the_smart_pole_limits_at_any_time() -> None:
    for t in TIMES:
        lamp = lamp_at(t)
        meter = meter_readings(DEFAULT, t=t, level=100.0, energy=1.0)
        env = environment_readings(DEFAULT, t=t)
        tilt = tilt_readings(DEFAULT, t=t)
        assert 227.0 <= lamp["supply_voltage"] <= 229.0  # SP-PWR-003: 198 .. 231 V
        assert 228.0 <= meter["supply_voltage"] <= 230.0  # SP-PWR-001: 198 .. 235.4 V
        assert abs(meter["frequency"] - 50.0) <= 0.02  # SP-PWR-004: ± 0.2 Hz
        assert lamp["power_factor"] >= 0.95
        assert meter["power_factor"] >= 0.95
        assert abs(meter["active_power"] - lamp["active_power"]) <= 0.5  # same circuit
        assert lamp["actual_light_state"] == lamp["target_light_command"]  # SP-LUM-011
        assert lamp["device_clock"] == math.floor(1.8e9 + t)  # SP-DATA-010
        assert lamp["lamp_failure"] is False
        assert 0.03 <= tilt["tilt_x"] <= 0.06
        assert 0.03 <= tilt["tilt_y"] <= 0.06
        assert 0 < env["ambient_illuminance"] < 10
        assert 13 < env["air_temperature"] < 16
        assert 60 < env["relative_humidity"] < 85
        assert 0 < env["pm2_5"] < env["pm10"] < 75
        assert 1 < env["wind_speed"] < 3


def test_meter_voltage_tracks_the_lamp_voltage_one_volt_upstream() -> None:
    for t in TIMES[:50]:
        lamp = lamp_at(t)
        meter = meter_readings(DEFAULT, t=t, level=100.0, energy=1.0)
        assert meter["supply_voltage"] - lamp["supply_voltage"] == pytest.approx(1.0)


def test_energy_accumulates_power_over_time() -> None:
    assert accumulate_energy(10.0, 1000.0, 3600.0) == pytest.approx(11.0)
    assert accumulate_energy(10.0, 120.4, 0.0) == 10.0


# -- faults -----------------------------------------------------------------------------------


def test_every_fault_overrides_real_settings_and_names_requirements() -> None:
    fields = {f.name for f in dataclasses.fields(PoleSettings)}
    for name, fault in FAULTS.items():
        assert fault.name == name
        assert set(fault.overrides) <= fields, name
        assert fault.breaks
        assert all(re.fullmatch(r"SP-[A-Z]+-\d{3}", r) for r in fault.breaks)
        assert fault.description


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("low-power-factor", lambda s: lamp_at(0.0, s)["power_factor"] == pytest.approx(0.82)),
        (
            "overvoltage",
            lambda s: (
                lamp_at(0.0, s)["supply_voltage"] > 243
                and meter_readings(s, t=0.0, level=100.0, energy=1.0)["supply_voltage"] > 245
            ),
        ),
        ("meter-timeout", lambda s: s.silent_roles == frozenset({"meter"})),
        ("pole-tilt", lambda s: tilt_readings(s, t=0.0)["tilt_x"] > 0.43),
        ("clock-drift", lambda s: lamp_at(0.0, s)["device_clock"] == math.floor(1.8e9) - 90),
        (
            "dimming-not-honoured",
            lambda s: lamp_at(0.0, s, target=20.0)["actual_light_state"] == 60,
        ),
    ],
)
def test_each_fault_changes_what_it_should(fault: str, check) -> None:  # type: ignore[no-untyped-def]
    settings = apply_faults(DEFAULT, resolve_faults([fault]))
    assert check(settings)
    assert not check(DEFAULT)


def test_faults_combine_and_repeat_harmlessly() -> None:
    faults = resolve_faults(["pole-tilt", "clock-drift", "pole-tilt"])
    assert [f.name for f in faults] == ["pole-tilt", "clock-drift"]
    settings = apply_faults(DEFAULT, faults)
    assert (settings.tilt_x, settings.clock_offset) == (0.45, -90.0)


def test_unknown_fault_lists_the_known_ones_and_suggests_the_closest() -> None:
    with pytest.raises(ValueError, match="unknown bench fault 'low-pf'") as info:
        resolve_faults(["low-pf"])
    message = str(info.value)
    assert "did you mean 'low-power-factor'?" in message
    assert all(name in message for name in FAULTS)


# -- the pole's state -------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pole_counts_energy_and_hours_at_the_commanded_level() -> None:
    clock = FakeClock()
    pole = Pole(DEFAULT, clock=clock, monotonic=clock)
    start = pole.readings("led-lamp-controller")
    clock.now += 3600.0
    after_hour = pole.readings("led-lamp-controller")
    assert after_hour["active_energy"] - start["active_energy"] == pytest.approx(0.1204)
    assert after_hour["operating_hours"] - start["operating_hours"] == pytest.approx(1.0)
    meter = pole.readings("energy-meter")
    assert meter["active_energy"] - DEFAULT.initial_meter_energy == pytest.approx(0.1204)

    pole.command("target_light_command", 0.0)
    clock.now += 3600.0
    off = pole.readings("led-lamp-controller")
    assert off["active_power"] == pytest.approx(0.4)
    assert off["active_energy"] - after_hour["active_energy"] == pytest.approx(0.0004)
    assert off["operating_hours"] == pytest.approx(after_hour["operating_hours"])


def test_pole_refuses_unknown_models() -> None:
    with pytest.raises(ValueError, match="unknown simulation model 'toaster'"):
        Pole(DEFAULT).readings("toaster")
