"""Sites: targets with design data, devices and parameters; every mistake at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ycsa_conform.errors import InputError
from ycsa_conform.resources import data_dir
from ycsa_conform.site import load_site
from ycsa_conform.units import Quantity

BENCH_SITE = data_dir("benches") / "smart-pole.site.yaml"
HEAD = "site: kunming-demo\nkind: field\ntargets:\n"
POLE = "  - id: P1\n    kind: pole\n"


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A folder with the bench device maps beside the site file, as users keep them."""
    shutil.copytree(data_dir("benches") / "devicemaps", tmp_path / "devicemaps")
    shutil.copy(data_dir("fixtures") / "devicemaps" / "meter-modbus.yaml", tmp_path / "devicemaps")
    return tmp_path


def write(folder: Path, body: str) -> Path:
    path = folder / "site.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as excinfo:
        load_site(path)
    return [str(p) for p in excinfo.value.problems]


def meter(
    extra: str = "",
    *,
    uri: str = "modbus-tcp://10.0.0.5?unit=2",
    map_: str = "devicemaps/meter-modbus.yaml",
) -> str:
    return f"    devices:\n      meter: {{uri: '{uri}', map: {map_}{extra}}}\n"


def test_the_bench_site_loads_with_its_device_maps() -> None:
    text = BENCH_SITE.read_text(encoding="utf-8")
    for key, value in {
        "modbus_tcp": "127.0.0.1:5020",
        "modbus_rtu": "/dev/ttyUSB0",
        "dlt645": "/dev/ttyUSB1",
        "mqtt": "127.0.0.1:1883",
        "meter_address": "202611250001",
        "prefix": "ycsa/bench/P001",
    }.items():
        text = text.replace("{" + key + "}", value)

    site = load_site(BENCH_SITE, text=text)

    [pole] = site.targets
    assert (site.id, site.kind, pole.id) == ("bench-smart-pole", "bench", "P001")
    assert set(pole.devices) == {"lamp", "meter", "environment", "tilt", "gateway"}
    schemes = {role: d.address.scheme for role, d in pole.devices.items()}
    assert schemes == {
        "lamp": "modbus-rtu",
        "meter": "dlt645",
        "environment": "modbus-tcp",
        "tilt": "modbus-tcp",
        "gateway": "mqtt",
    }
    assert pole.devices["meter"].devicemap.protocol == "dlt645"
    assert pole.devices["tilt"].address.unit == 4
    assert pole.devices["gateway"].timeout == 2.0


def test_design_values_are_read_by_the_kind_of_their_key(site_dir: Path) -> None:
    design = (
        "    design: {height: 10 m, terrain_category: C, luminaires_per_pole: 2, "
        "luminaire_ra: 70, basic_wind_pressure: 350 Pa}\n"
    )
    [pole] = load_site(write(site_dir, POLE + design)).targets

    assert pole.design == {
        "height": Quantity(10.0, "m"),
        "terrain_category": "C",
        "luminaires_per_pole": 2.0,
        "luminaire_ra": 70.0,
        "basic_wind_pressure": Quantity(350.0, "Pa"),
    }


def test_equipment_is_read_with_its_quantities(site_dir: Path) -> None:
    design = (
        "    design:\n      equipment:\n"
        "        - {name: camera, mass: 5 kg, area: 0.05 m^2, height: 6 m,"
        " shape_coefficient: 1.2}\n"
        "        - {name: screen, mass: 30 kg, area: 1 m^2, height: 3.5 m}\n"
    )
    camera, screen = load_site(write(site_dir, POLE + design)).targets[0].equipment

    assert (camera.name, camera.mass, camera.shape_coefficient) == (
        "camera",
        Quantity(5.0, "kg"),
        1.2,
    )
    assert screen.shape_coefficient is None


def test_a_device_timeout_is_read_in_seconds(site_dir: Path) -> None:
    [pole] = load_site(write(site_dir, POLE + meter(", timeout: 500 ms, retries: 2"))).targets

    assert (pole.devices["meter"].timeout, pole.devices["meter"].retries) == (0.5, 2)


def test_a_device_without_a_timeout_waits_one_second(site_dir: Path) -> None:
    [pole] = load_site(write(site_dir, POLE + meter())).targets

    assert (pole.devices["meter"].timeout, pole.devices["meter"].retries) == (1.0, 0)


def test_settings_and_targets_remember_where_they_were_written(site_dir: Path) -> None:
    path = write(site_dir, POLE + "    parameters: {basic_wind_pressure: 0.35 kN/m^2}\n")

    [pole] = load_site(path).targets

    assert pole.origin == f"{path}:4: $.targets[0]"
    assert pole.parameters["basic_wind_pressure"].origin == (
        f"{path}:6: $.targets[0].parameters.basic_wind_pressure"
    )
    assert pole.parameters["basic_wind_pressure"].value == "0.35 kN/m^2"


