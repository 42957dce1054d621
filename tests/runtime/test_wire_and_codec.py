"""The wire format and codec, without I/O."""

from __future__ import annotations

import json

import pytest

import leveret
from leveret._codec import decode_reply, encode_arguments, encode_exception
from leveret._wire import ErrorPayload, Reply, Request, decode_error, encode_error, read_deadline
from tests.support.echo import ADD, ECHO, FAIL, TooLoud, TooLoudDetails


def test_request_expiration_is_the_remaining_time_rounded_up() -> None:
    request = Request("q", "m", "cid", b"{}", deadline=100.0)
    assert request.expiration_ms(now=99.0) == "1000"
    assert request.expiration_ms(now=99.9995) == "1"
    assert request.expiration_ms(now=101.0) == "1"  # already late: the broker drops it at once
    assert request.headers() == {"rpc-deadline": 100000, "rpc-attempt": 1}


def test_request_without_deadline_has_no_expiration_and_no_header() -> None:
    request = Request("q", "m", "cid", b"{}", deadline=None)
    assert request.expiration_ms(now=0) is None
    assert request.headers() == {"rpc-attempt": 1}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"rpc-deadline": 1500}, 1.5),
        ({}, None),
        ({"rpc-deadline": "soon"}, None),
        ({"rpc-deadline": True}, None),
        ({"rpc-deadline": "1500"}, None),  # a numeric string is not a number (issue 16)
        ({"rpc-deadline": float("nan")}, None),
        ({"rpc-deadline": float("inf")}, None),
        ({"rpc-deadline": 10**400}, None),
    ],
)
def test_read_deadline(headers: dict[str, object], expected: float | None) -> None:
    assert read_deadline(headers) == expected


def test_error_body_round_trip() -> None:
    payload = ErrorPayload(leveret.StatusCode.NOT_FOUND, "gone", "Missing", {"id": 1})
    body = encode_error(payload)
    assert json.loads(body) == {
        "code": "NOT_FOUND",
        "message": "gone",
        "error": "Missing",
        "details": {"id": 1},
    }
    assert decode_error("NOT_FOUND", body) == payload


def test_error_body_from_a_sloppy_peer_is_read_leniently() -> None:
    assert decode_error("BOGUS", b"oops") == ErrorPayload(leveret.StatusCode.UNKNOWN, "oops")
    assert decode_error("INTERNAL", b"[1]").message == "INTERNAL"


def test_arguments_are_validated_before_encoding() -> None:
    assert json.loads(encode_arguments(ADD, {"a": 1, "b": 2})) == {"a": 1, "b": 2}
    with pytest.raises(leveret.InvalidArgument) as info:
        encode_arguments(ECHO, {"text": 5})
    assert info.value.details == [
        {"loc": ["text"], "msg": "Input should be a valid string", "type": "string_type"}
    ]


def test_ok_reply_is_validated_strictly() -> None:
    assert decode_reply(ADD, Reply("c", "OK", b'{"sum": 3}')).sum == 3
    with pytest.raises(leveret.Internal, match="response failed validation"):
        decode_reply(ADD, Reply("c", "OK", b'{"sum": "3"}'))  # a string is not an integer


def test_declared_error_reply_becomes_the_declared_class() -> None:
    body = encode_exception(TooLoud("loud", limit=7))
    with pytest.raises(TooLoud) as info:
        decode_reply(FAIL, Reply("c", "FAILED_PRECONDITION", body))
    assert info.value.details == TooLoudDetails(limit=7)
    assert info.value.remote_error == "TooLoud"


def test_undeclared_error_name_falls_back_to_the_status_class() -> None:
    body = encode_error(ErrorPayload(leveret.StatusCode.NOT_FOUND, "x", "SomethingNew", {"a": 1}))
    with pytest.raises(leveret.NotFound) as info:
        decode_reply(ADD, Reply("c", "NOT_FOUND", body))
    assert type(info.value) is leveret.NotFound
    assert info.value.remote_error == "SomethingNew"
    assert info.value.details == {"a": 1}


def test_declared_error_with_unparseable_details_keeps_status() -> None:
    body = encode_error(ErrorPayload(leveret.StatusCode.FAILED_PRECONDITION, "x", "TooLoud", {}))
    with pytest.raises(leveret.FailedPrecondition) as info:
        decode_reply(FAIL, Reply("c", "FAILED_PRECONDITION", body))
    assert type(info.value) is leveret.FailedPrecondition


def test_declared_error_details_are_validated_strictly() -> None:
    details = {"limit": "7"}  # lax validation would make it 7
    status = leveret.StatusCode.FAILED_PRECONDITION
    body = encode_error(ErrorPayload(status, "x", "TooLoud", details))
    with pytest.raises(leveret.FailedPrecondition) as info:
        decode_reply(FAIL, Reply("c", "FAILED_PRECONDITION", body))
    assert type(info.value) is leveret.FailedPrecondition
    assert info.value.details == {"limit": "7"}
    assert info.value.remote_error == "TooLoud"


def test_timeout_must_be_a_number() -> None:
    from leveret._client import build_request

    with pytest.raises(leveret.ConfigurationError):
        build_request("q", ADD, {"a": 1, "b": 1}, "soon")  # type: ignore[arg-type]
    with pytest.raises(leveret.ConfigurationError, match="positive"):
        build_request("q", ADD, {"a": 1, "b": 1}, -1.0)
    assert build_request("q", ADD, {"a": 1, "b": 1}, None).deadline is None
    default = build_request("q", ADD, {"a": 1, "b": 1}, leveret.DEFAULT)
    assert default.deadline is not None
