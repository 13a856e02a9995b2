"""`protocol`: probe how a device behaves on the wire, where a conforming device must refuse.

check:
  kind: protocol
  device: lamp                 # a device role of the target; word_order also takes `any`:
                               # every Modbus device of the target
  probe: illegal_address       # illegal_address | illegal_function | foreign_unit
                               # | word_order | response_time
  limit: "20 ms .. 500 ms"     # response_time only (required there)
  count: 3                     # response_time only: timed reads (default 3)

Modbus probes (the device must be modbus-rtu or modbus-tcp; otherwise not applicable):

illegal_address   reads one register (or bit) the device does not have and expects exception
                  02 (illegal data address). Which address is illegal is device knowledge: the
                  device map says it (`probes: {illegal_address: {table: input, address:
                  0x0FFF}}`, or a bare address in the map's default table); without it, in the
                  table with the most mapped points, its highest mapped register + 256
                  (DEFAULT_MARGIN: a margin, so that registers a device implements past its
                  last documented one are unlikely to be hit).
illegal_function  sends a function code the device does not implement, without data, and
                  expects exception 01 (illegal function) with function byte 0x80 | code. The
                  map may name the code (`probes: {illegal_function: 25}`); the default, 25
                  (0x19), is the first public code after the file/FIFO block 20-24 that the
                  Modbus application protocol assigns to nothing (M, from memory).
foreign_unit      RTU only: a read addressed to a unit id no device of the target declares must
                  get no answer at all within the link's timeout (Modbus over Serial Line v1.02,
                  M). The id is the highest of 247, 246, ... that the target's Modbus devices do
                  not use (real buses number their devices from 1, so the top of the range is
                  the least likely to hit a device of another pole on the same line). On Modbus
                  TCP it is not applicable: a gateway answers for every unit id (exception 0B
                  when nobody answers behind it).
word_order        reads every multi-register (32- or 64-bit) point of the device map whose
                  map declares a plausible `range:` (one coalesced read where the addresses
                  allow) and decodes each in the declared order and in the three others (ABCD,
                  CDAB, BADC, DCBA): the declared decoding must lie in the range. When only
                  another order does, the reason names it: the device sends the other word (or
                  byte) first, set `order:` (or `word_order:`/`byte_order:`) in the device map. A
                  value that is plausible in several orders (0, for one) passes, and the reason
                  says it proves nothing about the order. With `device: any` it probes every
                  Modbus device of the target and says which were probed and which had nothing
                  to probe (no multi-register point); the worst device decides. A device whose
                  multi-register points declare no range cannot be decided (error: add ranges),
                  and when no Modbus device has a multi-register point the requirement is not
                  applicable, with the reason - never a pass.

Verdicts of illegal_address and illegal_function: the expected exception passes; a normal
answer, another exception code, an exception with the wrong function byte or an answer from
another unit fails, naming what came back. Garbage (bad CRC, a cut frame) is an error. Silence
is decided by one more read, of the map's first point (a second one if that too gets silence:
a device may lose frame sync on a frame it cannot parse): if the device answers, its silence
to a well-formed request addressed to it fails (Modbus over Serial Line: a server that receives
a request without a communication error answers it, with an exception when it cannot serve it);
if it answers nothing at all the requirement cannot be decided (error). foreign_unit reads the
map's first point first for the same reason: a dead device is silent to every unit id.

DL/T 645 probe (the device must be dlt645):

response_time     reads the map's first data identifier `count` times and judges each
                  response delay against `limit` (DL/T 645-2007: 20-500 ms, tag U). The delay is
                  taken at the transport, from the request's last byte leaving the host
                  (tcdrain) to the answer's first byte being read (see `Dlt645Link`): it errs
                  long by one character time and any USB adapter latency. Silence, a broken
                  frame or a link failure is an error (the meter cannot be read), as is a
                  recording made before response delays were kept.

Every probe is a request through the device's `Link`, so `--record` keeps it and `--replay`
answers it; each counts as a transaction and as a probe in the run's traffic, apart from the
coalesced point reads. Probes read: illegal_address, foreign_unit and word_order send read
functions, response_time DL/T 645 reads; illegal_function sends a code with no data that a
conforming device refuses (a device that implements an unassigned public code anyway is
already non-conforming; name another code in its map if it does). None needs
--allow-actuation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ycsa_conform.devicemap import ORDERS, ByteOrder, DataType, DeviceMap, ModbusPoint, Table
from ycsa_conform.errors import DecodeError, DeviceError
from ycsa_conform.limit import Limit
from ycsa_conform.result import Measurement, Source, Verdict, worst
from ycsa_conform.site import DeviceSpec
from ycsa_conform.transport import Device, Probes, TimesReads
from ycsa_conform.units import format_quantity, ureg

from .base import CheckContext, Decided, Outcome, ParseContext, Use, combine, decide_value

__all__ = [
    "ANY_DEVICE",
    "DEFAULT_COUNT",
    "DEFAULT_FUNCTION",
    "DEFAULT_MARGIN",
    "ProbeKind",
    "ProtocolCheck",
    "foreign_unit_id",
    "illegal_address",
    "parse",
]

ANY_DEVICE = "any"  # `device: any` (word_order): every Modbus device of the target
DEFAULT_MARGIN = 256  # registers past the highest mapped one: the default illegal address
DEFAULT_FUNCTION = 25  # 0x19: unassigned in the public range (see the module docstring)
DEFAULT_COUNT = 3  # timed reads of response_time
_MAX_UNIT = 247  # the highest Modbus unit id a device may have; 248-255 are reserved


class ProbeKind(StrEnum):
    ILLEGAL_ADDRESS = "illegal_address"
    ILLEGAL_FUNCTION = "illegal_function"
    FOREIGN_UNIT = "foreign_unit"
    WORD_ORDER = "word_order"
    RESPONSE_TIME = "response_time"


_MODBUS = ("modbus-rtu", "modbus-rtu-tcp", "modbus-tcp")
_SCHEMES: Mapping[ProbeKind, tuple[str, ...]] = {
    ProbeKind.ILLEGAL_ADDRESS: _MODBUS,
    ProbeKind.ILLEGAL_FUNCTION: _MODBUS,
    ProbeKind.FOREIGN_UNIT: _MODBUS,
    ProbeKind.WORD_ORDER: _MODBUS,
    ProbeKind.RESPONSE_TIME: ("dlt645",),
}
_TABLE_NAMES = {
    Table.COIL: "coil",
    Table.DISCRETE_INPUT: "discrete input",
    Table.HOLDING: "holding register",
    Table.INPUT: "input register",
}
_EXCEPTIONS = {1: "illegal function", 2: "illegal data address"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolCheck:
    device: str
    probe: ProbeKind
    limit: Limit | None = None
    count: int = DEFAULT_COUNT

    @property
    def kind(self) -> str:
        return "protocol"

    def needs(self) -> tuple[str, ...]:
        # `any` needs no particular role: a target without Modbus devices is not applicable.
        return () if self.device == ANY_DEVICE else (self.device,)

    def uses(self) -> tuple[Use, ...]:
        # The probes pick their registers from the map itself (or documented defaults) and ask
        # for no named point: a role's map only has to exist. `any` asks nothing of any role.
        return () if self.device == ANY_DEVICE else (Use(role=self.device),)

    def run(self, ctx: CheckContext) -> Outcome:
        if self.device == ANY_DEVICE:
            return _run_word_order_everywhere(ctx)
        spec = ctx.target.devices[self.device]
        schemes = _SCHEMES[self.probe]
        if self.probe is ProbeKind.RESPONSE_TIME and spec.address.scheme == "dlt645-tcp":
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason=(
                    f"not applicable here: {self.device} is reached through a serial server, "
                    "whose buffering would count as the meter's response delay; time it on "
                    "the line itself (dlt645:///dev/…)"
                ),
                untested=True,
            )
        if spec.address.scheme not in schemes:
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason=(
                    f"not applicable: {self.device} speaks {spec.address.scheme}; the "
                    f"{self.probe} probe is for {' or '.join(schemes)} devices"
                ),
            )
        device = ctx.device(self.device)
        if self.probe is ProbeKind.RESPONSE_TIME:
            return _run_response_time(self, ctx, spec, _timing(self.device, device))
        return _MODBUS_RUNNERS[self.probe](self, ctx, spec, _probing(self.device, device))


def _probing(role: str, device: Device) -> Probes:
    """The device's Modbus probes. A device the site calls Modbus has them (ModbusDevice)."""
    if not isinstance(device, Probes):
        raise DeviceError(
            f"{role} ({device.source.scheme}) sends no Modbus protocol probes; the probe needs "
            "a Modbus device (modbus-tcp://, modbus-rtu:// or modbus-rtu-tcp://)"
        )
    return device


