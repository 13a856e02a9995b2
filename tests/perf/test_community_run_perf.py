"""What a smart-community run costs: its own requirements on the community bench, against the
time its checks must listen by definition (the windows of its message and inventory checks,
which no implementation can shorten), and per check kind.

Run on demand: `pytest tests/perf/test_community_run_perf.py -m perf -s`.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pint

from ycsa_conform.bench import Bench
from ycsa_conform.checks.inventory import InventoryCheck
from ycsa_conform.checks.message import MessageCheck
from ycsa_conform.limit import ParamRef
from ycsa_conform.profile import load_profile
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import load_site


def test_community_run_against_its_listening_floor() -> None:
    profile = load_profile("smart-community")
    with Bench.start("smart-community") as bench:
        started = time.perf_counter()
        site = load_site(bench.site_path, text=bench.site_text)
        run = AcceptanceRun(profiles=[profile], site=site)
        setup = time.perf_counter() - started
        by_kind: dict[str, float] = defaultdict(float)
        floor = 0.0
        decided = 0
        for case in run.cases():
            if case.target.kind != "community":
                continue
            check = case.requirement.check
            if isinstance(check, MessageCheck | InventoryCheck):
                window = check.window
                if isinstance(window, ParamRef):
                    value = run.parameters(profile, case.target)[window.name]
                    assert isinstance(value, pint.Quantity)
                    window = float(value.m_as("s"))
                floor += window
            tick = time.perf_counter()
            run.decide(case)
            by_kind[check.kind] += time.perf_counter() - tick
            decided += 1
        run.close()
    total = sum(by_kind.values())
    print(f"\nsmart-community on the bench: {decided} community requirements in {total:.2f} s")
    print(f"  site load and run set-up: {setup:.2f} s")
    for kind, seconds in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<10}{seconds:>8.2f} s")
    print(
        f"  listening floor (message and inventory windows): {floor:.2f} s; "
        f"run/floor {total / floor:.2f}×, overhead {total - floor:.2f} s"
    )
    assert decided >= 30
