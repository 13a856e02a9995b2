"""`fuzz`: sequences of malformed or boundary requests; the device must refuse each properly
and still answer a normal read afterwards.

check:
  kind: fuzz
  device: lamp                 # a device role of the target (Modbus RTU/TCP, DL/T 645, MQTT)
  examples: $fuzz_examples     # sequences tried at most (a number or a number parameter)
  time: $fuzz_time             # how long the search may take (a duration or a parameter)
  length: 4                    # requests per sequence at most (default 4)

Hypothesis first tries the boundary of each kind alone (count 0 and one past the limit, the
first unassigned function code, a wrap by one register; the requests that must get silence
last, since each waits out the timeout), then draws sequences of 1..length requests. Each
sequence is sent as raw frames (`SendsFrames.send_frame`), and then the device map's first
point is read with a normal request; a sequence fails when one of its requests is
not answered as the protocol says, or when the read after it is not answered. A failing
sequence is shrunk (fewer requests, simpler ones) within the budget, and the shortest failing
sequence found is the reason and the measurements of a `fail`, request by request, with the
bytes sent and received; every request also goes through the device's `Link`, so `--record`
keeps it. The search is derandomised: the same device is asked the same sequences on every run,
so a failure can be repeated and a recording replayed.

Modbus (Application Protocol v1.1b3 and Modbus over Serial Line v1.02, both from memory, M):
  unknown function   a function code the public table assigns to nothing (not the user-defined
                     65-72 and 100-110, not the reserved 9, 10, 13, 14, 41, 42, 90, 91, 125-127),
                     with 0-4 data bytes: exception 01, function byte 0x80 | code
  bad count          a read (01-04) of a mapped address with count 0 or past the function's
                     limit (2000 bits, 125 registers): exception 03 (the quantity is checked
                     before the address)
  address wraps      a read whose start + count passes 65535: exception 02
  RTU only: bad CRC (a read of the first point with its CRC changed), truncated (the same cut
                     short), oversized (past the 256-byte ADU, CRC valid over all of it): no
                     answer at all (a server discards a frame with a communication error)
DL/T 645-2007 (M/U, see the profile's references):
  bad checksum, wrong length (the length byte off, the checksum matching it), truncated:
                     no answer; unknown data identifier (DI3 0x10..0x7F, which the standard
                     assigns to nothing, U): an abnormal answer (control 0xD1) from the meter
MQTT (the device map's `commands`: its command topic, acknowledgement topic, correlation id,
status and accepted values; MQTT itself defines no command payloads, so this is practice, I):
  on the command topic, with a fresh correlation id: the map's first commanded point with a
  value of the wrong type, out of its writable range, or a text of 8-64 kB; a command with
  nothing to do. Each must be acknowledged with a status the map does not accept (an
  oversized one may also go unanswered); an accepted one fails, and so does silence (the
  platform cannot tell a refused command from a lost one). Payloads that are not JSON or not
  an object carry no id: they are sent, and judged by what follows. The normal request after
  each sequence is a well-formed command of the point's value when the search began, which
  must be accepted (and puts back whatever a malformed command the device took changed).
Modbus and DL/T 645: only write-free requests are sent: no Modbus write function code, no DL/T
645 write or control code. Still, a malformed frame can make a device reset (and a lamp
controller that resets switches its lamp), and MQTT commands are commands, so the check runs
only on a bench site or with --allow-actuation, else it is not applicable (untested). A device
that does not answer the first normal read cannot be decided (error). Silence to a request that
needs an answer is a failure only when the device answers the read after it (a second read if
the first gets silence: a device may lose frame sync on a frame it could not parse).

Budget: at most `examples` sequences and `time` seconds for the search; shrinking a failure
gets as long again. A sequence begun in time is finished, so the check may overrun by one
sequence: each request waits at most the device's timeout (silence, which several requests
must get, waits the whole timeout), the read after it twice that. A device that stops
answering for good ends the search (its failing sequence cannot be shrunk, and the reason
says so). Modbus TCP has no malformed framing of its own here (the MBAP length is always
right); a device that closes the connection instead of answering gets "no answer".
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ycsa_conform.devicemap import DataType, Dlt645Point, ModbusPoint, MqttPoint, Table
from ycsa_conform.errors import DecodeError, DeviceError
from ycsa_conform.result import Measurement, Verdict
from ycsa_conform.site import DeviceSpec
from ycsa_conform.transport import Commands, Device, SendsFrames, SendsRaw
from ycsa_conform.units import parse_quantity, ureg

from .base import CheckContext, Outcome, ParseContext, Use

__all__ = ["DEFAULT_LENGTH", "FuzzCheck", "Step", "parse"]

DEFAULT_LENGTH = 4
MAX_LENGTH = 16
_MODBUS = ("modbus-rtu", "modbus-rtu-tcp", "modbus-tcp")
_RTU = ("modbus-rtu", "modbus-rtu-tcp")
_MQTT = ("mqtt", "mqtts")
# Public function codes the Modbus application protocol assigns (1-8, 11, 12, 15-17, 20-24,
# 43), reserves (9, 10, 13, 14, 41, 42, 90, 91, 125-127) or leaves to users (65-72, 100-110):
# a device may implement any of them. The rest are unknown to every conforming device.
_TAKEN = (
    {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43}
    | {9, 10, 13, 14, 41, 42, 90, 91, 125, 126, 127}
    | set(range(65, 73))
    | set(range(100, 111))
)
UNASSIGNED = tuple(code for code in range(1, 128) if code not in _TAKEN)
_LIMITS = {1: 2000, 2: 2000, 3: 125, 4: 125}  # the most a read may ask, per function
_READS = {Table.COIL: 1, Table.DISCRETE_INPUT: 2, Table.HOLDING: 3, Table.INPUT: 4}
_MAX_ADU = 256


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One malformed or boundary request, and what a conforming device answers."""

    kind: str
    function: int = 0
    address: int = 0
    count: int = 0
    data: bytes = b""  # unknown function: its data; DL/T 645: the identifier's 4 bytes
    change: int = 0  # CRC/checksum xor, length offset, bytes cut or padding

    def describe(self) -> str:
        match self.kind:
            case "unknown_function":
                code = f"{self.function} (0x{self.function:02X})"
                return f"function code {code} with {len(self.data)} data bytes"
            case "bad_count" | "address_wraps":
                read = f"a read (function {self.function:02d})"
                return f"{read} of {self.count} from address {self.address}"
            case "bad_crc":
                return f"a read of the first point with its CRC xor 0x{self.change:04X}"
            case "truncated":
                return f"a read of the first point cut to {self.change} bytes"
            case "oversized" if self.data == b"mqtt":
                return f"a command whose value is a text of {self.change} kB"
            case "oversized":
                return f"a frame of {self.change} bytes (past the {_MAX_ADU}-byte ADU)"
            case "bad_checksum":
                return f"a read of the first DI with its checksum + {self.change}"
            case "wrong_length":
                return f"a read of the first DI with its length byte {self.change:+d}"
            case "wrong_type":
                return f"a command whose value is {self.data.decode()} (the wrong type)"
            case "out_of_range":
                side = "above" if self.change > 0 else "below"
                return f"a command whose value is {abs(self.change)} {side} its writable range"
            case "no_command":
                return "a command with its id and nothing to do"
            case "not_json":
                return "a payload that is not JSON"
            case "not_object":
                return f"a JSON payload that is not an object ({self.data.decode()})"
            case "unknown_di":
                di = int.from_bytes(self.data, "little")
                return f"a read of data identifier {di:08X}, which no meter has"
            case _:
                return self.kind


