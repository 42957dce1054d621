"""``leveret describe``: print a service's definition as one self-contained document.

Registered with the ``leveret`` command through the ``leveret.commands`` entry-point group.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from leveret_codegen._diagnostics import has_errors
from leveret_codegen._frontend import load_services
from leveret_codegen._queue_source import Described, definition_yaml, is_queue_source
from leveret_codegen._source_args import add_source_arguments, fetch_sources
from leveret_codegen.cli import _print_diagnostics

__all__ = ["register", "run"]

_DESCRIPTION = """\
Print a service's definition as one self-contained document: the types it uses from other
files copied under `types:` and every $ref pointing there, descriptions and x- keys kept.
The output reloads: `leveret generate` on it gives the same models.

SOURCE is queue:<QUEUE>, to ask the service running on that queue what it is (the built-in
leveret.describe method, over --url or AMQP_URL), or a definition file. The YAML of a running
service starts with a comment naming its contract fingerprint and leveret version.

A described definition is checked like a file: when it does not load, it is printed all the
same and the diagnostics on stderr, named queue:<QUEUE>, point into the YAML as printed.

Exit status: 0 success; 1 nobody serves the queue, its worker does not answer reflection, or
the definition has errors or defines no service; 2 bad usage.
"""

_EXAMPLES = """\
examples:
  leveret describe queue:shop.Inventory > inventory.yaml
  leveret describe queue:shop.Inventory --format json
  leveret describe schemas/inventory.yaml
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``describe`` subcommand to the ``leveret`` command."""
    parser = subparsers.add_parser(
        "describe",
        help="print a running service's (or a file's) definition, self-contained",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source", metavar="SOURCE", help="queue:<QUEUE> of a running service, or a definition file"
    )
    parser.add_argument(
        "--format",
        choices=("yaml", "json"),
        default="yaml",
        help="yaml (the default; reloadable by leveret generate) or json",
    )
    add_source_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``leveret describe``; returns the exit status."""
    if is_queue_source(args.source):
        described = fetch_sources([args.source], args, "describe")
        if described is None:
            return 1
        return _print_described(described[args.source], args.format)
    services, diagnostics = load_services([Path(args.source)])
    _print_diagnostics(diagnostics, sys.stderr)
    if has_errors(diagnostics):
        return 1
    if not services:
        print(f"leveret describe: {args.source} defines no service", file=sys.stderr)
        return 1
    definition = json.loads(services[0].definition)
    if args.format == "json":
        sys.stdout.write(json.dumps(definition, indent=2, ensure_ascii=False) + "\n")
    else:
        comment = f"# {args.source}: self-contained, fingerprint {services[0].fingerprint}\n"
        sys.stdout.write(comment + definition_yaml(definition))
    return 0


def _print_described(described: Described, format: str) -> int:
    sys.stdout.write(described.text(format))
    services, diagnostics = load_services([described.source()])
    _print_diagnostics(diagnostics, sys.stderr)
    if has_errors(diagnostics):
        return 1
    if not services:  # a document of types only: as for a file, not a service's definition
        print(f"leveret describe: {described.name} defines no service", file=sys.stderr)
        return 1
    return 0
