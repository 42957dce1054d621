"""What a client does when the broker closes its publishing channel over a request it refuses
(issue 10 s.4): the shared call table (``_amqp._calls``) with its transport hooks recorded.
The same against a real broker: tests/integration/test_size_limits.py."""

from __future__ import annotations

from typing import Any

import pika.exceptions
import pytest

import leveret
from leveret._amqp._calls import _Calls
from leveret._errors import ORIGIN_LOCAL, ORIGIN_LOST, ORIGIN_REFUSED, RpcError
from leveret._wire import Reply, Request

SIZE_TEXT = "PRECONDITION_FAILED - message size {} is larger than configured max size 100"


class _Channel:
    def __init__(self) -> None:
        self.close_callbacks: list[Any] = []
        self.on_open: Any = None

    def add_on_close_callback(self, callback: Any) -> None:
        self.close_callbacks.append(callback)


class _Conn:
    """Records the channels opened (the new publishing channel) without opening them."""

    def __init__(self) -> None:
        self.opened: list[_Channel] = []

    def channel(self, on_open_callback: Any) -> _Channel:
        ch = _Channel()
        ch.on_open = on_open_callback
        self.opened.append(ch)
        return ch


class _Table(_Calls):
    def __init__(self) -> None:
        super().__init__("amqp://127.0.0.1:1/%2F", "direct", 1.0)
        self.settled: dict[str, RpcError | None] = {}
        self.lost: list[RpcError] = []
        self.resent: list[str] = []
        self._conn = _Conn()
        self._ch, self._pub = _Channel(), _Channel()
        self._ready = self._pub_ready = True

    def _settle(self, cid: str, reply: Reply | None, error: RpcError | None) -> None:
        self.settled[cid] = error

    def _on_lost(self, error: RpcError) -> None:
        self.lost.append(error)

    def _resend_later(self, requests: list[Request]) -> None:
        self.resent = [r.correlation_id for r in requests]

    def _publisher_reopened(self) -> None:
        pass

    def sent(self, *bodies: tuple[str, int]) -> None:
        """Requests published and not confirmed yet: (correlation id, body size) each."""
        for cid, size in bodies:
            self._tag += 1
            self._tags[self._tag] = Request("q", "take", cid, b"x" * size, None)


def _close(table: _Table, code: int, text: str) -> None:
    table._on_closed(table._pub, pika.exceptions.ChannelClosedByBroker(code, text))


def test_a_size_refusal_fails_the_refused_one_and_sends_the_dropped_ones_again() -> None:
    table = _Table()
    old = table._pub
    table.sent(("before", 10), ("refused", 101), ("also-101", 101), ("dropped", 50))
    table.sent(("over-too", 120), ("dropped-2", 100))
    _close(table, 406, SIZE_TEXT.format(101))
    # "before" was taken by the broker: it waits for its reply (nothing settled, not lost).
    # The refused one is the first of that size; the broker dropped the rest, and those over
    # its limit fail too (sent again, they would be refused again).
    assert set(table.settled) == {"refused", "also-101", "over-too"}
    refused = table.settled["refused"]
    assert isinstance(refused, leveret.ResourceExhausted)
    assert "the broker refused the request: 406 PRECONDITION_FAILED - message size 101" in str(
        refused
    )
    assert refused._origin == ORIGIN_REFUSED and refused.never_sent is True
    for cid, size in (("also-101", 101), ("over-too", 120)):
        over = table.settled[cid]
        assert isinstance(over, leveret.ResourceExhausted) and over.never_sent is True
        assert f"{size} bytes, more than the broker's max_message_size (100 bytes)" in str(over)
        assert over._origin == ORIGIN_REFUSED  # never retried: it would be refused again
    assert table.resent == ["dropped", "dropped-2"]
    assert table.lost == []
    # A new publishing channel is on its way; nothing is published until it is ready.
    assert table._pub is not old and table._pub is table._conn.opened[-1]
    assert table._pub_ready is False and table._tags == {}
    # The broker's limit is remembered: a later request over it is refused before sending.
    assert table._broker_max == 100
    with pytest.raises(leveret.ResourceExhausted, match="nothing was sent") as info:
        table._publish(Request("q", "take", "later", b"x" * 101, None))
    assert info.value._origin == ORIGIN_LOCAL and info.value.never_sent is True


