"""examples/demo.py runs against the broker and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_the_demo_runs_and_removes_its_temporary_folder(amqp_url: str, tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    proc = subprocess.run(
        [sys.executable, "examples/demo.py"],
        cwd=ROOT,
        env={**os.environ, "AMQP_URL": amqp_url, "TMPDIR": str(temp)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "transport: RabbitMQ" in proc.stdout
    # The README shows these lines: a missing queue and a stopped worker both fail at once.
    assert "call to a queue nobody serves -> Unavailable at once: no queue" in proc.stdout
    assert "call after the worker stopped -> Unavailable at once: no worker is consuming" in (
        proc.stdout
    )
    assert proc.stdout.rstrip().endswith("done")
    assert list(temp.iterdir()) == []
