"""The embedded broker (bench/mqtt_server.py) held to mosquitto: every protocol behaviour the
bench and the checks rely on is asserted on both, through paho clients and raw sockets, so our
broker is checked against an independent implementation rather than against itself."""

from __future__ import annotations

import queue
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.bench.broker import Broker, start_broker
from ycsa_conform.bench.mqtt_server import _Message, _Retained, _Subscriptions, _valid_filter
from ycsa_conform.transport.mqtt import make_client, unique_client_id

WAIT = 5.0  # s for what must arrive; a loaded machine delivers within milliseconds anyway
QUIET = 0.5  # s of silence that shows a message was not delivered


@pytest.fixture(scope="module", params=["mosquitto", "embedded"])
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Broker]:
    if request.param == "mosquitto":
        request.getfixturevalue("mosquitto_required")
    directory = tmp_path_factory.mktemp(request.param)
    with start_broker(kind=request.param, directory=directory) as running:
        yield running


class Client:
    """A paho client whose received messages queue up as (topic, payload, qos, retain)."""

    def __init__(
        self,
        broker: Broker,
        client_id: str | None = None,
        *,
        clean: bool = True,
        will: dict[str, Any] | None = None,
    ) -> None:
        self.id = client_id or unique_client_id("test-server")
        self.paho = make_client(self.id, reconnect=False, clean_session=clean)
        self.messages: queue.Queue[tuple[str, bytes, int, bool]] = queue.Queue()
        self.connected: queue.Queue[tuple[Any, bool]] = queue.Queue()
        self.disconnected: queue.Queue[Any] = queue.Queue()
        self.paho.on_message = lambda c, u, m: self.messages.put(
            (m.topic, m.payload, m.qos, bool(m.retain))
        )
        self.paho.on_connect = lambda c, u, f, rc, p: self.connected.put(
            (rc, bool(f.session_present))
        )
        self.paho.on_disconnect = lambda c, u, f, rc, p: self.disconnected.put(rc)
        if will:
            self.paho.will_set(**will)
        self.paho.connect(broker.host, broker.port)
        self.paho.loop_start()
        rc, self.session_present = self.connected.get(timeout=WAIT)
        assert not rc.is_failure, rc

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        done: queue.Queue[Any] = queue.Queue()
        self.paho.on_subscribe = lambda c, u, mid, codes, p: done.put(codes)
        self.paho.subscribe(topic_filter, qos)
        (code,) = done.get(timeout=WAIT)
        assert not code.is_failure, code

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.paho.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(WAIT)

    def next(self) -> tuple[str, bytes, int, bool]:
        return self.messages.get(timeout=WAIT)

    def nothing(self) -> list[tuple[str, bytes, int, bool]]:
        try:
            return [self.messages.get(timeout=QUIET)]
        except queue.Empty:
            return []

    def close(self) -> None:
        self.paho.disconnect()
        self.paho.loop_stop()


@pytest.fixture
def clients(broker: Broker) -> Iterator[Any]:
    made: list[Client] = []

    def make(*args: Any, **kwargs: Any) -> Client:
        made.append(Client(broker, *args, **kwargs))
        return made[-1]

    yield make
    for client in made:
        client.close()


def _base() -> str:
    return f"t/{uuid.uuid4().hex[:8]}"


def test_messages_reach_the_filters_that_match_and_no_others(broker: Broker, clients: Any) -> None:
    base = _base()
    listener = clients()
    for topic_filter in (f"{base}/a/+", f"{base}/b/#"):
        listener.subscribe(topic_filter)
    sender = clients()
    sent = [f"{base}/a/1", f"{base}/a/1/x", f"{base}/b", f"{base}/b/c/d", f"{base}/c"]
    for topic in sent:
        sender.publish(topic, topic.encode())
    heard = [listener.next()[0] for _ in range(3)]
    # "a/+" matches one level; "b/#" matches "b" itself and every level below it.
    assert heard == [f"{base}/a/1", f"{base}/b", f"{base}/b/c/d"]
    assert listener.nothing() == []


def test_a_client_with_overlapping_subscriptions_gets_one_copy_at_the_highest_qos(
    broker: Broker, clients: Any
) -> None:
    base = _base()
    listener = clients()
    listener.subscribe(f"{base}/#", qos=0)
    listener.subscribe(f"{base}/x", qos=1)
    clients().publish(f"{base}/x", b"once", qos=1)
    assert listener.next() == (f"{base}/x", b"once", 1, False)
    # MQTT 3.1.1 allows a copy per subscription; mosquitto sends one, and so do we.
    assert listener.nothing() == []


