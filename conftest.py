"""Shared by every test folder: pytester, and one standalone bench per test module that asks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

# pytester drives the plugin in-process for tests/plugin.
pytest_plugins = ["pytester"]


@pytest.fixture(scope="module")
def standalone_bench() -> Iterator[dict[str, Any]]:
    """The first pole's endpoints of a `ycsa-conform bench smart-pole` started as a vendor
    starts it (tests/bench/test_standalone.py tests the command itself), stopped after the
    module."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ycsa_conform", "bench", "smart-pole"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "no output"
    ready: dict[str, Any] = json.loads(line)
    yield ready["poles"][0]
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
