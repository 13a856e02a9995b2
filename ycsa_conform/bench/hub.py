"""The MQTT clients of a fleet's gateways, driven from the fleet's one shared event loop.

paho's own network thread (`loop_start`) is one thread per client, and it waits with
`select()`, which cannot watch a descriptor numbered 1024 or above. A fleet of 1,000 gateways
holds some 3,000 descriptors besides its Modbus servers, so the bench drives them all from the
shared loop (bench/loop.py, epoll) through paho's external-loop interface, as paho's
examples/loop_asyncio.py does: paho says when a socket opens, closes, or has bytes to send; the
loop calls `loop_read` and `loop_write` when the socket is ready, and `loop_misc` (keep-alive)
once a second for every client.

    hub = GatewayHub(shared_loop)
    hub.attach(client)        # before client.connect(): the hub learns of its socket
    ...                       # publish from any thread, as with loop_start
    hub.release(client)       # before client.disconnect(): no reconnection after it
    hub.stop()

A connection that drops (the broker-drops-connection fault, a keep-alive timeout) is
reconnected after `reconnect_delay` s, as paho's own thread would, unless the client was
released. paho's socket callbacks run in whichever thread made paho open, close or queue; the
hub applies them on the loop. Sockets are closed only on the loop (by paho in loop_read,
loop_write, loop_misc or reconnect, which the hub calls), so a registration never outlives its
socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ycsa_conform.transport.mqtt import PahoClient

from .loop import SharedLoop

__all__ = ["GatewayHub"]

_MISC_PERIOD = 1.0  # s between keep-alive checks of every client
_RETRY = 1.0  # s before another try when a reconnection failed


class GatewayHub:
    def __init__(self, shared: SharedLoop, *, reconnect_delay: float = 0.1) -> None:
        self.shared = shared
        self.reconnect_delay = reconnect_delay
        self._clients: set[PahoClient] = set()  # attached and to be kept connected
        self._sockets: dict[PahoClient, int] = {}  # descriptor each client has registered
        self._reconnects: dict[PahoClient, asyncio.TimerHandle] = {}
        self._misc: asyncio.TimerHandle | None = None
        shared.call(self._schedule_misc)

    def attach(self, client: PahoClient) -> None:
        """Drive `client` from the loop; call before `client.connect()`."""
        opened = client.on_socket_open  # make_client's TCP_NODELAY

        def on_open(c: PahoClient, userdata: Any, sock: Any) -> None:
            if opened is not None:
                opened(c, userdata, sock)
            self.shared.call(self._open, c, sock)

        client.on_socket_open = on_open
        client.on_socket_close = lambda c, userdata, sock: self.shared.call(self._close, c)
        client.on_socket_register_write = lambda c, userdata, sock: self.shared.call(
            self._want_write, c, sock, True
        )
        client.on_socket_unregister_write = lambda c, userdata, sock: self.shared.call(
            self._want_write, c, sock, False
        )
        self.shared.call(self._clients.add, client)

    def release(self, client: PahoClient) -> None:
        """Stop keeping `client` connected (its socket stays watched until paho closes it)."""
        self.shared.call(self._release, client)

    def drop(self, client: PahoClient) -> None:
        """Release `client` and close its socket now (a disconnection the broker did not
        finish in time); on the loop."""
        self._release(client)
        self._forget(client)
        sock = client.socket()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    def stop(self) -> None:
        if self.shared.running:
            self.shared.call(self._stop)

    def __repr__(self) -> str:
        return f"<GatewayHub {len(self._clients)} client(s) on {self.shared!r}>"

    # -- on the loop -----------------------------------------------------------------------------

    def _release(self, client: PahoClient) -> None:
        self._clients.discard(client)
        handle = self._reconnects.pop(client, None)
        if handle is not None:
            handle.cancel()

    def _stop(self) -> None:
        for client in list(self._clients):
            self._release(client)
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None

    def _open(self, client: PahoClient, sock: Any) -> None:
        fd = _fileno(sock)
        if fd < 0 or client.socket() is not sock:
            return  # closed again before the loop saw it open
        self._forget(client)
        self._sockets[client] = fd
        self.shared.loop.add_reader(fd, self._read, client)

    def _close(self, client: PahoClient) -> None:
        self._forget(client)
        if client in self._clients and client not in self._reconnects:
            self._reconnects[client] = self.shared.loop.call_later(
                self.reconnect_delay, self._reconnect, client
            )

    def _forget(self, client: PahoClient) -> None:
        fd = self._sockets.pop(client, None)
        if fd is not None:
            self.shared.loop.remove_reader(fd)
            self.shared.loop.remove_writer(fd)

    def _want_write(self, client: PahoClient, sock: Any, write: bool) -> None:
        fd = self._sockets.get(client)
        if fd is None or fd != _fileno(sock):
            return  # not (or no longer) this client's registered socket
        if write:
            self.shared.loop.add_writer(fd, self._write, client)
        else:
            self.shared.loop.remove_writer(fd)

    def _read(self, client: PahoClient) -> None:
        client.loop_read()  # a lost connection closes the socket: on_socket_close follows

    def _write(self, client: PahoClient) -> None:
        client.loop_write()

    def _schedule_misc(self) -> None:
        self._misc = self.shared.loop.call_later(_MISC_PERIOD, self._every_second)

    def _every_second(self) -> None:
        for client in list(self._sockets):
            client.loop_misc()
        self._schedule_misc()

    def _reconnect(self, client: PahoClient) -> None:
        self._reconnects.pop(client, None)
        if client not in self._clients:
            return
        try:
            client.reconnect()  # opens a socket: on_socket_open registers it
        except OSError:
            self._reconnects[client] = self.shared.loop.call_later(
                max(_RETRY, self.reconnect_delay), self._reconnect, client
            )


def _fileno(sock: Any) -> int:
    with contextlib.suppress(OSError, AttributeError):
        return int(sock.fileno())
    return -1
