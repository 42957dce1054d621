"""Issue 16 items 1 and 3: JSON has no NaN or infinity, on either side of the wire, and the
Python client checks arguments as strictly as the server checks a body (real broker; raw pika
peers for what leveret's own client would never send)."""

from __future__ import annotations

import asyncio
import datetime
import json
import math
import subprocess
import sys
import uuid
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

import leveret
from leveret._amqp import AsyncioTransport, BlockingTransport
from leveret._codec import validate_arguments
from leveret._retry import RetryPolicy
from leveret._spec import MethodSpec
from tests.conftest import ROOT
from tests.support.numbers import (
    ADD,
    SHAPE,
    AsyncNumbersClient,
    Numbers,
    NumbersClient,
    RawServer,
    new_queue,
    ok,
)
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration


class LimitDetails(BaseModel):
    limit: float


class OverLimit(leveret.OutOfRange):
    error_name: ClassVar[str | None] = "OverLimit"
    details_model: ClassVar[type[BaseModel] | None] = LimitDetails


LIMITED_ADD = MethodSpec(
    name="add",
    python_name="add",
    request=ADD.request,
    response=ADD.response,
    timeout=5.0,
    errors=(OverLimit,),
)


class LimitedClient(leveret.Client):
    service: ClassVar[leveret.ServiceSpec] = leveret.ServiceSpec(
        name="Limited", queue="unused", methods=(LIMITED_ADD,), package="limited"
    )

    def add(self, *, a: Any, b: Any) -> Any:
        return self._call(LIMITED_ADD, {"a": a, "b": b}, leveret.DEFAULT)


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
def client(amqp_url: str, queue: str) -> Iterator[NumbersClient]:
    c = NumbersClient(BlockingTransport(amqp_url), queue=queue, retry=RetryPolicy(max_attempts=1))
    yield c
    c.close()


def _ask(peer: RawPeer, queue: str, body: bytes, method: str = "add") -> tuple[str, dict]:
    cid = peer.publish(queue, body, method=method)
    reply = peer.wait(cid, 10)
    assert reply is not None, f"no reply to {body[:60]!r}"
    assert reply.status is not None
    return reply.status, reply.json()


# -- item 1: requests ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        (b'{"a": NaN, "b": 1}', [], "json_invalid"),
        (b'{"a": Infinity, "b": 1}', [], "json_invalid"),
        (b'{"a": -Infinity, "b": 1}', [], "json_invalid"),
        (b'{"a": 1e400, "b": 1}', ["a"], "finite_number"),
        (b'{"a": 1, "b": -1E+400}', ["b"], "finite_number"),
        (b'{"a": 1, "b": ' + b"9" * 400 + b"}", ["b"], "finite_number"),
        (b'{"a": 1, "b": 0.5e309}', ["b"], "finite_number"),
        # in properties the schema ignores (review r16 F1): refused as a NaN token there is
        (b'{"a": 1, "b": 2, "c": 1e400}', ["c"], "finite_number"),
        (b'{"a": 1, "b": 2, "c": {"d": [1, -1e999]}}', ["c", "d", "1"], "finite_number"),
        (b'{"a": 1, "b": 2, "c": NaN}', [], "json_invalid"),
        # in a body invalid for another reason too: the number JSON cannot hold is what is told
        # (not missing / int_from_float, which TypeScript workers would word differently)
        (b'{"a": 1e400}', ["a"], "finite_number"),
        (b'{"a": NaN}', [], "json_invalid"),
        (b'{"a": "x", "b": 2, "c": [-1e400]}', ["c", "0"], "finite_number"),
        # longer than JSON readers take (4300 digits), where the schema says number or not
        (b'{"a": 1, "b": ' + b"9" * 4301 + b"}", [], "json_invalid"),
        (b'{"a": 1, "b": 2, "c": ' + b"9" * 4301 + b"}", [], "json_invalid"),
    ],
)
def test_a_request_with_a_non_finite_number_is_invalid_argument(
    worker: leveret.Worker, peer: RawPeer, queue: str, numbers: Numbers, body: bytes, loc, kind
) -> None:
    status, error = _ask(peer, queue, body)
    assert status == "INVALID_ARGUMENT", error
    assert error["details"][0]["loc"] == loc
    assert error["details"][0]["type"] == kind
    assert error["message"].startswith("add: request failed validation: ")
    assert numbers.requests == []  # the handler never saw it


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b'{"a": 1e-400, "b": 2}', 2.0),  # underflows to 0: a finite number
        (b'{"a": 1e308, "b": 1e-5}', 1e308),  # large, but a double holds it
        (b'{"a": 1.5E+2, "b": 0}', 150.0),
    ],
)
def test_large_and_tiny_finite_numbers_are_fine(
    worker: leveret.Worker, peer: RawPeer, queue: str, body: bytes, value: float
) -> None:
    status, reply = _ask(peer, queue, body)
    assert (status, reply) == ("OK", {"value": value})


