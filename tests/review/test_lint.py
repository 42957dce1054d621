"""``leveret lint``: each rule on a definition that breaks it and no other, plus the examples."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from leveret_codegen._review.findings import Finding
from leveret_codegen._review.lint import lint_paths
from leveret_codegen._review.rules_lint import LINT_RULES

ROOT = Path(__file__).resolve().parents[2]

CLEAN: dict[str, Any] = {
    "leveret": 1,
    "package": "shop",
    "service": "Shop",
    "description": "Items for sale.",
    "types": {
        "Item": {
            "description": "An item for sale.",
            "type": "object",
            "required": ["item_id"],
            "properties": {"item_id": {"type": "string"}, "note": {"type": "string"}},
        },
    },
    "errors": {"ItemMissing": {"status": "NOT_FOUND", "description": "No such item."}},
    "methods": {
        "get_item": {
            "description": "Look an item up.",
            "request": {
                "type": "object",
                "required": ["item_id"],
                "additionalProperties": False,
                "properties": {"item_id": {"type": "string"}},
            },
            "response": {"$ref": "#/types/Item"},
            "errors": ["ItemMissing"],
            "timeout": 5,
            "idempotent": True,
        },
    },
}

Mutation = Callable[[dict[str, Any]], None]

ON_EXISTING = (
    " (on a definition in use, this change itself breaks callers: make it in new types or a "
    "new major version, or ignore the rule with a reason)"
)


def _method(d: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = d["methods"]["get_item"]
    return result


def _rename(section: str, old: str, new: str) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        d[section][new] = d[section].pop(old)
        if section == "types":
            _method(d)["response"] = {"$ref": f"#/types/{new}"}
        if section == "errors":
            _method(d)["errors"] = [new]

    return mutate


def _set(path: tuple[str, ...], value: object) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[str, ...]) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        target = d
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


_REQUEST = ("methods", "get_item", "request")
_ITEM_PROPS = ("types", "Item", "properties")

CASES: dict[str, tuple[Mutation, set[str]]] = {
    "invalid definition": (_set(("queue",), 42), {"DEFINITION_VALID"}),
    "keyword not enforced": (
        _set((*_ITEM_PROPS, "note"), {"type": "string", "$anchor": "note"}),
        {"KEYWORD_NOT_ENFORCED"},
    ),
    "regular expression not enforced exactly": (
        _set((*_ITEM_PROPS, "note"), {"type": "string", "pattern": "^\\p{Script=Greek}+$"}),
        {"KEYWORD_NOT_ENFORCED"},
    ),
    "annotation keyword": (
        _set((*_ITEM_PROPS, "note"), {"type": "string", "readOnly": True}),
        {"KEYWORD_NO_EFFECT"},
    ),
    "service name": (_set(("service",), "shop"), {"SERVICE_PASCAL_CASE"}),
    # The meta-schema also rejects the references to them: DEFINITION_VALID at those places.
    "type name": (
        _rename("types", "Item", "item_type"),
        {"TYPE_PASCAL_CASE", "DEFINITION_VALID"},
    ),
    "error name": (
        _rename("errors", "ItemMissing", "item_missing"),
        {"ERROR_PASCAL_CASE", "DEFINITION_VALID"},
    ),
    "method name": (_rename("methods", "get_item", "GetItem"), {"METHOD_SNAKE_CASE"}),
    "property name": (
        _set((*_ITEM_PROPS, "itemNote"), {"type": "string"}),
        {"PROPERTY_SNAKE_CASE"},
    ),
    "service description": (_delete(("description",)), {"SERVICE_DESCRIPTION"}),
    "method description": (
        _set(("methods", "get_item", "description"), "  "),
        {"METHOD_DESCRIPTION"},
    ),
    "type description": (_delete(("types", "Item", "description")), {"TYPE_DESCRIPTION"}),
    "error description": (
        _delete(("errors", "ItemMissing", "description")),
        {"ERROR_DESCRIPTION"},
    ),
    "no timeout": (_delete(("methods", "get_item", "timeout")), {"METHOD_TIMEOUT"}),
    "no idempotent": (_delete(("methods", "get_item", "idempotent")), {"METHOD_IDEMPOTENT"}),
    "open request": (_delete((*_REQUEST, "additionalProperties")), {"REQUEST_CLOSED"}),
    "open nested request object": (
        _set(
            (*_REQUEST, "properties", "filter"),
            {"type": "object", "properties": {"colour": {"type": "string"}}},
        ),
        {"REQUEST_CLOSED"},
    ),
    "closed response": (
        _set(("types", "Item", "additionalProperties"), False),
        {"RESPONSE_TOLERANT"},
    ),
    "closed error details": (
        _set(
            ("errors", "ItemMissing", "details"),
            {"type": "object", "additionalProperties": False, "properties": {}},
        ),
        {"RESPONSE_TOLERANT"},
    ),
    "unused type": (
        _set(("types", "Spare"), {"description": "Not used.", "type": "string"}),
        {"TYPE_UNUSED"},
    ),
    "unused error": (
        _set(("errors", "Gone"), {"status": "NOT_FOUND", "description": "Gone."}),
        {"ERROR_UNUSED"},
    ),
    # Not findings: a stated `timeout: null`, an explicitly open request, a map in a request.
    "timeout null": (_set(("methods", "get_item", "timeout"), None), set()),
    "explicitly open request": (_set((*_REQUEST, "additionalProperties"), True), set()),
    "map in a request": (
        _set(
            (*_REQUEST, "properties", "labels"),
            {"type": "object", "additionalProperties": {"type": "string"}},
        ),
        set(),
    ),
}


def _lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *documents: Any) -> list[Finding]:
    monkeypatch.chdir(tmp_path)
    names = []
    for index, document in enumerate(documents):
        name = "def.yaml" if index == 0 else f"def{index}.yaml"
        (tmp_path / name).write_text(yaml.safe_dump(document, sort_keys=False))
        names.append(name)
    findings, _ = lint_paths(names)
    return findings


def test_the_clean_definition_is_clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _lint(tmp_path, monkeypatch, CLEAN) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mutate, expected = CASES[name]
    document = copy.deepcopy(CLEAN)
    mutate(document)
    assert {f.rule for f in _lint(tmp_path, monkeypatch, document)} == expected


def test_the_cases_cover_every_rule() -> None:
    covered = set().union(*(expected for _, expected in CASES.values()))
    assert covered == set(LINT_RULES.rules)


def test_messages_and_positions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    document = copy.deepcopy(CLEAN)
    del document["types"]["Item"]["description"]
    document["types"]["Item"]["additionalProperties"] = False
    document["types"]["Item"]["properties"]["itemNote"] = {"type": "string"}
    findings = _lint(tmp_path, monkeypatch, document)
    assert sorted((f.line, f.col, f.rule, f.message) for f in findings) == [
        (6, 3, "TYPE_DESCRIPTION", "type 'Item' has no description"),
        (15, 7, "PROPERTY_SNAKE_CASE", "Item: property 'itemNote' is not snake_case"),
        (
            17,
            5,
            "RESPONSE_TOLERANT",
            "Item: a response object with `additionalProperties: false`" + ON_EXISTING,
        ),
    ]


def test_a_naming_rule_replaces_the_generic_front_end_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = copy.deepcopy(CLEAN)
    _rename("methods", "get_item", "GetItem")(document)
    findings = _lint(tmp_path, monkeypatch, document)
    assert [(f.rule, f.line, f.col) for f in findings] == [("METHOD_SNAKE_CASE", 21, 3)]


# Objects used in both requests and responses: tests/review/test_lint_directions.py.


def test_library_types_are_exports_and_usage_crosses_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = {
        "leveret": 1,
        "description": "Shared types.",
        "types": {
            "Money": {
                "description": "Money.",
                "type": "object",
                "additionalProperties": False,
                "properties": {"amount": {"type": "integer"}},
            },
            "Spare": {"description": "Nobody uses it.", "type": "string"},
        },
    }
    document = copy.deepcopy(CLEAN)
    document["types"]["Item"]["properties"]["price"] = {"$ref": "def1.yaml#/types/Money"}
    findings = _lint(tmp_path, monkeypatch, document, library)
    assert [(f.file, f.rule, f.message) for f in findings] == [
        (
            "def1.yaml",
            "RESPONSE_TOLERANT",
            "Money: a response object with `additionalProperties: false`" + ON_EXISTING,
        )
    ]


def test_the_examples_lint_clean_with_the_repository_config(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from leveret_codegen._review.ignores import apply_ignores, load_config

    monkeypatch.chdir(ROOT)
    findings, _ = lint_paths(["schemas"])
    ignores = load_config(ROOT / "leveret.yaml", "lint", LINT_RULES.rules)
    checked = apply_ignores(findings, ignores, ROOT)
    assert [f for f in checked if not f.ignored] == []
    assert len(checked) == 18
