"""Broken definitions and the exact diagnostics they must produce.

Each case is ``cases/<name>.yaml`` (or ``.json``, or a folder ``cases/<name>/``) with the
expected text in ``cases/<name>.expected``: the rendered diagnostics, one after the other. The
test runs from ``cases/`` so paths in the text are short and machine-independent.

To rewrite the expected files after an intended change, run
``LEVERET_UPDATE_EXPECTED=1 pytest tests/invalid`` and review the diff.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from leveret_codegen._codes import CODES
from leveret_codegen._diagnostics import has_errors
from leveret_codegen._frontend import load_services

CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("LEVERET_UPDATE_EXPECTED") == "1"


def _cases() -> list[str]:
    return sorted(
        p.name
        for p in CASES.iterdir()
        if p.suffix != ".expected" and not p.name.startswith((".", "_"))
    )


def _render(case: str) -> str:
    _, diagnostics = load_services([case])
    return "".join(d.render() + "\n" for d in diagnostics)


@pytest.mark.parametrize("case", _cases())
def test_case(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES)
    actual = _render(case)
    expected_file = CASES / f"{Path(case).stem}.expected"
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
    expected = expected_file.read_text(encoding="utf-8") if expected_file.exists() else ""
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"{expected_file.name} (expected)",
                f"{case} (actual)",
            )
        )
        pytest.fail(
            f"diagnostics of {case} changed; LEVERET_UPDATE_EXPECTED=1 rewrites them\n{diff}",
            pytrace=False,
        )


@pytest.mark.parametrize("case", _cases())
def test_case_fails_closed(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A case with an error yields no services; a warnings-only case still builds."""
    monkeypatch.chdir(CASES)
    services, diagnostics = load_services([case])
    assert diagnostics, f"{case} is not broken"
    if has_errors(diagnostics):
        assert services == ()


def test_every_expected_file_has_a_case() -> None:
    stems = {Path(c).stem for c in _cases()}
    orphans = [p.name for p in CASES.glob("*.expected") if p.stem not in stems]
    assert orphans == []


# LV100 (unreadable file) needs a path that does not exist, so tests/codegen covers it; LV299
# is the fallback for meta-schema rules without a message of their own, which none has today.
_NOT_IN_CORPUS = {"LV100", "LV299"}


def test_the_corpus_covers_every_code() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in CASES.glob("*.expected"))
    seen = {code for code in CODES if f"[{code}]" in text}
    assert sorted(set(CODES) - seen - _NOT_IN_CORPUS) == []
    emitted = {line.split("[", 1)[1][:5] for line in text.splitlines() if "[LV" in line}
    assert emitted <= set(CODES)
