"""The AMQP transport: the only module that imports pika.

pika's exceptions stop here: each is mapped to a leveret exception (``raise ... from exc``).

Three parts share the wire format of :mod:`leveret._wire`:

- :class:`BlockingTransport`, the sync client. Whichever calling thread finds the connection idle
  drives its I/O (leader/follower): it publishes, then processes events until its own reply
  arrives, then hands the connection to a waiting thread. Other threads hand their publishes to
  the leader and wait. One call in flight costs no thread switch at all.
- :class:`AsyncioTransport`, the asyncio client, on pika's ``AsyncioConnection`` in the caller's
  event loop (no thread).
- :class:`AsyncioConsumer`, the worker's side: consume a service queue with prefetch, publish
  replies, then ack.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

import pika
import pika.data
import pika.exceptions
from pika.adapters.asyncio_connection import AsyncioConnection
from pika.adapters.select_connection import IOLoop
from pika.adapters.utils.io_services_utils import _AsyncPlaintextTransport

from leveret._backoff import Backoff
from leveret._errors import (
    ORIGIN_LOCAL,
    ORIGIN_LOST,
    ORIGIN_NACK,
    ORIGIN_NO_ROUTE,
    Cancelled,
    ConfigurationError,
    DeadlineExceeded,
    RpcError,
    Unavailable,
    mark,
)
from leveret._frames import Confirm, FastDelivery, FrameEncoder, read_fast
from leveret._url import redact, split_urls
from leveret._wire import (
    CONTENT_TYPE,
    DIRECT_REPLY_TO,
    HEADER_STATUS,
    Delivery,
    OutgoingReply,
    Reply,
    Request,
)

__all__ = [
    "AsyncioConsumer",
    "AsyncioTransport",
    "BlockingTransport",
    "OnDelivery",
]

log = logging.getLogger("leveret.amqp")

#: Reply queue strategies: RabbitMQ direct reply-to, or an exclusive auto-delete queue.
REPLY_QUEUES = ("direct", "exclusive")

#: A worker's delivery handler: the delivery and an opaque token to settle it with.
OnDelivery = Callable[[Delivery, int], None]


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
    """Read the deliveries and confirms of one channel in one step each (``_frames``), and
    everything else frame by frame as pika does. The owner turns it on for its channel once
    the channel is set up (``fast_reads``)."""

    _frame_buffer: bytes
    frames_received: int
    _fast_channel = 0
    _on_fast: Callable[[FastDelivery | Confirm], None] | None = None

    def fast_reads(self, channel: int, on_fast: Callable[[FastDelivery | Confirm], None]) -> None:
        self._fast_channel, self._on_fast = channel, on_fast

    def _on_data_available(self, data_in: bytes) -> None:
        # pika's own loop (Connection._on_data_available), with one step in front of it.
        self._frame_buffer += data_in
        while self._frame_buffer:
            on_fast = self._on_fast
            if on_fast is not None:
                used, item = read_fast(self._frame_buffer, self._fast_channel)
                if item is not None:
                    self._trim_frame_buffer(used)  # type: ignore[attr-defined]
                    self.frames_received += 1
                    on_fast(item)
                    continue
            consumed, frame_value = self._read_frame()  # type: ignore[attr-defined]
            if not frame_value:
                return
            self._trim_frame_buffer(consumed)  # type: ignore[attr-defined]
            self._process_frame(frame_value)  # type: ignore[attr-defined]


class _SelectConnection(_FastReads, _CoalescingFrames, pika.SelectConnection):  # type: ignore[misc]
    pass


class _AsyncioConnection(_FastReads, _CoalescingFrames, AsyncioConnection):  # type: ignore[misc]
    pass


def _parameters(url: str, connect_timeout: float) -> pika.URLParameters:
    try:
        params = pika.URLParameters(url)
    except Exception as exc:
        raise ConfigurationError(f"bad AMQP URL {redact(url)!r}: {exc}") from exc
    params.socket_timeout = connect_timeout
    params.blocked_connection_timeout = None
    return params


def _unavailable(url: str, exc: BaseException) -> Unavailable:
    # pika's connection errors often wrap the socket error as their only argument.
    cause = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    reason = str(cause) or repr(cause) or type(exc).__name__
    return Unavailable(f"cannot reach RabbitMQ at {redact(url)}: {reason}")


def _timed_out(url: str) -> Unavailable:
    return Unavailable(f"cannot reach RabbitMQ at {redact(url)}: timed out")


def _text(value: str | bytes | None) -> str | None:
    """A short-string property as text: pika gives bytes for one that is not UTF-8, and the
    fast reader decodes such bytes with replacement characters; both ways must agree."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _encoder(conn: Any, ch: Any) -> FrameEncoder:
    """leveret's frame encoder for a channel, sized to the frame_max the broker agreed."""
    return FrameEncoder(ch.channel_number, conn.params.frame_max)


