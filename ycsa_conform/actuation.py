"""What may be written to a device, and the write-ahead journal that puts a field device back.

Every write of a run passes through `PolledDevice.write` / `command` (transport/poll.py), which
asks the run's `WriteGuard` first:

- Without --allow-actuation on a field site the guard refuses every write and acknowledged
  command with `ActuationRefused` before anything is sent (a check that forgot to ask
  `ctx.actuation_allowed` is an `error`, never a write).
- With it, before the first write that changes a point, the point's prior value (the last value
  the run read of it: every check reads the prior value fresh before it writes) goes to
  `REPORT_DIR/restore.jsonl` as a `pending` line, flushed and fsync'd, and only then is the write
  sent. When the point is written back to that value, a `done` line follows. A run killed with
  SIGKILL (or a laptop that loses power) therefore leaves a journal with the points still
  changed.

The next run on a field site applies the journal before anything else (`apply_pending`) and
says so on stderr; `ycsa-conform restore REPORT_DIR` does the same without a run. A point that
cannot be put back (no answer, a prior value the run never read) stays pending, and the run
stops with a one-line error naming it: the operator must hear it before switching anything.
A bench site has no journal (its devices end with the run).

A line: {"op": "pending", "site": "/abs/site.yaml", "target": "P001", "role": "lamp",
"point": "lamp_on", "prior": true | "50 %" | null, "at": 1767000000.0}, then
{"op": "sent", ...} once a write of the point went out (not fsync'd: informative) and
{"op": "done", "target": ..., "role": ..., "point": ...} when it is back at its prior value.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pint

from ycsa_conform.errors import DeviceError, InputError, Problem
from ycsa_conform.units import format_quantity, parse_quantity

if TYPE_CHECKING:
    from ycsa_conform.site import Site

__all__ = [
    "JOURNAL_NAME",
    "ActuationRefused",
    "Pending",
    "RestoreJournal",
    "WriteGuard",
    "apply_pending",
    "put_back_journal",
]

JOURNAL_NAME = "restore.jsonl"

Value = pint.Quantity[Any] | bool


class ActuationRefused(DeviceError):
    """A write on a field device without --allow-actuation; nothing was sent."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """A point a run changed and had not put back when the journal was last written."""

    site: str
    target: str
    role: str
    point: str
    prior: Value | None  # None: the run wrote it without having read it first
    # The check's changes it belongs to (put back together), and whether it is a side effect
    # of the others (put back after them: a lamp_on write clears auto_mode).
    group: str = ""
    side_effect: bool = False

    def describe(self) -> str:
        prior = "an unknown value" if self.prior is None else _show(self.prior)
        return f"{self.target} {self.role} {self.point} to {prior}"


def _show(value: Value) -> str:
    return format_quantity(value) if isinstance(value, pint.Quantity) else str(value).lower()


def _encode(value: Value | None) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    return format_quantity(value)


def _decode(raw: object) -> Value | None:
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return parse_quantity(raw)
    raise ValueError(f"prior {raw!r} is neither a quantity nor true/false")


class RestoreJournal:
    """`REPORT_DIR/restore.jsonl`, appended to and fsync'd line by line (see the module)."""

    def __init__(self, folder: Path, *, site: str) -> None:
        self.path = folder / JOURNAL_NAME
        self.site = site
        self._lock = threading.Lock()

    def _append(self, record: dict[str, object], *, sync: bool = True) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write per line with O_APPEND: xdist workers append to the same journal.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
                if sync:
                    os.fsync(fd)
            finally:
                os.close(fd)

    def pending(
        self,
        target: str,
        role: str,
        point: str,
        prior: Value | None,
        *,
        group: str,
        side_effect: bool = False,
    ) -> None:
        self._append(
            {
                "op": "pending",
                "site": self.site,
                "target": target,
                "role": role,
                "point": point,
                "prior": _encode(prior),
                "group": group,
                "side_effect": side_effect,
                "at": time.time(),
            }
        )

    def sent(self, target: str, role: str, point: str) -> None:
        """The write went out (informative: a kill between `pending` and this left the point
        unchanged or changed; either way `pending` is put back)."""
        self._append({"op": "sent", "target": target, "role": role, "point": point}, sync=False)

    def done(self, target: str, role: str, point: str) -> None:
        self._append({"op": "done", "target": target, "role": role, "point": point})

    @staticmethod
    def read(folder: Path) -> list[Pending]:
        """The points still pending in `folder`'s journal, oldest first (none without one)."""
        path = folder / JOURNAL_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            message = f"cannot be read ({exc}); put the device back by hand"
            raise InputError([Problem(file=path, line=None, path="", message=message)]) from None
        open_: dict[tuple[str, str, str], Pending] = {}
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key = (str(record["target"]), str(record["role"]), str(record["point"]))
                if record["op"] == "done":
                    open_.pop(key, None)
                elif record["op"] == "sent":
                    continue
                elif key not in open_:  # the first prior is the one to go back to
                    open_[key] = Pending(
                        site=str(record["site"]),
                        target=key[0],
                        role=key[1],
                        point=key[2],
                        prior=_decode(record.get("prior")),
                        group=str(record.get("group", "")),
                        side_effect=bool(record.get("side_effect", False)),
                    )
            except (ValueError, KeyError, TypeError) as exc:
                # A line cut short by the kill that left the journal: only the last can be.
                if number == len(text.splitlines()) and not text.endswith("\n"):
                    continue
                message = f"not a restore journal line ({exc}); put the device back by hand "
                raise InputError(
                    [
                        Problem(
                            file=path, line=number, path="", message=message + "and remove the file"
                        )
                    ]
                ) from None
        return list(open_.values())


