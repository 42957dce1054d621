"""Which strings leveret's backtracking regex engine is asked to search, for tests that show a
length bound runs before a lookaround/backreference pattern."""

from __future__ import annotations

import pytest

import leveret._schema
from leveret._regex import Regex, compile_ecma

__all__ = ["searched_by_backtracking"]


def searched_by_backtracking(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The list every backtracking pattern compiled from now on appends the text it searches to
    (linear patterns are left alone: they are safe on any length)."""
    searched: list[str] = []

    def counting(pattern: str) -> Regex:
        regex = compile_ecma(pattern)
        if not regex.linear:
            search = regex.search

            def spy(text: str) -> bool:
                searched.append(text)
                return search(text)

            regex.search = spy  # type: ignore[method-assign]
        return regex

    monkeypatch.setattr(leveret._schema, "compile_ecma", counting)
    return searched
