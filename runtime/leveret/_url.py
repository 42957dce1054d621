"""Where to connect: the URL argument, else ``AMQP_URL``, else the local broker."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

__all__ = ["DEFAULT_URL", "is_memory", "redact", "resolve_url"]

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"


def resolve_url(url: str | None) -> str:
    return url or os.environ.get("AMQP_URL") or DEFAULT_URL


def is_memory(url: str) -> bool:
    return url.startswith("memory:")


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
