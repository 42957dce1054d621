"""A compiled evaluator of the JSON Schema 2020-12 validation vocabulary, for generated models.

Issue 11: generated models enforce every validation keyword of a definition. Where pydantic
cannot say a keyword (``uniqueItems`` with JSON equality, ``oneOf``'s "exactly one",
``if``/``then``/``else``, ``dependentSchemas``, ...), the generated validator calls this module,
so the generated code imports only the runtime and pydantic, never ``jsonschema`` at run time.

``compile_schema(schema)`` walks the schema once and returns a :class:`Check`;
``check(instance)`` evaluates it over an already-parsed JSON value (``dict``/``list``/``str``/
``int``/``float``/``bool``/``None``, as ``json.loads`` or pydantic's ``from_json`` give them) and
returns the failures, empty when the instance is valid. Each schema becomes a small
:class:`_Node` holding, per Python type of instance, the tuple of keyword checks that can apply
to it, so a keyword that is absent, or that does not apply to the instance's kind, costs nothing.
Failures carry paths relative to the node that found them and are prefixed on the way up, only
when there are some: a valid instance allocates nothing but the checks' own work.

Semantics (``tests/runtime/test_schema_evaluator.py`` runs the JSON-Schema-Test-Suite):

* numbers are JSON's: ``1.0`` is an ``integer``, ``True`` is never a number, ``enum``/``const``/
  ``uniqueItems`` use JSON equality (``1 == 1.0``, ``true != 1``, deep for arrays and objects);
  ``multipleOf`` is exact on the decimal a float was written as (``0.07`` is a multiple of
  ``0.01``), through :class:`fractions.Fraction`.
* ``pattern``/``patternProperties`` are ECMA-262 regular expressions (:mod:`leveret._regex`),
  run in linear time by the Rust ``regex`` engine pydantic-core carries; only a pattern with
  lookaround or a backreference runs on Python's backtracking ``re``, and only where a
  ``maxLength`` bounds it, checked first (an unbounded one is refused at compile time); a
  pattern too large for the Rust engine is refused (review r11b). ``\\d``/``\\w``/``\\b``
  are ASCII, ``\\s`` is ECMA's set, ``.`` excludes ``\\n``, ``\\r``, U+2028 and U+2029, ``$``
  matches only at the very end, ``[]``/``[^]``, ``\\cX``, named groups and ``\\p{L}``
  (Unicode general categories) mean what ECMA says; script and binary properties, ``\\P{...}``
  inside a class and ``\\u{...}`` are refused at compile time.
* failures are collected in order up to :data:`MAX_FAILURES`, then evaluation stops: an
  instance with a million failing items costs no more than a valid one (review r11 F1).
  ``uniqueItems``/``enum``/``const`` compare canonical values whose hashes are salted, so no
  instance can be built to collide (F2).
* ``format`` is an assertion (the format-assertion vocabulary) for date-time, date, time,
  duration, email, hostname, ipv4, ipv6, uri, uri-reference and uuid; any other format is a
  compile error (an unknown format must not pass silently).
* ``$ref`` resolves local JSON pointers (``#``, ``#/$defs/...``, any ``#/...``) against the root
  given to :func:`compile_schema`; recursion is allowed, and a reference cycle that never
  descends into the instance (``{"$ref": "#"}``) is a compile error, so evaluation always ends.
  Remote refs, ``$id`` below the root, ``$anchor``, ``$dynamicRef``/``$dynamicAnchor`` raise
  :class:`UnsupportedSchema`.
* ``unevaluatedProperties``/``unevaluatedItems`` are exact: they see the annotations of the
  adjacent keywords and of in-place subschemas (``allOf``, ``anyOf``, ``oneOf``, ``if``/``then``/
  ``else``, ``dependentSchemas``, ``$ref``) that the instance passes, as the spec says. Only a
  schema using them pays for the second walk.
* annotation keywords (``title``, ``description``, ``default``, ``examples``, ``$comment``,
  ``deprecated``, ``readOnly``, ``writeOnly``, ``content*``) are ignored; any other unknown
  keyword is a compile error, so a misspelt constraint is never silently not enforced.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Final, TypeAlias
from urllib.parse import unquote

from ._joining import joining_type
from ._regex import PatternError, Regex, UnsupportedPattern, compile_ecma, ecma_to_python

__all__ = [
    "FORMATS",
    "MAX_FAILURES",
    "SCOPE",
    "Check",
    "Failure",
    "SchemaError",
    "Scope",
    "UnsupportedSchema",
    "compile_schema",
    "format_check",
    "shared_verdict",
]

PathItem: TypeAlias = "str | int"


class SchemaError(ValueError):
    """The schema is not a valid JSON Schema 2020-12 schema (or uses an unknown keyword/format)."""


class UnsupportedSchema(SchemaError, NotImplementedError):
    """The schema is valid but uses a feature this evaluator does not implement (remote refs...)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One reason an instance is invalid.

    ``path`` leads from the checked instance to the failing value (object keys and array
    indexes), ``keyword`` is the schema keyword that failed, ``message`` says why in a few words
    (values are clipped, never the whole instance).
    """

    path: tuple[PathItem, ...]
    keyword: str
    message: str

    @property
    def pointer(self) -> str:
        """The path as a JSON pointer (RFC 6901), ``""`` for the instance itself."""
        return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in self.path)

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message} ({self.keyword})"


_Failures: TypeAlias = tuple[Failure, ...]
_KwCheck: TypeAlias = Callable[[Any], _Failures]
_OK: Final[_Failures] = ()
#: Evaluation stops collecting (and checking) once this many failures are found: a message
#: shows ten, and an instance of a million failing items must cost no more than a valid one.
MAX_FAILURES: Final = 100
_CLIP: Final = 40


def _show(value: Any) -> str:
    """A short JSON rendering of ``value`` for a message: clipped, never the whole instance."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _CLIP else text[: _CLIP - 3] + "..."


def _under(key: PathItem, failures: _Failures) -> _Failures:
    return tuple(Failure((key, *f.path), f.keyword, f.message) for f in failures)


def _fail(keyword: str, message: str) -> _Failures:
    return (Failure((), keyword, message),)


# -- JSON values ---------------------------------------------------------------------------------


#: Tags of canonical values. Random strings: their hashes are salted per process (as every str
#: hash is), so hashes of canonical values cannot be predicted from outside (issue 11 review F2:
#: Python's int hash is not salted, hash(k * (2**61 - 1)) == 0 for every k, and a uniqueItems
#: array of such numbers made every dict lookup a collision: quadratic).
_SALT: Final = os.urandom(8).hex()
_NUMBER: Final = "number:" + _SALT
_BOOLEAN: Final = "boolean:" + _SALT
_ARRAY: Final = "array:" + _SALT
_TRUE: Final = (_BOOLEAN, True)
_FALSE: Final = (_BOOLEAN, False)


def _canon(value: Any) -> Any:
    """A hashable value equal to another's exactly when the JSON values are equal.

    Strings stay themselves; a number becomes ``(_NUMBER, text)``, the text being the same for
    equal numbers (``1`` and ``1.0``: an integral value as its hex digits, any other float as
    :meth:`float.hex`, both exact and never limited in length); booleans are tagged (``true``
    is never ``1``); containers become frozensets of canonical values (an array's of (index,
    value) pairs): a frozenset keeps its hash, so hashing a nested value costs its top level
    only, once its parts are built (a tuple would hash its whole depth again each time).
    """
    if isinstance(value, str):
        return value
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    if isinstance(value, int):
        return (_NUMBER, format(value, "x"))
    if isinstance(value, float):
        if value.is_integer():
            return (_NUMBER, format(int(value), "x"))
        return (_NUMBER, value.hex())  # NaN/infinities: not JSON, each only equal to itself
    if value is None:
        return None
    if isinstance(value, list):
        return (_ARRAY, frozenset(enumerate(map(_canon, value))))
    if isinstance(value, dict):
        return frozenset((k, _canon(v)) for k, v in value.items())
    raise TypeError(f"not a JSON value: {type(value).__name__}")


