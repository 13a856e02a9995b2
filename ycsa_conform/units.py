"""The one unit registry, and how quantities are written and read.

pint parses only plain quantities here ("20 lx", "0.30 kN/m^2"). Operators, ranges and bands
are parsed by `ycsa_conform.limit`, because pint silently drops a leading ">=" and reads
"20 lx ± 2" as 40 lx (see docs/dependencies.md §7).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

import pint

__all__ = ["Quantity", "UnitError", "format_quantity", "parse_quantity", "parse_unit", "ureg"]

ureg: pint.UnitRegistry[Any] = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
# pint has no reactive unit; VA, var and W share dimensions, so "active / reactive / apparent"
# is metadata on a point, never a unit distinction.
ureg.define("volt_ampere_reactive = volt * ampere = var = VAr")
ureg.define("permille = 0.001 = ‰")

Quantity = ureg.Quantity

# Numbers and units only: letters, digits, spaces, '.', '/', '*', '^', '%', '‰', '°', '-', '+', 'µ'.
_QUANTITY_TEXT = re.compile(r"^[\w\s.*/^%‰°µ+\-()]+$")


class UnitError(ValueError):
    """A text is not a quantity pint can read, or has the wrong dimension."""


@functools.lru_cache(maxsize=4096)
def parse_unit(text: str) -> pint.Unit:
    """Read a unit name ('V', 'kN/m^2', '%'); '' or '1' is dimensionless. (Units are
    immutable: one parse serves every target of a district.)"""
    stripped = text.strip()
    if stripped in ("", "1"):
        return ureg.dimensionless
    try:
        return ureg.Unit(stripped)
    except Exception as exc:
        # pint raises many kinds for malformed text ('kN/m^' → AssertionError, 'kN/(m^2' →
        # tokenize.TokenError, unknown names → UndefinedUnitError): all mean "not a unit".
        raise UnitError(f"{text!r} is not a unit we know") from exc


def parse_quantity(text: str | float | int) -> pint.Quantity[Any]:
    """Read '230 V', '0.30 kN/m^2', '85 %' or a bare number (dimensionless)."""
    if isinstance(text, bool):
        raise UnitError(f"{text!r} is not a quantity")
    if isinstance(text, int | float):
        try:
            bare = float(text)
        except OverflowError:  # an int past float range
            bare = math.inf
        if not math.isfinite(bare):
            raise UnitError(f"{text!r} is not a finite number; write a plain number")
        return Quantity(bare, ureg.dimensionless)
    stripped = text.strip()
    if not stripped or not _QUANTITY_TEXT.match(stripped) or "±" in stripped:
        raise UnitError(f"{text!r} is not a quantity; write a number and a unit, like '230 V'")
    match = re.match(r"^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*)$", stripped)
    if match is None:
        raise UnitError(f"{text!r} does not start with a number; write it like '230 V'")
    number, unit_text = match.groups()
    unit = parse_unit(unit_text)
    value = float(number)
    if not math.isfinite(value):
        raise UnitError(f"{text!r} is not a finite number")
    return Quantity(value, unit)


def format_quantity(q: pint.Quantity[Any], digits: int = 4) -> str:
    """'230.1 V', '0.82', '12 %' — short and stable, for reasons and reports."""
    magnitude = q.magnitude
    text = f"{magnitude:.{digits}g}" if isinstance(magnitude, float) else str(magnitude)
    unit = format_unit(q.units)
    return f"{text} {unit}" if unit else text


def format_unit(unit: Any) -> str:
    """'V', 'kN/m²', '%'; '' for dimensionless."""
    if unit == ureg.dimensionless:
        return ""
    text = f"{unit:~P}"
    # pint writes a year as 'a' (annum), which nobody reads as a year.
    return re.sub(r"\ba\b", "year", text.replace("percent", "%"))
