"""``leveret call --timeout``: a deadline that cannot be sent is a usage error, not a call."""

from __future__ import annotations

import pytest

from leveret._cli import main
from leveret_codegen._call_command import MAX_TIMEOUT
from tests.conftest import ROOT

# Nothing listens on port 1: a timeout that passes validation ends UNAVAILABLE (exit 1) at
# once instead of waiting on a broker.
_NOWHERE = "amqp://guest:guest@127.0.0.1:1/"


def _call(timeout: str) -> list[str]:
    return [
        "call",
        str(ROOT / "schemas" / "calculator.yaml"),
        "add",
        '{"a": 1, "b": 2}',
        "--url",
        _NOWHERE,
        f"--timeout={timeout}",
    ]


@pytest.mark.parametrize(
    "timeout", ["inf", "-inf", "nan", "0", "-0", "-1", "1e300", str(MAX_TIMEOUT + 1), "soon"]
)
def test_unusable_timeout_is_a_usage_error(
    timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_call(timeout)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines == [
        f"leveret call: --timeout {timeout!r}: expected seconds, more than 0 and at most "
        f"{MAX_TIMEOUT} (about 49 days)"
    ]


@pytest.mark.parametrize("timeout", ["0.001", str(MAX_TIMEOUT)])
def test_usable_timeout_reaches_the_call(timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_call(timeout)) == 1
    assert '"code": "UNAVAILABLE"' in capsys.readouterr().err
