"""The installed leveret's version, as its package metadata says."""

from __future__ import annotations

import functools
import importlib.metadata

__all__ = ["leveret_version"]


@functools.cache
def leveret_version() -> str | None:
    """The version, or None when leveret runs from a source tree without metadata."""
    try:
        return importlib.metadata.version("leveret")
    except importlib.metadata.PackageNotFoundError:
        return None
