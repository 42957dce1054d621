"""JSON Schema -> TypeScript types: the types of the generated ``types.ts``.

A type says what TypeScript can say of a schema and is never narrower than it: every value the
schema accepts has the type. What TypeScript cannot say (``pattern``, ``minimum``, formats,
``uniqueItems``, ``not``, ``if``/``then``...) is left to the Ajv validators of the runtime, which
check every request and response against the schema itself (it travels in ``spec.ts``).

- ``type`` becomes ``string``, ``number`` (also for ``integer``), ``boolean``, ``null``, arrays
  (``T[]``, tuples for ``prefixItems``) and object types; a list of types a union.
- ``enum`` and ``const`` become unions of literal types (objects and arrays as literal object
  and tuple types); ``$ref`` the named type; ``anyOf``/``oneOf`` unions, ``allOf`` intersections.
- Properties not in ``required`` are optional (``?``). An object type lists its properties; an
  index signature only when the schema gives other keys a schema (``additionalProperties`` or
  ``patternProperties``), typed to hold the declared properties too. Absent
  ``additionalProperties`` (other keys allowed) and ``additionalProperties: false`` both give the
  plain object type: TypeScript has no exact types, an object type admits extra properties on
  any value that is not a fresh object literal, and the excess-property check on literals is
  what catches a misspelled property name. ``additionalProperties: false`` itself is Ajv's.
  Properties that only ``dependentSchemas`` or ``then``/``else`` declare are optional members
  too (unless ``additionalProperties`` rules them out).
- A schema without ``type`` (and no ``$ref``, ``enum``, ``const`` or composition to say more)
  accepts any JSON value: ``unknown``, as the Python models' ``Any``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from leveret_codegen._ts._literal import (
    INDENT,
    WIDTH,
    doc_comment,
    number_literal,
    property_key,
    string_literal,
)

__all__ = [
    "Member",
    "ObjectType",
    "TsType",
    "declaration",
    "print_type",
    "schema_type",
]

#: Largest integer a JavaScript number holds exactly (2**53 - 1).
MAX_SAFE_INTEGER = 2**53 - 1

_DEF_PREFIX = "#/$defs/"


# --- the type tree -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    text: str  # "string", "Sku", "'held'", "unknown"


@dataclass(frozen=True, slots=True)
class ArrayType:
    element: TsType


@dataclass(frozen=True, slots=True)
class TupleType:
    elements: tuple[TsType, ...]
    required: int  # how many leading elements are required
    rest: TsType | None  # the type of further elements; None: no more


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    type: TsType
    optional: bool
    doc: str = ""


@dataclass(frozen=True, slots=True)
class ObjectType:
    members: tuple[Member, ...]
    index: TsType | None  # the index signature's value type; None: no index signature


@dataclass(frozen=True, slots=True)
class UnionType:
    items: tuple[TsType, ...]


@dataclass(frozen=True, slots=True)
class IntersectionType:
    items: tuple[TsType, ...]


TsType = Leaf | ArrayType | TupleType | ObjectType | UnionType | IntersectionType

UNKNOWN = Leaf("unknown")
NEVER = Leaf("never")


def union(items: Iterable[TsType]) -> TsType:
    """A union without duplicates, ``never`` members dropped, ``unknown`` absorbing all."""
    flat: list[TsType] = []
    for item in items:
        for part in item.items if isinstance(item, UnionType) else (item,):
            if part == UNKNOWN:
                return UNKNOWN
            if part != NEVER and part not in flat:
                flat.append(part)
    if not flat:
        return NEVER
    return flat[0] if len(flat) == 1 else UnionType(tuple(flat))


def intersection(items: Iterable[TsType]) -> TsType:
    """An intersection without duplicates, ``unknown`` members dropped, ``never`` absorbing."""
    flat: list[TsType] = []
    for item in items:
        for part in item.items if isinstance(item, IntersectionType) else (item,):
            if part == NEVER:
                return NEVER
            if part != UNKNOWN and part not in flat:
                flat.append(part)
    if not flat:
        return UNKNOWN
    return flat[0] if len(flat) == 1 else IntersectionType(tuple(flat))


# --- schema -> type ----------------------------------------------------------------------------

_PRIMITIVES = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}


def schema_type(schema: object) -> TsType:
    """The TypeScript type of a schema of the models document (``$ref`` is ``#/$defs/<Name>``)."""
    if schema is True:
        return UNKNOWN
    if not isinstance(schema, dict):
        return NEVER  # false: no value at all
    parts: list[TsType] = []
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEF_PREFIX):
        parts.append(Leaf(ref[len(_DEF_PREFIX) :]))
    if "const" in schema:
        parts.append(literal_type(schema["const"]))
    elif isinstance(schema.get("enum"), list):
        parts.append(union(literal_type(v) for v in schema["enum"]))
    else:  # the literals are exact already: ``type`` adds nothing to them
        parts.append(_typed(schema))
    for keyword in ("anyOf", "oneOf"):
        members = schema.get(keyword)
        if isinstance(members, list):
            parts.append(union(schema_type(_typed_as(m, schema)) for m in members))
    members = schema.get("allOf")
    if isinstance(members, list):
        parts.extend(schema_type(_typed_as(m, schema)) for m in members)
    return intersection(parts)


