"""Base classes of generated servicers: one abstract method per definition method."""

from __future__ import annotations

import abc
from typing import ClassVar

from leveret._spec import ServiceSpec

__all__ = ["AsyncServicer", "Servicer"]


class Servicer(abc.ABC):
    """Base of generated sync servicers; handlers run on worker threads.

    Subclass the generated ``<Service>Servicer`` and implement every method. A handler receives the
    validated request model and a :class:`~leveret.CallContext`, and returns the response model or
    raises a declared error.
    """

    service: ClassVar[ServiceSpec]


class AsyncServicer(abc.ABC):
    """Base of generated asyncio servicers; handlers are coroutines on the worker's event loop."""

    service: ClassVar[ServiceSpec]
