"""Load profiles: YAML → schema → semantic checks → frozen `Profile`."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ycsa_conform.checks import KINDS, ParameterInfo, ParseContext
from ycsa_conform.design import DESIGN_KEYS
from ycsa_conform.errors import InputError, Problem
from ycsa_conform.resources import data_dir
from ycsa_conform.source import Document, load_document
from ycsa_conform.units import UnitError, parse_unit

from .model import (
    Area,
    Condition,
    Confidence,
    Level,
    Parameter,
    ParameterType,
    Profile,
    Reference,
    Requirement,
    SourceDoc,
)

__all__ = ["builtin_profiles", "load_profile", "resolve_profile_path"]


def builtin_profiles() -> dict[str, Path]:
    """Built-in profiles by id (the file stem)."""
    return {p.stem: p for p in sorted(data_dir("profiles").glob("*.yaml"))}


def resolve_profile_path(name: str) -> Path:
    """A built-in profile name or a path to a profile file."""
    builtin = builtin_profiles()
    if name in builtin:
        return builtin[name]
    path = Path(name)
    if path.is_file():
        return path
    known = ", ".join(builtin) or "none"
    raise InputError(
        [
            Problem(
                file=name,
                line=None,
                path="$",
                message=f"no such profile; built-in profiles are {known}, "
                "or give the path of a profile YAML file",
            )
        ]
    )


def load_profile(name: str | Path) -> Profile:
    path = resolve_profile_path(str(name))
    doc = load_document(path, schema="profile")
    return _build(doc)


def _build(doc: Document) -> Profile:
    data: dict[str, Any] = doc.data
    problems: list[Problem] = []
    sources = {
        s["id"]: SourceDoc(
            id=s["id"], title=MappingProxyType(s["title"]), kind=s.get("kind", ""), url=s.get("url")
        )
        for s in data["sources"]
    }
    parameters = _parameters(doc, data.get("parameters", {}), problems)
    infos = {
        name: ParameterInfo(
            name=name,
            unit=p.unit if p.type is not ParameterType.NUMBER else parse_unit(""),
        )
        for name, p in parameters.items()
    }
    requirements = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data["requirements"]):
        where = ("requirements", index)
        if raw["id"] in seen:
            problems.append(
                doc.problem(
                    (*where, "id"),
                    f"requirement id {raw['id']!r} is already used at line {seen[raw['id']]}; "
                    "ids must be unique and stable",
                )
            )
        seen.setdefault(raw["id"], doc.line(where) or 0)
        refs = []
        for i, ref in enumerate(raw["refs"]):
            if ref["source"] not in sources:
                problems.append(
                    doc.problem(
                        (*where, "refs", i, "source"),
                        f"source {ref['source']!r} is not listed under 'sources'; add it there "
                        f"or use one of: {', '.join(sources)}",
                    )
                )
            refs.append(
                Reference(
                    source=ref["source"],
                    clause=ref.get("clause"),
                    confidence=Confidence(ref["confidence"]),
                    association_clause=ref.get("association_clause"),
                    url=ref.get("url") or getattr(sources.get(ref["source"]), "url", None),
                    note=ref.get("note"),
                )
            )
        when = tuple(
            c
            for i, cond in enumerate(raw.get("when", []))
            if (c := _condition(doc, (*where, "when", i), cond, parameters, problems)) is not None
        )
        ctx = ParseContext(doc=doc, where=(*where, "check"), parameters=infos)
        check = KINDS[raw["check"]["kind"]](raw["check"], ctx)
        problems.extend(ctx.problems)
        if check is None:
            continue
        requirements.append(
            Requirement(
                id=raw["id"],
                title=MappingProxyType(raw["title"]),
                area=Area(raw["area"]),
                level=Level(raw["level"]),
                description=raw.get("description", ""),
                refs=tuple(refs),
                when=when,
                check=check,
                line=doc.line(where) or 0,
            )
        )
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise InputError(problems)
    return Profile(
        id=data["profile"],
        version=data["version"],
        title=MappingProxyType(data["title"]),
        status=data["status"],
        description=data.get("description", ""),
        target_kinds=tuple(data["targets"]),
        sources=MappingProxyType(sources),
        parameters=MappingProxyType(parameters),
        requirements=tuple(requirements),
        path=doc.path.resolve(),
        sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
    )


def _parameters(
    doc: Document, raw: Mapping[str, Any], problems: list[Problem]
) -> dict[str, Parameter]:
    parameters = {}
    for name, spec in raw.items():
        where = ("parameters", name)
        kind = ParameterType(spec["type"])
        unit = None
        if kind is ParameterType.QUANTITY:
            if "unit" not in spec:
                problems.append(doc.problem(where, "a quantity parameter needs a 'unit'; add it"))
                continue
            try:
                unit = parse_unit(spec["unit"])
            except UnitError as exc:
                problems.append(doc.problem((*where, "unit"), f"{exc}; write it like 'kN/m^2'"))
                continue
        elif "unit" in spec:
            problems.append(
                doc.problem((*where, "unit"), f"a {kind} parameter has no unit; remove it")
            )
            continue
        parameter = Parameter(
            name=name,
            title=MappingProxyType(spec["title"]),
            type=kind,
            unit=unit,
            values=tuple(spec.get("values", ())),
            default="",
            source=spec.get("source"),
            confidence=Confidence(spec["confidence"]) if "confidence" in spec else None,
        )
        try:
            default = parameter.coerce(spec["default"])
        except ValueError as exc:
            # Keep the parameter declared, so limits using it do not also report it unknown;
            # the profile is rejected for this problem anyway.
            problems.append(doc.problem((*where, "default"), f"default {exc}"))
            default = spec["default"]
        parameters[name] = Parameter(
            name=name,
            title=parameter.title,
            type=kind,
            unit=unit,
            values=parameter.values,
            default=default,
            source=parameter.source,
            confidence=parameter.confidence,
        )
    return parameters


def _condition(
    doc: Document,
    where: tuple[str | int, ...],
    raw: Mapping[str, Any],
    parameters: Mapping[str, Parameter],
    problems: list[Problem],
) -> Condition | None:
    subjects = [k for k in ("device", "design", "parameter") if k in raw]
    if len(subjects) != 1:
        problems.append(
            doc.problem(where, "a condition names exactly one of device, design or parameter")
        )
        return None
    if "design" in raw and raw["design"] not in DESIGN_KEYS:
        problems.append(
            doc.problem(
                (*where, "design"),
                f"unknown design key {raw['design']!r}; known keys: {', '.join(DESIGN_KEYS)}",
            )
        )
        return None
    allowed = raw.get("in", [raw["equals"]] if "equals" in raw else None)
    if "parameter" in raw:
        if raw["parameter"] not in parameters:
            problems.append(
                doc.problem(
                    (*where, "parameter"),
                    f"unknown parameter {raw['parameter']!r}; declare it under 'parameters' "
                    f"(known: {', '.join(parameters) or 'none'})",
                )
            )
            return None
        if allowed is None:
            problems.append(
                doc.problem(where, "a parameter condition needs 'in: [...]' or 'equals: ...'")
            )
            return None
    elif allowed is not None:
        problems.append(doc.problem(where, "'in' and 'equals' apply only to a parameter"))
        return None
    return Condition(
        device=raw.get("device"),
        design=raw.get("design"),
        parameter=raw.get("parameter"),
        allowed=tuple(allowed) if allowed is not None else None,
    )
