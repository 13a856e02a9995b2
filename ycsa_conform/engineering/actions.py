"""Design actions at one section of a pole for one load combination.

The shared currency between the pole analysis (pole.py: combinations of dead load, wind and
earthquake per GB 55001-2021 / GB 50009-2012 / GB 50011) and the checks below the shaft (the
base plate and anchor bolts, the foundation, fatigue). Axial force is compression positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pint

__all__ = ["Actions", "Limit"]


class Limit(StrEnum):
    """Which kind of combination the actions come from."""

    ULTIMATE = "ultimate"  # factored: strength of steel, plate, bolts (γ0·(γG·G + γQ·W) …)
    CHARACTERISTIC = "characteristic"  # unfactored: deflection, foundation bearing/overturning


@dataclass(frozen=True, slots=True, kw_only=True)
class Actions:
    combination: str  # as printed, e.g. "1.0×(1.3G + 1.5W)" or "G + W"
    limit: Limit
    axial: pint.Quantity[Any]  # N, compression positive (kN)
    shear: pint.Quantity[Any]  # V (kN)
    moment: pint.Quantity[Any]  # M (kN·m)
    # The permanent part of `axial` alone, unfactored: overturning resists with dead load only.
    dead_axial: pint.Quantity[Any] | None = None
