"""Example values built from a schema, and checked against it.

``leveret docs`` shows an example request, reply and error body for every method. They are made
from the schema itself, so they never drift from it, and each one is validated against its schema
(JSON Schema 2020-12 with format checking) before anything is written: an example that does not
validate is a bug in the generator or a schema that no value satisfies, and either way the run
fails with a diagnostic instead of publishing a wrong example.

How a value is chosen, first match wins:

1. ``examples`` (the first one) at the schema or next to its ``$ref``;
2. ``const``; 3. ``enum`` (the first value); 4. ``default`` (unless it is null or empty);
5. the ``$ref`` target, the first ``anyOf``/``oneOf`` branch, or the ``allOf`` parts merged;
6. by ``type`` (the first non-null one): a string from ``format`` or ``pattern`` (a sample
   built from the regular expression) or the property's name within ``minLength``/``maxLength``;
   numbers within the bounds; arrays of ``max(1, minItems)`` items; objects with every declared
   property (optional ones too, so the example shows them), or one entry for a map.

Everything is deterministic: the same schema gives the same example.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Final

from jsonschema import Draft202012Validator, FormatChecker

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants
    import sre_parse

__all__ = ["ExampleError", "example_for", "format_checker", "validation_errors"]

JSON = Any  # a JSON value as json.loads returns it

_FORMAT_SAMPLES: Final[dict[str, str]] = {
    "uuid": "3f2b8c1e-5d4a-4e6b-9c7d-2a1b0c9d8e7f",
    "date": "2024-05-17",
    "date-time": "2024-05-17T09:30:00Z",
    "time": "09:30:00Z",
    "email": "ada@example.com",
    "idn-email": "ada@example.com",
    "uri": "https://example.com/resource",
    "uri-reference": "https://example.com/resource",
    "iri": "https://example.com/resource",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "duration": "PT5M",
}

_MAX_DEPTH: Final = 12

_RFC3339: Final = re.compile(
    # At most six fractional digits: a typed field (a datetime) refuses finer ones.
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
)
_URI: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*$")


class ExampleError(Exception):
    """No valid example could be built; the message says where and why."""


def _check_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _check_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


def format_checker() -> FormatChecker:
    """jsonschema's format checker, plus ``date-time`` and ``uri``.

    Those two need optional packages in jsonschema (rfc3339-validator, rfc3987) that leveret does
    not install; these checks are strict enough for examples: RFC 3339 with an offset, and an
    absolute URI without spaces.
    """
    checker = FormatChecker()
    checker.checks("date-time")(_check_date_time)
    checker.checks("uri")(_check_uri)
    return checker


def validation_errors(
    value: JSON, schema: Mapping[str, JSON], defs: Mapping[str, JSON]
) -> list[str]:
    """Why ``value`` fails ``schema`` (whose ``$ref``s point into ``#/$defs``); [] when valid."""
    root = {"$defs": dict(defs), **schema}
    validator = Draft202012Validator(root, format_checker=format_checker())
    found: list[str] = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(f"at {where}: {error.message}")
    return found


def example_for(
    schema: Mapping[str, JSON], defs: Mapping[str, JSON], *, name: str = "value"
) -> JSON:
    """A plausible value that ``schema`` accepts; ``name`` seeds free-text strings.

    Raises ExampleError when the value built does not validate (with every reason).
    """
    value = _Builder(defs).build(schema, name, ())
    errors = validation_errors(value, schema, defs)
    if errors:
        raise ExampleError("; ".join(errors))
    return value


class _Builder:
    def __init__(self, defs: Mapping[str, JSON]) -> None:
        self._defs = defs

    def build(self, schema: JSON, name: str, stack: tuple[str, ...]) -> JSON:
        if not isinstance(schema, Mapping):
            return None if schema is False else {}
        if len(stack) > _MAX_DEPTH:
            raise ExampleError(f"{name}: the schema nests deeper than {_MAX_DEPTH} levels")
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            return examples[0]
        if "const" in schema:
            return schema["const"]
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return next((v for v in enum if v is not None), enum[0])
        default = schema.get("default")
        if default is not None and default != [] and default != {}:
            return default
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = ref.rpartition("/")[2]
            if target in stack:
                raise ExampleError(f"{name}: type {target!r} contains itself")
            return self.build(self._defs.get(target, {}), name, (*stack, target))
        for keyword in ("oneOf", "anyOf"):
            branches = schema.get(keyword)
            if isinstance(branches, list) and branches:
                return self.build(branches[0], name, stack)
        parts = schema.get("allOf")
        if isinstance(parts, list) and parts:
            return self._all_of(schema, parts, name, stack)
        return self._by_type(schema, name, stack)

    def _all_of(
        self, schema: Mapping[str, JSON], parts: list[JSON], name: str, stack: tuple[str, ...]
    ) -> JSON:
        values = [self.build(part, name, stack) for part in parts]
        if set(schema) - {"allOf", "description", "title", "deprecated", "$comment"}:
            values.append(self._by_type(schema, name, stack))
        if all(isinstance(v, dict) for v in values):
            merged: dict[str, JSON] = {}
            for value in values:
                merged.update(value)
            return merged
        return values[0]

    def _by_type(self, schema: Mapping[str, JSON], name: str, stack: tuple[str, ...]) -> JSON:
        declared = schema.get("type")
        types = declared if isinstance(declared, list) else [declared]
        kind = next((t for t in types if t != "null"), None)
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif declared == "null" or types == ["null"]:
                return None
            else:
                return {}
        builders: dict[str, Callable[[Mapping[str, JSON], str, tuple[str, ...]], JSON]] = {
            "string": self._string,
            "integer": self._integer,
            "number": self._number,
            "boolean": lambda s, n, t: True,
            "array": self._array,
            "object": self._object,
        }
        builder = builders.get(str(kind))
        return None if builder is None else builder(schema, name, stack)

    def _string(self, schema: Mapping[str, JSON], name: str, stack: tuple[str, ...]) -> JSON:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMAT_SAMPLES:
            return _FORMAT_SAMPLES[fmt]
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            return sample_pattern(pattern)
        text = name.replace("_", " ")
        low = schema.get("minLength")
        high = schema.get("maxLength")
        if isinstance(low, int) and len(text) < low:
            text = (text + " ") * low
            text = text[:low]
        if isinstance(high, int):
            text = text[:high]
        return text

    def _integer(self, schema: Mapping[str, JSON], name: str, stack: tuple[str, ...]) -> JSON:
        value = self._number_in_range(schema, 1)
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and step > 0:
            value = math.ceil(value / step) * step
        return int(value)

    def _number(self, schema: Mapping[str, JSON], name: str, stack: tuple[str, ...]) -> JSON:
        step = schema.get("multipleOf")
        value = self._number_in_range(schema, 2.5)
        if isinstance(step, int | float) and step > 0:
            value = math.ceil(value / step) * step
        return float(value)

    @staticmethod
    def _number_in_range(schema: Mapping[str, JSON], fallback: float) -> float:
        low = _bound(schema, "minimum", "exclusiveMinimum", 1)
        high = _bound(schema, "maximum", "exclusiveMaximum", -1)
        if low is not None and high is not None:
            middle = (low + high) / 2
            return math.floor(middle) if math.floor(middle) >= low else middle
        if low is not None:
            return low
        if high is not None:
            return min(high, fallback)
        return fallback

    def _array(self, schema: Mapping[str, JSON], name: str, stack: tuple[str, ...]) -> JSON:
        low = schema.get("minItems")
        high = schema.get("maxItems")
        count = max(1, low if isinstance(low, int) else 0)
        if isinstance(high, int):
            count = min(count, high)
        item = self.build(schema.get("items", {}), _singular(name), stack)
        return [item for _ in range(count)]

    def _object(self, schema: Mapping[str, JSON], name: str, stack: tuple[str, ...]) -> JSON:
        properties = schema.get("properties")
        result: dict[str, JSON] = {}
        if isinstance(properties, Mapping):
            for key, sub in properties.items():
                result[key] = self.build(sub, key, stack)
            return result
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            result["key"] = self.build(extra, "key", stack)
        return result


def _bound(schema: Mapping[str, JSON], inclusive: str, exclusive: str, side: int) -> float | None:
    value = schema.get(inclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    value = schema.get(exclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        is_int = schema.get("type") == "integer"
        return value + side * (1 if is_int else 0.5)
    return None


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and len(name) > 1 else name


# --- regular expressions -------------------------------------------------------------------


def sample_pattern(pattern: str) -> str:
    """A short string that ``re.search(pattern, ...)`` matches (a best effort: validation checks).

    Supports literals, classes, ``\\d \\w \\s``, groups, alternatives (the first is taken) and
    repeats (the minimum, at least once for ``+``); anchors and look-arounds produce nothing.
    """
    try:
        parsed = sre_parse.parse(pattern)
    except re.error as exc:
        raise ExampleError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from exc
    return "".join(_sample_items(list(parsed.data)))


_CATEGORY_SAMPLES: Final = {
    sre_constants.CATEGORY_DIGIT: "0",
    sre_constants.CATEGORY_NOT_DIGIT: "a",
    sre_constants.CATEGORY_WORD: "a",
    sre_constants.CATEGORY_NOT_WORD: "-",
    sre_constants.CATEGORY_SPACE: " ",
    sre_constants.CATEGORY_NOT_SPACE: "a",
}


def _sample_items(items: list[tuple[Any, Any]]) -> Iterator[str]:
    for op, arg in items:
        if op is sre_constants.LITERAL:
            yield chr(arg)
        elif op is sre_constants.NOT_LITERAL:
            yield "a" if chr(arg) != "a" else "b"
        elif op is sre_constants.ANY:
            yield "x"
        elif op is sre_constants.IN:
            yield _sample_class(arg)
        elif op is sre_constants.CATEGORY:
            yield _CATEGORY_SAMPLES.get(arg, "a")
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, _high, sub = arg
            once = "".join(_sample_items(list(sub)))
            yield once * max(low, 0)
        elif op is sre_constants.SUBPATTERN:
            yield "".join(_sample_items(list(arg[-1])))
        elif op is sre_constants.BRANCH:
            yield "".join(_sample_items(list(arg[1][0])))
        elif op in (sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            continue
        else:
            raise ExampleError(f"cannot build a sample for the regular expression part {op}")


_CANDIDATES: Final = "aA0x_-. "


def _sample_class(items: list[tuple[Any, Any]]) -> str:
    negated = bool(items) and items[0][0] is sre_constants.NEGATE
    if not negated:
        op, arg = items[0]
        if op is sre_constants.LITERAL:
            return chr(arg)
        if op is sre_constants.RANGE:
            return chr(arg[0])
        if op is sre_constants.CATEGORY:
            return _CATEGORY_SAMPLES.get(arg, "a")
        raise ExampleError(f"cannot build a sample for the character class part {op}")
    excluded = re.compile("[^" + "".join(_class_text(items[1:])) + "]")
    for candidate in _CANDIDATES:
        if excluded.match(candidate):
            return candidate
    raise ExampleError("cannot find a character outside a negated character class")


def _class_text(items: list[tuple[Any, Any]]) -> Iterator[str]:
    categories = {
        sre_constants.CATEGORY_DIGIT: r"\d",
        sre_constants.CATEGORY_NOT_DIGIT: r"\D",
        sre_constants.CATEGORY_WORD: r"\w",
        sre_constants.CATEGORY_NOT_WORD: r"\W",
        sre_constants.CATEGORY_SPACE: r"\s",
        sre_constants.CATEGORY_NOT_SPACE: r"\S",
    }
    for op, arg in items:
        if op is sre_constants.LITERAL:
            yield re.escape(chr(arg))
        elif op is sre_constants.RANGE:
            yield f"{re.escape(chr(arg[0]))}-{re.escape(chr(arg[1]))}"
        elif op is sre_constants.CATEGORY:
            yield categories.get(arg, "")
