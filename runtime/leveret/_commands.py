"""``leveret serve``: run a servicer class as a worker. Needs only the runtime."""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from leveret._errors import ConfigurationError, LeveretError
from leveret._health import DEFAULT_HOST, HealthServer, check_ports
from leveret._logging import LEVELS, LOG_FORMATS, configure
from leveret._middleware import Middleware
from leveret._spec import ServiceSpec
from leveret._supervisor import Supervisor, watch_supervisor
from leveret._tls import TLS
from leveret._url import DEFAULT_URL, check_url, redact, split_urls
from leveret._wire import MAX_MESSAGE_SIZE
from leveret._worker import QUEUE_TYPES, Worker

__all__ = [
    "add_connection_arguments",
    "connection_from_args",
    "load_middleware",
    "load_servicer",
    "load_servicer_class",
    "register_runtime_commands",
]

_APP_DIR_HINT = (
    "if it imports a generated package, pass the folder given to 'leveret generate --out' "
    "with --app-dir"
)


def load_servicer_class(target: str) -> type:
    """The servicer class ``MODULE:CLASS`` names, checked as far as possible without building
    it: a generated servicer's subclass, every method implemented, no required arguments."""
    module_name, _, class_name = target.partition(":")
    if not module_name or not class_name:
        raise ConfigurationError(f"expected MODULE:CLASS, got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name != module_name:
            hint = f" ({_APP_DIR_HINT})"
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}{hint}") from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ConfigurationError(f"{module_name!r} has no class {class_name!r}")
    if not isinstance(getattr(cls, "service", None), ServiceSpec):
        what = "a pydantic model (a request or response type)" if _is_model(cls) else "a class"
        raise ConfigurationError(
            f"{target} is {what}, not a servicer: name your subclass of a generated "
            "<Service>Servicer or Async<Service>Servicer that implements its methods"
        )
    base = next(k.__name__ for k in cls.__mro__ if "service" in vars(k))
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise ConfigurationError(
            f"{target} does not implement {names}: define {'them' if len(missing) > 1 else 'it'}"
            f" in {cls.__name__} (the signatures are in the generated {base})"
        )
    required = _required_parameters(cls)
    if required:
        raise ConfigurationError(
            f"{target}: {cls.__name__}() needs arguments ({', '.join(required)}), but leveret "
            "serve builds the servicer with none: give them defaults or read them from the "
            "environment in __init__"
        )
    return cls


