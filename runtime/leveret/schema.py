"""What generated models use from the runtime so that they mean exactly what their schema says.

Issue 11: pydantic expresses most of JSON Schema (types, properties, lengths, bounds, patterns),
and the generated models leave that to it. For the rest, generated code calls this module:

* :data:`JsonInt` / :data:`JSON_INTEGER`: JSON Schema's ``integer`` is a mathematical integer,
  so ``1.0`` on the wire is one; pydantic's strict ``int`` refuses it. An integer field is
  ``JsonInt`` (or ``Annotated[int, Field(...), JSON_INTEGER]`` with constraints, which then stay
  in pydantic's core): a JSON integer takes pydantic's own path and costs nothing more; only a
  float input goes through Python, becoming an ``int`` when it has no fractional part. The handler
  always gets an ``int``; ``true`` is never an integer.
* :class:`SchemaGuard`: the keywords pydantic cannot say (``uniqueItems`` with JSON equality,
  ``oneOf``'s "exactly one", ``not``, ``if``/``then``/``else``, ``dependentRequired``,
  ``contains``, ``patternProperties``, ``propertyNames``, ``prefixItems``, ``unevaluated*``,
  ``enum`` and ``const`` of any JSON value, constraints without a ``type``, formats, ...). A
  generated type that uses one gets a (wrap) validator that, before pydantic's own validation,
  checks the raw value against the part of its schema its fields do not enforce, with
  :mod:`leveret._schema`'s compiled evaluator, in time linear in the whole body however deep
  (review r11 F8); a type that uses none gets nothing, so a typical request pays nothing.

Never ``jsonschema`` at run time: the evaluator is leveret's own (tested against the
JSON-Schema-Test-Suite in ``tests/runtime/test_schema_evaluator.py``).
"""

from __future__ import annotations

import datetime
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Final, TypeAlias

