"""A login the broker refuses a step of the client's setup (review r9 D3): without ``write`` on
the default exchange, the probe that learns the direct reply-to address is refused (403) at
``connect()``. That is a permission the login lacks, reported as one: ``PermissionDenied``
naming ``amq.default``, not "connection lost with the call in flight" (no call is)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest

import leveret
from tests.support.broker_users import BrokerUsers, broker_users
from tests.support.echo import AsyncEchoClient, EchoClient

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def no_default_write(amqp_url: str) -> Iterator[BrokerUsers]:
    with broker_users(amqp_url, "caller") as made:
        # write on every exchange but the default one (Erlang regexes are PCRE: lookahead).
        subprocess.run(
            [
                "rabbitmqctl",
                "set_permissions",
                "-p",
                made.vhost,
                made.name("caller"),
                ".*",
                r"^(?!amq\.default$).*",
                ".*",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield made


def _check(error: leveret.RpcError) -> None:
    assert isinstance(error, leveret.PermissionDenied), error
    assert "write permission on the default exchange `amq.default`" in error.message
    assert "every client needs to send requests" in error.message
    assert "ACCESS_REFUSED" in error.message  # the broker's own words too
    assert "call in flight" not in error.message


def test_connect_without_write_on_the_default_exchange_is_permission_denied(
    no_default_write: BrokerUsers,
) -> None:
    with pytest.raises(leveret.RpcError) as info:
        EchoClient.connect(no_default_write.url("caller"), connect_timeout=10)
    _check(info.value)


def test_asyncio_connect_without_write_on_the_default_exchange_is_permission_denied(
    no_default_write: BrokerUsers,
) -> None:
    async def scenario() -> leveret.RpcError:
        with pytest.raises(leveret.RpcError) as info:
            await AsyncEchoClient.connect(no_default_write.url("caller"), connect_timeout=10)
        return info.value

    _check(asyncio.run(asyncio.wait_for(scenario(), 30)))
