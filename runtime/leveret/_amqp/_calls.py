"""The call table both clients share: connecting with failover and backoff, publishing a
request, and settling calls by correlation id from replies, confirms and returns."""

from __future__ import annotations

import logging
import re
import struct
import time
from collections.abc import Callable, Generator
from typing import Any

import pika
import pika.data
import pika.exceptions
import pika.spec

from leveret._amqp._connection import UndecodableHeaders, _encoder, _headers, _unavailable
from leveret._amqp._readiness import ConsumerCheck
from leveret._backoff import Backoff
from leveret._errors import (
    ORIGIN_LOCAL,
    ORIGIN_LOST,
    ORIGIN_NACK,
    ORIGIN_NO_CONSUMER,
    ORIGIN_NO_ROUTE,
    ORIGIN_REFUSED,
    ConfigurationError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    PermissionDenied,
    ResourceExhausted,
    RpcError,
    Unavailable,
    mark,
)
from leveret._frames import Confirm, FastDelivery, FrameEncoder
from leveret._url import redact, split_urls
from leveret._wire import (
    CONTENT_TYPE,
    DIRECT_REPLY_TO,
    HEADER_FINGERPRINT,
    HEADER_STATUS,
    MAX_TIMEOUT,
    Reply,
    Request,
    read_fingerprint,
)

log = logging.getLogger("leveret.amqp")
#: Dropped replies are the client's business: logged where its retries and calls are.
client_log = logging.getLogger("leveret.client")

#: Reply queue strategies: RabbitMQ direct reply-to, or an exclusive auto-delete queue.
REPLY_QUEUES = ("direct", "exclusive")


def _reply_of(correlation_id: str | None, headers: dict[str, Any] | None, body: bytes) -> Reply:
    status = (headers or {}).get(HEADER_STATUS)
    if isinstance(status, bytes):
        status = status.decode("ascii", "replace")
    return Reply(
        correlation_id or "",
        status if isinstance(status, str) else "UNKNOWN",
        body,
        read_fingerprint(headers) if headers and HEADER_FINGERPRINT in headers else None,
    )


def login_user(credentials: object, override: str | None = None) -> str | None:
    """The broker user a connection logs in as, for the ``user_id`` of what it publishes:
    ``override`` when given (an EXTERNAL login, whose name the broker takes from the
    certificate), else the user name of a PLAIN login; None when unknown (EXTERNAL without an
    override) or when AMQP cannot carry it (over 255 bytes): then nothing is stamped, since a
    wrong ``user_id`` makes the broker close the channel (406)."""
    user = override
    if user is None:
        # PLAIN's user name, or the one the URL gave an EXTERNAL login (_connection.ExternalAs).
        user = getattr(credentials, "username", None)
    if not isinstance(user, str) or not user:
        return None
    try:
        if len(user.encode()) > 255:
            raise ValueError
    except (UnicodeError, ValueError):
        log.warning("the login %r cannot be an AMQP user_id: requests carry none", user[:40])
        return None
    return user


#: Distinct reply sources a client remembers having logged (a bound: each is a broker user).
_MAX_FOREIGN_SOURCES = 1024


def _not_sent(message: str, origin: str) -> Unavailable:
    error = Unavailable(message)
    mark(error, origin)
    return error


def _no_route(method: Any, properties: Any) -> Unavailable:
    return _not_sent(
        f"no queue {method.routing_key!r} to take {properties.type!r}: "
        f"is the service running? (broker: {method.reply_text})",
        ORIGIN_NO_ROUTE,
    )


def _not_checked(request: Request, count: int | None, error: RpcError | None) -> RpcError | None:
    """Why a request must not be sent after its queue's consumer check, or None: send it."""
    if error is not None:
        return _not_sent(f"{error.message} (before the call was sent)", ORIGIN_LOCAL)
    if count is None:
        return _not_sent(
            f"no queue {request.queue!r} to take {request.method!r}: is the service running? "
            "(broker: NOT_FOUND)",
            ORIGIN_NO_ROUTE,
        )
    if count == 0:
        return _not_sent(
            f"no worker is consuming queue {request.queue!r} to take {request.method!r}: is "
            "the service running? (pass wait_for_ready=True to let calls wait for a worker)",
            ORIGIN_NO_CONSUMER,
        )
    return None


def _sendable_name(queue: object) -> bool:
    """Whether AMQP can carry ``queue`` as a name; one it cannot is refused when the request is
    encoded (``InvalidArgument``), before any check could trip over it."""
    try:
        return isinstance(queue, str) and len(queue.encode()) <= 255
    except UnicodeError:
        return False


