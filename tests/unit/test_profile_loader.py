"""Profiles: the built-in one loads; a broken one stops with one pinned line per mistake.

Bad profiles are the built-in profile with one thing changed by text replacement, so the line
numbers of everything else stay where they were.
"""

from __future__ import annotations

import hashlib
from fnmatch import fnmatch
from pathlib import Path

import pytest
import yaml

from ycsa_conform.checks.compute import FORMULAS
from ycsa_conform.design import DESIGN_KEYS
from ycsa_conform.errors import InputError
from ycsa_conform.point import POINTS
from ycsa_conform.profile import Area, builtin_profiles, load_profile
from ycsa_conform.profile.model import Confidence
from ycsa_conform.resources import data_dir

BUILTIN = data_dir("profiles") / "smart-pole.yaml"
TEXT = BUILTIN.read_text(encoding="utf-8")
DATA = yaml.safe_load(TEXT)
IDS = [r["id"] for r in DATA["requirements"]]

# What the messages list, in the order the profile file (or the code) declares them.
SOURCES = ", ".join(s["id"] for s in DATA["sources"])
PARAMETERS = list(DATA["parameters"])


def variant(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    """The built-in profile with each `old` text (found exactly once) replaced by `new`."""
    text = TEXT
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} is not unique in the built-in profile"
        text = text.replace(old, new)
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    [line] = [n for n, text in enumerate(lines, start=1) if needle in text]
    return line


def requirement(requirement_id: str) -> str:
    return f"$.requirements[{IDS.index(requirement_id)}]"


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as excinfo:
        load_profile(path)
    return [str(p) for p in excinfo.value.problems]


# -- the built-in profile ---------------------------------------------------------------------


def test_the_builtin_profile_is_listed_by_its_id() -> None:
    assert builtin_profiles()["smart-pole"] == BUILTIN


def test_the_builtin_profile_loads_with_at_least_twelve_requirements() -> None:
    profile = load_profile("smart-pole")

    assert profile.id == "smart-pole"
    assert len(profile.requirements) >= 12


def test_the_builtin_profile_covers_the_four_areas() -> None:
    areas = {r.area for r in load_profile("smart-pole").requirements}

    assert {Area.MOUNTING_LOAD, Area.POWER, Area.LIGHTING, Area.DATA_INTERFACE} <= areas


def test_every_reference_has_a_confidence_tag_and_an_empty_association_clause() -> None:
    refs = [ref for r in load_profile("smart-pole").requirements for ref in r.refs]

    assert refs
    assert all(isinstance(ref.confidence, Confidence) for ref in refs)
    assert all(ref.association_clause is None for ref in refs)
    assert all("association_clause" in ref.as_dict() for ref in refs)


def test_requirement_ids_are_unique() -> None:
    ids = [r.id for r in load_profile("smart-pole").requirements]

    assert len(ids) == len(set(ids))


def test_the_profile_records_the_hash_of_its_file() -> None:
    profile = load_profile("smart-pole")

    assert profile.sha256 == hashlib.sha256(TEXT.encode("utf-8")).hexdigest()
    assert profile.path == BUILTIN.resolve()


def test_a_requirement_knows_its_line() -> None:
    profile = load_profile(BUILTIN)
    first = profile.requirements[0]

    assert TEXT.splitlines()[first.line - 1].strip() == f"- id: {first.id}"


def test_a_profile_loads_from_a_path(tmp_path: Path) -> None:
    path = variant(tmp_path, (f'version: "{DATA["version"]}"', 'version: "9.9.9"'))

    assert load_profile(path).version == "9.9.9"


def test_an_unknown_profile_name_lists_the_builtin_ones() -> None:
    with pytest.raises(InputError) as excinfo:
        load_profile("smart-pol")

    known = ", ".join(builtin_profiles())
    assert "smart-pole" in known
    assert str(excinfo.value) == (
        f"smart-pol: $: no such profile; did you mean 'smart-pole'? built-in profiles are "
        f"{known}, or give the path of a profile YAML file"
    )


