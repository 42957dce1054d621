"""leveret's code generator: service definitions in, typed Python packages out.

The pipeline is load -> validate -> IR -> models (datamodel-code-generator) -> render (Jinja2) ->
format (ruff) -> write or check. Every stage returns data and diagnostics; only the ``leveret
generate`` command prints. ``generate_files`` runs the whole pipeline in memory::

    result = generate_files(["schemas"])
    if result.ok:
        for path, text in result.files.items():  # {"shop/client.py": "...", ...}
            ...
"""

from leveret_codegen._diagnostics import Diagnostic, Severity
from leveret_codegen._pipeline import (
    GeneratedPackage,
    GenerationResult,
    generate_files,
    generate_services,
)

__all__ = [
    "Diagnostic",
    "GeneratedPackage",
    "GenerationResult",
    "Severity",
    "generate_files",
    "generate_services",
]
