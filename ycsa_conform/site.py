"""Sites: the poles (targets) being accepted, their devices, design data and parameters."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pint

from .design import DESIGN_KEYS, EQUIPMENT_DOMAINS, EQUIPMENT_FIELDS
from .devicemap import DeviceMap, load_devicemap
from .errors import InputError, Problem
from .source import Document, JsonPath, load_document, render_path
from .transport import LinkOptions
from .transport.address import DeviceAddress, parse_device_uri
from .transport.secret import Secret, parse_secret
from .units import UnitError, format_unit, parse_quantity, parse_unit

__all__ = [
    "DesignValue",
    "DeviceSpec",
    "Equipment",
    "Setting",
    "Site",
    "Subsystem",
    "Target",
    "load_site",
    "security_notes",
]

DesignValue = pint.Quantity[Any] | str | float


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting:
    """A parameter value set in a file or on the command line, and where it was set."""

    value: str | float | bool
    origin: str  # "site.yaml:12: $.parameters.road_class" or "--param road_class=II"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    role: str
    uri: str
    address: DeviceAddress
    devicemap: DeviceMap
    options: LinkOptions
    max_age: float  # seconds one poll of the device serves reads
    origin: str

    @property
    def timeout(self) -> float:
        return self.options.timeout

    @property
    def retries(self) -> int:
        return self.options.retries


@dataclass(frozen=True, slots=True, kw_only=True)
class Equipment:
    name: str
    mass: pint.Quantity[Any]
    area: pint.Quantity[Any]
    height: pint.Quantity[Any]
    shape_coefficient: float | None
    poe: str | None = None  # IEEE 802.3 type of a PoE-powered device (engineering.poe)
    arm: pint.Quantity[Any] | None = None  # bracket arm, shaft face to the device's centre


@dataclass(frozen=True, slots=True, kw_only=True)
class ShaftSegmentSpec:
    """One entry of `design.shaft_segments`: a tapered length of the shaft, bottom up."""

    bottom: pint.Quantity[Any]
    base_diameter: pint.Quantity[Any]  # across flats for a polygonal shaft
    top_diameter: pint.Quantity[Any]
    wall_thickness: pint.Quantity[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Subsystem:
    """A subsystem of a community target (video surveillance, access control...): the device
    roles that report for it and the devices the site declares it has (`inventory`)."""

    name: str
    title: Mapping[str, str]
    roles: tuple[str, ...]  # keys of the target's `devices`
    # Declared devices by class: {"camera": ("CAM-001", ..., "CAM-048"), "recorder": ("NVR-01",)}
    inventory: Mapping[str, tuple[str, ...]]
    origin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    id: str
    kind: str
    title: Mapping[str, str]
    parameters: Mapping[str, Setting]
    design: Mapping[str, DesignValue]
    equipment: tuple[Equipment, ...]
    devices: Mapping[str, DeviceSpec]
    origin: str
    # Instrument records from site (a measured lighting grid...): name → existing file.
    records: Mapping[str, Path] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    # A community's subsystems (site `subsystems:`); their devices are also in `devices`.
    subsystems: Mapping[str, Subsystem] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    # The shaft as the shop drawing gives it (`design.shaft_segments`), bottom up; empty when the
    # design gives one taper base_diameter → top_diameter.
    shaft_segments: tuple[ShaftSegmentSpec, ...] = ()

    def subsystem_of(self, role: str) -> str | None:
        """The subsystem whose devices include `role`, or None (a pole's devices)."""
        return next((s.name for s in self.subsystems.values() if role in s.roles), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    id: str
    kind: str  # "bench" or "field"
    title: Mapping[str, str]
    parameters: Mapping[str, Setting]
    targets: tuple[Target, ...]
    path: Path
    # The site's own evidence file (`evidence:` in the site file), used unless --evidence
    # names another one.
    evidence: Path | None = None


def security_notes(site: Site) -> tuple[str, ...]:
    """What a reader of the run's report must know about how devices were reached: TLS
    verification turned off, a login sent over plain MQTT, a secret file open to others."""
    notes: dict[str, None] = {}
    for target in site.targets:
        for role, device in target.devices.items():
            options, where = device.options, f"{target.id} {role} ({device.address})"
            if device.address.scheme == "mqtts" and not options.tls_verify:
                notes.setdefault(
                    f"{where}: TLS verification is off (tls: {{verify: false}}); the broker's "
                    "identity is not checked",
                    None,
                )
            login = options.username is not None or options.password is not None
            if device.address.scheme == "mqtt" and login and options.allow_plain_credentials:
                notes.setdefault(
                    f"{where}: the login goes over plain mqtt:// unencrypted "
                    "(allow_plain_credentials: true)",
                    None,
                )
            for secret in (options.username, options.password):
                exposure = secret.exposure() if secret is not None else None
                if exposure is not None:
                    notes.setdefault(exposure, None)
    return tuple(notes)


# The most ids one range may declare: far beyond any community subsystem, and a guard against a
# typo like CAM-0000001..CAM-9999999 expanding to ten million ids.
MAX_RANGE = 100_000


def _numbered(device_id: str) -> tuple[str, str] | None:
    """'CAM-001' -> ('CAM-', '001'); None when the id does not end in digits."""
    digits = len(device_id) - len(device_id.rstrip("0123456789"))
    if digits == 0:
        return None
    return device_id[:-digits], device_id[-digits:]


_LONGEST_WAIT_S = 86_400.0  # a device's timeout or max_age


def load_site(path: Path | str, *, text: str | None = None) -> Site:
    """Load a site file (or `text` standing for it) with its device maps; InputError lists all."""
    doc = load_document(path, schema="site", text=text)
    return _SiteBuilder(doc).build()


class _SiteBuilder:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.maps: dict[Path, DeviceMap] = {}
        self.broken_maps: set[Path] = set()  # reported once, however many devices use them

    def origin(self, path: JsonPath) -> str:
        return f"{self.doc.path}:{self.doc.line(path)}: {render_path(path)}"

    def build(self) -> Site:
        data: dict[str, Any] = self.doc.data
        targets = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(data["targets"]):
            if raw["id"] in seen:
                self.problems.append(
                    self.doc.problem(
                        ("targets", index, "id"),
                        f"target id {raw['id']!r} is already used by targets[{seen[raw['id']]}]; "
                        "give each target its own id",
                    )
                )
            seen.setdefault(raw["id"], index)
            targets.append(self.target(index, raw))
        evidence = None
        if "evidence" in data:
            evidence = (self.doc.path.parent / data["evidence"]).resolve()
            if not evidence.is_file():
                self.problems.append(
                    self.doc.problem(
                        ("evidence",),
                        f"evidence file {data['evidence']!r} not found (looked at {evidence}); "
                        "give the path relative to this site file",
                    )
                )
        if self.problems:
            raise InputError(self.problems)
        return Site(
            id=data["site"],
            kind=data["kind"],
            title=MappingProxyType(dict(data.get("title", {"en": data["site"]}))),
            parameters=self.settings(("parameters",), data.get("parameters", {})),
            targets=tuple(targets),
            path=self.doc.path,
            evidence=evidence,
        )

    def settings(self, where: JsonPath, raw: Mapping[str, Any]) -> Mapping[str, Setting]:
        return MappingProxyType(
            {k: Setting(value=v, origin=self.origin((*where, k))) for k, v in raw.items()}
        )

    def target(self, index: int, raw: Mapping[str, Any]) -> Target:
        where: JsonPath = ("targets", index)
        design: dict[str, DesignValue] = {}
        for key, value in raw.get("design", {}).items():
            if key in ("equipment", "shaft_segments"):
                continue
            parsed = self.design_value((*where, "design", key), key, value)
            if parsed is not None:
                design[key] = parsed
        equipment = tuple(
            e
            for i, item in enumerate(raw.get("design", {}).get("equipment", []))
            if (e := self.equipment((*where, "design", "equipment", i), item)) is not None
        )
        segments = tuple(
            g
            for i, item in enumerate(raw.get("design", {}).get("shaft_segments", []))
            if (g := self.shaft_segment((*where, "design", "shaft_segments", i), item)) is not None
        )
        devices = {}
        for role, spec in raw.get("devices", {}).items():
            device = self.device((*where, "devices", role), role, spec)
            if device is not None:
                devices[role] = device
        subsystems = self.subsystems(where, raw, devices)
        records = {}
        for name, file in raw.get("records", {}).items():
            resolved = (self.doc.path.parent / file).resolve()
            if not resolved.is_file():
                self.problems.append(
                    self.doc.problem(
                        (*where, "records", name),
                        f"record {file!r} not found (looked at {resolved}); "
                        "give the path relative to this site file",
                    )
                )
            records[name] = resolved
        return Target(
            id=raw["id"],
            kind=raw["kind"],
            title=MappingProxyType(dict(raw.get("title", {"en": raw["id"]}))),
            parameters=self.settings((*where, "parameters"), raw.get("parameters", {})),
            design=MappingProxyType(design),
            equipment=equipment,
            shaft_segments=segments,
            devices=MappingProxyType(devices),
            origin=self.origin(where),
            records=MappingProxyType(records),
            subsystems=MappingProxyType(subsystems),
        )

    def subsystems(
        self, where: JsonPath, raw: Mapping[str, Any], devices: dict[str, DeviceSpec]
    ) -> dict[str, Subsystem]:
        """The target's `subsystems`; their devices join `devices` (one role, one place)."""
        if "subsystems" not in raw:
            return {}
        if raw["kind"] != "community":
            self.problems.append(
                self.doc.problem(
                    (*where, "subsystems"),
                    f"a {raw['kind']} target has no subsystems: subsystems belong to community "
                    "targets; use kind: community",
                )
            )
            return {}
        roles: dict[str, JsonPath] = {role: (*where, "devices", role) for role in devices}
        roles.update((role, (*where, "devices", role)) for role in raw.get("devices", {}))
        declared: dict[str, JsonPath] = {}  # device id -> where the inventory first names it
        subsystems: dict[str, Subsystem] = {}
        for name, body in raw["subsystems"].items():
            place: JsonPath = (*where, "subsystems", name)
            for role, spec in body.get("devices", {}).items():
                at: JsonPath = (*place, "devices", role)
                if role in roles:
                    self.problems.append(
                        self.doc.problem(
                            at,
                            f"device role {role!r} is already used at {render_path(roles[role])} "
                            f"(line {self.doc.line(roles[role])}); give each device of the "
                            "target its own role",
                        )
                    )
                    continue
                roles[role] = at
                device = self.device(at, role, spec)
                if device is not None:
                    devices[role] = device
            inventory = {
                cls: self.inventory((*place, "inventory", cls), ids, declared)
                for cls, ids in body.get("inventory", {}).items()
            }
            subsystems[name] = Subsystem(
                name=name,
                title=MappingProxyType(dict(body.get("title", {"en": name}))),
                roles=tuple(body.get("devices", {})),
                inventory=MappingProxyType(inventory),
                origin=self.origin(place),
            )
        return subsystems

    def inventory(
        self, where: JsonPath, raw: str | list[str], declared: dict[str, JsonPath]
    ) -> tuple[str, ...]:
        """The ids of one class of an inventory: a range 'CAM-001..CAM-048' or a list."""
        if isinstance(raw, str):
            ids = self.id_range(where, raw)
            places: list[JsonPath] = [where] * len(ids)
        else:
            ids = tuple(str(i) for i in raw)
            places = [(*where, i) for i in range(len(ids))]
        kept: list[str] = []
        repeated: dict[JsonPath, list[str]] = {}
        for device_id, place in zip(ids, places, strict=True):
            if device_id in declared:
                repeated.setdefault(place, []).append(device_id)
                continue
            declared[device_id] = place
            kept.append(device_id)
        for place, again in repeated.items():
            first = declared[again[0]]
            more = f" (and {len(again) - 1} more of these ids)" if len(again) > 1 else ""
            self.problems.append(
                self.doc.problem(
                    place,
                    f"device id {again[0]!r}{more} is already declared at {render_path(first)} "
                    f"(line {self.doc.line(first)}); declare each device once",
                )
            )
        return tuple(kept)

    def id_range(self, where: JsonPath, text: str) -> tuple[str, ...]:
        """'CAM-001..CAM-003' -> ('CAM-001', 'CAM-002', 'CAM-003'); () with a problem if bad."""
        first, _, last = (part.strip() for part in text.partition(".."))
        a, b = _numbered(first), _numbered(last)
        rule = "same prefix, same zero-padded width, first <= last"
        if a is None or b is None:
            self.problems.append(
                self.doc.problem(
                    where,
                    f"{text!r} is not a range of numbered ids; write it like "
                    f"'CAM-001..CAM-048' ({rule}), or list the ids",
                )
            )
            return ()
        (prefix, digits), (last_prefix, last_digits) = a, b
        width = len(digits)
        if prefix != last_prefix:
            wrong = f"the prefixes differ ({prefix!r} and {last_prefix!r})"
            good = f"{prefix}{digits}..{prefix}{int(last_digits):0{width}d}"
        elif width != len(last_digits):
            wrong = f"the widths differ ({width} and {len(last_digits)} digits)"
            good = f"{prefix}{digits}..{prefix}{int(last_digits):0{width}d}"
        elif int(digits) > int(last_digits):
            wrong = "the first id comes after the last"
            good = f"{last}..{first}"
        elif int(last_digits) - int(digits) >= MAX_RANGE:
            wrong = f"it spans more than {MAX_RANGE} ids, more than any subsystem has"
            good = f"{prefix}{digits}..{prefix}{int(digits) + 47:0{width}d}"
        else:
            return tuple(f"{prefix}{n:0{width}d}" for n in range(int(digits), int(last_digits) + 1))
        self.problems.append(
            self.doc.problem(
                where, f"{text!r} is not a range: {wrong}; write it like {good!r} ({rule})"
            )
        )
        return ()

    def quantity(self, where: JsonPath, text: Any, unit: str) -> pint.Quantity[Any] | None:
        try:
            q = parse_quantity(text)
        except UnitError as exc:
            self.problems.append(self.doc.problem(where, f"{exc}; write it like '1 {unit}'"))
            return None
        expected = parse_unit(unit)
        if not q.is_compatible_with(expected):
            self.problems.append(
                self.doc.problem(
                    where,
                    f"{text!r} has the wrong dimension; give it in {unit!r} or a unit like it",
                )
            )
            return None
        return q

    def design_value(self, where: JsonPath, key: str, value: Any) -> DesignValue | None:
        spec = DESIGN_KEYS[key]  # the schema admits only known keys
        if spec.unit == "text":
            return str(value)
        if spec.unit == "file":
            resolved = (self.doc.path.parent / str(value)).resolve()
            if not resolved.is_file():
                self.problems.append(
                    self.doc.problem(
                        where,
                        f"{key} {value!r} not found (looked at {resolved}); "
                        "give the path relative to this site file",
                    )
                )
                return None
            return str(resolved)
        if spec.unit == "":
            number = float(value)
            if spec.domain is None or spec.domain[0] <= number <= spec.domain[1]:
                return number
            low, high = spec.domain
            self.problems.append(
                self.doc.problem(
                    where,
                    f"{number:g} is not a plausible {spec.description}: it lies outside "
                    f"{low:g} .. {high:g}; check the number",
                )
            )
            return None
        q = self.quantity(where, value, spec.unit)
        if q is None or spec.domain is None:
            return q
        return self.within(where, q, spec.unit, spec.domain, spec.description)

    def within(
        self,
        where: JsonPath,
        q: pint.Quantity[Any],
        unit: str,
        domain: tuple[float, float],
        what: str,
    ) -> pint.Quantity[Any] | None:
        """`q`, or None with a problem when it lies outside the values `what` can have."""
        low, high = domain
        if low <= q.to(unit).magnitude <= high:
            return q
        shown = format_unit(parse_unit(unit))
        self.problems.append(
            self.doc.problem(
                where,
                f"{q.magnitude:g} {format_unit(q.units)} is not a plausible {what}: it lies "
                f"outside "
                f"{low:g} {shown} .. {high:g} {shown}; check the number and its unit",
            )
        )
        return None

    def equipment(self, where: JsonPath, raw: Mapping[str, Any]) -> Equipment | None:
        values = {}
        for field, unit in EQUIPMENT_FIELDS.items():
            if field in raw and unit and unit != "text":
                q = self.quantity((*where, field), raw[field], unit)
                if q is not None and field in EQUIPMENT_DOMAINS:
                    q = self.within(
                        (*where, field), q, unit, EQUIPMENT_DOMAINS[field], f"equipment {field}"
                    )
                values[field] = q
        mass, area, height = values["mass"], values["area"], values["height"]
        if mass is None or area is None or height is None:
            return None
        coefficient = raw.get("shape_coefficient")
        return Equipment(
            name=raw["name"],
            mass=mass,
            area=area,
            height=height,
            shape_coefficient=float(coefficient) if coefficient is not None else None,
            poe=str(raw["poe"]) if "poe" in raw else None,
            arm=values.get("arm"),
        )

    def shaft_segment(self, where: JsonPath, raw: Mapping[str, Any]) -> ShaftSegmentSpec | None:
        units = {"bottom": "m", "base_diameter": "mm", "top_diameter": "mm", "wall_thickness": "mm"}
        values = {k: self.quantity((*where, k), raw[k], u) for k, u in units.items()}
        for k, q in values.items():
            spec = DESIGN_KEYS.get(k)
            if q is not None and spec is not None and spec.domain is not None:
                values[k] = self.within((*where, k), q, spec.unit, spec.domain, spec.description)
        bottom, base, top, wall = (values[k] for k in units)
        if bottom is None or base is None or top is None or wall is None:
            return None
        return ShaftSegmentSpec(
            bottom=bottom, base_diameter=base, top_diameter=top, wall_thickness=wall
        )

    def device(self, where: JsonPath, role: str, raw: Mapping[str, Any]) -> DeviceSpec | None:
        ok = True
        try:
            address = parse_device_uri(raw["uri"])
        except ValueError as exc:
            self.problems.append(self.doc.problem((*where, "uri"), str(exc)))
            ok = False
        map_path = (self.doc.path.parent / raw["map"]).resolve()
        if map_path in self.broken_maps:
            return None
        devicemap = self.maps.get(map_path)
        if devicemap is None:
            if not map_path.is_file():
                self.problems.append(
                    self.doc.problem(
                        (*where, "map"),
                        f"device map {raw['map']!r} not found (looked at {map_path}); "
                        "give the path relative to this site file",
                    )
                )
                return None
            try:
                devicemap = self.maps[map_path] = load_devicemap(map_path)
            except InputError as exc:
                self.broken_maps.add(map_path)
                self.problems.extend(exc.problems)
                return None
        timeout = self.seconds(where, raw, "timeout", 1.0, zero=False)
        max_age = self.seconds(where, raw, "max_age", 10.0, zero=True)
        secrets: dict[str, Secret | None] = {}
        for key in ("username", "password"):
            secrets[key] = None
            if key in raw:
                try:
                    secrets[key] = parse_secret(raw[key], base=self.doc.path.parent)
                except ValueError as exc:
                    self.problems.append(self.doc.problem((*where, key), str(exc)))
        tls_raw = raw.get("tls", {})
        tls_verify = bool(tls_raw.get("verify", True))
        tls = {k: (self.doc.path.parent / v).resolve() for k, v in tls_raw.items() if k != "verify"}
        for key, file in tls.items():
            if not file.is_file():
                self.problems.append(
                    self.doc.problem(
                        (*where, "tls", key),
                        f"{file} not found; give the path relative to this site file",
                    )
                )
        if tls_raw and ok and address.scheme != "mqtts":
            self.problems.append(
                self.doc.problem(
                    (*where, "tls"), f"TLS settings need an mqtts:// URI, not {address}"
                )
            )
        plain = bool(raw.get("allow_plain_credentials", False))
        login = [key for key in ("username", "password") if key in raw]
        if login and ok and address.scheme == "mqtt" and not plain:
            # Refused here, before anything is sent (the link refuses it too).
            self.problems.append(
                self.doc.problem(
                    (*where, login[-1]),
                    f"the login would cross the network unencrypted over {address}; use "
                    "mqtts://, or add 'allow_plain_credentials: true' to the device to send it "
                    "in clear on purpose (the report then says so)",
                )
            )
        if ok and devicemap.protocol != address.protocol:
            self.problems.append(
                self.doc.problem(
                    (*where, "map"),
                    f"device map {devicemap.id!r} is for {devicemap.protocol}, but {address} "
                    f"speaks {address.protocol}; give a {address.protocol} device map",
                )
            )
            return None
        if not ok or timeout is None or max_age is None:
            return None
        options = LinkOptions(
            timeout=timeout,
            retries=int(raw.get("retries", 0)),
            max_gap=int(raw.get("max_gap", 8)),
            username=secrets["username"],
            password=secrets["password"],
            ca=tls.get("ca"),
            cert=tls.get("cert"),
            key=tls.get("key"),
            tls_verify=tls_verify,
            allow_plain_credentials=plain,
        )
        return DeviceSpec(
            role=role,
            uri=raw["uri"],
            address=address,
            devicemap=devicemap,
            options=options,
            max_age=max_age,
            origin=self.origin(where),
        )

    def seconds(
        self, where: JsonPath, raw: Mapping[str, Any], key: str, default: float, *, zero: bool
    ) -> float | None:
        if key not in raw:
            return default
        q = self.quantity((*where, key), raw[key], "s")
        if q is None:
            return None
        value = float(q.to("s").magnitude)
        if value < 0 or (value == 0 and not zero):
            self.problems.append(
                self.doc.problem((*where, key), f"{key} must be above 0 s, not {raw[key]!r}")
            )
            return None
        if value > _LONGEST_WAIT_S:
            # '1e300 s' overflowed the transport's deadline arithmetic; no device answers a
            # day late.
            self.problems.append(
                self.doc.problem(
                    (*where, key),
                    f"{key} {raw[key]!r} is longer than a day; give it in seconds, like '1 s'",
                )
            )
            return None
        return value
