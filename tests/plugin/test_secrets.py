"""A seeded secret never reaches an artefact or the terminal, whatever the run meets.

Each run reads a distinctive user name (from the environment) and password (from a file) for
a gateway on a real mosquitto broker with a password file, with every output on: `-l` (locals
in tracebacks), `-vv -rA`, `--log-level=DEBUG` with a log file, `--debug` (pytest's own trace of
every hook call), JUnit XML, Allure results, the native report folder and a `--record`ing.
Then every file the run left in its directory and its stdout and stderr are searched for the
secrets, plain and base64-encoded.

The runs: a login that works (over plain mqtt:// with `allow_plain_credentials: true`, which the
report must state), a wrong password, a broker certificate from another CA (a failed TLS
connection), and an internal error while paho holds the login: a conftest.py makes paho's
packet queue raise on the CONNECT packet. That fault is the one thing injected (a bug cannot be
had on demand); at that moment paho's frame holds the CONNECT packet with the password in
plain bytes, which `-l` printed before the traceback was withheld.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ycsa_conform.bench.broker import (
    Broker,
    make_certificates,
    start_broker,
)
from ycsa_conform.bench.gateway import nominal_values, telemetry_payload
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.resources import data_dir
from ycsa_conform.transport import LinkOptions, Secret, parse_device_uri
from ycsa_conform.transport.mqtt import MqttLink

GATEWAY_MAP = data_dir("benches") / "devicemaps" / "gateway.yaml"
USER = "Usr-Zk41Qm"  # seeded: a user name is a credential too
PASSWORD = "Pw-Xq93Rb-seed"
WRONG = "Pw-Wr0ng-Jt58"  # seeded as well: a rejected password must not show either
SEEDS = (USER, PASSWORD, WRONG)
OUTPUTS = [
    "-l",
    "-vv",
    "-rA",
    "--log-level=DEBUG",
    "--log-file=run.log",
    "--log-file-level=DEBUG",
    "--debug=pytestdebug.log",
    "--junitxml=junit.xml",
    "--alluredir=allure-results",
    "--report-dir=reports",
    "--record=recording",
]
RUN = ["--profile", "smart-pole", "-k", "SP-DATA-007", "--param", "telemetry_window=1 s"]
# Makes paho fail while it sends the CONNECT packet (command 0x10), password inside.
INTERNAL_ERROR = """
from paho.mqtt import client

_queue = client.Client._packet_queue


def _failing(self, command, packet, mid, qos, info=None):
    if command & 0xF0 == 0x10:
        raise RuntimeError("injected fault in the CONNECT packet's queue")
    return _queue(self, command, packet, mid, qos, info)


