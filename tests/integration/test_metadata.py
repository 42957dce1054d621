"""Per-call metadata against the real broker: from the caller (``leveret.metadata``) and from
client middleware to the worker's middleware and handler, refused at the caller when invalid,
and hostile metadata headers from a plain pika peer refused before any handler runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel

import leveret
from leveret import CallContext, CallInfo
from tests.support.echo import (
    AsyncEcho,
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
    EchoRequest,
)
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration


class MetadataEcho(Echo):
    """Echoes the metadata its handler sees, as JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[CallContext] = []

    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.contexts.append(context)
        return EchoReply(text=json.dumps(dict(context.metadata), sort_keys=True))


class AsyncMetadataEcho(AsyncEcho):
    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        return EchoReply(text=json.dumps(dict(context.metadata), sort_keys=True))


class Seen(leveret.Middleware):
    """Keeps the metadata a worker's middleware sees; on a client, adds ``add``."""

    def __init__(self, add: Mapping[str, str] | None = None) -> None:
        self.add = dict(add or {})
        self.metadata: list[dict[str, str]] = []

    def _note(self, call: CallInfo) -> None:
        if call.side == "client":
            call.metadata.update(self.add)  # type: ignore[union-attr]
        self.metadata.append(dict(call.metadata))

    def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
        self._note(call)
        return call_next(call)  # type: ignore[no-any-return]

    async def intercept_async(self, call: CallInfo, call_next: Any) -> BaseModel:
        self._note(call)
        return await call_next(call)  # type: ignore[no-any-return]


def test_metadata_travels_from_the_caller_to_the_handler_and_the_worker_middleware(
    amqp_url: str, queue: str
) -> None:
    servicer, server_mw = MetadataEcho(), Seen()
    with (
        leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=[server_mw]),
        EchoClient.connect(amqp_url, queue=queue) as client,
    ):
        with leveret.metadata({"tenant": "acme", "request-id": "r.1_x", "empty": ""}):
            reply = client.echo(text="x")
            with leveret.metadata({"tenant": "globex"}):  # nested: adds, inner wins
                nested = client.echo(text="x")
        after = client.echo(text="x")  # the block is over: no metadata
    sent = {"tenant": "acme", "request-id": "r.1_x", "empty": ""}
    assert json.loads(reply.text) == sent
    assert json.loads(nested.text) == {**sent, "tenant": "globex"}
    assert json.loads(after.text) == {}
    assert server_mw.metadata == [sent, {**sent, "tenant": "globex"}, {}]
    with pytest.raises(TypeError):  # read-only for the handler
        servicer.contexts[0].metadata["tenant"] = "evil"  # type: ignore[index]
    # The raw headers show the documented names.
    assert servicer.contexts[0].headers["leveret-md-tenant"] == "acme"


def test_client_middleware_adds_metadata_asyncio(amqp_url: str, queue: str) -> None:
    client_mw, server_mw = Seen({"caller": "billing"}), Seen()

    async def main() -> list[Any]:
        async with AsyncEchoClient.connect(amqp_url, queue=queue, middleware=[client_mw]) as c:
            with leveret.metadata({"tenant": "acme"}):
                first = await c.echo(text="x")
                # Each task has its own metadata: a block in one does not reach another.
                other = asyncio.create_task(c.echo(text="y"))
            second = await c.echo(text="x")
            return [json.loads(first.text), json.loads((await other).text), json.loads(second.text)]

    with leveret.Worker(AsyncMetadataEcho(), url=amqp_url, queue=queue, middleware=[server_mw]):
        first, other, second = asyncio.run(main())
    assert first == {"tenant": "acme", "caller": "billing"}
    # A task started inside the block copies the context it was started in.
    assert other == {"tenant": "acme", "caller": "billing"}
    assert second == {"caller": "billing"}
    assert {"tenant": "acme", "caller": "billing"} in server_mw.metadata


def test_invalid_metadata_is_refused_at_the_caller_before_anything_is_sent(
    amqp_url: str, queue: str
) -> None:
    servicer, server_mw = MetadataEcho(), Seen()
    bad_mw = Seen({"Upper-Case": "x"})
    with (
        leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=[server_mw]),
        EchoClient.connect(amqp_url, queue=queue) as client,
        EchoClient.connect(amqp_url, queue=queue, middleware=[bad_mw]) as bad_client,
    ):
        with pytest.raises(leveret.InvalidArgument, match="metadata key 'Upper-Case'"):  # noqa: SIM117
            with leveret.metadata({"Upper-Case": "x"}):
                client.echo(text="never")
        with pytest.raises(leveret.InvalidArgument, match="values are str, not int"):  # noqa: SIM117
            with leveret.metadata({"n": 5}):  # type: ignore[dict-item]
                client.echo(text="never")
        with pytest.raises(leveret.InvalidArgument, match="over 4096 bytes"):  # noqa: SIM117
            with leveret.metadata({"big": "x" * 5000}):
                client.echo(text="never")
        with pytest.raises(leveret.InvalidArgument, match="metadata key 'Upper-Case'") as info:
            bad_client.echo(text="never")  # added by the client's middleware
        assert info.value.never_sent
        assert client.echo(text="sent").text == "{}"
    assert server_mw.metadata == [{}]  # only the last call reached the worker
    assert len(servicer.contexts) == 1


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"leveret-md-Tenant": "acme"}, "metadata key 'Tenant'"),
        ({"leveret-md-tenant": b"\xff\xfe"}, "values are str, not bytes"),
        ({"leveret-md-tenant": 7}, "values are str, not int"),
        ({"leveret-md-tenant": {"a": "table"}}, "values are str, not dict"),
        ({"leveret-md-tenant": "a\nforged line"}, "control character"),
        ({"leveret-md-big": "x" * 5000}, "over 4096 bytes"),
        ({f"leveret-md-k{i}": "v" for i in range(100)}, "100 entries, more than 64"),
    ],
    ids=["upper", "not-utf8", "int", "table", "newline", "big", "many"],
)
def test_hostile_metadata_from_the_wire_never_reaches_a_handler(
    amqp_url: str, queue: str, headers: dict[str, Any], problem: str
) -> None:
    servicer, server_mw = MetadataEcho(), Seen()
    with leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=[server_mw]):
        peer = RawPeer(amqp_url)
        try:
            cid = peer.publish(queue, b'{"text": "x"}', headers=headers)
            reply = peer.wait(cid, 10)
            assert reply is not None
            assert reply.status == "INVALID_ARGUMENT"
            assert problem in reply.json()["message"]
            # The worker serves on, and other headers are not metadata.
            cid = peer.publish(
                queue, b'{"text": "y"}', headers={"x-tenant": b"\xff", "leveret-md-ok": "1"}
            )
            ok = peer.wait(cid, 10)
            assert ok is not None and ok.status == "OK", ok
            assert json.loads(ok.json()["text"]) == {"ok": "1"}
        finally:
            peer.close()
    assert len(servicer.contexts) == 1  # only the second request
    assert server_mw.metadata == [{"ok": "1"}]
