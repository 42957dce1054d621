"""Run the hostile-input fuzzers (tests/fuzz/) with many examples and print the figures.

    LEVERET_REQUIRE_BROKER=1 .venv/bin/python bench/fuzz.py --examples 10000

Runs ``pytest tests/fuzz`` with ``LEVERET_FUZZ_EXAMPLES`` set and Hypothesis' statistics on,
then prints, per fuzzed path, how many examples passed, what the outcomes were, and the time.
Every example checks 0 crashes, 0 stalls, 0 INTERNAL for bad input and a good call after it
(see the tests' docstrings); one failure fails the run (exit status 1).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The lines of Hypothesis' statistics worth printing: phase, counts and outcome events.
SHOWN = r"- during generate|- \d+ passing|\d+ passing|\* [\d.]+%, (raised|returned|answered|not)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=10_000, help="examples per fuzzed path")
    parser.add_argument("-k", default="hostile", help="pytest -k expression (default: hostile)")
    parser.add_argument("--log", help="write pytest's whole output to this file")
    args = parser.parse_args()
    env = {**os.environ, "LEVERET_FUZZ_EXAMPLES": str(args.examples)}
    command = [
        sys.executable, "-m", "pytest", "tests/fuzz", "-q", "-p", "no:cacheprovider",
        "-k", args.k, "--hypothesis-show-statistics", "-o", "log_level=ERROR",
        "--timeout=0",  # the suite's 120 s per test is for CI's default example count
    ]  # fmt: skip
    started = time.monotonic()
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    print(f"$ LEVERET_FUZZ_EXAMPLES={args.examples} {' '.join(command[1:])}")
    stats = run.stdout.split("Hypothesis Statistics", 1)[-1]
    for block in re.split(r"\n(?=tests/fuzz/)", stats):
        name = block.strip().splitlines()[0] if block.strip() else ""
        if not name.startswith("tests/fuzz/"):
            continue
        print(f"\n{name}")
        for line in block.splitlines():
            line = line.strip()
            if re.match(SHOWN, line):
                print(f"  {line}")
    summary = [line for line in run.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    print(f"\n{summary[-1] if summary else 'no pytest summary'}; wall time {elapsed:.0f} s")
    if args.log:
        Path(args.log).write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        print(run.stdout[-5000:], run.stderr[-2000:], sep="\n")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
