"""Rewrites of dmcg's models that make them mean what JSON Schema says (issue 11).

* :func:`json_integers`: every ``int`` becomes ``JsonInt`` (``Annotated[int, Field(...),
  JSON_INTEGER]`` where it has constraints), which accepts JSON's ``1.0`` as an integer; a
  ``datetime``, ``date`` or ``UUID`` (formats ``date-time``, ``date``, ``uuid``) gets the marker
  that checks its string with the format's exact assertion before parsing it.
* :func:`json_literals`: a ``Literal`` with an integer member goes through ``json_literal``:
  ``true`` is not ``1`` (Python says it is), ``1.0`` is.
* :func:`insert_guards`: each type with a guard schema (:mod:`leveret_codegen._guards`) gets a
  before-validator calling the module's :class:`leveret.schema.SchemaGuard`.

All three edit the source text at AST positions (back to front), so dmcg's docstrings and layout
survive; the format stage formats the result.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any, Final

from leveret_codegen._guards import GuardPlan

__all__ = ["MODEL_ONLY_NAMES", "GuardFailure", "insert_guards", "json_integers", "json_literals"]

#: Names the models use only to narrow what a type accepts. Client signatures copy the models'
#: annotations without them (a parameter is ``int``, not ``JsonInt``): the arguments go through
#: the model, which applies them.
MODEL_ONLY_NAMES: Final = frozenset(
    {"json_literal", "JSON_INTEGER", "JSON_DATE_TIME", "JSON_DATE", "JSON_UUID", "_SCHEMA"}
)

_Span = tuple[int, int, int, int, str]  # line, col, end line, end col (1-based lines), new text


def _apply(code: str, spans: list[_Span]) -> str:
    lines = code.splitlines(keepends=True)
    # Back to front, so that the positions of the spans not yet rewritten stay valid.
    for line, col, end_line, end_col, text in sorted(spans, reverse=True):
        first, last = line - 1, end_line - 1
        joined = "".join(lines[first : last + 1])
        end = len(joined) - len(lines[last]) + end_col
        lines[first : last + 1] = [joined[:col] + text + joined[end:]]
    return "".join(lines)


def _span(node: ast.expr, text: str) -> _Span:
    assert node.end_lineno is not None and node.end_col_offset is not None
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, text)


def _type_positions(tree: ast.Module) -> list[ast.expr]:
    """Annotations of class fields and values of ``X = TypeAliasType("X", value)``."""
    found: list[ast.expr] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found.extend(s.annotation for s in node.body if isinstance(s, ast.AnnAssign))
        elif (value := _alias_value(node)) is not None:
            found.append(value)
    return found


def _alias_value(node: ast.stmt) -> ast.expr | None:
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "TypeAliasType"
        and len(node.value.args) == 2
    ):
        return node.value.args[1]
    return None


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


#: Types dmcg emits whose JSON reading leveret's runtime makes exact: the name, what a bare use
#: becomes, and the marker put last in its ``Annotated[...]`` when it has constraints.
_EXACT: Final[dict[str, tuple[str, str]]] = {
    "int": ("JsonInt", "JSON_INTEGER"),
    "AwareDatetime": ("Annotated[AwareDatetime, JSON_DATE_TIME]", "JSON_DATE_TIME"),
    "date": ("Annotated[date, JSON_DATE]", "JSON_DATE"),
    "UUID": ("Annotated[UUID, JSON_UUID]", "JSON_UUID"),
}


class _Exact:
    """Spans making the types of :data:`_EXACT` exact within one type expression."""

    def __init__(self) -> None:
        self.spans: list[_Span] = []
        self.used: set[str] = set()

    def visit(self, node: ast.expr) -> None:
        if isinstance(node, ast.Call):
            return  # Field(...) arguments are values
        if isinstance(node, ast.Subscript):
            if _is_name(node.value, "Literal"):
                return
            if _is_name(node.value, "Annotated") and isinstance(node.slice, ast.Tuple):
                first, *metadata = node.slice.elts
                if isinstance(first, ast.Name) and first.id in _EXACT and metadata:
                    marker = _EXACT[first.id][1]
                    last = metadata[-1]
                    assert last.end_lineno is not None and last.end_col_offset is not None
                    at = (last.end_lineno, last.end_col_offset)
                    self.spans.append((*at, *at, f", {marker}"))
                    self.used.add(marker)
                    return
            self.visit(node.value)
            self.visit(node.slice)
            return
        if isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                self.visit(element)
        elif isinstance(node, ast.BinOp):
            self.visit(node.left)
            self.visit(node.right)
        elif isinstance(node, ast.Name) and node.id in _EXACT:
            bare, marker = _EXACT[node.id]
            self.spans.append(_span(node, bare))
            self.used.add(bare if bare == "JsonInt" else marker)
            if bare != "JsonInt":
                self.used.add("Annotated")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A quoted (recursive) alias value: rewrite inside the string.
            inner = _Exact()
            inner.visit(ast.parse(node.value, mode="eval").body)
            if inner.spans:
                text = _apply(node.value, inner.spans)
                self.spans.append(_span(node, ast.unparse(ast.Constant(text))))
                self.used |= inner.used


def json_integers(code: str) -> str:
    """``code`` with integers accepting ``1.0`` and formatted strings checked exactly (see the
    module docstring)."""
    visitor = _Exact()
    for node in _type_positions(ast.parse(code)):
        visitor.visit(node)
    if not visitor.spans:
        return code
    code = _apply(code, visitor.spans)
    if "Annotated" in visitor.used:
        code = _import_after(code, "typing", {"Annotated"})
    return _import_after(code, "leveret.schema", visitor.used - {"Annotated"})


def json_literals(code: str) -> str:
    """Wrap every ``Literal`` with an integer member in ``Annotated[..., BeforeValidator]``."""
    tree = ast.parse(code)
    spans = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and _is_name(node.value, "Literal")
            and any(_is_int(member) for member in _members(node.slice))
        ):
            text = ast.get_source_segment(code, node) or ast.unparse(node)
            spans.append(_span(node, f"Annotated[{text}, BeforeValidator(json_literal)]"))
    if not spans:
        return code
    code = _apply(code, spans)
    code = _import_after(code, "typing", {"Annotated"})
    code = _import_after(code, "pydantic", {"BeforeValidator"})
    return _import_after(code, "leveret.schema", {"json_literal"})


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


# -- guards --------------------------------------------------------------------------------------

_GUARD_HEADER: Final = """

