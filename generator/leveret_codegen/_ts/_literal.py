"""TypeScript source text for JSON values, strings, property names and doc comments.

One formatting style for every generated module, the one prettier gives with
``{singleQuote: true, printWidth: 100}``: 2-space indent, single quotes, semicolons, trailing
commas in multi-line literals; an object or array literal stays on one line when it fits.
"""

from __future__ import annotations

import json
import re
import textwrap
from typing import Final

__all__ = [
    "INDENT",
    "WIDTH",
    "doc_comment",
    "is_identifier",
    "json_literal",
    "property_key",
    "string_literal",
]

INDENT: Final = "  "
WIDTH: Final = 100

# ASCII identifiers only: a property name with other letters is quoted, which is always valid.
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
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
    return bool(_IDENTIFIER.match(name))


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


def property_key(name: str) -> str:
    """A property name as an object key or interface member: bare when it is an identifier.

    Integer-like names stay quoted strings too (``'1'``): bare, they would read as numbers."""
    return name if is_identifier(name) else string_literal(name)


def number_literal(value: int | float) -> str:
    """A JSON number as JSON wrote it (``5.0`` stays ``5.0``: the same double in JavaScript)."""
    return json.dumps(value)


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
            head = f"{inner}{property_key(str(k))}: "
            lines.append(f"{head}{json_literal(v, inner, len(head))},")
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
        items = (f"{property_key(str(k))}: {_flat(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(str(_flat(v)) for v in value) + "]"
    raise TypeError(f"not JSON data: {value!r}")


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
        wrapped = textwrap.wrap(
            line.rstrip(),
            width=max(WIDTH - len(indent) - 3, 40),
            break_long_words=False,
            break_on_hyphens=False,
            drop_whitespace=True,
        )
        lines.extend(wrapped or [""])
    body = [f"{indent} *" + (f" {line}" if line else "") for line in lines]
    return [f"{indent}/**", *body, f"{indent} */"]
