"""Review r11b, findings 3 and 4, on the wire: a worker's echo of a valid request is ``OK``.

The service is ``tests/codegen/data/echo_r11b.yaml``, generated into a temporary folder; its
handler returns the request it was given. A plain pika peer (``tests.support.raw.RawPeer``)
sends raw JSON. Before the fix the worker's model dropped what no field declares and rounded
integers above 2**53 to doubles, so the echo was refused by the reply's own validation
(``INTERNAL``) or came back changed: ``{"names": {"ab": 1}}`` came back ``{"names": {}}``, and
``9007199254740993`` as ``9007199254740992.0``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import leveret
from tests.support.generated import imported
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "tests" / "codegen" / "data" / "echo_r11b.yaml"
BIG = 2**53 + 1  # 9007199254740993

#: Valid request bodies; each comes back OK and unchanged, number types included.
BODIES: dict[str, str] = {
    "min_props": '{"min_props": {"z": 1}}',
    "plain": '{"plain": {"z": [1, {"y": null}]}}',
    "names": '{"names": {"ab": 1}}',
    "dep_req": '{"dep_req": {"a": 1, "b": 2}}',
    "dep_schemas": '{"dep_schemas": {"a": 1, "b": "x"}}',
    "sub_props": '{"sub_props": {"a": "x", "b": "y"}}',
    "if_props": '{"if_props": {"k": 1, "x": 0}}',
    "unique_objects": '{"unique_objects": [{"a": 1, "x": 1}, {"a": 1, "x": 2}]}',
    "map_any_of": '{"map_any_of": {"n": 1}}',
    "big": f'{{"num": {BIG}, "num_min": {BIG}, "num_ex_max": {BIG - 1}}}',
    "numbers": '{"num": 1, "num_bounded": 9, "nums": [1, 1.5, 2.0]}',
    "big_items": f'{{"nums": [{BIG - 1}, {BIG}]}}',
    "big_extras": f'{{"extra_numbers": {{"a": 1, "n": {BIG}, "m": 0.5}}}}',
}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("echo-r11b")
    with imported([DEFINITION], out, "echo_r11b") as module:
        yield module


@pytest.fixture(scope="module")
def service(package: ModuleType, amqp_url: str) -> Iterator[tuple[RawPeer, str]]:
    class Echo(package.EchoServicer):  # type: ignore[name-defined,misc]
        def echo(self, request: Any, context: leveret.CallContext) -> Any:
            return request

    queue = f"leveret.test.echo-r11b.{uuid.uuid4().hex[:10]}"
    peer = RawPeer(amqp_url)
    try:
        with leveret.Worker(Echo(), url=amqp_url, queue=queue):
            yield peer, queue
    finally:
        peer.close()


def _same(a: Any, b: Any) -> bool:
    """Equal JSON values with the same number types (``1`` is not ``1.0``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize("text", list(BODIES.values()), ids=list(BODIES))
def test_the_echo_of_a_valid_request_is_ok_and_unchanged(
    service: tuple[RawPeer, str], text: str
) -> None:
    peer, queue = service
    reply = peer.wait(peer.publish(queue, text.encode(), method="echo"))
    assert reply is not None, f"no reply to {text}"
    assert reply.status == "OK", reply.json()
    assert _same(reply.json(), json.loads(text)), (text, reply.body)


def test_a_bound_above_two_to_the_53_is_exact_on_the_wire(service: tuple[RawPeer, str]) -> None:
    peer, queue = service
    for text, says in [
        (f'{{"num_max": {BIG}}}', "maximum"),
        (f'{{"num_min": {BIG - 1}}}', "minimum"),
        (f'{{"num_ex_max": {BIG}}}', "exclusiveMaximum"),
    ]:
        reply = peer.wait(peer.publish(queue, text.encode(), method="echo"))
        assert reply is not None, text
        assert reply.status == "INVALID_ARGUMENT", (text, reply.json())
        assert says in reply.json()["message"], reply.json()


def test_a_python_client_sends_a_big_integer_as_itself(
    package: ModuleType, service: tuple[RawPeer, str], amqp_url: str
) -> None:
    _, queue = service
    with package.EchoClient.connect(amqp_url, queue=queue) as client:
        answer = client.echo(num=BIG, nums=[BIG - 1, BIG])
    assert (answer.num, answer.nums) == (BIG, [BIG - 1, BIG])
    assert type(answer.num) is int