def _timing(role: str, device: Device) -> TimesReads:
    """The device's timed reads. A device the site calls DL/T 645 has them (Dlt645Device)."""
    if not isinstance(device, TimesReads):
        raise DeviceError(
            f"{role} ({device.source.scheme}) times no reads; the response_time probe needs a "
            "DL/T 645 meter on its serial line (dlt645:///dev/…)"
        )
    return device


# -- the Modbus refusal probes ------------------------------------------------------------


def illegal_address(devicemap: DeviceMap) -> tuple[Table, int]:
    """Where the device map says the device has no register, or the documented default."""
    if devicemap.probes.illegal_address is not None:
        return devicemap.probes.illegal_address
    points = [p for p in devicemap.points.values() if isinstance(p, ModbusPoint)]
    order = (Table.INPUT, Table.HOLDING, Table.DISCRETE_INPUT, Table.COIL)
    table = max(order, key=lambda t: (sum(p.table is t for p in points), -order.index(t)))
    end = max(p.address + _span(p) for p in points if p.table is table)
    return table, min(end - 1 + DEFAULT_MARGIN, 0xFFFF)


def foreign_unit_id(used: set[int]) -> int:
    """The highest unit id from 247 down that no device of the target uses."""
    return next(unit for unit in range(_MAX_UNIT, 0, -1) if unit not in used)


