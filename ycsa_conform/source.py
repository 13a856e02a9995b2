"""User files: YAML read with line numbers, validated by the shipped JSON Schemas.

Every file a user writes goes through `load_document`, so every mistake is reported the same
way: `FILE:LINE: $.json.path: what is wrong and how to fix it` (see `errors.Problem`).
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import fastjsonschema
import jsonschema
import yaml

from .errors import InputError, Problem

__all__ = [
    "Document",
    "JsonPath",
    "load_document",
    "load_schema",
    "read_document",
    "read_text",
    "render_path",
    "validate",
]

JsonPath = tuple[str | int, ...]


def render_path(path: Iterable[str | int]) -> str:
    """('poles', 3, 'uri') -> '$.poles[3].uri'."""
    text = "$"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.replace("_", "").replace("-", "").isalnum() and not part[:1].isdigit():
            text += f".{part}"
        else:
            text += f"[{json.dumps(part, ensure_ascii=False)}]"
    return text


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed YAML file: its data, and the line of every node by JSON path."""

    path: Path
    data: Any
    lines: Mapping[JsonPath, int]
    text: str

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        key = tuple(path)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), None)

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        return Problem(
            file=self.path, line=self.line(path), path=render_path(path), message=message
        )


# Bounds on what a small file may make us build. Aliases share nodes, so seven levels of
# "&a [*b, *b, ...]" in 1.4 kB expand to millions (63 s and 5.6 GB before these bounds); no
# profile, site, map or evidence file nests more than about a dozen levels or repeats through
# aliases more than a few times its own size.
MAX_DEPTH = 100
MAX_ALIASED_NODES = 10_000  # built through aliases, or 100 times the file's own nodes if more
_ALIAS_FACTOR = 100
# Past it no register, count or dimension makes sense, and float() of it may overflow.
_LARGEST_INT = 2**63
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