#: What the types below cannot say with pydantic alone, checked by leveret's JSON Schema
#: evaluator before pydantic's own validation: per type, the part of its schema its fields do
#: not enforce (``checks``), and the types those parts refer to (``defs``).
_SCHEMA: Final = SchemaGuard(
    checks={checks},
    defs={defs},
)
"""

_METHOD: Final = '''

    @model_validator(mode="before")
    @classmethod
    def _leveret_schema(cls, data: Any, info: ValidationInfo) -> Any:
        """{doc}"""
        return _SCHEMA.model({name!r}, cls, data, info)
'''


def _doc(enforced: list[str]) -> str:
    listed = ", ".join(enforced[:8]) + (
        f" and {len(enforced) - 8} more" if len(enforced) > 8 else ""
    )
    return f"JSON Schema keywords the fields cannot express: {listed}.".replace('"', "'")


class GuardFailure(Exception):
    """A guarded type was not found in dmcg's output (the models would not enforce it)."""


def guard_failure(name: str) -> GuardFailure:
    return GuardFailure(
        f"type {name!r} needs a schema guard but did not generate as a class or alias"
    )


def insert_guards(code: str, plan: GuardPlan, defs: Mapping[str, Any]) -> str:
    """``code`` with a guard on every type of ``plan.guards``; raises :class:`GuardFailure`."""
    if not plan.guards:
        return code
    tree = ast.parse(code)
    spans: list[_Span] = []
    done: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in plan.guards:
            last = node.body[-1]
            assert last.end_lineno is not None
            text = _METHOD.format(doc=_doc(plan.enforced[node.name]), name=node.name)
            line_end = len(code.splitlines(keepends=True)[last.end_lineno - 1].rstrip("\n"))
            spans.append((last.end_lineno, line_end, last.end_lineno, line_end, text.rstrip("\n")))
            done.add(node.name)
        elif (value := _alias_value(node)) is not None:
            assert isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            name = node.targets[0].id
            if name not in plan.guards:
                continue
            validator = f"BeforeValidator(_SCHEMA.value({name!r}))"
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                wrapped = ast.unparse(ast.Constant(f"Annotated[{value.value}, {validator}]"))
            else:
                segment = ast.get_source_segment(code, value) or ast.unparse(value)
                wrapped = f"Annotated[{segment}, {validator}]"
            spans.append(_span(value, wrapped))
            comment = f"# {_doc(plan.enforced[name])}\n"
            spans.append((node.lineno, 0, node.lineno, 0, comment))
            done.add(name)
    missing = sorted(set(plan.guards) - done)
    if missing:
        raise guard_failure(missing[0])
    code = _apply(code, spans)
    code = _import_after(code, "typing", {"Annotated", "Any", "Final"})
    code = _import_after(code, "pydantic", {"BeforeValidator", "ValidationInfo", "model_validator"})
    code = _import_after(code, "leveret.schema", {"SchemaGuard"})
    header = _GUARD_HEADER.format(checks=repr(plan.guards), defs=repr(plan.referenced_defs(defs)))
    last_import = max(
        n.end_lineno or n.lineno
        for n in ast.parse(code).body
        if isinstance(n, ast.Import | ast.ImportFrom)
    )
    lines = code.splitlines(keepends=True)
    lines.insert(last_import, header)
    return "".join(lines)


def _import_after(code: str, module: str, names: set[str]) -> str:
    """``code`` importing ``names`` from ``module``: added to its ``from module import`` line,
    or a new line after the last ``from ... import`` of the imports."""
    body = ast.parse(code).body
    imports = [n for n in body if isinstance(n, ast.ImportFrom) and n.level == 0]
    lines = code.splitlines(keepends=True)
    for node in imports:
        if node.module == module:
            have = {alias.name for alias in node.names}
            if names <= have:
                return code
            # isort's order by type: CONSTANTS, then Classes, then functions, each sorted.
            ordered = sorted(have | names, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
            start, end = node.lineno - 1, node.end_lineno or node.lineno
            lines[start:end] = [f"from {module} import {', '.join(ordered)}\n"]
            return "".join(lines)
    ordered = sorted(names, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    at = max(n.end_lineno or n.lineno for n in imports) if imports else 0
    lines.insert(at, f"from {module} import {', '.join(ordered)}\n")
    return "".join(lines)
