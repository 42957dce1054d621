"""The server's decisions, without I/O: which handler, what to reply, whether to ack.

A transport feeds :meth:`Dispatcher.accept` a :class:`Delivery`; it gets back either a ready
:class:`Outcome` (bad message, unknown method, caller gone) or a :class:`Call` to run. Running the
handler is the caller's business (thread pool or event loop); :meth:`Dispatcher.finish` turns its
result or exception into an :class:`Outcome`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from leveret._codec import decode_request, encode_exception, encode_result
from leveret._context import EMPTY_METADATA, CallContext
from leveret._drift import SERVER_DRIFTS, ContractDrift
from leveret._errors import (
    ConfigurationError,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    ResourceExhausted,
    RpcError,
    Unauthenticated,
    Unimplemented,
)
from leveret._logging import SafeLogger
from leveret._middleware import CallInfo, check_middleware, run_async, run_sync
from leveret._servicer import AsyncServicer, Servicer
from leveret._spec import MethodSpec, ServiceSpec
from leveret._status import StatusCode
from leveret._version import leveret_version
from leveret._wire import (
    CONTENT_TYPE,
    DESCRIBE_METHOD,
    HEADER_ATTEMPT,
    HEADER_FINGERPRINT,
    MAX_MESSAGE_SIZE,
    STATUS_OK,
    Delivery,
    OutgoingReply,
    metadata_error,
    read_attempt,
    read_deadline,
    read_fingerprint,
    read_metadata,
    read_trace_headers,
)

__all__ = ["DESCRIBE_SPEC", "Call", "Dispatcher", "Outcome"]

log = SafeLogger("leveret.server")  # logging never fails a call


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to do with a delivery: publish ``reply`` (if any), then ack or reject (no requeue)."""

    reply: OutgoingReply | None
    ack: bool


@dataclass(frozen=True, slots=True)
class Call:
    """A validated request, ready for its handler. ``reply_to`` and ``correlation_id`` are the
    request's as they came (bytes when not UTF-8); the context has the id as text."""

    method: MethodSpec[Any, Any]
    handler: Callable[[BaseModel, CallContext], Any]
    request: BaseModel
    context: CallContext
    reply_to: str | bytes
    correlation_id: str | bytes


