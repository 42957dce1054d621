"""TypeScript source text for JSON values, strings, property names and doc comments.

One formatting style for every generated module, the one prettier gives with
``{singleQuote: true, printWidth: 100}``: 2-space indent, single quotes, semicolons, trailing
commas in multi-line literals; an object or array literal stays on one line when it fits.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from typing import Final

__all__ = [
    "INDENT",
    "WIDTH",
    "doc_comment",
    "is_identifier",
    "json_literal",
    "number_literal",
    "object_key",
    "property_key",
    "string_literal",
]

INDENT: Final = "  "
WIDTH: Final = 100

# ECMAScript identifiers: ID_Start (letters) then ID_Continue (letters, marks, digits,
# connectors), and $ and _. A name with anything else (or a rarer ID_Start code point) is quoted,
# which is always valid.
_START: Final = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo"})
_CONTINUE: Final = _START | {"Mn", "Mc", "Nd", "Pc"}
_ESCAPES: Final = {
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "\v": "\\v",
    "\0": "\\x00",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def is_identifier(name: str) -> bool:
    """Whether ``name`` can be written bare as a property name (prettier unquotes it then)."""
    if not name:
        return False
    first, rest = name[0], name[1:]
    if not (first in "$_" or unicodedata.category(first) in _START):
        return False
    return all(c in "$_\u200c\u200d" or unicodedata.category(c) in _CONTINUE for c in rest)


def string_literal(text: str) -> str:
    """``text`` as a TypeScript string literal: single quotes, unless the text holds more of
    them than double quotes (prettier's choice: the fewer escapes)."""
    quote = '"' if text.count("'") > text.count('"') else "'"
    out = []
    for char in text:
        escaped = (
            _ESCAPES.get(char) if char not in "'\"" else ("\\" + char if char == quote else char)
        )
        if escaped is None and (ord(char) < 0x20 or 0xD800 <= ord(char) <= 0xDFFF):
            escaped = f"\\u{ord(char):04x}"
        out.append(escaped if escaped is not None else char)
    return quote + "".join(out) + quote


def object_key(name: str) -> str:
    """A key of an object literal: ``__proto__`` computed, since written as a plain key (quoted
    or not) it sets the object's prototype instead of making a property."""
    return "['__proto__']" if name == "__proto__" else property_key(name)


def property_key(name: str) -> str:
    """A property name as an object key or interface member: bare when it is an identifier.

    Integer-like names stay quoted strings too (``'1'``): bare, they would read as numbers."""
    return name if is_identifier(name) else string_literal(name)


def number_literal(value: int | float) -> str:
    """A JSON number as a TypeScript literal of the same double, in prettier's normal form:
    ``1e+20`` -> ``1e20``, ``1e-07`` -> ``1e-7``, ``1.50`` -> ``1.5`` (``5.0`` stays)."""
    text = json.dumps(value).lower()
    text = re.sub(r"^([+-]?[\d.]+e)(?:\+|(-))?0*(\d)", r"\1\2\3", text)
    text = re.sub(r"^([+-]?[\d.]+)e[+-]?0+$", r"\1", text)
    text = re.sub(r"(\.\d+?)0+(?=e|$)", r"\1", text)
    return re.sub(r"\.(?=e|$)", "", text)


def json_literal(value: object, indent: str = "", column: int | None = None) -> str:
    """``value`` (JSON data) as a TypeScript expression starting at ``column`` (default: the
    end of ``indent``) and followed by one character (``,`` or ``;``); continuation lines are
    indented from ``indent``."""
    flat = _flat(value)
    start = len(indent) if column is None else column
    if start + len(flat) + 1 <= WIDTH:
        return flat
    inner = indent + INDENT
    if isinstance(value, dict):
        lines = []
        for k, v in value.items():
            head = f"{inner}{object_key(str(k))}: "
            text = json_literal(v, inner, len(head))
            if isinstance(v, str) and len(head) + len(text) + 1 > WIDTH:
                # A string cannot break: it goes on a line of its own, as prettier puts it.
                lines.append(f"{head.rstrip()}\n{inner}{INDENT}{text},")
            else:
                lines.append(f"{head}{text},")
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"
    if isinstance(value, list):
        lines = [f"{inner}{json_literal(v, inner)}," for v in value]
        return "[\n" + "\n".join(lines) + f"\n{indent}]"
    return flat


def _flat(value: object) -> str:
    """The one-line form."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return number_literal(value)
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (f"{object_key(str(k))}: {_flat(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(str(_flat(v)) for v in value) + "]"
    raise TypeError(f"not JSON data: {value!r}")


#: Stands for a space inside a code span while wrapping (a private-use character).
_GLUE: Final = "\ue000"


def doc_comment(text: str, indent: str) -> list[str]:
    """A ``/** ... */`` block for ``text`` (empty list for empty text), one line when it fits.

    Long lines are wrapped at spaces (a description's own line breaks stay); ``*/`` inside the
    text is broken so it cannot end the comment early."""
    text = text.strip().replace("*/", "*\\/")
    if not text:
        return []
    if "\n" not in text and len(indent) + len(text) + 7 <= WIDTH:
        return [f"{indent}/** {text} */"]
    lines: list[str] = []
    for line in text.splitlines():
        if line[:1].isspace():  # indented (code, a nested list): as written
            lines.append(line.rstrip())
            continue
        # Code spans (`...`) stay whole: their spaces are hidden from the wrapper.
        glued = line.rstrip()
        if _GLUE not in glued:
            glued = re.sub(r"`[^`]*`", lambda m: m.group().replace(" ", _GLUE), glued)
        wrapped = textwrap.wrap(
            glued,
            width=max(WIDTH - len(indent) - 3, 40),
            break_long_words=False,
            break_on_hyphens=False,
            drop_whitespace=True,
        )
        lines.extend([w.replace(_GLUE, " ") for w in wrapped] or [""])
    body = [f"{indent} *" + (f" {line}" if line else "") for line in lines]
    return [f"{indent}/**", *body, f"{indent} */"]
