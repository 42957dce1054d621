"""Plot throughput against calls in flight, leveret and raw pika, from `rpc_bench.py --json` files.

The peer harness measures only 1 and 64 calls in flight; this plot covers more levels for the
two systems the targets compare. Each file is one `rpc_bench.py` run (one level of calls in
flight besides the one-call modes); a point is the median over that run's rounds.

Usage: python bench/plot_inflight.py OUT.png RUN.json [RUN.json ...]   (needs matplotlib)
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

RAW = "raw pika (tutorial at 1, then pipelined)"
ASYNC = "leveret asyncio client"
SYNC = "leveret sync client (1 thread, then N threads)"


def line_of(name: str) -> str | None:
    """The line a mode belongs to; `leveret-1-thread` (a worker variant) is left out."""
    kind, _, level = name.partition("-")
    if kind == "raw":
        return RAW  # raw-1 is the tutorial client, raw-<n> the pipelined one: one line
    if kind != "leveret" or level == "1-thread":
        return None
    if level == "1" or level.endswith("t"):
        return SYNC
    return ASYNC


def points(paths: list[Path]) -> tuple[dict[str, dict[int, list[float]]], list[str]]:
    """line -> calls in flight -> medians (one per run), and the commands that made them."""
    lines: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    commands = []
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        commands.append(doc["meta"]["command"])
        for mode in doc["modes"]:
            rate = statistics.median(s["rate"] for s in mode["samples"])
            label = line_of(mode["name"])
            if label is not None:
                lines[label][mode["inflight"]].append(rate)
    return lines, commands


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out, paths = Path(argv[0]), [Path(p) for p in argv[1:]]
    lines, _ = points(paths)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for label, by_level in lines.items():
        levels = sorted(by_level)
        # A level measured by several runs (the one-call modes are in every run): their median.
        rates = [statistics.median(by_level[n]) for n in levels]
        ax.plot(levels, rates, marker="o", label=label, linewidth=2)
        for x, y in zip(levels, rates, strict=True):
            ax.annotate(f"{y:,.0f}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xscale("log", base=2)
    levels = sorted({n for by_level in lines.values() for n in by_level})
    ax.set_xticks(levels, [str(n) for n in levels])
    ax.set_xlabel("calls in flight")
    ax.set_ylabel("calls/s (median over rounds)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left")
    ax.set_title("leveret vs raw pika, small JSON request/reply, one broker (bench/rpc_bench.py)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
