"""Models stage: the service's JSON Schema ``$defs`` -> pydantic v2 source, by dmcg.

The only module that imports ``datamodel_code_generator`` (dmcg). The option set is the one
measured in ``reference/dmcg.md`` ("Suggested option set"), minus
``generate_schema_validators``: its ~230 lines of runtime validator base per module fail
``mypy --strict`` (``arg-type`` at ``dict.get``), and the keywords it would enforce
(``uniqueItems``, ``patternProperties`` beside ``properties``) are the front end's to reject.

The output is left unformatted here; the format stage formats every generated module alike.
"""

from __future__ import annotations

import ast
import warnings

from leveret_codegen._diagnostics import Diagnostic, file_error
from leveret_codegen._ir import ServiceDef

__all__ = ["MODEL_ONLY_VALIDATORS", "generate_models"]

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
    return _reject_bools_in_int_literals(code), ()


#: Validators the models module defines for its own types. They only narrow what a type accepts,
#: so client signatures (which copy the models' annotations) leave them out.
MODEL_ONLY_VALIDATORS: frozenset[str] = frozenset({"_reject_bool"})

#: Defined in a models module that has an integer ``Literal``. pydantic matches a Literal by
#: equality, and ``True == 1``: without it, JSON ``true`` passes for ``const: 1`` and ``false``
#: for ``enum: [0, 2]``, even in strict mode (found by tests/codegen/test_conformance.py).
_REJECT_BOOL: str = '''

def _reject_bool(value: object) -> object:
    """JSON true and false are not the integers 1 and 0 of an enum or const."""
    if isinstance(value, bool):
        raise PydanticCustomError("literal_error", "Input should be an integer, not a boolean")
    return value
'''


def _reject_bools_in_int_literals(code: str) -> str:
    """Wrap every ``Literal`` with an integer member in ``Annotated[..., BeforeValidator]``."""
    tree = ast.parse(code)
    spans = [
        (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)
        for node in ast.walk(tree)
        if isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Literal"
        and any(_is_int(member) for member in _members(node.slice))
    ]
    if not spans:
        return code
    lines = code.splitlines(keepends=True)
    # Back to front, so that the positions of the spans not yet rewritten stay valid.
    for line, col, end_line, end_col in sorted(spans, reverse=True):
        assert end_line is not None and end_col is not None
        first, last = line - 1, end_line - 1
        text = "".join(lines[first : last + 1])
        end = len(text) - len(lines[last]) + end_col
        wrapped = f"Annotated[{text[col:end]}, BeforeValidator(_reject_bool)]"
        lines[first : last + 1] = [text[:col] + wrapped + text[end:]]
    code = "".join(lines)
    code = _import(code, "typing", "Annotated")
    code = _import(code, "pydantic", "BeforeValidator")
    code = _import(code, "pydantic_core", "PydanticCustomError", after="pydantic")
    last_import = max(
        n.end_lineno or n.lineno
        for n in ast.parse(code).body
        if isinstance(n, ast.Import | ast.ImportFrom)
    )
    lines = code.splitlines(keepends=True)
    lines.insert(last_import, _REJECT_BOOL)
    return "".join(lines)


def _members(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _is_int(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    )


def _import(code: str, module: str, name: str, *, after: str | None = None) -> str:
    """``code`` with ``name`` in its ``from module import ...`` line, in isort's order.

    Without such a line, one is added after the ``from <after> import`` line.
    """
    body = ast.parse(code).body
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module == module and node.level == 0:
            names = {alias.name for alias in node.names}
            if name in names:
                return code
            names.add(name)
            # isort's order by type: CONSTANTS, then Classes and functions, each sorted.
            ordered = sorted(names, key=lambda n: (not n.isupper(), n))
            lines = code.splitlines(keepends=True)
            start, end = node.lineno - 1, node.end_lineno or node.lineno
            lines[start:end] = [f"from {module} import {', '.join(ordered)}\n"]
            return "".join(lines)
    for node in body:
        if isinstance(node, ast.ImportFrom) and node.module == after and node.level == 0:
            lines = code.splitlines(keepends=True)
            lines.insert(node.end_lineno or node.lineno, f"from {module} import {name}\n")
            return "".join(lines)
    raise AssertionError(f"the models import nothing from {after or module}")  # dmcg always does


def _failed(service: ServiceDef, reason: str) -> Diagnostic:
    return file_error(
        service.source,
        MODELS_FAILED,
        f"cannot generate the models of package {service.package!r}: {reason}",
        "this is a bug in leveret or an unsupported schema construct; please report it "
        "with the definition",
    )
