"""Shared fixtures. Integration tests need RabbitMQ on AMQP_URL (default: the local broker).

Without a broker they are skipped, unless LEVERET_REQUIRE_BROKER=1 (set by .ci/run), which makes
a missing broker a failure: CI must never pass by skipping them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def _broker_reachable() -> bool:
    parts = urlsplit(AMQP_URL)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def amqp_url() -> str:
    if not _broker_reachable():
        message = f"RabbitMQ is not reachable at {AMQP_URL}"
        if os.environ.get("LEVERET_REQUIRE_BROKER") == "1":
            pytest.fail(f"{message} and LEVERET_REQUIRE_BROKER=1", pytrace=False)
        pytest.skip(message)
    return AMQP_URL


@pytest.fixture
def queue(amqp_url: str) -> Iterator[str]:
    """A fresh queue name for one test; the queue is deleted afterwards."""
    import pika

    name = f"leveret.test.{uuid.uuid4().hex[:12]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        conn.channel().queue_delete(name)
    finally:
        conn.close()
