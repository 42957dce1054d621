"""Turning models into bodies and back, with validation on both sides of the wire.

Wire input is validated in pydantic's strict JSON mode so that a body means what the JSON Schema
says (``"2"`` is not an integer); arguments from Python callers are validated in lax mode.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from leveret._errors import Internal, InvalidArgument, RpcError, error_class_for
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


def encode_arguments(method: MethodSpec[Any, Any], arguments: Mapping[str, object]) -> bytes:
    """Validate a caller's arguments and encode the request; nothing is sent when this raises."""
    try:
        model = method.request.model_validate(arguments)
    except ValidationError as exc:
        raise _invalid(f"{method.name}: request failed validation", exc) from None
    body: bytes = model.model_dump_json(by_alias=True).encode()
    return body


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


def decode_request(method: MethodSpec[Any, Any], body: bytes) -> BaseModel:
    """The request model of a body; raises :class:`InvalidArgument` with the validation errors."""
    try:
        request: BaseModel = method.request.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise _invalid(f"{method.name}: request failed validation", exc) from None
    where = non_finite(body)
    if where is not None:
        raise InvalidArgument(
            f"{method.name}: request failed validation: (body): {where}",
            [{"loc": [], "msg": where, "type": "json_invalid"}],
        )
    return request


def encode_result(method: MethodSpec[Any, Any], result: object) -> bytes:
    """The body of an OK reply. A handler returning the wrong thing is the server's bug."""
    if not isinstance(result, method.response):
        if not isinstance(result, Mapping):
            raise TypeError(
                f"handler of {method.name!r} returned {type(result).__name__}, "
                f"expected {method.response.__name__}"
            )
        result = method.response.model_validate(result)
    assert isinstance(result, BaseModel)
    return result.model_dump_json(by_alias=True).encode()


def encode_exception(exc: RpcError) -> bytes:
    details = exc.details
    if isinstance(details, BaseModel):
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
        where = non_finite(reply.body)
        if where is not None:
            raise Internal(
                f"{method.name}: response failed validation: (body): {where}",
                [{"loc": [], "msg": where, "type": "json_invalid"}],
            )
        return response
    raise error_from_payload(method, decode_error(reply.status, reply.body))


def error_from_payload(method: MethodSpec[Any, Any], payload: ErrorPayload) -> RpcError:
    declared = _declared(method).get(payload.error) if payload.error else None
    if declared is not None:
        model = declared.details_model
        if model is None:
            return declared._from_wire(payload.message, None)
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