class Dispatcher:
    """Routes deliveries of one service to the handlers of one servicer instance.

    ``max_message_size`` (bytes, default 4 MiB) bounds both directions. A request body over it
    is answered RESOURCE_EXHAUSTED before it is parsed. A reply body over it is replaced by a
    small RESOURCE_EXHAUSTED one: over the broker's limit, the broker would close the worker's
    channel over it (406), losing the ack with it, and the request would come back, and its
    handler run again, for ever.

    ``require_caller``: a request without a ``user_id`` is answered UNAUTHENTICATED. The
    servicer's ``authorize`` hook, when it overrides the base class's, decides per call
    (docs/security.md).

    ``reflection``: answer ``leveret.describe`` with the service's definition (when the
    generated spec carries one). ``on_drift``: ``"warn"`` logs a caller generated from another
    contract of the method once per pair of fingerprints and serves it; ``"reject"`` answers it
    FAILED_PRECONDITION.
    """

    def __init__(
        self,
        service: ServiceSpec,
        servicer: object,
        *,
        max_message_size: int = MAX_MESSAGE_SIZE,
        middleware: Sequence[object] | None = None,
        queue: str | None = None,
        log_calls: bool = True,
        require_caller: bool = False,
        reflection: bool = True,
        on_drift: str = "warn",
    ) -> None:
        if on_drift not in ("warn", "reject"):
            raise ConfigurationError(f"on_drift is 'warn' or 'reject', not {on_drift!r}")
        self.service = service
        self.on_drift = on_drift
        # one per process, shared by its workers: "once per pair" means once per process
        self._drifts = SERVER_DRIFTS
        #: The reply to ``leveret.describe``, or None when this worker does not answer it.
        self.description = describe(service) if reflection else None
        self.max_message_size = max_message_size
        self.require_caller = require_caller
        self._authorize = _authorizer(service, servicer)
        #: Log one record per finished call (see :meth:`finish`); when False, only the ERROR ones.
        self.log_calls = log_calls
        self.is_async: bool | None = None
        self._handlers: dict[str, Callable[[BaseModel, CallContext], Any]] = {}
        # A generated Async...Servicer serves on the event loop. A handler of it that is not a
        # coroutine function runs on a thread, so that it cannot block the loop (and its
        # heartbeats); what it returns is awaited if it can be (a plain decorator that hides
        # the coroutine function). Elsewhere a handler is what it says it is: a decorator
        # decides by what it returns, not by what it wraps (``asyncio.run`` inside a sync
        # wrapper, ``asyncio.to_thread`` inside an async one).
        declared_async = isinstance(servicer, AsyncServicer)
        for method in service.methods:
            handler = getattr(servicer, method.python_name, None)
            if not callable(handler) or getattr(handler, "__isabstractmethod__", False):
                raise ConfigurationError(
                    f"{type(servicer).__name__} does not implement {method.python_name!r}"
                )
            is_async = inspect.iscoroutinefunction(handler)
            if declared_async and not is_async:
                handler, is_async = _off_the_loop(handler), True
            if self.is_async is None:
                self.is_async = is_async
            elif self.is_async != is_async:
                raise ConfigurationError(
                    f"{type(servicer).__name__}: mix of async and sync handlers; "
                    "subclass the generated Async...Servicer for coroutines"
                )
            self._handlers[method.name] = handler
        chain = check_middleware(
            middleware, is_async=bool(self.is_async), where=type(servicer).__name__
        )
        # A call refused across contracts never reaches the chain: told to it here instead.
        self._drift_refused: tuple[Callable[[ContractDrift], object], ...] = tuple(
            hook for hook in (getattr(m, "drift_refused", None) for m in chain) if callable(hook)
        )
        if chain:
            # The chain replaces each handler: the worker runs a Call's handler as before, and
            # with no middleware nothing at all is added to the call path.
            for method in service.methods:
                self._handlers[method.name] = _chained(
                    chain,
                    service,
                    method,
                    self._handlers[method.name],
                    queue or service.queue,
                    bool(self.is_async),
                )
        #: Which methods declare each error name, for the warning about undeclared errors.
        self._declaring: dict[str, list[str]] = {}
        for method in service.methods:
            for error in method.errors:
                if error.error_name:
                    self._declaring.setdefault(error.error_name, []).append(method.name)

    def accept(self, delivery: Delivery) -> Call | Outcome:
        accepted = self._accept(delivery)
        if isinstance(accepted, Outcome):
            reply = accepted.reply
            method = self.service.by_name.get(delivery.method or "")
            if reply is not None and reply.fingerprint is None and method is not None:
                # a refusal of a known method says which contract this worker serves too
                accepted = Outcome(replace(reply, fingerprint=method.fingerprint), accepted.ack)
            return self._fit(accepted, delivery.method or "")
        return accepted

    def _describe(
        self, delivery: Delivery, reply_to: str | bytes, cid: str | bytes, caller: str | None
    ) -> Outcome:
        """The reply to ``leveret.describe``: through the deadline check, the servicer's
        ``authorize`` hook (as :data:`DESCRIBE_SPEC`: the definition says more than any
        validation error the hook keeps from a refused caller) and the size limit as any call;
        not through middleware (it runs no handler)."""
        headers = delivery.headers
        deadline = read_deadline(headers)
        if deadline is not None and time.time() >= deadline:
            return Outcome(None, ack=True)
        if self._authorize is not None:
            entries = read_metadata(headers)  # invalid metadata: the hook sees none
            context = CallContext(
                method=DESCRIBE_METHOD,
                correlation_id=_cid_text(cid),
                deadline=deadline,
                headers=headers,
                redelivered=delivery.redelivered,
                metadata=MappingProxyType(entries) if entries else EMPTY_METADATA,
                attempt=read_attempt(headers),
                caller=caller or None,
            )
            refused = self._authorized(DESCRIBE_SPEC, context, reply_to, cid)
            if refused is not None:
                return refused
        assert self.description is not None
        log.debug("described %s (cid=%r)", self.service.name, cid)
        reply = OutgoingReply(reply_to, cid, STATUS_OK, self.description, self.service.fingerprint)
        return Outcome(reply, ack=True)

    def _accept(self, delivery: Delivery) -> Call | Outcome:
        cid, reply_to = delivery.correlation_id, delivery.reply_to
        if not cid or not reply_to:
            # Nowhere to answer: drop it (dead-lettered if the queue has a DLX).
            log.warning(
                "rejected a request without %s (method=%r)",
                "correlation_id" if not cid else "reply_to",
                delivery.method,
            )
            return Outcome(None, ack=False)
        if delivery.undecodable is not None:
            log.warning(
                "rejected a request whose properties cannot be decoded (method=%r, cid=%r): %s",
                delivery.method,
                cid,
                delivery.undecodable,
            )
            return _refuse(
                reply_to,
                cid,
                InvalidArgument(f"undecodable request properties: {delivery.undecodable}"),
            )
        caller = delivery.user_id
        if caller is not None and not isinstance(caller, str):
            # Not UTF-8: no broker login is spelled so; nothing to trust or to match.
            caller = None
        if not caller and self.require_caller:
            log.warning(
                "refused a request without a user_id (method=%r, cid=%r): require_caller is on",
                delivery.method,
                cid,
            )
            return _refuse(
                reply_to,
                cid,
                Unauthenticated(
                    "this service requires callers to identify themselves: publish the request "
                    "with the AMQP user_id property set to your broker login"
                ),
            )
        if not _is_json(delivery.content_type):
            return _refuse(
                reply_to,
                cid,
                InvalidArgument(f"unsupported content type {delivery.content_type!r}"),
            )
        if delivery.method == DESCRIBE_METHOD and self.description is not None:
            return self._describe(delivery, reply_to, cid, caller)
        method = self.service.by_name.get(delivery.method or "")
        if method is None:
            return _refuse(
                reply_to,
                cid,
                Unimplemented(
                    f"{self.service.name} has no method {delivery.method!r}"
                    if delivery.method
                    else "the request names no method (the AMQP 'type' property is empty)"
                ),
            )
        deadline = read_deadline(delivery.headers)
        if deadline is not None and time.time() >= deadline:
            log.info("skipped %s (cid=%s): caller's deadline has passed", method.name, cid)
            return Outcome(None, ack=True)
        headers = delivery.headers
        metadata: Mapping[str, str] = EMPTY_METADATA
        attempt = read_attempt(headers)
        theirs = read_fingerprint(headers) if HEADER_FINGERPRINT in headers else None
        known = (deadline is not None) + (HEADER_ATTEMPT in headers) + (theirs is not None)
        ours = method.fingerprint
        drift = None
        if theirs is not None and ours is not None and theirs != ours:
            # Reported (and refused) only after authorize and the size check (wire protocol
            # §3, case 4d): a caller the hook refuses learns nothing of the contract, and a
            # refused call is not remembered in the drift log.
            drift = ContractDrift(self.service.name, method.name, theirs, ours)
        if len(headers) > known:  # more than rpc-deadline and rpc-attempt: look closer
            entries = read_metadata(headers)
            if entries is None:
                problem = metadata_error(headers)
                log.warning("refused a request with invalid metadata (cid=%r): %s", cid, problem)
                return _refuse(reply_to, cid, InvalidArgument(problem))
            if entries:
                metadata = MappingProxyType(entries)
        context = CallContext(
            method=method.name,
            correlation_id=_cid_text(cid),
            deadline=deadline,
            headers=headers,
            redelivered=delivery.redelivered,
            metadata=metadata,
            attempt=attempt,
            caller=caller or None,
            contract_drift=drift,
        )
        if self._authorize is not None:
            refused = self._authorized(method, context, reply_to, cid)
            if refused is not None:
                return refused
        size = len(delivery.body)
        if size > self.max_message_size:
            # Before anything reads the body (the checks above read properties only): a
            # request over the limit costs no JSON parsing or validation (gRPC's receive
            # limit). The caller's fault, not INTERNAL.
            limit = self.max_message_size
            log.warning(
                "refused a request of %d bytes, over max_message_size (%d) (method=%r, cid=%r)",
                size,
                limit,
                delivery.method,
                cid,
            )
            return _refuse(
                reply_to,
                cid,
                ResourceExhausted(
                    f"the request is {size} bytes, {size - limit} bytes over the worker's "
                    f"max_message_size ({limit} bytes); it was not read"
                ),
            )
        if drift is not None:
            refused = self._drift(drift, caller, reply_to, cid)
            if refused is not None:
                return refused
        try:
            request = decode_request(method, delivery.body)
        except InvalidArgument as exc:
            return _refuse(reply_to, cid, exc)
        return Call(method, self._handlers[method.name], request, context, reply_to, cid)

    def _drift(
        self, drift: ContractDrift, caller: str | None, reply_to: str | bytes, cid: str | bytes
    ) -> Outcome | None:
        """Report ``drift``; with ``on_drift="reject"`` the refusal, told to the middleware."""
        reject = self.on_drift == "reject"
        peer = f"caller {caller or '(no user_id)'}, cid {cid!r}"
        self._drifts.report(drift, peer, refused=reject)
        if not reject:
            return None
        for hook in self._drift_refused:
            try:
                hook(drift)
            except Exception:
                log.exception("middleware failed on a call refused across contracts (cid=%r)", cid)
        return _refuse(
            reply_to,
            cid,
            FailedPrecondition(
                f"{drift.service}.{drift.method}: the caller was generated from contract "
                f"{drift.client}, this worker serves {drift.server}; it refuses calls across "
                "contracts (on_drift='reject'): regenerate the client"
            ),
            drift.server,
        )

    def _authorized(
        self,
        method: MethodSpec[Any, Any],
        context: CallContext,
        reply_to: str | bytes,
        cid: str | bytes,
    ) -> Outcome | None:
        """None when the servicer's ``authorize`` lets the call through, else its refusal."""
        assert self._authorize is not None
        try:
            self._authorize(method, context)
        except RpcError as exc:
            log.warning(
                "authorize refused %s to caller %r with %s (cid=%s): %s",
                method.name,
                context.caller,
                exc.status.name,
                context.correlation_id,
                exc.message,
            )
            return _refuse(reply_to, cid, exc)
        except Exception:
            # A bug in the hook must not let the call through, nor say why on the wire.
            log.exception(
                "authorize failed for %s (caller %r, cid=%s); refusing the call with INTERNAL",
                method.name,
                context.caller,
                context.correlation_id,
            )
            return _refuse(
                reply_to,
                cid,
                Internal(
                    f"internal error in {method.name} (correlation id {context.correlation_id})"
                ),
            )
        return None

    def finish(
        self,
        call: Call,
        result: object = None,
        error: BaseException | None = None,
        *,
        started: float | None = None,
    ) -> Outcome:
        """The outcome of a handler's ``result`` or ``error``, and the call's one log record on
        ``leveret.server`` (``started``: :func:`time.perf_counter` when the handler began)."""
        outcome, error = self._finish(call, result, error)
        outcome = self._fit(outcome, call.method.name)
        reply = outcome.reply
        if reply is not None:
            level = _LEVELS.get(reply.status, logging.WARNING)
            if (self.log_calls or level >= logging.ERROR) and log.isEnabledFor(level):
                _log_call(self.service.name, call, reply.status, level, error, started)
        return outcome

    def _fit(self, outcome: Outcome, method: str) -> Outcome:
        """``outcome``, or RESOURCE_EXHAUSTED if its reply is over ``max_message_size``."""
        reply = outcome.reply
        if reply is None or len(reply.body) <= self.max_message_size:
            return outcome
        size, limit = len(reply.body), self.max_message_size
        log.error(
            "the reply of %s (cid=%r, status %s) is %d bytes, over max_message_size (%d): "
            "replying RESOURCE_EXHAUSTED instead",
            method,
            reply.correlation_id,
            reply.status,
            size,
            limit,
        )
        error = ResourceExhausted(
            f"the reply of {method} is {size} bytes, {size - limit} bytes over the worker's "
            f"max_message_size ({limit} bytes); it was not sent"
        )
        body = encode_exception(error)
        return Outcome(
            OutgoingReply(
                reply.reply_to, reply.correlation_id, error.status.name, body, reply.fingerprint
            ),
            ack=outcome.ack,
        )

    def _finish(
        self, call: Call, result: object, error: BaseException | None
    ) -> tuple[Outcome, BaseException | None]:
        """The outcome, and the exception behind it (what the handler raised, or what made its
        result or error impossible to send)."""
        cid, fingerprint = call.correlation_id, call.method.fingerprint
        if error is None:
            try:
                body = encode_result(call.method, result)
            except Exception as exc:
                error = exc
            else:
                reply = OutgoingReply(call.reply_to, cid, STATUS_OK, body, fingerprint)
                return Outcome(reply, ack=True), None
        if isinstance(error, RpcError):
            self._check_declared(call, error)
            try:
                body = encode_exception(error)
            except Exception as exc:  # e.g. details that are not JSON: the handler's bug
                error = exc
            else:
                reply = OutgoingReply(call.reply_to, cid, error.status.name, body, fingerprint)
                return Outcome(reply, ack=True), error
        # The traceback is logged by finish(), with the call's record: never sent.
        internal = Internal(
            f"internal error in {call.method.name} (correlation id {call.context.correlation_id})"
        )
        body = encode_exception(internal)
        return Outcome(
            OutgoingReply(call.reply_to, cid, internal.status.name, body, fingerprint), ack=True
        ), error

    def _check_declared(self, call: Call, error: RpcError) -> None:
        """Warn about a named error the method does not declare: its caller cannot tell it
        from a plain status (no typed exception, no typed details), and nothing else would
        show the mistake."""
        name = error.error_name
        if not name or any(declared.error_name == name for declared in call.method.errors):
            return
        others = [m for m in self._declaring.get(name, ()) if m != call.method.name]
        log.warning(
            "handler %s raised %s, which %s does not declare%s: the caller gets a plain %s "
            "(cid=%s)",
            call.method.name,
            name,
            call.method.name,
            f" (declared by {', '.join(others)})" if others else "",
            error.status.name,
            call.context.correlation_id,
        )


