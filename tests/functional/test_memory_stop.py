"""``memory://`` workers that stop with a request taken but not answered (the grace period is
over): as on the broker, where closing the channel requeues what it had not acked, the request
goes back to its queue and another worker answers it (issue 10 s.8)."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest

import leveret
from leveret import CallContext
from tests.support.background import Background
from tests.support.echo import AsyncEcho, Echo, EchoClient, EchoReply, EchoRequest
from tests.support.proxy import wait_until


class _Stuck(Echo):
    """Every call waits for ``gate``: the worker has to give up on it."""

    def __init__(self) -> None:
        super().__init__("stuck")
        self.gate = threading.Event()

    def _echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.started.set()
        self.gate.wait(30)
        return super()._echo(request, context)


class _AsyncStuck(AsyncEcho):
    def __init__(self) -> None:
        super().__init__("stuck")
        self.gate = threading.Event()
        self.started = threading.Event()

    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.started.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        return await super().echo(request, context)


@pytest.mark.parametrize("kind", ["threaded", "asyncio"])
@pytest.mark.parametrize("other", ["running", "started-after"])
def test_a_request_abandoned_at_stop_goes_to_another_worker(kind: str, other: str) -> None:
    url = f"memory://{uuid.uuid4().hex}"
    stuck: _Stuck | _AsyncStuck = _Stuck() if kind == "threaded" else _AsyncStuck()
    first = leveret.Worker(
        stuck, url=url, concurrency=1, grace=0.1, inline=False if kind == "threaded" else None
    )
    second = leveret.Worker(Echo("second"), url=url, concurrency=1, inline=False)
    try:
        first.start()
        with EchoClient.connect(url) as client:
            call = Background(lambda: client.echo(text="job", timeout=20))
            wait_until(stuck.started.is_set, 5, "the first worker's handler to start")
            if other == "running":
                second.start()
            first.stop()  # grace over: the handler is still running, its request abandoned
            if other == "started-after":
                second.start()
            reply = call.join(20)
        assert reply.text == "job"
        assert reply.worker == "second"
    finally:
        stuck.gate.set()
        second.stop()
        first.stop()


def test_a_request_answered_before_the_stop_is_not_requeued() -> None:
    """Only what was not settled goes back: a second worker started afterwards gets nothing."""
    url = f"memory://{uuid.uuid4().hex}"
    first_servicer, second_servicer = Echo("first"), Echo("second")
    with leveret.Worker(first_servicer, url=url, concurrency=1, inline=False) as first:
        with EchoClient.connect(url) as client:
            assert client.echo(text="one", timeout=5).worker == "first"
        first.stop()
    with (
        leveret.Worker(second_servicer, url=url, concurrency=1, inline=False),
        EchoClient.connect(url) as client,
    ):
        assert client.echo(text="two", timeout=5).worker == "second"
    assert first_servicer.calls == 1
    assert second_servicer.calls == 1  # "one" was not served twice
