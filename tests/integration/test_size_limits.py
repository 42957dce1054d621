"""Size limits (issue 10, section 4; docs/security.md, "Size limits"): ``max_message_size``
on both sides, 4 MiB by default as gRPC's receive limit. A request over the client's limit is
not sent; a request over the worker's is answered RESOURCE_EXHAUSTED before it is parsed; a
reply over the client's fails that call only; headers that would not fit in one frame of the
connection are refused before anything is sent (a larger content header kills the connection).

Against the shared RabbitMQ and memory:// where the transports differ. The shared broker's
configuration is never changed: a small frame_max is asked for in the client's URL, and the
broker's refusal of a body over its limit is tested on a node of this module's own (1 MiB)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

import leveret
import leveret._dispatch
from leveret import CallContext, MethodSpec, ServiceSpec
from leveret._amqp._calls import _header_size
from leveret._frames import FrameEncoder
from leveret._wire import (
    CONTENT_TYPE,
    MAX_MESSAGE_SIZE,
    MAX_METADATA_SIZE,
    MAX_TIMEOUT,
    MAX_TRACE_HEADER,
    TRACE_HEADERS,
    Request,
    check_metadata,
)
from tests.conftest import ROOT
from tests.support.background import Background
from tests.support.proxy import wait_until
from tests.support.serve import Serve
from tests.support.tls_node import RMQ_BIN, START_TIMEOUT, _port_open

pytestmark = pytest.mark.integration


class MakeRequest(BaseModel):
    size: int
    hold: bool = False


class Blob(BaseModel):
    data: str


class TakeRequest(BaseModel):
    data: str


class Count(BaseModel):
    size: int


MAKE: MethodSpec[MakeRequest, Blob] = MethodSpec("make", "make", MakeRequest, Blob, timeout=20.0)
TAKE: MethodSpec[TakeRequest, Count] = MethodSpec("take", "take", TakeRequest, Count, timeout=20.0)
SIZES = ServiceSpec("Sizes", "leveret.test.Sizes", (MAKE, TAKE))


class SizesClient(leveret.Client):
    service: ClassVar[ServiceSpec] = SIZES

    def make(self, *, size: int, hold: bool = False) -> Blob:
        return self._call(MAKE, {"size": size, "hold": hold})

    def take(self, *, data: str) -> Count:
        return self._call(TAKE, {"data": data})


class AsyncSizesClient(leveret.AsyncClient):
    service: ClassVar[ServiceSpec] = SIZES

    async def make(self, *, size: int, hold: bool = False) -> Blob:
        return await self._call(MAKE, {"size": size, "hold": hold})

    async def take(self, *, data: str) -> Count:
        return await self._call(TAKE, {"data": data})


class Sizes(leveret.Servicer):
    """``make`` replies ``size`` bytes of data (in ``{"data":"..."}``, 11 more); with ``hold``
    it waits for ``release`` first, to keep a call in flight."""

    service: ClassVar[ServiceSpec] = SIZES

    def __init__(self) -> None:
        self.calls = 0
        self.holding = threading.Event()
        self.release = threading.Event()

    def make(self, request: MakeRequest, context: CallContext) -> Blob:
        self.calls += 1
        if request.hold:
            self.holding.set()
            assert self.release.wait(15), "the test never released the held call"
        return Blob(data="x" * request.size)

    def take(self, request: TakeRequest, context: CallContext) -> Count:
        self.calls += 1
        return Count(size=len(request.data))


@pytest.fixture(params=["amqp", "memory"])
def url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return f"memory://{uuid.uuid4().hex}"
    amqp_url: str = request.getfixturevalue("amqp_url")
    return amqp_url


@pytest.fixture
def queue_name(url: str, request: pytest.FixtureRequest) -> str:
    if url.startswith("memory://"):
        return "sizes"
    name: str = request.getfixturevalue("queue")
    return name


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The body sizes the worker's dispatcher decoded (parsed and validated)."""
    sizes: list[int] = []
    decode = leveret._dispatch.decode_request  # type: ignore[attr-defined]

    def spy(method: MethodSpec[Any, Any], body: bytes) -> BaseModel:
        sizes.append(len(body))
        return decode(method, body)

    monkeypatch.setattr(leveret._dispatch, "decode_request", spy)
    yield sizes


