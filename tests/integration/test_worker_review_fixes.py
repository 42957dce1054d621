"""Defects a review of the hardening fixes found, each reproduced against the real broker: a
blocking plain handler of an async servicer held the event loop, a cancelled connect() left its
connection open, error replies echoed long property names back, and URLs with '@' and ',' in a
password were split or shown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pika
import pytest

import leveret
from leveret._url import check_url, redact, split_urls
from tests.conftest import ROOT
from tests.integration.test_client_review_fixes import _SlowProxy
from tests.support.echo import AsyncEcho, AsyncEchoClient, Echo, EchoClient, EchoReply, EchoRequest
from tests.support.proxy import wait_until
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration


class _Blocking(AsyncEcho):
    """An async servicer whose ``echo`` is a plain, blocking ``def``."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self._lock = threading.Lock()

    def echo(self, request: EchoRequest, context: leveret.CallContext) -> EchoReply:  # type: ignore[override]
        with self._lock:
            self.runs += 1
        time.sleep(request.delay)  # blocks: it must not block the worker's event loop
        return EchoReply(text=request.text)


def test_a_plain_handler_of_an_async_servicer_does_not_hold_the_event_loop(
    amqp_url: str, queue: str
) -> None:
    servicer = _Blocking()
    # Heartbeats every second: a handler holding the loop for 3 s would cost the connection,
    # and the broker would redeliver the request to run it again.
    url = amqp_url + ("&" if "?" in amqp_url else "?") + "heartbeat=1"
    with leveret.Worker(servicer, url=url, queue=queue):

        async def main() -> tuple[float, list[str]]:
            async with AsyncEchoClient.connect(amqp_url, queue=queue) as client:
                long = await client.echo(text="long", delay=3.0, timeout=20)
                started = time.monotonic()
                both = await asyncio.gather(
                    client.echo(text="a", delay=1.0, timeout=10),
                    client.echo(text="b", delay=1.0, timeout=10),
                )
                return time.monotonic() - started, [long.text, *(r.text for r in both)]

        took, texts = asyncio.run(main())
    assert texts == ["long", "a", "b"]
    assert servicer.runs == 3  # the long call ran once: no redelivery
    assert took < 1.8  # the two 1 s calls ran side by side


def test_a_cancelled_connect_leaves_no_connection_behind(amqp_url: str) -> None:
    async def main(proxy: _SlowProxy) -> None:
        for _ in range(3):
            with pytest.raises(TimeoutError):
                # A connection setup takes longer than this through the slow proxy.
                await asyncio.wait_for(AsyncEchoClient.connect(proxy.url(), connect_timeout=5), 0.1)
        await asyncio.sleep(0)  # let the abandoned attempts see they are abandoned

    with _SlowProxy() as proxy:
        asyncio.run(main(proxy))
        wait_until(lambda: proxy.connections == 0, 5, "the abandoned connections to close")


def test_an_invalid_argument_reply_stays_small_whatever_the_request_names(
    amqp_url: str, queue: str
) -> None:
    with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue):
        peer = RawPeer(amqp_url)
        try:
            body: dict[str, Any] = {"text": "x"}
            body.update({f"{i:03d}" + "é" * 5000: 1 for i in range(100)})  # 100 unknown keys
            request = json.dumps(body).encode()
            reply = peer.wait(peer.publish(queue, request), timeout=10)
        finally:
            peer.close()
    assert reply is not None and reply.status == "INVALID_ARGUMENT"
    assert len(reply.body) < 100_000 < len(request)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("amqp://u:p@a,ss@h:5672/%2F", ["amqp://u:p@a,ss@h:5672/%2F"]),  # '@' and ',' in it
        ("amqp://u:s3cr,et@h1,amqp://v:p,2@h2", ["amqp://u:s3cr,et@h1", "amqp://v:p,2@h2"]),
        ("amqp://a:5672,b:5672,c:5672", ["amqp://a:5672", "b:5672", "c:5672"]),
    ],
)
def test_commas_separate_addresses_only_outside_passwords(url: str, addresses: list[str]) -> None:
    assert split_urls(url) == addresses


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("amqp://127.0.0.1:5672/%2F,r5user:s3cr,et@127.0.0.1:5672", "s3cr"),  # no scheme after ','
        ("amqp://u:zq/ss@h", "zq"),  # an unescaped '/' in the password
        ("amqp://h/?heartbeat=99999999999", None),  # AMQP cannot carry it: every connect fails
    ],
)
def test_urls_that_cannot_work_are_refused_without_showing_the_password(
    url: str, secret: str | None
) -> None:
    with pytest.raises(leveret.ConfigurationError) as caught:
        check_url(url)
    if secret is not None:
        assert secret not in str(caught.value)


