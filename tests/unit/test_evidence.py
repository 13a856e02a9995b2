"""The evidence file: what loads, which entry a target gets, one pinned line per mistake."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from ycsa_conform.errors import InputError
from ycsa_conform.evidence import EvidenceFile, EvidenceVerdict, load_evidence

ROOT = Path(__file__).resolve().parents[2]
GOOD = """\
site: kunming-main-road
evidence:
  - item: ip_rating_certificate
    verdict: pass
    value: IP66
    by: Li Wei
    date: 2026-11-20
    files: [cert.pdf]
  - item: ip_rating_certificate
    target: P002
    verdict: fail
    value: IP54
    by: Zhang Min
    date: "2026-11-21"
    files: [cert.pdf, photos/P002.jpg]
    note: gasket missing
"""


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "cert.pdf").write_bytes(b"%PDF")
    (tmp_path / "photos").mkdir(exist_ok=True)
    (tmp_path / "photos" / "P002.jpg").write_bytes(b"\xff\xd8")
    path = tmp_path / "evidence.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_evidence(path)
    lines = [str(p) for p in caught.value.problems]
    assert all(line.startswith(f"{path}:") for line in lines), lines
    return [line.removeprefix(f"{path}:") for line in lines]


def test_target_entry_wins_over_site_wide(tmp_path: Path) -> None:
    evidence = load_evidence(write(tmp_path, GOOD))

    own = evidence.find("ip_rating_certificate", "P002")
    shared = evidence.find("ip_rating_certificate", "P001")

    assert own is not None
    assert shared is not None
    assert (own.target, own.verdict, own.value, own.note) == (
        "P002",
        EvidenceVerdict.FAIL,
        "IP54",
        "gasket missing",
    )
    assert own.date == datetime.date(2026, 11, 21)  # quoted dates are read too
    assert own.files == (tmp_path / "cert.pdf", tmp_path / "photos" / "P002.jpg")
    assert own.cited == ("cert.pdf", "photos/P002.jpg")
    assert own.origin == f"{tmp_path / 'evidence.yaml'}:9: $.evidence[1]"
    assert (shared.target, shared.verdict, shared.by) == (None, EvidenceVerdict.PASS, "Li Wei")
    assert evidence.find("luminaire_nameplate", "P001") is None


def test_example_fixture_loads() -> None:
    evidence = load_evidence(ROOT / "fixtures" / "evidence" / "example.yaml")

    assert isinstance(evidence, EvidenceFile)
    assert evidence.find("luminaire_nameplate", "P001") is not None
    assert evidence.find("luminaire_nameplate", "P002") is None
    assert evidence.mismatches("bench-smart-pole", ["P001"]) == []


def test_missing_file_is_pinned_to_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("photos/P002.jpg", "photos/P003.jpg")

    assert problems(tmp_path, text) == [
        f"15: $.evidence[1].files[1]: 'photos/P003.jpg' not found (looked at "
        f"{tmp_path / 'photos' / 'P003.jpg'}); give the path relative to this evidence file"
    ]


def test_schema_problems_each_on_their_line(tmp_path: Path) -> None:
    text = GOOD.replace("verdict: fail", "verdict: failed").replace("    by: Zhang Min\n", "")

    assert problems(tmp_path, text) == [
        "9: $.evidence[1]: 'by' is required here; add it",
        "11: $.evidence[1].verdict: \"failed\" is not allowed (did you mean 'fail'?); "
        'use one of: "pass", "fail"',
    ]


def test_date_that_is_not_iso(tmp_path: Path) -> None:
    text = GOOD.replace("date: 2026-11-20", "date: 20.11.2026")

    assert problems(tmp_path, text) == [
        "7: $.evidence[0].date: '20.11.2026' is not a date; write it as YYYY-MM-DD, "
        "like 2026-11-20",
    ]


def test_duplicate_entry_for_the_same_target(tmp_path: Path) -> None:
    text = GOOD + (
        "  - {item: ip_rating_certificate, target: P002, verdict: pass, by: X, "
        "date: 2026-11-22, files: [cert.pdf]}\n"
    )

    assert problems(tmp_path, text) == [
        "17: $.evidence[2].item: evidence 'ip_rating_certificate' for target P002 is already "
        "given at evidence[1]; keep one entry per item and target"
    ]


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    text = GOOD.replace("    note: gasket", "    notes: gasket")

    assert problems(tmp_path, text) == [
        "16: $.evidence[1].notes: unknown key 'notes'; did you mean 'note'? allowed keys here: "
        "by, date, files, item, note, target, value, verdict"
    ]


def test_mismatches_with_the_site_of_the_run(tmp_path: Path) -> None:
    evidence = load_evidence(write(tmp_path, GOOD))
    path = tmp_path / "evidence.yaml"

    assert [str(p) for p in evidence.mismatches("bench-smart-pole", ["P001"])] == [
        f"{path}:1: $.site: the evidence is for site 'kunming-main-road', this run checks "
        "'bench-smart-pole'; give the evidence file of this site",
        f"{path}:10: $.evidence[1].target: target 'P002' is not in the site; use one of: P001, "
        "or leave 'target' out for every target",
    ]
    assert evidence.mismatches("kunming-main-road", ["P001", "P002"]) == []
