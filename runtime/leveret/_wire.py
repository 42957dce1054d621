"""The wire protocol, without I/O: what a request and a reply carry, and how errors are encoded.

Documented for other languages in ``docs/wire-protocol.md``; keep the two in step.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leveret._status import StatusCode

__all__ = [
    "CONTENT_TYPE",
    "DIRECT_REPLY_TO",
    "HEADER_DEADLINE",
    "HEADER_STATUS",
    "MAX_EXPIRATION_MS",
    "MAX_MESSAGE_SIZE",
    "MAX_TIMEOUT",
    "Delivery",
    "ErrorPayload",
    "OutgoingReply",
    "Reply",
    "Request",
    "decode_error",
    "encode_error",
    "read_deadline",
]

CONTENT_TYPE = "application/json"
HEADER_DEADLINE = "rpc-deadline"
HEADER_STATUS = "rpc-status"
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
STATUS_OK = StatusCode.OK.name

#: The longest per-message TTL (``expiration``) leveret sends: 2**32 - 1 ms, about 49.7 days,
#: the limit RabbitMQ documented (Erlang's timer range). 3.10 takes up to ten years, but a value
#: over a broker's limit makes it close the channel (406 PRECONDITION_FAILED), so a longer
#: timeout is refused before anything is sent, whichever broker is on the other end.
MAX_EXPIRATION_MS = 2**32 - 1
#: The longest timeout a call may have, in whole seconds; ``None`` means no deadline at all.
MAX_TIMEOUT = MAX_EXPIRATION_MS // 1000
#: RabbitMQ's default ``max_message_size`` (128 MiB): a larger body closes the channel (406).
MAX_MESSAGE_SIZE = 134_217_728


@dataclass(frozen=True, slots=True)
class Request:
    """A request as a client sends it. ``deadline`` is absolute, in Unix seconds.

    ``wait_for_ready``: when False, a queue that exists with no worker consuming it fails the
    call at once (``Unavailable``) instead of letting the request wait there for a worker.
    """

    queue: str
    method: str
    correlation_id: str
    body: bytes
    deadline: float | None
    wait_for_ready: bool = False

    def expiration_ms(self, now: float) -> str | None:
        """The AMQP ``expiration``: milliseconds left (at least 1); the broker drops it then."""
        if self.deadline is None:
            return None
        return str(max(1, math.ceil((self.deadline - now) * 1000)))

    def headers(self) -> dict[str, Any] | None:
        if self.deadline is None:
            return None
        return {HEADER_DEADLINE: int(self.deadline * 1000)}


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply as a client receives it: ``status`` is the ``rpc-status`` header value."""

    correlation_id: str
    status: str
    body: bytes


@dataclass(frozen=True, slots=True)
class OutgoingReply:
    """A reply as a server sends it. ``reply_to`` and ``correlation_id`` are the request's,
    bytes when they were not UTF-8 (the server treats them as opaque)."""

    reply_to: str | bytes
    correlation_id: str | bytes
    status: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Delivery:
    """A request as a server receives it, before anything is trusted.

    ``correlation_id`` and ``reply_to`` are bytes when they are not UTF-8, so that the reply
    carries them back unchanged. ``undecodable`` says why the properties could not be read in
    full (a header table the AMQP library cannot decode; ``headers`` is then empty), or is
    None.
    """

    body: bytes
    method: str | None = None
    correlation_id: str | bytes | None = None
    reply_to: str | bytes | None = None
    content_type: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    redelivered: bool = False
    undecodable: str | None = None


def read_deadline(headers: Mapping[str, Any]) -> float | None:
    """The ``rpc-deadline`` header in Unix seconds; ``None`` when absent or not a number."""
    raw = headers.get(HEADER_DEADLINE)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw) / 1000.0


@dataclass(frozen=True, slots=True)
class ErrorPayload:
    """The body of a reply whose status is not ``OK``."""

    code: StatusCode
    message: str
    error: str | None = None
    details: Any = None


def encode_error(payload: ErrorPayload) -> bytes:
    return json.dumps(
        {
            "code": payload.code.name,
            "message": payload.message,
            "error": payload.error,
            "details": payload.details,
        },
        separators=(",", ":"),
    ).encode()


def decode_error(status: str, body: bytes) -> ErrorPayload:
    """Read an error reply leniently: a peer in another language may omit fields."""
    code = StatusCode.from_wire(status)
    try:
        data = json.loads(body)
    except ValueError:
        return ErrorPayload(code, body.decode("utf-8", "replace")[:500] or code.name)
    if not isinstance(data, Mapping):
        return ErrorPayload(code, code.name, None, data)
    message = data.get("message")
    error = data.get("error")
    return ErrorPayload(
        code,
        message if isinstance(message, str) else code.name,
        error if isinstance(error, str) else None,
        data.get("details"),
    )
