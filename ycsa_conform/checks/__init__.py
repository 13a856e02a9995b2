"""Check kinds: how a requirement is decided. The registry is the extension point.

A kind is a module with `parse(raw, ParseContext) -> Check | None` whose checks implement
`base.Check`. Register it in `KINDS` and give it a branch in schemas/profile.schema.json.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from . import actuate, compute, evidence, fuzz, inventory, measure, message, protocol, record
from .base import Check, CheckContext, Outcome, ParameterInfo, ParseContext

__all__ = ["KINDS", "Check", "CheckContext", "Outcome", "ParameterInfo", "ParseContext"]

Parser = Callable[[Mapping[str, Any], ParseContext], Check | None]

KINDS: Mapping[str, Parser] = MappingProxyType(
    {
        "measure": measure.parse,
        "compute": compute.parse,
        "message": message.parse,
        "evidence": evidence.parse,
        "record": record.parse,
        "actuate": actuate.parse,
        "protocol": protocol.parse,
        "inventory": inventory.parse,
        "fuzz": fuzz.parse,
    }
)
