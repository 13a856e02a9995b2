"""Every verb of `ycsa-conform` is listed in its help with one line, and is run by some test."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from ycsa_conform import cli

TESTS = Path(__file__).resolve().parents[1]


def _verbs(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str | None]]:
    """(verb path, its one-line help) for every verb and sub-verb, leaves and groups."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, sub in action.choices.items():
            yield (*path, name), helps.get(name)
            yield from _verbs(sub, (*path, name))


def _leaves() -> list[tuple[str, ...]]:
    verbs = [path for path, _ in _verbs(cli._parser())]
    return [v for v in verbs if not any(o[: len(v)] == v and o != v for o in verbs)]


def test_help_lists_every_verb_with_one_line_of_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    top = [(path, text) for path, text in _verbs(cli._parser()) if len(path) == 1]
    assert len(top) >= 9
    for (name,), text in top:
        assert text, f"verb {name!r} has no help"
        assert "\n" not in text, f"verb {name!r}: help is not one line"
        assert len(text) <= 100, f"verb {name!r}: help is longer than a line"
        assert re.search(rf"^\s+{re.escape(name)}\s+\S", result.stdout, re.M), name


def test_every_verb_is_run_by_a_test() -> None:
    # A verb is "run by a test" when a test's source spells it as a command: `ycsa-conform
    # report merge`, `"ycsa_conform", "loads"` (python -m), or its words handed to the CLI.
    sources = "\n".join(
        p.read_text(encoding="utf-8") for p in TESTS.rglob("*.py") if p != Path(__file__)
    )
    untested = []
    for path in _leaves():
        words = ", ".join(f'"{word}"' for word in path)
        spelt = [
            "ycsa-conform " + " ".join(path),
            f'"ycsa_conform", {words}',
            f"(pytester, {words}",
            f"main([{words}",
        ]
        if len(path) > 1:  # "report", "merge" handed on in a list of arguments
            spelt.append(words)
        if not any(s in sources for s in spelt):
            untested.append(" ".join(path))
    assert not untested, f"verbs no test runs: {untested}"
