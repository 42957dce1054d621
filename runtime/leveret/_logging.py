"""Log formats for ``leveret serve``: text for people, json (one object a line) for machines.

A record carries a call's facts as attributes, set with ``extra=`` (see :data:`CALL_FIELDS`);
both formats show them when they are there. Neither ever adds a request or reply body; a
password in a URL that made it into a message is masked, whatever code wrote the message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = [
    "CALL_FIELDS",
    "LEVELS",
    "LOG_FORMATS",
    "JsonFormatter",
    "SafeLogger",
    "TextFormatter",
    "configure",
]

LOG_FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: The per-call attributes a record may carry (``log.info(..., extra={"service": ...})``), in
#: the order both formats show them: service name, method name, correlation id, status name
#: (``OK``, ``NOT_FOUND``...), the handler's duration in milliseconds, the caller's attempt
#: (``CallContext.attempt``: 0, then n for its n-th retry) and the caller, when known. None
#: means "not known": left out.
CALL_FIELDS = ("service", "method", "correlation_id", "status", "duration_ms", "attempt", "caller")

# user:password@ in any scheme://; the password may hold anything but '@' and white space.
_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s@]+@")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"


def _mask(text: str) -> str:
    # Already masked URLs ("***") stay as they are, so masking twice changes nothing.
    return _PASSWORD.sub(r"\1***@", text)


def _call_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = vars(record)
    return {key: fields[key] for key in CALL_FIELDS if fields.get(key) is not None}


class TextFormatter(logging.Formatter):
    """``time LEVEL logger[pid]: message key=value...``, the call's fields at the end."""

    def __init__(self) -> None:
        super().__init__(_TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # One record, one line (the traceback aside): a line break or other control character
        # in a message (a correlation id a caller chose) must not forge the next line.
        values = dict(vars(record))
        values["message"] = printable(record.message)
        return _TEXT_FORMAT % values

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = _call_fields(record)
        if fields:
            # The traceback, if any, follows the message's first line: the fields go there too.
            head, sep, tail = text.partition("\n")
            pairs = " ".join(f"{key}={printable(str(value))}" for key, value in fields.items())
            text = f"{head} {pairs}{sep}{tail}"
        return _mask(text)


def printable(text: str) -> str:
    """``text`` with control characters and line separators escaped (``\\n``), as is when
    it has none."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``,
    ``message``, ``pid``, then whichever of :data:`CALL_FIELDS` the record carries, then
    ``exception`` (the traceback, as one string) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        time = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        entry: dict[str, Any] = {
            "time": time.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _mask(record.getMessage()),
            "pid": record.process,
        }
        entry.update(_call_fields(record))
        if record.exc_info:
            entry["exception"] = _mask(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = _mask(record.exc_text)
        if record.stack_info:
            entry["stack"] = _mask(self.formatStack(record.stack_info))
        # default=str: a field some code set to an object still makes a line, not a lost record.
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(log_format: str = "text", level: str = "INFO", stream: TextIO | None = None) -> None:
    """The process's logging for ``leveret serve``: one handler on the root logger, to stderr.

    pika's own records show only at DEBUG: it logs each failed connection attempt as an ERROR,
    which leveret reports itself, in its own words.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("pika").setLevel(logging.DEBUG if level == "DEBUG" else logging.CRITICAL)


class SafeLogger:
    """A logger that never fails its caller, for the loggers on the path of a call.

    An application's record factory or filter that raises, or one that sets an attribute
    leveret passes as an ``extra`` field (``service``, ``status`` ...: ``makeRecord`` refuses
    to overwrite it), must not cost a reply, an ack or a retry. Such a record is logged again
    without its extra fields, then not at all. (Handlers' own errors never reach the caller:
    ``Handler.handleError`` deals with them.)
    """

    __slots__ = ("logger",)

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)

    def isEnabledFor(self, level: int) -> bool:
        return self.logger.isEnabledFor(level)

    def log(self, level: int, msg: str, *args: object, **kwargs: Any) -> None:
        try:
            self.logger.log(level, msg, *args, **kwargs)
        except Exception:
            if kwargs.pop("extra", None) is not None:
                with contextlib.suppress(Exception):
                    self.logger.log(level, msg, *args, **kwargs)

    def debug(self, msg: str, *args: object, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: str, *args: object, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: str, *args: object, **kwargs: Any) -> None:
        self.log(logging.WARNING, msg, *args, **kwargs)

    def error(self, msg: str, *args: object, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, **kwargs)

    def exception(self, msg: str, *args: object, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self.log(logging.ERROR, msg, *args, **kwargs)
