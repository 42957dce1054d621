"""Python names derived from definition names, and the names generated code cannot use.

Every name of the IR is computed here, once, so the builder, the checks and the templates agree.
"""

from __future__ import annotations

import builtins
import keyword
import re
import sys
from typing import Final

__all__ = [
    "RESERVED_CLIENT_PARAMETERS",
    "RESERVED_METHOD_NAMES",
    "RESERVED_MODULE_NAMES",
    "RESERVED_PACKAGES",
    "STATUS_CLASSES",
    "pascal_case",
    "python_field_name",
    "reserved_reason",
]

#: Status code name -> runtime exception class (``leveret.<class>``). OK is not an error status.
STATUS_CLASSES: Final[dict[str, str]] = {
    "CANCELLED": "Cancelled",
    "UNKNOWN": "Unknown",
    "INVALID_ARGUMENT": "InvalidArgument",
    "DEADLINE_EXCEEDED": "DeadlineExceeded",
    "NOT_FOUND": "NotFound",
    "ALREADY_EXISTS": "AlreadyExists",
    "PERMISSION_DENIED": "PermissionDenied",
    "RESOURCE_EXHAUSTED": "ResourceExhausted",
    "FAILED_PRECONDITION": "FailedPrecondition",
    "ABORTED": "Aborted",
    "OUT_OF_RANGE": "OutOfRange",
    "UNIMPLEMENTED": "Unimplemented",
    "INTERNAL": "Internal",
    "UNAVAILABLE": "Unavailable",
    "DATA_LOSS": "DataLoss",
    "UNAUTHENTICATED": "Unauthenticated",
}

# What generated modules import or define besides the definition's own names. A type, error or
# hoisted model with one of these names would shadow the import (or be renamed by
# datamodel-code-generator, which breaks the names the IR promises).
_IMPORTED: Final = frozenset(
    {
        # pydantic and the models' imports
        "AnyUrl",
        "AwareDatetime",
        "BaseModel",
        "ConfigDict",
        "EmailStr",
        "Field",
        "MISSING",
        "RootModel",
        "UUID",
        # typing, typing_extensions, enum, collections.abc
        "Annotated",
        "Any",
        "Callable",
        "ClassVar",
        "Enum",
        "Final",
        "Generic",
        "IntEnum",
        "Literal",
        "Mapping",
        "Optional",
        "Protocol",
        "Self",
        "Sequence",
        "StrEnum",
        "TypeAlias",
        "TypeAliasType",
        "TypeVar",
        "Union",
    }
)
# leveret's public names (``leveret.__all__``): generated modules import many of them unqualified.
_RUNTIME: Final = frozenset(
    {
        "DEFAULT",
        "AsyncClient",
        "AsyncServicer",
        "CallContext",
        "Client",
        "ConfigurationError",
        "LeveretError",
        "MethodSpec",
        "RpcError",
        "ServiceSpec",
        "Servicer",
        "StatusCode",
        "Timeout",
        "UseDefault",
        *STATUS_CLASSES.values(),
    }
)
# Upper-case builtins (exception classes, True/None ...): shadowing them in a generated module
# would change what the rest of that module means.
_BUILTINS: Final = frozenset(name for name in dir(builtins) if name[:1].isupper())

#: Module-level names a definition may not take: type, error and hoisted model names. (The
#: generated ``SERVICE`` constant and class names are claimed per service by the builder.)
RESERVED_MODULE_NAMES: Final = _IMPORTED | _RUNTIME | _BUILTINS

#: Attributes of the runtime's client and servicer bases that a generated method would override.
#: Names the runtime's clients and servicers define: ``authorize`` is the servicer's
#: authorization hook (issue 10), which a handler of that name would silently replace.
RESERVED_METHOD_NAMES: Final = frozenset({"aclose", "authorize", "close", "connect", "service"})

#: Parameters of every generated client method besides the request's properties.
RESERVED_CLIENT_PARAMETERS: Final = frozenset({"self", "timeout"})

# Field names pydantic's BaseModel uses itself; datamodel-code-generator renames such fields.
_PYDANTIC_RESERVED: Final = frozenset(
    {"copy", "dict", "json", "schema", "model_config", "model_fields", "construct", "validate"}
)
_NOT_IDENTIFIER: Final = re.compile(r"\W", re.ASCII)


def pascal_case(snake: str) -> str:
    """``get_book`` -> ``GetBook``: the prefix of a method's hoisted request/response models."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def python_field_name(name: str) -> str:
    """The attribute name datamodel-code-generator gives property ``name`` (the wire name is the
    alias): ``first-name`` -> ``first_name``, ``1st`` -> ``field_1st``, ``_id`` -> ``field_id``,
    ``class`` -> ``class_``. Used to find properties that would collide as attributes.
    """
    text = _NOT_IDENTIFIER.sub("_", name) or "field"
    if text[0].isdigit():
        text = "field_" + text
    elif text.startswith("_"):
        text = "field" + text
    if keyword.iskeyword(text) or text in _PYDANTIC_RESERVED:
        text += "_"
    return text


#: Packages a generated package must not be named after: it would shadow them on ``sys.path``.
RESERVED_PACKAGES: Final = frozenset(
    {"annotated_types", "email_validator", "leveret", "leveret_codegen", "pika", "pydantic"}
    | {"typing_extensions"}
    | set(sys.stdlib_module_names)
)


def reserved_reason(name: str) -> str | None:
    """Why a module-level name is unavailable to a definition, or None when it is free."""
    if name in _RUNTIME:
        return "a leveret runtime name the generated code imports"
    if name in _IMPORTED:
        return "a name the generated models import"
    if name in _BUILTINS:
        return "a Python builtin"
    return None
