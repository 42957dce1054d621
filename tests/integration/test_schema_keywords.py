"""Every keyword issue 11 made enforceable, on the wire: raw JSON to a real worker.

The service is the golden definition ``tests/golden/definitions/keywords.yaml`` (one type per
keyword, one optional field of ``Everything`` per type), generated into a temporary folder.
A plain pika peer (no leveret code: ``tests.support.raw.RawPeer``) sends each field's valid
value, which comes back ``OK`` and unchanged (modulo JSON's ``1.0 == 1``), and each invalid
one, which the worker refuses with ``INVALID_ARGUMENT`` naming the failing keyword. The handler
echoes the request, so a valid value also passes the response's validation; a handler that
returns what the schema forbids gets ``INTERNAL``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import leveret
from tests.support.generated import imported
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "tests" / "golden" / "definitions" / "keywords.yaml"

UUID = "2d0f3a5e-4b7c-4e1a-9f3d-6c2b1a0e9d8f"

#: field -> (valid values, [(invalid value, what the refusal must say)]).
CASES: dict[str, tuple[list[Any], list[tuple[Any, str]]]] = {
    "tags": (
        [["a", "b"], []],
        [(["a", "a"], "(uniqueItems)"), ([1], "valid string")],
    ),
    "point": (
        [[1, 2.5]],
        [([1, 2, 3], "(false)"), ([1, "x"], "(type)"), ([1], "at least 2")],
    ),
    "versioned": ([[1, "a", "b"], [2]], [(["a"], "(type)"), ([1, 2], "(type)")]),
    "evens": (
        [[1, 2], [2, 3, 4]],
        [([1, 3], "(contains)"), ([2, 4, 6], "(maxContains)")],
    ),
    "labels": (
        [{"a": "x"}, {"a": "x", "b": "y", "c": "z"}],
        [
            ({}, "(minProperties)"),
            ({"a": "1", "b": "2", "c": "3", "d": "4"}, "(maxProperties)"),
            ({"A": "x"}, "(propertyNames)"),
        ],
    ),
    "env": (
        [{"name": "n", "X_HOME": "/"}, {}],
        [({"HOME": "/"}, "(additionalProperties)"), ({"X_A": 1}, "(type)")],
    ),
    "card": (
        [{"number": "1", "cvv": "2"}, {"number": "1", "cvv": "2", "billing": "b"}, {}],
        [({"number": "1"}, "(dependentRequired)"), ({"billing": "b"}, "(required)")],
    ),
    "name": (["bob"], [("root", "(not)")]),
    "shipping": (
        [{"country": "US", "postcode": "12345"}, {"country": "FR", "postcode": "75001 A"}],
        [
            ({"country": "US", "postcode": "1234"}, "(pattern)"),
            ({"country": "FR", "postcode": ""}, "(minLength)"),
        ],
    ),
    "shape": (
        [{"radius": 1}, {"side": 2.5}],
        [({"radius": 1, "side": 2}, "(oneOf)"), ({}, "(oneOf)")],
    ),
    "setting": (
        [None, 1, 1.0, 2.5, True, "auto", [1, 2], {"mode": "fast"}],
        [([2, 1], "(enum)"), (False, "(enum)"), ({"mode": "slow"}, "(enum)"), (2, "(enum)")],
    ),
    "origin": ([{"x": 0, "y": [0]}, {"x": 0.0, "y": [0.0]}], [({"x": 0, "y": [1]}, "(const)")]),
    "id": (["a", 7, 7.0], [(7.5, "valid"), (True, "valid")]),
    "loose": (
        ["abc", 0, True, None, [1, 2, 3, 4]],
        [("abcd", "(maxLength)"), (-1, "(minimum)")],
    ),
    "sealed": (
        [{"a": "x", "b": "y"}, {}],
        [({"c": 1}, "(unevaluatedProperties)"), ({"b": 1}, "(type)")],
    ),
    "prefixed": ([["a"], []], [(["a", "b"], "(unevaluatedItems)")]),
    "never": ([{"any": [1, {"x": None}]}, {}], [({"gone": 1}, "(false)")]),
    "count": (
        [0, 3, 3.0],
        [(1.5, "fractional part"), (-1, "greater than or equal to 0"), (True, "valid integer")],
    ),
    "limit": ([10, 10.0], [(11, "less than or equal to 10")]),
    "formats": (
        [
            {
                "at": "2020-02-29T23:59:59+01:00",
                "day": "2020-02-29",
                "clock": "12:00:00Z",
                "span": "P1DT2H",
                "mail": "a@b.co",
                "host": "example.com",
                "v4": "10.0.0.1",
                "v6": "::1",
                "link": "https://example.com/a?b#c",
                "ref": "../a",
                "id": UUID,
            }
        ],
        [
            ({"at": "2020-01-01T00:00"}, "date-time"),
            ({"day": "2021-02-29"}, "date"),
            ({"clock": "25:00:00Z"}, "(format)"),
            ({"span": "P1"}, "(format)"),
            ({"mail": "no-at-sign"}, "(format)"),
            ({"host": "-bad-"}, "(format)"),
            ({"v4": "1.2.3"}, "(format)"),
            ({"v6": ":::"}, "(format)"),
            ({"link": "no scheme"}, "(format)"),
            ({"ref": "\\\\bad"}, "(format)"),
            ({"id": UUID.replace("-", "")}, "uuid"),
        ],
    ),
}


@pytest.fixture(scope="module")
def keywords(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("keywords")
    with imported([DEFINITION], out, "keywords") as module:
        yield module


@pytest.fixture(scope="module")
def service(keywords: ModuleType, amqp_url: str) -> Iterator[tuple[RawPeer, str]]:
    class Echo(keywords.KeywordsServicer):  # type: ignore[name-defined,misc]
        def echo(self, request: Any, context: leveret.CallContext) -> Any:
            if request.name == "bad-reply":
                return {"tags": ["same", "same"]}
            if request.name == "constructed":  # a model never validated (review r11 F9)
                return type(request).model_construct(tags=["same", "same"])
            if request.name == "mutated":  # a valid model changed after validation
                request.tags.append(request.tags[0])
                return request
            return request

    queue = f"leveret.test.keywords.{uuid.uuid4().hex[:10]}"
    peer = RawPeer(amqp_url)
    try:
        with leveret.Worker(Echo(), url=amqp_url, queue=queue):
            yield peer, queue
    finally:
        peer.close()


def _call(service: tuple[RawPeer, str], body: dict[str, Any]) -> tuple[str | None, Any]:
    peer, queue = service
    reply = peer.wait(peer.publish(queue, json.dumps(body).encode(), method="echo"))
    assert reply is not None, f"no reply to {body}"
    return reply.status, reply.json()


def _valid_cases() -> Iterator[Any]:
    for field, (valid, _) in CASES.items():
        for index, value in enumerate(valid):
            yield pytest.param(field, value, id=f"{field}-{index}")


def _invalid_cases() -> Iterator[Any]:
    for field, (_, invalid) in CASES.items():
        for index, (value, says) in enumerate(invalid):
            yield pytest.param(field, value, says, id=f"{field}-{index}")


@pytest.mark.parametrize(("field", "value"), list(_valid_cases()))
def test_a_valid_value_comes_back_ok(service: tuple[RawPeer, str], field: str, value: Any) -> None:
    status, body = _call(service, {field: value})
    assert status == "OK", body
    assert body == {field: value}  # JSON equality: 3.0 == 3


@pytest.mark.parametrize(("field", "value", "says"), list(_invalid_cases()))
def test_an_invalid_value_is_invalid_argument_naming_the_keyword(
    service: tuple[RawPeer, str], field: str, value: Any, says: str
) -> None:
    status, body = _call(service, {field: value})
    assert status == "INVALID_ARGUMENT", body
    assert says in body["message"], body["message"]


@pytest.mark.parametrize(
    "body",
    [{"name": "bad-reply"}, {"name": "constructed"}, {"name": "mutated", "tags": ["a"]}],
    ids=["dict", "model_construct", "mutated-model"],
)
def test_a_reply_the_schema_forbids_is_internal(
    service: tuple[RawPeer, str], body: dict[str, Any]
) -> None:
    status, reply = _call(service, body)
    assert status == "INTERNAL", reply
    assert "uniqueItems" not in json.dumps(reply)  # the server's own fault is not detailed


def test_the_client_refuses_an_invalid_argument_before_sending(
    keywords: ModuleType, service: tuple[RawPeer, str], amqp_url: str
) -> None:
    _, queue = service
    with keywords.KeywordsClient.connect(amqp_url, queue=queue) as client:
        assert client.echo(tags=["a", "b"], count=3).count == 3
        with pytest.raises(leveret.InvalidArgument, match=r"uniqueItems") as local:
            client.echo(tags=["a", "a"])
        # refused here: nothing was sent, and the error says so (review r11 F10)
        assert local.value.never_sent
        with pytest.raises(leveret.InvalidArgument, match=r"dependentRequired"):
            client.echo(card={"number": "1"})
