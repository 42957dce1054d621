"""Middleware: one seam for cross-cutting code, on both sides and in both flavours.

A middleware wraps a typed call. On a client it runs after the arguments are validated, once per
attempt, around sending the request and waiting for its reply; on a worker it runs after the
request is validated, around the handler. The transports never see it. With no middleware,
neither side builds a :class:`CallInfo` or runs any of this: the hot path is unchanged.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from pydantic import BaseModel

from leveret._context import EMPTY_METADATA, CallContext
from leveret._drift import ContractDrift
from leveret._errors import ConfigurationError, Internal, RpcError
from leveret._spec import MethodSpec, ServiceSpec

__all__ = [
    "AsyncNext",
    "CallInfo",
    "Middleware",
    "Side",
    "SyncNext",
    "check_middleware",
    "run_async",
    "run_sync",
]

#: Which side of the call a middleware runs on.
Side: TypeAlias = Literal["client", "server"]


@dataclass(frozen=True, slots=True, eq=False)
class CallInfo:
    """What a middleware knows about the call it wraps.

    ``metadata`` is the call's metadata: on a client a dict the middleware may add to before it
    calls ``call_next`` (checked as the caller's is, before anything is sent); on a server a
    read-only mapping, the one handlers see as ``context.metadata``. ``attempt`` is 0, then 1,
    2 ... for each retry; a client's chain runs once per attempt, each with a fresh
    ``correlation_id``. ``deadline`` is absolute, in Unix seconds (None: no deadline).
    ``context`` is the handler's :class:`CallContext` on a server, None on a client.
    ``started`` is :func:`time.perf_counter` when the chain began this attempt.

    ``contract_drift`` (:class:`~leveret.ContractDrift`) says the two sides of the call were
    generated from different contracts of the method: on a server from the request, as
    ``context.contract_drift``; on a client it is filled in when the reply arrives, on the
    ``CallInfo`` the innermost link received (read it after ``call_next``). None otherwise.

    ``headers`` holds the W3C trace context (``traceparent``, ``tracestate``, ``baggage``),
    for tracing middleware such as :class:`leveret.otel.OpenTelemetry`: on a client a dict,
    empty, which a middleware may fill before it calls ``call_next`` (those names only, string
    values; anything else fails the call with ``InvalidArgument`` before it is sent); on a
    server a read-only mapping of the ones the request carried.
    """

    side: Side
    service: ServiceSpec
    method: MethodSpec[BaseModel, BaseModel]
    request: BaseModel
    metadata: MutableMapping[str, str] | Mapping[str, str]
    correlation_id: str
    deadline: float | None
    attempt: int
    queue: str
    context: CallContext | None = None
    started: float = 0.0
    headers: MutableMapping[str, str] | Mapping[str, str] = field(
        default_factory=lambda: EMPTY_METADATA
    )
    contract_drift: ContractDrift | None = None

    @property
    def idempotent(self) -> bool:
        return self.method.idempotent

    def elapsed(self) -> float:
        """Seconds since the chain began (the call's duration, read after ``call_next``)."""
        return time.perf_counter() - self.started

    def time_remaining(self) -> float | None:
        """Seconds left before the deadline (never negative), or None without one."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.time())


#: ``call_next`` of a sync middleware: the rest of the chain; returns the response model or
#: raises the call's error.
SyncNext: TypeAlias = Callable[[CallInfo], BaseModel]
#: ``call_next`` of an asyncio middleware.
AsyncNext: TypeAlias = Callable[[CallInfo], Awaitable[BaseModel]]


class Middleware:
    """Base class of middleware; override :meth:`intercept` (sync clients and workers),
    :meth:`intercept_async` (asyncio clients and workers), or both.

    A middleware calls ``call_next(call)`` to go on with the call and returns what it returns
    (the response model), or raises what it raises (an ``RpcError`` on a client; on a worker
    whatever the handler raised). It may instead return a response or raise an ``RpcError``
    without calling ``call_next`` (the call ends there), catch an error and raise another, add
    metadata (client side) before calling ``call_next``, and time or log the call. Any other
    exception escaping it fails the call: ``INTERNAL`` from a worker (traceback logged), and on
    a client :class:`~leveret.Internal` raised with the exception as its ``__cause__``.

    One instance serves every call, concurrently: keep per-call state in locals.
    """

    def intercept(self, call: CallInfo, call_next: SyncNext) -> BaseModel:
        return call_next(call)

    async def intercept_async(self, call: CallInfo, call_next: AsyncNext) -> BaseModel:
        return await call_next(call)

    def drift_refused(self, drift: ContractDrift) -> None:
        """Called by a worker with ``on_drift="reject"`` for each call it refuses across
        contracts (FAILED_PRECONDITION), which never reaches :meth:`intercept` (it is refused
        before the chain); sync, on the worker's I/O thread or event loop: keep it short. A
        metrics middleware counts it here. An exception it raises is logged, and the call is
        refused all the same."""


def check_middleware(
    middleware: Sequence[object] | None, *, is_async: bool, where: str
) -> tuple[Any, ...]:
    """The chain as a tuple, or ``ConfigurationError`` for an entry that cannot serve it.

    A subclass of :class:`Middleware` that overrides only the other flavour's method would
    otherwise pass every call through silently: refused instead."""
    if middleware is None:
        return ()
    if isinstance(middleware, str | bytes) or not isinstance(middleware, Sequence):
        raise ConfigurationError(
            f"{where}: middleware must be a list of middleware objects, not "
            f"{type(middleware).__name__}"
        )
    name = "intercept_async" if is_async else "intercept"
    for entry in middleware:
        if isinstance(entry, type):
            raise ConfigurationError(
                f"{where}: middleware {entry.__name__} is a class; pass an instance "
                f"({entry.__name__}())"
            )
        hook = getattr(type(entry), name, None)
        if not callable(hook) or hook is getattr(Middleware, name):
            flavour = "an asyncio" if is_async else "a sync"
            raise ConfigurationError(
                f"{where}: middleware {type(entry).__name__} does not define {name}(call, "
                f"call_next), which {flavour} client or worker calls"
            )
        if not is_async and inspect.iscoroutinefunction(hook):
            raise ConfigurationError(
                f"{where}: middleware {type(entry).__name__}.intercept is a coroutine function; "
                "a sync client or worker calls intercept, an asyncio one intercept_async"
            )
    return tuple(middleware)


def _escaped(middleware: object, exc: Exception) -> Internal:
    return Internal(f"middleware {type(middleware).__name__} failed: {type(exc).__name__}: {exc}")


def run_sync(
    chain: tuple[Any, ...],
    call: CallInfo,
    last: SyncNext,
    *,
    wrap: bool,
    index: int = 0,
) -> BaseModel:
    """Run ``chain[index:]`` around ``last``. With ``wrap`` (clients), an exception a
    middleware raises that is not an ``RpcError`` becomes :class:`Internal`; what comes up
    from ``call_next`` passes through as it is, so only the middleware at fault is named."""
    if index == len(chain):
        return last(call)
    middleware = chain[index]
    below: list[BaseException] = []

    def call_next(next_call: CallInfo) -> BaseModel:
        try:
            return run_sync(chain, next_call, last, wrap=wrap, index=index + 1)
        except BaseException as exc:
            below.append(exc)
            raise

    try:
        result: BaseModel = middleware.intercept(call, call_next)
    except Exception as exc:
        if not wrap or isinstance(exc, RpcError) or (below and exc is below[-1]):
            raise
        raise _escaped(middleware, exc) from exc
    return result


async def run_async(
    chain: tuple[Any, ...],
    call: CallInfo,
    last: AsyncNext,
    *,
    wrap: bool,
    index: int = 0,
) -> BaseModel:
    """:func:`run_sync` for asyncio: ``intercept_async`` of each middleware."""
    if index == len(chain):
        return await last(call)
    middleware = chain[index]
    below: list[BaseException] = []

    async def call_next(next_call: CallInfo) -> BaseModel:
        try:
            return await run_async(chain, next_call, last, wrap=wrap, index=index + 1)
        except BaseException as exc:
            below.append(exc)
            raise

    try:
        result: BaseModel = await middleware.intercept_async(call, call_next)
    except Exception as exc:
        if not wrap or isinstance(exc, RpcError) or (below and exc is below[-1]):
            raise
        raise _escaped(middleware, exc) from exc
    return result
