"""Summarise a peer-harness run (JSON from bench/run_peers.sh) against the issue 3 targets.

Usage: python bench/peer_summary.py bench/results/peers-<date>.json

Prints one Markdown table of the main phase (small request), every system: median calls/s,
p50/p99, the median of per-round throughput ratios against raw pika's tutorial client
(pika-tutorial-seq) and pipelined client (pika-pipelined-64), and client+server CPU seconds per
1,000 calls with its ratio against the raw pika row of the same mode (tutorial for one call in
flight, pipelined for 64). Then the payload matrix, if the run has one. Stdlib only.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from typing import Any

TUTORIAL, PIPELINED = "pika-tutorial-seq", "pika-pipelined-64"


def med(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def f(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def cpu_per_k(run: dict[str, Any]) -> float | None:
    c, s = run.get("cpu_client_s"), run.get("cpu_server_s")
    if c is None or s is None or not run.get("n"):
        return None
    return (c + s) / run["n"] * 1000


def table(data: dict[str, Any], phase: str, payload: int) -> list[str]:
    systems = [s for s in data["systems"]]
    runs = [r for r in data["runs"] if r["phase"] == phase and r["payload"] == payload]
    ok = [r for r in runs if "error" not in r]
    by_round: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in ok:
        by_round[r["round"]][r["system"]] = r
    out = []
    for s in systems:
        mine = [r for r in ok if r["system"] == s["id"]]
        if not mine and not any(r["system"] == s["id"] for r in runs):
            continue
        base_cpu_id = TUTORIAL if s["mode"] == "seq" else PIPELINED
        x1, x3, cpu_ratio = [], [], []
        for rnd in by_round.values():
            r = rnd.get(s["id"])
            if r is None:
                continue
            if TUTORIAL in rnd:
                x1.append(r["calls_per_s"] / rnd[TUTORIAL]["calls_per_s"])
            if PIPELINED in rnd:
                x3.append(r["calls_per_s"] / rnd[PIPELINED]["calls_per_s"])
            b = rnd.get(base_cpu_id)
            if b is not None and cpu_per_k(r) and cpu_per_k(b):
                cpu_ratio.append(cpu_per_k(r) / cpu_per_k(b))
        inflight = s["concurrency"] if s["mode"] == "conc" else 1
        out.append(
            f"| `{s['id']}` | {inflight} | **{f(med([r['calls_per_s'] for r in mine]), ',.0f')}** "
            f"| {f(med(x1), '.2f')} | {f(med(x3), '.2f')} "
            f"| {f(med([r['p50_ms'] for r in mine if 'p50_ms' in r]), '.3f')} "
            f"| {f(med([r['p99_ms'] for r in mine if 'p99_ms' in r]), '.3f')} "
            f"| {f(med([x for r in mine if (x := cpu_per_k(r))]), '.3f')} "
            f"| {f(med(cpu_ratio), '.2f')} "
            f"| {len(mine)}/{len([r for r in runs if r['system'] == s['id']])} |"
        )
    return out


HEAD = (
    "| system | in flight | calls/s | x tutorial | x pipelined | p50 ms | p99 ms "
    "| client+server CPU s/1k | CPU x raw | ok runs |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


#: Rows with Metrics + OpenTelemetry and the raw-pika row instrumented by hand (bench/peer/
#: pika_obs.py) and uninstrumented row of the same mode.
OBS_ROWS = {
    "leveret-sync-seq-obs": ("pika-tutorial-seq-obs", TUTORIAL),
    "leveret-async-64-obs": ("pika-pipelined-64-obs", PIPELINED),
    "pika-tutorial-seq-obs": (None, TUTORIAL),
    "pika-pipelined-64-obs": (None, PIPELINED),
}


def instrumented(data: dict[str, Any]) -> list[str]:
    """Per-round ratios of the instrumented rows: against raw pika, and against raw pika with
    the same instrumentation by hand."""
    by_round: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in data["runs"]:
        if r["phase"] == "main" and r["payload"] == 0 and "error" not in r:
            by_round[r["round"]][r["system"]] = r
    out = []
    for row, (by_hand, raw) in OBS_ROWS.items():
        x_raw, x_hand = [], []
        for rnd in by_round.values():
            r = rnd.get(row)
            if r is None:
                continue
            if raw in rnd:
                x_raw.append(r["calls_per_s"] / rnd[raw]["calls_per_s"])
            if by_hand is not None and by_hand in rnd:
                x_hand.append(r["calls_per_s"] / rnd[by_hand]["calls_per_s"])
        if x_raw:
            rounds = ", ".join(f"{x:.2f}" for x in x_raw)
            out.append(
                f"| `{row}` | {f(med(x_raw), '.2f')} ({rounds}) | "
                f"{f(med(x_hand), '.2f') if by_hand else '-'} |"
            )
    return out


def main(path: str) -> int:
    with open(path) as fh:
        data = json.load(fh)
    meta = data["meta"]
    print(
        f"Run {meta['started_utc']} -> {meta.get('finished_utc')}, {meta['repeats']} rounds, "
        f"scale {meta['scale']}, load avg {meta.get('loadavg_start')} -> "
        f"{meta.get('loadavg_end')}"
    )
    print()
    print(HEAD)
    print("\n".join(table(data, "main", 0)))
    rows = instrumented(data)
    if rows:
        print()
        print("Instrumented rows (Metrics + OpenTelemetry; by hand: bench/peer/pika_obs.py):")
        print()
        print("| row | x raw pika, same mode (per round) | x raw pika instrumented by hand |")
        print("|---|---:|---:|")
        print("\n".join(rows))
    sizes = sorted({r["payload"] for r in data["runs"] if r["phase"] == "payload"})
    for size in sizes:
        print()
        print(f"Payload {size} B:")
        print()
        print(HEAD)
        print("\n".join(table(data, "payload", size)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
