"""Compare an old and a new version of a schema, knowing which way the message travels.

A request must only get looser: the new server has to accept everything old clients send. A
response must only get tighter: old callers have to accept everything the new server sends. Each
difference is classified as tighter, looser or incompatible (neither), and the role turns that
into a rule; a schema of unknown role (``Role.BOTH``) gets the more severe of the two verdicts.

References are followed on both sides, so types are compared by structure, wherever they live and
whatever they are called. Each pair of schemas is compared once per role, which also ends the
walk through recursive types.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final

from leveret_codegen._loader import Position
from leveret_codegen._review.findings import Finding, Level
from leveret_codegen._review.fingerprint import ANNOTATIONS, fingerprint
from leveret_codegen._review.rules_breaking import BREAKING_RULES
from leveret_codegen._review.sources import Schema, Side

__all__ = ["Role", "SchemaComparer"]


class Role(enum.Flag):
    REQUEST = enum.auto()
    RESPONSE = enum.auto()
    BOTH = REQUEST | RESPONSE


class Change(enum.Enum):
    TIGHTER = "tighter"  # accepts less than before
    LOOSER = "looser"  # accepts more than before
    INCOMPATIBLE = "incompatible"  # some of each


_LABELS: Final = {
    Role.REQUEST: "request",
    Role.RESPONSE: "response",
    Role.BOTH: "request and response",
}
_SEVERITY: Final = {Level.ERROR: 0, Level.WARNING: 1, Level.INFO: 2}
_JSON_TYPES: Final = ("string", "integer", "number", "boolean", "object", "array", "null")
_SHAPING: Final = ("type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not")

Identity = tuple[str, tuple[str | int, ...]]


def _directional(change: Change, tight: str, loose: str, compatible: str) -> dict[Role, str]:
    """Rules by role for a change whose request verdict is ``tight`` (when it tightens) and
    whose response verdict is ``loose`` (when it loosens); otherwise ``compatible``."""
    return {
        Role.REQUEST: tight if change is not Change.LOOSER else compatible,
        Role.RESPONSE: loose if change is not Change.TIGHTER else compatible,
    }


@dataclass(frozen=True, slots=True)
class _Bound:
    value: Fraction
    exclusive: bool
    shown: str  # as written: "exclusiveMinimum 0"


def _exact(value: float) -> Fraction:
    """The number as written, exactly: 0.1 is one tenth, not the float nearest to it."""
    return Fraction(Decimal(repr(value)))


def _only_integers(data: Mapping[str, object]) -> bool:
    types = _type_set(data)
    return types is not None and types - {"null"} == {"integer"}


def _bound(data: Mapping[str, object], inclusive: str, exclusive: str | None) -> _Bound | None:
    """The most restrictive of the bound's keywords. On an integer, a bound is normalised to
    the inclusive integer it means (``exclusiveMinimum: 0`` is ``minimum: 1``)."""
    lower = inclusive.startswith("min")
    integers = inclusive in ("minimum", "maximum") and _only_integers(data)
    found: list[_Bound] = []
    for keyword, is_exclusive in ((inclusive, False), (exclusive, True)):
        value = data.get(keyword) if keyword else None
        if keyword and isinstance(value, (int, float)) and not isinstance(value, bool):
            exact = _exact(value)
            if integers:
                if is_exclusive:
                    exact = Fraction(math.floor(exact) + 1 if lower else math.ceil(exact) - 1)
                else:
                    exact = Fraction(math.ceil(exact) if lower else math.floor(exact))
            found.append(
                _Bound(exact, is_exclusive and not integers, f"{keyword} {_number(value)}")
            )
    if not found:
        return None
    # the most restrictive bound wins; at equal values the exclusive one
    return sorted(found, key=lambda b: (b.value if lower else -b.value, b.exclusive))[-1]


def _bound_change(old: _Bound | None, new: _Bound | None, *, lower: bool) -> Change | None:
    if old == new or (old and new and (old.value, old.exclusive) == (new.value, new.exclusive)):
        return None
    if old is None:
        return Change.TIGHTER
    if new is None:
        return Change.LOOSER
    if new.value == old.value:
        return Change.TIGHTER if new.exclusive else Change.LOOSER
    return Change.TIGHTER if (new.value > old.value) == lower else Change.LOOSER


def _step(data: Mapping[str, object]) -> Fraction | None:
    """The step ``multipleOf`` allows, exactly. On an integer, the step is the smallest integer
    that is a multiple of it (0.5 allows every integer: no step at all)."""
    value = data.get("multipleOf")
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        return None
    step = _exact(value)
    if _only_integers(data):
        step = Fraction(step.numerator)  # lcm(p/q, 1) = p, for p/q in lowest terms
        return None if step == 1 else step
    return step


def _show_bound(bound: _Bound | None, inclusive: str) -> str:
    return f"no {inclusive}" if bound is None else bound.shown


def _number(value: float) -> str:
    return json.dumps(value)


def _show(value: object, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_set(data: Mapping[str, object]) -> set[str] | None:
    declared = data.get("type")
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not all(n in _JSON_TYPES for n in names):
        return None
    return {str(n) for n in names}


def _show_types(types: set[str]) -> str:
    ordered = [t for t in _JSON_TYPES if t in types]
    return ordered[0] if len(ordered) == 1 else "[" + ", ".join(ordered) + "]"


def _covered(kind: str, types: set[str]) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def _has_type(value: object, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    kinds: dict[str, type | tuple[type, ...]] = {
        "string": str,
        "number": (int, float),
        "object": dict,
        "array": list,
    }
    return isinstance(value, kinds[kind])


def _values(data: Mapping[str, object]) -> list[object] | None:
    """The values the schema allows when it lists them, or None when it does not.

    Every keyword that restricts the list counts: ``const`` beside ``enum`` keeps only the
    values equal to it, and ``type`` keeps only the values of those types. Looking at ``enum``
    alone reported adding ``const`` (or ``type``) next to it as no change at all.
    """
    values: list[object] | None = None
    if isinstance(data.get("enum"), list):
        listed = data["enum"]
        assert isinstance(listed, list)
        values = list(listed)
    if "const" in data:
        const = _key(data["const"])
        values = [data["const"]] if values is None else [v for v in values if _key(v) == const]
    types = _type_set(data)
    if values is not None and types is not None:
        values = [v for v in values if any(_has_type(v, t) for t in types)]
    return values


def _key(value: object) -> str:
    """A value as JSON compares it: ``1`` equals ``1.0``, ``true`` never equals ``1``."""
    return json.dumps(_json_equal(value), sort_keys=True)


def _json_equal(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_json_equal(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_equal(v) for k, v in value.items()}
    return value


def as_schema(value: object) -> dict[str, object]:
    """A subschema as a mapping: the boolean schema ``true`` is ``{}`` (anything), ``false``
    is ``{"not": {}}`` (nothing), so both compare like any other schema."""
    if isinstance(value, dict):
        return value
    return {"not": {}} if value is False else {}


def _required(data: Mapping[str, object]) -> set[str]:
    names = data.get("required")
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def _additional(data: Mapping[str, object]) -> object:
    """``additionalProperties``, with a schema that allows any value (``{}``, or annotations
    only) as ``True``: both accept every object, and generate the same model."""
    value = data.get("additionalProperties", True)
    if isinstance(value, dict) and all(_annotation(k) for k in value):
        return True
    return value


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _closed(data: Mapping[str, object]) -> bool:
    """No property beyond the declared (and pattern-matched) ones is accepted."""
    return data.get("additionalProperties") is False or data.get("unevaluatedProperties") is False


def _trivial(value: object) -> bool:
    """A subschema that accepts every value (``true``, ``{}``, or annotations only)."""
    return value is True or (isinstance(value, dict) and all(_annotation(k) for k in value))


#: Format changes whose direction is known: every ``uri`` is a ``uri-reference``.
_FORMAT_WIDER: Final = {
    ("uri", "uri-reference"): Change.LOOSER,
    ("uri-reference", "uri"): Change.TIGHTER,
}

#: Keywords the comparison understands; a change to any other (validation) keyword is
#: reported with an unknown direction rather than passed over.
_COMPARED: Final = frozenset(
    {
        "type",
        "enum",
        "const",
        "$ref",
        "allOf",
        "anyOf",
        "oneOf",
        "discriminator",
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
        "items",
        "prefixItems",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minLength",
        "maxLength",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "not",
        "if",
        "then",
        "else",
        "default",
    }
)
#: Keywords whose passing subschemas evaluate properties or items (for unevaluated*); their
#: list or map values are compared whole.
_EVALUATING: Final = (
    "allOf",
    "anyOf",
    "oneOf",
    "if",
    "then",
    "else",
    "dependentSchemas",
    "contains",
)

#: Findings about something other than which values are valid (a probe ignores them).
_NOT_VALIDATION: Final = frozenset(
    {
        "DESCRIPTION_CHANGED",
        "REF_TARGET_CHANGED",
        "DEFAULT_CHANGED",
        "DEFAULT_REMOVED",
        "DEFAULT_ADDED",
    }
)


def _exclusive(side: Side, parts: list[Schema]) -> bool:
    """Whether no value can match two of ``parts``: their JSON types differ (an integer is a
    number), or a property both require has one value in each, not the same one."""
    shapes: list[tuple[set[str] | None, dict[str, str]]] = []
    for part in parts:
        followed = side.follow(part)
        data = followed.data
        types = _type_set(data)
        if types is not None and types & {"integer", "number"}:
            types |= {"integer", "number"}
        tags: dict[str, str] = {}
        for name in _required(data):
            prop = as_schema(_mapping(data.get("properties")).get(name, True))
            values = _values(side.follow(Schema(followed.document, (), prop)).data)
            if values is not None and len(values) == 1:
                tags[name] = _key(values[0])
        shapes.append((types, tags))
    for index, (types, tags) in enumerate(shapes):
        for other_types, other_tags in shapes[index + 1 :]:
            if types is not None and other_types is not None and not types & other_types:
                continue
            if any(other_tags.get(k, v) != v for k, v in tags.items()):
                continue
            return False
    return True


def _falls_to(data: Mapping[str, object]) -> str:
    """What a name no pattern matches meets: ``open`` (anything), ``closed``, or ``other``."""
    if not _trivial(data.get("unevaluatedProperties", True)):
        return "other"
    extra = _additional(data)
    return "open" if extra is True else "closed" if extra is False else "other"


def _ref_beside(side: Side, schema: Schema) -> Schema:
    """A ``$ref`` with validation keywords beside it is both (2020-12): ``allOf`` of the
    reference and of the keywords, so that following the reference does not drop them. The
    type's title and description stay (unless the place gives its own)."""
    data = schema.data
    if not isinstance(data.get("$ref"), str):
        return schema
    beside = {k: v for k, v in data.items() if k != "$ref" and not _annotation(k)}
    if not beside:
        return schema
    target = side.follow(Schema(schema.document, schema.pointer, {"$ref": data["$ref"]})).data
    kept: dict[str, object] = {k: target[k] for k in ("title", "description") if k in target}
    kept.update({k: v for k, v in data.items() if _annotation(k)})
    kept["allOf"] = [{"$ref": data["$ref"]}, beside]
    return Schema(schema.document, schema.pointer, kept, schema.name)


