"""The command-line side of ``queue:<QUEUE>`` sources, shared by every command taking them.

``add_source_arguments`` adds how to reach the broker (``--url``, ``--url-file``, ``--tls-*``,
as ``leveret call``); ``resolve_sources`` turns the sources given into what the front end loads:
paths stay paths, each ``queue:`` source is fetched once and becomes its definition's text.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from leveret import ConfigurationError
from leveret._commands import add_connection_arguments, connection_from_args
from leveret_codegen._frontend import Text
from leveret_codegen._queue_source import Described, FetchError, fetch, is_queue_source

__all__ = ["SOURCE_HELP", "add_source_arguments", "fetch_sources", "resolve_sources"]

SOURCE_HELP = (
    "or queue:<QUEUE> for the definition the service on that queue describes itself with "
    "(fetched over --url / AMQP_URL)"
)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url`` and the connection options, for ``queue:`` sources."""
    parser.add_argument(
        "--url",
        default=None,
        help=(
            "broker URL for queue:<QUEUE> sources (default: $AMQP_URL, local). A password "
            "given here shows in the process list: pass it in AMQP_URL or with --url-file"
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
        return {source: fetch(source, url, tls) for source in wanted}
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
    return [described[s].source() if s in described else Path(s) for s in sources]