def test_a_name_close_to_no_profile_gets_no_guess() -> None:
    with pytest.raises(InputError) as excinfo:
        load_profile("streetlight")

    assert "did you mean" not in str(excinfo.value)


# -- pinned problems ---------------------------------------------------------------------------


def test_a_limit_in_the_wrong_dimension(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        ('limit: "198 V .. 235.4 V marginal 2 V"', 'limit: "198 lx .. 235.4 lx marginal 2 lx"'),
    )
    line = line_of(path, "198 lx .. 235.4 lx")

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-PWR-001')}.check.otherwise.limit: '198 lx' in "
        "'198 lx .. 235.4 lx marginal 2 lx' has the wrong dimension for supply_voltage, "
        "which is in V; give the limit in V"
    ]


def test_a_plain_number_limit_with_a_unit(tmp_path: Path) -> None:
    path = variant(tmp_path, ('limit: ">= 0.90 marginal 0.02"', 'limit: ">= 0.90 V"'))
    line = line_of(path, 'limit: ">= 0.90 V"')

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-PWR-008')}.check.limit: '0.9 V' in '>= 0.90 V' "
        "has the wrong dimension for power_factor, which is a plain number; drop the unit"
    ]


def test_an_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = variant(tmp_path, ("    note: Set 4000 K", "    notes: Set 4000 K"))
    line = line_of(path, "notes: Set 4000 K")

    assert problems(path) == [
        f"{path}:{line}: $.parameters.max_cct.notes: unknown key 'notes'; did you mean "
        "'note'? allowed keys here: confidence, default, note, range, source, title, type, unit, "
        "values"
    ]


def test_broken_yaml(tmp_path: Path) -> None:
    path = variant(tmp_path, ("status: draft", "status: [draft"))

    [problem] = problems(path)

    assert fnmatch(problem, f"{path}:*: $: broken YAML: *; check the indentation and quoting there")


def test_an_unknown_point_suggests_the_closest(tmp_path: Path) -> None:
    path = variant(tmp_path, ("point: power_factor", "point: power_factr"))
    line = line_of(path, "point: power_factr")

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-PWR-008')}.check.point: unknown point 'power_factr'; "
        "did you mean 'power_factor'? known points: " + ", ".join(POINTS)
    ]


def test_an_unknown_parameter_in_a_limit(tmp_path: Path) -> None:
    path = variant(tmp_path, ('limit: ">= $min_ra"', 'limit: ">= $foo"'))
    line = line_of(path, 'limit: ">= $foo"')

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-LUM-007')}.check.limit: unknown parameter $foo; "
        f"declare it under 'parameters' (known: {', '.join(f'${p}' for p in PARAMETERS)})"
    ]


def test_a_range_with_its_ends_swapped(tmp_path: Path) -> None:
    path = variant(tmp_path, ('limit: "198 V .. 231 V"', 'limit: "231 V .. 198 V"'))
    line = line_of(path, 'limit: "231 V .. 198 V"')

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-PWR-003')}.check.limit: '231 V .. 198 V': "
        "the lower end is above the upper end; write '198 V .. 231 V'"
    ]


def test_an_unknown_formula(tmp_path: Path) -> None:
    path = variant(tmp_path, ("formula: lighting_power_density\n", "formula: lighting_density\n"))
    line = line_of(path, "formula: lighting_density")

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-LUM-005')}.check.formula: unknown formula "
        "'lighting_density'; did you mean 'lighting_power_density'? known formulas: "
        + ", ".join(FORMULAS)
    ]


def test_a_reference_to_a_source_not_listed(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        (
            "- {source: TALQ 2.7.1, clause: LampMonitor, confidence: R, association_clause: null}\n"
            "    check:\n      kind: measure",
            "- {source: TALQ 2.8, clause: LampMonitor, confidence: R, association_clause: null}\n"
            "    check:\n      kind: measure",
        ),
    )
    line = line_of(path, "source: TALQ 2.8,")

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-DATA-011')}.refs[0].source: source 'TALQ 2.8' is "
        f"not listed under 'sources'; add it there or use one of: {SOURCES}"
    ]