# -- defaults ---------------------------------------------------------------------------------


def test_the_default_max_message_size_is_grpcs_4_mib_on_both_sides() -> None:
    assert MAX_MESSAGE_SIZE == 4 * 1024 * 1024
    url = f"memory://{uuid.uuid4().hex}"
    with SizesClient.connect(url) as client:
        assert client._policy.max_message_size == MAX_MESSAGE_SIZE
    with leveret.DynamicClient.connect(url) as dynamic:
        assert dynamic._max_message_size == MAX_MESSAGE_SIZE
    assert leveret.Worker(Sizes(), url=url).max_message_size == MAX_MESSAGE_SIZE


def test_a_request_just_over_the_default_limit_is_refused_and_one_at_it_is_answered(
    url: str, queue_name: str
) -> None:
    sizes = Sizes()
    at_limit = "x" * (MAX_MESSAGE_SIZE - len('{"data":""}'))
    with (
        leveret.Worker(sizes, url=url, queue=queue_name),
        SizesClient.connect(url, queue=queue_name) as client,
    ):
        assert client.take(data=at_limit).size == len(at_limit)
        with pytest.raises(leveret.ResourceExhausted, match="more than max_message_size") as info:
            client.take(data=at_limit + "x")
        assert info.value.never_sent is True
    assert sizes.calls == 1


# -- requests over the worker's limit ---------------------------------------------------------


def test_a_request_over_the_workers_limit_is_resource_exhausted_before_it_is_parsed(
    url: str, queue_name: str, decoded: list[int]
) -> None:
    sizes = Sizes()
    with (
        leveret.Worker(sizes, url=url, queue=queue_name, max_message_size=1000),
        SizesClient.connect(url, queue=queue_name) as client,
        leveret.DynamicClient.connect(url) as dynamic,
    ):
        with pytest.raises(leveret.ResourceExhausted) as info:
            client.take(data="x" * 1000)  # 1011 bytes of JSON
        assert info.value.message == (
            "the request is 1011 bytes, 11 bytes over the worker's max_message_size "
            "(1000 bytes); it was not read"
        )
        assert info.value.never_sent is False  # the worker answered it
        # Not JSON at all, and over the limit: the size is what the caller hears about, so
        # nothing parsed it (a parse would have answered INVALID_ARGUMENT).
        not_a_request = ["not", "a", "request", "y" * 979]
        assert len(json.dumps(not_a_request)) == 1006
        with pytest.raises(leveret.ResourceExhausted, match="1006 bytes, 6 bytes over"):
            dynamic.call(queue_name, "take", not_a_request, timeout=10)
        assert decoded == []
        assert sizes.calls == 0
        # At the limit it is served, and the worker carries on.
        assert client.take(data="x" * 989).size == 989
        assert decoded == [1000]
    assert sizes.calls == 1


def test_serve_max_message_size_bounds_requests_too(amqp_url: str, queue: str) -> None:
    serve = Serve(amqp_url, queue, "--max-message-size", "300")
    try:
        with leveret.DynamicClient.connect(amqp_url) as dynamic:
            wait_until(
                lambda: _answers(dynamic, queue), 20, f"leveret serve to serve:\n{serve.output()}"
            )
            with pytest.raises(leveret.ResourceExhausted, match="over the worker's max_mess"):
                dynamic.call(queue, "echo", {"text": "x" * 300}, timeout=10)
            assert dynamic.call(queue, "echo", {"text": "small"}, timeout=10)["text"] == "small"
    finally:
        serve.proc.kill()
        serve.proc.wait(10)


def _answers(dynamic: leveret.DynamicClient, queue: str) -> bool:
    try:
        dynamic.call(queue, "echo", {"text": "ready"}, timeout=5)
    except leveret.Unavailable:
        return False
    return True


def test_serve_help_says_the_limit_is_both_ways() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leveret", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = " ".join(proc.stdout.split())
    assert "largest request body to accept and reply body to send" in text
    assert f"default {MAX_MESSAGE_SIZE}, 4 MiB" in text


# -- replies over the client's limit ----------------------------------------------------------


