"""Where to connect: the URL argument, else ``AMQP_URL``, else the local broker."""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from leveret._errors import ConfigurationError

__all__ = ["DEFAULT_URL", "check_url", "is_memory", "redact", "resolve_url", "split_urls"]

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"

_SCHEMES = ("amqp", "amqps")


def resolve_url(url: str | Sequence[str] | None) -> str:
    """One string naming the broker(s): several addresses of a cluster are comma-separated.

    Raises :class:`ConfigurationError` for an address that is not an AMQP URL, before anything
    connects (pika would take ``http://`` for plain AMQP and fail on ``host:port`` with an
    ``IndexError``)."""
    if url is not None and not isinstance(url, str):
        url = ",".join(url)
    resolved = url or os.environ.get("AMQP_URL") or DEFAULT_URL
    check_url(resolved)
    return resolved


def check_url(url: str) -> str:
    """``url`` itself if every address in it is ``amqp://``, ``amqps://`` or ``memory:``."""
    if is_memory(url):
        return url
    parts = split_urls(url)
    if not parts:
        raise ConfigurationError(f"bad AMQP URL {url!r}: no address in it")
    for part in parts:
        problem = _problem(part)
        if problem:
            raise ConfigurationError(f"bad AMQP URL {_redact_any(part)!r}: {problem}")
    return url


def _problem(address: str) -> str | None:
    if "://" not in address:
        return f"no scheme; did you mean amqp://{_redact_any(address)}?"
    parts = urlsplit(address)
    if parts.scheme not in _SCHEMES:
        hint = "amqp://HOST:5672 (or amqps:// for TLS)"
        if parts.scheme in ("http", "https") and parts.hostname:
            # Most often the management UI's address (port 15672), which is not the broker's.
            hint = f"amqp://{parts.hostname}:5672"
        return f"{parts.scheme}:// is not AMQP; did you mean {hint}?"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as exc:
        return str(exc)
    return None


def _redact_any(address: str) -> str:
    """:func:`redact` for an address that may lack its scheme (``user:pass@host``)."""
    if "://" in address:
        return redact(address)
    return redact("amqp://" + address).removeprefix("amqp://")


def split_urls(url: str) -> list[str]:
    """The addresses in a resolved URL string, in the order to try them."""
    return [part.strip() for part in url.split(",") if part.strip()]


def is_memory(url: str) -> bool:
    return url.startswith("memory:")


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if password is None:
        return url
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
