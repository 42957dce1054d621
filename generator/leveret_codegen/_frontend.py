"""The generator's front end: definition files in, validated IR and every diagnostic out.

``load_services`` takes files and folders. A folder contributes every ``*.yaml``, ``*.yml`` and
``*.json`` file below it (sorted; hidden folders skipped) that is a definition, i.e. whose top
level is a mapping with a ``leveret`` key; anything else there (the meta-schema, CI configs) is
skipped without a word, except files that do not even parse, since those might be broken
definitions. A file named explicitly is always a definition.

A definition without ``service`` is a library of types: it yields no ServiceDef, but it is
checked, and other files use its types by ``<file>#/types/<Name>``. Files that are referenced
but not named get checked too, each once, and produce no ServiceDef.

Diagnostics name files by the path the caller gave (posix style; referenced files relative to
their referrer's), so their text does not depend on the machine.

A ``Text`` input is a definition that is not a file: the document a running service described
itself with (``leveret describe queue:...``), under a name such as ``queue:shop.Inventory``. It
goes through the same checks as a file. It is self-contained, and it came from the network: a
``$ref`` in it to another file names nothing (LV302), it never reads a local file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Final

from leveret_codegen._builder import build_document
from leveret_codegen._diagnostics import Diagnostic, Severity, has_errors
from leveret_codegen._ir import ServiceDef
from leveret_codegen._loader import LoadedDocument, load_file, parse_text, too_deep
from leveret_codegen._refs import Lookup, NestingCheck, Resolver

__all__ = ["LoadedDocument", "Text", "load_document", "load_services"]

_SUFFIXES: Final = frozenset({".yaml", ".yml", ".json"})


@dataclass(frozen=True, slots=True)
class Text:
    """A definition given as text, named ``name`` in diagnostics (YAML, or JSON)."""

    name: str
    text: str
    is_json: bool = False


def load_document(
    path: str | Path, *, name: str | None = None
) -> tuple[LoadedDocument | None, tuple[Diagnostic, ...]]:
    """Load one definition file and validate it against the meta-schema.

    The document is None only when the file cannot be read or parsed; with meta-schema errors
    it is returned together with them (its data then does not have the format's shape). ``name``
    is how diagnostics and ``LoadedDocument.path`` name the file; default: ``path``, posix style.
    """
    file = Path(path)
    document, diagnostics = load_file(file, name if name is not None else file.as_posix())
    if document is not None:
        diagnostics.extend(_validate(document))
    return document, tuple(sorted(set(diagnostics)))


def load_services(
    paths: Sequence[str | Path | Text],
) -> tuple[tuple[ServiceDef, ...], tuple[Diagnostic, ...]]:
    """Load, check and build every service definition at ``paths`` (files or folders, or
    definitions given as ``Text``).

    Returns the services (in path order) and all diagnostics of the run, sorted by file and
    position. When any diagnostic is an error the services are ``()``: fail closed.
    """
    workspace = _Workspace()
    for given in paths:
        if isinstance(given, Text):
            workspace.open_text(given)
            continue
        for file, name, named in _expand([given], workspace.diagnostics):
            workspace.open(file, name, named=named, requested=True)
    resolver = Resolver(workspace.fetch)
    nesting = NestingCheck(resolver)
    services: list[ServiceDef] = []
    index = salvaged = 0
    # Both lists grow as references pull in more files.
    while index < len(workspace.checked) or salvaged < len(workspace.salvaged):
        if index < len(workspace.checked):
            document = workspace.checked[index]
            index += 1
            diagnostics = nesting.check(document)
            if diagnostics:
                # Too deep through its references: building it would descend as deep.
                workspace.diagnostics.extend(diagnostics)
                continue
            try:
                service, diagnostics = build_document(document, resolver)
            except RecursionError:
                # The nesting check should make this impossible; if not, still a diagnostic.
                service, diagnostics = None, [too_deep(document.path, 1, 1, "the definition")]
            if service is not None and document.path in workspace.requested:
                services.append(service)
        else:
            # Its meta-schema errors already fail the run; this adds what else is wrong.
            _, diagnostics = build_document(workspace.salvaged[salvaged], resolver)
            salvaged += 1
        workspace.diagnostics.extend(diagnostics)
    workspace.diagnostics.extend(resolver.diagnostics)
    workspace.diagnostics.extend(_check_run(services, workspace))
    found = tuple(sorted(set(workspace.diagnostics)))
    return (() if has_errors(found) else tuple(services)), found


def _expand(
    paths: Sequence[str | Path], diagnostics: list[Diagnostic]
) -> list[tuple[Path, str, bool]]:
    """(file, display name, named explicitly) for every candidate definition file."""
    found: list[tuple[Path, str, bool]] = []
    for given in paths:
        root = Path(given)
        if root.is_dir():
            candidates = [
                PurePath(p.relative_to(root).as_posix())
                for p in root.rglob("*")
                if p.suffix.lower() in _SUFFIXES and p.is_file()
            ]
            for relative in sorted(candidates, key=lambda p: p.parts):
                if not any(part.startswith(".") for part in relative.parts):
                    found.append((root / relative, (root / relative).as_posix(), False))
        elif root.exists():
            found.append((root, root.as_posix(), True))
        else:
            diagnostics.append(
                Diagnostic(root.as_posix(), 0, 0, Severity.ERROR, "LV100", "no such file or folder")
            )
    return found


class _Workspace:
    """Every file of a run, loaded and validated once, by its real path."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.checked: list[LoadedDocument] = []  # valid documents, to build in this order
        self.salvaged: list[LoadedDocument] = []  # what is usable of the others, checked only
        self.requested: set[str] = set()  # names of the inputs: only these yield services
        self._seen: dict[Path, LoadedDocument | Lookup] = {}
        self._texts: set[str] = set()  # names of the Text inputs: they reference no file

    def open_text(self, given: Text) -> None:
        """Parse, validate and remember a definition given as text (always a requested one)."""
        if given.name in self._texts:
            return
        self._texts.add(given.name)
        document, diagnostics = parse_text(given.text, given.name, is_json=given.is_json)
        if document is not None:
            diagnostics.extend(_validate(document))
        self._admit(document, sorted(set(diagnostics)), requested=True)

    def open(
        self, file: Path, name: str, *, named: bool, requested: bool
    ) -> LoadedDocument | Lookup:
        """Load, validate and remember ``file``. ``named``: the caller or a reference names it,
        so it must be a definition; otherwise (found in a folder) a non-definition is skipped."""
        key = file.resolve()
        if key in self._seen:
            known = self._seen[key]
            if requested and isinstance(known, LoadedDocument):
                self.requested.add(known.path)
            return known
        document, diagnostics = load_document(file, name=name)
        if not named and document is not None and not _is_definition(document):
            return Lookup.BROKEN  # not a definition: skip silently, and do not remember it
        status = self._admit(document, list(diagnostics), requested=requested)
        self._seen[key] = status
        return status

    def _admit(
        self, document: LoadedDocument | None, diagnostics: list[Diagnostic], *, requested: bool
    ) -> LoadedDocument | Lookup:
        """Check a loaded document's schemas and queue it for building, or salvage it."""
        if document is not None:
            diagnostics += _check_schemas(document)
        self.diagnostics.extend(diagnostics)
        # Keyword findings do not stop references from resolving; load and shape errors do.
        shape_errors = [d for d in diagnostics if d.code < "LV3" and d.severity is Severity.ERROR]
        status: LoadedDocument | Lookup = Lookup.BROKEN
        if document is not None and not shape_errors:
            status = document
            self.checked.append(document)
            if requested:
                self.requested.add(document.path)
        elif document is not None and not any(d.code < "LV2" for d in shape_errors):
            # Other files' references resolve in the salvaged copy, so a reference to a type it
            # does not have is still reported (LV303). Its errors fail the run: nothing that
            # refers to it is ever generated from the stand-ins.
            usable = _salvage(document)
            if usable is not None:
                self.salvaged.append(usable)
                status = usable
        return status

    def fetch(self, referrer: LoadedDocument, relative: str) -> LoadedDocument | Lookup:
        """The document ``relative`` names, seen from ``referrer`` (the resolver's callback)."""
        if referrer.path in self._texts:
            return Lookup.MISSING  # a described service is self-contained: no local files
        file = referrer.file.parent / relative
        if not file.is_file():
            return Lookup.MISSING
        name = posixpath.normpath(posixpath.join(posixpath.dirname(referrer.path), relative))
        return self.open(file, name, named=True, requested=False)


def _is_definition(document: LoadedDocument) -> bool:
    return isinstance(document.data, dict) and "leveret" in document.data


def _check_run(services: list[ServiceDef], workspace: _Workspace) -> list[Diagnostic]:
    """Checks across definitions: one package directory and one queue per service."""
    found: list[Diagnostic] = []
    by_path = {d.path: d for d in workspace.checked}
    packages: dict[str, ServiceDef] = {}
    queues: dict[str, ServiceDef] = {}
    for service in services:
        document = by_path[service.source]
        first = packages.setdefault(service.package, service)
        if first is not service:
            found.append(
                document.diagnostic(
                    ("package",),
                    "LV313",
                    f"package {service.package!r} is also generated from {first.source}",
                    "give each definition its own package name",
                )
            )
        first = queues.setdefault(service.queue, service)
        if first is not service:
            found.append(
                document.diagnostic(
                    ("queue",) if "queue" in _data(document) else ("service",),
                    "LV314",
                    f"queue {service.queue!r} is also the queue of {first.source}",
                    "give each service its own queue",
                )
            )
    return found


def _data(document: LoadedDocument) -> dict[str, object]:
    return document.data if isinstance(document.data, dict) else {}


# The checks below import jsonschema, whose format checkers take seconds to import where
# ``rfc3987-syntax`` is installed; every ``leveret`` command imports this module, and a
# ``queue:`` command that fails before any definition arrives must fail at once: imported when
# first needed.


def _validate(document: LoadedDocument) -> list[Diagnostic]:
    from leveret_codegen._metaschema import validate_document

    return validate_document(document)


def _check_schemas(document: LoadedDocument) -> list[Diagnostic]:
    from leveret_codegen._keywords import check_schemas

    return check_schemas(document)


def _salvage(document: LoadedDocument) -> LoadedDocument | None:
    from leveret_codegen._salvage import salvage

    return salvage(document)
