"""The AMQP transport: the only package that imports pika.

pika's exceptions stop here: each is mapped to a leveret exception (``raise ... from exc``).

- :mod:`._connection`: pika connections that write a message in one go and read the hot path's
  frames directly, and the helpers to open, abort and describe a connection.
- :mod:`._calls`: the call table both clients share (failover, backoff, publish, settle).
- :mod:`._sync`: :class:`BlockingTransport`, the sync client. Whichever calling thread finds the
  connection idle drives its I/O (leader/follower): it publishes, then processes events until its
  own reply arrives, then hands the connection to a waiting thread. Other threads hand their
  publishes to the leader and wait. One call in flight costs no thread switch at all.
- :mod:`._asyncio`: :class:`AsyncioTransport`, the asyncio client, on pika's
  ``AsyncioConnection`` in the caller's event loop (no thread).
- :mod:`._consumer`: :class:`AsyncioConsumer`, the worker's side: consume a service queue with
  prefetch, publish replies, then ack.
"""

from leveret._amqp._asyncio import AsyncioTransport
from leveret._amqp._consumer import AsyncioConsumer, OnDelivery
from leveret._amqp._sync import BlockingTransport

__all__ = [
    "AsyncioConsumer",
    "AsyncioTransport",
    "BlockingTransport",
    "OnDelivery",
]
