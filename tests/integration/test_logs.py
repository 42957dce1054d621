"""``leveret serve --log-format json --log-level LEVEL``: one JSON object a line, on stderr."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pika
import pytest

import leveret
from tests.support.echo import EchoClient
from tests.support.proxy import wait_until
from tests.support.serve import Serve

pytestmark = pytest.mark.integration


def _records(proc: Serve) -> list[dict[str, Any]]:
    records = []
    for line in list(proc.lines):
        record = json.loads(line)  # every line: a log line that is not JSON fails here
        assert isinstance(record, dict), line
        records.append(record)
    return records


def _consumers(url: str, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        frame = conn.channel().queue_declare(queue, passive=True)
        return int(frame.method.consumer_count)
    except pika.exceptions.ChannelClosedByBroker:
        return 0
    finally:
        if conn.is_open:
            conn.close()


def test_json_lines_carry_the_listed_keys_and_no_password(
    amqp_url: str, queue: str, serve: Callable[..., Serve]
) -> None:
    assert ":guest@" in amqp_url  # so that a leaked password would show below
    proc = serve("--log-format", "json")
    proc.wait_for("serving")
    with EchoClient.connect(amqp_url, queue=queue) as client, pytest.raises(leveret.Internal):
        client.fail(kind="plain")
    proc.wait_for('"exception"')
    records = _records(proc)
    assert records
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert record["time"].endswith("Z") and "T" in record["time"]
    serving = next(r for r in records if "serving" in r["message"])
    assert serving["level"] == "INFO"
    assert serving["logger"] == "leveret.worker"
    assert "guest:***@" in serving["message"]
    failed = next(r for r in records if "exception" in r)
    assert failed["level"] == "ERROR"
    assert failed["logger"] == "leveret.server"
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert "\n" not in json.dumps(failed)  # the traceback stays inside one line
    assert ":guest@" not in proc.output()


def test_log_level_warning_leaves_out_info(
    amqp_url: str, queue: str, serve: Callable[..., Serve]
) -> None:
    proc = serve("--log-format", "json", "--log-level", "warning")
    wait_until(lambda: _consumers(amqp_url, queue) == 1, 20, "the worker to consume")
    with EchoClient.connect(amqp_url, queue=queue) as client, pytest.raises(leveret.Internal):
        client.fail(kind="plain")
    proc.wait_for('"exception"')
    levels = {r["level"] for r in _records(proc)}
    assert "ERROR" in levels
    assert "INFO" not in levels  # the "serving" line, for one, is INFO


def test_text_is_the_default_format(amqp_url: str, queue: str, serve: Callable[..., Serve]) -> None:
    proc = serve()
    proc.wait_for("serving")
    line = next(line for line in proc.lines if "serving" in line)
    assert " INFO leveret.worker[" in line
    assert not line.startswith("{")


def test_a_bad_log_level_is_a_usage_error(
    amqp_url: str, queue: str, serve: Callable[..., Serve]
) -> None:
    proc = serve("--log-level", "LOUD")
    assert proc.wait(30) == 2
    assert "--log-level" in proc.output()