#: The level of a call's record by its reply's status: ERROR for the service's own failures
#: (nothing the caller can fix: a bug, lost data), INFO for OK, WARNING for the rest (the
#: caller's request, the state of things, or a dependency: declared errors included).
_LEVELS = {
    STATUS_OK: logging.INFO,
    StatusCode.INTERNAL.name: logging.ERROR,
    StatusCode.UNKNOWN.name: logging.ERROR,
    StatusCode.DATA_LOSS.name: logging.ERROR,
}


def _log_call(
    service: str,
    call: Call,
    status: str,
    level: int,
    error: BaseException | None,
    started: float | None,
) -> None:
    """One record for a finished call: its facts as :data:`leveret._logging.CALL_FIELDS`
    attributes, the traceback with an ERROR; never the request or the reply."""
    context = call.context
    duration = None if started is None else round((time.perf_counter() - started) * 1000, 3)
    exc_info = None
    # "(cid=...)" last: what a caller's INTERNAL error quotes, easy to grep for.
    text, args = "handler %s %s (cid=%s)", (call.method.name, f"replied {status}")
    if isinstance(error, _MiddlewareResultError):
        # Not the handler's failure, and the traceback would show only leveret's own frames.
        text, args = "%s: replied %s (cid=%s)", (str(error), status)
    elif level >= logging.ERROR and error is not None:
        exc_info = (type(error), error, error.__traceback__)
        args = (call.method.name, "failed")
    elif status == "OK" and context.expired():
        # The reply went out, but the caller had given up: its middleware, metrics and span
        # say DEADLINE_EXCEEDED, and so should a person reading this line.
        level = max(level, logging.WARNING)
        args = (call.method.name, "replied OK after the caller's deadline (the caller gave up)")
    log.log(
        level,
        text,
        *args,
        context.correlation_id,
        exc_info=exc_info,
        extra={
            "service": service,
            "method": call.method.name,
            "correlation_id": context.correlation_id,
            "status": status,
            "duration_ms": duration,
            "attempt": context.attempt,
            "caller": context.caller,
        },
    )


