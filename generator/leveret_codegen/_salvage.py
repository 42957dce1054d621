"""The part of a definition the meta-schema rejected that the semantic checks can still use.

A run reports every diagnostic it can (see the README), so a file with meta-schema errors is
still checked for unknown references, undeclared errors, name clashes and non-object messages.
The builder cannot take the file as it is (it trusts the meta-schema's shapes), so it gets a
copy in which each broken part is replaced by a neutral stand-in: a broken schema by an empty
one (an object schema where a message needs one), a broken error status by ``UNKNOWN``. Names
are kept, so a reference to a broken type still resolves instead of being reported as unknown,
and nothing in a stand-in produces a diagnostic of its own; what is lost is only what the broken
part would have let us check. The stand-ins never reach generated code: a file with an error
generates nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Final

from leveret_codegen._loader import LoadedDocument, Pointer
from leveret_codegen._names import STATUS_CLASSES
from leveret_codegen._walk import iter_schema_roots, iter_schemas

__all__ = ["STAND_IN", "salvage"]

_MESSAGES = ("request", "response")
# Keywords that say what a schema is (an object, a reference, a union): without them a request
# would read as "not an object", so a schema broken there is replaced as a whole.
_ERROR_NAME: Final = re.compile(r"[A-Z][A-Za-z0-9]*\Z")  # $defs/pascalName of the meta-schema
_SHAPE = frozenset({"type", "$ref", "allOf", "anyOf", "oneOf"})


#: Marks a stand-in for a message that was a reference (or not a schema at all): the builder
#: hoists an inline message as ``<Method>Request``, and a name the user never wrote would clash
#: with a type of that name (LV307) that the broken reference most likely meant.
STAND_IN: Final = "x-leveret-stand-in"


def _object() -> dict[str, object]:
    return {"type": "object"}


def _named_object() -> dict[str, object]:
    return {"type": "object", STAND_IN: True}


def salvage(document: LoadedDocument) -> LoadedDocument | None:
    """A copy of ``document`` with its meta-schema violations replaced by stand-ins, or None when
    too little of it is usable: its top level or its ``types`` or ``errors`` are not mappings,
    so every reference or error name would be reported as unknown."""
    data = document.data
    if not isinstance(data, dict):
        return None
    for section in ("types", "errors"):
        if section in data and not isinstance(data[section], dict):
            return None
    schemas = {pointer for pointer, _ in iter_schemas(data)}
    roots = {pointer for pointer, _ in iter_schema_roots(data)}
    # imported here: it imports jsonschema, slow to import, which most commands never need
    from leveret_codegen._metaschema import broken_pointers

    fixed = copy.deepcopy(data)
    # Parents first: once a broken schema is replaced, what was below it is gone with it.
    for pointer in sorted(broken_pointers(data), key=len):
        schema = next(
            (pointer[:n] for n in range(len(pointer), 0, -1) if pointer[:n] in schemas), None
        )
        if schema is not None and len(pointer) > len(schema) and pointer[len(schema)] not in _SHAPE:
            _drop(fixed, (*schema, pointer[len(schema)]))  # a constraint: the rest still holds
        elif schema is not None:
            _put(fixed, schema, _root_stand_in(_get(data, schema)) if schema in roots else {})
        elif pointer[:1] == ("types",) and len(pointer) >= 2:
            _put(fixed, pointer[:2], _object())  # a type that is not a mapping
        elif pointer[:1] == ("methods",):
            _fix_method(fixed, pointer)
        elif pointer[:1] == ("errors",) and len(pointer) >= 2:
            _fix_error(fixed, pointer)
    return dataclasses.replace(document, data=fixed)


def _fix_method(data: dict[str, object], pointer: Pointer) -> None:
    methods = data.get("methods")
    if not isinstance(methods, dict):
        data["methods"] = {}  # nothing refers to a method: dropping them hides no other check
        return
    if len(pointer) < 2:
        return
    method = methods.get(pointer[1])
    if not isinstance(method, dict):
        methods.pop(pointer[1], None)
        return
    part = pointer[2] if len(pointer) >= 3 else None
    if part in _MESSAGES:
        method[part] = _named_object()  # missing, or not a mapping: nothing to hoist
    elif part == "errors":
        # Keep each well-formed name once, so the rest are still checked as declared (LV306);
        # a malformed or repeated entry is the meta-schema's to report, and only once.
        names = method.get("errors")
        kept = (
            [n for n in names if isinstance(n, str) and _ERROR_NAME.match(n)]
            if isinstance(names, list)
            else []
        )
        method["errors"] = list(dict.fromkeys(kept))


def _fix_error(data: dict[str, object], pointer: Pointer) -> None:
    errors = data["errors"]
    assert isinstance(errors, dict)
    error = errors.get(pointer[1])
    if not isinstance(error, dict):
        errors[pointer[1]] = {"status": "UNKNOWN"}
        return
    status = error.get("status")
    if not isinstance(status, str) or status not in STATUS_CLASSES:
        error["status"] = "UNKNOWN"
    if "details" in error and not isinstance(error["details"], dict):
        error["details"] = _named_object()


def _root_stand_in(original: object) -> dict[str, object]:
    """An inline schema the user wrote keeps its hoisted name; a reference names another."""
    if isinstance(original, dict) and "$ref" not in original:
        return _object()
    return _named_object()


def _drop(data: dict[str, object], pointer: Pointer) -> None:
    """Remove the key at ``pointer``, unless a stand-in higher up has already replaced it."""
    parent = _get(data, pointer[:-1])
    if isinstance(parent, dict):
        parent.pop(str(pointer[-1]), None)


def _get(data: object, pointer: Pointer) -> object:
    node = data
    for step in pointer:
        if not _has(node, step):
            return None
        node = node[step]  # type: ignore[index]
    return node


def _has(node: object, step: str | int) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)


def _put(data: dict[str, object], pointer: Pointer, value: object) -> None:
    """Set the value at ``pointer``, unless a stand-in higher up has already replaced it."""
    node = _get(data, pointer[:-1])
    last = pointer[-1]
    if isinstance(node, dict) or _has(node, last):
        node[last] = value  # type: ignore[index]
