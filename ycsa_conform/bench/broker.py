"""The bench's MQTT broker: mosquitto as a managed subprocess, or our own embedded in a thread.

    with start_broker(directory=tmp_path) as broker:
        broker.url("city/pole/P001")       # 'mqtt://127.0.0.1:40213/city/pole/P001'

`kind="auto"` takes mosquitto when it is on PATH: it is correct (retained QoS, MQTT 5), fast,
starts in about 50 ms and does TLS and password login. The embedded broker
(`bench/mqtt_server.py`, pure Python) is the fallback for machines without it: MQTT 3.1.1, QoS
0 and 1 out, no TLS and no passwords.

mosquitto 2.0 quirks handled here:
- it cannot bind port 0, so a free port is picked first; another process may take it before
  mosquitto binds (a small race), so a start that fails with "Address already in use" is
  retried on a new port;
- started as root it drops to user `mosquitto` *before* it reads the password file and the TLS
  files, and that user cannot enter the caller's private temp directory (pytest's tmp_path is
  under /tmp/pytest-of-root, mode 700); so a root-started bench broker stays root, and the files
  are world-readable anyway for configurations that do drop;
- the default `max_queued_messages 1000` silently drops QoS 1 bursts, so it is raised.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from ycsa_conform.errors import YcsaError

from .lifeline import die_with_parent

__all__ = [
    "Broker",
    "BrokerError",
    "Certificates",
    "broker_kind",
    "make_certificates",
    "mosquitto_missing_reason",
    "start_broker",
]

BrokerKind = Literal["mosquitto", "embedded"]
_KINDS = ("auto", "mosquitto", "embedded")
_HOST = "127.0.0.1"
_START_TIMEOUT = 5.0  # s until the broker must accept TCP connections
_STOP_TIMEOUT = 3.0  # s after SIGTERM before SIGKILL
_BIND_ATTEMPTS = 3
_LOG_TAIL = 12  # lines of the broker's log quoted in a start error


class BrokerError(YcsaError, RuntimeError):
    """The bench broker could not be started; the message quotes its log and names the fix."""


def mosquitto_missing_reason() -> str | None:
    """None when mosquitto is on PATH, else the skip reason that says how to install it."""
    if shutil.which("mosquitto") is not None:
        return None
    return (
        "mosquitto is not installed; install it with 'apt-get install -y mosquitto' "
        "(Debian/Ubuntu) or 'brew install mosquitto'"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Certificates:
    """A throw-away CA and a server certificate for localhost and 127.0.0.1 (PEM files)."""

    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path, *, name: str = "bench") -> Certificates:
    """Write `NAME-ca.crt`, `NAME-server.crt` and `NAME-server.key` into `directory`.

    P-256 keys: generating them takes milliseconds where RSA 2048 takes a good part of a
    second. The extensions are the ones strict verifiers demand (key usages, key identifiers),
    so the files also work where Python's ssl sets VERIFY_X509_STRICT (3.13+).
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise BrokerError(
            "the openssl command is not installed, and the TLS bench broker needs it to make "
            "its certificates; install it with 'apt-get install -y openssl'"
        )
    directory.mkdir(parents=True, exist_ok=True)
    files = Certificates(
        ca=directory / f"{name}-ca.crt",
        cert=directory / f"{name}-server.crt",
        key=directory / f"{name}-server.key",
    )
    ca_key = directory / f"{name}-ca.key"
    request = directory / f"{name}-server.csr"
    extensions = directory / f"{name}-server.ext"
    extensions.write_text(
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n",
        encoding="utf-8",
    )
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca = [openssl, "req", "-x509", *new_key, "-keyout", str(ca_key), "-out", str(files.ca)]
    _run(
        [
            *ca,
            *("-days", "7", "-subj", f"/CN=ycsa-conform {name} CA"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ]
    )
    server = [openssl, "req", "-new", *new_key, "-keyout", str(files.key), "-out", str(request)]
    _run([*server, "-subj", "/CN=localhost"])
    # A random serial instead of -CAcreateserial: no .srl file, and two CAs made in the same
    # second never issue certificates that look alike.
    sign = [openssl, "x509", "-req", "-in", str(request), "-CA", str(files.ca)]
    _run(
        [
            *sign,
            *("-CAkey", str(ca_key), "-out", str(files.cert), "-days", "7"),
            *("-set_serial", f"0x{secrets.token_hex(8)}", "-extfile", str(extensions)),
        ]
    )
    for path in (files.ca, files.cert, files.key):
        path.chmod(0o644)
    return files


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BrokerError(
            f"{Path(command[0]).name} {command[1]} failed (exit {done.returncode}): "
            f"{done.stderr.strip() or done.stdout.strip()}"
        )


class Broker:
    """A running bench broker on 127.0.0.1. Build it with `start_broker`; close it when done."""

    def __init__(
        self,
        *,
        kind: BrokerKind,
        port: int,
        ca_path: Path | None,
        stop: Callable[[], None],
    ) -> None:
        self.host = _HOST
        self.port = port
        self.kind = kind
        self.ca_path = ca_path
        # Also run when the Broker is garbage-collected or the interpreter exits, so no broker
        # outlives the test session; `stop` must not refer to the Broker itself.
        self._stop = weakref.finalize(self, stop)

    def url(self, prefix: str) -> str:
        """The device URI of a device publishing below `prefix` on this broker."""
        # The TLS certificate names localhost and 127.0.0.1; the host name reads better.
        if self.ca_path is not None:
            return f"mqtts://localhost:{self.port}/{prefix.strip('/')}"
        return f"mqtt://{self.host}:{self.port}/{prefix.strip('/')}"

    def close(self) -> None:
        """Stop the broker; safe to call any number of times."""
        self._stop()

    @property
    def running(self) -> bool:
        return self._stop.alive

    def __enter__(self) -> Broker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        tls = " tls" if self.ca_path is not None else ""
        state = "" if self.running else " stopped"
        return f"<Broker {self.kind} {self.host}:{self.port}{tls}{state}>"


def broker_kind(kind: str) -> BrokerKind:
    """The broker `kind` ("auto", "mosquitto", "embedded") starts: auto is mosquitto when it
    is on PATH, else the embedded one."""
    if kind not in _KINDS:
        raise ValueError(f"kind={kind!r} is not a broker kind; use one of {', '.join(_KINDS)}")
    if kind == "auto":
        return "mosquitto" if mosquitto_missing_reason() is None else "embedded"
    return "mosquitto" if kind == "mosquitto" else "embedded"


def start_broker(
    *,
    kind: str = "auto",
    directory: Path,
    tls: bool = False,
    users: Mapping[str, str] | None = None,
    own_process: bool = False,
) -> Broker:
    """Start a broker on 127.0.0.1; its config, log and certificates go into `directory`.

    `users` maps user names to passwords; with them, anonymous clients are refused. TLS and
    users need mosquitto. `own_process` runs the embedded broker in a child process rather
    than a thread (a fleet's: carrying 1,000 gateways it takes a good share of a core, which the
    simulated devices' own thread cannot then share the interpreter lock with).
    """
    kind = broker_kind(kind)
    if kind == "embedded":
        if tls or users:
            raise ValueError(
                "the embedded broker is started without TLS and password login; "
                "install mosquitto for tls=True or users=, or use kind='auto' without them"
            )
        return _start_embedded_process(directory) if own_process else _start_embedded()
    missing = mosquitto_missing_reason()
    if missing is not None:
        raise BrokerError(missing)
    directory.mkdir(parents=True, exist_ok=True)
    return _start_mosquitto(directory, tls=tls, users=users)


# -- mosquitto ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _password_file(directory: Path, users: Mapping[str, str]) -> Path:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise BrokerError(
            "mosquitto_passwd is not on PATH (it comes with the mosquitto package); "
            "reinstall mosquitto, or start the broker without users="
        )
    path = directory / "mosquitto.passwd"
    path.unlink(missing_ok=True)
    for i, (user, password) in enumerate(users.items()):
        if not user or ":" in user:
            raise ValueError(f"user name {user!r} must be non-empty and hold no ':'")
        create = ["-c"] if i == 0 else []
        _run([tool, *create, "-b", str(path), user, password])
    path.chmod(0o644)
    return path