def _matches(regex: str, name: str) -> bool:
    """Whether pattern ``regex`` matches property ``name`` (True when in doubt)."""
    try:
        return re.search(regex, name) is not None
    except re.error:
        return True


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


#: Annotations that change no instance's validity and generate nothing (front end: LV402).
_NO_EFFECT: Final = frozenset(
    {"contentEncoding", "contentMediaType", "contentSchema", "readOnly", "writeOnly"}
)


@dataclass(slots=True)
class _Merged:
    """An object with its ``allOf`` object members merged: ``properties`` maps each name to its
    declarations (usually one), ``rest`` holds the members that are not plain objects (compared
    as allOf parts), ``members`` the (followed) members merged."""

    properties: dict[str, list[Schema]]
    required: set[str]
    rest: list[Schema]
    members: list[Schema]


#: What an allOf member may say and still be merged: an object's properties and required names.
_OBJECT_PART: Final = frozenset({"type", "properties", "required", "allOf"})


def _object_part(data: Mapping[str, object]) -> bool:
    keys = {k for k in data if k not in ANNOTATIONS and not k.startswith("x-")}
    if "$ref" in keys or data.get("type", "object") != "object":
        return False
    if data.get("additionalProperties", True) is True:
        keys.discard("additionalProperties")
    return keys <= _OBJECT_PART


#: Keywords that constrain only values of one kind, so that a union of branches of different
#: kinds means the same as one schema with all their keywords and the union of their types.
_KIND_KEYWORDS: Final = {
    "minLength": ("string",),
    "maxLength": ("string",),
    "pattern": ("string",),
    "format": ("string",),
    "minimum": ("integer", "number"),
    "maximum": ("integer", "number"),
    "exclusiveMinimum": ("integer", "number"),
    "exclusiveMaximum": ("integer", "number"),
    "multipleOf": ("integer", "number"),
}


def _as_type_list(side: Side, schema: Schema) -> dict[str, object]:
    """``anyOf``/``oneOf`` of branches that differ only by type, spelt as one ``type`` list.

    ``anyOf: [{type: string, maxLength: 5}, {type: "null"}]`` accepts what ``type: [string,
    "null"], maxLength: 5`` accepts: each branch's keywords constrain only its own kind of
    value, and no value is of two branches' kinds (integer and number never go together, as
    every integer is a number). A ``$ref`` branch counts as the schema it refers to, so
    ``anyOf: [{$ref: Sku}, {type: "null"}]`` (Sku a bounded string) is such a list too.
    Anything else is left as it is, and compared as a union.
    """
    data = schema.data
    keys = [k for k in ("anyOf", "oneOf") if k in data]
    if len(keys) != 1 or "type" in data or "allOf" in data or "$ref" in data:
        return data
    raw = data[keys[0]]
    if not isinstance(raw, list) or not raw or not all(isinstance(b, dict) for b in raw):
        return data
    branches = [side.follow(part).data for part in _parts(schema, keys[0])]
    merged: dict[str, object] = {}
    kinds: list[str] = []
    for branch in branches:
        types = _type_set(branch)
        if types is None:
            return data
        for key, value in branch.items():
            if key == "type" or key in ANNOTATIONS or key.startswith("x-"):
                continue
            applies = _KIND_KEYWORDS.get(key)
            if applies is None or key in merged or key in data:
                return data
            if not types - {"null"} or not types - {"null"} <= set(applies):
                return data
            if key == "format" and types - {"null"} != {"string"}:
                return data
            merged[key] = value
        kinds.extend(types)
    if len(kinds) != len(set(kinds)) or {"integer", "number"} <= set(kinds):
        return data
    result = {k: v for k, v in data.items() if k != keys[0]}
    result.update(merged)
    result["type"] = [t for t in _JSON_TYPES if t in kinds]
    return result


#: What a union says beside its branches that belongs to the union, not to each branch.
_UNION_KEYS: Final = frozenset({"anyOf", "oneOf", "discriminator"})


def _beside(data: Mapping[str, object]) -> dict[str, object]:
    """What a union says beside its branches (annotations and the union keywords aside)."""
    return {k: v for k, v in data.items() if k not in _UNION_KEYS and not _annotation(k)}


