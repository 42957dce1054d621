"""The corpus of before/after definition pairs: each case expects an exact set of rule IDs.

``tests/review/breaking/<case>/`` holds ``old.yaml`` and ``new.yaml`` (or ``old/`` and ``new/``
folders, for cases across files) and ``expected.txt``, the rule IDs the comparison must report,
one a line. Cases named ``ok_*`` are changes that must not break anything: no error at all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leveret_codegen._review.breaking import compare_sides
from leveret_codegen._review.findings import Finding, Level
from leveret_codegen._review.rules_breaking import BREAKING_RULES
from leveret_codegen._review.sources import FileReader, load_side

CORPUS = Path(__file__).parent / "breaking"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def _compare(case: Path, monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    monkeypatch.chdir(case)
    old = load_side(FileReader(), ["old" if (case / "old").is_dir() else "old.yaml"])
    new = load_side(FileReader(), ["new" if (case / "new").is_dir() else "new.yaml"])
    assert old.diagnostics == [] and new.diagnostics == []
    return compare_sides(old, new)


@pytest.mark.parametrize("name", CASES)
def test_case_reports_exactly_the_expected_rules(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CORPUS / name
    findings = _compare(case, monkeypatch)
    expected = sorted((case / "expected.txt").read_text().split())
    assert sorted({f.rule for f in findings}) == expected
    if name.startswith("ok_"):
        assert [f for f in findings if f.severity is Level.ERROR] == []


def test_the_corpus_covers_every_rule() -> None:
    covered: set[str] = set()
    for name in CASES:
        covered |= set((CORPUS / name / "expected.txt").read_text().split())
    assert covered == set(BREAKING_RULES.rules)


def test_the_corpus_has_the_required_non_breaking_pairs() -> None:
    required = {
        "ok_request_optional_property_added",
        "ok_method_added",
        "ok_request_loosened",
        "ok_response_tightened",
        "ok_shared_type_renamed",
        "ok_type_renamed",
        "ok_reordered",
    }
    assert required <= set(CASES)


def test_comparing_a_version_with_itself_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    side = load_side(FileReader(), ["schemas"])
    again = load_side(FileReader(), ["schemas"])
    assert [e.key for e in side.entries] == [
        "calculator.yaml",
        "common.yaml",
        "inventory.yaml",
        "library.yaml",
    ]
    assert compare_sides(side, again) == []


def test_messages_carry_old_and_new_values(monkeypatch: pytest.MonkeyPatch) -> None:
    findings = _compare(CORPUS / "request_maximum_lowered", monkeypatch)
    assert [(f.file, f.line, f.col, f.message) for f in findings] == [
        ("new.yaml", 60, 11, "get_item.request.limit: maximum 100 -> maximum 50 [request]")
    ]


def test_removals_are_reported_where_the_parent_still_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    findings = _compare(CORPUS / "method_removed", monkeypatch)
    assert [(f.file, f.line, f.col, f.message) for f in findings] == [
        ("new.yaml", 45, 1, "method 'list_items' removed")
    ]
    findings = _compare(CORPUS / "service_removed", monkeypatch)
    assert [(f.file, f.line, f.col) for f in findings] == [("old/b.yaml", 3, 1)]


def test_a_recursive_type_is_compared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    findings = _compare(CORPUS / "ok_recursive_type", monkeypatch)
    assert [f.message for f in findings] == ["Node: property 'size' added [response]"]
