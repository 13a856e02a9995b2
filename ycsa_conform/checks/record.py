"""`record`: an instrument record from site, evaluated and judged against the standard.

A record is a file named under the target's `records:` in the site file (docs/records.md).
Two forms. A measured lighting grid (engineering/photometry.read_grid_csv), judged against
CJJ 45-2015 Table 3.3.1::

    check:
      kind: record
      record: lighting_grid            # a name under the target's `records:` in the site file
      road_class: $road_class          # CJJ 45 class I, II or III, or a text parameter holding it
      grade: high                      # low or high, or a text parameter holding it
      method: centre                   # optional: GB/T 5700 grid method, centre or corners
      quantities: [Eav]                # optional: Eav, UE or both (the default)

An instrument record (a CSV with a `name (unit)` header, see instrument.read_record), whose
columns are judged one way each::

    check:
      kind: record
      record: earth_resistance
      judge:
        - {column: resistance, aggregate: each, limit: "<= 4 ohm"}
        - {columns: [U12, U23, U31], aggregate: p95, limit: "== 380 V ± 7 %"}
        - {derive: voltage_unbalance, from: [U12, U23, U31], aggregate: max, limit: "<= 4 %"}
        - {column: resistance, where: {part: luminaire}, aggregate: min, limit: ">= 2 Mohm"}
        - {columns: [U12], aggregate: share, limit: "== 380 V ± 7 %", share: ">= 95 %",
           period: 1 day}

Aggregates: each (every row, named by its first text column), min, max, mean, p95 (the
GB/T 14549 / 15543 95 % value, engineering/power.probability_value_95) and share (the share of
time-stamped values within the limit over a period, GB/T 12325; a record short of the period is
never a pass). `otherwise: {kind: measure, ...}` decides instead when the target has no such
record or it has none of the columns judged (docs/records.md). `where` keeps the rows
whose text column has the value given. A target without the record, or a record that cannot be
read or judged (unknown column, a unit the limit cannot compare, a cell that is no number), is
an error naming FILE:LINE and the fix; the profile's own mistakes are found when it loads.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.engineering.lighting import (
    GridMethod,
    evaluate_grid,
    judge_grid,
    road_lighting_class,
)
from ycsa_conform.engineering.photometry import read_grid_csv
from ycsa_conform.engineering.power import (
    Coverage,
    interval_coverage,
    period_share,
    probability_value_95,
    voltage_unbalance,
)
from ycsa_conform.errors import InputError, Problem
from ycsa_conform.evaluation import judge
from ycsa_conform.instrument import InstrumentRecord, Row, read_record
from ycsa_conform.limit import Limit, LimitError, ParamRef, ResolvedLimit, parse_limit
from ycsa_conform.result import Measurement, Series, Source, Verdict, worst
from ycsa_conform.units import (
    UnitError,
    format_quantity,
    format_unit,
    parse_quantity,
    parse_unit,
    ureg,
)

from .base import Check, CheckContext, Decided, Outcome, ParseContext, Use, decide_value

__all__ = [
    "DERIVATIONS",
    "Aggregate",
    "Derivation",
    "GridRecordCheck",
    "InstrumentRecordCheck",
    "Judgement",
    "parse",
]

GRID_QUANTITIES = ("Eav", "UE")
_LISTED = 5  # rows named in a reason before "and N more"


class Aggregate(StrEnum):
    EACH = "each"
    MIN = "min"
    MAX = "max"
    MEAN = "mean"
    P95 = "p95"
    SHARE = "share"


@dataclass(frozen=True, slots=True, kw_only=True)
class Derivation:
    """A column computed per row from other columns (an analyser export without it)."""

    name: str
    inputs: tuple[str, ...]  # what each input is, in order, for messages
    input_unit: str
    unit: str
    compute: Callable[[Sequence[pint.Quantity[Any]]], pint.Quantity[Any]]


DERIVATIONS: Mapping[str, Derivation] = MappingProxyType(
    {
        "voltage_unbalance": Derivation(
            name="voltage_unbalance",
            inputs=("U12", "U23", "U31"),
            input_unit="V",
            unit="percent",
            compute=lambda u: voltage_unbalance(u[0], u[1], u[2]),
        ),
    }
)


def _missing(ctx: CheckContext, record: str) -> Outcome:
    target = ctx.target
    return Outcome(
        verdict=Verdict.ERROR,
        reason=f"cannot be decided: target {target.id} has no record {record!r}; "
        f"add 'records: {{{record}: FILE}}' to it at {target.origin}",
    )


# -- lighting grid ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GridRecordCheck:
    record: str
    method: GridMethod
    road_class: str | ParamRef
    grade: str | ParamRef
    quantities: tuple[str, ...] = GRID_QUANTITIES

    @property
    def kind(self) -> str:
        return "record"

    def needs(self) -> tuple[str, ...]:
        return ()

    def uses(self) -> tuple[Use, ...]:
        return ()

    def run(self, ctx: CheckContext) -> Outcome:
        path = ctx.target.records.get(self.record)
        if path is None:
            return _missing(ctx, self.record)
        road_class, grade = self._text(ctx, self.road_class), self._text(ctx, self.grade)
        try:
            limits = road_lighting_class(road_class, grade)
            grid = read_grid_csv(path)
            stats = evaluate_grid(grid, self.method)
        except InputError as exc:
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        except ValueError as exc:
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {path}: {exc}")
        source = Source(device=f"record {self.record}", scheme="file", address=str(path))
        checks = [c for c in judge_grid(stats, limits) if c.name in self.quantities]
        measurements = tuple(
            Measurement(
                name=c.name,
                value=float(c.value.to(c.limit.units).magnitude),
                unit=format_unit(c.limit.units),
                limit=f">= {format_quantity(c.limit)}",
                verdict=c.verdict,
                source=source,
            )
            for c in checks
        )
        verdict = worst([m.verdict for m in measurements])
        figures = ", ".join(
            f"{m.name} {m.value:.3g} {m.unit}".rstrip() + f" (limit {m.limit}): {m.verdict.value}"
            for m in measurements
        )
        reason = (
            f"record {self.record} ({path.name}, {stats.method.value} method, "
            f"{stats.points} points): {figures}; {limits.source} class "
            f"{limits.road_class.value} {limits.grade.value} grade"
        )
        grid_series = Series(
            kind="grid",
            name=f"record {self.record}",
            unit="lx",
            x_unit="m",
            x=grid.x,
            y=tuple(v for row in grid.lux for v in row),
            columns=len(grid.x),
            lower=float(limits.average_illuminance.to("lx").magnitude),
            limit=f"Eav >= {format_quantity(limits.average_illuminance)}, "
            f"UE >= {limits.illuminance_uniformity:g}",
        )
        return Outcome(
            verdict=verdict, reason=reason, measurements=measurements, series=(grid_series,)
        )

    @staticmethod
    def _text(ctx: CheckContext, value: str | ParamRef) -> str:
        return str(ctx.parameters[value.name]) if isinstance(value, ParamRef) else value


# -- instrument records ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Judgement:
    """One line of `judge:`: columns (or one derived column), rows kept, aggregate, limit."""

    columns: tuple[str, ...]
    derive: Derivation | None
    where: Mapping[str, str]
    aggregate: Aggregate
    limit: Limit
    share: ShareRule | None = None  # with aggregate share


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareRule:
    """`aggregate: share`: the share of the values within `limit`, judged by `share`, over a
    record that must cover `period` with one value per `interval`, stamped in column `time`."""

    share: Limit
    period: pint.Quantity[Any] | ParamRef
    interval: pint.Quantity[Any]
    time: str


@dataclass(frozen=True, slots=True)
class _Resolved:
    """A judgement's limit with the parameters filled in, and its share rule's (if any)."""

    limit: ResolvedLimit
    share: ResolvedLimit | None = None
    period: timedelta | None = None


class _Undecidable(Exception):
    """The record cannot be judged as asked; the message is FILE:LINE: what and the fix."""


@dataclass(frozen=True, slots=True)
class _Series:
    """The values a judgement aggregates: one name, one unit, (row, value) pairs."""

    name: str
    unit: pint.Unit | None  # None for text
    values: list[tuple[Row, pint.Quantity[Any] | str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentRecordCheck:
    record: str
    judge: tuple[Judgement, ...]
    # Decides instead when the target has no such record, or the record has none of the
    # columns judged (a three-phase record for a single-phase requirement): SP-PWR-001 is
    # judged on 10-min values where a recorder was fitted, on sampled readings otherwise.
    otherwise: Check | None = None

    @property
    def kind(self) -> str:
        return "record"

    def needs(self) -> tuple[str, ...]:
        # The fallback's device roles and points are held to the site before a run, record or
        # not (docs/records.md): a pole without the meter, or a map without the point, is an
        # error even where a record would decide. Simple, and never a false pass.
        return self.otherwise.needs() if self.otherwise is not None else ()

    def uses(self) -> tuple[Use, ...]:
        return self.otherwise.uses() if self.otherwise is not None else ()

    def reads(self) -> dict[str, tuple[str, ...]]:
        """The fallback's points by device role, polled with the run's others (run._plan)."""
        reads = getattr(self.otherwise, "reads", None)
        planned: dict[str, tuple[str, ...]] = reads() if reads is not None else {}
        return planned

    def run(self, ctx: CheckContext) -> Outcome:
        path = ctx.target.records.get(self.record)
        if self.otherwise is not None:
            why = self._fallback_reason(ctx, path)
            if why is not None:
                return self._fall_back(ctx, why)
        if path is None:
            return _missing(ctx, self.record)
        try:
            limits = tuple(_resolve(judgement, ctx.parameters) for judgement in self.judge)
        except InputError as exc:
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        return _JUDGED.judge(self, path, limits)

    def decide(self, path: Path, limits: tuple[_Resolved, ...]) -> Outcome:
        """The verdict on the record at `path` against `limits` (one per judgement)."""
        try:
            record = read_record(path)
            judgements = self._judged({c.name for c in record.columns})
            judged = [
                (judgement, series, limit)
                for judgement, limit in zip(judgements, limits, strict=True)
                for series in _series(record, judgement)
            ]
            for _, series, limit in judged:
                _check_comparable(record, series, limit.limit)
            shares = {
                id(judgement): _share_times(record, judgement)
                for judgement in judgements
                if judgement.share is not None
            }
        except (InputError, _Undecidable) as exc:
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        described = record.describe_source()
        device = f"record {self.record}" + (f": {described}" if described else "")
        parts: list[tuple[Verdict, str]] = []
        measurements: list[Measurement] = []
        for judgement, series, limit in judged:
            if judgement.share is not None:
                decided, text = _decide_share(
                    record, device, series, limit, shares[id(judgement)], judgement.share
                )
                measurements.append(decided.measurement)
                parts.append((decided.measurement.verdict, text))
                continue
            values = _decide(record, device, judgement.aggregate, series, limit.limit)
            measurements.extend(d.measurement for d in values)
            parts.append(_summary(judgement.aggregate, series, values, limit.limit))
        verdict = worst([m.verdict for m in measurements])
        severity = [Verdict.ERROR, Verdict.FAIL, Verdict.MARGINAL, Verdict.PASS]
        parts.sort(key=lambda p: severity.index(p[0]) if p[0] in severity else len(severity))
        head = f"record {self.record} ({path.name}" + (f"; {described}" if described else "")
        reason = f"{head}): " + "; ".join(text for _, text in parts)
        return Outcome(verdict=verdict, reason=reason, measurements=tuple(measurements))

    def _judged(self, present: set[str]) -> tuple[Judgement, ...]:
        """The judgements as given; with `otherwise`, the columns the record lacks left out
        (a single-phase pole's recorder has one of U1N, U2N, U3N)."""
        if self.otherwise is None:
            return self.judge
        return tuple(
            dataclasses.replace(j, columns=kept)
            if j.derive is None and (kept := tuple(c for c in j.columns if c in present))
            else j
            for j in self.judge
        )

    def _fallback_reason(self, ctx: CheckContext, path: Path | None) -> str | None:
        """Why the record cannot be the basis (no record, none of the columns), or None."""
        if path is None:
            return f"target {ctx.target.id} has no record {self.record!r}"
        try:
            record = read_record(path)
        except InputError:
            return None  # a record that cannot be read is an error, never a reason to fall back
        names = {c.name for c in record.columns}
        wanted = [c for j in self.judge for c in j.columns]
        if any(c in names for c in wanted):
            return None
        return f"record {self.record} ({path.name}) has no column {', '.join(wanted)}"

    def _fall_back(self, ctx: CheckContext, why: str) -> Outcome:
        fallback = self.otherwise
        assert fallback is not None
        missing = [role for role in fallback.needs() if role not in ctx.target.devices]
        if missing:
            return Outcome(
                verdict=Verdict.ERROR,
                reason=f"cannot be decided: {why}, and it declares no {missing[0]!r} device "
                f"for the {fallback.kind} check instead; add the record under 'records:' or "
                f"the device under 'devices:' at {ctx.target.origin}",
            )
        outcome = fallback.run(ctx)
        basis = f"basis: {fallback.kind} check, {why}"
        return dataclasses.replace(outcome, reason=f"{outcome.reason} ({basis})")


def _resolve(judgement: Judgement, parameters: Mapping[str, Any]) -> _Resolved:
    limit = judgement.limit.resolve(parameters)
    rule = judgement.share
    if rule is None:
        return _Resolved(limit)
    period = rule.period
    if isinstance(period, ParamRef):
        value = parameters[period.name]
        assert isinstance(value, pint.Quantity), value  # a duration: checked when parsed
        period = value
    seconds = float(period.to("s").magnitude)
    return _Resolved(limit, rule.share.resolve(parameters), timedelta(seconds=seconds))


class _Judged:
    """Verdicts on records already judged: the poles of a road often share one record (the
    feeder's power-quality log, one lux grid per road section), and a district run would
    otherwise read and convert the same file for each of them. An entry holds for the same
    check, the same limits and the file unchanged (its size and modification time)."""

    SIZE = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], tuple[InstrumentRecordCheck, Outcome]] = {}

    def judge(
        self, check: InstrumentRecordCheck, path: Path, limits: tuple[_Resolved, ...]
    ) -> Outcome:
        try:
            stat = path.stat()
            key = (id(check), str(path), stat.st_mtime_ns, stat.st_size, limits)
            hash(key)
        except (OSError, TypeError):  # unreadable (decide() says why) or an unhashable limit
            return check.decide(path, limits)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry[0] is check:
            return entry[1]
        outcome = check.decide(path, limits)
        with self._lock:
            if len(self._entries) >= self.SIZE:
                del self._entries[next(iter(self._entries))]  # the oldest
            self._entries[key] = (check, outcome)  # the check kept: its id is not reused
        return outcome


