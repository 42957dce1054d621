"""Rewrites of dmcg's models that make them mean what JSON Schema says (issue 11).

* :func:`json_integers`: every ``int`` becomes ``JsonInt`` (``Annotated[int, Field(...),
  JSON_INTEGER]`` where it has constraints), which accepts JSON's ``1.0`` as an integer; a
  ``datetime``, ``date`` or ``UUID`` (formats ``date-time``, ``date``, ``uuid``) gets the marker
  that checks its string with the format's exact assertion before parsing it.
* :func:`json_literals`: a ``Literal`` with an integer member gets ``JSON_LITERAL``: ``true``
  is not ``1`` (Python says it is), ``1.0`` is.
* :func:`json_numbers`: every ``float`` (a ``number``) becomes ``float | int``, so an integer
  stays exact (``9007199254740993`` is not rounded to a double), with each bound on both types.
* :func:`unprotected_fields`: a class with a field named ``model_dump_...`` (dmcg's rename of a
  property ``model_dump``) says ``protected_namespaces=()``: pydantic would warn at import.
* :func:`insert_guards`: each type with a guard schema (:mod:`leveret_codegen._guards`) gets a
  validator from the module's :class:`leveret.schema.SchemaGuard`, run before pydantic's own.

Names these add are imported under names no property takes (:class:`_Names`).

All of them edit the source text at AST positions (back to front), so dmcg's docstrings and layout
survive; the format stage formats the result.
"""

from __future__ import annotations

import ast
import math
import textwrap
from collections.abc import Mapping
from typing import Any, Final

from leveret_codegen._guards import GuardPlan

__all__ = [
    "MODEL_ONLY_NAMES",
    "GuardFailure",
    "char_offset",
    "insert_guards",
    "json_integers",
    "json_literals",
    "json_numbers",
    "unprotected_fields",
]

#: Names the models use only to narrow what a type accepts. Client signatures copy the models'
#: annotations without them (a parameter is ``int``, not ``JsonInt``): the arguments go through
#: the model, which applies them.
MODEL_ONLY_NAMES: Final = frozenset(
    {"JSON_LITERAL", "JSON_INTEGER", "JSON_DATE_TIME", "JSON_DATE", "JSON_UUID", "_SCHEMA"}
)

_Span = tuple[int, int, int, int, str]  # line, col, end line, end col (1-based lines), new text


def _apply(code: str, spans: list[_Span]) -> str:
    """``code`` with each span's text in place of what it covers.

    Columns are ``ast``'s: UTF-8 byte offsets within their line, converted here per line, so a
    non-ASCII name before a span (``größe: int``) does not shift it.
    """
    lines = code.splitlines(keepends=True)
    # A span may insert at the line after the last one (a guard after the last class).
    lines += [""] * (max((s[2] for s in spans), default=0) - len(lines))
    # Back to front, so that the positions of the spans not yet rewritten stay valid (a line's
    # text before a span is unchanged when the span's turn comes).
    for line, col, end_line, end_col, text in sorted(spans, reverse=True):
        first, last = line - 1, end_line - 1
        start = char_offset(lines[first], col)
        joined = "".join(lines[first : last + 1])
        end = len(joined) - len(lines[last]) + char_offset(lines[last], end_col)
        lines[first : last + 1] = [joined[:start] + text + joined[end:]]
    return "".join(lines)


def char_offset(line: str, byte_offset: int) -> int:
    """The ``str`` index of ``ast``'s column ``byte_offset`` (UTF-8 bytes) in ``line``."""
    if line.isascii():
        return byte_offset
    return len(line.encode()[:byte_offset].decode())


def _span(node: ast.expr, text: str) -> _Span:
    assert node.end_lineno is not None and node.end_col_offset is not None
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, text)


def _type_positions(tree: ast.Module) -> list[ast.expr]:
    """Annotations of class fields, the type of a class's extras (dmcg's ``__annotations__ =
    {"__pydantic_extra__": Dict[str, T]}`` for ``additionalProperties`` beside ``properties``)
    and values of ``X = TypeAliasType("X", value)``."""
    found: list[ast.expr] = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found.extend(s.annotation for s in node.body if isinstance(s, ast.AnnAssign))
            found.extend(
                value
                for s in node.body
                if isinstance(s, ast.Assign)
                and [t.id for t in s.targets if isinstance(t, ast.Name)] == ["__annotations__"]
                and isinstance(s.value, ast.Dict)
                for value in s.value.values
            )
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


