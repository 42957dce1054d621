"""The asyncio client while it reconnects, against a real RabbitMQ through a loopback TCP proxy:
calls that arrive while a new connection is being set up, and ``close()`` racing a reconnect
or a broker that stops answering."""

from __future__ import annotations

import asyncio
import collections
import random
import re
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import leveret
from tests.support.echo import AsyncEchoClient, Echo
from tests.support.proxy import TcpProxy, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.faults]

CALLERS = 100
CUTS = 8


@pytest.fixture
def echo() -> Echo:
    return Echo("races")


@pytest.fixture
def worker(amqp_url: str, queue: str, echo: Echo) -> Iterator[leveret.Worker]:
    with leveret.Worker(echo, url=amqp_url, queue=queue, concurrency=16) as w:
        yield w


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy() as p:
        yield p


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait on the loop until ``condition`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)


def kinds(outcomes: list[object]) -> dict[str, int]:
    return dict(collections.Counter("ok" if o is True else type(o).__name__ for o in outcomes))


@pytest.mark.parametrize("reply_queue", ["direct", "exclusive"])
def test_calls_racing_reconnects_end_in_a_result_or_an_rpc_error(
    worker: leveret.Worker, queue: str, proxy: TcpProxy, reply_queue: str
) -> None:
    """100 tasks call in a loop while the connection is cut several times. A call that arrives
    while the new connection is still being set up waits for it: it never reaches the
    half-set-up connection (an ``AttributeError`` escaped there), and with an exclusive reply
    queue it never names the previous connection's queue (its reply would be lost, and the
    call would end at its deadline)."""
    outcomes: list[object] = []

    async def caller(client: AsyncEchoClient, stop: asyncio.Event, i: int) -> None:
        # A short pause between calls keeps new calls coming at every moment, also while
        # the first call after a cut is still setting up the new connection.
        pause = random.Random(i)
        n = 0
        while not stop.is_set():
            await asyncio.sleep(pause.uniform(0, 0.02))
            try:
                reply = await client.add(a=i, b=n, timeout=20)
                outcomes.append(True if reply.sum == i + n else f"wrong sum for {i}+{n}")
            except Exception as exc:  # every kind is recorded: the test is about which
                outcomes.append(exc)
            n += 1

    def more_calls() -> Callable[[], bool]:
        """Whether another call per caller has ended since now."""
        seen = len(outcomes)
        return lambda: len(outcomes) >= seen + CALLERS

    async def scenario() -> None:
        async with AsyncEchoClient.connect(
            proxy.url(), queue=queue, reply_queue=reply_queue
        ) as client:
            stop = asyncio.Event()
            tasks = [asyncio.create_task(caller(client, stop, i)) for i in range(CALLERS)]
            try:
                for _ in range(CUTS):
                    await until(more_calls(), 20, "calls to go through")
                    accepted = proxy.accepted
                    # Back at once: the next call reconnects, and others keep coming while it
                    # sets the new connection up.
                    proxy.cut()
                    proxy.restore()
                    await until(lambda: proxy.accepted > accepted, 20, "the client to reconnect")  # noqa: B023
                await until(more_calls(), 20, "calls after the last cut")
            except AssertionError as stuck:
                raise AssertionError(f"{stuck}; outcomes so far: {kinds(outcomes)}") from None
            finally:
                stop.set()
                await asyncio.gather(*tasks)

    asyncio.run(asyncio.wait_for(scenario(), 100))
    failures = [o for o in outcomes if o is not True]
    not_rpc = [f for f in failures if not isinstance(f, leveret.RpcError)]
    assert not not_rpc, f"not an RpcError: {kinds(not_rpc)}, e.g. {not_rpc[:3]!r}"
    # An idempotent call with a 20 s deadline rides out each short outage: every one of them
    # gets its own reply (a request that named a dead reply queue would end DeadlineExceeded).
    assert not failures, f"{kinds(outcomes)}, e.g. {failures[:3]!r}"
    assert proxy.accepted >= CUTS + 1


def test_close_during_a_reconnect_cancels_its_calls_and_leaves_no_connection(
    worker: leveret.Worker, queue: str
) -> None:
    """``close()`` while calls wait for a reconnect (to a first address that takes the TCP
    connection and never answers): they end with ``Cancelled`` at once, and the reconnect goes
    no further: it neither waits out the first address nor connects to the second one."""
    with TcpProxy() as first, TcpProxy() as second:

        async def scenario() -> tuple[list[object], float, Any]:
            client = await AsyncEchoClient.connect(
                f"{first.url()},{second.url()}", queue=queue, connect_timeout=3
            )
            assert (await client.add(a=1, b=1)).sum == 2
            first.stall()
            calls = [asyncio.ensure_future(client.add(a=2, b=i, timeout=10)) for i in range(3)]
            await until(lambda: first.stalled >= 1, 5, "a reconnect to begin")
            closed_at = time.monotonic()
            await client.close()
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
            return list(outcomes), time.monotonic() - closed_at, client._transport

        outcomes, ended, transport = asyncio.run(asyncio.wait_for(scenario(), 30))
        assert all(isinstance(o, leveret.Cancelled) for o in outcomes), outcomes
        assert ended < 1.0, ended  # at once, not after the 3 s connect timeout
        # The calls have ended, so nothing is left to connect later on.
        assert second.accepted == 0
        assert transport._conn is None
        wait_until(lambda: first.held_open() == 0, 5, "the given-up attempt's socket to close")


class _FreezingProxy(TcpProxy):
    """A proxy that can also freeze: connections stay open, but nothing passes any more (a
    broker that hangs with the connection up)."""

    frozen = False

    def freeze(self) -> None:
        self.frozen = True

    def _relay(
        self,
        src: socket.socket,
        dst: socket.socket,
        data: bytes,
        pair: tuple[socket.socket, socket.socket],
    ) -> bool:
        if not self.frozen:
            dst.sendall(data)
        return True


def test_close_behind_a_broker_that_stopped_answering_is_bounded(
    worker: leveret.Worker, queue: str
) -> None:
    """The broker never confirms the close: ``close()`` gives up after a second, as the sync
    client does, and drops the socket instead of waiting for ever."""
    with _FreezingProxy() as proxy:

        async def scenario() -> float:
            client = await AsyncEchoClient.connect(proxy.url(), queue=queue)
            assert (await client.add(a=1, b=1)).sum == 2
            proxy.freeze()
            started = time.monotonic()
            await client.close()
            elapsed = time.monotonic() - started
            await until(lambda: proxy.connections == 0, 5, "the client to drop its socket")
            return elapsed

        elapsed = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert 0.5 < elapsed < 2.0, elapsed


#: The start of a Channel.Open method frame on channel 1 (frame type 1, channel 1, a 4-byte size,
#: then class 20 method 10).
_CHANNEL_OPEN = re.compile(rb"\x01\x00\x01....\x00\x14\x00\x0a", re.DOTALL)


class _CutAtChannelOpen(TcpProxy):
    """A proxy that, once armed, drops the next connection as its client opens a channel: the
    connection is lost half-way through the client's setup."""

    armed = False

    def _relay(
        self,
        src: socket.socket,
        dst: socket.socket,
        data: bytes,
        pair: tuple[socket.socket, socket.socket],
    ) -> bool:
        if self.armed and src is pair[0] and _CHANNEL_OPEN.search(data):
            self.armed = False
            return False
        dst.sendall(data)
        return True


def test_a_connection_lost_during_its_setup_is_given_up_at_once(
    worker: leveret.Worker, queue: str
) -> None:
    """The new connection drops while the client sets up its channel: the attempt fails then,
    not at the end of the connect timeout, and the next attempt succeeds."""
    with _CutAtChannelOpen() as proxy:

        async def scenario() -> float:
            async with AsyncEchoClient.connect(proxy.url(), queue=queue, connect_timeout=5) as c:
                assert (await c.add(a=1, b=1)).sum == 2
                proxy.armed = True
                proxy.cut()
                proxy.restore()
                started = time.monotonic()
                assert (await c.add(a=2, b=2, timeout=20)).sum == 4
                assert not proxy.armed  # the setup was cut
                return time.monotonic() - started

        elapsed = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert elapsed < 2.0, elapsed  # not the 5 s connect timeout
