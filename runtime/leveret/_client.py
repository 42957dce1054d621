"""Base classes of generated clients: typed methods in the subclass, one call path here.

The sync and asyncio clients share everything but the waiting: :func:`build_request` turns
arguments into a validated :class:`Request`, :func:`~leveret._codec.decode_reply` turns a reply
into the response model or the exception it stands for; the transport only moves bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from types import TracebackType
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from pydantic import BaseModel

from leveret._breaker import CircuitBreaker, announce
from leveret._codec import (
    decode_reply,
    encode_arguments,
    error_from_payload,
    loads_finite,
    validate_arguments,
)
from leveret._drift import CLIENT_DRIFTS, ContractDrift
from leveret._errors import (
    ORIGIN_LOCAL,
    Cancelled,
    ConfigurationError,
    DeadlineExceeded,
    Internal,
    InvalidArgument,
    ResourceExhausted,
    RpcError,
    Unimplemented,
    mark,
)
from leveret._logging import SafeLogger
from leveret._metadata import current_metadata, metadata_or_invalid
from leveret._middleware import CallInfo, Middleware, check_middleware, run_async, run_sync
from leveret._retry import RetryPolicy
from leveret._spec import DEFAULT, MethodSpec, ServiceSpec, Timeout
from leveret._status import StatusCode
from leveret._tls import TLS, check_tls
from leveret._url import is_memory, resolve_url
from leveret._wire import (
    DESCRIBE_METHOD,
    MAX_MESSAGE_SIZE,
    MAX_TIMEOUT,
    STATUS_OK,
    Reply,
    Request,
    check_trace_headers,
    decode_error,
)

__all__ = ["AsyncClient", "Client", "DynamicClient", "build_request"]

#: Retries here, circuit breaker changes in leveret._breaker; connections: ``leveret.amqp``.
log = SafeLogger("leveret.client")  # logging never fails a call

_FAILED_PRECONDITION = StatusCode.FAILED_PRECONDITION.name

ResponseT = TypeVar("ResponseT", bound=BaseModel)
ClientT = TypeVar("ClientT")


class SyncTransport(Protocol):
    def call(self, request: Request) -> Reply: ...

    def close(self) -> None: ...


class AsyncTransport(Protocol):
    async def call(self, request: Request) -> Reply: ...

    async def close(self) -> None: ...


def _deadline(default: float | None, timeout: Timeout, method: str = "") -> float | None:
    """The absolute deadline of a call, or ``ConfigurationError`` for a timeout that is not one.

    A bad timeout is a mistake in the calling code, like a bad option, not a failed call: 0 or
    less, nan, infinity, a bool or another type, and anything longer than ``MAX_TIMEOUT``
    (RabbitMQ's longest message TTL; a broker answers a longer one by closing the channel).
    """
    seconds = default if timeout is DEFAULT else timeout
    if seconds is None:
        return None
    # `0 < seconds <= MAX_TIMEOUT` is also false for nan.
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 < seconds <= MAX_TIMEOUT
    ):
        whose = f"{method}: " if method else ""
        if timeout is DEFAULT:
            whose += "the method's default "
        raise ConfigurationError(
            f"{whose}timeout must be positive seconds, at most {MAX_TIMEOUT} (about 49 days, "
            f"RabbitMQ's longest message TTL), or None for no deadline; not {seconds!r}"
        )
    return time.time() + seconds


def _check_size(request: Request, limit: int) -> None:
    """Refuse a body over the client's limit before sending it: over the broker's, RabbitMQ
    would close the channel over it, failing other calls in flight too. RESOURCE_EXHAUSTED, as
    gRPC reports a message over its send limit."""
    size = len(request.body)
    if size > limit:
        error = ResourceExhausted(
            f"{request.method}: the request is {size} bytes, more than max_message_size "
            f"({limit} bytes); nothing was sent"
        )
        raise mark(error, ORIGIN_LOCAL)


def _fit_reply(reply: Reply, request: Request, limit: int) -> Reply:
    """``reply``, or ``ResourceExhausted`` when its body is over the client's limit: the reply
    is dropped without being parsed (gRPC's receive limit). It fails this call only; the
    handler did run, so the call is not retried."""
    size = len(reply.body)
    if size > limit:
        raise ResourceExhausted(
            f"{request.method}: the reply is {size} bytes, {size - limit} bytes over the "
            f"client's max_message_size ({limit} bytes); it was dropped unread"
        )
    return reply


def _message_size(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigurationError(f"max_message_size must be a positive int, not {limit!r}")
    return limit


def build_request(
    queue: str,
    method: MethodSpec[Any, Any],
    arguments: Mapping[str, object],
    timeout: Timeout,
    wait_for_ready: bool = False,
) -> Request:
    """Validate the arguments (raising ``InvalidArgument``, sending nothing) and stamp the call."""
    deadline = _deadline(method.timeout, timeout, method.name)
    body = encode_arguments(method, arguments)
    return Request(
        queue,
        method.name,
        uuid.uuid4().hex,
        body,
        deadline,
        wait_for_ready,
        current_metadata(),
        fingerprint=method.fingerprint,
    )


def _build_model_request(
    queue: str,
    method: MethodSpec[Any, Any],
    arguments: Mapping[str, object],
    timeout: Timeout,
    wait_for_ready: bool,
) -> tuple[BaseModel, Request]:
    """:func:`build_request`, keeping the validated model for the middleware to see."""
    deadline = _deadline(method.timeout, timeout, method.name)
    model, body = validate_arguments(method, arguments)
    request = Request(
        queue,
        method.name,
        uuid.uuid4().hex,
        body,
        deadline,
        wait_for_ready,
        current_metadata(),
        fingerprint=method.fingerprint,
    )
    return model, request


def _call_info(
    client: Client | AsyncClient, method: MethodSpec[Any, Any], model: BaseModel, request: Request
) -> CallInfo:
    return CallInfo(
        side="client",
        service=client.service,
        method=method,
        request=model,
        metadata=dict(request.metadata or {}),
        correlation_id=request.correlation_id,
        deadline=request.deadline,
        attempt=request.attempt,
        queue=request.queue,
        started=time.perf_counter(),
        headers={},
    )


def _with_metadata(request: Request, call: CallInfo) -> Request:
    """``request`` with the metadata and trace headers the middleware left in ``call``,
    checked as a caller's are (``InvalidArgument``, nothing sent)."""
    metadata = call.metadata
    changes: dict[str, Any] = {}
    if call.headers:
        try:
            changes["trace"] = check_trace_headers(call.headers)
        except ValueError as exc:
            raise mark(InvalidArgument(str(exc)), ORIGIN_LOCAL) from None
    if metadata != (request.metadata or {}):
        changes["metadata"] = metadata_or_invalid(metadata) or None
    # One copy of the request at most: this runs on every attempt of a call with middleware.
    return dataclasses.replace(request, **changes) if changes else request


def _checked_result(method: MethodSpec[Any, ResponseT], result: object) -> ResponseT:
    if not isinstance(result, method.response):
        raise Internal(
            f"{method.name}: the middleware returned {type(result).__name__}, not "
            f"{method.response.__name__}"
        )
    return result


def open_sync_transport(
    url: str | Sequence[str] | None,
    reply_queue: str,
    connect_timeout: float,
    tls: TLS | None = None,
    server_user: str | None = None,
) -> SyncTransport:
    resolved = resolve_url(url)
    tls = check_tls(tls, resolved)
    _check_server_user(server_user)
    if is_memory(resolved):
        from leveret._memory import MemoryTransport

        return MemoryTransport(resolved, server_user)
    from leveret._amqp import BlockingTransport

    transport = BlockingTransport(
        resolved, reply_queue=reply_queue, connect_timeout=connect_timeout, tls=tls
    )
    transport.server_user = server_user
    return transport


async def open_async_transport(
    url: str | Sequence[str] | None,
    reply_queue: str,
    connect_timeout: float,
    tls: TLS | None = None,
    server_user: str | None = None,
) -> AsyncTransport:
    resolved = resolve_url(url)
    tls = check_tls(tls, resolved)
    _check_server_user(server_user)
    if is_memory(resolved):
        from leveret._memory import AsyncMemoryTransport

        return AsyncMemoryTransport(resolved, server_user)
    from leveret._amqp import AsyncioTransport

    transport = await AsyncioTransport.open(
        resolved, reply_queue=reply_queue, connect_timeout=connect_timeout, tls=tls
    )
    # No reply can arrive before the first call: set before any is sent.
    transport.server_user = server_user
    return transport


def _check_server_user(server_user: object) -> None:
    if server_user is not None and (not isinstance(server_user, str) or not server_user):
        raise ConfigurationError(
            f"server_user must be a broker user name or None, not {server_user!r}"
        )


class _CallPolicy:
    """What a client does around each attempt, the same for sync and asyncio: the circuit
    breaker, the retry decision, and a fresh correlation id for every retry (so that a late
    reply to an earlier attempt can never be taken for the answer to a later one)."""

    def __init__(
        self,
        queue: str,
        retry: RetryPolicy | None,
        circuit_breaker: CircuitBreaker | None,
        max_in_flight: int,
        max_message_size: int,
        wait_for_ready: bool,
    ) -> None:
        if max_in_flight < 1:
            raise ConfigurationError("max_in_flight must be at least 1")
        self.queue = queue
        self.retry = retry or RetryPolicy()
        self.breaker = circuit_breaker
        self.max_in_flight = max_in_flight
        self.max_message_size = _message_size(max_message_size)
        self.wait_for_ready = wait_for_ready
        # one per process, not per client: a client made per request still warns once a pair
        self.drifts = CLIENT_DRIFTS

    def drift(
        self, service: ServiceSpec, method: MethodSpec[Any, Any], reply: Reply
    ) -> ContractDrift | None:
        """The drift a reply shows (its ``rpc-fingerprint`` is not this client's), logged once
        per pair; None for (almost) every reply."""
        theirs, ours = reply.fingerprint, method.fingerprint
        if theirs is None or ours is None or theirs == ours:
            return None
        drift = ContractDrift(service.name, method.name, ours, theirs)
        # FAILED_PRECONDITION is how a worker with on_drift="reject" refuses it
        refused = reply.status == _FAILED_PRECONDITION
        self.drifts.report(drift, f"the worker on queue {self.queue!r}", refused=refused)
        return drift

    def before(self) -> bool:
        """Let the breaker refuse the attempt; True when it is the breaker's probe."""
        return self.breaker is not None and self.breaker.before_call(self.queue)

    def succeeded(self, probe: bool) -> None:
        if self.breaker is not None:
            self.breaker.record(None, probe=probe)
        self.retry.record_success()

    def abandoned(self, probe: bool) -> None:
        """The attempt ended without an outcome: cancelled, or an exception not an RpcError."""
        if self.breaker is not None:
            self.breaker.abandon(probe)

    def failed(
        self,
        error: RpcError,
        method: MethodSpec[Any, Any],
        attempt: int,
        request: Request,
        probe: bool,
    ) -> tuple[float, Request] | None:
        """``(delay, next request)`` to retry, or ``None`` to raise ``error``."""
        if self.breaker is not None:
            self.breaker.record(error, probe=probe)
        return self.again(error, method, attempt, request)

    def attempt_failed(self, error: RpcError, probe: bool) -> None:
        """The breaker's half of :meth:`failed`, for an attempt that reached the transport."""
        if self.breaker is not None:
            self.breaker.record(error, probe=probe)

    def attempt_succeeded(self, probe: bool) -> None:
        if self.breaker is not None:
            self.breaker.record(None, probe=probe)

    def again(
        self, error: RpcError, method: MethodSpec[Any, Any], attempt: int, request: Request
    ) -> tuple[float, Request] | None:
        """The retry half of :meth:`failed`."""
        delay = self.retry.next_delay(error, method.idempotent, attempt, request.deadline)
        if delay is None:
            return None
        if log.isEnabledFor(logging.WARNING):
            # An attempt failed: the retry may well hide it from the caller, so it shows here.
            log.warning(
                "retrying %s on %r in %.3f s: attempt %d failed with %s: %s",
                method.name,
                self.queue,
                delay,
                attempt,
                error.status.name,
                error.message,
                extra={
                    "method": method.name,
                    "correlation_id": request.correlation_id,
                    "status": error.status.name,
                    "attempt": attempt,
                },
            )
        return delay, dataclasses.replace(
            request, correlation_id=uuid.uuid4().hex, attempt=attempt + 1
        )

    def no_slot(self, request: Request) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"{request.method}: all {self.max_in_flight} call slots of this client stayed busy "
            "until the deadline"
        )


class Client:
    """Base of generated sync clients.

    Thread-safe: share one client between threads. Many calls may be in flight on its one
    connection; each is matched to its reply by correlation id. Use as a context manager, or
    call :meth:`close`.

    Resilience: a lost connection fails the calls in flight at once with ``Unavailable``; the
    next call reconnects (with backoff, trying each broker address). Idempotent methods, and
    any call the broker never enqueued, are retried within their deadline (``retry``).
    ``circuit_breaker`` (off by default) fails fast while a service keeps failing.
    ``max_in_flight`` bounds concurrent calls; more callers wait, within their deadline.
    """

    service: ClassVar[ServiceSpec]

    def __init__(
        self,
        transport: SyncTransport,
        *,
        queue: str | None = None,
        retry: RetryPolicy | None = None,
        circuit_breaker: CircuitBreaker | None = None,
        max_in_flight: int = 1024,
        max_message_size: int = MAX_MESSAGE_SIZE,
        wait_for_ready: bool = False,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self._middleware = check_middleware(middleware, is_async=False, where=type(self).__name__)
        self._transport = transport
        self._queue = queue or self.service.queue
        self._policy = _CallPolicy(
            self._queue, retry, circuit_breaker, max_in_flight, max_message_size, wait_for_ready
        )
        announce(circuit_breaker, self.service.name, self._middleware)
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._closing = threading.Event()  # wakes a call waiting out a retry backoff

    @classmethod
    def connect(
        cls,
        url: str | Sequence[str] | None = None,
        *,
        queue: str | None = None,
        reply_queue: str = "direct",
        connect_timeout: float = 10.0,
        tls: TLS | None = None,
        server_user: str | None = None,
        retry: RetryPolicy | None = None,
        circuit_breaker: CircuitBreaker | None = None,
        max_in_flight: int = 1024,
        max_message_size: int = MAX_MESSAGE_SIZE,
        wait_for_ready: bool = False,
        middleware: Sequence[Middleware] | None = None,
    ) -> Self:
        """Connect to the broker at ``url`` (default: ``$AMQP_URL``, then the local broker).

        ``url`` may name several brokers of a cluster (a list, or comma-separated): the client
        uses the first that answers and fails over to the others. ``memory://`` selects the
        in-process broker that serves workers of this process. ``queue`` overrides the
        definition's queue; ``reply_queue`` is ``"direct"`` (RabbitMQ direct reply-to) or
        ``"exclusive"`` (a private auto-delete queue). ``max_message_size`` (bytes, default
        4 MiB, gRPC's default) bounds both directions: a larger request is refused with
        ``ResourceExhausted`` before it is sent, and a call whose reply body is larger fails with
        ``ResourceExhausted`` (the reply is dropped unread). Keep it at or below the broker's
        ``max_message_size`` (128 MiB on RabbitMQ 3.x, 16 MiB on 4.x).

        By default a call to a queue that no worker consumes fails at once with
        ``Unavailable`` (idempotent methods retry with backoff within their deadline, which
        rides out a rolling restart); ``wait_for_ready=True`` lets requests wait in the queue
        for a worker until their deadline instead (gRPC's ``wait_for_ready``).

        ``middleware`` (:class:`~leveret.Middleware` instances, the first outermost) wraps each
        attempt of every call; see docs/operating.md, "Middleware".

        ``tls`` (:class:`~leveret.TLS`) sets the CA, the client certificate and the name to
        check; it turns TLS on for an ``amqp://`` URL too (the URL's port is used as given).
        ``amqps://`` alone uses the system's CAs. See docs/security.md, "TLS".

        ``server_user``: the broker user the service's workers log in as. A reply published as
        anyone else (``user_id``) is dropped and counted, and never settles a call: a forged
        reply cannot answer it. See docs/security.md, "Reply authenticity".
        """
        # Checked before connecting: a bad chain is a mistake in the code, not a failed call.
        check_middleware(middleware, is_async=False, where=cls.__name__)
        return cls(
            open_sync_transport(url, reply_queue, connect_timeout, tls, server_user),
            queue=queue,
            retry=retry,
            circuit_breaker=circuit_breaker,
            max_in_flight=max_in_flight,
            max_message_size=max_message_size,
            wait_for_ready=wait_for_ready,
            middleware=middleware,
        )

    def close(self) -> None:
        """Close the connection; calls still waiting fail with ``Cancelled``."""
        self._closing.set()
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _slot(self, request: Request) -> Iterator[None]:
        timeout = None if request.deadline is None else max(0.0, request.deadline - time.time())
        if not self._slots.acquire(timeout=timeout):
            raise self._policy.no_slot(request)
        try:
            yield
        finally:
            self._slots.release()

    def _call(
        self,
        method: MethodSpec[Any, ResponseT],
        arguments: Mapping[str, object],
        timeout: Timeout = DEFAULT,
    ) -> ResponseT:
        if self._middleware:
            return self._call_chained(method, arguments, timeout)
        policy = self._policy
        request = build_request(self._queue, method, arguments, timeout, policy.wait_for_ready)
        limit = policy.max_message_size
        _check_size(request, limit)
        with self._slot(request):
            attempt = 0
            while True:
                probe = policy.before()
                try:
                    reply = self._transport.call(request)
                    policy.drift(self.service, method, reply)
                    result = decode_reply(method, _fit_reply(reply, request, limit))
                except RpcError as error:
                    retry = policy.failed(error, method, attempt, request, probe)
                    if retry is None:
                        raise
                    delay, request = retry
                    if self._closing.wait(delay):  # the backoff; bounded by the deadline
                        raise Cancelled("the client was closed") from error
                    attempt += 1
                    continue
                except BaseException:
                    policy.abandoned(probe)
                    raise
                policy.succeeded(probe)
                return result

    def _call_chained(
        self,
        method: MethodSpec[Any, ResponseT],
        arguments: Mapping[str, object],
        timeout: Timeout,
    ) -> ResponseT:
        """:meth:`_call` with the middleware chain around each attempt: the breaker and the
        transport are its innermost link, the retry decision is outside it."""
        policy = self._policy
        model, request = _build_model_request(
            self._queue, method, arguments, timeout, policy.wait_for_ready
        )
        _check_size(request, policy.max_message_size)
        refused: list[RpcError] = []  # what the circuit breaker refused

        def send(call: CallInfo) -> BaseModel:
            sent = _with_metadata(request, call)
            try:
                probe = policy.before()
            except RpcError as error:
                refused.append(error)
                raise
            try:
                reply = self._transport.call(sent)
                drift = policy.drift(self.service, method, reply)
                if drift is not None:  # for the middleware, read after call_next
                    object.__setattr__(call, "contract_drift", drift)
                result = decode_reply(method, _fit_reply(reply, sent, policy.max_message_size))
            except RpcError as error:
                policy.attempt_failed(error, probe)
                raise
            except BaseException:
                policy.abandoned(probe)
                raise
            policy.attempt_succeeded(probe)
            return result

        with self._slot(request):
            while True:
                call = _call_info(self, method, model, request)
                try:
                    result = run_sync(self._middleware, call, send, wrap=True)
                except RpcError as error:
                    if refused and error is refused[-1]:
                        raise  # the breaker's fail-fast is not retried, as without middleware
                    retry = policy.again(error, method, request.attempt, request)
                    if retry is None:
                        raise
                    delay, request = retry
                    if self._closing.wait(delay):
                        raise Cancelled("the client was closed") from error
                    continue
                policy.retry.record_success()
                return _checked_result(method, result)


class _Connecting(Generic[ClientT]):
    """What ``AsyncClient.connect`` returns: await it, or use it with ``async with``."""

    def __init__(self, open_client: Callable[[], Awaitable[ClientT]]) -> None:
        self._open = open_client
        self._client: ClientT | None = None

    def __await__(self) -> Generator[Any, None, ClientT]:
        return self._open().__await__()

    async def __aenter__(self) -> ClientT:
        self._client = await self._open()
        return self._client

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.close()  # type: ignore[attr-defined]


class AsyncClient:
    """Base of generated asyncio clients. Safe to share between tasks of one event loop.

    Resilience as for :class:`Client`: reconnect with failover, retries, an optional circuit
    breaker, and a bound on calls in flight.
    """

    service: ClassVar[ServiceSpec]

    def __init__(
        self,
        transport: AsyncTransport,
        *,
        queue: str | None = None,
        retry: RetryPolicy | None = None,
        circuit_breaker: CircuitBreaker | None = None,
        max_in_flight: int = 1024,
        max_message_size: int = MAX_MESSAGE_SIZE,
        wait_for_ready: bool = False,
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self._middleware = check_middleware(middleware, is_async=True, where=type(self).__name__)
        self._transport = transport
        self._queue = queue or self.service.queue
        self._policy = _CallPolicy(
            self._queue, retry, circuit_breaker, max_in_flight, max_message_size, wait_for_ready
        )
        announce(circuit_breaker, self.service.name, self._middleware)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._closing = asyncio.Event()  # wakes a call waiting out a retry backoff

    @classmethod
    def connect(
        cls,
        url: str | Sequence[str] | None = None,
        *,
        queue: str | None = None,
        reply_queue: str = "direct",
        connect_timeout: float = 10.0,
        tls: TLS | None = None,
        server_user: str | None = None,
        retry: RetryPolicy | None = None,
        circuit_breaker: CircuitBreaker | None = None,
        max_in_flight: int = 1024,
        max_message_size: int = MAX_MESSAGE_SIZE,
        wait_for_ready: bool = False,
        middleware: Sequence[Middleware] | None = None,
    ) -> _Connecting[Self]:
        """Like :meth:`Client.connect`; ``async with Cls.connect(url) as client`` or ``await``."""
        check_middleware(middleware, is_async=True, where=cls.__name__)

        async def open_client() -> Self:
            transport = await open_async_transport(
                url, reply_queue, connect_timeout, tls, server_user
            )
            return cls(
                transport,
                queue=queue,
                retry=retry,
                circuit_breaker=circuit_breaker,
                max_in_flight=max_in_flight,
                max_message_size=max_message_size,
                wait_for_ready=wait_for_ready,
                middleware=middleware,
            )

        return _Connecting(open_client)

    async def close(self) -> None:
        self._closing.set()
        await self._transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def _slot(self, request: Request) -> AsyncIterator[None]:
        if self._slots.locked():
            timeout = None if request.deadline is None else request.deadline - time.time()
            try:
                await asyncio.wait_for(self._slots.acquire(), timeout)
            except TimeoutError:
                raise self._policy.no_slot(request) from None
        else:
            await self._slots.acquire()
        try:
            yield
        finally:
            self._slots.release()

    async def _call(
        self,
        method: MethodSpec[Any, ResponseT],
        arguments: Mapping[str, object],
        timeout: Timeout = DEFAULT,
    ) -> ResponseT:
        if self._middleware:
            return await self._call_chained(method, arguments, timeout)
        policy = self._policy
        request = build_request(self._queue, method, arguments, timeout, policy.wait_for_ready)
        limit = policy.max_message_size
        _check_size(request, limit)
        async with self._slot(request):
            attempt = 0
            while True:
                probe = policy.before()
                try:
                    reply = await self._transport.call(request)
                    policy.drift(self.service, method, reply)
                    result = decode_reply(method, _fit_reply(reply, request, limit))
                except RpcError as error:
                    retry = policy.failed(error, method, attempt, request, probe)
                    if retry is None:
                        raise
                    delay, request = retry
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), delay)  # the backoff
                    if self._closing.is_set():
                        raise Cancelled("the client was closed") from error
                    attempt += 1
                    continue
                except BaseException:
                    policy.abandoned(probe)
                    raise
                policy.succeeded(probe)
                return result

    async def _call_chained(
        self,
        method: MethodSpec[Any, ResponseT],
        arguments: Mapping[str, object],
        timeout: Timeout,
    ) -> ResponseT:
        """:meth:`Client._call_chained` for asyncio."""
        policy = self._policy
        model, request = _build_model_request(
            self._queue, method, arguments, timeout, policy.wait_for_ready
        )
        _check_size(request, policy.max_message_size)
        refused: list[RpcError] = []  # what the circuit breaker refused

        async def send(call: CallInfo) -> BaseModel:
            sent = _with_metadata(request, call)
            try:
                probe = policy.before()
            except RpcError as error:
                refused.append(error)
                raise
            try:
                reply = await self._transport.call(sent)
                drift = policy.drift(self.service, method, reply)
                if drift is not None:  # for the middleware, read after call_next
                    object.__setattr__(call, "contract_drift", drift)
                result = decode_reply(method, _fit_reply(reply, sent, policy.max_message_size))
            except RpcError as error:
                policy.attempt_failed(error, probe)
                raise
            except BaseException:
                policy.abandoned(probe)
                raise
            policy.attempt_succeeded(probe)
            return result

        async with self._slot(request):
            while True:
                call = _call_info(self, method, model, request)
                try:
                    result = await run_async(self._middleware, call, send, wrap=True)
                except RpcError as error:
                    if refused and error is refused[-1]:
                        raise  # the breaker's fail-fast is not retried, as without middleware
                    retry = policy.again(error, method, request.attempt, request)
                    if retry is None:
                        raise
                    delay, request = retry
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), delay)  # the backoff
                    if self._closing.is_set():
                        raise Cancelled("the client was closed") from error
                    continue
                policy.retry.record_success()
                return _checked_result(method, result)


