"""The intermediate model between the definition and the templates.

Frozen dataclasses of tuples and strings; every name is computed once, by the builder, so the
templates only loop over fields. No back-pointers, no properties with side effects.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ErrorDef", "MethodDef", "ServiceDef"]


@dataclass(frozen=True, slots=True)
class ErrorDef:
    """A declared error: a generated exception class subclassing the runtime class of its status."""

    name: str  # PascalCase; the generated class name and the wire "error" field
    status: str  # status code name, e.g. "FAILED_PRECONDITION"
    status_class: str  # runtime exception class of that status, e.g. "FailedPrecondition"
    description: str
    details_type: str | None  # model class of the details ($defs name), None without details


@dataclass(frozen=True, slots=True)
class MethodDef:
    name: str  # wire name: the AMQP ``type`` property
    python_name: str  # client and servicer method name
    const_name: str  # module-level MethodSpec constant, e.g. "RESERVE"
    description: str
    request_type: str  # model class name of the request ($defs name)
    response_type: str  # model class name of the response ($defs name)
    errors: tuple[str, ...]  # declared error names, in definition order
    timeout: float | None  # default deadline in seconds; None: no deadline
    idempotent: bool
    fingerprint: str = ""  # "sha256:<hex>" of the method's wire contract (``_contract``)


@dataclass(frozen=True, slots=True)
class ServiceDef:
    """One definition file with a service: everything needed to generate its package."""

    source: str  # path of the definition relative to the working directory, posix style
    package: str  # Python package name of the generated code
    service: str  # PascalCase service name
    version: str
    description: str
    queue: str
    client_class: str  # "<Service>Client"
    async_client_class: str  # "Async<Service>Client"
    servicer_class: str  # "<Service>Servicer"
    async_servicer_class: str  # "Async<Service>Servicer"
    methods: tuple[MethodDef, ...]
    errors: tuple[ErrorDef, ...]
    # JSON text of a JSON Schema document whose "$defs" hold every model of the package, in
    # definition order: the definition's types, hoisted inline request/response/details schemas
    # and the types it references in other files; every "$ref" rewritten to "#/$defs/<Name>".
    models_schema: str
    queue_type: str = "classic"  # type of the request queue: "classic" or "quorum"
    # The self-contained definition document as compact JSON (``_definition``): what the
    # worker answers ``leveret.describe`` with; and the service's contract fingerprint.
    definition: str = ""
    fingerprint: str = ""
