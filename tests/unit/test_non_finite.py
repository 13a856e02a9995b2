"""Non-finite numbers are refused where they are loaded, at their line: a NaN meets every limit
(every comparison with it is false), so '.nan' would be a false pass."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import InputError
from ycsa_conform.evidence import load_evidence
from ycsa_conform.profile.loader import load_profile
from ycsa_conform.profile.model import ParameterType
from ycsa_conform.resources import data_dir
from ycsa_conform.site import load_site
from ycsa_conform.source import read_document
from ycsa_conform.units import UnitError, parse_quantity

PROFILE = data_dir("profiles") / "smart-pole.yaml"
MAP = data_dir("benches") / "devicemaps" / "lamp-controller.yaml"
EVIDENCE = data_dir("benches") / "evidence" / "smart-pole.evidence.yaml"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _problem_of(load: object, path: Path) -> str:
    with pytest.raises(InputError) as excinfo:
        load(path)  # type: ignore[operator]
    return str(excinfo.value.problems[0])


@pytest.mark.parametrize("written", [".nan", ".NaN", ".inf", "-.inf", "1.0e+400", "1" + "0" * 30])
def test_a_non_finite_yaml_number_is_refused_at_its_line(tmp_path: Path, written: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(f"a:\n  b: [1, {written}]\n", encoding="utf-8")

    with pytest.raises(InputError) as excinfo:
        read_document(path)

    assert str(excinfo.value) == (
        f"{path}:2: $.a.b[1]: {written!r} is not a finite number; write the value as a plain "
        "number, like '0.95' or '230 V'"
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 10**400])
def test_parse_quantity_refuses_a_non_finite_number(value: float) -> None:
    with pytest.raises(UnitError, match="is not a finite number"):
        parse_quantity(value)


@pytest.mark.parametrize("raw", [True, False, "nan", "inf", "-inf", "1e400", float("nan")])
def test_a_number_parameter_refuses_booleans_and_non_finite_values(raw: str | float) -> None:
    number = next(
        p for p in load_profile(PROFILE).parameters.values() if p.type is ParameterType.NUMBER
    )

    with pytest.raises(ValueError, match="is not a finite number"):
        number.coerce(raw)


def test_a_nan_in_a_profile_is_refused(tmp_path: Path) -> None:
    text = PROFILE.read_text(encoding="utf-8")
    old = 'limit: "198 V .. 231 V"'
    assert old in text
    path = tmp_path / "p.yaml"
    path.write_text(text.replace(old, "limit: .nan", 1), encoding="utf-8")

    problem = _problem_of(load_profile, path)
    assert problem.startswith(f"{path}:{_line_of(text, old)}: $.requirements[")
    assert "].check.limit: '.nan' is not a finite number" in problem


def test_a_nan_in_a_device_map_is_refused(tmp_path: Path) -> None:
    text = MAP.read_text(encoding="utf-8")
    shutil.copytree(MAP.parent, tmp_path / "maps")
    path = tmp_path / "maps" / MAP.name
    line = _line_of(text, "scale:")
    lines = text.splitlines(keepends=True)
    key = lines[line - 1].split("scale:")[0]
    rest = lines[line - 1].split("scale:")[1]
    after = rest[rest.index(",") :] if "," in rest else "\n"
    lines[line - 1] = f"{key}scale: .nan{after}"
    path.write_text("".join(lines), encoding="utf-8")

    assert f"{path}:{line}: " in _problem_of(load_devicemap, path)
    assert "'.nan' is not a finite number" in _problem_of(load_devicemap, path)


def test_an_infinity_in_an_evidence_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.yaml"
    path.write_text(EVIDENCE.read_text(encoding="utf-8") + "x-extra: .inf\n", encoding="utf-8")

    assert "'.inf' is not a finite number" in _problem_of(load_evidence, path)


def test_a_site_design_value_or_parameter_written_nan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "site: demo\nkind: field\nparameters:\n  heartbeat_window: .nan\n"
        "targets:\n  - id: P1\n    kind: pole\n    design:\n      luminaire_power: .inf\n",
        encoding="utf-8",
    )

    assert _problem_of(load_site, path) == (
        f"{path}:4: $.parameters.heartbeat_window: '.nan' is not a finite number; write the "
        "value as a plain number, like '0.95' or '230 V'"
    )
