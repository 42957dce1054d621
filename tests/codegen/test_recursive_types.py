"""Recursive types are enforced exactly: arrays, maps and unions that refer to themselves.

Issue 15, F8: datamodel-code-generator turned ``Nested: {type: array, items: {anyOf: [integer,
$ref Nested]}}`` into ``TypeAliasType("Nested", list)``, which accepts ``["x"]``. Each type below
goes through the whole generator; every instance is validated the way the runtime validates wire
input (``model_validate_json(body, strict=True)`` on ``{"value": instance}``) and must get the
verdict of ``jsonschema`` on the same schema, and the hand-written one listed with it.
"""

from __future__ import annotations

import importlib
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from leveret_codegen import generate_files
from tests.support.generated import generate_into

TYPES: dict[str, Any] = {
    # arrays
    "Nested": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"$ref": "Nested"}]}},
    "Direct": {"type": "array", "items": {"$ref": "Direct"}},
    "Deep": {"type": "array", "items": {"type": "array", "items": {"$ref": "Deep"}}},
    "Bounded": {
        "type": "array",
        "minItems": 1,
        "items": {"anyOf": [{"type": "string", "maxLength": 2}, {"$ref": "Bounded"}]},
    },
    "NullableNested": {
        "type": ["array", "null"],
        "items": {"anyOf": [{"type": "integer"}, {"$ref": "NullableNested"}]},
    },
    "Ping": {"type": "array", "items": {"anyOf": [{"type": "boolean"}, {"$ref": "Pong"}]}},
    "Pong": {"type": "array", "items": {"$ref": "Ping"}},
    # maps
    "Tree": {"type": "object", "additionalProperties": {"$ref": "Tree"}},
    "IntMap": {
        "type": "object",
        "additionalProperties": {"anyOf": [{"type": "integer"}, {"$ref": "IntMap"}]},
    },
    "ListMap": {
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"$ref": "ListMap"}},
    },
    # unions
    "Json": {
        "anyOf": [
            {"type": "integer"},
            {"type": "string"},
            {"type": "array", "items": {"$ref": "Json"}},
            {"type": "object", "additionalProperties": {"$ref": "Json"}},
        ]
    },
    "Node": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "Node"}},
        },
    },
}

# type -> [(instance, valid)]; jsonschema must agree with every verdict.
CASES: dict[str, list[tuple[Any, bool]]] = {
    "Nested": [
        ([], True),
        ([1, [2, [3, []]]], True),
        (["x"], False),  # the issue's instance
        ([1, [2, ["x"]]], False),
        ([1.5], False),
        ({"a": 1}, False),
        (None, False),
    ],
    "Direct": [([], True), ([[], [[]]], True), ([1], False), ([[[1]]], False)],
    "Deep": [([], True), ([[]], True), ([[[]]], True), ([[1]], False), ([["x"]], False)],
    "Bounded": [
        (["ab"], True),
        ([["a"], "b"], True),
        ([], False),
        ([[]], False),  # minItems holds at every level
        (["abc"], False),
        ([["abc"]], False),
    ],
    "NullableNested": [(None, True), ([1, [2]], True), ([None], True), (["x"], False)],
    "Ping": [([], True), ([True, [[False]]], True), ([[1]], False), ([[[]], 2], False)],
    "Pong": [([], True), ([[True]], True), ([True], False)],
    "Tree": [({}, True), ({"a": {"b": {}}}, True), ({"a": 1}, False), ({"a": {"b": []}}, False)],
    "IntMap": [
        ({"a": 1, "b": {"c": 2}}, True),
        ({"a": "x"}, False),
        ({"a": {"b": [1]}}, False),
        ([], False),
    ],
    "ListMap": [({"a": [{"b": []}]}, True), ({"a": [1]}, False), ({"a": {}}, False)],
    "Json": [
        (1, True),
        ("s", True),
        ([1, "a", [{"k": [2]}]], True),
        ({"a": {"b": ["c"]}}, True),
        (1.5, False),
        ([True], False),
        ({"a": [None]}, False),
    ],
    "Node": [
        ({"name": "a", "children": [{"name": "b", "children": []}]}, True),
        ({"name": "a", "children": [{"children": []}]}, False),
        ({"name": "a", "children": [{"name": 1}]}, False),
    ],
}


