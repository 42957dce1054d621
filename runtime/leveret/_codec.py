"""Turning models into bodies and back, with validation on both sides of the wire.

Wire input is validated in pydantic's strict JSON mode so that a body means what the JSON Schema
says (``"2"`` is not an integer); arguments from Python callers in its strict Python mode, so that
the client refuses what the server would (no ``"2"`` for a number, no ``True`` for an integer).
JSON has no NaN or infinity: neither side sends one, nor accepts one (docs/wire-protocol.md).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from leveret._errors import (
    ORIGIN_LOCAL,
    Internal,
    InvalidArgument,
    RpcError,
    error_class_for,
    mark,
)
from leveret._spec import MethodSpec
from leveret._status import StatusCode
from leveret._wire import STATUS_OK, ErrorPayload, Reply, decode_error, encode_error
from leveret.schema import clean_errors

__all__ = [
    "decode_reply",
    "decode_request",
    "encode_arguments",
    "encode_exception",
    "encode_result",
    "find_non_finite",
    "find_unsendable",
    "loads_finite",
    "validate_arguments",
    "validation_details",
]

ResponseT = TypeVar("ResponseT", bound=BaseModel)


#: How many validation errors an error reply lists; the rest are only counted. A request can
#: carry a million unknown keys in 14 MB, and a reply listing each (about ten times the size)
#: would be over the broker's max_message_size: bounded, a hostile request cannot amplify.
MAX_LISTED_ERRORS = 100


def _first_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """The first :data:`MAX_LISTED_ERRORS` errors (``loc``, ``msg``, ``type``).

    pydantic cannot list only some errors, and ``errors()`` builds a dict for each: for a
    million it takes seconds of CPU and a gigabyte. Its JSON rendering costs a tenth of that,
    so for many errors the first ones are read off it, one JSON value at a time."""
    if exc.error_count() <= MAX_LISTED_ERRORS:
        return [
            dict(err)
            for err in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
    text = exc.json(include_url=False, include_input=False, include_context=False)
    decoder = json.JSONDecoder()
    errors: list[dict[str, Any]] = []
    index = 1  # past the opening "["
    while len(errors) < MAX_LISTED_ERRORS:
        error, index = decoder.raw_decode(text, index)
        errors.append(error)
        index += 1  # past the ","
    return errors


#: Characters kept of a location part (a property name the sender chose) and of a message:
#: the error reply stays small whatever the request holds (no reflection amplified).
_MAX_LOC = 64
_MAX_MSG = 200


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _more(exc: ValidationError) -> int:
    return max(0, exc.error_count() - MAX_LISTED_ERRORS)


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Validation errors as JSON: where and what, without echoing the offending input back.

    At most :data:`MAX_LISTED_ERRORS` of them, then one entry of type ``too_many_errors``
    saying how many more there are."""
    details = [
        {
            "loc": [_clip(str(part), _MAX_LOC) for part in err["loc"]],
            "msg": _clip(err["msg"], _MAX_MSG),
            "type": err["type"],
        }
        for err in clean_errors(_first_errors(exc))
    ]
    more = _more(exc)
    if more:
        details.append(
            {"loc": [], "msg": f"... and {more} more error(s)", "type": "too_many_errors"}
        )
    return details


def validate_arguments(
    method: MethodSpec[Any, Any], arguments: Mapping[str, object]
) -> tuple[BaseModel, bytes]:
    """A caller's arguments as the request model and its body; ``InvalidArgument`` (nothing is
    sent) when they are not what the server would accept.

    Strict, as the server's check of the wire: each value must already be of its field's type
    (``int`` or ``float`` for a number, never ``"2"``; no ``True`` for an integer), nested
    objects as dicts or model instances, formats as their objects or their strings. A value
    JSON cannot carry (NaN, an infinity, a string with a lone surrogate) is refused too. The
    error says it never left (``never_sent``, origin local)."""
    try:
        model = method.request.model_validate(arguments, strict=True)
    except ValidationError as exc:
        raise mark(
            _invalid(f"{method.name}: request failed validation", exc), ORIGIN_LOCAL
        ) from None
    found = find_unsendable(model)
    if found is not None:
        path, why = found
        kind = "finite_number" if why is NOT_FINITE_ARGUMENT else "json_invalid"
        details = [{"loc": list(path), "msg": why, "type": kind}]
        raise mark(
            InvalidArgument(
                f"{method.name}: request failed validation: {_summary(details)}", details
            ),
            ORIGIN_LOCAL,
        )
    try:
        body: bytes = model.model_dump_json(by_alias=True).encode()
    except (ValueError, UnicodeError) as exc:  # a lone surrogate: not UTF-8, not JSON text
        raise mark(
            InvalidArgument(
                f"{method.name}: request failed validation: (body): cannot be sent as JSON: {exc}",
                [{"loc": [], "msg": f"cannot be sent as JSON: {exc}", "type": "json_invalid"}],
            ),
            ORIGIN_LOCAL,
        ) from None
    return model, body