_JUDGED = _Judged()


def _fail(record: InstrumentRecord, line: int | None, message: str) -> _Undecidable:
    return _Undecidable(str(Problem(file=str(record.path), line=line, path="", message=message)))


def _rows(record: InstrumentRecord, where: Mapping[str, str]) -> list[Row]:
    rows = list(record.rows)
    for name, wanted in where.items():
        column = record.column(name)
        if column.unit is not None:
            raise _fail(
                record,
                record.header_line,
                f"'where' names {name!r}, a number column; name a text column, "
                f"like {next((c.name for c in record.columns if c.unit is None), 'circuit')!r}",
            )
        rows = [r for r in rows if record.text(r, column) == wanted]
        if not rows:
            seen = sorted({record.text(r, column) for r in record.rows})
            raise _fail(
                record,
                record.header_line,
                f"no row has {name} = {wanted!r}; its values are: {', '.join(seen)}; "
                "fix the record or the requirement's 'where'",
            )
    return rows


def _suffix(where: Mapping[str, str]) -> str:
    return "".join(f" ({k} = {v})" for k, v in where.items())


def _series(record: InstrumentRecord, judgement: Judgement) -> list[_Series]:
    rows = _rows(record, judgement.where)
    suffix = _suffix(judgement.where)
    columns = [record.column(name) for name in judgement.columns]
    derive = judgement.derive
    if derive is None:
        found = []
        for column in columns:
            values: list[tuple[Row, pint.Quantity[Any] | str]] = [
                (
                    row,
                    record.text(row, column)
                    if column.unit is None
                    else record.quantity(row, column),
                )
                for row in rows
            ]
            found.append(_Series(f"{column.name}{suffix}", column.unit, values))
        return found
    wanted = parse_unit(derive.input_unit)
    for column in columns:
        if column.unit is None or not (1 * column.unit).is_compatible_with(1 * wanted):
            shown = "text" if column.unit is None else f"in {_unit(column.unit)}"
            raise _fail(
                record,
                record.header_line,
                f"{derive.name} needs columns in {derive.input_unit}, but {column.name!r} is "
                f"{shown}; name the {', '.join(derive.inputs)} columns in 'from'",
            )
    derived: list[tuple[Row, pint.Quantity[Any] | str]] = []
    for row in rows:
        inputs = [record.quantity(row, c) for c in columns]
        try:
            derived.append((row, derive.compute(inputs)))
        except ValueError as exc:
            raise _fail(record, row.line, f"{derive.name}: {exc}") from None
    return [_Series(f"{derive.name}{suffix}", parse_unit(derive.unit), derived)]


