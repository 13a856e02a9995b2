"""The vendor contract: each device map held to what the selected requirements ask of its role.

Every check says what it asks of each device role (`Check.uses()`): points it reads, points it
writes (`set`, `restore`, a trigger's stimulus), MQTT topics it observes, acknowledged commands.
This module is the one place that holds a site's device maps to that, before anything runs:

- `gaps`: per (profile, requirement, target), what the role's device map lacks. A run decides
  such a case `error` with the gap's reason, or `not_applicable` when every missing thing is a
  point the profile marks optional (a relay on a dimming-only controller), and never runs its
  check; every other requirement runs. A point that only carries a state (`Use.when_mapped`)
  is no gap when absent, and a point written only to establish a state (`Use.establishes`) is
  no gap when read-only: the check does without them, or judges when the state holds.
- `problems`: what `ycsa-conform validate SITE` prints: the parameters and device roles a run
  would refuse, the same gaps, register spans that overlap within a Modbus map; and warnings:
  an optional point missing, a state the run cannot set for a read-only point, and device
  roles that no selected profile uses.

Only `Check.uses()` is consulted, never a check's attributes: a check kind that reads a point
must say so there, or the contract cannot hold a map to it.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pint

from .checks.base import Use
from .checks.state import Requires, show
from .devicemap import DeviceMap, ModbusPoint, MqttPoint, Table
from .errors import InputError, Problem
from .limit import Limit, LimitError, ParamRef
from .point import POINTS, ROLES
from .result import Verdict
from .site import DeviceSpec, Setting, Site, Target
from .source import read_document
from .units import format_quantity, format_unit

if TYPE_CHECKING:
    from .profile.model import Profile, Requirement

__all__ = [
    "Finding",
    "Gap",
    "GapKey",
    "Lack",
    "Severity",
    "catalogue",
    "catalogue_markdown",
    "describe",
    "gaps",
    "overlaps",
    "problems",
    "roles_used",
]

# (profile id, requirement id, target id): one pytest item.
GapKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Lack:
    """One thing a role's device map lacks, and what to do about it."""

    role: str
    missing: (
        str  # "point 'lamp_on'", "writable point 'x'", "topic 'status'", "a 'commands:' section"
    )
    clause: str  # "has no point 'lamp_on'" (the map is the subject)
    verb: str  # what the requirement does with it: "reads", "writes", "observes", ...
    fix: str  # "map it (a coil, or a register with on/off values)"
    optional: bool  # a point the profile marks optional


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """What one case's device maps lack. `role` is the first role whose map lacks something;
    `missing` lists every missing thing, of every role; `reason` is one line naming the map,
    the role, the target, what is missing and the fix."""

    role: str
    missing: tuple[str, ...]
    verdict: Verdict  # ERROR, or NOT_APPLICABLE when every missing thing is an optional point
    reason: str
    lacks: tuple[Lack, ...] = ()


class Severity(StrEnum):
    ERROR = "error"  # a run would refuse it or decide a requirement `error`: validate exits 1
    WARNING = "warning"  # worth a look; validate still exits 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One line of `validate`: where (FILE:LINE: $.path), how bad, what and the fix."""

    severity: Severity
    origin: str
    message: str

    def __str__(self) -> str:
        label = "warning: " if self.severity is Severity.WARNING else ""
        return f"{self.origin}: {label}{self.message}"


def gaps(profiles: Sequence[Profile], site: Site) -> dict[GapKey, Gap]:
    """Every case whose device maps lack something its check uses, keyed by
    (profile id, requirement id, target id). A role the target does not declare at all is not a
    gap: the run says so itself (`target P001 declares no 'meter' device`)."""
    found: dict[GapKey, Gap] = {}
    for profile in profiles:
        for requirement in profile.requirements:
            for target in site.targets:
                if target.kind not in requirement.target_kinds:
                    continue
                gap = _gap(requirement, target, site)
                if gap is not None:
                    found[(profile.id, requirement.id, target.id)] = gap
    return found


