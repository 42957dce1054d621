"""A URL that is not AMQP fails before anything connects, a refused connection says so plainly,
and the ``leveret`` command imports only the command it runs."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
from importlib.metadata import version

import pytest

import leveret
from leveret import _cli, _url
from tests.support.echo import AsyncEchoClient, Echo, EchoClient


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:5672", "http:// is not AMQP; did you mean amqp://127.0.0.1:5672?"),
        ("127.0.0.1:5672", "no scheme; did you mean amqp://127.0.0.1:5672?"),
        ("localhost", "no scheme; did you mean amqp://localhost?"),
        ("amqp://host:99999", "bad AMQP URL 'amqp://host:99999': Port out of range"),
        ("amqp://a:5672,b:5672", "bad AMQP URL 'b:5672': no scheme"),
        (",", "no address in it"),
    ],
)
def test_an_address_that_is_not_amqp_is_refused_with_a_hint(url: str, expected: str) -> None:
    with pytest.raises(leveret.ConfigurationError, match="bad AMQP URL") as caught:
        _url.check_url(url)
    assert expected in str(caught.value)


def test_amqp_amqps_memory_and_clusters_pass() -> None:
    for url in (
        "amqp://guest:guest@localhost:5672/%2F",
        "amqps://u:p@broker:5671/vhost",
        "amqp://a:5672,amqp://b:5672",
        "memory://",
        "memory://tests",
    ):
        assert _url.check_url(url) == url
    assert _url.resolve_url(["amqp://a", "amqp://b"]) == "amqp://a,amqp://b"


def test_passwords_stay_out_of_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMQP_URL", "guest:s3cret@broker:5672")
    with pytest.raises(leveret.ConfigurationError) as caught:
        _url.resolve_url(None)
    assert "s3cret" not in str(caught.value)
    assert "did you mean amqp://guest:***@broker:5672?" in str(caught.value)


def test_worker_and_clients_refuse_a_bad_url_before_connecting() -> None:
    with pytest.raises(leveret.ConfigurationError, match="http:// is not AMQP"):
        leveret.Worker(Echo(), url="http://127.0.0.1:5672")
    with pytest.raises(
        leveret.ConfigurationError, match=re.escape("did you mean amqp://127.0.0.1:5672")
    ):
        EchoClient.connect("127.0.0.1:5672")

    async def connect() -> None:
        await AsyncEchoClient.connect("127.0.0.1:5672")

    with pytest.raises(
        leveret.ConfigurationError, match=re.escape("did you mean amqp://127.0.0.1:5672")
    ):
        asyncio.run(connect())


def _refused_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"amqp://guest:guest@127.0.0.1:{sock.getsockname()[1]}/%2F"


def _assert_plainly_refused(exc: leveret.Unavailable) -> None:
    assert exc.message.startswith("cannot reach RabbitMQ at amqp://guest:***@127.0.0.1:")
    assert "/%2F: connection refused" in exc.message
    assert "AMQPConnectionWorkflowFailed" not in exc.message


def test_a_refused_connection_says_connection_refused_first() -> None:
    url = _refused_url()
    with pytest.raises(leveret.Unavailable) as sync_error:
        EchoClient.connect(url, connect_timeout=5)
    _assert_plainly_refused(sync_error.value)

    async def connect() -> None:
        await AsyncEchoClient.connect(url, connect_timeout=5)

    with pytest.raises(leveret.Unavailable) as async_error:
        asyncio.run(connect())
    _assert_plainly_refused(async_error.value)


def _modules_after(argv: list[str]) -> list[str]:
    code = (
        "import sys\n"
        "from leveret._cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({n.split('.')[0] for n in sys.modules}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return proc.stdout.strip().splitlines()[-1].strip("[]").replace("'", "").split(", ")


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["--version"]])
def test_help_imports_no_other_command(argv: list[str]) -> None:
    modules = _modules_after(argv)
    assert "leveret" in modules
    assert not {"leveret_codegen", "jinja2", "jsonschema", "yaml"} & set(modules), modules


def test_the_command_run_is_imported() -> None:
    assert "leveret_codegen" in _modules_after(["generate", "--help"])


def test_the_help_lines_read_without_importing_match_the_commands() -> None:
    parser = _cli.build_parser()  # every command, imported
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    listed = {action.dest: action.help for action in subparsers._choices_actions}
    assert listed == _cli.SUMMARIES


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"leveret {version('leveret')}"


def test_a_user_without_a_password_needs_a_client_certificate() -> None:
    """``amqps://name@host`` names an EXTERNAL login; without a certificate it could only log
    in as pika's default user, so it is refused with what to do, before connecting."""
    with pytest.raises(leveret.ConfigurationError, match="user without a password") as caught:
        EchoClient.connect("amqp://alice@127.0.0.1:1/%2F", connect_timeout=1.0)
    assert "EXTERNAL" in str(caught.value)
