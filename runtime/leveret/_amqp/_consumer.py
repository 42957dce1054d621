"""The worker's connection: consume one queue with prefetch, reply, then ack."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import pika
import pika.data
import pika.exceptions
import pika.spec
from pika.adapters.utils.io_services_utils import _AsyncPlaintextTransport

from leveret._amqp._calls import login_user
from leveret._amqp._connection import (
    _HEARTBEAT_FRAME,
    UndecodableHeaders,
    _abort,
    _AsyncioConnection,
    _encoder,
    _headers,
    _parameters,
    _resolve,
    _root_cause,
    _text,
    _timed_out,
    _unavailable,
)
from leveret._backoff import Backoff
from leveret._errors import (
    ConfigurationError,
    Unavailable,
)
from leveret._frames import Confirm, FastDelivery, FrameEncoder
from leveret._tls import TLS
from leveret._url import redact, split_urls
from leveret._wire import (
    CONTENT_TYPE,
    HEADER_FINGERPRINT,
    HEADER_STATUS,
    Delivery,
    OutgoingReply,
)

log = logging.getLogger("leveret.amqp")

#: A worker's delivery handler: the delivery and an opaque token to settle it with.
OnDelivery = Callable[[Delivery, int], None]


class AsyncioConsumer:
    """A worker's connection: consume one queue, reply, then ack (or reject without requeue).

    It outlives its connections. When the connection drops (broker restart, network cut,
    channel error) it reconnects by itself: it tries each broker address of the URL in order,
    then backs off (exponential, with jitter) before the next round, and consumes again on the
    new channel. Only an error that a reconnect cannot fix (the queue exists with other
    arguments) ends serving, through :attr:`closed`.

    A token names one delivery on one channel: the channel's generation in the high bits, the
    delivery tag in the low 64. A delivery of a channel that is gone cannot be acked (the broker
    has requeued it already, and a delivery tag means something else on the next channel), so
    settling it publishes the reply only, on the current channel, for a caller that may still be
    waiting.

    Used on one event loop only.
    """

    def __init__(
        self,
        url: str,
        queue: str,
        *,
        prefetch: int,
        queue_arguments: dict[str, Any],
        backoff: Backoff | None = None,
        connect_timeout: float = 10.0,
        tls: TLS | None = None,
        refused_login_timeout: float | None = None,
    ):
        self._url = url
        self._urls = split_urls(url) or [url]
        self._queue = queue
        self._prefetch = prefetch
        self._queue_arguments = queue_arguments
        self._backoff = backoff or Backoff()
        self._connect_timeout = connect_timeout
        self._tls = tls
        self._conn: Any = None
        self._ch: Any = None
        self._gen = 0  # generation of the current channel: the high bits of its tokens
        self._consumer_tag: str | None = None
        self._on_delivery: OnDelivery | None = None
        self._stopping = False
        self._reconnecting: asyncio.Task[None] | None = None
        self._down: asyncio.Future[None] | None = None  # resolves when the connection is lost
        self.closed: asyncio.Future[BaseException | None] | None = None
        #: Connections opened so far (1 + the reconnects), the address of the current one, and
        #: rounds over the addresses that failed while reconnecting.
        self.connects = 0
        self.address: str | None = None
        self.failed_rounds = 0
        self._beat_tail = b""
        self._frames = FrameEncoder(1, 4096)  # replaced by one sized for each new channel
        #: The broker user to stamp on replies instead of the login's user name (for an
        #: EXTERNAL login); see ``_calls.login_user``.
        self.login_user: str | None = None
        self._user_id: str | None = None  # stamped on replies: the current login's
        #: How long reconnects may keep meeting a refused login before serving ends (through
        #: :attr:`closed`); None: for ever.
        self.refused_login_timeout = refused_login_timeout
        #: The broker's words while it refuses the login on reconnect (None otherwise).
        self.login_refused: str | None = None
        self._refused_since: float | None = None

    @property
    def connected(self) -> bool:
        """Whether it consumes right now (not between a lost connection and a reconnect)."""
        ch = self._ch  # once: health checks read this from another thread
        return ch is not None and bool(ch.is_open)

    async def start(self, on_delivery: OnDelivery) -> None:
        """Connect and consume; raises ``Unavailable`` if no address answers."""
        self.closed = asyncio.get_running_loop().create_future()
        self._on_delivery = on_delivery
        await self._connect()

    async def _connect(self) -> None:
        """One round over the addresses, in order; raises the last failure if all fail."""
        failure: Unavailable | None = None
        for url in self._urls:
            try:
                await self._open(url)
            except Unavailable as exc:
                log.debug("cannot consume via %s: %s", redact(url), exc)
                failure = exc
                continue
            return
        assert failure is not None
        raise failure

    async def _open(self, url: str) -> None:
        loop = asyncio.get_running_loop()
        down: asyncio.Future[None] = loop.create_future()
        broken: asyncio.Future[BaseException] = loop.create_future()
        opened: asyncio.Future[Any] = loop.create_future()

        def on_open_error(_conn: Any, exc: BaseException) -> None:
            _resolve(broken, exc)

        def on_close(conn: Any, exc: BaseException) -> None:
            _resolve(broken, exc)
            _resolve(down, None)
            if conn is self._conn:
                self._connection_lost(exc)

        conn = _AsyncioConnection(
            _parameters(url, self._connect_timeout, self._tls),
            on_open_callback=lambda c: _resolve(opened, c),
            on_open_error_callback=on_open_error,
            on_close_callback=on_close,
            custom_ioloop=loop,
        )

        async def step(start: Callable[[Callable[[Any], None]], None]) -> Any:
            done: asyncio.Future[Any] = loop.create_future()
            start(lambda value: _resolve(done, value))
            await asyncio.wait(
                [done, broken], timeout=self._connect_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if done.done():
                return done.result()
            if not broken.done():
                raise _timed_out(url)
            exc = broken.result()
            if isinstance(exc, pika.exceptions.ChannelClosedByBroker) and exc.reply_code == 406:
                raise ConfigurationError(
                    f"queue {self._queue!r} exists with other arguments: {exc.reply_text}"
                )
            raise _unavailable(url, exc) from exc  # the cause tells a refused login

        try:
            await step(lambda cb: opened.add_done_callback(lambda f: cb(f.result())))
            ch = await step(lambda cb: conn.channel(on_open_callback=cb))
            ch.add_on_close_callback(lambda c, exc: _resolve(broken, exc))
            await step(
                lambda cb: ch.queue_declare(
                    self._queue, durable=True, arguments=self._queue_arguments or None, callback=cb
                )
            )
            await step(lambda cb: ch.basic_qos(prefetch_count=self._prefetch, callback=cb))
            # Deliveries may arrive (and their handlers finish) before basic.consume-ok resumes
            # this coroutine: settling must already know the new channel.
            gen = self._gen = self._gen + 1
            self._ch = ch
            self._frames = _encoder(conn, ch)
            self._user_id = login_user(conn.params.credentials, self.login_user)
            on_delivery = self._on_delivery
            assert on_delivery is not None

            # correlation_id and reply_to go to Delivery as they came (bytes when not UTF-8):
            # the reply must carry them back unchanged.
            def on_message(_ch: Any, method: Any, properties: Any, body: bytes) -> None:
                headers = properties.headers
                if headers is None:  # not ``or {}``: UndecodableHeaders is an empty dict
                    headers = {}
                on_delivery(
                    Delivery(
                        body=body,
                        method=_text(properties.type),
                        correlation_id=properties.correlation_id,
                        reply_to=properties.reply_to,
                        content_type=_text(properties.content_type),
                        headers=headers,
                        redelivered=bool(method.redelivered),
                        undecodable=headers.reason
                        if isinstance(headers, UndecodableHeaders)
                        else None,
                        user_id=properties.user_id,
                    ),
                    (gen << 64) | method.delivery_tag,
                )

            def on_fast(item: FastDelivery | Confirm) -> None:
                if isinstance(item, FastDelivery):  # the channel carries deliveries only
                    headers = _headers(item.headers)
                    on_delivery(
                        Delivery(
                            body=item.body,
                            method=_text(item.type),
                            correlation_id=item.correlation_id,
                            reply_to=item.reply_to,
                            content_type=_text(item.content_type),
                            headers=headers,
                            redelivered=item.redelivered,
                            undecodable=headers.reason
                            if isinstance(headers, UndecodableHeaders)
                            else None,
                            user_id=item.user_id,
                        ),
                        (gen << 64) | item.delivery_tag,
                    )

            conn.fast_reads(ch.channel_number, on_fast)
            frame = await step(lambda cb: ch.basic_consume(self._queue, on_message, callback=cb))
            if broken.done():  # lost between consume-ok and here
                raise _unavailable(url, broken.result())
        except (pika.exceptions.AMQPError, OSError) as exc:
            # pika raises at once when the connection or channel closed between two steps
            # (a broker going down during start_app, say): the same as losing it in a step.
            _abort(conn)
            raise _unavailable(url, exc) from exc
        except BaseException:
            _abort(conn)  # a timed-out attempt too: no socket stays open
            raise
        # From here on, losing this connection or channel means: reconnect.
        self._conn, self._down = conn, down
        self._consumer_tag = frame.method.consumer_tag
        self.connects += 1
        self.address = url
        ch.add_on_close_callback(self._channel_lost)
        ch.add_on_cancel_callback(self._cancelled_by_broker)

    # -- losing the connection -------------------------------------------------------------

    def _channel_lost(self, ch: Any, exc: BaseException) -> None:
        if ch is not self._ch or self._stopping:
            return
        log.warning("channel on %s closed: %s; reconnecting", redact(self.address or ""), exc)
        if self._conn is not None and self._conn.is_open:
            self._conn.close()  # its on_close starts the reconnect

    def _cancelled_by_broker(self, _frame: Any) -> None:
        # The queue was deleted (or its node went away): declare it again on a new connection.
        if self._stopping:
            return
        log.warning("the broker cancelled the consumer of %r; reconnecting", self._queue)
        if self._conn is not None and self._conn.is_open:
            self._conn.close()

    def _connection_lost(self, exc: BaseException) -> None:
        self._conn = self._ch = None
        self._consumer_tag = None
        if self._stopping:
            return
        log.warning(
            "lost the connection to %s (%s); reconnecting",
            redact(self.address or ""),
            _unavailable(self.address or "", exc),
        )
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                await self._connect()
            except ConfigurationError as exc:
                if self.closed is not None and not self.closed.done():
                    self.closed.set_result(exc)
                return
            except Exception as exc:
                delay = self._backoff.delay(attempt)
                attempt += 1
                self.failed_rounds += 1
                refusal = _refusal(exc)
                if refusal is not None:
                    if self._refused(refusal, delay):
                        return
                elif isinstance(exc, Unavailable):
                    self._refused_since = self.login_refused = None
                    log.warning("reconnect failed (%s); next attempt in %.2f s", exc, delay)
                else:
                    # A bug, or a pika error not foreseen: this task is all that brings the
                    # worker back, so it must not end; the next round may well succeed.
                    log.exception("reconnect failed unexpectedly; next attempt in %.2f s", delay)
                await asyncio.sleep(delay)
                continue
            if self.login_refused is not None:
                log.warning("the broker accepts the login again")
            self._refused_since = self.login_refused = None
            log.info(
                "reconnected to %s; consuming %r again", redact(self.address or ""), self._queue
            )
            return

    def _refused(self, refusal: str, delay: float) -> bool:
        """A reconnect met a refused login (password changed, user deleted, vhost permission
        revoked): that will not mend by itself, unlike an outage. Logged at ERROR once per
        distinct refusal, not per attempt (every few seconds, for as long as it lasts); True
        once it has lasted ``refused_login_timeout`` and serving ends."""
        now = time.monotonic()
        if self._refused_since is None:
            self._refused_since = now
        user = self._user_id or _user_of(self.address or self._url)
        if refusal != self.login_refused:
            self.login_refused = refusal
            log.error(
                "the broker refuses the login of user %r (%s): was its password changed, the "
                "user deleted or its permissions on the vhost revoked? Retrying with backoff "
                "(the worker is not ready meanwhile)%s; further refusals are logged at DEBUG",
                user,
                refusal,
                ""
                if self.refused_login_timeout is None
                else f"; it gives up after {self.refused_login_timeout:g} s",
            )
        else:
            log.debug("login still refused (%s); next attempt in %.2f s", refusal, delay)
        limit = self.refused_login_timeout
        if limit is None or now - self._refused_since < limit:
            return False
        error = Unavailable(
            f"the broker has refused the login of user {user!r} for {now - self._refused_since:.0f}"
            f" s ({refusal}): giving up (refused_login_timeout={limit:g}); fix the credentials "
            "or the user's permissions, and start the worker again"
        )
        log.error("%s", error)
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(error)
        return True

    # -- deliveries ------------------------------------------------------------------------

    def live(self, token: int) -> bool:
        """Whether the token's delivery is on the current, open channel (so it can be acked)."""
        return token >> 64 == self._gen and self._ch is not None and self._ch.is_open

    def settle(self, token: int, reply: OutgoingReply | None, *, ack: bool) -> None:
        """Publish the reply if there is one, then ack or reject (without requeue).

        A delivery of a lost channel is not acked (the broker redelivers it); its reply still
        goes out on the current channel, if there is one.
        """
        ch = self._ch
        if ch is None or not ch.is_open:
            return  # the broker redelivers what we could not ack
        frames = None
        if reply is not None:
            try:
                frames = self._frames.publish(
                    "",
                    reply.reply_to,
                    reply.body,
                    content_type=CONTENT_TYPE,
                    headers=(
                        {HEADER_STATUS: reply.status}
                        if reply.fingerprint is None
                        else {HEADER_STATUS: reply.status, HEADER_FINGERPRINT: reply.fingerprint}
                    ),
                    correlation_id=reply.correlation_id,
                    user_id=self._user_id,
                )
            except Exception:
                # Whatever goes wrong, the delivery must still be settled: unsettled, it
                # would hold its prefetch slot for the life of the connection.
                log.exception(
                    "could not encode the reply (reply_to=%r, cid=%r); rejecting the request",
                    reply.reply_to,
                    reply.correlation_id,
                )
                ack = False
        try:
            conn = ch.connection
            with conn.corked():  # the reply and its ack in one write
                if frames is not None:
                    conn._output_marshaled_frames((frames,))
                if token >> 64 != self._gen:
                    log.debug("not acking a delivery of a lost channel (the broker redelivers it)")
                elif ack:
                    conn._output_marshaled_frames((self._frames.ack(token & _TAG_MASK),))
                else:
                    ch.basic_reject(token & _TAG_MASK, requeue=False)
        except (pika.exceptions.AMQPError, OSError) as exc:
            log.warning("could not settle a delivery: %s", exc)

    def release(self, token: int, delivery: Delivery) -> None:
        """Hand a delivery that was never started back to the queue (nack with requeue)."""
        if not self.live(token):
            return  # requeued with its channel already
        try:
            self._ch.basic_nack(token & _TAG_MASK, requeue=True)
        except (pika.exceptions.AMQPError, OSError) as exc:
            log.warning("could not requeue a delivery: %s", exc)

    # -- heartbeats from another thread -----------------------------------------------------

    @property
    def heartbeat(self) -> float | None:
        """The heartbeat timeout negotiated with the broker, in seconds; None when off."""
        params = getattr(self._conn, "params", None)
        value = getattr(params, "heartbeat", None)
        return float(value) if isinstance(value, int) and value > 0 else None

    def beat(self) -> bool:
        """Write one heartbeat frame to the socket, from a thread other than the loop's.

        Only while the loop's thread runs an inline handler: it does not touch the connection
        then, and without this a handler longer than the heartbeat timeout would make the
        broker close the connection under it. A heartbeat is a whole frame, so it may go
        between any two frames, but only when nothing else waits to be written. Whatever the
        socket does not take waits in ``_beat_tail`` for :meth:`after_beats` on the loop.
        Returns whether a heartbeat went out (False over TLS, which this cannot write to).
        """
        transport: Any = getattr(self._conn, "_transport", None)
        if (
            type(transport) is not _AsyncPlaintextTransport
            or transport.get_write_buffer_size()
            or self._beat_tail
        ):
            return False
        try:
            sent: int = transport._sock.send(_HEARTBEAT_FRAME)
        except OSError:
            return False  # the loop meets the same error when it resumes
        self._beat_tail = _HEARTBEAT_FRAME[sent:]
        return sent > 0

    def after_beats(self) -> None:
        """On the loop's thread, once the handler is done: finish a heartbeat cut short."""
        tail, self._beat_tail = self._beat_tail, b""
        if tail and self._conn is not None:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                self._conn._adapter_emit_data(tail)

    # -- stopping --------------------------------------------------------------------------

    async def cancel(self, timeout: float = 5.0) -> None:
        """Stop consuming (``basic.cancel``) and stop reconnecting; returns once the broker
        confirms, so no delivery arrives after it."""
        self._stopping = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        ch, tag, down = self._ch, self._consumer_tag, self._down
        if ch is None or not ch.is_open or tag is None or down is None:
            return
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            ch.basic_cancel(tag, callback=lambda frame: _resolve(done, frame))
        except (pika.exceptions.AMQPError, OSError) as exc:
            log.warning("could not cancel the consumer: %s", exc)
            return
        await asyncio.wait([done, down], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)

    async def stop(self, timeout: float = 5.0) -> None:
        """Close the connection (unacked deliveries go back to the queue); at most ``timeout``."""
        self._stopping = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        conn, down = self._conn, self._down
        if conn is None or conn.is_closed or down is None:
            return
        if not conn.is_closing:
            try:
                conn.close()
            except (pika.exceptions.AMQPError, OSError):
                return
        await asyncio.wait([down], timeout=timeout)


#: The delivery tag's bits in a consumer token.
_TAG_MASK = (1 << 64) - 1

#: What the broker answers a login it refuses: ACCESS_REFUSED (wrong password, no such user)
#: and NOT_ALLOWED (no permission on the vhost).
_REFUSED_LOGIN_CODES = frozenset({403, 530})
_REFUSED_LOGIN_ERRORS = (
    pika.exceptions.AuthenticationError,
    pika.exceptions.ProbableAuthenticationError,
    pika.exceptions.ProbableAccessDeniedError,
)


def _refusal(exc: BaseException) -> str | None:
    """The broker's words when ``exc`` is a refused login, else None."""
    cause = exc.__cause__
    if cause is None:
        return None
    root = _root_cause(cause)
    if (
        isinstance(root, pika.exceptions.ConnectionClosedByBroker)
        and root.reply_code in _REFUSED_LOGIN_CODES
    ):
        return f"{root.reply_code} {root.reply_text}"
    # pika's verdict on a connection the broker closed during the handshake; it keeps the
    # broker's words as text only.
    if isinstance(root, _REFUSED_LOGIN_ERRORS):
        return str(root) or type(root).__name__
    return None


def _user_of(url: str) -> str:
    return unquote(urlsplit(url).username or "")
