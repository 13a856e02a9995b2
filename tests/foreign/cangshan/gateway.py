"""CS-GW10 pole gateway: reports the pole over MQTT 3.1.1 (paho-mqtt), below its prefix.

    PREFIX/up/telemetry   retained, every `period`: the whole pole (lamp, electrical, environment,
                          tilt), time stamp `ts` in milliseconds since 1970-01-01 UTC
    PREFIX/up/hb          heartbeat {ts, seq} every `heartbeat` s, not retained
    PREFIX/state          retained {state: online, ts}; its last will is {state: offline}
    PREFIX/up/equipment   retained {ts, camera, router, poe_w}, refreshed every `equipment` s
    PREFIX/up/event       {ts, seq, type: tilt_alarm, active}: when the tilt sensor's resultant
                          inclination has been across its alarm level for `debounce` s (0.1 s;
                          polled every 0.05 s), both ways: 0.10 to about 0.15 s after the change
    PREFIX/down/cmd       commands {cid, set: {dim: 0..100}}
    PREFIX/up/ack         {cid, result, ts}: result 0 done, 2 refused; sent once the lamp
                          controller took the level (`command_latency` s, its RS-485 round trip)

Every time stamp is in milliseconds: this firmware's only time unit.

Run alone (a process that a test can kill): python -m cangshan.gateway HOST PORT PREFIX
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cangshan.physics import Pole

__all__ = ["Gateway"]


def _ms() -> int:
    return int(time.time() * 1000)


class Gateway:
    def __init__(
        self,
        pole: Pole,
        *,
        host: str,
        port: int,
        prefix: str,
        period: float = 0.5,
        heartbeat: float = 0.5,
        equipment: float = 1.0,
        command_latency: float = 0.06,
        debounce: float = 0.1,
    ) -> None:
        self.pole = pole
        self.prefix = prefix.strip("/")
        self.host, self.port = host, port
        self.period, self.heartbeat, self.equipment = period, heartbeat, equipment
        self.command_latency = command_latency
        self.debounce = debounce
        self._changed_at: float | None = None  # when the alarm state began to differ
        self._seq = 0
        self._event_seq = 0
        self._alarm = False
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._report, daemon=True)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"cs-gw10-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
        )
        self.client.will_set(self.topic("state"), json.dumps({"state": "offline"}), 1, True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    def topic(self, suffix: str) -> str:
        return f"{self.prefix}/{suffix}"

    def start(self) -> Gateway:
        self.client.connect(self.host, self.port, keepalive=10)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise RuntimeError(f"CS-GW10 could not connect to {self.host}:{self.port}")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._publish("state", {"state": "offline", "ts": _ms()}, retain=True)
        self.client.disconnect()
        self.client.loop_stop()

    # -- MQTT ---------------------------------------------------------------------------------

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            return
        client.subscribe(self.topic("down/cmd"), qos=1)
        self._publish("state", {"state": "online", "ts": _ms()}, retain=True)
        self._connected.set()

    def _publish(self, suffix: str, payload: dict[str, Any], *, retain: bool = False) -> None:
        self.client.publish(self.topic(suffix), json.dumps(payload), qos=1, retain=retain)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            command = json.loads(message.payload)
            cid = command["cid"]
        except (ValueError, KeyError, TypeError):
            return  # not a command of ours: ignored, as the firmware does
        level = command.get("set", {}).get("dim") if isinstance(command, dict) else None
        accepted = isinstance(level, int | float) and 0 <= level <= 100
        # The controller is written on its RS-485 bus, then the gateway acknowledges.
        timer = threading.Timer(self.command_latency, self._ack, (cid, level if accepted else None))
        timer.daemon = True
        timer.start()

    def _ack(self, cid: str, level: float | None) -> None:
        if level is not None:
            self.pole.set(level=round(level))
        self._publish("up/ack", {"cid": cid, "result": 0 if level is not None else 2, "ts": _ms()})

    # -- reporting ----------------------------------------------------------------------------

    def _report(self) -> None:
        due = {"telemetry": 0.0, "hb": 0.0, "equipment": 0.0}
        periods = {"telemetry": self.period, "hb": self.heartbeat, "equipment": self.equipment}
        while not self._stop.is_set():
            now = time.monotonic()
            for what, at in due.items():
                if now >= at:
                    getattr(self, f"_send_{what}")()
                    due[what] = now + periods[what]
            self._watch_tilt()
            self._stop.wait(0.05)

    def _send_telemetry(self) -> None:
        r = self.pole.read()
        s = r.settings
        self._publish(
            "up/telemetry",
            {
                "ts": _ms(),
                "dev": "CS-GW10",
                "lamp": {
                    "level": s.level,
                    "output": r.light,
                    "relay": r.relay_closed,
                    "photocell": s.auto,
                    "lamp_fault": s.lamp_failure,
                    "driver_fault": s.driver_failure,
                },
                "elec": {
                    "u": s.controller_voltage,
                    "i": r.lamp_current,
                    "p": round(r.lamp_power, 2),
                    "pf": r.lamp_pf,
                    "kwh": s.energy_wh / 1000,
                },
                "env": {"lux": s.illuminance, "t": s.temperature, "rh": s.humidity},
                "tilt": {"x": s.tilt_x, "y": s.tilt_y, "alarm": r.tilt_alarm},
            },
            retain=True,
        )

    def _send_hb(self) -> None:
        self._seq += 1
        self._publish("up/hb", {"ts": _ms(), "seq": self._seq})

    def _send_equipment(self) -> None:
        self._publish(
            "up/equipment",
            {"ts": _ms(), "camera": {"online": True}, "router": {"online": True}, "poe_w": 18.5},
            retain=True,
        )

    def _watch_tilt(self) -> None:
        alarm = self.pole.read().tilt_alarm
        if alarm == self._alarm:
            self._changed_at = None
            return
        now = time.monotonic()
        if self._changed_at is None:
            self._changed_at = now
        if now - self._changed_at >= self.debounce:
            self._changed_at = None
            self._alarm = alarm
            self._event_seq += 1
            self._publish(
                "up/event",
                {"ts": _ms(), "seq": self._event_seq, "type": "tilt_alarm", "active": alarm},
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("prefix")
    args = parser.parse_args()
    Gateway(Pole(), host=args.host, port=args.port, prefix=args.prefix).start()
    print("connected", flush=True)
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    main()
