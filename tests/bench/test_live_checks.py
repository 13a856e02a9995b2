"""Live behaviour checks against the built-in bench: sampled windows, conditions, actuation with
side effects restored, command round trips, events raised on the pole, retained-message age and
the gateway's session. Each requirement runs through `AcceptanceRun`, as a profile run does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ycsa_conform.bench import Bench
from ycsa_conform.errors import InputError
from ycsa_conform.profile import load_profile
from ycsa_conform.result import Result, Verdict
from ycsa_conform.run import AcceptanceRun
from ycsa_conform.site import load_site

HEAD = """\
profile: live-test
version: "0.1.0"
title: {en: Live checks, zh: 现场检查}
status: draft
targets: [pole]
sources:
  - {id: practice, title: {en: Practice, zh: 实践}, kind: practice}
parameters:
  # The built-in bench's site sets these (a field site's parameters must be declared, and the
  # field-site test runs this profile on the bench's site turned field).
  heartbeat_interval_max: {type: quantity, unit: s, default: 60 s, title: {en: H, zh: H}}
  heartbeat_window: {type: quantity, unit: s, default: 130 s, title: {en: W, zh: W}}
  telemetry_window: {type: quantity, unit: s, default: 5 s, title: {en: T, zh: T}}
  voltage_window: {type: quantity, unit: s, default: 60 s, title: {en: V, zh: V}}
  standby_settle: {type: quantity, unit: s, default: 5 s, title: {en: S, zh: S}}
  dimming_settle: {type: quantity, unit: s, default: 5 s, title: {en: D, zh: D}}
  command_round_trip_max: {type: quantity, unit: s, default: 2 s, title: {en: R, zh: R}}
  equipment_status_max_age: {type: quantity, unit: s, default: 300 s, title: {en: A, zh: A}}
  session_window: {type: quantity, unit: s, default: 30 s, title: {en: S, zh: S}}
  event_latency_max: {type: quantity, unit: s, default: 5 s, title: {en: E, zh: E}}
  event_window: {type: quantity, unit: s, default: 30 s, title: {en: E, zh: E}}
  window: {type: quantity, unit: s, default: 0.3 s, title: {en: W, zh: W}}
requirements:
"""
REQUIREMENT = """\
  - id: LV-GEN-{n:03d}
    title: {{en: live, zh: 现场}}
    area: general
    level: mandatory
    refs: [{{source: practice, confidence: I}}]
    check: {check}
