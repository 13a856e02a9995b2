"""Design data beyond the engineering tables: found by `ycsa-conform validate`, before a run.

`ycsa-conform loads` stops on a pole whose wind tables end below it (GB 50009-2012 Table 8.2.1
μz and Table 8.6.1 βgz, transcribed to 50 m and 30 m in engineering/wind.py, never
extrapolated). `validate` holds the site to the same tables, by calling the same functions, so
a pole that `loads` refuses is refused when the site is checked, at the line of the value.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pint

from .engineering import wind
from .errors import Problem
from .source import Document, JsonPath
from .units import UnitError, format_quantity, parse_quantity

__all__ = ["heights_beyond_tables"]


def heights_beyond_tables(doc: Document) -> list[Problem]:
    """A problem for each pole height above the μz table and each attachment above the βgz
    table, at its line. `doc` is a site that loaded without problems."""
    found: list[Problem] = []
    for index, target in enumerate(doc.data.get("targets", [])):
        design = target.get("design", {}) if isinstance(target, dict) else {}
        terrain = str(design.get("terrain_category", "B"))
        where: JsonPath = ("targets", index, "design")
        if "height" in design:
            found += _beyond(
                doc,
                (*where, "height"),
                design["height"],
                partial(wind.height_coefficient, terrain=terrain),
                "pole height",
                "GB 50009-2012 Table 8.2.1 (μz)",
            )
        for number, item in enumerate(design.get("equipment", [])):
            if isinstance(item, dict) and "height" in item:
                found += _beyond(
                    doc,
                    (*where, "equipment", number, "height"),
                    item["height"],
                    partial(wind.gust_factor_attachment, terrain=terrain),
                    f"height of {item.get('name', 'the equipment')!r}",
                    "GB 50009-2012 Table 8.6.1 (βgz for attachments)",
                )
    return found


def _beyond(
    doc: Document,
    path: JsonPath,
    raw: Any,
    table: Callable[[pint.Quantity[Any]], float],
    what: str,
    named: str,
) -> list[Problem]:
    try:
        height = parse_quantity(raw)
        table(height)
    except UnitError:
        return []  # the loader has said so already
    except ValueError as exc:
        top = str(exc).split(" is above ", 1)[-1].split(",", 1)[0]
        return [
            doc.problem(
                path,
                f"{what} {format_quantity(height)} is above {top}, where {named} stops as "
                "transcribed (ycsa-conform loads cannot compute it, and does not extrapolate); "
                f"check the value, or design this pole by hand and leave it out of the site",
            )
        ]
    return []
