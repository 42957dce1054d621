"""Client resilience against a real RabbitMQ: dropped connections (through a loopback TCP proxy
that the tests cut and restore), retries, the circuit breaker, backpressure, flow control."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

import leveret
from leveret._breaker import BreakerState, CircuitBreaker
from leveret._retry import RetryPolicy
from tests.support.background import Background
from tests.support.echo import (
    AddReply,
    AddRequest,
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
    EchoRequest,
)
from tests.support.proxy import TcpProxy, free_port, wait_until
from tests.support.raw import publish_echo, ready_count

pytestmark = pytest.mark.integration


@pytest.fixture
def echo() -> Echo:
    return Echo("direct")


@pytest.fixture
def worker(amqp_url: str, queue: str, echo: Echo) -> Iterator[leveret.Worker]:
    with leveret.Worker(echo, url=amqp_url, queue=queue, concurrency=4) as w:
        yield w


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy() as p:
        yield p


def test_call_in_flight_fails_at_once_when_the_connection_drops(
    worker: leveret.Worker, queue: str, proxy: TcpProxy, echo: Echo
) -> None:
    with EchoClient.connect(proxy.url(), queue=queue) as client:
        call = Background(lambda: client.echo(text="slow", delay=2.0, timeout=20))
        wait_until(echo.started.is_set, 10, "the handler to start")
        cut_at = time.monotonic()
        proxy.cut()
        call.wait()
        assert isinstance(call.error, leveret.Unavailable), call.error
        assert "connection lost" in str(call.error)
        assert call.finished_at - cut_at < 1.0  # at once, not at the 20 s timeout
        assert call.error.never_sent is False
        assert echo.calls == 1  # not idempotent: never retried


def test_client_reconnects_after_the_connection_comes_back(
    worker: leveret.Worker, queue: str, proxy: TcpProxy
) -> None:
    with EchoClient.connect(proxy.url(), queue=queue) as client:
        assert client.add(a=1, b=1).sum == 2
        proxy.cut()
        proxy.restore()
        # An idle client (no call for a while) checks its socket before the next publish, finds
        # the cut, and reconnects: the request goes out on a new proxied connection.
        time.sleep(0.3)  # makes the client idle for longer than its 0.2 s probe threshold
        assert client.echo(text="again", timeout=10).text == "again"
        assert proxy.accepted == 2


def test_idempotent_call_waits_out_an_outage_within_its_deadline(
    worker: leveret.Worker, queue: str, proxy: TcpProxy
) -> None:
    with EchoClient.connect(proxy.url(), queue=queue) as client:
        assert client.add(a=1, b=1).sum == 2
        proxy.cut()
        call = Background(lambda: client.add(a=20, b=22, timeout=15))
        transport = client._transport
        wait_until(lambda: transport._failures >= 2, 10, "failed reconnect attempts")
        proxy.restore()
        call.wait()
        assert call.error is None, call.error
        assert call.result.sum == 42  # type: ignore[attr-defined]


class _SlowFirstAdd(Echo):
    """``add`` holds its first request until ``gate`` opens; later ones answer at once."""

    def __init__(self) -> None:
        super().__init__("slow-first-add")
        self.gate = threading.Event()
        self.first_started = threading.Event()
        self.adds = 0

    def add(self, request: AddRequest, context: leveret.CallContext) -> AddReply:
        self.adds += 1
        if self.adds == 1:
            self.first_started.set()
            self.gate.wait(20)
        return super().add(request, context)


@pytest.mark.parametrize("client_kind", ["sync", "asyncio"])
def test_idempotent_call_in_flight_is_retried_after_the_connection_drops(
    amqp_url: str, queue: str, proxy: TcpProxy, client_kind: str
) -> None:
    """The connection drops with an idempotent call in flight: the call does not fail, it is
    sent again on a new connection; the first attempt's late reply is dropped."""
    slow = _SlowFirstAdd()
    with leveret.Worker(slow, url=amqp_url, queue=queue, concurrency=2):
        if client_kind == "sync":
            with EchoClient.connect(proxy.url(), queue=queue) as client:
                call = Background(lambda: client.add(a=20, b=22, timeout=20))
                wait_until(slow.first_started.is_set, 10, "the first attempt to be handled")
                proxy.cut()
                proxy.restore()
                call.wait()
                slow.gate.set()
                assert call.error is None, call.error
                assert call.result.sum == 42  # type: ignore[attr-defined]
        else:

            async def scenario() -> int:
                async with AsyncEchoClient.connect(proxy.url(), queue=queue) as client:
                    call = asyncio.ensure_future(client.add(a=20, b=22, timeout=20))
                    while not slow.first_started.is_set():
                        await asyncio.sleep(0.01)
                    proxy.cut()
                    proxy.restore()
                    reply = await call
                    slow.gate.set()
                    return reply.sum

            assert asyncio.run(asyncio.wait_for(scenario(), 30)) == 42
    assert slow.adds == 2  # the first attempt and the retry
    assert proxy.accepted == 2


