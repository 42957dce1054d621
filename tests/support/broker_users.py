"""Broker users of a test's own, on a vhost of its own, made with ``rabbitmqctl`` and removed
whatever happens (the vhost's queues go with it)."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

__all__ = ["BrokerUsers", "broker_users"]


def _ctl(*args: str, check: bool = True) -> None:
    subprocess.run(["rabbitmqctl", *args], check=check, capture_output=True, timeout=60)


@dataclass(frozen=True)
class BrokerUsers:
    base_url: str
    vhost: str
    #: role in the test -> (broker user name, password)
    users: dict[str, tuple[str, str]]

    def name(self, role: str) -> str:
        return self.users[role][0]

    def url(self, role: str) -> str:
        """An AMQP URL that logs in as ``role``'s user on the test's vhost."""
        user, password = self.users[role]
        parts = urlsplit(self.base_url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 5672
        return (
            f"amqp://{quote(user, safe='')}:{password}@{host}:{port}/{quote(self.vhost, safe='')}"
        )


@contextlib.contextmanager
def broker_users(base_url: str, *roles: str) -> Iterator[BrokerUsers]:
    """One broker user per role (full permissions on a fresh vhost, no tags: no
    ``impersonator``), deleted afterwards with the vhost."""
    tag = uuid.uuid4().hex[:10]
    vhost = f"leveret-test-{tag}"
    users = {role: (f"leveret-{role}-{tag}", secrets.token_hex(12)) for role in roles}
    try:
        _ctl("add_vhost", vhost)
        for user, password in users.values():
            _ctl("add_user", user, password)
            _ctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield BrokerUsers(base_url, vhost, users)
    finally:
        for user, _password in users.values():
            _ctl("delete_user", user, check=False)
        _ctl("delete_vhost", vhost, check=False)
