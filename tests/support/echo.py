"""A hand-written service in the shape the generator emits, for runtime tests.

Runtime tests use it so they do not depend on the generator; tests/functional and the golden
tests cover generated code.
"""

from __future__ import annotations

import abc
import asyncio
import os
import threading
import time
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

import leveret
from leveret import CallContext, MethodSpec, ServiceSpec

QUEUE = "leveret.test.Echo"


class EchoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, Field(max_length=100)]
    delay: float = 0.0


class EchoReply(BaseModel):
    text: str
    worker: str = ""
    remaining: float | None = None


class AddRequest(BaseModel):
    a: int
    b: int


class AddReply(BaseModel):
    sum: int


class FailRequest(BaseModel):
    kind: Literal["declared", "plain", "status", "bad-response"]


class TooLoudDetails(BaseModel):
    limit: int


class TooLoud(leveret.FailedPrecondition):
    """The text was too loud."""

    error_name: ClassVar[str | None] = "TooLoud"
    details_model: ClassVar[type[BaseModel] | None] = TooLoudDetails
    details: TooLoudDetails

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message, TooLoudDetails(limit=limit))


ECHO: MethodSpec[EchoRequest, EchoReply] = MethodSpec(
    name="echo", python_name="echo", request=EchoRequest, response=EchoReply, timeout=5.0
)
ADD: MethodSpec[AddRequest, AddReply] = MethodSpec(
    name="add",
    python_name="add",
    request=AddRequest,
    response=AddReply,
    timeout=5.0,
    idempotent=True,
)
FAIL: MethodSpec[FailRequest, EchoReply] = MethodSpec(
    name="fail",
    python_name="fail",
    request=FailRequest,
    response=EchoReply,
    errors=(TooLoud,),
    timeout=5.0,
)
SERVICE = ServiceSpec(name="Echo", queue=QUEUE, methods=(ECHO, ADD, FAIL), package="echo")


class EchoClient(leveret.Client):
    service: ClassVar[ServiceSpec] = SERVICE

    def echo(
        self, *, text: str, delay: float = 0.0, timeout: leveret.Timeout = leveret.DEFAULT
    ) -> EchoReply:
        return self._call(ECHO, {"text": text, "delay": delay}, timeout)

    def add(self, *, a: int, b: int, timeout: leveret.Timeout = leveret.DEFAULT) -> AddReply:
        return self._call(ADD, {"a": a, "b": b}, timeout)

    def fail(self, *, kind: str, timeout: leveret.Timeout = leveret.DEFAULT) -> EchoReply:
        return self._call(FAIL, {"kind": kind}, timeout)


class AsyncEchoClient(leveret.AsyncClient):
    service: ClassVar[ServiceSpec] = SERVICE

    async def echo(
        self, *, text: str, delay: float = 0.0, timeout: leveret.Timeout = leveret.DEFAULT
    ) -> EchoReply:
        return await self._call(ECHO, {"text": text, "delay": delay}, timeout)

    async def add(self, *, a: int, b: int, timeout: leveret.Timeout = leveret.DEFAULT) -> AddReply:
        return await self._call(ADD, {"a": a, "b": b}, timeout)

    async def fail(self, *, kind: str, timeout: leveret.Timeout = leveret.DEFAULT) -> EchoReply:
        return await self._call(FAIL, {"kind": kind}, timeout)


class EchoServicer(leveret.Servicer):
    service: ClassVar[ServiceSpec] = SERVICE

    @abc.abstractmethod
    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply: ...

    @abc.abstractmethod
    def add(self, request: AddRequest, context: CallContext) -> AddReply: ...

    @abc.abstractmethod
    def fail(self, request: FailRequest, context: CallContext) -> EchoReply: ...


class AsyncEchoServicer(leveret.AsyncServicer):
    service: ClassVar[ServiceSpec] = SERVICE

    @abc.abstractmethod
    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply: ...

    @abc.abstractmethod
    async def add(self, request: AddRequest, context: CallContext) -> AddReply: ...

    @abc.abstractmethod
    async def fail(self, request: FailRequest, context: CallContext) -> EchoReply: ...


def _failure(kind: str) -> EchoReply:
    if kind == "declared":
        raise TooLoud("too loud", limit=3)
    if kind == "status":
        raise leveret.NotFound("nothing here")
    if kind == "bad-response":
        return "not a model"  # type: ignore[return-value]
    raise RuntimeError("secret database password in this message")


class Echo(EchoServicer):
    """Echoes; ``delay`` makes the handler slow (to test deadlines and redelivery)."""

    def __init__(self, name: str = "") -> None:
        self.name = name or f"pid{os.getpid()}"
        self.calls = 0
        self.active = 0  # handlers running now, and the most ever at once
        self.max_active = 0
        self.started = threading.Event()
        self.lock = threading.Lock()

    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        with self.lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            return self._echo(request, context)
        finally:
            with self.lock:
                self.active -= 1

    def _echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.started.set()
        marker_dir = os.environ.get("LEVERET_TEST_STARTED_DIR")
        if marker_dir:  # lets a test in another process see that this request has started
            with open(os.path.join(marker_dir, f"{request.text}.{os.getpid()}"), "w"):
                pass
        if request.delay:
            time.sleep(request.delay)
        return EchoReply(text=request.text, worker=self.name, remaining=context.time_remaining())

    def add(self, request: AddRequest, context: CallContext) -> AddReply:
        return AddReply(sum=request.a + request.b)

    def fail(self, request: FailRequest, context: CallContext) -> EchoReply:
        return _failure(request.kind)


class AsyncEcho(AsyncEchoServicer):
    def __init__(self, name: str = "async") -> None:
        self.name = name

    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        if request.delay:
            await asyncio.sleep(request.delay)
        return EchoReply(text=request.text, worker=self.name, remaining=context.time_remaining())

    async def add(self, request: AddRequest, context: CallContext) -> AddReply:
        return AddReply(sum=request.a + request.b)

    async def fail(self, request: FailRequest, context: CallContext) -> EchoReply:
        return _failure(request.kind)