def _span(point: ModbusPoint) -> int:
    return 1 if point.type is DataType.BOOL else point.type.registers


def _first_point(devicemap: DeviceMap) -> ModbusPoint:
    point = next(iter(devicemap.points.values()))
    assert isinstance(point, ModbusPoint)  # the caller checked the scheme, the map its protocol
    return point


def _liveness(device: Probes, spec: DeviceSpec, *, tries: int = 1) -> tuple[bool, str]:
    """Whether the device answers a read of its map's first point, and what came back.

    After a silent probe `tries` is 2: a device that lost frame sync on a frame it could not
    parse (pymodbus's RTU server drops the next frame with it) gets a second read.
    """
    from ycsa_conform.transport.modbus import READ_FUNCTIONS

    point = _first_point(spec.devicemap)
    seen = ""
    for _ in range(tries):
        probe = device.probe(READ_FUNCTIONS[point.table], address=point.address, count=_span(point))
        answer = probe.answer
        alive = (
            answer is not None
            and answer.exception is None
            and answer.unit == spec.address.unit
            and answer.function == READ_FUNCTIONS[point.table]
        )
        seen = answer.describe() if answer else (probe.garbage or "silence")
        if alive or probe.garbage is not None:
            break
    return alive, f"a read of {point.name} got {seen} ({probe.exchange()})"


def _refusal(
    check: ProtocolCheck,
    spec: DeviceSpec,
    device: Probes,
    *,
    function: int,
    expected: int,
    asked: str,
    address: int = 0,
    fix: str,
) -> Outcome:
    """Send `function` (at `address`) and judge the answer against exception `expected`."""
    unit = spec.address.unit
    probe = device.probe(function, address=address, count=1)
    name = f"answer to {asked} (unit {unit})"
    want = f"exception {expected:02X} ({_EXCEPTIONS[expected]})"
    answer = probe.answer
    if answer is None and probe.garbage is not None:
        verdict, text = Verdict.ERROR, f"cannot be decided: {asked} got {probe.garbage}"
        seen = f"garbage: {probe.garbage}"
    elif answer is None:
        alive, liveness = _liveness(device, spec, tries=2)
        seen = f"no answer within {spec.options.timeout:g} s"
        if alive:
            verdict = Verdict.FAIL
            text = (
                f"{asked} got no answer within {spec.options.timeout:g} s, while {liveness}; "
                f"a device answers a well-formed request addressed to it, with {want} here"
            )
        else:
            verdict = Verdict.ERROR
            text = (
                f"cannot be decided: {asked} got no answer within {spec.options.timeout:g} s, "
                f"and {liveness}: the device does not answer at all"
            )
    else:
        seen = answer.describe()
        if answer.unit != unit:
            verdict, text = Verdict.FAIL, f"{asked} was answered by unit {answer.unit}: {seen}"
        elif answer.exception == expected and answer.function == function | 0x80:
            verdict, text = Verdict.PASS, f"{asked} got {want}"
        elif answer.exception == expected:
            verdict = Verdict.FAIL
            text = (
                f"{asked} got exception {expected:02X}, but with function byte "
                f"0x{answer.function:02X} instead of 0x{function | 0x80:02X}"
            )
        elif answer.exception is not None:
            verdict, text = Verdict.FAIL, f"{asked} got {seen}, not {want}"
        else:
            verdict, text = Verdict.FAIL, f"{asked} got {seen}, not {want}; {fix}"
    measurement = Measurement(
        name=name,
        value=f"{seen}; {probe.exchange()}",
        unit="",
        limit=want,
        verdict=verdict,
        source=device.source,
    )
    return Outcome(
        verdict=verdict,
        reason=f"{text} ({probe.exchange()})",
        measurements=(measurement,),
    )