from pydantic import (
    MISSING,
    BaseModel,
    BeforeValidator,
    GetCoreSchemaHandler,
    ModelWrapValidatorHandler,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema, to_jsonable_python

from leveret._schema import (
    MAX_FAILURES,
    SCOPE,
    Check,
    Failure,
    Scope,
    compile_schema,
    format_check,
    shared_verdict,
)

__all__ = [
    "JSON_DATE",
    "JSON_DATE_TIME",
    "JSON_INTEGER",
    "JSON_LITERAL",
    "JSON_UUID",
    "JsonInt",
    "SchemaGuard",
    "clean_errors",
    "json_literal",
]

#: Union branch labels of :data:`JSON_INTEGER`; they appear in pydantic's error locations, and
#: the runtime's error rendering (:func:`clean_errors`) folds them away.
INT_BRANCH: Final = "json-int"
FLOAT_BRANCH: Final = "json-int-from-float"
_NOT_A_FLOAT: Final = "json_int_not_a_float"


def _integral(value: Any) -> int:
    # Only floats reach here (an int took the first branch); other inputs report a placeholder
    # error that clean_errors drops, leaving the first branch's message.
    if type(value) is float:
        if value.is_integer():
            return int(value)
        raise PydanticCustomError(
            "int_from_float", "Input should be a valid integer, got a number with a fractional part"
        )
    raise PydanticCustomError(_NOT_A_FLOAT, "Input should be a valid integer")


class _JsonInteger:
    """``Annotated`` metadata making an ``int`` accept JSON numbers with no fractional part."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = handler(source)  # int, with the constraints written before this marker
        return core_schema.union_schema(
            [
                (inner, INT_BRANCH),
                (
                    core_schema.chain_schema(
                        [core_schema.no_info_plain_validator_function(_integral), inner]
                    ),
                    FLOAT_BRANCH,
                ),
            ],
            mode="left_to_right",
        )

    def __repr__(self) -> str:
        return "JSON_INTEGER"


#: Put last in ``Annotated[int, Field(...), JSON_INTEGER]`` so the constraints stay in pydantic.
JSON_INTEGER: Final = _JsonInteger()

#: An ``int`` that accepts ``1.0`` as JSON Schema does (``integer``), and gives an ``int``.
JsonInt: TypeAlias = Annotated[int, JSON_INTEGER]


def _format_error(name: str) -> PydanticCustomError:
    return PydanticCustomError(
        "format", "Input should be a valid {format} string", {"format": name}
    )


def _as_format_error(schema: core_schema.CoreSchema, name: str) -> core_schema.CoreSchema:
    """``schema`` with any failure reported as the format's (pydantic-core, no Python)."""
    return core_schema.custom_error_schema(
        schema,
        custom_error_type="format",
        custom_error_message=f"Input should be a valid {name} string",
        custom_error_context={"format": name},
    )


class _JsonFormat:
    """``Annotated`` metadata for a ``datetime``/``date``/``UUID`` written as a formatted string.

    pydantic's own parsers accept forms the formats do not (``2020-01-01T00:00`` without seconds
    or offset, UUIDs without dashes), so the string is checked with the format's exact assertion
    and parsed here, on both sides: from JSON, and from Python, where a caller may pass the
    object itself or its string (also after a schema guard, which hands pydantic Python values).

    From JSON, the common case stays in pydantic-core as far as it can (the wire's hot path): the
    string's shape is checked there (``json_shape``, a strict string schema: a pattern, or a
    length for a UUID, whose parser then takes only the hyphenated form), and the value parsed by
    Python's ``fromisoformat`` or pydantic's UUID parser. The format's full assertion runs only
    to word the error of a string that fails.
    """

    def __init__(
        self,
        name: str,
        kind: type,
        parse: Callable[[str], object],
        json_shape: core_schema.CoreSchema,
        parse_in_core: bool = False,
    ) -> None:
        self.name, self._kind, self._parse, self._check = name, kind, parse, format_check(name)
        self._json_shape, self._parse_in_core = json_shape, parse_in_core

    def _from_string(self, value: Any) -> object:
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "Input should be a valid string")
        if not self._check(value):
            raise _format_error(self.name)
        return self._parsed(value)

    def _parsed(self, value: str) -> object:
        try:
            return self._parse(value)
        except ValueError as exc:
            if not self._check(value):  # the shape was right, the calendar not (February 30)
                raise _format_error(self.name) from None
            # a leap second (23:59:60), year 0, or a fraction finer than microseconds
            raise PydanticCustomError(
                "format",
                "Input is a valid {format} that Python cannot represent: {why}",
                {"format": self.name, "why": str(exc)},
            ) from None

    def _from_python(self, value: Any) -> object:
        return value if isinstance(value, self._kind) else self._from_string(value)

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = handler(source)
        if self._parse_in_core:
            from_json = _as_format_error(
                core_schema.chain_schema([self._json_shape, inner]), self.name
            )
        else:
            from_json = core_schema.chain_schema(
                [
                    _as_format_error(self._json_shape, self.name),
                    core_schema.no_info_plain_validator_function(self._parsed),
                    inner,
                ]
            )
        return core_schema.json_or_python_schema(
            json_schema=from_json,
            python_schema=core_schema.chain_schema(
                [core_schema.no_info_plain_validator_function(self._from_python), inner]
            ),
            serialization=inner.get("serialization"),
        )

    def __repr__(self) -> str:
        return f"JSON_{self.name.upper().replace('-', '_')}"


#: The fractional digits of a second a ``datetime`` holds (microseconds).
_MICROSECOND_DIGITS: Final = 6


def _date_time(text: str) -> datetime.datetime:
    # fromisoformat cuts a longer fraction to microseconds: two instants a nanosecond apart
    # would become equal, and the handler get a value that was not sent. Refused instead, like
    # a leap second (the format checked elsewhere, where the text is kept, accepts it).
    _, dot, fraction = text.partition(".")
    digits = len(fraction) - len(fraction.lstrip("0123456789"))
    if dot and digits > _MICROSECOND_DIGITS:
        raise ValueError(
            f"a fraction of a second with {digits} digits, finer than the microseconds"
            f" ({_MICROSECOND_DIGITS} digits) a datetime holds; send at most {_MICROSECOND_DIGITS}"
        )
    return datetime.datetime.fromisoformat(text.upper())  # RFC 3339 allows "t" and "z"