@dataclass(frozen=True, slots=True)
class _Seen:
    """One request of a sequence: what was sent and received, and whether that conforms."""

    step: Step
    sent: bytes
    received: bytes
    expected: str
    deviation: str | None  # None: as the protocol says


@dataclass(slots=True)
class _Finding:
    steps: list[Step]
    seen: list[_Seen]
    after: str  # what the read after the sequence got
    alive: bool


@dataclass(slots=True)
class _Search:
    findings: list[_Finding] = field(default_factory=list)
    examples: int = 0
    requests: int = 0
    dead: str | None = None  # the device stopped answering: why
    error: DeviceError | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FuzzCheck:
    device: str
    examples: int | str = 25  # a number, or a number parameter ("$fuzz_examples")
    time: float | str = 3.0  # seconds, or a duration parameter ("$fuzz_time")
    length: int = DEFAULT_LENGTH

    @property
    def kind(self) -> str:
        return "fuzz"

    def needs(self) -> tuple[str, ...]:
        return (self.device,)

    def uses(self) -> tuple[Use, ...]:
        return (Use(role=self.device, disturbs=True),)

    def run(self, ctx: CheckContext) -> Outcome:
        spec = ctx.target.devices[self.device]
        scheme = spec.address.scheme
        if scheme not in (*_MODBUS, "dlt645", "dlt645-tcp", *_MQTT):
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason=(
                    f"not applicable: {self.device} speaks {scheme}; the fuzz check sends "
                    "Modbus (RTU, TCP) and DL/T 645 frames and MQTT commands"
                ),
            )
        if scheme in _MQTT and _commanded(spec) is None:
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason=(
                    f"not applicable: the device map {spec.devicemap.path} of {self.device} "
                    "declares no commands (a writable point with a command pointer): nothing "
                    "to send malformed"
                ),
            )
        if not ctx.actuation_allowed:
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason=(
                    "not applicable without --allow-actuation: malformed frames can make a "
                    "field device reset (a lamp controller that resets switches its lamp), so "
                    f"{self.device} is fuzzed only on a bench site or with --allow-actuation"
                ),
                untested=True,
            )
        examples, seconds = self._budget(ctx)
        device = ctx.device(self.device)
        protocol: _Protocol
        if scheme in _MQTT:
            if not isinstance(device, SendsRaw) or not isinstance(device, Commands):
                raise DeviceError(f"{self.device} ({device.source.scheme}) sends no raw commands")
            protocol = _Mqtt(spec, device, device, device)
        elif not isinstance(device, SendsFrames):
            raise DeviceError(
                f"{self.device} ({device.source.scheme}) sends no raw frames; the fuzz check "
                "needs a Modbus or DL/T 645 device"
            )
        else:
            protocol = _Modbus(spec, device) if scheme in _MODBUS else _Dlt645(spec, device)
        alive, baseline = protocol.alive(tries=2)
        if not alive:
            return Outcome(
                verdict=Verdict.ERROR,
                reason=f"cannot be decided: {baseline}, before any malformed request",
            )
        began = time.monotonic()
        search = _search(protocol, examples=examples, seconds=seconds, length=self.length)
        took = time.monotonic() - began
        budget = f"at most {examples} sequences of up to {self.length} requests in {seconds:g} s"
        summary = (
            f"{search.examples} sequence(s), {search.requests} malformed request(s) "
            f"in {took:.1f} s ({budget})"
        )
        if search.error is not None and not search.findings:
            return Outcome(
                verdict=Verdict.ERROR,
                reason=f"cannot be decided: {search.error} (after {summary})",
            )
        if not search.findings:
            measurement = Measurement(
                name=f"{self.device}: malformed requests refused",
                value=search.requests,
                unit="",
                limit=budget,
                verdict=Verdict.PASS,
                source=device.source,
            )
            return Outcome(
                verdict=Verdict.PASS,
                reason=(
                    f"{self.device} refused every malformed request as {protocol.standard} "
                    f"says and answered {protocol.normal} after each sequence: {summary}"
                ),
                measurements=(measurement,),
            )
        return _failed(self.device, protocol, search, summary, device.source)

    def _budget(self, ctx: CheckContext) -> tuple[int, float]:
        examples = _number(ctx.parameters, self.examples)
        seconds = _number(ctx.parameters, self.time, unit="s")
        if not (math.isfinite(examples) and examples >= 1):
            raise ValueError(f"{self.device}: fuzz examples {examples!r} must be 1 or more")
        if not (math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"{self.device}: fuzz time {seconds!r} s must be more than 0 s")
        return int(examples), float(seconds)


