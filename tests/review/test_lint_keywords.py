"""``leveret lint`` on the keywords the generator enforces since issue 11: it walks into every
subschema keyword (a type used only there is used), gives object advice only about values (not
about ``not``/``if``/``then``/``else``/``dependentSchemas``, partial views of their parent), and
counts ``unevaluatedProperties: false`` as closed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from leveret_codegen._review.findings import Finding
from leveret_codegen._review.lint import lint_paths

BASE: dict[str, Any] = {
    "leveret": 1,
    "package": "shop",
    "service": "Shop",
    "description": "Items for sale.",
    "types": {},
    "methods": {
        "put": {
            "description": "Store something.",
            "request": {
                "type": "object",
                "additionalProperties": False,
                "properties": {},
            },
            "response": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
            "timeout": 5,
            "idempotent": True,
        },
    },
}

EVERY_KEYWORD: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "maxProperties": 9,
    "propertyNames": {"maxLength": 10},
    "patternProperties": {"^n_": {"type": "integer"}},
    "dependentRequired": {"a": ["b"]},
    "dependentSchemas": {"b": {"required": ["c"]}},
    "if": {"properties": {"a": {"const": 1}}, "required": ["a"]},
    "then": {"required": ["c"]},
    "else": {"not": {"required": ["c"]}},
    "properties": {
        "a": {"enum": [1, None, True, "s", [1], {"k": 1}]},
        "b": {"type": ["string", "integer"], "minLength": 2},
        "c": {"const": {"k": [1, 2]}},
        "d": {
            "type": "array",
            "uniqueItems": True,
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "items": False,
        },
        "e": {"type": "array", "contains": {"type": "string"}, "minContains": 2, "maxContains": 3},
        "f": {"not": {"type": "string"}},
        "g": {"oneOf": [{"type": "integer"}, {"minimum": 3}]},
        "h": True,
        "i": False,
        "j": {"minimum": 3, "maxLength": 4},
        "k": {"type": "string", "format": "date-time"},
        "m": {
            "type": "object",
            "unevaluatedProperties": False,
            "allOf": [{"properties": {"z": {"type": "string"}}}],
        },
        "u": {"type": "array", "prefixItems": [True], "unevaluatedItems": False},
    },
}


def _lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: Any) -> list[Finding]:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "def.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    findings, _ = lint_paths(["def.yaml"])
    return findings


def _with_request(**properties: Any) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    document["methods"]["put"]["request"]["properties"] = properties
    return document


def test_every_keyword_lints_without_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = copy.deepcopy(BASE)
    document["methods"]["put"]["request"] = EVERY_KEYWORD
    assert [f.message for f in _lint(tmp_path, monkeypatch, document)] == []


@pytest.mark.parametrize(
    "where",
    [
        {"type": "array", "prefixItems": [{"$ref": "#/types/Tag"}]},
        {"type": "array", "contains": {"$ref": "#/types/Tag"}},
        {"type": "object", "patternProperties": {"^t_": {"$ref": "#/types/Tag"}}},
        {"type": "string", "not": {"$ref": "#/types/Tag"}},
        {"if": {"$ref": "#/types/Tag"}, "then": {"maxLength": 3}},
        {"type": "object", "propertyNames": {"$ref": "#/types/Tag"}},
    ],
    ids=["prefixItems", "contains", "patternProperties", "not", "if", "propertyNames"],
)
def test_a_type_used_only_below_a_new_keyword_is_used(
    where: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _with_request(x=where)
    document["types"]["Tag"] = {"description": "A tag.", "type": "string", "maxLength": 8}
    rules = {f.rule for f in _lint(tmp_path, monkeypatch, document)}
    assert "TYPE_UNUSED" not in rules


def test_object_advice_about_values_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An object below prefixItems is a value of the request: advice. A condition, a branch, a
    ``not``, a dependentSchemas entry only constrain their parent: no advice about them."""
    inner = {"type": "object", "properties": {"a": {"type": "string"}}}
    partial = {"type": "object", "properties": {"a": {"const": "x"}}}
    document = _with_request(
        a={"type": "string"},
        b={"type": "string"},
        c={"type": "string", "not": partial},
        x={"type": "array", "prefixItems": [inner]},
    )
    request = document["methods"]["put"]["request"]
    request.update(
        {"if": partial, "then": partial, "else": partial, "dependentSchemas": {"b": partial}}
    )
    findings = _lint(tmp_path, monkeypatch, document)
    assert [(f.rule, f.message.split(":")[0]) for f in findings] == [
        ("REQUEST_CLOSED", "put.request.x.prefixItems[0]")
    ]


def test_unevaluated_properties_false_closes_an_object(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = {
        "type": "object",
        "unevaluatedProperties": False,
        "properties": {"a": {"type": "string"}},
    }
    assert _lint(tmp_path, monkeypatch, _with_request(x=closed)) == []
    document = copy.deepcopy(BASE)
    document["methods"]["put"]["response"] = closed
    findings = _lint(tmp_path, monkeypatch, document)
    assert [(f.rule, f.line) for f in findings] == [("RESPONSE_TOLERANT", 15)]
