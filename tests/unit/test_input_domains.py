"""What a loader makes of input that is well-formed but wrong or unusual (issue 16): units in a
grid's header, a BOM, a quoted cell over two lines, a parameter outside its plausible range, a
misspelt evidence item, a schema's references inside the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.engineering.photometry import read_grid_csv
from ycsa_conform.errors import InputError
from ycsa_conform.evidence import load_evidence
from ycsa_conform.instrument import read_record
from ycsa_conform.profile import load_profile
from ycsa_conform.resources import data_dir

GRID = data_dir("fixtures") / "records" / "kunming-main-road-lighting-grid.csv"


def test_grid_positions_in_millimetres_are_converted_to_metres(tmp_path: Path) -> None:
    text = GRID.read_text(encoding="utf-8")
    metres = read_grid_csv(GRID)
    rows = text.splitlines()
    header = next(i for i, line in enumerate(rows) if line.startswith("y\\x (m),"))
    for i in range(header, len(rows)):
        cells = rows[i].split(",")
        if i == header:
            rows[i] = ",".join(["y\\x (mm)", *(f"{float(c) * 1000:g}" for c in cells[1:])])
        else:
            rows[i] = ",".join([f"{float(cells[0]) * 1000:g}", *cells[1:]])
    path = tmp_path / "grid-mm.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    millimetres = read_grid_csv(path)

    assert millimetres.x == pytest.approx(metres.x)
    assert millimetres.y == pytest.approx(metres.y)
    assert millimetres.lux == metres.lux


def test_grid_position_beyond_a_span_names_the_unit_to_check(tmp_path: Path) -> None:
    # The x positions in millimetres under a header that says metres: 1750 m from the pole.
    path = tmp_path / "grid.csv"
    path.write_text("y\\x (m),1750,5250\n0.625,20.5,19.0\n", encoding="utf-8")

    with pytest.raises(InputError) as excinfo:
        read_grid_csv(path)

    assert str(excinfo.value).startswith(
        f"{path}:1: x position '1750' is 1750 m from the pole, beyond 1000 m; a grid covers "
        "one span: check the unit in the first header cell"
    )


def test_a_record_saved_with_a_bom_reads_its_header(tmp_path: Path) -> None:
    path = tmp_path / "earth.csv"
    path.write_bytes(b"\xef\xbb\xbfpoint,resistance (\xce\xa9)\nE1,1.82\n")

    record = read_record(path)

    assert [c.name for c in record.columns] == ["point", "resistance"]
    assert record.quantity(record.rows[0], record.columns[1]).magnitude == 1.82


def test_a_quoted_cell_over_two_lines_keeps_the_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "earth.csv"
    path.write_text('point,resistance (Ω)\n"box PE\n(bonded)",1.9\nE2,x\n', encoding="utf-8")

    record = read_record(path)

    assert [row.line for row in record.rows] == [2, 4]
    with pytest.raises(InputError) as excinfo:
        record.quantity(record.rows[1], record.columns[1])
    assert str(excinfo.value).startswith(f"{path}:4: column 'resistance' is 'x', not a number")


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("voltage_window", "1e12 s", "'1e12 s' lies outside the plausible range 0.1 s .. 86400 s"),
        ("voltage_window", "0 s", "'0 s' lies outside the plausible range 0.1 s .. 86400 s"),
        ("min_ra", True, "True is not a finite number"),
        ("min_ra", "nan", "'nan' is not a finite number"),
        ("min_ra", "101", "'101' lies outside the plausible range 0 .. 100 of min_ra"),
        ("earth_resistance_max", "-4 ohm", "'-4 ohm' lies outside the plausible range"),
    ],
)
def test_a_parameter_outside_its_plausible_range_is_refused(
    name: str, raw: str | bool, message: str
) -> None:
    parameter = load_profile("smart-pole").parameters[name]

    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.")):
        parameter.coerce(raw)


def test_every_number_parameter_of_the_built_in_profiles_has_a_range_holding_its_default() -> None:
    for name in ("smart-pole", "smart-community"):
        for parameter in load_profile(name).parameters.values():
            if parameter.type.value in ("number", "quantity"):
                assert parameter.plausible is not None, (name, parameter.name)
                low, high = parameter.plausible
                assert low <= parameter.default <= high, (name, parameter.name)  # type: ignore[operator]


def test_a_profile_range_that_is_no_range_is_refused_at_its_line(tmp_path: Path) -> None:
    text = (data_dir("profiles") / "smart-pole.yaml").read_text(encoding="utf-8")
    assert "    range: 1000 K .. 20000 K\n" in text
    path = tmp_path / "profile.yaml"
    path.write_text(text.replace("range: 1000 K .. 20000 K", "range: 1000 K - 20000 K"))

    with pytest.raises(InputError) as excinfo:
        load_profile(path)

    (problem,) = excinfo.value.problems
    assert str(problem).endswith(
        "$.parameters.max_cct.range: '1000 K - 20000 K' is not a range; write it like '1 K .. 60 K'"
    )


def test_a_misspelt_evidence_item_is_named_with_the_one_meant(tmp_path: Path) -> None:
    shutil.copytree(data_dir("fixtures") / "evidence", tmp_path / "evidence")
    path = tmp_path / "evidence" / "example.yaml"
    text = path.read_text(encoding="utf-8")
    assert "  - item: ip_rating_certificate\n" in text
    path.write_text(text.replace("item: ip_rating_certificate", "item: ip_rating_certifcate"))
    line = text.splitlines().index("  - item: ip_rating_certificate") + 1
    asked = ["ip_rating_certificate", "luminaire_nameplate", "surge_protection"]

    found = load_evidence(path).mismatches("bench-smart-pole", ["P001", "P002"], asked)

    assert [str(p) for p in found] == [
        f"{path}:{line}: $.evidence[0].item: no requirement of the run asks for evidence "
        "'ip_rating_certifcate'; did you mean 'ip_rating_certificate'? Correct the item's name"
    ]


def test_an_evidence_item_close_to_none_asked_is_left_for_another_profile() -> None:
    evidence = load_evidence(data_dir("fixtures") / "evidence" / "example.yaml")

    assert evidence.mismatches("bench-smart-pole", ["P001", "P002"], ["charger_ip_rating"]) == []


def test_a_schema_referring_inside_itself_by_pointer_or_anchor_is_accepted(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "maps"
    shutil.copytree(data_dir("benches") / "devicemaps", folder)
    schema_path = folder / "gateway-heartbeat.schema.json"
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    schema["$defs"] = {"stamp": {"type": "number", "$anchor": "stamp"}}
    schema["properties"]["ts"] = {"$ref": "#/$defs/stamp"}
    schema["properties"]["seq"] = {"$ref": "#stamp"}
    schema_path.write_text(json.dumps(schema), encoding="utf-8")

    load_devicemap(folder / "gateway.yaml")  # no InputError

    schema["properties"]["seq"] = {"$ref": "#/$defs/stmp"}
    schema_path.write_text(json.dumps(schema), encoding="utf-8")
    with pytest.raises(InputError, match="points at nothing in the file; correct the pointer"):
        load_devicemap(folder / "gateway.yaml")
