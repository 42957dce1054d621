"""``.pre-commit-hooks.yaml``: the hooks run leveret commands that exist, with the codegen extra,
on the paths the user gives (never on pre-commit's list of changed files)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from leveret._cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _hooks() -> list[dict[str, Any]]:
    hooks: list[dict[str, Any]] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    return hooks


def test_the_hooks() -> None:
    assert [(h["id"], h["entry"]) for h in _hooks()] == [
        ("leveret-generate-check", "leveret generate --check"),
        ("leveret-lint", "leveret lint"),
        ("leveret-breaking", "leveret breaking --against git:HEAD"),
    ]
    required = {"id", "name", "entry", "language"}
    for hook in _hooks():
        assert required <= set(hook)
        assert hook["language"] == "python"
        assert hook["additional_dependencies"] == [".[codegen]"]
        assert hook["pass_filenames"] is False


@pytest.mark.parametrize(
    ("hook_id", "args"),
    [
        ("leveret-generate-check", ["schemas", "--out", "generated"]),
        ("leveret-lint", ["schemas"]),
        ("leveret-breaking", ["schemas"]),
    ],
)
def test_entries_parse_with_the_documented_args(hook_id: str, args: list[str]) -> None:
    hook = next(h for h in _hooks() if h["id"] == hook_id)
    command = shlex.split(hook["entry"])
    assert command[0] == "leveret"
    parsed = build_parser().parse_args([*command[1:], *args])
    assert parsed.command == command[1]
    assert parsed.paths == ["schemas"]
