"""Workers against a real RabbitMQ: sharing a queue, dying mid-request, malformed messages."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import leveret
from tests.support.echo import Echo, EchoClient
from tests.support.raw import RawPeer
from tests.support.serve import Serve

pytestmark = pytest.mark.integration


def test_two_workers_share_one_queue(amqp_url: str, queue: str) -> None:
    first, second = Echo("first"), Echo("second")
    with (
        leveret.Worker(first, url=amqp_url, queue=queue, prefetch=1),
        leveret.Worker(second, url=amqp_url, queue=queue, prefetch=1),
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        workers = [client.echo(text=str(i)).worker for i in range(20)]
    assert set(workers) == {"first", "second"}
    assert first.calls + second.calls == 20


def test_worker_killed_mid_request_leaves_it_to_another(
    amqp_url: str, queue: str, serve: Callable[..., Serve], tmp_path: Path
) -> None:
    import threading

    env = {"LEVERET_TEST_STARTED_DIR": str(tmp_path)}
    doomed = serve("--prefetch", "1", env=env)
    doomed.wait_for("serving Echo")
    result: list[object] = []

    def call() -> None:
        with EchoClient.connect(amqp_url, queue=queue) as client:
            try:
                result.append(client.echo(text="job", delay=1.0, timeout=30))
            except leveret.RpcError as exc:
                result.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    marker = tmp_path / f"job.{doomed.proc.pid}"
    deadline = time.monotonic() + 20
    while not marker.exists():  # the doomed worker has started the request
        assert time.monotonic() < deadline, "the first worker never started the request"
        time.sleep(0.01)
    doomed.kill()
    survivor = serve("--prefetch", "1", env=env)
    survivor.wait_for("serving Echo")
    caller.join(40)
    assert not caller.is_alive()
    assert len(result) == 1 and not isinstance(result[0], Exception), result
    reply = result[0]
    assert reply.worker == f"pid{survivor.proc.pid}"  # type: ignore[attr-defined]
    assert (tmp_path / f"job.{survivor.proc.pid}").exists()


def test_sigterm_stops_a_worker_cleanly(serve: Callable[..., Serve]) -> None:
    worker = serve()
    worker.wait_for("serving Echo")
    worker.signal(signal.SIGTERM)
    assert worker.wait(20) == 0


@pytest.mark.parametrize(
    ("case", "publish", "expect_status"),
    [
        ("not json", {"body": b"{not json"}, "INVALID_ARGUMENT"),
        ("json array", {"body": b"[1, 2]"}, "INVALID_ARGUMENT"),
        ("wrong content type", {"content_type": "text/plain"}, "INVALID_ARGUMENT"),
        ("no method", {"method": None}, "UNIMPLEMENTED"),
        ("binary garbage", {"body": b"\xff\xfe\x00"}, "INVALID_ARGUMENT"),
        ("no reply_to", {"reply_to": None}, None),
        ("no correlation id", {"correlation_id": ""}, None),
    ],
)
def test_malformed_message_neither_crashes_nor_stalls_the_worker(
    amqp_url: str, queue: str, case: str, publish: dict[str, object], expect_status: str | None
) -> None:
    echo = Echo("w")
    with leveret.Worker(echo, url=amqp_url, queue=queue, prefetch=1):
        peer = RawPeer(amqp_url)
        try:
            args: dict[str, object] = {"body": b'{"text": "ok"}', "method": "echo"}
            args.update(publish)
            body = args.pop("body")
            cid = peer.publish(queue, body, **args)  # type: ignore[arg-type]
            if expect_status is not None:
                reply = peer.wait(cid)
                assert reply is not None, case
                assert reply.status == expect_status
                assert reply.json()["code"] == expect_status
            # The worker still answers, and the bad message is gone (rejected, not requeued).
            good = peer.publish(queue, b'{"text": "after"}', method="echo")
            reply = peer.wait(good)
            assert reply is not None and reply.json()["text"] == "after"
        finally:
            peer.close()
    assert echo.calls == 1
    _assert_queue_empty(amqp_url, queue)


@pytest.mark.parametrize("prop", ["content_type", "correlation_id", "reply_to", "method"])
def test_a_large_message_with_a_property_that_is_not_utf8_is_handled_once(
    amqp_url: str, queue: str, prop: str
) -> None:
    """Not UTF-8, on a message too large to arrive in one read (pika's own reader then gives
    bytes, not text): answered or dropped once, never a reconnect and redelivery loop."""
    echo = Echo("w")
    big = json.dumps({"text": "x" * 400_000}).encode()
    with leveret.Worker(echo, url=amqp_url, queue=queue, prefetch=1) as worker:
        peer = RawPeer(amqp_url)
        try:
            bad: dict[str, object] = {"method": "echo", prop: b"\xff\xfe"}
            peer.publish(queue, big, **bad)  # type: ignore[arg-type]
            good = peer.publish(queue, b'{"text": "after"}', method="echo")
            reply = peer.wait(good)
            assert reply is not None and reply.json()["text"] == "after"
        finally:
            peer.close()
        assert worker._active is not None and worker._active.connects == 1
    assert echo.calls <= 2  # the bad one ran once at most
    _assert_queue_empty(amqp_url, queue)


def _assert_queue_empty(url: str, queue: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        frame = conn.channel().queue_declare(queue, passive=True)
        assert frame.method.message_count == 0
    finally:
        conn.close()


def test_plain_pika_client_calls_a_leveret_server(amqp_url: str, queue: str) -> None:
    """The documented protocol is enough: no leveret import on the client side."""
    code = f"""
import json, uuid, pika
conn = pika.BlockingConnection(pika.URLParameters({amqp_url!r}))
ch = conn.channel()
replies = {{}}
def on_reply(ch, method, props, body):
    replies[props.correlation_id] = (props.headers or {{}}).get("rpc-status"), json.loads(body)
ch.basic_consume("amq.rabbitmq.reply-to", on_reply, auto_ack=True)
out = []
for method, body in [("add", {{"a": 20, "b": 22}}), ("fail", {{"kind": "declared"}})]:
    cid = str(uuid.uuid4())
    ch.basic_publish("", {queue!r}, json.dumps(body).encode(), pika.BasicProperties(
        content_type="application/json", correlation_id=cid, reply_to="amq.rabbitmq.reply-to",
        type=method, expiration="5000"), mandatory=True)
    while cid not in replies:
        conn.process_data_events(time_limit=5)
    out.append(replies[cid])
print(json.dumps(out))
"""
    with leveret.Worker(Echo(), url=amqp_url, queue=queue):
        proc = subprocess.run(
            [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=30
        )
    assert proc.returncode == 0, proc.stderr
    (ok_status, ok_body), (err_status, err_body) = json.loads(proc.stdout)
    assert (ok_status, ok_body) == ("OK", {"sum": 42})
    assert err_status == "FAILED_PRECONDITION"
    assert err_body == {
        "code": "FAILED_PRECONDITION",
        "message": "too loud",
        "error": "TooLoud",
        "details": {"limit": 3},
    }
