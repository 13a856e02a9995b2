"""Device URIs: where a device is and how to reach it.

    modbus-tcp://HOST[:PORT]?unit=N                        port defaults to 502, unit 1..247
    modbus-rtu:///dev/ttyUSB0?baud=9600&parity=N&stopbits=1&unit=N
    modbus-rtu-tcp://HOST:PORT?unit=N                      RTU frames through a serial server
                                                           (an RS-485 bus reached over TCP)
    dlt645:///dev/ttyUSB1?baud=2400&address=123456789012   parity defaults to E (8E1 is the
                                                           DL/T 645 default), baud to 2400
    dlt645-tcp://HOST:PORT?address=123456789012            a meter line behind a serial server
    mqtt://HOST[:PORT]/PREFIX                              port defaults to 1883
    mqtts://HOST[:PORT]/PREFIX                             TLS; port defaults to 8883

Serial paths are absolute (three slashes). Credentials never go into a URI: the site file names
them by reference (`transport.secret`). A URI that holds one anyway (a user part, `?password=`)
is refused, and the refusal quotes it with the credential masked ('mqtt://***@host/...').
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

__all__ = ["SUPPORTED_SCHEMES", "DeviceAddress", "parse_device_uri"]

SUPPORTED_SCHEMES = (
    "modbus-tcp",
    "modbus-rtu",
    "modbus-rtu-tcp",
    "dlt645",
    "dlt645-tcp",
    "mqtt",
    "mqtts",
)
_PARAMETERS = {
    "modbus-tcp": ("unit",),
    "modbus-rtu-tcp": ("unit",),
    "modbus-rtu": ("unit", "baud", "parity", "stopbits", "bytesize"),
    "dlt645": ("address", "baud", "parity", "stopbits", "bytesize"),
    "dlt645-tcp": ("address",),
    "mqtt": ("client_id",),
    "mqtts": ("client_id",),
}
_PROTOCOLS = {
    "modbus-tcp": "modbus",
    "modbus-rtu": "modbus",
    "modbus-rtu-tcp": "modbus",
    "dlt645": "dlt645",
    "dlt645-tcp": "dlt645",
    "mqtt": "mqtt",
    "mqtts": "mqtt",
}
# A serial server's port is whatever it was set up with (4001 on many): no default.
_DEFAULT_PORT = {
    "modbus-tcp": 502,
    "modbus-rtu-tcp": 0,
    "dlt645-tcp": 0,
    "mqtt": 1883,
    "mqtts": 8883,
}
# Schemes that reach a master/slave bus through a serial server (TCP on one side, the bus on
# the other): the server's HOST:PORT names the bus.
_SERIAL_SERVERS = ("modbus-rtu-tcp", "dlt645-tcp")
_SERIAL_DEFAULTS = {
    "modbus-rtu": {"baud": "9600", "parity": "N", "stopbits": "1", "bytesize": "8"},
    "dlt645": {"baud": "2400", "parity": "E", "stopbits": "1", "bytesize": "8"},
}
_BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# Userinfo and these query parameters never appear in reports or messages.
_SECRET_PARAMETERS = frozenset({"password", "passwd", "pass", "pwd", "token", "secret", "key"})
_USERINFO = re.compile(r"^([^:/?#]+://)[^/?#]*@")
_SECRET_QUERY = re.compile(
    r"([?&](?:" + "|".join(sorted(_SECRET_PARAMETERS)) + r")=)[^&#]*", re.IGNORECASE
)
_EXAMPLE = {
    "modbus-tcp": "modbus-tcp://10.0.0.5:502?unit=1",
    "modbus-rtu": "modbus-rtu:///dev/ttyUSB0?baud=9600&parity=N&stopbits=1&unit=1",
    "modbus-rtu-tcp": "modbus-rtu-tcp://10.0.0.7:4001?unit=1",
    "dlt645": "dlt645:///dev/ttyUSB1?baud=2400&address=123456789012",
    "dlt645-tcp": "dlt645-tcp://10.0.0.7:4002?address=123456789012",
    "mqtt": "mqtt://10.0.0.9:1883/city/pole/P001",
    "mqtts": "mqtts://broker.example:8883/city/pole/P001",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceAddress:
    """A parsed device URI. `params` holds the query parameters as text."""

    scheme: str
    host: str
    port: int | None
    path: str = ""
    params: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def unit(self) -> int:
        """The Modbus unit id (device id); parse_device_uri has checked it is there and valid."""
        return int(self.params["unit"])

    @property
    def protocol(self) -> str:
        """The device-map protocol this address speaks: 'modbus', 'dlt645' or 'mqtt'."""
        return _PROTOCOLS[self.scheme]

    @property
    def serial(self) -> bool:
        return self.scheme in _SERIAL_DEFAULTS

    @property
    def bus(self) -> str | None:
        """The master/slave bus this device is on, which carries one request at a time: the
        serial port's path, or the serial server's HOST:PORT; None for a device of its own."""
        if self.serial:
            return self.path
        if self.scheme in _SERIAL_SERVERS:
            return f"{self.host}:{self.port}"
        return None

    @property
    def baud(self) -> int:
        return int(self.params["baud"])

    @property
    def parity(self) -> str:
        return self.params["parity"]

    @property
    def stopbits(self) -> int:
        return int(self.params["stopbits"])

    @property
    def bytesize(self) -> int:
        return int(self.params["bytesize"])

    @property
    def meter_address(self) -> str:
        """A DL/T 645 meter address: 12 decimal digits as printed on the nameplate."""
        return self.params["address"]

    @property
    def prefix(self) -> str:
        """MQTT: the topic prefix of the device (the URI path without its slashes)."""
        return self.path.strip("/")

    def __str__(self) -> str:
        """The URI in canonical form, without credentials: safe for reports and messages."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        netloc = f"{host}:{self.port}" if self.port is not None else host
        query = "&".join(f"{k}={v}" for k, v in self.params.items() if k not in _SECRET_PARAMETERS)
        return f"{self.scheme}://{netloc}{self.path}" + (f"?{query}" if query else "")


