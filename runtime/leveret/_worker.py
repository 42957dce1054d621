"""Workers: run a servicer on its queue.

A worker is an asyncio loop that consumes the service queue with prefetch. Async handlers run as
tasks on that loop; sync handlers run on ``concurrency`` handler threads. At most
``concurrency`` handlers run at once, whatever the prefetch: deliveries beyond that wait in the
worker, in order, and are started as handlers finish. Each request is acked only after its
reply is published, so a worker that dies mid-request leaves the request to another worker
sharing the queue.

The consumer reconnects by itself when its connection drops (see :class:`AsyncioConsumer`).
Shutdown (:meth:`Worker.stop`, or SIGTERM/SIGINT under :meth:`Worker.run`) is graceful: stop
consuming (``basic.cancel``), hand deliveries not yet started back to the broker
(``basic.nack`` with requeue), let the handlers in progress finish within ``grace`` seconds and
reply and ack them, then close. A second signal gives up at once: what is still running goes
back to the queue when the connection closes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import queue as queue_module
import signal
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Protocol, Self

from leveret._dispatch import Call, Dispatcher, Outcome
from leveret._errors import ConfigurationError
from leveret._spec import ServiceSpec
from leveret._url import is_memory, redact, resolve_url
from leveret._wire import Delivery, OutgoingReply

__all__ = ["QUEUE_TYPES", "Worker"]

log = logging.getLogger("leveret.worker")

#: Request queue types a worker can declare.
QUEUE_TYPES = ("classic", "quorum")


class _Consumer(Protocol):
    """A worker's connection to its queue; a token names one delivery."""

    #: Resolves with the error that ends serving for good (e.g. the queue's arguments clash).
    closed: asyncio.Future[BaseException | None] | None

    async def start(self, on_delivery: Callable[[Delivery, int], None]) -> None: ...

    def settle(self, token: int, reply: OutgoingReply | None, *, ack: bool) -> None:
        """Publish the reply if any, then ack or reject (no requeue)."""

    def release(self, token: int, delivery: Delivery) -> None:
        """Give a delivery that was never started back to the queue (nack, requeue)."""

    def live(self, token: int) -> bool:
        """Whether the delivery can still be settled (its channel is the current one)."""

    async def cancel(self) -> None:
        """Stop consuming; deliveries may still arrive until the broker confirms."""

    async def stop(self, timeout: float = 5.0) -> None: ...


class _HandlerThreads:
    """``size`` daemon threads running sync handlers; each outcome goes back to the loop.

    Daemon threads, so that a handler still running when the worker gives up on it (grace
    period over, second signal) does not keep the process alive; its request is unacked, so the
    broker hands it to another worker.
    """

    def __init__(
        self,
        size: int,
        name: str,
        loop: asyncio.AbstractEventLoop,
        run: Callable[[Call], Outcome],
        done: Callable[[int, Outcome], None],
    ) -> None:
        self._queue: queue_module.SimpleQueue[tuple[Call, int] | None] = queue_module.SimpleQueue()
        self._loop = loop
        self._run = run
        self._done = done
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, call: Call, token: int) -> None:
        self._queue.put((call, token))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            call, token = item
            outcome = self._run(call)
            try:
                self._loop.call_soon_threadsafe(self._done, token, outcome)
            except RuntimeError:  # the loop is closed: the worker has given up on this one
                return

    def shutdown(self) -> None:
        for _ in self._threads:
            self._queue.put(None)