def _gap(requirement: Requirement, target: Target, site: Site) -> Gap | None:
    lacks: list[Lack] = []
    for use in requirement.check.uses():
        spec = target.devices.get(use.role)
        if spec is not None:
            lacks += _lacks(use, spec.devicemap)
    if not lacks:
        return None
    every_optional = all(lack.optional for lack in lacks)
    verdict = Verdict.NOT_APPLICABLE if every_optional else Verdict.ERROR
    return Gap(
        role=lacks[0].role,
        missing=tuple(lack.missing for lack in lacks),
        verdict=verdict,
        reason=_reason(requirement.id, target, site, lacks, applicable=not every_optional),
        lacks=tuple(lacks),
    )


def _lacks(use: Use, devicemap: DeviceMap) -> Iterator[Lack]:
    """What `devicemap` lacks of `use`, in the order the check uses it.

    - a point read or written that the map lacks: a gap; `not_applicable` when the profile
      marks it optional (`Use.optional`: the requirement applies to devices that have it);
    - a point only used when mapped (`Use.when_mapped`, a state's point): never a gap when
      absent; when written (a side effect put back) and mapped read-only, a gap all the same,
      since the run's write of it would be refused;
    - a point written and mapped read-only: a gap, `error` even when the point is optional: the
      device has it, so the requirement applies, and a run could not decide it;
    - a point written only to establish a state (`Use.establishes`, not in `writes`): never a
      gap when read-only (`validate` warns of it, `_unsettable`).
    """
    written = set(use.writes)
    when_mapped = set(use.when_mapped)
    for name in dict.fromkeys((*use.reads, *use.writes, *use.optional)):
        verb = "writes" if name in written else "reads"
        point = devicemap.points.get(name)
        if point is None:
            if name in when_mapped:
                continue
            yield Lack(
                role=use.role,
                missing=f"point {name!r}",
                clause=f"has no point {name!r}",
                verb=verb,
                fix=_map_it(devicemap, name, written=name in written),
                optional=name in use.optional,
            )
        elif name in written and (why := _read_only(devicemap, point)) is not None:
            yield Lack(
                role=use.role,
                missing=f"writable point {name!r}",
                clause=f"maps point {name!r} read-only",
                verb=verb,
                fix=why,
                optional=False,
            )
    for key in use.topics:
        if key not in devicemap.topics:
            yield Lack(
                role=use.role,
                missing=f"topic {key!r}",
                clause=f"has no topic {key!r}",
                verb="observes",
                fix=_topic_fix(devicemap, key),
                optional=False,
            )
    if use.commands and devicemap.commands is None:
        yield Lack(
            role=use.role,
            missing="a 'commands:' section",
            clause="has no 'commands:' section",
            verb="sends acknowledged commands through",
            fix=(
                "add 'commands: {topic: ..., ack: ...}' saying where commands go and where "
                "their acknowledgements come back"
                if devicemap.protocol == "mqtt"
                else "acknowledged commands need an MQTT device: give the role an mqtt:// device "
                "and an MQTT map with a 'commands:' section"
            ),
            optional=False,
        )


def _map_it(devicemap: DeviceMap, name: str, *, written: bool) -> str:
    """How to map the point `name` in a map of this protocol."""
    spec = POINTS.get(name)
    flag = spec is not None and spec.unit == "flag"
    unit = f", unit {spec.unit}" if spec is not None and spec.unit not in ("flag", "text") else ""
    if devicemap.protocol == "modbus":
        if flag:
            kinds = "a coil" if written else "a coil, a discrete input"
            return f"map it ({kinds}, or a register with on/off values)"
        where = "a holding register with 'writable: LOW .. HIGH'" if written else "a register"
        return f"map it ({where}: its address, type and scale{unit})"
    if devicemap.protocol == "mqtt":
        if written:
            return (
                f"map it (its topic and JSON pointer{unit}, 'writable: LOW .. HIGH' and "
                "'command: /POINTER')"
            )
        return f"map it (its topic and JSON pointer{unit})"
    if written:
        return "a DL/T 645 meter takes no writes: give the role a Modbus or MQTT device"
    return f"map it (its DL/T 645 data id and format{unit})"