def test_an_integer_of_4300_digits_is_a_number_and_one_more_is_not(
    worker: leveret.Worker, peer: RawPeer, queue: str
) -> None:
    status, reply = _ask(peer, queue, b'{"a": 1, "b": 2, "c": ' + b"9" * 4300 + b"}")
    assert (status, reply) == ("OK", {"value": 3.0})  # an ignored property: fine
    status, error = _ask(peer, queue, b'{"a": 1, "b": ' + b"9" * 4301 + b"}")
    assert status == "INVALID_ARGUMENT"
    assert error["details"][0]["msg"].startswith("Invalid JSON: number out of range")


def test_the_letters_of_a_huge_number_inside_a_string_are_fine(
    worker: leveret.Worker, peer: RawPeer, queue: str
) -> None:
    body = json.dumps({"points": [{"x": 1, "y": 2}], "label": "1e400 NaN " + "9" * 300}).encode()
    status, reply = _ask(peer, queue, body, method="shape")
    assert (status, reply) == ("OK", {"value": 3.0})


# -- item 1: responses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("add", b'{"a": 1e308, "b": 1e308}'),  # legal JSON; the sum overflows
        ("shape", b'{"points": [{"x": 1e308, "y": 1e308}]}'),
    ],
)
def test_a_response_that_would_carry_a_non_finite_number_is_internal_never_null(
    worker: leveret.Worker, peer: RawPeer, queue: str, method: str, body: bytes
) -> None:
    status, error = _ask(peer, queue, body, method=method)
    assert status == "INTERNAL"
    assert error["message"].startswith(f"internal error in {method} (correlation id ")
    assert error["details"] is None


def test_the_python_client_gets_internal_for_an_overflowing_sum(
    worker: leveret.Worker, client: NumbersClient
) -> None:
    with pytest.raises(leveret.Internal, match="internal error in add"):
        client.add(a=1e308, b=1e308)
    assert client.add(a=1e308, b=0).value == 1e308


@pytest.mark.parametrize(
    "body",
    [b'{"value": NaN}', b'{"value": Infinity}', b'{"value": 1e400}', b'{"value": -2E999}'],
)
def test_the_client_refuses_an_ok_reply_with_a_non_finite_number(
    amqp_url: str, body: bytes
) -> None:
    queue = new_queue()
    server = RawServer(amqp_url, queue, lambda _p, _b: ("OK", body, "application/json", 0.0))
    try:
        with (
            NumbersClient(BlockingTransport(amqp_url), queue=queue) as client,
            pytest.raises(leveret.Internal, match="add: response failed validation"),
        ):
            client.add(a=1, b=2)
    finally:
        server.close()


@pytest.mark.parametrize(
    "body",
    [b'{"value": NaN}', b'{"value": -Infinity}', b'{"value": 1e400}', b'{"value": [1, 2E999]}'],
)
def test_the_dynamic_client_and_leveret_call_refuse_an_ok_reply_with_one(
    amqp_url: str, body: bytes
) -> None:
    """Review r16 F2: DynamicClient (and so ``leveret call``) read an OK body as strictly."""
    queue = new_queue()
    server = RawServer(amqp_url, queue, lambda _p, _b: ("OK", body, "application/json", 0.0))
    try:
        with (
            leveret.DynamicClient.connect(amqp_url) as client,
            pytest.raises(leveret.Internal, match="add: response failed validation: "),
        ):
            client.call(queue, "add", {"a": 1, "b": 2}, 5)
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "leveret",
                "call",
                str(ROOT / "schemas" / "calculator.yaml"),
                "add",
                '{"a": 1, "b": 2}',
                "--queue",
                queue,
                "--url",
                amqp_url,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 1, cli
        assert cli.stdout == ""  # never a NaN or Infinity token printed as if JSON
        assert json.loads(cli.stderr)["code"] == "INTERNAL", cli.stderr
    finally:
        server.close()


