"""The Markdown reference of a service: what ``leveret docs`` writes.

One page per definition, meant to be read on a code host's file view (GitHub-flavoured Markdown):
the service and its queue, a table of methods, then per method its request and response
properties (type, required, constraints, description; nested inline objects flattened as
``parent.child``, named types linked to their section), its declared errors, its timeout and
idempotency, and an example request and reply. Declared errors and the named types follow.

Examples come from ``_examples`` and are validated against their schemas; a schema no example can
be made for stops the run with diagnostic LV501 (no page is half right). The page is
deterministic: it depends only on the definition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from leveret_codegen._diagnostics import Diagnostic, Severity
from leveret_codegen._frontend import load_document
from leveret_codegen._ir import MethodDef, ServiceDef

__all__ = [
    "EXAMPLE_CODE",
    "docs_file_name",
    "error_body_example",
    "prose",
    "render_docs",
    "service_examples",
]

JSON = Any

#: Diagnostic code of "no valid example can be built for this schema".
EXAMPLE_CODE: Final = "LV501"

_EXAMPLE_HINT: Final = (
    "give the schema (or the property that fails) an `examples: [...]` list with a valid value"
)


def docs_file_name(service: ServiceDef) -> str:
    """The page's file name inside the output folder."""
    return f"{service.package}.md"


@dataclass(frozen=True, slots=True)
class MethodExamples:
    request: JSON
    reply: JSON


@dataclass(frozen=True, slots=True)
class ServiceExamples:
    methods: dict[str, MethodExamples] = field(default_factory=dict)
    errors: dict[str, JSON] = field(default_factory=dict)  # error name -> error reply body


def _defs(service: ServiceDef) -> dict[str, JSON]:
    defs = json.loads(service.models_schema).get("$defs", {})
    return defs if isinstance(defs, dict) else {}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def error_body_example(status: str, message: str, error: str | None, details: JSON) -> JSON:
    """The JSON body of an error reply (docs/wire-protocol.md §4)."""
    return {"code": status, "message": message, "error": error, "details": details}


def service_examples(service: ServiceDef) -> tuple[ServiceExamples, tuple[Diagnostic, ...]]:
    """A validated example request and reply per method and an error body per declared error."""
    # imported here: it imports jsonschema, slow to import, and every command imports this
    from leveret_codegen._examples import ExampleError, example_for

    defs = _defs(service)
    examples = ServiceExamples()
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for method in service.methods:
        built: list[JSON] = []
        for part, type_name in (
            ("request", method.request_type),
            ("response", method.response_type),
        ):
            try:
                built.append(example_for(_ref(type_name), defs, name=type_name))
            except ExampleError as exc:
                problems.append(
                    (
                        ("methods", method.name, part),
                        f"cannot build a valid example {part} for method {method.name!r} "
                        f"(type {type_name}): {exc}",
                    )
                )
        if len(built) == 2:
            examples.methods[method.name] = MethodExamples(built[0], built[1])
    for error in service.errors:
        details: JSON = None
        if error.details_type is not None:
            try:
                details = example_for(_ref(error.details_type), defs, name=error.details_type)
            except ExampleError as exc:
                problems.append(
                    (
                        ("errors", error.name, "details"),
                        f"cannot build valid example details for error {error.name!r} "
                        f"(type {error.details_type}): {exc}",
                    )
                )
                continue
        message = error.description or error.status
        examples.errors[error.name] = error_body_example(error.status, message, error.name, details)
    return examples, _diagnostics(service, problems)


def _diagnostics(
    service: ServiceDef, problems: list[tuple[tuple[str | int, ...], str]]
) -> tuple[Diagnostic, ...]:
    if not problems:
        return ()
    document, _ = load_document(service.source)
    found = []
    for pointer, message in problems:
        if document is None:
            found.append(
                Diagnostic(
                    service.source, 0, 0, Severity.ERROR, EXAMPLE_CODE, message, _EXAMPLE_HINT
                )
            )
        else:
            found.append(document.diagnostic(pointer, EXAMPLE_CODE, message, _EXAMPLE_HINT))
    return tuple(sorted(found))


# --- Markdown helpers ----------------------------------------------------------------------


