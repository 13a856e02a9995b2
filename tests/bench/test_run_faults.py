"""Faults during a run, end to end: the standalone bench (`ycsa-conform bench smart-pole`, a
separate process, as a vendor or a field laptop reaches it) is killed with SIGKILL while
`pytest --profile smart-pole` runs against its site file. The run must go on, end, and write a
complete report in which only what needs the devices is undecided, each with its cause.

The kill comes from a small plugin loaded into that pytest run (`-p killer`): after the
N-th result is reported it sends SIGKILL to the bench. Which requirements were decided before
the kill depends on the executor's order, so the test asserts what must hold whatever that
order: nothing crashes, nothing is lost, and nothing that needs a device passes without one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.profile.loader import load_profile

KILLER = """
import os, signal

_reported = 0


def pytest_runtest_logreport(report):
    global _reported
    if report.when != "call":
        return
    _reported += 1
    if _reported == int(os.environ["KILL_AFTER"]):
        os.kill(int(os.environ["BENCH_PID"]), signal.SIGKILL)
"""
BENCH = [sys.executable, "-m", "ycsa_conform", "bench", "smart-pole"]
RUN = [sys.executable, "-m", "pytest", "-p", "killer", "--profile", "smart-pole", "-q"]
RUN += ["-p", "no:cacheprovider", "-p", "no:randomly"]
# Device problems a result may name once the bench is gone (transports' own wording).
DEVICE_CAUSES = (
    "no answer",
    "cannot connect",
    "lost contact",
    "silent",
    "connection refused",
    "not acknowledged",
    "never heard",
    "cannot open",  # the bench's pty went with it (its children die with their parent)
    "the serial port failed",
    "the connection failed during the request",  # a reset under a Modbus request
    "closed the connection",  # pymodbus found the RTU line's port gone under a request
    # A frame cut by the kill: what arrived is named (a read answered with too few registers,
    # a bad CRC), still an error and never a value.
    "the device sent",
    "garbled answer",
    "unusable answer",
)


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[dict[str, Any]]:
    # Its own session: the bench's broker and socat are killed with it at the end, whatever
    # the test did to the bench itself.
    process = subprocess.Popen(
        [*BENCH, "--site-file", str(tmp_path / "site.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    ready: dict[str, Any] = json.loads(process.stdout.readline())
    ready["pid"] = process.pid
    yield ready
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # the session's id is the bench's pid
    process.wait(10)


def test_a_bench_killed_mid_run_leaves_a_complete_report_with_causes(
    bench: dict[str, Any], tmp_path: Path
) -> None:
    plugin = tmp_path / "plugins"
    plugin.mkdir()
    (plugin / "killer.py").write_text(KILLER)
    reports = tmp_path / "reports"
    env = {
        **os.environ,
        "PYTHONPATH": str(plugin),
        "BENCH_PID": str(bench["pid"]),
        "KILL_AFTER": "12",
    }
    result = subprocess.run(
        [*RUN, "--site", bench["site"], "--report-dir", str(reports)],
        capture_output=True,
        text=True,
        timeout=600,  # a hang guard, not a speed limit: a healthy run takes well under a minute
        cwd=tmp_path,
        env=env,
    )
    output = result.stdout + result.stderr
    assert "INTERNALERROR" not in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "INCIDENTS" not in output, output[-3000:]  # a failure of the tool, not a device
    assert result.returncode == 1, output[-3000:]  # tests failed: not interrupted, not crashed

    (report_file,) = reports.glob("runs/*/report.json")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    requirements = {r.id for r in load_profile("smart-pole").requirements}
    decided = {r["requirement"]: r for r in report["results"]}
    assert set(decided) == requirements  # nothing lost
    assert report["conclusion"]["conforms"] is False
    assert report["summary"]["error"] >= 1

    wrong = []
    for rid, entry in decided.items():
        verdict, reason, kind = entry["verdict"], entry["reason"], entry["check"]
        if "internal error" in reason:
            wrong.append((rid, verdict, reason))
        elif kind == "evidence" and verdict != "pass":
            # Files on the laptop, no device: the kill changes nothing there. (A record check
            # may fall back to reading the meter: SP-PWR-001.)
            wrong.append((rid, verdict, reason))
        elif verdict == "error" and not any(cause in reason for cause in DEVICE_CAUSES):
            wrong.append((rid, verdict, reason))
    assert not wrong, "\n".join(map(str, wrong))