def test_a_site_without_a_title_is_titled_by_its_id(site_dir: Path) -> None:
    site = load_site(write(site_dir, POLE))

    assert (site.title["en"], site.targets[0].title["en"]) == ("kunming-demo", "P1")


def test_a_missing_device_map_names_where_it_was_looked_for(site_dir: Path) -> None:
    path = write(site_dir, POLE + meter(map_="maps/m.yaml"))

    assert problems(path) == [
        f"{path}:7: $.targets[0].devices.meter.map: device map 'maps/m.yaml' not found "
        f"(looked at {site_dir / 'maps' / 'm.yaml'}); give the path relative to this site file"
    ]


def test_a_uri_without_a_unit_id_says_add_unit(site_dir: Path) -> None:
    path = write(site_dir, POLE + meter(uri="modbus-tcp://10.0.0.5:502"))

    assert problems(path) == [
        f"{path}:7: $.targets[0].devices.meter.uri: 'modbus-tcp://10.0.0.5:502' has no unit "
        "id; add '?unit=1'"
    ]


def test_a_duplicate_target_id_names_the_first_target(site_dir: Path) -> None:
    path = write(site_dir, POLE + "  - id: P2\n    kind: pole\n" + POLE)

    assert problems(path) == [
        f"{path}:8: $.targets[2].id: target id 'P1' is already used by targets[0]; "
        "give each target its own id"
    ]


def test_a_design_value_of_the_wrong_dimension(site_dir: Path) -> None:
    path = write(site_dir, POLE + "    design:\n      height: 10 kg\n")

    assert problems(path) == [
        f"{path}:7: $.targets[0].design.height: '10 kg' has the wrong dimension; "
        "give it in 'm' or a unit like it"
    ]


def test_an_equipment_field_of_the_wrong_dimension(site_dir: Path) -> None:
    design = "    design:\n      equipment:\n"
    design += "        - {name: x, mass: 5 m, area: 1 m^2, height: 6 m}\n"
    path = write(site_dir, POLE + design)

    assert problems(path) == [
        f"{path}:8: $.targets[0].design.equipment[0].mass: '5 m' has the wrong dimension; "
        "give it in 'kg' or a unit like it"
    ]


def test_a_design_value_that_is_not_a_quantity(site_dir: Path) -> None:
    path = write(site_dir, POLE + "    design:\n      height: ten metres\n")

    assert problems(path) == [
        f"{path}:7: $.targets[0].design.height: 'ten metres' does not start with a number; "
        "write it like '230 V'; write it like '1 m'"
    ]


def test_a_timeout_of_zero_is_rejected(site_dir: Path) -> None:
    path = write(site_dir, POLE + meter(", timeout: 0 s"))

    assert problems(path) == [
        f"{path}:7: $.targets[0].devices.meter.timeout: timeout must be above 0 s, not '0 s'"
    ]


def test_a_timeout_past_a_day_is_rejected(site_dir: Path) -> None:
    path = write(site_dir, POLE + meter(", timeout: 1e300 s"))

    assert problems(path) == [
        f"{path}:7: $.targets[0].devices.meter.timeout: timeout '1e300 s' is longer than a day; "
        "give it in seconds, like '1 s'"
    ]


def test_a_timeout_must_be_a_time(site_dir: Path) -> None:
    path = write(site_dir, POLE + meter(", timeout: 5 m"))

    assert problems(path) == [
        f"{path}:7: $.targets[0].devices.meter.timeout: '5 m' has the wrong dimension; "
        "give it in 's' or a unit like it"
    ]


def test_a_broken_device_map_is_reported_at_its_own_line(site_dir: Path) -> None:
    bad = site_dir / "bad.yaml"
    bad.write_text(
        "devicemap: x/y\nversion: 1\nprotocol: modbus\npoints:\n"
        "  supply_voltage: {address: 0, type: uint16, unit: lx}\n",
        encoding="utf-8",
    )
    body = POLE + meter(map_="bad.yaml")

    assert problems(write(site_dir, body)) == [
        f"{bad}:5: $.points.supply_voltage.unit: unit 'lx' has the wrong dimension for "
        "supply_voltage (RMS supply voltage); use 'V'"
    ]


def test_every_problem_in_a_site_is_reported(site_dir: Path) -> None:
    body = POLE + "    design:\n      height: 10 kg\n"
    body += meter(uri="modbus-tcp://10.0.0.5") + POLE
    path = write(site_dir, body)

    assert [p.split(": ")[1] for p in problems(path)] == [
        "$.targets[0].design.height",
        "$.targets[0].devices.meter.uri",
        "$.targets[1].id",
    ]


