"""Diagnostics as data: every stage returns them, only the CLI prints them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Diagnostic", "Severity", "file_error", "has_errors", "printable"]


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """One finding about a definition, at ``file:line:col`` (1-based; 0 when unknown).

    ``code`` is stable (tests and users match on it); ``message`` says what is wrong and ``hint``
    what to do about it.
    """

    file: str
    line: int
    col: int
    severity: Severity
    code: str
    message: str
    hint: str = ""

    def render(self) -> str:
        """``file:line:col: severity[CODE]: message`` and, when there is one, an indented hint.

        Names and values in messages may come from a document someone else wrote (a service
        described by reflection): control characters are shown escaped (``printable``), and a
        message of several lines (a formatter's output) has its lines after the first indented
        behind ``|``, so no line of it can pass for a diagnostic or a CI workflow command.
        """
        where = f"{printable(self.file)}:{self.line}:{self.col}"
        message = "\n    | ".join(printable(line) for line in self.message.split("\n"))
        text = f"{where}: {self.severity.value}[{self.code}]: {message}"
        if self.hint:
            text += f"\n    hint: {printable(self.hint)}"
        return text


def printable(text: str) -> str:
    """``text`` with every character that is not printable (C0 and C1 controls, DEL, line and
    paragraph separators, bidirectional and other format characters, ...) written as a Python
    escape: what a terminal or a CI log can show without being steered by it."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(c: str) -> str:
    if c in _SHORT:
        return _SHORT[c]
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def has_errors(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def file_error(file: str, code: str, message: str, hint: str = "") -> Diagnostic:
    """An error about a whole file (no position): what the back end reports."""
    return Diagnostic(file, 0, 0, Severity.ERROR, code, message, hint)
