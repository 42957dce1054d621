"""Suggestions ("did you mean ...?") for names that are close to a known one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest"]


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is most likely a typo of, or None when none is close."""
    candidates = sorted(set(known))
    # A slip of case (SKU for Sku, getuser for getUser) is the commonest typo, and difflib's
    # ratio rates it low for short names.
    folded = [c for c in candidates if c.lower() == name.lower()]
    close = folded or difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None
