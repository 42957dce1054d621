"""Lint does not ask to close an ``allOf`` member (issue 15 F9).

Closing a type that another type extends with ``allOf`` makes JSON Schema reject the properties
the other members add; the generator refuses it (LV401, lint's KEYWORD_NOT_ENFORCED). So
REQUEST_CLOSED must not advise it: the warning could only be silenced by ignoring the rule.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from leveret_codegen._review.lint import lint_paths

_PET: dict[str, Any] = {
    "leveret": 1,
    "package": "pets",
    "service": "Pets",
    "description": "Pets.",
    "types": {
        "Named": {
            "description": "Something with a name.",
            "type": "object",
            "properties": {"name": {"type": "string"}},
        },
        "Pet": {
            "description": "A pet.",
            "allOf": [
                {"$ref": "#/types/Named"},
                {"type": "object", "properties": {"kind": {"type": "string"}}},
            ],
        },
    },
    "methods": {
        "add_pet": {
            "description": "Add a pet.",
            "request": {"$ref": "#/types/Pet"},
            "response": {"type": "object", "additionalProperties": True},
            "timeout": 5,
            "idempotent": False,
        },
    },
}


def _lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: object) -> list[str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pets.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    findings, _ = lint_paths(["pets.yaml"])
    return [f"{f.rule}: {f.message}" for f in findings]


def test_an_allof_base_in_a_request_is_not_asked_to_be_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _lint(tmp_path, monkeypatch, _PET) == []


def test_following_the_old_advice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why: closing the base is an error, so advising it was advising what generate refuses."""
    closed = copy.deepcopy(_PET)
    closed["types"]["Named"]["additionalProperties"] = False
    found = _lint(tmp_path, monkeypatch, closed)
    assert [f.split(":")[0] for f in found] == ["KEYWORD_NOT_ENFORCED"]


def test_the_same_type_used_on_its_own_is_still_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = copy.deepcopy(_PET)
    alone["methods"]["add_pet"]["request"] = {"$ref": "#/types/Named"}
    found = _lint(tmp_path, monkeypatch, alone)
    assert [f.split(": ")[:2] for f in found if not f.startswith("TYPE_UNUSED")] == [
        ["REQUEST_CLOSED", "Named"]
    ]
