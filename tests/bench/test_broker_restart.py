"""A broker that restarts mid-run: a window it cut short is observed again, whole, once the
broker takes connections again; a broker that stays away makes the window an error that says
so. A real mosquitto is stopped and started again on the same port (the bench's brokers pick a
new port each time, so this test runs its own)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion

from ycsa_conform.errors import LostContact
from ycsa_conform.transport import LinkOptions, parse_device_uri
from ycsa_conform.transport.mqtt import MqttLink


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Mosquitto:
    """mosquitto on one fixed port, stopped and started again at will."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # listening?
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening within 10 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    if shutil.which("mosquitto") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("mosquitto is not on PATH; CI installs it")
        pytest.skip("mosquitto is not on PATH (apt-get install mosquitto)")
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


class Publisher:
    """A device publishing a counter every 0.1 s; it reconnects by itself (paho's own retry)."""

    def __init__(self, port: int, topic: str) -> None:
        self.topic = topic
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=uuid.uuid4().hex)
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=0.2)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        count = 0
        while not self._stop.wait(0.1):
            count += 1
            self.client.publish(self.topic, json.dumps({"seq": count}), qos=0)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.loop_stop()
        self.client.disconnect()


def _link(port: int) -> MqttLink:
    address = parse_device_uri(f"mqtt://127.0.0.1:{port}/test")
    return MqttLink("gateway", address, LinkOptions(timeout=1.0))


def _collect(topic: str, window: float) -> dict[str, object]:
    return {"op": "collect", "topics": [topic], "window": window, "stop": "never", "qos": 0}


def test_a_window_cut_short_by_a_broker_restart_is_observed_again_whole(
    mosquitto: Mosquitto,
) -> None:
    topic = f"test/{uuid.uuid4().hex[:8]}/heartbeat"
    publisher = Publisher(mosquitto.port, topic)
    link = _link(mosquitto.port)
    restarted = threading.Event()

    def restart() -> None:
        mosquitto.stop()
        time.sleep(0.5)
        mosquitto.start()
        restarted.set()

    try:
        link.transact(_collect(topic, 0.3))  # connected once: the broker is known
        timer = threading.Timer(0.5, restart)
        timer.start()
        response = link.transact(_collect(topic, 2.0))
        timer.join()
    finally:
        link.close()
        publisher.close()

    assert restarted.is_set()
    # The window was observed again after the restart, for its whole 2 s: the publisher was
    # back by then, and every message heard is from that second window.
    started, ended = float(response["started"]), float(response["ended"])  # type: ignore[arg-type]
    assert ended - started >= 2.0
    messages = response["messages"]
    assert isinstance(messages, list)
    assert messages
    assert all(started <= float(m["at"]) <= ended for m in messages)


def test_a_broker_that_stays_away_makes_the_window_an_error_that_says_so(
    mosquitto: Mosquitto,
) -> None:
    topic = f"test/{uuid.uuid4().hex[:8]}/heartbeat"
    link = _link(mosquitto.port)
    try:
        link.transact(_collect(topic, 0.2))
        timer = threading.Timer(0.3, mosquitto.stop)
        timer.start()
        with pytest.raises(LostContact) as caught:
            link.transact(_collect(topic, 2.0))
        timer.join()
    finally:
        link.close()

    message = str(caught.value)
    assert message.startswith("lost contact with the broker of gateway at mqtt://127.0.0.1:")
    assert "the window cannot be judged" in message
    assert "the broker did not take a connection again within 10 s (" in message
