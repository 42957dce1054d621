"""A circuit breaker per client (and so per service queue). Off unless a client is given one.

Closed: calls go through; a run of ``failure_threshold`` consecutive ``UNAVAILABLE`` or
``DEADLINE_EXCEEDED`` results opens it. Open: calls fail at once with ``Unavailable`` for
``reset_timeout`` seconds. Half-open: one probe call goes through; its success closes the
breaker, its failure opens it again. Thread-safe; shared by the tasks of an asyncio client.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Iterable

from leveret._errors import (
    ORIGIN_LOCAL,
    ORIGIN_NO_CONSUMER,
    DeadlineExceeded,
    RpcError,
    Unavailable,
    mark,
)
from leveret._logging import SafeLogger

__all__ = ["BreakerState", "CircuitBreaker", "announce"]

log = SafeLogger("leveret.client")  # logging never fails a call


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 5, reset_timeout: float = 10.0) -> None:
        if failure_threshold < 1 or reset_timeout <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout > 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._lock = threading.Lock()
        self._queue = ""  # the queue of the calls it guards, for its log records

    @property
    def state(self) -> BreakerState:
        with self._lock:
            if self._state is BreakerState.OPEN and self._cooled_down():
                return BreakerState.HALF_OPEN
            return self._state

    def _cooled_down(self) -> bool:
        return time.monotonic() - self._opened_at >= self.reset_timeout

    def before_call(self, queue: str) -> bool:
        """Raise ``Unavailable`` if the call may not go through now; True for the probe.

        Whatever happens to the call, its outcome must come back: ``record`` (with ``probe``
        as returned here), or ``abandon`` when it ended without one (cancelled, say).
        """
        self._queue = queue
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return False
            if self._state is BreakerState.OPEN and self._cooled_down():
                self._state = BreakerState.HALF_OPEN
                self._probing = False
            if self._state is BreakerState.HALF_OPEN and not self._probing:
                self._probing = True  # this call is the probe
                return True
            wait = max(0.0, self.reset_timeout - (time.monotonic() - self._opened_at))
        error = Unavailable(
            f"circuit breaker for {queue!r} is open after {self.failure_threshold} failures "
            f"in a row; failing fast (next probe in {wait:.1f} s)"
        )
        raise mark(error, ORIGIN_LOCAL)

    def record(self, error: RpcError | None, *, probe: bool = False) -> None:
        """Count the outcome of a call that went through ``before_call``."""
        # Nothing reached the service (no connection, this breaker refused the call, or no
        # worker consumes its queue: the consumer check already fails those fast, and counting
        # the retries that ride out a rolling restart would open the breaker over it).
        local = error is not None and error._origin in (ORIGIN_LOCAL, ORIGIN_NO_CONSUMER)
        trips = not local and isinstance(error, Unavailable | DeadlineExceeded)
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                # Once open, only the probe decides; calls that started before it opened do not.
                if not probe:
                    return
                self._probing = False
                if local:
                    return  # no verdict: the next call probes
                if trips:
                    self._open()
                else:
                    self._state = BreakerState.CLOSED
                    self._failures = 0
                changed = self._state
            elif local:
                return
            elif not trips:
                self._failures = 0
                return
            else:
                self._failures += 1
                if self._failures < self.failure_threshold:
                    return
                self._open()
                changed = self._state
        # Logged outside the lock: a slow log handler must not hold up the other callers.
        if changed is BreakerState.CLOSED:
            log.info("circuit breaker for %r closed: the probe call succeeded", self._queue)
        else:
            assert error is not None
            log.warning(
                "circuit breaker for %r opened%s (%s: %s); failing fast for %.1f s",
                self._queue,
                " again: the probe call failed"
                if probe
                else f" after {self.failure_threshold} failures in a row",
                error.status.name,
                error.message,
                self.reset_timeout,
                extra={"status": error.status.name},
            )

    def abandon(self, probe: bool) -> None:
        """A call ended without an outcome (cancelled, or a bug): let the next call probe."""
        if probe:
            with self._lock:
                self._probing = False

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = time.monotonic()
        self._probing = False


def announce(breaker: CircuitBreaker | None, service: str, middleware: Iterable[object]) -> None:
    """Give a client's ``breaker`` to each of its middleware that has a
    ``watch_breaker(service, breaker)`` method (``leveret.prometheus.Metrics``): the chain only
    sees calls, and a breaker that opens is exactly when there are none to see."""
    if breaker is None:
        return
    for entry in middleware:
        watch = getattr(entry, "watch_breaker", None)
        if callable(watch):
            watch(service, breaker)
