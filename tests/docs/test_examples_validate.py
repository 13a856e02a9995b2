"""Every example file the README and the docs point to validates as it ships (issue 17).

`ycsa-conform validate` tells a bench definition (`bench:`) and the fault catalogue (`faults:`)
by their schemas, and checks a bench's site template (`kind: bench`, with `{modbus_rtu}`-style
placeholders) with stand-ins for the placeholders, line for line.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
# A path to a YAML file or a folder of examples, written in backquotes or as a link.
_MENTION = re.compile(r"[`(]((?:benches|fixtures|profiles|ci-templates)/[\w./-]*)[`)]")


def _validate(*files: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ycsa_conform", "validate", *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _examples() -> set[Path]:
    return {
        *(ROOT / "benches").rglob("*.yaml"),
        *(ROOT / "fixtures").rglob("*.yaml"),
        *(ROOT / "profiles").glob("*.yaml"),
    }


def test_every_example_the_docs_name_is_validated() -> None:
    named: set[Path] = set()
    for doc in DOCS:
        for mention in _MENTION.findall(doc.read_text(encoding="utf-8")):
            path = ROOT / mention.rstrip("/.")
            if path.is_dir():
                named.update(path.rglob("*.yaml"))
            elif path.suffix == ".yaml" and path.is_file():
                named.add(path)
    assert ROOT / "benches" / "smart-pole.yaml" in named  # the README's "complete examples"
    missing = sorted(str(p.relative_to(ROOT)) for p in named if p not in _examples())
    # CI templates are not ycsa-conform documents; tests/docs/test_ci_templates.py runs them.
    assert [m for m in missing if not m.startswith("ci-templates/")] == []


def test_every_example_file_validates() -> None:
    files = sorted(_examples())

    result = _validate(*files)

    assert result.returncode == 0, result.stdout + result.stderr
    ok = {line.split(": ok")[0] for line in result.stdout.splitlines() if ": ok" in line}
    assert ok == {str(f) for f in files}, result.stdout + result.stderr
    for name in ("smart-pole.yaml", "smart-pole.site.yaml", "faults.yaml"):
        assert str(ROOT / "benches" / name) in ok


def _bench_copy(tmp_path: Path) -> Path:
    benches = tmp_path / "benches"
    shutil.copytree(ROOT / "benches", benches)
    return benches


def _line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def test_a_broken_site_template_is_refused_at_its_line(tmp_path: Path) -> None:
    # The stand-ins fill the placeholders where they stand, so a mistake beside one keeps its
    # line number: here the lamp's unit id 0, which Modbus does not allow.
    template = _bench_copy(tmp_path) / "smart-pole.site.yaml"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("stopbits=1&unit=1", "stopbits=1&unit=0"), encoding="utf-8")

    result = _validate(template, cwd=tmp_path)

    assert result.returncode == 4
    line = _line_of(template, "unit=0")
    assert f"smart-pole.site.yaml:{line}: $.targets[0].devices.lamp.uri" in result.stderr


def test_a_field_site_with_a_placeholder_is_refused(tmp_path: Path) -> None:
    # Only a bench template (kind: bench) is filled in: braces in a field site are a mistake.
    template = _bench_copy(tmp_path) / "smart-pole.site.yaml"
    text = template.read_text(encoding="utf-8")
    template.write_text(text.replace("kind: bench", "kind: field", 1), encoding="utf-8")

    result = _validate(template, cwd=tmp_path)

    assert result.returncode == 4
    assert "{modbus_rtu}" in result.stderr


def test_a_broken_bench_definition_and_fault_catalogue_are_refused(tmp_path: Path) -> None:
    benches = _bench_copy(tmp_path)
    definition = benches / "smart-pole.yaml"
    text = definition.read_text(encoding="utf-8")
    definition.write_text(text.replace("model: tilt-sensor", "model: tilt-sensr"), "utf-8")
    faults = benches / "faults.yaml"
    text = faults.read_text(encoding="utf-8")
    faults.write_text(text.replace("verdict: fail", "verdict: broken", 1), "utf-8")

    result = _validate(definition, faults, cwd=tmp_path)

    assert result.returncode == 4
    assert f"smart-pole.yaml:{_line_of(definition, 'tilt-sensr')}: $.devices[3].model" in (
        result.stderr
    )
    assert f"faults.yaml:{_line_of(faults, 'verdict: broken')}: $.faults." in result.stderr


def test_every_example_names_its_schema_for_editors() -> None:
    # The first line tells an editor (yaml-language-server) which schema completes and checks
    # the file; the path must lead to the schema of the file's kind.
    for path in sorted(_examples()):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
        assert match, f"{path.relative_to(ROOT)}: no schema line first"
        schema = (path.parent / match[1]).resolve()
        assert schema.is_file(), f"{path.relative_to(ROOT)}: {match[1]} is no file"
        assert schema.parent == ROOT / "ycsa_conform" / "schemas"
        assert schema.name.removesuffix(".schema.json") == _kind(path), path


def _kind(path: Path) -> str:
    """The kind of an example file, from where it lies."""
    parts = path.relative_to(ROOT).parts
    if "devicemaps" in parts:
        return "devicemap"
    if "evidence" in parts:
        return "evidence"
    if parts[0] == "profiles":
        return "profile"
    if path.name == "faults.yaml":
        return "faults"
    if path.name.endswith(".site.yaml") or "sites" in parts:
        return "site"
    return "bench"