class _MiddlewareResultError(TypeError):
    """A worker middleware returned something that is not the method's response model: the
    middleware's bug, not the handler's (the client side refuses the same with ``Internal``)."""

    def __init__(self, middleware: str, method: MethodSpec[Any, Any], result: object) -> None:
        super().__init__(
            f"{method.name}: the middleware {middleware} returned {type(result).__name__}, "
            f"not {method.response.__name__}"
        )


class _Checked:
    """One middleware of a worker's chain, with what it returns checked, so that a wrong
    return is blamed on the middleware that made it (the innermost one, found first) and every
    middleware outside it sees the failure, as the caller will, instead of a result."""

    __slots__ = ("method", "middleware", "name")

    def __init__(self, middleware: Any, method: MethodSpec[Any, Any]) -> None:
        self.middleware = middleware
        self.method = method
        self.name = type(middleware).__name__

    def intercept(self, call: CallInfo, call_next: Callable[[CallInfo], BaseModel]) -> BaseModel:
        result = self.middleware.intercept(call, call_next)
        if not isinstance(result, self.method.response):
            raise _MiddlewareResultError(self.name, self.method, result)
        return result  # type: ignore[no-any-return]

    async def intercept_async(
        self, call: CallInfo, call_next: Callable[[CallInfo], Any]
    ) -> BaseModel:
        result = await self.middleware.intercept_async(call, call_next)
        if not isinstance(result, self.method.response):
            raise _MiddlewareResultError(self.name, self.method, result)
        return result  # type: ignore[no-any-return]