class _Builder:
    """Turns composed nodes into Python data, recording the line of every JSON path, within
    the bounds above."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.lines: dict[JsonPath, int] = {}
        self._built = 0
        self._own: set[int] = set()  # ids of the distinct nodes built: the file's own
        self._open: set[int] = set()  # ids of the collections being built: a cycle's guard

    def _refuse(self, node: yaml.Node, path: JsonPath, message: str) -> InputError:
        line = node.start_mark.line + 1
        return InputError(
            [Problem(file=self.file, line=line, path=render_path(path), message=message)]
        )

    def build(self, node: yaml.Node, path: JsonPath) -> Any:
        self.lines[path] = node.start_mark.line + 1
        self._built += 1
        self._own.add(id(node))
        bound = max(MAX_ALIASED_NODES, _ALIAS_FACTOR * len(self._own))
        if self._built - len(self._own) > bound:
            raise self._refuse(
                node,
                path,
                f"aliases expand to more than {bound} copied values (an alias bomb?); "
                "write the repeated parts out or use fewer nested aliases",
            )
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if id(node) in self._open:
            raise self._refuse(
                node, path, "an alias refers to a value that contains it; remove the alias"
            )
        if len(self._open) >= MAX_DEPTH:
            raise self._refuse(
                node, path, f"nested deeper than {MAX_DEPTH} levels; flatten the structure"
            )
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: JsonPath) -> dict[str, Any]:
        # "<<: *base" (or a list of them) gives inherited keys; the mapping's own keys win,
        # wherever they stand, as in yaml.safe_load. Only an own key may not appear twice.
        inherited: dict[str, Any] = {}
        own: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                bases = (
                    value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                )
                for base in bases:
                    built = self.build(base, path)
                    if not isinstance(built, dict):  # safe_load refuses it; it was dropped
                        raise self._refuse(
                            base,
                            path,
                            "'<<' merges a mapping (an alias like *base) or a list of them, "
                            f"not {_describe(built)}; give a mapping's alias",
                        )
                    inherited.update(built)
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise _key_problem(
                    self.file, key_node, path, "mapping keys must be plain text; quote the key"
                )
            if key in own:
                raise _key_problem(
                    self.file,
                    key_node,
                    (*path, key),
                    f"key {key!r} appears twice; keep one of them",
                )
            own[key] = self.build(value_node, (*path, key))
            self.lines[(*path, key)] = key_node.start_mark.line + 1
        return {**inherited, **own}

    def _scalar(self, node: yaml.ScalarNode, path: JsonPath) -> Any:
        # compose() has already resolved the tag (int, float, bool, null, timestamp, str).
        try:
            value = _CONSTRUCTOR.construct_object(node)
        except (ValueError, OverflowError, yaml.YAMLError):
            # '2026-13-01' resolves to a timestamp that is no date; '!!binary' that is not base64.
            if not node.tag.startswith("tag:yaml.org,2002:"):
                what = f"the tag {node.tag} is not one we read; remove it"
            elif node.tag.endswith(":timestamp"):
                what = (
                    f"{node.value!r} is not a real date; write it as YYYY-MM-DD with a real "
                    "month and day, or quote it to keep it as text"
                )
            else:
                kind = node.tag.rsplit(":", 1)[-1]
                what = f"{node.value!r} is not a valid {kind}; correct it, or quote it as text"
            raise self._refuse(node, path, what) from None
        if (isinstance(value, float) and not math.isfinite(value)) or (
            isinstance(value, int) and abs(value) > _LARGEST_INT
        ):
            # '.nan', '.inf' or a number past float range ('1.0e+400'): no limit can judge it,
            # and every comparison with a NaN is false, so "power_factor: nan" met ">= 0.9".
            raise self._refuse(
                node,
                path,
                f"{node.value!r} is not a finite number; write the value as a plain number, "
                "like '0.95' or '230 V'",
            )
        return value


def _key_problem(file: Path, key_node: yaml.Node, path: JsonPath, message: str) -> InputError:
    line = key_node.start_mark.line + 1
    return InputError([Problem(file=file, line=line, path=render_path(path), message=message)])


# libyaml's composer when PyYAML was built with it: a district's site (1,000 targets, 2.5 MB)
# composes in about a tenth of the time. Its error messages differ in wording, so a document it
# refuses is composed again by the pure-Python one, whose messages the docs and tests show.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, path: Path) -> yaml.Node | None:
    try:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            return yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        # Both composers recurse once per level: thousands of levels exhaust the stack before
        # the builder can bound them. The parser's events are flat: count them for the line.
        raise InputError([_too_deep(text, path)]) from None


def _too_deep(text: str, path: Path) -> Problem:
    depth = 0
    line = None
    for event in yaml.parse(text, Loader=_FAST_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 if event.start_mark else None
                break
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return Problem(
        file=path,
        line=line,
        path="$",
        message=f"nested deeper than {MAX_DEPTH} levels; flatten the structure",
    )


def _parse(text: str, path: Path) -> tuple[Any, dict[JsonPath, int]]:
    try:
        node = _compose(text, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or "YAML syntax error"
        if exc.context:
            what = f"{exc.context}, {what}"
        raise InputError(
            [
                Problem(
                    file=path,
                    line=line,
                    path="$",
                    message=f"broken YAML: {what}; check the indentation and quoting there",
                )
            ]
        ) from None
    except yaml.reader.ReaderError as exc:
        # A control character YAML does not allow; the reader knows only its position.
        line = text.count("\n", 0, exc.position) + 1
        message = (
            f"character U+{int(exc.character):04X} is not allowed in YAML (a binary file, or a "
            "control character pasted in?); delete it"
        )
        raise InputError([Problem(file=path, line=line, path="$", message=message)]) from None
    except yaml.YAMLError as exc:
        raise InputError(
            [Problem(file=path, line=None, path="$", message=f"broken YAML: {exc}")]
        ) from None
    if node is None:
        return None, {}
    builder = _Builder(path)
    return builder.build(node, ()), builder.lines


def read_text(file: Path) -> str:
    """A user file's text; a file that is missing, a directory, unreadable or not UTF-8 text is
    refused with the line of its first bad byte."""

    def refuse(message: str, line: int | None = None) -> InputError:
        return InputError([Problem(file=file, line=line, path="$", message=message)])

    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise refuse("file not found; check the path") from None
    except IsADirectoryError:
        raise refuse("is a directory, not a file; name the file inside it") from None
    except PermissionError:
        raise refuse("cannot be read: permission denied; check the file's permissions") from None
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or exc}; check the path") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(
            f"byte 0x{data[exc.start]:02x} is not UTF-8 text (a binary file, or saved in another "
            "encoding such as GBK or Latin-1?); save the file as UTF-8",
            data.count(b"\n", 0, exc.start) + 1,
        ) from None
    if "\x00" in text:
        raise refuse(
            "holds a NUL byte (a binary file?); a user file must be plain UTF-8 text",
            text.count("\n", 0, text.index("\x00")) + 1,
        )
    return text


def read_document(path: Path | str, *, text: str | None = None) -> Document:
    """Read a YAML (or JSON) file with line numbers, without validating it."""
    file = Path(path)
    if text is None:
        text = read_text(file)
    data, lines = _parse(text, file)
    return Document(path=file, data=data, lines=lines, text=text)


def load_document(path: Path | str, *, schema: str, text: str | None = None) -> Document:
    """Read a YAML (or JSON) file and validate it against the shipped schema `schema`.

    `text`, when given, stands for the file's content (a template filled in memory); errors
    still name `path`.
    """
    document = read_document(path, text=text)
    problems = validate(document, schema)
    if problems:
        raise InputError(problems)
    return document


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped in the package, by file stem ('profile', 'site', 'devicemap', 'report')."""
    ref = resources.files("ycsa_conform") / "schemas" / f"{name}.schema.json"
    schema: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return schema


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(name))