def code(text: str) -> str:
    """``text`` as a code span, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


_ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# A link or link reference definition whose destination runs script when followed.
_SCRIPT_LINK: Final = re.compile(r"(?i)(\]\s*)\((?=\s*(?:javascript|vbscript|data)\s*:)")
_SCRIPT_DEFINITION: Final = re.compile(
    r"(?im)^(\s{0,3})\[(?=[^\]]*\]:\s*(?:javascript|vbscript|data)\s*:)"
)


def prose(text: str) -> str:
    """A description (plain text, possibly from a service described by reflection) as Markdown
    that holds no HTML and no script link: ``&``, ``<`` and ``>`` written as entities outside
    code spans, and a link to ``javascript:``, ``vbscript:`` or ``data:`` left as text. Markdown
    itself (emphasis, code spans, ordinary links) still renders.

    Only code spans that open and close on one line are left alone: those are code spans to any
    Markdown reader, whatever blocks the text makes; a span it would see and this does not only
    shows an entity literally, never the other way round."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] == "`":
            out.append("\\`")  # an escaped backtick opens no code span
            i += 2
            continue
        if c == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            end = _span_end(text, i + run, run)
            if end is not None:
                out.append(text[i:end])
                i = end
            else:
                out.append("`" * run)
                i += run
            continue
        out.append(_ENTITIES.get(c, c))
        i += 1
    escaped = _SCRIPT_LINK.sub(r"\1\\(", "".join(out))
    return _SCRIPT_DEFINITION.sub(r"\1\\[", escaped)


def _span_end(text: str, start: int, run: int) -> int | None:
    """Where the code span whose opening run of ``run`` backticks ends at ``start`` closes
    (the index after its closing run), if it does on the same line."""
    line_end = text.find("\n", start)
    line = text[start : len(text) if line_end < 0 else line_end]
    for match in re.finditer(r"`+", line):
        if len(match.group()) == run:
            return start + match.end()
    return None


def _cell(text: str) -> str:
    """Text fit for one table cell: one line, pipes escaped (also inside code spans, per GFM)."""
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _json_value(value: JSON) -> str:
    return json.dumps(value, ensure_ascii=False)


def _literal(value: JSON) -> str:
    return code(value if isinstance(value, str) else _json_value(value))


def _json_block(value: JSON) -> list[str]:
    return ["```json", *json.dumps(value, indent=2, ensure_ascii=False).splitlines(), "```"]


def _seconds(timeout: float | None) -> str:
    return "none" if timeout is None else f"{timeout:g} s"


def _slug(text: str) -> str:
    """GitHub's heading anchor (github-slugger): lower case, punctuation dropped, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


class _Anchors:
    """Heading anchors in page order, with github-slugger's ``-1``, ``-2`` suffixes for repeats."""

    def __init__(self) -> None:
        self._occurrences: dict[str, int] = {}
        self.of: dict[tuple[str, str], str] = {}

    def add(self, kind: str, name: str, heading: str) -> None:
        base = slug = _slug(heading)
        while slug in self._occurrences:
            self._occurrences[base] += 1
            slug = f"{base}-{self._occurrences[base]}"
        self._occurrences[slug] = 0
        self.of[(kind, name)] = slug


# --- schema views --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Row:
    name: str
    type: str
    required: bool
    constraints: str
    description: str


