"""The sync client's connection (leader/follower over pika's callback core)."""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pika
import pika.data
import pika.exceptions
import pika.spec
from pika.adapters.select_connection import IOLoop

from leveret._amqp._calls import _Calls, _lost, _not_checked
from leveret._amqp._connection import (
    _abort,
    _parameters,
    _SelectConnection,
    _timed_out,
    _unavailable,
)
from leveret._errors import (
    ORIGIN_LOCAL,
    Cancelled,
    DeadlineExceeded,
    InvalidArgument,
    ResourceExhausted,
    RpcError,
    mark,
)
from leveret._tls import TLS
from leveret._wire import (
    Reply,
    Request,
)

log = logging.getLogger("leveret.amqp")


class _Slot:
    """One sync call waiting: its reply or error, and an event to wake its thread."""

    __slots__ = ("checking", "error", "event", "published", "reply")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: Reply | None = None
        self.error: RpcError | None = None
        self.published = False
        self.checking: Callable[[int | None, RpcError | None], None] | None = None

    def done(self) -> bool:
        return self.reply is not None or self.error is not None

    def fail(self, error: RpcError) -> None:
        if not self.done():
            self.error = error
            self.event.set()


def _noop() -> None:
    pass


#: Seconds without I/O after which a sync client checks its socket before publishing.
_IDLE_PROBE_AFTER = 0.2


