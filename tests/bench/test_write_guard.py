"""The write guard and the restore journal (ycsa_conform.actuation) against the in-process
bench, which counts every write request its devices receive (`Bench.writes`); probes that
would write; and the bench's children, which die with a parent killed by SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import procs
import pytest

from ycsa_conform.actuation import (
    JOURNAL_NAME,
    ActuationRefused,
    Pending,
    RestoreJournal,
    apply_pending,
)
from ycsa_conform.bench import Bench
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.errors import InputError
from ycsa_conform.profile import load_profile
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import Site, load_site
from ycsa_conform.transport import Probes
from ycsa_conform.units import ureg

MAPS = Path(__file__).parents[2] / "benches" / "devicemaps"


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    with Bench.start() as running:
        yield running


def _field(bench: Bench, folder: Path) -> Site:
    """The bench's site as a field site (its relative paths still resolved from the bench's)."""
    text = bench.site_text.replace("\nkind: bench\n", "\nkind: field\n")
    assert "\nkind: field\n" in text
    return load_site(bench.site_path, text=text)


def _run(site: Site, *, allow: bool, folder: Path) -> AcceptanceRun:
    return AcceptanceRun(
        profiles=[load_profile("smart-pole")],
        site=site,
        allow_actuation=allow,
        restore_journal=RestoreJournal(folder, site=str(site.path)),
    )


def _lamp_writes(bench: Bench) -> int:
    return bench.writes()["P001"].get("lamp", 0)


def test_a_field_device_refuses_a_write_without_allow_actuation(
    bench: Bench, tmp_path: Path
) -> None:
    site = _field(bench, tmp_path)
    run = _run(site, allow=False, folder=tmp_path)
    before = _lamp_writes(bench)
    try:
        lamp = run.device(site.targets[0], "lamp")
        lamp.read("lamp_on")
        with pytest.raises(ActuationRefused, match="--allow-actuation"):
            lamp.write("lamp_on", False)
    finally:
        run.close()
    assert _lamp_writes(bench) == before  # nothing reached the bench
    assert not (tmp_path / JOURNAL_NAME).exists()


def test_an_allowed_field_write_is_journaled_first_and_marked_done_when_put_back(
    bench: Bench, tmp_path: Path
) -> None:
    site = _field(bench, tmp_path)
    run = _run(site, allow=True, folder=tmp_path)
    before = _lamp_writes(bench)
    try:
        lamp = run.device(site.targets[0], "lamp")
        level = lamp.read("target_light_command").value
        assert level == 100 * ureg.percent
        lamp.write("target_light_command", 40 * ureg.percent)
        assert [p.point for p in RestoreJournal.read(tmp_path)] == ["target_light_command"]
        lamp.write("target_light_command", level)
        assert RestoreJournal.read(tmp_path) == []
    finally:
        run.close()
    assert _lamp_writes(bench) == before + 2
    ops = [json.loads(line)["op"] for line in (tmp_path / JOURNAL_NAME).read_text().splitlines()]
    assert ops == ["pending", "sent", "sent", "done"]


def test_the_journal_puts_back_a_checks_points_last_first_and_side_effects_after(
    tmp_path: Path,
) -> None:
    journal = RestoreJournal(tmp_path, site="s.yaml")
    # An outer state (target_light_command 100 %), then a command inside it: lamp_on off with
    # auto_mode as its side effect.
    journal.pending("P1", "lamp", "target_light_command", 40 * ureg.percent, group="a")
    journal.pending("P1", "lamp", "lamp_on", True, group="b")
    journal.pending("P1", "lamp", "auto_mode", True, group="b", side_effect=True)
    order: list[str] = []

    def write(entry: Pending) -> None:
        order.append(entry.point)

    restored, failed = apply_pending(tmp_path, write)
    assert order == ["lamp_on", "auto_mode", "target_light_command"]
    assert (len(restored), failed) == (3, [])
    assert not (tmp_path / JOURNAL_NAME).exists()


def test_a_point_that_cannot_be_put_back_stays_in_the_journal(tmp_path: Path) -> None:
    journal = RestoreJournal(tmp_path, site="s.yaml")
    journal.pending("P1", "lamp", "lamp_on", True, group="a")
    journal.pending("P1", "lamp", "dimming", None, group="b")  # written, never read

    def write(entry: Pending) -> None:
        raise ActuationRefused("no answer")

    restored, failed = apply_pending(tmp_path, write)
    assert restored == []
    assert sorted(cause for _, cause in failed) == ["its prior value was never read", "no answer"]
    assert {p.point for p in RestoreJournal.read(tmp_path)} == {"lamp_on", "dimming"}


def test_a_journal_cut_by_a_kill_is_read_and_a_broken_line_is_located(tmp_path: Path) -> None:
    journal = RestoreJournal(tmp_path, site="s.yaml")
    journal.pending("P1", "lamp", "lamp_on", True, group="a")
    path = tmp_path / JOURNAL_NAME
    path.write_text(path.read_text() + '{"op": "pend', encoding="utf-8")  # cut mid-line
    assert [p.point for p in RestoreJournal.read(tmp_path)] == ["lamp_on"]
    path.write_text('{"op": "pending"}\n' + path.read_text(), encoding="utf-8")
    with pytest.raises(InputError, match=r"restore\.jsonl:1: not a restore journal line"):
        RestoreJournal.read(tmp_path)


def test_a_device_map_may_not_name_a_write_function_as_a_probe(tmp_path: Path) -> None:
    text = (MAPS / "environment-sensor.yaml").read_text(encoding="utf-8")
    assert "  illegal_address:" in text
    bad = tmp_path / "sensor.yaml"
    bad.write_text(text.replace("  illegal_address:", "  illegal_function: 6\n  x_:", 1))
    bad.write_text(
        "\n".join(line for line in bad.read_text().splitlines() if not line.startswith("  x_:"))
    )
    with pytest.raises(InputError, match=r"sensor\.yaml:\d+: \$\.probes\.illegal_function"):
        load_devicemap(bad)


@pytest.mark.parametrize("function", [5, 6, 8, 15, 16, 21, 22, 23])
def test_a_probe_never_sends_a_write_function_code(bench: Bench, function: int) -> None:
    site = load_site(bench.site_path, text=bench.site_text)
    spec = site.targets[0].devices["environment"]
    from ycsa_conform.transport import open_device

    device = open_device(spec.role, spec.uri, spec.devicemap, spec.options)
    try:
        assert isinstance(device, Probes)
        with pytest.raises(ActuationRefused, match=f"function code {function} writes"):
            device.probe(function)
        assert device.transactions == 0
    finally:
        device.close()


def _assert_none_left(children: list[int]) -> None:
    left = [pid for pid in children if _alive(pid)]
    for pid in left:  # orphans of a failed test are not left to the next one
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert left == []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_benchs_children_die_with_a_parent_killed_by_sigkill(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ycsa_conform", "bench", "smart-pole"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline(), "the bench did not start"
    children = procs.children(process.pid)
    names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in children}
    assert "socat" in names, names  # the serial links; mosquitto too where installed
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    deadline = time.monotonic() + 30  # "does not hang": they go within moments
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    _assert_none_left(children)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_pytest_run_killed_by_sigkill_leaves_no_benchchildren(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "pytest", "--profile", "smart-pole", "-p", "no:cacheprovider"),
            *("-k", "SP-PWR-009", "--param", "standby_settle=120 s"),
            *("--report-dir", str(tmp_path / "report")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        children: list[int] = []
        while time.monotonic() < deadline:
            children = procs.children(process.pid)
            names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in children}
            if "socat" in names:  # the bench is up (its serial links, and broker)
                break
            assert process.poll() is None, "the run ended before its bench was seen"
            time.sleep(0.1)
        assert children, "no bench children appeared"
    finally:
        process.kill()
        process.wait(10)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    _assert_none_left(children)
