"""User files: YAML with line numbers, schema problems as FILE:LINE: $.path: message."""

from __future__ import annotations

import copy
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from ycsa_conform import source
from ycsa_conform.errors import InputError
from ycsa_conform.resources import data_dir
from ycsa_conform.source import load_document, load_schema, read_document, render_path

# The site schema is the smallest user format; these tests use it for schema messages.
TARGET = "targets: [{id: P1, kind: pole}]\n"
SITE_SCHEMA = load_schema("site")
# The keys an unknown-key message lists: the schema's, sorted.
SITE_KEYS = ", ".join(sorted(SITE_SCHEMA["properties"]))
EQUIPMENT_KEYS = ", ".join(
    sorted(SITE_SCHEMA["$defs"]["design"]["properties"]["equipment"]["items"]["properties"])
)


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, schema: str = "site") -> list[str]:
    with pytest.raises(InputError) as excinfo:
        load_document(path, schema=schema)
    return [str(p) for p in excinfo.value.problems]


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        ((), "$"),
        (("poles", 3, "uri"), "$.poles[3].uri"),
        (("points", "pm2_5"), "$.points.pm2_5"),
        (("a b",), '$["a b"]'),
        (("x-y",), "$.x-y"),
        (("1a",), '$["1a"]'),
        (("$schema",), '$["$schema"]'),
    ],
)
def test_render_path_writes_json_paths(parts: tuple[str | int, ...], text: str) -> None:
    assert render_path(parts) == text


def test_scalars_are_read_as_yaml_safe_load_reads_them(tmp_path: Path) -> None:
    text = "a: {n: 3, x: 0.5, flag: true, s: '1', v: null, when: 2025-06-01}\nb: [1, two]\n"

    assert read_document(write(tmp_path, text)).data == yaml.safe_load(text)


def test_a_valid_file_loads_without_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: bench\n" + TARGET)

    assert load_document(path, schema="site").data["targets"] == [{"id": "P1", "kind": "pole"}]


def test_duplicate_keys_are_reported_on_the_second_key(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: bench\nsite: b\n" + TARGET)

    assert problems(path) == [f"{path}:3: $.site: key 'site' appears twice; keep one of them"]


def test_broken_yaml_names_the_line_and_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: bench\ntargets:\n  - id: P1\n   kind: pole\n")

    [problem] = problems(path)

    assert fnmatch(problem, f"{path}:5: $: broken YAML: *; check the indentation and quoting there")


def test_an_unclosed_quote_is_broken_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "site: 'a\nkind: bench\n")

    [problem] = problems(path)

    assert fnmatch(problem, f"{path}:*: $: broken YAML: *quoted scalar*")


@pytest.mark.parametrize("text", ["", "# nothing here yet\n"])
def test_an_empty_file_is_reported_as_empty(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)

    assert problems(path) == [f"{path}: $: the file is empty; it must hold a site document"]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    assert problems(path) == [f"{path}: $: file not found; check the path"]


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"\xff\xfe site: a\n")

    [problem] = problems(path)

    assert problem == (
        f"{path}:1: $: byte 0xff is not UTF-8 text (a binary file, or saved in another encoding "
        "such as GBK or Latin-1?); save the file as UTF-8"
    )


def test_a_key_that_is_not_text_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: bench\n? [1, 2]\n: x\n" + TARGET)

    assert problems(path) == [f"{path}:3: $: mapping keys must be plain text; quote the key"]