def _config(
    directory: Path, port: int, *, certificates: Certificates | None, passwords: Path | None
) -> Path:
    lines = [
        "per_listener_settings false",
        f"listener {port} {_HOST}",
        f"allow_anonymous {'false' if passwords else 'true'}",
        "persistence false",
        "max_queued_messages 100000",
        # Without it a SUBACK and the retained message after it wait for delayed ACKs (Nagle):
        # a read took 44 ms instead of 1 ms (paho sets no TCP_NODELAY either; transport.mqtt does).
        "set_tcp_nodelay true",
        # The log goes to stderr, which start_broker sends to a file it opened itself: that
        # also catches errors mosquitto reports before it has read its log settings.
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "log_type information",
        "connection_messages true",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    if passwords is not None:
        lines.append(f"password_file {passwords}")
    if certificates is not None:
        lines += [
            f"cafile {certificates.ca}",
            f"certfile {certificates.cert}",
            f"keyfile {certificates.key}",
        ]
    path = directory / "mosquitto.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o644)
    return path


def _stop_process(process: subprocess.Popen[bytes], log: Any) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()


def _tail(path: Path, start: int) -> str:
    """The last lines this start wrote to the log (the file may hold earlier starts)."""
    try:
        with path.open("rb") as log:
            log.seek(start)
            lines = log.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-_LOG_TAIL:]) or "(empty log)"


