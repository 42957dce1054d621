"""A schema's structure as canonical JSON: references resolved, annotations dropped.

Two schemas with the same fingerprint accept the same JSON, whatever their types are called and
however their keys are ordered, so a renamed type (or a reordered union) is recognised as the
same thing. A recursive reference becomes ``{"$recursive": n}``, ``n`` counting back along the
chain of types being expanded, so recursive types have finite fingerprints too.
"""

from __future__ import annotations

import json
from typing import Final, Protocol

from leveret_codegen._review.sources import Schema
from leveret_codegen._walk import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE

__all__ = ["ANNOTATIONS", "Follows", "canonical", "fingerprint"]

#: Keywords that change no instance's validity (``default`` does change behaviour: kept).
ANNOTATIONS: Final = frozenset({"description", "title", "examples", "$comment", "deprecated"})
_UNORDERED: Final = frozenset({"required", "enum", "anyOf", "oneOf", "type"})


class Follows(Protocol):
    """What resolves references: a ``Side`` of ``leveret breaking``, or the generator's view of
    one self-contained definition document (``leveret_codegen._contract``)."""

    def follow(self, schema: Schema) -> Schema:
        """Follow ``$ref``-only chains to the schema that says something (unchanged if broken)."""


def fingerprint(side: Follows, schema: Schema) -> str:
    return json.dumps(canonical(side, schema), sort_keys=True, separators=(",", ":"))


def canonical(side: Follows, schema: Schema) -> object:
    """The canonical form of ``schema`` as JSON data (``fingerprint`` is its text)."""
    return _canonical(side, schema, ())


def _canonical(side: Follows, schema: Schema, stack: tuple[tuple[str, object], ...]) -> object:
    data = schema.data
    beside = {
        k: v
        for k, v in data.items()
        if k not in ("$ref", "default") and k not in ANNOTATIONS and not k.startswith("x-")
    }
    if isinstance(data.get("$ref"), str) and beside:
        # a $ref with keywords beside it is both (2020-12): following it must not drop them
        both: dict[str, object] = {"allOf": [{"$ref": data["$ref"]}, beside]}
        return _canonical(side, Schema(schema.document, schema.pointer, both), stack)
    followed = side.follow(schema)
    if isinstance(followed.data.get("$ref"), str):
        return {"$ref": followed.data["$ref"]}  # unresolvable: compare the text
    identity = followed.identity
    if identity in stack:
        return {"$recursive": len(stack) - stack.index(identity)}
    inner = (*stack, identity)
    result: dict[str, object] = {}
    for key, value in followed.data.items():
        if key in ANNOTATIONS or key.startswith("x-"):
            continue
        at = (*followed.pointer, key)
        if key in SCHEMA_MAPS and isinstance(value, dict):
            result[key] = {
                name: _sub(side, followed, (*at, name), sub, inner) for name, sub in value.items()
            }
        elif key in SCHEMA_ONE:
            result[key] = _sub(side, followed, at, value, inner)
        elif key in SCHEMA_LISTS and isinstance(value, list):
            parts = [_sub(side, followed, (*at, i), sub, inner) for i, sub in enumerate(value)]
            result[key] = _sorted(parts) if key in _UNORDERED else parts
        elif key in _UNORDERED and isinstance(value, list):
            result[key] = _sorted([_json_equal(v) for v in value])
        elif key == "const":
            result[key] = _json_equal(value)
        else:
            result[key] = value
    return result


def _sub(
    side: Follows,
    parent: Schema,
    pointer: tuple[str | int, ...],
    value: object,
    stack: tuple[tuple[str, object], ...],
) -> object:
    if isinstance(value, bool):  # the boolean schemas, as the mappings they mean
        value = {} if value else {"not": {}}
    if not isinstance(value, dict):
        return value
    return _canonical(side, Schema(parent.document, pointer, value), stack)


def _json_equal(value: object) -> object:
    """A value as JSON compares it: ``1.0`` is ``1`` (``true`` stays a boolean)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_json_equal(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_equal(v) for k, v in value.items()}
    return value


def _sorted(values: list[object]) -> list[object]:
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True))
