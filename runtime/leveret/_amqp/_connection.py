"""Connection glue: pika connections that write a message in one go and read the hot path's
frames directly (:mod:`leveret._frames`), and the helpers every part of the transport shares to
open, abort and describe a connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import pika
import pika.credentials
import pika.data
import pika.exceptions
import pika.frame
import pika.spec
from pika.adapters.asyncio_connection import AsyncioConnection
from pika.adapters.utils.io_services_utils import _AsyncPlaintextTransport

from leveret._errors import (
    ConfigurationError,
    Unavailable,
)
from leveret._frames import Confirm, FastDelivery, FrameEncoder, read_fast
from leveret._tls import TLS
from leveret._url import redact

log = logging.getLogger("leveret.amqp")


class _CoalescingFrames:
    """Send the frames of one message (method, header, body) in one write, and let a caller
    hold several methods back to send them in one write too (``corked``).

    pika writes each frame separately: three ``send`` calls per publish, each waking the
    broker. Joining them is the largest single saving on the hot path (``bench/``); a worker
    also sends a reply and its ack together.
    """

    bytes_sent: int
    frames_sent: int
    _cork: list[bytes] | None = None

    def _output_marshaled_frames(self, marshaled_frames: Sequence[bytes]) -> None:
        data = marshaled_frames[0] if len(marshaled_frames) == 1 else b"".join(marshaled_frames)
        self.bytes_sent += len(data)
        self.frames_sent += len(marshaled_frames)
        if self._cork is not None:
            self._cork.append(data)
        else:
            self._emit(data)

    def _emit(self, data: bytes) -> None:
        # pika buffers every write and sends it when the next poll reports the socket
        # writable: two epoll_ctl calls and a poll cycle per message. When nothing is queued
        # ahead, send at once; whatever the socket does not take goes the buffered way.
        transport: Any = getattr(self, "_transport", None)
        if type(transport) is _AsyncPlaintextTransport and transport.get_write_buffer_size() == 0:
            try:
                sent = transport._sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # the buffered path meets the same error and reports the loss
            if sent == len(data):
                return
            data = data[sent:]
        self._adapter_emit_data(data)  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def corked(self) -> Iterator[None]:
        """Hold back what is sent inside the block, then send it in one write."""
        if self._cork is not None:  # already corked by an outer block
            yield
            return
        held: list[bytes] = []
        self._cork = held
        try:
            yield
        finally:
            self._cork = None
            if held:
                self._emit(b"".join(held))


class _FastReads:
    """Read the deliveries and confirms of a channel or two in one step each (``_frames``), and
    everything else frame by frame as pika does. The owner turns it on for its channels once
    they are set up (``fast_reads``): a worker's one channel, or a client's reply channel and
    its publishing channel (replies on the one, confirms on the other)."""

    _frame_buffer: bytes
    frames_received: int
    _fast_channels: frozenset[int] = frozenset()
    _on_fast: Callable[[FastDelivery | Confirm], None] | None = None

    def fast_reads(
        self, channel: int, on_fast: Callable[[FastDelivery | Confirm], None], *more: int
    ) -> None:
        self._fast_channels, self._on_fast = frozenset((channel, *more)), on_fast

    def _read_frame(self) -> tuple[int, Any]:
        try:
            read: tuple[int, Any] = pika.frame.decode_frame(self._frame_buffer)
        except pika.exceptions.InvalidFrameError:
            raise  # the stream itself is broken: pika drops the connection
        except Exception as exc:
            # pika decodes a content header's table as it reads the frame (a message too
            # large for the fast path, or on a channel without it); a value it cannot decode
            # (a timestamp out of datetime's range, say) would end the connection, and the
            # broker would hand the same message over again on the next one, for ever.
            return _header_without_table(self._frame_buffer, exc)
        return read

    def _on_data_available(self, data_in: bytes) -> None:
        # pika's own loop (Connection._on_data_available), with one step in front of it.
        self._frame_buffer += data_in
        while self._frame_buffer:
            on_fast = self._on_fast
            buf = self._frame_buffer
            # The frame's channel number is in bytes 1 and 2: a frame of another channel goes
            # straight to pika.
            channel = buf[1] << 8 | buf[2] if len(buf) > 2 else -1
            if on_fast is not None and channel in self._fast_channels:
                used, item = read_fast(buf, channel)
                if item is not None:
                    self._trim_frame_buffer(used)  # type: ignore[attr-defined]
                    self.frames_received += 1
                    on_fast(item)
                    continue
            consumed, frame_value = self._read_frame()
            if not frame_value:
                return
            self._trim_frame_buffer(consumed)  # type: ignore[attr-defined]
            self._process_frame(frame_value)  # type: ignore[attr-defined]


class _SelectConnection(_FastReads, _CoalescingFrames, pika.SelectConnection):  # type: ignore[misc]
    pass


class _AsyncioConnection(_FastReads, _CoalescingFrames, AsyncioConnection):  # type: ignore[misc]
    pass


def check_parameters(url: str) -> None:
    """Raise :class:`ConfigurationError` if pika refuses the address (a query option such as
    ``?heartbeat=abc``), or takes a value AMQP cannot carry (it fails only when connecting,
    every time); nothing connects."""
    parts = urlsplit(url)
    if parts.username and parts.password is None:
        # A user without a password is for EXTERNAL, which needs tls= (checked at connect).
        url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    params = _parameters(url, 10.0)
    for name, highest in (("heartbeat", 65535), ("channel_max", 65535), ("frame_max", 2**31 - 1)):
        value = getattr(params, name, None)
        if isinstance(value, int) and not 0 <= value <= highest:
            raise ConfigurationError(
                f"bad AMQP URL {redact(url)!r}: {name} must be at most {highest}, not {value}"
            )


def _parameters(url: str, connect_timeout: float, tls: TLS | None = None) -> pika.URLParameters:
    given = url
    parts = urlsplit(url)
    if parts.username and parts.password is None:
        # amqps://name@host: the name of an EXTERNAL login (see ExternalAs), which pika cannot
        # parse without a password; pika gets the address without it.
        if tls is None or not tls.client_certificate:
            raise ConfigurationError(
                f"AMQP URL {redact(url)!r} names a user without a password: give the password "
                "(amqp://user:password@host), or a client certificate (tls=TLS(cert_file=..., "
                "key_file=...)) to log in with EXTERNAL as that user"
            )
        given = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    try:
        params = pika.URLParameters(given)
    except Exception as exc:
        raise ConfigurationError(f"bad AMQP URL {redact(url)!r}: {exc}") from exc
    params.socket_timeout = connect_timeout
    params.blocked_connection_timeout = None
    if tls is not None:
        _use_tls(params, url, tls)
    return params


def _use_tls(params: pika.URLParameters, url: str, tls: TLS) -> None:
    """TLS for ``params``, whatever the URL's scheme (its port stays as given), and EXTERNAL
    when a client certificate is presented and the URL carries no password."""
    parts = urlsplit(url)
    if "ssl_options" in parts.query:
        raise ConfigurationError(
            f"AMQP URL {redact(url)!r}: give TLS settings either as ?ssl_options= or as tls=, "
            "not both"
        )
    # server_hostname None: pika checks the URL's host, for each address of a cluster.
    params.ssl_options = pika.SSLOptions(tls.ssl_context(), tls.server_hostname)
    if tls.client_certificate and parts.password is None:
        user = unquote(parts.username) if parts.username else None
        params.credentials = ExternalAs(user) if user else pika.credentials.ExternalCredentials()


class ExternalAs(pika.credentials.ExternalCredentials):  # type: ignore[misc]
    """An EXTERNAL login whose broker user the URL names (``amqps://name@host``, no password):
    the client cannot learn the name the broker takes from its certificate, so the URL states
    it, for the ``user_id`` of what the connection publishes. The broker checks it: a name that
    is not the certificate's is refused (406) on the first publish, never trusted."""

    def __init__(self, username: str) -> None:
        super().__init__()
        self.username = username


def _unavailable(url: str, exc: BaseException) -> Unavailable:
    cause = _root_cause(exc)
    if isinstance(cause, ConnectionRefusedError):
        # The most common failure, stated first and plainly rather than inside pika's repr.
        reason = "connection refused (is RabbitMQ running and listening on that port?)"
    elif isinstance(cause, ssl.SSLCertVerificationError):
        # "self-signed certificate in certificate chain", "Hostname mismatch, ...": what to
        # fix is the CA or the name, so say which setting holds each.
        reason = (
            f"TLS: certificate verify failed: {cause.verify_message or cause.reason} (the CA "
            "is TLS(ca_file=...), else the system's; the name checked is the URL's host, or "
            "TLS(server_hostname=...))"
        )
    elif isinstance(cause, ssl.SSLError):
        reason = f"TLS: {cause.reason or cause} (is that port the broker's TLS port?)"
    elif isinstance(cause, OSError) and cause.strerror:
        reason = cause.strerror
    else:
        reason = str(cause) or repr(cause) or type(exc).__name__
    return Unavailable(f"cannot reach RabbitMQ at {redact(url)}: {reason}")


def _root_cause(exc: BaseException) -> BaseException:
    """The socket or broker error inside pika's wrappers: a connection workflow keeps the error
    of each attempt in ``exceptions``, a phase error its cause in ``exception``, and other
    connection errors often carry the socket error as their only argument."""
    for _ in range(8):  # wrappers nest a few levels deep; never loop on a cyclic one
        attempts = getattr(exc, "exceptions", None)
        inner = getattr(exc, "exception", None)
        if isinstance(attempts, tuple) and attempts and isinstance(attempts[-1], BaseException):
            exc = attempts[-1]
        elif isinstance(inner, BaseException):
            exc = inner
        elif exc.args and isinstance(exc.args[0], BaseException):
            exc = exc.args[0]
        else:
            break
    return exc


def _timed_out(url: str) -> Unavailable:
    return Unavailable(f"cannot reach RabbitMQ at {redact(url)}: timed out")


def _text(value: str | bytes | None) -> str | None:
    """A short-string property as text: pika and the fast reader give bytes for one that is
    not UTF-8. Only for properties read as names (``type``, ``content_type``); the ids a reply
    must carry back stay as they came."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _encoder(conn: Any, ch: Any) -> FrameEncoder:
    """leveret's frame encoder for a channel, sized to the frame_max the broker agreed."""
    return FrameEncoder(ch.channel_number, conn.params.frame_max)


class UndecodableHeaders(dict[str, Any]):
    """The headers of a message whose header table pika cannot decode: empty, with the reason.

    Whoever reads the message refuses it (the worker answers ``INVALID_ARGUMENT``, a client
    fails the one call); the connection carries on.
    """

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def _undecodable(exc: BaseException) -> UndecodableHeaders:
    return UndecodableHeaders(f"cannot decode the headers table: {type(exc).__name__}: {exc}")


def _headers(encoded: bytes | None) -> dict[str, Any]:
    """A delivery's headers table, read by pika's table decoder; :class:`UndecodableHeaders`
    when it cannot be read."""
    if encoded is None:
        return {}
    try:
        table: dict[str, Any] = pika.data.decode_table(encoded, 0)[0]
    except Exception as exc:  # anything: datetime's OverflowError, RecursionError, ...
        return _undecodable(exc)
    return table


#: Basic property flags before and at the headers table.
_CONTENT_TYPE, _CONTENT_ENCODING, _HEADERS = 0x8000, 0x4000, 0x2000


def _header_without_table(buf: bytes, exc: Exception) -> tuple[int, pika.frame.Header]:
    """The content header frame at the start of ``buf``, whose headers table pika failed to
    decode (``exc``): its other properties, and :class:`UndecodableHeaders`. Re-raises
    ``exc`` if the frame is not such a header."""
    try:
        kind, channel, size = struct.unpack_from(">BHI", buf, 0)
        end = 7 + size
        if kind != pika.spec.FRAME_HEADER or len(buf) <= end:
            raise exc
        payload = buf[7:end]
        _class_id, _weight, body_size, flags = struct.unpack_from(">HHQH", payload, 0)
        if flags & 1 or not flags & _HEADERS:  # the table is the only part that can fail
            raise exc
        pos = 14
        for flag in (_CONTENT_TYPE, _CONTENT_ENCODING):
            if flags & flag:
                pos += 1 + payload[pos]
        table_end = pos + 4 + struct.unpack_from(">I", payload, pos)[0]
        rest = struct.pack(">H", flags & ~_HEADERS) + payload[14:pos] + payload[table_end:]
        properties = pika.spec.BasicProperties().decode(rest)
    except Exception:
        raise exc from None
    properties.headers = _undecodable(exc)
    return end + 1, pika.frame.Header(channel, body_size, properties)


def _abort(conn: Any) -> None:
    """Close a connection, or end an attempt that is still opening by dropping its socket."""
    if conn.is_closed or conn.is_closing:
        return
    with contextlib.suppress(pika.exceptions.AMQPError, OSError):  # gone either way
        transport = getattr(conn, "_transport", None)
        if not conn.is_open and transport is not None:
            # During the AMQP handshake, pika 1.4's close() ends in an AssertionError raised
            # from its I/O loop (the workflow reports the class AMQPConnectionWorkflowAborted,
            # not an instance), and so does abort() (no error to report). A transport that
            # fails with an error ends the attempt as an ordinary failed one.
            transport._initiate_abort(ConnectionAbortedError("the attempt was given up"))
            return
        conn.close()


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


async def _rpc(start: Callable[[Callable[[Any], None]], None]) -> Any:
    """Await a pika callback-style operation: ``start(callback)``."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    start(lambda value: _resolve(done, value))
    return await done


async def _open_connection(url: str, connect_timeout: float, tls: TLS | None = None) -> Any:
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[Any] = loop.create_future()

    def on_open(conn: Any) -> None:
        if not opened.done():
            opened.set_result(conn)

    def on_error(_conn: Any, exc: BaseException) -> None:
        if not opened.done():
            opened.set_exception(_unavailable(url, exc))

    conn = _AsyncioConnection(
        _parameters(url, connect_timeout, tls),
        on_open_callback=on_open,
        on_open_error_callback=on_error,
        on_close_callback=lambda conn, exc: on_error(conn, exc),
        custom_ioloop=loop,
    )
    try:
        return await asyncio.wait_for(opened, connect_timeout)
    except BaseException as exc:
        # Timed out or cancelled half-way: abort the attempt, or its socket (and, should the
        # broker answer later, a whole connection) would stay open unused.
        _abort(conn)
        if isinstance(exc, TimeoutError):
            raise _timed_out(url) from None
        raise


#: An AMQP heartbeat frame: type 8, channel 0, no payload, frame end.
_HEARTBEAT_FRAME = b"\x08\x00\x00\x00\x00\x00\x00\xce"