# Keywords that a validator compiled by fastjsonschema (draft 7) applies as jsonschema's 2020-12
# validator does; the rest of a schema's keys are annotations. Values under these keys hold
# data, not schemas: they are not searched for keywords.
_FAST_KEYWORDS = frozenset(
    [
        "type",
        "enum",
        "const",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "properties",
        "patternProperties",
        "additionalProperties",
        "required",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "$ref",
    ]
)
_ANNOTATIONS = frozenset(
    [
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "definitions",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
    ]
)
_DATA = frozenset({"enum", "const", "required", "default", "examples", "title", "description"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions"})


def compile_fast(schema: Mapping[str, Any]) -> Callable[[Any], Any] | None:
    """A validator compiled by fastjsonschema for `schema`, or None when the schema uses a
    keyword it would not apply as jsonschema does (then its "valid" could be wrong).

    It is a fast "this document is valid", 15 to 30 times quicker than jsonschema (a district's
    site of 1,000 targets, its report of 70,000 results); a document it refuses goes to
    jsonschema, which lists every error with the paths the messages need."""

    def plain(node: Any) -> bool:
        if isinstance(node, list):
            return all(plain(item) for item in node)
        if not isinstance(node, dict):
            return True
        for key, value in node.items():
            if key.startswith("x-"):  # our own annotations (x-hint: the fix a message gives)
                continue
            if key not in _FAST_KEYWORDS and key not in _ANNOTATIONS:
                return False
            if key in _SCHEMA_MAPS:
                if not all(plain(v) for v in value.values()):
                    return False
            elif key not in _DATA and not plain(value):
                return False
        return True

    if not plain(schema):
        return None
    try:
        return cast(Callable[[Any], Any], fastjsonschema.compile(dict(schema)))
    except fastjsonschema.JsonSchemaDefinitionException:
        return None


@cache
def _fast_validator(name: str) -> Callable[[Any], Any] | None:
    return compile_fast(load_schema(name))


def is_valid_fast(validator: Callable[[Any], Any] | None, data: Any) -> bool:
    """True when the compiled `validator` finds `data` valid; False when it does not, or when
    there is none: jsonschema then decides."""
    if validator is None:
        return False
    try:
        validator(data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def validate(document: Document, schema: str) -> list[Problem]:
    """All schema problems of `document`, in file order, each with a fix."""
    if document.data is None:
        return [document.problem((), f"the file is empty; it must hold a {schema} document")]
    if is_valid_fast(_fast_validator(schema), document.data):
        return []
    problems = []
    for error in _leaf_errors(_validator(schema).iter_errors(document.data)):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            # One problem per unknown key, on the key's own line.
            schema_part = error.schema if isinstance(error.schema, dict) else {}
            allowed = sorted(schema_part.get("properties", {}))
            for key in error.instance:
                if key not in allowed:
                    problems.append(document.problem([*path, key], _unknown_key(key, allowed)))
            continue
        problems.append(document.problem(path, _explain(error)))
    problems.sort(key=lambda p: (p.line or 0, p.path))
    return problems


def _leaf_errors(
    errors: Iterable[jsonschema.ValidationError],
) -> list[jsonschema.ValidationError]:
    """Replace oneOf/anyOf failures by the most relevant branch error, so messages say the fix."""
    result = []
    for error in errors:
        if error.validator in ("oneOf", "anyOf") and error.context:
            best = jsonschema.exceptions.best_match(error.context)
            result.append(best)
        else:
            result.append(error)
    # The same place can fail several ways; keep one message per place and kind.
    seen: set[tuple[JsonPath, str]] = set()
    unique = []
    for error in result:
        key = (tuple(error.absolute_path), str(error.validator))
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique


_TYPE_NAMES = {
    "object": "a mapping (key: value)",
    "array": "a list",
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "nothing (null)",
}


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    did_you_mean = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r}; {did_you_mean}allowed keys here: {', '.join(allowed)}"


def _explain(error: jsonschema.ValidationError) -> str:
    """Turn a jsonschema error into 'what is wrong; how to fix it'."""
    v = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = schema.get("x-hint")
    suffix = f"; {hint}" if isinstance(hint, str) else ""
    if schema.get("x-secret"):
        # A value that should have been a reference may be the secret itself: never quoted.
        return f"the value is not a reference{suffix}"
    wanted: Any = error.validator_value
    if v == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        return f"{missing!r} is required here; add it{suffix}"
    if v == "enum":
        options = ", ".join(_describe(o) for o in wanted)
        close = difflib.get_close_matches(str(error.instance), [str(o) for o in wanted], n=1)
        did_you_mean = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{_describe(error.instance)} is not allowed{did_you_mean}; use one of: {options}"
    if v == "const":
        return f"must be {_describe(wanted)}, not {_describe(error.instance)}"
    if v == "type":
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        wanted_text = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        return f"{_describe(error.instance)} should be {wanted_text}{suffix}"
    if v == "pattern":
        fix = suffix or f" (pattern {error.validator_value})"
        return f"{_describe(error.instance)} is not in the expected form{fix}"
    if v in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{_describe(error.instance)} is out of range: {error.message}{suffix}"
    if v in ("minItems", "minLength", "minProperties"):
        return f"{_describe(error.instance)} is too short or empty{suffix or '; fill it in'}"
    return f"{error.message}{suffix}"
