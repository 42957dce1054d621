"""Issue 10 s.8: a worker stopping while it holds more deliveries than it runs (``prefetch``
over ``concurrency``) starts none of those it has not started. With ``inline=True`` the handler
holds the loop's thread, so the deliveries the broker has already sent wait in pika's buffer,
and they used to be dispatched (and run, one after the other) before the loop saw the stop.
Against a real RabbitMQ."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import pika
import pytest

import leveret
from tests.support.background import Background
from tests.support.echo import Echo
from tests.support.proxy import wait_until
from tests.support.raw import RawPeer
from tests.support.serve import Serve

pytestmark = pytest.mark.integration

_REQUESTS = 8


def _declare(url: str, queue: str) -> None:
    """The queue as the worker declares it (a classic, durable queue), so that requests can wait
    in it before any worker consumes: they then reach the worker in one burst."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        conn.channel().queue_declare(queue, durable=True)
    finally:
        conn.close()


@pytest.mark.parametrize("inline", [True, False])
def test_a_stop_starts_none_of_the_buffered_deliveries(
    amqp_url: str, queue: str, inline: bool
) -> None:
    _declare(amqp_url, queue)
    peer = RawPeer(amqp_url)
    try:
        cids = [
            peer.publish(queue, json.dumps({"text": f"r{i}", "delay": 1.0}).encode())
            for i in range(_REQUESTS)
        ]
        first = Echo("first")
        worker = leveret.Worker(
            first, url=amqp_url, queue=queue, inline=inline, prefetch=_REQUESTS, grace=30
        )
        assert worker.inline is inline
        # start() returns at basic.consume-ok, which the broker sends before the deliveries
        # but which pika hands over only after the handlers of the burst read with it: so the
        # stop comes from here, while the first handler runs.
        starting = Background(worker.start)
        wait_until(first.started.is_set, 10, "the first handler to start")
        stopping = Background(lambda: worker.stop(timeout=60))
        stopping.join(60)
        starting.join(60)
        # The handler that was running when the stop came finished; nothing else started.
        assert first.calls == 1, f"{first.calls} handlers started on the stopping worker"

        second = Echo("second")
        with leveret.Worker(second, url=amqp_url, queue=queue, concurrency=4, prefetch=8):
            replies = [peer.wait(cid, timeout=30) for cid in cids]
        assert all(r is not None and r.status == "OK" for r in replies), replies
        workers = [r.json()["worker"] for r in replies if r is not None]
        assert workers.count("first") == 1
        assert workers.count("second") == _REQUESTS - 1
    finally:
        peer.close()


def test_sigterm_starts_none_of_the_buffered_deliveries_of_an_inline_worker(
    amqp_url: str, queue: str, serve: Callable[..., Serve], tmp_path: Path
) -> None:
    """The same under ``leveret serve``: the signal reaches the main thread while the inline
    handler holds the loop's thread."""
    _declare(amqp_url, queue)
    peer = RawPeer(amqp_url)
    try:
        cids = [
            peer.publish(queue, json.dumps({"text": f"r{i}", "delay": 1.0}).encode())
            for i in range(_REQUESTS)
        ]
        worker = serve(
            "--inline",
            "--prefetch",
            str(_REQUESTS),
            "--grace",
            "30",
            env={"LEVERET_TEST_STARTED_DIR": str(tmp_path)},
        )
        wait_until(lambda: any(tmp_path.iterdir()), 20, "the first handler to start")
        worker.signal(signal.SIGTERM)
        assert worker.wait(30) == 0, worker.output()
        started = sorted(p.name.split(".")[0] for p in tmp_path.iterdir())
        assert len(started) == 1, f"handlers started on the stopping worker: {started}"

        second = Echo("second")
        with leveret.Worker(second, url=amqp_url, queue=queue, concurrency=4, prefetch=8):
            replies = [peer.wait(cid, timeout=30) for cid in cids]
        assert all(r is not None and r.status == "OK" for r in replies), replies
        assert second.calls == _REQUESTS - 1
    finally:
        peer.close()
