"""Built-in simulated benches: real protocol servers on local sockets, with physics and faults.

    with Bench.start("smart-pole", faults=["low-power-factor"]) as bench:
        bench.endpoints    # {"modbus_tcp": "127.0.0.1:40213", "modbus_rtu": "/dev/pts/7",
                           #  "dlt645": "/dev/pts/9", "mqtt": "127.0.0.1:41883"}
        bench.site_text    # the bench's site document, pointing at those endpoints

A bench is defined by data (`benches/NAME.yaml`: devices, simulation models, device maps) and
comes with a site template (`benches/NAME.site.yaml`) whose `{modbus_tcp}`, `{modbus_rtu}`,
`{dlt645}`, `{mqtt}`, `{meter_address}` and `{prefix}` placeholders are filled in when it starts
(for a fleet, `poles=N`, the template's one target is cloned once per pole).

A bench may include others (`includes:` in its definition): the smart-community bench runs
the community C001 (its subsystems' gateways) and one smart pole P001 (the smart-pole bench's
servers), on one broker. Its site has both targets, and one evidence file that merges both
benches' evidence, written to a temporary folder for as long as the bench runs. `faults=` may
name faults of either bench; each goes to the bench it is for.

Every transport is real: Modbus TCP on a loopback port, Modbus RTU and DL/T 645 on
pseudo-terminal pairs (one RS-485 bus each; socat when it is installed, a pure-Python bridge
otherwise) and MQTT through a broker (mosquitto when it is on PATH, the embedded broker of
`bench/mqtt_server.py` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import functools
import tempfile
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import yaml

from .community import Community
from .definition import BenchDefinition, SimulatedDevice, bench_path, list_benches, load_bench
from .fault import (
    FAULTS,
    Fault,
    apply_faults,
    configure_gateway,
    configure_meter,
    count_meter_writes,
    resolve_faults,
)
from .modbus import ModbusBench
from .physics import PoleSettings
from .pole import Pole

if TYPE_CHECKING:
    from .gateway import SimGateway
    from .hub import GatewayHub
    from .loop import SharedLoop

__all__ = ["BUS_POLES", "FAULTS", "MAX_POLES", "Bench", "Fault", "list_benches"]


class Bench:
    """A running bench. Build it with `Bench.start`; `stop()` may be called any number of times.

    `poles` holds each simulated pole's endpoints; `endpoints` and `pole` are the first pole's
    (a one-pole bench is the common case). A community bench also has `community` (the
    simulation) and `community_endpoints` (its id, broker and a topic prefix); its `poles` are
    the poles it includes.
    """

    def __init__(
        self,
        *,
        definition: BenchDefinition,
        faults: tuple[Fault, ...],
        fleet: Sequence[Pole],
        poles: Sequence[Mapping[str, str]],
        stack: contextlib.ExitStack,
        community: Community | None = None,
        community_endpoints: Mapping[str, str] | None = None,
        included: Sequence[tuple[BenchDefinition, Mapping[str, str]]] = (),
        evidence: Path | None = None,
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.faults = tuple(f.name for f in faults)
        self.fleet = tuple(fleet)
        self.pole = self.fleet[0]
        self.poles = [dict(p) for p in poles]
        self.community = community
        self.community_endpoints = dict(community_endpoints or {})
        self._included = tuple((d, dict(e)) for d, e in included)
        self._evidence = evidence
        self._stack = stack
        self.endpoints = {k: v for k, v in self.poles[0].items() if k in _ENDPOINT_KEYS}
        self.site_path: Path = definition.site_path
        template = self.site_path.read_text(encoding="utf-8")
        if community is not None:
            self.site_text = self._community_site(maps_from=None)
        elif len(self.poles) == 1:
            self.site_text = _fill(template, self.poles[0])
        else:
            self.site_text = _fleet_site(
                template, self.poles, maps_from=None, devices=definition.devices
            )

    def writes(self) -> dict[str, dict[str, int]]:
        """Write requests each pole's devices received, by device role (`Pole.writes`): a
        Modbus write, an MQTT command, a DL/T 645 frame other than a read, accepted or not."""
        ids = [p.get("pole", f"pole {k}") for k, p in enumerate(self.poles, 1)]
        return {i: dict(pole.writes) for i, pole in zip(ids, self.fleet, strict=False)}

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
        A community bench simulates one community (and the one pole it includes).
        """
        if isinstance(faults, str):
            raise TypeError(f"faults= takes a list of names, like [{faults!r}]")
        definition = load_bench(bench_path(name))
        if definition.simulation == "community" and poles != 1:
            raise ValueError(
                f"the {name} bench simulates one community; --bench-poles applies to the "
                "smart-pole bench"
            )
        if not 1 <= poles <= MAX_POLES:
            raise ValueError(f"poles={poles}: a bench simulates 1 to {MAX_POLES} poles")
        chosen = resolve_faults(faults)  # before anything starts
        included = [load_bench(bench_path(n)) for n in definition.includes]
        # Each fault goes to the bench it is for; one of neither is refused by apply_faults.
        theirs = {d.name: [f for f in chosen if f.bench == d.name] for d in included}
        own = [f for f in chosen if f.bench not in theirs]
        fleet = _fleet(definition, own, poles)  # settings checked before anything starts
        members = [(d, _fleet(d, theirs[d.name], 1)[0]) for d in included]
        stack = contextlib.ExitStack()
        try:
            every = [*definition.devices, *(dev for d, _ in members for dev in d.devices)]
            brokers = (
                _start_brokers(stack, broker, poles=len(fleet))
                if any(d.transport == "mqtt" for d in every)
                else []
            )
            mqtt = brokers[0] if brokers else None
            endpoints = _start_servers(definition.devices, fleet, stack, mqtt=mqtt, brokers=brokers)
            if not isinstance(fleet[0], Community):
                return cls(
                    definition=definition, faults=chosen, fleet=fleet, poles=endpoints, stack=stack
                )
            member_endpoints = [
                (d, _start_servers(d.devices, [member], stack, mqtt=mqtt)[0])
                for d, member in members
            ]
            evidence = _merged_evidence(stack, definition, endpoints[0]["pole"], member_endpoints)
            return cls(
                definition=definition,
                faults=chosen,
                fleet=[m for _, m in members if isinstance(m, Pole)],
                poles=[e for _, e in member_endpoints],
                stack=stack,
                community=fleet[0],
                community_endpoints=endpoints[0],
                included=member_endpoints,
                evidence=evidence,
            )
        except BaseException:
            stack.close()
            raise

    def write_site(self, path: Path) -> Path:
        """A site file for this running bench at `path`, usable from any directory."""
        if self.community is not None:
            text = self._community_site(maps_from=self.site_path.parent)
        else:
            template = self.site_path.read_text(encoding="utf-8")
            text = _fleet_site(
                template,
                self.poles,
                maps_from=self.site_path.parent,
                devices=self.definition.devices,
            )
        path.write_text(text, encoding="utf-8")
        return path

    def _community_site(self, *, maps_from: Path | None) -> str:
        return community_site_text(
            self.definition,
            self.community_endpoints,
            self._included,
            evidence=self._evidence,
            maps_from=maps_from,
        )

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