def encode_arguments(method: MethodSpec[Any, Any], arguments: Mapping[str, object]) -> bytes:
    """Validate a caller's arguments and encode the request; nothing is sent when this raises."""
    return validate_arguments(method, arguments)[1]


#: What a body that uses NaN, Infinity or -Infinity is told: JSON has no such numbers, though
#: Python's and pydantic's readers accept them.
NON_FINITE = "NaN, Infinity and -Infinity are not JSON numbers"


def non_finite(body: bytes) -> str | None:
    """Where a body uses a NaN or Infinity token, or None. Bodies without those letters (almost
    every one) cost two substring scans; the others are parsed once more, strictly."""
    if b"NaN" not in body and b"Infinity" not in body:
        return None
    try:
        from_json(body, allow_inf_nan=False)
    except ValueError as strict:
        try:
            from_json(body, allow_inf_nan=True)
        except ValueError:
            return None  # not JSON for another reason: validation says so
        return f"{NON_FINITE} ({strict})"
    return None  # the letters were inside strings


#: A number too large for a double (``1e400``, 400 digits) reads as infinity. It has an
#: exponent of three digits or more, or an integer part of at least 210 digits (309 digits in
#: all, less at most 99 from a two-digit exponent). Only a body that has either (rarely, and
#: never one of ordinary numbers) has its validated model searched for an infinity. Found in a
#: copy of the body with every digit made ``0``, ``E`` made ``e`` and signs left out (so
#: ``1E+400`` is ``0e000``; a negative exponent is harmless, searched for nothing): a few C
#: passes over the body, where a regular expression would take ten times as long.
_DIGITS = bytes.maketrans(b"0123456789E", b"0000000000e")
_LONG_RUN = b"0" * 210


def _maybe_huge(body: bytes) -> bool:
    plain = body.translate(_DIGITS, b"+-")
    # rfind: its search compares the needle's first byte first, and "e" is rare.
    return plain.rfind(b"e000") >= 0 or _LONG_RUN in plain


#: What a number too large for a double is told.
TOO_LARGE = "a number too large for a double (it would read as infinity)"
#: What a caller passing NaN or an infinity is told.
NOT_FINITE_ARGUMENT = "NaN and infinities cannot be sent: JSON has no such numbers"
#: What a handler returning NaN or an infinity is told (in the server's log; the caller gets
#: INTERNAL).
NOT_FINITE_RESULT = "NaN or an infinity, which JSON cannot carry"


