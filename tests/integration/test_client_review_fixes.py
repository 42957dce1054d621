"""Client defects an adversarial review found after issue 14's first fixes, each reproduced
against the real broker: names the consumer check cannot send, a check the broker refuses,
failover past an address that never answers, close() during a retry backoff, and options that
were never validated."""

from __future__ import annotations

import asyncio
import math
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pytest

import leveret
from leveret import Backoff, DynamicClient, RetryPolicy
from leveret._amqp import AsyncioTransport, BlockingTransport, _readiness
from tests.support.echo import AsyncEchoClient, Echo, EchoClient
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.integration


@pytest.fixture
def worker(amqp_url: str, queue: str) -> Iterator[leveret.Worker]:
    with leveret.Worker(Echo(), url=amqp_url, queue=queue) as running:
        yield running


def test_a_queue_name_amqp_cannot_carry_fails_only_its_own_call(
    amqp_url: str, queue: str, worker: leveret.Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_readiness, "FRESH_FOR", 0.0)  # every call checks its queue again
    with DynamicClient.connect(amqp_url) as client:
        assert client.call(queue, "add", {"a": 1, "b": 2}, timeout=5) == {"sum": 3}
        for bad in ("bad\udcff", 123):
            with pytest.raises(leveret.InvalidArgument):
                client.call(bad, "add", {"a": 1, "b": 2}, timeout=5)  # type: ignore[arg-type]
            started = time.monotonic()
            assert client.call(queue, "add", {"a": 2, "b": 2}, timeout=5) == {"sum": 4}
            assert time.monotonic() - started < 1


