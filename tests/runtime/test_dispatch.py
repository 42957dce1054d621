"""The server's decisions, without I/O."""

from __future__ import annotations

import json
import time

import pytest

import leveret
from leveret._dispatch import Call, Dispatcher, Outcome
from leveret._wire import Delivery
from tests.support.echo import SERVICE, AsyncEcho, Echo, EchoRequest


def delivery(**overrides: object) -> Delivery:
    fields: dict[str, object] = {
        "body": b'{"text": "hi"}',
        "method": "echo",
        "correlation_id": "cid",
        "reply_to": "amq.rabbitmq.reply-to.x",
        "content_type": "application/json",
    }
    fields.update(overrides)
    return Delivery(**fields)  # type: ignore[arg-type]


@pytest.fixture
def dispatcher() -> Dispatcher:
    return Dispatcher(SERVICE, Echo())


def test_valid_request_becomes_a_call(dispatcher: Dispatcher) -> None:
    call = dispatcher.accept(delivery(headers={"rpc-deadline": int((time.time() + 5) * 1000)}))
    assert isinstance(call, Call)
    assert call.request == EchoRequest(text="hi")
    assert call.context.correlation_id == "cid"
    remaining = call.context.time_remaining()
    assert remaining is not None and 4 < remaining <= 5


@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"body": b"nope"}, "INVALID_ARGUMENT"),
        ({"content_type": "text/plain"}, "INVALID_ARGUMENT"),
        ({"method": "nope"}, "UNIMPLEMENTED"),
        ({"method": None}, "UNIMPLEMENTED"),
    ],
)
def test_bad_requests_get_an_error_reply_and_are_rejected(
    dispatcher: Dispatcher, overrides: dict[str, object], status: str
) -> None:
    outcome = dispatcher.accept(delivery(**overrides))
    assert isinstance(outcome, Outcome)
    assert outcome.ack is False
    assert outcome.reply is not None and outcome.reply.status == status
    assert json.loads(outcome.reply.body)["code"] == status


@pytest.mark.parametrize("missing", ["correlation_id", "reply_to"])
def test_unanswerable_requests_are_rejected_silently(dispatcher: Dispatcher, missing: str) -> None:
    assert dispatcher.accept(delivery(**{missing: None})) == Outcome(None, ack=False)


def test_expired_request_is_acked_without_work(dispatcher: Dispatcher) -> None:
    past = int((time.time() - 1) * 1000)
    assert dispatcher.accept(delivery(headers={"rpc-deadline": past})) == Outcome(None, ack=True)


def test_content_type_with_charset_is_json(dispatcher: Dispatcher) -> None:
    accepted = dispatcher.accept(delivery(content_type="application/json; charset=utf-8"))
    assert isinstance(accepted, Call)


def test_handler_crash_is_internal_and_generic(dispatcher: Dispatcher) -> None:
    call = dispatcher.accept(delivery())
    assert isinstance(call, Call)
    outcome = dispatcher.finish(call, error=ValueError("password=hunter2"))
    assert outcome.ack is True and outcome.reply is not None
    body = json.loads(outcome.reply.body)
    assert body["code"] == "INTERNAL" and "hunter2" not in outcome.reply.body.decode()
    assert "cid" in body["message"]


def test_wrong_return_type_is_internal(dispatcher: Dispatcher) -> None:
    call = dispatcher.accept(delivery())
    assert isinstance(call, Call)
    outcome = dispatcher.finish(call, result="not a model")
    assert outcome.reply is not None and outcome.reply.status == "INTERNAL"


def test_servicer_must_implement_every_method() -> None:
    class Partial:
        def echo(self) -> None: ...

    with pytest.raises(leveret.ConfigurationError, match="does not implement 'add'"):
        Dispatcher(SERVICE, Partial())


def test_async_servicer_is_recognised() -> None:
    assert Dispatcher(SERVICE, AsyncEcho()).is_async is True
    assert Dispatcher(SERVICE, Echo()).is_async is False