def test_a_declared_errors_details_with_one_stay_raw(amqp_url: str) -> None:
    """Review r16 F6: a declared error's typed details never hold NaN or an infinity."""
    queue = new_queue()
    details = {1: b"NaN", 2: b"1e400", 3: b"7.5"}

    def answer(_props: object, body: bytes) -> tuple[str, bytes, str, float]:
        limit = details[json.loads(body)["a"]]
        out = b'{"code": "OUT_OF_RANGE", "message": "over", "error": "OverLimit", '
        return ("OUT_OF_RANGE", out + b'"details": {"limit": ' + limit + b"}}", "", 0.0)

    server = RawServer(amqp_url, queue, answer)
    try:
        with LimitedClient(BlockingTransport(amqp_url), queue=queue) as client:
            for a in (1, 2):
                with pytest.raises(leveret.OutOfRange) as raised:
                    client.add(a=a, b=0)
                assert type(raised.value) is leveret.OutOfRange  # not the declared class
                assert raised.value.remote_error == "OverLimit"
                assert not math.isfinite(raised.value.details["limit"])
            with pytest.raises(OverLimit) as declared:
                client.add(a=3, b=0)
            assert declared.value.details == LimitDetails(limit=7.5)
    finally:
        server.close()


# -- item 1: the client refuses before sending ----------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_the_sync_client_refuses_non_finite_arguments_before_sending(
    worker: leveret.Worker, client: NumbersClient, numbers: Numbers, bad: float
) -> None:
    with pytest.raises(leveret.InvalidArgument) as caught:
        client.add(a=bad, b=1)
    assert caught.value.details == [
        {
            "loc": ["a"],
            "msg": "NaN and infinities cannot be sent: JSON has no such numbers",
            "type": "finite_number",
        }
    ]
    with pytest.raises(leveret.InvalidArgument, match=r"points\.0\.y: NaN"):
        client.shape(points=[{"x": 1, "y": bad}])
    with pytest.raises(leveret.InvalidArgument, match="a: Input should be a valid number"):
        client.add(a=10**4300, b=1)
    assert client.add(a=1, b=1).value == 2  # one worker, one at a time: nothing came before
    assert [(r.a, r.b) for r in numbers.requests] == [(1, 1)]


class Count(BaseModel):
    n: int
    more: list[int] = []


COUNT = MethodSpec(name="count", python_name="count", request=Count, response=Count)


def test_the_client_refuses_an_integer_longer_than_json_readers_take() -> None:
    """4301 digits: what the server's JSON reader refuses ("number out of range"), refused
    before sending (review r16 F7); 4300 digits go."""
    for arguments, loc in (
        ({"n": 10**4300}, ["n"]),
        ({"n": 1, "more": [1, -(10**4300)]}, ["more", "1"]),
    ):
        with pytest.raises(leveret.InvalidArgument, match="more than 4300 digits") as long:
            validate_arguments(COUNT, arguments)
        assert long.value.details == [
            {
                "loc": loc,
                "msg": "an integer of more than 4300 digits, which JSON readers refuse",
                "type": "json_invalid",
            }
        ]
    _model, body = validate_arguments(COUNT, {"n": 10**4300 - 1, "more": [-(10**4300 - 1)]})
    assert Count.model_validate_json(body, strict=True).n == 10**4300 - 1


def test_the_asyncio_client_refuses_non_finite_arguments_before_sending(
    amqp_url: str, queue: str, worker: leveret.Worker, numbers: Numbers
) -> None:
    async def scenario() -> None:
        transport = await AsyncioTransport.open(amqp_url)
        client = AsyncNumbersClient(transport, queue=queue)
        try:
            for bad in (math.nan, math.inf, -math.inf):
                with pytest.raises(leveret.InvalidArgument, match="a: NaN and infinities"):
                    await client.add(a=bad, b=1)
            assert (await client.add(a=2, b=2)).value == 4
        finally:
            await transport.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert [(r.a, r.b) for r in numbers.requests] == [(2, 2)]


# -- item 3: the client's check is as strict as the wire ------------------------------------


def test_a_string_for_a_number_is_refused_by_the_client_as_by_the_server(
    worker: leveret.Worker, client: NumbersClient, numbers: Numbers, peer: RawPeer, queue: str
) -> None:
    with pytest.raises(leveret.InvalidArgument, match="a: Input should be a valid number"):
        client.add(a="2", b=1)
    with pytest.raises(leveret.InvalidArgument, match="a: Input should be a valid number"):
        client.add(a=True, b=1)
    status, error = _ask(peer, queue, b'{"a": "2", "b": 1}')
    assert status == "INVALID_ARGUMENT"
    assert error["message"] == "add: request failed validation: a: Input should be a valid number"
    # What the wire allows stays fine: an int for a number, dicts for nested objects.
    assert client.add(a=2, b=1).value == 3
    assert client.shape(points=[{"x": 1, "y": 2}, {"x": 3, "y": 4}]).value == 10
    assert [(r.a, r.b) for r in numbers.requests] == [(2, 1)]


