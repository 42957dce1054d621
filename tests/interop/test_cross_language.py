"""Generated TypeScript and generated Python on the same wire, both ways, over the real broker.

Each case runs in two directions: a generated Python client calling a TypeScript server
(``python-client-ts-server``) and a generated TypeScript client calling a Python worker
(``ts-client-python-server``). Both sides serve the shop's Inventory (schemas/inventory.yaml)
with the same behaviour: the Python servicer below and ``serve`` in tests/interop/ts/driver.ts.
The TypeScript side is built once per session (the ``ts`` fixture): the runtime's ``npm pack``
tarball installed into a build folder with ``leveret generate --lang typescript`` output and the
driver, compiled with the runtime's tsc, run with node.

Servers of both languages run as processes (so that one can be SIGKILLed mid-request) that
print ``ready`` once they consume, then one JSON line per handler event; clients report one JSON
object per call outcome. Needs node and ``npm ci`` in runtime/typescript (``.ci/run`` does it):
without them the tests skip, unless LEVERET_REQUIRE_BROKER=1, which makes that a failure.

Run as ``python -m tests.interop.test_cross_language server URL QUEUE`` it is the Python server.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import leveret
from generated.calculator import CalculatorClient
from generated.shop import (
    AsyncInventoryClient,
    InventoryClient,
    InventoryServicer,
    Money,
    OutOfStock,
    Reservation,
    ReserveRequest,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DRIVER_DIR = Path(__file__).resolve().parent / "ts"
RUNTIME_TS = ROOT / "runtime" / "typescript"
SKU = "ABC-1234"
#: A reservation's status names the language of the server that made it.
MARK = {"python": "confirmed", "ts": "held"}
Outcome = dict[str, Any]


# ---- the Python server (the twin of the driver's servicer) ----------------------------------

_print_lock = threading.Lock()


def _emit(line: object) -> None:
    with _print_lock:
        print(json.dumps(line), flush=True)


class _PythonInventory(InventoryServicer):
    def reserve(self, request: ReserveRequest, context: leveret.CallContext) -> Reservation:
        note = request.note if isinstance(request.note, str) else None
        event = {"quantity": request.quantity, "correlation_id": context.correlation_id}
        _emit(
            {
                "event": "handling",
                **event,
                "note": note,
                "redelivered": context.redelivered,
                "attempt": context.attempt,
                "metadata": dict(context.metadata),
                "drift": context.contract_drift is not None,
            }
        )
        if note is not None and note.startswith("sleep:") and not context.redelivered:
            # The slow handler is the subject of the test (deadlines, a kill mid-request).
            time.sleep(int(note.removeprefix("sleep:")) / 1000)
        _emit({"event": "done", **event})
        if request.sku.startswith("ZZZ"):
            available = request.quantity - 1
            raise OutOfStock(f"only {available} of {request.sku} left", available=available)
        return Reservation(
            id=uuid.uuid4(),
            sku=request.sku,
            quantity=request.quantity,
            status="confirmed",
            price=Money(amount=250 * request.quantity, currency="EUR"),
        )


def _serve(url: str, queue: str) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with leveret.Worker(_PythonInventory(), url=url, queue=queue, concurrency=64):
        print("ready", flush=True)
        stop.wait()


# ---- building and running the TypeScript side -----------------------------------------------


def _missing(problem: str) -> None:
    if os.environ.get("LEVERET_REQUIRE_BROKER") == "1":
        pytest.fail(f"{problem} and LEVERET_REQUIRE_BROKER=1", pytrace=False)
    pytest.skip(problem)


def _run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def node_toolchain() -> tuple[str, str, Path]:
    """``(node, npm, tsc)``, tsc being the runtime's compiler; skips (fails with
    LEVERET_REQUIRE_BROKER=1) when node, npm or the runtime's ``npm ci`` is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    tsc = RUNTIME_TS / "node_modules" / ".bin" / "tsc"
    if node is None or npm is None:
        _missing("node or npm is not installed")
    if not (RUNTIME_TS / "dist" / "index.js").is_file() or not tsc.is_file():
        _missing(f"the TypeScript runtime is not built: run `npm ci` in {RUNTIME_TS}")
    assert node is not None and npm is not None
    return node, npm, tsc


