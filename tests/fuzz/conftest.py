"""Shared pieces of the fuzzers: how many examples, and the per-module queue.

``LEVERET_FUZZ_EXAMPLES`` sets the examples per fuzzed path (default 200, CI's default run);
``bench/fuzz.py`` runs the same tests with 10,000.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pika
import pytest

EXAMPLES = int(os.environ.get("LEVERET_FUZZ_EXAMPLES", "200"))


@pytest.fixture(scope="module")
def module_queue(amqp_url: str) -> Iterator[str]:
    """One queue for a whole fuzz module (a worker per example would cost seconds each)."""
    name = f"leveret.fuzz.{uuid.uuid4().hex[:12]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        conn.channel().queue_delete(name)
    finally:
        conn.close()
