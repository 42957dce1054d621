"""Workers under faults, against a real RabbitMQ: dropped connections (through a loopback TCP
proxy), failover between broker addresses, a broker restart, graceful shutdown, the
``--workers`` supervisor, the concurrency bound and quorum queues.

``-m faults`` selects the tests that cut connections; ``-m broker_restart`` the one that restarts
the broker (it disturbs everyone using the broker while it runs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pika
import pytest

import leveret
from leveret import CallContext
from tests.conftest import AMQP_URL
from tests.support.background import Background
from tests.support.echo import (
    SERVICE,
    AsyncEcho,
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
    EchoRequest,
)
from tests.support.proxy import TcpProxy, free_port, wait_until
from tests.support.raw import publish_echo, ready_count
from tests.support.serve import Serve

pytestmark = pytest.mark.integration


# -- helpers ---------------------------------------------------------------------------------


def _declare_classic(url: str, queue: str) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        conn.channel().queue_declare(queue, durable=True)
    finally:
        conn.close()


def _rabbitmqctl(*args: str, timeout: float = 120) -> str:
    proc = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"rabbitmqctl {' '.join(args)}: {proc.stderr or proc.stdout}"
    return proc.stdout


def _queue_type(queue: str) -> str:
    for line in _rabbitmqctl(
        "list_queues", "-q", "--no-table-headers", "name", "type"
    ).splitlines():
        name, _, kind = line.partition("\t")
        if name == queue:
            return kind.strip()
    raise AssertionError(f"rabbitmqctl does not list {queue!r}")


needs_rabbitmqctl = pytest.mark.skipif(
    shutil.which("rabbitmqctl") is None
    or urlsplit(AMQP_URL).hostname not in ("127.0.0.1", "localhost", "::1"),
    reason="needs rabbitmqctl and the broker on this machine",
)


def _consumer(worker: leveret.Worker) -> Any:
    consumer = worker._active
    assert consumer is not None
    return consumer


# -- reconnect and failover ------------------------------------------------------------------


@pytest.mark.faults
def test_worker_reconnects_after_a_tcp_cut(amqp_url: str, queue: str) -> None:
    echo = Echo("behind-proxy")
    with (
        TcpProxy() as proxy,
        leveret.Worker(echo, url=proxy.url(), queue=queue) as worker,
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        assert client.add(a=1, b=2).sum == 3
        consumer = _consumer(worker)
        proxy.cut()
        wait_until(lambda: not consumer.connected, 10, "the worker to notice the cut")
        # The request queue outlives the worker's connection: a call made now waits in it.
        during = Background(lambda: client.echo(text="during the cut", timeout=30))
        wait_until(lambda: consumer.failed_rounds >= 2, 10, "reconnect attempts to fail")
        proxy.restore()
        assert during.join().text == "during the cut"
        assert consumer.connected and consumer.connects == 2
        assert client.echo(text="after").worker == "behind-proxy"


@pytest.mark.faults
@pytest.mark.parametrize(
    "failure",
    [
        pika.exceptions.ChannelWrongStateError("Channel is closed."),  # pika raises, not calls back
        RuntimeError("a bug in a reconnect step"),
    ],
    ids=["pika-error", "bug"],
)
def test_an_unforeseen_error_while_reconnecting_does_not_end_the_reconnects(
    amqp_url: str, queue: str, failure: Exception
) -> None:
    with (
        TcpProxy() as proxy,
        leveret.Worker(Echo("w"), url=proxy.url(), queue=queue) as worker,
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        assert client.add(a=1, b=2).sum == 3
        consumer = _consumer(worker)
        real_open = consumer._open
        raised: list[Exception] = []

        async def open_failing_once(url: str) -> None:
            if not raised:
                raised.append(failure)
                raise failure
            await real_open(url)

        consumer._open = open_failing_once
        proxy.cut()
        proxy.restore()
        wait_until(lambda: consumer.connects == 2, 20, "the worker to reconnect after the error")
        assert raised == [failure] and consumer.failed_rounds >= 1
        assert client.echo(text="after").worker == "w"


@pytest.mark.faults
def test_worker_fails_over_to_the_next_broker_address(amqp_url: str, queue: str) -> None:
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F"
    with TcpProxy() as first, TcpProxy() as second:
        url = ",".join([dead, first.url(), second.url()])
        with (
            leveret.Worker(Echo("w"), url=url, queue=queue) as worker,
            EchoClient.connect(amqp_url, queue=queue) as client,
        ):
            consumer = _consumer(worker)
            # The dead address is skipped at start; the first live one is used.
            assert consumer.address == first.url()
            assert client.add(a=1, b=1).sum == 2
            first.cut()  # and it stays down: the worker moves to the next address
            wait_until(
                lambda: consumer.connected and consumer.address == second.url(),
                10,
                "the worker to fail over to the second address",
            )
            assert second.connections == 1
            assert client.add(a=2, b=2).sum == 4


@pytest.mark.faults
def test_settling_a_delivery_of_a_lost_channel_is_harmless(amqp_url: str, queue: str) -> None:
    """A handler outlives its channel: its request was requeued and runs again on the new
    channel, under the same delivery tag. The late settle must not ack that redelivery (a
    second ack of the tag would be a channel error, forcing another reconnect)."""
    echo = Echo("w")
    with (
        TcpProxy() as proxy,
        leveret.Worker(echo, url=proxy.url(), queue=queue, concurrency=2) as worker,
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        consumer = _consumer(worker)
        slow = Background(lambda: client.echo(text="slow", delay=1.5, timeout=30))
        assert echo.started.wait(10)
        proxy.cut()
        proxy.restore()
        wait_until(lambda: consumer.connects == 2 and consumer.connected, 10, "a reconnect")
        wait_until(lambda: echo.calls == 2, 10, "the broker to redeliver the request")
        assert slow.join().text == "slow"
        # The redelivered run settles too; then nothing is left in the queue.
        wait_until(lambda: worker._running == 0, 10, "the redelivered run to finish")
        assert client.add(a=1, b=1).sum == 2  # after the settles, on the same channel
        assert consumer.connects == 2, "a stale ack broke the new channel"
    assert ready_count(amqp_url, queue) == 0


@pytest.mark.broker_restart
@needs_rabbitmqctl
def test_worker_resumes_after_a_broker_restart(
    amqp_url: str, queue: str, serve: Callable[..., Serve]
) -> None:
    worker = serve("--concurrency", "2")
    worker.wait_for("serving Echo")
    with EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.add(a=1, b=1).sum == 2
    try:
        _rabbitmqctl("stop_app")
        worker.wait_for("lost the connection")
        worker.wait_for("reconnect failed")  # it keeps trying while the broker is down
    finally:
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup", "--timeout", "120")
    worker.wait_for("reconnected", timeout=60)
    with EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.echo(text="after the restart", timeout=10).text == "after the restart"
    assert worker.proc.poll() is None
    worker.signal(signal.SIGTERM)
    assert worker.wait(20) == 0


# -- graceful shutdown -----------------------------------------------------------------------


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_finishes_the_running_handler_and_requeues_the_rest(
    amqp_url: str, queue: str, serve: Callable[..., Serve], tmp_path: Path, stop: signal.Signals
) -> None:
    env = {"LEVERET_TEST_STARTED_DIR": str(tmp_path)}
    _declare_classic(amqp_url, queue)
    # The requests wait in the queue for the worker started below.
    with EchoClient.connect(amqp_url, queue=queue, wait_for_ready=True) as client:
        calls = [
            Background(lambda text=f"job{i}": client.echo(text=text, delay=2.0, timeout=30))
            for i in range(3)
        ]
        wait_until(lambda: ready_count(amqp_url, queue) == 3, 10, "three requests queued")
        first = serve("--concurrency", "1", "--prefetch", "4", "--grace", "10", env=env)
        first.wait_for("serving Echo")
        # It took all three (prefetch 4) and started one (concurrency 1).
        wait_until(lambda: ready_count(amqp_url, queue) == 0, 10, "the worker to prefetch all")
        wait_until(lambda: len(list(tmp_path.iterdir())) == 1, 10, "the first handler to start")
        stopped_at = time.monotonic()
        first.signal(stop)
        # The two it had not started go back to the queue at once (nack), not at its exit.
        wait_until(lambda: ready_count(amqp_url, queue) == 2, 5, "two requests requeued")
        assert first.proc.poll() is None, "requeued only when the worker exited"
        assert first.wait(10) == 0
        assert time.monotonic() - stopped_at < 10, "not within the grace period"
        assert "2 request(s) not started went back to the queue" in first.output()
        assert ready_count(amqp_url, queue) == 2
        second = serve("--concurrency", "2", env=env)
        replies: list[EchoReply] = [call.join() for call in calls]
    by_worker = sorted(reply.worker for reply in replies)
    assert by_worker == sorted([f"pid{first.proc.pid}"] + [f"pid{second.proc.pid}"] * 2)
    started_by_first = [p for p in tmp_path.iterdir() if p.suffix == f".{first.proc.pid}"]
    assert len(started_by_first) == 1  # the requeued ones never ran on the first worker
    second.signal(signal.SIGTERM)
    assert second.wait(10) == 0


@pytest.mark.parametrize("workers", [None, "2"], ids=["one-process", "supervised"])
def test_a_second_signal_exits_at_once(
    amqp_url: str, queue: str, serve: Callable[..., Serve], tmp_path: Path, workers: str | None
) -> None:
    options = ["--grace", "60", *(["--workers", workers] if workers else [])]
    worker = serve(*options, env={"LEVERET_TEST_STARTED_DIR": str(tmp_path)})
    worker.wait_for("serving Echo", count=int(workers or 1))
    publish_echo(amqp_url, queue, ["long"], delay=60)
    wait_until(lambda: any(tmp_path.iterdir()), 10, "the long handler to start")
    worker.signal(signal.SIGTERM)
    worker.wait_for("waiting up to 60 s for 1 handler(s) in progress")
    assert worker.proc.poll() is None  # the first signal waits for the handler
    signalled_at = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait(5) == 128 + signal.SIGTERM
    assert time.monotonic() - signalled_at < 5
    # The abandoned request was never acked: it is back in the queue.
    wait_until(lambda: ready_count(amqp_url, queue) == 1, 10, "the request to be requeued")


def test_stop_requeues_deliveries_not_started_on_memory() -> None:
    url = f"memory://{uuid.uuid4().hex}"
    first, second = Echo("first"), Echo("second")
    with EchoClient.connect(url) as client:
        worker = leveret.Worker(first, url=url, concurrency=1).start()
        calls = [
            Background(lambda text=f"job{i}": client.echo(text=text, delay=0.5, timeout=30))
            for i in range(3)
        ]
        assert first.started.wait(10)
        wait_until(lambda: len(worker._backlog) == 2, 10, "two deliveries waiting")
        worker.stop()
        assert first.calls == 1
        with leveret.Worker(second, url=url, concurrency=2):
            replies = sorted(call.join().worker for call in calls)
    assert replies == ["first", "second", "second"]


# -- supervisor ------------------------------------------------------------------------------


def _child_pids(supervisor: Serve) -> list[int]:
    return [
        int(line.rsplit("(pid ", 1)[1].split(")")[0])
        for line in list(supervisor.lines)
        if "started worker" in line
    ]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_supervisor_restarts_a_worker_that_dies(
    amqp_url: str, queue: str, serve: Callable[..., Serve]
) -> None:
    supervisor = serve("--workers", "2", "--grace", "5")
    supervisor.wait_for("serving Echo", count=2)
    victim, survivor = _child_pids(supervisor)
    os.kill(victim, signal.SIGKILL)
    supervisor.wait_for(f"(pid {victim}) died with status SIGKILL")
    supervisor.wait_for("serving Echo", count=3)
    pids = _child_pids(supervisor)
    assert len(pids) == 3 and pids[:2] == [victim, survivor]
    replacement = pids[2]
    with EchoClient.connect(amqp_url, queue=queue) as client:
        # Two slow calls at once: one per worker (prefetch 1 each), so both serve.
        calls = [
            Background(lambda text=f"c{i}": client.echo(text=text, delay=0.5, timeout=20))
            for i in range(2)
        ]
        workers = {call.join().worker for call in calls}
    assert workers == {f"pid{survivor}", f"pid{replacement}"}
    supervisor.signal(signal.SIGTERM)
    assert supervisor.wait(20) == 0, supervisor.output()
    assert supervisor.count("stopped: every handler in progress finished") == 2
    assert _gone(survivor) and _gone(replacement)


def test_supervisor_refuses_bad_options_before_starting_workers(
    serve: Callable[..., Serve],
) -> None:
    supervisor = serve("--workers", "2", "--inline", "--concurrency", "4")
    assert supervisor.wait(20) == 2  # a configuration error, like a usage error
    assert "inline needs a sync servicer and concurrency 1" in supervisor.output()
    assert "serving" not in supervisor.output()


def test_supervisor_forwards_sigterm_for_a_graceful_stop(
    amqp_url: str, queue: str, serve: Callable[..., Serve], tmp_path: Path
) -> None:
    supervisor = serve(
        "--workers", "2", "--grace", "10", env={"LEVERET_TEST_STARTED_DIR": str(tmp_path)}
    )
    supervisor.wait_for("serving Echo", count=2)
    with EchoClient.connect(amqp_url, queue=queue) as client:
        call = Background(lambda: client.echo(text="inflight", delay=1.0, timeout=20))
        wait_until(lambda: any(tmp_path.iterdir()), 10, "the handler to start")
        supervisor.signal(signal.SIGTERM)
        assert call.join().text == "inflight"  # the handler in progress finished and replied
    assert supervisor.wait(20) == 0
    assert supervisor.count("stopped: every handler in progress finished") == 2


# -- concurrency bound -----------------------------------------------------------------------


class CountingAsyncEcho(AsyncEcho):
    """Counts how many handlers run at once."""

    def __init__(self) -> None:
        super().__init__("counting")
        self.active = 0
        self.max_active = 0

    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            return await super().echo(request, context)
        finally:
            self.active -= 1


@pytest.mark.parametrize("transport", ["amqp", "memory"])
def test_async_worker_runs_at_most_concurrency_handlers(
    amqp_url: str, queue: str, transport: str
) -> None:
    url = amqp_url if transport == "amqp" else f"memory://{uuid.uuid4().hex}"
    servicer = CountingAsyncEcho()

    async def main() -> list[str]:
        async with AsyncEchoClient.connect(url, queue=queue) as client:
            replies = await asyncio.gather(
                *(client.echo(text=str(i), delay=0.2, timeout=20) for i in range(6))
            )
        return [reply.text for reply in replies]

    with leveret.Worker(servicer, url=url, queue=queue, concurrency=2, prefetch=8):
        texts = asyncio.run(main())
    assert sorted(texts) == [str(i) for i in range(6)]
    assert servicer.max_active == 2


# -- queue types -----------------------------------------------------------------------------


@needs_rabbitmqctl
def test_worker_declares_a_quorum_queue(amqp_url: str, queue: str) -> None:
    with (
        leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue, queue_type="quorum"),
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        assert client.add(a=2, b=3).sum == 5
    assert _queue_type(queue) == "quorum"


@needs_rabbitmqctl
def test_the_definition_queue_type_is_the_default(amqp_url: str, queue: str) -> None:
    class QuorumEcho(AsyncEcho):
        service = dataclasses.replace(SERVICE, queue=queue, queue_type="quorum")

    worker = leveret.Worker(QuorumEcho(), url=amqp_url)
    assert worker.queue_type == "quorum"
    with worker, EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.add(a=2, b=3).sum == 5
    assert _queue_type(queue) == "quorum"
    # An explicit argument overrides the definition.
    assert leveret.Worker(QuorumEcho(), queue_type="classic").queue_type == "classic"


@needs_rabbitmqctl
def test_serve_queue_type_option(amqp_url: str, queue: str, serve: Callable[..., Serve]) -> None:
    worker = serve("--queue-type", "quorum")
    worker.wait_for("serving Echo on quorum queue")
    with EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.echo(text="q").text == "q"
    assert _queue_type(queue) == "quorum"
    worker.signal(signal.SIGTERM)
    assert worker.wait(20) == 0


def test_a_queue_type_clash_is_a_configuration_error(amqp_url: str, queue: str) -> None:
    _declare_classic(amqp_url, queue)
    with pytest.raises(leveret.ConfigurationError, match="exists with other arguments"):
        leveret.Worker(Echo(), url=amqp_url, queue=queue, queue_type="quorum").start()


def test_an_unknown_queue_type_is_refused() -> None:
    with pytest.raises(leveret.ConfigurationError, match="queue_type must be one of"):
        leveret.Worker(Echo(), queue_type="stream")
