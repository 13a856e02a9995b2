"""A small MQTT 3.1.1 broker: the bench's embedded broker when mosquitto is not on PATH.

    server = MqttServer()
    port = await server.start("127.0.0.1")      # in a running asyncio loop
    ...
    await server.close()

What the bench and the checks use, and nothing more: CONNECT (clean and persistent sessions,
will messages, keep-alive, a new connection taking over a client id), PUBLISH at QoS 0, 1 and 2
from clients, retained messages (an empty payload clears one), SUBSCRIBE with `+` and `#`,
UNSUBSCRIBE, PINGREQ, DISCONNECT. It delivers at QoS 0 or 1: a subscription asking for QoS 2 is
granted 1 (MQTT 3.1.1 §3.9.3 lets a server grant less). No TLS and no password login (those
need mosquitto), no MQTT 5 (a CONNECT for protocol level 5 is refused with return code 1).

Why not amqtt, which the bench used until 0.7: carrying a district's 1,000 simulated gateways it
fell seconds behind on a 2-core machine (it runs a plugin event and a state machine per packet),
and 1,527 of 70,000 results came out wrong on late messages; it also keeps the older connection
open when a client id is taken over (§3.1.4), and delivers a retained QoS 0 message at the
subscription's QoS (§3.8.4). Here a packet is parsed and routed in plain callbacks
(asyncio.Protocol, no task per packet), and subscriptions and retained messages sit in topic
trees, so a message costs the subscribers it has, not the subscriptions the broker holds.

Each behaviour is tested against mosquitto as well (tests/bench/test_mqtt_server.py runs the
same client-side assertions on both), so this broker is held to an independent implementation.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["MqttServer"]

# Packet types (MQTT 3.1.1 §2.2.1), shifted into the fixed header's high nibble.
_CONNECT, _CONNACK, _PUBLISH, _PUBACK, _PUBREC, _PUBREL, _PUBCOMP = 1, 2, 3, 4, 5, 6, 7
_SUBSCRIBE, _SUBACK, _UNSUBSCRIBE, _UNSUBACK, _PINGREQ, _PINGRESP, _DISCONNECT = range(8, 15)

_MAX_PACKET = 16 * 1024 * 1024  # bytes; a bench never sends more, a garbage stream is cut off
_MAX_QUEUED = 100_000  # QoS 1 messages kept for one offline persistent session
_SWEEP = 1.0  # s between keep-alive checks
_GRANTED_MAX_QOS = 1


@dataclass(slots=True, eq=False)
class _Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool = False


@dataclass(eq=False)
class _Session:
    client_id: str
    clean: bool
    subscriptions: dict[str, int] = field(default_factory=dict)
    connection: _Connection | None = None
    # QoS 1 messages sent and not yet acknowledged (resent on reconnect), and those that came
    # while a persistent session was offline.
    inflight: dict[int, _Message] = field(default_factory=dict)
    queued: deque[_Message] = field(default_factory=deque)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.cycle(range(1, 65536)))

    def deliver(self, message: _Message, qos: int, *, retain: bool = False) -> None:
        connection = self.connection
        if connection is None:
            if qos > 0 and not self.clean and len(self.queued) < _MAX_QUEUED:
                self.queued.append(_Message(message.topic, message.payload, qos, retain))
            return
        if qos == 0:
            connection.send(
                _publish_packet(message.topic, message.payload, 0, retain, 0, dup=False)
            )
            return
        if len(self.inflight) >= 65535:
            return  # every packet id awaits an acknowledgement: the client is not reading
        packet_id = next(self._ids)
        while packet_id in self.inflight:
            packet_id = next(self._ids)
        self.inflight[packet_id] = _Message(message.topic, message.payload, qos, retain)
        connection.send(
            _publish_packet(message.topic, message.payload, qos, retain, packet_id, dup=False)
        )

    def resume(self) -> None:
        """Resend what was not acknowledged (DUP set), then what came while offline."""
        connection = self.connection
        assert connection is not None
        for packet_id, m in self.inflight.items():
            connection.send(
                _publish_packet(m.topic, m.payload, m.qos, m.retain, packet_id, dup=True)
            )
        while self.queued:
            m = self.queued.popleft()
            self.deliver(m, m.qos, retain=m.retain)


class _Node:
    """One level of a topic tree: subscribers of the filter ending here, or a retained
    message of the topic ending here."""

    __slots__ = ("children", "retained", "subscribers")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.subscribers: dict[_Session, int] = {}
        self.retained: _Message | None = None

    def empty(self) -> bool:
        return not self.children and not self.subscribers and self.retained is None


def _hidden(levels: list[str], i: int) -> bool:
    """Wildcards at the first level do not match topics starting with '$' (§4.7.2)."""
    return i == 0 and levels[0].startswith("$")


def _path(root: _Node, topic: str) -> list[_Node]:
    """The nodes from the root to `topic`'s, or [] when the tree has no such node."""
    path = [root]
    for level in topic.split("/"):
        child = path[-1].children.get(level)
        if child is None:
            return []
        path.append(child)
    return path


