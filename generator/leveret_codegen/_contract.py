"""Fingerprints of a service's wire contract: what ``rpc-fingerprint`` and reflection carry.

A method's fingerprint hashes what a peer on the wire depends on: its wire name, the request
and response schemas, and its declared errors (name, status code, details schema). Schemas are
in the canonical form of ``leveret breaking`` (``_review.fingerprint``): references resolved
(a renamed type hashes the same), key order and the order of ``required``/``enum``/unions
irrelevant, annotations (description, title, examples, $comment, deprecated) and ``x-`` keys
dropped. Timeouts and idempotency are not part of it: they change no message.

The service's fingerprint hashes its queue and its methods' fingerprints. Both are
``"sha256:"`` and the hex digest of the canonical JSON text (keys sorted, no spaces, UTF-8), and
both are computed from the self-contained definition document (``_definition``), so anyone who
fetched that document by reflection can compute them again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from leveret_codegen._loader import LoadedDocument
from leveret_codegen._refs import Lookup, Resolver
from leveret_codegen._review.fingerprint import canonical
from leveret_codegen._review.sources import Schema, follow_refs

__all__ = ["Fingerprints", "contract_fingerprints"]


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """The service's fingerprint and each method's, by wire name (definition order)."""

    service: str
    methods: dict[str, str]


def contract_fingerprints(document: dict[str, object], queue: str) -> Fingerprints:
    """The fingerprints of the self-contained definition ``document`` served on ``queue``."""
    loaded = LoadedDocument("definition", Path("."), document, {}, {})
    side = _Document(Resolver(lambda _referrer, _relative: Lookup.MISSING))
    errors = _mapping(document.get("errors"))
    methods: dict[str, str] = {}
    for name, spec in _mapping(document.get("methods")).items():
        method = _mapping(spec)
        declared = sorted({e for e in _list(method.get("errors")) if isinstance(e, str)})
        contract = {
            "method": name,
            "request": side.canonical(loaded, ("methods", name, "request"), method),
            "response": side.canonical(loaded, ("methods", name, "response"), method),
            "errors": [
                {
                    "name": error,
                    "status": _mapping(errors.get(error)).get("status"),
                    "details": side.canonical(
                        loaded, ("errors", error, "details"), _mapping(errors.get(error))
                    ),
                }
                for error in declared
            ],
        }
        methods[name] = _hash(contract)
    return Fingerprints(_hash({"queue": queue, "methods": methods}), methods)


class _Document:
    """References resolved within one document (the ``Follows`` of ``_review.fingerprint``)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def follow(self, schema: Schema) -> Schema:
        return follow_refs(self.resolver, schema)

    def canonical(
        self, document: LoadedDocument, pointer: tuple[str, ...], parent: dict[str, object]
    ) -> object:
        """The canonical form of ``parent[pointer[-1]]``; None when there is no such schema."""
        value = parent.get(pointer[-1])
        if isinstance(value, bool):
            value = {} if value else {"not": {}}
        if not isinstance(value, dict):
            return None
        return canonical(self, Schema(document, pointer, value))


def _hash(contract: object) -> str:
    text = json.dumps(contract, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []
