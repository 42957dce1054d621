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
import json
import re
import warnings

from leveret_codegen._diagnostics import Diagnostic, file_error
from leveret_codegen._enforce import (
    GuardFailure,
    char_offset,
    insert_guards,
    json_integers,
    json_literals,
    json_numbers,
    unprotected_fields,
)
from leveret_codegen._guards import GuardPlan, plan_guards
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

    schema = json.loads(service.models_schema)
    defs = schema["$defs"]
    plan = plan_guards(defs)
    unusable = _uncompilable_guard(plan, defs)
    if unusable:
        return None, (_failed(service, unusable),)
    schema["$defs"] = dict(plan.typing)
    helpers = _break_array_self_references(schema["$defs"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = generate(
                json.dumps(schema, indent=2, ensure_ascii=False),
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
    try:
        code = _restore_self_references(code, helpers)
    except _Unfaithful as exc:
        return None, (_failed(service, str(exc)),)
    code = _pep604_quoted_aliases(code)
    if "regex_engine" in code:
        # Field patterns are ECMA-262 rewritten for pydantic's Rust engine (_regex); dmcg
        # switches a model to Python's re (other meanings of \d, $...) for a lookaround, which
        # only its own merging of allOf patterns can introduce. Refuse, never emit.
        return None, (
            _failed(
                service,
                "patterns merged from allOf members would run with Python's re, not as ECMA-262",
            ),
        )
    lost = _untyped_containers(code)
    if lost:
        # The last line of defence: a bare ``list``/``dict`` accepts any items, so the models
        # would not enforce the schema's ``items``/``additionalProperties``. Refuse, never emit.
        return None, (
            _failed(
                service,
                f"type {', '.join(repr(n) for n in lost)} would lose its item schema "
                "(a bare list or dict that accepts anything)",
            ),
        )
    try:
        code = json_numbers(json_literals(json_integers(code)))
        code = insert_guards(unprotected_fields(code), plan, defs)
    except GuardFailure as exc:
        return None, (_failed(service, str(exc)),)
    return code, ()


def _uncompilable_guard(plan: GuardPlan, defs: dict[str, object]) -> str | None:
    """Why a guard would fail at run time (the runtime's evaluator refuses its schema), if so.

    The front end reports what a user can fix (LV412 for a regex); this is the last line of
    defence, so that a generated module never raises on its first validation."""
    from leveret._schema import SchemaError
    from leveret.schema import SchemaGuard

    guard = SchemaGuard(plan.guards, plan.referenced_defs(defs))
    for name in plan.guards:
        try:
            guard.failures(name, None)
        except SchemaError as exc:
            return f"the schema of type {name!r} cannot be checked: {exc}"
    return None


# --- recursive arrays (issue 15, F8) -------------------------------------------------------------
#
# dmcg 0.89 drops the item schema of an array type whose items refer back to the type itself:
# ``Nested: {type: array, items: {anyOf: [{type: integer}, {$ref: Nested}]}}`` becomes
# ``TypeAliasType("Nested", list)``, which accepts ``["x"]``. Through another named type the same
# recursion comes out right (``N -> list[Union[int, "M"]]``, ``M -> N``). So before generating,
# the array's references to itself go through a helper alias ``<Name>LeveretSelf: {$ref: Name}``;
# after, the helper's assignment is removed and its name replaced by the type's own:
# ``Nested = TypeAliasType("Nested", list[Union[int, "Nested"]])``, a recursive alias pydantic
# validates and mypy accepts.

_DATA_KEYWORDS = frozenset({"default", "enum", "const", "examples", "example"})


class _Unfaithful(Exception):
    """The generated models would not enforce the schema exactly."""


def _is_array(schema: object) -> bool:
    if not isinstance(schema, dict):
        return False
    declared = schema.get("type")
    return declared == "array" or (isinstance(declared, list) and "array" in declared)


def _redirect(schema: object, target: str, helper: str) -> tuple[object, bool]:
    """``schema`` with every ``$ref`` to ``target`` pointing at ``helper``; whether any did."""
    if isinstance(schema, list):
        items = [_redirect(item, target, helper) for item in schema]
        return [item for item, _ in items], any(found for _, found in items)
    if not isinstance(schema, dict):
        return schema, False
    result: dict[str, object] = {}
    found = False
    for key, value in schema.items():
        if key == "$ref" and value == f"#/$defs/{target}":
            result[key] = f"#/$defs/{helper}"
            found = True
        elif key in _DATA_KEYWORDS or key == "$ref":
            result[key] = value
        else:
            result[key], inner = _redirect(value, target, helper)
            found = found or inner
    return result, found


def _break_array_self_references(defs: dict[str, object]) -> dict[str, str]:
    """Route array types' references to themselves through helper aliases, in ``defs``.

    Returns helper name -> type name. Helper names are PascalCase (dmcg keeps them verbatim)
    and not a name of ``defs``.
    """
    helpers: dict[str, str] = {}
    for name in list(defs):
        if not _is_array(defs[name]):
            continue
        helper = f"{name}LeveretSelf"
        suffix = 1
        while helper in defs:
            suffix += 1
            helper = f"{name}LeveretSelf{suffix}"
        rewritten, found = _redirect(defs[name], name, helper)
        if found:
            defs[name] = rewritten
            defs[helper] = {"$ref": f"#/$defs/{name}"}
            helpers[helper] = name
    return helpers


def _restore_self_references(code: str, helpers: dict[str, str]) -> str:
    """Remove each helper alias from ``code`` and name its type where the helper was used."""
    for helper, name in helpers.items():
        tree = ast.parse(code)
        assignments = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign)
            and [t.id for t in node.targets if isinstance(t, ast.Name)] == [helper]
        ]
        value = assignments[0].value if len(assignments) == 1 else None
        if not (
            isinstance(value, ast.Call)
            and len(value.args) == 2
            and isinstance(value.args[1], ast.Name)
            and value.args[1].id == name
        ):
            raise _Unfaithful(f"the recursive array type {name!r} did not generate as expected")
        node = assignments[0]
        lines = code.splitlines(keepends=True)
        del lines[node.lineno - 1 : node.end_lineno or node.lineno]
        code = _quote_alias_value(re.sub(rf"\b{helper}\b", name, "".join(lines)), name)
    return code


def _quote_alias_value(code: str, name: str) -> str:
    """``name = TypeAliasType("name", list[Union[int, "name"]])`` with its value one string.

    mypy reports a partly quoted recursive alias as a "possible cyclic definition" and accepts
    a wholly quoted one, the form dmcg itself emits for recursive maps.
    """
    for node in ast.parse(code).body:
        value = _alias_value(node, name)
        if value is None:
            continue
        if isinstance(value, ast.Constant):
            return code  # quoted already
        text = ast.unparse(ast.Constant(ast.unparse(_unquote_types(value))))
        return _replace(code, value, text)
    raise _Unfaithful(f"the recursive array type {name!r} did not generate as expected")


def _alias_value(node: ast.stmt, name: str | None = None) -> ast.expr | None:
    """The value of ``X = TypeAliasType("X", value)`` (for ``X == name`` when given)."""
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and (name is None or node.targets[0].id == name)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "TypeAliasType"
        and len(node.value.args) == 2
    ):
        return node.value.args[1]
    return None


def _replace(code: str, node: ast.expr, text: str) -> str:
    lines = code.splitlines(keepends=True)
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    # ast's columns are UTF-8 byte offsets (a property may be named größe)
    start = char_offset(lines[first], node.col_offset)
    joined = "".join(lines[first : last + 1])
    end = len(joined) - len(lines[last]) + char_offset(lines[last], node.end_col_offset or 0)
    lines[first : last + 1] = [joined[:start] + text + joined[end:]]
    return "".join(lines)


def _pep604_quoted_aliases(code: str) -> str:
    """Wholly quoted alias values with ``X | Y`` for ``Union[X, Y]`` (ruff's UP007 checks
    inside them); the ``Union`` import goes when nothing else uses it."""
    for node in reversed(ast.parse(code).body):
        value = _alias_value(node)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            text = ast.unparse(_unquote_types(ast.parse(value.value, mode="eval").body))
            if text != value.value:
                code = _replace(code, value, ast.unparse(ast.Constant(text)))
    tree = ast.parse(code)
    used = any(isinstance(n, ast.Name) and n.id == "Union" for n in ast.walk(tree)) or any(
        isinstance(v, ast.Constant) and "Union[" in str(v.value)
        for n in tree.body
        if (v := _alias_value(n)) is not None
    )
    if used:
        return code
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "typing":
            names = [a for a in node.names if not (a.name == "Union" and a.asname is None)]
            if len(names) == len(node.names):
                continue
            lines = code.splitlines(keepends=True)
            start, stop = node.lineno - 1, node.end_lineno or node.lineno
            kept = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in names)
            lines[start:stop] = [f"from typing import {kept}\n"] if names else []
            return "".join(lines)
    return code


