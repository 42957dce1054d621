"""``leveret breaking`` and ``leveret lint``: the only part of schema review that prints.

Registered with the ``leveret`` command through the ``leveret.commands`` entry-point group.
Exit status: 0 nothing fails, 1 a breaking change (lint: an error) that is not ignored, 2 the
definitions, the config or git cannot be read.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from leveret_codegen._diagnostics import Diagnostic, Severity
from leveret_codegen._queue_source import is_queue_source
from leveret_codegen._review.breaking import compare_sides
from leveret_codegen._review.findings import Finding, Level, RuleSet, failing
from leveret_codegen._review.ignores import (
    ConfigError,
    Ignore,
    apply_ignores,
    definition_ignores,
    find_config,
    load_config,
)
from leveret_codegen._review.lint import lint_paths
from leveret_codegen._review.report import FORMATS, Report, render
from leveret_codegen._review.rules_breaking import BREAKING_RULES
from leveret_codegen._review.rules_lint import LINT_RULES
from leveret_codegen._review.sources import (
    FileReader,
    GitError,
    GitReader,
    Side,
    TextReader,
    find_moved,
    load_side,
)
from leveret_codegen._source_args import add_source_arguments, fetch_sources

__all__ = ["register_breaking", "register_lint", "run_breaking", "run_lint"]

_ALL_RULES = [*BREAKING_RULES.rules, *LINT_RULES.rules]

_BREAKING_DESCRIPTION = """\
Compare definitions with an older version and report what the change breaks.

NEW is a definition file or a folder of them. OLD is another file or folder, or git:REV to read
the same paths at a git revision (relative to the repository root), so CI compares a branch with
its base in one line. Either side may be queue:<QUEUE>: the definition the service running on
that queue describes itself with (over --url or AMQP_URL), so a change is checked against what
is deployed. Definitions are paired by service (package and name), then by path; with
git:REV a service not found at the same path is looked for in every file at REV (a moved file).

Requests may only get looser and responses only tighter; every difference is reported with a
rule ID (see --list-rules). Breaking changes (errors) fail the run; warnings and non-breaking
changes never do. Ignore a rule for one definition, with a reason, in leveret.yaml
(breaking: {ignore: [{rule, file, reason}]}) or in the definition (x-leveret-ignore).

Exit status: 0 nothing breaking, 1 a breaking change, 2 unreadable definitions, config or git
(a queue:<QUEUE> nobody serves, or whose worker does not answer reflection, is unreadable).
"""

_BREAKING_EXAMPLES = """\
examples:
  leveret breaking schemas --against git:origin/main
  leveret breaking schemas/inventory.yaml --against old/inventory.yaml --format markdown
  leveret breaking schemas --against git:HEAD --format github
  leveret breaking schemas/inventory.yaml --against queue:shop.Inventory
"""

_LINT_DESCRIPTION = """\
Check definitions against the style and evolution rules (see --list-rules): naming, descriptions,
timeouts and idempotency stated, closed requests and tolerant responses, no keyword the models
would not enforce, no unused types or errors, and everything `leveret generate` checks.

A PATH may be queue:<QUEUE>: the definition the service running on that queue describes itself
with (over --url or AMQP_URL), reported as queue:<QUEUE> at the lines of `leveret describe`.

Errors fail the run; warnings never do. Ignore a rule for one definition, with a reason, in
leveret.yaml (lint: {ignore: [{rule, file, reason}]}) or in the definition (x-leveret-ignore).

Exit status: 0 no error, 1 an error that is not ignored (an unreadable definition is one, and so
is a queue:<QUEUE> nobody serves or whose worker does not answer reflection), 2 an unreadable
config.
"""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text (colour on a terminal; NO_COLOR respected), json, github (workflow "
        "annotations) or markdown (a pull-request comment); default: text",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file with ignores (default: leveret.yaml or .leveret.yaml, searched from "
        "the current folder up to the repository root)",
    )
    parser.add_argument(
        "--fail-on",
        choices=["error", "warning"],
        default="error",
        help="the least severe finding that fails the run (default: error)",
    )
    parser.add_argument("--list-rules", action="store_true", help="print the rules and exit")


def register_breaking(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``breaking`` subcommand to the ``leveret`` command."""
    parser = subparsers.add_parser(
        "breaking",
        help="report what a change to service definitions breaks",
        description=_BREAKING_DESCRIPTION,
        epilog=_BREAKING_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="NEW",
        help="definition files or folders, or queue:<QUEUE> of a running service",
    )
    parser.add_argument(
        "--against",
        metavar="OLD",
        help="the old version: a definition file or folder, git:REV (same paths at REV), or "
        "queue:<QUEUE> (what the service running on that queue describes itself with)",
    )
    _common(parser)
    add_source_arguments(parser)
    parser.set_defaults(func=run_breaking, parser=parser)


