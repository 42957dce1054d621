"""An ECMA-262 ``pattern`` rewritten for pydantic's Rust regex engine, meaning the same (issue 11).

A field's ``pattern`` is checked by pydantic-core with the Rust ``regex`` crate, whose defaults
differ from ECMA-262 (JSON Schema's dialect): ``\\d``, ``\\w``, ``\\s`` and ``\\b`` are Unicode
there and ASCII (or ECMA's own whitespace set) in ECMA, ``.`` also matches ``\\r``, ``\\u2028``
and ``\\u2029`` there, ``[a&&b]`` is a set intersection, and ECMA-only syntax (named groups
``(?<x>..)``, ``[^]``, ``\\uXXXX``) does not compile. :func:`rust_pattern` translates the ECMA
syntax it knows exactly into explicit Rust forms (``\\d`` -> ``[0-9]``, ``.`` ->
``[^\\n\\r\\u2028\\u2029]``, ``\\b`` -> ``(?-u:\\b)``, literals escaped) and returns ``None`` for
anything else: lookarounds, backreferences, ``\\p{..}`` (Rust's Unicode tables need not be
Python's), lone surrogates, and whatever Rust then refuses to compile. A ``None`` pattern is the
schema guard's (leveret's evaluator), so every pattern the front end accepts imports, and the
models never switch to pydantic's ``python-re`` engine.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

__all__ = ["rust_pattern"]

#: ECMA's WhiteSpace and LineTerminator code points (``\\s``), as a Rust class body.
_ECMA_SPACE: Final = (
    r"\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}"
)
_OUTSIDE: Final = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": "[0-9A-Za-z_]",
    "W": "[^0-9A-Za-z_]",
    "s": f"[{_ECMA_SPACE}]",
    "S": f"[^{_ECMA_SPACE}]",
    "b": r"(?-u:\b)",  # ECMA's word boundary is between ASCII word characters and the rest
    "B": r"(?-u:\B)",
}
_INSIDE: Final = {
    "d": "0-9",
    "w": "0-9A-Za-z_",
    "s": _ECMA_SPACE,
    "D": "[^0-9]",  # a nested class: Rust unites it with the rest
    "W": "[^0-9A-Za-z_]",
    "S": f"[^{_ECMA_SPACE}]",
}
#: ``.``: any code point but ECMA's line terminators.
_DOT: Final = r"[^\n\r\x{2028}\x{2029}]"
_CONTROL: Final = {"t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r"}
#: Characters an ECMA escape may make literal (``\\/`` too, for patterns written between slashes).
_SYNTAX: Final = frozenset("^$\\.*+?()[]{}|/-")
#: Characters Rust reads as syntax outside a class, and inside one (escaped there when literal).
_RUST_META: Final = frozenset("\\.+*?|[]{}^$")
_RUST_CLASS_META: Final = frozenset("\\[]^-&~")
_COUNT: Final = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


class _Untranslatable(Exception):
    """ECMA syntax this module does not translate exactly: the pattern is the guard's."""


def _char(code: int, *, in_class: bool = False) -> str:
    """One literal code point in Rust syntax."""
    ch = chr(code)
    if 0xD800 <= code <= 0xDFFF:
        raise _Untranslatable  # a lone surrogate: no Rust char (ECMA's u-less pairs too)
    if ch in "()" or not (ch.isprintable() or ch == " "):
        # dmcg looks for "(?=" textually, also after a backslash: a literal parenthesis is
        # never one; control and other invisible characters are spelt out
        return f"\\x{{{code:x}}}"
    if ch in (_RUST_CLASS_META if in_class else _RUST_META):
        return "\\" + ch
    return ch


