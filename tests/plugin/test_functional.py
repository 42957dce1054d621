"""Generated code served by the ``leveret_service`` fixture, written once for both transports.

The suite runs it on ``memory://``; ``test_plugin.py`` runs this same file again with
``--leveret-transport memory`` and ``--leveret-transport amqp`` (RabbitMQ), as users would. So it
imports only leveret, pytest and the generated packages in ``generated/``.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from calculator import (
    AsyncCalculatorClient,
    AsyncCalculatorServicer,
    CalculatorClient,
    CalculatorServicer,
    DivisionByZero,
    Operands,
    Result,
    SumRequest,
    TooManyOperands,
)
from shop import InventoryClient, InventoryServicer, OutOfStock, Reservation, ReserveRequest

import leveret
from leveret.testing import Recorder, ServiceStarter


class Calculator(CalculatorServicer):
    def __init__(self) -> None:
        #: Set when the test is over, so that a blocked handler lets the worker stop.
        self.release = threading.Event()

    def add(self, request: Operands, context: leveret.CallContext) -> Result:
        return Result(value=request.a + request.b)

    def divide(self, request: Operands, context: leveret.CallContext) -> Result:
        if request.b == 0:
            raise DivisionByZero("cannot divide by zero")
        if request.b < 0:
            self.release.wait(10)  # outlives the caller's deadline
        return Result(value=request.a / request.b)

    def sum(self, request: SumRequest, context: leveret.CallContext) -> Result:
        if len(request.values) > 3:
            raise TooManyOperands("at most 3", limit=3)
        return Result(value=sum(request.values))


class AsyncCalculator(AsyncCalculatorServicer):
    async def add(self, request: Operands, context: leveret.CallContext) -> Result:
        await asyncio.sleep(0)
        return Result(value=request.a + request.b)

    async def divide(self, request: Operands, context: leveret.CallContext) -> Result:
        raise DivisionByZero("never here")

    async def sum(self, request: SumRequest, context: leveret.CallContext) -> Result:
        return Result(value=sum(request.values))


class Inventory(InventoryServicer):
    def __init__(self) -> None:
        self.stock = {"ABC-1234": 3}

    def reserve(self, request: ReserveRequest, context: leveret.CallContext) -> Reservation:
        available = self.stock.get(request.sku, 0)
        if request.quantity > available:
            raise OutOfStock(f"only {available} left", available=available)
        self.stock[request.sku] = available - request.quantity
        return Reservation(
            id=uuid.uuid4(), sku=request.sku, quantity=request.quantity, status="held"
        )


def test_round_trip(leveret_service: ServiceStarter) -> None:
    svc = leveret_service(Calculator())
    with CalculatorClient.connect(svc.url, queue=svc.queue) as client:
        assert client.add(a=2, b=3) == Result(value=5)
        assert client.sum(values=[1, 2, 3]).value == 6


def test_declared_errors_and_validation(leveret_service: ServiceStarter) -> None:
    svc = leveret_service(Calculator())
    with CalculatorClient.connect(svc.url, queue=svc.queue) as client:
        with pytest.raises(DivisionByZero):
            client.divide(a=1, b=0)
        with pytest.raises(TooManyOperands) as caught:
            client.sum(values=[1, 2, 3, 4])
        assert caught.value.details.limit == 3
        with pytest.raises(leveret.InvalidArgument):
            client.add(a="one", b=2)  # type: ignore[arg-type]


def test_deadline(leveret_service: ServiceStarter) -> None:
    calculator = Calculator()
    svc = leveret_service(calculator, concurrency=2)
    try:
        with CalculatorClient.connect(svc.url, queue=svc.queue) as client:
            with pytest.raises(leveret.DeadlineExceeded):
                client.divide(a=1, b=-1, timeout=0.3)
            assert client.add(a=1, b=1).value == 2  # the second handler thread still serves
    finally:
        calculator.release.set()


def test_async_servicer_and_client(leveret_service: ServiceStarter) -> None:
    svc = leveret_service(AsyncCalculator())

    async def scenario() -> list[Result]:
        async with AsyncCalculatorClient.connect(svc.url, queue=svc.queue) as client:
            return await asyncio.gather(*(client.add(a=i, b=1) for i in range(5)))

    assert [r.value for r in asyncio.run(scenario())] == [1, 2, 3, 4, 5]


def test_several_services(leveret_service: ServiceStarter) -> None:
    calc = leveret_service(Calculator())
    shop = leveret_service(Inventory())
    other_calc = leveret_service(AsyncCalculator())
    assert len({calc.queue, shop.queue, other_calc.queue}) == 3
    with (
        CalculatorClient.connect(calc.url, queue=calc.queue) as calculator,
        InventoryClient.connect(shop.url, queue=shop.queue) as inventory,
    ):
        held = inventory.reserve(sku="ABC-1234", quantity=2)
        assert held.status == "held"
        with pytest.raises(OutOfStock) as caught:
            inventory.reserve(sku="ABC-1234", quantity=5)
        assert caught.value.details.available == 1
        assert calculator.add(a=held.quantity, b=caught.value.details.available).value == 3


def test_recorder_keeps_typed_requests(leveret_service: ServiceStarter) -> None:
    recorder = Recorder(Inventory())
    svc = leveret_service(recorder)
    with InventoryClient.connect(svc.url, queue=svc.queue) as client:
        client.reserve(sku="ABC-1234", quantity=1, note="gift")
        with pytest.raises(OutOfStock):
            client.reserve(sku="ABC-1234", quantity=9)
    assert recorder.requests("reserve") == [
        ReserveRequest(sku="ABC-1234", quantity=1, note="gift"),
        ReserveRequest(sku="ABC-1234", quantity=9),
    ]
    assert [call.context.method for call in recorder.calls] == ["reserve", "reserve"]


def test_canned_recorder(leveret_service: ServiceStarter) -> None:
    recorder = Recorder(
        AsyncCalculatorServicer,
        add=Result(value=42),
        divide=DivisionByZero("canned"),
        sum=lambda request, context: Result(value=len(request.values)),
    )
    svc = leveret_service(recorder)
    with CalculatorClient.connect(svc.url, queue=svc.queue) as client:
        assert client.add(a=1, b=1).value == 42
        assert client.sum(values=[5, 5, 5]).value == 3
        with pytest.raises(DivisionByZero, match="canned"):
            client.divide(a=1, b=2)
    assert recorder.requests("add") == [Operands(a=1, b=1)]
    assert [call.method for call in recorder.calls] == ["add", "sum", "divide"]