def _number(parameters: Mapping[str, Any], value: float | int | str, *, unit: str = "") -> float:
    if not isinstance(value, str):
        return float(value)
    got = parameters[value.removeprefix("$")]
    if hasattr(got, "to"):
        return float(got.to(unit or ureg.dimensionless).magnitude)
    return float(got)


def _failed(role: str, protocol: _Protocol, search: _Search, summary: str, source: Any) -> Outcome:
    # The shortest (then simplest) failing sequence: Hypothesis shrinks towards it, and every
    # failing sequence it tried is kept here, so a shrink cut short by the budget still
    # reports the best found.
    best = min(
        search.findings,
        key=lambda f: (len(f.steps), sum(len(s.sent) for s in f.seen), repr(f.steps)),
    )
    first = search.findings[0]
    lines = []
    measurements = []
    for number, seen in enumerate(best.seen, 1):
        got = seen.deviation or "as expected"
        sent, received = protocol.show(seen.sent), protocol.show(seen.received)
        lines.append(f"{number}. {seen.step.describe()}: sent {sent}, received {received} - {got}")
        measurements.append(
            Measurement(
                name=f"{role} fuzz request {number}: {seen.step.describe()}",
                value=f"sent {sent}, received {received}",
                unit="",
                limit=seen.expected,
                verdict=Verdict.FAIL if seen.deviation else Verdict.PASS,
                source=source,
            )
        )
    measurements.append(
        Measurement(
            name=f"{role}: {protocol.normal} after the sequence",
            value=best.after,
            unit="",
            limit="a normal answer",
            verdict=Verdict.PASS if best.alive else Verdict.FAIL,
            source=source,
        )
    )
    shrunk = (
        f"shrunk from {len(first.steps)} to {len(best.steps)} request(s)"
        if len(search.findings) > 1
        else f"{len(best.steps)} request(s), not shrunk further"
    )
    if search.dead:
        shrunk += f" ({search.dead})"
    after = (
        f"then {best.after}"
        if best.alive
        else f"then {best.after}: the device no longer answers {protocol.normal}"
    )
    reason = (
        f"{role} does not refuse malformed requests as {protocol.standard} says; failing "
        f"sequence ({shrunk}): {'; '.join(lines)}; {after} [{summary}]"
    )
    return Outcome(verdict=Verdict.FAIL, reason=reason, measurements=tuple(measurements))


