"""Messages from peers in other languages that pika cannot read as leveret expects, against a
real RabbitMQ: header tables pika cannot decode (a timestamp outside ``datetime``'s range,
tables nested deeper than Python recurses), ids that are not UTF-8, and replies to a new
``reply_to`` on every call. One such message fails itself only: the worker answers it and
serves on, the client fails one call, and no connection is dropped.

Requests and replies are written frame by frame here (``_content``): pika can encode none of
these messages. Bodies of 400 kB cannot arrive in one socket read, so they reach leveret's
frame-by-frame (pika) path; small ones its one-step path (``leveret._frames.read_fast``).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest

import leveret
from leveret import CallContext
from leveret._frames import CACHED_METHODS
from leveret._wire import OutgoingReply
from tests.support.amqp_raw import content_frames, send_frames
from tests.support.echo import (
    AsyncEcho,
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
    EchoRequest,
    TooLoud,
)
from tests.support.proxy import wait_until
from tests.support.raw import RawPeer, ready_count

pytestmark = pytest.mark.integration

LARGE = 400_000  # bytes of body: more than one socket read (pika reads 128 KiB at a time)


# -- writing what pika cannot --------------------------------------------------------------


def _short(data: bytes) -> bytes:
    return bytes((len(data),)) + data


def _table(fields: bytes) -> bytes:
    return struct.pack(">I", len(fields)) + fields


def _timestamp_table(seconds: int) -> bytes:
    """An ``rpc-deadline`` far ahead, then a timestamp field (type ``T``) of ``seconds``."""
    deadline = _short(b"rpc-deadline") + b"l" + struct.pack(">q", int((time.time() + 60) * 1000))
    return _table(deadline + _short(b"sent-at") + b"T" + struct.pack(">Q", seconds))


def _nested_table(depth: int) -> bytes:
    """Tables within tables, deeper than pika's recursive decoder can go."""
    table = _table(b"")
    for _ in range(depth):
        table = _table(_short(b"n") + b"F" + table)
    return table


HOSTILE_TABLES: dict[str, bytes] = {
    "timestamp-2**62": _timestamp_table(2**62),
    "timestamp-in-ms": _timestamp_table(int(time.time() * 1000)),  # Date.now(), in seconds
    "nested-too-deep": _nested_table(5000),
}


# ``basic.publish`` frames written by hand (tests/support/amqp_raw.py, shared with the fuzzers),
# a JSON body unless told otherwise; sent on the peer's channel.
_content = functools.partial(content_frames, content_type=b"application/json")
_send = send_frames


def _request(
    peer: RawPeer,
    queue: str,
    body: bytes,
    *,
    headers: bytes | None = None,
    correlation_id: bytes,
    reply_to: bytes | None = None,
) -> None:
    data = _content(
        peer.ch.channel_number,
        peer.conn._impl.params.frame_max,
        queue.encode(),
        body,
        headers=headers,
        correlation_id=correlation_id,
        reply_to=peer.reply_queue.encode() if reply_to is None else reply_to,
        type_=b"echo",
    )
    _send(peer.conn, peer.ch, queue, data)


def _echo_body(size: int) -> bytes:
    return json.dumps({"text": "x" * max(1, size)}).encode()


@pytest.fixture
def peer(amqp_url: str) -> Iterator[RawPeer]:
    raw = RawPeer(amqp_url)
    yield raw
    raw.close()


@pytest.fixture
def dead_letters(amqp_url: str, queue: str) -> Iterator[str]:
    """A queue that takes what ``queue`` rejects (declared by the worker with these args)."""
    name = f"{queue}.dlq"
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    conn.channel().queue_declare(name)
    yield name
    conn.channel().queue_delete(name)
    conn.close()


def _dlx(dead_letters: str) -> dict[str, Any]:
    return {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead_letters}


# -- A1: a request whose headers cannot be decoded ------------------------------------------


