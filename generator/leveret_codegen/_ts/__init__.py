"""The TypeScript back end: ``leveret generate --lang typescript``.

Same front end, same IR, same fail-closed rule as the Python back end (``_pipeline``): one
package directory per definition with a service, ``DIR/<package>/``, holding ``types.ts``,
``errors.ts``, ``spec.ts``, ``client.ts``, ``servicer.ts`` and ``index.ts``, for the user's own
project to compile against the ``leveret`` npm package. The request and response schemas in
``spec.ts`` are the Python models' (``ServiceDef.models_schema``) and the fingerprints the
Python ``_spec.py``'s, so both languages check and announce one contract. Definitions
TypeScript cannot express are refused (``_checks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from leveret_codegen._diagnostics import Diagnostic, has_errors
from leveret_codegen._frontend import Text, load_services
from leveret_codegen._pipeline import GeneratedPackage, GenerationResult
from leveret_codegen._ts._checks import check_service
from leveret_codegen._ts._emit import render_typescript

__all__ = ["generate_typescript"]


def generate_typescript(paths: Sequence[str | Path | Text]) -> GenerationResult:
    """Load the definitions at ``paths`` and generate their TypeScript packages; no files at
    all when anything is wrong."""
    services, found = load_services(paths)
    diagnostics: list[Diagnostic] = list(found)
    if has_errors(diagnostics):
        return GenerationResult(diagnostics=tuple(diagnostics))
    files: dict[str, str] = {}
    packages: list[GeneratedPackage] = []
    for service in services:
        problems = check_service(service)
        diagnostics.extend(problems)
        if has_errors(problems):
            continue
        rendered = render_typescript(service)
        names = tuple(f"{service.package}/{name}" for name in sorted(rendered))
        files.update((f"{service.package}/{name}", text) for name, text in rendered.items())
        packages.append(GeneratedPackage(service.package, service.source, names))
    if has_errors(diagnostics):
        return GenerationResult(diagnostics=tuple(sorted(set(diagnostics))))
    return GenerationResult(
        files=dict(sorted(files.items())),
        packages=tuple(packages),
        diagnostics=tuple(diagnostics),
    )
