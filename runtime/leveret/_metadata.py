"""Per-call metadata, set by the caller: ``with leveret.metadata({"tenant": "acme"}): ...``.

A context variable, not a keyword argument of generated methods: those take the request's
properties as keyword arguments, and no name added beside them could be kept from colliding with
one. A context variable follows the code that calls (this thread, this asyncio task) and nothing
else; a handler's incoming metadata is not passed on to the calls it makes unless it says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType

from leveret._errors import ORIGIN_LOCAL, InvalidArgument, mark
from leveret._wire import check_metadata

__all__ = ["current_metadata", "metadata", "metadata_or_invalid"]

_CURRENT: ContextVar[Mapping[str, str] | None] = ContextVar("leveret_metadata", default=None)


def metadata_or_invalid(entries: object) -> dict[str, str]:
    """``entries`` checked, or ``InvalidArgument`` (marked as never sent) saying why not."""
    try:
        return check_metadata(entries)
    except ValueError as exc:
        raise mark(InvalidArgument(str(exc)), ORIGIN_LOCAL) from None


@contextlib.contextmanager
def metadata(entries: Mapping[str, str]) -> Iterator[Mapping[str, str]]:
    """Send ``entries`` as metadata with every call made in the block, by any leveret client,
    in this thread or asyncio task (and tasks it starts in the block). Nested blocks add to the
    outer one's entries (the inner value wins for a key given in both).

    Keys are 1 to 64 characters of ``a-z 0-9 - _ .``; values are str, at most 4096 bytes of
    UTF-8 without control characters (C0, DEL, C1) or the line separators U+2028 and U+2029;
    at most 64 entries and 8192 bytes in all. Anything else raises
    :class:`~leveret.InvalidArgument` here, before a call is made. Yields the metadata in force
    (read-only).
    """
    checked = metadata_or_invalid(entries)
    outer = _CURRENT.get()
    if outer:
        checked = metadata_or_invalid({**outer, **checked})
    in_force: Mapping[str, str] = MappingProxyType(checked)
    token = _CURRENT.set(in_force)
    try:
        yield in_force
    finally:
        _CURRENT.reset(token)


def current_metadata() -> Mapping[str, str] | None:
    """The metadata of the innermost :func:`metadata` block around this code, if any."""
    return _CURRENT.get()
