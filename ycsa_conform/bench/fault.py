"""Faults the built-in bench can inject (`--bench-fault NAME`), and what each should break.

The catalogue is data, `benches/faults.yaml` (schema `faults.schema.json`): a fault replaces
some of the pole's `PoleSettings`, and `breaks` lists the requirement ids a correct profile run
must then report, every one with the fault's `verdict` (fail, or error for a device that cannot
be read). `FAULTS` is the built-in catalogue, read on first use; `load_faults` reads any file.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ycsa_conform.errors import InputError, Problem
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Verdict
from ycsa_conform.source import load_document

from .physics import PoleSettings

__all__ = [
    "FAULTS",
    "Fault",
    "apply_faults",
    "builtin_faults",
    "configure_gateway",
    "configure_meter",
    "load_faults",
    "resolve_faults",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    name: str
    description: str  # English; what the device does wrong, with values and units
    breaks: tuple[str, ...]  # requirement ids of the built-in smart-pole profile
    verdict: Verdict  # what every requirement in `breaks` becomes: FAIL or ERROR
    overrides: Mapping[str, Any] = field(hash=False)  # PoleSettings field -> value
    description_zh: str | None = None


def load_faults(path: Path) -> MappingProxyType[str, Fault]:
    """The fault catalogue in `path`, in file order; InputError names every bad entry."""
    doc = load_document(path, schema="faults")
    faults: dict[str, Fault] = {}
    problems: list[Problem] = []
    for name, raw in doc.data["faults"].items():
        overrides: dict[str, Any] = {}
        for key, value in raw["set"].items():
            try:
                overrides[key] = _setting(key, value)
            except ValueError as exc:
                problems.append(doc.problem(("faults", name, "set", key), str(exc)))
        faults[name] = Fault(
            name=name,
            description=raw["description"]["en"],
            description_zh=raw["description"].get("zh"),
            breaks=tuple(raw["breaks"]),
            verdict=Verdict(raw["verdict"]),
            overrides=MappingProxyType(overrides),
        )
    if problems:
        raise InputError(problems)
    return MappingProxyType(faults)


@functools.cache
def builtin_faults() -> MappingProxyType[str, Fault]:
    """The built-in catalogue, `benches/faults.yaml`, read once."""
    return load_faults(data_dir("benches") / "faults.yaml")


class _BuiltinFaults(Mapping[str, Fault]):
    # Read on first use, not on import: a broken catalogue then shows as an InputError where a
    # fault is asked for, instead of breaking every import of the bench (and of the plugin).
    __slots__ = ()

    def __getitem__(self, name: str) -> Fault:
        return builtin_faults()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(builtin_faults())

    def __len__(self) -> int:
        return len(builtin_faults())

    def __repr__(self) -> str:
        return f"<bench faults {', '.join(self)}>"


FAULTS: Mapping[str, Fault] = _BuiltinFaults()


_FIELDS = {f.name: f for f in dataclasses.fields(PoleSettings)}
_HINTS = typing.get_type_hints(PoleSettings)
_WANTED: dict[object, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    type(None): "null",
    frozenset: "a list of device roles",
}


def _setting(key: str, value: Any) -> Any:
    """`value` as the PoleSettings field `key` holds it; ValueError says what to write instead."""
    hint = _HINTS.get(key)
    if hint is None:
        close = difflib.get_close_matches(key, list(_FIELDS), n=1)
        did_you_mean = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"unknown setting {key!r}; {did_you_mean}a fault sets fields of PoleSettings "
            f"(ycsa_conform/bench/physics.py): {', '.join(_FIELDS)}"
        )
    ok, converted = _convert(hint, value)
    if ok:
        return converted
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    wanted = " or ".join(_WANTED[typing.get_origin(o) or o] for o in options)
    example = _example(key)
    like = f", like {example}" if example else ""
    raise ValueError(
        f"{json.dumps(value, ensure_ascii=False)} does not fit {key} "
        f"(PoleSettings.{key}: {_type_name(hint)}); give {wanted}{like}"
    )


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (types.UnionType, typing.Union)


def _convert(hint: Any, value: Any) -> tuple[bool, Any]:
    if _is_union(hint):
        for option in typing.get_args(hint):
            ok, converted = _convert(option, value)
            if ok:
                return True, converted
        return False, None
    if hint is type(None):
        return value is None, None
    if typing.get_origin(hint) is frozenset:
        # Role lists: YAML has no sets, so a list (the schema allows only text items).
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return True, frozenset(value)
        return False, None
    if isinstance(value, bool):  # bool is an int to Python, never a number to a fault
        return hint is bool, value
    if hint is float and isinstance(value, int | float):
        return True, float(value)
    return isinstance(value, hint), value


def _type_name(hint: Any) -> str:
    if _is_union(hint):
        return " | ".join(_type_name(o) for o in typing.get_args(hint))
    if hint is type(None):
        return "None"
    return str(hint) if typing.get_origin(hint) else str(hint.__name__)


def _example(key: str) -> str:
    """A value of the right kind for the field `key` to show in a message: its default."""
    default = _FIELDS[key].default
    if _FIELDS[key].default_factory is not dataclasses.MISSING:
        return "[meter]"  # every defaulted-by-factory field is a role set
    if default is None or default is dataclasses.MISSING:
        return ""
    return json.dumps(default)


def resolve_faults(names: Iterable[str]) -> tuple[Fault, ...]:
    """The faults named, in order, without repeats; ValueError names the unknown one and the fix."""
    faults: list[Fault] = []
    for name in names:
        fault = FAULTS.get(name)
        if fault is None:
            close = difflib.get_close_matches(name, list(FAULTS), n=1, cutoff=0.5)
            did_you_mean = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"unknown bench fault {name!r}; {did_you_mean}known faults: {', '.join(FAULTS)}"
            )
        if fault not in faults:
            faults.append(fault)
    return tuple(faults)


def apply_faults(settings: PoleSettings, faults: Iterable[Fault]) -> PoleSettings:
    """The settings with every fault's overrides applied."""
    for fault in faults:
        settings = dataclasses.replace(settings, **fault.overrides)
    return settings


def configure_meter(meter: Any, role: str, settings: PoleSettings) -> None:
    """Set a simulated DL/T 645 meter's fault switches from the pole's settings."""
    meter.silent = role in settings.silent_roles
    meter.garble = role in settings.malformed_roles
    meter.delay = settings.slow_delay if role in settings.slow_roles else 0.0


def configure_gateway(gateway: Any, role: str, settings: PoleSettings) -> None:
    """Set a simulated gateway's fault switches from the pole's settings."""
    gateway.heartbeat_stopped = role in settings.silent_roles
    gateway.malformed_json = role in settings.malformed_roles
    gateway.schema_violation = settings.schema_violation
