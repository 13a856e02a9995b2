"""MQTT: JSON payloads read by pointer, commands with acknowledgements. The only paho user.

A device publishes below the prefix of its URI (`mqtt://broker:1883/city/pole/P001`); the
device map names its topics, the JSON Schema of each, and where each point sits in a payload
(an RFC 6901 pointer). Reading is listening: `MqttLink` subscribes, collects what arrives in a
window and unsubscribes. Subscribing makes the broker send the retained message of each topic
again (MQTT 3.1.1, 3.3.1.3 and 3.8.4), so retained telemetry reads at once and "is a retained
message present" can be asked at all. A retained message may be old (its device long gone);
`Reading.at` is when it arrived here, so staleness shows only in the payload's own clock.

Link requests (JSON-able, so `--record` can store them and `--replay` answer them):

    {"op": "collect", "topics": [...], "window": s, "stop": "each" | "live" | "never", "qos",
     "witnesses": [...]}
        -> {"messages": [{"topic", "payload", "retained", "qos", "at"}], "started", "ended",
            "acted"}
    {"op": "publish", "topic", "payload", "qos", "retain"}   -> {"at"}
    {"op": "command", "topic", "payload": {...}, "ack_topic", "correlation": "/id",
     "timeout": s, "qos"}                                    -> {"id", "ack": message, "sent", "at"}

A payload that is not UTF-8 travels base64-encoded, with "encoding": "base64". The link puts a
fresh correlation id into each command (or uses the request's "id"), so that a command request
is the same in a recording and in its replay.

A collect's window ("started") opens when the broker has acknowledged its subscriptions, not
when it was asked for: a busy machine may take a while to subscribe, and nothing is heard before.

A collect's optional "witnesses" are further topics listened to during the same window and
returned with the rest; only "topics" decide when a `stop` is reached. An observation uses them
to show the device is there at all (presence before absence: checks/presence.py). "acted" is
the host time the collect's stimulus (`act`) began: a device can answer a write before the
write's call has returned, and an event never comes before its cause was sent. A replay times
an arrival from the recorded stimulus, not from the moment of replaying. Every time is the host's
(`time.time()`, seconds since 1970); nothing is compared with a device's own clock here.

Our own connection to the broker closing during a transaction is `LostContact`: the window
was cut short and cannot be judged, which is not the device's fault nor its conformance.

Logins and TLS: the username and password are read from their references (secret.py) when a
connection opens, as `Masked` strings that never show themselves, and taken out of paho's client
once the CONNECT is sent. A login over plain mqtt:// is refused before connecting unless the
device allows it (`allow_plain_credentials`). mqtts:// verifies the certificate chain and host
name unless the site file turned it off (`tls: {verify: false}`; the report says so). An
unexpected exception while paho holds the login is raised again as a RuntimeError without its
traceback, the login masked in its message: paho's frames hold the CONNECT packet, password in
plain bytes, and `pytest -l`, JUnit and Allure would print them.

paho-mqtt 2.2 behaviour this module relies on or works around:
- callbacks run on paho's network thread; one exception there would end the thread, so they
  only record what arrived and notify the waiting caller;
- a client whose login is refused keeps reconnecting under `loop_start`, its retry sleeping
  up to 1 s where `loop_stop` cannot interrupt it; links turn paho's reconnecting off and
  connect again themselves on the next transaction;
- when the TLS handshake inside `connect()` fails, paho leaves the socket unclosed (a
  ResourceWarning, and under `-W error` a failed test); so the link checks the broker's
  certificate with its own short TLS connection first and gives paho the same SSL context.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import itertools
import json
import math
import os
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import jsonschema
import pint
from paho.mqtt import client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from ycsa_conform.devicemap import DeviceMap, MqttCommands, MqttPoint, MqttTopic
from ycsa_conform.errors import (
    DecodeError,
    DeviceError,
    DeviceRefused,
    DeviceTimeout,
    LostContact,
    YcsaError,
)
from ycsa_conform.point import POINTS
from ycsa_conform.progress import WAITS
from ycsa_conform.source import render_path
from ycsa_conform.units import format_quantity, ureg

from . import DeviceBase, Explain, LinkOptions, Reading, Request, Response
from .address import DeviceAddress
from .secret import MASK, Masked, Secret
from .writable import checked_magnitude

__all__ = [
    "Message",
    "MqttDevice",
    "MqttLink",
    "Observation",
    "PahoClient",
    "PahoMessage",
    "make_client",
    "resolve_pointer",
    "set_pointer",
    "unique_client_id",
]

PahoClient = paho.Client
PahoMessage = paho.MQTTMessage

_CONNECT_TIMEOUT = 5.0  # s, the least a connection attempt is given
_DEFAULT_CLIENT_ID = "ycsa-conform"
_KEEPALIVE = 60  # s
# Idle broker connections a link keeps for its next transactions; more that overlapped (the
# windows of several checks on one gateway) are closed when they end.
_IDLE_MAX = 2
# Pauses before a transaction whose connection was lost before it subscribed is tried again
# on a new one (a broker shedding load at a burst of subscriptions): three tries in all.
_RETRY_PAUSES = (0.2, 1.0)
# A broker that restarts (or drops our session) mid-run: how long it may take to take a
# connection again, and the pause between attempts, before its windows are errors.
_BROKER_BACK_WITHIN = 10.0  # s
_BROKER_RETRY_PAUSE = 0.5  # s
_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
# Process-wide on purpose: two links of one process (or a link and the bench's simulated
# gateway) must never share a client id, or the broker disconnects the older one. The pid keeps
# pytest-xdist workers apart; the random tag keeps apart machines on one city broker, CI
# containers above all, where every run may have the same small pid.
_CLIENT_NUMBERS = itertools.count(1)
_PROCESS_TAG = secrets.token_hex(3)


def unique_client_id(prefix: str = _DEFAULT_CLIENT_ID) -> str:
    """'PREFIX-PID-N-TAG': unique among the clients of all processes, on this host and others
    (TAG: 6 random hex digits per process)."""
    return f"{prefix}-{os.getpid()}-{next(_CLIENT_NUMBERS)}-{_PROCESS_TAG}"


def make_client(
    client_id: str, *, reconnect: bool = True, clean_session: bool = True
) -> paho.Client:
    """A paho client speaking MQTT 3.1.1 with the version-2 callback API (not yet connected).

    3.1.1, not 5: the embedded bench broker speaks only 3.1.1, and so do most pole
    gateways in the field. `reconnect=False`: when the connection drops, paho's network thread
    ends instead of retrying (its retry sleeps up to 1 s, and `loop_stop` waits for that).
    """
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=paho.MQTTv311,
        reconnect_on_failure=reconnect,
        clean_session=clean_session,
    )
    client.on_socket_open = _no_delay
    return client


def _no_delay(client: paho.Client, userdata: Any, sock: Any) -> None:
    # paho leaves Nagle on: a PUBACK and the UNSUBSCRIBE after it wait for the broker's delayed
    # ACK, 40 ms per read on Linux. Requests are single small packets; send them at once.
    with contextlib.suppress(OSError, AttributeError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# -- JSON pointers (RFC 6901) -----------------------------------------------------------------


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must start with '/', like '/power/voltage'")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at `pointer`; LookupError says which part of the pointer is missing."""
    node = document
    walked = ""
    for token in _tokens(pointer):
        walked += "/" + token.replace("~", "~0").replace("/", "~1")
        if isinstance(node, Mapping):
            if token not in node:
                raise LookupError(f"{walked} is missing")
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node) or (token != "0" and token[0] == "0"):
                raise LookupError(f"{walked} is not an index of a list of {len(node)}")
            node = node[int(token)]
        else:
            raise LookupError(f"{walked}: {walked.rsplit('/', 1)[0] or '/'} is not an object")
    return node