# RFC 3339's shapes, for pydantic-core's regex engine (``$`` is the end of the text there).
_FULL_DATE: Final = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_TIME: Final = (
    "(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:[.][0-9]+)?"
    "(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)

#: After ``AwareDatetime``: a ``date-time`` string (RFC 3339), parsed to an aware datetime.
JSON_DATE_TIME: Final = _JsonFormat(
    "date-time",
    datetime.datetime,
    _date_time,
    core_schema.str_schema(pattern=f"^{_FULL_DATE}[Tt]{_TIME}$", strict=True),
)
#: After ``date``: a ``date`` string (RFC 3339 full-date).
JSON_DATE: Final = _JsonFormat(
    "date",
    datetime.date,
    datetime.date.fromisoformat,
    core_schema.str_schema(pattern=f"^{_FULL_DATE}$", strict=True),
)
#: After ``UUID``: a ``uuid`` string (RFC 4122, with dashes).
JSON_UUID: Final = _JsonFormat(
    "uuid",
    uuid.UUID,
    uuid.UUID,
    # 36 characters: pydantic-core's parser takes only the hyphenated form at that length
    core_schema.str_schema(min_length=36, max_length=36, strict=True),
    parse_in_core=True,
)


def json_literal(value: object) -> object:
    """Before a ``Literal`` with integer members: JSON ``true``/``false`` are not ``1``/``0``
    (Python's ``True == 1`` would let them match), and ``1.0`` is ``1`` (JSON Schema's equality)."""
    if isinstance(value, bool):
        raise PydanticCustomError("literal_error", "Input should be an integer, not a boolean")
    if type(value) is float and value.is_integer():
        return int(value)
    return value


#: After a ``Literal`` with integer members: :func:`json_literal` first.
JSON_LITERAL: Final = BeforeValidator(json_literal)


def clean_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors with :data:`JSON_INTEGER`'s union folded into one error per value.

    For an integer input the first branch's error stands (``greater than or equal to 0``), for a
    float the second's (``fractional part``); either way the branch label leaves the location.
    """
    if not any(err["loc"] and err["loc"][-1] in (INT_BRANCH, FLOAT_BRANCH) for err in errors):
        return errors
    from_float = {
        tuple(err["loc"][:-1])
        for err in errors
        if err["loc"] and err["loc"][-1] == FLOAT_BRANCH and err["type"] != _NOT_A_FLOAT
    }
    cleaned = []
    for err in errors:
        loc = tuple(err["loc"])
        if loc and loc[-1] == FLOAT_BRANCH:
            if err["type"] == _NOT_A_FLOAT:
                continue
        elif loc and loc[-1] == INT_BRANCH:
            if loc[:-1] in from_float:
                continue
        else:
            cleaned.append(err)
            continue
        cleaned.append({**err, "loc": loc[:-1]})
    return cleaned


def _as_json(value: Any, scope: Scope) -> Any:
    """A Python caller's value as the JSON it will be sent as: models dumped by alias, datetimes
    and UUIDs as strings, and ``MISSING`` (an argument not given) left out.

    Each dict, list or tuple is converted once per ``scope``: the guards of the types nested in
    it get the same converted values, whose verdicts the scope already holds (review r11 F8)."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if not isinstance(value, dict | list | tuple):
        converted = to_jsonable_python(value, by_alias=True)
        scope.keep(converted)  # its id may key a verdict
        return converted
    if scope.converted is None:
        scope.converted = {}
    known = scope.converted.get(id(value))
    if known is None:
        if isinstance(value, dict):
            known = {k: _as_json(v, scope) for k, v in value.items() if v is not MISSING}
        else:
            known = [_as_json(v, scope) for v in value]
        scope.converted[id(value)] = known
        scope.keep(value)
    return known


#: How many failures one guard error lists; the rest are counted (up to the evaluator's
#: :data:`~leveret._schema.MAX_FAILURES`, where it stops, which the message then says).
_LISTED: Final = 10


def _describe(failures: Sequence[Failure]) -> str:
    parts = [
        (".".join(str(p) for p in f.path) + ": " if f.path else "") + f"{f.message} ({f.keyword})"
        for f in failures[:_LISTED]
    ]
    more = len(failures) - _LISTED
    if len(failures) >= MAX_FAILURES:
        # the evaluator stopped there: there may be many more than it found
        parts.append(f"... and at least {more} more (the check stopped after {MAX_FAILURES})")
    elif more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


class SchemaGuard:
    """The exact schema checks of one generated models module.

    ``checks`` holds, per type, the part of its schema the generated fields do not enforce;
    ``defs`` the types those parts refer to (refs ``#/$defs/<Name>``). Each check is compiled on
    first use. :meth:`model_validator` and :meth:`before` give what a generated class or type
    alias runs before pydantic's own validation.

    One body is checked in time linear in its size (review r11 F8): the outermost guarded
    validation opens a :class:`leveret._schema.Scope` for its whole duration (a context
    variable, so threads and tasks each have their own), in which every ``defs`` type's
    verdict on each array or object is kept; a nested type's guard is skipped when its value
    already passed that type's whole schema, and its own verdict is kept too (a union tries
    it more than once).
    """

    def __init__(self, checks: Mapping[str, Any], defs: Mapping[str, Any]) -> None:
        self._schemas = dict(checks)
        self._defs = dict(defs)
        self._checks: dict[str, Check] = {}
        self._lock = threading.Lock()
        #: names this module's $defs in a scope (every check resolves refs in the same defs)
        self._share = object()
        if _uses_categories(self._schemas) or _uses_categories(self._defs):
            # \p{..} builds its Unicode table (0.1 s) when compiled: at import, not on the
            # worker's I/O thread during the first request (review r11b)
            for name in self._schemas:
                self._check(name)

    def _check(self, name: str) -> Check:
        check = self._checks.get(name)
        if check is None:
            with self._lock:
                check = self._checks.get(name)
                if check is None:
                    root = {"allOf": [self._schemas[name]], "$defs": self._defs}
                    # A backtracking pattern is refused here without a maxLength around it: the
                    # generator copies the field's into the guard part beside such a pattern
                    # (LV412 refuses one with none), so the length is checked before it runs.
                    check = compile_schema(root, share=self._share)
                    self._checks[name] = check
        return check

    def failures(self, name: str, instance: Any) -> list[Failure]:
        """The failures of a JSON ``instance`` against type ``name`` (empty when valid)."""
        return self._check(name)(instance)

    def _enforce(self, name: str, data: Any, python: bool, scope: Scope, nested: bool) -> None:
        # Python callers may pass models, datetimes, UUIDs...: checked in their JSON form.
        instance = _as_json(data, scope) if python else data
        if nested and (type(instance) is dict or type(instance) is list):
            # the whole type's schema passed (an enclosing guard's evaluation): so does its guard
            if shared_verdict(scope, self._share, _def_pointer(name), instance):
                return
            known = scope.verdicts.setdefault((self._share, name), {})
            failures = known.get(id(instance))
            if failures is None:
                failures = known[id(instance)] = tuple(self._check(name)(instance))
                scope.keep(instance)
        else:
            # the outermost guard's value is checked once (a new scope holds nothing yet)
            failures = tuple(self._check(name)(instance))
        if failures:
            raise PydanticCustomError("json_schema", "{reason}", {"reason": _describe(failures)})

    def _run(
        self, name: str, data: Any, handler: Callable[[Any], Any], info: ValidationInfo
    ) -> Any:
        scope = SCOPE.get()
        if scope is not None:
            self._enforce(name, data, info.mode == "python", scope, nested=True)
            return handler(data)
        scope = Scope()
        token = SCOPE.set(scope)
        try:
            self._enforce(name, data, info.mode == "python", scope, nested=False)
            return handler(data)
        finally:
            SCOPE.reset(token)

    def model_validator(self, name: str) -> Any:
        """A model validator checking a class's input against type ``name`` before pydantic's
        own validation of it (a wrap validator: the scope lasts while the fields are validated).

        Generated as ``_leveret_schema = _SCHEMA.model_validator("Name")`` in the class body."""

        def check(
            cls: type[BaseModel],
            data: Any,
            handler: ModelWrapValidatorHandler[Any],
            info: ValidationInfo,
        ) -> Any:
            if isinstance(data, cls):
                return data  # validated when it was made
            return self._run(name, data, handler, info)

        check.__qualname__ = check.__name__ = f"schema_of_{name}"
        return model_validator(mode="wrap")(classmethod(check))  # type: ignore[arg-type]

    def before(self, name: str) -> WrapValidator:
        """``Annotated`` metadata checking a type alias's value against type ``name`` before
        pydantic's own validation of it."""

        def check(data: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
            return self._run(name, data, handler, info)

        check.__qualname__ = check.__name__ = f"schema_of_{name}"
        return WrapValidator(check)


def _uses_categories(schemas: Any) -> bool:
    """Whether a ``pattern``/``patternProperties`` in ``schemas`` may use ``\\p{..}``."""
    text = json.dumps(schemas)
    return "\\\\p{" in text or "\\\\P{" in text


def _def_pointer(name: str) -> str:
    return "#/$defs/" + name.replace("~", "~0").replace("/", "~1")
