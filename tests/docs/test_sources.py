"""docs/sources.md holds every source the built-in profiles cite (issue 17, item 5).

A user who clones the repository finds, for each source a profile names, its title, the
clauses and confidence tags it is cited with, the requirements and parameters that cite it,
and where the repository transcribes its values. `python tests/docs/test_sources.py` rewrites
the generated table from the profiles.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "docs" / "sources.md"
PROFILES = [ROOT / "profiles" / "smart-pole.yaml", ROOT / "profiles" / "smart-community.yaml"]
START, END = "<!-- generated: profile sources -->", "<!-- end: profile sources -->"
_TRANSCRIPTION = "## The transcription"


def _base(source_id: str) -> str:
    """The name a transcription uses for a source: 'GB 50009-2012' is 'GB 50009'."""
    name = re.sub(r"(?<=\d)-(19|20)\d\d$", "", source_id)
    return re.sub(r":(19|20)\d\d$", "", name)


def _names(source_id: str) -> list[str]:
    """The names a transcription may use: 'OASIS MQTT 3.1.1' is also 'OASIS MQTT', and
    'GB 50150' is also '50150' in 'GB 50303/50150'."""
    base = _base(source_id)
    names = [base, re.sub(r" v?\d+(\.\d+)+$", "", base)]
    number = re.fullmatch(r"GB(?:/T)? (\d{5})", base)
    if number:
        names.append(f"/{number.group(1)}")
    return names


def _values_in(source_id: str, transcription: str) -> str:
    if source_id == "practice":
        return "the reference's note (no normative source)"
    names = _names(source_id)
    places = []
    section = None
    for line in transcription.splitlines():
        heading = re.match(r"#{2,3} (\d+(?:\.\d+)?)\.? ", line)
        if heading:
            section = heading.group(1)
        found = any(name in line for name in names)
        if found and section is not None and f"§{section}" not in places:
            places.append(f"§{section}")
    for page in sorted((ROOT / "docs" / "engineering").glob("*.md")):
        if names[0] in page.read_text(encoding="utf-8"):
            places.append(f"[engineering/{page.name}](engineering/{page.name})")
    return ", ".join(places) or "not transcribed: cited as tagged (see the reference's note)"


def table() -> str:
    """The generated section of docs/sources.md, from the profiles."""
    transcription = SOURCES.read_text(encoding="utf-8").split(_TRANSCRIPTION, 1)[1]
    titles: dict[str, dict[str, str]] = {}
    cited: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in PROFILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for source in data.get("sources", []):
            titles.setdefault(source["id"], source["title"])
        for requirement in data["requirements"]:
            for ref in requirement.get("refs", []):
                key = (ref.get("clause") or "—", ref["confidence"])
                if requirement["id"] not in cited[ref["source"]][key]:
                    cited[ref["source"]][key].append(requirement["id"])
        for name, parameter in data.get("parameters", {}).items():
            if parameter.get("source"):
                key = ("—", parameter.get("confidence", "?"))
                cited[parameter["source"]][key].append(f"${name}")
    rows = ["| source | title | cited as (clause, tag): by | values in |", "|---|---|---|---|"]
    for source_id in titles:
        title = titles[source_id]
        uses = "; ".join(
            f"{clause}, {tag}: {', '.join(users)}"
            for (clause, tag), users in sorted(cited.get(source_id, {}).items())
        )
        values = _values_in(source_id, transcription)
        text = f"{title['en']} / {title.get('zh', '')}".replace("|", "\\|")
        rows.append(f"| {source_id} | {text} | {uses or 'named, not cited'} | {values} |")
    return "\n".join(rows)


def _generated(text: str) -> str:
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def test_the_sources_table_is_the_profiles() -> None:
    text = SOURCES.read_text(encoding="utf-8")
    assert _generated(text) == table(), "run `python tests/docs/test_sources.py` to rewrite it"


def test_every_source_a_profile_cites_is_named_in_the_repository() -> None:
    text = SOURCES.read_text(encoding="utf-8")
    names = {row.split(" | ")[0].lstrip("| ") for row in _generated(text).splitlines()[2:]}
    for path in PROFILES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        refs = [ref for r in data["requirements"] for ref in r.get("refs", [])]
        cited = {ref["source"] for ref in refs}
        cited |= {p["source"] for p in data.get("parameters", {}).values() if p.get("source")}
        assert cited <= names, f"{path.name} cites sources docs/sources.md does not name"
        # Each reference's tag is one of the tags this file defines.
        assert {ref["confidence"] for ref in refs} <= set("RSMUI")


def test_nothing_cites_a_reference_file_outside_the_repository() -> None:
    # The transcription and the dependency notes used to live outside the repository
    # (../shared/reference/); everything now cites docs/sources.md and docs/dependencies.md.
    offenders = []
    for folder in ("profiles", "ycsa_conform", "docs", "benches", "tests"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".md", ".yaml", ".json"} or path == Path(__file__):
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if re.search(r"(?<![\w/])reference/(standards|dependencies)\.md", text):
                offenders.append(str(path.relative_to(ROOT)))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "reference/standards.md" not in readme.replace("docs/sources.md", "")
    assert offenders == []
    assert (ROOT / "docs" / "dependencies.md").is_file()


if __name__ == "__main__":
    current = SOURCES.read_text(encoding="utf-8")
    before, rest = current.split(START, 1)
    after = rest.split(END, 1)[1]
    SOURCES.write_text(f"{before}{START}\n{table()}\n{END}{after}", encoding="utf-8")
    print(f"rewrote {SOURCES}", file=sys.stderr)
