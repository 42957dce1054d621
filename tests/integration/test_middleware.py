"""Middleware against the real broker, on both sides and in both flavours: order (the first is
the outermost), ending a call early with a response or an error, replacing an error, an
exception escaping a middleware, retries seen as attempts, and ``leveret serve --middleware``."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import leveret
from leveret import CallInfo
from tests.conftest import ROOT
from tests.support.echo import (
    AddReply,
    AsyncEcho,
    AsyncEchoClient,
    Echo,
    EchoClient,
    EchoReply,
)
from tests.support.serve import Serve

pytestmark = pytest.mark.integration


class Recorder(leveret.Middleware):
    """Notes what it sees, in both flavours; ``before``/``after`` let a test act on a call."""

    def __init__(
        self,
        name: str,
        log: list[tuple[Any, ...]],
        before: Callable[[CallInfo], BaseModel | None] | None = None,
        after: Callable[[CallInfo, BaseException | None], None] | None = None,
    ) -> None:
        self.name, self.log, self.before, self.after = name, log, before, after

    def _enter(self, call: CallInfo) -> BaseModel | None:
        self.log.append(
            (self.name, ">", call.side, call.service.name, call.method.name, call.attempt)
        )
        return self.before(call) if self.before else None

    def _leave(self, call: CallInfo, error: BaseException | None) -> None:
        self.log.append((self.name, "<", type(error).__name__ if error else "ok"))
        if self.after:
            self.after(call, error)

    def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
        early = self._enter(call)
        if early is not None:
            return early
        try:
            result: BaseModel = call_next(call)
        except BaseException as exc:
            self._leave(call, exc)
            raise
        self._leave(call, None)
        return result

    async def intercept_async(self, call: CallInfo, call_next: Any) -> BaseModel:
        early = self._enter(call)
        if early is not None:
            return early
        try:
            result: BaseModel = await call_next(call)
        except BaseException as exc:
            self._leave(call, exc)
            raise
        self._leave(call, None)
        return result


def _call(
    flavour: str,
    amqp_url: str,
    queue: str,
    method: str,
    kwargs: dict[str, Any],
    *,
    server: list[leveret.Middleware] | None = None,
    client: list[leveret.Middleware] | None = None,
) -> Any:
    """One call with a fresh worker and client of ``flavour``; returns the result or the
    exception it raised."""
    if flavour == "sync":
        with (
            leveret.Worker(Echo(), url=amqp_url, queue=queue, middleware=server),
            EchoClient.connect(amqp_url, queue=queue, middleware=client) as sync_client,
        ):
            try:
                return getattr(sync_client, method)(**kwargs)
            except leveret.RpcError as exc:
                return exc

    async def main() -> Any:
        async with AsyncEchoClient.connect(amqp_url, queue=queue, middleware=client) as c:
            try:
                return await getattr(c, method)(**kwargs)
            except leveret.RpcError as exc:
                return exc

    with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue, middleware=server):
        return asyncio.run(main())


FLAVOURS = ["sync", "async"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_first_middleware_is_the_outermost_on_both_sides(
    amqp_url: str, queue: str, flavour: str
) -> None:
    log: list[tuple[Any, ...]] = []
    result = _call(
        flavour,
        amqp_url,
        queue,
        "add",
        {"a": 1, "b": 2},
        server=[Recorder("s1", log), Recorder("s2", log)],
        client=[Recorder("c1", log), Recorder("c2", log)],
    )
    assert result == AddReply(sum=3)
    assert log == [
        ("c1", ">", "client", "Echo", "add", 0),
        ("c2", ">", "client", "Echo", "add", 0),
        ("s1", ">", "server", "Echo", "add", 0),
        ("s2", ">", "server", "Echo", "add", 0),
        ("s2", "<", "ok"),
        ("s1", "<", "ok"),
        ("c2", "<", "ok"),
        ("c1", "<", "ok"),
    ]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("side", ["client", "server"])
def test_a_middleware_ends_the_call_early_with_a_response(
    amqp_url: str, queue: str, flavour: str, side: str
) -> None:
    log: list[tuple[Any, ...]] = []
    cached = Recorder("cache", log, before=lambda call: AddReply(sum=42))
    inner = Recorder("inner", log)
    chain: list[leveret.Middleware] = [cached, inner]
    result = _call(
        flavour,
        amqp_url,
        queue,
        "add",
        {"a": 1, "b": 2},
        server=chain if side == "server" else None,
        client=chain if side == "client" else None,
    )
    assert result == AddReply(sum=42)
    assert [entry[0] for entry in log] == ["cache"]  # neither the inner one nor the handler


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("side", ["client", "server"])
def test_a_middleware_ends_the_call_early_with_an_error(
    amqp_url: str, queue: str, flavour: str, side: str
) -> None:
    def refuse(call: CallInfo) -> BaseModel:
        raise leveret.PermissionDenied(f"no {call.method.name} for you")

    chain: list[leveret.Middleware] = [Recorder("auth", [], before=refuse)]
    result = _call(
        flavour,
        amqp_url,
        queue,
        "echo",
        {"text": "hi"},
        server=chain if side == "server" else None,
        client=chain if side == "client" else None,
    )
    assert isinstance(result, leveret.PermissionDenied)
    assert result.message == "no echo for you"


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("side", ["client", "server"])
def test_a_middleware_replaces_an_error(amqp_url: str, queue: str, flavour: str, side: str) -> None:
    class Replace(leveret.Middleware):
        def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
            try:
                return call_next(call)  # type: ignore[no-any-return]
            except leveret.NotFound as exc:
                raise leveret.FailedPrecondition(f"{side} says: {exc.message}") from exc

        async def intercept_async(self, call: CallInfo, call_next: Any) -> BaseModel:
            try:
                return await call_next(call)  # type: ignore[no-any-return]
            except leveret.NotFound as exc:
                raise leveret.FailedPrecondition(f"{side} says: {exc.message}") from exc

    chain: list[leveret.Middleware] = [Replace()]
    result = _call(
        flavour,
        amqp_url,
        queue,
        "fail",
        {"kind": "status"},  # the handler raises NotFound("nothing here")
        server=chain if side == "server" else None,
        client=chain if side == "client" else None,
    )
    assert isinstance(result, leveret.FailedPrecondition)
    assert result.message == f"{side} says: nothing here"


class Explodes(leveret.Middleware):
    """Raises a plain exception on its first call only."""

    def __init__(self) -> None:
        self.calls = 0

    def _maybe(self) -> None:
        self.calls += 1
        if self.calls == 1:
            raise ZeroDivisionError("middleware bug")

    def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
        self._maybe()
        return call_next(call)  # type: ignore[no-any-return]

    async def intercept_async(self, call: CallInfo, call_next: Any) -> BaseModel:
        self._maybe()
        return await call_next(call)  # type: ignore[no-any-return]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_exception_escaping_a_client_middleware_is_raised_as_internal(
    amqp_url: str, queue: str, flavour: str
) -> None:
    middleware = Explodes()
    if flavour == "sync":
        with (
            leveret.Worker(Echo(), url=amqp_url, queue=queue),
            EchoClient.connect(amqp_url, queue=queue, middleware=[middleware]) as client,
        ):
            with pytest.raises(leveret.Internal, match="middleware Explodes failed") as info:
                client.add(a=1, b=2)
            assert isinstance(info.value.__cause__, ZeroDivisionError)
            assert client.add(a=1, b=2).sum == 3  # the client goes on
        return

    async def main() -> int:
        async with AsyncEchoClient.connect(amqp_url, queue=queue, middleware=[middleware]) as c:
            with pytest.raises(leveret.Internal, match="middleware Explodes failed") as info:
                await c.add(a=1, b=2)
            assert isinstance(info.value.__cause__, ZeroDivisionError)
            return (await c.add(a=1, b=2)).sum

    with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue):
        assert asyncio.run(main()) == 3


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_exception_escaping_a_worker_middleware_is_internal_and_the_worker_serves_on(
    amqp_url: str, queue: str, flavour: str, caplog: pytest.LogCaptureFixture
) -> None:
    middleware = Explodes()
    caplog.set_level(logging.ERROR, logger="leveret.server")
    if flavour == "sync":
        with (
            leveret.Worker(Echo(), url=amqp_url, queue=queue, middleware=[middleware]),
            EchoClient.connect(amqp_url, queue=queue) as client,
        ):
            with pytest.raises(leveret.Internal, match="internal error in add") as info:
                client.add(a=1, b=2, timeout=10)
            assert "middleware bug" not in info.value.message  # never on the wire
            assert client.add(a=1, b=2, timeout=10).sum == 3
    else:

        async def main() -> int:
            async with AsyncEchoClient.connect(amqp_url, queue=queue) as c:
                with pytest.raises(leveret.Internal, match="internal error in add") as info:
                    await c.add(a=1, b=2, timeout=10)
                assert "middleware bug" not in info.value.message  # never on the wire
                return (await c.add(a=1, b=2, timeout=10)).sum

        with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue, middleware=[middleware]):
            assert asyncio.run(main()) == 3
    failures = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ZeroDivisionError]
    assert failures, caplog.text  # the traceback is in the worker's log


def test_retries_are_seen_as_attempts_with_fresh_correlation_ids(amqp_url: str, queue: str) -> None:
    """A call to a queue no worker consumes yet: the idempotent ``add`` is retried until a
    worker comes; each retry goes through the client's chain again, and the worker's chain
    sees the attempt that reached it."""
    with leveret.Worker(Echo(), url=amqp_url, queue=queue):
        pass  # declares the queue, then leaves it without a consumer
    client_log: list[CallInfo] = []
    server_log: list[CallInfo] = []
    errors: list[str] = []
    retried = threading.Event()

    def note(into: list[CallInfo]) -> Callable[[CallInfo], None]:
        def before(call: CallInfo) -> None:
            into.append(call)
            if len(into) >= 2:
                retried.set()

        return before

    def after(call: CallInfo, error: BaseException | None) -> None:
        errors.append(type(error).__name__ if error else "ok")

    client_mw = Recorder("c", [], before=note(client_log), after=after)
    server_mw = Recorder("s", [], before=note(server_log))
    with EchoClient.connect(amqp_url, queue=queue, middleware=[client_mw]) as client:
        results: list[int] = []
        caller = threading.Thread(target=lambda: results.append(client.add(a=2, b=3).sum))
        caller.start()
        assert retried.wait(10), "the call was not retried"
        with leveret.Worker(Echo(), url=amqp_url, queue=queue, middleware=[server_mw]):
            caller.join(10)
    assert results == [5]
    attempts = [call.attempt for call in client_log]
    assert attempts == list(range(len(attempts))) and len(attempts) >= 2
    assert errors[:-1] == ["Unavailable"] * (len(errors) - 1) and errors[-1] == "ok"
    assert len({call.correlation_id for call in client_log}) == len(client_log)
    assert [call.attempt for call in server_log] == [attempts[-1]]
    assert server_log[0].correlation_id == client_log[-1].correlation_id


def test_asyncio_retries_are_seen_as_attempts(amqp_url: str, queue: str) -> None:
    """An inner middleware fails the first attempt with UNAVAILABLE (as a lost connection
    would): the outer one sees attempt 0 fail and attempt 1 succeed."""
    log: list[tuple[Any, ...]] = []

    def flaky(call: CallInfo) -> BaseModel | None:
        if call.attempt == 0:
            raise leveret.Unavailable("not yet")
        return None

    chain: list[leveret.Middleware] = [Recorder("outer", log), Recorder("flaky", [], flaky)]
    server_log: list[tuple[Any, ...]] = []
    result = _call(
        "async",
        amqp_url,
        queue,
        "add",
        {"a": 1, "b": 1},
        client=chain,
        server=[Recorder("s", server_log)],
    )
    assert result == AddReply(sum=2)
    assert log == [
        ("outer", ">", "client", "Echo", "add", 0),
        ("outer", "<", "Unavailable"),
        ("outer", ">", "client", "Echo", "add", 1),
        ("outer", "<", "ok"),
    ]
    assert server_log[0][-1] == 1  # the worker's middleware sees the attempt number


def test_middleware_sees_the_call(amqp_url: str, queue: str) -> None:
    seen: dict[str, CallInfo] = {}

    def keep(call: CallInfo) -> None:
        seen[call.side] = call

    with (
        leveret.Worker(
            Echo(),
            url=amqp_url,
            queue=queue,
            middleware=[Recorder("s", [], keep)],
        ),
        EchoClient.connect(
            amqp_url,
            queue=queue,
            middleware=[Recorder("c", [], keep)],
        ) as client,
    ):
        before = time.time()
        assert client.echo(text="hi", timeout=7).text == "hi"
    client_call, server_call = seen["client"], seen["server"]
    for call in (client_call, server_call):
        assert call.method.name == "echo" and not call.idempotent
        assert call.request == client_call.request and call.request.text == "hi"  # type: ignore[attr-defined]
        assert call.queue == queue
        assert call.deadline is not None and before + 6 < call.deadline < before + 8
        assert call.elapsed() >= 0
    assert server_call.correlation_id == client_call.correlation_id
    assert client_call.context is None
    assert server_call.context is not None
    assert server_call.context.correlation_id == client_call.correlation_id


def test_a_client_middleware_returning_the_wrong_type_is_internal(
    amqp_url: str, queue: str
) -> None:
    wrong = Recorder("wrong", [], before=lambda call: EchoReply(text="not an AddReply"))
    with (
        leveret.Worker(Echo(), url=amqp_url, queue=queue),
        EchoClient.connect(amqp_url, queue=queue, middleware=[wrong]) as client,
        pytest.raises(leveret.Internal, match="returned EchoReply, not AddReply"),
    ):
        client.add(a=1, b=2)


# -- leveret serve --middleware -----------------------------------------------------------------

MIDDLEWARE_MODULE = """
    from leveret import Middleware


    class Shout(Middleware):
        def intercept(self, call, call_next):
            reply = call_next(call)
            if call.method.name == "echo":
                return reply.model_copy(update={"text": reply.text.upper()})
            return reply


    class Tag(Middleware):
        def __init__(self, tag="!"):
            self.tag = tag

        def intercept(self, call, call_next):
            reply = call_next(call)
            if call.method.name == "echo":
                return reply.model_copy(update={"text": reply.text + self.tag})
            return reply


    question = Tag("?")
    not_a_middleware = 42