def _hex(data: bytes) -> str:
    if not data:
        return "nothing"
    shown = data[:24].hex(" ")
    return shown + (f" … ({len(data)} bytes)" if len(data) > 24 else "")


# -- the search -----------------------------------------------------------------------------


def _search(protocol: _Protocol, *, examples: int, seconds: float, length: int) -> _Search:
    """Hypothesis draws sequences, sends them and shrinks the first failing one (see the
    module docstring for the budget). Failing sequences are collected here rather than
    reported by Hypothesis: a shrink the budget cuts short, or a device that stopped
    answering, leaves Hypothesis without a reproducible failure (Flaky), and the best
    sequence found is still the answer."""
    from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
    from hypothesis import strategies as st

    _keep_storage_out_of_the_working_directory()
    search = _Search()
    deadline = time.monotonic() + seconds

    def over() -> bool:
        return time.monotonic() > deadline

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        print_blob=False,
    )
    @given(st.lists(protocol.steps(st), min_size=1, max_size=length))
    def sequence(steps: list[Step]) -> None:
        nonlocal deadline
        if search.dead or search.error or over():
            return
        if search.findings and search.examples and not protocol.alive(tries=2)[0]:
            search.dead = "the device did not answer again before the next try"
            return
        search.examples += 1
        try:
            seen = [protocol.send(step) for step in steps]
            search.requests += len(steps)
            alive, after = protocol.alive(tries=2)
        except DeviceError as exc:
            if _replay_ran_out(exc):
                # A replay is quicker than the run it replays, so the time budget lets it ask
                # for sequences the recording never made: the search ends where the run did.
                search.examples -= 1
                search.dead = search.dead or "the recording replayed ends here"
                return
            search.error = exc
            return
        if alive and not any(s.deviation for s in seen):
            return
        if not search.findings:
            deadline = time.monotonic() + seconds  # shrinking gets as long again
        search.findings.append(_Finding(list(steps), seen, after, alive))
        raise _Failed

    # The boundary of each kind first, one request each, those that get an answer before
    # those that must wait out silence: the classic bugs are found within a small budget.
    for boundary in reversed(protocol.boundaries()):
        sequence = example([boundary])(sequence)
    try:
        sequence()
    except _Failed:
        pass
    except Exception as exc:  # Flaky and friends: the sequences collected decide
        if not search.findings and search.error is None:
            if isinstance(exc, DeviceError):
                search.error = exc
            elif type(exc).__module__.startswith("hypothesis"):
                pass
            else:
                raise
    return search


def _replay_ran_out(exc: DeviceError) -> bool:
    """The error of a `--replay` link asked a request its recording does not hold
    (transport.recording.ReplayLink): not the device's doing."""
    text = str(exc)
    return type(exc) is DeviceError and "has no answer for" in text and "--record" in text


def _keep_storage_out_of_the_working_directory() -> None:
    """Hypothesis caches (character tables, the constants of local modules) in `.hypothesis/`
    of the working directory; `pytest --profile smart-pole` in any directory should leave only
    its report there. Unless this process already uses a Hypothesis directory (configured, set
    by HYPOTHESIS_STORAGE_DIRECTORY, or one here already), the caches go to the temporary
    directory. Process-wide, as Hypothesis's setting is."""
    import os
    import tempfile
    from pathlib import Path

    from hypothesis import configuration

    if (
        os.getenv("HYPOTHESIS_STORAGE_DIRECTORY")
        or getattr(configuration, "__hypothesis_home_directory", None) is not None
        or (Path.cwd() / ".hypothesis").exists()
    ):
        return
    configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "ycsa-conform-hypothesis")


class _Failed(Exception):
    """A sequence the device did not handle as the protocol says (kept in `_Search`)."""


class _Protocol:
    standard = ""
    normal = "a normal read"

    def show(self, data: bytes) -> str:
        return _hex(data)

    def steps(self, st: Any) -> Any:
        raise NotImplementedError

    def boundaries(self) -> list[Step]:
        raise NotImplementedError

    def send(self, step: Step) -> _Seen:
        raise NotImplementedError

    def alive(self, *, tries: int) -> tuple[bool, str]:
        raise NotImplementedError


