"""Faults the built-in bench can inject (`--bench-fault NAME`), and what each should break.

The catalogue is data, `benches/faults.yaml` (schema `faults.schema.json`): a fault belongs to
one bench (`bench:`, smart-pole unless it says otherwise) and replaces some of that bench's
settings (`PoleSettings` of the smart pole, `CommunitySettings` of the smart community), and
`breaks` lists the requirement ids a correct profile run must then report, every one with the
fault's `verdict` (fail; error for a device that cannot be read; marginal for what a check only
flags, like a device the site does not declare reporting to the platform); `errors` the ones a
`fail` fault also leaves undecidable (a broken telemetry payload fails its schema check, and a
command check that must read the value to restore from it cannot be decided); `untested` the
ones it leaves not applicable and untested, because a state they assume cannot be reached on the
faulty device (a lamp stuck at 60 % never reaches the full output SP-PWR-008 is judged at).
`builtin_faults()` is the built-in catalogue of every bench, `bench_faults(name)` one bench's
part of it, read on first use; `load_faults` reads any file. `FAULTS` is the smart-pole
bench's part, the faults the plugin's `--bench-fault` injects. `resolve_faults` knows every
bench's faults; a fault of one bench is refused by another when its settings are applied
(`apply_faults`), before anything starts.
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

from .community import CommunitySettings
from .physics import PoleSettings

__all__ = [
    "FAULTS",
    "Fault",
    "apply_faults",
    "bench_faults",
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
    breaks: tuple[str, ...]  # requirement ids of the profile the bench is for
    verdict: Verdict  # what every requirement in `breaks` becomes: FAIL, ERROR or MARGINAL
    overrides: Mapping[str, Any] = field(hash=False)  # settings field -> value
    description_zh: str | None = None
    bench: str = "smart-pole"  # the bench whose settings `overrides` replaces
    errors: tuple[str, ...] = ()  # requirement ids that become errors as a side effect
    # Requirement ids left untested (not applicable, untested): a state they assume cannot be
    # reached on the faulty device, so they are not judged, neither passed nor failed.
    untested: tuple[str, ...] = ()


def load_faults(path: Path) -> MappingProxyType[str, Fault]:
    """The fault catalogue in `path`, in file order; InputError names every bad entry."""
    doc = load_document(path, schema="faults")
    faults: dict[str, Fault] = {}
    problems: list[Problem] = []
    for name, raw in doc.data["faults"].items():
        bench = raw.get("bench", "smart-pole")
        overrides: dict[str, Any] = {}
        for key, value in raw["set"].items():
            try:
                overrides[key] = _setting(_SETTINGS[bench], key, value)
            except ValueError as exc:
                problems.append(doc.problem(("faults", name, "set", key), str(exc)))
        if raw.get("errors") and raw["verdict"] != "fail":
            problems.append(
                doc.problem(
                    ("faults", name, "errors"),
                    "'errors' lists what a failing fault also leaves undecidable; with "
                    "'verdict: error' put those ids under 'breaks'",
                )
            )
        faults[name] = Fault(
            name=name,
            description=raw["description"]["en"],
            description_zh=raw["description"].get("zh"),
            breaks=tuple(raw["breaks"]),
            errors=tuple(raw.get("errors", ())),
            untested=tuple(raw.get("untested", ())),
            verdict=Verdict(raw["verdict"]),
            overrides=MappingProxyType(overrides),
            bench=bench,
        )
    if problems:
        raise InputError(problems)
    return MappingProxyType(faults)


@functools.cache
def builtin_faults() -> MappingProxyType[str, Fault]:
    """The built-in catalogue, `benches/faults.yaml`, read once."""
    return load_faults(data_dir("benches") / "faults.yaml")


@functools.cache
def _of_bench(bench: str) -> MappingProxyType[str, Fault]:
    return MappingProxyType({k: f for k, f in builtin_faults().items() if f.bench == bench})


class _BuiltinFaults(Mapping[str, Fault]):
    # Read on first use, not on import: a broken catalogue then shows as an InputError where a
    # fault is asked for, instead of breaking every import of the bench (and of the plugin).
    __slots__ = ("_bench",)

    def __init__(self, bench: str) -> None:
        self._bench = bench

    def __getitem__(self, name: str) -> Fault:
        return _of_bench(self._bench)[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_of_bench(self._bench))

    def __len__(self) -> int:
        return len(_of_bench(self._bench))

    def __repr__(self) -> str:
        return f"<{self._bench} bench faults {', '.join(self)}>"


def bench_faults(bench: str) -> Mapping[str, Fault]:
    """The built-in faults of the bench `bench`, in file order; ValueError for an unknown bench."""
    if bench not in _SETTINGS:
        raise ValueError(f"unknown bench {bench!r}; benches with faults: {', '.join(_SETTINGS)}")
    return _BuiltinFaults(bench)


# The smart-pole bench's faults: what `--bench-fault` offers and `bench faults` lists. (The
# smart-community bench's are `bench_faults("smart-community")`.)
FAULTS: Mapping[str, Fault] = _BuiltinFaults("smart-pole")


Settings = PoleSettings | CommunitySettings
_S = typing.TypeVar("_S", PoleSettings, CommunitySettings)


@dataclass(frozen=True, slots=True, kw_only=True)
class _SettingsClass:
    """The settings a bench's faults replace, and how to name them in a message."""

    cls: type[PoleSettings] | type[CommunitySettings]
    module: str  # where the class is defined, for the reader who wants to look
    role: str  # a device role of the bench, for an example role list
    fields: Mapping[str, dataclasses.Field[Any]] = field(init=False, hash=False)
    hints: Mapping[str, Any] = field(init=False, hash=False)

    def __post_init__(self) -> None:
        fields = {f.name: f for f in dataclasses.fields(self.cls)}
        object.__setattr__(self, "fields", MappingProxyType(fields))
        object.__setattr__(self, "hints", MappingProxyType(typing.get_type_hints(self.cls)))


