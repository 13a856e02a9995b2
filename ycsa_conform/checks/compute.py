"""`compute`: an engineering calculation on the target's design data, compared with a limit.

    check:
      kind: compute
      formula: attachment_wind_moment_utilisation
      limit: "<= 1.0"

`design_value` reads one design key as it is (`design: luminaire_cct`). Adding a formula means
adding a `Formula` to `FORMULAS`; its `unit` is what the profile's limit is checked against.
The structural and lighting formulas read `ycsa_conform.analysis`, the same calculation the
`ycsa-conform loads` and `ycsa-conform lighting` commands print. A formula may add values that
only inform (`Value(decides=False)`, shown as read) next to the ones the limit decides.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import pint

from ycsa_conform import analysis
from ycsa_conform.analysis import MissingDesignData, UnusableDesignData
from ycsa_conform.design import DESIGN_KEYS
from ycsa_conform.engineering import base as base_connection
from ycsa_conform.engineering import foundation, lighting, poe, pole, power, wind
from ycsa_conform.engineering.lighting import GridMethod
from ycsa_conform.limit import Limit
from ycsa_conform.result import Series, Source
from ycsa_conform.site import Equipment
from ycsa_conform.units import Quantity, format_quantity, parse_unit

from .base import CheckContext, Outcome, ParseContext, Use, combine, decide_value

__all__ = [
    "FORMULAS",
    "ComputeCheck",
    "Formula",
    "MissingDesignData",
    "UnusableDesignData",
    "Value",
    "parse",
]


@dataclass(frozen=True, slots=True)
class Value:
    """One result of a formula: judged against the limit, or (decides=False) shown as read."""

    name: str
    value: pint.Quantity[Any] | str | float
    source: Source | None = None
    decides: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Formula:
    name: str
    # "" dimensionless, "text", or a unit; "design" means the unit of the design key
    unit: str
    description: str
    compute: Callable[[CheckContext, str | None], list[Value]]


def _design(ctx: CheckContext, key: str) -> pint.Quantity[Any] | str | float:
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


def _number(ctx: CheckContext, key: str) -> float:
    value = _design(ctx, key)
    assert isinstance(value, float), key
    return value


def _q(value: pint.Quantity[Any], unit: str, digits: int = 4) -> str:
    return format_quantity(value.to(unit), digits)


def _ratio(a: pint.Quantity[Any], b: pint.Quantity[Any]) -> float:
    return float((a / b).to("").magnitude)


def _design_value(ctx: CheckContext, key: str | None) -> list[Value]:
    assert key is not None
    return [Value(f"design.{key}", _design(ctx, key))]


def _equipment(ctx: CheckContext) -> tuple[Equipment, ...]:
    if not ctx.target.equipment:
        raise MissingDesignData(
            f"target {ctx.target.id} lists no design.equipment; list the mounted equipment "
            f"with mass, area and height at {ctx.target.origin}"
        )
    return ctx.target.equipment


# --- mounted equipment against the certificate (analysis.equipment_budget) ----------------


def _budget_row(ctx: CheckContext, row: str, rating: str, label: str) -> list[Value]:
    _equipment(ctx)
    _design(ctx, rating)
    check = analysis.equipment_budget(ctx.target).check(row)
    text = (
        f"{label} {format_quantity(check.value)} ÷ design.{rating} {format_quantity(check.limit)}"
    )
    return [Value(text, check.utilisation if check.utilisation is not None else 0.0)]


def _equipment_mass(ctx: CheckContext, _: str | None) -> list[Value]:
    return _budget_row(ctx, "equipment mass", "rated_equipment_mass", "equipment mass")


def _attachment_moment(ctx: CheckContext, _: str | None) -> list[Value]:
    return _budget_row(
        ctx, "attachment moment", "rated_attachment_moment", "attachment wind moment (βgz)"
    )


def _equipment_area(ctx: CheckContext, _: str | None) -> list[Value]:
    return _budget_row(ctx, "equipment μs·A", "rated_equipment_area", "Σ μs·A")


# --- the pole under wind (analysis.structure) -----------------------------------------------


def _deflection_ratio(ctx: CheckContext) -> float:
    value = ctx.parameters.get("max_top_deflection_ratio", pole.DEFLECTION_LIMIT_RATIO)
    if isinstance(value, pint.Quantity):
        return float(value.to("").magnitude)
    assert isinstance(value, float | int), value
    return float(value)


def _min_safety_factor(ctx: CheckContext) -> float:
    value = ctx.parameters.get("min_overturning_safety_factor", 1.5)
    if isinstance(value, pint.Quantity):
        return float(value.to("").magnitude)
    assert isinstance(value, float | int), value
    return float(value)


def _structure(ctx: CheckContext) -> analysis.Structure:
    return analysis.structure(
        ctx.target,
        deflection_limit_ratio=_deflection_ratio(ctx),
        min_safety_factor=_min_safety_factor(ctx),
    )


def _frequency_text(s: analysis.Structure) -> str:
    # Rayleigh's quotient is an upper bound on f1: about 1 % high for these poles.
    origin = (
        "estimated, Rayleigh: an upper bound, ~1 % high"
        if s.loads.frequency_estimated
        else "design"
    )
    return f"f1 {_q(s.loads.first_frequency, 'Hz', 3)} ({origin})"


def _wind_pressure_coverage(ctx: CheckContext, _: str | None) -> list[Value]:
    city = str(ctx.parameters.get("city", "Kunming"))
    period = ctx.parameters.get("return_period", Quantity(50, "year"))
    assert isinstance(period, pint.Quantity), period
    try:
        required = wind.basic_wind_pressure(city, period)
    except ValueError as exc:
        raise UnusableDesignData(f"parameter city: {exc}") from None
    design = _quantity(ctx, "basic_wind_pressure")
    years = float(period.to("year").magnitude)
    name = (
        f"design w0 {_q(design, 'kN/m^2', 3)} ÷ required w0 {_q(required, 'kN/m^2', 3)} "
        f"({city}, R = {years:g} years, GB 50009-2012 Table E.5, not below 0.30 kN/m² by 8.1.2)"
    )
    return [Value(name, _ratio(design, required))]


def _wind_vibration_coverage(ctx: CheckContext, _: str | None) -> list[Value]:
    s = _structure(ctx)
    declared = _number(ctx, "design_wind_vibration_factor")
    computed = s.top_wind_vibration_factor
    name = (
        f"design βz {declared:.3g} ÷ βz at the top {computed:.4g} "
        f"(GB 50009-2012 8.4, terrain {s.loads.terrain}, {_frequency_text(s)})"
    )
    return [Value(name, declared / computed)]


# The vortex verdict as a word, so a declared mitigation can pass without a made-up speed.
VORTEX_CLEAR = "clear"  # v_cr ≥ min(15 m/s, v_H): no sub-critical vortex vibration
VORTEX_MITIGATED = "mitigated"  # v_cr is below, and a damper or strakes are declared
VORTEX_EXPOSED = "exposed"  # v_cr is below and nothing is declared against it
VORTEX_NOT_COVERED = "not-covered"  # polygonal shaft or Re ≥ 3×10⁵: 8.5.3 by hand


def _vortex(ctx: CheckContext, _: str | None) -> list[Value]:
    s = _structure(ctx)
    loads = s.loads
    check = s.check("vortex v_cr")
    mitigation = str(ctx.target.design.get("vortex_mitigation", "none"))
    v_cr, required = loads.critical_wind_speed, check.limit
    figures = (
        f"v_cr {_q(v_cr, 'm/s', 3)} vs min(15 m/s, v_H {_q(loads.top_wind_speed, 'm/s', 4)}) = "
        f"{_q(required, 'm/s', 3)}, Re {loads.reynolds:.0f}, {_frequency_text(s)}"
    )
    if check.verdict is pole.Verdict.NOT_APPLICABLE:
        state, note = VORTEX_NOT_COVERED, f"{check.basis}"
    elif check.verdict is pole.Verdict.PASS:
        state, note = VORTEX_CLEAR, "v_cr is at or above the limit (GB 50009-2012 8.5.3)"
    elif mitigation != "none":
        state = VORTEX_MITIGATED
        note = (
            f"v_cr is below the limit, design.vortex_mitigation is {mitigation}: check its test "
            "report shows the vibration damped (GB 50009-2012 8.5.3)"
        )
    else:
        state = VORTEX_EXPOSED
        note = (
            "sub-critical vortex vibration can occur; fit a damper or strakes and declare "
            "design.vortex_mitigation, or stiffen the pole (GB 50009-2012 8.5.3)"
        )
    return [
        Value("critical wind speed v_cr", v_cr.to("m/s"), decides=False),
        Value(f"vortex shedding ({figures}; {note})", state),
    ]


def _check_ratio(ctx: CheckContext, check_name: str, label: str) -> list[Value]:
    check = _structure(ctx).check(check_name)
    assert check.utilisation is not None
    name = (
        f"{label} {format_quantity(check.value)} ÷ {format_quantity(check.limit)} ({check.basis})"
    )
    return [Value(name, check.utilisation)]


def _base_stress(ctx: CheckContext, _: str | None) -> list[Value]:
    return _check_ratio(ctx, "base stress", "base stress")


def _local_buckling(ctx: CheckContext, _: str | None) -> list[Value]:
    # 'base D/t' for a round shaft, 'base b/t' (flat width) for a polygonal one, and the same at
    # the bottom of every upper segment ('D/t at 5 m'): the worst decides.
    s = _structure(ctx)
    base = pole.local_buckling_check_name(s.shaft)
    rows = [c for c in s.loads.checks if c.name == base or c.name.startswith(base[5:] + " at ")]
    worst = max(rows, key=lambda c: c.utilisation or 0.0)
    values = _check_ratio(ctx, worst.name, worst.name)
    if len(rows) > 1:
        values[:0] = [Value(f"{c.name} ÷ limit", c.utilisation or 0.0, decides=False) for c in rows]
    return values


def _worst_section(ctx: CheckContext, checks: tuple[pole.Check, ...], what: str) -> list[Value]:
    worst = max(checks, key=lambda c: c.utilisation or 0.0)
    assert worst.utilisation is not None
    shown = [
        Value(f"{c.name}, {c.combination}", c.utilisation or 0.0, decides=False) for c in checks
    ]
    name = (
        f"worst {what} {format_quantity(worst.value)} ÷ {format_quantity(worst.limit)} at "
        f"{worst.name.removeprefix('stress, ')} under {worst.combination} ({worst.basis}); "
        f"{len(checks)} section × combination checks"
    )
    return [*shown, Value(name, worst.utilisation)]


def _steel_stress(ctx: CheckContext, _: str | None) -> list[Value]:
    s = _structure(ctx)
    return _worst_section(ctx, s.loads.section_checks, "stress")


def _worst_row(checks: tuple[pole.Check, ...], what: str) -> list[Value]:
    """Every rated row shown, the worst deciding; rows that do not apply are listed with why."""
    rated = [c for c in checks if c.utilisation is not None]
    shown = [
        Value(
            f"{c.name}, {c.combination}" if c.combination else c.name,
            c.utilisation or 0.0,
            decides=False,
        )
        for c in rated
    ]
    skipped = [f"{c.name}: {c.basis}" for c in checks if c.utilisation is None]
    worst = max(rated, key=lambda c: c.utilisation or 0.0)
    assert worst.utilisation is not None
    under = f" under {worst.combination}" if worst.combination else ""
    name = (
        f"worst {what}: {worst.name} {format_quantity(worst.value)} ÷ "
        f"{format_quantity(worst.limit)}{under} ({worst.basis}); {len(rated)} rows"
        + (f"; not applicable: {'; '.join(skipped)}" if skipped else "")
    )
    return [*shown, Value(name, worst.utilisation)]


def _missing(ctx: CheckContext, what: str, keys: tuple[str, ...]) -> MissingDesignData:
    listed = ", ".join(f"design.{k}" for k in keys)
    return MissingDesignData(
        f"target {ctx.target.id} declares no {what} ({listed}); add them at {ctx.target.origin} "
        "(docs/engineering/base.md)"
    )


def _base_connection(ctx: CheckContext, _: str | None) -> list[Value]:
    rows = _structure(ctx).base_connection
    if rows is None:
        raise _missing(ctx, "base plate and anchor bolts", base_connection.REQUIRED_KEYS)
    return _worst_row(rows, "base connection utilisation")


def _foundation(ctx: CheckContext, _: str | None) -> list[Value]:
    """The recomputed pad or pile where the design gives it, else the declared factor."""
    rows = _structure(ctx).foundation
    if rows is not None:
        return _worst_row(rows, "foundation utilisation")
    if "overturning_safety_factor" not in ctx.target.design:
        raise _missing(ctx, "foundation", (*foundation.PAD_KEYS, "overturning_safety_factor"))
    declared = _number(ctx, "overturning_safety_factor")
    required = _min_safety_factor(ctx)
    name = (
        f"required overturning factor {required:g} ÷ declared design.overturning_safety_factor "
        f"{declared:g} (taken from the foundation design: the site gives no foundation and soil "
        "data to recompute it, docs/engineering/base.md)"
    )
    return [Value(name, required / declared if declared > 0 else math.inf)]


def _fatigue(ctx: CheckContext, _: str | None) -> list[Value]:
    return _worst_row(_structure(ctx).fatigue, "fatigue stress range ÷ threshold")


def _seismic_stress(ctx: CheckContext, _: str | None) -> list[Value]:
    s = _structure(ctx)
    quake = s.loads.seismic
    if quake is None:
        raise MissingDesignData(
            f"target {ctx.target.id} declares no design.seismic_intensity "
            f"({DESIGN_KEYS['seismic_intensity'].description}); add it at {ctx.target.origin}"
        )
    checks = tuple(c for c in s.loads.section_checks if "E" in (c.combination or ""))
    info = [
        Value("seismic base shear F_Ek", quake.base_shear.to("kN"), decides=False),
        Value(
            f"α1 at T1 {_q(quake.period, 's', 3)} (α_max {quake.alpha_max:g}, Tg "
            f"{_q(quake.characteristic_period, 's', 2)}, {_frequency_text(s)}; {quake.basis})",
            quake.alpha,
            decides=False,
        ),
    ]
    return [*info, *_worst_section(ctx, checks, "seismic stress")]


def _top_deflection(ctx: CheckContext, _: str | None) -> list[Value]:
    # Judged on the whole pole's G + W: βz with θB·θv where larger (8.4.6, U) and the P-Δ
    # amplification (I); the first-order figure of docs/engineering/wind.md is shown beside it.
    s = _structure(ctx)
    first = s.loads.top_deflection
    deflection = s.loads.top_deflection_second_order or first
    name = (
        f"top deflection {_q(deflection, 'mm', 4)} ÷ height {_q(s.shaft.height, 'm', 3)} "
        "(characteristic wind G + W, GB 50009-2012 8.1.1-1, with θB·θv where larger and P-Δ; "
        f"first order without θB·θv {_q(first, 'mm', 4)})"
    )
    return [
        Value("top deflection, first order", first.to("mm"), decides=False),
        Value(name, _ratio(deflection, s.shaft.height)),
    ]


def _base_moment(ctx: CheckContext, _: str | None) -> list[Value]:
    rated = _quantity(ctx, "rated_base_moment")
    moment = _structure(ctx).loads.base_moment
    name = (
        f"recomputed base moment {_q(moment, 'kN*m', 4)} ÷ design.rated_base_moment "
        f"{_q(rated, 'kN*m', 4)} (shaft and equipment, GB 50009-2012 8.1.1-1)"
    )
    return [Value(name, _ratio(moment, rated))]


# --- power -----------------------------------------------------------------------------------


def _poe_budget(ctx: CheckContext, _: str | None) -> list[Value]:
    budget = _quantity(ctx, "poe_budget")
    devices = [e for e in _equipment(ctx) if e.poe is not None]
    if not devices:
        raise MissingDesignData(
            f"target {ctx.target.id} lists no PoE-powered equipment; give each PoE device its "
            f"IEEE 802.3 type, like 'poe: at', under design.equipment at {ctx.target.origin}"
        )
    total = poe.pse_power(e.poe for e in devices if e.poe is not None)
    listed = ", ".join(f"{e.name} {e.poe}" for e in devices)
    name = (
        f"Σ PSE power {_q(total, 'W', 4)} ({listed}; IEEE 802.3) ÷ design.poe_budget "
        f"{_q(budget, 'W', 4)}"
    )
    return [Value(name, _ratio(total, budget))]


def _altitude(ctx: CheckContext, _: str | None) -> list[Value]:
    site = _quantity(ctx, "site_altitude")
    rated = _quantity(ctx, "rated_altitude")
    name = (
        f"design.site_altitude {_q(site, 'm', 4)} ÷ design.rated_altitude {_q(rated, 'm', 4)} "
        "(IEC 60664-1 clearances)"
    )
    return [Value(name, _ratio(site, rated))]


def _feeder_terminal_voltage(ctx: CheckContext, _: str | None) -> list[Value]:
    # The drop at the far end of the feeder, the worst pole on it, with the cabinet at the
    # nominal voltage: the design check before the field measurement of SP-PWR-003.
    design = ctx.target.design
    supply = power.Supply(str(_design(ctx, "supply_system")))
    material = str(_design(ctx, "cable_material"))
    section = _quantity(ctx, "cable_cross_section")
    first = _quantity(ctx, "cable_length")
    poles = int(_number(ctx, "feeder_poles")) if "feeder_poles" in design else 1
    spacing = _quantity(ctx, "pole_spacing") if poles > 1 else Quantity(0.0, "m")
    if "pole_load" in design:
        load, load_basis = _quantity(ctx, "pole_load"), "design.pole_load"
    else:
        load = _quantity(ctx, "luminaire_power") * _number(ctx, "luminaires_per_pole")
        load_basis = "luminaires only"
    cos_phi = _number(ctx, "load_power_factor") if "load_power_factor" in design else 0.9
    reactance = (
        _quantity(ctx, "cable_reactance") if "cable_reactance" in design else power.CABLE_REACTANCE
    )
    nominal = Quantity(220.0 if supply is power.Supply.SINGLE_PHASE else 380.0, "V")
    try:
        resistance = power.conductor_resistance(material, section)
        current = power.load_current(load, nominal, cos_phi, supply)
        loads = power.uniform_feeder(poles, first, spacing, current)
        drop = power.feeder_voltage_drop(loads, resistance, reactance, cos_phi, supply)
    except ValueError as exc:
        raise UnusableDesignData(f"target {ctx.target.id}: {exc}") from None
    terminal = Quantity(100.0 * float(((nominal - drop) / nominal).to("").magnitude), "percent")
    far = loads[-1][1]
    name = (
        f"voltage at the far pole of the feeder ({poles} poles, {_q(far, 'm', 4)} of "
        f"{supply.value} {material} {_q(section, 'mm^2', 3)} cable from the cabinet; "
        f"{_q(load, 'W', 4)} per pole ({load_basis}), cos φ {cos_phi:g}, "
        f"R {_q(resistance, 'ohm/km', 4)} at {_q(power.OPERATING_TEMPERATURE, 'degC', 3)}, "
        f"X {_q(reactance, 'ohm/km', 3)}): ΔU {_q(drop, 'V', 4)} of {_q(nominal, 'V', 3)} "
        "at the cabinet"
    )
    return [
        Value("voltage drop to the far pole", drop.to("V"), decides=False),
        Value(name, terminal),
    ]


# --- lighting --------------------------------------------------------------------------------


def _lpd(ctx: CheckContext, _: str | None) -> list[Value]:
    # opposite and staggered layouts have two rows of poles over the one carriageway
    rows = 2 if ctx.target.design.get("lighting_layout") in ("opposite", "staggered") else 1
    value = lighting.lighting_power_density(
        _quantity(ctx, "luminaire_power"),
        _number(ctx, "luminaires_per_pole") * rows,
        _quantity(ctx, "pole_spacing"),
        _quantity(ctx, "road_width"),
    )
    name = "lighting power density" + (" (two rows of poles)" if rows == 2 else "")
    return [Value(name, value)]


def _predicted_class(ctx: CheckContext, _: str | None) -> list[Value]:
    design = analysis.lighting(ctx.target)
    stats, limits = design.maintained, design.limits
    cls = f"{limits.source} class {limits.road_class} {limits.grade} grade ({limits.confidence})"
    where = f"GB/T 5700 centre-point grid, {stats.points} points; {design.description}"
    return [
        Value("predicted Eav", stats.average.to("lx"), decides=False),
        Value("predicted UE", stats.uniformity, decides=False),
        Value(
            f"predicted Eav {_q(stats.average, 'lx', 3)} ÷ {_q(limits.average_illuminance, 'lx')} "
            f"of {cls} ({where})",
            _ratio(stats.average, limits.average_illuminance),
        ),
        Value(
            f"predicted UE {stats.uniformity:.3f} ÷ {limits.illuminance_uniformity:g} of {cls}",
            stats.uniformity / limits.illuminance_uniformity,
        ),
    ]


def _measured_to_predicted(ctx: CheckContext, _: str | None) -> list[Value]:
    design = analysis.lighting(ctx.target)
    grid = analysis.measured_grid(ctx.target)
    path = ctx.target.records["lighting_grid"]
    source = Source(device="record lighting_grid", scheme="file", address=str(path))
    measured = lighting.evaluate_grid(grid, GridMethod.CENTRE)
    try:
        predicted = analysis.predicted_at(design, grid, GridMethod.CENTRE)
    except ValueError as exc:
        raise UnusableDesignData(f"target {ctx.target.id}: {path.name}: {exc}") from None
    name = (
        f"measured Eav {_q(measured.average, 'lx', 3)} ÷ predicted initial Eav "
        f"{_q(predicted.average, 'lx', 3)} at the survey's {measured.points} points "
        f"({design.description.rsplit(', MF', 1)[0]}, new luminaires: no maintenance factor)"
    )
    return [
        Value("measured Eav", measured.average.to("lx"), source, decides=False),
        Value("predicted initial Eav", predicted.average.to("lx"), decides=False),
        Value(name, _ratio(measured.average, predicted.average), source),
    ]


def _cutoff(ctx: CheckContext, _: str | None) -> list[Value]:
    figures = analysis.photometric_figures(ctx.target)
    glare = figures.glare
    name = (
        f"CJJ 45 cut-off class of {ctx.target.design['photometric_file']!s} "
        f"(I80 {_q(glare.at_80, 'cd/klm', 3)}, I90 {_q(glare.at_90, 'cd/klm', 3)}, "
        f"I90 {_q(glare.at_90_absolute, 'cd', 4)}; cut-off ≤ 30/10 cd/klm, semi-cut-off "
        "≤ 100/50 cd/klm at 80°/90°, both ≤ 1000 cd at 90°)"
    )
    return [
        Value("intensity at 80°", glare.at_80.to("cd/klm"), decides=False),
        Value("intensity at 90°", glare.at_90.to("cd/klm"), decides=False),
        Value("intensity at 90° (absolute)", glare.at_90_absolute.to("cd"), decides=False),
        Value(name, figures.cutoff.value),
    ]


def _upward_light(ctx: CheckContext, _: str | None) -> list[Value]:
    figures = analysis.photometric_figures(ctx.target)
    tilt = ctx.target.design.get("luminaire_tilt")
    tilted = (
        f", installed with {_q(tilt, 'degree', 3)} tilt" if isinstance(tilt, pint.Quantity) else ""
    )
    name = f"upward light ratio (share of flux above the horizontal{tilted})"
    return [Value(name, Quantity(100 * figures.upward_light_ratio, "percent"))]


def _luminance_where(found: analysis.LuminanceDesign) -> str:
    r = found.result
    return (
        f"CIE 140 grid {len(r.x)} × {len(r.y)} points, observers 60 m before the field at 1.5 m "
        f"in each of {len(r.observers)} lane centres (M); surface {found.surface}; "
        f"{found.lighting.description}"
    )


def _luminance_class(ctx: CheckContext, _: str | None) -> list[Value]:
    found = analysis.luminance(ctx.target)
    limits, r = found.lighting.limits, found.result
    cls = f"{limits.source} class {limits.road_class} {limits.grade} grade ({limits.confidence})"
    required = float(limits.average_luminance.to("cd/m^2").magnitude)
    return [
        Value("predicted L_av", Quantity(r.average, "cd/m^2"), decides=False),
        Value(
            f"predicted maintained L_av {r.average:.3f} cd/m² (lowest over the observers) ÷ "
            f"{required:g} cd/m² of {cls} ({_luminance_where(found)})",
            r.average / required,
        ),
    ]


def _luminance_uniformity(ctx: CheckContext, _: str | None) -> list[Value]:
    found = analysis.luminance(ctx.target)
    limits, r = found.lighting.limits, found.result
    cls = f"{limits.source} class {limits.road_class} {limits.grade} grade ({limits.confidence})"
    values = [
        Value("predicted U0", r.overall_uniformity, decides=False),
        Value("predicted UL", r.longitudinal_uniformity, decides=False),
        Value(
            f"predicted U0 {r.overall_uniformity:.3f} ÷ {limits.overall_uniformity:g} of {cls} "
            f"({_luminance_where(found)})",
            r.overall_uniformity / limits.overall_uniformity,
        ),
    ]
    if limits.longitudinal_uniformity is not None:
        values.append(
            Value(
                f"predicted UL {r.longitudinal_uniformity:.3f} (lowest lane centre line) ÷ "
                f"{limits.longitudinal_uniformity:g} of {cls}",
                r.longitudinal_uniformity / limits.longitudinal_uniformity,
            )
        )
    return values


def _threshold_increment(ctx: CheckContext, _: str | None) -> list[Value]:
    found = analysis.luminance(ctx.target)
    values = []
    declared = ctx.target.design.get("threshold_increment")
    if isinstance(declared, pint.Quantity):
        values.append(Value("design.threshold_increment (declared)", declared, decides=False))
    values.append(
        Value(
            "computed TI, highest over the lane centres and one span of observer positions "
            f"(Lv = 10·ΣE/θ², TI = 65·Lv/L_av^0.8, initial values; M; {_luminance_where(found)})",
            Quantity(found.result.threshold_increment, "percent"),
        )
    )
    return values


def _surround_ratio(ctx: CheckContext, _: str | None) -> list[Value]:
    found = analysis.luminance(ctx.target)
    values = []
    declared = ctx.target.design.get("surround_ratio")
    if isinstance(declared, float):
        values.append(Value("design.surround_ratio (declared)", declared, decides=False))
    values.append(
        Value(
            "computed SR, lower kerb: average E on the strip outside ÷ inside (5 m, half the "
            f"carriageway or the unobstructed strip, whichever least; M); "
            f"{found.lighting.description}",
            found.result.surround_ratio,
        )
    )
    return values


def _edge_illuminance(ctx: CheckContext, _: str | None) -> list[Value]:
    found = analysis.luminance(ctx.target)
    return [
        Value(
            "computed EIR, lower kerb: average E on a lane-wide strip outside ÷ inside "
            f"(EN 13201-2:2015, U); {found.lighting.description}",
            found.result.edge_illuminance_ratio,
        )
    ]


def _modbus_unit_ids(ctx: CheckContext, _: str | None) -> list[Value]:
    found: list[Value] = []
    for role, spec in sorted(ctx.target.devices.items()):
        unit = spec.address.params.get("unit")
        if spec.address.scheme.startswith("modbus") and unit is not None:
            source = Source(device=role, scheme=spec.address.scheme, address=spec.uri)
            found.append(Value(f"{role} unit id", float(unit), source))
    if not found:
        raise MissingDesignData(f"target {ctx.target.id} has no Modbus device")
    return found


def _formula(
    name: str, unit: str, description: str, compute: Callable[..., list[Value]]
) -> Formula:
    return Formula(name=name, unit=unit, description=description, compute=compute)


FORMULAS: Mapping[str, Formula] = MappingProxyType(
    {
        f.name: f
        for f in (
            _formula(
                "design_value",
                "design",
                "a design value as declared (needs `design: KEY`)",
                _design_value,
            ),
            _formula(
                "basic_wind_pressure_coverage",
                "",
                "design w0 ÷ the w0 the site needs: GB 50009-2012 Table E.5 for $city and "
                "$return_period, not below 0.30 kN/m² (8.1.2)",
                _wind_pressure_coverage,
            ),
            _formula(
                "wind_vibration_factor_coverage",
                "",
                "the design's βz at the top ÷ βz computed there (GB 50009-2012 8.4)",
                _wind_vibration_coverage,
            ),
            _formula(
                "vortex_shedding",
                "text",
                "clear, mitigated, exposed or not-covered: v_cr ≥ min(15 m/s, v_H), or a "
                "declared damper or strakes (GB 50009-2012 8.5.3)",
                _vortex,
            ),
            _formula(
                "base_stress_utilisation",
                "",
                "(γG·N/A + γQ·M/W) at the base ÷ the steel's design strength f (GB 50017-2017)",
                _base_stress,
            ),
            _formula(
                "steel_stress_utilisation",
                "",
                "the worst of N/A + M/W (P-Δ included) at the base, every section change and the "
                "door, over every ultimate combination, ÷ the steel's design strength",
                _steel_stress,
            ),
            _formula(
                "base_connection_utilisation",
                "",
                "the worst of anchor bolt tension, shear, tension with shear, base plate bending "
                "and the base weld over every ultimate combination (engineering/base.py)",
                _base_connection,
            ),
            _formula(
                "foundation_utilisation",
                "",
                "the worst of the pad's bearing, overturning and sliding or the pile's lateral "
                "capacity over the characteristic combinations; the declared overturning factor "
                "where no foundation data is given (engineering/foundation.py)",
                _foundation,
            ),
            _formula(
                "fatigue_utilisation",
                "",
                "the worst gust or vortex stress range at the base weld and anchor bolts ÷ the "
                "detail's threshold (engineering/fatigue.py)",
                _fatigue,
            ),
            _formula(
                "seismic_stress_utilisation",
                "",
                "the worst stress under 1.2G + 1.3E + 0.2×1.4W (GB 50011) at every checked "
                "section ÷ f/γRE",
                _seismic_stress,
            ),
            _formula(
                "local_buckling_utilisation",
                "",
                "base D/t ÷ 100·εk² of a round shaft, or flat b/t ÷ 45·εk of a polygonal one "
                "(GB 50017-2017 Table 3.5.1)",
                _local_buckling,
            ),
            _formula(
                "top_deflection_ratio",
                "",
                "top deflection under characteristic wind (θB·θv where larger, P-Δ) ÷ pole height",
                _top_deflection,
            ),
            _formula(
                "base_moment_utilisation",
                "",
                "recomputed base moment (shaft and equipment) ÷ design.rated_base_moment",
                _base_moment,
            ),
            _formula(
                "equipment_mass_utilisation",
                "",
                "mounted-equipment mass ÷ the certificate's rated mass",
                _equipment_mass,
            ),
            _formula(
                "attachment_wind_moment_utilisation",
                "",
                "base moment of wind on mounted equipment (GB 50009 8.1.1-2) ÷ rated",
                _attachment_moment,
            ),
            _formula(
                "equipment_area_utilisation",
                "",
                "Σ μs·A of the mounted equipment ÷ design.rated_equipment_area",
                _equipment_area,
            ),
            _formula(
                "poe_budget_utilisation",
                "",
                "Σ PSE power of the PoE devices (IEEE 802.3 type) ÷ design.poe_budget",
                _poe_budget,
            ),
            _formula(
                "altitude_utilisation",
                "",
                "design.site_altitude ÷ design.rated_altitude of the electrical equipment",
                _altitude,
            ),
            _formula(
                "feeder_terminal_voltage",
                "percent",
                "voltage at the far pole of the feeder in % of nominal, the cabinet at nominal: "
                "ΔU = Σ k·I·L·(R cos φ + X sin φ) from the declared supply cable",
                _feeder_terminal_voltage,
            ),
            _formula(
                "lighting_power_density",
                "W/m^2",
                "luminaire power per span ÷ lit area (CJJ 45-2015 7.1.2)",
                _lpd,
            ),
            _formula(
                "predicted_illuminance_class_ratio",
                "",
                "predicted maintained Eav and UE on the GB/T 5700 grid ÷ the CJJ 45 Table 3.3.1 "
                "values of the declared class",
                _predicted_class,
            ),
            _formula(
                "measured_to_predicted_illuminance",
                "",
                "measured Eav of the lighting_grid record ÷ the initial prediction at its points",
                _measured_to_predicted,
            ),
            _formula(
                "cutoff_class",
                "text",
                "CJJ 45 cut-off class of the luminaire from its IES file",
                _cutoff,
            ),
            _formula(
                "upward_light_ratio",
                "percent",
                "share of the installed luminaire's flux above the horizontal (CIE 150 ULR)",
                _upward_light,
            ),
            _formula(
                "predicted_luminance_class_ratio",
                "",
                "predicted maintained L_av (CIE 140 observers) ÷ the CJJ 45 Table 3.3.1 L_av",
                _luminance_class,
            ),
            _formula(
                "predicted_luminance_uniformity_ratio",
                "",
                "predicted U0 and UL ÷ the CJJ 45 Table 3.3.1 values of the declared class",
                _luminance_uniformity,
            ),
            _formula(
                "threshold_increment",
                "percent",
                "threshold increment TI computed from the photometric file and the layout",
                _threshold_increment,
            ),
            _formula(
                "surround_ratio",
                "",
                "surround ratio SR computed from the photometric file and the layout",
                _surround_ratio,
            ),
            _formula(
                "edge_illuminance_ratio",
                "",
                "edge illuminance ratio EIR (EN 13201-2:2015) computed from the layout",
                _edge_illuminance,
            ),
            _formula(
                "modbus_unit_ids",
                "",
                "the unit id of every Modbus device of the target",
                _modbus_unit_ids,
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

    def uses(self) -> tuple[Use, ...]:
        return ()

    def run(self, ctx: CheckContext) -> Outcome:
        limit = self.limit.resolve(ctx.parameters)
        decided = []
        for result in self.formula.compute(ctx, self.design):
            value = result.value
            if isinstance(value, float):
                value = value * parse_unit("")
            judged = limit if result.decides else None
            decided.append(decide_value(result.name, value, judged, result.source))
        outcome = combine(decided)
        drawing = _DIAGRAMS.get(self.formula.name)
        if drawing is not None and outcome.measurements:
            try:
                diagram = drawing(ctx)
            except Exception:  # a plot never changes a verdict: the result goes without it
                return outcome
            outcome = dataclasses.replace(outcome, series=(diagram,))
        return outcome


def _illuminance_series(ctx: CheckContext) -> Series:
    """The predicted maintained illuminance grid, for the report's heat map."""
    design = analysis.lighting(ctx.target)
    grid, limits = design.field_grid, design.limits
    return Series(
        kind="grid",
        name="predicted illuminance",
        unit="lx",
        x_unit="m",
        x=grid.x,
        y=tuple(v for row in grid.lux for v in row),
        columns=len(grid.x),
        lower=float(limits.average_illuminance.to("lx").magnitude),
        limit=f"Eav >= {format_quantity(limits.average_illuminance)}",
    )


