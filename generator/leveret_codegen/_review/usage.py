"""Which schemas a run uses, and how: in requests, in responses, or only as exported types.

The walk starts at every method's request (REQUEST) and response (RESPONSE), at every declared
error's details (RESPONSE: they travel in replies) and at every type of a library (exported, so
used, in no particular role), and follows references across files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from leveret_codegen._loader import Pointer
from leveret_codegen._review.compare_schema import Role
from leveret_codegen._review.sources import Schema, Side
from leveret_codegen._walk import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE

__all__ = ["Usage", "find_usage", "label"]

Identity = tuple[str, Pointer]


@dataclass
class Usage:
    """``roles``: the roles of every object reached (by identity); ``used``: every schema reached,
    named types included (by identity: ``(file, ("types", name))``); ``members``: the schemas
    used as an ``allOf`` member (a ``$ref`` member by the type it names)."""

    roles: dict[Identity, tuple[Schema, Role]] = field(default_factory=dict)
    used: set[Identity] = field(default_factory=set)
    members: set[Identity] = field(default_factory=set)


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


#: Subschemas that constrain the instance itself, not a value inside it (``not``, a condition, a
#: branch applied when a condition holds): used, but in no role of their own, so that no object
#: advice (close it, keep it open) is given about what is only a partial view of its parent.
_IN_PLACE: Final = frozenset({"not", "if", "then", "else", "dependentSchemas"})


def children(schema: Schema) -> list[Schema]:
    """The direct subschemas of ``schema`` (boolean schemas have nothing to visit)."""
    found: list[Schema] = []
    data, at = schema.data, schema.pointer
    for key in data:
        value = data[key]
        if key in SCHEMA_MAPS:
            for name, sub in _mapping(value).items():
                if isinstance(sub, dict):
                    found.append(Schema(schema.document, (*at, key, name), sub))
        elif key in SCHEMA_ONE:
            if isinstance(value, dict):
                found.append(Schema(schema.document, (*at, key), value))
        elif key in SCHEMA_LISTS and isinstance(value, list):
            for index, sub in enumerate(value):
                if isinstance(sub, dict):
                    found.append(Schema(schema.document, (*at, key, index), sub))
    return found


def _in_place(parent: Schema, child: Schema) -> bool:
    return child.pointer[len(parent.pointer)] in _IN_PLACE


def find_usage(side: Side) -> Usage:
    usage = Usage()
    seen: set[tuple[Identity, Role | None]] = set()
    # A stack, not recursion: a long chain of types must not exhaust Python's stack.
    pending: list[tuple[Schema, Role | None]] = []

    def walk(schema: Schema, role: Role | None) -> None:
        pending.append((schema, role))
        while pending:
            visit(*pending.pop())

    def visit(schema: Schema, role: Role | None) -> None:
        if (schema.identity, role) in seen:
            return
        seen.add((schema.identity, role))
        usage.used.add(schema.identity)
        ref = schema.data.get("$ref")
        if isinstance(ref, str):
            target = side.resolver.resolve(schema.document, schema.pointer, ref)
            if target is not None:
                pending.append(
                    (
                        Schema(target.document, ("types", target.name), target.schema, target.name),
                        role,
                    )
                )
            return
        if role is not None:
            known = usage.roles.get(schema.identity)
            usage.roles[schema.identity] = (schema, role | known[1] if known else role)
        for child in reversed(children(schema)):
            if child.pointer[-2:-1] == ("allOf",):
                usage.members.add(side.follow(child).identity)
            pending.append((child, None if _in_place(schema, child) else role))

    for document in side.documents:
        data = _mapping(document.data)
        if "service" not in data:
            for name, schema in _mapping(data.get("types")).items():
                if isinstance(schema, dict):
                    walk(Schema(document, ("types", name), schema, name), None)
            continue
        for name, method in _mapping(data.get("methods")).items():
            for part, role in (("request", Role.REQUEST), ("response", Role.RESPONSE)):
                schema = _mapping(method).get(part)
                if isinstance(schema, dict):
                    walk(Schema(document, ("methods", name, part), schema), role)
        for name, error in _mapping(data.get("errors")).items():
            details = _mapping(error).get("details")
            if isinstance(details, dict):
                walk(Schema(document, ("errors", name, "details"), details), Role.RESPONSE)
    return usage


def label(pointer: Pointer) -> str:
    """A schema's place for people: ``Book.authors[]``, ``add.request``, ``Oops.details``."""
    text = ""
    rest: tuple[str | int, ...] = pointer
    if pointer[:1] == ("types",) and len(pointer) >= 2:
        text, rest = str(pointer[1]), pointer[2:]
    elif pointer[:1] in (("methods",), ("errors",)) and len(pointer) >= 3:
        text, rest = f"{pointer[1]}.{pointer[2]}", pointer[3:]
    while rest:
        key = rest[0]
        if key == "properties" and len(rest) >= 2:
            text, rest = f"{text}.{rest[1]}", rest[2:]
        elif key == "items":
            text, rest = f"{text}[]", rest[1:]
        elif key == "additionalProperties":
            text, rest = f"{text}{{}}", rest[1:]
        elif len(rest) >= 2:
            text, rest = f"{text}.{key}[{rest[1]}]", rest[2:]
        else:
            text, rest = f"{text}.{key}", rest[1:]
    return text
