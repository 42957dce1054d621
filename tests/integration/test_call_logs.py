"""Per-call log records: one per call a worker handles (``leveret.server``), and a client's
retries, breaker changes (``leveret.client``) and reconnects (``leveret.amqp``)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pika
import pytest

import leveret
from leveret import CallContext, CircuitBreaker, RetryPolicy
from leveret._breaker import BreakerState
from leveret._logging import CALL_FIELDS, JsonFormatter
from tests.support.echo import (
    AddReply,
    AddRequest,
    AsyncEcho,
    AsyncEchoClient,
    Echo,
    EchoClient,
    TooLoud,
)
from tests.support.proxy import TcpProxy, wait_until
from tests.support.serve import Serve

pytestmark = pytest.mark.integration

SECRET_TEXT = "body-text-that-must-not-be-logged"


def _call_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "leveret.server" and hasattr(r, "status")]


def _make_calls_sync(url: str, queue: str) -> dict[str, str]:
    with EchoClient.connect(url, queue=queue) as client:
        assert client.add(a=1, b=2, timeout=10).sum == 3
        assert client.echo(text=SECRET_TEXT, timeout=10).text == SECRET_TEXT
        with pytest.raises(TooLoud):
            client.fail(kind="declared", timeout=10)
        with pytest.raises(leveret.NotFound):
            client.fail(kind="status", timeout=10)
        with pytest.raises(leveret.Internal) as internal:
            client.fail(kind="plain", timeout=10)
    return {"internal": internal.value.message}


async def _make_calls_async(url: str, queue: str) -> dict[str, str]:
    async with AsyncEchoClient.connect(url, queue=queue) as client:
        assert (await client.add(a=1, b=2, timeout=10)).sum == 3
        assert (await client.echo(text=SECRET_TEXT, timeout=10)).text == SECRET_TEXT
        with pytest.raises(TooLoud):
            await client.fail(kind="declared", timeout=10)
        with pytest.raises(leveret.NotFound):
            await client.fail(kind="status", timeout=10)
        with pytest.raises(leveret.Internal) as internal:
            await client.fail(kind="plain", timeout=10)
    return {"internal": internal.value.message}


def _login(url: str) -> str:
    return str(pika.URLParameters(url).credentials.username)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_worker_logs_one_record_per_call_with_its_fields(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture, flavour: str
) -> None:
    caplog.set_level(logging.INFO, logger="leveret")
    if flavour == "sync":
        with leveret.Worker(Echo(), url=amqp_url, queue=queue):
            seen = _make_calls_sync(amqp_url, queue)
    else:
        with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue):
            seen = asyncio.run(_make_calls_async(amqp_url, queue))
    records = _call_records(caplog)
    # The record is logged before the reply is sent: all five are there once the calls return.
    got = sorted((vars(r)["method"], vars(r)["status"], r.levelname) for r in records)
    assert got == [
        ("add", "OK", "INFO"),
        ("echo", "OK", "INFO"),
        ("fail", "FAILED_PRECONDITION", "WARNING"),  # declared TooLoud
        ("fail", "INTERNAL", "ERROR"),
        ("fail", "NOT_FOUND", "WARNING"),
    ]
    for record in records:
        fields: dict[str, Any] = vars(record)
        assert fields["service"] == "Echo"
        assert isinstance(fields["correlation_id"], str) and fields["correlation_id"]
        assert isinstance(fields["duration_ms"], float) and 0 <= fields["duration_ms"] < 10_000
        assert fields["attempt"] == 0
        # The client stamps its login as user_id (docs/security.md, "Caller identity").
        assert fields["caller"] == _login(amqp_url)
        assert f"(cid={fields['correlation_id']})" in record.getMessage()
        assert (record.exc_info is not None) == (fields["status"] == "INTERNAL")
    assert len({vars(r)["correlation_id"] for r in records}) == len(records)
    # Exactly one record about the failed call, traceback and all: no second "failed" line.
    internal = next(r for r in records if vars(r)["status"] == "INTERNAL")
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks == [internal]
    assert vars(internal)["correlation_id"] in seen["internal"]  # what the caller quotes
    assert internal.exc_info is not None and isinstance(internal.exc_info[1], RuntimeError)
    # Never a body: the JSON lines of every record leave the request's text out.
    formatter = JsonFormatter()
    assert not any(SECRET_TEXT in formatter.format(r) for r in caplog.records)
    echo = json.loads(formatter.format(next(r for r in records if vars(r)["method"] == "echo")))
    assert {"service", "method", "correlation_id", "status", "duration_ms", "attempt"} <= set(echo)
    assert echo["caller"] == _login(amqp_url)


def test_log_calls_false_keeps_only_the_error_records(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leveret")
    with leveret.Worker(Echo(), url=amqp_url, queue=queue, log_calls=False):
        _make_calls_sync(amqp_url, queue)
    records = _call_records(caplog)
    assert [(vars(r)["status"], r.levelname) for r in records] == [("INTERNAL", "ERROR")]
    assert records[0].exc_info is not None


def test_serve_json_lines_carry_the_call_fields(
    amqp_url: str, queue: str, serve: Callable[..., Serve]
) -> None:
    proc = serve("--log-format", "json")
    proc.wait_for("serving")
    _make_calls_sync(amqp_url, queue)
    proc.wait_for('"status": ', count=5)
    records = [json.loads(line) for line in list(proc.lines)]
    calls = [r for r in records if "status" in r]
    assert sorted((r["method"], r["status"], r["level"]) for r in calls) == [
        ("add", "OK", "INFO"),
        ("echo", "OK", "INFO"),
        ("fail", "FAILED_PRECONDITION", "WARNING"),
        ("fail", "INTERNAL", "ERROR"),
        ("fail", "NOT_FOUND", "WARNING"),
    ]
    for record in calls:
        assert record["logger"] == "leveret.server"
        assert record["service"] == "Echo"
        assert record["correlation_id"] and isinstance(record["duration_ms"], float)
        assert record["attempt"] == 0 and record["caller"] == _login(amqp_url)
        assert set(record) <= {"time", "level", "logger", "message", "pid", "exception"} | set(
            CALL_FIELDS
        )
    assert [r["status"] for r in records if "exception" in r] == ["INTERNAL"]
    assert SECRET_TEXT not in proc.output()


def test_serve_no_log_calls_keeps_only_the_error_records(
    amqp_url: str, queue: str, serve: Callable[..., Serve]
) -> None:
    proc = serve("--log-format", "json", "--no-log-calls")
    proc.wait_for("serving")
    _make_calls_sync(amqp_url, queue)  # the INTERNAL call is the last one
    proc.wait_for('"status": "INTERNAL"')
    calls = [r for r in (json.loads(line) for line in list(proc.lines)) if "status" in r]
    assert [(r["status"], r["level"]) for r in calls] == [("INTERNAL", "ERROR")]


def test_a_reply_after_the_callers_deadline_is_logged_as_such(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The wire carries the handler's OK, but the caller had given up: the line says so, at
    WARNING (middleware and metrics count it DEADLINE_EXCEEDED)."""
    caplog.set_level(logging.INFO, logger="leveret")
    with (
        leveret.Worker(Echo(), url=amqp_url, queue=queue),
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        with pytest.raises(leveret.DeadlineExceeded):
            client.echo(text="slow", delay=1.0, timeout=0.3)
        assert client.echo(text="next", timeout=10).text == "next"  # after the slow one
    late, on_time = _call_records(caplog)
    assert (vars(late)["status"], late.levelname) == ("OK", "WARNING")
    assert "after the caller's deadline" in late.getMessage()
    assert (vars(on_time)["status"], on_time.levelname) == ("OK", "INFO")
    assert "deadline" not in on_time.getMessage()


class _Flaky(Echo):
    """``add`` fails with UNAVAILABLE while ``failing`` is set: the retry and breaker's cue."""

    def __init__(self, failures: int) -> None:
        super().__init__("flaky")
        self.failures = failures
        self.lock = threading.Lock()

    def add(self, request: AddRequest, context: CallContext) -> AddReply:
        with self.lock:
            if self.failures > 0:
                self.failures -= 1
                raise leveret.Unavailable("database restarting")
        return AddReply(sum=request.a + request.b)


def _client_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "leveret.client"]


