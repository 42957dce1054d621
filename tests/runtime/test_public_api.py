"""The public surface is pinned: adding or removing a name is a deliberate change."""

from __future__ import annotations

import leveret

EXPECTED = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert leveret.__all__ == EXPECTED
    assert leveret.__all__ == sorted(leveret.__all__, key=lambda n: (not n.isupper(), n))


def test_every_exported_name_exists() -> None:
    for name in leveret.__all__:
        assert hasattr(leveret, name), name


def test_every_status_but_ok_has_its_exception_class() -> None:
    from leveret._errors import error_class_for

    for code in leveret.StatusCode:
        if code is leveret.StatusCode.OK:
            continue
        cls = error_class_for(code)
        assert cls.status is code
        assert issubclass(cls, leveret.RpcError)
        assert cls.__name__.lower() == code.name.replace("_", "").lower()


def test_no_exception_shadows_a_builtin() -> None:
    import builtins

    assert not [n for n in leveret.__all__ if hasattr(builtins, n)]


def test_pika_is_imported_in_one_package_only() -> None:
    from pathlib import Path

    root = Path(leveret.__file__).parent
    importers = {
        p.relative_to(root).parts[0]
        for p in root.rglob("*.py")
        if "import pika" in p.read_text() or "from pika" in p.read_text()
    }
    assert importers == {"_amqp"}
