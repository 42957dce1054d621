"""The three-node cluster of ``.ci/cluster.sh``, for tests marked ``cluster``.

The tests run only when ``LEVERET_CLUSTER=1`` (set by ``.ci/run`` after ``.ci/cluster.sh start``);
otherwise they are skipped. With ``LEVERET_CLUSTER=1``, a cluster that is not up is a failure.
Every wait here is bounded.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import ROOT

CLUSTER_SH = ROOT / ".ci" / "cluster.sh"
BASE_PORT = int(os.environ.get("LEVERET_CLUSTER_PORT", "5681"))
NODES = (1, 2, 3)


def node_name(n: int) -> str:
    return f"lvt{n}@localhost"


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    interval: float = 0.2,
    state: Callable[[], object] | None = None,
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds
    (saying what it waited for, and ``state()`` if given)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f" ({state()})" if state is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(interval)


class Cluster:
    """Addresses of the nodes, and the CLI calls the tests make on them."""

    def __init__(self) -> None:
        self.stopped: set[int] = set()

    @staticmethod
    def port(n: int) -> int:
        return BASE_PORT + n - 1

    def url(self, n: int) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port(n)}/%2F"

    def urls(self, first: int) -> str:
        """All three addresses, comma-separated, node ``first`` first (where to fail over)."""
        order = [first, *(n for n in NODES if n != first)]
        return ",".join(self.url(n) for n in order)

    def reachable(self, n: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port(n)), 2):
                return True
        except OSError:
            return False

    def ctl(self, n: int, *args: str, timeout: float = 90) -> str:
        """``rabbitmqctl -n lvtN@localhost ARGS`` (as the nodes' user, via cluster.sh)."""
        proc = subprocess.run(
            [str(CLUSTER_SH), "ctl", str(n), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"rabbitmqctl -n {node_name(n)} {' '.join(args)} failed ({proc.returncode}):\n"
                f"{proc.stdout}{proc.stderr}"
            )
        return proc.stdout

    def stop_app(self, n: int) -> None:
        """Stop RabbitMQ on node ``n`` (the Erlang VM stays up, as in a rolling restart)."""
        self.stopped.add(n)
        self.ctl(n, "stop_app")

    def start_app(self, n: int) -> None:
        self.ctl(n, "start_app")
        self.ctl(n, "await_startup", "--timeout", "60")
        self.stopped.discard(n)

    def live_node(self) -> int:
        return next(n for n in NODES if n not in self.stopped)

    def queue_info(self, queue: str) -> dict[str, Any] | None:
        """type, leader, members and online members of ``queue``, asked of a running node."""
        out = self.ctl(
            self.live_node(),
            "list_queues",
            "name",
            "type",
            "leader",
            "members",
            "online",
            "messages",
            "--formatter",
            "json",
        )
        rows: list[dict[str, Any]] = json.loads(out)
        return next((row for row in rows if row["name"] == queue), None)


@pytest.fixture(scope="session")
def cluster_session() -> Cluster:
    if os.environ.get("LEVERET_CLUSTER") != "1":
        pytest.skip("cluster tests run with LEVERET_CLUSTER=1, after .ci/cluster.sh start")
    cluster = Cluster()
    down = [node_name(n) for n in NODES if not cluster.reachable(n)]
    if down:
        pytest.fail(
            f"LEVERET_CLUSTER=1 but {', '.join(down)} not reachable: run .ci/cluster.sh start",
            pytrace=False,
        )
    return cluster


@pytest.fixture
def cluster(cluster_session: Cluster) -> Iterator[Cluster]:
    """The cluster; a node a test stopped is started again afterwards, whatever happened."""
    yield cluster_session
    for n in sorted(cluster_session.stopped):
        cluster_session.start_app(n)


@pytest.fixture
def quorum_queue(cluster: Cluster) -> Iterator[str]:
    """A fresh queue name; the queue is deleted afterwards (through a running node)."""
    import pika

    name = f"leveret.cluster.{uuid.uuid4().hex[:12]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(cluster.url(cluster.live_node())))
    try:
        conn.channel().queue_delete(name)
    finally:
        conn.close()
