"""`ycsa-conform scan`: find the devices on a bus, a host range and a broker, read-only.

    ycsa-conform scan [--rtu PORT] [--baud 9600 ...] [--parity N|E|O] [--units 1-247]
                      [--all-settings] [--dlt645 PORT] [--tcp HOST[-HOST]|CIDR [--port 502]]
                      [--mqtt URI --prefix PREFIX] [--listen S] [--maps DIR ...]
                      [--timeout S] [--time-limit S] [--out FRAGMENT.yaml] [--json]

Stages, each bounded by the overall `--time-limit`:

    rtu     every unit id of `--units` on the RS-485 bus at each line setting (`--all-settings`:
            the common baud rates x parities): one read of holding register 0 per unit
            (function 03); any answer, also an exception, is a unit; silence is nobody
    tcp     every host of the range with the port open, then the unit ids behind it as on a
            bus; a gateway's exception 0A/0B ("no path", "target did not answer") is nobody
    dlt645  one read of the meter address (DI 04000401) to the wildcard address AAAAAAAAAAAA;
            the answer's header carries the meter's own address (also in an error answer)
    mqtt    everything published below the prefix during `--listen` seconds

Identification, in order: Read Device Identification (Modbus 43/14; transport.modbus) against
the device maps' `signature.identification`; else the maps' `signature.points`, each read once
and required inside its range (a live lamp controller reads mains voltage); MQTT publishers by
the maps' topics whose payloads validate against their schemas. One matching map identifies
the device; none or several leave it found but not identified, and the fragment carries it as
a comment that says what to choose. A unit whose answer is no Modbus frame (bad CRC, another
unit's id) is reported as garbage, never as a device.

Only reads and identification go out: the transports' clients (the probes-never-write rule of
`ModbusDevice.probe` holds here too), no second protocol stack. Progress goes to stderr, one
line per stage start and end with counts and the time left (none with --json). docs/scan.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import socket
import sys
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from .devicemap import DeviceMap, load_devicemap
from .errors import DecodeError, DeviceError, DeviceException, ImplausibleValue, InputError
from .resources import data_dir
from .transport import LinkOptions, Reading, open_device
from .transport.poll import implausibility, plausible

if TYPE_CHECKING:  # imported when used: each loads its protocol stack
    from .transport.dlt645 import Dlt645Device
    from .transport.modbus import ModbusDevice

__all__ = [
    "Found",
    "Scan",
    "add_parser",
    "command",
    "fragment",
    "parse_hosts",
    "parse_units",
    "publishers",
]

USAGE = 4  # cli.USAGE (not imported: cli imports this module)

# The line settings `--all-settings` tries: the baud rates RS-485 devices ship with, each with
# no, even and odd parity (one stop bit; 8 data bits, as Modbus RTU asks).
ALL_BAUDS = (2400, 4800, 9600, 19200, 38400, 115200)
ALL_PARITIES = ("N", "E", "O")
# DL/T 645-2007 meters: 8E1, mostly 2400 baud (the standard's default), older ones 1200.
METER_BAUDS = (1200, 2400, 4800, 9600)
METER_ADDRESS_DI = 0x04000401  # 通信地址: the meter's address, as data
GATEWAY_NOBODY = (10, 11)  # Modbus exceptions a TCP gateway gives for a unit that is not there
MAX_HOSTS = 1024
# This many unit ids or more, all answering behind one TCP host: a device ignoring the unit id.
IGNORES_UNIT = 8
PROGRESS_EVERY = 10.0  # seconds between progress lines inside a long stage


@dataclass(frozen=True, slots=True, kw_only=True)
class Found:
    """One answering unit, meter or publisher.

    status: "identified" (one map fits; `role` and `map` set), "unidentified" (it answers,
    no or several maps fit: `candidates`), or "garbage" (what came back is no frame)."""

    status: str
    protocol: str  # modbus, dlt645, mqtt
    uri: str
    how: str  # how it was identified, or why not
    role: str | None = None
    map: Path | None = None
    map_id: str | None = None
    identity: dict[int, str] = field(default_factory=dict)  # 43/14 objects, when answered
    candidates: tuple[str, ...] = ()
    also: tuple[str, ...] = ()  # other line settings the same unit answered at

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "protocol": self.protocol,
            "uri": self.uri,
            "role": self.role,
            "map": str(self.map) if self.map else None,
            "devicemap": self.map_id,
            "how": self.how,
            "identification": {str(k): v for k, v in sorted(self.identity.items())},
            "candidates": list(self.candidates),
            "also_answers_at": list(self.also),
        }


class Progress:
    """One line per stage on stderr, with counts and the time left; silent when quiet."""

    def __init__(self, deadline: float, *, quiet: bool) -> None:
        self.deadline = deadline
        self.quiet = quiet

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def say(self, text: str) -> None:
        if not self.quiet:
            print(f"scan: {text} ({self.left():.0f} s left)", file=sys.stderr, flush=True)


@dataclass(slots=True)
class Scan:
    """A scan in progress: what was found, what could not be scanned, and why."""

    maps: Sequence[DeviceMap]
    timeout: float
    deadline: float
    progress: Progress
    found: list[Found] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # ports that failed, stages cut short
    asked: int = 0  # requests sent

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def _maps(self, protocol: str) -> list[DeviceMap]:
        return [m for m in self.maps if m.protocol == protocol and m.signature is not None]

    # -- Modbus: RTU bus and TCP hosts -------------------------------------------------------

    def rtu(self, port: str, settings: Sequence[tuple[int, str]], units: Sequence[int]) -> None:
        """Every unit of `units` on the bus at `port` (a serial path, or HOST:PORT of a serial
        server), at each (baud, parity). A unit found at one setting is identified once; its
        garbage at other settings (a device hearing the wrong baud rate) is dropped."""
        server = _serial_server(port)
        if server:
            settings = settings[:1]  # a serial server has its line settings configured in it
        else:
            port = str(Path(port).absolute())
        seen: dict[int, Found] = {}
        garbage: list[Found] = []
        for index, (baud, parity) in enumerate(settings):
            if self.expired:
                rest = ", ".join(f"{b} 8{p}1" for b, p in settings[index:])
                self.problems.append(f"RS-485 {port}: time limit: {rest} not tried")
                break
            if server:
                base, where = f"modbus-rtu-tcp://{port}?", f"RS-485 behind {port}"
            else:
                base = f"modbus-rtu://{port}?baud={baud}&parity={parity}&stopbits=1"
                where = f"RS-485 {port} {baud} 8{parity}1"
            for found in self._units(base, where, units, known=seen.keys()):
                unit = _unit_of(found.uri)
                if found.status == "garbage":
                    garbage.append(found)
                elif unit in seen:  # the same unit at another setting: a pty, or autobauding
                    seen[unit] = _with_also(seen[unit], f"{baud} 8{parity}1")
                else:
                    seen[unit] = found
        self.found += seen.values()
        self.found += [g for g in garbage if _unit_of(g.uri) not in seen]

    def tcp(self, hosts: Sequence[str], port: int, units: Sequence[int]) -> None:
        start = time.monotonic()
        self.progress.say(f"Modbus TCP: {len(hosts)} host(s), port {port}")
        open_hosts = []
        for host in hosts:
            if self.expired:
                self.problems.append(f"time limit: hosts from {host} on not tried")
                break
            try:
                with socket.create_connection((host, port), timeout=self.timeout):
                    open_hosts.append(host)
            except OSError:
                continue
        self.progress.say(
            f"Modbus TCP: port {port} open on {len(open_hosts)} of {len(hosts)} host(s) "
            f"in {time.monotonic() - start:.1f} s"
        )
        for host in open_hosts:
            shown = f"[{host}]" if ":" in host else host
            self.found.extend(
                self._units(f"modbus-tcp://{shown}:{port}?", f"Modbus TCP {host}:{port}", units)
            )

    def _units(
        self, base: str, where: str, units: Sequence[int], *, known: Collection[int] = ()
    ) -> Iterator[Found]:
        """Probe each unit id behind `base` (a URI without its unit), then identify those
        that answer (those in `known` only say they answered: status "again")."""
        maps = self._maps("modbus")
        if not maps:
            self.problems.append(f"{where}: no Modbus device map with a signature to probe with")
            return
        start = time.monotonic()
        self.progress.say(f"{where}: units {_ranges(units)}")
        sep = "" if base.endswith("?") else "&"
        prober = _modbus(f"{base}{sep}unit={units[0]}", maps[0], LinkOptions(timeout=self.timeout))
        present: list[int] = []
        garbage = 0
        asked = 0
        said = time.monotonic()
        try:
            for unit in units:
                if self.expired:
                    rest = [u for u in units if u >= unit]
                    self.problems.append(f"{where}: time limit: units {_ranges(rest)} not asked")
                    break
                asked += 1
                if time.monotonic() - said >= PROGRESS_EVERY:
                    said = time.monotonic()
                    self.progress.say(
                        f"{where}: {asked - 1} of {len(units)} unit(s) asked, {len(present)} "
                        f"answered, {garbage} garbage"
                    )
                try:
                    probe = prober.probe(3, unit=unit, address=0, count=1)
                except DeviceError as exc:
                    self.problems.append(f"{where}: {exc}")
                    break
                uri = f"{base}{sep}unit={unit}"
                answer = probe.answer
                if probe.silent:
                    continue
                if answer is None or answer.unit != unit:
                    why = probe.garbage or (
                        f"an answer from unit {answer.unit}" if answer else "no frame"
                    )
                    garbage += 1
                    yield Found(
                        status="garbage",
                        protocol="modbus",
                        uri=uri,
                        how=f"not a Modbus answer to unit {unit}: {why} ({probe.exchange()})",
                    )
                    continue
                if answer.exception in GATEWAY_NOBODY and base.startswith("modbus-tcp"):
                    continue
                present.append(unit)
        finally:
            self.asked += asked
            prober.close()
        self.progress.say(
            f"{where}: {asked} unit(s) asked, {len(present)} answered, {garbage} garbage, "
            f"in {time.monotonic() - start:.1f} s"
        )
        if base.startswith("modbus-tcp") and len(present) >= IGNORES_UNIT and len(present) == asked:
            # A plain Modbus TCP device (no gateway) often answers whatever unit id it is sent:
            # one device, not one per unit id.
            self.problems.append(
                f"{where}: every one of the {asked} unit ids asked answered: the device ignores "
                f"the unit id; identified once, as unit {present[0]} (scan it with --units "
                f"{present[0]})"
            )
            present = present[:1]
        for unit in present:
            uri = f"{base}{sep}unit={unit}"
            if unit in known:
                yield Found(status="again", protocol="modbus", uri=uri, how="")
            else:
                yield self._identify_modbus(uri, maps)

    def _identify_modbus(self, uri: str, maps: Sequence[DeviceMap]) -> Found:
        options = LinkOptions(timeout=max(self.timeout, 0.5), retries=1)
        device = _modbus(uri, maps[0], options)
        notes: list[str] = []
        identity: dict[int, str] = {}
        try:
            identity = device.identify()
            self.asked += 1
        except DeviceException as exc:
            self.asked += 1
            notes.append(
                "does not implement Read Device Identification (43/14: exception 01)"
                if exc.code == 1
                else f"43/14 refused with exception {exc.code}"
            )
        except DecodeError as exc:
            notes.append(f"43/14 answer unusable ({exc})")
        except DeviceError:
            notes.append("no answer to 43/14")
        finally:
            device.close()
        if identity:
            named = [
                m
                for m in maps
                if m.signature is not None
                and m.signature.identification
                and all(
                    identity.get(k, "").strip() == v for k, v in m.signature.identification.items()
                )
            ]
            shown = " ".join(identity[k].strip() for k in sorted(identity) if identity[k].strip())
            if len(named) == 1:
                return _identified(uri, "modbus", named[0], f"43/14 answers {shown!r}", identity)
            notes.append(
                f"43/14 answers {shown!r}, "
                + ("which several maps name" if named else "which no known device map names")
            )
        elif not notes:
            notes.append("43/14 answers no identification objects")
        return self._by_signature(uri, "modbus", maps, notes, identity)

    def _by_signature(
        self,
        uri: str,
        protocol: str,
        maps: Sequence[DeviceMap],
        notes: list[str],
        identity: dict[int, str] | None = None,
    ) -> Found:
        """Read each map's signature points at `uri`; one map whose every point reads inside
        its range identifies the device."""
        fits: list[tuple[DeviceMap, str]] = []
        garbled = 0
        tried = 0
        for devicemap in maps:
            signature = devicemap.signature
            if signature is None or not signature.points or self.expired:
                continue
            tried += 1
            options = LinkOptions(timeout=max(self.timeout, 0.5), retries=1)
            device = open_device("scan", uri, devicemap, options)
            try:
                readings = device.read_many(list(signature.points))
                self.asked += device.transactions
            finally:
                device.close()
            evidence = []
            results = {
                name: plausible(readings[name], device="scan", devicemap=devicemap)
                for name in signature.points
            }
            if any(
                isinstance(r, DecodeError) and not isinstance(r, ImplausibleValue)
                for r in results.values()
            ):
                garbled += 1
            for name, limit in signature.points.items():
                result = results[name]
                if not isinstance(result, Reading):
                    break
                value = result.value
                if isinstance(value, bool | str) or implausibility(limit, value) is not None:
                    break
                evidence.append(f"{name} {value:~P}".rstrip())
            else:
                fits.append((devicemap, ", ".join(evidence)))
        ident = identity or {}
        why = "; ".join(notes)
        if len(fits) == 1:
            devicemap, shown = fits[0]
            how = f"signature of {devicemap.id}: {shown}" + (f" ({why})" if why else "")
            return _identified(uri, protocol, devicemap, how, ident)
        if fits:
            names = tuple(m.id for m, _ in fits)
            return Found(
                status="unidentified",
                protocol=protocol,
                uri=uri,
                how=f"{len(fits)} device maps' signatures fit: {', '.join(names)}"
                + (f" ({why})" if why else ""),
                identity=ident,
                candidates=names,
            )
        if tried and garbled >= tried:
            return Found(
                status="garbage",
                protocol=protocol,
                uri=uri,
                how="answers, but its answers to reads do not decode"
                + (f" ({why})" if why else ""),
                identity=ident,
            )
        return Found(
            status="unidentified",
            protocol=protocol,
            uri=uri,
            how=f"no known device map's signature fits ({tried} tried)"
            + (f"; {why}" if why else ""),
            identity=ident,
        )

    # -- DL/T 645 meters --------------------------------------------------------------------

    def dlt645(self, port: str, bauds: Sequence[int]) -> None:
        from .transport.dlt645 import (
            WILDCARD_ADDRESS,
            parse_frame,
            read_request,
            take_frame,
        )

        maps = self._maps("dlt645")
        server = _serial_server(port)
        if server:
            bauds = bauds[:1]  # a serial server has its line settings configured in it
        else:
            port = str(Path(port).absolute())
        start = time.monotonic()
        self.progress.say(f"DL/T 645 {port}: wildcard address at {', '.join(map(str, bauds))} baud")
        found = 0
        garbage: Found | None = None
        for baud in bauds:
            at = "" if server else f" at {baud} baud"
            if self.expired:
                self.problems.append(f"DL/T 645 {port}: time limit: {baud} baud not tried")
                break
            base = f"dlt645-tcp://{port}?" if server else f"dlt645://{port}?baud={baud}&parity=E&"
            if not maps:
                self.problems.append(f"DL/T 645 {port}: no dlt645 device map with a signature")
                return
            wildcard = _meter(
                f"{base}address={WILDCARD_ADDRESS}",
                maps[0],
                LinkOptions(timeout=max(self.timeout, 1.0)),
            )
            try:
                _, received = wildcard.send_frame(read_request(WILDCARD_ADDRESS, METER_ADDRESS_DI))
                self.asked += 1
            except DeviceError as exc:
                self.problems.append(f"DL/T 645 {port}: {exc}")
                return
            finally:
                wildcard.close()
            if not received:
                continue
            buffer = bytearray(received)
            addresses: list[str] = []
            while (frame := take_frame(buffer)) is not None:
                parsed = parse_frame(frame)
                if parsed.control & 0x80 and parsed.address not in addresses:
                    addresses.append(parsed.address)
            if not addresses:
                # Noise at the wrong baud rate, or a broken meter: try the next setting first.
                garbage = garbage or Found(
                    status="garbage",
                    protocol="dlt645",
                    uri=f"{base}address={WILDCARD_ADDRESS}",
                    how=f"something answered the wildcard address at {baud} baud, but no DL/T "
                    f"645 answer frame: {received[:48].hex(' ').upper()}",
                )
                continue
            for address in addresses:
                uri = f"{base}address={address}"
                self.found.append(
                    self._by_signature(uri, "dlt645", maps, [f"answered the wildcard{at}"])
                )
                found += 1
            break  # meters found: one setting is the line's
        if not found and garbage is not None:
            self.found.append(garbage)
            found += 1
        self.progress.say(f"DL/T 645 {port}: {found} meter(s) in {time.monotonic() - start:.1f} s")

    # -- MQTT publishers --------------------------------------------------------------------

    def mqtt(self, uri: str, prefix: str, listen: float) -> None:
        from .transport.address import parse_device_uri
        from .transport.mqtt import MqttLink

        prefix = prefix.strip("/")
        topics = f"{prefix}/#" if prefix else "#"
        window = min(listen, max(self.progress.left(), 0.1))
        start = time.monotonic()
        self.progress.say(f"MQTT {uri}: listening to {topics} for {window:.0f} s")
        broker = uri.rstrip("/")
        address = parse_device_uri(f"{broker}/{prefix or 'scan'}")
        link = MqttLink("scan", address, LinkOptions(timeout=max(self.timeout, 2.0)))
        try:
            response = link.transact(
                {"op": "collect", "topics": [topics], "window": window, "stop": "never", "qos": 0}
            )
        except DeviceError as exc:
            self.problems.append(f"MQTT {uri}: {exc}")
            return
        finally:
            link.close()
        messages = list(response.get("messages", []))
        scheme, rest = broker.split("://", 1)
        root = f"{scheme}://{rest.split('/', 1)[0]}"
        found = publishers(messages, prefix, self._maps("mqtt"), root)
        self.found.extend(found)
        self.progress.say(
            f"MQTT {uri}: {len(messages)} message(s), {len(found)} publisher(s) in "
            f"{time.monotonic() - start:.1f} s"
        )


def publishers(
    messages: Sequence[dict[str, Any]], prefix: str, maps: Sequence[DeviceMap], root: str
) -> list[Found]:
    """Devices among MQTT messages: a device prefix and map for topics a map names, each
    payload valid against its topic's schema."""
    # (device prefix, map id) -> [valid topic keys, invalid topic keys]
    scores: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    claimed: set[str] = set()
    by_id = {m.id: m for m in maps}
    for message in messages:
        name = str(message["topic"])
        payload: Any
        try:
            payload = json.loads(str(message["payload"]))
        except ValueError:
            payload = None
        for devicemap in maps:
            for key, spec in devicemap.topics.items():
                if spec.wildcard or spec.schema is None or not name.endswith("/" + spec.topic):
                    continue
                base = name[: -len(spec.topic) - 1]
                if prefix and not (base == prefix or base.startswith(prefix + "/")):
                    continue
                valid, invalid = scores.setdefault((base, devicemap.id), (set(), set()))
                ok = payload is not None and jsonschema.Draft202012Validator(spec.schema).is_valid(
                    payload
                )
                (valid if ok else invalid).add(key)
                claimed.add(name)
    found: list[Found] = []
    bases = sorted({base for base, _ in scores})
    for base in bases:
        fits = [
            (len(valid), map_id)
            for (b, map_id), (valid, invalid) in scores.items()
            if b == base and valid and not invalid
        ]
        fits.sort(reverse=True)
        uri = f"{root}/{base}"
        best = [m for n, m in fits if n == fits[0][0]] if fits else []
        if len(best) == 1:
            devicemap = by_id[best[0]]
            valid, _ = scores[(base, best[0])]
            how = f"topics {', '.join(sorted(valid))} valid against {devicemap.id}'s schemas"
            found.append(_identified(uri, "mqtt", devicemap, how, {}))
            continue
        # Topic names fit but the payloads do not (or several maps fit equally).
        tried = [m for (b, m) in scores if b == base]
        found.append(
            Found(
                status="unidentified",
                protocol="mqtt",
                uri=uri,
                how=(
                    f"several maps fit equally: {', '.join(best)}"
                    if best
                    else f"topics named like {', '.join(tried)}'s, but payloads fail their schemas"
                ),
                candidates=tuple(best or tried),
            )
        )
    others = sorted({str(m["topic"]) for m in messages} - claimed)
    if others:
        parents = sorted({t.rsplit("/", 1)[0] if "/" in t else t for t in others})
        for parent in parents:
            under = [t for t in others if t.startswith(parent + "/") or t == parent]
            if any(parent == b or parent.startswith(b + "/") for b in bases):
                continue  # more topics of a device already found
            found.append(
                Found(
                    status="unidentified",
                    protocol="mqtt",
                    uri=f"{root}/{parent}",
                    how=f"publishes {', '.join(under[:4])}{' …' if len(under) > 4 else ''}, "
                    "topics no known device map names",
                )
            )
    return found


