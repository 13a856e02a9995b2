"""Bench definitions (`benches/NAME.yaml`): which simulated devices run, and how they look."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ycsa_conform.devicemap import DeviceMap, load_devicemap
from ycsa_conform.errors import InputError
from ycsa_conform.resources import data_dir
from ycsa_conform.source import load_document

__all__ = ["BenchDefinition", "SimulatedDevice", "bench_path", "list_benches", "load_bench"]

_SITE_SUFFIX = ".site.yaml"
_NOT_BENCHES = frozenset({"faults.yaml"})  # the fault catalogue lives beside the benches


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedDevice:
    role: str
    transport: str  # "modbus-tcp", "modbus-rtu", "dlt645" or "mqtt"
    model: str
    devicemap: DeviceMap
    unit: int = 0  # Modbus unit id
    address: str = ""  # DL/T 645 meter address
    prefix: str = ""  # MQTT topic prefix


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchDefinition:
    name: str
    title: MappingProxyType[str, str]
    site_path: Path
    devices: tuple[SimulatedDevice, ...]
    path: Path
    simulation: str = "pole"  # "pole" (bench/pole.py) or "community" (bench/community.py)
    includes: tuple[str, ...] = ()  # built-in benches started with this one (one member each)
    # Design values the included benches' poles have as fitted in this bench (a community's
    # pole with a community luminaire), applied to their targets of the running bench's site.
    pole_design: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def list_benches() -> list[str]:
    """The names of the built-in benches."""
    folder = data_dir("benches")
    return sorted(
        p.name.removesuffix(".yaml")
        for p in folder.glob("*.yaml")
        if not p.name.endswith(_SITE_SUFFIX) and p.name not in _NOT_BENCHES
    )


def bench_path(name: str) -> Path:
    """The definition file of the built-in bench `name`; ValueError lists the known ones."""
    known = list_benches()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        did_you_mean = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"unknown bench {name!r}; {did_you_mean}built-in benches: {', '.join(known)}"
        )
    return data_dir("benches") / f"{name}.yaml"


def load_bench(path: Path) -> BenchDefinition:
    """Load a bench definition and the device maps it names; InputError on a bad file."""
    doc = load_document(path, schema="bench")
    data: dict[str, Any] = doc.data
    folder = doc.path.parent
    site_path = folder / data["site"]
    if not site_path.is_file():
        raise InputError([doc.problem(("site",), f"{site_path} does not exist; fix the path")])
    includes = tuple(data.get("includes", ()))
    for i, name in enumerate(includes):
        known = [b for b in list_benches() if b != data["bench"]]
        if name not in known:
            raise InputError(
                [
                    doc.problem(
                        ("includes", i),
                        f"{name!r} is not another built-in bench; name one of {', '.join(known)}",
                    )
                ]
            )
    devices = []
    seen_roles: set[str] = set()
    seen_units: set[tuple[str, int]] = set()
    for i, raw in enumerate(data["devices"]):
        if raw["role"] in seen_roles:
            raise InputError([doc.problem(("devices", i, "role"), "this role is used twice")])
        if "unit" in raw and (raw["transport"], raw["unit"]) in seen_units:
            raise InputError([doc.problem(("devices", i, "unit"), "this unit id is used twice")])
        seen_roles.add(raw["role"])
        seen_units.add((raw["transport"], raw.get("unit", 0)))
        devices.append(
            SimulatedDevice(
                role=raw["role"],
                transport=raw["transport"],
                model=raw["model"],
                devicemap=load_devicemap(folder / raw["map"]),
                unit=raw.get("unit", 0),
                address=raw.get("address", ""),
                prefix=raw.get("prefix", ""),
            )
        )
    return BenchDefinition(
        name=data["bench"],
        title=MappingProxyType(dict(data["title"])),
        site_path=site_path,
        devices=tuple(devices),
        path=doc.path,
        simulation=data.get("simulation", "pole"),
        includes=includes,
        pole_design=MappingProxyType(dict(data.get("pole_design") or {})),
    )
