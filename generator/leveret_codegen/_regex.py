"""An ECMA-262 ``pattern`` rewritten for pydantic's Rust regex engine, meaning the same (issue 11).

A field's ``pattern`` is checked by pydantic-core with the Rust ``regex`` crate, whose defaults
differ from ECMA-262 (JSON Schema's dialect): ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are Unicode
there and ASCII (or ECMA's own whitespace set) in ECMA, ``.`` also matches ``\\r``, ``\\u2028``
and ``\\u2029`` there, ``[a&&b]`` is a set intersection, and ECMA-only syntax (named groups
``(?<x>..)``, ``[^]``, ``\\uXXXX``) does not compile. The runtime's translator
(:func:`leveret._regex.rust_translation`, the one its schema evaluator runs patterns with)
writes the explicit Rust forms (``\\d`` -> ``[0-9]``, ``.`` -> ``[^\\n\\r\\x{2028}\\x{2029}]``,
``\\b`` -> ``(?-u:\\b)``, literals escaped) and gives ``None`` for lookarounds, backreferences,
``\\p{..}`` (Rust's Unicode tables need not be Python's) and what is no ECMA-262;
:func:`rust_pattern` also gives ``None`` for what Rust then refuses to compile. A ``None`` pattern
is the schema guard's (leveret's evaluator), so every pattern the front end accepts imports, and
the models never switch to pydantic's ``python-re`` engine. The front end refuses (LV412) what
the evaluator would not run in linear time (``leveret._regex.compile_ecma``: over the Rust
engine's size limit, or backtracking with no ``maxLength``), so the guard never gets it.
"""

from __future__ import annotations

from functools import cache

from leveret._regex import PatternError, compile_ecma, rust_translation

__all__ = ["backtracks", "rust_pattern"]


@cache
def rust_pattern(pattern: str) -> str | None:
    """``pattern`` (ECMA-262) for pydantic's default engine with ECMA's meaning, or ``None``."""
    from pydantic_core import SchemaError, SchemaValidator, core_schema

    translated = rust_translation(pattern)
    if translated is None:
        return None
    try:
        SchemaValidator(core_schema.str_schema(pattern=translated))
    except SchemaError:
        return None  # Rust refuses it (a repetition too large, a syntax error)
    return translated


@cache
def backtracks(pattern: str) -> bool:
    """Whether the runtime's evaluator runs ``pattern`` on Python's backtracking ``re`` (a
    lookaround or a backreference): then it must see a ``maxLength`` around it (LV412)."""
    try:
        return not compile_ecma(pattern).linear
    except PatternError:
        return False  # LV412 refuses it where it is written
