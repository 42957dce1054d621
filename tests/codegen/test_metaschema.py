"""The meta-schema: one file in two places, a valid 2020-12 schema, and its diagnostics."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from leveret_codegen._codes import CODES
from leveret_codegen._loader import parse_text
from leveret_codegen._metaschema import load_metaschema, validate_document

ROOT = Path(__file__).resolve().parents[2]
CANONICAL = ROOT / "schemas" / "leveret.schema.json"
PACKAGED = ROOT / "generator" / "leveret_codegen" / "schema" / "leveret.schema.json"


def _validate(text: str) -> list[str]:
    document, diagnostics = parse_text(text, "d.yaml", is_json=False)
    assert document is not None and diagnostics == []
    return [d.render() for d in validate_document(document)]


def test_packaged_copy_is_identical_to_the_canonical_one() -> None:
    assert PACKAGED.read_bytes() == CANONICAL.read_bytes()


def test_the_packaged_schema_is_what_the_generator_loads() -> None:
    assert load_metaschema() == json.loads(CANONICAL.read_text(encoding="utf-8"))


def test_it_is_a_valid_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(load_metaschema())


@pytest.mark.parametrize("example", sorted((ROOT / "schemas").glob("*.yaml")), ids=lambda p: p.name)
def test_the_examples_are_valid(example: Path) -> None:
    assert _validate(example.read_text(encoding="utf-8")) == []


def test_every_violation_is_reported_sorted_by_position() -> None:
    rendered = _validate(
        "leveret: 1\n"
        "package: shop\n"
        "service: Shop\n"
        "methods:\n"
        "  b:\n"
        "    request: {type: object}\n"
        "    timeout: -1\n"
        "  a:\n"
        "    response: {type: object}\n"
        "    idempotent: 1\n"
    )
    assert [line.split(": ")[1] for line in rendered if not line.startswith(" ")] == [
        "error[LV201]",  # b: no response (at the key `b`)
        "error[LV206]",  # b.timeout
        "error[LV201]",  # a: no request
        "error[LV203]",  # a.idempotent
    ]
    assert [line.split(":")[1:3] for line in rendered] == [
        ["5", "3"],
        ["7", "14"],
        ["8", "3"],
        ["10", "17"],
    ]


def test_a_missing_property_points_at_the_mapping_key() -> None:
    assert _validate("leveret: 1\nerrors: {}\npackage: p\nservice: S\nx:\n  y: 1\n") == [
        "d.yaml:5:1: error[LV202]: unknown property 'x' in the document\n"
        "    hint: allowed: leveret, package, service, version, description, queue, queue_type, "
        "types, errors, methods; and `x-` prefixed extension keys"
    ]
    assert _validate(
        "leveret: 1\npackage: p\nservice: S\nerrors:\n  Gone:\n    description: d\n"
    ) == [
        "d.yaml:5:3: error[LV201]: errors.Gone is missing the required property 'status'\n"
        "    hint: add `status:` to errors.Gone"
    ]


def test_a_float_version_asks_for_quotes() -> None:
    assert _validate("leveret: 1\nversion: 1.4\n") == [
        "d.yaml:2:10: error[LV203]: version must be a string, not a number\n"
        '    hint: quote the value, e.g. "1.4", so YAML reads it as text'
    ]


def test_extension_keys_are_allowed_at_top_and_method_level() -> None:
    assert (
        _validate(
            "leveret: 1\npackage: p\nservice: S\nx-team: a\nmethods:\n  m:\n"
            "    request: {type: object}\n    response: {type: object}\n    x-owner: b\n"
        )
        == []
    )


def test_every_code_has_a_meaning() -> None:
    assert all(code.startswith("LV") and len(code) == 5 for code in CODES)
    assert all(CODES.values())
    assert len(CODES) >= 35
