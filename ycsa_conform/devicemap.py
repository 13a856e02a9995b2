"""Device maps: how a vendor's device exposes the logical points (see `point.POINTS`).

One map describes one device model over one protocol:

    modbus   points are registers or bits:       {table, address, type, byte/word order, scale,
             range}; `probes` says which register the device does not have and which function
             code it does not implement, for the `protocol` check kind
    dlt645   points are DL/T 645-2007 data ids:  {di: "02010100", format: "XXX.X", signed}
    mqtt     points are JSON pointers into the payload of a named topic, whose JSON Schema the
             map names; writable points are set by a command that the device acknowledges.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import pint

from .errors import InputError, Problem
from .limit import Limit, LimitError, parse_limit
from .point import POINTS
from .source import Document, load_document
from .units import UnitError, parse_unit, ureg

__all__ = [
    "ByteOrder",
    "DataType",
    "DeviceMap",
    "Dlt645Point",
    "ModbusPoint",
    "MqttCommands",
    "MqttPoint",
    "MqttTopic",
    "Point",
    "Probes",
    "Table",
    "check_point_unit",
    "load_devicemap",
    "unknown_point_message",
]


class Table(StrEnum):
    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING = "holding"
    INPUT = "input"


class DataType(StrEnum):
    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"

    @property
    def registers(self) -> int:
        return 2 if self in (DataType.INT32, DataType.UINT32, DataType.FLOAT32) else 1


class ByteOrder(StrEnum):
    BIG = "big"
    LITTLE = "little"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusPoint:
    """One point in a Modbus table. value = raw × scale + offset, in `unit`."""

    name: str
    table: Table
    address: int
    type: DataType
    byte_order: ByteOrder
    word_order: ByteOrder
    scale: float
    offset: float
    unit: pint.Unit
    writable: Limit | None
    description: str = ""
    # `range:` in the map, the values the quantity can plausibly take (daylight: 0 lx ..
    # 150000 lx); the `protocol` check's word-order probe judges 32-bit decodings against it.
    plausible: Limit | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Probes:
    """What a Modbus device map says about the device for the `protocol` check's probes.

    None means: not declared, the check picks its documented default.
    """

    illegal_address: tuple[Table, int] | None = None  # a register the device does not have
    illegal_function: int | None = None  # a function code it does not implement


@dataclass(frozen=True, slots=True, kw_only=True)
class Dlt645Point:
    """One DL/T 645-2007 data item: `format` is its BCD layout ('XXX.X': 4 digits, 1 decimal)."""

    name: str
    di: int  # the 4-byte data identifier DI3 DI2 DI1 DI0 as one number, 0x02010100
    format: str
    signed: bool  # the top bit of the most significant byte is the sign (current, power, PF)
    unit: pint.Unit
    description: str = ""

    @property
    def digits(self) -> int:
        return len(self.format.replace(".", ""))

    @property
    def decimals(self) -> int:
        return len(self.format.partition(".")[2])

    @property
    def length(self) -> int:
        """Data bytes on the wire (two BCD digits per byte)."""
        return (self.digits + 1) // 2


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttTopic:
    """A topic below the device's prefix, with the JSON Schema its payloads must satisfy."""

    key: str
    topic: str
    schema: Mapping[str, Any] | None
    schema_path: Path | None
    qos: int
    description: str = ""
    # The unit of the time stamps in this topic's payloads ("s", "ms" or "us" since
    # 1970-01-01 UTC): the `age` and `inventory` checks read a stamp through it.
    time_unit: str = "s"

    @property
    def wildcard(self) -> bool:
        """The topic ends in the single-level wildcard '+' (`devices/+`: one topic per device);
        it can be observed, but not read by a point nor commanded."""
        return self.topic == "+" or self.topic.endswith("/+")


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttPoint:
    """A value inside a topic's JSON payload: value = payload[pointer] × scale, in `unit`."""

    name: str
    topic: str  # key into DeviceMap.topics
    pointer: str
    unit: pint.Unit | None  # None for flags and text
    scale: float
    writable: Limit | None
    command: str | None  # JSON pointer of the value in a command payload
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MqttCommands:
    """How commands are sent and acknowledged: correlated by the value at `correlation`."""

    topic: str  # key into DeviceMap.topics
    ack: str  # key into DeviceMap.topics
    correlation: str
    status: str
    accepted: tuple[str | int | bool, ...]


