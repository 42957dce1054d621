"""leveret's exceptions. Callers handle one family, whether the failure was remote or local.

::

    LeveretError                    base of everything leveret raises
    ├── ConfigurationError          bad URL, bad option: a programming error, not a call failure
    └── RpcError                    a call failed; ``.status``, ``.message``, ``.details``
        ├── Cancelled               CANCELLED
        ├── Unknown                 UNKNOWN: a reply leveret could not classify
        ├── InvalidArgument         INVALID_ARGUMENT: request failed validation (client or server)
        ├── DeadlineExceeded        DEADLINE_EXCEEDED: no reply before the deadline
        ├── NotFound                NOT_FOUND
        ├── AlreadyExists           ALREADY_EXISTS
        ├── PermissionDenied        PERMISSION_DENIED
        ├── ResourceExhausted       RESOURCE_EXHAUSTED
        ├── FailedPrecondition      FAILED_PRECONDITION
        ├── Aborted                 ABORTED
        ├── OutOfRange              OUT_OF_RANGE
        ├── Unimplemented           UNIMPLEMENTED: the server has no such method
        ├── Internal                INTERNAL: handler crashed, or a reply failed validation
        ├── Unavailable             UNAVAILABLE: no route, no connection, broker refused
        ├── DataLoss                DATA_LOSS
        └── Unauthenticated         UNAUTHENTICATED

Declared errors of a definition are generated as subclasses of the class of their status
(``class OutOfStock(FailedPrecondition)``), so ``except FailedPrecondition`` also catches them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from leveret._status import StatusCode

__all__ = [
    "Aborted",
    "AlreadyExists",
    "Cancelled",
    "ConfigurationError",
    "DataLoss",
    "DeadlineExceeded",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "LeveretError",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "RpcError",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "error_class_for",
]


ORIGIN_REMOTE = "remote"
ORIGIN_LOCAL = "local"
ORIGIN_NO_ROUTE = "no-route"
ORIGIN_NACK = "nack"
ORIGIN_LOST = "lost"
ORIGIN_REFUSED = "refused"
ORIGIN_NO_CONSUMER = "no-consumer"


def mark(error: RpcError, origin: str) -> RpcError:
    """Record where a transport-made error came from (and whether it never reached a queue)."""
    error._origin = origin
    error.never_sent = origin in (ORIGIN_LOCAL, ORIGIN_NO_ROUTE, ORIGIN_NACK, ORIGIN_NO_CONSUMER)
    return error


class LeveretError(Exception):
    """Base of every exception leveret raises."""


class ConfigurationError(LeveretError):
    """A bad URL, option or servicer: fix the code or the configuration."""


class RpcError(LeveretError):
    """A call failed with a status code.

    ``details`` is the declared error's typed details model, the list of validation errors for
    ``INVALID_ARGUMENT``, or ``None``.
    """

    status: ClassVar[StatusCode] = StatusCode.UNKNOWN
    #: Name of the declared error in the definition; ``None`` for the plain status classes.
    error_name: ClassVar[str | None] = None
    #: Model of the declared error's details; ``None`` when it has none.
    details_model: ClassVar[type[BaseModel] | None] = None

    message: str
    details: Any
    #: The declared error name a server reported, also when this client does not know it.
    remote_error: str | None
    #: True when the request certainly never reached a queue (no route, publisher nack, no
    #: connection): retrying is then safe for any method, idempotent or not.
    never_sent: bool

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.remote_error = self.error_name
        self.never_sent = False
        # Where a failure came from, for the retry policy and the circuit breaker:
        # ORIGIN_REMOTE (a reply), ORIGIN_LOCAL (nothing was published: no connection, or an
        # open breaker), ORIGIN_NO_ROUTE (returned: no such queue), ORIGIN_NACK (refused by the
        # broker), ORIGIN_LOST (the connection died with the call in flight) or ORIGIN_REFUSED
        # (the broker closed the channel over the request itself, e.g. 406 PRECONDITION_FAILED:
        # sending it again can only fail again, so it is never retried) or ORIGIN_NO_CONSUMER
        # (not sent: the queue exists but no worker consumes it, and the caller did not ask to
        # wait for one).
        self._origin = ORIGIN_REMOTE

    @classmethod
    def _from_wire(cls, message: str, details: Any) -> RpcError:
        # Declared errors take their details as keyword arguments in __init__; a reply already
        # carries a validated details object, so bypass that signature.
        error = cls.__new__(cls)
        RpcError.__init__(error, message, details)
        return error

    def __str__(self) -> str:
        return f"{self.status.name}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class Cancelled(RpcError):
    status = StatusCode.CANCELLED


class Unknown(RpcError):
    status = StatusCode.UNKNOWN


class InvalidArgument(RpcError):
    status = StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(RpcError):
    status = StatusCode.DEADLINE_EXCEEDED


class NotFound(RpcError):
    status = StatusCode.NOT_FOUND


class AlreadyExists(RpcError):
    status = StatusCode.ALREADY_EXISTS


class PermissionDenied(RpcError):
    status = StatusCode.PERMISSION_DENIED


class ResourceExhausted(RpcError):
    status = StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(RpcError):
    status = StatusCode.FAILED_PRECONDITION


class Aborted(RpcError):
    status = StatusCode.ABORTED


class OutOfRange(RpcError):
    status = StatusCode.OUT_OF_RANGE


class Unimplemented(RpcError):
    status = StatusCode.UNIMPLEMENTED


class Internal(RpcError):
    status = StatusCode.INTERNAL


class Unavailable(RpcError):
    status = StatusCode.UNAVAILABLE


class DataLoss(RpcError):
    status = StatusCode.DATA_LOSS


class Unauthenticated(RpcError):
    status = StatusCode.UNAUTHENTICATED


_BY_STATUS: dict[StatusCode, type[RpcError]] = {
    cls.status: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def error_class_for(status: StatusCode) -> type[RpcError]:
    """The plain exception class of a status (``UNKNOWN`` for ``OK``, which is not an error)."""
    return _BY_STATUS.get(status, Unknown)