def install_packed_runtime(npm: str, project: Path) -> str:
    """Install the runtime's ``npm pack`` tarball into ``project/node_modules``; its file name.

    What `npm install <tarball>` would do, without the registry: the package from the tarball
    (--ignore-scripts: pack the built dist/ as it is; the runtime's prepare script built it),
    next to the runtime's own installed dependencies (amqplib, ajv, typescript, @types/node).
    """
    tarball = _run(
        [npm, "pack", "--ignore-scripts", "--silent", "--pack-destination", str(project)],
        RUNTIME_TS,
    )
    name = tarball.strip().splitlines()[-1]
    package = project / "node_modules" / "leveret"
    with tarfile.open(project / name) as archive:
        for member in archive.getmembers():
            member.name = member.name.removeprefix("package/")
            archive.extract(member, package, filter="data")
    for dependency in (RUNTIME_TS / "node_modules").iterdir():
        if not dependency.name.startswith(".") and dependency.name != "leveret":
            (project / "node_modules" / dependency.name).symlink_to(dependency)
    return name


@pytest.fixture(scope="session")
def ts(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """``[node, driver.js]``: the driver compiled against the packed runtime, once per session."""
    node, npm, tsc = node_toolchain()
    build = tmp_path_factory.mktemp("ts-interop")
    install_packed_runtime(npm, build)
    for name in ("package.json", "tsconfig.json", "driver.ts"):
        shutil.copy(DRIVER_DIR / name, build / name)
    generate = ["generate", "schemas", "--lang", "typescript", "--quiet", "--out"]
    _run([sys.executable, "-m", "leveret", *generate, str(build / "generated")], ROOT)
    _run([str(tsc), "-p", str(build / "tsconfig.json")], build)
    return [node, str(build / "dist" / "driver.js")]


# ---- processes ------------------------------------------------------------------------------


class _Server:
    """A server process of either language: ``ready``, then one JSON line per handler event."""

    def __init__(self, argv: list[str]) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by stop())
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._ended = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self._lines.append(line.strip())
                self._changed.notify_all()
        with self._changed:
            self._ended = True
            self._changed.notify_all()

    def _output(self) -> str:
        self.stderr.seek(0)
        return f"stdout: {self._lines}\nstderr: {self.stderr.read()}"

    def events(self, kind: str) -> list[dict[str, Any]]:
        with self._changed:
            lines = [json.loads(line) for line in self._lines if line.startswith("{")]
        return [line for line in lines if line["event"] == kind]

    def wait_for(self, what: Callable[[list[str]], bool], timeout: float = 20) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: what(self._lines) or self._ended, timeout):
                pytest.fail(f"timed out waiting on the server\n{self._output()}")
            if not what(self._lines):
                pytest.fail(f"the server ended\n{self._output()}")

    def wait_for_event(self, kind: str, quantity: int) -> None:
        def seen(lines: list[str]) -> bool:
            events = [json.loads(line) for line in lines if line.startswith("{")]
            return any(e["event"] == kind and e["quantity"] == quantity for e in events)

        self.wait_for(seen)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        self.stderr.close()


