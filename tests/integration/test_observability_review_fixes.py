"""Defects a review of issue 9's work found: overlapping health and metrics ports under
``--workers`` (a restart loop), and log lines a caller could forge through its correlation id."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from leveret._logging import TextFormatter
from tests.support.proxy import free_port
from tests.support.serve import Serve

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("offset", [0, 1])
def test_overlapping_health_and_metrics_ports_are_refused_before_any_worker_starts(
    serve: Callable[..., Serve], offset: int
) -> None:
    port = free_port()
    supervisor = serve(
        "--workers", "2", "--metrics-port", str(port), "--health-port", str(port + offset)
    )
    assert supervisor.wait(20) == 2, supervisor.output()
    assert "--health-port and --metrics-port overlap" in supervisor.output()
    assert "serving Echo" not in supervisor.output()


def test_a_correlation_id_cannot_forge_a_text_log_line() -> None:
    forged = "abc\n2026-12-04 17:00:00,000 ERROR leveret.worker[1]: FORGED\u2028"
    record = logging.LogRecord(
        "leveret.server", logging.INFO, __file__, 1, "handler %s (cid=%s)", ("echo", forged), None
    )
    record.correlation_id = forged
    line = TextFormatter().format(record)
    assert "\n" not in line and "\u2028" not in line
    assert "abc\\n2026-12-04" in line  # escaped, still readable
