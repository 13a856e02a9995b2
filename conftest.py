"""Shared by every test folder: pytester, and standalone benches for the tests that need one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.bench.broker import mosquitto_missing_reason

# pytester drives the plugin in-process for tests/plugin.
pytest_plugins = ["pytester"]

ServeBench = Callable[..., Iterator[dict[str, Any]]]


def _serve_bench(folder: Path, *args: str) -> Iterator[dict[str, Any]]:
    """`ycsa-conform bench smart-pole ARGS` started as a vendor starts it, in `folder`, until
    the caller is done (tests/bench/test_standalone.py tests the command itself). Yields what
    it prints when ready: `{"poles": [endpoints, ...], ...}`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ycsa_conform", "bench", "smart-pole", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, process.stderr.read() if process.stderr else "no output"
    ready: dict[str, Any] = json.loads(line)
    yield ready
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="session")
def serve_bench() -> ServeBench:
    """`for ready in serve_bench(folder, "--fault", NAME): ...` a standalone bench of one's own."""
    return _serve_bench


@pytest.fixture(scope="module")
def standalone_bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The first pole's endpoints of one standalone bench for the module."""
    for ready in _serve_bench(tmp_path_factory.mktemp("standalone-bench")):
        yield ready["poles"][0]


@pytest.fixture(scope="session")
def mosquitto_required() -> None:
    """Tests on a real mosquitto skip without one, and fail under CI=true: CI installs it,
    so its absence there is a broken CI image."""
    reason = mosquitto_missing_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
