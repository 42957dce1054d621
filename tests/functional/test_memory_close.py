"""``memory://`` clients that close, or whose event loop ends, while a worker still serves them:
the worker serves on, and calls fail with ``Cancelled`` as on the broker transports."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

import leveret
from leveret import CallContext
from tests.support.background import Background
from tests.support.echo import (
    AsyncEcho,
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
    EchoRequest,
)
from tests.support.proxy import wait_until


class _Held(Echo):
    """``echo(text="held")`` waits for ``gate``; every other call answers at once."""

    def __init__(self) -> None:
        super().__init__("held")
        self.gate = threading.Event()
        self.held = threading.Event()

    def _echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        if request.text == "held":
            self.held.set()
            self.gate.wait(30)
        return super()._echo(request, context)


class _AsyncHeld(AsyncEcho):
    def __init__(self) -> None:
        super().__init__("held")
        self.gate = threading.Event()
        self.held = threading.Event()
        self.calls = 0

    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.calls += 1
        if request.text == "held":
            self.held.set()
            while not self.gate.is_set():
                await asyncio.sleep(0.01)
        return await super().echo(request, context)


@pytest.fixture
def url() -> str:
    return f"memory://{uuid.uuid4().hex}"  # an isolated broker per test


@pytest.fixture
def held() -> Iterator[_Held]:
    servicer = _Held()
    yield servicer
    servicer.gate.set()  # no handler left waiting once the test is over


@pytest.fixture
def worker(url: str, held: _Held) -> Iterator[leveret.Worker]:
    with leveret.Worker(held, url=url, concurrency=2, inline=False) as w:
        yield w
        held.gate.set()  # before the worker stops, which waits for its handlers


@pytest.mark.parametrize("kind", ["threaded", "asyncio"])
def test_a_reply_to_a_client_whose_loop_has_closed_does_not_stop_the_worker(
    url: str, kind: str
) -> None:
    """An asyncio client sends a call and its event loop ends before the reply (a test that
    forgot to close its client). Delivering that reply must not fail inside the worker, which
    then stopped taking the calls that waited for a free slot."""
    servicer: _Held | _AsyncHeld = _Held() if kind == "threaded" else _AsyncHeld()
    inline = False if kind == "threaded" else None
    with leveret.Worker(servicer, url=url, concurrency=1, inline=inline) as worker:

        async def abandon() -> None:
            client = await AsyncEchoClient.connect(url)
            call = asyncio.ensure_future(client.echo(text="held", timeout=30))
            while not servicer.held.is_set():
                await asyncio.sleep(0.01)
            call.cancel()  # and the loop ends, with the client never closed

        asyncio.run(abandon())
        with EchoClient.connect(url) as client:
            waiting = Background(lambda: client.echo(text="next", timeout=10))
            wait_until(lambda: len(worker._backlog) == 1, 5, "the next call to wait for a slot")
            servicer.gate.set()
            assert waiting.join().text == "next"


@pytest.mark.parametrize("kind", ["sync", "asyncio"])
def test_a_closed_memory_client_refuses_calls_at_once(
    url: str, worker: leveret.Worker, held: _Held, kind: str
) -> None:
    if kind == "sync":
        client = EchoClient.connect(url)
        client.close()
        with pytest.raises(leveret.Cancelled):
            client.echo(text="after close", timeout=30)
    else:

        async def scenario() -> None:
            client = await AsyncEchoClient.connect(url)
            await client.close()
            with pytest.raises(leveret.Cancelled):
                await asyncio.wait_for(client.echo(text="after close", timeout=30), 5)

        asyncio.run(scenario())
    assert held.calls == 0  # nothing was sent


def test_closing_a_sync_memory_client_cancels_its_waiting_calls(
    url: str, worker: leveret.Worker, held: _Held
) -> None:
    client = EchoClient.connect(url)
    waiting = Background(lambda: client.echo(text="held", timeout=30))
    wait_until(held.held.is_set, 5, "the call to reach its handler")
    closed_at = time.monotonic()
    client.close()
    waiting.wait()
    assert isinstance(waiting.error, leveret.Cancelled), waiting.error
    assert waiting.finished_at - closed_at < 1.0  # at once, not at the 30 s deadline


def test_closing_an_asyncio_memory_client_cancels_its_waiting_calls(
    url: str, worker: leveret.Worker, held: _Held
) -> None:
    async def scenario() -> tuple[BaseException | None, float]:
        client = await AsyncEchoClient.connect(url)
        call = asyncio.ensure_future(client.echo(text="held", timeout=30))
        while not held.held.is_set():
            await asyncio.sleep(0.01)
        closed_at = time.monotonic()
        await client.close()
        await asyncio.wait({call}, timeout=5)
        return (call.exception() if call.done() else None), time.monotonic() - closed_at

    error, elapsed = asyncio.run(scenario())
    assert isinstance(error, leveret.Cancelled), error
    assert elapsed < 1.0
