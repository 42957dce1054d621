"""The self-contained definition document and the contract fingerprints (issue 12, reflection).

The document must reload: written to a file, ``leveret generate`` on it gives the same package
as the definition files it comes from. The fingerprints must ignore what changes no message
(descriptions, key order, type names) and change with anything that does.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
import yaml

from leveret_codegen._contract import contract_fingerprints
from leveret_codegen._frontend import Text, load_services
from leveret_codegen._ir import ServiceDef
from leveret_codegen._pipeline import generate_files
from leveret_codegen._queue_source import definition_yaml

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = sorted(
    [
        *(ROOT / "schemas").glob("*.yaml"),
        *(ROOT / "tests" / "golden" / "definitions").glob("*.yaml"),
        ROOT / "tests" / "codegen" / "data" / "realistic.yaml",
    ]
)
SERVICES = [
    p for p in DEFINITIONS if "service" in (yaml.safe_load(p.read_text(encoding="utf-8")) or {})
]


def _service(path: Path | Text) -> ServiceDef:
    services, diagnostics = load_services([path])
    assert services, [d.render() for d in diagnostics]
    return services[0]


def _package(path: Path | Text, source: str) -> dict[str, str]:
    """The generated files of one definition, its source's name taken out of their text."""
    result = generate_files([path])
    assert result.ok, [d.render() for d in result.diagnostics]
    return {name: text.replace(source, "SOURCE") for name, text in result.files.items()}


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_the_document_reloads_to_the_same_package(
    path: Path, suffix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(path.parent)
    original = _service(Path(path.name))
    document = json.loads(original.definition)
    text = (
        json.dumps(document, indent=2, ensure_ascii=False)
        if suffix == ".json"
        else definition_yaml(document)
    )
    expected = _package(Path(path.name), path.name)
    # The same file name (and length: long ones change how the header wraps), elsewhere.
    monkeypatch.chdir(tmp_path)
    copy = Path(path.stem + suffix)
    copy.write_text(text, encoding="utf-8")
    reloaded = _service(copy)
    assert reloaded.definition == original.definition  # a fixed point
    assert reloaded.fingerprint == original.fingerprint
    assert [m.fingerprint for m in reloaded.methods] == [m.fingerprint for m in original.methods]
    assert _package(copy, copy.name) == expected


def test_types_of_other_files_are_copied_and_their_refs_rewritten() -> None:
    service = _service(ROOT / "schemas" / "inventory.yaml")
    document = json.loads(service.definition)
    types = document["types"]
    # Money comes from common.yaml, Currency from Money's own file: both copied, after the
    # file's own types, in the order they are first referenced.
    assert list(types) == ["Sku", "ReserveRequest", "Reservation", "Money", "Currency"]
    assert types["Reservation"]["properties"]["price"] == {"$ref": "#/types/Money"}
    assert types["Money"]["properties"]["currency"]["$ref"] == "#/types/Currency"
    # descriptions kept, key order as written
    assert types["Money"]["description"].startswith("An amount of money")
    assert list(document)[:6] == [
        "leveret",
        "package",
        "service",
        "version",
        "description",
        "queue",
    ]
    assert "file" not in json.dumps(document)  # no reference to a file is left
    assert "common.yaml" not in service.definition


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


SHOP = """\
leveret: 1
package: p
service: S
version: "1"
x-owner: team-a
types:
  Id: {type: string, description: An id., x-note: kept}
  Req:
    type: object
    required: [id]
    properties:
      id: {$ref: "#/types/Id"}
      when: {type: string, default: {"$ref": "not a reference"}}
errors:
  Gone: {status: NOT_FOUND, details: {type: object, properties: {id: {type: string}}}}
methods:
  get:
    description: Get it.
    request: {$ref: "#/types/Req"}
    response: {type: object, properties: {id: {$ref: "#/types/Id"}}}
    errors: [Gone]
"""


def test_x_keys_data_and_hoisted_names() -> None:
    document = json.loads(_service(Text("t", SHOP)).definition)
    assert document["x-owner"] == "team-a"
    assert document["types"]["Id"]["x-note"] == "kept"
    # a "$ref" inside default is data, not a reference
    assert document["types"]["Req"]["properties"]["when"]["default"] == {"$ref": "not a reference"}


def test_a_copied_type_named_like_a_hoisted_model_gets_a_free_name(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "lib.yaml",
        "leveret: 1\ntypes:\n  GetResponse: {type: object, properties: {a: {type: integer}}}\n",
    )
    main = _write(
        tmp_path,
        "main.yaml",
        """\
leveret: 1
package: p
service: S
version: "1"
types:
  Holder: {type: object, properties: {r: {$ref: "lib.yaml#/types/GetResponse"}}}
methods:
  get:
    request: {type: object, properties: {h: {$ref: "#/types/Holder"}}}
    response: {type: object, properties: {a: {type: integer}}}
""",
    )
    document = json.loads(_service(main).definition)
    assert list(document["types"]) == ["Holder", "GetResponse2"]
    assert document["types"]["Holder"]["properties"]["r"] == {"$ref": "#/types/GetResponse2"}
    copy = _write(tmp_path, "copy.json", json.dumps(document))
    assert _service(copy).fingerprint == _service(main).fingerprint


def _fingerprints(text: str) -> tuple[str, dict[str, str]]:
    service = _service(Text("t", text))
    return service.fingerprint, {m.name: m.fingerprint for m in service.methods}


def test_fingerprints_ignore_annotations_key_order_and_type_names() -> None:
    service, methods = _fingerprints(SHOP)
    assert service.startswith("sha256:") and len(service) == len("sha256:") + 64
    assert methods["get"].startswith("sha256:")
    same = (
        SHOP.replace("description: An id., x-note: kept", "title: The key, examples: [x]")
        .replace("description: Get it.", "description: Fetch it, by id.")
        .replace("type: object\n    required: [id]", "required: [id]\n    type: object")
        .replace("x-owner: team-a", "x-owner: team-b")
        .replace("Id", "Identifier")  # a renamed type
    )
    assert same != SHOP
    assert _fingerprints(same) == (service, methods)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('id: {$ref: "#/types/Id"}\n      when', "id: {type: integer}\n      when"),
        ("required: [id]", "required: [id, when]"),
        ("status: NOT_FOUND", "status: ABORTED"),
        ("errors: [Gone]", "errors: []"),
        ("properties: {id: {type: string}}}}", "properties: {id: {type: integer}}}}"),
        ("response: {type: object, properties: {id:", "response: {type: object, properties: {ID:"),
        ('default: {"$ref": "not a reference"}', 'default: {"$ref": "other"}'),
        ("  get:\n", "  fetch:\n"),
    ],
    ids=[
        "request type",
        "required",
        "error status",
        "error list",
        "error details",
        "response",
        "default",
        "wire name",
    ],
)
def test_fingerprints_change_with_the_wire_contract(old: str, new: str) -> None:
    assert old in SHOP
    service, methods = _fingerprints(SHOP)
    changed_service, changed_methods = _fingerprints(SHOP.replace(old, new))
    assert changed_service != service
    assert list(changed_methods.values()) != list(methods.values())


def test_the_queue_is_in_the_service_fingerprint_only() -> None:
    service, methods = _fingerprints(SHOP)
    moved_service, moved_methods = _fingerprints(SHOP + "queue: elsewhere\n")
    assert moved_service != service
    assert moved_methods == methods


def test_the_fingerprints_can_be_computed_again_from_the_document() -> None:
    service = _service(ROOT / "schemas" / "inventory.yaml")
    again = contract_fingerprints(json.loads(service.definition), service.queue)
    assert again.service == service.fingerprint
    assert again.methods == {m.name: m.fingerprint for m in service.methods}


@pytest.mark.parametrize("package", ["shop", "calculator", "library"])
def test_the_generated_specs_carry_the_document_and_fingerprints(package: str) -> None:
    spec = importlib.import_module(f"generated.{package}._spec")
    source = {"shop": "inventory"}.get(package, package)
    service = _service(ROOT / "schemas" / f"{source}.yaml")
    assert spec.SERVICE.definition == service.definition
    assert json.loads(spec.SERVICE.definition)["package"] == package
    assert spec.SERVICE.fingerprint == service.fingerprint
    assert {m.name: m.fingerprint for m in spec.SERVICE.methods} == {
        m.name: m.fingerprint for m in service.methods
    }