def _unquote_types(node: ast.expr) -> ast.expr:
    """``node`` with the forward references (strings) in its type positions parsed, and
    ``Union[X, Y]``/``Optional[X]`` written ``X | Y``/``X | None``.

    Strings inside calls (``Field(pattern="...")``) and ``Literal[...]`` are data and stay
    strings.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _unquote_types(ast.parse(node.value, mode="eval").body)
    if isinstance(node, ast.Subscript):
        if isinstance(node.value, ast.Name) and node.value.id == "Literal":
            return node  # its strings are values, not forward references
        inner = _unquote_types(node.slice)
        if isinstance(node.value, ast.Name) and node.value.id in ("Union", "Optional"):
            members = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            if node.value.id == "Optional":
                members.append(ast.Constant(None))
            result = members[0]
            for member in members[1:]:
                result = ast.BinOp(result, ast.BitOr(), member)
            return result
        return ast.Subscript(_unquote_types(node.value), inner, node.ctx)
    if isinstance(node, ast.Tuple):
        return ast.Tuple([_unquote_types(e) for e in node.elts], node.ctx)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return ast.BinOp(_unquote_types(node.left), node.op, _unquote_types(node.right))
    return node


def _untyped_containers(code: str) -> list[str]:
    """Module-level names whose type uses a bare ``list`` or ``dict`` (no item type)."""
    lost = []
    for node in ast.parse(code).body:
        types: list[ast.expr] = []
        if (value := _alias_value(node)) is not None:
            types.append(value)
        elif isinstance(node, ast.ClassDef):
            types.extend(s.annotation for s in node.body if isinstance(s, ast.AnnAssign))
        if any(_bare_container(_unquote_types(t)) for t in types):
            lost.append(node.name if isinstance(node, ast.ClassDef) else ast.unparse(node))
    return [name.partition(" =")[0] for name in lost]


def _bare_container(node: ast.expr) -> bool:
    """Whether a type expression has ``list`` or ``dict`` without parameters (not in calls)."""
    if isinstance(node, ast.Name):
        return node.id in ("list", "dict")
    if isinstance(node, ast.Subscript):
        return _bare_container(node.slice)
    if isinstance(node, ast.Tuple):
        return any(_bare_container(e) for e in node.elts)
    if isinstance(node, ast.BinOp):
        return _bare_container(node.left) or _bare_container(node.right)
    return False


def _failed(service: ServiceDef, reason: str) -> Diagnostic:
    return file_error(
        service.source,
        MODELS_FAILED,
        f"cannot generate the models of package {service.package!r}: {reason}",
        "this is a bug in leveret or an unsupported schema construct; please report it "
        "with the definition",
    )
