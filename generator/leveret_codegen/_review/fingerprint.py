"""A schema's structure as canonical JSON: references resolved, annotations dropped.

Two schemas with the same fingerprint accept the same JSON, whatever their types are called and
however their keys are ordered, so a renamed type (or a reordered union) is recognised as the
same thing. A recursive reference becomes ``{"$recursive": n}``, ``n`` counting back along the
chain of schemas being expanded, so recursive types have finite fingerprints too.

Expanding every reference would make the form exponential in the reference graph (types T0..Tn,
each with two properties referring to the next, expand to 2**n copies of Tn), so:

- the form of a schema that is not part of a reference cycle is computed once (memoised per
  ``Follows``) and shared by every place that refers to it;
- a schema whose form has more than ``_LIMIT`` nodes is written as ``{"$sha256": <hex digest of
  its canonical text>}``, so no form, and no text hashed, grows past a bound per document node.
  Both only depend on the expanded structure, so equal structures still have equal forms, and
  forms of ordinary size are unchanged;
- reference cycles whose expansion still takes more than ``_BUDGET`` steps (a hostile document:
  many distinct paths through one cycle) are written as a graph instead: the root with each
  reference as ``{"$type": "<where the type is>"}`` and the forms of the types it reaches,
  which is linear too but no longer independent of the types' names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Final, Protocol
from weakref import WeakKeyDictionary

from leveret_codegen._review.sources import Schema
from leveret_codegen._walk import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE

__all__ = ["ANNOTATIONS", "Follows", "canonical", "fingerprint"]

#: Keywords that change no instance's validity (``default`` does change behaviour: kept).
ANNOTATIONS: Final = frozenset({"description", "title", "examples", "$comment", "deprecated"})
_UNORDERED: Final = frozenset({"required", "enum", "anyOf", "oneOf", "type"})
#: Forms with more nodes than this are written as their hash (larger than any sane type).
_LIMIT: Final = 2000
#: Expansions of schemas on reference cycles one root may take before it is written as a graph.
_BUDGET: Final = 5_000

_Identity = tuple[str, tuple[str | int, ...]]


class Follows(Protocol):
    """What resolves references: a ``Side`` of ``leveret breaking``, or the generator's view of
    one self-contained definition document (``leveret_codegen._contract``)."""

    def follow(self, schema: Schema) -> Schema:
        """Follow ``$ref``-only chains to the schema that says something (unchanged if broken)."""


@dataclass(frozen=True, slots=True)
class _Form:
    value: object
    size: int  # nodes of ``value``
    recursive: bool  # whether the expansion met a schema being expanded


class _TooComplex(Exception):
    pass


class _Memo:
    """What one ``Follows`` has computed: forms of schemas on no reference cycle (the same
    wherever they are reached), and the roots that had to be written as a graph."""

    def __init__(self) -> None:
        self.forms: dict[_Identity, tuple[object, _Form]] = {}
        self.graphs: dict[_Identity, tuple[object, object]] = {}


_MEMOS: WeakKeyDictionary[object, _Memo] = WeakKeyDictionary()


def fingerprint(side: Follows, schema: Schema) -> str:
    return json.dumps(canonical(side, schema), sort_keys=True, separators=(",", ":"))


def canonical(side: Follows, schema: Schema) -> object:
    """The canonical form of ``schema`` as JSON data (``fingerprint`` is its text)."""
    try:
        memo = _MEMOS.setdefault(side, _Memo())
    except TypeError:  # not weakly referenceable: nothing shared between calls
        memo = _Memo()
    known = memo.graphs.get(schema.identity)
    if known is not None and known[0] is schema.data:
        return known[1]
    try:
        return _Canon(side, memo.forms, graph=False).schema(schema).value
    except _TooComplex:
        canon = _Canon(side, {}, graph=True)
        root = canon.schema(schema).value
        types: dict[str, object] = {}
        while canon.pending:
            key, target = canon.pending.pop()
            types[key] = canon.expand(target).value
        graph = {"$graph": {"root": root, "types": types}}
        memo.graphs[schema.identity] = (schema.data, graph)
        return graph


class _Canon:
    """One canonical form being computed (the stack of schemas being expanded)."""

    def __init__(
        self,
        side: Follows,
        shared: dict[_Identity, tuple[object, _Form]],
        *,
        graph: bool,
    ) -> None:
        self.side = side
        self.shared = shared
        self.graph = graph
        self.stack: list[_Identity] = []
        self.where: dict[_Identity, int] = {}
        # forms of schemas on a cycle depend on the stack: memoised by (stack, schema), the
        # stack named by an interned number so a key costs the same at any depth
        self.stack_id = 0
        self.stack_ids: dict[tuple[int, _Identity], int] = {}
        self.local: dict[tuple[int, _Identity], tuple[object, _Form]] = {}
        self.work = 0
        self.named: set[str] = set()
        self.pending: list[tuple[str, Schema]] = []

    def schema(self, schema: Schema) -> _Form:
        data = schema.data
        beside = {
            k: v
            for k, v in data.items()
            if k != "$ref" and k not in ANNOTATIONS and not k.startswith("x-")
        }
        if isinstance(data.get("$ref"), str) and beside:
            # a $ref with keywords beside it is both (2020-12): following it must not drop them
            # (``default`` included: ``breaking`` reports changing it)
            both: dict[str, object] = {"allOf": [{"$ref": data["$ref"]}, beside]}
            return self.schema(Schema(schema.document, schema.pointer, both))
        followed = self.side.follow(schema)
        if isinstance(followed.data.get("$ref"), str):
            return _Form({"$ref": followed.data["$ref"]}, 2, False)  # unresolvable: the text
        identity = followed.identity
        if self.graph and followed.data is not data:
            key = f"{identity[0]}#/{'/'.join(str(p) for p in identity[1])}"
            if key not in self.named:
                self.named.add(key)
                self.pending.append((key, followed))
            return _Form({"$type": key}, 2, False)
        at = self.where.get(identity)
        if at is not None:
            return _Form({"$recursive": len(self.stack) - at}, 2, True)
        hit = self.shared.get(identity)
        if hit is not None and hit[0] is followed.data:
            return hit[1]
        local_key = (self.stack_id, identity)
        hit = self.local.get(local_key)
        if hit is not None and hit[0] is followed.data:
            return hit[1]
        form = self.expand(followed)
        if form.recursive:
            # a form without a "$recursive" met no schema on the stack, so it is the same
            # under any stack; one with it is not, and only such forms can multiply
            self.work += 1
            if not self.graph and self.work > _BUDGET:
                raise _TooComplex
            self.local[local_key] = (followed.data, form)
        else:
            self.shared[identity] = (followed.data, form)
        return form

    def expand(self, followed: Schema) -> _Form:
        identity = followed.identity
        parent = self.stack_id
        self.where[identity] = len(self.stack)
        self.stack.append(identity)
        self.stack_id = self.stack_ids.setdefault((parent, identity), len(self.stack_ids) + 1)
        try:
            result, size, recursive = self._keywords(followed)
        finally:
            self.stack.pop()
            del self.where[identity]
            self.stack_id = parent
        if size <= _LIMIT:
            return _Form(result, size, recursive)
        text = json.dumps(result, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode()).hexdigest()
        return _Form({"$sha256": digest}, 2, recursive)

    def _keywords(self, followed: Schema) -> tuple[dict[str, object], int, bool]:
        result: dict[str, object] = {}
        size, recursive = 1, False
        for key, value in followed.data.items():
            if key in ANNOTATIONS or key.startswith("x-"):
                continue
            at = (*followed.pointer, key)
            forms: list[_Form] = []
            if key in SCHEMA_MAPS and isinstance(value, dict):
                named = {n: self._sub(followed, (*at, n), sub) for n, sub in value.items()}
                forms = list(named.values())
                result[key] = {n: form.value for n, form in named.items()}
            elif key in SCHEMA_ONE:
                form = self._sub(followed, at, value)
                forms = [form]
                result[key] = form.value
            elif key in SCHEMA_LISTS and isinstance(value, list):
                forms = [self._sub(followed, (*at, i), sub) for i, sub in enumerate(value)]
                parts = [form.value for form in forms]
                result[key] = _sorted(parts) if key in _UNORDERED else parts
            elif key in _UNORDERED and isinstance(value, list):
                result[key] = _sorted([_json_equal(v) for v in value])
                size += _nodes(value)
            else:
                # numbers as JSON compares them (1000 and 1000.0 are one value)
                result[key] = _json_equal(value)
                size += _nodes(value)
            size += 1 + sum(form.size for form in forms)
            recursive = recursive or any(form.recursive for form in forms)
        return result, size, recursive

    def _sub(self, parent: Schema, pointer: tuple[str | int, ...], value: object) -> _Form:
        if isinstance(value, bool):  # the boolean schemas, as the mappings they mean
            value = {} if value else {"not": {}}
        if not isinstance(value, dict):
            return _Form(_json_equal(value), _nodes(value), False)
        return self.schema(Schema(parent.document, pointer, value))


def _nodes(value: object) -> int:
    if isinstance(value, list):
        return 1 + sum(_nodes(v) for v in value)
    if isinstance(value, dict):
        return 1 + sum(_nodes(v) for v in value.values())
    return 1


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
