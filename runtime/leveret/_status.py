"""Status codes: the gRPC set, carried by name in the ``rpc-status`` reply header."""

from __future__ import annotations

import enum

__all__ = ["StatusCode"]


class StatusCode(enum.IntEnum):
    """gRPC-compatible status codes. The wire carries the name (``"NOT_FOUND"``), not the number."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @classmethod
    def from_wire(cls, name: str) -> StatusCode:
        """The code of a header value; an unknown name is ``UNKNOWN`` (a newer peer)."""
        try:
            return cls[name]
        except KeyError:
            return cls.UNKNOWN