MAX_POLES = 1000
# Poles per road bus in a fleet: their lamp controllers on one RS-485 bus (units 1..16) and
# their meters on one DL/T 645 line, each behind a serial server in the road's distribution
# cabinet. 16 is well inside RS-485's 32 unit loads and the 32 addresses of a 645 line.
BUS_POLES = 16


def _simulation(kind: str) -> tuple[Any, Any]:
    """The simulation class of a bench and its default settings."""
    if kind == "community":
        from .community import CommunitySettings

        return Community, CommunitySettings()
    return Pole, PoleSettings()


def _fleet(definition: BenchDefinition, faults: Sequence[Fault], count: int) -> list[Any]:
    """`count` simulations of the bench's kind with `faults`, each seeded by its member id."""
    model, settings = _simulation(definition.simulation)
    settings = apply_faults(settings, faults)
    return [
        model(dataclasses.replace(settings, seed=f"kunming-{_member_id(model, k)}"))
        for k in range(1, count + 1)
    ]


_ENDPOINT_KEYS = ("modbus_tcp", "modbus_rtu", "dlt645", "mqtt")


def _member_id(model: type[Pole | Community] | Pole | Community, k: int) -> str:
    """P001, P002... for poles; C001 for a community."""
    community = model is Community or isinstance(model, Community)
    return f"{'C' if community else 'P'}{k:03d}"


def _pole_id(k: int) -> str:
    return _member_id(Pole, k)


