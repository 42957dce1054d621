"""``leveret.TLS``: how to check the broker's certificate and which one to present.

Only the standard library here: the transport (``leveret._amqp``) turns the context into
pika's options.
"""

from __future__ import annotations

import os
import ssl
import threading
from dataclasses import dataclass, field
from typing import NoReturn

from leveret._errors import ConfigurationError

__all__ = ["TLS", "check_tls"]


@dataclass(frozen=True)
class TLS:
    """TLS for a connection to RabbitMQ: given as ``tls=`` to ``connect`` or ``Worker``.

    The broker's certificate is always verified, and its name checked against the host of the
    URL (or ``server_hostname``). ``ca_file`` (PEM) is the CA to trust instead of the system's
    CAs. ``cert_file`` and ``key_file`` (PEM; the key may be in ``cert_file``, and must not be
    encrypted) are the client certificate to present: with one, and no password in the URL,
    the client logs in with EXTERNAL (the broker takes the user name from the certificate).

    ``tls=`` with an ``amqp://`` URL turns TLS on for that connection; the port is the URL's as
    given (5672 when it names none, so name the broker's TLS port, usually 5671, or use
    ``amqps://``, whose default port is 5671). The files are read once, when the client or
    worker is created.
    """

    ca_file: str | os.PathLike[str] | None = None
    cert_file: str | os.PathLike[str] | None = None
    key_file: str | os.PathLike[str] | None = None
    server_hostname: str | None = None
    _context: list[ssl.SSLContext] = field(
        default_factory=list, init=False, repr=False, compare=False, hash=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for name in ("ca_file", "cert_file", "key_file"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str | os.PathLike):
                raise ConfigurationError(f"TLS {name} must be a path, not {value!r}")
        if self.server_hostname is not None and (
            not isinstance(self.server_hostname, str) or not self.server_hostname
        ):
            raise ConfigurationError(
                f"TLS server_hostname must be a host name, not {self.server_hostname!r}"
            )
        if self.key_file is not None and self.cert_file is None:
            raise ConfigurationError(
                "TLS key_file without cert_file: give the client certificate too"
            )

    @property
    def client_certificate(self) -> bool:
        """Whether a client certificate is presented (and EXTERNAL may be used)."""
        return self.cert_file is not None

    def ssl_context(self) -> ssl.SSLContext:
        """The context for connections: verifies the broker's certificate and name, and
        presents the client certificate if there is one. Built once; raises
        :class:`ConfigurationError` for a file that is missing or unreadable."""
        with self._lock:
            if not self._context:
                self._context.append(self._build())
            return self._context[0]

    def _build(self) -> ssl.SSLContext:
        ca = _path(self.ca_file, "ca_file")
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            _bad("ca_file", ca, exc)
        # Spelled out, although they are the default context's: leveret never connects without
        # checking whom it talks to.
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        if self.cert_file is not None:
            cert = _path(self.cert_file, "cert_file")
            assert cert is not None
            key = _path(self.key_file, "key_file")
            try:
                # An encrypted key would make OpenSSL prompt on the terminal: a worker would
                # hang at start. The callback refuses instead.
                context.load_cert_chain(cert, key, password=_no_password)
            except (OSError, ssl.SSLError) as exc:
                _bad("cert_file/key_file", f"{cert}, {key or cert}", exc)
        return context


def _path(value: str | os.PathLike[str] | None, name: str) -> str | None:
    if value is None:
        return None
    path = os.fspath(value)
    if not os.path.isfile(path):
        raise ConfigurationError(f"TLS {name} {path!r}: no such file")
    return path


def _no_password() -> NoReturn:
    raise ConfigurationError("the key is encrypted; leveret.TLS needs an unencrypted key file")


def _bad(name: str, path: str | None, exc: BaseException) -> NoReturn:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    raise ConfigurationError(f"TLS {name} {path!r}: cannot use it ({reason})") from exc


def check_tls(tls: TLS | None, url: str) -> TLS | None:
    """``tls`` checked for a connection to ``url``, its files read: :class:`ConfigurationError`
    before anything connects if they cannot be used."""
    if tls is None:
        return None
    if not isinstance(tls, TLS):
        raise ConfigurationError(f"tls must be a leveret.TLS, not {type(tls).__name__}")
    if url.startswith("memory:"):
        raise ConfigurationError("tls= needs an amqp:// or amqps:// URL, not memory://")
    tls.ssl_context()
    return tls