def test_the_strict_rule_for_python_values() -> None:
    """What strict Python mode takes, on the generated library models: the wire's types, nested
    objects as dicts or model instances, formats as objects or their strings; no coercion."""
    sys.path.insert(0, str(ROOT / "generated"))
    try:
        from library import _spec, models  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "generated"))
    borrow: MethodSpec = _spec.BORROW_BOOK
    search: MethodSpec = _spec.SEARCH_BOOKS
    book_id, member_id = uuid.uuid4(), uuid.uuid4()
    # Objects or their strings for formats; an int field takes 14 and 14.0 (JSON's 14.0 too).
    for days in (14, 14.0):
        _model, body = validate_arguments(
            borrow, {"book_id": book_id, "member_id": str(member_id), "days": days}
        )
        assert json.loads(body) == {
            "book_id": str(book_id),
            "member_id": str(member_id),
            "days": 14,
        }
    refused = [
        (borrow, {"book_id": book_id, "member_id": member_id, "days": "14"}),  # str for int
        (borrow, {"book_id": book_id, "member_id": member_id, "days": True}),  # bool for int
        (borrow, {"book_id": book_id, "member_id": member_id, "days": 14.5}),
        (borrow, {"book_id": book_id.hex, "member_id": member_id}),  # not the uuid format
        (search, {"query": "q", "limit": "5"}),
        (search, {"query": 5}),  # int for str
    ]
    for method, arguments in refused:
        with pytest.raises(leveret.InvalidArgument):
            validate_arguments(method, arguments)
    # A nested object: a dict or an instance of its model; a date as an object or its string.
    book = {
        "id": str(book_id),
        "isbn": "9780000000002",
        "title": "Notes",
        "authors": [{"name": "Ada", "born": datetime.date(1815, 12, 10)}],
        "genre": "non_fiction",
        "copies": 1,
    }
    for authors in (
        [{"name": "Ada", "born": "1815-12-10"}],
        [models.Author(name="Ada", born=datetime.date(1815, 12, 10))],
    ):
        assert models.Book.model_validate({**book, "authors": authors}, strict=True).authors
    assert models.Book.model_validate(book, strict=True).authors[0].born.year == 1815
    with pytest.raises(ValueError):
        models.Book.model_validate({**book, "copies": "1"}, strict=True)
    # A tuple is not a list, a str not a number.
    with pytest.raises(leveret.InvalidArgument):
        validate_arguments(ADD, {"a": (1,), "b": 1})
    with pytest.raises(leveret.InvalidArgument, match="b: Input should be a valid number"):
        validate_arguments(ADD, {"a": 1, "b": "1"})
    # The one conversion (documented, pydantic's strict float): Decimal and Fraction to a double.
    assert json.loads(validate_arguments(ADD, {"a": Decimal("0.5"), "b": Fraction(1, 4)})[1]) == {
        "a": 0.5,
        "b": 0.25,
    }


def test_the_client_refuses_a_string_that_is_not_unicode_text(
    worker: leveret.Worker, client: NumbersClient, numbers: Numbers
) -> None:
    with pytest.raises(leveret.InvalidArgument, match="cannot be sent as JSON"):
        validate_arguments(SHAPE, {"points": [], "label": "\ud800"})
    assert numbers.requests == []


def test_the_raw_server_fixture_answers(amqp_url: str) -> None:
    """The raw server used above answers a leveret client (the fixture itself works)."""
    queue = new_queue()
    server = RawServer(amqp_url, queue, lambda _p, _b: ok({"value": 1.5}))
    try:
        with NumbersClient(BlockingTransport(amqp_url), queue=queue) as c:
            assert c.add(a=1, b=2).value == 1.5
    finally:
        server.close()


def test_a_model_that_writes_infinity_as_a_token_is_refused_too() -> None:
    """A response model configured to write NaN/Infinity tokens (ser_json_inf_nan) instead of
    null is caught as well: the worker never sends one."""
    from pydantic import BaseModel, ConfigDict

    from leveret._codec import encode_result
    from tests.support.numbers import AddRequest

    class Loud(BaseModel):
        model_config = ConfigDict(ser_json_inf_nan="constants")
        value: float

    method = MethodSpec("m", "m", AddRequest, Loud)
    for mode in ("constants", "strings", "null"):
        Loud.model_config["ser_json_inf_nan"] = mode  # type: ignore[typeddict-item]
        Loud.model_rebuild(force=True)
        with pytest.raises(ValueError, match="value = NaN or an infinity"):
            encode_result(method, Loud(value=math.inf))
    assert encode_result(method, Loud(value=1.5)) == b'{"value":1.5}'
