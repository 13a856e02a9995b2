"""The vendor contract: device maps held to what each requirement's check uses, before anything
runs. A gap is found by `contract.gaps`, decided by a run from that gap (never by running the
check), and reported by `validate` (`contract.problems`) with the same reason.

The site is the bench's design data with its devices at a local port nobody listens on, so a
check that did run would say "cannot connect"; a gap never opens the device at all.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ycsa_conform.checks import CheckContext, Outcome
from ycsa_conform.checks.base import Use
from ycsa_conform.contract import (
    Finding,
    Severity,
    catalogue,
    describe,
    gaps,
    overlaps,
    problems,
    roles_used,
)
from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.point import POINTS, ROLES
from ycsa_conform.profile import Profile, builtin_profiles, load_profile
from ycsa_conform.resources import data_dir
from ycsa_conform.result import Verdict
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import Site, load_site

BENCH = data_dir("benches")

# edit_map(name, change) -> the file name of an edited copy of benches/devicemaps/NAME
EditMap = Callable[[str, Callable[[dict[str, Any]], None]], str]
# write_site(*(old, new)) -> the site, with each text of the bench's site template replaced
WriteSite = Callable[..., Site]


# One requirement per way a check uses a map, so that these tests do not follow the built-in
# profiles' wording (the bench maps have every point, topic and command these use).
PROFILE = """\
profile: contract-test
version: "0.1.0"
title: {en: Contract, zh: 契约}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  standby_max: {type: quantity, unit: W, default: 0.5 W, title: {en: S, zh: S}}
  watch: {type: quantity, unit: s, default: 30 s, title: {en: W, zh: W}}
requirements:
"""
REQUIREMENT = """\
  - id: CT-GEN-{n:03d}
    title: {{en: contract, zh: 契约}}
    area: general
    level: mandatory
    refs: [{{source: practice, confidence: I}}]
    check: {check}