def _prune(path: list[_Node], topic: str) -> None:
    """Drop the nodes at the end of `path` that hold nothing any more."""
    levels = topic.split("/")
    for i in range(len(levels), 0, -1):
        if not path[i].empty():
            return
        del path[i - 1].children[levels[i - 1]]


class _Subscriptions:
    def __init__(self) -> None:
        self._root = _Node()

    def add(self, topic_filter: str, session: _Session, qos: int) -> None:
        node = self._root
        for level in topic_filter.split("/"):
            node = node.children.setdefault(level, _Node())
        node.subscribers[session] = qos

    def remove(self, topic_filter: str, session: _Session) -> None:
        path = _path(self._root, topic_filter)
        if path:
            path[-1].subscribers.pop(session, None)
            _prune(path, topic_filter)

    def match(self, topic: str) -> dict[_Session, int]:
        """Every session subscribed to a filter matching `topic`, at the highest QoS of its
        matching subscriptions (one copy each, §3.3.5)."""
        found: dict[_Session, int] = {}
        levels = topic.split("/")

        def take(subscribers: dict[_Session, int]) -> None:
            for session, qos in subscribers.items():
                if found.get(session, -1) < qos:
                    found[session] = qos

        def walk(node: _Node, i: int) -> None:
            if i == len(levels):
                take(node.subscribers)
                parent_match = node.children.get("#")  # "a/#" matches "a" too
                if parent_match is not None:
                    take(parent_match.subscribers)
                return
            if not _hidden(levels, i):
                rest = node.children.get("#")
                if rest is not None:
                    take(rest.subscribers)
                one = node.children.get("+")
                if one is not None:
                    walk(one, i + 1)
            exact = node.children.get(levels[i])
            if exact is not None:
                walk(exact, i + 1)

        walk(self._root, 0)
        return found


class _Retained:
    def __init__(self) -> None:
        self._root = _Node()

    def put(self, message: _Message) -> None:
        if message.payload:
            node = self._root
            for level in message.topic.split("/"):
                node = node.children.setdefault(level, _Node())
            node.retained = message
            return
        # An empty payload clears the topic's retained message (§3.3.1.3).
        path = _path(self._root, message.topic)
        if path:
            path[-1].retained = None
            _prune(path, message.topic)

    def matching(self, topic_filter: str) -> list[_Message]:
        levels = topic_filter.split("/")
        found: list[_Message] = []

        def everything(node: _Node) -> None:
            if node.retained is not None:
                found.append(node.retained)
            for child in node.children.values():
                everything(child)

        def walk(node: _Node, i: int) -> None:
            if i == len(levels):
                if node.retained is not None:
                    found.append(node.retained)
                return
            level = levels[i]
            if level == "#":
                if i > 0 and node.retained is not None:
                    found.append(node.retained)
                for name, child in node.children.items():
                    if not (i == 0 and name.startswith("$")):
                        everything(child)
            elif level == "+":
                for name, child in node.children.items():
                    if not (i == 0 and name.startswith("$")):
                        walk(child, i + 1)
            elif (exact := node.children.get(level)) is not None:
                walk(exact, i + 1)

        walk(self._root, 0)
        return found


def _valid_filter(topic_filter: str) -> bool:
    if not topic_filter or "\0" in topic_filter:
        return False
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def _valid_topic(topic: str) -> bool:
    return bool(topic) and not any(c in topic for c in "+#\0")


# -- packets -----------------------------------------------------------------------------------


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(kind: int, flags: int, body: bytes) -> bytes:
    return bytes([kind << 4 | flags]) + _length(len(body)) + body


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return len(data).to_bytes(2, "big") + data


def _publish_packet(
    topic: str, payload: bytes, qos: int, retain: bool, packet_id: int, *, dup: bool
) -> bytes:
    flags = (0x08 if dup else 0) | qos << 1 | (0x01 if retain else 0)
    body = _string(topic) + (packet_id.to_bytes(2, "big") if qos else b"") + payload
    return _packet(_PUBLISH, flags, body)


