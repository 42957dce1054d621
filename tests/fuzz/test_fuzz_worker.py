"""Hostile requests against a running leveret Worker on the real broker (issue 10, section 5).

A raw peer (no leveret code: frames written byte by byte, ``amqp_raw``) sends what Hypothesis
makes: random, truncated, deeply nested and huge bodies, huge numbers, lone surrogates and
invalid UTF-8, duplicate keys, wrong types, missing and extra properties, any content type and
encoding, garbage or absent correlation ids and reply_to, an ``rpc-deadline`` of every AMQP
type, expired and far-future deadlines, and hostile ``leveret-md-*`` metadata. After each
request it sends a good one. The properties, checked for every example:

- the worker answers every answerable request (correlation id, our reply_to, deadline not
  passed) within ``BOUND`` seconds: waited on with a deadline, never slept;
- with the status the wire protocol's checks give (docs/wire-protocol.md section 3): bad input
  is ``INVALID_ARGUMENT``, ``UNIMPLEMENTED`` or ``RESOURCE_EXHAUSTED``, never ``INTERNAL``;
- it sends nothing for an unanswerable one (checked once the good call's reply is in: one
  worker with one handler at a time answers in order);
- the good call after it is answered, and the worker never lost its connection (it connects
  through a proxy that counts connections).
"""

from __future__ import annotations

import json
import math
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

import pika
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import leveret
from leveret import CallContext
from tests.fuzz.conftest import EXAMPLES
from tests.support.amqp_raw import Field, content_frames, encode_table, send_frames
from tests.support.echo import (
    ADD,
    ECHO,
    AddReply,
    AddRequest,
    EchoReply,
    EchoRequest,
    EchoServicer,
    FailRequest,
)
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.integration

#: Seconds within which an answerable request must be answered (a stall fails the example).
BOUND = 10.0
#: The worker's own limit on a request body: the fuzzer sends bodies on both sides of it.
MAX_MESSAGE_SIZE = 1 << 20


class FuzzEcho(EchoServicer):
    """Echo without the test servicer's ``delay`` (a fuzzed ``delay: 1e300`` would sleep)."""

    service: ClassVar[leveret.ServiceSpec] = EchoServicer.service

    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        return EchoReply(text=request.text, worker="fuzz", remaining=context.time_remaining())

    def add(self, request: AddRequest, context: CallContext) -> AddReply:
        return AddReply(sum=request.a + request.b)

    def fail(self, request: FailRequest, context: CallContext) -> EchoReply:
        raise leveret.NotFound("not fuzzed")  # its handlers fail by design; never called


# -- the raw peer --------------------------------------------------------------------------


@dataclass
class Seen:
    correlation_id: bytes | None
    status: Any
    body: bytes


class Peer:
    """Writes requests frame by frame and keeps every reply that reaches its queue."""

    def __init__(self, url: str, queue: str) -> None:
        self.queue = queue
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.reply_queue: str = self.ch.queue_declare(
            "", exclusive=True, auto_delete=True
        ).method.queue
        self.seen: list[Seen] = []
        self.ch.basic_consume(self.reply_queue, self._on_reply, auto_ack=True)

    def _on_reply(self, _ch: Any, _method: Any, props: Any, body: bytes) -> None:
        cid = props.correlation_id
        self.seen.append(
            Seen(
                cid.encode() if isinstance(cid, str) else cid,
                (props.headers or {}).get("rpc-status"),
                body,
            )
        )

    def send(self, body: bytes, **props: Any) -> None:
        data = content_frames(
            self.ch.channel_number,
            self.conn._impl.params.frame_max,
            self.queue.encode(),
            body,
            **props,
        )
        send_frames(self.conn, self.ch, self.queue, data)

    def wait(self, cid: bytes, timeout: float) -> Seen | None:
        deadline = time.monotonic() + timeout
        while True:
            for reply in self.seen:
                if reply.correlation_id == cid:
                    return reply
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.conn.process_data_events(time_limit=min(remaining, 0.5))

    def close(self) -> None:
        self.conn.close()


# -- what a case is, and what the protocol says the worker answers ---------------------------


@dataclass
class Case:
    body: bytes
    method: bytes | None = b"echo"
    content_type: bytes | None = b"application/json"
    content_encoding: bytes | None = None
    correlation_id: bytes | None = field(default_factory=lambda: uuid.uuid4().hex.encode())
    reply_to: str = "ours"  # "ours", "absent", "empty" or a queue nobody reads
    headers: dict[bytes | str, Any] | None = None
    raw_headers: bytes | None = None  # a table pika cannot decode
    deadline: str = "none"  # "none", "past", "future": what the rpc-deadline header means
    metadata_ok: bool = True
    expiration: bytes | None = None
    message_id: bytes | None = None
    #: Statuses a body that fails validation may get (``RESOURCE_EXHAUSTED`` when large).
    body_statuses: frozenset[str] = frozenset({"INVALID_ARGUMENT"})


REQUEST_MODELS = {b"echo": ECHO.request, b"add": ADD.request}


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return True
    text = content_type.decode("utf-8", "replace")
    return text.split(";", 1)[0].strip().lower() == "application/json"


def expected(case: Case) -> frozenset[str] | None:
    """The statuses the worker may answer ``case`` with, or None: it must not answer.

    The checks of docs/wire-protocol.md section 3, in their order."""
    if not case.correlation_id or case.reply_to != "ours":
        return None  # 1: nowhere to answer
    if case.raw_headers is not None:
        return frozenset({"INVALID_ARGUMENT"})  # 1a: undecodable properties
    if not _is_json(case.content_type):
        return frozenset({"INVALID_ARGUMENT"})  # 2
    model = REQUEST_MODELS.get(case.method or b"")
    if model is None:
        return frozenset({"UNIMPLEMENTED"})  # 3
    if case.deadline == "past":
        return None  # 4: the caller has given up
    if not case.metadata_ok:
        return frozenset({"INVALID_ARGUMENT"})  # 4a
    if len(case.body) > MAX_MESSAGE_SIZE:
        return frozenset({"RESOURCE_EXHAUSTED"})  # 4c: over the worker's limit, not decoded
    try:
        request = model.model_validate_json(case.body, strict=True)
    except ValidationError:
        return case.body_statuses  # 5
    if not math.isfinite(getattr(request, "delay", 0.0)):
        # 1e400 is JSON, read as inf: refusing it with NaN and Infinity would be fair too.
        return frozenset({"OK", "INVALID_ARGUMENT"})
    return frozenset({"OK"})  # 6


# -- strategies ------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)  # lone surrogates included: json.dumps escapes them as \udXXX
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.sampled_from(["text", "delay", "a", "b", "kind"]) | st.text(), inner)
    ),
    max_leaves=20,
)

good_text = st.text(
    st.characters(exclude_categories=("Cs",)),  # no lone surrogates: valid requests
    min_size=0,
    max_size=100,
)


@st.composite
def valid_bodies(draw: st.DrawFn, method: bytes | None = None) -> bytes:
    if method == b"echo" or (method != b"add" and draw(st.booleans())):
        request: dict[str, Any] = {"text": draw(good_text)}
        if draw(st.booleans()):
            request["delay"] = draw(st.floats(allow_nan=False, allow_infinity=False))
        return json.dumps(request, ensure_ascii=draw(st.booleans())).encode()
    return json.dumps({"a": draw(st.integers(-(2**62), 2**62)), "b": draw(st.integers())}).encode()


