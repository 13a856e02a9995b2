"""Every command the guides show runs as shown (issue 17, item 6).

How: tests/docs/doc_commands.py (its docstring is the reference for the `doc-test` markers and
for how field addresses become the standalone bench's). Each document runs in a folder of its
own, its blocks in order; the documents run in parallel under pytest-xdist.

The Chinese on-site guide shows exactly the English one's commands (a test holds them equal),
so only the English one is run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from doc_commands import ROOT, blocks, console_blocks, installed_verbs, read, verb_of

DOCS = sorted(p for p in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")] if console_blocks(p))
SAME_AS = {ROOT / "docs" / "guide-onsite.zh.md": ROOT / "docs" / "guide-onsite.en.md"}
GUIDES = [
    "guide-onsite.en.md",
    "guide-onsite.zh.md",
    "profile-authoring.md",
    "devicemap-guide.md",
    "vendor-ci.md",
]


def _runnable(block_options: dict[str, str]) -> bool:
    return not {"install", "skip", "ci-templates", "file"} & set(block_options)


# The documents with a command to run here (vendor-ci.md's are the templates', run by
# tests/docs/test_ci_templates.py; the Chinese guide's are the English one's).
RUN = [d for d in DOCS if d not in SAME_AS and any(_runnable(b.options) for b in console_blocks(d))]


@pytest.mark.parametrize("doc", RUN, ids=[str(d.relative_to(ROOT)) for d in RUN])
def test_the_commands_of_a_doc_run(doc: Path, tmp_path: Path) -> None:
    outcome = read(doc, tmp_path)

    print("\n".join(["ran:", *outcome.ran, "not run:", *outcome.skipped]))
    assert outcome.ran, f"{doc.name}: no command ran"


def test_the_guides_exist_and_have_commands() -> None:
    for name in GUIDES:
        doc = ROOT / "docs" / name
        assert doc in DOCS, f"docs/{name} has no ```console block"
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        assert f"(docs/{name})" in readme, f"the README does not link docs/{name}"


@pytest.mark.parametrize("doc", list(SAME_AS), ids=[d.name for d in SAME_AS])
def test_a_translation_shows_the_same_commands(doc: Path) -> None:
    def shown(path: Path) -> list[tuple[tuple[str, ...], tuple[tuple[str, str], ...]]]:
        return [
            (tuple(b.commands), tuple(sorted(b.options.items())))
            for b in console_blocks(path)
            if b.commands or "file" in b.options
        ]

    assert shown(doc) == shown(SAME_AS[doc])


def test_every_command_block_of_a_guide_is_run_or_says_why_not() -> None:
    # A console block without a `$` line would be silently ignored; an option the reader does
    # not know would be a typo that skips nothing.
    known = {"install", "skip", "exit", "background", "file", "ci-templates", "copy", "expect"}
    for doc in DOCS:
        for block in blocks(doc):
            assert set(block.options) <= known, f"{block.where()}: {block.options}"
            if block.lang == "console":
                assert block.commands, f"{block.where()}: a console block without `$ `"
            if "skip" in block.options:
                assert block.options["skip"], f"{block.where()}: skip= needs a reason"


def test_every_verb_the_docs_call_exists() -> None:
    used = {verb_of(c) for d in DOCS for b in console_blocks(d) for c in b.commands} - {None}
    assert used <= installed_verbs()
    assert {"site", "scan", "doctor"} <= used  # the on-site guide's first steps
    runnable = [b for d in DOCS for b in console_blocks(d) if _runnable(b.options)]
    assert len([c for b in runnable for c in b.commands]) >= 20


def test_the_ci_commands_a_doc_shows_are_the_templates() -> None:
    # A block marked ci-templates is run by tests/docs/test_ci_templates.py: each of its
    # commands must be a line of the GitHub template (which the GitLab one repeats).
    template = (ROOT / "ci-templates" / "github-actions.yml").read_text(encoding="utf-8")
    lines = {line.strip().removeprefix("run: ") for line in template.splitlines()}
    shown = [
        c
        for d in DOCS
        for b in console_blocks(d)
        if "ci-templates" in b.options
        for c in b.commands
    ]
    assert shown, "no ci-templates block"
    assert [c for c in shown if c not in lines] == []