# -- Modbus ---------------------------------------------------------------------------------


class _Modbus(_Protocol):
    def __init__(self, spec: DeviceSpec, device: SendsFrames) -> None:
        self.spec = spec
        self.device = device
        self.unit = spec.address.unit
        self.rtu = spec.address.scheme in _RTU
        self.standard = "Modbus " + (
            "over Serial Line v1.02" if self.rtu else "Application Protocol v1.1b3"
        )
        points = [p for p in spec.devicemap.points.values() if isinstance(p, ModbusPoint)]
        self.first = points[0]
        self.mapped = {_READS[p.table]: p.address for p in reversed(points)}
        self._transaction = 0

    def steps(self, st: Any) -> Any:
        functions = sorted(self.mapped)
        unknown = st.builds(
            lambda code, data: Step(kind="unknown_function", function=code, data=data),
            st.sampled_from(UNASSIGNED),
            st.binary(max_size=4),
        )
        bad_count = st.sampled_from(functions).flatmap(
            lambda f: st.builds(
                lambda count: Step(
                    kind="bad_count", function=f, address=self.mapped[f], count=count
                ),
                st.one_of(st.just(0), st.integers(_LIMITS[f] + 1, 0xFFFF)),
            )
        )
        wraps = st.sampled_from(functions).flatmap(
            lambda f: st.integers(2, _LIMITS[f]).flatmap(
                lambda count: st.builds(
                    lambda address: Step(
                        kind="address_wraps", function=f, address=address, count=count
                    ),
                    st.integers(0x10000 - count + 1, 0xFFFF),
                )
            )
        )
        kinds = [unknown, bad_count, wraps]
        if self.rtu:
            plain = len(self._read(self.first))
            kinds += [
                st.builds(lambda x: Step(kind="bad_crc", change=x), st.integers(1, 0xFFFF)),
                st.builds(lambda n: Step(kind="truncated", change=n), st.integers(1, plain - 1)),
                st.builds(
                    lambda n: Step(kind="oversized", change=n), st.integers(_MAX_ADU + 1, 300)
                ),
            ]
        return st.one_of(*kinds)

    def boundaries(self) -> list[Step]:
        functions = sorted(self.mapped)
        steps = [Step(kind="unknown_function", function=UNASSIGNED[0])]
        for f in functions:
            address = self.mapped[f]
            steps += [
                Step(kind="bad_count", function=f, address=address, count=0),
                Step(kind="bad_count", function=f, address=address, count=_LIMITS[f] + 1),
                Step(kind="address_wraps", function=f, address=0xFFFF, count=2),
            ]
        if self.rtu:
            steps += [
                Step(kind="bad_crc", change=1),
                Step(kind="truncated", change=len(self._read(self.first)) - 1),
                Step(kind="oversized", change=_MAX_ADU + 1),
            ]
        return steps

    def _pdu(self, step: Step) -> bytes:
        if step.kind == "unknown_function":
            return bytes([step.function]) + step.data
        return (
            bytes([step.function]) + step.address.to_bytes(2, "big") + step.count.to_bytes(2, "big")
        )

    def _adu(self, pdu: bytes) -> bytes:
        from ycsa_conform.transport.modbus import crc16

        if self.rtu:
            body = bytes([self.unit]) + pdu
            return body + crc16(body)
        self._transaction = (self._transaction + 1) & 0xFFFF
        header = self._transaction.to_bytes(2, "big") + b"\x00\x00"
        return header + (len(pdu) + 1).to_bytes(2, "big") + bytes([self.unit]) + pdu

    def _read(self, point: ModbusPoint) -> bytes:
        count = 1 if point.type is DataType.BOOL else point.type.registers
        function = _READS[point.table]
        return self._adu(
            bytes([function]) + point.address.to_bytes(2, "big") + count.to_bytes(2, "big")
        )

    def frame(self, step: Step) -> bytes:
        from ycsa_conform.transport.modbus import crc16

        if step.kind in ("unknown_function", "bad_count", "address_wraps"):
            return self._adu(self._pdu(step))
        plain = self._read(self.first)
        if step.kind == "bad_crc":
            crc = int.from_bytes(plain[-2:], "little") ^ step.change
            return plain[:-2] + crc.to_bytes(2, "little")
        if step.kind == "truncated":
            return plain[: step.change]
        # oversized: the read, padded with zeros, and a CRC valid over the whole frame
        body = plain[:-2] + bytes(step.change - len(plain))
        return body + crc16(body)

    def expected(self, step: Step) -> tuple[int | None, str]:
        """The exception code a conforming device answers with; None: no answer at all."""
        if step.kind == "unknown_function":
            return 1, f"exception 01 (illegal function), function byte 0x{step.function | 0x80:02X}"
        if step.kind == "bad_count":
            return (
                3,
                f"exception 03 (illegal data value), function byte 0x{step.function | 0x80:02X}",
            )
        if step.kind == "address_wraps":
            return (
                2,
                f"exception 02 (illegal data address), function byte 0x{step.function | 0x80:02X}",
            )
        return None, "no answer (a frame with a communication error is discarded)"

    def send(self, step: Step) -> _Seen:
        from ycsa_conform.transport.modbus import parse_answer

        sent = self.frame(step)
        code, expected = self.expected(step)
        _, received = self.device.send_frame(sent)
        deviation: str | None = None
        if code is None:
            if received:
                deviation = "answered a frame it must discard"
        elif not received:
            deviation = "no answer"
        else:
            try:
                answer = parse_answer(received, tcp=not self.rtu)
            except DecodeError as exc:
                deviation = f"garbage: {exc}"
            else:
                function = (self._pdu(step))[0]
                if answer.unit != self.unit:
                    deviation = f"answered by unit {answer.unit}"
                elif answer.exception != code or answer.function != function | 0x80:
                    deviation = f"got {answer.describe()}"
        return _Seen(step, sent, received, expected, deviation)

    def alive(self, *, tries: int) -> tuple[bool, str]:
        from ycsa_conform.transport.modbus import parse_answer

        function = _READS[self.first.table]
        seen = "silence"
        for _ in range(tries):
            sent, received = self.device.send_frame(self._read(self.first))
            if not received:
                seen = f"silence (sent {_hex(sent)})"
                continue
            try:
                answer = parse_answer(received, tcp=not self.rtu)
            except DecodeError as exc:
                return False, f"a read of {self.first.name} got garbage: {exc}"
            seen = answer.describe()
            ok = (
                answer.exception is None
                and answer.unit == self.unit
                and answer.function == function
            )
            return ok, f"a read of {self.first.name} got {seen}"
        return False, f"a read of {self.first.name} got {seen}"