def _escape(pattern: str, i: int, *, in_class: bool) -> tuple[str | int, int]:
    """The escape at ``pattern[i]`` (a backslash): a code point, or a class (Rust text)."""
    if i + 1 >= len(pattern):
        raise _Untranslatable
    e = pattern[i + 1]
    table = _INSIDE if in_class else _OUTSIDE
    if e in table and not (in_class and e in "bB"):
        return table[e], i + 2
    if in_class and e == "b":
        return 8, i + 2  # backspace, inside a class
    if e in _CONTROL:
        return ord(_CONTROL[e]), i + 2
    if e == "0" and not pattern[i + 2 : i + 3].isdigit():
        return 0, i + 2
    if e == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", pattern[i + 2 : i + 4]):
        return int(pattern[i + 2 : i + 4], 16), i + 4
    if e == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", pattern[i + 2 : i + 6]):
        return int(pattern[i + 2 : i + 6], 16), i + 6
    if e == "c" and pattern[i + 2 : i + 3].isascii() and pattern[i + 2 : i + 3].isalpha():
        return ord(pattern[i + 2]) % 32, i + 3
    if e in _SYNTAX:
        return ord(e), i + 2
    raise _Untranslatable  # backreferences, \k<..>, \p{..}, identity escapes of letters...


def _class(pattern: str, i: int) -> tuple[str, int]:
    """The class starting at ``pattern[i]`` (``[``) in Rust syntax, and the index after it."""
    i += 1
    negated = pattern[i : i + 1] == "^"
    if negated:
        i += 1
    if pattern[i : i + 1] == "]":
        # ECMA's "[]" matches nothing, "[^]" any code point
        return (r"(?s:.)" if negated else r"[^\x{0}-\x{10ffff}]"), i + 1
    # An atom: a code point, a class (Rust text), or None for an unescaped "-" (a range's).
    atoms: list[str | int | None] = []
    while True:
        if i >= len(pattern):
            raise _Untranslatable  # unterminated
        c = pattern[i]
        if c == "]":
            i += 1
            break
        if c == "\\":
            escaped, i = _escape(pattern, i, in_class=True)
            atoms.append(escaped)
        else:
            atoms.append(None if c == "-" else ord(c))
            i += 1
    out: list[str] = []
    k = 0
    while k < len(atoms):
        atom = atoms[k]
        if k + 2 < len(atoms) and atom is not None and atoms[k + 1] is None:
            # ECMA: "-" between two atoms is a range (at either end, or after one, literal)
            low, high = atom, atoms[k + 2]
            if not (isinstance(low, int) and isinstance(high, int)) or low > high:
                raise _Untranslatable  # Annex B's "[\\d-z]", or an error
            out.append(_char(low, in_class=True) + "-" + _char(high, in_class=True))
            k += 3
            continue
        if atom is None:
            out.append("\\-")
        else:
            out.append(atom if isinstance(atom, str) else _char(atom, in_class=True))
        k += 1
    return "[" + ("^" if negated else "") + "".join(out) + "]", i


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            atom, i = _escape(pattern, i, in_class=False)
            out.append(atom if isinstance(atom, str) else _char(atom))
            continue
        if c == "[":
            text, i = _class(pattern, i)
            out.append(text)
            continue
        if c == "(":
            if pattern.startswith("(?:", i):
                out.append("(?:")
                i += 3
            elif pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
                end = pattern.find(">", i + 3)
                if end < 0:
                    raise _Untranslatable
                out.append("(")  # a named group: its name matters only to \k<..>
                i = end + 1
            elif pattern.startswith("(?", i):
                raise _Untranslatable  # a lookaround
            else:
                out.append("(")
                i += 1
            continue
        if c == "{":
            count = _COUNT.match(pattern, i)
            if count is None:
                out.append(r"\{")  # Annex B: a brace that is no quantifier is literal
                i += 1
                continue
            out.append(count.group(0))
            i = count.end()
            continue
        if c in ")|^$*+?":
            out.append(c)
        elif c == ".":
            out.append(_DOT)
        else:
            out.append(_char(ord(c)))
        i += 1
    return "".join(out)


@cache
def rust_pattern(pattern: str) -> str | None:
    """``pattern`` (ECMA-262) for pydantic's default engine with ECMA's meaning, or ``None``."""
    from pydantic_core import SchemaError, SchemaValidator, core_schema

    try:
        translated = _translate(pattern)
    except _Untranslatable:
        return None
    try:
        SchemaValidator(core_schema.str_schema(pattern=translated))
    except SchemaError:
        return None  # Rust refuses it (a repetition too large, a syntax error)
    return translated
