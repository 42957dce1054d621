"""Issue 12's named drift test, with generated code and the real broker: a client generated
(by ``leveret generate``) from version 1 of a definition calls a worker serving the servicer
generated from version 2, which adds a property to the response.

The call succeeds; each side logs the drift once at WARNING for repeated calls of the same pair
of fingerprints, with the service, the method, both fingerprints and the caller (worker) or the
queue (client); handlers and middleware read it; ``on_drift="reject"`` refuses it with
FAILED_PRECONDITION naming both fingerprints. A client generated from the same version drifts
from nothing. Then ``leveret serve --on-drift reject`` and ``--no-reflection`` as processes.

The two versions are both the package ``stock`` (the same definition, one edit apart), so each
is imported from its own folder and taken out of ``sys.modules`` again; the module objects go on
working.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import leveret
from tests.conftest import ROOT
from tests.support.drift import Seen, drift_warnings, forget_drifts
from tests.support.serve import Serve

pytestmark = pytest.mark.integration

V1 = """\
leveret: 1
package: stock
service: Stock
description: Stock reservations.
version: "{version}"
methods:
  reserve:
    description: Reserve stock.
    timeout: 5.0
    idempotent: false
    request: {{$ref: "#/types/ReserveRequest"}}
    response: {{$ref: "#/types/Reservation"}}
types:
  ReserveRequest:
    type: object
    additionalProperties: false
    required: [sku, quantity]
    properties:
      sku: {{type: string}}
      quantity: {{type: integer}}
  Reservation:
    type: object
    required: [id]
    properties:
      id: {{type: string}}
"""
#: Version 2: the response gains an optional property (not breaking: v1 clients ignore it).
V2 = V1 + "      expires: {{type: string}}\n"

IMPLEMENTATION = """\
from stock import Reservation, ReserveRequest, StockServicer

import leveret


class Stock(StockServicer):
    def reserve(self, request: ReserveRequest, context: leveret.CallContext) -> Reservation:
        return Reservation(id="r-" + request.sku, expires="2026-12-31")