def test_a_client_logs_each_retry(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leveret")
    with (
        leveret.Worker(_Flaky(failures=2), url=amqp_url, queue=queue),
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        assert client.add(a=1, b=2, timeout=10).sum == 3
    retries = _client_records(caplog)
    assert [r.levelname for r in retries] == ["WARNING", "WARNING"]
    assert [vars(r)["attempt"] for r in retries] == [0, 1]
    for record in retries:
        assert vars(record)["method"] == "add"
        assert vars(record)["status"] == "UNAVAILABLE"
        assert "database restarting" in record.getMessage()
        assert "retrying add" in record.getMessage()
    # Each attempt had its own correlation id, and the worker's record of it says the same.
    worker_ids = {vars(r)["correlation_id"] for r in _call_records(caplog)}
    assert {vars(r)["correlation_id"] for r in retries} < worker_ids


def test_the_breaker_logs_when_it_opens_and_when_it_closes(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leveret")
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=1.0)
    with (
        leveret.Worker(_Flaky(failures=2), url=amqp_url, queue=queue),
        EchoClient.connect(
            amqp_url, queue=queue, retry=RetryPolicy(max_attempts=1), circuit_breaker=breaker
        ) as client,
    ):
        for _ in range(2):
            with pytest.raises(leveret.Unavailable, match="database restarting"):
                client.add(a=1, b=2, timeout=10)
        assert _client_records(caplog)[-1].levelname == "WARNING"
        with pytest.raises(leveret.Unavailable, match="circuit breaker"):
            client.add(a=1, b=2, timeout=10)  # fails fast: no record of its own
        wait_until(lambda: breaker.state is BreakerState.HALF_OPEN, 10, "the breaker to cool")
        assert client.add(a=1, b=2, timeout=10).sum == 3  # the probe
    records = [(r.levelname, r.getMessage()) for r in _client_records(caplog)]
    assert len(records) == 2, records
    (opened_level, opened), (closed_level, closed) = records
    assert opened_level == "WARNING"
    assert f"circuit breaker for {queue!r} opened after 2 failures" in opened
    assert "UNAVAILABLE" in opened
    assert closed_level == "INFO"
    assert f"circuit breaker for {queue!r} closed" in closed


def test_a_client_logs_its_reconnect_without_the_password(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leveret")
    with (
        TcpProxy() as proxy,
        leveret.Worker(Echo(), url=amqp_url, queue=queue),
        EchoClient.connect(proxy.url(), queue=queue) as client,
    ):
        assert client.add(a=1, b=2, timeout=10).sum == 3
        assert not [r for r in caplog.records if "reconnected" in r.getMessage()]
        proxy.cut()
        wait_until(lambda: proxy.connections == 0, 10, "the proxy to drop the client")
        proxy.restore()
        deadline = time.monotonic() + 20
        while True:  # the first call after the cut may find the connection lost: Unavailable
            try:
                assert client.add(a=1, b=2, timeout=5).sum == 3
                break
            except leveret.Unavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # the client's reconnect backoff
    reconnects = [
        r for r in caplog.records if r.name == "leveret.amqp" and "reconnected" in r.getMessage()
    ]
    assert len(reconnects) == 1
    assert reconnects[0].levelname == "INFO"
    message = reconnects[0].getMessage()
    assert f"127.0.0.1:{proxy.port}" in message
    assert "guest:***@" in message and ":guest@" not in message
