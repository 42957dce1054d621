"""Per-schema checks: only keywords the generated models enforce, used where they can apply.

The generated models enforce every JSON Schema 2020-12 validation keyword (pydantic for most,
a schema guard for the rest: ``_guards``). What a definition cannot use is an error (LV401:
identifiers and anchors, which ``types:`` and ``$ref`` replace; LV403: unknown keywords, never
silently dropped); annotation-only keywords that change nothing are warnings (LV402); a
constraint or enum value the declared ``type`` excludes is a mistake (LV405, LV411). The same
walk checks ``required`` and property names, which need nothing but the schema itself.
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
from leveret_codegen._walk import iter_schemas

__all__ = ["SUPPORTED_KEYWORDS", "check_schemas"]

#: Keywords whose meaning the generated models keep: pydantic enforces most, and a schema guard
#: (``_guards``, run by ``leveret.schema``) the rest.
SUPPORTED_KEYWORDS: Final = (
    "type",
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedProperties",
    "items",
    "prefixItems",
    "contains",
    "minContains",
    "maxContains",
    "unevaluatedItems",
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
    "not",
    "if",
    "then",
    "else",
    "discriminator",
)

_USE_TYPES = 'name the schema under `types:` and reference it as "#/types/<Name>"'

#: Keywords a definition cannot use, with advice.
NOT_ENFORCED: Final[dict[str, str]] = {
    "additionalItems": "it is not a 2020-12 keyword: use `items` after `prefixItems`",
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
    **{
        k: (frozenset({"array"}), "array")
        for k in (
            "items",
            "prefixItems",
            "contains",
            "minContains",
            "maxContains",
            "minItems",
            "maxItems",
            "uniqueItems",
            "unevaluatedItems",
        )
    },
    **{
        k: (frozenset({"object"}), "object")
        for k in (
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "dependentRequired",
            "dependentSchemas",
            "unevaluatedProperties",
        )
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
    for pointer, schema in iter_schemas(doc.data):
        found.extend(_keywords(doc, pointer, schema))
        found.extend(_types(doc, pointer, schema))
        found.extend(_values(doc, pointer, schema))
        found.extend(_composition(doc, pointer, schema))
        found.extend(_object(doc, pointer, schema))
        found.extend(_default(doc, pointer, schema))
        found.extend(_regexes(doc, pointer, schema))
    return found


def _regexes(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    """Each ``pattern`` and ``patternProperties`` key must be ECMA-262 that the runtime runs
    exactly and in linear time (LV412 otherwise): on the Rust engine, or, for a lookaround or a
    backreference (Python's backtracking ``re``), only on strings a ``maxLength`` of its own
    schema or of one around it (applied in place: ``allOf``, ``anyOf``, ``not``...) bounds.
    A property name has no such bound."""
    from leveret._regex import PatternError, UnsupportedPattern, compile_ecma

    found: list[tuple[Pointer, object, bool]] = []
    if "pattern" in schema:
        found.append(((*pointer, "pattern"), schema["pattern"], False))
    if isinstance(schema.get("patternProperties"), dict):
        names = schema["patternProperties"]
        assert isinstance(names, dict)
        found.extend(((*pointer, "patternProperties", p), p, True) for p in names)
    for at, pattern, at_key in found:
        if not isinstance(pattern, str):
            continue  # the meta-schema reports it
        try:
            regex = compile_ecma(pattern)
        except PatternError as exc:
            why = str(exc).partition(": ")[2]
            if "too large" in why:
                hint = "lower the repetition count, or use * or + with a maxLength"
            elif isinstance(exc, UnsupportedPattern):
                hint = "use Unicode general categories (\\p{L}) or explicit character ranges"
            else:
                hint = _REGEX_HINT
            yield doc.diagnostic(
                at,
                "LV412",
                f"the regular expression /{pattern}/ cannot be enforced exactly: {why}",
                hint,
                at_key=at_key,
            )
            continue
        if regex.linear or (not at_key and _length_bounded(doc.data, pointer, schema)):
            continue
        where = "a property name (it has no maxLength)" if at_key else "a string with no maxLength"
        yield doc.diagnostic(
            at,
            "LV412",
            f"the regular expression /{pattern}/ has a lookaround or a backreference, so it"
            f" backtracks (time exponential in the text) and would run on {where}",
            "give the schema (or one around it) a maxLength, so it never runs on a longer"
            " string, or write the pattern without lookaround and backreferences"
            if not at_key
            else "write the pattern without lookaround and backreferences",
            at_key=at_key,
        )


_REGEX_HINT: Final = (
    "write ECMA-262 (JSON Schema's dialect): no inline flags, comments, (?P<name>...),"
    " possessive quantifiers, or escapes such as \\A and \\Z"
)
#: Keywords holding subschemas applied to the same instance: a list of them, a map, or one.
_IN_PLACE_LISTS: Final = frozenset({"allOf", "anyOf", "oneOf"})
_IN_PLACE_ONE: Final = frozenset({"not", "if", "then", "else"})
_DEPENDENT: Final = frozenset({"dependentSchemas"})
#: Keywords holding a map of name -> subschema (their keys are names, not keywords).
_SCHEMA_MAPS: Final = frozenset(
    {"properties", "patternProperties", "dependentSchemas", "$defs", "types", "definitions"}
)


def _has_max_length(schema: object) -> bool:
    value = schema.get("maxLength") if isinstance(schema, dict) else None
    return isinstance(value, int) and not isinstance(value, bool)


def _keyword_at(path: list[str | int], k: int, keywords: frozenset[str]) -> bool:
    """Whether ``path[k]`` is one of ``keywords`` used as a keyword (not a property name)."""
    return path[k] in keywords and (k == 0 or path[k - 1] not in _SCHEMA_MAPS)


def _at(data: object, path: list[str | int]) -> object:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            return None
    return data


def _length_bounded(data: object, pointer: Pointer, schema: dict[str, object]) -> bool:
    """Whether ``schema`` (at ``pointer`` in ``data``) or a schema that applies it in place
    (``allOf``/``anyOf``/``oneOf`` member, ``not``, ``if``/``then``/``else``,
    ``dependentSchemas`` entry), up to the property, item or type it belongs to, has a
    ``maxLength``: the runtime checks that first (review r11b)."""
    if _has_max_length(schema):
        return True
    path = list(pointer)
    while path:
        n = len(path)
        member = isinstance(path[-1], int) and _keyword_at(path, n - 2, _IN_PLACE_LISTS)
        if n >= 2 and (member or _keyword_at(path, n - 2, _DEPENDENT)):
            path = path[:-2]
        elif _keyword_at(path, n - 1, _IN_PLACE_ONE):
            path = path[:-1]
        else:
            return False
        if _has_max_length(_at(data, path)):
            return True
    return False


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
        if key.startswith("x-") or key in SUPPORTED_KEYWORDS:
            continue
        if key in NOT_ENFORCED:
            yield doc.diagnostic(
                at,
                "LV401",
                f"{key!r} is not supported in a definition",
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
    """A constraint that can never apply, because the declared type excludes its kind (LV405).

    Without a ``type``, a constraint applies to the values of its kind only, as JSON Schema says
    (``minimum`` passes any string): that is enforced, no finding."""
    types = _types_of(schema)
    if types is None:
        return
    for key in schema:
        if key not in _APPLIES_TO:
            continue
        applies, implied = _APPLIES_TO[key]
        if not types & applies:
            shown = " or ".join(sorted(types))
            yield doc.diagnostic(
                (*pointer, key),
                "LV405",
                f"{key!r} does not apply to type {shown}",
                f"it constrains {implied} values; remove it or change the type",
                at_key=True,
            )


def _kind(value: object) -> set[str]:
    """The JSON types a value is an instance of (``1.0`` is an integer too)."""
    if value is None:
        return {"null"}
    if isinstance(value, bool):
        return {"boolean"}
    if isinstance(value, int):
        return {"integer", "number"}
    if isinstance(value, float):
        return {"integer", "number"} if value.is_integer() else {"number"}
    if isinstance(value, str):
        return {"string"}
    return {"array"} if isinstance(value, list) else {"object"}


def _values(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    """An enum/const value the schema's own ``type`` excludes can never be sent (LV411)."""
    types = _types_of(schema)
    if types is None:
        return
    values: list[tuple[Pointer, object]] = []
    if isinstance(schema.get("enum"), list):
        enum = schema["enum"]
        assert isinstance(enum, list)
        values.extend(((*pointer, "enum", i), v) for i, v in enumerate(enum))
    if "const" in schema:
        values.append(((*pointer, "const"), schema["const"]))
    for at, value in values:
        if not types & _kind(value):
            yield doc.diagnostic(
                at,
                "LV411",
                f"enum/const value {json.dumps(value, ensure_ascii=False)} is not of the "
                "schema's type " + " or ".join(sorted(types)),
                "make the values match the type",
            )


def _composition(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    has_discriminator = isinstance(schema.get("discriminator"), dict)
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


def _object(
    doc: LoadedDocument, pointer: Pointer, schema: dict[str, object]
) -> Iterator[Diagnostic]:
    properties = schema.get("properties")
    declared = properties if isinstance(properties, dict) else {}
    required = schema.get("required")
    # With allOf etc. the properties may come from elsewhere, and a bare {required: [...]} (in
    # if/then, dependentSchemas, a oneOf branch) constrains properties declared elsewhere: only
    # check self-contained objects, which declare their properties.
    if (
        isinstance(required, list)
        and "properties" in schema
        and not any(k in schema for k in ("allOf", "anyOf", "oneOf", "$ref"))
    ):
        for index, name in enumerate(required):
            if isinstance(name, str) and name not in declared:
                close = difflib.get_close_matches(name, list(declared), n=1, cutoff=0.6)
                yield doc.diagnostic(
                    (*pointer, "required", index),
                    "LV309",
                    f"required property {name!r} is not declared in properties: it must be "
                    "present, with any value, and the model has no field for it",
                    (f"did you mean {close[0]!r}? " if close else "")
                    + "declare it under properties, or remove it from required",
                    severity=Severity.WARNING,
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