class Worker:
    """Serves one servicer instance on its service queue.

    ``run()`` blocks until SIGTERM/SIGINT (or :meth:`stop`); ``start()`` runs it on a background
    thread and returns once it consumes (also as a context manager). ``concurrency`` is how many
    requests are handled at once (threads for a sync servicer, tasks for an async one);
    ``prefetch`` how many unacked requests the broker hands this worker (default: concurrency).
    ``queue_type`` is the type of the request queue it declares, ``"classic"`` or ``"quorum"``
    (default: the definition's ``queue_type``); ``grace`` how long shutdown waits for the
    handlers in progress.

    The methods are meant for the thread that created the worker; :meth:`stop` may be called
    from any thread.
    """

    def __init__(
        self,
        servicer: object,
        *,
        url: str | None = None,
        queue: str | None = None,
        concurrency: int | None = None,
        prefetch: int | None = None,
        queue_arguments: dict[str, Any] | None = None,
        grace: float = 10.0,
        queue_type: str | None = None,
        inline: bool = False,
    ) -> None:
        service = getattr(type(servicer), "service", None)
        if not isinstance(service, ServiceSpec):
            raise ConfigurationError(
                f"{type(servicer).__name__} is not a generated servicer (no 'service' spec)"
            )
        self.service = service
        self._dispatcher = Dispatcher(service, servicer)
        self._is_async = bool(self._dispatcher.is_async)
        self.url = resolve_url(url)
        self.queue = queue or service.queue
        default_concurrency = 64 if self._is_async else 1
        self.concurrency = concurrency or default_concurrency
        if self.concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        self.prefetch = prefetch or self.concurrency
        if self.prefetch < 1:
            raise ConfigurationError("prefetch must be at least 1")
        self.queue_type = queue_type or getattr(service, "queue_type", "classic")
        if self.queue_type not in QUEUE_TYPES:
            raise ConfigurationError(
                f"queue_type must be one of {', '.join(QUEUE_TYPES)}, not {self.queue_type!r}"
            )
        self._queue_arguments = dict(queue_arguments or {})
        if self.queue_type != "classic":
            self._queue_arguments.setdefault("x-queue-type", self.queue_type)
        if inline and (self._is_async or self.concurrency != 1):
            raise ConfigurationError("inline needs a sync servicer and concurrency 1")
        # Inline: sync handlers run on the event loop's thread, which saves two thread switches
        # per request; while one runs, the loop (heartbeats, signals) waits for it.
        self.inline = inline
        if grace < 0:
            raise ConfigurationError("grace must not be negative")
        self._grace = grace
        #: The signal that made :meth:`run` give up at once (a second SIGTERM/SIGINT), if any.
        self.forced_by: signal.Signals | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._abort: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._active: _Consumer | None = None
        self._threads: _HandlerThreads | None = None
        self._stopping = False
        self._running = 0
        self._backlog: collections.deque[tuple[Call, Delivery, int]] = collections.deque()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- running ---------------------------------------------------------------------------

    async def serve(self, *, ready: threading.Event | None = None) -> None:
        """Consume until :meth:`stop`, then shut down gracefully (see the module docstring)."""
        await self._serve(ready, handle_signals=False)

    async def _serve(self, ready: threading.Event | None, *, handle_signals: bool) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop, self._abort, self._idle = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._stopping, self._running = False, 0
        self._backlog.clear()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, self._on_signal, sig)
        consumer = self._consumer()
        self._active = consumer
        if not self._is_async and not self.inline:
            self._threads = _HandlerThreads(
                self.concurrency, "leveret-handler", loop, self._run_sync, self._finish
            )
        try:
            await consumer.start(self._on_delivery)
            log.info(
                "%s serving %s on %s queue %r at %s (concurrency %d, prefetch %d)",
                type(self).__name__,
                self.service.name,
                self.queue_type,
                self.queue,
                redact(self.url),
                self.concurrency,
                self.prefetch,
            )
            if ready is not None:
                ready.set()
            assert consumer.closed is not None
            stop_waiter: asyncio.Future[Any] = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait([stop_waiter, consumer.closed], return_when=asyncio.FIRST_COMPLETED)
            stop_waiter.cancel()
            self._stopping = True
            if consumer.closed.done():
                error = consumer.closed.result()
                if error is not None:
                    raise error
            await self._shut_down(consumer)
        finally:
            self._stopping = True
            for task in list(self._tasks):
                task.cancel()
            aborted = self._abort.is_set()
            await consumer.stop(timeout=1.0 if aborted else 5.0)
            if self._threads is not None:
                self._threads.shutdown()
                self._threads = None
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        loop.remove_signal_handler(sig)

    async def _shut_down(self, consumer: _Consumer) -> None:
        """Stop consuming, requeue what has not started, let what runs finish within grace."""
        log.info("stopping: cancelling the consumer of %r", self.queue)
        await self._unless_aborted(consumer.cancel())
        released = len(self._backlog)
        while self._backlog:
            _call, delivery, token = self._backlog.popleft()
            consumer.release(token, delivery)
        if released:
            log.info("stopping: %d request(s) not started went back to the queue", released)
        if self._running and not self._aborted():
            log.info(
                "stopping: waiting up to %g s for %d handler(s) in progress",
                self._grace,
                self._running,
            )
            assert self._idle is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._unless_aborted(self._idle.wait()), self._grace)
        if self._running:
            log.warning(
                "stopping with %d handler(s) still running: their requests go back to the queue",
                self._running,
            )
        else:
            log.info("stopped: every handler in progress finished")

    def _aborted(self) -> bool:
        return self._abort is not None and self._abort.is_set()

    async def _unless_aborted(self, work: Awaitable[Any]) -> None:
        """Await ``work``, unless a second signal comes first."""
        assert self._abort is not None
        job: asyncio.Future[Any] = asyncio.ensure_future(work)
        abort: asyncio.Future[Any] = asyncio.ensure_future(self._abort.wait())
        try:
            await asyncio.wait([job, abort], return_when=asyncio.FIRST_COMPLETED)
        finally:
            abort.cancel()
            if not job.done():
                job.cancel()
        if job.done() and not job.cancelled():
            job.result()

    def _consumer(self) -> _Consumer:
        if is_memory(self.url):
            from leveret._memory import MemoryWorkerConsumer

            return MemoryWorkerConsumer(self.url, self.queue)
        from leveret._amqp import AsyncioConsumer

        return AsyncioConsumer(
            self.url, self.queue, prefetch=self.prefetch, queue_arguments=self._queue_arguments
        )

    # -- deliveries ------------------------------------------------------------------------

    def _on_delivery(self, delivery: Delivery, token: int) -> None:
        consumer = self._active
        assert consumer is not None
        if self._stopping:
            consumer.release(token, delivery)
            return
        accepted = self._dispatcher.accept(delivery)
        if isinstance(accepted, Outcome):
            consumer.settle(token, accepted.reply, ack=accepted.ack)
        elif self._running < self.concurrency:
            self._start(accepted, token)
        else:
            self._backlog.append((accepted, delivery, token))

    def _start(self, call: Call, token: int) -> None:
        self._running += 1
        if self._threads is not None:
            self._threads.submit(call, token)
            return
        if self.inline:
            self._finish(token, self._run_sync(call))
            return
        assert self._loop is not None
        task = self._loop.create_task(self._run_async(call, token))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _finish(self, token: int, outcome: Outcome) -> None:
        """On the loop: a handler has finished; settle its delivery and start the next."""
        self._running -= 1
        consumer = self._active
        assert consumer is not None
        consumer.settle(token, outcome.reply, ack=outcome.ack)
        if self._stopping:
            if self._running == 0 and self._idle is not None:
                self._idle.set()
            return
        while self._backlog and self._running < self.concurrency:
            call, _delivery, token = self._backlog.popleft()
            if not consumer.live(token):
                continue  # its channel is gone, so the broker has requeued it
            deadline = call.context.deadline
            if deadline is not None and time.time() >= deadline:
                log.info(
                    "skipped %s (cid=%s): caller's deadline has passed",
                    call.method.name,
                    call.context.correlation_id,
                )
                consumer.settle(token, None, ack=True)
                continue
            self._start(call, token)

    def _run_sync(self, call: Call) -> Outcome:
        try:
            result = call.handler(call.request, call.context)
        except BaseException as exc:  # a handler thread must survive whatever the handler does
            return self._dispatcher.finish(call, error=exc)
        return self._dispatcher.finish(call, result)

    async def _run_async(self, call: Call, token: int) -> None:
        try:
            result = await call.handler(call.request, call.context)
        except asyncio.CancelledError:
            raise  # given up at shutdown: unacked, so the broker redelivers it
        except Exception as exc:
            outcome = self._dispatcher.finish(call, error=exc)
        else:
            outcome = self._dispatcher.finish(call, result)
        self._finish(token, outcome)

    # -- control ---------------------------------------------------------------------------

    def run(self) -> None:
        """Serve in this thread until SIGTERM or SIGINT; a second signal gives up at once."""
        asyncio.run(self._serve(None, handle_signals=True))

    def _on_signal(self, sig: signal.Signals) -> None:
        if self._stop is not None and not self._stop.is_set():
            log.info("%s: stopping gracefully (send it again to exit at once)", sig.name)
            self._stop.set()
        elif self._abort is not None and not self._abort.is_set():
            log.warning("%s again: exiting at once", sig.name)
            self.forced_by = sig
            self._abort.set()

    def _request_stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def start(self, timeout: float = 30.0) -> Self:
        """Serve on a background thread; returns once consuming, or raises why it could not."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(self.serve(ready=ready))
            except BaseException as exc:
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=target, name=f"leveret-{self.queue}", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise ConfigurationError(f"worker for {self.queue!r} did not start in {timeout} s")
        if failure:
            raise failure[0]
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop consuming, let handlers in progress finish, close the connection."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._request_stop)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