Point = ModbusPoint | Dlt645Point | MqttPoint


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceMap:
    id: str
    version: str
    title: Mapping[str, str]
    protocol: str  # "modbus", "dlt645" or "mqtt"
    points: Mapping[str, Point]
    path: Path
    topics: Mapping[str, MqttTopic] = field(default_factory=dict)
    commands: MqttCommands | None = None
    probes: Probes = field(default_factory=Probes)

    def modbus_point(self, name: str) -> ModbusPoint:
        point = self.point(name)
        if not isinstance(point, ModbusPoint):  # pragma: no cover - loaders keep one protocol
            raise TypeError(f"{name} in {self.path} is not a Modbus point")
        return point

    def point(self, name: str) -> Point:
        """The point `name`; a ValueError lists what the map has instead."""
        try:
            return self.points[name]
        except KeyError:
            raise ValueError(
                f"device map {self.id!r} ({self.path}) has no point {name!r}; it maps: "
                f"{', '.join(self.points)}"
            ) from None


def unknown_point_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(POINTS), n=1)
    did_you_mean = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown point {name!r}; {did_you_mean}known points: {', '.join(POINTS)}"


def check_point_unit(name: str, unit: pint.Unit) -> str | None:
    """None when `unit` suits the point `name`, else what is wrong and how to fix it."""
    spec = POINTS[name]
    if spec.unit in ("text", "flag"):
        return None
    expected = parse_unit(spec.unit)
    if (1 * unit).is_compatible_with(1 * expected):
        return None
    got = f"{unit:~P}" or "dimensionless"
    want = spec.unit or "a plain number"
    return f"unit {got!r} has the wrong dimension for {name} ({spec.description}); use {want!r}"


def load_devicemap(path: Path | str) -> DeviceMap:
    """Load and check a device map; raises InputError listing every problem."""
    doc = load_document(path, schema="devicemap")
    return _build(doc)


def _build(doc: Document) -> DeviceMap:
    data: dict[str, Any] = doc.data
    problems: list[Problem] = []
    topics: dict[str, MqttTopic] = {}
    commands: MqttCommands | None = None
    if data["protocol"] == "modbus":
        points: Mapping[str, Point] = _modbus_points(doc, problems)
    elif data["protocol"] == "dlt645":
        points = _dlt645_points(doc, problems)
    else:
        topics = _mqtt_topics(doc, problems)
        points = _mqtt_points(doc, topics, problems)
        commands = _mqtt_commands(doc, topics, points, problems)
    if problems:
        raise InputError(problems)
    return DeviceMap(
        id=data["devicemap"],
        version=str(data["version"]),
        title=MappingProxyType(dict(data.get("title", {"en": data["devicemap"]}))),
        protocol=data["protocol"],
        points=MappingProxyType(dict(points)),
        path=doc.path,
        topics=MappingProxyType(topics),
        commands=commands,
        probes=_probes(data),
    )


def _probes(data: Mapping[str, Any]) -> Probes:
    """The map's `probes` (Modbus only; the schema keeps it out of other maps)."""
    raw = data.get("probes", {})
    address = raw.get("illegal_address")
    illegal_address: tuple[Table, int] | None = None
    if isinstance(address, int):
        table = Table(data.get("defaults", {}).get("table", "holding"))
        illegal_address = (table, address)
    elif isinstance(address, Mapping):
        table = Table(address.get("table", data.get("defaults", {}).get("table", "holding")))
        illegal_address = (table, int(address["address"]))
    function = raw.get("illegal_function")
    return Probes(
        illegal_address=illegal_address,
        illegal_function=int(function) if function is not None else None,
    )


def _unit(
    doc: Document,
    where: tuple[str, ...],
    name: str,
    raw: Mapping[str, Any],
    problems: list[Problem],
) -> pint.Unit | None:
    """The point's unit, checked against the catalogue; None (with a problem) when it is bad."""
    try:
        unit = parse_unit(raw.get("unit", ""))
    except UnitError as exc:
        problems.append(doc.problem((*where, "unit"), f"{exc}; write it like 'V' or 'kWh'"))
        return None
    if (message := check_point_unit(name, unit)) is not None:
        problems.append(doc.problem((*where, "unit"), message))
    return unit if unit != ureg.dimensionless else ureg.dimensionless