def _unit(unit: pint.Unit) -> str:
    return format_unit(unit) or "plain numbers"


def _check_comparable(record: InstrumentRecord, series: _Series, limit: ResolvedLimit) -> None:
    references = [q for q in (limit.lower, limit.upper) if q is not None]
    references += [o for o in limit.one_of or () if not isinstance(o, str)]
    if series.unit is None:
        if references:
            raise _fail(
                record,
                record.header_line,
                f"{series.name!r} is a text column and cannot meet {limit.text!r}; give it a "
                f"unit in the header, like '{series.name} ({format_unit(references[0].units)})'",
            )
        return
    for reference in references:
        if not (1 * series.unit).is_compatible_with(reference):
            raise _fail(
                record,
                record.header_line,
                f"{series.name!r} is in {_unit(series.unit)}, which cannot be compared with the "
                f"limit {limit.text!r} ({format_quantity(reference)}); record it in a unit like "
                f"{format_unit(reference.units) or 'a plain number'}, or fix the requirement",
            )
    if limit.one_of is not None and not references:
        raise _fail(
            record,
            record.header_line,
            f"{series.name!r} holds numbers in {_unit(series.unit)} and cannot meet the text "
            f"limit {limit.text!r}; judge a text column or give a numeric limit",
        )


def _decide(
    record: InstrumentRecord,
    device: str,
    aggregate: Aggregate,
    series: _Series,
    limit: ResolvedLimit,
) -> list[Decided]:
    def source(row: Row | None) -> Source:
        where = f"{record.path}:{row.line}" if row is not None else str(record.path)
        return Source(device=device, scheme="file", address=where)

    if aggregate is Aggregate.EACH:
        return [
            decide_value(f"{series.name} [{record.label(row)}]", value, limit, source(row))
            for row, value in series.values
        ]
    if series.unit is None:
        raise AssertionError("text columns are refused before aggregating")  # _check_comparable
    unit = series.unit
    magnitudes = [
        (row, float(v.to(unit).magnitude)) for row, v in series.values if not isinstance(v, str)
    ]
    name = f"{series.name} {aggregate.value}"
    chosen: Row | None
    if aggregate is Aggregate.MEAN:
        value, chosen = sum(m for _, m in magnitudes) / len(magnitudes), None
    elif aggregate is Aggregate.MIN:
        chosen, value = min(magnitudes, key=lambda p: p[1])
    elif aggregate is Aggregate.MAX:
        chosen, value = max(magnitudes, key=lambda p: p[1])
    else:
        value = probability_value_95([m for _, m in magnitudes])
        chosen = next(row for row, m in magnitudes if m == value)
    if chosen is not None and aggregate is not Aggregate.P95:
        name += f" [{record.label(chosen)}]"
    return [decide_value(name, ureg.Quantity(value, unit), limit, source(chosen))]


