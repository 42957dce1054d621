"""Conformance: generated models give the JSON-Schema-Test-Suite's verdicts, or leveret says no.

``design.md`` (Conformance): "A definition means what it says only if the generated models give
the suite's verdict on every test of every keyword leveret accepts; keywords it cannot enforce
are refused or warned at generate time." This module keeps that true over the official suite
files, copied with their licence into ``tests/data/json-schema-test-suite/draft2020-12/``
(``LEVERET_JSON_SCHEMA_SUITE`` overrides the folder). Every group of every file is fed to
leveret, none is skipped, and ends up in one of two places:

* **refused**: the front end reports errors (or LV402 warnings) for it. ``REFUSED`` pins the
  exact set of codes (``REFUSED_INLINE`` the extra ones of the inline form), so a refusal cannot
  turn into silence unnoticed. Independently of the table, every keyword in
  ``_keywords.NOT_ENFORCED`` must get an LV401 naming it, every one in ``NO_EFFECT`` an LV402.
  Refs a definition cannot express (``$id``, URNs, anchors, remote or ``#/properties/...``
  pointers) are fed as they are and must be refused like the rest.
* **verdict**: leveret accepts it, so every test's ``data`` is validated by the generated models
  the way the runtime validates wire input: ``model_validate_json(body, strict=True)`` on the
  body ``{"value": data}``. It must get the suite's ``valid``. Each schema is checked in two
  forms, as a named type (``value: {$ref: "#/types/<Name>"}``) and inline (``value: <schema>``),
  all from one generator run. Lax validation of Python arguments coerces by design and is not
  what the wire sees, so it is not checked. A test listed in ``DIVERGENCES`` (accepted, with
  the reason) or ``KNOWN_BUGS`` (not accepted: to fix) must fail (strict xfail), so a fix
  shows up as a failure until the entry goes.

A suite schema goes into a definition with the rewrites leveret's own hints ask for:
``$schema`` is dropped (LV401: every schema of a definition is 2020-12); each root ``$defs``
entry becomes a type of its own, and ``#/$defs/<key>`` and ``#`` refs point at the types (LV401's
hint for ``$defs``); other refs are left alone. A group refused *only* for LV404 (constraints
without ``type``: most suite schemas) is checked again as a "typed" variant with LV404's hint
applied, each such subschema getting the ``type`` its keywords imply. That is done only where
the added type is a plain conjunction (the root, ``properties``, ``items``,
``additionalProperties``, ``allOf``, and ``#`` refs only there), so the expected verdict stays
exact: the suite's verdict AND the verdict of the added types alone (a schema of ``type`` and
structure keywords, checked with ``jsonschema``). The typed variant then has all the group's
findings but LV404 (usually none, and then its verdicts are checked).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, NamedTuple
from urllib.parse import unquote

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from leveret_codegen import Diagnostic
from leveret_codegen._frontend import load_services
from leveret_codegen._keywords import NO_EFFECT, NOT_ENFORCED
from tests.support.generated import generate_into

ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(
    os.environ.get(
        "LEVERET_JSON_SCHEMA_SUITE",
        ROOT / "tests" / "data" / "json-schema-test-suite" / "draft2020-12",
    )
)
if not SUITE.is_dir():
    # The data is part of the repository: a missing folder is a broken checkout or a wrong
    # override, never a reason to pass without checking.
    raise FileNotFoundError(f"no JSON-Schema-Test-Suite data at {SUITE}")

Schema = dict[str, Any]
#: (file relative to the suite folder, group description)
GroupKey = tuple[str, str]
#: (file, group description, test description)
TestKey = tuple[str, str, str]

# -- the tables ----------------------------------------------------------------------------------

#: Groups the front end refuses (or warns about), with the exact codes it reports for them.
REFUSED: Final[dict[GroupKey, str]] = {
    (
        "additionalProperties.json",
        "additionalProperties being false does not allow other properties",
    ): "LV401 LV404",
    ("additionalProperties.json", "non-ASCII pattern with additionalProperties"): "LV401 LV404",
    ("additionalProperties.json", "additionalProperties with schema"): "LV404",
    ("additionalProperties.json", "additionalProperties can exist by itself"): "LV404",
    ("additionalProperties.json", "additionalProperties are allowed by default"): "LV404",
    (
        "additionalProperties.json",
        "additionalProperties does not look in applicators",
    ): "LV401 LV404",
    (
        "additionalProperties.json",
        "additionalProperties with null valued instance properties",
    ): "LV404",
    ("additionalProperties.json", "additionalProperties with propertyNames"): "LV401 LV404",
    ("additionalProperties.json", "dependentSchemas with additionalProperties"): "LV401 LV404",
    ("allOf.json", "allOf"): "LV404",
    ("allOf.json", "allOf with base schema"): "LV404",
    ("allOf.json", "allOf simple types"): "LV404",
    ("allOf.json", "allOf with boolean schemas, all true"): "LV203",
    ("allOf.json", "allOf with boolean schemas, some false"): "LV203",
    ("allOf.json", "allOf with boolean schemas, all false"): "LV203",
    ("allOf.json", "allOf combined with anyOf, oneOf"): "LV404 LV407",
    ("anyOf.json", "anyOf"): "LV404",
    ("anyOf.json", "anyOf with base schema"): "LV404",
    ("anyOf.json", "anyOf with boolean schemas, all true"): "LV203",
    ("anyOf.json", "anyOf with boolean schemas, some true"): "LV203",
    ("anyOf.json", "anyOf with boolean schemas, all false"): "LV203",
    ("anyOf.json", "anyOf complex types"): "LV404",
    ("const.json", "const with object"): "LV406",
    ("const.json", "const with array"): "LV406",
    ("const.json", "const with null"): "LV406",
    ("const.json", "const with false does not match 0"): "LV406",
    ("const.json", "const with true does not match 1"): "LV406",
    ("const.json", "const with [false] does not match [0]"): "LV406",
    ("const.json", "const with [true] does not match [1]"): "LV406",
    ("const.json", 'const with {"a": false} does not match {"a": 0}'): "LV406",
    ("const.json", 'const with {"a": true} does not match {"a": 1}'): "LV406",
    ("const.json", "const with -2.0 matches integer and float types"): "LV406",
    ("default.json", "invalid type for default"): "LV404 LV410",
    ("default.json", "invalid string value for default"): "LV404 LV410",
    (
        "default.json",
        "the default keyword does not do anything if the property is missing",
    ): "LV410",
    ("defs.json", "validate definition against metaschema"): "LV208",
    ("dependentRequired.json", "single dependency"): "LV401",
    ("dependentRequired.json", "empty dependents"): "LV401",
    ("dependentRequired.json", "multiple dependents required"): "LV401",
    ("dependentRequired.json", "dependencies with escaped characters"): "LV401",
    ("enum.json", "heterogeneous enum validation"): "LV406",
    ("enum.json", "heterogeneous enum-with-null validation"): "LV406",
    ("enum.json", "enum with false does not match 0"): "LV406",
    ("enum.json", "enum with [false] does not match [0]"): "LV406",
    ("enum.json", "enum with true does not match 1"): "LV406",
    ("enum.json", "enum with [true] does not match [1]"): "LV406",
    ("enum.json", "enum with [0] does not match [false]"): "LV406",
    ("enum.json", "enum with [1] does not match [true]"): "LV406",
    ("enum.json", "empty enum"): "LV206",
    ("exclusiveMaximum.json", "exclusiveMaximum validation"): "LV404",
    ("exclusiveMinimum.json", "exclusiveMinimum validation"): "LV404",
    ("if-then-else.json", "ignore if without then or else"): "LV401",
    ("if-then-else.json", "ignore then without if"): "LV401",
    ("if-then-else.json", "ignore else without if"): "LV401",
    ("if-then-else.json", "if and then without else"): "LV401",
    ("if-then-else.json", "if and else without then"): "LV401",
    ("if-then-else.json", "validate against correct branch, then vs else"): "LV401",
    ("if-then-else.json", "non-interference across combined schemas"): "LV401",
    ("if-then-else.json", "if with boolean schema true"): "LV401",
    ("if-then-else.json", "if with boolean schema false"): "LV401",
    (
        "if-then-else.json",
        "if appears at the end when serialized (keyword processing sequence)",
    ): "LV401",
    ("if-then-else.json", "then: false fails when condition matches"): "LV401",
    ("if-then-else.json", "else: false fails when condition does not match"): "LV401",
    ("items.json", "a schema given for items"): "LV404",
    ("items.json", "items with boolean schema (true)"): "LV203 LV404",
    ("items.json", "items with boolean schema (false)"): "LV203 LV404",
    ("items.json", "items and subitems"): "LV203 LV309 LV401",
    ("items.json", "prefixItems with no additional items allowed"): "LV203 LV401 LV404",
    ("items.json", "items does not look in applicators, valid case"): "LV401 LV404",
    ("items.json", "prefixItems validation adjusts the starting index for items"): "LV401 LV404",
    ("items.json", "items with heterogeneous array"): "LV203 LV401 LV404",
    ("items.json", "items with null instance elements"): "LV404",
    ("maxItems.json", "maxItems validation"): "LV404",
    ("maxItems.json", "maxItems validation with a decimal"): "LV404",
    ("maxLength.json", "maxLength validation"): "LV404",
    ("maxLength.json", "maxLength validation with a decimal"): "LV404",
    ("maximum.json", "maximum validation"): "LV404",
    ("maximum.json", "maximum validation with unsigned integer"): "LV404",
    ("minItems.json", "minItems validation"): "LV404",
    ("minItems.json", "minItems validation with a decimal"): "LV404",
    ("minLength.json", "minLength validation"): "LV404",
    ("minLength.json", "minLength validation with a decimal"): "LV404",
    ("minimum.json", "minimum validation"): "LV404",
    ("minimum.json", "minimum validation with signed integer"): "LV404",
    ("multipleOf.json", "by int"): "LV404",
    ("multipleOf.json", "by number"): "LV404",
    ("multipleOf.json", "by small number"): "LV404",
    ("not.json", "not"): "LV401",
    ("not.json", "not multiple types"): "LV401",
    ("not.json", "not more complex schema"): "LV401",
    ("not.json", "forbidden property"): "LV401 LV404",
    ("not.json", "forbid everything with empty schema"): "LV401",
    ("not.json", "forbid everything with boolean schema true"): "LV401",
    ("not.json", "allow everything with boolean schema false"): "LV401",
    ("not.json", "double negation"): "LV401",
    ("not.json", "collect annotations inside a 'not', even if collection is disabled"): "LV401",
    ("oneOf.json", "oneOf"): "LV404 LV407",
    ("oneOf.json", "oneOf with base schema"): "LV404 LV407",
    ("oneOf.json", "oneOf with boolean schemas, all true"): "LV203 LV407",
    ("oneOf.json", "oneOf with boolean schemas, one true"): "LV203 LV407",
    ("oneOf.json", "oneOf with boolean schemas, more than one true"): "LV203 LV407",
    ("oneOf.json", "oneOf with boolean schemas, all false"): "LV203 LV407",
    ("oneOf.json", "oneOf complex types"): "LV404 LV407",
    ("oneOf.json", "oneOf with empty schema"): "LV407",
    ("oneOf.json", "oneOf with required"): "LV309 LV404 LV407",
    ("oneOf.json", "oneOf with missing optional property"): "LV203 LV404 LV407",
    ("oneOf.json", "nested oneOf, to check validation semantics"): "LV407",
    ("optional/format/date-time.json", "validation of date-time strings"): "LV404",
    ("optional/format/date.json", "validation of date strings"): "LV404",
    ("optional/format/email.json", "validation of e-mail addresses"): "LV404",
    ("optional/format/uri.json", "validation of URIs"): "LV404",
    ("optional/format/uuid.json", "uuid format"): "LV404",
    ("pattern.json", "pattern validation"): "LV404",
    ("pattern.json", "pattern is not anchored"): "LV404",
    ("patternProperties.json", "patternProperties validates properties matching a regex"): "LV401",
    ("patternProperties.json", "multiple simultaneous patternProperties are validated"): "LV401",
    (
        "patternProperties.json",
        "regexes are not anchored by default and are case sensitive",
    ): "LV401",
    ("patternProperties.json", "patternProperties with boolean schemas"): "LV401",
    ("patternProperties.json", "patternProperties with null valued instance properties"): "LV401",
    ("patternProperties.json", "patternProperties with Unicode property escape"): "LV401",
    ("prefixItems.json", "a schema given for prefixItems"): "LV401",
    ("prefixItems.json", "prefixItems with boolean schemas"): "LV401",
    ("prefixItems.json", "additional items are allowed by default"): "LV401",
    ("prefixItems.json", "prefixItems with null instance elements"): "LV401",
    ("properties.json", "object properties validation"): "LV404",
    (
        "properties.json",
        "properties, patternProperties, additionalProperties interaction",
    ): "LV401 LV404",
    ("properties.json", "properties with boolean schema"): "LV203 LV404",
    ("properties.json", "properties with escaped characters"): "LV310 LV404",
    ("properties.json", "properties with null valued instance properties"): "LV404",
    ("properties.json", "properties whose names are Javascript object property names"): "LV404",
    ("propertyNames.json", "propertyNames validation"): "LV401",
    ("propertyNames.json", "propertyNames validation with pattern"): "LV401",
    ("propertyNames.json", "propertyNames with boolean schema true"): "LV401",
    ("propertyNames.json", "propertyNames with boolean schema false"): "LV401",
    ("propertyNames.json", "propertyNames with const"): "LV401",
    ("propertyNames.json", "propertyNames with enum"): "LV401",
    ("ref.json", "root pointer ref"): "LV404",
    ("ref.json", "relative pointer ref to object"): "LV208 LV404",
    ("ref.json", "relative pointer ref to array"): "LV401",
    ("ref.json", "escaped pointer ref"): "LV404",
    ("ref.json", "ref applies alongside sibling keywords"): "LV404 LV409",
    ("ref.json", "remote ref, containing refs itself"): "LV208",
    ("ref.json", "property named $ref that is not a reference"): "LV404",
    ("ref.json", "property named $ref, containing an actual $ref"): "LV404",
    ("ref.json", "$ref to boolean schema true"): "LV203",
    ("ref.json", "$ref to boolean schema false"): "LV203",
    ("ref.json", "Recursive references between schemas"): "LV208 LV401",
    ("ref.json", "refs with quote"): "LV404",
    ("ref.json", "ref creates new scope when adjacent to keywords"): "LV401 LV409",
    ("ref.json", "naive replacement of $ref with its destination is not correct"): "LV406",
    ("ref.json", "refs with relative uris and defs"): "LV208 LV401 LV409",
    ("ref.json", "relative refs with absolute uris and defs"): "LV208 LV401 LV409",
    (
        "ref.json",
        "$id must be resolved against nearest parent, not just immediate parent",
    ): "LV208 LV401",
    ("ref.json", "order of evaluation: $id and $ref"): "LV208 LV401 LV404 LV409",
    ("ref.json", "order of evaluation: $id and $anchor and $ref"): "LV208 LV401 LV404 LV409",
    ("ref.json", "order of evaluation: $id and $ref on nested schema"): "LV208 LV401 LV409",
    ("ref.json", "simple URN base URI with $ref via the URN"): "LV208 LV401 LV404",
    ("ref.json", "simple URN base URI with JSON pointer"): "LV401 LV404",
    ("ref.json", "URN base URI with NSS"): "LV401 LV404",
    ("ref.json", "URN base URI with r-component"): "LV401 LV404",
    ("ref.json", "URN base URI with q-component"): "LV401 LV404",
    ("ref.json", "URN base URI with URN and JSON pointer ref"): "LV208 LV401 LV404",
    ("ref.json", "URN base URI with URN and anchor ref"): "LV208 LV401 LV404",
    ("ref.json", "URN ref with nested pointer ref"): "LV208 LV401 LV409",
    ("ref.json", "ref to if"): "LV208 LV401 LV409",
    ("ref.json", "ref to then"): "LV208 LV401 LV409",
    ("ref.json", "ref to else"): "LV208 LV401 LV409",
    ("ref.json", "ref with absolute-path-reference"): "LV208 LV401 LV409",
    ("ref.json", "$id with file URI still resolves pointers - *nix"): "LV401 LV409",
    ("ref.json", "$id with file URI still resolves pointers - windows"): "LV401 LV409",
    ("ref.json", "empty tokens in $ref json-pointer"): "LV208 LV401",
    ("required.json", "required validation"): "LV404",
    ("required.json", "required default validation"): "LV404",
    ("required.json", "required with empty array"): "LV404",
    ("required.json", "required with escaped characters"): "LV309 LV404",
    (
        "required.json",
        "required properties whose names are Javascript object property names",
    ): "LV309 LV404",
    ("uniqueItems.json", "uniqueItems validation"): "LV401",
    ("uniqueItems.json", "uniqueItems with an array of items"): "LV401",
    (
        "uniqueItems.json",
        "uniqueItems with an array of items and additionalItems=false",
    ): "LV203 LV401 LV404",
    ("uniqueItems.json", "uniqueItems=false with an array of items"): "LV401",
    (
        "uniqueItems.json",
        "uniqueItems=false with an array of items and additionalItems=false",
    ): "LV203 LV401 LV404",
}

#: Groups whose inline form (``value: <schema>``) gets codes the named form does not.
REFUSED_INLINE: Final[dict[GroupKey, str]] = {
    ("allOf.json", "allOf simple types"): "LV401",
    ("allOf.json", "allOf combined with anyOf, oneOf"): "LV401",
}

_ANNOTATION: Final = "format asserts nothing by default in 2020-12 (optional assertion test): "
_LEAP_SECOND: Final = "Python's datetime has no second 60, so pydantic rejects leap seconds"
_EMAIL: Final = "email-validator (EmailStr) refuses quoted local parts and address literals"
_NUMERIC_HOST: Final = (
    "pydantic's URL parser (WHATWG) reads an all-numeric host as IPv4, rejects it"
)

#: Tests whose verdict the generated models get wrong for an accepted reason, by group and test
#: description. Each must fail in every form it is checked in (strict xfail): when one starts
#: passing, remove it.
DIVERGENCES: Final[dict[GroupKey, dict[str, str]]] = {
    ("type.json", "integer type matches integers"): {
        "a float with zero fractional part is an integer": (
            "float/int: strict pydantic int rejects 1.0, which JSON Schema counts as an integer"
        ),
    },
    ("optional/format/date-time.json", "validation of date-time strings"): {
        "a valid date-time with a leap second, UTC": _LEAP_SECOND,
        "a valid date-time with a leap second, with minus offset": _LEAP_SECOND,
    },
    ("optional/format/email.json", "validation of e-mail addresses"): {
        "a quoted string with a space in the local part is valid": _EMAIL,
        "a quoted string with a double dot in the local part is valid": _EMAIL,
        "a quoted string with a @ in the local part is valid": _EMAIL,
        "an IPv4-address-literal after the @ is valid": _EMAIL,
        "an IPv6-address-literal after the @ is valid": _EMAIL,
    },
    ("optional/format/uri.json", "validation of URIs"): {
        "unescaped non US-ASCII characters": _ANNOTATION + "AnyUrl percent-encodes them",
        "URI with leading-zero IPv4 is structurally valid as a reg-name": _NUMERIC_HOST,
        "URI with out-of-bounds IPv4 is structurally valid as a reg-name": _NUMERIC_HOST,
    },
    ("optional/format/uuid.json", "uuid format"): {
        "no dashes": _ANNOTATION + "pydantic's UUID also parses the 32-digit form",
        "URN prefixed UUID is invalid": _ANNOTATION + "pydantic's UUID also parses urn:uuid:",
    },
}

#: Tests the models get wrong although leveret accepts the schema: bugs, not accepted
#: divergences. Strict xfail too, so that a fix (refuse, or generate better models) shows up.
#: Empty: the last ones (an integer Literal matched JSON true/false) are fixed in ``_models``.
KNOWN_BUGS: Final[dict[GroupKey, dict[str, str]]] = {}

# -- the suite -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteTest:
    description: str
    data: Any
    valid: bool


@dataclass(frozen=True)
class Group:
    file: str
    index: int
    description: str
    schema: Schema
    tests: tuple[SuiteTest, ...]

    @property
    def key(self) -> GroupKey:
        return (self.file, self.description)

    @property
    def base(self) -> str:
        """The group's type name: ``minimum.json`` group 1 -> ``Minimum1``."""
        parts = [p for p in re.split(r"[^A-Za-z0-9]+", self.file.removesuffix(".json")) if p]
        return "".join(p[0].upper() + p[1:] for p in parts if p != "optional") + str(self.index)


