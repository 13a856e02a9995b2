"""Polling: one coalesced read of every point a run needs from a device serves all its checks.

A SCADA master polls a device's register blocks once per cycle and serves every consumer from
that snapshot; so does an acceptance run. The first read of a device polls every point the run's
checks will ask of it (`planned`), in the fewest requests its protocol allows; later reads are
served from that poll until it is `max_age` seconds old. A write, or a point outside the plan,
polls again; `read_fresh` always does (a sample of a window, the prior value of an
actuation). Errors are kept per point like values, so a silent device costs one timeout per
poll, not one per requirement.

Plausibility before judgement: every reading a check gets passes through here (`read_many`,
`read_fresh`, and `read` by them), so this is the one place where a value the device cannot
physically have - outside the `range:` its device map declares for the point, or not a finite
number - becomes `ImplausibleValue` (the point's error, like a timeout) instead of a value a
limit could pass. A power read with the wrong word order as 1.02e-23 W must never "meet
<= 0.5 W".

Abilities (`transport.abilities`) pass through, unpolled: an observation (counted apart in
`observations`), an acknowledged command (which drops the poll, as a write does), a protocol
probe. A check asks `isinstance(device, Observes)`, which sees only whether the methods exist,
so a PolledDevice has an ability's methods exactly when the device it wraps has the ability:
`PolledDevice(device, ...)` builds the subclass that adds one small wrapper class per ability
of `device` (`_Observing`, `_Commanding`, ...). `read_fresh` is the exception: every
PolledDevice has it, since a read past the poll is fresh whatever the device (a device without
a `read_fresh` of its own is read by `read_many`). Anything else of the wrapped device is
`PolledDevice.device`'s: nothing passes through by name.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import pint

from ycsa_conform.devicemap import DeviceMap, Dlt645Point, ModbusPoint, Point
from ycsa_conform.errors import DeviceError, ImplausibleValue
from ycsa_conform.limit import Limit
from ycsa_conform.result import Source
from ycsa_conform.units import format_unit, ureg

from . import Device, Reading
from .abilities import (
    Commands,
    Mapped,
    Observes,
    Probes,
    ReadsFresh,
    SendsFrames,
    SendsRaw,
    TimesReads,
)
from .writable import within

if TYPE_CHECKING:
    from ycsa_conform.actuation import WriteGuard

    from .dlt645 import Timed
    from .modbus import Probe
    from .mqtt import Observation

__all__ = ["RESOLUTION", "PolledDevice", "implausibility", "plausible"]

# Called after each read with True when it polled the device (the recorder cites polls so).
PollHook = Callable[[bool], None]


class PolledDevice:
    """A `Device` that serves reads from the latest poll of `planned` points.

    `PolledDevice(device, ...)` is an instance of the subclass that also has the abilities of
    `device` (see the module docstring)."""

    def __new__(
        cls,
        device: Device,
        planned: Sequence[str],
        *,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
        on_read: PollHook | None = None,
        devicemap: DeviceMap | None = None,
        guard: WriteGuard | None = None,
    ) -> PolledDevice:
        if cls is not PolledDevice:  # a wrapper class, chosen already
            return object.__new__(cls)
        abilities = tuple(wrapper for ability, wrapper in _WRAPPERS if isinstance(device, ability))
        return object.__new__(_polled_class(abilities))

    def __init__(
        self,
        device: Device,
        planned: Sequence[str],
        *,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
        on_read: PollHook | None = None,
        devicemap: DeviceMap | None = None,
        guard: WriteGuard | None = None,
    ) -> None:
        """`devicemap` declares the points' ranges; default: the device's own map."""
        self.device = device
        if devicemap is None and isinstance(device, Mapped):  # every DeviceBase is
            devicemap = device.devicemap
        self.devicemap = devicemap
        self.planned = tuple(dict.fromkeys(planned))
        self.max_age = max_age
        self.requested = 0  # point reads the checks asked for: what an uncoalesced run would send
        self.observations = 0  # MQTT traffic observations (message checks), not point reads
        self._clock = clock
        self._on_read = on_read
        self._polled_at: float | None = None
        self._snapshot: dict[str, Reading | DeviceError] = {}
        # Checks decided at the same time share the device: one poll at a time, and a read
        # that arrives while one is under way is served from it.
        self._lock = threading.RLock()
        # Every write and command asks `guard` first (ycsa_conform.actuation): refused on a field
        # device without --allow-actuation, journaled with the point's last value read.
        self.guard = guard
        self._last: dict[str, pint.Quantity[Any] | bool] = {}

    @property
    def name(self) -> str:
        return self.device.name

    @property
    def source(self) -> Source:
        return self.device.source

    @property
    def transactions(self) -> int:
        return self.device.transactions

    def minimum_transactions(self, points: Sequence[str]) -> int:
        return self.device.minimum_transactions(points)

    @property
    def probes(self) -> int:
        """Requests the device sent as protocol probes (none from a device without them)."""
        device = self.device
        if isinstance(device, Probes | TimesReads | SendsFrames | SendsRaw):
            return device.probes
        return 0

    def read(self, point: str) -> Reading:
        result = self.read_many([point])[point]
        if isinstance(result, DeviceError):
            raise result
        return result

    def read_many(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        with self._lock:
            self.requested += len(points)
            fresh = (
                self._polled_at is not None
                and self._clock() - self._polled_at <= self.max_age
                and all(p in self._snapshot for p in points)
            )
            if not fresh:
                wanted = tuple(dict.fromkeys([*self.planned, *points]))
                self._snapshot = self._checked(self.device.read_many(wanted))
                self._polled_at = self._clock()
                self._remember(self._snapshot)
            if self._on_read is not None:
                self._on_read(not fresh)
            return {p: self._snapshot[p] for p in points}

    def read_fresh(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]:
        """`points` read from the device now, never from the poll (an MQTT device waits for
        a live message rather than its retained one). Only `points`: a sample of a window is
        one request for what it samples, not a poll of everything planned. The poll is
        dropped, so the next read polls afresh."""
        with self._lock:
            self._polled_at = None
        device = self.device
        fresh = device.read_fresh if isinstance(device, ReadsFresh) else device.read_many
        with self._lock:
            self.requested += len(points)
        readings: dict[str, Reading | DeviceError] = self._checked(fresh(points))
        with self._lock:
            self._remember(readings)
        if self._on_read is not None:
            self._on_read(True)
        return readings

    def _checked(
        self, results: Mapping[str, Reading | DeviceError]
    ) -> dict[str, Reading | DeviceError]:
        return {
            name: plausible(result, device=self.name, devicemap=self.devicemap)
            for name, result in results.items()
        }

    def _remember(self, readings: Mapping[str, Reading | DeviceError]) -> None:
        for name, reading in readings.items():
            if isinstance(reading, Reading) and isinstance(reading.value, pint.Quantity | bool):
                self._last[name] = reading.value

    def expect_writes(
        self, prior: Mapping[str, pint.Quantity[Any] | bool], side_effects: Collection[str] = ()
    ) -> None:
        """The prior values of the points a check is about to change, its `side_effects`
        included: journaled before its first write (ycsa_conform.actuation)."""
        if self.guard is not None:
            with self._lock:
                self.guard.expect(prior, side_effects)

    def write(self, point: str, value: pint.Quantity[Any] | bool) -> None:
        with self._lock:
            if self.guard is not None:
                self.guard.before(point, value, self._last.get(point))
            self._polled_at = None
            self.device.write(point, value)
            if self.guard is not None:
                self.guard.after(point, value)

    def close(self) -> None:
        self.device.close()


# One class per ability a wrapped device may have: it adds the ability's methods, passing them
# through to the device. Each asserts the ability it was chosen for, for mypy.


class _Observing(PolledDevice):
    def observe(
        self,
        topic_key: str,
        *,
        window: float,
        stop: str = "never",
        act: Callable[[], None] | None = None,
        witnesses: bool = False,
    ) -> Observation:
        device = self.device
        assert isinstance(device, Observes)
        # An observation is a request of its own (a subscription window), counted apart.
        with self._lock:
            self.observations += 1
        return device.observe(topic_key, window=window, stop=stop, act=act, witnesses=witnesses)


class _Commanding(PolledDevice):
    def command(self, point: str, value: pint.Quantity[Any] | bool, *, timeout: float) -> float:
        """A command that waits up to `timeout` s for its acknowledgement; returns the round
        trip in seconds. The poll is dropped, as by `write`."""
        device = self.device
        assert isinstance(device, Commands)
        with self._lock:
            if self.guard is not None:
                self.guard.before(point, value, self._last.get(point))
            self._polled_at = None
        seconds = device.command(point, value, timeout=timeout)
        if self.guard is not None:
            self.guard.after(point, value)
        return seconds


class _Probing(PolledDevice):
    def probe(
        self, function: int, *, unit: int | None = None, address: int = 0, count: int = 1
    ) -> Probe:
        device = self.device
        assert isinstance(device, Probes)
        return device.probe(function, unit=unit, address=address, count=count)

    def read_registers(self, points: Sequence[str]) -> dict[str, list[int] | DeviceError]:
        device = self.device
        assert isinstance(device, Probes)
        return device.read_registers(points)


class _TimingReads(PolledDevice):
    def timed_reads(self, count: int, *, point: str | None = None) -> list[Timed]:
        device = self.device
        assert isinstance(device, TimesReads)
        return device.timed_reads(count, point=point)


class _Framing(PolledDevice):
    def send_frame(self, frame: bytes) -> tuple[bytes, bytes]:
        device = self.device
        assert isinstance(device, SendsFrames)
        self._polled_at = None  # a malformed frame may change what the device says next
        return device.send_frame(frame)


class _RawCommanding(PolledDevice):
    def send_command(self, payload: Mapping[str, Any], *, timeout: float) -> str | None:
        device = self.device
        assert isinstance(device, SendsRaw)
        self._polled_at = None  # a command the device took changes what it reports
        return device.send_command(payload, timeout=timeout)

    def publish_raw(self, data: bytes) -> None:
        device = self.device
        assert isinstance(device, SendsRaw)
        self._polled_at = None
        device.publish_raw(data)


_WRAPPERS: tuple[tuple[type, type[PolledDevice]], ...] = (
    (Observes, _Observing),
    (Commands, _Commanding),
    (Probes, _Probing),
    (TimesReads, _TimingReads),
    (SendsFrames, _Framing),
    (SendsRaw, _RawCommanding),
)


@functools.cache
def _polled_class(wrappers: tuple[type[PolledDevice], ...]) -> type[PolledDevice]:
    """PolledDevice with the methods of `wrappers`: an MQTT device's PolledDevice observes
    and commands, a Modbus device's probes."""
    if len(wrappers) <= 1:
        return wrappers[0] if wrappers else PolledDevice
    name = "Polled" + "".join(w.__name__.lstrip("_") for w in wrappers)
    return cast("type[PolledDevice]", type(name, wrappers, {}))