class BlockingTransport(_Calls):
    """The sync client's connection. Thread-safe; see the module docstring for how.

    Built on pika's callback core (``SelectConnection``) like the asyncio client; the thread
    that leads runs the connection's I/O loop itself until its own reply has arrived.
    """

    def __init__(
        self,
        url: str,
        *,
        reply_queue: str = "direct",
        connect_timeout: float = 10.0,
        tls: TLS | None = None,
    ):
        super().__init__(url, reply_queue, connect_timeout)
        self._tls = tls
        self._pending: dict[str, _Slot] = {}
        self._io = threading.Lock()  # held by the thread driving the connection
        self._lock = threading.Lock()  # guards _waiters
        self._waiters: set[_Slot] = set()
        self._outbox: collections.deque[Request] = collections.deque()
        self._ioloop: Any = None
        self._last_io = time.monotonic()
        self._wake_at: float | None = None
        with self._io:
            self._connect(None)  # each address gets connect_timeout

    # -- connecting --------------------------------------------------------------------------

    def _connect(self, deadline: float | None) -> None:
        """Open a connection to the first address that answers; raises ``Unavailable``.

        Each address gets ``connect_timeout`` of its own (within the call's deadline), so one
        whose TCP connect hangs does not use up the time of the addresses after it.
        """
        self._check_gate()
        self._teardown()
        error: RpcError | None = None
        for url in self._urls:
            limit = time.time() + self._connect_timeout
            try:
                self._open(url, limit if deadline is None else min(deadline, limit))
            except RpcError as exc:
                error = exc
                self._teardown()
                if self._closed:
                    raise
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
        params = _parameters(url, self._connect_timeout, self._tls)
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
        self._set_up()

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
            if self._closed:
                raise Cancelled("the client was closed")
            if self._lost is not None:
                raise self._lost
            raise _timed_out(url)

    def _teardown(self) -> None:
        conn, ioloop = self._conn, self._ioloop
        self._conn = self._ch = self._pub = self._ioloop = None
        self._ready = self._pub_ready = False
        self._tags = {}
        self._consumers.reset()
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
        """Drive the I/O until ``done()``, the deadline, the loss of the connection or
        ``close()`` (which wakes the poll)."""
        ioloop = ioloop or self._ioloop
        try:
            while not done():
                if ioloop is self._ioloop and (self._lost is not None or self._closed):
                    break
                if deadline is not None:
                    now = time.time()
                    if now >= deadline:
                        break
                    # Before every poll, not once: a shared timer that fires before this
                    # deadline leaves the next poll with none, and pika's 5 s backstop would
                    # decide when the call ends (and let a late reply in).
                    if ioloop is self._ioloop:
                        self._wake_by(ioloop, deadline, now)
                    else:
                        # A connection being torn down: a few passes at most.
                        ioloop.call_later(deadline - now, _noop)
                ioloop.poll()
                ioloop.process_timeouts()
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._on_lost(_lost(self._url, exc))

    def _wake_by(self, ioloop: Any, deadline: float, now: float) -> None:
        """Make sure the next poll returns by ``deadline``.

        A timer per call would cost two heap operations each time; calls a few milliseconds
        apart share one timer instead, and an early wake-up only makes the loop poll again
        (and arm the next timer then).
        """
        pending = self._wake_at
        if pending is not None and now < pending <= deadline:
            return
        self._wake_at = deadline
        ioloop.call_later(deadline - now, self._on_wake)

    def _on_wake(self) -> None:
        self._wake_at = None

    # -- calls -----------------------------------------------------------------------------

    def call(self, request: Request) -> Reply:
        if self._closed:
            raise Cancelled("the client was closed")
        slot = _Slot()
        cid = request.correlation_id
        self._pending[cid] = slot
        try:
            if self._closed:
                # close() may have gone through the calls before this one was among them.
                raise Cancelled("the client was closed")
            self._outbox.append(request)
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
            if slot.checking is not None:  # a check that hangs must not keep every caller
                self._consumers.cancel(request.queue, slot.checking)
        if slot.error is not None:
            raise slot.error
        if slot.reply is None:
            self._consumers.forget(request.queue)  # the next call checks for a worker again
            raise DeadlineExceeded(f"{request.method}: no reply before the deadline")
        return slot.reply

    def _lead(self, slot: _Slot, deadline: float | None) -> None:
        """Drive the connection until this slot is settled or its deadline passes."""
        while not slot.done():
            if self._closed:
                slot.fail(Cancelled("the client was closed"))
                return
            if deadline is not None and time.time() >= deadline:
                return
            if self._lost is None and self._conn is not None:
                self._notice_loss_while_idle()
            if self._lost is not None or self._conn is None:
                try:
                    self._connect(deadline)
                except RpcError as exc:
                    slot.fail(exc)
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
        # Nor while the publishing channel is opened again after a refusal.
        while (
            self._outbox
            and self._ready
            and self._pub_ready
            and not self._blocked
            and self._lost is None
        ):
            request = self._outbox.popleft()
            slot = self._pending.get(request.correlation_id)
            if slot is None or slot.done():
                continue  # its caller gave up (deadline) before it could be sent
            if self._needs_check(request):
                slot.checking = functools.partial(self._checked, request)
                self._consumers.check(self._conn, request.queue, slot.checking)
                continue
            slot.published = True
            try:
                self._publish(request)
            except (InvalidArgument, ResourceExhausted) as exc:
                # Raised here, it would reach whichever caller leads (maybe another thread's).
                slot.published = False
                slot.fail(exc)

    def _checked(self, request: Request, count: int | None, error: RpcError | None) -> None:
        slot = self._pending.get(request.correlation_id)
        if slot is None or slot.done():
            return
        if error is not None and not self._closed:
            # The connection went with the check: the request goes out after the reconnect.
            self._outbox.appendleft(request)
            return
        refusal = _not_checked(request, count, error)
        if refusal is not None:
            slot.fail(refusal)
            return
        self._outbox.appendleft(request)  # sent now, or once flow control lifts
        self._flush_outbox()

    def _on_unblocked_flush(self) -> None:
        self._flush_outbox()

    def _resend_later(self, requests: list[Request]) -> None:
        # Back to the front of the outbox, in their order, as never sent: should the
        # connection go before they are, the next leader publishes them on the new one.
        for request in reversed(requests):
            slot = self._pending.get(request.correlation_id)
            if slot is not None and not slot.done():
                slot.published = False
                self._outbox.appendleft(request)

    def _publisher_reopened(self) -> None:
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
        """Fail every waiting call with ``Cancelled`` at once, then close the connection.

        Safe from any thread: the thread driving the I/O is woken, sees the close and hands
        the connection over, which takes no longer than one pass of its loop.
        """
        if self._closed:
            return
        self._closed = True
        for slot in list(self._pending.values()):
            slot.fail(Cancelled("the client was closed"))
        ioloop = self._ioloop
        if ioloop is not None:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError, AttributeError):
                ioloop.add_callback_threadsafe(_noop)
        with self._io:
            self._teardown()
