"""Micro-benchmark: leveret's compiled JSON Schema check against ``jsonschema`` (issue 11).

Validates a typical request (9 properties, a nested object, an array of 20 items, formats,
a pattern, an enum, uniqueItems, oneOf) N times, already parsed, with
``leveret._schema.compile_schema(schema)`` and with ``jsonschema.Draft202012Validator(schema)
.is_valid`` (a dev/test dependency only, never used at run time), and prints µs per call.

    .venv/bin/python bench/schema_eval.py [-n 20000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from leveret._schema import compile_schema

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "customer", "lines", "currency"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "customer": {
            "type": "object",
            "required": ["name", "email"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 100},
                "email": {"type": "string", "format": "email"},
                "vip": {"type": "boolean"},
            },
        },
        # multipleOf 0.25, not 0.01: jsonschema says 19.99 is no multiple of 0.01 (float division).
        "lines": {
            "type": "array",
            "minItems": 1,
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["sku", "quantity"],
                "additionalProperties": False,
                "properties": {
                    "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"},
                    "quantity": {"type": "integer", "minimum": 1},
                    "price": {"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.25},
                },
            },
        },
        "currency": {"enum": ["EUR", "USD", "GBP"]},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        "note": {"type": ["string", "null"], "maxLength": 500},
        "created": {"type": "string", "format": "date-time"},
        "priority": {"oneOf": [{"type": "integer", "minimum": 0}, {"const": "urgent"}]},
        "version": {"type": "integer"},
    },
}

REQUEST: dict[str, Any] = {
    "id": "3b241101-e2bb-4255-8caf-4136c566a962",
    "customer": {"name": "Ada Lovelace", "email": "ada@example.com", "vip": True},
    "lines": [{"sku": f"ABC-{1000 + i}", "quantity": i + 1, "price": 19.75} for i in range(20)],
    "currency": "EUR",
    "tags": ["gift", "express", "fragile"],
    "note": None,
    "created": "2026-11-26T10:00:00Z",
    "priority": 2,
    "version": 1,
}


def _time(fn: Callable[[Any], bool], n: int) -> float:
    """Best of 5 runs of n calls, in µs per call (the VM is shared and noisy)."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn(REQUEST)
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="calls per run (best of 5 runs)")
    args = parser.parse_args()

    check = compile_schema(SCHEMA)
    # Format assertion, as leveret does, so both validators do the same work.
    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert check.is_valid(REQUEST) and validator.is_valid(REQUEST)
    bad = dict(REQUEST, lines=[*REQUEST["lines"], {"sku": "bad", "quantity": 0}])
    assert not check.is_valid(bad) and not validator.is_valid(bad)

    ours = _time(check.is_valid, args.n)
    theirs = _time(validator.is_valid, args.n)
    print(f"leveret._schema compiled check   : {ours:8.1f} µs/call")
    print(f"jsonschema Draft202012 is_valid  : {theirs:8.1f} µs/call")
    print(f"ratio                            : {theirs / ours:8.1f}x")


if __name__ == "__main__":
    main()