class Scope:
    """What one validation has evaluated so far (review r11 F8): verdicts and canonical values.

    A generated model's guards run once per nesting level, each over the value it is given, and
    a guard whose schema refers to another type evaluates that type over the whole subtree; so a
    body nested ``d`` deep cost ``d`` times its size. While a scope is active (:data:`SCOPE`,
    set by :class:`leveret.schema.SchemaGuard` around the outermost guarded validation and reset
    when it ends), a ``$ref``'d schema of a :func:`compile_schema` given ``share`` keeps its
    verdict per array/object it checked, and canonical values (``uniqueItems``, ``enum``,
    ``const``) are kept per array/object, so each (value, schema) pair is evaluated once and
    one body costs time linear in its size. Values are keyed by ``id`` and kept alive here, so
    an ``id`` is never reused while the scope lasts.
    """

    __slots__ = ("_canon", "_kept", "converted", "verdicts")

    def __init__(self) -> None:
        # One is made per outermost guarded validation: the other tables only when used.
        #: per shared schema key: id(value) -> its failures
        self.verdicts: dict[object, dict[int, _Failures]] = {}
        #: id(value) -> its JSON form (a Python caller's values, see leveret.schema)
        self.converted: dict[int, Any] | None = None
        self._canon: dict[int, Any] | None = None
        self._kept: list[Any] = []

    def keep(self, value: Any) -> None:
        """Keep ``value`` alive as long as the scope: its ``id`` keys an entry."""
        self._kept.append(value)

    def canon(self, value: Any) -> Any:
        """:func:`_canon`, each array/object computed once per scope."""
        kind = type(value)
        if kind is not list and kind is not dict:
            return _canon(value)
        if self._canon is None:
            self._canon = {}
        known = self._canon.get(id(value))
        if known is None:
            if kind is list:
                known = (_ARRAY, frozenset(enumerate(map(self.canon, value))))
            else:
                known = frozenset((k, self.canon(v)) for k, v in value.items())
            self._canon[id(value)] = known
            self._kept.append(value)
        return known


#: The scope of the validation running in this thread or task, if any (see :class:`Scope`).
SCOPE: Final[ContextVar[Scope | None]] = ContextVar("leveret_schema_scope", default=None)


def _canonical() -> Callable[[Any], Any]:
    scope = SCOPE.get()
    return _canon if scope is None else scope.canon


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": _is_number,
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


#: A private context: the thread's default one may have been changed (precision, traps).
_DECIMAL: Final = Context(prec=60, traps=[InvalidOperation])


_FAST_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "null": (type(None),),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "array": (list,),
    "object": (dict,),
}


def _exact(number: int | float) -> Fraction:
    """The decimal a number was written as, exactly: ``0.1`` is 1/10, not the nearest double.

    ``repr`` of a float is the shortest decimal that reads back as the same double, which is
    what a JSON text holding that double said (or an equivalent of it).
    """
    return Fraction(number) if isinstance(number, int) else Fraction(repr(number))


# -- patterns ------------------------------------------------------------------------------------

#: The translation to Python's ``re`` (kept under its old name for callers of this module).
_ecma_to_python: Final = ecma_to_python


def _compile_pattern(pattern: Any, where: str) -> Regex:
    if not isinstance(pattern, str):
        raise SchemaError(f"{where}: a pattern must be a string, got {_show(pattern)}")
    try:
        return compile_ecma(pattern)
    except UnsupportedPattern as exc:
        raise UnsupportedSchema(str(exc)) from None
    except PatternError as exc:
        raise SchemaError(f"{where}: {exc}") from None


# -- formats -------------------------------------------------------------------------------------

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\Z", re.ASCII)
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))\Z", re.ASCII)


def _is_date(text: str) -> bool:
    # By hand, not with datetime.date: RFC 3339's year is any 4 digits, 0000 too.
    m = _DATE.match(text)
    if m is None:
        return False
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return day <= (29 if leap else 28)
    return day <= (30 if month in (4, 6, 9, 11) else 31)


def _is_time(text: str) -> bool:
    m = _TIME.match(text)
    if m is None:
        return False
    hour, minute, second = int(m[1]), int(m[2]), int(m[3])
    if hour > 23 or minute > 59 or second > 60:
        return False
    if m[4] is not None:
        off_h, off_m = int(m[5]), int(m[6])
        if off_h > 23 or off_m > 59:
            return False
        offset = (off_h * 60 + off_m) * (1 if m[4] == "+" else -1)
    else:
        offset = 0
    if second == 60:
        # A leap second is inserted at 23:59:60 UTC only.
        utc = (hour * 60 + minute - offset) % (24 * 60)
        return utc == 23 * 60 + 59
    return True


def _is_date_time(text: str) -> bool:
    if len(text) < 11 or text[10] not in "Tt":
        return False
    return _is_date(text[:10]) and _is_time(text[11:])


_DURATION = re.compile(
    r"P(?:\d+W|(?:\d+Y(?:\d+M(?:\d+D)?)?|\d+M(?:\d+D)?|\d+D)(?:T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))?"
    r"|T(?:\d+H(?:\d+M(?:\d+S)?)?|\d+M(?:\d+S)?|\d+S))\Z",
    re.ASCII,
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\Z"
)
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")


def _is_ipv4(text: str) -> bool:
    return _IPV4.match(text) is not None


def _is_ipv6(text: str) -> bool:
    # ipaddress accepts a "%scope" suffix, which is not part of the ipv6 format (RFC 4291).
    if not text.isascii() or "%" in text or not text or text[-1] in " \n":
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


# RFC 5892 (IDNA2008) exceptions and contextual rules, for A-labels ("xn--...") decoded.
_IDNA_DISALLOWED: Final = frozenset("\u0640\u07fa\u302e\u302f\u3031\u3032\u3033\u3034\u3035\u303b")
_IDNA_PVALID: Final = frozenset("\u00df\u03c2\u06fd\u06fe\u0f0b\u3007")
#: CONTEXTJ and CONTEXTO code points (their rules are in _idna_context_ok)
_IDNA_CONTEXT: Final = frozenset(
    "\u00b7\u0375\u05f3\u05f4\u30fb\u200c\u200d"
    + "".join(map(chr, range(0x660, 0x66A)))
    + "".join(map(chr, range(0x6F0, 0x6FA)))
)
#: RFC 5892 2.1 LetterDigits
_IDNA_LETTER_DIGITS: Final = frozenset({"Ll", "Lu", "Lo", "Nd", "Lm", "Mn", "Mc"})
#: RFC 5892 2.3 IgnorableProperties (the Default_Ignorable_Code_Points among LetterDigits),
#: 2.4 IgnorableBlocks and 2.9 OldHangulJamo, as code point ranges (inclusive)
_IDNA_EXCLUDED: Final = (
    (0x034F, 0x034F),
    (0x1100, 0x11FF),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x20D0, 0x20FF),
    (0x3164, 0x3164),
    (0xA960, 0xA97F),
    (0xD7B0, 0xD7FF),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0x1D100, 0x1D24F),
    (0xE0100, 0xE01EF),
)


def _idna_allowed(ch: str) -> bool:
    """Whether ``ch`` is PVALID or CONTEXTJ/CONTEXTO in IDNA2008 (RFC 5892 section 3), by the
    derivation over this Python's Unicode data."""
    if ch in _IDNA_PVALID or ch in _IDNA_CONTEXT or ch == "-":  # "-": 2.6 LDH
        return True
    code = ord(ch)
    if ch in _IDNA_DISALLOWED or any(low <= code <= high for low, high in _IDNA_EXCLUDED):
        return False
    if unicodedata.category(ch) not in _IDNA_LETTER_DIGITS:  # unassigned (Cn) too
        return False
    # 2.2 Unstable: toNFKC(toCaseFold(toNFKC(cp))) != cp
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", ch).casefold()) == ch


