"""Prometheus metrics: ``leveret.prometheus.Metrics`` on both sides and ``leveret serve
--metrics-port``, scraped over HTTP after a mix of OK and declared-error calls."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

import leveret
from leveret.prometheus import Metrics
from tests.conftest import ROOT
from tests.support.echo import (
    ECHO,
    SERVICE,
    AsyncEcho,
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
    EchoRequest,
)
from tests.support.proxy import free_port, wait_until
from tests.support.serve import Serve

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def _scrape(url: str) -> tuple[str, Samples]:
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        text: str = response.read().decode()
    return text, _parse(text)


def _labels(samples: Samples, prefix: str) -> set[str]:
    """Every label value of the series named ``prefix...`` but the histograms' bucket bounds."""
    return {
        value
        for (name, labels) in samples
        if name.startswith(prefix)
        for key, value in labels
        if key != "le"
    }


@pytest.fixture
def started() -> Iterator[list[Serve]]:
    procs: list[Serve] = []
    yield procs
    for proc in procs:
        proc.kill()


def _metrics_url(proc: Serve, count: int = 1) -> list[str]:
    proc.wait_for("metrics at http://", count=count)
    found = [re.search(r"(http://[\d.]+:\d+/metrics)", line) for line in proc.lines]
    return [m.group(1) for m in found if m]


def _mixed_calls(client: EchoClient) -> list[str]:
    """3 OK echo calls, 2 declared errors, 1 plain status and 1 handler crash on ``fail``;
    returns the correlation-free outcomes, for the test to be sure of what happened."""
    outcomes = []
    for text in ("a", "b", "c"):
        outcomes.append(client.echo(text=text).text)
    for kind in ("declared", "declared", "status", "plain"):
        with pytest.raises(leveret.RpcError) as caught:
            client.fail(kind=kind)
        outcomes.append(caught.value.status.name)
    return outcomes


def test_serve_metrics_port_exposes_the_server_series_after_ok_and_error_calls(
    amqp_url: str, queue: str, started: list[Serve]
) -> None:
    proc = Serve(
        amqp_url, queue, "--metrics-port", "0", "--metrics-host", "127.0.0.1"
    )  # fmt: skip
    started.append(proc)
    (url,) = _metrics_url(proc)
    proc.wait_for("serving")
    with EchoClient.connect(amqp_url, queue=queue) as client:
        assert _mixed_calls(client) == [
            "a", "b", "c", "FAILED_PRECONDITION", "FAILED_PRECONDITION", "NOT_FOUND", "INTERNAL"
        ]  # fmt: skip
    # The middleware counts before the reply goes out, so the numbers are final already.
    text, samples = _scrape(url)
    echo = {"service": "Echo", "method": "echo"}
    fail = {"service": "Echo", "method": "fail"}
    assert _value(samples, "leveret_server_started_total", **echo) == 3
    assert _value(samples, "leveret_server_handled_total", **echo, code="OK") == 3
    assert _value(samples, "leveret_server_started_total", **fail) == 4
    assert _value(samples, "leveret_server_handled_total", **fail, code="FAILED_PRECONDITION") == 2
    assert _value(samples, "leveret_server_handled_total", **fail, code="NOT_FOUND") == 1
    assert _value(samples, "leveret_server_handled_total", **fail, code="INTERNAL") == 1
    assert _value(samples, "leveret_server_handled_total", **fail, code="OK") == 0
    assert _value(samples, "leveret_server_handling_seconds_count", **echo) == 3
    assert _value(samples, "leveret_server_handling_seconds_count", **fail) == 4
    assert _value(samples, "leveret_server_handling_seconds_bucket", **echo, le="+Inf") == 3
    assert (_value(samples, "leveret_server_handling_seconds_sum", **echo) or 0) > 0
    assert _value(samples, "leveret_server_in_flight", **echo) == 0
    # Every method of the definition is there from the first call, at zero.
    assert _value(samples, "leveret_server_started_total", service="Echo", method="add") == 0
    assert "# TYPE leveret_server_handling_seconds histogram" in text
    # Bounded labels only: no queue (this test's queue name is unique), no correlation id.
    statuses = {status.name for status in leveret.StatusCode}
    assert _labels(samples, "leveret_") <= {"Echo", "echo", "add", "fail"} | statuses
    assert queue not in text
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def _client_samples(registry: CollectorRegistry) -> Samples:
    from prometheus_client import generate_latest

    return _parse(generate_latest(registry).decode())


