"""Workers: run a servicer on its queue.

A worker is an asyncio loop that consumes the service queue with prefetch. Async handlers run as
tasks on that loop; sync handlers run on a pool of ``concurrency`` threads. Each request is acked
only after its reply is published, so a worker that dies mid-request leaves the request to
another worker sharing the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Any, Protocol, Self

from leveret._dispatch import Call, Dispatcher, Outcome
from leveret._errors import ConfigurationError
from leveret._spec import ServiceSpec
from leveret._url import is_memory, redact, resolve_url
from leveret._wire import Delivery, OutgoingReply

__all__ = ["Worker"]

log = logging.getLogger("leveret.worker")


class _Consumer(Protocol):
    closed: asyncio.Future[BaseException | None] | None

    async def start(self, on_delivery: Any) -> None: ...

    def settle(self, token: int, reply: OutgoingReply | None, *, ack: bool) -> None: ...

    async def stop(self) -> None: ...


class Worker:
    """Serves one servicer instance on its service queue.

    ``run()`` blocks until SIGTERM/SIGINT (or :meth:`stop`); ``start()`` runs it on a background
    thread and returns once it consumes (also as a context manager). ``concurrency`` is how many
    requests are handled at once (threads for a sync servicer, tasks for an async one);
    ``prefetch`` how many unacked requests the broker hands this worker (default: concurrency).
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
        self._queue_arguments = dict(queue_arguments or {})
        self._grace = grace
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._in_flight: set[asyncio.Future[Any]] = set()

    # -- running ---------------------------------------------------------------------------

    async def serve(self, *, ready: threading.Event | None = None) -> None:
        """Consume until :meth:`stop`; let handlers in progress finish (up to ``grace``)."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        consumer = self._consumer()
        pool = (
            None
            if self._is_async
            else ThreadPoolExecutor(self.concurrency, thread_name_prefix="leveret-handler")
        )

        def on_delivery(delivery: Delivery, token: int) -> None:
            self._on_delivery(consumer, pool, delivery, token)

        try:
            await consumer.start(on_delivery)
            log.info(
                "%s serving %s on queue %r at %s (concurrency %d, prefetch %d)",
                type(self).__name__,
                self.service.name,
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
            if consumer.closed.done():
                error = consumer.closed.result()
                if error is not None:
                    raise error
            if self._in_flight:
                await asyncio.wait(set(self._in_flight), timeout=self._grace)
        finally:
            await consumer.stop()
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def _consumer(self) -> _Consumer:
        if is_memory(self.url):
            from leveret._memory import MemoryWorkerConsumer

            return MemoryWorkerConsumer(self.url, self.queue)
        from leveret._amqp import AsyncioConsumer

        return AsyncioConsumer(
            self.url, self.queue, prefetch=self.prefetch, queue_arguments=self._queue_arguments
        )

    def _on_delivery(
        self, consumer: _Consumer, pool: ThreadPoolExecutor | None, delivery: Delivery, token: int
    ) -> None:
        accepted = self._dispatcher.accept(delivery)
        if isinstance(accepted, Outcome):
            consumer.settle(token, accepted.reply, ack=accepted.ack)
            return
        assert self._loop is not None
        future: asyncio.Future[Outcome]
        if pool is None:
            future = self._loop.create_task(self._run_async(accepted))
        else:
            future = self._loop.run_in_executor(pool, self._run_sync, accepted)
        self._in_flight.add(future)

        def settle(done: asyncio.Future[Outcome]) -> None:
            self._in_flight.discard(done)
            if done.cancelled():
                return  # shutting down: unacked, so the broker redelivers it
            outcome = done.result()
            consumer.settle(token, outcome.reply, ack=outcome.ack)

        future.add_done_callback(settle)

    def _run_sync(self, call: Call) -> Outcome:
        try:
            result = call.handler(call.request, call.context)
        except Exception as exc:
            return self._dispatcher.finish(call, error=exc)
        return self._dispatcher.finish(call, result)

    async def _run_async(self, call: Call) -> Outcome:
        try:
            result = await call.handler(call.request, call.context)
        except Exception as exc:
            return self._dispatcher.finish(call, error=exc)
        return self._dispatcher.finish(call, result)

    def run(self) -> None:
        """Serve in this thread until SIGTERM or SIGINT."""

        async def main() -> None:
            loop = asyncio.get_running_loop()
            serving = asyncio.ensure_future(self.serve())
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, self._request_stop)
            await serving

        asyncio.run(main())

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
