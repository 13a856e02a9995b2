"""The foreign pole, correctly mapped: every requirement it can decide passes, with the values
worked out by hand in tests/foreign/README.md; the ones it cannot decide are exactly those the
README lists, for the reason it gives.

One run (a child pytest, like an engineer's) serves every test of this module.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from cangshan.pole import Endpoints, ForeignPole
from foreign_runs import Run, run_child, write_site

# -- what the foreign pole can decide, and what it cannot (README: "Verdicts") --------------

# Decided from the live devices: every one passes.
LIVE = (
    "SP-LOAD-012",  # tilt sensor, per axis and resultant
    "SP-PWR-001",  # meter voltage sampled over the window
    "SP-PWR-003",  # voltage at the controller
    "SP-PWR-004",  # meter frequency
    "SP-PWR-008",  # lamp power factor at full output
    "SP-PWR-009",  # standby power, lamp switched off (actuation)
    "SP-PWR-017",  # meter points readable
    "SP-LUM-010",  # dimming to 50 % (actuation)
    "SP-LUM-011",  # dimming level honoured
    "SP-LUM-012",  # photocell switch-on threshold
    "SP-LUM-014",  # lamp not failed (bit 0 of the status word)
    "SP-DATA-003",  # unit ids 17, 21, 22
    "SP-DATA-005",  # DL/T 645 reads
    "SP-DATA-006",  # DL/T 645 response delay (120 ms)
    "SP-DATA-007",  # telemetry schema
    "SP-DATA-008",  # heartbeat interval
    "SP-DATA-009",  # command round trip (actuation)
    "SP-DATA-010",  # controller clock
    "SP-DATA-011",  # lamp points readable
    "SP-DATA-015",  # ambient illuminance plausible
    "SP-DATA-017",  # retained equipment status fresh (ms time stamps)
    "SP-DATA-018",  # gateway stays connected
    "SP-DATA-019",  # tilt alarm event (actuation of the tilt sensor)
    "SP-DATA-020",  # exception 02
    "SP-DATA-021",  # exception 01 for function 25
    "SP-DATA-022",  # silence to unit 247 on the RS-485 bus
    "SP-DATA-023",  # word order of every 32-bit point with a range
    "SP-DATA-025",  # the meter survives malformed frames (fuzz)
    "SP-DATA-026",  # the gateway refuses malformed commands (fuzz)
)
# What the fuzz check finds in the foreign firmware (README: "Verdicts"): the CS-LC300 refuses
# function 25, the one its manual lists, with exception 01, but gives no answer at all to the
# other unassigned codes (its pymodbus RTU framer cannot find where such a request ends).
FUZZ_FINDS = ("SP-DATA-024",)
# The site gives no design data: error, naming the design key to add.
NO_DESIGN = (
    "SP-LOAD-001",
    "SP-LOAD-002",
    "SP-LOAD-003",
    "SP-LOAD-004",
    "SP-LOAD-005",
    "SP-LOAD-006",
    "SP-LOAD-007",
    "SP-LOAD-008",
    "SP-LOAD-009",
    "SP-LOAD-010",
    "SP-LOAD-013",
    "SP-LOAD-014",
    "SP-LOAD-015",
    "SP-LOAD-016",
    "SP-LOAD-017",
    "SP-PWR-016",
    "SP-PWR-019",
    "SP-PWR-018",
    "SP-LUM-001",
    "SP-LUM-004",
    "SP-LUM-005",
    "SP-LUM-006",
    "SP-LUM-007",
    "SP-LUM-009",
    "SP-LUM-013",
    "SP-LUM-015",
    "SP-LUM-016",
    "SP-LUM-017",
    "SP-LUM-018",
    "SP-LUM-019",
    "SP-LUM-020",
)
# The site names no instrument records: error, naming the record to add.
NO_RECORD = (
    "SP-LOAD-011",
    "SP-PWR-002",
    "SP-PWR-005",
    "SP-PWR-006",
    "SP-PWR-010",
    "SP-PWR-012",
    "SP-PWR-013",
    "SP-LUM-002",
    "SP-LUM-003",
)
# No evidence file: pending.
NO_EVIDENCE = (
    "SP-PWR-007",
    "SP-PWR-011",
    "SP-PWR-014",
    "SP-LUM-008",
    "SP-DATA-014",
    "SP-GEN-002",
    "SP-GEN-003",
    "SP-GEN-004",
    "SP-GEN-005",
)
EXPECTED = (
    dict.fromkeys(LIVE, "pass")
    | dict.fromkeys(FUZZ_FINDS, "fail")
    | dict.fromkeys(NO_DESIGN + NO_RECORD, "error")
    | dict.fromkeys(NO_EVIDENCE, "pending")
)

# -- values worked out by hand (README: "Hand calculations") --------------------------------
# (requirement, measurement name) -> (value, unit). Floats compare to 1e-9 relative: the report
# carries what the registers and BCD digits hold, the hand value is the same decimal.
HAND = {
    ("SP-PWR-003", "supply_voltage"): (225.9, "V"),
    ("SP-PWR-008", "power_factor"): (0.986, ""),
    ("SP-PWR-009", "active_power"): (0.32, "W"),
    ("SP-DATA-011", "supply_voltage"): (225.9, "V"),
    ("SP-DATA-011", "supply_current"): (0.675, "A"),
    ("SP-DATA-011", "active_power"): (150.32, "W"),
    ("SP-DATA-011", "power_factor"): (0.986, ""),
    ("SP-DATA-011", "active_energy"): (1234.567, "kWh"),
    ("SP-DATA-011", "operating_hours"): (1834.2, "h"),
    ("SP-PWR-001", "supply_voltage min of 5 samples"): (226.4, "V"),
    ("SP-PWR-001", "supply_voltage max of 5 samples"): (226.4, "V"),
    ("SP-PWR-004", "frequency"): (50.02, "Hz"),
    ("SP-PWR-017", "supply_voltage"): (226.4, "V"),
    ("SP-PWR-017", "supply_current"): (0.883, "A"),
    ("SP-PWR-017", "active_power"): (0.1983, "kW"),
    ("SP-PWR-017", "power_factor"): (0.992, ""),
    ("SP-PWR-017", "active_energy"): (5678.91, "kWh"),
    ("SP-LUM-010", "actual_light_state"): (49.8, "%"),
    ("SP-LUM-010", "active_power after / before (150.3 W before)"): (78.32 / 150.32, ""),
    ("SP-LUM-011", "actual_light_state - target_light_command"): (-0.4, "%"),
    ("SP-LUM-012", "switch_on_illuminance"): (25.0, "lx"),
    # The sensor gives angles (0.80 mrad, -1.10 mrad); a limit in ‰ judges slopes, tan θ.
    ("SP-LOAD-012", "tilt_x"): (math.tan(0.80e-3) * 1e3, "‰"),
    ("SP-LOAD-012", "tilt_y"): (math.tan(-1.10e-3) * 1e3, "‰"),
    ("SP-DATA-015", "ambient_illuminance"): (4.2, "lx"),
}
TILT_RESULTANT = math.hypot(math.tan(0.80e-3), math.tan(1.10e-3)) * 1e3  # ‰, about 1.3601


@pytest.fixture(scope="module")
def conforming(
    foreign_pole: ForeignPole, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    assert foreign_pole.endpoints is not None
    endpoints: Endpoints = foreign_pole.endpoints
    foreign_pole.pole.reset()
    folder = tmp_path_factory.mktemp("conforming")
    site = write_site(folder, endpoints)
    yield run_child(folder, site, "--allow-actuation")
    foreign_pole.pole.reset()


def test_every_requirement_gets_the_verdict_the_readme_lists(conforming: Run) -> None:
    wrong = {
        r: (got, EXPECTED.get(r), conforming.results[r]["reason"])
        for r, got in conforming.verdicts.items()
        if got != EXPECTED.get(r)
    }
    assert not wrong, wrong
    assert set(conforming.verdicts) == set(EXPECTED)


def test_the_fuzz_check_finds_the_silence_to_unknown_function_codes(conforming: Run) -> None:
    reason = conforming.results["SP-DATA-024"]["reason"]
    assert "1. function code 18 (0x12) with 0 data bytes: sent 11 12" in reason, reason
    assert "no answer; then a read of supply_voltage got a normal answer" in reason, reason


def test_what_it_cannot_decide_says_what_is_missing(conforming: Run) -> None:
    for requirement in NO_DESIGN:
        assert "design." in conforming.results[requirement]["reason"], requirement
    for requirement in NO_RECORD:
        assert "has no record" in conforming.results[requirement]["reason"], requirement
    for requirement in NO_EVIDENCE:
        assert "waiting for evidence" in conforming.results[requirement]["reason"], requirement


@pytest.mark.parametrize(("requirement", "name"), list(HAND))
def test_measurements_equal_the_hand_calculation(
    conforming: Run, requirement: str, name: str
) -> None:
    value, unit = HAND[(requirement, name)]
    measured = conforming.measurement(requirement, name)
    assert measured["unit"] == unit
    assert measured["value"] == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert measured["verdict"] == "pass"


def test_lamp_failure_reads_false_from_bit_0_of_the_status_word(conforming: Run) -> None:
    assert conforming.measurement("SP-LUM-014", "lamp_failure")["value"] is False


def test_the_tilt_requirement_reports_the_resultant_by_hand(conforming: Run) -> None:
    found = [
        m for m in conforming.results["SP-LOAD-012"]["measurements"] if "resultant" in m["name"]
    ]
    assert found, conforming.results["SP-LOAD-012"]
    assert found[0]["value"] == pytest.approx(TILT_RESULTANT, rel=1e-9)
    assert found[0]["unit"] == "‰"
    assert found[0]["verdict"] == "pass"


def test_the_meter_answers_no_sooner_than_its_120_ms(conforming: Run) -> None:
    delays = [m for m in conforming.results["SP-DATA-006"]["measurements"] if m["unit"] == "ms"]
    assert len(delays) == 3
    assert all(m["value"] >= 120 for m in delays)


def test_the_tilt_event_comes_no_sooner_than_the_gateway_debounce(conforming: Run) -> None:
    latencies = [m for m in conforming.results["SP-DATA-019"]["measurements"] if m["unit"] == "s"]
    assert len(latencies) == 2  # raised, cleared
    assert all(m["value"] >= 0.1 for m in latencies)


def test_actuation_left_the_pole_as_it_was(conforming: Run, foreign_pole: ForeignPole) -> None:
    settings = foreign_pole.pole.settings
    assert (settings.level, settings.relay, settings.auto) == (100, True, True)
    assert settings.tilt_threshold == 4.0


def test_site_parameters_are_in_the_report_with_their_layer(conforming: Run) -> None:
    rows = {
        row["name"]: row
        for row in conforming.report.get("resolved_parameters", [])
        if row["profile"] == "smart-pole"
    }
    assert rows.get("session_window", {}).get("layer") == "site", rows.get("session_window")
    assert rows["session_window"]["value"] == "1.5 s"
    assert "site.yaml" in rows["session_window"].get("origin", "")
    assert rows["standby_power_max"]["layer"] == "default"


def test_the_report_names_the_vendor_maps(conforming: Run) -> None:
    maps = {d["role"]: d["map"]["id"] for d in conforming.report.get("devices", [])}
    assert maps == {
        "lamp": "cangshan/cs-lc300",
        "meter": "xishan/ddzy-88",
        "tilt": "cangshan/cs-ts2",
        "environment": "cangshan/cs-ev6",
        "gateway": "cangshan/cs-gw10",
    }
    assert (conforming.report_dir / "report.html").exists()
