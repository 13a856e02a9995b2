"""`record`: an instrument record from site, evaluated and judged against the standard.

check:
  kind: record
  record: lighting_grid            # a name under the target's `records:` in the site file
  road_class: $road_class          # CJJ 45 class I, II or III, or a text parameter holding it
  grade: high                      # low or high, or a text parameter holding it
  method: centre                   # optional: GB/T 5700 grid method, centre (default) or corners

The record is a measured illuminance grid (CSV: a header of x positions in metres, then one row
per y position with the lux readings; see engineering/photometry.read_grid_csv). Its Eav and UE
are judged against CJJ 45-2015 Table 3.3.1 for the class and grade. A target without the record,
or a record that cannot be read, is an error naming the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ycsa_conform.engineering.lighting import (
    GridMethod,
    evaluate_grid,
    judge_grid,
    road_lighting_class,
)
from ycsa_conform.engineering.photometry import read_grid_csv
from ycsa_conform.errors import InputError
from ycsa_conform.limit import ParamRef
from ycsa_conform.result import Measurement, Source, Verdict, worst
from ycsa_conform.units import format_quantity, format_unit

from .base import CheckContext, Outcome, ParseContext

__all__ = ["RecordCheck", "parse"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordCheck:
    record: str
    method: GridMethod
    road_class: str | ParamRef
    grade: str | ParamRef

    @property
    def kind(self) -> str:
        return "record"

    def needs(self) -> tuple[str, ...]:
        return ()

    def run(self, ctx: CheckContext) -> Outcome:
        target = ctx.target
        path = target.records.get(self.record)
        if path is None:
            return Outcome(
                verdict=Verdict.ERROR,
                reason=f"cannot be decided: target {target.id} has no record {self.record!r}; "
                f"add 'records: {{{self.record}: FILE}}' to it at {target.origin}",
            )
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
        checks = judge_grid(stats, limits)
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
        return Outcome(verdict=verdict, reason=reason, measurements=measurements)

    @staticmethod
    def _text(ctx: CheckContext, value: str | ParamRef) -> str:
        return str(ctx.parameters[value.name]) if isinstance(value, ParamRef) else value


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> RecordCheck | None:
    road_class = _text_or_parameter(raw, "road_class", ctx)
    grade = _text_or_parameter(raw, "grade", ctx)
    if road_class is None or grade is None:
        return None
    return RecordCheck(
        record=raw["record"],
        method=GridMethod(raw.get("method", GridMethod.CENTRE.value)),
        road_class=road_class,
        grade=grade,
    )


def _text_or_parameter(
    raw: Mapping[str, Any], key: str, ctx: ParseContext
) -> str | ParamRef | None:
    text: str = raw[key]
    if not text.startswith("$"):
        return text  # the schema admits only the table's classes and grades
    name = text[1:]
    info = ctx.parameters.get(name)
    if info is None:
        known = ", ".join(f"${p}" for p in ctx.parameters) or "none"
        ctx.problem(
            key, f"unknown parameter ${name}; declare it under 'parameters' (known: {known})"
        )
        return None
    if info.unit is not None:
        ctx.problem(key, f"parameter ${name} is a number or quantity; name a text parameter")
        return None
    return ParamRef(name)
