"""Soak: mixed load with faults on a schedule, against the real broker (issue 10, section 7).

    LEVERET_REQUIRE_BROKER=1 .venv/bin/python bench/soak.py --minutes 5 --out soak.json

Runs ``--workers`` worker processes (``leveret serve tests.support.echo:Echo``) and sync and
asyncio client processes (this script with ``--client``), every connection through one of two
loopback proxies (tests/support/proxy.py: one for the clients, one for the workers), for the
given time. Each client makes ``--rate`` rounds a second (``--concurrency`` at once), a round
being a call of ``add`` (idempotent) then one of ``echo`` (not idempotent), each with a token
the reply must carry back: ``add(a, b)`` must return ``a + b`` and ``echo(text)`` the same
text. Every ``--fault-every`` seconds one fault is injected, in turn:

- ``cut-clients`` / ``cut-workers``: the proxy closes every connection and refuses new ones for
  ``--cut-for`` seconds;
- ``kill-worker``: SIGKILL of a worker (never the first one, kept to watch its memory), and a
  new worker in its place;
- ``broker-restart``: ``rabbitmqctl stop_app`` then ``start_app``, only with
  ``--broker-restart`` (the broker is shared: off by default, and in CI).

It reports calls, failures by status, lost calls (an idempotent call that did not get its
answer: must be 0), replies to the wrong caller (a token that does not match: must be 0), and
the RSS of every client and worker over time (VmRSS from /proc/PID/status), and writes them as
JSON (``--out``) and as a plot (``--plot``: an SVG drawn without dependencies, or a PNG when
matplotlib is installed; ``--plot-from`` draws one from an earlier JSON). Exit status 1 when a
call was lost or a reply went to the wrong caller.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support.*, when run as a script

import pika  # noqa: E402

import leveret  # noqa: E402
from tests.support.echo import AsyncEchoClient, EchoClient  # noqa: E402
from tests.support.proxy import TcpProxy  # noqa: E402

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
TIMEOUT = 15.0  # seconds per call: longer than a cut, a worker restart or a broker restart


# -- the client processes ----------------------------------------------------------------------


class Tally:
    """What one client process saw; written as JSON when it ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()  # by method
        self.statuses: Counter[str] = Counter()  # "method STATUS"
        self.lost: list[str] = []  # idempotent calls that failed
        self.wrong: list[str] = []  # replies carrying someone else's token

    def ok(self, method: str) -> None:
        with self.lock:
            self.calls[method] += 1
            self.statuses[f"{method} OK"] += 1

    def failed(self, method: str, exc: BaseException) -> None:
        status = exc.status.name if isinstance(exc, leveret.RpcError) else type(exc).__name__
        with self.lock:
            self.calls[method] += 1
            self.statuses[f"{method} {status}"] += 1
            if method == "add":
                self.lost.append(f"{time.time():.3f} {status}: {exc}"[:300])

    def mismatch(self, what: str) -> None:
        with self.lock:
            self.wrong.append(what[:300])

    def dump(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "statuses": dict(self.statuses),
            "lost": self.lost,
            "wrong": self.wrong,
        }


def _paced(rate: float, concurrency: int, index: int, stop_at: float) -> Any:
    """Start times for one of ``concurrency`` loops sharing ``rate`` calls a second."""
    interval = concurrency / rate
    next_at = time.monotonic() + index * interval / concurrency
    while next_at < stop_at:
        yield next_at
        next_at = max(next_at + interval, time.monotonic() - interval)


def _sync_loop(client: EchoClient, tally: Tally, pace: Any) -> None:
    rng = random.Random()
    for start in pace:
        delay = start - time.monotonic()
        if delay > 0:
            time.sleep(delay)  # pacing the load, not waiting for an outcome
        a, b = rng.getrandbits(40), rng.getrandbits(40)
        try:
            total = client.add(a=a, b=b, timeout=TIMEOUT).sum
        except Exception as exc:
            tally.failed("add", exc)
        else:
            tally.ok("add")
            if total != a + b:
                tally.mismatch(f"add({a}, {b}) returned {total}")
        token = uuid.uuid4().hex
        try:
            text = client.echo(text=token, timeout=TIMEOUT).text
        except Exception as exc:
            tally.failed("echo", exc)
        else:
            tally.ok("echo")
            if text != token:
                tally.mismatch(f"echo({token}) returned {text}")


