"""leveret end to end: generate stubs from schemas/, start workers, make typed calls.

Run from the repository root:  .venv/bin/python examples/demo.py

Uses RabbitMQ at $AMQP_URL (default amqp://guest:guest@localhost:5672/%2F) when it is
reachable, otherwise the in-memory transport, and says which.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"


def pick_url() -> str:
    url = os.environ.get("AMQP_URL", DEFAULT_URL)
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 5672), 2):
            print(f"transport: RabbitMQ at {parts.hostname}:{parts.port or 5672}")
            return url
    except OSError:
        print(f"transport: in-memory (no RabbitMQ reachable at {parts.hostname}:{parts.port})")
        return "memory://demo"


def generate(out: Path) -> None:
    print(f"$ leveret generate schemas --out {out}")
    subprocess.run(
        [sys.executable, "-m", "leveret", "generate", "schemas", "--out", str(out)],
        cwd=ROOT,
        check=True,
    )


def main() -> int:
    url = pick_url()
    # The generated packages are needed only while the demo runs: nothing is left behind.
    with tempfile.TemporaryDirectory(prefix="leveret-demo-") as out:
        generate(Path(out))
        sys.path.insert(0, out)
        try:
            return run(url)
        finally:
            sys.path.remove(out)


def run(url: str) -> int:
    # Imported only now: these packages were generated a moment ago.
    from calculator import (
        CalculatorClient,
        CalculatorServicer,
        DivisionByZero,
        Operands,
        Result,
        SumRequest,
    )
    from shop import (
        InventoryClient,
        InventoryServicer,
        Money,
        OutOfStock,
        Reservation,
        ReserveRequest,
    )

    import leveret

    class Calculator(CalculatorServicer):
        def add(self, request: Operands, context: leveret.CallContext) -> Result:
            return Result(value=request.a + request.b)

        def divide(self, request: Operands, context: leveret.CallContext) -> Result:
            if request.b == 0:
                raise DivisionByZero("cannot divide by zero")
            return Result(value=request.a / request.b)

        def sum(self, request: SumRequest, context: leveret.CallContext) -> Result:
            return Result(value=sum(request.values))

    class Inventory(InventoryServicer):
        def __init__(self) -> None:
            self.stock = {"ABC-1234": 5}
            self.lock = threading.Lock()

        def reserve(self, request: ReserveRequest, context: leveret.CallContext) -> Reservation:
            sku, quantity = request.sku, request.quantity
            if request.note == "slow":
                time.sleep(0.5)  # a slow warehouse, to show a deadline
            with self.lock:
                available = self.stock.get(sku, 0)
                if quantity > available:
                    raise OutOfStock(f"only {available} of {sku} left", available=available)
                self.stock[sku] = available - quantity
            return Reservation(
                id=uuid.uuid4(),
                sku=sku,
                quantity=quantity,
                status="held",
                price=Money(amount=1999 * quantity, currency="EUR"),
            )

    suffix = uuid.uuid4().hex[:8]  # private queues: the demo never disturbs a real service
    calc_queue, shop_queue = f"demo.calculator.{suffix}", f"demo.shop.{suffix}"
    with (
        leveret.Worker(Calculator(), url=url, queue=calc_queue, concurrency=2),
        leveret.Worker(Inventory(), url=url, queue=shop_queue, concurrency=2),
        CalculatorClient.connect(url, queue=calc_queue) as calc,
        InventoryClient.connect(url, queue=shop_queue) as shop,
    ):
        print("workers started; calling them through the generated, typed clients\n")
        print("calc.add(a=2, b=40)           ->", calc.add(a=2, b=40))
        print("calc.sum(values=[1, 2, 3.5])  ->", calc.sum(values=[1, 2, 3.5]))
        try:
            calc.divide(a=1, b=0)
        except DivisionByZero as exc:
            print(f"calc.divide(a=1, b=0)         -> {type(exc).__name__}: {exc}")

        reservation = shop.reserve(sku="ABC-1234", quantity=2)
        print(f"shop.reserve(quantity=2)      -> {reservation!r}")
        try:
            shop.reserve(sku="ABC-1234", quantity=10)
        except OutOfStock as exc:
            print(
                f"shop.reserve(quantity=10)     -> {type(exc).__name__} ({exc.status.name}): "
                f"{exc.message}; details.available={exc.details.available}"
            )
        try:
            shop.reserve(sku="bad sku", quantity=1)
        except leveret.InvalidArgument as exc:
            print(f"shop.reserve(sku='bad sku')   -> InvalidArgument, not sent: {exc.message}")
        started = time.monotonic()
        try:
            shop.reserve(sku="ABC-1234", quantity=1, note="slow", timeout=0.2)
        except leveret.DeadlineExceeded as exc:
            elapsed = time.monotonic() - started
            print(f"shop.reserve(timeout=0.2)     -> DeadlineExceeded after {elapsed:.2f} s: {exc}")
        try:
            with InventoryClient.connect(url, queue=f"demo.nobody.{suffix}") as nobody:
                nobody.reserve(sku="ABC-1234", quantity=1, timeout=10)
        except leveret.Unavailable as exc:
            print(f"call to a queue nobody serves -> Unavailable at once: {exc.message}")
    # The workers have stopped; their queues stay (durable). A call fails at once instead of
    # waiting out its deadline in a queue nobody consumes (wait_for_ready=True would wait).
    try:
        with InventoryClient.connect(url, queue=shop_queue) as shop:
            shop.reserve(sku="ABC-1234", quantity=1, timeout=10)
    except leveret.Unavailable as exc:
        print(f"call after the worker stopped -> Unavailable at once: {exc.message}")
    if not url.startswith("memory:"):
        _delete_queues(url, [calc_queue, shop_queue])
    print("\ndone")
    return 0


def _delete_queues(url: str, queues: list[str]) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    for queue in queues:
        channel.queue_delete(queue)
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
