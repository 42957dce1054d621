"""TLS against a RabbitMQ node of the suite's own (tests/support/tls_node.py): typed calls over
TLS, EXTERNAL login with a client certificate, and the failures a wrong CA or a wrong host name
must give (fast, ``Unavailable``, saying why, never a password)."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import pytest

import leveret
from tests.conftest import ROOT
from tests.support.cli import calculator_package
from tests.support.cli import leveret_call as run_call
from tests.support.echo import AsyncEchoClient, Echo, EchoClient, EchoReply, EchoRequest
from tests.support.serve import Serve
from tests.support.tls_node import TLSNode, tls_node

__all__ = ["tls_node"]  # the fixture, imported for pytest

pytestmark = pytest.mark.integration

#: A password to look for in what the failures say: it must never be there.
PASSWORD = "tls-Pw-3c7f1e9a"


@pytest.fixture
def tls(tls_node: TLSNode) -> leveret.TLS:
    """Trust the node's CA; no client certificate."""
    return leveret.TLS(ca_file=tls_node.certs.ca)


@pytest.fixture
def client_tls(tls_node: TLSNode) -> leveret.TLS:
    certs = tls_node.certs
    return leveret.TLS(ca_file=certs.ca, cert_file=certs.client_cert, key_file=certs.client_key)


@pytest.fixture
def tls_queue(tls_node: TLSNode) -> Iterator[str]:
    """A fresh queue on the TLS node, deleted afterwards."""
    import pika

    name = f"leveret.tls.{uuid.uuid4().hex[:12]}"
    yield name
    conn = pika.BlockingConnection(pika.URLParameters(tls_node.url()))
    try:
        conn.channel().queue_delete(name)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cert_user(tls_node: TLSNode) -> str:
    """The broker user named by the client certificate's common name: no password, so it
    can log in only with EXTERNAL."""
    tls_node.add_user(tls_node.certs.client_cn)
    return tls_node.certs.client_cn


def test_the_node_starts_quickly(tls_node: TLSNode) -> None:
    # One node for the whole session, started by the suite: it must stay cheap.
    assert tls_node.startup_seconds < 15, tls_node.startup_seconds


def test_a_typed_call_over_tls_client_and_worker(
    tls_node: TLSNode, tls: leveret.TLS, tls_queue: str
) -> None:
    url = tls_node.tls_url()  # amqp:// to the TLS port: tls= turns TLS on
    with (
        leveret.Worker(Echo("tls"), url=url, tls=tls, queue=tls_queue),
        EchoClient.connect(url, tls=tls, queue=tls_queue) as client,
    ):
        reply = client.echo(text="over tls")
    assert (reply.text, reply.worker) == ("over tls", "tls")


def test_connections_made_with_tls_are_tls_connections(
    tls_node: TLSNode, tls: leveret.TLS, tls_queue: str
) -> None:
    url = tls_node.tls_url()
    with (
        leveret.Worker(Echo("tls"), url=url, tls=tls, queue=tls_queue),
        EchoClient.connect(url, tls=tls, queue=tls_queue) as client,
    ):
        assert client.echo(text="x").text == "x"
        rows = tls_node.ctl("list_connections", "port", "ssl", "--no-table-headers", "-q")
    # The worker's and the client's connection, both on the TLS port, both TLS.
    ours = [line.split() for line in rows.splitlines() if line.split()[:1] == ["5691"]]
    assert len(ours) >= 2, rows
    assert all(ssl == "true" for _port, ssl in ours), rows


def test_an_async_typed_call_over_tls(tls_node: TLSNode, tls: leveret.TLS, tls_queue: str) -> None:
    async def main() -> str:
        async with (
            leveret.Worker(Echo("tls"), url=tls_node.tls_url(), tls=tls, queue=tls_queue),
            AsyncEchoClient.connect(tls_node.tls_url(), tls=tls, queue=tls_queue) as client,
        ):
            return (await client.echo(text="async tls")).text

    assert asyncio.run(main()) == "async tls"


def test_external_login_with_a_client_certificate(
    tls_node: TLSNode, client_tls: leveret.TLS, cert_user: str, tls_queue: str
) -> None:
    # No user:password in the URL and a client certificate: EXTERNAL, as the certificate's
    # common name, a user with no password at all (PLAIN could not log it in).
    url = tls_node.tls_url(user=None)
    with (
        leveret.Worker(Echo("ext"), url=url, tls=client_tls, queue=tls_queue),
        EchoClient.connect(url, tls=client_tls, queue=tls_queue) as client,
    ):
        assert client.echo(text="by certificate").text == "by certificate"
        rows = tls_node.ctl(
            "list_connections", "user", "auth_mechanism", "--no-table-headers", "-q"
        )
    logins = [line.split() for line in rows.splitlines() if line.strip()]
    assert logins.count([cert_user, "EXTERNAL"]) >= 2, rows