def _read_only(devicemap: DeviceMap, point: object) -> str | None:
    """None when the transport will write `point`, else why not and the fix. The same rules
    as the transports' own refusals (transport/modbus.py, transport/mqtt.py)."""
    if isinstance(point, ModbusPoint):
        if point.table in (Table.INPUT, Table.DISCRETE_INPUT):
            table = "input registers" if point.table is Table.INPUT else "discrete inputs"
            return (
                f"it is in the {point.table} table, and Modbus writes no {table}: map it as a "
                "coil or in the holding table, with 'writable: LOW .. HIGH'"
            )
        if point.writable is None:
            return (
                "declare 'writable: LOW .. HIGH' on it, if the device accepts writes (the run "
                "writes nothing a map does not declare writable)"
            )
        return None
    if isinstance(point, MqttPoint):
        if point.unit is None:
            return (
                "an on/off or text point cannot be commanded through a device map: give the "
                "role a device that maps it as a number, or a Modbus coil"
            )
        if point.writable is None or point.command is None:
            return "add 'writable: LOW .. HIGH' and 'command: /POINTER' to it"
        return None
    return "a DL/T 645 meter takes no writes: give the role a Modbus or MQTT device"


def _topic_fix(devicemap: DeviceMap, key: str) -> str:
    if devicemap.protocol != "mqtt":
        return (
            f"observing messages needs an MQTT device: give the role an mqtt:// device and an "
            f"MQTT map with a topic {key!r}"
        )
    close = difflib.get_close_matches(key, list(devicemap.topics), n=1)
    hint = f" (it declares {close[0]!r}; rename it if that is the one)" if close else ""
    return f"declare it under 'topics:' with its topic and JSON Schema{hint}"


def _reason(
    requirement: str, target: Target, site: Site, lacks: Sequence[Lack], *, applicable: bool
) -> str:
    parts: list[str] = []
    roles = list(dict.fromkeys(lack.role for lack in lacks))
    subject = requirement
    for role in roles:
        mine = [lack for lack in lacks if lack.role == role]
        devicemap = target.devices[role].devicemap
        clauses = []
        for lack in mine:
            if len(lacks) == 1:
                clauses.append(f"{lack.clause}, which {subject} {lack.verb}")
            else:
                clauses.append(f"{lack.clause}, which {subject} {lack.verb} ({lack.fix})")
            subject = "it"
        parts.append(
            f"device map {devicemap.id!r} ({_shown(devicemap.path, site)}) of {role} on "
            f"{target.id} " + ", and ".join(clauses)
        )
    text = "; and ".join(parts)
    leave_out = f"leave {requirement} out with -k 'not {requirement}'"
    if not applicable:
        return (
            f"not applicable: {text}; the profile marks "
            f"{'it' if len(lacks) == 1 else 'them'} optional (the requirement applies to "
            "devices that have it)"
        )
    if len(lacks) == 1:
        return f"cannot be decided: {text}; {lacks[0].fix} or {leave_out}"
    return f"cannot be decided: {text}; fix the map or {leave_out}"


def _shown(path: Path, site: Site) -> str:
    """A map's path as the site file would name it: relative to the site's folder if inside."""
    try:
        return str(path.resolve().relative_to(site.path.resolve().parent))
    except ValueError:
        return str(path)


# -- overlapping registers ------------------------------------------------------------------


def overlaps(devicemap: DeviceMap) -> list[Problem]:
    """Points of one Modbus map whose registers (or bits) overlap in the same table: a typo in
    an address, or a 32-bit point whose second register another point also claims. A `bit:` of
    a status word may share its register with the word and with other bits."""
    points = [p for p in devicemap.points.values() if isinstance(p, ModbusPoint)]
    problems: list[Problem] = []
    lines = _point_lines(devicemap)
    for i, first in enumerate(points):
        for second in points[i + 1 :]:
            if first.table is not second.table or not _overlap(first, second):
                continue
            problems.append(
                Problem(
                    file=devicemap.path,
                    line=lines.get(second.name),
                    path=f"$.points.{second.name}",
                    message=(
                        f"{second.name} ({_span_text(second)}) overlaps {first.name} "
                        f"({_span_text(first)}) in the {first.table} table; give each point "
                        "its own registers (or declare 'bit:' for a bit of a status word)"
                    ),
                )
            )
    return problems


def _registers(point: ModbusPoint) -> int:
    if point.table in (Table.COIL, Table.DISCRETE_INPUT):
        return 1
    return int(point.type.registers)


def _overlap(first: ModbusPoint, second: ModbusPoint) -> bool:
    bits = first.bit, second.bit
    if bits != (None, None) and (None in bits or bits[0] != bits[1]):
        return False  # a bit and its word, or two different bits of one word
    return first.address < second.address + _registers(
        second
    ) and second.address < first.address + _registers(first)


