"""Middleware and metadata without a broker: the chain runner, the checks at registration, the
metadata rules on both sides of the wire, and the dispatcher's use of them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel

import leveret
from leveret._dispatch import Call, Dispatcher, Outcome
from leveret._middleware import CallInfo, check_middleware, run_async, run_sync
from leveret._wire import (
    HEADER_ATTEMPT,
    HEADER_DEADLINE,
    METADATA_PREFIX,
    Delivery,
    Request,
    check_metadata,
    read_attempt,
    read_metadata,
)
from tests.support.echo import ADD, SERVICE, AddReply, AddRequest, AsyncEcho, Echo


def _info(side: Any = "client") -> CallInfo:
    return CallInfo(
        side=side,
        service=SERVICE,
        method=ADD,
        request=AddRequest(a=1, b=2),
        metadata={},
        correlation_id="cid",
        deadline=None,
        attempt=0,
        queue="q",
    )


class Tag(leveret.Middleware):
    def __init__(self, name: str, seen: list[str]) -> None:
        self.name, self.seen = name, seen

    def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
        self.seen.append(f"{self.name}>")
        try:
            return call_next(call)  # type: ignore[no-any-return]
        finally:
            self.seen.append(f"<{self.name}")

    async def intercept_async(self, call: CallInfo, call_next: Any) -> BaseModel:
        self.seen.append(f"{self.name}>")
        try:
            return await call_next(call)  # type: ignore[no-any-return]
        finally:
            self.seen.append(f"<{self.name}")


class Broken(leveret.Middleware):
    def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
        raise ValueError("oops")

    async def intercept_async(self, call: CallInfo, call_next: Any) -> BaseModel:
        raise ValueError("oops")


# -- the chain -------------------------------------------------------------------------------


def test_the_first_middleware_is_the_outermost_sync_and_async() -> None:
    seen: list[str] = []
    chain = (Tag("a", seen), Tag("b", seen))

    def last(call: CallInfo) -> BaseModel:
        seen.append("send")
        return AddReply(sum=3)

    assert run_sync(chain, _info(), last, wrap=True) == AddReply(sum=3)
    assert seen == ["a>", "b>", "send", "<b", "<a"]
    seen.clear()

    async def alast(call: CallInfo) -> BaseModel:
        seen.append("send")
        return AddReply(sum=3)

    assert asyncio.run(run_async(chain, _info(), alast, wrap=True)) == AddReply(sum=3)
    assert seen == ["a>", "b>", "send", "<b", "<a"]


def test_an_exception_escaping_a_client_middleware_becomes_internal_naming_it() -> None:
    seen: list[str] = []
    with pytest.raises(
        leveret.Internal, match="middleware Broken failed: ValueError: oops"
    ) as info:
        run_sync((Tag("outer", seen), Broken()), _info(), lambda c: AddReply(sum=0), wrap=True)
    assert isinstance(info.value.__cause__, ValueError)
    assert seen == ["outer>", "<outer"]  # the outer one saw the Internal pass, not a ValueError

    async def alast(call: CallInfo) -> BaseModel:
        return AddReply(sum=0)

    with pytest.raises(leveret.Internal, match="middleware Broken failed"):
        asyncio.run(run_async((Broken(),), _info(), alast, wrap=True))


def test_what_comes_up_from_call_next_passes_through_unwrapped() -> None:
    """Only the middleware at fault is blamed: an error from below, even one that is not an
    RpcError, reaches the outer middleware and the caller as it was raised."""
    boom = KeyError("below")

    def last(call: CallInfo) -> BaseModel:
        raise boom

    with pytest.raises(KeyError) as info:
        run_sync((Tag("a", []),), _info(), last, wrap=True)
    assert info.value is boom


def test_a_worker_chain_lets_exceptions_through_for_the_dispatcher_to_log() -> None:
    with pytest.raises(ValueError, match="oops"):
        run_sync((Broken(),), _info("server"), lambda c: AddReply(sum=0), wrap=False)


def test_registration_refuses_what_cannot_serve_the_flavour() -> None:
    class SyncOnly(leveret.Middleware):
        def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
            return call_next(call)  # type: ignore[no-any-return]

    assert check_middleware([SyncOnly()], is_async=False, where="X") != ()
    with pytest.raises(leveret.ConfigurationError, match="does not define intercept_async"):
        check_middleware([SyncOnly()], is_async=True, where="X")
    with pytest.raises(leveret.ConfigurationError, match="is a class; pass an instance"):
        check_middleware([SyncOnly], is_async=False, where="X")
    with pytest.raises(leveret.ConfigurationError, match="must be a list"):
        check_middleware(SyncOnly(), is_async=False, where="X")  # type: ignore[arg-type]
    with pytest.raises(leveret.ConfigurationError, match="does not define intercept"):
        check_middleware([object()], is_async=False, where="X")
    assert check_middleware(None, is_async=True, where="X") == ()

    class AsyncByMistake(leveret.Middleware):
        async def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:  # type: ignore[override]
            return await call_next(call)  # type: ignore[no-any-return]

    with pytest.raises(leveret.ConfigurationError, match="intercept is a coroutine function"):
        check_middleware([AsyncByMistake()], is_async=False, where="X")
    with pytest.raises(leveret.ConfigurationError, match="intercept_async"):
        leveret.Worker(AsyncEcho(), url="memory://unit", middleware=[SyncOnly()])


# -- metadata rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ({"Tenant": "a"}, "metadata key 'Tenant'"),
        ({"ten ant": "a"}, "metadata key"),
        ({"": "a"}, "metadata key ''"),
        ({"ténant": "a"}, "metadata key"),
        ({"k" * 65: "a"}, "1 to 64 characters"),
        ({"k": 1}, "values are str, not int"),
        ({"k": b"v"}, "values are str, not bytes"),
        ({1: "v"}, "keys are str, not int"),
        ({"k": "v" * 4097}, "over 4096 bytes"),
        ({"k": "é" * 2049}, "over 4096 bytes"),  # 2049 characters, 4098 bytes
        ({"k": "a\r\nforged: line"}, "control character"),
        ({"k": "\ud800"}, "lone surrogate"),
        ({f"k{i}": "v" for i in range(65)}, "65 entries, more than 64"),
        ({f"k{i}": "v" * 4000 for i in range(3)}, "more than 8192"),
        (["k", "v"], "a mapping of str to str, not list"),
    ],
)
def test_metadata_is_refused_at_the_caller(metadata: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        check_metadata(metadata)
    with (
        pytest.raises(leveret.InvalidArgument, match=problem) as info,
        leveret.metadata(metadata),  # type: ignore[arg-type]
    ):
        pass
    assert info.value.never_sent


def test_metadata_blocks_nest_and_end() -> None:
    from leveret._metadata import current_metadata

    assert current_metadata() is None
    with leveret.metadata({"tenant": "a", "x.y_z-1": "1"}) as outer:
        assert dict(outer) == {"tenant": "a", "x.y_z-1": "1"}
        with leveret.metadata({"tenant": "b", "user": "u"}):
            assert current_metadata() == {"tenant": "b", "x.y_z-1": "1", "user": "u"}
        assert current_metadata() == outer
        with pytest.raises(TypeError):
            outer["tenant"] = "c"  # type: ignore[index]
    assert current_metadata() is None


def test_a_request_carries_metadata_and_attempt_as_headers() -> None:
    plain = Request("q", "m", "c", b"{}", None)
    assert plain.headers() == {HEADER_ATTEMPT: 1}  # issue 16: on every request, from 1
    request = Request("q", "m", "c", b"{}", 10.0, metadata={"tenant": "a"}, attempt=2)
    assert request.headers() == {
        HEADER_DEADLINE: 10_000,
        HEADER_ATTEMPT: 3,
        f"{METADATA_PREFIX}tenant": "a",
    }


def test_metadata_from_the_wire_is_held_to_the_callers_rules() -> None:
    p = METADATA_PREFIX
    assert read_metadata({HEADER_DEADLINE: 1, "x-other": b"\xff", "traceparent": "t"}) == {}
    assert read_metadata({f"{p}tenant": "acme", f"{p}a.b": ""}) == {"tenant": "acme", "a.b": ""}
    for hostile in (
        {f"{p}Tenant": "a"},
        {f"{p}tenant": b"\xff\xfe"},  # not UTF-8: pika hands over bytes
        {f"{p}tenant": 5},
        {f"{p}tenant": {"nested": "table"}},
        {f"{p}tenant": "a\x00b"},
        {f"{p}": "empty key"},
        {f"{p}k": "v" * 5000},
        {f"{p}k{i}": "v" for i in range(65)},
    ):
        assert read_metadata(hostile) is None, hostile


def test_attempt_is_read_leniently() -> None:
    assert read_attempt({}) == 0
    assert read_attempt({HEADER_ATTEMPT: 1}) == 0  # a first attempt
    assert read_attempt({HEADER_ATTEMPT: 3}) == 2  # the second retry
    for bad in (0, -1, True, "2", 2**40, 1.5):
        assert read_attempt({HEADER_ATTEMPT: bad}) == 0


# -- the dispatcher --------------------------------------------------------------------------


def _delivery(headers: Mapping[str, Any]) -> Delivery:
    return Delivery(
        body=b'{"a": 1, "b": 2}',
        method="add",
        correlation_id="cid",
        reply_to="r",
        headers=headers,
    )


def test_the_dispatcher_refuses_hostile_metadata_before_the_handler() -> None:
    outcome = Dispatcher(SERVICE, Echo()).accept(_delivery({f"{METADATA_PREFIX}Bad": "x"}))
    assert isinstance(outcome, Outcome)
    assert outcome.reply is not None and outcome.reply.status == "INVALID_ARGUMENT"
    assert b"metadata key 'Bad'" in outcome.reply.body
    assert not outcome.ack


def test_the_dispatcher_hands_metadata_and_attempt_to_the_context_read_only() -> None:
    call = Dispatcher(SERVICE, Echo()).accept(
        _delivery({f"{METADATA_PREFIX}tenant": "acme", HEADER_ATTEMPT: 2, "other": "x"})
    )
    assert isinstance(call, Call)
    assert dict(call.context.metadata) == {"tenant": "acme"}
    assert call.context.attempt == 1  # rpc-attempt 2: the first retry
    with pytest.raises(TypeError):
        call.context.metadata["tenant"] = "evil"  # type: ignore[index]


def test_without_middleware_the_dispatcher_runs_the_servicers_own_method() -> None:
    servicer = Echo()
    plain = Dispatcher(SERVICE, servicer).accept(_delivery({}))
    assert isinstance(plain, Call)
    assert plain.handler == servicer.add  # nothing wrapped around it: the hot path
    chained = Dispatcher(SERVICE, servicer, middleware=[Tag("a", [])]).accept(_delivery({}))
    assert isinstance(chained, Call)
    assert chained.handler != servicer.add


def test_a_worker_middleware_sees_the_response_model_when_the_handler_returns_a_dict() -> None:
    seen: list[object] = []

    class Peek(leveret.Middleware):
        def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
            result = call_next(call)
            seen.append(result)
            return result  # type: ignore[no-any-return]

    class DictEcho(Echo):
        def add(self, request: AddRequest, context: leveret.CallContext) -> AddReply:
            return {"sum": request.a + request.b}  # type: ignore[return-value]

    dispatcher = Dispatcher(SERVICE, DictEcho(), middleware=[Peek()])
    call = dispatcher.accept(_delivery({}))
    assert isinstance(call, Call)
    outcome = dispatcher.finish(call, call.handler(call.request, call.context))
    assert seen == [AddReply(sum=3)]
    assert outcome.reply is not None and outcome.reply.status == "OK"
