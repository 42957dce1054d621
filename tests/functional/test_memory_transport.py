"""Generated code from an inline definition, served and called through ``memory://``.

The in-memory transport must behave like the broker where a user can see it: errors, timeouts,
no route, validation on both sides, queues that keep requests until a worker comes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import leveret
from tests.support.generated import imported

DEFINITION = """\
leveret: 1
package: {package}
service: Greeter
version: "1"
description: Says hello.
types:
  HelloRequest:
    type: object
    required: [name]
    additionalProperties: false
    properties:
      name: {{type: string, minLength: 1, maxLength: 20, description: Who to greet.}}
      delay: {{type: number, minimum: 0, default: 0}}
  HelloReply:
    type: object
    required: [greeting]
    properties:
      greeting: {{type: string}}
      remaining: {{type: [number, "null"]}}
errors:
  Banned:
    status: PERMISSION_DENIED
    description: This name may not be greeted.
    details:
      type: object
      required: [reason]
      properties: {{reason: {{type: string}}}}
methods:
  hello:
    description: Greet someone.
    request: {{$ref: "#/types/HelloRequest"}}
    response: {{$ref: "#/types/HelloReply"}}
    errors: [Banned]
    timeout: 2.0
    idempotent: true
"""


@pytest.fixture(scope="module")
def greeter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    package = f"greeter_{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("functional")
    definition = root / "greeter.yaml"
    definition.write_text(DEFINITION.format(package=package))
    out = root / "out"
    with imported([definition], out, package) as module:
        yield module


@pytest.fixture
def url() -> str:
    return f"memory://{uuid.uuid4().hex}"  # an isolated broker per test


def make_servicer(greeter: ModuleType, *, async_: bool = False) -> Any:
    base = greeter.AsyncGreeterServicer if async_ else greeter.GreeterServicer

    def reply(request: Any, context: leveret.CallContext) -> Any:
        if request.name == "mallory":
            raise greeter.Banned("not you", reason="known attacker")
        if request.name == "crash":
            raise KeyError("internal secret")
        return greeter.HelloReply(
            greeting=f"hello {request.name}", remaining=context.time_remaining()
        )

    if async_:

        class AsyncImpl(base):  # type: ignore[misc, valid-type]
            async def hello(self, request: Any, context: leveret.CallContext) -> Any:
                await asyncio.sleep(request.delay)
                return reply(request, context)

        return AsyncImpl()

    class Impl(base):  # type: ignore[misc, valid-type]
        def hello(self, request: Any, context: leveret.CallContext) -> Any:
            time.sleep(request.delay)
            return reply(request, context)

    return Impl()


def test_round_trip(greeter: ModuleType, url: str) -> None:
    with (
        leveret.Worker(make_servicer(greeter), url=url),
        greeter.GreeterClient.connect(url) as client,
    ):
        reply = client.hello(name="ada")
    assert isinstance(reply, greeter.HelloReply)
    assert reply.greeting == "hello ada"
    assert reply.remaining is not None and 1.5 < reply.remaining <= 2.0


def test_declared_error_with_typed_details(greeter: ModuleType, url: str) -> None:
    with (
        leveret.Worker(make_servicer(greeter), url=url),
        greeter.GreeterClient.connect(url) as client,
        pytest.raises(greeter.Banned) as info,
    ):
        client.hello(name="mallory")
    assert isinstance(info.value, leveret.PermissionDenied)
    assert info.value.details.reason == "known attacker"
    assert info.value.message == "not you"


def test_undeclared_exception_is_internal_without_leak(greeter: ModuleType, url: str) -> None:
    with (
        leveret.Worker(make_servicer(greeter), url=url),
        greeter.GreeterClient.connect(url) as client,
        pytest.raises(leveret.Internal) as info,
    ):
        client.hello(name="crash")
    assert "secret" not in str(info.value) and "KeyError" not in str(info.value)


def test_client_validates_before_sending(greeter: ModuleType, url: str) -> None:
    servicer = make_servicer(greeter)
    with leveret.Worker(servicer, url=url), greeter.GreeterClient.connect(url) as client:
        with pytest.raises(leveret.InvalidArgument) as info:
            client.hello(name="")
        assert info.value.details[0]["loc"] == ["name"]


def test_server_validates_what_the_client_did_not(greeter: ModuleType, url: str) -> None:
    with leveret.Worker(make_servicer(greeter), url=url), leveret.DynamicClient.connect(url) as raw:
        with pytest.raises(leveret.InvalidArgument) as info:
            raw.call(greeter.SERVICE.queue, "hello", {"name": 42})
        assert info.value.details == [
            {"loc": ["name"], "msg": "Input should be a valid string", "type": "string_type"}
        ]
        with pytest.raises(leveret.InvalidArgument):
            raw.call(greeter.SERVICE.queue, "hello", {"name": "ada", "extra": 1})
        assert raw.call(greeter.SERVICE.queue, "hello", {"name": "ada"})["greeting"] == "hello ada"


def test_unknown_method_is_unimplemented(greeter: ModuleType, url: str) -> None:
    with (
        leveret.Worker(make_servicer(greeter), url=url),
        leveret.DynamicClient.connect(url) as raw,
        pytest.raises(leveret.Unimplemented, match="goodbye"),
    ):
        raw.call(greeter.SERVICE.queue, "goodbye", {})


def test_deadline_exceeded_and_late_reply_dropped(greeter: ModuleType, url: str) -> None:
    with (
        leveret.Worker(make_servicer(greeter), url=url, concurrency=2),
        greeter.GreeterClient.connect(url) as client,
    ):
        started = time.monotonic()
        with pytest.raises(leveret.DeadlineExceeded):
            client.hello(name="slow", delay=0.5, timeout=0.1)
        assert time.monotonic() - started < 0.4
        assert client.hello(name="next").greeting == "hello next"


def test_no_queue_is_unavailable_at_once(greeter: ModuleType, url: str) -> None:
    with greeter.GreeterClient.connect(url) as client:
        started = time.monotonic()
        with pytest.raises(leveret.Unavailable):
            client.hello(name="ada", timeout=10)
        assert time.monotonic() - started < 0.5


def test_declared_queue_keeps_requests_until_a_worker_comes(greeter: ModuleType, url: str) -> None:
    """Like a durable queue: a call that may wait for a worker (``wait_for_ready``) waits
    instead of failing with no route; by default it fails fast, as on the broker."""
    from leveret._memory import broker_for

    broker_for(url).declare(greeter.SERVICE.queue)
    with (
        greeter.GreeterClient.connect(url) as client,
        pytest.raises(leveret.Unavailable, match="no worker is consuming"),
    ):
        client.hello(name="nobody yet", timeout=0.1)
    with greeter.GreeterClient.connect(url, wait_for_ready=True) as client:
        with pytest.raises(leveret.DeadlineExceeded):
            client.hello(name="nobody yet", timeout=0.1)
        with leveret.Worker(make_servicer(greeter), url=url):
            assert client.hello(name="ada").greeting == "hello ada"


def test_async_client_and_async_servicer(greeter: ModuleType, url: str) -> None:
    async def main() -> None:
        with leveret.Worker(make_servicer(greeter, async_=True), url=url):
            async with greeter.AsyncGreeterClient.connect(url) as client:
                replies = await asyncio.gather(*(client.hello(name=f"n{i}") for i in range(200)))
                assert [r.greeting for r in replies] == [f"hello n{i}" for i in range(200)]
                with pytest.raises(greeter.Banned):
                    await client.hello(name="mallory")
                with pytest.raises(leveret.DeadlineExceeded):
                    await client.hello(name="slow", delay=0.5, timeout=0.1)

    asyncio.run(main())


def test_worker_refuses_an_incomplete_servicer(greeter: ModuleType, url: str) -> None:
    class Empty(greeter.GreeterServicer):  # type: ignore[misc, name-defined]
        pass

    with pytest.raises(TypeError):
        Empty()  # abstract: the generated base class has one abstract method per method
    with pytest.raises(leveret.ConfigurationError, match="not a generated servicer"):
        leveret.Worker(object(), url=url)
