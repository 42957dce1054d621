"""Workers: run a servicer on its queue.

A worker is an asyncio loop that consumes the service queue with prefetch. Async handlers run as
tasks on that loop; sync handlers run on ``concurrency`` handler threads, or, for a sync
servicer with concurrency and prefetch 1 (the default), inline on the loop's thread: one request
at a time either way, and inline saves two thread switches per request. At most
``concurrency`` handlers run at once, whatever the prefetch: deliveries beyond that wait in the
worker, in order, and are started as handlers finish. Each request is acked only after its
reply is published, so a worker that dies mid-request leaves the request to another worker
sharing the queue.

While an inline handler runs, the loop cannot send AMQP heartbeats; a keeper thread sends them
for it when the handler runs long (:class:`_HeartbeatKeeper`), so the broker keeps the
connection. The same goes for decoding and validating each request, which runs on the loop's
thread in every mode (a large body with a slow validator can take longer than a heartbeat).
Under :meth:`Worker.run` the loop runs on its own thread and the main thread only waits for
signals, so that they are acted on even while a handler holds the loop's thread.

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
import inspect
import queue as queue_module
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Protocol, Self

from leveret._dispatch import Call, Dispatcher, Outcome
from leveret._errors import ConfigurationError
from leveret._logging import SafeLogger
from leveret._middleware import Middleware
from leveret._spec import ServiceSpec
from leveret._tls import TLS, check_tls
from leveret._url import is_memory, redact, resolve_url
from leveret._wire import MAX_MESSAGE_SIZE, MAX_TIMEOUT, Delivery, OutgoingReply

__all__ = ["QUEUE_TYPES", "Worker"]

log = SafeLogger("leveret.worker")  # logging never fails a call

#: Request queue types a worker can declare.
QUEUE_TYPES = ("classic", "quorum")

#: AMQP's largest prefetch count (``basic.qos`` carries it in 16 bits).
MAX_PREFETCH = 65535


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

    @property
    def heartbeat(self) -> float | None:
        """The negotiated heartbeat timeout in seconds; None when there is none."""

    def beat(self) -> bool:
        """From another thread, while the loop's thread is in a handler: send a heartbeat."""

    def after_beats(self) -> None:
        """On the loop's thread after such a handler: finish what :meth:`beat` left."""

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


class _HeartbeatKeeper:
    """Sends the heartbeats that an inline handler keeps the loop's thread from sending.

    The loop's thread calls :meth:`enter` before a handler and :meth:`leave` after it; in
    between it does not touch the connection, so this thread may write heartbeat frames. It
    does so once the handler has run for half the heartbeat timeout, as pika would have.
    """

    def __init__(self, consumer: _Consumer) -> None:
        self._consumer = consumer
        self._lock = threading.Lock()
        self._since: float | None = None
        self._last = 0.0
        self._warned = False
        self._stopped = threading.Event()
        self.beats = 0
        self._thread = threading.Thread(target=self._run, name="leveret-heartbeat", daemon=True)
        self._thread.start()

    def enter(self) -> None:
        with self._lock:
            self._since = time.monotonic()

    def leave(self) -> None:
        with self._lock:  # waits for a heartbeat being written: nothing may interleave
            self._since = None
        self._consumer.after_beats()

    def stop(self) -> None:
        self._stopped.set()

    @property
    def busy(self) -> bool:
        """Whether the loop's thread is in a handler or a request's validation right now."""
        return self._since is not None

    def _run(self) -> None:
        while True:
            timeout = self._consumer.heartbeat
            interval = timeout / 2 if timeout else 5.0
            if self._stopped.wait(interval / 4):
                return
            if not timeout:
                continue
            with self._lock:
                now = time.monotonic()
                since = self._since
                if since is None or now - max(since, self._last) < interval:
                    continue
                if self._consumer.beat():
                    self._last = now
                    self.beats += 1
                elif not self._warned:
                    self._warned = True
                    log.warning(
                        "an inline handler or a request's validation has held the I/O thread "
                        "for %.0f s and heartbeats cannot be sent for it (TLS connection?): the "
                        "broker may close the connection; use inline=False (leveret serve "
                        "--no-inline) for long handlers",
                        now - since,
                    )