class WriteGuard:
    """One device's gate: whether it may be written, and the journal its writes go to."""

    def __init__(
        self,
        *,
        allowed: bool,
        target: str,
        role: str,
        journal: RestoreJournal | None = None,
    ) -> None:
        self.allowed = allowed
        self.target = target
        self.role = role
        self.journal = journal
        self.writes = 0  # writes and commands let through
        self._open: dict[str, Value | None] = {}  # point → the prior value journaled for it
        # Announced by a check (`expect`), journaled with its first write.
        self._expected: dict[str, Value | None] = {}
        self._side_effects: set[str] = set()
        self._groups = itertools.count(1)

    def expect(self, prior: Mapping[str, Value], side_effects: Collection[str] = ()) -> None:
        """A check's prior values of the points it is about to change, `side_effects`
        included (a lamp_on write clears auto_mode): journaled with its first write, so that
        a kill during the check leaves the side effects in the journal too."""
        for point, value in prior.items():
            if point not in self._open:
                self._expected.setdefault(point, value)
        self._side_effects |= set(side_effects)

    def before(self, point: str, value: Value, last: Value | None) -> None:
        """Called before `point` is sent `value`; `last` is the value the run last read of it."""
        if not self.allowed:
            raise ActuationRefused(
                f"{self.target} {self.role}: refusing to write {point} = {_show(value)} on a "
                "field device; run with --allow-actuation to allow it"
            )
        self.writes += 1
        if self.journal is None:
            return
        expected, self._expected = self._expected, {}
        side_effects, self._side_effects = self._side_effects, set()
        if point not in self._open and point not in expected:
            if last is not None and _same(last, value):
                return  # writing the value it has changes nothing
            expected[point] = last  # None: never read
        group = f"{os.getpid()}-{self.target}-{self.role}-{next(self._groups)}"
        for name, prior in expected.items():
            if name not in self._open:
                self.journal.pending(
                    self.target,
                    self.role,
                    name,
                    prior,
                    group=group,
                    side_effect=name in side_effects and name != point,
                )
                self._open[name] = prior

    def after(self, point: str, value: Value) -> None:
        """Called once `point` was sent `value`: back at its prior value, its entry is done."""
        if self.journal is None or point not in self._open:
            return
        self.journal.sent(self.target, self.role, point)
        prior = self._open[point]
        if prior is not None and _same(prior, value):
            del self._open[point]
            self.journal.done(self.target, self.role, point)