class _Page:
    """Renders one service; holds the types and anchors every part links to."""

    def __init__(self, service: ServiceDef, examples: ServiceExamples) -> None:
        self.service = service
        self.examples = examples
        self.defs = _defs(service)
        self.referenced = _referenced(self.defs)
        roots = {m.request_type for m in service.methods} | {
            m.response_type for m in service.methods
        }
        roots |= {e.details_type for e in service.errors if e.details_type is not None}
        # A type gets a section when something links to it, or nothing else shows it.
        self.sectioned = [n for n in self.defs if n in self.referenced or n not in roots]
        self.anchors = _Anchors()
        self.anchors.add("page", "", service.service)
        self.anchors.add("h2", "methods", "Methods")
        for method in service.methods:
            self.anchors.add("method", method.name, f"`{method.name}`")
        if service.errors:
            self.anchors.add("h2", "errors", "Errors")
            for error in service.errors:
                self.anchors.add("error", error.name, f"`{error.name}`")
        if self.sectioned:
            self.anchors.add("h2", "types", "Types")
            for name in self.sectioned:
                self.anchors.add("type", name, f"`{name}`")

    def link(self, kind: str, name: str) -> str:
        anchor = self.anchors.of.get((kind, name))
        return code(name) if anchor is None else f"[{code(name)}](#{anchor})"

    # -- types and constraints

    def target(self, schema: Mapping[str, JSON]) -> str | None:
        ref = schema.get("$ref")
        return ref.rpartition("/")[2] if isinstance(ref, str) else None

    def type_text(self, schema: JSON) -> str:
        if schema is False:
            return "nothing (always refused)"
        if not isinstance(schema, Mapping):
            return "any"
        target = self.target(schema)
        if target is not None:
            return self.link("type", target)
        for keyword, word in (("oneOf", "one of"), ("anyOf", "any of"), ("allOf", "all of")):
            branches = schema.get(keyword)
            if isinstance(branches, list):
                return f"{word} " + ", ".join(self._branch_text(b) for b in branches)
        declared = schema.get("type")
        types = declared if isinstance(declared, list) else [declared] if declared else []
        if not types:
            if "const" in schema or "enum" in schema:
                values = schema.get("enum", [schema.get("const")])
                kinds = {_json_type(v) for v in values} if isinstance(values, list) else set()
                return " | ".join(sorted(kinds)) or "any"
            elif "properties" in schema:
                types = ["object"]
            else:
                return "any"
        return " | ".join(self._one_type(str(t), schema) for t in types)

    def _one_type(self, kind: str, schema: Mapping[str, JSON]) -> str:
        prefix = schema.get("prefixItems")
        if kind == "array" and isinstance(prefix, list):
            # a tuple: its items by position, then what may follow
            rest = schema.get("items", True)
            listed = [self.type_text(p) for p in prefix]
            if rest is not False:
                listed.append("..." + ("" if rest is True else self.type_text(rest)))
            return "array [" + ", ".join(listed) + "]"
        if kind == "array":
            return "array of " + self.type_text(schema.get("items", {}))
        if kind == "object" and "properties" not in schema:
            extra = schema.get("additionalProperties")
            if isinstance(extra, Mapping):
                return "map of " + self.type_text(extra)
        return kind

    def constraints(self, schema: JSON) -> str:
        if not isinstance(schema, Mapping):
            return ""
        parts = [*_constraint_parts(schema), *self.rules(schema)]
        items = schema.get("items")
        if isinstance(items, Mapping) and self.target(items) is None and "properties" not in items:
            inner = list(_constraint_parts(items))
            if inner:
                parts.append("each item: " + ", ".join(inner))
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and "properties" not in schema and self.target(extra) is None:
            inner = list(_constraint_parts(extra))
            if inner:
                parts.append("each value: " + ", ".join(inner))
        return ", ".join(parts)

    def summary(self, schema: JSON) -> str:
        """A subschema in a few words: its type, constraints, properties and required names."""
        if schema is False:
            return "nothing"
        if not isinstance(schema, Mapping):
            return "anything"
        parts = [] if self.type_text(schema) == "any" else [self.type_text(schema)]
        parts += [self.constraints(schema)] if self.constraints(schema) else []
        properties = schema.get("properties")
        for name, sub in properties.items() if isinstance(properties, Mapping) else []:
            parts.append(f"{code(name)}: {self.summary(sub)}")
        required = schema.get("required")
        if isinstance(required, list) and required:
            parts.append("requires " + ", ".join(code(str(r)) for r in required))
        return ", ".join(parts) or "anything"

    def _group(self, schema: JSON) -> str:
        text = self.summary(schema)
        return f"({text})" if "," in text else text

    def _branch_text(self, schema: JSON) -> str:
        """A union's branch: its type, or what it says when it names none (``minimum: 3``)."""
        text = self.type_text(schema)
        return self._group(schema) if text == "any" else text

    def rules(self, schema: Mapping[str, JSON]) -> Iterator[str]:
        """The keywords beyond types and bounds, readably (``uniqueItems`` ... ``if``)."""
        if schema.get("uniqueItems") is True:
            yield "unique items"
        if "contains" in schema:
            low, high = schema.get("minContains", 1), schema.get("maxContains")
            count = _range(low, high, "") or ""
            yield f"contains{count} item(s) matching {self._group(schema['contains'])}"
        sized = _range(schema.get("minProperties"), schema.get("maxProperties"), "properties:")
        if sized:
            yield sized
        if "propertyNames" in schema:
            yield f"property names: {self._group(schema['propertyNames'])}"
        patterns = schema.get("patternProperties")
        for regex, sub in patterns.items() if isinstance(patterns, Mapping) else []:
            yield f"names matching {code(regex)}: {self._group(sub)}"
        dependent = schema.get("dependentRequired")
        for name, names in dependent.items() if isinstance(dependent, Mapping) else []:
            listed = ", ".join(code(str(n)) for n in names) if isinstance(names, list) else ""
            yield f"with {code(name)}: {listed} required"
        schemas = schema.get("dependentSchemas")
        for name, sub in schemas.items() if isinstance(schemas, Mapping) else []:
            yield f"with {code(name)}: {self._group(sub)}"
        if "not" in schema:
            yield f"not {self._group(schema['not'])}"
        if "if" in schema and ("then" in schema or "else" in schema):
            text = f"if {self._group(schema['if'])}"
            if "then" in schema:
                text += f" then {self._group(schema['then'])}"
            if "else" in schema:
                text += f" else {self._group(schema['else'])}"
            yield text
        for keyword, what in (
            ("unevaluatedProperties", "properties"),
            ("unevaluatedItems", "items"),
        ):
            if keyword in schema:
                rest = schema[keyword]
                yield (
                    f"no other {what} ({code(keyword + ': false')})"
                    if rest is False
                    else f"other {what}: {self._group(rest)}"
                )

    def description(self, schema: JSON) -> str:
        if not isinstance(schema, Mapping):
            return ""
        text = schema.get("description")
        if isinstance(text, str):
            return prose(text)
        target = self.target(schema)
        if target is None and isinstance(schema.get("items"), Mapping):
            target = self.target(schema["items"])
        if target is not None:
            found = self.defs.get(target, {}).get("description")
            return prose(found) if isinstance(found, str) else ""
        return ""

    def object_view(self, schema: JSON) -> tuple[dict[str, JSON], list[str], JSON]:
        """(properties, required, additionalProperties) of an object schema, through $refs and
        allOf parts."""
        if not isinstance(schema, Mapping):
            return {}, [], None
        properties: dict[str, JSON] = {}
        required: list[str] = []
        extra: JSON = schema.get("additionalProperties")
        target = self.target(schema)
        if target is not None:
            properties, required, extra = self.object_view(self.defs.get(target, {}))
        for part in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
            more, more_required, more_extra = self.object_view(part)
            properties.update(more)
            required += [r for r in more_required if r not in required]
            extra = more_extra if extra is None else extra
        own = schema.get("properties")
        if isinstance(own, Mapping):
            properties.update(own)
        own_required = schema.get("required")
        if isinstance(own_required, list):
            required += [r for r in own_required if r not in required]
        return properties, required, extra

    def rows(self, schema: JSON, prefix: str = "") -> Iterator[_Row]:
        properties, required, _ = self.object_view(schema)
        for name, sub in properties.items():
            path = f"{prefix}{name}"
            yield _Row(
                path,
                self.type_text(sub),
                name in required,
                self.constraints(sub),
                self.description(sub),
            )
            if not isinstance(sub, Mapping) or self.target(sub) is not None:
                continue
            if "properties" in sub or "allOf" in sub:
                yield from self.rows(sub, f"{path}.")
            items = sub.get("items")
            if isinstance(items, Mapping) and self.target(items) is None and "properties" in items:
                yield from self.rows(items, f"{path}[].")
            extra = sub.get("additionalProperties")
            if isinstance(extra, Mapping) and self.target(extra) is None and "properties" in extra:
                yield from self.rows(extra, f"{path}.*.")

    def properties_table(self, schema: JSON) -> list[str]:
        properties, _, extra = self.object_view(schema)
        lines: list[str] = []
        if properties:
            rows = [
                [code(r.name), r.type, "yes" if r.required else "no", r.constraints, r.description]
                for r in self.rows(schema)
            ]
            lines += _table(["Property", "Type", "Required", "Constraints", "Description"], rows)
            lines.append("")
        target = self.target(schema) if isinstance(schema, Mapping) else None
        whole = self.defs.get(target, {}) if target is not None else schema
        rules = list(self.rules(whole)) if isinstance(whole, Mapping) else []
        if rules:
            lines += ["Rules: " + "; ".join(_cell(r) for r in rules) + ".", ""]
        if extra is False:
            lines.append("Other properties are rejected (`additionalProperties: false`).")
        elif isinstance(extra, Mapping) and not properties:
            lines.append(f"A map: any property name, each value {self.type_text(extra)}.")
        elif not properties:
            lines.append("No properties; other properties are ignored.")
        else:
            lines.append("Other properties are ignored.")
        return lines

    # -- sections

    def render(self) -> str:
        service = self.service
        lines = [
            f"<!-- Generated by `leveret docs` from {service.source}. Do not edit: regenerate. -->",
            "",
            f"# {service.service}",
            "",
        ]
        if service.description:
            lines += [prose(service.description), ""]
        lines += _table(
            ["Service", "Version", "Queue", "Queue type", "Python package", "Definition"],
            [
                [
                    code(service.service),
                    code(service.version) if service.version else "—",
                    code(service.queue),
                    service.queue_type,
                    code(service.package),
                    code(service.source),
                ]
            ],
        )
        lines += [
            "",
            f"Requests are published to the queue {code(service.queue)} (default exchange, routing "
            "key = queue name) with the method name in the AMQP `type` property, a "
            "`correlation_id`, a `reply_to` and, when the call has a deadline, an `rpc-deadline` "
            "header. The reply carries the same `correlation_id` and an `rpc-status` header: "
            "`OK` with the response object as the body, or a status name with an error body "
            "`{code, message, error, details}`.",
            "",
            "## Methods",
            "",
        ]
        summary = [
            [
                self.link("method", m.name),
                prose(m.description),
                _seconds(m.timeout),
                "yes" if m.idempotent else "no",
            ]
            for m in service.methods
        ]
        lines += _table(["Method", "Description", "Timeout", "Idempotent"], summary)
        lines.append("")
        for method in service.methods:
            lines += self.method_section(method)
        if service.errors:
            lines += self.errors_section()
        if self.sectioned:
            lines += ["## Types", ""]
            for name in self.sectioned:
                lines += self.type_section(name)
        while lines and lines[-1] == "":
            lines.pop()
        return "\n".join(lines) + "\n"

    def method_section(self, method: MethodDef) -> list[str]:
        lines = [f"### `{method.name}`", ""]
        if method.description:
            lines += [prose(method.description), ""]
        timeout = (
            "none: callers wait until a reply comes"
            if method.timeout is None
            else f"{_seconds(method.timeout)} (the default deadline; a call may override it)"
        )
        idempotent = (
            "yes: safe to retry"
            if method.idempotent
            else "no: a retry (or a redelivery after a worker crash) may repeat its effect"
        )
        lines += [
            f"- **Timeout:** {timeout}",
            f"- **Idempotent:** {idempotent}",
            f"- **AMQP `type`:** {code(method.name)}",
            "",
            f"**Request:** {self.link('type', method.request_type)}",
            "",
        ]
        lines += self.properties_table(_ref(method.request_type))
        lines += ["", f"**Response:** {self.link('type', method.response_type)}", ""]
        lines += self.properties_table(_ref(method.response_type))
        lines.append("")
        if method.errors:
            by_name = {e.name: e for e in self.service.errors}
            rows = [
                [
                    self.link("error", name),
                    code(by_name[name].status),
                    prose(by_name[name].description),
                ]
                for name in method.errors
            ]
            lines += ["**Errors:**", ""]
            lines += _table(["Error", "Status", "Description"], rows)
            lines.append("")
        else:
            lines += ["**Errors:** none declared.", ""]
        examples = self.examples.methods.get(method.name)
        if examples is not None:
            lines += ["**Example request:**", "", *_json_block(examples.request), ""]
            lines += ["**Example reply** (`rpc-status: OK`):", "", *_json_block(examples.reply), ""]
        return lines

    def errors_section(self) -> list[str]:
        lines = [
            "## Errors",
            "",
            "Declared errors reach the caller as an error reply whose `error` names them and whose "
            "`details` follow the table below. Any call may also fail with a status leveret "
            "produces itself: `INVALID_ARGUMENT` (the request fails its schema), "
            "`DEADLINE_EXCEEDED`, `UNAVAILABLE`, `UNIMPLEMENTED` or `INTERNAL`.",
            "",
        ]
        for error in self.service.errors:
            users = [m.name for m in self.service.methods if error.name in m.errors]
            lines += [f"### `{error.name}`", ""]
            if error.description:
                lines += [prose(error.description), ""]
            lines.append(f"- **Status:** {code(error.status)}")
            if users:
                lines.append("- **Methods:** " + ", ".join(self.link("method", m) for m in users))
            else:
                lines.append("- **Methods:** none")
            lines.append("")
            if error.details_type is None:
                lines += ["**Details:** none (`null`).", ""]
            else:
                lines += [f"**Details:** {self.link('type', error.details_type)}", ""]
                lines += self.properties_table(_ref(error.details_type))
                lines.append("")
            body = self.examples.errors.get(error.name)
            if body is not None:
                lines += [f"**Example reply** (`rpc-status: {error.status}`):", ""]
                lines += [*_json_block(body), ""]
        return lines

    def usage(self, name: str) -> list[str]:
        """Links to what uses type ``name`` directly: sectioned types, or the methods and errors
        whose request, response or details (shown in place) use it."""
        found: list[str] = []
        for user in self.defs:
            if user == name or name not in _refs_in(self.defs[user]):
                continue
            if user in self.sectioned:
                found.append(self.link("type", user))
                continue
            for method in self.service.methods:
                if user == method.request_type:
                    found.append(f"{self.link('method', method.name)} request")
                if user == method.response_type:
                    found.append(f"{self.link('method', method.name)} response")
            for error in self.service.errors:
                if user == error.details_type:
                    found.append(f"{self.link('error', error.name)} details")
        return sorted(set(found), key=found.index)

    def type_section(self, name: str) -> list[str]:
        schema = self.defs.get(name, {})
        lines = [f"### `{name}`", ""]
        description = schema.get("description") if isinstance(schema, Mapping) else None
        if isinstance(description, str):
            lines += [prose(description), ""]
        properties, _, _ = self.object_view(schema)
        is_object = properties or (isinstance(schema, Mapping) and schema.get("type") == "object")
        if is_object:
            lines += self.properties_table(schema)
        else:
            lines.append(f"- **Type:** {self.type_text(schema)}")
            constraints = self.constraints(schema)
            if constraints:
                lines.append(f"- **Constraints:** {constraints}")
        users = self.usage(name)
        if users:
            lines += ["", "Used by: " + ", ".join(users) + "."]
        lines.append("")
        return lines


