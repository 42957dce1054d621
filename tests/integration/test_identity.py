"""Caller identity and authorization against RabbitMQ, with broker users of the test's own.

The broker checks the AMQP ``user_id`` against the publisher's login: what a handler reads as
``context.caller`` is who published, and require_caller / ``authorize`` decide on it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pika
import pika.exceptions
import pytest

import leveret
from leveret import CallContext, MethodSpec
from tests.support.broker_users import BrokerUsers, broker_users
from tests.support.echo import AsyncEchoClient, Echo, EchoClient, EchoReply, EchoRequest
from tests.support.raw import RawPeer


@pytest.fixture(scope="module")
def users(amqp_url: str) -> Iterator[BrokerUsers]:
    with broker_users(amqp_url, "svc", "alice", "bob") as made:
        yield made


class Who(Echo):
    """Echoes the caller; only alice may ``add``."""

    def __init__(self) -> None:
        super().__init__("who")
        self.callers: list[str | None] = []
        self.authorized: list[tuple[str, str | None]] = []

    def _echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.callers.append(context.caller)
        return EchoReply(text=str(context.caller), worker=self.name)

    def authorize(self, method: MethodSpec[Any, Any], context: CallContext) -> None:
        self.authorized.append((method.name, context.caller))
        if method.name == "add" and not (context.caller or "").startswith("leveret-alice-"):
            raise leveret.PermissionDenied(f"{context.caller} may not add")


class Seen(leveret.Middleware):
    """A worker middleware that records every call it sees."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def intercept(self, call: Any, call_next: Any) -> Any:
        self.calls.append(call.method.name)
        return call_next(call)


def _queue() -> str:
    return f"leveret.test.identity.{uuid.uuid4().hex[:10]}"


def test_a_handler_reads_the_callers_broker_login(users: BrokerUsers) -> None:
    queue, who = _queue(), Who()
    with leveret.Worker(who, url=users.url("svc"), queue=queue):
        with EchoClient.connect(users.url("alice"), queue=queue) as alice:
            assert alice.echo(text="hi").text == users.name("alice")

        async def as_bob() -> str:
            async with AsyncEchoClient.connect(users.url("bob"), queue=queue) as bob:
                return (await bob.echo(text="hi")).text

        assert asyncio.run(as_bob()) == users.name("bob")
    assert who.callers == [users.name("alice"), users.name("bob")]


def test_a_request_without_user_id_reaches_the_handler_as_caller_none(
    users: BrokerUsers,
) -> None:
    """Without require_caller, an anonymous request is served and the handler sees None."""
    queue, who = _queue(), Who()
    with leveret.Worker(who, url=users.url("svc"), queue=queue):
        peer = RawPeer(users.url("alice"))  # publishes no user_id
        try:
            reply = peer.wait(peer.publish(queue, b'{"text": "x"}'), timeout=10)
        finally:
            peer.close()
    assert reply is not None and reply.status == "OK"
    assert reply.json()["text"] == "None"
    assert who.callers == [None]


def test_the_broker_refuses_a_forged_user_id(users: BrokerUsers) -> None:
    """alice cannot publish as bob: 406 PRECONDITION_FAILED (the user has no impersonator
    tag), so context.caller cannot be forged by a caller."""
    queue, who = _queue(), Who()
    with leveret.Worker(who, url=users.url("svc"), queue=queue):
        conn = pika.BlockingConnection(pika.URLParameters(users.url("alice")))
        try:
            ch = conn.channel()
            ch.confirm_delivery()
            props = pika.BasicProperties(
                content_type="application/json",
                correlation_id=uuid.uuid4().hex,
                reply_to="amq.rabbitmq.reply-to",
                type="echo",
                user_id=users.name("bob"),
            )
            ch.basic_consume("amq.rabbitmq.reply-to", lambda *a: None, auto_ack=True)
            with pytest.raises(pika.exceptions.ChannelClosedByBroker) as raised:
                ch.basic_publish("", queue, b'{"text": "x"}', props)
        finally:
            if conn.is_open:
                conn.close()
    assert raised.value.reply_code == 406
    assert "user_id property set to" in raised.value.reply_text
    assert who.callers == []


