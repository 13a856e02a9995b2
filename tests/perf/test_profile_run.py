"""What a profile run costs on the wire and in the framework, against baselines of the same run.

1. Transactions: the requests a smart-pole run sends per device, against the point reads its
   checks ask for (what a one-request-per-read tool would send) and the coalesced minimum
   (the fewest requests the protocol allows for the points the run needs). On an RS-485 bus at
   9600 baud each transaction costs ~40 ms (docs/dependencies.md), so the estimate of bus
   time is printed too.
2. Per-read overhead: `ModbusDevice.read` (device map, codec, units, errors) against a bare
   pymodbus client loop reading the same registers from the same bench, TCP and RTU.
"""

from __future__ import annotations

import functools
import time

from pymodbus.client import ModbusSerialClient, ModbusTcpClient

from ycsa_conform.bench import Bench
from ycsa_conform.profile import load_profile
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import load_site
from ycsa_conform.transport import LinkOptions, open_device

READS = 300
BUS_MS_PER_TRANSACTION = 40.0


def test_transactions_per_profile_run_against_the_coalesced_minimum() -> None:
    profile = load_profile("smart-pole")
    with Bench.start() as bench:
        site = load_site(bench.site_path, text=bench.site_text)
        run = AcceptanceRun(profiles=[profile], site=site)
        started = time.perf_counter()
        for case in run.cases():
            run.decide(case)
        elapsed = time.perf_counter() - started
        rows = run.traffic()
        run.close()
    print(f"\nsmart-pole on the bench: {len(list(run.cases()))} requirements in {elapsed:.2f} s")
    print(f"  {'device':<12}{'scheme':<12}{'point reads':>12}{'sent':>6}{'minimum':>9}{'obs.':>6}")
    for row in rows:
        reads_sent = int(str(row["transactions"])) - int(str(row["observations"]))
        print(
            f"  {row['device']!s:<12}{row['scheme']!s:<12}{row['point_reads']!s:>12}"
            f"{reads_sent:>6}{row['minimum']!s:>9}{row['observations']!s:>6}"
        )
    asked = sum(int(str(r["point_reads"])) for r in rows)
    observed = sum(int(str(r["observations"])) for r in rows)
    sent = sum(int(str(r["transactions"])) for r in rows) - observed
    least = sum(int(str(r["minimum"])) for r in rows)
    print(
        f"  total: {sent} read requests sent for {asked} point reads (+{observed} MQTT "
        f"observations); coalesced minimum {least}; "
        f"sent/minimum {sent / least:.2f}×, one-request-per-read/sent {asked / sent:.1f}×\n"
        f"  at ~{BUS_MS_PER_TRANSACTION:.0f} ms per RS-485 transaction: "
        f"{sent * BUS_MS_PER_TRANSACTION / 1000:.2f} s on the bus instead of "
        f"{asked * BUS_MS_PER_TRANSACTION / 1000:.2f} s"
    )
    assert sent >= least > 0


def _per_read(fn: object) -> float:
    call = fn  # a zero-argument callable
    started = time.perf_counter()
    for _ in range(READS):
        call()  # type: ignore[operator]
    return (time.perf_counter() - started) / READS


def test_per_read_overhead_against_a_bare_pymodbus_loop() -> None:
    with Bench.start() as bench:
        site = load_site(bench.site_path, text=bench.site_text)
        [pole] = site.targets
        print()
        for role, scheme in (("tilt", "modbus-tcp"), ("lamp", "modbus-rtu")):
            spec = pole.devices[role]
            point = spec.devicemap.modbus_point("tilt_x" if role == "tilt" else "supply_voltage")
            device = open_device(role, spec.uri, spec.devicemap, LinkOptions(timeout=1.0))
            ours = _per_read(lambda d=device, p=point.name: d.read(p))
            device.close()
            bare_client: ModbusTcpClient | ModbusSerialClient
            if scheme == "modbus-tcp":
                host, port = bench.endpoints["modbus_tcp"].split(":")
                bare_client = ModbusTcpClient(host, port=int(port), timeout=1, retries=0)
            else:
                bare_client = ModbusSerialClient(
                    bench.endpoints["modbus_rtu"], baudrate=9600, timeout=1, retries=0
                )
            bare_client.connect()  # type: ignore[no-untyped-call]
            reader = getattr(bare_client, f"read_{point.table.value}_registers")
            count = point.type.registers
            unit = spec.address.unit
            bare = _per_read(functools.partial(reader, point.address, count=count, device_id=unit))
            bare_client.close()  # type: ignore[no-untyped-call]
            print(
                f"{scheme}: ycsa-conform {ours * 1e6:8.1f} µs/read, bare pymodbus "
                f"{bare * 1e6:8.1f} µs/read, ratio {ours / bare:.2f}× ({READS} reads each)"
            )
