"""``$ref`` resolution across definition files.

A reference is ``#/types/Name`` (this file) or ``<file>#/types/Name`` (``file`` relative to the
referring file). Documents are fetched through a callback, so the front end decides how files
are found, cached and validated, and reports each file's own problems exactly once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from leveret_codegen._diagnostics import Diagnostic
from leveret_codegen._loader import LoadedDocument, Pointer
from leveret_codegen._suggest import closest

__all__ = ["Fetch", "Followed", "Lookup", "Resolved", "Resolver", "TypeKey"]


class Lookup(enum.Enum):
    """Why a referenced document is not available."""

    MISSING = "missing"  # no such file: the referrer gets the diagnostic
    BROKEN = "broken"  # it exists but has errors, reported under its own name


#: Fetch ``relative`` as seen from ``referrer``.
Fetch = Callable[[LoadedDocument, str], "LoadedDocument | Lookup"]
#: A type's identity across files: (the file's path as displayed, type name).
TypeKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Resolved:
    """The type a reference names, and its schema."""

    document: LoadedDocument
    name: str
    schema: dict[str, object]

    @property
    def key(self) -> TypeKey:
        return (self.document.path, self.name)


def _types(document: LoadedDocument) -> dict[str, object]:
    data = document.data
    types = data.get("types") if isinstance(data, dict) else None
    return types if isinstance(types, dict) else {}


class Resolver:
    """Resolves references, reporting each unresolvable one once."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self.diagnostics: list[Diagnostic] = []
        self._reported: set[tuple[str, Pointer]] = set()

    def resolve(self, document: LoadedDocument, pointer: Pointer, ref: str) -> Resolved | None:
        """The type ``ref`` (found at ``pointer`` of ``document``) names; None if there is none."""
        file, _, fragment = ref.partition("#")
        name = fragment.removeprefix("/types/")
        target: LoadedDocument | Lookup = self._fetch(document, file) if file else document
        problem: tuple[str, str, str] | None = None
        if target is Lookup.MISSING:
            problem = (
                "LV302",
                f"$ref to {file!r}: no such file",
                "the path is relative to this file",
            )
        elif isinstance(target, LoadedDocument):
            schema = _types(target).get(name)
            if isinstance(schema, dict):
                return Resolved(target, name, schema)
            known = sorted(_types(target))
            listed = ", ".join(known) if known else "none"
            guess = closest(name, known)
            suggestion = f"did you mean {guess!r}? " if guess else ""
            if file:
                problem = (
                    "LV303",
                    f"$ref to {ref!r}: {file} has no type {name!r}",
                    f"{suggestion}its types: {listed}",
                )
            else:
                problem = (
                    "LV301",
                    f"$ref to an unknown type {name!r}",
                    f"{suggestion}types of this file: {listed}",
                )
        if problem is not None and (document.path, pointer) not in self._reported:
            self._reported.add((document.path, pointer))
            code, message, hint = problem
            self.diagnostics.append(document.diagnostic((*pointer, "$ref"), code, message, hint))
        return None

    def follow(
        self, document: LoadedDocument, pointer: Pointer, schema: dict[str, object]
    ) -> Followed | None:
        """Follow a chain of ``$ref``-only schemas to the schema that says something.

        None when the chain is broken (reported by ``resolve``) or loops (reported here).
        """
        named: Resolved | None = None
        seen: set[TypeKey] = set()
        while isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            assert isinstance(ref, str)
            found = self.resolve(document, pointer, ref)
            if found is None:
                return None
            if found.key in seen:
                if (document.path, pointer) not in self._reported:
                    self._reported.add((document.path, pointer))
                    self.diagnostics.append(
                        document.diagnostic(
                            (*pointer, "$ref"),
                            "LV304",
                            f"$ref {ref!r} leads back to itself",
                            "one type of the chain must define a schema, not only a $ref",
                        )
                    )
                return None
            seen.add(found.key)
            named, document, pointer, schema = (
                found,
                found.document,
                ("types", found.name),
                found.schema,
            )
        return Followed(named, document, pointer, schema)


@dataclass(frozen=True, slots=True)
class Followed:
    """Where a ``$ref`` chain ends: the last named type on the way (None for an inline schema
    without ``$ref``) and the schema that says something, with its document and pointer."""

    named: Resolved | None
    document: LoadedDocument
    pointer: Pointer
    schema: dict[str, object]
