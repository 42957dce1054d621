"""Hostile replies to a leveret client on the real broker (issue 10, section 5).

A rogue worker (raw pika, frames written byte by byte) consumes the service's queue and answers
each call with what Hypothesis makes: replies with the right, a wrong, a non-UTF-8, an empty or
no correlation id, any ``rpc-status`` (known names, unknown ones, of every AMQP type, none, an
undecodable header table), bodies that are random, truncated, deep, huge, not JSON, JSON of the
wrong shape or NaN, any content type, and late duplicates. The properties, for every example:

- the call ends by its deadline (plus a second's slack), never hangs;
- it returns a response only for a well-formed ``OK`` reply, and raises an ``RpcError``
  subclass otherwise: the class the first reply carrying its correlation id stands for
  (docs/wire-protocol.md section 4), ``DeadlineExceeded`` when none does;
- the client's connection survives (it connects through a proxy that counts connections) and
  the next good call works.
"""

from __future__ import annotations

import asyncio
import json
import math
import queue as queue_module
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pika
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import leveret
from leveret._status import StatusCode
from tests.fuzz.conftest import EXAMPLES
from tests.fuzz.test_fuzz_worker import json_values
from tests.support.amqp_raw import Field, content_frames, encode_table
from tests.support.echo import AsyncEchoClient, EchoClient, EchoReply
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.integration

SLACK = 1.0  # seconds a call may take past its deadline (scheduling on a loaded machine)
BIG = 600_000  # bytes of the largest reply body sent


@dataclass
class Reply:
    cid: str  # "right", "absent", "empty", or a kind of wrong one
    status: Any  # a header value (str, Field, ...) or ABSENT
    body: bytes
    content_type: bytes | None = b"application/json"
    undecodable: bool = False


ABSENT = object()


