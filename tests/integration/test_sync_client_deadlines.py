"""The sync client keeps every call's deadline, whatever the calls before it did, and
``close()`` from another thread cancels the calls waiting on it at once (real broker)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pytest

import leveret
from leveret._amqp import AsyncioTransport, BlockingTransport
from leveret._client import DynamicClient
from leveret._retry import RetryPolicy
from leveret._wire import Request
from tests.support.background import Background
from tests.support.echo import (
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
    EchoRequest,
    FailRequest,
)
from tests.support.proxy import TcpProxy, wait_until

pytestmark = pytest.mark.integration

#: How late a call may end after its deadline (thread wake-up and scheduling on a busy machine).
MARGIN = 0.15


class _Holding(Echo):
    """``echo`` with text "hold" answers only after the caller's deadline (without one, when
    the test ends); ``fail`` with kind "status" answers ``UNAVAILABLE`` (a server-sent status)."""

    def __init__(self) -> None:
        super().__init__("holding")
        self.gate = threading.Event()
        self.holding = 0
        self.finished = 0

    def echo(self, request: EchoRequest, context: leveret.CallContext) -> EchoReply:
        if request.text == "hold":
            with self.lock:
                self.holding += 1
            remaining = context.time_remaining()
            # Past the caller's deadline (no reply it could take), to free the worker's slot.
            self.gate.wait(60 if remaining is None else remaining + 0.1)
        try:
            return super().echo(request, context)
        finally:
            with self.lock:
                self.finished += 1

    def fail(self, request: FailRequest, context: leveret.CallContext) -> EchoReply:
        if request.kind == "status":
            raise leveret.Unavailable("the service is draining")
        return super().fail(request, context)


@pytest.fixture
def holding() -> _Holding:
    return _Holding()


@pytest.fixture
def worker(amqp_url: str, queue: str, holding: _Holding) -> Iterator[leveret.Worker]:
    with leveret.Worker(holding, url=amqp_url, queue=queue, concurrency=8) as w:
        try:
            yield w
        finally:
            holding.gate.set()  # before the worker stops, so that it does not wait out its grace


@pytest.fixture
def transport(amqp_url: str) -> Iterator[BlockingTransport]:
    t = BlockingTransport(amqp_url)
    yield t
    t.close()


@pytest.fixture
def client(transport: BlockingTransport, queue: str) -> EchoClient:
    # Retries off: each call below is one attempt, whatever it ends with.
    return EchoClient(transport, queue=queue, retry=RetryPolicy(max_attempts=1))


def _ends_in_time(call: Any) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except leveret.RpcError as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


# -- A2: a deadline is kept after a call that ended early -----------------------------------


def test_call_without_reply_ends_at_its_deadline_after_a_fast_call(
    worker: leveret.Worker, client: EchoClient
) -> None:
    """A fast call leaves its wake-up timer behind; the next call, whose deadline comes a
    little later, must not be left polling with no timer once that one fires."""
    assert client.add(a=0, b=0, timeout=5).sum == 0  # connected and warm
    for i in range(20):
        assert client.add(a=i, b=1, timeout=0.3).sum == i + 1
        error, took = _ends_in_time(lambda: client.echo(text="hold", timeout=0.3))
        assert isinstance(error, leveret.DeadlineExceeded), (i, error)
        assert 0.3 - 0.01 <= took < 0.3 + MARGIN, f"iteration {i}: ended after {took:.3f} s"


@pytest.fixture
def refusing_queue(amqp_url: str) -> Iterator[str]:
    """A queue that refuses every message (max-length 0, reject-publish): publishes are nacked."""
    name = f"leveret.test.nack.{uuid.uuid4().hex[:12]}"
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        ch = conn.channel()
        ch.queue_declare(
            name, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}, auto_delete=False
        )
        yield name
        ch.queue_delete(name)
    finally:
        conn.close()


@pytest.mark.parametrize("early_end", ["server-status", "no-route", "nack", "local-validation"])
def test_call_after_an_early_end_keeps_its_deadline_and_drops_the_late_reply(
    worker: leveret.Worker,
    transport: BlockingTransport,
    client: EchoClient,
    holding: _Holding,
    refusing_queue: str,
    early_end: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """issue 16 item 2: after a call that ended early (here with a deadline before the next
    call's), the next call still ends at its own deadline, and its reply, arriving later, is
    dropped, not returned."""
    dynamic = DynamicClient(transport)
    early: dict[str, tuple[type[leveret.RpcError], Any]] = {
        "server-status": (leveret.Unavailable, lambda: client.fail(kind="status", timeout=0.4)),
        "no-route": (
            leveret.Unavailable,
            lambda: dynamic.call(f"leveret.test.nowhere.{uuid.uuid4().hex}", "add", {}, 0.4),
        ),
        "nack": (leveret.Unavailable, lambda: dynamic.call(refusing_queue, "add", {}, 0.4)),
        "local-validation": (leveret.InvalidArgument, lambda: client.echo(text="x" * 101)),
    }
    expected, first = early[early_end]
    assert client.add(a=1, b=1).sum == 2  # connected and warm
    caplog.set_level(logging.DEBUG, logger="leveret.amqp")
    for i in range(3):
        error, took = _ends_in_time(first)
        assert isinstance(error, expected), error
        assert took < 0.3, f"the early end took {took:.3f} s"
        # The handler answers after 1.0 s, long after this call's deadline.
        error, took = _ends_in_time(lambda: client.echo(text="late", delay=1.0, timeout=0.6))
        assert isinstance(error, leveret.DeadlineExceeded), (i, error)
        assert took < 0.6 + MARGIN, f"round {i}: ended after {took:.3f} s"
        wait_until(lambda n=i + 1: holding.finished >= n, 10, "the late handler to answer")
        # The next call reads the late reply off the connection and drops it.
        assert client.add(a=i, b=2, timeout=5).sum == i + 2
    wait_until(lambda: "dropped a late reply" in caplog.text, 5, "the late replies to be dropped")
    assert transport._pending == {}


@pytest.mark.parametrize("early_end", ["server-status", "no-route", "nack"])
def test_asyncio_call_after_an_early_end_keeps_its_deadline_and_drops_the_late_reply(
    amqp_url: str,
    queue: str,
    worker: leveret.Worker,
    holding: _Holding,
    refusing_queue: str,
    early_end: str,
) -> None:
    """The same for the asyncio client (a timer per call, so a guard against regressions)."""

    async def scenario() -> None:
        transport = await AsyncioTransport.open(amqp_url)
        client = AsyncEchoClient(transport, queue=queue, retry=RetryPolicy(max_attempts=1))

        async def first() -> None:
            if early_end == "server-status":
                await client.fail(kind="status", timeout=0.4)
            target = refusing_queue if early_end == "nack" else f"nowhere.{uuid.uuid4().hex}"
            await transport.call(Request(target, "add", uuid.uuid4().hex, b"{}", time.time() + 0.4))

        try:
            assert (await client.add(a=1, b=1)).sum == 2
            for i in range(3):
                with pytest.raises(leveret.Unavailable):
                    await first()
                started = time.monotonic()
                with pytest.raises(leveret.DeadlineExceeded):
                    await client.echo(text="late", delay=1.0, timeout=0.6)
                took = time.monotonic() - started
                assert took < 0.6 + MARGIN, f"round {i}: ended after {took:.3f} s"
                while holding.finished < i + 1:  # the late reply is on its way
                    await asyncio.sleep(0.02)
                assert (await client.add(a=i, b=2, timeout=5)).sum == i + 2
            assert transport._pending == {}
        finally:
            await transport.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))


# -- A6: close() from another thread --------------------------------------------------------


@pytest.mark.parametrize("timeout", [None, 10.0])
def test_close_from_another_thread_cancels_waiting_calls_at_once(
    worker: leveret.Worker,
    transport: BlockingTransport,
    client: EchoClient,
    holding: _Holding,
    timeout: float | None,
) -> None:
    """Several calls wait (one thread leads the I/O, the others follow); close() from another
    thread returns at once and every call ends with Cancelled."""
    calls = [Background(lambda: client.echo(text="hold", timeout=timeout)) for _ in range(3)]
    wait_until(lambda: holding.holding >= 3, 10, "the three handlers to start")
    closing_at = time.monotonic()
    closing = Background(transport.close)
    closing.join(5)
    assert closing.finished_at - closing_at < 1.0, "close() blocked"
    for call in calls:
        call.wait(5)
        assert isinstance(call.error, leveret.Cancelled), call.error
        assert call.finished_at - closing_at < 1.0
    assert transport._conn is None
    with pytest.raises(leveret.Cancelled):
        client.add(a=1, b=1)


class _ClosingOnEntry(dict[str, Any]):
    """The call table of a transport: close() runs (on another thread) right after a call has
    passed the closed check and before it is in the table: the race close() must win."""

    def __init__(self, transport: BlockingTransport) -> None:
        super().__init__()
        self.transport = transport
        self.raced = 0

    def __setitem__(self, key: str, value: Any) -> None:
        if self.raced == 0:
            self.raced += 1
            Background(self.transport.close).join(5)
        super().__setitem__(key, value)


@pytest.mark.parametrize("timeout", [None, 3.0])
def test_call_racing_close_is_cancelled_at_once(
    worker: leveret.Worker,
    transport: BlockingTransport,
    client: EchoClient,
    timeout: float | None,
) -> None:
    """A call that slips past close() ends with Cancelled at once, neither spinning in its wait
    loop until its deadline nor (without one) for ever."""
    assert client.add(a=1, b=1).sum == 2
    transport._pending = _ClosingOnEntry(transport)
    started = time.monotonic()
    call = Background(lambda: client.add(a=2, b=2, timeout=timeout))
    call.wait(5)
    assert isinstance(call.error, leveret.Cancelled), call.error
    assert call.finished_at - started < 1.0


def test_close_from_another_thread_cancels_a_call_that_is_reconnecting(
    worker: leveret.Worker, queue: str
) -> None:
    """The thread driving the I/O is opening a connection (to a broker that does not answer):
    close() does not wait for its connect timeout."""
    with TcpProxy() as proxy:
        transport = BlockingTransport(proxy.url(), connect_timeout=5.0)
        client = EchoClient(transport, queue=queue)
        assert client.add(a=1, b=1).sum == 2
        proxy.stall()
        call = Background(lambda: client.add(a=2, b=2, timeout=None))
        wait_until(lambda: proxy.stalled >= 1, 10, "the client to try to reconnect")
        closing_at = time.monotonic()
        closing = Background(transport.close)
        closing.join(10)
        call.wait(10)
        assert closing.finished_at - closing_at < 1.0, "close() waited for the connect timeout"
        assert isinstance(call.error, leveret.Cancelled), call.error
        assert call.finished_at - closing_at < 1.0
        wait_until(lambda: proxy.held_open() == 0, 5, "the connection attempt to be dropped")