_Timed = tuple[Coverage, Mapping[int, datetime]]  # the coverage, and each row's stamp by line


def _share_times(record: InstrumentRecord, judgement: Judgement) -> _Timed:
    """The time stamps of the rows a share judgement counts, and the intervals they cover."""
    rule = judgement.share
    assert rule is not None
    column = record.column(rule.time)
    stamps: dict[int, datetime] = {}
    for row in _rows(record, judgement.where):
        text = record.text(row, column)
        try:
            stamps[row.line] = _stamp(text)
        except ValueError:
            raise _fail(
                record,
                row.line,
                f"{rule.time} {text!r} is not a date and time; write it like "
                "'2026-11-18 00:10' (the end of the 10-min interval)",
            ) from None
    interval = timedelta(seconds=float(rule.interval.to("s").magnitude))
    try:
        coverage = interval_coverage(list(stamps.values()), interval)
    except ValueError as exc:
        raise _fail(record, record.header_line, f"column {rule.time!r}: {exc}") from None
    return coverage, MappingProxyType(stamps)


_MIDNIGHT = re.compile(r"^(?P<day>\d{4}-\d{2}-\d{2})[ T]24:00(:00)?$")


def _stamp(text: str) -> datetime:
    """An ISO date and time; '24:00' (the end of a day, as recorders stamp the last interval)
    is midnight of the next day."""
    midnight = _MIDNIGHT.match(text)
    if midnight is not None:
        return datetime.fromisoformat(midnight["day"]) + timedelta(days=1)
    return datetime.fromisoformat(text)


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days} day" + "s" * (days != 1) if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes or not (days or hours) else "",
    ]
    return " ".join(p for p in parts if p)