class Rogue:
    """Consumes the queue and answers each request with the replies planned for it."""

    def __init__(self, url: str, queue: str) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.ch.queue_declare(queue, durable=True)
        self.plans: queue_module.Queue[list[Reply]] = queue_module.Queue()
        self.errors: list[BaseException] = []
        self._stop = False
        self.ch.basic_consume(queue, self._on_request)
        self._thread = threading.Thread(target=self._run, name="rogue", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop:
                self.conn.process_data_events(time_limit=0.05)
        except BaseException as exc:  # surfaced by the test: a dead rogue fails every call
            self.errors.append(exc)

    def _on_request(self, ch: Any, method: Any, props: Any, body: bytes) -> None:
        try:
            plan = self.plans.get_nowait()
        except queue_module.Empty:
            plan = []
        right = props.correlation_id
        right = right.encode() if isinstance(right, str) else right
        for reply in plan:
            self._publish(props.reply_to, right, body, reply)
        ch.basic_ack(method.delivery_tag)

    def _publish(self, reply_to: str, right: bytes, request: bytes, reply: Reply) -> None:
        cid = {
            "right": right,
            "absent": None,
            "empty": b"",
            "other": uuid.uuid4().hex.encode(),
            "prefix": right[:-1],
            "suffix": right + b"0",
            "upper": right.upper(),
            "binary": b"\xff\xfe" + right[2:],
        }[reply.cid]
        if reply.undecodable:
            headers: bytes | None = encode_table(
                {"rpc-status": "OK", "sent-at": Field(b"T", struct.pack(">Q", 2**62))}
            )
        elif reply.status is ABSENT:
            headers = None
        else:
            headers = encode_table({"rpc-status": reply.status})
        body = reply.body.replace(b"@TEXT@", json.loads(request)["text"].encode())
        data = content_frames(
            self.ch.channel_number,
            self.conn._impl.params.frame_max,
            reply_to.encode(),
            body,
            content_type=reply.content_type,
            headers=headers,
            correlation_id=cid,
        )
        self.conn._impl._output_marshaled_frames([data])

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        self.conn.close()


# -- what the client must make of a reply ----------------------------------------------------

GENUINE = Reply("right", "OK", b'{"text":"@TEXT@","worker":"rogue"}')
STATUS_NAMES = [code.name for code in StatusCode]


def outcome(replies: list[Reply]) -> tuple[str, frozenset[str]]:
    """("reply", {...}) when the call returns, ("error", {status names}) when it raises."""
    first = next((r for r in replies if r.cid == "right"), None)
    if first is None:
        return "error", frozenset({"DEADLINE_EXCEEDED"})
    if first.undecodable:
        return "error", frozenset({"INTERNAL"})
    exhausted = {"RESOURCE_EXHAUSTED"} if len(first.body) > 4 << 20 else set()
    status = first.status
    if isinstance(status, bytes):  # an AMQP byte array: read as ASCII (section 4)
        status = status.decode("ascii", "replace")
    if status == "OK":
        try:
            response = EchoReply.model_validate_json(first.body, strict=True)
        except ValidationError:
            return "error", frozenset({"INTERNAL"} | exhausted)
        if response.remaining is not None and not math.isfinite(response.remaining):
            return "either", frozenset({"INTERNAL"})  # NaN: refusing it would be right too
        return "reply", frozenset()
    code = status if isinstance(status, str) and status in STATUS_NAMES else "UNKNOWN"
    return "error", frozenset({code} | exhausted)


# -- strategies ------------------------------------------------------------------------------


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(
        st.sampled_from(
            ["genuine", "error", "json", "bytes", "truncated", "deep", "nan", "big", "wrong-type"]
        )
    )
    if kind == "genuine":
        return GENUINE.body
    if kind == "error":
        error = {
            "code": draw(st.sampled_from(STATUS_NAMES) | st.text(max_size=10) | json_values),
            "message": draw(st.text(max_size=50) | json_values),
            "error": draw(st.none() | st.sampled_from(["TooLoud", "Nope"]) | json_values),
            "details": draw(json_values),
        }
        keys = draw(st.sets(st.sampled_from(list(error))))
        return json.dumps({k: error[k] for k in keys}).encode()
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "truncated":
        return GENUINE.body[: draw(st.integers(0, len(GENUINE.body) - 1))]
    if kind == "deep":
        depth = draw(st.sampled_from([100, 201, 1000, 100_000]))
        return ('{"text":' + "[" * depth + "]" * depth + "}").encode()
    if kind == "nan":
        token = draw(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400"]))
        return f'{{"text":"@TEXT@","remaining":{token}}}'.encode()
    if kind == "big":
        return json.dumps({"text": "x" * draw(st.sampled_from([1000, BIG]))}).encode()
    return json.dumps({"text": draw(json_values), "worker": draw(json_values)}).encode()


statuses = (
    st.sampled_from(STATUS_NAMES)
    | st.sampled_from(["ok", "Ok", "", "OK ", "INTERNAL\x00", "BOGUS"])
    | st.just(ABSENT)
    | st.sampled_from([0, 13, True, None, b"OK", [b"OK"], {"code": "OK"}, 1.5])
    | st.just(Field(b"S", struct.pack(">I", 2) + b"\xff\xfe"))
    | st.text(max_size=20)
)


cids = st.sampled_from(
    ["right"] * 8 + ["absent", "empty", "other", "prefix", "suffix", "upper", "binary"]
)
content_types = st.sampled_from(
    [b"application/json", None, b"application/x-pickle", b"text/plain", b"\xff"]
)


@st.composite
def hostile_replies(draw: st.DrawFn) -> Reply:
    if draw(st.integers(0, 2)) == 0:  # a genuine reply with one thing wrong (or none)
        reply = Reply(GENUINE.cid, GENUINE.status, GENUINE.body)
        what = draw(st.sampled_from(["nothing", "cid", "status", "body", "content_type"]))
        if what == "cid":
            reply.cid = draw(cids)
        elif what == "status":
            reply.status = draw(statuses)
        elif what == "body":
            reply.body = draw(bodies())
        elif what == "content_type":
            reply.content_type = draw(content_types)
        return reply
    return Reply(
        cid=draw(cids),
        status=draw(statuses),
        body=draw(bodies()),
        content_type=draw(content_types),
        undecodable=draw(st.integers(0, 14)) == 0,
    )


plans = st.lists(hostile_replies(), min_size=0, max_size=3)


# -- the test --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy() -> Iterator[TcpProxy]:
    with TcpProxy() as tcp:
        yield tcp


@pytest.fixture(scope="module")
def rogue(amqp_url: str, module_queue: str) -> Iterator[Rogue]:
    worker = Rogue(amqp_url, module_queue)
    yield worker
    worker.close()


@pytest.fixture(scope="module")
def client(proxy: TcpProxy, module_queue: str, rogue: Rogue) -> Iterator[EchoClient]:
    with EchoClient.connect(proxy.url(), queue=module_queue) as connected:
        yield connected


#: How a test makes one echo call: (text, timeout) -> EchoReply, or raise.
Invoke = Callable[[str, float], Any]


def _call(invoke: Invoke, rogue: Rogue, plan: list[Reply], timeout: float) -> Any:
    rogue.plans.put(plan)
    token = uuid.uuid4().hex
    started = time.monotonic()
    try:
        result: Any = invoke(token, timeout)
    except leveret.RpcError as exc:
        result = exc
    elapsed = time.monotonic() - started
    assert elapsed <= timeout + SLACK, f"the call took {elapsed:.2f} s, deadline {timeout} s"
    assert not rogue.errors, rogue.errors
    return result, token


def check_plan(invoke: Invoke, proxy: TcpProxy, rogue: Rogue, plan: list[Reply]) -> None:
    kind, codes = outcome(plan)
    timeout = 0.2 if codes == {"DEADLINE_EXCEEDED"} else 5.0
    result, _token = _call(invoke, rogue, plan, timeout)
    if isinstance(result, leveret.RpcError):
        event(f"raised {result.status.name}")
        assert kind in ("error", "either"), f"raised {result!r} for a good reply"
        if kind != "either":
            assert result.status.name in codes, (result.status.name, set(codes), result)
    else:
        event("returned")
        assert kind in ("reply", "either"), f"returned {result!r}, expected one of {set(codes)}"
        assert isinstance(result, EchoReply)
    # The next good call works, on the same connection.
    good, token = _call(invoke, rogue, [GENUINE], 5.0)
    assert isinstance(good, EchoReply) and good.text == token, good
    assert proxy.accepted == 1, "the client lost its connection"


@pytest.fixture(scope="module")
def async_proxy() -> Iterator[TcpProxy]:
    with TcpProxy() as tcp:
        yield tcp


@pytest.fixture(scope="module")
def async_invoke(async_proxy: TcpProxy, module_queue: str, rogue: Rogue) -> Iterator[Invoke]:
    """An asyncio client on a loop of its own, driven one call at a time."""
    loop = asyncio.new_event_loop()

    async def connect() -> AsyncEchoClient:
        return await AsyncEchoClient.connect(async_proxy.url(), queue=module_queue)

    client = loop.run_until_complete(connect())

    def invoke(text: str, timeout: float) -> EchoReply:
        return loop.run_until_complete(client.echo(text=text, timeout=timeout))

    yield invoke
    loop.run_until_complete(client.close())
    loop.close()


def _sync_invoke(client: EchoClient) -> Invoke:
    return lambda text, timeout: client.echo(text=text, timeout=timeout)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(plan=plans)
def test_hostile_replies(
    client: EchoClient, proxy: TcpProxy, rogue: Rogue, plan: list[Reply]
) -> None:
    check_plan(_sync_invoke(client), proxy, rogue, plan)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(plan=plans)
def test_hostile_replies_async(
    async_invoke: Invoke, async_proxy: TcpProxy, rogue: Rogue, plan: list[Reply]
) -> None:
    check_plan(async_invoke, async_proxy, rogue, plan)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_a_reply_are_refused(
    client: EchoClient, proxy: TcpProxy, rogue: Rogue, token: str
) -> None:
    body = f'{{"text":"t","remaining":{token}}}'.encode()
    rogue.plans.put([Reply("right", "OK", body)])
    with pytest.raises(leveret.Internal):
        client.echo(text="t", timeout=5.0)


def test_deeply_nested_error_body_raises_an_rpc_error(
    client: EchoClient, proxy: TcpProxy, rogue: Rogue
) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    rogue.plans.put([Reply("right", "FAILED_PRECONDITION", body)])
    with pytest.raises(leveret.FailedPrecondition):
        client.echo(text="t", timeout=5.0)