async def _async_loop(client: AsyncEchoClient, tally: Tally, pace: Any) -> None:
    rng = random.Random()
    for start in pace:
        delay = start - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        a, b = rng.getrandbits(40), rng.getrandbits(40)
        try:
            total = (await client.add(a=a, b=b, timeout=TIMEOUT)).sum
        except Exception as exc:
            tally.failed("add", exc)
        else:
            tally.ok("add")
            if total != a + b:
                tally.mismatch(f"add({a}, {b}) returned {total}")
        token = uuid.uuid4().hex
        try:
            text = (await client.echo(text=token, timeout=TIMEOUT)).text
        except Exception as exc:
            tally.failed("echo", exc)
        else:
            tally.ok("echo")
            if text != token:
                tally.mismatch(f"echo({token}) returned {text}")


def run_client(args: argparse.Namespace) -> int:
    tally = Tally()
    stop_at = time.monotonic() + args.seconds
    n = args.concurrency
    if args.client == "sync":
        with EchoClient.connect(args.url, queue=args.queue) as client:
            threads = [
                threading.Thread(
                    target=_sync_loop,
                    args=(client, tally, _paced(args.rate, n, i, stop_at)),
                    daemon=True,
                )
                for i in range(n)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    else:

        async def main() -> None:
            async with AsyncEchoClient.connect(args.url, queue=args.queue) as client:
                await asyncio.gather(
                    *(
                        _async_loop(client, tally, _paced(args.rate, n, i, stop_at))
                        for i in range(n)
                    )
                )

        asyncio.run(main())
    Path(args.out).write_text(json.dumps(tally.dump()))
    return 0


# -- the conductor -----------------------------------------------------------------------------


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def consumers(queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if conn.is_open:
            conn.close()


def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"soak: timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class Soak:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.queue = f"leveret.soak.{uuid.uuid4().hex[:8]}"
        self.worker_proxy = TcpProxy()
        self.client_proxy = TcpProxy()
        self.workers: list[subprocess.Popen[bytes]] = []
        self.clients: list[tuple[str, subprocess.Popen[bytes], str]] = []
        self.rss: list[dict[str, Any]] = []
        self.faults: list[dict[str, Any]] = []
        self.started = time.monotonic()
        self.tmp = tempfile.mkdtemp(prefix="leveret-soak-")

    def t(self) -> float:
        return round(time.monotonic() - self.started, 2)

    def spawn_worker(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leveret",
                "serve",
                "tests.support.echo:Echo",
                "--url",
                self.worker_proxy.url(),
                "--queue",
                self.queue,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def spawn_client(self, kind: str, index: int) -> None:
        out = os.path.join(self.tmp, f"{kind}-{index}.json")
        log = open(os.path.join(self.tmp, f"{kind}-{index}.log"), "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--client",
                kind,
                "--url",
                self.client_proxy.url(),
                "--queue",
                self.queue,
                "--seconds",
                str(self.args.seconds),
                "--rate",
                str(self.args.rate),
                "--concurrency",
                str(self.args.concurrency),
                "--out",
                out,
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,  # retry warnings: kept out of the report, in the log
        )
        self.clients.append((f"{kind}-{index}", proc, out))

    def sample(self) -> None:
        sample: dict[str, Any] = {"t": self.t()}
        for name, proc, _out in self.clients:
            sample[name] = rss_kb(proc.pid)
        for i, proc in enumerate(self.workers):
            sample[f"worker-{i}"] = rss_kb(proc.pid)
        self.rss.append(sample)

    def fault(self, kind: str) -> None:
        record: dict[str, Any] = {"t": self.t(), "fault": kind}
        if kind in ("cut-clients", "cut-workers"):
            proxy = self.client_proxy if kind == "cut-clients" else self.worker_proxy
            proxy.cut()
            time.sleep(self.args.cut_for)  # the length of the outage
            proxy.restore()
        elif kind == "kill-worker":
            slot = random.randrange(1, len(self.workers))  # worker-0 lives: its RSS is watched
            victim = self.workers[slot]
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            self.workers[slot] = self.spawn_worker()
            record["worker"] = slot
        elif kind == "broker-restart":
            subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True)
            subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True)
        record["took"] = round(self.t() - record["t"], 2)
        self.faults.append(record)
        print(f"soak: t={record['t']:7.1f} s  {kind} ({record['took']} s)", flush=True)

    def run(self) -> dict[str, Any]:
        args = self.args
        for _ in range(args.workers):
            self.workers.append(self.spawn_worker())
        wait_for(lambda: consumers(self.queue) == args.workers, 60, "the workers to consume")
        for i in range(args.sync_clients):
            self.spawn_client("sync", i)
        for i in range(args.async_clients):
            self.spawn_client("async", i)
        kinds = ["cut-clients", "kill-worker", "cut-workers"]
        if args.broker_restart:
            kinds.append("broker-restart")
        end = time.monotonic() + args.seconds
        next_fault = time.monotonic() + args.fault_every
        next_sample = time.monotonic()
        turn = 0
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_sample:
                self.sample()
                next_sample = now + args.sample_every
            if args.fault_every > 0 and now >= next_fault and now < end - TIMEOUT / 3:
                self.fault(kinds[turn % len(kinds)])
                turn += 1
                next_fault = time.monotonic() + args.fault_every
            time.sleep(0.1)  # the conductor's tick (sampling and the fault schedule)
        for _name, proc, _out in self.clients:
            proc.wait(timeout=TIMEOUT * 3)
        self.sample()
        for proc in self.workers:
            proc.send_signal(signal.SIGTERM)
        for proc in self.workers:
            proc.wait(timeout=30)
        self.worker_proxy.close()
        self.client_proxy.close()
        return self.report()

    def report(self) -> dict[str, Any]:
        calls: Counter[str] = Counter()
        statuses: Counter[str] = Counter()
        lost: list[str] = []
        wrong: list[str] = []
        exits = {}
        for name, proc, out in self.clients:
            exits[name] = proc.returncode
            if not os.path.exists(out):
                lost.append(f"{name}: exited {proc.returncode} without a report")
                continue
            data = json.loads(Path(out).read_text())
            calls.update(data["calls"])
            statuses.update(data["statuses"])
            lost += [f"{name}: {item}" for item in data["lost"]]
            wrong += [f"{name}: {item}" for item in data["wrong"]]
        failures = {k: v for k, v in statuses.items() if not k.endswith(" OK")}
        return {
            "seconds": self.args.seconds,
            "workers": self.args.workers,
            "clients": [name for name, _p, _o in self.clients],
            "rate_per_client": self.args.rate,
            "calls": sum(calls.values()),
            "calls_by_method": dict(calls),
            "failures_by_status": failures,
            "client_logs": self.tmp,
            "lost_idempotent": len(lost),
            "lost_detail": lost[:50],
            "wrong_replies": len(wrong),
            "wrong_detail": wrong[:50],
            "faults": self.faults,
            "fault_counts": dict(Counter(f["fault"] for f in self.faults)),
            "client_exit_codes": exits,
            "rss_kb": self.rss,
            "rss_growth": rss_growth(self.rss, self.args.warmup),
        }


def rss_growth(samples: list[dict[str, Any]], warmup: float) -> dict[str, Any]:
    """Per process that lived the whole run (clients, worker-0): RSS after warm-up and at the
    end, and the growth in per cent."""
    after = [s for s in samples if s["t"] >= warmup]
    growth: dict[str, Any] = {}
    if len(after) < 2:
        return growth
    names = [k for k in after[0] if (k != "t" and not k.startswith("worker-")) or k == "worker-0"]
    for name in names:
        series = [s.get(name) for s in after if s.get(name)]
        if len(series) >= 2:
            first, last = series[0], series[-1]
            growth[name] = {
                "after_warmup_kb": first,
                "end_kb": last,
                "max_kb": max(series),
                "growth_pct": round(100.0 * (last - first) / first, 2),
            }
    return growth


def plot(result: dict[str, Any], path: str) -> bool:
    """RSS over time: a PNG with matplotlib when installed; an SVG (``path`` ending in .svg)
    is drawn by hand without it, so that the figure needs no extra dependency."""
    if path.endswith(".svg"):
        Path(path).write_text(svg_plot(result))
        return True
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    samples = result["rss_kb"]
    names = sorted({k for s in samples for k in s if k != "t"})
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name in names:
        points = [(s["t"], s[name] / 1024) for s in samples if s.get(name)]
        ax.plot([p[0] for p in points], [p[1] for p in points], label=name)
    for fault in result["faults"]:
        ax.axvline(fault["t"], color="grey", alpha=0.2)
    ax.set_xlabel("seconds")
    ax.set_ylabel("RSS (MiB)")
    ax.set_title("leveret soak: RSS of clients and workers (grey: faults)")
    ax.legend(fontsize="small")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return True


def svg_plot(result: dict[str, Any]) -> str:
    """RSS (MiB) against time (s) of every process, faults as grey lines, as an SVG."""
    samples = result["rss_kb"]
    names = sorted({k for s in samples for k in s if k != "t"})
    width, height, left, bottom, top, right = 800, 360, 60, 40, 30, 150
    t_max = max((s["t"] for s in samples), default=1.0) or 1.0
    values = [s[n] / 1024 for s in samples for n in names if s.get(n)]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    lo, hi = max(0.0, lo - 2), hi + 2

    def x(t: float) -> float:
        return left + (width - left - right) * t / t_max

    def y(mib: float) -> float:
        return height - bottom - (height - bottom - top) * (mib - lo) / (hi - lo)

    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="18" font-size="13">leveret soak: RSS of clients and workers '
        f"({result['seconds']:.0f} s; grey: faults)</text>",
    ]
    for fault in result["faults"]:
        fx = x(fault["t"])
        out.append(
            f'<line x1="{fx:.1f}" y1="{top}" x2="{fx:.1f}" y2="{height - bottom}" '
            f'stroke="#bbb"><title>{fault["fault"]}</title></line>'
        )
    for i in range(5):  # axis ticks
        mib = lo + (hi - lo) * i / 4
        t = t_max * i / 4
        out.append(f'<text x="{left - 6}" y="{y(mib) + 4:.1f}" text-anchor="end">{mib:.0f}</text>')
        out.append(
            f'<text x="{x(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{t:.0f}</text>'
        )
    out.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">'
        "seconds</text>"
    )
    out.append(
        f'<text x="14" y="{(top + height - bottom) / 2}" '
        f'transform="rotate(-90 14 {(top + height - bottom) / 2})" text-anchor="middle">'
        "RSS (MiB)</text>"
    )
    out.append(
        f'<rect x="{left}" y="{top}" width="{width - left - right}" '
        f'height="{height - top - bottom}" fill="none" stroke="black"/>'
    )
    for i, name in enumerate(names):
        colour = colours[i % len(colours)]
        points = " ".join(
            f"{x(s['t']):.1f},{y(s[name] / 1024):.1f}" for s in samples if s.get(name)
        )
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}"/>')
        ly = top + 14 * i + 10
        out.append(
            f'<line x1="{width - right + 10}" y1="{ly}" x2="{width - right + 30}" y2="{ly}" '
            f'stroke="{colour}"/><text x="{width - right + 34}" y="{ly + 4}">{name}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def summary(result: dict[str, Any]) -> str:
    lines = [
        f"soak: {result['seconds']:.0f} s, {result['workers']} workers, "
        f"clients {', '.join(result['clients'])}, {result['rate_per_client']} rounds/s each",
        f"calls: {result['calls']} {result['calls_by_method']}",
        f"failures by status: {result['failures_by_status'] or 'none'}",
        f"faults: {result['fault_counts']}",
        f"lost idempotent calls: {result['lost_idempotent']}",
        f"replies to the wrong caller: {result['wrong_replies']}",
    ]
    for name, g in result["rss_growth"].items():
        lines.append(
            f"RSS {name}: {g['after_warmup_kb']} kB after warm-up -> {g['end_kb']} kB at the end "
            f"({g['growth_pct']:+.2f} %), max {g['max_kb']} kB"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, help="overrides --minutes")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--sync-clients", type=int, default=1)
    parser.add_argument("--async-clients", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4, help="calls in flight per client")
    parser.add_argument(
        "--rate", type=float, default=40.0, help="rounds (add + echo) a second per client"
    )
    parser.add_argument("--fault-every", type=float, default=10.0, help="seconds; 0: no faults")
    parser.add_argument("--cut-for", type=float, default=1.0, help="seconds a proxy cut lasts")
    parser.add_argument("--broker-restart", action="store_true", help="also restart the broker")
    parser.add_argument("--sample-every", type=float, default=2.0, help="seconds between RSS")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before RSS counts")
    parser.add_argument("--out", default="soak.json")
    parser.add_argument(
        "--plot", help="RSS over time: an .svg (drawn by hand), or a .png (needs matplotlib)"
    )
    parser.add_argument("--plot-from", help="only draw --plot from this earlier --out JSON")
    # A client process (started by the conductor):
    parser.add_argument("--client", choices=["sync", "async"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = args.minutes * 60
    if args.client:
        return run_client(args)
    if args.plot_from:
        result = json.loads(Path(args.plot_from).read_text())
        print(summary(result))
        if args.plot:
            print(f"plot: {args.plot}" if plot(result, args.plot) else "plot: no matplotlib")
        return 0
    if args.workers < 2 and args.fault_every > 0:
        parser.error("--workers must be at least 2 (worker-0 is never killed)")
    result = Soak(args).run()
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(summary(result))
    print(f"written: {args.out}")
    if args.plot:
        if plot(result, args.plot):
            print(f"plot: {args.plot}")
        else:
            print("plot: skipped, matplotlib is not installed")
    return 1 if result["lost_idempotent"] or result["wrong_replies"] else 0


if __name__ == "__main__":
    sys.exit(main())