def _chained(
    chain: tuple[Any, ...],
    service: ServiceSpec,
    method: MethodSpec[Any, Any],
    handler: Callable[[BaseModel, CallContext], Any],
    queue: str,
    is_async: bool,
) -> Callable[[BaseModel, CallContext], Any]:
    """``handler`` inside the middleware chain: the same signature, for the worker to run.

    What the chain sees is what the caller gets. The innermost step hands the middleware the
    response model (also when the handler returned a dict), raises ``TypeError`` for a handler
    that returned anything else, and raises :class:`DeadlineExceeded` when the handler returned
    after the caller's deadline: the caller has given up with DEADLINE_EXCEEDED, and metrics or
    a span must not record the call as OK. On the wire nothing changes: when that very
    exception comes out of the chain, the worker replies with the handler's result, as it does
    without middleware (the reply goes nowhere useful, but a worker does not second-guess a
    handler's result). A middleware that returns something that is not the response model
    fails the call with INTERNAL, blamed on it (:class:`_MiddlewareResultError`).
    """
    checked = tuple(_Checked(middleware, method) for middleware in chain)

    def info(request: BaseModel, context: CallContext) -> CallInfo:
        return CallInfo(
            side="server",
            service=service,
            method=method,
            request=request,
            metadata=context.metadata,
            correlation_id=context.correlation_id,
            deadline=context.deadline,
            attempt=context.attempt,
            queue=queue,
            context=context,
            started=time.perf_counter(),
            headers=MappingProxyType(read_trace_headers(context.headers)),
            contract_drift=context.contract_drift,
        )

    def response(result: object, context: CallContext, late: list[Any]) -> BaseModel:
        if not isinstance(result, method.response):
            if not isinstance(result, Mapping):
                raise TypeError(
                    f"handler of {method.name!r} returned {type(result).__name__}, "
                    f"expected {method.response.__name__}"
                )
            result = method.response.model_validate(result)
        deadline = context.deadline
        if deadline is not None and time.time() >= deadline:
            exceeded = DeadlineExceeded(
                f"{method.name}: the handler returned after the caller's deadline"
            )
            late[:] = [exceeded, result]
            raise exceeded
        return result  # type: ignore[return-value]

    if is_async:

        async def run_handler_async(request: BaseModel, context: CallContext) -> Any:
            late: list[Any] = []

            async def last(call: CallInfo) -> BaseModel:
                result = handler(call.request, context)
                if inspect.isawaitable(result):
                    result = await result
                return response(result, context, late)

            try:
                return await run_async(checked, info(request, context), last, wrap=False)
            except DeadlineExceeded as exc:
                if late and exc is late[0]:
                    return late[1]
                raise

        return run_handler_async

    def run_handler(request: BaseModel, context: CallContext) -> Any:
        late: list[Any] = []

        def last(call: CallInfo) -> BaseModel:
            result = handler(call.request, context)
            if inspect.iscoroutine(result):
                result.close()  # no "never awaited" warning on top of the error
                raise TypeError(
                    f"handler of {method.name!r} returned a coroutine, but the servicer "
                    "runs sync handlers: subclass the generated Async...Servicer"
                )
            return response(result, context, late)

        try:
            return run_sync(checked, info(request, context), last, wrap=False)
        except DeadlineExceeded as exc:
            if late and exc is late[0]:
                return late[1]
            raise

    return run_handler


