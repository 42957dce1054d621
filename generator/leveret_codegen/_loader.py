"""Load a YAML or JSON definition into plain JSON data plus the source position of every node.

PyYAML's composer gives nodes with marks; we build the data ourselves from them (instead of
``yaml.safe_load``) so that every value and every key keeps its ``line:col``, duplicate keys are
reported instead of silently overwritten, and scalars follow YAML 1.2's core schema: ``on``/``yes``
stay strings and ``2024-01-01`` is not a ``date`` that JSON cannot hold.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeAlias

import yaml
import yaml.composer
import yaml.events
import yaml.nodes
import yaml.parser
import yaml.reader
import yaml.resolver
import yaml.scanner

from leveret_codegen._diagnostics import Diagnostic, Severity

__all__ = [
    "MAX_NESTING",
    "LoadedDocument",
    "Pointer",
    "Position",
    "load_file",
    "parse_text",
    "plain_is_string",
    "too_deep",
]

#: How many levels of mappings and lists a definition may nest, the top-level mapping being
#: level 1 and a ``$ref`` counting as the type it names (docs/definition-format.md, "Limits").
#: Every tool on the way (PyYAML, jsonschema, the comparisons of ``leveret breaking``) descends
#: by recursion, so without a limit a deep enough file ends in a RecursionError; real
#: definitions stay far below it.
MAX_NESTING: Final = 100

#: A JSON pointer as a tuple: ``("types", "Sku", "pattern")``, ``("methods", "x", "errors", 0)``.
Pointer: TypeAlias = tuple[str | int, ...]
#: ``(line, col)``, 1-based.
Position: TypeAlias = tuple[int, int]


@dataclass(frozen=True, slots=True, eq=False)
class LoadedDocument:
    """A parsed definition file: JSON data and where each part of it came from.

    ``path`` is the file as the user named it (posix style); diagnostics print it as is, so that
    output does not depend on the machine. ``file`` is the path to open.
    """

    path: str
    file: Path
    data: object
    value_positions: Mapping[Pointer, Position]
    key_positions: Mapping[Pointer, Position]

    def position(self, pointer: Pointer) -> Position:
        """Where the value at ``pointer`` starts, or its nearest ancestor's when it has none."""
        for end in range(len(pointer), -1, -1):
            found = self.value_positions.get(pointer[:end])
            if found is not None:
                return found
        return (1, 1)

    def key_position(self, pointer: Pointer) -> Position:
        """Where the key naming ``pointer`` starts; the value's position for list items."""
        found = self.key_positions.get(pointer)
        return found if found is not None else self.position(pointer)

    def diagnostic(
        self,
        pointer: Pointer,
        code: str,
        message: str,
        hint: str = "",
        *,
        at_key: bool = False,
        severity: Severity = Severity.ERROR,
    ) -> Diagnostic:
        """A diagnostic about this file, at the value (or key) of ``pointer``."""
        line, col = self.key_position(pointer) if at_key else self.position(pointer)
        return Diagnostic(self.path, line, col, severity, code, message, hint)


