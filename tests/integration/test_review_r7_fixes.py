"""Fixes from review round 7 of issue 9 (observability), against the real broker.

- Hostile metadata (C1 controls, U+2028/U+2029) from a plain pika peer never reaches a handler.
- A handler that returns after the caller's deadline: the worker middleware sees
  ``DeadlineExceeded`` from ``call_next`` (so metrics and spans do not record OK), and the wire
  is unchanged (the worker still publishes the handler's reply).
- A worker middleware that returns something that is not the response model fails the call with
  INTERNAL and the log blames the middleware; handlers may still return a dict.
- ``leveret call --metadata KEY=VALUE``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel

import leveret
from leveret import CallContext, CallInfo
from tests.conftest import ROOT
from tests.support.cli import calculator_package, leveret_call
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

FLAVOURS = ["sync", "async"]


class Outcomes(leveret.Middleware):
    """Records what ``call_next`` returned or raised, in both flavours; optionally returns
    ``replace_with`` instead of the result."""

    def __init__(self, replace_with: object = None) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.replace_with = replace_with

    def _done(self, result: Any) -> Any:
        self.seen.append(("returned", result))
        return result if self.replace_with is None else self.replace_with

    def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
        try:
            result = call_next(call)
        except BaseException as exc:
            self.seen.append(("raised", exc))
            raise
        return self._done(result)  # type: ignore[no-any-return]

    async def intercept_async(self, call: CallInfo, call_next: Any) -> BaseModel:
        try:
            result = await call_next(call)
        except BaseException as exc:
            self.seen.append(("raised", exc))
            raise
        return self._done(result)  # type: ignore[no-any-return]


class ReturnsDict(Outcomes):
    """A buggy middleware: replaces the response model with a dict of its fields."""

    def __init__(self) -> None:
        super().__init__(replace_with={"text": "from the middleware"})


def _servicer(flavour: str) -> Echo | AsyncEcho:
    return Echo("w") if flavour == "sync" else AsyncEcho("w")


class CountingEcho(Echo):
    def __init__(self) -> None:
        super().__init__("w")
        self.contexts: list[CallContext] = []

    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        self.contexts.append(context)
        return EchoReply(text=json.dumps(dict(context.metadata)))


# -- 1. hostile metadata from the wire -------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["acme\x85forged", "acme\u2028forged", "acme\u2029forged", "acme\x9bforged"],
    ids=["NEL", "LINE-SEPARATOR", "PARAGRAPH-SEPARATOR", "CSI"],
)
def test_c1_controls_and_line_separators_from_the_wire_never_reach_a_handler(
    amqp_url: str, queue: str, value: str
) -> None:
    servicer, server_mw = CountingEcho(), Outcomes()
    with leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=[server_mw]):
        peer = RawPeer(amqp_url)
        try:
            cid = peer.publish(queue, b'{"text": "x"}', headers={"leveret-md-tenant": value})
            reply = peer.wait(cid, 10)
            assert reply is not None
            assert reply.status == "INVALID_ARGUMENT", reply
            assert "metadata 'tenant'" in reply.json()["message"]
            assert "control character" in reply.json()["message"]
            cid = peer.publish(queue, b'{"text": "y"}', headers={"leveret-md-tenant": "acme"})
            ok = peer.wait(cid, 10)
            assert ok is not None and ok.status == "OK", ok
        finally:
            peer.close()
    assert [dict(c.metadata) for c in servicer.contexts] == [{"tenant": "acme"}]
    assert len(server_mw.seen) == 1  # the middleware never saw the hostile request either


# -- 2. a handler that returns after the deadline ------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_handler_returning_after_the_deadline_is_deadline_exceeded_to_the_middleware(
    amqp_url: str, queue: str, flavour: str
) -> None:
    middleware = Outcomes()
    with leveret.Worker(_servicer(flavour), url=amqp_url, queue=queue, middleware=[middleware]):
        peer = RawPeer(amqp_url)
        try:
            # In time: the middleware sees the response.
            cid = peer.publish(queue, b'{"text": "quick"}')
            reply = peer.wait(cid, 10)
            assert reply is not None and reply.status == "OK"
            # Late: accepted in time (1 s left), but the handler takes 1.5 s.
            deadline_ms = int((time.time() + 1.0) * 1000)
            cid = peer.publish(
                queue,
                b'{"text": "slow", "delay": 1.5}',
                headers={"rpc-deadline": deadline_ms},
            )
            late = peer.wait(cid, 10)
        finally:
            peer.close()
    # The wire is as it was before the fix (and as it is without middleware): the worker
    # still publishes the handler's reply; the caller has given up and drops it.
    assert late is not None, "the worker published no reply"
    assert late.status == "OK"
    assert late.json()["text"] == "slow"
    assert [kind for kind, _ in middleware.seen] == ["returned", "raised"]
    assert isinstance(middleware.seen[0][1], EchoReply)
    error = middleware.seen[1][1]
    assert type(error) is leveret.DeadlineExceeded
    assert error.status is leveret.StatusCode.DEADLINE_EXCEEDED
    assert "after the caller's deadline" in error.message


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_caller_that_timed_out_is_counted_deadline_exceeded_on_both_sides(
    amqp_url: str, queue: str, flavour: str
) -> None:
    """The same through leveret's own client: both sides' middleware see DeadlineExceeded."""
    server_mw, client_mw = Outcomes(), Outcomes()
    with leveret.Worker(_servicer(flavour), url=amqp_url, queue=queue, middleware=[server_mw]):
        if flavour == "sync":
            with EchoClient.connect(amqp_url, queue=queue, middleware=[client_mw]) as client:
                with pytest.raises(leveret.DeadlineExceeded):
                    client.echo(text="slow", delay=1.2, timeout=0.5)
                assert client.echo(text="next", timeout=10).text == "next"
        else:

            async def main() -> None:
                async with AsyncEchoClient.connect(
                    amqp_url, queue=queue, middleware=[client_mw]
                ) as c:
                    with pytest.raises(leveret.DeadlineExceeded):
                        await c.echo(text="slow", delay=1.2, timeout=0.5)
                    assert (await c.echo(text="next", timeout=10)).text == "next"

            asyncio.run(main())
    # An asyncio worker may finish "next" first (it runs handlers at once): any order.
    assert sorted((kind, type(value).__name__) for kind, value in server_mw.seen) == [
        ("raised", "DeadlineExceeded"),
        ("returned", "EchoReply"),
    ]
    assert [(kind, type(value).__name__) for kind, value in client_mw.seen] == [
        ("raised", "DeadlineExceeded"),
        ("returned", "EchoReply"),
    ]


# -- 3. what a worker middleware returns ----------------------------------------------------


def _call_with(
    flavour: str, amqp_url: str, queue: str, servicer: Any, middleware: list[Any], **kwargs: Any
) -> Any:
    """One echo (or fail, with ``kind``) call; the reply or the exception raised."""
    method = "fail" if "kind" in kwargs else "echo"
    if flavour == "sync":
        with (
            leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=middleware),
            EchoClient.connect(amqp_url, queue=queue) as client,
        ):
            try:
                return getattr(client, method)(timeout=10, **kwargs)
            except leveret.RpcError as exc:
                return exc

    async def main() -> Any:
        async with AsyncEchoClient.connect(amqp_url, queue=queue) as c:
            try:
                return await getattr(c, method)(timeout=10, **kwargs)
            except leveret.RpcError as exc:
                return exc

    with leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=middleware):
        return asyncio.run(main())


def _server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "leveret.server" and hasattr(r, "status")]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_middleware_returning_a_dict_fails_the_call_and_is_blamed(
    amqp_url: str, queue: str, flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leveret")
    outer, buggy = Outcomes(), ReturnsDict()
    result = _call_with(flavour, amqp_url, queue, _servicer(flavour), [outer, buggy], text="hi")
    # As a client refuses a dict from its own middleware: INTERNAL, not a reply built from it.
    assert isinstance(result, leveret.Internal), result
    assert "internal error in echo" in result.message
    assert "ReturnsDict" not in result.message  # the worker's internals stay in its log
    # The buggy middleware got the handler's model; the one outside it sees the failure.
    assert [kind for kind, _ in buggy.seen] == ["returned"]
    assert isinstance(buggy.seen[0][1], EchoReply)
    assert [kind for kind, _ in outer.seen] == ["raised"]
    assert "the middleware ReturnsDict returned dict, not EchoReply" in str(outer.seen[0][1])
    (record,) = _server_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.status == "INTERNAL"  # type: ignore[attr-defined]
    message = record.getMessage()
    assert "echo: the middleware ReturnsDict returned dict, not EchoReply" in message
    assert "handler" not in message  # not blamed on the handler


class DictEcho(Echo):
    def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        return {"text": request.text, "worker": "dict"}  # type: ignore[return-value]


class AsyncDictEcho(AsyncEcho):
    async def echo(self, request: EchoRequest, context: CallContext) -> EchoReply:
        return {"text": request.text, "worker": "dict"}  # type: ignore[return-value]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_handler_may_still_return_a_dict_under_middleware(
    amqp_url: str, queue: str, flavour: str
) -> None:
    middleware = Outcomes()
    servicer = DictEcho() if flavour == "sync" else AsyncDictEcho()
    result = _call_with(flavour, amqp_url, queue, servicer, [middleware], text="hi")
    assert result == EchoReply(text="hi", worker="dict")
    # The middleware sees the response model, not the dict.
    assert [kind for kind, _ in middleware.seen] == ["returned"]
    assert middleware.seen[0][1] == EchoReply(text="hi", worker="dict")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_a_handler_returning_the_wrong_type_is_the_handlers_failure_under_middleware(
    amqp_url: str, queue: str, flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leveret")
    middleware = Outcomes()
    result = _call_with(
        flavour, amqp_url, queue, _servicer(flavour), [middleware], kind="bad-response"
    )
    assert isinstance(result, leveret.Internal), result
    # The middleware sees the failure (not a str passed off as a result) ...
    assert [kind for kind, _ in middleware.seen] == ["raised"]
    assert isinstance(middleware.seen[0][1], TypeError)
    assert "handler of 'fail' returned str, expected EchoReply" in str(middleware.seen[0][1])
    # ... and the log blames the handler, not a middleware.
    (record,) = _server_records(caplog)
    assert record.getMessage().startswith("handler fail failed")


# -- 4. leveret call --metadata -------------------------------------------------------------


@pytest.fixture(scope="module")
def calculator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    yield from calculator_package(tmp_path_factory.mktemp("cli-metadata"))


def _metadata_calculator(calculator: ModuleType, seen: list[dict[str, str]]) -> Any:
    class Calculator(calculator.CalculatorServicer):  # type: ignore[misc, name-defined]
        """Its add echoes the metadata it was called with, in ``seen``."""

        def add(self, request: Any, context: leveret.CallContext) -> Any:
            seen.append(dict(context.metadata))
            return calculator.Result(value=request.a + request.b)

        def divide(self, request: Any, context: leveret.CallContext) -> Any:
            raise NotImplementedError

        def sum(self, request: Any, context: leveret.CallContext) -> Any:
            raise NotImplementedError

    return Calculator()


def _leveret_call(amqp_url: str, queue: str, *args: str) -> subprocess.CompletedProcess[str]:
    return leveret_call("add", '{"a": 1, "b": 2}', "--url", amqp_url, "--queue", queue, *args)


def test_leveret_call_sends_metadata(calculator: ModuleType, amqp_url: str, queue: str) -> None:
    seen: list[dict[str, str]] = []
    with leveret.Worker(_metadata_calculator(calculator, seen), url=amqp_url, queue=queue):
        proc = _leveret_call(
            amqp_url,
            queue,
            "--metadata",
            "tenant=acme",
            "--metadata",
            "request-id=r=1 x",  # the value is everything after the first '='
            "--metadata",
            "empty=",
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == {"value": 3.0}
        plain = _leveret_call(amqp_url, queue)  # without --metadata: none
        assert plain.returncode == 0, plain.stderr
    assert seen == [{"tenant": "acme", "request-id": "r=1 x", "empty": ""}, {}]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("Tenant=acme", "leveret call: --metadata: metadata key 'Tenant': 1 to 64 characters"),
        ("tenant", "leveret call: --metadata 'tenant': expected KEY=VALUE"),
        ("=acme", "leveret call: --metadata: metadata key '': 1 to 64 characters"),
        ("tenant=a\u2028b", "leveret call: --metadata: metadata 'tenant': the value has a control"),
    ],
    ids=["upper-case-key", "no-equals", "empty-key", "line-separator"],
)
def test_leveret_call_refuses_bad_metadata_as_a_usage_error(
    calculator: ModuleType, amqp_url: str, queue: str, entry: str, message: str
) -> None:
    seen: list[dict[str, str]] = []
    with leveret.Worker(_metadata_calculator(calculator, seen), url=amqp_url, queue=queue):
        proc = _leveret_call(amqp_url, queue, "--metadata", "ok=1", "--metadata", entry)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.strip() == message or proc.stderr.startswith(message), proc.stderr
    assert seen == []  # nothing was sent


def test_leveret_call_refuses_a_metadata_key_given_twice(amqp_url: str, queue: str) -> None:
    proc = _leveret_call(amqp_url, queue, "--metadata", "k=1", "--metadata", "k=2")
    assert proc.returncode == 2
    assert proc.stderr == "leveret call: --metadata: key 'k' given twice\n"


def test_leveret_call_help_lists_metadata() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leveret", "call", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "--metadata KEY=VALUE" in proc.stdout
    assert Path(ROOT / "docs" / "cli.md").read_text().count("--metadata KEY=VALUE") >= 2