def test_a_broken_device_map_shared_by_two_devices_is_reported_once(site_dir: Path) -> None:
    (site_dir / "bad.yaml").write_text(
        "devicemap: x/y\nversion: 1\nprotocol: modbus\npoints:\n"
        "  supply_voltage: {address: 0, type: uint16, unit: lx}\n",
        encoding="utf-8",
    )
    body = POLE + meter(map_="bad.yaml") + "  - id: P2\n    kind: pole\n" + meter(map_="bad.yaml")

    assert len(problems(write(site_dir, body))) == 1


def test_a_malformed_unit_in_a_design_value_is_an_input_error(site_dir: Path) -> None:
    path = write(site_dir, POLE + "    design:\n      basic_wind_pressure: 0.35 kN/m^\n")

    assert problems(path) == [
        f"{path}:7: $.targets[0].design.basic_wind_pressure: 'kN/m^' is not a unit we know; "
        "write it like '1 kN/m^2'"
    ]


@pytest.mark.parametrize(
    ("key", "written", "message"),
    [
        (
            "site_altitude",
            "-600 m",
            "-600 m is not a plausible altitude of the site, for the air density in the vortex "
            "check and the equipment's altitude rating: it lies outside -500 m .. 9000 m",
        ),
        ("luminaire_cct", "500 K", "500 K is not a plausible correlated colour temperature"),
        ("luminaire_cct", "40000 K", "40000 K is not a plausible correlated colour temperature"),
        ("luminaire_power", "-180 W", "-180 W is not a plausible system power of one luminaire"),
        ("pole_spacing", "0 m", "0 m is not a plausible distance between poles on one side"),
        ("rated_equipment_mass", "-150 kg", "-150 kg is not a plausible mounted-equipment mass"),
        ("height", "10 km", "10 km is not a plausible pole height above ground: it lies outside"),
    ],
)
def test_a_physically_impossible_design_value_is_refused_with_its_domain(
    site_dir: Path, key: str, written: str, message: str
) -> None:
    path = write(site_dir, POLE + f"    design:\n      {key}: {written}\n")

    [problem] = problems(path)

    assert problem.startswith(f"{path}:7: $.targets[0].design.{key}: {message}")
    assert problem.endswith("; check the number and its unit")


def test_design_values_at_the_edges_of_their_domains_load(site_dir: Path) -> None:
    design = "    design: {site_altitude: -430 m, luminaire_cct: 1800 K, pole_spacing: 1 m}\n"

    [pole] = load_site(write(site_dir, POLE + design)).targets

    assert pole.design["site_altitude"] == Quantity(-430.0, "m")


def test_a_negative_equipment_mass_is_refused(site_dir: Path) -> None:
    design = (
        "    design:\n      equipment:\n"
        "        - {name: camera, mass: -5 kg, area: 0.05 m^2, height: 6 m}\n"
    )
    path = write(site_dir, POLE + design)

    assert problems(path) == [
        f"{path}:8: $.targets[0].design.equipment[0].mass: -5 kg is not a plausible equipment "
        "mass: it lies outside 0 kg .. 10000 kg; check the number and its unit"
    ]


def test_an_infinite_wind_vibration_factor_is_refused(site_dir: Path) -> None:
    path = write(site_dir, POLE + "    design:\n      design_wind_vibration_factor: .inf\n")

    [problem] = problems(path)

    assert problem.startswith(f"{path}:7: $.targets[0].design.design_wind_vibration_factor: ")
    assert "'.inf' is not a finite number" in problem


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("design_wind_vibration_factor", "0.5"),  # βz is at least 1 by its formula
        ("maintenance_factor", "1.7"),
        ("lanes", "0"),
        ("load_power_factor", "1.2"),
        ("road_surface_q0", "5"),
        ("surround_ratio", "50"),
        ("seismic_damping_ratio", "0.9"),
        ("anchor_bolt_count", "200"),
    ],
)
def test_a_dimensionless_design_number_outside_its_domain_is_refused_at_its_line(
    tmp_path: Path, key: str, value: str
) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "site: s\nkind: bench\ntargets:\n  - id: P1\n    kind: pole\n    design:\n"
        f"      {key}: {value}\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as caught:
        load_site(site)
    message = str(caught.value)
    # the schema's bounds where it has them, the design key's domain otherwise
    assert f"site.yaml:7: $.targets[0].design.{key}: {value} is " in message
    assert "out of range" in message or "is not a plausible" in message
