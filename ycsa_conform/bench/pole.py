"""The simulated pole's state: the dimming command and the counters that grow with time.

Everything else is computed by `physics` at the moment a device is read. The bench's servers
(Modbus TCP and RTU loops, the DL/T 645 meter, the MQTT gateway) run in threads of their own,
so every access takes the pole's lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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
        self._clock = clock
        self._monotonic = monotonic
        self._started = monotonic()
        self._last = 0.0  # s since start, when the counters were last brought up to date
        self.target = 100.0  # % dimming command; a lamp controller starts at full output
        self.lamp_energy = settings.initial_lamp_energy
        self.meter_energy = settings.initial_meter_energy
        self.operating_hours = settings.initial_operating_hours
        self._lock = threading.Lock()

    def command(self, point: str, value: float | bool) -> None:
        """A write the device accepted."""
        if point == "target_light_command":
            with self._lock:
                self._advance()  # the energy drawn so far was drawn at the old level
                self.target = float(value)

    def readings(self, model: str) -> dict[str, float | bool]:
        """The values a device of `model` reports now, in canonical units."""
        with self._lock:
            return self._readings(model)

    def _readings(self, model: str) -> dict[str, float | bool]:
        t = self._advance()
        s = self.settings
        if model == "led-lamp-controller":
            return physics.lamp_readings(
                s,
                t=t,
                epoch=self._clock(),
                target=self.target,
                energy=self.lamp_energy,
                hours=self.operating_hours,
            )
        if model == "energy-meter":
            level = physics.light_level(self.target, s)
            return physics.meter_readings(s, t=t, level=level, energy=self.meter_energy)
        if model == "environment-sensor":
            return physics.environment_readings(s, t=t)
        if model == "tilt-sensor":
            return physics.tilt_readings(s, t=t)
        if model == "pole-gateway":
            # The gateway reports what the pole's devices report, as one telemetry message.
            lamp = physics.lamp_readings(
                s,
                t=t,
                epoch=self._clock(),
                target=self.target,
                energy=self.lamp_energy,
                hours=self.operating_hours,
            )
            return {
                **physics.environment_readings(s, t=t),
                **physics.tilt_readings(s, t=t),
                **lamp,
                "device_clock": self._clock(),
            }
        raise ValueError(f"unknown simulation model {model!r}; known: {', '.join(MODELS)}")

    def _advance(self) -> float:
        """Bring the energy and hour counters up to now; return seconds since start."""
        t = self._monotonic() - self._started
        dt = max(0.0, t - self._last)
        level = physics.light_level(self.target, self.settings)
        power = physics.lamp_power(level, self.settings)
        self.lamp_energy = physics.accumulate_energy(self.lamp_energy, power, dt)
        self.meter_energy = physics.accumulate_energy(self.meter_energy, power, dt)
        if level > 0:
            self.operating_hours += dt / 3600.0
        self._last = t
        return t
