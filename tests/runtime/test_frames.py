"""leveret's own frame encoder against pika's: byte for byte, for every property it sets."""

from __future__ import annotations

import itertools
from typing import Any

import pika
import pika.data
import pytest
from pika import frame, spec

from leveret._frames import Confirm, FastDelivery, FrameEncoder, read_fast

FRAME_MAX = 131072


def _pika_publish(
    channel: int, exchange: str, key: str, body: bytes, mandatory: bool, **props: Any
) -> bytes:
    body_max = FRAME_MAX - 8
    parts = [
        frame.Method(
            channel, spec.Basic.Publish(exchange=exchange, routing_key=key, mandatory=mandatory)
        ).marshal(),
        frame.Header(channel, len(body), pika.BasicProperties(**props)).marshal(),
    ]
    for start in range(0, len(body), body_max):
        parts.append(frame.Body(channel, body[start : start + body_max]).marshal())
    return b"".join(parts)


PROPERTIES: dict[str, Any] = {
    "content_type": "application/json",
    "headers": {"rpc-deadline": 1_790_000_000_123, "rpc-status": "OK", "small": 7, "neg": -(2**31)},
    "correlation_id": "3f2a9c",
    "reply_to": "amq.rabbitmq.reply-to",
    "expiration": "1500",
    "type": "reserve",
}


@pytest.mark.parametrize(
    "names",
    [combo for n in range(len(PROPERTIES) + 1) for combo in itertools.combinations(PROPERTIES, n)],
    ids=lambda names: "+".join(names) or "none",
)
def test_publish_matches_pika_for_every_combination_of_properties(names: tuple[str, ...]) -> None:
    props = {name: PROPERTIES[name] for name in names}
    body = b'{"a": 1, "b": 2}'
    ours = FrameEncoder(1, FRAME_MAX).publish("", "inventory", body, mandatory=True, **props)
    assert ours == _pika_publish(1, "", "inventory", body, True, **props)


