"""The README's keyword table says what the generator does (issue 11: "the keyword table in the
README matches the generator"): every keyword of a row has that row's verdict in
``leveret_codegen._keywords``, every keyword the generator knows is in the table, and the formats
row lists exactly the formats the runtime asserts."""

from __future__ import annotations

import re
from pathlib import Path

from leveret._schema import FORMATS
from leveret_codegen._keywords import NO_EFFECT, NOT_ENFORCED, SUPPORTED_KEYWORDS

README = Path(__file__).parents[2] / "README.md"
ANNOTATIONS = {"title", "description", "default", "examples", "deprecated", "$comment"}


def _table() -> list[tuple[list[str], str]]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| Keywords | Verdict |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        keywords, verdict = (cell.strip() for cell in line.strip("|").split("|"))
        # Each keyword is a code span; `if`/`then`/`else` is three, `true`/`false` two schemas.
        names = [n for span in re.findall(r"`([^`]+)`", keywords) for n in span.split("/")]
        rows.append((names, verdict))
    return rows


def _row(verdict_starts: str) -> list[str]:
    return [n for names, verdict in _table() if verdict.startswith(verdict_starts) for n in names]


def test_enforced_keywords_are_the_generators() -> None:
    # The rows quote values beside keywords (`1` is `1.0`, `true`/`false` schemas): not keywords.
    enforced = {n for n in _row("enforced") if n not in {"1", "1.0", "true", "false"}}
    assert enforced | {"format"} | ANNOTATIONS == set(SUPPORTED_KEYWORDS)


def test_annotations_warnings_and_errors_are_the_generators() -> None:
    assert set(_row("annotations")) - {"x-*"} == ANNOTATIONS
    assert set(_row("warning LV402")) == set(NO_EFFECT)
    assert set(_row("error LV401")) == set(NOT_ENFORCED)


def test_the_formats_row_lists_the_asserted_formats() -> None:
    (formats,) = [names for names, verdict in _table() if verdict.startswith("asserted")]
    assert formats[0] == "format"
    assert set(formats[1:]) == FORMATS