"""
CHECKS = [
    # 1 reads a flag
    "{kind: measure, device: lamp, point: lamp_failure, limit: false}",
    # 2 reads the relay for its condition
    "{kind: measure, device: lamp, point: actual_light_state, limit: '>= 0 %', "
    "unless: [{point: lamp_on, equals: false}]}",
    # 3 switches the relay off and restores the photocell mode
    "{kind: actuate, device: lamp, set: {lamp_on: false}, restore: [auto_mode], settle: 0 s, "
    "observe: {point: active_power, limit: '<= $standby_max'}}",
    # 4 dims
    "{kind: actuate, device: lamp, set: {target_light_command: 50 %}, settle: 0 s, "
    "observe: {point: actual_light_state, limit: '45 % .. 55 %'}}",
    # 5 watches the gateway's status
    "{kind: message, device: gateway, topic: status, expect: absent, window: $watch, "
    "match: {/state: offline}}",
    # 6 commands the gateway and times the acknowledgement
    "{kind: actuate, device: gateway, set: {target_light_command: 50 %}, settle: 0 s, "
    "observe: {point: command_round_trip, limit: '<= 1 s'}}",
    # 7 raises a tilt alarm and waits for the event
    "{kind: message, device: gateway, topic: events, expect: arrives, window: 1 s, "
    "limit: '<= 1 s', match: {/type: tilt_alarm, /active: true}, "
    "trigger: {device: tilt, set: {tilt_alarm_threshold: 0.01 deg}, "
    "clears: {/type: tilt_alarm, /active: false}}}",
    # 8 reads the meter
    "{kind: measure, device: meter, point: supply_voltage, limit: '>= 0 V'}",
    # 9 judged at full output: the relay and its photocell mode only where mapped
    "{kind: measure, device: lamp, point: power_factor, limit: '>= 0.9', "
    "requires: {lamp_on: true, target_light_command: 100 %, actual_light_state: '>= 95 %'}, "
    "restore: [auto_mode], settle: $watch, optional: [lamp_on, auto_mode]}",
    # 10 switches the relay off, which a dimming-only controller does not have
    "{kind: actuate, device: lamp, set: {lamp_on: false}, restore: [auto_mode], settle: 0 s, "
    "observe: {point: active_power, limit: '<= $standby_max'}, optional: [lamp_on, auto_mode]}",
]


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    body = "".join(REQUIREMENT.format(n=n, check=c) for n, c in enumerate(CHECKS, 1))
    path = tmp_path_factory.mktemp("profile") / "contract.yaml"
    path.write_text(PROFILE + body, encoding="utf-8")
    return load_profile(path)


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture
def edit_map(tmp_path: Path) -> EditMap:
    shutil.copytree(BENCH / "devicemaps", tmp_path / "devicemaps", dirs_exist_ok=True)

    def edit(name: str, change: Callable[[dict[str, Any]], None]) -> str:
        data = yaml.safe_load((BENCH / "devicemaps" / name).read_text(encoding="utf-8"))
        change(data)
        edited = f"edited-{name}"
        (tmp_path / "devicemaps" / edited).write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        return edited

    return edit


@pytest.fixture
def write_site(tmp_path: Path, closed_port: int, edit_map: EditMap) -> WriteSite:
    for folder in ("photometry", "records", "evidence"):
        shutil.copytree(BENCH / folder, tmp_path / folder)

    def write(*changes: tuple[str, str]) -> Site:
        text = (BENCH / "smart-pole.site.yaml").read_text(encoding="utf-8")
        for placeholder in ("{modbus_tcp}", "{mqtt}"):
            text = text.replace(placeholder, f"127.0.0.1:{closed_port}")
        text = text.replace("{modbus_rtu}", "/nonexistent/ttyRS485-0")
        text = text.replace("{dlt645}", "/nonexistent/ttyRS485-1")
        text = text.replace("{meter_address}", "202611250001")
        text = text.replace("{prefix}", "ycsa/bench/P001")
        text = text.replace(", timeout: 2 s", "").replace(", map: ", ", timeout: 0.2 s, map: ")
        for old, new in changes:
            assert text.count(old) == 1, f"{old!r} is not unique in the bench site"
            text = text.replace(old, new)
        path = tmp_path / "site.yaml"
        path.write_text(text, encoding="utf-8")
        return load_site(path)

    return write


def drop_point(name: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data["points"][name]

    return change


def line_of(site: Site, needle: str) -> int:
    lines = site.path.read_text(encoding="utf-8").splitlines()
    [line] = [n for n, text in enumerate(lines, start=1) if needle in text]
    return line


def decided(run: AcceptanceRun, requirement: str) -> tuple[Verdict, str]:
    [case] = [c for c in run.cases() if c.requirement.id == requirement]
    result = run.decide(case)
    return result.verdict, result.reason


# -- gaps ----------------------------------------------------------------------------------


def key(requirement: str) -> tuple[str, str, str]:
    return ("contract-test", requirement, "P001")


def test_the_bench_maps_have_no_gaps_for_either_built_in_profile(write_site: WriteSite) -> None:
    site = write_site()
    profiles = [load_profile(path) for path in builtin_profiles().values()]

    assert gaps(profiles, site) == {}
    assert problems(profiles, site) == []


def test_the_bench_maps_have_no_gaps_for_any_way_a_check_uses_them(
    profile: Profile, write_site: WriteSite
) -> None:
    assert gaps([profile], write_site()) == {}


def test_a_missing_relay_is_a_gap_of_exactly_the_requirements_that_use_it(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    lamp = edit_map("lamp-controller.yaml", drop_point("lamp_on"))
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))

    found = gaps([profile], site)

    # 2: unless lamp off; 3: sets it; 10: sets it, and marks it optional. Not 9, which only
    # assumes a state of it (`when_mapped`): a dimming-only lamp is judged without it.
    assert set(found) == {key("CT-GEN-002"), key("CT-GEN-003"), key("CT-GEN-010")}
    assert found[key("CT-GEN-010")].verdict is Verdict.NOT_APPLICABLE
    gap = found[key("CT-GEN-003")]
    assert (gap.role, gap.missing, gap.verdict) == ("lamp", ("point 'lamp_on'",), Verdict.ERROR)
    assert gap.reason == (
        "cannot be decided: device map 'ycsa-bench/lamp-controller' "
        f"(devicemaps/{lamp}) of lamp on P001 has no point 'lamp_on', which CT-GEN-003 writes; "
        "map it (a coil, or a register with on/off values) or leave CT-GEN-003 out with "
        "-k 'not CT-GEN-003'"
    )
    assert found[key("CT-GEN-002")].reason == (
        f"cannot be decided: device map 'ycsa-bench/lamp-controller' (devicemaps/{lamp}) of lamp "
        "on P001 has no point 'lamp_on', which CT-GEN-002 reads; map it (a coil, a discrete "
        "input, or a register with on/off values) or leave CT-GEN-002 out with "
        "-k 'not CT-GEN-002'"
    )


def test_a_missing_restore_point_is_a_gap(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    lamp = edit_map("lamp-controller.yaml", drop_point("auto_mode"))
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))

    found = gaps([profile], site)

    # 9 and 10 put it back only where it is mapped (optional, a side effect): no gap
    assert set(found) == {key("CT-GEN-003")}
    assert "has no point 'auto_mode', which CT-GEN-003 writes;" in found[key("CT-GEN-003")].reason


def test_a_restore_point_mapped_read_only_is_a_gap_where_it_is_put_back(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    # 3 and 10 switch the relay and put the photocell mode back afterwards: a map that has
    # the mode read-only would see that write refused at the end of the run ("could not be
    # restored"), so validate says so first. 9 only assumes states: a warning, no gap.
    lamp = edit_map("lamp-controller.yaml", read_only("auto_mode"))
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))

    found = gaps([profile], site)

    assert set(found) == {key("CT-GEN-003"), key("CT-GEN-010")}
    for gap in found.values():
        assert (gap.missing, gap.verdict) == (("writable point 'auto_mode'",), Verdict.ERROR)
    assert "maps point 'auto_mode' read-only, which CT-GEN-010 writes;" in (
        found[key("CT-GEN-010")].reason
    )


def test_a_missing_trigger_point_is_a_gap_of_the_triggered_role(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    tilt = edit_map("tilt-sensor.yaml", drop_point("tilt_alarm_threshold"))
    site = write_site(("devicemaps/tilt-sensor.yaml", f"devicemaps/{tilt}"))

    found = gaps([profile], site)

    assert set(found) == {key("CT-GEN-007")}
    gap = found[key("CT-GEN-007")]
    assert gap.role == "tilt"
    assert gap.reason == (
        f"cannot be decided: device map 'ycsa-bench/tilt-sensor' (devicemaps/{tilt}) of tilt on "
        "P001 has no point 'tilt_alarm_threshold', which CT-GEN-007 writes; map it (a holding "
        "register with 'writable: LOW .. HIGH': its address, type and scale, unit deg) or leave "
        "CT-GEN-007 out with -k 'not CT-GEN-007'"
    )


def test_a_point_written_but_mapped_read_only_is_a_gap(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    lamp = edit_map("lamp-controller.yaml", dimming_read_only)
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))

    gap = gaps([profile], site)[key("CT-GEN-004")]

    assert gap.missing == ("writable point 'target_light_command'",)
    assert gap.reason.endswith(
        "of lamp on P001 maps point 'target_light_command' read-only, which CT-GEN-004 writes; "
        "it is in the input table, and Modbus writes no input registers: map it as a coil or "
        "in the holding table, with 'writable: LOW .. HIGH' or leave CT-GEN-004 out with "
        "-k 'not CT-GEN-004'"
    )


def test_a_holding_register_without_a_writable_range_is_read_only(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    def no_range(data: dict[str, Any]) -> None:
        del data["points"]["target_light_command"]["writable"]

    lamp = edit_map("lamp-controller.yaml", no_range)
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))

    gap = gaps([profile], site)[key("CT-GEN-004")]

    assert "declare 'writable: LOW .. HIGH' on it, if the device accepts writes" in gap.reason


def test_a_missing_topic_is_a_gap(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    gateway = edit_map("gateway.yaml", no_status_topic)
    site = write_site(("devicemaps/gateway.yaml", f"devicemaps/{gateway}"))

    found = gaps([profile], site)

    assert set(found) == {key("CT-GEN-005")}
    gap = found[key("CT-GEN-005")]
    assert gap.missing == ("topic 'status'",)
    assert "has no topic 'status', which CT-GEN-005 observes; declare it under 'topics:'" in (
        gap.reason
    )


def test_commands_without_a_commands_section_is_a_gap_naming_both_lacks(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    gateway = edit_map("gateway.yaml", no_commands)
    site = write_site(("devicemaps/gateway.yaml", f"devicemaps/{gateway}"))

    gap = gaps([profile], site)[key("CT-GEN-006")]

    assert gap.missing == ("writable point 'target_light_command'", "a 'commands:' section")
    assert gap.verdict is Verdict.ERROR
    assert gap.reason.endswith(
        "has no 'commands:' section, which it sends acknowledged commands through (add "
        "'commands: {topic: ..., ack: ...}' saying where commands go and where their "
        "acknowledgements come back); fix the map or leave CT-GEN-006 out with "
        "-k 'not CT-GEN-006'"
    )


def test_a_message_check_on_a_modbus_device_is_a_gap_asking_for_an_mqtt_device(
    profile: Profile, write_site: WriteSite
) -> None:
    site = write_site()
    lines = site.path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [
        '      gateway: {uri: "modbus-tcp://127.0.0.1:1?unit=7", '
        "map: devicemaps/tilt-sensor.yaml}\n"
        if line.startswith("      gateway:")
        else line
        for line in lines
    ]
    site.path.write_text("".join(lines), encoding="utf-8")
    site = load_site(site.path)

    gap = gaps([profile], site)[key("CT-GEN-005")]

    assert "observing messages needs an MQTT device" in gap.reason


@dataclasses.dataclass(frozen=True)
class RelayCheck:
    """A check that reads the relay and marks it optional, as a profile may."""

    optional: tuple[str, ...]
    also_reads: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "measure"

    def needs(self) -> tuple[str, ...]:
        return ("lamp",)

    def uses(self) -> tuple[Use, ...]:
        reads = ("lamp_on", *self.also_reads)
        return (Use(role="lamp", reads=reads, optional=self.optional),)

    def run(self, ctx: CheckContext) -> Outcome:
        raise AssertionError("a case with a gap never runs its check")


def with_check(profile: Profile, check: RelayCheck) -> Profile:
    requirement = dataclasses.replace(profile.requirements[0], check=check)
    return dataclasses.replace(profile, requirements=(requirement,))


def test_a_missing_optional_point_makes_the_requirement_not_applicable(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    lamp = edit_map("lamp-controller.yaml", drop_point("lamp_on"))
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))
    relay = with_check(profile, RelayCheck(optional=("lamp_on",)))

    [gap] = gaps([relay], site).values()
    run = AcceptanceRun(profiles=[relay], site=site)

    assert gap.verdict is Verdict.NOT_APPLICABLE
    assert gap.reason == (
        f"not applicable: device map 'ycsa-bench/lamp-controller' (devicemaps/{lamp}) of lamp "
        "on P001 has no point 'lamp_on', which CT-GEN-001 reads; the profile marks it "
        "optional (the requirement applies to devices that have it)"
    )
    assert decided(run, "CT-GEN-001")[0] is Verdict.NOT_APPLICABLE
    # validate warns, and exits 0 for it
    [finding] = [f for f in problems([relay], site) if f.message.startswith("CT-GEN-001")]
    assert finding.severity is Severity.WARNING


def test_an_optional_point_missing_with_a_required_one_is_an_error(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    def neither(data: dict[str, Any]) -> None:
        del data["points"]["lamp_on"]
        del data["points"]["active_power"]

    lamp = edit_map("lamp-controller.yaml", neither)
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))
    relay = with_check(profile, RelayCheck(optional=("lamp_on",), also_reads=("active_power",)))

    [gap] = gaps([relay], site).values()

    assert gap.verdict is Verdict.ERROR
    assert gap.missing == ("point 'lamp_on'", "point 'active_power'")


def read_only(name: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data["points"][name]["writable"]

    return change


def test_a_built_in_optional_relay_missing_is_not_applicable_not_untested(
    write_site: WriteSite, edit_map: EditMap
) -> None:
    # A dimming-only controller: SP-PWR-009 (standby power, the relay switched off) does not
    # apply to it; it is not a requirement left untested (that would keep "Conforms" away).
    lamp = edit_map("lamp-controller.yaml", drop_point("lamp_on"))
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))
    pole = load_profile(builtin_profiles()["smart-pole"])
    run = AcceptanceRun(profiles=[pole], site=site)
    [case] = [c for c in run.cases() if c.requirement.id == "SP-PWR-009"]

    found = gaps([pole], site)
    result = run.decide(case)

    assert set(found) == {("smart-pole", "SP-PWR-009", "P001")}
    assert (result.verdict, result.untested) == (Verdict.NOT_APPLICABLE, False)
    assert result.reason.startswith(
        f"SP-PWR-009 not applicable: device map 'ycsa-bench/lamp-controller' (devicemaps/{lamp}) "
        "of lamp on P001 has no point 'lamp_on', which SP-PWR-009 writes; the profile marks it "
        "optional"
    )
    assert run.traffic() == []  # decided from the map: the lamp was not opened
    # the requirements judged in a relay state (lamp on) do without it: none is a gap
    assuming = {
        r.id for r in pole.requirements if any("lamp_on" in u.when_mapped for u in r.check.uses())
    }
    assert {"SP-PWR-008", "SP-LUM-011"} <= assuming
    assert not assuming & {k[1] for k in found}


def test_an_optional_point_mapped_read_only_is_an_error_not_inapplicable(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    # The controller has a relay, so CT-GEN-010 applies; the run could not switch it: error.
    lamp = edit_map("lamp-controller.yaml", read_only("lamp_on"))
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))

    found = gaps([profile], site)

    assert set(found) == {key("CT-GEN-003"), key("CT-GEN-010")}  # not 9: below
    gap = found[key("CT-GEN-010")]
    assert (gap.missing, gap.verdict) == (("writable point 'lamp_on'",), Verdict.ERROR)
    assert gap.reason == (
        f"cannot be decided: device map 'ycsa-bench/lamp-controller' (devicemaps/{lamp}) of lamp "
        "on P001 maps point 'lamp_on' read-only, which CT-GEN-010 writes; declare 'writable: "
        "LOW .. HIGH' on it, if the device accepts writes (the run writes nothing a map does "
        "not declare writable) or leave CT-GEN-010 out with -k 'not CT-GEN-010'"
    )


def test_a_state_point_mapped_read_only_is_no_gap_but_validate_warns(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    # CT-GEN-009 writes the dimming command only to reach full output when the lamp is not
    # there: judged when it is (read-only or not), untested when not. A warning, no gap.
    lamp = edit_map("lamp-controller.yaml", dimming_read_only)
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))

    found = gaps([profile], site)
    findings = [f for f in problems([profile], site) if f.message.startswith("CT-GEN-009")]

    assert key("CT-GEN-009") not in found
    assert key("CT-GEN-004") in found  # which commands it: an error
    assert findings == [
        Finding(
            severity=Severity.WARNING,
            origin=site.targets[0].devices["lamp"].origin,
            message=(
                "CT-GEN-009 can be judged only when the state it assumes holds by itself: "
                f"device map 'ycsa-bench/lamp-controller' (devicemaps/{lamp}) of lamp on P001 "
                "maps point 'target_light_command' read-only, which CT-GEN-009 writes only to "
                "set that state (and put it back); otherwise it is untested; it is in the input "
                "table, and Modbus writes no input registers: map it as a coil or in the holding "
                "table, with 'writable: LOW .. HIGH'"
            ),
        )
    ]


def test_a_state_point_missing_is_an_error_unless_the_profile_marks_it_optional(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    # The dimming command is read to verify full output: a map without it cannot tell.
    lamp = edit_map("lamp-controller.yaml", drop_point("target_light_command"))
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))

    gap = gaps([profile], site)[key("CT-GEN-009")]

    assert (gap.missing, gap.verdict) == (("point 'target_light_command'",), Verdict.ERROR)
    assert "has no point 'target_light_command', which CT-GEN-009 reads;" in gap.reason


@dataclasses.dataclass(frozen=True)
class UsesCheck:
    """A check that asks exactly `use` of the lamp's map."""

    use: Use

    @property
    def kind(self) -> str:
        return "measure"

    def needs(self) -> tuple[str, ...]:
        return ("lamp",)

    def uses(self) -> tuple[Use, ...]:
        return (self.use,)

    def run(self, ctx: CheckContext) -> Outcome:
        raise AssertionError("a case with a gap never runs its check")