def set_pointer(document: dict[str, Any], pointer: str, value: Any) -> None:
    """Put `value` at `pointer`, creating objects on the way (command payloads)."""
    tokens = _tokens(pointer)
    if not tokens:
        raise ValueError("a command value needs a pointer below the root, like '/dimming'")
    node = document
    for token in tokens[:-1]:
        child = node.setdefault(token, {})
        if not isinstance(child, dict):
            raise ValueError(f"{pointer!r} runs through {token!r}, which is not an object")
        node = child
    node[tokens[-1]] = value


# -- the link ---------------------------------------------------------------------------------


def _message(msg: paho.MQTTMessage, at: float) -> dict[str, Any]:
    entry: dict[str, Any] = {"topic": msg.topic, "retained": bool(msg.retain), "qos": msg.qos}
    try:
        entry["payload"] = msg.payload.decode("utf-8")
    except UnicodeDecodeError:
        entry["payload"] = base64.b64encode(msg.payload).decode("ascii")
        entry["encoding"] = "base64"
    entry["at"] = at
    return entry


class _ConnectionLost(LostContact):
    """Our connection to the broker closed during a collect: its window was cut short."""


class _NotStarted(DeviceError):
    """The connection was lost before a transaction subscribed: nothing observed, nothing
    sent, so it may be tried again on a new connection."""


class _Sink:
    """Messages of one transaction: what arrives on `filters`, optionally only if `accept`.

    `witnesses` are collected too, but do not count towards completeness."""

    def __init__(
        self,
        filters: Sequence[str],
        accept: Callable[[dict[str, Any]], bool] | None = None,
        *,
        live: bool = False,
        witnesses: Sequence[str] = (),
    ) -> None:
        self.filters = tuple(filters)
        self.witnesses = tuple(w for w in witnesses if w not in self.filters)
        self.accept = accept
        self.live = live  # complete only once every filter has had a live (not retained) one
        self.messages: list[dict[str, Any]] = []
        self._seen: set[str] = set()

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return (*self.filters, *self.witnesses)

    def offer(self, msg: paho.MQTTMessage, at: float) -> None:
        matched = [f for f in self.filters if paho.topic_matches_sub(f, msg.topic)]
        if not matched and not any(paho.topic_matches_sub(w, msg.topic) for w in self.witnesses):
            return
        entry = _message(msg, at)
        if self.accept is not None and not self.accept(entry):
            return
        self.messages.append(entry)
        if not (self.live and entry["retained"]):
            self._seen.update(matched)

    def complete(self) -> bool:
        """Every filter has had a message."""
        return len(self._seen) == len(self.filters)


def _revealed(secret: Secret, where: str) -> Masked:
    """The secret's value, checked to be text MQTT can carry (UTF-8)."""
    try:
        value = secret.reveal()
    except DeviceError as exc:
        raise DeviceRefused(f"cannot connect to {where}: {exc}") from None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Not quoted: the offending character is part of the secret.
        raise DeviceRefused(
            f"cannot connect to {where}: the value of {secret} is not valid UTF-8 text; "
            "set it again as text"
        ) from None
    return value


def _withheld(exc: Exception, where: str, revealed: Sequence[Masked]) -> str:
    """The message of an unexpected exception raised while a login was in the client, with
    the login's values masked."""
    text = f"{type(exc).__name__}: {exc}"
    for value in revealed:
        if value.plain():
            text = text.replace(value.plain(), MASK)
    return (
        f"{where}: connecting with a login failed: {text} "
        "(traceback withheld: its frames hold the credentials)"
    )


class _Session:
    """One paho connection and what its callbacks reported, guarded by one condition."""

    def __init__(self, client: paho.Client) -> None:
        self.client = client
        self.changed = threading.Condition()
        self.connack: ReasonCode | None = None
        self.lost: str | None = None
        self.acks: dict[int, list[ReasonCode]] = {}
        self.sink: _Sink | None = None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_ack
        client.on_unsubscribe = self._on_ack
        client.on_message = self._on_message

    def _on_connect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        with self.changed:
            self.connack = rc
            self.changed.notify_all()

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        with self.changed:
            self.lost = str(rc)
            self.changed.notify_all()

    def _on_ack(
        self, client: paho.Client, userdata: Any, mid: int, codes: list[ReasonCode], props: Any
    ) -> None:
        with self.changed:
            self.acks[mid] = list(codes)
            self.changed.notify_all()

    def _on_message(self, client: paho.Client, userdata: Any, msg: paho.MQTTMessage) -> None:
        at = time.time()
        with self.changed:
            if self.sink is not None:
                self.sink.offer(msg, at)
                self.changed.notify_all()

    def wait(self, done: Callable[[], bool], deadline: float) -> bool:
        """Wait until `done()` or the connection is lost, at most until `deadline` (monotonic)."""
        with self.changed:
            while not done() and self.lost is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
            return done()

    def close(self) -> None:
        self.client.on_disconnect = None
        self.client.disconnect()
        self.client.loop_stop()
        # paho 2.2 closes its wake-up socket pair (two loopback TCP sockets) only in __del__,
        # and its callbacks keep the client in reference cycles: a district's run held
        # hundreds of them until the cycle collector ran, and pyserial's and pymodbus's
        # select() then failed on descriptors past 1,023. Close them now.
        self.client._reset_sockets()


