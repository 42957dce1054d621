"""Test helpers: services started for a test, and a servicer double. See ``docs/testing.md``.

:class:`ServiceStarter` starts servicers on one URL, each on a queue of its own, and stops them
(and deletes their queues on a real broker) at :meth:`~ServiceStarter.close`; the pytest plugin's
``leveret_service`` fixture is one per test. It needs no pytest.

:class:`Recorder` is a servicer double: it wraps a real servicer, or answers from canned
responses, and keeps the typed request of every call it handles. Serve it like any servicer
(``leveret.Worker``, or the pytest plugin's ``leveret_service`` fixture) and call it with the
generated client: the requests then go through the same validation and encoding as in
production, which a mock of the client would skip. That is also why there is no separate client
double: a real client against a served :class:`Recorder` with canned responses is one, and it
cannot drift from the definition.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Self

from pydantic import BaseModel

from leveret._context import CallContext
from leveret._errors import ConfigurationError, Unimplemented
from leveret._servicer import AsyncServicer, Servicer
from leveret._spec import MethodSpec, ServiceSpec
from leveret._url import is_memory, resolve_url
from leveret._worker import Worker

__all__ = ["RecordedCall", "Recorder", "ServiceStarter", "StartedService"]


@dataclass(frozen=True, slots=True)
class StartedService:
    """A servicer being served for a test: connect clients with
    ``Client.connect(svc.url, queue=svc.queue)``."""

    url: str
    queue: str
    worker: Worker

    @property
    def transport(self) -> str:
        """``"memory"`` or ``"amqp"``."""
        return "memory" if is_memory(self.url) else "amqp"


class ServiceStarter:
    """Starts servicers on ``url`` and stops them all on :meth:`close` (or leaving ``with``).

    Each servicer gets a queue of its own, ``<definition's queue>.test-<random>``, so that tests
    (and test runs) sharing a broker do not consume each other's requests; on a real broker the
    queue is deleted after its worker stops, with whatever is left in it. A ``queue`` given to
    :meth:`__call__` is used as it is and never deleted: it may be somebody else's.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        self.started: list[StartedService] = []
        self._to_delete: list[str] = []

    def __call__(
        self, servicer: object, *, queue: str | None = None, **worker_options: Any
    ) -> StartedService:
        """Serve ``servicer`` (sync or asyncio) on a background worker until :meth:`close`.

        ``worker_options`` go to :class:`leveret.Worker` (``concurrency``, ``prefetch``, ...)."""
        if queue is None:
            spec = getattr(type(servicer), "service", None)
            if not isinstance(spec, ServiceSpec):
                raise ConfigurationError(
                    f"{type(servicer).__name__} is not a generated servicer (no 'service' spec)"
                )
            queue = f"{spec.queue}.test-{uuid.uuid4().hex[:12]}"
            if not is_memory(self.url):
                # Before starting: a worker that fails half-way may have declared it already.
                self._to_delete.append(queue)
        worker = Worker(servicer, url=self.url, queue=queue, **worker_options)
        try:
            worker.start()
        except BaseException:
            if queue in self._to_delete:
                self._to_delete.remove(queue)
                # Its own error says more (broker unreachable, say) than this cleanup's would.
                with contextlib.suppress(Exception):
                    _delete_queue(self.url, queue)
            raise
        service = StartedService(self.url, queue, worker)
        self.started.append(service)
        return service

    def close(self) -> None:
        """Stop every worker (gracefully, newest first), then delete the queues named here."""
        errors: list[BaseException] = []
        while self.started:
            try:
                self.started.pop().worker.stop()
            except Exception as exc:
                errors.append(exc)
        while self._to_delete:
            try:
                _delete_queue(self.url, self._to_delete.pop())
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _delete_queue(url: str, name: str) -> None:
    from leveret._amqp._admin import delete_queue  # pika only when a real broker is used

    delete_queue(url, name)


#: A canned answer: the response model, an exception to raise, or a function of the request and
#: the context that returns the response (or raises).
Canned = BaseModel | BaseException | Callable[[Any, CallContext], Any]


@dataclass(frozen=True, slots=True)
class RecordedCall:
    """One call a :class:`Recorder` handled: the servicer method's name (``python_name``, as in
    the client), the validated request model, and the call's context."""

    method: str
    request: BaseModel
    context: CallContext


