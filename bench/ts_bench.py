#!/usr/bin/env python
"""The generated TypeScript client against raw amqplib, side by side in one run (issue 13, §4).

A script, not a test. The Calculator service's `add` ({"a": i, "b": 2} -> {"value": i + 2}).
Two workers, each a process of its own on a queue of its own:

  py   a leveret Python Worker running an AsyncCalculatorServicer subclass (concurrency 64)
  ts   the generated TypeScript `serve` (concurrency 64), bench/ts/bench.ts

and two clients in one Node process (bench/ts/bench.ts), both calling through the same driver
(`inflight` lanes, each calling in a loop; the answer checked):

  leveret  the generated CalculatorClient (`client.add({a, b})`): validation, publisher
           confirms, deadline, readiness check, as an application gets it
  raw      a hand-written amqplib RPC client: one channel, direct reply-to
           (amq.rabbitmq.reply-to) consumed no-ack, a correlation id per call, the same body,
           `type: 'add'`, published to the same queue; no confirms

at 1 and 64 calls in flight. Every round runs all eight (worker x in flight x client) samples,
interleaved, in the opposite order every other round; ratios are leveret / raw of the same
round, then the median. Client CPU is process.cpuUsage() of the Node process over a sample,
worker CPU /proc/<pid>/stat of the worker over the same sample.

The TypeScript side is built in bench/ts/build/ as an application would: the runtime's
`npm pack` tarball (its prepare script compiles runtime/typescript/src first) unpacked into
node_modules/leveret, `leveret generate schemas/calculator.yaml --lang typescript`, amqplib /
ajv / typescript from bench/ts's own lock file (`npm ci` there, run by this script when
bench/ts/node_modules is missing or older than the lock file). Needs `npm ci` in
runtime/typescript (for its compiler) and a broker.

    .venv/bin/python bench/ts_bench.py               # 5 rounds; 2,000 calls at 1, 10,000 at 64
    .venv/bin/python bench/ts_bench.py --quick       # 3 rounds; 500 / 2,000 calls
    .venv/bin/python bench/ts_bench.py --quick --rounds 1 --calls 20 --calls64 64 --warmup 10
    .venv/bin/python bench/ts_bench.py --json out.json   # every sample
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]
BENCH_TS = ROOT / "bench" / "ts"
BUILD = BENCH_TS / "build"
RUNTIME_TS = ROOT / "runtime" / "typescript"
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
TARGET = 0.85


# ---- the Python worker (run as `ts_bench.py --py-worker URL QUEUE`) ---------------------------


def py_worker(url: str, queue: str) -> None:
    import signal

    sys.path.insert(0, str(ROOT / "generated"))
    from calculator import AsyncCalculatorServicer, Operands, Result, SumRequest

    import leveret

    class Calculator(AsyncCalculatorServicer):
        async def add(self, request: Operands, context: leveret.CallContext) -> Result:
            return Result(value=request.a + request.b)

        async def divide(self, request: Operands, context: leveret.CallContext) -> Result:
            return Result(value=request.a / request.b)

        async def sum(self, request: SumRequest, context: leveret.CallContext) -> Result:
            return Result(value=sum(request.values))

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with leveret.Worker(Calculator(), url=url, queue=queue, concurrency=64):
        print("ready", flush=True)
        stop.wait()


# ---- building the TypeScript side ---------------------------------------------------------------


def run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build() -> Path:
    """bench/ts/build/dist/bench.js, built from the runtime's tarball and fresh generated code."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise SystemExit("node and npm are needed")
    if not (RUNTIME_TS / "node_modules" / ".bin" / "tsc").is_file():
        raise SystemExit(f"run `npm ci` in {RUNTIME_TS} first (npm pack compiles with its tsc)")
    installed = BENCH_TS / "node_modules" / ".package-lock.json"
    lock = BENCH_TS / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        run([npm, "ci", "--no-audit", "--no-fund"], BENCH_TS)
    shutil.rmtree(BUILD, ignore_errors=True)
    BUILD.mkdir()
    # `npm pack` runs the runtime's prepare script (tsc): the tarball holds today's sources.
    out = run([npm, "pack", "--silent", "--pack-destination", str(BUILD)], RUNTIME_TS)
    tarball = BUILD / out.strip().splitlines()[-1]
    package = BUILD / "node_modules" / "leveret"
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            member.name = member.name.removeprefix("package/")
            archive.extract(member, package, filter="data")
    generate = ["generate", "schemas/calculator.yaml", "--lang", "typescript", "--quiet"]
    run([sys.executable, "-m", "leveret", *generate, "--out", str(BUILD / "generated")], ROOT)
    for name in ("bench.ts", "tsconfig.json"):
        shutil.copy(BENCH_TS / name, BUILD / name)
    run(
        [str(BENCH_TS / "node_modules" / ".bin" / "tsc"), "-p", str(BUILD / "tsconfig.json")], BUILD
    )
    return BUILD / "dist" / "bench.js"