def _decide_share(
    record: InstrumentRecord,
    device: str,
    series: _Series,
    resolved: _Resolved,
    timed: _Timed,
    rule: ShareRule,
) -> tuple[Decided, str]:
    """The share of `series` within the band over the period: pass or fail when the record
    covers the period, or when no value it lacks could change the verdict; error otherwise."""
    coverage, stamps = timed
    band, wanted, period = resolved.limit, resolved.share, resolved.period
    assert wanted is not None
    assert period is not None
    pairs = [(row, v) for row, v in series.values if not isinstance(v, str)]
    inside = [judge(v, band).verdict in (Verdict.PASS, Verdict.MARGINAL) for _, v in pairs]
    required = max(1, math.ceil(period / coverage.interval - 1e-9))
    share = period_share(inside, required=required)
    unit = series.unit
    assert unit is not None  # text columns are refused before (_check_comparable)

    def shown(row: Row, value: pint.Quantity[Any]) -> str:
        stamp = stamps[row.line].strftime("%Y-%m-%d %H:%M")
        return f"{format_quantity(value.to(unit))} at {stamp} (line {row.line})"

    lowest = min(pairs, key=lambda p: float(p[1].to(unit).magnitude))
    highest = max(pairs, key=lambda p: float(p[1].to(unit).magnitude))
    outside = len(pairs) - share.within
    interval = _duration(coverage.interval).replace(" ", "-")  # "10-min values"
    count = len(coverage.gaps)
    gaps = f", {coverage.missing} intervals missing in {count} gap{'s' * (count != 1)}" * bool(
        count
    )
    covered = (
        f"{coverage.start:%Y-%m-%d %H:%M} to {coverage.end:%Y-%m-%d %H:%M}, "
        f"{share.values} of the {required} {interval} values of {_duration(period)}{gaps}"
    )
    figures = (
        f"{share.within} of {share.values} {interval} values within {band.describe()}, "
        f"{outside} outside; lowest {shown(*lowest)}, highest {shown(*highest)}; {covered}"
    )
    name = f"{series.name} share within {band.describe()}"
    source = Source(device=device, scheme="file", address=str(record.path))
    if share.complete:
        decided = decide_value(name, ureg.Quantity(share.share, "percent"), wanted, source)
        return decided, f"{decided.text} ({figures})"
    low, high = share.bounds
    best = decide_value(name, ureg.Quantity(high, "percent"), wanted, source)
    if best.measurement.verdict is Verdict.FAIL:
        text = (
            f"{name}: at most {high:.4g} % over {_duration(period)} even if the "
            f"{required - share.values} missing values were within: {best.text.split(': ', 1)[1]} "
            f"({figures})"
        )
        return best, text
    measurement = Measurement(
        name=name,
        value=share.share,
        unit="%",
        limit=wanted.describe(),
        verdict=Verdict.ERROR,
        source=source,
    )
    text = (
        f"{name}: cannot be decided, the record covers {share.values} of the {required} "
        f"{interval} values of {_duration(period)} (the share over the period would be "
        f"{low:.4g} % to {high:.4g} % against {wanted.describe()}); record at least "
        f"{_duration(period)} without gaps ({figures})"
    )
    return Decided(measurement, text), text


