"""Split each type's schema into what pydantic enforces and what a schema guard must check.

Issue 11: the generated models enforce every JSON Schema 2020-12 validation keyword. pydantic
(through datamodel-code-generator, "dmcg") enforces types, properties, ``required``,
``additionalProperties``, ``items``, lengths, bounds, ``pattern`` and string/integer ``enum``
exactly (``reference/dmcg.md``, ``tests/codegen/test_conformance.py``); for everything else the
type gets a guard: a validator calling :class:`leveret.schema.SchemaGuard` before pydantic's own
validation, which runs the runtime's exact evaluator.

:func:`split` walks a type's schema once and returns two schemas:

* the **typing** schema, given to dmcg: the keywords pydantic enforces exactly, and the others
  removed or loosened so that the model is never *stricter* than the schema (a constraint without
  a ``type`` applies to one kind of value only, so it goes; ``prefixItems`` becomes ``items``
  accepting any of the positions; ``patternProperties`` opens the object...). It still types
  the value as precisely as Python can.
* the **guard** schema (``None`` when nothing is left for it): the keywords the typing schema
  lost, whole, with the structure that leads to them (``properties``, ``items``, ``allOf``)
  reduced to the parts that hold such a keyword. A keyword under a disjunction or a negation
  (``anyOf``, ``oneOf``, ``not``, ``if``) or next to ``unevaluated*`` keeps its whole subschema,
  because there the verdict of every keyword matters. References in the conjunctive structure
  are left out: the referenced type is a class (or alias) with its own guard.

Two rules keep the field's meaning the schema's (issue 11 review r11, F3/F4/F6):

* a ``pattern`` goes to pydantic only rewritten for its Rust engine with ECMA-262's meaning
  (:func:`leveret_codegen._regex.rust_pattern`); one that cannot be (a lookaround, a
  backreference, ``\\p{..}``), or one under ``allOf`` (which dmcg would conjoin with lookaheads
  and run with Python's ``re``), is the guard's; one that backtracks (a lookaround, a
  backreference) takes along the ``maxLength`` that bounds it (LV412), since the guard runs
  before pydantic's field and its evaluator checks the length before any such pattern;
* a ``date-time``/``date``/``uuid`` string is typed (a datetime, date, UUID, written back in the
  model's own form: ``+00:00`` as ``Z``) only where nothing reads its text: beside
  ``minLength``/``maxLength``/``pattern``, under a keyword whose guard reads it (:data:`_SEEING`,
  a guarded ``anyOf``/``oneOf``...), or in a type another type's guard reads, it stays the
  string that was sent and its format is the guard's. A ``not``/``if``/``dependentSchemas``
  beside it reads only the properties its subschemas constrain (:func:`_read_names`), so
  ``not: {required: [x]}`` leaves a sibling date-time typed (review r11b).

Two more rules hand the handler what was validated (review r11b): an object keeps the
properties no field declares where a guard reads them (:meth:`_Splitter._keep_extras`), and a
``number``'s bound of 2**53 or more is the guard's (``_enforce.json_numbers`` types a number
``float | int``, each with the bound in pydantic, which is exact only below that).

So the guard checks exactly the part of the schema pydantic would not, and the two together mean
what the schema says; a type with nothing for the guard pays nothing at run time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from leveret_codegen._regex import backtracks, rust_pattern

__all__ = ["GuardPlan", "plan_guards"]

Schema = Any  # a JSON Schema: a dict or a boolean

ANNOTATIONS: Final = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "$comment",
        "readOnly",
        "writeOnly",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
    }
)

_KIND_KEYWORDS: Final[dict[str, frozenset[str]]] = {
    "string": frozenset({"minLength", "maxLength", "pattern", "format"}),
    "number": frozenset(
        {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
    ),
    "array": frozenset(
        {
            "items",
            "prefixItems",
            "contains",
            "minContains",
            "maxContains",
            "minItems",
            "maxItems",
            "uniqueItems",
            "unevaluatedItems",
        }
    ),
    "object": frozenset(
        {
            "properties",
            "required",
            "additionalProperties",
            "patternProperties",
            "propertyNames",
            "minProperties",
            "maxProperties",
            "dependentRequired",
            "dependentSchemas",
            "unevaluatedProperties",
        }
    ),
}
_KIND_OF: Final = {k: kind for kind, keys in _KIND_KEYWORDS.items() for k in keys}

#: Keywords pydantic never enforces: always the guard's, whole.
_GUARD_ONLY: Final = frozenset(
    {
        "not",
        "if",
        "then",
        "else",
        "contains",
        "minContains",
        "maxContains",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "dependentRequired",
        "dependentSchemas",
    }
)
#: Formats the models type precisely (a datetime, a date, a UUID); the field's marker
#: (``leveret.schema.JSON_DATE_TIME``...) checks the exact syntax before parsing.
TYPED_FORMATS: Final = frozenset({"date-time", "date", "uuid"})
_JSON_KINDS: Final = ("null", "boolean", "object", "array", "number", "integer", "string")


@dataclass
class GuardPlan:
    """The typing schemas for dmcg, and per type the guard schema and what it enforces."""

    typing: dict[str, Schema]
    guards: dict[str, Schema] = field(default_factory=dict)
    #: Per guarded type: the keywords its guard enforces, as "keyword at /pointer".
    enforced: dict[str, list[str]] = field(default_factory=dict)

    def referenced_defs(self, defs: Mapping[str, Schema]) -> dict[str, Schema]:
        """The types the guards refer to, transitively, in ``defs`` order."""
        wanted: set[str] = set()
        pending = [ref for guard in self.guards.values() for ref in _refs(guard)]
        while pending:
            name = pending.pop()
            if name in wanted or name not in defs:
                continue
            wanted.add(name)
            pending.extend(_refs(defs[name]))
        return {name: schema for name, schema in defs.items() if name in wanted}


def plan_guards(defs: Mapping[str, Schema]) -> GuardPlan:
    """Split every type of ``defs`` (see the module docstring).

    A type whose text another type's guard reads (a reference under a guarded keyword, or in a
    guard) is split again with its formats as strings (:attr:`_Splitter.visible`), until no new
    such type turns up.
    """
    visible: set[str] = set()
    while True:
        plan = GuardPlan(typing={})
        seen: set[str] = set()
        for name, schema in defs.items():
            splitter = _Splitter(visible=name in visible)
            typing, guard = splitter.split(schema, "", at_root=True)
            plan.typing[name] = typing if isinstance(typing, dict) else {}
            if guard is not None:
                plan.guards[name] = guard
                plan.enforced[name] = splitter.enforced
            seen |= splitter.seen_refs
        seen |= set(plan.referenced_defs(defs))
        if seen <= visible:
            return plan
        visible |= seen


def _refs(schema: Schema) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                yield value.removeprefix("#/$defs/")
            elif key not in ("enum", "const", "default", "examples"):
                yield from _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item)


def _kinds(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not all(n in _JSON_KINDS for n in names):
        return None
    return set(names)


def _value_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _literal_values(values: list[object]) -> bool:
    """Whether dmcg's ``Literal`` enforces these exactly (strings and integers; leveret's
    ``_json_literal`` keeps ``true`` from matching ``1`` and lets ``1.0`` match it)."""
    return all(
        isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in values
    )


def _float_exact(bound: object) -> bool:
    """Whether a ``number``'s bound is a JSON number of magnitude below 2**53."""
    return isinstance(bound, int | float) and not isinstance(bound, bool) and abs(bound) < 2**53


