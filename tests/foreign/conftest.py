"""Fixtures of the foreign-pole tests (tests/foreign/README.md).

One simulated Cangshan pole and one broker serve every test of a session (of an xdist worker):
a test that breaks the pole on purpose does it through the `pole` fixture, which puts it back
afterwards. The profile runs in-process through pytester against a site written from
`cangshan-pole.site.yaml`, and each test reads the report.json the run wrote.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cangshan.physics import Pole
from cangshan.pole import Endpoints, ForeignPole

# -- the broker: infrastructure, not the device ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Broker:
    """A mosquitto of the tests' own, which logs every subscription, so a test can act once
    the run under test has subscribed (no sleeping on a guess)."""

    host: str
    port: int
    log: Path

    def wait_for_subscription(self, topic: str, *, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.log.exists() and f" {topic}" in self.log.read_text(errors="replace"):
                return
            time.sleep(0.02)
        raise TimeoutError(f"nobody subscribed to {topic} within {timeout:g} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def foreign_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if shutil.which("mosquitto") is None:
        reason = "mosquitto is not installed; install it with 'apt-get install -y mosquitto'"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("broker")
    log = folder / "mosquitto.log"
    for _ in range(3):  # mosquitto cannot bind port 0: a free port may be taken meanwhile
        port = _free_port()
        config = folder / "mosquitto.conf"
        # `user root`: started as root, mosquitto would drop to user mosquitto, which cannot
        # write into pytest's private temp folder; ignored when not started as root.
        config.write_text(
            f"user root\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"max_queued_messages 100000\nlog_type subscribe\nlog_type error\n"
            f"log_dest file {log}\n",
            encoding="utf-8",
        )
        process = subprocess.Popen(
            ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and process.poll() is None:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        if process.poll() is None:
            break
    else:
        said = process.stderr.read().decode(errors="replace") if process.stderr else ""
        pytest.fail(f"mosquitto did not start: {said}")
    try:
        yield Broker("127.0.0.1", port, log)
    finally:
        process.terminate()
        process.wait(timeout=5)


# -- the pole ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def foreign_pole(
    foreign_broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ForeignPole]:
    if shutil.which("socat") is None:
        reason = "socat is not installed; install it with 'apt-get install -y socat'"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("cangshan")
    running = ForeignPole(folder, mqtt_host=foreign_broker.host, mqtt_port=foreign_broker.port)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def pole(foreign_pole: ForeignPole) -> Iterator[Pole]:
    """The shared pole's state, as designed; whatever a test changes is undone after it."""
    foreign_pole.pole.reset()
    yield foreign_pole.pole
    foreign_pole.pole.reset()


@pytest.fixture
def endpoints(foreign_pole: ForeignPole) -> Endpoints:
    assert foreign_pole.endpoints is not None
    return foreign_pole.endpoints
