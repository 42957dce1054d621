"""leveret.testing without pytest's fixtures: Recorder's contract and ServiceStarter on its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from calculator import (
    AsyncCalculatorServicer,
    CalculatorClient,
    CalculatorServicer,
    Operands,
    Result,
)

import leveret
from leveret.testing import Recorder, ServiceStarter
from tests.plugin.test_functional import AsyncCalculator, Calculator


@pytest.fixture
def start() -> Iterator[ServiceStarter]:
    with ServiceStarter(f"memory://{uuid.uuid4().hex}") as starter:
        yield starter


def test_wrapped_async_servicer_stays_async_and_is_recorded(start: ServiceStarter) -> None:
    recorder = Recorder(AsyncCalculator())
    assert isinstance(recorder, leveret.AsyncServicer)
    svc = start(recorder)
    with CalculatorClient.connect(svc.url, queue=svc.queue) as client:
        assert client.add(a=1, b=2).value == 3
    (call,) = recorder.calls
    assert (call.method, call.request) == ("add", Operands(a=1, b=2))
    assert call.context.correlation_id


def test_keyword_overrides_one_method_of_a_wrapped_servicer(start: ServiceStarter) -> None:
    recorder = Recorder(Calculator(), add=Result(value=-1))
    assert isinstance(recorder, leveret.Servicer)
    svc = start(recorder)
    with CalculatorClient.connect(svc.url, queue=svc.queue) as client:
        assert client.add(a=1, b=2).value == -1
        assert client.sum(values=[1, 2]).value == 3  # delegated
    assert [c.method for c in recorder.calls] == ["add", "sum"]
    recorder.reset()
    assert recorder.calls == []


def test_method_without_canned_response_is_unimplemented(start: ServiceStarter) -> None:
    recorder = Recorder(CalculatorServicer, add=Result(value=0))
    svc = start(recorder)
    with (
        CalculatorClient.connect(svc.url, queue=svc.queue) as client,
        pytest.raises(leveret.Unimplemented, match="no response for 'divide'"),
    ):
        client.divide(a=1, b=1)
    assert recorder.requests("divide") == [Operands(a=1, b=1)]  # recorded all the same


def test_wait_for_calls_made_elsewhere(start: ServiceStarter) -> None:
    recorder = Recorder(AsyncCalculatorServicer, add=Result(value=0))
    svc = start(recorder)

    def call() -> None:
        with CalculatorClient.connect(svc.url, queue=svc.queue) as client:
            client.add(a=4, b=4)

    thread = threading.Thread(target=call)
    thread.start()
    try:
        (recorded,) = recorder.wait(1, timeout=10)
    finally:
        thread.join(10)
    assert recorded.request == Operands(a=4, b=4)
    with pytest.raises(AssertionError, match="1 call"):
        recorder.wait(2, timeout=0.05)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Recorder(object()), "object is not a generated servicer"),
        (lambda: Recorder(CalculatorServicer, multiply=Result(value=0)), "no method 'multiply'"),
        (lambda: Recorder(CalculatorServicer).requests("multiply"), "no method 'multiply'"),
    ],
)
def test_mistakes_are_configuration_errors(make: object, message: str) -> None:
    with pytest.raises(leveret.ConfigurationError, match=message):
        make()  # type: ignore[operator]


def test_service_starter_stops_its_workers_on_exit() -> None:
    url = f"memory://{uuid.uuid4().hex}"
    with ServiceStarter(url) as start:
        svc = start(Calculator())
        client = CalculatorClient.connect(svc.url, queue=svc.queue)
        assert client.add(a=1, b=1).value == 2
    try:
        assert start.started == []
        with pytest.raises(leveret.Unavailable):
            client.add(a=1, b=1, timeout=0.5)
    finally:
        client.close()
