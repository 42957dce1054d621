"""Review r11b items 1 and 5 in the front end: LV412, where the pattern is written, for a pattern
that is no ECMA-262, too large for the linear-time engine, or backtracking (lookaround,
backreference) with no ``maxLength`` in its schema or a schema applying it in place.

The rendered cases are in ``tests/invalid/cases/regex_r11b``; these check where a bound counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from leveret_codegen._frontend import load_services

BAD = "^(?!x)(a+)+$"


def _lv412(tmp_path: Path, types: dict[str, Any]) -> list[str]:
    path = tmp_path / "r11b.yaml"
    path.write_text(yaml.safe_dump({"leveret": 1, "types": types}), encoding="utf-8")
    _, diagnostics = load_services([path])
    # (a maxLength beside type: object is LV405 too)
    assert {d.code for d in diagnostics} <= {"LV412", "LV405"}, [d.render() for d in diagnostics]
    return [d.message for d in diagnostics if d.code == "LV412"]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "maxLength": 20, "pattern": BAD},
        {"type": "string", "maxLength": 20, "allOf": [{"pattern": BAD}]},
        {"type": "string", "maxLength": 20, "anyOf": [{"pattern": BAD}, {"const": "b"}]},
        {"type": "string", "maxLength": 20, "not": {"not": {"pattern": BAD}}},
        {"type": "string", "maxLength": 20, "if": {"pattern": BAD}, "else": {"pattern": BAD}},
        {
            "type": "object",
            "properties": {"c": {"type": "string", "maxLength": 9, "oneOf": [{"pattern": BAD}]}},
        },
        {"type": "object", "propertyNames": {"maxLength": 9, "pattern": BAD}},
    ],
)
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
