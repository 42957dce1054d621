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
import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import pika
import pika.exceptions
from pika.adapters.asyncio_connection import AsyncioConnection
from pika.adapters.select_connection import IOLoop

from leveret._errors import Cancelled, ConfigurationError, DeadlineExceeded, RpcError, Unavailable
from leveret._url import redact
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


def _properties(request: Request, reply_to: str) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type=CONTENT_TYPE,
        correlation_id=request.correlation_id,
        reply_to=reply_to,
        type=request.method,
        expiration=request.expiration_ms(time.time()),
        headers=request.headers(),
    )


def _reply_of(properties: Any, body: bytes) -> Reply:
    headers = properties.headers or {}
    status = headers.get(HEADER_STATUS)
    if isinstance(status, bytes):
        status = status.decode("ascii", "replace")
    return Reply(properties.correlation_id or "", status or "UNKNOWN", body)


def _no_route(method: Any, properties: Any) -> Unavailable:
    return Unavailable(
        f"no queue {method.routing_key!r} to take {properties.type!r}: "
        f"is the service running? (broker: {method.reply_text})"
    )


class _Calls:
    """What both clients do with their channel's events: settle calls by correlation id.

    Publisher confirms are tracked by delivery tag; a nack fails the call with ``Unavailable``
    (the request never reached a queue); a mandatory return likewise (no queue by that name).
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._tags: dict[int, str] = {}
        self._tag = 0
        self._broken: RpcError | None = None
        self._conn: Any = None
        self._ch: Any = None
        self._reply_to = DIRECT_REPLY_TO

    def _settle(self, cid: str, reply: Reply | None, error: RpcError | None) -> None:
        raise NotImplementedError

    def _fail_all(self, error: RpcError) -> None:
        raise NotImplementedError

    def _setup(self, reply_queue: str) -> Generator[Callable[[Callable[[Any], None]], None], Any]:
        """The steps to open a client channel; each yields a pika call that takes a callback."""
        if reply_queue not in REPLY_QUEUES:
            raise ConfigurationError(f"reply_queue must be one of {REPLY_QUEUES}")
        self._ch = yield lambda cb: self._conn.channel(on_open_callback=cb)
        self._ch.add_on_close_callback(self._on_closed)
        yield lambda cb: self._ch.confirm_delivery(self._on_confirm, callback=cb)
        self._ch.add_on_return_callback(self._on_return)
        if reply_queue == "exclusive":
            frame = yield lambda cb: self._ch.queue_declare(
                "", exclusive=True, auto_delete=True, callback=cb
            )
            self._reply_to = frame.method.queue
        yield lambda cb: self._ch.basic_consume(
            self._reply_to, self._on_reply, auto_ack=True, callback=cb
        )

    def _publish(self, request: Request) -> None:
        self._tag += 1
        self._tags[self._tag] = request.correlation_id
        try:
            self._ch.basic_publish(
                "", request.queue, request.body, _properties(request, self._reply_to), True
            )
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._fail_all(_unavailable(self._url, exc))

    def _on_reply(self, _ch: Any, _method: Any, properties: Any, body: bytes) -> None:
        self._settle(properties.correlation_id, _reply_of(properties, body), None)

    def _on_return(self, _ch: Any, method: Any, properties: Any, _body: bytes) -> None:
        self._settle(properties.correlation_id, None, _no_route(method, properties))

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tags = (
            [t for t in self._tags if t <= method.delivery_tag]
            if method.multiple
            else [method.delivery_tag]
        )
        nack = isinstance(method, pika.spec.Basic.Nack)
        for tag in tags:
            cid = self._tags.pop(tag, None)
            if nack and cid:
                self._settle(
                    cid, None, Unavailable("the broker refused the request (publisher nack)")
                )

    def _on_closed(self, _source: Any, exc: BaseException) -> None:
        self._fail_all(_unavailable(self._url, exc))


class _Slot:
    """One sync call waiting: its reply or error, and an event to wake its thread."""

    __slots__ = ("error", "event", "reply")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: Reply | None = None
        self.error: RpcError | None = None

    def done(self) -> bool:
        return self.reply is not None or self.error is not None


def _noop() -> None:
    pass


class BlockingTransport(_Calls):
    """The sync client's connection. Thread-safe; see the module docstring for how.

    Built on pika's callback core (``SelectConnection``) like the asyncio client; the thread
    that leads runs the connection's I/O loop itself until its own reply has arrived.
    """

    def __init__(self, url: str, *, reply_queue: str = "direct", connect_timeout: float = 10.0):
        super().__init__(url)
        self._pending: dict[str, _Slot] = {}
        self._io = threading.Lock()  # held by the thread driving the connection
        self._lock = threading.Lock()  # guards _waiters
        self._waiters: set[_Slot] = set()
        self._outbox: collections.deque[Request] = collections.deque()
        deadline = time.time() + connect_timeout
        opened: list[Any] = []
        params = _parameters(url, connect_timeout)
        if "heartbeat" not in url:
            # Nobody drives an idle sync client's I/O, so it could not answer heartbeats.
            params.heartbeat = 0
        # pika's IOLoop "extension" API (activate_poller/poll/process_timeouts) is what
        # BlockingConnection itself is built on: it lets the calling thread drive the I/O.
        self._ioloop = IOLoop()
        self._ioloop.activate_poller()
        with self._io:
            self._conn = pika.SelectConnection(
                params,
                custom_ioloop=self._ioloop,
                on_open_callback=opened.append,
                on_open_error_callback=lambda _c, exc: self._fail_all(_unavailable(url, exc)),
                on_close_callback=self._on_closed,
            )
            self._run_until(lambda: bool(opened), deadline)
            steps = self._setup(reply_queue)
            result: Any = None
            try:
                while True:
                    result = self._wait_for(steps.send(result), deadline)
            except StopIteration:
                pass

    def _wait_for(self, start: Callable[[Callable[[Any], None]], None], deadline: float) -> Any:
        box: list[Any] = []
        start(box.append)
        self._run_until(lambda: bool(box), deadline)
        return box[0]

    def _run_until(self, done: Callable[[], bool], deadline: float | None) -> None:
        """Drive the connection's I/O until ``done()``; raise if it broke or time ran out."""
        ioloop = self._ioloop
        timer = None
        if deadline is not None:
            timer = ioloop.call_later(max(0.0, deadline - time.time()), _noop)
        try:
            while not done() and self._broken is None:
                if deadline is not None and time.time() >= deadline:
                    break
                ioloop.poll()
                ioloop.process_timeouts()
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._fail_all(_unavailable(self._url, exc))
        finally:
            if timer is not None:
                ioloop.remove_timeout(timer)
        if not done():
            if self._broken is not None:
                raise self._broken
            raise Unavailable(f"cannot reach RabbitMQ at {redact(self._url)}: timed out")

    # -- calls -----------------------------------------------------------------------------

    def call(self, request: Request) -> Reply:
        if self._broken is not None:
            raise self._broken
        slot = _Slot()
        cid = request.correlation_id
        self._pending[cid] = slot
        try:
            if self._io.acquire(blocking=False):
                try:
                    self._publish(request)
                    self._drive(slot, request.deadline)
                finally:
                    self._release_io()
            else:
                self._outbox.append(request)
                try:
                    self._ioloop.add_callback_threadsafe(self._flush_outbox)
                except (pika.exceptions.AMQPError, OSError) as exc:
                    self._fail_all(_unavailable(self._url, exc))
            self._follow(slot, request.deadline)
        finally:
            self._pending.pop(cid, None)
        if slot.error is not None:
            raise slot.error
        if slot.reply is None:
            raise DeadlineExceeded(f"{request.method}: no reply before the deadline")
        return slot.reply

    def _follow(self, slot: _Slot, deadline: float | None) -> None:
        while not slot.done():
            with self._lock:
                self._waiters.add(slot)
            try:
                if self._io.acquire(blocking=False):
                    try:
                        self._drive(slot, deadline)
                    finally:
                        self._release_io()
                    if deadline is not None and time.time() >= deadline:
                        return
                    continue
                remaining = None if deadline is None else deadline - time.time()
                if remaining is not None and remaining <= 0:
                    return
                slot.event.wait(remaining)
                slot.event.clear()
            finally:
                with self._lock:
                    self._waiters.discard(slot)

    def _drive(self, slot: _Slot, deadline: float | None) -> None:
        """Lead: run the I/O loop until this slot is settled or its deadline passes."""
        try:
            self._run_until(slot.done, deadline)
        except RpcError as exc:
            if not slot.done() and self._broken is not None:
                slot.error = exc

    def _release_io(self) -> None:
        self._io.release()
        with self._lock:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.event.set()  # you may lead now
                    break

    def _flush_outbox(self) -> None:
        while self._outbox:
            self._publish(self._outbox.popleft())

    def _settle(self, cid: str, reply: Reply | None, error: RpcError | None) -> None:
        slot = self._pending.get(cid)
        if slot is None or slot.done():
            log.debug("dropped a late reply (cid=%s)", cid)
            return
        slot.reply, slot.error = reply, error
        slot.event.set()

    def _fail_all(self, error: RpcError) -> None:
        if self._broken is None:
            self._broken = error
        for slot in list(self._pending.values()):
            if not slot.done():
                slot.error = error
                slot.event.set()

    def close(self) -> None:
        if self._broken is not None:
            return
        with self._io:
            self._fail_all(Cancelled("the client was closed"))
            try:
                if self._conn.is_open:
                    self._conn.close()
                    while not self._conn.is_closed:
                        self._ioloop.poll()
                        self._ioloop.process_timeouts()
            except (pika.exceptions.AMQPError, OSError):
                pass  # closing anyway
            finally:
                self._ioloop.deactivate_poller()
                self._ioloop.close()


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

    AsyncioConnection(
        _parameters(url, connect_timeout),
        on_open_callback=on_open,
        on_open_error_callback=on_error,
        on_close_callback=lambda conn, exc: on_error(conn, exc),
        custom_ioloop=loop,
    )
    try:
        return await asyncio.wait_for(opened, connect_timeout)
    except TimeoutError:
        raise Unavailable(f"cannot reach RabbitMQ at {redact(url)}: timed out") from None


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

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._loop = asyncio.get_running_loop()
        self._pending: dict[str, asyncio.Future[Reply]] = {}

    @classmethod
    async def open(
        cls, url: str, *, reply_queue: str = "direct", connect_timeout: float = 10.0
    ) -> AsyncioTransport:
        self = cls(url)
        self._conn = await _open_connection(url, connect_timeout)
        self._conn.add_on_close_callback(self._on_closed)
        steps = self._setup(reply_queue)
        result: Any = None
        try:
            while True:
                result = await _rpc(steps.send(result))
        except StopIteration:
            pass
        return self

    async def call(self, request: Request) -> Reply:
        if self._broken is not None:
            raise self._broken
        cid = request.correlation_id
        future: asyncio.Future[Reply] = self._loop.create_future()
        self._pending[cid] = future
        timer = None
        if request.deadline is not None:
            timer = self._loop.call_at(
                self._loop.time() + (request.deadline - time.time()), self._expire, future, request
            )
        try:
            self._publish(request)
            return await future
        finally:
            self._pending.pop(cid, None)
            if timer is not None:
                timer.cancel()

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

    def _fail_all(self, error: RpcError) -> None:
        if self._broken is None:
            self._broken = error
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    async def close(self) -> None:
        self._fail_all(Cancelled("the client was closed"))
        if self._conn is not None and not (self._conn.is_closed or self._conn.is_closing):
            closed: asyncio.Future[None] = self._loop.create_future()
            self._conn.add_on_close_callback(lambda _c, _e: _resolve(closed, None))
            self._conn.close()
            await closed