def _typed_as(member: object, parent: dict[str, object]) -> object:
    """A composition member without ``type`` of its own, read with its parent's: the parent
    admits only values of that type anyway, so ``{type: object, allOf: [{properties: ...}]}``
    types the member's properties instead of leaving it ``unknown``."""
    if (
        isinstance(member, dict)
        and "type" not in member
        and "type" in parent
        and not {"$ref", "enum", "const"} & member.keys()
    ):
        return {**member, "type": parent["type"]}
    return member


def _typed(schema: dict[str, object]) -> TsType:
    names = schema.get("type")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        return UNKNOWN
    types: list[TsType] = []
    for name in names:
        if name in _PRIMITIVES:
            types.append(Leaf(_PRIMITIVES[name]))
        elif name == "null":
            types.append(Leaf("null"))
        elif name == "array":
            types.append(_array(schema))
        elif name == "object":
            types.append(_object(schema))
    return union(types)


def _array(schema: dict[str, object]) -> TsType:
    items = schema.get("items", True)
    prefix = schema.get("prefixItems")
    if not isinstance(prefix, list) or not prefix:
        return ArrayType(schema_type(items))
    if "items" not in schema and not {"allOf", "anyOf", "oneOf"} & schema.keys():
        # Without a composition nothing else evaluates the items: unevaluatedItems is items.
        items = schema.get("unevaluatedItems", True)
    minimum = schema.get("minItems")
    maximum = schema.get("maxItems")
    if isinstance(maximum, int) and maximum <= len(prefix):
        prefix, items = prefix[:maximum], False
    required = min(minimum, len(prefix)) if isinstance(minimum, int) else 0
    rest = None if items is False else schema_type(items)
    return TupleType(tuple(schema_type(p) for p in prefix), required, rest)


def _object(schema: dict[str, object]) -> TsType:
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    required_names = (
        [r for r in required if isinstance(r, str)] if isinstance(required, list) else []
    )
    members = [
        Member(name, schema_type(sub), name not in required_names, _member_doc(sub))
        for name, sub in properties.items()
    ]
    members += [
        Member(n, UNKNOWN, False) for n in dict.fromkeys(required_names) if n not in properties
    ]
    if "additionalProperties" not in schema:
        members += _conditional_members(schema, {m.name for m in members})
    others: list[TsType] = []
    patterns = schema.get("patternProperties")
    if isinstance(patterns, dict):
        others.extend(schema_type(s) for s in patterns.values())
    additional = schema.get("additionalProperties", schema.get("unevaluatedProperties"))
    if additional is not None and additional is not False:
        others.append(schema_type(additional))
    if not members and additional is None and not others:
        others.append(UNKNOWN)  # {type: object} alone: any object
    index = None
    if others:
        # An index signature must admit the declared properties too (TS2411).
        optional = [Leaf("undefined")] if any(m.optional for m in members) else []
        index = union([*others, *(m.type for m in members), *optional])
        if index == NEVER:  # only ``false`` schemas: no other key at all
            index = None if members else NEVER
    elif not members and additional is False:
        index = NEVER  # the empty object, exactly
    return ObjectType(tuple(members), index)