def _headers(encoded: bytes | None) -> dict[str, Any]:
    """A delivery's headers table, read by pika's table decoder."""
    if encoded is None:
        return {}
    table: dict[str, Any] = pika.data.decode_table(encoded, 0)[0]
    return table


def _reply_of(correlation_id: str | None, headers: dict[str, Any] | None, body: bytes) -> Reply:
    status = (headers or {}).get(HEADER_STATUS)
    if isinstance(status, bytes):
        status = status.decode("ascii", "replace")
    return Reply(correlation_id or "", status if isinstance(status, str) else "UNKNOWN", body)


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


def _lost(url: str, exc: BaseException) -> Unavailable:
    error = _unavailable(url, exc)
    error.message = f"connection lost with the call in flight: {error.message}"
    error.args = (error.message,)
    mark(error, ORIGIN_LOST)
    return error


class _Calls:
    """What both clients share: connecting with failover and backoff, and settling calls.

    Calls are settled by correlation id. Publisher confirms are tracked by delivery tag; a nack
    fails the call with ``Unavailable`` (the request never reached a queue), and so does a
    mandatory return (no queue by that name). When the connection is lost, calls in flight
    fail at once; the next call reconnects, trying each broker address in turn, no sooner than
    the backoff allows after a failed attempt (so that callers do not storm a broker that is
    coming back).
    """

    def __init__(self, url: str, reply_queue: str, connect_timeout: float) -> None:
        if reply_queue not in REPLY_QUEUES:
            raise ConfigurationError(f"reply_queue must be one of {REPLY_QUEUES}")
        self._urls = split_urls(url)
        if not self._urls:
            raise ConfigurationError("no broker address given")
        self._url = self._urls[0]  # the address in use, for messages
        self._reply_queue = reply_queue
        self._connect_timeout = connect_timeout
        self._tags: dict[int, str] = {}
        self._tag = 0
        self._conn: Any = None
        self._ch: Any = None
        self._frames = FrameEncoder(1, 4096)  # replaced by one sized for each new channel
        self._reply_to = DIRECT_REPLY_TO
        self._lost: RpcError | None = None  # why the connection is gone; None while it is up
        self._closed = False
        self._blocked = False  # broker flow control (connection.blocked)
        self._ready = False  # the channel is set up: publishing may start
        self._failures = 0
        self._next_attempt = 0.0
        self._backoff = Backoff(initial=0.1, multiplier=2.0, maximum=5.0, jitter=0.2)

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

    def _attempt_succeeded(self, url: str) -> None:
        self._url = url
        self._failures = 0
        self._next_attempt = 0.0
        self._lost = None
        self._blocked = False
        self._ready = True

    def _setup(self) -> Generator[Callable[[Callable[[Any], None]], None], Any]:
        """The steps to open a client channel; each yields a pika call that takes a callback."""
        self._conn.add_on_connection_blocked_callback(self._on_blocked)
        self._conn.add_on_connection_unblocked_callback(self._on_unblocked)
        self._ch = yield lambda cb: self._conn.channel(on_open_callback=cb)
        self._frames = _encoder(self._conn, self._ch)
        self._ch.add_on_close_callback(self._on_closed)
        # The broker numbers the confirms of every new channel from 1.
        self._tags.clear()
        self._tag = 0
        yield lambda cb: self._ch.confirm_delivery(self._on_confirm, callback=cb)
        self._ch.add_on_return_callback(self._on_return)
        self._reply_to = DIRECT_REPLY_TO
        if self._reply_queue == "exclusive":
            frame = yield lambda cb: self._ch.queue_declare(
                "", exclusive=True, auto_delete=True, callback=cb
            )
            self._reply_to = frame.method.queue
        yield lambda cb: self._ch.basic_consume(
            self._reply_to, self._on_reply, auto_ack=True, callback=cb
        )
        # The channel carries replies and confirms only: read them the fast way from now on.
        self._conn.fast_reads(self._ch.channel_number, self._on_fast)

    def _publish(self, request: Request) -> None:
        self._tag += 1
        self._tags[self._tag] = request.correlation_id
        try:
            conn, ch = self._conn, self._ch
            if not ch.is_open or not conn.is_open:
                raise pika.exceptions.ChannelWrongStateError("the channel is closed")
            conn._output_marshaled_frames(
                (
                    self._frames.publish(
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
                    ),
                )
            )
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._on_lost(_lost(self._url, exc))

    def _on_reply(self, _ch: Any, _method: Any, properties: Any, body: bytes) -> None:
        cid = properties.correlation_id
        self._settle(cid, _reply_of(cid, properties.headers, body), None)

    def _on_fast(self, item: FastDelivery | Confirm) -> None:
        if isinstance(item, Confirm):
            self._confirmed(item.delivery_tag, item.multiple, nack=False)
            return
        cid = item.correlation_id
        self._settle(cid or "", _reply_of(cid, _headers(item.headers), item.body), None)

    def _on_return(self, _ch: Any, method: Any, properties: Any, _body: bytes) -> None:
        self._settle(properties.correlation_id, None, _no_route(method, properties))

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        nack = isinstance(method, pika.spec.Basic.Nack)
        self._confirmed(method.delivery_tag, method.multiple, nack=nack)

    def _confirmed(self, delivery_tag: int, multiple: bool, *, nack: bool) -> None:
        tags = [t for t in self._tags if t <= delivery_tag] if multiple else [delivery_tag]
        for tag in tags:
            cid = self._tags.pop(tag, None)
            if nack and cid:
                self._settle(
                    cid,
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
        if not self._closed and source is not None and source in (self._conn, self._ch):
            self._on_lost(_lost(self._url, exc))


class _Slot:
    """One sync call waiting: its reply or error, and an event to wake its thread."""

    __slots__ = ("error", "event", "published", "reply")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: Reply | None = None
        self.error: RpcError | None = None
        self.published = False

    def done(self) -> bool:
        return self.reply is not None or self.error is not None


def _noop() -> None:
    pass


#: Seconds without I/O after which a sync client checks its socket before publishing.
_IDLE_PROBE_AFTER = 0.2


class BlockingTransport(_Calls):
    """The sync client's connection. Thread-safe; see the module docstring for how.

    Built on pika's callback core (``SelectConnection``) like the asyncio client; the thread
    that leads runs the connection's I/O loop itself until its own reply has arrived.
    """

    def __init__(self, url: str, *, reply_queue: str = "direct", connect_timeout: float = 10.0):
        super().__init__(url, reply_queue, connect_timeout)
        self._pending: dict[str, _Slot] = {}
        self._io = threading.Lock()  # held by the thread driving the connection
        self._lock = threading.Lock()  # guards _waiters
        self._waiters: set[_Slot] = set()
        self._outbox: collections.deque[Request] = collections.deque()
        self._ioloop: Any = None
        self._last_io = time.monotonic()
        self._wake_at: float | None = None
        with self._io:
            self._connect(time.time() + connect_timeout)

    # -- connecting --------------------------------------------------------------------------

    def _connect(self, deadline: float | None) -> None:
        """Open a connection to the first address that answers; raises ``Unavailable``."""
        self._check_gate()
        limit = time.time() + self._connect_timeout
        deadline = limit if deadline is None else min(deadline, limit)
        self._teardown()
        error: RpcError | None = None
        for url in self._urls:
            try:
                self._open(url, deadline)
            except RpcError as exc:
                error = exc
                self._teardown()
                continue
            except (pika.exceptions.AMQPError, OSError) as exc:
                # e.g. the channel closed half-way through the setup (a node going down)
                error = _unavailable(url, exc)
                self._teardown()
                continue
            self._attempt_succeeded(url)
            return
        self._attempt_failed()
        assert error is not None
        mark(error, ORIGIN_LOCAL)
        raise error

    def _open(self, url: str, deadline: float) -> None:
        # pika's IOLoop "extension" API (activate_poller/poll/process_timeouts) is what
        # BlockingConnection itself is built on: it lets the calling thread drive the I/O.
        self._lost = None
        self._wake_at = None
        self._ioloop = IOLoop()
        self._ioloop.activate_poller()
        params = _parameters(url, self._connect_timeout)
        if "heartbeat" not in url:
            # Nobody drives an idle sync client's I/O, so it could not answer heartbeats.
            params.heartbeat = 0
        opened: list[Any] = []
        self._conn = _SelectConnection(
            params,
            custom_ioloop=self._ioloop,
            on_open_callback=opened.append,
            on_open_error_callback=lambda _c, exc: self._on_lost(_unavailable(url, exc)),
            on_close_callback=self._on_closed,
        )
        self._wait_until(lambda: bool(opened), deadline, url)
        steps = self._setup()
        result: Any = None
        try:
            while True:
                start = steps.send(result)
                result = self._wait_for(start, deadline, url)
        except StopIteration:
            pass

    def _wait_for(
        self, start: Callable[[Callable[[Any], None]], None], deadline: float, url: str
    ) -> Any:
        box: list[Any] = []
        start(box.append)
        self._wait_until(lambda: bool(box), deadline, url)
        return box[0]

    def _wait_until(self, done: Callable[[], bool], deadline: float, url: str) -> None:
        self._run_until(done, deadline)
        if not done():
            if self._lost is not None:
                raise self._lost
            raise _timed_out(url)

    def _teardown(self) -> None:
        conn, ioloop = self._conn, self._ioloop
        self._conn = self._ch = self._ioloop = None
        self._ready = False
        self._tags.clear()
        if conn is not None and ioloop is not None:
            try:
                _abort(conn)  # an attempt still opening too: its socket must not stay open
                if not conn.is_closed:
                    self._run_until(lambda: bool(conn.is_closed), time.time() + 1.0, ioloop)
            except (pika.exceptions.AMQPError, OSError):
                pass  # it is gone either way
            finally:
                ioloop.deactivate_poller()
                ioloop.close()

    def _run_until(
        self, done: Callable[[], bool], deadline: float | None, ioloop: Any = None
    ) -> None:
        """Drive the I/O until ``done()``, the deadline, or the loss of the connection."""
        ioloop = ioloop or self._ioloop
        if deadline is not None:
            self._wake_by(ioloop, deadline)
        try:
            while not done() and (self._lost is None or ioloop is not self._ioloop):
                if deadline is not None and time.time() >= deadline:
                    break
                ioloop.poll()
                ioloop.process_timeouts()
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._on_lost(_lost(self._url, exc))

    def _wake_by(self, ioloop: Any, deadline: float) -> None:
        """Make sure a poll returns by ``deadline``.

        A timer per call would cost two heap operations each time; calls a few milliseconds
        apart share one timer instead, and an early wake-up only makes the loop poll again.
        """
        now = time.time()
        pending = self._wake_at
        if pending is not None and now < pending <= deadline and ioloop is self._ioloop:
            return
        self._wake_at = deadline
        ioloop.call_later(max(0.0, deadline - now), self._on_wake)

    def _on_wake(self) -> None:
        self._wake_at = None

    # -- calls -----------------------------------------------------------------------------

    def call(self, request: Request) -> Reply:
        if self._closed:
            raise Cancelled("the client was closed")
        slot = _Slot()
        cid = request.correlation_id
        self._pending[cid] = slot
        self._outbox.append(request)
        try:
            if self._io.acquire(blocking=False):
                try:
                    self._lead(slot, request.deadline)
                finally:
                    self._release_io()
            else:
                ioloop = self._ioloop
                if ioloop is not None:
                    # Wake the leader's poll so that it publishes this request now.
                    # If the leader is tearing the connection down, this thread leads next.
                    with contextlib.suppress(pika.exceptions.AMQPError, OSError, AttributeError):
                        ioloop.add_callback_threadsafe(self._flush_outbox)
            self._follow(slot, request.deadline)
        finally:
            self._pending.pop(cid, None)
        if slot.error is not None:
            raise slot.error
        if slot.reply is None:
            raise DeadlineExceeded(f"{request.method}: no reply before the deadline")
        return slot.reply

    def _lead(self, slot: _Slot, deadline: float | None) -> None:
        """Drive the connection until this slot is settled or its deadline passes."""
        while not slot.done() and not self._closed:
            if deadline is not None and time.time() >= deadline:
                return
            if self._lost is None and self._conn is not None:
                self._notice_loss_while_idle()
            if self._lost is not None or self._conn is None:
                try:
                    self._connect(deadline)
                except RpcError as exc:
                    slot.error = exc
                    return
            self._flush_outbox()
            self._run_until(slot.done, deadline)
            self._last_io = time.monotonic()

    def _notice_loss_while_idle(self) -> None:
        """Read what arrived while nobody drove the I/O, before publishing into it.

        An idle sync client does not see its connection die (nobody polls the socket); one
        poll that returns at once finds the close, so the request goes out on a new
        connection instead of into a dead one (where a non-idempotent call could not retry).
        """
        if time.monotonic() - self._last_io < _IDLE_PROBE_AFTER:
            return
        ioloop = self._ioloop
        timer = ioloop.call_later(0, _noop)  # so that the poll returns at once
        try:
            ioloop.poll()
            ioloop.process_timeouts()
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._on_lost(_lost(self._url, exc))
        finally:
            ioloop.remove_timeout(timer)
        self._last_io = time.monotonic()

    def _follow(self, slot: _Slot, deadline: float | None) -> None:
        while not slot.done():
            with self._lock:
                self._waiters.add(slot)
            try:
                if self._io.acquire(blocking=False):
                    try:
                        self._lead(slot, deadline)
                    finally:
                        self._release_io()
                    if slot.done() or (deadline is not None and time.time() >= deadline):
                        return
                    continue
                remaining = None if deadline is None else deadline - time.time()
                if remaining is not None and remaining <= 0:
                    # This thread may have been the one woken to lead: pass that on, or the
                    # other followers would wait for a leader that never comes.
                    with self._lock:
                        self._waiters.discard(slot)
                    self._wake_next()
                    return
                slot.event.wait(remaining)
                slot.event.clear()
            finally:
                with self._lock:
                    self._waiters.discard(slot)

    def _release_io(self) -> None:
        self._io.release()
        self._wake_next()

    def _wake_next(self) -> None:
        """Wake one follower still waiting, to lead if the connection is free."""
        with self._lock:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.event.set()  # you may lead now
                    break

    def _flush_outbox(self) -> None:
        # Not before the channel is set up: a follower's wake-up can run during a reconnect.
        while self._outbox and self._ready and not self._blocked and self._lost is None:
            request = self._outbox.popleft()
            slot = self._pending.get(request.correlation_id)
            if slot is None or slot.done():
                continue  # its caller gave up (deadline) before it could be sent
            slot.published = True
            self._publish(request)

    def _on_unblocked_flush(self) -> None:
        self._flush_outbox()

    def _settle(self, cid: str, reply: Reply | None, error: RpcError | None) -> None:
        slot = self._pending.get(cid)
        if slot is None or slot.done():
            log.debug("dropped a late reply (cid=%s)", cid)
            return
        slot.reply, slot.error = reply, error
        slot.event.set()

    def _on_lost(self, error: RpcError) -> None:
        if self._lost is not None:
            return
        self._lost = error
        # Calls already published may or may not have reached a queue: they fail now. Calls
        # still in the outbox wait for the next leader to reconnect and publish them.
        for slot in list(self._pending.values()):
            if slot.published and not slot.done():
                slot.error = error
                slot.event.set()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._io:
            for slot in list(self._pending.values()):
                if not slot.done():
                    slot.error = Cancelled("the client was closed")
                    slot.event.set()
            self._teardown()


# -- asyncio ---------------------------------------------------------------------------------


async def _open_connection(url: str, connect_timeout: float) -> Any:
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[Any] = loop.create_future()

    def on_open(conn: Any) -> None:
        if not opened.done():
            opened.set_result(conn)

    def on_error(_conn: Any, exc: BaseException) -> None:
        if not opened.done():
            opened.set_exception(_unavailable(url, exc))

    conn = _AsyncioConnection(
        _parameters(url, connect_timeout),
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


class AsyncioTransport(_Calls):
    """The asyncio client's connection, on the running loop. Safe to share between tasks."""

    def __init__(self, url: str, reply_queue: str, connect_timeout: float) -> None:
        super().__init__(url, reply_queue, connect_timeout)
        self._loop = asyncio.get_running_loop()
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._connecting = asyncio.Lock()
        self._unblocked = asyncio.Event()
        self._unblocked.set()

    @classmethod
    async def open(
        cls, url: str, *, reply_queue: str = "direct", connect_timeout: float = 10.0
    ) -> AsyncioTransport:
        self = cls(url, reply_queue, connect_timeout)
        await self._connect()
        return self

    async def _connect(self, deadline: float | None = None) -> None:
        """Connect, trying each address; no later than ``deadline`` (a call's), if given."""

        def time_left() -> float:
            """For the next step: ``connect_timeout``, or less if the deadline comes first."""
            if deadline is None:
                return self._connect_timeout
            return max(0.0, min(self._connect_timeout, deadline - time.time()))

        try:
            # Another task may be connecting: wait for it, but not past this call's deadline.
            await asyncio.wait_for(self._connecting.acquire(), time_left())
        except TimeoutError:
            raise mark(_timed_out(self._url), ORIGIN_LOCAL) from None
        try:
            if self._conn is not None and self._lost is None:
                return  # another task reconnected while this one waited
            self._check_gate()
            self._teardown()
            error: RpcError | None = None
            for url in self._urls:
                try:
                    self._lost = None
                    self._conn = await _open_connection(url, time_left())
                    self._conn.add_on_close_callback(self._on_closed)
                    steps = self._setup()
                    result: Any = None
                    try:
                        while True:
                            result = await asyncio.wait_for(_rpc(steps.send(result)), time_left())
                    except StopIteration:
                        pass
                except BaseException as exc:
                    self._teardown()  # cancelled half-way too: no half-set-up connection stays
                    if isinstance(exc, TimeoutError):
                        error = _timed_out(url)
                    elif isinstance(exc, RpcError):
                        error = exc
                    elif isinstance(exc, pika.exceptions.AMQPError | OSError):
                        error = _unavailable(url, exc)
                    else:
                        raise
                    continue
                self._attempt_succeeded(url)
                self._unblocked.set()
                return
            self._attempt_failed()
            assert error is not None
            mark(error, ORIGIN_LOCAL)
            raise error
        finally:
            self._connecting.release()

    def _teardown(self) -> None:
        conn = self._conn
        self._conn = self._ch = None
        self._ready = False
        self._tags.clear()
        if conn is not None:
            _abort(conn)

    async def call(self, request: Request) -> Reply:
        if self._closed:
            raise Cancelled("the client was closed")
        if self._lost is not None or self._conn is None:
            await self._connect(request.deadline)
        cid = request.correlation_id
        future: asyncio.Future[Reply] = self._loop.create_future()
        self._pending[cid] = future
        timer = None
        if request.deadline is not None:
            timer = self._loop.call_at(
                self._loop.time() + (request.deadline - time.time()), self._expire, future, request
            )
        try:
            if self._blocked:
                try:
                    await self._wait_unblocked(future)
                except RpcError as error:
                    if error._origin != ORIGIN_LOST:
                        raise
                    # Lost while waiting for flow control to lift: this one was never sent.
                    message = f"{error.message} (before the call was sent)"
                    raise _not_sent(message, ORIGIN_LOCAL) from None
            self._publish(request)
            return await future
        finally:
            self._pending.pop(cid, None)
            if timer is not None:
                timer.cancel()

    async def _wait_unblocked(self, future: asyncio.Future[Reply]) -> None:
        """Wait while the broker blocks publishing; the call's deadline still applies."""
        self._unblocked.clear()
        waiter: asyncio.Future[Any] = asyncio.ensure_future(self._unblocked.wait())
        try:
            await asyncio.wait([waiter, future], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if future.done():
            future.result()  # raises DeadlineExceeded

    def _on_unblocked_flush(self) -> None:
        self._unblocked.set()

    @staticmethod
    def _expire(future: asyncio.Future[Reply], request: Request) -> None:
        if not future.done():
            future.set_exception(
                DeadlineExceeded(f"{request.method}: no reply before the deadline")
            )

    def _settle(self, cid: str, reply: Reply | None, error: RpcError | None) -> None:
        future = self._pending.get(cid)
        if future is None or future.done():
            log.debug("dropped a late reply (cid=%s)", cid)
        elif error is not None:
            future.set_exception(error)
        else:
            future.set_result(reply)  # type: ignore[arg-type]

    def _on_lost(self, error: RpcError) -> None:
        if self._lost is None:
            self._lost = error
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    async def close(self) -> None:
        self._closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Cancelled("the client was closed"))
        conn = self._conn
        self._conn = None
        if conn is not None and not (conn.is_closed or conn.is_closing):
            closed: asyncio.Future[None] = self._loop.create_future()
            conn.add_on_close_callback(lambda _c, _e: _resolve(closed, None))
            conn.close()
            await closed


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
    ):
        self._url = url
        self._urls = split_urls(url) or [url]
        self._queue = queue
        self._prefetch = prefetch
        self._queue_arguments = queue_arguments
        self._backoff = backoff or Backoff()
        self._connect_timeout = connect_timeout
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

    @property
    def connected(self) -> bool:
        """Whether it consumes right now (not between a lost connection and a reconnect)."""
        return self._ch is not None and self._ch.is_open

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
            _parameters(url, self._connect_timeout),
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
            raise _unavailable(url, exc)

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
            on_delivery = self._on_delivery
            assert on_delivery is not None

            def on_message(_ch: Any, method: Any, properties: Any, body: bytes) -> None:
                on_delivery(
                    Delivery(
                        body=body,
                        method=_text(properties.type),
                        correlation_id=_text(properties.correlation_id),
                        reply_to=_text(properties.reply_to),
                        content_type=_text(properties.content_type),
                        headers=properties.headers or {},
                        redelivered=bool(method.redelivered),
                    ),
                    (gen << 64) | method.delivery_tag,
                )

            def on_fast(item: FastDelivery | Confirm) -> None:
                if isinstance(item, FastDelivery):  # the channel carries deliveries only
                    on_delivery(
                        Delivery(
                            body=item.body,
                            method=item.type,
                            correlation_id=item.correlation_id,
                            reply_to=item.reply_to,
                            content_type=item.content_type,
                            headers=_headers(item.headers),
                            redelivered=item.redelivered,
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
                if isinstance(exc, Unavailable):
                    log.warning("reconnect failed (%s); next attempt in %.2f s", exc, delay)
                else:
                    # A bug, or a pika error not foreseen: this task is all that brings the
                    # worker back, so it must not end; the next round may well succeed.
                    log.exception("reconnect failed unexpectedly; next attempt in %.2f s", delay)
                await asyncio.sleep(delay)
                continue
            log.info(
                "reconnected to %s; consuming %r again", redact(self.address or ""), self._queue
            )
            return

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
        try:
            conn = ch.connection
            with conn.corked():  # the reply and its ack in one write
                if reply is not None:
                    conn._output_marshaled_frames(
                        (
                            self._frames.publish(
                                "",
                                reply.reply_to,
                                reply.body,
                                content_type=CONTENT_TYPE,
                                headers={HEADER_STATUS: reply.status},
                                correlation_id=reply.correlation_id,
                            ),
                        )
                    )
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


#: An AMQP heartbeat frame: type 8, channel 0, no payload, frame end.
_HEARTBEAT_FRAME = b"\x08\x00\x00\x00\x00\x00\x00\xce"

#: The delivery tag's bits in a consumer token.
_TAG_MASK = (1 << 64) - 1
