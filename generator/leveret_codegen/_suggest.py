"""Suggestions ("did you mean ...?") for names that are close to a known one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Final

__all__ = ["closest"]

_CUTOFF: Final = 0.6
_SEPARATORS: Final = "_.-/"


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` is most likely a typo of, or None when none is close."""
    candidates = sorted(set(known))
    # A slip of case (SKU for Sku, getuser for getUser) is the commonest typo, and difflib's
    # ratio rates it low for short names.
    folded = [c for c in candidates if c.lower() == name.lower()]
    if folded:
        return folded[0]
    scored = [(_similarity(name, c), c) for c in candidates]
    best = max(scored, key=lambda pair: pair[0], default=(0.0, ""))
    return best[1] if best[0] >= _CUTOFF else None


def _similarity(name: str, candidate: str) -> float:
    """difflib's ratio of what differs: a shared word at either end (``_CHANGED``, ``.yaml``,
    ``get_``) says nothing about a typo, yet it alone lifted FOO_CHANGED to DEFAULT_CHANGED and
    orders.yaml to library.yaml over the cutoff."""
    start = _shared_prefix(name, candidate)
    end = _shared_prefix(name[start:][::-1], candidate[start:][::-1])
    left, right = name[start : len(name) - end], candidate[start : len(candidate) - end]
    if not left or not right:
        left, right = name, candidate
    return difflib.SequenceMatcher(None, left, right).ratio()


def _shared_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of ``a`` and ``b`` that ends with a separator."""
    length = 0
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            break
        if x in _SEPARATORS:
            length = index + 1
    return length