def _deep(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


@st.composite
def hostile_bodies(draw: st.DrawFn, method: bytes | None) -> tuple[bytes, frozenset[str]]:
    """A body and the statuses it may get if it is what decides (a valid body gets OK)."""
    invalid = frozenset({"INVALID_ARGUMENT"})
    if draw(st.integers(0, 3)) == 0:  # a quarter valid, so that the later paths run too
        return draw(valid_bodies(method)), invalid
    kind = draw(
        st.sampled_from(
            [
                "valid",
                "json",
                "bytes",
                "truncated",
                "deep",
                "big-number",
                "invalid-utf8",
                "surrogate",
                "duplicate",
                "wrong-type",
                "extra",
                "large",
                "empty",
                "bom",
            ]
        )
    )
    if kind == "valid":
        return draw(valid_bodies()), invalid
    if kind == "json":
        return json.dumps(draw(json_values)).encode(), invalid
    if kind == "bytes":
        return draw(st.binary(max_size=300)), invalid
    if kind == "truncated":
        body = draw(valid_bodies())
        return body[: draw(st.integers(0, max(0, len(body) - 1)))], invalid
    if kind == "deep":
        depth = draw(st.sampled_from([10, 100, 199, 201, 255, 1000, 10_000, 100_000]))
        return _deep(depth, draw(st.sampled_from(["[", '{"a":']))), invalid
    if kind == "big-number":
        number = draw(
            st.sampled_from(["1e400", "-1e400", "1e-400", "9" * 4301, "9" * 100_000, "-0", "2e308"])
        )
        field_name = draw(st.sampled_from(["a", "b", "delay", "text"]))
        other = {"a": '"b":1', "b": '"a":1', "delay": '"text":"t"', "text": '"delay":0'}
        return f'{{"{field_name}":{number},{other[field_name]}}}'.encode(), invalid
    if kind == "invalid-utf8":
        junk = draw(st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]))
        return b'{"text":"' + junk + b'"}', invalid
    if kind == "surrogate":
        return draw(st.sampled_from([b'{"text":"\\ud800"}', b'{"text":"\\udfff\\ud800"}'])), invalid
    if kind == "duplicate":
        return b'{"text":"a","text":' + json.dumps(draw(json_values)).encode() + b"}", invalid
    if kind == "wrong-type":
        key = draw(st.sampled_from(["text", "delay", "a", "b"]))
        return json.dumps({key: draw(json_values), "text": "x"}).encode(), invalid
    if kind == "extra":
        extra = draw(st.dictionaries(st.text(max_size=10), json_values, min_size=1, max_size=3))
        return json.dumps({"text": "x", **extra}).encode(), invalid
    if kind == "large":
        size = draw(st.sampled_from([200_000, MAX_MESSAGE_SIZE + 1, 3 * MAX_MESSAGE_SIZE]))
        return json.dumps({"text": "x" * size}).encode(), frozenset(
            {"INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"}
        )
    if kind == "empty":
        return b"", invalid
    return b"\xef\xbb\xbf" + draw(valid_bodies()), invalid  # a UTF-8 BOM: not JSON


def _now_ms() -> int:
    return int(time.time() * 1000)


DAY_MS = 86_400_000


@st.composite
def deadlines(draw: st.DrawFn) -> tuple[Any, str]:
    """An ``rpc-deadline`` header value and what it means to the worker."""
    kind = draw(
        st.sampled_from(["past", "future", "int-types", "float", "string", "other", "timestamp"])
    )
    if kind == "past":
        return draw(st.sampled_from([_now_ms() - DAY_MS, 0, -1, -(2**63), 1])), "past"
    if kind == "future":
        return draw(st.sampled_from([_now_ms() + DAY_MS, 2**63 - 1])), "future"
    if kind == "int-types":  # the narrow AMQP integer types: all in 1970, so passed
        code, fmt = draw(
            st.sampled_from([(b"b", ">b"), (b"B", ">B"), (b"s", ">h"), (b"u", ">H"), (b"I", ">i")])
        )
        return Field(code, struct.pack(fmt, 1)), "past"
    if kind == "float":  # pika reads 'd' and 'f' as ints: a number after all
        past = draw(st.booleans())
        value = float(_now_ms() + (-DAY_MS if past else DAY_MS))
        code, fmt = draw(st.sampled_from([(b"d", ">d"), (b"f", ">f")]))
        return Field(code, struct.pack(fmt, value)), "past" if past else "future"
    if kind == "string":  # not a number: ignored, so no deadline
        text = draw(st.sampled_from([str(_now_ms() - DAY_MS), "soon", "", "NaN", "1e400"]))
        return text, "none"
    if kind == "timestamp":  # a datetime, not a number: ignored
        return Field(b"T", struct.pack(">Q", int(time.time()) - 3600)), "none"
    other = draw(
        st.sampled_from(
            [True, False, None, b"\x00\x01", [1, 2], {"ms": 1}, Decimal("1.5"), Decimal("-7")]
        )
    )
    return other, "none"


metadata_keys = st.from_regex(r"\A[a-z0-9_.\-]{1,20}\Z")
metadata_values = st.text(
    st.characters(
        exclude_categories=("Cs", "Cc"),
        exclude_characters="\u2028\u2029" + "".join(map(chr, range(0x7F, 0xA0))),
    ),
    max_size=30,
)


