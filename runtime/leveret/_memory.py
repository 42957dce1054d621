"""The in-memory transport (``memory://``): a broker inside the process, for users' unit tests.

It behaves like RabbitMQ where a caller can see it: a queue nobody declared fails fast with
``Unavailable`` (no route); so does a declared queue no worker consumes, unless the call may
wait for one (``wait_for_ready``): then it keeps requests while no worker consumes it, and
drops them once their deadline passes (message TTL); bodies go through the same JSON codec,
validation and error mapping as on the wire; workers are fed round-robin.

``memory://`` is one broker per process; ``memory://NAME`` gives an isolated broker per name.
``memory://USER@NAME`` is that broker, logged in as ``USER``: requests and replies carry it as
their ``user_id`` (as RabbitMQ checks a login's), none without it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import unquote

from leveret._errors import (
    ORIGIN_NO_CONSUMER,
    ORIGIN_NO_ROUTE,
    Cancelled,
    DeadlineExceeded,
    Unavailable,
    mark,
)
from leveret._wire import CONTENT_TYPE, Delivery, OutgoingReply, Reply, Request, read_deadline

__all__ = [
    "AsyncMemoryTransport",
    "MemoryBroker",
    "MemoryConsumer",
    "MemoryTransport",
    "MemoryWorkerConsumer",
    "broker_for",
]

log = logging.getLogger("leveret.memory")

#: A reply and its ``user_id`` (the replying worker's login, or None).
_OnReply = Callable[[Reply, str | None], None]


def _split(url: str) -> tuple[str | None, str]:
    """The login user (None without one) and the broker name of a ``memory://`` URL."""
    rest = url.partition("://")[2] if "://" in url else url.partition(":")[2]
    userinfo, at, name = rest.rpartition("@")
    if not at:
        return None, rest.strip("/")
    user = unquote(userinfo.partition(":")[0])
    return user or None, name.strip("/")


class _ForeignReplies:
    """A memory client's check of who replied, when it was given a ``server_user``: as the
    AMQP clients do (``_amqp._calls``), a reply from anyone else is dropped, counted and
    logged once per source."""

    def __init__(self, server_user: str | None) -> None:
        self.server_user = server_user
        self.foreign_replies = 0
        self._sources: set[str | None] = set()

    def foreign(self, reply: Reply, user_id: str | None) -> bool:
        """True (and counted) when ``reply`` must be dropped."""
        if self.server_user is None or user_id == self.server_user:
            return False
        self.foreign_replies += 1
        if user_id not in self._sources:
            self._sources.add(user_id)
            logging.getLogger("leveret.client").warning(
                "dropped a reply from %s (correlation id %r): replies must come from the "
                "server_user %r; further replies from that source are dropped without a log "
                "line (counted in foreign_replies)",
                "a publisher that set no user_id" if user_id is None else f"user {user_id!r}",
                reply.correlation_id,
                self.server_user,
            )
        return True


@dataclass(slots=True)
class _Message:
    delivery: Delivery
    deadline: float | None


class MemoryConsumer:
    """A worker's seat on a memory queue. ``deliver`` is called from the publishing thread."""

    def __init__(self, deliver: Callable[[Delivery, int], None]) -> None:
        self.deliver = deliver
        self.tokens = itertools.count(1)


class _Queue:
    def __init__(self) -> None:
        self.consumers: list[MemoryConsumer] = []
        self.backlog: collections.deque[_Message] = collections.deque()
        self.turn = 0