def community_site_text(
    definition: BenchDefinition,
    community_endpoints: Mapping[str, str],
    included: Sequence[tuple[BenchDefinition, Mapping[str, str]]],
    *,
    evidence: Path | None = None,
    maps_from: Path | None = None,
) -> str:
    """The site of a community bench: the community's target, then each included bench's
    (their paths always absolute), with the endpoints given (a running bench's, or stand-ins
    for the design data alone, as `ycsa-conform loads --bench smart-community` uses).

    Parameters: the included benches' templates', updated by the community template's.
    """
    document = yaml.safe_load(definition.site_path.read_text(encoding="utf-8"))
    # Design values the included poles have as fitted in this bench (the definition's).
    pole_design = dict(definition.pole_design)
    [target] = document["targets"]
    target = _fill_all(target, community_endpoints)
    if maps_from is not None:
        _make_absolute(target, maps_from)
    targets = [target]
    parameters: dict[str, Any] = {}
    for member_definition, endpoints in included:
        text = member_definition.site_path.read_text(encoding="utf-8")
        [member] = yaml.safe_load(text)["targets"]
        member = _fill_all(member, endpoints)
        member["id"] = endpoints["pole"]
        member.setdefault("design", {}).update(pole_design)
        _make_absolute(member, member_definition.site_path.parent)
        targets.append(member)
        parameters.update(yaml.safe_load(text).get("parameters") or {})
    parameters.update(document.get("parameters") or {})
    if parameters:
        document["parameters"] = parameters
    document["targets"] = targets
    if evidence is not None:
        document["evidence"] = str(evidence)
    ids = " and ".join(str(t["id"]) for t in targets)
    header = f"# Site of a running ycsa-conform bench ({ids}); valid while the bench runs.\n"
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _make_absolute(target: dict[str, Any], folder: Path) -> None:
    """The paths a site target names (device maps, records, photometric file), absolute."""
    devices = list(target.get("devices", {}).values())
    for subsystem in target.get("subsystems", {}).values():
        devices.extend(subsystem.get("devices", {}).values())
    for device in devices:
        device["map"] = str((folder / device["map"]).resolve())
    records = target.get("records", {})
    for name, file in records.items():
        records[name] = str((folder / file).resolve())
    design = target.get("design", {})
    for key in ("photometric_file", "road_surface_table"):
        if key in design:
            design[key] = str((folder / design[key]).resolve())


