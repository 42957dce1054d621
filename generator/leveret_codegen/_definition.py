"""The self-contained definition document of a service: what reflection (``leveret.describe``)
hands to anyone who asks the running service what it is.

It is the definition as loaded, as JSON data, with every type it uses from other files copied
under ``types:`` and every ``$ref`` to one rewritten to ``#/types/<Name>``; descriptions and
``x-`` keys are kept. Key order is the file's (the order of types decides the order of the
models); the copied types follow the file's own, in the order the generator's models have them
(``_builder``: the order they are first referenced).

A copied type keeps its name, so the document generates the same models as the files it comes
from: the builder already refuses two different types that would share a name in the package
(LV312), so a copy named like a type of the file, or like another copy, is the same schema and
becomes that one. The exception is a copy named like an inline request, response or details
schema's model (``ReserveRequest``): those have no ``types`` entry to point to, so the copy gets
a free name (``ReserveRequest2``).

The document is only built for a definition the builder accepted, so every reference resolves.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Sequence

from leveret_codegen._loader import LoadedDocument, Pointer
from leveret_codegen._refs import Resolved, Resolver, TypeKey
from leveret_codegen._walk import iter_schemas, iter_subschemas

__all__ = ["definition_document", "definition_json"]


def definition_document(
    doc: LoadedDocument,
    resolver: Resolver,
    hoisted: Iterable[str] = (),
    order: Sequence[str] = (),
) -> dict[str, object]:
    """The self-contained document of ``doc`` (see the module docstring). ``hoisted``: the
    model names the generator gives inline request, response and details schemas; ``order``:
    the names of the copied types in the order of the models (others follow)."""
    return _Inliner(doc, resolver, frozenset(hoisted)).document(order)


def definition_json(document: dict[str, object]) -> str:
    """The document as compact JSON text, as the generated ``_spec.py`` holds it."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


class _Inliner:
    def __init__(self, doc: LoadedDocument, resolver: Resolver, hoisted: frozenset[str]) -> None:
        self.doc = doc
        self.resolver = resolver
        self.hoisted = hoisted
        data = doc.data if isinstance(doc.data, dict) else {}
        types = data.get("types")
        local = list(types) if isinstance(types, dict) else []
        self.names: dict[TypeKey, str] = {(doc.path, name): name for name in local}
        self.taken: dict[str, TypeKey] = {name: (doc.path, name) for name in local}
        self.copies: dict[str, object] = {}  # name -> the copied type, rewritten
        self.pending: list[Resolved] = []

    def document(self, order: Sequence[str]) -> dict[str, object]:
        data = copy.deepcopy(self.doc.data)
        assert isinstance(data, dict)
        self._rewrite(self.doc, iter_schemas(data))
        index = 0
        while index < len(self.pending):  # grows as copies reference more types
            target = self.pending[index]
            index += 1
            schema = copy.deepcopy(target.schema)
            self._rewrite(target.document, iter_subschemas(("types", target.name), schema))
            self.copies[self.names[target.key]] = schema
        if self.copies:
            rank = {name: index for index, name in enumerate(order)}
            copies = sorted(self.copies.items(), key=lambda item: rank.get(item[0], len(rank)))
            types = data.get("types")
            data["types"] = {**(types if isinstance(types, dict) else {}), **dict(copies)}
        return data

    def _rewrite(
        self, document: LoadedDocument, schemas: Iterable[tuple[Pointer, dict[str, object]]]
    ) -> None:
        """Point every ``$ref`` of ``schemas`` (found in ``document``) into the document's own
        ``types``. Only schema positions: a ``default`` or ``enum`` value holding a "$ref" key
        is data and stays as written."""
        for pointer, schema in schemas:
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                continue
            target = self.resolver.resolve(document, pointer, ref)
            if target is not None:
                schema["$ref"] = f"#/types/{self._name(target)}"

    def _name(self, target: Resolved) -> str:
        known = self.names.get(target.key)
        if known is not None:
            return known
        name = target.name
        if name in self.hoisted:
            suffix = 2
            while f"{name}{suffix}" in self.taken or f"{name}{suffix}" in self.hoisted:
                suffix += 1
            name = f"{name}{suffix}"
        owner = self.taken.setdefault(name, target.key)
        self.names[target.key] = name
        if owner == target.key:  # a new name: copy the type; else it is the same schema
            self.pending.append(target)
        return name