def test_every_password_of_a_url_is_masked() -> None:
    assert redact("amqp://a:S1@h1,amqps://b:S2@h2:5671/v,c:S3@h3") == (
        "amqp://a:***@h1,amqps://b:***@h2:5671/v,c:***@h3"
    )
    assert redact("amqp://u:p@a,ss@h/") == "amqp://u:***@h/"


# -- found by the review of those fixes ------------------------------------------------------


def test_a_logging_setup_that_raises_never_costs_a_reply_or_a_retry(
    amqp_url: str, queue: str
) -> None:
    """A record factory that sets ``service`` on every record (a common structured-logging
    setup) makes ``extra={"service": ...}`` raise in ``makeRecord``; a filter may raise too."""
    factory = logging.getLogRecordFactory()

    def tagging(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.service = "my-app"
        return record

    class Raising(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            raise ZeroDivisionError("a broken filter")

    raising = Raising()
    client_log = logging.getLogger("leveret.client")
    logging.setLogRecordFactory(tagging)
    client_log.addFilter(raising)
    try:
        for servicer in (Echo(), AsyncEcho()):
            with (
                leveret.Worker(servicer, url=amqp_url, queue=queue, concurrency=2),
                EchoClient.connect(amqp_url, queue=queue) as client,
            ):
                for i in range(4):  # more calls than the worker has slots
                    assert client.echo(text=f"hi{i}", timeout=5).text == f"hi{i}"
        # No worker now: the idempotent call is retried (and logged) until its deadline.
        with (
            EchoClient.connect(amqp_url, queue=queue) as client,
            pytest.raises(leveret.Unavailable),
        ):
            client.add(a=1, b=2, timeout=0.5)
    finally:
        logging.setLogRecordFactory(factory)
        client_log.removeFilter(raising)


_SLEEPER = """
import sys, time
sys.path[:0] = [{root!r}]
import leveret
from tests.support.echo import AsyncEchoServicer, AddReply, EchoReply

class Sleeper(AsyncEchoServicer):
    def echo(self, request, context):
        print("handler started", flush=True)
        time.sleep(60)  # never returns in time
        return EchoReply(text=request.text)

    async def add(self, request, context):
        return AddReply(sum=request.a + request.b)

    async def fail(self, request, context):
        raise RuntimeError

leveret.Worker(Sleeper(), url={url!r}, queue={queue!r}, grace=1).run()
print("run returned", flush=True)
"""


def test_a_plain_handler_that_never_returns_does_not_keep_the_process_alive(
    amqp_url: str, queue: str, tmp_path: Path
) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text(_SLEEPER.format(root=str(ROOT), url=amqp_url, queue=queue))
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:  # the request waits in the queue until the worker below consumes it
        conn.channel().queue_declare(queue, durable=True)
    finally:
        conn.close()
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert proc.stdout is not None
        with EchoClient.connect(amqp_url, queue=queue, wait_for_ready=True) as client:

            def call() -> None:
                with contextlib.suppress(leveret.RpcError):
                    client.echo(text="x", timeout=30)

            threading.Thread(target=call, daemon=True).start()
            _wait_for_line(proc, "handler started", 15)
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
        assert time.monotonic() - signalled < 5  # the 1 s grace, not the handler's 60 s
    finally:
        proc.kill()


def _wait_for_line(proc: subprocess.Popen[str], text: str, timeout: float) -> None:
    assert proc.stdout is not None
    give_up = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < give_up:
        ready, _, _ = select.select([proc.stdout], [], [], give_up - time.monotonic())
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"no {text!r} within {timeout} s; output: {seen}")


def test_plain_handlers_run_as_many_at_once_as_the_worker_allows(amqp_url: str, queue: str) -> None:
    servicer = _Blocking()
    with leveret.Worker(servicer, url=amqp_url, queue=queue, concurrency=20):

        async def main() -> list[str]:
            async with AsyncEchoClient.connect(amqp_url, queue=queue) as client:
                replies = await asyncio.gather(
                    *(client.echo(text=str(i), delay=1.0, timeout=2.5) for i in range(20))
                )
                return [r.text for r in replies]

        started = time.monotonic()
        assert asyncio.run(main()) == [str(i) for i in range(20)]
        assert time.monotonic() - started < 2.5  # not six at a time (asyncio's default pool)