@st.composite
def metadata(draw: st.DrawFn) -> tuple[dict[bytes | str, Any], bool]:
    """``leveret-md-*`` headers, and whether they keep the metadata rules."""
    good = draw(st.dictionaries(metadata_keys, metadata_values, max_size=4))
    headers: dict[bytes | str, Any] = {f"leveret-md-{k}": v for k, v in good.items()}
    breach = draw(
        st.sampled_from(
            [
                None,
                "upper-key",
                "bad-key",
                "empty-key",
                "long-key",
                "not-str",
                "invalid-utf8",
                "surrogate",
                "control",
                "long-value",
                "entries",
                "total",
            ]
        )
    )
    if breach is None:
        return headers, True
    if breach == "upper-key":
        headers["leveret-md-Tenant"] = "acme"
    elif breach == "bad-key":
        headers["leveret-md-" + draw(st.sampled_from(["a b", "é", "a/b", "a:b", "\x00"]))] = "v"
    elif breach == "empty-key":
        headers["leveret-md-"] = "v"
    elif breach == "long-key":
        headers["leveret-md-" + "k" * 65] = "v"
    elif breach == "not-str":
        headers["leveret-md-tenant"] = draw(
            st.sampled_from([1, True, None, b"bytes", [1], {"a": 1}, Decimal("1"), 1.5])
        )
    elif breach == "invalid-utf8":
        headers["leveret-md-tenant"] = Field(b"S", struct.pack(">I", 2) + b"\xff\xfe")
    elif breach == "surrogate":
        headers["leveret-md-tenant"] = "a\ud800"  # sent as its surrogatepass bytes
    elif breach == "control":
        headers["leveret-md-tenant"] = "a" + draw(
            st.sampled_from(["\n", "\r", "\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"])
        )
    elif breach == "long-value":
        headers["leveret-md-tenant"] = "v" * 4097
    elif breach == "entries":
        headers.update({f"leveret-md-k{i}": "v" for i in range(65)})
    else:
        headers.update({f"leveret-md-k{i}": "v" * 3000 for i in range(3)})
    return headers, False


other_headers = st.dictionaries(
    st.sampled_from(["rpc-attempt", "x-death", "traceparent", "baggage", "x-junk", "rpc-other"])
    | st.text(max_size=20).filter(lambda k: not k.startswith(("leveret-md-", "rpc-deadline"))),
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text(max_size=40)
    | st.binary(max_size=20),
    max_size=3,
)


def _undecodable_table() -> bytes:
    """A header table pika cannot read: a timestamp far outside ``datetime``'s range."""
    return encode_table({"sent-at": Field(b"T", struct.pack(">Q", 2**62))})