def _load_suite() -> list[Group]:
    groups: list[Group] = []
    for path in sorted(SUITE.rglob("*.json")):
        file = path.relative_to(SUITE).as_posix()
        for index, raw in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            tests = tuple(SuiteTest(t["description"], t["data"], t["valid"]) for t in raw["tests"])
            groups.append(Group(file, index, raw["description"], raw["schema"], tests))
    return groups


GROUPS: Final = _load_suite()

# -- walking suite schemas -----------------------------------------------------------------------

_SCHEMA_MAPS: Final = (
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
)
_SCHEMA_ONE: Final = (
    "additionalProperties",
    "items",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
)
_SCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
# Subschemas that must hold whenever their parent holds (and they apply at all).
_CONJUNCTIVE: Final = frozenset({"properties", "items", "additionalProperties", "allOf"})


class Where(NamedTuple):
    """Where a subschema sits: on a path of plain conjunctions from the root, inside ``$defs``."""

    conjunctive: bool = True
    in_defs: bool = False

    def child(self, keyword: str) -> Where:
        return Where(
            self.conjunctive and keyword in _CONJUNCTIVE,
            self.in_defs or keyword in ("$defs", "definitions"),
        )


def _rebuild(schema: Schema, visit: Callable[[Schema, Where], Schema], where: Where) -> Schema:
    """A copy of ``schema`` with ``visit`` applied to it and to each subschema, parents first.

    Only schema positions are visited: ``enum``/``const`` data or a property *named* ``$ref``
    is never taken for a schema.
    """
    node = visit(schema, where)
    out = dict(node)

    def sub(keyword: str, value: object) -> object:
        return _rebuild(value, visit, where.child(keyword)) if isinstance(value, dict) else value

    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: sub(key, s) for name, s in value.items()}
        elif key in _SCHEMA_ONE:
            out[key] = sub(key, value)
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [sub(key, s) for s in value]
    return out


