"""The evidence bundle: one zip with a run's reports and every file its verdicts read, and a
MANIFEST.json that holds the SHA-256 of each, so that a handover can be checked later.

`bundle` reads the run's report.json for the paths: the site file (`site.path`), the profiles
(`profiles[].path`), the device maps (`devices[].map.path`), the recording
(`traffic.recorded`) and the other inputs (`inputs[]`: evidence files, the files evidence
cites, instrument records). A path the report does not give, or a file that is gone, is named
under `missing` in the manifest; the bundle is still written. A profile or map that changed
since the run is bundled as it is now, with `matches_run: false`.

`verify` says what differs between a bundle and its manifest: a file altered, added or missing.
The manifest itself is only as trustworthy as the place its hash is written down:
`bundle` returns that hash (`ycsa-conform report bundle` prints it) for the handover documents.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ycsa_conform import __version__
from ycsa_conform.errors import InputError, YcsaError

from .folder import run_folder
from .journal import JOURNAL_NAME

__all__ = ["BUNDLE_FORMAT", "MANIFEST", "BundleError", "Bundled", "bundle", "verify"]

BUNDLE_FORMAT = "ycsa-conform/bundle/v1"
MANIFEST = "MANIFEST.json"


class BundleError(YcsaError, ValueError):
    """A report folder that cannot be bundled, or a file that is not a bundle."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundled:
    """What `bundle` wrote."""

    path: Path
    manifest_sha256: str
    files: int
    missing: tuple[dict[str, str], ...] = ()


@dataclass(slots=True)
class _Plan:
    """The files to put in the zip, by name in the zip, and what could not be found."""

    files: dict[str, tuple[Path, dict[str, Any]]] = field(default_factory=dict)
    by_source: dict[Path, str] = field(default_factory=dict)
    missing: list[dict[str, str]] = field(default_factory=list)

    def add(self, role: str, source: str | Path | None, folder: str, **about: Any) -> str | None:
        """Plan `source` under `folder/`; its name in the zip, or None (noted as missing)."""
        if not source:
            self.missing.append({"role": role, "source": "", "reason": "the report gives no path"})
            return None
        path = Path(source)
        if not path.is_file():
            self.missing.append({"role": role, "source": str(path), "reason": "no such file"})
            return None
        resolved = path.resolve()
        if resolved in self.by_source:
            return self.by_source[resolved]
        name = f"{folder}/{path.name}"
        n = 1
        while name in self.files:  # two maps called device.yaml in different folders
            n += 1
            name = f"{folder}/{n}/{path.name}"
        self.files[name] = (resolved, {"role": role, "source": str(resolved), **about})
        self.by_source[resolved] = name
        return name


