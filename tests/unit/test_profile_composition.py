"""Profile composition: `extends` with targets, exclude and parameter overlays, loaded from real
files, and every mistake in it as one pinned line at its place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ycsa_conform import cli
from ycsa_conform.errors import InputError
from ycsa_conform.profile import Profile, load_profile
from ycsa_conform.profile.model import Extension
from ycsa_conform.resources import data_dir
from ycsa_conform.units import parse_quantity

HEAD = """\
profile: {id}
version: "{version}"
title: {{en: {id}, zh: {id}}}
status: draft
targets: [{targets}]
"""
SOURCES = """\
sources:
  - id: GB 1
    title: {en: A standard, zh: 标准}
"""


def requirement(rid: str, *, subsystem: str | None = None) -> str:
    extra = f"    subsystem: {subsystem}\n" if subsystem else ""
    return (
        f"  - id: {rid}\n"
        f"    title: {{en: {rid}, zh: {rid}}}\n"
        "    area: general\n"
        "    level: mandatory\n"
        "    refs: [{source: GB 1, confidence: R}]\n"
        f"{extra}"
        f"    check: {{kind: evidence, item: {rid.lower().replace('-', '_')}, expect: a paper}}\n"
    )


BASE = (
    HEAD.format(id="base", version="0.3.0", targets="pole")
    + SOURCES
    + """\
parameters:
  max_cct:
    title: {en: Highest CCT, zh: 最高色温}
    type: quantity
    unit: K
    default: 5000 K
  min_ra:
    title: {en: Lowest Ra, zh: 最低显色指数}
    type: number
    default: 70
