"""`ycsa-conform doctor [SITE] [--json]`: is this laptop ready for the site?

Without SITE, the laptop's checks only: mosquitto and socat (needed by the test suite and the
bench extras only, never by a field run: a note when missing), the PDF report's extra
(reportlab) and a CJK font for reading the reports' Chinese. With SITE, also:

    placeholder  a device still at the placeholder address `site init` writes (192.0.2.0/24 and
                 the other RFC 5737 documentation networks): never reached, an error
    serial       each serial port the site names exists and this user may read and write it
                 (the group that owns it, like dialout, and whether this session has it yet)
    reach        each device answers a read-only probe: one mapped point read (Modbus TCP, RTU,
                 DL/T 645 at the site's meter address), or for MQTT a connection to the broker
                 with the site's login and TLS, then one message of the device's topic
    clock        a device whose map has `device_clock` and answered with it live: its offset
                 from this laptop's clock (warning beyond ±3 s, SP-DATA-010's limit)
    tls          each CA and client certificate the site names: expired or not yet valid is an
                 error, expiring within 30 days a warning

Every problem is one line with its fix; then a summary. Exit 0 ready (warnings and notes
allowed), 1 not ready (an error), 4 a SITE that cannot be loaded. Nothing is written to a
device: reads only, each bounded by a short timeout; devices on different buses are probed in
parallel, one at a time per serial bus. Progress goes to stderr. Secrets are never printed: the
transports mask them in every message (transport/secret.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import importlib.util
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import DecodeError, DeviceError, DeviceException, DeviceRefused, DeviceTimeout
from .site import DeviceSpec, Site, load_site
from .transport import Device, LinkOptions, Reading, ReadsFresh, SendsFrames, open_device

__all__ = ["Check", "Status", "add_parser", "cmd_doctor", "examine"]

_PROBE_TIMEOUT = 2.0  # seconds for one answer of a Modbus or DL/T 645 device (asked twice)
_MQTT_TIMEOUT = 3.0  # seconds for the broker and one message of the device's topic
_CLOCK_LIMIT = 3.0  # seconds: SP-DATA-010's limit on a device clock's offset
_EXPIRY_WARNING = datetime.timedelta(days=30)
_DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
# Where distributions put CJK fonts, for a laptop without fontconfig's fc-list.
_FONT_GLOBS = (
    "/usr/share/fonts/**/*CJK*",
    "/usr/share/fonts/**/wqy*",
    "/usr/share/fonts/**/*[Ss]ource*[Hh]an*",
    "/System/Library/Fonts/PingFang*",
    "/Library/Fonts/*Songti*",
    "C:/Windows/Fonts/msyh*",
    "C:/Windows/Fonts/simsun*",
)


class Status(StrEnum):
    OK = "ok"
    NOTE = "note"  # worth knowing, not a problem for a field run
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One line of the doctor: what was checked, on what, how it went and the fix."""

    check: str  # tools, font, pdf, placeholder, serial, reach, clock, tls
    subject: str
    status: Status
    message: str
    fix: str = ""

    def line(self) -> str:
        fix = f" — fix: {self.fix}" if self.fix else ""
        return f"{self.status.value}: {self.check}: {self.subject}: {self.message}{fix}"