def test_a_point_written_when_mapped_must_be_writable_where_mapped(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    # A side effect put back only where the map has it (a photocell mode): absent, no gap;
    # present but read-only, the run's write of it would be refused: a gap.
    use = Use(
        role="lamp", reads=("active_power",), writes=("auto_mode",), when_mapped=("auto_mode",)
    )
    check = with_check(profile, UsesCheck(use))  # type: ignore[arg-type]

    def lamp(change: Callable[[dict[str, Any]], None]) -> Site:
        edited = edit_map("lamp-controller.yaml", change)
        return write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{edited}"))

    assert gaps([check], lamp(drop_point("auto_mode"))) == {}
    [gap] = gaps([check], lamp(read_only("auto_mode"))).values()
    assert (gap.missing, gap.verdict) == (("writable point 'auto_mode'",), Verdict.ERROR)


# -- a run decides a gap from the contract, and validate reports the same ------------------


def dimming_read_only(data: dict[str, Any]) -> None:
    point = data["points"]["target_light_command"]
    point["table"], point["address"] = "input", 40
    del point["writable"]


def no_status_topic(data: dict[str, Any]) -> None:
    del data["topics"]["status"]


def no_commands(data: dict[str, Any]) -> None:
    del data["commands"]
    del data["points"]["target_light_command"]["command"]


GAP_KINDS: dict[str, tuple[str, Callable[[dict[str, Any]], None], str, str]] = {
    # kind: (map, change, role, requirement)
    "point read": ("lamp-controller.yaml", drop_point("lamp_failure"), "lamp", "CT-GEN-001"),
    "point of an unless": ("lamp-controller.yaml", drop_point("lamp_on"), "lamp", "CT-GEN-002"),
    "point set": ("lamp-controller.yaml", drop_point("lamp_on"), "lamp", "CT-GEN-003"),
    "point restored": ("lamp-controller.yaml", drop_point("auto_mode"), "lamp", "CT-GEN-003"),
    "point written, mapped read-only": (
        "lamp-controller.yaml",
        dimming_read_only,
        "lamp",
        "CT-GEN-004",
    ),
    "topic": ("gateway.yaml", no_status_topic, "gateway", "CT-GEN-005"),
    "commands section": ("gateway.yaml", no_commands, "gateway", "CT-GEN-006"),
    "point of a trigger": (
        "tilt-sensor.yaml",
        drop_point("tilt_alarm_threshold"),
        "tilt",
        "CT-GEN-007",
    ),
}


@pytest.mark.parametrize("kind", GAP_KINDS)
def test_validate_reports_each_gap_a_run_decides_error_with_the_same_reason(
    kind: str, profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    name, change, role, requirement = GAP_KINDS[kind]
    site = write_site((f"devicemaps/{name}", f"devicemaps/{edit_map(name, change)}"))
    run = AcceptanceRun(profiles=[profile], site=site)

    verdict, reason = decided(run, requirement)
    found = problems([profile], site)

    assert verdict is Verdict.ERROR
    gap = run.gaps[key(requirement)]
    assert reason.startswith(f"{requirement} {gap.reason} (")
    assert run.traffic() == []  # decided from the map: no device was opened
    device = site.targets[0].devices[role]
    assert device.origin.startswith(f"{site.path}:{line_of(site, f'      {role}:')}: ")
    errors = [f for f in found if f.severity is Severity.ERROR]
    assert (
        Finding(
            severity=Severity.ERROR, origin=device.origin, message=f"{requirement} {gap.reason}"
        )
        in errors
    )
    # validate says no more than the run meets: one error line per requirement decided
    # `error` from a gap (an optional point missing is a warning: CT-GEN-010 without lamp_on)
    assert sorted(f.message.split()[0] for f in errors) == sorted(
        k[1] for k, g in run.gaps.items() if g.verdict is Verdict.ERROR
    )


def test_validate_reports_a_missing_device_as_the_run_does(
    profile: Profile, write_site: WriteSite
) -> None:
    site = write_site()
    text = site.path.read_text(encoding="utf-8")
    [meter] = [line for line in text.splitlines(keepends=True) if "meter: {uri:" in line]
    site.path.write_text(text.replace(meter, ""), encoding="utf-8")
    site = load_site(site.path)
    run = AcceptanceRun(profiles=[profile], site=site)

    found = problems([profile], site)
    verdict, reason = decided(run, "CT-GEN-008")

    assert verdict is Verdict.ERROR
    [finding] = [f for f in found if f.severity is Severity.ERROR]
    assert reason.startswith(finding.message)
    assert finding.message.startswith(
        "CT-GEN-008 cannot be decided: target P001 declares no 'meter' device"
    )
    assert finding.origin == site.targets[0].origin


def test_validate_reports_a_parameter_the_run_would_refuse(
    profile: Profile, write_site: WriteSite
) -> None:
    site = write_site(
        ("\nkind: bench\n", "\nkind: field\n"),
        ("\nparameters:\n", "\nparameters:\n  standby_max: 4000 lx\n"),
    )

    found = {f.origin: f for f in problems([profile], site)}

    finding = found[
        f"{site.path}:{line_of(site, 'standby_max: 4000 lx')}: $.parameters.standby_max"
    ]
    assert (finding.severity, finding.message) == (
        Severity.ERROR,
        "'4000 lx' is not a quantity in W",
    )
    # a field site's parameters must be declared: the bench template's are not, here
    assert any("unknown parameter 'heartbeat_window'" in f.message for f in found.values())


def test_the_run_never_plans_a_point_the_map_lacks(
    profile: Profile, write_site: WriteSite, edit_map: EditMap
) -> None:
    # CT-GEN-002 reads lamp_on with its points (polled together); a lamp map without it once
    # broke every poll of the lamp and the session's traffic accounting.
    lamp = edit_map("lamp-controller.yaml", drop_point("lamp_on"))
    site = write_site(("devicemaps/lamp-controller.yaml", f"devicemaps/{lamp}"))
    run = AcceptanceRun(profiles=[profile], site=site)
    try:
        verdict, reason = decided(run, "CT-GEN-001")
        [traffic] = run.traffic()
    finally:
        run.close()

    assert verdict is Verdict.ERROR
    assert "internal error" not in reason
    assert "lamp" in reason  # it ran, and could not reach the lamp
    assert traffic["device"] == "lamp"
    minimum = traffic["minimum"]
    assert isinstance(minimum, int)
    assert minimum >= 1


def test_a_device_role_no_profile_uses_is_a_warning_naming_the_known_roles(
    profile: Profile, write_site: WriteSite
) -> None:
    site = write_site(
        (
            "      tilt: {uri:",
            '      lamps: {uri: "modbus-tcp://127.0.0.1:1?unit=9", '
            "map: devicemaps/lamp-controller.yaml}\n      tilt: {uri:",
        )
    )

    found = {f.origin: f for f in problems([profile], site)}

    finding = found[site.targets[0].devices["lamps"].origin]
    assert finding.severity is Severity.WARNING
    assert finding.message == (
        "no requirement of contract-test for a pole uses a device 'lamps'; did you mean 'lamp'? "
        "the profiles know: gateway, lamp, meter, tilt"
    )
    assert str(finding).startswith(f"{finding.origin}: warning: no requirement")
    # the bench's environment sensor, which this profile does not use, is one too
    assert found[site.targets[0].devices["environment"].origin].severity is Severity.WARNING


# -- overlapping registers -----------------------------------------------------------------

OVERLAPPING = """\
devicemap: acme/overlap
version: 1
protocol: modbus
defaults: {table: input}
points:
  supply_voltage: {address: 0, type: uint16, unit: V}
  active_power: {address: 2, type: float32, unit: W}
  power_factor: {address: 3, type: uint16, scale: 0.001, unit: ""}
  lamp_on: {table: coil, address: 0, type: bool}
  auto_mode: {table: coil, address: 0, type: bool}
  lamp_failure: {table: discrete_input, address: 0, type: bool}
"""


def test_points_whose_registers_overlap_in_one_table_are_each_reported(tmp_path: Path) -> None:
    path = tmp_path / "overlap.yaml"
    path.write_text(OVERLAPPING, encoding="utf-8")

    found = [str(p) for p in overlaps(load_devicemap(path))]

    assert found == [
        f"{path}:8: $.points.power_factor: power_factor (address 3) overlaps active_power "
        "(addresses 2..3) in the input table; give each point its own registers (or declare "
        "'bit:' for a bit of a status word)",
        f"{path}:10: $.points.auto_mode: auto_mode (address 0) overlaps lamp_on (address 0) in "
        "the coil table; give each point its own registers (or declare 'bit:' for a bit of a "
        "status word)",
    ]


STATUS_WORD = """\
devicemap: acme/status
version: 1
protocol: modbus
defaults: {table: input}
points:
  lamp_failure: {address: 13, type: uint16, bit: 0}
  driver_failure: {address: 13, type: uint16, bit: 1}
  tilt_alarm: {address: 13, type: uint16, bit: 1}
  switch_on_counter: {address: 13, type: uint16, unit: ""}
"""


def test_bits_of_a_status_word_share_it_unless_they_are_the_same_bit(tmp_path: Path) -> None:
    path = tmp_path / "status.yaml"
    path.write_text(STATUS_WORD, encoding="utf-8")

    found = [p.message for p in overlaps(load_devicemap(path))]

    assert found == [
        "tilt_alarm (address 13) overlaps driver_failure (address 13) in the input table; give "
        "each point its own registers (or declare 'bit:' for a bit of a status word)"
    ]


def test_the_shipped_modbus_maps_have_no_overlaps() -> None:
    maps = [*(BENCH / "devicemaps").glob("*.yaml"), *data_dir("fixtures").rglob("devicemaps/*")]
    for path in maps:
        if path.suffix == ".yaml":
            assert overlaps(load_devicemap(path)) == [], path


# -- the contract as data ------------------------------------------------------------------


def test_describe_gives_devices_points_limits_and_windows_resolved(profile: Profile) -> None:
    requirement = next(r for r in profile.requirements if r.id == "CT-GEN-003")
    defaults = {name: p.default for name, p in profile.parameters.items()}

    data = describe(requirement, defaults)

    assert data["devices"] == ["lamp"]
    assert data["uses"] == [
        {
            "role": "lamp",
            "reads": ["lamp_on", "auto_mode", "active_power"],
            "writes": ["lamp_on", "auto_mode"],
            "optional": [],
            "when_mapped": [],
            "establishes": [],
            "topics": [],
            "commands": False,
        }
    ]
    assert data["requires"] is None
    assert data["limits"] == [
        {"at": "observe[0].limit", "text": "<= $standby_max", "resolved": "<= 0.5 W"}
    ]
    assert data["limit"] == data["limits"][0]
    assert data["windows"] == {"settle": {"written": "0 s", "resolved": "0 s"}}
    assert data["options"]["set"] == [["lamp_on", False]]
    assert data["options"]["restore"] == ["auto_mode"]


def test_describe_gives_the_state_a_requirement_is_judged_in(profile: Profile) -> None:
    requirement = next(r for r in profile.requirements if r.id == "CT-GEN-009")
    values = {"standby_max": 0.5, "watch": profile.parameters["watch"].coerce("2 min")}

    data = describe(requirement, values)

    assert data["uses"] == [
        {
            "role": "lamp",
            "reads": ["power_factor", "target_light_command", "actual_light_state"],
            "writes": [],
            "optional": [],
            "when_mapped": ["lamp_on", "auto_mode"],
            "establishes": ["lamp_on", "target_light_command", "auto_mode"],
            "topics": [],
            "commands": False,
        }
    ]
    assert data["requires"] == {
        "states": [
            {"point": "lamp_on", "state": "true", "resolved": "true", "set": "true"},
            {
                "point": "target_light_command",
                "state": "100 %",
                "resolved": "100 %",
                "set": "100 %",
            },
            {
                "point": "actual_light_state",
                "state": ">= 95 %",
                "resolved": ">= 95 %",
                "set": None,  # verified only
            },
        ],
        "restore": ["auto_mode"],
        "settle": {"written": "$watch", "resolved": "120 s"},
    }
    # the limit judged, not the state's; every limit is listed
    assert data["limit"] == {"at": "limit", "text": ">= 0.9", "resolved": ">= 0.9"}
    assert [limit["at"] for limit in data["limits"]] == ["limit", "requires.states[2].limit"]
    assert data["windows"] == {"settle": {"written": "$watch", "resolved": "120 s"}}
    assert data["options"]["requires"]["states"][0]["point"] == "lamp_on"
    assert data["options"]["optional"] == ["lamp_on", "auto_mode"]


def test_describe_resolves_a_window_parameter_and_nested_trigger(profile: Profile) -> None:
    status, events = (
        next(r for r in profile.requirements if r.id == requirement)
        for requirement in ("CT-GEN-005", "CT-GEN-007")
    )
    values = {"standby_max": 0.5, "watch": profile.parameters["watch"].coerce("2 min")}

    assert describe(status, values)["windows"] == {
        "window": {"written": "$watch", "resolved": "120 s"}
    }
    data = describe(events, values)
    assert [use["role"] for use in data["uses"]] == ["gateway", "tilt"]
    assert data["options"]["trigger"]["set"] == [["tilt_alarm_threshold", "0.01 deg"]]
    assert data["options"]["match"] == {"/type": "tilt_alarm", "/active": True}


def test_every_role_the_built_in_profiles_use_is_described() -> None:
    profiles = [load_profile(path) for path in builtin_profiles().values()]

    data = catalogue(profiles)

    used = {role["role"] for role in data["roles"]}
    assert used == set(roles_used(profiles))
    assert used <= set(ROLES), "describe the new role in point.ROLES"
    assert {"lamp", "meter", "tilt", "environment", "gateway", "video"} <= used
    assert [p["point"] for p in data["points"]] == list(POINTS)


def test_the_catalogue_says_which_requirements_read_and_write_each_point(
    profile: Profile,
) -> None:
    data = catalogue([profile])

    points = {p["point"]: p for p in data["points"]}
    assert points["lamp_on"]["dimension"] == "on/off"
    assert points["lamp_on"]["used_by"] == {
        "lamp": {
            "reads": ["CT-GEN-002"],
            "writes": ["CT-GEN-003", "CT-GEN-010"],
            "optional": ["CT-GEN-010"],
            "when_mapped": ["CT-GEN-009"],
            "establishes": ["CT-GEN-009"],
        }
    }
    assert points["target_light_command"]["used_by"] == {
        "lamp": {"reads": ["CT-GEN-009"], "writes": ["CT-GEN-004"], "establishes": ["CT-GEN-009"]},
        "gateway": {"writes": ["CT-GEN-006"]},
    }
    assert points["auto_mode"]["used_by"] == {
        "lamp": {
            "writes": ["CT-GEN-003", "CT-GEN-010"],
            "when_mapped": ["CT-GEN-009", "CT-GEN-010"],
            "establishes": ["CT-GEN-009"],
        }
    }
    lamp = next(r for r in data["roles"] if r["role"] == "lamp")
    assert {"lamp_on", "auto_mode"} <= set(lamp["points"])
    gateway = next(r for r in data["roles"] if r["role"] == "gateway")
    assert (gateway["topics"], gateway["commands"]) == (["status", "events"], ["CT-GEN-006"])
