"""`inventory`: every device a community subsystem declares reports, and nothing else does.

check:
  kind: inventory
  device: video                # an MQTT device role of a community target's subsystem
  topic: inventory             # a topic of its device map, usually a wildcard: 'devices/+'
  id: /id                      # JSON pointer to the reporting device's id in the payload
  timestamp: /ts               # optional: JSON pointer to the payload's time stamp (since
                               # 1970-01-01 UTC, in the topic's declared time_unit, default s);
                               # a report older than max_age does not count
  max_age: $inventory_max_age  # optional with timestamp (default 300 s): a duration or parameter
  classes: [camera]            # optional: compare only these classes of the inventory
  window: $inventory_window    # how long to listen: a duration or parameter

Declared: the ids of the site's `inventory:` of the subsystem whose `devices` hold `device`
(restricted to `classes`). Reported: the ids seen on the topic in the window, the retained
statuses included (a broker sends them on subscribing), unless their own time stamp is older
than max_age (a retained status of a device long gone is not a report).

    fail       a declared device never reported, or nothing arrived at all; when the
               subsystem's gateway itself was never heard from (no live message on any of its
               topics, no retained status online: checks/presence.py) the reason says so first
               (fresh reports it left still count: every declared device reporting passes)
    marginal   every declared device reported, but one the site does not declare did too
    pass       reported = declared
    error      the gateway went away during the window (its offline status arrived and nothing
               followed) before every declared device had reported, or our connection to the
               broker closed: LostContact, the window cannot be judged; or a declared device
               reported only with time stamps that cannot be believed (another unit than the
               map declares, in the future, before 2000: checks/timestamp.py), so whether it is
               fresh is unknown

A payload that is not JSON or has no id at the pointer is counted as unreadable and named in
the reason; it decides nothing by itself. A report whose time stamp cannot be believed does not
count either: a stamp in milliseconds read as seconds would make every report look fresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pint

from ycsa_conform.errors import DeviceError, LostContact
from ycsa_conform.limit import ParamRef
from ycsa_conform.result import Measurement, Source, Verdict, worst
from ycsa_conform.transport import Observes
from ycsa_conform.units import format_quantity, ureg

from .base import CheckContext, Outcome, ParseContext, Use
from .measure import parse_duration
from .message import resolve_pointer
from .presence import presence_of
from .timestamp import DEFAULT_CLOCK_TOLERANCE, UNIT_NAMES, read_stamp, stamp_number

if TYPE_CHECKING:
    # Types only: importing the transport would load paho for every profile.
    from ycsa_conform.transport.mqtt import Message

__all__ = ["DEFAULT_MAX_AGE", "InventoryCheck", "Reports", "judge_inventory", "parse"]

DEFAULT_MAX_AGE = 300.0  # s; a status refreshed less often than this is not a live device
_SHOWN = 10  # ids named in a reason; the rest are counted


@dataclass(frozen=True, slots=True, kw_only=True)
class Reports:
    """What a window of messages says: who reported, and what could not count."""

    reported: frozenset[str]
    stale: frozenset[str]  # ids whose only reports were older than max_age
    unreadable: tuple[str, ...]  # why each unreadable message could not count
    messages: int
    # id -> why its time stamp cannot be believed, for ids with no report that counted
    unbelievable: Mapping[str, str] = field(default_factory=dict)


def read_reports(
    messages: Sequence[Message],
    *,
    id_pointer: str,
    timestamp: str | None,
    max_age: float,
    time_unit: str = "s",
    topic_key: str = "inventory",
    device_map: Path | None = None,
    tolerance: float = DEFAULT_CLOCK_TOLERANCE,
) -> Reports:
    """The ids reporting in `messages`; stale ones (by their own clock, in `time_unit`) and
    those whose time stamp cannot be believed apart."""
    reported: set[str] = set()
    stale: set[str] = set()
    unbelievable: dict[str, str] = {}
    unreadable: list[str] = []
    for message in messages:
        if message.data is None:
            unreadable.append(message.problem or f"payload on {message.topic} is not JSON")
            continue
        try:
            value = resolve_pointer(message.data, id_pointer)
        except (LookupError, TypeError, ValueError):
            value = None
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            unreadable.append(f"no device id at {id_pointer} on {message.topic}")
            continue
        device_id = str(value)
        if timestamp is not None:
            try:
                stamp = stamp_number(resolve_pointer(message.data, timestamp))
            except (LookupError, TypeError, ValueError):
                stamp = None
            if stamp is None:
                unreadable.append(
                    f"no time stamp in {UNIT_NAMES[time_unit]} at {timestamp} on {message.topic}"
                )
                continue
            read = read_stamp(
                stamp,
                arrival=message.at,
                unit=time_unit,
                pointer=timestamp,
                topic_key=topic_key,
                tolerance=tolerance,
                device_map=device_map,
            )
            if isinstance(read, str):
                unbelievable.setdefault(device_id, f"{message.topic}: {read}")
                continue
            if read.age > max_age:
                stale.add(device_id)
                continue
        reported.add(device_id)
    return Reports(
        reported=frozenset(reported),
        stale=frozenset(stale - reported),
        unreadable=tuple(unreadable),
        messages=len(messages),
        unbelievable={i: why for i, why in unbelievable.items() if i not in reported},
    )


def _ids(ids: Sequence[str] | frozenset[str] | set[str]) -> str:
    ordered = sorted(ids)
    shown = ", ".join(ordered[:_SHOWN])
    return shown + (f" and {len(ordered) - _SHOWN} more" if len(ordered) > _SHOWN else "")


def _plural(classes: Sequence[str]) -> str:
    return f"{classes[0].replace('_', ' ')}s" if len(classes) == 1 else "devices"


def judge_inventory(
    reports: Reports,
    *,
    declared: Mapping[str, str],
    known: frozenset[str],
    topic: str,
    window: float,
    source: Source | None = None,
    max_age: float | None = None,
) -> Outcome:
    """Compare who reported with `declared` (id -> class); `known` are all the ids the
    subsystem declares (of every class), so a device of another class is not 'undeclared'."""
    classes = list(dict.fromkeys(declared.values()))
    what = _plural(classes)
    missing = sorted(set(declared) - reports.reported)
    undeclared = sorted(reports.reported - known)

    def measured(name: str, value: int, limit: str, verdict: Verdict) -> Measurement:
        return Measurement(
            name=name, value=value, unit="", limit=limit, verdict=verdict, source=source
        )

    missing_verdict = Verdict.FAIL if missing else Verdict.PASS
    undeclared_verdict = Verdict.MARGINAL if undeclared else Verdict.PASS
    measurements = [
        measured("declared", len(declared), f"site inventory ({', '.join(classes)})", Verdict.PASS),
        measured(
            "reported", len(reports.reported & set(declared)), f"= {len(declared)}", missing_verdict
        ),
        measured("missing", len(missing), "= 0", missing_verdict),
        measured("undeclared", len(undeclared), "= 0", undeclared_verdict),
    ]
    notes: list[str] = []
    if reports.stale:
        measurements.append(measured("stale", len(reports.stale), "not counted", Verdict.PASS))
        older = f" than {max_age:g} s" if max_age is not None else ""
        notes.append(
            f"{len(reports.stale)} stale report(s) (time stamp older{older}) not counted: "
            f"{_ids(reports.stale)}"
        )
    if reports.unbelievable:
        measurements.append(
            measured(
                "unbelievable time stamps", len(reports.unbelievable), "not counted", Verdict.PASS
            )
        )
        notes.append(
            f"{len(reports.unbelievable)} report(s) with a time stamp that cannot be believed "
            f"not counted, the first: {next(iter(reports.unbelievable.values()))}"
        )
    if reports.unreadable:
        measurements.append(
            measured("unreadable", len(reports.unreadable), "not counted", Verdict.PASS)
        )
        notes.append(
            f"{len(reports.unreadable)} unreadable message(s) not counted, the first: "
            f"{reports.unreadable[0]}"
        )
    if reports.messages == 0:
        reason = f"nothing reported on {topic} within {window:g} s"
        missing_verdict = Verdict.FAIL
    else:
        sentences = []
        if missing:
            sentences.append(
                f"{len(missing)} of {len(declared)} declared {what} never reported: {_ids(missing)}"
            )
        if undeclared:
            one = len(undeclared) == 1
            sentences.append(
                f"flagged: {len(undeclared)} device{'' if one else 's'} "
                f"report{'s' if one else ''} that the site does not declare: {_ids(undeclared)}; "
                f"declare {'it' if one else 'them'} or remove {'it' if one else 'them'}"
            )
        if not sentences:
            sentences.append(
                f"all {len(declared)} declared {what} reported on {topic} within {window:g} s"
            )
        reason = "; ".join(sentences)
    if notes:
        reason += "; " + "; ".join(notes)
    verdict = worst([missing_verdict, undeclared_verdict])
    unknown = sorted(set(missing) & set(reports.unbelievable))
    if unknown:
        # Missing only because their stamps cannot be read as declared: perhaps fresh.
        verdict = Verdict.ERROR
        reason = (
            f"cannot be decided: {len(unknown)} declared {what} reported only with time stamps "
            f"that cannot be believed ({_ids(unknown)}), so whether they are fresh is unknown; "
            + reason
        )
    return Outcome(verdict=verdict, reason=reason, measurements=tuple(measurements))


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryCheck:
    device: str
    topic: str
    id: str  # JSON pointer to the reporting device's id
    window: float | ParamRef  # s
    timestamp: str | None = None
    max_age: float | ParamRef = DEFAULT_MAX_AGE  # s; used with timestamp only
    classes: tuple[str, ...] = ()  # () compares every class of the inventory

    @property
    def kind(self) -> str:
        return "inventory"

    def needs(self) -> tuple[str, ...]:
        return (self.device,)

    def uses(self) -> tuple[Use, ...]:
        return (Use(role=self.device, topics=(self.topic,)),)

    def run(self, ctx: CheckContext) -> Outcome:
        declared = self._declared(ctx)
        if isinstance(declared, str):
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {declared}")
        wanted, known = declared
        window = _seconds(ctx, self.window, "window")
        if isinstance(window, str):
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {window}")
        max_age = _seconds(ctx, self.max_age, "max_age")
        if isinstance(max_age, str):
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {max_age}")
        observer = ctx.device(self.device)
        if not isinstance(observer, Observes):
            raise DeviceError(
                f"{self.device} speaks {observer.source.scheme}; inventory checks need an MQTT "
                "device (mqtt:// or mqtts://)"
            )
        try:
            obs = observer.observe(self.topic, window=window, stop="never", witnesses=True)
        except ValueError as exc:  # the device map has no such topic
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")

        def judged(messages: Sequence[Message]) -> tuple[Reports, Outcome]:
            reports = read_reports(
                messages,
                id_pointer=self.id,
                timestamp=self.timestamp,
                max_age=max_age,
                time_unit=obs.time_unit,
                topic_key=obs.key,
                device_map=obs.device_map,
            )
            outcome = judge_inventory(
                reports,
                declared=wanted,
                known=known,
                topic=obs.topic,
                window=window,
                source=observer.source,
                max_age=max_age if self.timestamp is not None else None,
            )
            return reports, outcome

        reports, outcome = judged(obs.messages)
        presence = presence_of(obs, observer.source, window=window)
        lost_at = presence.lost_at
        if lost_at is not None:
            # Reports made before the gateway went away still count; a device missing then
            # might have reported later.
            _, before = judged([m for m in obs.messages if m.at <= lost_at])
            if before.verdict not in (Verdict.PASS, Verdict.MARGINAL):
                raise LostContact(str(presence.lost()))
            return Outcome(
                verdict=before.verdict,
                reason=f"{before.reason}; then {presence.lost()}",
                measurements=before.measurements,
            )
        # Reports fresh by their own time stamps show the gateway talking right around the
        # window; without time stamps a retained report may be years old.
        talking = presence.present or (self.timestamp is not None and bool(reports.reported))
        if not talking and outcome.verdict is Verdict.FAIL:
            gone = presence.gone()
            if gone is not None:
                raise LostContact(gone)
            # Missing devices of a gateway not there say nothing of the devices.
            judged_text = f" ({outcome.reason})" if reports.messages else ""
            return Outcome(
                verdict=Verdict.FAIL,
                reason=presence.never_heard() + judged_text,
                measurements=outcome.measurements,
            )
        return outcome

    def _declared(self, ctx: CheckContext) -> tuple[dict[str, str], frozenset[str]] | str:
        """The declared ids (id -> class) to compare and all ids of the subsystem, or why not."""
        target = ctx.target
        name = target.subsystem_of(self.device)
        if name is None:
            return (
                f"{self.device} is not a device of a subsystem of {target.id}; in the site file "
                f"({target.origin}) put it under 'subsystems: NAME: devices:' and list the "
                "subsystem's devices under its 'inventory:'"
            )
        subsystem = target.subsystems[name]
        if not subsystem.inventory:
            return (
                f"subsystem {name} of {target.id} declares no devices; add 'inventory:' to it in "
                f"the site file ({subsystem.origin}), like {{camera: 'CAM-001..CAM-048'}}"
            )
        unknown = [c for c in self.classes if c not in subsystem.inventory]
        if unknown:
            return (
                f"subsystem {name} of {target.id} has no inventory class "
                f"{', '.join(map(repr, unknown))} ({subsystem.origin}); it declares: "
                f"{', '.join(subsystem.inventory)}"
            )
        classes = self.classes or tuple(subsystem.inventory)
        wanted = {i: c for c in classes for i in subsystem.inventory[c]}
        known = frozenset(i for ids in subsystem.inventory.values() for i in ids)
        return wanted, known


def _seconds(ctx: CheckContext, value: float | ParamRef, key: str) -> float | str:
    """A duration in seconds, or why the parameter holding it cannot be used."""
    if not isinstance(value, ParamRef):
        return float(value)
    given = ctx.parameters[value.name]
    if not isinstance(given, pint.Quantity) or not given.is_compatible_with(ureg.second):
        return f"{key} ${value.name} = {given!r} is not a duration; set it like '5 s'"
    seconds = float(given.to(ureg.second).magnitude)
    if not seconds > 0:
        return f"{key} ${value.name} = {format_quantity(given)} is too short; set it above 0 s"
    return seconds


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> InventoryCheck | None:
    window = parse_duration(raw["window"], ctx, "window")
    max_age: float | ParamRef | None = DEFAULT_MAX_AGE
    if "max_age" in raw:
        if "timestamp" not in raw:
            ctx.problem(
                "max_age",
                "max_age needs 'timestamp', the JSON pointer to the payload's time stamp "
                "(like '/ts'), to know how old a report is; add it or remove max_age",
            )
            return None
        max_age = parse_duration(raw["max_age"], ctx, "max_age", example="120 s")
    classes = tuple(raw.get("classes", ()))
    repeated = sorted({c for c in classes if classes.count(c) > 1})
    if repeated:
        ctx.problem("classes", f"{', '.join(repeated)} named twice; name each class once")
        return None
    if window is None or max_age is None:
        return None
    return InventoryCheck(
        device=raw["device"],
        topic=raw["topic"],
        id=raw["id"],
        window=window,
        timestamp=raw.get("timestamp"),
        max_age=max_age,
        classes=classes,
    )
