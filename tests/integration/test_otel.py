"""OpenTelemetry middleware against the real broker: one trace across a nested call, statuses,
retries, and the trace headers' way through the wire."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import BaseModel

import leveret
from leveret import CallContext, CallInfo
from leveret.otel import ATTRIBUTES, SEMCONV_VERSION, OpenTelemetry
from leveret.pytest_plugin import SpanRecorder
from tests.support.echo import (
    AsyncEcho,
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
    EchoRequest,
)

pytestmark = pytest.mark.integration

ECHO = "echo.Echo/echo"
ADD = "echo.Echo/add"


@pytest.fixture
def queue2(amqp_url: str) -> Iterator[str]:
    """A second fresh queue, for the worker the first one's handler calls."""
    import pika

    name = f"leveret.test.{uuid.uuid4().hex[:12]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        conn.channel().queue_delete(name)
    finally:
        conn.close()


class Front(Echo):
    """``echo`` calls ``add`` on the second worker, through a client that traces too."""

    def __init__(self, inner: EchoClient) -> None:
        super().__init__("front")
        self.inner = inner

    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        total = self.inner.add(a=2, b=3).sum
        return EchoReply(text=f"{request.text}:{total}", worker="front")


class AsyncFront(AsyncEcho):
    def __init__(self, inner: AsyncEchoClient) -> None:
        super().__init__("front")
        self.inner = inner

    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        total = (await self.inner.add(a=2, b=3)).sum
        return EchoReply(text=f"{request.text}:{total}", worker="front")


class AsyncFrontPlain(AsyncEcho):
    """An asyncio servicer's plain handler: the worker runs it on a thread."""

    def __init__(self, inner: EchoClient) -> None:
        super().__init__("front")
        self.inner = inner

    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:  # type: ignore[override]
        total = self.inner.add(a=2, b=3).sum
        return EchoReply(text=f"{request.text}:{total}", worker="front")


def _nested(mode: str, amqp_url: str, queue: str, queue2: str, spans: SpanRecorder) -> str:
    """client -> worker on ``queue`` -> (in the handler) client -> worker on ``queue2``."""
    otel = OpenTelemetry(tracer_provider=spans.tracer_provider)
    chain: list[leveret.Middleware] = [otel]
    if mode in ("inline", "threads"):
        with (
            leveret.Worker(Echo(), url=amqp_url, queue=queue2, middleware=chain),
            EchoClient.connect(amqp_url, queue=queue2, middleware=chain) as inner,
            leveret.Worker(
                Front(inner),
                url=amqp_url,
                queue=queue,
                middleware=chain,
                inline=mode == "inline",
                concurrency=1 if mode == "inline" else 2,
            ),
            EchoClient.connect(amqp_url, queue=queue, middleware=chain) as client,
        ):
            return client.echo(text="hi").text
    if mode == "async-plain":
        with (
            leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue2, middleware=chain),
            EchoClient.connect(amqp_url, queue=queue2, middleware=chain) as inner,
            leveret.Worker(AsyncFrontPlain(inner), url=amqp_url, queue=queue, middleware=chain),
            EchoClient.connect(amqp_url, queue=queue, middleware=chain) as client,
        ):
            return client.echo(text="hi").text

    async def serve_front() -> str:
        # The front worker serves on this loop, so that its handler's client can be this
        # loop's too.
        async with AsyncEchoClient.connect(amqp_url, queue=queue2, middleware=chain) as inner:
            worker = leveret.Worker(AsyncFront(inner), url=amqp_url, queue=queue, middleware=chain)
            async with (
                worker,
                AsyncEchoClient.connect(amqp_url, queue=queue, middleware=chain) as client,
            ):
                return (await client.echo(text="hi")).text

    with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue2, middleware=chain):
        return asyncio.run(serve_front())


def _one(spans: list[ReadableSpan], name: str, kind: SpanKind) -> ReadableSpan:
    found = [span for span in spans if span.name == name and span.kind == kind]
    assert len(found) == 1, [(span.name, span.kind) for span in spans]
    return found[0]


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