@pytest.mark.parametrize(
    "size", [0, 1, FRAME_MAX - 9, FRAME_MAX - 8, FRAME_MAX - 7, 3 * FRAME_MAX + 5]
)
def test_bodies_are_split_at_the_frame_size_as_pika_does(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + bytes(size % 256)
    ours = FrameEncoder(7, FRAME_MAX).publish("ex", "q", body, correlation_id="c")
    assert ours == _pika_publish(7, "ex", "q", body, False, correlation_id="c")


def test_unicode_and_the_method_frame_cache() -> None:
    encoder = FrameEncoder(2, FRAME_MAX)
    for _ in range(2):  # the second time from the cache
        ours = encoder.publish("", "café.queue", b"x", type="réserver", headers={"clé": "välue"})
        assert ours == _pika_publish(
            2, "", "café.queue", b"x", False, type="réserver", headers={"clé": "välue"}
        )


def test_ack_matches_pika() -> None:
    for tag in (1, 2**40 + 3, 2**64 - 1):
        assert (
            FrameEncoder(3, FRAME_MAX).ack(tag)
            == frame.Method(3, spec.Basic.Ack(delivery_tag=tag)).marshal()
        )


def test_what_it_cannot_encode_is_refused() -> None:
    encoder = FrameEncoder(1, FRAME_MAX)
    with pytest.raises(ValueError, match="255 bytes"):
        encoder.publish("", "q" * 256, b"")
    with pytest.raises(TypeError, match="only str and int"):
        encoder.publish("", "q", b"", headers={"flag": True})


# -- reading ------------------------------------------------------------------------------------

ALL_PROPERTIES: dict[str, Any] = {
    "content_type": "application/json",
    "content_encoding": "gzip",
    "headers": {"rpc-status": "NOT_FOUND", "n": 3, "nested": {"x": [1, "y"]}},
    "delivery_mode": 2,
    "priority": 5,
    "correlation_id": "cid-42",
    "reply_to": "amq.rabbitmq.reply-to.g1h2",
    "expiration": "60000",
    "message_id": "m-1",
    "timestamp": 1_790_000_000,
    "type": "echo",
    "user_id": "guest",
    "app_id": "other-language-peer",
    "cluster_id": "c",
}


def _pika_delivery(
    channel: int, tag: int, body: bytes, redelivered: bool = False, **props: Any
) -> bytes:
    body_max = FRAME_MAX - 8
    deliver = spec.Basic.Deliver(
        consumer_tag="ctag1.abc",
        delivery_tag=tag,
        redelivered=redelivered,
        exchange="",
        routing_key="q",
    )
    parts = [
        frame.Method(channel, deliver).marshal(),
        frame.Header(channel, len(body), pika.BasicProperties(**props)).marshal(),
    ]
    for start in range(0, len(body), body_max):
        parts.append(frame.Body(channel, body[start : start + body_max]).marshal())
    return b"".join(parts)


@pytest.mark.parametrize("left_out", [None, *ALL_PROPERTIES], ids=lambda name: f"without-{name}")
def test_a_delivery_reads_as_pika_wrote_it(left_out: str | None) -> None:
    props = {k: v for k, v in ALL_PROPERTIES.items() if k != left_out}
    data = _pika_delivery(5, 2**33 + 1, b'{"ok": true}', redelivered=True, **props)
    used, delivery = read_fast(data + b"\x08rest", 5)
    assert used == len(data)
    assert isinstance(delivery, FastDelivery)
    assert (delivery.delivery_tag, delivery.redelivered, delivery.body) == (
        2**33 + 1,
        True,
        b'{"ok": true}',
    )
    assert delivery.content_type == props.get("content_type")
    assert delivery.correlation_id == props.get("correlation_id")
    assert delivery.reply_to == props.get("reply_to")
    assert delivery.type == props.get("type")
    if "headers" in props:
        assert delivery.headers is not None
        assert pika.data.decode_table(delivery.headers, 0)[0] == {
            "rpc-status": "NOT_FOUND",
            "n": 3,
            "nested": {"x": [1, "y"]},
        }
    else:
        assert delivery.headers is None


@pytest.mark.parametrize("size", [0, 1, FRAME_MAX - 8, FRAME_MAX - 7, 2 * FRAME_MAX + 11])
def test_bodies_of_any_size_and_frame_count(size: int) -> None:
    body = bytes(i % 251 for i in range(size))
    data = _pika_delivery(1, 9, body, correlation_id="c")
    used, delivery = read_fast(data, 1)
    assert used == len(data)
    assert isinstance(delivery, FastDelivery)
    assert delivery.body == body


def test_an_incomplete_delivery_is_left_for_later() -> None:
    data = _pika_delivery(1, 9, b"x" * 300, correlation_id="c", headers={"rpc-status": "OK"})
    for cut in range(len(data)):
        assert read_fast(data[:cut], 1) == (0, None), cut


def test_a_confirm() -> None:
    ack = frame.Method(1, spec.Basic.Ack(delivery_tag=77, multiple=True)).marshal()
    assert read_fast(ack + b"more", 1) == (len(ack), Confirm(77, True))
    single = frame.Method(1, spec.Basic.Ack(delivery_tag=78)).marshal()
    assert read_fast(single, 1) == (len(single), Confirm(78, False))


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(frame.Method(1, spec.Basic.Nack(delivery_tag=1)).marshal(), id="nack"),
        pytest.param(
            frame.Method(
                1,
                spec.Basic.Return(
                    reply_code=312, reply_text="NO_ROUTE", exchange="", routing_key="q"
                ),
            ).marshal(),
            id="return",
        ),
        pytest.param(
            frame.Method(
                0, spec.Connection.Close(reply_code=320, reply_text="bye", class_id=0, method_id=0)
            ).marshal(),
            id="connection close",
        ),
        pytest.param(frame.Heartbeat().marshal(), id="heartbeat"),
        pytest.param(_pika_delivery(2, 1, b"x"), id="another channel"),
        pytest.param(_pika_delivery(1, 1, b"x")[:-1] + b"\x00", id="bad frame end"),
    ],
)
def test_everything_else_is_left_to_pika(data: bytes) -> None:
    assert read_fast(data, 1) == (0, None)
