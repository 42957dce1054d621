"""The wire protocol, without I/O: what a request and a reply carry, and how errors are encoded.

Documented for other languages in ``docs/wire-protocol.md``; keep the two in step.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leveret._status import StatusCode

__all__ = [
    "BROKER_MAX_MESSAGE_SIZE",
    "CONTENT_TYPE",
    "DESCRIBE_METHOD",
    "DIRECT_REPLY_TO",
    "HEADER_ATTEMPT",
    "HEADER_DEADLINE",
    "HEADER_FINGERPRINT",
    "HEADER_STATUS",
    "MAX_EXPIRATION_MS",
    "MAX_MESSAGE_SIZE",
    "MAX_METADATA_ENTRIES",
    "MAX_METADATA_KEY",
    "MAX_METADATA_SIZE",
    "MAX_METADATA_VALUE",
    "MAX_TIMEOUT",
    "MAX_TRACE_HEADER",
    "METADATA_PREFIX",
    "TRACE_HEADERS",
    "Delivery",
    "ErrorPayload",
    "OutgoingReply",
    "Reply",
    "Request",
    "check_metadata",
    "check_trace_headers",
    "decode_error",
    "encode_error",
    "metadata_error",
    "metadata_problem",
    "read_attempt",
    "read_deadline",
    "read_fingerprint",
    "read_metadata",
    "read_trace_headers",
]

CONTENT_TYPE = "application/json"

# The header namespace. Everything a call carries besides its body is one of these; this module
# owns the list (docs/wire-protocol.md, "Headers", is its description for other languages).
# Every name starting with "rpc-" is leveret's own; names starting with METADATA_PREFIX carry the
# caller's metadata; the W3C trace context names are kept for OpenTelemetry.
HEADER_DEADLINE = "rpc-deadline"
HEADER_STATUS = "rpc-status"
#: The attempt number of a request, on every one: 1 for the first attempt, 2 for the first
#: retry... (``Request.attempt`` and ``CallContext.attempt`` count retries: one less).
HEADER_ATTEMPT = "rpc-attempt"
#: The fingerprint of the method's contract as the sender was generated with: on requests (the
#: client's) and on replies (the worker's), for drift detection (docs/wire-protocol.md).
HEADER_FINGERPRINT = "rpc-fingerprint"
#: The built-in method every worker answers with its definition (not a valid method name: a
#: definition cannot declare it).
DESCRIBE_METHOD = "leveret.describe"
#: ``leveret-md-<key>``: one per-call metadata entry. Not ``x-``: RabbitMQ and its plugins
#: claim ``x-`` headers (``x-death``, ``x-delay`` ...), and not ``rpc-``, so that a metadata key
#: can never spell a header leveret reads.
METADATA_PREFIX = "leveret-md-"
#: W3C trace context and baggage, reserved for leveret's OpenTelemetry middleware.
TRACE_HEADERS = ("traceparent", "tracestate", "baggage")
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
STATUS_OK = StatusCode.OK.name

#: The longest per-message TTL (``expiration``) leveret sends: 2**32 - 1 ms, about 49.7 days,
#: the limit RabbitMQ documented (Erlang's timer range). 3.10 takes up to ten years, but a value
#: over a broker's limit makes it close the channel (406 PRECONDITION_FAILED), so a longer
#: timeout is refused before anything is sent, whichever broker is on the other end.
MAX_EXPIRATION_MS = 2**32 - 1
#: The longest timeout a call may have, in whole seconds; ``None`` means no deadline at all.
MAX_TIMEOUT = MAX_EXPIRATION_MS // 1000
#: leveret's default ``max_message_size``, on both sides: 4 MiB, gRPC's default receive limit.
#: A worker answers a larger request body with RESOURCE_EXHAUSTED before decoding it, and
#: refuses to send a larger reply; a client refuses to send a larger request and fails a call
#: whose reply is larger. Well below the broker's own limit (:data:`BROKER_MAX_MESSAGE_SIZE`),
#: so that the broker never has to refuse a body: a refusal closes the channel (406).
MAX_MESSAGE_SIZE = 4 * 1024 * 1024
#: RabbitMQ 3.x's default ``max_message_size`` (128 MiB; 4.x: 16 MiB): a larger body makes the
#: broker close the channel (406 PRECONDITION_FAILED).
BROKER_MAX_MESSAGE_SIZE = 134_217_728


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
    #: Per-call metadata, already checked (:func:`check_metadata`), keys without the prefix.
    metadata: Mapping[str, str] | None = None
    #: 0 for the first attempt, n for the n-th retry.
    attempt: int = 0
    #: W3C trace context headers a client middleware set (:func:`check_trace_headers`).
    trace: Mapping[str, str] | None = None
    #: The method's contract fingerprint (``rpc-fingerprint``), None: not sent.
    fingerprint: str | None = None

    def expiration_ms(self, now: float) -> str | None:
        """The AMQP ``expiration``: milliseconds left (at least 1); the broker drops it then."""
        if self.deadline is None:
            return None
        return str(max(1, math.ceil((self.deadline - now) * 1000)))

    def headers(self) -> dict[str, Any]:
        metadata, trace = self.metadata, self.trace
        headers: dict[str, Any] = {HEADER_ATTEMPT: self.attempt + 1}
        if self.deadline is not None:
            headers[HEADER_DEADLINE] = int(self.deadline * 1000)
        if metadata:
            for key, value in metadata.items():
                headers[METADATA_PREFIX + key] = value
        if trace:
            headers.update(trace)
        if self.fingerprint is not None:
            headers[HEADER_FINGERPRINT] = self.fingerprint
        return headers


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply as a client receives it: ``status`` is the ``rpc-status`` header value."""

    correlation_id: str
    status: str
    body: bytes
    #: The worker's ``rpc-fingerprint`` for the method, or None when the reply has none.
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingReply:
    """A reply as a server sends it. ``reply_to`` and ``correlation_id`` are the request's,
    bytes when they were not UTF-8 (the server treats them as opaque)."""

    reply_to: str | bytes
    correlation_id: str | bytes
    status: str
    body: bytes
    #: ``rpc-fingerprint``: the method's contract as this worker has it (None: not sent).
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A request as a server receives it, before anything is trusted.

    ``correlation_id`` and ``reply_to`` are bytes when they are not UTF-8, so that the reply
    carries them back unchanged. ``undecodable`` says why the properties could not be read in
    full (a header table the AMQP library cannot decode; ``headers`` is then empty), or is
    None. ``user_id`` is the AMQP ``user_id`` property: the publisher's broker login, which
    the broker has checked (bytes when not UTF-8), or None when the request carries none.
    """

    body: bytes
    method: str | None = None
    correlation_id: str | bytes | None = None
    reply_to: str | bytes | None = None
    content_type: str | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    redelivered: bool = False
    undecodable: str | None = None
    user_id: str | bytes | None = None


def read_deadline(headers: Mapping[str, Any]) -> float | None:
    """The ``rpc-deadline`` header in Unix seconds; ``None`` when absent or not a number.

    A number is an AMQP integer of any width or a float (``f``, ``d``: pika reads those as
    integers, the fraction dropped); anything else (a string, even ``"1795712345678"``, a
    bool, a decimal, a timestamp) is no deadline (docs/wire-protocol.md, "Headers")."""
    raw = headers.get(HEADER_DEADLINE)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        deadline = float(raw) / 1000.0
    except OverflowError:  # an int no double holds (not from AMQP, whose widest is 64 bits)
        return None
    return deadline if math.isfinite(deadline) else None


#: The longest fingerprint read from a peer; a longer or non-ASCII one is ignored.
MAX_FINGERPRINT = 128


def read_fingerprint(headers: Mapping[str, Any] | None) -> str | None:
    """The ``rpc-fingerprint`` header, or None when absent or not a short printable string."""
    raw = (headers or {}).get(HEADER_FINGERPRINT)
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeError:
            return None
    if not isinstance(raw, str) or not 0 < len(raw) <= MAX_FINGERPRINT or not raw.isprintable():
        return None
    return raw if raw.isascii() else None


def read_attempt(headers: Mapping[str, Any]) -> int:
    """The retries before a request, from its ``rpc-attempt`` header (1 for a first attempt):
    0 when absent, or not an integer from 1 to 2**31 - 1."""
    raw = headers.get(HEADER_ATTEMPT)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 2**31 - 1:
        return 0
    return raw - 1


#: Bounds on per-call metadata. The AMQP content header (properties, headers table included)
#: must fit in one frame (RabbitMQ's frame_max, 128 KiB by default) or the broker closes the
#: connection; 8 KiB in all is gRPC's default limit for metadata.
MAX_METADATA_ENTRIES = 64
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 4096
MAX_METADATA_SIZE = 8192

_METADATA_KEY = re.compile(r"[a-z0-9_.\-]+")
#: C0 controls, DEL, C1 controls (U+0085 NEL among them) and the Unicode line and paragraph
#: separators: a value is printed in logs, and any of these can forge or break a log line
#: (str.splitlines() and many log viewers break lines at NEL, U+2028 and U+2029).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def metadata_problem(key: object, value: object) -> str | None:
    """Why ``key: value`` is not a valid metadata entry, or None."""
    if not isinstance(key, str):
        return f"metadata keys are str, not {type(key).__name__}"
    if not key or len(key) > MAX_METADATA_KEY or not _METADATA_KEY.fullmatch(key):
        shown = key if len(key) <= MAX_METADATA_KEY else key[:MAX_METADATA_KEY] + "..."
        return (
            f"metadata key {shown!r}: 1 to {MAX_METADATA_KEY} characters of a-z, 0-9, "
            "'-', '_' and '.'"
        )
    if not isinstance(value, str):
        return f"metadata {key!r}: values are str, not {type(value).__name__}"
    if len(value) > MAX_METADATA_VALUE:  # cheap first: a huge value is not encoded to find out
        return f"metadata {key!r}: the value is over {MAX_METADATA_VALUE} bytes of UTF-8"
    try:
        size = len(value.encode())
    except UnicodeEncodeError:
        return f"metadata {key!r}: the value is not valid Unicode (a lone surrogate)"
    if size > MAX_METADATA_VALUE:
        return f"metadata {key!r}: the value is over {MAX_METADATA_VALUE} bytes of UTF-8"
    if _CONTROL.search(value):
        return (
            f"metadata {key!r}: the value has a control character or a line separator "
            "(U+0000-U+001F, U+007F-U+009F, U+2028, U+2029)"
        )
    return None


def _metadata_size(metadata: Mapping[str, str]) -> int:
    return sum(len(key) + len(value.encode()) for key, value in metadata.items())


def check_metadata(metadata: object) -> dict[str, str]:
    """A caller's metadata as a plain dict, or ``ValueError`` saying what is wrong with it."""
    if not isinstance(metadata, Mapping):
        raise ValueError(f"metadata is a mapping of str to str, not {type(metadata).__name__}")
    if len(metadata) > MAX_METADATA_ENTRIES:
        raise ValueError(f"metadata has {len(metadata)} entries, more than {MAX_METADATA_ENTRIES}")
    for key, value in metadata.items():
        problem = metadata_problem(key, value)
        if problem is not None:
            raise ValueError(problem)
    checked = dict(metadata)
    size = _metadata_size(checked)
    if size > MAX_METADATA_SIZE:
        raise ValueError(
            f"metadata is {size} bytes (keys and UTF-8 values), more than {MAX_METADATA_SIZE}"
        )
    return checked


