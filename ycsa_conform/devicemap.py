"""Device maps: how a vendor's device exposes the logical points (see `point.POINTS`)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

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
    "ModbusPoint",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceMap:
    id: str
    version: str
    title: Mapping[str, str]
    protocol: str
    points: Mapping[str, ModbusPoint]
    path: Path


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
    defaults = data.get("defaults", {})
    problems: list[Problem] = []
    points: dict[str, ModbusPoint] = {}
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
        try:
            unit = parse_unit(raw.get("unit", ""))
        except UnitError as exc:
            problems.append(doc.problem((*where, "unit"), f"{exc}; write it like 'V' or 'kWh'"))
            continue
        if (message := check_point_unit(name, unit)) is not None:
            problems.append(doc.problem((*where, "unit"), message))
        writable = None
        if "writable" in raw:
            try:
                writable = parse_limit(raw["writable"])
            except LimitError as exc:
                problems.append(doc.problem((*where, "writable"), str(exc)))
            else:
                for q in writable.quantities():
                    if not q.is_compatible_with(1 * unit):
                        problems.append(
                            doc.problem(
                                (*where, "writable"),
                                f"range {raw['writable']!r} is not in the point's unit "
                                f"{unit:~P}; write it in {unit:~P}",
                            )
                        )
                        break
        points[name] = ModbusPoint(
            name=name,
            table=table,
            address=raw["address"],
            type=point_type,
            byte_order=ByteOrder(raw.get("byte_order", defaults.get("byte_order", "big"))),
            word_order=ByteOrder(raw.get("word_order", defaults.get("word_order", "big"))),
            scale=float(raw.get("scale", 1.0)),
            offset=float(raw.get("offset", 0.0)),
            unit=unit if unit != ureg.dimensionless else ureg.dimensionless,
            writable=writable,
            description=raw.get("description", ""),
        )
    if problems:
        raise InputError(problems)
    return DeviceMap(
        id=data["devicemap"],
        version=str(data["version"]),
        title=MappingProxyType(dict(data.get("title", {"en": data["devicemap"]}))),
        protocol=data["protocol"],
        points=MappingProxyType(points),
        path=doc.path,
    )
