"""One network thread for the MQTT clients of a fleet's gateways.

paho's own network thread (`loop_start`) is one thread per client, and it waits with
`select()`, which cannot watch a descriptor numbered 1024 or above. A fleet of 1,000 gateways
holds some 3,000 descriptors besides its Modbus servers, so the bench drives them all from one
thread with the operating system's poller (epoll on Linux) through paho's external-loop
interface: paho says when a socket opens, closes, or has bytes to send, and the hub calls
`loop_read`, `loop_write` and, once a second, `loop_misc` (keep-alive).

    hub = GatewayHub()
    hub.attach(client)        # before client.connect(): the hub learns of its socket
    ...                       # publish from any thread, as with loop_start
    hub.detach(client)        # after client.disconnect() or when the gateway vanishes
    hub.stop()

A connection that drops (the broker-drops-connection fault, a broker restart) is reconnected
after `reconnect_delay` s, as paho's own thread would, unless the client was detached.
Selector changes asked for from other threads (a publish wants to write) are queued and applied
by the hub's thread, which a socket pair wakes.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from typing import Any

from paho.mqtt.enums import MQTTErrorCode

from ycsa_conform.transport.mqtt import PahoClient

__all__ = ["GatewayHub"]

_MISC_PERIOD = 1.0  # s between keep-alive checks of every client
_TICK = 0.25  # s: the longest the thread sleeps without looking at reconnections


class GatewayHub:
    def __init__(self, *, reconnect_delay: float = 0.1) -> None:
        self.reconnect_delay = reconnect_delay
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._lock = threading.Lock()
        self._pending: list[tuple[str, PahoClient, Any]] = []  # (what, client, socket)
        self._clients: set[PahoClient] = set()  # attached, to be kept connected
        self._reconnect_at: dict[PahoClient, float] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ycsa-gateway-hub", daemon=True)
        self._thread.start()

    def attach(self, client: PahoClient) -> None:
        """Drive `client` from the hub; call before `client.connect()`."""
        opened = client.on_socket_open  # make_client's TCP_NODELAY

        def on_open(c: PahoClient, userdata: Any, sock: Any) -> None:
            if opened is not None:
                opened(c, userdata, sock)
            self._ask("open", c, sock)

        client.on_socket_open = on_open
        client.on_socket_close = lambda c, userdata, sock: self._ask("close", c, sock)
        client.on_socket_register_write = lambda c, userdata, sock: self._ask("write", c, sock)
        client.on_socket_unregister_write = lambda c, userdata, sock: self._ask("read", c, sock)
        with self._lock:
            self._clients.add(client)

    def detach(self, client: PahoClient) -> None:
        """Stop keeping `client` connected; a socket it still has is closed."""
        with self._lock:
            self._clients.discard(client)
            self._reconnect_at.pop(client, None)
        sock = client.socket()
        if isinstance(sock, socket.socket):
            self._ask("close", client, sock)
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        self._stopping.set()
        self._wake()
        self._thread.join(5.0)
        with contextlib.suppress(OSError):
            self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def __repr__(self) -> str:
        return f"<GatewayHub {len(self._clients)} client(s)>"

    # -- other threads ---------------------------------------------------------------------------

    def _ask(self, what: str, client: PahoClient, sock: Any) -> None:
        with self._lock:
            self._pending.append((what, client, sock))
        if threading.current_thread() is not self._thread:
            self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
            self._wake_w.send(b"\0")

    # -- the hub's thread ------------------------------------------------------------------------

    def _run(self) -> None:
        next_misc = time.monotonic() + _MISC_PERIOD
        while not self._stopping.is_set():
            self._apply()
            for key, mask in self._selector.select(_TICK):
                if key.data is None:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                    continue
                self._serve(key.data, mask)
            now = time.monotonic()
            if now >= next_misc:
                next_misc = now + _MISC_PERIOD
                with self._lock:
                    clients = list(self._clients)
                for client in clients:
                    client.loop_misc()
            self._reconnect(now)

    def _apply(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for what, client, sock in pending:
            # A socket paho closed since: its registration goes (the selector finds it by
            # identity), nothing else is done with it.
            if sock is None or (what != "close" and sock.fileno() < 0):
                continue
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if what == "write" else 0)
            with contextlib.suppress(KeyError, ValueError, OSError):
                if what == "close":
                    self._selector.unregister(sock)
                elif what == "open":
                    self._selector.register(sock, events, client)
                else:
                    try:
                        self._selector.modify(sock, events, client)
                    except KeyError:  # asked to write before the open was applied
                        self._selector.register(sock, events, client)

    def _serve(self, client: PahoClient, mask: int) -> None:
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        if mask & selectors.EVENT_READ:
            rc = client.loop_read()
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mask & selectors.EVENT_WRITE:
            rc = client.loop_write()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            sock = client.socket()
            if isinstance(sock, socket.socket):  # paho has not closed it: stop watching it
                with contextlib.suppress(KeyError, ValueError, OSError):
                    self._selector.unregister(sock)
            with self._lock:
                if client in self._clients:
                    self._reconnect_at[client] = time.monotonic() + self.reconnect_delay

    def _reconnect(self, now: float) -> None:
        with self._lock:
            due = [c for c, at in self._reconnect_at.items() if at <= now]
            for client in due:
                del self._reconnect_at[client]
        for client in due:
            try:
                client.reconnect()  # opens a socket: on_socket_open registers it
            except OSError:
                with self._lock:
                    if client in self._clients:
                        self._reconnect_at[client] = now + max(1.0, self.reconnect_delay)
