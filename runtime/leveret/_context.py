"""The call context a handler receives beside its request."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from leveret._drift import ContractDrift

__all__ = ["EMPTY_METADATA", "CallContext"]

#: The metadata of a call that carries none (shared: it cannot be changed).
EMPTY_METADATA: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a handler knows about the call it serves.

    ``deadline`` is the caller's absolute deadline in Unix seconds (``None``: the caller waits
    forever). ``headers`` are the request's AMQP headers as received. ``metadata`` is the
    caller's per-call metadata (``leveret-md-*`` headers, prefix removed, validated), read-only.
    ``attempt`` is 0 for a first attempt, n for the caller's n-th retry of the call.
    ``caller`` is the broker user the request was published as (its AMQP ``user_id``, which
    RabbitMQ checks against the publisher's login), or ``None`` when the request carries none;
    see docs/security.md for what the broker must be told for it to be trusted.
    ``contract_drift`` is set when the caller was generated from another contract of this
    method than the worker (their ``rpc-fingerprint`` headers differ), else ``None``.
    """

    method: str
    correlation_id: str
    deadline: float | None = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    redelivered: bool = False
    metadata: Mapping[str, str] = field(default_factory=lambda: EMPTY_METADATA)
    attempt: int = 0
    caller: str | None = None
    contract_drift: ContractDrift | None = None

    def time_remaining(self) -> float | None:
        """Seconds left before the caller gives up (never negative), or ``None`` for no deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.time())

    def expired(self) -> bool:
        """True once the caller's deadline has passed: further work is wasted."""
        return self.deadline is not None and time.time() >= self.deadline
