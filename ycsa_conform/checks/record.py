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

Aggregates: each (every row, named by its first text column), min, max, mean and p95 (the
GB/T 14549 / 15543 95 % value, engineering/power.probability_value_95). `where` keeps the rows
whose text column has the value given. A target without the record, or a record that cannot be
read or judged (unknown column, a unit the limit cannot compare, a cell that is no number), is
an error naming FILE:LINE and the fix; the profile's own mistakes are found when it loads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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
from ycsa_conform.engineering.power import probability_value_95, voltage_unbalance
from ycsa_conform.errors import InputError, Problem
from ycsa_conform.instrument import InstrumentRecord, Row, read_record
from ycsa_conform.limit import Limit, ParamRef, ResolvedLimit
from ycsa_conform.result import Measurement, Series, Source, Verdict, worst
from ycsa_conform.units import format_quantity, format_unit, parse_unit, ureg

from .base import CheckContext, Decided, Outcome, ParseContext, Use, decide_value

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
        try:
            limits = tuple(judgement.limit.resolve(ctx.parameters) for judgement in self.judge)
        except InputError as exc:
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        return _JUDGED.judge(self, path, limits)

    def decide(self, path: Path, limits: tuple[ResolvedLimit, ...]) -> Outcome:
        """The verdict on the record at `path` against `limits` (one per judgement)."""
        try:
            record = read_record(path)
            judged = [
                (judgement, series, limit)
                for judgement, limit in zip(self.judge, limits, strict=True)
                for series in _series(record, judgement)
            ]
            for _, series, limit in judged:
                _check_comparable(record, series, limit)
        except (InputError, _Undecidable) as exc:
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        described = record.describe_source()
        device = f"record {self.record}" + (f": {described}" if described else "")
        parts: list[tuple[Verdict, str]] = []
        measurements: list[Measurement] = []
        for judgement, series, limit in judged:
            decided = _decide(record, device, judgement.aggregate, series, limit)
            measurements.extend(d.measurement for d in decided)
            parts.append(_summary(judgement.aggregate, series, decided, limit))
        verdict = worst([m.verdict for m in measurements])
        severity = [Verdict.ERROR, Verdict.FAIL, Verdict.MARGINAL, Verdict.PASS]
        parts.sort(key=lambda p: severity.index(p[0]) if p[0] in severity else len(severity))
        head = f"record {self.record} ({path.name}" + (f"; {described}" if described else "")
        reason = f"{head}): " + "; ".join(text for _, text in parts)
        return Outcome(verdict=verdict, reason=reason, measurements=tuple(measurements))


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
        self, check: InstrumentRecordCheck, path: Path, limits: tuple[ResolvedLimit, ...]
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
        return InstrumentRecordCheck(
            record=raw["record"], judge=tuple(j for j in judge if j is not None)
        )
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
    return Judgement(
        columns=columns,
        derive=derive,
        where=MappingProxyType(dict(raw.get("where", {}))),
        aggregate=aggregate,
        limit=limit,
    )


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
