"""The benchmarks run with the command their marker's help gives, and never in the suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PERF = sorted(p.name for p in (ROOT / "tests" / "perf").glob("test_*.py"))


def _collect(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:randomly", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "YCSA_PERF"},
    )
    assert result.returncode in (0, 5), result.stdout + result.stderr
    return result.stdout


def test_the_documented_perf_command_collects_every_benchmark() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "`pytest tests/perf -m perf -s`" in pyproject  # the marker's help

    listed = _collect("tests/perf", "-m", "perf", "-s")

    assert PERF
    for name in PERF:
        assert f"tests/perf/{name}::" in listed, name


def test_the_suite_does_not_collect_the_benchmarks() -> None:
    # `tests` (the suite's testpaths) reaches tests/perf without naming it; the other folders
    # are left out only to keep this collection short.
    others = [f"--ignore=tests/{d}" for d in ("unit", "plugin", "bench", "foreign", "docs")]

    listed = _collect("tests", *others)

    assert "tests/perf/" not in listed
