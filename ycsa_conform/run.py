"""An acceptance run: profiles × site targets, parameters resolved, devices opened on demand.

This is the one place that turns (profile, requirement, target) into a `Result`. The pytest
plugin and the CLI both drive it; it knows nothing of pytest.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import cast

from . import contract, progress
from .actuation import RestoreJournal, WriteGuard
from .checks import CheckContext, Outcome
from .checks.compute import MissingDesignData
from .checks.evidence import EvidenceCheck
from .errors import DeviceError, InputError, Problem, RunInterrupted
from .evidence import EvidenceFile, load_evidence
from .limit import LimitError
from .profile.model import Condition, ParamValue, Profile, Requirement
from .result import DeviceInfo, MapInfo, ResolvedParameter, Result, Verdict
from .site import DeviceSpec, Setting, Site, Target
from .transport import Device, open_device
from .transport.poll import PolledDevice

__all__ = ["AcceptanceRun", "Case", "DeviceOpener", "Layer", "Provenance", "parse_param_option"]

# (target, device spec) → the device, not yet connected. Recording and replay swap the link.
DeviceOpener = Callable[[Target, DeviceSpec], Device]


def open_live(target: Target, spec: DeviceSpec) -> Device:
    return open_device(spec.role, spec.uri, spec.devicemap, spec.options)


@dataclass(frozen=True, slots=True)
class Case:
    """One requirement on one target: a pytest item."""

    profile: Profile
    requirement: Requirement
    target: Target

    @property
    def name(self) -> str:
        return f"{self.requirement.id}[{self.target.id}]"


class Layer(StrEnum):
    """Where a parameter's value came from, lowest first: each layer overrides the one before."""

    DEFAULT = "default"
    SITE = "site"
    TARGET = "target"
    PARAM = "--param"


@dataclass(frozen=True, slots=True)
class Provenance:
    layer: Layer
    origin: str  # the setting's "FILE:LINE: $.path" or "--param KEY=VALUE"; "" for a default


