"""docs/testing.md's examples run as written, on both transports: each ``python`` block whose
first line is ``# NAME.py`` becomes that file of a pytest project."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

pytest_plugins = ["pytester"]

DOC = ROOT / "docs" / "testing.md"

#: A fenced python block and the file name on its first line.
_BLOCK = re.compile(r"```python\n# (\w+\.py)\n(.*?)```", re.DOTALL)


def _files() -> dict[str, str]:
    files = {name: body for name, body in _BLOCK.findall(DOC.read_text())}
    assert {"inventory.py", "test_inventory.py", "test_recorder.py", "script.py"} <= set(files)
    return files


@pytest.mark.parametrize(
    "transport", ["memory", pytest.param("amqp", marks=pytest.mark.integration)]
)
def test_examples_pass(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    transport: str,
    request: pytest.FixtureRequest,
) -> None:
    if transport == "amqp":
        monkeypatch.setenv("AMQP_URL", request.getfixturevalue("amqp_url"))
    files = _files()
    for name, body in files.items():
        (pytester.path / name).write_text(body)
    pytester.syspathinsert(ROOT / "generated")
    pytester.syspathinsert()  # inventory.py, as a user's project has it
    tests = sum(
        body.count("\ndef test_") for name, body in files.items() if name.startswith("test_")
    )
    result = pytester.runpytest("-p", "no:cacheprovider", f"--leveret-transport={transport}")
    result.assert_outcomes(passed=tests)
    assert tests >= 5


def test_script_runs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, body in _files().items():
        (pytester.path / name).write_text(body)
    monkeypatch.setenv("PYTHONPATH", f"{pytester.path}:{ROOT / 'generated'}")
    result = pytester.runpython(pytester.path / "script.py")
    assert result.ret == 0
    assert result.outlines == ["held"]
