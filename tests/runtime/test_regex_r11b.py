"""Review r11b: patterns are ECMA-262, run in linear time unless they backtrack, and a
backtracking one only on strings a ``maxLength`` bounds; the evaluator is linear in the body
outside a generated model's guard too.

* item 1: a pattern over the Rust engine's size limit (``^(\\p{L}+ ?){1,1000}$``, no lookaround)
  fell back to Python's backtracking ``re``: 10 s on 24 characters. Now it is refused.
* item 5: Python-only syntax (``(?i)``, ``(?#..)``, ``(?P<x>..)``, ``a++``) and escapes that are
  errors in ECMA-262 with the u flag (``\\A``, ``\\Z``, ``\\a``...) were run with Python's meaning;
  ``\\uD83D\\uDE00`` never matched 😀. Verdicts are compared with node's ``RegExp`` (u flag,
  JSON Schema's dialect) where node is installed.
* item 6: ``{maxLength: 20, allOf: [{pattern: <backtracking>}]}`` ran the pattern on a longer
  string; the length bound of a node now applies before any backtracking pattern in or under it.
* item 2: ``compile_schema(...)(x)`` and ``SchemaGuard.failures`` opened no scope, so ``if``/
  ``not``/``anyOf``/``allOf`` beside ``unevaluatedProperties`` re-evaluated each level per level
  above it (117 s for 107 bytes). The evaluator's calls are counted at two depths.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

import leveret._schema
from leveret._regex import PatternError, UnsupportedPattern, compile_ecma
from leveret._schema import UnsupportedSchema, compile_schema
from leveret.schema import SchemaGuard
from tests.support.regex_spy import searched_by_backtracking

NODE = shutil.which("node")


def _node_verdicts(cases: list[tuple[str, list[str]]]) -> list[Any]:
    """node's ``new RegExp(p, 'u')``: for each case, None (a syntax error) or its verdicts."""
    script = r"""
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    console.log(JSON.stringify(cases.map(([p, texts]) => {
      let rx; try { rx = new RegExp(p, 'u'); } catch (e) { return null; }
      return texts.map((t) => rx.test(t));
    })));
    """
    assert NODE is not None
    out = subprocess.run(
        [NODE, "-e", script], input=json.dumps(cases), capture_output=True, text=True, check=True
    )
    return list(json.loads(out.stdout))


# -- item 1: nothing but a lookaround or a backreference backtracks ------------------------------


@pytest.mark.parametrize("pattern", [r"^(\p{L}+ ?){1,1000}$", r"^(\p{L}{1,50} ?){1,200}$"])
def test_a_pattern_too_large_for_the_linear_engine_is_refused(pattern: str) -> None:
    with pytest.raises(UnsupportedPattern, match="too large for a linear-time regex engine"):
        compile_ecma(pattern)
    with pytest.raises(UnsupportedSchema, match="lower the repetition count"):
        compile_schema({"type": "string", "maxLength": 30, "pattern": pattern})


def test_only_lookaround_and_backreferences_backtrack() -> None:
    assert compile_ecma(r"^\p{L}{0,64}$").linear
    assert compile_ecma(r"^\p{L}+( \p{L}+)*$").linear
    assert compile_ecma(r"^[a-z]{1,5000}$").linear
    assert not compile_ecma("^(?=a).$").linear
    assert not compile_ecma(r"^(a)\1$").linear
    assert not compile_ecma(r"^(?<x>a)\k<x>$").linear


# -- item 5: ECMA-262 syntax and meanings --------------------------------------------------------

NOT_ECMA = [
    "(?i)^abc$",  # inline flags
    "^(?#comment)a$",  # a comment group
    "^(?P<x>a)$",  # Python's named group
    "^(?P=x)$",
    "^a++$",  # possessive
    "^a*+$",
    "^a?+$",
    "^a{2}+$",
    "^a**$",  # doubled
    "^a{1}{2}$",
    "^*a$",  # nothing to repeat
    "^a|*$",
    "(+a)",
    r"\Aabc",  # letters ECMA reads as themselves (and the u flag refuses); anchors in re
    r"abc\Z",
    r"^\a$",
    r"^\e$",
    r"^\z$",
    r"^\k$",  # \k with no <name>
    r"^\8$",  # no group 8: an octal or a digit without the u flag
    r"^\01$",  # legacy octal
    r"^[\1]$",
    r"^\c1$",  # \c without a letter
    r"^\x4$",  # \x without two hex digits
    r"^\u12$",
]


def test_a_lone_surrogate_is_refused() -> None:
    # valid ECMA-262, but no JSON text holds one: it has no linear-time (Rust) form
    with pytest.raises(UnsupportedPattern, match="surrogate"):
        compile_ecma(r"^\uD83D$")


@pytest.mark.parametrize("pattern", NOT_ECMA)
def test_python_syntax_and_non_ecma_escapes_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError):
        compile_ecma(pattern)
    with pytest.raises(leveret._schema.SchemaError):
        compile_schema({"pattern": pattern})


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_what_is_refused_is_no_ecma_262_with_the_u_flag() -> None:
    verdicts = _node_verdicts([(p, []) for p in NOT_ECMA])
    assert [p for p, v in zip(NOT_ECMA, verdicts, strict=True) if v is not None] == []