class MemoryBroker:
    """Queues and reply addresses of one in-process broker. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, _Queue] = {}
        self._reply_addresses: dict[str, _OnReply] = {}

    # -- clients ---------------------------------------------------------------------------

    def open_reply_address(self, on_reply: _OnReply) -> str:
        address = f"memory.reply.{uuid.uuid4().hex}"
        with self._lock:
            self._reply_addresses[address] = on_reply
        return address

    def close_reply_address(self, address: str) -> None:
        with self._lock:
            self._reply_addresses.pop(address, None)

    def publish(self, request: Request, reply_to: str, user_id: str | None = None) -> None:
        """Route a request; raises ``Unavailable`` when no queue has its name (mandatory), or
        when no worker consumes it and the request may not wait for one (``wait_for_ready``),
        as the AMQP clients' consumer check does."""
        delivery = Delivery(
            body=request.body,
            method=request.method,
            correlation_id=request.correlation_id,
            reply_to=reply_to,
            content_type=CONTENT_TYPE,
            headers=request.headers() or {},
            user_id=user_id,
        )
        with self._lock:
            queue = self._queues.get(request.queue)
            if queue is None:
                error = Unavailable(
                    f"no queue {request.queue!r} to take {request.method!r}: "
                    "is the service running? (memory broker: NO_ROUTE)"
                )
                raise mark(error, ORIGIN_NO_ROUTE)
            if not queue.consumers:
                if not request.wait_for_ready:
                    error = Unavailable(
                        f"no worker is consuming queue {request.queue!r} to take "
                        f"{request.method!r}: is the service running? (pass "
                        "wait_for_ready=True to let calls wait for a worker)"
                    )
                    raise mark(error, ORIGIN_NO_CONSUMER)
                queue.backlog.append(_Message(delivery, request.deadline))
                return
            consumer = queue.consumers[queue.turn % len(queue.consumers)]
            queue.turn += 1
        consumer.deliver(delivery, next(consumer.tokens))

    def reply(
        self,
        reply_to: str,
        correlation_id: str,
        status: str,
        body: bytes,
        user_id: str | None = None,
        fingerprint: str | None = None,
    ) -> None:
        with self._lock:
            on_reply = self._reply_addresses.get(reply_to)
        if on_reply is None:  # a reply to a closed client is dropped, as on the broker
            return
        try:
            on_reply(Reply(correlation_id, status, body, fingerprint), user_id)
        except Exception:
            # Runs in the worker: whatever one client does must not stop it serving the rest.
            log.exception("dropped a reply its client could not take (cid=%s)", correlation_id)

    # -- workers ---------------------------------------------------------------------------

    def declare(self, queue: str) -> None:
        with self._lock:
            self._queues.setdefault(queue, _Queue())

    def consume(self, queue: str, consumer: MemoryConsumer) -> None:
        now = time.time()
        with self._lock:
            q = self._queues.setdefault(queue, _Queue())
            q.consumers.append(consumer)
            backlog = [m for m in q.backlog if m.deadline is None or m.deadline > now]
            q.backlog.clear()
        for message in backlog:
            consumer.deliver(message.delivery, next(consumer.tokens))

    def cancel(self, queue: str, consumer: MemoryConsumer) -> None:
        with self._lock:
            q = self._queues.get(queue)
            if q is not None and consumer in q.consumers:
                q.consumers.remove(consumer)

    def delete(self, queue: str) -> None:
        with self._lock:
            self._queues.pop(queue, None)


_brokers: dict[str, MemoryBroker] = {}
_brokers_lock = threading.Lock()


def broker_for(url: str) -> MemoryBroker:
    """The broker a ``memory://[USER@][NAME]`` URL names, created on first use."""
    name = _split(url)[1]
    with _brokers_lock:
        return _brokers.setdefault(name, MemoryBroker())


class MemoryTransport:
    """The sync client side of the memory broker."""

    def __init__(self, url: str, server_user: str | None = None) -> None:
        self._broker = broker_for(url)
        self._user = _split(url)[0]
        self._replies = _ForeignReplies(server_user)
        # A call's box gets its reply, or None when close() cancels the call.
        self._pending: dict[str, tuple[threading.Event, list[Reply | None]]] = {}
        self._address = self._broker.open_reply_address(self._on_reply)
        self._closed = False

    @property
    def foreign_replies(self) -> int:
        return self._replies.foreign_replies

    def _on_reply(self, reply: Reply, user_id: str | None) -> None:
        if self._replies.foreign(reply, user_id):
            return
        waiter = self._pending.get(reply.correlation_id)
        if waiter is not None:
            waiter[1].append(reply)
            waiter[0].set()

    def call(self, request: Request) -> Reply:
        if self._closed:
            raise Cancelled("the client was closed")
        event, box = threading.Event(), list[Reply | None]()
        self._pending[request.correlation_id] = (event, box)
        try:
            if self._closed:  # close() ran on another thread after the check above
                raise Cancelled("the client was closed")
            self._broker.publish(request, self._address, self._user)
            timeout = None if request.deadline is None else request.deadline - time.time()
            if not event.wait(timeout):
                raise DeadlineExceeded(f"{request.method}: no reply before the deadline")
            reply = box[0]
            if reply is None:
                raise Cancelled("the client was closed")
            return reply
        finally:
            self._pending.pop(request.correlation_id, None)

    def close(self) -> None:
        self._closed = True
        self._broker.close_reply_address(self._address)
        for event, box in list(self._pending.values()):
            box.append(None)
            event.set()


