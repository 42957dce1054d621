"""A Node.js peer written from docs/wire-protocol.md (tests/interop/node/peer.js, amqplib only)
against leveret, both ways: a Node client calls a leveret worker (the attempt header, NaN and
overflowing numbers), and a leveret client calls a Node server (retries counted by
``rpc-attempt``, a server that sends what JSON has not).

Needs ``node`` and ``npm ci`` in tests/interop/node (``.ci/run`` does it). Without them the
tests skip, unless LEVERET_REQUIRE_BROKER=1, which makes that a failure: CI must not pass by
skipping them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import leveret
from leveret._amqp import BlockingTransport
from tests.support.numbers import SEEN, Numbers, NumbersClient, SeenReply

pytestmark = pytest.mark.integration

NODE_DIR = Path(__file__).resolve().parent / "node"
PEER = NODE_DIR / "peer.js"


@pytest.fixture(scope="module")
def node() -> str:
    """The node executable, with amqplib installed next to peer.js."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not installed"
    elif not (NODE_DIR / "node_modules" / "amqplib").is_dir():
        problem = f"amqplib is not installed: run `npm ci` in {NODE_DIR}"
    if problem is not None:
        if os.environ.get("LEVERET_REQUIRE_BROKER") == "1":
            pytest.fail(f"{problem} and LEVERET_REQUIRE_BROKER=1", pytrace=False)
        pytest.skip(problem)
    assert node is not None
    return node


def test_a_node_client_calls_a_leveret_worker(node: str, amqp_url: str, queue: str) -> None:
    numbers = Numbers()
    with leveret.Worker(numbers, url=amqp_url, queue=queue, concurrency=1):
        done = subprocess.run(
            [node, str(PEER), "client", amqp_url, queue],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["add"] == {"status": "OK", "body": {"value": 42.0}}
    # rpc-attempt: 1 is a first attempt, 3 the second retry; without it, a first attempt.
    assert [got[k]["body"]["attempt"] for k in ("first", "retry", "no_attempt")] == [0, 2, 0]
    assert [got[k]["body"]["header"] for k in ("first", "retry", "no_attempt")] == [1, 3, None]
    # JSON has no NaN or infinity: refused, and the handler never ran.
    for key, loc, kind in [
        ("nan", [], "json_invalid"),
        ("infinity", [], "json_invalid"),
        ("overflow", ["a"], "finite_number"),
        ("huge_integer", ["b"], "finite_number"),
        ("stringify_nan", ["a"], "float_type"),  # JSON.stringify wrote null
    ]:
        reply = got[key]
        assert reply["status"] == "INVALID_ARGUMENT", (key, reply)
        assert (reply["body"]["details"][0]["loc"], reply["body"]["details"][0]["type"]) == (
            loc,
            kind,
        ), key
    # A sum that overflows is INTERNAL, never {"value": null}.
    assert got["sum_overflows"]["status"] == "INTERNAL"
    assert got["sum_overflows"]["body"]["message"].startswith("internal error in add")
    assert [(r.a, r.b) for r in numbers.requests] == [(20, 22), (1e308, 1e308)]


class _NodeServer:
    def __init__(self, node: str, url: str, queue: str) -> None:
        self.proc = subprocess.Popen(
            [node, str(PEER), "server", url, queue],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == "ready":
                self.ready.set()
            else:
                self.lines.append(line)

    def requests(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in list(self.lines) if line.startswith("{")]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def node_server(node: str, amqp_url: str, queue: str) -> Iterator[_NodeServer]:
    server = _NodeServer(node, amqp_url, queue)
    try:
        assert server.ready.wait(30), f"the Node server did not start: {server.lines}"
        yield server
    finally:
        server.stop()


class _NodeNumbersClient(NumbersClient):
    def seen(self) -> SeenReply:
        return self._call(SEEN, {}, leveret.DEFAULT)


def test_a_leveret_client_calls_a_node_server(
    node_server: _NodeServer, amqp_url: str, queue: str
) -> None:
    with _NodeNumbersClient(BlockingTransport(amqp_url), queue=queue) as client:
        assert client.add(a=20, b=22).value == 42
        # Every request carries rpc-attempt; UNAVAILABLE twice on an idempotent method: the
        # client retries, and the Node server counts the attempts by the header.
        seen = client.flaky()
        assert (seen.attempt, seen.header) == (2, 3)
        assert client.seen().header == 1
        with pytest.raises(leveret.Internal, match="internal error in add"):
            client.add(a=1e308, b=1e308)
        # A server that sends what JSON has not: INTERNAL at the client, not a number.
        with pytest.raises(leveret.Internal, match="add: response failed validation"):
            client.add(a=-1, b=0)  # {"value": NaN}
        with pytest.raises(leveret.Internal, match="add: response failed validation"):
            client.add(a=-2, b=0)  # {"value": 1e400}
        with pytest.raises(leveret.InvalidArgument):
            client.add(a=float("nan"), b=0)  # refused before sending
    flaky = [r for r in node_server.requests() if r["method"] == "flaky"]
    assert [r["attempt"] for r in flaky] == [1, 2, 3]
    assert len({r["correlation_id"] for r in flaky}) == 3
    assert all(r["attempt"] == 1 for r in node_server.requests() if r["method"] == "add")
    assert len([r for r in node_server.requests() if r["method"] == "add"]) == 4
