"""A three-node RabbitMQ cluster (``.ci/cluster.sh``): quorum request queues and failover.

Run by ``.ci/run`` with ``LEVERET_CLUSTER=1``; locally::

    .ci/cluster.sh start
    LEVERET_CLUSTER=1 .venv/bin/python -m pytest -m cluster tests/cluster
    .ci/cluster.sh stop
"""

from __future__ import annotations

import collections
import itertools
import threading
import time

import pytest

import leveret
from leveret import CallContext
from tests.cluster.conftest import Cluster, node_name, wait_until
from tests.support.echo import AddReply, AddRequest, Echo, EchoClient

pytestmark = pytest.mark.cluster

QUORUM = {"x-queue-type": "quorum"}
#: Deadline of each call under load: room for the client to reconnect to another node, the
#: queue to elect a new leader and the call to be retried.
CALL_TIMEOUT = 15.0


def _has_leader(cluster: Cluster, queue: str, *, not_on: int | None = None) -> str | None:
    info = cluster.queue_info(queue)
    leader = (info or {}).get("leader") or None
    if leader is None or (not_on is not None and leader == node_name(not_on)):
        return None
    return str(leader)


def test_quorum_queue_declared_on_one_node_is_usable_from_another_and_survives_its_stop(
    cluster: Cluster, quorum_queue: str
) -> None:
    """Plain pika, no leveret: the broker-side behaviour the leveret test relies on."""
    import pika

    first = pika.BlockingConnection(pika.URLParameters(cluster.url(1)))
    first.channel().queue_declare(quorum_queue, durable=True, arguments=QUORUM)
    first.close()
    info = cluster.queue_info(quorum_queue)
    assert info is not None and info["type"] == "quorum"
    assert sorted(info["members"]) == [node_name(n) for n in (1, 2, 3)]

    # Publish through node 2, with publisher confirms: the queue's leader may be elsewhere.
    second = pika.BlockingConnection(pika.URLParameters(cluster.url(2)))
    channel = second.channel()
    channel.confirm_delivery()
    for i in range(50):
        channel.basic_publish("", quorum_queue, f"before-{i}".encode(), mandatory=True)

    cluster.stop_app(1)
    leader = wait_until(
        lambda: _has_leader(cluster, quorum_queue, not_on=1), 30, "a leader on lvt2 or lvt3"
    )
    assert leader in (node_name(2), node_name(3))
    for i in range(50):  # each publish returns once confirmed by a majority of the members
        channel.basic_publish("", quorum_queue, f"after-{i}".encode(), mandatory=True)
    second.close()

    # Every message is there, once, read through node 3.
    third = pika.BlockingConnection(pika.URLParameters(cluster.url(3)))
    channel = third.channel()
    bodies: list[str] = []
    deadline = time.monotonic() + 30
    while len(bodies) < 100 and time.monotonic() < deadline:
        method, _props, body = channel.basic_get(quorum_queue, auto_ack=True)
        if method is None:
            time.sleep(0.05)
            continue
        bodies.append(body.decode())
    assert channel.basic_get(quorum_queue, auto_ack=True)[0] is None
    third.close()
    expected = {f"{when}-{i}" for when in ("before", "after") for i in range(50)}
    assert len(bodies) == len(expected) and set(bodies) == expected

    # Node 1 comes back and its member of the queue is online again.
    cluster.start_app(1)
    wait_until(
        lambda: node_name(1) in ((cluster.queue_info(quorum_queue) or {}).get("online") or []),
        30,
        "lvt1's member of the queue online again",
    )


def _kinds(failures: list[tuple[int, BaseException]]) -> str:
    """The failures, counted by kind (type and the start of the message), most common first."""
    kinds = collections.Counter(f"{type(exc).__name__}: {str(exc)[:90]}" for _, exc in failures)
    return "; ".join(f"{count} x {kind}" for kind, count in kinds.most_common(6))


