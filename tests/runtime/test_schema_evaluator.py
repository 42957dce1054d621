"""The runtime JSON Schema 2020-12 evaluator (``leveret._schema``) against the official suite.

Every test of every draft 2020-12 file in ``tests/data/json-schema-test-suite/draft2020-12/``
(``LEVERET_JSON_SCHEMA_SUITE`` overrides the folder, as in ``tests/codegen/test_conformance.py``),
plus ``optional/format/<name>.json`` for each format the evaluator asserts, is compiled with
``compile_schema`` and must give the suite's ``valid``. One parameter per test, id
``file:group:test``. Two tables, nothing else is skipped:

* ``EXCLUDED``: groups that cannot apply to a definition's schemas (remote refs, ``$id``-based
  and URN refs, anchors, ``$dynamicRef``, the meta-schema). The evaluator must refuse each of
  them at compile time with ``UnsupportedSchema``, so an exclusion cannot hide a wrong verdict.
* ``XFAIL``: tests the evaluator does not pass yet, strict xfail, so a fix shows up.

A table entry that matches no group or test of a file present in the folder fails
``test_tables_are_current``. Then unit tests for failure paths and messages and compile errors.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from leveret._schema import (
    FORMATS,
    Failure,
    SchemaError,
    UnsupportedSchema,
    compile_schema,
)

ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(
    os.environ.get(
        "LEVERET_JSON_SCHEMA_SUITE",
        ROOT / "tests" / "data" / "json-schema-test-suite" / "draft2020-12",
    )
)
if not SUITE.is_dir():
    raise FileNotFoundError(f"no JSON-Schema-Test-Suite data at {SUITE}")

_REMOTE = "remote or $id-relative ref: a definition's schemas refer to its own types only"
_URN = "URN $id base: refs by $id are not supported (only '#/...' pointers)"
_DYNAMIC = "$dynamicRef/$dynamicAnchor (extensible meta-schemas), not a definition feature"

#: (file, group) -> why it cannot apply; each must be refused with UnsupportedSchema
EXCLUDED: dict[tuple[str, str], str] = {
    ("defs.json", "validate definition against metaschema"): "remote meta-schema ref",
    ("ref.json", "remote ref, containing refs itself"): "remote meta-schema ref",
    ("ref.json", "Recursive references between schemas"): _REMOTE,
    ("ref.json", "refs with relative uris and defs"): _REMOTE,
    ("ref.json", "relative refs with absolute uris and defs"): _REMOTE,
    ("ref.json", "$id must be resolved against nearest parent, not just immediate parent"): _REMOTE,
    ("ref.json", "order of evaluation: $id and $ref"): _REMOTE,
    ("ref.json", "order of evaluation: $id and $anchor and $ref"): "$anchor ref",
    ("ref.json", "order of evaluation: $id and $ref on nested schema"): _REMOTE,
    ("ref.json", "simple URN base URI with $ref via the URN"): _URN,
    ("ref.json", "URN base URI with URN and JSON pointer ref"): _URN,
    ("ref.json", "URN base URI with URN and anchor ref"): _URN,
    ("ref.json", "URN ref with nested pointer ref"): _URN,
    ("ref.json", "ref to if"): _REMOTE,
    ("ref.json", "ref to then"): _REMOTE,
    ("ref.json", "ref to else"): _REMOTE,
    ("ref.json", "ref with absolute-path-reference"): _REMOTE,
    ("unevaluatedItems.json", "unevaluatedItems with $dynamicRef"): _DYNAMIC,
    ("unevaluatedProperties.json", "unevaluatedProperties with $dynamicRef"): _DYNAMIC,
}

#: (file, group, test or None for every test of the group) -> why it fails today. Empty: the
#: last ones (\\p{...} classes) are translated to Unicode general categories now.
XFAIL: dict[tuple[str, str, str | None], str] = {}


def _suite_files() -> list[Path]:
    files = sorted(SUITE.glob("*.json"))
    files += sorted(p for p in (SUITE / "optional" / "format").glob("*.json") if p.stem in FORMATS)
    return files


def _load(path: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return groups


def _cases() -> tuple[list[Any], list[Any]]:
    tests: list[Any] = []
    excluded: list[Any] = []
    for path in _suite_files():
        name = path.relative_to(SUITE).as_posix()
        for group in _load(path):
            gdesc = group["description"]
            if (name, gdesc) in EXCLUDED:
                excluded.append(pytest.param(name, group, id=f"{name}:{gdesc}"))
                continue
            for test in group["tests"]:
                reason = XFAIL.get((name, gdesc, test["description"])) or XFAIL.get(
                    (name, gdesc, None)
                )
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                tests.append(
                    pytest.param(
                        group["schema"],
                        test["data"],
                        test["valid"],
                        id=f"{name}:{gdesc}:{test['description']}",
                        marks=marks,
                    )
                )
    return tests, excluded


_TESTS, _EXCLUDED = _cases()


@pytest.mark.parametrize(("schema", "data", "valid"), _TESTS)
def test_suite(schema: Any, data: Any, valid: bool) -> None:
    check = compile_schema(schema)
    failures = check(data)
    assert (not failures) is valid, failures
    assert check.is_valid(data) is valid


@pytest.mark.parametrize(("name", "group"), _EXCLUDED)
def test_excluded_group_is_refused(name: str, group: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedSchema):
        compile_schema(group["schema"])


def test_tables_are_current() -> None:
    present = {p.relative_to(SUITE).as_posix(): _load(p) for p in _suite_files()}
    stale = []
    for file, gdesc in EXCLUDED:
        if file in present and not any(g["description"] == gdesc for g in present[file]):
            stale.append(("EXCLUDED", file, gdesc))
    for file, gdesc, tdesc in XFAIL:
        if file not in present:
            continue
        groups = [g for g in present[file] if g["description"] == gdesc]
        if not groups or (
            tdesc is not None and not any(t["description"] == tdesc for t in groups[0]["tests"])
        ):
            stale.append(("XFAIL", file, gdesc))
    assert not stale


# -- failures: paths, keywords, messages ---------------------------------------------------------

REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["id", "lines"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}$"}},
                "additionalProperties": False,
            },
        },
    },
}


def test_failure_path_keyword_and_pointer() -> None:
    check = compile_schema(REQUEST)
    data = {
        "id": "3b241101-e2bb-4255-8caf-4136c566a962",
        "lines": [{"sku": "ABC"}, {"sku": "abc", "x/y": 1}],
    }
    failures = check(data)
    assert failures == [
        Failure(("lines", 1, "sku"), "pattern", '"abc" does not match "^[A-Z]{3}$"'),
        Failure(("lines", 1, "x/y"), "additionalProperties", "no property of this name is allowed"),
    ]
    assert [f.pointer for f in failures] == ["/lines/1/sku", "/lines/1/x~1y"]
    assert str(failures[1]) == (
        "/lines/1/x~1y: no property of this name is allowed (additionalProperties)"
    )


def test_valid_instance_has_no_failures_and_a_fresh_list() -> None:
    check = compile_schema(REQUEST)
    data = {"id": "3b241101-e2bb-4255-8caf-4136c566a962", "lines": []}
    first = check(data)
    assert first == []
    first.append(Failure((), "x", "y"))
    assert check(data) == []


def test_root_failures_have_an_empty_path() -> None:
    failures = compile_schema(REQUEST)({"lines": []})
    assert failures == [Failure((), "required", "missing required 'id'")]
    assert failures[0].pointer == ""
    assert str(failures[0]).startswith("/: ")


def test_message_clips_the_value() -> None:
    big = "x" * 10_000
    [failure] = compile_schema({"enum": ["a"]})(big)
    assert failure.keyword == "enum"
    assert len(failure.message) < 100
    [failure] = compile_schema({"const": 1})({"k": list(range(1000))})
    assert len(failure.message) < 100


@pytest.mark.parametrize(
    ("schema", "data", "keyword"),
    [
        ({"type": "integer"}, 1.5, "type"),
        ({"minimum": 3}, 2, "minimum"),
        ({"multipleOf": 0.01}, 0.075, "multipleOf"),
        ({"minLength": 2}, "é", "minLength"),
        ({"uniqueItems": True}, [1, 1.0], "uniqueItems"),
        ({"contains": {"const": 1}}, [2], "contains"),
        ({"contains": {"const": 1}, "maxContains": 1}, [1, 1], "maxContains"),
        ({"dependentRequired": {"a": ["b"]}}, {"a": 1}, "dependentRequired"),
        ({"propertyNames": {"maxLength": 1}}, {"ab": 1}, "propertyNames"),
        ({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 1, "oneOf"),
        ({"not": {"type": "string"}}, "s", "not"),
        (
            {"unevaluatedProperties": False, "properties": {"a": True}},
            {"b": 1},
            "unevaluatedProperties",
        ),
        ({"format": "date"}, "2024-02-30", "format"),
    ],
)
def test_failure_names_the_keyword(schema: dict[str, Any], data: Any, keyword: str) -> None:
    assert keyword in [f.keyword for f in compile_schema(schema)(data)]


# -- JSON semantics --------------------------------------------------------------------------


def test_json_numbers_and_equality() -> None:
    assert compile_schema({"type": "integer"}).is_valid(1.0)
    assert not compile_schema({"type": "number"}).is_valid(True)
    enum = compile_schema({"enum": [1, [0], {"a": False}]})
    assert enum.is_valid(1.0) and enum.is_valid([0.0]) and enum.is_valid({"a": False})
    assert not enum.is_valid(True) and not enum.is_valid([False]) and not enum.is_valid({"a": 0})
    assert compile_schema({"uniqueItems": True}).is_valid([1, True, [1], [True]])
    assert compile_schema({"multipleOf": 0.01}).is_valid(0.07)
    assert compile_schema({"multipleOf": 3}).is_valid(2**70 * 3)
    assert not compile_schema({"multipleOf": 0.5}).is_valid(float("inf"))


def test_ecma_pattern_translation() -> None:
    anchored = compile_schema({"pattern": "^[a-z]+$"})
    assert anchored.is_valid("abc") and not anchored.is_valid("abc\n")
    assert not compile_schema({"pattern": "^\\d$"}).is_valid("\u0663")  # ARABIC-INDIC THREE
    assert compile_schema({"pattern": "^[\\w]$"}).is_valid("_")
    assert compile_schema({"maxLength": 9, "pattern": "(?<x>a)\\k<x>"}).is_valid("aa")
    assert not compile_schema({"pattern": "[]"}).is_valid("a")
    assert compile_schema({"pattern": "^[^]$"}).is_valid("\n")


def test_recursion_is_bounded_by_the_instance() -> None:
    tree = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "unevaluatedProperties": False,
            }
        },
        "$ref": "#/$defs/node",
    }
    check = compile_schema(tree)
    deep: dict[str, Any] = {}
    for _ in range(50):
        deep = {"children": [deep]}
    assert check.is_valid(deep)
    bad: dict[str, Any] = {"children": [{"children": [{"x": 1}]}]}
    [failure] = check(bad)
    assert failure.path == ("children", 0, "children", 0, "x")


# -- compile errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "error", "words"),
    [
        ({"properties": {"a": {"maxLenght": 3}}}, SchemaError, ["#/properties/a", "'maxLenght'"]),
        ({"format": "ipv5"}, SchemaError, ["#/format", "unknown format", "ipv4"]),
        ({"pattern": "("}, SchemaError, ["#/pattern", "regular expression"]),
        ({"type": "int"}, SchemaError, ["#/type"]),
        ({"items": [{"type": "string"}]}, SchemaError, ["prefixItems"]),
        ({"minLength": -1}, SchemaError, ["#/minLength", "non-negative"]),
        ({"multipleOf": 0}, SchemaError, ["#/multipleOf", "> 0"]),
        ({"$ref": "#/$defs/missing"}, SchemaError, ["#/$ref", "points at nothing"]),
        ({"$ref": "#"}, SchemaError, ["cycle"]),
        (
            {"$defs": {"a": {"allOf": [{"$ref": "#/$defs/a"}]}}, "$ref": "#/$defs/a"},
            SchemaError,
            ["cycle"],
        ),
        ({"$ref": "other.json"}, UnsupportedSchema, ["#/$ref", "only local refs"]),
        ({"$dynamicRef": "#x"}, UnsupportedSchema, ["$dynamicRef"]),
        ({"properties": {"a": {"$id": "x"}}}, UnsupportedSchema, ["$id below the root"]),
        ({"pattern": "\\p{Script=Greek}"}, UnsupportedSchema, ["general category"]),
        ([], SchemaError, ["an object or a boolean"]),
    ],
)
def test_compile_errors_are_clear(schema: Any, error: type[Exception], words: list[str]) -> None:
    with pytest.raises(error) as info:
        compile_schema(schema)
    for word in words:
        assert word in str(info.value)


def test_unsupported_is_a_not_implemented_error() -> None:
    with pytest.raises(NotImplementedError):
        compile_schema({"$ref": "https://example.com/s.json"})


def test_annotations_are_ignored() -> None:
    check = compile_schema(
        {"title": "T", "description": "d", "default": 1, "examples": [1], "$comment": "c"}
    )
    assert check.is_valid("anything")