def _same(a: Value, b: Value) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    try:
        return bool(
            abs(float(a.to(b.units).magnitude) - float(b.magnitude))
            <= 1e-9 * max(1.0, abs(float(b.magnitude)))
        )
    except pint.DimensionalityError:
        return False


def _put_back_order(pending: Sequence[Pending]) -> list[Pending]:
    """As the checks put points back: the last check's changes first; within one check's,
    the points it set last first, then their side effects (a lamp_on put back clears
    auto_mode, so auto_mode goes back after it)."""
    groups: dict[str, list[Pending]] = {}
    for n, entry in enumerate(pending):
        groups.setdefault(entry.group or f"#{n}", []).append(entry)
    order: list[Pending] = []
    for entries in reversed(groups.values()):
        order += reversed([e for e in entries if not e.side_effect])
        order += [e for e in entries if e.side_effect]
    return order


def apply_pending(
    folder: Path,
    write: Callable[[Pending], None],
    *,
    only_site: str | None = None,
) -> tuple[list[Pending], list[tuple[Pending, str]]]:
    """Put back every pending point of `folder`'s journal with `write`; returns (restored,
    failed with the cause). Restored points get their `done` line; when none failed the journal
    is removed (also when it held nothing pending: the lines of a run that restored all).
    `only_site`: leave entries of another site alone (reported as failed)."""
    pending = RestoreJournal.read(folder)
    restored: list[Pending] = []
    failed: list[tuple[Pending, str]] = []
    for entry in _put_back_order(pending):
        if only_site is not None and entry.site != only_site:
            failed.append((entry, f"it belongs to site {entry.site}"))
            continue
        if entry.prior is None:
            failed.append((entry, "its prior value was never read"))
            continue
        try:
            write(entry)
        except (DeviceError, ValueError, OSError) as exc:
            failed.append((entry, str(exc)))
            continue
        restored.append(entry)
        RestoreJournal(folder, site=entry.site).done(entry.target, entry.role, entry.point)
    if not failed:  # every run starts with an empty journal (it only grows within a run)
        (folder / JOURNAL_NAME).unlink(missing_ok=True)
    return restored, failed


def describe(entries: Iterable[Pending]) -> str:
    return ", ".join(e.describe() for e in entries)


def put_back_journal(
    folder: Path, site: Site, *, only_site: str | None = None, say: Callable[[str], None] = print
) -> list[Pending]:
    """Apply `folder`'s journal to `site`'s devices (see the module): one line on `say` per
    outcome; an InputError naming what could not be put back. Returns what was restored."""
    from ycsa_conform.transport import Device, open_device

    opened: dict[tuple[str, str], Device] = {}
    targets = {t.id: t for t in site.targets}

    def write(entry: Pending) -> None:
        key = (entry.target, entry.role)
        target = targets.get(entry.target)
        if target is None or entry.role not in target.devices:
            raise ValueError(f"site {site.path} has no device {entry.role} on {entry.target}")
        if key not in opened:
            spec = target.devices[entry.role]
            opened[key] = open_device(spec.role, spec.uri, spec.devicemap, spec.options)
        assert entry.prior is not None
        opened[key].write(entry.point, entry.prior)

    try:
        restored, failed = apply_pending(folder, write, only_site=only_site)
    finally:
        for device in opened.values():
            device.close()
    path = folder / JOURNAL_NAME
    if restored:
        say(
            f"ycsa-conform: an earlier run was stopped before it restored its devices "
            f"({path}); put back {describe(restored)}"
        )
    if failed:
        message = (
            "an earlier run left points changed that could not be put back: "
            + "; ".join(f"{e.describe()} ({cause})" for e, cause in failed)
            + f"; set them by hand, then remove {path}"
        )
        raise InputError([Problem(file=path, line=None, path="", message=message)])
    return restored