def _writable(
    doc: Document,
    where: tuple[str, ...],
    raw: Mapping[str, Any],
    unit: pint.Unit,
    problems: list[Problem],
    *,
    key: str = "writable",
) -> Limit | None:
    """The point's range under `key` ('writable', or 'range' for its plausible values)."""
    if key not in raw:
        return None
    try:
        writable = parse_limit(raw[key])
    except LimitError as exc:
        problems.append(doc.problem((*where, key), str(exc)))
        return None
    for q in writable.quantities():
        if not q.is_compatible_with(1 * unit):
            problems.append(
                doc.problem(
                    (*where, key),
                    f"range {raw[key]!r} is not in the point's unit "
                    f"{unit:~P}; write it in {unit:~P}",
                )
            )
            break
    if key == "range" and (writable.parameters() or writable.one_of is not None):
        problems.append(
            doc.problem(
                (*where, key),
                f"{raw[key]!r} is not a range of values; write it like 'LOW .. HIGH' with units",
            )
        )
        return None
    return writable


def _dlt645_points(doc: Document, problems: list[Problem]) -> dict[str, Point]:
    points: dict[str, Point] = {}
    for name, raw in doc.data["points"].items():
        where = ("points", name)
        if name not in POINTS:
            problems.append(doc.problem(where, unknown_point_message(name)))
            continue
        unit = _unit(doc, where, name, raw, problems)
        if unit is None:
            continue
        points[name] = Dlt645Point(
            name=name,
            di=int(raw["di"], 16),
            format=raw["format"],
            signed=bool(raw.get("signed", False)),
            unit=unit,
            description=raw.get("description", ""),
        )
    return points


def _mqtt_topics(doc: Document, problems: list[Problem]) -> dict[str, MqttTopic]:
    topics: dict[str, MqttTopic] = {}
    for key, raw in doc.data["topics"].items():
        schema: dict[str, Any] | None = None
        schema_path: Path | None = None
        if "schema" in raw:
            schema_path = (doc.path.parent / raw["schema"]).resolve()
            where = ("topics", key, "schema")
            try:
                schema = json.loads(schema_path.read_text(encoding="utf-8"))
                jsonschema.Draft202012Validator.check_schema(schema)
            except FileNotFoundError:
                problems.append(
                    doc.problem(
                        where, f"{schema_path} not found; give a path relative to {doc.path.name}"
                    )
                )
            except (OSError, ValueError) as exc:
                problems.append(doc.problem(where, f"{schema_path} is not JSON: {exc}"))
            except jsonschema.SchemaError as exc:
                problems.append(
                    doc.problem(where, f"{schema_path} is not a valid JSON Schema: {exc.message}")
                )
        topics[key] = MqttTopic(
            key=key,
            topic=raw["topic"].strip("/"),
            schema=MappingProxyType(schema) if schema is not None else None,
            schema_path=schema_path,
            qos=int(raw.get("qos", 1)),
            description=raw.get("description", ""),
            time_unit=raw.get("time_unit", "s"),
        )
    return topics


def _topic_key(
    doc: Document,
    where: tuple[str, ...],
    key: str,
    topics: Mapping[str, MqttTopic],
    problems: list[Problem],
) -> bool:
    if key in topics:
        return True
    close = difflib.get_close_matches(key, list(topics), n=1)
    did_you_mean = f"did you mean {close[0]!r}? " if close else ""
    problems.append(
        doc.problem(
            where, f"unknown topic {key!r}; {did_you_mean}declared topics: {', '.join(topics)}"
        )
    )
    return False


