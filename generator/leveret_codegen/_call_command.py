"""``leveret call``: call a running service from its definition, without generated code.

It lives beside the generator because it needs the definition loader (YAML with positions, the
meta-schema, jsonschema); the call itself goes through the runtime's ``DynamicClient``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import leveret
from leveret import ConfigurationError, DynamicClient, LeveretError, RpcError
from leveret._commands import add_connection_arguments, connection_from_args
from leveret._wire import MAX_MESSAGE_SIZE, MAX_TIMEOUT, check_metadata
from leveret_codegen._diagnostics import has_errors
from leveret_codegen._frontend import Text, load_services
from leveret_codegen._queue_source import FetchError, fetch, is_queue_source
from leveret_codegen._suggest import closest

__all__ = ["MAX_TIMEOUT", "register", "run"]


_DESCRIPTION = """\
Validate JSON against the method's request schema in DEFINITION, send it to the service's queue
and print the reply as JSON.

DEFINITION is the service's definition file, or queue:<QUEUE> to ask the service running on
that queue for its definition (reflection, over --url or AMQP_URL) and call it there: no local
file needed.

On an error reply the error JSON ({code, message, error, details}) goes to stderr and the exit
status is 1, as when a queue:<QUEUE> cannot be described (nobody serves it, or its worker does
not answer reflection); a definition or argument problem exits 2.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "call",
        help="call a method of a running service with JSON, from its definition",
        description=_DESCRIPTION,
        epilog=(
            'examples:\n  leveret call schemas/calculator.yaml add \'{"a": 1, "b": 2}\'\n'
            '  leveret call queue:shop.Inventory reserve \'{"sku": "ABC-1234", "quantity": 2}\''
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "definition",
        metavar="DEFINITION",
        help="the service's definition file, or queue:<QUEUE> of the running service",
    )
    parser.add_argument("method", metavar="METHOD", help="method name as in the definition")
    parser.add_argument("json", metavar="JSON", help="the request object as JSON ('-': stdin)")
    parser.add_argument(
        "--url",
        default=None,
        help=(
            "broker URL (default: $AMQP_URL, local). A password given here shows in the "
            "process list: pass it in AMQP_URL or with --url-file instead"
        ),
    )
    add_connection_arguments(parser)
    parser.add_argument(
        "--timeout",
        default=None,
        help=(
            f"seconds, more than 0 and at most {MAX_TIMEOUT:g} (default: the method's timeout, "
            "or 60 when it has none)"
        ),
    )
    parser.add_argument("--queue", default=None, help="override the definition's queue")
    parser.add_argument(
        "--wait-for-ready",
        action="store_true",
        help=(
            "let the request wait in the queue for a worker until the timeout (default: fail "
            "at once with UNAVAILABLE when no worker consumes the queue)"
        ),
    )
    parser.add_argument(
        "--metadata",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=(
            "send KEY=VALUE as per-call metadata, as leveret.metadata({KEY: VALUE}) does "
            "(repeatable; keys are 1 to 64 characters of a-z 0-9 - _ .)"
        ),
    )
    parser.add_argument(
        "--max-message-size",
        type=int,
        default=MAX_MESSAGE_SIZE,
        metavar="BYTES",
        help=(
            "largest request body to send and reply body to accept: a larger request is not "
            "sent, a larger reply fails the call with RESOURCE_EXHAUSTED (default "
            f"{MAX_MESSAGE_SIZE}, 4 MiB, as gRPC)"
        ),
    )
    parser.add_argument(
        "--server-user",
        default=None,
        metavar="USER",
        help=(
            "the broker user the service's workers log in as: a reply published as anyone "
            "else (its user_id) is dropped and never taken as the answer (default: any reply "
            "with the call's correlation id; see docs/security.md, Reply authenticity)"
        ),
    )
    parser.set_defaults(func=run)


# MAX_TIMEOUT: RabbitMQ takes a message's expiration as a 32-bit count of milliseconds, so a
# longer deadline cannot be sent; a deadline of 0 or less (or nan) can only ever end
# DEADLINE_EXCEEDED. Either is a mistake on the command line rather than a call to make.