class MqttLink:
    """The wire to one MQTT device: broker connections of our own, opened on first use.

    A transaction owns one connection until it ends (a collect owns the subscriptions it made),
    so transactions that overlap - the observation windows of several checks run at the same
    time - each take an idle connection or open another; a connection is kept for the next
    transaction unless it was lost. Every connection has a client id of its own.

    Windows do not share a connection, not even those that judge live traffic ("live",
    "never"): the broker sends a filter's retained messages only in answer to a SUBSCRIBE, to
    the whole connection, and those windows still judge the retained copies they receive
    (docs/concurrency.md names which).
    """

    def __init__(self, name: str, address: DeviceAddress, options: LinkOptions) -> None:
        if address.scheme not in _DEFAULT_PORTS:
            raise ValueError(f"{name}: {address} is not an MQTT address (mqtt:// or mqtts://)")
        if not options.timeout > 0:
            raise ValueError(f"{name}: timeout={options.timeout!r} must be more than 0 s")
        self.name = name
        self.address = address
        self.options = options
        self._lock = threading.Lock()  # guards the idle connections
        self._idle: list[_Session] = []
        self._busy: set[_Session] = set()
        self._closed = False
        self._connected_once = False  # the broker has taken a connection of this link

    @property
    def scheme(self) -> str:
        return self.address.scheme

    @property
    def _port(self) -> int:
        return self.address.port or _DEFAULT_PORTS[self.address.scheme]

    @property
    def _where(self) -> str:
        return f"{self.name} at {self.address}"

    def __repr__(self) -> str:
        return f"<MqttLink {self.name} {self.address}>"

    def close(self) -> None:
        """Close the idle connections; one in use closes when its transaction ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for session in idle:
            session.close()

    def transact(
        self,
        request: Request,
        *,
        explain: Explain | None = None,
        act: Callable[[], None] | None = None,
    ) -> Response:
        """Carry out `request`; `act` (collect only) runs once its subscriptions are confirmed,
        so a stimulus (a write to another device) cannot race the listening."""
        op = request.get("op")
        if op not in ("collect", "publish", "command"):
            raise ValueError(f"{self.name}: unknown MQTT request op {op!r}")
        try:
            return self._transact(request, act)
        except _ConnectionLost as lost:
            # A window the broker cut short (restarted, dropped our session) is observed once
            # more, whole, when the broker is back; never a stimulus's window or a command,
            # whose effect may already have happened.
            if op != "collect" or act is not None:
                raise
            self._await_broker(lost)
        except DeviceRefused as refused:
            # The broker took our connections before and refuses now: restarting, perhaps.
            if not self._connected_once:
                raise
            self._await_broker(refused)
        return self._transact(request, act)

    def _await_broker(self, cause: DeviceError) -> None:
        """Wait up to _BROKER_BACK_WITHIN s for the broker to take a connection again (kept
        idle for the next transaction); `cause`, with what was tried, when it does not."""
        deadline = time.monotonic() + _BROKER_BACK_WITHIN
        while True:
            try:
                session = self._connect()
            except DeviceRefused as exc:
                if time.monotonic() + _BROKER_RETRY_PAUSE > deadline:
                    raise type(cause)(
                        f"{cause}; the broker did not take a connection again within "
                        f"{_BROKER_BACK_WITHIN:g} s ({exc})"
                    ) from None
                time.sleep(_BROKER_RETRY_PAUSE)
                continue
            self._give_back(session)
            return

    def _transact(self, request: Request, act: Callable[[], None] | None) -> Response:
        op = request.get("op")
        for pause in (*_RETRY_PAUSES, None):
            session = self._take()
            try:
                if op == "collect":
                    return self._collect(session, request, act)
                if op == "publish":
                    return {"at": self._publish(session, request)}
                return self._command(session, request)
            except _NotStarted:
                # Lost before anything was observed or sent: again, on a new connection.
                if pause is None:
                    raise
            finally:
                self._give_back(session)
            time.sleep(pause)
        raise AssertionError("unreachable")

    # -- connection ---------------------------------------------------------------------------

    def _take(self) -> _Session:
        """An idle connection still open, or a new one (the link reconnects by itself, on the
        next transaction after a loss)."""
        while True:
            with self._lock:
                session = self._idle.pop() if self._idle else None
                if session is not None:
                    self._busy.add(session)
            if session is None:
                break
            if session.lost is None:
                return session
            self._give_back(session)
        session = self._connect()
        with self._lock:
            self._busy.add(session)
        return session

    def _give_back(self, session: _Session) -> None:
        with self._lock:
            self._busy.discard(session)
            keep = session.lost is None and not self._closed and len(self._idle) < _IDLE_MAX
            if keep:
                self._idle.append(session)
        if not keep:
            session.close()

    @property
    def connections(self) -> int:
        """Broker connections open now, idle or in a transaction."""
        with self._lock:
            return len(self._idle) + len(self._busy)

    def _connect(self) -> _Session:
        options = self.options
        login = options.username is not None or options.password is not None
        if login and self.address.scheme == "mqtt" and not options.allow_plain_credentials:
            # Before any socket: the login must not leave this machine unencrypted.
            raise DeviceRefused(
                f"cannot connect to {self._where}: the login would cross the network "
                "unencrypted over mqtt://; use mqtts://, or set 'allow_plain_credentials: "
                "true' on the device in the site file to send it in clear on purpose"
            )
        host, port = self.address.host, self._port
        prefix = self.address.params.get("client_id") or _DEFAULT_CLIENT_ID
        # The link reconnects by itself, on the next transaction after a loss.
        client = make_client(unique_client_id(prefix), reconnect=False)
        if self.address.scheme == "mqtts":
            context = self._tls_context()
            self._check_certificate(context, host, port)
            client.tls_set_context(context)
        connect_timeout = self._connect_timeout
        client.connect_timeout = connect_timeout
        session = _Session(client)
        revealed: list[Masked] = []
        try:
            revealed = self._log_in(client)
            try:
                client.connect(host, port, keepalive=_KEEPALIVE)
            except OSError as exc:  # refused, timed out, TLS: one mapping for every way to connect
                raise self._connect_refusal(exc, host, port) from None
            client.loop_start()
            deadline = time.monotonic() + connect_timeout
            session.wait(lambda: session.connack is not None, deadline)
        except (YcsaError, OSError):
            raise
        except Exception as exc:
            if not revealed:
                raise
            # A bug of ours or paho's while the login is in the client: raised again without
            # its traceback, whose paho frames hold the CONNECT packet with the password in
            # plain bytes (`pytest -l`, JUnit and Allure would print them).
            raise RuntimeError(_withheld(exc, self._where, revealed)) from None
        finally:
            if revealed:
                # Sent; paho needs them again only to reconnect, which links do themselves.
                client.username_pw_set(None, None)
        connack = session.connack
        if connack is None or connack.is_failure:
            session.close()
            raise self._connack_refusal(connack, session.lost, host, port)
        self._connected_once = True
        return session

    def _log_in(self, client: paho.Client) -> list[Masked]:
        """Give `client` the device's login, if it has one: the values, as `Masked` strings
        (secret.py), read now and never kept or put in a message."""
        options = self.options
        if options.username is None and options.password is None:
            return []
        username = _revealed(options.username, self._where) if options.username else Masked("")
        password = _revealed(options.password, self._where) if options.password else None
        client.username_pw_set(username, password)
        return [username] if password is None else [username, password]

    def _connack_refusal(
        self, connack: ReasonCode | None, lost: str | None, host: str, port: int
    ) -> DeviceRefused:
        if connack is None:
            tls_hint = (
                "; if that port speaks TLS, use mqtts://" if self.address.scheme == "mqtt" else ""
            )
            what = (
                f"closed it ({lost}) without an MQTT CONNACK"
                if lost is not None
                else f"sent no MQTT CONNACK within {self.options.timeout:g} s"
            )
            return DeviceRefused(
                f"cannot connect to {self._where}: {host}:{port} accepted the TCP connection but "
                f"{what}{tls_hint}"
            )
        reason = str(connack)
        if reason in ("Not authorized", "Bad user name or password"):
            login = (
                "check the username/password references in the site file"
                if self.options.username is not None or self.options.password is not None
                else "the broker wants a login; give 'username: env:NAME' and "
                "'password: env:NAME' on the device in the site file"
            )
            return DeviceRefused(f"{self._where}: the broker refused the login: {reason}: {login}")
        if reason in ("Client identifier not valid", "Identifier rejected"):
            return DeviceRefused(
                f"{self._where}: the broker rejected the client id ({reason}); set another "
                "prefix with '?client_id=NAME' in the device URI"
            )
        return DeviceRefused(f"{self._where}: the broker refused the connection: {reason}")

    def _tls_context(self) -> ssl.SSLContext:
        ca, cert, key = self.options.ca, self.options.cert, self.options.key
        try:
            # Verifies the chain and the host name (check_hostname), like any TLS client.
            context = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
        except FileNotFoundError:
            raise DeviceRefused(
                f"{self._where}: CA file {ca} not found; fix 'ca:' on the device in the site file"
            ) from None
        except (ssl.SSLError, OSError) as exc:
            raise DeviceRefused(
                f"{self._where}: CA file {ca} is not a PEM certificate ({exc}); give the CA "
                "certificate that signed the broker's certificate"
            ) from None
        if not self.options.tls_verify:
            # The site file turned verification off (`tls: {verify: false}`), and the report
            # says so: the connection is encrypted, but the broker is not known to be the one.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if cert is not None:
            try:
                context.load_cert_chain(str(cert), str(key) if key is not None else None)
            except FileNotFoundError as exc:
                raise DeviceRefused(
                    f"{self._where}: client certificate or key file {exc.filename or cert} not "
                    "found; fix 'cert:' and 'key:' on the device in the site file"
                ) from None
            except (ssl.SSLError, OSError) as exc:
                raise DeviceRefused(
                    f"{self._where}: client certificate {cert} and key {key} do not load "
                    f"({exc}); give a PEM certificate and its unencrypted key"
                ) from None
        return context

    def _check_certificate(self, context: ssl.SSLContext, host: str, port: int) -> None:
        """One TLS handshake of our own, so a refusal is reported and its socket closed."""
        try:
            with (
                socket.create_connection((host, port), timeout=self._connect_timeout) as raw,
                context.wrap_socket(raw, server_hostname=host),
            ):
                pass
        except OSError as exc:
            raise self._connect_refusal(exc, host, port) from None

    @property
    def _connect_timeout(self) -> float:
        # Connecting gets at least _CONNECT_TIMEOUT: TCP, TLS and CONNACK over a field network
        # (or to a busy embedded broker) can take longer than the wait for one message.
        return max(self.options.timeout, _CONNECT_TIMEOUT)

    def _connect_refusal(self, exc: OSError, host: str, port: int) -> DeviceRefused:
        if isinstance(exc, ssl.SSLError):
            return self._tls_refusal(exc)
        if isinstance(exc, ConnectionRefusedError):
            return DeviceRefused(
                f"cannot connect to {self._where}: {host}:{port} refused the connection; check "
                "the host and port, and that the broker is running"
            )
        if isinstance(exc, TimeoutError):
            return DeviceRefused(
                f"cannot connect to {self._where}: no answer from {host}:{port} within "
                f"{self._connect_timeout:g} s; check the address and the network path to the "
                "broker"
            )
        return DeviceRefused(
            f"cannot connect to {self._where}: {host}:{port}: {exc.strerror or exc}"
        )

    def _tls_refusal(self, exc: ssl.SSLError) -> DeviceRefused:
        ca = self.options.ca
        if isinstance(exc, ssl.SSLCertVerificationError):
            against = f"CA file {ca}" if ca is not None else "the system's CA certificates"
            fix = (
                "give the CA that signed the broker's certificate as 'ca:'"
                if "hostname" not in str(exc.verify_message).lower()
                else "use the host name the certificate was issued for in the device URI"
            )
            return DeviceRefused(
                f"{self._where}: the broker's TLS certificate does not verify against {against} "
                f"({exc.verify_message}); {fix} on the device in the site file"
            )
        return DeviceRefused(
            f"{self._where}: the TLS handshake failed ({exc.reason or exc}); check that the "
            "port speaks TLS (mqtts://), or use mqtt:// for a plain port"
        )

    # -- requests -----------------------------------------------------------------------------

    def _subscribe(self, session: _Session, topics: Sequence[str], qos: int) -> None:
        result, mid = session.client.subscribe([(t, qos) for t in topics])
        if result == paho.MQTT_ERR_NO_CONN:
            # Closed by the broker before paho's thread noticed (another client took the idle
            # connection's id): nothing observed or sent, so again on a new connection.
            raise _NotStarted(f"{self._where}: the broker closed the connection")
        if result != paho.MQTT_ERR_SUCCESS or mid is None:
            raise DeviceError(f"{self._where}: cannot subscribe: {paho.error_string(result)}")
        deadline = time.monotonic() + self.options.timeout
        if not session.wait(lambda: mid in session.acks, deadline):
            if session.lost is not None:
                raise _NotStarted(
                    f"{self._where}: the broker closed the connection ({session.lost})"
                )
            raise DeviceTimeout(
                f"{self._where}: the broker did not confirm the subscription to "
                f"{', '.join(topics)} within {self.options.timeout:g} s"
            )
        with session.changed:
            codes = session.acks.pop(mid)
        for topic, code in zip(topics, codes, strict=False):
            if code.is_failure:
                raise DeviceError(
                    f"{self._where}: the broker refused the subscription to {topic} ({code}); "
                    "check that the broker lets this user read it (its ACL)"
                )

    def _unsubscribe(self, session: _Session, topics: Sequence[str]) -> None:
        # Waiting for UNSUBACK matters: the broker sends it after every message of the old
        # subscription, so no late message can leak into the next transaction's sink.
        result, mid = session.client.unsubscribe(list(topics))
        if result != paho.MQTT_ERR_SUCCESS or mid is None:
            return
        deadline = time.monotonic() + self.options.timeout
        if session.wait(lambda: mid in session.acks, deadline):
            with session.changed:
                session.acks.pop(mid, None)

    def _listen(
        self,
        session: _Session,
        sink: _Sink,
        qos: int,
        done: Callable[[], bool],
        deadline: Callable[[], float],
        act: Callable[[], None] | None = None,
        acted: Callable[[], None] = lambda: None,
        subscribed: Callable[[], None] = lambda: None,
    ) -> None:
        with session.changed:
            session.sink = sink
        try:
            self._subscribe(session, sink.subscriptions, qos)
            subscribed()
            if act is not None:
                acted()  # before: the device may answer before the write's call returns
                act()
            session.wait(done, deadline())
            if session.lost is not None:
                raise _ConnectionLost(
                    f"lost contact with the broker of {self._where}: our connection closed "
                    f"({session.lost})"
                )
        finally:
            with session.changed:
                session.sink = None
            if session.lost is None:
                self._unsubscribe(session, sink.subscriptions)

    def _collect(
        self, session: _Session, request: Request, act: Callable[[], None] | None = None
    ) -> Response:
        topics = [str(t) for t in request["topics"]]
        window = float(request["window"])
        stop = request.get("stop", "each")
        witnesses = [str(t) for t in request.get("witnesses", ())]
        if not topics or stop not in ("each", "live", "never") or not window > 0:
            raise ValueError(f"{self.name}: bad collect request {dict(request)!r}")
        sink = _Sink(topics, live=stop == "live", witnesses=witnesses)
        started = time.time()
        # The window opens when the broker has acknowledged the subscription: nothing can be
        # heard before, and on a busy machine subscribing can take a good part of a short
        # window (a quiet 2 s window missed the retained status the broker sends on SUBACK).
        opened: list[tuple[float, float]] = []  # (time.time(), time.monotonic())
        acted: list[float] = []
        try:
            self._listen(
                session,
                sink,
                int(request.get("qos", 1)),
                done=(lambda: sink.complete()) if stop != "never" else (lambda: False),
                deadline=lambda: opened[0][1] + window,
                act=act,
                acted=lambda: acted.append(time.time()),
                subscribed=lambda: opened.append((time.time(), time.monotonic())),
            )
        except LostContact as exc:
            raise type(exc)(
                f"{exc} {time.time() - started:.1f} s into the {window:g} s window on "
                f"{', '.join(topics)}; the window cannot be judged: check the broker and the "
                "network path to it"
            ) from None
        # A message the broker sent right after its SUBACK (a retained one, say) may be stamped
        # on arrival before this thread had stamped the opening: the window opened no later
        # than the first message heard in it.
        opening = opened[0][0] if opened else started
        arrivals = [float(m["at"]) for m in sink.messages]
        response: dict[str, Any] = {
            "messages": sink.messages,
            "started": min([opening, *arrivals]),
            "ended": time.time(),
        }
        if acted:
            response["acted"] = acted[0]
        return response

    def _publish(self, session: _Session, request: Request) -> float:
        payload = request["payload"]
        data = (
            base64.b64decode(payload)
            if request.get("encoding") == "base64"
            else str(payload).encode("utf-8")
        )
        topic = str(request["topic"])
        # The time the message left us, taken before it goes: the broker may deliver it, and the
        # device answer it, before our QoS 1 PUBACK is read (a bench gateway's 0.3 s command
        # latency measured 0.297 s from the PUBACK). A round trip timed from here is never
        # shorter than the device's own; an upper limit on it cannot pass on our lateness.
        leaving = time.time()
        info = session.client.publish(
            topic, data, qos=int(request.get("qos", 1)), retain=bool(request.get("retain", False))
        )
        try:
            info.wait_for_publish(self.options.timeout)
        except (ValueError, RuntimeError) as exc:
            raise DeviceError(f"{self._where}: cannot publish on {topic}: {exc}") from None
        if not info.is_published():
            raise DeviceTimeout(
                f"{self._where}: the broker did not take the message on {topic} within "
                f"{self.options.timeout:g} s"
            )
        return leaving

    def _command(self, session: _Session, request: Request) -> Response:
        correlation = str(request["correlation"])
        command_id = str(request.get("id") or uuid.uuid4().hex[:16])
        body = copy.deepcopy(dict(request["payload"]))
        set_pointer(body, correlation, command_id)
        topic, ack_topic = str(request["topic"]), str(request["ack_topic"])
        timeout = float(request.get("timeout", self.options.timeout))
        qos = int(request.get("qos", 1))

        def ours(entry: dict[str, Any]) -> bool:
            try:
                value = resolve_pointer(json.loads(entry["payload"]), correlation)
            except (ValueError, LookupError, TypeError):
                return False  # another client's acknowledgement, or not JSON: not ours
            return str(value) == command_id

        sink = _Sink([ack_topic], accept=ours)
        sent = time.time()
        deadline = 0.0

        def publish() -> None:
            nonlocal sent, deadline
            publish_request = {"topic": topic, "payload": json.dumps(body), "qos": qos}
            sent = self._publish(session, publish_request)
            deadline = time.monotonic() + timeout

        self._listen(
            session,
            sink,
            qos,
            done=lambda: bool(sink.messages),
            deadline=lambda: deadline,
            act=publish,
        )
        if not sink.messages:
            raise DeviceTimeout(
                f"no acknowledgement from {self.name} on {ack_topic} within {timeout:g} s for "
                f"command id {command_id} (sent on {topic}); check that the device is online "
                "and the device map's command and ack topics"
            )
        ack = sink.messages[0]
        return {"id": command_id, "ack": ack, "sent": sent, "at": ack["at"]}


# -- the device -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One message seen on a topic: its JSON (`data`) or what is wrong with it (`problem`)."""

    topic: str
    payload: str
    retained: bool
    qos: int
    at: float  # host clock, seconds since the epoch
    data: Any
    problem: str | None
    key: str = ""  # the device map's name of the topic it came on ("" when unknown)


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """What arrived on one topic of a device during a window, in arrival order.

    `heard` holds what the device said on its other topics in the same window (with
    `witnesses=True`), the retained messages sent on subscribing included: the evidence that
    the device is there at all. Times are the host's; `acted` is when the stimulus of the
    window began (None without one)."""

    key: str  # the device map's name of the topic
    topic: str
    schema: Path | None
    messages: tuple[Message, ...]
    started: float
    ended: float
    heard: tuple[Message, ...] = ()
    witnesses: tuple[str, ...] = ()  # the other topics listened to (full topics)
    acted: float | None = None
    time_unit: str = "s"  # the unit of the time stamps in this topic's payloads (device map)
    device_map: Path | None = None  # the device map's file, to name it in reasons
    # The last live (not retained) message of each of the device's topics that an earlier
    # window of this device heard: the device was there before this window opened.
    earlier: tuple[Message, ...] = ()


