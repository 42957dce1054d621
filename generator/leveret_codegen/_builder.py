"""Semantic checks and the IR: from a valid definition document to a ``ServiceDef``.

Runs on documents the meta-schema accepted, or on the usable part of one it rejected (see
``_salvage``), so shapes are known; what it checks is what a schema cannot say: references
resolve, requests and responses are objects, errors are declared, and every generated Python
name is free and unique.

``models_schema`` lists ``$defs`` in a stable order: the file's types in definition order, then
the types of other files in the order they are first referenced (breadth first), then per method
its hoisted inline request and response (``<MethodPascal>Request``/``Response``), then the
hoisted inline error details (``<ErrorName>Details``) in error order. The self-contained
definition document (``_definition``) lists its types in the same order, the copies of other
files' types after the file's own, so it generates the same models.
"""

from __future__ import annotations

import dataclasses
import json
import keyword
from dataclasses import dataclass

from leveret_codegen._contract import contract_fingerprints
from leveret_codegen._definition import definition_document, definition_json
from leveret_codegen._diagnostics import Diagnostic, has_errors
from leveret_codegen._ir import ErrorDef, MethodDef, ServiceDef
from leveret_codegen._loader import LoadedDocument, Pointer
from leveret_codegen._names import (
    RESERVED_CLIENT_PARAMETERS,
    RESERVED_METHOD_NAMES,
    RESERVED_PACKAGES,
    STATUS_CLASSES,
    pascal_case,
    python_field_name,
    reserved_reason,
)
from leveret_codegen._refs import Followed, Resolved, Resolver, TypeKey
from leveret_codegen._salvage import STAND_IN
from leveret_codegen._suggest import closest
from leveret_codegen._walk import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_ONE, iter_schemas