def _fail(message: str) -> int:
    print(f"leveret call: {message}", file=sys.stderr)
    return 2


def _parse_timeout(text: str) -> float | None:
    """The --timeout in seconds, or None when it is not a usable deadline."""
    try:
        seconds = float(text)
    except ValueError:
        return None
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_TIMEOUT:
        return None
    return seconds


def _parse_metadata(entries: list[str]) -> dict[str, str] | str:
    """The --metadata entries as a checked dict, or what is wrong with them."""
    metadata: dict[str, str] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep:
            return f"--metadata {entry!r}: expected KEY=VALUE"
        if key in metadata:
            return f"--metadata: key {key!r} given twice"
        metadata[key] = value
    try:
        return check_metadata(metadata)
    except ValueError as exc:
        return f"--metadata: {exc}"


def run(args: argparse.Namespace) -> int:
    metadata = _parse_metadata(args.metadata)
    if isinstance(metadata, str):
        return _fail(metadata)
    try:
        # No warning here: stderr carries the error reply as JSON, for scripts to read.
        url, tls = connection_from_args(args, "call", warn=False)
    except ConfigurationError as exc:
        return _fail(str(exc))
    timeout: float | None = None
    if args.timeout is not None:
        timeout = _parse_timeout(args.timeout)
        if timeout is None:
            return _fail(
                f"--timeout {args.timeout!r}: expected seconds, more than 0 and at most "
                f"{MAX_TIMEOUT} (about {MAX_TIMEOUT // 86400} days)"
            )
    queue: str | None = None  # where the definition came from, when from a running service
    source: str | Text = args.definition
    if is_queue_source(args.definition):
        try:
            described = fetch(args.definition, url, tls, args.server_user)
        except FetchError as exc:
            print(f"leveret call: {exc}", file=sys.stderr)
            return 1
        queue, source = described.queue, described.source()
    services, diagnostics = load_services([source])
    for diagnostic in diagnostics:
        print(diagnostic.render(), file=sys.stderr)
    if has_errors(diagnostics):
        return 2
    if not services:
        return _fail(f"{args.definition} defines no service")
    service = services[0]
    method = next((m for m in service.methods if m.name == args.method), None)
    if method is None:
        names = [m.name for m in service.methods]
        guess = closest(args.method, names)
        hint = f" (did you mean {guess!r}?)" if guess else ""
        return _fail(
            f"{service.service} has no method {args.method!r}{hint} (it has: {', '.join(names)})"
        )
    text = sys.stdin.read() if args.json == "-" else args.json
    try:
        body: Any = json.loads(text)
    except ValueError as exc:
        return _fail(f"JSON argument does not parse: {exc}")
    import jsonschema  # here: slow to import, and only a call that is sent needs it

    schema = dict(json.loads(service.models_schema))
    schema["$ref"] = f"#/$defs/{method.request_type}"
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    problems = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if problems:
        for problem in problems:
            where = "/".join(str(p) for p in problem.absolute_path) or "(request)"
            print(f"leveret call: {where}: {problem.message}", file=sys.stderr)
        return 2
    # A method without a deadline would let a call to an idle queue wait forever; a command
    # line tool must end, so it gets a finite default.
    if timeout is None:
        timeout = method.timeout or 60.0
    try:
        with (
            DynamicClient.connect(
                url,
                tls=tls,
                max_message_size=args.max_message_size,
                server_user=args.server_user,
            ) as client,
            leveret.metadata(metadata),
        ):
            reply = client.call(
                args.queue or queue or service.queue,
                method.name,
                body,
                timeout,
                wait_for_ready=args.wait_for_ready,
            )
    except RpcError as exc:
        error = {
            "code": exc.status.name,
            "message": exc.message,
            "error": exc.remote_error,
            "details": exc.details,
        }
        print(json.dumps(error, indent=2), file=sys.stderr)
        return 1
    except LeveretError as exc:
        return _fail(str(exc))
    print(json.dumps(reply, indent=2))
    return 0
