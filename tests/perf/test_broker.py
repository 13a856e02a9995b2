"""The embedded broker against mosquitto, measured in the same run.

`YCSA_PERF=1 pytest tests/perf/test_broker.py -s` prints messages per second for QoS 0 and QoS 1
from one paho publisher to one subscriber through each broker (the table of
docs/dependencies.md §4 measured amqtt the same way: 7.0k/s and 3.6k/s in a thread), and
the embedded broker's CPU while 1,000 idle clients stay connected (a district's gateways).
"""

from __future__ import annotations

import queue
import resource
import socket
import time
from pathlib import Path

import pytest

from ycsa_conform.bench.broker import Broker, mosquitto_missing_reason, start_broker
from ycsa_conform.transport.mqtt import make_client, unique_client_id

MESSAGES = {0: 10_000, 1: 2_000}
PAYLOAD = bytes(64)


def _throughput(broker: Broker, qos: int) -> float:
    count = MESSAGES[qos]
    got: queue.Queue[None] = queue.Queue()
    subscriber = make_client(unique_client_id("perf-sub"), reconnect=False)
    subscriber.on_message = lambda c, u, m: got.put(None)
    subscribed: queue.Queue[None] = queue.Queue()
    subscriber.on_subscribe = lambda *args: subscribed.put(None)
    subscriber.connect(broker.host, broker.port)
    subscriber.loop_start()
    publisher = make_client(unique_client_id("perf-pub"), reconnect=False)
    publisher.max_inflight_messages_set(20)
    publisher.connect(broker.host, broker.port)
    publisher.loop_start()
    try:
        subscriber.subscribe("perf/x", qos)
        subscribed.get(timeout=5)
        started = time.perf_counter()
        for _ in range(count):
            publisher.publish("perf/x", PAYLOAD, qos=qos)
        for _ in range(count):
            got.get(timeout=30)
        return count / (time.perf_counter() - started)
    finally:
        for client in (publisher, subscriber):
            client.disconnect()
            client.loop_stop()


def test_throughput_against_mosquitto(tmp_path: Path) -> None:
    if (reason := mosquitto_missing_reason()) is not None:
        pytest.skip(reason)
    rates = {}
    for kind in ("mosquitto", "embedded"):
        with start_broker(kind=kind, directory=tmp_path / kind, own_process=True) as broker:
            rates[kind] = {qos: _throughput(broker, qos) for qos in MESSAGES}
    for qos in MESSAGES:
        mosquitto, embedded = rates["mosquitto"][qos], rates["embedded"][qos]
        print(
            f"\nQoS {qos}: mosquitto {mosquitto / 1000:.1f}k msg/s, embedded "
            f"{embedded / 1000:.1f}k msg/s ({embedded / mosquitto:.2f}× mosquitto)"
        )


def test_idle_cpu_with_a_district_of_clients(tmp_path: Path) -> None:
    """1,000 raw MQTT connections that ping every 10 s: the broker's CPU share over 20 s."""
    with start_broker(kind="embedded", directory=tmp_path, own_process=False) as broker:
        sockets = []
        for n in range(1000):
            raw = socket.create_connection((broker.host, broker.port))
            client_id = f"idle-{n}".encode()
            body = b"\x00\x04MQTT\x04\x02\x00\x0a" + len(client_id).to_bytes(2, "big") + client_id
            raw.sendall(bytes([0x10, len(body)]) + body)
            assert raw.recv(4) == b"\x20\x02\x00\x00"
            sockets.append(raw)
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        while time.perf_counter() - started < 20:
            for raw in sockets:
                raw.sendall(b"\xc0\x00")  # PINGREQ
            for raw in sockets:
                raw.recv(2)
            time.sleep(10 - (time.perf_counter() - started) % 10)
        after = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.perf_counter() - started
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"\n1,000 idle clients: {cpu / wall:.3f} of a core (broker and these clients)")
        for raw in sockets:
            raw.close()
