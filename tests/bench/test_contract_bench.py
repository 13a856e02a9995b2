"""Map gaps on the live bench: a point a check only writes on the side (a `restore`, a trigger's
`set`) once raised ValueError mid-check, an "internal error" with a traceback. Now the run
decides such a requirement from the map before touching the device, and every other
requirement of the same devices runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ycsa_conform.bench import Bench
from ycsa_conform.resources import data_dir

MAPS = data_dir("benches") / "devicemaps"

# A restore and a trigger, as the built-in profile's standby power and pole events use them,
# and a plain read of the same lamp.
PROFILE = """\
profile: contract-bench
version: "0.1.0"
title: {en: Contract, zh: 契约}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
requirements:
  - id: CB-GEN-001
    title: {en: Supply voltage, zh: 电压}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check: {kind: measure, device: lamp, point: supply_voltage, limit: "198 V .. 242 V"}
  - id: CB-GEN-002
    title: {en: Standby power, zh: 待机功率}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: actuate
      device: lamp
      set: {lamp_on: false}
      restore: [auto_mode]
      settle: 0.2 s
      observe: {point: active_power, limit: "<= 0.5 W"}
  - id: CB-GEN-003
    title: {en: Tilt alarm reaches the platform, zh: 倾斜报警上报}
    area: general
    level: mandatory
    refs: [{source: practice, confidence: I}]
    check:
      kind: message
      device: gateway
      topic: events
      expect: arrives
      window: 2 s
      limit: "<= 1 s"
      match: {/type: tilt_alarm, /active: true}
      trigger:
        device: tilt
        set: {tilt_alarm_threshold: 0.01 deg}
        clears: {/type: tilt_alarm, /active: false}
"""


@pytest.fixture
def bench() -> Iterator[Bench]:
    with Bench.start() as running:
        yield running


def without(folder: Path, name: str, point: str) -> Path:
    data = yaml.safe_load((MAPS / name).read_text(encoding="utf-8"))
    del data["points"][point]
    path = folder / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_restore_or_trigger_point_missing_from_a_map_is_an_error_with_the_reason(
    pytester: pytest.Pytester, bench: Bench
) -> None:
    site = bench.write_site(pytester.path / "site.yaml")
    lamp = without(pytester.path, "lamp-controller.yaml", "auto_mode")  # CB-GEN-002 restores it
    tilt = without(pytester.path, "tilt-sensor.yaml", "tilt_alarm_threshold")  # CB-GEN-003 sets
    text = site.read_text(encoding="utf-8")
    for name, edited in (("lamp-controller.yaml", lamp), ("tilt-sensor.yaml", tilt)):
        assert text.count(str((MAPS / name).resolve())) == 1
        text = text.replace(str((MAPS / name).resolve()), str(edited))
    site.write_text(text, encoding="utf-8")
    profile = pytester.path / "contract-bench.yaml"
    profile.write_text(PROFILE, encoding="utf-8")

    result = pytester.runpytest("--profile", str(profile), "--site", str(site))

    output = result.stdout.str() + result.stderr.str()
    assert "internal error" not in output
    assert "Traceback" not in output
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text("utf-8"))
    found: dict[str, dict[str, Any]] = {r["requirement"]: r for r in report["results"]}
    assert {r: found[r]["verdict"] for r in found} == {
        "CB-GEN-001": "pass",  # the lamp's other requirements run
        "CB-GEN-002": "error",
        "CB-GEN-003": "error",
    }
    assert found["CB-GEN-002"]["reason"].startswith(
        "CB-GEN-002 cannot be decided: device map 'ycsa-bench/lamp-controller' "
        f"({lamp.name}) of lamp on P001 has no point 'auto_mode', which CB-GEN-002 writes; "
        "map it (a coil, or a register with on/off values) or leave CB-GEN-002 out with "
        "-k 'not CB-GEN-002'"
    )
    assert found["CB-GEN-003"]["reason"].startswith(
        "CB-GEN-003 cannot be decided: device map 'ycsa-bench/tilt-sensor' "
        f"({tilt.name}) of tilt on P001 has no point 'tilt_alarm_threshold', which CB-GEN-003 "
        "writes; map it (a holding register with 'writable: LOW .. HIGH': its address, type "
        "and scale, unit deg)"
    )
