"""Issue 11 leftover: a ``date-time`` finer than microseconds, on the wire to a real worker.

A typed ``date-time`` field holds a Python ``datetime``, which holds microseconds. Before the
fix, ``2026-01-01T00:00:00.1234567Z`` was cut to ``.123456`` without a word: the handler got an
instant that was not sent, and the echo came back changed. Now the typed field refuses it, as it
refuses a leap second: ``INVALID_ARGUMENT``, saying what to send instead. Where the value stays
the string that was sent (a ``date-time`` beside ``minLength``, or with no ``type``: the schema
guard's evaluator checks the format, an untyped place), it is valid RFC 3339 and passes through
unchanged. A plain pika peer (``tests.support.raw.RawPeer``) sends the raw JSON; the Python client
refuses the same value before sending it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import leveret
from tests.support.generated import imported
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration

DEFINITION = """\
leveret: 1
package: stamps
service: Stamps
version: "1"
types:
  Stamp:
    type: object
    properties:
      at: {type: string, format: date-time}
      text: {type: string, format: date-time, minLength: 1}
      loose: {format: date-time}
methods:
  echo:
    request: {$ref: "#/types/Stamp"}
    response: {$ref: "#/types/Stamp"}
"""

NANOS = "2026-01-01T00:00:00.1234567Z"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("stamps")
    definition = out / "stamps.yaml"
    definition.write_text(DEFINITION)
    with imported([definition], out, "stamps") as module:
        yield module


@pytest.fixture(scope="module")
def service(package: ModuleType, amqp_url: str) -> Iterator[tuple[RawPeer, str]]:
    class Echo(package.StampsServicer):  # type: ignore[name-defined,misc]
        def echo(self, request: Any, context: leveret.CallContext) -> Any:
            return request

    queue = f"leveret.test.stamps.{uuid.uuid4().hex[:10]}"
    peer = RawPeer(amqp_url)
    try:
        with leveret.Worker(Echo(), url=amqp_url, queue=queue):
            yield peer, queue
    finally:
        peer.ch.queue_delete(queue)
        peer.close()


def _call(service: tuple[RawPeer, str], body: dict[str, Any]) -> tuple[str | None, Any]:
    peer, queue = service
    reply = peer.wait(peer.publish(queue, json.dumps(body).encode(), method="echo"))
    assert reply is not None, f"no reply to {body}"
    return reply.status, reply.json()


@pytest.mark.parametrize("text", [NANOS, "1985-04-12T00:59:59.999999999999999+01:00"])
def test_a_typed_date_time_finer_than_microseconds_is_invalid_argument_saying_why(
    service: tuple[RawPeer, str], text: str
) -> None:
    status, body = _call(service, {"at": text})
    assert status == "INVALID_ARGUMENT", body
    message = body["message"]
    assert "at" in message and "cannot represent" in message, message
    assert "finer than the microseconds (6 digits) a datetime holds" in message, message
    assert "send at most 6" in message, message


def test_a_typed_date_time_in_microseconds_comes_back_the_same_instant(
    service: tuple[RawPeer, str],
) -> None:
    status, body = _call(service, {"at": "2026-01-01T00:00:00.123456+00:00"})
    assert status == "OK", body
    assert body == {"at": "2026-01-01T00:00:00.123456Z"}  # the model's own form


@pytest.mark.parametrize("field", ["text", "loose"])
def test_a_date_time_the_evaluator_checks_passes_through_unchanged(
    service: tuple[RawPeer, str], field: str
) -> None:
    # the string that was sent, all its digits: nothing was cut, so nothing is refused
    status, body = _call(service, {field: NANOS})
    assert status == "OK", body
    assert body == {field: NANOS}


def test_the_client_refuses_it_before_sending(
    package: ModuleType, service: tuple[RawPeer, str], amqp_url: str
) -> None:
    _, queue = service
    with package.StampsClient.connect(amqp_url, queue=queue) as client:
        with pytest.raises(leveret.InvalidArgument, match="send at most 6") as local:
            client.echo(at=NANOS)
        assert local.value.never_sent
        assert client.echo(text=NANOS).text == NANOS
