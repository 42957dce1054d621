"""A plain pika peer (no leveret code) speaking the documented protocol."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pika


@dataclass
class RawReply:
    correlation_id: str
    status: str | None
    content_type: str | None
    body: bytes
    headers: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class RawPeer:
    """Publishes hand-made requests and collects replies on an exclusive reply queue."""

    def __init__(self, url: str) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(url))
        self.ch = self.conn.channel()
        self.reply_queue = self.ch.queue_declare("", exclusive=True, auto_delete=True).method.queue
        self.replies: dict[str, RawReply] = {}
        self.ch.basic_consume(self.reply_queue, self._on_reply, auto_ack=True)

    def _on_reply(self, _ch: Any, _method: Any, props: Any, body: bytes) -> None:
        headers = props.headers or {}
        self.replies[props.correlation_id] = RawReply(
            props.correlation_id, headers.get("rpc-status"), props.content_type, body, headers
        )

    def publish(
        self,
        queue: str,
        body: bytes,
        *,
        method: str | None = "echo",
        correlation_id: str | None = None,
        reply_to: str | bool | None = True,
        content_type: str | None = "application/json",
        headers: dict[str, Any] | None = None,
        expiration: str | None = None,
    ) -> str:
        cid = correlation_id if correlation_id is not None else uuid.uuid4().hex
        props = pika.BasicProperties(
            content_type=content_type,
            correlation_id=cid or None,
            reply_to=self.reply_queue if reply_to is True else (reply_to or None),
            type=method,
            headers=headers,
            expiration=expiration,
        )
        self.ch.basic_publish("", queue, body, props)
        return cid

    def wait(self, cid: str, timeout: float = 5.0) -> RawReply | None:
        """The reply with this correlation id, or None if none came within ``timeout``."""
        deadline = time.monotonic() + timeout
        while cid not in self.replies:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.conn.process_data_events(time_limit=remaining)
        return self.replies.pop(cid)

    def close(self) -> None:
        self.conn.close()


def ready_count(url: str, queue: str) -> int:
    """Messages ready in ``queue`` (not delivered to a consumer)."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(conn.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        conn.close()


def publish_echo(url: str, queue: str, texts: list[str], delay: float) -> None:
    """Publish echo requests nobody waits for (the replies go to a queue that does not exist)."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        ch = conn.channel()
        for text in texts:
            ch.basic_publish(
                "",
                queue,
                json.dumps({"text": text, "delay": delay}).encode(),
                pika.BasicProperties(
                    content_type="application/json",
                    correlation_id=uuid.uuid4().hex,
                    reply_to="nobody.listens",
                    type="echo",
                ),
            )
    finally:
        conn.close()
