"""leveret in the shared peer harness (copied into peerbench/adapters/ by bench/run_peers.sh).

Stubs are generated from bench/peer/peerbench.yaml before the run (``leveret generate``);
the environment variable LEVERET_PEERBENCH_GEN names that folder. Heavy imports (leveret,
the stubs) happen inside serve()/client() only: the orchestrator imports every adapter.

Rows (group 7):
  leveret-sync-seq          generated sync client, 1 in flight, against the default sync
                            Worker (concurrency 1: the handler runs inline on its I/O thread)
  leveret-sync-seq-threaded the same against Worker(inline=False) (handler on a thread)
  leveret-async-64          generated asyncio client, 64 in flight (ctx.run_async), against a
                            Worker running an async servicer (concurrency 64)
  leveret-sync-threads-64   one generated sync client shared by 64 threads (64 in flight),
                            same async worker; the harness has no threaded driver, so this
                            row drives ctx.meter itself
  leveret-sync-seq-obs      leveret-sync-seq with Metrics and OpenTelemetry on both sides
  leveret-async-64-obs      leveret-async-64 with Metrics and OpenTelemetry on both sides
                            (issue 9: a private prometheus registry; an SDK tracer provider
                            with a batch processor to an exporter that drops the spans)

The server answers with what ctx.handle returns for the request as a dict (unset fields left
out), validated into the generated reply model; the client returns the reply as a dict.
"""

from __future__ import annotations

import os
import sys

from ..common import CONCURRENCY, System

SYSTEMS = [
    System(
        id="leveret-sync-seq",
        label="leveret sync client, default worker",
        variant="default",
        mode="seq",
        group="7",
        payload=True,
    ),
    System(
        id="leveret-sync-seq-threaded",
        label="leveret sync client, Worker(inline=False)",
        variant="threaded",
        mode="seq",
        group="7",
        payload=False,
    ),
    System(
        id="leveret-async-64",
        label=f"leveret asyncio client, {CONCURRENCY} in flight",
        variant="async",
        mode="conc",
        concurrency=CONCURRENCY,
        group="7",
        payload=True,
    ),
    System(
        id="leveret-sync-threads-64",
        label=f"leveret sync client shared by {CONCURRENCY} threads",
        variant="sync-threads",
        mode="conc",
        concurrency=CONCURRENCY,
        group="7",
        payload=False,
    ),
]


for _base, _variant in (("leveret-sync-seq", "default-obs"), ("leveret-async-64", "async-obs")):
    _row = next(system for system in SYSTEMS if system.id == _base)
    SYSTEMS.append(
        System(
            id=f"{_base}-obs",
            label=f"{_row.label}, Metrics + OpenTelemetry",
            variant=_variant,
            mode=_row.mode,
            concurrency=_row.concurrency,
            group="7",
            payload=False,
        )
    )


def _middleware(ctx):
    """Metrics and OpenTelemetry for the -obs rows, none for the others."""
    if not ctx.variant.endswith("-obs"):
        return None
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from prometheus_client import CollectorRegistry

    from leveret.otel import OpenTelemetry
    from leveret.prometheus import Metrics

    class Dropped(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))
    return [Metrics(CollectorRegistry()), OpenTelemetry(tracer_provider=provider)]


def _stubs():
    gen = os.environ["LEVERET_PEERBENCH_GEN"]
    if gen not in sys.path:
        sys.path.insert(0, gen)
    import peerbench_svc

    return peerbench_svc


def cleanup_queues(queue):
    # the worker declares its queue durable; the orchestrator deletes `queue` too, this makes
    # the intent explicit (and keeps working if the orchestrator stops doing so)
    return [queue]


def serve(ctx) -> None:
    import threading

    import leveret

    svc = _stubs()
    handle = ctx.handle
    Reply = svc.AddReply

    def reply(request):
        return Reply(**handle(request.model_dump(exclude_unset=True)))

    middleware = _middleware(ctx)
    if ctx.variant in ("async", "sync-threads", "async-obs"):

        class AsyncAdder(svc.AsyncAdderServicer):
            async def add(self, request, context):
                return reply(request)

        worker = leveret.Worker(
            AsyncAdder(),
            url=ctx.url,
            queue=ctx.queue,
            concurrency=CONCURRENCY,
            middleware=middleware,
        )
    else:

        class Adder(svc.AdderServicer):
            def add(self, request, context):
                return reply(request)

        inline = False if ctx.variant == "threaded" else None  # None: the default (inline)
        worker = leveret.Worker(
            Adder(), url=ctx.url, queue=ctx.queue, inline=inline, middleware=middleware
        )
    worker.start()
    ctx.ready()
    threading.Event().wait()  # SIGTERM from the orchestrator ends the process


def _threads(ctx, c) -> None:
    """ctx.concurrency threads share one sync client; each calls in a loop."""
    import itertools
    import threading
    import time

    make, check, pad = ctx.make_request, ctx.check, ctx.pad
    clock = time.perf_counter_ns
    add = c.add
    errors = []

    def phase(total, rec):
        counter = itertools.count()

        def work():
            try:
                while True:
                    i = next(counter)
                    if i >= total:
                        return
                    req = make(i, pad)
                    t0 = clock()
                    resp = add(**req).model_dump(exclude_none=True)
                    if rec is not None:
                        rec(clock() - t0)
                    check(req, resp)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(ctx.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    phase(ctx.warmup, None)
    ctx.meter.start()
    phase(ctx.n, ctx.meter.record)  # list.append: safe from several threads
    ctx.meter.stop()


def client(ctx) -> None:
    svc = _stubs()
    if ctx.variant == "sync-threads":
        with svc.AdderClient.connect(ctx.url, queue=ctx.queue) as c:
            _threads(ctx, c)
        return
    if ctx.mode == "conc":
        import asyncio

        async def main():
            async with svc.AsyncAdderClient.connect(
                ctx.url, queue=ctx.queue, middleware=_middleware(ctx)
            ) as c:
                add = c.add

                async def acall(req):
                    return (await add(**req)).model_dump(exclude_none=True)

                await ctx.run_async(acall)

        asyncio.run(main())
        return
    with svc.AdderClient.connect(ctx.url, queue=ctx.queue, middleware=_middleware(ctx)) as c:
        add = c.add
        ctx.run_sync(lambda req: add(**req).model_dump(exclude_none=True))