def _identified(
    uri: str, protocol: str, devicemap: DeviceMap, how: str, identity: dict[int, str]
) -> Found:
    assert devicemap.signature is not None
    return Found(
        status="identified",
        protocol=protocol,
        uri=uri,
        how=how,
        role=devicemap.signature.role,
        map=devicemap.path,
        map_id=devicemap.id,
        identity=identity,
    )


def _with_also(found: Found, setting: str) -> Found:
    return dataclasses.replace(found, also=(*found.also, setting))


def _modbus(uri: str, devicemap: DeviceMap, options: LinkOptions) -> ModbusDevice:
    from .transport.modbus import ModbusDevice

    device = open_device("scan", uri, devicemap, options)
    assert isinstance(device, ModbusDevice)  # a modbus URI and map give one
    return device


def _meter(uri: str, devicemap: DeviceMap, options: LinkOptions) -> Dlt645Device:
    from .transport.dlt645 import Dlt645Device

    device = open_device("scan", uri, devicemap, options)
    assert isinstance(device, Dlt645Device)  # a dlt645 URI and map give one
    return device


def _serial_server(port: str) -> bool:
    """HOST:PORT (a serial server, RS-485 over TCP) rather than a serial port's path."""
    host, colon, number = port.rpartition(":")
    return bool(colon and host and "/" not in port and number.isdigit())