def _span_text(point: ModbusPoint) -> str:
    count = _registers(point)
    if count == 1:
        return f"address {point.address}"
    return f"addresses {point.address}..{point.address + count - 1}"


def _point_lines(devicemap: DeviceMap) -> dict[str, int | None]:
    try:
        doc = read_document(devicemap.path)
    except (InputError, OSError):
        return {}
    return {name: doc.line(("points", name)) for name in devicemap.points}


# -- validate -------------------------------------------------------------------------------


def roles_used(profiles: Sequence[Profile], kind: str | None = None) -> dict[str, list[str]]:
    """Device role → the requirements that use it (their checks, or a `when: {device: ...}`),
    of the profiles, for targets of `kind` (None: every kind)."""
    used: dict[str, list[str]] = {}
    for profile in profiles:
        for requirement in profile.requirements:
            if kind is not None and kind not in requirement.target_kinds:
                continue
            roles = [use.role for use in requirement.check.uses()]
            roles += requirement.check.needs()
            roles += [c.device for c in requirement.when if c.device is not None]
            for role in dict.fromkeys(roles):
                used.setdefault(role, [])
                if requirement.id not in used[role]:
                    used[role].append(requirement.id)
    return used


def _structure_refusals(site: Site) -> list[Finding]:
    """A pole whose declared design the structural analysis cannot compute (a pole above the
    transcribed 30 m of GB 50009 Table 8.6.1, segments that contradict the summary...): what
    `ycsa-conform loads` would refuse, said by `validate` too (issue 15)."""
    from . import analysis  # imports the engineering modules: only when validating a site

    found = []
    for target in site.targets:
        if not all(k in target.design for k in analysis.STRUCTURE_KEYS):
            continue  # the missing keys are the requirements' own errors
        try:
            analysis.structure(target)
        except analysis.UnusableDesignData as exc:
            found.append(Finding(severity=Severity.ERROR, origin=target.origin, message=str(exc)))
        except analysis.MissingDesignData:
            continue
    return found


def problems(
    profiles: Sequence[Profile],
    site: Site,
    *,
    overrides: Mapping[str, Setting] = MappingProxyType({}),
) -> list[Finding]:
    """Everything a run of `profiles` on `site` would refuse or could not decide for want of a
    device or a mapped point, before anything runs; and what looks wrong though a run would go
    on (an optional point missing, a device role no profile uses). One line each."""
    # The run resolves parameters and applicability (`when`) the one way they are resolved;
    # imported here because run.py imports this module.
    from .run import AcceptanceRun

    findings: list[Finding] = []
    found = gaps(profiles, site)
    try:
        run = AcceptanceRun(profiles=profiles, site=site, overrides=overrides)
    except InputError as exc:
        findings += [_error(problem) for problem in exc.problems]
        # Without parameters, applicability cannot be told: every gap is reported.
        findings += [_gap_finding(key, gap, site) for key, gap in found.items()]
        for profile in profiles:
            for requirement in profile.requirements:
                for target in site.targets:
                    key = (profile.id, requirement.id, target.id)
                    if target.kind in requirement.target_kinds and key not in found:
                        findings += _unsettable(requirement, target, site)
    else:
        for case in run.cases():
            key = (case.profile.id, case.requirement.id, case.target.id)
            outcome = run.settled(case)
            if outcome is None:
                findings += _unsettable(case.requirement, case.target, site)
                continue
            if key in found and outcome.reason == found[key].reason:
                findings.append(_gap_finding(key, found[key], site))
            elif outcome.verdict is Verdict.ERROR:
                findings.append(
                    Finding(
                        severity=Severity.ERROR,
                        origin=case.target.origin,
                        message=f"{case.requirement.id} {outcome.reason}",
                    )
                )
    findings += _structure_refusals(site)
    seen: set[Path] = set()
    for target in site.targets:
        for spec in target.devices.values():
            if spec.devicemap.path not in seen:
                seen.add(spec.devicemap.path)
                findings += [_error(problem) for problem in overlaps(spec.devicemap)]
    findings += _unused_roles(profiles, site)
    # A line said once: the same gap of a requirement two profiles share (smart-community
    # extends smart-pole) is one gap.
    return list(dict.fromkeys(findings))