class _Names:
    """The local names a rewrite may use in a models module, without shadowing.

    A property becomes a class attribute of its name, and inside that class body the attribute
    hides a module-level name (dmcg renames its own imports ``Field_aliased`` for that reason). A
    name this module adds is imported as itself unless a field or a module-level name has it,
    then as ``<name>_leveret``; an import dmcg already made is reused under its bound name.
    """

    def __init__(self, code: str) -> None:
        tree = ast.parse(code)
        self._bound: dict[tuple[str, str], str] = {}
        self._taken: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    self._bound.setdefault((node.module, alias.name), alias.asname or alias.name)
                    self._taken.add(alias.asname or alias.name)
            elif isinstance(node, ast.ClassDef):
                self._taken.add(node.name)
                self._taken.update(
                    s.target.id
                    for s in node.body
                    if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
                )
            elif isinstance(node, ast.Assign):
                self._taken.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.added: dict[tuple[str, str], str] = {}

    def original(self, local: str) -> tuple[str, str] | None:
        for key, bound in self._bound.items():
            if bound == local:
                return key
        return None

    def use(self, module: str, name: str) -> str:
        """The local name of ``module.name``, imported if needed."""
        key = (module, name)
        if key in self._bound:
            return self._bound[key]
        local = name if name not in self._taken else f"{name}_leveret"
        self._bound[key] = local
        self._taken.add(local)
        self.added[key] = local
        return local

    def imports(self, code: str) -> str:
        """``code`` with a line for each import :meth:`use` added, after the last import."""
        if not self.added:
            return code
        lines_by_module: dict[str, list[str]] = {}
        for (module, name), local in self.added.items():
            spelled = name if local == name else f"{name} as {local}"
            lines_by_module.setdefault(module, []).append(spelled)
        new = [
            f"from {module} import {', '.join(sorted(names, key=_isort_key))}\n"
            for module, names in sorted(lines_by_module.items())
        ]
        body = ast.parse(code).body
        at = max(
            (n.end_lineno or n.lineno for n in body if isinstance(n, ast.Import | ast.ImportFrom)),
            default=0,
        )
        lines = code.splitlines(keepends=True)
        lines[at:at] = new
        return "".join(lines)


def _isort_key(spelled: str) -> tuple[bool, bool, str]:
    # isort's order by type: CONSTANTS, then Classes, then functions, each sorted.
    name = spelled.partition(" ")[0]
    return (not name.isupper(), not name[:1].isupper(), name)


_SCHEMA_MODULE: Final = "leveret.schema"

#: Types dmcg emits (module, name) whose JSON reading leveret's runtime makes exact: the marker
#: put last in their ``Annotated[...]``; a bare ``int`` becomes ``JsonInt`` instead.
_EXACT: Final[dict[tuple[str, str], str]] = {
    ("builtins", "int"): "JSON_INTEGER",
    ("pydantic", "AwareDatetime"): "JSON_DATE_TIME",
    ("datetime", "date"): "JSON_DATE",
    ("uuid", "UUID"): "JSON_UUID",
}


