"""Per-schema checks: only keywords the generated models enforce, used the way they enforce them.

reference/dmcg.md measured which JSON Schema keywords datamodel-code-generator's pydantic models
enforce. A definition must mean what it says, so a keyword the models would ignore is an error
(LV401), never silently dropped; annotation-only keywords that change nothing are warnings (LV402).
The same walk checks ``required`` and property names, which need nothing but the schema itself.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Final

import jsonschema

from leveret_codegen._diagnostics import Diagnostic, Severity
from leveret_codegen._loader import LoadedDocument, Pointer
from leveret_codegen._names import python_field_name
from leveret_codegen._walk import iter_schema_roots, iter_schemas

__all__ = ["SUPPORTED_KEYWORDS", "check_schemas"]

#: Keywords whose meaning the generated models keep.
SUPPORTED_KEYWORDS: Final = (
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "default",
    "title",
    "description",
    "examples",
    "deprecated",
    "$comment",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "$ref",
    "allOf",
    "anyOf",
    "oneOf",
    "discriminator",
)

_IN_HANDLER = "check it in the handler, where a failure can raise a declared error"
_USE_TYPES = 'name the schema under `types:` and reference it as "#/types/<Name>"'

#: Keywords the models would not enforce (dmcg.md, "What is and isn't enforced"), with advice.
NOT_ENFORCED: Final[dict[str, str]] = {
    "dependentRequired": _IN_HANDLER,
    "dependentSchemas": _IN_HANDLER,
    "if": "model the variants with oneOf and a discriminator, or " + _IN_HANDLER,
    "then": "model the variants with oneOf and a discriminator, or " + _IN_HANDLER,
    "else": "model the variants with oneOf and a discriminator, or " + _IN_HANDLER,
    "not": _IN_HANDLER,
    "prefixItems": "use an object with named properties instead of positional items",
    "additionalItems": "use `items`",
    "contains": _IN_HANDLER,
    "minContains": _IN_HANDLER,
    "maxContains": _IN_HANDLER,
    "patternProperties": "use `additionalProperties: <schema>` for a map, or list the properties",
    "propertyNames": "use an object with named properties, or " + _IN_HANDLER,
    "unevaluatedProperties": "use `additionalProperties: false`",
    "unevaluatedItems": "use `items`",
    "minProperties": _IN_HANDLER,
    "maxProperties": _IN_HANDLER,
    "$id": _USE_TYPES,
    "$anchor": _USE_TYPES,
    "$dynamicRef": _USE_TYPES,
    "$dynamicAnchor": _USE_TYPES,
    "$defs": _USE_TYPES,
    "definitions": _USE_TYPES,
    "$schema": "remove it: every schema of a definition is JSON Schema 2020-12",
    "$vocabulary": "remove it: every schema of a definition is JSON Schema 2020-12",
}

#: Annotations that neither validate nor reach the generated code.
NO_EFFECT: Final = ("contentEncoding", "contentMediaType", "contentSchema", "readOnly", "writeOnly")

# Which instance types a constraint applies to, and the `type` a schema without one implies.
_APPLIES_TO: Final[dict[str, tuple[frozenset[str], str]]] = {
    **{
        k: (frozenset({"string"}), "string")
        for k in ("minLength", "maxLength", "pattern", "format")
    },
    **{
        k: (frozenset({"number", "integer"}), "number")
        for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
    },
    **{k: (frozenset({"array"}), "array") for k in ("items", "minItems", "maxItems")},
    **{
        k: (frozenset({"object"}), "object")
        for k in ("properties", "required", "additionalProperties")
    },
}
# Next to $ref these are fine: they annotate the field, they do not constrain it.
_REF_SIBLINGS: Final = frozenset(
    {"$ref", "description", "title", "default", "deprecated", "examples", "$comment"}
)
_TYPING: Final = ("type", "$ref", "allOf", "anyOf", "oneOf", "enum", "const")


def check_schemas(doc: LoadedDocument) -> list[Diagnostic]:
    """Keyword, ``required`` and property-name findings for every schema of ``doc``."""
    found: list[Diagnostic] = []
    roots = {pointer for pointer, _ in iter_schema_roots(doc.data)}
    for pointer, schema in iter_schemas(doc.data):
        found.extend(_keywords(doc, pointer, schema))
        found.extend(_types(doc, pointer, schema))
        found.extend(_values(doc, pointer, schema))
        found.extend(_composition(doc, pointer, schema))
        found.extend(_all_of(doc, pointer, schema, at_root=pointer in roots))
        found.extend(_object(doc, pointer, schema))
        found.extend(_default(doc, pointer, schema))
    return found


_JSON_TYPES: Final = frozenset(
    {"string", "integer", "number", "boolean", "object", "array", "null"}
)


def _types_of(schema: dict[str, object]) -> set[str] | None:
    """The declared types; None when there is no ``type`` or it is malformed (the meta-schema
    reports that, and guessing here would only add noise)."""
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not all(
        isinstance(n, str) and n in _JSON_TYPES for n in names
    ):
        return None
    return {str(n) for n in names}


def _keywords(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    for key in schema:
        at = (*pointer, key)
        if key.startswith("x-") or (key in SUPPORTED_KEYWORDS and key != "uniqueItems"):
            continue
        if key == "uniqueItems":
            if schema[key] is True:
                yield doc.diagnostic(
                    at,
                    "LV401",
                    "'uniqueItems' is not enforced by the generated models",
                    _IN_HANDLER,
                    at_key=True,
                )
        elif key in NOT_ENFORCED:
            yield doc.diagnostic(
                at,
                "LV401",
                f"{key!r} is not enforced by the generated models",
                NOT_ENFORCED[key],
                at_key=True,
            )
        elif key in NO_EFFECT:
            yield doc.diagnostic(
                at,
                "LV402",
                f"{key!r} is an annotation the generated models ignore",
                "remove it, or rename it `x-" + key + "` to keep it as documentation",
                at_key=True,
                severity=Severity.WARNING,
            )
        else:
            close = difflib.get_close_matches(key, SUPPORTED_KEYWORDS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            yield doc.diagnostic(
                at,
                "LV403",
                f"unknown schema keyword {key!r}",
                hint + "prefix extension keywords with `x-`",
                at_key=True,
            )


def _types(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    types = _types_of(schema)
    if "$ref" in schema:
        extra = [k for k in schema if k not in _REF_SIBLINGS and not k.startswith("x-")]
        for key in extra:
            yield doc.diagnostic(
                (*pointer, key),
                "LV409",
                f"{key!r} next to $ref is ignored by the generated models",
                "combine them with allOf: [{$ref: ...}, {" + key + ": ...}]",
                at_key=True,
            )
        return
    untyped = not any(k in schema for k in _TYPING)
    for key in schema:
        if key not in _APPLIES_TO:
            continue
        applies, implied = _APPLIES_TO[key]
        if untyped:
            yield doc.diagnostic(
                (*pointer, key),
                "LV404",
                f"{key!r} in a schema without `type`: the models would accept any value",
                f"add `type: {implied}`",
                at_key=True,
            )
        elif types is not None and not types & applies:
            shown = " or ".join(sorted(types))
            yield doc.diagnostic(
                (*pointer, key),
                "LV405",
                f"{key!r} does not apply to type {shown}",
                f"it constrains {implied} values; remove it or change the type",
                at_key=True,
            )


def _values(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    """enum/const values must be strings or integers: dmcg turns them into Literal types, whose
    Python equality lets true match 1; floats, null, lists and mappings are dropped to Any."""
    types = _types_of(schema)
    values: list[tuple[Pointer, object]] = []
    if isinstance(schema.get("enum"), list):
        enum = schema["enum"]
        assert isinstance(enum, list)
        values.extend(((*pointer, "enum", i), v) for i, v in enumerate(enum))
    if "const" in schema:
        values.append(((*pointer, "const"), schema["const"]))
    for at, value in values:
        shown = json.dumps(value, ensure_ascii=False)
        if value is None:
            yield doc.diagnostic(
                at,
                "LV406",
                "null as an enum/const value is not enforced exactly",
                'allow null with `type: [<type>, "null"]` instead',
            )
        elif isinstance(value, bool) or not isinstance(value, (str, int)):
            yield doc.diagnostic(
                at,
                "LV406",
                f"enum/const value {shown} is not enforced exactly: only strings and integers are",
                "use string values",
            )
        elif types is not None:
            kind = "string" if isinstance(value, str) else "integer"
            accepted = {kind, "number"} if kind == "integer" else {kind}
            if not types & accepted:
                yield doc.diagnostic(
                    at,
                    "LV406",
                    f"enum/const value {shown} is not of the schema's type "
                    + " or ".join(sorted(types)),
                    "make the values match the type",
                )


def _composition(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    has_discriminator = isinstance(schema.get("discriminator"), dict)
    if "oneOf" in schema and not has_discriminator:
        yield doc.diagnostic(
            (*pointer, "oneOf"),
            "LV407",
            "'oneOf' without a discriminator: the models accept a value matching several branches",
            "use anyOf (what the models enforce), or make the branches object types with a "
            "common tag property and add `discriminator: {propertyName: <tag>}`",
            at_key=True,
        )
    if not has_discriminator:
        return
    branches = schema.get("oneOf")
    if not isinstance(branches, list):
        yield doc.diagnostic(
            (*pointer, "discriminator"),
            "LV408",
            "'discriminator' without 'oneOf'",
            "list the tagged object types under oneOf",
            at_key=True,
        )
        return
    for index, branch in enumerate(branches):
        if not (isinstance(branch, dict) and "$ref" in branch):
            yield doc.diagnostic(
                (*pointer, "oneOf", index),
                "LV408",
                "a branch of a discriminated oneOf must be a $ref to an object type",
                'name the branch under `types:` and write {$ref: "#/types/<Name>"}',
            )


# What an inline allOf member below the root of a schema loses (dmcg keeps only its `type`).
_MERGED_ONLY_AT_ROOT: Final = frozenset(
    {k for k, (applies, _) in _APPLIES_TO.items() if "object" not in applies}
    | {"enum", "const", "uniqueItems"}
)


def _all_of(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object], *, at_root: bool
) -> Iterator[Diagnostic]:
    """Two uses of allOf whose meaning the models change (found by tests/codegen/test_conformance).

    ``additionalProperties`` next to ``allOf``/``anyOf``/``oneOf`` applies, in JSON Schema, only to
    the properties declared beside it, so it rejects (or constrains) the members' properties;
    the models merge the members into one class and accept them. And the models merge the
    constraints of non-object allOf members only at the root of a named type, request, response
    or details: below it (a property, an item), an inline member keeps its `type` and loses the
    rest.
    """
    applicators = [k for k in ("allOf", "anyOf", "oneOf") if k in schema]
    if applicators and schema.get("additionalProperties", True) is not True:
        yield doc.diagnostic(
            (*pointer, "additionalProperties"),
            "LV401",
            f"'additionalProperties' next to {applicators[0]!r} is not enforced by the generated "
            "models",
            "JSON Schema applies it to every property not declared beside it, those of the "
            f"{applicators[0]} members included; declare all properties in one object type, or "
            "remove additionalProperties",
            at_key=True,
        )
    members = schema.get("allOf")
    if at_root or not isinstance(members, list):
        return
    for index, member in enumerate(members):
        if not isinstance(member, dict) or "$ref" in member or member.get("type") == "object":
            continue
        lost = sorted(k for k in member if k in _MERGED_ONLY_AT_ROOT)
        if lost:
            yield doc.diagnostic(
                (*pointer, "allOf", index),
                "LV401",
                "'allOf' is not enforced by the generated models here: below the root of a "
                f"type, this member's {', '.join(repr(k) for k in lost)} would be dropped",
                "name the combined schema under `types:` and reference it as "
                '"#/types/<Name>", or write its constraints in one schema',
            )


def _object(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    properties = schema.get("properties")
    declared = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    # With allOf etc. the properties may come from elsewhere: only check self-contained objects.
    if isinstance(required, list) and not any(
        k in schema for k in ("allOf", "anyOf", "oneOf", "$ref")
    ):
        for index, name in enumerate(required):
            if isinstance(name, str) and name not in declared:
                close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.6)
                yield doc.diagnostic(
                    (*pointer, "required", index),
                    "LV309",
                    f"required property {name!r} is not declared in properties",
                    (f"did you mean {close[0]!r}? " if close else "")
                    + "declare it under properties, or remove it from required",
                )
    seen: dict[str, str] = {}
    for name in declared:
        python = python_field_name(name)
        if python in seen:
            yield doc.diagnostic(
                (*pointer, "properties", name),
                "LV310",
                f"properties {seen[python]!r} and {name!r} both become the attribute {python!r}",
                "rename one of them",
                at_key=True,
            )
        else:
            seen[python] = name


def _default(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    # Only self-contained schemas: resolving $ref here would duplicate the builder's job.
    if "default" not in schema or "$ref" in json.dumps(schema):
        return
    checked = {k: v for k, v in schema.items() if k != "default"}
    try:
        # jsonschema trusts the schema it validates with: a malformed subschema (a string where
        # a schema belongs) fails deep inside it with AttributeError, so check the schema first.
        jsonschema.Draft202012Validator.check_schema(checked)
        error = jsonschema.exceptions.best_match(
            jsonschema.Draft202012Validator(checked).iter_errors(schema["default"])
        )
    except Exception:  # whatever jsonschema raises, the meta-schema reports the cause
        return
    if error is not None:
        yield doc.diagnostic(
            (*pointer, "default"),
            "LV410",
            f"the default {json.dumps(schema['default'], ensure_ascii=False)} does not satisfy "
            f"its own schema (it fails {error.validator!r})",
            "change the default so that a request without the property is valid",
        )
