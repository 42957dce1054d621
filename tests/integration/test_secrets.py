"""A password never shows: not in a log line, an error message, a repr, a metric or the
process list. ``leveret serve`` and ``leveret call`` run with a distinctive password, failing
and succeeding, and everything they print is searched for it.

They run against the suite's own node (tests/support/tls_node.py, plain AMQP on 5692), where
the test creates the user that owns the password; the shared broker is left alone.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

import leveret
from tests.conftest import ROOT
from tests.support.echo import AsyncEchoClient, Echo, EchoClient
from tests.support.generated import generate_into
from tests.support.tls_node import TLSNode, tls_node

__all__ = ["tls_node"]  # the fixture, imported for pytest

pytestmark = pytest.mark.integration

#: Distinctive, so that finding it anywhere cannot be a coincidence; URL-safe as it is.
PASSWORD = f"s3cret-{uuid.uuid4().hex[:16]}"
WRONG_PASSWORD = f"wr0ng-{uuid.uuid4().hex[:16]}"
USER = f"lvsecret-{uuid.uuid4().hex[:8]}"
WARNING = "warning: --url carries a password"

HAS_PROMETHEUS = importlib.util.find_spec("prometheus_client") is not None


@pytest.fixture(scope="module")
def user(tls_node: TLSNode) -> str:
    tls_node.add_user(USER, PASSWORD)
    return USER


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the generated calculator and a servicer of it, ``calc_app:Calculator``."""
    out = tmp_path_factory.mktemp("secrets-app")
    generate_into([ROOT / "schemas" / "calculator.yaml"], out)
    (out / "calc_app.py").write_text(
        """\
import calculator


class Calculator(calculator.CalculatorServicer):
    def add(self, request, context):
        return calculator.Result(value=request.a + request.b)

    def divide(self, request, context):
        return calculator.Result(value=request.a / request.b)

    def sum(self, request, context):
        return calculator.Result(value=sum(request.values))
"""
    )
    return out


def _url(node: TLSNode, password: str = PASSWORD) -> str:
    return f"amqp://{USER}:{password}@127.0.0.1:{node.amqp_port}/%2F"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _leaks(text: str) -> list[str]:
    """The forms of either password found in ``text`` (as is, or %-escaped)."""
    forms = {PASSWORD, WRONG_PASSWORD, quote(PASSWORD), quote(WRONG_PASSWORD)}
    return sorted(form for form in forms if form in text)


class Run:
    """A ``leveret`` command in a child process: its output kept, its command line read from
    /proc while it runs."""

    def __init__(
        self, app: Path, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
    ) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leveret", *args],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout = self.stderr = ""

    def finish(self, timeout: float = 60) -> int:
        try:
            self.stdout, self.stderr = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.stdout, self.stderr = self.proc.communicate(10)
            raise AssertionError(f"still running after {timeout} s:\n{self.stderr}") from None
        return self.proc.returncode

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _call(app: Path, *options: str, env: dict[str, str] | None = None) -> Run:
    run = Run(
        app,
        "call",
        str(ROOT / "schemas" / "calculator.yaml"),
        "add",
        '{"a": 1, "b": 2}',
        "--timeout",
        "10",
        *options,
        env=env,
    )
    run.finish()
    return run


def _serve_options(app: Path, queue: str) -> list[str]:
    return ["serve", "calc_app:Calculator", "--app-dir", str(app), "--queue", queue]


def _wait_for_log(path: Path, text: str, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} (exit {proc.poll()}):\n{path.read_text()}")
        time.sleep(0.05)


def _cmdlines(pid: int) -> list[str]:
    """The command lines of ``pid`` and its descendants, as ps shows them."""
    found: list[str] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            found.append(
                Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            )
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending += [int(child) for child in children]
    return found


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())
    except urllib.error.HTTPError as exc:
        return str(exc.read().decode())


