"""A worker against hostile or oversized traffic, against a real RabbitMQ (review r2).

A reply over the broker's ``max_message_size`` closes the worker's channel (406) with the ack
of its request, so the request comes back and its handler runs again, for ever. The worker now
checks each reply against its own ``max_message_size`` and answers RESOURCE_EXHAUSTED instead;
these tests set that limit to 1 MB rather than send 128 MiB. Validation errors are listed up to a
bound, so a request cannot make its INVALID_ARGUMENT reply ten times its own size. Validation
that runs long keeps the heartbeats going, so the broker does not drop the worker's connection.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

import leveret
from leveret import CallContext, MethodSpec, ServiceSpec
from leveret._codec import MAX_LISTED_ERRORS
from tests.support.echo import AsyncEcho, Echo, EchoClient, EchoReply, EchoRequest
from tests.support.proxy import wait_until
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration

LIMIT = 1_000_000  # the workers' max_message_size in these tests


class _Big(Echo):
    """Echo, except that ``text="huge"`` makes a reply of 2 MB."""

    def _echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        if request.text == "huge":
            return EchoReply(text="x" * (2 * LIMIT))
        return super()._echo(request, context)


class _AsyncBig(AsyncEcho):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.calls += 1
        if request.text == "huge":
            return EchoReply(text="x" * (2 * LIMIT))
        return await super().echo(request, context)


def _calls(servicer: object) -> int:
    calls = getattr(servicer, "calls", None)
    assert isinstance(calls, int)
    return calls


def _connects(worker: leveret.Worker) -> int:
    connects = getattr(worker._active, "connects", None)
    assert isinstance(connects, int)
    return connects


@pytest.fixture
def peer(amqp_url: str) -> Iterator[RawPeer]:
    raw = RawPeer(amqp_url)
    yield raw
    raw.close()


# -- replies over the worker's max_message_size ------------------------------------------------


@pytest.mark.parametrize("mode", ["inline", "threads", "async"])
def test_a_reply_over_the_limit_is_resource_exhausted_at_once_and_the_handler_runs_once(
    amqp_url: str, queue: str, mode: str
) -> None:
    servicer: Echo | _AsyncBig = _AsyncBig() if mode == "async" else _Big()
    worker = leveret.Worker(
        servicer,
        url=amqp_url,
        queue=queue,
        max_message_size=LIMIT,
        inline=None if mode == "async" else mode == "inline",
    )
    with worker, EchoClient.connect(amqp_url, queue=queue) as client:
        started = time.monotonic()
        with pytest.raises(leveret.ResourceExhausted) as caught:
            client.echo(text="huge", timeout=20)
        assert time.monotonic() - started < 10
        found = re.search(r"is (\d+) bytes, (\d+) bytes over", caught.value.message)
        assert found is not None, caught.value.message
        assert int(found[1]) > 2 * LIMIT and int(found[2]) == int(found[1]) - LIMIT
        assert "the worker's max_message_size (1000000 bytes)" in caught.value.message
        # The worker serves on, on the same connection, and ran the big handler only once.
        assert client.echo(text="ok", timeout=10).text == "ok"
        assert _calls(servicer) == 2
        assert _connects(worker) == 1


def test_a_reply_within_the_limit_is_sent(amqp_url: str, queue: str) -> None:
    servicer = _Big()
    with (
        leveret.Worker(servicer, url=amqp_url, queue=queue, max_message_size=3 * LIMIT),
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        assert len(client.echo(text="huge", timeout=20).text) == 2 * LIMIT


# -- requests with a great many validation errors ---------------------------------------------


@pytest.mark.parametrize("mode", ["inline", "async"])
def test_a_request_with_many_unknown_keys_gets_a_bounded_reply(
    amqp_url: str, queue: str, peer: RawPeer, mode: str
) -> None:
    count = 50_000
    body = b'{"text": "x", ' + b", ".join(b'"k%d": 0' % i for i in range(count)) + b"}"
    servicer = AsyncEcho() if mode == "async" else Echo()
    worker = leveret.Worker(servicer, url=amqp_url, queue=queue)
    with worker:
        cid = peer.publish(queue, body)
        reply = peer.wait(cid, timeout=20)
        assert reply is not None
        assert reply.status == "INVALID_ARGUMENT"
        # Listing each error would make a reply of some 5 MB, about five times the request.
        assert len(reply.body) < 20_000 < len(body)
        payload = reply.json()
        assert len(payload["details"]) == MAX_LISTED_ERRORS + 1
        assert payload["details"][-1]["type"] == "too_many_errors"
        assert f"and {count - MAX_LISTED_ERRORS} more" in payload["message"]
        with EchoClient.connect(amqp_url, queue=queue) as client:
            assert client.echo(text="ok", timeout=10).text == "ok"
        assert _connects(worker) == 1


# -- slow validation and heartbeats -----------------------------------------------------------


class SlowRequest(BaseModel):
    """Validation that takes ``delay`` seconds, like a large body with a costly validator."""

    model_config = ConfigDict(extra="forbid")
    delay: float

    @field_validator("delay")
    @classmethod
    def _slowly(cls, value: float) -> float:
        time.sleep(value)
        return value


class SlowReply(BaseModel):
    ok: bool


SLOW: MethodSpec[SlowRequest, SlowReply] = MethodSpec(
    name="slow", python_name="slow", request=SlowRequest, response=SlowReply, timeout=30.0
)
SLOW_SERVICE = ServiceSpec(name="Slow", queue="leveret.test.Slow", methods=(SLOW,))


class _SlowServicer(leveret.Servicer):
    service: ClassVar[ServiceSpec] = SLOW_SERVICE

    def __init__(self) -> None:
        self.calls = 0

    def slow(self, request: SlowRequest, context: CallContext) -> SlowReply:
        self.calls += 1
        return SlowReply(ok=True)


class _AsyncSlowServicer(leveret.AsyncServicer):
    service: ClassVar[ServiceSpec] = SLOW_SERVICE

    def __init__(self) -> None:
        self.calls = 0

    async def slow(self, request: SlowRequest, context: CallContext) -> SlowReply:
        self.calls += 1
        return SlowReply(ok=True)


@pytest.mark.parametrize("mode", ["inline", "threads", "async"])
def test_slow_validation_does_not_cost_the_connection(
    amqp_url: str, queue: str, peer: RawPeer, mode: str
) -> None:
    servicer = _AsyncSlowServicer() if mode == "async" else _SlowServicer()
    # heartbeat=1: the broker drops a connection silent for about 2 s; validation takes 4 s.
    worker = leveret.Worker(
        servicer,
        url=amqp_url + "?heartbeat=1",
        queue=queue,
        inline=None if mode == "async" else mode == "inline",
    )
    with worker:
        assert worker._active is not None and worker._active.heartbeat == 1.0
        cid = peer.publish(queue, b'{"delay": 4}', method="slow")
        reply = peer.wait(cid, timeout=25)
        assert reply is not None and reply.status == "OK"
        assert reply.json() == {"ok": True}
        assert _connects(worker) == 1
        assert servicer.calls == 1
        # Still consuming on that connection: a quick request is answered too.
        cid = peer.publish(queue, b'{"delay": 0}', method="slow")
        quick = peer.wait(cid, timeout=10)
        assert quick is not None and quick.status == "OK"
        assert _connects(worker) == 1 and servicer.calls == 2


# -- async handlers under plain decorators ---------------------------------------------------


def _traced(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def _bare(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # no functools.wraps: nothing to unwrap
        return fn(*args, **kwargs)

    return wrapper


class _Decorated(AsyncEcho):
    echo = _traced(AsyncEcho.echo)  # type: ignore[assignment]
    add = _bare(AsyncEcho.add)  # type: ignore[assignment]


def test_decorated_async_handlers_are_awaited(amqp_url: str, queue: str) -> None:
    worker = leveret.Worker(_Decorated(), url=amqp_url, queue=queue)
    assert not worker.inline
    with worker, EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.echo(text="traced", timeout=10).text == "traced"
        assert client.add(a=2, b=3, timeout=10).sum == 5


# -- misuse and logs -----------------------------------------------------------------------------


def test_starting_a_serving_worker_again_is_refused(amqp_url: str, queue: str) -> None:
    worker = leveret.Worker(Echo(), url=amqp_url, queue=queue)
    worker.start()
    try:
        with pytest.raises(leveret.ConfigurationError, match="already serving"):
            worker.start()
        with EchoClient.connect(amqp_url, queue=queue) as client:
            assert client.echo(text="ok", timeout=10).text == "ok"
    finally:
        worker.stop()
    # Stopped, it may serve again.
    with worker, EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.echo(text="again", timeout=10).text == "again"


def test_the_serving_log_line_hides_every_password(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    password = "s3cretPW"
    # The first address refuses connections; the second is the broker, with the password
    # written into the URL as a user would (the broker's guest account ignores nothing: use it).
    broker = amqp_url.replace("amqp://", "", 1)
    user_info, _, host = broker.partition("@")
    user = user_info.split(":", 1)[0]
    assert user_info and host
    url = f"amqp://{user}:{password}@127.0.0.1:1/%2F,{amqp_url}"
    shown_password = user_info.partition(":")[2]
    with (
        caplog.at_level(logging.DEBUG, logger="leveret"),
        leveret.Worker(Echo(), url=url, queue=queue),
    ):
        pass
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "serving" in text
    assert password not in text
    if shown_password:
        assert f":{shown_password}@" not in text


def test_worker_threads_do_not_leak_between_runs(amqp_url: str, queue: str) -> None:
    before = {t.name for t in threading.enumerate()}
    with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue):
        pass
    wait_until(
        lambda: {t.name for t in threading.enumerate()} - before <= set(),
        10,
        "the worker's threads (heartbeat keeper) to end",
    )