class _Exact:
    """Spans making the types of :data:`_EXACT` exact within one type expression."""

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.spans: list[_Span] = []

    def _exact(self, node: ast.expr) -> tuple[str, str] | None:
        if not isinstance(node, ast.Name):
            return None
        if node.id == "int":
            return ("builtins", "int")
        key = self.names.original(node.id)
        return key if key in _EXACT else None

    def _bounds_inside(self, node: ast.expr, first: ast.expr, metadata: list[ast.expr]) -> bool:
        """``Annotated[int | MISSING, Field(ge=..)]`` (an optional bounded integer) as
        ``Annotated[int, Field(ge=..), JSON_INTEGER] | MISSING``: bounds outside a union are a
        Python validator after it; on the integer they stay in pydantic's core."""
        members = _union_members(first)
        ints = [m for m in members if self._exact(m) == ("builtins", "int")]
        rest = [m for m in members if m not in ints]
        if (
            len(ints) != 1
            or not rest
            or not all(_is_name(m, "MISSING") or _is_none(m) for m in rest)
            or len(metadata) != 1
            or not isinstance(call := metadata[0], ast.Call)
            or self.names.original(_name(call.func)) != ("pydantic", "Field")
            or call.args
            or not all(k.arg in INT_BOUNDS for k in call.keywords)
        ):
            return False
        annotated = self.names.use("typing", "Annotated")
        marker = self.names.use(_SCHEMA_MODULE, "JSON_INTEGER")
        text = f"{annotated}[{ast.unparse(ints[0])}, {ast.unparse(call)}, {marker}]"
        text += "".join(f" | {ast.unparse(m)}" for m in rest)
        self.spans.append(_span(node, text))
        return True

    def visit(self, node: ast.expr) -> None:
        if isinstance(node, ast.Call):
            return  # Field(...) arguments are values
        if isinstance(node, ast.Subscript):
            if self.names.original(_name(node.value)) == ("typing", "Literal"):
                return
            annotated = self.names.original(_name(node.value)) == ("typing", "Annotated")
            if annotated and isinstance(node.slice, ast.Tuple):
                first, *metadata = node.slice.elts
                if self._bounds_inside(node, first, metadata):
                    return
                key = self._exact(first)
                if key is not None and metadata:
                    marker = self.names.use(_SCHEMA_MODULE, _EXACT[key])
                    last = metadata[-1]
                    assert last.end_lineno is not None and last.end_col_offset is not None
                    at = (last.end_lineno, last.end_col_offset)
                    self.spans.append((*at, *at, f", {marker}"))
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
        elif (key := self._exact(node)) is not None:
            if key == ("builtins", "int"):
                self.spans.append(_span(node, self.names.use(_SCHEMA_MODULE, "JsonInt")))
            else:
                wrapper = self.names.use("typing", "Annotated")
                marker = self.names.use(_SCHEMA_MODULE, _EXACT[key])
                assert isinstance(node, ast.Name)
                self.spans.append(_span(node, f"{wrapper}[{node.id}, {marker}]"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # A quoted (recursive) alias value: rewrite inside the string.
            inner = _Exact(self.names)
            inner.visit(ast.parse(node.value, mode="eval").body)
            if inner.spans:
                text = _apply(node.value, inner.spans)
                self.spans.append(_span(node, ast.unparse(ast.Constant(text))))


#: ``Field`` arguments that constrain an integer (and nothing else)
INT_BOUNDS: Final = frozenset({"ge", "gt", "le", "lt", "multiple_of"})
#: ``Field`` arguments that bound a number
_NUMBER_BOUNDS: Final = frozenset({"ge", "gt", "le", "lt"})


def _int_bound(keyword: str, bound: float) -> tuple[str, int]:
    """The bound on integers that admits exactly the integers ``keyword=bound`` admits."""
    if keyword == "ge":
        return "ge", math.ceil(bound)
    if keyword == "gt":
        return "ge", math.floor(bound) + 1
    if keyword == "le":
        return "le", math.floor(bound)
    return "le", math.ceil(bound) - 1


def _constant(node: ast.expr) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _constant(node.operand)
        return None if inner is None else -inner
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    return None


class _Numbers:
    """Spans typing every ``float`` as ``float | int`` within one type expression."""

    def __init__(self, names: _Names) -> None:
        self.names = names
        self.spans: list[_Span] = []

    def _float(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id == "float"

    def _bounded(self, node: ast.Subscript, first: ast.expr, metadata: list[ast.expr]) -> bool:
        """``Annotated[float | MISSING, Field(ge=0.0, alias=..)]`` as ``Annotated[Annotated[float,
        Field(ge=0.0)] | Annotated[int, Field(ge=0)] | MISSING, Field(alias=..)]``: each branch
        keeps its bounds in pydantic's core (a bound on the union would be a Python validator
        after it). An integer the int branch refuses is refused by the float branch too (which
        would take it rounded) as long as the bounds are below 2**53 in magnitude: beyond, the
        bound is the guard's (``_guards._float_exact``) and this returns ``False``."""
        members = _union_members(first)
        floats = [m for m in members if self._float(m)]
        rest = [m for m in members if m not in floats]
        calls = [m for m in metadata if isinstance(m, ast.Call)]
        if (
            len(floats) != 1
            or len(metadata) != 1
            or len(calls) != 1
            or self.names.original(_name(calls[0].func)) != ("pydantic", "Field")
            or calls[0].args
        ):
            return False
        call = calls[0]
        bounds = [k for k in call.keywords if k.arg in _NUMBER_BOUNDS]
        others = [k for k in call.keywords if k.arg not in _NUMBER_BOUNDS]
        values = [_constant(k.value) for k in bounds]
        if not bounds or any(v is None or abs(v) >= 2**53 for v in values):
            return False
        annotated = self.names.use("typing", "Annotated")
        field = ast.unparse(call.func)
        ints: dict[str, int] = {}
        for keyword, value in zip(bounds, values, strict=True):
            assert keyword.arg is not None and value is not None
            arg, bound = _int_bound(keyword.arg, value)
            ints[arg] = max(ints[arg], bound) if arg == "ge" and arg in ints else bound
            if arg == "le" and arg in ints:
                ints[arg] = min(ints[arg], bound)
        int_args = ", ".join(f"{k}={v}" for k, v in ints.items())
        float_args = ", ".join(ast.unparse(k) for k in bounds)
        text = f"{annotated}[float, {field}({float_args})] | {annotated}[int, {field}({int_args})]"
        text += "".join(f" | {ast.unparse(m)}" for m in rest)
        if others:
            text = f"{annotated}[{text}, {field}({', '.join(ast.unparse(k) for k in others)})]"
        self.spans.append(_span(node, text))
        return True

    def visit(self, node: ast.expr) -> None:
        if isinstance(node, ast.Call):
            return  # Field(...) arguments are values
        if isinstance(node, ast.Subscript):
            if self.names.original(_name(node.value)) == ("typing", "Literal"):
                return
            annotated = self.names.original(_name(node.value)) == ("typing", "Annotated")
            if annotated and isinstance(node.slice, ast.Tuple):
                first, *metadata = node.slice.elts
                if self._bounded(node, first, metadata):
                    return
            self.visit(node.value)
            self.visit(node.slice)
        elif isinstance(node, ast.Tuple | ast.List):
            for element in node.elts:
                self.visit(element)
        elif isinstance(node, ast.BinOp):
            self.visit(node.left)
            self.visit(node.right)
        elif self._float(node):
            self.spans.append(_span(node, "float | int"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            inner = _Numbers(self.names)
            inner.visit(ast.parse(node.value, mode="eval").body)
            if inner.spans:
                text = _apply(node.value, inner.spans)
                self.spans.append(_span(node, ast.unparse(ast.Constant(text))))


def json_numbers(code: str) -> str:
    """``code`` with every ``float`` (JSON Schema's ``number``) typed ``float | int``.

    A ``float`` alone rounds an integer above 2**53 (``9007199254740993`` becomes
    ``9007199254740992.0``) before bounds, ``uniqueItems`` and the handler see it, and writes
    ``1`` back as ``1.0``. With ``float | int`` (pydantic's smart union, strict) a JSON integer
    is an ``int`` (the exact match; a ``float`` takes it only inexactly) and a number with a
    fraction or an exponent a ``float``, as the wire wrote it. ``float`` first: a float input
    matches exactly at the first try (``int | float`` builds an error for every float first,
    3.5x the cost of a list of floats; ``bench/model_validation.py``).
    Bounds go on each branch (:meth:`_Numbers._bounded`); the generator leaves bounds of 2**53
    or more to the guard, which compares exactly (``leveret_codegen._guards``).
    """
    names = _Names(code)
    visitor = _Numbers(names)
    for node in _type_positions(ast.parse(code)):
        visitor.visit(node)
    return names.imports(_apply(code, visitor.spans))


def _union_members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*_union_members(node.left), *_union_members(node.right)]
    return [node]


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else ""


def json_integers(code: str) -> str:
    """``code`` with integers accepting ``1.0`` and formatted strings checked exactly (see the
    module docstring)."""
    names = _Names(code)
    visitor = _Exact(names)
    for node in _type_positions(ast.parse(code)):
        visitor.visit(node)
    return names.imports(_apply(code, visitor.spans))


#: pydantic's default ``protected_namespaces``: a field whose name starts with one is warned
#: about when its class is created.
_PROTECTED: Final = ("model_validate", "model_dump")


def unprotected_fields(code: str) -> str:
    """``code`` with ``protected_namespaces=()`` in the ``ConfigDict`` of each class that has a
    field named ``model_dump_...``/``model_validate_...``.

    dmcg renames a property that would shadow a ``BaseModel`` attribute (``model_dump`` becomes
    ``model_dump_``, aliased ``model_dump``), but pydantic still warns, at import, that the name
    is in a protected namespace. It shadows nothing: the warning goes, the field stays.
    """
    spans: list[_Span] = []
    for node in ast.parse(code).body:
        if not isinstance(node, ast.ClassDef) or not any(
            isinstance(s, ast.AnnAssign)
            and isinstance(s.target, ast.Name)
            and s.target.id.startswith(_PROTECTED)
            for s in node.body
        ):
            continue
        for statement in node.body:
            if (
                isinstance(statement, ast.Assign)
                and [t.id for t in statement.targets if isinstance(t, ast.Name)] == ["model_config"]
                and isinstance(statement.value, ast.Call)
                and not any(k.arg == "protected_namespaces" for k in statement.value.keywords)
            ):
                func = statement.value.func
                assert func.end_lineno is not None and func.end_col_offset is not None
                at = (func.end_lineno, func.end_col_offset + 1)  # after "ConfigDict("
                spans.append((*at, *at, "protected_namespaces=(), "))
    return _apply(code, spans)


def json_literals(code: str) -> str:
    """Mark every ``Literal`` with an integer member: ``Annotated[Literal[...], JSON_LITERAL]``."""
    names = _Names(code)
    tree = ast.parse(code)
    spans = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and names.original(_name(node.value)) == ("typing", "Literal")
            and any(_is_int(member) for member in _members(node.slice))
        ):
            text = ast.get_source_segment(code, node) or ast.unparse(node)
            annotated = names.use("typing", "Annotated")
            marker = names.use(_SCHEMA_MODULE, "JSON_LITERAL")
            spans.append(_span(node, f"{annotated}[{text}, {marker}]"))
    return names.imports(_apply(code, spans))


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
_SCHEMA: Final = {guard}(
    checks={checks},
    defs={defs},
)
"""


def _doc(enforced: list[str], indent: str) -> str:
    """What a guard checks, as comment lines (``indent`` starts each line)."""
    listed = ", ".join(enforced[:8]) + (
        f" and {len(enforced) - 8} more" if len(enforced) > 8 else ""
    )
    text = f"JSON Schema keywords the fields cannot express: {listed}."
    width = 96 - len(indent)
    return "".join(
        indent + line + "\n" for line in textwrap.wrap(text, width, break_on_hyphens=False)
    )


class GuardFailure(Exception):
    """A guarded type was not found in dmcg's output (the models would not enforce it)."""


def insert_guards(code: str, plan: GuardPlan, defs: Mapping[str, Any]) -> str:
    """``code`` with a guard on every type of ``plan.guards``; raises :class:`GuardFailure`.

    A class gets ``_leveret_schema = _SCHEMA.model_validator("Name")`` (a model validator
    checking the input before pydantic's own validation); an alias
    ``Name = TypeAliasType("Name", T)`` becomes
    ``TypeAliasType("Name", Annotated[T, _SCHEMA.before("Name")])``. Both carry a comment saying
    which keywords the guard enforces. Private names only, so no property can shadow them.
    """
    if not plan.guards:
        return code
    names = _Names(code)
    tree = ast.parse(code)
    spans: list[_Span] = []
    done: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in plan.guards:
            last = node.body[-1]
            assert last.end_lineno is not None
            at = last.end_lineno + 1  # a new line after the class body
            text = (
                "\n"
                + _doc(plan.enforced[node.name], "    # ")
                + f"    _leveret_schema = _SCHEMA.model_validator({node.name!r})\n"
            )
            spans.append((at, 0, at, 0, text))
            done.add(node.name)
        elif (value := _alias_value(node)) is not None:
            assert isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            name = node.targets[0].id
            if name not in plan.guards:
                continue
            annotated = names.use("typing", "Annotated")
            validator = f"_SCHEMA.before({name!r})"
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                wrapped = ast.unparse(ast.Constant(f"{annotated}[{value.value}, {validator}]"))
            else:
                segment = ast.get_source_segment(code, value) or ast.unparse(value)
                wrapped = f"{annotated}[{segment}, {validator}]"
            spans.append(_span(value, wrapped))
            spans.append((node.lineno, 0, node.lineno, 0, _doc(plan.enforced[name], "# ")))
            done.add(name)
    missing = sorted(set(plan.guards) - done)
    if missing:
        raise GuardFailure(
            f"type {missing[0]!r} needs a schema guard but did not generate as a class or alias"
        )
    final = names.use("typing", "Final")
    guard = names.use(_SCHEMA_MODULE, "SchemaGuard")
    code = names.imports(_apply(_pad(code), spans))
    header = _GUARD_HEADER.format(
        guard=guard, checks=repr(plan.guards), defs=repr(plan.referenced_defs(defs))
    ).replace("_SCHEMA: Final", f"_SCHEMA: {final}")
    last_import = max(
        n.end_lineno or n.lineno
        for n in ast.parse(code).body
        if isinstance(n, ast.Import | ast.ImportFrom)
    )
    lines = code.splitlines(keepends=True)
    lines.insert(last_import, header)
    return "".join(lines)


def _pad(code: str) -> str:
    # A span may insert at the line after the last one.
    return code if code.endswith("\n") else code + "\n"
