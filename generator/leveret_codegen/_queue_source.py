"""``queue:<QUEUE>`` sources: the definition a running service describes itself with.

Every command that takes a definition file also takes ``queue:<QUEUE>``: the definition is
fetched by reflection (the built-in ``leveret.describe`` method, through
``leveret.DynamicClient.describe``) and then goes through the same front end as a file, named
``queue:<QUEUE>`` in diagnostics. Their ``line:col`` point into the YAML text that
``leveret describe queue:<QUEUE>`` prints, which is the text loaded here; so a document that does
not load (a bug in the service, or a hostile one) gets the same located diagnostics as a file,
and nothing is generated from it. It is self-contained: a ``$ref`` in it to another file never
reads a local one (``_frontend``).

Whatever cannot be fetched (nobody serves the queue, a worker without reflection, no broker)
is a ``FetchError`` with a one-line message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

import yaml

from leveret import TLS, DynamicClient, LeveretError
from leveret_codegen._frontend import Text
from leveret_codegen._loader import MAX_NESTING, plain_is_string
from leveret_codegen._refs import data_depth

__all__ = [
    "DESCRIBE_TIMEOUT",
    "QUEUE_PREFIX",
    "Described",
    "FetchError",
    "definition_yaml",
    "fetch",
    "is_queue_source",
]

QUEUE_PREFIX: Final = "queue:"

#: Seconds to wait for the description: a worker answers it at once, without a handler.
DESCRIBE_TIMEOUT: Final = 5.0


def is_queue_source(text: str) -> bool:
    """Whether a command-line source names a running service rather than a file."""
    return text.startswith(QUEUE_PREFIX)


class FetchError(Exception):
    """The service's description cannot be had; ``str()`` is a one-line message."""


@dataclass(frozen=True, slots=True)
class Described:
    """What the service on ``queue`` answered ``leveret.describe`` with."""

    queue: str
    answer: dict[str, Any]

    @property
    def name(self) -> str:
        """How diagnostics name the definition: ``queue:<QUEUE>``."""
        return f"{QUEUE_PREFIX}{self.queue}"

    @property
    def definition(self) -> dict[str, Any]:
        definition = self.answer.get("definition")
        return definition if isinstance(definition, dict) else {}

    def text(self, format: str = "yaml") -> str:
        """The definition as ``leveret describe`` prints it: YAML (with a comment naming the
        service's fingerprint and leveret version) or JSON."""
        if format == "json":
            return json.dumps(self.definition, indent=2, ensure_ascii=False) + "\n"
        comment = (
            f"# {self.name}: described by leveret {_shown(self.answer.get('leveret'))}, "
            f"fingerprint {_shown(self.answer.get('fingerprint'))}\n"
        )
        return comment + definition_yaml(self.definition)

    def source(self) -> Text:
        """The definition for the front end: the YAML text, so positions are that text's."""
        if data_depth(self.definition) > MAX_NESTING:
            # Too deep to write out (PyYAML recurses): a one-line text the loader refuses the
            # same way (LV105), rather than a RecursionError.
            return Text(self.name, "[" * (MAX_NESTING + 1), is_json=False)
        return Text(self.name, self.text("yaml"))


def fetch(
    source: str, url: str | None, tls: TLS | None = None, server_user: str | None = None
) -> Described:
    """Ask the service named by ``source`` (``queue:<QUEUE>``) for its definition;
    ``server_user``: accept the answer only from that broker user (``DynamicClient.connect``)."""
    queue = source.removeprefix(QUEUE_PREFIX)
    if not queue:
        raise FetchError(f"{source!r}: name the queue: queue:<QUEUE>")
    try:
        with DynamicClient.connect(url, tls=tls, server_user=server_user) as client:
            answer = client.describe(queue, timeout=DESCRIBE_TIMEOUT)
    except LeveretError as exc:
        raise FetchError(f"{source}: {_one_line(str(exc))}") from None
    return Described(queue, answer)


def definition_yaml(definition: dict[str, Any]) -> str:
    """A definition as YAML that ``leveret generate`` reads back as the same JSON data: key
    order kept, no aliases, and every string that would read as something else quoted."""
    return yaml.dump(
        definition,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True  # a repeated schema is written out: YAML aliases are not JSON


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML quotes what YAML 1.1 reads as non-strings; the loader reads YAML 1.2, in which
    # `0o17` and `1e5` are numbers too: quote those as well.
    # U+0085, U+2028 and U+2029 are line breaks to YAML, and \r one the reader turns into \n:
    # outside a double-quoted scalar (where they are escaped) they would be folded or changed.
    style: str | None = None
    if not all(c.isprintable() or c in "\n\t" for c in value):
        style = '"'
    elif not plain_is_string(value):
        style = "'"
    elif "\n" in value:
        style = "|"
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _shown(value: object) -> str:
    """A value of the answer for the comment line: it came from the network, so nothing that
    could end the comment and become part of the document."""
    if isinstance(value, str) and value.isprintable() and 0 < len(value) <= 128:
        return value
    return "(unknown)"


def _one_line(text: str) -> str:
    return " ".join(text.split())
