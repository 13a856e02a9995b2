"""Valid user files of every format, mutated as a careless or hostile hand would (a line
deleted, duplicated or replaced, a NaN, an infinity or a huge number for a value, random bytes,
a truncation): the loader accepts the file or raises InputError naming the file, never anything
else. Formats: profile, site, device map, evidence (YAML); instrument records, the lux grid and
a road surface's r-table (CSV); IES and EULUMDAT photometry; a recording's traffic.jsonl and
manifest.json (--replay).
Deterministic (derandomized, no example database) so that CI sees the same examples."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ycsa_conform.devicemap import load_devicemap
from ycsa_conform.engineering.luminance import read_r_table
from ycsa_conform.engineering.photometry import read_grid_csv, read_ies, read_ldt
from ycsa_conform.errors import InputError
from ycsa_conform.evidence import load_evidence
from ycsa_conform.instrument import InstrumentRecord, read_record
from ycsa_conform.profile.loader import load_profile
from ycsa_conform.resources import data_dir
from ycsa_conform.site import load_site
from ycsa_conform.transport.recording import Replay

RECORDING = Path(__file__).parent / "data" / "recording"  # a cut of a real --record folder


def _read_every_number(path: Path) -> InstrumentRecord:
    """Read a record the way its checks do: the layout first, then every number cell."""
    record = read_record(path)
    for row in record.rows:
        for column in record.columns:
            if column.unit is not None:
                record.quantity(row, column)
    return record


def _replayed(name: str) -> Callable[[Path], object]:
    """Load a recording folder whose file `name` is the mutated one, the other from RECORDING."""

    def load(path: Path) -> Replay:
        folder = path.parent / f"recording-{name}"
        shutil.copytree(RECORDING, folder, dirs_exist_ok=True)
        shutil.copyfile(path, folder / name)
        return Replay(folder)

    return load


# (loader, the valid file, relative to a copy of the repository's data folders)
FORMATS: dict[str, tuple[Callable[[Path], object], str]] = {
    "site": (load_site, "fixtures/sites/kunming-main-road.yaml"),
    "profile": (load_profile, "profiles/smart-pole.yaml"),
    "devicemap": (load_devicemap, "benches/devicemaps/lamp-controller.yaml"),
    "evidence": (load_evidence, "benches/evidence/smart-pole.evidence.yaml"),
    "record": (_read_every_number, "fixtures/records/kunming-main-road-P001-insulation.csv"),
    "analyser": (_read_every_number, "fixtures/records/kunming-main-road-power-quality.csv"),
    "grid": (read_grid_csv, "fixtures/records/kunming-main-road-lighting-grid.csv"),
    "ies": (read_ies, "fixtures/photometry/synthetic-led-road-120w.ies"),
    "ldt": (read_ldt, "fixtures/photometry/synthetic-led-road-120w.ldt"),
    "r-table": (partial(read_r_table, confidence="I", q0=0.07), "r-table.csv"),
    "traffic": (_replayed("traffic.jsonl"), "recording/traffic.jsonl"),
    "manifest": (_replayed("manifest.json"), "recording/manifest.json"),
}

# What a hand puts where a value was: non-finite, huge, zero, negative, wrong types, YAML tricks.
VALUES = [
    ".nan", "nan", ".inf", "-.inf", "1e400", "1.0e+400", "9" * 40, "0", "-1", "-1e308",
    "true", "null", "''", "[]", "{}", "2026-13-01", "0x", "~", "&a [*a]", "*nowhere",
    "!!binary zz", "!foo x", "'unterminated", "[1, 2", "{a: 1", "1 lx", "-5 kg", "0 m",
    "nan V", "1e999 W", "<<: 1", "|", ">", "%YAML 1.1", "---", "...",
]  # fmt: skip


@st.composite
def mutations(draw: st.DrawFn, text: str) -> bytes:
    lines = text.splitlines(keepends=True)
    i = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["delete", "duplicate", "replace", "value", "bytes", "truncate"]))
    if kind == "delete":
        lines[i : i + draw(st.integers(1, 3))] = []
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "replace":
        lines[i] = draw(st.sampled_from(VALUES) | st.text(max_size=20)) + "\n"
    elif kind == "value":
        key, colon, _ = lines[i].partition(":")
        if colon:
            lines[i] = f"{key}: {draw(st.sampled_from(VALUES))}\n"
    data = "".join(lines).encode("utf-8", "surrogateescape")
    if kind == "bytes":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    elif kind == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    return data


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folders the valid files live in, with the files they name."""
    root = tmp_path_factory.mktemp("data")
    for name in ("fixtures", "profiles", "benches"):
        shutil.copytree(data_dir(name), root / name)
    shutil.copytree(RECORDING, root / "recording")
    shutil.copyfile(RECORDING.parent / "r-table.csv", root / "r-table.csv")
    return root


