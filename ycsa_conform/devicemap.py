"""Device maps: how a vendor's device exposes the logical points (see `point.POINTS`).

One map describes one device model over one protocol:

    modbus   points are registers or bits:       {table, address, type, order (or byte_order
             and word_order), scale, offset, range, writable, write_function}; on/off points
             are a coil, a discrete input, a register (with `on:`/`off:` values) or one `bit:`
             of a status word; `probes` says which register the device does not have and which
             function code it does not implement, for the `protocol` check kind
    dlt645   points are DL/T 645-2007 data ids:  {di: "02010100", format: "XXX.X", signed, range}
    mqtt     points are JSON pointers into the payload of a named topic, whose JSON Schema the
             map names; writable points are set by a command that the device acknowledges.

Every numeric point may declare `range: LOW .. HIGH`, the values the quantity can physically
take; a reading outside it (or not finite) is `errors.ImplausibleValue`, never judged (see
`transport.poll`). docs/devicemaps.md documents every key with worked register examples.
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
from urllib.parse import unquote

import jsonschema
import pint

from .errors import InputError, Problem
from .limit import Limit, LimitError, parse_limit
from .point import POINTS
from .source import Document, load_document
from .units import UnitError, parse_unit, ureg

__all__ = [
    "ORDERS",
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
    "Signature",
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
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT64 = "float64"

    @property
    def registers(self) -> int:
        """Registers a value of this type spans (a bit counts as one)."""
        if self in (DataType.INT64, DataType.UINT64, DataType.FLOAT64):
            return 4
        if self in (DataType.INT32, DataType.UINT32, DataType.FLOAT32):
            return 2
        return 1


class ByteOrder(StrEnum):
    BIG = "big"
    LITTLE = "little"


# The combined spellings of (byte_order, word_order), named by where the bytes A B C D of a
# big-endian 32-bit value end up in the registers (for 64-bit values the same pattern runs over
# four words: CDAB is GH EF CD AB, the words reversed, each big-endian).
ORDERS: Mapping[str, tuple[ByteOrder, ByteOrder]] = MappingProxyType(
    {
        "ABCD": (ByteOrder.BIG, ByteOrder.BIG),  # big-endian bytes and words (Modbus default)
        "CDAB": (ByteOrder.BIG, ByteOrder.LITTLE),  # word-swapped: low word first
        "BADC": (ByteOrder.LITTLE, ByteOrder.BIG),  # byte-swapped inside each register
        "DCBA": (ByteOrder.LITTLE, ByteOrder.LITTLE),  # little-endian bytes and words
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusPoint:
    """One point in a Modbus table. value = raw × scale + offset, in `unit`.

    An on/off point (catalogue unit "flag") always reads as a bool: a coil or discrete input;
    a 16-bit register whose `on`/`off` values the map declares (else nonzero is on); or bit
    `bit` of a 16-bit status word.
    """

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
    # 200000 lx): a reading outside it is never judged (transport.poll), and the `protocol`
    # check's word-order probe judges multi-register decodings against it.
    plausible: Limit | None = None
    bit: int | None = None  # 0..15: the point is this bit of a 16-bit register (0 = lowest)
    on: int | None = None  # the register value that means on (a register flag), if declared
    off: int | None = None  # ... and off; with both declared, any other value is implausible
    # The function code writes use: 6 or 16 (holding), 5 or 15 (coil); None: 5/6 for one
    # register or bit, 16 for more.
    write_function: int | None = None

    @property
    def flag(self) -> bool:
        """An on/off point: it reads and writes as a bool, whatever its table and type."""
        return POINTS[self.name].unit == "flag"

    @property
    def quantum(self) -> float | None:
        """The smallest nonzero magnitude the encoding carries (one count × scale); None for
        floats, which carry any."""
        if self.type in (DataType.FLOAT32, DataType.FLOAT64):
            return None
        return abs(self.scale)

    @property
    def order(self) -> str:
        """The combined spelling of byte and word order: 'ABCD', 'CDAB', 'BADC' or 'DCBA'."""
        return next(k for k, v in ORDERS.items() if v == (self.byte_order, self.word_order))

    @property
    def location(self) -> str:
        """'input registers 2..3', 'bit 4 of holding register 7' - where the point lives."""
        names = {
            Table.COIL: "coil",
            Table.DISCRETE_INPUT: "discrete input",
            Table.HOLDING: "holding register",
            Table.INPUT: "input register",
        }
        name = names[self.table]
        if self.bit is not None:
            return f"bit {self.bit} of {name} {self.address}"
        if self.type.registers > 1:
            return f"{name}s {self.address}..{self.address + self.type.registers - 1}"
        return f"{name} {self.address}"


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
    plausible: Limit | None = None  # `range:` in the map (see ModbusPoint)

    @property
    def location(self) -> str:
        return f"DI {self.di:08X}"

    @property
    def quantum(self) -> float | None:
        """The smallest nonzero magnitude the BCD format carries (its last decimal)."""
        return float(10**-self.decimals)

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
    plausible: Limit | None = None  # `range:` in the map (see ModbusPoint)

    @property
    def location(self) -> str:
        return f"{self.pointer} of topic {self.topic!r}"

    @property
    def quantum(self) -> float | None:
        """One count × scale: a payload sending whole counts never reads below it."""
        return abs(self.scale)


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
class Signature:
    """How `ycsa-conform scan` recognises the model (the map's optional `signature:`).

    `identification`: Read Device Identification objects (function 43/14) by object id (0
    VendorName, 1 ProductCode) the device must answer; `points`: each point's values as a live
    device of this model reads them (a limit `LOW .. HIGH` in the point's unit)."""

    role: str
    identification: Mapping[int, str] = field(default_factory=dict)
    points: Mapping[str, Limit] = field(default_factory=dict)


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
    signature: Signature | None = None

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
    signature = _signature(doc, points, problems)
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
        signature=signature,
    )


_IDENTIFICATION_OBJECTS = {"vendor": 0, "product_code": 1}


def _signature(
    doc: Document, points: Mapping[str, Point], problems: list[Problem]
) -> Signature | None:
    """The map's `signature` (shape checked by the schema): its points must be known points,
    numbers, each limit a range in the point's unit; one the map does not have is left out."""
    raw = doc.data.get("signature")
    if raw is None:
        return None
    where: tuple[str, ...] = ("signature",)
    if "identification" in raw and doc.data["protocol"] != "modbus":
        problems.append(
            doc.problem(
                (*where, "identification"),
                "Read Device Identification is a Modbus function; remove 'identification' "
                f"from this {doc.data['protocol']} map",
            )
        )
    if "points" in raw and doc.data["protocol"] == "mqtt":
        problems.append(
            doc.problem(
                (*where, "points"),
                "an MQTT device is recognised by its topics and their schemas; remove 'points' "
                "from this map's signature",
            )
        )
    limits: dict[str, Limit] = {}
    for name, text in raw.get("points", {}).items():
        point = points.get(name)
        at = (*where, "points", name)
        if name not in POINTS:
            problems.append(doc.problem(at, unknown_point_message(name)))
            continue
        if point is None:
            # A variant of the map without this point (a model without the register) keeps
            # the rest of its signature.
            continue
        if isinstance(point, MqttPoint):  # pragma: no cover - refused above for MQTT maps
            continue
        unit = point.unit
        if POINTS[name].unit in ("flag", "text"):
            problems.append(
                doc.problem(at, f"{name} is on/off or text, which has no range; name a number")
            )
            continue
        limit = _writable(doc, at[:-1], {name: text}, unit, problems, key=name)
        if limit is not None and (limit.lower is None or limit.upper is None or limit.parameters()):
            problems.append(
                doc.problem(at, f"{text!r} is not a range of values; write it like 'LOW .. HIGH'")
            )
        elif limit is not None:
            limits[name] = limit
    return Signature(
        role=str(raw["role"]),
        identification=MappingProxyType(
            {
                _IDENTIFICATION_OBJECTS[key]: str(value)
                for key, value in raw.get("identification", {}).items()
            }
        ),
        points=MappingProxyType(limits),
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
    if key == "range" and (
        writable.parameters()
        or writable.one_of is not None
        or writable.lower is None
        or writable.upper is None
        or writable.marginal is not None
    ):
        problems.append(
            doc.problem(
                (*where, key),
                f"{raw[key]!r} is not a range of values; write it like 'LOW .. HIGH' with units",
            )
        )
        return None
    return writable


def _no_range_on(
    doc: Document,
    where: tuple[str, ...],
    name: str,
    raw: Mapping[str, Any],
    problems: list[Problem],
) -> bool:
    """A flag or text point has no range: True (with a problem) when the map gives one."""
    if "range" not in raw:
        return False
    kind = "an on/off point" if POINTS[name].unit == "flag" else "a text point"
    fix = (
        "; for a register declare its 'on:' and 'off:' values instead"
        if POINTS[name].unit == "flag" and doc.data["protocol"] == "modbus"
        else ""
    )
    problems.append(
        doc.problem((*where, "range"), f"{name} is {kind}, which has no range; remove it{fix}")
    )
    return True


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
            plausible=_writable(doc, where, raw, unit, problems, key="range"),
        )
    return points


def _outside_refs(node: Any, root: Any) -> str | None:
    """The first `$ref` (or `$dynamicRef`) of a schema that does not point inside the file, or
    points at nothing there, said with the fix; None when every one resolves within it. A
    remote '$ref' passed `validate` and then failed the run inside the validator library."""
    if isinstance(node, list):
        return next((found for item in node if (found := _outside_refs(item, root))), None)
    if not isinstance(node, dict):
        return None
    for key in ("$ref", "$dynamicRef"):
        ref = node.get(key)
        if ref is None:
            continue
        if not isinstance(ref, str) or not ref.startswith("#"):
            return (
                f"{key} {ref!r} points outside the file; the run never fetches a schema (no "
                "network on site): copy the definition into the file's $defs and refer to it "
                "as '#/$defs/NAME'"
            )
        if not _resolves(root, ref[1:]) and ref[1:] not in _anchors(root):
            return f"{key} {ref!r} points at nothing in the file; correct the pointer"
    return next((found for value in node.values() if (found := _outside_refs(value, root))), None)


def _anchors(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_anchors(item) for item in node))
    if not isinstance(node, dict):
        return set()
    own = {str(node[k]) for k in ("$anchor", "$dynamicAnchor") if k in node}
    return own.union(*(_anchors(value) for value in node.values()))


