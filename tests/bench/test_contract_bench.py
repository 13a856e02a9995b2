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
    lamp = without(pytester.path, "lamp-controller.yaml", "auto_mode")  # SP-PWR-009 restores it
    tilt = without(pytester.path, "tilt-sensor.yaml", "tilt_alarm_threshold")  # SP-DATA-019 sets it
    text = site.read_text(encoding="utf-8")
    for name, edited in (("lamp-controller.yaml", lamp), ("tilt-sensor.yaml", tilt)):
        assert text.count(str((MAPS / name).resolve())) == 1
        text = text.replace(str((MAPS / name).resolve()), str(edited))
    site.write_text(text, encoding="utf-8")

    result = pytester.runpytest(
        "--profile", "smart-pole", "--site", str(site), "-k", "PWR-009 or DATA-019 or PWR-003"
    )

    output = result.stdout.str() + result.stderr.str()
    assert "internal error" not in output
    assert "Traceback" not in output
    report = json.loads((pytester.path / "ycsa-report" / "report.json").read_text("utf-8"))
    found: dict[str, dict[str, Any]] = {r["requirement"]: r for r in report["results"]}
    assert {r: found[r]["verdict"] for r in found} == {
        "SP-PWR-003": "pass",  # the lamp's other requirements run
        "SP-PWR-009": "error",
        "SP-DATA-019": "error",
    }
    assert found["SP-PWR-009"]["reason"].startswith(
        "SP-PWR-009 cannot be decided: device map 'ycsa-bench/lamp-controller' "
        f"({lamp.name}) of lamp on P001 has no point 'auto_mode', which SP-PWR-009 writes; "
        "map it (a coil, or a register with on/off values) or leave SP-PWR-009 out with "
        "-k 'not SP-PWR-009'"
    )
    assert found["SP-DATA-019"]["reason"].startswith(
        "SP-DATA-019 cannot be decided: device map 'ycsa-bench/tilt-sensor' "
        f"({tilt.name}) of tilt on P001 has no point 'tilt_alarm_threshold', which SP-DATA-019 "
        "writes; map it (a holding register with 'writable: LOW .. HIGH': its address, type "
        "and scale, unit deg)"
    )