# -- DL/T 645 -------------------------------------------------------------------------------


class _Dlt645(_Protocol):
    standard = "DL/T 645-2007"

    def __init__(self, spec: DeviceSpec, device: SendsFrames) -> None:
        self.spec = spec
        self.device = device
        self.meter = spec.address.meter_address
        points = [p for p in spec.devicemap.points.values() if isinstance(p, Dlt645Point)]
        self.first = points[0]

    def steps(self, st: Any) -> Any:
        plain = len(self._read(self.first.di))
        return st.one_of(
            st.builds(
                lambda di3, rest: Step(kind="unknown_di", data=rest + bytes([di3])),
                st.integers(0x10, 0x7F),
                st.binary(min_size=3, max_size=3),
            ),
            st.builds(lambda x: Step(kind="bad_checksum", change=x), st.integers(1, 255)),
            st.builds(
                lambda x: Step(kind="wrong_length", change=x),
                st.integers(-4, 8).filter(lambda x: x != 0),
            ),
            st.builds(lambda n: Step(kind="truncated", change=n), st.integers(5, plain - 1)),
        )

    def boundaries(self) -> list[Step]:
        plain = len(self._read(self.first.di))
        return [
            Step(kind="unknown_di", data=bytes([0, 0, 0, 0x10])),
            Step(kind="bad_checksum", change=1),
            Step(kind="wrong_length", change=1),
            Step(kind="truncated", change=plain - 1),
        ]

    def _read(self, di: int) -> bytes:
        from ycsa_conform.transport.dlt645 import read_request

        return read_request(self.meter, di)

    def frame(self, step: Step) -> bytes:
        plain = self._read(self.first.di)
        if step.kind == "unknown_di":
            return self._read(int.from_bytes(step.data, "little"))
        if step.kind == "bad_checksum":
            return plain[:-2] + bytes([(plain[-2] + step.change) & 0xFF]) + plain[-1:]
        if step.kind == "truncated":
            return plain[: step.change]
        # wrong_length: the length byte (after the FE preamble, 68, address, 68, control) off
        start = plain.index(0x68)
        body = bytearray(plain[start:-2])
        body[9] = (body[9] + step.change) & 0xFF
        return plain[:start] + bytes(body) + bytes([sum(body) & 0xFF, 0x16])

    def send(self, step: Step) -> _Seen:
        from ycsa_conform.transport.dlt645 import parse_frame

        sent = self.frame(step)
        _, received = self.device.send_frame(sent)
        if step.kind != "unknown_di":
            deviation = "answered a frame it must ignore" if received else None
            return _Seen(step, sent, received, "no answer (a broken frame is ignored)", deviation)
        expected = "an abnormal answer (control 0xD1, an error byte)"
        if not received:
            return _Seen(step, sent, received, expected, "no answer")
        try:
            frame = parse_frame(received)
        except DecodeError as exc:
            return _Seen(step, sent, received, expected, f"garbage: {exc}")
        if frame.address != self.meter:
            return _Seen(step, sent, received, expected, f"answered by meter {frame.address}")
        if frame.control != 0xD1:
            return _Seen(step, sent, received, expected, f"control 0x{frame.control:02X}")
        return _Seen(step, sent, received, expected, None)

    def alive(self, *, tries: int) -> tuple[bool, str]:
        from ycsa_conform.transport.dlt645 import decode_reply, parse_frame

        seen = "silence"
        for _ in range(tries):
            sent, received = self.device.send_frame(self._read(self.first.di))
            if not received:
                seen = f"silence (sent {_hex(sent)})"
                continue
            try:
                decode_reply(parse_frame(received), address=self.meter, di=self.first.di)
            except DeviceError as exc:
                return False, f"a read of {self.first.name} got {exc}"
            return True, f"a read of {self.first.name} got a normal answer"
        return False, f"a read of {self.first.name} got {seen}"


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> FuzzCheck | None:
    examples: int | str = 25
    seconds: float | str = 3.0
    if "examples" in raw:
        value = raw["examples"]
        if isinstance(value, str) and value.strip().startswith("$"):
            name = value.strip()[1:]
            info = ctx.parameter("examples", name)
            if info is None:
                return None
            if info.unit is not None and info.unit != ureg.dimensionless:
                ctx.problem(
                    "examples", f"parameter ${name} is not a number; name a number parameter"
                )
                return None
            examples = f"${name}"
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            examples = value
        else:
            ctx.problem("examples", f"{value!r} is not a count of sequences; give one like 25")
            return None
    if "time" in raw:
        value = raw["time"]
        if isinstance(value, str) and value.strip().startswith("$"):
            name = value.strip()[1:]
            info = ctx.parameter("time", name)
            if info is None:
                return None
            if info.unit is None or not (1 * info.unit).is_compatible_with(ureg.second):
                ctx.problem("time", f"parameter ${name} is not a duration; name one with 'unit: s'")
                return None
            seconds = f"${name}"
        else:
            try:
                quantity = parse_quantity(str(value))
            except Exception:
                quantity = None
            if (
                quantity is None
                or quantity.units == ureg.dimensionless
                or not quantity.is_compatible_with(ureg.second)
            ):
                ctx.problem("time", f"{value!r} is not a duration; give one like '3 s'")
                return None
            seconds = float(quantity.to(ureg.second).magnitude)
            if not (math.isfinite(seconds) and seconds > 0):
                ctx.problem("time", f"{value!r} leaves no time to search; give one like '3 s'")
                return None
    return FuzzCheck(
        device=raw["device"],
        examples=examples,
        time=seconds,
        length=int(raw.get("length", DEFAULT_LENGTH)),
    )


