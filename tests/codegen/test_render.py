"""The render stage: render model, templates, and the generated package's behaviour."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import ir_fixtures
import jinja2
import pytest

import leveret
from leveret_codegen import generate_services
from leveret_codegen._ir import ErrorDef, MethodDef
from leveret_codegen._models import generate_models
from leveret_codegen._render import (
    TEMPLATES,
    _environment,
    _sorted_all,
    analyze_models,
    build_package_view,
    docstring,
    header_for,
)


def _view_problems(**changes: Any) -> list[tuple[str, str]]:
    service = ir_fixtures.service(**changes)
    source, diagnostics = generate_models(service, header_for(service.source))
    assert source is not None, diagnostics
    view, problems = build_package_view(service, analyze_models(source))
    assert (view is None) == bool(problems)
    return [(d.code, d.message) for d in problems]


# --- docstrings and names -------------------------------------------------------------------


def test_docstring_one_line() -> None:
    assert docstring("Reserve stock.", "    ") == '    """Reserve stock."""'


def test_docstring_several_lines_keeps_blank_lines() -> None:
    assert docstring("First.\n\nMore\n  indented", "") == '"""First.\n\nMore\n  indented\n"""'


def test_docstring_escapes_quotes_and_backslashes() -> None:
    text = docstring('A """quoted""" \\d+ pattern "x"', "")
    assert ast.literal_eval(text) == 'A """quoted""" \\d+ pattern "x"'


def test_docstring_wraps_only_overlong_lines() -> None:
    long = "word " * 40
    text = docstring(f"Short.\n{long}", "        ")
    assert all(len(line) <= 100 for line in text.splitlines())
    body = ast.literal_eval(text.strip())
    assert body.split() == f"Short. {long}".split()


def test_docstring_of_nothing() -> None:
    assert docstring("  \n", "") == '"""(No description.)"""'


def test_sorted_all_matches_ruff_order() -> None:
    names = ["ReserveRequest", "SERVICE", "AsyncInventoryClient", "helper", "RESERVE", "Sku"]
    assert _sorted_all(names) == (
        "RESERVE",
        "SERVICE",
        "AsyncInventoryClient",
        "ReserveRequest",
        "Sku",
        "helper",
    )


# --- what the render model refuses ----------------------------------------------------------


def _method(**changes: Any) -> MethodDef:
    base = ir_fixtures.service().methods[0]
    return dataclasses.replace(base, **changes)


def test_request_that_is_not_a_model_class() -> None:
    problems = _view_problems(methods=(_method(request_type="Sku"),))
    assert problems == [
        (
            "LV502",
            "the request of method 'reserve': type 'Sku' is not a model class in the "
            "generated models",
        )
    ]


def test_request_property_named_like_the_timeout_argument() -> None:
    defs = dict(ir_fixtures.INVENTORY_DEFS)
    defs["ReserveRequest"] = {"type": "object", "properties": {"timeout": {"type": "number"}}}
    [(code, message)] = _view_problems(defs=defs)
    assert code == "LV504"
    assert "'timeout'" in message and "of method 'reserve'" in message


def test_details_property_named_message() -> None:
    defs = dict(ir_fixtures.INVENTORY_DEFS)
    defs["OutOfStockDetails"] = {"type": "object", "properties": {"message": {"type": "string"}}}
    [(code, message)] = _view_problems(defs=defs)
    assert code == "LV504"
    assert "of error 'OutOfStock'" in message


def test_method_named_like_a_client_method() -> None:
    problems = _view_problems(methods=(_method(python_name="connect"),))
    assert [code for code, _ in problems] == ["LV504"]
    assert "'connect'" in problems[0][1]


def test_error_named_like_a_model() -> None:
    errors = (
        *ir_fixtures.service().errors,
        ErrorDef("Money", "ABORTED", "Aborted", "Clash.", None),
    )
    problems = _view_problems(errors=errors)
    assert {code for code, _ in problems} == {"LV503"}
    assert any("'Money'" in message and "__init__.py" in message for _, message in problems)


# --- templates ------------------------------------------------------------------------------


def test_environment_is_strict() -> None:
    environment = _environment()
    assert environment.undefined is jinja2.StrictUndefined
    assert environment.trim_blocks and environment.lstrip_blocks
    assert environment.keep_trailing_newline
    template_dir = Path(__file__).parents[2] / "generator" / "leveret_codegen" / "templates"
    # One template per output module, named after it; macro files start with "_" and name no
    # module ("_macros.jinja", while "_spec.py.jinja" renders "_spec.py").
    names = {p.name for p in template_dir.glob("*.jinja")}
    outputs = {n for n in names if "." in n.removesuffix(".jinja")}
    assert outputs == set(TEMPLATES.values())
    assert {n for n in names - outputs if not n.startswith("_")} == set()
    assert {output + ".jinja" for output in TEMPLATES} == outputs
    with pytest.raises(jinja2.UndefinedError):
        environment.get_template("client.py.jinja").render(p=object())


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    result = generate_services([ir_fixtures.service(package="render_shop")])
    assert result.ok, result.diagnostics
    return result.files


def test_package_layout(files: Mapping[str, str]) -> None:
    assert sorted(files) == [
        f"render_shop/{name}"
        for name in (
            "__init__.py",
            "_spec.py",
            "client.py",
            "errors.py",
            "models.py",
            "py.typed",
            "servicer.py",
        )
    ]
    for text in files.values():
        assert text.startswith("# Code generated by leveret from schemas/inventory.yaml.")
        assert text.endswith("\n")


def _function(source: str, cls: str, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == name:
                    return item
    raise AssertionError(f"{cls}.{name} not found")


def test_client_signature_mirrors_the_request_model(files: Mapping[str, str]) -> None:
    client = files["render_shop/client.py"]
    for cls in ("InventoryClient", "AsyncInventoryClient"):
        release = _function(client, cls, "release")
        arguments = release.args
        assert [a.arg for a in arguments.args] == ["self"]
        assert [a.arg for a in arguments.kwonlyargs] == [
            "id",
            "class_",
            "reason",
            "tags",
            "mode",
            "timeout",
        ]
        annotations = [ast.unparse(a.annotation) for a in arguments.kwonlyargs if a.annotation]
        assert annotations == [
            "UUID",
            "str | MISSING",
            "str | None",
            "list[str]",
            "Literal['soft', 'hard']",
            "leveret.Timeout",
        ]
        defaults = [ast.unparse(d) if d else None for d in arguments.kw_defaults]
        assert defaults == [None, "MISSING", "None", "[]", "'soft'", "leveret.DEFAULT"]
        assert ast.unparse(release.returns) == "ReleaseResponse"  # type: ignore[arg-type]
    assert "tags: list[str] = [],  # noqa: B006" in client
    # Wire names (aliases) key the mapping handed to the runtime.
    assert '"class": class_' in client


def test_required_arguments_come_first(files: Mapping[str, str]) -> None:
    defs = dict(ir_fixtures.INVENTORY_DEFS)
    defs["ReserveRequest"] = {
        "type": "object",
        "required": ["b"],
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    }
    result = generate_services([ir_fixtures.service(defs=defs)])
    reserve = _function(result.files["shop/client.py"], "InventoryClient", "reserve")
    assert [a.arg for a in reserve.args.kwonlyargs] == ["b", "a", "timeout"]


def test_docstrings_come_from_descriptions(files: Mapping[str, str]) -> None:
    client = ast.parse(files["render_shop/client.py"])
    [sync, _] = [n for n in client.body if isinstance(n, ast.ClassDef)]
    assert (ast.get_docstring(sync) or "").startswith("Stock levels and reservations.\n")
    reserve = _function(files["render_shop/client.py"], "InventoryClient", "reserve")
    assert ast.get_docstring(reserve) == (
        "Reserve stock for an order.\n\nRaises:\n    OutOfStock: Not enough stock."
    )
    errors = files["render_shop/errors.py"]
    assert '"""Not enough stock."""' in errors


# --- the generated package, imported ----------------------------------------------------------


@pytest.fixture(scope="module")
def package(files: Mapping[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("render")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("render_shop")
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n.split(".")[0] == "render_shop"]:
            del sys.modules[name]


def test_exports_everything_sorted(package: ModuleType) -> None:
    exported = package.__all__
    assert exported == list(_sorted_all(exported))
    assert {
        "SERVICE",
        "InventoryClient",
        "AsyncInventoryClient",
        "InventoryServicer",
        "AsyncInventoryServicer",
        "OutOfStock",
        "UnknownReservation",
        "ReserveRequest",
        "Reservation",
        "Sku",
        "OutOfStockDetails",
    } <= set(exported)
    assert all(hasattr(package, name) for name in exported)


def test_service_spec(package: ModuleType) -> None:
    service = package.SERVICE
    assert (service.name, service.queue, service.package, service.version) == (
        "Inventory",
        "shop.Inventory",
        "render_shop",
        "1.4.0",
    )
    reserve = service.by_name["reserve"]
    assert reserve.request is package.ReserveRequest
    assert reserve.response is package.Reservation
    assert reserve.errors == (package.OutOfStock,)
    assert (reserve.timeout, reserve.idempotent) == (5.0, False)
    assert service.by_name["release"].timeout is None
    assert package.InventoryClient.service is service
    assert package.AsyncInventoryServicer.service is service


def test_declared_errors(package: ModuleType) -> None:
    error = package.OutOfStock("only 3 left", available=3)
    assert isinstance(error, leveret.FailedPrecondition)
    assert error.status is leveret.StatusCode.FAILED_PRECONDITION
    assert error.message == "only 3 left"
    assert isinstance(error.details, package.OutOfStockDetails)
    assert error.details.available == 3
    assert package.OutOfStock.error_name == "OutOfStock"
    assert package.OutOfStock.details_model is package.OutOfStockDetails
    plain = package.UnknownReservation("gone")
    assert isinstance(plain, leveret.NotFound)
    assert plain.details is None
    assert package.UnknownReservation.details_model is None


def test_client_hands_wire_names_to_the_runtime(package: ModuleType) -> None:
    calls: list[tuple[str, dict[str, object], object]] = []

    class Recording(package.InventoryClient):  # type: ignore[name-defined, misc]
        def __init__(self) -> None:
            pass

        def _call(self, method: Any, arguments: Mapping[str, object], timeout: Any) -> Any:
            calls.append((method.name, dict(arguments), timeout))
            return "reply"

    client = Recording()
    assert client.reserve(sku="ABC-1234", quantity=2, timeout=1.0) == "reply"
    assert client.release(id="x", class_="c") == "reply"
    missing = package.models.MISSING
    assert calls == [
        ("reserve", {"sku": "ABC-1234", "quantity": 2, "note": missing}, 1.0),
        (
            "release",
            {"id": "x", "class": "c", "reason": None, "tags": [], "mode": "soft"},
            leveret.DEFAULT,
        ),
    ]


def test_servicers_are_abstract(package: ModuleType) -> None:
    with pytest.raises(TypeError, match="abstract"):
        package.InventoryServicer()
    assert package.AsyncInventoryServicer.__abstractmethods__ == frozenset({"reserve", "release"})


# --- the pipeline fails closed ------------------------------------------------------------------


def test_two_definitions_one_package() -> None:
    first = ir_fixtures.service(source="schemas/a.yaml")
    second = ir_fixtures.service(source="schemas/b.yaml")
    result = generate_services([first, second])
    assert not result.ok
    assert result.files == {}
    [diagnostic] = result.diagnostics
    assert (diagnostic.code, diagnostic.file) == ("LV507", "schemas/b.yaml")
    assert "schemas/a.yaml" in diagnostic.message


def test_one_broken_service_means_no_files_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    import datamodel_code_generator

    real = datamodel_code_generator.generate

    def crash_on_thing(text: str, **kwargs: object) -> object:
        if "Thing" in text:
            raise KeyError("boolean schema")  # dmcg raises many exception types
        return real(text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(datamodel_code_generator, "generate", crash_on_thing)
    good = ir_fixtures.service(package="good")
    broken = ir_fixtures.service(package="bad", defs={"Thing": {"type": "string"}})
    result = generate_services([good, broken])
    assert [d.code for d in result.diagnostics] == ["LV501"]
    assert result.files == {}
    assert result.packages == ()


def test_formatter_failure_is_a_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    from leveret_codegen import _pipeline
    from leveret_codegen._format import FormatError

    def fail(sources: Mapping[str, str]) -> dict[str, str]:
        raise FormatError("`ruff format` failed:\nerror: boom")

    monkeypatch.setattr(_pipeline, "format_sources", fail)
    result = generate_services([ir_fixtures.service()])
    assert result.files == {}
    [diagnostic] = result.diagnostics
    assert diagnostic.code == "LV506"
    assert "boom" in diagnostic.message
