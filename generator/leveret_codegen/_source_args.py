"""The command-line side of ``queue:<QUEUE>`` sources, shared by every command taking them.

``add_source_arguments`` adds how to reach the broker (``--url``, ``--url-file``, ``--tls-*``,
as ``leveret call``) and ``--server-user``; ``resolve_sources`` turns the sources given into
what the front end loads: paths stay paths, each ``queue:`` source is fetched once and becomes
its definition's text.

The commands that write something naming the service's queue (``generate``, ``docs``,
``asyncapi``) refuse a definition that says it is served on another queue than the one it was
fetched from, unless ``--trust-queue``: a client generated from it would send somewhere else than
the user asked for (a hostile or misconfigured service claiming another's queue and package).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from leveret import ConfigurationError
from leveret._commands import add_connection_arguments, connection_from_args
from leveret_codegen._diagnostics import has_errors
from leveret_codegen._frontend import Text, load_services
from leveret_codegen._queue_source import Described, FetchError, fetch, is_queue_source

__all__ = ["SOURCE_HELP", "add_source_arguments", "fetch_sources", "resolve_sources"]

SOURCE_HELP = (
    "or queue:<QUEUE> for the definition the service on that queue describes itself with "
    "(fetched over --url / AMQP_URL)"
)


def add_source_arguments(parser: argparse.ArgumentParser, *, trust_queue: bool = False) -> None:
    """``--url``, ``--server-user`` and the connection options, for ``queue:`` sources;
    ``trust_queue``: also ``--trust-queue`` (for the commands that use ``resolve_sources``)."""
    parser.add_argument(
        "--url",
        default=None,
        help=(
            "broker URL for queue:<QUEUE> sources (default: $AMQP_URL, local). A password "
            "given here shows in the process list: pass it in AMQP_URL or with --url-file"
        ),
    )
    parser.add_argument(
        "--server-user",
        default=None,
        metavar="USER",
        help=(
            "for queue:<QUEUE> sources: the broker user the service's workers log in as; an "
            "answer published as anyone else is dropped (docs/security.md, reply authenticity)"
        ),
    )
    if trust_queue:
        parser.add_argument(
            "--trust-queue",
            action="store_true",
            help=(
                "for queue:<QUEUE> sources: accept a definition that names another queue than "
                "QUEUE (a worker serving it on an overridden queue); without it, that is an error"
            ),
        )
    add_connection_arguments(parser)


def fetch_sources(
    sources: Sequence[str], args: argparse.Namespace, command: str
) -> dict[str, Described] | None:
    """Fetch every ``queue:`` source of ``sources`` (once each), by source text; None when one
    cannot be had, after a one-line message on stderr."""
    wanted = [s for s in dict.fromkeys(sources) if is_queue_source(s)]
    if not wanted:
        return {}
    try:
        url, tls = connection_from_args(args, command)
        server_user = getattr(args, "server_user", None)
        return {source: fetch(source, url, tls, server_user) for source in wanted}
    except (ConfigurationError, FetchError) as exc:
        print(f"leveret {command}: {exc}", file=sys.stderr)
        return None


def resolve_sources(
    sources: Sequence[str], args: argparse.Namespace, command: str
) -> list[str | Path | Text] | None:
    """``sources`` as the front end takes them; None when a ``queue:`` source cannot be had."""
    described = fetch_sources(sources, args, command)
    if described is None:
        return None
    trusted = bool(getattr(args, "trust_queue", False))
    for source in described.values():
        named = _served_on(source)
        if named is None or named == source.queue:
            continue
        shown = f"{named!r}" if named.isprintable() else repr(named.encode())
        if not trusted:
            print(
                f"leveret {command}: {source.name}: the service there describes itself as served "
                f"on queue {shown}, not {source.queue!r}: what {command} writes would name "
                f"{shown}, so nothing is written. If its workers serve the definition on "
                "another queue on purpose, pass --trust-queue",
                file=sys.stderr,
            )
            return None
        print(
            f"leveret {command}: warning: {source.name}: the definition names queue {shown}, "
            f"not {source.queue!r}; written as described (--trust-queue)",
            file=sys.stderr,
        )
    return [described[s].source() if s in described else Path(s) for s in sources]


def _served_on(described: Described) -> str | None:
    """The queue the described service's definition names; None when the definition does not
    load (its diagnostics come first, and nothing is written from it anyway)."""
    services, diagnostics = load_services([described.source()])
    if has_errors(diagnostics) or not services:
        return None
    return services[0].queue
