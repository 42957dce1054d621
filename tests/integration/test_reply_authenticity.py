"""Reply authenticity against RabbitMQ: a rogue consumer on the service's own request queue,
logged in as another broker user, answers every request with forged replies before the
genuine (slower) worker does. With ``server_user`` the caller gets the genuine reply (or
DEADLINE_EXCEEDED), never the forgery."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pytest

import leveret
from tests.support.broker_users import BrokerUsers, broker_users
from tests.support.echo import AsyncEchoClient, Echo, EchoClient
from tests.support.proxy import wait_until

FORGED = "forged"


@pytest.fixture(scope="module")
def users(amqp_url: str) -> Iterator[BrokerUsers]:
    with broker_users(amqp_url, "svc", "alice", "mallory") as made:
        yield made


class Rogue:
    """Raw pika, logged in as mallory: takes each request from the queue, answers it with two
    forged OK replies (one with no user_id, one with mallory's, the only one the broker lets
    it set), then hands the request back to the queue so the genuine worker serves it too."""

    def __init__(self, url: str, queue: str) -> None:
        self.url, self.queue = url, queue
        self.forged: set[str] = set()
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "the rogue consumer did not start"

    def _run(self) -> None:
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1)

        def on_request(_ch: Any, method: Any, props: Any, _body: bytes) -> None:
            cid = props.correlation_id
            if cid not in self.forged:
                self.forged.add(cid)
                body = json.dumps({"text": FORGED, "worker": "mallory"}).encode()
                for user_id in (None, self.user):
                    ch.basic_publish(
                        "",
                        props.reply_to,
                        body,
                        pika.BasicProperties(
                            content_type="application/json",
                            correlation_id=cid,
                            headers={"rpc-status": "OK"},
                            user_id=user_id,
                        ),
                    )
            ch.basic_reject(method.delivery_tag, requeue=True)

        ch.basic_consume(self.queue, on_request)
        self.ready.set()
        try:
            while not self._stop.is_set():
                conn.process_data_events(time_limit=0.05)
        finally:
            conn.close()

    @property
    def user(self) -> str:
        return str(pika.URLParameters(self.url).credentials.username)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


@pytest.fixture
def setup(users: BrokerUsers) -> Iterator[tuple[str, Echo, Rogue]]:
    queue = f"leveret.test.replies.{uuid.uuid4().hex[:10]}"
    echo = Echo("genuine")
    # The genuine worker first: it declares the queue the rogue then consumes.
    with leveret.Worker(echo, url=users.url("svc"), queue=queue):
        rogue = Rogue(users.url("mallory"), queue)
        try:
            yield queue, echo, rogue
        finally:
            rogue.stop()


#: The broker hands requests to the rogue and the worker in turn: calls are made until the
#: rogue has answered this many of them first.
FORGED_CALLS = 2
MAX_CALLS = 20


def test_with_server_user_the_genuine_slower_reply_wins(
    users: BrokerUsers, setup: tuple[str, Echo, Rogue], caplog: pytest.LogCaptureFixture
) -> None:
    queue, echo, rogue = setup
    caplog.set_level(logging.WARNING, logger="leveret.client")
    with EchoClient.connect(users.url("alice"), queue=queue, server_user=users.name("svc")) as c:
        calls = 0
        while len(rogue.forged) < FORGED_CALLS and calls < MAX_CALLS:
            reply = c.echo(text=f"real-{calls}", delay=0.3, timeout=10)
            assert (reply.text, reply.worker) == (f"real-{calls}", "genuine")
            calls += 1
        assert len(rogue.forged) >= FORGED_CALLS, "the rogue answered too few calls"
        transport: Any = c._transport
        # Two forgeries per call the rogue saw, all dropped.
        wait_until(lambda: transport.foreign_replies == 2 * len(rogue.forged), 5, "every forgery")
    dropped = [r for r in caplog.records if "dropped a reply from" in r.getMessage()]
    # Logged once per source: no user_id, and mallory.
    assert len(dropped) == 2, [r.getMessage() for r in dropped]
    assert any(users.name("mallory") in r.getMessage() for r in dropped)
    assert echo.calls == calls


def test_async_client_with_server_user_ignores_the_forgery(
    users: BrokerUsers, setup: tuple[str, Echo, Rogue]
) -> None:
    queue, _echo, rogue = setup

    async def scenario() -> int:
        async with AsyncEchoClient.connect(
            users.url("alice"), queue=queue, server_user=users.name("svc")
        ) as c:
            calls = 0
            while not rogue.forged and calls < MAX_CALLS:
                reply = await c.echo(text="real", delay=0.3, timeout=10)
                assert (reply.text, reply.worker) == ("real", "genuine")
                calls += 1
            transport: Any = c._transport
            for _ in range(250):  # the forgeries came before the genuine reply; at most 5 s
                if transport.foreign_replies >= 2:
                    break
                await asyncio.sleep(0.02)
            return int(transport.foreign_replies)

    assert asyncio.run(scenario()) == 2
    assert len(rogue.forged) == 1


def test_a_forged_reply_never_settles_a_call_that_the_worker_cannot_answer(
    users: BrokerUsers, setup: tuple[str, Echo, Rogue]
) -> None:
    """The genuine worker is too slow for the deadline: the caller gets DEADLINE_EXCEEDED,
    never the forgery that came in time."""
    queue, _echo, rogue = setup
    with EchoClient.connect(users.url("alice"), queue=queue, server_user=users.name("svc")) as c:
        calls = 0
        while not rogue.forged and calls < MAX_CALLS:
            with pytest.raises(leveret.DeadlineExceeded):
                c.echo(text="slow", delay=0.6, timeout=0.4)
            calls += 1
        assert rogue.forged, "the rogue answered no call"
        transport: Any = c._transport
        assert transport.foreign_replies == 2


def test_without_server_user_the_first_reply_wins_even_a_forged_one(
    users: BrokerUsers, setup: tuple[str, Echo, Rogue]
) -> None:
    """Documented behaviour (docs/security.md, "Reply authenticity"): without ``server_user``
    a client takes the first reply with the call's correlation id, whoever published it."""
    queue, _echo, rogue = setup
    texts: list[str] = []
    with EchoClient.connect(users.url("alice"), queue=queue) as c:
        while not rogue.forged and len(texts) < MAX_CALLS:
            texts.append(c.echo(text="real", delay=0.3, timeout=10).text)
    assert rogue.forged
    assert texts[-1] == FORGED


def test_workers_stamp_replies_with_their_login(users: BrokerUsers) -> None:
    queue = f"leveret.test.replies.{uuid.uuid4().hex[:10]}"
    with leveret.Worker(Echo(), url=users.url("svc"), queue=queue):
        conn = pika.BlockingConnection(pika.URLParameters(users.url("alice")))
        try:
            ch = conn.channel()
            replies: list[Any] = []
            ch.basic_consume(
                "amq.rabbitmq.reply-to",
                lambda _c, _m, props, _b: replies.append(props),
                auto_ack=True,
            )
            ch.basic_publish(
                "",
                queue,
                b'{"text": "x"}',
                pika.BasicProperties(
                    content_type="application/json",
                    correlation_id="c1",
                    reply_to="amq.rabbitmq.reply-to",
                    type="echo",
                ),
            )
            wait_until(lambda: bool(conn.process_data_events(0.05) or replies), 10, "a reply")
        finally:
            conn.close()
    assert replies[0].user_id == users.name("svc")
    assert replies[0].headers["rpc-status"] == "OK"