def load_middleware(target: str) -> Middleware:
    """The middleware ``MODULE:ATTR`` names: an instance as it is, a class built with no
    arguments. Checked for its hooks by :class:`Worker`."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--middleware: expected MODULE:ATTR, got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an import error, or whatever the module raises as it loads
        raise ConfigurationError(
            f"--middleware {target}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    value = getattr(module, attribute, None)
    if value is None:
        raise ConfigurationError(f"--middleware {target}: {module_name!r} has no {attribute!r}")
    if isinstance(value, type):
        try:
            value = value()
        except Exception as exc:
            raise ConfigurationError(
                f"--middleware {target}: {attribute}() failed: {type(exc).__name__}: {exc} "
                "(leveret serve builds a middleware class with no arguments; name an instance "
                "to configure it)"
            ) from exc
    if not callable(getattr(value, "intercept", None)) and not callable(
        getattr(value, "intercept_async", None)
    ):
        raise ConfigurationError(
            f"--middleware {target} is a {type(value).__name__}, not a middleware (an object "
            "with intercept(call, call_next) or intercept_async(call, call_next))"
        )
    return cast(Middleware, value)  # duck-typed: the hooks are what Worker checks


def load_servicer(target: str) -> object:
    """Instantiate ``MODULE:CLASS`` (the class must take no arguments)."""
    return load_servicer_class(target)()


def _is_model(cls: type) -> bool:
    return issubclass(cls, BaseModel)


def _required_parameters(cls: type) -> list[str]:
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):  # no signature to read (a C type): find out by building it
        return []
    try:
        signature.bind()
    except TypeError:
        return [
            name
            for name, param in signature.parameters.items()
            if param.default is param.empty
            and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
        ]
    return []


def _probe(cls: type) -> object:
    """An instance of ``cls`` whose ``__init__`` has not run: enough for :class:`Worker` to
    check the handlers and the options, without what ``__init__`` opens (a database pool...)
    in a supervisor that never serves."""
    return object.__new__(cls)


def _add_app_dirs(app_dirs: Sequence[str] | None) -> None:
    # The current folder too: the ``leveret`` script puts only its own folder on sys.path
    # (``python -m`` adds the current one), and the servicer's module is usually there.
    for path in reversed([*(app_dirs or []), "."]):
        path = os.path.abspath(path)
        if path not in sys.path:
            sys.path.insert(0, path)


def _url(value: str) -> str:
    try:
        return check_url(value)
    except ConfigurationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: The well-known default login: no secret, so no warning about it either.
_DEFAULT_PASSWORD = "guest"


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--url-file`` and the ``--tls-*`` options, the same for ``serve`` and ``call``."""
    parser.add_argument(
        "--url-file",
        metavar="PATH",
        default=None,
        help=(
            "read the broker URL from the file PATH (surrounding whitespace ignored): with "
            "AMQP_URL, the way to pass a password, which --url shows to every local user in "
            "the process list"
        ),
    )
    parser.add_argument(
        "--tls-ca",
        metavar="PATH",
        default=None,
        help=(
            "connect with TLS, trusting the CA certificates in PATH (PEM) instead of the "
            "system's; the broker's name is checked against the URL's host. Also turns TLS "
            "on for an amqp:// URL, on the URL's port as given (amqps:// alone uses the "
            "system's CAs)"
        ),
    )
    parser.add_argument(
        "--tls-cert",
        metavar="PATH",
        default=None,
        help=(
            "connect with TLS and present the client certificate in PATH (PEM); with no "
            "password in the URL, log in with EXTERNAL (the broker takes the user from the "
            "certificate)"
        ),
    )
    parser.add_argument(
        "--tls-key",
        metavar="PATH",
        default=None,
        help="the unencrypted private key of --tls-cert (PEM; default: in the --tls-cert file)",
    )


def connection_from_args(
    args: argparse.Namespace, command: str, *, warn: bool = True
) -> tuple[str | None, TLS | None]:
    """The URL (from --url, --url-file, else None for AMQP_URL) and the TLS settings given on
    the command line; raises :class:`ConfigurationError` for a usage error. With ``warn``,
    says on stderr when --url carries a password, without showing it."""
    url: str | None = args.url
    if args.url_file is not None:
        if url is not None:
            raise ConfigurationError("give --url or --url-file, not both")
        url = _read_url_file(args.url_file)
    elif warn and url is not None and _has_password(url):
        print(
            f"leveret {command}: warning: --url carries a password, which every local user "
            "can read in the process list; pass the URL in the AMQP_URL environment variable "
            "or with --url-file PATH instead",
            file=sys.stderr,
        )
    if args.tls_key is not None and args.tls_cert is None:
        raise ConfigurationError("--tls-key needs --tls-cert (the certificate of that key)")
    tls = None
    if args.tls_ca is not None or args.tls_cert is not None:
        tls = TLS(ca_file=args.tls_ca, cert_file=args.tls_cert, key_file=args.tls_key)
        tls.ssl_context()  # the files read now: a usage error, not a failed connection
    return url, tls


def _read_url_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read().strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ConfigurationError(f"--url-file {path}: cannot read it ({reason})") from None
    if not text:
        raise ConfigurationError(f"--url-file {path}: the file is empty")
    return check_url(text)  # its errors show the URL redacted


def _has_password(url: str) -> bool:
    """Whether an address in ``url`` carries a password other than the public default."""
    for address in split_urls(url):
        try:
            password = urlsplit(address).password
        except ValueError:
            continue
        if password is not None and unquote(password) != _DEFAULT_PASSWORD:
            return True
    return False


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {port}")
    return port


