"""Reading a site's design block for the base, foundation and fatigue modules.

The site loader has already checked each value's dimension (design.py, site.py); what is
left is whether a group of keys that only makes sense together is declared whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pint

from ycsa_conform.units import Quantity

__all__ = ["declared", "number", "quantity", "text", "whole_number"]


def declared(
    design: Mapping[str, object], required: Sequence[str], optional: Sequence[str], what: str
) -> bool:
    """False when none of the keys is given, True when all `required` are; else ValueError."""
    given = [k for k in (*required, *optional) if k in design]
    if not given:
        return False
    missing = [k for k in required if k not in design]
    if missing:
        raise ValueError(
            f"the design declares {what} in part ({', '.join(given)}) but lacks "
            f"{', '.join(missing)}; give all of {', '.join(required)}"
        )
    return True


def quantity(design: Mapping[str, object], key: str) -> pint.Quantity[Any]:
    value = design[key]
    if not isinstance(value, Quantity):
        raise ValueError(f"design.{key} {value!r} is not a quantity; give it with its unit")
    return value


def number(design: Mapping[str, object], key: str) -> float:
    value = design[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"design.{key} {value!r} is not a number")
    return float(value)


def whole_number(design: Mapping[str, object], key: str) -> int:
    value = number(design, key)
    if value != int(value):
        raise ValueError(f"design.{key} {value:g} must be a whole number")
    return int(value)


def text(design: Mapping[str, object], key: str) -> str:
    return str(design[key])
