"""One run reports meta-schema errors and the semantic ones of the same file (B16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from leveret_codegen._frontend import load_services

_BOTH = """\
leveret: 1
package: shop
service: Shop
errors:
  Gone: {status: NOTFOUND}
types:
  Sku: {type: string, minLength: "3"}
  Item:
    type: object
    properties:
      sku: {$ref: "#/types/SKU"}
methods:
  get:
    request: {$ref: "#/types/GetRequest"}
    response: {$ref: "#/types/Item"}
    timeout: 0
    errors: [Gon]
  list:
    request: {$ref: "#/types/Sku"}
    response: {type: object}
"""


def _where(tmp_path: Path, text: str, name: str = "shop.yaml") -> list[str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    services, diagnostics = load_services([tmp_path / name])
    assert services == ()
    return [f"{Path(d.file).name}:{d.line}:{d.col} {d.code}" for d in diagnostics]


def test_meta_schema_and_semantic_errors_in_one_run(tmp_path: Path) -> None:
    assert _where(tmp_path, _BOTH) == [
        "shop.yaml:5:18 LV204",  # status NOTFOUND
        "shop.yaml:7:34 LV203",  # minLength "3"
        "shop.yaml:11:19 LV301",  # unknown type SKU
        "shop.yaml:14:21 LV301",  # unknown type GetRequest
        "shop.yaml:16:14 LV206",  # timeout 0
        "shop.yaml:17:14 LV306",  # undeclared error Gon
        "shop.yaml:19:14 LV305",  # a string type as request
    ]


def test_a_broken_type_is_still_known_by_name(tmp_path: Path) -> None:
    """A type the meta-schema rejects is reported once, not again at every $ref to it."""
    text = """\
leveret: 1
package: shop
service: Shop
types:
  Item: {type: objec, properties: {n: {type: integer}}}
methods:
  get:
    request: {$ref: "#/types/Item"}
    response: {$ref: "#/types/Item"}
    errors: [Missing]
"""
    assert _where(tmp_path, text) == ["shop.yaml:5:16 LV204", "shop.yaml:10:14 LV306"]


def test_a_method_missing_its_response_still_has_its_request_checked(tmp_path: Path) -> None:
    text = """\
leveret: 1
package: shop
service: Shop
methods:
  get:
    request: {$ref: "#/types/Nope"}
"""
    assert _where(tmp_path, text) == ["shop.yaml:5:3 LV201", "shop.yaml:6:21 LV301"]


@pytest.mark.parametrize(
    "body",
    [
        "types: [1, 2]\nmethods: {get: {request: {$ref: '#/types/A'}, response: {}}}",
        "errors: 3\nmethods: {get: {request: {}, response: {}, errors: [A]}}",
        "errors: {A: 3, B: {status: [1]}, C: {status: OK, details: 4}}",
        "methods: [1]",
        "methods: {get: 3, put: {request: 3, response: [], errors: 7}}",
        "types: {A: {type: [{a: 1}], default: 1}, B: {type: {a: 1}, default: 1}}",
        "types: {A: {properties: 3, items: 4, allOf: 5, $ref: 6}}",
    ],
)
def test_any_broken_shape_gives_diagnostics_not_a_crash(tmp_path: Path, body: str) -> None:
    codes = _where(tmp_path, f"leveret: 1\npackage: shop\nservice: Shop\n{body}\n")
    assert any(code.split()[1].startswith("LV2") for code in codes)
