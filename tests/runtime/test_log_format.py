"""The formatters of leveret/_logging.py: per-call fields, tracebacks, masked passwords."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from leveret._logging import CALL_FIELDS, JsonFormatter, TextFormatter, configure

CALL: dict[str, Any] = {
    "service": "shop.Inventory",
    "method": "reserve",
    "correlation_id": "c0ffee",
    "status": "NOT_FOUND",
    "duration_ms": 1.25,
    "attempt": 2,
    "caller": "shop.Checkout",
}


def _record(message: str, *args: object, exc: bool = False, **extra: object) -> logging.LogRecord:
    exc_info = sys.exc_info() if exc else None
    record = logging.LogRecord(
        "leveret.worker", logging.WARNING, __file__, 1, message, args, exc_info
    )
    record.__dict__.update(extra)
    return record


def test_json_has_the_base_keys_and_the_call_fields_it_is_given() -> None:
    entry = json.loads(JsonFormatter().format(_record("handled %s", "reserve", **CALL)))
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "leveret.worker"
    assert entry["message"] == "handled reserve"
    assert entry["time"].endswith("Z")
    assert {key: entry[key] for key in CALL_FIELDS} == CALL


def test_json_leaves_out_call_fields_that_are_not_known() -> None:
    entry = json.loads(JsonFormatter().format(_record("x", service="s", caller=None)))
    assert entry["service"] == "s"
    assert "caller" not in entry and "method" not in entry


def test_json_keeps_a_traceback_in_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        line = JsonFormatter().format(_record("failed", exc=True))
    assert "\n" not in line
    entry = json.loads(line)
    assert "ValueError: boom" in entry["exception"]


def test_a_field_that_is_not_json_still_makes_a_line() -> None:
    entry = json.loads(JsonFormatter().format(_record("x", status=object())))
    assert entry["status"].startswith("<object object")


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()])
def test_a_password_in_a_url_is_masked(formatter: logging.Formatter) -> None:
    line = formatter.format(
        _record("cannot reach %s or %s", "amqp://app:s3cr%40t@h:5672/v", "amqps://u:p@h2/")
    )
    assert "s3cr" not in line and ":p@" not in line
    assert "amqp://app:***@h:5672/v" in line and "amqps://u:***@h2/" in line


def test_text_puts_the_call_fields_after_the_message_and_before_a_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        text = TextFormatter().format(_record("handler failed", exc=True, **CALL))
    first, _, rest = text.partition("\n")
    assert first.endswith(
        "handler failed service=shop.Inventory method=reserve correlation_id=c0ffee "
        "status=NOT_FOUND duration_ms=1.25 attempt=2 caller=shop.Checkout"
    )
    assert rest.startswith("Traceback")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    pika_level = logging.getLogger("pika").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("pika").setLevel(pika_level)


@pytest.mark.usefixtures("restore_logging")
def test_configure_json_at_a_level() -> None:
    stream = io.StringIO()
    configure("json", "WARNING", stream=stream)
    logging.getLogger("leveret.worker").info("left out")
    logging.getLogger("leveret.worker").warning("kept", extra={"service": "s"})
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["kept"]
    assert json.loads(lines[0])["service"] == "s"
    assert logging.getLogger("pika").level == logging.CRITICAL
