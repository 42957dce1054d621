"""Format stage: the pinned ruff formats every generated Python module the same way everywhere.

``ruff check --fix`` sorts imports (``I``) and ``__all__`` (``RUF022``) and puts ``None`` last
in unions (``RUF036``: dmcg writes ``str | None | MISSING``), then ``ruff format`` formats.
Both run ``--isolated`` with explicit settings, so the bytes do not depend on the configuration
of the project the user generates into. The output is deterministic: ruff is pinned exactly in
the ``codegen`` extra.

Two comment lines may follow the header line of a module:

- ``# isort: skip_file``, always: whether ``leveret`` sorts as a first- or a third-party import
  depends on the project (first-party in leveret's own repository, third-party where it is
  installed), so import order would otherwise pass ``ruff check`` in one and fail in the other.
  The imports are sorted (as third-party) before the comment goes in.
- ``# ruff: noqa: E501`` when ``ruff check --select E501`` still finds a line the formatter
  cannot break (descriptions, patterns and defaults from the definition); never otherwise,
  since ``RUF100`` flags an unused exemption.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

__all__ = ["FormatError", "format_sources"]

_SETTINGS = ("--isolated", "--no-cache", "--line-length", "100", "--target-version", "py311")
_ISORT_SKIP = "# isort: skip_file"
_E501_EXEMPTION = "# ruff: noqa: E501"


class FormatError(Exception):
    """ruff could not format a generated module (a bug in a template, or ruff is missing)."""


def _ruff() -> str:
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - ruff is a codegen dependency
        raise FormatError(f"ruff is not installed ({exc})") from exc
    return str(find_ruff_bin())


def format_sources(sources: Mapping[str, str]) -> dict[str, str]:
    """Format ``{relative path: source}``; files not ending in ``.py`` pass through unchanged."""
    python = {path: text for path, text in sources.items() if path.endswith(".py")}
    result = dict(sources)
    if not python:
        return result
    ruff = _ruff()
    with tempfile.TemporaryDirectory(prefix="leveret-format-") as tmp:
        root = Path(tmp)
        for path, text in python.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        names = sorted(python)
        _run(
            [
                ruff,
                "check",
                *_SETTINGS,
                "--fix",
                "--select",
                "I,RUF022,RUF036",
                "--exit-zero",
                *names,
            ],
            root,
        )
        _run([ruff, "format", *_SETTINGS, *names], root)
        e501 = ["--select", "E501", "--exit-zero", "--output-format=json"]
        report = _run([ruff, "check", *_SETTINGS, *e501, *names], root)
        long_lines = {Path(item["filename"]).resolve() for item in json.loads(report or "[]")}
        for path in python:
            first, _, rest = (root / path).read_text(encoding="utf-8").partition("\n")
            exemptions = [_ISORT_SKIP]
            if (root / path).resolve() in long_lines:
                exemptions.append(_E501_EXEMPTION)
            result[path] = "\n".join([first, *exemptions, rest])
    return result


def _run(command: list[str], cwd: Path) -> str:
    try:
        completed = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, check=False, timeout=120
        )
    except OSError as exc:
        raise FormatError(f"cannot run ruff: {exc}") from exc
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()
        raise FormatError(f"`ruff {command[1]}` failed:\n{output}")
    return completed.stdout