def parse_param_option(text: str) -> tuple[str, Setting]:
    """'--param road_class=II' → ('road_class', Setting('II'))."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"--param {text!r}: write it as KEY=VALUE, like --param road_class=II")
    return name.strip(), Setting(value=value.strip(), origin=f"--param {text}")


class AcceptanceRun:
    def __init__(
        self,
        *,
        profiles: Sequence[Profile],
        site: Site,
        overrides: Mapping[str, Setting] = MappingProxyType({}),
        opener: DeviceOpener = open_live,
        clock: Callable[[], float] = time.time,
        on_read: Callable[[tuple[str, str], bool], None] | None = None,
        evidence: EvidenceFile | None = None,
        allow_actuation: bool = False,
        restore_journal: RestoreJournal | None = None,
    ) -> None:
        self.profiles = tuple(profiles)
        self.site = site
        self._opener = opener
        self._clock = clock
        self._on_read = on_read
        # The site's own evidence file unless the caller gives one (--evidence replaces it).
        if evidence is None and site.evidence is not None:
            evidence = load_evidence(site.evidence)
        asked = (
            r.check.item
            for p in self.profiles
            for r in p.requirements
            if isinstance(r.check, EvidenceCheck)
        )
        if evidence is not None and (
            mismatches := evidence.mismatches(site.id, (t.id for t in site.targets), asked)
        ):
            raise InputError(mismatches)
        self.evidence = evidence
        # Field devices are read-only unless the operator allows actuation; a bench is ours.
        self.actuation_allowed = allow_actuation or site.kind == "bench"
        # Field writes are journaled before they are sent (ycsa_conform.actuation).
        self._journal = restore_journal if site.kind != "bench" else None
        # Set by `interrupt` (Ctrl-C, SIGTERM, SIGHUP): a check waiting out a settle stops
        # waiting and puts its device back at once, instead of after the settle.
        self._interrupted = threading.Event()
        self._devices: dict[tuple[str, str], PolledDevice] = {}
        self._opening = threading.Lock()  # cases decided at the same time share each device
        self._released: dict[tuple[str, str], dict[str, object]] = {}  # traffic of closed ones
        self._parameters, self._provenance = self._resolve_parameters(overrides)
        self._planned = self._plan()

    def _plan(self) -> dict[tuple[str, str], list[str]]:
        """Every point each device will be asked for, so that one poll serves all checks.

        Only points the device's map has. A case whose maps lack something its check uses is
        decided from that gap and never runs (`contract.gaps`, computed here first); a point
        planned but unmapped would break every poll of the device and the session's traffic
        accounting, and with it the report.
        """
        self.gaps: dict[contract.GapKey, contract.Gap] = contract.gaps(self.profiles, self.site)
        planned: dict[tuple[str, str], list[str]] = {}
        for case in self.cases():
            if (case.profile.id, case.requirement.id, case.target.id) in self.gaps:
                continue
            # The points `measure` checks read are polled together; other kinds read fresh.
            reads = getattr(case.requirement.check, "reads", None)
            for role, points in (reads() if reads else {}).items():
                spec = case.target.devices.get(role)
                if spec is not None:
                    mapped = [p for p in points if p in spec.devicemap.points]
                    planned.setdefault((case.target.id, role), []).extend(mapped)
        return {key: list(dict.fromkeys(points)) for key, points in planned.items()}

    def _resolve_parameters(
        self, overrides: Mapping[str, Setting]
    ) -> tuple[
        dict[tuple[str, str], Mapping[str, ParamValue]],
        dict[tuple[str, str], Mapping[str, Provenance]],
    ]:
        """Defaults ← site ← target ← --param, per profile and target; all problems at once.
        Returns the values and, for the report, the layer each value came from."""
        problems: list[Problem] = []
        declared = {name for p in self.profiles for name in p.parameters}
        # A bench site tunes the built-in profiles' windows for its fast devices; a profile of
        # your own run on the bench need not declare them. A field site's must be declared, so
        # a misspelt parameter is not silently ignored.
        settings = [] if self.site.kind == "bench" else [*self.site.parameters.items()]
        settings += overrides.items()
        settings += [s for t in self.site.targets for s in t.parameters.items()]
        for name, setting in settings:
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                problems.append(
                    _problem(
                        setting,
                        f"unknown parameter {name!r}; the profiles in this run declare: {known}",
                    )
                )
        resolved: dict[tuple[str, str], Mapping[str, ParamValue]] = {}
        provenance: dict[tuple[str, str], Mapping[str, Provenance]] = {}
        for profile in self.profiles:
            for target in self.site.targets:
                values: dict[str, ParamValue] = {}
                came_from: dict[str, Provenance] = {}
                for name, parameter in profile.parameters.items():
                    values[name] = parameter.default
                    came_from[name] = Provenance(Layer.DEFAULT, "")
                    for layer, given in (
                        (Layer.SITE, self.site.parameters),
                        (Layer.TARGET, target.parameters),
                        (Layer.PARAM, overrides),
                    ):
                        if name in given:
                            try:
                                values[name] = parameter.coerce(given[name].value)
                            except ValueError as exc:
                                problems.append(_problem(given[name], str(exc)))
                            else:
                                came_from[name] = Provenance(layer, given[name].origin)
                resolved[(profile.id, target.id)] = MappingProxyType(values)
                provenance[(profile.id, target.id)] = MappingProxyType(came_from)
        if problems:
            raise InputError(list(dict.fromkeys(problems)))
        return resolved, provenance

    def parameters(self, profile: Profile, target: Target) -> Mapping[str, ParamValue]:
        return self._parameters[(profile.id, target.id)]

    def provenance(self, profile: Profile, target: Target) -> Mapping[str, Provenance]:
        """The layer each of `parameters(profile, target)` came from, and where it was set."""
        return self._provenance[(profile.id, target.id)]

    def resolved_parameters(self) -> list[ResolvedParameter]:
        """Every parameter value the run uses, per profile, with its layer: one row for the
        targets that share a value and its origin (a fleet of poles is a row per parameter)."""
        rows: dict[tuple[str, str, str, Layer, str], list[str]] = {}
        for profile in self.profiles:
            for target in self.site.targets:
                values = self.parameters(profile, target)
                for name, came_from in self.provenance(profile, target).items():
                    shown = profile.parameters[name].show(values[name])
                    key = (profile.id, name, shown, came_from.layer, came_from.origin)
                    rows.setdefault(key, []).append(target.id)
        return [
            ResolvedParameter(
                profile=profile,
                name=name,
                value=value,
                layer=layer.value,
                origin=origin,
                targets=tuple(targets),
            )
            for (profile, name, value, layer, origin), targets in rows.items()
        ]

    def devices(self) -> list[DeviceInfo]:
        """Every device the site's targets declare: its address, identity and device map."""
        digests: dict[str, str] = {}
        infos: list[DeviceInfo] = []
        for target in self.site.targets:
            for role, spec in target.devices.items():
                path = spec.devicemap.path
                if str(path) not in digests:
                    digests[str(path)] = _sha256(path)
                infos.append(
                    DeviceInfo(
                        target=target.id,
                        role=role,
                        scheme=spec.address.scheme,
                        address=str(spec.address),
                        identity=_identity(spec),
                        map=MapInfo(
                            id=spec.devicemap.id,
                            version=str(spec.devicemap.version),
                            path=str(path),
                            sha256=digests[str(path)],
                        ),
                    )
                )
        return infos

    def cases(self) -> Iterator[Case]:
        for profile in self.profiles:
            for requirement in profile.requirements:
                for target in self.site.targets:
                    if target.kind in requirement.target_kinds:
                        yield Case(profile, requirement, target)

    def device(self, target: Target, role: str) -> Device:
        key = (target.id, role)
        with self._opening:
            return self._device(key, target, role)

    def _device(self, key: tuple[str, str], target: Target, role: str) -> Device:
        if key not in self._devices:
            spec = target.devices[role]
            hook = self._on_read
            self._devices[key] = PolledDevice(
                self._opener(target, spec),
                self._planned.get(key, ()),
                max_age=spec.max_age,
                on_read=(lambda fresh: hook(key, fresh)) if hook else None,
                guard=WriteGuard(
                    allowed=self.actuation_allowed,
                    target=target.id,
                    role=role,
                    journal=self._journal,
                ),
            )
        return self._devices[key]

    def traffic(self) -> list[dict[str, object]]:
        """Per device used so far: point reads asked for, message observations, protocol
        probes, requests sent (all three kinds) and the coalesced minimum for the point reads.
        A device closed by `release` and opened again has one row: the sums."""
        with self._opening:
            devices = list(self._devices.items())
            rows = {key: dict(row) for key, row in self._released.items()}
        for key, device in devices:
            row = self._traffic_row(key, device)
            rows[key] = _summed(rows[key], row) if key in rows else row
        return list(rows.values())

    def _traffic_row(self, key: tuple[str, str], device: PolledDevice) -> dict[str, object]:
        planned = self._planned.get(key, [])
        return {
            "target": key[0],
            "device": key[1],
            "scheme": device.source.scheme,
            "point_reads": device.requested,
            "observations": device.observations,
            # Requests the `protocol` check's probes sent: extra to the point reads.
            "probes": device.probes,
            "transactions": device.transactions,
            "minimum": device.minimum_transactions(planned) if planned else 0,
        }

    def release(self, target_id: str) -> None:
        """Close the devices of a target whose cases are all decided, keeping their traffic
        counts: a run over a district holds the connections of the targets under way only.
        A later use opens a device again."""
        with self._opening:
            keys = [key for key in self._devices if key[0] == target_id]
            closing = [(key, self._devices.pop(key)) for key in keys]
        for key, device in closing:
            row = self._traffic_row(key, device)
            device.close()
            with self._opening:
                kept = self._released.get(key)
                self._released[key] = _summed(kept, row) if kept is not None else row

    def interrupt(self) -> None:
        """The run was interrupted: every settle under way or to come ends in
        `RunInterrupted`, so the checks under way put back what they changed now."""
        self._interrupted.set()

    def _sleep(self, seconds: float) -> None:
        if self._interrupted.wait(seconds):
            raise RunInterrupted("the run was interrupted during the wait; nothing was judged")

    def close(self) -> None:
        with self._opening:
            devices, self._devices = self._devices, {}
        for device in devices.values():
            device.close()

    def decide(self, case: Case, *, nodeid: str = "") -> Result:
        started, wall = time.perf_counter(), time.time()
        with progress.deciding(f"{case.requirement.id}[{case.target.id}]"):
            outcome = self._decide(case)
        return self._result(case, outcome, started, nodeid, wall=wall)

    def crashed(self, case: Case, exc: BaseException, *, nodeid: str = "") -> Result:
        """The result of a check that raised unexpectedly: an error, never a silent pass."""
        reason = f"cannot be decided: internal error {type(exc).__name__}: {exc}"
        return self._result(
            case, Outcome(verdict=Verdict.ERROR, reason=reason), time.perf_counter(), nodeid
        )

    def _result(
        self,
        case: Case,
        outcome: Outcome,
        started: float,
        nodeid: str,
        *,
        wall: float | None = None,
    ) -> Result:
        requirement = case.requirement
        cite = "; ".join(r.cite() for r in requirement.refs)
        return Result(
            requirement=requirement.id,
            profile=case.profile.id,
            target=case.target.id,
            source_profile=requirement.profile,
            subsystem=_subsystem(requirement, case.target),
            area=requirement.area.value,
            level=requirement.level.value,
            title=dict(requirement.title),
            check=requirement.check.kind,
            verdict=outcome.verdict,
            reason=f"{requirement.id} {outcome.reason} ({cite})",
            measurements=outcome.measurements,
            refs=tuple(r.as_dict() for r in requirement.refs),
            duration=time.perf_counter() - started,
            started=time.time() if wall is None else wall,
            nodeid=nodeid,
            untested=outcome.untested and outcome.verdict is Verdict.NOT_APPLICABLE,
            series=outcome.series,
        )

    def settled(self, case: Case) -> Outcome | None:
        """The outcome known before any device is touched, or None when the check must run:
        not applicable by `when`, a device role the target lacks, a gap in a device map
        (`ycsa-conform validate` reports the same, from here)."""
        target, requirement = case.target, case.requirement
        parameters = self.parameters(case.profile, target)
        for condition in requirement.when:
            why_not = _inapplicable(condition, target, parameters)
            if why_not is not None:
                return Outcome(verdict=Verdict.NOT_APPLICABLE, reason=f"not applicable: {why_not}")
        for role in requirement.check.needs():
            if role not in target.devices:
                return Outcome(
                    verdict=Verdict.ERROR,
                    reason=f"cannot be decided: target {target.id} declares no {role!r} device; "
                    f"add it under devices at {target.origin}",
                )
        gap = self.gaps.get((case.profile.id, requirement.id, target.id))
        if gap is not None:
            return Outcome(verdict=gap.verdict, reason=gap.reason)
        return None

    def _decide(self, case: Case) -> Outcome:
        settled = self.settled(case)
        if settled is not None:
            return settled
        target, requirement = case.target, case.requirement
        parameters = self.parameters(case.profile, target)
        ctx = CheckContext(
            target=target,
            parameters=parameters,
            device=lambda role: self.device(target, role),
            clock=self._clock,
            evidence=self.evidence,
            actuation_allowed=self.actuation_allowed,
            sleep=self._sleep,
        )
        try:
            return requirement.check.run(ctx)
        except (DeviceError, MissingDesignData, LimitError) as exc:
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")


