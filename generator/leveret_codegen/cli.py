"""``leveret generate``: the only place of the generator that prints.

Registered with the ``leveret`` command through the ``leveret.commands`` entry-point group.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from leveret_codegen._diagnostics import Diagnostic, Severity, has_errors
from leveret_codegen._lang import add_lang_argument, generate_for
from leveret_codegen._source_args import SOURCE_HELP, add_source_arguments, resolve_sources
from leveret_codegen._writer import apply_plan, plan_changes, render_diff

__all__ = ["register", "run"]

_DESCRIPTION = """\
Generate typed Python packages from leveret service definitions.

Each PATH is a definition file (.yaml, .yml or .json) or a folder searched for them, or
queue:<QUEUE> for the definition the service running on that queue describes itself with
(fetched over --url or AMQP_URL; the package name is the definition's). Every
definition with a service becomes one package, DIR/<package>/, holding its pydantic models,
one exception class per declared error, sync and asyncio clients, sync and asyncio servicer
base classes and the method specs. Files are marked DO NOT EDIT; a regeneration replaces them
and removes the ones leveret generated before but no longer does. Files leveret did not
generate are never overwritten.

With --check nothing is written: the command prints a unified diff of every stale, missing or
extra file and exits 1, or exits 0 when DIR is up to date (use it in CI).

With --lang typescript each package is TypeScript instead, for a project that depends on the
leveret npm package: types.ts, errors.ts, spec.ts, client.ts, servicer.ts and index.ts.

Exit status: 0 success (or fresh with --check), 1 errors in a definition, stale output, or
a queue:<QUEUE> nobody serves or whose worker does not answer reflection.
"""

_EXAMPLES = """\
examples:
  leveret generate schemas --out generated
  leveret generate schemas/inventory.yaml --out src --check
  leveret generate queue:shop.Inventory --out src
  leveret generate schemas --lang typescript --out generated/ts
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``generate`` subcommand to the ``leveret`` command."""
    parser = subparsers.add_parser(
        "generate",
        help="generate typed client/servicer packages from service definitions",
        description=_DESCRIPTION,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="definition files, or folders to search for *.yaml, *.yml and *.json, " + SOURCE_HELP,
    )
    parser.add_argument(
        "--out",
        "-o",
        required=True,
        metavar="DIR",
        help="output directory; each package is written to DIR/<package>/",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; print a diff of stale files and exit 1 if DIR is not up to date",
    )
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print only diagnostics and diffs"
    )
    add_lang_argument(parser)
    add_source_arguments(parser, trust_queue=True)
    parser.set_defaults(func=run)


def _use_colour(stream: TextIO) -> bool:
    if "NO_COLOR" in os.environ:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


_COLOURS = {Severity.ERROR: "\033[1;31m", Severity.WARNING: "\033[1;33m"}
_RESET = "\033[0m"


def _print_diagnostics(diagnostics: tuple[Diagnostic, ...], stream: TextIO) -> None:
    colour = _use_colour(stream)
    for diagnostic in sorted(diagnostics):
        text = diagnostic.render()
        if colour:
            label = f"{diagnostic.severity.value}[{diagnostic.code}]"
            text = text.replace(label, f"{_COLOURS[diagnostic.severity]}{label}{_RESET}", 1)
        print(text, file=stream)
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    warnings = len(diagnostics) - errors
    if diagnostics:
        parts = [f"{errors} error{'s' * (errors != 1)}"] if errors else []
        parts += [f"{warnings} warning{'s' * (warnings != 1)}"] if warnings else []
        print(", ".join(parts), file=stream)


def _display(path: Path) -> str:
    text = path.as_posix()
    return text[:-1] if text.endswith("/") and len(text) > 1 else text


def run(args: argparse.Namespace) -> int:
    """Run ``leveret generate``; returns the exit status."""
    out_dir = Path(args.out)
    display_dir = _display(out_dir)
    sources = resolve_sources(args.paths, args, "generate")
    if sources is None:
        return 1
    result = generate_for(args.lang, sources)
    _print_diagnostics(result.diagnostics, sys.stderr)
    if has_errors(result.diagnostics):
        print("leveret generate: nothing written: fix the errors above.", file=sys.stderr)
        return 1
    if not result.packages:
        print(
            "leveret generate: no definition with a service found in "
            + ", ".join(str(p) for p in args.paths),
            file=sys.stderr,
        )
        return 1
    plan = plan_changes(out_dir, result.files, [p.package for p in result.packages], display_dir)
    if plan.diagnostics:
        _print_diagnostics(plan.diagnostics, sys.stderr)
        print("leveret generate: nothing written: fix the errors above.", file=sys.stderr)
        return 1
    if args.check:
        if plan.changes:
            sys.stdout.write(render_diff(plan, display_dir))
            stale = len(plan.changes)
            print(
                f"leveret generate --check: {stale} file{'s' * (stale != 1)} in {display_dir} "
                "out of date; run without --check to update them.",
                file=sys.stderr,
            )
            return 1
        if not args.quiet:
            print(f"{display_dir} is up to date ({len(plan.unchanged)} files).")
        return 0
    apply_plan(out_dir, plan)
    if not args.quiet:
        changed = {c.path.partition("/")[0] for c in plan.changes}
        for package in result.packages:
            state = "" if package.package in changed else " (unchanged)"
            print(
                f"generated {package.package} ({package.source}) -> "
                f"{display_dir}/{package.package}: {len(package.files)} files{state}"
            )
        removed = [c.path for c in plan.changes if c.kind == "delete"]
        for path in removed:
            print(f"removed {display_dir}/{path} (no longer generated)")
    return 0
