"""Run the commands a Markdown document shows, as a reader would, in a folder of their own.

What runs: every ```console block of a document, one `$ COMMAND` line at a time (a line ending
in `\\` continues on the next; lines without `$` are sample output and are not compared), in
document order, in one temporary folder per document, with the `ycsa-conform` and `pytest` of
the test suite's own environment first on PATH. Each command must exit 0 unless the block says
otherwise. An HTML comment on the line just above a fence changes what happens to that block
(options separated by `;`):

    <!-- doc-test: install -->          install commands: not run; the suite's own environment
                                         (pip install -e '.[test]') stands in for them
    <!-- doc-test: skip=REASON -->      not run, for the reason given (a command that needs
                                         root, or waits for Ctrl-C)
    <!-- doc-test: exit=1 -->           the block's last command exits 1 (`exit=0,1`: either);
                                         the commands before it exit 0
    <!-- doc-test: expect=TEXT -->       the output of the block's last command contains TEXT
                                         (a failure that fails for the reason the doc says)
    <!-- doc-test: background -->       the block's one command serves until stopped (the
                                         standalone bench): started, its first line of output
                                         (the bench's JSON) awaited, stopped with SIGTERM once
                                         the document's last block has run
    <!-- doc-test: file=NAME -->        any fenced block: its text is written to NAME in the
                                         folder (a profile, site, map or CSV the doc shows)
    <!-- doc-test: copy=fixtures -->    before the block runs, the repository's `fixtures/` (any
                                         paths, `,`-separated) is copied into the folder, for
                                         the commands that name the repository's example files
    <!-- doc-test: ci-templates -->     the commands are those of ci-templates/*.yml, which
                                         tests/docs/test_ci_templates.py runs: each must be one

Field addresses: a document shows the addresses of a real pole (`/dev/ttyUSB0` the lamp
controller's RS-485 adapter, `/dev/ttyUSB1` the meter's, `192.168.1.20:502` the pole's Modbus
TCP sensors, `192.168.1.9:1883` the city's broker, `city/road-1/P001` the pole's topic
prefix). Once a background bench has printed its endpoints, every command and every written
file of the document (also one written before the bench started) has these replaced by the
bench's own (`FIELD_ADDRESSES`), so the same commands read the simulated pole's devices over
the same protocols.

A command calling a verb this installation lacks fails its test (the doc names no such verb).
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# The field addresses the docs show, and the bench endpoint each stands for (longest first).
FIELD_ADDRESSES: tuple[tuple[str, str], ...] = (
    ("192.168.1.20 --port 502", "{tcp_host} --port {tcp_port}"),
    ("192.168.1.20:502", "{modbus_tcp}"),
    ("192.168.1.9:1883", "{mqtt}"),
    ("city/road-1/P001", "{prefix}"),
    ("/dev/ttyUSB0", "{modbus_rtu}"),
    ("/dev/ttyUSB1", "{dlt645}"),
)

COMMAND_TIMEOUT = 600  # seconds: a "does not hang" bound, far above any command's own time

_FENCE = re.compile(r"^(`{3,})(\S*)\s*$")
_MARKER = re.compile(r"^<!--\s*doc-test:\s*(.*?)\s*-->\s*$")


@dataclass(frozen=True, slots=True)
class Block:
    doc: Path
    line: int  # of the opening fence
    lang: str
    text: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def commands(self) -> list[str]:
        """The `$ ` lines, continuation lines joined."""
        commands: list[str] = []
        pending = ""
        for raw in self.text.splitlines():
            line = raw.rstrip()
            if pending:
                pending += " " + line.strip()
            elif line.startswith("$ "):
                pending = line[2:].strip()
            else:
                continue
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            commands.append(pending)
            pending = ""
        return commands

    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    """The fenced blocks of a Markdown file, with the doc-test options just above each."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        ticks, lang = fence.group(1), fence.group(2)
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].strip() == ticks),
            len(lines),
        )
        options: dict[str, str] = {}
        marker = _MARKER.match(lines[i - 1]) if i > 0 else None
        if marker:
            for item in filter(None, (p.strip() for p in marker.group(1).split(";"))):
                key, _, value = item.partition("=")
                options[key.strip()] = value.strip()
        found.append(Block(doc, i + 1, lang, "\n".join(lines[i + 1 : end]) + "\n", options))
        i = end + 1
    return found


def console_blocks(doc: Path) -> list[Block]:
    return [b for b in blocks(doc) if b.lang == "console" or "file" in b.options]