def test_asyncio_call_in_flight_fails_at_once_when_the_connection_drops(
    worker: leveret.Worker, queue: str, proxy: TcpProxy, echo: Echo
) -> None:
    async def scenario() -> tuple[BaseException | None, float]:
        async with AsyncEchoClient.connect(proxy.url(), queue=queue) as client:
            call = asyncio.ensure_future(client.echo(text="slow", delay=2.0, timeout=20))
            while not echo.started.is_set():
                await asyncio.sleep(0.01)
            cut_at = time.monotonic()
            proxy.cut()
            with contextlib.suppress(leveret.RpcError):
                await call
            return call.exception(), time.monotonic() - cut_at

    error, elapsed = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert isinstance(error, leveret.Unavailable), error
    assert "connection lost" in str(error)
    assert error.never_sent is False
    assert elapsed < 1.0  # at once, not at the 20 s timeout
    assert echo.calls == 1  # not idempotent: never retried


def test_outage_longer_than_the_deadline_is_unavailable(
    worker: leveret.Worker, queue: str, proxy: TcpProxy
) -> None:
    with EchoClient.connect(proxy.url(), queue=queue) as client:
        proxy.cut()
        started = time.monotonic()
        with pytest.raises(leveret.Unavailable, match=r"not connected|cannot reach"):
            client.add(a=1, b=1, timeout=0.5)
        assert time.monotonic() - started < 1.0


def test_client_fails_over_to_the_next_broker_address(worker: leveret.Worker, queue: str) -> None:
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    with TcpProxy() as first, TcpProxy() as second:
        url = ",".join([dead, first.url(), second.url()])
        with EchoClient.connect(url, queue=queue) as client:
            assert client.add(a=1, b=1).sum == 2  # the dead address skipped
            assert (first.connections, second.connections) == (1, 0)
            first.cut()  # and it stays down
            assert client.add(a=2, b=2, timeout=10).sum == 4
            assert second.connections == 1
            assert client.echo(text="not idempotent").text == "not idempotent"


def test_asyncio_reconnect_is_bounded_by_the_call_deadline(
    worker: leveret.Worker, queue: str, proxy: TcpProxy
) -> None:
    """The broker's address takes the TCP connection and never answers: a call that has to
    reconnect fails at its own deadline, not after the client's connect timeout."""

    async def scenario() -> float:
        async with AsyncEchoClient.connect(proxy.url(), queue=queue, connect_timeout=5) as client:
            assert (await client.add(a=1, b=1)).sum == 2
            proxy.stall()
            started = time.monotonic()
            with pytest.raises(leveret.Unavailable, match="timed out") as info:
                await client.add(a=1, b=2, timeout=0.5)
            elapsed = time.monotonic() - started
            assert info.value.never_sent is True
            assert proxy.stalled >= 1  # it did try to reconnect
            # and gave the attempt up: no socket stays open, waiting for the broker to answer
            for _ in range(100):
                if proxy.held_open() == 0:
                    break
                await asyncio.sleep(0.05)
            assert proxy.held_open() == 0
            proxy.restore()
            assert (await client.add(a=2, b=2, timeout=10)).sum == 4  # and recovers
            return elapsed

    elapsed = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert 0.4 < elapsed < 1.5, elapsed  # the 0.5 s deadline, not the 5 s connect timeout


def test_sync_reconnect_is_bounded_by_the_call_deadline(
    worker: leveret.Worker, queue: str, proxy: TcpProxy
) -> None:
    with EchoClient.connect(proxy.url(), queue=queue, connect_timeout=5) as client:
        assert client.add(a=1, b=1).sum == 2
        proxy.stall()
        started = time.monotonic()
        with pytest.raises(leveret.Unavailable, match="timed out"):
            client.add(a=1, b=2, timeout=0.5)
        elapsed = time.monotonic() - started
        assert proxy.stalled >= 1
        wait_until(lambda: proxy.held_open() == 0, 5, "the client to drop its attempts")
        proxy.restore()
        assert client.add(a=2, b=2, timeout=10).sum == 4
    assert 0.4 < elapsed < 1.5, elapsed


def test_retries_off_means_one_attempt(amqp_url: str) -> None:
    with EchoClient.connect(
        amqp_url, queue="leveret.test.nobody-home", retry=RetryPolicy(max_attempts=1)
    ) as client:
        started = time.monotonic()
        with pytest.raises(leveret.Unavailable) as info:
            client.add(a=1, b=1, timeout=10)
        assert info.value.never_sent is True
        assert time.monotonic() - started < 0.2


