"""`message`: assertions on the MQTT traffic of a device, observed for a window.

check:
  kind: message
  device: gateway          # a device role of the target; an MQTT device
  topic: heartbeat         # a topic of its device map
  expect: interval         # arrives | count | interval | absent | retained | valid | age
                           # | sequence
  window: 5 s              # how long to listen, or a parameter ($heartbeat_window);
                           # optional for retained (2 s)
  limit: "<= 2 s"          # arrives, interval: a time; count: a number; the others: none

    arrives   time from the start of listening to the first message
    count     messages in the window
    interval  the largest gap between messages, counting the start and the end of the window:
              a gap cut by the window is at least as long as measured, so a source that stops
              halfway fails instead of passing on its earlier rhythm
    absent    no message may arrive (a topic that must stay quiet, such as an alarm)
    retained  a retained message is there when one subscribes (status, last telemetry)
    valid     every message in the window is JSON and meets the topic's JSON Schema
    age       the first message (the retained one) is no older than the limit: its arrival
              minus its own time stamp (`timestamp: /ts`, a JSON pointer to a time since
              1970-01-01 UTC in the unit the device map declares for the topic, `time_unit`,
              default seconds), so a retained status nobody refreshes any more fails. A stamp
              in another unit, in the future (beyond 10 s) or before 2000 is refused with the
              reason (checks/timestamp.py): `error`, never an age
    sequence  no message lost: the counter at `sequence: /seq` (a JSON pointer) goes up by one
              from each message to the next; a gap is a message lost between the device and
              the platform. A counter that goes back (the device restarted) or repeats (QoS 1
              redelivery) is reported but is not a loss. Needs at least two messages.

  match: {/type: tilt_alarm, /active: true}   # optional: only messages whose JSON has these
                                              # values at these pointers count
  trigger:                                    # optional (arrives): a stimulus, needs actuation
    device: tilt                              # written once the subscription is confirmed;
    set: {tilt_alarm_threshold: 0.01 deg}     # arrival is timed from the write; the prior
    clears: {/type: tilt_alarm, /active: false}   # values are then written back, and the
                                              # clearing message (`clears`) must arrive as fast

What the verdicts rest on (docs/observations.md says it for users):

- Presence before absence. The check listens to all of the device's topics during its window
  (checks/presence.py). A quiet-window expectation (absent, count, interval, sequence) passes
  only when the device was heard: a live message on any of its topics, or its retained status
  online. A device never heard from fails with "never heard from …", whatever the expectation.
- Non-conformance is what the device does while it is there: a message that must not come, a
  gap over the limit, a lost counter, a bad payload, a late or missing message from a device
  that keeps talking. That is `fail`.
- Cannot judge is `error`: the broker cannot be reached (DeviceRefused); our connection to it
  closed during the window; the device went away during the window (its offline status came
  and nothing after it, or it fell silent on every topic after talking on others): LostContact,
  "lost contact with …". If the part of the window before the loss already showed
  non-conformance, that stays `fail`. SP-DATA-018's subject is the offline status itself: there
  it arriving is the failure (the check observes it), not lost contact.
- A duration is never judged negative: an arrival timed before its trigger, a gap or an age
  below 0 s is `error` naming the two clocks. A trigger's time is taken from the transport's
  record of the window (`Observation.acted`), so a replay times from the recorded write.
- A trigger needs actuation: without it the check is not applicable and counted as untested.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pint

from ycsa_conform.errors import DeviceError, LostContact
from ycsa_conform.limit import Limit, ParamRef, ResolvedLimit
from ycsa_conform.result import Measurement, Series, Source, Verdict, worst
from ycsa_conform.transport import Observes
from ycsa_conform.units import UnitError, format_quantity, parse_quantity, ureg

from .base import CheckContext, Outcome, ParseContext, Use, combine, decide_value
from .measure import parse_value, read_fresh
from .presence import Presence, presence_of
from .state import announce
from .timestamp import DEFAULT_CLOCK_TOLERANCE, UNIT_NAMES, read_stamp, stamp_number

if TYPE_CHECKING:
    # Types only: importing the transport would load paho for every profile.
    from ycsa_conform.transport.mqtt import Message, Observation

__all__ = ["Expect", "MessageCheck", "parse"]

DEFAULT_RETAINED_WINDOW = 2.0  # s; a broker sends retained messages right after SUBACK


class Expect(StrEnum):
    ARRIVES = "arrives"
    COUNT = "count"
    INTERVAL = "interval"
    ABSENT = "absent"
    RETAINED = "retained"
    VALID = "valid"
    AGE = "age"
    SEQUENCE = "sequence"


# What the limit of each expectation is measured in; None: the expectation takes no limit.
_LIMIT_UNITS: Mapping[Expect, str | None] = {
    Expect.ARRIVES: "s",
    Expect.COUNT: "",
    Expect.INTERVAL: "s",
    Expect.ABSENT: None,
    Expect.RETAINED: None,
    Expect.VALID: None,
    Expect.AGE: "s",
    Expect.SEQUENCE: None,
}
# Expectations a quiet window can pass: they pass only for a device shown to be there.
_QUIET = frozenset({Expect.ABSENT, Expect.COUNT, Expect.INTERVAL, Expect.SEQUENCE})
# Expectations the first (matching) message decides: a pass on it stands whatever follows.
_FIRST_DECIDES = frozenset({Expect.ARRIVES, Expect.RETAINED, Expect.AGE})
_LIMIT_EXAMPLES = {
    Expect.ARRIVES: "<= 3 s",
    Expect.COUNT: ">= 4",
    Expect.INTERVAL: "<= 2 s",
    Expect.AGE: "<= 90 s",
}


def _seconds(value: float) -> pint.Quantity[Any]:
    return ureg.Quantity(round(value, 3), ureg.second)


@dataclass(frozen=True, slots=True)
class _Observed:
    """One run of a check: what arrived, from where, and the window and limit it ran with."""

    obs: Observation
    source: Source
    window: float  # s
    limit: ResolvedLimit | None
    match: Mapping[str, Any] = field(default_factory=dict)
    since: float | None = None  # host time arrivals count from (a trigger's write), else start

    @property
    def topic(self) -> str:
        return self.obs.topic

    @property
    def messages(self) -> tuple[Message, ...]:
        return tuple(m for m in self.obs.messages if _matches(m, self.match))

    @property
    def presence(self) -> Presence:
        return presence_of(self.obs, self.source, window=self.window)

    def after(self, message: Message) -> float:
        return message.at - (self.obs.started if self.since is None else self.since)

    def until(self, moment: float) -> _Observed:
        """The part of the run up to `moment` (host time), its end at the last message on the
        observed topic by then: what followed (a silence, a loss) is not part of it."""
        kept = tuple(m for m in self.obs.messages if m.at <= moment)
        ended = max([self.obs.started, *(m.at for m in kept)])
        obs = dataclasses.replace(
            self.obs,
            messages=kept,
            heard=tuple(m for m in self.obs.heard if m.at <= moment),
            ended=ended,
        )
        return dataclasses.replace(self, obs=obs)


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    device: str
    set: tuple[tuple[str, Any], ...]
    clears: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageCheck:
    device: str
    topic: str
    expect: Expect
    window: float | ParamRef  # s, or a profile parameter holding a duration
    limit: Limit | None
    match: Mapping[str, Any] = field(default_factory=dict, hash=False)  # JSON pointer -> value
    timestamp: str | None = None  # age: where the payload's own time stamp is
    sequence: str | None = None  # sequence: where the payload's counter is
    trigger: Trigger | None = None

    @property
    def kind(self) -> str:
        return "message"

    def needs(self) -> tuple[str, ...]:
        extra = (self.trigger.device,) if self.trigger is not None else ()
        return tuple(dict.fromkeys((self.device, *extra)))

    def uses(self) -> tuple[Use, ...]:
        observed = Use(role=self.device, topics=(self.topic,))
        if self.trigger is None:
            return (observed,)
        stimulus = tuple(p for p, _ in self.trigger.set)
        return (observed, Use(role=self.trigger.device, reads=stimulus, writes=stimulus))

    def run(self, ctx: CheckContext) -> Outcome:
        observer = ctx.device(self.device)
        if not isinstance(observer, Observes):
            raise DeviceError(
                f"{self.device} speaks {observer.source.scheme}; message checks need an MQTT "
                "device (mqtt:// or mqtts://)"
            )
        window = self._window_seconds(ctx)
        if isinstance(window, str):
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {window}")
        limit = self.limit.resolve(ctx.parameters) if self.limit is not None else None
        if self.trigger is not None:
            return self._triggered(ctx, observer, window, limit)
        # The first message decides these; the others need the whole window. (With a match,
        # the first message may not be one that counts: listen to the end.)
        first_decides = self.expect in (
            Expect.ARRIVES,
            Expect.ABSENT,
            Expect.RETAINED,
            Expect.AGE,
        )
        stop = "each" if first_decides and not self.match else "never"
        try:
            obs = observer.observe(self.topic, window=window, stop=stop, witnesses=True)
        except ValueError as exc:  # the device map has no such topic
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        run = _Observed(obs, observer.source, window, limit, self.match)
        return self._judge(run)

    def _judge(self, run: _Observed) -> Outcome:
        """The expectation's verdict on `run`, once the device is known to have been there
        (see the module docstring): never heard is `fail`, lost contact is `error`."""
        judge = _JUDGES[self.expect]
        outcome = judge(self, run)
        presence = run.presence
        cut: float | None = None
        why: str | None = None
        if presence.offline is not None and presence.offline not in run.messages:
            cut, why = presence.offline.at, presence.lost()
        elif self.expect is Expect.INTERVAL and outcome.verdict is Verdict.FAIL:
            why = presence.fell_silent(self._allowance(run))
            cut = presence.live[-1].at if why is not None else None
        if why is not None and cut is not None:
            before = judge(self, run.until(cut))
            if _shows_nonconformance(self.expect, before) or (
                self.expect in _FIRST_DECIDES and before.verdict is Verdict.PASS
            ):
                return Outcome(
                    verdict=before.verdict,
                    reason=f"{before.reason}; then {why}",
                    measurements=before.measurements,
                )
            raise LostContact(why)
        if not presence.present and (
            not run.messages or (outcome.verdict is Verdict.PASS and self.expect in _QUIET)
        ):
            gone = presence.gone()
            if gone is not None:
                raise LostContact(gone)
            limit = run.limit.describe() if run.limit is not None else self.expect.value
            unit = "" if self.expect in (Expect.COUNT, Expect.VALID) else "s"
            measurement = self._measured(run, None, unit, limit, Verdict.FAIL)
            return Outcome(
                verdict=Verdict.FAIL, reason=presence.never_heard(), measurements=(measurement,)
            )
        return outcome

    def _allowance(self, run: _Observed) -> float:
        """How long the device may be silent by the check's own limit (s): its upper bound."""
        upper = run.limit.upper if run.limit is not None else None
        if isinstance(upper, pint.Quantity) and upper.is_compatible_with(ureg.second):
            return float(upper.to(ureg.second).magnitude)
        return 0.0

    def _triggered(
        self, ctx: CheckContext, observer: Observes, window: float, limit: ResolvedLimit | None
    ) -> Outcome:
        """Write the trigger once subscribed, time the matching message, restore, time the
        clearing message."""
        trigger = self.trigger
        assert trigger is not None
        if not ctx.actuation_allowed:
            return Outcome(
                verdict=Verdict.NOT_APPLICABLE,
                reason="actuation is not allowed on field devices; run with --allow-actuation "
                f"to let it command {trigger.device} to raise the event",
                untested=True,
            )
        device = ctx.device(trigger.device)
        names = [p for p, _ in trigger.set]
        prior: dict[str, pint.Quantity[Any] | bool] = {}
        for name, reading in read_fresh(device, names).items():
            if isinstance(reading.value, str):
                raise DeviceError(f"{trigger.device} {name} reads text; it cannot be written back")
            prior[name] = reading.value
        written: dict[str, float] = {}
        announce(device, prior)

        def write(values: Mapping[str, Any], key: str) -> Callable[[], None]:
            def act() -> None:
                # When the stimulus began: the device may raise its event before the write's
                # call returns, so a time taken after would make a fast delivery negative.
                written[key] = time.time()
                for name, value in values.items():
                    device.write(name, value)

            return act

        runs: list[_Observed] = []
        try:
            try:
                obs = observer.observe(
                    self.topic,
                    window=window,
                    stop="never",
                    act=write(dict(trigger.set), "set"),
                    witnesses=True,
                )
                since = written["set"] if obs.acted is None else obs.acted
                runs.append(_Observed(obs, observer.source, window, limit, self.match, since))
            finally:
                back = dict(reversed(list(prior.items())))
                if trigger.clears is not None and len(runs) == 1:
                    obs = observer.observe(
                        self.topic,
                        window=window,
                        stop="never",
                        act=write(back, "restore"),
                        witnesses=True,
                    )
                    # The transport's record of the write (replayed from a recording), else ours.
                    since = written["restore"] if obs.acted is None else obs.acted
                    runs.append(
                        _Observed(obs, observer.source, window, limit, trigger.clears, since)
                    )
                else:
                    for name, value in back.items():
                        device.write(name, value)
        except ValueError as exc:  # the device map refused the value, or has no such topic
            return Outcome(verdict=Verdict.ERROR, reason=f"cannot be decided: {exc}")
        outcomes = [self._judge(run) for run in runs]
        if len(outcomes) == 2:
            outcomes[1] = Outcome(
                verdict=outcomes[1].verdict,
                reason=f"cleared: {outcomes[1].reason}",
                measurements=tuple(
                    dataclasses.replace(m, name=f"{m.name} (clearing)")
                    for m in outcomes[1].measurements
                ),
            )
        verdict = worst([o.verdict for o in outcomes])
        stimulus = ", ".join(f"{n} {_show(v)}" for n, v in trigger.set)
        restored = ", ".join(f"{n} to {_show(v)}" for n, v in prior.items())
        return Outcome(
            verdict=verdict,
            reason=f"set {trigger.device} {stimulus}: "
            + "; ".join(o.reason for o in outcomes)
            + f"; restored {restored}",
            measurements=tuple(m for o in outcomes for m in o.measurements),
        )

    def _window_seconds(self, ctx: CheckContext) -> float | str:
        """The window in seconds, or why the parameter holding it cannot be used."""
        if not isinstance(self.window, ParamRef):
            return self.window
        value = ctx.parameters[self.window.name]
        if not isinstance(value, pint.Quantity) or not value.is_compatible_with(ureg.second):
            return f"window ${self.window.name} = {value!r} is not a duration; set it like '5 s'"
        seconds = float(value.to(ureg.second).magnitude)
        if not seconds > 0:
            return (
                f"window ${self.window.name} = {format_quantity(value)} is too short; "
                "set it to more than 0 s"
            )
        return seconds

    # -- one judge per expectation ------------------------------------------------------------

    def _name(self, run: _Observed) -> str:
        what = {
            Expect.ARRIVES: "first message after",
            Expect.COUNT: f"messages in {run.window:g} s",
            Expect.INTERVAL: "largest gap between messages",
            Expect.ABSENT: f"messages in {run.window:g} s",
            Expect.RETAINED: "retained message",
            Expect.VALID: "messages breaking the payload rules",
            Expect.AGE: "age of the first message",
            Expect.SEQUENCE: f"messages lost (gaps in {self.sequence})",
        }[self.expect]
        if self.expect is Expect.ARRIVES and run.since is not None:
            what = "first matching message after the trigger"
        elif self.match and self.expect is not Expect.AGE:
            what = f"{what} matching {_show_match(run.match)}"
        return f"{run.topic} {what}"

    def _measured(
        self, run: _Observed, value: float | bool | None, unit: str, limit: str, verdict: Verdict
    ) -> Measurement:
        return Measurement(
            name=self._name(run),
            value=value,
            unit=unit,
            limit=limit,
            verdict=verdict,
            source=run.source,
        )

    def _silent(self, run: _Observed, unit: str) -> Outcome:
        limit = run.limit.describe() if run.limit is not None else self.expect.value
        measurement = self._measured(run, None, unit, limit, Verdict.FAIL)
        return Outcome(
            verdict=Verdict.FAIL,
            reason=f"{run.topic}: no message within {run.window:g} s",
            measurements=(measurement,),
        )

    def _decide(self, run: _Observed, value: pint.Quantity[Any]) -> Outcome:
        return combine([decide_value(self._name(run), value, run.limit, run.source)])

    def _unjudged(self, run: _Observed, value: float | None, reason: str) -> Outcome:
        """`error`: a value that came out but cannot be judged (a negative duration, a time
        stamp that cannot be believed); the measurement keeps it, unjudged."""
        limit = run.limit.describe() if run.limit is not None else self.expect.value
        measurement = self._measured(
            run, None if value is None else round(value, 3), "s", limit, Verdict.ERROR
        )
        return Outcome(
            verdict=Verdict.ERROR,
            reason=f"cannot be decided: {run.topic}: {reason}",
            measurements=(measurement,),
        )

    def _arrives(self, run: _Observed) -> Outcome:
        if not run.messages:
            return self._silent(run, "s")
        delay = run.after(run.messages[0])
        if delay < 0:
            what = "delivery time" if run.since is not None else "arrival time"
            start = "the trigger's write" if run.since is not None else "the start of listening"
            return self._unjudged(
                run,
                delay,
                f"negative {what} {delay:.3f} s: {start} and the arrival come from different "
                "clocks (a replay of a recording made before trigger times were recorded?); "
                "record the run again",
            )
        return self._decide(run, _seconds(delay))

    def _age(self, run: _Observed) -> Outcome:
        if not run.messages:
            return self._silent(run, "s")
        first = run.messages[0]
        assert self.timestamp is not None
        unit = run.obs.time_unit
        try:
            stamp = stamp_number(resolve_pointer(first.data, self.timestamp))
        except (LookupError, TypeError):
            stamp = None
        if stamp is None:
            measurement = self._measured(
                run, None, "s", run.limit.describe() if run.limit else "", Verdict.FAIL
            )
            return Outcome(
                verdict=Verdict.FAIL,
                reason=f"{run.topic}: the message has no time stamp in {UNIT_NAMES[unit]} at "
                f"{self.timestamp}, so its age is unknown: {_excerpt(first.payload)}",
                measurements=(measurement,),
            )
        read = read_stamp(
            stamp,
            arrival=first.at,
            unit=unit,
            pointer=self.timestamp,
            topic_key=run.obs.key,
            tolerance=DEFAULT_CLOCK_TOLERANCE,
            device_map=run.obs.device_map,
        )
        if isinstance(read, str):
            return self._unjudged(run, None, read)
        outcome = self._decide(run, _seconds(read.age))
        kind = "retained" if first.retained else "live"
        ahead = (
            f"; its clock {read.ahead:.3f} s ahead of this host's, within the "
            f"{DEFAULT_CLOCK_TOLERANCE:g} s allowed: age taken as 0 s"
            if read.ahead > 0
            else ""
        )
        return Outcome(
            verdict=outcome.verdict,
            reason=f"{outcome.reason} ({kind} message, time stamp at {self.timestamp}{ahead})",
            measurements=outcome.measurements,
        )

    def _count(self, run: _Observed) -> Outcome:
        return self._decide(run, ureg.Quantity(float(len(run.messages)), ureg.dimensionless))

    def _interval(self, run: _Observed) -> Outcome:
        # The arrivals go to the report's timeline plot, none (a silent window) included.
        allowed = run.limit.upper if run.limit is not None else None
        arrivals = (
            Series(
                kind="arrivals",
                name=run.topic,
                unit="s",
                x_unit="s",
                x=tuple(m.at - run.obs.started for m in run.messages),
                start=0.0,
                end=run.obs.ended - run.obs.started,
                upper=_seconds_of(allowed),
                limit=run.limit.describe() if run.limit is not None else "",
            ),
        )
        if not run.messages:
            return dataclasses.replace(self._silent(run, "s"), series=arrivals)
        times = [run.obs.started, *(m.at for m in run.messages), run.obs.ended]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        if min(gaps) < 0:
            return self._unjudged(
                run,
                min(gaps),
                f"negative interval {min(gaps):.3f} s between two arrivals: this host's clock "
                "stepped back during the window, or the times come from different clocks; "
                "run it again",
            )
        return dataclasses.replace(self._decide(run, _seconds(max(gaps))), series=arrivals)

    def _absent(self, run: _Observed) -> Outcome:
        verdict = Verdict.FAIL if run.messages else Verdict.PASS
        limit = f"none in {run.window:g} s"
        measurement = self._measured(run, len(run.messages), "", limit, verdict)
        if not run.messages:
            reason = f"{run.topic}: no message in {run.window:g} s, as required"
        else:
            first = run.messages[0]
            reason = (
                f"{run.topic}: a message arrived after {run.after(first):.3f} s"
                f"{' (retained)' if first.retained else ''}, where none may arrive within "
                f"{run.window:g} s: {_excerpt(first.payload)}"
            )
        return Outcome(verdict=verdict, reason=reason, measurements=(measurement,))

    def _retained(self, run: _Observed) -> Outcome:
        if not run.messages:
            measurement = self._measured(run, None, "", "retained", Verdict.FAIL)
            reason = (
                f"{run.topic}: no retained message (nothing arrived within {run.window:g} s of "
                "subscribing); the device must publish it with the retain flag"
            )
            return Outcome(verdict=Verdict.FAIL, reason=reason, measurements=(measurement,))
        first = run.messages[0]
        verdict = Verdict.PASS if first.retained else Verdict.FAIL
        measurement = self._measured(run, first.retained, "", "retained", verdict)
        if first.retained:
            reason = f"{run.topic}: a retained message is present: {_excerpt(first.payload)}"
        else:
            reason = (
                f"{run.topic}: the first message after subscribing was live, not retained "
                f"(after {run.after(first):.3f} s); the device must publish it with the "
                "retain flag"
            )
        return Outcome(verdict=verdict, reason=reason, measurements=(measurement,))

    def _valid(self, run: _Observed) -> Outcome:
        if not run.messages:
            return self._silent(run, "")
        bad = [m for m in run.messages if m.problem is not None]
        schema = run.obs.schema
        rules = f"its schema {schema.name}" if schema is not None else "JSON"
        verdict = Verdict.FAIL if bad else Verdict.PASS
        limit = f"none of {len(run.messages)} (rules: {rules})"
        measurement = self._measured(run, len(bad), "", limit, verdict)
        if not bad:
            reason = f"{run.topic}: all {len(run.messages)} message(s) meet {rules}"
        else:
            reason = (
                f"{run.topic}: {len(bad)} of {len(run.messages)} message(s) break {rules}; "
                f"the first: {bad[0].problem}"
            )
        return Outcome(verdict=verdict, reason=reason, measurements=(measurement,))

    def _sequence(self, run: _Observed) -> Outcome:
        assert self.sequence is not None
        counters: list[int] = []
        unreadable = 0
        for message in run.messages:
            try:
                value = resolve_pointer(message.data, self.sequence)
            except (LookupError, TypeError):
                value = None
            if isinstance(value, int) and not isinstance(value, bool):
                counters.append(value)
            else:
                unreadable += 1
        if len(counters) < 2:
            measurement = self._measured(run, None, "", "0", Verdict.FAIL)
            reason = (
                f"{run.topic}: {len(counters)} message(s) with a counter at {self.sequence} in "
                f"{run.window:g} s ({unreadable} without one); completeness needs at least two, "
                "so lengthen the window"
            )
            return Outcome(verdict=Verdict.FAIL, reason=reason, measurements=(measurement,))
        steps = [later - earlier for earlier, later in itertools.pairwise(counters)]
        lost = sum(step - 1 for step in steps if step > 1)
        restarts = sum(1 for step in steps if step < 0)
        repeats = sum(1 for step in steps if step == 0)
        verdict = Verdict.FAIL if lost or unreadable else Verdict.PASS
        measurement = self._measured(run, lost, "", "0", verdict)
        seen = f"{len(counters)} message(s), {self.sequence} {counters[0]}..{counters[-1]}"
        notes = [
            text
            for count, text in (
                (restarts, f"{restarts} restart(s) of the counter"),
                (repeats, f"{repeats} repeat(s)"),
                (unreadable, f"{unreadable} message(s) without a counter at {self.sequence}"),
            )
            if count
        ]
        extra = f"; {', '.join(notes)}" if notes else ""
        if lost:
            where = next(
                f"after {earlier}"
                for earlier, later in itertools.pairwise(counters)
                if later - earlier > 1
            )
            reason = f"{run.topic}: {lost} message(s) lost (first gap {where}) in {seen}{extra}"
        elif unreadable:
            reason = f"{run.topic}: {seen}{extra}; every message must carry its counter"
        else:
            reason = f"{run.topic}: no message lost in {seen}{extra}"
        return Outcome(verdict=verdict, reason=reason, measurements=(measurement,))