def verb_of(command: str) -> str | None:
    """The ycsa-conform verb a command calls, if any."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    for k, word in enumerate(words):
        if word == "ycsa-conform" and k + 1 < len(words):
            return words[k + 1]
    return None


def installed_verbs() -> set[str]:
    out = subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    ).stdout
    match = re.search(r"\{([\w,-]+)\}", out)
    return set(match.group(1).split(",")) if match else set()


def environment() -> dict[str, str]:
    """The suite's own environment, its console scripts first on PATH, without the outer
    pytest's settings (xdist worker ids, addopts) leaking into a command's own pytest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_", "ALLURE_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Outcome:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class Reader:
    """Runs one document's blocks in one folder; `close()` stops what it started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = environment()
        self.swaps: list[tuple[str, str]] = []
        self.servers: list[subprocess.Popen[str]] = []
        self.written: dict[Path, str] = {}  # files of the doc, rewritten once a bench serves
        self.verbs = installed_verbs()
        self.outcome = Outcome()

    def swap(self, text: str) -> str:
        for field_address, bench in self.swaps:
            text = text.replace(field_address, bench)
        return text

    def missing_verb(self, block: Block) -> str | None:
        for command in block.commands:
            verb = verb_of(command)
            if verb is not None and verb not in self.verbs:
                return verb
        return None

    def run(self, block: Block) -> None:
        options = block.options
        if "file" in options:
            path = self.folder / options["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.swap(block.text), encoding="utf-8")
            self.written[path] = block.text
            return
        if "install" in options or "skip" in options or "ci-templates" in options:
            why = options.get("skip") or ("install" if "install" in options else "ci-templates")
            self.outcome.skipped.extend(f"{block.where()}: {c}  [{why}]" for c in block.commands)
            return
        for name in filter(None, options.get("copy", "").split(",")):
            source, target = ROOT / name.strip(), self.folder / name.strip()
            if not target.exists():
                shutil.copytree(source, target) if source.is_dir() else shutil.copy(source, target)
        verb = self.missing_verb(block)
        if verb is not None:
            raise AssertionError(f"{block.where()}: ycsa-conform has no verb {verb!r}")
        if "background" in options:
            [command] = block.commands
            self.serve(block, command)
            return
        expected = {int(x) for x in options.get("exit", "0").split(",")}
        output = ""
        for k, command in enumerate(block.commands, start=1):
            output = self.command(block, command, expected if k == len(block.commands) else {0})
        if "expect" in options:
            wanted = options["expect"]
            assert wanted in output, f"{block.where()}: no {wanted!r} in\n{output}"

    def command(self, block: Block, command: str, expected: set[int]) -> str:
        actual = self.swap(command)
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "-c", actual],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        took = time.monotonic() - started  # reported, never judged
        self.outcome.ran.append(
            f"{block.where()}: {command}  [exit {result.returncode}, {took:.1f} s]"
        )
        assert result.returncode in expected, (
            f"{block.where()}: `{command}` exited {result.returncode}, the doc says "
            f"{sorted(expected)}\n(run as: {actual})\n--- stdout\n{result.stdout[-6000:]}\n"
            f"--- stderr\n{result.stderr[-6000:]}"
        )
        return result.stdout + result.stderr

    def serve(self, block: Block, command: str) -> None:
        # Its stderr goes to a file: a pipe nobody reads would stop a talkative server.
        log = self.folder / f".server-{len(self.servers) + 1}.log"
        with log.open("w", encoding="utf-8") as stderr:
            server = subprocess.Popen(
                shlex.split(command),
                cwd=self.folder,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                start_new_session=True,
            )
        self.servers.append(server)
        assert server.stdout is not None
        deadline = time.monotonic() + 120  # a bench starts in seconds; this bounds a hang
        ready, _, _ = select.select([server.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = server.stdout.readline() if ready else ""
        assert line, (
            f"{block.where()}: `{command}` printed nothing (exit {server.poll()}):\n"
            + log.read_text(encoding="utf-8")
        )
        bench = json.loads(line)
        pole = bench["poles"][0]
        host, _, port = pole["modbus_tcp"].rpartition(":")
        values = {**pole, "tcp_host": host, "tcp_port": port}
        self.swaps = [(a, b.format(**values)) for a, b in FIELD_ADDRESSES]
        for path, text in self.written.items():  # a file shown before the bench started
            path.write_text(self.swap(text), encoding="utf-8")
        self.outcome.ran.append(f"{block.where()}: {command}  [serving]")

    def close(self) -> None:
        for server in self.servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
            try:
                server.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.communicate()


def read(doc: Path, folder: Path) -> Outcome:
    """Run every block of `doc` in `folder`, in order; stop what it started in any case."""
    reader = Reader(folder)
    try:
        for block in console_blocks(doc):
            reader.run(block)
        return reader.outcome
    finally:
        reader.close()