def test_asyncio_call_held_by_flow_control_is_not_lost_with_the_connection(
    amqp_url: str, queue: str, worker: leveret.Worker, proxy: TcpProxy, echo: Echo
) -> None:
    """A call waiting for connection.blocked to lift was never sent: when the connection drops
    meanwhile, even a method that is not idempotent is tried again, and runs once."""

    async def scenario() -> str:
        async with AsyncEchoClient.connect(proxy.url(), queue=queue) as client:
            assert (await client.add(a=1, b=1)).sum == 2
            transport = client._transport
            _rabbitmqctl("set_vm_memory_high_watermark", "0.0000001")
            try:
                for _ in range(2000):  # the broker tells the client after a publish
                    if transport._blocked:
                        break
                    with contextlib.suppress(leveret.DeadlineExceeded):
                        await client.add(a=0, b=0, timeout=0.01)
                assert transport._blocked
                call = asyncio.ensure_future(client.echo(text="held", timeout=30))
                await asyncio.sleep(0)  # let it reach the wait for the block to lift
                assert not call.done()
                proxy.cut()
                proxy.restore()
                for _ in range(500):
                    if proxy.accepted >= 2 or call.done():
                        break
                    await asyncio.sleep(0.02)
                assert not call.done() or call.exception() is None, call.exception()
            finally:
                _rabbitmqctl("set_vm_memory_high_watermark", "0.4")
            return (await call).text

    calls_before = echo.calls
    assert asyncio.run(asyncio.wait_for(scenario(), 60)) == "held"
    assert echo.calls - calls_before == 1


def test_circuit_breaker_opens_fails_fast_and_closes_after_a_good_probe(
    amqp_url: str, queue: str
) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=0.3)
    with EchoClient.connect(
        amqp_url, queue=queue, circuit_breaker=breaker, retry=RetryPolicy(max_attempts=1)
    ) as client:
        for _ in range(3):  # nobody serves the queue yet: no route
            with pytest.raises(leveret.Unavailable, match="no queue"):
                client.echo(text="x")
        assert breaker.state is BreakerState.OPEN
        started = time.monotonic()
        with pytest.raises(leveret.Unavailable, match=r"circuit breaker .* is open"):
            client.echo(text="x")
        assert time.monotonic() - started < 0.05
        with leveret.Worker(Echo(), url=amqp_url, queue=queue):
            wait_until(lambda: breaker.state is BreakerState.HALF_OPEN, 5, "half-open")
            assert client.echo(text="probe").text == "probe"  # the probe goes through
            assert breaker.state is BreakerState.CLOSED
            assert client.echo(text="ok").text == "ok"


def test_a_cancelled_probe_does_not_leave_the_breaker_stuck(amqp_url: str, queue: str) -> None:
    """The caller gives up on the probe (cancels it): the next call is the next probe."""
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.2)

    async def scenario() -> str:
        async with AsyncEchoClient.connect(
            amqp_url, queue=queue, circuit_breaker=breaker, retry=RetryPolicy(max_attempts=1)
        ) as client:
            with pytest.raises(leveret.Unavailable, match="no queue"):
                await client.echo(text="x")  # nobody serves the queue: open
            assert breaker.state is BreakerState.OPEN
            with leveret.Worker(Echo(), url=amqp_url, queue=queue):
                while breaker.state is not BreakerState.HALF_OPEN:
                    await asyncio.sleep(0.01)
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(client.echo(text="slow", delay=1.0, timeout=5), 0.1)
                reply = await client.echo(text="next", timeout=5)
            return reply.text

    assert asyncio.run(asyncio.wait_for(scenario(), 30)) == "next"
    assert breaker.state is BreakerState.CLOSED


def test_circuit_breaker_is_off_by_default(amqp_url: str) -> None:
    with EchoClient.connect(amqp_url, queue="leveret.test.nobody-home") as client:
        for _ in range(8):
            with pytest.raises(leveret.Unavailable, match="no queue"):
                client.echo(text="x")


def test_calls_beyond_max_in_flight_wait_for_a_slot(
    amqp_url: str, queue: str, worker: leveret.Worker, echo: Echo
) -> None:
    with EchoClient.connect(amqp_url, queue=queue, max_in_flight=2) as client:
        calls = [
            Background(lambda i=i: client.echo(text=f"c{i}", delay=0.2, timeout=10))
            for i in range(6)
        ]
        for call in calls:
            call.wait()
        assert [c.error for c in calls] == [None] * 6
        assert echo.max_active <= 2  # the worker could run 4; the client let only 2 out


