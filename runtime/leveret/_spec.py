"""Method and service specs: what generated code hands the runtime, computed once at import."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final, Generic, TypeAlias, TypeVar

from pydantic import BaseModel

from leveret._errors import RpcError

__all__ = ["DEFAULT", "MethodSpec", "ServiceSpec", "Timeout", "UseDefault"]

# Covariant, so a MethodSpec[ReserveRequest, Reservation] is a MethodSpec[BaseModel, BaseModel].
RequestT = TypeVar("RequestT", bound=BaseModel, covariant=True)
ResponseT = TypeVar("ResponseT", bound=BaseModel, covariant=True)


class UseDefault(enum.Enum):
    """Type of :data:`DEFAULT`: "use the method's default timeout", as opposed to ``None``."""

    DEFAULT = "DEFAULT"

    def __repr__(self) -> str:
        return "leveret.DEFAULT"


#: Sentinel for a per-call ``timeout``: use the method's default from the definition.
DEFAULT: Final = UseDefault.DEFAULT

#: A per-call timeout: seconds (more than 0, at most ``leveret._wire.MAX_TIMEOUT``, about 49
#: days), ``None`` for no deadline, or :data:`DEFAULT`. Anything else is a ``ConfigurationError``.
Timeout: TypeAlias = float | UseDefault | None


@dataclass(frozen=True, slots=True)
class MethodSpec(Generic[RequestT, ResponseT]):
    """One method of a service, as the definition declares it.

    ``name`` is the wire name (the AMQP ``type`` property); ``python_name`` the attribute of the
    servicer that handles it.
    """

    name: str
    python_name: str
    request: type[RequestT]
    response: type[ResponseT]
    errors: tuple[type[RpcError], ...] = ()
    timeout: float | None = None
    idempotent: bool = False
    #: A stable hash of the method's wire contract (name, request, response, declared errors),
    #: computed by the generator; sent in ``rpc-fingerprint`` to detect drift. None: not sent.
    fingerprint: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A service: its name, its request queue (and the queue's type) and its methods by wire
    name."""

    name: str
    queue: str
    methods: tuple[MethodSpec[BaseModel, BaseModel], ...]
    package: str = ""
    version: str = ""
    by_name: dict[str, MethodSpec[BaseModel, BaseModel]] = field(
        init=False, repr=False, compare=False
    )
    #: Type of the request queue workers declare: ``"classic"`` or ``"quorum"``.
    queue_type: str = "classic"
    #: The definition as one self-contained JSON document (cross-file ``$ref``s inlined), what
    #: a worker answers ``leveret.describe`` with; None: the service cannot describe itself.
    definition: str | None = None
    #: A stable hash of the whole wire contract (see :attr:`MethodSpec.fingerprint`).
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {m.name: m for m in self.methods})
