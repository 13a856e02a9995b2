"""Instrument records: the CSV files an engineer brings back from site (docs/records.md).

    # instrument: Fluke 1625-2 earth ground tester     <- '# key: value' lines before the
    # serial: 3921007                                     header are metadata; other '#' lines
    # calibrated: 2026-03-01                              and blank lines are skipped
    electrode,resistance (Ω),method                    <- header: 'name (unit)' is a number
    E1,1.82,fall-of-potential                             column, a bare name a text column
    E2,2.05,fall-of-potential

Reading checks the layout only; a number cell is read when a check asks for its column, so a
bad cell in a column nobody judges does not stop the judgement of the others. A cell no
instrument reads (NaN, infinity, beyond 10¹², a negative resistance, time, length, current or
frequency) is refused at its line, never judged. The file is UTF-8 (a BOM is fine).
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pint

from .errors import InputError, Problem
from .source import read_text
from .units import UnitError, parse_unit, ureg

__all__ = ["Column", "InstrumentRecord", "Row", "read_record"]

_HEADER_CELL = re.compile(r"^(?P<name>[^()]*?)\s*\((?P<unit>[^()]*)\)$")
_METADATA = re.compile(r"^#\s*(?P<key>[A-Za-z][A-Za-z0-9 _-]*?)\s*:\s*(?P<value>.*?)\s*$")
_HEADER_HINT = (
    "the first line that is not a comment must name the columns, like 'circuit,resistance (MΩ)'"
)


def _fail(path: Path, line: int | None, message: str) -> InputError:
    return InputError([Problem(file=str(path), line=line, path="", message=message)])


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    name: str
    unit: pint.Unit | None  # None for a text column
    index: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstrumentRecord:
    path: Path
    metadata: Mapping[str, str]  # keys lower-case: instrument, serial, calibrated, operator, date…
    header_line: int
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def column(self, name: str) -> Column:
        """The column `name`; an unknown name raises InputError with the close ones and all."""
        for column in self.columns:
            if column.name == name:
                return column
        names = [c.name for c in self.columns]
        folded = {n.casefold(): n for n in names}
        close = [folded[n] for n in difflib.get_close_matches(name.casefold(), list(folded), n=1)]
        did_you_mean = f"did you mean {close[0]!r}? " if close else ""
        raise _fail(
            self.path,
            self.header_line,
            f"no column {name!r}; {did_you_mean}the columns are: {', '.join(names)}",
        )

    def label(self, row: Row) -> str:
        """What names a row: its first text column, else its line."""
        for column in self.columns:
            if column.unit is None:
                return row.cells[column.index].strip()
        return f"line {row.line}"

    def text(self, row: Row, column: Column) -> str:
        return row.cells[column.index].strip()

    def quantity(self, row: Row, column: Column) -> pint.Quantity[Any]:
        """The cell as a quantity in its column's unit; a cell that is no number raises."""
        if column.unit is None:
            raise _fail(
                self.path,
                self.header_line,
                f"column {column.name!r} is a text column; give it a unit in the header, "
                f"like '{column.name} (V)', or judge a number column",
            )
        cell = row.cells[column.index].strip()
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            shown = repr(cell) if cell else "empty"
            raise _fail(
                self.path,
                row.line,
                f"column {column.name!r} is {shown}, not a number; write the reading as a "
                f"plain number in {_unit_text(column.unit)}, like '1.5'",
            )
        if abs(value) > _READING_MAX or (value < 0 and _never_negative(column.unit)):
            raise _fail(
                self.path,
                row.line,
                f"column {column.name!r} is {cell!r}, which no instrument reads "
                f"({'below zero' if value < 0 else 'more digits than a display shows'}); "
                f"write the reading in {_unit_text(column.unit)} as the instrument shows it, "
                "or fix the unit in the header",
            )
        return ureg.Quantity(value, column.unit)

    def describe_source(self) -> str:
        """'Fluke 1625-2 s/n 3921007, calibrated 2026-03-01, by Li Wei on 2026-11-20'."""
        m = self.metadata
        parts = []
        if "instrument" in m:
            parts.append(m["instrument"] + (f" s/n {m['serial']}" if "serial" in m else ""))
        elif "serial" in m:
            parts.append(f"s/n {m['serial']}")
        if "calibrated" in m:
            parts.append(f"calibrated {m['calibrated']}")
        who = " ".join(
            p
            for p in (
                f"by {m['operator']}" if "operator" in m else "",
                f"on {m['date']}" if "date" in m else "",
            )
            if p
        )
        if who:
            parts.append(who)
        return ", ".join(parts)