class _ProtocolError(Exception):
    """The client broke MQTT 3.1.1; the server closes the connection (§4.8)."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise _ProtocolError("packet shorter than its fields")
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def short(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def binary(self) -> bytes:
        return self.take(self.short())

    def string(self) -> str:
        try:
            return self.binary().decode("utf-8")
        except UnicodeDecodeError:
            raise _ProtocolError("a string is not UTF-8") from None

    def rest(self) -> bytes:
        chunk = self.data[self.at :]
        self.at = len(self.data)
        return chunk


class _Connection(asyncio.Protocol):
    def __init__(self, server: MqttServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.session: _Session | None = None
        self.keepalive = 0.0
        self.last_heard = time.monotonic()
        self.will: _Message | None = None
        self.said_goodbye = False  # DISCONNECT received: no will (§3.14.4)
        self.qos2_received: set[int] = set()

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Without it a SUBACK and the retained message after it wait for delayed ACKs.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.last_heard = time.monotonic()
        self.buffer += data
        try:
            while (packet := self._next_packet()) is not None:
                header, body = packet
                self._handle(header >> 4, header & 0x0F, _Reader(body))
                if self.transport is None or self.transport.is_closing():
                    return
        except _ProtocolError:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.server.ended(self)
        self.transport = None

    # sending and closing

    def send(self, packet: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(packet)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # parsing

    def _next_packet(self) -> tuple[int, bytes] | None:
        buffer = self.buffer
        length, multiplier, i = 0, 1, 1
        while True:
            if i >= len(buffer):
                return None
            digit = buffer[i]
            length += (digit & 0x7F) * multiplier
            i += 1
            if not digit & 0x80:
                break
            multiplier *= 128
            if i > 4:
                raise _ProtocolError("remaining length longer than 4 bytes")
        if length > _MAX_PACKET:
            raise _ProtocolError("packet too large")
        if len(buffer) < i + length:
            return None
        header, body = buffer[0], bytes(buffer[i : i + length])
        del buffer[: i + length]
        return header, body

    def _handle(self, kind: int, flags: int, body: _Reader) -> None:
        if self.session is None:
            if kind != _CONNECT:
                raise _ProtocolError("the first packet is not CONNECT")
            self._connect(body)
            return
        if kind == _PUBLISH:
            self._publish(flags, body)
        elif kind == _PUBACK:
            self.session.inflight.pop(body.short(), None)
        elif kind == _PUBREL:
            packet_id = body.short()
            self.qos2_received.discard(packet_id)
            self.send(_packet(_PUBCOMP, 0, packet_id.to_bytes(2, "big")))
        elif kind == _SUBSCRIBE:
            self._subscribe(body)
        elif kind == _UNSUBSCRIBE:
            packet_id = body.short()
            while body.at < len(body.data):
                topic_filter = body.string()
                if self.session.subscriptions.pop(topic_filter, None) is not None:
                    self.server.subscriptions.remove(topic_filter, self.session)
            self.send(_packet(_UNSUBACK, 0, packet_id.to_bytes(2, "big")))
        elif kind == _PINGREQ:
            self.send(_packet(_PINGRESP, 0, b""))
        elif kind == _DISCONNECT:
            self.said_goodbye = True
            self.close()
        elif kind in (_PUBREC, _PUBCOMP):
            pass  # this server never sends QoS 2
        else:
            raise _ProtocolError(f"packet type {kind} from a client")

    def _connect(self, body: _Reader) -> None:
        name, level = body.string(), body.byte()
        if (name, level) not in (("MQTT", 4), ("MQIsdp", 3)):
            self.send(_packet(_CONNACK, 0, b"\x00\x01"))  # unacceptable protocol version
            self.close()
            return
        flags = body.byte()
        self.keepalive = float(body.short())
        client_id = body.string()
        clean = bool(flags & 0x02)
        if flags & 0x04:
            topic, payload = body.string(), body.binary()
            self.will = _Message(topic, payload, min((flags >> 3) & 0x03, 2), bool(flags & 0x20))
        if flags & 0x80:
            body.string()  # user name: accepted, as by a broker without a password file
        if flags & 0x40:
            body.binary()
        if not client_id:
            if not clean:
                self.send(_packet(_CONNACK, 0, b"\x00\x02"))  # identifier rejected
                self.close()
                return
            client_id = f"ycsa-server-{id(self):x}"
        present = self.server.attach(self, client_id, clean=clean)
        self.send(_packet(_CONNACK, 0, bytes([1 if present else 0, 0])))
        assert self.session is not None
        self.session.resume()

    def _publish(self, flags: int, body: _Reader) -> None:
        qos, retain = (flags >> 1) & 0x03, bool(flags & 0x01)
        if qos == 3:
            raise _ProtocolError("PUBLISH with QoS 3")
        topic = body.string()
        if not _valid_topic(topic):
            raise _ProtocolError(f"PUBLISH to {topic!r}, which is not a topic name")
        packet_id = body.short() if qos else 0
        message = _Message(topic, body.rest(), qos, retain)
        if qos == 2:
            if packet_id not in self.qos2_received:  # a resent QoS 2 message goes out once
                self.qos2_received.add(packet_id)
                self.server.route(message)
            self.send(_packet(_PUBREC, 0, packet_id.to_bytes(2, "big")))
            return
        self.server.route(message)
        if qos == 1:
            self.send(_packet(_PUBACK, 0, packet_id.to_bytes(2, "big")))

    def _subscribe(self, body: _Reader) -> None:
        session = self.session
        assert session is not None
        packet_id = body.short()
        requests: list[tuple[str, int]] = []
        while body.at < len(body.data):
            requests.append((body.string(), body.byte() & 0x03))
        if not requests:
            raise _ProtocolError("SUBSCRIBE without a topic filter")
        codes = bytearray()
        granted_filters = []
        for topic_filter, qos in requests:
            if not _valid_filter(topic_filter) or qos == 3:
                codes.append(0x80)
                continue
            granted = min(qos, _GRANTED_MAX_QOS)
            session.subscriptions[topic_filter] = granted
            self.server.subscriptions.add(topic_filter, session, granted)
            codes.append(granted)
            granted_filters.append((topic_filter, granted))
        self.send(_packet(_SUBACK, 0, packet_id.to_bytes(2, "big") + bytes(codes)))
        # Retained messages go after the SUBACK, at the lower of their QoS and the grant.
        for topic_filter, granted in granted_filters:
            for message in self.server.retained.matching(topic_filter):
                session.deliver(message, min(message.qos, granted), retain=True)


class MqttServer:
    """The broker; run it in one asyncio loop (`start`, then `close` in the same loop)."""

    def __init__(self) -> None:
        self.connections: set[_Connection] = set()
        self.sessions: dict[str, _Session] = {}
        self.subscriptions = _Subscriptions()
        self.retained = _Retained()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int = 0) -> int:
        """Listen on `host`:`port` (0: any free port) and return the port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)
        self._sweeper = loop.create_task(self._sweep())
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            connection.said_goodbye = True  # the broker goes: no wills
            connection.close()
        for _ in range(100):  # each close ends in connection_lost on a later loop pass
            if not self.connections:
                break
            await asyncio.sleep(0)
        if self._server is not None:
            await self._server.wait_closed()

    def attach(self, connection: _Connection, client_id: str, *, clean: bool) -> bool:
        """Give `connection` its session; True when a stored session was resumed."""
        old = self.sessions.get(client_id)
        if old is not None and old.connection is not None:
            # A new connection takes the client id over: the server closes the old one (§3.1.4),
            # which then counts as lost (its will is published).
            old.connection.close()
            old.connection.session = None
            self._lost(old.connection, old)
            old = self.sessions.get(client_id)
        if old is not None and clean:
            self._forget(old)
            old = None
        present = old is not None
        session = old if old is not None else _Session(client_id, clean)
        session.clean = clean
        session.connection = connection
        connection.session = session
        self.sessions[client_id] = session
        return present

    def route(self, message: _Message) -> None:
        if message.retain:
            self.retained.put(message)
        for session, qos in self.subscriptions.match(message.topic).items():
            session.deliver(message, min(message.qos, qos))

    def ended(self, connection: _Connection) -> None:
        session, connection.session = connection.session, None
        if session is not None and session.connection is connection:
            self._lost(connection, session)

    def _lost(self, connection: _Connection, session: _Session) -> None:
        session.connection = None
        if not connection.said_goodbye and connection.will is not None:
            self.route(connection.will)
        connection.will = None
        if session.clean:
            self._forget(session)

    def _forget(self, session: _Session) -> None:
        for topic_filter in session.subscriptions:
            self.subscriptions.remove(topic_filter, session)
        session.subscriptions.clear()
        if self.sessions.get(session.client_id) is session:
            del self.sessions[session.client_id]

    async def _sweep(self) -> None:
        """Close connections silent for 1.5 keep-alive periods (§3.1.2.10): their will goes."""
        while True:
            await asyncio.sleep(_SWEEP)
            now = time.monotonic()
            for connection in list(self.connections):
                if (
                    connection.keepalive
                    and now - connection.last_heard > 1.5 * connection.keepalive
                ):
                    connection.close()
