"""The pole's physics: one state shared by every simulated device, and what each one reads.

Every number the devices report is derived here, so the hand calculations in
tests/foreign/README.md follow these formulas line by line:

    relay      closed by hand (relay register 1), or in photocell mode when the ambient
               illuminance is below the switch-on threshold
    P_lamp     = P_standby + (P_no_load + P_led × level / 100  if the relay is closed)
    Q_lamp     = Q_filter  if the relay is closed (the driver's EMI capacitor), else 0
    S_lamp     = √(P_lamp² + Q_lamp²)
    PF_lamp    = P_lamp / S_lamp, rounded to 0.001; 1.000 when the relay is open (the
                 controller's metering chip reports 1.000 below its load-current threshold)
    I_lamp     = S_lamp / U_controller, rounded to 1 mA
    light      = level × 0.996, in 0.1 % (the driver's output calibration), 0 when open
    P_meter    = P_lamp + P_aux (camera and router on the same feeder, unity power factor)
    S_meter    = √(P_meter² + Q_lamp²), PF_meter = P_meter / S_meter, I_meter = S_meter / U_meter
    tilt       resultant = √(x² + y²); the gateway raises tilt_alarm above the threshold
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Pole", "Reading", "Settings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What the pole is and how it is set; tests replace fields to break it on purpose."""

    # Supply (stiff): the meter and the controller each read it with their own calibration.
    meter_voltage: float = 226.4  # V
    controller_voltage: float = 225.9  # V
    frequency: float = 50.02  # Hz
    aux_power: float = 47.96  # W, camera and router on the meter's feeder, PF 1
    meter_energy: float = 5678.91  # kWh, forward active energy total
    # Lamp controller CS-LC300 with a 150 W LED driver.
    level: int = 100  # % dimming command
    relay: bool = True  # relay register (manual mode); photocell decides in auto mode
    auto: bool = True  # photocell mode
    switch_on_lux: int = 25  # lx, photocell switch-on threshold
    standby_power: float = 0.32  # W, the controller itself (radio, metering, relay coil)
    driver_no_load: float = 6.0  # W, driver losses while energised
    led_power: float = 144.0  # W at 100 %, proportional to the level
    filter_var: float = 25.0  # var, driver EMI capacitor while energised
    light_ratio: float = 0.996  # the driver's actual output over the command
    energy_wh: int = 1_234_567  # Wh, updated by the firmware every 15 min (static here)
    hours_tenths: int = 18_342  # 0.1 h
    switch_ons: int = 412
    clock_offset: float = 1.0  # s, the controller's clock runs ahead of UTC
    lamp_failure: bool = False
    driver_failure: bool = False
    # Broken variants: the power factor register holds a NaN (a metering chip fault).
    pf_nan: bool = False
    # Environment sensor CS-EV6 (a Kunming night).
    illuminance: float = 4.2  # lx
    temperature: float = 12.5  # degC
    humidity: float = 68.0  # %
    pm2_5: int = 18  # µg/m³
    pm10: int = 35  # µg/m³
    wind_speed: float = 2.40  # m/s
    noise: float = 46.5  # dB(A)
    # Tilt sensor CS-TS2, in milliradians (1 mrad = 1 ‰ of slope).
    tilt_x: float = 0.80
    tilt_y: float = -1.10
    vibration: float = 0.3  # mm/s RMS
    tilt_threshold: float = 4.00  # mrad; the gateway raises tilt_alarm above it


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """Everything the devices report at one moment, derived from Settings."""

    settings: Settings
    relay_closed: bool
    lamp_power: float  # W
    lamp_reactive: float  # var
    lamp_pf: float
    lamp_current: float  # A
    light: float  # %
    meter_power: float  # W
    meter_pf: float
    meter_current: float  # A
    tilt_resultant: float  # mrad
    clock: float  # s since 1970, the controller's clock

    @property
    def tilt_alarm(self) -> bool:
        return self.tilt_resultant > self.settings.tilt_threshold


def derive(s: Settings, now: float) -> Reading:
    closed = (s.illuminance < s.switch_on_lux) if s.auto else s.relay
    power = s.standby_power + ((s.driver_no_load + s.led_power * s.level / 100) if closed else 0.0)
    reactive = s.filter_var if closed else 0.0
    apparent = math.hypot(power, reactive)
    meter_power = power + s.aux_power
    meter_apparent = math.hypot(meter_power, reactive)
    return Reading(
        settings=s,
        relay_closed=closed,
        lamp_power=power,
        lamp_reactive=reactive,
        lamp_pf=round(power / apparent, 3) if closed else 1.0,
        lamp_current=round(apparent / s.controller_voltage, 3),
        light=round(s.level * s.light_ratio, 1) if closed else 0.0,
        meter_power=meter_power,
        meter_pf=meter_power / meter_apparent,
        meter_current=meter_apparent / s.meter_voltage,
        tilt_resultant=math.hypot(s.tilt_x, s.tilt_y),
        clock=now + s.clock_offset,
    )


class Pole:
    """The shared state. Devices call `read()` and the write methods; tests call `set()`."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._lock = threading.Lock()
        self._initial = settings or Settings()
        self._settings = self._initial

    @property
    def settings(self) -> Settings:
        with self._lock:
            return self._settings

    def read(self) -> Reading:
        with self._lock:
            return derive(self._settings, time.time())

    def set(self, **changes: Any) -> None:
        with self._lock:
            self._settings = dataclasses.replace(self._settings, **changes)

    def reset(self) -> None:
        with self._lock:
            self._settings = self._initial

    # -- what the controller's firmware does on a write ---------------------------------------

    def write_relay(self, closed: bool) -> None:
        """A relay write switches by hand: it leaves photocell mode (CS-LC300 manual 4.3)."""
        self.set(relay=closed, auto=False)

    def write_mode(self, auto: bool) -> None:
        """Back to photocell mode; in manual mode the relay keeps the photocell's last state."""
        with self._lock:
            s = self._settings
            closed = (s.illuminance < s.switch_on_lux) if s.auto else s.relay
            self._settings = dataclasses.replace(s, auto=auto, relay=closed)
