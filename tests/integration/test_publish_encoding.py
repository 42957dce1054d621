"""A request that cannot be encoded (a queue or method name over AMQP's 255-byte short
string) fails its own call with ``InvalidArgument`` and nothing else: later publisher confirms
still settle the calls they belong to (sync and asyncio clients, real broker)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import pika
import pytest

import leveret
from leveret._amqp import AsyncioTransport, BlockingTransport
from leveret._client import DynamicClient
from leveret._errors import ORIGIN_NACK
from leveret._wire import Request
from tests.support.background import Background
from tests.support.echo import Echo
from tests.support.proxy import wait_until

pytestmark = pytest.mark.integration

#: (queue, method) of a request that cannot go out, given the service queue; each > 255 bytes.
BAD = {
    "long-queue": lambda queue: ("q" * 300, "add"),
    "non-ascii-method": lambda queue: (queue, "é" * 130),  # 130 characters, 260 bytes
}


@pytest.fixture
def echo() -> Echo:
    return Echo("encoding")


@pytest.fixture
def worker(amqp_url: str, queue: str, echo: Echo) -> Iterator[leveret.Worker]:
    with leveret.Worker(echo, url=amqp_url, queue=queue, concurrency=4) as w:
        yield w


@pytest.fixture
def refusing_queue(amqp_url: str) -> Iterator[str]:
    """A queue that refuses every message (max-length 0, reject-publish): publishes are nacked."""
    name = f"leveret.test.nack.{uuid.uuid4().hex[:12]}"
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        ch = conn.channel()
        ch.queue_declare(name, arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
        yield name
        ch.queue_delete(name)
    finally:
        conn.close()


def _assert_invalid_at_once(error: BaseException | None, took: float) -> None:
    assert isinstance(error, leveret.InvalidArgument), repr(error)
    assert "255 bytes" in str(error)
    assert error.never_sent
    assert took < 0.5, f"took {took:.3f} s"


def _assert_nacked_at_once(error: BaseException | None, took: float) -> None:
    """The nack settled this call (not one published before it) and at once."""
    assert isinstance(error, leveret.Unavailable), repr(error)
    assert error._origin == ORIGIN_NACK, error
    assert took < 1.0, f"took {took:.3f} s"


@pytest.mark.parametrize("bad", sorted(BAD))
def test_sync_unencodable_request_leaves_later_confirms_in_step(
    amqp_url: str, queue: str, worker: leveret.Worker, refusing_queue: str, bad: str
) -> None:
    bad_queue, bad_method = BAD[bad](queue)
    with DynamicClient(BlockingTransport(amqp_url)) as client:
        assert client.call(queue, "add", {"a": 1, "b": 1}, timeout=5) == {"sum": 2}
        for round_ in range(2):
            started = time.monotonic()
            try:
                client.call(bad_queue, bad_method, {"a": 1, "b": 2}, timeout=5)
            except Exception as exc:
                error: BaseException | None = exc
            else:
                error = None
            _assert_invalid_at_once(error, time.monotonic() - started)
            assert client.call(queue, "add", {"a": round_, "b": 2}, timeout=5) == {
                "sum": round_ + 2
            }
            started = time.monotonic()
            with pytest.raises(leveret.Unavailable) as refused:
                client.call(refusing_queue, "add", {"a": 1, "b": 2}, timeout=5, wait_for_ready=True)
            _assert_nacked_at_once(refused.value, time.monotonic() - started)
            assert client.call(queue, "add", {"a": 3, "b": round_}, timeout=5) == {
                "sum": 3 + round_
            }


def test_sync_unencodable_request_of_a_follower_fails_only_that_call(
    amqp_url: str, queue: str, worker: leveret.Worker, echo: Echo
) -> None:
    """The leader thread publishes a follower's request: the encoding error must reach the
    follower (at once), not the leader's own caller."""
    with DynamicClient(BlockingTransport(amqp_url)) as client:
        leader = Background(
            lambda: client.call(queue, "echo", {"text": "slow", "delay": 1.0}, timeout=10)
        )
        wait_until(echo.started.is_set, 10, "the leader's call to reach the handler")
        started = time.monotonic()
        try:
            client.call("q" * 300, "add", {"a": 1, "b": 2}, timeout=5)
        except Exception as exc:
            error: BaseException | None = exc
        else:
            error = None
        _assert_invalid_at_once(error, time.monotonic() - started)
        assert leader.join(10)["text"] == "slow"
        assert client.call(queue, "add", {"a": 1, "b": 2}, timeout=5) == {"sum": 3}


def _request(
    queue: str, method: str, body: object, timeout: float, wait_for_ready: bool = False
) -> Request:
    return Request(
        queue,
        method,
        uuid.uuid4().hex,
        json.dumps(body).encode(),
        time.time() + timeout,
        wait_for_ready,
    )


@pytest.mark.parametrize("bad", sorted(BAD))
def test_asyncio_unencodable_request_leaves_later_confirms_in_step(
    amqp_url: str, queue: str, worker: leveret.Worker, refusing_queue: str, bad: str
) -> None:
    bad_queue, bad_method = BAD[bad](queue)

    async def add(transport: AsyncioTransport, a: int, b: int) -> object:
        reply = await transport.call(_request(queue, "add", {"a": a, "b": b}, 5))
        assert reply.status == "OK", reply
        return json.loads(reply.body)

    async def scenario() -> None:
        transport = await AsyncioTransport.open(amqp_url)
        try:
            assert await add(transport, 1, 1) == {"sum": 2}
            for round_ in range(2):
                started = time.monotonic()
                try:
                    await transport.call(_request(bad_queue, bad_method, {"a": 1, "b": 2}, 5))
                except Exception as exc:
                    error: BaseException | None = exc
                else:
                    error = None
                _assert_invalid_at_once(error, time.monotonic() - started)
                assert await add(transport, round_, 2) == {"sum": round_ + 2}
                started = time.monotonic()
                with pytest.raises(leveret.Unavailable) as refused:
                    await transport.call(
                        _request(refusing_queue, "add", {"a": 1, "b": 2}, 5, wait_for_ready=True)
                    )
                _assert_nacked_at_once(refused.value, time.monotonic() - started)
                assert await add(transport, 3, round_) == {"sum": 3 + round_}
        finally:
            await transport.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