# No instrument shows a reading beyond 10¹² of its unit (a megohmmeter tops out near 10⁷ MΩ);
# 1e308 or forty nines are a slip that would meet any '>=' limit.
_READING_MAX = 1e12
# Magnitudes an instrument reads that cannot be below zero: resistance, time, length, current
# (RMS or residual), frequency. A negative earth resistance would meet '<= 4 Ω'.
_NEVER_NEGATIVE = ("ohm", "second", "meter", "ampere", "hertz")


def _never_negative(unit: pint.Unit) -> bool:
    dimensionality = ureg.Quantity(1, unit).dimensionality
    return any(dimensionality == ureg.Quantity(1, u).dimensionality for u in _NEVER_NEGATIVE)


def _unit_text(unit: pint.Unit) -> str:
    text = f"{unit:~P}".replace("percent", "%")
    return text or "plain numbers"


def read_record(path: Path | str) -> InstrumentRecord:
    """Read an instrument record; a file that is not one raises InputError at FILE:LINE."""
    path = Path(path)
    try:
        text = read_text(path).removeprefix("\ufeff")  # Excel's "CSV UTF-8" starts with a BOM
    except InputError as exc:
        raise InputError([replace(p, path="") for p in exc.problems]) from None
    metadata: dict[str, str] = {}
    header: tuple[int, list[str]] | None = None
    rows: list[Row] = []
    lines = text.splitlines()
    reader = csv.reader(lines)
    following = 1
    for cells in reader:
        start, following = following, reader.line_num + 1  # a quoted cell may span lines
        if not cells or not any(c.strip() for c in cells):
            continue
        if cells[0].lstrip().startswith("#"):
            if header is None and (match := _METADATA.match(lines[start - 1].strip())):
                metadata.setdefault(match["key"].strip().lower(), match["value"])
            continue
        if header is None:
            header = (start, cells)
            continue
        if len(cells) != len(header[1]):
            raise _fail(
                path,
                start,
                f"row has {len(cells)} cells, the header has {len(header[1])} columns; "
                "give one cell per column (an empty cell is written as nothing between commas)",
            )
        rows.append(Row(line=start, cells=tuple(cells)))
    if header is None:
        raise _fail(path, 1, f"no header in the file; {_HEADER_HINT}")
    header_line, names = header
    columns = _columns(path, header_line, names)
    if not rows:
        raise _fail(
            path,
            header_line,
            "the record has no readings after the header; add one row per reading",
        )
    return InstrumentRecord(
        path=path,
        metadata=MappingProxyType(metadata),
        header_line=header_line,
        columns=columns,
        rows=tuple(rows),
    )


def _columns(path: Path, line: int, names: list[str]) -> tuple[Column, ...]:
    columns: list[Column] = []
    seen: set[str] = set()
    for index, raw in enumerate(names):
        cell = raw.strip()
        match = _HEADER_CELL.match(cell)
        if match is None and ("(" in cell or ")" in cell):
            raise _fail(
                path,
                line,
                f"column {index + 1} header {cell!r} is not 'name (unit)'; write the unit last "
                "in one pair of brackets, like 'resistance (MΩ)'",
            )
        name = (match["name"] if match else cell).strip()
        if not name:
            raise _fail(path, line, f"column {index + 1} has no name; {_HEADER_HINT}")
        if name in seen:
            raise _fail(path, line, f"column name {name!r} appears twice; give each its own name")
        seen.add(name)
        unit = None
        if match is not None:
            try:
                unit = parse_unit(match["unit"])
            except UnitError:
                raise _fail(
                    path,
                    line,
                    f"column {name!r} has unit {match['unit']!r}, which is not a unit we know; "
                    "write it like 'V', 'MΩ', 'mA', 'ms', 'µm' or '%'",
                ) from None
        columns.append(Column(name=name, unit=unit, index=index))
    return tuple(columns)
