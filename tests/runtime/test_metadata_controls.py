"""Metadata values with C1 controls (U+0080 to U+009F, NEL among them) or the Unicode line and
paragraph separators (U+2028, U+2029) are refused like C0 controls: at the caller, before
anything is sent, and when read from a request's headers. Any of them can break or forge a
line of a log that prints the value."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

import leveret
from leveret import CallInfo
from leveret._metadata import current_metadata
from leveret._wire import METADATA_PREFIX, metadata_error, read_metadata
from tests.support.echo import Echo, EchoClient

#: The characters refused since review round 7; each was accepted before.
HOSTILE = ["\x80", "\x85", "\x9f", "\u2028", "\u2029"]
HOSTILE_IDS = ["U+0080", "NEL", "U+009F", "LINE-SEPARATOR", "PARAGRAPH-SEPARATOR"]


@pytest.mark.parametrize("char", HOSTILE, ids=HOSTILE_IDS)
def test_the_caller_refuses_a_value_with_a_c1_control_or_line_separator(char: str) -> None:
    with pytest.raises(leveret.InvalidArgument, match="control character") as info:  # noqa: SIM117
        with leveret.metadata({"tenant": f"acme{char}forged"}):
            pass
    assert info.value.never_sent
    assert current_metadata() is None  # no block was entered


@pytest.mark.parametrize("char", HOSTILE, ids=HOSTILE_IDS)
def test_the_caller_refuses_a_key_with_a_c1_control_or_line_separator(char: str) -> None:
    with pytest.raises(leveret.InvalidArgument, match="metadata key"):  # noqa: SIM117
        with leveret.metadata({f"tenant{char}": "acme"}):
            pass


@pytest.mark.parametrize("char", ["\xa0", "\u00e9", "\u2027", "\u202a", "\U0001f600"])
def test_printable_neighbours_of_the_refused_ranges_are_still_values(char: str) -> None:
    with leveret.metadata({"tenant": f"acme{char}"}) as in_force:
        assert in_force["tenant"] == f"acme{char}"


class AddsMetadata(leveret.Middleware):
    """A client middleware that adds one metadata entry."""

    def __init__(self, value: str) -> None:
        self.value = value

    def intercept(self, call: CallInfo, call_next: Any) -> BaseModel:
        call.metadata["trace-note"] = self.value  # type: ignore[index]
        return call_next(call)  # type: ignore[no-any-return]


@pytest.mark.parametrize("char", HOSTILE, ids=HOSTILE_IDS)
def test_metadata_a_client_middleware_adds_is_refused_before_it_is_sent(char: str) -> None:
    url = f"memory://{uuid.uuid4().hex}"
    servicer = Echo()
    with (
        leveret.Worker(servicer, url=url),
        EchoClient.connect(url, middleware=[AddsMetadata(f"x{char}y")]) as client,
    ):
        with pytest.raises(leveret.InvalidArgument, match="control character") as info:
            client.echo(text="never", timeout=5)
        assert info.value.never_sent
    assert servicer.calls == 0


@pytest.mark.parametrize("char", HOSTILE, ids=HOSTILE_IDS)
def test_a_worker_reads_such_a_value_from_the_headers_as_invalid(char: str) -> None:
    headers = {METADATA_PREFIX + "tenant": f"acme{char}forged", METADATA_PREFIX + "ok": "1"}
    assert read_metadata(headers) is None  # the dispatcher refuses the request: INVALID_ARGUMENT
    assert "control character" in metadata_error(headers)
    assert read_metadata({METADATA_PREFIX + f"k{char}": "v"}) is None