def read_metadata(headers: Mapping[str, Any]) -> dict[str, str] | None:
    """The metadata a request's headers carry (``{}`` when none), or None when an entry is
    invalid by the rules a caller is held to: nothing a peer sends reaches a handler
    unchecked. A value that is not UTF-8 arrives as bytes, and is invalid too."""
    metadata: dict[str, str] = {}
    prefix = METADATA_PREFIX
    for name, value in headers.items():
        if isinstance(name, str) and name.startswith(prefix):
            key = name[len(prefix) :]
            if metadata_problem(key, value) is not None:
                return None
            metadata[key] = value
    if metadata and (
        len(metadata) > MAX_METADATA_ENTRIES or _metadata_size(metadata) > MAX_METADATA_SIZE
    ):
        return None
    return metadata


#: The longest trace header value: W3C baggage allows 8192 bytes, the others are far shorter.
MAX_TRACE_HEADER = 8192


def check_trace_headers(headers: object) -> dict[str, str]:
    """The trace headers a client middleware set, or ``ValueError``: only the names in
    :data:`TRACE_HEADERS`, str values of printable ASCII (as W3C defines them), bounded."""
    if not isinstance(headers, Mapping):
        raise ValueError(f"headers is a mapping of str to str, not {type(headers).__name__}")
    for name, value in headers.items():
        if name not in TRACE_HEADERS:
            raise ValueError(
                f"header {name!r}: a middleware may set only {', '.join(TRACE_HEADERS)}"
            )
        if (
            not isinstance(value, str)
            or len(value) > MAX_TRACE_HEADER
            or not value.isascii()
            or not value.isprintable()
        ):
            raise ValueError(
                f"header {name!r}: the value is not printable ASCII of at most "
                f"{MAX_TRACE_HEADER} characters"
            )
    return dict(headers)


def read_trace_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """The W3C trace headers a request carries, those valid by :func:`check_trace_headers`'
    rules; anything else is dropped (a trace header is advice, never a reason to refuse)."""
    found: dict[str, str] = {}
    for name in TRACE_HEADERS:
        value = headers.get(name)
        if (
            isinstance(value, str)
            and len(value) <= MAX_TRACE_HEADER
            and value.isascii()
            and value.isprintable()
        ):
            found[name] = value
    return found


def metadata_error(headers: Mapping[str, Any]) -> str:
    """What :func:`read_metadata` found wrong, for the INVALID_ARGUMENT reply."""
    try:
        check_metadata(
            {
                name[len(METADATA_PREFIX) :]: value
                for name, value in headers.items()
                if isinstance(name, str) and name.startswith(METADATA_PREFIX)
            }
        )
    except ValueError as exc:
        return str(exc)
    return "invalid metadata"


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
        allow_nan=False,  # JSON has no NaN or infinity: ValueError (the server's bug)
    ).encode()


def decode_error(status: str, body: bytes) -> ErrorPayload:
    """Read an error reply leniently: a peer in another language may omit fields."""
    code = StatusCode.from_wire(status)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json reads
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
