"""Issue 16 items 2 and 4-8 against the real broker: late replies after an early end, the
attempt header and retries, the types of ``rpc-deadline``, a reply's ``content_type``, the
exact texts of the server's refusals (pinned here and in docs/wire-protocol.md), duplicate
keys and the UTF-8 BOM."""

from __future__ import annotations

import asyncio
import json
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pika
import pytest

import leveret
from leveret._amqp import AsyncioTransport, BlockingTransport
from leveret._client import DynamicClient
from leveret._retry import RetryPolicy
from leveret._wire import Request
from tests.conftest import ROOT
from tests.support.amqp_raw import Field, content_frames, encode_table, send_frames
from tests.support.numbers import (
    AsyncNumbersClient,
    Numbers,
    NumbersClient,
    RawServer,
    new_queue,
    ok,
    status,
)
from tests.support.proxy import wait_until
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration

DOC = (ROOT / "docs" / "wire-protocol.md").read_text()
#: How late a call may end after its deadline (thread wake-up on a busy machine).
MARGIN = 0.15


@pytest.fixture
def numbers() -> Numbers:
    return Numbers()


@pytest.fixture
def worker(amqp_url: str, queue: str, numbers: Numbers) -> Iterator[leveret.Worker]:
    with leveret.Worker(numbers, url=amqp_url, queue=queue, concurrency=1) as w:
        yield w


@pytest.fixture
def peer(amqp_url: str) -> Iterator[RawPeer]:
    p = RawPeer(amqp_url)
    yield p
    p.close()


