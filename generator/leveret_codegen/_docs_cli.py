"""``leveret docs`` and ``leveret asyncapi``: review documents for service definitions.

Registered with the ``leveret`` command through the ``leveret.commands`` entry-point group. Both
load definitions like ``leveret generate`` does (same diagnostics, same fail-closed rule), build
one file per definition with a service, and write them, or with ``--check`` compare them with
what is on disk.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from leveret_codegen._asyncapi import (
    asyncapi_document,
    asyncapi_file_name,
    check_references,
    dump_yaml,
)
from leveret_codegen._diagnostics import Diagnostic, has_errors
from leveret_codegen._docs import docs_file_name, render_docs
from leveret_codegen._frontend import load_services
from leveret_codegen._ir import ServiceDef
from leveret_codegen._source_args import SOURCE_HELP, add_source_arguments, resolve_sources
from leveret_codegen.cli import _print_diagnostics

__all__ = ["register_asyncapi", "register_docs", "run_asyncapi", "run_docs"]

#: One service in, (file name, text) or diagnostics out.
Renderer = Callable[
    [ServiceDef, argparse.Namespace], tuple[str, str | None, tuple[Diagnostic, ...]]
]

_COMMON = """\
Each PATH is a definition file (.yaml, .yml or .json) or a folder searched for them, or
queue:<QUEUE> for the definition the service on that queue describes itself with (over
--url or AMQP_URL), as for `leveret generate`; libraries of types (no `service`) produce no
file of their own. Output is deterministic, so the files can be committed and reviewed, or
published as CI artifacts.

With --check nothing is written: the command lists the files that are missing or differ from
what it would write and exits 1, or exits 0 when DIR is up to date.

Exit status: 0 success, 1 errors in a definition (nothing is written), stale files with
--check, or a queue:<QUEUE> that cannot be described, 2 bad usage.
"""

_DOCS_DESCRIPTION = (
    """\
Write a Markdown reference per service definition: DIR/<package>.md.

The page shows the service, its queue, a table of methods and, for every method, its request
and response properties (type, required, constraints, description), its declared errors, its
timeout and idempotency, and an example request and reply. The examples are built from the
schemas (examples, default, enum, format, pattern, bounds) and validated against them; when no
valid example can be built the run fails with error LV501 and a hint.

"""
    + _COMMON
)

_ASYNCAPI_DESCRIPTION = (
    """\
Write an AsyncAPI 3.0 document per service definition: DIR/<package>.asyncapi.yaml (with
--view client: DIR/<package>.client.asyncapi.yaml).

Each method is a request/reply operation on the service queue's channel, with the AMQP
bindings, a correlation id ($message.header#/correlation_id), a reply whose address is the
request's reply_to ($message.header#/reply_to), the rpc-deadline request header and the
rpc-status reply header; declared errors are reply messages too, and the definition's types
are components/schemas. The server view (action: receive) is the default.

"""
    + _COMMON
)


def _add_common(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="definition files, or folders to search for *.yaml, *.yml and *.json, " + SOURCE_HELP,
    )
    parser.add_argument(
        "--out", "-o", required=True, metavar="DIR", help=f"output directory for the {what}"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; list missing or stale files and exit 1 if DIR is not up to date",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="print only diagnostics")
    add_source_arguments(parser, trust_queue=True)


def register_docs(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``docs`` subcommand to the ``leveret`` command."""
    parser = subparsers.add_parser(
        "docs",
        help="write a Markdown reference per service definition",
        description=_DOCS_DESCRIPTION,
        epilog="examples:\n  leveret docs schemas --out docs/services\n"
        "  leveret docs schemas --out docs/services --check\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(parser, "Markdown pages")
    parser.set_defaults(func=run_docs)


def register_asyncapi(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``asyncapi`` subcommand to the ``leveret`` command."""
    parser = subparsers.add_parser(
        "asyncapi",
        help="write an AsyncAPI 3.0 document per service definition",
        description=_ASYNCAPI_DESCRIPTION,
        epilog="examples:\n  leveret asyncapi schemas --out build/asyncapi\n"
        "  leveret asyncapi schemas/inventory.yaml --out build/asyncapi --view client\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(parser, "AsyncAPI documents")
    parser.add_argument(
        "--view",
        choices=("server", "client"),
        default="server",
        help="describe the service (receive requests, send replies; the default) or a caller "
        "(send requests, receive replies)",
    )
    parser.set_defaults(func=run_asyncapi)


def _docs(
    service: ServiceDef, args: argparse.Namespace
) -> tuple[str, str | None, tuple[Diagnostic, ...]]:
    text, diagnostics = render_docs(service)
    return docs_file_name(service), text, diagnostics


def _asyncapi(
    service: ServiceDef, args: argparse.Namespace
) -> tuple[str, str | None, tuple[Diagnostic, ...]]:
    document = asyncapi_document(service, args.view)
    problems = check_references(document)
    if problems:  # a bug in the emitter, never in the definition: fail loudly
        raise AssertionError("inconsistent AsyncAPI document: " + "; ".join(problems))
    return asyncapi_file_name(service, args.view), dump_yaml(document), ()


def run_docs(args: argparse.Namespace) -> int:
    """Run ``leveret docs``; returns the exit status."""
    return _run("docs", _docs, args)


def run_asyncapi(args: argparse.Namespace) -> int:
    """Run ``leveret asyncapi``; returns the exit status."""
    return _run("asyncapi", _asyncapi, args)


def _run(command: str, render: Renderer, args: argparse.Namespace) -> int:
    out_dir = Path(args.out)
    display = out_dir.as_posix().rstrip("/") or "."
    sources = resolve_sources(args.paths, args, command)
    if sources is None:
        return 1
    services, diagnostics = load_services(sources)
    outputs: list[tuple[ServiceDef, str, str]] = []
    found = list(diagnostics)
    for service in services:
        name, text, more = render(service, args)
        found += more
        if text is not None:
            outputs.append((service, name, text))
    _print_diagnostics(tuple(sorted(set(found))), sys.stderr)
    if has_errors(found):
        print(f"leveret {command}: nothing written: fix the errors above.", file=sys.stderr)
        return 1
    if not services:
        print(
            f"leveret {command}: no definition with a service found in "
            + ", ".join(str(p) for p in args.paths),
            file=sys.stderr,
        )
        return 1
    if args.check:
        stale = [
            name
            for _, name, text in outputs
            if not (out_dir / name).is_file()
            or (out_dir / name).read_text(encoding="utf-8") != text
        ]
        for name in stale:
            print(f"{display}/{name} is out of date", file=sys.stdout)
        if stale:
            print(
                f"leveret {command} --check: {len(stale)} file{'s' * (len(stale) != 1)} in "
                f"{display} out of date; run without --check to update them.",
                file=sys.stderr,
            )
            return 1
        if not args.quiet:
            print(f"{display} is up to date ({len(outputs)} files).")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for service, name, text in outputs:
        target = out_dir / name
        unchanged = target.is_file() and target.read_text(encoding="utf-8") == text
        if not unchanged:
            target.write_text(text, encoding="utf-8", newline="\n")
        if not args.quiet:
            state = " (unchanged)" if unchanged else ""
            print(f"wrote {display}/{name} ({service.source}){state}")
    return 0
