"""Markers of the integration tests that disturb the broker or the network on purpose."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.serve import Serve


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: cuts connections through a loopback TCP proxy (tests/support/proxy.py)"
    )
    config.addinivalue_line(
        "markers",
        "broker_restart: restarts the broker (rabbitmqctl stop_app/start_app); disturbs every "
        "other user of it while it runs",
    )


@pytest.fixture
def serve(amqp_url: str, queue: str) -> Iterator[Callable[..., Serve]]:
    started: list[Serve] = []

    def start(*options: str, env: dict[str, str] | None = None) -> Serve:
        proc = Serve(amqp_url, queue, *options, env=env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
