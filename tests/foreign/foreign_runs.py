"""Sites, maps and runs of the foreign-pole tests: the site template filled in for the running
pole, vendor maps copied for a broken variant, and the profile run against them (in-process
through pytester, or in a child pytest) with its report.json parsed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cangshan.pole import Endpoints

FOLDER = Path(__file__).parent
MAPS = FOLDER / "maps"
TEMPLATE = FOLDER / "cangshan-pole.site.yaml"


# -- sites and maps ---------------------------------------------------------------------------


def copy_maps(folder: Path) -> Path:
    """A copy of the vendor's maps (and their payload schemas) that a test may edit."""
    target = folder / "maps"
    shutil.copytree(MAPS, target)
    return target


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (true/false only), as ycsa_conform reads maps: a point's `on:` and
    `off:` keys stay keys, where PyYAML's YAML 1.1 would turn them into True and False."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def edit_map(maps: Path, name: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Load maps/NAME, let `edit` change it, write it back (comments are lost: a variant)."""
    path = maps / name
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def write_site(
    folder: Path,
    endpoints: Endpoints,
    *,
    maps: Path = MAPS,
    prefix: str | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Path:
    """The site template filled in for the running pole; `parameters` replace the template's."""
    text = TEMPLATE.read_text(encoding="utf-8")
    values = {
        "modbus_rtu": endpoints.modbus_rtu,
        "dlt645": endpoints.dlt645,
        "modbus_tcp": endpoints.modbus_tcp,
        "mqtt": endpoints.mqtt,
        "prefix": prefix or endpoints.prefix,
        "meter_address": endpoints.meter_address,
        "maps": str(maps),
    }
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    if parameters:
        data = yaml.safe_load(text)
        data["parameters"].update(parameters)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path = folder / "site.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- runs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """One run of the profile: pytest's outcome, its output and the report it wrote."""

    ret: int
    output: str
    report_dir: Path
    report: dict[str, Any]

    @property
    def results(self) -> dict[str, dict[str, Any]]:
        return {r["requirement"]: r for r in self.report["results"]}

    @property
    def verdicts(self) -> dict[str, str]:
        return {r["requirement"]: r["verdict"] for r in self.report["results"]}

    def measurement(self, requirement: str, name: str) -> dict[str, Any]:
        found = [m for m in self.results[requirement]["measurements"] if m["name"] == name]
        assert found, (
            f"{requirement} has no measurement {name!r}: "
            f"{[m['name'] for m in self.results[requirement]['measurements']]}"
        )
        first: dict[str, Any] = found[0]
        return first


def run_profile(pytester: pytest.Pytester, site: Path, *args: str) -> Run:
    """`pytest --profile smart-pole --site SITE ARGS` in-process; its report.json, parsed."""
    report_dir = pytester.path / "ycsa-report"
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--profile",
        "smart-pole",
        "--site",
        str(site),
        "--report-dir",
        str(report_dir),
        *args,
    )
    output = "\n".join(result.outlines + result.errlines)
    path = report_dir / "report.json"
    assert path.exists(), f"no report.json after the run:\n{output}"
    report = json.loads(path.read_text(encoding="utf-8"))
    return Run(ret=int(result.ret), output=output, report_dir=report_dir, report=report)


def run_child(folder: Path, site: Path, *args: str) -> Run:
    """The profile in a child pytest, as on an engineer's laptop."""
    report_dir = folder / "ycsa-report"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--profile"]
    command += ["smart-pole", "--site", str(site), "--report-dir", str(report_dir), *args]
    done = subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=600, check=False
    )
    output = done.stdout + done.stderr
    path = report_dir / "report.json"
    assert path.exists(), f"no report.json after the run:\n{output}"
    report = json.loads(path.read_text(encoding="utf-8"))
    return Run(ret=done.returncode, output=output, report_dir=report_dir, report=report)