def _run_illegal_address(
    check: ProtocolCheck, ctx: CheckContext, spec: DeviceSpec, device: Probes
) -> Outcome:
    from ycsa_conform.transport.modbus import READ_FUNCTIONS

    table, address = illegal_address(spec.devicemap)
    declared = spec.devicemap.probes.illegal_address is not None
    return _refusal(
        check,
        spec,
        device,
        function=READ_FUNCTIONS[table],
        expected=2,
        address=address,
        asked=(
            f"a read of {_TABLE_NAMES[table]} {address} (function "
            f"{READ_FUNCTIONS[table]:02d}, {'named by' if declared else 'not in'} the device map)"
        ),
        fix=(
            f"if the device has that register, name one it lacks as probes.illegal_address "
            f"in {spec.devicemap.path}"
        ),
    )


def _run_illegal_function(
    check: ProtocolCheck, ctx: CheckContext, spec: DeviceSpec, device: Probes
) -> Outcome:
    function = spec.devicemap.probes.illegal_function or DEFAULT_FUNCTION
    return _refusal(
        check,
        spec,
        device,
        function=function,
        expected=1,
        asked=f"function code {function} (0x{function:02X})",
        fix=(
            f"if the device implements that code, name one it does not as "
            f"probes.illegal_function in {spec.devicemap.path}"
        ),
    )


def _run_foreign_unit(
    check: ProtocolCheck, ctx: CheckContext, spec: DeviceSpec, device: Probes
) -> Outcome:
    from ycsa_conform.transport.modbus import READ_FUNCTIONS

    if spec.address.scheme == "modbus-tcp":
        return Outcome(
            verdict=Verdict.NOT_APPLICABLE,
            reason=(
                f"not applicable: {check.device} is reached over Modbus TCP, where a gateway "
                "answers for every unit id (exception 0B when no device answers behind it); "
                "only a serial line must stay silent to a foreign unit id"
            ),
        )
    used = {s.address.unit for s in ctx.target.devices.values() if s.address.scheme in _MODBUS}
    foreign = foreign_unit_id(used)
    timeout = spec.options.timeout
    alive, liveness = _liveness(device, spec)
    if not alive:
        return Outcome(
            verdict=Verdict.ERROR,
            reason=(
                f"cannot be decided: {liveness}; a device that does not answer its own unit "
                f"id proves nothing by staying silent to unit {foreign}"
            ),
        )
    point = _first_point(spec.devicemap)
    probe = device.probe(
        READ_FUNCTIONS[point.table], unit=foreign, address=point.address, count=_span(point)
    )
    asked = f"a read of {point.name} addressed to unit {foreign} (no device of {ctx.target.id})"
    if probe.silent:
        verdict, seen = Verdict.PASS, f"no answer within {timeout:g} s"
        text = f"{asked} got {seen}"
    elif probe.answer is not None:
        verdict, seen = Verdict.FAIL, probe.answer.describe()
        text = f"{asked} was answered: {seen}; a device answers only its own unit id"
    else:
        verdict, seen = Verdict.ERROR, f"garbage: {probe.garbage}"
        text = (
            f"cannot be decided: {asked} was followed by bytes that are no Modbus answer "
            f"({probe.garbage}): noise on the line, or a device answering garbled"
        )
    measurement = Measurement(
        name=f"answer to unit {foreign}",
        value=f"{seen}; {probe.exchange()}",
        unit="",
        limit=f"no answer within {timeout:g} s",
        verdict=verdict,
        source=device.source,
    )
    return Outcome(
        verdict=verdict, reason=f"{text} ({probe.exchange()})", measurements=(measurement,)
    )


