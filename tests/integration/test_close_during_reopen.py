"""``AsyncClient.close()`` while the publishing channel is being opened again after the broker
refused a request (review r9 D1): the close is quiet (no ERROR record from leveret or pika, no
aborted socket) and the calls waiting for the channel end with ``Cancelled``.

On the private 1 MiB node of test_size_limits.py: a body over the broker's limit is the
realistic way to make it close the publishing channel."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest

import leveret
from tests.integration.test_size_limits import (  # noqa: F401  (small_broker is a fixture)
    BROKER_LIMIT,
    AsyncSizesClient,
    Sizes,
    small_broker,
)

pytestmark = pytest.mark.integration

ROUNDS = 3
MAX_ROUNDS = 40


def test_async_close_right_after_size_refusal(
    small_broker: str,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = f"leveret.test.{uuid.uuid4().hex[:12]}"
    limit = 3 * BROKER_LIMIT  # the client's and the worker's: the broker's is lower
    over = "x" * BROKER_LIMIT

    async def scenario() -> tuple[bool, BaseException | None]:
        client = await AsyncSizesClient.connect(small_broker, queue=queue, max_message_size=limit)
        transport = client._transport
        assert (await client.take(data="warm")).size == 4  # the queue is known served
        # Published back to back, in the loop's first pass: the broker refuses the first,
        # and drops the other two unread. The second is over its limit too (it fails); the
        # third waits to be published again on the new publishing channel the client opens
        # at once, and the client is closed before that channel is set up.
        refused = asyncio.ensure_future(client.take(data=over))
        dropped = asyncio.ensure_future(client.take(data=over + "y"))
        waiting = asyncio.ensure_future(client.take(data="waits"))
        await asyncio.wait((refused, dropped), timeout=30)
        assert isinstance(refused.exception(), leveret.ResourceExhausted), refused
        assert isinstance(dropped.exception(), leveret.ResourceExhausted), dropped
        reopening = not transport._pub_ready and not waiting.done()
        await client.close()
        try:
            await asyncio.wait_for(waiting, 5)
        except BaseException as exc:
            return reopening, exc
        return reopening, None

    outcomes = []
    with (
        caplog.at_level(logging.ERROR),
        leveret.Worker(Sizes(), url=small_broker, queue=queue, max_message_size=limit),
    ):
        # Rounds until the window was hit ROUNDS times: whether the close lands before the new
        # channel is up depends on the scheduling of this machine.
        while sum(reopening for reopening, _ in outcomes) < ROUNDS and len(outcomes) < MAX_ROUNDS:
            outcomes.append(asyncio.run(asyncio.wait_for(scenario(), 60)))
    # The case under test happened (the channel's reopen takes two round trips to the broker,
    # the close none before it starts).
    assert any(reopening for reopening, _ in outcomes), outcomes
    for reopening, error in outcomes:
        if reopening:
            assert isinstance(error, leveret.Cancelled), outcomes
        else:  # the new channel was up before the close: answered, or cancelled in flight
            assert error is None or isinstance(error, leveret.Cancelled), outcomes
    errors = [
        f"{r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.split(".")[0] in ("leveret", "pika")
    ]
    assert errors == []