def _resolves(root: Any, pointer: str) -> bool:
    """Whether a JSON pointer ('/$defs/a', '' for the root) names something in `root`."""
    if not pointer.startswith("/"):
        return pointer == ""
    at = root
    for raw in pointer[1:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(at, dict) and part in at:
            at = at[part]
        elif isinstance(at, list) and part.isdigit() and int(part) < len(at):
            at = at[int(part)]
        else:
            return False
    return True


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
                outside = _outside_refs(schema, schema)
                if outside:
                    problems.append(
                        doc.problem(
                            where,
                            f"{schema_path}: {outside}",
                        )
                    )
                    schema = None
            except FileNotFoundError:
                problems.append(
                    doc.problem(
                        where, f"{schema_path} not found; give a path relative to {doc.path.name}"
                    )
                )
            except IsADirectoryError:
                problems.append(doc.problem(where, f"{schema_path} is a directory; name a file"))
            except (OSError, ValueError) as exc:
                problems.append(doc.problem(where, f"{schema_path} is not JSON: {exc}"))
            except RecursionError:
                problems.append(
                    doc.problem(where, f"{schema_path} is nested too deeply; flatten it")
                )
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
        if flag_or_text and _no_range_on(doc, where, name, raw, problems):
            continue
        plausible = (
            _writable(doc, where, raw, unit, problems, key="range") if unit is not None else None
        )
        points[name] = MqttPoint(
            name=name,
            topic=raw["topic"],
            pointer=raw["pointer"],
            unit=unit,
            scale=float(raw.get("scale", 1.0)),
            writable=writable,
            command=raw.get("command"),
            description=raw.get("description", ""),
            plausible=plausible,
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


def _orders(
    doc: Document,
    where: tuple[str, ...],
    raw: Mapping[str, Any],
    inherited: tuple[ByteOrder, ByteOrder],
    problems: list[Problem],
) -> tuple[ByteOrder, ByteOrder]:
    """(byte_order, word_order) from `order: CDAB` or the two keys, over `inherited`."""
    if "order" in raw:
        separate = [k for k in ("byte_order", "word_order") if k in raw]
        if separate:
            problems.append(
                doc.problem(
                    (*where, "order"),
                    f"give either 'order: {raw['order']}' or {' and '.join(separate)}, not "
                    f"both (order {raw['order']} is byte_order {ORDERS[raw['order']][0]}, "
                    f"word_order {ORDERS[raw['order']][1]})",
                )
            )
        return ORDERS[raw["order"]]
    return (
        ByteOrder(raw.get("byte_order", inherited[0])),
        ByteOrder(raw.get("word_order", inherited[1])),
    )


# The point's keys that only some forms take, and the forms that take them.
_FLAG_REGISTER_TYPES = (DataType.UINT16, DataType.INT16)
_WRITE_FUNCTIONS = {Table.HOLDING: (6, 16), Table.COIL: (5, 15)}


def _modbus_points(doc: Document, problems: list[Problem]) -> dict[str, Point]:
    data: dict[str, Any] = doc.data
    defaults = data.get("defaults", {})
    orders = _orders(doc, ("defaults",), defaults, (ByteOrder.BIG, ByteOrder.BIG), problems)
    points: dict[str, Point] = {}
    for name, raw in data["points"].items():
        where = ("points", name)
        if name not in POINTS:
            problems.append(doc.problem(where, unknown_point_message(name)))
            continue
        table = Table(raw.get("table", defaults.get("table", "holding")))
        point_type = DataType(raw["type"])
        flag = POINTS[name].unit == "flag"
        bit = raw.get("bit")
        if flag and point_type is DataType.BOOL and bit is not None and table not in _BITS:
            point_type = DataType.UINT16  # `type: bool, bit: 3`: a bit of a 16-bit register
        if not _modbus_form(doc, where, name, raw, table, point_type, problems):
            continue
        unit = _unit(doc, where, name, raw, problems)
        if unit is None:
            continue
        if flag and _no_range_on(doc, where, name, raw, problems):
            continue
        writable = _writable(doc, where, raw, unit, problems)
        plausible = None if flag else _writable(doc, where, raw, unit, problems, key="range")
        byte_order, word_order = _orders(doc, where, raw, orders, problems)
        points[name] = ModbusPoint(
            name=name,
            table=table,
            address=raw["address"],
            type=point_type,
            byte_order=byte_order,
            word_order=word_order,
            scale=float(raw.get("scale", 1.0)),
            offset=float(raw.get("offset", 0.0)),
            unit=unit,
            writable=writable,
            description=raw.get("description", ""),
            plausible=plausible,
            bit=bit,
            on=raw.get("on"),
            off=raw.get("off"),
            write_function=raw.get("write_function"),
        )
    return points


_BITS = (Table.COIL, Table.DISCRETE_INPUT)


def _a(table: Table) -> str:
    """'a coil', 'a discrete input', 'a holding register', 'an input register'."""
    return {
        Table.COIL: "a coil",
        Table.DISCRETE_INPUT: "a discrete input",
        Table.HOLDING: "a holding register",
        Table.INPUT: "an input register",
    }[table]


def _modbus_form(
    doc: Document,
    where: tuple[str, ...],
    name: str,
    raw: Mapping[str, Any],
    table: Table,
    point_type: DataType,
    problems: list[Problem],
) -> bool:
    """Whether table, type, bit, on/off and write_function fit together (problems if not)."""
    before = len(problems)
    flag = POINTS[name].unit == "flag"

    def problem(key: str, message: str) -> None:
        problems.append(doc.problem((*where, key), message))

    if point_type is DataType.BOOL and table not in _BITS:
        problem(
            "type",
            f"'bool' is the type of a coil or discrete input, not of {_a(table)}; "
            + (
                "set table to 'coil' or 'discrete_input', or for an on/off register give type "
                "'uint16' (on when nonzero, or declare its 'on:' and 'off:' values), or add "
                "'bit: N' for bit N of a status word"
                if flag
                else f"{name} is a number: give its register type, such as 'uint16'"
            ),
        )
    elif point_type is not DataType.BOOL and table in _BITS:
        problem("type", f"a {table} holds bits; set type to 'bool'")
    elif not flag and point_type is DataType.BOOL:
        problem(
            "type",
            f"{name} is a number ({POINTS[name].unit or 'plain'}), {_a(table)} holds one bit; "
            "map it to a holding or input register with a number type such as 'uint16'",
        )
    elif flag and table not in _BITS and point_type not in _FLAG_REGISTER_TYPES:
        problem(
            "type",
            f"{name} is an on/off point: map it to a coil or discrete input (type 'bool'), a "
            "16-bit register (type 'uint16' or 'int16', with 'on:'/'off:' values if not 1/0), "
            f"or 'bit: N' of one; not {point_type}",
        )
    for key in ("bit", "on", "off"):
        if key not in raw:
            continue
        if not flag:
            problem(key, f"'{key}' is for on/off points (like lamp_on); {name} is a number")
        elif table in _BITS:
            problem(key, f"{_a(table)} is already one bit; remove '{key}'")
    if flag and table not in _BITS:
        if "bit" in raw and ("on" in raw or "off" in raw):
            problem("bit", "a bit is on when set; give either 'bit:' or 'on:'/'off:', not both")
        elif ("on" in raw) != ("off" in raw):
            missing = "off" if "on" in raw else "on"
            problem(
                "on" if "on" in raw else "off",
                f"declare both 'on:' and 'off:' (add '{missing}:'), so that any other value "
                "reads as implausible; without them nonzero is on",
            )
        elif "on" in raw and raw["on"] == raw["off"]:
            problem("off", f"on and off are both {raw['on']}; give the two different values")
        else:
            low, high = (-(2**15), 2**15 - 1) if point_type is DataType.INT16 else (0, 2**16 - 1)
            for key in ("on", "off"):
                if key in raw and not low <= raw[key] <= high:
                    problem(key, f"{raw[key]} does not fit a {point_type}; give {low}..{high}")
        for key in ("scale", "offset"):
            if key in raw:
                problem(key, f"{name} is an on/off point, read as on or off; remove '{key}'")
    if "write_function" in raw:
        function = raw["write_function"]
        codes = _WRITE_FUNCTIONS.get(table)
        if codes is None:
            problem(
                "write_function",
                f"{_a(table)} cannot be written over Modbus; only coils (5, 15) and holding "
                "registers (6, 16) can",
            )
        elif function not in codes:
            problem(
                "write_function",
                f"function {function} does not write {_a(table)}; give "
                f"{' or '.join(map(str, codes))}",
            )
        elif function == 6 and point_type.registers > 1:
            problem(
                "write_function",
                f"function 6 writes one register and a {point_type} spans "
                f"{point_type.registers}; give 16",
            )
    return len(problems) == before
