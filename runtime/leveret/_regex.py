"""ECMA-262 regular expressions (JSON Schema's ``pattern``) run in linear time where possible.

Python's ``re`` backtracks: ``^(a|aa)+$`` on 40 characters takes seconds, holding the GIL, so one
hostile string would stop a whole worker. :func:`compile_ecma` therefore translates a pattern for
the Rust ``regex`` crate (a finite automaton, linear in the text, reached through pydantic-core's
``str`` pattern schema) and keeps Python's ``re`` only for what that engine cannot do:
lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``) and backreferences (``\\1``, ``\\k<name>``).
Such a pattern backtracks; :func:`leveret._schema.compile_schema` runs it only on strings a
``maxLength`` bounds. Any other pattern the Rust engine refuses (over its size limit:
``^(\\p{L}+ ?){1,1000}$``) is :class:`UnsupportedPattern`, never run on ``re`` (review r11b).

Both translations give the ECMA meaning (the u flag's grammar, JSON Schema's dialect) of what
they translate: ``\\d``, ``\\w``, ``\\b`` are ASCII, ``\\s`` is ECMA's white space and line
terminator set, ``.`` is any code point but ``\\n``, ``\\r``, U+2028 and U+2029, ``$`` is the
end of the input only (not before a final newline), ``[]`` matches nothing and ``[^]``
anything, ``\\cJ`` is a control character, ``(?<name>...)`` a named group, ``\\uD83D\\uDE00``
(a surrogate pair) one code point, ``\\p{L}``/``\\p{Letter}`` a Unicode general category (from
this Python's :mod:`unicodedata`, for both engines, so they agree), and a ``{`` that does not
start a quantifier is a literal. What is no ECMA-262, or has another meaning in Python, is
:class:`PatternError`: ``(?i)``, ``(?#...)``, ``(?P<x>...)``, possessive and doubled quantifiers
(``a++``, ``a**``), escapes of letters and digits ECMA does not define (``\\A``, ``\\Z``,
``\\a``, ``\\8``, legacy octal), a backreference to a group that does not exist. Script and
binary properties (``\\p{Script=Greek}``), ``\\P{...}`` inside a class, ``\\u{...}`` and lone
surrogates are :class:`UnsupportedPattern`. Caveat left, in the ``re`` form only: ``\\D``,
``\\W``, ``\\S`` inside a class follow Python's Unicode rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import Final

from pydantic_core import SchemaError as CoreSchemaError
from pydantic_core import SchemaValidator, core_schema

__all__ = [
    "PatternError",
    "Regex",
    "UnsupportedPattern",
    "compile_ecma",
    "ecma_to_python",
    "rust_translation",
]


class PatternError(ValueError):
    """The pattern is not a usable regular expression."""


class UnsupportedPattern(PatternError):
    """The pattern is valid ECMA-262 but uses a feature not supported here."""


class _NotRust(Exception):
    """The pattern needs the backtracking engine (lookaround, backreference, legacy escape)."""


# -- character sets ------------------------------------------------------------------------------

_DIGIT: Final = [(0x30, 0x39)]
_WORD: Final = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
#: ECMA-262 WhiteSpace and LineTerminator (what ``\s`` means there)
_SPACE: Final = [
    (0x09, 0x0D),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
]
_SETS: Final = {"d": _DIGIT, "w": _WORD, "s": _SPACE}
_WORD_PY: Final = "[A-Za-z0-9_]"
_PY_BOUNDARY: Final = f"(?:(?<!{_WORD_PY})(?={_WORD_PY})|(?<={_WORD_PY})(?!{_WORD_PY}))"
_PY_NOT_BOUNDARY: Final = f"(?:(?<={_WORD_PY})(?={_WORD_PY})|(?<!{_WORD_PY})(?!{_WORD_PY}))"
_QUANTIFIER: Final = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")
_HEX2: Final = re.compile("[0-9A-Fa-f]{2}")
_HEX4: Final = re.compile("[0-9A-Fa-f]{4}")
_CONTROLS: Final = {"t": 9, "n": 10, "v": 11, "f": 12, "r": 13}
_DIGITS: Final = re.compile("[0-9]+")
#: ECMA-262 group names (RegExpIdentifierName, ASCII part; re takes no "$")
_GROUP_NAME: Final = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)>")


def _count_groups(pattern: str) -> int:
    """How many capturing groups ``pattern`` has (``(`` or ``(?<name>``, outside classes)."""
    count, i, n, in_class = 0, 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1  # ECMA's empty class
        elif c == "(" and (
            pattern[i + 1 : i + 2] != "?"
            or (pattern[i + 2 : i + 3] == "<" and pattern[i + 3 : i + 4] not in ("=", "!"))
        ):
            count += 1
        i += 1
    return count


#: Unicode general categories by their long names (ECMA-262 accepts both forms).
_CATEGORY_NAMES: Final = {
    "Letter": "L",
    "Cased_Letter": "LC",
    "Uppercase_Letter": "Lu",
    "Lowercase_Letter": "Ll",
    "Titlecase_Letter": "Lt",
    "Modifier_Letter": "Lm",
    "Other_Letter": "Lo",
    "Mark": "M",
    "Nonspacing_Mark": "Mn",
    "Spacing_Mark": "Mc",
    "Enclosing_Mark": "Me",
    "Number": "N",
    "Decimal_Number": "Nd",
    "digit": "Nd",
    "Letter_Number": "Nl",
    "Other_Number": "No",
    "Punctuation": "P",
    "punct": "P",
    "Connector_Punctuation": "Pc",
    "Dash_Punctuation": "Pd",
    "Open_Punctuation": "Ps",
    "Close_Punctuation": "Pe",
    "Initial_Punctuation": "Pi",
    "Final_Punctuation": "Pf",
    "Other_Punctuation": "Po",
    "Symbol": "S",
    "Math_Symbol": "Sm",
    "Currency_Symbol": "Sc",
    "Modifier_Symbol": "Sk",
    "Other_Symbol": "So",
    "Separator": "Z",
    "Space_Separator": "Zs",
    "Line_Separator": "Zl",
    "Paragraph_Separator": "Zp",
    "Other": "C",
    "Control": "Cc",
    "cntrl": "Cc",
    "Format": "Cf",
    "Surrogate": "Cs",
    "Private_Use": "Co",
    "Unassigned": "Cn",
}
_CATEGORY_CACHE: dict[str, list[tuple[int, int]]] = {}


@cache
def _category_runs() -> tuple[tuple[int, int, str], ...]:
    """Every code point's general category, as runs (first, last, category): one walk over
    the code space (0.1 s) for all categories, not one per category."""
    runs: list[tuple[int, int, str]] = []
    start, current = 0, unicodedata.category("\0")
    for code in range(1, 0x110000):
        category = unicodedata.category(chr(code))
        if category != current:
            runs.append((start, code - 1, current))
            start, current = code, category
    runs.append((start, 0x10FFFF, current))
    return tuple(runs)


def _category(name: str, pattern: str) -> list[tuple[int, int]]:
    """The code point ranges of Unicode general category ``name`` (``L``, ``Letter``,
    ``General_Category=Letter``), from :mod:`unicodedata`, once per category."""
    short = name.split("=", 1)[1] if name.startswith(("General_Category=", "gc=")) else name
    short = _CATEGORY_NAMES.get(short, short)
    if short not in _CATEGORY_CACHE:
        valid = set(_CATEGORY_NAMES.values())
        if short not in valid and short not in {v[0] for v in valid}:
            raise UnsupportedPattern(
                f"pattern {pattern!r}: \\p{{{name}}} is not a Unicode general category"
                " (scripts and binary properties are not supported)"
            )
        wanted = ("Lu", "Ll", "Lt") if short == "LC" else (short,)
        ranges: list[tuple[int, int]] = []
        for start, last, category in _category_runs():
            if category in wanted or category[0] in wanted:
                if ranges and ranges[-1][1] == start - 1:
                    ranges[-1] = (ranges[-1][0], last)
                else:
                    ranges.append((start, last))
        _CATEGORY_CACHE[short] = ranges
    return _CATEGORY_CACHE[short]


#: ECMA's WhiteSpace and LineTerminator code points (``\s``), as a Rust class body.
_RS_SPACE: Final = (
    r"\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}"
)
#: Rust forms of \d \w \s \D \W \S outside a class, and inside one (a negated set nests:
#: Rust unites a nested class with the rest).
_RS_SETS: Final = {"d": "0-9", "w": "0-9A-Za-z_", "s": _RS_SPACE}
_RS_OUTSIDE: Final = {
    **{e: f"[{body}]" for e, body in _RS_SETS.items()},
    **{e.upper(): f"[^{body}]" for e, body in _RS_SETS.items()},
}
_RS_INSIDE: Final = {**_RS_SETS, **{e.upper(): f"[^{body}]" for e, body in _RS_SETS.items()}}
#: Characters Rust reads as syntax outside a class, and inside one (escaped there when literal).
_RS_META: Final = frozenset("\\.+*?|[]{}^$")
_RS_CLASS_META: Final = frozenset("\\[]^-&~")


def _rs_literal(code: int, *, in_class: bool = False) -> str | None:
    """One literal code point in Rust syntax (``None``: a lone surrogate, which Rust has not)."""
    ch = chr(code)
    if 0xD800 <= code <= 0xDFFF:
        return None
    if ch in "()" or not (ch.isprintable() or ch == " "):
        # datamodel-code-generator looks for "(?=" textually, also after a backslash: a literal
        # parenthesis is never one; control and other invisible characters are spelt out
        return f"\\x{{{code:x}}}"
    if ch in (_RS_CLASS_META if in_class else _RS_META):
        return "\\" + ch
    return ch


def _py_ranges(ranges: list[tuple[int, int]]) -> str:
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


def _rs_char(code: int) -> str:
    return f"\\x{{{code:X}}}"


#: A Rust class matching nothing (ECMA's ``[]``).
_RS_NOTHING: Final = "[^\\x{0}-\\x{10ffff}]"


def _rs_ranges(ranges: list[tuple[int, int]]) -> str:
    return "".join(_rs_char(a) if a == b else f"{_rs_char(a)}-{_rs_char(b)}" for a, b in ranges)


# -- translation ---------------------------------------------------------------------------------


class _Translator:
    """One pass over an ECMA-262 pattern, writing the ``re`` and the Rust ``regex`` forms.

    The Rust form escapes what Rust reads as syntax (a class's ``&``, ``~``, ``-``: Rust classes
    nest and have set operators ECMA does not) and spells invisible characters and parentheses
    as ``\\x{..}``, so it stays readable in generated models (``\\d`` is ``[0-9]``); it stops
    (``rust = None``) at anything only a backtracking engine can do. With ``for_models``, also
    at ``\\p{..}`` (pydantic-core's Unicode tables need not be this Python's; the guard decides)
    and at Annex B's class ranges with a set at an end (``[\\d-z]``)."""

    def __init__(self, pattern: str, *, for_models: bool = False) -> None:
        self.pattern = pattern
        self.for_models = for_models
        self.py: list[str] = []
        self.rs: list[str] | None = []
        #: the pattern has a lookaround or a backreference (what only ``re`` can run)
        self.backtracking = False
        #: whether the last item written may take a quantifier (ECMA: "nothing to repeat")
        self._quantifiable = False
        self._groups = _count_groups(pattern)

    def both(self, py: str, rs: str | None) -> None:
        self.py.append(py)
        if self.rs is not None:
            if rs is None:
                self.rs = None
            else:
                self.rs.append(rs)

    def run(self) -> tuple[str, str | None]:
        p, i, n = self.pattern, 0, len(self.pattern)
        while i < n:
            c = p[i]
            quantifiable = True
            if c == "\\":
                before = len(self.py)
                i = self.escape(i)
                # an assertion (\b, \B) takes no quantifier; every other escape is an atom
                quantifiable = self.py[before:] not in ([_PY_BOUNDARY], [_PY_NOT_BOUNDARY])
            elif c == "[":
                i = self.char_class(i)
            elif c == ".":
                self.both("[^\\n\\r\\u2028\\u2029]", "[^\\n\\r\\x{2028}\\x{2029}]")
                i += 1
            elif c == "$":
                # ECMA's $ (no multiline flag): the end of input only; Rust's $ is that too
                self.both(r"\Z", "$")
                i += 1
                quantifiable = False
            elif c == "(":
                i = self.group(i)
                quantifiable = False
            elif c == "{" and _QUANTIFIER.match(p, i) is not None:
                m = _QUANTIFIER.match(p, i)
                assert m is not None
                i = self.quantifier(i, m[0], m.end())
                continue
            elif c == "{":  # ECMA (annex B): a "{" that starts no quantifier is a literal
                self.both("\\{", "\\{")
                i += 1
            elif c in "}]":
                self.both("\\" + c, "\\" + c)
                i += 1
            elif c in "*+?":
                i = self.quantifier(i, c, i + 1)
                continue
            elif c in ")|^":
                self.both(c, c)
                i += 1
                quantifiable = c == ")"
            else:
                self.both(c, _rs_literal(ord(c)))
                i += 1
            self._quantifiable = quantifiable
        return "".join(self.py), None if self.rs is None else "".join(self.rs)

    def quantifier(self, i: int, written: str, after: int) -> int:
        """A quantifier (``*``, ``+``, ``?``, ``{n,m}``) at ``i``, and a lazy ``?`` after it.

        ECMA-262 has no possessive (``a++``, ``a*+``) or repeated (``a**``, ``a{2}{3}``)
        quantifiers, and none after nothing (``^*``, ``(*``, ``|+``): each is a syntax error
        there, which Python's ``re`` (or Rust) would run with another meaning."""
        if not self._quantifiable:
            raise PatternError(
                f"pattern {self.pattern!r}: {written!r} at position {i} repeats nothing"
                " (ECMA-262 has no possessive or doubled quantifiers)"
            )
        if self.pattern[after : after + 1] == "?":
            written += "?"
            after += 1
        self.both(written, written)
        self._quantifiable = False
        return after

    def group(self, i: int) -> int:
        """A group at ``i``: ``(``, ``(?:``, a lookaround or ``(?<name>``; ECMA-262 has no other
        ``(?`` (``(?i)``, ``(?#...)``, ``(?P<x>...)`` are Python's, refused)."""
        p = self.pattern
        if p.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            self.backtracking = True  # lookaround: Python's re only
            opening = p[i : i + (4 if p[i + 2] == "<" else 3)]
            self.both(opening, None)
            return i + len(opening)
        if p.startswith("(?<", i):
            m = _GROUP_NAME.match(p, i + 3)
            if m is None:
                raise PatternError(f"pattern {p!r}: a group name at position {i} is not valid")
            # its name matters only to \k<..>, which Rust cannot run anyway
            self.both(f"(?P<{m[1]}>", "(")
            return m.end()
        if p.startswith("(?:", i):
            self.both("(?:", "(?:")
            return i + 3
        if p.startswith("(?", i):
            raise PatternError(
                f"pattern {p!r}: {p[i : i + 3]!r} at position {i} is not ECMA-262 (only (?:, (?=,"
                " (?!, (?<=, (?<! and (?<name> are; inline flags and comments are Python's)"
            )
        self.both("(", "(")
        return i + 1

    def category(self, i: int, in_class: bool) -> tuple[int, list[tuple[int, int]], bool]:
        """``\\p{...}``/``\\P{...}`` at ``i``: (index after, ranges, negated)."""
        p = self.pattern
        e = p[i + 1]
        end = p.find("}", i + 3)
        ranges = _category(p[i + 3 : end] if end > 0 else "", p)
        if in_class and e == "P":
            raise UnsupportedPattern(
                f"pattern {p!r}: \\P{{...}} inside a character class is not supported"
            )
        return end + 1, ranges, e == "P"

    def escape(self, i: int) -> int:
        """An escape outside a class, at ``i``; returns the index after it."""
        p = self.pattern
        if i + 1 >= len(p):
            self.both("\\", None)  # re reports the dangling backslash
            return i + 1
        e = p[i + 1]
        if e in "pP" and p[i + 2 : i + 3] == "{":
            after, ranges, negated = self.category(i, in_class=False)
            neg = "^" if negated else ""
            rust = None if self.for_models else f"[{neg}{_rs_ranges(ranges)}]"
            self.both(f"[{neg}{_py_ranges(ranges)}]", rust)
            return after
        if e in "pP" or (e == "u" and p[i + 2 : i + 3] == "{"):
            raise UnsupportedPattern(f"pattern {p!r}: \\{e}{{...}} is not supported by Python's re")
        if e.lower() in _SETS:
            neg = "^" if e.isupper() else ""
            self.both(f"[{neg}{_py_ranges(_SETS[e.lower()])}]", _RS_OUTSIDE[e])
        elif e == "b":
            self.both(_PY_BOUNDARY, "(?-u:\\b)")
        elif e == "B":
            self.both(_PY_NOT_BOUNDARY, "(?-u:\\B)")
        elif e == "k" and p[i + 2 : i + 3] == "<":
            end = p.find(">", i + 3)
            if end < 0:
                raise PatternError(f"pattern {p!r}: unterminated \\k<name>")
            self.backtracking = True
            self.both(f"(?P={p[i + 3 : end]})", None)
            return end + 1
        elif e in "123456789":
            m = _DIGITS.match(p, i + 1)
            assert m is not None
            if int(m[0]) > self._groups:
                raise PatternError(
                    f"pattern {p!r}: \\{m[0]} refers to group {m[0]}, and there are"
                    f" {self._groups} (ECMA-262 without the u flag would read a legacy octal"
                    " escape or a literal digit: write \\x.. or the digit)"
                )
            self.backtracking = True
            self.both(f"(?:\\{m[0]})", None)
            return m.end()
        else:
            py, code, after = self.atom(i)
            self.both(py, None if code is None else _rs_literal(code))
            return after
        return i + 2

    def atom(self, i: int) -> tuple[str, int | None, int]:
        """A single-character escape at ``i`` (in or out of a class): its ``re`` form, the code
        point it means for the Rust form (``None``: only ``re`` has it) and the index after it."""
        p = self.pattern
        e = p[i + 1]
        if e == "c" and p[i + 2 : i + 3].isascii() and p[i + 2 : i + 3].isalpha():
            code = ord(p[i + 2]) % 32  # ECMA control escape: \cJ is U+000A
            return f"\\x{code:02x}", code, i + 3
        if e == "0" and not p[i + 2 : i + 3].isdigit():
            return "\\x00", 0, i + 2
        if e == "0":
            raise PatternError(
                f"pattern {p!r}: {p[i : i + 3]} at position {i} is a legacy octal escape, not"
                " ECMA-262 with the u flag: write \\x.. instead"
            )
        if e == "x" and _HEX2.fullmatch(p[i + 2 : i + 4]):
            return p[i : i + 4], int(p[i + 2 : i + 4], 16), i + 4
        if e == "u" and _HEX4.fullmatch(p[i + 2 : i + 6]):
            code = int(p[i + 2 : i + 6], 16)
            if 0xD800 <= code <= 0xDBFF and p[i + 6 : i + 8] == "\\u":
                low = p[i + 8 : i + 12]
                if _HEX4.fullmatch(low) and 0xDC00 <= int(low, 16) <= 0xDFFF:
                    # a UTF-16 pair spelt as two escapes: the code point it encodes
                    code = 0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00)
                    return f"\\U{code:08x}", code, i + 12
            if 0xD800 <= code <= 0xDFFF:
                raise UnsupportedPattern(
                    f"pattern {p!r}: {p[i : i + 6]} is half of a UTF-16 surrogate pair, which no"
                    " JSON text holds alone; write the pair (\\uD83D\\uDE00) or the character"
                )
            return p[i : i + 6], code, i + 6
        if e in _CONTROLS:
            return p[i : i + 2], _CONTROLS[e], i + 2
        if not e.isascii() or not e.isalnum():
            return p[i : i + 2], ord(e), i + 2  # an identity escape: the character itself
        if e.isdigit():  # in a class: \1 is no backreference
            raise PatternError(
                f"pattern {p!r}: \\{e} at position {i} is a legacy octal escape, not ECMA-262"
                " with the u flag: write \\x.. instead"
            )
        # Letters and digits that are no escape in ECMA-262 (\a, \A, \z, \Z, \e, \x1, \c1,
        # \8, \01...): syntax errors with the u flag, the letter itself (or an octal value)
        # without it, and anchors or other escapes in Python's re. Neither meaning is safe.
        raise PatternError(
            f"pattern {p!r}: \\{e} at position {i} is not an ECMA-262 escape (with the u flag it"
            f" is an error, without it the character {e!r}; Python's re would read another"
            f" meaning): write {e!r} itself, or ^ / $ for the start and end"
        )

    def char_class(self, i: int) -> int:
        """A class ``[...]`` at ``i``; returns the index after its ``]``."""
        p, n = self.pattern, len(self.pattern)
        # ECMA's "[]" matches nothing and "[^]" any character; re would read the "]" as a
        # literal and the class on.
        if p[i + 1 : i + 2] == "]":
            self.both("(?!)", _RS_NOTHING)
            return i + 2
        if p[i + 1 : i + 3] == "^]":
            self.both(r"[\s\S]", "(?s:.)")
            return i + 3
        j = i + 1
        negated = p[j : j + 1] == "^"
        if negated:
            j += 1
        py: list[str] = ["[^" if negated else "["]
        # Rust items: (kind, value): "c" a code point (its int), "-" an unescaped hyphen (45),
        # "s" a set (its Rust class, a str)
        items: list[tuple[str, int | str]] = []
        rust_ok = True
        while True:
            if j >= n:  # unterminated: re words the error
                self.both("".join(py), None)
                return n
            c = p[j]
            if c == "]":
                j += 1
                break
            if c == "\\" and j + 1 < n:
                e = p[j + 1]
                if e in "pP" and p[j + 2 : j + 3] == "{":
                    after, ranges, _ = self.category(j, in_class=True)
                    py.append(_py_ranges(ranges))
                    items.append(("s", f"[{_rs_ranges(ranges)}]"))
                    rust_ok = rust_ok and not self.for_models
                    j = after
                    continue
                if e in "pP" or (e == "u" and p[j + 2 : j + 3] == "{"):
                    raise UnsupportedPattern(
                        f"pattern {p!r}: \\{e}{{...}} is not supported by Python's re"
                    )
                if e in _SETS:
                    py.append(_py_ranges(_SETS[e]))
                    items.append(("s", _RS_INSIDE[e]))
                    j += 2
                    continue
                if e.lower() in _SETS:  # \D \W \S: re's (Unicode) meaning in the fallback
                    py.append(p[j : j + 2])
                    items.append(("s", _RS_INSIDE[e]))
                    j += 2
                    continue
                if e == "b":  # in a class, \b is a backspace
                    py.append("\\x08")
                    items.append(("c", 8))
                    j += 2
                    continue
                atom_py, code, after = self.atom(j)
                py.append(atom_py)
                if code is None:
                    rust_ok = False
                else:
                    items.append(("c", code))
                j = after
                continue
            # an unescaped "-" may make a range, or be a literal (first, last, after a range)
            items.append(("-" if c == "-" else "c", ord(c)))
            # re would warn on "[[", "&&", "~~", "||" (possible future set operations)
            py.append("\\" + c if c in "[&~|" else c)
            j += 1
        py.append("]")
        self.both("".join(py), self._rust_class(items, negated) if rust_ok else None)
        return j

    def _rust_class(self, items: list[tuple[str, int | str]], negated: bool) -> str | None:
        """The Rust class of parsed class items (ECMA ClassRanges: ``a-b`` is a range when both
        ends are single characters, any other hyphen a literal); ``None`` if Rust has no form."""
        out: list[str] = ["[^" if negated else "["]

        def single(item: tuple[str, int | str]) -> str:
            value = item[1]
            literal = value if isinstance(value, str) else _rs_literal(value, in_class=True)
            if literal is None:
                raise _NotRust
            return literal

        try:
            k = 0
            while k < len(items):
                if k + 2 < len(items) and items[k + 1][0] == "-":
                    low, high = items[k], items[k + 2]
                    if isinstance(low[1], int) and isinstance(high[1], int):
                        if low[1] > high[1]:
                            return None  # out of order: re words the error
                        out.append(f"{single(low)}-{single(high)}")
                    elif self.for_models:
                        return None
                    else:  # a set at either end (annex B): the set, a hyphen and the other end
                        out.extend((single(low), "\\-", single(high)))
                    k += 3
                    continue
                out.append(single(items[k]))
                k += 1
        except _NotRust:
            return None
        if len(out) == 1:
            return _RS_NOTHING if not negated else "(?s:.)"
        out.append("]")
        return "".join(out)


def rust_translation(pattern: str) -> str | None:
    """``pattern`` (ECMA-262) in Rust ``regex`` syntax for a generated model's field, meaning
    what ECMA says, or ``None`` when it has no such form (see :class:`_Translator`: a lookaround,
    a backreference, ``\\p{..}``...). Not checked against Rust's own limits: the generator does."""
    try:
        return _Translator(pattern, for_models=True).run()[1]
    except PatternError:
        return None


def ecma_to_python(pattern: str) -> str:
    """``pattern`` (ECMA-262) as a Python ``re`` pattern of the same meaning (module docstring)."""
    return _Translator(pattern).run()[0]


class Regex:
    """A compiled ECMA-262 pattern: :meth:`search` says whether it matches anywhere in a text.

    ``linear`` is True when it runs on the Rust engine (time linear in the text), False when it
    needs Python's backtracking ``re`` (a lookaround or a backreference, nothing else)."""

    __slots__ = ("linear", "python", "search", "written")

    def __init__(self, written: str, python: re.Pattern[str], rust: str | None) -> None:
        self.written = written
        self.python = python
        self.search: Callable[[str], bool]
        self.linear = False
        if rust is not None:
            self.linear = True
            self.search = self._rust_search(_rust_validator(written, rust), python)
            return
        py_search = python.search
        self.search = lambda text: py_search(text) is not None

    @staticmethod
    def _rust_search(
        test: Callable[[object], bool], python: re.Pattern[str]
    ) -> Callable[[str], bool]:
        py_search = python.search

        def search(text: str) -> bool:
            if test(text):
                return True
            # False also for a text Rust cannot hold (a lone surrogate, only from a Python
            # caller: JSON parsing refuses one); re decides those.
            if text.isascii() or _SURROGATE.search(text) is None:
                return False
            return py_search(text) is not None

        return search


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _rust_validator(written: str, rust: str) -> Callable[[object], bool]:
    """The Rust engine's test for ``rust`` (the translation of ``written``), or
    :class:`UnsupportedPattern`: never Python's ``re`` instead, whose time on a pattern
    without lookaround or backreference need not be linear (review r11b: ``^(\\p{L}+ ?){1,1000}$``
    is over Rust's size limit, and took 10 s on 24 characters with re)."""
    try:
        validator = SchemaValidator(core_schema.str_schema(pattern=rust, regex_engine="rust-regex"))
    except CoreSchemaError as exc:
        detail = str(exc).strip().splitlines()[-1].strip().removeprefix("SchemaError: ")
        raise UnsupportedPattern(
            f"pattern {written!r}: too large for a linear-time regex engine ({detail}); lower"
            " the repetition count (a{1,1000} repeats its item's whole automaton, and a Unicode"
            " category such as \\p{L} is a large one), or bound the length with maxLength and"
            " use * or +"
        ) from None
    return validator.isinstance_python


def compile_ecma(pattern: str) -> Regex:
    """Compile an ECMA-262 pattern (no flags); :class:`PatternError` when it is not usable.

    Only a lookaround or a backreference makes a backtracking (``linear=False``) :class:`Regex`;
    any other pattern the Rust engine cannot take (over its size limit) is
    :class:`UnsupportedPattern`, never a silent fallback to Python's ``re``."""
    translator = _Translator(pattern)
    python_form, rust_form = translator.run()
    try:
        python = re.compile(python_form)
    except re.error as exc:
        raise PatternError(f"{pattern!r} is not a usable regular expression: {exc}") from None
    if rust_form is None and not translator.backtracking:
        raise UnsupportedPattern(
            f"pattern {pattern!r} has no linear-time form (a lone surrogate?) and no lookaround"
            " or backreference that would need backtracking"
        )
    return Regex(pattern, python, rust_form)
