"""Retry decisions, the retry budget, the circuit breaker and backoff, without I/O."""

from __future__ import annotations

import random
import time

import pytest

import leveret
from leveret._backoff import Backoff
from leveret._breaker import BreakerState, CircuitBreaker
from leveret._errors import (
    ORIGIN_LOCAL,
    ORIGIN_LOST,
    ORIGIN_NACK,
    ORIGIN_NO_ROUTE,
    RpcError,
    mark,
)
from leveret._retry import RetryBudget, RetryPolicy

FAR = 4e9  # a deadline far away (year 2096)


def unavailable(origin: str | None = None) -> RpcError:
    error = leveret.Unavailable("x")
    return mark(error, origin) if origin else error


def test_backoff_grows_is_capped_and_jittered() -> None:
    backoff = Backoff(initial=0.1, multiplier=2, maximum=1.0, jitter=0.2)
    rng = random.Random(7)
    delays = [backoff.delay(n, rng) for n in range(8)]
    assert 0.08 <= delays[0] <= 0.12 and 0.16 <= delays[1] <= 0.24
    assert all(0.8 <= d <= 1.2 for d in delays[4:])
    assert len({round(d, 6) for d in delays[4:]}) > 1  # jitter: not in lockstep


@pytest.mark.parametrize(
    ("origin", "idempotent", "retried"),
    [
        (None, True, True),  # the service said UNAVAILABLE: idempotent methods only
        (None, False, False),
        (ORIGIN_LOST, True, True),  # lost in flight: it may have run, so idempotent only
        (ORIGIN_LOST, False, False),
        (ORIGIN_NACK, False, True),  # never reached a queue: safe for any method
        (ORIGIN_NO_ROUTE, False, True),
        (ORIGIN_LOCAL, False, True),
    ],
)
def test_what_is_retried(origin: str | None, idempotent: bool, retried: bool) -> None:
    delay = RetryPolicy().next_delay(unavailable(origin), idempotent, 0, FAR)
    assert (delay is not None) is retried


def test_other_statuses_are_never_retried() -> None:
    for error in (leveret.Internal("x"), leveret.DeadlineExceeded("x"), leveret.NotFound("x")):
        assert RetryPolicy().next_delay(error, True, 0, FAR) is None


def test_never_past_the_deadline() -> None:
    policy = RetryPolicy(backoff=Backoff(initial=1.0, jitter=0))
    assert policy.next_delay(unavailable(), True, 0, time.time() + 0.5) is None
    assert policy.next_delay(unavailable(), True, 0, time.time() + 5) == 1.0


def test_no_route_is_retried_once_only() -> None:
    policy = RetryPolicy()
    assert policy.next_delay(unavailable(ORIGIN_NO_ROUTE), False, 0, FAR) is not None
    assert policy.next_delay(unavailable(ORIGIN_NO_ROUTE), False, 1, FAR) is None


def test_max_attempts_bounds_reported_failures_not_connection_waits() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.next_delay(unavailable(), True, 1, FAR) is not None
    assert policy.next_delay(unavailable(), True, 2, FAR) is None
    assert policy.next_delay(unavailable(ORIGIN_LOCAL), True, 50, FAR) is not None
    assert RetryPolicy(max_attempts=1).next_delay(unavailable(ORIGIN_LOCAL), True, 0, FAR) is None


def test_without_a_deadline_connection_trouble_is_bounded_by_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    for origin in (ORIGIN_LOCAL, ORIGIN_LOST):
        assert policy.next_delay(unavailable(origin), True, 1, None) is not None
        assert policy.next_delay(unavailable(origin), True, 2, None) is None  # not forever


def test_budget_stops_retries_when_most_calls_fail_and_recovers_with_successes() -> None:
    policy = RetryPolicy(budget=RetryBudget(max_tokens=10, token_ratio=1.0))
    outcomes = [policy.next_delay(unavailable(), True, 0, FAR) for _ in range(6)]
    assert [o is not None for o in outcomes] == [True] * 4 + [False] * 2
    for _ in range(3):  # 4 tokens left; each success gives one back; a retry needs > 5 after
        policy.record_success()
    assert policy.next_delay(unavailable(), True, 0, FAR) is not None


def test_connection_trouble_is_not_charged_to_the_budget() -> None:
    budget = RetryBudget()
    policy = RetryPolicy(budget=budget)
    for _ in range(20):
        assert policy.next_delay(unavailable(ORIGIN_LOST), True, 0, FAR) is not None
        assert policy.next_delay(unavailable(ORIGIN_LOCAL), True, 0, FAR) is not None
    assert budget.tokens == budget.max_tokens


def test_breaker_opens_after_a_run_fails_fast_then_probes() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=0.05)
    breaker.before_call("q")
    breaker.record(leveret.DeadlineExceeded("slow"))
    breaker.before_call("q")
    breaker.record(unavailable(ORIGIN_LOST))
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(leveret.Unavailable, match="circuit breaker") as info:
        breaker.before_call("q")
    assert info.value.never_sent is True
    deadline = time.monotonic() + 2
    while breaker.state is not BreakerState.HALF_OPEN:
        assert time.monotonic() < deadline
    assert breaker.before_call("q") is True  # the probe
    with pytest.raises(leveret.Unavailable):
        breaker.before_call("q")  # only one probe at a time
    breaker.record(unavailable(), probe=True)  # the probe failed: open again
    assert breaker.state is BreakerState.OPEN


def test_breaker_closes_on_a_good_probe_and_ignores_other_errors() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.01)
    breaker.before_call("q")
    breaker.record(unavailable())
    deadline = time.monotonic() + 2
    while breaker.state is not BreakerState.HALF_OPEN:
        assert time.monotonic() < deadline
    probe = breaker.before_call("q")
    breaker.record(leveret.NotFound("x"), probe=probe)  # the service answered: it is up
    assert breaker.state is BreakerState.CLOSED


def test_a_run_is_consecutive() -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10)
    for error in (unavailable(), unavailable(), None, unavailable(), unavailable()):
        breaker.before_call("q")
        breaker.record(error)
    assert breaker.state is BreakerState.CLOSED


def _half_open(breaker: CircuitBreaker) -> None:
    breaker.before_call("q")
    breaker.record(unavailable())
    deadline = time.monotonic() + 2
    while breaker.state is not BreakerState.HALF_OPEN:
        assert time.monotonic() < deadline


def test_an_abandoned_probe_lets_the_next_call_probe() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.01)
    _half_open(breaker)
    probe = breaker.before_call("q")
    assert probe is True
    breaker.abandon(probe)  # cancelled: no outcome
    assert breaker.before_call("q") is True  # not stuck half-open with a probe that never ends


def test_once_open_only_the_probe_decides() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.01)
    breaker.before_call("q")  # a call that started while it was closed ...
    _half_open(breaker)
    probe = breaker.before_call("q")
    breaker.record(None)  # ... ends now: it neither closes the breaker
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record(leveret.Unavailable("late"))  # nor opens it again
    assert breaker.state is BreakerState.HALF_OPEN
    with pytest.raises(leveret.Unavailable):
        breaker.before_call("q")  # and it does not free a second probe
    breaker.record(None, probe=probe)
    assert breaker.state is BreakerState.CLOSED


def test_a_probe_refused_locally_gives_no_verdict() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.01)
    _half_open(breaker)
    probe = breaker.before_call("q")
    breaker.record(unavailable(ORIGIN_LOCAL), probe=probe)  # not connected: nothing was asked
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.before_call("q") is True
