"""`compute`: an engineering calculation on the target's design data, compared with a limit.

    check:
      kind: compute
      formula: attachment_wind_moment_utilisation
      limit: "<= 1.0"

`design_value` reads one design key as it is (`design: luminaire_cct`). Adding a formula means
adding a `Formula` to `FORMULAS`; its `unit` is what the profile's limit is checked against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform.design import DESIGN_KEYS
from ycsa_conform.engineering import lighting, wind
from ycsa_conform.limit import Limit
from ycsa_conform.result import Source
from ycsa_conform.site import Equipment
from ycsa_conform.units import parse_unit

from .base import CheckContext, Outcome, ParseContext, combine, decide_value

__all__ = ["FORMULAS", "ComputeCheck", "Formula", "MissingDesignData", "parse"]

Value = pint.Quantity[Any] | str | float


class MissingDesignData(LookupError):
    """The site does not declare a design value the formula needs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Formula:
    name: str
    unit: str  # "" dimensionless, "text", or a unit; "design" means the unit of the design key
    description: str
    compute: Callable[[CheckContext, str | None], list[tuple[str, Value, Source | None]]]


def _design(ctx: CheckContext, key: str) -> Value:
    try:
        return ctx.target.design[key]
    except KeyError:
        raise MissingDesignData(
            f"target {ctx.target.id} declares no design.{key} "
            f"({DESIGN_KEYS[key].description}); add it to the site file at {ctx.target.origin}"
        ) from None


def _quantity(ctx: CheckContext, key: str) -> pint.Quantity[Any]:
    value = _design(ctx, key)
    assert isinstance(value, pint.Quantity), key
    return value


def _design_value(ctx: CheckContext, key: str | None) -> list[tuple[str, Value, Source | None]]:
    assert key is not None
    return [(f"design.{key}", _design(ctx, key), None)]


def _equipment(ctx: CheckContext) -> tuple[Equipment, ...]:
    if not ctx.target.equipment:
        raise MissingDesignData(
            f"target {ctx.target.id} lists no design.equipment; list the mounted equipment "
            f"with mass, area and height at {ctx.target.origin}"
        )
    return ctx.target.equipment


def _equipment_mass(ctx: CheckContext, _: str | None) -> list[tuple[str, Value, Source | None]]:
    total = sum((e.mass.to("kg") for e in _equipment(ctx)), start=0 * parse_unit("kg"))
    return [
        (
            "equipment mass / rated mass",
            (total / _quantity(ctx, "rated_equipment_mass")).to(""),
            None,
        )
    ]


# Equipment boxes, luminaires and cameras without a manufacturer EPA: μs = 1.3
# (reference/standards.md §1.1, tag I).
DEFAULT_ATTACHMENT_SHAPE_COEFFICIENT = 1.3


def _attachment_moment(ctx: CheckContext, _: str | None) -> list[tuple[str, Value, Source | None]]:
    terrain = _design(ctx, "terrain_category")
    assert isinstance(terrain, str)
    w0 = ctx.parameters["basic_wind_pressure"]
    assert isinstance(w0, pint.Quantity)
    moment = 0 * parse_unit("kN*m")
    for item in _equipment(ctx):
        mu_s = item.shape_coefficient or DEFAULT_ATTACHMENT_SHAPE_COEFFICIENT
        w_k = wind.attachment_wind_pressure(item.height, terrain, w0, mu_s)
        moment = moment + (w_k * item.area * item.height).to("kN*m")
    rated = _quantity(ctx, "rated_attachment_moment")
    return [
        ("attachment wind moment / rated moment", (moment / rated).to(""), None),
    ]


def _lpd(ctx: CheckContext, _: str | None) -> list[tuple[str, Value, Source | None]]:
    count = _design(ctx, "luminaires_per_pole")
    assert isinstance(count, float)
    value = lighting.lighting_power_density(
        _quantity(ctx, "luminaire_power"),
        count,
        _quantity(ctx, "pole_spacing"),
        _quantity(ctx, "road_width"),
    )
    return [("lighting power density", value, None)]


def _modbus_unit_ids(ctx: CheckContext, _: str | None) -> list[tuple[str, Value, Source | None]]:
    found: list[tuple[str, Value, Source | None]] = []
    for role, spec in sorted(ctx.target.devices.items()):
        unit = spec.address.params.get("unit")
        if spec.address.scheme.startswith("modbus") and unit is not None:
            source = Source(device=role, scheme=spec.address.scheme, address=spec.uri)
            found.append((f"{role} unit id", float(unit), source))
    if not found:
        raise MissingDesignData(f"target {ctx.target.id} has no Modbus device")
    return found


FORMULAS: Mapping[str, Formula] = MappingProxyType(
    {
        f.name: f
        for f in (
            Formula(
                name="design_value",
                unit="design",
                description="a design value as declared (needs `design: KEY`)",
                compute=_design_value,
            ),
            Formula(
                name="equipment_mass_utilisation",
                unit="",
                description="mounted-equipment mass ÷ the certificate's rated mass",
                compute=_equipment_mass,
            ),
            Formula(
                name="attachment_wind_moment_utilisation",
                unit="",
                description="base moment of wind on mounted equipment (GB 50009 8.1.1-2) ÷ rated",
                compute=_attachment_moment,
            ),
            Formula(
                name="lighting_power_density",
                unit="W/m^2",
                description="luminaire power per span ÷ lit area (CJJ 45-2015 7.1.2)",
                compute=_lpd,
            ),
            Formula(
                name="modbus_unit_ids",
                unit="",
                description="the unit id of every Modbus device of the target",
                compute=_modbus_unit_ids,
            ),
        )
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ComputeCheck:
    formula: Formula
    design: str | None
    limit: Limit

    @property
    def kind(self) -> str:
        return "compute"

    def needs(self) -> tuple[str, ...]:
        return ()

    def run(self, ctx: CheckContext) -> Outcome:
        limit = self.limit.resolve(ctx.parameters)
        decided = []
        for name, value, source in self.formula.compute(ctx, self.design):
            if isinstance(value, float):
                value = value * parse_unit("")
            decided.append(decide_value(name, value, limit, source))
        return combine(decided)


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> ComputeCheck | None:
    formula = FORMULAS.get(raw["formula"])
    if formula is None:
        ctx.problem(
            "formula",
            f"unknown formula {raw['formula']!r}; known formulas: {', '.join(FORMULAS)}",
        )
        return None
    design = raw.get("design")
    unit_text = formula.unit
    if formula.unit == "design":
        if design is None:
            ctx.problem(None, f"formula {formula.name} needs 'design: KEY' naming the design value")
            return None
        if design not in DESIGN_KEYS:
            ctx.problem(
                "design",
                f"unknown design key {design!r}; known keys: {', '.join(DESIGN_KEYS)}",
            )
            return None
        unit_text = DESIGN_KEYS[design].unit
    elif design is not None:
        ctx.problem("design", f"formula {formula.name} takes no 'design' key; remove it")
        return None
    unit = None if unit_text == "text" else parse_unit(unit_text)
    limit = ctx.limit(raw["limit"], unit=unit, subject=design or formula.name)
    if limit is None:
        return None
    return ComputeCheck(formula=formula, design=design, limit=limit)
