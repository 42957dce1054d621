"""Markers of the integration tests that disturb the broker or the network on purpose."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "faults: cuts connections through a loopback TCP proxy (tests/support/proxy.py)"
    )
    config.addinivalue_line(
        "markers",
        "broker_restart: restarts the broker (rabbitmqctl stop_app/start_app); disturbs every "
        "other user of it while it runs",
    )