class Recorder:
    """A servicer that records each call, then delegates it or answers from canned responses.

    ``Recorder(Inventory())`` serves as ``Inventory()`` does and records every request.
    ``Recorder(InventoryServicer, reserve=Reservation(...))`` needs no implementation: each
    keyword names a method and gives its answer (a response model, an exception to raise, or a
    function ``(request, context) -> response``); a method without one fails with
    ``UNIMPLEMENTED``. Keywords given with a servicer instance override its methods. The
    recorder is asyncio when the servicer (instance or generated class) is.

    The record is thread-safe; handlers may run on worker threads or the worker's loop.
    """

    service: ClassVar[ServiceSpec]
    # By id: a spec lives as long as its generated module, and the cached class refers to it.
    _classes: ClassVar[dict[tuple[int, bool], type[Recorder]]] = {}
    _classes_lock: ClassVar[threading.Lock] = threading.Lock()

    def __new__(cls, target: object, /, **responses: Canned) -> Recorder:
        spec = getattr(target if isinstance(target, type) else type(target), "service", None)
        if not isinstance(spec, ServiceSpec):
            raise ConfigurationError(
                f"{_name(target)} is not a generated servicer (class or instance)"
            )
        is_async = _is_async(target, spec)
        with cls._classes_lock:
            subclass = cls._classes.get((id(spec), is_async))
            if subclass is None:
                subclass = _make_class(spec, is_async)
                cls._classes[(id(spec), is_async)] = subclass
        return super().__new__(subclass)

    def __init__(self, target: object, /, **responses: Canned) -> None:
        methods = {m.python_name: m for m in self.service.methods}
        unknown = sorted(set(responses) - set(methods))
        if unknown:
            raise ConfigurationError(
                f"{self.service.name} has no method {', '.join(map(repr, unknown))} "
                f"(its methods: {', '.join(sorted(methods))})"
            )
        self.target = None if isinstance(target, type) else target
        self._responses = dict(responses)
        self._calls: list[RecordedCall] = []
        self._changed = threading.Condition()

    # -- the record ------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """Every call so far, in the order the handlers started."""
        with self._changed:
            return list(self._calls)

    def requests(self, method: str) -> list[Any]:
        """The typed requests of the calls to ``method`` (its Python name), in order."""
        if method not in {m.python_name for m in self.service.methods}:
            raise ConfigurationError(f"{self.service.name} has no method {method!r}")
        return [call.request for call in self.calls if call.method == method]

    def wait(self, count: int, timeout: float = 5.0) -> list[RecordedCall]:
        """Wait until at least ``count`` calls have come, for calls the test does not await
        itself (made from another thread or process); AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._calls) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.service.name}: {len(self._calls)} call(s) in {timeout} s, "
                        f"expected {count}"
                    )
                self._changed.wait(left)
            return list(self._calls)

    def reset(self) -> None:
        """Forget the calls recorded so far."""
        with self._changed:
            self._calls.clear()

    # -- handling --------------------------------------------------------------------------

    def _record(self, method: MethodSpec[Any, Any], request: Any, context: CallContext) -> None:
        with self._changed:
            self._calls.append(RecordedCall(method.python_name, request, context))
            self._changed.notify_all()

    def _answer(self, method: MethodSpec[Any, Any], request: Any, context: CallContext) -> Any:
        """The canned answer's result (may be an awaitable), or the wrapped servicer's."""
        canned = self._responses.get(method.python_name, _MISSING)
        if canned is _MISSING:
            if self.target is None:
                raise Unimplemented(
                    f"Recorder of {self.service.name} has no response for {method.python_name!r}"
                )
            return getattr(self.target, method.python_name)(request, context)
        if isinstance(canned, BaseException):
            raise canned
        if isinstance(canned, BaseModel):
            return canned
        return canned(request, context)

    def __repr__(self) -> str:
        return f"<Recorder of {self.service.name}: {len(self.calls)} call(s)>"


_MISSING: Any = object()


def _name(target: object) -> str:
    return target.__name__ if isinstance(target, type) else type(target).__name__


def _is_async(target: object, spec: ServiceSpec) -> bool:
    if isinstance(target, type):
        return issubclass(target, AsyncServicer)
    if isinstance(target, AsyncServicer):
        return True
    handlers = [getattr(target, m.python_name, None) for m in spec.methods]
    return any(
        inspect.iscoroutinefunction(inspect.unwrap(handler))
        for handler in handlers
        if callable(handler)
    )


def _make_class(spec: ServiceSpec, is_async: bool) -> type[Recorder]:
    """A Recorder subclass with one handler per method of ``spec``: the worker finds handlers
    and the service spec on the servicer's class."""
    namespace: dict[str, Any] = {"service": spec}
    for method in spec.methods:
        namespace[method.python_name] = (_async_handler if is_async else _sync_handler)(method)
    base: type = AsyncServicer if is_async else Servicer
    name = f"{spec.name}Recorder"
    return type(name, (Recorder, base), namespace)


def _sync_handler(method: MethodSpec[Any, Any]) -> Callable[[Recorder, Any, CallContext], Any]:
    def handle(self: Recorder, request: Any, context: CallContext) -> Any:
        self._record(method, request, context)
        return self._answer(method, request, context)

    handle.__name__ = method.python_name
    return handle


def _async_handler(method: MethodSpec[Any, Any]) -> Callable[[Recorder, Any, CallContext], Any]:
    async def handle(self: Recorder, request: Any, context: CallContext) -> Any:
        self._record(method, request, context)
        result = self._answer(method, request, context)
        if inspect.isawaitable(result):
            result = await result
        return result

    handle.__name__ = method.python_name
    return handle