class AsyncioConsumer:
    """A worker's connection: consume one queue, reply, then ack (or reject without requeue)."""

    def __init__(self, url: str, queue: str, *, prefetch: int, queue_arguments: dict[str, Any]):
        self._url = url
        self._queue = queue
        self._prefetch = prefetch
        self._queue_arguments = queue_arguments
        self._conn: Any = None
        self._ch: Any = None
        self.closed: asyncio.Future[BaseException | None] | None = None

    async def start(self, on_delivery: OnDelivery, connect_timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        self.closed = loop.create_future()
        self._conn = await _open_connection(self._url, connect_timeout)
        self._conn.add_on_close_callback(self._on_closed)
        self._ch = await _rpc(lambda cb: self._conn.channel(on_open_callback=cb))
        self._ch.add_on_close_callback(self._on_closed)
        await _rpc(
            lambda cb: self._ch.queue_declare(
                self._queue, durable=True, arguments=self._queue_arguments or None, callback=cb
            )
        )
        await _rpc(lambda cb: self._ch.basic_qos(prefetch_count=self._prefetch, callback=cb))

        def on_message(_ch: Any, method: Any, properties: Any, body: bytes) -> None:
            headers = properties.headers or {}
            on_delivery(
                Delivery(
                    body=body,
                    method=properties.type,
                    correlation_id=properties.correlation_id,
                    reply_to=properties.reply_to,
                    content_type=properties.content_type,
                    headers=headers,
                    redelivered=bool(method.redelivered),
                ),
                method.delivery_tag,
            )

        await _rpc(lambda cb: self._ch.basic_consume(self._queue, on_message, callback=cb))

    def _on_closed(self, _source: Any, exc: BaseException) -> None:
        if self.closed is not None and not self.closed.done():
            if isinstance(exc, pika.exceptions.ChannelClosedByBroker) and exc.reply_code == 406:
                self.closed.set_result(
                    ConfigurationError(
                        f"queue {self._queue!r} exists with other arguments: {exc.reply_text}"
                    )
                )
            else:
                self.closed.set_result(_unavailable(self._url, exc))

    def settle(self, token: int, reply: OutgoingReply | None, *, ack: bool) -> None:
        """Publish the reply if there is one, then ack or reject (without requeue)."""
        if self._ch is None or not self._ch.is_open:
            return  # the broker redelivers what we could not ack
        try:
            if reply is not None:
                self._ch.basic_publish(
                    "",
                    reply.reply_to,
                    reply.body,
                    pika.BasicProperties(
                        content_type=CONTENT_TYPE,
                        correlation_id=reply.correlation_id,
                        headers={HEADER_STATUS: reply.status},
                    ),
                )
            if ack:
                self._ch.basic_ack(token)
            else:
                self._ch.basic_reject(token, requeue=False)
        except (pika.exceptions.AMQPError, OSError) as exc:
            log.warning("could not settle a delivery: %s", exc)

    async def stop(self) -> None:
        if self._conn is None or self._conn.is_closed:
            return
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[None] = loop.create_future()
        self._conn.add_on_close_callback(lambda _c, _e: _resolve(closed, None))
        if not self._conn.is_closing:
            self._conn.close()
        await closed
