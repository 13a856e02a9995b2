"""`--dry-run`: what a run would read and write, per target and requirement, touching nothing.

The run is collected as usual (so `-k`, `-m` and `--lf` select as they would) and then ends as
`--collect-only` does: no check runs, no device is opened, no report is written, and a restore
journal left by a killed run is reported, not applied. Each selected requirement prints the
points it would read and write on each device role (its check's `uses()`, the same the
contract is checked against), and whether the writes would be sent on this site:

    P001 SP-PWR-009 [actuate]: lamp (modbus-rtu:///dev/ttyUSB0?unit=1) reads lamp_on,
      active_power; writes lamp_on, auto_mode (put back afterwards) — not sent: field site
      without --allow-actuation (the check is untested)

Addresses are shown without any user part (`mqtt://user@host` prints `mqtt://host`).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest

from .collection import RequirementItem
from .state import STATE


def _shown(uri: str) -> str:
    """`uri` without a user part or password, which never reach the terminal."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def dry_run(config: pytest.Config) -> bool:
    return bool(config.getoption("ycsa_dry_run", False))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if dry_run(config):
        config.option.collectonly = True


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if not dry_run(config) or state is None:
        return
    allowed = state.run.actuation_allowed
    write = (
        "sent when needed"
        if allowed
        else "not sent: field site without --allow-actuation (the check is untested)"
    )
    lines = [f"dry run: site {state.site.id} ({state.site.kind}); nothing is read or written"]
    for item in session.items:
        if not isinstance(item, RequirementItem):
            continue
        case = item.case
        check = case.requirement.check
        parts = []
        for use in check.uses():
            spec = case.target.devices.get(use.role)
            where = f" ({_shown(spec.uri)})" if spec is not None else " (not on this target)"
            reads = ", ".join(use.reads) or "nothing"
            text = f"{use.role}{where} reads {reads}"
            if use.topics:
                text += f"; observes {', '.join(use.topics)}"
            if use.writes:
                state_only = set(use.establishes)
                shown = [f"{p} (only to set the state judged in)" if p in state_only else p
                         for p in use.writes]  # fmt: skip
                text += f"; writes {', '.join(shown)} (put back afterwards) — {write}"
            parts.append(text)
        body = "; ".join(parts) if parts else "no device (design data, records or evidence)"
        lines.append(f"{case.target.id} {case.requirement.id} [{check.kind}]: {body}")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line)