"""


def _app(tmp_path: Path) -> Path:
    (tmp_path / "mw_app.py").write_text(textwrap.dedent(MIDDLEWARE_MODULE))
    return tmp_path


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["one", "workers-2"])
def test_serve_middleware_is_repeatable_and_the_first_is_outermost(
    amqp_url: str, queue: str, tmp_path: Path, workers: list[str]
) -> None:
    app = _app(tmp_path)
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(app)])}
    # Shout is outermost: it upper-cases what Tag("?") and then Tag() appended.
    serve = Serve(
        amqp_url,
        queue,
        "--middleware",
        "mw_app:Shout",
        "--middleware",
        "mw_app:question",
        "--middleware",
        "mw_app:Tag",
        *workers,
        env=env,
    )
    try:
        serve.wait_for("serving", count=2 if workers else 1)
        with EchoClient.connect(amqp_url, queue=queue) as client:
            for _ in range(4):  # each worker process has the chain
                assert client.echo(text="hi", timeout=10).text == "HI!?"
        serve.signal(signal.SIGTERM)
        assert serve.wait(30) == 0
    finally:
        serve.kill()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("mw_app", "expected MODULE:ATTR, got 'mw_app'"),
        ("no_such_module:X", "cannot import 'no_such_module'"),
        ("mw_app:Missing", "'mw_app' has no 'Missing'"),
        ("mw_app:not_a_middleware", "is a int, not a middleware"),
    ],
)
def test_a_bad_serve_middleware_is_one_line_and_exit_2(
    tmp_path: Path, target: str, expected: str
) -> None:
    app = _app(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "leveret",
            "serve",
            "tests.support.echo:Echo",
            "--url",
            "amqp://guest:guest@127.0.0.1:1/",  # never reached: the middleware fails first
            "--middleware",
            target,
        ],
        cwd=app,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("leveret serve: --middleware") and expected in lines[0], lines


def test_serve_refuses_a_sync_middleware_for_an_async_servicer(tmp_path: Path) -> None:
    app = _app(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "leveret",
            "serve",
            "tests.support.echo:AsyncEcho",
            "--url",
            "amqp://guest:guest@127.0.0.1:1/",
            "--middleware",
            "mw_app:Shout",
        ],
        cwd=app,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "leveret serve: AsyncEcho: middleware Shout does not define intercept_async(call, "
        "call_next), which an asyncio client or worker calls"
    ]


class Overloaded(Echo):
    def echo(self, request: Any, context: leveret.CallContext) -> EchoReply:
        raise leveret.Unavailable("overloaded")


class AsyncOverloaded(AsyncEcho):
    async def echo(self, request: Any, context: leveret.CallContext) -> EchoReply:
        raise leveret.Unavailable("overloaded")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_an_open_circuit_breaker_still_fails_fast_with_middleware(
    amqp_url: str, queue: str, flavour: str
) -> None:
    """The breaker sits inside the chain, so the middleware sees its refusal as an attempt; the
    refusal is not retried until the deadline (it would be, as a request never sent)."""
    log: list[tuple[Any, ...]] = []
    breaker = leveret.CircuitBreaker(failure_threshold=1, reset_timeout=60)
    chain: list[leveret.Middleware] = [Recorder("m", log)]
    if flavour == "sync":
        with (
            leveret.Worker(Overloaded(), url=amqp_url, queue=queue),
            EchoClient.connect(
                amqp_url, queue=queue, circuit_breaker=breaker, middleware=chain
            ) as client,
        ):
            with pytest.raises(leveret.Unavailable, match="overloaded"):
                client.echo(text="x", timeout=10)  # opens the breaker
            started = time.monotonic()
            with pytest.raises(leveret.Unavailable, match="circuit breaker"):
                client.echo(text="x", timeout=10)
            elapsed = time.monotonic() - started
    else:

        async def main() -> float:
            async with AsyncEchoClient.connect(
                amqp_url, queue=queue, circuit_breaker=breaker, middleware=chain
            ) as c:
                with pytest.raises(leveret.Unavailable, match="overloaded"):
                    await c.echo(text="x", timeout=10)
                started = time.monotonic()
                with pytest.raises(leveret.Unavailable, match="circuit breaker"):
                    await c.echo(text="x", timeout=10)
                return time.monotonic() - started

        with leveret.Worker(AsyncOverloaded(), url=amqp_url, queue=queue):
            elapsed = asyncio.run(main())
    assert elapsed < 5  # not retried up to the 10 s deadline
    assert log == [
        ("m", ">", "client", "Echo", "echo", 0),
        ("m", "<", "Unavailable"),
        ("m", ">", "client", "Echo", "echo", 0),
        ("m", "<", "Unavailable"),
    ]
