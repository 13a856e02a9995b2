"""The pytest plugin (entry point `pytest11: ycsa_conform`).

Each concern is a module that is itself a plugin, as in pytest's own source:
`options` (command-line options), `boundary` (what escapes the session's setup becomes one
line), `collection` (profiles → items), `distribution`
(pytest-xdist: one bench, a target per worker), `fixtures` (for users' own tests), `reporting`
(journal, report.json/html, terminal summary), `signals` (SIGTERM and SIGHUP end a run
as Ctrl-C does), `dryrun` (`--dry-run`: what would be read and written).
"""

from __future__ import annotations

import pytest

from . import boundary, collection, distribution, dryrun, fixtures, options, reporting, signals

__all__ = ["pytest_addoption", "pytest_configure"]


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    options.add_options(parser)
    pluginmanager.register(options, "ycsa_conform.options")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # trylast: pytest's terminal reporter is there when the bench starts (its progress lines).
    for module in (boundary, collection, distribution, dryrun, fixtures, reporting, signals):
        config.pluginmanager.register(module, f"ycsa_conform.{module.__name__.rsplit('.', 1)[-1]}")