# -- word order -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Probed:
    """What the word-order probe found on one device: an outcome, or nothing to probe."""

    role: str
    outcome: Outcome | None  # None: the device has no multi-register point
    why_not: str = ""


def _wide(devicemap: DeviceMap) -> list[ModbusPoint]:
    """The map's multi-register numbers (32- and 64-bit): the ones that have a word order."""
    return [
        p
        for p in devicemap.points.values()
        if isinstance(p, ModbusPoint) and not p.flag and p.type.registers > 1
    ]


def _ordered(point: ModbusPoint, order: str) -> ModbusPoint:
    byte_order, word_order = ORDERS[order]
    return dataclasses.replace(point, byte_order=byte_order, word_order=word_order)


def _decoded(point: ModbusPoint, registers: list[int]) -> float | None:
    from ycsa_conform.transport.modbus import decode

    try:
        value = decode(point, registers)
    except DecodeError:
        return None  # not a number this way round (a float32 NaN, say)
    assert not isinstance(value, bool)  # multi-register points are numbers
    return value


def _shown(point: ModbusPoint, value: float | None) -> str:
    return "no number" if value is None else format_quantity(ureg.Quantity(value, point.unit))


def _plausible(point: ModbusPoint, value: float | None) -> bool:
    """The rule every read is held to (transport.poll), so probe and reads agree."""
    from ycsa_conform.transport.poll import implausibility

    assert point.plausible is not None
    return value is not None and (
        implausibility(point.plausible, ureg.Quantity(value, point.unit), quantum=point.quantum)
        is None
    )


def _order_name(order: str) -> str:
    byte_order, word_order = ORDERS[order]
    words = "high word first" if word_order is ByteOrder.BIG else "low word first"
    return words if byte_order is ByteOrder.BIG else f"{words}, bytes swapped"


def _differs(point: ModbusPoint, order: str) -> int:
    """0 for the declared order, 1 word order only, 2 byte order only, 3 both."""
    byte_order, word_order = ORDERS[order]
    return (word_order is not point.word_order) + 2 * (byte_order is not point.byte_order)


def _fix(point: ModbusPoint, order: str, path: object) -> str:
    """What to set in the map so that `point` decodes in `order`."""
    byte_order, word_order = ORDERS[order]
    if byte_order is point.byte_order:
        what = f"the {_order_name(order).split(',')[0]}; set word_order: {word_order}"
    elif word_order is point.word_order:
        what = f"the bytes of each register swapped; set byte_order: {byte_order}"
    else:
        what = f"{order} ({_order_name(order)}); set order: {order}"
    return f"the device sends {what} for {point.name} in {path} (or have the firmware fixed)"


def _judge_point(
    role: str, point: ModbusPoint, registers: list[int] | DeviceError, path: object, source: Source
) -> tuple[Measurement, Verdict, str]:
    """One ranged multi-register point: its registers decoded in every order."""
    assert point.plausible is not None
    declared = point.order
    name = f"{role} {point.name} ({declared}, as declared)"
    if isinstance(registers, DeviceError):
        measurement = Measurement(
            name=name,
            value=None,
            unit="",
            limit=point.plausible.text,
            verdict=Verdict.ERROR,
            source=source,
        )
        return measurement, Verdict.ERROR, f"cannot be decided: {registers}"
    words = " ".join(f"0x{r:04X}" for r in registers)
    values = {order: _decoded(_ordered(point, order), registers) for order in ORDERS}
    plausible = [o for o in ORDERS if _plausible(point, values[o])]
    others = [o for o in ORDERS if o != declared]
    head = (
        f"{role} {point.name}: registers {words} read {declared} ({_order_name(declared)}) "
        f"give {_shown(point, values[declared])}"
    )
    shown = ", ".join(f"{o} {_shown(point, values[o])}" for o in others)
    if declared in plausible and len(plausible) == 1:
        verdict = Verdict.PASS
        text = f"{head}, inside {point.plausible.text!r}; the other orders would give {shown}"
    elif declared in plausible:
        also = ", ".join(f"{o} ({_shown(point, values[o])})" for o in plausible if o != declared)
        verdict = Verdict.PASS
        text = (
            f"{head}, inside {point.plausible.text!r}; so would {also}: this value does not "
            "show the order"
        )
    elif plausible:
        verdict = Verdict.FAIL
        # The likeliest mistake first: the word order (Modbus fixes the bytes of a register
        # big-endian, so byte-swapping firmware is rarer), then the byte order, then both.
        likely = sorted(plausible, key=lambda o: _differs(point, o))
        text = (
            f"{head}, outside {point.plausible.text!r}, while {likely[0]} gives a plausible "
            f"{_shown(point, values[likely[0]])}: {_fix(point, likely[0], path)}"
        )
        if len(likely) > 1:
            also = ", ".join(f"{o} ({_shown(point, values[o])})" for o in likely[1:])
            text += f"; also plausible: {also}"
    else:
        verdict = Verdict.FAIL
        text = (
            f"{head}, and {shown}: every order is outside {point.plausible.text!r}; check the "
            "point's address, type and scale"
        )
    measurement = Measurement(
        name=name,
        value=values[declared],
        unit=f"{point.unit:~P}",
        limit=point.plausible.text,
        verdict=verdict,
        source=source,
    )
    return measurement, verdict, text


