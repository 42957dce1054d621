"""A loopback TCP proxy in front of the broker, that tests cut and restore.

``TcpProxy()`` listens on 127.0.0.1 on a free port and forwards every connection to the broker
(127.0.0.1:5672 by default). ``cut()`` closes every connection it carries and, until
``restore()``, closes each new one as soon as it is accepted, as a broker that went away would.
``url`` is an AMQP URL that goes through the proxy.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

__all__ = ["TcpProxy", "wait_until"]


def free_port() -> int:
    """A loopback port nothing listens on (for an address that refuses connections)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``target``; thread-based; ``close()`` when done."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 5672)) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._cut = False
        self._stall = False
        self._held: list[socket.socket] = []  # connections accepted while stalled
        #: Connections accepted and held unanswered while stalled.
        self.stalled = 0
        self._closed = False
        #: Connections accepted and forwarded so far (each connect of a client counts once).
        self.accepted = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="proxy-accept", daemon=True)
        self._thread.start()

    def url(self, vhost: str = "%2F", user: str = "guest", password: str = "guest") -> str:
        return f"amqp://{user}:{password}@127.0.0.1:{self.port}/{vhost}"

    @property
    def connections(self) -> int:
        """Connections currently open through the proxy."""
        with self._lock:
            return len(self._pairs)

    def cut(self) -> None:
        """Close every connection and refuse new ones until :meth:`restore`."""
        with self._lock:
            self._cut = True
            pairs = list(self._pairs)
            self._pairs.clear()
        for pair in pairs:
            _close_pair(pair)

    def stall(self) -> None:
        """Close every connection; accept new ones but never answer (a broker that hangs)."""
        self.cut()
        with self._lock:
            self._stall = True

    def held_open(self) -> int:
        """Connections held while stalled that their client has not closed (yet)."""
        with self._lock:
            held = list(self._held)
        return sum(1 for sock in held if not _closed_by_peer(sock))

    def restore(self) -> None:
        with self._lock:
            self._cut = self._stall = False
            held, self._held = self._held, []
        for sock in held:
            _close(sock)

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.restore()  # closes the connections held while stalled
        # close() alone does not wake a thread blocked in accept() on Linux; shutdown() does.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- forwarding ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                held = self._stall and not self._closed
                if held:
                    self._held.append(client)
                    self.stalled += 1
                refused = self._cut or self._closed
            if held:
                continue
            if refused:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            pair = (client, upstream)
            with self._lock:
                if self._cut or self._closed:
                    _close_pair(pair)
                    continue
                self._pairs.add(pair)
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(src, dst, pair), name="proxy-pump", daemon=True
                ).start()

    def _pump(
        self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, socket.socket]
    ) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data or not self._relay(src, dst, data, pair):
                    break
        except OSError:
            pass
        with self._lock:
            self._pairs.discard(pair)
        _close_pair(pair)

    def _relay(
        self,
        src: socket.socket,
        dst: socket.socket,
        data: bytes,
        pair: tuple[socket.socket, socket.socket],
    ) -> bool:
        """Pass ``data`` on; False drops the connection. Tests' proxies change what passes
        (``pair[0]`` is the client's socket, ``pair[1]`` the broker's)."""
        dst.sendall(data)
        return True


def _closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other end closed ``sock`` (what it sent before is read and dropped)."""
    sock.setblocking(False)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _close_pair(pair: tuple[socket.socket, socket.socket]) -> None:
    for sock in pair:
        _close(sock)
