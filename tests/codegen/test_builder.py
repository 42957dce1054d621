"""The IR the front end builds: names, models schema, and which files become services."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import leveret
from leveret_codegen._frontend import load_services
from leveret_codegen._ir import ErrorDef, MethodDef, ServiceDef
from leveret_codegen._names import STATUS_CLASSES, pascal_case, python_field_name

ROOT = Path(__file__).resolve().parents[2]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _defs(service: ServiceDef) -> dict[str, object]:
    defs = json.loads(service.models_schema)["$defs"]
    assert isinstance(defs, dict)
    return defs


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def examples(monkeypatch: pytest.MonkeyPatch) -> dict[str, ServiceDef]:
    monkeypatch.chdir(ROOT)
    services, diagnostics = load_services(["schemas"])
    assert [d.render() for d in diagnostics] == []
    return {s.service: s for s in services}


def test_the_examples_load_without_errors_or_warnings(examples: dict[str, ServiceDef]) -> None:
    assert sorted(examples) == ["Calculator", "Inventory", "Library"]
    assert [s.source for s in examples.values()] == [
        "schemas/calculator.yaml",
        "schemas/inventory.yaml",
        "schemas/library.yaml",
    ]


def test_inventory_ir(examples: dict[str, ServiceDef]) -> None:
    inventory = examples["Inventory"]
    assert (inventory.package, inventory.version, inventory.queue) == (
        "shop",
        "1.4.0",
        "shop.Inventory",
    )
    assert inventory.description == "Stock levels and reservations."
    assert (
        inventory.client_class,
        inventory.async_client_class,
        inventory.servicer_class,
        inventory.async_servicer_class,
    ) == ("InventoryClient", "AsyncInventoryClient", "InventoryServicer", "AsyncInventoryServicer")
    assert inventory.methods == (
        MethodDef(
            name="reserve",
            python_name="reserve",
            const_name="RESERVE",
            description="Reserve stock for an order.",
            request_type="ReserveRequest",
            response_type="Reservation",
            errors=("OutOfStock",),
            timeout=5.0,
            idempotent=False,
            fingerprint=inventory.methods[
                0
            ].fingerprint,  # tests/codegen/test_definition_document.py
        ),
    )
    assert inventory.methods[0].fingerprint.startswith("sha256:")
    assert inventory.errors == (
        ErrorDef(
            name="OutOfStock",
            status="FAILED_PRECONDITION",
            status_class="FailedPrecondition",
            description="Not enough stock.",
            details_type="OutOfStockDetails",
        ),
    )


def test_models_schema_order_refs_and_cross_file_types(examples: dict[str, ServiceDef]) -> None:
    inventory = examples["Inventory"]
    defs = _defs(inventory)
    # Own types, other files' types in first-reference order, then hoisted details (the
    # order of the self-contained definition document, which then generates the same models).
    assert list(defs) == [
        "Sku",
        "ReserveRequest",
        "Reservation",
        "Money",
        "Currency",
        "OutOfStockDetails",
    ]
    assert "#/types/" not in inventory.models_schema
    reservation = defs["Reservation"]
    assert isinstance(reservation, dict)
    assert reservation["properties"]["price"] == {"$ref": "#/$defs/Money"}
    money = defs["Money"]
    assert isinstance(money, dict)
    assert money["properties"]["currency"]["$ref"] == "#/$defs/Currency"


def test_hoisted_requests_and_responses(examples: dict[str, ServiceDef]) -> None:
    library = examples["Library"]
    methods = {m.name: m for m in library.methods}
    assert (methods["search_books"].request_type, methods["search_books"].response_type) == (
        "SearchBooksRequest",
        "SearchBooksResponse",
    )
    assert (methods["get_book"].request_type, methods["get_book"].response_type) == (
        "GetBookRequest",
        "Book",
    )
    assert methods["get_book"].timeout == 1.0
    assert methods["register_member"].timeout is None
    assert methods["search_books"].idempotent and not methods["borrow_book"].idempotent
    assert methods["borrow_book"].const_name == "BORROW_BOOK"
    assert list(_defs(library))[-9:] == [
        "SearchBooksRequest",
        "SearchBooksResponse",
        "GetBookRequest",
        "BorrowBookRequest",
        "ReturnBookRequest",
        "RegisterMemberRequest",
        "BookNotFoundDetails",
        "NoCopiesLeftDetails",
        "LoanLimitReachedDetails",
    ]
    assert [e.details_type for e in library.errors][:2] == ["BookNotFoundDetails", None]
    assert library.queue == "library.Library.v2"


def test_calculator_inline_request_and_details(examples: dict[str, ServiceDef]) -> None:
    calculator = examples["Calculator"]
    assert [m.request_type for m in calculator.methods] == ["Operands", "Operands", "SumRequest"]
    assert [m.timeout for m in calculator.methods] == [1.0, 1.0, 2.0]
    assert [(e.name, e.status_class, e.details_type) for e in calculator.errors] == [
        ("DivisionByZero", "InvalidArgument", None),
        ("TooManyOperands", "OutOfRange", "TooManyOperandsDetails"),
    ]


def test_every_status_maps_to_its_runtime_class(in_tmp: Path) -> None:
    errors = "".join(f"  E{i}: {{status: {s}}}\n" for i, s in enumerate(STATUS_CLASSES))
    _write(in_tmp, "s.yaml", f"leveret: 1\npackage: p\nservice: S\nerrors:\n{errors}")
    (service,), diagnostics = load_services(["s.yaml"])
    assert diagnostics == ()
    assert {e.status: e.status_class for e in service.errors} == STATUS_CLASSES

    assert all(isinstance(getattr(leveret, c), type) for c in STATUS_CLASSES.values())


def test_defaults_alias_chains_and_data_that_looks_like_a_ref(in_tmp: Path) -> None:
    _write(
        in_tmp,
        "defs/s.yaml",
        """\
        leveret: 1
        package: p
        service: Search
        types:
          Query:
            type: object
            properties:
              raw: {type: object, default: {$ref: "#/types/Query"}}
          Alias: {$ref: "#/types/Query"}
          Again: {$ref: "#/types/Alias"}
        methods:
          find_all:
            request: {$ref: "#/types/Again"}
            response: {type: object}
        """,
    )
    (service,), diagnostics = load_services(["./defs/s.yaml"])
    assert diagnostics == ()
    assert service.source == "defs/s.yaml"
    assert (service.queue, service.version, service.description) == ("p.Search", "", "")
    (method,) = service.methods
    assert (method.request_type, method.response_type) == ("Query", "FindAllResponse")
    assert (method.timeout, method.idempotent, method.errors) == (None, False, ())
    defs = _defs(service)
    assert defs["Again"] == {"$ref": "#/$defs/Alias"}
    # `default` is data: a "$ref" key inside it is not a reference.
    assert defs["Query"] == {
        "type": "object",
        "properties": {"raw": {"type": "object", "default": {"$ref": "#/types/Query"}}},
    }


def test_an_identical_type_from_another_file_is_shared(in_tmp: Path) -> None:
    money = "Money: {type: object, properties: {cents: {type: integer}}}"
    _write(in_tmp, "lib.yaml", f"leveret: 1\ntypes:\n  {money}\n")
    _write(
        in_tmp,
        "s.yaml",
        f"""\
        leveret: 1
        package: p
        service: S
        types:
          {money}
          Price: {{type: object, properties: {{m: {{$ref: "lib.yaml#/types/Money"}}}}}}
        """,
    )
    (service,), diagnostics = load_services(["s.yaml"])
    assert diagnostics == ()
    assert list(_defs(service)) == ["Money", "Price"]


def test_folders_take_definitions_and_skip_everything_else(in_tmp: Path) -> None:
    _write(in_tmp, "defs/a.yaml", "leveret: 1\npackage: a\nservice: A\n")
    _write(in_tmp, "defs/sub/b.yml", "leveret: 1\npackage: b\nservice: B\n")
    _write(in_tmp, "defs/sub/lib.json", '{"leveret": 1, "types": {"T": {"type": "string"}}}')
    _write(in_tmp, "defs/leveret.schema.json", '{"$schema": "x", "type": "object"}')
    _write(in_tmp, "defs/ci.yaml", "jobs: {test: {runs-on: x}}\n")
    _write(in_tmp, "defs/notes.txt", "leveret: 1\npackage: x\nservice: X\n")
    _write(in_tmp, "defs/.hidden/c.yaml", "leveret: 1\npackage: c\nservice: C\n")
    services, diagnostics = load_services(["defs"])
    assert diagnostics == ()
    assert [s.source for s in services] == ["defs/a.yaml", "defs/sub/b.yml"]


def test_a_folder_file_that_does_not_parse_is_reported(in_tmp: Path) -> None:
    _write(in_tmp, "defs/a.yaml", "leveret: 1\npackage: a\nservice: A\n")
    _write(in_tmp, "defs/broken.yaml", "a: [1\n")
    services, diagnostics = load_services(["defs"])
    assert services == ()
    assert [(d.file, d.code) for d in diagnostics] == [("defs/broken.yaml", "LV101")]


def test_referenced_files_are_checked_once_but_not_generated(in_tmp: Path) -> None:
    _write(
        in_tmp,
        "other/lib.yaml",
        """\
        leveret: 1
        package: other
        service: Other
        types:
          T: {type: string, maxLenght: 3}
        """,
    )
    _write(
        in_tmp,
        "s.yaml",
        """\
        leveret: 1
        package: p
        service: S
        types:
          A: {type: object, properties: {t: {$ref: "other/lib.yaml#/types/T"}}}
          B: {type: object, properties: {t: {$ref: "other/../other/lib.yaml#/types/T"}}}
        """,
    )
    services, diagnostics = load_services(["s.yaml"])
    assert services == ()
    assert [(d.file, d.line, d.code) for d in diagnostics] == [("other/lib.yaml", 5, "LV403")]
    # Without the error, only the requested file yields a service.
    _write(
        in_tmp, "other/lib.yaml", "leveret: 1\npackage: other\nservice: Other\ntypes:\n  T: {}\n"
    )
    services, diagnostics = load_services(["s.yaml"])
    assert diagnostics == ()
    assert [s.service for s in services] == ["S"]
    assert list(_defs(services[0])) == ["A", "B", "T"]


def test_a_missing_path_is_reported(in_tmp: Path) -> None:
    services, diagnostics = load_services(["nope.yaml", Path("nowhere")])
    assert services == ()
    assert [d.render() for d in diagnostics] == [
        "nope.yaml:0:0: error[LV100]: no such file or folder",
        "nowhere:0:0: error[LV100]: no such file or folder",
    ]


def test_a_file_named_twice_is_loaded_once(in_tmp: Path) -> None:
    _write(
        in_tmp,
        "defs/a.yaml",
        "leveret: 1\npackage: a\nservice: A\ntypes: {T: {type: string, minimum: 1}}\n",
    )
    _, diagnostics = load_services(["defs", "defs/a.yaml"])
    assert [d.code for d in diagnostics] == ["LV405"]
    _write(in_tmp, "defs/a.yaml", "leveret: 1\npackage: a\nservice: A\n")
    services, diagnostics = load_services(["defs", "./defs/a.yaml"])
    assert diagnostics == ()
    assert [s.source for s in services] == ["defs/a.yaml"]


def test_warnings_do_not_stop_the_build(in_tmp: Path) -> None:
    _write(
        in_tmp,
        "s.yaml",
        "leveret: 1\npackage: p\nservice: S\ntypes: {T: {type: string, readOnly: true}}\n",
    )
    services, diagnostics = load_services(["s.yaml"])
    assert [d.code for d in diagnostics] == ["LV402"]
    assert [s.service for s in services] == ["S"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("get_book", "GetBook"), ("add", "Add"), ("a_1", "A1"), ("list_v2_items", "ListV2Items")],
)
def test_pascal_case(name: str, expected: str) -> None:
    assert pascal_case(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("first-name", "first_name"),
        ("first name", "first_name"),
        ("1st", "field_1st"),
        ("_id", "field_id"),
        ("class", "class_"),
        ("json", "json_"),
        ("model_config", "model_config_"),
        ("plain", "plain"),
    ],
)
def test_python_field_name(name: str, expected: str) -> None:
    assert python_field_name(name) == expected