def _nodes(schema: Schema) -> list[tuple[Schema, Where]]:
    found: list[tuple[Schema, Where]] = []

    def visit(node: Schema, where: Where) -> Schema:
        found.append((node, where))
        return node

    _rebuild(schema, visit, Where())
    return found


# What a constraint keyword implies when the schema has no `type` (LV404's hint), and what makes
# a schema typed for leveret (_keywords._TYPING).
_IMPLIES: Final[dict[str, str]] = {
    **dict.fromkeys(("minLength", "maxLength", "pattern", "format"), "string"),
    **dict.fromkeys(
        ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), "number"
    ),
    **dict.fromkeys(("items", "minItems", "maxItems"), "array"),
    **dict.fromkeys(("properties", "required", "additionalProperties"), "object"),
}
_TYPING: Final = frozenset({"type", "$ref", "allOf", "anyOf", "oneOf", "enum", "const"})


def _implied_types(node: Schema) -> set[str]:
    if _TYPING & node.keys():
        return set()
    return {_IMPLIES[k] for k in node if k in _IMPLIES}


def _typed(schema: Schema) -> Schema | None:
    """``schema`` with LV404's hint applied, or None when that is not a plain conjunction (a
    subschema to type sits below anyOf/oneOf/not/..., inside $defs, or implies two types), or
    when nothing needs a type."""
    nodes = _nodes(schema)
    needs = [(n, w) for n, w in nodes if _implied_types(n)]
    if not needs:
        return None
    if any(len(_implied_types(n)) > 1 or w != Where() for n, w in needs):
        return None
    # The root's type reaches every "#" ref: those must be plain conjunctions too.
    if any(n.get("$ref") == "#" and w != Where() for n, w in nodes):
        return None

    def add_type(node: Schema, where: Where) -> Schema:
        implied = _implied_types(node)
        return {"type": implied.pop(), **node} if implied else node

    return _rebuild(schema, add_type, Where())


