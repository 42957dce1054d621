"""Broker housekeeping that is no part of a call: for the pytest plugin's real-broker runs."""

from __future__ import annotations

import pika
import pika.exceptions

from leveret._amqp._connection import _parameters, _unavailable
from leveret._url import split_urls

__all__ = ["delete_queue", "queue_exists"]


def _connect(url: str, connect_timeout: float) -> pika.BlockingConnection:
    """A blocking connection to the first address of ``url`` that answers."""
    error: BaseException | None = None
    for address in split_urls(url):
        try:
            return pika.BlockingConnection(_parameters(address, connect_timeout))
        except pika.exceptions.AMQPError as exc:
            error = _unavailable(address, exc)
    raise error or _unavailable(url, ConnectionError("no address"))


def delete_queue(url: str, name: str, *, connect_timeout: float = 10.0) -> None:
    """Delete the queue ``name`` with whatever is in it; a queue that is not there is fine
    (``queue.delete`` of a missing queue succeeds in RabbitMQ 3.x and 4.x)."""
    conn = _connect(url, connect_timeout)
    try:
        conn.channel().queue_delete(name)
    finally:
        conn.close()


def queue_exists(url: str, name: str, *, connect_timeout: float = 10.0) -> bool:
    """Whether the broker has a queue called ``name`` (a passive declare, which the broker
    answers with 404 and a closed channel when it does not)."""
    conn = _connect(url, connect_timeout)
    try:
        try:
            conn.channel().queue_declare(name, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 404:
                return False
            raise
        return True
    finally:
        conn.close()