def _authorizer(
    service: ServiceSpec, servicer: object
) -> Callable[[MethodSpec[Any, Any], CallContext], None] | None:
    """The servicer's ``authorize`` hook, or None when it has none of its own (nothing runs
    per call then). A definition method whose Python name is ``authorize`` is a handler, not
    the hook."""
    if any(method.python_name == "authorize" for method in service.methods):
        return None
    hook = getattr(servicer, "authorize", None)
    if hook is None or not callable(hook):
        return None
    func = getattr(hook, "__func__", None)
    if func is Servicer.authorize or func is AsyncServicer.authorize:
        return None
    if inspect.iscoroutinefunction(hook):
        raise ConfigurationError(
            f"{type(servicer).__name__}.authorize is a coroutine function: it runs on the "
            "worker's event loop before the request is decoded, so it must be a plain method "
            "(decide from what is at hand; do I/O in a middleware or the handler)"
        )
    return hook  # type: ignore[no-any-return]


def _cid_text(cid: str | bytes) -> str:
    return cid if isinstance(cid, str) else cid.decode("utf-8", "backslashreplace")


def _refuse(
    reply_to: str | bytes, cid: str | bytes, error: RpcError, fingerprint: str | None = None
) -> Outcome:
    body = encode_exception(error)
    return Outcome(OutgoingReply(reply_to, cid, error.status.name, body, fingerprint), ack=False)


