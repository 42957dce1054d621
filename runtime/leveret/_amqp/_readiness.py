"""Whether a service queue has a worker consuming it, for calls that should fail fast when not.

A request published to a durable queue that nobody consumes waits in it until its deadline: the
broker accepts and confirms it, so neither ``mandatory`` nor confirms tell the caller. gRPC fails
such calls at once with ``UNAVAILABLE`` unless the caller asked to wait for the server; leveret
does the same. The check is a passive ``queue.declare`` (its answer carries the consumer count)
on channels of their own, because a passive declare of a missing queue closes its channel (404).

Calls to a queue seen with a consumer go out at once, without waiting for any check; once the
answer is older than :data:`FRESH_FOR` seconds, the next such call asks again in the background
(stale-while-revalidate), so a busy client pays nothing per call and notices a worker that left
within about that period. Only a call to a queue not known to be served waits for the answer.
A client forgets a queue's answer when a call to it times out (:meth:`ConsumerCheck.forget`).
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pika.exceptions

from leveret._errors import RpcError, Unavailable

__all__ = ["CHANNELS", "FRESH_FOR", "UNKNOWN", "ConsumerCheck", "OnChecked"]

#: Seconds a queue seen with a consumer counts as served before it is checked again.
FRESH_FOR = 1.0

#: Passive declares in flight at once, each on a channel of its own (pika sends one
#: synchronous method per channel at a time).
CHANNELS = 4

#: The answer for a queue that could not be checked (the broker refused the declare, e.g. 405
#: for a queue exclusive to another connection): send the request, as without the check.
UNKNOWN = -1

#: Told the consumer count of a queue (``UNKNOWN`` when the broker would not say), ``None``
#: when there is no queue by that name, or the error that ended the check.
OnChecked = Callable[[int | None, RpcError | None], None]


class ConsumerCheck:
    """Passive declares on lazily opened channels of a client's connection; answers cached.

    Used from the thread or task that drives the connection's I/O, except :meth:`served`,
    :meth:`forget` and :meth:`cancel`, which only touch one cache entry or list item.
    """

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}  # queue -> when it last had a consumer (monotonic)
        self._waiting: dict[str, list[OnChecked]] = {}
        self._todo: collections.deque[str] = collections.deque()
        self._idle: list[Any] = []  # open channels with no declare in flight
        self._busy: dict[Any, str] = {}  # channel -> the queue it is declaring
        self._opening = 0
        self._conn: Any = None

    def served(self, queue: str) -> bool:
        """Whether a call to ``queue`` may go out without waiting for a check."""
        return queue in self._seen

    def due(self, queue: str) -> bool:
        """Whether a served queue's answer is old enough to ask again (in the background)."""
        seen = self._seen.get(queue)
        return (
            seen is not None and time.monotonic() - seen >= FRESH_FOR and queue not in self._waiting
        )

    def forget(self, queue: str) -> None:
        self._seen.pop(queue, None)

    def check(self, conn: Any, queue: str, on_checked: OnChecked | None = None) -> None:
        """Ask the broker how many consumers ``queue`` has; ``on_checked`` gets the answer
        (``None``: only refresh the cache)."""
        if conn is not self._conn:
            self.reset()
            self._conn = conn
        waiters = self._waiting.get(queue)
        if waiters is None:
            waiters = self._waiting[queue] = []
            self._todo.append(queue)
        if on_checked is not None:
            waiters.append(on_checked)  # one declare answers every call waiting for it
        self._next()

    def cancel(self, queue: str, on_checked: OnChecked) -> None:
        """A call stopped waiting (its deadline, or cancelled): forget its callback, so that a
        check that hangs (a half-open link) does not pile them up."""
        waiters = self._waiting.get(queue)
        if waiters is not None:
            with contextlib.suppress(ValueError):
                waiters.remove(on_checked)

    def reset(self) -> None:
        """The connection is gone or replaced: checks still waiting end with ``Unavailable``."""
        waiting, self._waiting = self._waiting, {}
        self._todo.clear()
        self._idle.clear()
        self._busy.clear()
        self._opening = 0
        self._conn = None
        if any(waiting.values()):
            error = Unavailable("the connection closed while checking for a worker")
            for waiters in waiting.values():
                for on_checked in list(waiters):
                    on_checked(None, error)

    def _next(self) -> None:
        try:
            while self._todo:
                if not self._idle:
                    if self._opening + len(self._busy) < CHANNELS:
                        self._conn.channel(on_open_callback=self._on_open)
                        self._opening += 1
                    return
                ch = self._idle.pop()
                if not ch.is_open:
                    continue
                queue = self._todo[0]
                ch.queue_declare(
                    queue, passive=True, callback=lambda f, ch=ch: self._answer(ch, f.method)
                )
                self._busy[ch] = self._todo.popleft()
        except (pika.exceptions.AMQPError, OSError):
            # The connection is closing under the check (its close is being reported): the
            # calls waiting for an answer end as for a lost connection.
            self.reset()

    def _on_open(self, ch: Any) -> None:
        if ch.connection is not self._conn:
            return  # a channel of a connection since replaced
        self._opening -= 1
        ch.add_on_close_callback(self._on_close)
        self._idle.append(ch)
        self._next()

    def _answer(self, ch: Any, method: Any) -> None:
        queue = self._busy.pop(ch, None)
        if queue is None:
            return
        self._idle.append(ch)
        count = int(method.consumer_count)
        if count:
            self._seen[queue] = time.monotonic()
        else:
            self._seen.pop(queue, None)
        self._settle(queue, count)
        self._next()

    def _settle(self, queue: str, count: int | None) -> None:
        # A copy: a sync caller may cancel its callback from its own thread meanwhile.
        for on_checked in list(self._waiting.pop(queue, ())):
            on_checked(count, None)

    def _on_close(self, ch: Any, exc: BaseException) -> None:
        if ch in self._idle:
            self._idle.remove(ch)
        queue = self._busy.pop(ch, None)
        if queue is None or self._conn is None or ch.connection is not self._conn:
            return
        if isinstance(exc, pika.exceptions.ChannelClosedByBroker):
            # The broker answered this declare by closing the channel: 404, no such queue.
            # Anything else (405 for a queue exclusive to another connection, 403) means it
            # will not say: calls go out as without the check, and it is asked again in the
            # background only, like for a served queue (not once per call).
            if exc.reply_code == 404:
                self._seen.pop(queue, None)
                self._settle(queue, None)
            else:
                self._seen[queue] = time.monotonic()
                self._settle(queue, UNKNOWN)
        else:
            self._todo.appendleft(queue)  # closed under it (not by the broker): ask again
        if self._conn.is_open:
            self._next()