def test_a_reply_over_the_clients_limit_fails_that_call_only(url: str, queue_name: str) -> None:
    sizes = Sizes()
    with (
        leveret.Worker(sizes, url=url, queue=queue_name, concurrency=4),
        SizesClient.connect(url, queue=queue_name, max_message_size=1000) as client,
    ):
        held = Background(lambda: client.make(size=10, hold=True))
        assert sizes.holding.wait(10), held.error
        with pytest.raises(leveret.ResourceExhausted) as info:
            client.make(size=990)  # 1001 bytes of JSON
        assert info.value.message == (
            "make: the reply is 1001 bytes, 1 bytes over the client's max_message_size "
            "(1000 bytes); it was dropped unread"
        )
        assert sizes.calls == 2  # the handler ran once: the call is not retried
        # The call in flight meanwhile, and the next ones, are unharmed.
        sizes.release.set()
        assert held.join(10).data == "x" * 10
        assert client.make(size=989).data == "x" * 989
    assert sizes.calls == 3


def test_a_reply_over_the_limit_of_an_asyncio_client_fails_that_call_only(
    url: str, queue_name: str
) -> None:
    async def scenario() -> None:
        async with AsyncSizesClient.connect(url, queue=queue_name, max_message_size=1000) as client:
            with pytest.raises(leveret.ResourceExhausted, match="1001 bytes, 1 bytes over"):
                await client.make(size=990)
            with pytest.raises(leveret.ResourceExhausted, match="more than max_message_size"):
                await client.take(data="x" * 990)
            assert (await client.make(size=989)).data == "x" * 989

    with leveret.Worker(Sizes(), url=url, queue=queue_name):
        asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_reply_over_the_limit_of_a_dynamic_client_fails_the_call(
    url: str, queue_name: str
) -> None:
    with (
        leveret.Worker(Sizes(), url=url, queue=queue_name),
        leveret.DynamicClient.connect(url, max_message_size=1000) as dynamic,
    ):
        with pytest.raises(leveret.ResourceExhausted, match="1001 bytes, 1 bytes over"):
            dynamic.call(queue_name, "make", {"size": 990}, timeout=10)
        assert dynamic.call(queue_name, "make", {"size": 3}, timeout=10) == {"data": "xxx"}