def _pointer(base: str, *parts: object) -> str:
    return base + "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


#: Keywords that make a guard read the text of the values below them (and of the value itself):
#: a date-time there must stay the string it was sent as (see :meth:`_Splitter._string`).
_SEEING: Final = frozenset(
    {
        "not",
        "if",
        "then",
        "else",
        "enum",
        "const",
        "uniqueItems",
        "contains",
        "prefixItems",
        "patternProperties",
        "dependentSchemas",
        "unevaluatedProperties",
        "unevaluatedItems",
    }
)


#: Keywords in :data:`_SEEING` whose subschema applies to the same value: what it reads is what
#: its own keywords read (:func:`_read_names`).
_SUBSCHEMA_READERS: Final = frozenset({"not", "if", "then", "else"})
#: Keywords that read an object's property names, never a value's text.
_NAMES_ONLY: Final = frozenset(
    {
        "type",
        "required",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "dependentRequired",
    }
)


def _read_names(schema: Schema) -> set[str] | None:
    """The properties whose values ``schema`` reads, applied to an object; ``None``: it may
    read the text of the value or of any property (``enum``, a ``$ref``, a string keyword...)."""
    if isinstance(schema, bool):
        return set()
    if not isinstance(schema, dict):
        return None
    names: set[str] = set()
    for key, value in schema.items():
        if key in _NAMES_ONLY or key in ANNOTATIONS or key.startswith("x-"):
            continue
        if key == "properties" and isinstance(value, dict):
            names |= {name for name, sub in value.items() if sub is not True and sub != {}}
            continue
        if key in _SUBSCHEMA_READERS:
            subschemas = [value]
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            subschemas = value
        elif key == "dependentSchemas" and isinstance(value, dict):
            subschemas = list(value.values())
        else:
            return None
        for subschema in subschemas:
            inner = _read_names(subschema)
            if inner is None:
                return None
            names |= inner
    return names


