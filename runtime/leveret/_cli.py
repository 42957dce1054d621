"""The ``leveret`` command. Subcommands of the runtime live here; others plug in.

``generate`` (and the schema-review commands) live in ``leveret_codegen`` and register through the
``leveret.commands`` entry-point group, so the runtime never imports the generator: a service that
installs only ``leveret`` still gets ``serve`` and ``call``, and a clear message for the rest.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def _missing_extra(name: str, exc: ImportError) -> Command:
    def run(args: argparse.Namespace) -> int:
        print(
            f"leveret {name}: needs the code generator ({exc}). "
            'Install it with: pip install "leveret[codegen]"',
            file=sys.stderr,
        )
        return 2

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leveret",
        description="Schema-first typed RPC over RabbitMQ.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for entry in sorted(entry_points(group="leveret.commands"), key=lambda e: e.name):
        try:
            register = entry.load()
        except ImportError as exc:
            stub = subparsers.add_parser(entry.name, help=f"(needs leveret[codegen]) {entry.name}")
            stub.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            stub.set_defaults(func=_missing_extra(entry.name, exc))
            continue
        register(subparsers)
    from leveret._commands import register_runtime_commands

    register_runtime_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
