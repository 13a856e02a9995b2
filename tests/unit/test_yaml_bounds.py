"""YAML a careless or hostile user writes is refused at its line, quickly: alias bombs, aliases
that contain themselves, thousands of levels of nesting, impossible dates, unknown tags."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ycsa_conform.errors import InputError
from ycsa_conform.source import MAX_DEPTH, read_document


def _refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "f.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        read_document(path)
    assert len(excinfo.value.problems) == 1
    return str(excinfo.value).removeprefix(f"{path}:")


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    # Seven levels of nine aliases: 9**7 = 4.8 million values from 400 bytes (63 s and
    # 5.6 GB before the bound).
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 8)]
    started = time.perf_counter()

    refusal = _refusal(tmp_path, "\n".join(lines) + "\n")

    assert time.perf_counter() - started < 2
    assert "aliases expand to more than 10000 copied values (an alias bomb?)" in refusal


def test_aliases_used_a_few_times_still_load(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    base = "base: &b {" + ", ".join(f"k{i}: {i}" for i in range(50)) + "}\n"
    path.write_text(base + "".join(f"t{i}: {{<<: *b, id: {i}}}\n" for i in range(300)))

    assert read_document(path).data["t299"]["k49"] == 49


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    assert _refusal(tmp_path, "a: &a [1, *a]\n") == (
        "1: $.a[1]: an alias refers to a value that contains it; remove the alias"
    )


def test_a_merge_of_its_own_mapping_is_refused(tmp_path: Path) -> None:
    assert "an alias refers to a value that contains it" in _refusal(
        tmp_path, "a: &a\n  b: 1\n  <<: *a\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        "".join(" " * i + "k:\n" for i in range(1500)) + " " * 1500 + "v\n",
    ],
    ids=["flow", "block"],
)
def test_thousands_of_levels_are_refused_without_a_recursion_error(
    tmp_path: Path, text: str
) -> None:
    refusal = _refusal(tmp_path, text)

    assert refusal.endswith(f"nested deeper than {MAX_DEPTH} levels; flatten the structure")


def test_nesting_just_inside_the_bound_loads(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")

    assert read_document(path).data is not None


def test_an_impossible_date_is_refused_at_its_line(tmp_path: Path) -> None:
    assert _refusal(tmp_path, "x: 1\nissued: 2026-13-01\n") == (
        "2: $.issued: '2026-13-01' is not a real date; write it as YYYY-MM-DD with a real "
        "month and day, or quote it to keep it as text"
    )


def test_an_unknown_tag_is_refused_at_its_line(tmp_path: Path) -> None:
    assert _refusal(tmp_path, "x: !python/object x\n") == (
        "1: $.x: the tag !python/object is not one we read; remove it"
    )


@pytest.mark.parametrize("merged", ["1", "x", "[*b, 2]", "[1, 2]"])
def test_a_merge_of_something_else_than_a_mapping_is_refused(tmp_path: Path, merged: str) -> None:
    # It used to be dropped silently, with the keys the writer meant to inherit.
    refusal = _refusal(tmp_path, f"b: &b {{k: 1}}\nt:\n  <<: {merged}\n  id: 1\n")

    assert refusal.startswith("3: $.t: '<<' merges a mapping (an alias like *base) or a list")


def test_a_merge_of_a_list_of_mappings_loads(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("a: &a {k: 1}\nb: &b {j: 2}\nt: {<<: [*a, *b], k: 3}\n")

    assert read_document(path).data["t"] == {"k": 3, "j": 2}
