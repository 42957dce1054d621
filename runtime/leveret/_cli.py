"""The ``leveret`` command. Subcommands of the runtime live here; others plug in.

``generate`` (and the schema-review commands) live in ``leveret_codegen`` and register through the
``leveret.commands`` entry-point group, so the runtime never imports the generator: a service that
installs only ``leveret`` still gets ``serve`` and ``call``, and a clear message for the rest.

Only the command being run is imported: the others appear in ``leveret --help`` with the line
of :data:`SUMMARIES`, so that ``--help`` does not load the generator and its dependencies.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import EntryPoint, entry_points, version
from typing import TYPE_CHECKING, TypeAlias

__all__ = ["SUMMARIES", "main"]

Command = Callable[[argparse.Namespace], int]
if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

#: The one-line help of each command in ``leveret --help``, read without importing it. A
#: command missing here (another package's plugin) is imported to list it.
SUMMARIES = {
    "asyncapi": "write an AsyncAPI 3.0 document per service definition",
    "breaking": "report what a change to service definitions breaks",
    "call": "call a method of a running service with JSON, from its definition",
    "describe": "print a running service's (or a file's) definition, self-contained",
    "docs": "write a Markdown reference per service definition",
    "generate": "generate typed client/servicer packages from service definitions",
    "lint": "check service definitions against style and evolution rules",
    "serve": "run a servicer class as a worker on its queue",
}


def _missing_extra(name: str, exc: ImportError) -> Command:
    def run(args: argparse.Namespace) -> int:
        print(
            f"leveret {name}: needs the code generator ({exc}). "
            'Install it with: pip install "leveret[codegen]"',
            file=sys.stderr,
        )
        return 2

    return run


def _register(entry: EntryPoint, subparsers: Subparsers, /) -> None:
    try:
        register = entry.load()
    except ImportError as exc:
        stub = subparsers.add_parser(entry.name, help=f"(needs leveret[codegen]) {entry.name}")
        stub.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        stub.set_defaults(func=_missing_extra(entry.name, exc))
        return
    register(subparsers)


def _register_serve(subparsers: Subparsers) -> None:
    from leveret._commands import register_runtime_commands

    register_runtime_commands(subparsers)


def _command_in(argv: Sequence[str]) -> str | None:
    # The top-level parser has no option that takes a value, so the first word is the command.
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the full subparser of the command in ``argv`` only (all of them when
    ``argv`` is ``None``); the others are placeholders that carry their help line."""
    command = None if argv is None else _command_in(argv)
    parser = argparse.ArgumentParser(
        prog="leveret",
        description="Schema-first typed RPC over RabbitMQ.",
    )
    parser.add_argument("--version", action="version", version=f"leveret {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands: dict[str, Callable[[Subparsers], None]] = {"serve": _register_serve}
    for entry in entry_points(group="leveret.commands"):
        commands.setdefault(entry.name, functools.partial(_register, entry))
    for name in sorted(commands):
        if argv is None or name == command or name not in SUMMARIES:
            commands[name](subparsers)
        else:
            subparsers.add_parser(name, help=SUMMARIES[name], add_help=False)
    return parser


def _version() -> str:
    try:
        return version("leveret")
    except Exception:  # running from a source tree that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
