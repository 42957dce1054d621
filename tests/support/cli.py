"""Running ``leveret call`` against the calculator definition, and its generated package, for
the tests of the command line (one copy of both, used by every module that needs them)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from tests.conftest import ROOT
from tests.support.generated import generate_into

CALCULATOR = "schemas/calculator.yaml"


def leveret_call(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m leveret call schemas/calculator.yaml ARGS...`` from the repo root, its output
    captured; ``env`` is added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "leveret", "call", CALCULATOR, *args],
        cwd=ROOT,
        env=None if env is None else {**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def calculator_package(out: Path) -> Iterator[ModuleType]:
    """Generate the calculator's package into ``out`` and import it, for a fixture to yield;
    removed from ``sys.path`` and ``sys.modules`` afterwards."""
    generate_into([ROOT / CALCULATOR], out)
    sys.path.insert(0, str(out))
    sys.modules.pop("calculator", None)
    try:
        yield importlib.import_module("calculator")
    finally:
        sys.path.remove(str(out))
        sys.modules.pop("calculator", None)
