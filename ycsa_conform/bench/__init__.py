"""Built-in simulated benches: real protocol servers on local sockets, with physics and faults.

    with Bench.start("smart-pole", faults=["low-power-factor"]) as bench:
        bench.endpoints    # {"modbus_tcp": "127.0.0.1:40213", "modbus_rtu": "/dev/pts/7",
                           #  "dlt645": "/dev/pts/9", "mqtt": "127.0.0.1:41883"}
        bench.site_text    # the bench's site document, pointing at those endpoints

A bench is defined by data (`benches/NAME.yaml`: devices, simulation models, device maps) and
comes with a site template (`benches/NAME.site.yaml`) whose `{modbus_tcp}`, `{modbus_rtu}`,
`{dlt645}`, `{mqtt}`, `{meter_address}` and `{prefix}` placeholders are filled in when it starts
(for a fleet, `poles=N`, the template's one target is cloned once per pole).

Every transport is real: Modbus TCP on a loopback port, Modbus RTU and DL/T 645 on
pseudo-terminal pairs (one RS-485 bus each; socat when it is installed, a pure-Python bridge
otherwise) and MQTT through a broker (mosquitto when it is on PATH, the embedded amqtt broker
otherwise).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

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

__all__ = ["FAULTS", "MAX_POLES", "Bench", "Fault", "list_benches"]


class Bench:
    """A running bench. Build it with `Bench.start`; `stop()` may be called any number of times.

    `poles` holds each simulated pole's endpoints; `endpoints` and `pole` are the first pole's
    (a one-pole bench is the common case).
    """

    def __init__(
        self,
        *,
        definition: BenchDefinition,
        faults: tuple[Fault, ...],
        fleet: Sequence[Pole],
        poles: Sequence[Mapping[str, str]],
        stack: contextlib.ExitStack,
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.faults = tuple(f.name for f in faults)
        self.fleet = tuple(fleet)
        self.pole = self.fleet[0]
        self.poles = [dict(p) for p in poles]
        self._stack = stack
        self.endpoints = {k: v for k, v in self.poles[0].items() if k in _ENDPOINT_KEYS}
        self.site_path: Path = definition.site_path
        template = self.site_path.read_text(encoding="utf-8")
        if len(self.poles) == 1:
            self.site_text = _fill(template, self.poles[0])
        else:
            self.site_text = _fleet_site(template, self.poles, maps_from=None)

    @classmethod
    def start(
        cls,
        name: str = "smart-pole",
        *,
        faults: Sequence[str] = (),
        broker: str = "auto",
        poles: int = 1,
    ) -> Bench:
        """Start the built-in bench `name` with the named faults injected into every pole.

        `broker` picks the MQTT broker: "auto" (mosquitto if on PATH), "mosquitto", "embedded".
        `poles` simulates a fleet: each pole has its own Modbus TCP port and RS-485 bus, its own
        meter address on a shared DL/T 645 line, and its own topic prefix on the shared broker.
        """
        if isinstance(faults, str):
            raise TypeError(f"faults= takes a list of names, like [{faults!r}]")
        if not 1 <= poles <= MAX_POLES:
            raise ValueError(f"poles={poles}: a bench simulates 1 to {MAX_POLES} poles")
        chosen = resolve_faults(faults)  # before anything starts
        definition = load_bench(bench_path(name))
        model, settings = _simulation(definition.simulation)
        fleet = [
            model(
                dataclasses.replace(apply_faults(settings, chosen), seed=f"kunming-{_pole_id(k)}")
            )
            for k in range(1, poles + 1)
        ]
        stack = contextlib.ExitStack()
        try:
            endpoints = _start_servers(definition.devices, fleet, stack, broker=broker)
            return cls(
                definition=definition, faults=chosen, fleet=fleet, poles=endpoints, stack=stack
            )
        except BaseException:
            stack.close()
            raise

    def write_site(self, path: Path) -> Path:
        """A site file for this running bench at `path`, usable from any directory."""
        template = self.site_path.read_text(encoding="utf-8")
        text = _fleet_site(template, self.poles, maps_from=self.site_path.parent)
        path.write_text(text, encoding="utf-8")
        return path

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
        fleet = f" poles={len(self.poles)}" if len(self.poles) > 1 else ""
        return f"<Bench {self.name} {self.endpoints}{fleet}{faults}>"


MAX_POLES = 200


def _simulation(kind: str) -> tuple[Any, Any]:
    """The simulation class of a bench and its default settings."""
    if kind == "community":
        from .community import Community, CommunitySettings

        return Community, CommunitySettings()
    return Pole, PoleSettings()


_ENDPOINT_KEYS = ("modbus_tcp", "modbus_rtu", "dlt645", "mqtt")


def _pole_id(k: int) -> str:
    return f"P{k:03d}"


def _fill(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _fleet_site(
    template: str, poles: Sequence[Mapping[str, str]], *, maps_from: Path | None
) -> str:
    """The site document with one target per pole, cloned from the template's one target.

    With `maps_from`, the paths it names (device maps, records, the photometric file, the
    evidence file) become absolute, so the file works from anywhere.
    """
    document = yaml.safe_load(template)  # placeholders sit inside strings: YAML keeps them
    [target] = document["targets"]
    targets = []
    for values in poles:
        clone = _fill_all(copy.deepcopy(target), values)
        clone["id"] = values["pole"]
        clone["title"] = {
            "en": f"Simulated pole {values['pole']}",
            "zh": f"仿真灯杆 {values['pole']}",
        }
        if maps_from is not None:
            for device in clone.get("devices", {}).values():
                device["map"] = str((maps_from / device["map"]).resolve())
            records = clone.get("records", {})
            for name, file in records.items():
                records[name] = str((maps_from / file).resolve())
            design = clone.get("design", {})
            if "photometric_file" in design:
                design["photometric_file"] = str((maps_from / design["photometric_file"]).resolve())
        targets.append(clone)
    document["targets"] = targets
    if maps_from is not None and "evidence" in document:
        document["evidence"] = str((maps_from / document["evidence"]).resolve())
    header = (
        f"# Site of a running ycsa-conform bench ({len(poles)} simulated pole(s)); "
        "valid while the bench runs.\n"
    )
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _fill_all(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return _fill(node, values)
    if isinstance(node, dict):
        return {k: _fill_all(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill_all(v, values) for v in node]
    return node


def _identity(device: SimulatedDevice, k: int) -> SimulatedDevice:
    """`device` as fitted to pole k: its own meter address and topic prefix."""
    address = f"{int(device.address) + k - 1:012d}" if device.address else ""
    prefix = device.prefix.replace("{pole}", _pole_id(k))
    return dataclasses.replace(device, address=address, prefix=prefix)


def _start_servers(
    devices: Sequence[SimulatedDevice],
    fleet: Sequence[Pole],
    stack: contextlib.ExitStack,
    *,
    broker: str,
) -> list[dict[str, str]]:
    """Start the servers of every pole; each is stopped by `stack`. Returns their endpoints."""
    transports = {d.transport for d in devices}
    poles: list[dict[str, str]] = []
    line = None
    running = None
    if "modbus-rtu" in transports or "dlt645" in transports:
        from .pty import PtyPair  # serial only when a bench has a serial device
    if "dlt645" in transports:
        # One DL/T 645 line for the fleet, as meters share a bus in a distribution cabinet.
        line = stack.enter_context(PtyPair.open())
    if "mqtt" in transports:
        from .broker import start_broker

        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ycsa-bench-")))
        running = stack.enter_context(start_broker(kind=broker, directory=folder))
    for k, pole in enumerate(fleet, start=1):
        fitted = [_identity(d, k) for d in devices]
        endpoints = {"pole": _pole_id(k)}
        if "modbus-tcp" in transports:
            tcp = ModbusBench(fitted, pole, transport="modbus-tcp")
            endpoints["modbus_tcp"] = tcp.start()
            stack.callback(tcp.stop)
        if "modbus-rtu" in transports:
            bus = stack.enter_context(PtyPair.open())
            rtu = ModbusBench(fitted, pole, transport="modbus-rtu", serial_path=bus.bench_path)
            rtu.start()
            stack.callback(rtu.stop)
            endpoints["modbus_rtu"] = bus.device_path
        if line is not None:
            _start_meters(fitted, pole, stack, line.bench_path)
            endpoints["dlt645"] = line.device_path
        if running is not None:
            _start_gateways(fitted, pole, stack, running.host, running.port)
            endpoints["mqtt"] = f"{running.host}:{running.port}"
        for device in fitted:
            if device.address:
                endpoints["meter_address"] = device.address
            if device.prefix:
                endpoints["prefix"] = device.prefix
        poles.append(endpoints)
    return poles


def _start_meters(
    devices: Sequence[SimulatedDevice], pole: Pole, stack: contextlib.ExitStack, path: str
) -> None:
    from .meter645 import SimMeter645

    for device in (d for d in devices if d.transport == "dlt645"):
        meter = SimMeter645(
            path, address=device.address, devicemap=device.devicemap, values=_values(pole, device)
        )
        configure_meter(meter, device.role, pole.settings)
        meter.start()
        stack.callback(meter.stop)


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


def _start_gateways(
    devices: Sequence[SimulatedDevice],
    pole: Pole,
    stack: contextlib.ExitStack,
    host: str,
    port: int,
) -> None:
    from .gateway import SimGateway

    def command(payload: Mapping[str, Any]) -> str:
        if "dimming" in payload:
            pole.command("target_light_command", float(payload["dimming"]))
        return "ok"

    for device in (d for d in devices if d.transport == "mqtt"):
        gateway = SimGateway(
            host,
            port,
            prefix=device.prefix,
            values=functools.partial(pole.readings, device.model),
            on_command=command,
            devicemap=device.devicemap,
            pole=pole if isinstance(pole, Pole) else None,
        )
        configure_gateway(gateway, device.role, pole.settings)
        gateway.start()
        stack.callback(gateway.stop)
