"""A short soak (issue 10, section 7): bench/soak.py for 60 s (``LEVERET_SOAK_SECONDS``), two
worker processes, a sync and an asyncio client, a fault every few seconds (client proxy cut,
worker SIGKILL and restart, worker proxy cut; never a broker restart: the broker is shared).
No idempotent call may be lost and no reply may reach the wrong caller."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

SECONDS = float(os.environ.get("LEVERET_SOAK_SECONDS", "60"))


def test_short_soak_loses_no_idempotent_call_and_misroutes_no_reply(
    amqp_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "soak.json"
    fault_every = max(3.0, SECONDS / 8)  # each of the three faults at least twice in 60 s
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "soak.py"),
            "--seconds",
            str(SECONDS),
            "--workers",
            "2",
            "--rate",
            "20",
            "--fault-every",
            str(fault_every),
            "--warmup",
            str(SECONDS / 3),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "AMQP_URL": amqp_url},
        capture_output=True,
        text=True,
        timeout=SECONDS + 180,
    )
    assert out.exists(), f"no report; exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    result = json.loads(out.read_text())
    detail = f"{run.stdout}\n{run.stderr[-3000:]}"
    assert result["lost_idempotent"] == 0, (result["lost_detail"], detail)
    assert result["wrong_replies"] == 0, (result["wrong_detail"], detail)
    assert run.returncode == 0, detail
    # The soak did soak: both methods ran from both clients, and every fault was injected.
    assert set(result["client_exit_codes"].values()) == {0}, detail
    assert result["calls_by_method"]["add"] >= SECONDS * 5, detail
    assert result["calls_by_method"]["echo"] >= SECONDS * 5, detail
    assert set(result["fault_counts"]) == {"cut-clients", "kill-worker", "cut-workers"}, detail
    assert result["rss_kb"] and all(len(s) > 1 for s in result["rss_kb"]), "no RSS samples"
