"""Validate a loaded definition against the format's meta-schema, one diagnostic per violation.

jsonschema finds the violations; this module turns each into a message a person can act on,
at the position of the offending key or value, with a stable code. Messages are our own rather
than jsonschema's, so the exact texts the tests pin do not move with jsonschema releases.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from typing import Any, Final

import jsonschema
import jsonschema.exceptions

from leveret_codegen._diagnostics import Diagnostic, printable
from leveret_codegen._loader import LoadedDocument, Pointer

__all__ = ["broken_pointers", "load_metaschema", "validate_document"]

_HINT_KEY: Final = "x-leveret-hint"
_JSON_TYPES: Final = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


@functools.cache
def load_metaschema() -> Mapping[str, Any]:
    """The packaged meta-schema (identical to ``schemas/leveret.schema.json``)."""
    text = resources.files("leveret_codegen").joinpath("schema/leveret.schema.json").read_text()
    loaded: Mapping[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_metaschema())


def validate_document(document: LoadedDocument) -> list[Diagnostic]:
    """Every meta-schema violation of ``document``, sorted by position."""
    found: list[Diagnostic] = []
    for error in _validator().iter_errors(document.data):
        found.extend(_diagnose(document, error))
    return sorted(set(found))


def broken_pointers(data: object) -> set[Pointer]:
    """Where ``data`` breaks the meta-schema: the offending value, the key a ``propertyNames``
    rule rejects, or the property a ``required`` rule misses (which need not exist)."""
    found: set[Pointer] = set()
    for error in _validator().iter_errors(data):
        path: Pointer = tuple(error.absolute_path)
        instance: Any = error.instance
        if "propertyNames" in error.schema_path:
            found.add((*path, str(instance)))
        elif error.validator == "required" and isinstance(instance, dict):
            rule: Any = error.validator_value
            found.update((*path, name) for name in rule if name not in instance)
        else:
            found.add(path)
    return found


def _describe(value: object) -> str:
    """What a value is, in the user's (YAML) terms."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _where(path: Pointer) -> str:
    """``methods.reserve.timeout`` - how messages name a place in the file."""
    # a key is anything a document holds (one described by a service too): escaped
    return ".".join(printable(str(p)) for p in path) if path else "the document"


def _did_you_mean(word: object, choices: Iterable[str]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _diagnose(
    doc: LoadedDocument, error: jsonschema.exceptions.ValidationError
) -> Iterator[Diagnostic]:
    path: Pointer = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    # jsonschema types these as "maybe unset"; for a reported error they are always set.
    instance: Any = error.instance
    rule: Any = error.validator_value

    if kind == "anyOf" and error.context:
        yield from _diagnose_any_of(doc, path, error.context)
        return
    if "propertyNames" in error.relative_schema_path or "propertyNames" in error.schema_path:
        hint = str(schema.get(_HINT_KEY, ""))
        yield doc.diagnostic(
            (*path, str(instance)), "LV205", f"invalid name {_show(instance)}", hint, at_key=True
        )
    elif kind == "required":
        missing = [name for name in rule if name not in instance]
        for name in missing:
            yield doc.diagnostic(
                path,
                "LV201",
                f"{_where(path)} is missing the required property {name!r}",
                f"add `{name}:` to {_where(path)}",
                at_key=True,
            )
    elif kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        for key in instance:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            listed = ", ".join(allowed)
            extension = "; and `x-` prefixed extension keys" if "^x-" in patterns else ""
            yield doc.diagnostic(
                (*path, key),
                "LV202",
                f"unknown property {key!r} in {_where(path)}",
                f"{_did_you_mean(key, allowed)}allowed: {listed}{extension}",
                at_key=True,
            )
    elif kind == "dependentRequired":
        for trigger, needed in rule.items():
            if trigger not in instance:
                continue
            for name in needed:
                if name not in instance:
                    yield doc.diagnostic(
                        (*path, trigger),
                        "LV207",
                        f"{trigger!r} needs {name!r}",
                        f"add `{name}:` to {_where(path)}"
                        + (
                            " (a file without `service` is a library of types)"
                            if name == "service"
                            else ""
                        ),
                        at_key=True,
                    )
    elif kind == "type":
        expected = rule
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_JSON_TYPES[n] for n in names)
        hint = ""
        if "string" in names and isinstance(instance, (int, float, bool)):
            hint = f'quote the value, e.g. "{_show(instance)}", so YAML reads it as text'
        yield doc.diagnostic(
            path,
            "LV203",
            f"{_where(path)} must be {wanted}, not {_describe(instance)}",
            hint,
        )
    elif kind in ("enum", "const"):
        allowed_values = rule if kind == "enum" else [rule]
        shown = ", ".join(_show(v) for v in allowed_values)
        hint = str(schema.get(_HINT_KEY, "")) or f"allowed: {shown}"
        suggestion = _did_you_mean(instance, [v for v in allowed_values if isinstance(v, str)])
        yield doc.diagnostic(
            path,
            "LV204",
            f"{_show(instance)} is not allowed for {_where(path)}",
            suggestion + hint,
        )
    elif kind == "pattern":
        is_ref = path[-1:] == ("$ref",)
        yield doc.diagnostic(
            path,
            "LV208" if is_ref else "LV205",
            f"{'invalid $ref' if is_ref else 'invalid value'} {_show(instance)} for {_where(path)}",
            str(schema.get(_HINT_KEY, "")),
        )
    elif kind in (
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "minItems",
        "minLength",
        "maxLength",
        "uniqueItems",
    ):
        rule = {
            "minimum": f"at least {rule}",
            "maximum": f"at most {rule}",
            "exclusiveMinimum": f"greater than {rule}",
            "minItems": "a non-empty list",
            "minLength": "a non-empty string",
            "maxLength": f"at most {rule} characters long",
            "uniqueItems": "a list without duplicates",
        }[kind]
        hint = str(schema.get(_HINT_KEY, ""))
        yield doc.diagnostic(path, "LV206", f"{_where(path)} must be {rule}", hint)
    else:
        yield doc.diagnostic(path, "LV299", f"{_where(path)}: {error.message}")


def _diagnose_any_of(
    doc: LoadedDocument, path: Pointer, context: list[jsonschema.exceptions.ValidationError]
) -> Iterator[Diagnostic]:
    """Explain an ``anyOf`` failure by the alternative the value came closest to, rather than
    "not valid under any of the given schemas"."""
    branches: dict[object, list[jsonschema.exceptions.ValidationError]] = {}
    for sub in context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def wrong_type(subs: list[jsonschema.exceptions.ValidationError]) -> bool:
        return any(s.validator == "type" and tuple(s.absolute_path) == path for s in subs)

    if all(wrong_type(subs) for subs in branches.values()):
        # The value has none of the types: name them all in one message.
        names: list[str] = []
        for sub in context:
            if sub.validator == "type":
                value: Any = sub.validator_value
                names.extend([value] if isinstance(value, str) else value)
        wanted = " or ".join(_JSON_TYPES[n] for n in dict.fromkeys(names))
        instance: Any = context[0].instance
        yield doc.diagnostic(
            path, "LV203", f"{_where(path)} must be {wanted}, not {_describe(instance)}"
        )
        return
    # Of the alternatives with the right type, the one whose errors are deepest got furthest.
    candidates = [subs for subs in branches.values() if not wrong_type(subs)]
    closest = max(candidates, key=lambda subs: max(len(s.absolute_path) for s in subs))
    for sub in closest:
        yield from _diagnose(doc, sub)