def _skeleton(schema: Schema) -> Schema:
    """The ``type`` keywords of ``schema`` with just the structure that carries them."""
    out: Schema = {}
    if "type" in schema:
        out["type"] = schema["type"]
    if schema.get("$ref") == "#":
        out["$ref"] = "#"
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {
            name: _skeleton(sub)
            for name, sub in schema["properties"].items()
            if isinstance(sub, dict)
        }
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out[key] = _skeleton(schema[key])
    if isinstance(schema.get("allOf"), list):
        out["allOf"] = [_skeleton(sub) for sub in schema["allOf"] if isinstance(sub, dict)]
    return out


# -- from a group to definition types ------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One way a group's schema goes into the definition."""

    group: Group
    typed: bool
    name: str  # the type holding the group's schema
    schema: Schema  # as written into the definition (refs point at types)
    skeleton: Schema | None  # typed variant: the added types, for the expected verdict

    @property
    def label(self) -> str:
        return "typed" if self.typed else "as-is"

    def expected(self, test: SuiteTest) -> bool:
        if self.skeleton is None:
            return test.valid
        return test.valid and Draft202012Validator(self.skeleton).is_valid(test.data)


def _ref_target(ref: str, defs: dict[str, str], root: str) -> str:
    """The ``#/types/...`` ref for a suite ref to the root or a root ``$defs`` entry."""
    if ref == "#":
        return f"#/types/{root}"
    token = ref.removeprefix("#/$defs/")
    if token != ref and "/" not in token:
        key = unquote(token).replace("~1", "/").replace("~0", "~")
        if key in defs:
            return f"#/types/{defs[key]}"
    return ref  # anything else is left for leveret to refuse