def _lost(url: str, exc: BaseException) -> Unavailable:
    error = _unavailable(url, exc)
    error.message = f"connection lost with the call in flight: {error.message}"
    error.args = (error.message,)
    mark(error, ORIGIN_LOST)
    return error


def _setup_failed(url: str, exc: BaseException) -> RpcError:
    """Why a connection closed while the client set it up: a permission the login lacks
    (the broker refused a step with 403: ``PermissionDenied``, not worth retrying as is), or
    ``Unavailable``."""
    if not (
        isinstance(exc, pika.exceptions.ChannelClosedByBroker | pika.exceptions.ConnectionClosed)
        and getattr(exc, "reply_code", None) == 403
    ):
        return _unavailable(url, exc)
    text = str(exc.reply_text)
    if "amq.default" in text:
        # The reply address probe (_reply_address) is the first publish on the default
        # exchange, at connect(): what any request would need.
        why = (
            "the login lacks write permission on the default exchange `amq.default`, which "
            "every client needs to send requests"
        )
    else:
        why = "the login lacks a permission the client needs (docs/security.md, Threat model)"
    return PermissionDenied(
        f"RabbitMQ at {redact(url)} refused to set up the client: {why} (broker: 403 {text})"
    )


class _Calls:
    """What both clients share: connecting with failover and backoff, and settling calls.

    Two channels per connection: one consumes the replies (``_ch``), the other publishes the
    requests (``_pub``, with confirms and mandatory returns). The broker closes the channel a
    request it refuses was published on (406 on a body over its ``max_message_size``): on the
    publishing channel, that fails the refused request and leaves the replies of every other
    call coming (``_publisher_closed``); the channel is opened again at once.

    Calls are settled by correlation id. Publisher confirms are tracked by delivery tag; a nack
    fails the call with ``Unavailable`` (the request never reached a queue), and so does a
    mandatory return (no queue by that name). Unless a request may wait for a worker
    (``wait_for_ready``), its queue is checked for a consumer first (``_readiness``). When
    the connection is lost, calls in flight
    fail at once; the next call reconnects, trying each broker address in turn, no sooner than
    the backoff allows after a failed attempt (so that callers do not storm a broker that is
    coming back).

    Identity (docs/security.md): every request carries the ``user_id`` of the connection's
    login (:func:`login_user`; ``login_user`` overrides it, for an EXTERNAL login). With a
    ``server_user``, a reply whose ``user_id`` is anything else is dropped and counted in
    ``foreign_replies`` (logged once per source): it never settles a call.
    """

    #: The broker user to stamp on requests instead of the login's user name (None: the
    #: user name of a PLAIN login; an EXTERNAL login without it stamps nothing).
    login_user: str | None = None
    #: The broker user replies must come from; None accepts replies from anyone.
    server_user: str | None = None

    def __init__(self, url: str, reply_queue: str, connect_timeout: float) -> None:
        if reply_queue not in REPLY_QUEUES:
            raise ConfigurationError(f"reply_queue must be one of {REPLY_QUEUES}")
        if (
            isinstance(connect_timeout, bool)
            or not isinstance(connect_timeout, int | float)
            or not 0 < connect_timeout <= MAX_TIMEOUT  # false for nan too
        ):
            raise ConfigurationError(
                f"connect_timeout must be positive seconds, at most {MAX_TIMEOUT}; "
                f"not {connect_timeout!r}"
            )
        self._urls = split_urls(url)
        if not self._urls:
            raise ConfigurationError("no broker address given")
        self._url = self._urls[0]  # the address in use, for messages
        self._reply_queue = reply_queue
        self._connect_timeout = connect_timeout
        #: The requests published on ``_pub`` not confirmed yet, by delivery tag (ascending).
        self._tags: dict[int, Request] = {}
        self._tag = 0
        self._conn: Any = None
        self._ch: Any = None  # the reply channel
        self._pub: Any = None  # the publishing channel
        self._pub_ready = False  # False while it is being opened again after a refusal
        #: The broker's max_message_size, once a refusal told it (for this connection).
        self._broker_max: int | None = None
        self._frames = FrameEncoder(1, 4096)  # replaced by one sized for each new channel
        self._header_max = 4096 - 8  # the largest content header payload the connection takes
        self._reply_to = DIRECT_REPLY_TO
        self._lost: RpcError | None = None  # why the connection is gone; None while it is up
        self._closed = False
        self._blocked = False  # broker flow control (connection.blocked)
        self._ready = False  # the channel is set up: publishing may start
        self._failures = 0
        self._connected = False  # once connected, a connection that comes up is a reconnect
        self._next_attempt = 0.0
        self._backoff = Backoff(initial=0.1, multiplier=2.0, maximum=5.0, jitter=0.2)
        self._consumers = ConsumerCheck()
        self._user_id: str | None = None  # of the current connection's login
        #: Replies dropped because they did not come from ``server_user``.
        self.foreign_replies = 0
        self._foreign_sources: set[str | bytes | None] = set()

    def _needs_check(self, request: Request) -> bool:
        """Whether the request's queue must be checked for a worker before it is sent.

        A served queue whose answer is getting old is checked again in the background, while
        the request goes out at once. Called by whoever drives the connection's I/O.
        """
        if request.wait_for_ready:
            return False
        queue = request.queue
        if self._consumers.served(queue):
            if self._consumers.due(queue):
                self._consumers.check(self._conn, queue)
            return False
        return _sendable_name(queue)

    def _settle(self, cid: str, reply: Reply | None, error: RpcError | None) -> None:
        raise NotImplementedError

    def _on_lost(self, error: RpcError) -> None:
        raise NotImplementedError

    def _on_unblocked_flush(self) -> None:
        """Publish what waited for the broker to lift flow control."""

    def _check_gate(self) -> None:
        wait = self._next_attempt - time.monotonic()
        if wait > 0:
            raise _not_sent(
                f"not connected to RabbitMQ at {redact(self._url)} "
                f"({self._lost.message if self._lost else 'not connected'}); "
                f"next attempt in {wait:.2f} s",
                ORIGIN_LOCAL,
            )

    def _attempt_failed(self) -> None:
        self._next_attempt = time.monotonic() + self._backoff.delay(self._failures)
        self._failures += 1

    def _set_up(self) -> None:
        """Raise if the connection was lost while its last setup step completed: installed as
        ready, it would take calls it can never send."""
        if self._lost is not None:
            raise self._lost
        if not (
            self._conn.is_open
            and self._ch is not None
            and self._ch.is_open
            and self._pub is not None
            and self._pub.is_open
        ):
            raise pika.exceptions.ConnectionWrongStateError("closed while being set up")

    def _attempt_succeeded(self, url: str) -> None:
        if self._connected:
            log.info("client reconnected to %s", redact(url))
        self._connected = True
        self._url = url
        self._failures = 0
        self._next_attempt = 0.0
        self._blocked = False
        self._ready = True
        self._pub_ready = True

    def _setup(self) -> Generator[Callable[[Callable[[Any], None]], None], Any]:
        """The steps to open a client's channels; each yields a pika call that takes a callback.

        The reply channel consumes the replies; the publishing channel sends the requests,
        with confirms and mandatory returns. Apart, a request the broker refuses (it closes
        the channel it came on) costs no reply of another call.
        """
        self._conn.add_on_connection_blocked_callback(self._on_blocked)
        self._conn.add_on_connection_unblocked_callback(self._on_unblocked)
        self._pub_ready = False
        self._broker_max = None  # a new connection, perhaps to another node: not known yet
        self._ch = yield lambda cb: self._conn.channel(on_open_callback=cb)
        # frame_max is the value both sides agreed on (pika stores it at Connection.Tune).
        self._header_max = self._conn.params.frame_max - 8
        self._user_id = login_user(self._conn.params.credentials, self.login_user)
        self._ch.add_on_close_callback(self._on_closed)
        if self._reply_queue == "exclusive":
            frame = yield lambda cb: self._ch.queue_declare(
                "", exclusive=True, auto_delete=True, callback=cb
            )
            self._reply_to = frame.method.queue
        else:
            self._reply_to = DIRECT_REPLY_TO
        yield lambda cb: self._ch.basic_consume(
            self._reply_to, self._on_reply, auto_ack=True, callback=cb
        )
        if self._reply_queue != "exclusive":
            self._reply_to = yield self._reply_address
        self._pub = yield lambda cb: self._conn.channel(on_open_callback=cb)
        self._pub.add_on_close_callback(self._on_closed)
        yield from self._publisher_steps(self._pub)

    def _reply_address(self, cb: Callable[[Any], None]) -> None:
        """Learn the reply channel's own direct reply-to address, for requests that another
        channel publishes: the broker reveals it only by rewriting ``amq.rabbitmq.reply-to``
        on a message published on the consuming channel. A probe to the default exchange with
        an empty routing key reaches no queue and comes back (mandatory) with the rewritten
        address: one round trip per connection, nothing declared."""
        done = False

        def on_return(_ch: Any, _method: Any, properties: Any, _body: bytes) -> None:
            nonlocal done
            if done:
                return
            done = True
            name = properties.reply_to
            if not (isinstance(name, str) and name.startswith(DIRECT_REPLY_TO + ".")):
                # A broker that does not rewrite it (or answers otherwise): the requests
                # could not be answered; fail the setup rather than every call.
                self._on_lost(
                    _unavailable(
                        self._url,
                        RuntimeError(f"the broker gave no direct reply-to address ({name!r})"),
                    )
                )
                return
            cb(name)

        self._ch.add_on_return_callback(on_return)
        self._ch.basic_publish(
            "",
            "",
            b"",
            pika.BasicProperties(reply_to=DIRECT_REPLY_TO),
            mandatory=True,
        )

    def _publisher_steps(self, ch: Any) -> Generator[Callable[[Callable[[Any], None]], None], Any]:
        """Set up a publishing channel, just opened: confirms, returns, frames, fast reads."""
        # The broker numbers the confirms of every new channel from 1.
        self._tags = {}
        self._tag = 0
        yield lambda cb: ch.confirm_delivery(self._on_confirm, callback=cb)
        ch.add_on_return_callback(self._on_return)
        self._frames = _encoder(self._conn, ch)
        # Both channels carry nothing but replies and confirms from now on: read them the
        # fast way.
        self._conn.fast_reads(self._ch.channel_number, self._on_fast, ch.channel_number)

    def _publish(self, request: Request) -> None:
        """Send ``request``; raises ``InvalidArgument`` (nothing sent) if it cannot be encoded,
        ``ResourceExhausted`` if its body is over the broker's known limit."""
        if self._broker_max is not None and len(request.body) > self._broker_max:
            # The broker said what it takes (a refusal earlier on this connection): sending
            # this one would only make it close the publishing channel again.
            too_large = ResourceExhausted(
                f"{request.method[:60]!r}: the request is {len(request.body)} bytes, more than "
                f"the broker's max_message_size ({self._broker_max} bytes); nothing was sent"
            )
            raise mark(too_large, ORIGIN_LOCAL)
        try:
            frames = self._frames.publish(
                "",
                request.queue,
                request.body,
                mandatory=True,
                content_type=CONTENT_TYPE,
                headers=request.headers(),
                correlation_id=request.correlation_id,
                reply_to=self._reply_to,
                expiration=request.expiration_ms(time.time()),
                type=request.method,
                user_id=self._user_id,
            )
        except (ValueError, OverflowError, struct.error, TypeError, AttributeError) as exc:
            # e.g. a queue or method name over 255 bytes of UTF-8. Only a request that goes
            # out takes a confirm tag: the broker numbers what it receives, and one tag too
            # many would make every later ack or nack settle the wrong call.
            error = InvalidArgument(f"{request.method[:60]!r}: the request cannot be sent: {exc}")
            raise mark(error, ORIGIN_LOCAL) from None
        header = _header_size(frames)
        if header > self._header_max:
            # The content header (properties, the headers table among them) must fit in one
            # frame: a larger one makes the broker close the whole connection (501
            # FRAME_ERROR), failing every call on it. leveret's own headers are bounded far
            # below the default frame_max (docs/security.md, "Size limits"), but a broker may
            # agree to a frame_max as small as 4096. INVALID_ARGUMENT, like any request that
            # cannot be encoded (the sync transport fails only its own caller with those).
            error = InvalidArgument(
                f"{request.method[:60]!r}: the request's properties and headers (metadata, "
                f"trace context) are {header} bytes, more than fit in one frame of this "
                f"connection (frame_max {self._header_max + 8}); nothing was sent"
            )
            raise mark(error, ORIGIN_LOCAL)
        self._tag += 1
        self._tags[self._tag] = request
        try:
            conn, ch = self._conn, self._pub
            if not ch.is_open or not conn.is_open:
                raise pika.exceptions.ChannelWrongStateError("the channel is closed")
            conn._output_marshaled_frames((frames,))
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._on_lost(_lost(self._url, exc))

    def _on_reply(self, _ch: Any, _method: Any, properties: Any, body: bytes) -> None:
        if self.server_user is not None and properties.user_id != self.server_user:
            self._foreign(properties.user_id, properties.correlation_id)
            return
        self._reply(properties.correlation_id, properties.headers, body)

    def _on_fast(self, item: FastDelivery | Confirm) -> None:
        if isinstance(item, Confirm):
            self._confirmed(item.delivery_tag, item.multiple, nack=False)
            return
        if self.server_user is not None and item.user_id != self.server_user:
            self._foreign(item.user_id, item.correlation_id)
            return
        self._reply(item.correlation_id, _headers(item.headers), item.body)

    def _foreign(self, user_id: str | bytes | None, cid: object) -> None:
        """Drop a reply that did not come from ``server_user``: forged (anyone who reads a
        request learns its reply address) or misrouted. The genuine reply, if it comes,
        still settles the call."""
        self.foreign_replies += 1
        sources = self._foreign_sources
        if user_id in sources or len(sources) >= _MAX_FOREIGN_SOURCES:
            return
        sources.add(user_id)
        client_log.warning(
            "dropped a reply from %s (correlation id %r): replies must come from the "
            "server_user %r; further replies from that source are dropped without a log line "
            "(counted in foreign_replies)",
            "a publisher that set no user_id" if user_id is None else f"broker user {user_id!r}",
            cid,
            self.server_user,
        )

    def _reply(self, cid: str | bytes | None, headers: dict[str, Any] | None, body: bytes) -> None:
        if not isinstance(cid, str):
            return  # not one of ours (they are hex): a stray or mangled reply
        if isinstance(headers, UndecodableHeaders):
            # Fails this call only: the connection and every other call carry on.
            self._settle(cid, None, Internal(f"undecodable reply: {headers.reason}"))
            return
        self._settle(cid, _reply_of(cid, headers, body), None)

    def _on_return(self, _ch: Any, method: Any, properties: Any, _body: bytes) -> None:
        self._settle(properties.correlation_id, None, _no_route(method, properties))

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        nack = isinstance(method, pika.spec.Basic.Nack)
        self._confirmed(method.delivery_tag, method.multiple, nack=nack)

    def _confirmed(self, delivery_tag: int, multiple: bool, *, nack: bool) -> None:
        tags = [t for t in self._tags if t <= delivery_tag] if multiple else [delivery_tag]
        for tag in tags:
            request = self._tags.pop(tag, None)
            if nack and request is not None:
                self._settle(
                    request.correlation_id,
                    None,
                    _not_sent("the broker refused the request (publisher nack)", ORIGIN_NACK),
                )

    def _on_blocked(self, _conn: Any, _frame: Any) -> None:
        log.warning("RabbitMQ blocked publishing (flow control); calls wait")
        self._blocked = True

    def _on_unblocked(self, _conn: Any, _frame: Any) -> None:
        log.info("RabbitMQ lifted flow control")
        self._blocked = False
        self._on_unblocked_flush()

    def _on_closed(self, source: Any, exc: BaseException) -> None:
        # A connection being torn down after a reconnect reports its close too: ignore it.
        if self._closed or source is None:
            return
        if source is self._pub:
            if (
                self._ready
                and self._pub_ready  # not a refusal of the channel's own setup: no loop
                and isinstance(exc, pika.exceptions.ChannelClosedByBroker)
                and exc.reply_code in _SOFT_ERRORS
            ):
                self._publisher_closed(exc.reply_code, str(exc.reply_text))
                return
        elif source not in (self._conn, self._ch):
            return
        if not self._ready:
            # Closed while being set up (connect(), or a reconnect): no call is in flight yet.
            self._on_lost(_setup_failed(self._url, exc))
            return
        # The connection, the reply channel (the replies of every call in flight go with it),
        # or the publishing channel closed other than by a refusal (the connection going).
        self._on_lost(_lost(self._url, exc))

    def _publisher_closed(self, code: int, text: str) -> None:
        """The broker closed the publishing channel over a request it refused (a soft error).

        It handles a channel's publishes in order: it took those before the refused one (they
        are on their way to their queues: their calls wait for their replies, which come on
        the reply channel, untouched), refused that one, and dropped every one after it
        unread. A size refusal says which one it was (the first unconfirmed of that body
        size) and the broker's limit: that call fails, the dropped ones are published again
        on a new channel (none reached a queue: no duplicate), except those over the limit
        too. Any other refusal (403 on writing to the exchange, 406 on the user_id) would
        refuse each of them again: every unconfirmed call fails, as the broker's words say
        ("this or another of N" when it cannot tell which). Calls already confirmed never
        fail here.
        """
        unconfirmed = list(self._tags.values())  # in delivery tag order
        self._tags = {}
        resend: list[Request] = []
        refused: int | None = None
        size_limit = _SIZE_REFUSAL.search(text)
        if size_limit is not None:
            size, limit = int(size_limit[1]), int(size_limit[2])
            self._broker_max = limit
            refused = next((i for i, r in enumerate(unconfirmed) if len(r.body) == size), None)
        if refused is None:
            for request in unconfirmed:
                self._settle(request.correlation_id, None, _refused(code, text, len(unconfirmed)))
        else:
            self._settle(unconfirmed[refused].correlation_id, None, _refused(code, text, 1))
            for request in unconfirmed[refused + 1 :]:
                if len(request.body) > limit:
                    self._settle(request.correlation_id, None, _over_broker(request, limit))
                else:
                    resend.append(request)
        log.info(
            "RabbitMQ closed the client's publishing channel (%s %s): %d unconfirmed, %d "
            "published again",
            code,
            text,
            len(unconfirmed),
            len(resend),
        )
        self._pub_ready = False
        self._resend_later(resend)
        try:
            ch = self._conn.channel(on_open_callback=self._on_publisher_open)
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._on_lost(_lost(self._url, exc))
            return
        self._pub = ch
        ch.add_on_close_callback(self._on_closed)

    def _reopen_wanted(self, ch: Any) -> bool:
        """Whether ``ch``, a publishing channel being opened again, is still the client's:
        not once the connection is lost or replaced, nor once the client is closed (its
        connection is gone: setting the channel up would fail inside pika's callback)."""
        return (
            ch is self._pub and self._lost is None and not self._closed and self._conn is not None
        )

    def _on_publisher_open(self, ch: Any) -> None:
        if not self._reopen_wanted(ch):
            return  # a channel of a connection since lost, replaced or closed
        steps = self._publisher_steps(ch)

        def step(result: Any) -> None:
            if not self._reopen_wanted(ch):
                return
            try:
                start = steps.send(result)
            except StopIteration:
                self._pub_ready = True
                self._publisher_reopened()
                return
            try:
                start(step)
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._on_lost(_lost(self._url, exc))

        step(None)

    def _resend_later(self, requests: list[Request]) -> None:
        """Keep ``requests`` (dropped by the broker, never in a queue) to publish again, first
        of all, once the publishing channel is open again."""
        raise NotImplementedError

    def _publisher_reopened(self) -> None:
        """The publishing channel is open again: publish what waited for it."""
        raise NotImplementedError


