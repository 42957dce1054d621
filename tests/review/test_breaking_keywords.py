"""``leveret breaking`` on every validation keyword the generator enforces since issue 11: each
one taken out of a response is a breaking change (old callers may now get what they reject), and
put into a request it is one too (old clients may send what it refuses). Taken out of a request
or put into a response, none is. The corpus (``breaking/``) has a case per keyword and direction;
this checks the whole vocabulary at once, on one schema, so a keyword the comparison skipped
would show up here as "no change". (``oneOf`` without a discriminator has corpus cases only:
taking a branch out of one whose branches overlap is not looser, it changes which values match
exactly one branch.)"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_lint_keywords import BASE, EVERY_KEYWORD

from leveret_codegen._review.breaking import compare_sides
from leveret_codegen._review.findings import Finding, Level
from leveret_codegen._review.sources import FileReader, load_side


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(schema: dict[str, Any]) -> None:
        target = schema
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _drop_all(*keys: str) -> Callable[[dict[str, Any]], None]:
    def mutate(schema: dict[str, Any]) -> None:
        for key in keys:
            del schema[key]

    return mutate


def _set(path: tuple[str, ...], value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(schema: dict[str, Any]) -> None:
        target = schema
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


P = "properties"
#: Each mutation makes the schema accept more (a looser schema).
LOOSER: dict[str, Callable[[dict[str, Any]], None]] = {
    "minProperties": _drop("minProperties"),
    "maxProperties": _drop("maxProperties"),
    "propertyNames": _drop("propertyNames"),
    "patternProperties value": _set(("patternProperties", "^n_"), {"type": ["integer", "string"]}),
    "dependentRequired": _drop("dependentRequired"),
    "dependentSchemas": _drop("dependentSchemas"),
    "if/then/else": _drop_all("if", "then", "else"),
    "enum of any value": _drop(P, "a", "enum"),
    "type list": _drop(P, "b", "type"),
    "const object": _drop(P, "c", "const"),
    "uniqueItems": _drop(P, "d", "uniqueItems"),
    "items false after prefixItems": _drop(P, "d", "items"),
    "prefixItems entry": _drop_all(),  # replaced below
    "contains": _drop_all(),  # replaced below: contains with its counts
    "minContains": _drop(P, "e", "minContains"),
    "maxContains": _drop(P, "e", "maxContains"),
    "not": _drop(P, "f", "not"),
    "boolean schema false": _set((P, "i"), True),
    "untyped minimum": _drop(P, "j", "minimum"),
    "format date-time": _drop(P, "k", "format"),
    "unevaluatedProperties": _drop(P, "m", "unevaluatedProperties"),
    "unevaluatedItems": _drop(P, "u", "unevaluatedItems"),
}


def _drop_contains(schema: dict[str, Any]) -> None:
    for key in ("contains", "minContains", "maxContains"):
        del schema[P]["e"][key]


LOOSER["contains"] = _drop_contains


def _fix_prefix(schema: dict[str, Any]) -> None:
    schema[P]["d"]["prefixItems"][1] = {"type": ["integer", "string"]}


LOOSER["prefixItems entry"] = _fix_prefix


def _compare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: str, old: Any, new: Any
) -> list[Finding]:
    monkeypatch.chdir(tmp_path)
    for name, schema in (("old.yaml", old), ("new.yaml", new)):
        document = copy.deepcopy(BASE)
        document["methods"]["put"][part] = schema
        (tmp_path / name).write_text(yaml.safe_dump(document, sort_keys=False))
    sides = [load_side(FileReader(), [name]) for name in ("old.yaml", "new.yaml")]
    assert [s.diagnostics for s in sides] == [[], []]
    return compare_sides(*sides)


def _errors(findings: list[Finding]) -> list[str]:
    return [f"{f.rule}: {f.message}" for f in findings if f.severity is Level.ERROR]


@pytest.mark.parametrize("keyword", sorted(LOOSER))
def test_a_looser_response_breaks_and_a_looser_request_does_not(
    keyword: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loose = copy.deepcopy(EVERY_KEYWORD)
    LOOSER[keyword](loose)
    assert loose != EVERY_KEYWORD
    response = _compare(tmp_path, monkeypatch, "response", EVERY_KEYWORD, loose)
    assert _errors(response), [f.message for f in response]
    request = _compare(tmp_path, monkeypatch, "request", EVERY_KEYWORD, loose)
    assert request and _errors(request) == []


@pytest.mark.parametrize("keyword", sorted(LOOSER))
def test_a_tighter_request_breaks_and_a_tighter_response_does_not(
    keyword: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loose = copy.deepcopy(EVERY_KEYWORD)
    LOOSER[keyword](loose)
    request = _compare(tmp_path, monkeypatch, "request", loose, EVERY_KEYWORD)
    assert _errors(request), [f.message for f in request]
    response = _compare(tmp_path, monkeypatch, "response", loose, EVERY_KEYWORD)
    assert response and _errors(response) == []
