"""Protocol probes under `--record` and `--replay`: the probes' raw bytes and response delays are
recorded, and replay reaches the same verdicts from them without a device."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.resources import data_dir
from ycsa_conform.transport.dlt645 import TIMING_ATTEMPTS, TIMING_SLACK

PROFILE = (data_dir("profiles") / "smart-pole.yaml").read_text(encoding="utf-8")
REF = "      - {source: practice, clause: null, confidence: I, association_clause: null}\n"
PROBES = {
    "SP-TEST-004": "device: lamp\n      probe: illegal_address",
    "SP-TEST-012": "device: lamp\n      probe: illegal_function",
    "SP-TEST-013": "device: lamp\n      probe: foreign_unit",
    "SP-TEST-014": "device: environment\n      probe: word_order",
    "SP-TEST-015": "device: environment\n      probe: foreign_unit",
    "SP-TEST-006": "device: meter\n      probe: response_time\n      limit: '20 ms .. 500 ms'",
}
SELECT = ["-k", "SP-TEST"]


def write_profile(pytester: pytest.Pytester) -> None:
    text = PROFILE.rstrip("\n") + "\n"
    for rid, check in PROBES.items():
        text += (
            f"\n  - id: {rid}\n    title: {{en: probe, zh: 探测}}\n    area: data-interface\n"
            f"    level: mandatory\n    refs:\n{REF}    check:\n      kind: protocol\n"
            f"      {check}\n"
        )
    (pytester.path / "probes.yaml").write_text(text, encoding="utf-8")


def verdicts(pytester: pytest.Pytester) -> dict[str, str]:
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    return {r["requirement"]: r["verdict"] for r in report["results"]}


def lines(directory: Path) -> list[dict[str, Any]]:
    text = (directory / "traffic.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_probes_replay_to_the_recorded_verdicts(pytester: pytest.Pytester) -> None:
    write_profile(pytester)
    fault = ["--bench-fault", "environment-word-order"]
    pytester.runpytest("--profile", "probes.yaml", "--record", "rec", *SELECT, *fault)
    first = verdicts(pytester)
    assert first == {
        "SP-TEST-004": "pass",
        "SP-TEST-012": "pass",
        "SP-TEST-013": "pass",
        "SP-TEST-014": "fail",
        "SP-TEST-015": "not_applicable",
        "SP-TEST-006": "pass",
    }

    replayed = pytester.runpytest("--profile", "probes.yaml", "--replay", "rec", *SELECT)

    assert verdicts(pytester) == first
    replayed.stdout.fnmatch_lines(["*replayed, no device contacted*"])


def test_a_recording_holds_the_probes_bytes_and_the_meters_delays(
    pytester: pytest.Pytester,
) -> None:
    write_profile(pytester)
    pytester.runpytest("--profile", "probes.yaml", "--record", "rec", *SELECT)

    recorded = lines(pytester.path / "rec")
    probes = [line for line in recorded if line.get("request", {}).get("op") == "probe"]
    assert {line["request"]["function"] for line in probes} == {4, 25}
    answers = [line["response"]["raw"] for line in recorded if "raw" in line.get("response", {})]
    assert {"tx": "0119c1ea", "rx": "0199018b90"} in answers  # function 25 and exception 01
    timed = [line for line in recorded if line.get("request", {}).get("probe") == "response_time"]
    # Three timed reads; one the busy host sent late is taken again (at most three tries each),
    # and every try is recorded with the host's lateness, so a replay takes the same ones.
    assert 3 <= len(timed) <= 3 * TIMING_ATTEMPTS
    answers_timed = [line["response"] for line in recorded if "delay" in line.get("response", {})]
    assert len(answers_timed) == len(timed)
    on_time = [r["delay"] for r in answers_timed if r["host"] <= TIMING_SLACK]
    assert on_time  # the kept tries
    assert all(0.02 <= d <= 0.5 for d in on_time)
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text())
    traffic = {row["device"]: row for row in report["traffic"]["devices"]}
    assert traffic["meter"]["probes"] == len(timed)
    # Probes are all this run sent (it selected no point reads), and are counted apart.
    for row in traffic.values():
        assert row["point_reads"] == 0
        assert row["transactions"] == row["probes"] > 0


def test_a_recording_without_response_delays_says_to_record_again(
    pytester: pytest.Pytester,
) -> None:
    write_profile(pytester)
    pytester.runpytest("--profile", "probes.yaml", "--record", "rec", "-k", "SP-TEST-006")
    path = pytester.path / "rec" / "traffic.jsonl"
    old = []
    for line in lines(pytester.path / "rec"):
        line.get("response", {}).pop("delay", None)  # as recorded before delays were kept
        old.append(json.dumps(line))
    path.write_text("\n".join(old) + "\n", encoding="utf-8")

    result = pytester.runpytest("--profile", "probes.yaml", "--replay", "rec", "-k", "SP-TEST-006")

    assert verdicts(pytester) == {"SP-TEST-006": "error"}
    result.stdout.fnmatch_lines(["*has no 'frame' hex and 'delay' time*record it again*"])
