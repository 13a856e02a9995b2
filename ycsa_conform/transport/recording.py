"""Recording device traffic on site (`--record DIR`) and replaying it without devices (`--replay`).

The recorder sits on the seam between a `Device` and its `Link`, so a recording holds what
crossed the wire and replay runs the very same codecs, checksums and schema checks.

    DIR/manifest.json         the run: tool version, profiles, the site document it used
    DIR/traffic.jsonl         one exchange per two lines, appended and flushed as they happen
                              (traffic-gw0.jsonl … per pytest-xdist worker)

    {"seq": 7, "time": 1764052800.12, "target": "P001", "device": "lamp", "scheme": "modbus-rtu",
     "direction": "tx", "requirement": "smart-pole::SP-PWR-008[P001]",
     "request": {"op": "read", "table": "input", "unit": 1, "address": 0, "count": 13}}
    {"seq": 8, …, "direction": "rx", "response": {"registers": […], "at": …,
     "raw": {"tx": "01040000000d…", "rx": "01041a…"}}, "decoded": {"power_factor": "0.96"}}
    {"seq": 9, …, "direction": "rx", "error": {"type": "DeviceTimeout", "message": "…"}}

Requests of several requirements may be in flight at once (the run decides them concurrently):
each line names the requirement that caused it (`requirement`, from the context of the thread
deciding it) and an answer names its request (`tx`, the request's `seq`).

Replay answers a request with the recorded answer to the same request made for the same
requirement (in recorded order; the last one again when they run out), else to the same request
made for any requirement, so the order in which concurrent requirements happened to run does
not change what each one is answered. A Modbus read that was not recorded as such is answered from
a recorded read of the same unit and table that covers it, so a replay may select fewer
requirements (`-k`) than the recording ran. Anything else is an error naming what is missing.

A recording is a user file like any other: every line and the manifest are checked when they
are read (the frame of a line, and that an answer has what its request's codec reads), and a
damaged one stops the replay with `FILE:LINE: problem; the recording is damaged …`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any, cast

from ycsa_conform.errors import (
    DecodeError,
    DeviceError,
    DeviceException,
    DeviceRefused,
    DeviceTimeout,
    ImplausibleValue,
    InputError,
    LostContact,
    Problem,
)
from ycsa_conform.source import read_text

from . import Explain, Link, Request, Response

__all__ = ["MANIFEST", "Recorder", "Replay", "deciding", "read_manifest", "traffic_files"]

MANIFEST = "manifest.json"
_ERRORS: Mapping[str, type[DeviceError]] = {
    cls.__name__: cls
    for cls in (
        DeviceError,
        DeviceTimeout,
        DeviceRefused,
        DecodeError,
        ImplausibleValue,
        LostContact,
    )
}


# The requirement (pytest node id) whose decision the current thread is making: traffic is
# attributed to it in a recording, and answered for it in a replay.
_DECIDING: ContextVar[str] = ContextVar("ycsa_deciding", default="")


@contextmanager
def deciding(requirement: str) -> Iterator[None]:
    """Attribute the device traffic of this thread (and context) to `requirement`."""
    token = _DECIDING.set(requirement)
    try:
        yield
    finally:
        _DECIDING.reset(token)


def traffic_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("traffic*.jsonl"))


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a recording; ValueError says what is wrong with the directory."""
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ValueError(f"--replay {directory}: no such directory; give a --record directory")
    if not path.is_file():
        raise ValueError(
            f"--replay {directory}: {MANIFEST} is missing; this is not a --record directory"
        )
    try:
        text = read_text(path)
    except InputError as exc:
        raise InputError([replace(p, path="") for p in exc.problems]) from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _damaged(path, exc.lineno, f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(manifest, dict):
        raise _damaged(path, 1, f"the manifest is a JSON object, not {type(manifest).__name__}")
    site = manifest.get("site")
    if site is not None and (
        not isinstance(site, dict)
        or not all(isinstance(site.get(k, ""), str) for k in ("path", "text", "id", "kind"))
    ):
        raise _damaged(
            path, 1, "'site' is an object whose 'path', 'text', 'id' and 'kind' are text"
        )
    if not traffic_files(directory):
        raise ValueError(f"--replay {directory}: no traffic*.jsonl in it; record again")
    return manifest


_DAMAGED = "the recording is damaged; record the run again with --record"


def _damaged(path: Path, line: int, message: str) -> InputError:
    return InputError(
        [Problem(file=str(path), line=line, path="", message=f"{message}; {_DAMAGED}")]
    )


def _traffic_line(path: Path, number: int, text: str) -> dict[str, Any]:
    """One line of traffic*.jsonl, its frame checked: what replay reads of it has its type."""
    try:
        line = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _damaged(path, number, f"not a JSON line ({exc.msg} at column {exc.colno})") from None
    if not isinstance(line, dict):
        raise _damaged(path, number, f"a traffic line is a JSON object, not {type(line).__name__}")
    for name in ("target", "device"):
        if not isinstance(line.get(name), str):
            raise _damaged(path, number, f"{name!r} is missing or not text")
    if line.get("direction") not in ("tx", "rx"):
        raise _damaged(path, number, f"'direction' is {line.get('direction')!r}, not tx or rx")
    for name in ("seq", "tx"):
        if name in line and (type(line[name]) is not int):
            raise _damaged(path, number, f"{name!r} is {line[name]!r}, not a whole number")
    if line["direction"] == "tx":
        if not isinstance(line.get("request"), dict):
            raise _damaged(path, number, "a request line ('tx') has no 'request' object")
        return line
    answers = [name for name in ("response", "error") if name in line]
    if len(answers) != 1:
        raise _damaged(path, number, "an answer line ('rx') has one of 'response' or 'error'")
    if not isinstance(line[answers[0]], dict):
        raise _damaged(path, number, f"{answers[0]!r} is not an object")
    error = line.get("error")
    if error is not None and (
        not isinstance(error.get("type"), str)
        or not isinstance(error.get("message", ""), str)
        or type(error.get("code", 0)) is not int
    ):
        raise _damaged(path, number, "'error' needs 'type' and 'message' as text ('code' whole)")
    return line


def _check_answer(
    path: Path, number: int, request: Mapping[str, Any], line: Mapping[str, Any]
) -> None:
    """The recorded response has what the device's codec reads for this request."""
    response = line.get("response")
    if response is None:
        return
    if "at" in response and not _finite(response["at"]):
        raise _damaged(path, number, f"'at' is {response['at']!r}, not a time")
    op, table = request.get("op"), request.get("table")
    if op == "read" and table is not None:
        count = request.get("count")
        name = "bits" if table in ("coil", "discrete_input") else "registers"
        values = response.get(name)
        fits = _is_bit if name == "bits" else _is_register
        if not isinstance(values, list) or not all(fits(v) for v in values):
            kind = "true/false values" if name == "bits" else "16-bit register values"
            raise _damaged(path, number, f"a {table} read's answer needs {name!r}: {kind}")
        if type(count) is not int or len(values) != count:
            raise _damaged(path, number, f"{len(values)} {name} answer a read of {count!r}")
        if type(request.get("address")) is not int:
            raise _damaged(path, number, "the read it answers has no whole 'address'")
    if op == "read" and "di" in request and not isinstance(response.get("frame"), str):
        raise _damaged(path, number, "a DL/T 645 read's answer needs its 'frame' as text")
    if op == "read" and "at" not in response:
        raise _damaged(path, number, "a read's answer needs 'at', the time it came")
    needed = {"collect": ("started", "ended"), "command": ("sent", "at")}.get(str(op), ())
    for name in (*needed, "delay", "host", "started", "ended", "sent", "acted"):
        if (name in needed or name in response) and not _finite(response.get(name)):
            raise _damaged(path, number, f"{name!r} is {response.get(name)!r}, not a time")
    messages = response.get("messages", [])
    if op == "collect" and "messages" not in response:
        raise _damaged(path, number, "a collect's answer needs 'messages'")
    if op == "command":
        messages = [response.get("ack")]
    if not isinstance(messages, list) or not all(_is_message(m) for m in messages):
        raise _damaged(
            path,
            number,
            "an MQTT message is an object with 'topic' and 'payload' as text and 'at' a time",
        )


def _is_message(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("topic"), str)
        and isinstance(entry.get("payload"), str)
        and _finite(entry.get("at"))
        and type(entry.get("retained", False)) is bool
        and type(entry.get("qos", 0)) is int
    )