def find_non_finite(value: object, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The location (by alias) of the first NaN or infinity in a validated model or parsed JSON,
    ``()`` for the whole, or None. Walks models (their extra properties too), dicts, lists and
    tuples."""
    return _find(value, _not_finite, path)


def find_unsendable(value: object) -> tuple[tuple[str, ...], str] | None:
    """Where a caller's validated arguments hold what JSON cannot carry to a leveret server, and
    why: NaN, an infinity, or an integer too long for JSON readers (pydantic's included)."""
    path = _find(value, _unsendable, ())
    if path is None:
        return None
    item: Any = value
    for key in path:  # the reason, from the one value found
        item = (
            item[int(key)]
            if isinstance(item, list | tuple)
            else item[key]
            if isinstance(item, dict)
            else _attribute(item, key)
        )
    return path, NOT_FINITE_ARGUMENT if _not_finite(item) else TOO_MANY_DIGITS


def _attribute(model: BaseModel, key: str) -> object:
    for name, field in type(model).model_fields.items():
        if (field.alias or name) == key:
            return model.__dict__[name]
    return (model.__pydantic_extra__ or {})[key]


def _unsendable(value: object) -> bool:
    return _not_finite(value) or (
        type(value) is int and value.bit_length() > _MAX_INT_BITS and abs(value) >= _TOO_LONG
    )


def _not_finite(value: object) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


#: An integer of more digits than this is "number out of range" to pydantic's JSON reader (and
#: to Python's ``int()`` of a string): 4300 digits, Python's default limit.
MAX_INTEGER_DIGITS: Final = 4300
# Integers of at most this many bits are below 10**4300 (the exact comparison only for the rare
# longer one).
_MAX_INT_BITS: Final = 14284
_TOO_LONG: Final = 10**MAX_INTEGER_DIGITS
#: What a caller passing a longer integer is told.
TOO_MANY_DIGITS = f"an integer of more than {MAX_INTEGER_DIGITS} digits, which JSON readers refuse"


def _find(
    value: object, bad: Callable[[object], bool], path: tuple[str, ...]
) -> tuple[str, ...] | None:
    if bad(value):
        return path
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        for name, item in value.__dict__.items():
            field = fields.get(name)
            key = field.alias if field is not None and field.alias else name
            found = _find(item, bad, (*path, key))
            if found is not None:
                return found
        for name, item in (value.__pydantic_extra__ or {}).items():
            found = _find(item, bad, (*path, name))
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _find(item, bad, (*path, str(key)))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _find(item, bad, (*path, str(index)))
            if found is not None:
                return found
    return None


def _received_non_finite(body: bytes, model: BaseModel | None) -> list[dict[str, Any]] | None:
    """The errors of a received body that has a NaN or Infinity token or a number that reads
    as infinity; None for (almost) every body. ``model`` is the body validated, or None when
    validation failed: the non-finite number is then what the caller is told about (validation
    would name a consequence, ``int_from_float`` for ``1e400`` in an integer, say)."""
    where = non_finite(body)
    if where is not None:
        return [{"loc": [], "msg": where, "type": "json_invalid"}]
    if _maybe_huge(body):
        # In the model (a typed place), else anywhere in the body: a property the schema
        # ignores is still a number JSON cannot hold.
        path = None if model is None else find_non_finite(model)
        if path is None:
            try:
                path = find_non_finite(from_json(body))
            except ValueError:
                return None  # not JSON for another reason: validation says so
        if path is not None:
            return [{"loc": list(path), "msg": TOO_LARGE, "type": "finite_number"}]
    return None


def loads_finite(body: bytes) -> Any:
    """A received body's JSON, read as strictly as the typed paths read it: ``ValueError`` for
    a NaN or Infinity token and for a number that reads as infinity (``1e400``)."""
    try:
        value = from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        where = non_finite(body)
        raise ValueError(where or f"Invalid JSON: {exc}") from None
    if _maybe_huge(body):
        path = find_non_finite(value)
        if path is not None:
            raise ValueError(f"{'.'.join(path) or '(body)'}: {TOO_LARGE}")
    return value


def decode_request(method: MethodSpec[Any, Any], body: bytes) -> BaseModel:
    """The request model of a body; raises :class:`InvalidArgument` with the validation errors."""
    try:
        request: BaseModel = method.request.model_validate_json(body, strict=True)
    except ValidationError as exc:
        _refuse_received_non_finite(method, body, None)
        raise _invalid(f"{method.name}: request failed validation", exc) from None
    _refuse_received_non_finite(method, body, request)
    return request


def _refuse_received_non_finite(
    method: MethodSpec[Any, Any], body: bytes, request: BaseModel | None
) -> None:
    details = _received_non_finite(body, request)
    if details is not None:
        raise InvalidArgument(
            f"{method.name}: request failed validation: {_summary(details)}", details
        )


def encode_result(method: MethodSpec[Any, Any], result: object) -> bytes:
    """The body of an OK reply. A handler returning the wrong thing is the server's bug.

    The body is checked as the caller's client will check it (strictly, from JSON): a model
    instance can hold what its schema forbids (``model_construct``, a field assigned after
    validation, a value its own serialisation changes), and an OK reply must be a valid one."""
    if not isinstance(result, method.response):
        if not isinstance(result, Mapping):
            raise TypeError(
                f"handler of {method.name!r} returned {type(result).__name__}, "
                f"expected {method.response.__name__}"
            )
        result = method.response.model_validate(result)
    assert isinstance(result, BaseModel)
    body = result.model_dump_json(by_alias=True).encode()
    # pydantic writes NaN and infinities as null (or, by a model's ser_json_inf_nan, as
    # NaN/Infinity, bare or quoted): where the body has one of those, look for them.
    if b"null" in body or b"NaN" in body or b"Infinity" in body:
        _refuse_non_finite(f"handler of {method.name!r} returned", result)
    try:
        method.response.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise ValueError(
            f"handler of {method.name!r} returned a response its schema refuses: "
            f"{_summary(validation_details(exc))}"
        ) from None
    return body


def _refuse_non_finite(what: str, model: BaseModel) -> None:
    path = find_non_finite(model)
    if path is not None:
        where = ".".join(path) or "(body)"
        raise ValueError(f"{what} {where} = {NOT_FINITE_RESULT}")


def encode_exception(exc: RpcError) -> bytes:
    """The body of an error reply; ``ValueError`` for details JSON cannot carry (NaN...)."""
    details = exc.details
    if isinstance(details, BaseModel):
        _refuse_non_finite(f"the details of {type(exc).__name__}:", details)
        details = details.model_dump(mode="json", by_alias=True)
    return encode_error(ErrorPayload(exc.status, exc.message, exc.error_name, details))


@functools.cache
def _declared(method: MethodSpec[Any, Any]) -> dict[str, type[RpcError]]:
    return {cls.error_name: cls for cls in method.errors if cls.error_name}


def decode_reply(method: MethodSpec[Any, ResponseT], reply: Reply) -> ResponseT:
    """The response model of an OK reply, or raise the exception the reply stands for."""
    if reply.status == STATUS_OK:
        try:
            response = method.response.model_validate_json(reply.body, strict=True)
        except ValidationError as exc:
            details = validation_details(exc)
            raise Internal(
                f"{method.name}: response failed validation: {_summary(details)}", details
            ) from None
        refused = _received_non_finite(reply.body, response)
        if refused is not None:
            raise Internal(
                f"{method.name}: response failed validation: {_summary(refused)}", refused
            )
        return response
    raise error_from_payload(method, decode_error(reply.status, reply.body))


def error_from_payload(method: MethodSpec[Any, Any], payload: ErrorPayload) -> RpcError:
    declared = _declared(method).get(payload.error) if payload.error else None
    if declared is not None:
        model = declared.details_model
        if model is None:
            return declared._from_wire(payload.message, None)
        # A NaN or an infinity (NaN, Infinity or 1e400 on the wire) does not fit any schema, as
        # in an OK body: the details stay raw, under the status's own class.
        if find_non_finite(payload.details) is None:
            try:
                # Strictly and from JSON, as requests and responses are: lax validation of the
                # parsed dict would turn "7" into 7 and accept what a response may not carry.
                details = model.model_validate_json(json.dumps(payload.details), strict=True)
                return declared._from_wire(payload.message, details)
            except ValidationError:
                pass  # a newer server's details; keep the status and the raw details
    code = StatusCode.UNKNOWN if payload.code is StatusCode.OK else payload.code
    error = error_class_for(code)._from_wire(payload.message, payload.details)
    error.remote_error = payload.error
    return error


def _invalid(what: str, exc: ValidationError) -> InvalidArgument:
    details = validation_details(exc)
    return InvalidArgument(f"{what}: {_summary(details)}", details)


def _summary(details: list[dict[str, Any]]) -> str:
    """One line of the errors :func:`validation_details` lists (so as many, at most)."""
    parts = []
    for err in details:
        if err["type"] == "too_many_errors":
            parts.append(err["msg"])
            continue
        loc = ".".join(err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)