client.Client._packet_queue = _failing
"""


@pytest.fixture(scope="module")
def tls_broker(
    tmp_path_factory: pytest.TempPathFactory, mosquitto_required: None
) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("tls")
    with start_broker(
        kind="mosquitto", directory=directory, tls=True, users={USER: PASSWORD}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def plain_broker(
    tmp_path_factory: pytest.TempPathFactory, mosquitto_required: None
) -> Iterator[Broker]:
    directory = tmp_path_factory.mktemp("plain")
    with start_broker(kind="mosquitto", directory=directory, users={USER: PASSWORD}) as running:
        yield running


def _publish_telemetry(broker: Broker, prefix: str) -> None:
    """Retained telemetry below `prefix`, published with the login (as the gateway would)."""
    os.environ["YCSA_E2E_PUBLISHER_PASSWORD"] = PASSWORD
    options = LinkOptions(
        ca=broker.ca_path,
        username=Secret("env", "YCSA_E2E_USER"),
        password=Secret("env", "YCSA_E2E_PUBLISHER_PASSWORD"),
        allow_plain_credentials=True,
    )
    link = MqttLink("publisher", parse_device_uri(broker.url(prefix)), options)
    try:
        payload = telemetry_payload(load_devicemap(GATEWAY_MAP), nominal_values())
        link.transact(
            {
                "op": "publish",
                "topic": f"{prefix}/telemetry",
                "payload": json.dumps(payload),
                "qos": 1,
                "retain": True,
            }
        )
    finally:
        link.close()
        del os.environ["YCSA_E2E_PUBLISHER_PASSWORD"]


def _site(pytester: pytest.Pytester, uri: str, *, password: str, tls: str = "") -> None:
    secret = pytester.path / "secrets" / "mqtt-password"
    secret.parent.mkdir(exist_ok=True)
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    extra = f"        tls: {{ca: {tls}}}\n" if tls else "        allow_plain_credentials: true\n"
    (pytester.path / "site.yaml").write_text(
        "site: secret-test\nkind: field\ntargets:\n  - id: P001\n    kind: pole\n"
        "    devices:\n      gateway:\n"
        f"        uri: {uri}\n        map: {GATEWAY_MAP}\n        timeout: 2 s\n"
        "        username: env:YCSA_E2E_USER\n        password: file:secrets/mqtt-password\n"
        + extra,
        encoding="utf-8",
    )


def _run(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*RUN, "--site", "site.yaml", *OUTPUTS)


def _leaks(pytester: pytest.Pytester, result: pytest.RunResult) -> list[str]:
    """Where any seed shows, plain or base64-encoded: files of the run, stdout, stderr."""
    needles = [s.encode() for s in SEEDS] + [base64.b64encode(s.encode()) for s in SEEDS]
    places = {
        "stdout": "\n".join(result.outlines).encode(),
        "stderr": "\n".join(result.errlines).encode(),
    }
    for path in sorted(pytester.path.rglob("*")):
        if path.is_file() and path.parent.name != "secrets":
            places[str(path.relative_to(pytester.path))] = path.read_bytes()
    return [f"{where}: {n!r}" for where, text in places.items() for n in needles if n in text]


def _artefacts(pytester: pytest.Pytester) -> None:
    """Every output the run was asked for is there: a search of nothing proves nothing."""
    root = pytester.path
    for name in ("run.log", "pytestdebug.log", "junit.xml", "reports"):
        assert (root / name).exists(), name
    assert list((root / "allure-results").glob("*-result.json"))
    assert list(root.joinpath("reports").rglob("report.json"))
    assert (root / "recording" / "traffic.jsonl").is_file()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YCSA_E2E_USER", USER)


def _report(pytester: pytest.Pytester) -> dict[str, object]:
    path = next(pytester.path.joinpath("reports").rglob("report.json"))
    report: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return report


@pytest.mark.usefixtures("environment")
def test_a_working_login_over_plain_mqtt_is_stated_and_never_shown(
    pytester: pytest.Pytester, plain_broker: Broker
) -> None:
    prefix = f"test/{uuid.uuid4().hex[:8]}/P001"
    _publish_telemetry(plain_broker, prefix)
    _site(pytester, plain_broker.url(prefix), password=PASSWORD)

    result = _run(pytester)

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["ycsa-conform: security: P001 gateway (mqtt://*): the login goes over plain mqtt://*"]
    )
    assert "the login goes over plain mqtt://" in json.dumps(_report(pytester))
    html = next(pytester.path.joinpath("reports").rglob("report.html"))
    assert "the login goes over plain mqtt://" in html.read_text(encoding="utf-8")
    _artefacts(pytester)
    assert _leaks(pytester, result) == []


@pytest.mark.usefixtures("environment")
def test_a_wrong_password_is_refused_and_never_shown(
    pytester: pytest.Pytester, tls_broker: Broker
) -> None:
    assert tls_broker.ca_path is not None
    _site(pytester, tls_broker.url("test/P001"), password=WRONG, tls=str(tls_broker.ca_path))

    result = _run(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the broker refused the login: Not authorized*"])
    _artefacts(pytester)
    assert _leaks(pytester, result) == []


@pytest.mark.usefixtures("environment")
def test_a_failed_tls_connection_names_the_ca_and_never_shows_the_login(
    pytester: pytest.Pytester, tls_broker: Broker, tmp_path: Path
) -> None:
    other = make_certificates(tmp_path, name="other")
    _site(pytester, tls_broker.url("test/P001"), password=PASSWORD, tls=str(other.ca))

    result = _run(pytester)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*does not verify against CA file {other.ca}*"])
    _artefacts(pytester)
    assert _leaks(pytester, result) == []


@pytest.mark.usefixtures("environment")
def test_an_internal_error_while_paho_holds_the_login_shows_no_locals_with_it(
    pytester: pytest.Pytester, tls_broker: Broker
) -> None:
    assert tls_broker.ca_path is not None
    _site(pytester, tls_broker.url("test/P001"), password=PASSWORD, tls=str(tls_broker.ca_path))
    pytester.makeconftest(INTERNAL_ERROR)

    result = _run(pytester)

    _artefacts(pytester)
    assert _leaks(pytester, result) == []
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "E * RuntimeError: gateway at mqtts://*: connecting with a login failed: "
            "RuntimeError: injected fault in the CONNECT packet's queue (traceback withheld*",
        ]
    )
    # -l did print locals: of our frames, with the secrets masked or absent.
    assert any(line.startswith("self ") for line in result.outlines)
