"""A three-node RabbitMQ cluster (``.ci/cluster.sh``): quorum request queues and failover.

Run by ``.ci/run`` with ``LEVERET_CLUSTER=1``; locally::

    .ci/cluster.sh start
    LEVERET_CLUSTER=1 .venv/bin/python -m pytest -m cluster tests/cluster
    .ci/cluster.sh stop
"""

from __future__ import annotations

import time

import pytest

from tests.cluster.conftest import Cluster, node_name, wait_until

pytestmark = pytest.mark.cluster

QUORUM = {"x-queue-type": "quorum"}


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