def _retarget(schema: Schema, defs: dict[str, str], root: str) -> Schema:
    def visit(node: Schema, where: Where) -> Schema:
        ref = node.get("$ref")
        return {**node, "$ref": _ref_target(ref, defs, root)} if isinstance(ref, str) else node

    return _rebuild(schema, visit, Where())


def _definition_parts(group: Group) -> tuple[list[Variant], dict[str, object]]:
    """The group's variants and the types its root ``$defs`` become."""
    schema = {k: v for k, v in group.schema.items() if k != "$schema"}
    defs: dict[str, object] = schema.pop("$defs", {})  # a dict in every suite file
    names = {key: f"{group.base}Def{i}" for i, key in enumerate(defs)}
    hoisted = {
        names[key]: _retarget(sub, names, group.base) if isinstance(sub, dict) else sub
        for key, sub in defs.items()
    }
    variants = [Variant(group, False, group.base, _retarget(schema, names, group.base), None)]
    typed = _typed(schema)
    if typed is not None:
        name = f"{group.base}Typed"
        variants.append(Variant(group, True, name, _retarget(typed, names, name), _skeleton(typed)))
    return variants, hoisted


PARTS: Final = {g.key: _definition_parts(g) for g in GROUPS}
FORMS: Final = ("Named", "Inline")
#: What the front end's findings are attributed to: a group, typed or not, in one form.
Owner = tuple[GroupKey, bool, str]