if TYPE_CHECKING:

    def _proofs(
        polled: PolledDevice,
        observing: _Observing,
        commanding: _Commanding,
        probing: _Probing,
        timing: _TimingReads,
        framing: _Framing,
        raw: _RawCommanding,
    ) -> tuple[
        Device, ReadsFresh, Mapped, Observes, Commands, Probes, TimesReads, SendsFrames, SendsRaw
    ]:
        """The wrappers have the abilities they pass through: mypy fails here otherwise."""
        return polled, polled, polled, observing, commanding, probing, timing, framing, raw


# A nonzero reading smaller than this fraction of its declared range's span is implausible:
# no instrument resolves nine decades below its full scale (a 24-bit converter spans about
# seven), while a float32 read in the wrong word order often comes out as 1e-23 or 1e-41 -
# inside "0 W .. 300 W", and it would "meet <= 0.5 W". The floor never exceeds the point's
# quantum (one count × scale of an integer register, a BCD format's last digit): a counter
# reading one count is a reading, however wide its range.
RESOLUTION = 1e-9


def implausibility(
    plausible: Limit | None, value: pint.Quantity[Any], *, quantum: float | None = None
) -> str | None:
    """Why `value` cannot be a reading of a point whose map declares `plausible` (its
    `range:`), or None when it can be: not a finite number; outside the range; nonzero yet
    finer than RESOLUTION of the range's span (and than `quantum`, the smallest nonzero value
    the point's encoding carries, in the value's unit). Without a range, only finiteness is
    checked."""
    magnitude = float(value.magnitude)
    if not math.isfinite(magnitude):
        return "not a finite number"
    if plausible is None:
        return None
    declared = plausible.resolve({})
    # devicemap insists on both ends
    assert declared.lower is not None
    assert declared.upper is not None
    if not value.is_compatible_with(declared.lower) or not within(declared, value):
        return f"outside its declared range {plausible.text}"
    low = float(declared.lower.to(value.units).magnitude)
    high = float(declared.upper.to(value.units).magnitude)
    finest = (high - low) * RESOLUTION
    if quantum is not None:
        finest = min(finest, quantum)
    if 0 < abs(magnitude) < finest:
        threshold = f"{finest:.3g} {format_unit(value.units)}".rstrip()
        return (
            f"nonzero yet under {RESOLUTION:g} of the span of its declared range "
            f"{plausible.text} ({threshold}), finer than any instrument resolves"
        )
    return None


