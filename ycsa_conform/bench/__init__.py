"""Built-in simulated benches: real protocol servers on local sockets, with physics and faults.

    with Bench.start("smart-pole", faults=["low-power-factor"]) as bench:
        bench.endpoints    # {"modbus_tcp": "127.0.0.1:40213", "modbus_rtu": "/dev/pts/7",
                           #  "dlt645": "/dev/pts/9", "mqtt": "127.0.0.1:41883"}
        bench.site_text    # the bench's site document, pointing at those endpoints

A bench is defined by data (`benches/NAME.yaml`: devices, simulation models, device maps) and
comes with a site template (`benches/NAME.site.yaml`) whose `{modbus_tcp}`, `{modbus_rtu}`,
`{dlt645}` and `{mqtt}` placeholders are filled in when it starts. Every transport is real:
Modbus TCP on a loopback port, Modbus RTU and DL/T 645 on pseudo-terminal pairs (one RS-485
bus each; socat when it is installed, a pure-Python bridge otherwise) and MQTT through a broker
(mosquitto when it is on PATH, the embedded amqtt broker otherwise).
"""

from __future__ import annotations

import contextlib
import functools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from .definition import BenchDefinition, SimulatedDevice, bench_path, list_benches, load_bench
from .fault import (
    FAULTS,
    Fault,
    apply_faults,
    configure_gateway,
    configure_meter,
    resolve_faults,
)
from .modbus import ModbusBench
from .physics import PoleSettings
from .pole import Pole

__all__ = ["FAULTS", "Bench", "Fault", "list_benches"]


class Bench:
    """A running bench. Build it with `Bench.start`; `stop()` may be called any number of times."""

    def __init__(
        self,
        *,
        definition: BenchDefinition,
        faults: tuple[Fault, ...],
        pole: Pole,
        endpoints: Mapping[str, str],
        stack: contextlib.ExitStack,
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.faults = tuple(f.name for f in faults)
        self.pole = pole
        self._stack = stack
        self.endpoints = dict(endpoints)
        self.site_path: Path = definition.site_path
        text = self.site_path.read_text(encoding="utf-8")
        for key, value in self.endpoints.items():
            text = text.replace("{" + key + "}", value)
        self.site_text = text

    @classmethod
    def start(
        cls, name: str = "smart-pole", *, faults: Sequence[str] = (), broker: str = "auto"
    ) -> Bench:
        """Start the built-in bench `name` with the named faults injected.

        `broker` picks the MQTT broker: "auto" (mosquitto if on PATH), "mosquitto", "embedded".
        """
        if isinstance(faults, str):
            raise TypeError(f"faults= takes a list of names, like [{faults!r}]")
        chosen = resolve_faults(faults)  # before anything starts
        definition = load_bench(bench_path(name))
        pole = Pole(apply_faults(PoleSettings(), chosen))
        stack = contextlib.ExitStack()
        try:
            endpoints = _start_servers(definition.devices, pole, stack, broker=broker)
            return cls(
                definition=definition, faults=chosen, pole=pole, endpoints=endpoints, stack=stack
            )
        except BaseException:
            stack.close()
            raise

    def stop(self) -> None:
        self._stack.close()

    def __enter__(self) -> Bench:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        faults = f" faults={list(self.faults)}" if self.faults else ""
        return f"<Bench {self.name} {self.endpoints}{faults}>"


def _start_servers(
    devices: Sequence[SimulatedDevice], pole: Pole, stack: contextlib.ExitStack, *, broker: str
) -> dict[str, str]:
    """Start one server per transport the devices use; each is stopped by `stack`."""
    endpoints: dict[str, str] = {}
    transports = {d.transport for d in devices}
    if "modbus-tcp" in transports:
        tcp = ModbusBench(devices, pole, transport="modbus-tcp")
        endpoints["modbus_tcp"] = tcp.start()
        stack.callback(tcp.stop)
    if "modbus-rtu" in transports or "dlt645" in transports:
        from .pty import PtyPair  # serial only when a bench has a serial device

        if "modbus-rtu" in transports:
            bus = stack.enter_context(PtyPair.open())
            rtu = ModbusBench(devices, pole, transport="modbus-rtu", serial_path=bus.bench_path)
            rtu.start()
            stack.callback(rtu.stop)
            endpoints["modbus_rtu"] = bus.device_path
        if "dlt645" in transports:
            from .meter645 import SimMeter645

            line = stack.enter_context(PtyPair.open())
            for device in (d for d in devices if d.transport == "dlt645"):
                meter = SimMeter645(
                    line.bench_path,
                    address=device.address,
                    devicemap=device.devicemap,
                    values=_values(pole, device),
                )
                configure_meter(meter, device.role, pole.settings)
                meter.start()
                stack.callback(meter.stop)
            endpoints["dlt645"] = line.device_path
    if "mqtt" in transports:
        endpoints["mqtt"] = _start_mqtt(devices, pole, stack, broker=broker)
    return endpoints


def _values(pole: Pole, device: SimulatedDevice) -> Any:
    """values(point) in the device map's unit, from the pole's canonical readings."""
    from ycsa_conform.point import POINTS
    from ycsa_conform.units import parse_unit, ureg

    def value(point: str) -> float:
        reading = pole.readings(device.model)[point]
        unit = device.devicemap.points[point].unit
        canonical = POINTS[point].unit
        if isinstance(reading, bool) or unit is None or canonical in ("flag", "text"):
            return float(reading)
        return float(ureg.Quantity(reading, parse_unit(canonical)).to(unit).magnitude)

    return value


def _start_mqtt(
    devices: Sequence[SimulatedDevice], pole: Pole, stack: contextlib.ExitStack, *, broker: str
) -> str:
    from .broker import start_broker
    from .gateway import SimGateway

    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ycsa-bench-")))
    running = stack.enter_context(start_broker(kind=broker, directory=folder))
    for device in (d for d in devices if d.transport == "mqtt"):

        def command(payload: Mapping[str, Any]) -> str:
            if "dimming" in payload:
                pole.command("target_light_command", float(payload["dimming"]))
            return "ok"

        gateway = SimGateway(
            running.host,
            running.port,
            prefix=device.prefix,
            values=functools.partial(pole.readings, device.model),
            on_command=command,
            devicemap=device.devicemap,
        )
        configure_gateway(gateway, device.role, pole.settings)
        gateway.start()
        stack.callback(gateway.stop)
    return f"{running.host}:{running.port}"
