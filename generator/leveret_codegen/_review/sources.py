"""Definition files from the file system or a git revision, loaded once, with ``$ref`` lookups.

A ``Side`` is one version of the definitions: the ones the user named (``entries``, each with the
key definitions are paired by: its path relative to the folder given, or its file name) and the
files their references pull in. Files are read through a ``Reader`` so the old side of
``leveret breaking --against git:REV`` comes from ``git show REV:path`` without a checkout.
"""

from __future__ import annotations

import posixpath
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final, Protocol

from leveret_codegen._diagnostics import Diagnostic, Severity
from leveret_codegen._loader import LoadedDocument, Pointer, parse_text
from leveret_codegen._refs import Lookup, NestingCheck, Resolver
from leveret_codegen._walk import iter_schemas

__all__ = [
    "Entry",
    "FileReader",
    "GitError",
    "GitReader",
    "Reader",
    "Schema",
    "Side",
    "TextReader",
    "find_moved",
    "follow_refs",
    "load_side",
]

_SUFFIXES: Final = (".yaml", ".yml", ".json")


class Reader(Protocol):
    """Where definition files come from. Paths are posix strings (``locate`` gives them)."""

    def locate(self, given: str) -> str | None:
        """The reader's path for a path the user gave; None when the reader cannot see it."""

    def is_dir(self, path: str) -> bool: ...

    def files_below(self, path: str) -> list[str]:
        """Every file below folder ``path``, as reader paths."""

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when there is no such file."""


class FileReader:
    """The working tree."""

    def locate(self, given: str) -> str | None:
        return Path(given).as_posix()

    def is_dir(self, path: str) -> bool:
        return Path(path).is_dir()

    def files_below(self, path: str) -> list[str]:
        root = Path(path)
        return [p.as_posix() for p in root.rglob("*") if p.is_file()]

    def read(self, path: str) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except OSError:
            return None


class TextReader:
    """Definitions given as text, by name (``queue:<QUEUE>``: what a running service describes
    itself with), in front of another reader for the other paths. Such a definition is
    self-contained: a ``$ref`` in it to another file names nothing (see ``Side``), so a
    document from the network never reads a local file."""

    def __init__(self, texts: Mapping[str, str], base: Reader) -> None:
        self.texts = dict(texts)
        self.base = base

    def locate(self, given: str) -> str | None:
        return given if given in self.texts else self.base.locate(given)

    def is_dir(self, path: str) -> bool:
        return path not in self.texts and self.base.is_dir(path)

    def files_below(self, path: str) -> list[str]:
        return self.base.files_below(path)

    def read(self, path: str) -> bytes | None:
        text = self.texts.get(path)
        return text.encode() if text is not None else self.base.read(path)


class GitError(Exception):
    """git failed: not a repository, an unknown revision ..."""


class GitReader:
    """The files of a git revision; paths are relative to the repository root."""

    def __init__(self, revision: str, cwd: Path | None = None) -> None:
        self.revision = revision
        self.cwd = (cwd or Path.cwd()).resolve()
        top = self._git("rev-parse", "--show-toplevel").decode().strip()
        self.root = Path(top).resolve()
        self._git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
        listed = self._git("ls-tree", "-r", "-z", "--name-only", "--full-tree", revision)
        self._files = frozenset(p for p in listed.decode().split("\0") if p)

    def _git(self, *args: str) -> bytes:
        try:
            done = subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, check=False)
        except OSError as exc:
            raise GitError(f"cannot run git: {exc}") from exc
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip()
            if args[:2] == ("rev-parse", "--verify"):
                message = f"unknown revision {self.revision!r}"
            raise GitError(message or f"git {' '.join(args)} failed")
        return done.stdout

    def locate(self, given: str) -> str | None:
        try:
            relative = (self.cwd / given).resolve().relative_to(self.root)
        except ValueError:
            return None
        text = relative.as_posix()
        return "" if text == "." else text

    def is_dir(self, path: str) -> bool:
        prefix = f"{path}/" if path else ""
        return path not in self._files and any(f.startswith(prefix) for f in self._files)

    def files_below(self, path: str) -> list[str]:
        prefix = f"{path}/" if path else ""
        return sorted(f for f in self._files if f.startswith(prefix))

    def read(self, path: str) -> bytes | None:
        if path not in self._files:
            return None
        return self._git("show", f"{self.revision}:{path}")


@dataclass(frozen=True, slots=True)
class Entry:
    """A definition the user named (or that a named folder holds)."""

    key: str
    document: LoadedDocument


@dataclass(frozen=True, slots=True)
class Schema:
    """A schema at ``pointer`` of ``document``; ``name``: the named type it is, if any."""

    document: LoadedDocument
    pointer: Pointer
    data: dict[str, object]
    name: str | None = None

    @property
    def identity(self) -> tuple[str, Pointer]:
        return (self.document.path, self.pointer)


class Side:
    """One version of the definitions, loaded through a reader."""

    def __init__(self, reader: Reader, *, keep_invalid: bool = False) -> None:
        self.reader = reader
        self.keep_invalid = keep_invalid  # keep documents the meta-schema rejects (for lint)
        self.entries: list[Entry] = []
        self.diagnostics: list[Diagnostic] = []
        self._by_path: dict[str, LoadedDocument | Lookup] = {}
        self._reader_path: dict[str, str] = {}  # display name -> reader path
        self.resolver = Resolver(self._fetch)
        self._nesting = NestingCheck(self.resolver)
        self._nesting_checked: set[str] = set()

    @property
    def documents(self) -> list[LoadedDocument]:
        """Every loaded document: the entries and the files references pulled in."""
        return [d for d in self._by_path.values() if isinstance(d, LoadedDocument)]

    def open(self, path: str, display: str, *, named: bool) -> LoadedDocument | Lookup:
        """Load the file at reader path ``path`` once, naming it ``display``. ``named``: the
        user or a reference names it, so it must be a definition; otherwise (found in a folder)
        a file that is not a definition is skipped without a word."""
        if path in self._by_path:
            return self._by_path[path]
        raw = self.reader.read(path)
        if raw is None:
            return Lookup.MISSING
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.diagnostics.append(
                Diagnostic(display, 0, 0, Severity.ERROR, "LV102", "the file is not UTF-8 text")
            )
            self._by_path[path] = Lookup.BROKEN
            return Lookup.BROKEN
        document, problems = parse_text(text, display, is_json=path.lower().endswith(".json"))
        if document is not None and not named and not _is_definition(document):
            return Lookup.BROKEN
        if document is not None:
            problems.extend(_validate(document))
        self.diagnostics.extend(problems)
        invalid = any(p.severity is Severity.ERROR for p in problems)
        status: LoadedDocument | Lookup = Lookup.BROKEN
        if document is not None and (self.keep_invalid or not invalid):
            status = document
            self._reader_path[document.path] = path
        self._by_path[path] = status
        return status

    def _fetch(self, referrer: LoadedDocument, relative: str) -> LoadedDocument | Lookup:
        base = self._reader_path.get(referrer.path, referrer.path)
        if isinstance(self.reader, TextReader) and base in self.reader.texts:
            return Lookup.MISSING  # a definition given as text references no file
        path = posixpath.normpath(posixpath.join(posixpath.dirname(base), relative))
        display = posixpath.normpath(posixpath.join(posixpath.dirname(referrer.path), relative))
        return self.open(path, display, named=True)

    def check_references(self) -> None:
        """Resolve every ``$ref`` of every document (loading the files they name), so that
        ``resolver.diagnostics`` lists each one that does not resolve, and check how deep each
        document nests through its references (``diagnostics``)."""
        index = 0
        while index < len(self.documents):  # grows as references pull in more files
            document = self.documents[index]
            index += 1
            for pointer, data in iter_schemas(document.data):
                if isinstance(data.get("$ref"), str):
                    self.resolver.follow(document, pointer, data)
            # Too deep through its references: the comparisons would recurse as deep (LV105).
            if document.path not in self._nesting_checked:
                self._nesting_checked.add(document.path)
                self.diagnostics.extend(self._nesting.check(document))

    def follow(self, schema: Schema) -> Schema:
        """Follow ``$ref``-only chains to the schema that says something (unchanged if broken)."""
        return follow_refs(self.resolver, schema)

    def type_schema(self, document: LoadedDocument, name: str) -> Schema | None:
        types = _mapping(_mapping(document.data).get("types"))
        data = types.get(name)
        if not isinstance(data, dict):
            return None
        return Schema(document, ("types", name), data, name)


def follow_refs(resolver: Resolver, schema: Schema) -> Schema:
    """``schema``, or the schema its ``$ref`` chain leads to through ``resolver`` (named as the
    type it reaches, if any); unchanged when it has no ``$ref`` or the reference is broken."""
    if not isinstance(schema.data.get("$ref"), str):
        return schema
    followed = resolver.follow(schema.document, schema.pointer, schema.data)
    if followed is None:
        return schema
    name = followed.named.name if followed.named is not None else schema.name
    return Schema(followed.document, followed.pointer, followed.schema, name)


def load_side(reader: Reader, paths: Sequence[str], *, keep_invalid: bool = False) -> Side:
    """Load the definitions at ``paths`` (files or folders, as the user gave them).

    A path that does not exist gives no entries (for a git revision: the file is new), unless the
    reader is the file system, where it is an error.
    """
    side = Side(reader, keep_invalid=keep_invalid)
    for given in paths:
        display_root = PurePosixPath(given).as_posix()
        located = reader.locate(given)
        if located is None:
            side.diagnostics.append(_not_found(display_root, "outside the git repository"))
            continue
        if reader.is_dir(located):
            found = [f for f in reader.files_below(located) if f.lower().endswith(_SUFFIXES)]
            for path in sorted(found, key=lambda f: PurePosixPath(f).parts):
                # relpath, not slicing: "." lists its files without a "./" prefix.
                relative = posixpath.relpath(path, located) if located else path
                if any(part.startswith(".") for part in PurePosixPath(relative).parts):
                    continue
                display = posixpath.join(display_root, relative)
                document = side.open(path, display, named=False)
                if isinstance(document, LoadedDocument):
                    side.entries.append(Entry(relative, document))
        else:
            document = side.open(located, display_root, named=True)
            if isinstance(document, LoadedDocument):
                side.entries.append(Entry(PurePosixPath(located).name, document))
            elif document is Lookup.MISSING and isinstance(reader, (FileReader, TextReader)):
                side.diagnostics.append(_not_found(display_root, "no such file or folder"))
    side.check_references()
    return side


def _service_keys(data: object) -> set[tuple[str, object]]:
    """What pairs a service across a move: its package and name, and its queue."""
    if not isinstance(data, dict) or "service" not in data:
        return set()
    queue = data.get("queue", f"{data.get('package')}.{data.get('service')}")
    return {("service", (data.get("package"), data.get("service"))), ("queue", queue)}


def find_moved(old: Side, new: Side) -> None:
    """Add to ``old`` (read from a git revision) the definitions of the services ``new`` names
    that are not at the same paths there: a file moved (``git mv``) is not a change, and without
    its old version every change made with the move was reported as one "service added".

    Only services no old entry already declares are looked for, anywhere in the revision; a
    service found in no file stays unpaired (added).
    """
    reader = old.reader
    if not isinstance(reader, GitReader):
        return
    known: set[tuple[str, object]] = set()
    for entry in old.entries:
        known |= _service_keys(entry.document.data)
    wanted: dict[tuple[str, object], Entry] = {}
    for entry in new.entries:
        keys = _service_keys(entry.document.data)
        if keys and not keys & known:
            wanted.update((k, entry) for k in keys)
    if not wanted:
        return
    loaded = {old._reader_path.get(d.path) for d in old.documents}
    for path in reader.files_below(""):
        if len(wanted) == 0:
            break
        if path in loaded or not path.lower().endswith(_SUFFIXES):
            continue
        if any(part.startswith(".") for part in PurePosixPath(path).parts):
            continue
        raw = reader.read(path)
        try:
            text = (raw or b"").decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        peek, _ = parse_text(text, path, is_json=path.lower().endswith(".json"))
        keys = _service_keys(peek.data if peek is not None else None) & wanted.keys()
        # the service's name first: a queue is the weaker sign (a rename and a move at once)
        key = next((k for k in keys if k[0] == "service"), next(iter(keys), None))
        if key is None:
            continue
        entry = wanted[key]
        display = posixpath.relpath((reader.root / path).as_posix(), reader.cwd.as_posix())
        document = old.open(path, display, named=True)
        if isinstance(document, LoadedDocument):
            old.entries.append(Entry(entry.key, document))
        for k in _service_keys(entry.document.data):
            wanted.pop(k, None)
    old.check_references()


def _not_found(display: str, why: str) -> Diagnostic:
    return Diagnostic(display, 0, 0, Severity.ERROR, "LV100", why)


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _is_definition(document: LoadedDocument) -> bool:
    return isinstance(document.data, dict) and "leveret" in document.data


def _validate(document: LoadedDocument) -> list[Diagnostic]:
    """``_metaschema.validate_document``, imported when first needed: it imports jsonschema,
    whose format checkers take seconds to import where ``rfc3987-syntax`` is installed, and a
    ``queue:`` command that fails before any definition arrives must fail at once."""
    from leveret_codegen._metaschema import validate_document

    return validate_document(document)