def _conditional_members(schema: dict[str, object], declared: set[str]) -> list[Member]:
    """Optional members for the properties only ``dependentSchemas`` or ``then``/``else``
    declare: values may have them, so an object literal must be allowed to name them."""
    branches: list[object] = [schema.get("then"), schema.get("else")]
    dependent = schema.get("dependentSchemas")
    if isinstance(dependent, dict):
        branches.extend(dependent.values())
    found: dict[str, list[TsType]] = {}
    for branch in branches:
        properties = branch.get("properties") if isinstance(branch, dict) else None
        if isinstance(properties, dict):
            for name, sub in properties.items():
                if name not in declared:
                    found.setdefault(name, []).append(schema_type(sub))
    return [Member(name, union(types), True) for name, types in found.items()]


def _member_doc(schema: object) -> str:
    if not isinstance(schema, dict):
        return ""
    parts = []
    description = schema.get("description")
    if isinstance(description, str) and description.strip():
        parts.append(description.strip())
    if "default" in schema:
        parts.append(f"@defaultValue `{json.dumps(schema['default'], ensure_ascii=False)}`")
    if schema.get("deprecated") is True:
        parts.append("@deprecated")
    return "\n\n".join(parts)


def type_doc(schema: object) -> str:
    """The doc comment text of a named type: its description, ``@deprecated``."""
    if not isinstance(schema, dict):
        return ""
    parts = []
    description = schema.get("description")
    if isinstance(description, str) and description.strip():
        parts.append(description.strip())
    if schema.get("deprecated") is True:
        parts.append("@deprecated")
    return "\n\n".join(parts)


def literal_type(value: object) -> TsType:
    """The literal type of a JSON value (``enum``/``const``); a number JavaScript cannot hold
    exactly widens to ``number`` (the generator refuses such schemas before, see ``_checks``)."""
    if value is None:
        return Leaf("null")
    if isinstance(value, bool):
        return Leaf("true" if value else "false")
    if isinstance(value, int):
        return Leaf(str(value)) if abs(value) <= MAX_SAFE_INTEGER else Leaf("number")
    if isinstance(value, float):
        if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return Leaf(str(int(value)))
        return Leaf(number_literal(value))
    if isinstance(value, str):
        return Leaf(string_literal(value))
    if isinstance(value, list):
        elements = tuple(literal_type(v) for v in value)
        return TupleType(elements, len(elements), None)
    if isinstance(value, dict):
        members = tuple(Member(str(k), literal_type(v), False) for k, v in value.items())
        return ObjectType(members, None if members else NEVER)
    return NEVER


# --- printing ----------------------------------------------------------------------------------


