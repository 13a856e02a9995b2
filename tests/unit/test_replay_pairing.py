"""A replay pairs each recorded answer with its request, however requests overlapped."""

from __future__ import annotations

import json
from pathlib import Path

from ycsa_conform.transport.recording import Replay

# What an answer to an MQTT window holds besides its own (a replay refuses an answer without).
WINDOW = {"messages": [], "started": 1.0, "ended": 2.0}


def _write(directory: Path, lines: list[dict[str, object]]) -> None:
    (directory / "manifest.json").write_text("{}", encoding="utf-8")
    text = "".join(json.dumps({"target": "P001", "device": "gateway", **x}) + "\n" for x in lines)
    (directory / "traffic.jsonl").write_text(text, encoding="utf-8")


def test_overlapping_requests_of_one_device_pair_by_their_seq(tmp_path: Path) -> None:
    # Two windows on one gateway at once: the second answer arrives first.
    _write(
        tmp_path,
        [
            {"seq": 1, "direction": "tx", "request": {"op": "collect", "n": 1}, "requirement": "a"},
            {"seq": 2, "direction": "tx", "request": {"op": "collect", "n": 2}, "requirement": "b"},
            {"seq": 3, "direction": "rx", "tx": 2, "response": {"answer": 2, **WINDOW}},
            {"seq": 4, "direction": "rx", "tx": 1, "response": {"answer": 1, **WINDOW}},
        ],
    )

    exchanges = Replay(tmp_path).exchanges("P001", "gateway")

    assert [(e.request["n"], e.response, e.requirement) for e in exchanges] == [
        (2, {"answer": 2, **WINDOW}, "b"),
        (1, {"answer": 1, **WINDOW}, "a"),
    ]


def test_a_recording_without_tx_pairs_an_answer_with_its_device_s_latest_request(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        [
            {"seq": 1, "direction": "tx", "request": {"op": "read", "n": 1}},
            {"seq": 2, "direction": "rx", "response": {"answer": 1, "at": 1.5}},
            {"seq": 3, "direction": "tx", "request": {"op": "read", "n": 2}},
            {"seq": 4, "direction": "rx", "error": {"type": "DeviceTimeout", "message": "x"}},
        ],
    )

    exchanges = Replay(tmp_path).exchanges("P001", "gateway")

    assert [(e.request["n"], e.response, e.error) for e in exchanges] == [
        (1, {"answer": 1, "at": 1.5}, None),
        (2, None, {"type": "DeviceTimeout", "message": "x"}),
    ]
