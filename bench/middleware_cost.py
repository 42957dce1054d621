"""What a middleware costs per call and per side, measured inside a real client and worker.

Usage: .venv/bin/python bench/middleware_cost.py [--calls 3000] [--only otel,metrics,...]

For each configuration, a sync worker (subprocess, inline handler) and a sync client (this
process) make sequential calls over the broker at AMQP_URL with the same middleware on both
sides, wrapped between two timing middlewares: the outermost and the innermost. The chain's
cost on a side is outer time minus inner time, per call, reported by both processes. The
configurations:

  none      only the two timers (the floor of the measurement itself)
  sdk       a bare OpenTelemetry SDK span per call (start_span + end, no attributes, no
            propagation, no context): what the SDK costs before leveret does anything
  otel      leveret.otel.OpenTelemetry
  metrics   leveret.prometheus.Metrics
  both      Metrics, then OpenTelemetry (the harness's -obs rows)

Every tracer provider is an SDK TracerProvider with a BatchSpanProcessor to an exporter that
drops the spans; every registry a private one. Needs the otel and prometheus extras and
opentelemetry-sdk (all in the dev extra). Results are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
CONFIGS = ("none", "sdk", "otel", "metrics", "both")


def _stubs(folder: str) -> Any:
    out = Path(folder) / "gen"
    if not (out / "peerbench_svc").exists():
        subprocess.run(
            [sys.executable, "-m", "leveret", "generate", str(ROOT / "bench/peer/peerbench.yaml"),
             "--out", str(out), "-q"],
            check=True,
        )  # fmt: skip
    sys.path.insert(0, str(out))
    import peerbench_svc

    return peerbench_svc


class _Clock:
    """Outer minus inner chain time, summed over the calls the outer timer saw."""

    def __init__(self) -> None:
        self.outer = 0.0
        self.inner = 0.0
        self.calls = 0
        self.lock = threading.Lock()

    def per_call_us(self) -> float:
        return (self.outer - self.inner) / max(1, self.calls) * 1e6


def _chain(config: str, clock: _Clock) -> list[Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
    from opentelemetry.trace import SpanKind
    from prometheus_client import CollectorRegistry

    import leveret
    from leveret.otel import OpenTelemetry
    from leveret.prometheus import Metrics

    class Dropped(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropped()))

    class Timer(leveret.Middleware):
        def __init__(self, outer: bool) -> None:
            self.outer = outer

        def intercept(self, call: Any, call_next: Any) -> Any:
            begun = time.perf_counter()
            try:
                return call_next(call)
            finally:
                spent = time.perf_counter() - begun
                with clock.lock:
                    if self.outer:
                        clock.outer += spent
                        clock.calls += 1
                    else:
                        clock.inner += spent

    tracer = provider.get_tracer("bench")

    class BareSpan(leveret.Middleware):
        def intercept(self, call: Any, call_next: Any) -> Any:
            span = tracer.start_span("x", kind=SpanKind.CLIENT)
            try:
                return call_next(call)
            finally:
                span.end()

    middle: list[Any] = {
        "none": [],
        "sdk": [BareSpan()],
        "otel": [OpenTelemetry(tracer_provider=provider)],
        "metrics": [Metrics(CollectorRegistry())],
        "both": [Metrics(CollectorRegistry()), OpenTelemetry(tracer_provider=provider)],
    }[config]
    return [Timer(True), *middle, Timer(False)]


def serve(folder: str, queue: str, config: str) -> None:
    import signal

    import leveret

    svc = _stubs(folder)
    clock = _Clock()

    class Adder(svc.AdderServicer):  # type: ignore[misc, name-defined]
        def add(self, request: Any, context: Any) -> Any:
            return svc.AddReply(sum=request.a + request.b)

    worker = leveret.Worker(Adder(), url=URL, queue=queue, middleware=_chain(config, clock))
    worker.start()

    def report(*_: object) -> None:
        print(f"{clock.per_call_us():.1f}", flush=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, report)
    print("ready", flush=True)
    threading.Event().wait()


def measure(folder: str, config: str, calls: int) -> tuple[float, float, float]:
    """(calls/s, client chain µs per call, worker chain µs per call)."""
    svc = _stubs(folder)
    queue = f"bench-mwcost-{uuid.uuid4().hex[:8]}"
    worker = subprocess.Popen(
        [sys.executable, __file__, "--serve", folder, queue, config],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        if worker.stdout.readline().strip() != "ready":
            raise SystemExit("the worker did not start")
        clock = _Clock()
        client = svc.AdderClient.connect(URL, queue=queue, middleware=_chain(config, clock))
        try:
            for i in range(max(200, calls // 10)):  # warm-up, not counted
                client.add(a=i, b=2)
            clock.__init__()  # type: ignore[misc]
            begun = time.perf_counter()
            for i in range(calls):
                client.add(a=i, b=2)
            rate = calls / (time.perf_counter() - begun)
        finally:
            client.close()
        worker.terminate()
        # The worker's figure includes the warm-up calls: the same per-call average.
        server_us = float(worker.stdout.readline() or "nan")
        return rate, clock.per_call_us(), server_us
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait()
        subprocess.run(["rabbitmqctl", "delete_queue", queue], capture_output=True, check=False)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(*sys.argv[2:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--only", default=",".join(CONFIGS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        print(f"{args.calls} sequential calls per configuration, {URL.split('@')[-1]}")
        print("| middleware | calls/s | client chain µs/call | worker chain µs/call |")
        print("|---|---:|---:|---:|")
        for config in args.only.split(","):
            rate, client_us, worker_us = measure(folder, config, args.calls)
            print(f"| {config} | {rate:,.0f} | {client_us:.1f} | {worker_us:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
