"""Contract drift: a caller and a worker generated from different versions of a definition.

Each side sends the fingerprint of the method's contract as it was generated with
(``rpc-fingerprint``); when the two differ the call still runs (validation decides what passes),
and each side reports it once per distinct pair of fingerprints, at WARNING. Which calls drifted
is on ``context.contract_drift`` (a handler), ``CallInfo.contract_drift`` (middleware).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from leveret._logging import SafeLogger

__all__ = ["ContractDrift", "DriftLog"]

#: At most this many distinct pairs are remembered per process and side: a hostile peer
#: sending a new fingerprint with every call cannot grow memory (or the log) without bound.
MAX_REMEMBERED = 1024


@dataclass(frozen=True, slots=True)
class ContractDrift:
    """A call whose two sides were generated from different contracts of its method.

    ``client`` and ``server`` are the fingerprints each side sent (``rpc-fingerprint``)."""

    service: str
    method: str
    client: str
    server: str


class DriftLog:
    """Logs each distinct drift once (then stays quiet about it), for one side."""

    def __init__(self, side: Literal["client", "server"], logger: SafeLogger) -> None:
        self.side = side
        self._log = logger
        self._seen: set[ContractDrift] = set()
        self._full = False
        self._lock = threading.Lock()

    def report(self, drift: ContractDrift, peer: str) -> None:
        """Log ``drift`` if it was not logged before; ``peer`` names the other side."""
        with self._lock:
            if drift in self._seen:
                return
            if len(self._seen) >= MAX_REMEMBERED:
                if self._full:
                    return
                self._full = True
                self._log.warning(
                    "contract drift: more than %d distinct fingerprint pairs seen; "
                    "no more drift warnings from this %s",
                    MAX_REMEMBERED,
                    self.side,
                )
                return
            self._seen.add(drift)
        self._log.warning(
            "contract drift on %s.%s: the caller's contract is %s, the worker's %s (%s); the "
            "call goes on, validated as usual",
            drift.service,
            drift.method,
            drift.client,
            drift.server,
            peer,
        )