@pytest.mark.parametrize("mode", ["inline", "threads", "async", "async-plain"])
def test_a_nested_call_is_one_trace(
    amqp_url: str, queue: str, queue2: str, leveret_spans: SpanRecorder, mode: str
) -> None:
    assert _nested(mode, amqp_url, queue, queue2, leveret_spans) == "hi:5"
    spans = leveret_spans.wait_for(4)
    assert len(spans) == 4, [span.name for span in spans]
    client_echo = _one(spans, ECHO, SpanKind.CLIENT)
    server_echo = _one(spans, ECHO, SpanKind.SERVER)
    client_add = _one(spans, ADD, SpanKind.CLIENT)
    server_add = _one(spans, ADD, SpanKind.SERVER)
    assert client_echo.parent is None
    assert _parent_id(server_echo) == client_echo.context.span_id
    assert server_echo.parent is not None and server_echo.parent.is_remote
    assert _parent_id(client_add) == server_echo.context.span_id  # the handler's context
    assert _parent_id(server_add) == client_add.context.span_id
    assert {span.context.trace_id for span in spans} == {client_echo.context.trace_id}
    for span in spans:
        assert span.status.status_code is StatusCode.UNSET
        attributes = dict(span.attributes or {})
        assert attributes["rpc.system.name"] == "leveret"
        assert attributes["rpc.method"] == span.name
        assert attributes["rpc.response.status_code"] == "OK"
        assert attributes["messaging.system"] == "rabbitmq"
        assert "error.type" not in attributes
        assert "leveret.attempt" not in attributes
        assert span.instrumentation_scope is not None
        assert span.instrumentation_scope.schema_url.endswith(SEMCONV_VERSION)
    assert client_echo.attributes is not None and server_echo.attributes is not None
    assert client_echo.attributes["messaging.destination.name"] == queue
    assert server_add.attributes is not None
    assert server_add.attributes["messaging.destination.name"] == queue2
    # The same call on both sides: the correlation id is the conversation id.
    conversation = "messaging.message.conversation_id"
    assert client_echo.attributes[conversation] == server_echo.attributes[conversation]
    assert client_add.attributes is not None
    assert client_add.attributes[conversation] == server_add.attributes[conversation]
    assert client_echo.attributes[conversation] != client_add.attributes[conversation]


def _fail(flavour: str, amqp_url: str, queue: str, kind: str, otel: OpenTelemetry) -> Any:
    if flavour == "sync":
        with (
            leveret.Worker(Echo(), url=amqp_url, queue=queue, middleware=[otel]),
            EchoClient.connect(amqp_url, queue=queue, middleware=[otel]) as client,
        ):
            with pytest.raises(leveret.RpcError) as caught:
                client.fail(kind=kind)
            return caught.value

    async def main() -> Any:
        async with AsyncEchoClient.connect(amqp_url, queue=queue, middleware=[otel]) as c:
            with pytest.raises(leveret.RpcError) as caught:
                await c.fail(kind=kind)
            return caught.value

    with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue, middleware=[otel]):
        return asyncio.run(main())


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_declared_error_fails_the_client_span_not_the_server_span(
    amqp_url: str, queue: str, leveret_spans: SpanRecorder, flavour: str
) -> None:
    otel = OpenTelemetry(tracer_provider=leveret_spans.tracer_provider)
    error = _fail(flavour, amqp_url, queue, "declared", otel)
    assert error.status.name == "FAILED_PRECONDITION"
    spans = leveret_spans.wait_for(2)
    client = _one(spans, "echo.Echo/fail", SpanKind.CLIENT)
    server = _one(spans, "echo.Echo/fail", SpanKind.SERVER)
    assert client.status.status_code is StatusCode.ERROR
    assert client.status.description == "FAILED_PRECONDITION: too loud"
    assert client.attributes is not None and server.attributes is not None
    assert client.attributes["error.type"] == "FAILED_PRECONDITION"
    assert client.attributes["rpc.response.status_code"] == "FAILED_PRECONDITION"
    # An answer the server gave as designed: not a server failure (the gRPC conventions).
    assert server.status.status_code is StatusCode.UNSET
    assert server.attributes["rpc.response.status_code"] == "FAILED_PRECONDITION"
    assert "error.type" not in server.attributes
    assert _parent_id(server) == client.context.span_id


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_handler_crash_fails_both_spans_as_internal(
    amqp_url: str, queue: str, leveret_spans: SpanRecorder, flavour: str
) -> None:
    otel = OpenTelemetry(tracer_provider=leveret_spans.tracer_provider)
    error = _fail(flavour, amqp_url, queue, "plain", otel)
    assert isinstance(error, leveret.Internal)
    spans = leveret_spans.wait_for(2)
    client = _one(spans, "echo.Echo/fail", SpanKind.CLIENT)
    server = _one(spans, "echo.Echo/fail", SpanKind.SERVER)
    for span in (client, server):
        assert span.status.status_code is StatusCode.ERROR
        assert span.attributes is not None
        assert span.attributes["error.type"] == "INTERNAL"
        assert span.attributes["rpc.response.status_code"] == "INTERNAL"
    # The server span keeps the exception (the worker's trace backend is the one to see it).
    assert [event.name for event in server.events] == ["exception"]
    assert server.events[0].attributes is not None
    assert server.events[0].attributes["exception.type"] == "RuntimeError"


