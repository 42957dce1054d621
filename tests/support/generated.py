"""Generate packages from definitions into a folder, for tests that import generated code."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from leveret_codegen import GenerationResult, generate_files

__all__ = ["generate_into", "imported"]


def generate_into(definitions: Sequence[Path], out: Path) -> GenerationResult:
    """Run the whole generator and write its files below ``out``; fail the test on errors."""
    result = generate_files(list(definitions))
    assert result.ok, [d.render() for d in result.diagnostics]
    for relative, text in result.files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return result


@contextmanager
def imported(definitions: Sequence[Path], out: Path, module: str) -> Iterator[ModuleType]:
    """Generate ``definitions`` into ``out`` and import ``module`` from there; afterwards the
    folder leaves ``sys.path`` and the package's modules leave ``sys.modules``, so another test
    may generate a package of the same name."""
    generate_into(definitions, out)
    sys.path.insert(0, str(out))
    package = module.split(".")[0]
    try:
        yield importlib.import_module(module)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m.split(".")[0] == package]:
            del sys.modules[name]