def _unit_of(uri: str) -> int:
    return int(uri.rsplit("unit=", 1)[1])


# -- the fragment ---------------------------------------------------------------------------


def fragment(found: Sequence[Found], *, when: datetime | None = None) -> str:
    """A site file's `targets:` for what was found: identified devices by role, one of each
    role per target (SCAN-1, SCAN-2... for the second of a role); the others as comments that
    say what to fill in. Valid as it is under `site:` and `kind:`."""
    when = when or datetime.now(UTC)
    identified = [f for f in found if f.status == "identified"]
    others = [f for f in found if f.status != "identified"]
    targets: list[dict[str, Found]] = []
    for device in identified:
        assert device.role is not None
        for target in targets:
            if device.role not in target:
                target[device.role] = device
                break
        else:
            targets.append({device.role: device})
    if not targets:
        targets.append({})
    lines = [
        f"# ycsa-conform scan, {when:%Y-%m-%d %H:%M} UTC: {len(found)} found, "
        f"{len(identified)} identified, {sum(f.status == 'garbage' for f in found)} garbage.",
        "# The `targets:` of a site file: paste it below the file's `site:` and `kind:` lines.",
        "# One device of each role per target: move devices to the poles they are on, and add",
        "# each target's design data and records (docs/scan.md).",
        "targets:",
    ]
    for index, target in enumerate(targets, 1):
        lines += [f"  - id: SCAN-{index}", "    kind: pole", "    devices:" if target else ""]
        if not target:
            lines[-1] = "    devices: {}"
        for role, device in target.items():
            lines += [
                f"      {role}:",
                f"        # {_comment(device.how)}",
                f"        uri: {json.dumps(device.uri)}",
                f"        map: {json.dumps(str(device.map))}",
            ]
        if index == 1:
            lines += _commented(others)
    return "\n".join(line for line in lines if line) + "\n"