requirements:
"""
    + requirement("BA-LUM-001")
    + requirement("BA-LUM-002")
    + requirement("BA-PWR-001")
)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def extending(extends: str, *, requirements: str = "", parameters: str = "", head: str = "") -> str:
    text = head or HEAD.format(id="city", version="1.0.0", targets="community")
    text += "extends:\n" + extends
    if requirements:
        text += SOURCES + parameters + "requirements:\n" + requirements
    return text


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    [line] = [n for n, text in enumerate(lines, start=1) if needle in text]
    return line


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_profile(path)
    return [str(p) for p in caught.value.problems]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path, "lib/base.yaml", BASE)


def test_inherited_requirements_come_first_and_say_where_they_are_defined(
    tmp_path: Path, base: Path
) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending(
            "  - profile: lib/base.yaml\n    targets: [pole]\n",
            requirements=requirement("CI-VID-001", subsystem="video"),
        ),
    )

    profile = load_profile(path)

    assert [r.id for r in profile.requirements] == [
        "BA-LUM-001",
        "BA-LUM-002",
        "BA-PWR-001",
        "CI-VID-001",
    ]
    first, own = profile.requirements[0], profile.requirements[-1]
    assert (first.profile, first.profile_version, first.path) == ("base", "0.3.0", base.resolve())
    assert first.line == line_of(base, "- id: BA-LUM-001")
    assert first.target_kinds == ("pole",)
    assert (own.profile, own.path, own.target_kinds) == ("city", path.resolve(), ("community",))
    assert own.line == line_of(path, "- id: CI-VID-001")
    assert (own.subsystem, first.subsystem) == ("video", None)
    assert profile.target_kinds == ("community", "pole")
    base_profile = load_profile(base)
    assert profile.extends == (Extension(id="base", version="0.3.0", sha256=base_profile.sha256),)
    # The base's parameters and sources come with it.
    assert set(profile.parameters) == {"max_cct", "min_ra"}
    assert set(profile.sources) == {"GB 1"}


def test_targets_default_to_the_base_profiles_own(tmp_path: Path, base: Path) -> None:
    path = write(tmp_path, "city.yaml", extending("  - profile: lib/base.yaml\n"))

    profile = load_profile(path)

    assert {r.target_kinds for r in profile.requirements} == {("pole",)}


def test_exclude_leaves_inherited_requirements_out(tmp_path: Path, base: Path) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending("  - profile: lib/base.yaml\n    exclude: [BA-LUM-002]\n"),
    )

    assert [r.id for r in load_profile(path).requirements] == ["BA-LUM-001", "BA-PWR-001"]


def test_an_excluded_id_may_be_redefined(tmp_path: Path, base: Path) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending(
            "  - profile: lib/base.yaml\n    exclude: [BA-LUM-002]\n",
            requirements=requirement("BA-LUM-002"),
        ),
    )

    [replaced] = [r for r in load_profile(path).requirements if r.id == "BA-LUM-002"]

    assert replaced.profile == "city"


def test_an_overlay_changes_the_base_defaults_in_their_units(tmp_path: Path, base: Path) -> None:
    # An overlay city profile: only new defaults, no requirements or sources of its own.
    path = write(
        tmp_path,
        "city.yaml",
        extending("  - profile: lib/base.yaml\n    parameters: {max_cct: 4000 K, min_ra: 80}\n"),
    )

    profile = load_profile(path)

    assert profile.parameters["max_cct"].default == parse_quantity("4000 K")
    assert str(profile.parameters["max_cct"].default.units) == "kelvin"  # type: ignore[union-attr]
    assert profile.parameters["min_ra"].default == 80.0
    assert load_profile(base).parameters["max_cct"].default == parse_quantity("5000 K")


def test_an_own_parameter_replaces_the_inherited_one(tmp_path: Path, base: Path) -> None:
    own = (
        "parameters:\n"
        "  min_ra:\n"
        "    title: {en: Lowest Ra, zh: 最低显色指数}\n"
        "    type: number\n"
        "    default: 90\n"
    )
    path = write(
        tmp_path,
        "city.yaml",
        extending(
            "  - profile: lib/base.yaml\n    parameters: {min_ra: 80}\n",
            requirements=requirement("CI-GEN-001"),
            parameters=own,
        ),
    )

    assert load_profile(path).parameters["min_ra"].default == 90.0


def test_the_sha256_changes_when_the_base_changes(tmp_path: Path, base: Path) -> None:
    path = write(tmp_path, "city.yaml", extending("  - profile: lib/base.yaml\n"))
    before = load_profile(path).sha256

    base.write_text(BASE.replace('version: "0.3.0"', 'version: "0.3.1"'), encoding="utf-8")
    after = load_profile(path)

    assert after.sha256 != before
    assert after.extends[0].version == "0.3.1"


def test_extends_are_transitive(tmp_path: Path, base: Path) -> None:
    middle = write(
        tmp_path,
        "lib/middle.yaml",
        extending(
            "  - profile: base.yaml\n    exclude: [BA-PWR-001]\n",
            head=HEAD.format(id="middle", version="0.2.0", targets="community"),
            requirements=requirement("MI-GEN-001"),
        ),
    )
    path = write(
        tmp_path,
        "city.yaml",
        extending(
            "  - profile: lib/middle.yaml\n    parameters: {max_cct: 3000 K}\n",
            requirements=requirement("CI-GEN-001"),
        ),
    )

    profile = load_profile(path)

    assert [(r.id, r.profile, r.target_kinds) for r in profile.requirements] == [
        ("BA-LUM-001", "base", ("pole",)),
        ("BA-LUM-002", "base", ("pole",)),
        ("MI-GEN-001", "middle", ("community",)),
        ("CI-GEN-001", "city", ("community",)),
    ]
    assert [e.id for e in profile.extends] == ["base", "middle"]
    assert profile.parameters["max_cct"].default == parse_quantity("3000 K")
    assert load_profile(middle).parameters["max_cct"].default == parse_quantity("5000 K")


def test_the_builtin_smart_pole_profile_is_extended_by_name(tmp_path: Path) -> None:
    pole_file = data_dir("profiles") / "smart-pole.yaml"
    count = len(yaml.safe_load(pole_file.read_text(encoding="utf-8"))["requirements"])
    path = write(
        tmp_path,
        "city.yaml",
        extending("  - profile: smart-pole\n    targets: [pole]\n", requirements=""),
    )

    pole: Profile = load_profile("smart-pole")
    profile = load_profile(path)

    assert len(pole.requirements) == count
    assert [r.id for r in profile.requirements] == [r.id for r in pole.requirements]
    assert {r.path for r in profile.requirements} == {pole.path}
    assert profile.extends[0].id == "smart-pole"


# Mistakes: each one line, FILE:LINE: $.path: message.


def test_an_own_id_equal_to_an_inherited_one(tmp_path: Path, base: Path) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending("  - profile: lib/base.yaml\n", requirements=requirement("BA-LUM-002")),
    )

    assert problems(path) == [
        f"{path}:{line_of(path, '- id: BA-LUM-002')}: $.requirements[0].id: BA-LUM-002 is "
        f"inherited from base ({base.resolve()}:{line_of(base, '- id: BA-LUM-002')}); "
        "give this requirement its own id or exclude the inherited one"
    ]


def test_exclude_naming_an_id_the_base_does_not_have(tmp_path: Path, base: Path) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending("  - profile: lib/base.yaml\n    exclude:\n      - BA-LUM-020\n"),
    )

    assert problems(path) == [
        f"{path}:{line_of(path, '- BA-LUM-020')}: $.extends[0].exclude[0]: 'BA-LUM-020' is not "
        "a requirement of base (did you mean 'BA-LUM-002'?); remove it from exclude"
    ]


def test_an_overlay_parameter_the_base_does_not_declare(tmp_path: Path, base: Path) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending("  - profile: lib/base.yaml\n    parameters:\n      max_ccx: 4000 K\n"),
    )

    assert problems(path) == [
        f"{path}:{line_of(path, 'max_ccx')}: $.extends[0].parameters.max_ccx: base declares no "
        "parameter 'max_ccx' (did you mean 'max_cct'?); it declares: max_cct, min_ra"
    ]


def test_an_overlay_value_the_parameter_cannot_take(tmp_path: Path, base: Path) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending("  - profile: lib/base.yaml\n    parameters:\n      max_cct: 4000 lx\n"),
    )

    assert problems(path) == [
        f"{path}:{line_of(path, 'max_cct')}: $.extends[0].parameters.max_cct: "
        "max_cct: '4000 lx' is not a quantity in K"
    ]


def test_an_unknown_profile_in_extends(tmp_path: Path) -> None:
    path = write(tmp_path, "city.yaml", extending("  - profile: lib/nowhere.yaml\n"))

    [problem] = problems(path)

    assert problem.startswith(
        f"{path}:{line_of(path, 'nowhere')}: $.extends[0].profile: no such profile; "
        "built-in profiles are "
    )
    assert problem.endswith("smart-pole, or give the path of a profile YAML file")


def test_a_cycle_in_extends(tmp_path: Path) -> None:
    one = write(
        tmp_path,
        "one.yaml",
        extending(
            "  - profile: two.yaml\n", head=HEAD.format(id="one", version="1.0", targets="pole")
        ),
    )
    two = write(
        tmp_path,
        "two.yaml",
        extending(
            "  - profile: one.yaml\n", head=HEAD.format(id="two", version="1.0", targets="pole")
        ),
    )

    assert problems(one) == [
        f"{two}:{line_of(two, 'one.yaml')}: $.extends[0].profile: extends 'one.yaml' makes a "
        "cycle: one -> two -> one; a profile cannot extend itself"
    ]


def test_all_mistakes_are_reported_at_once(tmp_path: Path, base: Path) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending(
            "  - profile: lib/base.yaml\n    exclude: [BA-XXX-999]\n    parameters: {nope: 1}\n",
            requirements=requirement("BA-PWR-001"),
        ),
    )

    assert len(problems(path)) == 3


def test_without_extends_sources_and_requirements_are_required(tmp_path: Path) -> None:
    path = write(tmp_path, "lonely.yaml", HEAD.format(id="lonely", version="1.0", targets="pole"))

    [problem] = problems(path)

    assert "sources" in problem


def test_profile_show_names_what_a_profile_extends_and_where_each_requirement_comes_from(
    tmp_path: Path, base: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "city.yaml",
        extending(
            "  - profile: lib/base.yaml\n    targets: [pole]\n    exclude: [BA-PWR-001]\n",
            requirements=requirement("CI-VID-001", subsystem="video"),
        ),
    )

    assert cli.main(["profile", "show", str(path)]) == 0
    text = capsys.readouterr().out
    assert "  extends base 0.3.0: 2 requirements\n" in text
    assert "  own requirements: 1 of 3\n" in text
    assert cli.main(["profile", "show", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in data["extends"]] == ["base"]
    assert [
        (r["id"], r["profile"], r["targets"], r["subsystem"]) for r in data["requirements"]
    ] == [
        ("BA-LUM-001", "base", ["pole"], None),
        ("BA-LUM-002", "base", ["pole"], None),
        ("CI-VID-001", "city", ["community"], "video"),
    ]


def test_two_bases_with_the_same_requirement(tmp_path: Path, base: Path) -> None:
    write(tmp_path, "lib/twin.yaml", BASE.replace("profile: base", "profile: twin"))
    path = write(
        tmp_path,
        "city.yaml",
        extending("  - profile: lib/base.yaml\n  - profile: lib/twin.yaml\n"),
    )

    assert problems(path) == [
        f"{path}:{line_of(path, 'twin.yaml')}: $.extends[1]: {rid} is inherited from both base "
        "and twin; exclude it from one of them"
        for rid in ("BA-LUM-001", "BA-LUM-002", "BA-PWR-001")
    ]