def _idna_context_ok(label: str) -> bool:
    """A decoded A-label is IDNA2008: NFC, every code point allowed (RFC 5892 section 2), and
    the CONTEXTJ/CONTEXTO rules (appendix A).

    With RFC 5891 section 4.2.3: no "--" in the 3rd and 4th positions, no hyphen first or
    last, no leading mark; and the Bidi rule of RFC 5893.
    """
    if not label or label[2:4] == "--" or unicodedata.category(label[0]) in ("Mn", "Mc", "Me"):
        return False
    if label[0] == "-" or label[-1] == "-":  # RFC 5891 4.2.3.1
        return False
    if unicodedata.normalize("NFC", label) != label:
        return False
    for i, ch in enumerate(label):
        if not _idna_allowed(ch):
            return False
        if ch == "\u00b7":  # MIDDLE DOT: between two "l"
            if not (0 < i < len(label) - 1 and label[i - 1] == "l" and label[i + 1] == "l"):
                return False
        elif ch == "\u0375":  # GREEK KERAIA: followed by Greek
            if i + 1 >= len(label) or not unicodedata.name(label[i + 1], "").startswith("GREEK"):
                return False
        elif ch in "\u05f3\u05f4":  # HEBREW GERESH/GERSHAYIM: preceded by Hebrew
            if i == 0 or not unicodedata.name(label[i - 1], "").startswith("HEBREW"):
                return False
        elif ch == "\u30fb":  # KATAKANA MIDDLE DOT: with Hiragana, Katakana or Han
            if not any(
                unicodedata.name(o, "").startswith(("HIRAGANA", "KATAKANA", "CJK UNIFIED"))
                for o in label
                if o != "\u30fb"
            ):
                return False
        elif ch in "\u200c\u200d":  # ZERO WIDTH (NON-)JOINER: after a virama
            if i > 0 and unicodedata.combining(label[i - 1]) == 9:
                continue
            if ch == "\u200d" or not _between_joining_letters(label, i):
                return False
    arabic = any("\u0660" <= c <= "\u0669" for c in label)
    extended = any("\u06f0" <= c <= "\u06f9" for c in label)
    return not (arabic and extended) and _bidi_ok(label)


def _between_joining_letters(label: str, at: int) -> bool:
    """RFC 5892 A.1: (Joining_Type:{L,D})(Joining_Type:T)* ZWNJ (Joining_Type:T)*
    (Joining_Type:{R,D})."""
    before = next((t for t in map(joining_type, reversed(label[:at])) if t != "T"), "U")
    after = next((t for t in map(joining_type, label[at + 1 :]) if t != "T"), "U")
    return before in ("L", "D") and after in ("R", "D")


_RTL_ALLOWED: Final = frozenset({"R", "AL", "AN", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"})
_LTR_ALLOWED: Final = frozenset({"L", "EN", "ES", "CS", "ET", "ON", "BN", "NSM"})


def _bidi_ok(label: str) -> bool:
    """The Bidi rule (RFC 5893 section 2) for a label with right-to-left characters."""
    directions = [unicodedata.bidirectional(ch) for ch in label]
    if not any(d in ("R", "AL", "AN") for d in directions):
        return True
    rtl = directions[0] in ("R", "AL")
    if not rtl and directions[0] != "L":  # rule 1
        return False
    allowed, endings = (
        (_RTL_ALLOWED, ("R", "AL", "EN", "AN")) if rtl else (_LTR_ALLOWED, ("L", "EN"))
    )
    if any(d not in allowed for d in directions):  # rules 2 and 5
        return False
    if rtl and {"AN", "EN"} <= set(directions):  # rule 4
        return False
    last = next((d for d in reversed(directions) if d != "NSM"), None)
    return last in endings  # rules 3 and 6


def _is_hostname(text: str) -> bool:
    if not text or len(text) > 253 or not text.isascii():
        return False
    for label in text.split("."):
        if _LABEL.match(label) is None:
            return False
        if label[2:4] == "--":
            if label[:2].lower() != "xn":
                return False
            try:
                decoded = label[4:].lower().encode("ascii").decode("punycode")  # DNS: no case
            except UnicodeError:
                return False
            if not _idna_context_ok(decoded):
                return False
    return True


_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL = re.compile(
    rf'(?:{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*")\Z'
)


def _is_email(text: str) -> bool:
    at = text.rfind("@")
    if at <= 0:
        return False
    local, domain = text[:at], text[at + 1 :]
    if _EMAIL_LOCAL.match(local) is None:
        return False
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        if literal[:5].lower() == "ipv6:":
            return _is_ipv6(literal[5:])
        return _is_ipv4(literal)
    return _is_hostname(domain)


# RFC 3986 appendix A, as a regular expression.
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_RE = rf"{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4_RE})"
_IPV6_RE = (
    "(?:"
    rf"(?:{_H16}:){{6}}{_LS32}"
    rf"|::(?:{_H16}:){{5}}{_LS32}"
    rf"|(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}"
    rf"|(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}"
    rf"|(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}"
    rf"|(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}"
    rf"|(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}"
    rf"|(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}"
    rf"|(?:(?:{_H16}:){{0,6}}{_H16})?::"
    ")"
)
_IP_LITERAL = rf"\[(?:{_IPV6_RE}|[vV][0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+)\]"
_AUTHORITY = (
    rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?"
    rf"(?:{_IP_LITERAL}|(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*)"
    r"(?::[0-9]*)?"
)
_SEGMENT_NZ_NC = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}@]|{_PCT})+"
_HIER = (
    rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?|{_PCHAR}+(?:/{_PCHAR}*)*|)"
)
_RELATIVE = (
    rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"
    rf"|{_SEGMENT_NZ_NC}(?:/{_PCHAR}*)*|)"
)
_QUERY_FRAGMENT = rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+\-.]*:{_HIER}{_QUERY_FRAGMENT}\Z")
_RELATIVE_REF = re.compile(rf"{_RELATIVE}{_QUERY_FRAGMENT}\Z")


def _is_uri(text: str) -> bool:
    return _URI.match(text) is not None


def _is_uri_reference(text: str) -> bool:
    return _URI.match(text) is not None or _RELATIVE_REF.match(text) is not None


_FORMATS: Final[dict[str, Callable[[str], bool]]] = {
    "date-time": _is_date_time,
    "date": _is_date,
    "time": _is_time,
    "duration": lambda s: _DURATION.match(s) is not None,
    "email": _is_email,
    "hostname": _is_hostname,
    "ipv4": _is_ipv4,
    "ipv6": _is_ipv6,
    "uri": _is_uri,
    "uri-reference": _is_uri_reference,
    "uuid": lambda s: _UUID.match(s) is not None,
}
#: the formats this module asserts
FORMATS: Final = frozenset(_FORMATS)


def format_check(name: str) -> Callable[[str], bool]:
    """The assertion of format ``name`` (one of :data:`FORMATS`) over a string."""
    return _FORMATS[name]


# -- nodes ---------------------------------------------------------------------------------------

_ANNOTATIONS: Final = frozenset(
    {
        "$schema",
        "$comment",
        "$defs",
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    }
)
_UNSUPPORTED: Final = {
    "$anchor": "$anchor (refer to the schema by a '#/...' JSON pointer instead)",
    "$dynamicRef": "$dynamicRef",
    "$dynamicAnchor": "$dynamicAnchor",
    "$recursiveRef": "$recursiveRef (draft 2019-09)",
    "$recursiveAnchor": "$recursiveAnchor (draft 2019-09)",
    "$vocabulary": "$vocabulary (meta-schemas)",
}
_INSTANCE_TYPES: Final = (dict, list, str, bool, int, float, type(None))