TEXTS = ["", "a", "aa", "ab", "b", "aab", "\n", "1a ", "é", "😀", "\ud83d", "A", "Z", "x"]
ACCEPTED = [
    r"^\uD83D\uDE00$",  # a surrogate pair spelt as escapes is one code point
    r"^[\uD83D\uDE00]$",
    r"^[\uD800\uDC00-\uDBFF\uDFFF]$",
    r"^\p{L}+$",
    r"^(a)\1$",
    r"^(?<x>a)\k<x>$",
    r"^a{1,2}?b$",
    r"^a+?$",
    "^[^]$",
    "^.$",
    "(?<=a)b",
    "(?<!a)b",
    "^(?!a).$",
    r"^\d\w\s$",
    r"^\x41$",
    r"^\u0041$",
    r"^\cJ$",
    r"^\0$",
    r"^[\b]$",
    r"\bab\B",
    r"^\/\.\*$",
]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_accepted_patterns_give_node_verdicts() -> None:
    expected = _node_verdicts([(p, TEXTS) for p in ACCEPTED])
    wrong = []
    for pattern, want in zip(ACCEPTED, expected, strict=True):
        assert want is not None, f"{pattern!r} is no ECMA-262 with the u flag"
        regex = compile_ecma(pattern)
        for text, ecma in zip(TEXTS, want, strict=True):
            if regex.search(text) is not ecma:
                wrong.append(f"{pattern!r} on {text!r}: ECMA {ecma}")
    assert wrong == []


def test_a_surrogate_pair_is_one_code_point() -> None:
    # before: \uD83D\uDE00 was two lone surrogates for re, and never matched
    regex = compile_ecma(r"^\uD83D\uDE00$")
    assert regex.linear
    assert regex.search("😀")
    assert not regex.search("😁")
    assert compile_schema({"pattern": r"^[\uD83D\uDE00-\uD83D\uDE4F]+$"}).is_valid("😀😎")


# -- unbounded backtracking is refused; a bound anywhere around it is enough ---------------------

BAD = "^(?!x)(a+)+$"  # a lookahead before a nested quantifier: exponential on "aaa...!"


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": BAD},
        {"properties": {"c": {"pattern": BAD}}, "maxLength": 5},  # the bound is the object's
        {"anyOf": [{"maxLength": 5}, {"pattern": BAD}]},  # a branch needs no other's bound
        {"not": {"maxLength": 5, "pattern": "^(a)\\1$"}, "pattern": BAD},
        {"$defs": {"C": {"pattern": BAD}}, "properties": {"a": {"$ref": "#/$defs/C"}}},
        {"propertyNames": {"pattern": BAD}},
        {"patternProperties": {BAD: True}, "maxLength": 5},  # a key has no maxLength
    ],
)
def test_a_backtracking_pattern_without_a_length_bound_is_refused(schema: Any) -> None:
    with pytest.raises(UnsupportedSchema, match="backtracks"):
        compile_schema(schema)


def test_a_schema_guard_refuses_a_backtracking_pattern_without_a_length_bound() -> None:
    # It allowed one (its guard parts held no maxLength before the generator copied it there):
    # a module's guard checks as strictly as the evaluator called directly.
    guard = SchemaGuard({"T": {"properties": {"c": {"pattern": BAD}}}}, {})
    with pytest.raises(UnsupportedSchema, match="backtracks"):
        guard.failures("T", {"c": "aaa"})
    bounded = SchemaGuard({"T": {"properties": {"c": {"pattern": BAD, "maxLength": 20}}}}, {})
    [failure] = bounded.failures("T", {"c": "a" * 24 + "!"})
    assert failure.keyword == "maxLength"


HOSTILE = "a" * 24 + "!"  # exponential for BAD: seconds before the bound ran first