def _probe_word_order(role: str, spec: DeviceSpec, device: Probes | None) -> _Probed:
    """`device` is None when the map shows there is nothing to probe (it is not opened)."""
    devicemap = spec.devicemap
    wide = _wide(devicemap)
    if not wide:
        return _Probed(
            role=role,
            outcome=None,
            why_not=f"device map {devicemap.id!r} has no 32- or 64-bit point",
        )
    judged = [p for p in wide if p.plausible is not None]
    if not judged:
        names = ", ".join(p.name for p in wide)
        return _Probed(
            role=role,
            outcome=Outcome(
                verdict=Verdict.ERROR,
                reason=(
                    f"cannot be decided: none of the 32- or 64-bit points of {role}'s map "
                    f"{devicemap.path} ({names}) declares the values it can plausibly take; "
                    "add range: 'LOW .. HIGH' to them"
                ),
            ),
        )
    assert device is not None  # only a map without wide points is probed without a device
    raw = device.read_registers([p.name for p in judged])
    decided = [_judge_point(role, p, raw[p.name], devicemap.path, device.source) for p in judged]
    verdict = worst([v for _, v, _ in decided])
    # A block that could not be read costs each of its points the same error: say it once.
    reason = "; ".join(dict.fromkeys(t for _, v, t in decided if v == verdict))
    unjudged = [p.name for p in wide if p.plausible is None]
    if unjudged:
        reason += f" (not judged, no range in the map: {', '.join(unjudged)})"
    return _Probed(
        role=role,
        outcome=Outcome(
            verdict=verdict, reason=reason, measurements=tuple(m for m, _, _ in decided)
        ),
    )


def _run_word_order(
    check: ProtocolCheck, ctx: CheckContext, spec: DeviceSpec, device: Probes
) -> Outcome:
    probed = _probe_word_order(check.device, spec, device)
    if probed.outcome is None:
        return Outcome(verdict=Verdict.NOT_APPLICABLE, reason=f"not applicable: {probed.why_not}")
    return probed.outcome


def _run_word_order_everywhere(ctx: CheckContext) -> Outcome:
    """The word-order probe on every Modbus device of the target (`device: any`)."""
    roles = [r for r, s in ctx.target.devices.items() if s.address.scheme in _MODBUS]
    if not roles:
        return Outcome(
            verdict=Verdict.NOT_APPLICABLE,
            reason=f"not applicable: target {ctx.target.id} has no Modbus device",
        )
    found: list[_Probed] = []
    for role in roles:
        spec = ctx.target.devices[role]
        if not _wide(spec.devicemap):  # decided from the map: the device is not opened
            found.append(_probe_word_order(role, spec, None))
            continue
        try:
            found.append(_probe_word_order(role, spec, _probing(role, ctx.device(role))))
        except DeviceError as exc:
            error = Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
            found.append(_Probed(role=role, outcome=error))
    probed = [f for f in found if f.outcome is not None]
    idle = "; ".join(f"{f.role} ({f.why_not})" for f in found if f.outcome is None)
    if not probed:
        return Outcome(
            verdict=Verdict.NOT_APPLICABLE,
            reason=(
                f"not applicable: no Modbus device of {ctx.target.id} has a 32- or 64-bit "
                f"point: {idle}"
            ),
        )
    outcomes = [f.outcome for f in probed if f.outcome is not None]
    verdict = worst([o.verdict for o in outcomes])
    reason = "; ".join(o.reason for o in outcomes if o.verdict == verdict)
    reason += f" (probed: {', '.join(f.role for f in probed)}"
    reason += f"; nothing to probe: {idle})" if idle else ")"
    return Outcome(
        verdict=verdict,
        reason=reason,
        measurements=tuple(m for o in outcomes for m in o.measurements),
    )