class _FlakyOnce(leveret.Middleware):
    """Fails each call's first attempt with UNAVAILABLE, as a lost connection would."""

    def _check(self, call: CallInfo) -> None:
        if call.attempt == 0:
            raise leveret.Unavailable("not yet")

    def intercept(self, call: CallInfo, call_next: Callable[[CallInfo], BaseModel]) -> BaseModel:
        self._check(call)
        return call_next(call)

    async def intercept_async(self, call: CallInfo, call_next: Any) -> BaseModel:
        self._check(call)
        result: BaseModel = await call_next(call)
        return result


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_each_attempt_of_a_retried_call_is_a_span(
    amqp_url: str, queue: str, leveret_spans: SpanRecorder, flavour: str
) -> None:
    otel = OpenTelemetry(tracer_provider=leveret_spans.tracer_provider)
    client_chain: list[leveret.Middleware] = [otel, _FlakyOnce()]
    tracer = leveret_spans.tracer_provider.get_tracer("test")
    if flavour == "sync":
        with (
            leveret.Worker(Echo(), url=amqp_url, queue=queue, middleware=[otel]),
            EchoClient.connect(amqp_url, queue=queue, middleware=client_chain) as client,
            tracer.start_as_current_span("caller"),
        ):
            assert client.add(a=1, b=1).sum == 2
    else:

        async def main() -> int:
            async with AsyncEchoClient.connect(
                amqp_url, queue=queue, middleware=client_chain
            ) as client:
                with tracer.start_as_current_span("caller"):
                    return (await client.add(a=1, b=1)).sum

        with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue, middleware=[otel]):
            assert asyncio.run(main()) == 2
    spans = leveret_spans.wait_for(4)
    caller = _one(spans, "caller", SpanKind.INTERNAL)
    attempts = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert len(attempts) == 2
    first, second = sorted(attempts, key=lambda span: span.start_time or 0)
    assert _parent_id(first) == _parent_id(second) == caller.context.span_id
    assert first.attributes is not None and second.attributes is not None
    assert first.status.status_code is StatusCode.ERROR
    assert first.attributes["error.type"] == "UNAVAILABLE"
    assert "leveret.attempt" not in first.attributes
    assert second.status.status_code is StatusCode.UNSET
    assert second.attributes["leveret.attempt"] == 1
    conversation = "messaging.message.conversation_id"
    assert first.attributes[conversation] != second.attributes[conversation]
    server = _one(spans, ADD, SpanKind.SERVER)
    assert _parent_id(server) == second.context.span_id
    assert server.attributes is not None and server.attributes["leveret.attempt"] == 1