_JUDGES: Mapping[Expect, Callable[[MessageCheck, _Observed], Outcome]] = {
    Expect.ARRIVES: MessageCheck._arrives,
    Expect.COUNT: MessageCheck._count,
    Expect.INTERVAL: MessageCheck._interval,
    Expect.ABSENT: MessageCheck._absent,
    Expect.RETAINED: MessageCheck._retained,
    Expect.VALID: MessageCheck._valid,
    Expect.AGE: MessageCheck._age,
    Expect.SEQUENCE: MessageCheck._sequence,
}


def _shows_nonconformance(expect: Expect, outcome: Outcome) -> bool:
    """The outcome fails on something the device did (a message that must not come, a gap, a
    lost counter, a bad payload, a late or stale message), not on a silence."""
    if outcome.verdict not in (Verdict.FAIL, Verdict.MARGINAL) or expect is Expect.COUNT:
        return False  # a count cut short says nothing
    return any(m.value is not None for m in outcome.measurements)


def _matches(message: Message, match: Mapping[str, Any]) -> bool:
    """The message's JSON has every value of `match` at its pointer (1 is not true)."""
    for pointer, wanted in match.items():
        try:
            value = resolve_pointer(message.data, pointer)
        except (LookupError, TypeError):
            return False
        if isinstance(value, bool) != isinstance(wanted, bool) or value != wanted:
            return False
    return True


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value at an RFC 6901 JSON pointer (here, so a profile does not load paho)."""
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        document = document[int(token)] if isinstance(document, list) else document[token]
    return document


def _show_match(match: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in match.items()) + "}"


def _show(value: Any) -> str:
    return format_quantity(value) if isinstance(value, pint.Quantity) else str(value).lower()


def _excerpt(payload: str) -> str:
    return repr(payload if len(payload) <= 80 else payload[:77] + "...")


def parse(raw: Mapping[str, Any], ctx: ParseContext) -> MessageCheck | None:
    try:
        expect = Expect(raw["expect"])
    except ValueError:
        ctx.problem(
            "expect",
            f"unknown expectation {raw['expect']!r}; use one of: {', '.join(Expect)}",
        )
        return None
    window = _window(raw, expect, ctx)
    if window is None:
        return None
    unit_text = _LIMIT_UNITS[expect]
    limit = None
    if unit_text is None:
        if "limit" in raw:
            ctx.problem(
                "limit",
                f"'expect: {expect}' takes no limit (it passes or fails as it is); "
                "remove the limit",
            )
            return None
    elif "limit" not in raw:
        ctx.problem(
            None,
            f"'expect: {expect}' needs a limit; add one like "
            f"'limit: \"{_LIMIT_EXAMPLES[expect]}\"'",
        )
        return None
    else:
        unit = ureg.second if unit_text == "s" else ureg.dimensionless
        subject = "a time in seconds" if unit_text == "s" else "a number of messages"
        limit = ctx.limit(raw["limit"], unit=unit, subject=subject)
        if limit is None:
            return None
    match = _match(raw.get("match", {}), ctx, "match")
    if match is None:
        return None
    # Pointers into the payload that exactly one expectation takes.
    for key, owner, what in (
        ("timestamp", Expect.AGE, "time stamp (like '/ts')"),
        ("sequence", Expect.SEQUENCE, "counter (like '/seq')"),
    ):
        if (expect is owner) != (key in raw):
            ctx.problem(
                key,
                f"'expect: {owner}' needs '{key}', the JSON pointer to the payload's {what}, "
                "and only it takes one",
            )
            return None
    trigger = None
    if "trigger" in raw:
        if expect is not Expect.ARRIVES:
            ctx.problem("trigger", "a trigger times a message: use it with 'expect: arrives'")
            return None
        trigger = _trigger(raw["trigger"], ctx)
        if trigger is None:
            return None
    return MessageCheck(
        device=raw["device"],
        topic=raw["topic"],
        expect=expect,
        window=window,
        limit=limit,
        match=match,
        timestamp=raw.get("timestamp"),
        sequence=raw.get("sequence"),
        trigger=trigger,
    )


def _match(raw: Any, ctx: ParseContext, key: str) -> Mapping[str, Any] | None:
    for pointer in raw:
        if not str(pointer).startswith("/"):
            ctx.problem(key, f"{pointer!r} is not a JSON pointer; write it like '/type'")
            return None
    return MappingProxyType(dict(raw))


def _trigger(raw: Mapping[str, Any], ctx: ParseContext) -> Trigger | None:
    values = []
    for point, text in raw["set"].items():
        value = parse_value(point, text, ctx, ("trigger", "set", point))
        if value is None:
            return None
        values.append((point, value))
    clears = None
    if "clears" in raw:
        clears = _match(raw["clears"], ctx, "trigger")
        if clears is None:
            return None
    return Trigger(device=raw["device"], set=tuple(values), clears=clears)


def _window(raw: Mapping[str, Any], expect: Expect, ctx: ParseContext) -> float | ParamRef | None:
    if "window" not in raw:
        if expect in (Expect.RETAINED, Expect.AGE):
            return DEFAULT_RETAINED_WINDOW
        ctx.problem(
            None,
            f"'expect: {expect}' needs a window, how long to listen; add one like 'window: 5 s'",
        )
        return None
    text = raw["window"]
    if isinstance(text, str) and text.strip().startswith("$"):
        return _window_parameter(text.strip()[1:], ctx)
    try:
        window = parse_quantity(text)
    except UnitError:
        window = None
    if (
        window is None
        or window.units == ureg.dimensionless
        or not window.is_compatible_with(ureg.second)
    ):
        ctx.problem("window", f"{text!r} is not a duration; give how long to listen, like '5 s'")
        return None
    seconds = float(window.to(ureg.second).magnitude)
    if not seconds > 0:
        ctx.problem("window", f"{format_quantity(window)} is too short; give more than 0 s")
        return None
    return seconds


def _window_parameter(name: str, ctx: ParseContext) -> ParamRef | None:
    info = ctx.parameter("window", name)
    if info is None:
        return None
    if info.unit is None or not (1 * info.unit).is_compatible_with(ureg.second):
        ctx.problem(
            "window",
            f"parameter ${name} is not a duration; give the window in seconds, like '5 s', or "
            "name a quantity parameter with 'unit: s'",
        )
        return None
    return ParamRef(name)


def _seconds_of(bound: pint.Quantity[Any] | None) -> float | None:
    """A limit's bound in seconds, for the timeline plot; None when it is not a duration."""
    if bound is None or not bound.is_compatible_with(ureg.second):
        return None
    return float(bound.to(ureg.second).magnitude)