"""


def _generate(tmp_path: Path, version: str, text: str) -> Path:
    """``leveret generate`` of ``text`` into ``tmp_path/<version>``; the folder to import from."""
    definition = tmp_path / f"stock-{version}.yaml"
    definition.write_text(text.format(version=version), encoding="utf-8")
    out = tmp_path / version
    done = subprocess.run(
        [sys.executable, "-m", "leveret", "generate", str(definition), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _import(folder: Path) -> ModuleType:
    """The package ``stock`` from ``folder``, left out of ``sys.modules`` (and ``sys.path``)
    so that the other version can be imported under the same name."""

    def forget() -> None:
        for name in [n for n in sys.modules if n == "stock" or n.startswith("stock.")]:
            del sys.modules[name]

    forget()
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("stock")
    finally:
        sys.path.remove(str(folder))
        forget()


@pytest.fixture(autouse=True)
def _forget_drifts() -> None:
    """Each side warns once per pair per process: a pair warned by an earlier test is forgotten."""
    forget_drifts()


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp_path = tmp_path_factory.mktemp("drift")
    return {"v1": _generate(tmp_path, "1", V1), "v2": _generate(tmp_path, "2", V2)}


@pytest.fixture(scope="module")
def v1(versions: dict[str, Path]) -> ModuleType:
    return _import(versions["v1"])


@pytest.fixture(scope="module")
def v2(versions: dict[str, Path]) -> ModuleType:
    return _import(versions["v2"])


def _servicer(v2: ModuleType) -> Any:
    """An implementation of version 2 that keeps what ``context.contract_drift`` said."""

    class Stock(v2.StockServicer):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            self.drifts: list[leveret.ContractDrift | None] = []

        def reserve(self, request: Any, context: leveret.CallContext) -> Any:
            self.drifts.append(context.contract_drift)
            return v2.Reservation(id=f"r-{request.sku}", expires="2026-12-31")

    return Stock()


def _fingerprint(package: ModuleType) -> str:
    fingerprint = package.SERVICE.by_name["reserve"].fingerprint
    assert isinstance(fingerprint, str) and fingerprint.startswith("sha256:")
    return fingerprint


def test_the_two_versions_have_different_fingerprints(v1: ModuleType, v2: ModuleType) -> None:
    assert _fingerprint(v1) != _fingerprint(v2)
    assert "expires" in v2.Reservation.model_fields
    assert "expires" not in v1.Reservation.model_fields


def test_an_older_generated_client_calls_a_newer_worker(
    v1: ModuleType,
    v2: ModuleType,
    amqp_url: str,
    queue: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    servicer, worker_seen, client_seen = _servicer(v2), Seen(), Seen()
    with (
        caplog.at_level(logging.WARNING),
        leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=[worker_seen]),
        v1.StockClient.connect(amqp_url, queue=queue, middleware=[client_seen]) as old,
    ):
        replies = [old.reserve(sku=sku, quantity=1) for sku in ("A", "B", "C")]
    # the call goes on: version 1 reads the id and ignores the property it does not know
    assert [r.id for r in replies] == ["r-A", "r-B", "r-C"]
    assert all(isinstance(r, v1.Reservation) for r in replies)
    drift = leveret.ContractDrift("Stock", "reserve", _fingerprint(v1), _fingerprint(v2))
    assert servicer.drifts == [drift] * 3  # context.contract_drift in the handler
    assert worker_seen.drifts == [drift] * 3  # CallInfo.contract_drift, worker middleware
    assert client_seen.drifts == [drift] * 3  # and client middleware
    worker, client = (
        drift_warnings(caplog, "leveret.server"),
        drift_warnings(caplog, "leveret.client"),
    )
    assert len(worker) == 1 and len(client) == 1, (worker, client)  # once per pair and side
    for record in (worker[0], client[0]):
        assert "Stock.reserve" in record
        assert _fingerprint(v1) in record and _fingerprint(v2) in record
    assert "caller guest" in worker[0]  # the caller's broker login
    assert repr(queue) in client[0]  # the worker it called


def test_the_same_version_does_not_drift(
    v2: ModuleType, amqp_url: str, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    servicer, worker_seen, client_seen = _servicer(v2), Seen(), Seen()
    with (
        caplog.at_level(logging.WARNING),
        leveret.Worker(servicer, url=amqp_url, queue=queue, middleware=[worker_seen]),
        v2.StockClient.connect(amqp_url, queue=queue, middleware=[client_seen]) as current,
    ):
        reply = current.reserve(sku="A", quantity=1)
    assert (reply.id, reply.expires) == ("r-A", "2026-12-31")
    assert servicer.drifts == worker_seen.drifts == client_seen.drifts == [None]
    assert drift_warnings(caplog, "leveret.server") == []
    assert drift_warnings(caplog, "leveret.client") == []


def test_on_drift_reject_refuses_the_older_client(
    v1: ModuleType, v2: ModuleType, amqp_url: str, queue: str
) -> None:
    servicer = _servicer(v2)
    with (
        leveret.Worker(servicer, url=amqp_url, queue=queue, on_drift="reject"),
        v1.StockClient.connect(amqp_url, queue=queue) as old,
        v2.StockClient.connect(amqp_url, queue=queue) as current,
    ):
        with pytest.raises(leveret.FailedPrecondition) as refused:
            old.reserve(sku="A", quantity=1)
        assert current.reserve(sku="B", quantity=1).id == "r-B"  # the same version is served
    assert _fingerprint(v1) in refused.value.message
    assert _fingerprint(v2) in refused.value.message
    assert servicer.drifts == [None]  # the refused call never reached the handler


# -- leveret serve --------------------------------------------------------------------------------


class _ServeStock(Serve):
    """``leveret serve impl:Stock`` (version 2) in a child process, output kept for the test."""

    def __init__(self, url: str, queue: str, app_dirs: list[Path], *options: str) -> None:
        dirs = [arg for folder in app_dirs for arg in ("--app-dir", str(folder))]
        argv = ["serve", "impl:Stock", "--url", url, "--queue", queue, *dirs, *options]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leveret", *argv],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


@pytest.fixture
def serve_stock(
    versions: dict[str, Path], amqp_url: str, queue: str, tmp_path: Path
) -> Iterator[Any]:
    (tmp_path / "impl.py").write_text(IMPLEMENTATION, encoding="utf-8")
    started: list[_ServeStock] = []

    def start(*options: str) -> _ServeStock:
        proc = _ServeStock(amqp_url, queue, [versions["v2"], tmp_path], *options)
        started.append(proc)
        proc.wait_for("serving")
        return proc

    yield start
    for proc in started:
        proc.kill()


def test_serve_lists_the_reflection_and_drift_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "leveret", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert "--no-reflection" in done.stdout
    assert "--on-drift {warn,reject}" in done.stdout


def test_serve_on_drift_reject(
    serve_stock: Any, v1: ModuleType, v2: ModuleType, amqp_url: str, queue: str
) -> None:
    proc = serve_stock("--on-drift", "reject")
    with (
        v1.StockClient.connect(amqp_url, queue=queue) as old,
        v2.StockClient.connect(amqp_url, queue=queue) as current,
    ):
        with pytest.raises(leveret.FailedPrecondition) as refused:
            old.reserve(sku="A", quantity=1)
        assert current.reserve(sku="B", quantity=1).expires == "2026-12-31"
    assert _fingerprint(v1) in refused.value.message
    assert _fingerprint(v2) in refused.value.message
    proc.wait_for("contract drift on Stock.reserve")  # the worker's WARNING


def test_serve_warns_by_default(
    serve_stock: Any, v1: ModuleType, v2: ModuleType, amqp_url: str, queue: str
) -> None:
    proc = serve_stock()
    with v1.StockClient.connect(amqp_url, queue=queue) as old:
        assert [old.reserve(sku="A", quantity=1).id for _ in range(3)] == ["r-A"] * 3
    proc.wait_for("contract drift on Stock.reserve")
    line = next(li for li in proc.lines if "contract drift on Stock.reserve" in li)
    assert _fingerprint(v1) in line and _fingerprint(v2) in line and "caller guest" in line
    # three calls of one pair, one warning: counted once the worker has logged all three calls
    # (each after its drift check)
    proc.wait_for("handler reserve replied OK", count=3)
    assert proc.count("contract drift on Stock.reserve") == 1


def _describe(url: str, queue: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leveret", "describe", f"queue:{queue}", "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_no_reflection(serve_stock: Any, amqp_url: str, queue: str) -> None:
    serve_stock("--no-reflection")
    done = _describe(amqp_url, queue)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(f"leveret describe: queue:{queue}: UNIMPLEMENTED: ")
    assert "does not describe itself" in done.stderr
    assert done.stderr.count("\n") == 1


def test_serve_answers_describe_by_default(serve_stock: Any, amqp_url: str, queue: str) -> None:
    serve_stock()
    done = _describe(amqp_url, queue)
    assert (done.returncode, done.stderr) == (0, "")
    assert "service: Stock" in done.stdout and "expires:" in done.stdout
