"""Guarded recursive types and deep bodies of them (review r11 F8), for unit and broker tests.

Each type's guard reaches its whole subtree: ``Json`` through ``oneOf`` (its guard keeps the
``$ref``s), ``Sealed`` through ``unevaluatedProperties``, ``Unique`` and ``Lists`` through
``uniqueItems`` (canonical values of whole items). Before the fix every nesting level checked
its subtree again: depth x size.
"""

from __future__ import annotations

from typing import Any

__all__ = ["definition", "json_chain", "list_chain", "tree_chain"]

_DEFINITION = """\
leveret: 1
package: {package}
service: GuardedRecursion
version: "1"
types:
  Json:
    oneOf:
      - {{type: integer}}
      - {{type: array, items: {{$ref: "#/types/Json"}}}}
      - {{type: object, additionalProperties: {{$ref: "#/types/Json"}}}}
  Sealed:
    type: object
    properties:
      v: {{type: integer}}
      kids: {{type: array, items: {{$ref: "#/types/Sealed"}}}}
    unevaluatedProperties: false
  Unique:
    type: object
    properties:
      v: {{type: integer}}
      kids: {{type: array, items: {{$ref: "#/types/Unique"}}, uniqueItems: true}}
  Lists:
    type: array
    uniqueItems: true
    items:
      anyOf: [{{type: integer}}, {{$ref: "#/types/Lists"}}]
  Holder:
    type: object
    properties:
      json: {{$ref: "#/types/Json"}}
      sealed: {{$ref: "#/types/Sealed"}}
      unique: {{$ref: "#/types/Unique"}}
      lists: {{$ref: "#/types/Lists"}}
methods:
  echo:
    request: {{$ref: "#/types/Holder"}}
    response: {{$ref: "#/types/Holder"}}
"""


def definition(package: str) -> str:
    """The definition (YAML) of the types above, for a package named ``package``."""
    return _DEFINITION.format(package=package)


def json_chain(depth: int, leaves: int, first: int = 0) -> Any:
    """A ``Json`` value ``depth`` objects deep, each with an array of ``leaves // depth``
    distinct integers (from ``first`` on)."""
    width = leaves // depth
    value: Any = 0
    for level in range(depth):
        start = first + level * width
        value = {"w": list(range(start, start + width)), "n": value, "l": level}
    return value


def tree_chain(depth: int, leaves: int) -> Any:
    """A ``Sealed``/``Unique`` value ``depth`` levels deep, each with ``leaves // depth``
    distinct leaf kids before the next level."""
    width = leaves // depth
    value: Any = {"v": -1}
    for level in range(depth):
        kids = [{"v": level * width + i} for i in range(width)]
        value = {"v": level, "kids": [*kids, value]}
    return value


def list_chain(depth: int, leaves: int) -> Any:
    """A ``Lists`` value ``depth`` arrays deep, each with ``leaves // depth`` distinct
    integers before the next level."""
    width = leaves // depth
    value: list[Any] = [-1]
    for level in range(depth):
        value = [*range(level * width, (level + 1) * width), value]
    return value