def _union_keyword(data: Mapping[str, object]) -> str | None:
    """``anyOf`` or ``oneOf`` when the schema is a union of branches listed under it."""
    return next((k for k in ("anyOf", "oneOf") if isinstance(data.get(k), list)), None)


def _annotation(key: str) -> bool:
    """Keywords that say something about the schema where it is used, not about its values
    (``default`` included: it belongs to the place, not to a union's branch)."""
    return key in ANNOTATIONS or key == "default" or key.startswith("x-")


@dataclass(frozen=True, slots=True)
class _Single:
    """A schema compared with a union as a union of one branch: the other side's union
    keyword, which side (``old`` or ``new``) is the single schema, and its branch."""

    keyword: str
    side: str
    branch: Schema
    implied: dict[str, object]  # what the union says beside its branches


def _intersection(declarations: list[Schema]) -> Schema | None:
    """The declarations of one property (by several allOf members) as one schema, placed at
    the first: their keywords together, when no two say different things about one keyword
    (annotations aside) and none is a ``$ref`` (whose siblings would be ignored); else None."""
    first = declarations[0]
    combined: dict[str, object] = {}
    for declared in declarations:
        if "$ref" in declared.data:
            return None
        for key, value in declared.data.items():
            if key in combined and combined[key] != value and not _annotation(key):
                return None
            combined.setdefault(key, value)
    if len(declarations) == 1:
        return first
    return Schema(first.document, first.pointer, combined, first.name)


def _parts(schema: Schema, keyword: str) -> list[Schema]:
    raw = schema.data.get(keyword)
    return [
        Schema(schema.document, (*schema.pointer, keyword, i), as_schema(b))
        for i, b in enumerate(raw if isinstance(raw, list) else [])
        if isinstance(b, (dict, bool))
    ]


