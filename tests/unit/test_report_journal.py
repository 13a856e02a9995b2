"""The journal: results on disk as they arrive, readable after a crash."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ycsa_conform.errors import InputError
from ycsa_conform.report.journal import Journal, read_journal, run_as_dict, run_from_dict
from ycsa_conform.result import (
    DeviceInfo,
    Incident,
    MapInfo,
    Measurement,
    ProfileInfo,
    ResolvedParameter,
    Result,
    RunInfo,
    Source,
    Verdict,
)

RUN = RunInfo(
    tool_version="0.1.0",
    profiles=(
        ProfileInfo(
            id="smart-pole",
            version="1.0.0",
            sha256="0" * 64,
            title={"en": "Smart lamp pole", "zh": "智慧灯杆"},
            path="profiles/smart-pole.yaml",
        ),
    ),
    site_id="bench",
    site_kind="bench",
    site_title="内置仿真台",
    started="2025-06-01T09:00:00+08:00",
    parameters={"road_class": "II"},
    bench_faults=("meter-timeout",),
    allow_actuation=True,
    resolved_parameters=(
        ResolvedParameter(
            profile="smart-pole",
            name="road_class",
            value="II",
            layer="--param",
            origin="--param road_class=II",
            targets=("P001",),
        ),
    ),
    devices=(
        DeviceInfo(
            target="P001",
            role="meter",
            scheme="dlt645",
            address="dlt645:///dev/ttyUSB0?baud=2400&address=202611250001",
            identity={"meter_address": "202611250001"},
            map=MapInfo(id="acme/meter", version="2", path="maps/meter.yaml", sha256="1" * 64),
        ),
    ),
)


def result(requirement: str, verdict: Verdict = Verdict.PASS) -> Result:
    return Result(
        requirement=requirement,
        profile="smart-pole",
        target="P001",
        area="power",
        level="mandatory",
        title={"en": "Supply voltage", "zh": "供电电压"},
        verdict=verdict,
        reason="229.9 V 在 ±7% 之内",
        measurements=(
            Measurement(
                name="supply_voltage",
                value=229.9,
                unit="V",
                limit="198 V .. 242 V",
                verdict=verdict,
                source=Source(device="meter", scheme="modbus-tcp", address="40001"),
            ),
        ),
        refs=({"source": "GB/T 12325-2008", "clause": "4.3", "confidence": "M"},),
        check="measure",
        duration=0.25,
        nodeid=f"smart-pole::{requirement}[P001]",
    )


def test_open_creates_parent_directories_and_writes_the_run_line_first(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "journal.jsonl"
    with Journal.open(path, RUN):
        pass
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["type"] == "run"
    assert first["site"] == {"id": "bench", "kind": "bench", "title": "内置仿真台"}
    assert first["profiles"][0]["sha256"] == "0" * 64


def test_results_round_trip_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    written = [result("SP-PWR-001"), result("SP-PWR-002", Verdict.FAIL)]
    with Journal.open(path, RUN) as journal:
        for r in written:
            journal.write(r)
    run, results = read_journal(path)
    assert results == written
    assert run_from_dict(run) == RUN


def test_each_result_is_on_disk_when_write_returns(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal.open(path, RUN)
    journal.write(result("SP-PWR-001"))
    # Read through another handle while the journal is still open.
    _, results = read_journal(path)
    assert [r.requirement for r in results] == ["SP-PWR-001"]
    journal.close()


def test_results_survive_the_process_dying_without_closing(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    run = json.dumps(run_as_dict(RUN))
    results = json.dumps([result("SP-PWR-001").as_dict(), result("SP-PWR-002").as_dict()])
    child = textwrap.dedent(
        f"""
        import json, os
        from pathlib import Path
        from ycsa_conform.report.journal import Journal, run_from_dict
        from ycsa_conform.result import Result
        journal = Journal.open(Path({str(path)!r}), run_from_dict(json.loads({run!r})))
        for data in json.loads({results!r}):
            journal.write(Result.from_dict(data))
        os._exit(9)  # no close, no flush of Python buffers, no atexit
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", child], env=env, check=False)
    assert done.returncode == 9
    assert [r.requirement for r in read_journal(path)[1]] == ["SP-PWR-001", "SP-PWR-002"]


def test_a_last_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN) as journal:
        journal.write(result("SP-PWR-001"))
        journal.write(result("SP-PWR-002"))
    whole = json.dumps({"type": "result", **result("SP-PWR-003").as_dict()})
    with path.open("a", encoding="utf-8") as file:
        file.write(whole[: len(whole) // 2])
    _, results = read_journal(path)
    assert [r.requirement for r in results] == ["SP-PWR-001", "SP-PWR-002"]


def test_a_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN) as journal:
        journal.write(result("SP-PWR-001"))
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n"), encoding="utf-8")
    _, results = read_journal(path)
    assert [r.requirement for r in results] == ["SP-PWR-001"]


def test_a_damaged_line_before_the_last_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN) as journal:
        journal.write(result("SP-PWR-001"))
        journal.write(result("SP-PWR-002"))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1][:40] + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InputError, match=r"journal\.jsonl:2: \$: not JSON") as info:
        read_journal(path)
    assert "edited or damaged" in str(info.value)


def test_a_result_line_missing_fields_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN) as journal:
        journal.write(result("SP-PWR-001"))
    with path.open("a", encoding="utf-8") as file:
        file.write('{"type": "result", "requirement": "SP-PWR-002"}\n')
    with pytest.raises(InputError, match=r"journal\.jsonl:3: \$: not a complete result"):
        read_journal(path)


@pytest.mark.parametrize("content", ["", '{"type": "run", "tool": {"na', '{"type": "result"}\n'])
def test_a_file_without_a_run_line_is_not_a_journal(tmp_path: Path, content: str) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=r"journal\.jsonl:1: \$\.type: the first line is not"):
        read_journal(path)


def test_open_replaces_an_old_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN) as journal:
        journal.write(result("SP-PWR-001"))
    with Journal.open(path, RUN):
        pass
    assert read_journal(path)[1] == []


def test_writing_to_a_closed_journal_says_how_to_fix_it(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "journal.jsonl", RUN) as journal:
        pass
    assert journal.closed
    with pytest.raises(ValueError, match=r"is closed; open a new one with Journal\.open"):
        journal.write(result("SP-PWR-001"))


def test_the_run_line_holds_parameters_layers_devices_and_maps(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal.open(path, RUN):
        pass
    run, _ = read_journal(path)
    assert run["resolved_parameters"][0]["layer"] == "--param"
    assert run["devices"][0]["map"]["sha256"] == "1" * 64
    assert run["allow_actuation"] is True
    assert run_from_dict(run) == RUN


def test_incidents_are_journalled_between_results_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    incident = Incident(stage="check", cause="KeyError: 'x'", where="smart-pole::SP-PWR-001[P001]")
    with Journal.open(path, RUN) as journal:
        journal.write(result("SP-PWR-001", Verdict.ERROR))
        journal.incident(incident)
        journal.write(result("SP-PWR-002"))
    run, results = read_journal(path)
    assert [r.requirement for r in results] == ["SP-PWR-001", "SP-PWR-002"]
    assert run["incidents"] == [incident.as_dict()]


def test_an_incident_is_one_line_whatever_the_exception_says() -> None:
    incident = Incident.from_exception("report.json", ValueError("first\n  second\n"))
    assert incident.cause == "ValueError: first second"
    assert Incident.from_exception("session", KeyboardInterrupt()).cause == "KeyboardInterrupt"
