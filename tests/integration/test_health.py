"""Health checks: ``leveret serve --health-port`` (/livez, /readyz) and Worker.alive/ready.

Readiness follows the broker (503 while it cannot be reached, 200 once the worker consumes
again); liveness does not, so an outage never makes an orchestrator restart workers.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest

import leveret
import leveret._worker
from leveret import CallContext
from tests.conftest import ROOT
from tests.support.echo import AsyncEcho, Echo, EchoClient, EchoReply, EchoRequest
from tests.support.proxy import TcpProxy, free_port, wait_until
from tests.support.serve import Serve

pytestmark = pytest.mark.integration


def _get(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _health_url(proc: Serve) -> str:
    proc.wait_for("health checks at http://")
    line = next(line for line in proc.lines if "health checks at http://" in line)
    found = re.search(r"(http://[\d.]+:\d+)/livez", line)
    assert found, line
    return found.group(1)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy() as p:
        yield p


@pytest.fixture
def started() -> Iterator[list[Serve]]:
    procs: list[Serve] = []
    yield procs
    for proc in procs:
        proc.kill()


def _serve(
    started: list[Serve], url: str, queue: str, *options: str, env: dict[str, str] | None = None
) -> Serve:
    proc = Serve(url, queue, "--health-host", "127.0.0.1", *options, env=env)
    started.append(proc)
    return proc


def _queue_exists(url: str, queue: str) -> bool:
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


def test_livez_and_readyz_answer_from_leveret_serve(
    amqp_url: str, queue: str, started: list[Serve]
) -> None:
    proc = _serve(started, amqp_url, queue, "--health-port", "0")
    base = _health_url(proc)
    proc.wait_for("serving")
    wait_until(lambda: _get(f"{base}/readyz")[0] == 200, 10, "/readyz 200")
    assert _get(f"{base}/livez") == (200, "ok\n")
    assert _get(f"{base}/readyz") == (200, "ok\n")
    assert _get(f"{base}/readyz", "HEAD") == (200, "")
    assert _get(f"{base}/metrics")[0] == 404
    with EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.echo(text="hi").text == "hi"


def test_readyz_is_503_while_the_broker_is_unreachable_and_livez_stays_200(
    proxy: TcpProxy, queue: str, started: list[Serve]
) -> None:
    proc = _serve(started, proxy.url(), queue, "--health-port", "0")
    base = _health_url(proc)
    wait_until(lambda: _get(f"{base}/readyz")[0] == 200, 20, "/readyz 200 at first")
    proxy.cut()
    wait_until(lambda: _get(f"{base}/readyz")[0] == 503, 20, "/readyz 503 once cut off")
    # Through the outage (the worker retries with backoff meanwhile), liveness holds.
    proc.wait_for("reconnect failed")
    assert _get(f"{base}/livez") == (200, "ok\n")
    assert _get(f"{base}/readyz") == (503, "not ok\n")
    proxy.restore()
    wait_until(lambda: _get(f"{base}/readyz")[0] == 200, 30, "/readyz 200 after the broker")
    assert _get(f"{base}/livez")[0] == 200
    with EchoClient.connect(proxy.url(), queue=queue) as client:
        assert client.echo(text="back").text == "back"


def test_readyz_is_503_while_stopping_and_livez_stays_200(
    amqp_url: str, queue: str, started: list[Serve], tmp_path: Path
) -> None:
    proc = _serve(
        started,
        amqp_url,
        queue,
        "--health-port",
        "0",
        "--grace",
        "20",
        env={"LEVERET_TEST_STARTED_DIR": str(tmp_path)},
    )
    base = _health_url(proc)
    proc.wait_for("serving")
    result: list[EchoReply] = []

    def slow_call() -> None:
        with EchoClient.connect(amqp_url, queue=queue) as client:
            result.append(client.echo(text="slow", delay=3.0, timeout=30))

    caller = threading.Thread(target=slow_call)
    caller.start()
    wait_until(lambda: any(tmp_path.glob("slow.*")), 20, "the slow handler to start")
    proc.signal(signal.SIGTERM)
    proc.wait_for("stopping")
    assert _get(f"{base}/readyz")[0] == 503
    assert _get(f"{base}/livez")[0] == 200
    caller.join(30)
    assert [r.text for r in result] == ["slow"]
    assert proc.wait(20) == 0


def test_a_health_port_in_use_exits_2_before_connecting(amqp_url: str, queue: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "leveret",
                "serve",
                "tests.support.echo:Echo",
                "--url",
                amqp_url,
                "--queue",
                queue,
                "--health-port",
                str(port),
                "--health-host",
                "127.0.0.1",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2, proc.stderr
    assert f"cannot serve health checks on 127.0.0.1:{port}" in proc.stderr
    assert not _queue_exists(amqp_url, queue)  # it never got as far as the broker


def test_a_health_port_in_use_exits_2_with_workers(amqp_url: str, queue: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        # Worker 2 of 2 would take the port in use: PORT is the one below it.
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "leveret",
                "serve",
                "tests.support.echo:Echo",
                "--url",
                amqp_url,
                "--queue",
                queue,
                "--workers",
                "2",
                "--health-port",
                str(port - 1),
                "--health-host",
                "127.0.0.1",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2, proc.stderr
    assert f"cannot serve health checks on 127.0.0.1:{port}" in proc.stderr
    assert "started worker" not in proc.stderr


def _two_free_ports() -> int:
    for _ in range(50):
        port = free_port()
        if port < 65535:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
            return port
    raise AssertionError("no two free ports in a row")


def test_each_of_workers_n_serves_its_own_port(
    amqp_url: str, queue: str, started: list[Serve]
) -> None:
    port = _two_free_ports()
    proc = _serve(started, amqp_url, queue, "--workers", "2", "--health-port", str(port))
    proc.wait_for("health checks at http://", count=2)
    urls = [f"http://127.0.0.1:{p}" for p in (port, port + 1)]
    wait_until(lambda: all(_get(f"{u}/readyz")[0] == 200 for u in urls), 20, "both /readyz")
    assert [_get(f"{u}/livez")[0] for u in urls] == [200, 200]
    proc.signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_worker_ready_and_alive_from_python(proxy: TcpProxy, queue: str) -> None:
    worker = leveret.Worker(Echo(), url=proxy.url(), queue=queue)
    assert not worker.ready and not worker.alive  # not started
    with worker:
        assert worker.ready and worker.alive
        proxy.cut()
        wait_until(lambda: not worker.ready, 20, "not ready once cut off")
        assert worker.alive
        proxy.restore()
        wait_until(lambda: worker.ready, 30, "ready again")
        assert worker.alive
    assert not worker.ready and not worker.alive  # stopped


class _BlockingAsyncEcho(AsyncEcho):
    """Blocks its event loop (a bug liveness must show): time.sleep in an async handler."""

    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        time.sleep(request.delay)
        return EchoReply(text=request.text)


def test_a_blocked_event_loop_is_not_alive(
    amqp_url: str, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leveret._worker, "_TICK", 0.1)
    monkeypatch.setattr(leveret._worker, "_LIVENESS_TIMEOUT", 0.5)
    with leveret.Worker(_BlockingAsyncEcho(), url=amqp_url, queue=queue) as worker:
        wait_until(lambda: worker.alive, 5, "alive")
        done: list[str] = []

        def call() -> None:
            with EchoClient.connect(amqp_url, queue=queue) as client:
                done.append(client.echo(text="x", delay=2.0, timeout=30).text)

        caller = threading.Thread(target=call)
        caller.start()
        wait_until(lambda: not worker.alive, 5, "not alive while the loop is blocked")
        assert worker.ready  # still connected: only its loop is stuck
        caller.join(30)
        assert done == ["x"]
        wait_until(lambda: worker.alive, 5, "alive again")


def _rabbitmqctl(*args: str) -> None:
    proc = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0, f"rabbitmqctl {' '.join(args)}: {proc.stderr or proc.stdout}"


@pytest.mark.broker_restart
def test_readyz_follows_a_broker_stop_app_and_livez_does_not(
    amqp_url: str, queue: str, started: list[Serve]
) -> None:
    proc = _serve(started, amqp_url, queue, "--health-port", "0")
    base = _health_url(proc)
    wait_until(lambda: _get(f"{base}/readyz")[0] == 200, 20, "/readyz 200 at first")
    live: list[int] = []
    try:
        _rabbitmqctl("stop_app")
        wait_until(lambda: _get(f"{base}/readyz")[0] == 503, 30, "/readyz 503, app stopped")
        live.append(_get(f"{base}/livez")[0])
        proc.wait_for("reconnect failed")
        live.append(_get(f"{base}/livez")[0])
    finally:
        _rabbitmqctl("start_app")
        _rabbitmqctl("await_startup", "--timeout", "120")
    assert live == [200, 200]
    wait_until(lambda: _get(f"{base}/readyz")[0] == 200, 60, "/readyz 200 after start_app")
    assert _get(f"{base}/livez")[0] == 200