#: What the main thread of :meth:`Worker.run` hears about: a signal number, ``_HANDLER_DONE``
#: (the inline handler running at the stop has finished), or ``None`` (the loop has ended).
_HANDLER_DONE = -1

#: Seconds :meth:`Worker.run` allows, after the grace period, for replying and closing.
_CLOSE_TIME = 10.0

#: How often the loop notes that it runs, and how long without a note :attr:`Worker.alive`
#: allows (loose: a loop that ran late for a second is busy, not hung).
_TICK = 1.0
_LIVENESS_TIMEOUT = 10.0


class Worker:
    """Serves one servicer instance on its service queue.

    ``run()`` blocks until SIGTERM/SIGINT (or :meth:`stop`); ``start()`` runs it on a background
    thread and returns once it consumes (also as a context manager). In asyncio code,
    ``async with Worker(...)`` serves on the running loop instead: it returns once the worker
    consumes (or raises why it could not), and on leaving the block it shuts down gracefully
    (as :meth:`stop` does) and waits for that. There a sync servicer's handlers run on handler
    threads, not inline (which would hold up the caller's loop), unless ``inline=True`` is
    given.

    ``concurrency`` is how many requests are handled at once (threads for a sync servicer,
    tasks for an async one); ``prefetch`` how many unacked requests the broker hands this
    worker (default: concurrency).
    ``queue_type`` is the type of the request queue it declares, ``"classic"`` or ``"quorum"``
    (default: the definition's ``queue_type``); ``grace`` how long shutdown waits for the
    handlers in progress. ``inline`` runs a sync servicer's handlers on the loop's thread
    (default: when concurrency and prefetch are 1); ``False`` keeps them on a handler thread.
    ``max_message_size`` (bytes, default 4 MiB, gRPC's receive limit) bounds both directions:
    a request body over it is answered RESOURCE_EXHAUSTED before it is parsed, and a reply
    body over it is not sent; the caller gets RESOURCE_EXHAUSTED instead and the request is
    settled (a reply over the broker's limit would close the channel and bring the request
    back). Keep it at or below the broker's ``max_message_size`` (128 MiB on RabbitMQ 3.x,
    16 MiB on 4.x). ``middleware``
    (:class:`~leveret.Middleware` instances, the first outermost) wraps every handler call,
    after the request is validated; see docs/operating.md, "Middleware". ``log_calls``: one
    record per handled call on the ``leveret.server`` logger (INFO for OK, WARNING for other
    statuses, ERROR with the traceback for INTERNAL, UNKNOWN, DATA_LOSS); with False only the
    ERROR ones are logged. See docs/operating.md, "Logs". ``tls`` (:class:`~leveret.TLS`): the
    CA, client certificate and name to check; it turns TLS on for an ``amqp://`` URL too (the
    URL's port is used as given); see docs/security.md, "TLS". ``require_caller``: a request
    without an AMQP ``user_id`` is answered UNAUTHENTICATED before anything else sees it (the
    servicer's ``authorize`` hook decides the rest); see docs/security.md, "Caller identity".
    ``refused_login_timeout``: when the broker refuses the login on a reconnect (password
    changed, user deleted, vhost permission revoked), the worker retries with backoff, logs the
    refusal at ERROR once and is not ready; after this many seconds of refusals it stops
    serving with ``Unavailable`` (``leveret serve`` exits with status 1, for the supervisor or
    Kubernetes to restart it, with the new credentials). None retries for ever. See
    docs/resilience.md, "A login refused". ``reflection``: answer the built-in
    ``leveret.describe`` with the service's definition and fingerprints (``leveret describe
    queue:<queue>``), to the callers the servicer's ``authorize`` hook lets through (it is
    asked with ``method.name == "leveret.describe"``); False answers it UNIMPLEMENTED.
    ``on_drift``: a caller generated from another contract of a method (its
    ``rpc-fingerprint`` differs from the worker's) is served and logged once per pair of
    fingerprints (``"warn"``), or refused with FAILED_PRECONDITION
    (``"reject"``, for teams that deploy in lockstep). See docs/wire-protocol.md, "Reflection"
    and "Contract drift".

    The methods are meant for the thread that created the worker; :meth:`stop` may be called
    from any thread.
    """

    def __init__(
        self,
        servicer: object,
        *,
        url: str | None = None,
        tls: TLS | None = None,
        queue: str | None = None,
        concurrency: int | None = None,
        prefetch: int | None = None,
        queue_arguments: dict[str, Any] | None = None,
        grace: float = 10.0,
        queue_type: str | None = None,
        inline: bool | None = None,
        max_message_size: int = MAX_MESSAGE_SIZE,
        middleware: Sequence[Middleware] | None = None,
        log_calls: bool = True,
        require_caller: bool = False,
        refused_login_timeout: float | None = 300.0,
        reflection: bool = True,
        on_drift: str = "warn",
    ) -> None:
        service = getattr(type(servicer), "service", None)
        if not isinstance(service, ServiceSpec):
            raise ConfigurationError(
                f"{type(servicer).__name__} is not a generated servicer (no 'service' spec)"
            )
        self.service = service
        if (
            isinstance(max_message_size, bool)
            or not isinstance(max_message_size, int)
            or max_message_size < 1
        ):
            raise ConfigurationError(
                f"max_message_size must be a positive int, not {max_message_size!r}"
            )
        self.max_message_size = max_message_size
        self._dispatcher = Dispatcher(
            service,
            servicer,
            max_message_size=max_message_size,
            middleware=middleware,
            queue=queue,
            log_calls=log_calls,
            require_caller=require_caller,
            reflection=reflection,
            on_drift=on_drift,
        )
        self._is_async = bool(self._dispatcher.is_async)
        self.url = resolve_url(url)
        # The files are read here: a bad TLS setting stops the worker before it starts.
        self.tls = check_tls(tls, self.url)
        self.queue = queue or service.queue
        default_concurrency = 64 if self._is_async else 1
        self.concurrency = default_concurrency if concurrency is None else concurrency
        if self.concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        self.prefetch = self.concurrency if prefetch is None else prefetch
        if self.prefetch < 1:
            raise ConfigurationError("prefetch must be at least 1")
        if self.prefetch > MAX_PREFETCH:
            raise ConfigurationError(
                f"prefetch must be at most {MAX_PREFETCH} (AMQP's limit), not {self.prefetch}"
                if prefetch is not None
                else f"prefetch defaults to concurrency ({self.concurrency}), over AMQP's limit "
                f"of {MAX_PREFETCH}: give a prefetch of at most {MAX_PREFETCH}"
            )
        self.queue_type = queue_type or getattr(service, "queue_type", "classic")
        if self.queue_type not in QUEUE_TYPES:
            raise ConfigurationError(
                f"queue_type must be one of {', '.join(QUEUE_TYPES)}, not {self.queue_type!r}"
            )
        self._queue_arguments = dict(queue_arguments or {})
        if self.queue_type != "classic":
            self._queue_arguments.setdefault("x-queue-type", self.queue_type)
        inline_option = inline
        if inline and (self._is_async or self.concurrency != 1):
            raise ConfigurationError("inline needs a sync servicer and concurrency 1")
        if inline is None:
            # With prefetch 1 the broker sends nothing more while the handler runs, so a busy
            # loop thread holds nothing back from other workers (memory:// has no prefetch).
            inline = (
                not self._is_async
                and self.concurrency == 1
                and self.prefetch == 1
                and not is_memory(self.url)
            )
        self.inline = inline
        self._inline_chosen = inline_option is not None
        # inf or 1e300 would overflow the timed waits of shutdown; nan would skip the grace
        # period. The bound is a call's longest timeout: no handler can need longer.
        if (
            isinstance(grace, bool)
            or not isinstance(grace, int | float)
            or not 0 <= grace <= MAX_TIMEOUT  # False for nan
        ):
            raise ConfigurationError(
                f"grace must be a number of seconds from 0 to {MAX_TIMEOUT}, not {grace!r}"
            )
        self._grace = grace
        if refused_login_timeout is not None and (
            isinstance(refused_login_timeout, bool)
            or not isinstance(refused_login_timeout, int | float)
            or not 0 <= refused_login_timeout <= MAX_TIMEOUT  # False for nan
        ):
            raise ConfigurationError(
                f"refused_login_timeout must be None or a number of seconds from 0 to "
                f"{MAX_TIMEOUT}, not {refused_login_timeout!r}"
            )
        self.refused_login_timeout = refused_login_timeout
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
        self._keeper: _HeartbeatKeeper | None = None
        # Between the main thread of run() and the loop's thread:
        self._events: queue_module.SimpleQueue[int | None] | None = None
        self._stop_requested = False  # the main thread asked the loop to stop
        self._inline_busy = False  # the loop's thread is in an inline handler
        self._serving: asyncio.Future[None] | None = None  # under ``async with``
        self._inline_before = inline
        # Health: the loop's last sign of life, and whether the consumer has started.
        self._ticker: asyncio.TimerHandle | None = None
        self._ticked = 0.0
        self._consuming = False

    # -- running ---------------------------------------------------------------------------

    async def serve(self, *, ready: threading.Event | asyncio.Event | None = None) -> None:
        """Consume until :meth:`stop`, then shut down gracefully (see the module docstring)."""
        self._stop, self._abort, self._idle = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._stopping, self._running = False, 0
        self._backlog.clear()
        self._loop = asyncio.get_running_loop()
        if self._stop_requested:  # a signal came before the loop existed
            self._stop.set()
        consumer = self._consumer()
        self._active = consumer
        if not self._is_async and not self.inline:
            self._threads = _HandlerThreads(
                self.concurrency, "leveret-handler", self._loop, self._run_sync, self._finish
            )
        # Every mode: requests are validated on the loop's thread, inline handlers run there.
        self._keeper = _HeartbeatKeeper(consumer)
        self._tick()
        try:
            await consumer.start(self._on_delivery)
            self._consuming = True
            log.info(
                "%s serving %s on %s queue %r at %s (concurrency %d, prefetch %d%s)",
                type(self).__name__,
                self.service.name,
                self.queue_type,
                self.queue,
                redact(self.url),
                self.concurrency,
                self.prefetch,
                ", handlers inline" if self.inline else "",
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
            if self._keeper is not None:
                self._keeper.stop()
                self._keeper = None
            self._consuming = False
            if self._ticker is not None:
                self._ticker.cancel()
                self._ticker = None

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
            self.url,
            self.queue,
            prefetch=self.prefetch,
            queue_arguments=self._queue_arguments,
            tls=self.tls,
            refused_login_timeout=self.refused_login_timeout,
        )

    # -- health ----------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Whether the worker consumes its queue right now: started, connected, not stopping.

        False while it connects or reconnects (broker down) and from the first stop signal on.
        Safe to read from any thread (``leveret serve --health-port`` serves it as /readyz).
        """
        consumer = self._active
        return (
            self._consuming
            and not self._stopping
            # Set by run()'s main thread at a signal, before the loop (maybe busy in an inline
            # handler) has acted on it.
            and not self._stop_requested
            and consumer is not None
            and bool(getattr(consumer, "connected", True))  # memory:// is never disconnected
        )

    @property
    def alive(self) -> bool:
        """Whether the worker's event loop responds: it is serving (connected to the broker or
        not: an outage is no reason to restart a worker that reconnects by itself) and its loop
        has run a timer in the last 10 s, or its thread is busy in an inline handler (a long
        handler is not a hung loop). Safe to read from any thread (/livez)."""
        if self._ticker is None:
            return False
        keeper = self._keeper
        if keeper is not None and keeper.busy:
            return True
        return time.monotonic() - self._ticked < _LIVENESS_TIMEOUT

    def _tick(self) -> None:
        self._ticked = time.monotonic()
        assert self._loop is not None
        self._ticker = self._loop.call_later(_TICK, self._tick)

    # -- deliveries ------------------------------------------------------------------------

    def _on_delivery(self, delivery: Delivery, token: int) -> None:
        consumer = self._active
        assert consumer is not None
        try:
            # _stop_requested: run()'s main thread has seen a signal. An inline handler holds
            # the loop's thread, so the deliveries pika had already read are dispatched right
            # after it, before the loop runs the stop: none of them may start.
            if self._stopping or self._stop_requested:
                consumer.release(token, delivery)
                return
            accepted = self._accept(delivery)
            if isinstance(accepted, Outcome):
                consumer.settle(token, accepted.reply, ack=accepted.ack)
            elif self._running < self.concurrency:
                self._start(accepted, token)
            else:
                self._backlog.append((accepted, delivery, token))
        except Exception:
            # Nothing about one message may reach the I/O callbacks: the connection would
            # drop, the broker would redeliver the message, and so on without end.
            log.exception(
                "dropped a delivery the worker could not handle (cid=%r)", delivery.correlation_id
            )
            with contextlib.suppress(Exception):
                consumer.settle(token, None, ack=False)

    def _accept(self, delivery: Delivery) -> Call | Outcome:
        keeper = self._keeper
        if keeper is None:
            return self._dispatcher.accept(delivery)
        keeper.enter()
        try:
            return self._dispatcher.accept(delivery)
        finally:
            keeper.leave()

    def _start(self, call: Call, token: int) -> None:
        self._running += 1
        if self._threads is not None:
            self._threads.submit(call, token)
            return
        if self.inline:
            self._finish(token, self._run_inline(call))
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

    def _run_inline(self, call: Call) -> Outcome:
        keeper = self._keeper
        self._inline_busy = True
        if keeper is not None:
            keeper.enter()
        try:
            return self._run_sync(call)
        finally:
            if keeper is not None:
                keeper.leave()
            self._inline_busy = False
            if self._stop_requested and self._events is not None:
                self._events.put(_HANDLER_DONE)

    def _run_sync(self, call: Call) -> Outcome:
        started = time.perf_counter()
        try:
            result = call.handler(call.request, call.context)
            if inspect.iscoroutine(result):
                result.close()  # no "never awaited" warning on top of the error
                raise TypeError(
                    f"handler of {call.method.name!r} returned a coroutine, but the servicer "
                    "runs sync handlers: subclass the generated Async...Servicer"
                )
        except BaseException as exc:  # a handler thread must survive whatever the handler does
            return self._dispatcher.finish(call, error=exc, started=started)
        return self._dispatcher.finish(call, result, started=started)

    async def _run_async(self, call: Call, token: int) -> None:
        started = time.perf_counter()
        try:
            result = call.handler(call.request, call.context)
            # An async servicer's handler under a plain decorator is an ordinary function that
            # returns the coroutine; one that returns its result outright is served too.
            if inspect.isawaitable(result):
                result = await result
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if self._stopping or (task is not None and task.cancelling()):
                raise  # given up at shutdown: unacked, so the broker redelivers it
            # Something the handler awaited was cancelled, not this task: a failed call, and
            # its concurrency slot must come back.
            outcome = self._dispatcher.finish(call, error=exc, started=started)
        except BaseException as exc:
            outcome = self._dispatcher.finish(call, error=exc, started=started)
        else:
            outcome = self._dispatcher.finish(call, result, started=started)
        self._finish(token, outcome)

    # -- control ---------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT; a second signal gives up at once.

        In the main thread, the worker's loop runs on a thread of its own and this thread
        waits for signals: a handler that holds the loop's thread (inline) cannot delay them.
        """
        self._check_idle()
        if threading.current_thread() is not threading.main_thread():
            asyncio.run(self.serve())  # signals are the main thread's business
            return
        events: queue_module.SimpleQueue[int | None] = queue_module.SimpleQueue()
        failure: list[BaseException] = []

        def serve() -> None:
            try:
                asyncio.run(self.serve())
            except BaseException as exc:
                failure.append(exc)
            finally:
                events.put(None)

        def on_signal(signum: int, _frame: Any) -> None:
            events.put(signum)  # SimpleQueue.put is safe in a signal handler

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        self._events, self._stop_requested, self.forced_by = events, False, None
        try:
            thread = threading.Thread(target=serve, name=f"leveret-{self.queue}", daemon=True)
            thread.start()
            self._supervise(events, thread)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._events = None
        if failure and self.forced_by is None:
            raise failure[0]

    def _supervise(
        self, events: queue_module.SimpleQueue[int | None], thread: threading.Thread
    ) -> None:
        """The main thread of :meth:`run`: act on signals until the loop's thread ends."""
        first = events.get()
        if first is None:
            thread.join()
            return
        log.info(
            "%s: stopping gracefully (send it again to exit at once)", signal.Signals(first).name
        )
        self._stop_requested = True
        self._in_loop(self._request_stop)
        # The loop cannot time an inline handler that holds its thread; this thread does.
        handler_by: float | None = None
        if self._inline_busy:
            handler_by = time.monotonic() + self._grace
            log.info("stopping: waiting up to %g s for 1 handler(s) in progress", self._grace)
        end_by = time.monotonic() + self._grace + _CLOSE_TIME
        while True:
            limit = handler_by if handler_by is not None else end_by
            try:
                event = events.get(timeout=max(0.0, limit - time.monotonic()))
            except queue_module.Empty:
                log.warning(
                    "stopping with %d handler(s) still running: their requests go back to the "
                    "queue",
                    max(self._running, 1),
                )
                return
            if event is None:
                thread.join()
                return
            if event == _HANDLER_DONE:
                if handler_by is not None:
                    handler_by = None
                    end_by = time.monotonic() + _CLOSE_TIME
                continue
            sig = signal.Signals(event)
            log.warning("%s again: exiting at once", sig.name)
            self.forced_by = sig
            self._in_loop(self._request_abort)
            thread.join(1.0)  # a loop that is free closes its connection; a busy one cannot
            return

    def _in_loop(self, callback: Callable[[], None]) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nothing to do
                loop.call_soon_threadsafe(callback)

    def _request_stop(self) -> None:
        if self._stop is not None:
            # At once, not when serve() next runs: a delivery read before then (the one a
            # finished handler's ack lets in, say) must go back to the queue, not start.
            self._stopping = True
            self._stop.set()

    def _request_abort(self) -> None:
        if self._abort is not None:
            self._abort.set()

    def _check_idle(self) -> None:
        if self._serving is not None or (self._thread is not None and self._thread.is_alive()):
            # A second consumer on the same worker would outlive stop(), holding requests.
            raise ConfigurationError("this worker is already serving")

    def start(self, timeout: float = 30.0) -> Self:
        """Serve on a background thread; returns once consuming, or raises why it could not."""
        self._check_idle()
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
            self._thread = None
            raise failure[0]
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop consuming, let handlers in progress finish, close the connection."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # At once, from this thread: an inline handler may hold the loop's thread, and
            # the deliveries already read are dispatched before the loop runs _request_stop;
            # this makes them go back to the queue instead of starting. (serve() resets it.)
            self._stopping = True
            self._in_loop(self._request_stop)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    async def __aenter__(self) -> Self:
        self._check_idle()
        inline = self.inline
        if not self._inline_chosen:
            self.inline = False
        ready = asyncio.Event()
        serving = asyncio.ensure_future(self.serve(ready=ready))
        started = asyncio.ensure_future(ready.wait())
        try:
            await asyncio.wait([serving, started], return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled while connecting: leave nothing running
            started.cancel()
            serving.cancel()
            with contextlib.suppress(BaseException):
                await serving
            self.inline = inline
            raise
        started.cancel()
        if serving.done():
            self.inline = inline
            serving.result()  # raises why it could not start
            raise ConfigurationError(f"worker for {self.queue!r} stopped as it started")
        self._serving, self._inline_before = serving, inline
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        serving, self._serving = self._serving, None
        if serving is None:
            return
        try:
            self._request_stop()
            await serving
        finally:
            self.inline = self._inline_before

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
