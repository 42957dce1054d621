"""Calls to a queue that no worker consumes fail fast, unless the caller waits for a worker.

Issue 14, B12: once a worker has run, its durable queue stays; without a consumer check the
callers of a stopped service waited out their whole deadline. gRPC fails such calls at once with
UNAVAILABLE unless the caller asked ``wait_for_ready``; leveret does the same, on the broker and
on ``memory://``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import leveret
from leveret._amqp import _readiness
from tests.conftest import ROOT
from tests.support.echo import AsyncEchoClient, Echo, EchoClient
from tests.support.raw import ready_count

pytestmark = pytest.mark.integration

FAST = 0.5  # a fast failure takes far less than this; the calls' deadlines are 5 s


@pytest.fixture(params=["amqp", "memory"])
def url(request: pytest.FixtureRequest, amqp_url: str) -> str:
    return amqp_url if request.param == "amqp" else f"memory://{uuid.uuid4().hex}"


@pytest.fixture
def stopped_service(url: str, queue: str) -> Iterator[None]:
    """A queue whose worker has served and stopped: the queue stays, nobody consumes it."""
    with leveret.Worker(Echo(), url=url, queue=queue), EchoClient.connect(url, queue=queue) as c:
        assert c.add(a=1, b=2, timeout=5).sum == 3
    yield


def _until_fast_failure(call: Callable[[], object], within: float) -> leveret.Unavailable:
    """Call until one call fails fast with Unavailable; the cache of a served queue may let
    calls through for ``FRESH_FOR`` seconds after its worker left."""
    give_up = time.monotonic() + within
    while True:
        started = time.monotonic()
        try:
            call()
        except leveret.Unavailable as exc:
            if time.monotonic() - started < FAST:
                return exc
        except leveret.DeadlineExceeded:
            pass
        assert time.monotonic() < give_up, "no fast failure"


def test_a_sync_call_to_a_stopped_service_fails_fast(
    url: str, queue: str, stopped_service: None
) -> None:
    with EchoClient.connect(url, queue=queue) as client:
        started = time.monotonic()
        with pytest.raises(leveret.Unavailable, match="no worker is consuming") as caught:
            client.echo(text="hi", timeout=5)
        assert time.monotonic() - started < FAST
    assert caught.value.never_sent
    assert queue in caught.value.message and "wait_for_ready" in caught.value.message


def test_an_asyncio_call_to_a_stopped_service_fails_fast(
    url: str, queue: str, stopped_service: None
) -> None:
    async def main() -> None:
        async with AsyncEchoClient.connect(url, queue=queue) as client:
            started = time.monotonic()
            with pytest.raises(leveret.Unavailable, match="no worker is consuming"):
                await client.echo(text="hi", timeout=5)
            assert time.monotonic() - started < FAST

    asyncio.run(main())


def test_a_worker_that_leaves_is_noticed_within_the_cache_period(url: str, queue: str) -> None:
    with EchoClient.connect(url, queue=queue) as client:
        worker = leveret.Worker(Echo(), url=url, queue=queue).start()
        try:
            assert client.echo(text="hi", timeout=5).text == "hi"
        finally:
            worker.stop()
        error = _until_fast_failure(
            lambda: client.echo(text="hi", timeout=0.3), _readiness.FRESH_FOR + 3
        )
    assert "no worker is consuming" in error.message


def test_wait_for_ready_lets_the_request_wait_for_a_worker(
    url: str, queue: str, stopped_service: None
) -> None:
    with EchoClient.connect(url, queue=queue, wait_for_ready=True) as client:
        outcome: list[object] = []
        caller = threading.Thread(target=lambda: outcome.append(client.echo(text="x", timeout=10)))
        caller.start()
        if url.startswith("amqp"):
            deadline = time.monotonic() + 5
            while ready_count(url, queue) != 1:
                assert time.monotonic() < deadline, "the request never reached the queue"
                time.sleep(0.02)
        with leveret.Worker(Echo(), url=url, queue=queue):
            caller.join(10)
    assert [getattr(o, "text", o) for o in outcome] == ["x"]


def test_an_idempotent_call_rides_out_a_restart_and_others_fail_fast(
    url: str, queue: str, stopped_service: None
) -> None:
    started, done = threading.Event(), threading.Event()

    def restart() -> None:
        time.sleep(0.6)  # the gap of a rolling restart, while the callers below are refused
        with leveret.Worker(Echo(), url=url, queue=queue):
            started.set()
            done.wait(10)

    restarter = threading.Thread(target=restart)
    restarter.start()
    try:
        with EchoClient.connect(url, queue=queue) as client:
            begun = time.monotonic()
            with pytest.raises(leveret.Unavailable):
                client.echo(text="not idempotent", timeout=5)  # not retried: fails fast
            assert time.monotonic() - begun < FAST
            assert client.add(a=2, b=3, timeout=5).sum == 5  # retried until the worker is back
            assert started.is_set()
    finally:
        done.set()
        restarter.join()


def test_a_missing_queue_is_still_no_route(url: str, queue: str) -> None:
    with EchoClient.connect(url, queue=queue) as client, pytest.raises(leveret.Unavailable) as e:
        client.echo(text="hi", timeout=5)
    assert "no queue" in e.value.message and e.value.never_sent


def test_the_check_is_cached_not_made_per_call(
    amqp_url: str, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers: list[int] = []  # one per passive declare the broker answered
    original = _readiness.ConsumerCheck._answer

    def counting(self: _readiness.ConsumerCheck, ch: object, method: Any) -> None:
        answers.append(int(method.consumer_count))
        original(self, ch, method)

    monkeypatch.setattr(_readiness, "FRESH_FOR", 60.0)
    monkeypatch.setattr(_readiness.ConsumerCheck, "_answer", counting)
    with leveret.Worker(Echo(), url=amqp_url, queue=queue):
        with EchoClient.connect(amqp_url, queue=queue) as client:
            for i in range(50):
                assert client.add(a=i, b=1, timeout=5).sum == i + 1

        async def main() -> None:
            async with AsyncEchoClient.connect(amqp_url, queue=queue) as client:
                results = await asyncio.gather(*(client.add(a=i, b=1) for i in range(50)))
                assert [r.sum for r in results] == [i + 1 for i in range(50)]

        asyncio.run(main())
    assert answers == [1, 1]  # once per client, whatever the number of calls


def _leveret_call(amqp_url: str, queue: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "leveret", "call", "schemas/calculator.yaml", "add"),
            *('{"a": 1, "b": 2}', "--url", amqp_url, "--queue", queue, "--timeout", "20"),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_leveret_call_fails_fast_without_a_worker_unless_told_to_wait(
    amqp_url: str, queue: str
) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        conn.channel().queue_declare(queue, durable=True)
    finally:
        conn.close()
    started = time.monotonic()
    proc = _leveret_call(amqp_url, queue)
    assert proc.returncode == 1
    assert json.loads(proc.stderr)["code"] == "UNAVAILABLE"
    assert "no worker is consuming" in json.loads(proc.stderr)["message"]
    assert time.monotonic() - started < 10  # not the 20 s timeout
    proc = _leveret_call(amqp_url, queue, "--wait-for-ready", "--timeout", "0.5")
    assert proc.returncode == 1
    assert json.loads(proc.stderr)["code"] == "DEADLINE_EXCEEDED"
