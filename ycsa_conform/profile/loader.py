"""Load profiles: YAML → schema → semantic checks → frozen `Profile`."""

from __future__ import annotations

import dataclasses
import difflib
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
from ycsa_conform.units import UnitError, format_unit, parse_unit

from .model import (
    Area,
    Condition,
    Confidence,
    Extension,
    Level,
    Parameter,
    ParameterType,
    ParamValue,
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
    path = _find_profile(name, Path())
    if path is None:
        raise InputError([Problem(file=name, line=None, path="$", message=_no_such_profile(name))])
    return path


def _find_profile(name: str, base_dir: Path) -> Path | None:
    builtin = builtin_profiles()
    if name in builtin:
        return builtin[name]
    path = base_dir / name
    return path if path.is_file() else None


def _no_such_profile(name: str = "") -> str:
    builtin = builtin_profiles()
    known = ", ".join(builtin) or "none"
    close = difflib.get_close_matches(name, list(builtin), n=1, cutoff=0.6) if name else []
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (
        f"no such profile; {hint}built-in profiles are {known}, or give the path of a profile "
        "YAML file"
    )


def load_profile(name: str | Path) -> Profile:
    return _load(resolve_profile_path(str(name)), ())


def _load(path: Path, chain: tuple[tuple[Path, str], ...]) -> Profile:
    """`chain`: the files (and profile ids) extending this one, outermost first."""
    doc = load_document(path, schema="profile")
    return _build(doc, chain)


def _build(doc: Document, chain: tuple[tuple[Path, str], ...] = ()) -> Profile:
    data: dict[str, Any] = doc.data
    problems: list[Problem] = []
    bases = _bases(doc, chain, problems)
    sources: dict[str, SourceDoc] = {}
    parameters: dict[str, Parameter] = {}
    inherited: dict[str, Requirement] = {}
    for base in bases:
        sources.update(base.profile.sources)
        parameters.update(base.parameters)
        for r in base.requirements:
            if (first := inherited.setdefault(r.id, r)) is not r:
                problems.append(
                    doc.problem(
                        ("extends", base.index),
                        f"{r.id} is inherited from both {first.profile} and {r.profile}; "
                        f"exclude it from one of them",
                    )
                )
    sources |= {
        s["id"]: SourceDoc(
            id=s["id"], title=MappingProxyType(s["title"]), kind=s.get("kind", ""), url=s.get("url")
        )
        for s in data.get("sources", [])
    }
    # An own declaration replaces an inherited one of the same name.
    parameters |= _parameters(doc, data.get("parameters", {}), problems)
    infos = {
        name: ParameterInfo(
            name=name,
            unit=p.unit if p.type is not ParameterType.NUMBER else parse_unit(""),
        )
        for name, p in parameters.items()
    }
    own_targets = tuple(data["targets"])
    requirements = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(data.get("requirements", [])):
        where = ("requirements", index)
        if raw["id"] in seen:
            problems.append(
                doc.problem(
                    (*where, "id"),
                    f"requirement id {raw['id']!r} is already used at line {seen[raw['id']]}; "
                    "ids must be unique and stable",
                )
            )
        elif (twin := inherited.get(raw["id"])) is not None:
            problems.append(
                doc.problem(
                    (*where, "id"),
                    f"{twin.id} is inherited from {twin.profile} ({twin.path}:{twin.line}); "
                    "give this requirement its own id or exclude the inherited one",
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
                profile=data["profile"],
                profile_version=data["version"],
                path=doc.path.resolve(),
                line=doc.line(where) or 0,
                target_kinds=own_targets,
                subsystem=raw.get("subsystem"),
            )
        )
    if problems:
        problems.sort(key=lambda p: (str(p.file) != str(doc.path), p.line or 0))
        raise InputError(problems)
    digest = hashlib.sha256(doc.text.encode("utf-8"))
    extends: dict[str, Extension] = {}
    for base in bases:
        digest.update(base.profile.sha256.encode("ascii"))
        for ext in (*base.profile.extends, _extension(base.profile)):
            extends.setdefault(ext.id, ext)
    inherited_requirements = [r for base in bases for r in base.requirements]
    return Profile(
        id=data["profile"],
        version=data["version"],
        title=MappingProxyType(data["title"]),
        status=data["status"],
        description=data.get("description", ""),
        target_kinds=tuple(
            dict.fromkeys(
                [*own_targets, *(k for r in inherited_requirements for k in r.target_kinds)]
            )
        ),
        sources=MappingProxyType(sources),
        parameters=MappingProxyType(parameters),
        requirements=(*inherited_requirements, *requirements),
        path=doc.path.resolve(),
        sha256=digest.hexdigest(),
        extends=tuple(extends.values()),
    )


def _extension(profile: Profile) -> Extension:
    return Extension(id=profile.id, version=profile.version, sha256=profile.sha256)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _Base:
    """One `extends` entry, applied: the base's requirements and parameters as inherited."""

    index: int  # in `extends`
    profile: Profile
    requirements: tuple[Requirement, ...]
    parameters: Mapping[str, Parameter]


def _bases(
    doc: Document, chain: tuple[tuple[Path, str], ...], problems: list[Problem]
) -> list[_Base]:
    here = (doc.path.resolve(), str(doc.data["profile"]))
    bases = []
    for index, entry in enumerate(doc.data.get("extends", [])):
        where: tuple[str | int, ...] = ("extends", index)
        path = _find_profile(entry["profile"], doc.path.parent)
        if path is None:
            problems.append(
                doc.problem((*where, "profile"), _no_such_profile(str(entry["profile"])))
            )
            continue
        cycle = [*chain, here]
        files = [p for p, _ in cycle]
        if path.resolve() in files:
            names = [n for _, n in cycle[files.index(path.resolve()) :]]
            problems.append(
                doc.problem(
                    (*where, "profile"),
                    f"extends {entry['profile']!r} makes a cycle: "
                    f"{' -> '.join([*names, names[0]])}; a profile cannot extend itself",
                )
            )
            continue
        try:
            base = _load(path, (*chain, here))
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        bases.append(_apply(doc, index, entry, base, problems))
    return bases


def _apply(
    doc: Document,
    index: int,
    entry: Mapping[str, Any],
    base: Profile,
    problems: list[Problem],
) -> _Base:
    where = ("extends", index)
    ids = [r.id for r in base.requirements]
    for i, excluded in enumerate(entry.get("exclude", [])):
        if excluded not in ids:
            problems.append(
                doc.problem(
                    (*where, "exclude", i),
                    f"{excluded!r} is not a requirement of {base.id}"
                    f"{_did_you_mean(excluded, ids)}; remove it from exclude",
                )
            )
    exclude = set(entry.get("exclude", ()))
    targets = tuple(entry["targets"]) if "targets" in entry else None
    requirements = tuple(
        r if targets is None else dataclasses.replace(r, target_kinds=targets)
        for r in base.requirements
        if r.id not in exclude
    )
    parameters = dict(base.parameters)
    for name, raw in entry.get("parameters", {}).items():
        at = (*where, "parameters", name)
        parameter = base.parameters.get(name)
        if parameter is None:
            known = ", ".join(base.parameters) or "none"
            problems.append(
                doc.problem(
                    at,
                    f"{base.id} declares no parameter {name!r}"
                    f"{_did_you_mean(name, list(base.parameters))}; it declares: {known}",
                )
            )
            continue
        try:
            parameters[name] = dataclasses.replace(parameter, default=parameter.coerce(raw))
        except ValueError as exc:
            problems.append(doc.problem(at, f"{name}: {exc}"))
    return _Base(
        index=index,
        profile=base,
        requirements=requirements,
        parameters=MappingProxyType(parameters),
    )


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _suggest(word: str, candidates: list[str]) -> str:
    """'did you mean ...? ' before a list of known names, as the compute check says it."""
    close = difflib.get_close_matches(word, candidates, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


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
        # A bad range keeps the parameter declared (without one), so limits using it do not
        # also report it unknown; the profile is rejected for the range anyway.
        if "range" in spec and (
            plausible := _plausible(doc, (*where, "range"), parameter, spec["range"], problems)
        ):
            parameter = dataclasses.replace(
                parameter, plausible=plausible, plausible_text=" ".join(spec["range"].split())
            )
        try:
            default = parameter.coerce(spec["default"])
        except ValueError as exc:
            # Keep the parameter declared, so limits using it do not also report it unknown;
            # the profile is rejected for this problem anyway.
            problems.append(doc.problem((*where, "default"), f"default {exc}"))
            default = spec["default"]
        parameters[name] = dataclasses.replace(parameter, default=default)
    return parameters


def _plausible(
    doc: Document,
    where: tuple[str, ...],
    parameter: Parameter,
    text: str,
    problems: list[Problem],
) -> tuple[ParamValue, ParamValue] | None:
    """The `range: LOW .. HIGH` of a number or quantity parameter, in its unit."""
    if parameter.type not in (ParameterType.NUMBER, ParameterType.QUANTITY):
        problems.append(doc.problem(where, f"a {parameter.type} parameter has no range; remove it"))
        return None
    low_text, sep, high_text = text.partition("..")
    example = "'0 .. 1'"
    if parameter.unit is not None:
        unit = format_unit(parameter.unit)
        example = f"'1 {unit} .. 60 {unit}'"
    try:
        if not sep:
            raise ValueError("no '..'")
        ends = (parameter.convert(low_text.strip()), parameter.convert(high_text.strip()))
    except ValueError:
        problems.append(doc.problem(where, f"{text!r} is not a range; write it like {example}"))
        return None
    if not ends[0] <= ends[1]:  # type: ignore[operator]  # both of the parameter's kind
        problems.append(doc.problem(where, f"{text!r} runs downwards; write LOW .. HIGH"))
        return None
    return ends


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
                f"unknown design key {raw['design']!r}; "
                f"{_suggest(raw['design'], list(DESIGN_KEYS))}known keys: {', '.join(DESIGN_KEYS)}",
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