class _Headers(leveret.Middleware):
    """Sets ``headers`` on a client call; keeps what a worker's chain saw."""

    def __init__(self, headers: dict[str, Any]) -> None:
        self.headers = headers
        self.seen: list[dict[str, str]] = []

    def intercept(self, call: CallInfo, call_next: Callable[[CallInfo], BaseModel]) -> BaseModel:
        if call.side == "client":
            call.headers.update(self.headers)  # type: ignore[union-attr]
        else:
            self.seen.append(dict(call.headers))
        return call_next(call)


def test_trace_headers_travel_and_nothing_else_may_be_set(amqp_url: str, queue: str) -> None:
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    server = _Headers({})
    with leveret.Worker(Echo(), url=amqp_url, queue=queue, middleware=[server]):
        with EchoClient.connect(
            amqp_url, queue=queue, middleware=[_Headers({"traceparent": traceparent})]
        ) as client:
            assert client.add(a=1, b=2).sum == 3
        assert server.seen == [{"traceparent": traceparent}]
        for bad in ({"x-b3-traceid": "1"}, {"baggage": "a\nb"}, {"tracestate": 3}):
            with (
                EchoClient.connect(amqp_url, queue=queue, middleware=[_Headers(bad)]) as client,
                pytest.raises(leveret.InvalidArgument, match="header"),
            ):
                client.add(a=1, b=2)
    assert len(server.seen) == 1  # the refused calls were never sent


def test_a_garbage_traceparent_starts_a_new_trace(
    amqp_url: str, queue: str, leveret_spans: SpanRecorder
) -> None:
    """A peer's bad trace header is advice ignored, never a failed call."""
    otel = OpenTelemetry(tracer_provider=leveret_spans.tracer_provider)
    with (
        leveret.Worker(Echo(), url=amqp_url, queue=queue, middleware=[otel]),
        EchoClient.connect(
            amqp_url, queue=queue, middleware=[_Headers({"traceparent": "00-zz-zz-01"})]
        ) as client,
    ):
        assert client.add(a=1, b=2).sum == 3
    (server,) = leveret_spans.wait_for(1)
    assert server.kind is SpanKind.SERVER and server.parent is None


def test_an_untraced_request_starts_a_new_trace_whatever_span_is_current(
    amqp_url: str, queue: str, leveret_spans: SpanRecorder
) -> None:
    """An asyncio worker's tasks inherit the context ``serve()`` was awaited in: a request
    without trace headers must still start its own trace, not join the span that happens to be
    current there (review r8 D1)."""
    tracer = leveret_spans.tracer_provider.get_tracer("app")
    otel = OpenTelemetry(tracer_provider=leveret_spans.tracer_provider)

    async def main() -> None:
        worker = leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue, middleware=[otel])
        with tracer.start_as_current_span("app-lifespan"):
            async with worker, AsyncEchoClient.connect(amqp_url, queue=queue) as client:
                assert (await client.add(a=1, b=2)).sum == 3

    asyncio.run(main())
    spans = leveret_spans.wait_for(2)
    lifespan = _one(spans, "app-lifespan", SpanKind.INTERNAL)
    server = _one(spans, ADD, SpanKind.SERVER)
    assert server.parent is None
    assert server.context.trace_id != lifespan.context.trace_id


def test_every_attribute_name_is_in_the_table() -> None:
    names = set(ATTRIBUTES.values())
    assert names == {
        "rpc.system.name",
        "rpc.method",
        "rpc.response.status_code",
        "error.type",
        "messaging.system",
        "messaging.destination.name",
        "messaging.message.conversation_id",
        "leveret.attempt",
    }


def test_opentelemetry_is_imported_only_by_leveret_otel() -> None:
    """Neither ``import leveret`` nor the pytest plugin (loaded in every session) imports it."""
    code = (
        "import sys, leveret, leveret.pytest_plugin as plugin\n"
        "assert plugin._has_otel_sdk()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))\n"
        "import leveret.otel\n"
        "print('opentelemetry.trace' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True"], result.stdout + result.stderr