def _commented(others: Sequence[Found]) -> list[str]:
    lines: list[str] = []
    for number, device in enumerate(others, 1):
        if device.status == "garbage":
            lines += [
                f"      # GARBAGE at {device.uri}: {_comment(device.how)}",
                "      #   not a device: check the wiring, termination and line settings.",
            ]
            continue
        key = f"found_{number}"
        choose = f"one of {', '.join(device.candidates)}" if device.candidates else "its device map"
        lines += [
            f"      # FOUND, NOT IDENTIFIED: {_comment(device.how)}",
            f"      # Choose {choose} and the role (ycsa-conform points), then uncomment:",
            f"      # {key}:",
            f"      #   uri: {json.dumps(device.uri)}",
            "      #   map: CHOOSE-THE-DEVICE-MAP.yaml",
        ]
    return lines


def _comment(text: str) -> str:
    return " ".join(text.split())


# -- arguments ------------------------------------------------------------------------------


class UsageError(ValueError):
    """A wrong argument: the message says value, rule and fix."""


def parse_units(text: str) -> list[int]:
    """'1-247', '1,3,10-12' -> unit ids; each 1..247 (Modbus serial line addresses)."""
    units: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise UsageError(
                f"--units {text!r}: {part!r} is not a unit id or range; write like '1-247' or "
                "'1,3,10-12'"
            ) from None
        if not 1 <= first <= last <= 247:
            raise UsageError(
                f"--units {text!r}: {part!r} is outside 1..247 or backwards; Modbus unit ids "
                "are 1..247 (0 is broadcast, which nobody answers)"
            )
        units += range(first, last + 1)
    return list(dict.fromkeys(units))


