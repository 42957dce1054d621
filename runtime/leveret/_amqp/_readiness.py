"""Whether a service queue has a worker consuming it, for calls that should fail fast when not.

A request published to a durable queue that nobody consumes waits in it until its deadline: the
broker accepts and confirms it, so neither ``mandatory`` nor confirms tell the caller. gRPC fails
such calls at once with ``UNAVAILABLE`` unless the caller asked to wait for the server; leveret
does the same. The check is a passive ``queue.declare`` (its answer carries the consumer count)
on a channel of its own, because a passive declare of a missing queue closes its channel (404).

Its answer is cached per queue for :data:`FRESH_FOR` seconds while the queue has a consumer, so
calls pay one round trip per queue and period, not one per call; a queue without a consumer is
checked again on every call (calls back off between retries). A client forgets a queue's answer
when a call to it fails (:meth:`ConsumerCheck.forget`), so the next call checks again.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

import pika.exceptions

from leveret._errors import RpcError, Unavailable

__all__ = ["FRESH_FOR", "ConsumerCheck", "OnChecked"]

#: Seconds a queue seen with a consumer counts as served without checking again.
FRESH_FOR = 1.0

#: Told the consumer count of a queue, ``None`` when there is no queue by that name, or the
#: error that ended the check (the connection was lost).
OnChecked = Callable[[int | None, RpcError | None], None]


class ConsumerCheck:
    """Passive declares, one at a time, on a lazily opened channel of a client's connection.

    Used from the thread or task that drives the connection's I/O only.
    """

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}  # queue -> when it last had a consumer (monotonic)
        self._waiting: dict[str, list[OnChecked]] = {}
        self._todo: collections.deque[str] = collections.deque()
        self._current: str | None = None
        self._conn: Any = None
        self._ch: Any = None
        self._opening = False

    def served(self, queue: str) -> bool:
        """Whether ``queue`` was seen with a consumer recently enough to skip the check."""
        seen = self._seen.get(queue)
        return seen is not None and time.monotonic() - seen < FRESH_FOR

    def forget(self, queue: str) -> None:
        self._seen.pop(queue, None)

    def check(self, conn: Any, queue: str, on_checked: OnChecked) -> None:
        """Ask the broker how many consumers ``queue`` has; ``on_checked`` gets the answer."""
        if conn is not self._conn:
            self.reset()
            self._conn = conn
        waiters = self._waiting.get(queue)
        if waiters is not None:
            waiters.append(on_checked)  # one declare answers every call waiting for it
            return
        self._waiting[queue] = [on_checked]
        self._todo.append(queue)
        self._next()

    def reset(self) -> None:
        """The connection is gone or replaced: checks still waiting end with ``Unavailable``."""
        waiting, self._waiting = self._waiting, {}
        self._todo.clear()
        self._current = None
        self._conn = self._ch = None
        self._opening = False
        if waiting:
            error = Unavailable("the connection closed while checking for a worker")
            for waiters in waiting.values():
                for on_checked in waiters:
                    on_checked(None, error)

    def _next(self) -> None:
        if self._current is not None or self._opening or not self._todo:
            return
        ch = self._ch
        if ch is None or not ch.is_open:
            self._opening = True
            self._conn.channel(on_open_callback=self._on_open)
            return
        queue = self._current = self._todo.popleft()
        ch.queue_declare(
            queue, passive=True, callback=lambda frame: self._answer(queue, frame.method)
        )

    def _on_open(self, ch: Any) -> None:
        if ch.connection is not self._conn:
            return  # a channel of a connection since replaced
        self._opening = False
        self._ch = ch
        ch.add_on_close_callback(self._on_close)
        self._next()

    def _answer(self, queue: str, method: Any) -> None:
        self._current = None
        count = int(method.consumer_count)
        if count:
            self._seen[queue] = time.monotonic()
        else:
            self._seen.pop(queue, None)
        for on_checked in self._waiting.pop(queue, []):
            on_checked(count, None)
        self._next()

    def _on_close(self, ch: Any, exc: BaseException) -> None:
        if ch is not self._ch:
            return
        self._ch = None
        queue, self._current = self._current, None
        if (
            queue is not None
            and isinstance(exc, pika.exceptions.ChannelClosedByBroker)
            and exc.reply_code == 404
        ):
            self._seen.pop(queue, None)
            for on_checked in self._waiting.pop(queue, []):
                on_checked(None, None)
        elif queue is not None:
            self._todo.appendleft(queue)  # not answered: ask again on a new channel
        if self._conn is not None and self._conn.is_open:
            self._next()
