"""leveret's pytest plugin, registered by the ``pytest11`` entry point. See ``docs/testing.md``.

Fixtures: ``leveret_service`` (start servicers for a test), ``leveret_url`` (where they serve),
``leveret_transport`` (``"memory"`` or ``"amqp"``), and ``leveret_spans`` (an in-memory span
exporter, when opentelemetry-sdk is installed). Option ``--leveret-transport``, else the
``LEVERET_TRANSPORT`` environment variable, else ``memory``.

pytest loads this module in every session of every environment that has leveret installed, so
it imports nothing beyond the ``leveret`` package itself (which its parent package import brings
in anyway): not pika, not leveret_codegen, not the worker, until a test asks for a fixture.
"""

from __future__ import annotations

import importlib.util
import os
import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from leveret.testing import ServiceStarter

__all__ = ["ENV_VAR", "TRANSPORTS", "SpanRecorder"]

#: The transports a run can use: the in-process broker, or RabbitMQ at ``AMQP_URL``.
TRANSPORTS = ("memory", "amqp")

#: The environment variable that picks the transport when the option is not given.
ENV_VAR = "LEVERET_TRANSPORT"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("leveret", "leveret services")
    group.addoption(
        "--leveret-transport",
        dest="leveret_transport",
        default=None,
        choices=TRANSPORTS,
        help=f"where the leveret_service fixture serves: 'memory' (memory://, the default) or "
        f"'amqp' (RabbitMQ at $AMQP_URL, a queue per test, deleted afterwards); "
        f"default: ${ENV_VAR}, else memory",
    )


def _transport(config: pytest.Config) -> str:
    chosen = config.getoption("leveret_transport", None) or os.environ.get(ENV_VAR) or "memory"
    if chosen not in TRANSPORTS:
        raise pytest.UsageError(
            f"{ENV_VAR}={chosen!r}: the leveret transport is one of {', '.join(TRANSPORTS)}"
        )
    return str(chosen)


def pytest_configure(config: pytest.Config) -> None:
    _transport(config)  # a bad LEVERET_TRANSPORT stops the run before any test


def pytest_report_header(config: pytest.Config) -> str | None:
    transport = _transport(config)
    if transport == "memory":
        return None  # the default: say nothing in every project that has leveret installed
    from leveret._url import redact, resolve_url

    try:
        url = redact(resolve_url(None))
    except Exception as exc:  # each test that needs the URL fails on it with the same words
        return f"leveret: transport amqp, {exc}"
    return f"leveret: transport amqp at {url}"


@pytest.fixture(scope="session")
def leveret_transport(pytestconfig: pytest.Config) -> str:
    """``"memory"`` or ``"amqp"``: what ``--leveret-transport`` (or ``$LEVERET_TRANSPORT``)
    chose."""
    return _transport(pytestconfig)


@pytest.fixture
def leveret_url(leveret_transport: str) -> str:
    """Where this test's services serve: ``memory://<unique>`` (a broker of the test's own),
    or ``$AMQP_URL`` (default: the local broker) with ``--leveret-transport amqp``."""
    if leveret_transport == "memory":
        return f"memory://leveret-test-{uuid.uuid4().hex}"
    from leveret._url import resolve_url

    return resolve_url(None)


@pytest.fixture
def leveret_service(leveret_url: str) -> Iterator[ServiceStarter]:
    """Start servicers for this test: ``svc = leveret_service(Inventory())``, then
    ``InventoryClient.connect(svc.url, queue=svc.queue)``.

    Each call serves one servicer (sync or asyncio) on a worker thread, on a queue of its own;
    keyword arguments go to ``leveret.Worker``. At teardown the workers stop and, on a real
    broker, their queues are deleted.
    """
    from leveret.testing import ServiceStarter

    starter = ServiceStarter(leveret_url)
    try:
        yield starter
    finally:
        starter.close()
        if leveret_url.startswith("memory:"):
            _forget_memory_broker(leveret_url)


def _forget_memory_broker(url: str) -> None:
    """Drop the test's in-memory broker, which would otherwise stay for the whole session."""
    from leveret import _memory

    name = url.partition("://")[2].strip("/")
    with _memory._brokers_lock:
        _memory._brokers.pop(name, None)


class SpanRecorder:
    """What ``leveret_spans`` gives: ``tracer_provider`` (an SDK provider that exports each
    span to ``exporter``, an ``InMemorySpanExporter``, as it ends) for
    ``leveret.otel.OpenTelemetry(tracer_provider=...)``, and the spans it finished."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def finished(self) -> list[Any]:
        """The spans ended so far (``ReadableSpan``), in the order they ended."""
        return list(self.exporter.get_finished_spans())

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Any]:
        """:meth:`finished` once it holds at least ``count`` spans (a worker ends its span
        on its own thread), or ``AssertionError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(spans := self.finished()) < count:
            if time.monotonic() >= deadline:
                names = [span.name for span in spans]
                raise AssertionError(
                    f"{len(spans)} span(s) after {timeout} s, not {count}: {names}"
                )
            time.sleep(0.005)
        return spans

    def clear(self) -> None:
        self.exporter.clear()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()


def _has_otel_sdk() -> bool:
    """Whether ``opentelemetry.sdk`` can be imported, without importing anything: not even the
    ``opentelemetry`` namespace package, which pytester's in-process runs would otherwise keep
    across runs while they drop (and re-import) its submodules."""
    spec = importlib.util.find_spec("opentelemetry")  # a top-level name: not imported
    if spec is None:
        return False
    return any(
        os.path.isdir(os.path.join(location, "sdk"))
        for location in spec.submodule_search_locations or ()
    )


# Only where the SDK is installed (the ``otel`` extra brings the API alone).
if _has_otel_sdk():

    @pytest.fixture
    def leveret_spans() -> Iterator[SpanRecorder]:
        """Spans of this test, in memory: pass ``tracer_provider=leveret_spans.tracer_provider``
        to ``leveret.otel.OpenTelemetry``, then read ``leveret_spans.finished()`` (or
        ``wait_for(n)``). A provider of the test's own: the global one is left alone."""
        recorder = SpanRecorder()
        try:
            yield recorder
        finally:
            recorder.shutdown()
