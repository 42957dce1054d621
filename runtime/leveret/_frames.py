"""The AMQP 0-9-1 frames of leveret's hot path, encoded and decoded straight from bytes.

pika builds every publish from generic objects (``spec.Basic.Publish``, ``BasicProperties``,
``frame.Method``/``Header``/``Body``, a table encoder that tries each type in turn), and reads
every delivery the same way, frame by frame through its callback registry and a content
assembler: together most of a sync client's CPU per call (``bench/``). leveret sends a handful
of properties of known types, so it encodes them here directly (the method frame of a publish
to a given queue is built once), and it reads a whole delivery (``basic.deliver``, its content
header and body) or a publisher confirm in one step. Anything else, or anything unusual
(a delivery not complete in the buffer yet, a second property-flags word), is left to pika.
``tests/runtime/test_frames.py`` checks every byte against pika's own encoder.

No I/O and no pika import: the connection (``_amqp``) writes what this returns and hands it
what it reads.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Confirm", "FastDelivery", "FrameEncoder", "read_fast"]

_FRAME_END = b"\xce"
_METHOD, _HEADER, _BODY = 1, 2, 3
_BASIC = 60
_PUBLISH, _DELIVER, _ACK = 40, 60, 80
_FRAME_HEAD = struct.Struct(">BHI")  # type, channel, payload size
_CONTENT_HEAD = struct.Struct(">HHQH")  # class, weight, body size, property flags
_ACK_FRAME = struct.Struct(">BHIHHQBB")  # a whole basic.ack frame

# Basic property flags, in the order the properties follow them on the wire.
_CONTENT_TYPE = 0x8000
_HEADERS = 0x2000
_CORRELATION_ID = 0x0400
_REPLY_TO = 0x0200
_EXPIRATION = 0x0100
_TYPE = 0x0020
_USER_ID = 0x0010

_INT32 = (-(2**31), 2**31 - 1)


def _short(text: str | bytes) -> bytes:
    # bytes: a short string read off the wire that is not UTF-8 (a binary correlation id, say),
    # sent back exactly as it came.
    data = text if isinstance(text, bytes) else text.encode()
    if len(data) > 255:
        raise ValueError(f"AMQP short string longer than 255 bytes: {text[:40]!r}...")
    return bytes((len(data),)) + data


def _table(table: Mapping[str, str | int]) -> bytes:
    """An AMQP field table of strings and integers, encoded as pika encodes them."""
    pieces: list[bytes] = []
    for key, value in table.items():
        pieces.append(_short(key))
        if isinstance(value, str):
            data = value.encode()
            pieces.append(b"S" + struct.pack(">I", len(data)) + data)
        elif isinstance(value, int) and not isinstance(value, bool):
            if _INT32[0] <= value <= _INT32[1]:
                pieces.append(b"I" + struct.pack(">i", value))
            else:
                pieces.append(b"l" + struct.pack(">q", value))
        else:
            raise TypeError(f"header {key!r}: only str and int values, not {type(value).__name__}")
    data = b"".join(pieces)
    return struct.pack(">I", len(data)) + data


#: Publish method frames a :class:`FrameEncoder` keeps. A client publishes to a few queues; a
#: worker replies to one ``reply_to`` per caller channel, and callers come and go for the life
#: of its connection, so the cache must forget.
CACHED_METHODS = 256


class FrameEncoder:
    """Frames for one channel of a connection whose largest frame is ``frame_max`` bytes."""

    def __init__(self, channel: int, frame_max: int) -> None:
        self._channel = channel
        self._body_max = frame_max - 8  # frame header (7) and frame end (1)
        self._publish_methods: dict[tuple[str, str | bytes, bool], bytes] = {}

    def _frame(self, kind: int, payload: bytes) -> bytes:
        return _FRAME_HEAD.pack(kind, self._channel, len(payload)) + payload + _FRAME_END

    def _publish_method(self, exchange: str, routing_key: str | bytes, mandatory: bool) -> bytes:
        key = (exchange, routing_key, mandatory)
        frame = self._publish_methods.get(key)
        if frame is None:
            payload = (
                struct.pack(">HHH", _BASIC, _PUBLISH, 0)
                + _short(exchange)
                + _short(routing_key)
                + bytes((1 if mandatory else 0,))
            )
            frame = self._frame(_METHOD, payload)
            methods = self._publish_methods
            if len(methods) >= CACHED_METHODS:
                # Forget the oldest (dicts keep insertion order): a caller that is still
                # around costs one frame build when it comes back.
                del methods[next(iter(methods))]
            methods[key] = frame
        return frame

    def publish(
        self,
        exchange: str,
        routing_key: str | bytes,
        body: bytes,
        *,
        mandatory: bool = False,
        content_type: str | None = None,
        headers: Mapping[str, str | int] | None = None,
        correlation_id: str | bytes | None = None,
        reply_to: str | bytes | None = None,
        expiration: str | None = None,
        type: str | None = None,
        user_id: str | None = None,
    ) -> bytes:
        """``basic.publish`` with its content header and body frames, as one byte string.

        The routing key, ``correlation_id`` and ``reply_to`` may be bytes: a worker answers
        with the ones a request came with, which need not be UTF-8. ``user_id`` is the
        publisher's login, which the broker checks (docs/security.md).
        """
        flags = 0
        props: list[bytes] = []
        if content_type is not None:
            flags |= _CONTENT_TYPE
            props.append(_short(content_type))
        if headers is not None:
            flags |= _HEADERS
            props.append(_table(headers))
        if correlation_id is not None:
            flags |= _CORRELATION_ID
            props.append(_short(correlation_id))
        if reply_to is not None:
            flags |= _REPLY_TO
            props.append(_short(reply_to))
        if expiration is not None:
            flags |= _EXPIRATION
            props.append(_short(expiration))
        if type is not None:
            flags |= _TYPE
            props.append(_short(type))
        if user_id is not None:
            flags |= _USER_ID
            props.append(_short(user_id))
        size = len(body)
        header = _CONTENT_HEAD.pack(_BASIC, 0, size, flags) + b"".join(props)
        parts = [
            self._publish_method(exchange, routing_key, mandatory),
            self._frame(_HEADER, header),
        ]
        step = self._body_max
        for start in range(0, size, step):
            parts.append(self._frame(_BODY, body[start : start + step]))
        return b"".join(parts)

    def ack(self, delivery_tag: int) -> bytes:
        """``basic.ack`` of one delivery."""
        return _ACK_FRAME.pack(_METHOD, self._channel, 13, _BASIC, _ACK, delivery_tag, 0, 0xCE)


# -- reading ----------------------------------------------------------------------------------

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_METHOD_HEAD = struct.Struct(">BHIHH")  # a frame's head and the method's class and id
_ACK_BODY = struct.Struct(">QB")

#: Properties after ``headers`` that come before ``correlation_id`` (octets) and the ones
#: after ``user_id`` (short strings); read only to step over them.
_DELIVERY_MODE, _PRIORITY = 0x1000, 0x0800
_CONTENT_ENCODING = 0x4000
_MESSAGE_ID, _TIMESTAMP = 0x0080, 0x0040
_AFTER_USER_ID = (0x0008, 0x0004)  # app_id, cluster_id


@dataclass(frozen=True, slots=True)
class FastDelivery:
    """A whole ``basic.deliver`` with the properties leveret reads; ``headers`` still encoded
    (an AMQP field table, for pika's decoder), or None when the message has none. A short
    string that is not UTF-8 stays bytes, as pika leaves it. ``user_id`` is the publisher's
    broker login when it stamped one (the broker refuses any other value)."""

    delivery_tag: int
    redelivered: bool
    body: bytes
    content_type: str | bytes | None
    headers: bytes | None
    correlation_id: str | bytes | None
    reply_to: str | bytes | None
    type: str | bytes | None
    user_id: str | bytes | None = None


@dataclass(frozen=True, slots=True)
class Confirm:
    """A publisher confirm (``basic.ack`` from the broker)."""

    delivery_tag: int
    multiple: bool


def _short_at(buf: bytes, pos: int) -> tuple[str | bytes, int]:
    size = buf[pos]
    end = pos + 1 + size
    data = buf[pos + 1 : end]
    try:
        return data.decode(), end
    except UnicodeDecodeError:
        # Kept as it came: decoding with replacement characters would make a binary
        # correlation id come back as different (and longer) bytes in the reply.
        return data, end


def read_fast(buf: bytes, channel: int) -> tuple[int, FastDelivery | Confirm | None]:
    """Read a delivery or a confirm on ``channel`` at the start of ``buf``.

    Returns the bytes it used and what it read, or ``(0, None)`` when the buffer does not
    start with a complete one (pika then reads the next frame its own way).
    """
    if len(buf) < 11:
        return 0, None
    kind, chan, size, class_id, method_id = _METHOD_HEAD.unpack_from(buf, 0)
    if kind != _METHOD or chan != channel or class_id != _BASIC:
        return 0, None
    end = 7 + size
    if len(buf) <= end or buf[end] != 0xCE:
        return 0, None
    if method_id == _ACK:
        tag, bits = _ACK_BODY.unpack_from(buf, 11)
        return end + 1, Confirm(tag, bool(bits & 1))
    if method_id != _DELIVER:
        return 0, None
    pos = 11 + 1 + buf[11]  # consumer tag
    tag = _U64.unpack_from(buf, pos)[0]
    redelivered = bool(buf[pos + 8] & 1)
    return _read_content(buf, end + 1, channel, tag, redelivered)


def _read_content(
    buf: bytes, pos: int, channel: int, tag: int, redelivered: bool
) -> tuple[int, FastDelivery | None]:
    """The content header and body frames of a delivery, from ``pos``."""
    if len(buf) < pos + 21:
        return 0, None
    kind, chan, size = _FRAME_HEAD.unpack_from(buf, pos)
    end = pos + 7 + size
    if kind != _HEADER or chan != channel or len(buf) <= end or buf[end] != 0xCE:
        return 0, None
    body_size = _U64.unpack_from(buf, pos + 11)[0]
    flags = _U16.unpack_from(buf, pos + 19)[0]
    if flags & 1:  # a second flags word: properties leveret does not know
        return 0, None
    p = pos + 21
    content_type = headers = correlation_id = reply_to = type_ = user_id = None
    if flags & _CONTENT_TYPE:
        content_type, p = _short_at(buf, p)
    if flags & _CONTENT_ENCODING:
        p += 1 + buf[p]
    if flags & _HEADERS:
        table_end = p + 4 + _U32.unpack_from(buf, p)[0]
        headers = buf[p:table_end]
        p = table_end
    if flags & _DELIVERY_MODE:
        p += 1
    if flags & _PRIORITY:
        p += 1
    if flags & _CORRELATION_ID:
        correlation_id, p = _short_at(buf, p)
    if flags & _REPLY_TO:
        reply_to, p = _short_at(buf, p)
    if flags & _EXPIRATION:
        p += 1 + buf[p]
    if flags & _MESSAGE_ID:
        p += 1 + buf[p]
    if flags & _TIMESTAMP:
        p += 8
    if flags & _TYPE:
        type_, p = _short_at(buf, p)
    if flags & _USER_ID:
        user_id, p = _short_at(buf, p)
    for flag in _AFTER_USER_ID:
        if flags & flag:
            p += 1 + buf[p]
    if p != end:  # the properties do not add up: let pika judge the frame
        return 0, None
    pos = end + 1
    parts: list[bytes] = []
    received = 0
    while received < body_size:
        if len(buf) < pos + 7:
            return 0, None
        kind, chan, size = _FRAME_HEAD.unpack_from(buf, pos)
        end = pos + 7 + size
        if kind != _BODY or chan != channel or len(buf) <= end or buf[end] != 0xCE:
            return 0, None
        parts.append(buf[pos + 7 : end])
        received += size
        pos = end + 1
    if received != body_size:
        return 0, None
    body = parts[0] if len(parts) == 1 else b"".join(parts)
    delivery = FastDelivery(
        tag, redelivered, body, content_type, headers, correlation_id, reply_to, type_, user_id
    )
    return pos, delivery