def test_a_size_refusal_at_the_brokers_hard_maximum_is_attributed_too() -> None:
    """At its hard maximum (512 MiB) RabbitMQ leaves "configured" out of its words
    (rabbit_channel:check_msg_size); the refused request is still found by its size (review
    r9 D4), the others are not failed with it, and the limit is learnt. (Small sizes stand in
    for 512 MiB ones: only the words matter here.)"""
    limit = 100
    table = _Table()
    table.sent(("before", 10), ("refused", limit + 1), ("dropped", 50))
    _close(
        table,
        406,
        f"PRECONDITION_FAILED - message size {limit + 1} is larger than max size {limit}",
    )
    assert set(table.settled) == {"refused"}
    refused = table.settled["refused"]
    assert isinstance(refused, leveret.ResourceExhausted) and refused.never_sent is True
    assert "the broker refused the request: 406" in str(refused)
    assert table.resent == ["dropped"] and table.lost == []
    assert table._broker_max == limit


@pytest.mark.parametrize(
    ("code", "text", "error_class"),
    [
        (
            403,
            "ACCESS_REFUSED - access to exchange 'amq.default' refused",
            leveret.PermissionDenied,
        ),
        (
            406,
            "PRECONDITION_FAILED - user_id property set to 'x' but ...",
            leveret.FailedPrecondition,
        ),
        # A size refusal that names no unconfirmed body size: cannot tell which one.
        (406, SIZE_TEXT.format(7), leveret.ResourceExhausted),
    ],
)
def test_other_refusals_fail_every_unconfirmed_call_and_no_other(
    code: int, text: str, error_class: type[RpcError]
) -> None:
    table = _Table()
    table.sent(("a", 10), ("b", 20))
    _close(table, code, text)
    for cid in ("a", "b"):
        error = table.settled[cid]
        assert isinstance(error, error_class), error
        assert "this or another of 2 requests" in str(error)
        assert error.never_sent is False  # it may have been one the broker took
    assert table.resent == [] and table.lost == []


def test_the_only_unconfirmed_request_is_the_refused_one() -> None:
    table = _Table()
    table.sent(("only", 10))
    _close(table, 406, "PRECONDITION_FAILED - invalid expiration '5': {value_too_large,5}")
    error = table.settled["only"]
    assert isinstance(error, leveret.FailedPrecondition) and error.never_sent is True
    assert "the broker refused the request: 406" in str(error)
    assert table.lost == []


@pytest.mark.parametrize(
    ("source", "exc"),
    [
        ("reply", pika.exceptions.ChannelClosedByBroker(406, "PRECONDITION_FAILED")),
        ("publisher", pika.exceptions.ChannelClosedByBroker(504, "CHANNEL_ERROR")),
        ("publisher", pika.exceptions.ConnectionClosedByBroker(320, "CONNECTION_FORCED")),
        ("connection", pika.exceptions.StreamLostError("reset")),
    ],
)
def test_a_close_of_the_reply_channel_or_the_connection_is_a_lost_connection(
    source: str, exc: Exception
) -> None:
    table = _Table()
    table.sent(("a", 10))
    channel = {"reply": table._ch, "publisher": table._pub, "connection": table._conn}[source]
    table._on_closed(channel, exc)
    assert table.settled == {}
    [lost] = table.lost
    assert isinstance(lost, leveret.Unavailable) and lost._origin == ORIGIN_LOST


def test_a_refusal_of_the_new_channels_own_setup_is_a_lost_connection() -> None:
    # Opening the publishing channel again must not loop on a broker that refuses it.
    table = _Table()
    table._pub_ready = False
    _close(table, 406, "PRECONDITION_FAILED - confirm.select")
    assert len(table.lost) == 1 and table._conn.opened == []


def test_a_close_of_a_channel_already_replaced_is_ignored() -> None:
    table = _Table()
    table._on_closed(_Channel(), pika.exceptions.ChannelClosedByBroker(406, "old channel"))
    assert table.settled == {} and table.lost == []