class _Node:
    """One compiled (sub)schema: the keyword checks that apply to each kind of instance.

    ``by_type`` maps the exact Python type of an instance to its checks; ``props``/``items``
    give the annotations ``unevaluated*`` needs, computed only for schemas that use them.
    """

    __slots__ = (
        "by_type",
        "in_place",
        "item_annotators",
        "prop_annotators",
        "uneval_items",
        "uneval_props",
        "where",
    )

    def __init__(self, where: str) -> None:
        self.where = where
        self.by_type: dict[type, tuple[_KwCheck, ...]] = {}
        #: subschemas applied to the same instance (for cycle detection and annotations)
        self.in_place: list[_Node] = []
        #: (object) -> keys this node's own keywords evaluated, if the instance is valid for them
        self.prop_annotators: list[Callable[[dict[str, Any]], Iterable[str]]] = []
        #: (array) -> indexes this node's own keywords evaluated
        self.item_annotators: list[Callable[[list[Any]], Iterable[int]]] = []
        self.uneval_props: _Node | None = None
        self.uneval_items: _Node | None = None

    def check(self, instance: Any) -> _Failures:
        checks = self.by_type.get(type(instance))
        if checks is None:
            checks = self.by_type.get(_base_type(instance), ())
        out: _Failures = _OK
        for c in checks:
            r = c(instance)
            if r:
                if not out:
                    out = r  # the common case, one failing keyword: no copy
                else:
                    out += r  # few keywords per schema: each r is at most MAX_FAILURES long
                if len(out) >= MAX_FAILURES:
                    break
        return out

    # Annotations (JSON Schema 2020-12 section 7.7): only subschemas the instance passes count.
    def evaluated_props(self, instance: dict[str, Any]) -> set[str]:
        if self.check(instance):
            return set()
        return self._own_props(instance, with_uneval=True)

    def _own_props(self, instance: dict[str, Any], *, with_uneval: bool) -> set[str]:
        if with_uneval and self.uneval_props is not None:
            return set(instance)  # unevaluatedProperties passed: it evaluated every other key
        keys: set[str] = set()
        for annotate in self.prop_annotators:
            keys.update(annotate(instance))
        for sub in self.in_place:
            keys |= sub.evaluated_props(instance)
            if len(keys) == len(instance):
                break
        return keys

    def evaluated_items(self, instance: list[Any]) -> set[int]:
        if self.check(instance):
            return set()
        return self._own_items(instance, with_uneval=True)

    def _own_items(self, instance: list[Any], *, with_uneval: bool) -> set[int]:
        if with_uneval and self.uneval_items is not None:
            return set(range(len(instance)))
        indexes: set[int] = set()
        for annotate in self.item_annotators:
            indexes.update(annotate(instance))
        for sub in self.in_place:
            indexes |= sub.evaluated_items(instance)
        return indexes


class _Shared(_Node):
    """A ``$ref``'d schema whose verdicts on arrays and objects are kept in the active
    :class:`Scope`, under ``key`` (the same for every check compiled with the same ``share``)."""

    __slots__ = ("key",)

    def __init__(self, where: str, key: object) -> None:
        super().__init__(where)
        self.key = key

    def check(self, instance: Any) -> _Failures:
        scope = SCOPE.get()
        kind = type(instance)
        if scope is None or (kind is not dict and kind is not list):
            return _Node.check(self, instance)  # a scalar costs its own size only
        known = scope.verdicts.get(self.key)
        if known is None:
            known = scope.verdicts[self.key] = {}
        failures = known.get(id(instance))
        if failures is None:
            failures = known[id(instance)] = _Node.check(self, instance)
            scope.keep(instance)
        return failures


class _SharedRef(_Shared):
    """A ``$ref`` to a schema compiled in place (the root...): ``inner``'s verdicts kept in the
    active :class:`Scope` as a :class:`_Shared` node's are; its annotations are ``inner``'s."""

    __slots__ = ("inner",)

    def __init__(self, inner: _Node, key: object) -> None:
        super().__init__(inner.where, key)
        self.inner = inner
        self.in_place.append(inner)
        for kind in (*_INSTANCE_TYPES, object):
            self.by_type[kind] = (inner.check,)


def _base_type(instance: Any) -> type:
    for t in _INSTANCE_TYPES:
        if isinstance(instance, t):
            return t
    return object


_TRUE_NODE: Final = _Node("true")
_FALSE_NODE: Final = _Node("false")


def _false(instance: Any) -> _Failures:
    return _fail("false", "no value is allowed here")


for _t in (*_INSTANCE_TYPES, object):
    _FALSE_NODE.by_type[_t] = (_false,)
    _TRUE_NODE.by_type[_t] = ()
del _t


@dataclass(frozen=True, slots=True)
class Check:
    """A compiled schema: call it with a parsed JSON value to get its failures (empty = valid).

    Each call runs in a :class:`Scope` (the active one, or its own), so every ``$ref``'d
    schema is evaluated once per array or object: a body costs time linear in its size also
    outside a generated model's guard (``SchemaGuard.failures``, ``DynamicClient``, review
    r11b: ``if``/``not``/``anyOf`` beside ``unevaluatedProperties`` re-evaluated each level)."""

    _root: _Node

    def __call__(self, instance: Any) -> list[Failure]:
        """The failures, in schema and instance order; at most :data:`MAX_FAILURES` of them
        (a list that long may have been cut short: the evaluation stopped there)."""
        return list(self._evaluate(instance)[:MAX_FAILURES])

    def is_valid(self, instance: Any) -> bool:
        return not self._evaluate(instance)

    def _evaluate(self, instance: Any) -> _Failures:
        if SCOPE.get() is not None:
            return self._root.check(instance)
        token = SCOPE.set(Scope())
        try:
            return self._root.check(instance)
        finally:
            SCOPE.reset(token)


def compile_schema(schema: bool | Mapping[str, Any], *, share: object = None) -> Check:
    """Compile a JSON Schema 2020-12 schema (already parsed) into a :class:`Check`.

    ``share``, when given, names the document the schema's ``$ref``s resolve in: checks
    compiled with the same ``share`` must resolve each pointer to the same schema, and then
    share, within one :class:`Scope`, the verdict of each ``$ref``'d schema on each array or
    object (:func:`shared_verdict`).

    A pattern with a lookaround or a backreference backtracks (Python's ``re``): it must be
    bounded by a ``maxLength`` of its own schema or of a schema applied in place around it
    (``allOf``, ``anyOf``, ``not``, ``$ref``..., on every way the root reaches it), which is
    checked first, so the pattern never runs on a longer string; an unbounded one (a
    ``patternProperties`` key's always is) is :class:`UnsupportedSchema`.

    Raises :class:`SchemaError` for an invalid schema, an unknown keyword or format, and
    :class:`UnsupportedSchema` for what this evaluator does not implement (non-local refs...).
    """
    compiler = _Compiler(schema, object() if share is None else share)
    root = compiler.node(schema, "#")
    compiler.finish()
    compiler.refuse_unbounded_backtracking()
    return Check(root)


def shared_verdict(scope: Scope, share: object, pointer: str, instance: Any) -> bool | None:
    """Whether ``instance`` passed the schema at ``pointer`` (``#/$defs/Name``) of the document
    ``share``, if a check compiled with that ``share`` evaluated it in ``scope``; else ``None``."""
    known = scope.verdicts.get((share, pointer))
    failures = None if known is None else known.get(id(instance))
    return None if failures is None else not failures


def _pointer_parts(pointer: str) -> list[str]:
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise UnsupportedSchema(
            f"$ref '#{pointer}': only JSON-pointer fragments are supported (no anchors)"
        )
    return [unquote(p).replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]


