"""The `record` check kind: instrument records judged by column, the lighting grid by figure.

Checks are loaded from a profile text (so load-time problems are pinned as users see them) and
run on a target whose records are the shipped fixtures or variants written into tmp_path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

import pytest

from ycsa_conform.checks import CheckContext, Outcome
from ycsa_conform.checks.base import ParamValue
from ycsa_conform.checks.record import GridRecordCheck, InstrumentRecordCheck
from ycsa_conform.errors import InputError
from ycsa_conform.instrument import read_record
from ycsa_conform.profile import load_profile
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Verdict
from ycsa_conform.site import Target, load_site
from ycsa_conform.units import Quantity

BENCH = data_dir("benches") / "records"
FIXTURES = data_dir("fixtures") / "records"
KUNMING = data_dir("fixtures") / "sites" / "kunming-main-road.yaml"

PROFILE = """\
profile: record-test
version: "0.1.0"
title: {en: Record test, zh: 记录测试}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  earth_max: {type: quantity, unit: ohm, default: 4 ohm, title: {en: E, zh: E}}
  road_class: {type: text, values: [I, II, III], default: II, title: {en: C, zh: C}}
  grade: {type: text, values: [low, high], default: high, title: {en: G, zh: G}}
requirements:
  - id: SP-PWR-901
    title: {en: Record, zh: 记录}
    area: power
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: CHECK
"""
LINE = PROFILE.splitlines().index("    check: CHECK") + 1
PARAMETERS: Mapping[str, ParamValue] = {
    "earth_max": Quantity(4.0, "ohm"),
    "road_class": "II",
    "grade": "high",
}

EARTH = (
    "{kind: record, record: earth, "
    "judge: [{column: resistance, aggregate: each, limit: CHECKLIMIT}]}"
)


def write(tmp_path: Path, check: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE.replace("CHECK", check, 1), encoding="utf-8")
    return path


def loaded(tmp_path: Path, check: str) -> InstrumentRecordCheck | GridRecordCheck:
    [requirement] = load_profile(write(tmp_path, check)).requirements
    assert isinstance(requirement.check, InstrumentRecordCheck | GridRecordCheck)
    return requirement.check


def problems(tmp_path: Path, check: str) -> list[str]:
    path = write(tmp_path, check)
    with pytest.raises(InputError) as caught:
        load_profile(path)
    return [re.sub(r"^.*?:\d+: ", "", str(p)) for p in caught.value.problems]


def target(**records: Path) -> Target:
    return Target(
        id="P001",
        kind="pole",
        title=MappingProxyType({"en": "P001"}),
        parameters=MappingProxyType({}),
        design=MappingProxyType({}),
        equipment=(),
        devices=MappingProxyType({}),
        origin="site.yaml:4: $.targets[0]",
        records=MappingProxyType(records),
    )


def run(
    tmp_path: Path,
    check: str,
    *,
    parameters: Mapping[str, ParamValue] = PARAMETERS,
    **records: Path,
) -> Outcome:
    return run_with(tmp_path, check, records, parameters=parameters)


def run_with(
    tmp_path: Path,
    check: str,
    records: Mapping[str, Path],
    *,
    parameters: Mapping[str, ParamValue] = PARAMETERS,
) -> Outcome:
    def no_device(role: str) -> object:
        raise AssertionError(f"a record check opened device {role}")

    ctx = CheckContext(
        target=target(**records),
        parameters=parameters,
        device=no_device,  # type: ignore[arg-type]  # never called: records need no device
    )
    return loaded(tmp_path, check).run(ctx)


def variant(tmp_path: Path, source: Path, old: str, new: str, name: str = "") -> Path:
    """A copy of a fixture with one text replaced (the failing variant of a record)."""
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {source}"
    path = tmp_path / (name or source.name)
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def small(tmp_path: Path, body: str, name: str = "record.csv") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


# -- each, and the parameters in limits --------------------------------------------------------


def test_each_row_of_the_bench_earth_record_passes_and_is_named(tmp_path: Path) -> None:
    outcome = run(
        tmp_path,
        EARTH.replace("CHECKLIMIT", '"<= $earth_max"'),
        earth=BENCH / "earth-resistance.csv",
    )

    assert outcome.verdict is Verdict.PASS, outcome.reason
    names = [m.name for m in outcome.measurements]
    assert names[0] == "resistance [foundation electrode 52 %]"
    assert len(names) == 4
    first = outcome.measurements[0]
    assert (first.unit, first.limit, first.verdict) == ("Ω", "<= 4 Ω", Verdict.PASS)
    assert first.source is not None
    assert first.source.scheme == "file"
    assert first.source.address == f"{BENCH / 'earth-resistance.csv'}:13"
    instrument = "Fluke 1625-2 earth ground tester s/n 3921007, calibrated 2026-03-01"
    assert instrument in first.source.device
    assert "resistance: all 4 rows meet <= 4 Ω (1.56 .. 1.95 Ω)" in outcome.reason
    assert outcome.reason.startswith("record earth (earth-resistance.csv; Fluke 1625-2")


def test_a_parameter_in_the_limit_is_resolved_per_target(tmp_path: Path) -> None:
    strict = {**PARAMETERS, "earth_max": Quantity(1.65, "ohm")}

    outcome = run(
        tmp_path,
        EARTH.replace("CHECKLIMIT", '"<= $earth_max"'),
        parameters=strict,
        earth=BENCH / "earth-resistance.csv",
    )

    assert outcome.verdict is Verdict.FAIL
    assert "2 of 4 rows: resistance [foundation electrode 72 %]: 1.68 Ω is above 1.65 Ω" in (
        outcome.reason
    )
    assert "(line 15)" in outcome.reason


def test_one_check_on_many_targets_judges_each_limit_and_each_change_of_the_file(
    tmp_path: Path,
) -> None:
    # Poles of a road share a record: its verdict is reused only for the same limits and the
    # file unchanged; a stricter pole and an edited file are judged afresh.
    check = loaded(tmp_path, EARTH.replace("CHECKLIMIT", '"<= $earth_max"'))
    record = small(tmp_path, "point,resistance (ohm)\nE1,3.5\n")

    def judged(earth_max: float) -> Outcome:
        ctx = CheckContext(
            target=target(earth=record),
            parameters={**PARAMETERS, "earth_max": Quantity(earth_max, "ohm")},
            device=lambda role: None,  # type: ignore[arg-type,return-value]  # never called
        )
        return check.run(ctx)

    assert judged(4.0).verdict is Verdict.PASS
    assert judged(4.0) == judged(4.0)
    assert judged(3.0).verdict is Verdict.FAIL
    record.write_text("point,resistance (ohm)\nE1,4.75\n", encoding="utf-8")  # longer
    assert judged(4.0).verdict is Verdict.FAIL
    assert "4.75" in judged(4.0).reason


def test_a_value_in_another_unit_is_converted_to_the_limit_unit(tmp_path: Path) -> None:
    record = small(tmp_path, "point,resistance (kΩ)\nE1,0.0035\n")

    outcome = run(tmp_path, EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'), earth=record)

    assert outcome.verdict is Verdict.PASS
    (only,) = outcome.measurements
    assert only.unit == "Ω"
    assert only.value == pytest.approx(3.5)


def test_a_row_is_named_by_its_line_without_a_text_column(tmp_path: Path) -> None:
    record = small(tmp_path, "# no text column\nresistance (ohm)\n5.1\n")

    outcome = run(tmp_path, EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'), earth=record)

    assert outcome.verdict is Verdict.FAIL
    assert outcome.measurements[0].name == "resistance [line 3]"


# -- min, max, mean, p95 ---------------------------------------------------------------------

SERIES = "label,value (V)\n" + "".join(f"r{k},{k}\n" for k in range(1, 41))  # 1 … 40 V


@pytest.mark.parametrize(
    ("aggregate", "limit", "name", "value"),
    [
        ("min", ">= 1 V", "value min [r1]", 1.0),
        ("max", "<= 40 V", "value max [r40]", 40.0),
        ("mean", "== 20.5 V", "value mean", 20.5),
        # n = 40: the 2 largest (39, 40) are discarded, the 95 % value is 38
        ("p95", "<= 38 V", "value p95", 38.0),
    ],
)
def test_an_aggregate_judges_one_figure(
    tmp_path: Path, aggregate: str, limit: str, name: str, value: float
) -> None:
    record = small(tmp_path, SERIES)
    check = (
        "{kind: record, record: series, judge: [{column: value, aggregate: "
        f'{aggregate}, limit: "{limit}"}}]}}'
    )

    outcome = run(tmp_path, check, series=record)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    (only,) = outcome.measurements
    assert (only.name, only.unit) == (name, "V")
    assert only.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("aggregate", "limit"),
    [("min", "> 1 V"), ("max", "< 40 V"), ("mean", ">= 21 V"), ("p95", "<= 37.9 V")],
)
def test_an_aggregate_fails_just_past_its_figure(
    tmp_path: Path, aggregate: str, limit: str
) -> None:
    record = small(tmp_path, SERIES)
    check = (
        "{kind: record, record: series, judge: [{column: value, aggregate: "
        f'{aggregate}, limit: "{limit}"}}]}}'
    )

    assert run(tmp_path, check, series=record).verdict is Verdict.FAIL


def test_min_and_max_name_the_line_they_came_from(tmp_path: Path) -> None:
    record = small(tmp_path, SERIES)
    check = (
        '{kind: record, record: series, judge: [{column: value, aggregate: max, limit: "<= 40 V"}]}'
    )

    (only,) = run(tmp_path, check, series=record).measurements

    assert only.source is not None
    assert only.source.address == f"{record}:41"


def test_columns_are_judged_alike(tmp_path: Path) -> None:
    record = small(tmp_path, "t,a (V),b (V)\n1,1,5\n2,2,6\n")
    check = '{kind: record, record: r, judge: [{columns: [a, b], aggregate: max, limit: "<= 5 V"}]}'

    outcome = run(tmp_path, check, r=record)

    assert [(m.name, m.verdict) for m in outcome.measurements] == [
        ("a max [2]", Verdict.PASS),
        ("b max [2]", Verdict.FAIL),
    ]
    assert outcome.verdict is Verdict.FAIL
    assert outcome.reason.index("b max") < outcome.reason.index("a max")  # the deciding first


# -- where, derive ---------------------------------------------------------------------------

INSULATION = (
    "{kind: record, record: insulation, judge: ["
    '{column: resistance, where: {part: circuit}, aggregate: each, limit: ">= 0.5 Mohm"}, '
    '{column: resistance, where: {part: luminaire}, aggregate: each, limit: ">= 2 Mohm"}, '
    '{column: test voltage, aggregate: min, limit: ">= 500 V"}]}'
)


def test_where_splits_circuits_from_the_luminaire(tmp_path: Path) -> None:
    failing = variant(tmp_path, BENCH / "insulation.csv", "luminaire,61.0,508", "luminaire,1.2,508")

    passing = run(tmp_path, INSULATION, insulation=BENCH / "insulation.csv")
    failed = run(tmp_path, INSULATION, insulation=failing)

    assert passing.verdict is Verdict.PASS, passing.reason
    assert failed.verdict is Verdict.FAIL
    # 1.2 MΩ would pass the circuits' 0.5 MΩ: only the luminaire limit catches it
    assert "resistance (part = luminaire) [luminaire live-to-body]: 1.2 MΩ is below 2 MΩ" in (
        failed.reason
    )


def test_where_without_a_matching_row_is_an_error_listing_the_values(tmp_path: Path) -> None:
    check = INSULATION.replace("{part: luminaire}", "{part: lamp}")

    outcome = run(tmp_path, check, insulation=BENCH / "insulation.csv")

    assert outcome.verdict is Verdict.ERROR
    assert "no row has part = 'lamp'; its values are: circuit, luminaire" in outcome.reason


UNBALANCE = (
    "{kind: record, record: pq, judge: ["
    '{derive: voltage_unbalance, from: [U12, U23, U31], aggregate: p95, limit: "<= 2 %"}, '
    '{derive: voltage_unbalance, from: [U12, U23, U31], aggregate: max, limit: "<= 4 %"}]}'
)


def test_unbalance_is_derived_from_the_line_to_line_voltages(tmp_path: Path) -> None:
    outcome = run(tmp_path, UNBALANCE, pq=BENCH / "power-quality.csv")

    assert outcome.verdict is Verdict.PASS, outcome.reason
    p95, largest = outcome.measurements
    assert (p95.name, p95.unit) == ("voltage_unbalance p95", "%")
    assert 0 < p95.value <= largest.value < 2  # type: ignore[operator]  # floats


def test_one_unbalanced_interval_fails_the_maximum_only(tmp_path: Path) -> None:
    # 400 / 380 / 360 V: u2 ≈ 6.1 %, above 4 %; one row of 144 leaves the 95 % value alone
    record = variant(
        tmp_path,
        BENCH / "power-quality.csv",
        "2026-11-18 12:00,",
        "2026-11-18 12:00,400.0,380.0,360.0,",
        name="pq.csv",
    )
    text = record.read_text(encoding="utf-8")
    # drop the row's original three voltages, now after the inserted ones
    text = re.sub(r"(2026-11-18 12:00,400.0,380.0,360.0,)[\d.]+,[\d.]+,[\d.]+,", r"\1", text)
    record.write_text(text, encoding="utf-8")

    outcome = run(tmp_path, UNBALANCE, pq=record)

    assert outcome.verdict is Verdict.FAIL
    p95, largest = outcome.measurements
    assert (p95.verdict, largest.verdict) == (Verdict.PASS, Verdict.FAIL)
    assert largest.name == "voltage_unbalance max [2026-11-18 12:00]"
    assert largest.value == pytest.approx(6.09, abs=0.01)


# -- the shipped fixtures pass, one failing variant per kind -----------------------------------

PWR_002 = (
    "{kind: record, record: pq, "
    'judge: [{columns: [U12, U23, U31], aggregate: each, limit: "== 380 V ± 7 %"}]}'
)
PWR_005 = (
    "{kind: record, record: pq, judge: ["
    '{column: THDu, aggregate: p95, limit: "<= 5 %"}, '
    '{columns: [H3, H5, H7], aggregate: p95, limit: "<= 4 %"}, '
    '{columns: [H2, H4, H6], aggregate: p95, limit: "<= 2 %"}]}'
)
RCD = (
    "{kind: record, record: rcd, judge: ["
    '{column: rated residual current, aggregate: each, limit: "<= 30 mA"}, '
    '{column: trip time, aggregate: each, limit: "<= 0.1 s"}]}'
)
GALVANIZING = (
    "{kind: record, record: coat, judge: ["
    '{column: local thickness, aggregate: each, limit: ">= 55 µm"}, '
    '{column: local thickness, aggregate: mean, limit: ">= 70 µm"}]}'
)
CASES = {
    "earth": (EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'), "earth-resistance.csv"),
    "insulation": (INSULATION, "insulation.csv"),
    "rcd": (RCD, "rcd.csv"),
    "pq": (PWR_002, "power-quality.csv"),
    "coat": (GALVANIZING, "galvanizing.csv"),
}


@pytest.mark.parametrize("check", [PWR_002, PWR_005, UNBALANCE])
def test_the_power_quality_records_pass(tmp_path: Path, check: str) -> None:
    for folder, name in (
        (BENCH, "power-quality.csv"),
        (FIXTURES, "kunming-main-road-power-quality.csv"),
    ):
        outcome = run(tmp_path, check, pq=folder / name)
        assert outcome.verdict is Verdict.PASS, outcome.reason


def test_one_day_of_ten_minute_values_is_144_rows() -> None:
    for path in (BENCH / "power-quality.csv", FIXTURES / "kunming-main-road-power-quality.csv"):
        assert len(read_record(path).rows) == 144


def test_every_record_of_the_kunming_site_passes(tmp_path: Path) -> None:
    site = load_site(KUNMING)
    for pole in site.targets:
        records = pole.records
        for record, (check, _) in CASES.items():
            name = {
                "earth": "earth_resistance",
                "insulation": "insulation_resistance",
                "rcd": "rcd_test",
                "pq": "power_quality",
                "coat": "galvanizing",
            }[record]
            outcome = run_with(tmp_path, check, {record: records[name]})
            assert outcome.verdict is Verdict.PASS, (pole.id, outcome.reason)


@pytest.mark.parametrize(
    ("record", "old", "new", "named"),
    [
        (
            "earth",
            "distribution box PE (bonded),1.95",
            "distribution box PE (bonded),4.6",
            "resistance [distribution box PE (bonded)]: 4.6 Ω is above 4 Ω (line 16)",
        ),
        (
            "insulation",
            "camera/5G feed L2-PE,circuit,205",
            "camera/5G feed L2-PE,circuit,0.3",
            "resistance (part = circuit) [camera/5G feed L2-PE]: 0.3 MΩ is below 0.5 MΩ",
        ),
        (
            "rcd",
            "LED screen,AC,30,30,25.5",
            "LED screen,AC,30,30,145.0",
            "trip time [LED screen]: 0.145 s is above 0.1 s",
        ),
        (
            "rcd",
            "5G small cell,A,30,30,",
            "5G small cell,A,100,100,",
            "rated residual current [5G small cell]: 100 mA is above 30 mA",
        ),
        (
            "pq",
            "2026-11-18 03:00,",
            "2026-11-18 03:00,409.2,",
            "U12 [2026-11-18 03:00]: 409.2 V is above 406.6 V",
        ),
        (
            "coat",
            "A05 shaft,3.5,81.5",
            "A05 shaft,3.5,48.0",
            "local thickness [A05 shaft]: 48 µm is below 55 µm",
        ),
    ],
)
def test_a_failing_variant_of_each_record_fails_naming_the_row(
    tmp_path: Path, record: str, old: str, new: str, named: str
) -> None:
    check, name = CASES[record]
    path = variant(tmp_path, BENCH / name, old, new)
    if record == "pq":  # the inserted voltage replaces the row's own U12
        text = re.sub(r"(2026-11-18 03:00,409.2,)[\d.]+,", r"\1", path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8")

    outcome = run_with(tmp_path, check, {record: path})

    assert outcome.verdict is Verdict.FAIL
    assert named in outcome.reason


def test_harmonics_fail_at_95_percent_when_one_eighth_of_the_day_is_high(tmp_path: Path) -> None:
    path = tmp_path / "pq.csv"
    lines = (BENCH / "power-quality.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("time,"))
    for i in range(header + 1, header + 19):  # 18 of 144 rows: more than the 7 discarded
        cells = lines[i].split(",")
        cells[7] = "4.6"  # H4 in %, above the even-order 2 %
        lines[i] = ",".join(cells)
    path.write_text("".join(lines), encoding="utf-8")

    outcome = run(tmp_path, PWR_005, pq=path)

    assert outcome.verdict is Verdict.FAIL
    assert "H4 p95: 4.6 % is above 2 %" in outcome.reason


def test_galvanizing_mean_can_fail_while_every_area_passes(tmp_path: Path) -> None:
    record = small(tmp_path, "reference area,local thickness (µm)\nA1,60\nA2,62\nA3,66\n")

    outcome = run(tmp_path, GALVANIZING, coat=record)

    assert outcome.verdict is Verdict.FAIL
    assert [m.verdict for m in outcome.measurements] == [Verdict.PASS] * 3 + [Verdict.FAIL]
    assert "local thickness mean: 62.67 µm is below 70 µm" in outcome.reason


# -- errors at run time: FILE:LINE and the fix -------------------------------------------------


def test_a_target_without_the_record_is_an_error_naming_the_key(tmp_path: Path) -> None:
    outcome = run(tmp_path, EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'))

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        "cannot be decided: target P001 has no record 'earth'; add 'records: {earth: FILE}' "
        "to it at site.yaml:4: $.targets[0]"
    )


def test_an_unknown_column_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    record = small(tmp_path, "# comment\npoint,Resistance (ohm),method\nE1,1.2,3-pole\n")

    outcome = run(tmp_path, EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'), earth=record)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        f"cannot be decided: {record}:2: no column 'resistance'; did you mean 'Resistance'? "
        "the columns are: point, Resistance, method"
    )


def test_a_unit_the_limit_cannot_compare_is_an_error(tmp_path: Path) -> None:
    record = small(tmp_path, "point,resistance (V)\nE1,1.2\n")

    outcome = run(tmp_path, EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'), earth=record)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        f"cannot be decided: {record}:1: 'resistance' is in V, which cannot be compared with "
        "the limit '<= 4 ohm' (4 Ω); record it in a unit like Ω, or fix the requirement"
    )


def test_a_cell_that_is_no_number_is_an_error_naming_its_line(tmp_path: Path) -> None:
    record = small(tmp_path, "point,resistance (ohm)\nE1,1.2\nE2,>999\nE3,\n")

    outcome = run(tmp_path, EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'), earth=record)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.reason == (
        f"cannot be decided: {record}:3: column 'resistance' is '>999', not a number; write "
        "the reading as a plain number in Ω, like '1.5'"
    )


def test_an_empty_cell_is_an_error_too(tmp_path: Path) -> None:
    record = small(tmp_path, "point,resistance (ohm)\nE1,\n")

    outcome = run(tmp_path, EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'), earth=record)

    assert outcome.verdict is Verdict.ERROR
    assert f"{record}:2: column 'resistance' is empty, not a number" in outcome.reason


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("# instrument: X\n\n", ":1: no header in the file; the first line that is not a comment"),
        ("point,resistance (ohm)\n# nothing measured\n", ":1: the record has no readings after"),
        ("point,resistance (wibbles)\nE1,1\n", ":1: column 'resistance' has unit 'wibbles'"),
        (
            "point,resistance (ohm\nE1,1\n",
            ":1: column 2 header 'resistance (ohm' is not 'name (unit)'",
        ),
        ("point,point\nE1,E2\n", ":1: column name 'point' appears twice"),
        ("point,resistance (ohm)\nE1,1,2\n", ":2: row has 3 cells, the header has 2 columns"),
    ],
)
def test_a_record_that_is_not_one_is_an_error_at_its_line(
    tmp_path: Path, body: str, message: str
) -> None:
    record = small(tmp_path, body)

    outcome = run(tmp_path, EARTH.replace("CHECKLIMIT", '"<= 4 ohm"'), earth=record)

    assert outcome.verdict is Verdict.ERROR
    assert f"cannot be decided: {record}{message}" in outcome.reason


def test_a_text_column_cannot_meet_a_numeric_limit(tmp_path: Path) -> None:
    check = (
        "{kind: record, record: earth, "
        'judge: [{column: point, aggregate: each, limit: "<= 4 ohm"}]}'
    )

    outcome = run(tmp_path, check, earth=BENCH / "earth-resistance.csv")

    assert outcome.verdict is Verdict.ERROR
    assert "'point' is a text column and cannot meet '<= 4 ohm'" in outcome.reason


def test_a_text_column_can_be_judged_against_a_list(tmp_path: Path) -> None:
    check = (
        '{kind: record, record: rcd, judge: [{column: type, aggregate: each, limit: "in [A, B]"}]}'
    )

    outcome = run(tmp_path, check, rcd=BENCH / "rcd.csv")

    assert outcome.verdict is Verdict.FAIL
    assert "type [LED screen]: 'AC' is not one of [A, B]" in outcome.reason


def test_read_record_keeps_the_metadata() -> None:
    record = read_record(BENCH / "rcd.csv")

    assert record.metadata["instrument"] == "Fluke 1664 FC multifunction installation tester"
    assert record.metadata["calibrated"] == "2026-01-20"
    assert [c.name for c in record.columns] == [
        "circuit",
        "type",
        "rated residual current",
        "test current",
        "trip time",
    ]


# -- the lighting grid ------------------------------------------------------------------------

GRID = "{kind: record, record: grid, road_class: $road_class, grade: $grade QUANTITIES}"


@pytest.mark.parametrize(
    ("quantities", "names"),
    [("", ["Eav", "UE"]), (", quantities: [Eav]", ["Eav"]), (", quantities: [UE]", ["UE"])],
)
def test_a_grid_check_judges_the_quantities_it_names(
    tmp_path: Path, quantities: str, names: list[str]
) -> None:
    outcome = run(
        tmp_path, GRID.replace(" QUANTITIES", quantities), grid=BENCH / "lighting-grid.csv"
    )

    assert outcome.verdict is Verdict.PASS
    assert [m.name for m in outcome.measurements] == names


def test_uniformity_alone_does_not_fail_on_a_dim_grid(tmp_path: Path) -> None:
    # every reading quartered: Eav about 16 lx fails class II high (20 lx), UE is unchanged
    lines = (BENCH / "lighting-grid.csv").read_text(encoding="utf-8").splitlines()
    quartered = [
        line
        if line.startswith(("#", "y"))
        else ",".join([line.split(",")[0], *(f"{float(v) / 4:.2f}" for v in line.split(",")[1:])])
        for line in lines
    ]
    grid = small(tmp_path, "\n".join(quartered) + "\n", name="grid.csv")

    ue = run(tmp_path, GRID.replace(" QUANTITIES", ", quantities: [UE]"), grid=grid)
    eav = run(tmp_path, GRID.replace(" QUANTITIES", ", quantities: [Eav]"), grid=grid)

    assert (ue.verdict, eav.verdict) == (Verdict.PASS, Verdict.FAIL)


# -- the profile's mistakes, found when it loads ----------------------------------------------


def test_an_unknown_aggregate_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '{kind: record, record: e, judge: [{column: r, aggregate: average, limit: "<= 4 ohm"}]}',
    )

    assert found == [
        '$.requirements[0].check.judge[0].aggregate: "average" is not allowed; '
        'use one of: "each", "min", "max", "mean", "p95", "share"'
    ]


def test_a_bad_limit_is_refused_at_its_place(tmp_path: Path) -> None:
    found = problems(
        tmp_path, '{kind: record, record: e, judge: [{column: r, aggregate: each, limit: "4 ohm"}]}'
    )

    assert found == [
        "$.requirements[0].check.judge[0].limit: '4 ohm' is not a limit; start with >=, >, <=, "
        "<, == or 'in [..]', or give a range 'LOW .. HIGH'"
    ]


def test_an_unknown_parameter_in_a_limit_is_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '{kind: record, record: e, judge: [{column: r, aggregate: each, limit: "<= $earth"}]}',
    )

    assert found == [
        "$.requirements[0].check.judge[0].limit: unknown parameter $earth; declare it under "
        "'parameters' (known: $earth_max, $road_class, $grade)"
    ]


def test_a_derived_limit_of_the_wrong_dimension_is_refused(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "{kind: record, record: pq, judge: [{derive: voltage_unbalance, from: [U12, U23, U31], "
        'aggregate: p95, limit: "<= 2 V"}]}',
    )

    assert len(found) == 1
    assert found[0].startswith(
        "$.requirements[0].check.judge[0].limit: '2 V' in '<= 2 V' has the wrong dimension "
        "for voltage_unbalance"
    )


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            "{kind: record, record: pq, judge: [{derive: voltage_unbalance, from: [U12, U23], "
            'aggregate: p95, limit: "<= 2 %"}]}',
            "$.requirements[0].check.judge[0].from: voltage_unbalance takes 3 columns "
            "(U12, U23, U31), not 2; list them in that order",
        ),
        (
            "{kind: record, record: pq, judge: [{column: a, derive: voltage_unbalance, "
            'from: [U12, U23, U31], aggregate: p95, limit: "<= 2 %"}]}',
            "$.requirements[0].check.judge[0].derive: give one of 'column', 'columns' or "
            "'derive', not column and derive",
        ),
        (
            "{kind: record, record: pq, "
            'judge: [{column: a, from: [b], aggregate: p95, limit: "<= 2 %"}]}',
            "$.requirements[0].check.judge[0].from: 'from' goes with 'derive'; remove it or add "
            "'derive: NAME'",
        ),
        (
            '{kind: record, record: r, judge: [{column: t, aggregate: max, limit: "in [A, B]"}]}',
            "$.requirements[0].check.judge[0].aggregate: a list limit ('in [A, B]') judges each "
            "row's text; use 'aggregate: each'",
        ),
        (
            "{kind: record, record: g, road_class: II, grade: high, "
            'judge: [{column: r, aggregate: each, limit: "<= 4 ohm"}]}',
            "$.requirements[0].check.road_class: 'road_class' belongs to a lighting-grid check, "
            "and this one has 'judge'; judge instrument columns or a lighting grid, in two "
            "requirements",
        ),
    ],
)
def test_a_judgement_that_cannot_work_is_refused(tmp_path: Path, check: str, message: str) -> None:
    assert problems(tmp_path, check) == [message]


def test_a_record_check_without_judge_or_grid_says_both_ways(tmp_path: Path) -> None:
    (found,) = problems(tmp_path, "{kind: record, record: e}")

    assert found.startswith("$.requirements[0].check: ")
    assert "is required here; add it; " in found


# -- share of 10-min values over the period (GB/T 12325; docs/engineering/power.md) -----------

SHARE_PARAMETERS: Mapping[str, ParamValue] = {
    **PARAMETERS,
    "share_min": Quantity(95.0, "percent"),
    "period": Quantity(1.0, "day"),
}
SHARE_PROFILE_PARAMETERS = (
    "  share_min: {type: quantity, unit: percent, default: 95 %, title: {en: S, zh: S}}\n"
    "  period: {type: quantity, unit: s, default: 1 day, title: {en: P, zh: P}}\n"
)
PWR_002_SHARE = (
    "{kind: record, record: pq, judge: [{columns: [U12, U23, U31], aggregate: share, "
    'limit: "== 380 V ± 7 %", share: ">= $share_min", period: $period}]}'
)
PWR_001_SHARE = (
    "{kind: record, record: pq, judge: [{columns: [U1N, U2N, U3N], aggregate: share, "
    'limit: "198 V .. 235.4 V", share: ">= $share_min", period: $period}], '
    "otherwise: {kind: measure, device: meter, point: supply_voltage, "
    'limit: "198 V .. 235.4 V", window: 1 s, samples: 2}}'
)
WORKED = FIXTURES / "worked-example-single-phase-voltage.csv"


def share_run(tmp_path: Path, check: str, **records: Path) -> Outcome:
    profile = PROFILE.replace("requirements:\n", SHARE_PROFILE_PARAMETERS + "requirements:\n")
    path = tmp_path / "profile.yaml"
    path.write_text(profile.replace("CHECK", check, 1), encoding="utf-8")
    [requirement] = load_profile(path).requirements

    def no_device(role: str) -> object:
        raise AssertionError(f"a record check opened device {role}")

    ctx = CheckContext(
        target=target(**records),
        parameters=SHARE_PARAMETERS,
        device=no_device,  # type: ignore[arg-type]  # never called: the record decides
    )
    return requirement.check.run(ctx)


def with_u12(tmp_path: Path, values: Mapping[str, str]) -> Path:
    """The bench record with U12 of the rows stamped `values`' keys replaced."""
    lines = (BENCH / "power-quality.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    for i, line in enumerate(lines):
        stamp = line.split(",", 1)[0]
        if stamp in values:
            cells = line.split(",")
            cells[1] = values[stamp]
            lines[i] = ",".join(cells)
    path = tmp_path / "pq.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def keep_lines(tmp_path: Path, source: Path, keep: Callable[[int], bool]) -> Path:
    """`source` with the data rows numbered 1.. kept where `keep(n)` holds."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("time,"))
    rows = [line for n, line in enumerate(lines[header + 1 :], start=1) if keep(n)]
    path = tmp_path / "cut.csv"
    path.write_text("".join(lines[: header + 1] + rows), encoding="utf-8")
    return path


def test_three_values_out_of_a_day_fail_every_value_but_pass_the_95_percent_share(
    tmp_path: Path,
) -> None:
    record = with_u12(
        tmp_path,
        {"2026-11-18 03:00": "409.2", "2026-11-18 03:10": "408.0", "2026-11-18 19:00": "350.1"},
    )

    every_value = run(tmp_path, PWR_002, pq=record)
    share = share_run(tmp_path, PWR_002_SHARE, pq=record)

    assert every_value.verdict is Verdict.FAIL  # the old rule: any value outside fails
    assert share.verdict is Verdict.PASS, share.reason
    u12 = share.measurements[0]
    assert u12.name == "U12 share within 353.4 V .. 406.6 V"
    assert u12.value == pytest.approx(100 * 141 / 144)  # 97.92 %
    assert "141 of 144 10-min values within 353.4 V .. 406.6 V, 3 outside" in share.reason
    assert "lowest 350.1 V at 2026-11-18 19:00" in share.reason
    assert "highest 409.2 V at 2026-11-18 03:00" in share.reason
    assert "2026-11-18 00:00 to 2026-11-19 00:00, 144 of the 144 10-min values of 1 day" in (
        share.reason
    )


def test_eight_values_out_of_a_day_fail_the_share(tmp_path: Path) -> None:
    stamps = [f"2026-11-18 0{h}:{m}0" for h in (3, 4) for m in range(4)]
    record = with_u12(tmp_path, dict.fromkeys(stamps, "410.0"))

    outcome = share_run(tmp_path, PWR_002_SHARE, pq=record)

    assert outcome.verdict is Verdict.FAIL
    assert outcome.measurements[0].value == pytest.approx(100 * 136 / 144)  # 94.44 % < 95 %
    assert [m.verdict for m in outcome.measurements[1:]] == [Verdict.PASS, Verdict.PASS]


def test_the_worked_example_day_passes_sp_pwr_001_on_its_record(tmp_path: Path) -> None:
    outcome = share_run(tmp_path, PWR_001_SHARE, pq=WORKED)

    assert outcome.verdict is Verdict.PASS, outcome.reason
    [u1n] = outcome.measurements  # U2N and U3N are not in a single-phase record
    assert u1n.value == pytest.approx(96.527_777, abs=1e-5)
    assert "139 of 144 10-min values within 198 V .. 235.4 V, 5 outside" in outcome.reason
    assert "lowest 196.2 V at 2026-11-20 19:30 (line 128)" in outcome.reason
    assert "highest 227 V at 2026-11-20 03:30 (line 32)" in outcome.reason
    # the old rule, every value in the band, fails the same day
    every = (
        "{kind: record, record: pq, "
        'judge: [{column: U1N, aggregate: each, limit: "198 V .. 235.4 V"}]}'
    )
    assert run(tmp_path, every, pq=WORKED).verdict is Verdict.FAIL


def test_a_record_shorter_than_the_period_is_an_error_never_a_pass(tmp_path: Path) -> None:
    record = keep_lines(tmp_path, WORKED, lambda n: n <= 109)  # 00:10 .. 18:10, all within

    outcome = share_run(tmp_path, PWR_001_SHARE, pq=record)

    assert outcome.verdict is Verdict.ERROR
    assert outcome.measurements[0].value == 100.0  # every value it has is within
    assert (
        "cannot be decided, the record covers 109 of the 144 10-min values of 1 day (the share "
        "over the period would be 75.69 % to 100 % against >= 95 %); record at least 1 day "
        "without gaps"
    ) in outcome.reason


def test_a_day_with_a_gap_is_an_error_naming_the_gap(tmp_path: Path) -> None:
    record = keep_lines(tmp_path, WORKED, lambda n: not 50 <= n < 56)

    outcome = share_run(tmp_path, PWR_001_SHARE, pq=record)

    assert outcome.verdict is Verdict.ERROR
    assert "138 of the 144 10-min values of 1 day, 6 intervals missing in 1 gap)" in (
        outcome.reason
    )
    # docs/engineering/power.md: 133 within, 92.36 % to 96.53 % over the day
    assert "would be 92.36 % to 96.53 % against >= 95 %" in outcome.reason


def test_a_short_record_fails_when_no_missing_value_could_save_it(tmp_path: Path) -> None:
    # 100 values, 13 of them below the band: at most (87 + 44)/144 = 90.97 % over the day
    stamps = [f"2026-11-18 0{h}:{m}0" for h in (1, 2) for m in range(6)] + ["2026-11-18 03:00"]
    record = keep_lines(
        tmp_path, with_u12(tmp_path, dict.fromkeys(stamps, "350.0")), lambda n: n <= 100
    )

    outcome = share_run(
        tmp_path, PWR_002_SHARE.replace("columns: [U12, U23, U31]", "column: U12"), pq=record
    )

    assert outcome.verdict is Verdict.FAIL
    assert outcome.measurements[0].value == pytest.approx(100 * 131 / 144)
    assert "at most 90.97 % over 1 day even if the 44 missing values were within" in (
        outcome.reason
    )


def test_values_that_are_not_ten_minutes_apart_are_an_error(tmp_path: Path) -> None:
    record = small(
        tmp_path,
        "time,U1N (V)\n2026-11-20 00:01,220\n2026-11-20 00:02,221\n2026-11-20 00:03,222\n",
    )

    outcome = share_run(tmp_path, PWR_001_SHARE, pq=record)

    assert outcome.verdict is Verdict.ERROR
    assert "not a whole number of 0:10:00 intervals; export one aggregated value" in (
        outcome.reason
    )


def test_a_time_that_is_no_date_is_an_error_at_its_line(tmp_path: Path) -> None:
    record = small(tmp_path, "time,U1N (V)\n2026-11-20 00:10,220\nnoon,221\n")

    outcome = share_run(tmp_path, PWR_001_SHARE, pq=record)

    assert outcome.verdict is Verdict.ERROR
    assert f"{record}:3: time 'noon' is not a date and time" in outcome.reason


def test_without_the_record_or_its_columns_the_fallback_decides(tmp_path: Path) -> None:
    # The target has no meter: the fallback cannot run, and says what to add.
    missing = share_run(tmp_path, PWR_001_SHARE)
    three_phase = share_run(tmp_path, PWR_001_SHARE, pq=BENCH / "power-quality.csv")

    assert missing.verdict is Verdict.ERROR
    assert "target P001 has no record 'pq', and it declares no 'meter' device" in missing.reason
    assert three_phase.verdict is Verdict.ERROR
    assert (
        "record pq (power-quality.csv) has no column U1N, U2N, U3N, and it declares no 'meter'"
    ) in three_phase.reason


@pytest.mark.parametrize(
    ("judgement", "message"),
    [
        (
            '{column: U12, aggregate: share, limit: "<= 400 V", period: 1 day}',
            "'aggregate: share' needs 'share', like 'share: \">= 95 %\"'",
        ),
        (
            '{column: U12, aggregate: share, limit: "<= 400 V", share: ">= 95 %"}',
            "'aggregate: share' needs 'period', like 'period: 1 day'",
        ),
        (
            '{column: U12, aggregate: share, limit: "<= 400 V", share: ">= 95 V", period: 1 day}',
            "'>= 95 V' is no bound on a share; write it like '>= 95 %'",
        ),
        (
            '{column: U12, aggregate: share, limit: "<= 400 V", share: ">= 95 %", period: 3 m}',
            "'3 m' is no duration above zero; write one like '1 day'",
        ),
        (
            '{column: U12, aggregate: max, limit: "<= 400 V", period: 1 day}',
            "'period' goes with 'aggregate: share'; remove it or judge the share",
        ),
    ],
)
def test_a_share_judgement_that_cannot_work_is_refused(
    tmp_path: Path, judgement: str, message: str
) -> None:
    found = problems(tmp_path, f"{{kind: record, record: pq, judge: [{judgement}]}}")

    assert len(found) == 1
    assert message in found[0]
