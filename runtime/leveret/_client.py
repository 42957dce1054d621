"""Base classes of generated clients: typed methods in the subclass, one call path here."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel

from leveret._spec import DEFAULT, MethodSpec, ServiceSpec, Timeout

__all__ = ["AsyncClient", "Client"]

ResponseT = TypeVar("ResponseT", bound=BaseModel)


class Client:
    """Base of generated sync clients.

    Thread-safe: share one client between threads; each call is matched to its reply by
    correlation id, and many calls may be in flight on one connection.
    """

    service: ClassVar[ServiceSpec]

    @classmethod
    def connect(cls, url: str | None = None, *, queue: str | None = None) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(
        self,
        method: MethodSpec[Any, ResponseT],
        arguments: Mapping[str, object],
        timeout: Timeout = DEFAULT,
    ) -> ResponseT:
        raise NotImplementedError


class AsyncClient:
    """Base of generated asyncio clients. Safe to share between tasks of one event loop."""

    service: ClassVar[ServiceSpec]

    async def _call(
        self,
        method: MethodSpec[Any, ResponseT],
        arguments: Mapping[str, object],
        timeout: Timeout = DEFAULT,
    ) -> ResponseT:
        raise NotImplementedError