def _is_bit(value: object) -> bool:
    return type(value) is bool


def _is_register(value: object) -> bool:
    return type(value) is int and 0 <= value <= 0xFFFF


def _finite(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(cast(float, value))


def _error_record(exc: DeviceError) -> dict[str, Any]:
    record: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, DeviceException):
        record["type"] = "DeviceException"
        record["code"] = exc.code
    return record


def _error_from(record: Mapping[str, Any]) -> DeviceError:
    message = f"{record.get('message', 'device error')} (replayed)"
    if record.get("type") == "DeviceException":
        return DeviceException(message, code=int(record.get("code", 0)))
    return _ERRORS.get(str(record.get("type")), DeviceError)(message)


class Recorder:
    """Writes every exchange of the run's links as JSON lines, flushed line by line."""

    def __init__(self, directory: Path, *, worker: str | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        name = f"traffic-{worker}.jsonl" if worker else "traffic.jsonl"
        self.path = directory / name
        self._file: IO[str] | None = self.path.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        self._seq = 0
        self._by_requirement: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._last_poll: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._pending: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        text = json.dumps(manifest, indent=2, ensure_ascii=False)
        (self.directory / MANIFEST).write_text(text + "\n", encoding="utf-8")

    def wrap(self, link: Link, *, target: str, device: str) -> RecordingLink:
        return RecordingLink(link, self, target=target, device=device)

    def write(self, entry: dict[str, Any], key: tuple[str, str]) -> int:
        """Write one line; its `seq`."""
        current = _DECIDING.get()
        with self._lock:
            self._seq += 1
            line = {"seq": self._seq, "time": time.time(), **entry}
            if current:
                line["requirement"] = current
            if self._file is not None:
                self._file.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
                self._file.flush()
            self._pending[key].append(line)
            if current:
                self._by_requirement[current].append(line)
            return self._seq

    def polled(self, key: tuple[str, str], fresh: bool) -> None:
        """A device served a read: `fresh` when it polled; the requirement cites that poll."""
        current = _DECIDING.get()
        with self._lock:
            if fresh:
                self._last_poll[key] = self._pending.pop(key, [])
            cited = self._by_requirement[current] if current else None
            if cited is not None and not fresh:
                seen = {line["seq"] for line in cited}
                cited.extend(
                    line for line in self._last_poll.get(key, []) if line["seq"] not in seen
                )

    def lines_for(self, requirement: str) -> list[dict[str, Any]]:
        """The exchanges a requirement caused or used, in order."""
        with self._lock:
            return sorted(self._by_requirement.get(requirement, []), key=lambda line: line["seq"])

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class RecordingLink:
    """A link that writes each request and its answer (or error) to the recorder."""

    def __init__(self, inner: Link, recorder: Recorder, *, target: str, device: str) -> None:
        self.inner = inner
        self.recorder = recorder
        self.key = (target, device)
        self._head = {"target": target, "device": device, "scheme": inner.scheme}

    @property
    def scheme(self) -> str:
        return self.inner.scheme

    def transact(
        self,
        request: Request,
        *,
        explain: Explain | None = None,
        act: Callable[[], None] | None = None,
    ) -> Response:
        """Record the exchange; `act` (an MQTT collect's stimulus) goes on to the live link."""
        tx = self.recorder.write(
            {**self._head, "direction": "tx", "request": dict(request)}, self.key
        )
        try:
            if act is None:
                response = self.inner.transact(request, explain=explain)
            else:
                response = cast(Any, self.inner).transact(request, explain=explain, act=act)
        except DeviceError as exc:
            entry = {**self._head, "direction": "rx", "tx": tx, "error": _error_record(exc)}
            self.recorder.write(entry, self.key)
            raise
        entry = {**self._head, "direction": "rx", "tx": tx, "response": dict(response)}
        if explain is not None:
            try:
                entry["decoded"] = dict(explain(response))
            except Exception as exc:  # the recording must not break the run
                entry["decoded"] = {"error": f"{type(exc).__name__}: {exc}"}
        self.recorder.write(entry, self.key)
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass(slots=True)
class _Exchange:
    request: dict[str, Any]
    response: dict[str, Any] | None
    error: dict[str, Any] | None
    requirement: str = ""


def _key(request: Mapping[str, Any]) -> str:
    return json.dumps(request, sort_keys=True, default=str)


class Replay:
    """The recorded exchanges of a directory, served to `ReplayLink`s by target and device."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.manifest = read_manifest(directory)
        self._exchanges: dict[tuple[str, str], list[_Exchange]] = defaultdict(list)
        # What each requirement was answered, as a recording's lines (attached to its report).
        self._served: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._served_lock = threading.Lock()
        for path in traffic_files(directory):
            for exchange_key, exchange in self._read(path):
                self._exchanges[exchange_key].append(exchange)

    def _read(self, path: Path) -> Iterator[tuple[tuple[str, str], _Exchange]]:
        # An answer names its request by seq (`tx`); in a recording made before requests could
        # overlap, it answers its device's latest request.
        open_requests: dict[int, dict[str, Any]] = {}
        latest: dict[tuple[str, str], int] = {}
        try:
            text_lines = read_text(path).splitlines()
        except InputError as exc:
            raise InputError([replace(p, path="") for p in exc.problems]) from None
        for number, text in enumerate(text_lines, 1):
            if not text.strip():
                continue
            line = _traffic_line(path, number, text)
            key = (line["target"], line["device"])
            if line["direction"] == "tx":
                seq = line.get("seq", -number)  # unique either way
                open_requests[seq] = line
                latest[key] = seq
                continue
            asked = line.get("tx", latest.get(key))
            tx = open_requests.pop(asked, None) if asked is not None else None
            if tx is not None:
                _check_answer(path, number, tx.get("request", {}), line)
                exchange = _Exchange(
                    tx.get("request", {}),
                    line.get("response"),
                    line.get("error"),
                    str(tx.get("requirement", "")),
                )
                yield key, exchange

    def link(self, *, target: str, device: str, scheme: str) -> ReplayLink:
        return ReplayLink(self, target=target, device=device, scheme=scheme)

    def exchanges(self, target: str, device: str) -> list[_Exchange]:
        return self._exchanges.get((target, device), [])

    def served(self, head: Mapping[str, Any], request: Request, exchange: _Exchange) -> None:
        """Note that the requirement being decided was answered `exchange`."""
        current = _DECIDING.get()
        if not current:
            return
        tx = {**head, "direction": "tx", "request": dict(request), "replayed": True}
        rx: dict[str, Any] = {**head, "direction": "rx", "replayed": True}
        if exchange.error is not None:
            rx["error"] = dict(exchange.error)
        else:
            rx["response"] = dict(exchange.response or {})
        with self._served_lock:
            self._served[current].extend((tx, rx))

    def lines_for(self, requirement: str) -> list[dict[str, Any]]:
        """The recorded exchanges that answered `requirement` in this replay, in order."""
        with self._served_lock:
            return list(self._served.get(requirement, []))


class ReplayLink:
    """A link answered from a recording: no device, no wire."""

    def __init__(self, replay: Replay, *, target: str, device: str, scheme: str) -> None:
        self.replay = replay
        self.target = target
        self.device = device
        self._scheme = scheme
        self._used: dict[tuple[str, str], int] = defaultdict(int)
        self._lock = threading.Lock()

    @property
    def scheme(self) -> str:
        return self._scheme

    def transact(
        self,
        request: Request,
        *,
        explain: Explain | None = None,
        act: Callable[[], None] | None = None,
    ) -> Response:
        """The recorded answer; `act` (an MQTT collect's stimulus) still runs, so the writes it
        makes are answered from the recording in the order they were made."""
        if act is not None:
            act()
        exchange = self._exact(request) or self._covering(request)
        if exchange is None:
            raise DeviceError(
                f"the recording {self.replay.directory} has no answer for {self.device} of "
                f"{self.target}: {_describe(request)}; record this run again with --record"
            )
        head = {"target": self.target, "device": self.device, "scheme": self._scheme}
        self.replay.served(head, request, exchange)
        if exchange.error is not None:
            raise _error_from(exchange.error)
        assert exchange.response is not None
        return exchange.response

    def close(self) -> None:
        pass

    def _exact(self, request: Request) -> _Exchange | None:
        """The recorded answer to this request for the requirement being decided (the n-th
        answer for its n-th such request), else for any requirement, in recorded order."""
        key = _key(request)
        matches = [
            e for e in self.replay.exchanges(self.target, self.device) if _key(e.request) == key
        ]
        if not matches:
            return None
        current = _DECIDING.get()
        own = [e for e in matches if current and e.requirement == current]
        with self._lock:
            index = min(self._used[("", key)], len(matches) - 1)
            self._used[("", key)] += 1
            if own:
                index = min(self._used[(current, key)], len(own) - 1)
                self._used[(current, key)] += 1
                return own[index]
        return matches[index]

    def _covering(self, request: Request) -> _Exchange | None:
        """A recorded Modbus read of the same unit and table that covers `request`, sliced."""
        if request.get("op") != "read" or "table" not in request:
            return None
        first, count = int(request["address"]), int(request["count"])
        for exchange in self.replay.exchanges(self.target, self.device):
            recorded, response = exchange.request, exchange.response
            if (
                response is None
                or recorded.get("op") != "read"
                or recorded.get("table") != request["table"]
                or recorded.get("unit") != request.get("unit")
            ):
                continue
            start = int(recorded["address"])
            if start <= first and first + count <= start + int(recorded["count"]):
                values_key = "bits" if "bits" in response else "registers"
                values = response[values_key][first - start : first - start + count]
                sliced = {**response, values_key: values}
                return _Exchange(dict(request), sliced, None)
        return None


def _describe(request: Request) -> str:
    return ", ".join(f"{k}={v}" for k, v in request.items() if k not in ("frame", "payload"))
