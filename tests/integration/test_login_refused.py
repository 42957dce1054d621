"""A worker whose login the broker refuses after it was connected (password changed, user
deleted): it retries with backoff, logs the refusal at ERROR once (not per attempt), is not
ready meanwhile, recovers when the login is accepted again, and gives up with ``Unavailable``
after ``refused_login_timeout`` (``leveret serve`` then exits 1). Issue 10 s.8; against a real
RabbitMQ, with a user and vhost of the test's own (tests/support/broker_users.py)."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

import leveret
from tests.support.background import Background
from tests.support.broker_users import BrokerUsers, broker_users
from tests.support.echo import Echo, EchoClient
from tests.support.proxy import wait_until

pytestmark = pytest.mark.integration

_QUEUE = "leveret.test.login"


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


def _cut(users: BrokerUsers) -> None:
    """Close every connection on the test's vhost: the worker must log in again."""
    _ctl("close_all_connections", "-p", users.vhost, "leveret test: login changed")


def _refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "leveret.amqp"
        and r.levelno == logging.ERROR
        and "refuses the login" in r.getMessage()
    ]


def test_a_refused_login_is_logged_once_and_the_worker_recovers_when_it_is_accepted(
    amqp_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="leveret.amqp")
    with broker_users(amqp_url, "worker") as users:
        user, password = users.users["worker"]
        worker = leveret.Worker(Echo("w"), url=users.url("worker"), queue=_QUEUE)
        with worker:
            _ctl("change_password", user, "not-the-one-it-has")
            _cut(users)
            consumer = worker._active
            wait_until(lambda: consumer.failed_rounds >= 3, 30, "three refused reconnects")  # type: ignore[union-attr]
            assert not worker.ready  # /readyz: 503
            assert worker.alive  # /livez: 200, restarting it would not help by itself
            refusals = _refusals(caplog)
            assert len(refusals) == 1, [r.getMessage() for r in refusals]
            assert "ACCESS_REFUSED" in refusals[0].getMessage()
            assert user in refusals[0].getMessage()
            # Not a WARNING per attempt either.
            assert not [r for r in caplog.records if "reconnect failed" in r.getMessage()]

            _ctl("change_password", user, password)
            wait_until(lambda: worker.ready, 30, "the worker to log in again")
            with EchoClient.connect(users.url("worker"), queue=_QUEUE) as client:
                assert client.echo(text="back", timeout=10).text == "back"
            assert any("accepts the login again" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("change", ["password", "user deleted"])
def test_a_worker_gives_up_after_refused_login_timeout(
    amqp_url: str, caplog: pytest.LogCaptureFixture, change: str
) -> None:
    with broker_users(amqp_url, "worker") as users:
        user = users.name("worker")
        worker = leveret.Worker(
            Echo("w"), url=users.url("worker"), queue=_QUEUE, refused_login_timeout=3.0
        )
        # run() off the main thread serves on this thread and raises why serving ended, as
        # under ``leveret serve``, which prints it and exits with status 1.
        running = Background(worker.run)
        wait_until(lambda: worker.ready, 20, "the worker to consume")
        if change == "password":
            _ctl("change_password", user, "not-the-one-it-has")
        else:
            _ctl("delete_user", user)
        started = time.monotonic()
        _cut(users)
        running.wait(30)
        elapsed = time.monotonic() - started
        assert isinstance(running.error, leveret.Unavailable), running.error
        assert "refused the login" in str(running.error)
        assert "ACCESS_REFUSED" in str(running.error)
        assert 3.0 <= elapsed < 20, elapsed
        assert len(_refusals(caplog)) == 1


def test_a_worker_gives_up_on_a_refused_login_only_when_told(amqp_url: str) -> None:
    with pytest.raises(leveret.ConfigurationError):
        leveret.Worker(Echo(), url=amqp_url, refused_login_timeout=-1)
    assert leveret.Worker(Echo(), url=amqp_url, refused_login_timeout=None)
    assert leveret.Worker(Echo(), url=amqp_url).refused_login_timeout == 300.0


def test_serve_exits_1_after_refused_login_timeout(amqp_url: str) -> None:
    """``leveret serve --refused-login-timeout``: the same give-up, as an exit status a
    supervisor or Kubernetes acts on; 'never' and bad values are checked too."""
    from tests.support.serve import Serve

    with broker_users(amqp_url, "worker") as users:
        serving = Serve(users.url("worker"), _QUEUE, "--refused-login-timeout", "2")
        try:
            serving.wait_for("Worker serving", timeout=30)
            _ctl("change_password", users.name("worker"), "not-the-one-it-has")
            _cut(users)
            assert serving.wait(40) == 1, serving.output()
            assert "refused the login" in serving.output()
        finally:
            serving.proc.kill()
            serving.proc.wait()
    bad = subprocess.run(
        [sys.executable, "-m", "leveret", "serve", "tests.support.echo:Echo",
         "--refused-login-timeout", "soon"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "seconds or 'never'" in bad.stderr, bad.stderr