def test_retained_messages_go_to_later_subscribers_at_their_own_qos_and_an_empty_one_clears(
    broker: Broker, clients: Any
) -> None:
    base = _base()
    sender = clients()
    sender.publish(f"{base}/status", b"online", qos=0, retain=True)
    sender.publish(f"{base}/other", b"kept", qos=1, retain=True)
    late = clients()
    late.subscribe(f"{base}/status", qos=1)
    # A retained QoS 0 message reaches a QoS 1 subscription at QoS 0 (§3.8.4).
    assert late.next() == (f"{base}/status", b"online", 0, True)
    wild = clients()
    wild.subscribe(f"{base}/+", qos=1)
    assert sorted([wild.next(), wild.next()]) == [
        (f"{base}/other", b"kept", 1, True),
        (f"{base}/status", b"online", 0, True),
    ]
    # A live message to a subscriber carries no retain flag, even when it is also retained.
    sender.publish(f"{base}/status", b"again", qos=1, retain=True)
    assert late.next() == (f"{base}/status", b"again", 1, False)
    sender.publish(f"{base}/status", b"", qos=1, retain=True)
    assert late.next()[1] == b""
    fresh = clients()
    fresh.subscribe(f"{base}/#")
    assert fresh.next() == (f"{base}/other", b"kept", 1, True)
    assert fresh.nothing() == []


def test_the_will_goes_out_when_a_connection_is_lost_and_not_on_disconnect(
    broker: Broker, clients: Any
) -> None:
    base = _base()
    listener = clients()
    listener.subscribe(f"{base}/#")
    polite = clients(will={"topic": f"{base}/polite", "payload": b"gone", "qos": 1, "retain": True})
    polite.close()
    rude = clients(will={"topic": f"{base}/rude", "payload": b"offline", "qos": 1, "retain": True})
    rude.paho.loop_stop()
    rude.paho.socket().close()  # the network goes, no DISCONNECT
    assert listener.next() == (f"{base}/rude", b"offline", 1, False)
    assert listener.nothing() == []
    later = clients()
    later.subscribe(f"{base}/#")
    assert later.next() == (f"{base}/rude", b"offline", 1, True)  # retained as the will asked


def test_a_connection_silent_past_its_keep_alive_is_closed_and_its_will_published(
    broker: Broker, clients: Any
) -> None:
    base = _base()
    listener = clients()
    listener.subscribe(f"{base}/will")
    raw = socket.create_connection((broker.host, broker.port))
    try:
        raw.sendall(
            _connect("silent-" + uuid.uuid4().hex[:6], keepalive=1, will=(f"{base}/will", b"late"))
        )
        assert raw.recv(4) == b"\x20\x02\x00\x00"
        # No PINGREQ follows: the broker must give up after 1.5 keep-alive periods (§3.1.2.10);
        # mosquitto looks at keep-alives every few seconds, later on a loaded machine.
        assert listener.messages.get(timeout=30)[:2] == (f"{base}/will", b"late")
        assert _closed_by_peer(raw)
    finally:
        raw.close()


def test_a_new_connection_with_a_client_id_in_use_takes_it_over(
    broker: Broker, clients: Any
) -> None:
    first = clients()
    second = clients(first.id)
    first.disconnected.get(timeout=WAIT)  # the broker closed the older connection (§3.1.4)
    base = _base()
    second.subscribe(f"{base}/x")
    clients().publish(f"{base}/x", b"to the new one")
    assert second.next()[1] == b"to the new one"


def test_a_persistent_session_keeps_its_subscriptions_and_qos1_messages_while_offline(
    broker: Broker, clients: Any
) -> None:
    base = _base()
    client_id = unique_client_id("test-persistent")
    sleeper = Client(broker, client_id, clean=False)
    assert not sleeper.session_present
    sleeper.subscribe(f"{base}/cmd", qos=1)
    sleeper.close()
    sender = clients()
    sender.publish(f"{base}/cmd", b"kept", qos=1)
    sender.publish(f"{base}/cmd", b"dropped", qos=0)  # QoS 0 is not queued for it
    back = Client(broker, client_id, clean=False)
    try:
        assert back.session_present
        assert back.next() == (f"{base}/cmd", b"kept", 1, False)
        assert back.nothing() == []
    finally:
        back.close()
    clean = Client(broker, client_id, clean=True)  # a clean start ends the stored session
    try:
        assert not clean.session_present
        sender.publish(f"{base}/cmd", b"after", qos=1)
        assert clean.nothing() == []
    finally:
        clean.close()


def test_unsubscribe_stops_delivery_and_qos2_arrives_once(broker: Broker, clients: Any) -> None:
    base = _base()
    listener = clients()
    listener.subscribe(f"{base}/#", qos=1)
    sender = clients()
    sender.publish(f"{base}/q2", b"exactly", qos=2)
    assert listener.next() == (f"{base}/q2", b"exactly", 1, False)
    done: queue.Queue[Any] = queue.Queue()
    listener.paho.on_unsubscribe = lambda *args: done.put(args)
    listener.paho.unsubscribe(f"{base}/#")
    done.get(timeout=WAIT)
    sender.publish(f"{base}/q2", b"unheard", qos=1)
    assert listener.nothing() == []