#: Keywords whose subschemas apply to the value itself: a ``maxLength`` beside them bounds the
#: strings their patterns run on (as LV412 counts it, ``_keywords._length_bounded``).
_IN_PLACE_LISTS: Final = ("allOf", "anyOf", "oneOf")
_IN_PLACE_ONE: Final = ("not", "if", "then", "else")


def _has_max_length(schema: Schema) -> bool:
    value = schema.get("maxLength") if isinstance(schema, dict) else None
    return isinstance(value, int) and not isinstance(value, bool)


def _unbounded_pattern(schema: Schema) -> bool:
    """Whether a guard part has a backtracking ``pattern`` (lookaround, backreference) of its
    own or in a subschema applied in place, with no ``maxLength`` on the way to it.

    A pattern under ``items``, ``properties``... is another value's, bounded (LV412) in its own
    schema, which its own split gave the ``maxLength``; a ``$ref``'d type is a whole schema of
    the guard's ``defs``, with its own."""
    if not isinstance(schema, dict) or _has_max_length(schema):
        return False
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and backtracks(pattern):
        return True
    subschemas = [schema[k] for k in _IN_PLACE_ONE if k in schema]
    for key in _IN_PLACE_LISTS:
        if isinstance(schema.get(key), list):
            subschemas.extend(schema[key])
    if isinstance(schema.get("dependentSchemas"), dict):
        subschemas.extend(schema["dependentSchemas"].values())
    return any(_unbounded_pattern(sub) for sub in subschemas)


