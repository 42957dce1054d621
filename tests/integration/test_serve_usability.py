"""``leveret serve`` for a new user: load errors in one line, what ``--workers`` builds, where
``--app-dir`` looks, and a clear word on a URL that is not AMQP or a broker that is not there."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

#: The ``leveret`` script of this environment: unlike ``python -m``, it does not put the current
#: folder on sys.path, which is how users run it.
LEVERET = Path(sys.executable).with_name("leveret")


def _serve(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LEVERET), "serve", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("leveret serve: ")
    return lines[0]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    _write(
        tmp_path / "app.py",
        """
        from tests.support.echo import AddRequest, EchoRequest, EchoServicer


        class Partial(EchoServicer):
            def echo(self, request, context):
                raise NotImplementedError


        class NeedsDb(EchoServicer):
            def __init__(self, dsn: str, pool_size: int = 4) -> None:
                self.dsn = dsn

            def echo(self, request, context): ...
            def add(self, request, context): ...
            def fail(self, request, context): ...
        """,
    )
    return tmp_path


def test_a_servicer_missing_methods_is_one_line(app: Path) -> None:
    line = _one_error_line(_serve("app:Partial", cwd=app))
    assert "app:Partial does not implement 'add', 'fail'" in line
    assert "EchoServicer" in line  # where to find the signatures


def test_the_generated_base_itself_is_one_line(app: Path) -> None:
    line = _one_error_line(_serve("tests.support.echo:EchoServicer", cwd=app))
    assert "does not implement 'add', 'echo', 'fail'" in line


def test_a_servicer_whose_init_needs_arguments_is_one_line(app: Path) -> None:
    line = _one_error_line(_serve("app:NeedsDb", cwd=app))
    assert "NeedsDb() needs arguments (dsn)" in line
    assert "defaults" in line


def test_a_model_class_instead_of_a_servicer_is_one_line(app: Path) -> None:
    line = _one_error_line(_serve("tests.support.echo:EchoRequest", cwd=app))
    assert "is a pydantic model (a request or response type), not a servicer" in line
    line = _one_error_line(_serve("tests.support.echo:AddRequest", cwd=app))
    assert "not a servicer" in line


def test_a_missing_generated_package_points_at_app_dir(tmp_path: Path) -> None:
    _write(tmp_path / "uses_gen.py", "import not_generated_yet\n")
    line = _one_error_line(_serve("uses_gen:Thing", cwd=tmp_path))
    assert "No module named 'not_generated_yet'" in line
    assert "--app-dir" in line


def _wait_for(path: Path, text: str, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while path.read_text().count(text) < count:
        assert proc.poll() is None, path.read_text()
        assert time.monotonic() < deadline, path.read_text()
        time.sleep(0.05)


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise


def _start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen[str]:
    with log.open("w") as out:
        return subprocess.Popen(
            [str(LEVERET), "serve", *args],
            cwd=cwd,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def test_workers_build_the_servicer_once_each_and_never_in_the_supervisor(
    amqp_url: str, queue: str, tmp_path: Path
) -> None:
    built = tmp_path / "built.txt"
    built.write_text("")
    _write(
        tmp_path / "counted.py",
        f"""
        import os

        from tests.support.echo import Echo


        class Counted(Echo):
            def __init__(self) -> None:
                super().__init__()
                with open({str(built)!r}, "a") as f:  # a database pool would open here
                    f.write(f"{{os.getpid()}}\\n")
        """,
    )
    log = tmp_path / "serve.log"
    proc = _start(
        ["counted:Counted", "--url", amqp_url, "--queue", queue, "--workers", "2"], tmp_path, log
    )
    try:
        _wait_for(log, "serving Echo", 2, proc)
    finally:
        assert _stop(proc) == 0, log.read_text()
    pids = built.read_text().split()
    assert len(pids) == 2, log.read_text()
    assert str(proc.pid) not in pids


def test_app_dir_adds_to_the_current_folder(amqp_url: str, queue: str, tmp_path: Path) -> None:
    # The layout of the README: generated packages in gen/, the servicer in the project folder.
    _write(tmp_path / "gen" / "echo_stubs" / "__init__.py", "from tests.support.echo import *\n")
    _write(
        tmp_path / "service.py",
        """
        from echo_stubs import Echo


        class Service(Echo):
            pass
        """,
    )
    log = tmp_path / "serve.log"
    proc = _start(
        ["service:Service", "--app-dir", "gen", "--url", amqp_url, "--queue", queue],
        tmp_path,
        log,
    )
    try:
        _wait_for(log, "serving Echo", 1, proc)
    finally:
        assert _stop(proc) == 0, log.read_text()


def test_app_dir_is_repeatable(tmp_path: Path) -> None:
    _write(tmp_path / "one" / "first_mod.py", "X = 1\n")
    _write(tmp_path / "two" / "second_mod.py", "import first_mod\n")
    line = _one_error_line(
        _serve("second_mod:Missing", "--app-dir", "one", "--app-dir", "two", cwd=tmp_path)
    )
    # Both folders were searched: the module and its import loaded, only the class is missing.
    assert "'second_mod' has no class 'Missing'" in line


def test_help_says_how_to_import_generated_packages() -> None:
    proc = subprocess.run(
        [str(LEVERET), "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "--app-dir gen" in text
    assert "leveret generate --out" in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:5672", "http:// is not AMQP; did you mean amqp://127.0.0.1:5672?"),
        ("https://u:s3cret@host:15672/", "did you mean amqp://host:5672?"),
        ("127.0.0.1:5672", "no scheme; did you mean amqp://127.0.0.1:5672?"),
    ],
)
def test_a_url_that_is_not_amqp_is_a_usage_error(tmp_path: Path, url: str, expected: str) -> None:
    proc = _serve("tests.support.echo:Echo", "--url", url, cwd=tmp_path)
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert "Traceback" not in proc.stderr and "list index" not in proc.stderr
    assert "s3cret" not in proc.stderr


def test_a_bad_amqp_url_in_the_environment_is_a_load_error(tmp_path: Path) -> None:
    line = _one_error_line(
        _serve("tests.support.echo:Echo", cwd=tmp_path, env={"AMQP_URL": "localhost:5672"})
    )
    assert "did you mean amqp://localhost:5672?" in line


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_refused_connection_says_so_plainly(tmp_path: Path) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{_free_port()}/%2F"
    proc = _serve("tests.support.echo:Echo", "--url", url, cwd=tmp_path)
    assert proc.returncode == 1
    assert "cannot reach RabbitMQ at" in proc.stderr
    assert ": connection refused" in proc.stderr
    assert "AMQPConnectionWorkflowFailed" not in proc.stderr
