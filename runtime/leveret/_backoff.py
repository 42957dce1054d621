"""Exponential backoff with jitter, shared by reconnects and retries."""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays of ``initial * multiplier**attempt``, capped at ``maximum``, each randomised by
    ``±jitter`` (a fraction) so that many clients do not come back in lockstep."""

    initial: float = 0.1
    multiplier: float = 2.0
    maximum: float = 5.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait before retry number ``attempt`` (0 for the first retry)."""
        base = min(self.maximum, self.initial * self.multiplier**attempt)
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))
