"""A broker restart (``rabbitmqctl stop_app`` / ``start_app``) under a load of calls.

Idempotent calls complete with zero failures across the restart (the client reconnects and
retries within each call's deadline, the worker reconnects and consumes again). Calls of a
non-idempotent method either succeed or fail with a clear status, never past their deadline.
No reply ever reaches the wrong caller.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from collections.abc import Callable

import pytest

import leveret
from tests.support.echo import AsyncEchoClient, Echo, EchoClient
from tests.support.proxy import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.broker_restart]

CALL_TIMEOUT = 30.0


def _rabbitmqctl(*args: str) -> None:
    proc = subprocess.run(
        ["rabbitmqctl", *args], capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0, f"rabbitmqctl {' '.join(args)}: {proc.stderr or proc.stdout}"


class Load:
    """Threads that keep calling until told to stop, recording every outcome."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.wrong: list[str] = []
        self.failures: list[BaseException] = []
        self.overdue: list[float] = []
        self.threads: list[threading.Thread] = []

    def run(self, name: str, call: Callable[[int], tuple[object, object]]) -> None:
        def loop() -> None:
            i = 0
            while not self.stop.is_set():
                i += 1
                started = time.monotonic()
                try:
                    expected, got = call(i)
                except leveret.RpcError as exc:
                    with self.lock:
                        self.failures.append(exc)
                else:
                    with self.lock:
                        self.ok += 1
                        if expected != got:
                            self.wrong.append(f"{name}: expected {expected!r}, got {got!r}")
                elapsed = time.monotonic() - started
                if elapsed > CALL_TIMEOUT + 2:
                    with self.lock:
                        self.overdue.append(elapsed)

        thread = threading.Thread(target=loop, name=name)
        self.threads.append(thread)
        thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(CALL_TIMEOUT + 10)
        assert not any(t.is_alive() for t in self.threads), "a call hung past its deadline"


def test_idempotent_load_survives_a_broker_restart(amqp_url: str, queue: str) -> None:
    echo = Echo("restart")
    idempotent, other = Load(), Load()
    async_results: list[object] = []
    with (
        leveret.Worker(echo, url=amqp_url, queue=queue, concurrency=4),
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        for t in range(4):

            def add(i: int, t: int = t) -> tuple[object, object]:
                a, b = t * 1_000_000 + i, i
                return a + b, client.add(a=a, b=b, timeout=CALL_TIMEOUT).sum

            idempotent.run(f"add-{t}", add)

        def echo_call(i: int) -> tuple[object, object]:
            text = f"e{i}"
            return text, client.echo(text=text, timeout=CALL_TIMEOUT).text

        other.run("echo", echo_call)

        def async_load() -> None:
            async def main() -> None:
                async with AsyncEchoClient.connect(amqp_url, queue=queue) as aclient:
                    while not idempotent.stop.is_set():
                        batch = await asyncio.gather(
                            *(aclient.add(a=i, b=i, timeout=CALL_TIMEOUT) for i in range(16)),
                            return_exceptions=True,
                        )
                        async_results.extend(
                            r if isinstance(r, BaseException) else (r.sum == 2 * i)  # type: ignore[attr-defined]
                            for i, r in enumerate(batch)
                        )

            asyncio.run(main())

        async_thread = threading.Thread(target=async_load)
        async_thread.start()
        try:
            wait_until(lambda: idempotent.ok >= 200, 30, "the load to get going")
            _rabbitmqctl("stop_app")
            _rabbitmqctl("start_app")
            _rabbitmqctl("await_startup", "--timeout", "120")
            before = idempotent.ok
            wait_until(lambda: idempotent.ok >= before + 200, 60, "calls after the restart")
        finally:
            _rabbitmqctl("start_app")  # in case the test failed between stop and start
            idempotent.finish()
            other.finish()
            async_thread.join(CALL_TIMEOUT + 10)
    assert not async_thread.is_alive()
    assert idempotent.failures == [], idempotent.failures[:3]
    assert idempotent.wrong == [] and other.wrong == []
    assert idempotent.overdue == [] and other.overdue == []
    assert all(
        isinstance(f, leveret.Unavailable | leveret.DeadlineExceeded) for f in other.failures
    )
    assert async_results and all(r is True for r in async_results), [
        r for r in async_results if r is not True
    ][:3]
