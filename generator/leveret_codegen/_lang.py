"""``leveret generate --lang``: which back end turns the definitions into code.

Python (``_pipeline``) is the default; TypeScript (``_ts``) is imported only when asked for.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from leveret_codegen._frontend import Text
from leveret_codegen._pipeline import GenerationResult, generate_files

__all__ = ["LANGUAGES", "add_lang_argument", "generate_for"]

LANGUAGES: Final = ("python", "typescript")


def add_lang_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        default="python",
        help="language of the generated packages (default: python)",
    )


def generate_for(lang: str, paths: Sequence[str | Path | Text]) -> GenerationResult:
    """Generate the packages of ``paths`` in ``lang``."""
    if lang == "typescript":
        from leveret_codegen._ts import generate_typescript

        return generate_typescript(paths)
    return generate_files(paths)