class _Splitter:
    def __init__(self, *, visible: bool = False) -> None:
        self.enforced: list[str] = []
        #: Whether a guard reads the text of the value being split (a keyword of it or of an
        #: enclosing schema, or another type's guard, compares or matches it).
        self.visible = visible
        #: Types referenced where a guard reads their text.
        self.seen_refs: set[str] = set()
        #: Properties of the object being split whose text its guard reads (:meth:`_sees`).
        self.reads: frozenset[str] = frozenset()
        #: Whether the value being split is under ``allOf`` (dmcg merges its patterns).
        self.merged = False
        self._dry: dict[tuple[int, bool, bool], bool] = {}

    def _note(self, keyword: str, where: str) -> None:
        self.enforced.append(f"{keyword} at {where or '/'}")

    def split(self, schema: Schema, where: str, *, at_root: bool = False) -> tuple[Schema, Schema]:
        """(typing, guard) of ``schema``; guard ``None`` when pydantic enforces all of it."""
        if schema is True or schema == {}:
            return {}, None
        if schema is False:
            self._note("false", where)
            return {}, False
        if not isinstance(schema, dict):
            return {}, None
        outer, outer_reads = self.visible, self.reads
        sees = self._sees(schema, at_root=at_root)
        self.visible = outer or sees is True
        self.reads = sees if isinstance(sees, frozenset) else frozenset()
        try:
            return self._split_seen(schema, where, at_root=at_root)
        finally:
            self.visible, self.reads = outer, outer_reads

    def _sees(self, schema: dict[str, Any], *, at_root: bool) -> bool | frozenset[str]:
        """Whether this schema's guard reads the text of the value and the values below it
        (``True``), or of some of its properties only (their names).

        A ``not``/``if``/``then``/``else``/``dependentSchemas`` whose subschemas say only which
        names there are (``not: {required: [x]}``) or constrain some properties reads those
        properties' text, not its siblings': a date-time beside it stays typed (review r11b).
        """
        partial: set[str] = set()
        for key in _SEEING & schema.keys():
            value = schema[key]
            if key in _SUBSCHEMA_READERS:
                subschemas = [value]
            elif key == "dependentSchemas" and isinstance(value, dict):
                subschemas = list(value.values())
            else:
                return True
            for subschema in subschemas:
                names = _read_names(subschema)
                if names is None:
                    return True
                partial |= names
        if isinstance(schema.get("allOf"), list) and self._lossy_all_of(schema, at_root=at_root):
            return True
        discriminated = isinstance(schema.get("discriminator"), dict)
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if not isinstance(branches, list):
                continue
            if (key == "oneOf" and not discriminated) or any(b is False for b in branches):
                return True
            if any(self._guarded(b) for b in branches):
                return True
        return frozenset(partial) if partial else False

    def _guarded(self, schema: Schema) -> bool:
        """Whether ``schema`` needs a guard here (a dry run of :meth:`split`, remembered)."""
        key = (id(schema), self.visible, self.merged)
        if key not in self._dry:
            enforced, seen = list(self.enforced), set(self.seen_refs)
            self._dry[key] = self.split(schema, "")[1] is not None
            self.enforced, self.seen_refs = enforced, seen
        return self._dry[key]

    @staticmethod
    def _lossy_all_of(schema: dict[str, Any], *, at_root: bool) -> bool:
        # dmcg merges allOf members into one model only at the root of a type; below it, an
        # inline member that is not an object keeps its type and loses its constraints.
        return not at_root and any(
            isinstance(m, dict) and "$ref" not in m and m.get("type") != "object"
            for m in schema["allOf"]
        )

    def _split_seen(
        self, schema: dict[str, Any], where: str, *, at_root: bool
    ) -> tuple[Schema, Schema]:
        if "unevaluatedProperties" in schema or "unevaluatedItems" in schema:
            # Its verdict depends on every adjacent keyword's annotations: the guard takes it all.
            typing, _ = self._split_dict(schema, where, at_root=at_root)
            for key in ("unevaluatedProperties", "unevaluatedItems"):
                if key in schema:
                    self._note(key, where)
            return typing, schema
        return self._split_dict(schema, where, at_root=at_root)

    def _split_dict(
        self, schema: dict[str, Any], where: str, *, at_root: bool
    ) -> tuple[Schema, Schema]:
        typing: dict[str, Any] = {k: v for k, v in schema.items() if k in ANNOTATIONS}
        guard: dict[str, Any] = {}

        def to_guard(key: str) -> None:
            guard[key] = schema[key]
            self._note(key, where)

        if "$ref" in schema:
            typing["$ref"] = schema["$ref"]
            for key in schema:
                if key not in ANNOTATIONS and key != "$ref" and not key.startswith("x-"):
                    to_guard(key)
            ref = schema["$ref"]
            if (guard or self.visible) and isinstance(ref, str) and ref.startswith("#/$defs/"):
                self.seen_refs.add(ref.removeprefix("#/$defs/"))
            return typing, guard or None

        kinds = _kinds(schema)
        if "type" in schema:
            typing["type"] = schema["type"]
        single = kinds is not None and len(kinds - {"null"}) == 1
        kind = next(iter(kinds - {"null"})) if single and kinds else None
        if kind == "integer":
            kind = "number"

        for key in schema:
            if key in _GUARD_ONLY:
                to_guard(key)
            elif key in _KIND_OF and _KIND_OF[key] != kind:
                # No single type: the keyword applies to its own kind of value only, which a
                # pydantic constraint cannot say. The guard checks it; the model types loosely.
                to_guard(key)
        if kind == "string":
            self._string(schema, typing, to_guard)
        elif kind == "number":
            self._number(schema, typing, to_guard)
        elif kind == "array":
            self._array(schema, where, typing, guard, to_guard)
        elif kind == "object":
            self._object(schema, where, typing, guard, to_guard)
        self._values(schema, typing, to_guard)
        single_type = schema["type"] if single and "null" not in (kinds or ()) else None
        self._applicators(
            schema, where, typing, guard, to_guard, at_root=at_root, single_type=single_type
        )
        if kind == "object":
            self._keep_extras(schema, typing, guard)
        if _has_max_length(schema) and "maxLength" not in guard and _unbounded_pattern(guard):
            # The guard runs before pydantic's field checks the length: it needs the bound too,
            # or its evaluator would run the backtracking pattern on a string of any length
            # (it refuses to compile one with no bound).
            guard["maxLength"] = schema["maxLength"]
            self._note("maxLength", where)
        return typing, guard or None

    def _keep_extras(
        self, schema: dict[str, Any], typing: dict[str, Any], guard: dict[str, Any]
    ) -> None:
        """Keep the properties no field declares (the model's extras) where they matter.

        An open object's undeclared properties are ignored (not passed to the handler, as
        ``docs/definition-format.md`` says) only while nothing reads them. Where the guard does
        (``minProperties``, ``propertyNames``, ``dependentRequired``, properties a subschema
        declares, ``uniqueItems`` or ``enum`` over the object...), or the object declares no
        properties at all (a map), dropping them would hand the handler a value the schema
        might refuse, and an echo of a valid request would be refused as INTERNAL (review
        r11b): the model keeps them, and writes them back.
        """
        if "additionalProperties" in typing:
            return  # false, a map of typed values, or kept already
        extra = schema.get("additionalProperties", True)
        if extra is not True and "additionalProperties" not in guard:
            return
        if (
            "additionalProperties" in guard  # checked by the guard, beside applicators
            or "properties" not in schema
            or self.visible
            or guard.keys() - {"properties"}
        ):
            typing["additionalProperties"] = True

    # -- kinds -----------------------------------------------------------------------------------

    def _string(self, schema: dict[str, Any], typing: dict[str, Any], to_guard: Any) -> None:
        for key in ("minLength", "maxLength"):
            if key in schema:
                typing[key] = schema[key]
        if "pattern" in schema:
            # pydantic's engine with ECMA-262's meaning, or the guard's evaluator; never dmcg's
            # python-re switch. Under allOf, dmcg would conjoin patterns with lookaheads.
            written = schema["pattern"]
            translated = rust_pattern(written) if isinstance(written, str) else None
            if translated is not None and not self.merged and "allOf" not in schema:
                typing["pattern"] = translated
            else:
                to_guard("pattern")
        if "format" in schema:
            constrained = {"minLength", "maxLength", "pattern"} & schema.keys()
            if schema["format"] in TYPED_FORMATS and not constrained and not self.visible:
                # A datetime, date or UUID, checked exactly by the field's marker. The model
                # writes it back in its own form (+00:00 as Z), so only where nothing reads
                # its text: not beside a string keyword, nor under a guard that reads it.
                typing["format"] = schema["format"]
            else:
                to_guard("format")

    def _number(self, schema: dict[str, Any], typing: dict[str, Any], to_guard: Any) -> None:
        number = "number" in (_kinds(schema) or ())
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if key not in schema:
                continue
            if number and not _float_exact(schema[key]):
                # A number is a float or an int (leveret_codegen._enforce.json_numbers), each
                # with its own bound in pydantic's core, exact only below 2**53 (a float near a
                # larger bound is an integer the int bound would judge otherwise). The guard
                # compares exactly.
                to_guard(key)
            else:
                typing[key] = schema[key]
        if "multipleOf" in schema:
            divisor = schema["multipleOf"]
            integral = isinstance(divisor, int) and not isinstance(divisor, bool)
            if integral and _kinds(schema) is not None and "number" not in (_kinds(schema) or ()):
                typing["multipleOf"] = divisor
            else:
                # A float remainder is inexact (0.07 % 0.01 != 0); the guard's is exact.
                to_guard("multipleOf")

    def _array(
        self,
        schema: dict[str, Any],
        where: str,
        typing: dict[str, Any],
        guard: dict[str, Any],
        to_guard: Any,
    ) -> None:
        for key in ("minItems", "maxItems"):
            if key in schema:
                typing[key] = schema[key]
        if schema.get("uniqueItems") is True:
            to_guard("uniqueItems")
        if "prefixItems" in schema and isinstance(schema["prefixItems"], list):
            to_guard("prefixItems")
            if "items" in schema:
                to_guard("items")
            positions = list(schema["prefixItems"])
            rest = schema.get("items", True)
            if rest is not False:
                positions.append(rest)
            typed = [self._typing_only(p, _pointer(where, "prefixItems")) for p in positions]
            typing["items"] = {} if any(t == {} for t in typed) else {"anyOf": typed}
        elif "items" in schema:
            items_typing, items_guard = self.split(schema["items"], _pointer(where, "items"))
            typing["items"] = items_typing
            if items_guard is not None:
                guard["items"] = items_guard

    def _object(
        self,
        schema: dict[str, Any],
        where: str,
        typing: dict[str, Any],
        guard: dict[str, Any],
        to_guard: Any,
    ) -> None:
        properties = schema.get("properties")
        declared = properties if isinstance(properties, dict) else {}
        typed_props: dict[str, Any] = {}
        guarded_props: dict[str, Any] = {}
        for name, sub in declared.items():
            if sub is False:
                guarded_props[name] = False
                self._note("false", _pointer(where, "properties", name))
                continue
            outer, self.visible = self.visible, self.visible or name in self.reads
            try:
                sub_typing, sub_guard = self.split(sub, _pointer(where, "properties", name))
            finally:
                self.visible = outer
            typed_props[name] = sub_typing
            if sub_guard is not None:
                guarded_props[name] = sub_guard
        if "properties" in schema:
            typing["properties"] = typed_props
        required = schema.get("required")
        if isinstance(required, list):
            # A required name without a (satisfiable) property has no field to require.
            typing["required"] = [n for n in required if declared.get(n, False) is not False]
            if len(typing["required"]) != len(required):
                to_guard("required")
        applicators = any(k in schema for k in ("allOf", "anyOf", "oneOf"))
        extra = schema.get("additionalProperties", True)
        if "patternProperties" in schema or (applicators and extra is not True):
            # JSON Schema applies additionalProperties to the names neither properties nor
            # patternProperties (nor, for applicators, the members) declare: the guard's job.
            if "patternProperties" in schema:
                to_guard("patternProperties")
                typing["additionalProperties"] = True  # keep them, in the model's extras
            if "additionalProperties" in schema:
                to_guard("additionalProperties")
            guard["properties"] = {name: guarded_props.get(name, True) for name in declared}
            return
        if isinstance(extra, bool):
            if "additionalProperties" in schema:
                typing["additionalProperties"] = extra
        else:
            extra_typing, extra_guard = self.split(extra, _pointer(where, "additionalProperties"))
            typing["additionalProperties"] = extra_typing
            if extra_guard is not None:
                guard["additionalProperties"] = extra_guard
                guarded_props = {name: guarded_props.get(name, True) for name in declared}
        if guarded_props:
            guard["properties"] = guarded_props

    # -- any kind --------------------------------------------------------------------------------

    def _values(self, schema: dict[str, Any], typing: dict[str, Any], to_guard: Any) -> None:
        values: list[object] = []
        if isinstance(schema.get("enum"), list):
            values.extend(schema["enum"])
        if "const" in schema:
            values.append(schema["const"])
        if not values and "enum" not in schema:
            return
        if values and _literal_values(values):
            for key in ("enum", "const"):
                if key in schema:
                    typing[key] = schema[key]
            return
        for key in ("enum", "const"):
            if key in schema:
                to_guard(key)
        if "type" not in schema:
            kinds = sorted({_value_kind(v) for v in values})
            if "integer" in kinds and "number" in kinds:
                kinds.remove("integer")
            if "number" not in kinds and "integer" in kinds:
                kinds[kinds.index("integer")] = "number"  # 1 equals 1.0
            typing["type"] = kinds[0] if len(kinds) == 1 else kinds
            if "array" in kinds:
                typing["items"] = {}
            if "object" in kinds:
                typing["additionalProperties"] = {}

    def _applicators(
        self,
        schema: dict[str, Any],
        where: str,
        typing: dict[str, Any],
        guard: dict[str, Any],
        to_guard: Any,
        *,
        at_root: bool,
        single_type: object,
    ) -> None:
        members = schema.get("allOf")
        if isinstance(members, list):
            typed, guarded = [], []
            for index, member in enumerate(members):
                untyped = isinstance(member, dict) and not {"type", "$ref"} & member.keys()
                if untyped and single_type is not None:
                    # The member applies to the same value, whose type the parent fixes: its
                    # keywords are typed (and pydantic's) as if it said so itself.
                    member = {"type": single_type, **member}
                merged, self.merged = self.merged, True
                try:
                    member_typing, member_guard = self.split(
                        member, _pointer(where, "allOf", index)
                    )
                finally:
                    self.merged = merged
                if member_typing != {}:
                    typed.append(member_typing)
                if member_guard is not None:
                    guarded.append(member_guard)
            if typed:
                typing["allOf"] = typed
            if self._lossy_all_of(schema, at_root=at_root):
                to_guard("allOf")
            elif guarded:
                guard["allOf"] = guarded
        discriminated = isinstance(schema.get("discriminator"), dict)
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if not isinstance(branches, list):
                continue
            typed = []
            needs_guard = key == "oneOf" and not discriminated
            for index, branch in enumerate(branches):
                if branch is False:
                    needs_guard = True
                    continue
                branch_typing, branch_guard = self.split(branch, _pointer(where, key, index))
                typed.append(branch_typing)
                needs_guard = needs_guard or branch_guard is not None
            if any(t == {} for t in typed):
                pass  # a branch accepting anything: the union is Any
            elif typed:
                typing["oneOf" if discriminated and key == "oneOf" else "anyOf"] = typed
            if discriminated and key == "oneOf":
                typing["discriminator"] = schema["discriminator"]
            if needs_guard:
                to_guard(key)

    def _typing_only(self, schema: Schema, where: str) -> Schema:
        enforced = list(self.enforced)
        typing, _ = self.split(schema, where)
        self.enforced = enforced  # the caller puts the whole keyword in the guard
        return typing