def _summary(
    aggregate: Aggregate, series: _Series, decided: list[Decided], limit: ResolvedLimit
) -> tuple[Verdict, str]:
    verdict = worst([d.measurement.verdict for d in decided])
    if aggregate is not Aggregate.EACH:
        (only,) = decided
        return verdict, only.text
    failing = [d for d in decided if d.measurement.verdict is not Verdict.PASS]
    if not failing:
        numbers = [v for d in decided if isinstance(v := d.measurement.value, float)]
        unit = decided[0].measurement.unit
        if len(decided) == 1:
            return verdict, decided[0].text
        if len(numbers) == len(decided):
            span = f"{min(numbers):.4g} .. {max(numbers):.4g} {unit}".rstrip()
            return (
                verdict,
                f"{series.name}: all {len(decided)} rows meet {limit.describe()} ({span})",
            )
        return verdict, f"{series.name}: all {len(decided)} rows meet {limit.describe()}"
    listed = [f"{d.text} ({_line(d)})" for d in failing[:_LISTED]]
    more = f"; and {len(failing) - _LISTED} more" if len(failing) > _LISTED else ""
    return verdict, f"{len(failing)} of {len(decided)} rows: " + "; ".join(listed) + more


def _line(decided: Decided) -> str:
    source = decided.measurement.source
    address = source.address if source is not None else ""
    return "line " + address.rpartition(":")[2] if ":" in address else address


