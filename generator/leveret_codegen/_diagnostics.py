"""Diagnostics as data: every stage returns them, only the CLI prints them."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Diagnostic", "Severity", "file_error", "has_errors"]


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
        """``file:line:col: severity[CODE]: message`` and, when there is one, an indented hint."""
        where = f"{self.file}:{self.line}:{self.col}"
        text = f"{where}: {self.severity.value}[{self.code}]: {self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


def has_errors(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def file_error(file: str, code: str, message: str, hint: str = "") -> Diagnostic:
    """An error about a whole file (no position): what the back end reports."""
    return Diagnostic(file, 0, 0, Severity.ERROR, code, message, hint)
