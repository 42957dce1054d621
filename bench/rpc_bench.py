#!/usr/bin/env python
"""Baseline benchmark: leveret against raw pika, side by side in one run.

A script, not a test. Small JSON request/reply ({"a": 1, "b": 2} -> {"value": 3}); every server
runs in its own process (multiprocessing, spawn), the clients run in this process.

Modes (all run in every round, interleaved, so a noisy machine hits them alike):

  raw-1        raw pika, RabbitMQ tutorial style: BlockingConnection, direct reply-to, publish
               then process_data_events until the reply. Server: BlockingConnection consumer,
               json decode, reply, ack (prefetch 1). One call in flight.
  leveret-1    generated CalculatorClient (sync), one call in flight, against a leveret.Worker
               running a CalculatorServicer subclass (sync handler, concurrency 1: by default
               the handler runs inline on the worker's I/O thread).
  leveret-1-thread  the same against Worker(inline=False): the handler runs on a thread.
  raw-64       raw pika pipelined: BlockingConnection, a window of 64 requests kept in flight,
               replies matched by correlation id. Server as raw-1 but prefetch 128
               (2x the window, as in ../shared/bench's pika-pipelined-64).
  leveret-64   generated AsyncCalculatorClient, 64 coroutines each calling in a loop (64 in
               flight), against a leveret.Worker running an AsyncCalculatorServicer subclass
               (concurrency 64, prefetch 64) -- or, with --async-worker sync, a sync
               CalculatorServicer with --sync-concurrency threads.

Reported per mode: calls/s (median of rounds), p50/p99 latency, client CPU s per 1000 calls
(time.process_time in this process), server CPU s per 1000 calls (/proc/<pid>/stat of the server
process), broker CPU s per 1000 calls (/proc of beam.smp if visible; shared with anything else
using the broker), and the ratios leveret/raw per round (median reported).

    .venv/bin/python bench/rpc_bench.py            # 5 rounds x 2000 calls
    .venv/bin/python bench/rpc_bench.py --quick    # 3 rounds x 500 calls
    .venv/bin/python bench/rpc_bench.py --inflight 256 --only raw-256,leveret-256,leveret-256t
    .venv/bin/python bench/rpc_bench.py --json out.json   # every sample, for bench/plot_inflight.py
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "generated"))

import pika  # noqa: E402
from calculator import (  # noqa: E402
    AsyncCalculatorClient,
    AsyncCalculatorServicer,
    CalculatorClient,
    CalculatorServicer,
    Operands,
    Result,
)

import leveret  # noqa: E402

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
REPLY_TO = "amq.rabbitmq.reply-to"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# servers (each in its own process)


def raw_server(url: str, queue: str, prefetch: int) -> None:
    """The RabbitMQ tutorial RPC server, with JSON in and out."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    ch = conn.channel()
    ch.queue_declare(queue=queue)
    ch.basic_qos(prefetch_count=prefetch)

    def on_request(ch: Any, method: Any, props: Any, body: bytes) -> None:
        req = json.loads(body)
        reply = json.dumps({"value": req["a"] + req["b"]}).encode()
        ch.basic_publish(
            exchange="",
            routing_key=props.reply_to,
            properties=pika.BasicProperties(
                correlation_id=props.correlation_id, content_type="application/json"
            ),
            body=reply,
        )
        ch.basic_ack(delivery_tag=method.delivery_tag)

    ch.basic_consume(queue=queue, on_message_callback=on_request)
    with contextlib.suppress(KeyboardInterrupt):
        ch.start_consuming()


class BenchCalculator(CalculatorServicer):
    def add(self, request: Operands, context: leveret.CallContext) -> Result:
        return Result(value=request.a + request.b)

    def divide(self, request: Operands, context: leveret.CallContext) -> Result:
        return Result(value=request.a / request.b)

    def sum(self, request: Any, context: leveret.CallContext) -> Result:
        return Result(value=sum(request.values))


class AsyncBenchCalculator(AsyncCalculatorServicer):
    async def add(self, request: Operands, context: leveret.CallContext) -> Result:
        return Result(value=request.a + request.b)

    async def divide(self, request: Operands, context: leveret.CallContext) -> Result:
        return Result(value=request.a / request.b)

    async def sum(self, request: Any, context: leveret.CallContext) -> Result:
        return Result(value=sum(request.values))


