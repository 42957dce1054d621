"""The wire protocol against a real RabbitMQ: round trips, errors, deadlines, validation."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import leveret
from tests.support.echo import AsyncEcho, AsyncEchoClient, Echo, EchoClient
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration


@pytest.fixture
def echo() -> Echo:
    return Echo("w1")


@pytest.fixture
def worker(amqp_url: str, queue: str, echo: Echo) -> Iterator[leveret.Worker]:
    with leveret.Worker(echo, url=amqp_url, queue=queue, concurrency=4) as w:
        yield w


@pytest.fixture
def client(amqp_url: str, queue: str, worker: leveret.Worker) -> Iterator[EchoClient]:
    with EchoClient.connect(amqp_url, queue=queue) as c:
        yield c


@pytest.fixture
def raw(amqp_url: str) -> Iterator[RawPeer]:
    peer = RawPeer(amqp_url)
    yield peer
    peer.close()


def test_round_trip_returns_the_typed_response(client: EchoClient) -> None:
    reply = client.echo(text="hello")
    assert reply.text == "hello"
    assert reply.worker == "w1"
    assert client.add(a=2, b=40).sum == 42


def test_exclusive_reply_queue_works_like_direct_reply_to(
    amqp_url: str, queue: str, worker: leveret.Worker
) -> None:
    with EchoClient.connect(amqp_url, queue=queue, reply_queue="exclusive") as c:
        assert c.add(a=1, b=1).sum == 2


def test_handler_sees_the_callers_remaining_time(client: EchoClient) -> None:
    reply = client.echo(text="t", timeout=3.0)
    assert reply.remaining is not None
    assert 2.0 < reply.remaining <= 3.0
    assert client.echo(text="t", timeout=None).remaining is None


def test_declared_error_arrives_with_typed_details(client: EchoClient) -> None:
    from tests.support.echo import TooLoud, TooLoudDetails

    with pytest.raises(TooLoud) as info:
        client.fail(kind="declared")
    error = info.value
    assert isinstance(error, leveret.FailedPrecondition)
    assert error.status is leveret.StatusCode.FAILED_PRECONDITION
    assert error.message == "too loud"
    assert isinstance(error.details, TooLoudDetails)
    assert error.details.limit == 3


def test_status_error_raised_by_a_handler_keeps_its_status(client: EchoClient) -> None:
    with pytest.raises(leveret.NotFound, match="nothing here"):
        client.fail(kind="status")


def test_undeclared_exception_is_internal_without_leaking(
    client: EchoClient, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(leveret.Internal) as info:
        client.fail(kind="plain")
    text = f"{info.value} {info.value.details!r}"
    assert "secret" not in text and "RuntimeError" not in text and "Traceback" not in text
    # The traceback is in the server log, with the correlation id the caller saw.
    logged = [r for r in caplog.records if r.name == "leveret.server" and r.exc_info]
    assert logged, "the handler's traceback should be logged"
    assert "secret database password" in str(logged[-1].exc_info[1])
    assert logged[-1].getMessage().split("cid=")[1].rstrip(")") in info.value.message


def test_invalid_request_is_stopped_by_the_client(client: EchoClient, echo: Echo) -> None:
    with pytest.raises(leveret.InvalidArgument) as info:
        client.echo(text="x" * 101)
    assert info.value.details[0]["loc"] == ["text"]
    assert echo.calls == 0
    assert client.echo(text="ok").text == "ok"
    assert echo.calls == 1


def test_invalid_request_sent_raw_is_refused_by_the_server(
    worker: leveret.Worker, queue: str, raw: RawPeer, echo: Echo
) -> None:
    cid = raw.publish(queue, json.dumps({"text": 42}).encode(), method="echo")
    reply = raw.wait(cid)
    assert reply is not None
    assert reply.status == "INVALID_ARGUMENT"
    body = reply.json()
    assert body["code"] == "INVALID_ARGUMENT"
    assert body["error"] is None
    assert body["details"] == [
        {"loc": ["text"], "msg": "Input should be a valid string", "type": "string_type"}
    ]
    assert echo.calls == 0


def test_unknown_method_is_unimplemented(worker: leveret.Worker, queue: str, raw: RawPeer) -> None:
    cid = raw.publish(queue, b"{}", method="no_such_method")
    reply = raw.wait(cid)
    assert reply is not None and reply.status == "UNIMPLEMENTED"
    assert "no_such_method" in reply.json()["message"]


def test_deadline_exceeded_on_time_and_the_late_reply_is_dropped(client: EchoClient) -> None:
    started = time.monotonic()
    with pytest.raises(leveret.DeadlineExceeded):
        client.echo(text="slow", delay=0.6, timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 0.5
    # The late reply to "slow" arrives while this call waits; it must not be taken for this one.
    assert client.echo(text="next", timeout=5).text == "next"
    assert client.echo(text="after", timeout=5).text == "after"


def test_server_skips_a_request_whose_deadline_has_passed(
    worker: leveret.Worker, queue: str, raw: RawPeer, echo: Echo
) -> None:
    past = int((time.time() - 1) * 1000)
    cid = raw.publish(queue, b'{"text": "late"}', method="echo", headers={"rpc-deadline": past})
    live = raw.publish(queue, b'{"text": "live"}', method="echo")
    reply = raw.wait(live)
    assert reply is not None and reply.json()["text"] == "live"
    assert raw.wait(cid, timeout=0.2) is None
    assert echo.calls == 1


def test_no_queue_fails_fast_with_unavailable(amqp_url: str) -> None:
    with EchoClient.connect(amqp_url, queue="leveret.test.nobody-home") as c:
        started = time.monotonic()
        with pytest.raises(leveret.Unavailable, match="nobody-home"):
            c.echo(text="x", timeout=10)
        assert time.monotonic() - started < 1.0


def test_no_queue_fails_fast_for_the_async_client(amqp_url: str) -> None:
    async def main() -> float:
        async with AsyncEchoClient.connect(amqp_url, queue="leveret.test.nobody-home") as c:
            started = time.monotonic()
            with pytest.raises(leveret.Unavailable):
                await c.echo(text="x", timeout=10)
            return time.monotonic() - started

    assert asyncio.run(main()) < 1.0


def test_unreachable_broker_is_unavailable() -> None:
    with pytest.raises(leveret.Unavailable, match=r"cannot reach RabbitMQ.*refused"):
        EchoClient.connect("amqp://guest:guest@127.0.0.1:1/%2F", connect_timeout=2)


def test_200_calls_from_8_threads_each_get_their_own_reply(
    amqp_url: str, queue: str, worker: leveret.Worker
) -> None:
    errors: list[str] = []
    with EchoClient.connect(amqp_url, queue=queue) as c:

        def run(thread: int) -> None:
            for i in range(25):
                text = f"t{thread}-{i}"
                got = c.echo(text=text, timeout=20).text
                if got != text:
                    errors.append(f"{text} got {got}")

        threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_1000_concurrent_asyncio_calls_each_get_their_own_reply(amqp_url: str, queue: str) -> None:
    async def main() -> list[tuple[int, int]]:
        with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue):
            async with AsyncEchoClient.connect(amqp_url, queue=queue) as c:
                replies = await asyncio.gather(
                    *(c.add(a=i, b=1000, timeout=30) for i in range(1000))
                )
                return [(i, r.sum) for i, r in enumerate(replies)]

    results = asyncio.run(main())
    assert len(results) == 1000
    assert all(total == i + 1000 for i, total in results)


def test_async_client_round_trip_error_and_deadline(amqp_url: str, queue: str) -> None:
    from tests.support.echo import TooLoud

    async def main() -> None:
        with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue):
            async with AsyncEchoClient.connect(amqp_url, queue=queue) as c:
                assert (await c.echo(text="a")).text == "a"
                with pytest.raises(TooLoud) as info:
                    await c.fail(kind="declared")
                assert info.value.details.limit == 3
                with pytest.raises(leveret.Internal):
                    await c.fail(kind="plain")
                with pytest.raises(leveret.DeadlineExceeded):
                    await c.echo(text="slow", delay=0.5, timeout=0.1)
                assert (await c.echo(text="b")).text == "b"
                with pytest.raises(leveret.InvalidArgument):
                    await c.echo(text="x" * 101)

    asyncio.run(main())


def test_inline_worker_serves_and_maps_errors(amqp_url: str, queue: str) -> None:
    from tests.support.echo import TooLoud

    threads: set[str] = set()

    class Recording(Echo):
        def add(self, request: Any, context: leveret.CallContext) -> Any:
            threads.add(threading.current_thread().name)
            return super().add(request, context)

    echo = Recording("inline")
    with (
        leveret.Worker(echo, url=amqp_url, queue=queue, inline=True),
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        assert [client.echo(text=str(i)).text for i in range(50)] == [str(i) for i in range(50)]
        assert client.add(a=1, b=2).sum == 3
        assert threads == {f"leveret-{queue}"}  # the worker's own (I/O) thread, no handler pool
        with pytest.raises(TooLoud):
            client.fail(kind="declared")
        with pytest.raises(leveret.Internal):
            client.fail(kind="plain")
    assert echo.calls == 50


def test_inline_needs_a_sync_servicer_and_concurrency_1(amqp_url: str) -> None:
    with pytest.raises(leveret.ConfigurationError, match="inline"):
        leveret.Worker(Echo(), url=amqp_url, concurrency=2, inline=True)
    with pytest.raises(leveret.ConfigurationError, match="inline"):
        leveret.Worker(AsyncEcho(), url=amqp_url, inline=True)


@pytest.mark.parametrize("option", ["concurrency", "prefetch"])
def test_zero_concurrency_or_prefetch_is_refused_not_defaulted(amqp_url: str, option: str) -> None:
    with pytest.raises(leveret.ConfigurationError, match=f"{option} must be at least 1"):
        leveret.Worker(Echo(), url=amqp_url, **{option: 0})  # type: ignore[arg-type]
