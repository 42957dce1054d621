"""A RabbitMQ node of the test suite's own, with a TLS listener, for the TLS and secrets tests.

The node is ``lvtls@localhost``: plain AMQP on 127.0.0.1:5692, TLS on 127.0.0.1:5691, Erlang
distribution on 127.0.0.1:25692, with ``verify_peer`` (a client certificate is checked when one is
sent, but not required) and the ``rabbitmq_auth_mechanism_ssl`` plugin, so that a client
certificate's common name logs in with EXTERNAL. Its certificates are made for each run with
``trustme`` in a temporary folder, which also holds the node's database and logs; the node is
stopped and the folder removed at the end of the session, whatever happened.

It is started the way ``.ci/cluster.sh`` starts its nodes (an empty ``RABBITMQ_CONF_ENV_FILE``
hides the main node's name, the distribution port stays on loopback), but in the foreground, as
a child of the test process: the test process owns it and can always end it. It never touches
the main broker on 5672, nor the cluster's ports 5681-5683.

Without RabbitMQ installed the tests that use it are skipped, unless ``LEVERET_REQUIRE_BROKER=1``,
which makes a node that cannot start a failure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["TLSNode", "tls_node"]

RMQ_BIN = Path(os.environ.get("RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
NODE_NAME = "lvtls@localhost"
HOST = "127.0.0.1"
AMQP_PORT = 5692
TLS_PORT = 5691
DIST_PORT = 25692
#: Bounds every wait: the node starts in about 4 s on the shared 2-core machine.
START_TIMEOUT = 60.0
CTL_TIMEOUT = 60.0


@dataclass(frozen=True)
class Certs:
    """The run's certificate files (PEM): the node's CA, the node's own, a client's whose
    common name is ``client_cn``, and a CA that signed none of them."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_cn: str
    other_ca: Path