def _start_mosquitto(directory: Path, *, tls: bool, users: Mapping[str, str] | None) -> Broker:
    executable = shutil.which("mosquitto")
    assert executable is not None
    certificates = make_certificates(directory) if tls else None
    passwords = _password_file(directory, users) if users else None
    log_path = directory / "mosquitto.log"
    for attempt in range(1, _BIND_ATTEMPTS + 1):
        port = _free_port()
        config = _config(directory, port, certificates=certificates, passwords=passwords)
        start = log_path.stat().st_size if log_path.exists() else 0
        log = log_path.open("ab")
        process = subprocess.Popen(
            [executable, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Left in our process group on purpose: whatever kills the test run (Ctrl-C, a CI
            # timeout that kills the group) stops the broker too; the finalizer covers the rest,
            # and a parent killed alone (SIGKILL) takes the broker with it (bench/lifeline.py).
            preexec_fn=die_with_parent(),  # runs only prctl and getppid
        )
        stop = functools.partial(_stop_process, process, log)
        try:
            listening = _wait_until_listening(process, port)
        except BaseException:
            stop()
            raise
        if listening:
            ca = certificates.ca if certificates else None
            return Broker(kind="mosquitto", port=port, ca_path=ca, stop=stop)
        stop()
        tail = _tail(log_path, start)
        if "Address already in use" in tail and attempt < _BIND_ATTEMPTS:
            continue
        raise BrokerError(
            f"mosquitto did not accept connections on {_HOST}:{port} within "
            f"{_START_TIMEOUT:g} s (config {config}); its log {log_path} ends:\n{tail}"
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _wait_until_listening(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((_HOST, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.01)
    return False


# -- the embedded broker --------------------------------------------------------------------


def _start_embedded() -> Broker:
    """`MqttServer` in an event loop of its own, on a daemon thread."""
    from ycsa_conform.bench.mqtt_server import MqttServer

    loop = asyncio.new_event_loop()
    server = MqttServer()
    started: concurrent.futures.Future[int] = concurrent.futures.Future()

    async def start() -> None:
        try:
            started.set_result(await server.start(_HOST))
        except Exception as exc:
            started.set_exception(exc)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
            if started.exception() is None:
                loop.run_forever()
                loop.run_until_complete(server.close())
        finally:
            loop.close()

    thread = threading.Thread(target=serve, name="ycsa-embedded-broker", daemon=True)
    thread.start()
    try:
        port = started.result(_START_TIMEOUT)
    except concurrent.futures.TimeoutError:
        loop.call_soon_threadsafe(loop.stop)
        raise BrokerError(f"the embedded broker did not start in {_START_TIMEOUT:g} s") from None
    except OSError as exc:
        raise BrokerError(f"the embedded broker could not listen on {_HOST}: {exc}") from exc
    stop = functools.partial(_stop_embedded, loop, thread)
    return Broker(kind="embedded", port=port, ca_path=None, stop=stop)


def _start_embedded_process(directory: Path) -> Broker:
    """The embedded broker in a child process (`python -m ycsa_conform.bench.broker`): it
    prints its port, and ends when told to (SIGTERM) or when its parent is gone (its stdin
    closes), so it never outlives the bench."""
    import sys

    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "embedded-broker.log"
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "ycsa_conform.bench.broker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    stop = functools.partial(_stop_process, process, log)
    assert process.stdout is not None
    line = process.stdout.readline().decode("ascii", errors="replace").split()
    if len(line) != 2 or line[0] != "port" or not line[1].isdigit():
        stop()
        raise BrokerError(
            f"the embedded broker's process did not start; its log {log_path} ends:\n"
            + _tail(log_path, 0)
        )
    return Broker(kind="embedded", port=int(line[1]), ca_path=None, stop=stop)


def _serve_embedded() -> None:
    """The child of `_start_embedded_process`: serve until stdin closes."""
    import sys

    broker = _start_embedded()
    print(f"port {broker.port}", flush=True)
    sys.stdin.buffer.read()  # returns when the parent closes the pipe or is gone
    broker.close()


def _stop_embedded(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    if not thread.is_alive():
        return
    loop.call_soon_threadsafe(loop.stop)  # serve() then closes the server in the loop
    thread.join(_STOP_TIMEOUT)


if __name__ == "__main__":
    _serve_embedded()
