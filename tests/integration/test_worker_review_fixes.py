"""Defects a review of the hardening fixes found, each reproduced against the real broker: a
blocking plain handler of an async servicer held the event loop, a cancelled connect() left its
connection open, error replies echoed long property names back, and URLs with '@' and ',' in a
password were split or shown."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest

import leveret
from leveret._url import check_url, redact, split_urls
from tests.integration.test_client_review_fixes import _SlowProxy
from tests.support.echo import AsyncEcho, AsyncEchoClient, EchoReply, EchoRequest
from tests.support.proxy import wait_until
from tests.support.raw import RawPeer

pytestmark = pytest.mark.integration


class _Blocking(AsyncEcho):
    """An async servicer whose ``echo`` is a plain, blocking ``def``."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0
        self._lock = threading.Lock()

    def echo(self, request: EchoRequest, context: leveret.CallContext) -> EchoReply:  # type: ignore[override]
        with self._lock:
            self.runs += 1
        time.sleep(request.delay)  # blocks: it must not block the worker's event loop
        return EchoReply(text=request.text)


def test_a_plain_handler_of_an_async_servicer_does_not_hold_the_event_loop(
    amqp_url: str, queue: str
) -> None:
    servicer = _Blocking()
    # Heartbeats every second: a handler holding the loop for 3 s would cost the connection,
    # and the broker would redeliver the request to run it again.
    url = amqp_url + ("&" if "?" in amqp_url else "?") + "heartbeat=1"
    with leveret.Worker(servicer, url=url, queue=queue):

        async def main() -> tuple[float, list[str]]:
            async with AsyncEchoClient.connect(amqp_url, queue=queue) as client:
                long = await client.echo(text="long", delay=3.0, timeout=20)
                started = time.monotonic()
                both = await asyncio.gather(
                    client.echo(text="a", delay=1.0, timeout=10),
                    client.echo(text="b", delay=1.0, timeout=10),
                )
                return time.monotonic() - started, [long.text, *(r.text for r in both)]

        took, texts = asyncio.run(main())
    assert texts == ["long", "a", "b"]
    assert servicer.runs == 3  # the long call ran once: no redelivery
    assert took < 1.8  # the two 1 s calls ran side by side


def test_a_cancelled_connect_leaves_no_connection_behind(amqp_url: str) -> None:
    async def main(proxy: _SlowProxy) -> None:
        for _ in range(3):
            with pytest.raises(TimeoutError):
                # A connection setup takes longer than this through the slow proxy.
                await asyncio.wait_for(AsyncEchoClient.connect(proxy.url(), connect_timeout=5), 0.1)
        await asyncio.sleep(0)  # let the abandoned attempts see they are abandoned

    with _SlowProxy() as proxy:
        asyncio.run(main(proxy))
        wait_until(lambda: proxy.connections == 0, 5, "the abandoned connections to close")


def test_an_invalid_argument_reply_stays_small_whatever_the_request_names(
    amqp_url: str, queue: str
) -> None:
    with leveret.Worker(AsyncEcho(), url=amqp_url, queue=queue):
        peer = RawPeer(amqp_url)
        try:
            body: dict[str, Any] = {"text": "x"}
            body.update({f"{i:03d}" + "é" * 5000: 1 for i in range(100)})  # 100 unknown keys
            request = json.dumps(body).encode()
            reply = peer.wait(peer.publish(queue, request), timeout=10)
        finally:
            peer.close()
    assert reply is not None and reply.status == "INVALID_ARGUMENT"
    assert len(reply.body) < 100_000 < len(request)


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("amqp://u:p@a,ss@h:5672/%2F", ["amqp://u:p@a,ss@h:5672/%2F"]),  # '@' and ',' in it
        ("amqp://u:s3cr,et@h1,amqp://v:p,2@h2", ["amqp://u:s3cr,et@h1", "amqp://v:p,2@h2"]),
        ("amqp://a:5672,b:5672,c:5672", ["amqp://a:5672", "b:5672", "c:5672"]),
    ],
)
def test_commas_separate_addresses_only_outside_passwords(url: str, addresses: list[str]) -> None:
    assert split_urls(url) == addresses


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("amqp://127.0.0.1:5672/%2F,r5user:s3cr,et@127.0.0.1:5672", "s3cr"),  # no scheme after ','
        ("amqp://u:zq/ss@h", "zq"),  # an unescaped '/' in the password
        ("amqp://h/?heartbeat=99999999999", None),  # AMQP cannot carry it: every connect fails
    ],
)
def test_urls_that_cannot_work_are_refused_without_showing_the_password(
    url: str, secret: str | None
) -> None:
    with pytest.raises(leveret.ConfigurationError) as caught:
        check_url(url)
    if secret is not None:
        assert secret not in str(caught.value)


def test_every_password_of_a_url_is_masked() -> None:
    assert redact("amqp://a:S1@h1,amqps://b:S2@h2:5671/v,c:S3@h3") == (
        "amqp://a:***@h1,amqps://b:***@h2:5671/v,c:***@h3"
    )
    assert redact("amqp://u:p@a,ss@h/") == "amqp://u:***@h/"