def test_a_check_the_broker_refuses_is_not_repeated_per_call(
    amqp_url: str, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue exclusive to another connection: the passive declare gets 405 RESOURCE_LOCKED.
    The call goes out as it would without the check, and the check is not retried in a loop."""
    opened: list[object] = []
    original = _readiness.ConsumerCheck._on_open

    def counting(self: _readiness.ConsumerCheck, ch: Any) -> None:
        opened.append(ch)
        original(self, ch)

    monkeypatch.setattr(_readiness.ConsumerCheck, "_on_open", counting)
    owner = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        owner.channel().queue_declare(queue, exclusive=True)
        with DynamicClient.connect(amqp_url) as client:
            started = time.process_time()
            for _ in range(3):
                with pytest.raises(leveret.DeadlineExceeded):
                    client.call(queue, "add", {"a": 1, "b": 2}, timeout=0.3)
            assert time.process_time() - started < 0.5  # no busy loop of checks
        # One check per call at most: a call that timed out makes the next one check again.
        assert 1 <= len(opened) <= 3
    finally:
        owner.close()


def test_the_sync_client_gives_each_address_its_own_connect_timeout(amqp_url: str) -> None:
    with TcpProxy() as hole:
        hole.stall()  # accepts, never answers: the AMQP handshake hangs
        started = time.monotonic()
        transport = BlockingTransport(f"{hole.url()},{amqp_url}", connect_timeout=1)
        try:
            assert time.monotonic() - started < 2.5
            assert transport._url == amqp_url
        finally:
            transport.close()


def test_close_wakes_a_call_waiting_out_its_retry_backoff(amqp_url: str, queue: str) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        conn.channel().queue_declare(queue, durable=True)  # a queue nobody consumes
    finally:
        conn.close()
    slow = RetryPolicy(backoff=Backoff(initial=10.0, multiplier=1.0, maximum=10.0, jitter=0.0))
    client = EchoClient.connect(amqp_url, queue=queue, retry=slow)
    ended: list[tuple[float, BaseException]] = []

    def call() -> None:
        try:
            client.add(a=1, b=1, timeout=30)  # idempotent: retried after a 10 s backoff
        except leveret.RpcError as exc:
            ended.append((time.monotonic(), exc))

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)  # the first attempt fails at once; the caller is in its backoff by now
    closed_at = time.monotonic()
    client.close()
    caller.join(5)
    assert ended and isinstance(ended[0][1], leveret.Cancelled)
    assert ended[0][0] - closed_at < 0.5


@pytest.mark.parametrize("bad", [math.nan, math.inf, 0, -1, 1e300, True, "5"])
def test_connect_timeout_is_validated(amqp_url: str, bad: Any) -> None:
    with pytest.raises(leveret.ConfigurationError, match="connect_timeout"):
        DynamicClient.connect(amqp_url, connect_timeout=bad)
    with pytest.raises(leveret.ConfigurationError, match="connect_timeout"):
        EchoClient.connect(amqp_url, connect_timeout=bad)

    async def main() -> None:
        with pytest.raises(leveret.ConfigurationError, match="connect_timeout"):
            await AsyncioTransport.open(amqp_url, connect_timeout=bad)

    asyncio.run(main())


def test_a_body_that_is_not_json_is_invalid_argument(amqp_url: str, queue: str) -> None:
    with DynamicClient.connect(amqp_url) as client:
        for body in ({1, 2}, {"a": math.nan}):
            with pytest.raises(leveret.InvalidArgument, match="not JSON"):
                client.call(queue, "add", body, timeout=5)


# -- found by the review of the asyncio client, memory:// and the consumer check -------------

_CONSUME_OK = b"\x00\x3c\x00\x15"  # basic.consume-ok: the client's last setup step


class _CutAfterSetup(TcpProxy):
    """Drops a connection right after the broker's basic.consume-ok has reached the client,
    while ``armed``: the connection is lost just as its setup completes."""

    armed = 0

    def _relay(
        self,
        src: socket.socket,
        dst: socket.socket,
        data: bytes,
        pair: tuple[socket.socket, socket.socket],
    ) -> bool:
        dst.sendall(data)
        if self.armed and src is pair[1] and _CONSUME_OK in data:
            self.armed -= 1
            return False
        return True


class _SlowProxy(TcpProxy):
    """Every chunk arrives ``delay`` seconds late: a broker some round trips away, where a
    connection takes longer to set up than the calls' deadlines."""

    delay = 0.03

    def _relay(
        self,
        src: socket.socket,
        dst: socket.socket,
        data: bytes,
        pair: tuple[socket.socket, socket.socket],
    ) -> bool:
        time.sleep(self.delay)
        dst.sendall(data)
        return True


def _outcomes_sync(url: str, queue: str) -> list[object]:
    outcomes: list[object] = []
    try:
        client = EchoClient.connect(url, queue=queue, connect_timeout=3)
    except leveret.RpcError as exc:
        outcomes.append(exc)
        client = EchoClient.connect(url, queue=queue, connect_timeout=3)
    with client:
        for _ in range(5):
            try:
                outcomes.append(client.echo(text="x", timeout=2).text)
            except leveret.RpcError as exc:
                outcomes.append(exc)
    return outcomes


async def _outcomes_asyncio(url: str, queue: str) -> list[object]:
    outcomes: list[object] = []
    try:
        client = await AsyncEchoClient.connect(url, queue=queue, connect_timeout=3)
    except leveret.RpcError as exc:
        outcomes.append(exc)
        client = await AsyncEchoClient.connect(url, queue=queue, connect_timeout=3)
    async with client:
        for _ in range(5):
            try:
                outcomes.append((await client.echo(text="x", timeout=2)).text)
            except leveret.RpcError as exc:
                outcomes.append(exc)
    return outcomes


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_a_connection_lost_as_its_setup_completes_is_not_taken_for_ready(
    amqp_url: str, queue: str, worker: leveret.Worker, flavour: str
) -> None:
    for _ in range(3):  # the loss races the end of the setup: try it a few times
        with _CutAfterSetup() as proxy:
            proxy.armed = 1
            if flavour == "sync":
                outcomes = _outcomes_sync(proxy.url(), queue)
            else:
                outcomes = asyncio.run(_outcomes_asyncio(proxy.url(), queue))
        # Every call of the client ends: a failure may come first, then the client recovers.
        assert outcomes[-3:] == ["x", "x", "x"], outcomes


def test_asyncio_calls_shorter_than_a_connection_setup_still_reconnect(
    amqp_url: str, queue: str, worker: leveret.Worker
) -> None:
    async def main() -> int:
        with _SlowProxy() as proxy:
            async with AsyncEchoClient.connect(proxy.url(), queue=queue) as client:
                assert (await client.echo(text="warm", timeout=5)).text == "warm"
                proxy.cut()
                proxy.restore()
                give_up = time.monotonic() + 10
                while time.monotonic() < give_up:
                    try:
                        await client.echo(text="x", timeout=0.3)
                    except leveret.RpcError:
                        continue
                    return 1
                return 0

    assert asyncio.run(main()) == 1, "never reconnected"


def test_the_retries_that_ride_out_a_restart_do_not_open_the_circuit_breaker() -> None:
    url = f"memory://{uuid.uuid4().hex}"
    breaker = leveret.CircuitBreaker()
    with leveret.Worker(Echo(), url=url), EchoClient.connect(url) as client:
        client.add(a=1, b=1, timeout=5)
    restarted = leveret.Worker(Echo(), url=url)
    back = threading.Timer(1.0, restarted.start)  # the gap of a rolling restart
    with EchoClient.connect(url, circuit_breaker=breaker) as client:
        back.start()
        try:
            assert client.add(a=2, b=3, timeout=5).sum == 5  # retried until the worker is back
        finally:
            back.join()
            restarted.stop()
    assert breaker.state is leveret.BreakerState.CLOSED


class _SilentConnection:
    """A connection whose channels never open: a check that hangs (a half-open link)."""

    is_open = True

    def channel(self, on_open_callback: object) -> None:
        pass


def test_callers_that_stop_waiting_leave_no_callback_behind_in_a_hanging_check() -> None:
    check = _readiness.ConsumerCheck()
    conn = _SilentConnection()
    callbacks = [lambda count, error: None for _ in range(3)]
    for callback in callbacks:
        check.check(conn, "q", callback)
    for callback in callbacks[:2]:
        check.cancel("q", callback)
    assert check._waiting == {"q": callbacks[2:]}