# -- parsing ---------------------------------------------------------------------------------


def parse(
    raw: Mapping[str, Any], ctx: ParseContext
) -> GridRecordCheck | InstrumentRecordCheck | None:
    if "judge" in raw:
        extra = [k for k in ("road_class", "grade", "method", "quantities") if k in raw]
        if extra:
            ctx.problem(
                extra[0],
                f"{extra[0]!r} belongs to a lighting-grid check, and this one has 'judge'; "
                "judge instrument columns or a lighting grid, in two requirements",
            )
            return None
        judge = [
            _judgement(
                item, ParseContext(ctx.doc, (*ctx.where, "judge", i), ctx.parameters, ctx.problems)
            )
            for i, item in enumerate(raw["judge"])
        ]
        if any(j is None for j in judge):
            return None
        otherwise = None
        if "otherwise" in raw:
            from . import KINDS  # the registry imports this module

            inner = ParseContext(ctx.doc, (*ctx.where, "otherwise"), ctx.parameters, ctx.problems)
            otherwise = KINDS[raw["otherwise"]["kind"]](raw["otherwise"], inner)
            if otherwise is None:
                return None
        return InstrumentRecordCheck(
            record=raw["record"],
            judge=tuple(j for j in judge if j is not None),
            otherwise=otherwise,
        )
    if "otherwise" in raw:
        ctx.problem("otherwise", "'otherwise' goes with 'judge'; a lighting grid has none")
        return None
    road_class = _text_or_parameter(raw, "road_class", ctx)
    grade = _text_or_parameter(raw, "grade", ctx)
    if road_class is None or grade is None:
        return None
    return GridRecordCheck(
        record=raw["record"],
        method=GridMethod(raw.get("method", GridMethod.CENTRE.value)),
        road_class=road_class,
        grade=grade,
        quantities=tuple(q for q in GRID_QUANTITIES if q in raw.get("quantities", GRID_QUANTITIES)),
    )