def _luminance_series(ctx: CheckContext) -> Series:
    """The predicted luminance grid seen by the observer with the lowest L_av."""
    found = analysis.luminance(ctx.target)
    r, limits = found.result, found.lighting.limits
    averages = [sum(v for row in g for v in row) / (len(r.x) * len(r.y)) for g in r.grids]
    lane = averages.index(min(averages))
    return Series(
        kind="grid",
        name=f"predicted luminance, observer in lane {lane + 1}",
        unit="cd/m^2",
        x_unit="m",
        x=r.x,
        y=tuple(v for row in r.grids[lane] for v in row),
        columns=len(r.x),
        lower=float(limits.average_luminance.to("cd/m^2").magnitude),
        limit=f"L_av >= {format_quantity(limits.average_luminance)}",
    )


_DIAGRAMS: Mapping[str, Callable[[CheckContext], Series]] = MappingProxyType(
    {
        "base_stress_utilisation": lambda ctx: _pole_series(_structure(ctx)),
        "steel_stress_utilisation": lambda ctx: _pole_series(_structure(ctx)),
        "predicted_illuminance_class_ratio": _illuminance_series,
        "predicted_luminance_class_ratio": _luminance_series,
    }
)


def _pole_series(s: analysis.Structure) -> Series:
    """The wind forces on the shaft's segments and on each attachment, for the report's pole
    diagram, with the base shear, base moment and the base stress utilisation."""
    loads = s.loads
    stress = s.check("base stress")
    return Series(
        kind="pole",
        name="wind load",
        unit="kN",
        x_unit="m",
        x=tuple(float(g.z.to("m").magnitude) for g in loads.segments)
        + tuple(float(a.z.to("m").magnitude) for a in loads.attachments),
        y=tuple(float(g.force.to("kN").magnitude) for g in loads.segments)
        + tuple(float(a.force.to("kN").magnitude) for a in loads.attachments),
        columns=len(loads.segments),
        labels=("",) * len(loads.segments) + tuple(a.name for a in loads.attachments),
        start=0.0,
        end=float(s.shaft.height.to("m").magnitude),
        lower=float(loads.base_shear.to("kN").magnitude),
        upper=float(loads.base_moment.to("kN*m").magnitude),
        limit=f"{stress.utilisation:.3g}" if stress.utilisation is not None else "",
    )


def _did_you_mean(name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> ComputeCheck | None:
    formula = FORMULAS.get(raw["formula"])
    if formula is None:
        ctx.problem(
            "formula",
            f"unknown formula {raw['formula']!r}; {_did_you_mean(raw['formula'], FORMULAS)}"
            f"known formulas: {', '.join(FORMULAS)}",
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
                f"unknown design key {design!r}; {_did_you_mean(design, DESIGN_KEYS)}"
                f"known keys: {', '.join(DESIGN_KEYS)}",
            )
            return None
        unit_text = DESIGN_KEYS[design].unit
        if unit_text == "list":
            ctx.problem(
                "design",
                f"design key {design!r} is a list, not one value a limit can judge; "
                "name a single design value",
            )
            return None
    elif design is not None:
        ctx.problem("design", f"formula {formula.name} takes no 'design' key; remove it")
        return None
    unit = None if unit_text in ("text", "file") else parse_unit(unit_text)
    limit = ctx.limit(raw["limit"], unit=unit, subject=design or formula.name)
    if limit is None:
        return None
    return ComputeCheck(formula=formula, design=design, limit=limit)