def test_a_duplicate_requirement_id_names_the_first_use(tmp_path: Path) -> None:
    path = variant(tmp_path, ("id: SP-LUM-007", "id: SP-LUM-006"))
    first, second = (
        n
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "id: SP-LUM-006" in text
    )

    assert problems(path) == [
        f"{path}:{second}: {requirement('SP-LUM-007')}.id: requirement id 'SP-LUM-006' is "
        f"already used at line {first}; ids must be unique and stable"
    ]


def test_a_parameter_default_in_the_wrong_dimension(tmp_path: Path) -> None:
    path = variant(tmp_path, ("default: 5000 K", "default: 5000 V"))
    line = line_of(path, "default: 5000 V")

    expected = f"{path}:{line}: $.parameters.max_cct.default: default '5000 V' is not a quantity"

    assert f"{expected} in K" in problems(path)


def test_a_bad_parameter_default_is_the_only_problem_reported(tmp_path: Path) -> None:
    path = variant(tmp_path, ("default: 5000 K", "default: 5000 V"))

    assert len(problems(path)) == 1


def test_a_condition_on_an_unknown_design_key(tmp_path: Path) -> None:
    title = "    title: {en: Road lighting level declared, zh: 已声明道路照明等级}\n"
    path = variant(tmp_path, (title, title + "    when: [{design: road_clas}]\n"))
    line = line_of(path, "when: [{design: road_clas}]")

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-LUM-001')}.when[0].design: unknown design key "
        "'road_clas'; did you mean 'road_class'? known keys: " + ", ".join(DESIGN_KEYS)
    ]


def test_a_condition_on_an_unknown_parameter(tmp_path: Path) -> None:
    title = "    title: {en: Road lighting level declared, zh: 已声明道路照明等级}\n"
    path = variant(tmp_path, (title, title + "    when: [{parameter: road, in: [I]}]\n"))
    line = line_of(path, "when: [{parameter: road")

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-LUM-001')}.when[0].parameter: unknown parameter "
        f"'road'; declare it under 'parameters' (known: {', '.join(PARAMETERS)})"
    ]


def test_an_enum_value_suggests_the_closest(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        ("    area: power\n    level: recommended", "    area: powr\n    level: recommended"),
    )
    line = line_of(path, "area: powr")

    assert problems(path) == [
        f'{path}:{line}: {requirement("SP-PWR-017")}.area: "powr" is not allowed (did you '
        'mean \'power\'?); use one of: "mounting-load", "power", "lighting", '
        '"data-interface", "general"'
    ]


def test_several_problems_are_all_reported_in_file_order(tmp_path: Path) -> None:
    path = variant(
        tmp_path,
        ("point: power_factor", "point: power_factr"),
        ("id: SP-LUM-007", "id: SP-LUM-006"),
        ('limit: ">= $min_ra"', 'limit: ">= $foo"'),
        ('limit: "0 lx .. 150000 lx"', 'limit: "0 V .. 150000 V"'),
    )

    found = problems(path)

    assert [p.split(": ")[1] for p in found] == [
        f"{requirement('SP-PWR-008')}.check.point",
        f"{requirement('SP-LUM-007')}.id",
        f"{requirement('SP-LUM-007')}.check.limit",
        f"{requirement('SP-DATA-015')}.check.limit",
    ]
    lines = [int(p.split(": ")[0].rsplit(":", 1)[1]) for p in found]
    assert lines == sorted(lines)


def test_a_design_value_check_on_a_list_key_is_refused(tmp_path: Path) -> None:
    path = variant(tmp_path, ("      design: terrain_category\n", "      design: shaft_segments\n"))
    line = line_of(path, "design: shaft_segments")

    assert problems(path) == [
        f"{path}:{line}: {requirement('SP-LOAD-002')}.check.design: design key "
        "'shaft_segments' is a list, not one value a limit can judge; name a single design value"
    ]