def _mqtt_points(
    doc: Document, topics: Mapping[str, MqttTopic], problems: list[Problem]
) -> dict[str, Point]:
    points: dict[str, Point] = {}
    for name, raw in doc.data["points"].items():
        where = ("points", name)
        if name not in POINTS:
            problems.append(doc.problem(where, unknown_point_message(name)))
            continue
        if not _topic_key(doc, (*where, "topic"), raw["topic"], topics, problems):
            continue
        if topics[raw["topic"]].wildcard:
            problems.append(
                doc.problem(
                    (*where, "topic"),
                    f"point {name} reads topic {raw['topic']!r} ({topics[raw['topic']].topic}), "
                    "which has a wildcard; a point reads one topic, so give it a topic without "
                    "'+' (wildcard topics are for observing, like the inventory check)",
                )
            )
            continue
        flag_or_text = POINTS[name].unit in ("text", "flag")
        unit = None if flag_or_text else _unit(doc, where, name, raw, problems)
        if unit is None and not flag_or_text:
            continue
        writable = _writable(doc, where, raw, unit, problems) if unit is not None else None
        points[name] = MqttPoint(
            name=name,
            topic=raw["topic"],
            pointer=raw["pointer"],
            unit=unit,
            scale=float(raw.get("scale", 1.0)),
            writable=writable,
            command=raw.get("command"),
            description=raw.get("description", ""),
        )
    return points


def _mqtt_commands(
    doc: Document,
    topics: Mapping[str, MqttTopic],
    points: Mapping[str, Point],
    problems: list[Problem],
) -> MqttCommands | None:
    raw = doc.data.get("commands")
    commanded = [n for n, p in points.items() if isinstance(p, MqttPoint) and p.command]
    if raw is None:
        for name in commanded:
            problems.append(
                doc.problem(
                    ("points", name, "command"),
                    "a command needs a 'commands: {topic: ..., ack: ...}' section "
                    "saying where commands go and acknowledgements come back",
                )
            )
        return None
    ok = _topic_key(doc, ("commands", "topic"), raw["topic"], topics, problems)
    ok = _topic_key(doc, ("commands", "ack"), raw["ack"], topics, problems) and ok
    if not ok:
        return None
    for key in ("topic", "ack"):
        if topics[raw[key]].wildcard:
            names = ", ".join(commanded) or "none"
            problems.append(
                doc.problem(
                    ("commands", key),
                    f"topic {raw[key]!r} ({topics[raw[key]].topic}) has a wildcard; commands "
                    f"(of points: {names}) go to and are acknowledged on one topic, so name a "
                    "topic without '+'",
                )
            )
            ok = False
    if not ok:
        return None
    return MqttCommands(
        topic=raw["topic"],
        ack=raw["ack"],
        correlation=raw.get("correlation", "/id"),
        status=raw.get("status", "/status"),
        accepted=tuple(raw.get("accepted", ["ok"])),
    )


def _modbus_points(doc: Document, problems: list[Problem]) -> dict[str, Point]:
    data: dict[str, Any] = doc.data
    defaults = data.get("defaults", {})
    points: dict[str, Point] = {}
    for name, raw in data["points"].items():
        where = ("points", name)
        if name not in POINTS:
            problems.append(doc.problem(where, unknown_point_message(name)))
            continue
        point_type = DataType(raw["type"])
        table = Table(raw.get("table", defaults.get("table", "holding")))
        if point_type is DataType.BOOL and table in (Table.HOLDING, Table.INPUT):
            problems.append(
                doc.problem(
                    (*where, "type"),
                    f"'bool' needs a bit table; set table to 'coil' or 'discrete_input', "
                    f"or give a register type such as 'uint16' for the {table} table",
                )
            )
        if point_type is not DataType.BOOL and table in (Table.COIL, Table.DISCRETE_INPUT):
            problems.append(
                doc.problem((*where, "type"), f"a {table} holds bits; set type to 'bool'")
            )
        unit = _unit(doc, where, name, raw, problems)
        if unit is None:
            continue
        writable = _writable(doc, where, raw, unit, problems)
        plausible = _writable(doc, where, raw, unit, problems, key="range")
        points[name] = ModbusPoint(
            name=name,
            table=table,
            address=raw["address"],
            type=point_type,
            byte_order=ByteOrder(raw.get("byte_order", defaults.get("byte_order", "big"))),
            word_order=ByteOrder(raw.get("word_order", defaults.get("word_order", "big"))),
            scale=float(raw.get("scale", 1.0)),
            offset=float(raw.get("offset", 0.0)),
            unit=unit,
            writable=writable,
            description=raw.get("description", ""),
            plausible=plausible,
        )
    return points