def test_client_series_count_attempts_retries_and_errors(amqp_url: str, queue: str) -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    add = {"service": "Echo", "method": "add"}
    echo = {"service": "Echo", "method": "echo"}
    fail = {"service": "Echo", "method": "fail"}
    with EchoClient.connect(amqp_url, queue=queue, middleware=[metrics]) as client:
        # No worker yet: add (idempotent) is retried until its deadline, then UNAVAILABLE.
        with pytest.raises(leveret.Unavailable):
            client.add(a=1, b=2, timeout=0.5)
        samples = _client_samples(registry)
        retries = _value(samples, "leveret_client_retries_total", **add) or 0
        assert retries >= 1
        # Each attempt is started and handled once; one call is the attempts minus retries.
        assert _value(samples, "leveret_client_started_total", **add) == retries + 1
        assert _value(samples, "leveret_client_handled_total", **add, code="UNAVAILABLE") == (
            retries + 1
        )
        with leveret.Worker(Echo(), url=amqp_url, queue=queue):
            assert client.echo(text="x").text == "x"
            with pytest.raises(leveret.FailedPrecondition):
                client.fail(kind="declared")
    samples = _client_samples(registry)
    assert _value(samples, "leveret_client_started_total", **echo) == 1
    assert _value(samples, "leveret_client_handled_total", **echo, code="OK") == 1
    assert _value(samples, "leveret_client_retries_total", **echo) == 0
    assert _value(samples, "leveret_client_handling_seconds_count", **echo) == 1
    assert _value(samples, "leveret_client_handled_total", **fail, code="FAILED_PRECONDITION") == 1
    assert queue not in _labels(samples, "leveret_client")


def test_client_circuit_open_gauge_follows_the_breaker(amqp_url: str, queue: str) -> None:
    registry = CollectorRegistry()
    breaker = leveret.CircuitBreaker(failure_threshold=1, reset_timeout=0.3)
    with (
        leveret.Worker(Echo(), url=amqp_url, queue=queue),
        EchoClient.connect(
            amqp_url, queue=queue, circuit_breaker=breaker, middleware=[Metrics(registry)]
        ) as client,
    ):

        def circuit_open() -> float | None:
            return _value(_client_samples(registry), "leveret_client_circuit_open", service="Echo")

        assert circuit_open() == 0
        # A handler slower than the deadline: DEADLINE_EXCEEDED opens a breaker of threshold 1.
        with pytest.raises(leveret.DeadlineExceeded):
            client.echo(text="slow", delay=1.0, timeout=0.2)
        assert breaker.state is leveret.BreakerState.OPEN
        assert circuit_open() == 1
        with pytest.raises(leveret.Unavailable):
            client.echo(text="refused")  # failing fast while open
        # After reset_timeout the breaker lets a probe through; its success closes it.
        wait_until(
            lambda: breaker.state is leveret.BreakerState.HALF_OPEN, 5, "the breaker half-open"
        )
        assert circuit_open() == 1  # not closed until a probe succeeds
        assert client.echo(text="probe").text == "probe"
        assert circuit_open() == 0


def test_async_client_circuit_open_gauge_follows_the_breaker(amqp_url: str, queue: str) -> None:
    registry = CollectorRegistry()
    breaker = leveret.CircuitBreaker(failure_threshold=1, reset_timeout=30.0)

    def circuit_open() -> float | None:
        return _value(_client_samples(registry), "leveret_client_circuit_open", service="Echo")

    async def main() -> None:
        async with AsyncEchoClient.connect(
            amqp_url, queue=queue, circuit_breaker=breaker, middleware=[Metrics(registry)]
        ) as client:
            assert circuit_open() == 0
            with pytest.raises(leveret.DeadlineExceeded):
                await client.echo(text="slow", delay=1.0, timeout=0.2)
            assert circuit_open() == 1

    with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue):
        asyncio.run(main())


