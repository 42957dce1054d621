"""``leveret docs`` on a definition someone else wrote (a service described by reflection, a
pull request): its descriptions are plain text, so no HTML nor script link of theirs reaches the
page (r12 finding 8)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from leveret._cli import main
from leveret_codegen._docs import prose

ROOT = Path(__file__).resolve().parents[2]

HOSTILE = [
    "Stock.<script>alert(document.domain)</script> <img src=x onerror=alert(1)>",
    "a | b </td><script>alert(2)</script>\n\n# Forged heading",
    "Reserve. [click](javascript:alert(1)) <iframe src='x'>",
    "[ref]: JavaScript:alert(3)\n\nsee [ref]",
    "escaped \\`<b onclick=alert(4)>`",
    "across lines `x\n\n<svg onload=alert(5)>`",
]


def _definition() -> dict[str, object]:
    definition = yaml.safe_load((ROOT / "schemas" / "calculator.yaml").read_text())
    assert isinstance(definition, dict)
    definition["description"] = HOSTILE[0]
    for i, method in enumerate(definition["methods"].values()):
        method["description"] = HOSTILE[(i + 1) % len(HOSTILE)]
    for i, schema in enumerate(definition["types"].values()):
        schema["description"] = HOSTILE[(i + 2) % len(HOSTILE)]
        for j, prop in enumerate(schema.get("properties", {}).values()):
            if isinstance(prop, dict):
                prop["description"] = HOSTILE[(i + j + 3) % len(HOSTILE)]
    for i, error in enumerate(definition.get("errors", {}).values()):
        error["description"] = HOSTILE[(i + 4) % len(HOSTILE)]
    return definition


def _assert_no_markup(page: str) -> None:
    # fenced blocks (the example replies, whose message is an error's description) are code
    outside = re.sub(r"(?ms)^```json$.*?^```$", "", page)
    assert outside.count("```") == 0
    lowered = outside.lower()
    for tag in ("<script", "<img", "<iframe", "<svg", "</td>", "<b "):
        assert tag not in lowered
    assert re.search(r"\]\s*\(\s*javascript:", lowered) is None  # a link
    assert re.search(r"(?m)^\s{0,3}\[[^\]]*\]:\s*javascript:", lowered) is None  # a definition


def test_docs_of_a_file_carry_no_html_or_script_link_of_its_descriptions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("hostile.json").write_text(json.dumps(_definition()))
    assert main(["docs", "hostile.json", "--out", "out"]) == 0
    (page,) = Path("out").iterdir()
    text = page.read_text()
    _assert_no_markup(text)
    assert "&lt;script&gt;alert(document.domain)&lt;/script&gt;" in text  # shown, as text


def test_prose_keeps_markdown_and_one_line_code_spans() -> None:
    assert prose("plain *emph* and `a < b` & [doc](https://example.org)") == (
        "plain *emph* and `a < b` &amp; [doc](https://example.org)"
    )
    assert prose("[x]( JavaScript:alert(1))") == "[x]\\( JavaScript:alert(1))"
    assert prose("`<b>") == "`&lt;b&gt;"  # an unclosed backtick opens nothing