# -- MQTT -----------------------------------------------------------------------------------


def _commanded(spec: DeviceSpec) -> MqttPoint | None:
    """The map's first point that takes commands (writable, with a command pointer)."""
    if spec.devicemap.commands is None:
        return None
    for point in spec.devicemap.points.values():
        if isinstance(point, MqttPoint) and point.writable is not None and point.command:
            return point
    return None


_CORRELATED = ("wrong_type", "out_of_range", "no_command", "oversized")


class _Mqtt(_Protocol):
    """Commands on the map's command topic: those that carry a correlation id must be refused
    with an acknowledgement whose status is not accepted (an oversized one may also go
    unanswered); payloads that are no JSON object carry no id, and are judged by the device
    still acknowledging the well-formed command after them."""

    standard = "its device map's command contract"
    normal = "a well-formed command"

    def show(self, data: bytes) -> str:
        if not data:
            return "nothing"
        text = data.decode("utf-8", "replace")
        return repr(text) if len(text) <= 80 else f"{text[:60]!r} … ({len(data)} bytes)"

    def __init__(
        self, spec: DeviceSpec, device: SendsRaw, commanding: Commands, reader: Device
    ) -> None:
        point = _commanded(spec)
        assert point is not None
        assert point.writable is not None
        assert point.command is not None
        assert spec.devicemap.commands is not None
        self.spec = spec
        self.device = device
        self.commanding = commanding
        self.reader = reader
        self.point = point
        self.command = point.command
        self.commands = spec.devicemap.commands
        self.timeout = spec.options.timeout
        limit = point.writable.resolve({})
        unit = point.unit or ureg.dimensionless
        self.low = None if limit.lower is None else float(limit.lower.to(unit).magnitude)
        self.high = None if limit.upper is None else float(limit.upper.to(unit).magnitude)
        self.now: Any = None  # the point's value when the search began, commanded again

    def steps(self, st: Any) -> Any:
        wrong = st.one_of(st.sampled_from(["50", True, None, [], {}]), st.text(max_size=4)).map(
            lambda v: Step(kind="wrong_type", data=_json(v))
        )
        kinds = [
            wrong,
            st.just(Step(kind="no_command")),
            st.integers(8, 64).map(lambda k: Step(kind="oversized", change=k, data=b"mqtt")),
            st.sampled_from([b"[]", b"42", b'"on"', b"null", b"true"]).map(
                lambda b: Step(kind="not_object", data=b)
            ),
            st.binary(min_size=1, max_size=32)
            .filter(_not_json)
            .map(lambda b: Step(kind="not_json", data=b)),
        ]
        if self.low is not None or self.high is not None:
            kinds.insert(
                1,
                st.builds(
                    lambda up, by: Step(kind="out_of_range", change=by if up else -by),
                    st.booleans()
                    if self.low is not None and self.high is not None
                    else st.just(self.high is not None),
                    st.integers(1, 10**6),
                ),
            )
        return st.one_of(*kinds)

    def boundaries(self) -> list[Step]:
        steps = [Step(kind="wrong_type", data=_json("50")), Step(kind="no_command")]
        if self.high is not None or self.low is not None:
            steps.append(Step(kind="out_of_range", change=1 if self.high is not None else -1))
        return [
            *steps,
            Step(kind="not_json", data=b"{"),
            Step(kind="not_object", data=b"[]"),
            Step(kind="oversized", change=64, data=b"mqtt"),
        ]

    def payload(self, step: Step) -> dict[str, Any]:
        from ycsa_conform.transport.mqtt import set_pointer

        body: dict[str, Any] = {}
        if step.kind == "wrong_type":
            set_pointer(body, self.command, json.loads(step.data))
        elif step.kind == "out_of_range":
            edge = self.high if step.change > 0 else self.low
            assert edge is not None
            set_pointer(body, self.command, (edge + step.change) / self.point.scale)
        elif step.kind == "oversized":
            set_pointer(body, self.command, "9" * (step.change * 1024))
        return body  # no_command: an empty command, with only its id

    def send(self, step: Step) -> _Seen:
        if step.kind not in _CORRELATED:
            self.device.publish_raw(step.data)
            expected = "nothing to judge but the device acknowledging the next command"
            return _Seen(step, step.data, b"", expected, None)
        body = self.payload(step)
        sent = json.dumps(body).encode()
        expected = "an acknowledgement refusing it (a status not accepted)"
        if step.kind == "oversized":
            expected += ", or none"
        ack = self.device.send_command(body, timeout=self.timeout)
        if ack is None:
            silent = (
                None if step.kind == "oversized" else f"no acknowledgement in {self.timeout:g} s"
            )
            return _Seen(step, sent, b"", expected, silent)
        received = ack.encode()
        status = self._status(ack)
        if status is None:
            return _Seen(step, sent, received, expected, "an acknowledgement without a status")
        if self._accepted(status):
            return _Seen(step, sent, received, expected, f"accepted it (status {status!r})")
        return _Seen(step, sent, received, expected, None)

    def _status(self, ack: str) -> Any:
        from ycsa_conform.transport.mqtt import resolve_pointer

        try:
            return resolve_pointer(json.loads(ack), self.commands.status)
        except (ValueError, LookupError, TypeError):
            return None

    def _accepted(self, status: Any) -> bool:
        return any(
            isinstance(a, bool) == isinstance(status, bool) and a == status
            for a in self.commands.accepted
        )

    def alive(self, *, tries: int) -> tuple[bool, str]:
        """A well-formed command of the point's value when the search began, acknowledged
        (which also puts back what a malformed command the device took changed)."""
        name = self.point.name
        if self.now is None:
            try:
                self.now = self.reader.read(name).value
            except DeviceError as exc:
                return False, f"a read of {name} (the value to command) got {exc}"
        shown = f"a command of {name} = {self.now} (its value when the search began)"
        try:
            self.commanding.command(name, self.now, timeout=self.timeout)
        except DeviceError as exc:
            if _replay_ran_out(exc):
                raise
            return False, f"{shown} got {exc}"
        return True, f"{shown} was acknowledged"


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _not_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return True
    return False