def plausible(
    result: Reading | DeviceError, *, device: str, devicemap: DeviceMap | None
) -> Reading | DeviceError:
    """`result`, or ImplausibleValue when `implausibility` finds its number impossible for
    its point. Flags and texts pass as they are."""
    if isinstance(result, DeviceError) or not isinstance(result.value, pint.Quantity):
        return result
    value = result.value
    point = devicemap.points.get(result.point) if devicemap is not None else None
    rule = None
    if point is None:
        rule = implausibility(None, value)
    else:
        quantum = point.quantum
        if quantum is not None:
            quantum = float(ureg.Quantity(quantum, point.unit).to(value.units).magnitude)
        rule = implausibility(point.plausible, value, quantum=quantum)
    if rule is None:
        return result
    shown = f"{float(value.magnitude):.6g} {format_unit(value.units)}".rstrip()
    where = f" from {point.location}" if point is not None else ""
    if devicemap is not None:
        where += f" of device map {devicemap.id!r} ({devicemap.path})"
    return ImplausibleValue(
        f"{device} {result.point}: implausible value {shown}{where}: {rule}; "
        f"check {_suspects(point)}"
    )


def _suspects(point: Point | None) -> str:
    """What in the map is likely wrong, by the point's protocol."""
    if isinstance(point, ModbusPoint):
        if point.type.registers > 1:
            return "word_order / byte_order / scale / type"
        return "byte_order / scale / offset / type / address"
    if isinstance(point, Dlt645Point):
        return "the point's di / format / signed / unit"
    if point is None:
        return "the device map's point"
    return "the point's pointer / scale / unit"