"""
STANDBY = (
    "{kind: actuate, device: lamp, set: {lamp_on: false}, restore: [auto_mode], settle: 0.1 s, "
    "observe: {point: active_power, limit: '<= 0.5 W'}}"
)
ROUND_TRIP = (
    "{kind: actuate, device: gateway, set: {target_light_command: 50 %}, settle: 0 s, "
    "observe: {point: command_round_trip, limit: '<= 0.5 s'}}"
)
LAMP_STATE = "{kind: measure, device: lamp, points: [lamp_on, auto_mode], limit: true}"


def run(
    tmp_path: Path,
    *checks: str,
    faults: tuple[str, ...] = (),
    field: bool = False,
    bench: Bench | None = None,
) -> list[Result]:
    """The checks as requirements LV-GEN-001.., run in order against a bench."""
    with contextlib.ExitStack() as stack:
        running = bench or stack.enter_context(Bench.start(faults=list(faults)))
        acceptance = acceptance_run(tmp_path, running, *checks, field=field)
        try:
            return [acceptance.decide(case) for case in acceptance.cases()]
        finally:
            acceptance.close()


def acceptance_run(
    tmp_path: Path, bench: Bench, *checks: str, field: bool = False
) -> AcceptanceRun:
    """A run of the checks, as requirements LV-GEN-001.., against the running `bench`."""
    body = "".join(REQUIREMENT.format(n=n, check=c) for n, c in enumerate(checks, 1))
    path = tmp_path / "live.yaml"
    path.write_text(HEAD + body, encoding="utf-8")
    text = bench.site_text
    if field:
        text = text.replace("kind: bench", "kind: field", 1)
    return AcceptanceRun(profiles=[load_profile(path)], site=load_site(bench.site_path, text=text))


@pytest.fixture
def bench() -> Iterator[Bench]:
    with Bench.start() as running:
        yield running


# -- measure: sampled windows and conditions -------------------------------------------------


def test_a_sampled_window_reads_each_sample_fresh_and_reports_min_max_mean(
    tmp_path: Path, bench: Bench
) -> None:
    # The lamp's supply voltage drifts slowly; each sample is its own poll of the device.
    sampled = (
        "{kind: measure, device: lamp, point: supply_voltage, limit: '198 V .. 231 V', "
        "window: $window, samples: 4}"
    )
    failing = sampled.replace("198 V .. 231 V", "<= 200 V")

    passed, failed = run(tmp_path, sampled, failing, bench=bench)

    assert passed.verdict is Verdict.PASS, passed.reason
    names = [m.name for m in passed.measurements]
    assert names == [f"supply_voltage {k} of 4 samples" for k in ("min", "max", "mean")]
    assert "supply_voltage sampled 4 times over 0.3 s (min " in passed.reason
    assert "all 4 samples pass" in passed.reason
    assert failed.verdict is Verdict.FAIL
    assert "4 of 4 samples fail, the first: supply_voltage: " in failed.reason


def test_a_sampled_window_polls_the_device_once_per_sample(tmp_path: Path, bench: Bench) -> None:
    sampled = (
        "{kind: measure, device: lamp, point: supply_voltage, window: $window, samples: 5, "
        "limit: '>= 0 V'}"
    )
    acceptance = acceptance_run(tmp_path, bench, sampled)
    try:
        (case,) = acceptance.cases()
        assert acceptance.decide(case).verdict is Verdict.PASS
        (traffic,) = acceptance.traffic()
    finally:
        acceptance.close()
    # One Modbus request per sample (the point sits in one register block): never one poll
    # served five times, although the bench site's max_age would allow it.
    assert traffic["transactions"] == 5


def test_a_released_target_closes_its_devices_and_keeps_their_traffic(
    tmp_path: Path, bench: Bench
) -> None:
    # The executor releases a target once its cases are decided, so a district holds the
    # connections of the poles under way only; the report still counts every request.
    sampled = (
        "{kind: measure, device: lamp, point: supply_voltage, window: $window, samples: 3, "
        "limit: '>= 0 V'}"
    )
    acceptance = acceptance_run(tmp_path, bench, sampled)
    try:
        (case,) = acceptance.cases()
        assert acceptance.decide(case).verdict is Verdict.PASS
        lamp = acceptance.device(case.target, "lamp")
        acceptance.release(case.target.id)
        (traffic,) = acceptance.traffic()
        assert traffic["transactions"] == 3
        assert acceptance.device(case.target, "lamp") is not lamp  # opened again on use
        assert acceptance.decide(case).verdict is Verdict.PASS
        (traffic,) = acceptance.traffic()
    finally:
        acceptance.close()
    assert traffic["transactions"] == 6  # one row: both openings summed
    assert traffic["point_reads"] == 6


def test_a_switched_off_lamp_makes_dimming_accuracy_not_applicable(
    tmp_path: Path, bench: Bench
) -> None:
    accuracy = (
        "{kind: measure, device: lamp, point: actual_light_state, "
        "relative_to: target_light_command, limit: '-5 % .. 5 %', "
        "unless: [{point: lamp_on, equals: false}, {point: target_light_command, equals: 0 %}]}"
    )
    lit, _ = run(tmp_path, accuracy, LAMP_STATE, bench=bench)
    bench.pole.command("lamp_on", False)
    dark, _ = run(tmp_path, accuracy, LAMP_STATE, bench=bench)
    bench.pole.command("lamp_on", True)
    bench.pole.command("target_light_command", 0.0)
    commanded_off, _ = run(tmp_path, accuracy, LAMP_STATE, bench=bench)

    assert lit.verdict is Verdict.PASS
    assert not lit.untested
    assert dark.verdict is Verdict.NOT_APPLICABLE
    assert "not applicable: lamp_on is false (lamp), so actual_light_state cannot" in dark.reason
    assert commanded_off.verdict is Verdict.NOT_APPLICABLE
    assert "target_light_command is 0 %" in commanded_off.reason
    # A lamp off by day, or dimmed to 0 %, is a passing state: the requirement applies to the
    # target and was not tested (docs/preconditions.md).
    assert dark.untested
    assert commanded_off.untested


def test_an_on_off_point_is_judged_against_true_or_false(tmp_path: Path) -> None:
    not_failed = "{kind: measure, device: lamp, point: lamp_failure, limit: false}"

    (healthy,) = run(tmp_path, not_failed)
    (failed,) = run(tmp_path, not_failed, faults=("lamp-failure",))

    assert healthy.verdict is Verdict.PASS
    assert healthy.measurements[0].value is False
    assert failed.verdict is Verdict.FAIL
    assert "lamp_failure: true, where it must be false" in failed.reason


# -- actuate: side effects, ratios, round trips ----------------------------------------------


def test_switching_off_restores_the_photocell_mode_it_clears(tmp_path: Path, bench: Bench) -> None:
    # Writing lamp_on clears auto_mode on this controller: restoring lamp_on alone would leave
    # the lamp switched by hand, deaf to its photocell.
    without = STANDBY.replace(", restore: [auto_mode]", "")

    standby, state = run(tmp_path, STANDBY, LAMP_STATE, bench=bench)
    _, left_manual = run(tmp_path, without, LAMP_STATE, bench=bench)

    assert standby.verdict is Verdict.PASS, standby.reason
    assert standby.measurements[0].value == pytest.approx(0.4, abs=0.01)
    assert "restored lamp_on to true, auto_mode to true" in standby.reason
    assert state.verdict is Verdict.PASS, state.reason
    assert left_manual.verdict is Verdict.FAIL
    assert "auto_mode: false, where it must be true" in left_manual.reason


def test_high_standby_power_fails(tmp_path: Path) -> None:
    (standby,) = run(tmp_path, STANDBY, faults=("high-standby-power",))

    assert standby.verdict is Verdict.FAIL
    assert "active_power: 1.2 W is above 0.5 W" in standby.reason


def test_power_follows_dimming_as_a_ratio_of_the_prior_power(tmp_path: Path, bench: Bench) -> None:
    response = (
        "{kind: actuate, device: lamp, set: {target_light_command: 50 %}, settle: 0.1 s, "
        "observe: [{point: actual_light_state, limit: '45 % .. 55 %'}, "
        "{point: active_power, ratio_to_prior: true, limit: '0.40 .. 0.65'}]}"
    )
    full = "{kind: measure, device: lamp, point: target_light_command, limit: '== 100 %'}"

    dimmed, after = run(tmp_path, response, full, bench=bench)

    assert dimmed.verdict is Verdict.PASS, dimmed.reason
    light, ratio = dimmed.measurements
    assert light.value == pytest.approx(50)
    assert ratio.name == "active_power after / before (120.4 W before)"
    assert ratio.value == pytest.approx(60.4 / 120.4, abs=0.005)
    assert after.verdict is Verdict.PASS


def test_the_prior_value_is_read_fresh_not_from_the_poll(tmp_path: Path, bench: Bench) -> None:
    # The first requirement polls the lamp at full output; then the dimming level changes
    # behind the run's back. The actuation must restore what the lamp had just before it.
    poll = "{kind: measure, device: lamp, point: target_light_command, limit: '== 100 %'}"
    dim = (
        "{kind: actuate, device: lamp, set: {target_light_command: 50 %}, settle: 0 s, "
        "observe: {point: actual_light_state, limit: '45 % .. 55 %'}}"
    )
    acceptance = acceptance_run(tmp_path, bench, poll, dim)
    try:
        first, second = acceptance.cases()
        assert acceptance.decide(first).verdict is Verdict.PASS
        bench.pole.command("target_light_command", 80.0)
        dimmed = acceptance.decide(second)
    finally:
        acceptance.close()

    assert "restored target_light_command to 80 %" in dimmed.reason
    assert bench.pole.target == 80.0


def test_a_command_round_trip_is_timed_to_its_acknowledgement(tmp_path: Path, bench: Bench) -> None:
    (timed,) = run(tmp_path, ROUND_TRIP, bench=bench)

    assert timed.verdict is Verdict.PASS, timed.reason
    (measured,) = timed.measurements
    assert measured.name == "target_light_command command_round_trip"
    assert measured.unit == "s"
    assert isinstance(measured.value, float)
    assert 0.04 <= measured.value <= 0.5  # the bench gateway answers after 0.05 s
    assert bench.pole.target == 100.0  # restored


def test_a_command_never_acknowledged_fails_and_is_still_restored(tmp_path: Path) -> None:
    with Bench.start(faults=["command-never-acknowledged"]) as bench:
        (ignored,) = run(tmp_path, ROUND_TRIP, bench=bench)
        target = bench.pole.target

    assert ignored.verdict is Verdict.FAIL
    assert "set target_light_command 50 %: not acknowledged within 0.5 s" in ignored.reason
    assert "restored target_light_command to 100 %" in ignored.reason
    assert target == 100.0  # carried out, though never acknowledged


def test_a_field_site_refuses_every_actuation_without_allow_actuation(tmp_path: Path) -> None:
    event = (
        "{kind: message, device: gateway, topic: events, expect: arrives, window: 1 s, "
        "limit: '<= 1 s', match: {/type: tilt_alarm}, "
        "trigger: {device: tilt, set: {tilt_alarm_threshold: 0.01 deg}}}"
    )
    with Bench.start() as bench:
        results = run(tmp_path, STANDBY, ROUND_TRIP, event, bench=bench, field=True)
        untouched = (bench.pole.auto_mode, bench.pole.target, bench.pole.tilt_alarm_threshold)

    assert [r.verdict for r in results] == [Verdict.NOT_APPLICABLE] * 3
    assert all("run with --allow-actuation" in r.reason for r in results)
    assert all(r.untested for r in results)
    assert untouched == (True, 100.0, 1.0)


# -- message: events, retained age, session ----------------------------------------------------


def test_an_event_raised_on_the_pole_is_timed_and_so_is_its_clearing(
    tmp_path: Path, bench: Bench
) -> None:
    event = (
        "{kind: message, device: gateway, topic: events, expect: arrives, window: 1.5 s, "
        "limit: '<= 1 s', match: {/type: tilt_alarm, /active: true}, "
        "trigger: {device: tilt, set: {tilt_alarm_threshold: 0.01 deg}, "
        "clears: {/type: tilt_alarm, /active: false}}}"
    )

    (delivered,) = run(tmp_path, event, bench=bench)

    assert delivered.verdict is Verdict.PASS, delivered.reason
    raised, cleared = delivered.measurements
    assert raised.name.endswith("events first matching message after the trigger")
    assert cleared.name.endswith("(clearing)")
    for measured in (raised, cleared):
        assert isinstance(measured.value, float)
        assert 0 < measured.value <= 0.7  # the gateway looks every 0.5 s
    assert "restored tilt_alarm_threshold to 1 deg" in delivered.reason
    assert bench.pole.tilt_alarm_threshold == 1.0


def test_an_event_that_never_comes_fails(tmp_path: Path, bench: Bench) -> None:
    # A threshold above the pole's lean raises nothing.
    event = (
        "{kind: message, device: gateway, topic: events, expect: arrives, window: 0.7 s, "
        "limit: '<= 1 s', match: {/type: tilt_alarm, /active: true}, "
        "trigger: {device: tilt, set: {tilt_alarm_threshold: 2 deg}}}"
    )

    (silent,) = run(tmp_path, event, bench=bench)

    assert silent.verdict is Verdict.FAIL
    assert "no message within 0.7 s" in silent.reason
    assert bench.pole.tilt_alarm_threshold == 1.0


AGE = (
    "{kind: message, device: gateway, topic: equipment, expect: age, timestamp: /ts, "
    "limit: '<= 5 s'}"
)


def test_a_retained_status_is_judged_by_its_own_time_stamp(tmp_path: Path) -> None:
    (fresh,) = run(tmp_path, AGE)
    (stale,) = run(tmp_path, AGE, faults=("stale-retained-message",))

    assert fresh.verdict is Verdict.PASS, fresh.reason
    assert "(retained message, time stamp at /ts)" in fresh.reason
    assert stale.verdict is Verdict.FAIL
    (measured,) = stale.measurements
    assert isinstance(measured.value, float)
    assert 3600 <= measured.value < 3660


SESSION = (
    "{kind: message, device: gateway, topic: status, expect: absent, window: 1.5 s, "
    "match: {/state: offline}}"
)


def test_a_gateway_whose_session_drops_fails_the_session_check(tmp_path: Path) -> None:
    (steady,) = run(tmp_path, SESSION)
    (dropped,) = run(tmp_path, SESSION, faults=("broker-drops-connection",))

    assert steady.verdict is Verdict.PASS, steady.reason
    assert 'matching {/state: "offline"}' in steady.measurements[0].name
    assert dropped.verdict is Verdict.FAIL
    assert '{"state": "offline"}' in dropped.reason


# -- profile mistakes in the new keys ----------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            "{kind: measure, device: lamp, point: supply_voltage, window: 10 s}",
            "check.window: a sampled window needs both 'window' and 'samples', like "
            "'window: 10 s' and 'samples: 5'",
        ),
        (
            "{kind: measure, device: lamp, point: supply_voltage, limit: false}",
            "check.limit: true/false fits on/off points only, and supply_voltage is not all "
            "on/off; give a limit like '>= 0.9'",
        ),
        (
            "{kind: measure, device: lamp, point: lamp_failure, limit: '>= 1'}",
            "check.limit: '>= 1' cannot bound an on/off point; write 'limit: true' or "
            "'limit: false'",
        ),
        (
            "{kind: measure, device: lamp, point: actual_light_state, "
            "unless: {point: lamp_on, equals: 'off'}}",
            "check.unless.equals: lamp_on is on/off; write true or false",
        ),
        (
            "{kind: actuate, device: gateway, set: {target_light_command: 50 %}, "
            "observe: {point: command_round_trip, limit: '>= 1 s'}}",
            "check.observe.limit: '>= 1 s' has no upper bound; a round trip is limited like "
            "'<= 5 s'",
        ),
        (
            "{kind: actuate, device: lamp, set: {lamp_on: false}, restore: [auto_mod], "
            "observe: {point: active_power, limit: '<= 0.5 W'}}",
            "check.restore[0]: unknown point 'auto_mod'; did you mean 'auto_mode'?",
        ),
        (
            "{kind: measure, device: lamp, point: power_factor, limit: '>= 0.9', "
            "requires: {lamp_on: true}, restore: [auto_mode, auto_mod]}",
            "check.restore[1]: unknown point 'auto_mod'; did you mean 'auto_mode'?",
        ),
    ],
)
def test_a_mistake_in_the_new_keys_is_one_pinned_line(
    tmp_path: Path, check: str, message: str
) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(HEAD + REQUIREMENT.format(n=1, check=check), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_profile(path)
    (line,) = (str(p) for p in caught.value.problems)
    assert line.startswith(f"{path}:")
    assert line.split(": $.requirements[0].", 1)[1].startswith(message), line