class SchemaComparer:
    """Compares schemas of the ``old`` and ``new`` sides; findings accumulate in ``findings``."""

    def __init__(self, old: Side, new: Side) -> None:
        self.old = old
        self.new = new
        self.findings: list[Finding] = []
        self._visited: set[tuple[Identity, Identity, Role]] = set()
        self._pairs: set[tuple[Identity, Identity]] = set()

    # -- reporting ---------------------------------------------------------------------------

    def emit(self, rule_id: str, new: Schema, position: Position, message: str) -> None:
        self.findings.append(BREAKING_RULES[rule_id].at(new.document.path, position, message))

    def _emit_for(
        self, role: Role, rules: dict[Role, str], new: Schema, position: Position, message: str
    ) -> None:
        candidates = [rules[r] for r in (Role.REQUEST, Role.RESPONSE) if r in role]
        rule_id = min(candidates, key=lambda r: _SEVERITY[BREAKING_RULES[r].severity])
        self.emit(rule_id, new, position, f"{message} [{_LABELS[role]}]")

    @staticmethod
    def _at(new: Schema, *keys: str) -> Position:
        """Where keyword ``keys[0]`` (the first one present) of ``new`` is; else the schema."""
        for key in keys:
            if key in new.data:
                return new.document.key_position((*new.pointer, key))
        return new.document.key_position(new.pointer)

    # -- the walk ----------------------------------------------------------------------------

    def compared(self, old: Schema, new: Schema) -> bool:
        """Whether this pair of (followed) schemas was compared in any role."""
        pair = (self.old.follow(old).identity, self.new.follow(new).identity)
        return pair in self._pairs

    def same_structure(self, old: Schema, new: Schema) -> bool:
        return fingerprint(self.old, old) == fingerprint(self.new, new)

    def compare(
        self, old: Schema, new: Schema, role: Role, where: str, *, check_ref: bool = True
    ) -> None:
        """Compare ``old`` and ``new`` (found at ``where``, e.g. ``add.request.values``)."""
        has_ref = "$ref" in old.data or "$ref" in new.data
        o, n = self.old.follow(old), self.new.follow(new)
        if check_ref and "$ref" in old.data and "$ref" in new.data and o.name != n.name:
            self.emit(
                "REF_TARGET_CHANGED",
                new,
                self._at(new, "$ref"),
                f"{where}: refers to {n.name!r} instead of {o.name!r}",
            )
        if has_ref:  # annotations next to the $ref, at the place of use
            self._annotations(old, new, where)
        # keywords beside a $ref apply too: the pair compared is then allOf [the type, them]
        old, new = _ref_beside(self.old, old), _ref_beside(self.new, new)
        if old.data is not o.data and "$ref" not in old.data:
            o = old
        if new.data is not n.data and "$ref" not in new.data:
            n = new
        site = where
        if n.name is not None:
            where = n.name
        key = (o.identity, n.identity, role)
        if key in self._visited:
            return
        self._visited.add(key)
        self._pairs.add((o.identity, n.identity))
        if isinstance(o.data.get("$ref"), str) or isinstance(n.data.get("$ref"), str):
            return  # a reference that does not resolve: nothing to compare it with
        # Equivalent spellings compare as one: anyOf [{type: string}, {type: "null"}] is the
        # type list [string, "null"]. Two unions stay unions, compared branch by branch, and
        # so do a type list and a union that is not one.
        old_list, new_list = _as_type_list(self.old, o), _as_type_list(self.new, n)
        old_spelt, new_spelt = old_list is not o.data, new_list is not n.data
        if old_spelt != new_spelt and _union_keyword(n.data if old_spelt else o.data) is None:
            o = Schema(o.document, o.pointer, old_list, o.name)
            n = Schema(n.document, n.pointer, new_list, n.name)
        # A schema compared with a union is a union of one branch: itself. Its branch is paired
        # with the union's branches like any other and compared with the one it pairs with
        # (else it is a removed branch, or the union's are added ones): otherwise every branch
        # counted as added and the schema was compared with none of them.
        single: _Single | None = None
        old_union, new_union = _union_keyword(o.data), _union_keyword(n.data)
        if (old_union is None) != (new_union is None):
            where = site
            if old_union is None:
                assert new_union is not None
                o, branch = self._one_branch(old, o, n)
                single = _Single(new_union, "old", branch, _beside(n.data))
            else:
                n, branch = self._one_branch(new, n, o)
                single = _Single(old_union, "new", branch, _beside(o.data))
        # A named type against an inline union: the annotations at the place of use were
        # compared above (the $ref's), and the type's are compared in its branch.
        if single is None or "$ref" not in (old if single.side == "old" else new).data:
            self._annotations(o, n, where)
        if not self._types(o, n, role, where):
            return
        self._enum(o, n, role, where)
        self._constraints(o, n, role, where)
        self._closedness(o, n, role, where)
        old_merged, new_merged = self._merge(self.old, o), self._merge(self.new, n)
        self._object(o, n, old_merged, new_merged, role, where)
        self._items(o, n, role, where)
        self._arrays(o, n, role, where)
        self._objects(o, n, role, where)
        self._logic(o, n, role, where)
        self._evaluation(o, n, role, where)
        self._unknown(o, n, role, where)
        self._variants(o, n, old_merged.rest, new_merged.rest, role, where, single)

    @staticmethod
    def _one_branch(given: Schema, plain: Schema, union: Schema) -> tuple[Schema, Schema]:
        """``plain`` as a union of one branch beside ``union``: what stays at its top level, and
        its branch. The top keeps the keywords the union also has beside its branches (``type:
        object`` next to a ``oneOf``), compared with those, and the annotations (unless
        ``plain`` is a named type: its annotations are compared with the type's, in the
        branch); the branch is the whole schema less its annotations, or the named type
        itself (``given``, the ``$ref``), paired by its name. Both together accept what
        ``plain`` accepts."""
        beside = _beside(union.data)
        if "$ref" in given.data and plain.name is not None:
            top = {k: v for k, v in plain.data.items() if k in beside}
            return Schema(plain.document, plain.pointer, top, plain.name), given
        top = {k: v for k, v in plain.data.items() if _annotation(k) or k in beside}
        branch = {k: v for k, v in plain.data.items() if not _annotation(k)}
        return (
            Schema(plain.document, plain.pointer, top, plain.name),
            Schema(plain.document, plain.pointer, branch, plain.name),
        )

    def _without_implied(
        self, pair: tuple[Schema, Schema], single: _Single
    ) -> tuple[Schema, Schema]:
        """The single schema's branch less the keywords its partner does not repeat but the
        union says beside its branches, with the same value (``type: object`` beside a ``oneOf``
        of inline ``{required: [...]}`` branches): the union's top holds them for its branches,
        and the top was compared with the single schema's."""
        index = 0 if single.side == "old" else 1
        sides = (self.old, self.new)
        mine, partner = sides[index].follow(pair[index]), sides[1 - index].follow(pair[1 - index])
        dropped = {
            k
            for k, v in single.implied.items()
            if k not in partner.data and k in mine.data and mine.data[k] == v
        }
        if not dropped:
            return pair
        data = {k: v for k, v in mine.data.items() if k not in dropped}
        trimmed = Schema(mine.document, mine.pointer, data, mine.name)
        return (trimmed, pair[1]) if index == 0 else (pair[0], trimmed)

    # -- annotations and defaults ------------------------------------------------------------

    def _annotations(self, old: Schema, new: Schema, where: str) -> None:
        for key in ("title", "description"):
            before, after = old.data.get(key), new.data.get(key)
            if before != after:
                self.emit(
                    "DESCRIPTION_CHANGED",
                    new,
                    self._at(new, key),
                    f"{where}: {key} changed from {_show(before)} to {_show(after)}",
                )
        if old.data.get("default") == new.data.get("default") and (
            ("default" in old.data) == ("default" in new.data)
        ):
            return
        before, after = old.data.get("default"), new.data.get("default")
        if "default" not in new.data:
            rule, text = "DEFAULT_REMOVED", f"default {_show(before)} removed"
        elif "default" not in old.data:
            rule, text = "DEFAULT_ADDED", f"default {_show(after)} added"
        else:
            rule, text = (
                "DEFAULT_CHANGED",
                f"default changed from {_show(before)} to {_show(after)}",
            )
        self.emit(rule, new, self._at(new, "default"), f"{where}: {text}")

    # -- types -------------------------------------------------------------------------------

    def _types(self, o: Schema, n: Schema, role: Role, where: str) -> bool:
        """Type and nullability changes; False when the types are incompatible (stop there)."""
        old_types, new_types = _type_set(o.data), _type_set(n.data)
        at = self._at(n, "type")
        if old_types is None or new_types is None:
            change = None
            if old_types is None and new_types is not None and self._is_any(o.data):
                change, shown = Change.TIGHTER, f"any value -> {_show_types(new_types)}"
            elif new_types is None and old_types is not None and self._is_any(n.data):
                change, shown = Change.LOOSER, f"{_show_types(old_types)} -> any value"
            if change is not None:
                rules = _directional(
                    change,
                    "PROPERTY_TYPE_CHANGED",
                    "PROPERTY_TYPE_CHANGED",
                    "PROPERTY_TYPE_COMPATIBLE",
                )
                self._emit_for(role, rules, n, at, f"{where}: type changed: {shown}")
            return True
        shown = f"from {_show_types(old_types)} to {_show_types(new_types)}"
        if "null" in new_types and "null" not in old_types:
            rules = _directional(
                Change.LOOSER,
                "RESPONSE_PROPERTY_NULLABLE",
                "RESPONSE_PROPERTY_NULLABLE",
                "PROPERTY_TYPE_COMPATIBLE",
            )
            self._emit_for(role, rules, n, at, f"{where}: may now be null (type {shown})")
        elif "null" in old_types and "null" not in new_types:
            rules = _directional(
                Change.TIGHTER,
                "REQUEST_PROPERTY_NOT_NULLABLE",
                "REQUEST_PROPERTY_NOT_NULLABLE",
                "PROPERTY_TYPE_COMPATIBLE",
            )
            self._emit_for(role, rules, n, at, f"{where}: no longer accepts null (type {shown})")
        old_base, new_base = old_types - {"null"}, new_types - {"null"}
        if not old_base or not new_base or old_base == new_base:
            return True
        widened = all(_covered(t, new_base) for t in old_base)
        narrowed = all(_covered(t, old_base) for t in new_base)
        if widened and narrowed:
            return True
        change = Change.LOOSER if widened else Change.TIGHTER if narrowed else Change.INCOMPATIBLE
        rules = _directional(
            change, "PROPERTY_TYPE_CHANGED", "PROPERTY_TYPE_CHANGED", "PROPERTY_TYPE_COMPATIBLE"
        )
        self._emit_for(role, rules, n, at, f"{where}: type changed {shown}")
        return change is not Change.INCOMPATIBLE

    @staticmethod
    def _is_any(data: Mapping[str, object]) -> bool:
        return not any(key in data for key in _SHAPING)

    # -- enum and const ----------------------------------------------------------------------

    def _enum(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        before, after = _values(o.data), _values(n.data)
        if before is None and after is None:
            return
        changed = [k for k in ("const", "type") if o.data.get(k) != n.data.get(k)]
        at = self._at(n, *changed, "enum", "const")
        if before is None or after is None:
            change = Change.TIGHTER if before is None else Change.LOOSER
            listed = ", ".join(_show(v) for v in (after if before is None else before) or [])
            text = f"enum added: {listed}" if before is None else f"enum removed (was {listed})"
            self._constraint(change, role, n, at, f"{where}: {text}")
            return
        old_keys = {_key(v): v for v in before}
        new_keys = {_key(v): v for v in after}
        removed = [v for k, v in old_keys.items() if k not in new_keys]
        added = [v for k, v in new_keys.items() if k not in old_keys]
        if removed:
            rules = {
                Role.REQUEST: "REQUEST_ENUM_VALUE_REMOVED",
                Role.RESPONSE: "RESPONSE_ENUM_VALUE_REMOVED",
            }
            listed = ", ".join(_show(v) for v in removed)
            self._emit_for(role, rules, n, at, f"{where}: enum value {listed} removed")
        if added:
            rules = {
                Role.REQUEST: "REQUEST_ENUM_VALUE_ADDED",
                Role.RESPONSE: "RESPONSE_ENUM_VALUE_ADDED",
            }
            listed = ", ".join(_show(v) for v in added)
            self._emit_for(role, rules, n, at, f"{where}: enum value {listed} added")

    # -- constraints -------------------------------------------------------------------------

    def _constraint(
        self, change: Change, role: Role, n: Schema, at: Position, message: str
    ) -> None:
        rules = _directional(
            change,
            "REQUEST_CONSTRAINT_TIGHTENED",
            "RESPONSE_CONSTRAINT_LOOSENED",
            "CONSTRAINT_COMPATIBLE",
        )
        self._emit_for(role, rules, n, at, message)

    def _constraints(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        bounds = (
            ("minimum", "exclusiveMinimum"),
            ("maximum", "exclusiveMaximum"),
            ("minLength", None),
            ("maxLength", None),
            ("minItems", None),
            ("maxItems", None),
            ("minProperties", None),
            ("maxProperties", None),
        )
        for inclusive, exclusive in bounds:
            before = _bound(o.data, inclusive, exclusive)
            after = _bound(n.data, inclusive, exclusive)
            zero = (
                _Bound(Fraction(0), False, inclusive)
                if inclusive in ("minLength", "minItems", "minProperties")
                else None
            )
            change = _bound_change(before or zero, after or zero, lower=inclusive.startswith("min"))
            if change is not None:
                shown = f"{_show_bound(before, inclusive)} -> {_show_bound(after, inclusive)}"
                at = self._at(n, *(k for k in (inclusive, exclusive) if k))
                self._constraint(change, role, n, at, f"{where}: {shown}")
        for keyword in ("pattern", "format"):
            before_text, after_text = o.data.get(keyword), n.data.get(keyword)
            if before_text == after_text:
                continue
            change = (
                Change.TIGHTER
                if before_text is None
                else Change.LOOSER
                if after_text is None
                else _FORMAT_WIDER.get((str(before_text), str(after_text)), Change.INCOMPATIBLE)
            )
            shown = f"{_show(before_text) if before_text is not None else 'none'} -> " + (
                _show(after_text) if after_text is not None else "none"
            )
            self._constraint(change, role, n, self._at(n, keyword), f"{where}: {keyword} {shown}")
        self._multiple_of(o, n, role, where)

    def _multiple_of(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        before, after = o.data.get("multipleOf"), n.data.get("multipleOf")
        old_step, new_step = _step(o.data), _step(n.data)
        if old_step == new_step:
            return
        # exact arithmetic: 0.3 / 0.1 is 2.9999999999999996 in floats, 3 as written
        if old_step is None:
            change = Change.TIGHTER
        elif new_step is None:
            change = Change.LOOSER
        elif (new_step / old_step).denominator == 1:
            change = Change.TIGHTER
        elif (old_step / new_step).denominator == 1:
            change = Change.LOOSER
        else:
            change = Change.INCOMPATIBLE
        shown = f"multipleOf {_show(before) if before is not None else 'none'} -> " + (
            _show(after) if after is not None else "none"
        )
        self._constraint(change, role, n, self._at(n, "multipleOf"), f"{where}: {shown}")

    def _closedness(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        """additionalProperties: false (closed) < a schema (a map) < absent or true (open);
        a schema that allows any value (``{}``) is open."""
        before, after = _additional(o.data), _additional(n.data)
        if isinstance(before, dict) and isinstance(after, dict):
            self.compare(
                Schema(o.document, (*o.pointer, "additionalProperties"), before),
                Schema(n.document, (*n.pointer, "additionalProperties"), after),
                role,
                f"{where}{{}}",
            )
            return
        old_rank, new_rank = self._openness(before), self._openness(after)
        if old_rank == new_rank:
            return
        change = Change.TIGHTER if new_rank < old_rank else Change.LOOSER
        names = ("false (closed)", "a schema", "true (open)")
        shown = f"additionalProperties {names[old_rank]} -> {names[new_rank]}"
        at = self._at(n, "additionalProperties")
        self._constraint(change, role, n, at, f"{where}: {shown}")

    @staticmethod
    def _openness(value: object) -> int:
        return 0 if value is False else 1 if isinstance(value, dict) else 2

    # -- objects -----------------------------------------------------------------------------

    def _merge(self, side: Side, schema: Schema) -> _Merged:
        """``schema``'s properties and required names with its object ``allOf`` members' merged
        in, as the generated model (one class, the members' fields included) sees them."""
        merged = _Merged({}, set(), [], [])
        seen: set[Identity] = set()

        def add(s: Schema) -> None:
            seen.add(s.identity)
            for name, sub in _mapping(s.data.get("properties")).items():
                declared = Schema(s.document, (*s.pointer, "properties", name), as_schema(sub))
                merged.properties.setdefault(name, []).append(declared)
            merged.required.update(_required(s.data))
            members = s.data.get("allOf")
            for index, member in enumerate(members if isinstance(members, list) else []):
                if not isinstance(member, (dict, bool)):
                    continue
                part = Schema(s.document, (*s.pointer, "allOf", index), as_schema(member))
                followed = side.follow(part)
                if followed.identity in seen:  # allOf leading back to itself
                    continue
                if not _object_part(followed.data):  # judged as an allOf part, at any depth
                    merged.rest.append(part)
                    continue
                merged.members.append(followed)
                add(followed)

        add(schema)
        return merged

    def _object(
        self, o: Schema, n: Schema, old: _Merged, new: _Merged, role: Role, where: str
    ) -> None:
        # A member type present on both sides is compared through every type merging it: its
        # own role is theirs, so it needs no comparison of its own as a type of unknown role.
        old_members = {m.name: m for m in old.members if m.name is not None}
        for member in new.members:
            partner = old_members.get(member.name) if member.name is not None else None
            if partner is not None:
                self._pairs.add((partner.identity, member.identity))
        old_props, new_props = old.properties, new.properties
        old_req, new_req = old.required, new.required
        old_closed, new_closed = _closed(o.data), _closed(n.data)
        for name, declarations in new_props.items():
            at_new = declarations[0]
            own = at_new.document is n.document and at_new.pointer[:-2] == n.pointer
            position = at_new.document.key_position(at_new.pointer)
            if not own:  # inherited from an allOf member: the change is in this type
                position = self._at(n, "required", "allOf")
            if name not in old_props:
                required = name in new_req
                rules = {
                    Role.REQUEST: "REQUEST_REQUIRED_PROPERTY_ADDED"
                    if required
                    else "PROPERTY_ADDED",
                    Role.RESPONSE: "RESPONSE_CLOSED_PROPERTY_ADDED"
                    if old_closed
                    else "PROPERTY_ADDED",
                }
                text = f"{where}: property {name!r} added" + (" as required" if required else "")
                self._emit_for(role, rules, n, position, text)
                old_values = _additional(o.data)
                if isinstance(old_values, dict):
                    # The old schema took this name as a map entry: old clients may send (and old
                    # callers check) it against additionalProperties, so compare the two schemas.
                    at_values = Schema(o.document, (*o.pointer, "additionalProperties"), old_values)
                    label = f"{where}.{name} (was an entry of {where}{{}})"
                    for declared in declarations:
                        self.compare(at_values, declared, role, label, check_ref=False)
                continue
            if name in new_req and name not in old_req:
                rules = {
                    Role.REQUEST: "REQUEST_PROPERTY_REQUIRED",
                    Role.RESPONSE: "RESPONSE_PROPERTY_REQUIRED",
                }
                self._emit_for(
                    role, rules, n, position, f"{where}: property {name!r} became required"
                )
            elif name in old_req and name not in new_req:
                rules = {
                    Role.REQUEST: "REQUEST_PROPERTY_OPTIONAL",
                    Role.RESPONSE: "RESPONSE_PROPERTY_OPTIONAL",
                }
                self._emit_for(
                    role, rules, n, position, f"{where}: property {name!r} became optional"
                )
            for before, after in self._declaration_pairs(old_props[name], declarations):
                self.compare(before, after, role, f"{where}.{name}")
        for name, declarations in old_props.items():
            if name in new_props:
                continue
            required = name in old_req
            rules = {
                Role.REQUEST: "REQUEST_PROPERTY_REMOVED"
                if new_closed
                else "REQUEST_OPEN_PROPERTY_REMOVED",
                Role.RESPONSE: "RESPONSE_REQUIRED_PROPERTY_REMOVED"
                if required
                else "RESPONSE_OPTIONAL_PROPERTY_REMOVED",
            }
            text = f"{where}: {'required' if required else 'optional'} property {name!r} removed"
            self._emit_for(role, rules, n, self._at(n, "properties", "allOf"), text)
            new_values = _additional(n.data)
            if isinstance(new_values, dict):
                # The name is a map entry now: checked against additionalProperties, not ignored.
                at_values = Schema(n.document, (*n.pointer, "additionalProperties"), new_values)
                label = f"{where}.{name} (now an entry of {where}{{}})"
                for declared in declarations:
                    self.compare(declared, at_values, role, label, check_ref=False)
        # Names required without a declaration here (``then: {required: [c]}``, a
        # dependentSchemas entry, an allOf part): a name that must now be present is tighter.
        undeclared = (old_req ^ new_req) - set(old_props) - set(new_props)
        for name in sorted(undeclared):
            now = name in new_req
            rules = {
                Role.REQUEST: "REQUEST_PROPERTY_REQUIRED" if now else "REQUEST_PROPERTY_OPTIONAL",
                Role.RESPONSE: "RESPONSE_PROPERTY_REQUIRED"
                if now
                else "RESPONSE_PROPERTY_OPTIONAL",
            }
            text = f"{where}: property {name!r} " + (
                "became required" if now else "no longer required"
            )
            self._emit_for(role, rules, n, self._at(n, "required"), text)

    def _declaration_pairs(
        self, old: list[Schema], new: list[Schema]
    ) -> list[tuple[Schema, Schema]]:
        """Which old and new declarations of one property to compare. Almost always one each;
        a property several allOf members declare must match all of them: equal declarations
        pair up, the rest in order, and a declaration left over is compared with each of the
        other side's (reporting too much rather than missing a change)."""
        if len(old) == 1 and len(new) == 1:
            return [(old[0], new[0])]
        # The model intersects the declarations: compared as one schema when they combine
        # without a conflict, so a constraint moved from a redeclaration into the base (the
        # same intersection) is no change, and a real change is found in the intersection.
        before, after = _intersection(old), _intersection(new)
        if before is not None and after is not None:
            return [(before, after)]
        old_left = list(old)
        new_left: list[Schema] = []
        for after in new:
            twin = next((b for b in old_left if self.same_structure(b, after)), None)
            if twin is None:
                new_left.append(after)
            else:
                old_left.remove(twin)
        pairs = list(zip(old_left, new_left, strict=False))
        count = len(pairs)
        pairs += [(b, a) for b in old_left[count:] for a in new]
        pairs += [(b, a) for a in new_left[count:] for b in old]
        return pairs

    def _items(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        old_prefix, new_prefix = _parts(o, "prefixItems"), _parts(n, "prefixItems")
        if old_prefix or new_prefix:
            # Position by position, each side's schema for it: its prefixItems entry, else its
            # items schema (or anything). Then the positions after every prefix.
            for index in range(max(len(old_prefix), len(new_prefix))):
                at_old = old_prefix[index] if index < len(old_prefix) else self._rest(o)
                at_new = new_prefix[index] if index < len(new_prefix) else self._rest(n)
                self._sub(at_old, at_new, role, n, f"{where}[{index}]", "prefixItems")
        before, after = self._tail(o), self._tail(n)
        if before is not None and after is not None:
            self.compare(before, after, role, f"{where}[]")
        elif before is not None or after is not None:
            change = Change.TIGHTER if after is not None else Change.LOOSER
            typed = after or before
            kind = "no items" if typed is not None and typed.data == {"not": {}} else "typed items"
            shown = f"any items -> {kind}" if after is not None else f"{kind} -> any items"
            self._constraint(change, role, n, self._at(n, "items"), f"{where}: {shown}")

    @staticmethod
    def _tail(schema: Schema) -> Schema | None:
        """The schema of the items after any prefixItems; None when any item will do.
        Without ``items``, ``unevaluatedItems`` holds them (when nothing else evaluates them:
        see ``_evaluation``)."""
        value = schema.data.get("items", schema.data.get("unevaluatedItems"))
        if value is None or value is True or _trivial(value):
            return None
        return Schema(schema.document, (*schema.pointer, "items"), as_schema(value))

    @staticmethod
    def _rest(schema: Schema) -> Schema:
        value = schema.data.get("items", schema.data.get("unevaluatedItems", True))
        return Schema(schema.document, (*schema.pointer, "items"), as_schema(value))

    # -- the other 2020-12 keywords ----------------------------------------------------------

    def _sub(
        self,
        before: Schema | None,
        after: Schema | None,
        role: Role,
        n: Schema,
        where: str,
        keyword: str,
    ) -> None:
        """A subschema whose changes go the same way as its parent's (looser subschema, looser
        parent): compared when on both sides; added it constrains (tighter), removed it frees."""
        old_any = before is None or _trivial(before.data)
        new_any = after is None or _trivial(after.data)
        if old_any and new_any:
            return
        if not old_any and not new_any:
            assert before is not None and after is not None
            self.compare(before, after, role, where)
            return
        change = Change.TIGHTER if old_any else Change.LOOSER
        shown = (
            "schema became false (accepts nothing)"
            if after is not None and after.data == {"not": {}}
            else f"{keyword} added"
            if old_any
            else f"{keyword} removed"
        )
        self._constraint(change, role, n, self._at(n, keyword), f"{where}: {shown}")

    @staticmethod
    def _child(schema: Schema, *path: str) -> Schema | None:
        """The subschema at ``path`` below ``schema`` (booleans as mappings), if there is one."""
        value: object = schema.data
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        if not isinstance(value, (dict, bool)):
            return None
        return Schema(schema.document, (*schema.pointer, *path), as_schema(value))

    def _direction(self, old: Schema, new: Schema) -> Change | None:
        """Which way a subschema changed, found by comparing it as a request (an error: it got
        tighter) and as a response (an error: it got looser); None when neither role objects."""
        if self.same_structure(old, new):
            return None
        levels: list[set[Level]] = []
        for role in (Role.REQUEST, Role.RESPONSE):
            probe = SchemaComparer(self.old, self.new)
            probe.compare(old, new, role, "", check_ref=False)
            levels.append({f.severity for f in probe.findings if f.rule not in _NOT_VALIDATION})
        tighter, looser = (Level.ERROR in found for found in levels)
        if tighter and looser:
            return Change.INCOMPATIBLE
        if tighter or looser:
            return Change.TIGHTER if tighter else Change.LOOSER
        # no error either way, but a warning (a property removed...): say so, direction unknown
        return Change.INCOMPATIBLE if Level.WARNING in levels[0] | levels[1] else None

    def _arrays(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        before, after = o.data.get("uniqueItems") is True, n.data.get("uniqueItems") is True
        if before != after:
            shown = "uniqueItems added" if after else "uniqueItems removed"
            change = Change.TIGHTER if after else Change.LOOSER
            self._constraint(change, role, n, self._at(n, "uniqueItems"), f"{where}: {shown}")
        self._sub(
            self._child(o, "unevaluatedItems"),
            self._child(n, "unevaluatedItems"),
            role,
            n,
            f"{where}[] (unevaluated)",
            "unevaluatedItems",
        )
        old_contains, new_contains = self._child(o, "contains"), self._child(n, "contains")
        if old_contains is None and new_contains is None:
            return  # minContains and maxContains mean nothing without contains
        at = self._at(n, "contains", "minContains", "maxContains")
        if old_contains is None or new_contains is None:
            change = Change.TIGHTER if old_contains is None else Change.LOOSER
            verb = "added" if old_contains is None else "removed"
            self._constraint(change, role, n, at, f"{where}: contains {verb}")
            return
        counted = "maxContains" in o.data or "maxContains" in n.data
        if counted and not self.same_structure(old_contains, new_contains):
            # More items matching can now exceed maxContains: no direction.
            text = f"{where}: contains changed beside maxContains (direction unknown)"
            self._constraint(Change.INCOMPATIBLE, role, n, at, text)
        elif not counted:
            self.compare(old_contains, new_contains, role, f"{where} (contains)")
        for keyword, default in (("minContains", 1), ("maxContains", None)):
            old_bound = _bound({keyword: o.data.get(keyword, default)}, keyword, None)
            new_bound = _bound({keyword: n.data.get(keyword, default)}, keyword, None)
            moved = _bound_change(old_bound, new_bound, lower=keyword == "minContains")
            if moved is not None:
                shown = f"{_show_bound(old_bound, keyword)} -> {_show_bound(new_bound, keyword)}"
                self._constraint(moved, role, n, self._at(n, keyword), f"{where}: {shown}")

    def _objects(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        self._sub(
            self._child(o, "propertyNames"),
            self._child(n, "propertyNames"),
            role,
            n,
            f"{where} (property names)",
            "propertyNames",
        )
        self._sub(
            self._child(o, "unevaluatedProperties"),
            self._child(n, "unevaluatedProperties"),
            role,
            n,
            f"{where}{{}} (unevaluated)",
            "unevaluatedProperties",
        )
        self._patterns(o, n, role, where)
        old_dep, new_dep = (
            _mapping(o.data.get("dependentRequired")),
            _mapping(n.data.get("dependentRequired")),
        )
        for name in sorted(set(old_dep) | set(new_dep)):
            before = {v for v in _list(old_dep.get(name)) if isinstance(v, str)}
            after = {v for v in _list(new_dep.get(name)) if isinstance(v, str)}
            if before == after:
                continue
            change = (
                Change.TIGHTER
                if before < after
                else Change.LOOSER
                if after < before
                else Change.INCOMPATIBLE
            )
            shown = f"{sorted(before)} -> {sorted(after)}"
            text = f"{where}: dependentRequired when {name!r} is present: {shown}"
            self._constraint(change, role, n, self._at(n, "dependentRequired"), text)
        old_schemas = _mapping(o.data.get("dependentSchemas"))
        new_schemas = _mapping(n.data.get("dependentSchemas"))
        for name in sorted(set(old_schemas) | set(new_schemas)):
            self._sub(
                self._child(o, "dependentSchemas", name),
                self._child(n, "dependentSchemas", name),
                role,
                n,
                f"{where} (when {name!r} is present)",
                "dependentSchemas",
            )

    def _patterns(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        old_map = _mapping(o.data.get("patternProperties"))
        new_map = _mapping(n.data.get("patternProperties"))
        for regex in old_map.keys() & new_map.keys():
            self._sub(
                self._child(o, "patternProperties", regex),
                self._child(n, "patternProperties", regex),
                role,
                n,
                f"{where}{{/{regex}/}}",
                "patternProperties",
            )
        added = [r for r in new_map if r not in old_map]
        removed = [r for r in old_map if r not in new_map]
        # A name matching no pattern falls to additionalProperties (or unevaluatedProperties).
        falls_to = {_falls_to(o.data), _falls_to(n.data)}
        if falls_to == {"open"}:  # open: a pattern only constrains the names it matches
            added = [r for r in added if not _trivial(new_map[r])]
            removed = [r for r in removed if not _trivial(old_map[r])]
        if not added and not removed:
            return
        at = self._at(n, "patternProperties")
        shown = ", ".join(f"/{r}/" for r in removed) + (" -> " if removed and added else "")
        shown += ", ".join(f"/{r}/" for r in added)
        text = f"{where}: patternProperties {shown}"
        declared = set(_mapping(o.data.get("properties"))) | set(_mapping(n.data.get("properties")))
        if falls_to == {"open"} and not (added and removed):
            change = Change.TIGHTER if added else Change.LOOSER
            self._constraint(change, role, n, at, f"{text} {'added' if added else 'removed'}")
        elif (
            falls_to == {"closed"}
            and not (added and removed)
            and not any(_matches(r, name) for r in (added or removed) for name in declared)
        ):
            # closed: the names a pattern matches are let in (added) or refused (removed)
            change = Change.LOOSER if added else Change.TIGHTER
            verb = (
                "added (names it matches let in)" if added else "removed (names it matched refused)"
            )
            self._constraint(change, role, n, at, f"{text} {verb}")
        else:
            # names move between two schemas (or a declared property gains or loses one)
            self._constraint(Change.INCOMPATIBLE, role, n, at, f"{text} (direction unknown)")

    def _logic(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        old_not, new_not = self._child(o, "not"), self._child(n, "not")
        at = self._at(n, "not")
        if old_not is not None and new_not is not None:
            inner = self._direction(old_not, new_not)
            if inner is not None:
                # the values `not` refuses: more of them (a looser subschema) is tighter
                flipped = {
                    Change.TIGHTER: Change.LOOSER,
                    Change.LOOSER: Change.TIGHTER,
                    Change.INCOMPATIBLE: Change.INCOMPATIBLE,
                }[inner]
                text = f"{where}: not changed ({inner.value} subschema: refuses " + (
                    "more)"
                    if flipped is Change.TIGHTER
                    else "less)"
                    if flipped is Change.LOOSER
                    else "other values)"
                )
                self._constraint(flipped, role, n, at, text)
        elif old_not is not None or new_not is not None:
            change = Change.TIGHTER if new_not is not None else Change.LOOSER
            if new_not is not None and _trivial(new_not.data):
                text = f"{where}: schema became false (accepts nothing)"
            elif old_not is not None and _trivial(old_not.data):
                text = f"{where}: schema was false (accepted nothing)"
            else:
                text = f"{where}: not {'added' if new_not is not None else 'removed'}"
            self._constraint(change, role, n, at, text)
        old_if, new_if = self._child(o, "if"), self._child(n, "if")
        old_branches = [self._child(o, k) for k in ("then", "else")]
        new_branches = [self._child(n, k) for k in ("then", "else")]
        old_has = old_if is not None and any(b is not None for b in old_branches)
        new_has = new_if is not None and any(b is not None for b in new_branches)
        at = self._at(n, "if", "then", "else")
        if not old_has and not new_has:
            return
        if old_has != new_has:
            change = Change.TIGHTER if new_has else Change.LOOSER
            verb = "added" if new_has else "removed"
            self._constraint(change, role, n, at, f"{where}: if/then/else {verb}")
            return
        assert old_if is not None and new_if is not None
        if not self.same_structure(old_if, new_if):
            # Values move between then and else: which way cannot be told in general.
            text = f"{where}: if condition changed (direction unknown)"
            self._constraint(Change.INCOMPATIBLE, role, n, at, text)
            return
        for keyword, before, after in zip(
            ("then", "else"), old_branches, new_branches, strict=True
        ):
            self._sub(before, after, role, n, f"{where} ({keyword})", keyword)

    def _evaluation(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        """``unevaluatedProperties``/``unevaluatedItems`` apply to what no other keyword
        evaluated, and subschemas that pass (allOf, anyOf, oneOf, if/then/else, contains,
        dependentSchemas, a $ref) evaluate too: when one of them changed beside it, which
        properties or items it applies to may change either way."""
        unevaluated = [
            k
            for k in ("unevaluatedProperties", "unevaluatedItems")
            if not _trivial(o.data.get(k, True)) or not _trivial(n.data.get(k, True))
        ]
        if not unevaluated:
            return

        def part(side: Side, schema: Schema, key: str) -> str:
            data = {key: schema.data[key]} if key in schema.data else {}
            return fingerprint(side, Schema(schema.document, schema.pointer, data))

        changed = [k for k in _EVALUATING if part(self.old, o, k) != part(self.new, n, k)]
        if changed:
            text = (
                f"{where}: {', '.join(changed)} changed beside {' and '.join(unevaluated)}: what "
                "counts as evaluated may change (direction unknown)"
            )
            self._constraint(Change.INCOMPATIBLE, role, n, self._at(n, *unevaluated), text)

    def _unknown(self, o: Schema, n: Schema, role: Role, where: str) -> None:
        """A keyword the comparison does not know that changed: reported, direction unknown."""
        for key in sorted(set(o.data) | set(n.data)):
            if key in _COMPARED or key in _NO_EFFECT or _annotation(key):
                continue
            if _key(o.data.get(key)) == _key(n.data.get(key)):
                continue
            text = f"{where}: {key} changed (not compared: direction unknown)"
            self._constraint(Change.INCOMPATIBLE, role, n, self._at(n, key), text)

    # -- unions ------------------------------------------------------------------------------

    def _variants(
        self,
        o: Schema,
        n: Schema,
        old_rest: list[Schema],
        new_rest: list[Schema],
        role: Role,
        where: str,
        single: _Single | None = None,
    ) -> None:
        before = _mapping(o.data.get("discriminator")).get("propertyName")
        after = _mapping(n.data.get("discriminator")).get("propertyName")
        if single is not None:
            # A schema has no discriminator to change: its branch pairs by the union's tag.
            before = after = before if single.side == "new" else after
        if before != after:
            self.emit(
                "DISCRIMINATOR_CHANGED",
                n,
                self._at(n, "discriminator", "oneOf"),
                f"{where}: discriminator {_show(before)} -> {_show(after)}",
            )
        tag = before if before == after and isinstance(before, str) else None
        for keyword in ("anyOf", "oneOf"):
            old_list, new_list = o.data.get(keyword), n.data.get(keyword)
            if single is not None and single.keyword == keyword:
                parts = (
                    [single.branch] if single.side == "old" else _parts(o, keyword),
                    [single.branch] if single.side == "new" else _parts(n, keyword),
                )
                self._branches(o, n, parts, keyword, role, where, tag, single)
            elif isinstance(old_list, list) or isinstance(new_list, list):
                parts = (_parts(o, keyword), _parts(n, keyword))
                self._branches(o, n, parts, keyword, role, where, tag)
        if old_rest or new_rest:  # the allOf members not merged into the object
            self._branches(o, n, (old_rest, new_rest), "allOf", role, where, None)

    def _exactly_one(
        self,
        old_parts: list[Schema],
        new_parts: list[Schema],
        changes: tuple[list[Schema], list[Schema], list[tuple[Schema, Schema]]],
        n: Schema,
        at: Position,
        role: Role,
        where: str,
        plain: str | None,
    ) -> None:
        """``oneOf`` without a discriminator: a value must match exactly one branch. Unless
        the branches cannot overlap (different JSON types, or different values of one required
        property), a branch added refuses values that now match two (tighter), one removed
        accepts values that matched two (looser), one changed may do either. ``plain``: the
        side (``old``/``new``) that is a plain schema, compared as a union of one branch: the
        exactly-one rule appears (tighter) or goes (looser) with the union."""
        if _exclusive(self.old, old_parts) and _exclusive(self.new, new_parts):
            return
        gone, came, pairs = changes
        note = "oneOf without a discriminator, branches that may overlap"
        if plain == "new":
            came = []  # the plain schema: no exactly-one rule any more
        if plain == "old":
            gone = []  # the plain schema: there was no exactly-one rule
        if came:
            text = f"{where}: {len(came)} oneOf branch(es) added ({note}: a value matching two "
            self._constraint(Change.TIGHTER, role, n, at, text + "is refused)")
        if gone:
            text = f"{where}: {len(gone)} oneOf branch(es) removed ({note}: a value that "
            self._constraint(Change.LOOSER, role, n, at, text + "matched two is accepted)")
        if pairs and plain == "old":
            text = f"{where}: a oneOf replaces a schema ({note}: a value matching two is refused)"
            self._constraint(Change.TIGHTER, role, n, at, text)
        elif pairs and plain is None:
            text = f"{where}: {len(pairs)} oneOf branch(es) changed ({note}: direction unknown)"
            self._constraint(Change.INCOMPATIBLE, role, n, at, text)

    def _branch_key(self, side: Side, branch: Schema, owner: Schema, tag: str | None) -> object:
        """What identifies a union branch across versions, or None: the discriminator value it
        carries, else the type its $ref names, else its JSON types (inline branches)."""
        followed = side.follow(branch)
        if tag is not None:
            mapping = _mapping(_mapping(owner.data.get("discriminator")).get("mapping"))
            ref = branch.data.get("$ref")
            for value, target in mapping.items():
                if target == ref:
                    return ("tag", _key(value))
            prop = _mapping(_mapping(followed.data.get("properties")).get(tag))
            values = _values(side.follow(Schema(followed.document, (), prop)).data)
            if values is not None and len(values) == 1:
                return ("tag", _key(values[0]))
        if ("$ref" in branch.data or branch.name is not None) and followed.name is not None:
            return ("ref", followed.name)  # a named type compared with a union is one too
        types = _type_set(branch.data)
        return ("types", _show_types(types)) if types is not None else None

    def _branches(
        self,
        o: Schema,
        n: Schema,
        parts: tuple[list[Schema], list[Schema]],
        keyword: str,
        role: Role,
        where: str,
        tag: str | None,
        single: _Single | None = None,
    ) -> None:
        """Pair old and new branches (allOf parts) and compare the pairs; report the rest.

        Unchanged branches (same structure) pair first, wherever they are; then branches with
        the same key (discriminator value, $ref target, JSON types, each unique on its side):
        pairing by position compared Cat with Dog after a reorder. Branches left without a key
        pair in order when as many are left on each side, unless a discriminator value tells
        them apart or several name a type; anything else is added or removed.
        """
        old_parts, new_parts = parts
        gone = list(old_parts)
        came: list[Schema] = []
        for branch in new_parts:
            twin = next((b for b in gone if self.same_structure(b, branch)), None)
            if twin is None:
                came.append(branch)
            else:
                gone.remove(twin)
        old_keys = [self._branch_key(self.old, b, o, tag) for b in gone]
        new_keys = [self._branch_key(self.new, b, n, tag) for b in came]
        pairs: list[tuple[Schema, Schema]] = []
        for index, key in enumerate(new_keys):
            if key is None or new_keys.count(key) > 1 or old_keys.count(key) != 1:
                continue
            pairs.append((gone[old_keys.index(key)], came[index]))
        paired_old = {id(b) for b, _ in pairs}
        paired_new = {id(a) for _, a in pairs}
        gone = [b for b in gone if id(b) not in paired_old]
        came = [a for a in came if id(a) not in paired_new]
        left = [self._branch_key(self.old, b, o, tag) for b in gone] + [
            self._branch_key(self.new, a, n, tag) for a in came
        ]
        kinds = {k[0] for k in left if isinstance(k, tuple)}
        if len(gone) == len(came) and "tag" not in kinds and ("ref" not in kinds or len(gone) == 1):
            # changed in place: a type changed (or renamed and changed) without a key to tell
            pairs += list(zip(gone, came, strict=True))
            gone, came = [], []
        for pair in pairs:
            label = f"{where}.{keyword}[{pair[1].pointer[-1]}]"
            if single is not None:
                pair = self._without_implied(pair, single)
                if single.side == "new":  # the single schema's branch is the schema itself
                    label = where
            self.compare(*pair, role, label)
        at = self._at(n, keyword)
        if keyword == "oneOf" and tag is None and (gone or came or pairs):
            plain = single.side if single is not None else None
            self._exactly_one(old_parts, new_parts, (gone, came, pairs), n, at, role, where, plain)
        # allOf parts constrain (more parts: tighter); anyOf/oneOf branches allow (more: looser)
        for change, branches in ((Change.TIGHTER, gone), (Change.LOOSER, came)):
            if not branches:
                continue
            if keyword == "allOf":
                flipped = Change.LOOSER if change is Change.TIGHTER else Change.TIGHTER
                verb = "removed" if change is Change.TIGHTER else "added"
                self._constraint(
                    flipped, role, n, at, f"{where}: {len(branches)} allOf part(s) {verb}"
                )
                continue
            rules = _directional(
                change, "REQUEST_VARIANT_REMOVED", "RESPONSE_VARIANT_ADDED", "VARIANT_COMPATIBLE"
            )
            verb = "removed" if change is Change.TIGHTER else "added"
            text = f"{where}: {len(branches)} {keyword} branch(es) {verb}"
            if single is not None:
                text += f" (the {single.side} schema, not a union, is one branch)"
            self._emit_for(role, rules, n, at, text)