class AsyncMemoryTransport:
    """The asyncio client side of the memory broker."""

    def __init__(self, url: str, server_user: str | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        self._broker = broker_for(url)
        self._user = _split(url)[0]
        self._replies = _ForeignReplies(server_user)
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._address = self._broker.open_reply_address(self._on_reply)
        self._closed = False

    @property
    def foreign_replies(self) -> int:
        return self._replies.foreign_replies

    def _on_reply(self, reply: Reply, user_id: str | None) -> None:
        if self._replies.foreign(reply, user_id):
            return
        # Called from the worker's thread. Once the client's loop has closed, nobody is left
        # to wait for the reply.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._resolve, reply)

    def _resolve(self, reply: Reply) -> None:
        future = self._pending.get(reply.correlation_id)
        if future is not None and not future.done():
            future.set_result(reply)

    async def call(self, request: Request) -> Reply:
        if self._closed:
            raise Cancelled("the client was closed")
        future: asyncio.Future[Reply] = self._loop.create_future()
        self._pending[request.correlation_id] = future
        try:
            self._broker.publish(request, self._address, self._user)
            timeout = None if request.deadline is None else request.deadline - time.time()
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise DeadlineExceeded(f"{request.method}: no reply before the deadline") from None
        finally:
            self._pending.pop(request.correlation_id, None)

    async def close(self) -> None:
        self._closed = True
        self._broker.close_reply_address(self._address)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Cancelled("the client was closed"))


class MemoryWorkerConsumer:
    """A worker's connection to the memory broker; the same face as the AMQP consumer.

    Like a channel, it keeps the deliveries it has not settled: :meth:`stop` requeues those
    (a handler the worker gave up on, a delivery still on its way to the loop), as closing a
    channel makes the broker requeue what it had not acked, and a reply settled after that is
    dropped, as it cannot go out on a closed channel."""

    def __init__(self, url: str, queue: str) -> None:
        self._broker = broker_for(url)
        self._user = _split(url)[0]  # stamped on replies
        self._queue = queue
        self._seat: MemoryConsumer | None = None
        # token -> delivery, from delivery until settled or released; written from the
        # publishing threads and the loop's.
        self._unsettled: dict[int, Delivery] = {}
        self._unsettled_lock = threading.Lock()
        self.closed: asyncio.Future[BaseException | None] | None = None

    async def start(self, on_delivery: Callable[[Delivery, int], None]) -> None:
        loop = asyncio.get_running_loop()
        self.closed = loop.create_future()
        self._unsettled.clear()

        def deliver(delivery: Delivery, token: int) -> None:
            with self._unsettled_lock:
                self._unsettled[token] = delivery
            try:
                loop.call_soon_threadsafe(on_delivery, delivery, token)
            except RuntimeError:  # the worker's loop has closed since it was chosen
                if self._take(token) is not None:
                    self._requeue(delivery, redelivered=False)

        self._seat = MemoryConsumer(deliver)
        self._broker.consume(self._queue, self._seat)

    def _take(self, token: int) -> Delivery | None:
        """The delivery of ``token`` if it is still unsettled, which it no longer is."""
        with self._unsettled_lock:
            return self._unsettled.pop(token, None)

    def settle(self, token: int, reply: OutgoingReply | None, *, ack: bool) -> None:
        if self._take(token) is None:
            return  # requeued at stop, or settled already: the reply would be a second one
        # memory:// requests carry text ids only, so their replies do too.
        if reply is not None and isinstance(reply.reply_to, str):
            cid = reply.correlation_id
            if isinstance(cid, str):
                self._broker.reply(
                    reply.reply_to, cid, reply.status, reply.body, self._user, reply.fingerprint
                )

    def release(self, token: int, delivery: Delivery) -> None:
        """Requeue a delivery that was never started, as the broker does on a nack: to another
        consumer of the queue (marked redelivered), else to the queue's backlog."""
        if self._take(token) is not None:
            self._requeue(delivery)

    def _requeue(self, delivery: Delivery, *, redelivered: bool = True) -> None:
        message = _Message(
            replace(delivery, redelivered=redelivered or delivery.redelivered),
            read_deadline(delivery.headers),
        )
        broker = self._broker
        with broker._lock:
            queue = broker._queues.get(self._queue)
            if queue is None:
                return
            others = [c for c in queue.consumers if c is not self._seat]
            if not others:
                queue.backlog.append(message)
                return
            seat = others[queue.turn % len(others)]
            queue.turn += 1
        seat.deliver(message.delivery, next(seat.tokens))

    def live(self, token: int) -> bool:
        with self._unsettled_lock:
            return token in self._unsettled

    #: No connection, so no heartbeats to keep.
    heartbeat: float | None = None

    def beat(self) -> bool:
        return False

    def after_beats(self) -> None:
        pass

    async def cancel(self) -> None:
        if self._seat is not None:
            self._broker.cancel(self._queue, self._seat)

    async def stop(self, timeout: float = 5.0) -> None:
        """Leave the queue; what was taken and not settled goes back to it, as when a channel
        closes on the broker (the handlers the worker gave up on at the end of its grace)."""
        if self._seat is not None:
            self._broker.cancel(self._queue, self._seat)
        with self._unsettled_lock:
            abandoned = sorted(self._unsettled.items())  # in delivery order
            self._unsettled.clear()
        for _token, delivery in abandoned:
            self._requeue(delivery)
        self._seat = None
