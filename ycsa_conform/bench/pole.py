"""The simulated pole's state: the lamp's commands and the counters that grow with time.

Everything else is computed by `physics` at the moment a device is read. The bench's servers
(Modbus TCP and RTU loops, the DL/T 645 meter, the MQTT gateway) run in threads of their own,
so every access takes the pole's lock.

The lamp controller's state is the dimming command, the manual relay state and whether the
photocell decides (automatic mode); `physics.lamp_switched_on` turns them into on or off.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from . import physics
from .physics import PoleSettings

__all__ = ["MODELS", "Pole"]

# The simulation models a bench definition may name, and what each reports.
MODELS = (
    "led-lamp-controller",
    "energy-meter",
    "environment-sensor",
    "tilt-sensor",
    "pole-gateway",
)


class Pole:
    def __init__(
        self,
        settings: PoleSettings,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        # Write requests received per device role, accepted or refused (a Modbus write, an MQTT
        # command, a DL/T 645 frame other than a read): a field-site test proves it stays 0.
        self.writes: collections.Counter[str] = collections.Counter()
        self._clock = clock
        self._monotonic = monotonic
        self._started = monotonic()
        self._last = 0.0  # s since start, when the counters were last brought up to date
        self.target = 100.0  # % dimming command; a lamp controller starts at full output
        self.auto_mode = settings.auto_mode
        self.manual_on = True  # the relay state commanded by hand, used outside automatic mode
        self.lamp_energy = settings.initial_lamp_energy
        self.meter_energy = settings.initial_meter_energy
        self.operating_hours = settings.initial_operating_hours
        self.switch_ons = settings.switch_on_counter
        # Registers the devices let one write: the photocell's switch-on threshold (lx) and
        # the tilt sensor's alarm threshold (deg).
        self.switch_on_illuminance = settings.photocell_threshold
        self.tilt_alarm_threshold = settings.tilt_alarm_threshold
        self._lock = threading.Lock()
        self._on = self._switched_on(0.0)
        self._watchers: list[Callable[[], None]] = []

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed()` after every command and settings update (from the thread that made
        it): the gateway reports a raised or cleared event at once, as field gateways do."""
        self._watchers.append(changed)

    def _changed(self) -> None:
        for changed in self._watchers:
            changed()

    def write_received(self, role: str) -> None:
        """Count a write request to `role`, before it is judged (accepted or refused)."""
        with self._lock:
            self.writes[role] += 1

    def command(self, point: str, value: float | bool) -> None:
        """A write the device accepted."""
        with self._lock:
            self._advance()  # the energy drawn so far was drawn at the old state
            if point == "target_light_command":
                self.target = float(value)
            elif point == "lamp_on":
                # Switching by hand overrides the photocell, as on real controllers.
                self.auto_mode = False
                self.manual_on = bool(value)
            elif point == "auto_mode":
                self.auto_mode = bool(value)
            elif point == "switch_on_illuminance":
                self.switch_on_illuminance = float(value)
            elif point == "tilt_alarm_threshold":
                self.tilt_alarm_threshold = float(value)
            else:
                return
            self._advance()  # counts a switch-on the command caused
        self._changed()

    def update(self, **changes: Any) -> PoleSettings:
        """Change the pole's settings while it runs (a door opens, the evening gets late)."""
        with self._lock:
            self._advance()
            self.settings = dataclasses.replace(self.settings, **changes)
            # The registers those settings start from follow a change of the setting.
            if "photocell_threshold" in changes:
                self.switch_on_illuminance = self.settings.photocell_threshold
            if "tilt_alarm_threshold" in changes:
                self.tilt_alarm_threshold = self.settings.tilt_alarm_threshold
            settings = self.settings
        self._changed()
        return settings

    def readings(self, model: str) -> dict[str, float | bool | str]:
        """The values a device of `model` reports now, in canonical units."""
        with self._lock:
            return self._readings(model)

    def _lamp(self, t: float) -> dict[str, float | bool]:
        return physics.lamp_readings(
            self.settings,
            t=t,
            epoch=self._clock(),
            target=self.target,
            energy=self.lamp_energy,
            hours=self.operating_hours,
            on=self._on,
            auto=self.auto_mode,
            switch_ons=self.switch_ons,
            threshold=self.switch_on_illuminance,
        )

    def _readings(self, model: str) -> dict[str, float | bool | str]:
        t = self._advance()
        s = self.settings
        if model == "led-lamp-controller":
            return {**self._lamp(t)}
        if model == "energy-meter":
            level = physics.output_level(self.target, self._on, s)
            return {**physics.meter_readings(s, t=t, level=level, energy=self.meter_energy)}
        if model == "environment-sensor":
            return {**physics.environment_readings(s, t=t)}
        if model == "tilt-sensor":
            return {**physics.tilt_readings(s, t=t, threshold=self.tilt_alarm_threshold)}
        if model == "pole-gateway":
            # The gateway reports what the pole's devices report (telemetry), its equipment,
            # and the door, water, call-button and tilt alarm states it raises events for.
            threshold = self.tilt_alarm_threshold
            tilt = physics.tilt_readings(s, t=t, threshold=threshold)
            return {
                **physics.environment_readings(s, t=t),
                **tilt,
                **self._lamp(t),
                **physics.equipment_readings(s, t=t),
                "door_open": s.door_open,
                "water_immersion": s.water_immersion,
                "emergency_call": s.emergency_call,
                "tilt_alarm": physics.tilt_alarm(
                    s, float(tilt["tilt_x"]), float(tilt["tilt_y"]), threshold
                ),
                "device_clock": self._clock(),
            }
        raise ValueError(f"unknown simulation model {model!r}; known: {', '.join(MODELS)}")

    def _switched_on(self, t: float) -> bool:
        return physics.lamp_switched_on(
            self.settings,
            t,
            auto=self.auto_mode,
            manual_on=self.manual_on,
            threshold=self.switch_on_illuminance,
        )

    def _advance(self) -> float:
        """Bring the counters and the relay state up to now; return seconds since start.

        The energy since the last update was drawn in the state the lamp was in then; a
        switch-on (by command or photocell) is counted when it is first seen.
        """
        t = self._monotonic() - self._started
        dt = max(0.0, t - self._last)
        level = physics.output_level(self.target, self._on, self.settings)
        power = physics.lamp_power(level, self.settings)
        self.lamp_energy = physics.accumulate_energy(self.lamp_energy, power, dt)
        self.meter_energy = physics.accumulate_energy(self.meter_energy, power, dt)
        if level > 0:
            self.operating_hours += dt / 3600.0
        self._last = t
        on = self._switched_on(t)
        if on and not self._on:
            self.switch_ons += 1
        self._on = on
        return t
