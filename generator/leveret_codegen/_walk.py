"""Find every JSON Schema in a definition: the roots (types, request, response, error details)
and their subschemas. Defensive about shape, so it can run on documents the meta-schema rejected.
"""

from __future__ import annotations

from collections.abc import Iterator

from leveret_codegen._loader import Pointer

__all__ = ["iter_schema_roots", "iter_schemas"]


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
        yield from _descend(pointer, schema)


def _descend(
    pointer: Pointer, schema: dict[str, object]
) -> Iterator[tuple[Pointer, dict[str, object]]]:
    yield pointer, schema
    for name, sub in _mapping(schema.get("properties")).items():
        if isinstance(sub, dict):
            yield from _descend((*pointer, "properties", name), sub)
    for key in ("items", "additionalProperties"):
        sub = schema.get(key)
        if isinstance(sub, dict):
            yield from _descend((*pointer, key), sub)
    for key in ("allOf", "anyOf", "oneOf"):
        subs = schema.get(key)
        if isinstance(subs, list):
            for index, sub in enumerate(subs):
                if isinstance(sub, dict):
                    yield from _descend((*pointer, key, index), sub)