def parse_hosts(text: str) -> list[str]:
    """'10.0.0.5', '10.0.0.5-10.0.0.20', '10.0.0.5-20', '10.0.0.0/28' or a host name."""
    try:
        if "/" in text:
            network = ipaddress.ip_network(text, strict=False)
            hosts = [str(h) for h in (network.hosts() if network.num_addresses > 2 else network)]
        elif "-" in text and text.replace("-", "").replace(".", "").isdigit():
            low, high = text.split("-", 1)
            first = ipaddress.ip_address(low)
            last = (
                ipaddress.ip_address(high)
                if "." in high
                else ipaddress.ip_address(f"{low.rsplit('.', 1)[0]}.{high}")
            )
            if int(last) < int(first):
                raise ValueError("the range runs backwards")
            if int(last) - int(first) >= MAX_HOSTS:
                raise ValueError("too many hosts")
            hosts = [str(ipaddress.ip_address(n)) for n in range(int(first), int(last) + 1)]
        else:
            hosts = [text]
    except ValueError as exc:
        raise UsageError(
            f"--tcp {text!r}: {exc}; give a host, a range like '10.0.0.5-10.0.0.20' or "
            f"'10.0.0.5-20', or a network like '10.0.0.0/28' (at most {MAX_HOSTS} hosts)"
        ) from None
    if len(hosts) > MAX_HOSTS:
        raise UsageError(f"--tcp {text!r}: {len(hosts)} hosts; give at most {MAX_HOSTS}")
    return hosts


