"""Generated docstrings keep their text when a long line is wrapped (r12 finding 10).

Escaping before wrapping let ``textwrap`` split an escaped ``\\\\`` (the generated module did not
format: LV506) or split a long word such as a regex (the docstring said something else).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from leveret._cli import main
from leveret_codegen._render import docstring

ROOT = Path(__file__).resolve().parents[2]


def _value(statement: str) -> str:
    node = ast.parse(f"def f():\n{statement}\n").body[0]
    assert isinstance(node, ast.FunctionDef)
    value = ast.get_docstring(node, clean=False)
    assert value is not None
    return value


@pytest.mark.parametrize("before", range(50, 100, 3))
@pytest.mark.parametrize("special", ["\\", "\\\\", "\\d{4}", '"""', '\\"', '"'])
def test_a_long_word_with_a_backslash_or_quotes_keeps_its_text(before: int, special: str) -> None:
    text = f"Matches {'a' * before}{special}{'b' * 40} and more words after it"
    value = _value(docstring(text, "    "))
    assert value.split() == text.split()  # only the spaces at wrap points may differ


@pytest.mark.parametrize("ending", ['"', '\\"', '""', "\\"])
def test_text_ending_in_a_quote_or_backslash(ending: str) -> None:
    for text in (f"short{ending}", f"{'word ' * 30}end{ending}"):
        assert _value(docstring(text, "    ")).split() == text.split()


def test_the_reviewers_definition_generates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    definition = yaml.safe_load((ROOT / "schemas" / "calculator.yaml").read_text())
    for n in range(60, 100):
        name = f"m{n}"
        definition["methods"][name] = {
            **next(iter(definition["methods"].values())),
            "description": "Matches " + "a" * n + "\\x41" + "b" * 40,
        }
    Path("wrap.json").write_text(json.dumps(definition))
    assert main(["generate", "wrap.json", "--out", "out"]) == 0
