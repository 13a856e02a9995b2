"""Limits: our own small grammar; pint reads only the quantities inside it.

    limit    := body [ "marginal" operand ]
    body     := OP operand                       OP is >=, >, <=, <, ==
              | "==" operand "±" operand          tolerance, absolute or in % of the nominal
              | operand ".." operand              closed range
              | "in" "[" item { "," item } "]"    one of (text or quantities)
    operand  := QUANTITY | "$" PARAMETER          a quantity such as "235.4 V", or a parameter

Examples: ">= 0.9", "198 V .. 235.4 V", "<= 5 %", "in [A, B, C, D]", "== 50 Hz ± 0.2 Hz",
">= 0.90 marginal 0.02". The marginal band lies inside the passing region: a value that passes
but is closer than the band to a bound is `marginal`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pint

from .units import UnitError, format_quantity, parse_quantity, ureg

__all__ = ["Bound", "Limit", "LimitError", "ParamRef", "ResolvedLimit", "parse_limit"]


class LimitError(ValueError):
    """A limit text does not follow the grammar; the message says how to write it."""


@dataclass(frozen=True, slots=True)
class ParamRef:
    """A reference to a profile parameter, resolved per target at run time."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


Operand = pint.Quantity[Any] | ParamRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Bound:
    value: Operand
    inclusive: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Limit:
    """A parsed limit. Operands may still name parameters; `resolve` fills them in."""

    text: str
    lower: Bound | None = None
    upper: Bound | None = None
    one_of: tuple[str | pint.Quantity[Any], ...] | None = None
    marginal: Operand | None = None
    # "== X ± T": kept so that the relative form can be resolved once X is known.
    nominal: Operand | None = None
    tolerance: Operand | None = None

    def parameters(self) -> set[str]:
        operands: list[Any] = [self.marginal, self.nominal, self.tolerance]
        operands += [b.value for b in (self.lower, self.upper) if b is not None]
        return {o.name for o in operands if isinstance(o, ParamRef)}

    def quantities(self) -> list[pint.Quantity[Any]]:
        """Quantity operands written in the text (for dimension checks at load time)."""
        found: list[Any] = [self.nominal]
        if self.tolerance is not None and not _is_percent(self.tolerance):
            found.append(self.tolerance)
        if self.nominal is None:
            found += [b.value for b in (self.lower, self.upper) if b is not None]
        found.append(self.marginal)
        found += [o for o in self.one_of or () if not isinstance(o, str)]
        return [q for q in found if isinstance(q, pint.Quantity)]

    def resolve(self, parameters: Mapping[str, Any]) -> ResolvedLimit:
        """Replace parameter references with values; unknown names raise KeyError."""

        def value(o: Operand | None) -> pint.Quantity[Any] | None:
            if o is None or isinstance(o, pint.Quantity):
                return o
            v = parameters[o.name]
            if isinstance(v, int | float) and not isinstance(v, bool):
                return ureg.Quantity(float(v), ureg.dimensionless)
            if not isinstance(v, pint.Quantity):
                raise LimitError(f"parameter ${o.name} = {v!r} is not a quantity")
            return v

        lower = value(self.lower.value) if self.lower else None
        upper = value(self.upper.value) if self.upper else None
        if self.nominal is not None and self.tolerance is not None:
            nominal, tolerance = value(self.nominal), value(self.tolerance)
            assert nominal is not None
            assert tolerance is not None
            if _is_percent(tolerance):
                tolerance = abs(nominal) * tolerance.to("dimensionless").magnitude
            if tolerance.units == nominal.units:
                # Same unit: a difference of magnitudes; also right for offset units such as
                # degC, where pint refuses "20 degC - 2 degC" as absolute temperatures.
                lower = ureg.Quantity(nominal.magnitude - tolerance.magnitude, nominal.units)
                upper = ureg.Quantity(nominal.magnitude + tolerance.magnitude, nominal.units)
            else:
                lower, upper = nominal - tolerance, nominal + tolerance
        return ResolvedLimit(
            text=self.text,
            lower=lower,
            lower_inclusive=self.lower.inclusive if self.lower else True,
            upper=upper,
            upper_inclusive=self.upper.inclusive if self.upper else True,
            one_of=self.one_of,
            marginal=value(self.marginal),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedLimit:
    """A limit with every operand a concrete quantity: what evaluation works on."""

    text: str
    lower: pint.Quantity[Any] | None
    lower_inclusive: bool
    upper: pint.Quantity[Any] | None
    upper_inclusive: bool
    one_of: tuple[str | pint.Quantity[Any], ...] | None
    marginal: pint.Quantity[Any] | None

    def describe(self) -> str:
        """The limit with parameters filled in, as reports show it."""
        if self.one_of is not None:
            items = ", ".join(o if isinstance(o, str) else format_quantity(o) for o in self.one_of)
            text = f"in [{items}]"
        elif self.lower is not None and self.upper is not None:
            text = f"{format_quantity(self.lower)} .. {format_quantity(self.upper)}"
        elif self.lower is not None:
            text = f"{'>=' if self.lower_inclusive else '>'} {format_quantity(self.lower)}"
        elif self.upper is not None:
            text = f"{'<=' if self.upper_inclusive else '<'} {format_quantity(self.upper)}"
        else:
            text = "readable"
        if self.marginal is not None:
            text += f" (marginal within {format_quantity(self.marginal)})"
        return text


def _is_percent(q: Operand) -> bool:
    return isinstance(q, pint.Quantity) and q.units in (ureg.percent, ureg.permille)


_OPERATORS = (">=", "<=", "==", ">", "<", "≥", "≤")
_WORD_IN = re.compile(r"^in\s*\[(.*)\]$", re.S)


def _operand(text: str, whole: str) -> Operand:
    text = text.strip()
    if text.startswith("$"):
        name = text[1:]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise LimitError(f"{text!r} in {whole!r} is not a parameter name; write '$road_class'")
        return ParamRef(name)
    try:
        return parse_quantity(text)
    except UnitError as exc:
        raise LimitError(f"{whole!r}: {exc}") from None


def parse_limit(text: str | float | int) -> Limit:
    """Parse a limit text; raises LimitError with an example of the right form."""
    if isinstance(text, bool):
        raise LimitError(f"{text!r} is not a limit; write it like '>= 0.9' or '198 V .. 235.4 V'")
    if isinstance(text, int | float):
        text = f"== {text}"
    whole = text
    body, marginal = text, None
    parts = re.split(r"\bmarginal\b", text)
    if len(parts) > 2:
        raise LimitError(f"{whole!r} says 'marginal' twice; give one band")
    if len(parts) == 2:
        body, marginal_text = parts
        if not marginal_text.strip():
            raise LimitError(f"{whole!r}: 'marginal' needs a band after it, like 'marginal 0.02'")
        marginal = _operand(marginal_text, whole)
    body = body.strip()
    if not body:
        raise LimitError("the limit is empty; write it like '>= 0.9' or '198 V .. 235.4 V'")

    if match := _WORD_IN.match(body):
        items = [i.strip().strip("'\"") for i in match.group(1).split(",")]
        if not all(items):
            raise LimitError(f"{whole!r}: an item of the list is empty; write 'in [A, B]'")
        values: list[str | pint.Quantity[Any]] = []
        for item in items:
            try:
                values.append(parse_quantity(item) if re.match(r"^[+-]?[\d.]", item) else item)
            except UnitError:
                values.append(item)
        if marginal is not None:
            raise LimitError(f"{whole!r}: a list of allowed values has no marginal band")
        return Limit(text=whole, one_of=tuple(values))

    if ".." in body:
        low_text, _, high_text = body.partition("..")
        if not low_text.strip() or not high_text.strip():
            raise LimitError(f"{whole!r}: a range needs both ends, like '198 V .. 235.4 V'")
        low, high = _operand(low_text, whole), _operand(high_text, whole)
        if isinstance(low, pint.Quantity) and isinstance(high, pint.Quantity):
            _check_order(low, high, whole)
        return Limit(
            text=whole,
            lower=Bound(value=low, inclusive=True),
            upper=Bound(value=high, inclusive=True),
            marginal=marginal,
        )

    for op in _OPERATORS:
        if body.startswith(op):
            rest = body[len(op) :]
            break
    else:
        raise LimitError(
            f"{whole!r} is not a limit; start with >=, >, <=, <, == or 'in [..]', "
            "or give a range 'LOW .. HIGH'"
        )
    op = {"≥": ">=", "≤": "<="}.get(op, op)
    if op == "==":
        nominal_text, sep, tolerance_text = rest.partition("±")
        if not sep:
            nominal_text, sep, tolerance_text = rest.partition("+-")
        nominal = _operand(nominal_text, whole)
        tolerance = _operand(tolerance_text, whole) if sep else None
        if isinstance(tolerance, pint.Quantity) and tolerance.magnitude < 0:
            raise LimitError(
                f"{whole!r}: the tolerance is negative; write it without the sign, "
                f"like '± {format_quantity(ureg.Quantity(-tolerance.magnitude, tolerance.units))}'"
            )
        if tolerance is None:
            return Limit(
                text=whole,
                lower=Bound(value=nominal, inclusive=True),
                upper=Bound(value=nominal, inclusive=True),
                marginal=marginal,
            )
        return Limit(
            text=whole,
            lower=Bound(value=nominal, inclusive=True),
            upper=Bound(value=nominal, inclusive=True),
            nominal=nominal,
            tolerance=tolerance,
            marginal=marginal,
        )
    operand = _operand(rest, whole)
    bound = Bound(value=operand, inclusive=op in (">=", "<="))
    if op.startswith(">"):
        return Limit(text=whole, lower=bound, marginal=marginal)
    return Limit(text=whole, upper=bound, marginal=marginal)


def _check_order(low: pint.Quantity[Any], high: pint.Quantity[Any], whole: str) -> None:
    if not low.is_compatible_with(high):
        raise LimitError(f"{whole!r}: the two ends have different dimensions")
    if low > high:
        raise LimitError(
            f"{whole!r}: the lower end is above the upper end; write "
            f"'{format_quantity(high)} .. {format_quantity(low)}'"
        )