def test_a_succeeding_serve_and_call_never_print_the_password(
    tls_node: TLSNode, user: str, app: Path, tmp_path: Path
) -> None:
    queue = f"leveret.secrets.{uuid.uuid4().hex[:12]}"
    health, metrics = _free_port(), _free_port()
    extra = ["--metrics-port", str(metrics)] if HAS_PROMETHEUS else []
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        # -v: pika's own DEBUG records too, where a login would show if anything printed it.
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leveret",
                *_serve_options(app, queue),
                "--url",
                _url(tls_node),
                "--health-port",
                str(health),
                *extra,
                "-v",
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_for_log(log, "serving", serve)
        url_file = tmp_path / "url"
        url_file.write_text(_url(tls_node) + "\n")
        by_flag = _call(app, "--url", _url(tls_node), "--queue", queue)
        by_env = _call(app, "--queue", queue, env={"AMQP_URL": _url(tls_node)})
        by_file = _call(app, "--url-file", str(url_file), "--queue", queue)
        pages = [
            _get(f"http://127.0.0.1:{health}/readyz"),
            _get(f"http://127.0.0.1:{health}/livez"),
        ]
        if HAS_PROMETHEUS:
            pages.append(_get(f"http://127.0.0.1:{metrics}/metrics"))
            assert "leveret_server" in pages[-1]  # the page has the call's series
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    output = log.read_text()
    for run in (by_flag, by_env, by_file):
        assert run.proc.returncode == 0, run.stderr
        assert json.loads(run.stdout) == {"value": 3.0}
    assert "DEBUG pika" in output  # the most verbose logs were on
    for text in (output, by_flag.output, by_env.output, by_file.output, *pages):
        assert _leaks(text) == []
    # serve warns when --url carries the password, naming the way to pass it. call does not
    # (its stderr is the error reply's JSON), but its help says the same.
    warning = next(line for line in output.splitlines() if WARNING in line)
    assert warning.startswith("leveret serve: ") and "AMQP_URL" in warning, warning
    assert "--url-file" in warning, warning
    assert by_flag.stderr == by_env.stderr == by_file.stderr == ""


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_failing_serve_and_call_never_print_the_password(
    tls_node: TLSNode, user: str, app: Path, log_format: str
) -> None:
    wrong = _url(tls_node, WRONG_PASSWORD)
    queue = f"leveret.secrets.{uuid.uuid4().hex[:12]}"
    options = ["--log-format", log_format, "-v"]
    serve_refused = Run(app, *_serve_options(app, queue), "--url", wrong, *options)
    assert serve_refused.finish() == 1
    serve_refused_env = Run(app, *_serve_options(app, queue), *options, env={"AMQP_URL": wrong})
    assert serve_refused_env.finish() == 1
    call_refused = _call(app, "--url", wrong, "--queue", queue)
    assert call_refused.proc.returncode == 1
    # The right password, but a port nobody listens on; and URLs that do not parse.
    unreachable = f"amqp://{USER}:{PASSWORD}@127.0.0.1:{_free_port()}/%2F"
    serve_unreachable = Run(
        app, *_serve_options(app, queue), *options, env={"AMQP_URL": unreachable}
    )
    assert serve_unreachable.finish() == 1
    bad = f"amqp://{USER}:{PASSWORD}@127.0.0.1:notaport/%2F"
    serve_bad = Run(app, *_serve_options(app, queue), "--url", bad)
    assert serve_bad.finish() == 2
    call_bad = _call(app, "--url", bad)
    assert call_bad.proc.returncode == 2
    runs = [serve_refused, serve_refused_env, call_refused, serve_unreachable, serve_bad, call_bad]
    for run in runs:
        assert _leaks(run.output) == [], run.output
    # Each says why, with the URL's password masked.
    assert "ACCESS_REFUSED" in serve_refused.stderr
    assert f"{USER}:***@" in serve_refused.stderr
    assert "ACCESS_REFUSED" in json.loads(call_refused.stderr)["message"]
    assert "connection refused" in serve_unreachable.stderr
    assert "port is not a number" in serve_bad.stderr
    assert WARNING in serve_refused.stderr and WARNING not in serve_refused_env.stderr


def test_the_process_list_shows_no_password_from_amqp_url_or_url_file(
    tls_node: TLSNode, user: str, app: Path, tmp_path: Path
) -> None:
    url_file = tmp_path / "url"
    url_file.write_text(_url(tls_node))
    queue = f"leveret.secrets.{uuid.uuid4().hex[:12]}"
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        # A supervisor and two workers: the children get the URL in their environment.
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leveret",
                *_serve_options(app, queue),
                "--url-file",
                str(url_file),
                "--workers",
                "2",
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 60
        while log.read_text().count("serving") < 2:
            assert serve.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        commands = _cmdlines(serve.pid)
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert len(commands) >= 3, commands  # the supervisor and its two workers
    assert all("leveret" in command for command in commands)
    for text in (*commands, log.read_text()):
        assert _leaks(text) == []
    assert WARNING not in log.read_text()


def test_a_url_file_that_cannot_be_read_is_a_usage_error(app: Path, tmp_path: Path) -> None:
    missing = Run(app, *_serve_options(app, "q"), "--url-file", str(tmp_path / "none"))
    assert missing.finish() == 2
    assert "--url-file" in missing.stderr and "cannot read it" in missing.stderr
    both = _call(app, "--url", "amqp://127.0.0.1:1/", "--url-file", str(tmp_path / "none"))
    assert both.proc.returncode == 2
    assert "give --url or --url-file, not both" in both.stderr
    garbage = tmp_path / "garbage"
    garbage.write_text(f"http://{USER}:{PASSWORD}@127.0.0.1:15672/")
    wrong_scheme = _call(app, "--url-file", str(garbage))
    assert wrong_scheme.proc.returncode == 2
    assert "is not AMQP" in wrong_scheme.stderr
    assert _leaks(wrong_scheme.output) == []


def test_the_default_guest_password_gets_no_warning(app: Path) -> None:
    # guest:guest is the well-known default: no secret to protect, no noise.
    run = Run(app, *_serve_options(app, "q"), "--url", "amqp://guest:guest@127.0.0.1:1/%2F")
    assert run.finish() == 1
    assert WARNING not in run.stderr
    assert "connection refused" in run.stderr


def test_reprs_errors_and_logs_in_process_never_show_the_password(
    tls_node: TLSNode, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for url in (_url(tls_node, WRONG_PASSWORD), f"amqp://{USER}:{PASSWORD}@127.0.0.1:1/%2F"):
            with pytest.raises(leveret.Unavailable) as refused:
                EchoClient.connect(url)
            seen += [str(refused.value), repr(refused.value)]
            worker = leveret.Worker(Echo(), url=url, queue="leveret.secrets.none")
            seen.append(repr(worker))
            with pytest.raises(leveret.Unavailable) as refused:
                worker.start(timeout=20)
            seen += [str(refused.value), repr(refused.value)]

            async def connect_async(url: str = url) -> None:
                await AsyncEchoClient.connect(url)

            with pytest.raises(leveret.Unavailable) as refused:
                asyncio.run(connect_async())
            seen += [str(refused.value), repr(refused.value)]
        with EchoClient.connect(_url(tls_node)) as client:
            seen.append(repr(client))
            seen.append(repr(client._transport))
    for text in (*seen, caplog.text):
        assert _leaks(text) == [], text
    assert any("ACCESS_REFUSED" in text for text in seen)
