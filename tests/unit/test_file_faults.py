"""A user file that is not text, empty, or a directory: `validate` and the loaders say so in
one line with the file, the line of the first bad byte where there is one, and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ycsa_conform import cli
from ycsa_conform.resources import data_dir

FILES = {
    "profile": data_dir("profiles") / "smart-pole.yaml",
    "site": data_dir("fixtures") / "sites" / "kunming-main-road.yaml",
    "devicemap": data_dir("benches") / "devicemaps" / "lamp-controller.yaml",
    "evidence": data_dir("fixtures") / "evidence" / "example.yaml",
}


def _with_line_3(original: Path, tmp_path: Path, third: bytes) -> Path:
    lines = original.read_bytes().splitlines(keepends=True)
    path = tmp_path / original.name
    path.write_bytes(b"".join(lines[:2]) + third + b"".join(lines[2:]))
    return path


def _validate(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status = cli.main(["validate", str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return status, (captured.out + captured.err).splitlines()


@pytest.mark.parametrize("kind", FILES)
@pytest.mark.parametrize(
    ("third", "message"),
    [
        (b"title: caf\xe9\n", "$: byte 0xe9 is not UTF-8 text (a binary file, or saved in"),
        (b"\x89PNG\r\n\x1a\n", "$: byte 0x89 is not UTF-8 text"),
        (b"x: a\x00b\n", "$: holds a NUL byte (a binary file?); a user file must be plain"),
        (b"x: a\x07b\n", "$: character U+0007 is not allowed in YAML"),
    ],
    ids=["latin-1", "binary", "nul", "control"],
)
def test_bytes_that_are_not_text_are_refused_at_their_line(
    kind: str, third: bytes, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_line_3(FILES[kind], tmp_path, third)

    status, lines = _validate(path, capsys)

    assert status == cli.USAGE
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:3: {message}")


@pytest.mark.parametrize("kind", FILES)
def test_a_byte_order_mark_is_read_as_utf8(kind: str, tmp_path: Path) -> None:
    shutil.copytree(FILES[kind].parent, tmp_path / "copy")  # with the files it names
    path = tmp_path / "copy" / FILES[kind].name
    original = FILES[kind].read_bytes()
    if kind == "site":  # the fixture's device maps are elsewhere: a site without devices
        original = b"site: demo\nkind: field\ntargets:\n  - {id: P1, kind: pole}\n"
    path.write_bytes(b"\xef\xbb\xbf" + original)

    cli._LOADERS[kind](path)  # no InputError


@pytest.mark.parametrize("content", ["", "\n\n# nothing but a comment\n"], ids=["empty", "blank"])
def test_an_empty_file_is_refused(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(content, encoding="utf-8")

    assert _validate(path, capsys) == (
        cli.USAGE,
        [
            f"{path}: $: the file is empty; write a profile, site, device map, evidence file, "
            "bench definition or fault catalogue in it, or name another file"
        ],
    )


def test_a_directory_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "site.yaml"
    path.mkdir()

    assert _validate(path, capsys) == (
        cli.USAGE,
        [f"{path}: $: is a directory, not a file; name the file inside it"],
    )