shortstrs = st.binary(max_size=255)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    case = Case(body=b"")
    # Each property is usually right, so that the checks after it are reached too.
    if draw(st.integers(0, 4)) == 0:
        case.method = draw(
            st.none() | st.sampled_from([b"", b"fail ", b"Echo", b"__init__", b"\xff"]) | shortstrs
        )
        if case.method == b"fail":
            case.method = b"echo"  # its handlers fail on purpose (INTERNAL by design)
    else:
        case.method = draw(st.sampled_from([b"echo", b"add"]))
    case.body, case.body_statuses = draw(hostile_bodies(case.method))
    if draw(st.integers(0, 4)) == 0:
        case.content_type = draw(
            st.none()
            | st.sampled_from(
                [
                    b"",
                    b"application/json; charset=utf-8",
                    b"APPLICATION/JSON",
                    b" application/json ;",
                    b"application/x-pickle",
                    b"application/python-pickle",
                    b"application/x-python-serialize",
                    b"text/plain",
                    b"application/json5",
                    b"application/\xffjson",
                ]
            )
            | shortstrs
        )
    if draw(st.integers(0, 5)) == 0:
        case.content_encoding = draw(st.sampled_from([b"gzip", b"zlib", b"", b"\xff"]) | shortstrs)
    if draw(st.integers(0, 5)) == 0:
        case.correlation_id = draw(st.none() | st.just(b"") | st.binary(min_size=1, max_size=255))
    if draw(st.integers(0, 5)) == 0:
        case.reply_to = draw(
            st.sampled_from(
                [
                    "absent",
                    "empty",
                    "leveret.fuzz.nobody",
                    "amq.rabbitmq.reply-to.g2dkAA1yYWJiaXRAbm93aGVyZQ",
                    "amq.rabbitmq.reply-to.garbage",
                ]
            )
        )
    headers: dict[bytes | str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        value, case.deadline = draw(deadlines())
        headers["rpc-deadline"] = value
    if draw(st.integers(0, 2)) == 0:
        entries, case.metadata_ok = draw(metadata())
        headers.update(entries)
    if draw(st.integers(0, 4)) == 0:
        headers.update(draw(other_headers))
    if draw(st.integers(0, 19)) == 0:
        case.raw_headers = _undecodable_table()
    elif headers or draw(st.booleans()):
        case.headers = headers
    if draw(st.integers(0, 5)) == 0:
        case.expiration = b"60000"  # a valid one: the broker refuses a bad one (406)
    if draw(st.integers(0, 5)) == 0:
        case.message_id = draw(shortstrs)
    return case


# -- the test --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy() as tcp:
        yield tcp


@pytest.fixture(scope="module")
def worker(module_queue: str, proxy: TcpProxy) -> Iterator[leveret.Worker]:
    with leveret.Worker(
        FuzzEcho(), url=proxy.url(), queue=module_queue, max_message_size=MAX_MESSAGE_SIZE
    ) as running:
        yield running


@pytest.fixture(scope="module")
def peer(amqp_url: str, module_queue: str, worker: leveret.Worker) -> Iterator[Peer]:
    raw = Peer(amqp_url, module_queue)
    yield raw
    raw.close()


def _send(peer: Peer, case: Case) -> None:
    reply_to = {"ours": peer.reply_queue, "absent": None, "empty": ""}.get(
        case.reply_to, case.reply_to
    )
    headers = case.raw_headers
    if headers is None and case.headers is not None:
        headers = encode_table(case.headers)
    peer.send(
        case.body,
        content_type=case.content_type,
        content_encoding=case.content_encoding,
        headers=headers,
        correlation_id=case.correlation_id,
        reply_to=None if reply_to is None else reply_to.encode(),
        expiration=case.expiration,
        message_id=case.message_id,
        type_=case.method,
    )


def _good_call(peer: Peer) -> None:
    token = uuid.uuid4().hex
    cid = f"good-{token}".encode()
    peer.send(
        json.dumps({"text": token}).encode(),
        content_type=b"application/json",
        correlation_id=cid,
        reply_to=peer.reply_queue.encode(),
        type_=b"echo",
    )
    reply = peer.wait(cid, BOUND)
    assert reply is not None, f"stall: the good call after the case got no reply in {BOUND} s"
    assert reply.status == "OK" and json.loads(reply.body)["text"] == token, reply


def check_case(peer: Peer, proxy: TcpProxy, case: Case) -> None:
    peer.seen.clear()
    _send(peer, case)
    allowed = expected(case)
    if allowed is not None:
        assert case.correlation_id is not None
        reply = peer.wait(case.correlation_id, BOUND)
        assert reply is not None, f"stall: no reply in {BOUND} s, expected one of {set(allowed)}"
        assert reply.status in allowed, (reply.status, reply.body[:300], set(allowed))
        event(f"answered {reply.status}")
        if reply.status != "OK":
            error = json.loads(reply.body)
            assert error["code"] == reply.status and isinstance(error["message"], str), error
    else:
        event("not answered")
    _good_call(peer)
    # The worker answers in order (one handler at a time): anything for the case is in by now.
    extra = [s for s in peer.seen if not (s.correlation_id or b"").startswith(b"good-")]
    assert len(extra) == (allowed is not None), f"unexpected replies: {extra}"
    assert proxy.accepted == 1, "the worker lost its connection"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(case=cases())
def test_hostile_requests(peer: Peer, proxy: TcpProxy, worker: leveret.Worker, case: Case) -> None:
    check_case(peer, proxy, case)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(
    peer: Peer, proxy: TcpProxy, worker: leveret.Worker, token: str
) -> None:
    """JSON forbids NaN and Infinity though Python (and pydantic) read them (issue 10 s. 5)."""
    cid = uuid.uuid4().hex.encode()
    peer.seen.clear()
    peer.send(
        f'{{"text":"a","delay":{token}}}'.encode(),
        content_type=b"application/json",
        correlation_id=cid,
        reply_to=peer.reply_queue.encode(),
        type_=b"echo",
    )
    reply = peer.wait(cid, BOUND)
    _good_call(peer)
    assert reply is not None, "no reply"
    assert reply.status == "INVALID_ARGUMENT", (reply.status, reply.body)
