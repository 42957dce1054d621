"""Lint's closedness advice follows the directions an object travels in (B18).

Closing an object that responses carry makes every property added to it later a breaking change
(RESPONSE_CLOSED_PROPERTY_ADDED), so lint must never ask to close one; for an object shared by a
request and a response it explains the trade-off and points to separate types instead.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from leveret_codegen._review.breaking import compare_sides
from leveret_codegen._review.lint import lint_paths
from leveret_codegen._review.sources import FileReader, load_side

_ITEM: dict[str, Any] = {
    "description": "An item for sale.",
    "type": "object",
    "properties": {"item_id": {"type": "string"}},
}


def _definition(request: str, response: str, item: dict[str, Any]) -> dict[str, Any]:
    closed = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"item_id": {"type": "string"}},
    }
    open_ = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    return {
        "leveret": 1,
        "package": "shop",
        "service": "Shop",
        "description": "Items for sale.",
        "types": {"Item": item},
        "methods": {
            "put_item": {
                "description": "Store an item.",
                "request": {"$ref": "#/types/Item"} if request == "Item" else closed,
                "response": {"$ref": "#/types/Item"} if response == "Item" else open_,
                "timeout": 5,
                "idempotent": True,
            },
        },
    }


def _item(additional: object = None) -> dict[str, Any]:
    item = copy.deepcopy(_ITEM)
    if additional is not None:
        item["additionalProperties"] = additional
    return item


def _lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: object) -> list[str]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "def.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    findings, _ = lint_paths(["def.yaml"])
    return [f"{f.rule}: {f.message}" for f in findings]


@pytest.mark.parametrize(
    ("request_", "response", "additional", "expected"),
    [
        # Request only: closing is the advice.
        ("Item", "-", None, ["REQUEST_CLOSED"]),
        ("Item", "-", False, []),
        # Response only: never asked to close; closed is reported.
        ("-", "Item", None, []),
        ("-", "Item", False, ["RESPONSE_TOLERANT"]),
        # Both: closing would backfire, so a closed one is reported and an open one gets the
        # trade-off instead of "close it"; stating `true` is a decision, not a finding.
        ("Item", "Item", None, ["REQUEST_CLOSED"]),
        ("Item", "Item", False, ["RESPONSE_TOLERANT"]),
        ("Item", "Item", True, []),
    ],
)
def test_advice_by_direction(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request_: str,
    response: str,
    additional: object,
    expected: list[str],
) -> None:
    document = _definition(request_, response, _item(additional))
    found = _lint(tmp_path, monkeypatch, document)
    assert [f.split(":")[0] for f in found] == expected


def test_a_shared_object_is_never_asked_to_be_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (message,) = _lint(tmp_path, monkeypatch, _definition("Item", "Item", _item()))
    assert message == (
        "REQUEST_CLOSED: Item: an object used in both requests and responses: open, a misspelt "
        "request field is not refused; closed, adding a property later breaks callers reading "
        "responses (RESPONSE_CLOSED_PROPERTY_ADDED); use a closed request type and an open "
        "response type, or state `additionalProperties: true` (on a definition in use, this "
        "change itself breaks callers: make it in new types or a new major version, or ignore "
        "the rule with a reason)"
    )
    assert "without `additionalProperties: false`" not in message


def test_a_closed_shared_object_warns_before_the_change_that_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The situation of the report: closed as lint used to advise, then a property is added."""
    old = _definition("Item", "Item", _item(False))
    assert _lint(tmp_path, monkeypatch, old) == [
        "RESPONSE_TOLERANT: Item: an object used in both requests and responses is closed with "
        "`additionalProperties: false`, so adding a property to it later breaks callers reading "
        "responses (RESPONSE_CLOSED_PROPERTY_ADDED); use a closed request type and an open "
        "response type instead (on a definition in use, this change itself breaks callers: "
        "make it in new types or a new major version, or ignore the rule with a reason)"
    ]
    new = copy.deepcopy(old)
    new["types"]["Item"]["properties"]["note"] = {"type": "string"}
    (tmp_path / "old.yaml").write_text(yaml.safe_dump(old, sort_keys=False))
    (tmp_path / "new.yaml").write_text(yaml.safe_dump(new, sort_keys=False))
    findings = compare_sides(
        load_side(FileReader(), ["old.yaml"]), load_side(FileReader(), ["new.yaml"])
    )
    assert "RESPONSE_CLOSED_PROPERTY_ADDED" in {f.rule for f in findings}


def test_a_nested_object_of_a_shared_type_follows_the_same_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = _item(True)
    item["properties"]["size"] = {"type": "object", "properties": {"cm": {"type": "integer"}}}
    found = _lint(tmp_path, monkeypatch, _definition("Item", "Item", item))
    assert [f.split(": ")[:2] for f in found] == [["REQUEST_CLOSED", "Item.size"]]