def add_parser(sub: Any) -> None:
    """Register `doctor` on the CLI's subparsers."""
    p = sub.add_parser(
        "doctor",
        help="check the laptop, and a site's ports, devices, broker and certificates",
        description="Check that this laptop is ready: with SITE, its serial ports and their "
        "permissions, every device and broker (read-only probes, short timeouts), device "
        "clocks, TLS certificate dates; always the test tools and a CJK font for the reports. "
        "Each problem is one line with its fix. Exit 0 ready, 1 not ready. docs/doctor.md.",
    )
    p.add_argument("site", nargs="?", metavar="SITE", help="the site file to check")
    p.add_argument("--json", action="store_true", help="the checks as one JSON document")
    p.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    site = load_site(args.site) if args.site else None  # InputError: exit 4 through the CLI
    checks = examine(site, progress=_progress)
    errors = sum(c.status is Status.ERROR for c in checks)
    warnings = sum(c.status is Status.WARNING for c in checks)
    ready = errors == 0
    if args.json:
        document = {
            "ready": ready,
            "site": str(site.path) if site is not None else None,
            "summary": {s.value: sum(c.status is s for c in checks) for s in Status},
            "checks": [{**dataclasses.asdict(c), "status": c.status.value} for c in checks],
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for check in checks:
            print(check.line())
        verdict = "ready" if ready else "NOT ready"
        what = f"laptop and site {site.path}" if site is not None else "laptop"
        print(
            f"doctor: {what}: {verdict}: {errors} error(s), {warnings} warning(s), "
            f"{sum(c.status is Status.NOTE for c in checks)} note(s), "
            f"{sum(c.status is Status.OK for c in checks)} ok"
        )
    return 0 if ready else 1


_PROGRESS = threading.Lock()


def _progress(text: str) -> None:
    with _PROGRESS:
        print(f"doctor: {text}", file=sys.stderr, flush=True)


def examine(site: Site | None, *, progress: Callable[[str], None] = lambda _: None) -> list[Check]:
    """Every check of the laptop, and of `site` when given, in a stable order."""
    progress("laptop: tools, PDF extra, CJK font")
    checks = [*_tools(), _pdf_extra(), _font()]
    if site is None:
        return checks
    checks += _serial_ports(site)
    checks += _certificates(site)
    checks += _devices(site, progress)
    return checks


# -- the laptop ---------------------------------------------------------------------------------


def _tools() -> list[Check]:
    found = []
    for tool, use in (
        ("mosquitto", "the MQTT broker the bench and the test suite start"),
        ("socat", "serial pty pairs of the bench and the test suite"),
    ):
        path = shutil.which(tool)
        if path:
            found.append(Check(check="tools", subject=tool, status=Status.OK, message=path))
        else:
            found.append(
                Check(
                    check="tools",
                    subject=tool,
                    status=Status.NOTE,
                    message=f"not installed: {use}; needed only for the test suite and the "
                    "bench extras, not for a field run (the bench falls back without it)",
                    fix=f"to run the suite: sudo apt install {tool} (brew install {tool})",
                )
            )
    return found


def _pdf_extra() -> Check:
    if importlib.util.find_spec("reportlab") is not None:
        return Check(check="pdf", subject="reportlab", status=Status.OK, message="installed")
    return Check(
        check="pdf",
        subject="reportlab",
        status=Status.WARNING,
        message="not installed: `ycsa-conform report pdf` cannot write the PDF report",
        fix="pip install 'ycsa-conform[pdf]'",
    )


def _font() -> Check:
    """A CJK font, so that the reports' Chinese (report.html, report.pdf, whose font the
    viewer supplies) shows as text and not as boxes on this laptop."""
    family = ""
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            result = subprocess.run(
                [fc_list, ":lang=zh", "family"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            family = next((ln.strip() for ln in result.stdout.splitlines() if ln.strip()), "")
        except (OSError, subprocess.TimeoutExpired):
            family = ""
    if not family:
        import glob

        hits = [hit for pattern in _FONT_GLOBS for hit in glob.glob(pattern, recursive=True)]
        family = Path(hits[0]).name if hits else ""
    if family:
        return Check(check="font", subject="CJK", status=Status.OK, message=family.split(",")[0])
    return Check(
        check="font",
        subject="CJK",
        status=Status.WARNING,
        message="no Chinese font found (fc-list :lang=zh, the usual font folders): the "
        "reports' Chinese shows as boxes on this laptop",
        fix="sudo apt install fonts-noto-cjk (Fedora: google-noto-sans-cjk-fonts; macOS and "
        "Windows have one)",
    )


# -- the site: serial ports ---------------------------------------------------------------------


def _where(target: str, role: str, spec: DeviceSpec) -> str:
    return f"{target} {role} ({spec.address})"


def _serial_ports(site: Site) -> list[Check]:
    users: dict[str, list[str]] = {}
    for target in site.targets:
        for role, spec in target.devices.items():
            if spec.address.serial:
                users.setdefault(spec.address.path, []).append(f"{target.id} {role}")
    found = []
    for port, who in users.items():
        subject = f"{port} ({', '.join(who)})"
        if os.name == "nt":  # COM ports are not files: opening the port (reach) tells
            continue
        if not os.path.exists(port):
            found.append(
                Check(
                    check="serial",
                    subject=subject,
                    status=Status.ERROR,
                    message="no such serial port",
                    fix="plug in the USB-RS485 adapter; find its name with `ls /dev/serial/by-id/` "
                    "or `dmesg | tail` and put it in the site file's URI",
                )
            )
        elif not os.access(port, os.R_OK | os.W_OK):
            found.append(
                Check(
                    check="serial",
                    subject=subject,
                    status=Status.ERROR,
                    message="exists, but this user may not read and write it",
                    fix=_permission_fix(port),
                )
            )
        else:
            found.append(
                Check(check="serial", subject=subject, status=Status.OK, message="read/write")
            )
    return found


def _permission_fix(port: str) -> str:
    try:
        import grp
        import pwd
    except ImportError:  # not a POSIX system
        return f"ask the administrator for read/write access to {port}"
    gid = os.stat(port).st_gid
    try:
        group = grp.getgrgid(gid).gr_name
        members = grp.getgrgid(gid).gr_mem
    except KeyError:
        return f"ask the administrator for read/write access to {port}"
    user = pwd.getpwuid(os.getuid()).pw_name
    if user in members or pwd.getpwuid(os.getuid()).pw_gid == gid:
        return f"you are in group {group}, but this session is not yet: log out and in again"
    return f"sudo usermod -aG {group} {user}, then log out and in again"


# -- the site: certificates ---------------------------------------------------------------------


def _certificates(site: Site) -> list[Check]:
    files: dict[Path, list[str]] = {}
    for target in site.targets:
        for role, spec in target.devices.items():
            for name, path in (("ca", spec.options.ca), ("cert", spec.options.cert)):
                if path is not None:
                    files.setdefault(path, []).append(f"{target.id} {role} {name}")
    found = []
    now = datetime.datetime.now(datetime.UTC)
    for path, who in files.items():
        subject = f"{path} ({', '.join(who)})"
        if not path.is_file():
            found.append(
                Check(
                    check="tls",
                    subject=subject,
                    status=Status.ERROR,
                    message="no such certificate file",
                    fix="copy the certificate from the platform operator to this path",
                )
            )
            continue
        try:
            dates = certificate_dates(path)
        except ValueError as exc:
            # A CA or client certificate the TLS handshake cannot use fails every connection.
            found.append(
                Check(
                    check="tls",
                    subject=subject,
                    status=Status.ERROR,
                    message=f"{exc}: TLS with it fails",
                    fix="put the PEM certificate from the platform operator in this file",
                )
            )
            continue
        if dates is None:
            found.append(
                Check(
                    check="tls",
                    subject=subject,
                    status=Status.WARNING,
                    message="dates not read: neither the cryptography package nor the openssl "
                    "command is installed",
                    fix="pip install cryptography (or install openssl) and run doctor again",
                )
            )
            continue
        for subject_name, not_before, not_after in dates:
            what = f"{subject} {subject_name}"
            found.append(_dated(what, not_before, not_after, now))
    return found


def _dated(
    subject: str,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    now: datetime.datetime,
) -> Check:
    day = "%Y-%m-%d %H:%M UTC"
    if not_after <= now:
        return Check(
            check="tls",
            subject=subject,
            status=Status.ERROR,
            message=f"expired on {not_after.strftime(day)}",
            fix="get a renewed certificate from the platform operator (or its CA) and replace "
            "the file",
        )
    if not_before > now:
        return Check(
            check="tls",
            subject=subject,
            status=Status.ERROR,
            message=f"not valid before {not_before.strftime(day)}",
            fix="check this laptop's clock (timedatectl); else the certificate was issued "
            "with a wrong start date: have it reissued",
        )
    left = not_after - now
    if left <= _EXPIRY_WARNING:
        return Check(
            check="tls",
            subject=subject,
            status=Status.WARNING,
            message=f"expires on {not_after.strftime(day)}, in {left.days} day(s)",
            fix="have the certificate renewed before then",
        )
    return Check(
        check="tls",
        subject=subject,
        status=Status.OK,
        message=f"valid until {not_after.strftime(day)}",
    )


def certificate_dates(
    path: Path,
) -> list[tuple[str, datetime.datetime, datetime.datetime]] | None:
    """(subject, not before, not after) of each certificate in a PEM file: with the
    `cryptography` package when installed, else the openssl command (first certificate); None
    when neither is here. ValueError: not a PEM certificate."""
    if importlib.util.find_spec("cryptography") is not None:
        # Imported by name: an optional package, with no type stubs needed here.
        x509: Any = importlib.import_module("cryptography.x509")

        try:
            certificates = x509.load_pem_x509_certificates(path.read_bytes())
        except ValueError as exc:
            raise ValueError(f"not a PEM certificate ({exc})") from None
        return [
            (c.subject.rfc4514_string(), c.not_valid_before_utc, c.not_valid_after_utc)
            for c in certificates
        ]
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    result = subprocess.run(
        [openssl, "x509", "-noout", "-subject", "-startdate", "-enddate", "-in", str(path)],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    if result.returncode != 0:
        raise ValueError("not a PEM certificate (openssl x509 cannot read it)")
    fields = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    form = "%b %d %H:%M:%S %Y %Z"

    def when(text: str) -> datetime.datetime:
        parsed = datetime.datetime.strptime(" ".join(text.split()), form)
        return parsed.replace(tzinfo=datetime.UTC)

    return [
        (fields.get("subject", "").strip(), when(fields["notBefore"]), when(fields["notAfter"]))
    ]


# -- the site: devices --------------------------------------------------------------------------


def _placeholder(spec: DeviceSpec) -> bool:
    try:
        address = ipaddress.ip_address(spec.address.host)
    except ValueError:
        return False
    return any(address in network for network in _DOCUMENTATION_NETWORKS)


def _devices(site: Site, progress: Callable[[str], None]) -> list[Check]:
    """Probe every device: one task per serial bus (its devices one after the other), one per
    other device, a few at a time."""
    groups: dict[str, list[tuple[str, str, DeviceSpec]]] = {}
    placeholders: list[Check] = []
    for target in site.targets:
        for role, spec in target.devices.items():
            if _placeholder(spec):
                placeholders.append(
                    Check(
                        check="placeholder",
                        subject=_where(target.id, role, spec),
                        status=Status.ERROR,
                        message="the address is on a documentation network (RFC 5737), a "
                        "placeholder (site init writes them, examples use them): never reached",
                        fix="put in the device's real URI (docs/site-init.md)",
                    )
                )
                continue
            port = spec.address.path
            if spec.address.serial and os.name != "nt" and not _usable(port):
                continue  # the serial check has said why
            key = spec.address.bus or f"{target.id}/{role}"
            groups.setdefault(key, []).append((target.id, role, spec))

    def probe_group(members: list[tuple[str, str, DeviceSpec]]) -> list[Check]:
        found: list[Check] = []
        for target, role, spec in members:
            progress(f"probing {_where(target, role, spec)}")
            found += _probe(target, role, spec)
        return found

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(probe_group, groups.values()))
    return placeholders + [check for found in results for check in found]


def _usable(port: str) -> bool:
    return os.path.exists(port) and os.access(port, os.R_OK | os.W_OK)


def _probe_point(spec: DeviceSpec) -> str:
    """The point to read: the device clock where mapped (its offset is worth knowing), else the
    map's first point."""
    points = spec.devicemap.points
    return "device_clock" if "device_clock" in points else next(iter(points))


def _probe(target: str, role: str, spec: DeviceSpec) -> list[Check]:
    subject = _where(target, role, spec)
    mqtt = spec.address.protocol == "mqtt"
    timeout = _MQTT_TIMEOUT if mqtt else _PROBE_TIMEOUT
    # Whether the device is there, not whether it is fast: the doctor's own short timeout,
    # and a read not answered in time asked once more (a busy moment is not a silent device).
    options = dataclasses.replace(spec.options, timeout=timeout, retries=0 if mqtt else 1)
    if not spec.devicemap.points:
        return [
            Check(
                check="reach",
                subject=subject,
                status=Status.WARNING,
                message=f"device map {spec.devicemap.path} maps no point: nothing to read",
                fix="give the device's map (docs/devicemaps.md)",
            )
        ]
    point = _probe_point(spec)
    try:
        device = open_device(f"{target} {role}", spec.uri, spec.devicemap, options)
    except ValueError as exc:
        return [Check(check="reach", subject=subject, status=Status.ERROR, message=str(exc))]
    try:
        outcome = _read(device, point, mqtt=mqtt)
    except Exception as exc:
        # Only the type: a message from a library may quote what the device or broker sent.
        return [
            Check(
                check="reach",
                subject=subject,
                status=Status.ERROR,
                message=f"the probe failed ({type(exc).__name__})",
                fix="check the address and the device; run the suite against it to see more",
            )
        ]
    finally:
        device.close()
    if isinstance(outcome, DeviceError):
        failed = _failed(subject, outcome, mqtt=mqtt)
        if isinstance(outcome, DeviceTimeout) and spec.address.protocol == "dlt645":
            failed = _meter_elsewhere(failed, target, role, spec, options)
        return [failed]
    checks = [
        Check(
            check="reach",
            subject=subject,
            status=Status.OK,
            message=f"answered ({point} read)"
            if not mqtt
            else f"broker connected, {point} received",
        )
    ]
    if point == "device_clock":
        checks.append(_clock(subject, outcome))
    return checks


def _meter_elsewhere(
    failed: Check, target: str, role: str, spec: DeviceSpec, options: LinkOptions
) -> Check:
    """A meter silent at the site's address: ask the line who is there, so that the fix can
    name the address that answers. The same read, sent to the wildcard address AAAAAAAAAAAA,
    which a meter answers with its own address in the reply (one meter per line: one answer).
    Not the read-address command 0x13, which not every meter (nor the bench's) answers."""
    from .devicemap import Dlt645Point
    from .transport.dlt645 import WILDCARD_ADDRESS, parse_frame, read_request

    point = spec.devicemap.points[_probe_point(spec)]
    if not isinstance(point, Dlt645Point):
        return failed

    try:
        device = open_device(f"{target} {role}", spec.uri, spec.devicemap, options)
    except ValueError:
        return failed
    try:
        if not isinstance(device, SendsFrames):
            return failed
        _, answer = device.send_frame(read_request(WILDCARD_ADDRESS, point.di))
        found = parse_frame(answer).address if answer else None
    except DeviceError:
        return failed
    finally:
        device.close()
    if found is None or found == spec.address.meter_address:
        return failed
    return dataclasses.replace(
        failed,
        message=f"{failed.message}; a meter on this line answers a read at the wildcard "
        f"address as meter {found}",
        fix=f"if that is this meter, write address={found} in the URI (the nameplate's "
        "12 digits); else check the wiring to this one",
    )


def _read(device: Device, point: str, *, mqtt: bool) -> Reading | DeviceError:
    # MQTT: a live message, so that the device clock is compared with a fresh stamp.
    if mqtt and isinstance(device, ReadsFresh):
        return device.read_fresh([point])[point]
    return device.read_many([point])[point]


def _failed(subject: str, exc: DeviceError, *, mqtt: bool) -> Check:
    text = str(exc)
    if isinstance(exc, DeviceRefused):
        fix = (
            "check the broker's host and port, the login (env:/file: references set) and the "
            "CA; is the laptop on the platform's network?"
            if mqtt
            else "check the host, port and cable, and that the device is powered"
        )
        return Check(check="reach", subject=subject, status=Status.ERROR, message=text, fix=fix)
    if isinstance(exc, DeviceTimeout):
        if mqtt:
            return Check(
                check="reach",
                subject=subject,
                status=Status.WARNING,
                message=f"broker reached, but no message of the device within {_MQTT_TIMEOUT:g} "
                f"s ({text})",
                fix="check the topic prefix in the URI; a device reporting less often is fine",
            )
        return Check(
            check="reach",
            subject=subject,
            status=Status.ERROR,
            message=f"no answer: {text}",
            fix="check the unit id or meter address, baud rate and parity, the A/B wiring and "
            "the termination; `ycsa-conform scan` lists what answers on the bus",
        )
    if isinstance(exc, DeviceException | DecodeError):
        return Check(
            check="reach",
            subject=subject,
            status=Status.WARNING,
            message=f"the device answered, but: {text}",
            fix="check that the device map is the one for this device (docs/devicemaps.md)",
        )
    return Check(
        check="reach",
        subject=subject,
        status=Status.ERROR,
        message=text,
        fix="check the device's power and connection",
    )


def _clock(subject: str, reading: Reading) -> Check:
    if reading.retained:
        return Check(
            check="clock",
            subject=subject,
            status=Status.NOTE,
            message="only a retained message arrived: the device clock is not compared",
        )
    value: Any = reading.value
    try:
        stamp = float(value.to("s").magnitude)
    except (AttributeError, ValueError):
        return Check(
            check="clock", subject=subject, status=Status.NOTE, message="clock not readable"
        )
    offset = stamp - reading.at
    side = "ahead of" if offset > 0 else "behind"
    message = f"device clock {abs(offset):.1f} s {side} this laptop's"
    if abs(offset) > _CLOCK_LIMIT:
        return Check(
            check="clock",
            subject=subject,
            status=Status.WARNING,
            message=f"{message} (limit ±{_CLOCK_LIMIT:g} s, SP-DATA-010)",
            fix="synchronise the device (the platform's NTP) or this laptop's clock "
            "(timedatectl status) before the run",
        )
    return Check(check="clock", subject=subject, status=Status.OK, message=message)