@pytest.mark.parametrize("size", [10, LARGE], ids=["one-step-read", "pika-read"])
@pytest.mark.parametrize("table", list(HOSTILE_TABLES), ids=list(HOSTILE_TABLES))
def test_undecodable_request_headers_are_refused_and_the_worker_serves_on(
    amqp_url: str, queue: str, dead_letters: str, peer: RawPeer, table: str, size: int
) -> None:
    worker = leveret.Worker(
        Echo("w"), url=amqp_url, queue=queue, queue_arguments=_dlx(dead_letters)
    )
    with worker, EchoClient.connect(amqp_url, queue=queue) as client:
        _request(peer, queue, _echo_body(size), headers=HOSTILE_TABLES[table], correlation_id=b"c1")
        reply = peer.wait("c1", timeout=10)
        assert reply is not None, "the worker did not answer the request"
        assert reply.status == "INVALID_ARGUMENT"
        assert "undecodable request properties" in reply.json()["message"]
        # Rejected without requeue: dead-lettered, not redelivered, not acked.
        wait_until(lambda: ready_count(amqp_url, dead_letters) == 1, 10, "the dead letter")
        assert ready_count(amqp_url, queue) == 0
        assert client.echo(text="still here", timeout=5).text == "still here"
        consumer: Any = worker._active
        assert consumer.connects == 1, "the worker's connection was dropped"


def test_undecodable_headers_without_reply_to_are_rejected_quietly(
    amqp_url: str, queue: str, dead_letters: str, peer: RawPeer
) -> None:
    worker = leveret.Worker(
        Echo("w"), url=amqp_url, queue=queue, queue_arguments=_dlx(dead_letters)
    )
    with worker, EchoClient.connect(amqp_url, queue=queue) as client:
        headers = HOSTILE_TABLES["timestamp-2**62"]
        data = _content(
            peer.ch.channel_number,
            peer.conn._impl.params.frame_max,
            queue.encode(),
            _echo_body(10),
            headers=headers,
            correlation_id=None,
            type_=b"echo",
        )
        _send(peer.conn, peer.ch, queue, data)
        wait_until(lambda: ready_count(amqp_url, dead_letters) == 1, 10, "the dead letter")
        assert client.echo(text="next", timeout=5).text == "next"
        consumer: Any = worker._active
        assert consumer.connects == 1


# -- A1, the client's side: a reply whose headers cannot be decoded ------------------------


class _RawWorker:
    """A worker in "another language": answers ``echo`` by hand, with an undecodable headers
    table when the text is ``"hostile"``, else as leveret's wire protocol says."""

    def __init__(self, url: str, queue: str, reply_size: int) -> None:
        self._url, self._queue, self._reply_size = url, queue, reply_size
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the raw worker did not start"

    def _run(self) -> None:
        try:
            conn = pika.BlockingConnection(pika.URLParameters(self._url))
            ch = conn.channel()
            ch.queue_declare(self._queue, durable=True)

            def on_request(_ch: Any, method: Any, props: Any, body: bytes) -> None:
                text = json.loads(body)["text"]
                hostile = text == "hostile"
                status = _short(b"rpc-status") + b"S" + struct.pack(">I", 2) + b"OK"
                data = _content(
                    ch.channel_number,
                    conn._impl.params.frame_max,
                    props.reply_to.encode(),
                    json.dumps({"text": text, "worker": "raw" * self._reply_size}).encode(),
                    headers=HOSTILE_TABLES["timestamp-2**62"] if hostile else _table(status),
                    correlation_id=props.correlation_id.encode(),
                )
                conn._impl._output_marshaled_frames([data])
                ch.basic_ack(method.delivery_tag)

            ch.basic_consume(self._queue, on_request)
            self._ready.set()
            while not self._stop.is_set():
                conn.process_data_events(time_limit=0.05)
            conn.close()
        except BaseException as exc:
            self.error = exc
            self._ready.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        assert self.error is None, f"the raw worker failed: {self.error!r}"


@pytest.fixture
def raw_worker(amqp_url: str, queue: str) -> Iterator[Callable[[int], _RawWorker]]:
    started: list[_RawWorker] = []

    def start(reply_size: int) -> _RawWorker:
        started.append(_RawWorker(amqp_url, queue, reply_size))
        return started[-1]

    yield start
    for worker in started:
        worker.close()


