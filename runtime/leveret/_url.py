"""Where to connect: the URL argument, else ``AMQP_URL``, else the local broker."""

from __future__ import annotations

import os
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DEFAULT_URL", "is_memory", "redact", "resolve_url", "split_urls"]

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"


def resolve_url(url: str | Sequence[str] | None) -> str:
    """One string naming the broker(s): several addresses of a cluster are comma-separated."""
    if url is not None and not isinstance(url, str):
        return ",".join(url)
    return url or os.environ.get("AMQP_URL") or DEFAULT_URL


def split_urls(url: str) -> list[str]:
    """The addresses in a resolved URL string, in the order to try them."""
    return [part.strip() for part in url.split(",") if part.strip()]


def is_memory(url: str) -> bool:
    return url.startswith("memory:")


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
