"""The rules of ``leveret breaking``: ID, category, severity and a one-line explanation each.

Categories: WIRE (JSON payloads and calls between deployed clients and servers), SOURCE (the
generated Python API: code written against it stops type-checking or importing), TOPOLOGY (the
broker: a queue redeclared with other arguments fails with PRECONDITION_FAILED).

Direction: a request may only get looser (old clients keep being accepted), a response only
tighter (old callers keep parsing it). Rules named REQUEST_/RESPONSE_ fire in that role only; a
type whose role is unknown (a library type no method of the run uses) is held to both.
Errors are breaking changes and fail the run; warnings and info never do.
"""

from __future__ import annotations

from typing import Final

from leveret_codegen._review.findings import Level, Rule, RuleSet

__all__ = ["BREAKING_RULES"]

_E, _W, _I = Level.ERROR, Level.WARNING, Level.INFO

BREAKING_RULES: Final = RuleSet(
    Rule(*row)
    for row in (
        # definitions and services
        ("SERVICE_REMOVED", "WIRE", _E, "a service was removed: its callers get no reply"),
        ("SERVICE_ADDED", "WIRE", _I, "a service was added"),
        ("FILE_REMOVED", "SOURCE", _W, "a library of types was removed: files using it break"),
        ("PACKAGE_CHANGED", "SOURCE", _E, "the Python package changed: every import breaks"),
        ("SERVICE_RENAMED", "SOURCE", _E, "the service was renamed: its generated classes too"),
        (
            "QUEUE_CHANGED",
            "TOPOLOGY",
            _E,
            "the request queue changed: old clients publish to the old one",
        ),
        (
            "QUEUE_TYPE_CHANGED",
            "TOPOLOGY",
            _E,
            "the queue type changed: redeclaring a live queue fails",
        ),
        ("DESCRIPTION_CHANGED", "SOURCE", _I, "a description or title changed (docstrings)"),
        # methods
        ("METHOD_REMOVED", "WIRE", _E, "a method was removed: old clients' calls fail"),
        ("METHOD_ADDED", "WIRE", _I, "a method was added"),
        (
            "METHOD_IDEMPOTENCY_DROPPED",
            "WIRE",
            _E,
            "a method is no longer idempotent: old clients retry it",
        ),
        ("METHOD_IDEMPOTENCY_ADDED", "WIRE", _I, "a method became idempotent"),
        ("METHOD_TIMEOUT_SHORTENED", "WIRE", _W, "a method's default deadline got shorter"),
        (
            "METHOD_TIMEOUT_LENGTHENED",
            "WIRE",
            _I,
            "a method's default deadline got longer or was removed",
        ),
        (
            "METHOD_ERROR_ADDED",
            "WIRE",
            _W,
            "a method may raise a new declared error: exhaustive handlers miss it",
        ),
        ("METHOD_ERROR_REMOVED", "WIRE", _I, "a method no longer raises a declared error"),
        (
            "REF_TARGET_CHANGED",
            "SOURCE",
            _W,
            "a reference names another type (compared by structure; the Python type changes)",
        ),
        # declared errors
        (
            "ERROR_REMOVED",
            "SOURCE",
            _E,
            "a declared error was removed: its generated class is gone",
        ),
        ("ERROR_ADDED", "SOURCE", _I, "a declared error was added"),
        ("ERROR_STATUS_CHANGED", "WIRE", _E, "a declared error has another status code"),
        (
            "ERROR_DETAILS_REMOVED",
            "WIRE",
            _E,
            "a declared error lost its details: old callers read them",
        ),
        ("ERROR_DETAILS_ADDED", "WIRE", _I, "a declared error got details"),
        # named types
        ("TYPE_REMOVED", "SOURCE", _E, "a named type was removed: imports of its model break"),
        (
            "TYPE_RENAMED",
            "SOURCE",
            _W,
            "a named type was renamed, same structure: not a wire change, imports break",
        ),
        ("TYPE_ADDED", "SOURCE", _I, "a named type was added"),
        # properties
        (
            "REQUEST_REQUIRED_PROPERTY_ADDED",
            "WIRE",
            _E,
            "a request has a new required property old clients do not send",
        ),
        (
            "REQUEST_PROPERTY_REQUIRED",
            "WIRE",
            _E,
            "a request property became required: old clients may omit it",
        ),
        (
            "REQUEST_PROPERTY_REMOVED",
            "WIRE",
            _E,
            "a property was removed from a closed request: old clients still send it",
        ),
        (
            "REQUEST_OPEN_PROPERTY_REMOVED",
            "SOURCE",
            _W,
            "a request property was removed: the server ignores it, callers passing it break",
        ),
        ("REQUEST_PROPERTY_OPTIONAL", "WIRE", _I, "a request property became optional"),
        (
            "RESPONSE_REQUIRED_PROPERTY_REMOVED",
            "WIRE",
            _E,
            "a required response property was removed: old callers need it",
        ),
        (
            "RESPONSE_OPTIONAL_PROPERTY_REMOVED",
            "WIRE",
            _W,
            "an optional response property was removed",
        ),
        (
            "RESPONSE_PROPERTY_OPTIONAL",
            "WIRE",
            _E,
            "a response property became optional: old callers expect it",
        ),
        ("RESPONSE_PROPERTY_REQUIRED", "WIRE", _I, "a response property became required"),
        (
            "RESPONSE_CLOSED_PROPERTY_ADDED",
            "WIRE",
            _E,
            "a property was added to a closed response: old callers reject it",
        ),
        (
            "PROPERTY_ADDED",
            "WIRE",
            _I,
            "an optional request property, or a property of an open response, was added",
        ),
        # types of values
        (
            "PROPERTY_TYPE_CHANGED",
            "WIRE",
            _E,
            "a value's type changed in a way the other side rejects",
        ),
        (
            "PROPERTY_TYPE_COMPATIBLE",
            "WIRE",
            _I,
            "a value's type widened in a request or narrowed in a response",
        ),
        ("REQUEST_PROPERTY_NOT_NULLABLE", "WIRE", _E, "a request value no longer accepts null"),
        (
            "RESPONSE_PROPERTY_NULLABLE",
            "WIRE",
            _E,
            "a response value may now be null: old callers reject it",
        ),
        # constraints
        (
            "REQUEST_CONSTRAINT_TIGHTENED",
            "WIRE",
            _E,
            "a request constraint got tighter: some old requests fail",
        ),
        (
            "RESPONSE_CONSTRAINT_LOOSENED",
            "WIRE",
            _E,
            "a response constraint got looser: old callers may reject replies",
        ),
        (
            "CONSTRAINT_COMPATIBLE",
            "WIRE",
            _I,
            "a request constraint got looser or a response constraint tighter",
        ),
        (
            "REQUEST_ENUM_VALUE_REMOVED",
            "WIRE",
            _E,
            "a request no longer accepts an enum value old clients send",
        ),
        (
            "RESPONSE_ENUM_VALUE_ADDED",
            "WIRE",
            _E,
            "a response may carry an enum value old callers reject",
        ),
        (
            "RESPONSE_ENUM_VALUE_REMOVED",
            "SOURCE",
            _W,
            "a response enum lost a value: code matching it no longer type-checks",
        ),
        ("REQUEST_ENUM_VALUE_ADDED", "WIRE", _I, "a request accepts a new enum value"),
        (
            "REQUEST_VARIANT_REMOVED",
            "WIRE",
            _E,
            "a request union (anyOf/oneOf) lost or changed a branch",
        ),
        (
            "RESPONSE_VARIANT_ADDED",
            "WIRE",
            _E,
            "a response union (anyOf/oneOf) got a new or changed branch",
        ),
        (
            "VARIANT_COMPATIBLE",
            "WIRE",
            _I,
            "a request union got a branch or a response union lost one",
        ),
        ("DISCRIMINATOR_CHANGED", "WIRE", _E, "the discriminator of a union changed"),
        (
            "DEFAULT_CHANGED",
            "WIRE",
            _E,
            "a default changed: callers that omit the value get another one",
        ),
        ("DEFAULT_REMOVED", "WIRE", _W, "a default was removed"),
        ("DEFAULT_ADDED", "WIRE", _I, "a default was added"),
    )
)