@pytest.mark.parametrize("size", [1, LARGE // 3], ids=["one-step-read", "pika-read"])
@pytest.mark.parametrize("reply_queue", ["direct", "exclusive"])
def test_an_undecodable_reply_fails_one_sync_call(
    amqp_url: str,
    queue: str,
    raw_worker: Callable[[int], _RawWorker],
    reply_queue: str,
    size: int,
) -> None:
    raw_worker(size)
    with EchoClient.connect(amqp_url, queue=queue, reply_queue=reply_queue) as client:
        with pytest.raises(leveret.Internal, match="undecodable reply"):
            client.echo(text="hostile", timeout=10)
        assert client.echo(text="fine", timeout=10).text == "fine"


@pytest.mark.parametrize("size", [1, LARGE // 3], ids=["one-step-read", "pika-read"])
def test_an_undecodable_reply_fails_one_asyncio_call(
    amqp_url: str, queue: str, raw_worker: Callable[[int], _RawWorker], size: int
) -> None:
    raw_worker(size)

    async def main() -> None:
        async with AsyncEchoClient.connect(amqp_url, queue=queue) as client:
            calls = [client.echo(text="hostile", timeout=10)] + [
                client.echo(text=f"fine{i}", timeout=10) for i in range(3)
            ]
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert isinstance(results[0], leveret.Internal), results[0]
            assert "undecodable reply" in str(results[0])
            assert [r.text for r in results[1:]] == ["fine0", "fine1", "fine2"]  # type: ignore[union-attr]

    asyncio.run(main())


# -- A5: ids that are not UTF-8 --------------------------------------------------------------

BINARY_CID = bytes(range(240, 256))  # 16 bytes, not UTF-8


@pytest.mark.parametrize("size", [10, LARGE], ids=["one-step-read", "pika-read"])
def test_a_binary_correlation_id_comes_back_byte_for_byte(
    amqp_url: str, queue: str, peer: RawPeer, size: int
) -> None:
    with leveret.Worker(Echo("w"), url=amqp_url, queue=queue):
        _request(peer, queue, _echo_body(size), correlation_id=BINARY_CID)
        reply = peer.wait(BINARY_CID, timeout=10)  # type: ignore[arg-type]
        assert reply is not None, "no reply carries the request's correlation id"
        assert reply.correlation_id == BINARY_CID
        assert reply.status == ("OK" if size < 100 else "INVALID_ARGUMENT")


def _worker(kind: str, url: str, queue: str) -> leveret.Worker:
    """A worker with one concurrency slot and prefetch 1: a delivery left unsettled stalls it."""
    if kind == "async":
        return leveret.Worker(AsyncEcho(), url=url, queue=queue, concurrency=1)
    return leveret.Worker(Echo("w"), url=url, queue=queue, inline=kind == "inline")


WORKER_KINDS = ["inline", "threaded", "async"]


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_a_long_correlation_id_that_is_not_utf8_does_not_stall_the_worker(
    amqp_url: str, queue: str, peer: RawPeer, kind: str
) -> None:
    # 200 bytes that would become 600 if decoded with replacement characters: more than a
    # short string holds, so re-encoding them for the reply failed and the delivery was
    # never settled, holding the only prefetch slot.
    cid = b"\xff" * 200
    with _worker(kind, amqp_url, queue), EchoClient.connect(amqp_url, queue=queue) as client:
        _request(peer, queue, _echo_body(10), correlation_id=cid)
        reply = peer.wait(cid, timeout=10)  # type: ignore[arg-type]
        assert reply is not None and reply.status == "OK"
        assert client.echo(text="next", timeout=5).text == "next"


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_a_reply_to_that_is_not_utf8_does_not_stall_the_worker(
    amqp_url: str, queue: str, peer: RawPeer, kind: str
) -> None:
    with _worker(kind, amqp_url, queue), EchoClient.connect(amqp_url, queue=queue) as client:
        _request(peer, queue, _echo_body(10), correlation_id=b"c2", reply_to=b"\xfe" * 120)
        assert client.echo(text="next", timeout=5).text == "next"
        wait_until(lambda: ready_count(amqp_url, queue) == 0, 5, "an empty queue")


def test_settle_rejects_a_delivery_whose_reply_cannot_be_encoded(
    amqp_url: str, queue: str, dead_letters: str, peer: RawPeer, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever fails while encoding a reply, the delivery is rejected (never left unacked
    with its prefetch slot taken) and the failure logged."""
    from leveret._amqp import AsyncioConsumer

    async def main() -> list[bytes]:
        consumer = AsyncioConsumer(amqp_url, queue, prefetch=1, queue_arguments=_dlx(dead_letters))
        seen: list[bytes] = []
        two = asyncio.Event()

        def on_delivery(delivery: Any, token: int) -> None:
            seen.append(delivery.body)
            # A reply_to no short string can hold: encoding the reply fails.
            bad = OutgoingReply("q" * 300, delivery.correlation_id, "OK", b"{}")
            consumer.settle(token, bad if len(seen) == 1 else None, ack=True)
            if len(seen) == 2:
                two.set()

        await consumer.start(on_delivery)
        try:
            await asyncio.wait_for(two.wait(), 10)
        finally:
            await consumer.stop()
        return seen

    peer.ch.queue_declare(queue, durable=True, arguments=_dlx(dead_letters))
    for i in range(2):
        peer.publish(queue, f'{{"text": "{i}"}}'.encode(), correlation_id=f"c{i}")
    with caplog.at_level(logging.ERROR, logger="leveret.amqp"):
        seen = asyncio.run(main())
    assert seen == [b'{"text": "0"}', b'{"text": "1"}']
    assert ready_count(amqp_url, dead_letters) == 1  # the first, rejected without requeue
    assert any("could not encode the reply" in r.getMessage() for r in caplog.records)


# -- A8: a new reply_to per caller -----------------------------------------------------------


def test_the_worker_forgets_reply_addresses(amqp_url: str, queue: str) -> None:
    servicer = Echo("w")
    worker = leveret.Worker(servicer, url=amqp_url, queue=queue, concurrency=1, prefetch=100)
    count = 10_000
    with worker:
        conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
        try:
            ch = conn.channel()
            for i in range(count):  # replies go to queues that do not exist: dropped
                ch.basic_publish(
                    "",
                    queue,
                    b'{"text": "x"}',
                    pika.BasicProperties(
                        content_type="application/json",
                        correlation_id=str(i),
                        reply_to=f"amq.rabbitmq.reply-to.caller{i}",
                        type="echo",
                    ),
                )
        finally:
            conn.close()
        wait_until(lambda: servicer.calls == count, 120, "every request handled")
        consumer: Any = worker._active
        assert len(consumer._frames._publish_methods) <= CACHED_METHODS


# -- item 19: worker-side smaller items -----------------------------------------------------


class _RaisesOthersError(Echo):
    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        raise TooLoud("declared by fail, not by echo", limit=1)


@pytest.mark.parametrize("transport", ["amqp", "memory"])
def test_an_error_declared_on_another_method_is_logged_by_the_worker(
    amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture, transport: str
) -> None:
    url = amqp_url if transport == "amqp" else f"memory://{uuid.uuid4().hex}"
    with (
        caplog.at_level(logging.WARNING, logger="leveret.server"),
        leveret.Worker(_RaisesOthersError("w"), url=url, queue=queue),
        EchoClient.connect(url, queue=queue) as client,
    ):
        with pytest.raises(leveret.FailedPrecondition) as raised:
            client.echo(text="hi", timeout=5)
        assert not isinstance(raised.value, TooLoud)  # undeclared on echo: a plain status
    warnings = [
        r.getMessage()
        for r in caplog.records
        # the call's own record (it has a status) aside: one warning about the declaration
        if r.name == "leveret.server" and r.levelno == logging.WARNING and not hasattr(r, "status")
    ]
    assert len(warnings) == 1, warnings
    assert "echo raised TooLoud" in warnings[0]
    assert "declared by fail" in warnings[0]


def _consumers(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.consumer_count)
    finally:
        conn.close()


@pytest.mark.parametrize("servicer", [AsyncEcho, Echo])
def test_async_with_worker_serves_then_stops(
    amqp_url: str, queue: str, servicer: Callable[[], object]
) -> None:
    async def main() -> None:
        worker = leveret.Worker(servicer(), url=amqp_url, queue=queue)
        inline = worker.inline
        async with worker, AsyncEchoClient.connect(amqp_url, queue=queue) as client:
            assert _consumers(amqp_url, queue) == 1
            assert not worker.inline  # a sync handler must not hold up this loop
            assert (await client.echo(text="hi", timeout=5)).text == "hi"
        assert _consumers(amqp_url, queue) == 0  # stopped and closed once the block is left
        assert worker.inline == inline

    asyncio.run(main())


def test_async_with_worker_raises_when_it_cannot_start(queue: str) -> None:
    async def main() -> None:
        worker = leveret.Worker(AsyncEcho(), url="amqp://guest:guest@127.0.0.1:1/", queue=queue)
        with pytest.raises(leveret.Unavailable):
            async with worker:
                raise AssertionError("the block ran without a worker")

    asyncio.run(main())