def _merged_evidence(
    stack: contextlib.ExitStack,
    definition: BenchDefinition,
    target: str,
    included: Sequence[tuple[BenchDefinition, Mapping[str, str]]],
) -> Path | None:
    """One evidence file for the bench and the benches it includes, in a temporary folder.

    Each bench's entries are for its own target (unless an entry names one), their files
    absolute; the folder goes when the bench stops.
    """
    sources = [(definition, target), *((d, e["pole"]) for d, e in included)]
    entries: list[dict[str, Any]] = []
    for bench, member in sources:
        site = yaml.safe_load(bench.site_path.read_text(encoding="utf-8"))
        if "evidence" not in site:
            continue
        path = (bench.site_path.parent / site["evidence"]).resolve()
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["evidence"]:
            entry = {"item": raw["item"], "target": member, **raw}
            entry["files"] = [str((path.parent / f).resolve()) for f in raw["files"]]
            entries.append(entry)
    if not entries:
        return None
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ycsa-bench-evidence-")))
    merged = folder / f"{definition.name}.evidence.yaml"
    document = {"site": f"bench-{definition.name}", "evidence": entries}
    header = (
        f"# Evidence of the running {definition.name} bench: the simulated evidence of "
        f"{', '.join(str(b.path.name) for b, _ in sources)} merged.\n"
    )
    merged.write_text(
        header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return merged


def _fill(text: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def _fleet_site(
    template: str,
    poles: Sequence[Mapping[str, str]],
    *,
    maps_from: Path | None,
    devices: Sequence[SimulatedDevice] = (),
) -> str:
    """The site document with one target per pole, cloned from the template's one target;
    for a fleet, its serial `devices` reached through their road's serial servers.

    With `maps_from`, the paths it names (device maps, records, the photometric file, the
    evidence file) become absolute, so the file works from anywhere.
    """
    document = yaml.safe_load(template)  # placeholders sit inside strings: YAML keeps them
    [target] = document["targets"]
    targets = []
    for k, values in enumerate(poles, start=1):
        clone = _fill_all(copy.deepcopy(target), values)
        clone["id"] = values["pole"]
        if len(poles) > 1:
            _through_serial_servers(clone, devices, values, k)
        clone["title"] = {
            "en": f"Simulated pole {values['pole']}",
            "zh": f"仿真灯杆 {values['pole']}",
        }
        if maps_from is not None:
            _make_absolute(clone, maps_from)
        targets.append(clone)
    document["targets"] = targets
    if maps_from is not None and "evidence" in document:
        document["evidence"] = str((maps_from / document["evidence"]).resolve())
    header = (
        f"# Site of a running ycsa-conform bench ({len(poles)} simulated pole(s)); "
        "valid while the bench runs.\n"
    )
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _through_serial_servers(
    target: dict[str, Any],
    devices: Sequence[SimulatedDevice],
    values: Mapping[str, str],
    k: int,
) -> None:
    """Point pole k's serial devices at its road's serial servers (see `_start_district`): a
    lamp controller becomes unit 1..16 of the RS-485 bus, a meter an address on the 645 line."""
    for device in devices:
        entry = target.get("devices", {}).get(device.role)
        if entry is None:
            continue
        if device.transport == "modbus-rtu":
            unit = (k - 1) % BUS_POLES + 1
            entry["uri"] = f"modbus-rtu-tcp://{values['modbus_rtu']}?unit={unit}"
        elif device.transport == "dlt645":
            address = _identity(device, values["pole"], k).address
            entry["uri"] = f"dlt645-tcp://{values['dlt645']}?address={address}"


def _fill_all(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return _fill(node, values)
    if isinstance(node, dict):
        return {k: _fill_all(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill_all(v, values) for v in node]
    return node


def _identity(device: SimulatedDevice, member: str, k: int) -> SimulatedDevice:
    """`device` as fitted to member k (id `member`): its own meter address and topic prefix."""
    address = f"{int(device.address) + k - 1:012d}" if device.address else ""
    prefix = device.prefix.replace("{pole}", member)
    return dataclasses.replace(device, address=address, prefix=prefix)


# Gateways per embedded broker in a fleet, each broker a process of its own. amqtt, the embedded
# broker before 0.7, carrying 1,000 fell seconds behind and needed one per 200; ours carries a
# whole 1,000-pole fleet (README, Performance).
_EMBEDDED_GATEWAYS = 1000


def _start_brokers(stack: contextlib.ExitStack, kind: str, *, poles: int) -> list[tuple[str, int]]:
    """Start the bench's broker, stopped by `stack`: their hosts and ports. One, except for a
    fleet on the embedded broker, which gets one per `_EMBEDDED_GATEWAYS` poles, each in a
    process of its own (a district may well have several brokers)."""
    from .broker import broker_kind, start_broker

    fleet = poles > 1
    embedded = broker_kind(kind) == "embedded"
    count = -(-poles // _EMBEDDED_GATEWAYS) if fleet and embedded else 1
    brokers = []
    for _ in range(count):
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ycsa-bench-")))
        running = stack.enter_context(start_broker(kind=kind, directory=folder, own_process=fleet))
        brokers.append((running.host, running.port))
    return brokers


def _start_servers(
    devices: Sequence[SimulatedDevice],
    fleet: Sequence[Pole | Community],
    stack: contextlib.ExitStack,
    *,
    mqtt: tuple[str, int] | None,
    brokers: Sequence[tuple[str, int]] = (),
) -> list[dict[str, str]]:
    """Start the servers of every member; each is stopped by `stack`. Returns their endpoints.

    MQTT devices publish on the broker at `mqtt`, started by the caller.
    """
    transports = {d.transport for d in devices}
    poles: list[dict[str, str]] = []
    line = None
    if "mqtt" in transports and mqtt is None:
        raise ValueError("a bench with MQTT devices needs a broker; give mqtt=(host, port)")
    if len(fleet) > 1 and all(isinstance(p, Pole) for p in fleet):
        return _start_district(
            devices, [p for p in fleet if isinstance(p, Pole)], stack, brokers or [mqtt]
        )
    if "modbus-rtu" in transports or "dlt645" in transports:
        from .pty import PtyPair  # serial only when a bench has a serial device
    if "dlt645" in transports:
        # One DL/T 645 line for the fleet, as meters share a bus in a distribution cabinet.
        line = stack.enter_context(PtyPair.open())
    for k, pole in enumerate(fleet, start=1):
        member = _member_id(pole, k)
        fitted = [_identity(d, member, k) for d in devices]
        endpoints = {"pole": member}
        if "modbus-tcp" in transports:
            assert isinstance(pole, Pole), "Modbus devices simulate a pole"
            tcp = ModbusBench(fitted, pole, transport="modbus-tcp")
            endpoints["modbus_tcp"] = tcp.start()
            stack.callback(tcp.stop)
        if "modbus-rtu" in transports:
            assert isinstance(pole, Pole), "Modbus devices simulate a pole"
            bus = stack.enter_context(PtyPair.open())
            rtu = ModbusBench(fitted, pole, transport="modbus-rtu", serial_path=bus.bench_path)
            rtu.start()
            stack.callback(rtu.stop)
            endpoints["modbus_rtu"] = bus.device_path
        if line is not None:
            assert isinstance(pole, Pole), "DL/T 645 meters simulate a pole"
            _start_meters(fitted, pole, stack, line.bench_path)
            endpoints["dlt645"] = line.device_path
        if mqtt is not None and "mqtt" in transports:
            _start_gateways(fitted, pole, stack, *mqtt)
            endpoints["mqtt"] = f"{mqtt[0]}:{mqtt[1]}"
        for device in fitted:
            if device.address:
                endpoints["meter_address"] = device.address
            if device.prefix:
                endpoints["prefix"] = device.prefix
        poles.append(endpoints)
    return poles


def _start_district(
    devices: Sequence[SimulatedDevice],
    fleet: Sequence[Pole],
    stack: contextlib.ExitStack,
    brokers: Sequence[tuple[str, int] | None],
) -> list[dict[str, str]]:
    """A fleet as a district system reaches it, every server on one event loop (bench/loop.py).
    The gateways of consecutive buses share a broker of `brokers`, as many poles to each.

    Each pole has its own Modbus TCP port (its gateway's address) and its own gateway on the
    broker; per road bus of `BUS_POLES` poles, the lamp controllers sit on one RS-485 bus
    behind a serial server (RTU frames over TCP, units 1..16) and the meters on one DL/T 645
    line behind another (`_fleet_site` points the devices there). No pty, no process and no
    thread per pole: a thousand poles fit in one process.
    """
    from .hub import GatewayHub
    from .loop import SharedLoop
    from .meter645 import MeterLineServer, SimMeter645

    _allow_descriptors(_DESCRIPTORS_PER_POLE * len(fleet))
    shared = SharedLoop()
    stack.callback(shared.stop)  # callbacks run last first: the loop goes after its servers
    hub = None
    if brokers[0] is not None and any(d.transport == "mqtt" for d in devices):
        hub = GatewayHub(shared)
        stack.callback(hub.stop)
    poles: list[dict[str, str]] = []
    gateways: list[SimGateway] = []
    for first in range(0, len(fleet), BUS_POLES):
        bus = list(enumerate(fleet[first : first + BUS_POLES], start=1))
        lamps: list[tuple[SimulatedDevice, Pole]] = []
        meters: list[SimMeter645] = []
        bus_poles: list[dict[str, str]] = []
        mqtt = brokers[first * len(brokers) // len(fleet)]
        for i, pole in bus:
            k = first + i
            fitted = [_identity(d, _pole_id(k), k) for d in devices]
            endpoints = {"pole": _pole_id(k)}
            if any(d.transport == "modbus-tcp" for d in fitted):
                tcp = ModbusBench(fitted, pole, transport="modbus-tcp", loop=shared)
                endpoints["modbus_tcp"] = tcp.start()
                stack.callback(tcp.stop)
            for device in fitted:
                if device.transport == "modbus-rtu":  # unit i on the bus, whatever its own id
                    bus_device = dataclasses.replace(device, unit=i, transport="modbus-rtu-tcp")
                    lamps.append((bus_device, pole))
                elif device.transport == "dlt645":
                    meter = SimMeter645(
                        "", address=device.address, devicemap=device.devicemap,
                        values=_values(pole, device),
                    )  # fmt: skip
                    configure_meter(meter, device.role, pole.settings)
                    count_meter_writes(meter, device.role, pole)
                    meters.append(meter)
                elif device.transport == "mqtt" and mqtt is not None and hub is not None:
                    gateways.append(_gateway(device, pole, *mqtt, hub=hub, period=_FLEET_PERIOD))
                    endpoints["mqtt"] = f"{mqtt[0]}:{mqtt[1]}"
                if device.address:
                    endpoints["meter_address"] = device.address
                if device.prefix:
                    endpoints["prefix"] = device.prefix
            bus_poles.append(endpoints)
        shared_servers: dict[str, str] = {}
        if lamps:
            rtu = ModbusBench(
                [], lamps[0][1], transport="modbus-rtu-tcp", others=lamps, loop=shared
            )
            shared_servers["modbus_rtu"] = rtu.start()
            stack.callback(rtu.stop)
        if meters:
            line = MeterLineServer(meters, loop=shared)
            shared_servers["dlt645"] = line.start()
            stack.callback(line.stop)
        for endpoints in bus_poles:
            endpoints.update(shared_servers)
        poles += bus_poles
    if gateways:
        stack.callback(_stop_gateways, shared, gateways)  # first: "offline" while the broker runs
        for gateway in gateways:
            gateway.connect()  # a TCP connect each; the loop does the rest, all at once
        shared.run(_all(gateway.ready() for gateway in gateways), timeout=_READY_TIMEOUT)
    return poles


# s between a fleet gateway's telemetry and equipment messages (one pole's: 0.5 s). Both are
# retained, so a telemetry window (1 s) gets one on subscribing; the equipment stamp stays well
# within the bench's 5 s equipment_status_max_age. Events are still looked for every 0.5 s (the
# 1 s event latency) and the heartbeat stays at 1 s (its 2 s limit).
_FLEET_PERIOD = 2.0
_READY_TIMEOUT = 120.0  # s for every gateway of a fleet to be subscribed and published
# Descriptors a fleet pole holds at most: its Modbus TCP listener, its gateway's connection, a
# share of its bus's servers, the clients a run opens to it, and the embedded broker's end of
# its gateway's connection.
_DESCRIPTORS_PER_POLE = 6


def _allow_descriptors(count: int) -> None:
    """Raise this process's soft limit of open descriptors to `count` more, within the hard."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = soft + count if hard == resource.RLIM_INFINITY else min(hard, soft + count)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


async def _all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run `coroutines` at once; the first failure once all have ended."""
    results = await asyncio.gather(*coroutines, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _stop_gateways(shared: SharedLoop, gateways: Sequence[SimGateway]) -> None:
    """Stop a fleet's gateways at once; then the first values() failure one of them had."""
    if shared.running:
        shared.run(_all(g.close() for g in gateways), timeout=_READY_TIMEOUT)
    for gateway in gateways:
        gateway.stop()  # closed already: raises what went wrong while it ran, if anything


def _start_meters(
    devices: Sequence[SimulatedDevice], pole: Pole, stack: contextlib.ExitStack, path: str
) -> None:
    from .meter645 import SimMeter645

    for device in (d for d in devices if d.transport == "dlt645"):
        meter = SimMeter645(
            path, address=device.address, devicemap=device.devicemap, values=_values(pole, device)
        )
        configure_meter(meter, device.role, pole.settings)
        count_meter_writes(meter, device.role, pole)
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
    pole: Pole | Community,
    stack: contextlib.ExitStack,
    host: str,
    port: int,
) -> None:
    for device in (d for d in devices if d.transport == "mqtt"):
        gateway = _gateway(device, pole, host, port)
        gateway.start()
        stack.callback(gateway.stop)


def _gateway(
    device: SimulatedDevice,
    pole: Pole | Community,
    host: str,
    port: int,
    *,
    hub: GatewayHub | None = None,
    period: float = 0.5,
) -> SimGateway:
    """The simulated gateway `device` of `pole`, configured with its faults, not started."""
    from .gateway import SimGateway

    def command(payload: Mapping[str, Any]) -> str:
        if "dimming" in payload:
            pole.command("target_light_command", float(payload["dimming"]))
        return "ok"

    gateway = SimGateway(
        host,
        port,
        prefix=device.prefix,
        values=functools.partial(pole.readings, device.model),
        on_command=command,
        devicemap=device.devicemap,
        pole=pole if isinstance(pole, Pole) else None,
        role=device.role,
        # A community subsystem's gateway also publishes one status per device.
        inventory=(
            functools.partial(pole.inventory, device.model) if isinstance(pole, Community) else None
        ),
        hub=hub,
        period=period,
    )
    configure_gateway(gateway, device.role, pole.settings)
    return gateway
