"""Worker options and request/reply bounds checked before anything runs (r2 hardening)."""

from __future__ import annotations

import asyncio
import functools
import json
import math
from collections.abc import Callable
from typing import Any

import pytest

import leveret
from leveret import _cli
from leveret._codec import MAX_LISTED_ERRORS, decode_request, encode_exception
from leveret._dispatch import Call, Dispatcher, Outcome
from leveret._url import check_url, redact, split_urls
from leveret._wire import Delivery
from tests.support.echo import ECHO, SERVICE, AsyncEcho, AsyncEchoServicer, Echo, EchoReply


def _unknown_keys(count: int) -> bytes:
    return b'{"text": "x", ' + b", ".join(b'"k%d": 0' % i for i in range(count)) + b"}"


def _delivery(body: bytes, method: str = "echo") -> Delivery:
    return Delivery(
        body=body,
        method=method,
        correlation_id="cid",
        reply_to="amq.rabbitmq.reply-to.x",
        content_type="application/json",
    )


# -- bounded INVALID_ARGUMENT ------------------------------------------------------------------


def test_a_request_with_many_errors_gets_a_bounded_error() -> None:
    count = 20 * MAX_LISTED_ERRORS
    with pytest.raises(leveret.InvalidArgument) as caught:
        decode_request(ECHO, _unknown_keys(count))
    details = caught.value.details
    assert isinstance(details, list)
    assert len(details) == MAX_LISTED_ERRORS + 1
    assert details[0] == {
        "loc": ["k0"],
        "msg": "Extra inputs are not permitted",
        "type": "extra_forbidden",
    }
    more = count - MAX_LISTED_ERRORS
    assert details[-1] == {
        "loc": [],
        "msg": f"... and {more} more error(s)",
        "type": "too_many_errors",
    }
    message = caught.value.message
    assert message.count("Extra inputs are not permitted") == MAX_LISTED_ERRORS
    assert message.endswith(
        f"k{MAX_LISTED_ERRORS - 1}: Extra inputs are not permitted; ... and {more} more error(s)"
    )
    # The reply is the same size whether the request has 2,000 or 20,000 errors.
    small = len(encode_exception(caught.value))
    with pytest.raises(leveret.InvalidArgument) as bigger:
        decode_request(ECHO, _unknown_keys(10 * count))
    assert len(encode_exception(bigger.value)) - small < 10
    assert small < 20_000


