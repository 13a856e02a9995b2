"""Wall time of a run decided concurrently, against baselines measured in the same run.

    YCSA_PERF=1 pytest tests/perf/test_concurrency.py -s

1. One pole on the bench (the bench's short windows): the wall time with the executor against
   the longest single requirement (decided one after another in the same run) plus the bench's
   start-up; and against the wall time one after another. Target: longest + 2 s.
2. One pole with the profile's field-default windows (heartbeat 130 s, session 90 s, voltage
   60 s …): the wall time against the longest window, and against the sum of the windows (what
   deciding one after another costs at least). Target: 1.2 × the longest. About 2.5 minutes.
3. Fleets of 100 and 1,000 poles (the bench's windows; `YCSA_FLEETS=10,50` for others): wall
   time, the ratio time(1000)/time(100), results present, and the peak resident set of this
   process (the run) and of the bench's process. Targets: 1,000 poles in < 120 s and < 1 GiB,
   time(1000)/time(100) < 4.

Nothing here asserts on time: the machine is shared and noisy. The ratios are printed.
"""

from __future__ import annotations

import os
import re
import resource
import time
from collections.abc import Sequence

from ycsa_conform.bench import Bench
from ycsa_conform.bench.process import RemoteBench
from ycsa_conform.executor import BENCH_FLEET_CONCURRENCY, DEFAULT_CONCURRENCY, Executor
from ycsa_conform.profile import load_profile
from ycsa_conform.result import Result
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import Site, load_site
from ycsa_conform.units import ureg

WINDOWS = (
    "heartbeat_window",
    "telemetry_window",
    "voltage_window",
    "session_window",
    "event_window",
    "standby_settle",
    "dimming_settle",
)


def _decide(site: Site, *, concurrency: int) -> tuple[float, list[Result]]:
    run = AcceptanceRun(profiles=[load_profile("smart-pole")], site=site)
    cases = [(case, case.name) for case in run.cases()]
    started = time.perf_counter()
    if concurrency == 1:
        results = [run.decide(case, nodeid=name) for case, name in cases]
    else:
        executor = Executor(run, cases, concurrency=concurrency)
        executor.start()
        results = [executor.result(name) for _, name in cases]
        executor.close()
    wall = time.perf_counter() - started
    run.close()
    return wall, results


def _verdicts(results: Sequence[Result]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.verdict.value] = counts.get(result.verdict.value, 0) + 1
    return counts


def test_one_pole_against_its_longest_requirement() -> None:
    started = time.perf_counter()
    with Bench.start() as bench:
        startup = time.perf_counter() - started
        site = load_site(bench.site_path, text=bench.site_text)
        one_by_one, results = _decide(site, concurrency=1)
        together, concurrent = _decide(site, concurrency=DEFAULT_CONCURRENCY)
    longest = max(results, key=lambda r: r.duration)
    print(
        f"\none pole, bench windows: bench start-up {startup:.2f} s; longest requirement "
        f"{longest.requirement} {longest.duration:.2f} s\n"
        f"  one after another {one_by_one:.2f} s ({_verdicts(results)})\n"
        f"  concurrently      {together:.2f} s ({_verdicts(concurrent)}), "
        f"{together / longest.duration:.2f}× the longest, "
        f"{one_by_one / together:.2f}× faster; target longest + 2 s = "
        f"{longest.duration + 2:.2f} s ({'met' if together <= longest.duration + 2 else 'missed'})"
    )
    assert _verdicts(concurrent) == _verdicts(results)


def test_one_pole_with_field_default_windows() -> None:
    profile = load_profile("smart-pole")
    windows = {n: float(ureg.Quantity(profile.parameters[n].default).m_as("s")) for n in WINDOWS}
    with Bench.start() as bench:
        # The bench site's `parameters:` shorten the windows; without them the defaults hold.
        text = re.sub(r"(?ms)^parameters:\n.*?(?=^targets:)", "", bench.site_text)
        site = load_site(bench.site_path, text=text)
        together, results = _decide(site, concurrency=DEFAULT_CONCURRENCY)
    longest, total = max(windows.values()), sum(windows.values())
    listed = ", ".join(f"{n} {s:g} s" for n, s in windows.items())
    met = "met" if together <= 1.2 * longest else "missed"
    print(
        f"\none pole, field-default windows ({listed}):\n"
        f"  concurrently {together:.1f} s ({_verdicts(results)}): {together / longest:.2f}× the "
        f"longest window ({longest:g} s), against at least {total:g} s one after another "
        f"({total / together:.2f}×); target 1.2× ({met})"
    )


FLEETS = tuple(int(n) for n in os.environ.get("YCSA_FLEETS", "100,1000").split(","))
FLEET_CONCURRENCY = int(os.environ.get("YCSA_CONCURRENCY", str(BENCH_FLEET_CONCURRENCY)))


def test_fleets() -> None:
    walls: dict[int, float] = {}
    for n in FLEETS:
        # A fleet runs in a process of its own, as `--bench-poles` does (bench/process.py).
        started = time.perf_counter()
        with RemoteBench.start("smart-pole", poles=n) as bench:
            up = time.perf_counter() - started
            site = load_site(bench.site_path, text=bench.site_text)
            walls[n], results = _decide(site, concurrency=FLEET_CONCURRENCY)
        run_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        bench_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"\n{n} poles (concurrency {FLEET_CONCURRENCY}): bench up {up:.1f} s; decided in "
            f"{walls[n]:.1f} s, {len(results)} results ({_verdicts(results)}); peak RSS so "
            f"far: run {run_peak:.0f} MiB, bench process {bench_peak:.0f} MiB"
        )
        assert len(results) == len(load_profile("smart-pole").requirements) * n
    if len(FLEETS) > 1:
        small, large = FLEETS[0], FLEETS[-1]
        print(
            f"time({large})/time({small}) = {walls[large] / walls[small]:.2f} "
            f"for {large / small:g}× the poles (target < 4 for 1000/100)"
        )
