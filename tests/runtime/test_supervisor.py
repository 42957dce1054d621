"""The ``--workers`` supervisor without a broker: restarts with backoff, stops on a signal."""

from __future__ import annotations

import itertools
import signal
import sys
import threading
import time
from pathlib import Path

from leveret._backoff import Backoff
from leveret._supervisor import Supervisor
from tests.support.proxy import wait_until


def test_a_child_that_keeps_dying_is_restarted_with_growing_delays() -> None:
    supervisor = Supervisor(
        [sys.executable, "-c", "raise SystemExit(3)"],
        1,
        backoff=Backoff(initial=0.1, multiplier=2.0, maximum=0.4, jitter=0.0),
        poll_interval=0.01,
    )
    slot = supervisor.slots[0]
    starts: list[float] = []
    start = supervisor._start

    def record(s: object) -> None:
        starts.append(time.monotonic())
        start(s)  # type: ignore[arg-type]

    supervisor._start = record  # type: ignore[method-assign]
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(supervisor._supervise()))
    thread.start()
    wait_until(lambda: len(starts) >= 4, 20, "four starts")
    supervisor._signals.append(signal.SIGTERM)
    thread.join(20)
    assert not thread.is_alive()
    assert result == [1]  # the last child exited with 3, not 0
    assert set(slot.exit_codes[:-1]) == {3}  # (the last one may have died of the SIGTERM)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # First restart at once, then 0.1 s, 0.2 s, ... (each gap also holds the child's run time).
    assert gaps[1] >= 0.1 and gaps[2] >= 0.2, gaps


def test_a_second_signal_is_forwarded_and_sets_the_status(tmp_path: Path) -> None:
    # Children that take the first SIGTERM as "stop gracefully" (and go on) and exit on the
    # second; each leaves a file once its handler is in place.
    code = (
        "import os, signal, sys, time\n"
        f"mark = lambda what: open(os.path.join({str(tmp_path)!r}, what + str(os.getpid())), "
        "'w').close()\n"
        "def first(*a):\n"
        "    signal.signal(signal.SIGTERM, lambda *b: sys.exit(143))\n"
        "    mark('stopping')\n"
        "signal.signal(signal.SIGTERM, first)\n"
        "mark('ready')\n"
        "time.sleep(60)\n"
    )
    supervisor = Supervisor([sys.executable, "-c", code], 2, poll_interval=0.01)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(supervisor._supervise()))
    thread.start()
    wait_until(lambda: len(list(tmp_path.glob("ready*"))) == 2, 20, "two children ready")
    supervisor._signals.append(signal.SIGTERM)
    wait_until(lambda: len(list(tmp_path.glob("stopping*"))) == 2, 20, "a graceful stop")
    supervisor._signals.append(signal.SIGTERM)
    thread.join(20)
    assert not thread.is_alive()
    assert result == [128 + signal.SIGTERM]
    assert [slot.exit_codes for slot in supervisor.slots] == [[143], [143]]