def leveret_server(url: str, queue: str, kind: str, concurrency: int) -> None:
    servicer = AsyncBenchCalculator() if kind == "async" else BenchCalculator()
    leveret.Worker(
        servicer,
        url=url,
        queue=queue,
        concurrency=concurrency,
        inline=False if kind == "threaded" else None,  # None: the default
    ).run()


# --------------------------------------------------------------------------------------------
# clients (this process). Each runner does `calls` calls and returns per-call latencies (s).


class RawBlockingClient:
    """Tutorial client, one call in flight."""

    def __init__(self, url: str, queue: str) -> None:
        self.queue = queue
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.ch.basic_consume(queue=REPLY_TO, on_message_callback=self._on_reply, auto_ack=True)
        self.response: bytes | None = None
        self.corr_id = ""

    def _on_reply(self, ch: Any, method: Any, props: Any, body: bytes) -> None:
        if props.correlation_id == self.corr_id:
            self.response = body

    def call(self, a: int, b: int) -> int:
        self.response = None
        self.corr_id = str(uuid.uuid4())
        self.ch.basic_publish(
            exchange="",
            routing_key=self.queue,
            properties=pika.BasicProperties(
                reply_to=REPLY_TO, correlation_id=self.corr_id, content_type="application/json"
            ),
            body=json.dumps({"a": a, "b": b}).encode(),
        )
        while self.response is None:
            self.conn.process_data_events(time_limit=None)
        return json.loads(self.response)["value"]

    def run(self, calls: int) -> list[float]:
        lat = []
        pc = time.perf_counter
        for i in range(calls):
            t0 = pc()
            value = self.call(i, 2)
            lat.append(pc() - t0)
            assert value == i + 2, value
        return lat

    def close(self) -> None:
        self.conn.close()


class RawPipelinedClient:
    """BlockingConnection, a window of `inflight` requests, replies matched by correlation id."""

    def __init__(self, url: str, queue: str, inflight: int) -> None:
        self.queue = queue
        self.inflight = inflight
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.ch.basic_consume(queue=REPLY_TO, on_message_callback=self._on_reply, auto_ack=True)
        self.pending: dict[str, tuple[float, int]] = {}
        self.lat: list[float] = []
        self.sent = 0
        self.target = 0

    def _publish(self) -> None:
        i = self.sent
        self.sent += 1
        cid = str(uuid.uuid4())
        self.pending[cid] = (time.perf_counter(), i + 2)
        self.ch.basic_publish(
            exchange="",
            routing_key=self.queue,
            properties=pika.BasicProperties(
                reply_to=REPLY_TO, correlation_id=cid, content_type="application/json"
            ),
            body=json.dumps({"a": i, "b": 2}).encode(),
        )

    def _on_reply(self, ch: Any, method: Any, props: Any, body: bytes) -> None:
        started, expected = self.pending.pop(props.correlation_id)
        self.lat.append(time.perf_counter() - started)
        assert json.loads(body)["value"] == expected
        if self.sent < self.target:
            self._publish()

    def run(self, calls: int) -> list[float]:
        self.lat = []
        self.sent = 0
        self.target = calls
        for _ in range(min(self.inflight, calls)):
            self._publish()
        while len(self.lat) < calls:
            self.conn.process_data_events(time_limit=None)
        return self.lat

    def close(self) -> None:
        self.conn.close()


class LeveretSyncRunner:
    def __init__(self, url: str, queue: str) -> None:
        self.client = CalculatorClient.connect(url, queue=queue)

    def run(self, calls: int) -> list[float]:
        lat = []
        pc = time.perf_counter
        add = self.client.add
        for i in range(calls):
            t0 = pc()
            result = add(a=i, b=2)
            lat.append(pc() - t0)
            assert result.value == i + 2, result
        return lat

    def close(self) -> None:
        self.client.close()