# -- DL/T 645 response time -----------------------------------------------------------------


def _run_response_time(
    check: ProtocolCheck, ctx: CheckContext, spec: DeviceSpec, device: TimesReads
) -> Outcome:
    assert check.limit is not None  # parse requires it
    limit = check.limit.resolve(ctx.parameters)
    timed = device.timed_reads(check.count)
    source: Source = device.source
    decided = []
    for i, t in enumerate(timed, 1):
        name = f"response delay, read {i} of DI {t.di:08X}"
        measured = decide_value(name, ureg.Quantity(t.delay * 1000, "ms"), limit, source)
        longest = decide_value(
            name, ureg.Quantity((t.delay + t.uncertainty) * 1000, "ms"), limit, source
        )
        ends = {measured.measurement.verdict, longest.measurement.verdict}
        if Verdict.FAIL in ends and ends != {Verdict.FAIL}:
            # Sent late by a busy host, the delay lies somewhere in a range that the limit
            # cuts (at either end): neither a pass nor the meter's failure.
            measured = Decided(
                dataclasses.replace(measured.measurement, verdict=Verdict.ERROR),
                f"{name}: between {t.delay * 1000:.4g} and {(t.delay + t.uncertainty) * 1000:.4g}"
                f" ms, which the limit {limit.describe()} cuts: this machine was too busy to "
                f"send the request on time ({t.uncertainty * 1000:.3g} ms late at best, with "
                "retries); run again on a quieter machine",
            )
        decided.append(measured)
    outcome = combine(decided)
    refused = [t.refused for t in timed if t.refused]
    if refused:
        note = f" (the meter refused the read, timed all the same: {refused[0]})"
        return dataclasses.replace(outcome, reason=outcome.reason + note)
    return outcome


# The Modbus probes; response_time, the DL/T 645 one, is run apart (`ProtocolCheck.run`).
_MODBUS_RUNNERS: Mapping[
    ProbeKind, Callable[[ProtocolCheck, CheckContext, DeviceSpec, Probes], Outcome]
] = {
    ProbeKind.ILLEGAL_ADDRESS: _run_illegal_address,
    ProbeKind.ILLEGAL_FUNCTION: _run_illegal_function,
    ProbeKind.FOREIGN_UNIT: _run_foreign_unit,
    ProbeKind.WORD_ORDER: _run_word_order,
}


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> ProtocolCheck | None:
    probe = ProbeKind(raw["probe"])  # the schema keeps it to the enum
    if raw["device"] == ANY_DEVICE and probe is not ProbeKind.WORD_ORDER:
        ctx.problem(
            "device",
            f"'device: {ANY_DEVICE}' (every Modbus device of the target) is for the word_order "
            f"probe; the {probe} probe asks one device, so name its role, like 'device: lamp'",
        )
        return None
    timing = probe is ProbeKind.RESPONSE_TIME
    if not timing:
        for key in ("limit", "count"):
            if key in raw:
                ctx.problem(
                    key,
                    f"{key!r} applies to the response_time probe only; the {probe} probe "
                    "is decided by what the device answers, so drop it",
                )
                return None
        return ProtocolCheck(device=raw["device"], probe=probe)
    if "limit" not in raw:
        ctx.problem(
            None,
            "the response_time probe needs the delay range the meter must answer in; "
            "add limit: '20 ms .. 500 ms'",
        )
        return None
    limit = ctx.limit(raw["limit"], unit=ureg.millisecond, subject="response delay")
    if limit is None:
        return None
    return ProtocolCheck(
        device=raw["device"], probe=probe, limit=limit, count=int(raw.get("count", DEFAULT_COUNT))
    )
