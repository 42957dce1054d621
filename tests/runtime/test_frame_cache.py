"""Without a broker: the publish-frame cache stays bounded, short strings that are not UTF-8
survive a read and a write byte for byte, header tables pika cannot decode are reported (not
raised), and the dispatcher refuses such a request. ``tests/integration/test_hostile_deliveries.py``
covers the same against RabbitMQ."""

from __future__ import annotations

import struct
from typing import Any

import pika
import pytest
from pika import frame, spec

from leveret._amqp._connection import UndecodableHeaders, _header_without_table, _headers
from leveret._dispatch import Dispatcher, Outcome
from leveret._frames import CACHED_METHODS, FastDelivery, FrameEncoder, read_fast
from leveret._wire import Delivery, decode_error
from tests.support.echo import SERVICE, Echo

FRAME_MAX = 131072
BINARY = bytes(range(240, 256))  # 16 bytes, not UTF-8
HOSTILE = struct.pack(">I", 12) + b"\x02tsT" + struct.pack(">Q", 2**62)


def test_the_publish_method_cache_stays_bounded() -> None:
    encoder = FrameEncoder(1, FRAME_MAX)
    for i in range(10_000):
        encoder.publish("", f"amq.rabbitmq.reply-to.caller{i}", b"{}", correlation_id="c")
    assert len(encoder._publish_methods) == CACHED_METHODS
    # What it keeps or forgets, every frame is right.
    for key in ("amq.rabbitmq.reply-to.caller0", "amq.rabbitmq.reply-to.caller9999"):
        ours = encoder.publish("", key, b"{}")
        assert ours.startswith(frame.Method(1, spec.Basic.Publish(routing_key=key)).marshal())


def _deliver(props: bytes, flags: int, body: bytes = b"{}") -> bytes:
    """``basic.deliver``, its content header (``props`` under ``flags``) and body frames."""
    return _deliver_method() + _header_and_body(props, flags, body)


def _deliver_method() -> bytes:
    return frame.Method(
        1, spec.Basic.Deliver(consumer_tag="ctag", delivery_tag=7, exchange="", routing_key="q")
    ).marshal()


def _header_and_body(props: bytes, flags: int, body: bytes) -> bytes:
    header_payload = struct.pack(">HHQH", 60, 0, len(body), flags) + props
    header = struct.pack(">BHI", 2, 1, len(header_payload)) + header_payload + b"\xce"
    return header + frame.Body(1, body).marshal()


def test_short_strings_that_are_not_utf8_are_read_and_written_as_bytes() -> None:
    data = _deliver(bytes((16,)) + BINARY + b"\x03\xfe\xfe\xfe", 0x0400 | 0x0200)
    used, item = read_fast(data, 1)
    assert used == len(data) and isinstance(item, FastDelivery)
    assert item.correlation_id == BINARY and item.reply_to == b"\xfe\xfe\xfe"
    ours = FrameEncoder(1, FRAME_MAX).publish(
        "", item.reply_to, b"{}", correlation_id=item.correlation_id
    )
    # pika writes bytes short strings as they are: the same frames.
    theirs = frame.Header(1, 2, pika.BasicProperties(correlation_id=BINARY)).marshal()
    assert theirs in ours and b"\x03\xfe\xfe\xfe" in ours


@pytest.mark.parametrize(
    "table",
    [HOSTILE, struct.pack(">I", 12) + b"\x02tsT" + struct.pack(">Q", 1_790_000_000_000)],
    ids=["2**62", "milliseconds"],
)
def test_undecodable_tables_are_reported_not_raised(table: bytes) -> None:
    with pytest.raises((ValueError, OverflowError, OSError)):
        pika.data.decode_table(table, 0)
    headers = _headers(table)
    assert isinstance(headers, UndecodableHeaders) and headers == {}
    assert "cannot decode the headers table" in headers.reason


def test_a_header_frame_keeps_its_other_properties_without_the_table() -> None:
    props = b"\x10application/json" + HOSTILE + b"\x02c1" + b"\x05reply" + b"\x04echo"
    data = _header_and_body(props, 0x8000 | 0x2000 | 0x0400 | 0x0200 | 0x0020, b"{}")
    with pytest.raises(Exception) as raised:
        frame.decode_frame(data)
    assert isinstance(raised.value, Exception)
    used, header = _header_without_table(data, raised.value)
    assert data[used:] == frame.Body(1, b"{}").marshal()
    props_read: Any = header.properties
    assert isinstance(props_read.headers, UndecodableHeaders)
    assert (props_read.content_type, props_read.correlation_id) == ("application/json", "c1")
    assert (props_read.reply_to, props_read.type, header.body_size) == ("reply", "echo", 2)


def test_the_dispatcher_refuses_a_request_it_cannot_decode() -> None:
    dispatcher = Dispatcher(SERVICE, Echo())
    outcome = dispatcher.accept(
        Delivery(
            body=b'{"text": "hi"}',
            method="echo",
            correlation_id=BINARY,
            reply_to=b"r",
            undecodable="cannot decode the headers table: OverflowError: ...",
        )
    )
    assert isinstance(outcome, Outcome) and not outcome.ack and outcome.reply is not None
    assert (outcome.reply.correlation_id, outcome.reply.reply_to) == (BINARY, b"r")
    assert outcome.reply.status == "INVALID_ARGUMENT"
    error = decode_error(outcome.reply.status, outcome.reply.body)
    assert error.message.startswith("undecodable request properties: cannot decode")


def test_a_binary_correlation_id_reaches_the_reply_unchanged() -> None:
    dispatcher = Dispatcher(SERVICE, Echo())
    call = dispatcher.accept(
        Delivery(body=b'{"text": "hi"}', method="echo", correlation_id=BINARY, reply_to="r")
    )
    assert not isinstance(call, Outcome)
    assert call.context.correlation_id == BINARY.decode("utf-8", "backslashreplace")
    outcome = dispatcher.finish(call, call.handler(call.request, call.context))
    assert outcome.reply is not None and outcome.reply.correlation_id == BINARY