def test_an_external_login_named_in_the_url_is_the_callers_identity(
    tls_node: TLSNode, client_tls: leveret.TLS, cert_user: str, tls_queue: str
) -> None:
    # amqps://<name>@host with a certificate and no password: EXTERNAL, and requests carry
    # user_id=<name>, which the broker checks against the certificate's; a worker that
    # requires a caller sees it.
    seen: list[str | None] = []

    class Who(Echo):
        def echo(self, request: EchoRequest, context: leveret.CallContext) -> EchoReply:
            seen.append(context.caller)
            return super().echo(request, context)

    with (
        leveret.Worker(
            Who("ext"),
            url=tls_node.tls_url(user=None),
            tls=client_tls,
            queue=tls_queue,
            require_caller=True,
        ),
        EchoClient.connect(
            tls_node.tls_url(user=cert_user, password=None), tls=client_tls, queue=tls_queue
        ) as client,
    ):
        assert client.echo(text="named").text == "named"
    assert seen == [cert_user]


def test_an_external_login_named_wrongly_in_the_url_is_refused_by_the_broker(
    tls_node: TLSNode, client_tls: leveret.TLS, cert_user: str, tls_queue: str
) -> None:
    with (
        leveret.Worker(
            Echo("ext"), url=tls_node.tls_url(user=None), tls=client_tls, queue=tls_queue
        ),
        EchoClient.connect(
            tls_node.tls_url(user="someone-else", password=None), tls=client_tls, queue=tls_queue
        ) as client,
        pytest.raises(leveret.RpcError) as caught,
    ):
        client.echo(text="forged", timeout=5.0)
    assert "user_id" in caught.value.message, caught.value.message


def test_a_client_certificate_with_a_password_in_the_url_logs_in_with_it(
    tls_node: TLSNode, client_tls: leveret.TLS, tls_queue: str
) -> None:
    # A password in the URL wins: PLAIN as that user, the certificate only presented.
    with EchoClient.connect(tls_node.tls_url(), tls=client_tls, queue=tls_queue) as client:
        with pytest.raises(leveret.Unavailable):
            client.echo(text="nobody serves")  # connected: the call itself reached the broker
        rows = tls_node.ctl(
            "list_connections", "user", "auth_mechanism", "--no-table-headers", "-q"
        )
    assert ["guest", "PLAIN"] in [line.split() for line in rows.splitlines()], rows


def _refused(
    connect: object, caplog: pytest.LogCaptureFixture
) -> tuple[leveret.Unavailable, float]:
    """Run ``connect()``; it must raise Unavailable. Returns the error and the seconds taken."""
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG), pytest.raises(leveret.Unavailable) as caught:
        connect()  # type: ignore[operator]
    return caught.value, time.monotonic() - started