def print_type(t: TsType, indent: str, column: int) -> str:
    """``t`` as source text whose first line starts at ``column`` and whose other lines are
    indented from ``indent``. A union that does not fit breaks before each ``|`` (starting with
    a newline, so the caller writes ``name:`` without a space after it)."""
    if isinstance(t, Leaf):
        return t.text
    if isinstance(t, ArrayType):
        element = print_type(t.element, indent, column)
        if isinstance(t.element, UnionType | IntersectionType) or element.startswith("\n"):
            element = f"({_one_line(t.element, indent)})"
        return f"{element}[]"
    if isinstance(t, TupleType):
        parts = []
        for position, item in enumerate(t.elements):
            text = _one_line(item, indent)
            if position >= t.required:
                text = (
                    f"({text})?" if isinstance(item, UnionType | IntersectionType) else f"{text}?"
                )
            parts.append(text)
        if t.rest is not None:
            rest = _one_line(t.rest, indent)
            parts.append(
                f"...({rest})[]"
                if isinstance(t.rest, UnionType | IntersectionType)
                else f"...{rest}[]"
            )
        return "[" + ", ".join(parts) + "]"
    if isinstance(t, ObjectType):
        return _print_object(t, indent, column)
    if isinstance(t, UnionType):
        texts = [_operand(item, indent, isinstance(item, UnionType)) for item in t.items]
        flat = " | ".join(texts)
        if "\n" not in flat and column + len(flat) <= WIDTH:
            return flat
        inner = indent + INDENT
        # An item's own lines align after "| ", as prettier does.
        aligned = inner + INDENT
        return "".join(
            f"\n{inner}| {_operand(item, aligned, False, column=len(aligned))}" for item in t.items
        )
    texts = [
        _operand(item, indent, isinstance(item, UnionType | IntersectionType)) for item in t.items
    ]
    return " & ".join(texts)


def _operand(t: TsType, indent: str, parens: bool, column: int = 0) -> str:
    text = print_type(t, indent, column) if not isinstance(t, UnionType) else _one_line(t, indent)
    return f"({text})" if parens else text


def _one_line(t: TsType, indent: str) -> str:
    """``t`` where a union must stay on its line (inside an array, tuple or intersection)."""
    if isinstance(t, UnionType):
        return " | ".join(_operand(i, indent, isinstance(i, UnionType)) for i in t.items)
    return print_type(t, indent, 0)


def _print_object(t: ObjectType, indent: str, column: int) -> str:
    """On one line when it fits and no member has a doc comment, else one member a line."""
    if not any(m.doc for m in t.members):
        parts = [
            f"{property_key(m.name)}{'?' if m.optional else ''}: {_one_line(m.type, indent)}"
            for m in t.members
        ]
        if t.index is not None:
            parts.append(f"[key: string]: {_one_line(t.index, indent)}")
        flat = "{ " + "; ".join(parts) + " }"
        if "\n" not in flat and column + len(flat) + 1 <= WIDTH:
            return flat
    inner = indent + INDENT
    lines = ["{"]
    lines.extend(member_lines(t.members, inner))
    if t.index is not None:
        head = f"{inner}[key: string]:"
        value = print_type(t.index, inner, len(head) + 1)
        lines.append(f"{head}{'' if value.startswith(chr(10)) else ' '}{value};")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def member_lines(members: Iterable[Member], indent: str) -> list[str]:
    """The lines of an object type's (or interface's) properties, each with its doc comment."""
    lines: list[str] = []
    for member in members:
        lines.extend(doc_comment(member.doc, indent))
        head = f"{indent}{property_key(member.name)}{'?' if member.optional else ''}:"
        value = print_type(member.type, indent, len(head) + 1)
        lines.append(f"{head}{'' if value.startswith(chr(10)) else ' '}{value};")
    return lines


def declaration(name: str, schema: object, t: TsType) -> list[str]:
    """``export interface`` (a plain object type) or ``export type`` for the named type."""
    lines = doc_comment(type_doc(schema), "")
    if isinstance(t, ObjectType) and (t.members or t.index is not None):
        lines.append(f"export interface {name} {{")
        lines.extend(member_lines(t.members, INDENT))
        if t.index is not None:
            head = f"{INDENT}[key: string]:"
            value = print_type(t.index, INDENT, len(head) + 1)
            lines.append(f"{head}{'' if value.startswith(chr(10)) else ' '}{value};")
        lines.append("}")
        return lines
    head = f"export type {name} ="
    value = print_type(t, "", len(head) + 1)
    lines.append(f"{head}{'' if value.startswith(chr(10)) else ' '}{value};")
    return lines


def defs_of(models_schema: Mapping[str, object]) -> dict[str, object]:
    defs = models_schema.get("$defs")
    return dict(defs) if isinstance(defs, dict) else {}
