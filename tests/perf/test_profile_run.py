"""How much does deciding a profile cost, against the bare Modbus reads it needs?

Baseline: the same number of `read_holding_registers(count=2)` round trips with a bare pymodbus
client against the same bench. Ratio = our time per read ÷ bare time per read.
"""

from __future__ import annotations

import time

from pymodbus.client import ModbusTcpClient

from ycsa_conform.bench import Bench
from ycsa_conform.profile import load_profile
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import load_site

ROUNDS = 20


def test_profile_decision_cost_against_bare_modbus_reads() -> None:
    profile = load_profile("smart-pole")
    with Bench.start() as bench:
        site = load_site(bench.site_path, text=bench.site_text)
        run = AcceptanceRun(profiles=[profile], site=site)
        cases = list(run.cases())
        reads = sum(
            len(getattr(c.requirement.check, "points", ()))
            + (
                1
                if getattr(c.requirement.check, "relative_to", None) not in (None, "host_clock")
                else 0
            )
            for c in cases
        )
        started = time.perf_counter()
        for _ in range(ROUNDS):
            for case in cases:
                run.decide(case)
        ours = (time.perf_counter() - started) / (ROUNDS * reads)
        run.close()

        host, port = bench.endpoints["modbus_tcp"].split(":")
        client = ModbusTcpClient(host, port=int(port), timeout=1, retries=0)
        client.connect()
        started = time.perf_counter()
        for _ in range(ROUNDS * reads):
            client.read_holding_registers(0, count=2, device_id=4)
        bare = (time.perf_counter() - started) / (ROUNDS * reads)
        client.close()

    print(
        f"\n{len(cases)} requirements, {reads} point reads per run, {ROUNDS} runs\n"
        f"  ycsa-conform per read {ours * 1e6:8.1f} µs\n"
        f"  bare pymodbus per read {bare * 1e6:7.1f} µs\n"
        f"  ratio {ours / bare:.2f}× (decoding, units, evaluation and compute checks included)"
    )
    assert reads > 0
