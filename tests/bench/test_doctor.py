"""`ycsa-conform doctor [SITE]`: a site with an unreachable device (a closed loopback port), an
expired certificate and a missing serial port names each problem with its fix and exits 1; a
site made by `site init` against a running standalone bench is ready (exit 0); without SITE
only the laptop is checked; a login is never printed.

Certificates are made for the test with the `cryptography` package when it is installed, else
with the openssl command (`openssl ca`, which can date a certificate in the past)."""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.resources import data_dir

MAPS = data_dir("benches") / "devicemaps"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ycsa_conform", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _closed_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _certificate(folder: Path, start: datetime.datetime, end: datetime.datetime) -> Path:
    """A self-signed PEM certificate valid from `start` to `end`."""
    out = folder / "cert.pem"
    if importlib.util.find_spec("cryptography") is not None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ycsa-test")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .sign(key, hashes.SHA256())
        )
        out.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return out
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("neither the cryptography package nor the openssl command is installed")
    ca = folder / "ca"
    (ca / "new").mkdir(parents=True)
    (ca / "index.txt").write_text("")
    (ca / "serial").write_text("01\n")
    config = ca / "ca.cnf"
    config.write_text(
        f"[ca]\ndefault_ca = own\n[own]\ndir = {ca}\ndatabase = $dir/index.txt\n"
        "new_certs_dir = $dir/new\nserial = $dir/serial\ndefault_md = sha256\n"
        "policy = any\n[any]\ncommonName = supplied\n"
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = ycsa-test\n"
    )
    run = [openssl, "req", "-new", "-newkey", "rsa:2048", "-nodes", "-config", str(config)]
    subprocess.run(
        [*run, "-keyout", str(ca / "key.pem"), "-out", str(ca / "req.csr")],
        check=True,
        capture_output=True,
    )
    form = "%Y%m%d%H%M%SZ"
    subprocess.run(
        [
            openssl, "ca", "-batch", "-selfsign", "-config", str(config),
            "-keyfile", str(ca / "key.pem"), "-in", str(ca / "req.csr"), "-out", str(out),
            "-startdate", start.strftime(form), "-enddate", end.strftime(form),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return out


def _utc(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def bench(standalone_bench: dict[str, Any]) -> dict[str, Any]:
    """One standalone bench for the module (the root conftest's)."""
    return standalone_bench


def test_a_broken_site_names_each_problem_and_its_fix(tmp_path: Path) -> None:
    port = _closed_port()
    missing = tmp_path / "ttyUSB-unplugged"
    expired = _certificate(tmp_path, _utc(2020, 1, 1), _utc(2021, 1, 1))
    site = tmp_path / "broken.yaml"
    site.write_text(
        f"""site: broken
kind: field
targets:
  - id: P001
    kind: pole
    devices:
      lamp: {{uri: "modbus-tcp://127.0.0.1:{port}?unit=1", map: {MAPS}/lamp-controller.yaml}}
      meter: {{uri: "dlt645://{missing}?address=202611250001", map: {MAPS}/meter-dlt645.yaml}}
      gateway:
        uri: "mqtts://127.0.0.1:{port}/city/P001"
        map: {MAPS}/gateway.yaml
        tls: {{ca: {expired}}}
""",
        encoding="utf-8",
    )

    result = _cli("doctor", str(site))
    as_json = _cli("doctor", str(site), "--json")

    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
    assert (
        f"error: serial: {missing} (P001 meter): no such serial port — fix: plug in"
        in "\n".join(errors)
    )
    expired_line = next(line for line in errors if line.startswith(f"error: tls: {expired}"))
    assert "expired on 2021-01-01 00:00 UTC — fix: get a renewed certificate" in expired_line
    lamp = next(line for line in errors if line.startswith("error: reach: P001 lamp"))
    assert f"127.0.0.1:{port}" in lamp
    assert "— fix: check the host, port and cable" in lamp
    gateway = next(line for line in errors if line.startswith("error: reach: P001 gateway"))
    assert "refused the connection" in gateway
    assert len(errors) == 4  # the missing port is said once, by the serial check
    assert "NOT ready: 4 error(s)" in result.stdout.splitlines()[-1]
    assert "doctor: probing P001 lamp" in result.stderr  # progress on stderr
    document = json.loads(as_json.stdout)
    assert as_json.returncode == 1
    assert document["ready"] is False
    assert sorted(c["check"] for c in document["checks"] if c["status"] == "error") == [
        "reach",
        "reach",
        "serial",
        "tls",
    ]
    assert all(c["fix"] for c in document["checks"] if c["status"] == "error")


def test_a_site_made_by_init_against_the_running_bench_is_ready(
    tmp_path: Path, bench: dict[str, Any]
) -> None:
    site = tmp_path / "bench-pole.yaml"
    made = _cli(
        "site", "init", str(site),
        "--device", f"lamp=modbus-rtu://{bench['modbus_rtu']}?baud=9600&parity=N&stopbits=1&unit=1",
        "--device", f"meter=dlt645://{bench['dlt645']}?baud=2400&address={bench['meter_address']}",
        "--device", f"tilt=modbus-tcp://{bench['modbus_tcp']}?unit=4",
        "--device", f"environment=modbus-tcp://{bench['modbus_tcp']}?unit=3",
        "--device", f"gateway=mqtt://{bench['mqtt']}/{bench['prefix']}",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    result = _cli("doctor", str(site), "--json")

    assert result.returncode == 0, result.stdout + result.stderr
    document = json.loads(result.stdout)
    assert document["ready"] is True
    reached = {c["subject"].split(" (")[0] for c in document["checks"] if c["check"] == "reach"}
    assert reached == {f"P001 {r}" for r in ("lamp", "meter", "tilt", "environment", "gateway")}
    assert all(c["status"] == "ok" for c in document["checks"] if c["check"] == "reach")
    # The lamp controller and the gateway stamp their data: both clocks were compared.
    clocks = [c["subject"].split(" (")[0] for c in document["checks"] if c["check"] == "clock"]
    assert sorted(clocks) == ["P001 gateway", "P001 lamp"]
    assert not [c for c in document["checks"] if c["status"] == "error"]


def test_a_meter_silent_at_its_address_is_asked_at_the_wildcard_and_the_fix_names_it(
    tmp_path: Path, bench: dict[str, Any]
) -> None:
    site = tmp_path / "meter.yaml"
    site.write_text(
        f"""site: meter
kind: field
targets:
  - id: P001
    kind: pole
    devices:
      meter:
        uri: "dlt645://{bench["dlt645"]}?address=202611250099"
        map: {MAPS}/meter-dlt645.yaml
""",
        encoding="utf-8",
    )

    result = _cli("doctor", str(site))

    assert result.returncode == 1
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("error: reach: P001"))
    assert "no answer" in line
    assert f"answers a read at the wildcard address as meter {bench['meter_address']}" in line
    assert f"— fix: if that is this meter, write address={bench['meter_address']}" in line


def test_a_site_with_placeholders_is_not_ready(tmp_path: Path) -> None:
    site = tmp_path / "new.yaml"
    assert _cli("site", "init", str(site)).returncode == 0

    result = _cli("doctor", str(site))

    assert result.returncode == 1
    placeholders = [ln for ln in result.stdout.splitlines() if ln.startswith("error: placeholder:")]
    assert len(placeholders) == 5
    assert all("— fix: put in the device's real URI" in line for line in placeholders)


def test_without_a_site_only_the_laptop_is_checked() -> None:
    result = _cli("doctor", "--json")

    document = json.loads(result.stdout)
    assert {c["check"] for c in document["checks"]} <= {"tools", "pdf", "font"}
    assert {c["subject"] for c in document["checks"] if c["check"] == "tools"} == {
        "mosquitto",
        "socat",
    }
    # Missing test tools are notes and a missing font a warning: the laptop is still ready.
    assert document["ready"] is True
    assert result.returncode == 0


def test_a_certificate_expiring_within_30_days_is_a_warning(tmp_path: Path) -> None:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    soon = _certificate(
        tmp_path, now - datetime.timedelta(days=300), now + datetime.timedelta(days=10)
    )
    site = tmp_path / "soon.yaml"
    site.write_text(
        f"""site: soon
kind: field
targets:
  - id: P001
    kind: pole
    devices:
      gateway:
        uri: "mqtts://127.0.0.1:{_closed_port()}/c/P001"
        map: {MAPS}/gateway.yaml
        tls: {{ca: {soon}}}
""",
        encoding="utf-8",
    )

    document = json.loads(_cli("doctor", str(site), "--json").stdout)

    (tls,) = [c for c in document["checks"] if c["check"] == "tls"]
    assert tls["status"] == "warning"
    assert "in 9 day(s)" in tls["message"] or "in 10 day(s)" in tls["message"]
    assert tls["fix"]


def test_a_certificate_not_yet_valid_is_an_error_naming_the_clock(tmp_path: Path) -> None:
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    future = _certificate(
        tmp_path, now + datetime.timedelta(days=5), now + datetime.timedelta(days=400)
    )
    site = tmp_path / "future.yaml"
    site.write_text(
        f"""site: future
kind: field
targets:
  - id: P001
    kind: pole
    devices:
      gateway:
        uri: "mqtts://127.0.0.1:{_closed_port()}/c/P001"
        map: {MAPS}/gateway.yaml
        tls: {{ca: {future}}}
""",
        encoding="utf-8",
    )

    result = _cli("doctor", str(site))

    assert result.returncode == 1
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("error: tls:"))
    assert "not valid before" in line
    assert "— fix: check this laptop's clock" in line


def test_a_ca_file_that_is_not_a_certificate_is_an_error(tmp_path: Path) -> None:
    ca = tmp_path / "city-ca.pem"
    ca.write_text("put the platform's CA certificate here\n")
    site = tmp_path / "ca.yaml"
    site.write_text(
        f"""site: ca
kind: field
targets:
  - id: P001
    kind: pole
    devices:
      gateway:
        uri: "mqtts://127.0.0.1:{_closed_port()}/c/P001"
        map: {MAPS}/gateway.yaml
        tls: {{ca: {ca}}}
""",
        encoding="utf-8",
    )

    result = _cli("doctor", str(site))

    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("error: tls:"))
    assert "not a PEM certificate" in line
    assert "— fix: put the PEM certificate" in line


def test_a_login_is_never_printed(tmp_path: Path, bench: dict[str, Any]) -> None:
    secret = "s3cret-doctor-value-8c1f"
    site = tmp_path / "login.yaml"
    site.write_text(
        f"""site: login
kind: field
targets:
  - id: P001
    kind: pole
    devices:
      gateway:
        uri: "mqtt://{bench["mqtt"]}/{bench["prefix"]}"
        map: {MAPS}/gateway.yaml
        username: env:YCSA_DOCTOR_USER
        password: env:YCSA_DOCTOR_PASSWORD
        allow_plain_credentials: true
""",
        encoding="utf-8",
    )

    result = _cli(
        "doctor", str(site), env={"YCSA_DOCTOR_USER": "u", "YCSA_DOCTOR_PASSWORD": secret}
    )

    assert result.returncode in (0, 1)
    assert "reach: P001 gateway" in result.stdout
    assert secret not in result.stdout + result.stderr


@pytest.mark.skipif(
    os.name != "posix" or os.geteuid() == 0,
    reason="root may read and write any file: the permission check cannot fail as root",
)
def test_a_serial_port_this_user_may_not_open_names_the_group_fix(tmp_path: Path) -> None:
    port = tmp_path / "ttyUSB0"
    port.write_text("")
    port.chmod(0)
    site = tmp_path / "perm.yaml"
    site.write_text(
        f"""site: perm
kind: field
targets:
  - id: P001
    kind: pole
    devices:
      lamp: {{uri: "modbus-rtu://{port}?unit=1", map: {MAPS}/lamp-controller.yaml}}
""",
        encoding="utf-8",
    )

    result = _cli("doctor", str(site))

    assert result.returncode == 1
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("error: serial:"))
    assert "may not read and write it — fix: " in line
    assert "log out and in again" in line


@pytest.mark.skipif(os.name != "posix", reason="groups and file modes are POSIX")
def test_the_permission_fix_names_the_ports_group_and_this_user(tmp_path: Path) -> None:
    # The access check itself cannot fail for root (the test above is skipped then); the fix
    # it prints is worked out from the real group database, tested here for a port owned by a
    # group this user is not in.
    import grp
    import pwd

    from ycsa_conform.doctor import _permission_fix

    user = pwd.getpwuid(os.getuid())
    others = [
        g
        for g in grp.getgrall()
        if user.pw_name not in g.gr_mem
        and g.gr_gid != user.pw_gid
        and g.gr_gid not in os.getgroups()
    ]
    if not others:
        pytest.skip("no group this user is not in")
    group = next((g for g in others if g.gr_name == "dialout"), others[0])
    port = tmp_path / "ttyUSB0"
    port.write_text("")
    try:
        os.chown(port, -1, group.gr_gid)
    except PermissionError:
        pytest.skip(f"this user may not give a file to group {group.gr_name}")

    fix = _permission_fix(str(port))

    assert fix == f"sudo usermod -aG {group.gr_name} {user.pw_name}, then log out and in again"