class DynamicClient:
    """Calls any service by queue and method name with JSON, without generated code.

    Used by ``leveret call``; the request is not validated here (the caller may validate it
    against the definition), the server still validates it. ``max_message_size`` bounds the
    request and the reply as for :meth:`Client.connect`.
    """

    def __init__(
        self, transport: SyncTransport, *, max_message_size: int = MAX_MESSAGE_SIZE
    ) -> None:
        self._transport = transport
        self._max_message_size = _message_size(max_message_size)

    @classmethod
    def connect(
        cls,
        url: str | None = None,
        *,
        reply_queue: str = "direct",
        connect_timeout: float = 10.0,
        max_message_size: int = MAX_MESSAGE_SIZE,
        tls: TLS | None = None,
        server_user: str | None = None,
    ) -> DynamicClient:
        """``server_user``: the broker user the service's workers log in as; a reply published
        as anyone else is dropped and counted, as for :meth:`Client.connect`."""
        return cls(
            open_sync_transport(url, reply_queue, connect_timeout, tls, server_user),
            max_message_size=max_message_size,
        )

    def call(
        self,
        queue: str,
        method: str,
        body: object,
        timeout: float | None = 30.0,
        *,
        wait_for_ready: bool = False,
    ) -> Any:
        """The reply's JSON for an OK reply; raises the ``RpcError`` subclass of its status.

        ``timeout`` is checked as for generated clients (``ConfigurationError``);
        ``wait_for_ready`` as for :meth:`Client.connect`."""
        deadline = _deadline(None, timeout, method)
        try:
            encoded = json.dumps(body, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"{method}: the request body is not JSON: {exc}") from None
        request = Request(
            queue, method, uuid.uuid4().hex, encoded, deadline, wait_for_ready, current_metadata()
        )
        _check_size(request, self._max_message_size)
        reply = _fit_reply(self._transport.call(request), request, self._max_message_size)
        if reply.status != STATUS_OK:
            spec: MethodSpec[Any, Any] = MethodSpec(method, method, BaseModel, BaseModel)
            raise error_from_payload(spec, decode_error(reply.status, reply.body))
        try:
            return loads_finite(reply.body)
        except ValueError as exc:  # as a typed client reads an OK body: not JSON, or not finite
            raise Internal(f"{method}: response failed validation: (body): {exc}") from None

    def describe(self, queue: str, timeout: float = 5.0) -> dict[str, Any]:
        """What the service on ``queue`` says it is (the built-in ``leveret.describe``):
        ``{"definition": {...}, "fingerprint": ..., "methods": {name: fingerprint},
        "leveret": version}``; docs/wire-protocol.md, "Reflection".

        ``Unavailable`` when nobody serves the queue (no route: at once); ``Unimplemented``
        when its worker does not answer reflection (turned off, an older leveret, another
        implementation); ``Internal`` when the answer is not a description."""
        deadline = _deadline(None, timeout, DESCRIBE_METHOD)
        request = Request(queue, DESCRIBE_METHOD, uuid.uuid4().hex, b"{}", deadline)
        reply = _fit_reply(self._transport.call(request), request, self._max_message_size)
        if reply.status != STATUS_OK:
            spec: MethodSpec[Any, Any] = MethodSpec(
                DESCRIBE_METHOD, DESCRIBE_METHOD, BaseModel, BaseModel
            )
            error = error_from_payload(spec, decode_error(reply.status, reply.body))
            if isinstance(error, Unimplemented):
                raise Unimplemented(
                    f"the worker on queue {queue!r} does not describe itself ({error.message}): "
                    "reflection is off there (Worker(reflection=False), leveret serve "
                    "--no-reflection), or it is an older leveret or another implementation"
                ) from None
            raise error
        try:
            answer = loads_finite(reply.body)
        except ValueError as exc:
            raise Internal(f"{DESCRIBE_METHOD}: the reply is not JSON: {exc}") from None
        if (
            not isinstance(answer, dict)
            or not isinstance(answer.get("definition"), dict)
            or not isinstance(answer.get("methods", {}), dict)
        ):
            raise Internal(
                f"{DESCRIBE_METHOD}: the worker on queue {queue!r} answered something that is "
                "not a description (no 'definition' object)"
            )
        return answer

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
