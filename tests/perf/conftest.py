"""Benchmarks, run on demand only: `pytest tests/perf -m perf -s` (or `YCSA_PERF=1 pytest
tests/perf -s`); `-s` shows the ratios they print.

They print ratios against a baseline measured in the same run and never assert on time:
machines here are shared and noisy. The whole suite (`pytest -n 4`) does not collect them:
they are collected when this folder is named on the command line, `-m` names `perf`, or
YCSA_PERF is set. Every test here carries the `perf` marker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def _asked_for(config: pytest.Config) -> bool:
    if os.environ.get("YCSA_PERF"):
        return True
    if "perf" in (config.getoption("markexpr", "") or ""):
        return True
    for arg in config.args:
        path = Path(arg.split("::", 1)[0])
        path = path if path.is_absolute() else config.invocation_params.dir / path
        if path.resolve() == HERE or HERE in path.resolve().parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name.startswith("test_") and not _asked_for(config):
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.perf)
