"""``leveret lint``: the front end's verdict plus the rules of ``rules_lint`` on every definition.

The front end (``load_services``) supplies validity and keyword findings for every file of the
run, referenced ones included. The other rules look at the definitions the user named (or that
the named folders hold); usage and roles are computed over every file the run loads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from leveret_codegen._diagnostics import Diagnostic
from leveret_codegen._frontend import Text, load_services
from leveret_codegen._loader import LoadedDocument, Pointer, too_deep
from leveret_codegen._review.compare_schema import Role
from leveret_codegen._review.findings import Finding
from leveret_codegen._review.rules_lint import LINT_RULES
from leveret_codegen._review.sources import FileReader, Side, TextReader, load_side
from leveret_codegen._review.usage import Usage, find_usage, label
from leveret_codegen._walk import iter_schemas

__all__ = ["lint_paths"]

_PASCAL: Final = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SNAKE: Final = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
#: LV412: a regular expression the models could not run exactly (refused, like LV401).
_FRONT_END: Final = {
    "LV401": "KEYWORD_NOT_ENFORCED",
    "LV402": "KEYWORD_NO_EFFECT",
    "LV412": "KEYWORD_NOT_ENFORCED",
}


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def lint_paths(
    paths: Sequence[str], texts: Mapping[str, Text] | None = None
) -> tuple[list[Finding], Side]:
    """Every finding for the definitions at ``paths`` (files or folders), and what was loaded.

    ``texts``: definitions given as text by the path that names them (``queue:<QUEUE>``);
    every other path is a file or folder."""
    given = texts or {}
    _, diagnostics = load_services([given.get(p) or Path(p) for p in paths])
    reader = TextReader({n: t.text for n, t in given.items()}, FileReader())
    side = load_side(reader, paths, keep_invalid=True)
    own: list[Finding] = []
    try:
        usage = find_usage(side)
        for entry in side.entries:
            try:
                own.extend(_Linter(entry.document, usage).run())
            except RecursionError:
                diagnostics += (too_deep(entry.document.path, 1, 1, "the definition"),)
    except RecursionError:
        # The nesting check (LV105) should make this impossible: a diagnostic, not a traceback.
        diagnostics += tuple(
            too_deep(e.document.path, 1, 1, "the definition") for e in side.entries
        )
    places = {(f.file, f.line, f.col) for f in own if f.category == "NAMING"}
    front = [
        _from_diagnostic(d)
        for d in diagnostics
        if not (d.code == "LV205" and (d.file, d.line, d.col) in places)
    ]
    return list(dict.fromkeys([*front, *own])), side


def _from_diagnostic(diagnostic: Diagnostic) -> Finding:
    rule = _FRONT_END.get(diagnostic.code, "DEFINITION_VALID")
    message = diagnostic.message + (f" ({diagnostic.hint})" if diagnostic.hint else "")
    if rule == "DEFINITION_VALID":
        message = f"{diagnostic.code}: {message}"
    return LINT_RULES[rule].at(diagnostic.file, (diagnostic.line, diagnostic.col), message)


class _Linter:
    """The rules for one definition document."""

    def __init__(self, document: LoadedDocument, usage: Usage) -> None:
        self.document = document
        self.data = _mapping(document.data)
        self.usage = usage

    def finding(
        self, rule: str, pointer: Pointer, message: str, *, at_value: bool = False
    ) -> Finding:
        document = self.document
        position = document.position(pointer) if at_value else document.key_position(pointer)
        return LINT_RULES[rule].at(self.document.path, position, message)

    def run(self) -> Iterator[Finding]:
        yield from self.names()
        yield from self.descriptions()
        yield from self.methods()
        yield from self.closedness()
        yield from self.unused()

    def names(self) -> Iterator[Finding]:
        service = self.data.get("service")
        if isinstance(service, str) and not _PASCAL.match(service):
            yield self.finding(
                "SERVICE_PASCAL_CASE",
                ("service",),
                f"service {service!r} is not PascalCase",
                at_value=True,
            )
        for section, rule, pattern, case in (
            ("types", "TYPE_PASCAL_CASE", _PASCAL, "PascalCase"),
            ("errors", "ERROR_PASCAL_CASE", _PASCAL, "PascalCase"),
            ("methods", "METHOD_SNAKE_CASE", _SNAKE, "snake_case"),
        ):
            for name in _mapping(self.data.get(section)):
                if not pattern.match(name):
                    what = section[:-1]
                    yield self.finding(rule, (section, name), f"{what} {name!r} is not {case}")
        for pointer, schema in iter_schemas(self.document.data):
            for name in _mapping(schema.get("properties")):
                if not _SNAKE.match(name):
                    yield self.finding(
                        "PROPERTY_SNAKE_CASE",
                        (*pointer, "properties", name),
                        f"{label(pointer)}: property {name!r} is not snake_case",
                    )

    def descriptions(self) -> Iterator[Finding]:
        if "service" in self.data and not _described(self.data):
            service = self.data["service"]
            yield self.finding(
                "SERVICE_DESCRIPTION", ("service",), f"service {service!r} has no description"
            )
        for section, rule in (
            ("methods", "METHOD_DESCRIPTION"),
            ("types", "TYPE_DESCRIPTION"),
            ("errors", "ERROR_DESCRIPTION"),
        ):
            for name, spec in _mapping(self.data.get(section)).items():
                if not _described(_mapping(spec)):
                    what = section[:-1]
                    yield self.finding(rule, (section, name), f"{what} {name!r} has no description")

    def methods(self) -> Iterator[Finding]:
        for name, spec in _mapping(self.data.get("methods")).items():
            method = _mapping(spec)
            if "timeout" not in method:
                yield self.finding(
                    "METHOD_TIMEOUT",
                    ("methods", name),
                    f"method {name!r} states no timeout (write `timeout: null` for none)",
                )
            if "idempotent" not in method:
                yield self.finding(
                    "METHOD_IDEMPOTENT",
                    ("methods", name),
                    f"method {name!r} does not state `idempotent: true` or `false`",
                )

    def closedness(self) -> Iterator[Finding]:
        mine = [
            (schema, role)
            for (path, _), (schema, role) in self.usage.roles.items()
            if path == self.document.path
        ]
        for schema, role in mine:
            if not _is_object(schema.data):
                continue
            # unevaluatedProperties: false closes an object as well (beside allOf members too)
            closed = any(
                schema.data.get(k) is False
                for k in ("additionalProperties", "unevaluatedProperties")
            )
            stated = "additionalProperties" in schema.data or "unevaluatedProperties" in schema.data
            closer = (
                "unevaluatedProperties"
                if schema.data.get("additionalProperties") is not False
                and schema.data.get("unevaluatedProperties") is False
                else "additionalProperties"
            )
            free_form = not any(k in schema.data for k in ("properties", "patternProperties"))
            where = label(schema.pointer)
            # An allOf member may not be closed (nor constrain the others' properties with an
            # additionalProperties schema): JSON Schema would apply it to what the other members
            # add, so the generator refuses it (LV401). No advice here anyone could follow.
            if schema.identity in self.usage.members and not closed:
                continue
            if free_form and not stated and role & Role.REQUEST:
                # Closing an object without properties makes it accept only {}: the advice
                # for a free-form object is to say what its values are, or that any will do.
                yield self.finding(
                    "REQUEST_CLOSED",
                    schema.pointer,
                    f"{where}: an object without properties (any JSON object): state "
                    "`additionalProperties: true` if that is meant, or give its values a schema "
                    "(a map: `additionalProperties: {type: string}`), not `false`, which accepts "
                    "only {}",
                )
            # An object in both directions cannot be both closed and tolerant: closing it makes
            # every property added later a breaking change for response readers
            # (RESPONSE_CLOSED_PROPERTY_ADDED), so for it the advice is to split, never to close.
            elif role is Role.BOTH and closed:
                yield self.finding(
                    "RESPONSE_TOLERANT",
                    (*schema.pointer, closer),
                    f"{where}: an object used in both requests and responses is closed with "
                    "`additionalProperties: false`, so adding a property to it later breaks "
                    "callers reading responses (RESPONSE_CLOSED_PROPERTY_ADDED); use a closed "
                    "request type and an open response type instead" + _ON_EXISTING,
                )
            elif role is Role.BOTH and not stated:
                yield self.finding(
                    "REQUEST_CLOSED",
                    schema.pointer,
                    f"{where}: an object used in both requests and responses: open, a misspelt "
                    "request field is not refused; closed, adding a property later breaks callers "
                    "reading responses (RESPONSE_CLOSED_PROPERTY_ADDED); use a closed request type "
                    "and an open response type, or state `additionalProperties: true`"
                    + _ON_EXISTING,
                )
            elif role is Role.REQUEST and not stated:
                yield self.finding(
                    "REQUEST_CLOSED",
                    schema.pointer,
                    f"{where}: a request object without `additionalProperties: false`"
                    + _ON_EXISTING,
                )
            elif role is Role.RESPONSE and closed:
                yield self.finding(
                    "RESPONSE_TOLERANT",
                    (*schema.pointer, closer),
                    f"{where}: a response object with `additionalProperties: false`" + _ON_EXISTING,
                )

    def unused(self) -> Iterator[Finding]:
        if "service" not in self.data:
            return  # a library's types are its exports
        for name in _mapping(self.data.get("types")):
            if (self.document.path, ("types", name)) not in self.usage.used:
                yield self.finding(
                    "TYPE_UNUSED", ("types", name), f"type {name!r} is not used by any method"
                )
        raised = {
            error
            for spec in _mapping(self.data.get("methods")).values()
            for error in _list(_mapping(spec).get("errors"))
            if isinstance(error, str)  # anything else is the meta-schema's to report
        }
        for name in _mapping(self.data.get("errors")):
            if name not in raised:
                yield self.finding(
                    "ERROR_UNUSED", ("errors", name), f"error {name!r} is raised by no method"
                )


#: Following the closedness advice on a definition callers already use is itself a breaking
#: change (closing a request: REQUEST_CONSTRAINT_TIGHTENED; opening a response, which old
#: callers still read closed: RESPONSE_CONSTRAINT_LOOSENED), so every such finding says so.
_ON_EXISTING: Final = (
    " (on a definition in use, this change itself breaks callers: make it in new types or a "
    "new major version, or ignore the rule with a reason)"
)


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _described(spec: dict[str, object]) -> bool:
    text = spec.get("description")
    return isinstance(text, str) and bool(text.strip())


def _is_object(data: dict[str, object]) -> bool:
    if any(key in data for key in ("allOf", "anyOf", "oneOf", "$ref")):
        return False
    declared = data.get("type")
    types = [declared] if isinstance(declared, str) else _list(declared)
    return "object" in types or "properties" in data
