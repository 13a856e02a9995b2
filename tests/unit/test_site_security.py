"""How a site file names the way devices are reached safely: logins only by reference, never
over plain MQTT unless allowed, TLS verification off only on purpose; and what the run's report
must then say (`security_notes`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ycsa_conform.errors import InputError
from ycsa_conform.resources import data_dir
from ycsa_conform.site import load_site, security_notes

HEAD = "site: s\nkind: field\ntargets:\n  - id: P1\n    kind: pole\n    devices:\n      gateway:\n"
SEED = "Zq7-Seeded-Pw"


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    shutil.copytree(data_dir("benches") / "devicemaps", tmp_path / "devicemaps")
    (tmp_path / "ca.pem").write_text("not read when loading\n", encoding="utf-8")
    return tmp_path


def write(folder: Path, device: str) -> Path:
    path = folder / "site.yaml"
    lines = "".join(f"        {line}\n" for line in device.strip().splitlines())
    path.write_text(HEAD + "        map: devicemaps/gateway.yaml\n" + lines, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_site(path)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("key", ["username", "password"])
@pytest.mark.parametrize("value", [SEED, f"'{SEED}'", "12345678"])
def test_an_inline_credential_is_refused_without_being_quoted(
    site_dir: Path, key: str, value: str
) -> None:
    path = write(site_dir, f"uri: mqtts://broker.example/x\n{key}: {value}")
    (problem,) = problems(path)
    assert f"site.yaml:10: $.targets[0].devices.gateway.{key}: the value is not a reference" in (
        problem
    )
    assert "'env:VARIABLE' or 'file:PATH'" in problem
    assert value.strip("'") not in problem


def test_a_login_over_plain_mqtt_is_refused_unless_allowed(site_dir: Path) -> None:
    device = "uri: mqtt://broker.example/x\nusername: env:U\npassword: env:P"
    (problem,) = problems(write(site_dir, device))
    assert "$.targets[0].devices.gateway.password: the login would cross the network " in problem
    assert "use mqtts://, or add 'allow_plain_credentials: true'" in problem
    site = load_site(write(site_dir, device + "\nallow_plain_credentials: true"))
    assert site.targets[0].devices["gateway"].options.allow_plain_credentials
    (note,) = security_notes(site)
    assert "P1 gateway (mqtt://broker.example:1883/x): the login goes over plain mqtt://" in note
    assert "(allow_plain_credentials: true)" in note


def test_plain_mqtt_without_a_login_needs_no_permission(site_dir: Path) -> None:
    site = load_site(write(site_dir, "uri: mqtt://broker.example/x"))
    assert security_notes(site) == ()


def test_tls_verification_is_on_unless_turned_off_and_then_noted(site_dir: Path) -> None:
    site = load_site(write(site_dir, "uri: mqtts://broker.example/x\ntls: {ca: ca.pem}"))
    assert site.targets[0].devices["gateway"].options.tls_verify
    assert security_notes(site) == ()
    site = load_site(write(site_dir, "uri: mqtts://broker.example/x\ntls: {verify: false}"))
    assert not site.targets[0].devices["gateway"].options.tls_verify
    (note,) = security_notes(site)
    assert "P1 gateway (mqtts://broker.example:8883/x): TLS verification is off" in note


def test_tls_settings_on_a_plain_uri_are_refused(site_dir: Path) -> None:
    (problem,) = problems(write(site_dir, "uri: mqtt://broker.example/x\ntls: {verify: false}"))
    assert "TLS settings need an mqtts:// URI" in problem


def test_a_secret_file_open_to_others_is_noted_with_the_fix(site_dir: Path) -> None:
    secret = site_dir / "pw.txt"
    secret.write_text(SEED + "\n", encoding="utf-8")
    secret.chmod(0o640)
    device = "uri: mqtts://broker.example/x\nusername: env:U\npassword: file:pw.txt"
    site = load_site(write(site_dir, device))
    (note,) = security_notes(site)
    assert f"secret file {secret} is open to others than its owner (mode 0640)" in note
    assert SEED not in note
    secret.chmod(0o600)
    assert security_notes(site) == ()


def test_validate_never_echoes_a_rejected_credential_and_warns_of_a_plain_login(
    site_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ycsa_conform.cli import main

    user_part = write(site_dir, f"uri: mqtt://Usr-Q1:{SEED}@broker.example/x")
    assert main(["validate", str(user_part)]) == 4  # cannot be loaded: a usage error
    query = site_dir / "query.yaml"
    query.write_text(
        user_part.read_text().replace(f"Usr-Q1:{SEED}@", "").replace("/x", f"/x?password={SEED}")
    )
    assert main(["validate", str(query)]) == 4
    inline = site_dir / "inline.yaml"
    inline.write_text(
        user_part.read_text().replace(f"Usr-Q1:{SEED}@", "") + f"        password: {SEED}\n"
    )
    assert main(["validate", str(inline)]) == 4
    shown = capsys.readouterr()
    assert shown.err.count("never put credentials in the URI") == 2
    assert "the value is not a reference" in shown.err
    assert SEED not in shown.out + shown.err
    assert "Usr-Q1" not in shown.out + shown.err

    plain = write(
        site_dir,
        "uri: mqtt://broker.example/x\nusername: env:U\npassword: env:P\n"
        "allow_plain_credentials: true",
    )
    main(["validate", str(plain)])
    shown = capsys.readouterr()
    assert f"{plain}: warning: P1 gateway (mqtt://broker.example:1883/x): the login goes " in (
        shown.err
    )