def _refs(schema: Any, prefix: str) -> Any:
    """``schema`` with each bare type name in ``$ref`` turned into a pointer under ``prefix``."""
    if isinstance(schema, list):
        return [_refs(item, prefix) for item in schema]
    if isinstance(schema, dict):
        return {k: (prefix + v if k == "$ref" else _refs(v, prefix)) for k, v in schema.items()}
    return schema


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    name = f"recursive_{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("recursive")
    types = {n: _refs(s, "#/types/") for n, s in TYPES.items()}
    for type_name in TYPES:
        types[f"Hold{type_name}"] = {
            "type": "object",
            "required": ["value"],
            "properties": {"value": {"$ref": f"#/types/{type_name}"}},
        }
    definition = {
        "leveret": 1,
        "package": name,
        "service": "Recursive",
        "version": "1",
        "types": types,
        "methods": {
            "put": {
                "request": {"$ref": "#/types/HoldNested"},
                "response": {"$ref": "#/types/HoldJson"},
            }
        },
    }
    path = root / "recursive.yaml"
    path.write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
    generate_into([path], root / "out")
    sys.path.insert(0, str(root / "out"))
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(str(root / "out"))


def _accepts(model: type[BaseModel], instance: Any) -> bool:
    try:
        model.model_validate_json(json.dumps({"value": instance}), strict=True)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("type_name", "instance", "valid"),
    [(t, i, v) for t, cases in CASES.items() for i, v in cases],
    ids=[f"{t}-{json.dumps(i)}" for t, cases in CASES.items() for i, _ in cases],
)
def test_recursive_type_verdicts(
    package: ModuleType, type_name: str, instance: Any, valid: bool
) -> None:
    reference = Draft202012Validator(
        {"$ref": f"#/$defs/{type_name}", "$defs": _refs(TYPES, "#/$defs/")}
    ).is_valid(instance)
    assert reference == valid, "the listed verdict disagrees with jsonschema"
    assert _accepts(getattr(package, f"Hold{type_name}"), instance) == valid


def test_every_type_has_cases() -> None:
    assert set(CASES) == set(TYPES)
    assert all(any(v for _, v in c) and any(not v for _, v in c) for c in CASES.values())


def test_recursive_array_is_a_real_recursive_alias(package: ModuleType) -> None:
    from leveret_codegen._models import _untyped_containers

    source = Path(package.__file__).with_name("models.py").read_text(encoding="utf-8")
    assert 'Nested = TypeAliasType("Nested", "list[JsonInt | Nested]")' in source
    assert "LeveretSelf" not in source  # the helper aliases are gone
    assert _untyped_containers(source) == []


def test_bare_container_is_refused_not_emitted() -> None:
    """The last line of defence: a model that would lose an item schema is never written."""
    from leveret_codegen._models import _untyped_containers

    assert _untyped_containers('N = TypeAliasType("N", list)\n') == ["N"]
    assert _untyped_containers(
        'M = TypeAliasType("M", "Annotated[dict, Field(min_length=1)]")\n'
        "class K(BaseModel):\n    a: list[int] = Field(default_factory=list)\n"
        "    b: list | None\n"
    ) == ["M", "K"]
    assert _untyped_containers('J = TypeAliasType("J", Union[int, "list[J]"])\n') == []
    # Literal strings are values, not forward references to parse (the suite's "\\x00" enum).
    assert _untyped_containers('L = TypeAliasType("L", Literal["\\x00", "list"])\n') == []


def test_helper_name_never_collides(tmp_path: Path) -> None:
    """A type already named ``<Name>LeveretSelf`` gets another helper name, and survives."""
    definition = {
        "leveret": 1,
        "package": f"helper_{uuid.uuid4().hex[:8]}",
        "service": "Helper",
        "version": "1",
        "types": {
            "Nested": _refs(TYPES["Nested"], "#/types/"),
            "NestedLeveretSelf": {"type": "array", "items": {"type": "string"}},
            "Hold": {
                "type": "object",
                "properties": {
                    "a": {"$ref": "#/types/Nested"},
                    "b": {"$ref": "#/types/NestedLeveretSelf"},
                },
            },
        },
        "methods": {
            "put": {"request": {"$ref": "#/types/Hold"}, "response": {"$ref": "#/types/Hold"}}
        },
    }
    path = tmp_path / "helper.yaml"
    path.write_text(yaml.safe_dump(definition, sort_keys=False), encoding="utf-8")
    result = generate_files([str(path)])
    assert result.ok, [d.render() for d in result.diagnostics]
    models = next(t for p, t in result.files.items() if p.endswith("/models.py"))
    assert 'Nested = TypeAliasType("Nested", "list[JsonInt | Nested]")' in models
    assert 'NestedLeveretSelf = TypeAliasType("NestedLeveretSelf", list[str])' in models
