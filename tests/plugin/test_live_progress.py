"""The live progress line: what a long run waits for, through pytest's terminal reporter."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ycsa_conform.progress import Waits, deciding


def test_waits_are_listed_with_most_time_left_first_and_gone_when_done() -> None:
    waits = Waits()
    with deciding("SP-DATA-008[P001]"), waits.waiting("gateway heartbeat messages", 130):
        with waits.waiting("settling", 2):
            listed = waits.now()
        assert len(waits.now()) == 1
    with pytest.raises(RuntimeError), waits.waiting("a window that fails", 60):
        raise RuntimeError("the device went away")

    assert [w.what for w in listed] == ["gateway heartbeat messages", "settling"]
    assert listed[0].case == "SP-DATA-008[P001]"
    text = listed[0].describe(listed[0].started + 26)
    assert text == "SP-DATA-008[P001] gateway heartbeat messages, 1 min 44 s of 2 min 10 s left"
    assert listed[0].describe(time.monotonic() + 3600).endswith(" 0 s of 2 min 10 s left")
    assert waits.now() == []  # a wait that raised is gone too


def _run(folder: Path, *extra: str) -> str:
    # The heartbeat window raised from the bench's 4 s to 9 s: the main thread waits long
    # enough for the first line (after 5 s of waiting).
    command = [sys.executable, "-m", "pytest", "-p", "no:randomly", "--profile", "smart-pole"]
    command += ["-k", "SP-DATA-008", "--param", "heartbeat_window=9s"]
    result = subprocess.run(
        [*command, *extra], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_long_window_and_the_fleets_start_are_shown(tmp_path: Path) -> None:
    out = _run(tmp_path, "--bench-poles", "2")

    assert "ycsa-conform: starting the smart-pole bench: 2 poles" in out
    assert "ycsa-conform: bench of 2 poles started in" in out
    waiting = [line for line in out.splitlines() if line.startswith("ycsa-conform: waiting")]
    assert waiting, out
    assert "heartbeat messages, " in waiting[0]
    assert " of 9 s left" in waiting[0]
    assert "SP-DATA-008[P00" in waiting[0]
    assert "of 2 decided, " in waiting[0]
    assert "of 2 targets done" in waiting[0]


def test_quiet_runs_show_no_progress(tmp_path: Path) -> None:
    out = _run(tmp_path, "-q")

    assert "ycsa-conform: waiting" not in out
    assert "starting the smart-pole bench" not in out
