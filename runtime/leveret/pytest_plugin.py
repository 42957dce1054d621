"""leveret's pytest plugin, registered by the ``pytest11`` entry point. See ``docs/testing.md``.

Fixtures: ``leveret_service`` (start servicers for a test), ``leveret_url`` (where they serve),
``leveret_transport`` (``"memory"`` or ``"amqp"``). Option ``--leveret-transport``, else the
``LEVERET_TRANSPORT`` environment variable, else ``memory``.

pytest loads this module in every session of every environment that has leveret installed, so
it imports nothing beyond the ``leveret`` package itself (which its parent package import brings
in anyway): not pika, not leveret_codegen, not the worker, until a test asks for a fixture.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from leveret.testing import ServiceStarter

__all__ = ["ENV_VAR", "TRANSPORTS"]

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
