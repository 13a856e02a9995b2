"""What every check kind shares: how it is parsed, what it gets to run, what it returns."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pint

from ycsa_conform.errors import Problem
from ycsa_conform.evaluation import judge
from ycsa_conform.evidence import EvidenceFile
from ycsa_conform.limit import Limit, LimitError, ResolvedLimit, parse_limit
from ycsa_conform.result import Measurement, Series, Source, Verdict, worst
from ycsa_conform.site import Target
from ycsa_conform.source import Document, JsonPath
from ycsa_conform.transport import Device
from ycsa_conform.units import format_quantity, format_unit

__all__ = [
    "Check",
    "CheckContext",
    "Decided",
    "Outcome",
    "ParameterInfo",
    "ParseContext",
    "Use",
    "combine",
    "decide_value",
]

ParamValue = pint.Quantity[Any] | str | float | bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterInfo:
    """What a check parser needs to know of a profile parameter."""

    name: str
    unit: pint.Unit | None  # None for text and boolean parameters; numbers are dimensionless


@dataclass(slots=True)
class ParseContext:
    """Handed to a check kind's parser: the file, where the check is, the profile's parameters."""

    doc: Document
    where: JsonPath
    parameters: Mapping[str, ParameterInfo]
    problems: list[Problem] = field(default_factory=list)

    def problem(self, key: str | None, message: str) -> None:
        path = (*self.where, key) if key else self.where
        self.problems.append(self.doc.problem(path, message))

    def parameter(self, key: str, name: str) -> ParameterInfo | None:
        """The profile's parameter `name` that the check's `key` refers to ($name), or None
        with the problem reported."""
        info = self.parameters.get(name)
        if info is None:
            known = ", ".join(f"${p}" for p in self.parameters) or "none"
            self.problem(
                key, f"unknown parameter ${name}; declare it under 'parameters' (known: {known})"
            )
        return info

    def limit(self, raw: Any, *, unit: pint.Unit | None, subject: str) -> Limit | None:
        """Parse the check's `limit`; check its parameters exist and its dimension fits `unit`."""
        try:
            limit = parse_limit(raw)
        except LimitError as exc:
            self.problem("limit", str(exc))
            return None
        for name in sorted(limit.parameters()):
            if self.parameter("limit", name) is None:
                return None
        for name in sorted(limit.parameters()):
            if self.parameters[name].unit is None:
                self.problem(
                    "limit",
                    f"parameter ${name} is text or true/false and cannot bound a value; "
                    "use a quantity or number parameter",
                )
                return None
        if unit is None:
            return limit
        dimensions = [(format_quantity(q), q.units) for q in limit.quantities()]
        dimensions += [
            (f"${n}", u) for n in limit.parameters() if (u := self.parameters[n].unit) is not None
        ]
        unit_text = f"{unit:~P}"
        fix = (
            f"which is in {unit_text}; give the limit in {unit_text}"
            if unit_text
            else "which is a plain number; drop the unit"
        )
        relative = limit.nominal is not None
        for shown, got in dimensions:
            if relative and got in (got._REGISTRY.percent, got._REGISTRY.permille):
                continue  # "== 220 V ± 7 %": the tolerance is relative to the nominal
            if not (1 * got).is_compatible_with(1 * unit):
                self.problem(
                    "limit",
                    f"{shown!r} in {limit.text!r} has the wrong dimension for {subject}, {fix}",
                )
                return None
        return limit