def _unsettable(requirement: Requirement, target: Target, site: Site) -> list[Finding]:
    """A warning per role whose map declares read-only a point the requirement writes only to
    establish the state it is judged in (`Use.establishes`): no gap, since the device may be
    in that state already, but the run cannot put it there (nor put back what it changed), so
    the requirement is judged only when the state holds by itself."""
    findings = []
    for use in requirement.check.uses():
        spec = target.devices.get(use.role)
        if spec is None:
            continue
        devicemap = spec.devicemap
        fixes = {
            name: why
            for name in use.establishes
            if name not in use.writes
            and (point := devicemap.points.get(name)) is not None
            and (why := _read_only(devicemap, point)) is not None
        }
        if not fixes:
            continue
        names = ", ".join(repr(name) for name in fixes)
        fix = (
            next(iter(fixes.values()))
            if len(fixes) == 1
            else "declare them writable, if the device accepts writes"
        )
        findings.append(
            Finding(
                severity=Severity.WARNING,
                origin=spec.origin,
                message=(
                    f"{requirement.id} can be judged only when the state it assumes holds by "
                    f"itself: device map {devicemap.id!r} ({_shown(devicemap.path, site)}) of "
                    f"{use.role} on {target.id} maps point{'s' if len(fixes) > 1 else ''} "
                    f"{names} read-only, which {requirement.id} writes only to set that state "
                    f"(and put it back); otherwise it is untested; {fix}"
                ),
            )
        )
    return findings


def _error(problem: Problem) -> Finding:
    where = f"{problem.file}:{problem.line}" if problem.line is not None else str(problem.file)
    origin = f"{where}: {problem.path}" if problem.path else where
    return Finding(severity=Severity.ERROR, origin=origin, message=problem.message)


def _gap_finding(key: GapKey, gap: Gap, site: Site) -> Finding:
    target = next(t for t in site.targets if t.id == key[2])
    spec: DeviceSpec = target.devices[gap.role]
    severity = Severity.ERROR if gap.verdict is Verdict.ERROR else Severity.WARNING
    return Finding(severity=severity, origin=spec.origin, message=f"{key[1]} {gap.reason}")


