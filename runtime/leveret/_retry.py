"""When a failed call is tried again: retry policy and retry budget.

A call is retried only on ``UNAVAILABLE``, never past its deadline, with exponential backoff and
jitter, and only when that is safe: the method is idempotent, or the broker said the request
never reached a queue (``never_sent``: returned, nacked, or no connection at all). A request
the broker refused by closing the channel over it (406 PRECONDITION_FAILED and the like) is
never retried: it would be refused again until the deadline. Retries of failures the service or
broker reported are charged to a token bucket (gRPC's retry throttling): when most recent calls
failed, retries stop, so that a failing service is not stormed. Connection trouble (no
connection, or a connection lost under calls in flight) is throttled by the transport's
reconnect backoff instead, and is not charged. A call refused because no worker consumes its
queue is retried when the method is idempotent (a rolling restart is ridden out within the
deadline), not charged either: nothing reached the service.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from leveret._backoff import Backoff
from leveret._errors import (
    ORIGIN_LOCAL,
    ORIGIN_LOST,
    ORIGIN_NO_CONSUMER,
    ORIGIN_NO_ROUTE,
    ORIGIN_REFUSED,
    RpcError,
    Unavailable,
)

__all__ = ["RetryBudget", "RetryPolicy"]


class RetryBudget:
    """gRPC-style retry throttling: a token bucket of ``max_tokens``.

    Each failed attempt takes a token, each success gives back ``token_ratio``; retries are
    allowed while more than half the tokens are left. Thread-safe.
    """

    def __init__(self, max_tokens: float = 10.0, token_ratio: float = 0.1) -> None:
        self.max_tokens = max_tokens
        self.token_ratio = token_ratio
        self._tokens = max_tokens
        self._lock = threading.Lock()

    @property
    def tokens(self) -> float:
        return self._tokens

    def record_failure(self) -> None:
        with self._lock:
            self._tokens = max(0.0, self._tokens - 1.0)

    def record_success(self) -> None:
        with self._lock:
            self._tokens = min(self.max_tokens, self._tokens + self.token_ratio)

    def allows_retry(self) -> bool:
        return self._tokens > self.max_tokens / 2


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How calls of one client are retried; ``RetryPolicy(max_attempts=1)`` turns retries off.

    ``max_attempts`` bounds the attempts of a call whose failures the broker or the service
    reported (the first attempt counts); connection trouble is bounded by the call's deadline,
    or by ``max_attempts`` too for a call without one.
    """

    max_attempts: int = 5
    backoff: Backoff = field(
        default_factory=lambda: Backoff(initial=0.05, multiplier=2.0, maximum=2.0, jitter=0.2)
    )
    budget: RetryBudget = field(default_factory=RetryBudget, compare=False)

    def next_delay(
        self, error: RpcError, idempotent: bool, attempt: int, deadline: float | None
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None``: raise ``error``."""
        if self.max_attempts <= 1 or error._origin == ORIGIN_REFUSED:
            return None  # a request the broker refused would be refused again, whatever class
        if not isinstance(error, Unavailable) or not (idempotent or error.never_sent):
            return None
        if error._origin == ORIGIN_NO_CONSUMER and not idempotent:
            return None  # fail fast, as the caller asked by not waiting for a worker
        if error._origin == ORIGIN_NO_ROUTE and attempt >= 1:
            return None
        if error._origin not in (ORIGIN_LOCAL, ORIGIN_LOST, ORIGIN_NO_CONSUMER):
            # Connection trouble is throttled by the transport's reconnect backoff; the budget
            # protects a live service from retries of its own failures.
            self.budget.record_failure()
            if attempt + 1 >= self.max_attempts or not self.budget.allows_retry():
                return None
        elif deadline is None and attempt + 1 >= self.max_attempts:
            return None  # these are bounded by the deadline; without one, by this
        delay = self.backoff.delay(min(attempt, 16))
        if deadline is not None and time.time() + delay >= deadline:
            return None
        return delay

    def record_success(self) -> None:
        self.budget.record_success()
