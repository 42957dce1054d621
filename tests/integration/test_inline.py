"""Inline handlers (a sync servicer, one request at a time, on the worker's I/O thread):
the default where it holds nothing back, heartbeats kept through a long handler, and signals
acted on while a handler holds the thread. Against a real RabbitMQ.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

import leveret
from tests.support.background import Background
from tests.support.echo import AsyncEcho, Echo, EchoClient
from tests.support.proxy import wait_until
from tests.support.raw import publish_echo, ready_count
from tests.support.serve import Serve

pytestmark = pytest.mark.integration


def _with_heartbeat(url: str, seconds: int) -> str:
    return f"{url}{'&' if '?' in url else '?'}heartbeat={seconds}"


def test_inline_is_the_default_only_where_it_holds_nothing_back(amqp_url: str) -> None:
    assert leveret.Worker(Echo(), url=amqp_url).inline
    assert not leveret.Worker(Echo(), url=amqp_url, concurrency=2).inline
    assert not leveret.Worker(Echo(), url=amqp_url, prefetch=4).inline  # others would wait
    assert not leveret.Worker(Echo(), url=amqp_url, inline=False).inline
    assert not leveret.Worker(AsyncEcho(), url=amqp_url).inline
    assert not leveret.Worker(Echo(), url=f"memory://{uuid.uuid4().hex}").inline  # no prefetch


def test_a_long_inline_handler_keeps_its_connection(amqp_url: str, queue: str) -> None:
    # Heartbeat timeout 1 s: the broker closes a connection it hears nothing from for ~2 s,
    # and the handler holds the worker's I/O thread for 5 s.
    worker = leveret.Worker(Echo("w"), url=_with_heartbeat(amqp_url, 1), queue=queue)
    assert worker.inline
    with worker, EchoClient.connect(amqp_url, queue=queue) as client:
        keeper = worker._keeper
        assert keeper is not None
        assert client.echo(text="slow", delay=5.0, timeout=30).text == "slow"
        assert client.echo(text="next", timeout=10).text == "next"
        consumer = worker._active
        assert consumer is not None
        assert consumer.connects == 1, "the broker closed the connection during the handler"  # type: ignore[attr-defined]
        assert keeper.beats >= 4


def test_sigterm_lets_an_inline_handler_finish_and_reply(
    amqp_url: str, queue: str, serve: Callable[..., Serve], tmp_path: Path
) -> None:
    worker = serve("--grace", "30", env={"LEVERET_TEST_STARTED_DIR": str(tmp_path)})
    worker.wait_for("handlers inline")
    with EchoClient.connect(amqp_url, queue=queue) as client:
        call = Background(lambda: client.echo(text="job", delay=2.0, timeout=30))
        wait_until(lambda: any(tmp_path.iterdir()), 10, "the handler to start")
        worker.signal(signal.SIGTERM)
        worker.wait_for("waiting up to 30 s for 1 handler(s) in progress")
        assert worker.proc.poll() is None  # still in the handler
        assert call.join().text == "job"
    assert worker.wait(15) == 0
    assert ready_count(amqp_url, queue) == 0  # replied and acked, nothing requeued


def test_grace_over_gives_up_on_a_stuck_inline_handler(
    amqp_url: str, queue: str, serve: Callable[..., Serve], tmp_path: Path
) -> None:
    worker = serve("--grace", "1", env={"LEVERET_TEST_STARTED_DIR": str(tmp_path)})
    worker.wait_for("handlers inline")
    publish_echo(amqp_url, queue, ["stuck"], delay=120)
    wait_until(lambda: any(tmp_path.iterdir()), 10, "the handler to start")
    signalled_at = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait(10) == 0
    assert time.monotonic() - signalled_at < 5, "grace is 1 s"
    assert "1 handler(s) still running: their requests go back to the queue" in worker.output()
    wait_until(lambda: ready_count(amqp_url, queue) == 1, 10, "the request to be requeued")


def test_no_inline_keeps_handlers_on_a_thread(serve: Callable[..., Serve]) -> None:
    worker = serve("--no-inline")
    worker.wait_for("serving Echo")
    assert "handlers inline" not in worker.output()
    worker.signal(signal.SIGTERM)
    assert worker.wait(20) == 0
