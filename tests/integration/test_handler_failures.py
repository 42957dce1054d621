"""Handlers that fail in ways the dispatcher did not foresee still get a reply, and the worker
goes on serving: an error whose details are not JSON, a cancellation from inside the handler.
On the broker (inline, threaded and async workers) and on memory://."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import leveret
from leveret import CallContext
from tests.support.echo import AsyncEcho, AsyncEchoClient, Echo, EchoClient, EchoReply, FailRequest

pytestmark = pytest.mark.integration


class BadDetails(Echo):
    def fail(self, request: FailRequest, context: CallContext) -> EchoReply:
        raise leveret.NotFound("no such thing", details={"ids": {1, 2}})  # a set: not JSON


class AsyncFailures(AsyncEcho):
    async def fail(self, request: FailRequest, context: CallContext) -> EchoReply:
        if request.kind == "plain":  # the kinds name the test's cases, not Echo's
            raise leveret.NotFound("no such thing", details={"ids": {1, 2}})
        # Something the handler awaits is cancelled; the handler's own task is not.
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.cancel()
        await future
        raise AssertionError("unreachable")


def _url(transport: str, amqp_url: str) -> str:
    return amqp_url if transport == "amqp" else f"memory://{uuid.uuid4().hex}"


@pytest.mark.parametrize(
    ("transport", "inline"),
    [("amqp", True), ("amqp", False), ("memory", False)],  # memory:// has no inline handlers
    ids=["amqp-inline", "amqp-threaded", "memory-threaded"],
)
def test_error_details_that_are_not_json_become_internal(
    amqp_url: str, queue: str, transport: str, inline: bool
) -> None:
    url = _url(transport, amqp_url)
    with (
        leveret.Worker(BadDetails("w"), url=url, queue=queue, inline=inline),
        EchoClient.connect(url, queue=queue) as client,
    ):
        for _ in range(2):  # and again: the worker did not lose its only concurrency slot
            with pytest.raises(leveret.Internal, match="internal error in fail"):
                client.fail(kind="plain", timeout=5)
        assert client.add(a=1, b=2, timeout=5).sum == 3


@pytest.mark.parametrize("transport", ["amqp", "memory"])
@pytest.mark.parametrize("kind", ["plain", "status"], ids=["details", "cancelled-inside"])
def test_async_handler_failures_become_internal(
    amqp_url: str, queue: str, transport: str, kind: str
) -> None:
    url = _url(transport, amqp_url)

    async def main() -> int:
        async with AsyncEchoClient.connect(url, queue=queue) as client:
            for _ in range(3):  # more than the concurrency: no slot leaks
                with pytest.raises(leveret.Internal, match="internal error in fail"):
                    await client.fail(kind=kind, timeout=5)
            return (await client.add(a=1, b=2, timeout=5)).sum

    with leveret.Worker(AsyncFailures(), url=url, queue=queue, concurrency=2):
        assert asyncio.run(main()) == 3
