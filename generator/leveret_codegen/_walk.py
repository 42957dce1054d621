"""Find every JSON Schema in a definition: the roots (types, request, response, error details)
and their subschemas. Defensive about shape, so it can run on documents the meta-schema rejected.
"""

from __future__ import annotations

from collections.abc import Iterator

from leveret_codegen._loader import Pointer

__all__ = [
    "SCHEMA_LISTS",
    "SCHEMA_MAPS",
    "SCHEMA_ONE",
    "iter_schema_roots",
    "iter_schemas",
    "iter_subschemas",
]


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def iter_schema_roots(data: object) -> Iterator[tuple[Pointer, dict[str, object]]]:
    """Top-level schemas, in file order: types, then error details, then requests/responses."""
    top = _mapping(data)
    for name, schema in _mapping(top.get("types")).items():
        if isinstance(schema, dict):
            yield ("types", name), schema
    for name, error in _mapping(top.get("errors")).items():
        details = _mapping(error).get("details")
        if isinstance(details, dict):
            yield ("errors", name, "details"), details
    for name, method in _mapping(top.get("methods")).items():
        for part in ("request", "response"):
            schema = _mapping(method).get(part)
            if isinstance(schema, dict):
                yield ("methods", name, part), schema


def iter_schemas(data: object) -> Iterator[tuple[Pointer, dict[str, object]]]:
    """Every schema object of the document, parents before children."""
    for pointer, schema in iter_schema_roots(data):
        yield from iter_subschemas(pointer, schema)


def iter_subschemas(
    pointer: Pointer, schema: dict[str, object]
) -> Iterator[tuple[Pointer, dict[str, object]]]:
    """``schema`` (found at ``pointer``) and every schema inside it, parents before children,
    in file order. A stack, not recursion, so that depth costs no Python stack."""
    pending: list[tuple[Pointer, dict[str, object]]] = [(pointer, schema)]
    while pending:
        at, current = pending.pop()
        yield at, current
        pending.extend(reversed(_children(at, current)))


#: Where JSON Schema 2020-12 holds subschemas: a map of them, one, or a list of them.
SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
SCHEMA_ONE = (
    "items",
    "additionalProperties",
    "propertyNames",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
)
SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf")


def _children(
    pointer: Pointer, schema: dict[str, object]
) -> list[tuple[Pointer, dict[str, object]]]:
    found: list[tuple[Pointer, dict[str, object]]] = []
    for key in schema:
        value = schema[key]
        if key in SCHEMA_MAPS:
            for name, sub in _mapping(value).items():
                if isinstance(sub, dict):
                    found.append(((*pointer, key, name), sub))
        elif key in SCHEMA_ONE:
            if isinstance(value, dict):
                found.append(((*pointer, key), value))
        elif key in SCHEMA_LISTS and isinstance(value, list):
            for index, sub in enumerate(value):
                if isinstance(sub, dict):
                    found.append(((*pointer, key, index), sub))
    return found
