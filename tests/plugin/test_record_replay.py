"""`--record DIR` on the bench, then `--replay DIR` with no bench and no devices."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.profile.loader import load_profile

# Every requirement of the built-in profile is one item per bench pole.
N = len(load_profile("smart-pole").requirements)


def _report(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    return data


def _verdicts(pytester: pytest.Pytester) -> list[tuple[str, str, str]]:
    return [(r["requirement"], r["target"], r["verdict"]) for r in _report(pytester)["results"]]


def _lines(directory: Path) -> list[dict[str, Any]]:
    text = (directory / "traffic.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


# clock-drift is judged against the host clock at the moment of reading, low-power-factor on a
# Modbus RTU value, meter-timeout is silence on DL/T 645: replay must reproduce all three.
FAULTS = ["clock-drift", "low-power-factor", "meter-timeout"]


def test_replay_reaches_the_recorded_verdicts_without_any_device(
    pytester: pytest.Pytester,
) -> None:
    faults = [arg for fault in FAULTS for arg in ("--bench-fault", fault)]
    recorded = pytester.runpytest("--profile", "smart-pole", "--record", "rec", *faults)
    first = _verdicts(pytester)
    assert {v for _, _, v in first} == {"pass", "fail", "error"}
    recorded.stdout.fnmatch_lines(["*recording device traffic to rec/traffic.jsonl*"])

    replayed = pytester.runpytest("--profile", "smart-pole", "--replay", "rec")

    assert _verdicts(pytester) == first
    assert replayed.ret == recorded.ret == pytest.ExitCode.TESTS_FAILED
    replayed.stdout.fnmatch_lines(
        [
            "*replayed from rec, no devices contacted*",
            "*replayed, no device contacted*",
        ]
    )
    replayed.stdout.no_fnmatch_line("*'modbus_tcp'*")  # no bench endpoints: none started
    report = _report(pytester)
    assert report["traffic"]["replayed"] == "rec"
    assert report["site"]["kind"] == "bench"


def test_a_recording_holds_raw_bytes_topics_and_decoded_values(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--profile", "smart-pole", "--record", "rec")

    lines = _lines(pytester.path / "rec")
    schemes = {line["scheme"] for line in lines}
    assert schemes == {"modbus-tcp", "modbus-rtu", "dlt645", "mqtt"}
    rtu = next(
        x for x in lines if x["scheme"] == "modbus-rtu" and "supply_voltage" in x.get("decoded", {})
    )
    # An RTU answer of the input registers: unit 1, function 04, then the byte count.
    assert rtu["response"]["raw"]["rx"].startswith("0104")
    assert rtu["decoded"]["supply_voltage"].endswith(" V")
    meter = next(x for x in lines if x["scheme"] == "dlt645" and x["direction"] == "rx")
    assert meter["response"]["frame"].startswith("FE FE FE FE 68")
    mqtt = next(x for x in lines if x["scheme"] == "mqtt" and x["direction"] == "rx")
    assert mqtt["response"]["messages"][0]["topic"].startswith("ycsa/bench/P001/")
    assert all({"seq", "time", "target", "device", "direction"} <= set(x) for x in lines)
    manifest = json.loads((pytester.path / "rec" / "manifest.json").read_text())
    assert manifest["site"]["id"] == "bench-smart-pole"
    assert _report(pytester)["traffic"]["recorded"] == "rec"


def test_replay_of_a_subset_is_answered_from_covering_reads(pytester: pytest.Pytester) -> None:
    pytester.runpytest("--profile", "smart-pole", "--record", "rec")

    result = pytester.runpytest("--profile", "smart-pole", "--replay", "rec", "-k", "SP-PWR-008")

    result.assert_outcomes(passed=1, deselected=N - 1)


def test_a_request_the_recording_cannot_answer_is_an_error_saying_so(
    pytester: pytest.Pytester,
) -> None:
    pytester.runpytest("--profile", "smart-pole", "--record", "rec", "-k", "SP-PWR-008")

    result = pytester.runpytest("--profile", "smart-pole", "--replay", "rec", "-k", "SP-PWR-001")

    result.assert_outcomes(errors=1, deselected=N - 1)
    result.stdout.fnmatch_lines(
        [
            "*SP-PWR-001 cannot be decided: supply_voltage: the recording rec has no answer for "
            "meter of P001: op=read, di=02010100; record this run again with --record*"
        ]
    )


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["--replay", "nowhere"], "--replay nowhere: no such directory"),
        ("empty", ["--replay", "empty"], "manifest.json is missing; this is not a --record"),
        (None, ["--record", "a", "--replay", "b"], "--record and --replay exclude each other"),
        ("rec", ["--replay", "rec", "--bench-fault", "pole-tilt"], "--replay runs without it"),
    ],
)
def test_bad_replay_options_stop_the_run_with_one_line(
    pytester: pytest.Pytester, setup: str | None, args: list[str], message: str
) -> None:
    if setup == "empty":
        (pytester.path / "empty").mkdir()
    elif setup == "rec":
        pytester.runpytest("--profile", "smart-pole", "--record", "rec", "-k", "SP-LOAD-001")

    result = pytester.runpytest("--profile", "smart-pole", *args)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    result.stderr.no_fnmatch_line("*Traceback*")


def test_allure_attaches_each_requirements_traffic(pytester: pytest.Pytester) -> None:
    pytester.runpytest(
        "--profile",
        "smart-pole",
        "--record",
        "rec",
        "--alluredir",
        "allure",
        "-k",
        "LUM-011 or PWR-008",
    )

    attachments = {}
    for path in (pytester.path / "allure").glob("*-result.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        for attachment in result.get("attachments", []):
            if attachment["name"] == "device traffic":
                text = (pytester.path / "allure" / attachment["source"]).read_text("utf-8")
                attachments[result["labels"] and result["name"]] = text
    assert len(attachments) == 2
    for text in attachments.values():
        lines = [json.loads(line) for line in text.splitlines()]
        # Both read the lamp: the first polled it, the second cites that poll.
        assert any(x["device"] == "lamp" and x["direction"] == "rx" for x in lines)


def test_a_fleet_recording_replays_from_its_recorded_site(pytester: pytest.Pytester) -> None:
    # The fleet's site file lived in the bench's temporary folder, gone by now; its device maps
    # are absolute paths, so the recorded text is enough.
    pytester.runpytest(
        "--profile", "smart-pole", "--bench-poles", "2", "--record", "rec", "-k", "LOAD-012"
    )

    result = pytester.runpytest("--profile", "smart-pole", "--replay", "rec", "-k", "LOAD-012")

    n = len(load_profile("smart-pole").requirements)
    result.assert_outcomes(passed=2, deselected=2 * n - 2)
