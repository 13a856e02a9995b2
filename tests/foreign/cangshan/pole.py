"""The whole foreign pole: its RS-485 lines, Modbus devices, meter and gateway on one state."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cangshan.gateway import Gateway
from cangshan.lines import Line
from cangshan.meter645 import ADDRESS, Meter
from cangshan.modbus import ModbusSide
from cangshan.physics import Pole

__all__ = ["Endpoints", "ForeignPole"]

PREFIX = "city/lamps/CS-P17"


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoints:
    """What a site file needs to reach the pole (the tester's ends)."""

    modbus_rtu: str  # the lamp controller's bus
    dlt645: str  # the meter's line
    modbus_tcp: str  # 127.0.0.1:PORT, the gateway's Modbus TCP port (tilt, environment)
    mqtt: str  # 127.0.0.1:PORT, the city's broker
    prefix: str  # the gateway's topic prefix
    meter_address: str


class ForeignPole:
    def __init__(self, directory: Path, *, mqtt_host: str, mqtt_port: int) -> None:
        self.pole = Pole()
        self.directory = directory
        self._mqtt = (mqtt_host, mqtt_port)
        self._lines = [Line(directory, "rs485-lamp"), Line(directory, "rs485-meter")]
        self._parts: list[ModbusSide | Meter | Gateway] = []
        self.endpoints: Endpoints | None = None

    def start(self) -> ForeignPole:
        lamp_line, meter_line = (line.start() for line in self._lines)
        modbus = ModbusSide(self.pole, rtu_port=lamp_line.device).start()
        self._parts.append(modbus)
        self._parts.append(Meter(self.pole, port=meter_line.device).start())
        host, port = self._mqtt
        self._parts.append(Gateway(self.pole, host=host, port=port, prefix=PREFIX).start())
        self.endpoints = Endpoints(
            modbus_rtu=lamp_line.tester,
            dlt645=meter_line.tester,
            modbus_tcp=f"127.0.0.1:{modbus.tcp_port}",
            mqtt=f"{host}:{port}",
            prefix=PREFIX,
            meter_address=ADDRESS,
        )
        return self

    def stop(self) -> None:
        for part in reversed(self._parts):
            part.stop()
        for line in self._lines:
            line.stop()
