"""A district-scale run: the smart-pole profile against a fleet of simulated poles.

`YCSA_PERF=1 YCSA_POLES=50 pytest tests/perf/test_fleet.py -s` starts a 50-pole bench (each pole
with its own Modbus TCP port and RS-485 pty, meters on one DL/T 645 line, gateways on one
broker), decides every requirement for every pole, and prints the time per pole against the
one-pole run measured in the same session.
"""

from __future__ import annotations

import os
import time

from ycsa_conform.bench import Bench
from ycsa_conform.bench.process import RemoteBench
from ycsa_conform.profile import load_profile
from ycsa_conform.result import Verdict
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import load_site

POLES = int(os.environ.get("YCSA_POLES", "50"))


def _run(poles: int) -> tuple[float, float, int, set[Verdict]]:
    profile = load_profile("smart-pole")
    started = time.perf_counter()
    # A fleet runs in a child process, as `--bench-poles` runs it (see bench.process).
    bench = RemoteBench.start("smart-pole", poles=poles) if poles > 1 else Bench.start()
    with bench:
        up = time.perf_counter() - started
        site = load_site(bench.site_path, text=bench.site_text)
        run = AcceptanceRun(profiles=[profile], site=site)
        started = time.perf_counter()
        results = [run.decide(case) for case in run.cases()]
        elapsed = time.perf_counter() - started
        run.close()
    return up, elapsed, len(results), {r.verdict for r in results}


def test_a_fleet_run_scales_per_pole() -> None:
    up_one, one, count_one, _ = _run(1)
    up_many, many, count, verdicts = _run(POLES)
    print(
        f"\n1 pole: bench up {up_one:.2f} s, {count_one} results in {one:.2f} s\n"
        f"{POLES} poles: bench up {up_many:.2f} s, {count} results in {many:.2f} s, "
        f"{many / POLES:.2f} s per pole ({many / POLES / one:.2f}× the one-pole run)\n"
        f"verdicts: {sorted(v.value for v in verdicts)}"
    )
    assert count == count_one * POLES
