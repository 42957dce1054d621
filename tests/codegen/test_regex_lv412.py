"""Review r11b items 1 and 5 in the front end: LV412, where the pattern is written, for a pattern
that is no ECMA-262, too large for the linear-time engine, or backtracking (lookaround,
backreference) with no ``maxLength`` in its schema or a schema applying it in place.

The rendered cases are in ``tests/invalid/cases/regex_r11b``; these check where a bound counts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from leveret_codegen import generate_files
from leveret_codegen._frontend import load_services
from tests.codegen.test_property_vs_jsonschema import _load
from tests.support.regex_spy import searched_by_backtracking

BAD = "^(?!x)(a+)+$"


def _lv412(tmp_path: Path, types: dict[str, Any]) -> list[str]:
    path = tmp_path / "r11b.yaml"
    path.write_text(yaml.safe_dump({"leveret": 1, "types": types}), encoding="utf-8")
    _, diagnostics = load_services([path])
    # (a maxLength beside type: object is LV405 too)
    assert {d.code for d in diagnostics} <= {"LV412", "LV405"}, [d.render() for d in diagnostics]
    return [d.message for d in diagnostics if d.code == "LV412"]


#: Schemas whose backtracking pattern a maxLength bounds (as LV412 counts it), each with a value
#: over the bound (as it sits in the schema's value) and a valid one the pattern runs on.
BOUNDED: list[tuple[Any, Any, Any]] = [
    ({"type": "string", "maxLength": 20, "pattern": BAD}, "{}", "aaa"),
    ({"type": "string", "maxLength": 20, "allOf": [{"pattern": BAD}]}, "{}", "aaa"),
    ({"type": "string", "maxLength": 20, "anyOf": [{"pattern": BAD}, {"const": "b"}]}, "{}", "aaa"),
    ({"type": "string", "maxLength": 20, "not": {"not": {"pattern": BAD}}}, "{}", "aaa"),
    (
        {"type": "string", "maxLength": 20, "if": {"pattern": BAD}, "else": {"pattern": BAD}},
        "{}",
        "aaa",
    ),
    (
        {
            "type": "object",
            "properties": {"c": {"type": "string", "maxLength": 9, "oneOf": [{"pattern": BAD}]}},
        },
        {"c": "{}"},
        {"c": "aaa"},
    ),
    ({"type": "object", "propertyNames": {"maxLength": 9, "pattern": BAD}}, {"{}": 1}, {"aaa": 1}),
    (
        {"type": "array", "items": {"type": "string", "allOf": [{"maxLength": 9, "pattern": BAD}]}},
        ["aaa", "{}"],
        ["aaa"],
    ),
    (
        {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 9, "pattern": "^(a)\\1$"},
        },
        {"k": "{}"},
        {"k": "aa"},
    ),
]


@pytest.mark.parametrize("schema", [schema for schema, _, _ in BOUNDED])
def test_a_bounded_backtracking_pattern_is_accepted(tmp_path: Path, schema: Any) -> None:
    assert _lv412(tmp_path, {"T": schema}) == []


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": BAD},
        # the object's maxLength bounds no property
        {"type": "object", "maxLength": 9, "properties": {"c": {"type": "string", "pattern": BAD}}},
        # a bound in one branch does not bound another
        {"anyOf": [{"type": "string", "maxLength": 9}, {"type": "string", "pattern": BAD}]},
        # a property named like an in-place keyword is no keyword
        {
            "type": "object",
            "properties": {"allOf": {"type": "string", "pattern": BAD}, "not": {"type": "string"}},
        },
        {"type": "object", "propertyNames": {"pattern": BAD}},
        {"type": "array", "maxLength": 9, "items": {"type": "string", "pattern": "^(a)\\1$"}},
    ],
)
def test_an_unbounded_backtracking_pattern_is_lv412(tmp_path: Path, schema: Any) -> None:
    [message] = _lv412(tmp_path, {"T": schema})
    assert "backtracks" in message
    assert "with no maxLength" in message


def test_a_backtracking_property_name_pattern_is_lv412(tmp_path: Path) -> None:
    schema = {"type": "object", "maxLength": 9, "patternProperties": {BAD: {"type": "string"}}}
    [message] = _lv412(tmp_path, {"T": schema})
    assert "property name" in message


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        (r"^(\p{L}+ ?){1,1000}$", "too large for a linear-time regex engine"),
        ("(?i)^a$", "is not ECMA-262"),
        ("^a++$", "repeats nothing"),
        (r"\Aabc\Z", "is not an ECMA-262 escape"),
        (r"^(a)\2$", "refers to group 2"),
        (r"^\uDE00$", "surrogate"),
    ],
)
def test_a_pattern_the_runtime_refuses_is_lv412(tmp_path: Path, pattern: str, said: str) -> None:
    schema = {"type": "string", "maxLength": 20, "pattern": pattern}
    [message] = _lv412(tmp_path, {"T": schema})
    assert said in message


def test_a_surrogate_pair_pattern_is_accepted(tmp_path: Path) -> None:
    assert _lv412(tmp_path, {"T": {"type": "string", "pattern": r"^\uD83D\uDE00$"}}) == []


# -- the generated model checks the bound before the pattern --------------------------------------

HOSTILE = "a" * 24 + "!"  # exponential for BAD: seconds of backtracking, over every bound above


def _fill(value: Any) -> Any:
    """``value`` with each ``"{}"`` (a string or a key) the hostile string."""
    if isinstance(value, dict):
        return {HOSTILE if k == "{}" else k: _fill(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v) for v in value]
    return HOSTILE if value == "{}" else value


@pytest.mark.parametrize(("schema", "hostile", "valid"), BOUNDED)
def test_a_generated_model_refuses_an_over_long_string_before_its_pattern_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema: Any, hostile: Any, valid: Any
) -> None:
    """The guard part holding a backtracking pattern carries the field's maxLength (which lived
    in the pydantic field only, checked after the guard): the guard refuses the long string
    without running the pattern on it, and the runtime compiles the guard refusing unbounded
    backtracking (review r11b item 6)."""
    definition = {
        "leveret": 1,
        "package": "bounds",
        "service": "Bounds",
        "version": "1",
        "types": {
            "T": schema,
            "Holder": {"type": "object", "properties": {"v": {"$ref": "#/types/T"}}},
        },
        "methods": {
            "echo": {"request": {"$ref": "#/types/Holder"}, "response": {"$ref": "#/types/Holder"}}
        },
    }
    path = tmp_path / "bounds.yaml"
    path.write_text(yaml.safe_dump(definition), encoding="utf-8")
    result = generate_files([path])
    assert result.ok, [d.render() for d in result.diagnostics]
    models_py = tmp_path / "models.py"
    models_py.write_text(result.files["bounds/models.py"], encoding="utf-8")

    searched = searched_by_backtracking(monkeypatch)
    models = _load(models_py, "bounds")  # its guard compiles (on first use) with the spy
    try:
        holder = models.Holder
        # the guard's wording (pydantic's field says "String should have at most")
        with pytest.raises(ValidationError, match=r"longer than (9|20) characters"):
            holder.model_validate_json(json.dumps({"v": _fill(hostile)}), strict=True)
        assert HOSTILE not in searched
        holder.model_validate_json(json.dumps({"v": valid}), strict=True)
        assert searched, "the pattern runs on strings within the bound"
    finally:
        sys.modules.pop(models.__name__, None)
