"""``DriftLog`` without a broker: once per pair, a bounded memory that forgets the least
recently seen pair (review r12 F5), the warning's ending on each side, and one warning per
pair however many threads or event loops report it at once (F6: the log is shared by every
client, or every worker, of a process; tests/integration/test_reflection_and_drift.py shows
that with the broker)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from leveret._drift import ContractDrift, DriftLog
from leveret._logging import SafeLogger

LOGGER = "leveret.test.drift"


def _pair(n: int) -> ContractDrift:
    return ContractDrift("Inventory", "reserve", f"sha256:{n:064x}", "sha256:" + "f" * 64)


def _warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_each_pair_is_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    drifts = DriftLog("server", SafeLogger(LOGGER))
    with caplog.at_level(logging.WARNING, LOGGER):
        for n in (1, 2, 1, 2, 1):
            drifts.report(_pair(n), "caller guest")
    assert len(_warned(caplog)) == 2
    assert len(drifts) == 2


def test_past_its_capacity_it_forgets_the_least_recently_seen_pair(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drifts = DriftLog("server", SafeLogger(LOGGER), capacity=3)
    with caplog.at_level(logging.WARNING, LOGGER):
        for n in (1, 2, 3):
            drifts.report(_pair(n), "p")
        drifts.report(_pair(1), "p")  # seen again: now the most recent
        drifts.report(_pair(4), "p")  # over capacity: 2 is forgotten, not 1
        assert len(drifts) == 3
        assert _pair(1) in drifts and _pair(2) not in drifts
        caplog.clear()
        drifts.report(_pair(1), "p")
        drifts.report(_pair(2), "p")  # forgotten, so warned again
    warned = _warned(caplog)
    assert len(warned) == 1 and _pair(2).client in warned[0]
    assert len(drifts) == 3


def test_a_flood_never_stops_the_warnings(caplog: pytest.LogCaptureFixture) -> None:
    drifts = DriftLog("client", SafeLogger(LOGGER), capacity=8)
    with caplog.at_level(logging.WARNING, LOGGER):
        for n in range(1000):
            drifts.report(_pair(n), "p")
        caplog.clear()
        genuine = ContractDrift("Inventory", "reserve", "sha256:" + "1" * 64, "sha256:" + "2" * 64)
        drifts.report(genuine, "p")
        drifts.report(genuine, "p")
    assert len(_warned(caplog)) == 1
    assert len(drifts) == 8


@pytest.mark.parametrize(
    ("side", "refused", "ending"),
    [
        ("server", False, "; the call goes on, validated as usual"),
        ("client", False, "; the call goes on, validated as usual"),
        ("server", True, "; the call is refused (on_drift='reject')"),
        ("client", True, "; the worker refused the call (FAILED_PRECONDITION)"),
    ],
)
def test_the_warning_says_what_became_of_the_call(
    caplog: pytest.LogCaptureFixture, side: str, refused: bool, ending: str
) -> None:
    drifts = DriftLog("server" if side == "server" else "client", SafeLogger(LOGGER))
    with caplog.at_level(logging.WARNING, LOGGER):
        drifts.report(_pair(1), "caller guest", refused=refused)
    (warned,) = _warned(caplog)
    assert warned.startswith("contract drift on Inventory.reserve: ")
    assert warned.endswith(ending)


def test_threads_reporting_at_once_warn_once_per_pair(caplog: pytest.LogCaptureFixture) -> None:
    drifts = DriftLog("server", SafeLogger(LOGGER))
    threads, pairs = 16, 10
    start = threading.Barrier(threads)

    def report() -> None:
        start.wait()
        for _ in range(50):
            for n in range(pairs):
                drifts.report(_pair(n), "p")

    with caplog.at_level(logging.WARNING, LOGGER):
        running = [threading.Thread(target=report) for _ in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join(30)
    assert not any(thread.is_alive() for thread in running)
    assert len(_warned(caplog)) == pairs


def test_event_loops_on_two_threads_share_it(caplog: pytest.LogCaptureFixture) -> None:
    drifts = DriftLog("client", SafeLogger(LOGGER))

    async def calls() -> None:
        async def one(n: int) -> None:
            await asyncio.sleep(0)
            drifts.report(_pair(n % 3), "p")

        await asyncio.gather(*(one(n) for n in range(300)))

    with caplog.at_level(logging.WARNING, LOGGER):
        loops = [threading.Thread(target=asyncio.run, args=(calls(),)) for _ in range(2)]
        for thread in loops:
            thread.start()
        for thread in loops:
            thread.join(30)
    assert len(_warned(caplog)) == 3
