"""The asyncio client's connection, on pika's ``AsyncioConnection`` in the caller's loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import pika
import pika.data
import pika.exceptions
import pika.spec

from leveret._amqp._calls import _Calls, _not_checked, _not_sent
from leveret._amqp._connection import (
    _abort,
    _open_connection,
    _resolve,
    _rpc,
    _timed_out,
    _unavailable,
)
from leveret._errors import (
    ORIGIN_LOCAL,
    ORIGIN_LOST,
    Cancelled,
    DeadlineExceeded,
    RpcError,
    mark,
)
from leveret._tls import TLS
from leveret._url import redact
from leveret._wire import (
    Reply,
    Request,
)

log = logging.getLogger("leveret.amqp")


#: How long ``close()`` waits for the broker to confirm the close before dropping the socket;
#: the sync client waits as long.
_CLOSE_TIMEOUT = 1.0

_T = TypeVar("_T")


def _retrieve(task: asyncio.Task[None]) -> None:
    """Fetch an attempt's outcome, so that one every caller gave up on is not logged by asyncio
    as never retrieved."""
    if not task.cancelled():
        task.exception()


def _drop(conn: Any) -> None:
    """End a connection whose broker does not answer: drop its socket, no close handshake."""
    transport = getattr(conn, "_transport", None)
    if conn.is_closed or transport is None:
        return
    # pika asserts on a transport that has already finished: then it is gone anyway.
    with contextlib.suppress(pika.exceptions.AMQPError, OSError, AssertionError):
        transport._initiate_abort(ConnectionAbortedError("the broker did not answer the close"))


class AsyncioTransport(_Calls):
    """The asyncio client's connection, on the running loop. Safe to share between tasks.

    Only a connection whose channel, confirms and reply consumer are all set up (``_ready``)
    takes requests: a call that comes while another task reconnects waits for that task
    (within its own deadline), and ``close()`` ends a reconnect at once.
    """

    _tls: TLS | None = None  # set by open()

    def __init__(self, url: str, reply_queue: str, connect_timeout: float) -> None:
        super().__init__(url, reply_queue, connect_timeout)
        self._loop = asyncio.get_running_loop()
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._connecting = asyncio.Lock()
        self._unblocked = asyncio.Event()
        self._unblocked.set()
        # Resolved by close(), or when the connection being set up is lost: either way the
        # step a reconnect waits on will never finish.
        self._interrupt: asyncio.Future[None] = self._loop.create_future()
        self._attempt: asyncio.Task[None] | None = None  # the connection attempt under way
        #: Requests the broker dropped after one it refused, to publish again first of all.
        self._resend: list[Request] = []

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        reply_queue: str = "direct",
        connect_timeout: float = 10.0,
        tls: TLS | None = None,
    ) -> AsyncioTransport:
        self = cls(url, reply_queue, connect_timeout)
        self._tls = tls
        try:
            await self._connect()
        except BaseException:
            # Failed, or cancelled (``asyncio.wait_for`` around ``connect()``): the attempt
            # runs on as a task of its own, and nobody would ever close what it opens.
            self._abandon()
            raise
        return self

    def _abandon(self) -> None:
        """End an ``open()`` that did not return: its attempt, and any connection it made."""
        self._closed = True
        _resolve(self._interrupt, None)  # a step in progress ends, and the attempt with it
        self._teardown()

    def _usable(self) -> bool:
        return self._ready and self._lost is None

    def _check_open(self) -> None:
        if self._closed:
            raise Cancelled("the client was closed")

    async def _connect(self, deadline: float | None = None) -> None:
        """Connect, or wait for the reconnect under way; no later than ``deadline`` (a call's).

        The attempt runs as a task of its own, each step bounded by ``connect_timeout`` but not
        by the deadline of the call that started it: when calls are shorter than a connection
        setup (a slow link), aborting the attempt at each call's deadline would never let the
        client reconnect. A call that gives up leaves the attempt running for the next one.
        """
        self._check_open()
        attempt = self._attempt
        if attempt is None or attempt.done():
            if self._usable():
                return
            self._check_gate()
            attempt = self._attempt = self._loop.create_task(self._connect_all())
            attempt.add_done_callback(_retrieve)
        timeout = None if deadline is None else deadline - time.time()
        if timeout is None or timeout > 0:
            await asyncio.wait((attempt,), timeout=timeout)
        self._check_open()
        if not attempt.done():
            raise mark(_timed_out(self._url), ORIGIN_LOCAL)
        if attempt.cancelled():
            raise Cancelled("the connection attempt was cancelled")
        error = attempt.exception()
        if error is not None:
            raise error

    async def _connect_all(self) -> None:
        """One attempt: each address in turn, each step no longer than ``connect_timeout``."""
        time_left = self._connect_timeout
        async with self._connecting:
            self._check_open()
            if self._usable():
                return
            self._teardown()
            error: RpcError | None = None
            for url in self._urls:
                self._interrupt = self._loop.create_future()
                try:
                    self._lost = None
                    self._conn = await self._step(_open_connection(url, time_left, self._tls), None)
                    self._conn.add_on_close_callback(self._on_closed)
                    self._check_open()
                    steps = self._setup()
                    result: Any = None
                    try:
                        while True:
                            result = await self._step(_rpc(steps.send(result)), time_left)
                            self._check_open()
                    except StopIteration:
                        pass
                    self._set_up()
                except BaseException as exc:
                    self._teardown()  # cancelled half-way too: no half-set-up connection stays
                    if isinstance(exc, TimeoutError):
                        error = _timed_out(url)
                    elif isinstance(exc, RpcError):
                        error = exc
                    elif isinstance(exc, pika.exceptions.AMQPError | OSError):
                        error = _unavailable(url, exc)
                    elif isinstance(exc, Exception):
                        # Nothing but an RpcError may reach a caller, whatever pika raises.
                        log.warning("connecting to %s failed", redact(url), exc_info=True)
                        error = _unavailable(url, exc)
                    else:
                        raise  # this task was cancelled
                    self._check_open()
                    continue
                self._attempt_succeeded(url)
                self._unblocked.set()
                return
            self._attempt_failed()
            assert error is not None
            mark(error, ORIGIN_LOCAL)
            raise error

    async def _step(self, awaitable: Awaitable[_T], timeout: float | None) -> _T:
        """One step of connecting, no longer than ``timeout``; ``_interrupt`` ends it early."""
        step = asyncio.ensure_future(awaitable)
        try:
            await asyncio.wait(
                (step, self._interrupt), timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            if not step.done():
                step.cancel()  # an attempt still opening aborts itself (_open_connection)
        if step.done():
            return step.result()
        self._check_open()
        if self._interrupt.done():
            if self._lost is not None:
                raise self._lost  # why it closed (e.g. a permission the login lacks)
            raise pika.exceptions.AMQPConnectionError("the connection closed while being set up")
        raise TimeoutError

    def _teardown(self) -> None:
        conn = self._conn
        self._conn = self._ch = self._pub = None
        self._ready = self._pub_ready = False
        self._tags = {}
        self._resend = []
        self._consumers.reset()
        if conn is not None:
            _abort(conn)
            if not conn.is_closed:
                # A broker that stopped answering never confirms the close: its socket would
                # stay open for good.
                self._loop.call_later(_CLOSE_TIMEOUT, _drop, conn)

    async def call(self, request: Request) -> Reply:
        self._check_open()
        if not self._usable():
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
            try:
                if self._needs_check(request):
                    await self._check_consumers(request, future)
                if self._blocked or not self._pub_ready:
                    await self._wait_unblocked(future)
            except RpcError as error:
                if error._origin != ORIGIN_LOST:
                    raise
                # Lost while checking for a worker or waiting for flow control to lift: this
                # one was never sent.
                message = f"{error.message} (before the call was sent)"
                raise _not_sent(message, ORIGIN_LOCAL) from None
            self._publish(request)
            try:
                return await future
            except DeadlineExceeded:
                self._consumers.forget(request.queue)  # the next call checks for a worker
                raise
        finally:
            self._pending.pop(cid, None)
            if timer is not None:
                timer.cancel()

    async def _check_consumers(self, request: Request, future: asyncio.Future[Reply]) -> None:
        """Wait for the answer of the queue's consumer check (``_readiness``); raises why the
        request must not be sent, or what ended the call meanwhile (its deadline)."""
        checked: asyncio.Future[tuple[int | None, RpcError | None]] = self._loop.create_future()

        def on_checked(count: int | None, error: RpcError | None) -> None:
            _resolve(checked, (count, error))

        self._consumers.check(self._conn, request.queue, on_checked)
        either: list[asyncio.Future[Any]] = [checked, future]
        try:
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not checked.done():
                self._consumers.cancel(request.queue, on_checked)
        if future.done():
            future.result()  # raises DeadlineExceeded, Cancelled or the loss
        count, error = checked.result()
        refusal = _not_checked(request, count, error)
        if refusal is not None:
            raise refusal

    async def _wait_unblocked(self, future: asyncio.Future[Reply]) -> None:
        """Wait while the broker blocks publishing, or while the publishing channel is opened
        again after a refusal; the call's deadline still applies."""
        # A loss fails the future (every pending call); a reconnect sets the event.
        while self._blocked or not self._pub_ready:
            self._unblocked.clear()
            waiter: asyncio.Future[Any] = asyncio.ensure_future(self._unblocked.wait())
            try:
                await asyncio.wait([waiter, future], return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            if future.done():
                break
        if future.done():
            future.result()  # raises DeadlineExceeded, or the loss

    def _on_unblocked_flush(self) -> None:
        self._unblocked.set()

    def _resend_later(self, requests: list[Request]) -> None:
        self._resend.extend(requests)

    def _publisher_reopened(self) -> None:
        # What the broker dropped goes first, then the calls that waited (woken here).
        resend, self._resend = self._resend, []
        for request in resend:
            future = self._pending.get(request.correlation_id)
            if future is None or future.done():
                continue
            try:
                self._publish(request)
            except RpcError as error:  # e.g. the connection lost under it
                if not future.done():
                    future.set_exception(error)
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
        _resolve(self._interrupt, None)
        # Those the broker dropped never reached a queue: safe to send again, on any method.
        resend, self._resend = self._resend, []
        for request in resend:
            future = self._pending.get(request.correlation_id)
            if future is not None and not future.done():
                message = f"{error.message} (before the call was sent)"
                future.set_exception(_not_sent(message, ORIGIN_LOCAL))
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _resolve(self._interrupt, None)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Cancelled("the client was closed"))
        conn = self._conn
        # _pub too: a publishing channel being opened again after a refusal must find it is
        # no longer wanted (_on_publisher_open), not set itself up on a connection that is gone.
        self._conn = self._ch = self._pub = None
        self._ready = self._pub_ready = False
        # Calls inside _connect end with Cancelled at once (the lock passes from one to the
        # next); once this task has the lock too, no reconnect is left to install a connection.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connecting.acquire(), _CLOSE_TIMEOUT)
            self._connecting.release()
        if conn is None or conn.is_closed:
            return
        closed: asyncio.Future[None] = self._loop.create_future()
        conn.add_on_close_callback(lambda _c, _e: _resolve(closed, None))
        if not conn.is_closing:
            conn.close()
        try:
            await asyncio.wait_for(asyncio.shield(closed), _CLOSE_TIMEOUT)
        except TimeoutError:
            _drop(conn)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closed, _CLOSE_TIMEOUT)