def _ranges(units: Sequence[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    spans: list[str] = []
    ordered = sorted(units)
    start = prev = ordered[0] if ordered else 0
    for unit in [*ordered[1:], None]:
        if unit is not None and unit == prev + 1:
            prev = unit
            continue
        spans.append(f"{start}-{prev}" if prev != start else str(start))
        if unit is not None:
            start = prev = unit
    return ", ".join(spans) if ordered else "none"


def known_maps(folders: Sequence[str]) -> list[DeviceMap]:
    """The built-in bench's device maps and every map in `folders` (*.yaml that are maps)."""
    paths = sorted((data_dir("benches") / "devicemaps").glob("*.yaml"))
    for folder in folders:
        where = Path(folder)
        if not where.is_dir():
            raise UsageError(f"--maps {folder!r} is not a folder; give the folder of device maps")
        paths += sorted(where.glob("*.yaml")) + sorted(where.glob("*.yml"))
    maps = []
    for path in paths:
        head = path.read_text(encoding="utf-8", errors="replace")[:4096]
        if "devicemap:" not in head:
            continue  # a site or profile next to the maps
        maps.append(load_devicemap(path))  # a broken map is an InputError: a usage error
    return maps


def add_parser(sub: Any) -> None:
    """Register `ycsa-conform scan`."""
    p = sub.add_parser(
        "scan",
        help="find the devices on a bus, host range and broker; print a site fragment",
        description="Scan an RS-485 bus (unit ids at given line settings), a Modbus TCP host "
        "range, a DL/T 645 line (wildcard address) and an MQTT prefix; identify each device "
        "(Read Device Identification 43/14, else the device maps' signatures) and print the "
        "`targets:` of a site file. Read-only. Exit status: 0 every device found is identified; "
        "1 something needs a look (nothing found, a device not identified, garbage on a line, "
        "a port that failed, the time limit cut the scan short); 4 a usage error.",
    )
    p.add_argument(
        "--rtu",
        metavar="PORT",
        help="serial port of the RS-485 bus, or HOST:PORT of a serial server",
    )
    p.add_argument("--baud", type=int, nargs="+", default=[9600], help="baud rate(s), default 9600")
    p.add_argument("--parity", choices=["N", "E", "O"], default="N", help="default N")
    p.add_argument("--units", default="1-247", help="unit ids, like 1-247 or 1,3,10-12")
    p.add_argument(
        "--all-settings",
        action="store_true",
        help=f"try {', '.join(map(str, ALL_BAUDS))} baud x parity N, E, O (and "
        f"{', '.join(map(str, METER_BAUDS))} baud 8E1 for DL/T 645)",
    )
    p.add_argument(
        "--dlt645",
        metavar="PORT",
        help="serial port of a DL/T 645 meter line, or HOST:PORT of a serial server",
    )
    p.add_argument("--tcp", metavar="HOSTS", help="host, HOST-HOST range or CIDR network")
    p.add_argument("--port", type=int, default=502, help="Modbus TCP port, default 502")
    p.add_argument("--mqtt", metavar="URI", help="broker, like mqtt://10.0.0.9:1883")
    p.add_argument("--prefix", default="", help="topic prefix the devices publish below")
    p.add_argument(
        "--listen", type=float, default=10.0, help="seconds to listen on MQTT, default 10"
    )
    p.add_argument(
        "--maps",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder of vendors' device maps to identify by (repeatable)",
    )
    p.add_argument(
        "--timeout", type=float, default=0.2, help="seconds to wait for one answer, default 0.2"
    )
    p.add_argument(
        "--time-limit", type=float, default=300.0, help="seconds for the whole scan, default 300"
    )
    p.add_argument("--out", metavar="FRAGMENT.yaml", help="write the fragment here")
    p.add_argument("--json", action="store_true", help="print JSON, no progress lines")
    p.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    try:
        return _command(args)
    except UsageError as exc:
        print(f"ycsa-conform scan: {exc}", file=sys.stderr)
        return USAGE
    except InputError as exc:
        print(exc, file=sys.stderr)
        return USAGE


def _command(args: argparse.Namespace) -> int:
    if not (args.rtu or args.tcp or args.dlt645 or args.mqtt):
        raise UsageError(
            "nothing to scan; give --rtu PORT, --tcp HOSTS, --dlt645 PORT or --mqtt URI"
        )
    if args.prefix and not args.mqtt:
        raise UsageError("--prefix needs --mqtt URI (the broker the devices publish to)")
    for name in ("timeout", "time_limit", "listen"):
        if not getattr(args, name) > 0:
            raise UsageError(
                f"--{name.replace('_', '-')} {getattr(args, name)!r} must be more than 0 s"
            )
    if args.mqtt and not args.mqtt.startswith(("mqtt://", "mqtts://")):
        raise UsageError(f"--mqtt {args.mqtt!r}: give a broker URI like mqtt://10.0.0.9:1883")
    units = parse_units(args.units)
    hosts = parse_hosts(args.tcp) if args.tcp else []
    maps = known_maps(args.maps)  # a broken map: InputError, FILE:LINE: $.path lines (exit 4)
    deadline = time.monotonic() + args.time_limit
    progress = Progress(deadline, quiet=args.json)
    scan = Scan(maps=maps, timeout=args.timeout, deadline=deadline, progress=progress)
    settings = (
        [(b, p) for b in ALL_BAUDS for p in ALL_PARITIES]
        if args.all_settings
        else [(b, args.parity) for b in args.baud]
    )
    if args.rtu:
        scan.rtu(args.rtu, settings, units)
    if hosts:
        scan.tcp(hosts, args.port, units)
    if args.dlt645:
        scan.dlt645(args.dlt645, METER_BAUDS if args.all_settings else (2400,))
    if args.mqtt:
        scan.mqtt(args.mqtt, args.prefix, args.listen)
    text = fragment(scan.found)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    identified = sum(f.status == "identified" for f in scan.found)
    needs_look = bool(scan.problems) or identified == 0 or identified < len(scan.found)
    if args.json:
        print(
            json.dumps(
                {
                    "found": [f.as_dict() for f in scan.found],
                    "problems": scan.problems,
                    "requests": scan.asked,
                    "fragment": text,
                    "out": args.out,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for f in scan.found:
            mark = {"identified": "found", "unidentified": "FOUND?", "garbage": "GARBAGE"}
            what = f" {f.role} ({f.map_id})" if f.role else ""
            print(f"{mark[f.status]:<8}{what} {f.uri}: {f.how}", file=sys.stderr)
        for problem in scan.problems:
            print(f"PROBLEM  {problem}", file=sys.stderr)
        if args.out:
            print(f"fragment written to {Path(args.out).resolve()}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    return 1 if needs_look else 0
