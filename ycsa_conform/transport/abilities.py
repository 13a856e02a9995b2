"""What a device can do beyond reading and writing points: its abilities, as typed protocols.

Every device reads and writes points (`transport.Device`). The rest depends on the protocol:

    ReadsFresh   read_fresh: a read that waits for a live value     MqttDevice, PolledDevice
    Observes     observe: every message on a topic for a window      MqttDevice
    Commands     command: a write acknowledged with its round trip   MqttDevice
    Probes       probe, read_registers: Modbus protocol probes       ModbusDevice
    TimesReads   timed_reads: DL/T 645 response delays               Dlt645Device
    SendsFrames  send_frame: raw frames, as they are (the fuzz check)  ModbusDevice, Dlt645Device
    SendsRaw     send_command, publish_raw: raw MQTT commands (fuzz)   MqttDevice
    Mapped       devicemap: the map the device is read by            every transport's device

A check that needs an ability asks `isinstance(device, Observes)` (each protocol is
runtime_checkable) and says what kind of device it needs when the answer is no; mypy then
knows the device's methods. A runtime check only sees that the attributes exist, so a wrapper
(`poll.PolledDevice`) must have an ability's methods exactly when what it wraps has them.

Each protocol names the device's `source` too: what the ability finds is evidence of it.
The transports' devices satisfy these protocols structurally; `_proofs` at the end, read by
mypy only, proves that their signatures match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    # Types only: at run time this module imports nothing, so that the checks can ask for an
    # ability without loading a protocol stack (paho, pymodbus).
    import pint

    from ycsa_conform.devicemap import DeviceMap
    from ycsa_conform.errors import DeviceError
    from ycsa_conform.result import Source

    from . import Reading
    from .dlt645 import Dlt645Device, Timed
    from .modbus import ModbusDevice, Probe
    from .mqtt import MqttDevice, Observation

__all__ = [
    "Commands",
    "Mapped",
    "Observes",
    "Probes",
    "ReadsFresh",
    "SendsFrames",
    "SendsRaw",
    "TimesReads",
]


@runtime_checkable
class ReadsFresh(Protocol):
    """Reads that bypass any cache or retained value: the device's value now."""

    @property
    def source(self) -> Source: ...

    def read_fresh(self, points: Sequence[str]) -> dict[str, Reading | DeviceError]: ...


@runtime_checkable
class Observes(Protocol):
    """Windows of MQTT messages on a topic of the device map (the message and inventory
    checks); `act` runs once subscribed, `witnesses` also listens to the map's other topics."""

    @property
    def source(self) -> Source: ...

    def observe(
        self,
        topic_key: str,
        *,
        window: float,
        stop: str = "never",
        act: Callable[[], None] | None = None,
        witnesses: bool = False,
    ) -> Observation: ...


@runtime_checkable
class Commands(Protocol):
    """Acknowledged commands: a write that waits up to `timeout` s for the device's
    acknowledgement and returns the round trip in seconds."""

    @property
    def source(self) -> Source: ...

    def command(self, point: str, value: pint.Quantity[Any] | bool, *, timeout: float) -> float: ...


@runtime_checkable
class Probes(Protocol):
    """Modbus protocol probes (the `protocol` check): requests outside the point reads."""

    @property
    def source(self) -> Source: ...

    @property
    def probes(self) -> int:
        """Requests sent as probes so far."""
        ...

    def probe(
        self, function: int, *, unit: int | None = None, address: int = 0, count: int = 1
    ) -> Probe: ...

    def read_registers(self, points: Sequence[str]) -> dict[str, list[int] | DeviceError]: ...


@runtime_checkable
class TimesReads(Protocol):
    """DL/T 645 reads timed at the transport (the `protocol` check's response_time probe)."""

    @property
    def source(self) -> Source: ...

    @property
    def probes(self) -> int:
        """Requests sent as probes so far."""
        ...

    def timed_reads(self, count: int, *, point: str | None = None) -> list[Timed]: ...


@runtime_checkable
class SendsFrames(Protocol):
    """Raw frames sent as they are, and the bytes that came back (b"": silence): the `fuzz`
    check's malformed requests. Counted as probes."""

    @property
    def source(self) -> Source: ...

    @property
    def probes(self) -> int: ...

    def send_frame(self, frame: bytes) -> tuple[bytes, bytes]: ...


@runtime_checkable
class SendsRaw(Protocol):
    """MQTT commands as they are: `send_command` returns the acknowledgement's payload carrying
    the command's correlation id (None: none in time); `publish_raw` sends bytes that carry
    none. The `fuzz` check's malformed commands."""

    @property
    def source(self) -> Source: ...

    @property
    def probes(self) -> int: ...

    def send_command(self, payload: Mapping[str, Any], *, timeout: float) -> str | None: ...

    def publish_raw(self, data: bytes) -> None: ...


@runtime_checkable
class Mapped(Protocol):
    """A device that carries the device map it is read by (None: it has none to consult)."""

    @property
    def devicemap(self) -> DeviceMap | None: ...


if TYPE_CHECKING:

    def _proofs(
        mqtt: MqttDevice, modbus: ModbusDevice, meter: Dlt645Device
    ) -> tuple[
        ReadsFresh, Observes, Commands, Probes, TimesReads, Mapped, Mapped, Mapped, SendsFrames
    ]:
        """Which transport's device has which ability: mypy fails here if a signature drifts."""
        frames: SendsFrames = meter
        raw: SendsRaw = mqtt
        del frames, raw
        return mqtt, mqtt, mqtt, modbus, meter, mqtt, modbus, meter, modbus