class LeveretThreadedRunner:
    """`inflight` threads sharing one sync client (leader/follower on one connection)."""

    def __init__(self, url: str, queue: str, inflight: int) -> None:
        self.inflight = inflight
        self.client = CalculatorClient.connect(url, queue=queue)

    def run(self, calls: int) -> list[float]:
        lat: list[float] = []
        counter = iter(range(calls))
        lock = threading.Lock()
        pc = time.perf_counter
        add = self.client.add

        def worker() -> None:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = pc()
                result = add(a=i, b=2)
                lat.append(pc() - t0)
                assert result.value == i + 2, result

        threads = [threading.Thread(target=worker) for _ in range(self.inflight)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return lat

    def close(self) -> None:
        self.client.close()


class LeveretAsyncRunner:
    """One event loop kept across rounds; `inflight` coroutines each calling in a loop."""

    def __init__(self, url: str, queue: str, inflight: int) -> None:
        self.inflight = inflight
        self.loop = asyncio.new_event_loop()
        self.client = self.loop.run_until_complete(
            AsyncCalculatorClient.connect(url, queue=queue)  # type: ignore[arg-type]
        )

    async def _run(self, calls: int) -> list[float]:
        lat: list[float] = []
        counter = iter(range(calls))
        pc = time.perf_counter
        add = self.client.add

        async def worker() -> None:
            for i in counter:
                t0 = pc()
                result = await add(a=i, b=2)
                lat.append(pc() - t0)
                assert result.value == i + 2, result

        await asyncio.gather(*(worker() for _ in range(self.inflight)))
        return lat

    def run(self, calls: int) -> list[float]:
        return self.loop.run_until_complete(self._run(calls))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.close())
        self.loop.close()


# --------------------------------------------------------------------------------------------
# measurement


