"""The server's decisions, without I/O: which handler, what to reply, whether to ack.

A transport feeds :meth:`Dispatcher.accept` a :class:`Delivery`; it gets back either a ready
:class:`Outcome` (bad message, unknown method, caller gone) or a :class:`Call` to run. Running the
handler is the caller's business (thread pool or event loop); :meth:`Dispatcher.finish` turns its
result or exception into an :class:`Outcome`.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from leveret._codec import decode_request, encode_exception, encode_result
from leveret._context import CallContext
from leveret._errors import ConfigurationError, Internal, InvalidArgument, RpcError, Unimplemented
from leveret._spec import MethodSpec, ServiceSpec
from leveret._wire import CONTENT_TYPE, STATUS_OK, Delivery, OutgoingReply, read_deadline

__all__ = ["Call", "Dispatcher", "Outcome"]

log = logging.getLogger("leveret.server")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to do with a delivery: publish ``reply`` (if any), then ack or reject (no requeue)."""

    reply: OutgoingReply | None
    ack: bool


@dataclass(frozen=True, slots=True)
class Call:
    """A validated request, ready for its handler."""

    method: MethodSpec[Any, Any]
    handler: Callable[[BaseModel, CallContext], Any]
    request: BaseModel
    context: CallContext
    reply_to: str


class Dispatcher:
    """Routes deliveries of one service to the handlers of one servicer instance."""

    def __init__(self, service: ServiceSpec, servicer: object) -> None:
        self.service = service
        self.is_async: bool | None = None
        self._handlers: dict[str, Callable[[BaseModel, CallContext], Any]] = {}
        for method in service.methods:
            handler = getattr(servicer, method.python_name, None)
            if not callable(handler) or getattr(handler, "__isabstractmethod__", False):
                raise ConfigurationError(
                    f"{type(servicer).__name__} does not implement {method.python_name!r}"
                )
            is_async = inspect.iscoroutinefunction(handler)
            if self.is_async is None:
                self.is_async = is_async
            elif self.is_async != is_async:
                raise ConfigurationError(
                    f"{type(servicer).__name__}: mix of async and sync handlers; "
                    "subclass the generated Async...Servicer for coroutines"
                )
            self._handlers[method.name] = handler

    def accept(self, delivery: Delivery) -> Call | Outcome:
        cid, reply_to = delivery.correlation_id, delivery.reply_to
        if not cid or not reply_to:
            # Nowhere to answer: drop it (dead-lettered if the queue has a DLX).
            log.warning(
                "rejected a request without %s (method=%r)",
                "correlation_id" if not cid else "reply_to",
                delivery.method,
            )
            return Outcome(None, ack=False)
        if not _is_json(delivery.content_type):
            return _refuse(
                reply_to,
                cid,
                InvalidArgument(f"unsupported content type {delivery.content_type!r}"),
            )
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
        try:
            request = decode_request(method, delivery.body)
        except InvalidArgument as exc:
            return _refuse(reply_to, cid, exc)
        context = CallContext(
            method=method.name,
            correlation_id=cid,
            deadline=deadline,
            headers=delivery.headers,
            redelivered=delivery.redelivered,
        )
        return Call(method, self._handlers[method.name], request, context, reply_to)

    def finish(
        self, call: Call, result: object = None, error: BaseException | None = None
    ) -> Outcome:
        cid = call.context.correlation_id
        if error is None:
            try:
                body = encode_result(call.method, result)
            except Exception as exc:
                error = exc
            else:
                return Outcome(OutgoingReply(call.reply_to, cid, STATUS_OK, body), ack=True)
        if isinstance(error, RpcError):
            try:
                body = encode_exception(error)
            except Exception as exc:  # e.g. details that are not JSON: the handler's bug
                error = exc
            else:
                reply = OutgoingReply(call.reply_to, cid, error.status.name, body)
                return Outcome(reply, ack=True)
        log.error(
            "handler %s failed (cid=%s)",
            call.method.name,
            cid,
            exc_info=(type(error), error, error.__traceback__),
        )
        internal = Internal(f"internal error in {call.method.name} (correlation id {cid})")
        return Outcome(
            OutgoingReply(call.reply_to, cid, internal.status.name, encode_exception(internal)),
            ack=True,
        )


def _refuse(reply_to: str, cid: str, error: RpcError) -> Outcome:
    return Outcome(
        OutgoingReply(reply_to, cid, error.status.name, encode_exception(error)), ack=False
    )


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True
    return content_type.split(";", 1)[0].strip().lower() == CONTENT_TYPE
