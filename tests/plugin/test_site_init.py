"""`ycsa-conform site init`: the file it writes validates as written (both profiles), carries
the schema header and comments, never replaces a file without --force, refuses a bad CSV cell
with one FILE:LINE: column: line, asks on stdin with --interactive, and, pointed at a running
standalone bench, gives a site that runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from ycsa_conform.site import load_site

ROLES = ("lamp", "meter", "tilt", "environment", "gateway")


def _cli(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ycsa_conform", *args],
        capture_output=True,
        text=True,
        input=stdin,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def _validates(path: Path, *profiles: str) -> None:
    for profile in profiles:
        options = ["--profile", profile] if profile else []
        result = _cli("validate", *options, str(path))
        assert result.returncode == 0, (profile, result.stdout, result.stderr)
        assert "error" not in result.stderr


@pytest.fixture(scope="module")
def bench(standalone_bench: dict[str, Any]) -> dict[str, Any]:
    """One standalone bench for the module (the root conftest's)."""
    return standalone_bench


def _bench_devices(pole: dict[str, Any]) -> list[str]:
    return [
        "--device",
        f"lamp=modbus-rtu://{pole['modbus_rtu']}?baud=9600&parity=N&stopbits=1&unit=1",
        "--device",
        f"meter=dlt645://{pole['dlt645']}?baud=2400&address={pole['meter_address']}",
        "--device",
        f"tilt=modbus-tcp://{pole['modbus_tcp']}?unit=4",
        "--device",
        f"environment=modbus-tcp://{pole['modbus_tcp']}?unit=3",
        "--device",
        f"gateway=mqtt://{pole['mqtt']}/{pole['prefix']}",
    ]


def test_a_single_pole_site_validates_as_written_for_both_profiles(tmp_path: Path) -> None:
    site = tmp_path / "pole.yaml"

    result = _cli("site", "init", str(site))

    assert result.returncode == 0, result.stderr
    lines = site.read_text(encoding="utf-8").splitlines()
    header = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", lines[0])
    assert header is not None, lines[0]
    schema = Path(unquote(urlparse(header.group(1)).path))
    assert schema.name == "site.schema.json"
    assert schema.is_file()
    _validates(site, "", "smart-pole", "smart-community")
    loaded = load_site(site)
    assert [t.id for t in loaded.targets] == ["P001"]
    assert sorted(loaded.targets[0].devices) == sorted(ROLES)
    # Every device without a URI is a placeholder on the documentation network, and says so.
    assert all(d.address.host == "192.0.2.1" for d in loaded.targets[0].devices.values())
    assert sum("FILL IN" in line for line in lines) == len(ROLES)
    assert "5 device(s) still have a placeholder address" in result.stdout


def test_a_community_site_validates_as_written(tmp_path: Path) -> None:
    site = tmp_path / "community.yaml"

    result = _cli("site", "init", str(site), "--profile", "smart-community", "--pole", "C007")

    assert result.returncode == 0, result.stderr
    _validates(site, "", "smart-community")
    target = load_site(site).targets[0]
    assert (target.id, target.kind) == ("C007", "community")
    assert {"access", "video", "fire", "lighting"} <= set(target.subsystems)


def test_a_road_from_a_csv_has_one_target_per_row_with_its_design_and_devices(
    tmp_path: Path,
) -> None:
    poles = tmp_path / "poles.csv"
    poles.write_text(
        "id,address,height,road_class,luminaires_per_pole,pole_spacing,gateway\n"
        "P001,Dianchi Road 1,10 m,II,1,35 m,mqtt://10.0.0.9/city/road-1/P001\n"
        "P002,滇池路 2 号,12 m,II,2,35 m,\n",
        encoding="utf-8",
    )
    site = tmp_path / "road.yaml"

    result = _cli(
        "site", "init", str(site), "--poles", str(poles),
        "--device", "tilt=modbus-tcp://gw-{pole}.example:502?unit=4",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    _validates(site, "", "smart-pole")
    first, second = load_site(site).targets
    assert f"{first.design['height']:~}" == "10.0 m"
    assert f"{second.design['height']:~}" == "12.0 m"
    assert second.design["luminaires_per_pole"] == 2
    assert first.title["en"] == "Dianchi Road 1"
    assert second.title["zh"] == "滇池路 2 号"
    assert str(first.devices["gateway"].address) == "mqtt://10.0.0.9:1883/city/road-1/P001"
    assert second.devices["gateway"].address.host == "192.0.2.1"  # empty cell: placeholder
    assert second.devices["tilt"].address.host == "gw-p002.example"  # {pole}: the target id


def test_a_csv_saved_by_excel_in_gbk_is_read(tmp_path: Path) -> None:
    poles = tmp_path / "poles.csv"
    poles.write_bytes("id,address,height\nP001,滇池路 1 号,10 m\n".encode("gbk"))
    site = tmp_path / "road.yaml"

    result = _cli("site", "init", str(site), "--poles", str(poles))

    assert result.returncode == 0, result.stderr
    assert load_site(site).targets[0].title["zh"] == "滇池路 1 号"


def test_a_bad_csv_gives_one_line_per_mistake_and_writes_nothing(tmp_path: Path) -> None:
    poles = tmp_path / "poles.csv"
    poles.write_text(
        "id,address,height,road_class\nP001,a,10 m,IV\nP002,b,10 kg,II\nP001,c,10 m,II\n",
        encoding="utf-8",
    )
    site = tmp_path / "road.yaml"

    result = _cli("site", "init", str(site), "--poles", str(poles))

    assert result.returncode == 4
    assert not site.exists()
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{poles}:2: road_class: ")
    assert "'I'" in lines[0]
    assert lines[1].startswith(f"{poles}:3: height: ")
    assert "'m'" in lines[1]
    assert lines[2].startswith(f"{poles}:4: id: 'P001' is already on line 2")
    assert len(lines) == 3
    assert "Traceback" not in result.stderr


def test_an_unknown_csv_column_is_named_with_a_did_you_mean(tmp_path: Path) -> None:
    poles = tmp_path / "poles.csv"
    poles.write_text("id,heigth\nP001,10 m\n", encoding="utf-8")

    result = _cli("site", "init", str(tmp_path / "s.yaml"), "--poles", str(poles))

    assert result.returncode == 4
    assert result.stderr.startswith(f"{poles}:1: heigth: unknown column; did you mean 'height'?")


def test_an_existing_file_is_replaced_only_with_force(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("keep me\n", encoding="utf-8")

    refused = _cli("site", "init", str(site))
    forced = _cli("site", "init", str(site), "--force")

    assert refused.returncode == 4
    assert "--force" in refused.stderr
    assert forced.returncode == 0, forced.stderr
    assert site.read_text(encoding="utf-8").startswith("# yaml-language-server:")


@pytest.mark.parametrize(
    ("device", "expected"),
    [
        ("lmap=modbus-tcp://10.0.0.5?unit=1", "did you mean 'lamp'?"),
        ("lamp=modbus-tcp://10.0.0.5", "unit"),
        ("lamp", "ROLE=URI"),
    ],
)
def test_a_bad_device_option_is_a_usage_error(tmp_path: Path, device: str, expected: str) -> None:
    site = tmp_path / "site.yaml"

    result = _cli("site", "init", str(site), "--device", device)

    assert result.returncode == 4
    assert expected in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not site.exists()


def test_interactive_asks_on_stdin_and_writes_the_answers(tmp_path: Path) -> None:
    site = tmp_path / "asked.yaml"
    answers = "\n".join(
        [
            "smart-pole",  # profile
            "dianchi-road",  # site id
            "",  # title: the default, the site id
            "",  # no CSV
            "P010 P011",  # target ids
            "modbus-tcp://10.0.0.5:502",  # lamp: no unit id, asked again
            "modbus-tcp://10.0.0.5:502?unit=7",  # lamp
            "",  # meter: placeholder
            "",
            "",
            "mqtts://broker.example:8883/city/{pole}",  # gateway
        ]
    )

    result = _cli("site", "init", str(site), "--interactive", stdin=answers + "\n")

    assert result.returncode == 0, result.stderr
    assert "lamp (single-lamp controller" in result.stderr  # the prompts went to stderr
    loaded = load_site(site)
    assert loaded.id == "dianchi-road"
    assert [t.id for t in loaded.targets] == ["P010", "P011"]
    assert str(loaded.targets[1].devices["lamp"].address) == "modbus-tcp://10.0.0.5:502?unit=7"
    assert loaded.targets[1].devices["gateway"].address.prefix == "city/P011"
    assert loaded.targets[0].devices["meter"].address.host == "192.0.2.1"
    _validates(site, "")


def test_interactive_input_that_ends_early_is_a_usage_error(tmp_path: Path) -> None:
    site = tmp_path / "asked.yaml"

    result = _cli("site", "init", str(site), "--interactive", stdin="smart-pole\n")

    assert result.returncode == 4
    assert "the input ended at the question 'site id" in result.stderr
    assert not site.exists()


def test_a_site_pointed_at_the_running_bench_runs_and_passes(
    tmp_path: Path, bench: dict[str, Any]
) -> None:
    site = tmp_path / "bench-pole.yaml"
    made = _cli("site", "init", str(site), *_bench_devices(bench))
    assert made.returncode == 0, made.stderr
    _validates(site, "")
    # One requirement per role, each quick with the profile's field defaults: lamp over RTU,
    # meter over DL/T 645, environment and tilt over Modbus TCP, the gateway over MQTT.
    chosen = "SP-DATA-011 or SP-DATA-005 or SP-DATA-015 or SP-LOAD-012 or SP-DATA-017"

    run = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
            "--profile", "smart-pole", "--site", str(site), "-k", chosen,
            "--report-dir", str(tmp_path / "report"),
        ],
        capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False,
    )  # fmt: skip

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    report = json.loads(next((tmp_path / "report").rglob("report.json")).read_text())
    verdicts = {(r["requirement"], r["target"]): r["verdict"] for r in report["results"]}
    assert verdicts == {
        (r, "P001"): "pass"
        for r in ("SP-DATA-011", "SP-DATA-005", "SP-DATA-015", "SP-LOAD-012", "SP-DATA-017")
    }


def test_a_map_given_with_map_is_written_relative_to_the_site_file(tmp_path: Path) -> None:
    from ycsa_conform.resources import data_dir

    maps = tmp_path / "maps"
    maps.mkdir()
    vendor = maps / "acme-lamp.yaml"
    vendor.write_text(
        (data_dir("benches") / "devicemaps" / "lamp-controller.yaml").read_text(encoding="utf-8")
    )
    (tmp_path / "sites").mkdir()
    site = tmp_path / "sites" / "site.yaml"

    result = _cli("site", "init", str(site), "--map", f"lamp={vendor}")

    assert result.returncode == 0, result.stderr
    text = site.read_text(encoding="utf-8")
    assert "map: ../maps/acme-lamp.yaml\n" in text  # no "the bench's map" comment on it
    assert load_site(site).targets[0].devices["lamp"].devicemap.path == vendor.resolve()
    _validates(site, "")
