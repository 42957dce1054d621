"""``leveret serve``: run a servicer class as a worker. Needs only the runtime."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from leveret._errors import LeveretError
from leveret._supervisor import Supervisor, watch_supervisor
from leveret._url import redact, resolve_url
from leveret._worker import QUEUE_TYPES, Worker

__all__ = ["load_servicer", "register_runtime_commands"]


def load_servicer(target: str) -> object:
    """Instantiate ``MODULE:CLASS`` (the class must take no arguments)."""
    module_name, _, class_name = target.partition(":")
    if not module_name or not class_name:
        raise LeveretError(f"expected MODULE:CLASS, got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise LeveretError(f"cannot import {module_name!r}: {exc}") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise LeveretError(f"{module_name!r} has no class {class_name!r}")
    return cls()


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
    )
    # pika logs every failed connection attempt as an ERROR; leveret reports the failure itself.
    logging.getLogger("pika").setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
    if args.app_dir not in sys.path:
        sys.path.insert(0, args.app_dir)
    try:
        servicer = load_servicer(args.target)
        # Built with --workers too: the servicer loads and the options hold here, once, so
        # the children will not crash-loop on them under the supervisor.
        worker = Worker(
            servicer,
            url=args.url,
            queue=args.queue,
            concurrency=args.concurrency,
            prefetch=args.prefetch,
            grace=args.grace,
            queue_type=args.queue_type,
            inline=args.inline,
        )
        if args.workers is not None:
            return _supervise(args)
        watch_supervisor()
        worker.run()
    except LeveretError as exc:
        print(f"leveret serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if worker.forced_by is not None:
        return 128 + int(worker.forced_by)
    return 0


def _supervise(args: argparse.Namespace) -> int:
    """``--workers N``: N children, each ``leveret serve`` with the same options."""
    if args.workers < 1:
        print("leveret serve: --workers must be at least 1", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "leveret", "serve", args.target]
    command += ["--app-dir", os.path.abspath(args.app_dir), "--grace", str(args.grace)]
    for option, value in (
        ("--queue", args.queue),
        ("--concurrency", args.concurrency),
        ("--prefetch", args.prefetch),
        ("--queue-type", args.queue_type),
    ):
        if value is not None:
            command += [option, str(value)]
    if args.inline is not None:
        command.append("--inline" if args.inline else "--no-inline")
    if args.verbose:
        command.append("-v")
    env = dict(os.environ)
    if args.url is not None:
        env["AMQP_URL"] = args.url  # not on the command line, where ps shows passwords
    return Supervisor(command, args.workers, env=env, grace=args.grace).run()


def register_runtime_commands(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run a servicer class as a worker on its queue",
        description=(
            "Run a servicer (a subclass of a generated <Service>Servicer or "
            "Async<Service>Servicer) on its service queue until SIGTERM or SIGINT. Any number "
            "of workers may share a queue; each acks a request only after replying. The first "
            "SIGTERM/SIGINT stops consuming, requeues what has not started and lets the "
            "handlers in progress finish within --grace; a second one exits at once."
        ),
    )
    serve.add_argument("target", metavar="MODULE:CLASS", help="servicer class to instantiate")
    serve.add_argument(
        "--url",
        default=None,
        help=f"broker URL (default: $AMQP_URL or {redact(resolve_url(None))})".replace("%", "%%"),
    )
    serve.add_argument("--queue", default=None, help="override the definition's queue")
    serve.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="requests handled at once (threads for sync servicers; default 1, async 64)",
    )
    serve.add_argument(
        "--prefetch",
        type=int,
        default=None,
        help="unacked requests per worker (default: concurrency)",
    )
    serve.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds to let handlers in progress finish on shutdown (default 10)",
    )
    serve.add_argument(
        "--queue-type",
        choices=QUEUE_TYPES,
        default=None,
        help="type of the request queue to declare (default: the definition's, else classic)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help=(
            "run N worker processes under a supervisor that restarts one that dies and "
            "forwards SIGTERM/SIGINT to them (default: one worker, in this process)"
        ),
    )
    serve.add_argument(
        "--inline",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=(
            "run a sync servicer's handlers on the worker's I/O thread, saving two thread "
            "switches per request (needs concurrency 1; default: on when concurrency and "
            "prefetch are 1); --no-inline keeps them on a handler thread"
        ),
    )
    serve.add_argument(
        "--app-dir", default=".", help="directory to put on sys.path first (default: .)"
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    serve.set_defaults(func=_serve)
