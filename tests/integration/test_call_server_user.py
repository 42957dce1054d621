"""``leveret call --server-user`` (and ``DynamicClient.connect(server_user=...)`` under it,
review r9 D2): a rogue consumer on the service's queue, logged in as another broker user,
answers first with forged replies; the command prints the genuine reply, never the forgery."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from types import ModuleType

import pytest

import leveret
from tests.integration.test_cli import _servicer, calculator  # noqa: F401  (fixture)
from tests.integration.test_reply_authenticity import Rogue
from tests.support.broker_users import BrokerUsers, broker_users
from tests.support.cli import leveret_call

pytestmark = pytest.mark.integration

#: The broker hands each request to the rogue or the worker: commands are run until the rogue
#: has answered one of them first.
MAX_RUNS = 12


@pytest.fixture(scope="module")
def users(amqp_url: str) -> Iterator[BrokerUsers]:
    with broker_users(amqp_url, "svc", "alice", "mallory") as made:
        yield made


def _call(url: str, queue: str, *args: str) -> subprocess.CompletedProcess[str]:
    return leveret_call(
        "add", '{"a": 1, "b": 2}', "--url", url, "--queue", queue, "--timeout", "20", *args
    )


def test_call_with_server_user_prints_the_genuine_reply_not_the_forgery(
    calculator: ModuleType,  # noqa: F811
    users: BrokerUsers,
) -> None:
    queue = f"leveret.test.cli-replies.{uuid.uuid4().hex[:10]}"
    # The genuine worker first: it declares the queue the rogue then consumes.
    with leveret.Worker(_servicer(calculator), url=users.url("svc"), queue=queue):
        rogue = Rogue(users.url("mallory"), queue)
        try:
            forged_runs = 0
            for _ in range(MAX_RUNS):
                seen = len(rogue.forged)
                proc = _call(users.url("alice"), queue, "--server-user", users.name("svc"))
                assert proc.returncode == 0, proc.stderr
                assert json.loads(proc.stdout) == {"value": 3.0}, proc.stdout
                if len(rogue.forged) > seen:
                    forged_runs += 1
                    break
        finally:
            rogue.stop()
    assert forged_runs == 1, "the rogue answered none of the calls first"


def test_call_with_an_empty_server_user_is_a_usage_error(users: BrokerUsers) -> None:
    proc = _call(users.url("alice"), "leveret.test.unused", "--server-user", "")
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "server_user must be a broker user name" in proc.stderr