#: The broker's words for a body over its max_message_size (rabbit_channel:check_msg_size):
#: "configured" is left out when the limit is its hard maximum (512 MiB).
_SIZE_REFUSAL = re.compile(r"message size (\d+) is larger than (?:configured )?max size (\d+)")


def _over_broker(request: Request, limit: int) -> ResourceExhausted:
    error = ResourceExhausted(
        f"{request.method[:60]!r}: the request is {len(request.body)} bytes, more than the "
        f"broker's max_message_size ({limit} bytes), which refused another request published "
        "just before it; it was not sent"
    )
    mark(error, ORIGIN_REFUSED)
    error.never_sent = True
    return error


_FRAME_HEAD = struct.Struct(">BHI")  # type, channel, payload size


def _header_size(frames: bytes) -> int:
    """The payload size of the content header frame of ``basic.publish`` frames (the method
    frame comes first, then the content header)."""
    method_size = _FRAME_HEAD.unpack_from(frames, 0)[2]
    return int(_FRAME_HEAD.unpack_from(frames, 7 + method_size + 1)[2])


#: AMQP soft errors: the broker closes the channel (not the connection) over a method sent on it.
_SOFT_ERRORS = frozenset({311, 312, 313, 403, 404, 405, 406})


def _refused(code: int, text: str, candidates: int) -> RpcError:
    """The error of a call whose request the broker refused by closing the channel."""
    error_class: type[RpcError] = FailedPrecondition
    hint = ""
    if code == 311 or "message size" in text:
        error_class = ResourceExhausted
        hint = "; lower the client's max_message_size to the broker's"
    elif code == 403:
        error_class = PermissionDenied
    which = "the request" if candidates == 1 else f"this or another of {candidates} requests"
    error = error_class(f"the broker refused {which}: {code} {text}{hint}")
    mark(error, ORIGIN_REFUSED)
    error.never_sent = candidates == 1  # it certainly never reached a queue
    return error
