"""``leveret serve --workers N``: keep N worker processes running.

The supervisor starts N children, each a plain ``leveret serve`` of the same servicer, and
restarts one that dies (after a backoff that grows while it keeps dying young). SIGTERM or SIGINT
is forwarded to every child, which shuts down gracefully (see :mod:`leveret._worker`); the
supervisor exits once they all have. A second signal is forwarded too, and makes the children
exit at once.

Children run in their own process group, so a Ctrl-C in a terminal reaches them once, through
the supervisor, not twice (which would be a second signal). Each child stops by itself if the
supervisor disappears (it watches its parent).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from leveret._backoff import Backoff

__all__ = ["SUPERVISOR_PID_ENV", "Supervisor", "watch_supervisor"]

log = logging.getLogger("leveret.supervisor")

#: Set in a child's environment to the supervisor's pid; the child stops if its parent changes.
SUPERVISOR_PID_ENV = "LEVERET_SUPERVISOR_PID"

#: A child that ran at least this long before dying is restarted without delay.
_STABLE_AFTER = 30.0


@dataclass
class _Slot:
    number: int
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # deaths in a row, each soon after starting
    restart_at: float | None = None
    exit_codes: list[int] = field(default_factory=list)


class Supervisor:
    """Runs ``command`` ``workers`` times over, in child processes; :meth:`run` until stopped.

    ``grace`` is the children's own grace period: once they have been asked to stop, the
    supervisor waits that long (plus a margin) before it kills what is left. ``per_worker``
    gives the arguments added for worker number 1..N (its own health port, say).
    """

    def __init__(
        self,
        command: Sequence[str],
        workers: int,
        *,
        env: dict[str, str] | None = None,
        grace: float = 10.0,
        backoff: Backoff | None = None,
        poll_interval: float = 0.05,
        per_worker: Callable[[int], Sequence[str]] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.command = list(command)
        self.env = {**(os.environ if env is None else env), SUPERVISOR_PID_ENV: str(os.getpid())}
        self.grace = grace
        self.backoff = backoff or Backoff(initial=0.5, maximum=10.0)
        self.poll_interval = poll_interval
        self.per_worker = per_worker
        self.slots = [_Slot(n) for n in range(1, workers + 1)]
        self._signals: list[int] = []

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals.append(signum)

    def run(self) -> int:
        """Supervise until SIGTERM/SIGINT and every child has exited; the exit status: 0 when
        all children stopped cleanly, 128 + the signal after a second signal, else 1."""
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            return self._supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._kill_all()

    def _supervise(self) -> int:
        for slot in self.slots:
            self._start(slot)
        forwarded = 0
        kill_at: float | None = None
        while True:
            while forwarded < len(self._signals) and forwarded < 2:
                sig = signal.Signals(self._signals[forwarded])
                forwarded += 1
                alive = [s for s in self.slots if _alive(s)]
                if forwarded == 1:
                    log.info("%s: stopping %d worker(s) gracefully", sig.name, len(alive))
                    kill_at = time.monotonic() + self.grace + 10.0
                else:
                    log.warning("%s again: the workers exit at once", sig.name)
                    kill_at = time.monotonic() + 5.0
                for slot in alive:
                    assert slot.proc is not None
                    slot.proc.send_signal(sig)
            stopping = forwarded > 0
            now = time.monotonic()
            for slot in self.slots:
                self._reap(slot, now, restart=not stopping)
                if not stopping and slot.restart_at is not None and now >= slot.restart_at:
                    self._start(slot)
            if stopping and not any(_alive(s) for s in self.slots):
                break
            if kill_at is not None and now >= kill_at:
                log.warning("workers still running after their grace period: killing them")
                self._kill_all()
                return 1
            time.sleep(self.poll_interval)
        if forwarded >= 2:
            return 128 + self._signals[1]
        codes = [slot.exit_codes[-1] for slot in self.slots if slot.exit_codes]
        log.info("all workers stopped")
        return 0 if all(code == 0 for code in codes) else 1

    def _start(self, slot: _Slot) -> None:
        slot.restart_at = None
        command = self.command
        if self.per_worker is not None:
            command = [*command, *self.per_worker(slot.number)]
        slot.proc = subprocess.Popen(command, env=self.env, process_group=0)
        slot.started_at = time.monotonic()
        log.info("started worker %d (pid %d)", slot.number, slot.proc.pid)

    def _reap(self, slot: _Slot, now: float, *, restart: bool) -> None:
        if slot.proc is None:
            return
        code = slot.proc.poll()
        if code is None:
            return
        pid = slot.proc.pid
        slot.proc = None
        slot.exit_codes.append(code)
        if not restart:
            log.info("worker %d (pid %d) exited with status %s", slot.number, pid, _status(code))
            return
        if now - slot.started_at >= _STABLE_AFTER:
            slot.failures = 0
        delay = 0.0 if slot.failures == 0 else self.backoff.delay(slot.failures - 1)
        slot.failures += 1
        slot.restart_at = now + delay
        log.warning(
            "worker %d (pid %d) died with status %s; restarting it in %.1f s",
            slot.number,
            pid,
            _status(code),
            delay,
        )

    def _kill_all(self) -> None:
        for slot in self.slots:
            if _alive(slot):
                assert slot.proc is not None
                slot.proc.kill()
                slot.proc.wait()


def _alive(slot: _Slot) -> bool:
    return slot.proc is not None and slot.proc.poll() is None


def _status(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return str(code)


def watch_supervisor(interval: float = 0.5) -> None:
    """In a child of a supervisor: SIGTERM this process (a graceful stop) if the supervisor
    goes away, so that no worker outlives it unsupervised."""
    expected = os.environ.get(SUPERVISOR_PID_ENV)
    if not expected or not expected.isdigit():
        return
    parent = int(expected)
    if os.getppid() != parent:
        return  # not started by that supervisor (the variable leaked into another process)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.warning("the supervisor (pid %d) is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="leveret-supervisor-watch", daemon=True).start()
