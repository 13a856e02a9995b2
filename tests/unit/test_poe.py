"""PoE budget: IEEE 802.3 af/at/bt figures, copied by hand from docs/sources.md SP-PWR-016
(confidence M), not imported from the module under test."""

from __future__ import annotations

import pytest

from ycsa_conform.engineering import poe
from ycsa_conform.units import Quantity


@pytest.mark.parametrize(
    ("kind", "pse", "pd"),
    [("af", 15.4, 12.95), ("at", 30, 25.5), ("bt-type3", 60, 51), ("bt-type4", 90, 71.3)],
)
def test_poe_types_have_the_ieee_802_3_powers(kind: str, pse: float, pd: float) -> None:
    row = poe.poe_class(kind)

    assert row.pse_power.to("W").magnitude == pytest.approx(pse)
    assert row.pd_power.to("W").magnitude == pytest.approx(pd)
    assert row.confidence == "M"


def test_the_budget_is_spent_by_the_pse_power_of_each_port() -> None:
    total = poe.pse_power(["at", "at", "af", "bt-type3"])

    assert total == Quantity(30 + 30 + 15.4 + 60, "W")
    assert poe.pse_power([]) == Quantity(0, "W")


def test_an_unknown_poe_type_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"PoE type 'bt' is not one of af, at, bt-type3, bt-type4"):
        poe.poe_class("bt")