def test_async_client_and_worker_series(amqp_url: str, queue: str) -> None:
    client_registry, server_registry = CollectorRegistry(), CollectorRegistry()

    async def main() -> None:
        async with AsyncEchoClient.connect(
            amqp_url, queue=queue, middleware=[Metrics(client_registry)]
        ) as client:
            assert (await client.echo(text="x")).text == "x"
            with pytest.raises(leveret.NotFound):
                await client.fail(kind="status")

    with leveret.Worker(
        AsyncEcho(), url=amqp_url, queue=queue, middleware=[Metrics(server_registry)]
    ):
        asyncio.run(main())
    server, client = _client_samples(server_registry), _client_samples(client_registry)
    for samples, side in ((server, "server"), (client, "client")):
        echo = {"service": "Echo", "method": "echo"}
        fail = {"service": "Echo", "method": "fail"}
        assert _value(samples, f"leveret_{side}_handled_total", **echo, code="OK") == 1, side
        assert _value(samples, f"leveret_{side}_handled_total", **fail, code="NOT_FOUND") == 1
        assert _value(samples, f"leveret_{side}_handling_seconds_count", **echo) == 1
    assert _value(server, "leveret_server_in_flight", service="Echo", method="echo") == 0


def test_a_method_outside_the_definition_is_labelled_other() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    for name in ("not-in-the-definition", "another-one"):
        call = leveret.CallInfo(
            side="server",
            service=SERVICE,
            method=dataclasses.replace(ECHO, name=name),
            request=EchoRequest(text="x"),
            metadata={},
            correlation_id="c0ffee",
            deadline=None,
            attempt=0,
            queue="amq.gen-per-connection",
        )
        metrics.intercept(call, lambda c: EchoReply(text="x", worker="w", remaining=None))
    samples = _client_samples(registry)
    assert _value(samples, "leveret_server_started_total", service="Echo", method="other") == 2
    assert _labels(samples, "leveret_") <= {"Echo", "echo", "add", "fail", "other", "OK"}


def test_two_metrics_on_one_registry_share_the_series() -> None:
    registry = CollectorRegistry()
    first, second = Metrics(registry), Metrics(registry)  # no "Duplicated timeseries"
    assert first.registry is second.registry


def _queue_exists(url: str, queue: str) -> bool:
    import pika
    import pika.exceptions

    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        conn.channel().queue_declare(queue, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker as exc:
        assert exc.reply_code == 404
        return False
    finally:
        if conn.is_open:
            conn.close()


def _serve_exit(amqp_url: str, queue: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "leveret", "serve", "tests.support.echo:Echo",
            "--url", amqp_url, "--queue", queue, "--metrics-host", "127.0.0.1", *options,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip


def test_a_metrics_port_in_use_exits_2_before_connecting(amqp_url: str, queue: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = _serve_exit(amqp_url, queue, "--metrics-port", str(port))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr  # one line, no traceback
    assert lines[0].startswith(f"leveret serve: cannot serve metrics on 127.0.0.1:{port}: ")
    assert not _queue_exists(amqp_url, queue)  # it never got as far as the broker
    assert "serving" not in proc.stdout + proc.stderr


def test_a_metrics_port_in_use_exits_2_with_workers(amqp_url: str, queue: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        # Worker 2 of 2 would take the port in use: PORT is the one below it.
        proc = _serve_exit(amqp_url, queue, "--workers", "2", "--metrics-port", str(port - 1))
    assert proc.returncode == 2, proc.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}" in proc.stderr
    assert "started worker" not in proc.stderr


def test_each_of_workers_n_serves_its_own_metrics_port(
    amqp_url: str, queue: str, started: list[Serve]
) -> None:
    port = free_port()
    while True:  # two free ports in a row
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
                break
            except OSError:
                port = free_port()
    proc = Serve(
        amqp_url, queue, "--workers", "2", "--metrics-port", str(port), "--metrics-host",
        "127.0.0.1",
    )  # fmt: skip
    started.append(proc)
    proc.wait_for("metrics at http://", count=2)
    proc.wait_for("serving", count=2)
    with EchoClient.connect(amqp_url, queue=queue) as client:
        for n in range(10):
            client.echo(text=str(n))
    total = 0.0
    for p in (port, port + 1):
        _, samples = _scrape(f"http://127.0.0.1:{p}/metrics")
        total += _value(samples, "leveret_server_started_total", service="Echo", method="echo") or 0
    assert total == 10  # each worker counts its own calls; the scraper sums them
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0