def register_lint(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``lint`` subcommand to the ``leveret`` command."""
    parser = subparsers.add_parser(
        "lint",
        help="check service definitions against style and evolution rules",
        description=_LINT_DESCRIPTION,
        epilog="examples:\n  leveret lint schemas --format github\n"
        "  leveret lint queue:shop.Inventory",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="definition files or folders, or queue:<QUEUE> of a running service",
    )
    _common(parser)
    add_source_arguments(parser)
    parser.set_defaults(func=run_lint, parser=parser)


def _use_colour(stream: TextIO) -> bool:
    if "NO_COLOR" in os.environ:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _usage_error(args: argparse.Namespace, message: str) -> int:
    parser: argparse.ArgumentParser = args.parser
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    return 2


def _config_ignores(args: argparse.Namespace, section: str) -> list[Ignore]:
    path = Path(args.config) if args.config else find_config(Path.cwd())
    if path is None:
        return []
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    rules = {"breaking": BREAKING_RULES, "lint": LINT_RULES}
    elsewhere = {r: other for other, rule_set in rules.items() for r in rule_set.rules}
    own = rules[section].rules
    return load_config(
        path, section, own, elsewhere={r: s for r, s in elsewhere.items() if r not in own}
    )


def _finish(
    args: argparse.Namespace, tool: str, findings: Sequence[Finding], ignores: Sequence[Ignore]
) -> int:
    checked = apply_ignores(findings, ignores, Path.cwd())
    if args.format == "github":
        checked = _from_repository_root(checked, Path.cwd())
    failed = bool(failing(checked, Level(args.fail_on)))
    report = Report(tool, checked, failed)
    sys.stdout.write(render(report, args.format, colour=_use_colour(sys.stdout)))
    return 1 if failed else 0


def _annotation_root(cwd: Path) -> Path:
    """The folder GitHub resolves annotation paths against: the repository's top level."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True, check=False
        )
    except OSError:
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip():
        return Path(os.fsdecode(done.stdout.strip())).resolve()
    workspace = os.environ.get("GITHUB_WORKSPACE")
    return Path(workspace).resolve() if workspace else cwd.resolve()


def _from_repository_root(findings: Sequence[Finding], cwd: Path) -> list[Finding]:
    """Findings whose paths are relative to the repository root, not to ``cwd``: GitHub attaches
    no annotation to a path it cannot find from there (``./payments.yaml`` run from a subfolder).
    A file outside the repository keeps the path it was given."""
    root = _annotation_root(cwd)
    moved = []
    for finding in findings:
        try:
            file = (cwd / finding.file).resolve().relative_to(root).as_posix()
        except ValueError:
            file = finding.file
        if not finding.file or is_queue_source(finding.file):  # no file: a running service
            file = finding.file
        moved.append(dataclasses.replace(finding, file=file))
    return moved


def _print_problems(diagnostics: Sequence[Diagnostic], heading: str) -> None:
    print(heading, file=sys.stderr)
    for diagnostic in sorted(set(diagnostics)):
        print(diagnostic.render(), file=sys.stderr)


def _errors(side: Side) -> list[Diagnostic]:
    return [d for d in side.diagnostics if d.severity is Severity.ERROR]


def _list_rules(rules: RuleSet) -> int:
    sys.stdout.write(rules.table())
    return 0


def run_breaking(args: argparse.Namespace) -> int:
    """Run ``leveret breaking``; returns the exit status."""
    if args.list_rules:
        return _list_rules(BREAKING_RULES)
    if not args.paths or not args.against:
        return _usage_error(args, "give the new definitions (NEW) and --against OLD")
    described = fetch_sources([*args.paths, args.against], args, "breaking")
    if described is None:  # a running service that cannot be described: unreadable
        return 2
    files = TextReader({s: d.source().text for s, d in described.items()}, FileReader())
    try:
        ignores = _config_ignores(args, "breaking")
        new = load_side(files, args.paths)
        if args.against.startswith("git:"):
            old = load_side(GitReader(args.against[4:]), args.paths)
            find_moved(old, new)
        else:
            old = load_side(files, [args.against])
    except (ConfigError, GitError) as exc:
        print(f"leveret breaking: {exc}", file=sys.stderr)
        return 2
    for side, name in (
        (new, "the new definitions"),
        (old, f"the old definitions ({args.against})"),
    ):
        if _errors(side):
            _print_problems(_errors(side), f"leveret breaking: {name} cannot be read:")
            return 2
    findings = compare_sides(old, new)
    for side, name in (
        (new, "the new definitions"),
        (old, f"the old definitions ({args.against})"),
    ):
        if side.resolver.diagnostics:  # references that do not resolve: nothing to compare with
            _print_problems(side.resolver.diagnostics, f"leveret breaking: {name} cannot be read:")
            return 2
    try:
        new_paths = {d.path for d in new.documents}
        for document in new.documents:
            ignores += definition_ignores(document, _ALL_RULES)
        for document in old.documents:
            if document.path not in new_paths:
                ignores += definition_ignores(document, _ALL_RULES)
    except ConfigError as exc:
        print(f"leveret breaking: {exc}", file=sys.stderr)
        return 2
    return _finish(args, "breaking", findings, ignores)


def run_lint(args: argparse.Namespace) -> int:
    """Run ``leveret lint``; returns the exit status."""
    if args.list_rules:
        return _list_rules(LINT_RULES)
    if not args.paths:
        return _usage_error(args, "give the definitions to check (PATH)")
    described = fetch_sources(args.paths, args, "lint")
    if described is None:  # as a definition that cannot be read: an error, not the config
        return 1
    try:
        ignores = _config_ignores(args, "lint")
        texts = {source: d.source() for source, d in described.items()}
        findings, side = lint_paths(args.paths, texts)
        for document in side.documents:
            ignores += definition_ignores(document, _ALL_RULES)
    except ConfigError as exc:
        print(f"leveret lint: {exc}", file=sys.stderr)
        return 2
    return _finish(args, "lint", findings, ignores)
