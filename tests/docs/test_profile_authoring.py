"""docs/profile-authoring.md names every check kind with every option, and every formula.

The tables are generated from the profile schema (ycsa_conform/schemas/profile.schema.json) and
the registries (`checks.KINDS`, `checks.compute.FORMULAS`); `python
tests/docs/test_profile_authoring.py` rewrites them. The worked example of the guide is run by
tests/docs/test_doc_commands.py like every other command.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ycsa_conform.checks import KINDS
from ycsa_conform.checks.compute import FORMULAS

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "profile-authoring.md"
SCHEMA = ROOT / "ycsa_conform" / "schemas" / "profile.schema.json"
SECTIONS = ("check kinds", "formulas")


# Options the schema states by type alone.
_PLAIN = {
    "device": "the device role of the target the check uses, like 'lamp' (`ycsa-conform points`)",
    "point": "the logical point judged, like 'power_factor' (`ycsa-conform points`)",
    "points": "several points judged alike, like [tilt_x, tilt_y]",
    "formula": "the formula, one of the table below",
}


def _meaning(name: str, prop: dict[str, Any], schema: dict[str, Any]) -> str:
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    text = prop.get("description") or prop.get("x-hint") or ""
    if not text and "$ref" in prop:
        target = schema["$defs"][prop["$ref"].rsplit("/", 1)[-1]]
        text = target.get("description") or target.get("x-hint") or ""
    text = text or _PLAIN.get(name, "")
    assert text, f"option {name!r} has no meaning: give it an x-hint in the schema"
    return str(text).replace("|", "\\|").replace("\n", " ")


def kinds_table() -> str:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    parts = []
    for kind in KINDS:
        definition = schema["$defs"][f"{kind}_check"]
        required = set(definition.get("required", []))
        rows = [f"**`{kind}`**", "", "| option | required | meaning |", "|---|---|---|"]
        for name, prop in definition.get("properties", {}).items():
            if name == "kind":
                continue
            must = "yes" if name in required else ""
            rows.append(f"| `{name}` | {must} | {_meaning(name, prop, schema)} |")
        parts.append("\n".join(rows))
    return "\n\n".join(parts)


def formulas_table() -> str:
    rows = ["| formula | unit of its limit | what it computes |", "|---|---|---|"]
    for formula in FORMULAS.values():
        unit = formula.unit or "ratio (dimensionless)"
        description = formula.description.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{formula.name}` | {unit} | {description} |")
    return "\n".join(rows)


GENERATORS = {"check kinds": kinds_table, "formulas": formulas_table}


def _markers(section: str) -> tuple[str, str]:
    return f"<!-- generated: {section} -->", f"<!-- end: {section} -->"


def _section(text: str, section: str) -> str:
    start, end = _markers(section)
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def test_the_guide_names_every_check_kind_and_option() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert _section(text, "check kinds") == kinds_table(), "rewrite: see this module's docstring"
    for kind in KINDS:
        assert f"**`{kind}`**" in text


def test_the_guide_names_every_formula() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert _section(text, "formulas") == formulas_table(), "rewrite: see this module's docstring"


if __name__ == "__main__":
    text = GUIDE.read_text(encoding="utf-8")
    for section in SECTIONS:
        start, end = _markers(section)
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = f"{before}{start}\n{GENERATORS[section]()}\n{end}{after}"
    GUIDE.write_text(text, encoding="utf-8")
    print(f"rewrote {GUIDE}", file=sys.stderr)
