"""Client defects an adversarial review found after issue 14's first fixes, each reproduced
against the real broker: names the consumer check cannot send, a check the broker refuses,
failover past an address that never answers, close() during a retry backoff, and options that
were never validated."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import pika
import pytest

import leveret
from leveret import Backoff, DynamicClient, RetryPolicy
from leveret._amqp import AsyncioTransport, BlockingTransport, _readiness
from tests.support.echo import Echo, EchoClient
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