def test_wildcards_do_not_match_topics_starting_with_a_dollar(broker: Broker, clients: Any) -> None:
    listener = clients()
    base = _base()
    listener.subscribe("#")
    listener.subscribe("+/" + base.split("/", 1)[1])
    sender = clients()
    sender.publish(f"${base}", b"hidden")  # mosquitto refuses PUBLISH to $SYS/..., not $t/...
    sender.publish(base, b"seen")
    # '#' also hears other tests' traffic on this broker: look for ours.
    topics = set()
    while base not in topics:
        topics.add(listener.next()[0])
    assert f"${base}" not in topics


def test_garbage_closes_that_connection_and_the_broker_serves_the_next(
    broker: Broker, clients: Any
) -> None:
    raw = socket.create_connection((broker.host, broker.port))
    try:
        raw.sendall(b"\x30\x05garbage before any CONNECT")
        assert _closed_by_peer(raw)
    finally:
        raw.close()
    base = _base()
    listener = clients()
    listener.subscribe(f"{base}/x")
    clients().publish(f"{base}/x", b"still here")
    assert listener.next()[1] == b"still here"


def test_the_embedded_broker_refuses_mqtt5_with_the_version_return_code(tmp_path: Path) -> None:
    # mosquitto speaks MQTT 5; ours answers a level-5 CONNECT with 3.1.1's "unacceptable
    # protocol version", which a v5 client reports, rather than misreading its properties.
    with start_broker(kind="embedded", directory=tmp_path) as broker:
        raw = socket.create_connection((broker.host, broker.port))
        try:
            raw.sendall(_connect("v5", keepalive=10, level=5))
            raw.settimeout(WAIT)
            assert raw.recv(4) == b"\x20\x02\x00\x01"
        finally:
            raw.close()


# -- the topic trees, directly ----------------------------------------------------------------


def test_filters_are_validated_as_mqtt_3_1_1_says() -> None:
    assert all(map(_valid_filter, ["a", "a/+/b", "#", "a/#", "+", "+/+", "/a", "a//b"]))
    assert not any(map(_valid_filter, ["", "a/#/b", "a#", "a/b+", "a/+b/c", "x\0"]))


def test_the_subscription_tree_prunes_what_is_unsubscribed() -> None:
    tree = _Subscriptions()
    one, two = object(), object()
    tree.add("a/b/c", one, 1)  # type: ignore[arg-type]
    tree.add("a/+/c", two, 0)  # type: ignore[arg-type]
    assert tree.match("a/b/c") == {one: 1, two: 0}
    tree.remove("a/b/c", one)  # type: ignore[arg-type]
    tree.remove("a/+/c", two)  # type: ignore[arg-type]
    tree.remove("never/there", one)  # type: ignore[arg-type]
    assert tree.match("a/b/c") == {}
    assert tree._root.children == {}


def test_the_retained_tree_finds_by_filter_and_forgets_cleared_topics() -> None:
    tree = _Retained()
    for topic in ("a/b", "a/b/c", "a/x/c", "$SYS/up", "d"):
        tree.put(_Message(topic, topic.encode(), 0, True))
    found = {m.topic for m in tree.matching("a/#")}
    assert found == {"a/b", "a/b/c", "a/x/c"}
    assert {m.topic for m in tree.matching("a/+/c")} == {"a/b/c", "a/x/c"}
    assert {m.topic for m in tree.matching("#")} == {"a/b", "a/b/c", "a/x/c", "d"}
    assert {m.topic for m in tree.matching("$SYS/#")} == {"$SYS/up"}
    for topic in ("a/b", "a/b/c", "a/x/c", "$SYS/up", "d"):
        tree.put(_Message(topic, b"", 0, True))
    assert tree.matching("#") == []
    assert tree._root.children == {}


def _closed_by_peer(raw: socket.socket) -> bool:
    """The broker closed the connection (an end of stream or a reset), within WAIT."""
    raw.settimeout(WAIT)
    try:
        return raw.recv(64) == b""
    except ConnectionResetError:
        return True


def _connect(
    client_id: str, *, keepalive: int, will: tuple[str, bytes] | None = None, level: int = 4
) -> bytes:
    def string(data: bytes) -> bytes:
        return len(data).to_bytes(2, "big") + data

    flags = 0x02 | (0x04 if will else 0)
    body = string(b"MQTT") + bytes([level, flags]) + keepalive.to_bytes(2, "big")
    if level == 5:
        body += b"\x00"  # no properties
    body += string(client_id.encode())
    if level == 5 and will:
        body += b"\x00"
    if will:
        body += string(will[0].encode()) + string(will[1])
    assert len(body) < 128
    return bytes([0x10, len(body)]) + body
