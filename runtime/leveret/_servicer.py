"""Base classes of generated servicers: one abstract method per definition method."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from leveret._context import CallContext
from leveret._spec import MethodSpec, ServiceSpec

__all__ = ["AsyncServicer", "Servicer"]


class _Authorize:
    def authorize(self, method: MethodSpec[Any, Any], context: CallContext) -> None:
        """Decide whether ``context.caller`` may call ``method``: return to allow, raise to
        refuse (:class:`~leveret.PermissionDenied` answers ``PERMISSION_DENIED``, any other
        status error its status, anything else ``INTERNAL``).

        Runs for every request once its method is known and before its body is decoded, so
        that a refused caller learns nothing from validation errors and costs no parsing; the
        request, middleware and handler never see a refused call. It runs on the worker's
        event loop thread: keep it fast, with no I/O (look a role up in a dict loaded at
        start, not in a database). Not overridden: nothing runs. See docs/security.md,
        "Authorization".
        """


class Servicer(_Authorize, abc.ABC):
    """Base of generated sync servicers; handlers run on worker threads.

    Subclass the generated ``<Service>Servicer`` and implement every method. A handler receives the
    validated request model and a :class:`~leveret.CallContext`, and returns the response model or
    raises a declared error. Override :meth:`authorize` to refuse callers.
    """

    service: ClassVar[ServiceSpec]


class AsyncServicer(_Authorize, abc.ABC):
    """Base of generated asyncio servicers; handlers are coroutines on the worker's event loop.

    :meth:`authorize` is a plain method here too (not a coroutine): it runs on the loop.
    """

    service: ClassVar[ServiceSpec]
