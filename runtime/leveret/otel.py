"""OpenTelemetry tracing for leveret calls: ``pip install "leveret[otel]"``.

``OpenTelemetry()`` is one middleware for clients and workers, sync and asyncio::

    from leveret.otel import OpenTelemetry

    client = InventoryClient.connect(url, middleware=[OpenTelemetry()])
    Worker(Inventory(), url, middleware=[OpenTelemetry()]).run()

Each attempt of a call is a CLIENT span, each handled request a SERVER span, both named
``<package>.<Service>/<method>``. The W3C ``traceparent``, ``tracestate`` and ``baggage`` travel
in the request's headers through the global propagator (``opentelemetry.propagate``); the
server span is the child of the caller's attempt span, and the handler runs with the server
span current, so the calls it makes continue the trace.

Attributes follow semantic conventions v1.44.0 (:data:`SEMCONV_VERSION`); every name is in
:data:`ATTRIBUTES`. This module is the only one in leveret that imports opentelemetry, and only
``opentelemetry-api``: the SDK, its exporters and sampling are the application's choice.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import Token
from typing import Any, Final, cast

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Setter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pydantic import BaseModel

from leveret._errors import RpcError
from leveret._middleware import AsyncNext, CallInfo, Middleware, SyncNext
from leveret._version import leveret_version
from leveret._wire import TRACE_HEADERS

__all__ = ["ATTRIBUTES", "SEMCONV_VERSION", "SERVER_ERROR_STATUSES", "OpenTelemetry"]

#: The semantic conventions the spans follow (RPC: release candidate; messaging: development).
SEMCONV_VERSION: Final = "1.44.0"
_SCHEMA_URL: Final = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

#: Every attribute name leveret's spans carry, in one place: the conventions are not stable
#: yet (``rpc.response.status_code`` is ``rpc.status_code`` after v1.44.0), so a rename is an
#: edit here and in docs/operating.md's table.
ATTRIBUTES: Final = {
    "rpc_system": "rpc.system.name",
    "rpc_method": "rpc.method",
    "rpc_status": "rpc.response.status_code",
    "error_type": "error.type",
    "messaging_system": "messaging.system",
    "destination": "messaging.destination.name",
    "conversation_id": "messaging.message.conversation_id",
    "attempt": "leveret.attempt",
}
_RPC_SYSTEM: Final = ATTRIBUTES["rpc_system"]
_RPC_METHOD: Final = ATTRIBUTES["rpc_method"]
_RPC_STATUS: Final = ATTRIBUTES["rpc_status"]
_ERROR_TYPE: Final = ATTRIBUTES["error_type"]
_MESSAGING_SYSTEM: Final = ATTRIBUTES["messaging_system"]
_DESTINATION: Final = ATTRIBUTES["destination"]
_CONVERSATION_ID: Final = ATTRIBUTES["conversation_id"]
_ATTEMPT: Final = ATTRIBUTES["attempt"]

#: The statuses that mark a SERVER span as failed, as the gRPC conventions have it: the others
#: (NOT_FOUND, a declared error ...) are the caller's problem, an answer the server gave as
#: designed. A CLIENT span fails on every status but OK.
SERVER_ERROR_STATUSES: Final = frozenset(
    {"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"}
)
_DESCRIPTION_LIMIT = 256

_VERSION: Final = leveret_version()


class _TraceSetter(Setter[MutableMapping[str, str]]):
    """Writes only the W3C names: a propagator configured for other formats (B3 ...) cannot
    put a header on the wire that leveret does not carry."""

    def set(self, carrier: MutableMapping[str, str], key: str, value: str) -> None:
        if key in TRACE_HEADERS:
            carrier[key] = value


_SETTER: Final = _TraceSetter()


class OpenTelemetry(Middleware):
    """Traces calls on a client or a worker, sync or asyncio.

    ``tracer_provider``: where spans go (default: the global one, read when a span starts).
    One instance may serve any number of clients and workers.
    """

    def __init__(self, *, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer(
            "leveret", _VERSION, tracer_provider, schema_url=_SCHEMA_URL
        )
        # (side, method spec, queue) -> span name and the attributes that never change.
        self._static: dict[tuple[str, int, str], tuple[str, dict[str, Any]]] = {}

    def _static_for(self, call: CallInfo) -> tuple[str, dict[str, Any]]:
        key = (call.side, id(call.method), call.queue)
        static = self._static.get(key)
        if static is None:
            package = call.service.package
            name = f"{package}.{call.service.name}" if package else call.service.name
            name = f"{name}/{call.method.name}"
            static = (
                name,
                {
                    _RPC_SYSTEM: "leveret",
                    _RPC_METHOD: name,
                    _MESSAGING_SYSTEM: "rabbitmq",
                    _DESTINATION: call.queue,
                },
            )
            self._static[key] = static
        return static

    def _start(self, call: CallInfo) -> tuple[Span, Token[Context]]:
        name, attributes = self._static_for(call)
        attributes = {**attributes, _CONVERSATION_ID: call.correlation_id}
        if call.attempt:
            attributes[_ATTEMPT] = call.attempt
        if call.side == "client":
            span = self._tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            current = trace.set_span_in_context(span)
            # A client's CallInfo.headers is the dict the request takes its trace headers from.
            carrier = cast(MutableMapping[str, str], call.headers)
            propagate.inject(carrier, context=current, setter=_SETTER)
        else:
            # No trace headers: a new trace, never a child of a span that happens to be current
            # where the worker runs (an asyncio worker's tasks inherit the context serve() was
            # awaited in). An empty Context is what extracting from an empty carrier gives,
            # without its cost on every call of an untraced caller.
            parent = propagate.extract(call.headers) if call.headers else Context()
            span = self._tracer.start_span(
                name, context=parent, kind=SpanKind.SERVER, attributes=attributes
            )
            current = trace.set_span_in_context(span, parent)
        # Current in this thread or task: the thread or task that runs the handler, so that
        # the calls it makes are the server span's children.
        return span, otel_context.attach(current)

    def _failed(self, span: Span, side: str, exc: BaseException) -> None:
        if isinstance(exc, RpcError):
            status = exc.status.name
            if side == "client" or status in SERVER_ERROR_STATUSES:
                span.set_attribute(_ERROR_TYPE, status)
                text = f"{status}: {exc.message}" if exc.message else status
                span.set_status(Status(StatusCode.ERROR, text[:_DESCRIPTION_LIMIT]))
        elif isinstance(exc, Exception):
            # Anything but an RpcError a handler raises is INTERNAL on the wire; a client's
            # chain turns it into Internal too.
            status = "INTERNAL"
            span.set_attribute(_ERROR_TYPE, status)
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}"))
        else:  # cancelled task, KeyboardInterrupt ...: no status went on the wire
            span.set_attribute(_ERROR_TYPE, type(exc).__qualname__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            return
        span.set_attribute(_RPC_STATUS, status)

    def _end(self, span: Span, token: Token[Context], side: str, exc: BaseException | None) -> None:
        otel_context.detach(token)
        if exc is None:
            span.set_attribute(_RPC_STATUS, "OK")
        else:
            self._failed(span, side, exc)
        span.end()

    # A try statement in each method rather than a shared context manager: this runs twice per
    # call (client and server), and a generator-based context manager costs several
    # microseconds more each time (docs/performance.md).
    def intercept(self, call: CallInfo, call_next: SyncNext) -> BaseModel:
        span, token = self._start(call)
        try:
            result = call_next(call)
        except BaseException as exc:
            self._end(span, token, call.side, exc)
            raise
        self._end(span, token, call.side, None)
        return result

    async def intercept_async(self, call: CallInfo, call_next: AsyncNext) -> BaseModel:
        span, token = self._start(call)
        try:
            result = await call_next(call)
        except BaseException as exc:
            self._end(span, token, call.side, exc)
            raise
        self._end(span, token, call.side, None)
        return result