def _json_type(value: JSON) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "object"


def _refs_in(schema: JSON) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, Mapping):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rpartition("/")[2])
        for key, value in schema.items():
            if key not in ("examples", "default", "const", "enum"):
                found |= _refs_in(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _refs_in(value)
    return found


def _referenced(defs: Mapping[str, JSON]) -> set[str]:
    found: set[str] = set()
    for schema in defs.values():
        found |= _refs_in(schema)
    return found


def _range(low: JSON, high: JSON, unit: str) -> str | None:
    if low is not None and high is not None:
        return f"{unit} {low}\N{EN DASH}{high}" if low != high else f"{unit} {low}"
    if low is not None:
        return f"{unit} ≥ {low}"
    if high is not None:
        return f"{unit} ≤ {high}"
    return None


def _constraint_parts(schema: Mapping[str, JSON]) -> Iterator[str]:
    if schema.get("deprecated") is True:
        yield "**deprecated**"
    if "format" in schema:
        yield f"format {_literal(schema['format'])}"
    if "pattern" in schema:
        yield f"pattern {code(str(schema['pattern']))}"
    length = _range(schema.get("minLength"), schema.get("maxLength"), "length")
    if length:
        yield length
    for key, symbol in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            yield f"{symbol} {schema[key]}"
    if "multipleOf" in schema:
        yield f"multiple of {schema['multipleOf']}"
    items = _range(schema.get("minItems"), schema.get("maxItems"), "items:")
    if items:
        yield items
    if "enum" in schema and isinstance(schema["enum"], list):
        yield "one of " + ", ".join(_literal(v) for v in schema["enum"])
    if "const" in schema:
        yield f"always {_literal(schema['const'])}"
    if "default" in schema:
        yield f"default {code(_json_value(schema['default']))}"


def render_docs(service: ServiceDef) -> tuple[str | None, tuple[Diagnostic, ...]]:
    """The Markdown page of ``service``, or None and the LV501 diagnostics of its examples."""
    examples, diagnostics = service_examples(service)
    if diagnostics:
        return None, diagnostics
    return _Page(service, examples).render(), ()