def test_an_unknown_key_suggests_the_closest_allowed_key(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: bench\ntitel: {en: x}\n" + TARGET)

    assert problems(path) == [
        f"{path}:3: $.titel: unknown key 'titel'; did you mean 'title'? "
        f"allowed keys here: {SITE_KEYS}"
    ]


def test_an_unknown_key_without_a_close_match_lists_the_allowed_keys(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: bench\nzzz: 1\n" + TARGET)

    assert problems(path) == [f"{path}:3: $.zzz: unknown key 'zzz'; allowed keys here: {SITE_KEYS}"]


def test_an_enum_error_suggests_the_closest_value(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: benhc\n" + TARGET)

    assert problems(path) == [
        f"""{path}:2: $.kind: "benhc" is not allowed (did you mean 'bench'?); """
        """use one of: "bench", "field\""""
    ]


def test_a_type_error_names_the_expected_type(tmp_path: Path) -> None:
    text = "site: a\nkind: bench\ntargets:\n  - id: P1\n    kind: pole\n"
    text += "    devices:\n      m: {uri: u, map: m, retries: two}\n"
    path = write(tmp_path, text)

    assert problems(path) == [
        f'{path}:7: $.targets[0].devices.m.retries: "two" should be a whole number'
    ]


def test_a_document_of_the_wrong_shape_is_a_type_error(tmp_path: Path) -> None:
    path = write(tmp_path, "- a\n- b\n")

    assert problems(path) == [f'{path}:1: $: ["a", "b"] should be a mapping (key: value)']


def test_a_pattern_error_gives_the_schema_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "site: 'a b'\nkind: bench\n" + TARGET)

    assert problems(path) == [
        f'{path}:1: $.site: "a b" is not in the expected form; '
        "use letters, digits, '-', '_' and '.', like 'kunming-dianchi-road'"
    ]


def test_a_missing_required_key_is_reported_on_its_parent(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: bench\n")

    assert problems(path) == [f"{path}:1: $: 'targets' is required here; add it"]


def test_an_empty_list_that_needs_items_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "site: a\nkind: bench\ntargets: []\n")

    assert problems(path) == [f"{path}:3: $.targets: [] is too short or empty; fill it in"]


def test_a_number_out_of_range_is_reported(tmp_path: Path) -> None:
    text = "site: a\nkind: bench\ntargets:\n  - id: P1\n    kind: pole\n"
    text += "    devices:\n      m: {uri: u, map: m, retries: 11}\n"
    path = write(tmp_path, text)

    assert problems(path) == [
        f"{path}:7: $.targets[0].devices.m.retries: 11 is out of range: "
        "11 is greater than the maximum of 10"
    ]


NESTED = """\
site: a
kind: bench
targets:
  - id: P1
    kind: pole
  - id: P2
    kind: pol
    design:
      equipment:
        - {name: x, mass: 1 kg, area: 1 m^2, height: 1 m}
        - name: y
          mass: 2 kg
          colour: red
          area: 1 m^2
          height: 1 m
"""


def test_nested_list_items_are_reported_on_their_own_lines(tmp_path: Path) -> None:
    path = write(tmp_path, NESTED)

    assert problems(path) == [
        f"{path}:7: $.targets[1].kind: \"pol\" is not allowed (did you mean 'pole'?); "
        'use one of: "pole", "community", "subsystem"',
        f"{path}:13: $.targets[1].design.equipment[1].colour: unknown key 'colour'; "
        f"allowed keys here: {EQUIPMENT_KEYS}",
    ]


def test_every_node_has_its_line(tmp_path: Path) -> None:
    document = read_document(write(tmp_path, NESTED))

    assert document.lines[("targets",)] == 3
    assert document.lines[("targets", 1)] == 6
    assert document.lines[("targets", 1, "design", "equipment", 0, "mass")] == 10
    assert document.lines[("targets", 1, "design", "equipment", 1)] == 11
    assert document.lines[("targets", 1, "design", "equipment", 1, "height")] == 15


def test_a_path_without_a_node_takes_the_line_of_its_nearest_ancestor(tmp_path: Path) -> None:
    document = read_document(write(tmp_path, NESTED))

    assert document.line(("targets", 1, "design", "equipment", 1, "nope", 3)) == 11


def test_problems_come_in_file_order(tmp_path: Path) -> None:
    text = "zzz: 1\nsite: 'a b'\nkind: benhc\n" + TARGET
    path = write(tmp_path, text)

    assert [p.split(": ")[0] for p in problems(path)] == [f"{path}:1", f"{path}:2", f"{path}:3"]


def test_text_stands_for_the_file_but_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"

    with pytest.raises(InputError) as excinfo:
        load_document(path, schema="site", text="site: a\nkind: benhc\n" + TARGET)

    assert str(excinfo.value).startswith(f"{path}:2: $.kind: ")


def test_input_error_is_one_line_per_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "site: 'a b'\nkind: benhc\n" + TARGET)

    with pytest.raises(InputError) as excinfo:
        load_document(path, schema="site")

    assert str(excinfo.value).splitlines() == [str(p) for p in excinfo.value.problems]


def test_a_merge_key_is_merged_as_yaml_safe_load_does(tmp_path: Path) -> None:
    text = "site: a\nkind: bench\ntargets:\n  - &base {id: P1, kind: pole}\n"
    text += "  - <<: *base\n    id: P2\n"
    path = write(tmp_path, text)

    assert load_document(path, schema="site").data == yaml.safe_load(text)


# -- the compiled validator: a fast "valid", never a wrong one ------------------------------


@pytest.mark.parametrize("name", ["site", "profile", "devicemap", "evidence", "bench", "faults"])
def test_every_user_schema_has_a_compiled_validator(name: str) -> None:
    assert source._fast_validator(name) is not None


def test_a_schema_with_a_keyword_the_compiled_validator_does_not_apply_gets_none() -> None:
    # draft 2020-12's unevaluatedProperties: fastjsonschema (draft 7) would ignore it and
    # call {"b": 1} valid.
    schema = {"type": "object", "properties": {"a": {}}, "unevaluatedProperties": False}
    assert source.compile_fast(schema) is None
    assert source.compile_fast({"type": "object", "x-hint": "ours"}) is not None


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(kind="roadside"),  # not in the enum
        lambda d: d.update(site=True),  # a boolean where text belongs
        lambda d: d.pop("targets"),  # required
        lambda d: d.update(unknown_key=1),  # additionalProperties
        lambda d: d["targets"][0].update(id=7),
        lambda d: d["targets"][0]["devices"]["lamp"].update(timeout=True),
        lambda d: d["targets"][0]["design"].update(height=[10]),
    ],
)
def test_what_jsonschema_refuses_the_compiled_validator_never_calls_valid(
    change: Any,
) -> None:
    document = yaml.safe_load((data_dir("benches") / "smart-pole.site.yaml").read_text("utf-8"))
    fast = source._fast_validator("site")
    assert source.is_valid_fast(fast, copy.deepcopy(document))  # the bench's own site is valid
    change(document)
    full = list(source._validator("site").iter_errors(document))
    assert full, "the change must break the document"
    assert not source.is_valid_fast(fast, document)
