"""Models stage: the service's JSON Schema ``$defs`` -> pydantic v2 source, by dmcg.

The only module that imports ``datamodel_code_generator`` (dmcg). The option set is the one
measured in ``reference/dmcg.md`` ("Suggested option set"), minus
``generate_schema_validators``: its ~230 lines of runtime validator base per module fail
``mypy --strict`` (``arg-type`` at ``dict.get``), and the keywords it would enforce
(``uniqueItems``, ``patternProperties`` beside ``properties``) are the front end's to reject.

The output is left unformatted here; the format stage formats every generated module alike.
"""

from __future__ import annotations

import warnings

from leveret_codegen._diagnostics import Diagnostic, file_error
from leveret_codegen._ir import ServiceDef

__all__ = ["generate_models"]

#: Diagnostic codes of this stage.
MODELS_FAILED = "LV501"


def generate_models(service: ServiceDef, header: str) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """Return the source of ``models.py`` for ``service`` (``header`` first), or ``None`` and why.

    ``header`` is the whole comment block the module starts with (no trailing newline).
    """
    # Imported here: the first call pays ~0.4 s of imports, which ``leveret --help`` should not.
    from datamodel_code_generator import InputFileType, LiteralType, PythonVersion, generate
    from datamodel_code_generator.enums import DataModelType

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = generate(
                service.models_schema,
                input_file_type=InputFileType.JsonSchema,
                output_model_type=DataModelType.PydanticV2BaseModel,
                target_python_version=PythonVersion.PY_311,
                use_annotated=True,
                field_constraints=True,
                disable_timestamp=True,
                custom_file_header=header,
                formatters=[],
                skip_root_model=True,
                use_type_alias=True,
                enum_field_as_literal=LiteralType.All,
                use_schema_description=True,
                use_field_description=True,
                use_attribute_docstrings=True,
                use_missing_sentinel=True,
                strict_nullable=True,
            )
    except Exception as exc:  # dmcg raises many exception types; any of them fails the package
        return None, (_failed(service, f"{type(exc).__name__}: {exc}"),)
    if not isinstance(code, str):
        return None, (
            _failed(
                service,
                "the models split into several modules (a dotted type name or an unresolved "
                "cross-file reference)",
            ),
        )
    # dmcg 0.89 imports MISSING from its pre-2.14 experimental home, which now warns on import.
    code = code.replace(
        "from pydantic.experimental.missing_sentinel import MISSING", "from pydantic import MISSING"
    )
    return code, ()


def _failed(service: ServiceDef, reason: str) -> Diagnostic:
    return file_error(
        service.source,
        MODELS_FAILED,
        f"cannot generate the models of package {service.package!r}: {reason}",
        "this is a bug in leveret or an unsupported schema construct; please report it "
        "with the definition",
    )