def _ts_client(
    ts: list[str], url: str, queue: str, scenario: str, between: Callable[[], None]
) -> list[Outcome]:
    with tempfile.TemporaryFile(mode="w+") as stderr:
        proc = subprocess.Popen(
            [*ts, "client", url, queue, scenario],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        # However the test fails, the client process does not outlive it.
        watchdog = threading.Timer(50, proc.kill)
        watchdog.start()
        outcomes: list[Outcome] = []
        try:
            assert proc.stdin is not None and proc.stdout is not None
            for line in proc.stdout:
                item = json.loads(line)
                if item == {"event": "waiting"}:
                    between()
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                else:
                    outcomes.append(item)
            code = proc.wait(30)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        stderr.seek(0)
        assert code == 0, f"the TypeScript client failed ({code}): {outcomes}\n{stderr.read()}"
    return outcomes


# ---- the Python client (the twin of the driver's client scenarios) -------------------------


def _failure(error: leveret.RpcError) -> Outcome:
    details = error.details
    return {
        "error": type(error).__name__,
        "status": error.status.name,
        "message": error.message,
        "details": details.model_dump(mode="json") if isinstance(details, BaseModel) else details,
        "never_sent": error.never_sent,
        "remote_error": error.remote_error,
        # Typed access: details is OutOfStockDetails here.
        "available": error.details.available if isinstance(error, OutOfStock) else None,
    }


def _outcome(call: Callable[[], BaseModel]) -> Outcome:
    started = time.monotonic()
    try:
        result: Outcome = {"ok": call().model_dump(mode="json")}
    except leveret.RpcError as error:
        result = _failure(error)
    return {**result, "elapsed_ms": (time.monotonic() - started) * 1000}


async def _python_concurrent(url: str, queue: str) -> Outcome:
    completed: list[int] = []
    async with AsyncInventoryClient.connect(url, queue=queue) as client:

        async def one(quantity: int) -> Outcome:
            note = f"sleep:{(65 - quantity) * 4}"  # the first calls sleep longest, as in driver.ts
            reservation = await client.reserve(sku=SKU, quantity=quantity, note=note, timeout=20)
            completed.append(quantity)
            return {"sent": quantity, "got": reservation.quantity, "id": str(reservation.id)}

        results = await asyncio.gather(*(one(quantity) for quantity in range(1, 65)))
    return {"ok": list(results), "completed": completed}


def _python_client(
    url: str, queue: str, scenario: str, between: Callable[[], None]
) -> list[Outcome]:
    if scenario == "concurrent":
        return [asyncio.run(_python_concurrent(url, queue))]
    if scenario == "unimplemented":
        # A client of another contract on this queue: its method is unknown to the server.
        with CalculatorClient.connect(url, queue=queue) as calculator:
            return [_outcome(lambda: calculator.add(a=1, b=2))]
    with InventoryClient.connect(url, queue=queue) as client:
        reserve = client.reserve
        if scenario == "roundtrip":
            with leveret.metadata({"tenant": "acme"}):
                return [_outcome(lambda: reserve(sku=SKU, quantity=2, note="round trip"))]
        if scenario == "declared":
            return [_outcome(lambda: reserve(sku="ZZZ-0001", quantity=5))]
        if scenario == "invalid":
            return [
                _outcome(lambda: reserve(sku="abc", quantity=0)),
                _outcome(lambda: reserve(sku=SKU, quantity=1, note="after the invalid one")),
            ]
        if scenario == "deadline":
            late = _outcome(lambda: reserve(sku=SKU, quantity=3, note="sleep:1500", timeout=0.5))
            between()
            return [late, _outcome(lambda: reserve(sku=SKU, quantity=7, timeout=5))]
        if scenario == "unavailable":
            return [_outcome(lambda: reserve(sku=SKU, quantity=1))]
        if scenario == "slow":
            return [_outcome(lambda: reserve(sku=SKU, quantity=9, note="sleep:60000", timeout=30))]
    raise AssertionError(f"no scenario {scenario}")


# ---- directions -----------------------------------------------------------------------------


@dataclass
class _Direction:
    client: str  # "python" or "ts"
    server: str
    ts: list[str]
    url: str
    started: list[_Server] = field(default_factory=list)

    def serve(self, queue: str, language: str | None = None) -> _Server:
        """A server of ``language`` (default: this direction's) on ``queue``, once it consumes."""
        language = language or self.server
        if language == "ts":
            argv = [*self.ts, "server", self.url, queue]
        else:
            argv = [
                sys.executable,
                "-m",
                "tests.interop.test_cross_language",
                "server",
                self.url,
                queue,
            ]
        server = _Server(argv)
        self.started.append(server)
        server.wait_for(lambda lines: "ready" in lines)
        return server

    def start(
        self, queue: str, scenario: str, between: Callable[[], None] = lambda: None
    ) -> Future[list[Outcome]]:
        """Run a client scenario on a thread; its outcomes, in call order."""
        run = functools.partial(_ts_client, self.ts) if self.client == "ts" else _python_client
        pool = ThreadPoolExecutor(1)
        try:
            return pool.submit(run, self.url, queue, scenario, between)
        finally:
            pool.shutdown(wait=False)

    def stop(self) -> None:
        for started in self.started:
            started.stop()

    def run(
        self, queue: str, scenario: str, between: Callable[[], None] = lambda: None
    ) -> list[Outcome]:
        return self.start(queue, scenario, between).result(60)


@pytest.fixture(
    params=[("python", "ts"), ("ts", "python")],
    ids=["python-client-ts-server", "ts-client-python-server"],
)
def direction(request: pytest.FixtureRequest, ts: list[str], amqp_url: str) -> Iterator[_Direction]:
    client, server = request.param
    chosen = _Direction(client, server, ts, amqp_url)
    try:
        yield chosen
    finally:
        chosen.stop()


@pytest.fixture(params=["ts", "python"])
def server(request: pytest.FixtureRequest, ts: list[str], amqp_url: str) -> Iterator[_Direction]:
    """A server of one language, called by a bare AMQP client (pika) rather than a generated one."""
    chosen = _Direction("raw", request.param, ts, amqp_url)
    try:
        yield chosen
    finally:
        chosen.stop()


# ---- the cases ------------------------------------------------------------------------------


def test_round_trip(direction: _Direction, queue: str) -> None:
    server = direction.serve(queue)
    [out] = direction.run(queue, "roundtrip")
    assert out.keys() >= {"ok"}, out
    reservation = out["ok"]
    uuid.UUID(reservation.pop("id"))
    assert reservation == {
        "sku": SKU,
        "quantity": 2,
        "status": MARK[direction.server],
        "price": {"amount": 500, "currency": "EUR"},
    }
    [handled] = server.events("handling")
    assert (handled["quantity"], handled["note"], handled["attempt"]) == (2, "round trip", 0)
    # Metadata passes through; both generators give the contract the same fingerprints.
    assert (handled["metadata"], handled["drift"]) == ({"tenant": "acme"}, False)


def test_declared_error_with_typed_details(direction: _Direction, queue: str) -> None:
    direction.serve(queue)
    [out] = direction.run(queue, "declared")
    assert {k: out.get(k) for k in ("error", "status", "message", "details", "remote_error")} == {
        "error": "OutOfStock",
        "status": "FAILED_PRECONDITION",
        "message": "only 4 of ZZZ-0001 left",
        "details": {"available": 4},
        "remote_error": "OutOfStock",
    }
    assert out["available"] == 4  # read through the typed details of the declared class
    assert out["never_sent"] is False


def test_invalid_request_stopped_by_the_client(direction: _Direction, queue: str) -> None:
    # A bare consumer on the queue sees whatever the client sends: only the valid call after the
    # invalid one. (Requests of one client come in order: had the invalid one been sent, it
    # would be first.)
    with _Recorder(direction.url, queue) as recorder:
        invalid, valid = direction.run(queue, "invalid")
    assert (invalid["error"], invalid["status"], invalid["never_sent"]) == (
        "InvalidArgument",
        "INVALID_ARGUMENT",
        True,
    ), invalid
    assert _problems(invalid["details"]) == [
        (["sku"], "string_pattern_mismatch"),
        (["quantity"], "greater_than_equal"),
    ]
    assert valid["ok"]["quantity"] == 1, valid
    assert recorder.requests == [
        ("reserve", {"sku": SKU, "quantity": 1, "note": "after the invalid one"})
    ]


#: Raw requests a client of no language would send, with the reply every server must give:
#: (AMQP properties, body) -> (rpc-status, the details' (loc, type) or the message).
BAD_REQUESTS: list[tuple[dict[str, Any], bytes, str, object]] = [
    (
        {},
        b'{"sku": "abc", "quantity": 0}',
        "INVALID_ARGUMENT",
        [(["sku"], "string_pattern_mismatch"), (["quantity"], "greater_than_equal")],
    ),
    ({}, b'{"sku": "ABC-1234"}', "INVALID_ARGUMENT", [(["quantity"], "missing")]),
    (
        {},
        b'{"sku": "ABC-1234", "quantity": 1001}',
        "INVALID_ARGUMENT",
        [(["quantity"], "less_than_equal")],
    ),
    ({}, b'{"sku": "ABC-1234", "quantity": "2"}', "INVALID_ARGUMENT", [(["quantity"], "int_type")]),
    ({}, b"[1, 2]", "INVALID_ARGUMENT", [([], "model_type")]),
    ({}, b"not json", "INVALID_ARGUMENT", [([], "json_invalid")]),
    ({}, b"\xef\xbb\xbf{}", "INVALID_ARGUMENT", [([], "json_invalid")]),
    (
        {"content_type": "text/plain"},
        b"{}",
        "INVALID_ARGUMENT",
        "unsupported content type 'text/plain'",
    ),
    ({"type": "nope"}, b"{}", "UNIMPLEMENTED", "Inventory has no method 'nope'"),
    (
        {"type": None},
        b"{}",
        "UNIMPLEMENTED",
        "the request names no method (the AMQP 'type' property is empty)",
    ),
]


def test_invalid_request_refused_by_the_server(server: _Direction, queue: str) -> None:
    worker = server.serve(queue)
    valid: tuple[dict[str, Any], bytes] = ({}, b'{"sku": "ABC-1234", "quantity": 6}')
    replies = _raw_calls(
        server.url, queue, [(props, body) for props, body, *_ in BAD_REQUESTS] + [valid]
    )
    got = []
    for (status, body), (props, request, *_) in zip(replies, BAD_REQUESTS, strict=False):
        shown = body["message"] if props else _problems(body["details"])
        got.append((request, status, shown))
    assert got == [(request, status, shown) for _, request, status, shown in BAD_REQUESTS]
    assert replies[-1][0] == "OK" and replies[-1][1]["quantity"] == 6, replies[-1]
    # The handler ran for the valid request only.
    assert [e["quantity"] for e in worker.events("handling")] == [6]


def test_numbers_json_cannot_carry_are_refused_as_documented(
    server: _Direction, queue: str
) -> None:
    # docs/wire-protocol.md, "Numbers, duplicate keys, the BOM": a NaN token is json_invalid at
    # the body, a number that reads as infinity finite_number at its place, whatever the schema
    # says of the field (here an integer with a maximum).
    server.serve(queue)
    replies = _raw_calls(
        server.url,
        queue,
        [
            ({}, b'{"sku": "ABC-1234", "quantity": NaN}'),
            ({}, b'{"sku": "ABC-1234", "quantity": 1e400}'),
        ],
    )
    assert [(status, _problems(body["details"])) for status, body in replies] == [
        ("INVALID_ARGUMENT", [([], "json_invalid")]),
        ("INVALID_ARGUMENT", [(["quantity"], "finite_number")]),
    ]


def test_both_servers_refuse_a_bad_request_in_the_same_words(
    ts: list[str], amqp_url: str, queue: str
) -> None:
    """Validation problems carry the same loc, msg and type from either server (pydantic's)."""
    requests: list[tuple[dict[str, Any], bytes]] = [
        ({}, body)
        for body in [
            b'{"sku": "abc", "quantity": 0}',
            b'{"sku": "ABC-1234"}',
            b'{"sku": "ABC-1234", "quantity": 1.5}',
            b'{"sku": "ABC-1234", "quantity": 1001}',
            b'{"sku": "ABC-1234", "quantity": "2"}',
            b'{"sku": 12, "quantity": true}',
            b'{"sku": "ABC-1234", "quantity": 2, "note": 5}',
            b'{"sku": "ABC-1234", "quantity": 2, "note": "' + b"x" * 201 + b'"}',
            b"[1, 2]",
        ]
    ]
    replies = {}
    for language in ("python", "ts"):
        serving = _Direction("raw", language, ts, amqp_url)
        try:
            serving.serve(queue)
            replies[language] = _raw_calls(amqp_url, queue, requests)
        finally:
            serving.stop()
    assert all(status == "INVALID_ARGUMENT" for status, _ in replies["python"])
    differ = [
        (request, python, typescript)
        for (_, request), python, typescript in zip(
            requests, replies["python"], replies["ts"], strict=True
        )
        if typescript != python
    ]
    assert differ == []


def test_unimplemented(direction: _Direction, queue: str) -> None:
    server = direction.serve(queue)
    [out] = direction.run(queue, "unimplemented")
    assert {k: out.get(k) for k in ("error", "status", "message", "never_sent")} == {
        "error": "Unimplemented",
        "status": "UNIMPLEMENTED",
        "message": "Inventory has no method 'add'",
        "never_sent": False,
    }
    assert server.events("handling") == []


def test_deadline_exceeded_and_the_late_reply_dropped(direction: _Direction, queue: str) -> None:
    server = direction.serve(queue)
    # The next call goes out once the slow handler has returned (its reply, late, follows).
    late, then = direction.run(queue, "deadline", lambda: server.wait_for_event("done", 3))
    assert (late["error"], late["status"]) == ("DeadlineExceeded", "DEADLINE_EXCEEDED"), late
    assert 450 <= late["elapsed_ms"] < 1500, late
    # The late reply to the first call never settles the second: it gets its own.
    assert then["ok"]["quantity"] == 7, then
    handled = [
        (e["event"], e["quantity"]) for e in server.events("handling") + server.events("done")
    ]
    assert sorted(handled) == [("done", 3), ("done", 7), ("handling", 3), ("handling", 7)]


def test_unavailable_at_once_without_a_queue(direction: _Direction, queue: str) -> None:
    # Nothing has declared `queue`.
    [out] = direction.run(queue, "unavailable")
    assert (out["error"], out["status"], out["never_sent"]) == (
        "Unavailable",
        "UNAVAILABLE",
        True,
    ), out
    assert out["elapsed_ms"] < 1000, out


def test_64_concurrent_calls_each_get_their_own_reply(direction: _Direction, queue: str) -> None:
    server = direction.serve(queue)
    [out] = direction.run(queue, "concurrent")
    calls = out["ok"]
    assert [(c["sent"], c["got"]) for c in calls] == [(q, q) for q in range(1, 65)]
    assert len({c["id"] for c in calls}) == 64
    # The replies came back in another order than the calls went out: matched by correlation id.
    assert sorted(out["completed"]) == list(range(1, 65))
    assert out["completed"] != list(range(1, 65))
    assert len({e["correlation_id"] for e in server.events("handling")}) == 64


def test_a_worker_killed_mid_request_leaves_the_call_to_another(
    direction: _Direction, queue: str
) -> None:
    first = direction.serve(queue)
    call = direction.start(queue, "slow")
    first.wait_for_event("handling", 9)
    # A second worker, in the client's language (the other one), then the first dies unacked.
    second = direction.serve(queue, language=direction.client)
    first.kill()
    [out] = call.result(60)
    assert "ok" in out, out
    # Answered by the second worker (a reservation's status names its server's language).
    assert (out["ok"]["quantity"], out["ok"]["status"]) == (9, MARK[direction.client])
    [killed] = first.events("handling")
    [redelivered] = second.events("handling")
    assert killed["redelivered"] is False and redelivered["redelivered"] is True
    assert redelivered["correlation_id"] == killed["correlation_id"]
    assert first.events("done") == []


# ---- raw AMQP peers -------------------------------------------------------------------------


def _problems(details: list[dict[str, Any]]) -> list[tuple[list[Any], str]]:
    """The (loc, type) of each validation problem of INVALID_ARGUMENT details."""
    return [(list(d["loc"]), d["type"]) for d in details]


class _Recorder:
    """A bare AMQP consumer on a queue: records each request that reaches it, answers it OK."""

    def __init__(self, url: str, queue: str) -> None:
        self.requests: list[tuple[str | None, object]] = []
        self._url, self._queue = url, queue
        self._ready, self._stop = threading.Event(), threading.Event()
        self._failed: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> _Recorder:
        self._thread.start()
        assert self._ready.wait(10), self._failed
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        assert not self._failed, self._failed

    def _serve(self) -> None:
        import pika

        try:
            conn = pika.BlockingConnection(pika.URLParameters(self._url))
            channel = conn.channel()
            channel.queue_declare(self._queue, durable=True)

            def on_request(ch: Any, method: Any, props: Any, body: bytes) -> None:
                request = json.loads(body)
                self.requests.append((props.type, request))
                reply = {**request, "id": str(uuid.uuid4()), "status": "held"}
                reply.pop("note", None)
                ch.basic_publish(
                    "",
                    props.reply_to,
                    json.dumps(reply).encode(),
                    pika.BasicProperties(
                        correlation_id=props.correlation_id,
                        content_type="application/json",
                        headers={"rpc-status": "OK"},
                    ),
                )

            channel.basic_consume(self._queue, on_request, auto_ack=True)
            self._ready.set()
            while not self._stop.is_set():
                conn.process_data_events(time_limit=0.05)
            conn.close()
        except BaseException as error:
            self._failed.append(error)
            self._ready.set()


def _raw_calls(
    url: str, queue: str, requests: list[tuple[dict[str, Any], bytes]]
) -> list[tuple[Any, Any]]:
    """Publish each request as a bare AMQP client does; the (rpc-status, body) of each reply."""
    import pika

    replies: dict[str, tuple[Any, Any]] = {}
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = conn.channel()

        def on_reply(ch: Any, method: Any, props: Any, body: bytes) -> None:
            replies[props.correlation_id] = (
                (props.headers or {}).get("rpc-status"),
                json.loads(body),
            )

        channel.basic_consume("amq.rabbitmq.reply-to", on_reply, auto_ack=True)
        for i, (props, body) in enumerate(requests):
            properties = {"content_type": "application/json", "type": "reserve", **props}
            channel.basic_publish(
                "",
                queue,
                body,
                pika.BasicProperties(
                    correlation_id=f"raw-{i}",
                    reply_to="amq.rabbitmq.reply-to",
                    headers={"rpc-attempt": 1},
                    **properties,
                ),
            )
        deadline = time.monotonic() + 20
        while len(replies) < len(requests) and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
    finally:
        conn.close()
    assert len(replies) == len(requests), replies
    return [replies[f"raw-{i}"] for i in range(len(requests))]


if __name__ == "__main__":
    role, url, queue = sys.argv[1:]
    assert role == "server", sys.argv
    _serve(url, queue)
