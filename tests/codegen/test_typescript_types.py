"""JSON Schema -> TypeScript types (``_ts._types``): exact where TypeScript can say it, never
narrower than the schema, ``unknown`` only where the schema admits any value."""

from __future__ import annotations

import pytest

from leveret_codegen._ts._types import declaration, print_type, schema_type

CASES = [
    ({"type": "string", "format": "date-time", "pattern": "^2"}, "string"),
    ({"type": "integer", "minimum": 1}, "number"),
    ({"type": ["string", "null"]}, "string | null"),
    (
        {"enum": ["a", 1, None, True, 2.5, 1e20]},
        "'a' | 1 | null | true | 2.5 | 1e20",
    ),
    ({"const": {"x": [0, "it's"]}}, '{ x: [0, "it\'s"] }'),
    ({"$ref": "#/$defs/Sku"}, "Sku"),
    ({"$ref": "#/$defs/Sku", "description": "the sku"}, "Sku"),
    ({"anyOf": [{"$ref": "#/$defs/Sku"}, {"type": "null"}]}, "Sku | null"),
    ({"type": "array", "items": {"type": ["string", "integer"]}}, "(string | number)[]"),
    ({"type": "array"}, "unknown[]"),
    (
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        "[string?, number?, ...unknown[]]",
    ),
    (
        {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "minItems": 1,
            "items": False,
        },
        "[string, number?]",
    ),
    (
        {"type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": False},
        "[string?]",
    ),
    (
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "string"}], "maxItems": 1},
        "[string?]",
    ),
    ({"type": "object"}, "{ [key: string]: unknown }"),
    ({"type": "object", "additionalProperties": False}, "{ [key: string]: never }"),
    ({"type": "object", "additionalProperties": {"type": "boolean"}}, "{ [key: string]: boolean }"),
    (
        {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        "{ a: string }",
    ),
    (
        {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "additionalProperties": {"type": "integer"},
        },
        "{ a?: string; [key: string]: number | string | undefined }",
    ),
    (
        {
            "type": "object",
            "properties": {"n": {"type": "string"}},
            "patternProperties": {"^x-": {"type": "integer"}},
        },
        "{ n?: string; [key: string]: number | string | undefined }",
    ),
    ({"type": "object", "required": ["ghost"]}, "{ ghost: unknown }"),
    (
        {"type": "object", "properties": {"gone": False, "any": True}},
        "{ gone?: never; any?: unknown }",
    ),
    (
        {
            "type": "object",
            "properties": {"a": {"type": "string"}},
            "allOf": [{"properties": {"b": {"type": "string"}}}],
        },
        "{ a?: string } & { b?: string }",
    ),
    (
        {
            "type": "object",
            "properties": {"card": {"type": "string"}},
            "dependentSchemas": {"card": {"properties": {"cvv": {"type": "string"}}}},
        },
        "{ card?: string; cvv?: string }",
    ),
    (
        {
            "type": "object",
            "properties": {"card": {"type": "string"}},
            "additionalProperties": False,
            "dependentSchemas": {"card": {"properties": {"cvv": {"type": "string"}}}},
        },
        "{ card?: string }",
    ),
    ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "string | number"),
    ({"minimum": 3}, "unknown"),
    ({"properties": {"a": {"type": "string"}}}, "unknown"),
    (True, "unknown"),
    (False, "never"),
    ({"not": {"type": "string"}}, "unknown"),
]


@pytest.mark.parametrize(("schema", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_schema_type(schema: object, expected: str) -> None:
    assert print_type(schema_type(schema), "", 0) == expected


def test_interface_with_docs_and_a_long_union() -> None:
    schema = {
        "description": "A thing.",
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"enum": [f"kind_number_{i}" for i in range(8)], "description": "Which."},
            "first-name": {"type": "string", "default": "x", "deprecated": True},
        },
    }
    assert "\n".join(declaration("Thing", schema, schema_type(schema))) == (
        "/** A thing. */\n"
        "export interface Thing {\n"
        "  /** Which. */\n"
        "  kind:\n"
        "    | 'kind_number_0'\n"
        "    | 'kind_number_1'\n"
        "    | 'kind_number_2'\n"
        "    | 'kind_number_3'\n"
        "    | 'kind_number_4'\n"
        "    | 'kind_number_5'\n"
        "    | 'kind_number_6'\n"
        "    | 'kind_number_7';\n"
        "  /**\n"
        '   * @defaultValue `"x"`\n'
        "   *\n"
        "   * @deprecated\n"
        "   */\n"
        "  'first-name'?: string;\n"
        "}"
    )