def test_require_caller_answers_unauthenticated_before_middleware_and_handler(
    users: BrokerUsers,
) -> None:
    queue, who, seen = _queue(), Who(), Seen()
    with leveret.Worker(
        who, url=users.url("svc"), queue=queue, require_caller=True, middleware=[seen]
    ):
        peer = RawPeer(users.url("alice"))
        try:
            anonymous = peer.wait(peer.publish(queue, b'{"text": "x"}'), timeout=10)
            # The same refusal for a request that would fail later checks: nothing about the
            # service (its methods, its schema) is told to an anonymous caller.
            unknown = peer.wait(peer.publish(queue, b"{}", method="nope"), timeout=10)
        finally:
            peer.close()
        with EchoClient.connect(users.url("alice"), queue=queue) as alice:
            assert alice.echo(text="hi").text == users.name("alice")
    for reply in (anonymous, unknown):
        assert reply is not None and reply.status == "UNAUTHENTICATED"
        assert reply.json()["code"] == "UNAUTHENTICATED"
    assert who.callers == [users.name("alice")]
    assert who.authorized == [("echo", users.name("alice"))]
    assert seen.calls == ["echo"]


def test_authorize_refuses_with_permission_denied_before_the_body_is_read(
    users: BrokerUsers,
) -> None:
    queue, who, seen = _queue(), Who(), Seen()
    with leveret.Worker(
        who, url=users.url("svc"), queue=queue, require_caller=True, middleware=[seen]
    ):
        with EchoClient.connect(users.url("alice"), queue=queue) as alice:
            assert alice.add(a=2, b=3).sum == 5
        with EchoClient.connect(users.url("bob"), queue=queue) as bob:
            assert bob.echo(text="hi").text == users.name("bob")
            with pytest.raises(leveret.PermissionDenied, match="may not add"):
                bob.add(a=2, b=3)
        # A body that fails validation is still PERMISSION_DENIED for bob: authorize runs
        # first, so a refused caller learns nothing from validation errors.
        conn = pika.BlockingConnection(pika.URLParameters(users.url("bob")))
        try:
            ch = conn.channel()
            replies: list[tuple[Any, bytes]] = []
            ch.basic_consume(
                "amq.rabbitmq.reply-to",
                lambda _c, _m, props, body: replies.append((props, body)),
                auto_ack=True,
            )
            props = pika.BasicProperties(
                content_type="application/json",
                correlation_id="c1",
                reply_to="amq.rabbitmq.reply-to",
                type="add",
                user_id=users.name("bob"),
            )
            ch.basic_publish("", queue, b'{"a": "not a number"}', props)
            deadline = 50
            while not replies and deadline:
                conn.process_data_events(time_limit=0.2)
                deadline -= 1
        finally:
            conn.close()
    assert replies, "no reply to bob's malformed add"
    assert replies[0][0].headers["rpc-status"] == "PERMISSION_DENIED"
    assert json.loads(replies[0][1])["code"] == "PERMISSION_DENIED"
    # Only the calls that were let through reached the middleware.
    assert seen.calls == ["add", "echo"]
    assert ("add", users.name("bob")) in who.authorized


class AsyncWho(leveret.AsyncServicer):
    service: ClassVar[leveret.ServiceSpec] = EchoClient.service

    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        return EchoReply(text=str(context.caller))

    async def add(self, request: Any, context: CallContext) -> Any:
        raise AssertionError("authorize refuses every add")

    async def fail(self, request: Any, context: CallContext) -> EchoReply:
        raise AssertionError("not called")

    def authorize(self, method: MethodSpec[Any, Any], context: CallContext) -> None:
        if method.name == "add":
            raise leveret.PermissionDenied("nobody adds here")


def test_an_async_servicer_authorizes_the_same_way(users: BrokerUsers) -> None:
    queue = _queue()

    async def scenario() -> tuple[str, str]:
        async with AsyncEchoClient.connect(users.url("alice"), queue=queue) as alice:
            text = (await alice.echo(text="hi")).text
            with pytest.raises(leveret.PermissionDenied) as denied:
                await alice.add(a=1, b=2)
            return text, denied.value.message

    with leveret.Worker(AsyncWho(), url=users.url("svc"), queue=queue, require_caller=True):
        text, message = asyncio.run(scenario())
    assert text == users.name("alice")
    assert message == "nobody adds here"


def test_serve_require_caller(amqp_url: str, queue: str, serve: Any) -> None:
    """``leveret serve --require-caller``: an anonymous request gets UNAUTHENTICATED, a leveret
    client (which stamps its login) is served."""
    worker = serve("--require-caller")
    worker.wait_for("serving")
    peer = RawPeer(amqp_url)
    try:
        reply = peer.wait(peer.publish(queue, b'{"text": "x"}'), timeout=10)
    finally:
        peer.close()
    assert reply is not None and reply.status == "UNAUTHENTICATED"
    with EchoClient.connect(amqp_url, queue=queue) as client:
        assert client.echo(text="hi").text == "hi"