def _check(load: Callable[[Path], object], path: Path, data: bytes) -> None:
    path.write_bytes(data)
    try:
        load(path)
    except InputError as exc:
        for problem in exc.problems:
            assert str(problem).startswith(str(problem.file)), problem
            assert Path(problem.file).exists() or problem.file == path, problem
            assert "\n" not in str(problem), problem


def _settings() -> settings:
    return settings(
        max_examples=100,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.mark.parametrize("kind", FORMATS)
def test_a_mutated_file_is_loaded_or_refused_with_its_place(kind: str, copies: Path) -> None:
    load, relative = FORMATS[kind]
    original = copies / relative
    text = original.read_bytes().decode("utf-8", "surrogateescape")  # IES/LDT are Latin-1
    mutated = original.with_name("mutated-" + original.name)

    @_settings()
    @given(data=mutations(text))
    def check(data: bytes) -> None:
        _check(load, mutated, data)

    check()


MALFORMED = Path(__file__).parent / "data" / "malformed"

# Malformed files found by hand and by the mutations above, each loaded as a site, with the
# start of the one problem it must give after "FILE:". Before the loaders bounded YAML and
# refused non-finite and impossible numbers, these hung, crashed or were accepted.
CORPUS = {
    "alias-bomb.yaml": "2: $.a4[0][2][0][6][7]: aliases expand to more than 10000 copied values",
    "self-alias.yaml": "4: $.targets[0]: an alias refers to a value that contains it",
    "deep-nesting.yaml": "2: $: nested deeper than 100 levels",
    "impossible-date.yaml": "4: $.issued: '2026-13-01' is not a real date",
    "unknown-tag.yaml": "2: $.kind: the tag !python/object is not one we read",
    "latin1.yaml": "3: $: byte 0xe9 is not UTF-8 text",
    "nul-byte.yaml": "2: $: holds a NUL byte",
    "control-char.yaml": "2: $: character U+0007 is not allowed in YAML",
    "empty.yaml": " $: the file is empty",
    "nan-parameter.site.yaml": "4: $.parameters.heartbeat_window: '.nan' is not a finite number",
    "huge-number.site.yaml": "7: $.targets[0].design.luminaires_per_pole: '1.0e+400' is not a "
    "finite number",
    "zero-pole-spacing.site.yaml": "7: $.targets[0].design.pole_spacing: 0 m is not a plausible",
    "negative-altitude.site.yaml": "7: $.targets[0].design.site_altitude: -600 m is not a "
    "plausible",
    "negative-mass.site.yaml": "7: $.targets[0].design.rated_equipment_mass: -150 kg is not a "
    "plausible",
    "cct-in-mired.site.yaml": "7: $.targets[0].design.luminaire_cct: 250 K is not a plausible",
    "huge-timeout.site.yaml": "7: $.targets[0].devices.lamp.timeout: timeout '1e300 s' is "
    "longer than a day",
}


# Malformed files of the other formats, with their loader (a recording and a device map with
# its schema are folders) and the start of their one problem after "FILE:". Before issue 16
# these crashed (a grid not in UTF-8, a damaged recording: INTERNALERROR), were accepted (an
# IES multiplier of 1e308 gave "ULR nan % meets", a negative earth resistance met <= 4 Ω) or
# failed the run later (a remote $ref, inside the validator library).
OTHER_CORPUS: dict[str, tuple[Callable[[Path], object], str, str]] = {
    "grid-huge-lux.csv": (
        read_grid_csv,
        "",
        "2: column 3 reading '1e308' lx is not a plausible road illuminance",
    ),
    "grid-latin1.csv": (read_grid_csv, "", "4: byte 0xe9 is not UTF-8 text"),
    "grid-positions-in-volts.csv": (
        read_grid_csv,
        "",
        "1: column 1 header 'y\\x (V)' gives the positions in 'V', which is not a length",
    ),
    "ies-huge-multiplier.ies": (read_ies, "", "11: the candela multiplier is '1e308'; it must"),
    "ies-zero-multiplier.ies": (read_ies, "", "11: the candela multiplier is '0'; it must be"),
    "ies-truncated.ies": (read_ies, "", "18: the file ends before candela value 9"),
    "ldt-binary.ldt": (read_ldt, "", "3: holds a NUL byte: not an EULUMDAT file"),
    "ldt-zero-conversion.ldt": (read_ldt, "", "24: the intensity conversion factor 0 must be"),
    "record-duplicate-column.csv": (
        _read_every_number,
        "",
        "3: column name 'resistance' appears twice",
    ),
    "record-huge-reading.csv": (
        _read_every_number,
        "",
        "5: column 'resistance' is '1e308', which no instrument reads",
    ),
    "record-negative-resistance.csv": (
        _read_every_number,
        "",
        "5: column 'resistance' is '-2.12', which no instrument reads (below zero)",
    ),
    "record-nul.csv": (_read_every_number, "", "5: holds a NUL byte"),
    "recording-manifest-list": (Replay, "manifest.json", "1: the manifest is a JSON object"),
    "recording-not-json": (Replay, "traffic.jsonl", "29: not a JSON line"),
    "recording-seq-text": (Replay, "traffic.jsonl", "1: 'seq' is 'one', not a whole number"),
    "recording-short-read": (Replay, "traffic.jsonl", "2: 1 registers answer a read of 2"),
    "devicemap-remote-ref": (
        lambda folder: load_devicemap(folder / "map.yaml"),
        "map.yaml",
        "6: $.topics.telemetry.schema: ",
    ),
}


def test_the_corpus_holds_every_malformed_file() -> None:
    assert sorted(p.name for p in MALFORMED.iterdir()) == sorted([*CORPUS, *OTHER_CORPUS])


@pytest.mark.parametrize("name", CORPUS)
def test_a_malformed_file_of_the_corpus_gives_its_one_line(name: str) -> None:
    path = MALFORMED / name

    with pytest.raises(InputError) as excinfo:
        load_site(path)

    assert str(excinfo.value.problems[0]).startswith(f"{path}:{CORPUS[name]}")


@pytest.mark.parametrize("name", OTHER_CORPUS)
def test_a_malformed_file_of_another_format_gives_its_one_line(name: str) -> None:
    load, inside, expected = OTHER_CORPUS[name]
    path = MALFORMED / name

    with pytest.raises(InputError) as excinfo:
        load(path)

    (problem,) = excinfo.value.problems
    assert str(problem).startswith(f"{path / inside if inside else path}:{expected}")
    assert "\n" not in str(problem)


def test_a_remote_schema_reference_is_refused_with_the_fix() -> None:
    with pytest.raises(InputError) as excinfo:
        load_devicemap(MALFORMED / "devicemap-remote-ref" / "map.yaml")

    assert str(excinfo.value).endswith(
        "$ref 'https://example.com/schemas/voltage.json' points outside the file; the run "
        "never fetches a schema (no network on site): copy the definition into the file's "
        "$defs and refer to it as '#/$defs/NAME'"
    )