# ---- processes ------------------------------------------------------------------------------


@contextmanager
def server(argv: list[str], name: str) -> Iterator[subprocess.Popen[str]]:
    """A worker process, once it printed ``ready``; terminated on the way out."""
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready = threading.Event()

        def wait_ready(out: IO[str]) -> None:
            for line in out:
                if line.strip() == "ready":
                    ready.set()
            # The rest of its output is read (and dropped) so that it never blocks on a full pipe.

        threading.Thread(target=wait_ready, args=(proc.stdout,), daemon=True).start()
        if not ready.wait(60):
            raise SystemExit(f"the {name} worker did not start (exit {proc.poll()})")
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def delete_queues(url: str, queues: list[str]) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        for queue in queues:
            ch = conn.channel()
            with suppress(pika.exceptions.ChannelClosedByBroker):
                ch.queue_delete(queue=queue)
                ch.close()
    finally:
        conn.close()


def rabbitmq_version() -> str:
    for cmd in (["rabbitmqctl", "version"], ["rabbitmq-diagnostics", "server_version", "-q"]):
        with suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
            if out:
                return out.splitlines()[-1]
    return "unknown"


# ---- report ---------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(samples: list[dict[str, Any]], meta: dict[str, Any]) -> bool:
    """Print the tables; True when every (worker, in flight) pair meets the target."""
    print()
    print(
        f"leveret TypeScript client / raw amqplib: {meta['rounds']} rounds, "
        f"calls per sample {meta['calls']} (warm-up {meta['warmup']}), medians; "
        f"node {meta['node']}, amqplib {meta['amqplib']}, {meta['cpus']} CPUs, "
        f"RabbitMQ {meta['rabbitmq']}, load average before {meta['load_before']}, "
        f"after {meta['load_after']}"
    )
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for s in samples:
        groups.setdefault((s["worker"], s["inflight"], s["client"]), []).append(s)
    print()
    print(
        "| worker | in flight | client | calls/s | p50 ms | p99 ms | client CPU µs/call | "
        "worker CPU µs/call |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for (worker, inflight, client), rows in groups.items():
        rate = med([r["calls"] / r["seconds"] for r in rows])
        ccpu = med([1e6 * r["client_cpu"] / r["calls"] for r in rows])
        scpu = [1e6 * r["server_cpu"] / r["calls"] for r in rows if r["server_cpu"] is not None]
        print(
            f"| {worker} | {inflight} | {client} | {rate:,.0f} | "
            f"{med([r['p50_ms'] for r in rows]):.3f} | {med([r['p99_ms'] for r in rows]):.3f} | "
            f"{ccpu:.1f} | {med(scpu):.1f} |"
        )
    print()
    print("leveret / raw amqplib, per round (same worker, same in-flight level), then the median:")
    print()
    print(
        "| worker | in flight | throughput (median) | target | per-round throughput ratios | "
        "client CPU/call (median) |"
    )
    print("|---|---:|---:|---|---|---:|")
    met = True
    pairs = sorted({(w, n) for (w, n, _) in groups}, key=lambda k: (k[1], k[0]))
    for worker, inflight in pairs:
        lev = {r["round"]: r for r in groups.get((worker, inflight, "leveret"), [])}
        raw = {r["round"]: r for r in groups.get((worker, inflight, "raw"), [])}
        rounds = sorted(set(lev) & set(raw))
        if not rounds:
            continue
        tp = [
            (lev[i]["calls"] / lev[i]["seconds"]) / (raw[i]["calls"] / raw[i]["seconds"])
            for i in rounds
        ]
        cpu = [
            (lev[i]["client_cpu"] / lev[i]["calls"]) / (raw[i]["client_cpu"] / raw[i]["calls"])
            for i in rounds
            if raw[i]["client_cpu"] > 0
        ]
        ok = med(tp) >= TARGET
        met = met and ok
        print(
            f"| {worker} | {inflight} | **{med(tp):.2f}x** | >= {TARGET}x: "
            f"{'met' if ok else 'NOT met'} | {', '.join(f'{x:.2f}' for x in tp)} | "
            f"{med(cpu):.2f}x |"
        )
    return met


# ---- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("AMQP_URL", DEFAULT_URL))
    parser.add_argument("--quick", action="store_true", help="3 rounds, 500 / 2,000 calls")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--calls", type=int, help="calls per sample at 1 in flight")
    parser.add_argument("--calls64", type=int, help="calls per sample at 64 in flight")
    parser.add_argument("--warmup", type=int, help="calls per case before the rounds")
    parser.add_argument("--workers", default="py,ts", help="py, ts or both (default)")
    parser.add_argument("--no-build", action="store_true", help="reuse bench/ts/build as it is")
    parser.add_argument("--json", help="write every sample and the run's facts to this file")
    parser.add_argument("--py-worker", nargs=2, metavar=("URL", "QUEUE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.py_worker:
        py_worker(*args.py_worker)
        return 0
    rounds = args.rounds or (3 if args.quick else 5)
    calls1 = args.calls or (500 if args.quick else 2000)
    calls64 = args.calls64 or (2000 if args.quick else 10000)
    warmup = args.warmup if args.warmup is not None else (200 if args.quick else 500)
    workers = [w for w in args.workers.split(",") if w]
    if not workers or set(workers) - {"py", "ts"}:
        parser.error("--workers takes py, ts or py,ts")

    script = BUILD / "dist" / "bench.js" if args.no_build else build()
    node = shutil.which("node")
    assert node is not None
    tag = uuid.uuid4().hex[:8]
    queues = {w: f"bench.ts.{w}.{tag}" for w in workers}
    argv = {
        "py": [
            sys.executable,
            str(Path(__file__).resolve()),
            "--py-worker",
            args.url,
            queues.get("py", ""),
        ],
        "ts": [node, str(script), "worker", args.url, queues.get("ts", "")],
    }
    meta: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rounds": rounds,
        "calls": {"1": calls1, "64": calls64},
        "warmup": warmup,
        "node": run([node, "--version"], ROOT).strip(),
        "amqplib": json.loads((BENCH_TS / "node_modules" / "amqplib" / "package.json").read_text())[
            "version"
        ],
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "rabbitmq": rabbitmq_version(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    samples: list[dict[str, Any]] = []
    try:
        with server(argv[workers[0]], workers[0]) as first:
            procs = {workers[0]: first}
            with server(argv[workers[-1]], workers[-1]) if len(workers) > 1 else _none() as second:
                if second is not None:
                    procs[workers[-1]] = second
                plan = {
                    "targets": [
                        {"worker": w, "queue": queues[w], "pid": procs[w].pid} for w in workers
                    ],
                    "rounds": rounds,
                    "calls": {"1": calls1, "64": calls64},
                    "warmup": warmup,
                    "inflight": [1, 64],
                    "clients": ["raw", "leveret"],
                    "ticks": os.sysconf("SC_CLK_TCK"),
                }
                client = subprocess.Popen(
                    [node, str(script), "client", args.url, json.dumps(plan)],
                    cwd=ROOT,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                assert client.stdout is not None
                done = False
                for line in client.stdout:
                    line = line.strip()
                    if line == "done":
                        done = True
                    elif line.startswith("{"):
                        sample = json.loads(line)
                        samples.append(sample)
                        rate = sample["calls"] / sample["seconds"]
                        print(
                            f"round {sample['round'] + 1}/{rounds} {sample['worker']} "
                            f"{sample['inflight']:>2} in flight {sample['client']:>7}: "
                            f"{rate:,.0f} calls/s",
                            file=sys.stderr,
                            flush=True,
                        )
                if client.wait() != 0 or not done:
                    raise SystemExit(f"the Node client failed (exit {client.returncode})")
    finally:
        with suppress(Exception):
            delete_queues(args.url, list(queues.values()))
    meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    met = report(samples, meta)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"meta": meta, "samples": samples}, indent=1) + "\n", encoding="utf-8"
        )
    print()
    print(f"verdict: {'target met' if met else 'target NOT met'} (>= {TARGET}x in every row)")
    return 0


@contextmanager
def _none() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())