def _codes(diagnostics: list[Diagnostic]) -> str:
    return " ".join(sorted({d.code for d in diagnostics}))


def _expected_codes(variant: Variant, form: str) -> str:
    """The codes ``REFUSED`` and ``REFUSED_INLINE`` promise for a variant in a form; the typed
    variant has LV404's hint applied, so it has every finding but LV404."""
    codes = set(REFUSED.get(variant.group.key, "").split())
    if variant.typed:
        codes.discard("LV404")
    if form == "Inline":
        codes |= set(REFUSED_INLINE.get(variant.group.key, "").split())
    return " ".join(sorted(codes))


def _checked(variant: Variant, form: str) -> bool:
    """Whether the variant generates cleanly in ``form``, so that its verdicts are checked. The
    typed variant is, in effect, checked only when LV404 was all that stood in the way."""
    return not _expected_codes(variant, form)


def _wrapper(value: Schema) -> Schema:
    return {"type": "object", "required": ["value"], "properties": {"value": value}}


def _variant_types(variant: Variant) -> dict[str, tuple[Schema, str]]:
    """The types a variant adds to the definition, with the form each belongs to."""
    return {
        variant.name: (variant.schema, "Named"),
        f"{variant.name}Named": (_wrapper({"$ref": f"#/types/{variant.name}"}), "Named"),
        f"{variant.name}Inline": (_wrapper(variant.schema), "Inline"),
    }