def _unused_roles(profiles: Sequence[Profile], site: Site) -> list[Finding]:
    findings = []
    known = sorted(roles_used(profiles))
    names = ", ".join(p.id for p in profiles) or "no profile"
    for target in site.targets:
        used = roles_used(profiles, target.kind)
        for role, spec in target.devices.items():
            if role in used:
                continue
            close = difflib.get_close_matches(role, known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            findings.append(
                Finding(
                    severity=Severity.WARNING,
                    origin=spec.origin,
                    message=(
                        f"no requirement of {names} for a {target.kind} uses a device {role!r}; "
                        f"{hint}the profiles know: {', '.join(known) or 'none'}"
                    ),
                )
            )
    return findings


# -- the contract as data: `profile show --json`, `points` ------------------------------------

# Fields of a check that are durations (seconds, or a $parameter holding one).
_DURATIONS = ("window", "settle", "max_age")


def describe(requirement: Requirement, parameters: Mapping[str, object]) -> dict[str, Any]:
    """What `requirement` asks of a site, JSON-able: device roles, what it uses of each role's
    map, its limits as written and resolved with `parameters`, its windows and the check's
    parsed fields."""
    check = requirement.check
    options: Any = _jsonable(check) if dataclasses.is_dataclass(check) else {}
    limits: list[dict[str, str | None]] = [
        {"at": at, "text": limit.text, "resolved": _resolved_limit(limit, parameters)}
        for at, limit in _limits(check, "")
    ]
    requires = getattr(check, "requires", None)
    windows: dict[str, Any] = {}
    # A record check's fallback (`otherwise`) keeps its windows: they are the run's when the
    # target has no record.
    timed = getattr(check, "otherwise", None) or check
    if dataclasses.is_dataclass(timed):
        for name in _DURATIONS:
            written = getattr(timed, name, None) if name in _field_names(timed) else None
            if name == "settle" and written is None and isinstance(requires, Requires):
                # A measure check's settle is its state's: waited only after setting it.
                written = requires.settle if requires.writes() else None
            if isinstance(written, ParamRef | float | int) and not isinstance(written, bool):
                windows[name] = _duration(written, parameters)
    # The limit the check judges by; the limits of its assumed state (`requires`) are listed
    # under `limits` and `requires`, never as the requirement's limit.
    judged = [limit for limit in limits if not str(limit["at"]).startswith("requires.")]
    expected = getattr(check, "expected", None)
    if not judged and isinstance(expected, bool):
        # An on/off point judged against the value it must read (`limit: false`).
        shown = str(expected).lower()
        judged = [{"at": "expected", "text": shown, "resolved": shown}]
    return {
        "devices": list(check.needs()),
        "uses": [
            {
                "role": use.role,
                "reads": list(use.reads),
                "writes": list(use.writes),
                "optional": list(use.optional),
                "when_mapped": list(use.when_mapped),
                "establishes": list(use.establishes),
                "topics": list(use.topics),
                "commands": use.commands,
            }
            for use in check.uses()
        ],
        "when": [
            {k: v for k, v in _jsonable(condition).items() if v is not None}
            for condition in requirement.when
        ],
        "requires": (_requires(requires, parameters) if isinstance(requires, Requires) else None),
        "limit": judged[0] if judged else None,
        "limits": limits,
        "windows": windows,
        "options": options,
    }


def _duration(written: ParamRef | float, parameters: Mapping[str, object]) -> dict[str, Any]:
    return {
        "written": str(written) if isinstance(written, ParamRef) else f"{written:g} s",
        "resolved": _resolved_duration(written, parameters),
    }


def _requires(requires: Requires, parameters: Mapping[str, object]) -> dict[str, Any]:
    """The state a requirement is judged in: per point, the state as written and resolved,
    and what the run writes to establish it (null: verified only)."""
    states = []
    for state in requires.states:
        if state.limit is not None:
            written = f"age {state.limit.text}" if state.age else state.limit.text
            resolved = _resolved_limit(state.limit, parameters)
            if state.age and resolved is not None:
                resolved = f"age {resolved}"
        else:
            written = resolved = show(state.equals)
        states.append(
            {
                "point": state.point,
                "state": written,
                "resolved": resolved,
                "set": None if state.set_to is None else show(state.set_to),
            }
        )
    return {
        "states": states,
        "restore": list(requires.restore),
        "settle": _duration(requires.settle, parameters),
    }


def _field_names(value: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(value)}


def _limits(value: Any, at: str) -> Iterator[tuple[str, Limit]]:
    """Every limit inside a check, with where it sits: 'limit', 'observe[0].limit'."""
    if isinstance(value, Limit):
        yield at, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _limits(getattr(value, f.name), f"{at}.{f.name}" if at else f.name)
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _limits(item, f"{at}[{i}]")


def _resolved_limit(limit: Limit, parameters: Mapping[str, object]) -> str | None:
    try:
        return limit.resolve(parameters).describe()
    except (KeyError, LimitError):
        return None


def _resolved_duration(written: ParamRef | float, parameters: Mapping[str, object]) -> str | None:
    if not isinstance(written, ParamRef):
        return f"{written:g} s"
    value = parameters.get(written.name)
    if isinstance(value, pint.Quantity):
        return format_quantity(value)
    return None


def _jsonable(value: Any) -> Any:
    """A check's parsed fields as JSON: limits as their text, quantities as '5 s', enums as
    their value; functions (a compute check's formula code) left out."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Limit):
        return value.text
    if isinstance(value, ParamRef):
        return str(value)
    if isinstance(value, pint.Quantity):
        return format_quantity(value)
    if isinstance(value, pint.Unit):
        return format_unit(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not callable(getattr(value, f.name))
        }
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def catalogue(profiles: Sequence[Profile]) -> dict[str, Any]:
    """The roles and logical points, with the requirements of `profiles` that use each: what
    `ycsa-conform points` prints and docs/points.md is generated from."""
    requirements: dict[str, Requirement] = {}
    for profile in profiles:
        for requirement in profile.requirements:
            requirements.setdefault(requirement.id, requirement)
    roles: dict[str, dict[str, Any]] = {}
    points: dict[str, dict[str, dict[str, list[str]]]] = {}
    for requirement in requirements.values():
        for use in requirement.check.uses():
            role = roles.setdefault(
                use.role, {"requirements": [], "points": [], "topics": [], "commands": []}
            )
            _add(role["requirements"], requirement.id)
            for key in use.topics:
                _add(role["topics"], key)
            if use.commands:
                _add(role["commands"], requirement.id)
            names = (*use.reads, *use.writes, *use.optional, *use.when_mapped, *use.establishes)
            for name in dict.fromkeys(names):
                _add(role["points"], name)
                by_role = points.setdefault(name, {}).setdefault(use.role, {})
                # A point written is read too (its prior value, to put back): said once.
                if name in use.writes:
                    _add(by_role.setdefault("writes", []), requirement.id)
                elif name in use.reads:
                    _add(by_role.setdefault("reads", []), requirement.id)
                for how in ("optional", "when_mapped", "establishes"):
                    if name in getattr(use, how):
                        _add(by_role.setdefault(how, []), requirement.id)
    return {
        "profiles": [{"id": p.id, "version": p.version} for p in profiles],
        "roles": [
            {
                "role": name,
                "description": ROLES[name].description if name in ROLES else "",
                **roles[name],
            }
            for name in sorted(roles, key=_role_order)
        ],
        "points": [
            {
                "point": spec.name,
                "unit": spec.unit,
                "dimension": spec.dimension,
                "meaning": spec.description,
                "used_by": {
                    role: {how: uses[how] for how in _HOW if how in uses}
                    for role, uses in points.get(spec.name, {}).items()
                },
            }
            for spec in POINTS.values()
        ],
    }


# What a check does with a point, in the order the catalogue lists it (`Use`'s fields).
_HOW = ("reads", "writes", "optional", "when_mapped", "establishes")


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _role_order(name: str) -> tuple[int, str]:
    order = list(ROLES)
    return (order.index(name), name) if name in order else (len(order), name)


def catalogue_markdown(data: Mapping[str, Any]) -> str:
    """docs/points.md: the same catalogue as a page (regenerate with
    `ycsa-conform points --markdown > docs/points.md`)."""
    profiles = ", ".join(f"{p['id']} {p['version']}" for p in data["profiles"])
    lines = [
        "# Device roles and logical points",
        "",
        "<!-- Generated by `ycsa-conform points --markdown > docs/points.md`; do not edit. "
        "A test fails when this page and the code disagree. -->",
        "",
        f"What the built-in profiles ({profiles}) ask of a site's devices. A site names each "
        "device by its **role** (`devices: {lamp: {uri: ..., map: ...}}`); the device map "
        "binds the role's **logical points** to registers, DL/T 645 data ids or JSON pointers. "
        "A map needs only the points of the requirements you run: `ycsa-conform validate "
        "SITE` lists what a map lacks and which requirements it costs (docs/contract.md).",
        "",
        "## Roles",
        "",
        "| role | device | points | topics | requirements |",
        "|---|---|---|---|---|",
    ]
    for role in data["roles"]:
        commands = " (and acknowledged commands)" if role["commands"] else ""
        lines.append(
            f"| `{role['role']}` | {role['description']} | "
            f"{', '.join(f'`{p}`' for p in role['points']) or '—'} | "
            f"{', '.join(f'`{t}`' for t in role['topics']) or '—'}{commands} | "
            f"{', '.join(role['requirements'])} |"
        )
    lines += [
        "",
        "## Points",
        "",
        "The unit is the point's canonical unit: a map may give any unit of the same dimension "
        "(a map's `unit: kW` for `active_power` is converted). `flag` is an on/off point, "
        "`text` a string. What each requirement's check does with the point "
        "(docs/contract.md): *reads*, *writes* — the map must have it (writable, to be "
        "written), or the requirement is an error; *optional* — without it the requirement is "
        "not applicable (it applies to devices that have it); *when_mapped* — a point that "
        "only carries a state: used if the map has it, left out if not; *establishes* — "
        "written only to set the state the requirement is judged in, when it does not hold "
        "and actuation is allowed: declared read-only, the requirement is judged only when "
        "the state holds by itself.",
        "",
        "| point | unit | dimension | meaning | used by |",
        "|---|---|---|---|---|",
    ]
    for point in data["points"]:
        uses = []
        for role, kinds in point["used_by"].items():
            for how, ids in kinds.items():
                uses.append(f"{role} {how}: {', '.join(ids)}")
        unit = f"`{point['unit']}`" if point["unit"] else "—"
        lines.append(
            f"| `{point['point']}` | {unit} | {point['dimension']} | {point['meaning']} | "
            f"{'; '.join(uses) or '—'} |"
        )
    return "\n".join(lines) + "\n"