def bundle(report_dir: Path, out: Path, *, now: datetime.datetime | None = None) -> Bundled:
    """Write the evidence bundle of the run whose reports are in `report_dir` to `out`: a
    run's folder, or a --report-dir (its latest run)."""
    # An older report folder has its files at the top (said below when it has none).
    with contextlib.suppress(InputError):
        report_dir = run_folder(report_dir)
    report_path = report_dir / "report.json"
    try:
        report: dict[str, Any] = json.loads(report_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(
            f"{report_path}: no report.json here; give the --report-dir of a finished run "
            "(default ycsa-report/)"
        ) from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"{report_path}: cannot be read as JSON: {exc}") from None
    plan = _Plan()
    plan.add("report", report_path, "report")
    plan.add("report", report_dir / "report.html", "report")
    plan.add("journal", report_dir / JOURNAL_NAME, "report")
    plan.add("site", (report.get("site") or {}).get("path"), "site")
    profiles = []
    for profile in report.get("profiles", []):
        name = plan.add("profile", profile.get("path"), "profiles", id=profile.get("id"))
        profiles.append(_against_run(name, profile))
    maps = []
    for device in report.get("devices", []):
        info = device.get("map") or {}
        name = plan.add("device-map", info.get("path"), "maps", id=info.get("id"))
        maps.append(
            _against_run(name, info) | {"target": device.get("target"), "role": device.get("role")}
        )
    recorded = (report.get("traffic") or {}).get("recorded")
    if recorded:
        directory = Path(recorded)
        found = sorted(p for p in directory.glob("*") if p.is_file()) if directory.is_dir() else []
        if not found:
            plan.missing.append(
                {"role": "recording", "source": str(directory), "reason": "no such directory"}
            )
        for path in found:
            plan.add("recording", path, "recording")
    for given in report.get("inputs", []):
        folder = "records" if given.get("kind") == "record" else "evidence"
        if given.get("target"):
            folder += f"/{given['target']}"
        plan.add(str(given.get("kind", "input")), given.get("path"), folder)

    hashed = {
        name: (source, about | _digest(source)) for name, (source, about) in plan.files.items()
    }
    for entry in (*profiles, *maps):
        if entry.get("file") in hashed:
            entry["matches_run"] = hashed[entry["file"]][1]["sha256"] == entry.get("sha256")
    created = (now or datetime.datetime.now(datetime.UTC)).isoformat(timespec="seconds")
    manifest = {
        "format": BUNDLE_FORMAT,
        "created": created,
        "tool": {"name": "ycsa-conform", "version": __version__},
        "run": {
            "tool": report.get("tool"),
            "site": {k: v for k, v in (report.get("site") or {}).items() if k != "path"},
            "started": report.get("started"),
            "finished": report.get("finished"),
            "conclusion": report.get("conclusion"),
        },
        "profiles": profiles,
        "device_maps": maps,
        "files": [{"path": name, **about} for name, (_, about) in sorted(hashed.items())],
        "missing": plan.missing,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, text)
        for name, (source, _) in sorted(hashed.items()):
            archive.write(source, name)
    partial.replace(out)
    return Bundled(
        path=out,
        manifest_sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        files=len(hashed),
        missing=tuple(plan.missing),
    )


def verify(path: Path) -> list[str]:
    """The problems of the bundle at `path`, one line each naming the file; empty if it holds
    exactly the files its manifest lists, each with the listed SHA-256."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{path}: not a readable zip file ({exc})") from None
    with archive:
        try:
            manifest = json.loads(archive.read(MANIFEST).decode("utf-8"))
            listed = {str(f["path"]): f for f in manifest["files"]}
        except KeyError:
            raise BundleError(
                f"{path}: {MANIFEST} is missing or lists no files; this is not a bundle "
                "written by `ycsa-conform report bundle`"
            ) from None
        except ValueError as exc:
            raise BundleError(f"{path}: {MANIFEST} cannot be read as JSON: {exc}") from None
        problems = []
        present = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        for name in sorted(set(present) - set(listed) - {MANIFEST}):
            problems.append(f"{name}: added (not in {MANIFEST})")
        for name, entry in sorted(listed.items()):
            if name not in present:
                problems.append(f"{name}: missing (listed in {MANIFEST})")
                continue
            digest = hashlib.sha256()
            try:
                for chunk in _chunks(archive, name):
                    digest.update(chunk)
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                # a bad CRC or damaged compressed data: altered inside the zip
                problems.append(f"{name}: altered (cannot be read: {exc})")
                continue
            if digest.hexdigest() != entry.get("sha256"):
                problems.append(
                    f"{name}: altered (sha256 {digest.hexdigest()}, "
                    f"{MANIFEST} says {entry.get('sha256')})"
                )
        return problems


def _against_run(name: str | None, info: Mapping[str, Any]) -> dict[str, Any]:
    """A profile's or map's identity as the run saw it, and its file in the bundle."""
    entry = {k: info.get(k) for k in ("id", "version", "sha256")}
    return entry | {"file": name}


def _digest(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def _chunks(archive: zipfile.ZipFile, name: str) -> Iterator[bytes]:
    with archive.open(name) as f:
        yield from iter(lambda: f.read(1 << 20), b"")