def test_leveret_call_max_message_size_bounds_the_request_and_the_reply(
    amqp_url: str, queue: str
) -> None:
    def call(limit: str, body: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "leveret",
                "call",
                "schemas/calculator.yaml",
                "divide",
                body,
                "--url",
                amqp_url,
                "--queue",
                queue,
                "--max-message-size",
                limit,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    serve = Serve(amqp_url, queue)  # an echo worker: "divide" is UNIMPLEMENTED there
    try:
        with leveret.DynamicClient.connect(amqp_url) as dynamic:
            wait_until(lambda: _answers(dynamic, queue), 20, "leveret serve to serve")
        # '{"a": 1, "b": 3}' is 16 bytes: over 10, not sent.
        refused = call("10", '{"a": 1, "b": 3}')
        assert refused.returncode == 1, refused.stderr
        error = json.loads(refused.stderr)
        assert error["code"] == "RESOURCE_EXHAUSTED"
        assert "more than max_message_size (10 bytes); nothing was sent" in error["message"]
        # Sent at 16 bytes; the UNIMPLEMENTED reply is longer than 20: dropped unread.
        dropped = call("20", '{"a": 1, "b": 3}')
        assert dropped.returncode == 1, dropped.stderr
        error = json.loads(dropped.stderr)
        assert error["code"] == "RESOURCE_EXHAUSTED", error
        assert "over the client's max_message_size (20 bytes)" in error["message"]
        bad = call("0", '{"a": 1, "b": 3}')
        assert bad.returncode == 2
        assert "max_message_size must be a positive int" in bad.stderr
    finally:
        serve.proc.kill()
        serve.proc.wait(10)


# -- headers and frame_max --------------------------------------------------------------------


def _worst_case_request() -> Request:
    """Every header leveret puts on a request at its largest."""
    per_entry = MAX_METADATA_SIZE // 64
    metadata = check_metadata(
        {f"k{i:02d}".ljust(per_entry // 2, "x"): "v" * (per_entry // 2) for i in range(64)}
    )
    trace = {name: "a" * MAX_TRACE_HEADER for name in TRACE_HEADERS}
    return Request(
        "q" * 255,
        "m" * 255,
        uuid.uuid4().hex,
        b"{}",
        time.time() + MAX_TIMEOUT,
        False,
        metadata,
        2**31 - 2,  # rpc-attempt 2**31 - 1: the largest a server reads
        trace,
    )


def test_the_largest_headers_leveret_sends_fit_the_default_frame_max() -> None:
    request = _worst_case_request()
    frames = FrameEncoder(1, 131072).publish(
        "",
        request.queue,
        request.body,
        mandatory=True,
        content_type=CONTENT_TYPE,
        headers=request.headers(),
        correlation_id=request.correlation_id,
        reply_to="r" * 255,
        expiration=request.expiration_ms(time.time()),
        type=request.method,
        user_id="u" * 255,
    )
    # The figure docs/security.md gives; the default frame_max (131072) less its 8 bytes of
    # framing is far above it.
    assert _header_size(frames) == 34788 < 131072 - 8


#: 8186 bytes of metadata, legal (at most 8192), that cannot fit in a frame of 8192 bytes with
#: the rest of the content header.
_BIG_METADATA = {"k0": "v" * 4000, "k1": "v" * 4000, "k2": "v" * 180}


def _small_frames(amqp_url: str) -> str:
    """The broker's URL asking for frame_max 8192 (the smaller of both sides' values wins)."""
    return amqp_url + ("&" if "?" in amqp_url else "?") + "frame_max=8192"


def test_headers_over_the_connections_frame_max_are_refused_before_sending(
    amqp_url: str, queue: str
) -> None:
    url = _small_frames(amqp_url)
    sizes = Sizes()
    big = _BIG_METADATA
    with (
        leveret.Worker(sizes, url=amqp_url, queue=queue),
        SizesClient.connect(url, queue=queue) as client,
    ):
        held = Background(lambda: client.make(size=1, hold=True))
        assert sizes.holding.wait(10), held.error
        assert client._transport._conn.params.frame_max == 8192  # type: ignore[attr-defined]
        with leveret.metadata(big), pytest.raises(leveret.InvalidArgument) as info:
            client.take(data="x")
        assert "more than fit in one frame of this connection (frame_max 8192)" in str(info.value)
        assert info.value.never_sent is True
        # The connection was not killed: the call in flight and the next ones are answered.
        sizes.release.set()
        assert held.join(10).data == "x"
        with leveret.metadata({"k": "v" * 4000}):
            assert client.take(data="after").size == 5
    assert sizes.calls == 2


def test_headers_over_frame_max_are_refused_by_the_asyncio_client_too(
    amqp_url: str, queue: str
) -> None:
    big = _BIG_METADATA

    async def scenario() -> None:
        async with AsyncSizesClient.connect(_small_frames(amqp_url), queue=queue) as client:
            with leveret.metadata(big), pytest.raises(leveret.InvalidArgument, match="frame_max"):
                await client.take(data="x")
            assert (await client.take(data="after")).size == 5

    sizes = Sizes()
    with leveret.Worker(sizes, url=amqp_url, queue=queue):
        asyncio.run(asyncio.wait_for(scenario(), 30))
    assert sizes.calls == 1


# -- a broker with a lower limit than the client's --------------------------------------------

#: A node of this module's own whose max_message_size is 1 MiB (the shared broker on 5672 keeps
#: its configuration): plain AMQP on 5695, Erlang distribution on 25695, started as
#: tests/support/tls_node.py starts its node, as a child of the test process.
SMALL_NODE = "lvsize@localhost"
SMALL_PORT = 5695
SMALL_DIST_PORT = 25695
BROKER_LIMIT = 1_048_576


@pytest.fixture(scope="module")
def small_broker() -> Iterator[str]:
    if not (RMQ_BIN / "rabbitmq-server").exists():
        if os.environ.get("LEVERET_REQUIRE_BROKER") == "1":
            pytest.fail("RabbitMQ is not installed and LEVERET_REQUIRE_BROKER=1", pytrace=False)
        pytest.skip("RabbitMQ is not installed")
    for port in (SMALL_PORT, SMALL_DIST_PORT):
        if _port_open(port):
            pytest.fail(f"port {port} is in use: cannot start {SMALL_NODE}", pytrace=False)
    base = Path(tempfile.mkdtemp(prefix="leveret-size-node-"))
    for sub in ("mnesia", "log"):
        (base / sub).mkdir()
    (base / "rabbitmq-env.conf").write_text("")
    (base / "advanced.config").write_text("[].\n")
    (base / "enabled_plugins").write_text("[].\n")
    (base / "rabbitmq.conf").write_text(
        f"listeners.tcp.local = 127.0.0.1:{SMALL_PORT}\n"
        f"max_message_size = {BROKER_LIMIT}\n"
        "disk_free_limit.absolute = 50MB\n"
        "vm_memory_high_watermark.relative = 0.4\n"
    )
    env = {
        **os.environ,
        "HOME": os.path.expanduser("~"),
        "RABBITMQ_NODENAME": SMALL_NODE,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(SMALL_PORT),
        "RABBITMQ_DIST_PORT": str(SMALL_DIST_PORT),
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_PID_FILE": str(base / "lvsize.pid"),
        "ERL_EPMD_ADDRESS": "127.0.0.1",
        "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
    }
    with (base / "log" / "startup.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(RMQ_BIN / "rabbitmq-server")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _port_open(SMALL_PORT):
            if proc.poll() is not None or time.monotonic() > deadline:
                text = (base / "log" / "startup.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"{SMALL_NODE} did not start:\n{text}", pytrace=False)
            time.sleep(0.1)
        yield f"amqp://guest:guest@127.0.0.1:{SMALL_PORT}/%2F"
    finally:
        # SIGTERM (the script stops the node), then SIGKILL to the whole group if need be.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        shutil.rmtree(base, ignore_errors=True)


def test_a_body_the_broker_refuses_fails_that_call_clearly(small_broker: str) -> None:
    queue = f"leveret.test.{uuid.uuid4().hex[:12]}"
    sizes = Sizes()
    at_limit = "x" * (BROKER_LIMIT - len('{"data":""}'))
    with (
        leveret.Worker(sizes, url=small_broker, queue=queue, max_message_size=2 * BROKER_LIMIT),
        SizesClient.connect(small_broker, queue=queue, max_message_size=2 * BROKER_LIMIT) as client,
    ):
        assert client.take(data=at_limit).size == len(at_limit)  # at the broker's limit
        started = time.monotonic()
        with pytest.raises(leveret.ResourceExhausted) as info:
            client.take(data=at_limit + "x")
        assert time.monotonic() - started < 10.0  # at once, not at the deadline
        assert (
            f"message size {BROKER_LIMIT + 1} is larger than configured max size {BROKER_LIMIT}"
            in info.value.message
        )
        assert "lower the client's max_message_size" in info.value.message
        # The client reconnects: the next call is answered.
        assert client.take(data="after").size == 5
    assert sizes.calls == 2


@pytest.mark.parametrize("reply_queue", ["direct", "exclusive"])
@pytest.mark.parametrize("kind", ["sync", "asyncio"])
def test_a_body_the_broker_refuses_leaves_the_calls_in_flight_unharmed(
    small_broker: str, kind: str, reply_queue: str
) -> None:
    """The refused request fails; a call in flight meanwhile gets its reply (its request was
    published and confirmed before: the broker closes only the publishing channel, not the
    one the replies come on); a later request over the broker's limit is refused by the client
    itself, without sending; a call at the limit after that is answered."""
    queue = f"leveret.test.{uuid.uuid4().hex[:12]}"
    sizes = Sizes()
    over = "x" * BROKER_LIMIT  # 1048587 bytes of JSON
    limit = 2 * BROKER_LIMIT  # the client's and the worker's: the broker's is lower
    with leveret.Worker(
        sizes, url=small_broker, queue=queue, concurrency=4, max_message_size=limit
    ):
        if kind == "sync":
            with SizesClient.connect(
                small_broker, queue=queue, reply_queue=reply_queue, max_message_size=limit
            ) as client:
                held = Background(lambda: client.make(size=3, hold=True))
                assert sizes.holding.wait(10), held.error
                with pytest.raises(leveret.ResourceExhausted) as refused:
                    client.take(data=over)
                with pytest.raises(leveret.ResourceExhausted) as local:
                    client.take(data=over)
                sizes.release.set()
                assert held.join(10).data == "xxx"
                assert client.take(data="y" * (BROKER_LIMIT - 11)).size == BROKER_LIMIT - 11
        else:

            async def scenario() -> tuple[leveret.RpcError, leveret.RpcError]:
                async with AsyncSizesClient.connect(
                    small_broker, queue=queue, reply_queue=reply_queue, max_message_size=limit
                ) as client:
                    held = asyncio.ensure_future(client.make(size=3, hold=True))
                    assert await asyncio.to_thread(sizes.holding.wait, 10)
                    with pytest.raises(leveret.ResourceExhausted) as refused:
                        await client.take(data=over)
                    with pytest.raises(leveret.ResourceExhausted) as local:
                        await client.take(data=over)
                    sizes.release.set()
                    assert (await asyncio.wait_for(held, 10)).data == "xxx"
                    at_limit = "y" * (BROKER_LIMIT - 11)
                    assert (await client.take(data=at_limit)).size == BROKER_LIMIT - 11
                    return refused.value, local.value

            refused_error, local_error = asyncio.run(asyncio.wait_for(scenario(), 60))
    if kind == "sync":
        refused_error, local_error = refused.value, local.value
    # The broker's words, and what to do about them; it never reached a queue.
    assert (
        f"message size {BROKER_LIMIT + 11} is larger than configured max size {BROKER_LIMIT}"
        in refused_error.message
    )
    assert "lower the client's max_message_size" in refused_error.message
    assert refused_error.never_sent is True
    # The second one was refused by the client, which learnt the broker's limit.
    assert local_error.message == (
        f"'take': the request is {BROKER_LIMIT + 11} bytes, more than the broker's "
        f"max_message_size ({BROKER_LIMIT} bytes); nothing was sent"
    )
    assert local_error.never_sent is True
    assert sizes.calls == 2  # the held call and the one at the limit


@pytest.mark.parametrize("reply_queue", ["direct", "exclusive"])
def test_requests_published_after_a_refused_one_are_answered_once(
    small_broker: str, reply_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One burst, published back to back before any confirm could come: the broker takes the
    first, refuses the second (over its limit) and drops the rest unread. Those are published
    again: each is answered, and each handler runs once (a last call, behind them in the
    queue of a worker that takes one at a time, finds no duplicate)."""
    queue = f"leveret.test.{uuid.uuid4().hex[:12]}"
    sizes = Sizes()
    limit = 3 * BROKER_LIMIT
    over = "x" * BROKER_LIMIT
    over_too = "z" * (BROKER_LIMIT + 5)

    async def scenario() -> tuple[Any, ...]:
        async with AsyncSizesClient.connect(
            small_broker, queue=queue, reply_queue=reply_queue, max_message_size=limit
        ) as client:
            assert (await client.take(data="warm")).size == 4  # the queue is known served
            # gather starts each call in turn; each publishes in its first step.
            results = await asyncio.gather(
                client.take(data="a"),
                client.take(data=over),
                client.take(data="bb"),
                client.take(data=over_too),
                client.take(data="ccc"),
                client.take(data="dddd"),
                return_exceptions=True,
            )
            assert (await client.take(data="last")).size == 4
            return results

    with (
        caplog.at_level("INFO", logger="leveret.amqp"),
        leveret.Worker(sizes, url=small_broker, queue=queue, concurrency=1, max_message_size=limit),
    ):
        results = asyncio.run(asyncio.wait_for(scenario(), 60))
    # bb, ccc and dddd were dropped by the broker and went out again (over_too did not).
    [closed] = [r.getMessage() for r in caplog.records if "publishing channel" in r.getMessage()]
    assert closed.endswith(" unconfirmed, 3 published again"), closed
    first, refused, second, also_over, third, fourth = results
    assert [first, second, third, fourth] == [
        Count(size=1),
        Count(size=2),
        Count(size=3),
        Count(size=4),
    ]
    assert isinstance(refused, leveret.ResourceExhausted), refused
    assert f"message size {BROKER_LIMIT + 11} is larger than configured max" in refused.message
    # Dropped by the broker after the refusal, and over its limit too: not sent again.
    assert isinstance(also_over, leveret.ResourceExhausted), also_over
    assert f"more than the broker's max_message_size ({BROKER_LIMIT} bytes)" in also_over.message
    assert also_over.never_sent is True
    assert sizes.calls == 6  # warm, a, bb, ccc, dddd, last: none twice