def _by_key(response: Response, topics: Mapping[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """The response's messages with the key of the topic (of `topics`: key -> full topic or
    filter) each came on; messages on none of them are left out."""
    found = []
    for entry in response["messages"]:
        topic = str(entry["topic"])
        key = next((k for k, f in topics.items() if paho.topic_matches_sub(f, topic)), None)
        if key is not None:
            found.append((key, entry))
    return found


def _number(value: float) -> float | int:
    # Gateways often parse integers strictly ("dimming": 50, not 50.0): send whole numbers so.
    return int(value) if value.is_integer() else value


class MqttDevice(DeviceBase):
    """One device publishing JSON below a topic prefix, read and written by logical point."""

    def __init__(
        self,
        name: str,
        address: DeviceAddress,
        devicemap: DeviceMap,
        link: Any,
        options: LinkOptions | None = None,
    ) -> None:
        if devicemap.protocol != "mqtt":
            raise ValueError(
                f"{name}: device map {devicemap.id!r} ({devicemap.path}) is for "
                f"{devicemap.protocol}, not mqtt"
            )
        super().__init__(name, address, devicemap, link, options)
        self._validators = {
            key: jsonschema.Draft202012Validator(dict(topic.schema))
            for key, topic in devicemap.topics.items()
            if topic.schema is not None
        }
        # What this device was last heard saying on each topic, live (see Observation.earlier).
        self._heard: dict[str, Message] = {}
        self._heard_lock = threading.Lock()

    def topic(self, key: str) -> str:
        """The full topic of the device map's topic `key`: PREFIX/TOPIC."""
        return f"{self.address.prefix}/{self._topic(key).topic}"

    # -- reading ------------------------------------------------------------------------------

    def read_many(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        """All `points` from one collect over their topics; unknown names raise ValueError."""
        return self._read(points, stop="each")

    def read_fresh(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        """Like read_many, but waits (up to the timeout) for a live message on each topic: the
        retained one may predate a change another device just made (the value an actuation
        must restore). Without a live message in time, the retained one is used."""
        return self._read(points, stop="live")

    def _read(self, points: Sequence[str], *, stop: str) -> dict[str, Reading | DeviceError]:
        specs = [self._point(p) for p in dict.fromkeys(points)]
        if not specs:
            return {}
        keys = list(dict.fromkeys(s.topic for s in specs))
        window = self.options.timeout
        request = {
            "op": "collect",
            "topics": [self.topic(k) for k in keys],
            "window": window,
            "stop": stop,
            "qos": max(self.devicemap.topics[k].qos for k in keys),
        }
        self._transactions += 1
        try:
            response = self._link.transact(
                request, explain=lambda r: self._explain(specs, window, r)
            )
        except DeviceError as exc:
            names = ", ".join(s.name for s in specs)
            return {s.name: type(exc)(f"{exc} [points: {names}]") for s in specs}
        self._remember(
            [
                self._message(self.devicemap.topics[k], e)
                for k, e in _by_key(response, {k: self.topic(k) for k in keys})
                if not e.get("retained", False)
            ]
        )
        decoded = self._decode(specs, window, response)
        return {p: decoded[p] for p in dict.fromkeys(points)}

    def _remember(self, messages: Sequence[Message]) -> tuple[Message, ...]:
        """Keep the live messages among `messages` as what the device was last heard saying;
        the ones kept before, as `Observation.earlier`."""
        with self._heard_lock:
            earlier = tuple(self._heard.values())
            for message in messages:
                last = self._heard.get(message.key)
                if not message.retained and (last is None or message.at > last.at):
                    self._heard[message.key] = message
        return earlier

    def minimum_transactions(self, points: Sequence[str]) -> int:
        """One collect covers every topic, however many points and topics."""
        for name in points:
            self._point(name)
        return 1 if points else 0

    def observe(
        self,
        topic_key: str,
        *,
        window: float,
        stop: str = "never",
        act: Callable[[], None] | None = None,
        witnesses: bool = False,
    ) -> Observation:
        """Every message on the topic `topic_key` for `window` s (or to the first: stop='each').

        A wildcard topic (`devices/+`) gives the messages of every topic it matches, each
        with its own topic; the topic's schema applies to all of them.

        `act` runs once the subscription is confirmed (a stimulus whose answer is awaited).
        `witnesses`: also listen to every other topic of the device map but its command topic
        (which the platform publishes on, not the device) and return what arrives there as
        `heard`, the evidence that the device is there."""
        spec = self._topic(topic_key)
        if not window > 0:
            raise ValueError(f"{self.name}: window={window!r} must be more than 0 s")
        if stop not in ("each", "never"):
            raise ValueError(f"{self.name}: stop={stop!r}; use 'each' or 'never'")
        full = self.topic(topic_key)
        request: dict[str, Any] = {
            "op": "collect",
            "topics": [full],
            "window": window,
            "stop": stop,
            "qos": spec.qos,
        }
        others = self._witness_keys(topic_key) if witnesses else []
        if others:
            request["witnesses"] = [self.topic(k) for k in others]
        self._transactions += 1
        explain = lambda r: self._explain_observation(spec, r)  # noqa: E731 - used twice
        what = f"{self.name} {topic_key} messages" + (" (or the first)" if stop == "each" else "")
        with WAITS.waiting(what, window):  # the live progress line (ycsa_conform/progress.py)
            response = (
                self._link.transact(request, explain=explain)
                if act is None
                # The MQTT links (live, recording, replay) take `act`; the Link protocol does not.
                else cast(Any, self._link).transact(request, explain=explain, act=act)
            )
        # A wildcard topic (`devices/+`) gathers the messages of many topics; each keeps its own.
        messages: list[Message] = []
        heard: list[Message] = []
        for entry in response["messages"]:
            topic = str(entry["topic"])
            if paho.topic_matches_sub(full, topic):
                messages.append(self._message(spec, entry))
                continue
            key = next((k for k in others if paho.topic_matches_sub(self.topic(k), topic)), None)
            if key is not None:
                heard.append(self._message(self.devicemap.topics[key], entry))
        # What other windows heard before this one opened (they may end after it opened).
        started = float(response["started"])
        earlier = tuple(m for m in self._remember((*messages, *heard)) if m.at < started)
        acted = response.get("acted")
        return Observation(
            key=topic_key,
            topic=full,
            schema=spec.schema_path,
            messages=tuple(messages),
            started=started,
            ended=float(response["ended"]),
            heard=tuple(heard),
            witnesses=tuple(self.topic(k) for k in others),
            acted=float(acted) if acted is not None else None,
            time_unit=spec.time_unit,
            device_map=self.devicemap.path,
            earlier=earlier,
        )

    def _witness_keys(self, topic_key: str) -> list[str]:
        """The map's topics that show the device is there: all but `topic_key` and the topic
        commands go out on (the platform publishes there, not the device)."""
        commands = self.devicemap.commands
        command_topic = commands.topic if commands is not None else None
        return [k for k in self.devicemap.topics if k not in (topic_key, command_topic)]

    # -- writing ------------------------------------------------------------------------------

    def write(self, point: str, value: pint.Quantity[Any] | bool) -> None:
        """Command a writable point and wait for the device's acknowledgement."""
        self.command(point, value, timeout=self.options.timeout, retries=self.options.retries)

    def command(
        self,
        point: str,
        value: pint.Quantity[Any] | bool,
        *,
        timeout: float,
        retries: int = 0,
    ) -> float:
        """Command a writable point, wait up to `timeout` s for its acknowledgement, and
        return the round trip (s, from the command leaving to its acknowledgement arriving).

        DeviceTimeout when no acknowledgement with the command's id comes in time."""
        if not timeout > 0:
            raise ValueError(f"{self.name}: timeout={timeout!r} must be more than 0 s")
        spec = self._point(point)
        commands = self.devicemap.commands
        magnitude = self._checked(spec, value)
        # _checked made sure of both.
        assert commands is not None
        assert spec.command is not None
        payload: dict[str, Any] = {}
        set_pointer(payload, spec.command, _number(magnitude / spec.scale))
        ack_spec = self._topic(commands.ack)
        request = {
            "op": "command",
            "topic": self.topic(commands.topic),
            "payload": payload,
            "ack_topic": self.topic(commands.ack),
            "correlation": commands.correlation,
            "timeout": timeout,
            "qos": self._topic(commands.topic).qos,
        }
        shown = format_quantity(ureg.Quantity(magnitude, spec.unit))
        response: Response | None = None
        for attempt in range(retries + 1):
            self._transactions += 1
            try:
                response = self._link.transact(
                    request, explain=lambda r: {spec.name: f"{shown}: {self._ack_status(r)}"}
                )
                break
            except DeviceTimeout as exc:
                if attempt == retries:
                    raise DeviceTimeout(f"{exc} [point: {spec.name}]") from None
            except DeviceError as exc:
                raise type(exc)(f"{exc} [point: {spec.name}]") from None
        assert response is not None
        ack = self._message(ack_spec, response["ack"])
        where = f"{self.name} at {self.address}: command {spec.name} = {shown}"
        if ack.problem is not None:
            raise DecodeError(f"{where}: unusable acknowledgement: {ack.problem}")
        try:
            status = resolve_pointer(ack.data, commands.status)
        except LookupError as exc:
            raise DecodeError(
                f"{where}: the acknowledgement on {ack.topic} has no status ({exc}); the "
                f"device map {self.devicemap.path} expects it at {commands.status}"
            ) from None
        # 1 == True in Python; a device answering 1 where the map accepts true is not the same.
        if not any(
            isinstance(a, bool) == isinstance(status, bool) and a == status
            for a in commands.accepted
        ):
            accepted = ", ".join(repr(a) for a in commands.accepted)
            raise DeviceError(
                f"{where} was refused: the acknowledgement on {ack.topic} has status "
                f"{status!r} at {commands.status} (accepted: {accepted})"
            )
        return max(0.0, float(response["at"]) - float(response["sent"]))

    def send_command(self, payload: Mapping[str, Any], *, timeout: float) -> str | None:
        """Send `payload` as it is on the map's command topic, with a fresh correlation id at
        the map's `correlation` pointer, and return the payload of the acknowledgement that
        carries that id (None: none within `timeout` s). For the `fuzz` check: commands no
        point write would build (wrong types, missing fields, values out of range)."""
        commands = self._commands()
        request = {
            "op": "command",
            "topic": self.topic(commands.topic),
            "payload": dict(payload),
            "ack_topic": self.topic(commands.ack),
            "correlation": commands.correlation,
            "timeout": timeout,
            "qos": self._topic(commands.topic).qos,
        }
        self._transactions += 1
        self.probes += 1
        try:
            response = self._link.transact(request)
        except DeviceTimeout:
            return None
        return str(response["ack"]["payload"])

    def publish_raw(self, data: bytes) -> None:
        """Publish `data` as it is on the map's command topic (the `fuzz` check's payloads that
        are no JSON object, which carry no correlation id and so get no acknowledgement that
        could be told apart)."""
        commands = self._commands()
        try:
            payload, extra = data.decode("utf-8"), {}
        except UnicodeDecodeError:
            payload, extra = base64.b64encode(data).decode("ascii"), {"encoding": "base64"}
        request = {
            "op": "publish",
            "topic": self.topic(commands.topic),
            "payload": payload,
            "qos": self._topic(commands.topic).qos,
            "retain": False,
            **extra,
        }
        self._transactions += 1
        self.probes += 1
        self._link.transact(request)

    # -- internals ----------------------------------------------------------------------------

    def _commands(self) -> MqttCommands:
        if self.devicemap.commands is None:
            raise ValueError(
                f"{self._where()}: the device map {self.devicemap.path} declares no commands "
                "(add 'commands: {topic, ack, correlation, status, accepted}')"
            )
        return self.devicemap.commands

    def _where(self) -> str:
        return f"{self.name} at {self.address}"

    def _point(self, name: str) -> MqttPoint:
        try:
            point = self.devicemap.point(name)
        except ValueError as exc:
            raise ValueError(f"{self._where()}: {exc}") from None
        if not isinstance(point, MqttPoint):  # pragma: no cover - loaders keep one protocol
            raise TypeError(f"{name} in {self.devicemap.path} is not an MQTT point")
        return point

    def _topic(self, key: str) -> MqttTopic:
        try:
            return self.devicemap.topics[key]
        except KeyError:
            raise ValueError(
                f"{self._where()}: device map {self.devicemap.id!r} ({self.devicemap.path}) has "
                f"no topic {key!r}; it declares: {', '.join(self.devicemap.topics)}"
            ) from None

    def _checked(self, spec: MqttPoint, value: pint.Quantity[Any] | bool) -> float:
        """The magnitude to command, after the device map's writable range allowed it."""
        what = f"{self._where()}: refusing to write {spec.name}"
        if spec.writable is None or spec.unit is None:
            raise ValueError(
                f"{what}: the device map {self.devicemap.path} does not declare it writable "
                "(add 'writable: LOW .. HIGH' and 'command: /POINTER' to the point if the "
                "device accepts commands for it)"
            )
        if spec.command is None or self.devicemap.commands is None:
            raise ValueError(
                f"{what}: the device map {self.devicemap.path} gives no command pointer for it "
                "(add 'command: /POINTER', like 'command: /dimming')"
            )
        return checked_magnitude(what, spec.unit, spec.writable, value, self.devicemap.path)

    def _message(self, spec: MqttTopic, entry: Mapping[str, Any]) -> Message:
        data, problem = self._parse(spec, entry)
        return Message(
            topic=str(entry["topic"]),
            payload=str(entry["payload"]),
            retained=bool(entry.get("retained", False)),
            qos=int(entry.get("qos", 0)),
            at=float(entry["at"]),
            data=data,
            problem=problem,
            key=spec.key,
        )

    def _parse(self, spec: MqttTopic, entry: Mapping[str, Any]) -> tuple[Any, str | None]:
        """The payload's JSON, and None or what is wrong with it (not JSON, breaks its schema)."""
        topic = entry["topic"]
        payload = str(entry["payload"])
        if entry.get("encoding") == "base64":
            size = len(base64.b64decode(payload))
            return None, f"payload on {topic} is not JSON: {size} bytes that are not UTF-8 text"
        try:
            data = json.loads(payload)
        except ValueError as exc:
            shown = payload if len(payload) <= 60 else payload[:57] + "..."
            return None, f"payload on {topic} is not JSON: {exc} (payload {shown!r})"
        validator = self._validators.get(spec.key)
        if validator is None:
            return data, None
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
        if error is None:
            return data, None
        return data, (
            f"payload on {topic} breaks its schema {spec.schema_path} at "
            f"{render_path(error.absolute_path)}: {error.message}"
        )

    def _decode(
        self, specs: Sequence[MqttPoint], window: float, response: Response
    ) -> dict[str, Reading | DeviceError]:
        latest: dict[str, Mapping[str, Any]] = {}
        for entry in response["messages"]:
            latest[entry["topic"]] = entry  # arrival order: the last one is the newest
        results: dict[str, Reading | DeviceError] = {}
        for key in dict.fromkeys(s.topic for s in specs):
            on_topic = [s for s in specs if s.topic == key]
            topic_spec = self._topic(key)
            full = self.topic(key)
            entry = latest.get(full)
            if entry is None:
                names = ", ".join(s.name for s in on_topic)
                error: DeviceError = DeviceTimeout(
                    f"no message from {self._where()} on {full} within {window:g} s "
                    f"[points: {names}]; check that the device publishes there (and retains "
                    "its telemetry), and the prefix in the device URI"
                )
                results.update((s.name, error) for s in on_topic)
                continue
            message = self._message(topic_spec, entry)
            if message.problem is not None:
                names = ", ".join(s.name for s in on_topic)
                decode_error = DecodeError(f"{self.name}: {message.problem} [points: {names}]")
                results.update((s.name, decode_error) for s in on_topic)
                continue
            for spec in on_topic:
                results[spec.name] = self._value(spec, message)
        return results

    def _value(self, spec: MqttPoint, message: Message) -> Reading | DeviceError:
        where = f"{self.name}: {spec.name} at {spec.pointer} on {message.topic}"
        try:
            raw = resolve_pointer(message.data, spec.pointer)
        except LookupError as exc:
            return DecodeError(
                f"{where}: not in the payload ({exc}); the device map {self.devicemap.path} "
                "points there"
            )
        kind = POINTS[spec.name].unit
        value: pint.Quantity[Any] | bool | str
        if kind == "flag":
            if raw not in (True, False):  # also 0 and 1, which many firmwares send for flags
                return DecodeError(f"{where} is {raw!r}, not true/false")
            value = bool(raw)
        elif kind == "text":
            if isinstance(raw, dict | list) or raw is None:
                return DecodeError(f"{where} is {json.dumps(raw)}, not a text")
            value = str(raw)
        else:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                return DecodeError(f"{where} is {json.dumps(raw)}, not a number")
            if not math.isfinite(raw):
                return DecodeError(f"{where} is {raw}, not a finite number")
            # 12 significant digits hide binary noise of the scale (2301 * 0.1).
            value = ureg.Quantity(float(f"{raw * spec.scale:.12g}"), spec.unit)
        return Reading(spec.name, value, message.at, self.source, retained=message.retained)

    def _explain(
        self, specs: Sequence[MqttPoint], window: float, response: Response
    ) -> dict[str, str]:
        try:
            decoded = self._decode(specs, window, response)
        except Exception:  # a recording shows what it can; it never breaks the run
            return {}
        shown: dict[str, str] = {}
        for name, result in decoded.items():
            if isinstance(result, DeviceError):
                shown[name] = f"{type(result).__name__}: {result}"
            elif isinstance(result.value, pint.Quantity):
                shown[name] = format_quantity(result.value)
            else:
                shown[name] = str(result.value)
        return shown

    def _explain_observation(self, spec: MqttTopic, response: Response) -> dict[str, str]:
        try:
            full = self.topic(spec.key)
            messages = [
                self._message(spec, e)
                for e in response["messages"]
                if paho.topic_matches_sub(full, str(e["topic"]))
            ]
            started = float(response["started"])
        except Exception:  # a recording shows what it can; it never breaks the run
            return {}
        if not messages:
            return {spec.key: "no message"}
        bad = sum(m.problem is not None for m in messages)
        text = f"{len(messages)} message(s), first after {messages[0].at - started:.3f} s"
        return {spec.key: text + (f", {bad} invalid" if bad else "")}

    def _ack_status(self, response: Response) -> str:
        commands = self.devicemap.commands
        try:
            assert commands is not None
            ack = self._message(self._topic(commands.ack), response["ack"])
            return f"status {resolve_pointer(ack.data, commands.status)!r}"
        except Exception:  # a recording shows what it can; it never breaks the run
            return "acknowledged"
