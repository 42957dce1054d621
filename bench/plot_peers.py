"""Plot throughput against calls in flight for every system of a peer-harness run.

Usage: python bench/plot_peers.py RESULTS.json OUT.png   (needs matplotlib)
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from typing import Any


def medians(data: dict[str, Any]) -> dict[str, tuple[str, int, float]]:
    """system id -> (label, calls in flight, median calls/s over its ok runs)."""
    systems = {s["id"]: s for s in data["systems"]}
    rates: dict[str, list[float]] = defaultdict(list)
    for run in data["runs"]:
        if run.get("phase", "main") != "main" or not run.get("ok", True):
            continue
        if run.get("payload", 0) not in (0, None):
            continue
        rate = (run.get("result") or run).get("calls_per_s")
        if rate:
            rates[run["system"]].append(rate)
    out = {}
    for sid, values in rates.items():
        s = systems[sid]
        inflight = s["concurrency"] if s["mode"] == "conc" else 1
        out[sid] = (s["label"], inflight, statistics.median(values))
    return out


def _families(sid: str, label: str) -> list[str]:
    """The line(s) a system's point belongs to: one line per system from 1 to 64 in flight."""
    if sid in ("pika-tutorial-seq", "pika-pipelined-64"):
        return ["raw pika (tutorial, then pipelined)"]
    if sid.startswith("pika-"):
        return []  # variants of the baselines: single markers
    if sid == "leveret-sync-threads-64":
        return []  # a single marker: one sync client shared by 64 threads
    if sid == "leveret-sync-seq":
        return ["leveret (default worker)"]
    if sid == "leveret-sync-seq-threaded":
        return []  # a single marker: Worker(inline=False)
    if sid == "leveret-async-64":
        return ["leveret (default worker)"]
    return [label.split(",")[0]]


def main(src: str, dst: str) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(src) as f:
        data = json.load(f)
    points = medians(data)
    families: dict[str, list[tuple[int, float]]] = defaultdict(list)
    singles: list[tuple[str, int, float]] = []
    for sid, (label, inflight, rate) in points.items():
        fams = _families(sid, label)
        for family in fams:
            families[family].append((inflight, rate))
        if not fams:
            singles.append((f"{label}", inflight, rate))
    fig, ax = plt.subplots(figsize=(10, 6))
    seen: set[tuple[int, int]] = set()
    top = max(r for _, _, r in points.values())

    def note(x: int, y: float) -> None:
        key = (x, round(y))
        if key in seen:
            return
        near = any(px == x and abs(py - y) < 0.03 * top for px, py in seen)
        seen.add(key)
        ax.annotate(
            f"{y:,.0f}",
            (x, y),
            textcoords="offset points",
            xytext=(-32, -3) if near else (6, -3),
            fontsize=7,
        )

    for family, pts in sorted(families.items(), key=lambda kv: -max(r for _, r in kv[1])):
        pts.sort()
        xs, ys = zip(*pts, strict=True)
        bold = family.startswith("leveret")
        raw = family.startswith("raw")
        ax.plot(
            xs,
            ys,
            marker="o",
            linewidth=2.5 if bold else 1.8 if raw else 1.2,
            linestyle="-" if bold or raw else "--",
            label=family,
            **({"color": "black"} if raw else {}),
        )
        for x, y in pts:
            note(x, y)
    for label, x, y in sorted(singles, key=lambda t: -t[2]):
        ax.plot(
            [x],
            [y],
            marker="D" if label.startswith("leveret") else "x",
            linestyle="none",
            markersize=8,
            label=label,
        )
        note(x, y)
    xs_all = sorted({x for _, x, _ in points.values()})
    ax.set_xscale("log", base=2)
    ax.set_xticks(xs_all)
    ax.set_xticklabels([str(x) for x in xs_all])
    ax.set_xlim(min(xs_all) / 1.6, max(xs_all) * 2.2)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("calls in flight")
    ax.set_ylabel("calls/s (median over rounds)")
    meta = data.get("meta", {})
    ax.set_title(
        "RPC over RabbitMQ, small JSON request/reply, one broker, 2 cores\n"
        f"shared peer harness, {meta.get('repeats', '?')} rounds, scale "
        f"{meta.get('scale', '?')}, {meta.get('started_utc', '')}",
        fontsize=10,
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
    print(f"wrote {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
