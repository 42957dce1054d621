"""``leveret call`` and ``leveret serve`` against a real RabbitMQ, with generated code."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import leveret
from tests.support.cli import calculator_package
from tests.support.cli import leveret_call as run_call

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def calculator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    yield from calculator_package(tmp_path_factory.mktemp("cli"))


def _servicer(calculator: ModuleType) -> Any:
    class Calculator(calculator.CalculatorServicer):  # type: ignore[misc, name-defined]
        def add(self, request: Any, context: leveret.CallContext) -> Any:
            return calculator.Result(value=request.a + request.b)

        def divide(self, request: Any, context: leveret.CallContext) -> Any:
            if request.b == 0:
                raise calculator.DivisionByZero("cannot divide by zero")
            return calculator.Result(value=request.a / request.b)

        def sum(self, request: Any, context: leveret.CallContext) -> Any:
            return calculator.Result(value=sum(request.values))

    return Calculator()


def leveret_call(amqp_url: str, queue: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_call(*args, "--url", amqp_url, "--queue", queue)


def test_call_prints_the_reply_as_json(calculator: ModuleType, amqp_url: str, queue: str) -> None:
    with leveret.Worker(_servicer(calculator), url=amqp_url, queue=queue):
        proc = leveret_call(amqp_url, queue, "add", '{"a": 1, "b": 2.5}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"value": 3.5}


def test_call_prints_an_error_reply_to_stderr_and_fails(
    calculator: ModuleType, amqp_url: str, queue: str
) -> None:
    with leveret.Worker(_servicer(calculator), url=amqp_url, queue=queue):
        proc = leveret_call(amqp_url, queue, "divide", '{"a": 1, "b": 0}')
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert json.loads(proc.stderr) == {
        "code": "INVALID_ARGUMENT",
        "message": "cannot divide by zero",
        "error": "DivisionByZero",
        "details": None,
    }


def test_call_validates_the_json_against_the_definition(amqp_url: str, queue: str) -> None:
    proc = leveret_call(amqp_url, queue, "add", '{"a": "one"}')
    assert proc.returncode == 2
    assert "leveret call: (request): 'b' is a required property" in proc.stderr
    assert "leveret call: a: 'one' is not of type 'number'" in proc.stderr


def test_call_to_a_service_nobody_runs_is_unavailable(amqp_url: str, queue: str) -> None:
    proc = leveret_call(amqp_url, queue, "add", '{"a": 1, "b": 2}')
    assert proc.returncode == 1
    assert json.loads(proc.stderr)["code"] == "UNAVAILABLE"


def test_every_command_has_help() -> None:
    for command in ("generate", "serve", "call"):
        proc = subprocess.run(
            [sys.executable, "-m", "leveret", command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0
        assert "usage: leveret " + command in proc.stdout


def test_serve_reports_a_bad_target(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "leveret", "serve", "no_such_module:Thing"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2  # a load error, like a usage error
    assert "cannot import 'no_such_module'" in proc.stderr
