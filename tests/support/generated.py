"""Generate packages from definitions into a folder, for tests that import generated code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from leveret_codegen import GenerationResult, generate_files

__all__ = ["generate_into"]


def generate_into(definitions: Sequence[Path], out: Path) -> GenerationResult:
    """Run the whole generator and write its files below ``out``; fail the test on errors."""
    result = generate_files(list(definitions))
    assert result.ok, [d.render() for d in result.diagnostics]
    for relative, text in result.files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return result
