"""How pytest-xdist workers share a site: targets on one serial bus stay together."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from ycsa_conform.pytest_plugin.distribution import bus_groups, target_of
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.transport import parse_device_uri


def target(name: str, *uris: str) -> Any:
    devices = {f"d{n}": SimpleNamespace(address=parse_device_uri(u)) for n, u in enumerate(uris)}
    return SimpleNamespace(id=name, devices=devices)


def test_targets_sharing_a_serial_port_directly_or_through_another_are_one_group() -> None:
    site = SimpleNamespace(
        targets=[
            target("P001", "modbus-rtu:///dev/ttyUSB0?unit=1", "mqtt://broker/p1"),
            target("P002", "modbus-tcp://10.0.0.2:502?unit=1", "mqtt://broker/p2"),
            target("P003", "dlt645:///dev/ttyUSB1?address=000000000003"),
            target("P004", "modbus-rtu:///dev/ttyUSB1?unit=4", "modbus-rtu:///dev/ttyUSB0?unit=5"),
            target("P005", "modbus-rtu-tcp://10.0.0.7:4001?unit=1"),
            target("P006", "modbus-rtu-tcp://10.0.0.7:4001?unit=2", "mqtt://broker/p6"),
        ]
    )

    groups = bus_groups(cast(AcceptanceRun, SimpleNamespace(site=site)))

    # P004 shares ttyUSB1 with P003 and ttyUSB0 with P001; P005 and P006 one serial server's
    # bus; one broker is no bus.
    assert groups == {
        "P001": "P001",
        "P002": "P002",
        "P003": "P001",
        "P004": "P001",
        "P005": "P005",
        "P006": "P005",
    }


def test_only_items_of_the_run_s_profiles_have_a_target() -> None:
    profiles = {"smart-pole"}
    assert target_of("smart-pole::SP-PWR-001[P001]", profiles) == "P001"
    assert target_of("smart-pole::SP-PWR-001", profiles) is None
    assert target_of("test_dim.py::test_dim[P001]", profiles) is None
    assert target_of("tests/test_x.py::test_a[1]", profiles) is None
