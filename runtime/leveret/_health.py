"""``leveret serve --health-port``: liveness and readiness over HTTP, for probes.

``GET /livez`` answers 200 while the worker's event loop responds, whether or not the broker is
there: a broker outage must not make an orchestrator restart workers that would only reconnect.
``GET /readyz`` answers 200 only while the worker is connected and consuming, 503 otherwise
(connecting, reconnecting, stopping). ``HEAD`` works too; any other path is 404.

The server is the standard library's, on a daemon thread of its own: it answers even while
the worker's loop is busy, which is exactly when /livez must be able to say so.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from leveret._errors import ConfigurationError

__all__ = ["DEFAULT_HOST", "HealthServer", "address", "check_ports", "port_in_use"]

log = logging.getLogger("leveret.health")

#: Kubernetes probes a pod's own IP address, not its loopback: listen on every interface.
DEFAULT_HOST = "0.0.0.0"


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a probe whose client hangs must not keep the process alive

    def __init__(self, address: tuple[str, int], checks: dict[str, Callable[[], bool]]) -> None:
        self.checks = checks
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        check = self.server.checks.get(self.path.split("?", 1)[0])
        if check is None:
            status, text = 404, "not found: try /livez or /readyz\n"
        else:
            try:
                ok = check()
            except Exception:  # a probe must get an answer, and a failed check is a "no"
                log.exception("health check %s failed", self.path)
                ok = False
            status, text = (200, "ok\n") if ok else (503, "not ok\n")
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        # A probe every few seconds would drown the worker's own log at INFO.
        log.debug("%s %s", self.address_string(), format % args)


class HealthServer:
    """Answers ``/livez`` with ``alive()`` and ``/readyz`` with ``ready()`` (200 or 503).

    The port is bound at construction, so that a port in use is an error before the worker
    starts (``ConfigurationError``); :meth:`start` serves it on a daemon thread.
    """

    def __init__(
        self,
        *,
        alive: Callable[[], bool],
        ready: Callable[[], bool],
        port: int,
        host: str = DEFAULT_HOST,
    ) -> None:
        try:
            self._server = _Server((host, port), {"/livez": alive, "/readyz": ready})
        except OSError as exc:
            raise port_in_use("health checks", host, port, exc) from None
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{address(self.host, self.port)}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="leveret-health",
            daemon=True,
        )
        self._thread.start()
        log.info("health checks at %s/livez and %s/readyz", self.url, self.url)

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5.0)
            self._thread = None
        self._server.server_close()


def check_ports(host: str, ports: Iterable[int], what: str = "health checks") -> None:
    """Raise ``ConfigurationError`` unless each port can be listened on now (for a supervisor,
    before it starts the workers that will serve ``what`` on them)."""
    for port in ports:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            # As http.server does: a port in TIME_WAIT after a restart is not "in use".
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise port_in_use(what, host, port, exc) from None


def port_in_use(what: str, host: str, port: int, exc: OSError) -> ConfigurationError:
    return ConfigurationError(
        f"cannot serve {what} on {address(host, port)}: {exc.strerror or exc}"
    )


def address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
