"""Where to connect: the URL argument, else ``AMQP_URL``, else the local broker."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from leveret._errors import ConfigurationError

__all__ = ["DEFAULT_URL", "check_url", "is_memory", "redact", "resolve_url", "split_urls"]

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"

_SCHEMES = ("amqp", "amqps")

#: A 'user:' after a ',' or '/', then a password up to an '@'.
_MORE_USERINFO = re.compile(r"([,/][^,/:@]*:)[^,/@]*@")

#: A comma followed by a scheme starts another address.
_SEPARATOR = re.compile(r",(?=\s*[A-Za-z][A-Za-z0-9+.-]*://)")


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
            raise ConfigurationError(f"bad AMQP URL {redact(part)!r}: {problem}")
    # pika's own checks too (its query options, ``?heartbeat=abc``), without connecting: a
    # worker refuses to start, a supervisor to start children that would crash-loop on it.
    from leveret._amqp._connection import check_parameters

    for part in parts:
        check_parameters(part)
    return url


def _problem(address: str) -> str | None:
    if "://" not in address:
        return f"no scheme; did you mean amqp://{redact(address)}?"
    try:
        parts = urlsplit(address)
    except ValueError as exc:  # "Invalid IPv6 URL" for an unclosed [
        return f"not a URL ({exc})"
    if parts.scheme not in _SCHEMES:
        hint = "amqp://HOST:5672 (or amqps:// for TLS)"
        if parts.scheme in ("http", "https") and parts.hostname:
            # Most often the management UI's address (port 15672), which is not the broker's.
            hint = f"amqp://{parts.hostname}:5672"
        return f"{parts.scheme}:// is not AMQP; did you mean {hint}?"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError as exc:
        if "out of range" in str(exc):
            return str(exc)
        # Not urlsplit's text: it quotes what it took for the port, which may be part of a
        # password with an unescaped '/'.
        return "the port is not a number " + _ESCAPE_HINT
    if "@" in parts.path or "@" in parts.query:
        return "an '@' after the host " + _ESCAPE_HINT
    return None


_ESCAPE_HINT = (
    "(escape '/', '?', '#', '@' in a password as %2F, %3F, %23, %40, and separate the "
    "addresses of a cluster with ',amqp://')"
)


def split_urls(url: str) -> list[str]:
    """The addresses in a resolved URL string, in the order to try them.

    Commas separate them, except in a password (RFC 3986 allows ',' there, and pika takes it):
    a comma followed by a scheme always separates; any other comma separates only when no '@'
    follows it in the same address (a host has none, so one that does is inside a password,
    which may hold '@' and ',' both)."""
    return [part.strip() for part in _addresses(url) if part.strip()]


def _addresses(url: str) -> list[str]:
    """Split ``url`` at its separating commas, leaving everything else as it is."""
    addresses = []
    for chunk in _SEPARATOR.split(url):
        begin = 0
        for index, char in enumerate(chunk):
            if char == "," and "@" not in chunk[index + 1 :]:
                addresses.append(chunk[begin:index])
                begin = index + 1
        addresses.append(chunk[begin:])
    return addresses


def is_memory(url: str) -> bool:
    return url.startswith("memory:")


def redact(url: str) -> str:
    """The URL without its passwords, for messages and logs: each address of a cluster's."""
    return ",".join(_redact_one(part) for part in _addresses(url))


def _redact_one(address: str) -> str:
    """One address without its password; with or without a scheme, and whether or not it
    parses: a URL that fails its checks is shown in the error message."""
    start = address.find("://")
    start = 0 if start < 0 else start + 3
    end = len(address)
    for mark in "/?#":
        found = address.find(mark, start)
        if found >= 0:
            end = min(end, found)
    at = address.rfind("@", start, end)
    if at < 0:
        # No '@' in the authority, but perhaps a password with an unescaped '/', '?' or '#'
        # in it that ended the authority early: mask up to the last '@' then.
        at = address.rfind("@", start)
    colon = address.find(":", start, at) if at >= 0 else -1
    if colon >= 0:
        address = f"{address[: colon + 1]}***{address[at:]}"
    # A 'user:password@' further on: another address that a ',' inside a password kept
    # together with this one.
    return _MORE_USERINFO.sub(r"\1***@", address)
