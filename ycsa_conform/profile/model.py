"""Profiles as frozen data: what the loader makes of a profile YAML file."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pint

from ycsa_conform.checks import Check
from ycsa_conform.units import UnitError, format_quantity, format_unit, parse_quantity

__all__ = [
    "Area",
    "Condition",
    "Confidence",
    "Extension",
    "Level",
    "Parameter",
    "ParameterType",
    "Profile",
    "Reference",
    "Requirement",
    "SourceDoc",
]


class Area(StrEnum):
    MOUNTING_LOAD = "mounting-load"
    POWER = "power"
    LIGHTING = "lighting"
    DATA_INTERFACE = "data-interface"
    GENERAL = "general"


class Level(StrEnum):
    MANDATORY = "mandatory"
    RECOMMENDED = "recommended"
    OPTIONAL = "optional"


class Confidence(StrEnum):
    """How sure we are of a value (docs/sources.md): read, secondary, memory, uncertain,
    inferred."""

    R = "R"
    S = "S"
    M = "M"
    U = "U"
    I = "I"  # noqa: E741 - the tag's own letter


class ParameterType(StrEnum):
    QUANTITY = "quantity"
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"


ParamValue = pint.Quantity[Any] | str | float | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDoc:
    id: str
    title: Mapping[str, str]
    kind: str
    url: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    name: str
    title: Mapping[str, str]
    type: ParameterType
    unit: pint.Unit | None
    values: tuple[str, ...]
    default: ParamValue
    source: str | None
    confidence: Confidence | None
    # The values it can plausibly take, as the profile's `range: LOW .. HIGH` gives them (in
    # `unit` for a quantity); None: any finite value. A window of 1e12 s or a zero limit where
    # a positive one is meant is a slip of the hand, refused where it is set.
    plausible: tuple[ParamValue, ParamValue] | None = None
    plausible_text: str = ""  # the range as the profile writes it

    def coerce(self, raw: str | float | bool) -> ParamValue:
        """Turn a value from a site file or --param into this parameter's type.

        Raises ValueError saying what is expected.
        """
        value = self.convert(raw)
        if self.plausible is not None and isinstance(value, (float, pint.Quantity)):
            low, high = self.plausible
            if not low <= value <= high:  # type: ignore[operator]  # same kind, same unit
                raise ValueError(
                    f"{raw!r} lies outside the plausible range {self.range_text()} of "
                    f"{self.name}; give a value within it"
                )
        return value

    def range_text(self) -> str:
        if self.plausible is None:
            return ""
        return self.plausible_text or " .. ".join(self.show(v) for v in self.plausible)

    def convert(self, raw: str | float | bool) -> ParamValue:
        """`coerce` without the plausible range."""
        if self.type is ParameterType.QUANTITY:
            assert self.unit is not None
            unit = format_unit(self.unit) or "a number"
            try:
                q = parse_quantity(raw) if not isinstance(raw, bool) else None
            except UnitError as exc:
                raise ValueError(f"{exc}; give it in {unit}") from None
            if q is not None and q.units == q._REGISTRY.dimensionless and self.unit != q.units:
                raise ValueError(f"{raw!r} has no unit; write it like '{raw} {unit}'")
            if q is None or not q.is_compatible_with(self.unit):
                raise ValueError(f"{raw!r} is not a quantity in {unit}")
            return q.to(self.unit)
        if self.type is ParameterType.TEXT:
            text = str(raw)
            if self.values and text not in self.values:
                raise ValueError(f"{raw!r} is not one of {', '.join(self.values)}")
            return text
        if self.type is ParameterType.NUMBER:
            try:
                # A YAML 'true' is a bool: not a number (it used to become NaN, which met
                # every limit). float('nan'), float('inf') and '1e400' are no numbers either.
                number = math.nan if isinstance(raw, bool) else float(raw)
            except (ValueError, OverflowError):
                number = math.nan
            if not math.isfinite(number):
                raise ValueError(
                    f"{raw!r} is not a finite number; write a plain number, like '0.9'"
                )
            return number
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "yes", "1"):
            return True
        if str(raw).lower() in ("false", "no", "0"):
            return False
        raise ValueError(f"{raw!r} is not true or false")

    def show(self, value: ParamValue) -> str:
        return format_quantity(value) if isinstance(value, pint.Quantity) else str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reference:
    source: str
    clause: str | None
    confidence: Confidence
    association_clause: str | None
    url: str | None
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "source": self.source,
            "clause": self.clause,
            "confidence": self.confidence.value,
            "association_clause": self.association_clause,
        }
        if self.url:
            d["url"] = self.url
        if self.note:
            d["note"] = self.note
        return d

    def cite(self) -> str:
        clause = f" {self.clause}" if self.clause else ""
        return f"{self.source}{clause}, {self.confidence.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """An applicability condition (`when`): all of a requirement's conditions must hold."""

    device: str | None = None
    design: str | None = None
    parameter: str | None = None
    allowed: tuple[str | float | bool, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    id: str
    title: Mapping[str, str]
    area: Area
    level: Level
    description: str
    refs: tuple[Reference, ...]
    when: tuple[Condition, ...]
    check: Check
    # Where it is defined: with `extends`, a composed profile holds requirements of its bases,
    # and an error or a report names the profile and file that wrote them.
    profile: str
    profile_version: str
    path: Path
    line: int
    # The target kinds it applies to in the profile that holds it (`extends[].targets`).
    target_kinds: tuple[str, ...]
    subsystem: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Extension:
    """A profile another one is composed from (`extends`), as its report names it."""

    id: str
    version: str
    sha256: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    id: str
    version: str
    title: Mapping[str, str]
    status: str
    description: str
    target_kinds: tuple[str, ...]
    sources: Mapping[str, SourceDoc]
    parameters: Mapping[str, Parameter]
    requirements: tuple[Requirement, ...]
    path: Path
    # Over the file's own text and every base's sha256, so that a change in a base changes it.
    sha256: str
    # Every profile this one is composed from, transitively, bases before what extends them.
    extends: tuple[Extension, ...] = ()