@dataclass(slots=True)
class CheckContext:
    """What a check gets at run time: the target, its parameters, its devices, a clock,
    the operator's evidence (None without --evidence) and whether it may command devices
    (a bench site, or --allow-actuation)."""

    target: Target
    parameters: Mapping[str, ParamValue]
    device: Callable[[str], Device]
    clock: Callable[[], float] = time.time
    evidence: EvidenceFile | None = None
    actuation_allowed: bool = False
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    verdict: Verdict
    reason: str
    measurements: tuple[Measurement, ...] = ()
    # True when the requirement applies to the target but was not tested: not applicable only
    # because actuation is not allowed, or because a state it assumes does not hold now. A
    # mandatory requirement left so keeps a run from concluding "Conforms".
    untested: bool = False
    # The values judged, for the report's plots (samples over a window, arrivals, a grid).
    series: tuple[Series, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Use:
    """What a check asks of one device role. `ycsa-conform validate` and the start of every run
    hold the role's device map to it, so a missing point is found before anything runs."""

    role: str
    reads: tuple[str, ...] = ()  # logical points read
    writes: tuple[str, ...] = ()  # points written (set, restore, a trigger's stimulus)
    topics: tuple[str, ...] = ()  # MQTT topic keys of the device map observed
    commands: bool = False  # commands acknowledged through the map's `commands:` (MQTT)
    # Points the profile marks optional: a map without them makes the requirement not
    # applicable (a relay on a dimming-only controller), not an error.
    optional: tuple[str, ...] = ()
    # Points the check uses only when the role's map has them: a state or side effect the
    # profile marks optional (the relay state `lamp_on` a power factor is judged with, on a
    # controller that may have no relay). A map without them is no gap; the check does without.
    when_mapped: tuple[str, ...] = ()
    # Points written only to establish a state the requirement assumes (`requires`, and the
    # side effects put back after), when it does not hold and actuation is allowed. Also in
    # `reads`; never a gap when mapped read-only: a device that refuses the write leaves the
    # requirement untested in that state, and is judged when the state holds by itself.
    establishes: tuple[str, ...] = ()
    # Sends the device malformed requests (the `fuzz` check): a device busy with garbage, or
    # one a bad command changed, must not be observed by another check at the same time.
    disturbs: bool = False


class Check(Protocol):
    """A parsed check. `kind` names it in profiles; `run` may do I/O through `ctx.device`."""

    @property
    def kind(self) -> str: ...

    def needs(self) -> tuple[str, ...]:
        """Device roles the check reads; a target without one of them cannot be decided."""
        ...

    def uses(self) -> tuple[Use, ...]:
        """What the check asks of each device role's map (points, topics, commands)."""
        ...

    def run(self, ctx: CheckContext) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Decided:
    """One value judged: the measurement for the report and its sentence for the reason."""

    measurement: Measurement
    text: str


def decide_value(
    name: str,
    value: pint.Quantity[Any] | str | bool,
    limit: ResolvedLimit | None,
    source: Source | None,
) -> Decided:
    """Judge `value` and record it in the unit of the limit (so reports compare like with like)."""
    judgement = judge(value, limit)
    shown: float | str | bool | None = value if not isinstance(value, pint.Quantity) else 0.0
    unit = ""
    if isinstance(value, pint.Quantity):
        reference = (
            None if limit is None else (limit.lower if limit.lower is not None else limit.upper)
        )
        if reference is not None and value.is_compatible_with(reference):
            value = value.to(reference.units)
        magnitude = float(value.magnitude)
        # NaN and ±inf are not JSON numbers: the report keeps no value, the reason says it.
        shown = magnitude if math.isfinite(magnitude) else None
        unit = format_unit(value.units)
    measurement = Measurement(
        name=name,
        value=shown,
        unit=unit,
        limit=limit.describe() if limit is not None else "readable",
        verdict=judgement.verdict,
        source=source,
    )
    return Decided(measurement, f"{name}: {judgement.text}")


def combine(decided: list[Decided]) -> Outcome:
    """The worst verdict decides; the reason leads with the values that decided it."""
    verdict = worst([d.measurement.verdict for d in decided])
    deciding = [d.text for d in decided if d.measurement.verdict == verdict]
    return Outcome(
        verdict=verdict,
        reason="; ".join(deciding),
        measurements=tuple(d.measurement for d in decided),
    )