# The schema's `bench` enum names the same benches.
_SETTINGS = {
    "smart-pole": _SettingsClass(
        cls=PoleSettings, module="ycsa_conform/bench/physics.py", role="meter"
    ),
    "smart-community": _SettingsClass(
        cls=CommunitySettings, module="ycsa_conform/bench/community.py", role="video"
    ),
}
_WANTED: dict[object, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    type(None): "null",
    frozenset: "a list of device roles",
}


def _setting(settings: _SettingsClass, key: str, value: Any) -> Any:
    """`value` as the settings field `key` holds it; ValueError says what to write instead."""
    name = settings.cls.__name__
    hint = settings.hints.get(key)
    if hint is None:
        close = difflib.get_close_matches(key, list(settings.fields), n=1)
        did_you_mean = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"unknown setting {key!r}; {did_you_mean}a fault sets fields of {name} "
            f"({settings.module}): {', '.join(settings.fields)}"
        )
    ok, converted = _convert(hint, value)
    if ok:
        return converted
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    wanted = settings.fields[key].metadata.get("wanted") or " or ".join(
        _WANTED[typing.get_origin(o) or o] for o in options
    )
    example = _example(settings, key)
    like = f", like {example}" if example else ""
    raise ValueError(
        f"{json.dumps(value, ensure_ascii=False)} does not fit {key} "
        f"({name}.{key}: {_type_name(hint)}); give {wanted}{like}"
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


def _example(settings: _SettingsClass, key: str) -> str:
    """A value of the right kind for the field `key` to show in a message: its default."""
    default = settings.fields[key].default
    if "example" in settings.fields[key].metadata:
        return str(settings.fields[key].metadata["example"])
    if settings.fields[key].default_factory is not dataclasses.MISSING:
        return f"[{settings.role}]"  # the other defaulted-by-factory fields are role sets
    if default is None or default is dataclasses.MISSING:
        return ""
    return json.dumps(default)


def resolve_faults(names: Iterable[str]) -> tuple[Fault, ...]:
    """The faults named, in order, without repeats; ValueError names the unknown one and the fix."""
    faults: list[Fault] = []
    for name in names:
        known = builtin_faults()
        fault = known.get(name)
        if fault is None:
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
            did_you_mean = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"unknown bench fault {name!r}; {did_you_mean}known faults: {', '.join(known)}"
            )
        if fault not in faults:
            faults.append(fault)
    return tuple(faults)


def apply_faults(settings: _S, faults: Iterable[Fault]) -> _S:
    """The settings with every fault's overrides applied.

    ValueError for a fault of another bench, naming its bench and this bench's faults.
    """
    faults = tuple(faults)
    bench = next(name for name, s in _SETTINGS.items() if s.cls is type(settings))
    for fault in faults:
        if fault.bench != bench:
            own = list(_of_bench(bench))
            raise ValueError(
                f"fault {fault.name!r} is for the {fault.bench} bench, not the {bench} bench; "
                f"faults of the {bench} bench: {', '.join(own) or 'none'}"
            )
    for fault in faults:
        changes = dict(fault.overrides)
        for key, value in changes.items():
            # Role and device sets add up: two faults silencing two devices silence both.
            if isinstance(value, frozenset):
                changes[key] = getattr(settings, key) | value
        settings = dataclasses.replace(settings, **changes)
    return settings


def configure_meter(meter: Any, role: str, settings: PoleSettings) -> None:
    """Set a simulated DL/T 645 meter's fault switches from the pole's settings."""
    meter.silent = role in settings.silent_roles
    meter.garble = role in settings.malformed_roles
    meter.delay = settings.slow_delay if role in settings.slow_roles else 0.0


def count_meter_writes(meter: Any, role: str, pole: Any) -> None:
    """Count the write frames a simulated meter receives on its pole (`Pole.writes`)."""
    meter.on_write = functools.partial(pole.write_received, role)


def configure_gateway(gateway: Any, role: str, settings: Settings) -> None:
    """Set a simulated gateway's fault switches from the pole's (or community's) settings."""
    gateway.heartbeat_stopped = role in settings.silent_roles
    gateway.malformed_json = role in settings.malformed_roles
    gateway.schema_violation = settings.schema_violation
    # Pole-only faults (the community's settings have none of these).
    gateway.ack_commands = not getattr(settings, "commands_unacknowledged", False)
    gateway.equipment_stale_for = getattr(settings, "equipment_stale_for", None)
    gateway.drop_period = getattr(settings, "connection_drop_period", None)