class CountingEcho(Echo):
    """Echo that counts the ``add`` calls it handled (``add`` is idempotent)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.adds = 0

    def add(self, request: AddRequest, context: CallContext) -> AddReply:
        with self.lock:
            self.adds += 1
        return super().add(request, context)


class Load:
    """Threads making idempotent ``add`` calls on one shared client until told to stop.

    Every call has unique arguments (``a`` = its number), so a reply that reached the wrong
    caller, a lost call or a call answered twice shows in the results.
    """

    B = 1_000_000

    def __init__(self, client: EchoClient, threads: int, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.numbers = itertools.count()
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.issued: list[int] = []
        self.answered: list[tuple[int, int]] = []
        self.failed: list[tuple[int, BaseException]] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        while not self.done.is_set():
            with self.lock:
                i = next(self.numbers)
                self.issued.append(i)
            try:
                reply = self.client.add(a=i, b=self.B, timeout=self.timeout)
            except Exception as exc:
                with self.lock:
                    self.failed.append((i, exc))
                return  # one failure is enough to fail the test; do not spin on more
            else:
                with self.lock:
                    self.answered.append((i, reply.sum))

    @property
    def all_failed(self) -> bool:
        """Every caller thread stopped on a failure: waiting for more calls is pointless."""
        return not any(thread.is_alive() for thread in self.threads)

    @property
    def completed(self) -> int:
        with self.lock:
            return len(self.answered) + len(self.failed)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float) -> None:
        self.done.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "a caller is stuck past its deadline"


def test_idempotent_calls_survive_a_node_stop_with_workers_on_different_nodes(
    cluster: Cluster, quorum_queue: str
) -> None:
    """Workers on lvt1 and lvt2 behind a quorum queue, a client on lvt1 under load; lvt1 stops.

    The client and worker A lose their connection; the queue may lose its leader. Calls in
    flight fail with UNAVAILABLE and are retried (``add`` is idempotent) on another node; worker
    A reconnects to another node and serves again. No call fails, every call is answered once,
    with its own answer, and nothing stays behind in the queue.

    The client uses an exclusive reply queue: on RabbitMQ 3.10.8, a worker that replies to a
    direct reply-to address whose node is down has its channel crash (``case_clause`` in
    ``rabbit_channel:deliver_reply/2``); the request goes back to the queue and crashes the
    next worker too, until its deadline (see docs/cluster.md).
    """
    worker_a, worker_b = CountingEcho("A"), CountingEcho("B")
    with (
        leveret.Worker(
            worker_a, url=cluster.urls(1), queue=quorum_queue, queue_type="quorum", concurrency=4
        ),
        leveret.Worker(
            worker_b, url=cluster.urls(2), queue=quorum_queue, queue_type="quorum", concurrency=4
        ),
        EchoClient.connect(cluster.urls(1), queue=quorum_queue, reply_queue="exclusive") as client,
    ):
        info = cluster.queue_info(quorum_queue)
        assert info is not None and info["type"] == "quorum", info
        assert sorted(info["members"]) == [node_name(n) for n in (1, 2, 3)]

        load = Load(client, threads=8, timeout=CALL_TIMEOUT)
        load.start()
        try:
            wait_until(
                lambda: load.all_failed or load.completed >= 150, 30, "150 calls before the stop"
            )
            wait_until(lambda: worker_a.adds and worker_b.adds, 10, "both workers serving")
            before = load.completed

            cluster.stop_app(1)  # returns once lvt1 no longer runs RabbitMQ
            a_at_stop = worker_a.adds
            stopped_at = load.completed
            # Keep the load on until worker A, which was on lvt1, serves again from another
            # node, and a few hundred calls went through after the stop.
            wait_until(
                lambda: (
                    load.all_failed
                    or (worker_a.adds >= a_at_stop + 20 and load.completed >= stopped_at + 300)
                ),
                60,
                "worker A to serve again after failover, and 300 more calls",
                state=lambda: (
                    f"worker A: {worker_a.adds - a_at_stop} calls since the stop, "
                    f"load: {load.completed - stopped_at} calls since the stop, "
                    f"{len(load.failed)} failed: {_kinds(load.failed)}"
                ),
            )
        finally:
            load.stop(timeout=CALL_TIMEOUT + 10)

        assert not load.failed, f"{len(load.failed)} calls failed: {_kinds(load.failed)}"
        leader = _has_leader(cluster, quorum_queue, not_on=1)
        assert leader in (node_name(2), node_name(3)), cluster.queue_info(quorum_queue)
        assert before >= 150 and len(load.answered) >= before + 300
        numbers = [i for i, _ in load.answered]
        assert len(numbers) == len(set(numbers)), "a call was answered twice"
        assert sorted(numbers) == sorted(load.issued), "a call got no answer"
        wrong = [(i, total) for i, total in load.answered if total != i + Load.B]
        assert not wrong, f"replies reached the wrong caller: {wrong[:5]}"
        # Handlers ran at least once per call (more only for redelivered requests).
        assert worker_a.adds + worker_b.adds >= len(numbers)

    # Nothing stays behind in the queue, and lvt1's member rejoins once it is back.
    wait_until(
        lambda: (cluster.queue_info(quorum_queue) or {}).get("messages") == 0,
        30,
        "the queue to be empty",
    )
    cluster.start_app(1)
    wait_until(
        lambda: node_name(1) in ((cluster.queue_info(quorum_queue) or {}).get("online") or []),
        30,
        "lvt1's member of the queue online again",
    )
