"""A serial server, as district systems reach a road's RS-485 buses: TCP on one side, the bus on
the other, bytes passed both ways as they come (the "TCP server" mode of such devices).

On the bench the bus is a pty whose other end the simulated meters or controllers serve, so a
run reaches them with `dlt645-tcp://HOST:PORT?address=…` or `modbus-rtu-tcp://HOST:PORT?unit=…`
exactly as it would a field serial server. One TCP client at a time, as most serial servers
allow by default; a second waits until the first has gone.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType

from ycsa_conform.transport import parse_device_uri
from ycsa_conform.transport.serial import Port, open_port

__all__ = ["SerialServer"]

_CHUNK = 4096


class SerialServer:
    """Passes bytes between a TCP port on 127.0.0.1 and the serial line `path`."""

    def __init__(self, path: str, *, host: str = "127.0.0.1") -> None:
        self.path = path
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(0.2)  # accept() wakes up to see stop()
        self.endpoint = f"{host}:{self._listener.getsockname()[1]}"
        self._port: Port | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"serial-server {path}", daemon=True
        )

    def start(self) -> str:
        """Open the line and listen; returns HOST:PORT."""
        # Line settings do not matter on a pty; the address parameter only makes the URI valid.
        line = parse_device_uri(f"dlt645://{self.path}?address=AAAAAAAAAAAA")
        self._port = open_port(line, timeout=0)
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        if self._thread.is_alive():
            self._thread.join(5)
        if self._port is not None:
            with contextlib.suppress(OSError):
                self._port.close()
            self._port = None

    def __enter__(self) -> SerialServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed by stop()
            # A client that resets its connection, or a line closed by stop(), ends the relay.
            with client, contextlib.suppress(OSError):
                self._relay(client)

    def _relay(self, client: socket.socket) -> None:
        port = self._port
        assert port is not None
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, "tcp")
            selector.register(port.fileno(), selectors.EVENT_READ, "line")
            while not self._stopping.is_set():
                for key, _ in selector.select(timeout=0.2):
                    if key.data == "tcp":
                        data = client.recv(_CHUNK)
                        if not data:
                            return  # the client has gone
                        port.write(data)
                    else:
                        data = port.read(max(1, port.in_waiting))
                        if data:
                            client.sendall(data)