__all__ = ["build_document"]


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _text(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def build_document(
    doc: LoadedDocument, resolver: Resolver
) -> tuple[ServiceDef | None, list[Diagnostic]]:
    """Check ``doc`` and, when it has a service, build its IR.

    Reference problems go to ``resolver.diagnostics`` (shared by the run, so each is reported
    once); the rest is returned. The ServiceDef is None for a type library or when ``doc`` has
    errors.
    """
    found: list[Diagnostic] = []
    for pointer, schema in iter_schemas(doc.data):
        if isinstance(schema.get("$ref"), str):
            resolver.follow(doc, pointer, schema)  # reports unknown targets and loops
        found.extend(_closed_all_of_members(doc, resolver, pointer, schema))
        found.extend(_merged_name_clashes(doc, resolver, pointer, schema))
    data = _dict(doc.data)
    if "service" not in data:
        return None, found
    builder = _ServiceBuilder(doc, resolver)
    service = builder.build()
    found.extend(builder.diagnostics)
    return (None if has_errors(found) else service), found


def _closed_all_of_members(
    doc: LoadedDocument, resolver: Resolver, pointer: Pointer, schema: dict[str, object]
) -> list[Diagnostic]:
    """allOf members that close their properties while the others add some: LV401.

    JSON Schema checks each member on its own, so a member with ``additionalProperties`` (false,
    or a schema) applies it to the properties the other members or the schema itself declare:
    with false, no instance may have them. The models merge the members into one class and
    accept them. A ``$ref`` member counts, whichever file its type is in.
    """
    members = schema.get("allOf")
    if not isinstance(members, list):
        return []
    followed = [
        (index, inner)
        for index, member in enumerate(members)
        if isinstance(member, dict)
        and (inner := resolver.follow(doc, (*pointer, "allOf", index), member)) is not None
    ]
    names = {i: {p for _, _, p in _properties(resolver, f)} for i, f in followed}
    found = []
    for index, inner in followed:
        if inner.schema.get("additionalProperties", True) is True:
            continue
        added = set(_dict(schema.get("properties"))).union(
            *(n for i, n in names.items() if i != index)
        )
        extra = sorted(added - names[index])
        if not extra:
            continue
        subject = f"type {inner.named.name!r}" if inner.named else f"allOf member {index}"
        found.append(
            doc.diagnostic(
                (*pointer, "allOf", index),
                "LV401",
                f"{subject} closes its properties with 'additionalProperties', which JSON Schema "
                f"applies to {', '.join(repr(n) for n in extra)} of the other allOf members; the "
                "generated models would accept them",
                "declare all the properties in one object type, or remove additionalProperties "
                f"from {subject}",
            )
        )
    return found


def _merged_name_clashes(
    doc: LoadedDocument, resolver: Resolver, pointer: Pointer, schema: dict[str, object]
) -> list[Diagnostic]:
    """Properties of different allOf parts that become one Python attribute: LV310.

    The model of an allOf is one class with the members' properties and the schema's own, so
    ``a-b`` of a member and ``a_b`` of the schema would be one field and the other wire name
    would be lost. Clashes within one part are reported where that part is declared (one
    object's properties by ``_keywords``, a member's own allOf when this runs on the member),
    so only pairs that first meet in this schema are reported here, once each.
    """
    members = schema.get("allOf")
    if not isinstance(members, list):
        return []
    parts: list[tuple[Pointer, list[tuple[LoadedDocument, Pointer, str]]]] = []
    for index, member in enumerate(members):
        at: Pointer = (*pointer, "allOf", index)
        inner = resolver.follow(doc, at, member) if isinstance(member, dict) else None
        if inner is not None:
            parts.append((at, _properties(resolver, inner)))
    # The schema's own properties last: when one clashes, it is the one reported.
    own = [(doc, pointer, name) for name in _dict(schema.get("properties"))]
    parts.append(((*pointer, "properties"), own))
    within = [{(d.path, p, n) for d, p, n in found} for _, found in parts]
    seen: dict[str, tuple[LoadedDocument, Pointer, str]] = {}
    reported: set[tuple[str, str]] = set()
    found: list[Diagnostic] = []
    for at, declared in parts:
        for document, owner, name in declared:
            python = python_field_name(name)
            first = seen.setdefault(python, (document, owner, name))
            if first[2] == name or (name, first[2]) in reported:
                continue
            first_id, this_id = (first[0].path, first[1], first[2]), (document.path, owner, name)
            if any(first_id in w and this_id in w for w in within):
                continue  # both in one part: reported where that part is declared
            reported.add((name, first[2]))
            # At the property when it is written in this schema (its own or an inline member's),
            # else at the allOf member that brings it in from another type.
            here = document is doc and owner[: len(pointer)] == pointer
            found.append(
                doc.diagnostic(
                    (*owner, "properties", name) if here else at,
                    "LV310",
                    f"properties {first[2]!r} and {name!r} of the merged allOf both become the "
                    f"attribute {python!r}",
                    f"{first[2]!r} is declared at {_where(*first)} and {name!r} at "
                    f"{_where(document, owner, name)}; the model merges the allOf members' "
                    "properties with its own: rename one of them",
                    at_key=here,
                )
            )
    return found


def _where(document: LoadedDocument, owner: Pointer, name: str) -> str:
    line, col = document.key_position((*owner, "properties", name))
    return f"{document.path}:{line}:{col}"


def _properties(
    resolver: Resolver, followed: Followed
) -> list[tuple[LoadedDocument, Pointer, str]]:
    """Every property of an object schema, its allOf members' included, with where it is."""
    found = [
        (followed.document, followed.pointer, name)
        for name in _dict(followed.schema.get("properties"))
    ]
    for index, member in enumerate(_list(followed.schema.get("allOf"))):
        inner = resolver.follow(
            followed.document, (*followed.pointer, "allOf", index), _dict(member)
        )
        if inner is not None:
            found.extend(_properties(resolver, inner))
    return found


class _ServiceBuilder:
    def __init__(self, doc: LoadedDocument, resolver: Resolver) -> None:
        self.doc = doc
        self.resolver = resolver
        self.data = _dict(doc.data)
        self.diagnostics: list[Diagnostic] = []
        self._names: dict[str, str] = {}  # generated name -> "type 'Money' (line 4)"
        self._defs: dict[str, object] = {}
        self._def_keys: dict[str, TypeKey | None] = {}
        # Types of other files to copy, with the reference in this file that needs them.
        self._foreign: list[tuple[Resolved, Pointer]] = []
        self._clashed: set[TypeKey] = set()  # foreign types reported as clashing, once each

    # -- names ---------------------------------------------------------------------------------

    def _error(self, pointer: Pointer, code: str, message: str, hint: str, *, at_key: bool) -> None:
        self.diagnostics.append(self.doc.diagnostic(pointer, code, message, hint, at_key=at_key))

    def _claim(self, name: str, label: str, pointer: Pointer, *, at_key: bool = True) -> None:
        """Take a module-level name of the generated package, reporting reserved or taken ones."""
        reason = reserved_reason(name)
        line = self.doc.key_position(pointer)[0] if at_key else self.doc.position(pointer)[0]
        if reason is not None:
            self._error(
                pointer,
                "LV308",
                f"{label} would be named {name!r}, which is {reason}",
                "choose another name",
                at_key=at_key,
            )
        elif name in self._names:
            self._error(
                pointer,
                "LV307",
                f"{label} and {self._names[name]} would both be named {name!r}",
                "rename one of them",
                at_key=at_key,
            )
        else:
            self._names[name] = f"{label} (line {line})"

    # -- the service ---------------------------------------------------------------------------

    def build(self) -> ServiceDef | None:
        package = _text(self.data.get("package"))
        service = _text(self.data.get("service"))
        if keyword.iskeyword(package) or package in RESERVED_PACKAGES:
            why = (
                "a Python keyword, so the package could not be imported"
                if keyword.iskeyword(package)
                else "an existing module, which the generated package would shadow"
            )
            self._error(
                ("package",),
                "LV308",
                f"package name {package!r} is {why}",
                "choose another package name",
                at_key=False,
            )
        names = {
            "client_class": f"{service}Client",
            "async_client_class": f"Async{service}Client",
            "servicer_class": f"{service}Servicer",
            "async_servicer_class": f"Async{service}Servicer",
        }
        for field, name in names.items():
            self._claim(name, f"the {field.replace('_', ' ')}", ("service",), at_key=False)
        self._claim("SERVICE", "the service spec", ("service",), at_key=False)

        types = _dict(self.data.get("types"))
        for name, schema in types.items():
            self._claim(name, f"type {name!r}", ("types", name))
            self._add_def(name, (self.doc.path, name), _dict(schema), ("types", name))
        errors_data = _dict(self.data.get("errors"))
        for name in errors_data:
            self._claim(name, f"error {name!r}", ("errors", name))
        methods = tuple(
            self._method(name, _dict(spec), errors_data)
            for name, spec in _dict(self.data.get("methods")).items()
        )
        errors = tuple(
            self._declared_error(name, _dict(spec)) for name, spec in errors_data.items()
        )
        self._copy_foreign_types()
        if has_errors(self.diagnostics) or None in methods or None in errors:
            return None
        queue = _text(self.data.get("queue"), f"{package}.{service}")
        hoisted = [name for name, key in self._def_keys.items() if key is None]
        foreign = [n for n, k in self._def_keys.items() if k is not None and k[0] != self.doc.path]
        own = [name for name in self._defs if name not in hoisted and name not in foreign]
        defs = {name: self._defs[name] for name in (*own, *foreign, *hoisted)}
        document = definition_document(self.doc, self.resolver, hoisted, foreign)
        fingerprints = contract_fingerprints(document, queue)
        return ServiceDef(
            source=self.doc.path,
            package=package,
            service=service,
            version=_text(self.data.get("version")),
            description=_text(self.data.get("description")),
            queue=queue,
            queue_type=_text(self.data.get("queue_type"), "classic"),
            methods=tuple(
                dataclasses.replace(m, fingerprint=fingerprints.methods[m.name])
                for m in methods
                if m is not None
            ),
            errors=tuple(e for e in errors if e is not None),
            models_schema=json.dumps({"$defs": defs}, indent=2, ensure_ascii=False),
            definition=definition_json(document),
            fingerprint=fingerprints.service,
            **names,
        )

    # -- methods and errors --------------------------------------------------------------------

    def _method(
        self, name: str, spec: dict[str, object], declared: dict[str, object]
    ) -> MethodDef | None:
        at: Pointer = ("methods", name)
        if keyword.iskeyword(name):
            self._error(
                at,
                "LV308",
                f"method name {name!r} is a Python keyword",
                "rename the method",
                at_key=True,
            )
        elif name in RESERVED_METHOD_NAMES:
            self._error(
                at,
                "LV308",
                f"method name {name!r} would override {name!r} of the runtime's client or servicer",
                "rename the method",
                at_key=True,
            )
        const_name = name.upper()
        self._claim(const_name, f"the spec constant of method {name!r}", at)
        prefix = pascal_case(name)
        request = self._message(at, "request", f"{prefix}Request", spec, f"method {name!r}")
        response = self._message(at, "response", f"{prefix}Response", spec, f"method {name!r}")
        if request is not None:
            self._check_client_parameters(name, request)
        errors = spec.get("errors", [])
        for index, error in enumerate(errors if isinstance(errors, list) else []):
            if error not in declared:
                guess = closest(str(error), declared)
                listed = ", ".join(declared) if declared else "none"
                self._error(
                    (*at, "errors", index),
                    "LV306",
                    f"method {name!r} lists the undeclared error {error!r}",
                    (f"did you mean {guess!r}? " if guess else "")
                    + f"declare it under `errors:` (declared: {listed})",
                    at_key=False,
                )
        timeout = spec.get("timeout")
        if request is None or response is None:
            return None
        return MethodDef(
            name=name,
            python_name=name,
            const_name=const_name,
            description=_text(spec.get("description")),
            request_type=request.name,
            response_type=response.name,
            errors=tuple(str(e) for e in (errors if isinstance(errors, list) else [])),
            timeout=float(timeout) if isinstance(timeout, (int, float)) else None,
            idempotent=spec.get("idempotent") is True,
        )

    def _declared_error(self, name: str, spec: dict[str, object]) -> ErrorDef | None:
        status = _text(spec.get("status"))
        details_type: str | None = None
        if "details" in spec:
            details = self._message(
                ("errors", name), "details", f"{name}Details", spec, f"error {name!r}"
            )
            if details is None:
                return None
            details_type = details.name
        return ErrorDef(
            name=name,
            status=status,
            status_class=STATUS_CLASSES[status],
            description=_text(spec.get("description")),
            details_type=details_type,
        )

    def _message(
        self, owner: Pointer, part: str, hoisted: str, spec: dict[str, object], what: str
    ) -> _Model | None:
        """The model of a request, response or error details: a named type or a hoisted one."""
        at: Pointer = (*owner, part)
        schema = _dict(spec.get(part))
        followed = self.resolver.follow(self.doc, at, schema)
        if followed is None:
            return None
        if followed.named is None and not schema.get(STAND_IN):
            self._claim(hoisted, f"the {part} model of {what}", at)
            self._add_def(hoisted, None, schema, at)
        problem = self._not_object(followed)
        if problem is not None:
            subject = f"type {followed.named.name!r}" if followed.named else "it"
            self._error(
                at,
                "LV305",
                f"the {part} of {what} must be an object schema, but {subject} is {problem}",
                "use `type: object` with properties, or a $ref to such a type",
                at_key=False,
            )
            return None
        name = followed.named.name if followed.named else hoisted
        return _Model(name, followed)

    def _not_object(self, followed: Followed) -> str | None:
        """None for a schema that becomes a model class with fields, else what it is instead."""
        schema = followed.schema
        declared = schema.get("type")
        if declared == "object":
            if "properties" not in schema and isinstance(schema.get("additionalProperties"), dict):
                return "a map (additionalProperties without properties)"
            return None
        if declared is None and isinstance(schema.get("allOf"), list):
            for index, member in enumerate(_list(schema["allOf"])):
                inner = self.resolver.follow(
                    followed.document, (*followed.pointer, "allOf", index), _dict(member)
                )
                problem = None if inner is None else self._not_object(inner)
                if problem is not None:
                    return f"an allOf with a member that is {problem}"
            return None
        if isinstance(declared, list):
            return f"of type {' or '.join(str(t) for t in declared)}"
        if isinstance(declared, str):
            return f"of type {declared}"
        return "a schema without `type: object`"

    def _check_client_parameters(self, method: str, request: _Model) -> None:
        """Client methods take the request's properties as keyword arguments next to their own."""
        for document, pointer, prop in _properties(self.resolver, request.followed):
            python = python_field_name(prop)
            if python in RESERVED_CLIENT_PARAMETERS:
                self.diagnostics.append(
                    document.diagnostic(
                        (*pointer, "properties", prop),
                        "LV311",
                        f"request property {prop!r} of method {method!r} would shadow the "
                        f"client method's {python!r} parameter",
                        "rename the property",
                        at_key=True,
                    )
                )

    # -- $defs ---------------------------------------------------------------------------------

    def _add_def(
        self, name: str, key: TypeKey | None, schema: dict[str, object], at: Pointer
    ) -> None:
        self._defs[name] = self._rewrite(self.doc, at, schema, at)
        self._def_keys[name] = key

    def _rewrite(
        self, document: LoadedDocument, at: Pointer, schema: dict[str, object], origin: Pointer
    ) -> dict[str, object]:
        """A copy of ``schema`` with every ``$ref`` pointing into ``$defs``; types of other files
        are queued for copying. Only schema positions are rewritten, never ``default``/``enum``
        data that happens to hold a "$ref" key."""
        result: dict[str, object] = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                target = self.resolver.resolve(document, at, value)
                if target is not None:
                    if target.document is not self.doc:
                        self._foreign.append((target, at if document is self.doc else origin))
                    value = f"#/$defs/{target.name}"
            elif key in SCHEMA_MAPS and isinstance(value, dict):
                value = {
                    n: self._rewrite_sub(document, (*at, key, n), s, origin)
                    for n, s in value.items()
                }
            elif key in SCHEMA_ONE:
                value = self._rewrite_sub(document, (*at, key), value, origin)
            elif key in SCHEMA_LISTS and isinstance(value, list):
                value = [
                    self._rewrite_sub(document, (*at, key, i), s, origin)
                    for i, s in enumerate(value)
                ]
            result[key] = value
        return result

    def _rewrite_sub(
        self, document: LoadedDocument, at: Pointer, schema: object, origin: Pointer
    ) -> object:
        """A subschema rewritten; a boolean schema (``true``/``false``) as it is."""
        if isinstance(schema, dict):
            return self._rewrite(document, at, schema, origin)
        return schema

    def _copy_foreign_types(self) -> None:
        """Copy the types of other files this service uses, transitively, into ``$defs``.

        Problems are reported at the reference in this file that pulls the type in: the clash
        exists only in this service's generated package.
        """
        index = 0
        while index < len(self._foreign):
            target, origin = self._foreign[index]
            index += 1
            if self._def_keys.get(target.name, ()) == target.key:
                continue
            copy = self._rewrite(target.document, ("types", target.name), target.schema, origin)
            label = f"type {target.name!r} of {target.document.path}"
            if target.name not in self._defs:
                self._defs[target.name] = copy
                self._def_keys[target.name] = target.key
                self._claim(target.name, label, (*origin, "$ref"), at_key=False)
            elif self._defs[target.name] != copy and target.key not in self._clashed:
                self._clashed.add(target.key)
                first = self._def_keys[target.name]
                where = f"of {first[0]}" if first else "hoisted from this file"
                self._error(
                    (*origin, "$ref"),
                    "LV312",
                    f"{label} clashes with a different type {target.name!r} {where}",
                    "rename one of them: the generated package has one namespace",
                    at_key=False,
                )


@dataclass(frozen=True, slots=True)
class _Model:
    """A request, response or details model: its ``$defs`` name and its resolved schema."""

    name: str
    followed: Followed


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []
