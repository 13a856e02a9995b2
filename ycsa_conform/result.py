"""Verdicts and results: what a check decides, in a form every report can render."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "DeviceInfo",
    "Incident",
    "MapInfo",
    "Measurement",
    "ProfileInfo",
    "ResolvedParameter",
    "Result",
    "RunInfo",
    "Series",
    "Source",
    "Verdict",
    "worst",
]


class Verdict(StrEnum):
    PASS = "pass"
    MARGINAL = "marginal"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    PENDING = "pending"


# Worst first: a requirement with several measurements takes the worst of their verdicts.
_SEVERITY = {
    Verdict.ERROR: 5,
    Verdict.FAIL: 4,
    Verdict.PENDING: 3,
    Verdict.MARGINAL: 2,
    Verdict.PASS: 1,
    Verdict.NOT_APPLICABLE: 0,
}


def worst(verdicts: list[Verdict]) -> Verdict:
    """The verdict that decides a set; an empty set is not applicable."""
    return max(verdicts, key=_SEVERITY.__getitem__, default=Verdict.NOT_APPLICABLE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """Where a measured value came from: the device and the way it was reached."""

    device: str
    scheme: str
    address: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"device": self.device, "scheme": self.scheme, "address": self.address}


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One decided value. `value` is a JSON scalar (number, string, bool) in `unit`."""

    name: str
    value: float | str | bool | None
    unit: str
    limit: str
    verdict: Verdict
    source: Source | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "limit": self.limit,
            "verdict": self.verdict.value,
            "source": self.source.as_dict() if self.source else None,
        }


# A series keeps at most this many points: enough for a 120-point illuminance grid or a
# window of samples, small enough that a district's report (70,000 results) stays small.
MAX_SERIES_POINTS = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """The values a verdict was judged on, kept for the report's plots.

    `kind` says how to draw them: `pole` (wind forces y at heights x: the first `columns`
    are the shaft's segments, the rest attachments named in `labels`; `end` the height,
    `lower`/`upper` base shear and moment, `limit` the utilisation), `samples` (y over time x,
    against the limit band),
    `arrivals` (message times x within a window from `start` to `end`, the limit the largest
    gap allowed), `grid` (row-major `y` with `columns` values a row, x the column positions)
    and `steps` (commanded x against measured y). `lower`/`upper` are the limit band in
    `unit`, None when open; `limit` is the limit as written.
    """

    kind: str
    name: str
    unit: str = ""
    x_unit: str = ""
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    columns: int = 0
    lower: float | None = None
    upper: float | None = None
    limit: str = ""
    start: float | None = None
    end: float | None = None
    labels: tuple[str, ...] = ()  # a name per point where points are things (attachments)

    def __post_init__(self) -> None:
        # Bounded: a report is not a data logger; the first points are kept, in order.
        for attr in ("x", "y", "labels"):
            values = getattr(self, attr)
            if len(values) > MAX_SERIES_POINTS:
                object.__setattr__(self, attr, tuple(values[:MAX_SERIES_POINTS]))

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "name": self.name, "unit": self.unit}
        if self.x_unit:
            d["x_unit"] = self.x_unit
        d["x"] = [round(v, 6) for v in self.x]
        d["y"] = [round(v, 6) for v in self.y]
        if self.columns:
            d["columns"] = self.columns
        # A bound of 0 is a bound (0 lx, a window from 0 s): only None is left out.
        for key in ("lower", "upper", "start", "end"):
            value = getattr(self, key)
            if value is not None:
                d[key] = round(value, 6)
        if self.limit:
            d["limit"] = self.limit
        if self.labels:
            d["labels"] = list(self.labels)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Series:
        return cls(
            kind=data["kind"],
            name=data["name"],
            unit=data.get("unit", ""),
            x_unit=data.get("x_unit", ""),
            x=tuple(float(v) for v in data.get("x", ())),
            y=tuple(float(v) for v in data.get("y", ())),
            columns=int(data.get("columns", 0)),
            lower=data.get("lower"),
            upper=data.get("upper"),
            limit=data.get("limit", ""),
            start=data.get("start"),
            end=data.get("end"),
            labels=tuple(data.get("labels", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """The decision on one requirement for one target."""

    requirement: str
    profile: str
    target: str
    area: str
    level: str
    title: dict[str, str]
    verdict: Verdict
    reason: str
    # The profile that defines the requirement: a base `profile` extends, or (the default, "")
    # `profile` itself.
    source_profile: str = ""
    subsystem: str | None = None
    measurements: tuple[Measurement, ...] = ()
    refs: tuple[dict[str, Any], ...] = ()
    check: str = ""
    duration: float = 0.0
    # When deciding began (wall clock, seconds since the epoch; 0 when unknown): the executor
    # decides ahead of the items, so the item's own timing is not the observation's. Not in
    # `as_dict`: it serves Allure, in the process that decided.
    started: float = 0.0
    nodeid: str = ""
    # The requirement applies but was not tested (not applicable only because actuation is not
    # allowed, or a state it assumes does not hold): a mandatory one keeps a run from
    # concluding "Conforms".
    untested: bool = False
    # What the plots of report.html draw (samples, arrivals, a grid); empty for most checks.
    series: tuple[Series, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.source_profile:
            # frozen: the one place a field is set after __init__, to its documented default
            object.__setattr__(self, "source_profile", self.profile)

    def as_dict(self) -> dict[str, Any]:
        d = {
            "requirement": self.requirement,
            "profile": self.profile,
            "target": self.target,
            "source_profile": self.source_profile,
            "subsystem": self.subsystem,
            "area": self.area,
            "level": self.level,
            "title": dict(self.title),
            "check": self.check,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "measurements": [m.as_dict() for m in self.measurements],
            "refs": [dict(r) for r in self.refs],
            "duration": round(self.duration, 6),
            "nodeid": self.nodeid,
            "untested": self.untested,
        }
        if self.series:  # left out when empty: most results have none
            d["series"] = [s.as_dict() for s in self.series]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Rebuild a result sent across processes (pytest-xdist) or read from a journal."""
        measurements = tuple(
            Measurement(
                name=m["name"],
                value=m["value"],
                unit=m["unit"],
                limit=m["limit"],
                verdict=Verdict(m["verdict"]),
                source=Source(**m["source"]) if m.get("source") else None,
            )
            for m in data.get("measurements", [])
        )
        return cls(
            requirement=data["requirement"],
            profile=data["profile"],
            target=data["target"],
            source_profile=data.get("source_profile", ""),
            subsystem=data.get("subsystem"),
            area=data["area"],
            level=data["level"],
            title=dict(data.get("title", {})),
            check=data.get("check", ""),
            verdict=Verdict(data["verdict"]),
            reason=data["reason"],
            measurements=measurements,
            refs=tuple(data.get("refs", [])),
            duration=float(data.get("duration", 0.0)),
            nodeid=data.get("nodeid", ""),
            untested=bool(data.get("untested", False)),
            series=tuple(Series.from_dict(s) for s in data.get("series", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileInfo:
    """A profile as the report names it: the sha256 is of the YAML file that was run."""

    id: str
    version: str
    sha256: str
    title: dict[str, str]
    path: str
    # The profiles it is composed from (`extends`): dicts of id, version and sha256.
    extends: tuple[dict[str, str], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "version": self.version,
            "sha256": self.sha256,
            "title": dict(self.title),
            "path": self.path,
        }
        if self.extends:
            d["extends"] = [dict(e) for e in self.extends]
        return d


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedParameter:
    """The value a parameter had for some targets of a profile, and the layer it came from:
    `default` (the profile), `site` (the site file's `parameters:`), `target` (a target's own
    `parameters:`) or `--param`. `origin` says where it was set ("" for a default)."""

    profile: str
    name: str
    value: str
    layer: str
    origin: str
    targets: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "name": self.name,
            "value": self.value,
            "layer": self.layer,
            "origin": self.origin,
            "targets": list(self.targets),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResolvedParameter:
        return cls(
            profile=data["profile"],
            name=data["name"],
            value=data["value"],
            layer=data["layer"],
            origin=data.get("origin", ""),
            targets=tuple(data.get("targets", ())),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MapInfo:
    """A device map as the report names it: the sha256 is of the file that was loaded."""

    id: str
    version: str
    path: str
    sha256: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "path": self.path, "sha256": self.sha256}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    """A device a target declares: how it is addressed (`identity`: the Modbus unit id, the
    DL/T 645 meter address, the MQTT topic prefix and client id) and the map that reads it."""

    target: str
    role: str
    scheme: str
    address: str  # without credentials
    identity: dict[str, str | int | None]
    map: MapInfo

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "role": self.role,
            "scheme": self.scheme,
            "address": self.address,
            "identity": dict(self.identity),
            "map": self.map.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceInfo:
        return cls(
            target=data["target"],
            role=data["role"],
            scheme=data["scheme"],
            address=data["address"],
            identity=dict(data.get("identity", {})),
            map=MapInfo(**data["map"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Incident:
    """Something that went wrong in the session itself rather than in a device: a stage
    (collection, a check, traffic accounting, report rendering...) raised. The run goes on,
    the reports are written without what failed, and the run is not accepted."""

    stage: str
    cause: str  # "ValueError: what it said"
    where: str = ""  # a test id, a file, a section of the report

    def as_dict(self) -> dict[str, str]:
        return {"stage": self.stage, "cause": self.cause, "where": self.where}

    @classmethod
    def from_exception(cls, stage: str, exc: BaseException, *, where: str = "") -> Incident:
        # One line, as every reason is: the lines of a longer message joined, cut at 1000
        # characters (a schema error lists twenty paths; the first few name the fault).
        text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        if len(text) > 1000:
            text = text[:999] + "…"
        cause = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return cls(stage=stage, cause=cause, where=where)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        return cls(stage=data["stage"], cause=data["cause"], where=data.get("where", ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    """What was run, on what, and when: everything a report says besides the results."""

    tool_version: str
    profiles: tuple[ProfileInfo, ...]
    site_id: str
    site_kind: str  # "bench" or "field"
    site_title: str
    started: str  # ISO 8601 with offset
    # The --param options as given (name -> value); `resolved_parameters` has every value used.
    parameters: dict[str, str] = field(default_factory=dict)
    bench_faults: tuple[str, ...] = ()
    strict_acceptance: bool = False
    allow_actuation: bool = False
    resolved_parameters: tuple[ResolvedParameter, ...] = ()
    devices: tuple[DeviceInfo, ...] = ()
    # Who ran the acceptance (--operator), for the report's cover and sign-off; "" if not given.
    operator: str = ""
    site_path: str = ""  # the site file ("" when unknown)
    # The other files the verdicts read: {"kind": "evidence" | "evidence-file" | "record",
    # "path", "target" (a record's, or an evidence entry's; "" for the site)}. An evidence
    # bundle (report/bundle.py) takes them with the site file, the profiles and the maps.
    inputs: tuple[dict[str, str], ...] = ()