#: What the servicer's ``authorize`` hook is given for ``leveret.describe``, the built-in method
#: that answers with the service's definition: it reads, so it is idempotent; it has no
#: handler (``python_name`` empty), no request or response model of its own, no fingerprint.
DESCRIBE_SPEC: MethodSpec[BaseModel, BaseModel] = MethodSpec(
    name=DESCRIBE_METHOD,
    python_name="",
    request=BaseModel,
    response=BaseModel,
    idempotent=True,
)


def describe(service: ServiceSpec) -> bytes | None:
    """The body of the reply to ``leveret.describe``: the definition, its fingerprints and the
    leveret version (docs/wire-protocol.md, "Reflection"); None without a definition."""
    if service.definition is None:
        return None
    return json.dumps(
        {
            "definition": json.loads(service.definition),
            "fingerprint": service.fingerprint,
            "methods": {m.name: m.fingerprint for m in service.methods},
            "leveret": leveret_version(),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def _off_the_loop(
    handler: Callable[[BaseModel, CallContext], Any],
) -> Callable[[BaseModel, CallContext], Any]:
    """An async servicer's plain handler, run on a thread; its result awaited if awaitable."""

    @functools.wraps(handler)
    async def run(request: BaseModel, context: CallContext) -> Any:
        # The caller's context variables go with it (leveret.metadata(), a trace's span).
        run_in_context = contextvars.copy_context().run
        done = _PLAIN_HANDLER_THREADS.submit(run_in_context, handler, request, context)
        result = await asyncio.wrap_future(done)
        if inspect.isawaitable(result):
            result = await result
        return result

    return run


class _DaemonThreads:
    """Threads for async servicers' plain handlers: as many as run at once (the worker's
    concurrency bounds that), kept for the next ones, and daemon threads.

    Not asyncio's default executor: its threads are not daemons (a handler that never
    returns would keep the process alive past its grace period and a second signal), it has
    only ``min(32, CPUs + 4)`` of them (fewer than a worker's concurrency), and pika resolves
    host names on it (blocked handlers would delay a reconnect).
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[[], Any]]]
        self._jobs = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._count = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                self._count += 1
                threading.Thread(
                    target=self._serve, name=f"leveret-plain-{self._count}", daemon=True
                ).start()
        self._jobs.put((future, functools.partial(fn, *args)))
        return future

    def _serve(self) -> None:
        while True:
            future, job = self._jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    result = job()
                except BaseException as exc:  # the handler's failure is the call's
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, job  # nothing of a finished call stays alive with an idle thread
            with self._lock:
                self._idle += 1


_PLAIN_HANDLER_THREADS = _DaemonThreads()


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True
    return content_type.split(";", 1)[0].strip().lower() == CONTENT_TYPE