@pytest.fixture
def refusing_queue(amqp_url: str) -> Iterator[str]:
    """A queue that refuses every message (max-length 0, reject-publish): publishes are nacked."""
    name = f"leveret.test.nack.{uuid.uuid4().hex[:12]}"
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        ch = conn.channel()
        ch.queue_declare(name, arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
        yield name
        ch.queue_delete(name)
    finally:
        conn.close()


# -- item 2: after an early end, the next call keeps its deadline ----------------------------


def _late_server(amqp_url: str) -> tuple[RawServer, str]:
    """A raw server: ``status`` answers UNAVAILABLE at once, ``slow`` answers 1.0 s later
    (with a value no other call gets), ``add`` answers at once."""
    queue = new_queue()

    def answer(props: Any, body: bytes) -> tuple[str, bytes, Any, float]:
        if props.type == "status":
            return status("UNAVAILABLE", "the service is draining")
        if props.type == "slow":
            late = ok({"value": -1.0})
            return (*late[:3], 1.0)
        request = json.loads(body)
        return ok({"value": request["a"] + request["b"]})

    return RawServer(amqp_url, queue, answer), queue


EARLY_ENDS = ["server-status", "no-route", "nack", "local-validation"]


@pytest.mark.parametrize("early_end", EARLY_ENDS)
def test_sync_call_after_an_early_end_keeps_its_deadline_and_drops_the_late_reply(
    amqp_url: str, refusing_queue: str, early_end: str
) -> None:
    """The issue's report: a call answered UNAVAILABLE by the server, then a call whose
    deadline comes after the first one's returned OK when the late reply came (3 s) instead
    of DEADLINE_EXCEEDED at its deadline. The cause (fixed in 91e73a8): the sync client shares
    one wake-up timer between calls; the first call's timer, left armed, fired during the
    second call and the second call's poll then had no timer at all, so it slept until the
    next frame: the late reply."""
    server, queue = _late_server(amqp_url)
    transport = BlockingTransport(amqp_url)
    client = NumbersClient(transport, queue=queue, retry=RetryPolicy(max_attempts=1))
    dynamic = DynamicClient(transport)
    early: dict[str, Callable[[], object]] = {
        "server-status": lambda: dynamic.call(queue, "status", {}, 0.4),
        "no-route": lambda: dynamic.call(f"nowhere.{uuid.uuid4().hex}", "add", {}, 0.4),
        "nack": lambda: dynamic.call(refusing_queue, "add", {}, 0.4),
        "local-validation": lambda: client.add(a="1", b=1, timeout=0.4),
    }
    try:
        assert client.add(a=1, b=1).value == 2  # connected and warm
        for i in range(2):
            started = time.monotonic()
            with pytest.raises((leveret.Unavailable, leveret.InvalidArgument)):
                early[early_end]()
            assert time.monotonic() - started < 0.3
            sent = server.sent
            started = time.monotonic()
            with pytest.raises(leveret.DeadlineExceeded):
                dynamic.call(queue, "slow", {}, 0.6)
            took = time.monotonic() - started
            assert 0.6 - 0.01 <= took < 0.6 + MARGIN, f"round {i}: ended after {took:.3f} s"
            wait_until(lambda s=sent: server.sent > s, 10, "the late reply to be sent")
            # The late reply {"value": -1} is on the connection: this call gets its own.
            assert client.add(a=i, b=2, timeout=5).value == i + 2
        assert transport._pending == {}
    finally:
        client.close()
        server.close()


@pytest.mark.parametrize("early_end", EARLY_ENDS)
def test_asyncio_call_after_an_early_end_keeps_its_deadline_and_drops_the_late_reply(
    amqp_url: str, refusing_queue: str, early_end: str
) -> None:
    server, queue = _late_server(amqp_url)

    async def scenario() -> None:
        transport = await AsyncioTransport.open(amqp_url)
        client = AsyncNumbersClient(transport, queue=queue, retry=RetryPolicy(max_attempts=1))

        async def first() -> None:
            if early_end == "local-validation":
                await client.add(a="1", b=1, timeout=0.4)
            target = {"server-status": queue, "nack": refusing_queue}.get(
                early_end, f"nowhere.{uuid.uuid4().hex}"
            )
            method = "status" if early_end == "server-status" else "add"
            reply = await transport.call(
                Request(target, method, uuid.uuid4().hex, b"{}", time.time() + 0.4)
            )
            if reply.status != "OK":
                raise leveret.Unavailable(reply.status)

        try:
            assert (await client.add(a=1, b=1)).value == 2
            for i in range(2):
                with pytest.raises((leveret.Unavailable, leveret.InvalidArgument)):
                    await first()
                started = time.monotonic()
                with pytest.raises(leveret.DeadlineExceeded):
                    await transport.call(
                        Request(queue, "slow", uuid.uuid4().hex, b"{}", time.time() + 0.6)
                    )
                took = time.monotonic() - started
                assert took < 0.6 + MARGIN, f"round {i}: ended after {took:.3f} s"
                sent = server.sent
                while server.sent == sent:  # the late reply is on its way
                    await asyncio.sleep(0.02)
                assert (await client.add(a=i, b=2, timeout=5)).value == i + 2
            assert transport._pending == {}
        finally:
            await transport.close()

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
    finally:
        server.close()


# -- item 4: rpc-attempt on every request; retries ------------------------------------------


class _Attempts:
    """A worker middleware that records the attempt each call reports."""

    def __init__(self) -> None:
        self.attempts: list[int] = []

    def intercept(self, call: Any, call_next: Any) -> Any:
        self.attempts.append(call.attempt)
        return call_next(call)


def test_every_request_carries_rpc_attempt_and_a_retry_counts_up(
    amqp_url: str, queue: str, numbers: Numbers
) -> None:
    middleware = _Attempts()
    with (
        leveret.Worker(numbers, url=amqp_url, queue=queue, middleware=[middleware]),
        NumbersClient(BlockingTransport(amqp_url), queue=queue) as client,
    ):
        seen = client.flaky()
    # UNAVAILABLE twice, then OK: three requests, each with a new correlation id, the same
    # rpc-deadline, and rpc-attempt 1, 2, 3 (the handler's attempt counts retries: 0, 1, 2).
    assert [s.header for s in numbers.seen_calls] == [1, 2, 3]
    assert [s.attempt for s in numbers.seen_calls] == [0, 1, 2]
    assert middleware.attempts == [0, 1, 2]
    assert seen.attempt == 2
    assert len({s.correlation_id for s in numbers.seen_calls}) == 3
    assert len({s.deadline for s in numbers.seen_calls}) == 1


def test_the_asyncio_client_sends_rpc_attempt_too(
    amqp_url: str, queue: str, numbers: Numbers, worker: leveret.Worker
) -> None:
    async def scenario() -> None:
        transport = await AsyncioTransport.open(amqp_url)
        try:
            seen = await AsyncNumbersClient(transport, queue=queue).flaky()
            assert seen.attempt == 2
        finally:
            await transport.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert [s.header for s in numbers.seen_calls] == [1, 2, 3]


@pytest.mark.parametrize(
    ("headers", "attempt"),
    [
        (None, 0),  # a client that does not send it: a first attempt
        ({"rpc-attempt": 1}, 0),
        ({"rpc-attempt": 4}, 3),
        ({"rpc-attempt": "4"}, 0),  # read leniently: not an integer, a first attempt
        ({"rpc-attempt": 0}, 0),
    ],
)
def test_a_server_reads_rpc_attempt_from_a_raw_peer(
    worker: leveret.Worker, peer: RawPeer, queue: str, headers: Any, attempt: int
) -> None:
    cid = peer.publish(queue, b"{}", method="seen", headers=headers)
    reply = peer.wait(cid, 10)
    assert reply is not None and reply.status == "OK"
    assert reply.json()["attempt"] == attempt


def test_a_client_sent_rpc_status_on_a_request_means_nothing(
    worker: leveret.Worker, peer: RawPeer, queue: str
) -> None:
    cid = peer.publish(queue, b'{"a": 1, "b": 2}', method="add", headers={"rpc-status": "INTERNAL"})
    reply = peer.wait(cid, 10)
    assert reply is not None
    assert (reply.status, reply.json()) == ("OK", {"value": 3.0})


# -- item 6: rpc-deadline types, a reply's content_type --------------------------------------


@pytest.mark.parametrize(
    ("value", "counts"),
    [
        (1_000, True),  # an AMQP integer (pika: 'l'), long ago: the caller has given up
        (Field(b"I", struct.pack(">i", 1_000)), True),  # a 32-bit integer
        (Field(b"d", struct.pack(">d", 1_000.5)), True),  # an AMQP double: a number too
        (Field(b"f", struct.pack(">f", 1_000.5)), True),
        ("1000", False),  # a numeric string: ignored, no deadline
        (True, False),
        (Decimal("1000"), False),
    ],
    ids=["long", "int", "double", "float", "numeric-string", "bool", "decimal"],
)
def test_which_rpc_deadline_types_count(
    worker: leveret.Worker, peer: RawPeer, queue: str, value: object, counts: bool
) -> None:
    """A deadline long passed: skipped without a reply when it counts, handled when it is
    ignored. A request published after it, on the one-at-a-time worker, is answered after it
    was dealt with, so its reply says the first one had its chance."""
    first = uuid.uuid4().hex
    frames = content_frames(
        peer.ch.channel_number,
        peer.conn._impl.params.frame_max,
        queue.encode(),
        b'{"a": 1, "b": 1}',
        content_type=b"application/json",
        headers=encode_table({"rpc-deadline": value}),
        correlation_id=first.encode(),
        reply_to=peer.reply_queue.encode(),
        type_=b"add",
    )
    send_frames(peer.conn, peer.ch, queue, frames)
    second = peer.publish(queue, b'{"a": 2, "b": 2}', method="add")
    assert peer.wait(second, 10) is not None
    reply = peer.replies.pop(first, None)
    if counts:
        assert reply is None
    else:
        assert reply is not None and reply.status == "OK"


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/octet-stream"])
def test_a_replys_content_type_is_not_checked(amqp_url: str, content_type: str | None) -> None:
    queue = new_queue()
    server = RawServer(amqp_url, queue, lambda _p, _b: ok({"value": 7.0}, content_type))
    try:
        with NumbersClient(BlockingTransport(amqp_url), queue=queue) as client:
            assert client.add(a=1, b=2).value == 7.0
    finally:
        server.close()


# -- item 7: the exact texts, in the code and in the document --------------------------------


def _refusal(peer: RawPeer, queue: str, body: bytes, **options: Any) -> tuple[str, dict]:
    cid = peer.publish(queue, body, **options)
    reply = peer.wait(cid, 10)
    assert reply is not None and reply.status is not None
    return reply.status, reply.json()


def test_the_servers_refusal_texts_are_the_documented_ones(
    worker: leveret.Worker, peer: RawPeer, queue: str
) -> None:
    cases = [
        (
            {"method": None},
            "UNIMPLEMENTED",
            "the request names no method (the AMQP 'type' property is empty)",
        ),
        ({"method": "nope"}, "UNIMPLEMENTED", "Numbers has no method 'nope'"),
        (
            {"method": "add", "content_type": "text/plain"},
            "INVALID_ARGUMENT",
            "unsupported content type 'text/plain'",
        ),
    ]
    for options, code, message in cases:
        got = _refusal(peer, queue, b'{"a": 1, "b": 1}', **options)
        assert got == (code, {"code": code, "message": message, "error": None, "details": None})
        assert f"`{message}`" in DOC, f"docs/wire-protocol.md does not quote {message!r}"
    # Validation errors: "<method>: request failed validation: " then "<path>: <msg>" per
    # error, joined by "; ", dotted paths, "(body)" for the body as a whole.
    code, error = _refusal(peer, queue, b'{"points": [{"x": "1"}]}', method="shape")
    assert error["message"] == (
        "shape: request failed validation: points.0.x: Input should be a valid number; "
        "points.0.y: Field required"
    )
    assert f"`{error['message']}`" in DOC
    code, error = _refusal(peer, queue, b"[1]", method="add")
    assert error["message"] == ("add: request failed validation: (body): Input should be an object")
    assert f"`{error['message']}`" in DOC


def test_the_clients_no_route_text_is_the_documented_one(amqp_url: str) -> None:
    queue = f"leveret.test.nowhere.{uuid.uuid4().hex[:8]}"
    with (
        NumbersClient(BlockingTransport(amqp_url), queue=queue, wait_for_ready=True) as client,
        pytest.raises(leveret.Unavailable) as caught,
    ):
        client.add(a=1, b=2)
    message = f"no queue '{queue}' to take 'add': is the service running? (broker: NO_ROUTE)"
    assert caught.value.message == message
    documented = "no queue '<queue>' to take '<method>': is the service running? (broker: NO_ROUTE)"
    assert f"`{documented}`" in DOC


def test_the_clients_nack_text_is_the_documented_one(amqp_url: str, refusing_queue: str) -> None:
    with (
        NumbersClient(
            BlockingTransport(amqp_url),
            queue=refusing_queue,
            wait_for_ready=True,
            retry=RetryPolicy(max_attempts=1),
        ) as client,
        pytest.raises(leveret.Unavailable) as caught,
    ):
        client.add(a=1, b=2)
    assert caught.value.message == "the broker refused the request (publisher nack)"
    assert f"`{caught.value.message}`" in DOC


# -- item 8: duplicate keys, the BOM ----------------------------------------------------------


def test_a_duplicate_key_the_last_wins(worker: leveret.Worker, peer: RawPeer, queue: str) -> None:
    code, reply = _refusal(peer, queue, b'{"a": 1, "b": 1, "a": 40}', method="add")
    assert (code, reply) == ("OK", {"value": 41.0})


def test_a_body_with_a_utf8_bom_is_not_json(
    worker: leveret.Worker, peer: RawPeer, queue: str
) -> None:
    code, error = _refusal(peer, queue, b'\xef\xbb\xbf{"a": 1, "b": 1}', method="add")
    assert code == "INVALID_ARGUMENT"
    assert error["details"][0]["type"] == "json_invalid"
    assert error["details"][0]["loc"] == []
