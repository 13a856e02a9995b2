"""Power over Ethernet budget, IEEE 802.3 af/at/bt (values from docs/sources.md SP-PWR-016).

Each PoE type fixes the power a PSE port must be able to supply and the power the powered
device (PD) may draw at its input; the switch budget is spent by the PSE figure, since the
cable loss between them is the switch's to cover. Confidence M (from memory, believed correct).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.units import Quantity

__all__ = ["POE_TYPES", "PoEClass", "PoEType", "poe_class", "pse_power"]


class PoEType(StrEnum):
    AF = "af"  # IEEE 802.3af, Type 1
    AT = "at"  # IEEE 802.3at, Type 2
    BT_TYPE3 = "bt-type3"  # IEEE 802.3bt, Type 3
    BT_TYPE4 = "bt-type4"  # IEEE 802.3bt, Type 4


@dataclass(frozen=True, slots=True, kw_only=True)
class PoEClass:
    type: PoEType
    pse_power: pint.Quantity[Any]  # minimum output of the PSE port
    pd_power: pint.Quantity[Any]  # maximum input of the powered device
    confidence: str = "M"


def _row(kind: PoEType, pse: float, pd: float) -> PoEClass:
    return PoEClass(type=kind, pse_power=Quantity(pse, "W"), pd_power=Quantity(pd, "W"))


# standards.md SP-PWR-016, IEEE 802.3 (M): supply / device W.
POE_TYPES: MappingProxyType[PoEType, PoEClass] = MappingProxyType(
    {
        PoEType.AF: _row(PoEType.AF, 15.4, 12.95),  # M
        PoEType.AT: _row(PoEType.AT, 30.0, 25.5),  # M
        PoEType.BT_TYPE3: _row(PoEType.BT_TYPE3, 60.0, 51.0),  # M
        PoEType.BT_TYPE4: _row(PoEType.BT_TYPE4, 90.0, 71.3),  # M
    }
)


def poe_class(kind: PoEType | str) -> PoEClass:
    """The IEEE 802.3 figures of a PoE type ('af', 'at', 'bt-type3', 'bt-type4')."""
    try:
        return POE_TYPES[PoEType(kind)]
    except ValueError:
        known = ", ".join(POE_TYPES)
        raise ValueError(f"PoE type {kind!r} is not one of {known}") from None


def pse_power(kinds: Iterable[PoEType | str]) -> pint.Quantity[Any]:
    """Σ PSE power the switch must reserve for devices of these PoE types."""
    total: pint.Quantity[Any] = Quantity(0, "W")
    for kind in kinds:
        total = total + poe_class(kind).pse_power
    return total