class TLSNode:
    """The running node: its addresses, certificates and ``rabbitmqctl``."""

    amqp_port = AMQP_PORT
    tls_port = TLS_PORT

    def __init__(self, base: Path, certs: Certs) -> None:
        self.base = base
        self.certs = certs
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds = 0.0

    def url(self, user: str = "guest", password: str = "guest") -> str:
        """Plain AMQP (no TLS) on the node's own port."""
        return f"amqp://{user}:{password}@{HOST}:{AMQP_PORT}/%2F"

    def tls_url(self, user: str | None = "guest", password: str | None = "guest") -> str:
        """``amqp://`` to the TLS port (``tls=`` turns TLS on); no userinfo with ``user=None``."""
        auth = "" if user is None else f"{user}:{password}@" if password is not None else f"{user}@"
        return f"amqp://{auth}localhost:{TLS_PORT}/%2F"

    # -- the node's environment and CLI -------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": os.path.expanduser("~"),  # the CLI reads the cookie of who started the node
            "RABBITMQ_NODENAME": NODE_NAME,
            "RABBITMQ_NODE_IP_ADDRESS": HOST,
            "RABBITMQ_NODE_PORT": str(AMQP_PORT),
            "RABBITMQ_DIST_PORT": str(DIST_PORT),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "lvtls.pid"),
            "ERL_EPMD_ADDRESS": HOST,
            # Or the distribution port binds every interface.
            "ERL_FLAGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def ctl(self, *args: str) -> str:
        """``rabbitmqctl -n lvtls@localhost ARGS``; fails the test on an error."""
        proc = subprocess.run(
            [str(RMQ_BIN / "rabbitmqctl"), "-n", NODE_NAME, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=CTL_TIMEOUT,
        )
        if proc.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(args)}: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def add_user(self, name: str, password: str | None = None) -> None:
        """A user with every permission on ``/``; without ``password``, one that can log in
        only with EXTERNAL (a certificate)."""
        if password is None:
            self.ctl("add_user", name, "unused-password")
            self.ctl("clear_password", name)
        else:
            self.ctl("add_user", name, password)
        self.ctl("set_permissions", "-p", "/", name, ".*", ".*", ".*")

    # -- start and stop -----------------------------------------------------------------------

    def write_config(self) -> None:
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq/rabbitmq-env.conf
        (self.base / "advanced.config").write_text("[].\n")
        (self.base / "enabled_plugins").write_text("[rabbitmq_auth_mechanism_ssl].\n")
        certs = self.certs
        (self.base / "rabbitmq.conf").write_text(
            f"""\
listeners.tcp.local = {HOST}:{AMQP_PORT}
listeners.ssl.local = {HOST}:{TLS_PORT}
ssl_options.cacertfile = {certs.ca}
ssl_options.certfile = {certs.server_cert}
ssl_options.keyfile = {certs.server_key}
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = AMQPLAIN
auth_mechanisms.3 = EXTERNAL
ssl_cert_login_from = common_name
# A small shared machine: keep the free-disk and memory alarms out of the tests' way.
disk_free_limit.absolute = 50MB
vm_memory_high_watermark.relative = 0.4
"""
        )

    def start(self) -> None:
        for port in (AMQP_PORT, TLS_PORT, DIST_PORT):
            if _port_open(port):
                raise RuntimeError(f"port {port} is in use: cannot start {NODE_NAME}")
        self.write_config()
        log = (self.base / "log" / "startup.log").open("wb")
        # Foreground, in a session of its own: the script stops the node on SIGTERM, and
        # killing the session's group ends whatever is left.
        self.proc = subprocess.Popen(
            [str(RMQ_BIN / "rabbitmq-server")],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        # Both listeners open means the boot got past the point where RabbitMQ starts them,
        # which it does last (after the plugins and the database).
        while not (_port_open(AMQP_PORT) and _port_open(TLS_PORT)):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{NODE_NAME} exited ({self.proc.returncode}):\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{NODE_NAME} did not start in {START_TIMEOUT} s:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        lines: list[str] = []
        for path in sorted((self.base / "log").glob("*.log")):
            with contextlib.suppress(OSError):
                lines += [f"== {path.name}", *path.read_text(errors="replace").splitlines()[-40:]]
        return "\n".join(lines)

    def stop(self) -> None:
        """Stop the node: SIGTERM (the script runs ``rabbitmqctl stop``), then SIGKILL to its
        whole process group if it is still there after a bounded wait."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), 0.5):
            return True
    except OSError:
        return False


def make_certs(folder: Path) -> Certs:
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("localhost", HOST, common_name="localhost")
    client_cn = "lvtls-cert-user"
    client = ca.issue_cert("client.leveret.test", common_name=client_cn)
    other = trustme.CA()
    certs = Certs(
        ca=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        client_cert=folder / "client.pem",
        client_key=folder / "client.key",
        client_cn=client_cn,
        other_ca=folder / "other-ca.pem",
    )
    ca.cert_pem.write_to_path(str(certs.ca))
    server.cert_chain_pems[0].write_to_path(str(certs.server_cert))
    server.private_key_pem.write_to_path(str(certs.server_key))
    client.cert_chain_pems[0].write_to_path(str(certs.client_cert))
    client.private_key_pem.write_to_path(str(certs.client_key))
    other.cert_pem.write_to_path(str(certs.other_ca))
    return certs


# Shared by every module that imports the fixture: pytest keeps one instance of a session
# fixture per module that defines (imports) it, so the node itself is counted here, started
# by the first and stopped by the last.
_users = 0
_node: TLSNode | None = None


@pytest.fixture(scope="session")
def tls_node() -> Iterator[TLSNode]:
    global _node, _users
    if _node is None:
        _node = _start_node()
    _users += 1
    try:
        yield _node
    finally:
        _users -= 1
        if _users == 0:
            node, _node = _node, None
            _remove(node)


def _start_node() -> TLSNode:
    if not (RMQ_BIN / "rabbitmq-server").exists():
        message = f"RabbitMQ is not installed ({RMQ_BIN}/rabbitmq-server)"
        if os.environ.get("LEVERET_REQUIRE_BROKER") == "1":
            pytest.fail(f"{message} and LEVERET_REQUIRE_BROKER=1: no TLS node", pytrace=False)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="leveret-tls-node-"))
    node = TLSNode(base, make_certs(base))
    started = time.monotonic()
    try:
        node.start()
    except BaseException as exc:
        log = node.log()
        _remove(node)
        # A failure, never a skip: a node that cannot start hides every TLS test otherwise.
        pytest.fail(f"cannot start the TLS node {NODE_NAME}: {exc}\n{log}", pytrace=False)
    node.startup_seconds = time.monotonic() - started
    return node


def _remove(node: TLSNode) -> None:
    try:
        node.stop()
    finally:
        shutil.rmtree(node.base, ignore_errors=True)