def test_a_few_errors_are_all_listed_as_before() -> None:
    with pytest.raises(leveret.InvalidArgument) as caught:
        decode_request(ECHO, b'{"text": 5, "x": 1}')
    assert caught.value.details == [
        {"loc": ["text"], "msg": "Input should be a valid string", "type": "string_type"},
        {"loc": ["x"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"},
    ]
    assert caught.value.message == (
        "echo: request failed validation: text: Input should be a valid string; "
        "x: Extra inputs are not permitted"
    )


# -- reply size ------------------------------------------------------------------------------


def test_a_reply_over_max_message_size_becomes_resource_exhausted() -> None:
    dispatcher = Dispatcher(SERVICE, Echo(), max_message_size=1000)
    call = dispatcher.accept(_delivery(b'{"text": "hi"}'))
    assert isinstance(call, Call)
    outcome = dispatcher.finish(call, EchoReply(text="x" * 2000))
    assert outcome.ack is True
    assert outcome.reply is not None and outcome.reply.status == "RESOURCE_EXHAUSTED"
    assert outcome.reply.correlation_id == "cid"
    payload = json.loads(outcome.reply.body)
    assert payload["code"] == "RESOURCE_EXHAUSTED"
    size = len(EchoReply(text="x" * 2000).model_dump_json().encode())
    assert f"is {size} bytes, {size - 1000} bytes over" in payload["message"]
    assert len(outcome.reply.body) < 1000
    fits = dispatcher.finish(call, EchoReply(text="x" * 100))
    assert fits.reply is not None and fits.reply.status == "OK"


def test_an_error_reply_over_max_message_size_is_replaced_and_still_rejected() -> None:
    dispatcher = Dispatcher(SERVICE, Echo(), max_message_size=500)
    outcome = dispatcher.accept(_delivery(_unknown_keys(50)))
    assert isinstance(outcome, Outcome)
    assert outcome.ack is False  # a bad request is rejected (dead-lettered), as before
    assert outcome.reply is not None and outcome.reply.status == "RESOURCE_EXHAUSTED"


def test_worker_max_message_size_option() -> None:
    assert leveret.Worker(Echo(), max_message_size=1 << 20).max_message_size == 1 << 20
    assert leveret.Worker(Echo()).max_message_size == 4 * 1024 * 1024
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(leveret.ConfigurationError, match="max_message_size"):
            leveret.Worker(Echo(), max_message_size=bad)  # type: ignore[arg-type]


# -- grace, prefetch -------------------------------------------------------------------------


@pytest.mark.parametrize("grace", [math.inf, 1e300, math.nan, -1.0, -math.inf, "5", True])
def test_grace_must_be_finite_and_not_negative(grace: Any) -> None:
    with pytest.raises(leveret.ConfigurationError, match="grace must be a number of seconds"):
        leveret.Worker(Echo(), grace=grace)


def test_grace_zero_and_ordinary_values_pass() -> None:
    for grace in (0, 0.0, 2.5, 3600):
        assert leveret.Worker(Echo(), grace=grace)._grace == grace


def test_prefetch_over_the_amqp_limit_is_refused() -> None:
    assert leveret.Worker(Echo(), prefetch=65535).prefetch == 65535
    with pytest.raises(leveret.ConfigurationError, match="prefetch must be at most 65535"):
        leveret.Worker(Echo(), prefetch=70000)
    with pytest.raises(leveret.ConfigurationError, match=r"defaults to concurrency \(100000\)"):
        leveret.Worker(AsyncEcho(), concurrency=100000)
    assert leveret.Worker(AsyncEcho(), concurrency=100000, prefetch=100).prefetch == 100


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--grace", "inf"], "grace must be a number of seconds"),
        (["--grace", "nan"], "grace must be a number of seconds"),
        (["--grace", "1e300"], "grace must be a number of seconds"),
        (["--prefetch", "70000"], "prefetch must be at most 65535"),
        (["--max-message-size", "0"], "max_message_size must be a positive int"),
        (["--url", "amqp://127.0.0.1/?heartbeat=abc"], "Invalid heartbeat value 'abc'"),
        (["--url", "amqp://[::1"], "not a URL (Invalid IPv6 URL)"),
        (["--workers", "2", "--url", "amqp://127.0.0.1/?heartbeat=abc"], "heartbeat"),
    ],
)
def test_serve_refuses_bad_options_with_exit_2(
    options: list[str],
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: list[object] = []
    # Options that slip through would start serving: record that instead of blocking.
    monkeypatch.setattr(leveret.Worker, "run", lambda self: served.append(self))
    monkeypatch.setattr("leveret._commands._supervise", lambda args: served.append(args) or 0)
    with pytest.raises(SystemExit) as exited:
        code = _cli.main(["serve", "tests.support.echo:Echo", *options])
        raise SystemExit(code)
    assert exited.value.code == 2
    assert served == []
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_serve_refuses_a_bad_option_in_amqp_url_before_starting_children(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://guest:s3cret@127.0.0.1/?heartbeat=abc")
    started: list[object] = []
    monkeypatch.setattr("leveret._commands._supervise", lambda args: started.append(args) or 0)
    code = _cli.main(["serve", "tests.support.echo:Echo", "--workers", "2"])
    assert code == 2
    assert started == []
    err = capsys.readouterr().err
    assert "Invalid heartbeat value" in err and "s3cret" not in err


# -- URLs ------------------------------------------------------------------------------------


def test_redact_masks_every_address() -> None:
    assert redact("amqp://a:S1@h1/,amqp://b:S2@h2/") == "amqp://a:***@h1/,amqp://b:***@h2/"
    assert redact("amqp://a:S1@h1,amqps://b:S2@h2:5671/v,c:S3@h3") == (
        "amqp://a:***@h1,amqps://b:***@h2:5671/v,c:***@h3"
    )
    assert redact("amqp://h1:5672/%2F,amqp://h2") == "amqp://h1:5672/%2F,amqp://h2"


def test_redact_never_shows_part_of_a_password() -> None:
    for url, shown in [
        ("amqp://guest:s3cr,etPW@127.0.0.1:5672/%2F", "amqp://guest:***@127.0.0.1:5672/%2F"),
        ("amqp://u:pa/ss@h/", "amqp://u:***@h/"),  # an unescaped '/' in the password
        ("amqp://u:s3cret@[::1", "amqp://u:***@[::1"),  # not a URL urlsplit can read
        ("u:s3cret@host:5672", "u:***@host:5672"),
    ]:
        assert redact(url) == shown


def test_a_comma_in_a_password_is_not_an_address_separator() -> None:
    url = "amqp://guest:s3cr,etPW@127.0.0.1:5672/%2F"
    assert split_urls(url) == [url]
    assert check_url(url) == url
    assert split_urls("amqp://u:p,1@h1,amqp://v:p,2@h2") == ["amqp://u:p,1@h1", "amqp://v:p,2@h2"]
    # Commas elsewhere still separate addresses, as before.
    assert split_urls("amqp://a:5672,b:5672") == ["amqp://a:5672", "b:5672"]
    assert split_urls(" amqp://a , amqp://b,") == ["amqp://a", "amqp://b"]


def test_passwords_stay_out_of_url_errors() -> None:
    with pytest.raises(leveret.ConfigurationError) as caught:
        check_url("amqp://u:s3cr,etPW@h:bad,amqp://v:0therPW@h2/")
    assert "s3cr" not in str(caught.value) and "etPW" not in str(caught.value)
    with pytest.raises(leveret.ConfigurationError) as caught:
        check_url("amqp://v:0therPW@h2/?heartbeat=abc")
    assert "0therPW" not in str(caught.value)


def test_an_unclosed_ipv6_bracket_is_a_configuration_error() -> None:
    with pytest.raises(leveret.ConfigurationError, match=r"not a URL \(Invalid IPv6 URL\)"):
        check_url("amqp://[::1")
    with pytest.raises(leveret.ConfigurationError, match="Invalid IPv6 URL"):
        leveret.Worker(Echo(), url="amqp://[::1")


def test_bad_pika_options_fail_the_check() -> None:
    for url in (
        "amqp://h/?heartbeat=abc",
        "amqp://h/?channel_max=x",
        "amqp://a,amqp://h/?frame_max=-5",
    ):
        with pytest.raises(leveret.ConfigurationError, match="bad AMQP URL"):
            check_url(url)
    with pytest.raises(leveret.ConfigurationError, match="heartbeat"):
        leveret.Worker(Echo(), url="amqp://h/?heartbeat=abc")
    assert check_url("amqp://h/?heartbeat=5&connection_attempts=2") == (
        "amqp://h/?heartbeat=5&connection_attempts=2"
    )


# -- async handlers under plain decorators ---------------------------------------------------


def _traced(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


def _untraceable(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # no functools.wraps: nothing to unwrap
        return fn(*args, **kwargs)

    return wrapper


class _Traced(AsyncEcho):
    echo = _traced(AsyncEcho.echo)  # type: ignore[assignment]
    add = _untraceable(AsyncEcho.add)  # type: ignore[assignment]


def test_an_async_servicer_with_decorated_handlers_is_async() -> None:
    dispatcher = Dispatcher(SERVICE, _Traced())
    assert dispatcher.is_async is True
    worker = leveret.Worker(_Traced())
    assert worker.concurrency == 64 and worker.inline is False


def test_a_plain_class_is_what_its_handlers_say_not_what_they_wrap() -> None:
    """A decorator decides by what it returns: a sync wrapper running a coroutine to the end
    (``asyncio.run``, asgiref's ``async_to_sync``) is a sync handler, an async wrapper around
    a sync function (``asyncio.to_thread``) an async one. Unwrapping got both wrong."""

    def async_to_sync(f: Any) -> Any:
        @functools.wraps(f)
        def wrapper(*args: Any) -> Any:
            return asyncio.run(f(*args))

        return wrapper

    def sync_to_async(f: Any) -> Any:
        @functools.wraps(f)
        async def wrapper(*args: Any) -> Any:
            return await asyncio.to_thread(f, *args)

        return wrapper

    class SyncOutside:
        service = SERVICE

        @async_to_sync
        async def echo(self, request: Any, context: Any) -> EchoReply:
            return EchoReply(text=request.text)

        add = fail = echo

    class AsyncOutside:
        service = SERVICE

        @sync_to_async
        def echo(self, request: Any, context: Any) -> EchoReply:
            return EchoReply(text=request.text)

        add = fail = echo

    assert Dispatcher(SERVICE, SyncOutside()).is_async is False
    assert Dispatcher(SERVICE, AsyncOutside()).is_async is True
    assert Dispatcher(SERVICE, AsyncEchoServicer.__new__(_Traced)).is_async is True


def test_serve_help_masks_every_password_of_amqp_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://a:s3cr,et1@h1/%2F,amqp://b:s3cret2@h2/%2F")
    with pytest.raises(SystemExit) as exited:
        _cli.main(["serve", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help text
    assert "amqp://a:***@h1/%2F,amqp://b:***@h2/%2F" in out
    assert "s3cr" not in out and "et1" not in out


def test_handlers_that_unwrap_for_ever_are_taken_as_they_are() -> None:
    from unittest import mock

    class Mocked:
        service = SERVICE

    servicer = Mocked()
    for name in ("echo", "add", "fail"):
        setattr(servicer, name, mock.Mock())  # a Mock's __wrapped__ is another Mock, and so on
    assert Dispatcher(SERVICE, servicer).is_async is False
