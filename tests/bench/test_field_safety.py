"""A field-site run against the standalone bench (`ycsa-conform bench smart-pole` in its own
process, its site file with `kind: field`): what it may write and what it leaves behind.

The bench counts every write request its devices receive (Modbus writes, MQTT commands,
DL/T 645 frames other than reads) and prints the counts when it stops; the lamp controller's
points are read back through the tool's own transports, as a vendor's tool would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.actuation import JOURNAL_NAME, RestoreJournal
from ycsa_conform.site import load_site
from ycsa_conform.transport import open_device

LAMP_POINTS = ("lamp_on", "auto_mode", "target_light_command")
_LONG_SETTLE = "standby_settle=120 s"  # the check sits in its settle until interrupted


class Served:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "ycsa_conform", "bench", "smart-pole"),
                *("--site-file", str(folder / "bench-site.yaml")),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read() if self.process.stderr else "no output"
        ready: dict[str, Any] = json.loads(line)
        text = Path(ready["site"]).read_text(encoding="utf-8")
        assert "\nkind: bench\n" in text
        self.site = folder / "field.yaml"
        self.site.write_text(text.replace("\nkind: bench\n", "\nkind: field\n"), "utf-8")

    def lamp(self) -> dict[str, object]:
        """The lamp controller's points, read now."""
        site = load_site(self.site)
        spec = site.targets[0].devices["lamp"]
        device = open_device(spec.role, spec.uri, spec.devicemap, spec.options)
        try:
            readings = device.read_many(list(LAMP_POINTS))
        finally:
            device.close()
        values: dict[str, object] = {}
        for name, reading in readings.items():
            assert not isinstance(reading, Exception), reading
            values[name] = reading.value
        return values

    def stop(self) -> dict[str, dict[str, int]]:
        """Stop the bench; the write requests its devices received, per pole and role."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        last = json.loads(out.strip().splitlines()[-1])
        writes: dict[str, dict[str, int]] = last["writes"]
        return writes


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    bench = Served(tmp_path)
    yield bench
    if bench.process.poll() is None:
        bench.process.kill()
        bench.process.wait(10)


def _pytest(served: Served, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "--profile",
        "smart-pole",
        "--site",
        str(served.site),
        "-q",
        "-p",
        "no:cacheprovider",
        "--report-dir",
        str(served.folder / "report"),
        *args,
    ]


def _wait_for_switch_off(served: Served, process: subprocess.Popen[str]) -> None:
    """Until the run has journaled its write and sent it (`pending`, then `sent`): the check is
    then in its 120 s settle. (The lamp cannot be read meanwhile: the run holds its port.)"""
    journal = served.folder / "report" / JOURNAL_NAME
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and '"sent"' in journal.read_text(encoding="utf-8"):
            return
        assert process.poll() is None, process.communicate()[0][-2000:]
        time.sleep(0.1)
    raise AssertionError(f"the lamp was not switched off, or no write journaled in {journal}")


def test_a_field_run_without_allow_actuation_sends_no_write(served: Served) -> None:
    result = subprocess.run(
        _pytest(served), capture_output=True, text=True, timeout=300, cwd=served.folder
    )
    assert "actuation not allowed" in result.stdout, result.stdout[-2000:]
    writes = served.stop()
    assert writes == {"P001": {}}, writes
    assert not (served.folder / "report" / JOURNAL_NAME).exists()


def test_a_field_run_with_allow_actuation_writes_and_puts_every_point_back(
    served: Served,
) -> None:
    before = served.lamp()
    result = subprocess.run(
        _pytest(served, "--allow-actuation"),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=served.folder,
    )
    assert "passed" in result.stdout, result.stdout[-2000:]
    assert served.lamp() == before
    # Every point changed was journaled before it was written, and marked put back after.
    assert RestoreJournal.read(served.folder / "report") == []
    writes = served.stop()
    assert writes["P001"].get("lamp", 0) > 0, writes


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_an_actuate_settle_restores_the_lamp(
    served: Served, signum: signal.Signals
) -> None:
    before = served.lamp()
    assert before["lamp_on"] is True
    process = subprocess.Popen(
        _pytest(served, "--allow-actuation", "-k", "SP-PWR-009", "--param", _LONG_SETTLE),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=served.folder,
    )
    try:
        _wait_for_switch_off(served, process)
        process.send_signal(signum)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out[-2000:]
    assert served.lamp() == before, out[-2000:]
    assert RestoreJournal.read(served.folder / "report") == []


def test_a_kill_9_leaves_a_journal_that_restore_applies(served: Served) -> None:
    before = served.lamp()
    process = subprocess.Popen(
        _pytest(served, "--allow-actuation", "-k", "SP-PWR-009", "--param", _LONG_SETTLE),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=served.folder,
    )
    report = served.folder / "report"
    try:
        _wait_for_switch_off(served, process)
    finally:
        process.kill()
        process.communicate(timeout=30)
    left = served.lamp()
    assert left["lamp_on"] is False  # the tester's finding: lamp off, automatic mode off
    assert left["auto_mode"] is False
    # Both are in the journal: the side effect was journaled with the first write.
    assert {p.point for p in RestoreJournal.read(report)} == {"lamp_on", "auto_mode"}
    done = subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "restore", str(report)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "put back P001 lamp lamp_on to true, P001 lamp auto_mode to true" in done.stdout, (
        done.stdout
    )
    assert served.lamp() == before
    assert not (report / JOURNAL_NAME).exists()


def test_the_next_run_applies_a_journal_left_by_kill_9_and_says_so(served: Served) -> None:
    before = served.lamp()
    process = subprocess.Popen(
        _pytest(served, "--allow-actuation", "-k", "SP-PWR-009", "--param", _LONG_SETTLE),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=served.folder,
    )
    try:
        _wait_for_switch_off(served, process)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    assert served.lamp()["lamp_on"] is False
    # The next run, without --allow-actuation: it puts the lamp back before anything else.
    result = subprocess.run(
        _pytest(served, "-k", "SP-PWR-001"),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=served.folder,
    )
    assert "an earlier run was stopped before it restored its devices" in result.stdout + (
        result.stderr
    ), result.stdout[-2000:]
    assert served.lamp() == before


def test_a_dry_run_lists_reads_and_writes_and_touches_nothing(served: Served) -> None:
    result = subprocess.run(
        _pytest(served, "--dry-run", "-k", "SP-PWR-009 or SP-PWR-008"),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=served.folder,
    )
    assert result.returncode == 0, result.stdout[-2000:]
    lines = result.stdout.splitlines()
    [standby] = [line for line in lines if line.startswith("P001 SP-PWR-009 [actuate]: lamp (")]
    assert "reads lamp_on, active_power; writes lamp_on, auto_mode" in standby
    assert "not sent: field site without --allow-actuation" in standby
    assert any(line.startswith("P001 SP-PWR-008 [measure]: lamp (") for line in lines)
    assert not (served.folder / "report").exists()  # no report, no journal
    assert served.stop() == {"P001": {}}
