"""A small numeric service and a raw pika server, for the wire protocol tests of issue 16."""

from __future__ import annotations

import abc
import json
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import pika
from pydantic import BaseModel

import leveret
from leveret import CallContext, MethodSpec, ServiceSpec


class AddRequest(BaseModel):
    a: float
    b: float


class AddReply(BaseModel):
    value: float


class Point(BaseModel):
    x: float
    y: float


class ShapeRequest(BaseModel):
    points: list[Point]
    label: str = ""


class SeenReply(BaseModel):
    """What the handler saw of its call: the attempt, the raw header, the correlation id."""

    attempt: int
    header: Any = None
    correlation_id: str = ""
    deadline: float | None = None


class Empty(BaseModel):
    pass


ADD: MethodSpec[AddRequest, AddReply] = MethodSpec(
    name="add", python_name="add", request=AddRequest, response=AddReply, timeout=5.0
)
SHAPE: MethodSpec[ShapeRequest, AddReply] = MethodSpec(
    name="shape", python_name="shape", request=ShapeRequest, response=AddReply, timeout=5.0
)
#: Idempotent: answers UNAVAILABLE to the first two attempts of a call, so the client retries.
FLAKY: MethodSpec[Empty, SeenReply] = MethodSpec(
    name="flaky",
    python_name="flaky",
    request=Empty,
    response=SeenReply,
    timeout=10.0,
    idempotent=True,
)
SEEN: MethodSpec[Empty, SeenReply] = MethodSpec(
    name="seen", python_name="seen", request=Empty, response=SeenReply, timeout=5.0
)
SERVICE = ServiceSpec(
    name="Numbers", queue="leveret.test.Numbers", methods=(ADD, SHAPE, FLAKY, SEEN), package="n"
)


class NumbersClient(leveret.Client):
    service: ClassVar[ServiceSpec] = SERVICE

    def add(self, *, a: Any, b: Any, timeout: leveret.Timeout = leveret.DEFAULT) -> AddReply:
        return self._call(ADD, {"a": a, "b": b}, timeout)

    def shape(self, *, points: Any, timeout: leveret.Timeout = leveret.DEFAULT) -> AddReply:
        return self._call(SHAPE, {"points": points}, timeout)

    def flaky(self, *, timeout: leveret.Timeout = leveret.DEFAULT) -> SeenReply:
        return self._call(FLAKY, {}, timeout)


class AsyncNumbersClient(leveret.AsyncClient):
    service: ClassVar[ServiceSpec] = SERVICE

    async def add(self, *, a: Any, b: Any, timeout: leveret.Timeout = leveret.DEFAULT) -> AddReply:
        return await self._call(ADD, {"a": a, "b": b}, timeout)

    async def flaky(self, *, timeout: leveret.Timeout = leveret.DEFAULT) -> SeenReply:
        return await self._call(FLAKY, {}, timeout)


class NumbersServicer(leveret.Servicer):
    service: ClassVar[ServiceSpec] = SERVICE

    @abc.abstractmethod
    def add(self, request: AddRequest, context: CallContext) -> AddReply: ...

    @abc.abstractmethod
    def shape(self, request: ShapeRequest, context: CallContext) -> AddReply: ...

    @abc.abstractmethod
    def flaky(self, request: Empty, context: CallContext) -> SeenReply: ...

    @abc.abstractmethod
    def seen(self, request: Empty, context: CallContext) -> SeenReply: ...


class Numbers(NumbersServicer):
    """``add`` adds (1e308 + 1e308 is infinity), ``shape`` sums the coordinates (a NaN among
    them too), ``flaky`` fails twice per caller then answers, ``seen`` tells what it saw."""

    def __init__(self) -> None:
        self.requests: list[AddRequest] = []
        self.seen_calls: list[SeenReply] = []
        self.lock = threading.Lock()

    def add(self, request: AddRequest, context: CallContext) -> AddReply:
        with self.lock:
            self.requests.append(request)
        return AddReply(value=request.a + request.b)

    def shape(self, request: ShapeRequest, context: CallContext) -> AddReply:
        return AddReply(value=sum(p.x + p.y for p in request.points))

    def _saw(self, context: CallContext) -> SeenReply:
        seen = SeenReply(
            attempt=context.attempt,
            header=context.headers.get("rpc-attempt"),
            correlation_id=context.correlation_id,
            deadline=context.deadline,
        )
        with self.lock:
            self.seen_calls.append(seen)
        return seen

    def flaky(self, request: Empty, context: CallContext) -> SeenReply:
        seen = self._saw(context)
        if context.attempt < 2:
            raise leveret.Unavailable("warming up")
        return seen

    def seen(self, request: Empty, context: CallContext) -> SeenReply:
        return self._saw(context)


Answer = Callable[[Any, bytes], "tuple[str, bytes, str | None, float] | None"]


class RawServer:
    """A plain pika server on its own thread: ``answer(properties, body)`` gives ``(status,
    body, content_type, delay)`` for each request (or None: no reply); the reply goes out
    ``delay`` seconds later, from the connection's own thread. ``sent`` counts replies sent."""

    def __init__(self, url: str, queue: str, answer: Answer) -> None:
        self.url, self.queue, self.answer = url, queue, answer
        self.sent = 0
        self.received: list[Any] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the raw server did not start"

    def _run(self) -> None:
        conn = pika.BlockingConnection(pika.URLParameters(self.url))
        ch = conn.channel()
        ch.queue_declare(self.queue, durable=True)

        def on_request(ch_: Any, method: Any, props: Any, body: bytes) -> None:
            self.received.append(props)
            ch_.basic_ack(method.delivery_tag)
            answer = self.answer(props, body)
            if answer is None:
                return
            status, out, content_type, delay = answer

            def send() -> None:
                ch.basic_publish(
                    "",
                    props.reply_to,
                    out,
                    pika.BasicProperties(
                        content_type=content_type,
                        correlation_id=props.correlation_id,
                        headers={"rpc-status": status},
                    ),
                )
                self.sent += 1

            if delay:
                conn.call_later(delay, send)
            else:
                send()

        ch.basic_consume(self.queue, on_request)
        self._ready.set()
        try:
            while not self._stop.is_set():
                conn.process_data_events(time_limit=0.05)
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


def ok(
    value: object, content_type: str | None = "application/json"
) -> tuple[str, bytes, Any, float]:
    return "OK", json.dumps(value).encode(), content_type, 0.0


def status(code: str, message: str = "x") -> tuple[str, bytes, Any, float]:
    body = {"code": code, "message": message, "error": None, "details": None}
    return code, json.dumps(body).encode(), "application/json", 0.0


def new_queue() -> str:
    return f"leveret.test.raw.{uuid.uuid4().hex[:12]}"
