"""Keys and values of a definition reach terminals and CI logs escaped (r12 finding 7).

A definition may come from someone else (a pull request, a file a service described): a key
holding ANSI escapes, U+202E or a newline followed by a GitHub workflow command must not clear
the screen, reorder the text, or forge an annotation in any output of the tools.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from leveret._cli import main
from leveret_codegen._diagnostics import Diagnostic, Severity, printable

ROOT = Path(__file__).resolve().parents[2]
FORGED = "x\n::error file=README.md,line=1::forged\n"
STEERING = "\x1b]0;pwned\x07\x1b[2J\x1b[31mEVIL\u202e\x85\u2028\u2066"


def _hostile(tmp_path: Path) -> Path:
    definition = yaml.safe_load((ROOT / "schemas" / "inventory.yaml").read_text())
    definition["types"] = {
        "Request": {
            "type": "object",
            "properties": {
                FORGED: {"type": "string", "format": "bogus"},
                STEERING: {"type": "string", "format": f"bogus{STEERING}"},
            },
        },
    }
    definition["methods"] = {
        "reserve": {"request": {"$ref": "#/types/Request"}, "response": {"type": "object"}}
    }
    definition["errors"] = {}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(definition))
    return path


def _assert_nothing_steers(text: str) -> None:
    for line in text.splitlines():
        assert not line.lstrip().startswith("::error file=README.md"), line
    for character in "\x1b\x07\u202e\x85\u2028\u2066":
        assert character not in text


@pytest.mark.parametrize(
    "argv",
    [
        ("generate", "{f}", "--out", "{out}"),
        ("lint", "{f}"),
        ("lint", "{f}", "--format", "github"),
        ("lint", "{f}", "--format", "json"),
        ("lint", "{f}", "--format", "markdown"),
        ("breaking", "{f}", "--against", "{base}", "--format", "github"),
        ("breaking", "{base}", "--against", "{f}"),
    ],
    ids=" ".join,
)
def test_keys_from_a_file_are_escaped_in_every_output(
    argv: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = _hostile(tmp_path)
    base = ROOT / "schemas" / "calculator.yaml"
    args = [a.format(f=hostile, base=base, out=tmp_path / "out") for a in argv]
    assert main(args) != 0
    out, err = capsys.readouterr()
    _assert_nothing_steers(out + err)
    assert "::error file=README.md,line=1::forged" in out + err  # shown, within a line


def test_a_diagnostic_of_several_lines_keeps_them_behind_a_margin() -> None:
    diagnostic = Diagnostic(
        "a\x1b.yaml", 1, 2, Severity.ERROR, "LV506", "failed:\n::error ::x\u202e", "h\x85"
    )
    assert diagnostic.render() == (
        "a\\x1b.yaml:1:2: error[LV506]: failed:\n    | ::error ::x\\u202e\n    hint: h\\x85"
    )


def test_printable_leaves_text_alone_and_escapes_controls() -> None:
    assert printable("types.Réservation.日本 ok") == "types.Réservation.日本 ok"
    assert printable("a\tb\r\n\x7f\x9b\u2029\U000e0001") == (
        "a\\tb\\r\\n\\x7f\\x9b\\u2029\\U000e0001"
    )