def proc_cpu(pid: int | None) -> float:
    """utime+stime of a process (all its threads), seconds; 0.0 if not readable."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def broker_pid() -> int | None:
    try:
        out = subprocess.run(
            ["pgrep", "-o", "beam.smp"], capture_output=True, text=True, timeout=5
        ).stdout.split()
        return int(out[0]) if out else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def rabbitmq_version() -> str:
    for cmd in (["rabbitmqctl", "version"], ["rabbitmq-diagnostics", "server_version", "-q"]):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
            if out:
                return out.splitlines()[-1]
        except (OSError, subprocess.SubprocessError):
            pass
    return "unknown"


@dataclass
class Sample:
    rate: float
    p50_ms: float
    p99_ms: float
    client_cpu_per_k: float
    server_cpu_per_k: float
    broker_cpu_per_k: float


@dataclass
class Mode:
    name: str
    description: str
    inflight: int
    server_pid: int
    runner: Any
    samples: list[Sample] = field(default_factory=list)


def measure(mode: Mode, calls: int, bpid: int | None) -> Sample:
    s0, b0 = proc_cpu(mode.server_pid), proc_cpu(bpid)
    c0, t0 = time.process_time(), time.perf_counter()
    lat = mode.runner.run(calls)
    elapsed = time.perf_counter() - t0
    c1 = time.process_time()
    s1, b1 = proc_cpu(mode.server_pid), proc_cpu(bpid)
    assert len(lat) == calls
    lat.sort()
    k = calls / 1000
    return Sample(
        rate=calls / elapsed,
        p50_ms=lat[len(lat) // 2] * 1e3,
        p99_ms=lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
        client_cpu_per_k=(c1 - c0) / k,
        server_cpu_per_k=(s1 - s0) / k,
        broker_cpu_per_k=(b1 - b0) / k,
    )


def wait_consuming(url: str, queue: str, proc: mp.process.BaseProcess, timeout: float = 30) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.is_alive():
                raise RuntimeError(f"server for {queue} exited with {proc.exitcode}")
            ch = conn.channel()
            try:
                frame = ch.queue_declare(queue=queue, passive=True)
                if frame.method.consumer_count >= 1:
                    return
                ch.close()
            except pika.exceptions.ChannelClosedByBroker:
                pass  # not declared yet
            time.sleep(0.1)
        raise RuntimeError(f"server for {queue} not consuming after {timeout}s")
    finally:
        conn.close()


def delete_queues(url: str, queues: list[str]) -> None:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for q in queues:
            ch = conn.channel()
            try:
                ch.queue_delete(queue=q)
                ch.close()
            except pika.exceptions.ChannelClosedByBroker:
                pass
    finally:
        conn.close()


def med(values: list[float]) -> float:
    return statistics.median(values)


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--url", default=os.environ.get("AMQP_URL", DEFAULT_URL))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000, help="calls per mode per round")
    ap.add_argument("--warmup", type=int, default=300, help="warm-up calls per mode")
    ap.add_argument("--inflight", type=int, default=64, help="calls in flight for *-64 modes")
    ap.add_argument(
        "--async-worker",
        choices=("async", "sync"),
        default="async",
        help="worker behind leveret-64: AsyncCalculatorServicer (default) or sync",
    )
    ap.add_argument(
        "--sync-concurrency",
        type=int,
        default=4,
        help="threads of the sync worker behind leveret-64 with --async-worker sync",
    )
    ap.add_argument("--quick", action="store_true", help="3 rounds x 500 calls, 100 warm-up")
    ap.add_argument(
        "--json",
        metavar="PATH",
        help="also write every sample as JSON (bench/plot_inflight.py plots such files)",
    )
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated modes to run (e.g. raw-1,leveret-1,leveret-1-thread); default: all",
    )
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.calls, args.warmup = 3, 500, 100

    url = args.url
    tag = uuid.uuid4().hex[:8]
    n = args.inflight
    q = {
        m: f"bench.{tag}.{m}"
        for m in ("raw-1", "leveret-1", "leveret-1-thread", f"raw-{n}", f"leveret-{n}")
    }
    ctx = mp.get_context("spawn")
    async_kind = args.async_worker
    async_conc = n if async_kind == "async" else args.sync_concurrency
    servers = {
        "raw-1": ctx.Process(target=raw_server, args=(url, q["raw-1"], 1), daemon=True),
        "leveret-1": ctx.Process(
            target=leveret_server, args=(url, q["leveret-1"], "sync", 1), daemon=True
        ),
        "leveret-1-thread": ctx.Process(
            target=leveret_server, args=(url, q["leveret-1-thread"], "threaded", 1), daemon=True
        ),
        f"raw-{n}": ctx.Process(target=raw_server, args=(url, q[f"raw-{n}"], 2 * n), daemon=True),
        f"leveret-{n}": ctx.Process(
            target=leveret_server,
            args=(url, q[f"leveret-{n}"], async_kind, async_conc),
            daemon=True,
        ),
    }
    bpid = broker_pid()
    runners: list[Any] = []
    try:
        for proc in servers.values():
            proc.start()
        for name, proc in servers.items():
            wait_consuming(url, q[name], proc)

        async_desc = (
            f"AsyncCalculatorServicer worker (concurrency {n}, prefetch {n})"
            if async_kind == "async"
            else f"sync CalculatorServicer worker (concurrency {async_conc})"
        )
        specs: list[tuple[str, str, int, Callable[[], Any]]] = [
            (
                "raw-1",
                "raw pika tutorial client/server, direct reply-to, prefetch 1",
                1,
                lambda: RawBlockingClient(url, q["raw-1"]),
            ),
            (
                "leveret-1",
                "leveret CalculatorClient (sync) -> default sync Worker (concurrency 1: inline)",
                1,
                lambda: LeveretSyncRunner(url, q["leveret-1"]),
            ),
            (
                "leveret-1-thread",
                "leveret CalculatorClient (sync) -> sync Worker(inline=False), handler on a thread",
                1,
                lambda: LeveretSyncRunner(url, q["leveret-1-thread"]),
            ),
            (
                f"raw-{n}",
                f"raw pika pipelined, window {n}, server prefetch {2 * n}",
                n,
                lambda: RawPipelinedClient(url, q[f"raw-{n}"], n),
            ),
            (
                f"leveret-{n}",
                f"leveret AsyncCalculatorClient, {n} coroutines -> {async_desc}",
                n,
                lambda: LeveretAsyncRunner(url, q[f"leveret-{n}"], n),
            ),
            (
                f"leveret-{n}t",
                f"leveret CalculatorClient (sync) shared by {n} threads -> the same worker",
                n,
                lambda: LeveretThreadedRunner(url, q[f"leveret-{n}"], n),
            ),
        ]
        only = {m for m in args.only.split(",") if m}
        unknown = only - {spec[0] for spec in specs}
        if unknown:
            ap.error(f"unknown modes: {', '.join(sorted(unknown))}")
        modes = []
        for name, desc, inflight, make in specs:
            if only and name not in only:
                continue
            runner = make()
            runners.append(runner)
            server = servers[name.rstrip("t")] if name.endswith("t") else servers[name]
            modes.append(Mode(name, desc, inflight, server.pid, runner))

        for mode in modes:
            mode.runner.run(args.warmup)
        for r in range(args.rounds):
            for mode in modes:
                mode.samples.append(measure(mode, args.calls, bpid))
            line = "  ".join(f"{m.name} {m.samples[-1].rate:,.0f}/s" for m in modes)
            print(f"round {r + 1}/{args.rounds}: {line}", file=sys.stderr, flush=True)
    finally:
        for runner in runners:
            try:
                runner.close()
            except Exception as exc:
                print(f"close: {exc!r}", file=sys.stderr)
        for proc in servers.values():
            if proc.is_alive():
                proc.terminate()
        for proc in servers.values():
            proc.join(15)
            if proc.is_alive():
                proc.kill()
                proc.join()
        delete_queues(url, list(q.values()))

    report(args, modes, bpid)
    if args.json:
        write_json(Path(args.json), args, modes)
    return 0


def write_json(path: Path, args: argparse.Namespace, modes: list[Mode]) -> None:
    """Every sample of every mode, for plots across runs at different levels of calls in flight."""
    doc = {
        "meta": {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rounds": args.rounds,
            "calls": args.calls,
            "python": platform.python_version(),
            "pika": pika.__version__,
            "rabbitmq": rabbitmq_version(),
            "cpus": os.cpu_count(),
        },
        "modes": [
            {
                "name": m.name,
                "description": m.description,
                "inflight": m.inflight,
                "samples": [vars(x) for x in m.samples],
            }
            for m in modes
        ],
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def report(args: argparse.Namespace, modes: list[Mode], bpid: int | None) -> None:
    n = args.inflight
    by = {m.name: m for m in modes}
    print()
    print(
        f"leveret baseline: {args.rounds} rounds x {args.calls} calls per mode "
        f"(warm-up {args.warmup}), medians; Python {platform.python_version()}, "
        f"pika {pika.__version__}, {os.cpu_count()} CPUs, RabbitMQ {rabbitmq_version()}"
    )
    print()
    print(
        "| mode | in flight | calls/s | p50 ms | p99 ms | client CPU s/1k | "
        "server CPU s/1k | broker CPU s/1k |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m in modes:
        s = m.samples
        broker = f"{med([x.broker_cpu_per_k for x in s]):.3f}" if bpid else "n/a"
        print(
            f"| {m.name}: {m.description} | {m.inflight} | {fmt_rate(med([x.rate for x in s]))} | "
            f"{med([x.p50_ms for x in s]):.3f} | {med([x.p99_ms for x in s]):.3f} | "
            f"{med([x.client_cpu_per_k for x in s]):.3f} | "
            f"{med([x.server_cpu_per_k for x in s]):.3f} | {broker} |"
        )
    print()
    print("Ratios leveret / raw pika (median of per-round ratios; rounds are interleaved):")
    print()
    print(
        "| comparison | throughput | target | client CPU/call | client+server CPU/call | "
        "per-round throughput ratios |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for lev, raw in (
        ("leveret-1", "raw-1"),
        ("leveret-1-thread", "raw-1"),
        (f"leveret-{n}", f"raw-{n}"),
        (f"leveret-{n}t", f"raw-{n}"),
    ):
        if lev not in by or raw not in by:
            continue
        L, R = by[lev].samples, by[raw].samples
        tp = [a.rate / b.rate for a, b in zip(L, R, strict=True)]
        ccpu = [
            a.client_cpu_per_k / b.client_cpu_per_k
            for a, b in zip(L, R, strict=True)
            if b.client_cpu_per_k > 0
        ]
        tcpu = [
            (a.client_cpu_per_k + a.server_cpu_per_k) / (b.client_cpu_per_k + b.server_cpu_per_k)
            for a, b in zip(L, R, strict=True)
            if b.client_cpu_per_k + b.server_cpu_per_k > 0
        ]
        ok = "met" if med(tp) >= 0.85 else "NOT met"
        print(
            f"| {lev} / {raw} | {med(tp):.2f}x | >= 0.85x ({ok}) | "
            f"{med(ccpu):.2f}x | {med(tcpu):.2f}x (target <= 1.3x) | "
            f"{', '.join(f'{x:.2f}' for x in tp)} |"
        )


if __name__ == "__main__":
    sys.exit(main())
