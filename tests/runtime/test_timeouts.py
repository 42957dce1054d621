"""Timeouts and request sizes a client refuses before sending anything, and the decisions taken
when the broker refuses a request by closing the channel (without a broker: memory:// and a
call table fed with pika's close exceptions)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import uuid
from typing import Any, ClassVar

import pika.exceptions
import pytest

import leveret
from leveret import MethodSpec, ServiceSpec
from leveret._amqp._calls import _Calls
from leveret._errors import ORIGIN_LOCAL, ORIGIN_LOST, ORIGIN_REFUSED, RpcError, mark
from leveret._retry import RetryPolicy
from leveret._wire import MAX_EXPIRATION_MS, MAX_MESSAGE_SIZE, MAX_TIMEOUT, Reply
from tests.support.echo import AddReply, AddRequest, AsyncEchoClient, Echo, EchoClient

BAD_TIMEOUTS = [
    math.inf,
    -math.inf,
    math.nan,
    1e300,
    MAX_TIMEOUT + 1,
    10**400,
    0,
    0.0,
    -1,
    True,
    "5",
]


def memory_url() -> str:
    return f"memory://{uuid.uuid4().hex}"  # an isolated broker per test: no queue, no route


def test_the_longest_timeout_fits_rabbitmqs_longest_expiration() -> None:
    assert MAX_TIMEOUT * 1000 <= MAX_EXPIRATION_MS < (MAX_TIMEOUT + 1) * 1000
    assert MAX_EXPIRATION_MS == 2**32 - 1  # RabbitMQ's documented per-message TTL limit


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=lambda value: repr(value)[:12])
def test_a_bad_timeout_is_a_configuration_error_in_the_sync_client(timeout: Any) -> None:
    with (
        EchoClient.connect(memory_url()) as client,
        pytest.raises(leveret.ConfigurationError, match=r"add: timeout must be positive seconds"),
    ):
        client.add(a=1, b=2, timeout=timeout)


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=lambda value: repr(value)[:12])
def test_a_bad_timeout_is_a_configuration_error_in_the_asyncio_client(timeout: Any) -> None:
    async def scenario() -> None:
        async with AsyncEchoClient.connect(memory_url()) as client:
            await client.add(a=1, b=2, timeout=timeout)

    with pytest.raises(leveret.ConfigurationError, match=r"add: timeout must be positive seconds"):
        asyncio.run(asyncio.wait_for(scenario(), 10))


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=lambda value: repr(value)[:12])
def test_a_bad_timeout_is_a_configuration_error_in_the_dynamic_client(timeout: Any) -> None:
    with (
        leveret.DynamicClient.connect(memory_url()) as client,
        pytest.raises(leveret.ConfigurationError, match=r"add: timeout must be positive seconds"),
    ):
        client.call("some.queue", "add", {"a": 1, "b": 2}, timeout=timeout)


def test_a_bad_default_timeout_of_the_definition_says_so() -> None:
    forever: MethodSpec[AddRequest, AddReply] = MethodSpec(
        "add", "add", AddRequest, AddReply, timeout=math.inf, idempotent=True
    )

    class ForeverClient(EchoClient):
        service: ClassVar[ServiceSpec] = ServiceSpec("Echo", "q", (forever,))

        def add(self, *, a: int, b: int, timeout: leveret.Timeout = leveret.DEFAULT) -> AddReply:
            return self._call(forever, {"a": a, "b": b}, timeout)

    with (
        ForeverClient.connect(memory_url()) as client,
        pytest.raises(leveret.ConfigurationError, match="add: the method's default timeout"),
    ):
        client.add(a=1, b=2)


def test_the_edges_of_the_range_are_accepted() -> None:
    url = memory_url()
    with leveret.Worker(Echo(), url=url), EchoClient.connect(url) as client:
        for timeout in (MAX_TIMEOUT, float(MAX_TIMEOUT), None):
            assert client.add(a=1, b=2, timeout=timeout).sum == 3
        # Accepted, though a loaded machine may not answer within 1 ms.
        with contextlib.suppress(leveret.DeadlineExceeded):
            assert client.add(a=1, b=2, timeout=0.001).sum == 3
        with leveret.DynamicClient.connect(url) as dynamic:
            assert dynamic.call("leveret.test.Echo", "add", {"a": 1, "b": 2}, MAX_TIMEOUT) == {
                "sum": 3
            }


# -- max_message_size ----------------------------------------------------------------------


class CountingEcho(Echo):
    def __init__(self) -> None:
        super().__init__()
        self.adds = 0

    def add(self, request: AddRequest, context: leveret.CallContext) -> AddReply:
        self.adds += 1
        return super().add(request, context)


def test_a_request_over_max_message_size_is_refused_before_sending() -> None:
    url = memory_url()
    echo = CountingEcho()
    with leveret.Worker(echo, url=url), EchoClient.connect(url, max_message_size=30) as client:
        assert client.add(a=1, b=2).sum == 3  # {"a":1,"b":2} is 13 bytes
        with pytest.raises(leveret.ResourceExhausted, match=r"more than max_message_size") as info:
            client.add(a=10**30, b=2)
        assert info.value.never_sent is True
        with (
            leveret.DynamicClient.connect(url, max_message_size=30) as dynamic,
            pytest.raises(leveret.ResourceExhausted),
        ):
            dynamic.call("leveret.test.Echo", "add", {"a": 10**30, "b": 2}, 5)

    async def scenario() -> None:
        async with AsyncEchoClient.connect(url, max_message_size=30) as client:
            await client.add(a=10**30, b=2)

    with pytest.raises(leveret.ResourceExhausted):
        asyncio.run(asyncio.wait_for(scenario(), 10))
    assert echo.adds == 1  # the refused requests never reached the worker


def test_the_default_max_message_size_is_grpcs_4_mib() -> None:
    with EchoClient.connect(memory_url()) as client:
        assert client._policy.max_message_size == MAX_MESSAGE_SIZE == 4 * 1024 * 1024


@pytest.mark.parametrize("limit", [0, -1, True, 1.5, "big"], ids=repr)
def test_a_bad_max_message_size_is_a_configuration_error(limit: Any) -> None:
    with pytest.raises(leveret.ConfigurationError, match="max_message_size"):
        EchoClient.connect(memory_url(), max_message_size=limit)
    with pytest.raises(leveret.ConfigurationError, match="max_message_size"):
        leveret.DynamicClient.connect(memory_url(), max_message_size=limit)


# -- a request the broker refuses (channel closed over it) ----------------------------------


def test_a_refused_request_is_never_retried_whatever_its_class() -> None:
    for error in (leveret.Unavailable("x"), leveret.FailedPrecondition("x")):
        mark(error, ORIGIN_REFUSED)
        assert RetryPolicy().next_delay(error, True, 0, 4e9) is None
    assert RetryPolicy().next_delay(mark(leveret.Unavailable("x"), ORIGIN_LOST), True, 0, 4e9)


class _Table(_Calls):
    """The shared call table with its two transport hooks recorded instead of acted on."""

    def __init__(self) -> None:
        super().__init__("amqp://127.0.0.1:1/%2F", "direct", 1.0)
        self.settled: dict[str, RpcError | None] = {}
        self.lost: list[RpcError] = []
        self._conn, self._ch = object(), object()
        self._ready = True

    def _settle(self, cid: str, reply: Reply | None, error: RpcError | None) -> None:
        self.settled[cid] = error

    def _on_lost(self, error: RpcError) -> None:
        self.lost.append(error)


# Which request a channel close refused, and what happens to the others: see
# tests/runtime/test_publisher_channel.py (two channels since issue 10 s.4).


@pytest.mark.parametrize(
    ("source", "ready", "exc"),
    [
        ("channel", True, pika.exceptions.ChannelClosedByBroker(504, "CHANNEL_ERROR")),
        ("connection", True, pika.exceptions.ConnectionClosedByBroker(320, "CONNECTION_FORCED")),
        ("connection", True, pika.exceptions.StreamLostError("reset")),
    ],
)
def test_other_closes_are_a_lost_connection(source: str, ready: bool, exc: Exception) -> None:
    table = _Table()
    table._ready = ready
    table._tags = {1: "a"}
    table._on_closed(table._ch if source == "channel" else table._conn, exc)
    assert table.settled == {}
    [lost] = table.lost
    assert isinstance(lost, leveret.Unavailable) and lost._origin == ORIGIN_LOST


def test_a_close_while_setting_up_is_not_a_call_lost_in_flight() -> None:
    """No call is in flight before the client is set up: the error says the broker could not be
    reached (as for a failed connect), never "connection lost with the call in flight"."""
    table = _Table()
    table._ready = False
    table._on_closed(table._ch, pika.exceptions.ChannelClosedByBroker(406, "during set-up"))
    [error] = table.lost
    assert isinstance(error, leveret.Unavailable) and error._origin != ORIGIN_LOST
    assert "in flight" not in str(error) and "during set-up" in str(error)


def test_a_close_of_a_connection_already_replaced_is_ignored() -> None:
    table = _Table()
    table._on_closed(object(), pika.exceptions.ChannelClosedByBroker(406, "old channel"))
    assert table.settled == {} and table.lost == []


def test_local_refusals_are_marked_local() -> None:
    with (
        EchoClient.connect(memory_url(), max_message_size=1) as client,
        pytest.raises(leveret.ResourceExhausted) as info,
    ):
        client.add(a=1, b=2)
    assert info.value._origin == ORIGIN_LOCAL