#: In-place applicators (the same instance): their subschemas and how many must pass.
_ALL_IN_PLACE: Final = ("allOf",)
_SOME_IN_PLACE: Final = ("anyOf", "oneOf")
#: Keywords whose subschemas apply to a part of the instance (an item, a value, a key).
_DESCENDING_ONE: Final = (
    "items",
    "contains",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_DESCENDING_MANY: Final = ("properties", "patternProperties")


def _max_length(schema: Mapping[str, Any]) -> float:
    value = schema.get("maxLength")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return math.inf


def _gated(bound: int, checks: tuple[_KwCheck, ...]) -> _KwCheck:
    """A string node's checks behind its length bound (review r11b): a string longer than the
    schema allows (``maxLength`` here or in an ``allOf`` member...) fails at once, before a
    backtracking pattern in or under the node can run on it."""

    def check(v: str) -> _Failures:
        if len(v) > bound:
            return _fail("maxLength", f"longer than {bound} characters")
        out: _Failures = _OK
        for c in checks:
            r = c(v)
            if r:
                out = r if not out else out + r
                if len(out) >= MAX_FAILURES:
                    break
        return out

    return check


class _Compiler:
    def __init__(self, root: bool | Mapping[str, Any], share: object = None) -> None:
        self.root = root
        self.share = share
        self.by_pointer: dict[str, _Node] = {}
        self.pending: list[tuple[_Node, Any]] = []
        self.regexes: dict[str, Regex] = {}
        self.memos: dict[str, _SharedRef] = {}
        self._bounds: dict[int, float] = {}
        self._backtracking: dict[int, bool] = {}

    # -- patterns and the length bound of backtracking ones (review r11b)

    def pattern(self, pattern: Any, where: str) -> Regex:
        if isinstance(pattern, str) and pattern in self.regexes:
            return self.regexes[pattern]
        regex = _compile_pattern(pattern, where)
        self.regexes[pattern] = regex
        return regex

    def _backtracks(self, pattern: Any) -> bool:
        if not isinstance(pattern, str):
            return False
        try:
            return not self.pattern(pattern, "#").linear
        except SchemaError:
            return False  # reported where the pattern is compiled

    def _raw_ref(self, ref: Any) -> Any:
        """The schema a ``$ref`` points at, or None (the compile reports a bad one)."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None
        target: Any = self.root
        try:
            for part in _pointer_parts(ref[1:]):
                if isinstance(target, Mapping) and part in target:
                    target = target[part]
                elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                else:
                    return None
        except UnsupportedSchema:
            return None
        return target

    def _in_place(self, schema: Mapping[str, Any], where: str = "#") -> Iterable[tuple[str, Any]]:
        """The subschemas ``schema`` applies to the instance itself, with their locations."""
        for key in (*_ALL_IN_PLACE, *_SOME_IN_PLACE):
            if isinstance(schema.get(key), list):
                yield from ((f"{where}/{key}/{i}", sub) for i, sub in enumerate(schema[key]))
        for key in ("not", "if", "then", "else"):
            if key in schema:
                yield f"{where}/{key}", schema[key]
        if isinstance(schema.get("dependentSchemas"), Mapping):
            for name, sub in schema["dependentSchemas"].items():
                yield f"{where}/dependentSchemas/{_escape(name)}", sub
        if "$ref" in schema:
            target = self._raw_ref(schema["$ref"])
            if target is not None:
                yield str(schema["$ref"]), target

    def bound(self, schema: Any) -> float:
        """A length a string must not exceed to be valid against ``schema`` (``inf``: none
        known): its ``maxLength``, the least of its ``allOf`` members' and ``$ref``'s bounds,
        the greatest of its ``anyOf``/``oneOf`` branches' and ``then``/``else``'s."""
        if not isinstance(schema, Mapping):
            return math.inf
        known = self._bounds.get(id(schema))
        if known is not None:
            return known
        self._bounds[id(schema)] = math.inf  # a cycle adds nothing
        bound = _max_length(schema)
        for key in _ALL_IN_PLACE:
            if isinstance(schema.get(key), list):
                bound = min([bound, *map(self.bound, schema[key])])
        for key in _SOME_IN_PLACE:
            if isinstance(schema.get(key), list) and schema[key]:
                bound = min(bound, max(map(self.bound, schema[key])))
        if "if" in schema:
            then = self.bound(schema["then"]) if "then" in schema else math.inf
            other = self.bound(schema["else"]) if "else" in schema else math.inf
            bound = min(bound, max(then, other))
        if "$ref" in schema:
            bound = min(bound, self.bound(self._raw_ref(schema["$ref"])))
        self._bounds[id(schema)] = bound
        return bound

    def backtracking_in_place(self, schema: Any) -> bool:
        """Whether ``schema`` or a subschema applied in place has a backtracking pattern."""
        if not isinstance(schema, Mapping):
            return False
        known = self._backtracking.get(id(schema))
        if known is not None:
            return known
        self._backtracking[id(schema)] = False  # a cycle adds nothing
        found = self._backtracks(schema.get("pattern")) or any(
            self.backtracking_in_place(sub) for _, sub in self._in_place(schema)
        )
        self._backtracking[id(schema)] = found
        return found

    def refuse_unbounded_backtracking(self) -> None:
        """:class:`UnsupportedSchema` for a backtracking pattern the root can reach with no
        length bound on the way (see :func:`compile_schema`)."""
        seen: set[tuple[int, bool]] = set()
        todo: list[tuple[Any, str, bool]] = [(self.root, "#", False)]
        while todo:
            schema, where, bounded = todo.pop()
            if not isinstance(schema, Mapping) or (id(schema), bounded) in seen:
                continue
            seen.add((id(schema), bounded))
            bounded = bounded or self.bound(schema) < math.inf
            if not bounded and self._backtracks(schema.get("pattern")):
                raise UnsupportedSchema(
                    f"{where}/pattern: {schema['pattern']!r} has a lookaround or a"
                    " backreference, so it backtracks (time exponential in the text); give its"
                    " schema (or one around it, applied in place) a maxLength, which is checked"
                    " first, or write it without them"
                )
            if isinstance(schema.get("patternProperties"), Mapping):
                for key in schema["patternProperties"]:
                    if self._backtracks(key):
                        raise UnsupportedSchema(
                            f"{where}/patternProperties: {key!r} has a lookaround or a"
                            " backreference, so it backtracks, and a property name has no"
                            " maxLength to bound it: write it without them"
                        )
            for at, sub in self._in_place(schema, where):
                todo.append((sub, at, bounded))
            for key in _DESCENDING_ONE:
                if key in schema:
                    todo.append((schema[key], f"{where}/{key}", False))
            for key in _DESCENDING_MANY:
                if isinstance(schema.get(key), Mapping):
                    for name, sub in schema[key].items():
                        todo.append((sub, f"{where}/{key}/{_escape(name)}", False))
            if isinstance(schema.get("prefixItems"), list):
                for i, sub in enumerate(schema["prefixItems"]):
                    todo.append((sub, f"{where}/prefixItems/{i}", False))

    # -- structure

    def node(self, schema: Any, where: str) -> _Node:
        if schema is True:
            return _TRUE_NODE
        if schema is False:
            return _FALSE_NODE
        if not isinstance(schema, Mapping):
            raise SchemaError(
                f"{where}: a schema must be an object or a boolean, got {_show(schema)}"
            )
        if "$id" in schema and where != "#":
            raise UnsupportedSchema(f"{where}: $id below the root is not supported")
        for key in schema:
            if key in _UNSUPPORTED:
                raise UnsupportedSchema(f"{where}: {_UNSUPPORTED[key]} is not supported")
        node = _Node(where)
        self.by_pointer.setdefault(where, node)
        self._fill(node, schema, where)
        return node

    def finish(self) -> None:
        """Reject reference cycles that never descend into the instance (they would not end)."""
        state: dict[int, int] = {}  # id(node) -> 1 visiting, 2 done

        def visit(node: _Node) -> None:
            state[id(node)] = 1
            for sub in node.in_place:
                s = state.get(id(sub))
                if s == 1:
                    raise SchemaError(
                        f"{sub.where}: a $ref cycle that never descends into the instance"
                    )
                if s is None:
                    visit(sub)
            state[id(node)] = 2

        for node in list(self.by_pointer.values()):
            if id(node) not in state:
                visit(node)

    def ref(self, ref: Any, where: str) -> _Node:
        if not isinstance(ref, str):
            raise SchemaError(f"{where}: $ref must be a string, got {_show(ref)}")
        if not ref.startswith("#"):
            raise UnsupportedSchema(
                f"{where}: $ref {ref!r}: only local refs ('#...') are supported"
            )
        pointer = "#" + ref[1:]
        canonical = "#" + "".join(
            "/" + p.replace("~", "~0").replace("/", "~1") for p in _pointer_parts(ref[1:])
        )
        if canonical in self.by_pointer:
            known = self.by_pointer[canonical]
            if isinstance(known, _Shared) or known is _TRUE_NODE or known is _FALSE_NODE:
                return known
            # compiled in place (the root, "#/properties/x"): its verdicts are kept too, or a
            # recursion through it would evaluate each level once per level above it
            memo = self.memos.get(canonical)
            if memo is None:
                memo = self.memos[canonical] = _SharedRef(known, (object(), canonical))
            return memo
        target: Any = self.root
        for part in _pointer_parts(ref[1:]):
            if isinstance(target, Mapping) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise SchemaError(f"{where}: $ref {pointer!r} points at nothing")
        if target is True or target is False:
            return _TRUE_NODE if target else _FALSE_NODE
        # Registered before its keywords are compiled, so a recursive ref finds it.
        node = (
            _Node(canonical) if self.share is None else _Shared(canonical, (self.share, canonical))
        )
        self.by_pointer[canonical] = node
        if not isinstance(target, Mapping):
            raise SchemaError(f"{where}: $ref {pointer!r} is not a schema")
        for key in target:
            if key in _UNSUPPORTED:
                raise UnsupportedSchema(f"{canonical}: {_UNSUPPORTED[key]} is not supported")
        if "$id" in target and canonical != "#":
            raise UnsupportedSchema(f"{canonical}: $id below the root is not supported")
        self._fill(node, target, canonical)
        return node

    def _fill(self, node: _Node, schema: Mapping[str, Any], where: str) -> None:
        generic: list[_KwCheck] = []
        number: list[_KwCheck] = []
        string: list[_KwCheck] = []
        array: list[_KwCheck] = []
        obj: list[_KwCheck] = []
        handled: set[str] = set(_ANNOTATIONS)
        if "$id" in schema:
            handled.add("$id")

        def has(key: str) -> bool:
            handled.add(key)
            return key in schema

        def sub(key: str, value: Any, *more: PathItem) -> _Node:
            suffix = "".join(f"/{m}" for m in more)
            return self.node(value, f"{where}/{key}{suffix}")

        # -- any instance
        if has("$ref"):
            target = self.ref(schema["$ref"], f"{where}/$ref")
            node.in_place.append(target)
            generic.append(target.check)
        if has("type"):
            generic.append(_check_type(schema["type"], where))
        if has("enum"):
            generic.append(_check_enum(schema["enum"], where))
        if has("const"):
            generic.append(_check_const(schema["const"]))
        for key in ("allOf", "anyOf", "oneOf"):
            if has(key):
                branches = schema[key]
                if not isinstance(branches, list) or not branches:
                    raise SchemaError(f"{where}/{key}: must be a non-empty array of schemas")
                nodes = [sub(key, b, i) for i, b in enumerate(branches)]
                node.in_place.extend(nodes)
                generic.append(_COMBINATORS[key](nodes))
        if has("not"):
            negated = sub("not", schema["not"])
            # Annotations of "not" never count, but a cycle through it would still not end.
            node.in_place.append(_Shadow(negated))
            generic.append(_check_not(negated))
        has("then")
        has("else")
        if has("if"):
            cond = sub("if", schema["if"])
            then = sub("then", schema["then"]) if "then" in schema else None
            other = sub("else", schema["else"]) if "else" in schema else None
            node.in_place.append(_IfAnnotations(cond, then, other))
            generic.append(_check_if(cond, then, other))
        # -- numbers
        for key, op, text in (
            ("minimum", lambda v, b: v >= b, "less than"),
            ("maximum", lambda v, b: v <= b, "greater than"),
            ("exclusiveMinimum", lambda v, b: v > b, "not greater than"),
            ("exclusiveMaximum", lambda v, b: v < b, "not less than"),
        ):
            if has(key):
                number.append(_check_bound(key, schema[key], op, text, where))
        if has("multipleOf"):
            number.append(_check_multiple_of(schema["multipleOf"], where))
        # -- strings
        if has("minLength"):
            n = _count(schema["minLength"], where, "minLength")
            string.append(
                lambda v: _fail("minLength", f"shorter than {n} characters") if len(v) < n else _OK
            )
        if has("maxLength"):
            m = _count(schema["maxLength"], where, "maxLength")
            string.append(
                lambda v: _fail("maxLength", f"longer than {m} characters") if len(v) > m else _OK
            )
        if has("pattern"):
            regex = self.pattern(schema["pattern"], f"{where}/pattern")
            # A backtracking pattern never runs on a string its own maxLength refuses: the
            # verdict is "invalid" either way, and maxLength then bounds the regex's time.
            bound = (
                _count(schema["maxLength"], where, "maxLength") if "maxLength" in schema else None
            )
            string.append(_check_pattern(regex, schema["pattern"], None if regex.linear else bound))
        if has("format"):
            string.append(_check_format(schema["format"], where))
        # -- arrays
        prefix: list[_Node] = []
        if has("prefixItems"):
            if not isinstance(schema["prefixItems"], list) or not schema["prefixItems"]:
                raise SchemaError(f"{where}/prefixItems: must be a non-empty array of schemas")
            prefix = [sub("prefixItems", s, i) for i, s in enumerate(schema["prefixItems"])]
            array.append(_check_prefix_items(prefix))
            count = len(prefix)
            node.item_annotators.append(lambda v: range(min(count, len(v))))
        if has("items"):
            if isinstance(schema["items"], list):
                raise SchemaError(
                    f"{where}/items: an array of schemas is draft 2019-09; use prefixItems"
                )
            rest = sub("items", schema["items"])
            array.append(_check_items(rest, len(prefix)))
            node.item_annotators.append(lambda v: range(len(v)))
        has("minContains")
        has("maxContains")
        if has("contains"):
            contained = sub("contains", schema["contains"])
            low = _count(schema.get("minContains", 1), where, "minContains")
            high = (
                _count(schema["maxContains"], where, "maxContains")
                if "maxContains" in schema
                else None
            )
            array.append(_check_contains(contained, low, high))
            node.item_annotators.append(
                lambda v: [i for i, x in enumerate(v) if not contained.check(x)]
            )
        for key, cmp, text in (
            ("minItems", lambda a, b: a < b, "fewer than"),
            ("maxItems", lambda a, b: a > b, "more than"),
        ):
            if has(key):
                array.append(_check_size(key, _count(schema[key], where, key), cmp, text, "items"))
        if has("uniqueItems"):
            if not isinstance(schema["uniqueItems"], bool):
                raise SchemaError(f"{where}/uniqueItems: must be a boolean")
            if schema["uniqueItems"]:
                array.append(_check_unique)
        # -- objects
        props: dict[str, _Node] = {}
        if has("properties"):
            if not isinstance(schema["properties"], Mapping):
                raise SchemaError(f"{where}/properties: must be an object of schemas")
            props = {k: sub("properties", s, _escape(k)) for k, s in schema["properties"].items()}
            obj.append(_check_properties(props))
            node.prop_annotators.append(lambda v: [k for k in props if k in v])
        patterns: list[tuple[Regex, _Node]] = []
        if has("patternProperties"):
            if not isinstance(schema["patternProperties"], Mapping):
                raise SchemaError(f"{where}/patternProperties: must be an object of schemas")
            patterns = [
                (
                    self.pattern(p, f"{where}/patternProperties"),
                    sub("patternProperties", s, _escape(p)),
                )
                for p, s in schema["patternProperties"].items()
            ]
            obj.append(_check_pattern_properties(patterns))
            node.prop_annotators.append(
                lambda v: [k for k in v if any(p.search(k) for p, _ in patterns)]
            )
        if has("additionalProperties"):
            extra = sub("additionalProperties", schema["additionalProperties"])
            obj.append(_check_additional(extra, props, patterns))
            node.prop_annotators.append(lambda v: list(v))
        if has("propertyNames"):
            names = sub("propertyNames", schema["propertyNames"])
            obj.append(_check_property_names(names))
        if has("required"):
            obj.append(_check_required(_strings(schema["required"], where, "required")))
        if has("dependentRequired"):
            dep = schema["dependentRequired"]
            if not isinstance(dep, Mapping):
                raise SchemaError(f"{where}/dependentRequired: must be an object")
            obj.append(
                _check_dependent_required(
                    {k: _strings(v, where, f"dependentRequired/{k}") for k, v in dep.items()}
                )
            )
        if has("dependentSchemas"):
            dep_s = schema["dependentSchemas"]
            if not isinstance(dep_s, Mapping):
                raise SchemaError(f"{where}/dependentSchemas: must be an object of schemas")
            dependents = {k: sub("dependentSchemas", s, _escape(k)) for k, s in dep_s.items()}
            node.in_place.extend(_Dependent(k, n) for k, n in dependents.items())
            obj.append(_check_dependent_schemas(dependents))
        for key, cmp, text in (
            ("minProperties", lambda a, b: a < b, "fewer than"),
            ("maxProperties", lambda a, b: a > b, "more than"),
        ):
            if has(key):
                obj.append(
                    _check_size(key, _count(schema[key], where, key), cmp, text, "properties")
                )
        # -- unevaluated*, last: they depend on every other keyword of this node
        if has("unevaluatedProperties"):
            node.uneval_props = sub("unevaluatedProperties", schema["unevaluatedProperties"])
            obj.append(_check_unevaluated_props(node, node.uneval_props))
        if has("unevaluatedItems"):
            node.uneval_items = sub("unevaluatedItems", schema["unevaluatedItems"])
            array.append(_check_unevaluated_items(node, node.uneval_items))

        unknown = [k for k in schema if k not in handled]
        if unknown:
            raise SchemaError(f"{where}: unknown keyword(s) {', '.join(map(repr, unknown))}")
        g = tuple(generic)
        table = node.by_type
        table[dict] = g + tuple(obj)
        table[list] = g + tuple(array)
        table[str] = g + tuple(string)
        longest = self.bound(schema)
        if longest < math.inf and self.backtracking_in_place(schema):
            table[str] = (_gated(int(longest), table[str]),)
        table[int] = table[float] = g + tuple(number)
        table[bool] = table[type(None)] = table[object] = g


class _Shadow(_Node):
    """An in-place subschema whose annotations never count (``not``); kept for cycle checks."""

    __slots__ = ()

    def __init__(self, inner: _Node) -> None:
        super().__init__(inner.where)
        self.in_place.append(inner)

    def evaluated_props(self, instance: dict[str, Any]) -> set[str]:
        return set()

    def evaluated_items(self, instance: list[Any]) -> set[int]:
        return set()


class _IfAnnotations(_Node):
    """``if``/``then``/``else`` as annotations: the branch taken, with ``if`` when it passed."""

    __slots__ = ("cond", "other", "then")

    def __init__(self, cond: _Node, then: _Node | None, other: _Node | None) -> None:
        super().__init__(cond.where)
        self.cond, self.then, self.other = cond, then, other
        self.in_place.extend(n for n in (cond, then, other) if n is not None)

    def evaluated_props(self, instance: dict[str, Any]) -> set[str]:
        keys = self.cond.evaluated_props(instance)
        if not self.cond.check(instance):
            return keys | (self.then.evaluated_props(instance) if self.then else set())
        return self.other.evaluated_props(instance) if self.other else set()

    def evaluated_items(self, instance: list[Any]) -> set[int]:
        indexes = self.cond.evaluated_items(instance)
        if not self.cond.check(instance):
            return indexes | (self.then.evaluated_items(instance) if self.then else set())
        return self.other.evaluated_items(instance) if self.other else set()


class _Dependent(_Node):
    """A ``dependentSchemas`` entry: its annotations count when its property is present."""

    __slots__ = ("inner", "key")

    def __init__(self, key: str, inner: _Node) -> None:
        super().__init__(inner.where)
        self.key, self.inner = key, inner
        self.in_place.append(inner)

    def evaluated_props(self, instance: dict[str, Any]) -> set[str]:
        return self.inner.evaluated_props(instance) if self.key in instance else set()

    def evaluated_items(self, instance: list[Any]) -> set[int]:
        return set()


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _count(value: Any, where: str, key: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SchemaError(f"{where}/{key}: must be a non-negative integer, got {_show(value)}")
    return value


def _strings(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SchemaError(f"{where}/{key}: must be an array of strings")
    return tuple(value)


# -- keyword checks (each returns failures relative to the instance it is given) -----------------


def _check_type(value: Any, where: str) -> _KwCheck:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or any(n not in _TYPES for n in names):
        raise SchemaError(f"{where}/type: not a JSON Schema type or list of types: {_show(value)}")
    tests = tuple(_TYPES[n] for n in names)
    expected = " or ".join(names)
    # Python types that pass without a closer look (bool is its own type, never int here).
    fast = frozenset(t for n in names for t in _FAST_TYPES[n])

    def check(v: Any) -> _Failures:
        if type(v) in fast:
            return _OK
        for t in tests:
            if t(v):
                return _OK
        return _fail("type", f"expected {expected}, got {_json_type(v)}")

    return check


def _check_enum(values: Any, where: str) -> _KwCheck:
    if not isinstance(values, list):
        raise SchemaError(f"{where}/enum: must be an array")
    allowed = frozenset(_canon(v) for v in values)
    shown = _show(values)

    def check(v: Any) -> _Failures:
        try:
            if _canonical()(v) in allowed:
                return _OK
        except TypeError:
            pass
        return _fail("enum", f"{_show(v)} is not one of {shown}")

    return check


def _check_const(value: Any) -> _KwCheck:
    want = _canon(value)
    shown = _show(value)

    def check(v: Any) -> _Failures:
        try:
            if _canonical()(v) == want:
                return _OK
        except TypeError:
            pass
        return _fail("const", f"{_show(v)} is not {shown}")

    return check


def _check_not(negated: _Node) -> _KwCheck:
    def check(v: Any) -> _Failures:
        return _fail("not", "matches a schema it must not match") if not negated.check(v) else _OK

    return check


def _check_all_of(nodes: Sequence[_Node]) -> _KwCheck:
    def check(v: Any) -> _Failures:
        out: list[Failure] = []
        for n in nodes:
            r = n.check(v)
            if r:
                out += r
                if len(out) >= MAX_FAILURES:
                    break
        return tuple(out)

    return check


def _check_any_of(nodes: Sequence[_Node]) -> _KwCheck:
    def check(v: Any) -> _Failures:
        for n in nodes:
            if not n.check(v):
                return _OK
        return _fail("anyOf", f"matches none of the {len(nodes)} allowed schemas")

    return check


def _check_one_of(nodes: Sequence[_Node]) -> _KwCheck:
    def check(v: Any) -> _Failures:
        passed = [i for i, n in enumerate(nodes) if not n.check(v)]
        if len(passed) == 1:
            return _OK
        if not passed:
            return _fail("oneOf", f"matches none of the {len(nodes)} schemas")
        return _fail("oneOf", f"matches {len(passed)} schemas ({passed}), exactly one is allowed")

    return check


_COMBINATORS: Final[dict[str, Callable[[Sequence[_Node]], _KwCheck]]] = {
    "allOf": _check_all_of,
    "anyOf": _check_any_of,
    "oneOf": _check_one_of,
}


def _check_if(cond: _Node, then: _Node | None, other: _Node | None) -> _KwCheck:
    def check(v: Any) -> _Failures:
        branch, name = (then, "then") if not cond.check(v) else (other, "else")
        if branch is None:
            return _OK
        r = branch.check(v)
        return r if not r else (*r, *_fail(name, f"fails the '{name}' schema (after 'if')"))

    return check


def _check_bound(
    key: str, bound: Any, op: Callable[[Any, Any], bool], text: str, where: str
) -> _KwCheck:
    if not _is_number(bound):
        raise SchemaError(f"{where}/{key}: must be a number, got {_show(bound)}")

    def check(v: Any) -> _Failures:
        return _OK if op(v, bound) else _fail(key, f"{_show(v)} is {text} {bound}")

    return check


def _check_multiple_of(divisor: Any, where: str) -> _KwCheck:
    if not _is_number(divisor) or divisor <= 0:
        raise SchemaError(f"{where}/multipleOf: must be a number > 0, got {_show(divisor)}")
    exact = _exact(divisor)
    decimal_divisor = Decimal(repr(divisor))
    int_divisor = divisor if isinstance(divisor, int) else None

    def check(v: Any) -> _Failures:
        if int_divisor is not None and type(v) is int:
            ok = v % int_divisor == 0
        elif not math.isfinite(v):
            ok = False  # json.loads reads "Infinity"/"NaN", which are not JSON numbers
        else:
            # Decimal is exact on the written decimals and ~10x cheaper than Fraction; it
            # raises when the quotient has more digits than its precision, then Fraction decides.
            try:
                ok = not _DECIMAL.remainder(Decimal(repr(v)), decimal_divisor)
            except InvalidOperation:
                ok = (_exact(v) / exact).denominator == 1
        return _OK if ok else _fail("multipleOf", f"{_show(v)} is not a multiple of {divisor}")

    return check


def _check_pattern(regex: Regex, written: str, max_length: int | None = None) -> _KwCheck:
    search = regex.search
    shown = _show(written)  # as the schema writes it, not as translated for re
    longest = max_length if max_length is not None else math.inf

    def check(v: str) -> _Failures:
        if len(v) > longest:
            return _OK  # maxLength fails it (see _fill)
        if not search(v):
            return _fail("pattern", f"{_show(v)} does not match {shown}")
        return _OK

    return check


def _check_format(name: Any, where: str) -> _KwCheck:
    test = _FORMATS.get(name) if isinstance(name, str) else None
    if test is None:
        raise SchemaError(
            f"{where}/format: unknown format {_show(name)}; known: {', '.join(sorted(_FORMATS))}"
        )

    def check(v: str) -> _Failures:
        return _OK if test(v) else _fail("format", f"{_show(v)} is not a valid {name}")

    return check


def _check_size(
    key: str, n: int, too: Callable[[int, int], bool], text: str, noun: str
) -> _KwCheck:
    def check(v: Any) -> _Failures:
        return _fail(key, f"{text} {n} {noun}") if too(len(v), n) else _OK

    return check


def _check_prefix_items(nodes: Sequence[_Node]) -> _KwCheck:
    def check(v: list[Any]) -> _Failures:
        out: list[Failure] = []
        for i, (n, x) in enumerate(zip(nodes, v, strict=False)):  # a shorter array is fine
            r = n.check(x)
            if r:
                out += _under(i, r)
                if len(out) >= MAX_FAILURES:
                    break
        return tuple(out)

    return check


def _check_items(rest: _Node, start: int) -> _KwCheck:
    def check(v: list[Any]) -> _Failures:
        out: list[Failure] = []
        for i in range(start, len(v)):
            r = rest.check(v[i])
            if r:
                out += _under(i, r)
                if len(out) >= MAX_FAILURES:
                    break
        return tuple(out)

    return check


def _check_contains(contained: _Node, low: int, high: int | None) -> _KwCheck:
    def check(v: list[Any]) -> _Failures:
        found = 0
        for x in v:
            if not contained.check(x):
                found += 1
        if found < low:
            which = "minContains" if low != 1 else "contains"
            return _fail(which, f"{found} items match 'contains', at least {low} must")
        if high is not None and found > high:
            return _fail("maxContains", f"{found} items match 'contains', at most {high} may")
        return _OK

    return check


def _check_unique(v: list[Any]) -> _Failures:
    seen: dict[Any, int] = {}
    canon = _canonical()
    for i, x in enumerate(v):
        key = canon(x)
        if key in seen:
            return _fail("uniqueItems", f"items {seen[key]} and {i} are equal")
        seen[key] = i
    return _OK


def _check_properties(props: Mapping[str, _Node]) -> _KwCheck:
    items = tuple(props.items())

    def check(v: dict[str, Any]) -> _Failures:
        out: list[Failure] = []
        for k, n in items:
            if k in v:
                r = n.check(v[k])
                if r:
                    out += _under(k, r)
                    if len(out) >= MAX_FAILURES:
                        break
        return tuple(out)

    return check


def _check_pattern_properties(patterns: Sequence[tuple[Regex, _Node]]) -> _KwCheck:
    def check(v: dict[str, Any]) -> _Failures:
        out: list[Failure] = []
        for k, x in v.items():
            for p, n in patterns:
                if p.search(k):
                    r = n.check(x)
                    if r:
                        out += _under(k, r)
            if len(out) >= MAX_FAILURES:
                break
        return tuple(out)

    return check


def _check_additional(
    extra: _Node, props: Mapping[str, _Node], patterns: Sequence[tuple[Regex, _Node]]
) -> _KwCheck:
    searches = tuple(p.search for p, _ in patterns)

    def check(v: dict[str, Any]) -> _Failures:
        out: list[Failure] = []
        for k, x in v.items():
            if k in props or any(search(k) for search in searches):
                continue
            r = extra.check(x)
            if r:
                if extra is _FALSE_NODE:
                    r = _fail("additionalProperties", "no property of this name is allowed")
                out += _under(k, r)
                if len(out) >= MAX_FAILURES:
                    break
        return tuple(out)

    return check


def _check_property_names(names: _Node) -> _KwCheck:
    def check(v: dict[str, Any]) -> _Failures:
        out: list[Failure] = []
        for k in v:
            r = names.check(k)
            if r:
                out += _fail("propertyNames", f"property name {_show(k)}: {r[0].message}")
                if len(out) >= MAX_FAILURES:
                    break
        return tuple(out)

    return check


def _check_required(names: tuple[str, ...]) -> _KwCheck:
    def check(v: dict[str, Any]) -> _Failures:
        missing = [n for n in names if n not in v]
        if not missing:
            return _OK
        return _fail("required", f"missing required {', '.join(map(repr, missing))}")

    return check


def _check_dependent_required(deps: Mapping[str, tuple[str, ...]]) -> _KwCheck:
    items = tuple(deps.items())

    def check(v: dict[str, Any]) -> _Failures:
        out: list[Failure] = []  # one failure per entry of the schema: bounded by the schema
        for k, names in items:
            if k in v:
                missing = [n for n in names if n not in v]
                if missing:
                    out += _fail(
                        "dependentRequired",
                        f"{', '.join(map(repr, missing))} required when {k!r} is present",
                    )
        return tuple(out)

    return check


def _check_dependent_schemas(deps: Mapping[str, _Node]) -> _KwCheck:
    items = tuple(deps.items())

    def check(v: dict[str, Any]) -> _Failures:
        out: list[Failure] = []
        for k, n in items:
            if k in v:
                out += n.check(v)
                if len(out) >= MAX_FAILURES:
                    break
        return tuple(out)

    return check


def _check_unevaluated_props(node: _Node, uneval: _Node) -> _KwCheck:
    def check(v: dict[str, Any]) -> _Failures:
        seen = node._own_props(v, with_uneval=False)
        out: list[Failure] = []
        for k, x in v.items():
            if k not in seen:
                r = uneval.check(x)
                if r:
                    if uneval is _FALSE_NODE:
                        r = _fail("unevaluatedProperties", "no property of this name is allowed")
                    out += _under(k, r)
                    if len(out) >= MAX_FAILURES:
                        break
        return tuple(out)

    return check


def _check_unevaluated_items(node: _Node, uneval: _Node) -> _KwCheck:
    def check(v: list[Any]) -> _Failures:
        seen = node._own_items(v, with_uneval=False)
        out: list[Failure] = []
        for i, x in enumerate(v):
            if i not in seen:
                r = uneval.check(x)
                if r:
                    if uneval is _FALSE_NODE:
                        r = _fail("unevaluatedItems", "no item is allowed here")
                    out += _under(i, r)
                    if len(out) >= MAX_FAILURES:
                        break
        return tuple(out)

    return check
