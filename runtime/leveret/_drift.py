"""Contract drift: a caller and a worker generated from different versions of a definition.

Each side sends the fingerprint of the method's contract as it was generated with
(``rpc-fingerprint``); when the two differ the call still runs (validation decides what passes),
unless the worker refuses calls across contracts (``on_drift="reject"``), and each side reports
it once per distinct pair of fingerprints, at WARNING. Which calls drifted is on
``context.contract_drift`` (a handler), ``CallInfo.contract_drift`` (middleware).

"Once" is per process and side: every client of a process shares :data:`CLIENT_DRIFTS`, every
worker :data:`SERVER_DRIFTS`, so a process that makes a client per request still warns once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from leveret._logging import SafeLogger

__all__ = ["CLIENT_DRIFTS", "MAX_REMEMBERED", "SERVER_DRIFTS", "ContractDrift", "DriftLog"]

#: At most this many distinct pairs are remembered per process and side. Past it the least
#: recently seen pair is forgotten (and warned again if it comes back): a peer sending a new
#: fingerprint with every call cannot grow memory, nor keep a genuine drift that comes after
#: it from being warned. It can make one WARNING per call it sends, as a call with invalid
#: metadata can: the worker only remembers calls its ``authorize`` hook let through.
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
    """Logs each distinct drift once, for one side; safe to share between threads (and event
    loops: :meth:`report` never waits for anything but a short lock)."""

    def __init__(
        self,
        side: Literal["client", "server"],
        logger: SafeLogger,
        *,
        capacity: int = MAX_REMEMBERED,
    ) -> None:
        self.side = side
        self.capacity = capacity
        self._log = logger
        # insertion order is recency order: the first entry is the least recently seen
        self._seen: OrderedDict[ContractDrift, None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def __contains__(self, drift: object) -> bool:
        return drift in self._seen

    def report(self, drift: ContractDrift, peer: str, *, refused: bool = False) -> None:
        """Log ``drift`` if it is not remembered from before; ``peer`` names the other side,
        ``refused``: the worker answered the call FAILED_PRECONDITION instead of running it."""
        with self._lock:
            if drift in self._seen:
                self._seen.move_to_end(drift)
                return
            self._seen[drift] = None
            if len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
        if refused:
            outcome = (
                "the call is refused (on_drift='reject')"
                if self.side == "server"
                else "the worker refused the call (FAILED_PRECONDITION)"
            )
        else:
            outcome = "the call goes on, validated as usual"
        self._log.warning(
            "contract drift on %s.%s: the caller's contract is %s, the worker's %s (%s); %s",
            drift.service,
            drift.method,
            drift.client,
            drift.server,
            peer,
            outcome,
        )

    def forget(self) -> None:
        """Forget every pair (tests: each starts from a process that has seen none)."""
        with self._lock:
            self._seen.clear()


#: The drifts every client of this process reported.
CLIENT_DRIFTS = DriftLog("client", SafeLogger("leveret.client"))
#: The drifts every worker of this process reported.
SERVER_DRIFTS = DriftLog("server", SafeLogger("leveret.server"))
