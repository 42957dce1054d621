"""Generated stubs are really typed: ``mypy --strict`` accepts correct use and rejects misuse.

The programs in ``programs/`` use the package generated from the issue's Inventory service (the
hand-built IR in ``tests/codegen/ir_fixtures.py``, so the front end's schemas can change freely).
They are stored as ``*.py.txt`` so that repository-wide ``mypy`` and ``ruff`` runs leave them
alone (half of them must fail); the test copies them as ``*.py`` next to the generated package.
``ok_*`` programs must pass. In ``bad_*`` programs every line that must fail is preceded by a
comment ``# expect: <error code>: <start of the message>``, and mypy must report exactly those
errors.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from leveret_codegen import generate_services

sys.path.insert(0, str(Path(__file__).parents[1] / "codegen"))
import ir_fixtures

PROGRAMS = Path(__file__).parent / "programs"
_EXPECT = re.compile(r"^\s*# expect: (?P<code>[a-z-]+): (?P<message>.+)$")
PROGRAM_NAMES = sorted(p.name.removesuffix(".txt") for p in PROGRAMS.glob("*.py.txt"))
_REPORT = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<message>.+?)  \[(?P<code>[a-z-]+)\]$"
)

Errors = dict[str, list[tuple[int, str, str]]]


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> Errors:
    root = tmp_path_factory.mktemp("typing")
    stubs = root / "stubs"
    result = generate_services([ir_fixtures.service()])
    assert result.ok, result.diagnostics
    for path, text in result.files.items():
        (stubs / path).parent.mkdir(parents=True, exist_ok=True)
        (stubs / path).write_text(text, encoding="utf-8")
    config = root / "mypy.ini"
    config.write_text(f"[mypy]\nstrict = True\nmypy_path = {stubs}\n", encoding="utf-8")
    programs = root / "programs"
    programs.mkdir()
    for name in PROGRAM_NAMES:
        (programs / name).write_text((PROGRAMS / f"{name}.txt").read_text(), encoding="utf-8")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config),
            "--cache-dir",
            str(root / "cache"),
            "--show-error-codes",
            "--no-color-output",
            "--no-error-summary",
            str(stubs / "shop"),
            *sorted(str(p) for p in programs.iterdir()),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert completed.returncode in (0, 1), completed.stderr + completed.stdout
    errors: Errors = defaultdict(list)
    for line in completed.stdout.splitlines():
        match = _REPORT.match(line)
        if match:
            name = Path(match["file"]).name
            errors[name].append((int(match["line"]), match["code"], match["message"]))
        elif ": error:" in line:
            raise AssertionError(f"unparsed mypy output: {line}")
    return errors


def test_generated_package_itself_passes(mypy_errors: Errors) -> None:
    generated = {name: e for name, e in mypy_errors.items() if name not in PROGRAM_NAMES}
    assert generated == {}


@pytest.mark.parametrize("program", [n for n in PROGRAM_NAMES if n.startswith("ok_")])
def test_correct_use_passes(program: str, mypy_errors: Errors) -> None:
    assert mypy_errors.get(program, []) == []


@pytest.mark.parametrize("program", [n for n in PROGRAM_NAMES if n.startswith("bad_")])
def test_misuse_fails_as_expected(program: str, mypy_errors: Errors) -> None:
    expected = {}
    lines = (PROGRAMS / f"{program}.txt").read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        match = _EXPECT.match(line)
        if match:
            expected[number + 1] = (match["code"], match["message"])
    assert expected, f"{program} expects no error"
    reported = {line: (code, message) for line, code, message in mypy_errors.get(program, [])}
    assert sorted(reported) == sorted(expected), reported
    for line, (code, message) in expected.items():
        got_code, got_message = reported[line]
        assert got_code == code, (line, got_message)
        assert got_message.startswith(message), (line, got_message)
