"""A plain schema compared with a union (anyOf/oneOf) on the other side: the exact findings.

The corpus (``breaking/<case>/expected.txt``) pins the rule IDs; these pin what each finding
says and whom it is about, since a plain schema used to be compared with none of the union's
branches (every branch "added", no error), and the verdict now depends on which branch it
pairs with.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leveret_codegen._review.breaking import compare_sides
from leveret_codegen._review.sources import FileReader, load_side

CORPUS = Path(__file__).parent / "breaking"


def _findings(name: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    monkeypatch.chdir(CORPUS / name)
    old = load_side(FileReader(), ["old.yaml"])
    new = load_side(FileReader(), ["new.yaml"])
    assert old.diagnostics == [] and new.diagnostics == []
    return sorted((f.rule, f.message) for f in compare_sides(old, new))


SUFFIX_OLD = " (the old schema, not a union, is one branch)"
SUFFIX_NEW = " (the new schema, not a union, is one branch)"

EXPECTED = {
    # string -> anyOf [$ref Money]: the string is compared with the one branch it pairs with
    "request_string_to_ref_union": [
        ("PROPERTY_TYPE_CHANGED", "Money: type changed from string to object [request]"),
    ],
    # any value -> a union of Money and string: no branch takes the old schema's place
    "request_any_to_ref_union": [
        (
            "REQUEST_VARIANT_REMOVED",
            "pay.request.meta: 1 anyOf branch(es) removed" + SUFFIX_OLD + " [request]",
        ),
        (
            "VARIANT_COMPATIBLE",
            "pay.request.meta: 2 anyOf branch(es) added" + SUFFIX_OLD + " [request]",
        ),
    ],
    "request_union_introduced_inline": [
        (
            "REQUEST_VARIANT_REMOVED",
            "pay.request.payment: 1 anyOf branch(es) removed" + SUFFIX_OLD + " [request]",
        ),
        (
            "VARIANT_COMPATIBLE",
            "pay.request.payment: 2 anyOf branch(es) added" + SUFFIX_OLD + " [request]",
        ),
    ],
    # $ref Card -> anyOf [$ref Card, $ref Bank]: Card pairs with Card, in the request's direction
    "request_union_introduced_and_changed_shared": [
        ("PROPERTY_ADDED", "Card: property 'cvv' added as required [response]"),
        ("REQUEST_REQUIRED_PROPERTY_ADDED", "Card: property 'cvv' added as required [request]"),
        (
            "VARIANT_COMPATIBLE",
            "pay.request.payment: 1 anyOf branch(es) added" + SUFFIX_OLD + " [request]",
        ),
    ],
    # Card is compared in the request, not left to the unknown-role fallback (request and response)
    "request_union_introduced_and_changed": [
        ("REQUEST_REQUIRED_PROPERTY_ADDED", "Card: property 'cvv' added as required [request]"),
        (
            "VARIANT_COMPATIBLE",
            "pay.request.payment: 1 anyOf branch(es) added" + SUFFIX_OLD + " [request]",
        ),
    ],
    # $ref Sku -> anyOf [$ref Sku, null] is the type list [string, null] with Sku's maxLength
    "request_nullable_ref_rewrite_and_tightened": [
        ("CONSTRAINT_COMPATIBLE", "Sku: maxLength 20 -> maxLength 8 [response]"),
        (
            "PROPERTY_TYPE_COMPATIBLE",
            "reserve.request.sku: may now be null (type from string to [string, null]) [request]",
        ),
        (
            "REQUEST_CONSTRAINT_TIGHTENED",
            "reserve.request.sku: maxLength 20 -> maxLength 8 [request]",
        ),
    ],
    "response_union_collapsed_and_changed": [
        (
            "RESPONSE_VARIANT_ADDED",
            "get.response.payment: 1 anyOf branch(es) added" + SUFFIX_NEW + " [response]",
        ),
        (
            "VARIANT_COMPATIBLE",
            "get.response.payment: 2 anyOf branch(es) removed" + SUFFIX_NEW + " [response]",
        ),
    ],
    # $ref Dog -> a discriminated oneOf of Cat and Dog (type: object beside it): Dog pairs by
    # its tag, no discriminator "change", no type change from the union's top-level type
    "ok_request_ref_to_discriminated_oneof": [
        (
            "DESCRIPTION_CHANGED",
            'adopt.request.pet: description changed from null to "The pet to adopt."',
        ),
        (
            "VARIANT_COMPATIBLE",
            "adopt.request.pet: 1 oneOf branch(es) added" + SUFFIX_OLD + " [request]",
        ),
    ],
    "response_ref_to_discriminated_oneof": [
        (
            "DESCRIPTION_CHANGED",
            'adopt.response.pet: description changed from "The pet to adopt." to null',
        ),
        (
            "RESPONSE_PROPERTY_NULLABLE",
            "Dog.name: may now be null (type from string to [string, null]) [response]",
        ),
        (
            "VARIANT_COMPATIBLE",
            "adopt.response.pet: 1 oneOf branch(es) removed" + SUFFIX_NEW + " [response]",
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_plain_schema_is_a_union_of_one_branch(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _findings(name, monkeypatch) == sorted(EXPECTED[name])