def test_waiting_for_a_slot_respects_the_deadline(
    amqp_url: str, queue: str, worker: leveret.Worker
) -> None:
    with EchoClient.connect(amqp_url, queue=queue, max_in_flight=1) as client:
        busy = Background(lambda: client.echo(text="busy", delay=1.0, timeout=10))
        wait_until(lambda: client._slots._value == 0, 5, "the only slot to be taken")
        started = time.monotonic()
        with pytest.raises(leveret.DeadlineExceeded, match="call slots"):
            client.echo(text="waits", timeout=0.2)
        assert time.monotonic() - started < 0.5
        busy.wait()
        assert busy.error is None


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


def test_broker_flow_control_makes_calls_wait_then_complete(
    amqp_url: str, queue: str, worker: leveret.Worker
) -> None:
    """connection.blocked (a memory alarm): the call waits within its deadline, then succeeds."""
    with EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.add(a=1, b=1).sum == 2
        transport = client._transport
        _rabbitmqctl("set_vm_memory_high_watermark", "0.0000001")
        try:
            call = Background(lambda: client.add(a=2, b=3, timeout=30))
            wait_until(lambda: transport._blocked, 20, "the broker to block the client")
            assert call.finished_at == 0.0  # still waiting
            # A call held back by the block still ends at its deadline.
            started = time.monotonic()
            with pytest.raises(leveret.DeadlineExceeded):
                client.add(a=1, b=1, timeout=0.3)
            assert time.monotonic() - started < 1.0
            assert call.finished_at == 0.0
        finally:
            _rabbitmqctl("set_vm_memory_high_watermark", "0.4")
        call.wait()
        assert call.error is None, call.error
        assert call.result.sum == 5  # type: ignore[attr-defined]
        assert transport._blocked is False


class _Gated(Echo):
    """Echo whose request "hold" waits for ``gate``; records the texts it served, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.hold_started = threading.Event()
        self.texts: list[str] = []

    def _echo(self, request: EchoRequest, context: leveret.CallContext) -> EchoReply:
        self.texts.append(request.text)
        if request.text == "hold":
            self.hold_started.set()
            self.gate.wait(20)
        return super()._echo(request, context)


def _queue_policy(queue: str) -> str:
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "policy"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return next((line.split()[1] for line in out.splitlines() if line.split()[:1] == [queue]), "")


@pytest.mark.parametrize("reconnected", [False, True], ids=["first-connection", "reconnected"])
def test_a_nacked_call_is_retried_even_when_not_idempotent(
    amqp_url: str, queue: str, proxy: TcpProxy, reconnected: bool
) -> None:
    """The broker refuses the publish (a full queue, overflow reject-publish): nack means the
    request was never enqueued, so the client tries again although `echo` is not idempotent, and
    the handler runs exactly once. After a reconnect too: the broker numbers the confirms of the
    new channel from 1, and the client must match them to its calls the same way."""
    gated = _Gated()
    policy = f"leveret-test-{queue}"
    retry = RetryPolicy()
    with leveret.Worker(gated, url=amqp_url, queue=queue) as worker:
        assert worker.inline  # one request at a time: "hold" keeps the next one in the queue
        # A policy, so that the worker's own declaration of the queue stays as it is.
        limits = json.dumps({"max-length": 1, "overflow": "reject-publish"})
        _rabbitmqctl("set_policy", "--apply-to", "queues", policy, f"^{queue}$", limits)
        try:
            wait_until(lambda: _queue_policy(queue) == policy, 20, "the policy to apply")
            with EchoClient.connect(proxy.url(), queue=queue, retry=retry) as client:
                if reconnected:
                    for i in range(3):
                        assert client.add(a=i, b=1).sum == i + 1
                    proxy.cut()
                    proxy.restore()
                    assert client.add(a=5, b=5).sum == 10  # idempotent: on a new connection
                    assert proxy.accepted == 2
                    gated.texts.clear()
                hold = Background(lambda: client.echo(text="hold", timeout=20))
                wait_until(gated.hold_started.is_set, 10, "the first request to be held")
                publish_echo(amqp_url, queue, ["filler"], 0.0)
                wait_until(lambda: ready_count(amqp_url, queue) == 1, 10, "the queue to be full")
                after = Background(lambda: client.echo(text="after", timeout=20))
                wait_until(
                    lambda: retry.budget.tokens < retry.budget.max_tokens or after.finished_at,
                    10,
                    "a publisher nack",
                )
                assert after.finished_at == 0.0, after.error  # refused, and being retried
                gated.gate.set()
                after.wait()
                hold.wait()
        finally:
            _rabbitmqctl("clear_policy", policy)
    assert hold.error is None and after.error is None, (hold.error, after.error)
    assert after.result.text == "after"  # type: ignore[attr-defined]
    assert gated.texts == ["hold", "filler", "after"]