class _Resolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema: only ``true``/``false`` are booleans, no sexagesimal or date magic."""


# Order matters: for a given first character, the first matching pattern wins.
_IMPLICIT: Final = (
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", list("tTfF")),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?",
        list("-+0123456789."),
    ),
)
for _tag, _pattern, _first in _IMPLICIT:
    _Resolver.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), _first)

_RESOLVER: Final = _Resolver()


def plain_is_string(text: str) -> bool:
    """Whether ``text`` written as a plain (unquoted) YAML scalar reads back here as that string,
    not as a number, boolean or null: what a writer of YAML for this loader must quote. PyYAML's
    dumpers quote by YAML 1.1, which reads ``0o17`` and ``1e5`` as strings."""
    tag: object = _RESOLVER.resolve(  # type: ignore[no-untyped-call]
        yaml.nodes.ScalarNode, text, (True, False)
    )
    return tag == _STR


class _TooDeep(Exception):
    """The composer met a mapping or list nested deeper than ``MAX_NESTING``, at ``line:col``."""

    def __init__(self, line: int, col: int) -> None:
        super().__init__(line, col)
        self.line, self.col = line, col


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _Resolver,
):
    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Resolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: yaml.nodes.Node | None, index: int) -> yaml.nodes.Node | None:
        # PyYAML composes by recursion (two frames a level): stop before Python's stack does.
        if not self.check_event(yaml.events.CollectionStartEvent):
            return yaml.composer.Composer.compose_node(self, parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                event: yaml.events.Event = self.peek_event()  # type: ignore[no-untyped-call]
                mark = event.start_mark
                raise _TooDeep(mark.line + 1, mark.column + 1) if mark else _TooDeep(0, 0)
            return yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self._depth -= 1


def too_deep(path: str, line: int, col: int, subject: str = "") -> Diagnostic:
    """LV105 at ``path:line:col``. Without ``subject``: the mapping or list there is too deep;
    with it: ``subject`` is, counting the types its ``$ref``s lead to."""
    limit = f"more than {MAX_NESTING} levels of mappings and lists"
    message = (
        f"{subject} is nested too deeply: {limit}, counting the types its $refs lead to"
        if subject
        else f"nested too deeply: {limit}"
    )
    return Diagnostic(
        path,
        line,
        col,
        Severity.ERROR,
        "LV105",
        message,
        "restructure it to nest less deeply (a list of parts rather than each part inside the "
        "previous one); the limit keeps every tool clear of Python's recursion limit",
    )


_JSON_ONLY = "definitions hold JSON data: strings, numbers, booleans, null, lists and mappings"
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Builder:
    """Turns a node tree into JSON data, recording positions and problems on the way."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[Pointer, Position] = {}
        self.keys: dict[Pointer, Position] = {}
        self.diagnostics: list[Diagnostic] = []
        self._active: set[int] = set()  # node ids on the current path: catches recursive aliases
        self._too_deep = False

    def unsupported(self, node: yaml.nodes.Node) -> None:
        tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
        self.error(node, "LV104", f"unsupported YAML tag {tag!r}", _JSON_ONLY)

    def error(self, node: yaml.nodes.Node, code: str, message: str, hint: str = "") -> None:
        mark = node.start_mark
        self.diagnostics.append(
            Diagnostic(
                self.path, mark.line + 1, mark.column + 1, Severity.ERROR, code, message, hint
            )
        )

    def build(self, node: yaml.nodes.Node, pointer: Pointer) -> object:
        self.values[pointer] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if len(pointer) >= MAX_NESTING and isinstance(node, yaml.nodes.CollectionNode):
            # Only aliases get here (the composer stops deeper text): each one can nest the
            # data one level deeper than the text it is written in.
            if not self._too_deep:  # once: every alias of the node would repeat it
                self._too_deep = True
                line, col = self._where_aliases_nest(pointer)
                self.diagnostics.append(too_deep(self.path, line, col))
            return None
        if id(node) in self._active:
            self.error(
                node,
                "LV104",
                "an alias refers to a node that contains it",
                "JSON data cannot contain itself; repeat the part instead",
            )
            return None
        self._active.add(id(node))
        try:
            if isinstance(node, yaml.nodes.MappingNode):
                return self._mapping(node, pointer)
            if isinstance(node, yaml.nodes.SequenceNode):
                if node.tag != _SEQ:
                    self.unsupported(node)
                return [self.build(item, (*pointer, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.nodes.ScalarNode)
            return self._scalar(node)
        finally:
            self._active.discard(id(node))

    def _where_aliases_nest(self, pointer: Pointer) -> Position:
        """The collection holding the first alias on the way to ``pointer``: an alias names a
        node written before it, so it is the first node placed after its child."""
        places = [self.values[pointer[:end]] for end in range(len(pointer) + 1)]
        for outer, inner in itertools.pairwise(places):
            if inner < outer:
                return outer
        return places[-1]

    def _mapping(self, node: yaml.nodes.MappingNode, pointer: Pointer) -> dict[str, object]:
        if node.tag != _MAP:
            self.unsupported(node)
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.nodes.ScalarNode):
                self.error(
                    key_node, "LV104", "a key must be a string, not a list or mapping", _JSON_ONLY
                )
                continue
            if key_node.value == "<<" and key_node.style is None and key_node.tag == _STR:
                # A plain `<<` is YAML 1.1's merge key, which 1.2 (and JSON) do not have: taking
                # it as a property named "<<" would blame the schema for an unknown keyword.
                self.error(
                    key_node,
                    "LV104",
                    "YAML merge keys (`<<: *anchor`) are not supported",
                    "write the keys out; to share a schema, name it under `types:` and use "
                    '{$ref: "#/types/<Name>"}, or allOf: [{$ref: ...}, {...}] to extend it',
                )
                continue
            # JSON keys are strings: a key `200:` or `true:` means the text as written.
            key = str(key_node.value)
            key_at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            child = (*pointer, key)
            if key in result:
                first_line, first_col = self.keys[child]
                self.error(
                    key_node,
                    "LV103",
                    f"duplicate key {key!r}",
                    f"the first {key!r} is at line {first_line}, column {first_col}; "
                    "remove or rename one of them",
                )
                continue
            self.keys[child] = key_at
            result[key] = self.build(value_node, child)
        return result

    def _scalar(self, node: yaml.nodes.ScalarNode) -> object:
        text = str(node.value)
        tag = node.tag
        try:
            if tag == _STR:
                return text
            if tag == "tag:yaml.org,2002:null":
                return None
            if tag == "tag:yaml.org,2002:bool":
                return {"true": True, "false": False}[text.lower()]
            if tag == "tag:yaml.org,2002:int":
                return int(text, 0) if text[:2] in ("0o", "0x") else int(text, 10)
            if tag == "tag:yaml.org,2002:float":
                return float(text)
        except (KeyError, ValueError):
            self.error(node, "LV104", f"{text!r} is not a valid {tag.rsplit(':', 1)[-1]}")
            return text
        self.unsupported(node)
        return text


# Hints for the YAML errors people actually make.
_SYNTAX_HINTS: Final = (
    ("'\\t'", "indent with spaces; YAML does not allow tabs for indentation"),
    ("mapping values are not allowed", "quote a value that contains ': ', or fix the indentation"),
    ("expected <block end>", "check the indentation of this line against the lines above"),
    ("found undefined alias", "define the anchor (&name) before using the alias (*name)"),
)


def _syntax_diagnostic(path: str, exc: yaml.MarkedYAMLError) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = exc.problem or "invalid YAML"
    message = f"YAML syntax error: {problem}"
    if exc.context:
        message += f" ({exc.context})"
    hint = next((h for needle, h in _SYNTAX_HINTS if needle in problem), "")
    return Diagnostic(path, line, col, Severity.ERROR, "LV101", message, hint)


def parse_text(
    text: str, path: str, *, is_json: bool
) -> tuple[LoadedDocument | None, list[Diagnostic]]:
    """Parse definition text; ``path`` is only used to name the file in the result."""
    file = Path(path)
    if is_json:
        # The JSON parser is the judge of JSON syntax (PyYAML accepts some invalid JSON and
        # gives worse messages); the YAML composer then supplies the positions.
        try:
            json.loads(text)
        except RecursionError:
            pass  # nested beyond the C parser's limit: the composer below says where
        except json.JSONDecodeError as exc:
            diag = Diagnostic(
                path,
                exc.lineno,
                exc.colno,
                Severity.ERROR,
                "LV101",
                f"JSON syntax error: {exc.msg}",
            )
            return None, [diag]
        # JSON allows tabs between tokens, YAML does not; both are one column wide.
        text = text.replace("\t", " ")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_diagnostic(path, exc)]
    except _TooDeep as exc:
        return None, [too_deep(path, exc.line, exc.col)]
    except yaml.YAMLError as exc:  # reader errors (control characters) carry no mark
        diag = Diagnostic(path, 0, 0, Severity.ERROR, "LV101", f"YAML syntax error: {exc}")
        return None, [diag]
    finally:
        loader.dispose()
    builder = _Builder(path)
    data = None if node is None else builder.build(node, ())
    document = LoadedDocument(path, file, data, builder.values, builder.keys)
    return document, builder.diagnostics


def load_file(file: Path, path: str) -> tuple[LoadedDocument | None, list[Diagnostic]]:
    """Read and parse ``file``, naming it ``path`` in the document and its diagnostics."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        diag = Diagnostic(path, 0, 0, Severity.ERROR, "LV100", f"cannot read the file: {reason}")
        return None, [diag]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        diag = Diagnostic(
            path,
            line,
            col,
            Severity.ERROR,
            "LV102",
            "the file is not UTF-8 text",
            "save the file as UTF-8",
        )
        return None, [diag]
    document, diagnostics = parse_text(text, path, is_json=file.suffix.lower() == ".json")
    if document is not None:
        document = LoadedDocument(
            document.path, file, document.data, document.value_positions, document.key_positions
        )
    return document, diagnostics
