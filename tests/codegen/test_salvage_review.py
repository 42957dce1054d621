"""The salvage pass reports what a broken definition still lets us check, and nothing more."""

from __future__ import annotations

from pathlib import Path

from leveret._wire import MAX_TIMEOUT
from leveret_codegen._frontend import load_services
from leveret_codegen._metaschema import load_metaschema


def _codes(tmp_path: Path, text: str, name: str = "shop.yaml") -> list[str]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    services, diagnostics = load_services([tmp_path / name])
    assert services == ()
    return [f"{Path(d.file).name}:{d.line}:{d.col} {d.code}" for d in diagnostics]


def test_a_broken_reference_does_not_hoist_a_name_of_its_own(tmp_path: Path) -> None:
    """The stand-in for ``$ref: "#/definitions/GetRequest"`` is not an inline request: it must
    not claim ``GetRequest`` and clash (LV307) with the type the reference meant."""
    text = """\
leveret: 1
package: shop
service: Inventory
types:
  GetRequest: {type: object, properties: {id: {type: string}}}
  GetResponse: {type: object, properties: {id: {type: string}}}
errors:
  Gone: {status: NOT_FOUND, details: 5}
  GoneDetails: {status: NOT_FOUND}
methods:
  get:
    request: {$ref: "#/definitions/GetRequest"}
    response: {$ref: "#/types/GetResponse"}
    errors: [Gone, GoneDetails]
"""
    assert _codes(tmp_path, text) == [
        "shop.yaml:8:38 LV203",  # details: 5, whose stand-in must not claim GoneDetails
        "shop.yaml:12:21 LV208",  # the reference
    ]


def test_a_broken_inline_request_still_claims_its_hoisted_name(tmp_path: Path) -> None:
    text = """\
leveret: 1
package: shop
service: Inventory
types:
  GetRequest: {type: object, properties: {id: {type: string}}}
methods:
  get:
    request: {type: objekt, properties: {id: {type: string}}}
    response: {type: object}
"""
    codes = _codes(tmp_path, text)
    assert [c.split()[1] for c in codes] == ["LV307", "LV204"]


def test_one_malformed_error_name_does_not_hide_the_others(tmp_path: Path) -> None:
    text = """\
leveret: 1
package: shop
service: Inventory
errors: {Gone: {status: NOT_FOUND}}
methods:
  get:
    request: {type: object}
    response: {type: object}
    errors: [Gon, not_valid, Gone, Gone, Lost]
"""
    assert _codes(tmp_path, text) == [
        "shop.yaml:9:13 LV206",  # Gone twice
        "shop.yaml:9:14 LV306",  # Gon
        "shop.yaml:9:19 LV205",  # not_valid
        "shop.yaml:9:30 LV306",  # Lost
    ]


def test_a_reference_into_a_file_with_meta_schema_errors_is_checked(tmp_path: Path) -> None:
    (tmp_path / "lib.yaml").write_text(
        "leveret: 1\ntypes:\n  Money: {type: object, properties: {amount: {type: integr}}}\n"
    )
    text = """\
leveret: 1
package: shop
service: Inventory
methods:
  get:
    request: {type: object, properties: {m: {$ref: "lib.yaml#/types/Mony"}}}
    response: {$ref: "lib.yaml#/types/Money"}
"""
    assert _codes(tmp_path, text) == [
        "lib.yaml:3:53 LV204",  # integr
        "shop.yaml:6:52 LV303",  # no type Mony in lib.yaml
    ]


def test_the_meta_schema_refuses_the_timeouts_the_runtime_refuses() -> None:
    """A definition's timeout the runtime cannot send fails every call: generate refuses it."""
    timeout = load_metaschema()["$defs"]["method"]["properties"]["timeout"]
    assert (timeout["exclusiveMinimum"], timeout["maximum"]) == (0, MAX_TIMEOUT)