# -- the definition ------------------------------------------------------------------------------

# PyYAML (which also reads JSON definitions, for positions) breaks lines at U+0085/U+2028/U+2029
# and refuses some control characters: write every non-ASCII BMP character escaped.
_ESCAPE: Final = re.compile(r"[^\x20-\x7e\U00010000-\U0010ffff]")


def _json_line(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _write_definition(path: Path, package: str, types: list[tuple[str, object]]) -> list[int]:
    """Write a JSON definition with one type per line; returns each type's line number."""
    head = {"leveret": 1, "package": package, "service": "Conformance", "version": "1"}
    lines = [_json_line(head)[:-1] + ', "types": {']
    for index, (name, schema) in enumerate(types):
        comma = "," if index < len(types) - 1 else ""
        lines.append(f"{json.dumps(name)}: {_json_line(schema)}{comma}")
    lines.append("}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list(range(2, len(types) + 2))


def _package() -> str:
    return f"leveret_conformance_{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def front_end(tmp_path_factory: pytest.TempPathFactory) -> dict[Owner, list[Diagnostic]]:
    """The front end's findings for every variant of every applicable group in both forms, from
    one run over one definition (no models: that run would stop at the first error)."""
    types: list[tuple[str, object]] = []
    owners: list[list[Owner]] = []
    for group in GROUPS:
        variants, hoisted = PARTS[group.key]
        for variant in variants:
            for name, (schema, form) in _variant_types(variant).items():
                types.append((name, schema))
                owners.append([(group.key, variant.typed, form)])
        for name, hoisted_schema in hoisted.items():
            types.append((name, hoisted_schema))
            owners.append([(group.key, v.typed, form) for v in variants for form in FORMS])
    path = tmp_path_factory.mktemp("conformance") / "all.json"
    lines = _write_definition(path, _package(), types)
    _, diagnostics = load_services([path])
    by_line = dict(zip(lines, owners, strict=True))
    found: dict[Owner, list[Diagnostic]] = {}
    stray: list[str] = []
    for diagnostic in diagnostics:
        if diagnostic.line not in by_line:
            stray.append(diagnostic.render())
            continue
        for owner in by_line[diagnostic.line]:
            found.setdefault(owner, []).append(diagnostic)
    assert not stray, stray
    return found


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated models of every checked variant and form, from one generator run."""
    types: list[tuple[str, object]] = []
    for group in GROUPS:
        variants, hoisted = PARTS[group.key]
        added = [
            (name, schema)
            for variant in variants
            for name, (schema, form) in _variant_types(variant).items()
            if _checked(variant, form)
        ]
        types.extend(added)
        if added:
            types.extend(hoisted.items())
    root = tmp_path_factory.mktemp("conformance-models")
    package = _package()
    _write_definition(root / "checked.json", package, types)
    generate_into([root / "checked.json"], root / "out")
    sys.path.insert(0, str(root / "out"))
    try:
        yield importlib.import_module(f"{package}.models")
    finally:
        sys.path.remove(str(root / "out"))
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]


# -- refusals ------------------------------------------------------------------------------------


def _group_id(group: Group) -> str:
    return f"{group.file}:{group.description}"


@pytest.mark.parametrize("group", GROUPS, ids=_group_id)
def test_front_end_accepts_or_refuses_as_listed(
    group: Group, front_end: dict[Owner, list[Diagnostic]]
) -> None:
    """Each group's schema, in each variant and form, gets exactly the codes the tables list."""
    variants, _ = PARTS[group.key]
    for variant in variants:
        for form in FORMS:
            found = front_end.get((group.key, variant.typed, form), [])
            shown = "\n".join(d.render() for d in found)
            where = f"{variant.label}, {form}"
            assert _codes(found) == _expected_codes(variant, form), f"{where}:\n{shown}"


def _reachable(schema: Schema) -> Iterator[Schema]:
    """``schema`` and the subschemas leveret reads (below a refused keyword it reads no further)."""
    yield schema
    children: list[object] = [schema.get("items"), schema.get("additionalProperties")]
    if isinstance(schema.get("properties"), dict):
        children.extend(schema["properties"].values())
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            children.extend(schema[key])
    for child in children:
        if isinstance(child, dict):
            yield from _reachable(child)


_REPORTED_KEYWORD: Final = re.compile(r"^'([^']+)' ")


@pytest.mark.parametrize("group", GROUPS, ids=_group_id)
def test_unenforced_keywords_are_reported(
    group: Group, front_end: dict[Owner, list[Diagnostic]]
) -> None:
    """Independently of ``REFUSED``: every keyword the models would not enforce gets an LV401
    naming it, every annotation without effect an LV402."""
    variants, hoisted = PARTS[group.key]
    schemas = [variants[0].schema, *(s for s in hoisted.values() if isinstance(s, dict))]
    nodes = [node for schema in schemas for node in _reachable(schema)]
    expected = {("LV401", k) for node in nodes for k in node if k in NOT_ENFORCED}
    expected |= {("LV402", k) for node in nodes for k in node if k in NO_EFFECT}
    if any(node.get("uniqueItems") is True for node in nodes):
        expected.add(("LV401", "uniqueItems"))
    reported: set[tuple[str, str]] = set()
    for diagnostic in front_end.get((group.key, False, "Named"), []):
        if diagnostic.code in ("LV401", "LV402"):
            match = _REPORTED_KEYWORD.match(diagnostic.message)
            assert match, diagnostic.render()
            reported.add((diagnostic.code, match.group(1)))
    assert expected <= reported, sorted(expected - reported)


def _listed(table: dict[GroupKey, dict[str, str]]) -> dict[TestKey, str]:
    return {
        (*group, test): reason for group, tests in table.items() for test, reason in tests.items()
    }


def test_tables_name_real_groups_and_tests() -> None:
    keys = {g.key for g in GROUPS}
    for table in (REFUSED, REFUSED_INLINE):
        assert set(table) <= keys, set(table) - keys
    divergences, bugs = _listed(DIVERGENCES), _listed(KNOWN_BUGS)
    assert not set(divergences) & set(bugs)
    checked = {
        (v.group.file, v.group.description, t.description)
        for g in GROUPS
        for v in PARTS[g.key][0]
        if any(_checked(v, form) for form in FORMS)
        for t in v.group.tests
    }
    assert set(divergences) | set(bugs) <= checked, (set(divergences) | set(bugs)) - checked
    assert all(divergences.values()) and all(bugs.values())


# -- verdicts ------------------------------------------------------------------------------------


def _cases() -> Iterator[Any]:
    for group in GROUPS:
        for variant in PARTS[group.key][0]:
            for test in group.tests:
                listed = {**DIVERGENCES.get(group.key, {}), **KNOWN_BUGS.get(group.key, {})}
                reason = listed.get(test.description)
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                for form in FORMS:
                    if _checked(variant, form):
                        name = f"{group.file}:{group.description}:{test.description}"
                        yield pytest.param(
                            variant, test, form, id=f"{name}:{variant.label}:{form}", marks=marks
                        )


@pytest.mark.parametrize(("variant", "test", "form"), list(_cases()))
def test_verdict(variant: Variant, test: SuiteTest, form: str, models: ModuleType) -> None:
    """The generated model gives the suite's verdict on a test's data, sent as a wire body."""
    model = getattr(models, variant.name + form)
    assert isinstance(model, type) and issubclass(model, BaseModel)
    body = json.dumps({"value": test.data})
    try:
        model.model_validate_json(body, strict=True)
        accepted = True
    except ValidationError:
        accepted = False
    expected = variant.expected(test)
    group = variant.group
    assert accepted is expected, (
        f"{group.file} / {group.description} / {test.description} ({variant.label}, {form}): "
        f"the suite says {'valid' if test.valid else 'invalid'}"
        + ("" if expected == test.valid else ", the added types make it invalid")
        + f"; the model {'accepts' if accepted else 'rejects'} {body}"
    )
