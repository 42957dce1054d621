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
from leveret_codegen._loader import MAX_NESTING, LoadedDocument, Pointer, too_deep
from leveret_codegen._suggest import closest
from leveret_codegen._walk import iter_schema_roots, iter_subschemas

__all__ = [
    "Fetch",
    "Followed",
    "Lookup",
    "NestingCheck",
    "Resolved",
    "Resolver",
    "TypeKey",
    "data_depth",
]


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


class NestingCheck:
    """The nesting limit (``MAX_NESTING``) counted through ``$ref``: a schema is as deep as its
    data with every reference replaced by the type it names.

    The loader limits each file's own nesting; this limits what the tools that follow
    references descend through (a chain of types, each holding the next). A reference back to a
    type already on the way (a recursive type) counts as one level: the tools stop there too.
    Depths of types are remembered across documents, and nothing here recurses.
    """

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._depths: dict[TypeKey, int] = {}

    def check(self, document: LoadedDocument) -> list[Diagnostic]:
        """LV105 at the first schema root of ``document`` (file order) that nests too deeply:
        one per file, since the roots of a chain all exceed the limit for the same reason."""
        for pointer, schema in iter_schema_roots(document.data):
            key = (document.path, str(pointer[1])) if pointer[0] == "types" else None
            depth = len(pointer) + self._depth(document, pointer, schema, key)
            if depth > MAX_NESTING:
                line, col = document.key_position(pointer)
                return [too_deep(document.path, line, col, _subject(pointer))]
        return []

    def _parts(
        self, document: LoadedDocument, pointer: Pointer, schema: dict[str, object]
    ) -> tuple[int, list[tuple[int, Resolved]]]:
        """The schema's own depth, and each reference in it with the depth it is found at."""
        refs: list[tuple[int, Resolved]] = []
        for at, sub in iter_subschemas(pointer, schema):
            ref = sub.get("$ref")
            if isinstance(ref, str):
                target = self._resolver.resolve(document, at, ref)
                if target is not None:
                    refs.append((len(at) - len(pointer), target))
        return data_depth(schema), refs

    def _depth(
        self,
        document: LoadedDocument,
        pointer: Pointer,
        schema: dict[str, object],
        key: TypeKey | None,
    ) -> int:
        """Levels of ``schema`` (1: the schema mapping itself), through its references."""
        if key is not None and key in self._depths:
            return self._depths[key]
        stack = [_Frame(key, *self._parts(document, pointer, schema))]
        on_path: set[TypeKey] = {key} if key is not None else set()
        while True:
            frame = stack[-1]
            if frame.next < len(frame.refs):
                offset, target = frame.refs[frame.next]
                frame.next += 1
                if target.key in self._depths:
                    frame.deepest = max(frame.deepest, offset + self._depths[target.key])
                elif target.key in on_path:
                    frame.deepest = max(frame.deepest, offset + 1)  # recursion: the $ref itself
                else:
                    frame.offset = offset
                    on_path.add(target.key)
                    at: Pointer = ("types", target.name)
                    stack.append(
                        _Frame(target.key, *self._parts(target.document, at, target.schema))
                    )
                continue
            stack.pop()
            if frame.key is not None:
                self._depths[frame.key] = frame.deepest
                on_path.discard(frame.key)
            if not stack:
                return frame.deepest
            parent = stack[-1]
            parent.deepest = max(parent.deepest, parent.offset + frame.deepest)


@dataclass(slots=True)
class _Frame:
    """A schema whose depth ``NestingCheck`` is computing: ``deepest`` so far, its references
    (each with the level it is at), the next one to look at, and the pending one's level."""

    key: TypeKey | None
    deepest: int
    refs: list[tuple[int, Resolved]]
    next: int = 0
    offset: int = 0


def data_depth(data: object) -> int:
    """Levels of mappings and lists in ``data`` (0 for a scalar), without recursion."""
    deepest = 0
    pending: list[tuple[object, int]] = [(data, 1)]
    while pending:
        value, level = pending.pop()
        if isinstance(value, dict):
            deepest = max(deepest, level)
            pending.extend((v, level + 1) for v in value.values())
        elif isinstance(value, list):
            deepest = max(deepest, level)
            pending.extend((v, level + 1) for v in value)
    return deepest


def _subject(pointer: Pointer) -> str:
    if pointer[:1] == ("types",):
        return f"type {pointer[1]!r}"
    if pointer[:1] == ("errors",):
        return f"the details of error {pointer[1]!r}"
    return f"the {pointer[2]} of method {pointer[1]!r}"
