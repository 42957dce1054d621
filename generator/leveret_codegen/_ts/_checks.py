"""What the TypeScript generator refuses: definitions it cannot turn into TypeScript exactly.

Each finding is located (``file:line:col``) in the definition that has the problem and names
TypeScript, so that a definition the Python generator accepts tells its author why the
TypeScript output is refused instead of getting subtly wrong code.

======  ========  ==================================================================
code    severity  meaning
======  ========  ==================================================================
LV521   error     an integer in a schema beyond JavaScript's exact integers (2^53)
LV522   error     a method whose TypeScript name the runtime's Client already uses (or then)
LV523   error     two methods with the same TypeScript (camelCase) name
LV524   error     a type name that would hide a global TypeScript type the code uses
======  ========  ==================================================================
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from leveret_codegen._diagnostics import Diagnostic, file_error
from leveret_codegen._frontend import load_document
from leveret_codegen._ir import ServiceDef
from leveret_codegen._loader import LoadedDocument, Pointer, parse_text
from leveret_codegen._ts._emit import method_name
from leveret_codegen._ts._types import MAX_SAFE_INTEGER
from leveret_codegen._walk import iter_schemas

__all__ = ["check_service"]

UNSAFE_INTEGER: Final = "LV521"
CLIENT_MEMBER: Final = "LV522"
METHOD_COLLISION: Final = "LV523"
GLOBAL_TYPE: Final = "LV524"

#: Members of the runtime's ``Client`` (runtime/typescript/src/client.ts) a generated method
#: would override or clash with (its own state is in ES ``#private`` fields, which cannot clash).
#: tests/codegen/test_typescript_generate.py checks this list against the runtime's declarations.
CLIENT_MEMBERS: Final = frozenset({"call", "close", "connect", "constructor", "service"})

#: A method JavaScript's promises call on any object that has it.
THENABLE: Final = frozenset({"then"})
RESERVED: Final = CLIENT_MEMBERS | THENABLE

#: Global types the generated client and servicer modules name next to the definition's types.
GLOBAL_TYPES: Final = frozenset({"Promise"})

#: Keywords whose value is a number, or JSON data that may hold numbers, the validators compare.
_NUMBER_KEYWORDS: Final = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "const",
    "enum",
    "default",
)


def check_service(service: ServiceDef) -> list[Diagnostic]:
    """Everything in ``service``'s definition (and the files it uses) TypeScript cannot say."""
    documents = _documents(service)
    main = documents[0] if documents else None
    found: list[Diagnostic] = []
    for document in documents:
        found.extend(_unsafe_integers(document))

    def at(pointer: Pointer, code: str, message: str, hint: str) -> Diagnostic:
        if main is None:
            return file_error(service.source, code, message, hint)
        return main.diagnostic(pointer, code, message, hint, at_key=True)

    seen: dict[str, str] = {}
    for method in service.methods:
        name = method_name(method.name)
        pointer: Pointer = ("methods", method.name)
        if name in CLIENT_MEMBERS:
            found.append(
                at(
                    pointer,
                    CLIENT_MEMBER,
                    f"method {method.name!r} becomes the TypeScript method {name!r}, which the "
                    "runtime's Client class already has",
                    f"rename the method (TypeScript reserves: {', '.join(sorted(RESERVED))})",
                )
            )
        elif name in THENABLE:
            found.append(
                at(
                    pointer,
                    CLIENT_MEMBER,
                    f"method {method.name!r} becomes the TypeScript method {name!r}, which makes "
                    "every client a thenable: awaiting the client (await Client.connect()) would "
                    "call it",
                    f"rename the method (TypeScript reserves: {', '.join(sorted(RESERVED))})",
                )
            )
        first = seen.setdefault(name, method.name)
        if first != method.name:
            found.append(
                at(
                    pointer,
                    METHOD_COLLISION,
                    f"methods {first!r} and {method.name!r} both become the TypeScript method "
                    f"{name!r}",
                    "rename one of them so their camelCase names differ",
                )
            )
    used = {t for m in service.methods for t in (m.request_type, m.response_type)}
    for name in sorted(used & GLOBAL_TYPES):
        found.append(
            at(
                ("types", name),
                GLOBAL_TYPE,
                f"type {name!r} would hide TypeScript's global {name} in the generated client "
                "and servicer, which return Promise<...>",
                "rename the type",
            )
        )
    return found


def _documents(service: ServiceDef) -> list[LoadedDocument]:
    """The service's definition and every file it references, loaded with source positions.

    A definition that is no file (``queue:<QUEUE>``) is its self-contained document."""
    file = Path(service.source)
    if not file.is_file():
        document, _ = parse_text(service.definition or "{}", service.source, is_json=True)
        return [document] if document is not None else []
    documents: list[LoadedDocument] = []
    pending = [(file, service.source)]
    seen: set[Path] = set()
    while pending:
        path, name = pending.pop(0)
        key = path.resolve()
        if key in seen or not path.is_file():
            continue
        seen.add(key)
        document, _ = load_document(path, name=name)
        if document is None:
            continue
        documents.append(document)
        for _, schema in iter_schemas(document.data):
            ref = schema.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                relative = ref.partition("#")[0]
                other = posixpath.normpath(posixpath.join(posixpath.dirname(name), relative))
                pending.append((path.parent / relative, other))
    return documents


def _unsafe_integers(document: LoadedDocument) -> Iterator[Diagnostic]:
    for pointer, schema in iter_schemas(document.data):
        for keyword in _NUMBER_KEYWORDS:
            if keyword not in schema:
                continue
            for at, value in _numbers((*pointer, keyword), schema[keyword]):
                yield document.diagnostic(
                    at,
                    UNSAFE_INTEGER,
                    f"integer {value} in {keyword!r} is beyond the integers JavaScript holds "
                    "exactly (2^53 - 1): TypeScript validators would compare a rounded value and "
                    "disagree with the Python models",
                    "keep integers in schemas within +-9007199254740991, or use a string with a "
                    "pattern for larger numbers",
                )


def _numbers(pointer: Pointer, value: object) -> Iterator[tuple[Pointer, int]]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            yield pointer, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers((*pointer, index), item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers((*pointer, key), item)
