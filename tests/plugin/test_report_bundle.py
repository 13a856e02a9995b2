"""`ycsa-conform report bundle` zips a real run's reports and inputs with their SHA-256;
`report verify` names every file altered, added or missing since."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ycsa_conform.cli import main
from ycsa_conform.report.folder import run_folder


@pytest.fixture
def run_dir(pytester: pytest.Pytester) -> Path:
    """The report folder of a recorded bench run (evidence and records come with the bench)."""
    pytester.runpytest("--profile", "smart-pole", "-k", "SP-PWR-00 or SP-GEN", "--record", "rec")
    return pytester.path / "ycsa-report"


def _bundle(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    out = run_dir.parent / "handover.zip"
    assert main(["report", "bundle", str(run_dir), "--out", str(out)]) == 0
    return out, capsys.readouterr().out


def _manifest(bundle: Path) -> dict[str, Any]:
    with zipfile.ZipFile(bundle) as archive:
        manifest: dict[str, Any] = json.loads(archive.read("MANIFEST.json"))
        return manifest


def _rewrite(
    bundle: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None
) -> None:
    """Write `bundle` again with some members changed (None: left out) or added."""
    with zipfile.ZipFile(bundle) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for name, data in change.items():
        if data is None:
            del members[name]
        else:
            members[name] = data
    members.update(add or {})
    with zipfile.ZipFile(bundle, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _verify(bundle: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["report", "verify", str(bundle)])
    return code, capsys.readouterr().out.splitlines()


def test_a_bundle_holds_the_run_and_everything_its_verdicts_read(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, said = _bundle(run_dir, capsys)
    manifest = _manifest(bundle)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        for entry in manifest["files"]:
            assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]
    assert {"report/report.json", "report/report.html", "report/journal.jsonl"} <= names
    assert "profiles/smart-pole.yaml" in names
    assert "site/smart-pole.site.yaml" in names
    assert {"recording/traffic.jsonl", "recording/manifest.json"} <= names
    roles = {entry["role"] for entry in manifest["files"]}
    assert roles >= {"report", "journal", "site", "profile", "device-map", "recording"}
    assert roles >= {"evidence", "evidence-file", "record"}
    assert names == {"MANIFEST.json", *(entry["path"] for entry in manifest["files"])}
    report = json.loads((run_dir / "report.json").read_text("utf-8"))
    assert manifest["profiles"] == [
        {
            "id": "smart-pole",
            "version": report["profiles"][0]["version"],
            "sha256": report["profiles"][0]["sha256"],
            "file": "profiles/smart-pole.yaml",
            "matches_run": True,
        }
    ]
    assert all(m["matches_run"] for m in manifest["device_maps"])
    assert manifest["tool"]["name"] == "ycsa-conform"
    assert manifest["created"]
    assert manifest["missing"] == []
    with zipfile.ZipFile(bundle) as archive:
        digest = hashlib.sha256(archive.read("MANIFEST.json")).hexdigest()
    assert f"MANIFEST.json sha256 {digest}" in said


def test_a_clean_bundle_verifies(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle, _ = _bundle(run_dir, capsys)
    code, lines = _verify(bundle, capsys)
    assert code == 0
    assert lines == [f"{bundle}: every file matches MANIFEST.json"]


def test_one_byte_changed_is_named(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle, _ = _bundle(run_dir, capsys)
    with zipfile.ZipFile(bundle) as archive:
        data = bytearray(archive.read("report/report.json"))
    data[data.index(b'"pass"') + 1] ^= 0x01  # "pass" -> "qass"
    _rewrite(bundle, {"report/report.json": bytes(data)})
    code, lines = _verify(bundle, capsys)
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith(f"{bundle}: report/report.json: altered (sha256 ")


def test_an_added_and_a_removed_file_are_named(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, _ = _bundle(run_dir, capsys)
    _rewrite(bundle, {"site/smart-pole.site.yaml": None}, add={"evidence/late-photo.jpg": b"x"})
    code, lines = _verify(bundle, capsys)
    assert code == 1
    assert lines == [
        f"{bundle}: evidence/late-photo.jpg: added (not in MANIFEST.json)",
        f"{bundle}: site/smart-pole.site.yaml: missing (listed in MANIFEST.json)",
    ]


def test_a_byte_flipped_inside_the_zip_is_named(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, _ = _bundle(run_dir, capsys)
    with zipfile.ZipFile(bundle) as archive:
        info = archive.getinfo("report/journal.jsonl")
    data = bytearray(bundle.read_bytes())
    # The member's data starts after its local header (30 bytes, its name, its extra field).
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    code, lines = _verify(bundle, capsys)
    assert code == 1
    assert [line.split(": ")[1] for line in lines] == ["report/journal.jsonl"]


def test_paths_the_report_lacks_are_named_in_the_manifest(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A report written before report.json named its site file, and a recording since deleted.
    path = run_folder(run_dir) / "report.json"  # the latest run's, which the bundle takes
    report = json.loads(path.read_text("utf-8"))
    del report["site"]["path"]
    report["traffic"]["recorded"] = str(run_dir.parent / "gone")
    path.write_text(json.dumps(report), encoding="utf-8")
    bundle, _ = _bundle(run_dir, capsys)
    assert _manifest(bundle)["missing"] == [
        {"role": "site", "source": "", "reason": "the report gives no path"},
        {
            "role": "recording",
            "source": str(run_dir.parent / "gone"),
            "reason": "no such directory",
        },
    ]
    assert _verify(bundle, capsys)[0] == 0


def test_not_a_report_folder_or_not_a_bundle_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "bundle", str(tmp_path)]) == 4
    assert "no report.json here" in capsys.readouterr().err
    plain = tmp_path / "plain.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("report.json", "{}")
    assert main(["report", "verify", str(plain)]) == 4
    assert "MANIFEST.json is missing" in capsys.readouterr().err
