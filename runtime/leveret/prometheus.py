"""Prometheus metrics for leveret calls: ``from leveret.prometheus import Metrics``.

Needs the ``prometheus`` extra (``pip install "leveret[prometheus]"``, prometheus-client).
:class:`Metrics` is a middleware for clients and workers, sync and asyncio, that counts and
times calls on a ``CollectorRegistry`` (the default one unless given). Its series follow the
gRPC middleware's names (``*_started_total``, ``*_handled_total{code}``,
``*_handling_seconds``) under the ``leveret_`` prefix; every label value is bounded: the
service's name, a method of its definition and a status name. See docs/operating.md,
"Prometheus".
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import start_http_server
from pydantic import BaseModel

from leveret._breaker import BreakerState, CircuitBreaker
from leveret._drift import ContractDrift
from leveret._errors import ConfigurationError, RpcError
from leveret._health import address, port_in_use
from leveret._middleware import AsyncNext, CallInfo, Middleware, SyncNext

__all__ = ["DEFAULT_BUCKETS", "OTHER", "Metrics", "MetricsServer"]

#: prometheus-client's own defaults, 5 ms to 10 s: "a typical web/rpc request", and the bucket
#: advice of OpenTelemetry's RPC duration metrics.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip

#: The ``method`` label of a method its service's definition does not name.
OTHER = "other"

_LABELS = ("service", "method")
_CODED = ("service", "method", "code")


class _Series:
    """The metric families of one registry: registered once, whoever asks for them."""

    def __init__(self, registry: CollectorRegistry, buckets: tuple[float, ...]) -> None:
        def counter(name: str, doc: str, labels: tuple[str, ...] = _LABELS) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        self.server_started = counter(
            "leveret_server_started_total", "Calls a worker started handling."
        )
        self.server_handled = counter(
            "leveret_server_handled_total", "Calls a worker handled, by status.", _CODED
        )
        self.server_seconds = Histogram(
            "leveret_server_handling_seconds",
            "Time a worker spent handling a call (middleware and handler), in seconds.",
            _LABELS,
            registry=registry,
            buckets=buckets,
        )
        self.server_in_flight = Gauge(
            "leveret_server_in_flight",
            "Calls a worker is handling now.",
            _LABELS,
            registry=registry,
        )
        self.client_started = counter(
            "leveret_client_started_total", "Attempts a client started (retries included)."
        )
        self.client_handled = counter(
            "leveret_client_handled_total", "Attempts a client finished, by status.", _CODED
        )
        self.client_seconds = Histogram(
            "leveret_client_handling_seconds",
            "Time from sending an attempt to its outcome at the client, in seconds.",
            _LABELS,
            registry=registry,
            buckets=buckets,
        )
        self.client_retries = counter(
            "leveret_client_retries_total", "Attempts after the first one (retries)."
        )
        self.client_circuit_open = Gauge(
            "leveret_client_circuit_open",
            "1 while a client's circuit breaker is not closed (open or half-open), else 0.",
            ("service",),
            registry=registry,
        )
        self.contract_drift = counter(
            "leveret_contract_drift_total",
            "Calls whose caller and worker were generated from different contracts of the "
            "method (their rpc-fingerprint headers differ), by the side that saw it.",
            ("service", "method", "side"),
        )
        self.buckets = buckets
        # service name -> the breakers of the clients of that service that carry this registry
        self.breakers: dict[str, weakref.WeakSet[CircuitBreaker]] = {}
        self.lock = threading.Lock()


_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, _Series] = weakref.WeakKeyDictionary()
_by_registry_lock = threading.Lock()


def _series(registry: CollectorRegistry, buckets: tuple[float, ...]) -> _Series:
    # A second Metrics on the same registry (one for a client, one for a worker, say) shares
    # the families: registering them again would raise "Duplicated timeseries".
    with _by_registry_lock:
        series = _by_registry.get(registry)
        if series is None:
            series = _by_registry[registry] = _Series(registry, buckets)
        elif series.buckets != buckets:
            raise ConfigurationError(
                "Metrics: this registry already has leveret's histograms with other buckets"
            )
        return series


class _Children:
    """The labelled children of one (side, service, method): looked up once, not per call."""

    __slots__ = (
        "handled", "handled_family", "in_flight", "labels", "retries", "seconds", "started",
    )  # fmt: skip

    def __init__(
        self,
        started: Counter,
        handled: Counter,
        seconds: Histogram,
        in_flight: Gauge | None,
        retries: Counter | None,
        labels: tuple[str, str],
    ) -> None:
        self.labels = labels
        self.started = started.labels(*labels)
        self.handled_family = handled
        self.handled: dict[str, Counter] = {"OK": handled.labels(*labels, "OK")}
        self.seconds = seconds.labels(*labels)
        self.in_flight = in_flight.labels(*labels) if in_flight is not None else None
        self.retries = retries.labels(*labels) if retries is not None else None

    def code(self, name: str) -> Counter:
        child = self.handled.get(name)
        if child is None:
            # Status names are a closed set of 17, so this dict stays small.
            child = self.handled[name] = self.handled_family.labels(*self.labels, name)
        return child


def _code(exc: BaseException) -> str:
    if isinstance(exc, RpcError):
        return exc.status.name
    if isinstance(exc, Exception):
        # A worker replies INTERNAL to anything else a handler raises; a client's chain
        # turns it into Internal too.
        return "INTERNAL"
    return "CANCELLED"  # asyncio.CancelledError, KeyboardInterrupt: the call was abandoned


class Metrics(Middleware):
    """Prometheus metrics for every call of a client or worker it is given to as middleware.

    ``registry`` is where the series live (prometheus-client's default ``REGISTRY`` unless
    given; a test passes its own ``CollectorRegistry()``). Several instances may share a
    registry. Put it first in the middleware list to time the whole chain.

    On a client the chain runs once per attempt, so the client series count attempts:
    ``leveret_client_started_total`` minus ``leveret_client_retries_total`` is the calls
    made. A circuit breaker of a client built with this middleware is watched by
    ``leveret_client_circuit_open``; :meth:`watch_breaker` adds one by hand.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        self.registry = REGISTRY if registry is None else registry
        self._series = _series(self.registry, tuple(float(b) for b in buckets))
        self._children: dict[tuple[str, str, str], _Children] = {}
        self._lock = threading.Lock()

    # -- children -------------------------------------------------------------------------

    def _for(self, call: CallInfo) -> _Children:
        service = call.service
        name = call.method.name
        key = (call.side, service.name, name)
        children = self._children.get(key)
        if children is not None:
            return children
        with self._lock:
            children = self._children.get(key)
            if children is not None:
                return children
            # The method label comes only from the definition: a name it does not list
            # (which a worker refuses before any middleware) is never a new series.
            method = name if name in service.by_name else OTHER
            # Every method of the service at zero from the start, so that rate() starts at 0.
            for known in service.by_name:
                self._make(call.side, service.name, known)
            self._make(call.side, service.name, method)
            # A name outside the definition is not kept as a key either: memory stays bounded.
            return self._children[(call.side, service.name, method)]

    def _make(self, side: str, service: str, method: str) -> None:
        if (side, service, method) in self._children:
            return
        s = self._series
        if side == "server":
            made = _Children(
                s.server_started, s.server_handled, s.server_seconds, s.server_in_flight, None,
                (service, method),
            )  # fmt: skip
        else:
            made = _Children(
                s.client_started, s.client_handled, s.client_seconds, None, s.client_retries,
                (service, method),
            )  # fmt: skip
        self._children[(side, service, method)] = made

    # -- circuit breakers -----------------------------------------------------------------

    def watch_breaker(self, service: str, breaker: CircuitBreaker) -> None:
        """Report ``breaker``'s state as ``leveret_client_circuit_open{service}`` (1 while it
        is not closed). Clients built with this middleware call it for their own breaker."""
        series = self._series
        with series.lock:
            watched = series.breakers.get(service)
            if watched is None:
                watched = series.breakers[service] = weakref.WeakSet()
                # Read at scrape time, so that the gauge follows the breaker's clock (open
                # turning half-open) without a call to notice it. Several clients of one
                # service: open if any of their breakers is.
                series.client_circuit_open.labels(service).set_function(_any_open(watched))
            watched.add(breaker)

    # -- the middleware -------------------------------------------------------------------

    def _begin(self, call: CallInfo) -> _Children:
        children = self._for(call)
        children.started.inc()
        if children.in_flight is not None:  # a server's
            children.in_flight.inc()
        elif call.attempt and children.retries is not None:
            children.retries.inc()
        return children

    def _finish(self, children: _Children, begun: float, code: str, call: CallInfo) -> None:
        children.seconds.observe(time.perf_counter() - begun)
        children.code(code).inc()
        if children.in_flight is not None:
            children.in_flight.dec()
        if call.contract_drift is not None:
            self._series.contract_drift.labels(*children.labels, call.side).inc()

    def drift_refused(self, drift: ContractDrift) -> None:
        """A call a worker refused across contracts (``on_drift="reject"``): counted in
        ``leveret_contract_drift_total`` as every drifted call is, though it ran no chain.
        The method is one of the worker's definition (the drift names it only then)."""
        self._series.contract_drift.labels(drift.service, drift.method, "server").inc()

    # A try statement in each method rather than a shared context manager: this runs on every
    # call, and a generator-based context manager costs several microseconds more.
    def intercept(self, call: CallInfo, call_next: SyncNext) -> BaseModel:
        children = self._begin(call)
        begun = time.perf_counter()
        try:
            result = call_next(call)
        except BaseException as exc:
            self._finish(children, begun, _code(exc), call)
            raise
        self._finish(children, begun, "OK", call)
        return result

    async def intercept_async(self, call: CallInfo, call_next: AsyncNext) -> BaseModel:
        children = self._begin(call)
        begun = time.perf_counter()
        try:
            result = await call_next(call)
        except BaseException as exc:
            self._finish(children, begun, _code(exc), call)
            raise
        self._finish(children, begun, "OK", call)
        return result


def _any_open(breakers: weakref.WeakSet[CircuitBreaker]) -> Callable[[], float]:
    def value() -> float:
        return float(any(b.state is not BreakerState.CLOSED for b in list(breakers)))

    return value


# -- /metrics over HTTP ---------------------------------------------------------------------


class MetricsServer:
    """``/metrics`` of ``registry`` over HTTP on a daemon thread (prometheus-client's server).

    The port is bound at construction: a port in use is ``ConfigurationError`` before the
    worker starts, never a worker that runs without the metrics it was asked for."""

    def __init__(self, *, port: int, host: str, registry: CollectorRegistry | None = None) -> None:
        try:
            server, thread = start_http_server(
                port, host, registry=REGISTRY if registry is None else registry
            )
        except OSError as exc:
            raise port_in_use("metrics", host, port, exc) from None
        self._server: Any = server
        self._thread = thread
        self.host = host
        self.port: int = server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{address(self.host, self.port)}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)