@pytest.mark.parametrize(
    ("schema", "hostile", "valid"),
    [
        ({"type": "string", "maxLength": 20, "pattern": BAD}, HOSTILE, "aaa"),
        ({"type": "string", "maxLength": 20, "allOf": [{"pattern": BAD}]}, HOSTILE, "aaa"),
        ({"allOf": [{"maxLength": 20}, {"pattern": BAD}]}, HOSTILE, "aaa"),
        ({"anyOf": [{"maxLength": 20, "pattern": BAD}, {"maxLength": 3}]}, HOSTILE, "aaaa"),
        ({"maxLength": 20, "not": {"not": {"pattern": BAD}}}, HOSTILE, "aaa"),
        ({"maxLength": 20, "if": {"pattern": BAD}, "then": {"pattern": BAD}}, HOSTILE, "aaa"),
        ({"$defs": {"C": {"pattern": BAD}}, "$ref": "#/$defs/C", "maxLength": 20}, HOSTILE, "a"),
        (
            {"$defs": {"L": {"maxLength": 20}}, "$ref": "#/$defs/L", "allOf": [{"pattern": BAD}]},
            HOSTILE,
            "aaa",
        ),
        (
            {"properties": {"c": {"maxLength": 20, "oneOf": [{"pattern": BAD}, {"const": "b"}]}}},
            {"c": HOSTILE},
            {"c": "aaa"},
        ),
        ({"propertyNames": {"maxLength": 20, "pattern": BAD}}, {HOSTILE: 1}, {"aaa": 1}),
    ],
)
def test_a_length_bound_runs_before_any_backtracking_pattern(
    schema: Any, hostile: Any, valid: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    searched = searched_by_backtracking(monkeypatch)
    check = compile_schema(schema)
    assert not check.is_valid(hostile)
    assert HOSTILE not in searched
    assert check.is_valid(valid)
    assert searched, "the pattern runs on strings within the bound"


def test_the_bound_failure_is_reported_as_max_length() -> None:
    check = compile_schema({"type": "string", "maxLength": 20, "allOf": [{"pattern": BAD}]})
    [failure] = check("a" * 24 + "!")
    assert (failure.keyword, failure.message) == ("maxLength", "longer than 20 characters")
    [failure] = check("aaa!")
    assert failure.keyword == "pattern"
    assert check("aaa") == []


# -- item 2: the direct API is linear in depth too -------------------------------------------------


def _node_chain(depth: int) -> Any:
    inst: Any = {"name": "leaf"}
    for _ in range(depth):
        inst = {"name": "x", "children": [inst]}
    return inst


def _c_chain(depth: int) -> Any:
    inst: Any = {}
    for _ in range(depth):
        inst = {"c": inst}
    return inst


NODE_DEFS = {
    "Node": {
        "type": "object",
        "allOf": [{"$ref": "#/$defs/Base"}],
        "unevaluatedProperties": False,
    },
    "Base": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        },
    },
}
SELF = {"$ref": "#"}
SHAPES: dict[str, tuple[Any, Callable[[int], Any]]] = {
    "allOf-ref-unevaluated": ({"$defs": NODE_DEFS, "$ref": "#/$defs/Node"}, _node_chain),
    "if-unevaluated": (
        {
            "type": "object",
            "if": {"properties": {"c": SELF}},
            "then": True,
            "unevaluatedProperties": False,
        },
        _c_chain,
    ),
    "not-not": (
        {"type": "object", "not": {"not": {"properties": {"c": SELF}}}, "properties": {"c": SELF}},
        _c_chain,
    ),
    "anyOf-unevaluated": (
        {
            "type": "object",
            "anyOf": [{"properties": {"c": SELF}}, {"properties": {"c": {"type": "array"}}}],
            "unevaluatedProperties": False,
        },
        _c_chain,
    ),
    "if-then": (
        {"if": {"properties": {"c": SELF}}, "then": {"properties": {"c": SELF}}},
        _c_chain,
    ),
}


class _TooMuchWork(Exception):
    pass


def _calls(monkeypatch: pytest.MonkeyPatch, run: Callable[[], Any], limit: int) -> int:
    """How many schema nodes ``run`` evaluates (stopped at ``limit``: exponential work would
    not end in the test's lifetime)."""
    count = 0
    original = leveret._schema._Node.check

    def counting(self: Any, instance: Any) -> Any:
        nonlocal count
        count += 1
        if count > limit:
            raise _TooMuchWork
        return original(self, instance)

    with monkeypatch.context() as patch:
        patch.setattr(leveret._schema._Node, "check", counting)
        try:
            run()
        except _TooMuchWork:
            pytest.fail(f"more than {limit} evaluations")
    return count


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_compile_schema_is_linear_in_depth(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    schema, chain = SHAPES[shape]
    counts = []
    for depth in (10, 40):
        instance = chain(depth)
        counts.append(
            _calls(monkeypatch, lambda i=instance: compile_schema(schema)(i), limit=2000 * depth)
        )
    assert counts[1] <= 4 * counts[0] * 1.25, counts


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_schema_guard_failures_is_linear_in_depth(
    shape: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema, chain = SHAPES[shape]
    # the same shape as a module's type "T" (refs to "#" become refs to the type)
    text = json.dumps(schema).replace('"#"', '"#/$defs/T"')
    typed = json.loads(text)
    defs = {**typed.pop("$defs", {}), "T": typed}
    counts = []
    for depth in (10, 40):
        instance = chain(depth)
        guard = SchemaGuard({"T": typed}, defs)
        counts.append(
            _calls(monkeypatch, lambda g=guard, i=instance: g.failures("T", i), limit=2000 * depth)
        )
    assert counts[1] <= 4 * counts[0] * 1.25, counts


# -- low: \p{..} tables are built when a module's guard is made, not in the first request -------


def test_a_guard_with_unicode_categories_compiles_when_it_is_made() -> None:
    guard = SchemaGuard({"T": {"properties": {"n": {"pattern": r"^\p{Lo}+$"}}}}, {})
    assert "T" in guard._checks  # built at import of the generated module
    assert guard.failures("T", {"n": "漢字"}) == []
    assert guard.failures("T", {"n": "abc"})
    plain = SchemaGuard({"T": {"pattern": "^a$"}}, {})
    assert plain._checks == {}  # the others stay lazy: importing costs nothing