def _judgement(raw: Mapping[str, Any], ctx: ParseContext) -> Judgement | None:
    given = [k for k in ("column", "columns", "derive") if k in raw]
    if len(given) > 1:
        ctx.problem(
            given[1], f"give one of 'column', 'columns' or 'derive', not {' and '.join(given)}"
        )
        return None
    derive = None
    unit: pint.Unit | None = None
    if "derive" in raw:
        derive = DERIVATIONS[raw["derive"]]  # the schema admits only known derivations
        columns = tuple(raw["from"])
        if len(columns) != len(derive.inputs):
            ctx.problem(
                "from",
                f"{derive.name} takes {len(derive.inputs)} columns "
                f"({', '.join(derive.inputs)}), not {len(columns)}; list them in that order",
            )
            return None
        unit = parse_unit(derive.unit)
    elif "from" in raw:
        ctx.problem("from", "'from' goes with 'derive'; remove it or add 'derive: NAME'")
        return None
    else:
        columns = tuple(raw["columns"]) if "columns" in raw else (raw["column"],)
    subject = derive.name if derive else ", ".join(columns)
    limit = ctx.limit(raw["limit"], unit=unit, subject=subject)
    if limit is None:
        return None
    aggregate = Aggregate(raw["aggregate"])
    if limit.one_of is not None and aggregate is not Aggregate.EACH:
        ctx.problem(
            "aggregate",
            f"a list limit ({limit.text!r}) judges each row's text; use 'aggregate: each'",
        )
        return None
    share: ShareRule | None = None
    if aggregate is Aggregate.SHARE:
        share = _share_rule(raw, ctx)
        if share is None:
            return None
    else:
        extra = [k for k in _SHARE_KEYS if k in raw]
        if extra:
            ctx.problem(
                extra[0],
                f"{extra[0]!r} goes with 'aggregate: share'; remove it or judge the share",
            )
            return None
    return Judgement(
        columns=columns,
        derive=derive,
        where=MappingProxyType(dict(raw.get("where", {}))),
        aggregate=aggregate,
        limit=limit,
        share=share,
    )


_SHARE_KEYS = ("share", "period", "interval", "time")
_TEN_MINUTES = "10 min"


def _share_rule(raw: Mapping[str, Any], ctx: ParseContext) -> ShareRule | None:
    for key, example in (("share", '">= 95 %"'), ("period", "1 day")):
        if key not in raw:
            ctx.problem(
                None,
                f"'aggregate: share' needs '{key}', like '{key}: {example}' (the least share "
                "of values within the limit, and the time the record must cover)",
            )
            return None
    try:
        share = parse_limit(raw["share"])
    except LimitError as exc:
        ctx.problem("share", str(exc))
        return None
    percent = parse_unit("percent")
    units = [q.units for q in share.quantities()]
    for name in sorted(share.parameters()):
        info = ctx.parameter("share", name)
        if info is None:
            return None
        units.append(info.unit if info.unit is not None else parse_unit("s"))
    if share.nominal is not None or not all((1 * u).is_compatible_with(percent) for u in units):
        ctx.problem("share", f"{share.text!r} is no bound on a share; write it like '>= 95 %'")
        return None
    period = _duration_or_parameter(raw["period"], "period", ctx)
    interval = _duration_or_parameter(raw.get("interval", _TEN_MINUTES), "interval", ctx)
    if period is None or interval is None:
        return None
    if isinstance(interval, ParamRef):
        ctx.problem("interval", "give the interval as a duration, like '10 min'")
        return None
    return ShareRule(share=share, period=period, interval=interval, time=raw.get("time", "time"))


def _duration_or_parameter(
    text: Any, key: str, ctx: ParseContext
) -> pint.Quantity[Any] | ParamRef | None:
    seconds = parse_unit("s")
    if isinstance(text, str) and text.startswith("$"):
        info = ctx.parameter(key, text[1:])
        if info is None:
            return None
        if info.unit is None or not (1 * info.unit).is_compatible_with(seconds):
            ctx.problem(key, f"parameter {text} is no duration; name one in s, min, h or day")
            return None
        return ParamRef(text[1:])
    try:
        value = parse_quantity(text)
    except UnitError as exc:
        ctx.problem(key, f"{exc}; write a duration like '1 day'")
        return None
    if not value.is_compatible_with(seconds) or not value.to("s").magnitude > 0:
        ctx.problem(key, f"{text!r} is no duration above zero; write one like '1 day'")
        return None
    return value


def _text_or_parameter(
    raw: Mapping[str, Any], key: str, ctx: ParseContext
) -> str | ParamRef | None:
    text: str = raw[key]
    if not text.startswith("$"):
        return text  # the schema admits only the table's classes and grades
    name = text[1:]
    info = ctx.parameter(key, name)
    if info is None:
        return None
    if info.unit is not None:
        ctx.problem(key, f"parameter ${name} is a number or quantity; name a text parameter")
        return None
    return ParamRef(name)