def _login_timeout(value: str) -> float | None:
    if value.strip().lower() == "never":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds or 'never', not {value!r}") from None
    if not 0 < seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"positive seconds or 'never', not {value!r}")
    return seconds


def _level(value: str) -> str:
    level = value.upper()
    if level not in LEVELS:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(LEVELS)}, not {value!r}")
    return level


def _serve(args: argparse.Namespace) -> int:
    configure(args.log_format, "DEBUG" if args.verbose else args.log_level)
    if args.workers is not None and args.workers < 1:
        print("leveret serve: --workers must be at least 1", file=sys.stderr)
        return 2
    options = (("--health-port", args.health_port), ("--metrics-port", args.metrics_port))
    for option, port in options if args.workers is not None else ():
        # Worker i listens on PORT + i - 1: each needs a port known in advance.
        if port is not None and (port == 0 or port + args.workers - 1 > 65535):
            print(
                f"leveret serve: with --workers N, {option} PORT gives worker i the port "
                f"PORT+i-1: PORT must be from 1 to {65536 - args.workers}",
                file=sys.stderr,
            )
            return 2
    try:
        args.url, tls = connection_from_args(args, "serve")
    except ConfigurationError as exc:
        print(f"leveret serve: {exc}", file=sys.stderr)
        return 2
    _add_app_dirs(args.app_dir)
    try:
        cls = load_servicer_class(args.target)
        middleware = [load_middleware(target) for target in args.middleware or ()]
        if args.metrics_port is not None:
            # Outermost, so that the time and status it records include the user's middleware.
            middleware.insert(0, _metrics_middleware())
        # With --workers this process only supervises: the options are checked here, once,
        # so the children will not crash-loop on them, but the servicer is built only in them.
        servicer = _probe(cls) if args.workers is not None else cls()
        worker = Worker(
            servicer,
            url=args.url,
            tls=tls,
            queue=args.queue,
            concurrency=args.concurrency,
            prefetch=args.prefetch,
            grace=args.grace,
            queue_type=args.queue_type,
            inline=args.inline,
            max_message_size=args.max_message_size,
            middleware=middleware,
            require_caller=args.require_caller,
            refused_login_timeout=args.refused_login_timeout,
            log_calls=not args.no_log_calls,
            reflection=not args.no_reflection,
            on_drift=args.on_drift,
        )
    except LeveretError as exc:
        print(f"leveret serve: {exc}", file=sys.stderr)
        return 2
    health: HealthServer | None = None
    metrics: Any = None
    try:
        _check_port_ranges(args)
        if args.workers is not None:
            if args.health_port is not None:
                ports = range(args.health_port, args.health_port + args.workers)
                check_ports(args.health_host, ports)
            if args.metrics_port is not None:
                ports = range(args.metrics_port, args.metrics_port + args.workers)
                check_ports(args.metrics_host, ports, "metrics")
            return _supervise(args)
        # Bound before connecting: a port in use must stop the worker before it takes requests.
        if args.health_port is not None:
            health = HealthServer(
                alive=lambda: worker.alive,
                ready=lambda: worker.ready,
                port=args.health_port,
                host=args.health_host,
            )
        metrics = _metrics_server(args)
    except ConfigurationError as exc:
        if health is not None:
            health.close()
        print(f"leveret serve: {exc}", file=sys.stderr)
        return 2
    watch_supervisor()
    if health is not None:
        health.start()
    try:
        worker.run()
    except LeveretError as exc:
        print(f"leveret serve: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if health is not None:
            health.close()
        if metrics is not None:
            metrics.close()
    if worker.forced_by is not None:
        return 128 + int(worker.forced_by)
    return 0


def _check_port_ranges(args: argparse.Namespace) -> None:
    """The health and metrics ports of every worker must differ: otherwise one worker fails
    to bind, exits and is restarted for ever by the supervisor."""
    if not args.health_port or not args.metrics_port:  # 0 picks a free port
        return
    workers = args.workers or 1
    clash = set(range(args.health_port, args.health_port + workers)) & set(
        range(args.metrics_port, args.metrics_port + workers)
    )
    if clash:
        raise ConfigurationError(
            f"--health-port and --metrics-port overlap at port {min(clash)}: each takes PORT to "
            f"PORT+{workers - 1} (one port per worker)"
        )


def _metrics_middleware() -> Middleware:
    try:
        from leveret.prometheus import Metrics
    except ImportError as exc:
        raise ConfigurationError(
            f"--metrics-port needs prometheus-client: pip install 'leveret[prometheus]' ({exc})"
        ) from None
    return Metrics()


def _metrics_server(args: argparse.Namespace) -> Any:
    """The bound /metrics server of this worker, or None without --metrics-port."""
    if args.metrics_port is None:
        return None
    from leveret.prometheus import MetricsServer

    server = MetricsServer(port=args.metrics_port, host=args.metrics_host)
    logging.getLogger("leveret.metrics").info("metrics at %s", server.url)
    return server


def _supervise(args: argparse.Namespace) -> int:
    """``--workers N``: N children, each ``leveret serve`` with the same options."""
    command = [sys.executable, "-m", "leveret", "serve", args.target, "--grace", str(args.grace)]
    for path in args.app_dir or []:
        command += ["--app-dir", os.path.abspath(path)]
    for option, value in (
        ("--queue", args.queue),
        ("--concurrency", args.concurrency),
        ("--prefetch", args.prefetch),
        ("--queue-type", args.queue_type),
        ("--max-message-size", args.max_message_size),
        ("--refused-login-timeout", args.refused_login_timeout),
    ):
        if value is not None:
            command += [option, str(value)]
    for option, path in (
        ("--tls-ca", args.tls_ca),
        ("--tls-cert", args.tls_cert),
        ("--tls-key", args.tls_key),
    ):
        if path is not None:
            command += [option, os.path.abspath(path)]
    if args.refused_login_timeout is None:
        command += ["--refused-login-timeout", "never"]
    if args.inline is not None:
        command.append("--inline" if args.inline else "--no-inline")
    if args.require_caller:
        command.append("--require-caller")
    if args.no_log_calls:
        command.append("--no-log-calls")
    if args.no_reflection:
        command.append("--no-reflection")
    if args.on_drift != "warn":
        command += ["--on-drift", args.on_drift]
    for target in args.middleware or ():
        command += ["--middleware", target]
    if args.verbose:
        command.append("-v")
    command += ["--log-format", args.log_format, "--log-level", args.log_level]
    # Each worker gets ports of its own: PORT+i-1 for worker i, as the parent checked.
    per_port: list[tuple[str, int, str, str]] = []
    if args.health_port is not None:
        per_port.append(("--health-port", args.health_port, "--health-host", args.health_host))
    if args.metrics_port is not None:
        per_port.append(("--metrics-port", args.metrics_port, "--metrics-host", args.metrics_host))

    def own_ports(n: int) -> list[str]:
        extra: list[str] = []
        for option, base, host_option, host in per_port:
            extra += [option, str(base + n - 1), host_option, host]
        return extra

    per_worker = own_ports if per_port else None
    env = dict(os.environ)
    if args.url is not None:
        # Also the URL of --url-file: not on the command line, where ps shows passwords.
        env["AMQP_URL"] = args.url
    return Supervisor(command, args.workers, env=env, grace=args.grace, per_worker=per_worker).run()


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
    default_url = redact(os.environ.get("AMQP_URL") or DEFAULT_URL)
    serve.add_argument(
        "--url",
        type=_url,
        default=None,
        help=(
            "broker URL, amqp://USER:PASS@HOST:PORT/VHOST or amqps://...; a cluster's addresses "
            f"comma-separated (default: $AMQP_URL or {default_url}). A password given here "
            "shows in the process list: pass it in AMQP_URL or with --url-file instead"
        ).replace("%", "%%"),
    )
    add_connection_arguments(serve)
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
        "--max-message-size",
        type=int,
        default=MAX_MESSAGE_SIZE,
        metavar="BYTES",
        help=(
            "largest request body to accept and reply body to send: a larger request is "
            "answered with RESOURCE_EXHAUSTED before it is parsed, a larger reply is replaced "
            "by RESOURCE_EXHAUSTED (keep it at or below the broker's max_message_size, 128 MiB "
            f"on RabbitMQ 3.x, 16 MiB on 4.x; default {MAX_MESSAGE_SIZE}, 4 MiB, as gRPC)"
        ),
    )
    serve.add_argument(
        "--refused-login-timeout",
        type=_login_timeout,
        default=300.0,
        metavar="SECONDS",
        help=(
            "when the broker refuses the login on a reconnect (password changed, user "
            "deleted), keep retrying this long, then exit with status 1 so that a supervisor "
            "or Kubernetes restarts the worker with the current credentials; 'never' retries "
            "for ever (default 300)"
        ),
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
        "--no-log-calls",
        action="store_true",
        help=(
            "no record per handled call on the leveret.server logger (by default one at INFO "
            "for OK, WARNING for other statuses, ERROR for INTERNAL); failures the worker "
            "cannot answer are still logged"
        ),
    )
    serve.add_argument(
        "--no-reflection",
        action="store_true",
        help=(
            "do not answer leveret.describe (the service's definition and fingerprints, which "
            "`leveret describe queue:<queue>` and the other queue: sources read)"
        ),
    )
    serve.add_argument(
        "--on-drift",
        choices=("warn", "reject"),
        default="warn",
        help=(
            "a caller generated from another contract of a method: serve it and log it once "
            "per pair of fingerprints (warn, the default), or answer FAILED_PRECONDITION "
            "(reject, for services deployed in lockstep)"
        ),
    )
    serve.add_argument(
        "--require-caller",
        action="store_true",
        help=(
            "answer a request that carries no AMQP user_id (the caller's broker login) with "
            "UNAUTHENTICATED, before the servicer or any middleware sees it; see "
            "docs/security.md"
        ),
    )
    serve.add_argument(
        "--middleware",
        action="append",
        metavar="MODULE:ATTR",
        help=(
            "wrap every handler call in this middleware (a leveret.Middleware instance, or a "
            "class built with no arguments); repeatable, the first given is the outermost"
        ),
    )
    serve.add_argument(
        "--app-dir",
        action="append",
        metavar="DIR",
        help=(
            "add DIR to the front of sys.path, before the current folder (which is always "
            "there); repeatable. Pass the folder of 'leveret generate --out' so that the "
            "generated packages import: leveret serve myapp:Calculator --app-dir gen"
        ),
    )
    serve.add_argument(
        "--health-port",
        type=_port,
        default=None,
        metavar="PORT",
        help=(
            "serve GET /livez (200 while the worker's event loop responds, broker or not) and "
            "/readyz (200 only while connected and consuming, else 503) over HTTP on PORT; 0 "
            "picks a free port and logs it. With --workers N, worker i listens on PORT+i-1 "
            "(default: no health server)"
        ),
    )
    serve.add_argument(
        "--health-host",
        default=DEFAULT_HOST,
        metavar="HOST",
        help=(
            f"address the health server listens on (default {DEFAULT_HOST}, every interface, "
            "which Kubernetes probes need; 127.0.0.1 keeps it to this machine)"
        ),
    )
    serve.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="PORT",
        help=(
            "serve Prometheus metrics (leveret_server_* series, see docs/operating.md) at "
            "/metrics over HTTP on PORT; needs the prometheus extra. 0 picks a free port and "
            "logs it. With --workers N, worker i listens on PORT+i-1 (default: no metrics)"
        ),
    )
    serve.add_argument(
        "--metrics-host",
        default=DEFAULT_HOST,
        metavar="HOST",
        help=f"address the metrics server listens on (default {DEFAULT_HOST}, every interface)",
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text lines (the default) or json: one object per line (see docs/operating.md)",
    )
    serve.add_argument(
        "--log-level",
        type=_level,
        default="INFO",
        metavar="LEVEL",
        help=f"least severe level logged: {', '.join(LEVELS)} (default INFO)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="--log-level DEBUG")
    serve.set_defaults(func=_serve)