def parse_device_uri(text: str) -> DeviceAddress:
    """Read a device URI; a ValueError says what is wrong and how to write it instead."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not a device URI; write it like {_EXAMPLE['modbus-tcp']!r}")
    # Messages quote the URI: its user part (name and password) and secret parameters are
    # masked first, so no message shows a credential the user put where it does not belong.
    text = _masked(text.strip())
    if "://" not in text:
        raise ValueError(f"{text!r} has no scheme; write it like {_EXAMPLE['modbus-tcp']!r}")
    scheme = text.split("://", 1)[0].lower()
    if scheme not in SUPPORTED_SCHEMES:
        close = difflib.get_close_matches(scheme, SUPPORTED_SCHEMES, n=1)
        did_you_mean = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"{text!r}: unknown scheme {scheme!r}; {did_you_mean}supported: "
            f"{', '.join(SUPPORTED_SCHEMES)}"
        )
    if scheme in _SERIAL_DEFAULTS:
        return _parse_serial(text, scheme)
    if scheme in ("mqtt", "mqtts"):
        return _parse_mqtt(text, scheme)
    return _parse_modbus_tcp(text, scheme)


def _masked(text: str) -> str:
    """`text` with its user part ('user:password@' or 'user@') and the values of secret
    query parameters replaced by '***'."""
    return _SECRET_QUERY.sub(r"\1***", _USERINFO.sub(r"\1***@", text))


def _parse_serial(text: str, scheme: str) -> DeviceAddress:
    parts = urlsplit(text)
    example = _EXAMPLE[scheme]
    if parts.fragment:
        raise ValueError(f"{text!r}: remove '#{parts.fragment}'; a device URI has no fragment")
    if parts.netloc:
        raise ValueError(
            f"{text!r}: a serial port is a path, not a host; write three slashes, like {example!r}"
        )
    if not parts.path.startswith("/") or parts.path == "/":
        raise ValueError(f"{text!r} names no serial port; write it like {example!r}")
    params = {**_SERIAL_DEFAULTS[scheme], **_params(text, parts.query, scheme)}
    baud = params["baud"]
    if not baud.isdigit() or int(baud) not in _BAUD_RATES:
        raise ValueError(
            f"{text!r}: baud {baud!r} is not a serial rate; use one of "
            f"{', '.join(map(str, _BAUD_RATES))}"
        )
    params["parity"] = params["parity"].upper()
    if params["parity"] not in ("N", "E", "O"):
        raise ValueError(f"{text!r}: parity {params['parity']!r}: use N, E or O")
    if params["stopbits"] not in ("1", "2"):
        raise ValueError(f"{text!r}: stopbits {params['stopbits']!r}: use 1 or 2")
    if params["bytesize"] not in ("7", "8"):
        raise ValueError(f"{text!r}: bytesize {params['bytesize']!r}: use 8 (or 7)")
    if scheme == "modbus-rtu":
        if "unit" not in params:
            raise ValueError(f"{text!r} has no unit id; add '&unit=1'")
        params["unit"] = str(_check_unit(text, params["unit"]))
    else:
        params["address"] = _check_meter(text, params.get("address", ""))
    return DeviceAddress(scheme=scheme, host="", port=None, path=parts.path, params=params)


def _parse_mqtt(text: str, scheme: str) -> DeviceAddress:
    parts = urlsplit(text)
    example = _EXAMPLE[scheme]
    if parts.fragment:
        raise ValueError(f"{text!r}: remove '#{parts.fragment}'; a device URI has no fragment")
    if parts.username is not None:
        raise ValueError(
            f"{text!r}: never put credentials in the URI; give 'username: env:NAME' and "
            "'password: env:NAME' (or file:PATH) on the device in the site file"
        )
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{text!r} has no host; write it like {example!r}")
    port = _port(text, parts.netloc, _DEFAULT_PORT[scheme])
    params = _params(text, parts.query, scheme)
    prefix = parts.path.strip("/")
    if not prefix:
        raise ValueError(
            f"{text!r} has no topic prefix; the device's topics live below it, like {example!r}"
        )
    if "+" in prefix or "#" in prefix:
        raise ValueError(f"{text!r}: the prefix {prefix!r} may not hold the wildcards + or #")
    return DeviceAddress(scheme=scheme, host=host, port=port, path=f"/{prefix}", params=params)


def _parse_modbus_tcp(text: str, scheme: str) -> DeviceAddress:
    parts = urlsplit(text)
    example = _EXAMPLE[scheme]
    if parts.fragment:
        raise ValueError(f"{text!r}: remove '#{parts.fragment}'; a device URI has no fragment")
    if parts.path not in ("", "/"):
        raise ValueError(
            f"{text!r}: {scheme} takes no path {parts.path!r}; write it like {example!r}"
        )
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{text!r} has no host; write it like {example!r}")
    port = _port(text, parts.netloc, _DEFAULT_PORT[scheme])
    if not port:
        raise ValueError(
            f"{text!r} has no port; give the serial server's TCP port, like {example!r}"
        )
    params = _params(text, parts.query, scheme)
    if parts.username is not None:
        raise ValueError(f"{text!r}: {scheme} has no login; remove the part before '@'")
    if scheme == "dlt645-tcp":
        params["address"] = _check_meter(text, params.get("address", ""))
        return DeviceAddress(scheme=scheme, host=host, port=port, path="", params=params)
    if "unit" not in params:
        raise ValueError(f"{text!r} has no unit id; add '?unit=1'")
    params["unit"] = str(_check_unit(text, params["unit"]))
    return DeviceAddress(scheme=scheme, host=host, port=port, path="", params=params)


def _check_meter(text: str, meter: str) -> str:
    if not (len(meter) == 12 and (meter.isdigit() or meter.upper() == "A" * 12)):
        raise ValueError(
            f"{text!r}: meter address {meter!r} must be the 12 digits on the meter's "
            "nameplate, like 'address=123456789012' (or AAAAAAAAAAAA to ask any meter)"
        )
    return meter.upper()


def _port(text: str, netloc: str, default: int) -> int:
    hostport = netloc.rsplit("@", 1)[-1]
    match = re.search(r":([^:\]]*)$", hostport)
    if match is None:
        return default
    port_text = match.group(1)
    if not port_text.isdigit():
        omit = f", or leave it out for the default {default}" if default else ""
        raise ValueError(f"{text!r}: port {port_text!r} is not a number; give 1..65535{omit}")
    port = int(port_text)
    if not 1 <= port <= 65535:
        omit = f" (the default is {default})" if default else ""
        raise ValueError(f"{text!r}: port {port} is out of range; use 1..65535{omit}")
    return port


def _params(text: str, query: str, scheme: str) -> dict[str, str]:
    allowed = _PARAMETERS[scheme]
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key.lower() in _SECRET_PARAMETERS:
            raise ValueError(
                f"{text!r}: never put credentials in the URI; name them on the device in the "
                "site file by reference, like 'password: env:NAME' (or file:PATH)"
            )
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            did_you_mean = f"did you mean {close[0]!r}? " if close else ""
            raise ValueError(
                f"{text!r}: unknown parameter {key!r}; {did_you_mean}"
                f"{scheme} takes: {', '.join(allowed)}"
            )
        if key in params:
            raise ValueError(f"{text!r}: {key!r} is given twice; keep one")
        params[key] = value
    return params


def _check_unit(text: str, unit: str) -> int:
    if not unit.strip().isdigit():
        raise ValueError(f"{text!r}: unit {unit!r} is not a whole number; use 1..247")
    number = int(unit)
    if number == 0:
        raise ValueError(
            f"{text!r}: unit 0 is the broadcast address and gets no answer; use 1..247"
        )
    if not 1 <= number <= 247:
        raise ValueError(f"{text!r}: unit {number} is out of range; use 1..247")
    return number
