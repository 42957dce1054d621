"""Caller identity, authorization and reply authenticity without a broker: the frames, the
server's decisions, the memory transport and the client's reply check."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import pika
import pytest

import leveret
from leveret import CallContext, MethodSpec
from leveret._amqp._calls import login_user
from leveret._client import build_request
from leveret._dispatch import Call, Dispatcher, Outcome
from leveret._frames import FastDelivery, FrameEncoder, read_fast
from leveret._wire import Delivery
from tests.runtime.test_frames import FRAME_MAX, _pika_delivery, _pika_publish
from tests.support.echo import ECHO, SERVICE, AsyncEcho, Echo, EchoClient, EchoReply, EchoRequest

# -- frames -------------------------------------------------------------------------------------


@pytest.mark.parametrize("others", [{}, {"type": "echo", "correlation_id": "c", "expiration": "9"}])
def test_user_id_is_encoded_as_pika_encodes_it(others: dict[str, Any]) -> None:
    props = {"content_type": "application/json", "user_id": "inventory-svc", **others}
    ours = FrameEncoder(1, FRAME_MAX).publish("", "q", b"{}", mandatory=True, **props)
    assert ours == _pika_publish(1, "", "q", b"{}", True, **props)


@pytest.mark.parametrize("app_id", [None, "peer"])
def test_user_id_is_read_from_a_delivery(app_id: str | None) -> None:
    data = _pika_delivery(3, 1, b"{}", type="echo", user_id="alice", app_id=app_id)
    used, delivery = read_fast(data, 3)
    assert used == len(data)
    assert isinstance(delivery, FastDelivery)
    assert (delivery.type, delivery.user_id) == ("echo", "alice")
    used, without = read_fast(_pika_delivery(3, 2, b"{}", type="echo"), 3)
    assert isinstance(without, FastDelivery) and without.user_id is None


def test_login_user() -> None:
    assert login_user(pika.PlainCredentials("alice", "secret")) == "alice"
    assert login_user(pika.PlainCredentials("alice", "secret"), "CN=alice") == "CN=alice"
    # EXTERNAL: the broker takes the name from the certificate; unknown here.
    external = pika.credentials.ExternalCredentials()
    assert login_user(external) is None
    assert login_user(external, "alice") == "alice"
    # Over what AMQP can carry: nothing stamped rather than a 406 on every request.
    assert login_user(pika.PlainCredentials("a" * 256, "x")) is None


# -- the server's decisions ---------------------------------------------------------------------


def _delivery(**overrides: object) -> Delivery:
    fields: dict[str, object] = {
        "body": b'{"text": "hi"}',
        "method": "echo",
        "correlation_id": "cid",
        "reply_to": "amq.rabbitmq.reply-to.x",
        "content_type": "application/json",
    }
    fields.update(overrides)
    return Delivery(**fields)  # type: ignore[arg-type]


def _refused(outcome: Call | Outcome) -> tuple[str, dict[str, Any]]:
    assert isinstance(outcome, Outcome) and outcome.reply is not None
    assert outcome.ack is False  # refused: rejected without requeue, like a bad request
    return outcome.reply.status, json.loads(outcome.reply.body)


def test_context_caller_is_the_requests_user_id() -> None:
    dispatcher = Dispatcher(SERVICE, Echo())
    call = dispatcher.accept(_delivery(user_id="alice"))
    assert isinstance(call, Call) and call.context.caller == "alice"
    anonymous = dispatcher.accept(_delivery())
    assert isinstance(anonymous, Call) and anonymous.context.caller is None


@pytest.mark.parametrize("user_id", [None, "", b"\xff\xfe"])
def test_require_caller_refuses_a_request_without_a_usable_user_id(user_id: object) -> None:
    dispatcher = Dispatcher(SERVICE, Echo(), require_caller=True)
    status, body = _refused(dispatcher.accept(_delivery(user_id=user_id)))
    assert status == body["code"] == "UNAUTHENTICATED"
    # Before any other check: an anonymous caller learns nothing about the methods.
    status, _ = _refused(dispatcher.accept(_delivery(user_id=user_id, method="nope")))
    assert status == "UNAUTHENTICATED"
    assert isinstance(dispatcher.accept(_delivery(user_id="alice")), Call)


class Guarded(Echo):
    def __init__(self, failure: BaseException | None = None) -> None:
        super().__init__()
        self.failure = failure
        self.seen: list[tuple[str, str | None]] = []

    def authorize(self, method: MethodSpec[Any, Any], context: CallContext) -> None:
        self.seen.append((method.name, context.caller))
        if self.failure is not None:
            raise self.failure


def test_authorize_sees_the_method_and_caller_before_the_body_is_decoded() -> None:
    servicer = Guarded(leveret.PermissionDenied("no"))
    dispatcher = Dispatcher(SERVICE, servicer)
    status, body = _refused(dispatcher.accept(_delivery(user_id="bob", body=b"not json")))
    assert (status, body["message"]) == ("PERMISSION_DENIED", "no")
    assert servicer.seen == [("echo", "bob")]


def test_authorize_letting_a_call_through() -> None:
    servicer = Guarded()
    call = Dispatcher(SERVICE, servicer).accept(_delivery(user_id="alice"))
    assert isinstance(call, Call) and call.request == EchoRequest(text="hi")
    assert servicer.seen == [("echo", "alice")]


def test_a_failing_authorize_refuses_with_internal_and_says_nothing_on_the_wire(
    caplog: pytest.LogCaptureFixture,
) -> None:
    servicer = Guarded(KeyError("secret table name"))
    status, body = _refused(Dispatcher(SERVICE, servicer).accept(_delivery(user_id="a")))
    assert status == "INTERNAL"
    assert "secret" not in body["message"]
    assert any("authorize failed" in r.getMessage() for r in caplog.records)


def test_no_authorize_of_its_own_adds_nothing_per_call() -> None:
    assert Dispatcher(SERVICE, Echo())._authorize is None
    assert Dispatcher(SERVICE, AsyncEcho())._authorize is None
    assert Dispatcher(SERVICE, Guarded())._authorize is not None


def test_a_coroutine_authorize_is_refused() -> None:
    class AsyncGuarded(AsyncEcho):
        async def authorize(self, method: Any, context: Any) -> None:  # type: ignore[override]
            return None

    with pytest.raises(leveret.ConfigurationError, match="coroutine"):
        Dispatcher(SERVICE, AsyncGuarded())


# -- memory:// ----------------------------------------------------------------------------------


class Who(Echo):
    def _echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        return EchoReply(text=str(context.caller))


def test_memory_carries_the_urls_user_both_ways(caplog: pytest.LogCaptureFixture) -> None:
    name = f"identity-{uuid.uuid4().hex}"
    with leveret.Worker(Who(), url=f"memory://svc@{name}", require_caller=True):
        # memory://USER@NAME is the broker of memory://NAME, logged in as USER.
        with EchoClient.connect(f"memory://alice:pw@{name}", server_user="svc") as alice:
            assert alice.echo(text="x").text == "alice"
        with (
            EchoClient.connect(f"memory://{name}") as anonymous,
            pytest.raises(leveret.Unauthenticated),
        ):
            anonymous.echo(text="x")
        caplog.set_level(logging.WARNING, logger="leveret.client")
        with EchoClient.connect(f"memory://alice@{name}", server_user="other") as wrong:
            for _ in range(2):
                with pytest.raises(leveret.DeadlineExceeded):
                    wrong.echo(text="x", timeout=0.2)
            assert wrong._transport.foreign_replies == 2  # type: ignore[attr-defined]
    dropped = [r for r in caplog.records if "dropped a reply from user 'svc'" in r.getMessage()]
    assert len(dropped) == 1  # once per source


def test_correlation_ids_are_random_uuid4() -> None:
    """128-bit ids from uuid4 (122 random bits from os.urandom): a reply cannot be aimed at a
    call by guessing its id. Guards the choice; it held before issue 10 too."""
    ids = {
        build_request("q", ECHO, {"text": "x"}, leveret.DEFAULT, False).correlation_id
        for _ in range(100)
    }
    assert len(ids) == 100
    for cid in ids:
        assert len(cid) == 32 and uuid.UUID(hex=cid).version == 4
