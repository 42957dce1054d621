"""AMQP content written byte by byte, for fuzzing: pika cannot encode most of what a hostile
peer sends (a correlation id or a header string that is not UTF-8, a float header, a
timestamp outside ``datetime``'s range), so the fuzzers write their frames themselves and hand
them to a pika connection's socket.

Header tables are built from :class:`Field` values, so a strategy says exactly which AMQP
type a value travels as; plain Python values get the obvious type.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pika

__all__ = ["Field", "content_frames", "encode_table", "send_frames"]


@dataclass(frozen=True)
class Field:
    """A header value with its AMQP field type spelled out (``kind`` is the type octet)."""

    kind: bytes
    payload: bytes


def _short(data: bytes) -> bytes:
    return bytes((len(data),)) + data


def _long(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def encode_value(value: Any) -> bytes:
    if isinstance(value, Field):
        return value.kind + value.payload
    if value is None:
        return b"V"
    if isinstance(value, bool):
        return b"t" + (b"\x01" if value else b"\x00")
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return b"l" + struct.pack(">q", value)
        return b"S" + _long(str(value).encode())  # no AMQP integer holds it: as text
    if isinstance(value, float):
        return b"d" + struct.pack(">d", value)
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        scale = max(0, min(255, -int(exponent))) if isinstance(exponent, int) else 0
        unscaled = int(value.scaleb(scale)) if value.is_finite() else 0
        unscaled = max(-(2**31), min(2**31 - 1, unscaled))
        return b"D" + struct.pack(">Bi", scale, unscaled)
    if isinstance(value, str):
        return b"S" + _long(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return b"x" + _long(value)
    if isinstance(value, dict):
        return b"F" + encode_table(value)
    if isinstance(value, list):
        return b"A" + _long(b"".join(encode_value(item) for item in value))
    raise TypeError(f"no AMQP field for {type(value).__name__}")


def encode_table(table: dict[bytes | str, Any]) -> bytes:
    fields = b"".join(
        _short(name if isinstance(name, bytes) else name.encode("utf-8", "surrogatepass"))
        + encode_value(value)
        for name, value in table.items()
    )
    return _long(fields)


def content_frames(
    channel: int,
    frame_max: int,
    routing_key: bytes,
    body: bytes,
    *,
    content_type: bytes | None = None,
    content_encoding: bytes | None = None,
    headers: bytes | None = None,
    correlation_id: bytes | None = None,
    reply_to: bytes | None = None,
    expiration: bytes | None = None,
    message_id: bytes | None = None,
    type_: bytes | None = None,
) -> bytes:
    """``basic.publish`` to the default exchange: method, content header and body frames.
    ``headers`` is an encoded table (:func:`encode_table`); other properties are shortstrs."""
    flags, props = 0, []
    for flag, value in (
        (0x8000, None if content_type is None else _short(content_type)),
        (0x4000, None if content_encoding is None else _short(content_encoding)),
        (0x2000, headers),
        (0x0400, None if correlation_id is None else _short(correlation_id)),
        (0x0200, None if reply_to is None else _short(reply_to)),
        (0x0100, None if expiration is None else _short(expiration)),
        (0x0080, None if message_id is None else _short(message_id)),
        (0x0020, None if type_ is None else _short(type_)),
    ):
        if value is not None:
            flags |= flag
            props.append(value)

    def frame(kind: int, payload: bytes) -> bytes:
        return struct.pack(">BHI", kind, channel, len(payload)) + payload + b"\xce"

    parts = [
        frame(1, struct.pack(">HHH", 60, 40, 0) + _short(b"") + _short(routing_key) + b"\x00"),
        frame(2, struct.pack(">HHQH", 60, 0, len(body), flags) + b"".join(props)),
    ]
    step = frame_max - 8
    parts += [frame(3, body[i : i + step]) for i in range(0, len(body), step)]
    return b"".join(parts)


def send_frames(conn: pika.BlockingConnection, ch: Any, queue: str, data: bytes) -> None:
    """Write hand-made frames on ``ch``, and return once the broker has taken them: a passive
    declare after them on the same channel is answered only then."""
    conn._impl._output_marshaled_frames([data])
    ch.queue_declare(queue, passive=True)
