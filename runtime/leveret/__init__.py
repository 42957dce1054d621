"""leveret: typed RPC over RabbitMQ. The runtime that generated stubs call into."""

from leveret._backoff import Backoff
from leveret._breaker import BreakerState, CircuitBreaker
from leveret._client import AsyncClient, Client, DynamicClient
from leveret._context import CallContext
from leveret._drift import ContractDrift
from leveret._errors import (
    Aborted,
    AlreadyExists,
    Cancelled,
    ConfigurationError,
    DataLoss,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    LeveretError,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    RpcError,
    Unauthenticated,
    Unavailable,
    Unimplemented,
    Unknown,
)
from leveret._metadata import metadata
from leveret._middleware import CallInfo, Middleware
from leveret._retry import RetryBudget, RetryPolicy
from leveret._servicer import AsyncServicer, Servicer
from leveret._spec import DEFAULT, MethodSpec, ServiceSpec, Timeout, UseDefault
from leveret._status import StatusCode
from leveret._tls import TLS
from leveret._worker import Worker

__all__ = [
    "DEFAULT",
    "TLS",
    "Aborted",
    "AlreadyExists",
    "AsyncClient",
    "AsyncServicer",
    "Backoff",
    "BreakerState",
    "CallContext",
    "CallInfo",
    "Cancelled",
    "CircuitBreaker",
    "Client",
    "ConfigurationError",
    "ContractDrift",
    "DataLoss",
    "DeadlineExceeded",
    "DynamicClient",
    "FailedPrecondition",
    "Internal",
    "InvalidArgument",
    "LeveretError",
    "MethodSpec",
    "Middleware",
    "NotFound",
    "OutOfRange",
    "PermissionDenied",
    "ResourceExhausted",
    "RetryBudget",
    "RetryPolicy",
    "RpcError",
    "ServiceSpec",
    "Servicer",
    "StatusCode",
    "Timeout",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "Unknown",
    "UseDefault",
    "Worker",
    "metadata",
]