def _assert_no_password(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    for text in (str(error), repr(error), caplog.text):
        assert PASSWORD not in text


@pytest.mark.parametrize("side", ["client", "async client", "worker"])
def test_a_wrong_ca_fails_fast_saying_why(
    tls_node: TLSNode, side: str, tls_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = tls_node.tls_url("someone", PASSWORD)
    wrong = leveret.TLS(ca_file=tls_node.certs.other_ca)
    error, seconds = _refused(_connect(side, url, wrong, tls_queue), caplog)
    assert seconds < 5
    message = str(error)
    assert "certificate verify failed" in message, message
    assert "self-signed certificate in certificate chain" in message, message
    assert "localhost:5691" in message, message
    _assert_no_password(error, caplog)


@pytest.mark.parametrize("side", ["client", "async client", "worker"])
def test_a_wrong_host_name_fails_fast_saying_why(
    tls_node: TLSNode, side: str, tls_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = tls_node.tls_url("someone", PASSWORD)
    wrong = leveret.TLS(ca_file=tls_node.certs.ca, server_hostname="rabbit.elsewhere.example")
    error, seconds = _refused(_connect(side, url, wrong, tls_queue), caplog)
    assert seconds < 5
    message = str(error)
    assert "certificate verify failed" in message, message
    assert "Hostname mismatch" in message, message
    assert "rabbit.elsewhere.example" in message, message
    _assert_no_password(error, caplog)


def test_amqps_uses_the_system_cas(
    tls_node: TLSNode, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"amqps://someone:{PASSWORD}@localhost:{tls_node.tls_port}/%2F"
    # The run's CA is in no system store: amqps:// alone refuses the node.
    error, seconds = _refused(lambda: EchoClient.connect(url), caplog)
    assert seconds < 5
    assert "self-signed certificate in certificate chain" in str(error), error
    _assert_no_password(error, caplog)
    # The system's CAs are OpenSSL's default paths: with SSL_CERT_FILE naming the run's CA,
    # the same URL connects, and the host name is still checked.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_node.certs.ca))
    good = f"amqps://guest:guest@localhost:{tls_node.tls_port}/%2F"
    with EchoClient.connect(good, queue="leveret.tls.none"):
        pass
    mismatch = f"amqps://guest:guest@localhost:{tls_node.tls_port}/%2F"
    error, _ = _refused(
        lambda: EchoClient.connect(mismatch, tls=leveret.TLS(server_hostname="elsewhere.example")),
        caplog,
    )
    assert "Hostname mismatch" in str(error), error


def test_tls_to_a_plain_port_fails_fast(
    tls_node: TLSNode, tls: leveret.TLS, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"amqp://someone:{PASSWORD}@localhost:{tls_node.amqp_port}/%2F"
    error, seconds = _refused(lambda: EchoClient.connect(url, tls=tls, connect_timeout=5), caplog)
    assert seconds < 6
    assert "TLS" in str(error), error
    _assert_no_password(error, caplog)


def _connect(side: str, url: str, tls: leveret.TLS, queue: str) -> object:
    def client() -> None:
        EchoClient.connect(url, tls=tls, queue=queue).close()

    def async_client() -> None:
        async def main() -> None:
            client = await AsyncEchoClient.connect(url, tls=tls, queue=queue)
            await client.close()

        asyncio.run(main())

    def worker() -> None:
        leveret.Worker(Echo(), url=url, tls=tls, queue=queue).start(timeout=20).stop()

    return {"client": client, "async client": async_client, "worker": worker}[side]


# -- bad TLS settings: refused before anything connects ------------------------------------------


def test_a_key_without_a_certificate_is_a_configuration_error(tmp_path: Path) -> None:
    key = tmp_path / "client.key"
    key.write_text("not used")
    with pytest.raises(leveret.ConfigurationError, match="key_file without cert_file"):
        leveret.TLS(key_file=key)


@pytest.mark.parametrize("option", ["ca_file", "cert_file"])
def test_a_missing_file_is_a_configuration_error_at_connect_and_worker(
    tmp_path: Path, option: str
) -> None:
    tls = leveret.TLS(**{option: tmp_path / "missing.pem"})  # type: ignore[arg-type]
    url = "amqp://guest:guest@127.0.0.1:1/%2F"  # never reached: the check comes first
    with pytest.raises(leveret.ConfigurationError, match=r"missing\.pem'?: no such file"):
        EchoClient.connect(url, tls=tls)
    with pytest.raises(leveret.ConfigurationError, match="no such file"):
        asyncio.run(_async_connect(url, tls))
    with pytest.raises(leveret.ConfigurationError, match="no such file"):
        leveret.Worker(Echo(), url=url, tls=tls)


async def _async_connect(url: str, tls: leveret.TLS) -> None:
    client = await AsyncEchoClient.connect(url, tls=tls)
    await client.close()


def test_a_certificate_that_is_not_pem_is_a_configuration_error(tmp_path: Path) -> None:
    cert = tmp_path / "client.pem"
    cert.write_text("not a certificate")
    with pytest.raises(leveret.ConfigurationError, match="cannot use it"):
        leveret.Worker(Echo(), url="amqp://127.0.0.1:1/", tls=leveret.TLS(cert_file=cert))


def test_tls_with_memory_is_a_configuration_error() -> None:
    with pytest.raises(leveret.ConfigurationError, match="memory://"):
        leveret.Worker(Echo(), url="memory://", tls=leveret.TLS())


def test_tls_and_ssl_options_in_the_url_are_refused(tls_node: TLSNode, tls: leveret.TLS) -> None:
    options = quote(repr({"cafile": str(tls_node.certs.ca)}))
    url = f"{tls_node.tls_url()}?ssl_options={options}"
    with pytest.raises(leveret.ConfigurationError, match="not both"):
        EchoClient.connect(url, tls=tls)


def test_the_repr_names_files_only(tls_node: TLSNode, client_tls: leveret.TLS) -> None:
    client_tls.ssl_context()
    assert repr(client_tls).startswith("TLS(ca_file=")
    assert "SSLContext" not in repr(client_tls)
    assert client_tls == leveret.TLS(
        ca_file=tls_node.certs.ca,
        cert_file=tls_node.certs.client_cert,
        key_file=tls_node.certs.client_key,
    )


# -- the command line ------------------------------------------------------------------------


def test_serve_with_tls_flags(tls_node: TLSNode, tls: leveret.TLS, tls_queue: str) -> None:
    serve = Serve(tls_node.tls_url(), tls_queue, "--tls-ca", str(tls_node.certs.ca))
    try:
        serve.wait_for("serving")
        with EchoClient.connect(tls_node.tls_url(), tls=tls, queue=tls_queue) as client:
            assert client.echo(text="served over tls").text == "served over tls"
    finally:
        serve.kill()


def test_serve_with_a_client_certificate_logs_in_with_external(
    tls_node: TLSNode, tls: leveret.TLS, cert_user: str, tls_queue: str
) -> None:
    certs = tls_node.certs
    serve = Serve(
        tls_node.tls_url(user=None),
        tls_queue,
        "--tls-ca",
        str(certs.ca),
        "--tls-cert",
        str(certs.client_cert),
        "--tls-key",
        str(certs.client_key),
    )
    try:
        serve.wait_for("serving")
        with EchoClient.connect(tls_node.tls_url(), tls=tls, queue=tls_queue) as client:
            assert client.echo(text="x").text == "x"
        rows = tls_node.ctl("list_consumers", "queue_name", "channel_pid", "-q")
        assert tls_queue in rows
    finally:
        serve.kill()


def leveret_call(url: str, queue: str, *options: str) -> subprocess.CompletedProcess[str]:
    """``leveret call`` of calculator's add; the URL in AMQP_URL, the way to pass a password."""
    return run_call(
        "add", '{"a": 1, "b": 2}', "--queue", queue, "--timeout", "10", *options,
        env={"AMQP_URL": url},
    )  # fmt: skip


@pytest.fixture(scope="module")
def calculator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    yield from calculator_package(tmp_path_factory.mktemp("tls-calculator"))


def _adder(calculator: ModuleType) -> Any:
    class Calculator(calculator.CalculatorServicer):  # type: ignore[misc, name-defined]
        def add(self, request: Any, context: leveret.CallContext) -> Any:
            return calculator.Result(value=request.a + request.b)

        def divide(self, request: Any, context: leveret.CallContext) -> Any:
            raise NotImplementedError

        def sum(self, request: Any, context: leveret.CallContext) -> Any:
            raise NotImplementedError

    return Calculator()


def test_call_with_tls_flags(
    tls_node: TLSNode, tls: leveret.TLS, cert_user: str, calculator: ModuleType, tls_queue: str
) -> None:
    certs = tls_node.certs
    with leveret.Worker(_adder(calculator), url=tls_node.tls_url(), tls=tls, queue=tls_queue):
        with_ca = leveret_call(tls_node.tls_url(), tls_queue, "--tls-ca", str(certs.ca))
        by_certificate = leveret_call(
            tls_node.tls_url(user=None),
            tls_queue,
            "--tls-ca",
            str(certs.ca),
            "--tls-cert",
            str(certs.client_cert),
            "--tls-key",
            str(certs.client_key),
        )
        wrong_ca = leveret_call(
            tls_node.tls_url("someone", PASSWORD), tls_queue, "--tls-ca", str(certs.other_ca)
        )
    assert with_ca.returncode == 0, with_ca.stderr
    assert json.loads(with_ca.stdout) == {"value": 3.0}
    assert by_certificate.returncode == 0, by_certificate.stderr
    assert json.loads(by_certificate.stdout) == {"value": 3.0}
    assert wrong_ca.returncode == 1
    error = json.loads(wrong_ca.stderr)
    assert error["code"] == "UNAVAILABLE"
    assert "certificate verify failed" in error["message"], error
    assert PASSWORD not in wrong_ca.stdout + wrong_ca.stderr


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--tls-key", "KEY"], "--tls-key needs --tls-cert"),
        (["--tls-ca", "MISSING"], "no such file"),
        (["--tls-cert", "MISSING"], "no such file"),
    ],
)
@pytest.mark.parametrize("command", ["serve", "call"])
def test_bad_tls_flags_are_usage_errors(
    tls_node: TLSNode, command: str, flags: list[str], says: str, tmp_path: Path
) -> None:
    values = {"KEY": str(tls_node.certs.client_key), "MISSING": str(tmp_path / "nope.pem")}
    flags = [values.get(flag, flag) for flag in flags]
    url = tls_node.tls_url()
    if command == "serve":
        args = ["serve", "tests.support.echo:Echo", "--url", url, *flags]
    else:
        args = ["call", "schemas/calculator.yaml", "add", '{"a": 1, "b": 2}', "--url", url]
        args += flags
    proc = subprocess.run(
        [sys.executable, "-m", "leveret", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr, proc.stderr