# The counts of a device's traffic row, summed when it was opened more than once.
_COUNTED = ("point_reads", "observations", "probes", "transactions", "minimum")


def _summed(earlier: Mapping[str, object], later: dict[str, object]) -> dict[str, object]:
    for name in _COUNTED:
        later[name] = cast(int, earlier[name]) + cast(int, later[name])
    return later


def _subsystem(requirement: Requirement, target: Target) -> str | None:
    """The requirement's own subsystem, else that of the first device role its check needs."""
    if requirement.subsystem is not None:
        return requirement.subsystem
    roles = requirement.check.needs()
    return target.subsystem_of(roles[0]) if roles else None


def _identity(spec: DeviceSpec) -> dict[str, str | int | None]:
    """What a device is addressed as: the one thing a transport checks an answer against."""
    address = spec.address
    if address.protocol == "modbus":
        return {"unit": address.unit}
    if address.protocol == "dlt645":
        return {"meter_address": address.meter_address}
    return {"prefix": address.prefix, "client_id": address.params.get("client_id")}


def _sha256(path: Path) -> str:
    """The sha256 of a file, or "" when it cannot be read any more (a bench's temporary map)."""
    try:
        with path.open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except OSError:
        return ""


def _problem(setting: Setting, message: str) -> Problem:
    # The origin already reads "FILE:LINE: $.path" or "--param KEY=VALUE".
    return Problem(file=setting.origin, line=None, path="", message=message)


def _inapplicable(
    condition: Condition, target: Target, parameters: Mapping[str, ParamValue]
) -> str | None:
    if condition.device is not None and condition.device not in target.devices:
        return f"target {target.id} has no {condition.device!r} device"
    if condition.design is not None and condition.design not in target.design:
        return f"target {target.id} declares no design.{condition.design}"
    if condition.parameter is not None and condition.allowed is not None:
        value = parameters[condition.parameter]
        if value not in condition.allowed and str(value) not in map(str, condition.allowed):
            allowed = ", ".join(map(str, condition.allowed))
            return (
                f"parameter {condition.parameter} is {value}, the requirement applies to {allowed}"
            )
    return None
